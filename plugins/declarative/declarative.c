/* declarative.c - the declarative plugin: a connector written as a
 * definition file (YAML or JSON), run through the host's vtable alone.
 *
 * A definition names a base_url and its streams; each stream is pulled by
 * the same parts Airbyte's low-code sources are made of, and named as
 * there:
 *   requester        the request: method, URL template, params, headers,
 *                    body (templates rendered per page);
 *   record selector  the records' JSONPath and the field mapping (the host
 *                    maps and writes them: emit_mapped);
 *   paginator        none, page number, offset/limit, a cursor token or a
 *                    next URL from the body, or Link rel="next";
 *   cursor           an incremental stream's cursor, through the host's
 *                    cursor-boundary helper (inclusive filters, ties);
 *   partition router a child stream runs once per record of its parent,
 *                    with its state kept per parent partition.
 * Everything is checked when the plugin loads, with no network access,
 * and every mistake names file:line:column and the key path.
 *
 * The format is described in plugins/declarative/README.md.
 */
#define _GNU_SOURCE /* asprintf, strptime, timegm */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <integ/plugin.h>

#define DECL_MAX_PAGES_DEFAULT 100000

enum pg_type { PG_NONE, PG_PAGE, PG_OFFSET, PG_CURSOR, PG_NEXT_URL, PG_LINK };

/* A templated name: value pair (params, headers). */
struct kv {
  char *name;        /* owned */
  integ_template *t; /* owned */
};

struct requester {
  char *method;        /* owned */
  integ_template *url; /* owned: base_url + path, or url */
  struct kv *params;   /* owned, nparams */
  size_t nparams;
  struct kv *headers; /* owned, nheaders */
  size_t nheaders;
  json_t *body; /* owned or NULL: strings are templates */
};

struct paginator {
  enum pg_type type;
  char *param;      /* page / offset / token parameter (owned) */
  char *size_param; /* page size parameter, or NULL (owned) */
  json_int_t size;  /* 0: none given */
  json_int_t start; /* first page number */
  char *token;      /* JSONPath of the cursor token or next URL (owned) */
  char *has_more;   /* JSONPath of a "more" flag, or NULL (owned) */
  json_int_t max_pages;
};

struct cursor_cfg {
  char *path;         /* JSONPath in the record; NULL: not incremental */
  char *format;       /* NULL: RFC 3339 */
  char *param;        /* request parameter taking the start value, or NULL */
  char *field;        /* output field name of the cursor (replication key) */
  long long lookback; /* seconds asked again before the start value */
  integ_template *start; /* first value when there is no state, or NULL */
};

/* Date windows: one pass of the paginator per window [START, END), from
 * a start date to now (or end), resumable from the last completed one. */
struct windows {
  integ_template *start; /* owned; NULL: no windows */
  integ_template *end;   /* owned; NULL: now */
  long long step;        /* seconds */
  char *format;          /* owned: strftime format of #START#/#END#; NULL:
                            RFC 3339 */
};

struct stream {
  char *name;            /* owned */
  char *where;           /* owned: "streams[i]" */
  struct requester rq;   /* requester */
  char *records;         /* owned: record selector */
  json_t *fields;        /* owned or NULL: all */
  json_t *pk_paths;      /* owned array of JSONPaths */
  json_t *pk_names;      /* owned array of output names */
  struct cursor_cfg cur; /* cursor */
  struct paginator pg;   /* paginator */
  struct windows win;    /* date windows (the cursor's step) */
  int parent;            /* partition router: parent index, or -1 */
  char *parent_key;      /* owned: JSONPath in the parent's records */
  char *partition;       /* owned: name in ${parent.NAME} */
  json_t *schema;        /* owned: declared or inferred */
  json_t *partitions;    /* owned array: parent key values seen this run */
  /* A parent's state is held back until all its children are loaded: it
   * decides which parents the next run asks for, so it must not pass a
   * parent whose children were not all emitted. */
  size_t nchildren; /* child streams of this one */
  json_t *held;     /* owned or NULL: the state not yet in decl.state */
  int done;
};

struct decl {
  const struct integ_host *host; /* borrowed */
  integ_ctx *ctx;                /* borrowed */
  json_t *config;                /* owned reference */
  integ_doc *doc;                /* owned, NULL when inline */
  json_t *def;                   /* borrowed from doc or config */
  const char *prefix;            /* key path of def in the config */
  struct stream *streams;        /* owned, n */
  size_t n;
  json_t *state; /* owned: {stream: cursor state or {"partitions": ...}} */
  json_t *known; /* owned: namespaces templates may name */
};

static const char spec[] =
    "{\"type\": \"object\", \"required\": [\"definition\"],"
    " \"properties\": {"
    "  \"definition\": {\"type\": [\"string\", \"object\"],"
    "   \"description\": \"the definition file (relative to the manifest, "
    "then the integrations directory), or the definition itself\"}"
    " }}";

/* ------------------------------------------------------------ errors */

/* err = "POSITION: KEYPATH: message"; returns code. */
static int def_error(struct decl *d, struct integ_error *err, int code,
                     const char *path, const char *fmt, ...)
    INTEG_PRINTF(5, 6);
static int def_error(struct decl *d, struct integ_error *err, int code,
                     const char *path, const char *fmt, ...)
{
  char pos[512], full[512], msg[INTEG_ERROR_MAX];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (d->doc) {
    snprintf(full, sizeof(full), "%s", path);
    if (d->host->position(d->ctx, d->doc, path, pos, sizeof(pos)))
      snprintf(pos, sizeof(pos), "%s", d->host->doc_file(d->doc));
  } else {
    snprintf(full, sizeof(full), "%s%s%s", d->prefix,
             *d->prefix && *path && path[0] != '[' ? "." : "", path);
    if (d->host->position(d->ctx, NULL, full, pos, sizeof(pos)))
      snprintf(pos, sizeof(pos), "config");
  }
  return integ_error_set(err, code, "%s: %s: %s", pos, full, msg);
}

static size_t edit_distance(const char *a, const char *b)
{
  size_t la = strlen(a), lb = strlen(b), row[64], prev, tmp;

  if (lb >= 63 || la >= 63)
    return 99;
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    prev = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t best = prev + (a[i - 1] != b[j - 1]);

      tmp = row[j];
      if (row[j] + 1 < best)
        best = row[j] + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      prev = tmp;
    }
  }
  return row[lb];
}

/* Every key of obj must be in allowed (NULL-terminated). */
static int check_keys(struct decl *d, json_t *obj, const char *path,
                      const char *const *allowed, struct integ_error *err)
{
  const char *key;
  json_t *v;

  json_object_foreach(obj, key, v)
  {
    const char *best = NULL;
    size_t bd = 3, i;
    char at[512];

    for (i = 0; allowed[i]; i++) {
      size_t dd;

      if (strcmp(key, allowed[i]) == 0)
        break;
      dd = edit_distance(key, allowed[i]);
      if (dd < bd) {
        bd = dd;
        best = allowed[i];
      }
    }
    if (allowed[i])
      continue;
    snprintf(at, sizeof(at), "%s%s%s", path, *path ? "." : "", key);
    if (best)
      return def_error(d, err, INTEG_ECONFIG, at,
                       "unknown key '%s': did you mean '%s'?", key, best);
    return def_error(d, err, INTEG_ECONFIG, at, "unknown key '%s'", key);
  }
  return 0;
}

/* ------------------------------------------------------ small helpers */

/* obj[key] as a string into *out (a copy; NULL when absent). A value of
 * another type is an error at its key path. */
static int get_str(struct decl *d, json_t *obj, const char *path,
                   const char *key, char **out, struct integ_error *err)
{
  json_t *v = json_object_get(obj, key);
  char at[512];

  *out = NULL;
  if (!v)
    return 0;
  snprintf(at, sizeof(at), "%s.%s", path, key);
  if (!json_is_string(v))
    return def_error(d, err, INTEG_ECONFIG, at, "expected a string");
  *out = strdup(json_string_value(v));
  return *out ? 0 : integ_error_set(err, INTEG_ENOMEM, "out of memory");
}

static int get_int(struct decl *d, json_t *obj, const char *path,
                   const char *key, json_int_t min, json_int_t *out,
                   struct integ_error *err)
{
  json_t *v = json_object_get(obj, key);
  char at[512];

