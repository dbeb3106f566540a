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
#include "http.h"
#include "log.h"

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

int cassette_load(const char *path, struct cassette **out,
                  struct integ_error *err)
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
  c->exchanges = json_array();
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
    json_array_append_new(c->exchanges, ex);
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

void cassette_append(struct cassette *c, const char *method, const char *url,
                     json_t *req_headers, const char *body, size_t body_len,
                     long status, const struct http_header *headers,
                     size_t n_headers, const char *resp_body, size_t resp_len)
{
  char *safe = http_redact_url(url, c->secret_params);
  json_t *hs = json_array(), *ex;

  if (!c->out)
    goto out;
  for (size_t i = 0; i < n_headers && hs; i++)
    json_array_append_new(hs, json_pack("[s, s]", headers[i].name,
                                        http_header_is_secret(headers[i].name)
                                            ? "REDACTED"
                                            : headers[i].value));
  ex = json_pack("{s:{s:s, s:s?, s:O?, s:s%}, s:{s:I, s:o, s:s%}}", "request",
                 "method", method, "url", safe, "headers", req_headers, "body",
                 body ? body : "", body_len, "response", "status",
                 (json_int_t)status, "headers", hs, "body",
                 resp_body ? resp_body : "", resp_len);
  hs = NULL; /* stolen by "o", even on failure */
  if (!ex || json_dumpf(ex, c->out, JSON_COMPACT) || fputc('\n', c->out) < 0 ||
      fflush(c->out)) {
    log_error("cannot write the cassette (%s): recording stops here",
              ex ? strerror(errno) : "a body is not valid UTF-8");
    fclose(c->out);
    c->out = NULL;
  }
  json_decref(ex);
out:
  json_decref(hs);
  free(safe);
}

json_t *cassette_match(struct cassette *c, const char *method, const char *url,
                       const char *body, size_t body_len)
{
  char *safe = http_redact_url(url, c->secret_params);
  json_t *ex;
  size_t i;

  c->last = NULL;
  json_array_foreach(c->exchanges, i, ex)
  {
    json_t *req = json_object_get(ex, "request");
    json_t *b = json_object_get(req, "body");

    if (c->used[i] || !safe ||
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
  return c->last;
}

const char *cassette_body(struct cassette *c, size_t *len)
{
  json_t *b = json_object_get(c->last, "body");

  *len = json_string_length(b);
  return json_string_value(b) ? json_string_value(b) : "";
}
