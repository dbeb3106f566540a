/* emit_airbyte.c - Airbyte protocol messages (v0, airbyte_protocol.yaml),
 * one line each; see emit.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "emit.h"
#include "error.h"
#include "jsonw.h"

/* UTF-8 raw, as the Python CDK (orjson) writes it. */
#define AB_FLAGS 0u

/* A string literal and its length, for buf_append. */
#define LIT(s) s, sizeof(s) - 1

static int fail(struct buf *out, size_t start, int rc, const char *what,
                struct integ_error *err)
{
  out->len = start;
  if (out->data)
    out->data[start] = '\0';
  if (rc == INTEG_ENOMEM)
    return error_set(err, rc, "out of memory writing an Airbyte %s message",
                     what);
  return error_set(err, rc,
                   "cannot write the Airbyte %s message: it holds a string "
                   "that is not valid UTF-8, a real that is not finite, or "
                   "nesting deeper than %d",
                   what, JSONW_MAX_DEPTH);
}

static int str(struct buf *out, const char *s)
{
  return jsonw_string(out, s, strlen(s), AB_FLAGS);
}

/* {"name":N,"namespace":NS} */
static int descriptor(struct buf *out, const char *stream,
                      const char *namespace)
{
  int rc;

  if ((rc = buf_append(out, LIT("{\"name\":"))) || (rc = str(out, stream)))
    return rc;
  if (namespace && ((rc = buf_append(out, LIT(",\"namespace\":"))) ||
                    (rc = str(out, namespace))))
    return rc;
  return buf_append(out, LIT("}"));
}

/* recordCount is a double in the protocol, written with a decimal point. */
static int record_count(struct buf *out, uint64_t n)
{
  int rc;

  if ((rc = buf_append(out, LIT(",\"sourceStats\":{\"recordCount\":"))) ||
      (rc = jsonw_real(out, (double)n)))
    return rc;
  return buf_append(out, LIT("}"));
}

int emit_airbyte_record(struct buf *out, const char *stream,
                        const char *namespace, json_t *data,
                        int64_t emitted_at_ms, struct integ_error *err)
{
  size_t start = out->len;
  int rc;

  if ((rc = buf_append(out, LIT("{\"type\":\"RECORD\",\"record\":"
                                "{\"stream\":"))) ||
      (rc = str(out, stream)) || (rc = buf_append(out, LIT(",\"data\":"))) ||
      (rc = jsonw_value(out, data, AB_FLAGS)) ||
      (rc = buf_append(out, LIT(",\"emitted_at\":"))) ||
      (rc = jsonw_integer(out, emitted_at_ms)))
    goto out;
  if (namespace && ((rc = buf_append(out, LIT(",\"namespace\":"))) ||
                    (rc = str(out, namespace))))
    goto out;
  rc = buf_append(out, LIT("}}\n"));
out:
  return rc ? fail(out, start, rc, "RECORD", err) : 0;
}

int emit_airbyte_state_stream(struct buf *out, const char *stream,
                              const char *namespace, json_t *stream_state,
                              uint64_t count, struct integ_error *err)
{
  size_t start = out->len;
  int rc;

  if ((rc = buf_append(out, LIT("{\"type\":\"STATE\",\"state\":{\"type\":"
                                "\"STREAM\",\"stream\":"
                                "{\"stream_descriptor\":"))) ||
      (rc = descriptor(out, stream, namespace)) ||
      (rc = buf_append(out, LIT(",\"stream_state\":"))) ||
      (rc = jsonw_value(out, stream_state, AB_FLAGS)) ||
      (rc = buf_append(out, LIT("}"))) || (rc = record_count(out, count)) ||
      (rc = buf_append(out, LIT("}}\n"))))
    return fail(out, start, rc, "STATE", err);
  return 0;
}

int emit_airbyte_state_global(struct buf *out, json_t *shared_state,
                              json_t *stream_states, uint64_t count,
                              struct integ_error *err)
{
  size_t start = out->len;
  int rc;

