/* emit_sample.c - writes one of every Airbyte message kind to stdout, as
 * the emitter makes them, for tests/airbyte_schema.sh to validate against
 * airbyte_protocol.yaml and to compare with tests/golden/airbyte.jsonl.
 * Not installed. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "buf.h"
#include "catalog.h"
#include "emit.h"

#define NOW 1700000000000LL

static const char discover_text[] =
    "[{\"stream\":\"users\",\"schema\":{\"type\":\"object\",\"properties\":"
    "{\"id\":{\"type\":\"integer\"},\"name\":{\"type\":\"string\"}}},"
    "\"key_properties\":[\"id\"]},"
    "{\"stream\":\"orders\",\"schema\":{\"type\":\"object\",\"properties\":"
    "{\"id\":{\"type\":\"integer\"},\"total\":{\"type\":\"number\"},"
    "\"updated_at\":{\"type\":\"string\",\"format\":\"date-time\"}}},"
    "\"key_properties\":[\"id\"],\"replication_key\":\"updated_at\","
    "\"namespace\":\"shop\"}]";

static const char spec_text[] =
    "{\"documentationUrl\":\"https://example.com/docs\","
    "\"connectionSpecification\":{\"$schema\":"
    "\"http://json-schema.org/draft-07/schema#\",\"type\":\"object\","
    "\"required\":[\"api_key\"],\"properties\":{\"api_key\":{\"type\":"
    "\"string\",\"airbyte_secret\":true}}}}";

static json_t *parse(const char *text)
{
  json_t *v = json_loads(text, 0, NULL);

  if (!v) {
    fprintf(stderr, "emit_sample: bad built-in JSON: %s\n", text);
    exit(1);
  }
  return v;
}

/* One step: stop at the first failure, saying which. */
#define STEP(call)                                                            \
  do {                                                                        \
    if ((call) != 0) {                                                        \
      fprintf(stderr, "emit_sample: %s: %s\n", #call, err.message);           \
      goto out;                                                               \
    }                                                                         \
  } while (0)

int main(void)
{
  struct integ_error err = {0, ""};
  struct buf b = BUF_INIT;
  struct emit *e = NULL;
  json_t *discover = parse(discover_text), *spec = parse(spec_text);
  json_t *catalog = NULL, *v = NULL;
  int status = 1;

  STEP(emit_new(EMIT_AIRBYTE, &e, &err));
  STEP(emit_add_streams(e, discover, &err));
  STEP(emit_airbyte_spec(&b, spec, &err));
  STEP(emit_airbyte_connection_status(&b, 1, NULL, &err));
  STEP(emit_airbyte_connection_status(&b, 0, "401 Unauthorized: check api_key",
                                      &err));
  STEP(catalog_airbyte_from_discover(discover, &catalog, &err));
  STEP(emit_airbyte_catalog(&b, catalog, &err));
  STEP(emit_airbyte_stream_status(&b, "users", NULL, EMIT_AIRBYTE_STARTED, NOW,
                                  &err));
  STEP(emit_airbyte_stream_status(&b, "users", NULL, EMIT_AIRBYTE_RUNNING, NOW,
                                  &err));
  v = parse("{\"id\":1,\"name\":\"Zo\\u00eb\"}");
  STEP(emit_record(e, &b, "users", v, NOW, &err));
  json_decref(v);
  v = parse("{\"id\":10,\"total\":423.962,"
            "\"updated_at\":\"2024-01-01T00:00:00Z\"}");
  STEP(emit_record(e, &b, "orders", v, NOW + 1, &err));
  json_decref(v);
  /* Per-stream states; the second is identical and writes nothing; the
   * third changes only users. */
  v = parse("{\"orders\":{\"updated_at\":\"2024-01-01T00:00:00Z\"}}");
  STEP(emit_state(e, &b, v, NOW, &err));
  STEP(emit_state(e, &b, v, NOW, &err));
  json_decref(v);
  v = parse("{\"orders\":{\"updated_at\":\"2024-01-01T00:00:00Z\"},"
            "\"users\":{}}");
  STEP(emit_state(e, &b, v, NOW, &err));
  json_decref(v);
  /* Not keyed by stream: one GLOBAL state. */
  v = parse("{\"cursor\":5}");
  STEP(emit_state(e, &b, v, NOW, &err));
  json_decref(v);
  v = parse("[{\"stream_descriptor\":{\"name\":\"users\"},"
            "\"stream_state\":{\"a\":1}}]");
  STEP(emit_airbyte_state_global(&b, NULL, v, 3, &err));
  json_decref(v);
  v = NULL;
  STEP(emit_airbyte_stream_status(&b, "users", NULL, EMIT_AIRBYTE_COMPLETE,
                                  NOW, &err));
  STEP(emit_airbyte_stream_status(&b, "orders", "shop",
                                  EMIT_AIRBYTE_INCOMPLETE, NOW, &err));
  STEP(emit_airbyte_log(&b, emit_airbyte_log_level(INTEG_LOG_INFO),
                        "synced 2 records", &err));
  STEP(emit_airbyte_error(&b, "The config is wrong: api_key is missing",
                          "config: api_key: required",
                          EMIT_AIRBYTE_CONFIG_ERROR, "users", NOW, &err));
  STEP(emit_airbyte_error(&b, "Upstream timed out", NULL,
                          EMIT_AIRBYTE_TRANSIENT_ERROR, NULL, NOW, &err));
  STEP(emit_airbyte_error(&b, "internal error", NULL,
                          EMIT_AIRBYTE_SYSTEM_ERROR, NULL, NOW, &err));
  v = parse("{\"api_key\":\"k2\",\"refresh_token\":\"r2\"}");
  STEP(emit_airbyte_control_config(&b, v, NOW, &err));
  if (fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout)) {
    fprintf(stderr, "emit_sample: write failed\n");
    goto out;
  }
  status = 0;
out:
  json_decref(v);
  json_decref(catalog);
  json_decref(spec);
  json_decref(discover);
  emit_free(e);
  buf_free(&b);
  return status;
}
