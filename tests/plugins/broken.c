/* Deliberately broken plugins, one per loader refusal, chosen with -D:
 * BROKEN_BADMAJOR, BROKEN_NEWMINOR (needs a newer minor than the host's),
 * BROKEN_OLDMINOR (needs a minor older than INTEG_ABI_MINOR_MIN),
 * BROKEN_SMALLSIZE, BROKEN_FAILLOAD; and one that is not broken,
 * FUTURE_SDK: built against a newer SDK (a larger vtable) but needing
 * only this host's minor, so it loads. NAME is the name the plugin
 * claims. */
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
  integ_error_set(err, INTEG_ECONFIG,
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

#ifdef FUTURE_SDK
/* The vtable a later minor's header would give: this one's, plus entries
 * this host does not know and never reads. */
struct future_plugin {
  struct integ_plugin base;
  void *(*later_entry)(void *instance);
  void *reserved[3];
};

static const struct future_plugin vt = {
    .base =
        {
            .abi_major = INTEG_ABI_MAJOR,
            .abi_minor = INTEG_ABI_MINOR,
            .size = sizeof(struct future_plugin),
            .name = NAME,
            .version = "0.0.1",
            .description = "built against a newer SDK, needs only this ABI",
            .spec = "{\"type\": \"object\"}",
            .load = b_load,
            .run = b_run,
            .unload = b_unload,
        },
};

INTEG_PLUGIN_DEFINE(vt.base)
#else
static const struct integ_plugin vt = {
#if defined(BROKEN_BADMAJOR)
    .abi_major = INTEG_ABI_MAJOR + 1,
#else
    .abi_major = INTEG_ABI_MAJOR,
#endif
#if defined(BROKEN_NEWMINOR)
    .abi_minor = INTEG_ABI_MINOR + 1,
#elif defined(BROKEN_OLDMINOR)
    .abi_minor = INTEG_ABI_MINOR_MIN - 1,
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
#endif
