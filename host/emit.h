/* emit.h - protocol messages: Singer, Airbyte and JSONL, one line each.
 *
 * An emitter turns a plugin's records and states into the lines of one
 * output format and appends them to a struct buf; where the bytes go
 * (stdout, file, a target's stdin) and when they are flushed is
 * output.c's business. Nothing here reads the clock: every call that
 * stamps a time takes it as `now_ms` (ms since the epoch) from the caller.
 *
 * Every function appends whole lines ("...\n") or nothing: on failure the
 * buffer is back at its length on entry.
 *
 * Byte format, per format:
 *  - singer: as singer-sdk writes (simplejson.dumps, separators (",",":"),
 *    ensure_ascii on: non-ASCII as \uXXXX; see jsonw.h), keys in its
 *    order:
 *      {"type":"SCHEMA","stream":S,"schema":{..},"key_properties":[..],
 *       "bookmark_properties":[RK]}      (the last only for incremental)
 *      {"type":"RECORD","stream":S,"record":{..},"time_extracted":T}
 *      {"type":"STATE","value":{"bookmarks":{..}}}
 *    T is Python's datetime.isoformat() of the UTC time:
 *    "2022-01-01T00:00:00+00:00", or "2022-01-01T00:00:00.123000+00:00"
 *    when the milliseconds are not zero.
 *  - airbyte: the Airbyte protocol (v0, airbyte_protocol.yaml); UTF-8 is
 *    written raw (as the Python CDK's orjson does).
 *  - jsonl: the bare record, one a line (raw UTF-8).
 *
 * Plugin state and the formats' state shapes (the plugin's state is a JSON
 * object of its own shape; by convention keyed by stream name, as in
 * {"orders": {"replication_key": "updated_at",
 *             "replication_key_value": "2024-01-01T00:00:00Z"}}):
 *  - singer: the STATE value is always {"bookmarks": STATE}, so a plugin
 *    that keys its state by stream gets singer-sdk's shape exactly, and
 *    the inverse (emit_singer_state_from_value) is exact. Resuming from a
 *    singer-sdk tap's state works the same way.
 *  - airbyte: when every member of STATE names a known stream and holds an
 *    object, one STATE of type STREAM per member whose value changed since
 *    it was last written (stream_state = the member; sourceStats.recordCount
 *    = records of that stream since its last STATE). Otherwise one STATE of
 *    type GLOBAL: shared_state = STATE, stream_states = [], recordCount =
 *    all records since the last STATE. emit_airbyte_state_from_messages is
 *    the inverse.
 *  - jsonl: states are not written (the store keeps them).
 * In every format a state identical to the last one written is not written
 * again.
 *
 * Streams: the caller registers the plugin's discover() output before the
 * run. Singer requires it: a record for an undeclared stream is refused
 * (INTEG_EPLUGIN) rather than given an empty schema, because a target cannot
 * create a table from nothing and the silence would hide a plugin bug.
 * Airbyte and JSONL accept records of any stream.
 */
#ifndef INTEG_HOST_EMIT_H
#define INTEG_HOST_EMIT_H

#include <stddef.h>
#include <stdint.h>

#include <integ/plugin.h>

#include "buf.h"

enum emit_format { EMIT_SINGER, EMIT_AIRBYTE, EMIT_JSONL };

/* "singer", "airbyte" or "jsonl" to *format. INTEG_ECONFIG naming the
 * value and the choices otherwise. */
int emit_format_parse(const char *name, enum emit_format *format,
                      struct integ_error *err);
/* The format's name as emit_format_parse takes it (static string). */
const char *emit_format_name(enum emit_format format);

struct emit;

/* A new emitter (free with emit_free). Returns 0 or INTEG_ENOMEM. */
int emit_new(enum emit_format format, struct emit **out,
             struct integ_error *err);
void emit_free(struct emit *e);
enum emit_format emit_get_format(const struct emit *e);

/* Register one stream, an element of discover()'s array (borrowed; the
 * emitter keeps its own references):
 *   {"stream": NAME, "schema": {..}, "key_properties": [NAME..]?,
 *    "replication_key": NAME?, "namespace": NAME?}
 * ("namespace" is integ's addition, used by Airbyte). INTEG_EPLUGIN with
 * the member's path ("discover()[2].schema: ...") when the shape is wrong
 * or the stream is declared twice. */
int emit_add_stream(struct emit *e, json_t *desc, struct integ_error *err);
/* Register every element of discover()'s array (borrowed). */
int emit_add_streams(struct emit *e, json_t *streams, struct integ_error *err);

/* Write one record of `stream` (record borrowed, must be an object).
 * Singer writes the stream's SCHEMA first if it has not been written yet.
 * Errors: INTEG_EPLUGIN (not an object; undeclared Singer stream),
 * INTEG_EINVAL (a string that is not UTF-8, a non-finite real, too deep),
 * INTEG_ENOMEM. */
int emit_record(struct emit *e, struct buf *out, const char *stream,
                json_t *record, int64_t now_ms, struct integ_error *err);

/* Records written as bytes (jscan.h), a page at a time: before the
 * page, with out NULL, check the stream and say in *ready whether its
 * records can be written now (0: Singer's SCHEMA is due; call again with
 * out, only once the page has records, to write it); *namespace
 * (borrowed) is Airbyte's. Errors as emit_record's. After the page,
 * count its records (Airbyte's recordCount). */
int emit_page_begin(struct emit *e, struct buf *out, const char *stream,
                    const char **namespace, int *ready,
                    struct integ_error *err);
