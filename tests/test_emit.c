/* test_emit.c - Singer, Airbyte and JSONL emitters: byte for byte against
 * singer-sdk's own snapshots (read in place from $ANCHORS) and against
 * golden files made with Python's json.dumps (tests/golden/). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#include "anchors.h"
#include "buf.h"
#include "clock.h"
#include "emit.h"

/* 2022-01-01T00:00:00Z, the time in singer-sdk's snapshots */
#define T0 1640995200000LL

static json_t *parse(const char *text)
{
  json_error_t jerr;
  json_t *v = json_loads(text, JSON_ALLOW_NUL, &jerr);

  if (!v)
    fail_msg("bad test JSON (%s): %s", jerr.text, text);
  return v;
}

/* The whole file, NUL-terminated, or NULL if it cannot be read. */
static char *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  struct buf b = BUF_INIT;
  char chunk[4096];
  size_t n;

  if (!f)
    return NULL;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    assert_int_equal(buf_append(&b, chunk, n), 0);
  fclose(f);
  if (!b.data)
    assert_int_equal(buf_append(&b, "", 0), 0);
  *len = b.len;
  return b.data;
}

static char *golden(const char *name, size_t *len)
{
  const char *top = getenv("abs_top_srcdir");
  char path[4096];
  char *text;

  snprintf(path, sizeof path, "%s/tests/golden/%s", top ? top : ".", name);
  text = slurp(path, len);
  if (!text)
    fail_msg("cannot read golden file %s", path);
  return text;
}

/* Compare line by line so a failure shows the first differing line. */
static void same_lines(const char *what, const char *want, size_t want_len,
                       const struct buf *got)
{
  size_t i = 0, line = 1, start = 0;

  while (i < want_len && i < got->len && want[i] == got->data[i]) {
    if (want[i] == '\n') {
      line++;
      start = i + 1;
    }
    i++;
  }
  if (i == want_len && i == got->len)
    return;
  {
    const char *we = memchr(want + start, '\n', want_len - start);
    const char *ge = memchr(got->data + start, '\n', got->len - start);
    int wl = (int)(we ? (size_t)(we - want) - start : want_len - start);
    int gl = (int)(ge ? (size_t)(ge - got->data) - start : got->len - start);

    fail_msg("%s: line %zu differs at byte %zu\nexpected: %.*s\n     got: "
             "%.*s",
             what, line, i - start, wl, want + start, gl, got->data + start);
  }
}

/* ---------------------------------------------------------- Singer */

static const char users_schema[] =
    "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},"
    "\"name\":{\"type\":[\"string\",\"null\"]}}}";
static const char orders_schema[] =
    "{\"properties\":{\"id\":{\"type\":\"integer\"},\"total\":{\"type\":"
    "\"number\"},\"updated_at\":{\"type\":\"string\",\"format\":"
    "\"date-time\"},\"tags\":{\"type\":\"array\",\"items\":{\"type\":"
    "\"string\"}},\"meta\":{\"type\":\"object\"}},\"type\":\"object\"}";

static const struct {
  const char *stream;
  const char *record;
  int64_t ms; /* after T0 */
} scenario[] = {
    {"users", "{\"id\":1,\"name\":\"Zo\\u00eb \\\"Z\\\" O'Brien\"}", 0},
    {"users", "{\"id\":2,\"name\":null}", 0},
    {"orders",
     "{\"id\":10,\"total\":423.962,\"updated_at\":\"2024-01-01T00:00:00Z\","
     "\"tags\":[\"a/b\",\"\\ud83d\\ude00\"],\"meta\":{\"z\":1,\"a\":[1.0,"
     "1e-07,-0.0,0.1]}}",
     123},
    {"orders",
     "{\"id\":11,\"total\":1e16,\"updated_at\":\"2024-01-02T00:00:00Z\","
     "\"tags\":[],\"meta\":{\"big\":9223372036854775807,\"neg\":"
     "-9223372036854775808,\"ctl\":\"tab\\tnl\\nls\\u2028del\\u007fnul"
     "\\u0000\"}}",
     999},
};
static const char state1[] =
    "{\"orders\":{\"replication_key\":\"updated_at\","
    "\"replication_key_value\":\"2024-01-01T00:00:00Z\"}}";
