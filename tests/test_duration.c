/* test_duration.c - durations as admins write them ("15m", "1h30m"). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "duration.h"

static void check_ms(const char *text, int64_t want)
{
  struct integ_error err = {0, ""};
  int64_t ms = -1;

  if (duration_parse(text, &ms, NULL, &err) != 0)
    fail_msg("\"%s\": expected %lld ms, got error: %s", text, (long long)want,
             err.message);
  if (ms != want)
    fail_msg("\"%s\": expected %lld ms, got %lld", text, (long long)want,
             (long long)ms);
}

static void check_bad(const char *text, size_t want_pos, const char *words)
{
  struct integ_error err = {0, ""};
  int64_t ms = 0;
  size_t pos = 99;

  if (duration_parse(text, &ms, &pos, &err) != INTEG_EINVAL)
    fail_msg("\"%s\": expected an error, got %lld ms", text, (long long)ms);
  if (pos != want_pos || !strstr(err.message, words))
    fail_msg("\"%s\": expected position %zu and \"%s\", got %zu: %s", text,
             want_pos, words, pos, err.message);
}

static void units_and_sums_parse(void **state)
{
  (void)state;
  check_ms("15m", 15 * 60 * 1000);
  check_ms("1h30m", 90 * 60 * 1000);
  check_ms("500ms", 500);
  check_ms("90s", 90 * 1000);
  check_ms("1d", 86400 * 1000);
  check_ms("0s", 0);
  check_ms("007s", 7000);
  check_ms("1d2h3m4s5ms", ((((1 * 24 + 2) * 60 + 3) * 60 + 4) * 1000) + 5);
}

static void bad_durations_say_where(void **state)
{
  (void)state;
  check_bad("", 0, "empty duration");
  check_bad("15", 1, "no unit");
  check_bad("1h30", 3, "no unit");
  check_bad("15x", 3, "unknown unit");
  check_bad("15 m", 3, "unknown unit");
  check_bad("m", 1, "expected a digit");
  check_bad("-5m", 1, "expected a digit");
  check_bad("1.5h", 2, "unknown unit");
  check_bad("99999999999999999999s", 1, "too large");
  check_bad("9999999999999999d", 1, "too large");
}

static void format_is_shortest_text(void **state)
{
  char buf[64];

  (void)state;
  assert_int_equal(duration_format(5400000, buf, sizeof buf), 5);
  assert_string_equal(buf, "1h30m");
  duration_format(0, buf, sizeof buf);
  assert_string_equal(buf, "0s");
  duration_format(250, buf, sizeof buf);
  assert_string_equal(buf, "250ms");
  duration_format(90061001, buf, sizeof buf);
  assert_string_equal(buf, "1d1h1m1s1ms");
  duration_format(-60000, buf, sizeof buf);
  assert_string_equal(buf, "-1m");
  duration_format(INT64_MIN, buf, sizeof buf); /* no overflow */
  assert_int_equal(buf[0], '-');
  /* Truncated to the buffer, full length returned. */
  assert_int_equal(duration_format(5400000, buf, 3), 5);
  assert_string_equal(buf, "1h");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(units_and_sums_parse),
      cmocka_unit_test(bad_durations_say_where),
      cmocka_unit_test(format_is_shortest_text),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
