/* crash.c - a test plugin that emits one record and then crashes
 * (SIGSEGV): the daemon must log it and keep every other connector on
 * schedule. */
#include <signal.h>
#include <stdlib.h>

#include <integ/plugin.h>

struct crash {
  const struct integ_host *host; /* borrowed, valid until unload */
  integ_ctx *ctx;                /* borrowed, valid until unload */
};

static int crash_load(const struct integ_host *host, integ_ctx *ctx,
                      json_t *config, json_t *state, void **instance,
                      struct integ_error *err)
{
  struct crash *c = calloc(1, sizeof(*c));

  (void)config, (void)state;
  if (!c) {
    integ_error_set(err, INTEG_ENOMEM, "out of memory");
    return INTEG_ENOMEM;
  }
  c->host = host;
  c->ctx = ctx;
  *instance = c;
  return 0;
}

static int crash_run(void *instance, struct integ_error *err)
{
  struct crash *c = instance;
  json_t *rec = json_pack("{s:i}", "id", 1);
  int rc;

  if (!rec) {
    integ_error_set(err, INTEG_ENOMEM, "out of memory");
    return INTEG_ENOMEM;
  }
  rc = c->host->emit_record(c->ctx, "crash", rec, err);
  json_decref(rec);
  if (rc)
    return rc;
  raise(SIGSEGV);
  return 0;
}

static void crash_unload(void *instance)
{
  free(instance);
}

static json_t *crash_discover(void *instance, struct integ_error *err)
{
  (void)instance, (void)err;
  return json_pack("[{s:s, s:{s:s}}]", "stream", "crash", "schema", "type",
                   "object");
}

static const struct integ_plugin crash_plugin = {
    INTEG_PLUGIN_HEADER,
    .name = "crash",
    .version = "0.1.0",
    .description = "Test: emits a record, then segfaults",
    .spec = "{\"type\": \"object\"}",
    .load = crash_load,
    .run = crash_run,
    .unload = crash_unload,
    .discover = crash_discover,
};

INTEG_PLUGIN_DEFINE(crash_plugin)
