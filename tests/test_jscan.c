/* test_jscan.c - the page scanner: the exact bytes of each format, fields
 * read without a tree, big integers as data, and every refusal with its
 * byte offset. tests/jscan_diff.c compares it with the slow path on many
 * more pages. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include <integ/plugin.h>

#include "buf.h"
#include "emit.h"
#include "error.h"
#include "jscan.h"

#define NOW 1700000000000LL

struct page {
  struct buf out;
  struct jscan_result res;
  struct integ_error err;
  int rc;
};

/* Scan text with records path `records` and fields (JSON text or NULL)
 * in format fmt. */
static void scan(struct page *pg, const char *records, const char *fields,
                 const char *text, size_t len, enum emit_format fmt,
                 unsigned extra)
{
  json_t *f = fields ? json_loads(fields, 0, NULL) : NULL;
  struct buf fb = BUF_INIT;
  struct jscan_frame frame;
  struct jscan *js = NULL;
  int rc;

  memset(pg, 0, sizeof(*pg));
  rc = jscan_new(records, f, &js, &pg->err);
  if (rc)
    fail_msg("jscan_new: %s", pg->err.message);
  assert_int_equal(jscan_frame_make(&fb, fmt, "s", NULL, NOW, &frame), 0);
  pg->rc = jscan_page(js, text, len, jscan_format_flags(fmt) | extra, &frame,
                      &pg->out, &pg->res, &pg->err);
  jscan_free(js);
  buf_free(&fb);
  json_decref(f);
}

static void page_free(struct page *pg)
{
  buf_free(&pg->out);
  json_decref(pg->res.fields);
}

static void expect_out(struct page *pg, const char *want)
{
  if (pg->rc)
    fail_msg("refused: %s", pg->err.message);
  if (pg->out.len != strlen(want) || memcmp(pg->out.data, want, pg->out.len))
    fail_msg("expected %s\n     got %.*s", want, (int)pg->out.len,
             pg->out.data);
}

static void singer_line_is_singer_sdk_bytes(void **state)
{
  static const char text[] =
      "{ \"data\": [ {\"id\": 1, \"name\": \"Zo\xc3\xab \\u00c5 \\/ "
      "\xf0\x9f\x98\x80\", \"r\": 1E-7, \"p\": 423.962, \"z\": -0, "
      "\"t\": [true, null]} ] }";
  struct page pg;

  (void)state;
  scan(&pg, "$.data[*]", NULL, text, strlen(text), EMIT_SINGER, 0);
  expect_out(&pg,
             "{\"type\":\"RECORD\",\"stream\":\"s\",\"record\":{\"id\":1,"
             "\"name\":\"Zo\\u00eb \\u00c5 / \\ud83d\\ude00\",\"r\":1e-07,"
             "\"p\":423.962,\"z\":0,\"t\":[true,null]},\"time_extracted\":"
             "\"2023-11-14T22:13:20+00:00\"}\n");
  assert_int_equal(pg.res.records, 1);
  page_free(&pg);
}

static void jsonl_and_airbyte_keep_utf8_raw(void **state)
{
  static const char text[] = "[{\"n\":\"\\u00e9\xc3\xa9\x7f\"}]";
  struct page pg;

  (void)state;
  scan(&pg, "$[*]", NULL, text, strlen(text), EMIT_JSONL, 0);
  expect_out(&pg, "{\"n\":\"\xc3\xa9\xc3\xa9\x7f\"}\n");
  page_free(&pg);
  scan(&pg, "$[*]", NULL, text, strlen(text), EMIT_AIRBYTE, 0);
  expect_out(&pg, "{\"type\":\"RECORD\",\"record\":{\"stream\":\"s\","
                  "\"data\":{\"n\":\"\xc3\xa9\xc3\xa9\x7f\"},"
                  "\"emitted_at\":1700000000000}}\n");
  page_free(&pg);
}

