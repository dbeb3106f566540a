/* A plugin that calls a function nothing defines. Bound lazily, it would
 * load, be listed as healthy and die in run() with "symbol lookup error";
 * the loader binds every symbol at load, so it is refused there, with the
 * symbol named. Linked without -no-undefined (libtool's default allows
 * undefined symbols in a module). */
#include <integ/plugin.h>

/* Declared, never defined anywhere. */
int integ_test_no_such_function(int x);

static int u_load(const struct integ_host *host, integ_ctx *ctx,
                  json_t *config, json_t *state, void **instance,
                  struct integ_error *err)
{
  (void)host;
  (void)ctx;
  (void)config;
  (void)state;
  (void)err;
  *instance = NULL;
  return 0;
}

static int u_run(void *instance, struct integ_error *err)
{
  (void)instance;
  if (integ_test_no_such_function(42) != 42)
    return integ_error_set(err, INTEG_EPLUGIN, "unreachable");
  return 0;
}

static void u_unload(void *instance)
{
  (void)instance;
}

static const struct integ_plugin vt = {
    INTEG_PLUGIN_HEADER,
    .name = "unresolved",
    .version = "0.0.1",
    .description = "calls a function that nothing defines",
    .spec = "{\"type\": \"object\"}",
    .load = u_load,
    .run = u_run,
    .unload = u_unload,
};

INTEG_PLUGIN_DEFINE(vt)
