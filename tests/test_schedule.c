/* test_schedule.c - cron expressions, intervals, zones and jitter.
 *
 * Every expected time below was worked out by hand from a calendar and the
 * zone's rules (noted beside each case), not by running the code. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "anchors.h"
#include "clock.h"
#include "schedule.h"

static int64_t at(const char *rfc3339)
{
  struct integ_error err = {0, ""};
  int64_t ms = 0;

  if (clock_parse_rfc3339(rfc3339, strlen(rfc3339), &ms, &err) != 0)
    fail_msg("bad time in test: %s: %s", rfc3339, err.message);
  return ms / 1000;
}

static bool have_zone(const char *name)
{
  struct tz *tz = NULL;
  struct integ_error err = {0, ""};

  if (tz_load(name, &tz, &err) != 0)
    return false;
  tz_free(tz);
  return true;
}

/* tzdata's zones are reference data (anchors.h): a missing zone fails the
 * test, unless configure --without-anchors, which skips the tests marked
 * ZONE_TEST in main when one of the zones they use is missing. */
#define SKIP_WITHOUT_ZONE(z)                                                  \
  do {                                                                        \
    if (!have_zone(z))                                                        \
      fail_msg("time zone %s is not installed: install the Debian package "   \
               "tzdata, or configure --without-anchors to skip the tests "    \
               "that need reference data",                                    \
               z);                                                            \
  } while (0)

static bool zones_absent(void)
{
  return anchors_absent() &&
         !(have_zone("Europe/Berlin") && have_zone("America/New_York") &&
           have_zone("Australia/Lord_Howe"));
}

#define ZONE_TEST(f) anchors_test(f, zones_absent())

/* No zone at all, not even UTC: every test needs tzdata. Whether the
 * whole program is skipped (configure --without-anchors); else it says
 * what to install, and the tests fail. */
static bool tzdata_absent_on_purpose(void)
{
  if (have_zone("UTC"))
    return false;
  if (anchors_absent()) {
    printf("1..0 # SKIP anchors absent (--without-anchors): tzdata is not "
           "installed\n");
    return true;
  }
  printf("# tzdata is not installed: install the Debian package tzdata, or "
         "configure --without-anchors to skip the tests that need "
         "reference data\n");
  return false;
}

/* The fire times of EXPR in TZ after FROM must be the NULL-terminated
 * list WANT, in order. */
static void check_times(const char *expr, const char *tz, const char *from,
                        const char *const *want)
{
  struct schedule *s = NULL;
  struct schedule_where where = {NULL, 0};
  struct integ_error err = {0, ""};
  int64_t t = at(from);

  if (schedule_parse(expr, tz, &s, &where, &err) != 0)
    fail_msg("\"%s\" did not parse: %s", expr, err.message);
  for (size_t i = 0; want[i]; i++) {
    char got[48];

    if (schedule_next(s, t, &t, &err) != 0)
      fail_msg("\"%s\" next #%zu: %s", expr, i + 1, err.message);
    tz_format(t, schedule_zone(s), got, sizeof got);
    if (strcmp(got, want[i]) != 0)
      fail_msg("\"%s\" in %s after %s, fire #%zu: expected %s, got %s", expr,
               tz, from, i + 1, want[i], got);
  }
  schedule_free(s);
}

#define TIMES(expr, tz, from, ...)                                            \
  check_times(expr, tz, from, (const char *const[]){__VA_ARGS__, NULL})

/* EXPR must be refused with FIELD at POSITION and a message holding
 * WORDS. */
static void check_error(const char *expr, const char *field, size_t position,
                        const char *words)
{
  struct schedule *s = NULL;
  struct schedule_where where = {NULL, 0};
  struct integ_error err = {0, ""};
  int rc = schedule_parse(expr, "UTC", &s, &where, &err);

  if (rc == 0) {
    schedule_free(s);
    fail_msg("\"%s\" parsed, expected an error in %s at %zu", expr, field,
             position);
  }
  assert_int_equal(rc, INTEG_EINVAL);
  if (!where.field || strcmp(where.field, field) != 0 ||
      where.position != position)
    fail_msg("\"%s\": expected %s at position %zu, got %s at %zu (%s)", expr,
             field, position, where.field ? where.field : "(none)",
             where.position, err.message);
  if (!strstr(err.message, words))
    fail_msg("\"%s\": expected the message to say \"%s\", got: %s", expr,
             words, err.message);
}

/* ------------------------------------------------------------ syntax */

static void star_step_fires_every_15_minutes(void **state)
{
  (void)state;
  TIMES("*/15 * * * *", "UTC", "2026-01-01T00:07:00Z",
        "2026-01-01T00:15:00+00:00", "2026-01-01T00:30:00+00:00",
        "2026-01-01T00:45:00+00:00", "2026-01-01T01:00:00+00:00");
}

static void next_is_strictly_after_from(void **state)
{
  (void)state;
  /* From exactly 00:15:00 the next is 00:30; from 00:14:59, 00:15. */
  TIMES("*/15 * * * *", "UTC", "2026-01-01T00:15:00Z",
        "2026-01-01T00:30:00+00:00");
  TIMES("*/15 * * * *", "UTC", "2026-01-01T00:14:59Z",
        "2026-01-01T00:15:00+00:00");
  /* Seconds inside a minute: the next whole matching minute. */
  TIMES("* * * * *", "UTC", "2026-01-01T00:00:01Z",
        "2026-01-01T00:01:00+00:00");
}