  if (!v)
    return 0;
  snprintf(at, sizeof(at), "%s.%s", path, key);
  if (!json_is_integer(v) || json_integer_value(v) < min)
    return def_error(d, err, INTEG_ECONFIG, at,
                     "expected an integer of at least %lld", (long long)min);
  *out = json_integer_value(v);
  return 0;
}

/* Compile template text at key path `at`. */
static int compile(struct decl *d, const char *text, const char *at,
                   integ_template **out, struct integ_error *err)
{
  struct integ_error e = {0, ""};

  *out = d->host->template_compile(d->ctx, text, d->known, &e);
  if (!*out)
    return e.code == INTEG_ENOMEM
               ? integ_error_set(err, INTEG_ENOMEM, "out of memory")
               : def_error(d, err, INTEG_ECONFIG, at, "template '%s': %s",
                           text, e.message);
  return 0;
}

/* Check a JSONPath at key path `at`. */
static int check_path(struct decl *d, const char *q, const char *at,
                      struct integ_error *err)
{
  struct integ_error e = {0, ""};
  integ_jsonpath *jp = d->host->jsonpath_compile(d->ctx, q, strlen(q), &e);

  if (!jp)
    return e.code == INTEG_ENOMEM
               ? integ_error_set(err, INTEG_ENOMEM, "out of memory")
               : def_error(d, err, INTEG_ECONFIG, at, "JSONPath '%s': %s", q,
                           e.message);
  d->host->jsonpath_free(jp);
  return 0;
}

/* The output name a JSONPath like "$.id" or "$.a.b" gives ("id", "b"). */
static const char *path_name(const char *q)
{
  const char *dot = strrchr(q, '.');

  return dot ? dot + 1 : q;
}

/* A mapping of templates (params, headers) at obj[key]. */
static int load_kvs(struct decl *d, json_t *obj, const char *path,
                    const char *key, struct kv **out, size_t *n,
                    struct integ_error *err)
{
  json_t *m = json_object_get(obj, key), *v;
  const char *name;
  char at[512];
  int rc = 0;

  *out = NULL;
  *n = 0;
  if (!m)
    return 0;
  snprintf(at, sizeof(at), "%s.%s", path, key);
  if (!json_is_object(m))
    return def_error(d, err, INTEG_ECONFIG, at,
                     "expected a mapping of names to values");
  *out = calloc(json_object_size(m) + 1, sizeof(**out));
  if (!*out)
    return integ_error_set(err, INTEG_ENOMEM, "out of memory");
  json_object_foreach(m, name, v)
  {
    char vat[1024], num[64];
    const char *text = json_string_value(v);
    struct kv *kv = &(*out)[*n];

    snprintf(vat, sizeof(vat), "%s.%s", at, name);
    if (json_is_integer(v)) {
      snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
      text = num;
    } else if (json_is_boolean(v)) {
      text = json_is_true(v) ? "true" : "false";
    }
    if (!text)
      return def_error(d, err, INTEG_ECONFIG, vat,
                       "expected a string or a number");
    if (!(kv->name = strdup(name)))
      return integ_error_set(err, INTEG_ENOMEM, "out of memory");
    (*n)++;
    rc = compile(d, text, vat, &kv->t, err);
    if (rc)
      return rc;
  }
  return 0;
}

/* Check every string of a JSON body as a template. */
static int check_body(struct decl *d, json_t *v, const char *at,
                      struct integ_error *err)
{
  char sub[512];
  const char *key;
  json_t *x;
  size_t i;
  int rc = 0;

  if (json_is_string(v)) {
    integ_template *t = NULL;

    rc = compile(d, json_string_value(v), at, &t, err);
    d->host->template_free(t);
    return rc;
  }
  json_object_foreach(v, key, x)
  {
    snprintf(sub, sizeof(sub), "%s.%s", at, key);
    if ((rc = check_body(d, x, sub, err)))
      return rc;
  }
  json_array_foreach(v, i, x)
  {
    snprintf(sub, sizeof(sub), "%s[%zu]", at, i);
    if ((rc = check_body(d, x, sub, err)))
      return rc;
  }
  return 0;
}

/* ---------------------------------------------------------- loading */

static const char *const stream_keys[] = {
    "name",       "request", "records", "primary_key", "fields", "cursor",
    "pagination", "parent",  "schema",  "windows",     NULL};
static const char *const window_keys[] = {"start", "end", "step", "format",
                                          NULL};
static const char *const request_keys[] = {"method",  "path", "url", "params",
                                           "headers", "body", NULL};
static const char *const cursor_keys[] = {
    "path", "format", "param", "field", "start", "lookback", NULL};
static const char *const pagination_keys[] = {
    "type",  "param",    "size_param", "size", "start",
    "token", "has_more", "max_pages",  NULL};
static const char *const parent_keys[] = {"stream", "key", "as", NULL};
static const char *const top_keys[] = {"description", "base_url", "config",
                                       "auth",        "headers",  "params",
                                       "streams",     NULL};
static const char *const config_keys[] = {"default", "required", "secret",
                                          "description", NULL};
static const char *const auth_types[] = {"none",  "api_key", "bearer",
                                         "basic", "oauth2",  NULL};
/* The auth keys whose values are secrets: never written in a definition,
 * always taken from the connector's config (or its auth:). */
static const char *const auth_secrets[] = {
    "key", "token", "password", "client_secret", "refresh_token", NULL};
static const char *const casts[] = {"string", "integer", "number", "boolean",
                                    NULL};

static int load_requester(struct decl *d, struct stream *s, json_t *js,
                          struct integ_error *err)
{
  json_t *rq = json_object_get(js, "request");
  const char *base = json_string_value(json_object_get(d->def, "base_url"));
  char at[512], *path = NULL, *url = NULL, *text = NULL;
  int rc;

  snprintf(at, sizeof(at), "%s.request", s->where);
  if (rq && !json_is_object(rq))
    return def_error(d, err, INTEG_ECONFIG, at, "expected a mapping");
  if ((rc = check_keys(d, rq, at, request_keys, err)) ||
      (rc = get_str(d, rq, at, "method", &s->rq.method, err)) ||
      (rc = get_str(d, rq, at, "path", &path, err)) ||
      (rc = get_str(d, rq, at, "url", &url, err)))
    goto out;
  if (!s->rq.method && !(s->rq.method = strdup("GET"))) {
    rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  if (!url && !base) {
    rc = def_error(d, err, INTEG_ECONFIG, at,
                   "no URL: give request.url, or base_url at the top");
    goto out;
  }
  /* Each part alone first: an error's character is then in the text
   * the user wrote at that key. */
  if (base && !url) {
    integ_template *t = NULL;

    rc = compile(d, base, "base_url", &t, err);
    d->host->template_free(t);
    if (!rc && path) {
      snprintf(at, sizeof(at), "%s.request.path", s->where);
      rc = compile(d, path, at, &t, err);
      d->host->template_free(t);
    }
    if (rc)
      goto out;
  }
  if (url) {
    text = url;
    url = NULL;
    snprintf(at, sizeof(at), "%s.request.url", s->where);
  } else {
    size_t lb = strlen(base), lp = path ? strlen(path) : 0;

    text = malloc(lb + lp + 1);
    if (!text) {
      rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
      goto out;
    }
    memcpy(text, base, lb);
    memcpy(text + lb, path ? path : "", lp + 1);
    snprintf(at, sizeof(at), "%s.request.%s", s->where,
             path ? "path" : "(base_url)");
    if (!path)
      snprintf(at, sizeof(at), "base_url");
  }
  rc = compile(d, text, at, &s->rq.url, err);
  if (rc)
    goto out;
  snprintf(at, sizeof(at), "%s.request", s->where);
  if ((rc = load_kvs(d, rq, at, "params", &s->rq.params, &s->rq.nparams,
                     err)) ||
      (rc = load_kvs(d, rq, at, "headers", &s->rq.headers, &s->rq.nheaders,
                     err)))
    goto out;
  if (json_object_get(rq, "body")) {
    s->rq.body = json_deep_copy(json_object_get(rq, "body"));
    snprintf(at, sizeof(at), "%s.request.body", s->where);
    rc = s->rq.body ? check_body(d, s->rq.body, at, err)
                    : integ_error_set(err, INTEG_ENOMEM, "out of memory");
  }
out:
  free(path);
  free(url);
  free(text);
  return rc;
}

static int load_fields(struct decl *d, struct stream *s, json_t *js,
                       struct integ_error *err)
{
  json_t *f = json_object_get(js, "fields"), *v, *props;
  const char *name;
  char at[512];
  int rc = 0;

