/* hookplug.c - a test plugin that processes webhook events: each event
 * becomes one record {delivery_id, type, scheme, received_ms, body,
 * signature} on the stream "events" (signature: the value of the
 * event's signature header as the host passed it, to show it is
 * redacted). Config: {"fail_type": T} makes events of type T fail, to
 * exercise retries and the dead-letter state. run() emits nothing.
 */
#include <stdlib.h>
#include <string.h>

#include <integ/plugin.h>

struct hook {
  const struct integ_host *host; /* borrowed, valid until unload */
  integ_ctx *ctx;                /* borrowed, valid until unload */
  char *fail_type;
};

static const char spec[] =
    "{\"type\": \"object\", \"additionalProperties\": false,"
    " \"properties\": {\"fail_type\": {\"type\": \"string\"}}}";

static int hook_load(const struct integ_host *host, integ_ctx *ctx,
                     json_t *config, json_t *state, void **instance,
                     struct integ_error *err)
{
  struct hook *h = calloc(1, sizeof(*h));
  const char *ft = json_string_value(json_object_get(config, "fail_type"));

  (void)state;
  if (!h || (ft && !(h->fail_type = strdup(ft)))) {
    free(h);
    integ_error_set(err, INTEG_ENOMEM, "out of memory");
    return INTEG_ENOMEM;
  }
  h->host = host;
  h->ctx = ctx;
  *instance = h;
  return 0;
}

static int hook_run(void *instance, struct integ_error *err)
{
  (void)instance;
  (void)err;
  return 0;
}

static int hook_event(void *instance, const struct integ_event *ev,
                      struct integ_error *err)
{
  struct hook *h = instance;
  json_t *rec, *sig = NULL;
  const char *names[] = {"webhook-signature", "x-hub-signature-256",
                         "stripe-signature", "x-slack-signature",
                         "x-signature"};
  int rc;

  if (h->fail_type && ev->type && strcmp(ev->type, h->fail_type) == 0) {
    integ_error_set(err, INTEG_EPLUGIN, "events of type %s fail (test)",
                    ev->type);
    return INTEG_EPLUGIN;
  }
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !sig; i++)
    sig = json_object_get(ev->headers, names[i]);
  rec = json_pack("{s:s?, s:s?, s:s, s:I, s:s%, s:O?}", "delivery_id",
                  ev->delivery_id, "type", ev->type, "scheme", ev->scheme,
                  "received_ms", (json_int_t)ev->received_ms, "body", ev->body,
                  ev->body_len, "signature", sig);
  if (!rec) {
    integ_error_set(err, INTEG_ENOMEM, "out of memory");
    return INTEG_ENOMEM;
  }
  rc = h->host->emit_record(h->ctx, "events", rec, err);
  json_decref(rec);
  return rc;
}

static void hook_unload(void *instance)
{
  struct hook *h = instance;

  free(h->fail_type);
  free(h);
}

static json_t *hook_discover(void *instance, struct integ_error *err)
{
  (void)instance;
  (void)err;
  return json_pack("[{s:s, s:{s:s}, s:[s]}]", "stream", "events", "schema",
                   "type", "object", "key_properties", "delivery_id");
}

static const struct integ_plugin hook_plugin = {
    INTEG_PLUGIN_HEADER,
    .name = "hookplug",
    .version = "0.1.0",
    .description = "Test: webhook events as records",
    .spec = spec,
    .load = hook_load,
    .run = hook_run,
    .unload = hook_unload,
    .discover = hook_discover,
    .on_event = hook_event,
};

INTEG_PLUGIN_DEFINE(hook_plugin)