static void fields_come_from_the_scan(void **state)
{
  static const char text[] =
      "{\"data\":[{\"id\":1,\"at\":\"a\\nb\"},{\"at\":\"c\"},{\"id\":-3,"
      "\"at\":2.5}],\"next_cursor\":\"x\\u00e9\",\"has_more\":true,"
      "\"meta\":{\"n\":[1,{\"a\":null}]}}";
  struct page pg;
  char *got;

  (void)state;
  scan(&pg, "$.data[*]",
       "{\"next\": \"$.next_cursor\", \"more\": \"$.has_more\","
       " \"ids\": \"$.data[*].id\", \"ats\": \"$.data[*].at\","
       " \"n\": \"$.meta.n\", \"gone\": \"$.meta.gone\"}",
       text, strlen(text), EMIT_JSONL, 0);
  assert_int_equal(pg.rc, 0);
  assert_int_equal(pg.res.records, 3);
  got = json_dumps(pg.res.fields, JSON_COMPACT);
  assert_string_equal(got,
                      "{\"next\":\"x\xc3\xa9\",\"more\":true,\"ids\":[1,-3],"
                      "\"ats\":[\"a\\nb\",\"c\",2.5],\"n\":[1,{\"a\":null}],"
                      "\"gone\":null}");
  free(got);
  page_free(&pg);
}

/* Integers a field asks for, short and long, in document order; a
 * record without the field gives nothing. */
static void field_values_and_integers(void **state)
{
  static const char text[] =
      "{\"data\":[{\"id\":-0},{\"x\":1},{\"id\":123456789012345678},"
      "{\"id\":-123456789012345678,\"a\":{\"b\":7}},"
      "{\"id\":9223372036854775807},{\"id\":-9223372036854775808,"
      "\"a\":[{\"b\":1}]}],\"n\":1}";
  struct integ_error err = {0, ""};
  struct buf fb = BUF_INIT, out = BUF_INIT;
  struct jscan_frame frame;
  struct jscan_result res;
  struct jscan *js = NULL;
  json_t *f = json_loads("{\"ids\": \"$.data[*].id\", \"b\": "
                         "\"$.data[*].a.b\", \"n\": \"$.n\"}",
                         0, NULL);
  char *got;

  (void)state;
  assert_int_equal(jscan_new("$.data[*]", f, &js, &err), 0);
  assert_int_equal(buf_reserve(&out, 1), 0);
  assert_int_equal(jscan_frame_make(&fb, EMIT_JSONL, "s", NULL, 0, &frame), 0);
  assert_int_equal(jscan_page(js, text, strlen(text), JSCAN_STRICT_INT, &frame,
                              &out, &res, &err),
                   0);
  assert_int_equal(res.records, 6);
  got = json_dumps(res.fields, JSON_COMPACT);
  assert_string_equal(got, "{\"ids\":[0,123456789012345678,"
                           "-123456789012345678,9223372036854775807,"
                           "-9223372036854775808],\"b\":[7],\"n\":1}");
  buf_free(&out);
  buf_free(&fb);
  free(got);
  json_decref(res.fields);
  json_decref(f);
  jscan_free(js);
}

static void big_integers_are_data(void **state)
{
  static const char text[] =
      "{\"data\":[{\"id\":18446744073709551615,\"n\":-99999999999999999999}]"
      "}";
  struct page pg;

  (void)state;
  scan(&pg, "$.data[*]", NULL, text, strlen(text), EMIT_JSONL, 0);
  expect_out(&pg, "{\"id\":18446744073709551615,\"n\":-99999999999999999999}"
                  "\n");
  page_free(&pg);
  /* As jansson: refused. */
  scan(&pg, "$.data[*]", NULL, text, strlen(text), EMIT_JSONL,
       JSCAN_STRICT_INT);
  assert_int_equal(pg.rc, INTEG_EINVAL);
  assert_int_equal(pg.res.offset, 15);
  assert_int_equal(pg.out.len, 0);
  page_free(&pg);
}

static void a_big_integer_in_a_field_names_field_and_byte(void **state)
{
  static const char text[] = "{\"data\":[{\"id\":18446744073709551615}]}";
  struct page pg;

  (void)state;
  scan(&pg, "$.data[*]", "{\"ids\": \"$.data[*].id\"}", text, strlen(text),
       EMIT_SINGER, 0);
  assert_int_equal(pg.rc, INTEG_EINVAL);
  assert_int_equal(pg.res.offset, 15);
  assert_non_null(strstr(pg.err.message, "field 'ids' at byte 15"));
  assert_int_equal(pg.out.len, 0);
  page_free(&pg);
}

