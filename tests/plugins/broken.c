/* Deliberately broken plugins, one per loader refusal, chosen with -D:
 * BROKEN_BADMAJOR, BROKEN_NEWMINOR, BROKEN_SMALLSIZE, BROKEN_FAILLOAD;
 * NAME is the name the plugin claims. */
#include <stdio.h>

#include <integ/plugin.h>

static int b_load(const struct integ_host *host, integ_ctx *ctx,
                  json_t *config, json_t *state, void **instance,
                  struct integ_error *err)
{
  (void)host;
  (void)ctx;
  (void)config;
  (void)state;
#ifdef BROKEN_FAILLOAD
  (void)instance;
  err->code = INTEG_ECONFIG;
  snprintf(err->message, sizeof(err->message),
           "the token is missing: set config.token");
  return INTEG_ECONFIG;
#else
  (void)err;
  *instance = NULL;
  return 0;
#endif
}

static int b_run(void *instance, struct integ_error *err)
{
  (void)instance;
  (void)err;
  return 0;
}

static void b_unload(void *instance)
{
  (void)instance;
}

static const struct integ_plugin vt = {
#if defined(BROKEN_BADMAJOR)
    .abi_major = INTEG_ABI_MAJOR + 1,
#else
    .abi_major = INTEG_ABI_MAJOR,
#endif
#if defined(BROKEN_NEWMINOR)
    .abi_minor = INTEG_ABI_MINOR + 1,
#else
    .abi_minor = INTEG_ABI_MINOR,
#endif
#if defined(BROKEN_SMALLSIZE)
    .size = offsetof(struct integ_plugin, load),
#else
    .size = sizeof(struct integ_plugin),
#endif
    .name = NAME,
    .version = "0.0.1",
    .description = "a broken plugin for the loader's tests",
    .spec = "{\"type\": \"object\"}",
    .load = b_load,
    .run = b_run,
    .unload = b_unload,
};

INTEG_PLUGIN_DEFINE(vt)
