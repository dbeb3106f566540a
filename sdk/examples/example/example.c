/* example.c - the example integ plugin: copy this to start a connector.
 *
 * Two streams, "users" and "orders", through the host's vtable alone.
 * With {"base_url": "http://host:port"} it pulls them from an HTTP API
 * (the demo API in tests/testapi): users incrementally by updated_at with
 * cursor pagination, using the fast path emit_page; orders as an
 * incremental child of users: the orders of each user the users cursor
 * returns, page by page with http_do and emit_record, so both styles are
 * shown. Without base_url it generates {"users": 3, "orders_per_user": 2}.
 *
 * The child relies on one property of the API: a change to an order
 * (a new one, or a new status) always bumps its user's updated_at. So
 * the users that changed since the cursor are the only ones whose orders
 * can have changed, and reading all orders of those users brings every
 * changed order. An API without that property needs its own cursor on
 * the child (or the child synced in full).
 * discover() declares both streams, so the same plugin runs as a Singer
 * tap (`integ tap example`) and an Airbyte source (`integ source
 * example`), whose catalogs choose streams, fields and sync modes.
 *
 * Build out of tree:  cc -shared -fPIC $(pkg-config --cflags --libs
 * integ-plugin) -o example.so example.c   (see the Makefile beside it)
 */
#include <stdarg.h>
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
  char *base_url; /* HTTP mode when set */
  json_int_t page_size;
  /* Where the state says each stream stands: the last user id synced in
   * generated mode, the users' updated_at cursor (NULL: none yet) in HTTP
   * mode. orders keeps the users position up to which the orders of every
   * user are synced; it is absent (orders_done < 0, orders_after NULL) on
   * a first run and when a catalog syncs orders in full, and then the
   * orders of every user come. */
  json_int_t users_done, orders_done;
  char *users_after, *orders_after;
  /* HTTP mode: where users stand, kept by the host's cursor-boundary
   * helper (the newest updated_at and the ids seen at it), so that users
   * sharing the last updated_at are neither lost after a restart nor
   * written twice. Owned. */
  integ_cursor *users_cursor;
  json_t *users_keys; /* owned: the state's keys, [[id]...] at users_after */
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

/* The URL base_url + path (printf-style), in a new string; NULL with err
 * set when out of memory. No fixed buffer: base_url is the user's and may
 * be long. */
static char *url_for(struct example *ex, struct integ_error *err,
                     const char *fmt, ...) INTEG_PRINTF(3, 4);
static char *url_for(struct example *ex, struct integ_error *err,
                     const char *fmt, ...)
{
  size_t base = strlen(ex->base_url);
  va_list ap;
  char *url;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || !(url = malloc(base + (size_t)n + 1))) {
    integ_error_set(err, INTEG_ENOMEM, "out of memory");
    return NULL;
  }
  memcpy(url, ex->base_url, base);
  va_start(ap, fmt);
  vsnprintf(url + base, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return url;
}

static json_int_t int_or(json_t *obj, const char *key, json_int_t dflt)
{
  json_t *v = json_object_get(obj, key); /* borrowed */

  return json_is_integer(v) ? json_integer_value(v) : dflt;
}

/* A copy of state[stream][key] when it is a string, into *out (left NULL
 * when absent). Returns 0 or INTEG_ENOMEM. */
static int string_at(json_t *state, const char *stream, const char *key,
                     char **out, struct integ_error *err)
{
  json_t *v = json_object_get(json_object_get(state, stream), key);

  *out = NULL;
  if (json_is_string(v) && !(*out = strdup(json_string_value(v))))
    return integ_error_set(err, INTEG_ENOMEM, "out of memory");
  return 0;
}

/* The users cursor, from the users state (borrowed, may be NULL) in the
 * shape above, which the helper reads as {"cursor": V, "keys": [...]}. */
static int users_cursor_new(struct example *ex, json_t *users,
                            struct integ_error *err)
{
  json_t *v = json_object_get(users, "replication_key_value");
  json_t *keys = json_object_get(users, "keys");
  json_t *pk = json_pack("[s]", "$.id");
  json_t *st = json_is_string(v) ? json_pack("{s:O, s:O}", "cursor", v, "keys",
                                             keys ? keys : json_array())
                                 : NULL;
  struct integ_cursor_opts o = {sizeof(o), "users", "$.updated_at", NULL, pk};
  int rc = 0;

