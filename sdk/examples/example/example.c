/* example.c - the example integ plugin: copy this to start a connector.
 *
 * Two streams, "users" and "orders", through the host's vtable alone.
 * With {"base_url": "http://host:port"} it pulls them from an HTTP API
 * (the demo API in tests/testapi): users incrementally by updated_at with
 * cursor pagination, using the fast path emit_batch; each user's orders
 * in full, page by page, with http_do and emit_record, so both styles are
 * shown. Without base_url it generates {"users": 3, "orders_per_user": 2}.
 * discover() declares both streams, so the same plugin runs as a Singer
 * tap (`integ tap example`) and an Airbyte source (`integ source
 * example`), whose catalogs choose streams, fields and sync modes.
 *
 * Build out of tree:  cc -shared -fPIC $(pkg-config --cflags --libs
 * integ-plugin) -o example.so example.c   (see the Makefile beside it)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <integ/plugin.h>

/* Everything an instance needs lives here: a plugin keeps no globals, so
 * one process can hold several instances with different configs. */
struct example {
  const struct integ_host *host; /* borrowed, valid until unload */
  integ_ctx *ctx;                /* borrowed, valid until unload */
  json_int_t users;
  json_int_t orders_per_user;
  json_int_t last_user; /* from the state: users already synced */
  char *base_url;       /* HTTP mode when set */
  json_int_t page_size;
  char *updated_after; /* from the state: users' cursor, or NULL */
};

static const char spec[] =
    "{\"type\": \"object\", \"additionalProperties\": false,"
    " \"properties\": {"
    "  \"users\": {\"type\": \"integer\", \"minimum\": 0, \"default\": 3,"
    "   \"description\": \"how many users to generate\"},"
    "  \"orders_per_user\": {\"type\": \"integer\", \"minimum\": 0,"
    "   \"default\": 2, \"description\": \"orders generated per user\"},"
    "  \"base_url\": {\"type\": \"string\", \"pattern\": \"^https?://\","
    "   \"description\": \"pull from this API instead of generating\"},"
    "  \"page_size\": {\"type\": \"integer\", \"minimum\": 1,"
    "   \"maximum\": 100, \"default\": 25,"
    "   \"description\": \"users asked for per page\"}"
    " }}";

/* Fill err and return its code: the one way this plugin fails. */
static int fail(struct integ_error *err, int code, const char *msg)
{
  err->code = code;
  snprintf(err->message, sizeof(err->message), "%s", msg);
  return code;
}