  if ((rc = buf_append(out, LIT("{\"type\":\"STATE\",\"state\":{\"type\":"
                                "\"GLOBAL\",\"global\":{"))))
    goto out;
  if (shared_state && ((rc = buf_append(out, LIT("\"shared_state\":"))) ||
                       (rc = jsonw_value(out, shared_state, AB_FLAGS)) ||
                       (rc = buf_append(out, LIT(",")))))
    goto out;
  if ((rc = buf_append(out, LIT("\"stream_states\":"))) ||
      (rc = stream_states ? jsonw_value(out, stream_states, AB_FLAGS)
                          : buf_append(out, LIT("[]"))) ||
      (rc = buf_append(out, LIT("}"))) || (rc = record_count(out, count)))
    goto out;
  rc = buf_append(out, LIT("}}\n"));
out:
  return rc ? fail(out, start, rc, "STATE", err) : 0;
}

/* {"type":"TRACE","trace":{"type":T,"emitted_at":MS, then the caller's
 * part, then "}}\n". */
static int trace_head(struct buf *out, const char *type, int64_t now_ms)
{
  int rc;

  if ((rc =
           buf_append(out, LIT("{\"type\":\"TRACE\",\"trace\":{\"type\":"))) ||
      (rc = str(out, type)) || (rc = buf_append(out, LIT(",\"emitted_at\":"))))
    return rc;
  return jsonw_integer(out, now_ms);
}

int emit_airbyte_stream_status(struct buf *out, const char *stream,
                               const char *namespace,
                               enum emit_airbyte_status status, int64_t now_ms,
                               struct integ_error *err)
{
  static const char *const names[] = {"STARTED", "RUNNING", "COMPLETE",
                                      "INCOMPLETE"};
  size_t start = out->len;
  int rc;

  if ((unsigned)status >= sizeof names / sizeof names[0])
    return error_set(err, INTEG_EINVAL, "unknown Airbyte stream status %d",
                     (int)status);
  if ((rc = trace_head(out, "STREAM_STATUS", now_ms)) ||
      (rc = buf_append(out, LIT(",\"stream_status\":"
                                "{\"stream_descriptor\":"))) ||
      (rc = descriptor(out, stream, namespace)) ||
      (rc = buf_append(out, LIT(",\"status\":"))) ||
      (rc = str(out, names[status])) || (rc = buf_append(out, LIT("}}}\n"))))
    return fail(out, start, rc, "TRACE", err);
  return 0;
}

int emit_airbyte_error(struct buf *out, const char *message,
                       const char *internal_message,
                       enum emit_airbyte_failure failure, const char *stream,
                       int64_t now_ms, struct integ_error *err)
{
  static const char *const names[] = {"system_error", "config_error",
                                      "transient_error"};
  size_t start = out->len;
  int rc;

  if ((unsigned)failure >= sizeof names / sizeof names[0])
    return error_set(err, INTEG_EINVAL, "unknown Airbyte failure type %d",
                     (int)failure);
  if ((rc = trace_head(out, "ERROR", now_ms)) ||
      (rc = buf_append(out, LIT(",\"error\":{\"message\":"))) ||
      (rc = str(out, message)))
    goto out;
  if (internal_message &&
      ((rc = buf_append(out, LIT(",\"internal_message\":"))) ||
       (rc = str(out, internal_message))))
    goto out;
  if ((rc = buf_append(out, LIT(",\"failure_type\":"))) ||
      (rc = str(out, names[failure])))
    goto out;
  if (stream && ((rc = buf_append(out, LIT(",\"stream_descriptor\":"))) ||
                 (rc = descriptor(out, stream, NULL))))
    goto out;
  rc = buf_append(out, LIT("}}}\n"));
out:
  return rc ? fail(out, start, rc, "TRACE", err) : 0;
}

int emit_airbyte_log(struct buf *out, const char *level, const char *message,
                     struct integ_error *err)
{
  static const char *const levels[] = {"FATAL", "ERROR", "WARN",
                                       "INFO",  "DEBUG", "TRACE"};
  size_t start = out->len, i;
  int rc;