void emit_page_done(struct emit *e, const char *stream, size_t records);
/* Write the plugin's whole state (borrowed, an object), mapped as
 * described above; nothing when it equals the last one written. */
int emit_state(struct emit *e, struct buf *out, json_t *state, int64_t now_ms,
               struct integ_error *err);

/* Singer: write the SCHEMA of a registered stream now (again, if it was
 * written before: singer-sdk repeats it, e.g. per parent context).
 * INTEG_ENOTFOUND for an unknown stream; nothing for other formats. */
int emit_schema(struct emit *e, struct buf *out, const char *stream,
                struct integ_error *err);

/* ---- Singer, one message each (all arguments borrowed) ---- */

/* key_properties: array of strings or NULL (written as []);
 * bookmark_properties: array of strings or NULL (then left out). */
int emit_singer_schema(struct buf *out, const char *stream, json_t *schema,
                       json_t *key_properties, json_t *bookmark_properties,
                       struct integ_error *err);
int emit_singer_record(struct buf *out, const char *stream, json_t *record,
                       int64_t now_ms, struct integ_error *err);
/* value is the STATE value as written (already {"bookmarks": ...}). */
int emit_singer_state(struct buf *out, json_t *value, struct integ_error *err);
/* singer-sdk's time_extracted text for ms since the epoch (UTC) into buf
 * (at least EMIT_TIME_MAX bytes). Returns buf. */
#define EMIT_TIME_MAX 40
char *emit_singer_time(int64_t ms, char *buf, size_t size);

/* The plugin state for a Singer STATE value (borrowed; what `--state FILE`
 * holds): a new reference to value's "bookmarks" object, or an empty
 * object when value has none. INTEG_ESTATE with the key path when value
 * is not an object or "bookmarks" is not an object. Other members (such
 * as "currently_syncing") are dropped. */
json_t *emit_singer_state_from_value(json_t *value, struct integ_error *err);

/* ---- Airbyte, one message each (all arguments borrowed) ----
 * `namespace` arguments may be NULL (left out). */

enum emit_airbyte_status {
  EMIT_AIRBYTE_STARTED,
  EMIT_AIRBYTE_RUNNING,
  EMIT_AIRBYTE_COMPLETE,
  EMIT_AIRBYTE_INCOMPLETE
};

enum emit_airbyte_failure {
  EMIT_AIRBYTE_SYSTEM_ERROR,
  EMIT_AIRBYTE_CONFIG_ERROR,
  EMIT_AIRBYTE_TRANSIENT_ERROR
};

/* {"type":"RECORD","record":{"stream","data","emitted_at","namespace"?}} */
int emit_airbyte_record(struct buf *out, const char *stream,
                        const char *namespace, json_t *data,
                        int64_t emitted_at_ms, struct integ_error *err);
/* STATE type STREAM: stream_descriptor {name, namespace?}, stream_state
 * (an object), sourceStats.recordCount as a real (2.0: the protocol wants
 * a decimal point). */
int emit_airbyte_state_stream(struct buf *out, const char *stream,
                              const char *namespace, json_t *stream_state,
                              uint64_t record_count, struct integ_error *err);
/* STATE type GLOBAL: shared_state (object or NULL), stream_states (array
 * of AirbyteStreamState objects; NULL writes []). */
int emit_airbyte_state_global(struct buf *out, json_t *shared_state,
                              json_t *stream_states, uint64_t record_count,
                              struct integ_error *err);
/* TRACE STREAM_STATUS. */
int emit_airbyte_stream_status(struct buf *out, const char *stream,
                               const char *namespace,
                               enum emit_airbyte_status status, int64_t now_ms,
                               struct integ_error *err);
/* TRACE ERROR: message for the user; internal_message and stream may be
 * NULL. */
int emit_airbyte_error(struct buf *out, const char *message,
                       const char *internal_message,
                       enum emit_airbyte_failure failure, const char *stream,
                       int64_t now_ms, struct integ_error *err);
/* LOG; level one of FATAL ERROR WARN INFO DEBUG TRACE (INTEG_EINVAL
 * otherwise). */
int emit_airbyte_log(struct buf *out, const char *level, const char *message,
                     struct integ_error *err);
/* The Airbyte LOG level for a host log level ("ERROR", "WARN", ...). */
const char *emit_airbyte_log_level(enum integ_log_level level);
/* SPEC: spec is a ConnectorSpecification object (it must hold a
 * "connectionSpecification" object). */
int emit_airbyte_spec(struct buf *out, json_t *spec, struct integ_error *err);
/* CATALOG: catalog is an AirbyteCatalog object ({"streams": [...]}). */
int emit_airbyte_catalog(struct buf *out, json_t *catalog,
                         struct integ_error *err);
/* CONNECTION_STATUS: SUCCEEDED when ok, else FAILED; message may be NULL. */
int emit_airbyte_connection_status(struct buf *out, int ok,
                                   const char *message,
                                   struct integ_error *err);
/* CONTROL CONNECTOR_CONFIG: config is the whole updated connector config. */
int emit_airbyte_control_config(struct buf *out, json_t *config,
                                int64_t now_ms, struct integ_error *err);

/* The plugin state for the JSON array of Airbyte state messages that a
 * source receives with --state (borrowed): STREAM entries become
 * {name: stream_state}; a GLOBAL entry's shared_state is merged in (and its
 * stream_states as STREAM entries). New reference, or NULL with
 * INTEG_ESTATE naming the element ("state[1].stream.stream_descriptor")
 * when the array is malformed. Entries of type LEGACY (or no type) give
 * their "data" object. */
json_t *emit_airbyte_state_from_messages(json_t *messages,
                                         struct integ_error *err);

#endif