  props = json_object();
  if (!props)
    return integ_error_set(err, INTEG_ENOMEM, "out of memory");
  snprintf(at, sizeof(at), "%s.fields", s->where);
  if (f && !json_is_object(f)) {
    rc = def_error(d, err, INTEG_ECONFIG, at,
                   "expected a mapping of output names to JSONPaths");
    goto out;
  }
  json_object_foreach(f, name, v)
  {
    char fat[1024];
    const char *q = json_string_value(v), *cast = NULL;
    const char *type = "string";

    snprintf(fat, sizeof(fat), "%s.%s", at, name);
    if (json_is_object(v)) {
      static const char *const fkeys[] = {"path", "cast", NULL};

      if ((rc = check_keys(d, v, fat, fkeys, err)))
        goto out;
      q = json_string_value(json_object_get(v, "path"));
      cast = json_string_value(json_object_get(v, "cast"));
      if (json_object_get(v, "cast") && !cast) {
        snprintf(fat, sizeof(fat), "%s.%s.cast", at, name);
        rc = def_error(d, err, INTEG_ECONFIG, fat, "expected a string");
        goto out;
      }
      if (cast) {
        size_t i;

        for (i = 0; casts[i] && strcmp(casts[i], cast); i++)
          ;
        if (!casts[i]) {
          snprintf(fat, sizeof(fat), "%s.%s.cast", at, name);
          rc = def_error(d, err, INTEG_ECONFIG, fat,
                         "unknown cast '%s' (use string, integer, number "
                         "or boolean)",
                         cast);
          goto out;
        }
        type = cast;
      }
      snprintf(fat, sizeof(fat), "%s.%s.path", at, name);
    }
    if (!q) {
      rc = def_error(d, err, INTEG_ECONFIG, fat,
                     "expected a JSONPath, or {path: JSONPath, cast: TYPE}");
      goto out;
    }
    if ((rc = check_path(d, q, fat, err)))
      goto out;
    if (!cast)
      type = NULL;
    if (json_object_set_new(props, name,
                            type ? json_pack("{s:[s,s]}", "type", type, "null")
                                 : json_object())) {
      rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
      goto out;
    }
  }
  if (f && !(s->fields = json_deep_copy(f))) {
    rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  /* schema: declared, else inferred from fields and their casts. */
  v = json_object_get(js, "schema");
  snprintf(at, sizeof(at), "%s.schema", s->where);
  if (v && !json_is_object(v)) {
    rc = def_error(d, err, INTEG_ECONFIG, at, "expected a JSON Schema object");
    goto out;
  }
  s->schema =
      v ? json_deep_copy(v)
        : json_pack("{s:s, s:O}", "type", "object", "properties", props);
  if (!s->schema)
    rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
out:
  json_decref(props);
  return rc;
}

static long long parse_step(const char *t);

/* cursor.lookback: a duration ("1h") asked again before the start. */
static int get_lookback(struct decl *d, struct stream *s, json_t *c,
                        const char *at, struct integ_error *err)
{
  char *text = NULL, where[600];
  int rc = get_str(d, c, at, "lookback", &text, err);

  if (rc || !text)
    return rc;
  s->cur.lookback = parse_step(text);
  if (!s->cur.lookback) {
    snprintf(where, sizeof(where), "%s.lookback", at);
    rc = def_error(d, err, INTEG_ECONFIG, where,
                   "'%s' is not a duration: a positive number and s, m, h "
                   "or d (1h, 30m)",
                   text);
  }
  free(text);
  return rc;
}

static int load_cursor(struct decl *d, struct stream *s, json_t *js,
                       struct integ_error *err)
{
  json_t *c = json_object_get(js, "cursor");
  char at[512], *start = NULL;
  int rc;

  if (!c)
    return 0;
  snprintf(at, sizeof(at), "%s.cursor", s->where);
  if (json_is_string(c)) {
    s->cur.path = strdup(json_string_value(c));
    if (!s->cur.path)
      return integ_error_set(err, INTEG_ENOMEM, "out of memory");
  } else if (!json_is_object(c)) {
    return def_error(d, err, INTEG_ECONFIG, at,
                     "expected a JSONPath or a mapping (path, format, "
                     "param, start)");
  } else if ((rc = check_keys(d, c, at, cursor_keys, err)) ||
             (rc = get_str(d, c, at, "path", &s->cur.path, err)) ||
             (rc = get_str(d, c, at, "format", &s->cur.format, err)) ||
             (rc = get_str(d, c, at, "param", &s->cur.param, err)) ||
             (rc = get_str(d, c, at, "field", &s->cur.field, err)) ||
             (rc = get_lookback(d, s, c, at, err)) ||
             (rc = get_str(d, c, at, "start", &start, err))) {
    free(start);
    return rc;
  }
  if (!s->cur.path) {
    free(start);
    return def_error(d, err, INTEG_ECONFIG, at,
                     "no path: give the JSONPath of the cursor value");
  }
  snprintf(at, sizeof(at), "%s.cursor%s", s->where,
           json_is_object(c) ? ".path" : "");
  rc = check_path(d, s->cur.path, at, err);
  if (!rc && start) {
    snprintf(at, sizeof(at), "%s.cursor.start", s->where);
    rc = compile(d, start, at, &s->cur.start, err);
  }
  free(start);
  if (rc)
    return rc;
  if (!s->cur.field && !(s->cur.field = strdup(path_name(s->cur.path))))
    return integ_error_set(err, INTEG_ENOMEM, "out of memory");
  /* The format, checked now by making a cursor that is thrown away. */
  {
    struct integ_cursor_opts o = {sizeof(o), s->name, s->cur.path,
                                  s->cur.format, NULL};
    struct integ_error e = {0, ""};
    integ_cursor *cur = d->host->cursor_new(d->ctx, &o, NULL, &e);

    if (!cur) {
      snprintf(at, sizeof(at), "%s.cursor.format", s->where);
      return def_error(d, err, INTEG_ECONFIG, at, "format '%s': %s",
                       s->cur.format ? s->cur.format : "", e.message);
    }
    d->host->cursor_free(cur);
  }
  return 0;
}

static int load_paginator(struct decl *d, struct stream *s, json_t *js,
                          struct integ_error *err)
{
  static const char *const types[] = {"none",     "page", "offset", "cursor",
                                      "next_url", "link", NULL};
  json_t *p = json_object_get(js, "pagination");
  char at[512], *type = NULL;
  size_t i;
  int rc;

  s->pg.max_pages = DECL_MAX_PAGES_DEFAULT;
  s->pg.start = 1;
  if (!p)
    return 0;
  snprintf(at, sizeof(at), "%s.pagination", s->where);
  if (!json_is_object(p))
    return def_error(d, err, INTEG_ECONFIG, at, "expected a mapping");
  if ((rc = check_keys(d, p, at, pagination_keys, err)) ||
      (rc = get_str(d, p, at, "type", &type, err)) ||
      (rc = get_str(d, p, at, "param", &s->pg.param, err)) ||
      (rc = get_str(d, p, at, "size_param", &s->pg.size_param, err)) ||
      (rc = get_str(d, p, at, "token", &s->pg.token, err)) ||
      (rc = get_str(d, p, at, "has_more", &s->pg.has_more, err)) ||
      (rc = get_int(d, p, at, "size", 1, &s->pg.size, err)) ||
      (rc = get_int(d, p, at, "start", 0, &s->pg.start, err)) ||
      (rc = get_int(d, p, at, "max_pages", 1, &s->pg.max_pages, err)))
    goto out;
  for (i = 0; types[i] && (!type || strcmp(types[i], type)); i++)
    ;
  if (!types[i]) {
    snprintf(at, sizeof(at), "%s.pagination.type", s->where);
    rc = def_error(d, err, INTEG_ECONFIG, at,
                   "%s (use none, page, offset, cursor, next_url or link)",
                   type ? "unknown pagination type" : "missing");
    goto out;
  }
  s->pg.type = (enum pg_type)i;
  if ((s->pg.type == PG_PAGE || s->pg.type == PG_OFFSET ||
       s->pg.type == PG_CURSOR) &&
      !s->pg.param &&
      !(s->pg.param = strdup(s->pg.type == PG_PAGE     ? "page"
                             : s->pg.type == PG_OFFSET ? "offset"
                                                       : "cursor"))) {
    rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  if ((s->pg.type == PG_CURSOR || s->pg.type == PG_NEXT_URL) && !s->pg.token) {
    snprintf(at, sizeof(at), "%s.pagination", s->where);
    rc = def_error(d, err, INTEG_ECONFIG, at,
                   "pagination %s needs token: the JSONPath of the %s in "
                   "the body",
                   type, s->pg.type == PG_CURSOR ? "next token" : "next URL");
    goto out;
  }
  if (s->pg.token) {
    snprintf(at, sizeof(at), "%s.pagination.token", s->where);
    if ((rc = check_path(d, s->pg.token, at, err)))
      goto out;
  }
  if (s->pg.has_more) {
    snprintf(at, sizeof(at), "%s.pagination.has_more", s->where);
    rc = check_path(d, s->pg.has_more, at, err);
  }
out:
  free(type);
  return rc;
}

/* "1d", "6h", "30m", "90s" into seconds; 0 when it is none of them. */
static long long parse_step(const char *t)
{
  char *end = NULL;
  long long n = strtoll(t, &end, 10);

  if (end == t || n <= 0 || !end[0] || end[1])
    return 0;
  switch (end[0]) {
  case 's':
    return n;
  case 'm':
    return n * 60;
  case 'h':
    return n * 3600;
  case 'd':
    return n * 86400;
  default:
    return 0;
  }
}

static int load_windows(struct decl *d, struct stream *s, json_t *js,
                        struct integ_error *err)
{
  json_t *w = json_object_get(js, "windows");
  char at[512], *start = NULL, *end = NULL, *step = NULL;
  int rc;

