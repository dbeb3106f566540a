/* pager.c - a test plugin that pulls one cursor-paginated collection with
 * an inclusive incremental filter (updated_at >= cursor) through the host's
 * HTTP service, emitting a state after every page. It drives the kill test
 * (tests/kill.sh) and the benchmark (bench/run.sh). Config:
 *   {"base_url": "http://127.0.0.1:PORT", "path": "/items",
 *    "stream": "items", "page_size": 100,
 *    "mode": "record" | "batch"}
 * mode "record" (default) parses each page and emits record by record
 * through the host's cursor-boundary helper (cursor_new, cursor_observe),
 * which skips the records already emitted at the state's cursor; "batch"
 * uses emit_page with the cursor (the fast path): the host writes the
 * records, observes the cursor on each and skips those repeats itself.
 *
 * The state is the helper's, {STREAM: {"cursor": T, "keys": [[id]...]}}:
 * every record before T is synced, and of the records at T exactly those
 * in keys. With a >= filter nothing at T is lost when a page ends inside
 * a run of equal updated_at values, and nothing repeats endlessly.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <integ/plugin.h>

struct pager {
  const struct integ_host *host; /* borrowed, valid until unload */
  integ_ctx *ctx;                /* borrowed, valid until unload */
  json_t *config;                /* owned; the strings below live in it */
  const char *base_url, *path, *stream;
  json_int_t page_size;
  int batch;
  integ_cursor *cursor; /* owned: where the stream stands */
};

static const char spec[] =
    "{\"type\": \"object\", \"additionalProperties\": false,"
    " \"required\": [\"base_url\"],"
    " \"properties\": {"
    "  \"base_url\": {\"type\": \"string\"},"
    "  \"path\": {\"type\": \"string\"},"
    "  \"stream\": {\"type\": \"string\"},"
    "  \"page_size\": {\"type\": \"integer\", \"minimum\": 1},"
    "  \"mode\": {\"enum\": [\"record\", \"batch\"]}"
    " }}";

static const char *str_or(json_t *obj, const char *key, const char *dflt)
{
  json_t *v = json_object_get(obj, key);

  return json_is_string(v) ? json_string_value(v) : dflt;
}

static int pager_load(const struct integ_host *host, integ_ctx *ctx,
                      json_t *config, json_t *state, void **instance,
                      struct integ_error *err)
{
  struct pager *p = calloc(1, sizeof(*p));
  json_t *st, *v;

  if (!p)
    return integ_error_set(err, INTEG_ENOMEM, "out of memory");
  p->host = host;
  p->ctx = ctx;
  p->config = json_incref(config);
  p->base_url = str_or(config, "base_url", "");
  p->path = str_or(config, "path", "/items");
  p->stream = str_or(config, "stream", "items");
  v = json_object_get(config, "page_size");
  p->page_size = json_is_integer(v) ? json_integer_value(v) : 100;
  p->batch = strcmp(str_or(config, "mode", "record"), "batch") == 0;
  st = json_object_get(state, p->stream);
  {
    json_t *pk = json_pack("[s]", "$.id");
    struct integ_cursor_opts o = {sizeof(o), p->stream, "$.updated_at", NULL,
                                  pk};

    p->cursor = pk ? host->cursor_new(ctx, &o, st, err) : NULL;
    if (!pk)
      integ_error_set(err, INTEG_ENOMEM, "out of memory");
    json_decref(pk);
  }
  if (!p->cursor) {
    json_decref(p->config);
    free(p);
    return err->code;
  }
  *instance = p;
  return 0;
}

/* One page parsed by the plugin: emit what is not synced yet. */
static int page_records(struct pager *p, integ_request *req, char **next,
                        struct integ_error *err)
{
  const struct integ_host *h = p->host;
  integ_response *resp = NULL;
  json_t *body, *rec, *nc;
  size_t i;
  int rc;

  rc = h->http_do(p->ctx, req, &resp, err);
  body = rc ? NULL : h->response_json(resp, err);
  if (!rc && !json_is_array(json_object_get(body, "data")))
    rc = integ_error_set(err, INTEG_EHTTP, "%s: no data array in the page",
                         p->path);
  json_array_foreach(rc ? NULL : json_object_get(body, "data"), i, rec)
  {
    int keep = 1;

    if ((rc = h->cursor_observe(p->cursor, rec, &keep, err)))
      break;
    if (keep && (rc = h->emit_record(p->ctx, p->stream, rec, err)))
      break;
  }
  nc = json_object_get(body, "next_cursor");
  if (!rc && json_is_string(nc) &&
      json_is_true(json_object_get(body, "has_more")) &&
      !(*next = strdup(json_string_value(nc))))
    rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
  h->response_free(resp);
  return rc;
}

