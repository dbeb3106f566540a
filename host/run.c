/* run.c - run one plugin instance and serve its calls to the host. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "run.h"

/* One per plugin instance; the plugin sees it as an opaque integ_ctx. */
struct integ_ctx {
  const struct plugin *pl;
  const struct run_opts *o;
  struct run_stats *stats;
};

static int host_emit_record(integ_ctx *ctx, const char *stream, json_t *record,
                            struct integ_error *err)
{
  if (!stream || !*stream)
    return error_set(err, INTEG_EINVAL,
                     "plugin %s: emit_record called without a stream name",
                     ctx->pl->vt->name);
  if (!json_is_object(record))
    return error_set(err, INTEG_EINVAL,
                     "plugin %s: emit_record: record for stream '%s' is "
                     "not a JSON object",
                     ctx->pl->vt->name, stream);
  if (json_dumpf(record, ctx->o->out, JSON_COMPACT | JSON_PRESERVE_ORDER) ||
      putc('\n', ctx->o->out) == EOF)
    return error_set(err, INTEG_EIO, "writing output: %s", strerror(errno));
  ctx->stats->records++;
  return 0;
}

static int host_emit_state(integ_ctx *ctx, json_t *state,
                           struct integ_error *err)
{
  json_t *copy;

  if (!json_is_object(state))
    return error_set(err, INTEG_EINVAL,
                     "plugin %s: emit_state: state is not a JSON object",
                     ctx->pl->vt->name);
  /* A deep copy: the plugin keeps mutating its own state object. */
  copy = json_deep_copy(state);
  if (!copy)
    return error_set(err, INTEG_ENOMEM, "out of memory copying state");
  json_decref(ctx->stats->state);
  ctx->stats->state = copy;
  ctx->stats->states++;
  return 0;
}

static void host_log(integ_ctx *ctx, enum integ_log_level level,
                     const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  log_msgv(level, ctx->o->tag, fmt, ap);
  va_end(ap);
}

static const struct integ_host host_vtable = {
    .abi_major = INTEG_ABI_MAJOR,
    .abi_minor = INTEG_ABI_MINOR,
    .size = sizeof(struct integ_host),
    .emit_record = host_emit_record,
    .emit_state = host_emit_state,
    .log = host_log,
};

int run_plugin(const struct plugin *pl, json_t *config, json_t *state,
               const struct run_opts *o, struct run_stats *stats,
               struct integ_error *err)
{
  struct integ_ctx ctx = {pl, o, stats};
  struct integ_error perr = {0, ""};
  void *inst = NULL;
  int rc;

  memset(stats, 0, sizeof(*stats));
  rc = pl->vt->load(&host_vtable, &ctx, config, state, &inst, &perr);
  if (rc) {
    return error_set(err, rc < 0 ? rc : INTEG_EPLUGIN,
                     "plugin %s: load failed: %s", pl->vt->name,
                     perr.message[0] ? perr.message : "(no message)");
  }
  rc = pl->vt->run(inst, &perr);
  if (rc)
    error_set(err, rc < 0 ? rc : INTEG_EPLUGIN, "plugin %s: run failed: %s",
              pl->vt->name, perr.message[0] ? perr.message : "(no message)");
  pl->vt->unload(inst);
  if (fflush(o->out) && !rc)
    rc = error_set(err, INTEG_EIO, "writing output: %s", strerror(errno));
  return rc;
}

void run_stats_free(struct run_stats *stats)
{
  json_decref(stats->state);
  stats->state = NULL;
}
