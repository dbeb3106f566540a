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
#include "jscan.h"

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

/* The page path (cursor_page_*, values and keys as bytes) against
 * cursor_observe (json_t), record by record: the same keep flags, and
 * after every page the same state and the same count of backward values
 * (a page that fails moves neither: snapshot and rollback for one).
 * Values come from a few close times (ties, repeats, going backwards),
 * some written with an escape (the json_t route); keys from a few ids,
 * some strings; runs restart from the state of the last. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static unsigned rnd(unsigned n)
{
  rnd_state ^= rnd_state << 13;
  rnd_state ^= rnd_state >> 7;
  rnd_state ^= rnd_state << 17;
  return (unsigned)(rnd_state % n);
}

/* Append one record's text to page; its spans (value, key) into sp. */
static void put_record(char *page, size_t *len, const char *format,
                       struct jscan_span *sp)
{
  static const char *const ids[] = {"1", "2", "3", "\"a\"", "17"};
  char v[64];
  int t = (int)rnd(4), esc = !rnd(5), none = !rnd(40);
  const char *id = ids[rnd(5)];

  if (format)
    snprintf(v, sizeof(v), "%d", 1700000000 + t);
  else if (esc)
    snprintf(v, sizeof(v), "\"2024-01-01T00:0%d:00\\u005a\"", t);
  else
    snprintf(v, sizeof(v), "\"2024-01-01T00:0%d:00Z\"", t);
  *len += (size_t)sprintf(page + *len,
                          "%s{\"id\":", page[*len - 1] == '[' ? "" : ",");
  sp[1].off = *len;
  sp[1].len = strlen(id);
  *len += (size_t)sprintf(page + *len, "%s", id);
  if (none) {
    sp[0].off = sp[0].len = 0;
  } else {
    *len += (size_t)sprintf(page + *len, ",\"t\":");
    sp[0].off = *len;
    sp[0].len = strlen(v);
    *len += (size_t)sprintf(page + *len, "%s", v);
  }
  *len += (size_t)sprintf(page + *len, "}");
}

static void page_path_as_observe(void **state)
{
  static const char *const formats[] = {NULL, "epoch_s"};

  (void)state;
  for (size_t f = 0; f < 2; f++) {
    json_t *saved = NULL;

    for (int run = 0; run < 40; run++) {
      struct cursor *a = make(saved, formats[f]), *b = make(saved, formats[f]);

      for (int pg = 0; pg < 5; pg++) {
        char page[8192] = "[";
        size_t len = 1, n = 1 + rnd(12);
        struct jscan_span sp[64][2];
        struct cursor_snap snap;
        int failed = 0;
        json_t *sa, *sb;

        for (size_t i = 0; i < n; i++)
          put_record(page, &len, formats[f], sp[i]);
        len += (size_t)sprintf(page + len, "]");
        assert_int_equal(cursor_snapshot(a, &snap), 0);
        cursor_page_begin(b);
        for (size_t i = 0; i < n && !failed; i++) {
          struct integ_error ea = {0, ""}, eb = {0, ""};
          json_t *rec = json_loadb(page + sp[i][1].off - 6,
                                   strchr(page + sp[i][1].off, '}') + 1 -
                                       (page + sp[i][1].off - 6),
                                   0, NULL);
          int ka = -1, kb = -1;
          int ra = cursor_observe(a, rec, &ka, &ea);
          int rb = cursor_page_observe(b, page, sp[i], &kb, &eb);

          assert_non_null(rec);
          json_decref(rec);
          assert_int_equal(ra, rb);
          if (ra) {
            assert_string_equal(ea.message, eb.message);
            failed = 1;
            break;
          }
          assert_int_equal(ka, kb);
        }
        if (failed) {
          /* A page that fails is not written: neither cursor moves. */
          cursor_rollback(a, &snap);
          cursor_page_begin(b);
        } else {
          struct integ_error e = {0, ""};

          cursor_snap_free(&snap);
          assert_int_equal(cursor_page_commit(b, page, &e), 0);
        }
        sa = cursor_state(a, &(int){0});
        sb = cursor_state(b, &(int){0});
        if (((sa || sb) && !json_equal(sa, sb)) ||
            cursor_backwards(a) != cursor_backwards(b)) {
          char *ta = json_dumps(sa, JSON_COMPACT | JSON_ENCODE_ANY);
          char *tb = json_dumps(sb, JSON_COMPACT | JSON_ENCODE_ANY);

          fail_msg("run %d page %d: %s (%llu back) vs %s (%llu back) after %s",
                   run, pg, ta, (unsigned long long)cursor_backwards(a), tb,
                   (unsigned long long)cursor_backwards(b), page);
        }
        json_decref(sa);
        json_decref(sb);
      }
      json_decref(saved);
      saved = cursor_state(b, &(int){0});
      cursor_free(a);
      cursor_free(b);
    }
    json_decref(saved);
  }
}

/* An integer beyond int64 where the cursor needs it: refused by byte. */
static void page_path_big_key(void **state)
{
  static const char page[] =
      "[{\"id\":92233720368547758070,\"t\":\"2024-01-01T00:00:00Z\"}]";
  struct jscan_span sp[2] = {{32, 22, 0, 0}, {7, 20, 0, 0}};
  struct integ_error err = {0, ""};
  struct cursor *c = make(NULL, NULL);
  int keep;

  (void)state;
  cursor_page_begin(c);
  assert_int_equal(cursor_page_observe(c, page, sp, &keep, &err),
                   INTEG_EINVAL);
  assert_non_null(strstr(err.message, "stream s: byte 7: the primary key "
                                      "$.id is an integer beyond int64"));
  cursor_free(c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(ties_across_a_restart),
      cmocka_unit_test(formats),
      cmocka_unit_test(same_hour),
      cmocka_unit_test(bad_values),
      cmocka_unit_test(page_path_as_observe),
      cmocka_unit_test(page_path_big_key),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