static const char state2[] =
    "{\"orders\":{\"replication_key\":\"updated_at\","
    "\"replication_key_value\":\"2024-01-02T00:00:00Z\"},\"users\":{}}";

static struct emit *scenario_emitter(enum emit_format format)
{
  struct integ_error err = {0, ""};
  struct emit *e = NULL;
  char text[1024];
  json_t *streams;

  snprintf(text, sizeof text,
           "[{\"stream\":\"users\",\"schema\":%s,\"key_properties\":"
           "[\"id\"]},{\"stream\":\"orders\",\"schema\":%s,"
           "\"key_properties\":[\"id\"],\"replication_key\":"
           "\"updated_at\"}]",
           users_schema, orders_schema);
  streams = parse(text);
  assert_int_equal(emit_new(format, &e, &err), 0);
  if (emit_add_streams(e, streams, &err))
    fail_msg("emit_add_streams: %s", err.message);
  json_decref(streams);
  return e;
}

static void record(struct emit *e, struct buf *out, size_t i)
{
  struct integ_error err = {0, ""};
  json_t *r = parse(scenario[i].record);

  if (emit_record(e, out, scenario[i].stream, r, T0 + scenario[i].ms, &err))
    fail_msg("emit_record #%zu: %s", i, err.message);
  json_decref(r);
}

static void state(struct emit *e, struct buf *out, const char *text)
{
  struct integ_error err = {0, ""};
  json_t *s = parse(text);

  if (emit_state(e, out, s, T0, &err))
    fail_msg("emit_state: %s", err.message);
  json_decref(s);
}

static void run_scenario(enum emit_format format, struct buf *out)
{
  struct emit *e = scenario_emitter(format);

  record(e, out, 0);
  record(e, out, 1);
  record(e, out, 2);
  state(e, out, state1);
  state(e, out, state1); /* identical: not repeated */
  record(e, out, 3);
  state(e, out, state2);
  emit_free(e);
}

static void singer_output_matches_golden(void **unused)
{
  struct buf out = BUF_INIT;
  size_t len;
  char *want = golden("singer.jsonl", &len);

  (void)unused;
  run_scenario(EMIT_SINGER, &out);
  same_lines("singer.jsonl", want, len, &out);
  free(want);
  buf_free(&out);
}

static void jsonl_output_is_the_bare_records(void **unused)
{
  struct buf out = BUF_INIT;
  size_t len;
  char *want = golden("records.jsonl", &len);

  (void)unused;
  run_scenario(EMIT_JSONL, &out);
  same_lines("records.jsonl", want, len, &out);
  free(want);
  buf_free(&out);
}

static void singer_time_is_python_isoformat(void **unused)
{
  char t[EMIT_TIME_MAX];

  (void)unused;
  assert_string_equal(emit_singer_time(T0, t, sizeof t),
                      "2022-01-01T00:00:00+00:00");
  assert_string_equal(emit_singer_time(T0 + 1, t, sizeof t),
                      "2022-01-01T00:00:00.001000+00:00");
  assert_string_equal(emit_singer_time(T0 - 1, t, sizeof t),
                      "2021-12-31T23:59:59.999000+00:00");
  assert_string_equal(emit_singer_time(0, t, sizeof t),
                      "1970-01-01T00:00:00+00:00");
  /* More from Python: (epoch + timedelta(milliseconds=ms)).isoformat() */
  {
    static const struct {
      int64_t ms;
      const char *iso;
    } py[] = {
        {951782400000LL, "2000-02-29T00:00:00+00:00"},
        {951868799999LL, "2000-02-29T23:59:59.999000+00:00"},
        {4102444800000LL, "2100-01-01T00:00:00+00:00"},
        {-1, "1969-12-31T23:59:59.999000+00:00"},
        {253402300799999LL, "9999-12-31T23:59:59.999000+00:00"},
        {1709210096789LL, "2024-02-29T12:34:56.789000+00:00"},
    };
    size_t i;

    for (i = 0; i < sizeof py / sizeof py[0]; i++)
      assert_string_equal(emit_singer_time(py[i].ms, t, sizeof t), py[i].iso);
  }
}

/* singer-sdk's snapshots, replayed through the emitter: the SCHEMA lines
 * register the stream (and are written where singer-sdk wrote them, as it
 * repeats them per parent context), RECORD lines are emitted at their
 * time_extracted, STATE lines from their bookmarks. The output must be the
 * snapshot, byte for byte. */