static json_int_t int_or(json_t *obj, const char *key, json_int_t dflt)
{
  json_t *v = json_object_get(obj, key); /* borrowed */

  return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static int example_load(const struct integ_host *host, integ_ctx *ctx,
                        json_t *config, json_t *state, void **instance,
                        struct integ_error *err)
{
  struct example *ex = calloc(1, sizeof(*ex));
  json_t *v; /* borrowed */

  if (!ex)
    return fail(err, INTEG_ENOMEM, "out of memory");
  ex->host = host;
  ex->ctx = ctx;
  ex->users = int_or(config, "users", 3);
  ex->orders_per_user = int_or(config, "orders_per_user", 2);
  /* The state is keyed by stream, in singer-sdk's shape:
   *   {"users": {"replication_key": "updated_at",
   *              "replication_key_value": "2024-03-01T09:00:00Z"}}
   * (generated mode keeps the last user's id there). The host leaves out
   * the streams a catalog syncs in full. */
  v = json_object_get(json_object_get(state, "users"),
                      "replication_key_value");
  ex->last_user = json_is_integer(v) ? json_integer_value(v) : 0;
  ex->page_size = int_or(config, "page_size", 25);
  v = json_object_get(config, "base_url");
  if (json_is_string(v) && !(ex->base_url = strdup(json_string_value(v))))
    goto nomem;
  v = json_object_get(json_object_get(state, "users"),
                      "replication_key_value");
  if (json_is_string(v) && !(ex->updated_after = strdup(json_string_value(v))))
    goto nomem;
  *instance = ex;
  return 0;
nomem:
  free(ex->base_url);
  free(ex);
  return fail(err, INTEG_ENOMEM, "out of memory");
}

/* Emit one record built with json_pack; the host borrows it, so we drop
 * our reference right after. */
static int emit(struct example *ex, const char *stream, json_t *rec,
                struct integ_error *err)
{
  int rc;

  if (!rec)
    return fail(err, INTEG_ENOMEM, "out of memory building a record");
  rc = ex->host->emit_record(ex->ctx, stream, rec, err);
  json_decref(rec);
  return rc;
}

/* Fill err from a host call that failed without saying why (out of
 * memory). */
static int nomem(struct integ_error *err)
{
  return fail(err, INTEG_ENOMEM, "out of memory");
}

/* All orders of one user, page by page: http_do, then emit each record. */
static int pull_orders(struct example *ex, json_int_t user,
                       struct integ_error *err)
{
  const struct integ_host *h = ex->host;
  char url[512], page[24];
  json_int_t pages = 1;
  int rc = 0;

  snprintf(url, sizeof(url), "%s/v1/users/%lld/orders", ex->base_url,
           (long long)user);
  for (json_int_t p = 1; p <= pages && !rc; p++) {
    integ_request *req =
        h->request_new(ex->ctx, "GET", url, INTEG_REQ_EXPECT_JSON);
    integ_response *resp = NULL;
    json_t *body, *rec;
    size_t i;

    snprintf(page, sizeof(page), "%lld", (long long)p);
    if (!req || h->request_query(req, "page", page) ||
        h->request_query(req, "per_page", "50")) {
      h->request_free(req);
      return nomem(err);
    }
    rc = h->http_do(ex->ctx, req, &resp, err);
    body = rc ? NULL : h->response_json(resp, err); /* borrowed */
    if (!rc && !body)
      rc = INTEG_EHTTP;
    json_array_foreach(json_object_get(body, "data"), i, rec)
    {
      if ((rc = h->emit_record(ex->ctx, "orders", rec, err)))
        break;
    }
    pages = int_or(body, "total_pages", 1);
    h->response_free(resp);
    h->request_free(req);
  }
  return rc;
}

/* Users changed since the state's cursor, with the fast path: the host
 * fetches each page, writes the records selected by "$.data[*]" and hands
 * back only the fields asked for. */
/* The cursor to commit after a page: the newest updated_at older than the
 * page's last one. The API's updated_after is exclusive and records that
 * share the last value may go on over the next page, so committing that
 * value could skip them after a restart; one step back reads them again
 * instead (at-least-once: a few duplicates, never a gap). NULL when the
 * whole page shares one value: keep the cursor we had. The filter itself
 * stays as the run began, for the same reason. */
static const char *safe_cursor(json_t *stamps)
{
  size_t n = json_array_size(stamps);
  const char *last = json_string_value(json_array_get(stamps, n - 1));

  for (size_t i = n; last && i-- > 0;) {
    const char *s = json_string_value(json_array_get(stamps, i));

    if (s && strcmp(s, last) != 0)
      return s;
  }
  return NULL;
}

static int pull_users(struct example *ex, struct integ_error *err)
{
  const struct integ_host *h = ex->host;
  json_t *fields, *page = NULL, *state;
  char url[512], limit[24];
  const char *cursor = NULL, *stamp;
  char *next = NULL;
  int rc = 0;

  fields = json_pack("{s:s, s:s, s:s}", "next", "$.next_cursor", "stamps",
                     "$.data[*].updated_at", "ids", "$.data[*].id");
  if (!fields)
    return nomem(err);
  snprintf(url, sizeof(url), "%s/v1/users", ex->base_url);
  snprintf(limit, sizeof(limit), "%lld", (long long)ex->page_size);
  do {
    integ_request *req = h->request_new(ex->ctx, "GET", url, 0);
    json_t *got, *ids, *id;
    size_t i;

    if (!req || h->request_query(req, "limit", limit) ||
        (ex->updated_after &&
         h->request_query(req, "updated_after", ex->updated_after)) ||
        (cursor && h->request_query(req, "cursor", cursor))) {
      h->request_free(req);
      rc = nomem(err);
      break;
    }
    rc = h->emit_batch(ex->ctx, req, "users", "$.data[*]", fields, &page, err);
    h->request_free(req);
    if (rc)
      break;
    got = json_object_get(page, "fields");
    /* A non-singular query ("$.data[*].id") comes back as an array. */
    ids = json_object_get(got, "ids");
    json_array_foreach(ids, i, id)
    {
      if ((rc = pull_orders(ex, json_integer_value(id), err)))
        break;
    }
    /* The page is done, orders included: a consistent point. */
    if (!rc && (stamp = safe_cursor(json_object_get(got, "stamps")))) {
      state = json_pack("{s:{s:s, s:s}}", "users", "replication_key",
                        "updated_at", "replication_key_value", stamp);
      rc = state ? h->emit_state(ex->ctx, state, err) : nomem(err);
      json_decref(state);
    }
    free(next);
    next = json_is_string(json_object_get(got, "next"))
               ? strdup(json_string_value(json_object_get(got, "next")))
               : NULL;
    cursor = next;
    json_decref(page);
    page = NULL;
  } while (!rc && cursor);
  free(next);
  json_decref(fields);
  return rc;
}

static int example_run(void *instance, struct integ_error *err)
{
  struct example *ex = instance;
  json_t *state;
  int rc = 0;

  if (ex->base_url)
    return pull_users(ex, err);
  ex->host->log(ex->ctx, INTEG_LOG_INFO, "generating %lld users from %lld",
                (long long)ex->users, (long long)ex->last_user);
  for (json_int_t u = ex->last_user + 1; u <= ex->users && !rc; u++)
    rc = emit(ex, "users",
              json_pack("{s:I, s:s+, s:b}", "id", (json_int_t)u, "name",
                        "user ", u % 2 ? "odd" : "even", "active",
                        (int)(u % 3 != 0)),
              err);
  for (json_int_t u = ex->last_user + 1; u <= ex->users && !rc; u++)
    for (json_int_t o = 1; o <= ex->orders_per_user && !rc; o++)
      rc = emit(ex, "orders",
                json_pack("{s:I, s:I, s:f}", "id", u * 1000 + o, "user_id", u,
                          "total", (double)(u * 10 + o) + 0.5),
                err);
  if (rc)
    return rc;
  /* One consistent point: every user up to ex->users is synced. */
  state = json_pack("{s:{s:s, s:I}}", "users", "replication_key", "id",
                    "replication_key_value", ex->users);
  if (!state)
    return fail(err, INTEG_ENOMEM, "out of memory");
  rc = ex->host->emit_state(ex->ctx, state, err);
  json_decref(state);
  return rc;
}

static void example_unload(void *instance)
{
  struct example *ex = instance;

  free(ex->base_url);
  free(ex->updated_after);
  free(ex);
}

/* The streams: JSON Schemas, keys, and the cursor of the incremental
 * one. users is incremental (the host hands back its state), orders is
 * always synced in full. */
static const char http_streams[] =
    "[{\"stream\": \"users\", \"key_properties\": [\"id\"],"
    "  \"replication_key\": \"updated_at\","
    "  \"schema\": {\"type\": \"object\", \"properties\": {"
    "   \"id\": {\"type\": \"integer\"},"
    "   \"updated_at\": {\"type\": \"string\", \"format\": \"date-time\"},"
    "   \"name\": {\"type\": [\"string\", \"null\"]},"
    "   \"email\": {\"type\": [\"string\", \"null\"]},"
    "   \"created_at\": {\"type\": [\"string\", \"null\"],"
    "    \"format\": \"date-time\"},"
    "   \"country\": {\"type\": [\"string\", \"null\"]},"
    "   \"balance\": {\"type\": [\"number\", \"null\"]},"
    "   \"lifetime_value_micros\": {\"type\": [\"integer\", \"null\"]},"
    "   \"address\": {\"type\": [\"object\", \"null\"], \"properties\": {"
    "    \"street\": {\"type\": [\"string\", \"null\"]},"
    "    \"city\": {\"type\": [\"string\", \"null\"]},"
    "    \"postal_code\": {\"type\": [\"string\", \"null\"]},"
    "    \"geo\": {\"type\": [\"object\", \"null\"], \"properties\": {"
    "     \"lat\": {\"type\": \"number\"}, \"lon\": {\"type\": "
    "\"number\"}}}}},"
    "   \"is_active\": {\"type\": [\"boolean\", \"null\"]},"
    "   \"last_login_at\": {\"type\": [\"string\", \"null\"],"
    "    \"format\": \"date-time\"}}}},"
    " {\"stream\": \"orders\", \"key_properties\": [\"id\"],"
    "  \"schema\": {\"type\": \"object\", \"properties\": {"
    "   \"id\": {\"type\": \"integer\"},"
    "   \"user_id\": {\"type\": [\"integer\", \"null\"]},"
    "   \"updated_at\": {\"type\": [\"string\", \"null\"],"
    "    \"format\": \"date-time\"},"
    "   \"created_at\": {\"type\": [\"string\", \"null\"],"
    "    \"format\": \"date-time\"},"
    "   \"status\": {\"type\": [\"string\", \"null\"]},"
    "   \"currency\": {\"type\": [\"string\", \"null\"]},"
    "   \"items\": {\"type\": [\"array\", \"null\"], \"items\": {"
    "    \"type\": \"object\", \"properties\": {"
    "     \"sku\": {\"type\": \"string\"}, \"title\": {\"type\": \"string\"},"
    "     \"quantity\": {\"type\": \"integer\"},"
    "     \"unit_price\": {\"type\": \"number\"}}}},"
    "   \"total\": {\"type\": [\"number\", \"null\"]},"
    "   \"shipping\": {\"type\": [\"object\", \"null\"]},"
    "   \"note\": {\"type\": [\"string\", \"null\"]}}}}]";

static const char generated_streams[] =
    "[{\"stream\": \"users\", \"key_properties\": [\"id\"],"
    "  \"replication_key\": \"id\","
    "  \"schema\": {\"type\": \"object\", \"properties\": {"
    "   \"id\": {\"type\": \"integer\"}, \"name\": {\"type\": \"string\"},"
    "   \"active\": {\"type\": \"boolean\"}}}},"
    " {\"stream\": \"orders\", \"key_properties\": [\"id\"],"
    "  \"schema\": {\"type\": \"object\", \"properties\": {"
    "   \"id\": {\"type\": \"integer\"}, \"user_id\": {\"type\": \"integer\"},"
    "   \"total\": {\"type\": \"number\"}}}}]";

static json_t *example_discover(void *instance, struct integ_error *err)
{
  struct example *ex = instance;
  json_error_t jerr;
  json_t *streams =
      json_loads(ex->base_url ? http_streams : generated_streams, 0, &jerr);

  if (!streams)
    fail(err, INTEG_EPLUGIN, jerr.text); /* a typo above */
  return streams;
}

/* Can we reach the API? One request to its health route; the host's
 * error says what went wrong (status, provider message, URL). */
static int example_check(void *instance, struct integ_error *err)
{
  struct example *ex = instance;
  const struct integ_host *h = ex->host;
  integ_request *req;
  integ_response *resp = NULL;
  char url[512];
  int rc;

  if (!ex->base_url)
    return 0; /* nothing to reach: generated data always works */
  snprintf(url, sizeof(url), "%s/v1/health", ex->base_url);
  if (!(req = h->request_new(ex->ctx, "GET", url, INTEG_REQ_EXPECT_JSON)))
    return nomem(err);
  rc = h->http_do(ex->ctx, req, &resp, err);
  h->response_free(resp);
  h->request_free(req);
  return rc;
}

static const struct integ_plugin example_plugin = {
    INTEG_PLUGIN_HEADER,
    .name = "example",
    .version = "0.1.0",
    .description = "Users and orders from the demo shop API, or generated",
    .spec = spec,
    .load = example_load,
    .run = example_run,
    .unload = example_unload,
    .discover = example_discover,
    .check = example_check,
};

INTEG_PLUGIN_DEFINE(example_plugin)
