/* cassette.c - record HTTP exchanges and replay them. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cassette.h"
#include "error.h"
#include "log.h"
#include "secrets.h"

struct cassette {
  FILE *out;                        /* recording */
  const char *const *secret_params; /* borrowed */
  json_t *exchanges;                /* replay: array of exchanges */
  unsigned char *used;              /* replay: one flag per exchange */
  json_t *last;                     /* replay: last matched response */
};

int cassette_create(const char *path, const char *const *secret_params,
                    struct cassette **out, struct integ_error *err)
{
  struct cassette *c = calloc(1, sizeof(*c));
  int fd;

  *out = NULL;
  if (!c)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || !(c->out = fdopen(fd, "w"))) {
    error_set(err, INTEG_EIO, "%s: cannot create cassette: %s", path,
              strerror(errno));
    if (fd >= 0)
      close(fd);
    free(c);
    return INTEG_EIO;
  }
  c->secret_params = secret_params;
  *out = c;
  return 0;
}

int cassette_load(const char *path, const char *const *secret_params,
                  struct cassette **out, struct integ_error *err)
{
  struct cassette *c = calloc(1, sizeof(*c));
  FILE *f = fopen(path, "r");
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  long lineno = 0;
  int rc = 0;

  *out = NULL;
  if (!c || !f) {
    rc = c ? error_set(err, INTEG_ECONFIG, "%s: cannot read cassette: %s",
                       path, strerror(errno))
           : error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  c->secret_params = secret_params;
  c->exchanges = json_array();
  if (!c->exchanges) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  while ((len = getline(&line, &cap, f)) > 0) {
    json_error_t jerr;
    json_t *ex;

    lineno++;
    if (len == 1 && line[0] == '\n')
      continue;
    ex = json_loadb(line, (size_t)len, 0, &jerr);
    if (!json_is_object(json_object_get(ex, "request")) ||
        !json_is_object(json_object_get(ex, "response"))) {
      rc = error_set(err, INTEG_ECONFIG,
                     "%s:%ld:%d: not a cassette exchange: %s", path, lineno,
                     ex ? 1 : jerr.column,
                     ex ? "expected {\"request\", \"response\"}" : jerr.text);
      json_decref(ex);
      goto out;
    }
    if (json_array_append_new(c->exchanges, ex)) {
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
      goto out;
    }
  }
  c->used = calloc(json_array_size(c->exchanges) + 1, 1);
  if (!c->used)
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
out:
  free(line);
  if (f)
    fclose(f);
  if (rc) {
    cassette_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

void cassette_free(struct cassette *c)
{
  if (!c)
    return;
  if (c->out)
    fclose(c->out);
  json_decref(c->exchanges);
  free(c->used);
  free(c);
}

/* A scrubbed copy of len bytes as a JSON string; NULL when out of memory
 * or not UTF-8. */
static json_t *scrubbed_string(const char *text, size_t len)
{
  size_t n;
  char *clean = secrets_scrubn(text ? text : "", text ? len : 0, &n);
  json_t *v = clean ? json_stringn(clean, n) : NULL;

  free(clean);
  return v;
}

/* Header value as written: secret ones by name, the rest scrubbed. */
static json_t *header_value(const char *name, const char *value)
{
  if (secrets_header_is_secret(name))
    return json_string(SECRETS_URL_MARK);
  return scrubbed_string(value, strlen(value));
}

static void stop(struct cassette *c, const char *why)
{
  log_error("cannot write the cassette (%s): recording stops here", why);
  fclose(c->out);
  c->out = NULL;
}

void cassette_append(struct cassette *c, const char *method, const char *url,
                     json_t *req_headers, const char *body, size_t body_len,
                     long status, json_t *resp_headers, const char *resp_body,
                     size_t resp_len)
{
  json_t *rq = json_object(), *rs = json_array(), *ex = NULL, *v;
  char *safe = secrets_redact_url(url, c->secret_params);
  const char *k;
  size_t i;
  int bad = !rq || !rs || !safe || !req_headers || !resp_headers;

  if (!c->out)
    goto out;
  json_object_foreach(req_headers, k, v)
  {
    if (bad)
      break;
    bad = !json_is_string(v) ||
          json_object_set_new(rq, k, header_value(k, json_string_value(v)));
  }
  json_array_foreach(resp_headers, i, v)
  {
    const char *n = json_string_value(json_array_get(v, 0));
    const char *val = json_string_value(json_array_get(v, 1));

    if (bad)
      break;
    bad = !n || !val ||
          json_array_append_new(rs,
                                json_pack("[s, o]", n, header_value(n, val)));
  }
  if (bad) {
    stop(c, "out of memory");
    goto out;
  }
  ex = json_pack("{s:{s:s, s:s, s:O, s:o}, s:{s:I, s:O, s:o}}", "request",
                 "method", method, "url", safe, "headers", rq, "body",
                 scrubbed_string(body, body_len), "response", "status",
                 (json_int_t)status, "headers", rs, "body",
                 scrubbed_string(resp_body, resp_len));
  if (!ex) {
    stop(c, "out of memory, or a body is not valid UTF-8");
    goto out;
  }
  if (json_dumpf(ex, c->out, JSON_COMPACT) || fputc('\n', c->out) < 0 ||
      fflush(c->out))
    stop(c, strerror(errno));
out:
  json_decref(ex);
  json_decref(rq);
  json_decref(rs);
  free(safe);
}

json_t *cassette_match(struct cassette *c, const char *method, const char *url,
                       const char *body, size_t body_len)
{
  char *safe = secrets_redact_url(url, c->secret_params);
  char *sbody =
      secrets_scrubn(body ? body : "", body ? body_len : 0, &body_len);
  json_t *ex;
  size_t i;

  /* Compared as recorded: redacted and scrubbed. */
  body = sbody;
  c->last = NULL;
  json_array_foreach(c->exchanges, i, ex)
  {
    json_t *req = json_object_get(ex, "request");
    json_t *b = json_object_get(req, "body");

    if (c->used[i] || !safe || !body ||
        strcmp(json_string_value(json_object_get(req, "method")) ?: "",
               method) != 0 ||
        strcmp(json_string_value(json_object_get(req, "url")) ?: "", safe) !=
            0 ||
        json_string_length(b) != body_len ||
        (body_len && memcmp(json_string_value(b), body, body_len) != 0))
      continue;
    c->used[i] = 1;
    c->last = json_object_get(ex, "response");
    break;
  }
  free(safe);
  free(sbody);
  return c->last;
}

const char *cassette_body(struct cassette *c, size_t *len)
{
  json_t *b = json_object_get(c->last, "body");

  *len = json_string_length(b);
  return json_string_value(b) ? json_string_value(b) : "";
}
