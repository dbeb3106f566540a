/* hang.c - a slow or hung test plugin for the daemon's supervision.
 * Config: {"records": N, "delay_ms": D, "state_every": K, "hang": false}.
 * It emits N records (stream "slow", id 1..N), D ms apart, a state
 * {"slow": {"n": I}} every K records; the state resumes after record I.
 * With "hang": true it then sleeps forever without calling the host, so
 * only SIGKILL ends it (a stop request is never seen).
 */
#include <stdlib.h>
#include <time.h>

#include <integ/plugin.h>

struct hang {
  const struct integ_host *host; /* borrowed, valid until unload */
  integ_ctx *ctx;                /* borrowed, valid until unload */
  json_int_t records, delay_ms, state_every, from;
  int hang;
};

static json_int_t int_or(json_t *obj, const char *key, json_int_t dflt)
{
  json_t *v = json_object_get(obj, key);

  return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static int hang_load(const struct integ_host *host, integ_ctx *ctx,
                     json_t *config, json_t *state, void **instance,
                     struct integ_error *err)
{
  struct hang *h = calloc(1, sizeof(*h));

  if (!h) {
    integ_error_set(err, INTEG_ENOMEM, "out of memory");
    return INTEG_ENOMEM;
  }
  h->host = host;
  h->ctx = ctx;
  h->records = int_or(config, "records", 0);
  h->delay_ms = int_or(config, "delay_ms", 100);
  h->state_every = int_or(config, "state_every", 1);
  h->hang = json_is_true(json_object_get(config, "hang"));
  h->from = int_or(json_object_get(state, "slow"), "n", 0);
  *instance = h;
  return 0;
}

static void sleep_ms(json_int_t ms)
{
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

  /* A signal's handler only sets a flag: sleep on through it. */
  while (nanosleep(&ts, &ts) == -1)
    ;
}

static int hang_run(void *instance, struct integ_error *err)
{
  struct hang *h = instance;
  int rc = 0;

  for (json_int_t i = h->from + 1; i <= h->records && !rc; i++) {
    json_t *rec = json_pack("{s:I}", "id", i);

    if (!rec) {
      integ_error_set(err, INTEG_ENOMEM, "out of memory");
      return INTEG_ENOMEM;
    }
    sleep_ms(h->delay_ms);
    rc = h->host->emit_record(h->ctx, "slow", rec, err);
    json_decref(rec);
    if (!rc && i % h->state_every == 0) {
      json_t *st = json_pack("{s:{s:I}}", "slow", "n", i);

      if (!st) {
        integ_error_set(err, INTEG_ENOMEM, "out of memory");
        return INTEG_ENOMEM;
      }
      rc = h->host->emit_state(h->ctx, st, err);
      json_decref(st);
    }
  }
  while (!rc && h->hang)
    sleep_ms(1000);
  return rc;
}

static void hang_unload(void *instance)
{
  free(instance);
}

static json_t *hang_discover(void *instance, struct integ_error *err)
{
  (void)instance, (void)err;
  return json_pack("[{s:s, s:{s:s}, s:[s]}]", "stream", "slow", "schema",
                   "type", "object", "key_properties", "id");
}

static const struct integ_plugin hang_plugin = {
    INTEG_PLUGIN_HEADER,
    .name = "hang",
    .version = "0.1.0",
    .description = "Test: slow records, then optionally hangs",
    .spec = "{\"type\": \"object\"}",
    .load = hang_load,
    .run = hang_run,
    .unload = hang_unload,
    .discover = hang_discover,
};

INTEG_PLUGIN_DEFINE(hang_plugin)
