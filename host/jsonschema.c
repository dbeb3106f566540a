/* jsonschema.c - the JSON Schema subset for plugin configs. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "jsonschema.h"
#include "secrets.h"

/* A pattern costs at most this many backtracking steps per match, so a
 * bad pattern cannot hang a config check. */
#define PATTERN_MATCH_LIMIT 1000000u

struct pattern {
  const json_t *schema; /* the schema object holding it, borrowed */
  pcre2_code *code;
};

struct jsonschema {
  json_t *schema; /* one reference held */
  struct pattern *pats;
  size_t npats;
  pcre2_match_context *mctx;
};

static const char *const supported[] = {
    "type",    "properties", "required",      "additionalProperties",
    "items",   "enum",       "default",       "minimum",
    "maximum", "pattern",    "airbyte_secret"};
static const char *const annotations[] = {
    "title", "description", "examples", "order", "$schema", "$id", "$comment"};
static const char *const type_names[] = {
    "object", "array", "string", "integer", "number", "boolean", "null"};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------ did you mean */

size_t jsonschema_distance(const char *a, const char *b)
{
  size_t la = strlen(a), lb = strlen(b);
  size_t d[65][65];

  if (la > 64 || lb > 64)
    return (size_t)-1;
  for (size_t i = 0; i <= la; i++)
    d[i][0] = i;
  for (size_t j = 0; j <= lb; j++)
    d[0][j] = j;
  for (size_t i = 1; i <= la; i++)
    for (size_t j = 1; j <= lb; j++) {
      size_t v = d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);

      if (d[i - 1][j] + 1 < v)
        v = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < v)
        v = d[i][j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
          d[i - 2][j - 2] + 1 < v)
        v = d[i - 2][j - 2] + 1;
      d[i][j] = v;
    }
  return d[la][lb];
}

const char *jsonschema_nearest(const char *word, const char *const *cands,
                               size_t n)
{
  size_t len = strlen(word), limit = len / 3, best = (size_t)-1;
  const char *pick = NULL;

  if (limit < 1)
    limit = 1;
  if (limit > 3)
    limit = 3;
  for (size_t i = 0; i < n; i++) {
    size_t d = strcasecmp(word, cands[i]) == 0
                   ? 0
                   : jsonschema_distance(word, cands[i]);

    if (d <= limit && d < best) {
      best = d;
      pick = cands[i];
    }
  }
  return pick;
}

const char *jsonschema_describe(const json_t *v, int secret, char *buf,
                                size_t size)
{
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    snprintf(buf, size, "a mapping");
    break;
  case JSON_ARRAY:
    snprintf(buf, size, "a list");
    break;
  case JSON_STRING:
    if (secret)
      snprintf(buf, size, "a string (a secret, not shown)");
    else if (json_string_length(v) > 40)
      snprintf(buf, size, "string \"%.37s...\"", json_string_value(v));
    else
      snprintf(buf, size, "string \"%s\"", json_string_value(v));
    break;
  case JSON_INTEGER:
    snprintf(buf, size, "integer %" JSON_INTEGER_FORMAT,
             json_integer_value(v));
    break;
  case JSON_REAL:
    snprintf(buf, size, "number %g", json_real_value(v));
    break;
  case JSON_TRUE:
  case JSON_FALSE:
    snprintf(buf, size, "boolean %s", json_is_true(v) ? "true" : "false");
    break;
  default:
    snprintf(buf, size, "null (an empty value)");
    break;
  }
  return buf;
}

/* ------------------------------------------------------------ compile */

struct compiler {
  struct jsonschema *s;
  const char *where;
  struct yaml_errors *errs;
  int nerr;
  int nomem;
};

static void cerr(struct compiler *c, const char *ptr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cerr(struct compiler *c, const char *ptr, const char *fmt, ...)
{
  va_list ap;
  char *msg = NULL;

  c->nerr++;
  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = NULL;
  va_end(ap);
  if (!msg ||
      yaml_errors_add(c->errs, "%s: %s: %s", c->where, *ptr ? ptr : "/", msg))
    c->nomem = 1;
  free(msg);
}

static int in_list(const char *k, const char *const *list, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp(k, list[i]) == 0)
      return 1;
  return 0;
}

