/* cursor.c - the cursor-boundary helper (see cursor.h). */
#include "config.h" /* _GNU_SOURCE: strptime, timegm */

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "cursor.h"
#include "error.h"
#include "jscan.h"
#include "jsonpath.h"
#include "log.h"

struct cursor {
  char *stream, *path, *format; /* owned; format NULL: RFC 3339 */
  struct jsonpath *jp;          /* the cursor value */
  struct jsonpath **pk;         /* npk of them */
  size_t npk;
  /* The member names of paths that are just "$.name" (owned; NULL for
   * others): looked up directly, a record at a time being the hot path. */
  char *name, **pk_name;
  json_t *start, *start_keys; /* owned: where the run resumed from */
  int64_t start_n;
  json_t *value, *keys; /* owned: where it stands now */
  int64_t value_n;
  uint64_t backwards;
  /* RFC 3339 cursors: the date and hour ("YYYY-MM-DDTHH:", 14 bytes) of
   * the last canonical value parsed and that hour's start in ms, so that
   * the next "...MM:SSZ" of the same hour costs two digit pairs. */
  char memo[14];
  int memo_ok;
  int64_t memo_hour;
  /* A page observed as bytes, until cursor_page_commit: the newest value
   * (when newer than value) and the keys of the records at the value it
   * will stand at, npk spans a record. */
  struct {
    int on;          /* a value newer than value was seen */
    int64_t n;       /* its number */
    size_t off, len; /* its bytes in the page */
    struct jscan_span *keys;
    size_t nkeys, cap; /* records (nkeys * npk spans) */
    uint64_t backwards;
  } pg;
};

void cursor_free(struct cursor *c)
{
  if (!c)
    return;
  free(c->stream);
  free(c->path);
  free(c->format);
  jsonpath_free(c->jp);
  for (size_t i = 0; c->pk && i < c->npk; i++) {
    jsonpath_free(c->pk[i]);
    if (c->pk_name)
      free(c->pk_name[i]);
  }
  free(c->pk);
  free(c->pk_name);
  free(c->name);
  json_decref(c->start);
  json_decref(c->start_keys);
  json_decref(c->value);
  json_decref(c->keys);
  free(c->pg.keys);
  free(c);
}

int cursor_check_format(const char *f, struct integ_error *err)
{
  for (size_t i = 0; f[i]; i++) {
    if (f[i] != '%')
      continue;
    if (!f[i + 1] || !strchr("aAbBdDeHIjmMnpRStTyYzZ%", f[i + 1]))
      return error_set(err, INTEG_EINVAL,
                       "character %zu: '%%%c' is not a strptime conversion "
                       "(use %%Y %%m %%d %%H %%M %%S %%z, ...)",
                       i + 1, f[i + 1] ? f[i + 1] : ' ');
    i++;
  }
  return 0;
}

int cursor_parse(const char *format, json_t *v, int64_t *out,
                 struct integ_error *err)
{
  const char *s = json_string_value(v);
  int64_t ms;

  if (!format || strcmp(format, "rfc3339") == 0) {
    if (!s)
      return error_set(err, INTEG_EINVAL, "expected an RFC 3339 string");
    if (clock_parse_rfc3339(s, strlen(s), &ms, err))
      return INTEG_EINVAL;
    *out = ms * 1000;
    return 0;
  }
  if (strcmp(format, "epoch_s") == 0 || strcmp(format, "epoch_ms") == 0 ||
      strcmp(format, "number") == 0) {
    int64_t mul = strcmp(format, "epoch_s") == 0    ? 1000000
                  : strcmp(format, "epoch_ms") == 0 ? 1000
                                                    : 1;
    char *end = NULL;

    if (json_is_integer(v)) {
      *out = (int64_t)json_integer_value(v) * mul;
      return 0;
    }
    if (json_is_real(v)) {
      *out = (int64_t)(json_real_value(v) * (double)mul);
      return 0;
    }
    if (s && *s) {
      long long n = strtoll(s, &end, 10);

      if (*end == '\0') {
        *out = (int64_t)n * mul;
        return 0;
      }
    }
    return error_set(err, INTEG_EINVAL, "expected a number (%s)", format);
  }
  {
    struct tm tm;
    const char *end;

    if (!s)
      return error_set(err, INTEG_EINVAL, "expected a string in format '%s'",
                       format);
    memset(&tm, 0, sizeof(tm));
    end = strptime(s, format, &tm);
    if (!end || *end)
      return error_set(err, INTEG_EINVAL, "does not match the format '%s'%s%s",
                       format, end ? " at: " : "", end ? end : "");
    *out = (int64_t)timegm(&tm) * 1000000;
    return 0;
  }
}

