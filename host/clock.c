/* clock.c - the host's clock and RFC 3339 text. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "error.h"

int clock_init(struct clock *c, struct integ_error *err)
{
  const char *now = getenv("INTEG_NOW");
  struct integ_error perr;

  c->fixed = 0;
  c->fixed_ms = 0;
  if (!now || !*now)
    return 0;
  if (clock_parse_rfc3339(now, strlen(now), &c->fixed_ms, &perr))
    return error_set(err, INTEG_ECONFIG, "INTEG_NOW=%s: %s", now,
                     perr.message);
  c->fixed = 1;
  return 0;
}

int64_t clock_now_ms(const struct clock *c)
{
  struct timespec ts;

  if (c && c->fixed)
    return c->fixed_ms;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
  int64_t era;
  unsigned yoe, doy, doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = (unsigned)(y - era * 400);
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static int days_in_month(int y, int m)
{
  static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

  return m == 2 ? 28 + leap : dim[m - 1];
}

/* Read exactly n digits at s[*i]. */
static int digits(const char *s, size_t len, size_t *i, int n, int *out)
{
  int v = 0;

  for (int k = 0; k < n; k++) {
    if (*i >= len || s[*i] < '0' || s[*i] > '9')
      return -1;
    v = v * 10 + (s[*i] - '0');
    (*i)++;
  }
  *out = v;
  return 0;
}

static int expect(const char *s, size_t len, size_t *i, char c1, char c2)
{
  if (*i >= len || (s[*i] != c1 && s[*i] != c2))
    return -1;
  (*i)++;
  return 0;
}

int clock_parse_rfc3339(const char *s, size_t len, int64_t *ms,
                        struct integ_error *err)
{
  const char *want = "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM)";
  size_t i = 0;
  int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0, frac_ms = 0;
  int64_t t;

  if (digits(s, len, &i, 4, &y) || expect(s, len, &i, '-', '-') ||
      digits(s, len, &i, 2, &mo) || expect(s, len, &i, '-', '-') ||
      digits(s, len, &i, 2, &d) || expect(s, len, &i, 'T', 't') ||
      digits(s, len, &i, 2, &h) || expect(s, len, &i, ':', ':') ||
      digits(s, len, &i, 2, &mi) || expect(s, len, &i, ':', ':') ||
      digits(s, len, &i, 2, &sec))
    goto bad;
  if (i < len && s[i] == '.') {
    int n = 0;

    i++;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
      if (n < 3)
        frac_ms = frac_ms * 10 + (s[i] - '0');
      n++;
      i++;
    }
    if (n == 0)
      goto bad;
    for (; n < 3; n++)
      frac_ms *= 10;
  }
  if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
    i++;
  } else if (i < len && (s[i] == '+' || s[i] == '-')) {
    sign = s[i] == '-' ? -1 : 1;
    i++;
    if (digits(s, len, &i, 2, &oh) || expect(s, len, &i, ':', ':') ||
        digits(s, len, &i, 2, &om))
      goto bad;
  } else {
    goto bad;
  }
  if (i != len)
    goto bad;
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
      mi > 59 || sec > 60 || oh > 23 || om > 59)
    return error_set(err, INTEG_EINVAL,
                     "'%.*s' is not a valid date and time (expected %s)",
                     (int)len, s, want);
  if (sec == 60) /* a leap second counts as the next second's start */
    sec = 59;
  t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 +
      mi * 60 + sec;
  t -= (int64_t)sign * (oh * 3600 + om * 60);
  *ms = t * 1000 + frac_ms;
  return 0;
bad:
  return error_set(err, INTEG_EINVAL,
                   "'%.*s' is not an RFC 3339 time at character %zu "
                   "(expected %s)",
                   (int)len, s, i + 1, want);
}

char *clock_format_rfc3339(int64_t ms, char *buf, size_t size)
{
  int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  int64_t rem = ms - secs * 1000;
  time_t t = (time_t)secs;
  struct tm tm;

  gmtime_r(&t, &tm);
  snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06" PRId64 "+00:00",
           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
           tm.tm_sec, rem * 1000);
  return buf;
}