/* Child JSON Pointer: ptr + "/" + token with ~ and / escaped. New string. */
static char *ptr_child(const char *ptr, const char *tok)
{
  size_t n = strlen(ptr), m = strlen(tok), extra = 0;
  char *s, *w;

  for (size_t i = 0; i < m; i++)
    if (tok[i] == '~' || tok[i] == '/')
      extra++;
  s = malloc(n + m + extra + 2);
  if (!s)
    return NULL;
  memcpy(s, ptr, n);
  w = s + n;
  *w++ = '/';
  for (size_t i = 0; i < m; i++) {
    if (tok[i] == '~') {
      *w++ = '~';
      *w++ = '0';
    } else if (tok[i] == '/') {
      *w++ = '~';
      *w++ = '1';
    } else {
      *w++ = tok[i];
    }
  }
  *w = '\0';
  return s;
}

static void compile_node(struct compiler *c, json_t *node, const char *ptr,
                         size_t depth);

static void compile_child(struct compiler *c, json_t *node, const char *ptr,
                          const char *tok, size_t depth)
{
  char *p = ptr_child(ptr, tok);

  if (!p) {
    c->nomem = 1;
    return;
  }
  compile_node(c, node, p, depth + 1);
  free(p);
}

static void compile_pattern(struct compiler *c, json_t *node, json_t *v,
                            const char *ptr)
{
  int code;
  PCRE2_SIZE off;
  pcre2_code *re;
  struct pattern *np;

  if (!json_is_string(v)) {
    cerr(c, ptr, "'pattern' must be a string");
    return;
  }
  re = pcre2_compile((PCRE2_SPTR)json_string_value(v), json_string_length(v),
                     PCRE2_UTF, &code, &off, NULL);
  if (!re) {
    PCRE2_UCHAR msg[256];

    pcre2_get_error_message(code, msg, sizeof(msg));
    cerr(c, ptr, "'pattern' does not compile at offset %zu: %s", (size_t)off,
         (const char *)msg);
    return;
  }
  np = realloc(c->s->pats, (c->s->npats + 1) * sizeof(*np));
  if (!np) {
    pcre2_code_free(re);
    c->nomem = 1;
    return;
  }
  c->s->pats = np;
  np[c->s->npats].schema = node;
  np[c->s->npats].code = re;
  c->s->npats++;
}

static int is_type_name(const json_t *v)
{
  return json_is_string(v) &&
         in_list(json_string_value(v), type_names, N_OF(type_names));
}

static void compile_node(struct compiler *c, json_t *node, const char *ptr,
                         size_t depth)
{
  const char *k;
  json_t *v;

  if (json_is_boolean(node))
    return;
  if (!json_is_object(node)) {
    cerr(c, ptr, "a schema must be an object or a boolean");
    return;
  }
  if (depth > 64) {
    cerr(c, ptr, "schema nested deeper than 64 levels");
    return;
  }
  json_object_foreach(node, k, v)
  {
    if (in_list(k, annotations, N_OF(annotations)))
      continue;
    if (!in_list(k, supported, N_OF(supported))) {
      cerr(c, ptr,
           "JSON Schema keyword '%s' is not supported by integ (supported: "
           "type, properties, required, additionalProperties, items, enum, "
           "default, minimum, maximum, pattern, airbyte_secret)",
           k);
      continue;
    }
    if (strcmp(k, "type") == 0) {
      size_t i;
      json_t *t;

      if (json_is_array(v) && json_array_size(v) > 0) {
        json_array_foreach(v, i, t) if (!is_type_name(t))
        {
          cerr(c, ptr, "'type' lists an unknown type");
          break;
        }
      } else if (!is_type_name(v)) {
        cerr(c, ptr,
             "'type' must be one of object, array, string, integer, "
             "number, boolean, null, or a list of them");
      }
    } else if (strcmp(k, "properties") == 0) {
      const char *pk;
      json_t *pv;
      char *pp;

      if (!json_is_object(v)) {
        cerr(c, ptr, "'properties' must be an object");
        continue;
      }
      pp = ptr_child(ptr, "properties");
      if (!pp) {
        c->nomem = 1;
        return;
      }
      json_object_foreach(v, pk, pv) compile_child(c, pv, pp, pk, depth);
      free(pp);
    } else if (strcmp(k, "required") == 0) {
      size_t i;
      json_t *r;
      int ok = json_is_array(v);

      if (ok)
        json_array_foreach(v, i, r) if (!json_is_string(r)) ok = 0;
      if (!ok)
        cerr(c, ptr, "'required' must be a list of property names");
    } else if (strcmp(k, "additionalProperties") == 0 ||
               strcmp(k, "items") == 0) {
      if (json_is_array(v))
        cerr(c, ptr, "'items' as a list (tuple form) is not supported");
      else
        compile_child(c, v, ptr, k, depth);
    } else if (strcmp(k, "enum") == 0) {
      if (!json_is_array(v) || json_array_size(v) == 0)
        cerr(c, ptr, "'enum' must be a non-empty list");
    } else if (strcmp(k, "minimum") == 0 || strcmp(k, "maximum") == 0) {
      if (!json_is_number(v))
        cerr(c, ptr, "'%s' must be a number", k);
    } else if (strcmp(k, "pattern") == 0) {
      compile_pattern(c, node, v, ptr);
    } else if (strcmp(k, "airbyte_secret") == 0) {
      if (!json_is_boolean(v))
        cerr(c, ptr, "'airbyte_secret' must be true or false");
    }
  }
}