/* One page through emit_page: the host writes the records and moves the
 * cursor (repeats at the boundary are not written); we get back the next
 * cursor. */
static int page_batch(struct pager *p, integ_request *req, json_t *fields,
                      char **next, struct integ_error *err)
{
  json_t *page = NULL, *got, *nc;
  int rc;

  struct integ_page_opts o = {.size = sizeof(o),
                              .records = "$.data[*]",
                              .fields = fields,
                              .cursor = p->cursor};

  rc = p->host->emit_page(p->ctx, req, p->stream, &o, &page, err);
  if (rc) {
    json_decref(page); /* the failed page's status and body summary */
    return rc;
  }
  got = json_object_get(page, "fields");
  nc = json_object_get(got, "next");
  if (json_is_string(nc) && json_is_true(json_object_get(got, "more")) &&
      !(*next = strdup(json_string_value(nc))))
    rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
  json_decref(page);
  return rc;
}

static int pager_run(void *instance, struct integ_error *err)
{
  struct pager *p = instance;
  const struct integ_host *h = p->host;
  char url[1024], limit[24];
  char *cursor = NULL;
  json_t *fields;
  int rc = 0;

  json_t *start = h->cursor_start(p->cursor);

  fields =
      json_pack("{s:s, s:s}", "next", "$.next_cursor", "more", "$.has_more");
  if (!fields)
    return integ_error_set(err, INTEG_ENOMEM, "out of memory");
  snprintf(url, sizeof(url), "%s%s", p->base_url, p->path);
  snprintf(limit, sizeof(limit), "%lld", (long long)p->page_size);
  do {
    integ_request *req = h->request_new(p->ctx, "GET", url, 0, err);
    char *next = NULL;
    json_t *state, *at;

    if (!req) {
      rc = err->code;
      break;
    }
    if ((rc = h->request_query(req, "limit", limit)) ||
        (start && (rc = h->request_query(req, "updated_after",
                                         json_string_value(start)))) ||
        (cursor && (rc = h->request_query(req, "cursor", cursor)))) {
      h->request_free(req);
      rc = integ_error_set(err, rc, "building the request failed");
      break;
    }
    rc = p->batch ? page_batch(p, req, fields, &next, err)
                  : page_records(p, req, &next, err);
    h->request_free(req);
    free(cursor);
    cursor = next;
    if (rc)
      continue;
    /* The page is done: a consistent point. */
    at = h->cursor_state(p->cursor, err);
    if (!at) {
      rc = err->code;
      continue;
    }
    state = json_pack("{s:o}", p->stream, at);
    rc = state ? h->emit_state(p->ctx, state, err)
               : integ_error_set(err, INTEG_ENOMEM, "out of memory");
    json_decref(state);
  } while (!rc && cursor);
  free(cursor);
  json_decref(fields);
  return rc;
}

static void pager_unload(void *instance)
{
  struct pager *p = instance;

  p->host->cursor_free(p->cursor);
  json_decref(p->config);
  free(p);
}

static json_t *pager_discover(void *instance, struct integ_error *err)
{
  struct pager *p = instance;

  (void)err;
  return json_pack("[{s:s, s:{s:s}, s:[s], s:[s]}]", "stream", p->stream,
                   "schema", "type", "object", "key_properties", "id",
                   "bookmark_properties", "updated_at");
}

static int pager_check(void *instance, struct integ_error *err)
{
  (void)instance;
  (void)err;
  return 0;
}

static const struct integ_plugin pager_plugin = {
    INTEG_PLUGIN_HEADER,
    .name = "pager",
    .version = "0.1.0",
    .description = "Test: a cursor-paginated incremental collection",
    .spec = spec,
    .load = pager_load,
    .run = pager_run,
    .unload = pager_unload,
    .discover = pager_discover,
    .check = pager_check,
};

INTEG_PLUGIN_DEFINE(pager_plugin)