  ex->users_keys = json_incref(keys);
  if (!pk || (json_is_string(v) && !st))
    rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
  else if (!(ex->users_cursor = ex->host->cursor_new(ex->ctx, &o, st, err)))
    rc = err->code;
  json_decref(st);
  json_decref(pk);
  return rc;
}

static void example_unload(void *instance)
{
  struct example *ex = instance;

  free(ex->base_url);
  free(ex->users_after);
  free(ex->orders_after);
  if (ex->users_cursor)
    ex->host->cursor_free(ex->users_cursor);
  json_decref(ex->users_keys);
  free(ex);
}

static int example_load(const struct integ_host *host, integ_ctx *ctx,
                        json_t *config, json_t *state, void **instance,
                        struct integ_error *err)
{
  struct example *ex = calloc(1, sizeof(*ex));
  json_t *v; /* borrowed */
  int rc;

  if (!ex)
    return integ_error_set(err, INTEG_ENOMEM, "out of memory");
  ex->host = host;
  ex->ctx = ctx;
  ex->users = int_or(config, "users", 3);
  ex->orders_per_user = int_or(config, "orders_per_user", 2);
  ex->page_size = int_or(config, "page_size", 25);
  /* The state is keyed by stream, in singer-sdk's shape:
   *   {"users": {"replication_key": "updated_at",
   *              "replication_key_value": "2024-03-01T09:00:00Z",
   *              "keys": [[17]]},
   *    "orders": {"replication_key": "updated_at",
   *               "replication_key_value": "2024-03-01T09:00:00Z"}}
   * (generated mode keeps the last user's id there). "keys" are the ids
   * of the users already synced at that updated_at (the cursor-boundary
   * helper's). orders' value is the users cursor its orders are complete
   * up to. The host leaves out the streams a catalog syncs in full. */
  ex->users_done =
      int_or(json_object_get(state, "users"), "replication_key_value", 0);
  ex->orders_done =
      int_or(json_object_get(state, "orders"), "replication_key_value", -1);
  v = json_object_get(config, "base_url");
  if (json_is_string(v) && !(ex->base_url = strdup(json_string_value(v)))) {
    rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  rc = string_at(state, "users", "replication_key_value", &ex->users_after,
                 err);
  if (!rc)
    rc = string_at(state, "orders", "replication_key_value", &ex->orders_after,
                   err);
  if (!rc && ex->base_url)
    rc = users_cursor_new(ex, json_object_get(state, "users"), err);
  if (rc)
    goto out;
  *instance = ex;
  return 0;
out:
  example_unload(ex);
  return rc;
}

/* Emit one record built with json_pack; the host borrows it, so we drop
 * our reference right after. */
static int emit(struct example *ex, const char *stream, json_t *rec,
                struct integ_error *err)
{
  int rc;

  if (!rec)
    return integ_error_set(err, INTEG_ENOMEM,
                           "out of memory building a record");
  rc = ex->host->emit_record(ex->ctx, stream, rec, err);
  json_decref(rec);
  return rc;
}

/* One stream's state, {"replication_key": key, "replication_key_value":
 * value}, set into state[stream]; value (stolen) NULL: no position yet,
 * nothing set. Returns 0 or -1 when out of memory. */
static int position(json_t *state, const char *stream, const char *key,
                    json_t *value)
{
  if (!value)
    return 0;
  return json_object_set_new(state, stream,
                             json_pack("{s:s, s:o}", "replication_key", key,
                                       "replication_key_value", value));
}

/* A consistent point: where users and orders stand, as the state. */
static int emit_position(struct example *ex, struct integ_error *err)
{
  json_t *state = json_object();
  int rc, bad;

  if (ex->base_url) {
    json_t *users = ex->host->cursor_state(ex->users_cursor, err);

    if (!users && err->code)
      return err->code;
    bad = !state ||
          position(state, "users", "updated_at",
                   json_incref(json_object_get(users, "cursor"))) ||
          (users && json_object_set(json_object_get(state, "users"), "keys",
                                    json_object_get(users, "keys"))) ||
          position(state, "orders", "updated_at",
                   ex->orders_after ? json_string(ex->orders_after) : NULL);
    json_decref(users);
  } else {
    bad = !state ||
          position(state, "users", "id", json_integer(ex->users_done)) ||
          position(state, "orders", "user_id",
                   ex->orders_done < 0 ? NULL : json_integer(ex->orders_done));
  }
  if (bad) {
    json_decref(state);
    return integ_error_set(err, INTEG_ENOMEM, "out of memory");
  }
  rc = ex->host->emit_state(ex->ctx, state, err);
  json_decref(state);
  return rc;
}

/* All orders of one user, page by page: http_do, then emit each record. */
static int pull_orders(struct example *ex, json_int_t user,
                       struct integ_error *err)
{
  const struct integ_host *h = ex->host;
  char *url = url_for(ex, err, "/v1/users/%lld/orders", (long long)user);
  char page[24];
  json_int_t pages = 1;
  int rc = url ? 0 : INTEG_ENOMEM;