void jsonschema_free(struct jsonschema *s)
{
  if (!s)
    return;
  for (size_t i = 0; i < s->npats; i++)
    pcre2_code_free(s->pats[i].code);
  free(s->pats);
  pcre2_match_context_free(s->mctx);
  json_decref(s->schema);
  free(s);
}

int jsonschema_compile(json_t *schema, const char *where,
                       struct jsonschema **out, struct yaml_errors *errs)
{
  struct compiler c = {0};
  int rc = 0;

  *out = NULL;
  c.s = calloc(1, sizeof(*c.s));
  if (!c.s)
    return INTEG_ENOMEM;
  c.s->schema = json_incref(schema);
  c.s->mctx = pcre2_match_context_create(NULL);
  if (!c.s->mctx) {
    rc = INTEG_ENOMEM;
    goto out;
  }
  pcre2_set_match_limit(c.s->mctx, PATTERN_MATCH_LIMIT);
  c.where = where;
  c.errs = errs;
  compile_node(&c, schema, "", 0);
  if (c.nomem)
    rc = INTEG_ENOMEM;
  else if (c.nerr)
    rc = INTEG_ECONFIG;
out:
  if (rc) {
    jsonschema_free(c.s);
    return rc;
  }
  *out = c.s;
  return 0;
}

int jsonschema_compile_text(const char *text, const char *where,
                            struct jsonschema **out, struct yaml_errors *errs)
{
  json_error_t je;
  json_t *j;
  int rc;

  *out = NULL;
  errno = 0;
  j = json_loads(text ? text : "", JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                 &je);
  if (!j) {
    /* jansson reports a failed allocation as a syntax error. */
    if (errno == ENOMEM)
      return INTEG_ENOMEM;
    rc = yaml_errors_add(errs, "%s: not valid JSON at line %d, column %d: %s",
                         where, je.line, je.column, je.text);
    return rc ? rc : INTEG_ECONFIG;
  }
  rc = jsonschema_compile(j, where, out, errs);
  json_decref(j);
  return rc;
}

/* ----------------------------------------------------------- validate */

struct validator {
  const struct jsonschema *s;
  const struct yaml_locs *locs;
  json_t *secrets;
  struct yaml_errors *errs;
  struct yaml_path path;
  pcre2_match_data *md;
  int nerr;
  int nomem;
};