  if (!w)
    return 0;
  snprintf(at, sizeof(at), "%s.windows", s->where);
  if (!json_is_object(w))
    return def_error(d, err, INTEG_ECONFIG, at,
                     "expected a mapping (start, step, end, format)");
  if ((rc = check_keys(d, w, at, window_keys, err)) ||
      (rc = get_str(d, w, at, "start", &start, err)) ||
      (rc = get_str(d, w, at, "end", &end, err)) ||
      (rc = get_str(d, w, at, "step", &step, err)) ||
      (rc = get_str(d, w, at, "format", &s->win.format, err)))
    goto out;
  if (!start || !step) {
    rc = def_error(d, err, INTEG_ECONFIG, at,
                   "windows need start (a date, or a template such as "
                   "${config.start_date}) and step (1d, 6h, 30m, ...)");
    goto out;
  }
  if (!(s->win.step = parse_step(step))) {
    snprintf(at, sizeof(at), "%s.windows.step", s->where);
    rc = def_error(d, err, INTEG_ECONFIG, at,
                   "'%s' is not a step: a positive number and s, m, h or d "
                   "(1d, 6h, 30m)",
                   step);
    goto out;
  }
  if (s->cur.path || s->parent != -1) {
    rc = def_error(d, err, INTEG_ECONFIG, at,
                   "windows keep their own state: not with a cursor or a "
                   "parent in the same stream");
    goto out;
  }
  snprintf(at, sizeof(at), "%s.windows.start", s->where);
  rc = compile(d, start, at, &s->win.start, err);
  if (!rc && end) {
    snprintf(at, sizeof(at), "%s.windows.end", s->where);
    rc = compile(d, end, at, &s->win.end, err);
  }
out:
  free(start);
  free(end);
  free(step);
  return rc;
}

static int load_stream(struct decl *d, size_t i, json_t *js,
                       struct integ_error *err)
{
  struct stream *s = &d->streams[i];
  json_t *pk, *v;
  char where[64], at[512];
  size_t k;
  int rc;