static void singer_sdk_snapshots_are_reproduced(void **unused)
{
  static const char *const cases[] = {
      "test_child_deselected_parent",
      "test_child_state_partitioning_keys_empty",
      "test_deselected_child",
      "test_ignore_parent_replication_key",
      "test_incremental_child_stream",
      "test_one_parent_many_children",
      "test_parent_context_fields_in_child",
      "test_preprocess_context_removes_large_payload",
  };
  size_t c, replayed = 0;
  char dir[4096];

  (void)unused;
  anchors_path("singer/meltano-sdk/snapshots/test_parent_child", dir,
               sizeof dir);
  for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    struct integ_error err = {0, ""};
    struct buf out = BUF_INIT;
    struct emit *e = NULL;
    char path[4096];
    char *text, *line, *next;
    size_t len;

    snprintf(path, sizeof path, "%.3900s/%s/singer.jsonl", dir, cases[c]);
    text = slurp(path, &len);
    if (!text)
      fail_msg("reference data %s cannot be read", path);
    assert_int_equal(emit_new(EMIT_SINGER, &e, &err), 0);
    for (line = text; *line; line = next) {
      json_t *m, *type;
      const char *t, *stream;

      next = strchr(line, '\n');
      next = next ? next + 1 : line + strlen(line);
      m = json_loadb(line, (size_t)(next - line), 0, NULL);
      assert_non_null(m);
      type = json_object_get(m, "type");
      t = json_string_value(type);
      stream = json_string_value(json_object_get(m, "stream"));
      if (strcmp(t, "SCHEMA") == 0) {
        json_t *bp = json_object_get(m, "bookmark_properties");
        json_t *desc =
            json_pack("{sssOsO}", "stream", stream, "schema",
                      json_object_get(m, "schema"), "key_properties",
                      json_object_get(m, "key_properties"));

        if (bp)
          json_object_set(desc, "replication_key", json_array_get(bp, 0));
        /* Registered once; a repeated SCHEMA only writes it again. */
        if (emit_schema(e, &out, stream, &err) == INTEG_ENOTFOUND) {
          assert_int_equal(emit_add_stream(e, desc, &err), 0);
          assert_int_equal(emit_schema(e, &out, stream, &err), 0);
        }
        json_decref(desc);
      } else if (strcmp(t, "RECORD") == 0) {
        const char *te =
            json_string_value(json_object_get(m, "time_extracted"));
        int64_t ms;

        assert_int_equal(clock_parse_rfc3339(te, strlen(te), &ms, &err), 0);
        if (emit_record(e, &out, stream, json_object_get(m, "record"), ms,
                        &err))
          fail_msg("%s: %s", cases[c], err.message);
      } else if (strcmp(t, "STATE") == 0) {
        json_t *plugin_state =
            emit_singer_state_from_value(json_object_get(m, "value"), &err);

        assert_non_null(plugin_state);
        assert_int_equal(emit_state(e, &out, plugin_state, 0, &err), 0);
        json_decref(plugin_state);
      } else {
        fail_msg("%s: unexpected message type %s", cases[c], t);
      }
      json_decref(m);
    }
    same_lines(cases[c], text, len, &out);
    replayed++;
    emit_free(e);
    buf_free(&out);
    free(text);
  }
  assert_int_equal(replayed, sizeof cases / sizeof cases[0]);
}

static void singer_refuses_undeclared_streams_and_non_objects(void **unused)
{
  struct integ_error err = {0, ""};
  struct emit *e = scenario_emitter(EMIT_SINGER);
  struct buf out = BUF_INIT;
  json_t *r = parse("{\"id\":1}"), *arr = parse("[1]");

  (void)unused;
  assert_int_equal(emit_record(e, &out, "nosuch", r, T0, &err), INTEG_EPLUGIN);
  assert_non_null(strstr(err.message, "'nosuch'"));
  assert_non_null(strstr(err.message, "discover()"));
  assert_int_equal(emit_record(e, &out, "users", arr, T0, &err),
                   INTEG_EPLUGIN);
  assert_non_null(strstr(err.message, "not a JSON object"));
  assert_int_equal(emit_state(e, &out, arr, T0, &err), INTEG_EPLUGIN);
  assert_int_equal(out.len, 0);
  json_decref(r);
  json_decref(arr);
  emit_free(e);
  buf_free(&out);
}

