/* test_progress.c - the progress line: format, redraw rate, TTY only. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "progress.h"

/* The injected clock: tests move it by hand. */
static int64_t fake_now(void *arg)
{
  return *(int64_t *)arg;
}

struct screen {
  FILE *f;
  char *data;
  size_t len;
  int64_t now;
};

static struct progress *open_screen(struct screen *s, const char *tag,
                                    size_t width)
{
  struct progress_opts o = {NULL, 1, fake_now, NULL, 0, width};

  s->data = NULL;
  s->len = 0;
  s->now = 1000000;
  s->f = open_memstream(&s->data, &s->len);
  assert_non_null(s->f);
  o.out = s->f;
  o.now_arg = &s->now;
  return progress_new_with(tag, &o);
}

static int count_char(const struct screen *s, char c)
{
  int n = 0;

  fflush(s->f);
  for (size_t i = 0; i < s->len; i++)
    n += s->data[i] == c;
  return n;
}

static void close_screen(struct screen *s)
{
  fclose(s->f);
  free(s->data);
}

static void line_shows_stream_records_pages_rate_elapsed(void **state)
{
  struct screen s;
  struct progress *p = open_screen(&s, "shop", 0);
  char line[256];

  (void)state;
  assert_non_null(p);
  for (int i = 0; i < 12345; i++)
    progress_record(p, "users");
  for (int i = 0; i < 40; i++)
    progress_page(p);
  s.now += 12500; /* 12.5 s: 12345 / 12.5 = 987.6 records/s */
  assert_int_equal(progress_format(p, s.now, line, sizeof(line)),
                   strlen("shop: users 12345 records, 40 pages, 987 "
                          "records/s, 0:12"));
  assert_string_equal(line,
                      "shop: users 12345 records, 40 pages, 987 records/s, "
                      "0:12");
  s.now += 3600 * 1000 + 61000;
  progress_format(p, s.now, line, sizeof(line));
  assert_string_equal(line, "shop: users 12345 records, 40 pages, 3 "
                            "records/s, 1:01:13");
  progress_done(p);
  close_screen(&s);
}

static void no_records_yet_shows_no_stream_and_zero_rate(void **state)
{
  struct screen s;
  struct progress *p = open_screen(&s, "shop", 0);
  char line[256];

  (void)state;
  progress_format(p, s.now, line, sizeof(line));
  assert_string_equal(line, "shop: 0 records, 0 pages, 0 records/s, 0:00");
  progress_done(p);
  assert_int_equal(s.len, 0); /* nothing drawn, nothing written */
  close_screen(&s);
}

static void redraws_at_most_four_times_a_second(void **state)
{
  struct screen s;
  struct progress *p = open_screen(&s, "t", 0);

  (void)state;
  /* 10 s of records, one every 10 ms: 1000 calls, 40 redraws due. */
  for (int i = 0; i < 1000; i++) {
    s.now += 10;
    progress_record(p, "a");
  }
  assert_int_equal(count_char(&s, '\r'), 40);
  assert_int_equal(count_char(&s, '\n'), 0);
  progress_done(p);
  assert_int_equal(count_char(&s, '\r'), 41);
  assert_int_equal(count_char(&s, '\n'), 1);
  assert_int_equal(s.data[s.len - 1], '\n');
  close_screen(&s);
}

static void a_shorter_line_blanks_the_rest_of_the_longer_one(void **state)
{
  struct screen s;
  struct progress *p = open_screen(&s, "t", 0);
  const char *second;

  (void)state;
  s.now += 300;
  progress_record(p, "a_very_long_stream_name");
  fflush(s.f);
  assert_string_equal(s.data, "\rt: a_very_long_stream_name 1 records, 0 "
                              "pages, 3 records/s, 0:00");
  s.now += 300;
  progress_record(p, "b");
  fflush(s.f);
  second = strrchr(s.data, '\r');
  assert_string_equal(second, "\rt: b 2 records, 0 pages, 3 records/s, 0:00"
                              "                      ");
  progress_done(p);
  close_screen(&s);
}

static void line_is_cut_to_the_width(void **state)
{
  struct screen s;
  struct progress *p = open_screen(&s, "connector", 20);
  char line[256], small[8];

  (void)state;
  progress_record(p, "stream");
  assert_int_equal(progress_format(p, s.now, line, sizeof(line)), 20);
  assert_string_equal(line, "connector: stream 1 ");
  assert_int_equal(progress_format(p, s.now, small, sizeof(small)), 7);
  assert_string_equal(small, "connect");
  progress_done(p);
  close_screen(&s);
}

static void not_a_tty_means_no_display(void **state)
{
  FILE *f = tmpfile();
  struct progress_opts o = {NULL, 0, NULL, NULL, 0, 0};

  (void)state;
  assert_non_null(f);
  o.out = f;
  assert_null(progress_new_with("x", &o));
  /* And a NULL display takes every call silently. */
  progress_record(NULL, "s");
  progress_page(NULL);
  progress_done(NULL);
  assert_int_equal(ftell(f), 0);
  fclose(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(line_shows_stream_records_pages_rate_elapsed),
      cmocka_unit_test(no_records_yet_shows_no_stream_and_zero_rate),
      cmocka_unit_test(redraws_at_most_four_times_a_second),
      cmocka_unit_test(a_shorter_line_blanks_the_rest_of_the_longer_one),
      cmocka_unit_test(line_is_cut_to_the_width),
      cmocka_unit_test(not_a_tty_means_no_display),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