  for (json_int_t p = 1; p <= pages && !rc; p++) {
    integ_request *req =
        h->request_new(ex->ctx, "GET", url, INTEG_REQ_EXPECT_JSON, err);
    integ_response *resp = NULL;
    json_t *body, *rec;
    size_t i;

    if (!req) {
      rc = err->code;
      break;
    }
    snprintf(page, sizeof(page), "%lld", (long long)p);
    if ((rc = h->request_query(req, "page", page)) ||
        (rc = h->request_query(req, "per_page", "50"))) {
      h->request_free(req);
      rc = integ_error_set(err, rc, "building the orders request failed");
      break;
    }
    rc = h->http_do(ex->ctx, req, &resp, err);
    body = rc ? NULL : h->response_json(resp, err); /* borrowed */
    if (!rc && !body)
      rc = err->code;
    json_array_foreach(json_object_get(body, "data"), i, rec)
    {
      if ((rc = h->emit_record(ex->ctx, "orders", rec, err)))
        break;
    }
    pages = int_or(body, "total_pages", 1);
    h->response_free(resp);
    h->request_free(req);
  }
  free(url);
  return rc;
}

/* The last updated_at of a page (NULL for an empty page): where the
 * orders walk stands once the page's orders are pulled. The API's
 * updated_after is inclusive (>=), so resuming from it reads the users
 * that share it again: their orders may come twice, none is lost. */
static const char *last_stamp(json_t *stamps)
{
  return json_string_value(
      json_array_get(stamps, json_array_size(stamps) - 1));
}

/* One page of users updated at or after `after` (NULL: all) from
 * `cursor`: written out when `emit` by emit_page (the host fetches the
 * page, filters the users the cursor-boundary helper has seen and writes
 * the rest, with no round trip through the plugin), else only read
 * (http_do). *page gets {"next": cursor, "stamps": [updated_at],
 * "ids": [id]}, a new reference. */
static int users_page(struct example *ex, const char *after,
                      const char *cursor, int emit, json_t **page,
                      struct integ_error *err)
{
  const struct integ_host *h = ex->host;
  char *url = url_for(ex, err, "/v1/users");
  char limit[24];
  integ_request *req = NULL;
  integ_response *resp = NULL;
  json_t *fields = NULL, *got = NULL, *body;
  int rc;