/* Each refusal: the byte offset it names. */
static void refusals_name_the_byte(void **state)
{
  static const struct {
    const char *text;
    size_t len, offset;
  } bad[] = {
      {"{\"data\":[{\"a\":\"\xc3\x28\"}]}", 0, 15}, /* invalid UTF-8 */
      {"{\"data\":[{\"a\":\"\\udc00\"}]}", 0, 15},  /* lone low */
      {"{\"data\":[{\"a\":\"\\ud800x\"}]}", 0, 15}, /* lone high */
      {"{\"data\":[{\"a\":01}]}", 0, 15},           /* leading zero */
      {"{\"data\":[{\"a\":1E400}]}", 0, 14},        /* overflow */
      {"{\"data\":[{\"a\":1,}]}", 0, 16},           /* trailing comma */
      {"{\"data\":[{\"a\":1}]}x", 0, 18},           /* garbage */
      {"{\"data\":[{\"a\":1}", 0, 16},              /* truncated */
      {"{\"data\":[{\"\\u0000\":1}]}", 0, 11},      /* NUL in a key */
      {"{\"data\":[{\"a\":\"\x01\"}]}", 0, 15},     /* control */
  };
  struct page pg;

  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    scan(&pg, "$.data[*]", NULL, bad[i].text, strlen(bad[i].text), EMIT_SINGER,
         0);
    if (pg.rc != INTEG_EINVAL || pg.res.offset != bad[i].offset)
      fail_msg("%s: expected EINVAL at byte %zu, got %d at %zu (%s)",
               bad[i].text, bad[i].offset, pg.rc, pg.res.offset,
               pg.err.message);
    assert_int_equal(pg.out.len, 0);
    page_free(&pg);
  }
}

static void duplicate_keys_fall_back(void **state)
{
  static const char text[] = "{\"data\":[{\"a\":1,\"b\":2,\"\\u0061\":3}]}";
  struct page pg;

  (void)state;
  scan(&pg, "$.data[*]", NULL, text, strlen(text), EMIT_SINGER, 0);
  assert_int_equal(pg.rc, INTEG_ENOTSUP);
  assert_int_equal(pg.out.len, 0);
  page_free(&pg);
}

static void a_record_that_is_not_an_object_writes_nothing(void **state)
{
  static const char text[] = "{\"data\":[{\"a\":1},{\"a\":2},[3],{}]}";
  struct page pg;

  (void)state;
  scan(&pg, "$.data[*]", NULL, text, strlen(text), EMIT_JSONL, 0);
  assert_int_equal(pg.rc, INTEG_EPLUGIN);
  assert_int_equal(pg.res.record, 2);
  assert_int_equal(pg.out.len, 0);
  page_free(&pg);
}

static void other_paths_are_not_supported(void **state)
{
  static const char *const records[] = {"$..data[*]",     "$.data[0]",
                                        "$.data[?@.a]",   "$.data",
                                        "$.data[*].x[*]", "$['a\\'b'][*]"};
  static const char *const fields[] = {
      "{\"x\": \"$.data[0].id\"}", "{\"x\": \"$..id\"}",
      "{\"x\": \"$.data.length\"}", "{\"x\": \"$.other[*].id\"}",
      "{\"x\": \"$.data[*].tags[*]\"}"};
  struct integ_error err;
  struct jscan *js;

  (void)state;
  for (size_t i = 0; i < sizeof(records) / sizeof(records[0]); i++) {
    int rc = jscan_new(records[i], NULL, &js, &err);

    if (rc != INTEG_ENOTSUP)
      fail_msg("%s: expected ENOTSUP, got %d", records[i], rc);
    assert_null(js);
  }
  for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
    json_t *f = json_loads(fields[i], 0, NULL);
    int rc = jscan_new("$.data[*]", f, &js, &err);

    if (rc != INTEG_ENOTSUP)
      fail_msg("%s: expected ENOTSUP, got %d", fields[i], rc);
    json_decref(f);
  }
  assert_int_equal(jscan_new("$.data[", NULL, &js, &err), INTEG_EINVAL);
  assert_int_equal(jscan_new("$['a'].b.*", NULL, &js, &err), 0);
  jscan_free(js);
}

