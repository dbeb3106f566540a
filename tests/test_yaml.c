/* test_yaml.c - the YAML loader: core schema scalars, positions, refusals,
 * and the location table. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "yaml.h"

/* Load text; returns the loader's code. *out and *errs filled. */
static int load(const char *text, json_t **out, struct yaml_locs **t,
                struct yaml_errors *errs)
{
  *t = yaml_locs_new();
  assert_non_null(*t);
  memset(errs, 0, sizeof(*errs));
  return yaml_load_buffer("t.yaml", text, strlen(text), "", out, *t, errs);
}

/* Load text that must fail with exactly one error starting with want. */
static void expect_error(const char *text, const char *want)
{
  struct yaml_errors errs;
  struct yaml_locs *t;
  json_t *out = NULL;
  int rc = load(text, &out, &t, &errs);

  if (rc != INTEG_ECONFIG || errs.n != 1 ||
      strncmp(errs.msgs[0], want, strlen(want)) != 0) {
    print_error("input: %s\nexpected one error starting: %s\ngot rc %d and "
                "%zu errors:\n",
                text, want, rc, errs.n);
    for (size_t i = 0; i < errs.n; i++)
      print_error("  %s\n", errs.msgs[i]);
    fail();
  }
  json_decref(out);
  yaml_locs_free(t);
  yaml_errors_free(&errs);
}

/* Load "v: SCALAR" and compare v with the JSON text want. */
static void expect_scalar(const char *scalar, const char *want)
{
  struct yaml_errors errs;
  struct yaml_locs *t;
  json_t *out = NULL, *w;
  char *text = NULL;
  int rc;

  assert_true(asprintf(&text, "v: %s\n", scalar) > 0);
  rc = load(text, &out, &t, &errs);
  w = json_loads(want, JSON_DECODE_ANY, NULL);
  assert_non_null(w);
  if (rc != 0 || !json_equal(json_object_get(out, "v"), w)) {
    char *got =
        out ? json_dumps(json_object_get(out, "v"), JSON_ENCODE_ANY) : NULL;

    print_error("scalar %s: expected %s, got %s (rc %d, %s)\n", scalar, want,
                got ? got : "(none)", rc, errs.n ? errs.msgs[0] : "no error");
    free(got);
    fail();
  }
  json_decref(w);
  json_decref(out);
  free(text);
  yaml_locs_free(t);
  yaml_errors_free(&errs);
}

static void core_schema_scalars_are_typed(void **state)
{
  (void)state;
  expect_scalar("true", "true");
  expect_scalar("False", "false");
  expect_scalar("TRUE", "true");
  expect_scalar("null", "null");
  expect_scalar("~", "null");
  expect_scalar("", "null");
  expect_scalar("42", "42");
  expect_scalar("-7", "-7");
  expect_scalar("+7", "7");
  expect_scalar("0x1F", "31");
  expect_scalar("0o17", "15");
  expect_scalar("1.5", "1.5");
  expect_scalar("-2.5e3", "-2500.0");
  expect_scalar(".5", "0.5");
  expect_scalar("9223372036854775807", "9223372036854775807");
}

static void quoted_and_block_scalars_are_strings(void **state)
{
  (void)state;
  expect_scalar("\"true\"", "\"true\"");
  expect_scalar("'42'", "\"42\"");
  expect_scalar("\"yes\"", "\"yes\"");
  expect_scalar("'~'", "\"~\"");
  expect_scalar("!!str 12", "\"12\"");
  expect_scalar("|\n  a\n  b", "\"a\\nb\\n\"");
  expect_scalar("hello world", "\"hello world\"");
  expect_scalar("0x", "\"0x\"");
  expect_scalar("1.2.3", "\"1.2.3\"");
  expect_scalar("30s", "\"30s\"");
  expect_scalar("y", "\"y\"");
}

static void yaml11_booleans_are_errors_with_a_hint(void **state)
{
  (void)state;
  expect_error("a: yes\n", "t.yaml:1:4: a: 'yes' is not a boolean in YAML "
                           "1.2: write true or false, or quote it");
  expect_error("a: NO\n", "t.yaml:1:4: a: 'NO' is not a boolean");
  expect_error("a: [On]\n", "t.yaml:1:5: a[0]: 'On' is not a boolean");
  expect_error("a:\n  b: oFF\n", "t.yaml:2:6: a.b: 'oFF' is not a boolean");
}