  snprintf(where, sizeof(where), "streams[%zu]", i);
  s->parent = -1;
  if (!(s->where = strdup(where)) || !(s->pk_paths = json_array()) ||
      !(s->pk_names = json_array()) || !(s->partitions = json_array()))
    return integ_error_set(err, INTEG_ENOMEM, "out of memory");
  if (!json_is_object(js))
    return def_error(d, err, INTEG_ECONFIG, where,
                     "expected a mapping (name, request, records, ...)");
  if ((rc = check_keys(d, js, where, stream_keys, err)) ||
      (rc = get_str(d, js, where, "name", &s->name, err)) ||
      (rc = get_str(d, js, where, "records", &s->records, err)))
    return rc;
  if (!s->name)
    return def_error(d, err, INTEG_ECONFIG, where, "a stream needs a name");
  for (k = 0; k < i; k++)
    if (strcmp(d->streams[k].name, s->name) == 0) {
      snprintf(at, sizeof(at), "%s.name", where);
      return def_error(d, err, INTEG_ECONFIG, at,
                       "stream '%s' is defined twice (also streams[%zu])",
                       s->name, k);
    }
  if (!s->records)
    return def_error(d, err, INTEG_ECONFIG, where,
                     "stream '%s' has no records: give the JSONPath whose "
                     "nodelist is the records, as records: \"$.data[*]\"",
                     s->name);
  snprintf(at, sizeof(at), "%s.records", where);
  if ((rc = check_path(d, s->records, at, err)) ||
      (rc = load_requester(d, s, js, err)) ||
      (rc = load_fields(d, s, js, err)) || (rc = load_cursor(d, s, js, err)) ||
      (rc = load_paginator(d, s, js, err)))
    return rc;
  pk = json_object_get(js, "primary_key");
  snprintf(at, sizeof(at), "%s.primary_key", where);
  if (pk && !json_is_string(pk) && !json_is_array(pk))
    return def_error(d, err, INTEG_ECONFIG, at,
                     "expected a JSONPath or a list of them");
  for (k = 0; pk && k < (json_is_string(pk) ? 1 : json_array_size(pk)); k++) {
    const char *q =
        json_string_value(json_is_string(pk) ? pk : json_array_get(pk, k));
    char pat[1024], *full = NULL;

    snprintf(pat, sizeof(pat), "%s[%zu]", at, k);
    if (!q)
      return def_error(d, err, INTEG_ECONFIG, json_is_string(pk) ? at : pat,
                       "expected a JSONPath");
    /* A bare name is the output field of that name. */
    if (q[0] != '$' && asprintf(&full, "$.%s", q) < 0)
      return integ_error_set(err, INTEG_ENOMEM, "out of memory");
    rc = check_path(d, full ? full : q, json_is_string(pk) ? at : pat, err);
    if (!rc &&
        (json_array_append_new(s->pk_paths, json_string(full ? full : q)) ||
         json_array_append_new(s->pk_names, json_string(path_name(q)))))
      rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
    free(full);
    if (rc)
      return rc;
  }
  v = json_object_get(js, "parent");
  if (v) {
    char *pname = NULL;

    snprintf(at, sizeof(at), "%s.parent", where);
    if (!json_is_object(v))
      return def_error(d, err, INTEG_ECONFIG, at,
                       "expected a mapping (stream, key, as)");
    if ((rc = check_keys(d, v, at, parent_keys, err)) ||
        (rc = get_str(d, v, at, "stream", &pname, err)) ||
        (rc = get_str(d, v, at, "key", &s->parent_key, err)) ||
        (rc = get_str(d, v, at, "as", &s->partition, err))) {
      free(pname);
      return rc;
    }
    if (!pname) {
      return def_error(d, err, INTEG_ECONFIG, at,
                       "parent needs stream: the name of the parent stream");
    }
    /* The parent is looked up when every stream is loaded. */
    s->parent = -2;
    if (!s->parent_key && !(s->parent_key = strdup("$.id"))) {
      free(pname);
      return integ_error_set(err, INTEG_ENOMEM, "out of memory");
    }
    if (!s->partition && !(s->partition = strdup(path_name(s->parent_key)))) {
      free(pname);
      return integ_error_set(err, INTEG_ENOMEM, "out of memory");
    }
    snprintf(at, sizeof(at), "%s.parent.key", where);
    rc = check_path(d, s->parent_key, at, err);
    if (rc) {
      free(pname);
      return rc;
    }
    /* Kept in partitions' place until resolved. */
    json_decref(s->partitions);
    s->partitions = json_string(pname);
    free(pname);
    if (!s->partitions)
      return integ_error_set(err, INTEG_ENOMEM, "out of memory");
  }
  return load_windows(d, s, js, err);
}

/* Resolve each child's parent by name, in definition order. */
static int resolve_parents(struct decl *d, struct integ_error *err)
{
  for (size_t i = 0; i < d->n; i++) {
    struct stream *s = &d->streams[i];
    const char *pname;
    size_t k;
    char at[512];

    if (s->parent != -2)
      continue;
    pname = json_string_value(s->partitions);
    for (k = 0; k < d->n && strcmp(d->streams[k].name, pname); k++)
      ;
    snprintf(at, sizeof(at), "%s.parent.stream", s->where);
    if (k == d->n)
      return def_error(d, err, INTEG_ECONFIG, at,
                       "no stream '%s' to be the parent of '%s'", pname,
                       s->name);
    if (k == i || d->streams[k].parent != -1)
      return def_error(d, err, INTEG_ECONFIG, at,
                       "the parent of '%s' must be a stream without a "
                       "parent of its own",
                       s->name);
    s->parent = (int)k;
    d->streams[k].nchildren++;
    json_decref(s->partitions);
    s->partitions = json_array();
    if (!s->partitions)
      return integ_error_set(err, INTEG_ENOMEM, "out of memory");
  }
  return 0;
}

static void free_kvs(const struct integ_host *h, struct kv *kv, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(kv[i].name);
    h->template_free(kv[i].t);
  }
  free(kv);
}

static void decl_unload(void *instance)
{
  struct decl *d = instance;
  const struct integ_host *h = d->host;

  for (size_t i = 0; i < d->n; i++) {
    struct stream *s = &d->streams[i];

    free(s->name);
    free(s->where);
    free(s->rq.method);
    h->template_free(s->rq.url);
    free_kvs(h, s->rq.params, s->rq.nparams);
    free_kvs(h, s->rq.headers, s->rq.nheaders);
    json_decref(s->rq.body);
    free(s->records);
    json_decref(s->fields);
    json_decref(s->pk_paths);
    json_decref(s->pk_names);
    free(s->cur.path);
    free(s->cur.format);
    free(s->cur.param);
    free(s->cur.field);
    h->template_free(s->cur.start);
    free(s->pg.param);
    free(s->pg.size_param);
    free(s->pg.token);
    free(s->pg.has_more);
    free(s->parent_key);
    free(s->partition);
    h->template_free(s->win.start);
    h->template_free(s->win.end);
    free(s->win.format);
    json_decref(s->schema);
    json_decref(s->partitions);
    json_decref(s->held);
  }
  free(d->streams);
  h->doc_free(d->doc);
  json_decref(d->config);
  json_decref(d->state);
  json_decref(d->known);
  free(d);
}

/* ------------------------------------------------ config and auth */

static int in_list(const char *const *list, const char *s)
{
  for (size_t i = 0; list[i]; i++)
    if (strcmp(list[i], s) == 0)
      return 1;
  return 0;
}

/* The definition's `config:` mapping, KEY: {default, required, secret,
 * description}: a default fills the connector's config (so templates
 * may name the key), a required key missing from it is an error. */
static int load_config(struct decl *d, struct integ_error *err)
{
  json_t *c = json_object_get(d->def, "config"), *v;
  json_t *cfg = json_object_get(d->known, "config");
  const char *key;
  char at[512];
  int rc;

  if (!c)
    return 0;
  if (!json_is_object(c))
    return def_error(d, err, INTEG_ECONFIG, "config",
                     "expected a mapping of the connector's config keys");
  json_object_foreach(c, key, v)
  {
    json_t *dflt;

    snprintf(at, sizeof(at), "config.%s", key);
    if (!json_is_object(v))
      return def_error(d, err, INTEG_ECONFIG, at,
                       "expected a mapping: {default, required, secret, "
                       "description}");
    if ((rc = check_keys(d, v, at, config_keys, err)))
      return rc;
    dflt = json_object_get(v, "default");
    if (json_object_get(cfg, key))
      continue;
    if (dflt) {
      if (json_object_set(cfg, key, dflt))
        return integ_error_set(err, INTEG_ENOMEM, "out of memory");
    } else if (json_is_true(json_object_get(v, "required"))) {
      const char *why = json_string_value(json_object_get(v, "description"));

      return def_error(d, err, INTEG_ECONFIG, at,
                       "the connector's config needs '%s'%s%s%s", key,
                       why ? " (" : "", why ? why : "", why ? ")" : "");
    } else if (json_object_set_new(cfg, key, json_null())) {
      /* Declared, optional, left out: templates may name it, with no
       * value (| default:VALUE gives one). */
      return integ_error_set(err, INTEG_ENOMEM, "out of memory");
    }
  }
  return 0;
}

/* scheme://host[:port] of a URL, into buf. */
static int url_origin(const char *url, char *buf, size_t size)
{
  const char *p = strstr(url, "://"), *e;

  if (!p)
    return -1;
  e = strchr(p + 3, '/');
  if (!e)
    e = p + strlen(p);
  if ((size_t)(e - url) >= size || e == p + 3)
    return -1;
  memcpy(buf, url, (size_t)(e - url));
  buf[e - url] = '\0';
  return 0;
}

/* Render a template (text, at key path `at`) with the connector's config
 * alone: the auth block and base_url are rendered once, at load. */
static int render_static(struct decl *d, const char *text, const char *at,
                         char **out, struct integ_error *err)
{
  integ_template *t = NULL;
  json_t *vars =
      json_pack("{s:O}", "config", json_object_get(d->known, "config"));
  int rc;

  if (!vars)
    return integ_error_set(err, INTEG_ENOMEM, "out of memory");
  rc = compile(d, text, at, &t, err);
  if (!rc) {
    rc = d->host->template_render(d->ctx, t, vars, out, err);
    if (rc && rc != INTEG_ENOMEM)
      rc = def_error(d, err, INTEG_ECONFIG, at, "%s", err->message);
  }
  d->host->template_free(t);
  json_decref(vars);
  return rc;
}

/* The definition's `auth:` block: its type checked, its secrets taken
 * from the connector's config through templates (never inline), its
 * strings rendered, its origins the base_url's when not given; then
 * handed to the host, which fills it from the connector's auth: (or a
 * tap's --config "auth") and applies it to every request. */
static int load_auth(struct decl *d, struct integ_error *err)
{
  json_t *a = json_object_get(d->def, "auth"), *block = NULL, *v;
  const char *key, *type, *base;
  char at[512], *text = NULL;
  int rc = 0;

  if (!a)
    return 0;
  if (!json_is_object(a))
    return def_error(d, err, INTEG_ECONFIG, "auth",
                     "expected a mapping: {type: none | api_key | bearer | "
                     "basic | oauth2, ...}");
  type = json_string_value(json_object_get(a, "type"));
  if (!type || !in_list(auth_types, type))
    return def_error(d, err, INTEG_ECONFIG, type ? "auth.type" : "auth",
                     "%s%s%s: use none, api_key, bearer, basic or oauth2",
                     type ? "unknown auth type '" : "auth needs a type",
                     type ? type : "", type ? "'" : "");
  if (!INTEG_HAS(d->host, auth_declare))
    return integ_error_set(err, INTEG_EABI,
                           "a definition with auth: needs plugin ABI 0.5");
  block = json_object();
  if (!block)
    return integ_error_set(err, INTEG_ENOMEM, "out of memory");
  json_object_foreach(a, key, v)
  {
    snprintf(at, sizeof(at), "auth.%s", key);
    if (in_list(auth_secrets, key) &&
        (!json_is_string(v) || !strstr(json_string_value(v), "${"))) {
      rc = def_error(d, err, INTEG_ECONFIG, at,
                     "the secret '%s' is written inline: take it from the "
                     "connector's config, \"${config.%s}\", or from the "
                     "connector's auth: in the manifest",
                     key, key);
      goto out;
    }
    if (!json_is_string(v)) {
      if (json_object_set(block, key, v)) {
        rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
        goto out;
      }
      continue;
    }
    /* "${config.KEY}" of a KEY the definition's config: declares and
     * the connector leaves out: the connector's auth: (or a tap's
     * --config "auth") gives the value then. */
    if (strncmp(json_string_value(v), "${config.", 9) == 0) {
      const char *k = json_string_value(v) + 9;
      size_t n = strcspn(k, " |}");
      char name[128];

      snprintf(name, sizeof(name), "%.*s", (int)n, k);
      if (json_object_get(json_object_get(d->def, "config"), name) &&
          json_is_null(
              json_object_get(json_object_get(d->known, "config"), name)))
        continue;
    }
    rc = render_static(d, json_string_value(v), at, &text, err);
    if (rc)
      goto out;
    if (json_object_set_new(block, key, json_string(text))) {
      rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
      goto out;
    }
    free(text);
    text = NULL;
  }
  base = json_string_value(json_object_get(d->def, "base_url"));
  if (!json_object_get(block, "origins") && base) {
    char origin[512];
    json_t *list;

    rc = render_static(d, base, "base_url", &text, err);
    if (rc)
      goto out;
    if (url_origin(text, origin, sizeof(origin))) {
      rc = def_error(d, err, INTEG_ECONFIG, "base_url",
                     "'%s' is not an absolute URL", text);
      goto out;
    }
    list = json_pack("[s]", origin);
    if (!list || json_object_set_new(block, "origins", list)) {
      rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
      goto out;
    }
  }
  rc = d->host->auth_declare(d->ctx, block, err);
  if (rc && rc != INTEG_ENOMEM)
    rc = def_error(d, err, rc, "auth", "%s", err->message);
out:
  free(text);
  json_decref(block);
  return rc;
}

static int decl_load(const struct integ_host *host, integ_ctx *ctx,
                     json_t *config, json_t *state, void **instance,
                     struct integ_error *err)
{
  struct decl *d;
  json_t *def = json_object_get(config, "definition"), *streams, *cfg;
  int rc;