static void verr(struct validator *V, int at_key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void verr(struct validator *V, int at_key, const char *fmt, ...)
{
  va_list ap;

  V->nerr++;
  va_start(ap, fmt);
  if (yaml_errors_atv(V->errs, V->locs, yaml_path_str(&V->path), at_key, fmt,
                      ap))
    V->nomem = 1;
  va_end(ap);
}

static int type_matches(const char *t, const json_t *v)
{
  if (strcmp(t, "object") == 0)
    return json_is_object(v);
  if (strcmp(t, "array") == 0)
    return json_is_array(v);
  if (strcmp(t, "string") == 0)
    return json_is_string(v);
  if (strcmp(t, "integer") == 0)
    return json_is_integer(v);
  if (strcmp(t, "number") == 0)
    return json_is_number(v);
  if (strcmp(t, "boolean") == 0)
    return json_is_boolean(v);
  return json_is_null(v);
}

static const char *type_article(const char *t)
{
  if (strcmp(t, "object") == 0)
    return "a mapping";
  if (strcmp(t, "array") == 0)
    return "a list";
  if (strcmp(t, "string") == 0)
    return "a string";
  if (strcmp(t, "integer") == 0)
    return "an integer";
  if (strcmp(t, "number") == 0)
    return "a number";
  if (strcmp(t, "boolean") == 0)
    return "a boolean (true or false)";
  return "null";
}

static int is_secret(const struct validator *V, const json_t *schema)
{
  return json_is_true(json_object_get(schema, "airbyte_secret"));
}

static const struct pattern *find_pattern(const struct jsonschema *s,
                                          const json_t *schema)
{
  for (size_t i = 0; i < s->npats; i++)
    if (s->pats[i].schema == schema)
      return &s->pats[i];
  return NULL;
}

/* Check v's type; returns 1 when it matches (or no type is given). */
static int check_type(struct validator *V, const json_t *schema, json_t *v,
                      const struct yaml_loc *loc)
{
  json_t *t = json_object_get(schema, "type");
  char want[256], got[96];
  size_t used = 0, i;
  json_t *e;

  if (!t)
    return 1;
  if (json_is_string(t)) {
    if (type_matches(json_string_value(t), v))
      return 1;
    snprintf(want, sizeof(want), "%s", type_article(json_string_value(t)));
  } else {
    want[0] = '\0';
    json_array_foreach(t, i, e)
    {
      if (type_matches(json_string_value(e), v))
        return 1;
      used += (size_t)snprintf(
          want + used, used < sizeof(want) ? sizeof(want) - used : 0, "%s%s",
          i ? " or " : "", type_article(json_string_value(e)));
      if (used >= sizeof(want))
        used = sizeof(want) - 1;
    }
  }
  verr(V, 0, "expected %s, got %s%s", want,
       jsonschema_describe(v, is_secret(V, schema), got, sizeof(got)),
       json_is_null(v) ? yaml_loc_hint(loc) : "");
  return 0;
}

static void check_enum(struct validator *V, const json_t *schema, json_t *v)
{
  json_t *en = json_object_get(schema, "enum"), *e;
  const char *cands[32];
  size_t i, nc = 0;
  char list[512], got[96];
  size_t used = 0;
  const char *near = NULL;

  if (!en)
    return;
  json_array_foreach(en, i, e) if (json_equal(e, v)) return;
  list[0] = '\0';
  json_array_foreach(en, i, e)
  {
    char *s = json_dumps(e, JSON_ENCODE_ANY);

    if (!s)
      V->nomem = 1;
    if (json_is_string(e) && nc < N_OF(cands))
      cands[nc++] = json_string_value(e);
    if (s && used < sizeof(list)) {
      used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
                               i ? ", " : "", s);
      if (used >= sizeof(list))
        used = sizeof(list) - 1;
    }
    free(s);
  }
  if (json_is_string(v))
    near = jsonschema_nearest(json_string_value(v), cands, nc);
  if (near)
    verr(V, 0, "got %s, must be one of %s: did you mean \"%s\"?",
         jsonschema_describe(v, is_secret(V, schema), got, sizeof(got)), list,
         near);
  else
    verr(V, 0, "got %s, must be one of %s",
         jsonschema_describe(v, is_secret(V, schema), got, sizeof(got)), list);
}

static void check_number(struct validator *V, const json_t *schema, json_t *v)
{
  json_t *mn = json_object_get(schema, "minimum");
  json_t *mx = json_object_get(schema, "maximum");
  double d;

  if (!json_is_number(v))
    return;
  d = json_number_value(v);
  if (mn && d < json_number_value(mn))
    verr(V, 0, "%g is less than the minimum, %g", d, json_number_value(mn));
  if (mx && d > json_number_value(mx))
    verr(V, 0, "%g is more than the maximum, %g", d, json_number_value(mx));
}

static void check_pattern(struct validator *V, const json_t *schema, json_t *v)
{
  const struct pattern *p;
  int r;

  if (!json_is_string(v) || !json_object_get(schema, "pattern"))
    return;
  p = find_pattern(V->s, schema);
  if (!p)
    return;
  r = pcre2_match(p->code, (PCRE2_SPTR)json_string_value(v),
                  json_string_length(v), 0, 0, V->md, V->s->mctx);
  if (r >= 0)
    return;
  if (r == PCRE2_ERROR_NOMATCH) {
    char got[96];

    verr(V, 0, "%s does not match the pattern %s",
         jsonschema_describe(v, is_secret(V, schema), got, sizeof(got)),
         json_string_value(json_object_get(schema, "pattern")));
  } else {
    verr(V, 0, "pattern %s could not be matched (PCRE2 error %d)",
         json_string_value(json_object_get(schema, "pattern")), r);
  }
}

static void validate_node(struct validator *V, const json_t *schema,
                          json_t *v);