static void step_on_range_counts_from_range_start(void **state)
{
  (void)state;
  /* 1-10/3 is 1,4,7,10. */
  TIMES("1-10/3 * * * *", "UTC", "2026-01-01T00:00:00Z",
        "2026-01-01T00:01:00+00:00", "2026-01-01T00:04:00+00:00",
        "2026-01-01T00:07:00+00:00", "2026-01-01T00:10:00+00:00",
        "2026-01-01T01:01:00+00:00");
  /* Hours 8-18/5 are 8, 13, 18. */
  TIMES("0 8-18/5 * * *", "UTC", "2026-01-01T09:00:00Z",
        "2026-01-01T13:00:00+00:00", "2026-01-01T18:00:00+00:00",
        "2026-01-02T08:00:00+00:00");
  /* A step beyond the range selects the start only, as cronie. */
  TIMES("*/90 * * * *", "UTC", "2026-01-01T00:00:00Z",
        "2026-01-01T01:00:00+00:00");
}

static void lists_mix_values_and_ranges(void **state)
{
  (void)state;
  TIMES("5,10-12,55 9,17 * * *", "UTC", "2026-01-01T09:11:00Z",
        "2026-01-01T09:12:00+00:00", "2026-01-01T09:55:00+00:00",
        "2026-01-01T17:05:00+00:00", "2026-01-01T17:10:00+00:00");
}

static void month_names_are_case_insensitive(void **state)
{
  (void)state;
  TIMES("0 12 1 JAN,jul *", "UTC", "2026-01-01T12:00:00Z",
        "2026-07-01T12:00:00+00:00", "2027-01-01T12:00:00+00:00");
  TIMES("0 0 1 Mar-May *", "UTC", "2026-01-01T00:00:00Z",
        "2026-03-01T00:00:00+00:00", "2026-04-01T00:00:00+00:00",
        "2026-05-01T00:00:00+00:00", "2027-03-01T00:00:00+00:00");
}

static void weekday_names_and_ranges(void **state)
{
  (void)state;
  /* 2026-01-01 is a Thursday. MON-fri: Fri 2, Mon 5, Tue 6. */
  TIMES("0 9 * * MON-fri", "UTC", "2026-01-01T10:00:00Z",
        "2026-01-02T09:00:00+00:00", "2026-01-05T09:00:00+00:00",
        "2026-01-06T09:00:00+00:00");
  /* mon-fri/2 is Mon, Wed, Fri. */
  TIMES("0 9 * * mon-fri/2", "UTC", "2026-01-01T10:00:00Z",
        "2026-01-02T09:00:00+00:00", "2026-01-05T09:00:00+00:00",
        "2026-01-07T09:00:00+00:00");
}

static void sunday_is_both_0_and_7(void **state)
{
  (void)state;
  /* Sundays in January 2026: 4, 11. */
  TIMES("0 0 * * 7", "UTC", "2026-01-01T00:00:00Z",
        "2026-01-04T00:00:00+00:00", "2026-01-11T00:00:00+00:00");
  TIMES("0 0 * * 0", "UTC", "2026-01-01T00:00:00Z",
        "2026-01-04T00:00:00+00:00", "2026-01-11T00:00:00+00:00");
  TIMES("0 0 * * sun", "UTC", "2026-01-01T00:00:00Z",
        "2026-01-04T00:00:00+00:00");
  /* 5-7: Fri 2, Sat 3, Sun 4, Fri 9. */
  TIMES("0 0 * * 5-7", "UTC", "2026-01-01T00:00:00Z",
        "2026-01-02T00:00:00+00:00", "2026-01-03T00:00:00+00:00",
        "2026-01-04T00:00:00+00:00", "2026-01-09T00:00:00+00:00");
}

static void aliases_mean_what_cronie_means(void **state)
{
  (void)state;
  TIMES("@hourly", "UTC", "2026-01-01T00:30:00Z", "2026-01-01T01:00:00+00:00",
        "2026-01-01T02:00:00+00:00");
  TIMES("@Daily", "UTC", "2026-01-01T00:30:00Z", "2026-01-02T00:00:00+00:00",
        "2026-01-03T00:00:00+00:00");
  TIMES("@midnight", "UTC", "2026-01-01T00:30:00Z",
        "2026-01-02T00:00:00+00:00");
  /* Weekly is Sunday midnight: 2026-01-04. */
  TIMES("@weekly", "UTC", "2026-01-01T00:30:00Z", "2026-01-04T00:00:00+00:00",
        "2026-01-11T00:00:00+00:00");
  TIMES("@monthly", "UTC", "2026-01-01T00:30:00Z", "2026-02-01T00:00:00+00:00",
        "2026-03-01T00:00:00+00:00");
  TIMES("@yearly", "UTC", "2026-01-01T00:30:00Z", "2027-01-01T00:00:00+00:00");
  TIMES("  @annually ", "UTC", "2026-01-01T00:30:00Z",
        "2027-01-01T00:00:00+00:00");
}

/* ---------------------------------------------- day-of-month / week */

static void both_day_fields_restricted_means_either(void **state)
{
  (void)state;
  /* The 13th or a Friday. March 2026: Fridays 6, 13, 20, 27; April:
   * Fri 3, 10, Mon 13 (the 13th), Fri 17. */
  TIMES("0 0 13 * 5", "UTC", "2026-03-01T00:00:00Z",
        "2026-03-06T00:00:00+00:00", "2026-03-13T00:00:00+00:00",
        "2026-03-20T00:00:00+00:00", "2026-03-27T00:00:00+00:00",
        "2026-04-03T00:00:00+00:00", "2026-04-10T00:00:00+00:00",
        "2026-04-13T00:00:00+00:00", "2026-04-17T00:00:00+00:00");
}