static void bad_numbers_are_errors(void **state)
{
  (void)state;
  expect_error("a: .inf\n", "t.yaml:1:4: a: .inf (infinity) cannot be held");
  expect_error("a: -.Inf\n", "t.yaml:1:4: a: -.Inf (infinity)");
  expect_error("a: .nan\n", "t.yaml:1:4: a: .nan (not a number)");
  expect_error("a: 9223372036854775808\n",
               "t.yaml:1:4: a: integer 9223372036854775808 is out of range");
  expect_error("a: 0xFFFFFFFFFFFFFFFFFF\n", "t.yaml:1:4: a: integer 0xFF");
  expect_error("a: 1e999\n", "t.yaml:1:4: a: number 1e999 is out of range");
}

static void refused_constructs_name_their_position(void **state)
{
  (void)state;
  expect_error("a: &x 1\nb: *x\n",
               "t.yaml:1:4: a: anchors and aliases are not supported (&x)");
  expect_error("a: *x\n",
               "t.yaml:1:4: a: anchors and aliases are not supported (*x)");
  expect_error("a: 1\na: 2\n", "t.yaml:2:1: a: duplicate key 'a' (first at "
                               "line 1, column 1)");
  expect_error("a:\n\tb: 1\n", "t.yaml:2:1: tab character in indentation");
  expect_error("a: 1\n---\nb: 2\n", "t.yaml:2:1: a second YAML document");
  expect_error("a: !!int 3\n", "t.yaml:1:4: a: tags are not supported "
                               "(!!int)");
  expect_error("? [a]\n: 1\n", "t.yaml:1:3: a key must be a plain string");
  expect_error("a: \"open\n", "t.yaml:2:1: YAML syntax error: found "
                              "unexpected end of stream");
  expect_error("a: 1\nb: caf\xc3\n",
               "t.yaml:2:7: byte 0xc3 is not UTF-8: save the file as UTF-8");
  expect_error("a: \xed\xa0\x80\n", "t.yaml:1:4: byte 0xed is not UTF-8");
  expect_error("", "t.yaml:1:1: no YAML document");
  expect_error("# just a comment\n\n", "t.yaml:1:1: no YAML document");
}

static void deep_nesting_is_refused_quickly(void **state)
{
  char text[4096];
  size_t n = 0;

  (void)state;
  n += (size_t)snprintf(text, sizeof(text), "a: ");
  for (int i = 0; i < 1000; i++)
    text[n++] = '[';
  text[n] = '\0';
  expect_error(text, "t.yaml:1:");
  {
    struct yaml_errors errs;
    struct yaml_locs *t;
    json_t *out = NULL;

    load(text, &out, &t, &errs);
    assert_non_null(strstr(errs.msgs[0], "nesting deeper than 64 levels"));
    assert_null(out);
    yaml_locs_free(t);
    yaml_errors_free(&errs);
  }
}

static void sixty_four_levels_are_fine(void **state)
{
  char text[512];
  size_t n = 0;
  struct yaml_errors errs;
  struct yaml_locs *t;
  json_t *out = NULL;

  (void)state;
  /* The root mapping is level 1: "a: " then 63 lists. */
  n += (size_t)snprintf(text, sizeof(text), "a: ");
  for (int i = 0; i < 63; i++)
    text[n++] = '[';
  for (int i = 0; i < 63; i++)
    text[n++] = ']';
  text[n] = '\0';
  assert_int_equal(load(text, &out, &t, &errs), 0);
  assert_non_null(out);
  json_decref(out);
  yaml_locs_free(t);
  yaml_errors_free(&errs);
}

static void files_over_one_mib_are_refused(void **state)
{
  size_t len = YAML_MAX_BYTES + 10;
  char *buf = malloc(len + 1), path[] = "/tmp/integ-test-yaml-XXXXXX";
  struct yaml_errors errs = {0};
  struct yaml_locs *t = yaml_locs_new();
  json_t *out = NULL;
  int fd;

  (void)state;
  assert_non_null(buf);
  /* "a: xxxx...": one long line. */
  memcpy(buf, "a: ", 3);
  memset(buf + 3, 'x', len - 3);
  buf[len] = '\0';
  fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, buf, len), (ssize_t)len);
  close(fd);
  assert_int_equal(yaml_load_file(path, "", &out, t, &errs), INTEG_ECONFIG);
  assert_null(out);
  assert_int_equal(errs.n, 1);
  assert_non_null(strstr(errs.msgs[0], ":1:1048577: file is larger than "
                                       "1048576 bytes (1 MiB)"));
  unlink(path);
  free(buf);
  yaml_locs_free(t);
  yaml_errors_free(&errs);
}