static void a_page_is_appended_after_what_the_buffer_holds(void **state)
{
  static const char text[] = "[{\"a\":1},{\"b\":[]}]";
  json_t *none = NULL;
  struct buf fb = BUF_INIT, out = BUF_INIT;
  struct jscan_frame frame;
  struct jscan_result res;
  struct integ_error err;
  struct jscan *js;

  (void)state;
  assert_int_equal(jscan_new("$[*]", none, &js, &err), 0);
  assert_int_equal(jscan_frame_make(&fb, EMIT_JSONL, "s", NULL, 0, &frame), 0);
  assert_int_equal(buf_append(&out, "x\n", 2), 0);
  assert_int_equal(
      jscan_page(js, text, strlen(text), 0, &frame, &out, &res, &err), 0);
  assert_string_equal(out.data, "x\n{\"a\":1}\n{\"b\":[]}\n");
  json_decref(res.fields);
  /* The struct is reused page after page. */
  assert_int_equal(
      jscan_page(js, text, strlen(text), 0, &frame, &out, &res, &err), 0);
  assert_int_equal(res.records, 2);
  json_decref(res.fields);
  buf_free(&out);
  buf_free(&fb);
  jscan_free(js);
}

/* The record hook: span fields as the page's own bytes (not a NUL a
 * number swallowed), records it drops taken back out, and its failure
 * reported only when nothing is wrong with the page itself. */
struct seen {
  char spans[8][32];
  size_t lens[8];
  size_t n;
  size_t drop_at; /* 1-based record to drop, 0: none */
  size_t map_at;  /* 1-based record to replace by {"m": its t}, 0: none */
  size_t fail_at; /* 1-based record to fail, 0: none */
};

static int hook(void *arg, const struct jscan_rec *r, struct buf *repl,
                int *drop, struct integ_error *err)
{
  struct seen *sn = arg;
  const struct jscan_span *sp = r->spans;
  const char *page = r->page;

  snprintf(sn->spans[sn->n], sizeof(sn->spans[0]), "%.*s", (int)sp[0].len,
           page + sp[0].off);
  sn->lens[sn->n++] = sp[0].len;
  *drop = sn->n == sn->drop_at;
  if (sn->n == sn->map_at &&
      (buf_append(repl, "{\"m\":", 5) ||
       buf_append(repl, r->bytes + sp[0].out, sp[0].olen) ||
       buf_append(repl, "}", 1)))
    return error_set(err, INTEG_ENOMEM, "out of memory");
  if (sn->n == sn->fail_at)
    return error_set(err, INTEG_EINVAL, "the hook says no");
  return 0;
}

static void the_record_hook(void **state)
{
  static const char text[] = "[{\"t\":1,\"u\":\"a\"},{\"t\":null\0,\"u\":2},"
                             "{\"u\":3},{\"t\":\"x\\ny\"}]";
  static const char bad[] = "[{\"t\":1},{\"t\":2,\"u\":\"\xff\"}]";
  json_t *fields = json_pack("{s:s}", JSCAN_SPAN "0", "$[*].t");
  struct buf fb = BUF_INIT, out = BUF_INIT;
  struct jscan_frame frame;
  struct jscan_result res;
  struct integ_error err = {0, ""};
  struct seen sn;
  struct jscan *js;

  (void)state;
  assert_int_equal(jscan_new("$[*]", fields, &js, &err), 0);
  assert_int_equal(jscan_frame_make(&fb, EMIT_JSONL, "s", NULL, 0, &frame), 0);
  memset(&sn, 0, sizeof(sn));
  sn.drop_at = 2;
  sn.map_at = 4;
  jscan_set_hook(js, hook, &sn);
  assert_int_equal(
      jscan_page(js, text, sizeof(text) - 1, 0, &frame, &out, &res, &err), 0);
  assert_int_equal(sn.n, 4);
  assert_string_equal(sn.spans[0], "1");
  assert_string_equal(sn.spans[1], "null");
  assert_int_equal(sn.lens[1], 4);
  assert_string_equal(sn.spans[2], "");
  assert_string_equal(sn.spans[3], "\"x\\ny\"");
  assert_int_equal(res.records, 3);
  assert_int_equal(res.dropped, 1);
  assert_string_equal(out.data,
                      "{\"t\":1,\"u\":\"a\"}\n{\"u\":3}\n{\"m\":\"x\\ny\"}\n");
  /* Span fields are not returned as fields. */
  assert_int_equal(json_object_size(res.fields), 0);
  json_decref(res.fields);
  /* A failing hook fails the page; nothing of it is written. */
  buf_reset(&out);
  memset(&sn, 0, sizeof(sn));
  sn.fail_at = 1;
  assert_int_equal(
      jscan_page(js, text, sizeof(text) - 1, 0, &frame, &out, &res, &err),
      INTEG_EINVAL);
  assert_true(res.hook);
  assert_int_equal(sn.n, 1);
  assert_string_equal(err.message, "the hook says no");
  assert_int_equal(out.len, 0);
  /* ... but a page that is not JSON says so first. */
  memset(&sn, 0, sizeof(sn));
  sn.fail_at = 1;
  assert_int_equal(
      jscan_page(js, bad, sizeof(bad) - 1, 0, &frame, &out, &res, &err),
      INTEG_EINVAL);
  assert_false(res.hook);
  assert_non_null(strstr(err.message, "invalid UTF-8"));
  jscan_set_hook(js, NULL, NULL);
  jscan_free(js);
  json_decref(fields);
  /* A span field must be below the records, and in range. */
  fields = json_pack("{s:s}", JSCAN_SPAN "0", "$[*]");
  assert_int_equal(jscan_new("$[*]", fields, &js, &err), INTEG_ENOTSUP);
  json_decref(fields);
  fields = json_pack("{s:s}", JSCAN_SPAN "64", "$[*].t");
  assert_int_equal(jscan_new("$[*]", fields, &js, &err), INTEG_ENOTSUP);
  json_decref(fields);
  buf_free(&out);
  buf_free(&fb);
}