static void star_step_in_day_of_month_is_unrestricted(void **state)
{
  (void)state;
  /* *\/2 starts with '*': odd days AND Mondays (crontab(5)). Mondays in
   * March-April 2026: 2, 9, 16, 23, 30, Apr 6, 13, 20, 27; odd: 9, 23,
   * Apr 13, 27. */
  TIMES("0 0 */2 * 1", "UTC", "2026-03-01T00:00:00Z",
        "2026-03-09T00:00:00+00:00", "2026-03-23T00:00:00+00:00",
        "2026-04-13T00:00:00+00:00", "2026-04-27T00:00:00+00:00");
  /* *\/7 in day-of-week is Sunday (0 and 7) and unrestricted: the first
   * Sunday of each month (days 1-7): Feb 1, Mar 1, Apr 5 2026. ORed, it
   * would be every day 1-7 and every Sunday. */
  TIMES("0 0 1-7 * */7", "UTC", "2026-01-05T00:00:00Z",
        "2026-02-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00",
        "2026-04-05T00:00:00+00:00");
}

static void range_1_31_is_restricted_so_any_weekday_ors(void **state)
{
  (void)state;
  /* "1-31" does not start with '*': restricted, ORed with Monday, so
   * every day fires. */
  TIMES("0 0 1-31 * 1", "UTC", "2026-03-01T00:00:00Z",
        "2026-03-02T00:00:00+00:00", "2026-03-03T00:00:00+00:00",
        "2026-03-04T00:00:00+00:00");
  /* Star day-of-month: Mondays only. */
  TIMES("0 0 * * 1", "UTC", "2026-03-01T00:00:00Z",
        "2026-03-02T00:00:00+00:00", "2026-03-09T00:00:00+00:00");
}

static void day_31_with_a_weekday_fires_on_that_weekday(void **state)
{
  (void)state;
  /* Feb 31 never exists, but OR with Monday: Mondays in Feb 2026 are 2,
   * 9, 16, 23; then March 2. Not a "never fires" error. */
  TIMES("0 0 31 2 1", "UTC", "2026-01-01T00:00:00Z",
        "2026-02-02T00:00:00+00:00", "2026-02-09T00:00:00+00:00",
        "2026-02-16T00:00:00+00:00", "2026-02-23T00:00:00+00:00",
        "2027-02-01T00:00:00+00:00");
}

/* ---------------------------------------------- leap days, month ends */

static void leap_day_fires_only_in_leap_years(void **state)
{
  (void)state;
  TIMES("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z",
        "2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00");
  /* 2100 is not a leap year (divisible by 100, not by 400); 2000 is. */
  TIMES("0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z",
        "2104-02-29T00:00:00+00:00");
  TIMES("0 0 29 2 *", "UTC", "1999-01-01T00:00:00Z",
        "2000-02-29T00:00:00+00:00", "2004-02-29T00:00:00+00:00");
  /* Feb 29 that is a Sunday (*\/7 keeps day-of-month alone deciding
   * together with it): 2032, 2060, 2088. */
  TIMES("0 0 29 2 */7", "UTC", "2026-01-01T00:00:00Z",
        "2032-02-29T00:00:00+00:00", "2060-02-29T00:00:00+00:00",
        "2088-02-29T00:00:00+00:00");
}

static void month_end_days_skip_short_months(void **state)
{
  (void)state;
  TIMES("0 0 31 * *", "UTC", "2026-01-01T00:00:00Z",
        "2026-01-31T00:00:00+00:00", "2026-03-31T00:00:00+00:00",
        "2026-05-31T00:00:00+00:00", "2026-07-31T00:00:00+00:00",
        "2026-08-31T00:00:00+00:00", "2026-10-31T00:00:00+00:00",
        "2026-12-31T00:00:00+00:00");
  TIMES("0 0 30 * *", "UTC", "2026-01-31T00:00:00Z",
        "2026-03-30T00:00:00+00:00");
  TIMES("0 0 29 * *", "UTC", "2028-01-30T00:00:00Z",
        "2028-02-29T00:00:00+00:00", "2028-03-29T00:00:00+00:00");
  /* New Year's Eve 23:59 rolls into the next year. */
  TIMES("59 23 31 12 *", "UTC", "2026-12-31T23:59:00Z",
        "2027-12-31T23:59:00+00:00");
}