static void an_empty_file_is_refused(void **state)
{
  char path[] = "/tmp/integ-test-yaml-XXXXXX";
  struct integ_error err = {0, ""};
  json_t *out = NULL;
  int fd = mkstemp(path);

  (void)state;
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(yaml_read_file(path, &out, &err), INTEG_ECONFIG);
  assert_null(out);
  assert_non_null(strstr(err.message, ":1:1: no YAML document"));
  unlink(path);
  assert_int_equal(yaml_read_file("/nonexistent/x.yaml", &out, &err),
                   INTEG_ECONFIG);
  assert_non_null(strstr(err.message, "/nonexistent/x.yaml: cannot read"));
}

static void positions_are_one_based_lines_and_columns(void **state)
{
  const char *text = "# comment\n"
                     "top: 1\n"
                     "list:\n"
                     "  - a\n"
                     "  - {k: v, \"q\": 'w'}\n"
                     "map:\n"
                     "  inner:\n"
                     "    deep: x\n";
  struct yaml_errors errs;
  struct yaml_locs *t;
  json_t *out = NULL;
  const struct yaml_loc *l;
  size_t found;

  (void)state;
  assert_int_equal(load(text, &out, &t, &errs), 0);
  l = yaml_locs_find(t, "top");
  assert_non_null(l);
  assert_int_equal(l->line, 2);
  assert_int_equal(l->col, 6);
  assert_int_equal(l->key_line, 2);
  assert_int_equal(l->key_col, 1);
  assert_string_equal(l->file, "t.yaml");
  l = yaml_locs_find(t, "list[0]");
  assert_non_null(l);
  assert_int_equal(l->line, 4);
  assert_int_equal(l->col, 5);
  l = yaml_locs_find(t, "list[1].q");
  assert_non_null(l);
  assert_int_equal(l->line, 5);
  assert_int_equal(l->col, 17);
  assert_int_equal(l->key_col, 12);
  assert_true(l->flags & YAML_LOC_QUOTED);
  l = yaml_locs_find(t, "map.inner.deep");
  assert_non_null(l);
  assert_int_equal(l->line, 8);
  assert_int_equal(l->col, 11);
  l = yaml_locs_nearest(t, "map.inner.missing.more", &found);
  assert_non_null(l);
  assert_int_equal(found, strlen("map.inner"));
  assert_int_equal(l->key_line, 7);
  assert_null(yaml_locs_find(t, "map.inner.missing"));
  json_decref(out);
  yaml_locs_free(t);
  yaml_errors_free(&errs);
}

static void empty_value_before_a_comment_gets_a_quote_hint(void **state)
{
  struct yaml_errors errs;
  struct yaml_locs *t;
  json_t *out = NULL;
  const struct yaml_loc *l;

  (void)state;
  assert_int_equal(
      load("fmt: #DATE#\nother:\nlist:\n  - #x\n", &out, &t, &errs), 0);
  assert_true(json_is_null(json_object_get(out, "fmt")));
  l = yaml_locs_find(t, "fmt");
  assert_non_null(l);
  assert_true(l->flags & YAML_LOC_HASH);
  assert_non_null(strstr(yaml_loc_hint(l), "\"#DATE#\""));
  l = yaml_locs_find(t, "other");
  assert_false(l->flags & YAML_LOC_HASH);
  assert_string_equal(yaml_loc_hint(l), "");
  assert_true(yaml_locs_find(t, "list[0]")->flags & YAML_LOC_HASH);
  json_decref(out);
  yaml_locs_free(t);
  yaml_errors_free(&errs);
}

static void bad_scalars_are_kept_flagged_and_loading_goes_on(void **state)
{
  struct yaml_errors errs;
  struct yaml_locs *t;
  json_t *out = NULL;

  (void)state;
  assert_int_equal(load("a: yes\nb: on\nc: 1\nc: 2\nd: 4\n", &out, &t, &errs),
                   INTEG_ECONFIG);
  assert_int_equal(errs.n, 3);
  assert_non_null(out);
  assert_string_equal(json_string_value(json_object_get(out, "a")), "yes");
  assert_true(yaml_locs_find(t, "a")->flags & YAML_LOC_REPORTED);
  /* The first of two duplicate keys wins, and keeps its position. */
  assert_int_equal(json_integer_value(json_object_get(out, "c")), 1);
  assert_int_equal(yaml_locs_find(t, "c")->line, 3);
  assert_int_equal(json_integer_value(json_object_get(out, "d")), 4);
  json_decref(out);
  yaml_locs_free(t);
  yaml_errors_free(&errs);
}