static void validate_object(struct validator *V, const json_t *schema,
                            json_t *v)
{
  json_t *props = json_object_get(schema, "properties");
  json_t *addl = json_object_get(schema, "additionalProperties");
  json_t *req = json_object_get(schema, "required");
  const char *k;
  json_t *sub, *r;
  size_t i;

  /* Defaults first, so that a required key with a default is satisfied. */
  json_object_foreach(props, k, sub)
  {
    json_t *d = json_object_get(sub, "default");

    if (d && !json_object_get(v, k)) {
      json_t *copy = json_deep_copy(d);

      if (!copy || json_object_set_new(v, k, copy)) {
        V->nomem = 1;
        return;
      }
    }
  }
  json_array_foreach(req, i, r)
  {
    if (json_is_string(r) && !json_object_get(v, json_string_value(r))) {
      /* Named by its own path, placed at its parent's key. */
      size_t saved = yaml_path_push_key(&V->path, json_string_value(r));

      if (saved == (size_t)-1) {
        V->nomem = 1;
        return;
      }
      verr(V, 1, "missing required key '%s'", json_string_value(r));
      yaml_path_pop(&V->path, saved);
    }
  }
  json_object_foreach(v, k, sub)
  {
    json_t *ps = json_object_get(props, k);
    size_t saved;

    if (!ps && addl && json_is_false(addl)) {
      const char **cands = NULL, *near = NULL, *pk;
      size_t nc = 0;
      json_t *pv;

      cands = malloc((json_object_size(props) + 1) * sizeof(*cands));
      if (cands) {
        json_object_foreach(props, pk, pv) cands[nc++] = pk;
        near = jsonschema_nearest(k, cands, nc);
      }
      saved = yaml_path_push_key(&V->path, k);
      if (saved == (size_t)-1) {
        free(cands);
        V->nomem = 1;
        return;
      }
      if (near)
        verr(V, 1, "unknown key '%s': did you mean '%s'?", k, near);
      else
        verr(V, 1, "unknown key '%s' (this plugin takes no such key)", k);
      yaml_path_pop(&V->path, saved);
      free(cands);
      continue;
    }
    if (!ps)
      ps = addl; /* a schema, true, or absent (anything goes) */
    if (!ps)
      continue;
    saved = yaml_path_push_key(&V->path, k);
    if (saved == (size_t)-1) {
      V->nomem = 1;
      return;
    }
    validate_node(V, ps, sub);
    yaml_path_pop(&V->path, saved);
  }
}

static void validate_node(struct validator *V, const json_t *schema, json_t *v)
{
  const struct yaml_loc *loc;

  if (V->nomem)
    return;
  if (json_is_false(schema)) {
    verr(V, 1, "no value is allowed here");
    return;
  }
  if (!json_is_object(schema))
    return;
  loc = yaml_locs_find(V->locs, yaml_path_str(&V->path));
  if (loc && (loc->flags & YAML_LOC_REPORTED))
    return;
  if (!check_type(V, schema, v, loc))
    return;
  if (is_secret(V, schema) &&
      ((V->secrets &&
        json_object_set(V->secrets, yaml_path_str(&V->path), v)) ||
       secrets_add_json(v))) {
    V->nomem = 1;
    return;
  }
  check_enum(V, schema, v);
  check_number(V, schema, v);
  check_pattern(V, schema, v);
  if (json_is_object(v)) {
    validate_object(V, schema, v);
  } else if (json_is_array(v) && json_object_get(schema, "items")) {
    json_t *items = json_object_get(schema, "items"), *e;
    size_t i;

    json_array_foreach(v, i, e)
    {
      size_t saved = yaml_path_push_index(&V->path, i);

      if (saved == (size_t)-1) {
        V->nomem = 1;
        return;
      }
      validate_node(V, items, e);
      yaml_path_pop(&V->path, saved);
    }
  }
}

int jsonschema_validate(const struct jsonschema *s, json_t *instance,
                        const char *path, const struct yaml_locs *locs,
                        json_t *secrets, struct yaml_errors *errs)
{
  struct validator V = {0};
  int rc;

  V.s = s;
  V.locs = locs;
  V.secrets = json_is_object(secrets) ? secrets : NULL;
  V.errs = errs;
  V.md = pcre2_match_data_create(1, NULL);
  if (!V.md)
    return INTEG_ENOMEM;
  if (path && *path && yaml_path_push_key(&V.path, path) == (size_t)-1) {
    rc = INTEG_ENOMEM;
    goto out;
  }
  validate_node(&V, s->schema, instance);
  rc = V.nomem ? INTEG_ENOMEM : V.nerr;
out:
  pcre2_match_data_free(V.md);
  yaml_path_free(&V.path);
  return rc;
}