  if (!INTEG_HAS(host, cursor_free))
    return integ_error_set(err, INTEG_EABI,
                           "the declarative plugin needs plugin ABI 0.4");
  d = calloc(1, sizeof(*d));
  if (!d)
    return integ_error_set(err, INTEG_ENOMEM, "out of memory");
  d->host = host;
  d->ctx = ctx;
  d->config = json_incref(config);
  d->prefix = "definition";
  d->state = json_is_object(state) ? json_deep_copy(state) : json_object();
  cfg = json_deep_copy(config);
  if (cfg)
    json_object_del(cfg, "definition");
  d->known = cfg ? json_pack("{s:o, s:b, s:b, s:b, s:b}", "config", cfg,
                             "state", 1, "stream", 1, "parent", 1, "page", 1)
                 : NULL;
  if (!d->state || !d->known) {
    rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  if (json_is_string(def)) {
    d->doc = host->doc_load(ctx, json_string_value(def), &d->def, err);
    if (!d->doc) {
      char pos[512];

      if (!host->position(ctx, NULL, "definition", pos, sizeof(pos)))
        integ_error_set(err, err->code, "%s: definition: %s", pos,
                        err->message);
      rc = err->code;
      goto out;
    }
    d->prefix = "";
  } else {
    d->def = def;
  }
  if ((rc = check_keys(d, d->def, "", top_keys, err)) ||
      (rc = load_config(d, err)) || (rc = load_auth(d, err)))
    goto out;
  if (json_object_get(d->def, "base_url") &&
      !json_is_string(json_object_get(d->def, "base_url"))) {
    rc = def_error(d, err, INTEG_ECONFIG, "base_url", "expected a string");
    goto out;
  }
  streams = json_object_get(d->def, "streams");
  if (!json_is_array(streams) || !json_array_size(streams)) {
    rc = def_error(d, err, INTEG_ECONFIG, streams ? "streams" : "",
                   "a definition needs streams: a list of streams");
    goto out;
  }
  d->streams = calloc(json_array_size(streams), sizeof(*d->streams));
  if (!d->streams) {
    rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < json_array_size(streams); i++) {
    d->n = i + 1;
    rc = load_stream(d, i, json_array_get(streams, i), err);
    if (rc)
      goto out;
  }
  rc = resolve_parents(d, err);
out:
  if (rc) {
    decl_unload(d);
    return rc;
  }
  *instance = d;
  return 0;
}

/* ------------------------------------------------------------ running */

/* The template vars of one request. */
static json_t *vars_for(struct decl *d, struct stream *s, json_t *parent,
                        json_t *start, const char *next, const char **win)
{
  json_t *cfg = json_object_get(d->known, "config");

  return json_pack("{s:O, s:{s:O*}, s:{s:s}, s:O*, s:{s:s?}, s:s?, s:s?, "
                   "s:s?}",
                   "config", cfg, "state", "cursor", start, "stream", "name",
                   s->name, "parent", parent, "page", "next", next, "start",
                   win ? win[0] : NULL, "end", win ? win[1] : NULL, "date",
                   win ? win[2] : NULL);
}

static int render(struct decl *d, const integ_template *t, json_t *vars,
                  char **out, const char *what, struct stream *s,
                  struct integ_error *err)
{
  int rc = d->host->template_render(d->ctx, t, vars, out, err);

  if (rc && rc != INTEG_ENOMEM)
    integ_error_set(err, rc, "stream %s: %s: %s", s->name, what, err->message);
  return rc;
}

/* Render each string leaf of a body. */
static json_t *render_body(struct decl *d, json_t *v, json_t *vars,
                           struct stream *s, struct integ_error *err)
{
  const char *key;
  json_t *x, *out;
  size_t i;

  if (json_is_string(v)) {
    integ_template *t =
        d->host->template_compile(d->ctx, json_string_value(v), NULL, err);
    char *text = NULL;

    if (!t || render(d, t, vars, &text, "request.body", s, err)) {
      d->host->template_free(t);
      return NULL;
    }
    d->host->template_free(t);
    out = json_string(text);
    free(text);
    return out;
  }
  if (json_is_object(v)) {
    out = json_object();
    json_object_foreach(v, key, x)
    {
      if (!out ||
          json_object_set_new(out, key, render_body(d, x, vars, s, err))) {
        json_decref(out);
        return NULL;
      }
    }
    return out;
  }
  if (json_is_array(v)) {
    out = json_array();
    json_array_foreach(v, i, x)
    {
      if (!out ||
          json_array_append_new(out, render_body(d, x, vars, s, err))) {
        json_decref(out);
        return NULL;
      }
    }
    return out;
  }
  return json_incref(v);
}

static int parse_when(const char *t, time_t *out);
static void format_when(time_t t, const char *fmt, char *buf, size_t size);

/* The text of the cursor's start value for the request, moved back by
 * the lookback when there is one (times in UTC, epoch numbers). */
static char *lookback_text(struct stream *s, json_t *start)
{
  const char *f = s->cur.format;
  char buf[64];
  time_t t;

  if (s->cur.lookback && json_is_string(start) &&
      (!f || !strcmp(f, "rfc3339")) &&
      !parse_when(json_string_value(start), &t)) {
    format_when(t - (time_t)s->cur.lookback, NULL, buf, sizeof(buf));
    return strdup(buf);
  }
  if (s->cur.lookback && json_is_integer(start) && f &&
      (!strcmp(f, "epoch_s") || !strcmp(f, "epoch_ms"))) {
    snprintf(buf, sizeof(buf), "%lld",
             (long long)json_integer_value(start) -
                 s->cur.lookback * (strcmp(f, "epoch_ms") ? 1 : 1000));
    return strdup(buf);
  }
  return json_is_string(start)
             ? strdup(json_string_value(start))
             : json_dumps(start, JSON_ENCODE_ANY | JSON_COMPACT);
}

/* The request of one page. */
static integ_request *build_request(struct decl *d, struct stream *s,
                                    json_t *vars, const char *next_url,
                                    json_t *start, json_int_t page,
                                    json_int_t offset, const char *token,
                                    struct integ_error *err)
{
  const struct integ_host *h = d->host;
  integ_request *req = NULL;
  char *url = NULL, num[32], *val = NULL;
  int rc = 0;