static void failed_record_leaves_no_partial_line_nor_schema(void **unused)
{
  struct integ_error err = {0, ""};
  struct emit *e = scenario_emitter(EMIT_SINGER);
  struct buf out = BUF_INIT;
  json_t *bad =
      json_pack("{siso}", "id", 1, "name", json_string_nocheck("\xff"));
  json_t *good = parse("{\"id\":1}");

  (void)unused;
  assert_int_equal(buf_appends(&out, "kept\n"), 0);
  assert_int_equal(emit_record(e, &out, "users", bad, T0, &err), INTEG_EINVAL);
  assert_non_null(strstr(err.message, "UTF-8"));
  assert_string_equal(out.data, "kept\n");
  /* The SCHEMA was undone with the record, so it comes with the next. */
  assert_int_equal(emit_record(e, &out, "users", good, T0, &err), 0);
  assert_non_null(strstr(out.data, "kept\n{\"type\":\"SCHEMA\""));
  json_decref(bad);
  json_decref(good);
  emit_free(e);
  buf_free(&out);
}

static void singer_state_round_trips(void **unused)
{
  struct integ_error err = {0, ""};
  json_t *value = parse("{\"bookmarks\":{\"a\":{\"x\":1}},"
                        "\"currently_syncing\":null}");
  json_t *s = emit_singer_state_from_value(value, &err);
  json_t *bad = parse("{\"bookmarks\":[]}");

  (void)unused;
  assert_true(json_equal(s, json_object_get(value, "bookmarks")));
  assert_null(emit_singer_state_from_value(bad, &err));
  assert_int_equal(err.code, INTEG_ESTATE);
  assert_non_null(strstr(err.message, "bookmarks"));
  json_decref(s);
  json_decref(value);
  json_decref(bad);
}

static void discover_shape_errors_name_the_path(void **unused)
{
  struct integ_error err = {0, ""};
  struct emit *e = NULL;
  json_t *d = parse("[{\"stream\":\"a\",\"schema\":{}},"
                    "{\"stream\":\"b\",\"schema\":[]}]");
  json_t *twice = parse("[{\"stream\":\"a\",\"schema\":{}},"
                        "{\"stream\":\"a\",\"schema\":{}}]");
  json_t *keys = parse("[{\"stream\":\"a\",\"schema\":{},"
                       "\"key_properties\":[\"id\",3]}]");

  (void)unused;
  assert_int_equal(emit_new(EMIT_SINGER, &e, &err), 0);
  assert_int_equal(emit_add_streams(e, d, &err), INTEG_EPLUGIN);
  assert_non_null(strstr(err.message, "discover()[1].schema"));
  emit_free(e);
  assert_int_equal(emit_new(EMIT_SINGER, &e, &err), 0);
  assert_int_equal(emit_add_streams(e, twice, &err), INTEG_EPLUGIN);
  assert_non_null(strstr(err.message, "declared twice"));
  emit_free(e);
  assert_int_equal(emit_new(EMIT_SINGER, &e, &err), 0);
  assert_int_equal(emit_add_streams(e, keys, &err), INTEG_EPLUGIN);
  assert_non_null(strstr(err.message, "discover()[0].key_properties[1]"));
  emit_free(e);
  json_decref(d);
  json_decref(twice);
  json_decref(keys);
}

static void format_names_parse(void **unused)
{
  struct integ_error err = {0, ""};
  enum emit_format f;

  (void)unused;
  assert_int_equal(emit_format_parse("airbyte", &f, &err), 0);
  assert_int_equal(f, EMIT_AIRBYTE);
  assert_string_equal(emit_format_name(f), "airbyte");
  assert_int_equal(emit_format_parse("csv", &f, &err), INTEG_ECONFIG);
  assert_non_null(strstr(err.message, "singer, airbyte or jsonl"));
}

/* --------------------------------------------------------- Airbyte */

