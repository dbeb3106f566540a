/* httpprobe.c - a test plugin that sends the requests its config lists
 * through the host's HTTP service and emits one "probe" record for each
 * outcome, so the tests can drive http_do and emit_batch from the real
 * binary:
 *   {"requests": [{"method": "GET", "url": "...", "query": {...},
 *                  "headers": {...}, "json": ..., "form": {...},
 *                  "expect_json": true, "post_safe": true,
 *                  "batch": {"stream": "s", "records": "$.data[*]",
 *                            "fields": {...}},
 *                  "sleep_ms": 0,
 *                  "parse": {"stream": "s", "records": "$.data[*]"}}],
 *    "quiet": false, "declare_auth": {...}}
 * "parse" does what emit_batch does, in the plugin: http_do, parse,
 * select with JSONPath, emit_record each (for the benchmark). "quiet"
 * emits no probe records. "declare_auth" is handed to the host's
 * auth_declare at load (ABI 0.4).
 *    "fail_on_error": false}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <integ/plugin.h>

struct probe {
  const struct integ_host *h;
  integ_ctx *ctx;
  json_t *config;
};

static int p_load(const struct integ_host *host, integ_ctx *ctx,
                  json_t *config, json_t *state, void **instance,
                  struct integ_error *err)
{
  struct probe *p = calloc(1, sizeof(*p));

  (void)state;
  if (!p)
    return integ_error_set(err, INTEG_ENOMEM, "out of memory");
  p->h = host;
  p->ctx = ctx;
  p->config = json_incref(config);
  *instance = p;
  /* ABI 0.4: the plugin's own auth block, as a declarative plugin's. */
  if (json_object_get(config, "declare_auth") &&
      INTEG_HAS(host, auth_declare)) {
    int rc =
        host->auth_declare(ctx, json_object_get(config, "declare_auth"), err);

    if (rc) {
      json_decref(p->config);
      free(p);
      *instance = NULL;
      return rc;
    }
  }
  return 0;
}

static integ_request *build(struct probe *p, json_t *spec,
                            struct integ_error *err)
{
  const struct integ_host *h = p->h;
  const char *method = json_string_value(json_object_get(spec, "method"));
  unsigned flags = 0;
  integ_request *req;
  const char *k;
  json_t *v;

  if (json_is_true(json_object_get(spec, "expect_json")))
    flags |= INTEG_REQ_EXPECT_JSON;
  if (json_is_true(json_object_get(spec, "post_safe")))
    flags |= INTEG_REQ_POST_SAFE;
  req = h->request_new(p->ctx, method ? method : "GET",
                       json_string_value(json_object_get(spec, "url")), flags,
                       err);
  if (!req)
    return NULL;
  json_object_foreach(json_object_get(spec, "query"), k, v)
      h->request_query(req, k, json_string_value(v));
  json_object_foreach(json_object_get(spec, "headers"), k, v)
      h->request_header(req, k, json_string_value(v));
  json_object_foreach(json_object_get(spec, "form"), k, v)
      h->request_body_form(req, k, json_string_value(v));
  if (json_object_get(spec, "json"))
    h->request_body_json(req, json_object_get(spec, "json"));
  return req;
}

static int p_run(void *instance, struct integ_error *err)
{
  struct probe *p = instance;
  const struct integ_host *h = p->h;
  int fail_on_error =
      json_is_true(json_object_get(p->config, "fail_on_error"));
  json_t *spec;
  size_t i;

  json_array_foreach(json_object_get(p->config, "requests"), i, spec)
  {
    struct integ_error e = {0, ""};
    integ_request *req = build(p, spec, &e);
    integ_response *resp = NULL;
    json_t *batch = json_object_get(spec, "batch"), *page = NULL, *rec;
    const char *body = "";
    size_t len = 0;
    int rc;

    if (json_is_integer(json_object_get(spec, "sleep_ms"))) {
      json_int_t ms = json_integer_value(json_object_get(spec, "sleep_ms"));
      struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

      nanosleep(&ts, NULL);
    }
    if (!req) {
      *err = e;
      return e.code;
    }
    if (json_object_get(spec, "parse")) {
      json_t *parse = json_object_get(spec, "parse"), *doc, *recs, *r;
      const char *q = json_string_value(json_object_get(parse, "records"));
      integ_jsonpath *jp = h->jsonpath_compile(p->ctx, q, strlen(q), &e);
      size_t k;

      rc = jp ? h->http_do(p->ctx, req, &resp, &e) : INTEG_EINVAL;
      doc = rc ? NULL : h->response_json(resp, &e);
      recs = doc ? h->jsonpath_query(jp, doc, &e) : NULL;
      json_array_foreach(recs, k, r)
      {
        if ((rc = h->emit_record(
                 p->ctx, json_string_value(json_object_get(parse, "stream")),
                 r, &e)))
          break;
      }
      json_decref(recs);
      h->jsonpath_free(jp);
    } else if (batch) {
      rc = h->emit_batch(p->ctx, req,
                         json_string_value(json_object_get(batch, "stream")),
                         json_string_value(json_object_get(batch, "records")),
                         json_object_get(batch, "fields"), &page, &e);
    } else {
      rc = h->http_do(p->ctx, req, &resp, &e);
      body = h->response_body(resp, &len);
    }
    if (json_is_true(json_object_get(p->config, "quiet")) && !rc) {
      json_decref(page);
      h->response_free(resp);
      h->request_free(req);
      continue;
    }
    rec = json_pack("{s:I, s:i, s:I, s:s, s:s, s:I, s:s?, s:o?}", "i",
                    (json_int_t)i, "rc", rc, "status",
                    (json_int_t)h->response_status(resp), "category",
                    rc && !resp ? "none" : h->response_category(resp), "error",
                    e.message, "body_len", (json_int_t)len, "content_type",
                    h->response_header(resp, "content-type"), "page", page);
    if (rec && len && len < 4096)
      json_object_set_new(rec, "body", json_stringn(body, len));
    /* What http_detail tells of a failure: of the response, or of the
     * last failed emit_batch. */
    if (rec && rc) {
      struct integ_http_detail d = {.size = sizeof(d)};

      if (h->http_detail(p->ctx, resp, &d) == 0)
        json_object_set_new(
            rec, "detail",
            json_pack("{s:I, s:s, s:s?, s:s?, s:s?, s:I, s:I, s:I}", "status",
                      (json_int_t)d.status, "category", d.category,
                      "provider_code", d.provider_code, "provider_message",
                      d.provider_message, "request_id", d.request_id,
                      "retryable", (json_int_t)d.retryable, "attempts",
                      (json_int_t)d.attempts, "retry_after_ms",
                      (json_int_t)d.retry_after_ms));
    }
    h->response_free(resp);
    h->request_free(req);
    if (!rec || h->emit_record(p->ctx, "probe", rec, err)) {
      json_decref(rec);
      return err->code ? err->code : INTEG_ENOMEM;
    }
    json_decref(rec);
    if (rc && fail_on_error) {
      *err = e;
      return rc;
    }
  }
  return 0;
}

static void p_unload(void *instance)
{
  struct probe *p = instance;

  json_decref(p->config);
  free(p);
}

static const struct integ_plugin vt = {
    INTEG_PLUGIN_HEADER,
    .name = "httpprobe",
    .version = "0.0.1",
    .description = "sends the requests of its config, for the HTTP tests",
    .spec = "{\"type\": \"object\"}",
    .load = p_load,
    .run = p_run,
    .unload = p_unload,
};

INTEG_PLUGIN_DEFINE(vt)