  for (i = 0; i < sizeof levels / sizeof levels[0]; i++)
    if (strcmp(level, levels[i]) == 0)
      break;
  if (i == sizeof levels / sizeof levels[0])
    return error_set(err, INTEG_EINVAL,
                     "Airbyte log level '%s': expected FATAL, ERROR, WARN, "
                     "INFO, DEBUG or TRACE",
                     level);
  if ((rc = buf_append(out, LIT("{\"type\":\"LOG\",\"log\":{\"level\":"))) ||
      (rc = str(out, level)) || (rc = buf_append(out, LIT(",\"message\":"))) ||
      (rc = str(out, message)) || (rc = buf_append(out, LIT("}}\n"))))
    return fail(out, start, rc, "LOG", err);
  return 0;
}

const char *emit_airbyte_log_level(enum integ_log_level level)
{
  switch (level) {
  case INTEG_LOG_ERROR:
    return "ERROR";
  case INTEG_LOG_WARN:
    return "WARN";
  case INTEG_LOG_INFO:
    return "INFO";
  case INTEG_LOG_DEBUG:
    return "DEBUG";
  }
  return "INFO";
}

/* {"type":TYPE,"KEY":VALUE}\n */
static int wrap(struct buf *out, const char *head, size_t head_len,
                json_t *value, const char *what, struct integ_error *err)
{
  size_t start = out->len;
  int rc;

  if ((rc = buf_append(out, head, head_len)) ||
      (rc = jsonw_value(out, value, AB_FLAGS)) ||
      (rc = buf_append(out, LIT("}\n"))))
    return fail(out, start, rc, what, err);
  return 0;
}

int emit_airbyte_spec(struct buf *out, json_t *spec, struct integ_error *err)
{
  if (!json_is_object(spec) ||
      !json_is_object(json_object_get(spec, "connectionSpecification")))
    return error_set(err, INTEG_EINVAL,
                     "Airbyte SPEC: expected an object with a "
                     "\"connectionSpecification\" object (the config's JSON "
                     "Schema)");
  return wrap(out, LIT("{\"type\":\"SPEC\",\"spec\":"), spec, "SPEC", err);
}

int emit_airbyte_catalog(struct buf *out, json_t *catalog,
                         struct integ_error *err)
{
  if (!json_is_object(catalog) ||
      !json_is_array(json_object_get(catalog, "streams")))
    return error_set(err, INTEG_EINVAL,
                     "Airbyte CATALOG: expected an object with a \"streams\" "
                     "array");
  return wrap(out, LIT("{\"type\":\"CATALOG\",\"catalog\":"), catalog,
              "CATALOG", err);
}

int emit_airbyte_connection_status(struct buf *out, int ok,
                                   const char *message,
                                   struct integ_error *err)
{
  size_t start = out->len;
  int rc;

  if ((rc = buf_append(out, LIT("{\"type\":\"CONNECTION_STATUS\","
                                "\"connectionStatus\":{\"status\":"))) ||
      (rc = str(out, ok ? "SUCCEEDED" : "FAILED")))
    goto out;
  if (message && ((rc = buf_append(out, LIT(",\"message\":"))) ||
                  (rc = str(out, message))))
    goto out;
  rc = buf_append(out, LIT("}}\n"));
out:
  return rc ? fail(out, start, rc, "CONNECTION_STATUS", err) : 0;
}

int emit_airbyte_control_config(struct buf *out, json_t *config,
                                int64_t now_ms, struct integ_error *err)
{
  size_t start = out->len;
  int rc;

  if (!json_is_object(config))
    return error_set(err, INTEG_EINVAL,
                     "Airbyte CONTROL: the connector config must be an "
                     "object");
  if ((rc = buf_append(out, LIT("{\"type\":\"CONTROL\",\"control\":{\"type\":"
                                "\"CONNECTOR_CONFIG\",\"emitted_at\":"))) ||
      (rc = jsonw_integer(out, now_ms)) ||
      (rc = buf_append(out, LIT(",\"connectorConfig\":{\"config\":"))) ||
      (rc = jsonw_value(out, config, AB_FLAGS)) ||
      (rc = buf_append(out, LIT("}}}\n"))))
    return fail(out, start, rc, "CONTROL", err);
  return 0;
}

