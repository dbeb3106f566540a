/* reply.c - planned responses of the test API server. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reply.h"
#include "util.h"

void reply_init(struct reply *r)
{
  memset(r, 0, sizeof(*r));
  r->status = 200;
  r->t.truncate_at = -1;
}

void reply_clear(struct reply *r)
{
  json_decref(r->headers);
  free(r->body);
  reply_init(r);
}

int reply_set_header(struct reply *r, const char *name, const char *value)
{
  const char *key;
  json_t *v, *s;
  void *tmp;

  if (!r->headers) {
    r->headers = json_object();
    if (!r->headers)
      return INTEG_ENOMEM;
  }
  /* Header names are case-insensitive: drop any spelling of this one. */
  json_object_foreach_safe(r->headers, tmp, key, v)
  {
    if (strcasecmp(key, name) == 0)
      json_object_del(r->headers, key);
  }
  s = json_string(value);
  if (!s || json_object_set_new(r->headers, name, s))
    return INTEG_ENOMEM;
  return 0;
}

int reply_has_header(const struct reply *r, const char *name)
{
  const char *key;
  json_t *v;

  if (!r->headers)
    return 0;
  json_object_foreach(r->headers, key, v)
  {
    if (strcasecmp(key, name) == 0)
      return 1;
  }
  return 0;
}

/* Significant digits (15 to 17) that print every real in v so it reads
 * back the same: 0.1 stays "0.1" rather than "0.10000000000000001". */
static int real_digits(json_t *v)
{
  char buf[40];
  const char *key;
  json_t *x;
  size_t i;
  double d;
  int p, best = 15, q;

  switch (json_typeof(v)) {
  case JSON_REAL:
    d = json_real_value(v);
    for (p = 15; p < 17; p++) {
      snprintf(buf, sizeof(buf), "%.*g", p, d);
      if (strtod(buf, NULL) == d)
        return p;
    }
    return 17;
  case JSON_ARRAY:
    json_array_foreach(v, i, x)
    {
      q = real_digits(x);
      best = q > best ? q : best;
    }
    return best;
  case JSON_OBJECT:
    json_object_foreach(v, key, x)
    {
      q = real_digits(x);
      best = q > best ? q : best;
    }
    return best;
  default:
    return best;
  }
}

int reply_set_json(struct reply *r, json_t *v, size_t flags)
{
  char *text;

  text = json_dumps(v, flags | JSON_ENCODE_ANY |
                           JSON_REAL_PRECISION(real_digits(v)));
  if (!text)
    return INTEG_ENOMEM;
  free(r->body);
  r->body = (unsigned char *)text;
  r->len = strlen(text);
  if (!reply_has_header(r, "Content-Type"))
    return reply_set_header(r, "Content-Type", "application/json");
  return 0;
}

int reply_set_error(struct reply *r, int status, const char *message)
{
  json_t *doc;
  int rc;

  reply_clear(r);
  r->status = status;
  doc = json_pack("{s:s}", "error", message);
  if (!doc)
    return INTEG_ENOMEM;
  rc = reply_set_json(r, doc, JSON_COMPACT);
  json_decref(doc);
  return rc;
}

static const char *const transport_keys[] = {
    "delay_ms", "chunk_delay_ms", "chunk_size", "chunked", "truncate_at",
    "gzip",     "close",          "headers",    NULL};

int reply_is_transport_key(const char *key)
{
  size_t i;

  for (i = 0; transport_keys[i]; i++)
    if (strcmp(key, transport_keys[i]) == 0)
      return 1;
  return 0;
}

/* Read spec[key] as an integer in [0, max] into *out; absent leaves it. */
static int get_uint(json_t *spec, const char *where, const char *key,
                    json_int_t max, json_int_t *out, struct integ_error *err)
{
  json_t *v = json_object_get(spec, key);

  if (!v)
    return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0 ||
      json_integer_value(v) > max)
    return util_error_set(err, INTEG_ECONFIG,
                          "%s.%s: expected an integer from 0 to %lld", where,
                          key, (long long)max);
  *out = json_integer_value(v);
  return 0;
}

static int get_bool(json_t *spec, const char *where, const char *key, int *out,
                    struct integ_error *err)
{
  json_t *v = json_object_get(spec, key);

  if (!v)
    return 0;
  if (!json_is_boolean(v))
    return util_error_set(err, INTEG_ECONFIG, "%s.%s: expected true or false",
                          where, key);
  *out = json_is_true(v);
  return 0;
}

int reply_parse_transport(json_t *spec, const char *where, struct transport *t,
                          json_t **headers, struct integ_error *err)
{
  json_int_t n;
  json_t *v, *h;
  const char *key;
  int rc;

  memset(t, 0, sizeof(*t));
  t->truncate_at = -1;
  *headers = NULL;

  n = 0;
  if ((rc = get_uint(spec, where, "delay_ms", 3600000, &n, err)))
    return rc;
  t->delay_ms = (unsigned)n;
  n = 0;
  if ((rc = get_uint(spec, where, "chunk_delay_ms", 3600000, &n, err)))
    return rc;
  t->chunk_delay_ms = (unsigned)n;
  n = 0;
  if ((rc = get_uint(spec, where, "chunk_size", 1 << 24, &n, err)))
    return rc;
  t->chunk_size = (size_t)n;
  n = -1;
  if ((rc = get_uint(spec, where, "truncate_at", INT64_MAX, &n, err)))
    return rc;
  t->truncate_at = n;
  if ((rc = get_bool(spec, where, "chunked", &t->chunked, err)) ||
      (rc = get_bool(spec, where, "close", &t->close, err)))
    return rc;

  v = json_object_get(spec, "gzip");
  if (json_is_boolean(v))
    t->gzip = json_is_true(v);
  else if (json_is_string(v) && strcmp(json_string_value(v), "auto") == 0)
    t->gzip = 2;
  else if (v)
    return util_error_set(err, INTEG_ECONFIG,
                          "%s.gzip: expected true, false or \"auto\"", where);

  v = json_object_get(spec, "headers");
  if (!v)
    return 0;
  if (!json_is_object(v))
    return util_error_set(err, INTEG_ECONFIG,
                          "%s.headers: expected an object of strings", where);
  json_object_foreach(v, key, h)
  {
    if (!json_is_string(h) || !*key || strpbrk(key, ": \r\n") ||
        strpbrk(json_string_value(h), "\r\n"))
      return util_error_set(err, INTEG_ECONFIG,
                            "%s.headers.%s: expected a header name and a "
                            "one-line string value",
                            where, key);
  }
  *headers = json_deep_copy(v);
  if (!*headers)
    return util_error_set(err, INTEG_ENOMEM, "%s: out of memory", where);
  return 0;
}