/* *name: a copy of NAME when q is "$.NAME" with NAME ASCII letters,
 * digits and '_' (not first a digit), else NULL. Returns 0 or -1 (out of
 * memory). */
static int member_name(const char *q, char **name)
{
  const char *p = q + 2;

  *name = NULL;
  if (q[0] != '$' || q[1] != '.' || !*p || (*p >= '0' && *p <= '9'))
    return 0;
  for (; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9') || *p == '_'))
      return 0;
  *name = strdup(q + 2);
  return *name ? 0 : -1;
}

int cursor_new(const struct cursor_opts *o, json_t *state, struct cursor **out,
               struct integ_error *err)
{
  struct cursor *c = calloc(1, sizeof(*c));
  json_t *v, *keys;
  size_t i;
  int rc = 0;

  *out = NULL;
  if (!c)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  c->stream = strdup(o->stream ? o->stream : "");
  c->path = strdup(o->path ? o->path : "");
  c->keys = json_array();
  if (!c->stream || !c->path || !c->keys ||
      (o->format && !(c->format = strdup(o->format)))) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  if (c->format && strcmp(c->format, "rfc3339") &&
      strcmp(c->format, "epoch_s") && strcmp(c->format, "epoch_ms") &&
      strcmp(c->format, "number") &&
      (rc = cursor_check_format(c->format, err)))
    goto out;
  rc = jsonpath_compile(c->path, strlen(c->path), &c->jp, err);
  if (rc)
    goto out;
  if (member_name(c->path, &c->name)) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  c->npk = json_array_size(o->primary_key);
  if (c->npk && (!(c->pk = calloc(c->npk, sizeof(*c->pk))) ||
                 !(c->pk_name = calloc(c->npk, sizeof(*c->pk_name))))) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  json_array_foreach(o->primary_key, i, v)
  {
    const char *q = json_string_value(v);

    if (!q) {
      rc = error_set(err, INTEG_EINVAL,
                     "stream %s: primary_key[%zu] is not a JSONPath string",
                     c->stream, i);
      goto out;
    }
    rc = jsonpath_compile(q, strlen(q), &c->pk[i], err);
    if (rc)
      goto out;
    if (member_name(q, &c->pk_name[i])) {
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
      goto out;
    }
  }
  if (!state)
    goto out;
  v = json_object_get(state, "cursor");
  keys = json_object_get(state, "keys");
  if (!json_is_object(state) || !v || (keys && !json_is_array(keys))) {
    rc = error_set(err, INTEG_EINVAL,
                   "stream %s: the state is not {\"cursor\": VALUE, "
                   "\"keys\": [...]}",
                   c->stream);
    goto out;
  }
  if (json_is_null(v))
    goto out;
  rc = cursor_parse(c->format, v, &c->start_n, err);
  if (rc) {
    rc = error_set(err, INTEG_EINVAL,
                   "stream %s: the state's cursor does not parse: %s",
                   c->stream, err->message);
    goto out;
  }
  c->start = json_incref(v);
  c->start_keys = keys ? json_deep_copy(keys) : json_array();
  c->value = json_incref(v);
  c->value_n = c->start_n;
  json_decref(c->keys);
  c->keys = keys ? json_deep_copy(keys) : json_array();
  if (!c->start_keys || !c->keys)
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
out:
  if (rc) {
    cursor_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

/* Two digits at p, or -1. */
static int two(const char *p)
{
  if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
    return -1;
  return (p[0] - '0') * 10 + (p[1] - '0');
}

/* cursor_parse for c's format, with the RFC 3339 hour memo: a
 * "YYYY-MM-DDTHH:MM:SSZ" value of the memo's hour is that hour plus
 * MM:SS, which is what clock_parse_rfc3339 computes for it (minutes and
 * seconds within 0-59 add linearly; anything else is parsed). */
static int is_rfc(const struct cursor *c)
{
  return !c->format || strcmp(c->format, "rfc3339") == 0;
}

/* memcmp(a, b, 14) == 0 in two loads a side, without a call. */
static inline int same14(const char *a, const char *b)
{
  uint64_t a0, a1, b0, b1;

  memcpy(&a0, a, 8);
  memcpy(&a1, a + 6, 8);
  memcpy(&b0, b, 8);
  memcpy(&b1, b + 6, 8);
  return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

/* An RFC 3339 cursor's string value s[0..len) (no NUL inside). */
static int parse_rfc(struct cursor *c, const char *s, size_t len, int64_t *n,
                     struct integ_error *err)
{
  int mm = -1, ss = -1;
  int64_t ms;

  if (len == 20 && s[13] == ':' && s[16] == ':' && s[19] == 'Z') {
    mm = two(s + 14);
    ss = two(s + 17);
    if (mm > 59 || ss > 59)
      mm = ss = -1;
  }
  if (mm >= 0 && ss >= 0 && c->memo_ok && same14(s, c->memo)) {
    *n = (c->memo_hour + (int64_t)(mm * 60 + ss) * 1000) * 1000;
    return 0;
  }
  if (clock_parse_rfc3339(s, len, &ms, err))
    return INTEG_EINVAL;
  *n = ms * 1000;
  if (mm >= 0 && ss >= 0) {
    memcpy(c->memo, s, 14);
    c->memo_hour = ms - (int64_t)(mm * 60 + ss) * 1000;
    c->memo_ok = 1;
  }
  return 0;
}

static int parse_value(struct cursor *c, json_t *v, int64_t *n,
                       struct integ_error *err)
{
  const char *s = json_string_value(v);

  /* As cursor_parse, which reads the string up to a NUL. */
  if (s && is_rfc(c))
    return parse_rfc(c, s, strlen(s), n, err);
  return cursor_parse(c->format, v, n, err) ? INTEG_EINVAL : 0;
}

/* The first value query q selects in rec, borrowed, or NULL. */
static json_t *first(const struct jsonpath *q, const char *name, json_t *rec,
                     int *nomem)
{
  struct jsonpath_nodes n = {0, NULL, NULL};
  struct integ_error e = {0, ""};
  json_t *v = NULL;

  if (name)
    return json_object_get(rec, name); /* what "$.name" selects */
  if (jsonpath_eval(q, rec, 0, &n, &e)) {
    *nomem = e.code == INTEG_ENOMEM;
    return NULL;
  }
  if (n.n)
    v = n.values[0]; /* borrowed from rec */
  jsonpath_nodes_free(&n);
  return v;
}

static int has_key(json_t *keys, json_t *k)
{
  json_t *v;
  size_t i;

  json_array_foreach(keys, i, v) if (json_equal(v, k)) return 1;
  return 0;
}

/* Record's key, a new array of the key values (NULL without keys). */
static int make_key(const struct cursor *c, json_t *record, json_t **key,
                    struct integ_error *err)
{
  int nomem = 0;

  *key = NULL;
  if (!c->npk)
    return 0;
  *key = json_array();
  for (size_t i = 0; *key && i < c->npk; i++) {
    json_t *k = first(c->pk[i], c->pk_name[i], record, &nomem);

    if (json_array_append(*key, k ? k : json_null())) {
      json_decref(*key);
      *key = NULL;
    }
  }
  if (!*key || nomem) {
    json_decref(*key);
    *key = NULL;
    return error_set(err, INTEG_ENOMEM, "out of memory");
  }
  return 0;
}

/* The error for a cursor value v (NULL when unknown) that does not parse
 * (why). */
static int unparsable(const struct cursor *c, json_t *v,
                      const struct integ_error *why, struct integ_error *err)
{
  char *text = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
  int rc =
      error_set(err, INTEG_EINVAL,
                "stream %s: the cursor value %s at %s cannot be parsed: "
                "%s",
                c->stream, text ? text : "(value)", c->path, why->message);

  free(text);
  return rc;
}

int cursor_observe(struct cursor *c, json_t *record, int *keep,
                   struct integ_error *err)
{
  struct integ_error perr = {0, ""};
  json_t *v, *key = NULL;
  int nomem = 0, rc = 0;
  int64_t n;

  *keep = 1;
  v = first(c->jp, c->name, record, &nomem);
  if (nomem)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  if (!v || json_is_null(v))
    return error_set(err, INTEG_EINVAL,
                     "stream %s: a record has no cursor value at %s",
                     c->stream, c->path);
  if (parse_value(c, v, &n, &perr))
    return unparsable(c, v, &perr, err);
  if (c->start && n == c->start_n) {
    if ((rc = make_key(c, record, &key, err)))
      return rc;
    if (key && has_key(c->start_keys, key)) {
      *keep = 0;
      goto out;
    }
  }
  if (c->value && n < c->value_n) {
    if (!c->backwards++)
      log_warn("stream %s: a cursor value went backwards (%s older than "
               "the cursor): the record is written, the state is not "
               "moved back",
               c->stream, c->path);
    goto out;
  }
  if (!c->value || n > c->value_n) {
    json_t *k0 = json_array_get(c->keys, 0);

    /* The hot path (values rising record by record): what only this
     * cursor holds is rewritten in place rather than made anew. */
    if (c->value && c->value->refcount == 1 && json_is_string(c->value) &&
        json_is_string(v)) {
      if (json_string_setn_nocheck(c->value, json_string_value(v),
                                   json_string_length(v))) {
        rc = error_set(err, INTEG_ENOMEM, "out of memory");
        goto out;
      }
    } else {
      json_decref(c->value);
      c->value = json_deep_copy(v);
    }
    c->value_n = n;
    if (c->value && !key && c->npk && json_array_size(c->keys) == 1 &&
        c->keys->refcount == 1 && k0->refcount == 1 &&
        json_array_size(k0) == c->npk) {
      for (size_t i = 0; i < c->npk; i++) {
        json_t *k = first(c->pk[i], c->pk_name[i], record, &nomem);

        if (nomem || json_array_set(k0, i, k ? k : json_null())) {
          rc = error_set(err, INTEG_ENOMEM, "out of memory");
          goto out;
        }
      }
      goto out;
    }
    json_array_clear(c->keys);
  }
  if (!key && (rc = make_key(c, record, &key, err)))
    goto out;
  if (!c->value ||
      (key && !has_key(c->keys, key) && json_array_append(c->keys, key)))
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
out:
  json_decref(key);
  return rc;
}

/* ---- a page observed as bytes ---- */

void cursor_page_begin(struct cursor *c)
{
  c->pg.on = 0;
  c->pg.nkeys = 0;
  c->pg.backwards = 0;
}

/* The value at span (a value's bytes in page) as a new json_t; what and
 * path name it in an error. */
static int span_json(const struct cursor *c, const char *page,
                     const struct jscan_span *sp, const char *what,
                     const char *path, json_t **out, struct integ_error *err)
{
  int rc;

  if (!sp->len) {
    *out = json_null();
    return 0;
  }
  rc = jscan_value(page + sp->off, sp->len, out);
  if (rc == INTEG_EINVAL)
    return error_set(err, INTEG_EINVAL,
                     "stream %s: byte %zu: the %s %s%s is an integer beyond "
                     "int64, which the cursor cannot hold (invalid_response)",
                     c->stream, sp->off, what, path[0] == '$' ? "" : "$.",
                     path);
  if (rc)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  return 0;
}

/* A record's key from its key spans (a new array). */
static int span_key(const struct cursor *c, const char *page,
                    const struct jscan_span *ks, json_t **key,
                    struct integ_error *err)
{
  *key = json_array();
  if (!*key)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  for (size_t i = 0; i < c->npk; i++) {
    json_t *v;
    int rc = span_json(c, page, &ks[i], "primary key", c->pk_name[i], &v, err);

    if (!rc && json_array_append_new(*key, v))
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
    if (rc) {
      json_decref(*key);
      *key = NULL;
      return rc;
    }
  }
  return 0;
}

int cursor_page_observe(struct cursor *c, const char *page,
                        const struct jscan_span *spans, int *keep,
                        struct integ_error *err)
{
  const struct jscan_span *v = &spans[0];
  const char *t = page + v->off;
  struct integ_error perr; /* not zeroed whole: a record at a time */
  int64_t n, at;
  int rc, have;

  perr.code = 0;
  perr.message[0] = '\0';
  *keep = 1;
  if (!v->len || (v->len == 4 && !memcmp(t, "null", 4)))
    return error_set(err, INTEG_EINVAL,
                     "stream %s: a record has no cursor value at %s",
                     c->stream, c->path);
  /* The common value, a string without escapes, is read in place. */
  if (t[0] == '"' && is_rfc(c) && !memchr(t, '\\', v->len))
    rc = parse_rfc(c, t + 1, v->len - 2, &n, &perr);
  else {
    json_t *j;

    if ((rc = span_json(c, page, v, "cursor value", c->path, &j, err)))
      return rc;
    rc = parse_value(c, j, &n, &perr);
    json_decref(j);
  }
  if (rc) {
    struct integ_error ignored = {0, ""};
    json_t *j = NULL;

    span_json(c, page, v, "cursor value", c->path, &j, &ignored);
    rc = unparsable(c, j, &perr, err);
    json_decref(j);
    return rc;
  }
  if (c->start && n == c->start_n) {
    json_t *key = NULL;
    int seen;

    if (c->npk && (rc = span_key(c, page, spans + 1, &key, err)))
      return rc;
    seen = key && has_key(c->start_keys, key);
    json_decref(key);
    if (seen) {
      *keep = 0;
      return 0;
    }
  }
  have = c->pg.on || c->value;
  at = c->pg.on ? c->pg.n : c->value_n;
  if (have && n < at) {
    c->pg.backwards++;
    return 0;
  }
  if (!have || n > at) {
    c->pg.on = 1;
    c->pg.n = n;
    c->pg.off = v->off;
    c->pg.len = v->len;
    c->pg.nkeys = 0;
  }
  if (!c->npk)
    return 0;
  /* A key that no json_t holds fails now, not when the page is written. */
  for (size_t i = 1; i <= c->npk; i++) {
    const char *k = page + spans[i].off;
    json_t *j;

    if (spans[i].len &&
        (*k == '{' || *k == '[' ||
         (spans[i].len > 18 && (*k == '-' || (*k >= '0' && *k <= '9'))))) {
      if ((rc = span_json(c, page, &spans[i], "primary key", c->pk_name[i - 1],
                          &j, err)))
        return rc;
      json_decref(j);
    }
  }
  if (c->pg.nkeys == c->pg.cap) {
    size_t cap = c->pg.cap ? c->pg.cap * 2 : 16;
    struct jscan_span *k = realloc(c->pg.keys, cap * c->npk * sizeof(*k));

    if (!k)
      return error_set(err, INTEG_ENOMEM, "out of memory");
    c->pg.keys = k;
    c->pg.cap = cap;
  }
  memcpy(c->pg.keys + c->pg.nkeys++ * c->npk, spans + 1,
         c->npk * sizeof(*spans));
  return 0;
}

int cursor_page_commit(struct cursor *c, const char *page,
                       struct integ_error *err)
{
  json_t *v = NULL, *add = json_array(), *base = c->pg.on ? NULL : c->keys;
  int rc = 0;

  /* Everything made first, then swapped in: a failure changes nothing. */
  if (!add) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  if (c->pg.on) {
    struct jscan_span sp = {c->pg.off, c->pg.len, 0, 0};

    if ((rc = span_json(c, page, &sp, "cursor value", c->path, &v, err)))
      goto out;
  }
  for (size_t i = 0; i < c->pg.nkeys; i++) {
    json_t *key;

    if ((rc = span_key(c, page, c->pg.keys + i * c->npk, &key, err)))
      goto out;
    if (!(base && has_key(base, key)) && !has_key(add, key) &&
        json_array_append(add, key))
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
    json_decref(key);
    if (rc)
      goto out;
  }
  if (c->pg.on) {
    json_decref(c->value);
    c->value = v;
    v = NULL;
    c->value_n = c->pg.n;
    json_decref(c->keys);
    c->keys = add;
    add = NULL;
  } else if (json_array_size(add) && json_array_extend(c->keys, add)) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  if (c->pg.backwards) {
    if (!c->backwards)
      log_warn("stream %s: a cursor value went backwards (%s older than "
               "the cursor): the record is written, the state is not "
               "moved back",
               c->stream, c->path);
    c->backwards += c->pg.backwards;
  }
out:
  json_decref(v);
  json_decref(add);
  cursor_page_begin(c);
  return rc;
}

int cursor_snapshot(const struct cursor *c, struct cursor_snap *snap)
{
  snap->value = c->value ? json_deep_copy(c->value) : NULL;
  snap->keys = json_deep_copy(c->keys);
  snap->value_n = c->value_n;
  snap->backwards = c->backwards;
  if ((c->value && !snap->value) || !snap->keys) {
    cursor_snap_free(snap);
    return INTEG_ENOMEM;
  }
  return 0;
}

void cursor_rollback(struct cursor *c, struct cursor_snap *snap)
{
  json_decref(c->value);
  json_decref(c->keys);
  c->value = snap->value;
  c->keys = snap->keys;
  c->value_n = snap->value_n;
  c->backwards = snap->backwards;
  snap->value = snap->keys = NULL;
}

void cursor_snap_free(struct cursor_snap *snap)
{
  json_decref(snap->value);
  json_decref(snap->keys);
  snap->value = snap->keys = NULL;
}

int cursor_members(const struct cursor *c, const char **name,
                   const char *const **pk, size_t *npk)
{
  *name = c->name;
  *pk = (const char *const *)c->pk_name;
  *npk = c->npk;
  if (!c->name)
    return 0;
  for (size_t i = 0; i < c->npk; i++)
    if (!c->pk_name || !c->pk_name[i])
      return 0;
  return 1;
}

json_t *cursor_state(const struct cursor *c, int *nomem)
{
  json_t *s;

  *nomem = 0;
  if (!c->value)
    return NULL;
  s = json_pack("{s:O, s:O}", "cursor", c->value, "keys", c->keys);
  *nomem = !s;
  return s;
}

json_t *cursor_start(const struct cursor *c)
{
  return c->start;
}

json_t *cursor_value(const struct cursor *c)
{
  return c->value;
}

uint64_t cursor_backwards(const struct cursor *c)
{
  return c->backwards;
}