  if (!next_url && render(d, s->rq.url, vars, &url, "request URL", s, err))
    return NULL;
  req =
      h->request_new(d->ctx, s->rq.method, next_url ? next_url : url, 0, err);
  free(url);
  if (!req)
    return NULL;
  for (size_t i = 0; i < s->rq.nheaders && !rc; i++) {
    rc = render(d, s->rq.headers[i].t, vars, &val, "request.headers", s, err);
    if (!rc && (rc = h->request_header(req, s->rq.headers[i].name, val)))
      integ_error_set(err, rc, "stream %s: header %s: refused", s->name,
                      s->rq.headers[i].name);
    free(val);
    val = NULL;
  }
  /* A next URL carries its own query: only headers and body go on. */
  for (size_t i = 0; !next_url && i < s->rq.nparams && !rc; i++) {
    rc = render(d, s->rq.params[i].t, vars, &val, "request.params", s, err);
    if (!rc && (rc = h->request_query(req, s->rq.params[i].name, val)))
      integ_error_set(err, rc, "out of memory");
    free(val);
    val = NULL;
  }
  if (!rc && !next_url && start && s->cur.param) {
    char *text = lookback_text(s, start);

    rc = text ? h->request_query(req, s->cur.param, text) : INTEG_ENOMEM;
    free(text);
  }
  if (!rc && !next_url && s->pg.size_param && s->pg.size) {
    snprintf(num, sizeof(num), "%lld", (long long)s->pg.size);
    rc = h->request_query(req, s->pg.size_param, num);
  }
  if (!rc && s->pg.type == PG_PAGE) {
    snprintf(num, sizeof(num), "%lld", (long long)page);
    rc = h->request_query(req, s->pg.param, num);
  } else if (!rc && s->pg.type == PG_OFFSET) {
    snprintf(num, sizeof(num), "%lld", (long long)offset);
    rc = h->request_query(req, s->pg.param, num);
  } else if (!rc && s->pg.type == PG_CURSOR && token) {
    rc = h->request_query(req, s->pg.param, token);
  }
  if (!rc && s->rq.body) {
    json_t *body = render_body(d, s->rq.body, vars, s, err);

    rc = body        ? h->request_body_json(req, body)
         : err->code ? err->code
                     : INTEG_ENOMEM;
    json_decref(body);
  }
  if (rc) {
    if (!err->code || rc == INTEG_ENOMEM)
      integ_error_set(err, rc, "stream %s: building the request failed",
                      s->name);
    h->request_free(req);
    return NULL;
  }
  return req;
}

/* d->state emitted whole, but for the places kept for held states. */
static int emit_state(struct decl *d, struct integ_error *err)
{
  json_t *out = NULL;
  int rc;

  for (size_t i = 0; i < d->n; i++) {
    const char *name = d->streams[i].name;

    if (!d->streams[i].held || !json_is_null(json_object_get(d->state, name)))
      continue;
    if (!out && !(out = json_copy(d->state)))
      return integ_error_set(err, INTEG_ENOMEM, "out of memory");
    json_object_del(out, name);
  }
  rc = d->host->emit_state(d->ctx, out ? out : d->state, err);
  json_decref(out);
  return rc;
}

/* The state of a stream without a parent: under d->state and emitted whole,
 * or held back (st is stolen) while it has children to load. A held state
 * new to d->state keeps its place there as a null, so that the state's
 * keys come in the same order as when it is not held. */
static int set_state(struct decl *d, struct stream *s, json_t *st,
                     struct integ_error *err)
{
  if (s->nchildren) {
    json_decref(s->held);
    s->held = st;
    if (!json_object_get(d->state, s->name) &&
        json_object_set_new(d->state, s->name, json_null()))
      return integ_error_set(err, INTEG_ENOMEM, "out of memory");
    return 0;
  }
  if (json_object_set_new(d->state, s->name, st))
    return integ_error_set(err, INTEG_ENOMEM, "out of memory");
  return emit_state(d, err);
}

/* The stream's state now: a copy under d->state, then emitted whole. */
static int save_state(struct decl *d, struct stream *s, const char *part,
                      integ_cursor *cur, struct integ_error *err)
{
  json_t *st = cur ? d->host->cursor_state(cur, err) : NULL;
  json_t *slot;
  int rc;

  if (!st)
    return cur && err->code ? err->code : 0;
  if (part) {
    slot = json_object_get(d->state, s->name);
    if (!json_is_object(json_object_get(slot, "partitions"))) {
      slot = json_pack("{s:{}}", "partitions");
      if (!slot || json_object_set_new(d->state, s->name, slot)) {
        json_decref(st);
        return integ_error_set(err, INTEG_ENOMEM, "out of memory");
      }
    }
    rc = json_object_set_new(json_object_get(slot, "partitions"), part, st);
  } else {
    return set_state(d, s, st, err);
  }
  if (rc)
    return integ_error_set(err, INTEG_ENOMEM, "out of memory");
  return emit_state(d, err);
}

/* The text of a partition key value ("42"). */
static char *key_text(json_t *v)
{
  return json_is_string(v) ? strdup(json_string_value(v))
                           : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

/* Pull one stream (one partition of it when parent is given). */
static int pull(struct decl *d, struct stream *s, json_t *parent,
                const char *part, const char **win, struct integ_error *err)
{
  const struct integ_host *h = d->host;
  integ_cursor *cur = NULL;
  json_t *want = NULL, *page = NULL, *vars = NULL, *start = NULL;
  json_t *saved;
  char *token = NULL, *next_url = NULL, *prev = NULL, *keys_q = NULL;
  json_int_t pageno = s->pg.start, offset = 0, pages = 0;
  int rc = 0;

  saved =
      part
          ? json_object_get(json_object_get(json_object_get(d->state, s->name),
                                            "partitions"),
                            part)
      : s->held ? s->held
                : json_object_get(d->state, s->name);
  if (s->cur.path) {
    struct integ_cursor_opts o = {sizeof(o), s->name, s->cur.path,
                                  s->cur.format, s->pk_paths};

    cur = h->cursor_new(d->ctx, &o, saved, err);
    if (!cur)
      return err->code;
    start = h->cursor_start(cur);
    if (!start && s->cur.start) {
      char *text = NULL;

      vars = vars_for(d, s, parent, NULL, NULL, win);
      rc = vars ? render(d, s->cur.start, vars, &text, "cursor.start", s, err)
                : integ_error_set(err, INTEG_ENOMEM, "out of memory");
      json_decref(vars);
      vars = NULL;
      if (rc)
        goto out;
      start = json_string(text);
      free(text);
      if (!start) {
        rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
        goto out;
      }
    } else {
      json_incref(start);
    }
  }
  want = json_object();
  if (!want) {
    rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  if ((s->pg.token &&
       json_object_set_new(want, "token", json_string(s->pg.token))) ||
      (s->pg.has_more &&
       json_object_set_new(want, "more", json_string(s->pg.has_more)))) {
    rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  /* The children's partitions: the parent key of each record. */
  for (size_t c = 0; c < d->n; c++) {
    size_t lr = strlen(s->records);

    if (d->streams[c].parent != (int)(s - d->streams) || keys_q)
      continue;
    if (lr < 3 || strcmp(s->records + lr - 3, "[*]") ||
        d->streams[c].parent_key[0] != '$') {
      rc = integ_error_set(err, INTEG_ECONFIG,
                           "stream %s: a parent's records path must end "
                           "in [*] (it is %s)",
                           s->name, s->records);
      goto out;
    }
    if (asprintf(&keys_q, "%s%s", s->records, d->streams[c].parent_key + 1) <
            0 ||
        json_object_set_new(want, "keys", json_string(keys_q))) {
      rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
      goto out;
    }
  }
  for (;;) {
    struct integ_mapped_opts mo = {sizeof(mo), s->records, s->fields, cur,
                                   want};
    integ_request *req;
    json_t *got, *keys, *v;
    json_int_t n;
    const char *nt = NULL;
    size_t i;

    vars = vars_for(d, s, parent, start, token, win);
    if (!vars) {
      rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
      break;
    }
    req =
        build_request(d, s, vars, next_url, start, pageno, offset, token, err);
    json_decref(vars);
    vars = NULL;
    if (!req) {
      rc = err->code ? err->code : INTEG_ENOMEM;
      break;
    }
    rc = h->emit_mapped(d->ctx, req, s->name, &mo, &page, err);
    h->request_free(req);
    pages++;
    if (rc) {
      char pre[256], msg[INTEG_ERROR_MAX];
      size_t pl = (size_t)snprintf(pre, sizeof(pre), "stream %s: ", s->name);

      /* Name the stream and the page once, whatever the host said. */
      snprintf(msg, sizeof(msg), "%s",
               strncmp(err->message, pre, pl) ? err->message
                                              : err->message + pl);
      if (strncmp(msg, "page ", 5))
        integ_error_set(err, rc, "stream %s: page %lld: %s", s->name,
                        (long long)pages, msg);
      else
        integ_error_set(err, rc, "stream %s: %s", s->name, msg);
      break;
    }
    got = json_object_get(page, "fields");
    keys = json_object_get(got, "keys");
    json_array_foreach(keys, i, v)
    {
      size_t k;
      json_t *x;
      int dup = 0;

      for (size_t c = 0; c < d->n; c++) {
        struct stream *ch = &d->streams[c];

        if (ch->parent != (int)(s - d->streams))
          continue;
        dup = 0;
        json_array_foreach(ch->partitions, k, x) if (json_equal(x, v)) dup = 1;
        if (!dup && json_array_append(ch->partitions, v)) {
          rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
          goto out;
        }
      }
    }
    rc = save_state(d, s, part, cur, err);
    if (rc)
      break;
    n = json_integer_value(json_object_get(page, "records"));
    if (pages >= s->pg.max_pages)
      break;
    if (s->pg.has_more && !json_is_true(json_object_get(got, "more")))
      break;
    switch (s->pg.type) {
    case PG_NONE:
      goto out;
    case PG_PAGE:
    case PG_OFFSET:
      if (n == 0 || (s->pg.size && n < s->pg.size))
        goto out;
      pageno++;
      offset += n;
      break;
    case PG_CURSOR:
    case PG_NEXT_URL:
    case PG_LINK:
      v = s->pg.type == PG_LINK ? json_object_get(page, "next_url")
                                : json_object_get(got, "token");
      if (json_is_string(v))
        nt = json_string_value(v);
      if (!nt || !*nt)
        goto out;
      if (prev && strcmp(prev, nt) == 0) {
        rc = integ_error_set(
            err, INTEG_EHTTP,
            "stream %s: page %lld: the API gave the same "
            "%s '%s' twice in a row (it would loop "
            "forever; invalid_response)",
            s->name, (long long)pages,
            s->pg.type == PG_CURSOR ? "next token" : "next URL", nt);
        goto out;
      }
      free(prev);
      prev = strdup(nt);
      if (!prev) {
        rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
        goto out;
      }
      if (s->pg.type == PG_CURSOR) {
        free(token);
        token = strdup(nt);
      } else {
        free(next_url);
        next_url = strdup(nt);
      }
      if ((s->pg.type == PG_CURSOR && !token) ||
          (s->pg.type != PG_CURSOR && !next_url)) {
        rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
        goto out;
      }
      break;
    }
    json_decref(page);
    page = NULL;
  }
out:
  json_decref(page);
  json_decref(want);
  json_decref(vars);
  json_decref(start);
  free(token);
  free(next_url);
  free(prev);
  free(keys_q);
  h->cursor_free(cur);
  return rc;
}

/* A time from text: RFC 3339 in UTC ("2024-01-01T00:00:00Z") or a date
 * ("2024-01-01"). Returns 0, or -1 when it is neither. */
static int parse_when(const char *t, time_t *out)
{
  struct tm tm;
  const char *end;

  memset(&tm, 0, sizeof(tm));
  end = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm);
  if (end && (strcmp(end, "Z") == 0 || strcmp(end, "+00:00") == 0)) {
    *out = timegm(&tm);
    return 0;
  }
  memset(&tm, 0, sizeof(tm));
  end = strptime(t, "%Y-%m-%d", &tm);
  if (end && !*end) {
    *out = timegm(&tm);
    return 0;
  }
  return -1;
}

static void format_when(time_t t, const char *fmt, char *buf, size_t size)
{
  struct tm tm;

  gmtime_r(&t, &tm);
  /* fmt is the definition's own strftime format. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  if (!strftime(buf, size, fmt ? fmt : "%Y-%m-%dT%H:%M:%SZ", &tm))
    buf[0] = '\0';
#pragma GCC diagnostic pop
}

/* The windows of a stream, from the last completed one (the state's
 * window_end) or the start, to end or now; a state after each. */
static int pull_windows(struct decl *d, struct stream *s,
                        struct integ_error *err)
{
  json_t *st = s->held ? s->held : json_object_get(d->state, s->name);
  const char *done = json_string_value(json_object_get(st, "window_end"));
  char *text = NULL, a[64], b[64], day[16], iso[32];
  const char *win[3] = {a, b, day};
  json_t *vars = vars_for(d, s, NULL, NULL, NULL, NULL);
  time_t from = 0, to = time(NULL), t;
  int rc = 0;

  if (!vars)
    return integ_error_set(err, INTEG_ENOMEM, "out of memory");
  rc = render(d, s->win.start, vars, &text, "windows.start", s, err);
  if (!rc && parse_when(text, &from))
    rc = integ_error_set(err, INTEG_ECONFIG,
                         "stream %s: windows.start: '%s' is not a date "
                         "(2024-01-01) or an RFC 3339 time in UTC",
                         s->name, text);
  free(text);
  text = NULL;
  if (!rc && s->win.end) {
    rc = render(d, s->win.end, vars, &text, "windows.end", s, err);
    /* Empty (an optional config key left out): now. */
    if (!rc && *text && parse_when(text, &to))
      rc = integ_error_set(err, INTEG_ECONFIG,
                           "stream %s: windows.end: '%s' is not a date or "
                           "an RFC 3339 time in UTC",
                           s->name, text);
    free(text);
  }
  json_decref(vars);
  if (!rc && done && parse_when(done, &from))
    rc = integ_error_set(err, INTEG_ESTATE,
                         "stream %s: the state's window_end '%s' is not an "
                         "RFC 3339 time",
                         s->name, done);
  for (t = from; !rc && t < to; t += s->win.step) {
    time_t e = t + s->win.step < to ? t + s->win.step : to;
    json_t *slot;

    format_when(t, s->win.format, a, sizeof(a));
    format_when(e, s->win.format, b, sizeof(b));
    format_when(t, "%Y-%m-%d", day, sizeof(day));
    rc = pull(d, s, NULL, NULL, win, err);
    if (rc)
      break;
    /* The window is done: the next run starts after it. */
    format_when(e, NULL, iso, sizeof(iso));
    slot = json_pack("{s:s}", "window_end", iso);
    rc = slot ? set_state(d, s, slot, err)
              : integ_error_set(err, INTEG_ENOMEM, "out of memory");
  }
  return rc;
}

static int decl_run(void *instance, struct integ_error *err)
{
  struct decl *d = instance;
  int rc = 0;

  /* Parents first (definition order), then each child per partition. */
  for (size_t i = 0; i < d->n && !rc; i++)
    if (d->streams[i].parent < 0)
      rc = d->streams[i].win.start
               ? pull_windows(d, &d->streams[i], err)
               : pull(d, &d->streams[i], NULL, NULL, NULL, err);
  for (size_t i = 0; i < d->n && !rc; i++) {
    struct stream *s = &d->streams[i];
    json_t *v;
    size_t k;

    if (s->parent < 0)
      continue;
    json_array_foreach(s->partitions, k, v)
    {
      char *part = key_text(v);
      json_t *parent = part ? json_pack("{s:O}", s->partition, v) : NULL;

      rc = parent ? pull(d, s, parent, part, NULL, err)
                  : integ_error_set(err, INTEG_ENOMEM, "out of memory");
      json_decref(parent);
      free(part);
      if (rc)
        break;
    }
    /* The parent's last child is loaded: its state may move on now. */
    for (k = i + 1; k < d->n && d->streams[k].parent != s->parent; k++)
      ;
    if (!rc && k == d->n && d->streams[s->parent].held) {
      struct stream *p = &d->streams[s->parent];
      json_t *st = p->held;

      p->held = NULL;
      if (json_object_set_new(d->state, p->name, st))
        rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
      else
        rc = emit_state(d, err);
    }
  }
  return rc;
}

static json_t *decl_discover(void *instance, struct integ_error *err)
{
  struct decl *d = instance;
  json_t *out = json_array();

  for (size_t i = 0; out && i < d->n; i++) {
    struct stream *s = &d->streams[i];
    json_t *e = json_pack("{s:s, s:O, s:O}", "stream", s->name, "schema",
                          s->schema, "key_properties", s->pk_names);

    if (e && s->cur.field &&
        json_object_set_new(e, "replication_key", json_string(s->cur.field))) {
      json_decref(e);
      e = NULL;
    }
    if (!e || json_array_append_new(out, e)) {
      json_decref(out);
      out = NULL;
    }
  }
  if (!out)
    integ_error_set(err, INTEG_ENOMEM, "out of memory");
  return out;
}

static const struct integ_plugin declarative_plugin = {
    INTEG_PLUGIN_HEADER,
    .name = "declarative",
    .version = "0.1.0",
    .description = "Connectors written as definition files (YAML or JSON)",
    .spec = spec,
    .load = decl_load,
    .run = decl_run,
    .unload = decl_unload,
    .discover = decl_discover,
};

INTEG_PLUGIN_DEFINE(declarative_plugin)
