/* gen.c - a test plugin that generates N records through emit_record, with
 * a state every state_every records: memory tests and benchmarks of the
 * output path without HTTP. Config: {"records": N, "state_every": 1000}.
 * The state {"gen": {"n": K}} resumes after record K.
 */
#include <stdio.h>
#include <stdlib.h>

#include <integ/plugin.h>

struct gen {
  const struct integ_host *host; /* borrowed, valid until unload */
  integ_ctx *ctx;                /* borrowed, valid until unload */
  json_int_t records, state_every, from;
};

static const char spec[] =
    "{\"type\": \"object\", \"additionalProperties\": false,"
    " \"properties\": {"
    "  \"records\": {\"type\": \"integer\", \"minimum\": 0},"
    "  \"state_every\": {\"type\": \"integer\", \"minimum\": 1}"
    " }}";

static json_int_t int_or(json_t *obj, const char *key, json_int_t dflt)
{
  json_t *v = json_object_get(obj, key);

  return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static int gen_load(const struct integ_host *host, integ_ctx *ctx,
                    json_t *config, json_t *state, void **instance,
                    struct integ_error *err)
{
  struct gen *g = calloc(1, sizeof(*g));

  if (!g) {
    integ_error_set(err, INTEG_ENOMEM, "out of memory");
    return INTEG_ENOMEM;
  }
  g->host = host;
  g->ctx = ctx;
  g->records = int_or(config, "records", 1000);
  g->state_every = int_or(config, "state_every", 1000);
  g->from = int_or(json_object_get(state, "gen"), "n", 0);
  *instance = g;
  return 0;
}

static int gen_state(struct gen *g, json_int_t n, struct integ_error *err)
{
  json_t *st = json_pack("{s:{s:I}}", "gen", "n", n);
  int rc;

  if (!st) {
    integ_error_set(err, INTEG_ENOMEM, "out of memory");
    return INTEG_ENOMEM;
  }
  rc = g->host->emit_state(g->ctx, st, err);
  json_decref(st);
  return rc;
}

static int gen_run(void *instance, struct integ_error *err)
{
  struct gen *g = instance;
  int rc = 0;

  for (json_int_t i = g->from + 1; i <= g->records && !rc; i++) {
    /* Built once per record and dropped at once: the host borrows it. */
    json_t *rec = json_pack("{s:I, s:s, s:f, s:b, s:{s:I}}", "id", i, "name",
                            "generated record", "amount", (double)i * 0.25,
                            "even", (int)(i % 2 == 0), "meta", "seq", i);

    if (!rec) {
      integ_error_set(err, INTEG_ENOMEM, "out of memory");
      return INTEG_ENOMEM;
    }
    rc = g->host->emit_record(g->ctx, "gen", rec, err);
    json_decref(rec);
    if (!rc && i % g->state_every == 0)
      rc = gen_state(g, i, err);
  }
  if (!rc && g->records > g->from && g->records % g->state_every)
    rc = gen_state(g, g->records, err);
  return rc;
}

static void gen_unload(void *instance)
{
  free(instance);
}

static json_t *gen_discover(void *instance, struct integ_error *err)
{
  (void)instance;
  (void)err;
  return json_pack("[{s:s, s:{s:s}, s:[s]}]", "stream", "gen", "schema",
                   "type", "object", "key_properties", "id");
}

static int gen_check(void *instance, struct integ_error *err)
{
  (void)instance;
  (void)err;
  return 0;
}

static const struct integ_plugin gen_plugin = {
    INTEG_PLUGIN_HEADER,
    .name = "gen",
    .version = "0.1.0",
    .description = "Test: N generated records, a state every K",
    .spec = spec,
    .load = gen_load,
    .run = gen_run,
    .unload = gen_unload,
    .discover = gen_discover,
    .check = gen_check,
};

INTEG_PLUGIN_DEFINE(gen_plugin)