  *page = NULL;
  if (!url)
    return INTEG_ENOMEM;
  req = h->request_new(ex->ctx, "GET", url, 0, err);
  if (!req) {
    rc = err->code;
    goto out;
  }
  snprintf(limit, sizeof(limit), "%lld", (long long)ex->page_size);
  if ((rc = h->request_query(req, "limit", emit ? limit : "100")) ||
      (after && (rc = h->request_query(req, "updated_after", after))) ||
      (cursor && (rc = h->request_query(req, "cursor", cursor)))) {
    rc = integ_error_set(err, rc, "building the users request failed");
    goto out;
  }
  fields = json_pack("{s:s, s:s, s:s}", "next", "$.next_cursor", "stamps",
                     "$.data[*].updated_at", "ids", "$.data[*].id");
  if (!fields) {
    rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  if (emit) {
    /* The records "$.data[*]" selects go through the users cursor and out;
     * only the fields asked for come back (a non-singular query such as
     * "$.data[*].id" comes back as an array). */
    struct integ_page_opts o = {.size = sizeof(o),
                                .records = "$.data[*]",
                                .fields = fields,
                                .cursor = ex->users_cursor};

    rc = h->emit_page(ex->ctx, req, "users", &o, &got, err);
    if (!rc && !(*page = json_incref(json_object_get(got, "fields"))))
      rc = integ_error_set(err, INTEG_EPLUGIN, "emit_page: no fields");
    goto out;
  }
  rc = h->http_do(ex->ctx, req, &resp, err);
  if (rc)
    goto out;
  body = h->response_json(resp, err);
  if (!body) {
    rc = err->code;
    goto out;
  }
  *page = json_object();
  if (!*page) {
    rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  {
    const char *name;
    json_t *q, *all;

    json_object_foreach(fields, name, q)
    {
      integ_jsonpath *jp = h->jsonpath_compile(ex->ctx, json_string_value(q),
                                               json_string_length(q), err);

      all = jp ? h->jsonpath_query(jp, body, err) : NULL;
      h->jsonpath_free(jp);
      if (!all) {
        rc = err->code;
        goto out;
      }
      /* "next" is singular: its value, as emit_batch gives it. */
      if (strcmp(name, "next") == 0) {
        json_t *one = json_incref(json_array_get(all, 0));

        json_decref(all);
        all = one ? one : json_null();
      }
      if (json_object_set_new(*page, name, all)) {
        rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
        goto out;
      }
    }
  }
out:
  if (rc) {
    json_decref(*page);
    *page = NULL;
  }
  json_decref(got);
  json_decref(fields);
  h->response_free(resp);
  h->request_free(req);
  free(url);
  return rc;
}

/* Set *cursor to a copy of value. Returns 0 or INTEG_ENOMEM. */
static int move_to(char **cursor, const char *value, struct integ_error *err)
{
  char *copy = strdup(value);

  if (!copy)
    return integ_error_set(err, INTEG_ENOMEM, "out of memory");
  free(*cursor);
  *cursor = copy;
  return 0;
}

/* Whether user id, the i-th of a page whose updated_at values are stamps,
 * is one the state says was synced at `after`. */
static int seen_at(struct example *ex, const char *after, json_t *stamps,
                   size_t i, json_t *id)
{
  const char *at = json_string_value(json_array_get(stamps, i));
  json_t *k;
  size_t j;

  if (!after || !at || strcmp(at, after) != 0)
    return 0;
  json_array_foreach(ex->users_keys, j, k)
  {
    if (json_equal(json_array_get(k, 0), id))
      return 1;
  }
  return 0;
}

/* Walk the users updated after `after` (NULL: all), page by page: with
 * `emit` the users are written and their cursor advances; with `orders`
 * each user's orders are pulled and the orders position advances with
 * the same value (a consistent point after each page). */
static int walk_users(struct example *ex, const char *after, int emit,
                      int orders, struct integ_error *err)
{
  json_t *page = NULL;
  char *next = NULL;
  int rc = 0;

  do {
    json_t *ids;
    const char *stamp;

    rc = users_page(ex, after, next, emit, &page, err);
    if (rc)
      break;
    ids = json_object_get(page, "ids");
    for (size_t i = 0; orders && i < json_array_size(ids) && !rc; i++) {
      json_t *id = json_array_get(ids, i);

      /* A user the run resumed at (written, with its orders, last run)
       * comes again through the inclusive filter: not its orders. */
      if (emit && seen_at(ex, after, json_object_get(page, "stamps"), i, id))
        continue;
      rc = pull_orders(ex, json_integer_value(id), err);
    }
    /* The page is done, orders included: a consistent point (the users
     * cursor moved as the host wrote the page). */
    stamp = last_stamp(json_object_get(page, "stamps"));
    if (!rc && stamp && orders)
      rc = move_to(&ex->orders_after, stamp, err);
    if (!rc && stamp)
      rc = emit_position(ex, err);
    free(next);
    next = NULL;
    if (!rc && json_is_string(json_object_get(page, "next")) &&
        !(next = strdup(json_string_value(json_object_get(page, "next")))))
      rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
    json_decref(page);
    page = NULL;
  } while (!rc && next);
  json_decref(page);
  free(next);
  return rc;
}

/* users is incremental on updated_at; orders is its incremental child,
 * as discover() declares it: the orders of the users that changed since
 * the orders position (all users' orders when there is none: a first
 * run, or orders synced in full). When both streams stand at the same
 * position, as they do after a run of both, one walk does both. Else the
 * users walk first, then the orders walk reads the users again (with
 * http_do, not written) from the orders position. */
static int pull(struct example *ex, struct integ_error *err)
{
  char *from = NULL, *orders_from = NULL;
  int rc = 0;

  if (!ex->users_after && !ex->orders_after)
    return walk_users(ex, NULL, 1, 1, err);
  /* The filters stay as the run began: the cursors move as pages come. */
  if ((ex->users_after && !(from = strdup(ex->users_after))) ||
      (ex->orders_after && !(orders_from = strdup(ex->orders_after)))) {
    rc = integ_error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  if (from && orders_from && strcmp(from, orders_from) == 0) {
    rc = walk_users(ex, from, 1, 1, err);
    goto out;
  }
  rc = walk_users(ex, from, 1, 0, err);
  if (!rc)
    rc = walk_users(ex, orders_from, 0, 1, err);
out:
  free(from);
  free(orders_from);
  return rc;
}

static int example_run(void *instance, struct integ_error *err)
{
  struct example *ex = instance;
  int rc = 0;

  if (ex->base_url)
    return pull(ex, err);
  ex->host->log(ex->ctx, INTEG_LOG_INFO, "generating %lld users from %lld",
                (long long)ex->users, (long long)ex->users_done);
  for (json_int_t u = ex->users_done + 1; u <= ex->users && !rc; u++)
    rc = emit(ex, "users",
              json_pack("{s:I, s:s+, s:b}", "id", (json_int_t)u, "name",
                        "user ", u % 2 ? "odd" : "even", "active",
                        (int)(u % 3 != 0)),
              err);
  /* orders follows users: the new users' orders, or every user's when
   * orders has no position (a first run, or orders synced in full). */
  for (json_int_t u = ex->orders_done < 0 ? 1 : ex->orders_done + 1;
       u <= ex->users && !rc; u++)
    for (json_int_t o = 1; o <= ex->orders_per_user && !rc; o++)
      rc = emit(ex, "orders",
                json_pack("{s:I, s:I, s:f}", "id", u * 1000 + o, "user_id", u,
                          "total", (double)(u * 10 + o) + 0.5),
                err);
  if (rc)
    return rc;
  /* One consistent point: every user up to ex->users is synced. */
  ex->users_done = ex->orders_done = ex->users;
  return emit_position(ex, err);
}

/* The streams: JSON Schemas, keys and cursors. Both are incremental (the
 * host hands back their state): users by updated_at, orders as the child
 * of users (the orders of the users that changed; all of them when a
 * catalog syncs orders in full). */
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
    "  \"replication_key\": \"updated_at\","
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
    "  \"replication_key\": \"user_id\","
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
    integ_error_set(err, INTEG_EPLUGIN, "discover: %s",
                    jerr.text); /* a typo above */
  return streams;
}

/* Can we reach the API? One request to its health route; the host's
 * error says what went wrong (status, provider message, URL). */
static int example_check(void *instance, struct integ_error *err)
{
  struct example *ex = instance;
  const struct integ_host *h = ex->host;
  integ_request *req = NULL;
  integ_response *resp = NULL;
  char *url;
  int rc;

  if (!ex->base_url)
    return 0; /* nothing to reach: generated data always works */
  url = url_for(ex, err, "/v1/health");
  if (!url)
    return INTEG_ENOMEM;
  req = h->request_new(ex->ctx, "GET", url, INTEG_REQ_EXPECT_JSON, err);
  rc = req ? h->http_do(ex->ctx, req, &resp, err) : err->code;
  h->response_free(resp);
  h->request_free(req);
  free(url);
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