static void location_table_prefix_operations(void **state)
{
  struct yaml_locs *a = yaml_locs_new(), *b = yaml_locs_new();
  struct yaml_loc l = {"a.yaml", 1, 2, 1, 1, 0};
  char key[32];

  (void)state;
  for (int i = 0; i < 500; i++) {
    snprintf(key, sizeof(key), "c.x%d.v", i);
    l.line = (unsigned)i + 1;
    assert_int_equal(yaml_locs_set(a, key, &l), 0);
  }
  assert_int_equal(yaml_locs_set(a, "c.x1", &l), 0);
  assert_int_equal(yaml_locs_set(a, "c.x10", &l), 0);
  assert_int_equal(yaml_locs_count(a), 502);
  assert_int_equal(yaml_locs_find(a, "c.x7.v")->line, 8);
  /* "c.x1" goes with its children, "c.x10" and "c.x1x" stay. */
  yaml_locs_remove_prefix(a, "c.x1");
  assert_null(yaml_locs_find(a, "c.x1"));
  assert_null(yaml_locs_find(a, "c.x1.v"));
  assert_non_null(yaml_locs_find(a, "c.x10"));
  assert_non_null(yaml_locs_find(a, "c.x10.v"));
  assert_int_equal(yaml_locs_count(a), 500);
  l.file = "b.yaml";
  l.line = 99;
  assert_int_equal(yaml_locs_set(b, "c.x1", &l), 0);
  assert_int_equal(yaml_locs_set(b, "c.x1[0]", &l), 0);
  assert_int_equal(yaml_locs_set(b, "c.x2", &l), 0);
  assert_int_equal(yaml_locs_copy_prefix(a, b, "c.x1"), 0);
  assert_string_equal(yaml_locs_find(a, "c.x1[0]")->file, "b.yaml");
  assert_null(yaml_locs_find(a, "c.x2"));
  yaml_locs_free(a);
  yaml_locs_free(b);
}

static void errors_at_format_file_line_column_path(void **state)
{
  struct yaml_errors errs = {0};
  struct yaml_locs *t = yaml_locs_new();
  struct yaml_loc l = {"f.yaml", 3, 9, 3, 5, 0};

  (void)state;
  assert_int_equal(yaml_locs_set(t, "a.b", &l), 0);
  yaml_errors_at(&errs, t, "a.b", 0, "bad %d", 1);
  yaml_errors_at(&errs, t, "a.b.c", 1, "missing");
  yaml_errors_at(&errs, t, "zzz", 0, "nowhere");
  assert_string_equal(errs.msgs[0], "f.yaml:3:9: a.b: bad 1");
  assert_string_equal(errs.msgs[1], "f.yaml:3:5: a.b.c: missing");
  assert_string_equal(errs.msgs[2], "zzz: nowhere");
  for (int i = 0; i < YAML_MAX_ERRORS + 5; i++)
    yaml_errors_add(&errs, "more");
  assert_int_equal(errs.n, YAML_MAX_ERRORS);
  assert_int_equal(yaml_errors_count(&errs), YAML_MAX_ERRORS + 8);
  yaml_locs_free(t);
  yaml_errors_free(&errs);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(core_schema_scalars_are_typed),
      cmocka_unit_test(quoted_and_block_scalars_are_strings),
      cmocka_unit_test(yaml11_booleans_are_errors_with_a_hint),
      cmocka_unit_test(bad_numbers_are_errors),
      cmocka_unit_test(refused_constructs_name_their_position),
      cmocka_unit_test(deep_nesting_is_refused_quickly),
      cmocka_unit_test(sixty_four_levels_are_fine),
      cmocka_unit_test(files_over_one_mib_are_refused),
      cmocka_unit_test(an_empty_file_is_refused),
      cmocka_unit_test(positions_are_one_based_lines_and_columns),
      cmocka_unit_test(empty_value_before_a_comment_gets_a_quote_hint),
      cmocka_unit_test(bad_scalars_are_kept_flagged_and_loading_goes_on),
      cmocka_unit_test(location_table_prefix_operations),
      cmocka_unit_test(errors_at_format_file_line_column_path),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