/* The projection, member by member: the first, the last, all of them,
 * with blanks and an escaped name; nested objects are left whole. */
static int keep_ab(const void *arg, const char *name, size_t len)
{
  (void)arg;
  return (len == 1 && (name[0] == 'a' || name[0] == 'b'));
}

static void the_projection(void **state)
{
  static const struct {
    const char *in, *want;
  } cases[] = {
      {"[{\"x\":1,\"a\":2}]", "{\"a\":2}\n"},
      {"[{\"a\":1,\"x\":2}]", "{\"a\":1}\n"},
      {"[{\"x\":1,\"y\":{\"z\":2}}]", "{}\n"},
      {"[{}]", "{}\n"},
      {"[ { \"x\" : 1 , \"\\u0061\" : { \"x\" : [ ] } , \"y\" : null , "
       "\"b\" : true , \"z\" : \"s\" } ]",
       "{\"a\":{\"x\":[]},\"b\":true}\n"},
  };
  struct buf fb = BUF_INIT, out = BUF_INIT;
  struct jscan_frame frame;
  struct jscan_result res;
  struct integ_error err = {0, ""};
  struct jscan *js;

  (void)state;
  assert_int_equal(jscan_new("$[*]", NULL, &js, &err), 0);
  assert_int_equal(jscan_frame_make(&fb, EMIT_JSONL, "s", NULL, 0, &frame), 0);
  jscan_set_project(js, keep_ab, NULL);
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    buf_reset(&out);
    assert_int_equal(jscan_page(js, cases[i].in, strlen(cases[i].in), 0,
                                &frame, &out, &res, &err),
                     0);
    assert_string_equal(out.data, cases[i].want);
    json_decref(res.fields);
  }
  jscan_free(js);
  buf_free(&out);
  buf_free(&fb);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(singer_line_is_singer_sdk_bytes),
      cmocka_unit_test(jsonl_and_airbyte_keep_utf8_raw),
      cmocka_unit_test(fields_come_from_the_scan),
      cmocka_unit_test(field_values_and_integers),
      cmocka_unit_test(big_integers_are_data),
      cmocka_unit_test(a_big_integer_in_a_field_names_field_and_byte),
      cmocka_unit_test(refusals_name_the_byte),
      cmocka_unit_test(duplicate_keys_fall_back),
      cmocka_unit_test(a_record_that_is_not_an_object_writes_nothing),
      cmocka_unit_test(other_paths_are_not_supported),
      cmocka_unit_test(a_page_is_appended_after_what_the_buffer_holds),
      cmocka_unit_test(the_record_hook),
      cmocka_unit_test(the_projection),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
