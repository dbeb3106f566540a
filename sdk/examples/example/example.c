/* example.c - the example integ plugin: copy this to start a connector.
 *
 * It emits generated records for two streams, "users" and "orders", and a
 * state after each stream, using only the host's vtable. Its config:
 *   {"users": 3, "orders_per_user": 2}
 * A later version of this file pulls the same streams over HTTP.
 *
 * Build out of tree:  cc -shared -fPIC $(pkg-config --cflags --libs
 * integ-plugin) -o example.so example.c   (see the Makefile beside it)
 */
#include <stdio.h>
#include <stdlib.h>

#include <integ/plugin.h>

/* Everything an instance needs lives here: a plugin keeps no globals, so
 * one process can hold several instances with different configs. */
struct example {
  const struct integ_host *host; /* borrowed, valid until unload */
  integ_ctx *ctx;                /* borrowed, valid until unload */
  json_int_t users;
  json_int_t orders_per_user;
  json_int_t last_user; /* from the state: users already synced */
};

static const char spec[] =
    "{\"type\": \"object\", \"additionalProperties\": false,"
    " \"properties\": {"
    "  \"users\": {\"type\": \"integer\", \"minimum\": 0, \"default\": 3,"
    "   \"description\": \"how many users to generate\"},"
    "  \"orders_per_user\": {\"type\": \"integer\", \"minimum\": 0,"
    "   \"default\": 2, \"description\": \"orders generated per user\"}"
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

  if (!ex)
    return fail(err, INTEG_ENOMEM, "out of memory");
  ex->host = host;
  ex->ctx = ctx;
  ex->users = int_or(config, "users", 3);
  ex->orders_per_user = int_or(config, "orders_per_user", 2);
  ex->last_user = int_or(state, "last_user", 0);
  *instance = ex;
  return 0;
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

static int example_run(void *instance, struct integ_error *err)
{
  struct example *ex = instance;
  json_t *state;
  int rc = 0;

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
  state = json_pack("{s:I}", "last_user", ex->users);
  if (!state)
    return fail(err, INTEG_ENOMEM, "out of memory");
  rc = ex->host->emit_state(ex->ctx, state, err);
  json_decref(state);
  return rc;
}

static void example_unload(void *instance)
{
  free(instance);
}

static json_t *example_discover(void *instance, struct integ_error *err)
{
  (void)instance;
  (void)err;
  return json_pack("[{s:s, s:{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}}}, s:[s]},"
                   " {s:s, s:{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}}}, s:[s]}]",
                   "stream", "users", "schema", "type", "object", "properties",
                   "id", "type", "integer", "name", "type", "string", "active",
                   "type", "boolean", "key_properties", "id", "stream",
                   "orders", "schema", "type", "object", "properties", "id",
                   "type", "integer", "user_id", "type", "integer", "total",
                   "type", "number", "key_properties", "id");
}

static int example_check(void *instance, struct integ_error *err)
{
  (void)instance;
  (void)err;
  return 0; /* nothing to reach: generated data always works */
}

static const struct integ_plugin example_plugin = {
    INTEG_PLUGIN_HEADER,
    .name = "example",
    .version = "0.1.0",
    .description = "Generated users and orders: the plugin to copy",
    .spec = spec,
    .load = example_load,
    .run = example_run,
    .unload = example_unload,
    .discover = example_discover,
    .check = example_check,
};

INTEG_PLUGIN_DEFINE(example_plugin)
