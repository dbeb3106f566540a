/* test_error.c - the error value, the clock and the byte buffer. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "clock.h"
#include "error.h"

static void error_set_returns_code_and_formats(void **state)
{
  struct integ_error err = {0, ""};

  (void)state;
  assert_int_equal(error_set(&err, INTEG_EIO, "x=%d", 5), INTEG_EIO);
  assert_int_equal(err.code, INTEG_EIO);
  assert_string_equal(err.message, "x=5");
  error_prefix(&err, "file %s", "a.yaml");
  assert_string_equal(err.message, "file a.yaml: x=5");
  assert_int_equal(error_set(NULL, INTEG_EINVAL, "ignored"), INTEG_EINVAL);
}

static void long_error_is_truncated_with_dots(void **state)
{
  struct integ_error err;
  char big[3000];

  (void)state;
  memset(big, 'a', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  error_set(&err, INTEG_EINVAL, "%s", big);
  assert_int_equal(strlen(err.message), INTEG_ERROR_MAX - 1);
  assert_string_equal(err.message + INTEG_ERROR_MAX - 4, "...");
}

static void rfc3339_parses_offsets_and_fractions(void **state)
{
  struct integ_error err;
  int64_t ms;

  (void)state;
  assert_int_equal(clock_parse_rfc3339("1970-01-01T00:00:00Z", 20, &ms, &err),
                   0);
  assert_int_equal(ms, 0);
  assert_int_equal(
      clock_parse_rfc3339("2024-02-29T12:30:15.25+01:30", 28, &ms, &err), 0);
  assert_int_equal(ms, 1709204415250LL); /* 11:00:15.25Z */
  assert_int_equal(clock_parse_rfc3339("2000-03-01t00:00:00z", 20, &ms, &err),
                   0);
  assert_int_equal(ms, 951868800000LL);
}

static void rfc3339_rejects_bad_text_with_position(void **state)
{
  struct integ_error err;
  int64_t ms;

  (void)state;
  assert_int_equal(clock_parse_rfc3339("2023-02-29T00:00:00Z", 20, &ms, &err),
                   INTEG_EINVAL);
  assert_non_null(strstr(err.message, "not a valid date"));
  assert_int_equal(clock_parse_rfc3339("2023-02-01 00:00:00Z", 20, &ms, &err),
                   INTEG_EINVAL);
  assert_non_null(strstr(err.message, "at character 11"));
  assert_int_equal(clock_parse_rfc3339("2023-02-01T00:00:00", 19, &ms, &err),
                   INTEG_EINVAL);
}

static void rfc3339_formats_as_singer_does(void **state)
{
  char b[CLOCK_RFC3339_MAX];

  (void)state;
  assert_string_equal(clock_format_rfc3339(1709206215250LL, b, sizeof(b)),
                      "2024-02-29T11:30:15.250000+00:00");
  assert_string_equal(clock_format_rfc3339(-1, b, sizeof(b)),
                      "1969-12-31T23:59:59.999000+00:00");
}

static void integ_now_fixes_the_clock(void **state)
{
  struct integ_error err;
  struct clock c;

  (void)state;
  setenv("INTEG_NOW", "2026-01-02T03:04:05Z", 1);
  assert_int_equal(clock_init(&c, &err), 0);
  assert_int_equal(clock_now_ms(&c), 1767323045000LL);
  setenv("INTEG_NOW", "yesterday", 1);
  assert_int_equal(clock_init(&c, &err), INTEG_ECONFIG);
  assert_non_null(strstr(err.message, "INTEG_NOW=yesterday"));
  unsetenv("INTEG_NOW");
  assert_int_equal(clock_init(&c, &err), 0);
  assert_true(clock_now_ms(&c) > 1767323045000LL);
}

static void buf_grows_and_formats(void **state)
{
  struct buf b = BUF_INIT;

  (void)state;
  for (int i = 0; i < 1000; i++)
    assert_int_equal(buf_printf(&b, "%d,", i), 0);
  assert_int_equal(b.len, 3890);
  assert_memory_equal(b.data + b.len - 4, "999,", 4);
  assert_int_equal(b.data[b.len], '\0');
  buf_reset(&b);
  assert_int_equal(b.len, 0);
  assert_int_equal(buf_append(&b, "a\0b", 3), 0);
  assert_int_equal(b.len, 3);
  buf_free(&b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(error_set_returns_code_and_formats),
      cmocka_unit_test(long_error_is_truncated_with_dots),
      cmocka_unit_test(rfc3339_parses_offsets_and_fractions),
      cmocka_unit_test(rfc3339_rejects_bad_text_with_position),
      cmocka_unit_test(rfc3339_formats_as_singer_does),
      cmocka_unit_test(integ_now_fixes_the_clock),
      cmocka_unit_test(buf_grows_and_formats),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