static void airbyte_states_per_stream_count_records(void **unused)
{
  struct integ_error err = {0, ""};
  struct emit *e = scenario_emitter(EMIT_AIRBYTE);
  struct buf out = BUF_INIT;

  (void)unused;
  record(e, &out, 2);
  record(e, &out, 3);
  buf_reset(&out);
  state(e, &out, state1);
  assert_string_equal(out.data,
                      "{\"type\":\"STATE\",\"state\":{\"type\":\"STREAM\","
                      "\"stream\":{\"stream_descriptor\":{\"name\":"
                      "\"orders\"},\"stream_state\":{\"replication_key\":"
                      "\"updated_at\",\"replication_key_value\":"
                      "\"2024-01-01T00:00:00Z\"}},\"sourceStats\":"
                      "{\"recordCount\":2.0}}}\n");
  buf_reset(&out);
  state(e, &out, state1);
  assert_int_equal(out.len, 0);
  /* Only the streams whose state changed; users had no records. */
  record(e, &out, 0);
  buf_reset(&out);
  state(e, &out, state2);
  assert_non_null(strstr(out.data, "\"name\":\"orders\"},\"stream_state\":"
                                   "{\"replication_key\":\"updated_at\","
                                   "\"replication_key_value\":"
                                   "\"2024-01-02T00:00:00Z\"}},"
                                   "\"sourceStats\":{\"recordCount\":0.0}"));
  assert_non_null(strstr(out.data, "\"name\":\"users\"},\"stream_state\":"
                                   "{}},\"sourceStats\":{\"recordCount\":"
                                   "1.0}"));
  (void)err;
  emit_free(e);
  buf_free(&out);
}

static void airbyte_states_round_trip(void **unused)
{
  struct integ_error err = {0, ""};
  struct emit *e = scenario_emitter(EMIT_AIRBYTE);
  struct buf out = BUF_INIT;
  json_t *messages = json_array(), *back, *want;
  char *line, *next;

  (void)unused;
  state(e, &out, state2);
  state(e, &out, "{\"cursor\":5,\"orders\":{}}"); /* GLOBAL */
  for (line = out.data; *line; line = next) {
    json_t *m;

    next = strchr(line, '\n') + 1;
    m = json_loadb(line, (size_t)(next - line), 0, NULL);
    assert_non_null(m);
    json_array_append(messages, json_object_get(m, "state"));
    json_decref(m);
  }
  assert_int_equal(json_array_size(messages), 3);
  back = emit_airbyte_state_from_messages(messages, &err);
  want = parse("{\"orders\":{},\"users\":{},\"cursor\":5}");
  if (!back || !json_equal(back, want))
    fail_msg("state from messages: %s", back ? json_dumps(back, 0) : "NULL");
  json_decref(back);
  json_decref(want);
  json_decref(messages);
  messages = parse("[{\"type\":\"STREAM\",\"stream\":{}}]");
  assert_null(emit_airbyte_state_from_messages(messages, &err));
  assert_int_equal(err.code, INTEG_ESTATE);
  assert_non_null(strstr(err.message, "state[0].stream.stream_descriptor"));
  json_decref(messages);
  emit_free(e);
  buf_free(&out);
}

static void airbyte_rejects_unknown_log_levels(void **unused)
{
  struct integ_error err = {0, ""};
  struct buf out = BUF_INIT;

  (void)unused;
  assert_int_equal(emit_airbyte_log(&out, "NOTICE", "m", &err), INTEG_EINVAL);
  assert_int_equal(out.len, 0);
  assert_int_equal(emit_airbyte_log(&out, "WARN", "a\nb \xc3\xa9", &err), 0);
  assert_string_equal(out.data, "{\"type\":\"LOG\",\"log\":{\"level\":"
                                "\"WARN\",\"message\":\"a\\nb \xc3\xa9\"}}\n");
  buf_free(&out);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(singer_output_matches_golden),
      cmocka_unit_test(jsonl_output_is_the_bare_records),
      cmocka_unit_test(singer_time_is_python_isoformat),
      ANCHORS_TEST(singer_sdk_snapshots_are_reproduced),
      cmocka_unit_test(singer_refuses_undeclared_streams_and_non_objects),
      cmocka_unit_test(failed_record_leaves_no_partial_line_nor_schema),
      cmocka_unit_test(singer_state_round_trips),
      cmocka_unit_test(discover_shape_errors_name_the_path),
      cmocka_unit_test(format_names_parse),
      cmocka_unit_test(airbyte_states_per_stream_count_records),
      cmocka_unit_test(airbyte_states_round_trip),
      cmocka_unit_test(airbyte_rejects_unknown_log_levels),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
