/* test_cursor.c - the cursor-boundary helper (host/cursor.c): ties at an
 * inclusive boundary are neither lost after a restart nor repeated. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cursor.h"

static struct cursor *make(json_t *state, const char *format)
{
  struct integ_error err = {0, ""};
  json_t *pk = json_pack("[s]", "$.id");
  struct cursor_opts o = {"s", "$.t", format, pk};
  struct cursor *c = NULL;

  if (cursor_new(&o, state, &c, &err))
    fail_msg("cursor_new: %s", err.message);
  json_decref(pk);
  return c;
}

/* Observe {"id": id, "t": t}; returns keep. */
static int see(struct cursor *c, int id, const char *t)
{
  struct integ_error err = {0, ""};
  json_t *rec = json_pack("{s:i, s:s}", "id", id, "t", t);
  int keep = -1;

  if (cursor_observe(c, rec, &keep, &err))
    fail_msg("observe %d %s: %s", id, t, err.message);
  json_decref(rec);
  return keep;
}

static void ties_across_a_restart(void **state)
{
  struct cursor *c = make(NULL, NULL);
  json_t *st;
  int nomem = 0;
  char *text;

  (void)state;
  assert_null(cursor_state(c, &nomem));
  assert_int_equal(see(c, 1, "2024-01-01T00:00:00Z"), 1);
  assert_int_equal(see(c, 2, "2024-01-01T00:01:00Z"), 1);
  assert_int_equal(see(c, 3, "2024-01-01T00:01:00Z"), 1);
  /* Killed here: 4 shares the boundary and was not read. */
  st = cursor_state(c, &nomem);
  text = json_dumps(st, JSON_COMPACT);
  assert_string_equal(
      text, "{\"cursor\":\"2024-01-01T00:01:00Z\",\"keys\":[[2],[3]]}");
  free(text);
  cursor_free(c);
  c = make(st, NULL);
  assert_string_equal(json_string_value(cursor_start(c)),
                      "2024-01-01T00:01:00Z");
  /* The >= filter sends 2, 3 and 4 again: only 4 is new. */
  assert_int_equal(see(c, 2, "2024-01-01T00:01:00Z"), 0);
  assert_int_equal(see(c, 3, "2024-01-01T00:01:00Z"), 0);
  assert_int_equal(see(c, 4, "2024-01-01T00:01:00Z"), 1);
  assert_int_equal(see(c, 5, "2024-01-01T00:02:00+01:00"), 1);
  json_decref(st);
  st = cursor_state(c, &nomem);
  /* +01:00 is an hour earlier than Z: the cursor stays. */
  assert_string_equal(json_string_value(json_object_get(st, "cursor")),
                      "2024-01-01T00:01:00Z");
  assert_int_equal(cursor_backwards(c), 1);
  json_decref(st);
  cursor_free(c);
}

static void formats(void **state)
{
  struct integ_error err = {0, ""};
  int64_t n = 0;
  json_t *v;

  (void)state;
  v = json_integer(1700000000);
  assert_int_equal(cursor_parse("epoch_s", v, &n, &err), 0);
  assert_true(n == INT64_C(1700000000000000));
  json_decref(v);
  v = json_string("2024-02-03 04:05:06");
  assert_int_equal(cursor_parse("%Y-%m-%d %H:%M:%S", v, &n, &err), 0);
  json_decref(v);
  v = json_string("yesterday");
  assert_int_equal(cursor_parse(NULL, v, &n, &err), INTEG_EINVAL);
  json_decref(v);
  assert_int_equal(cursor_check_format("%Y-%m-%d %Q", &err), INTEG_EINVAL);
  assert_non_null(strstr(err.message, "character 10"));
}

/* Values of one hour take a shortcut past the full parse: the same
 * order, ties and refusals as without it. */
static void same_hour(void **state)
{
  struct cursor *c = make(NULL, NULL);
  struct integ_error err = {0, ""};
  json_t *st, *rec;
  int nomem = 0, keep;
  char *text;

  (void)state;
  assert_int_equal(see(c, 1, "2024-03-01T10:00:00Z"), 1);
  assert_int_equal(see(c, 2, "2024-03-01T10:59:59Z"), 1);
  assert_int_equal(see(c, 3, "2024-03-01T10:05:00Z"), 1); /* backwards */
  assert_int_equal(cursor_backwards(c), 1);
  /* A leap second is 59: a tie with 2. */
  assert_int_equal(see(c, 4, "2024-03-01T10:59:60Z"), 1);
  st = cursor_state(c, &nomem);
  text = json_dumps(st, JSON_COMPACT);
  assert_string_equal(
      text, "{\"cursor\":\"2024-03-01T10:59:59Z\",\"keys\":[[2],[4]]}");
  free(text);
  json_decref(st);
  rec = json_pack("{s:i, s:s}", "id", 5, "t", "2024-03-01T10:61:00Z");
  assert_int_equal(cursor_observe(c, rec, &keep, &err), INTEG_EINVAL);
  json_decref(rec);
  assert_int_equal(see(c, 6, "2024-03-01T11:00:00Z"), 1);
  assert_int_equal(see(c, 7, "2024-03-01T10:59:58Z"), 1);
  assert_int_equal(cursor_backwards(c), 2);
  st = cursor_state(c, &nomem);
  assert_string_equal(json_string_value(json_object_get(st, "cursor")),
                      "2024-03-01T11:00:00Z");
  json_decref(st);
  cursor_free(c);
}

static void bad_values(void **state)
{
  struct integ_error err = {0, ""};
  struct cursor *c = make(NULL, NULL);
  json_t *rec = json_pack("{s:i, s:s}", "id", 1, "t", "soon");
  int keep = 1;

  (void)state;
  assert_int_equal(cursor_observe(c, rec, &keep, &err), INTEG_EINVAL);
  assert_non_null(strstr(err.message, "stream s: the cursor value \"soon\" "
                                      "at $.t cannot be parsed"));
  json_decref(rec);
  rec = json_pack("{s:i}", "id", 1);
  assert_int_equal(cursor_observe(c, rec, &keep, &err), INTEG_EINVAL);
  assert_non_null(strstr(err.message, "no cursor value at $.t"));
  json_decref(rec);
  rec = json_pack("{s:i}", "cursor", 1);
  cursor_free(c);
  c = NULL;
  {
    json_t *pk = json_pack("[s]", "$.id");
    json_t *odd = json_pack("{s:s}", "x", "y");
    struct cursor_opts o = {"s", "$.t", NULL, pk};

    assert_int_equal(cursor_new(&o, odd, &c, &err), INTEG_EINVAL);
    json_decref(odd);
    json_decref(pk);
  }
  json_decref(rec);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(ties_across_a_restart),
      cmocka_unit_test(formats),
      cmocka_unit_test(same_hour),
      cmocka_unit_test(bad_values),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