/* state[name] = stream_state, from an AirbyteStreamState. */
static int merge_stream_state(json_t *state, json_t *ss, const char *path,
                              struct integ_error *err)
{
  json_t *desc = json_object_get(ss, "stream_descriptor");
  json_t *name = json_object_get(desc, "name");
  json_t *value = json_object_get(ss, "stream_state");

  if (!json_is_object(ss) || !json_is_string(name))
    return error_set(err, INTEG_ESTATE,
                     "%s.stream_descriptor.name: expected a string", path);
  if (!value)
    value = json_null();
  if (!json_is_object(value) && !json_is_null(value))
    return error_set(err, INTEG_ESTATE, "%s.stream_state: expected an object",
                     path);
  if (json_is_null(value))
    return 0;
  if (json_object_set(state, json_string_value(name), value))
    return error_set(err, INTEG_ENOMEM, "out of memory reading state");
  return 0;
}

json_t *emit_airbyte_state_from_messages(json_t *messages,
                                         struct integ_error *err)
{
  json_t *state = NULL;
  size_t i, j;
  char path[96];

  if (json_is_object(messages)) {
    /* A bare legacy state object: it is the state. */
    return json_incref(messages);
  }
  if (!json_is_array(messages)) {
    error_set(err, INTEG_ESTATE,
              "state: expected a JSON array of Airbyte state messages");
    return NULL;
  }
  state = json_object();
  if (!state) {
    error_set(err, INTEG_ENOMEM, "out of memory reading state");
    goto out;
  }
  for (i = 0; i < json_array_size(messages); i++) {
    json_t *m = json_array_get(messages, i);
    json_t *type = json_object_get(m, "type");
    const char *t = json_is_string(type) ? json_string_value(type) : NULL;

    if (!json_is_object(m)) {
      error_set(err, INTEG_ESTATE, "state[%zu]: expected an object", i);
      goto out;
    }
    if (t && strcmp(t, "STREAM") == 0) {
      snprintf(path, sizeof path, "state[%zu].stream", i);
      if (merge_stream_state(state, json_object_get(m, "stream"), path, err))
        goto out;
    } else if (t && strcmp(t, "GLOBAL") == 0) {
      json_t *g = json_object_get(m, "global");
      json_t *shared = json_object_get(g, "shared_state");
      json_t *list = json_object_get(g, "stream_states");

      if (!json_is_object(g) ||
          (shared && !json_is_object(shared) && !json_is_null(shared)) ||
          (list && !json_is_array(list))) {
        error_set(err, INTEG_ESTATE,
                  "state[%zu].global: expected {\"shared_state\": {...}, "
                  "\"stream_states\": [...]}",
                  i);
        goto out;
      }
      if (json_is_object(shared) && json_object_update(state, shared)) {
        error_set(err, INTEG_ENOMEM, "out of memory reading state");
        goto out;
      }
      for (j = 0; j < json_array_size(list); j++) {
        snprintf(path, sizeof path, "state[%zu].global.stream_states[%zu]", i,
                 j);
        if (merge_stream_state(state, json_array_get(list, j), path, err))
          goto out;
      }
    } else if (!t || strcmp(t, "LEGACY") == 0) {
      json_t *data = json_object_get(m, "data");

      if (!json_is_object(data)) {
        error_set(err, INTEG_ESTATE,
                  "state[%zu].data: expected an object (legacy state)", i);
        goto out;
      }
      if (json_object_update(state, data)) {
        error_set(err, INTEG_ENOMEM, "out of memory reading state");
        goto out;
      }
    } else {
      error_set(err, INTEG_ESTATE,
                "state[%zu].type: '%s' is not STREAM, GLOBAL or LEGACY", i, t);
      goto out;
    }
  }
  return state;
out:
  json_decref(state);
  return NULL;
}