static void every_leap_day_to_9999_is_exact_and_fast(void **state)
{
  struct schedule *s = NULL;
  struct integ_error err = {0, ""};
  int64_t t = at("2026-01-01T00:00:00+01:00"), y = 2026;
  clock_t c0;
  double secs;

  (void)state;
  SKIP_WITHOUT_ZONE("Europe/Berlin");
  assert_int_equal(
      schedule_parse("0 0 29 2 *", "Europe/Berlin", &s, NULL, &err), 0);
  c0 = clock();
  for (int i = 0; i < 1933; i++) { /* the leap years 2028-9996 */
    char got[48], want[48];

    assert_int_equal(schedule_next(s, t, &t, &err), 0);
    do
      y++;
    while (!((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    /* Berlin keeps CET in February (its rule holds for later years). */
    snprintf(want, sizeof want, "%04d-02-29T00:00:00+01:00", (int)y);
    tz_format(t, schedule_zone(s), got, sizeof got);
    if (strcmp(got, want) != 0)
      fail_msg("leap day #%d: expected %s, got %s", i + 1, want, got);
  }
  secs = (double)(clock() - c0) / CLOCKS_PER_SEC;
  print_message("# 1933 leap days (to %d) in %.3f s CPU\n", (int)y, secs);
  assert_true(secs < 5.0); /* generous: sanitizers, slow machines */
  /* Then the years run out: an error in RFC 3339, never year 10000. */
  assert_int_equal(schedule_next(s, t, &t, &err), INTEG_EINVAL);
  assert_string_equal(err.message, "no fire time after "
                                   "9996-02-29T00:00:00+01:00 within years "
                                   "1-9999");
  schedule_free(s);
}

/* ------------------------------------------------------------ errors */

static void invalid_expressions_name_field_and_position(void **state)
{
  (void)state;
  check_error("61 * * * *", "minute", 1, "61 is out of range 0-59");
  check_error("0 24 * * *", "hour", 3, "out of range 0-23");
  check_error("0 0 0 * *", "day-of-month", 5, "out of range 1-31");
  check_error("0 0 32 * *", "day-of-month", 5, "out of range 1-31");
  check_error("0 0 * 13 *", "month", 7, "out of range 1-12");
  check_error("0 0 * * 8", "day-of-week", 9, "out of range 0-7");
  check_error("0 0 L * *", "day-of-month", 5, "'L'");
  check_error("0 0 * * 5L", "day-of-week", 10, "'L'");
  check_error("0 0 15W * *", "day-of-month", 7, "'W'");
  check_error("0 0 LW * *", "day-of-month", 5, "'L'");
  check_error("0 0 * * 1#2", "day-of-week", 10, "'#'");
  check_error("0 0 ? * *", "day-of-month", 5, "'?'");
  check_error("0 0 * * ?", "day-of-week", 9, "'?'");
  check_error("0~30 * * * *", "minute", 2, "'~'");
  check_error("0 0 * * * *", "expression", 11, "sixth field");
  check_error("0 0 1 1 * 2027", "expression", 11, "sixth field");
  check_error("0 0 * *", "day-of-week", 8, "five fields");
  check_error("", "expression", 1, "empty");
  check_error("@reboot", "expression", 1, "@reboot is not supported");
  check_error(" @REBOOT", "expression", 2, "@reboot is not supported");
  check_error("@fortnightly", "expression", 1, "unknown alias");
  check_error("@daily 5", "expression", 8, "alias stands alone");
  check_error("1,,2 * * * *", "minute", 3, "empty list item");
  check_error("1, * * * *", "minute", 3, "empty list item");
  check_error(",1 * * * *", "minute", 1, "empty list item");
  check_error("*/0 * * * *", "minute", 3, "step 0");
  check_error("0 1-5/0 * * *", "hour", 7, "step 0");
  check_error("5/10 * * * *", "minute", 1, "a step needs a range");
  check_error("*/ * * * *", "minute", 3, "followed by a step");
  check_error("10-5 * * * *", "minute", 4, "runs backwards");
  check_error("0 0 * * fri-mon", "day-of-week", 13, "runs backwards");
  check_error("0 0 * * mon-", "day-of-week", 13, "range without an end");
  check_error("jan * * * *", "minute", 1, "names are allowed only");
  check_error("0 0 mon * *", "day-of-month", 5, "names are allowed only");
  check_error("0 0 * january *", "month", 7, "unknown month name");
  check_error("0 12 * * monday", "day-of-week", 10,
              "unknown day-of-week name");
  check_error("*5 * * * *", "minute", 2, "unexpected '5'");
  check_error("0 0 1 * * \x01", "expression", 11, "sixth field");
  check_error("0 0\x01 1 * *", "hour", 4, "unexpected byte 0x01");
}

static void expressions_that_never_fire_are_errors(void **state)
{
  (void)state;
  check_error("0 0 31 2 *", "day-of-month", 5, "can never fire");
  check_error("0 0 30,31 2 *", "day-of-month", 5, "can never fire");
  check_error("0 0 31 4,6,9,11 *", "day-of-month", 5, "can never fire");
  check_error("0 0 31 feb */2", "day-of-month", 5, "can never fire");
}

static void interval_syntax_errors_have_positions(void **state)
{
  (void)state;
  check_error("every", "interval", 6, "needs a duration");
  check_error("every 15", "interval", 7, "no unit");
  check_error("every 15x", "interval", 9, "unknown unit");
  check_error("every 500ms", "interval", 7, "whole seconds");
  check_error("every 0s", "interval", 7, "at least 1s");
  check_error("every 1h since x", "expression", 10, "from TIME");
  check_error("every 1h from 2026-01-01", "anchor", 15, "RFC 3339");
  check_error("every 1h from 2026-01-01T00:00:00Z x", "expression", 36,
              "unexpected text");
}

/* --------------------------------------------------------------- DST */

static void berlin_spring_forward(void **state)
{
  (void)state;
  SKIP_WITHOUT_ZONE("Europe/Berlin");
  /* 2026-03-29 (last Sunday of March) 01:00Z: 02:00 CET becomes 03:00
   * CEST; 02:00-02:59 does not exist. */
  /* Fixed-time job inside the gap: once, right after it (03:00 CEST =
   * 01:00Z), then back at 02:30 the next day. */
  TIMES("30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z",
        "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00");
  /* Several matches in the gap and one at its end: one run. */
  TIMES("0,30 2,3 * * *", "Europe/Berlin", "2026-03-29T00:00:00Z",
        "2026-03-29T03:00:00+02:00", "2026-03-29T03:30:00+02:00",
        "2026-03-30T02:00:00+02:00");
  /* Fixed-time jobs outside the gap are untouched. */
  TIMES("30 1 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z",
        "2026-03-29T01:30:00+01:00", "2026-03-30T01:30:00+02:00");
  TIMES("30 3 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z",
        "2026-03-29T03:30:00+02:00");
  /* Wildcard jobs follow the wall clock: nothing at 02:xx. */
  TIMES("*/30 * * * *", "Europe/Berlin", "2026-03-29T00:00:00Z",
        "2026-03-29T01:30:00+01:00", "2026-03-29T03:00:00+02:00",
        "2026-03-29T03:30:00+02:00");
  TIMES("30 * * * *", "Europe/Berlin", "2026-03-29T00:00:00Z",
        "2026-03-29T01:30:00+01:00", "2026-03-29T03:30:00+02:00");
  /* Minute '*' makes it a wildcard job: its 02:xx minutes are skipped. */
  TIMES("* 2 * * *", "Europe/Berlin", "2026-03-28T23:00:00Z",
        "2026-03-30T02:00:00+02:00");
  TIMES("@hourly", "Europe/Berlin", "2026-03-29T00:30:00Z",
        "2026-03-29T03:00:00+02:00");
}

static void berlin_fall_back(void **state)
{
  (void)state;
  SKIP_WITHOUT_ZONE("Europe/Berlin");
  /* 2026-10-25 01:00Z: 03:00 CEST becomes 02:00 CET; 02:00-02:59 happens
   * twice (00:00-00:59Z as CEST, 01:00-01:59Z as CET). */
  /* Fixed-time job in the repeated hour: first pass only. */
  TIMES("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z",
        "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00");
  TIMES("0-59/20 2 * * *", "Europe/Berlin", "2026-10-24T23:30:00Z",
        "2026-10-25T02:00:00+02:00", "2026-10-25T02:20:00+02:00",
        "2026-10-25T02:40:00+02:00", "2026-10-26T02:00:00+01:00");
  /* Outside it: once. */
  TIMES("30 1 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z",
        "2026-10-25T01:30:00+02:00", "2026-10-26T01:30:00+01:00");
  TIMES("30 3 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z",
        "2026-10-25T03:30:00+01:00");
  /* Wildcard jobs: both passes. */
  TIMES("*/30 * * * *", "Europe/Berlin", "2026-10-24T23:00:00Z",
        "2026-10-25T01:30:00+02:00", "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:30:00+02:00", "2026-10-25T02:00:00+01:00",
        "2026-10-25T02:30:00+01:00", "2026-10-25T03:00:00+01:00");
  TIMES("0 * * * *", "Europe/Berlin", "2026-10-24T23:30:00Z",
        "2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00",
        "2026-10-25T03:00:00+01:00");
  TIMES("15 2 * * *", "Europe/Berlin", "2026-10-25T00:15:00Z",
        "2026-10-26T02:15:00+01:00");
}

static void new_york_spring_forward(void **state)
{
  (void)state;
  SKIP_WITHOUT_ZONE("America/New_York");
  /* 2026-03-08 (second Sunday of March) 07:00Z: 02:00 EST becomes 03:00
   * EDT. */
  TIMES("30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z",
        "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00");
  TIMES("0 3 * * *", "America/New_York", "2026-03-07T12:00:00Z",
        "2026-03-08T03:00:00-04:00", "2026-03-09T03:00:00-04:00");
  TIMES("30 1 * * *", "America/New_York", "2026-03-07T12:00:00Z",
        "2026-03-08T01:30:00-05:00");
  TIMES("*/20 * * * *", "America/New_York", "2026-03-08T06:40:00Z",
        "2026-03-08T03:00:00-04:00", "2026-03-08T03:20:00-04:00");
  TIMES("45 2 * * 0", "America/New_York", "2026-03-01T12:00:00Z",
        "2026-03-08T03:00:00-04:00", "2026-03-15T02:45:00-04:00");
}

static void new_york_fall_back(void **state)
{
  (void)state;
  SKIP_WITHOUT_ZONE("America/New_York");
  /* 2026-11-01 (first Sunday of November) 06:00Z: 02:00 EDT becomes 01:00
   * EST; 01:00-01:59 happens twice. */
  TIMES("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z",
        "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00");
  TIMES("0 1 * * *", "America/New_York", "2026-10-31T12:00:00Z",
        "2026-11-01T01:00:00-04:00", "2026-11-02T01:00:00-05:00");
  TIMES("0 2 * * *", "America/New_York", "2026-10-31T12:00:00Z",
        "2026-11-01T02:00:00-05:00");
  TIMES("15 * * * *", "America/New_York", "2026-11-01T04:00:00Z",
        "2026-11-01T00:15:00-04:00", "2026-11-01T01:15:00-04:00",
        "2026-11-01T01:15:00-05:00", "2026-11-01T02:15:00-05:00");
  TIMES("30 0 * * *", "America/New_York", "2026-10-31T12:00:00Z",
        "2026-11-01T00:30:00-04:00", "2026-11-02T00:30:00-05:00");
}

static void wildcard_means_star_in_minute_or_hour(void **state)
{
  struct schedule *s = NULL;
  static const struct {
    const char *expr;
    bool wild;
  } cases[] = {{"* 2 * * *", true},     {"*/15 3 * * *", true},
               {"30 * * * *", true},    {"30 */2 * * *", true},
               {"@hourly", true},       {"30 2 * * *", false},
               {"0-59 2 * * *", false}, {"@daily", false},
               {"0 0 * * *", false},    {"every 15m", false}};

  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(schedule_parse(cases[i].expr, "UTC", &s, NULL, NULL), 0);
    if (schedule_is_wildcard(s) != cases[i].wild)
      fail_msg("\"%s\": expected %s", cases[i].expr,
               cases[i].wild ? "wildcard" : "fixed-time");
    schedule_free(s);
  }
}

/* ------------------------------------------------------------- zones */

static void zones_give_offsets_from_tzif_and_rule(void **state)
{
  struct tz *tz = NULL;
  struct integ_error err = {0, ""};

  (void)state;
  SKIP_WITHOUT_ZONE("Europe/Berlin");
  assert_int_equal(tz_load("Europe/Berlin", &tz, &err), 0);
  assert_string_equal(tz_name(tz), "Europe/Berlin");
  /* One second before and at the 2026 changes. */
  assert_int_equal(tz_offset(tz, at("2026-03-29T00:59:59Z")), 3600);
  assert_int_equal(tz_offset(tz, at("2026-03-29T01:00:00Z")), 7200);
  assert_int_equal(tz_offset(tz, at("2026-10-25T00:59:59Z")), 7200);
  assert_int_equal(tz_offset(tz, at("2026-10-25T01:00:00Z")), 3600);
  /* After the file's last transition the footer rule decides. */
  assert_int_equal(tz_offset(tz, at("2100-07-01T00:00:00Z")), 7200);
  assert_int_equal(tz_offset(tz, at("2400-01-01T00:00:00Z")), 3600);
  /* Before 1893: local mean time, +0:53:28. */
  assert_int_equal(tz_offset(tz, at("1890-01-01T00:00:00Z")), 53 * 60 + 28);
  tz_free(tz);
}

static void posix_tz_strings_work_without_files(void **state)
{
  (void)state;
  /* US rules: second Sunday of March, first of November. */
  TIMES("0 3 * * *", "EST5EDT4,M3.2.0,M11.1.0", "2026-03-07T00:00:00Z",
        "2026-03-07T03:00:00-05:00", "2026-03-08T03:00:00-04:00");
  TIMES("30 2 * * *", "CET-1CEST,M3.5.0,M10.5.0/3", "2026-03-28T00:00:00Z",
        "2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00");
  /* No DST at all. */
  TIMES("0 0 * * *", "<+0530>-5:30", "2026-01-01T00:00:00Z",
        "2026-01-02T00:00:00+05:30");
  /* Southern hemisphere (DST across the new year): New Zealand, Sep last
   * Sunday 02:00 to Apr first Sunday 03:00. 2026-04-05 03:00 NZDT becomes
   * 02:00 NZST. */
  TIMES("30 2 * * *", "NZST-12NZDT,M9.5.0,M4.1.0/3", "2026-04-04T00:00:00Z",
        "2026-04-05T02:30:00+13:00", "2026-04-06T02:30:00+12:00");
}

static void odd_zones_half_hour_dst_and_lmt(void **state)
{
  char buf[48];
  struct tz *tz = NULL;

  (void)state;
  SKIP_WITHOUT_ZONE("Australia/Lord_Howe");
  SKIP_WITHOUT_ZONE("Europe/Berlin");
  /* Lord Howe moves 30 minutes: 2026-10-04 02:00 +10:30 -> 02:30 +11. */
  TIMES("0 2 * * *", "Australia/Lord_Howe", "2026-10-03T00:00:00Z",
        "2026-10-04T02:30:00+11:00", "2026-10-05T02:00:00+11:00");
  TIMES("10,40 2 * * *", "Australia/Lord_Howe", "2026-10-03T12:00:00Z",
        "2026-10-04T02:30:00+11:00", "2026-10-04T02:40:00+11:00");
  /* An offset with seconds prints rounded toward zero and the clock
   * shifted so the instant is unchanged: 12:00 LMT is 11:06:32Z. */
  assert_int_equal(tz_load("Europe/Berlin", &tz, NULL), 0);
  tz_format(at("1890-01-01T11:06:32Z"), tz, buf, sizeof buf);
  assert_string_equal(buf, "1890-01-01T11:59:32+00:53");
  tz_free(tz);
}

static void zone_errors_are_clear(void **state)
{
  struct tz *tz = NULL;
  struct integ_error err = {0, ""};

  (void)state;
  assert_int_equal(tz_load("Mars/Olympus", &tz, &err), INTEG_ENOTFOUND);
  assert_non_null(strstr(err.message, "unknown time zone \"Mars/Olympus\""));
  assert_int_equal(tz_load("../../etc/passwd", &tz, &err), INTEG_EINVAL);
  assert_non_null(strstr(err.message, "\"..\" is not allowed"));
  /* A file that is not TZif. */
  assert_int_equal(tz_load("/etc/passwd", &tz, &err), INTEG_EINVAL);
  assert_non_null(strstr(err.message, "not a TZif"));
  if (access("/usr/share/zoneinfo/right/UTC", R_OK) == 0) {
    assert_int_equal(tz_load("right/UTC", &tz, &err), INTEG_EINVAL);
    assert_non_null(strstr(err.message, "leap seconds"));
  }
}

static void default_zone_follows_tz_variable(void **state)
{
  struct tz *tz = NULL;
  char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;

  (void)state;
  SKIP_WITHOUT_ZONE("America/New_York");
  setenv("TZ", ":America/New_York", 1);
  assert_int_equal(tz_load(NULL, &tz, NULL), 0);
  assert_string_equal(tz_name(tz), "America/New_York");
  assert_int_equal(tz_offset(tz, at("2026-01-01T00:00:00Z")), -5 * 3600);
  tz_free(tz);
  unsetenv("TZ");
  assert_int_equal(tz_load("", &tz, NULL), 0); /* /etc/localtime */
  tz_free(tz);
  if (old) {
    setenv("TZ", old, 1);
    free(old);
  }
}

/* --------------------------------------------------------- intervals */

static void every_is_aligned_to_the_epoch(void **state)
{
  (void)state;
  TIMES("every 15m", "UTC", "2026-01-01T00:07:00Z",
        "2026-01-01T00:15:00+00:00", "2026-01-01T00:30:00+00:00");
  /* 7 minutes: 2026-01-01T00:00Z is 1767225600 s = 4207680 * 420 s, so
   * 00:00 is on the grid and 00:07 next. */
  TIMES("every 7m", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T00:07:00+00:00",
        "2026-01-01T00:14:00+00:00");
  /* Zones only change how times print. */
  TIMES("every 1d", "Europe/Berlin", "2026-03-28T12:00:00Z",
        "2026-03-29T01:00:00+01:00", "2026-03-30T02:00:00+02:00");
  TIMES(" every 1h30m ", "UTC", "2026-01-01T00:00:00Z",
        "2026-01-01T01:30:00+00:00");
}

static void every_from_anchor_starts_at_the_anchor(void **state)
{
  (void)state;
  /* Before the anchor: the anchor itself, then every 90 minutes. */
  TIMES("every 90m from 2026-01-01T00:10:00Z", "UTC", "2025-12-01T00:00:00Z",
        "2026-01-01T00:10:00+00:00", "2026-01-01T01:40:00+00:00",
        "2026-01-01T03:10:00+00:00");
  /* Exactly on a fire: strictly after. */
  TIMES("every 90m from 2026-01-01T00:10:00Z", "UTC", "2026-01-01T01:40:00Z",
        "2026-01-01T03:10:00+00:00");
  /* Anchors with offsets. */
  TIMES("every 1d from 2026-01-01T03:00:00+01:00", "UTC",
        "2026-02-01T12:00:00Z", "2026-02-02T02:00:00+00:00");
}

static void every_api_validates_interval(void **state)
{
  struct schedule *s = NULL;
  struct integ_error err = {0, ""};
  int64_t anchor = at("2026-01-01T00:00:30Z"), next = 0;

  (void)state;
  assert_int_equal(schedule_new_every(0, NULL, "UTC", &s, &err), INTEG_EINVAL);
  assert_int_equal(schedule_new_every(45, &anchor, "UTC", &s, &err), 0);
  assert_int_equal(schedule_next(s, anchor + 44, &next, &err), 0);
  assert_int_equal(next, anchor + 45);
  schedule_free(s);
}

static void times_outside_supported_years_are_errors(void **state)
{
  struct schedule *s = NULL;
  struct integ_error err = {0, ""};
  int64_t next = 0;

  (void)state;
  assert_int_equal(schedule_parse("@daily", "UTC", &s, NULL, &err), 0);
  assert_int_equal(schedule_next(s, INT64_MAX / 2, &next, &err), INTEG_EINVAL);
  assert_non_null(strstr(err.message, "outside years 1-9999"));
  assert_int_equal(schedule_next(s, INT64_MIN / 2, &next, &err), INTEG_EINVAL);
  assert_int_equal(schedule_next(s, at("0000-12-31T00:00:00Z"), &next, &err),
                   INTEG_EINVAL);
  assert_string_equal(err.message, "time 0000-12-31T00:00:00+00:00 is "
                                   "outside years 1-9999");
  /* The last fire of year 9999 is the last one. */
  assert_int_equal(schedule_next(s, at("9999-12-30T12:00:00Z"), &next, &err),
                   0);
  assert_int_equal(next, at("9999-12-31T00:00:00Z"));
  assert_int_equal(schedule_next(s, next, &next, &err), INTEG_EINVAL);
  assert_string_equal(err.message, "no fire time after "
                                   "9999-12-31T00:00:00+00:00 within years "
                                   "1-9999");
  schedule_free(s);
  /* A fire whose local time is in year 10000 is past the end too. */
  if (have_zone("Europe/Berlin")) {
    assert_int_equal(
        schedule_parse("30 0 1 1 *", "Europe/Berlin", &s, NULL, &err), 0);
    assert_int_equal(schedule_next(s, at("9999-06-01T00:00:00Z"), &next, &err),
                     INTEG_EINVAL);
    schedule_free(s);
  }
  assert_int_equal(schedule_parse("every 1h", "UTC", &s, NULL, &err), 0);
  assert_int_equal(schedule_next(s, at("9999-12-31T23:00:00Z"), &next, &err),
                   INTEG_EINVAL);
  assert_non_null(strstr(err.message, "9999-12-31T23:00:00+00:00"));
  schedule_free(s);
}

/* ------------------------------------------------------------ jitter */

static void jitter_is_a_fixed_function_of_the_name(void **state)
{
  (void)state;
  /* FNV-1a 64 + fmix64, worked out separately; pinned so an upgrade does
   * not reshuffle every connector's runs. */
  assert_float_equal(schedule_jitter_fraction("github-issues"),
                     0.3815741147499697, 1e-15);
  assert_float_equal(schedule_jitter_fraction("fitbit-sleep"),
                     0.004957340098196816, 1e-15);
  assert_float_equal(schedule_jitter_fraction(""), 0.93676944839044, 1e-14);
}

static void jitter_fraction_of_interval(void **state)
{
  struct schedule *s = NULL;
  struct integ_error err = {0, ""};
  int64_t fire = at("2026-01-01T00:15:00Z"), lo = 90, hi = -1;

  (void)state;
  assert_int_equal(schedule_parse("every 15m", "UTC", &s, NULL, &err), 0);
  assert_int_equal(schedule_jitter(s, "github-issues", fire), 0);
  assert_int_equal(schedule_set_jitter(s, "0.1", &err), 0);
  /* bound 0.1 * 900 s = 90: floor(0.38157 * 90) = 34. */
  assert_int_equal(schedule_jitter(s, "github-issues", fire), 34);
  assert_int_equal(schedule_jitter(s, "github-issues", fire + 900), 34);
  /* Many names spread over [0, 90). */
  for (int i = 0; i < 1000; i++) {
    char name[32];
    snprintf(name, sizeof name, "connector-%d", i);
    int64_t j = schedule_jitter(s, name, fire);
    assert_in_range(j, 0, 89);
    lo = j < lo ? j : lo;
    hi = j > hi ? j : hi;
  }
  assert_true(lo < 5 && hi > 85);
  assert_int_equal(schedule_set_jitter(s, "10%", &err), 0);
  assert_int_equal(schedule_jitter(s, "github-issues", fire), 34);
  schedule_free(s);
}

static void jitter_absolute_maximum_is_capped_by_interval(void **state)
{
  struct schedule *s = NULL;
  struct integ_error err = {0, ""};
  int64_t fire = at("2026-01-01T00:15:00Z");

  (void)state;
  assert_int_equal(schedule_parse("every 15m", "UTC", &s, NULL, &err), 0);
  assert_int_equal(schedule_set_jitter(s, "30s", &err), 0);
  /* [0, 30]: floor(0.38157 * 31) = 11. */
  assert_int_equal(schedule_jitter(s, "github-issues", fire), 11);
  schedule_free(s);
  assert_int_equal(schedule_parse("every 1m", "UTC", &s, NULL, &err), 0);
  assert_int_equal(schedule_set_jitter(s, "1h", &err), 0);
  /* Capped below the next fire: [0, 60): floor(0.93677 * 60) = 56. */
  assert_int_equal(schedule_jitter(s, "", fire), 56);
  schedule_free(s);
}

static void jitter_on_cron_is_a_fraction_of_the_gap(void **state)
{
  struct schedule *s = NULL;
  struct integ_error err = {0, ""};

  (void)state;
  assert_int_equal(schedule_parse("0 0 * * 1-5", "UTC", &s, NULL, &err), 0);
  assert_int_equal(schedule_set_jitter(s, "0.5", &err), 0);
  /* Friday 2026-01-02 -> Monday: gap 3 days, bound 129600 s; Monday ->
   * Tuesday: 43200 s. */
  assert_int_equal(
      schedule_jitter(s, "github-issues", at("2026-01-02T00:00:00Z")), 49452);
  assert_int_equal(
      schedule_jitter(s, "github-issues", at("2026-01-05T00:00:00Z")), 16484);
  schedule_free(s);
}

static void jitter_text_is_checked(void **state)
{
  struct schedule *s = NULL;
  struct integ_error err = {0, ""};

  (void)state;
  assert_int_equal(schedule_parse("every 15m", "UTC", &s, NULL, &err), 0);
  assert_int_equal(schedule_set_jitter(s, "1", &err), INTEG_EINVAL);
  assert_non_null(strstr(err.message, "ambiguous"));
  assert_int_equal(schedule_set_jitter(s, "1.5", &err), INTEG_EINVAL);
  assert_int_equal(schedule_set_jitter(s, "150%", &err), INTEG_EINVAL);
  assert_int_equal(schedule_set_jitter(s, "500ms", &err), INTEG_EINVAL);
  assert_int_equal(schedule_set_jitter(s, "-0.1", &err), INTEG_EINVAL);
  assert_int_equal(schedule_set_jitter(s, "abc", &err), INTEG_EINVAL);
  assert_int_equal(schedule_set_jitter(s, "", &err), INTEG_EINVAL);
  assert_int_equal(schedule_set_jitter(s, "1.0", &err), 0);
  assert_int_equal(schedule_set_jitter(s, "0", &err), 0);
  assert_int_equal(schedule_jitter(s, "github-issues", 0), 0);
  schedule_free(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(star_step_fires_every_15_minutes),
      cmocka_unit_test(next_is_strictly_after_from),
      cmocka_unit_test(step_on_range_counts_from_range_start),
      cmocka_unit_test(lists_mix_values_and_ranges),
      cmocka_unit_test(month_names_are_case_insensitive),
      cmocka_unit_test(weekday_names_and_ranges),
      cmocka_unit_test(sunday_is_both_0_and_7),
      cmocka_unit_test(aliases_mean_what_cronie_means),
      cmocka_unit_test(both_day_fields_restricted_means_either),
      cmocka_unit_test(star_step_in_day_of_month_is_unrestricted),
      cmocka_unit_test(range_1_31_is_restricted_so_any_weekday_ors),
      cmocka_unit_test(day_31_with_a_weekday_fires_on_that_weekday),
      cmocka_unit_test(leap_day_fires_only_in_leap_years),
      cmocka_unit_test(month_end_days_skip_short_months),
      ZONE_TEST(every_leap_day_to_9999_is_exact_and_fast),
      cmocka_unit_test(invalid_expressions_name_field_and_position),
      cmocka_unit_test(expressions_that_never_fire_are_errors),
      cmocka_unit_test(interval_syntax_errors_have_positions),
      ZONE_TEST(berlin_spring_forward),
      ZONE_TEST(berlin_fall_back),
      ZONE_TEST(new_york_spring_forward),
      ZONE_TEST(new_york_fall_back),
      cmocka_unit_test(wildcard_means_star_in_minute_or_hour),
      ZONE_TEST(zones_give_offsets_from_tzif_and_rule),
      cmocka_unit_test(posix_tz_strings_work_without_files),
      ZONE_TEST(odd_zones_half_hour_dst_and_lmt),
      cmocka_unit_test(zone_errors_are_clear),
      ZONE_TEST(default_zone_follows_tz_variable),
      cmocka_unit_test(every_is_aligned_to_the_epoch),
      cmocka_unit_test(every_from_anchor_starts_at_the_anchor),
      cmocka_unit_test(every_api_validates_interval),
      cmocka_unit_test(times_outside_supported_years_are_errors),
      cmocka_unit_test(jitter_is_a_fixed_function_of_the_name),
      cmocka_unit_test(jitter_fraction_of_interval),
      cmocka_unit_test(jitter_absolute_maximum_is_capped_by_interval),
      cmocka_unit_test(jitter_on_cron_is_a_fraction_of_the_gap),
      cmocka_unit_test(jitter_text_is_checked),
  };

  if (tzdata_absent_on_purpose())
    return 0;
  return cmocka_run_group_tests(tests, NULL, NULL);
}
