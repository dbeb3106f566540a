/* schedule.c - cron expressions and intervals in a time zone; see
 * schedule.h for the rules (cronie's syntax and DST behaviour). */
#include "schedule.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "duration.h"
#include "error.h"

/* Supported instants: 0001-01-01T00:00:00Z up to the end of year 999999. */
#define T_MIN INT64_C(-62135596800)
#define T_MAX INT64_C(31494784780799)
/* A cron pattern repeats every 400 Gregorian years, so a valid one
 * matches within that span from any start. */
#define SEARCH_YEARS 401
#define TZIF_MAX_BYTES (1024 * 1024)
#define ZONEINFO_DIR "/usr/share/zoneinfo"

/* -------------------------------------------------- civil calendar */

static int64_t floordiv(int64_t a, int64_t b)
{
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    q--;
  return q;
}

static int64_t floormod(int64_t a, int64_t b)
{
  return a - floordiv(a, b) * b;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
  y -= m <= 2;
  int64_t era = floordiv(y, 400);
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
  z += 719468;
  int64_t era = floordiv(z, 146097);
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
  static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* 0 = Sunday. 1970-01-01 was a Thursday. */
static int weekday(int64_t days)
{
  return (int)floormod(days + 4, 7);
}

static int64_t year_of(int64_t t)
{
  int64_t y;
  int m, d;
  civil_from_days(floordiv(t, 86400), &y, &m, &d);
  return y;
}

/* ------------------------------------------------ POSIX TZ strings */

/* A rule date: 'J' Julian day 1-365 without Feb 29, 'N' zero-based day
 * 0-365, 'M' month.week.weekday; plus the local time of day. */
struct rule_date {
  char kind;
  int a, b, c;
  int32_t secs;
};

struct tz_rule {
  int32_t std_off; /* east of UTC, as in TZif (POSIX writes the inverse) */
  int32_t dst_off;
  bool has_dst;
  struct rule_date start, end;
};

static bool posix_name(const char **p)
{
  const char *s = *p;
  size_t n = 0;
  if (*s == '<') {
    s++;
    while (*s && *s != '>') {
      s++;
      n++;
    }
    if (*s != '>' || n < 3)
      return false;
    *p = s + 1;
    return true;
  }
  while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')) {
    s++;
    n++;
  }
  if (n < 3)
    return false;
  *p = s;
  return true;
}

/* [+-]hh[:mm[:ss]] with hh <= MAXH; sets seconds (signed). */
static bool posix_hms(const char **p, int maxh, int32_t *out)
{
  const char *s = *p;
  int sign = 1;
  int v[3] = {0, 0, 0};
  if (*s == '+' || *s == '-') {
    sign = *s == '-' ? -1 : 1;
    s++;
  }
  for (int k = 0; k < 3; k++) {
    int n = 0, digits = 0;
    if (k > 0) {
      if (*s != ':')
        break;
      s++;
    }
    while (*s >= '0' && *s <= '9' && digits < 3) {
      n = n * 10 + (*s - '0');
      s++;
      digits++;
    }
    if (!digits || n > (k == 0 ? maxh : 59))
      return false;
    v[k] = n;
  }
  *out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
  *p = s;
  return true;
}

static bool posix_num(const char **p, int lo, int hi, int *out)
{
  const char *s = *p;
  int n = 0, digits = 0;
  while (*s >= '0' && *s <= '9' && digits < 4) {
    n = n * 10 + (*s - '0');
    s++;
    digits++;
  }
  if (!digits || n < lo || n > hi)
    return false;
  *out = n;
  *p = s;
  return true;
}

static bool posix_date(const char **p, struct rule_date *rd)
{
  const char *s = *p;
  rd->secs = 7200; /* default 02:00 */
  if (*s == 'J') {
    s++;
    rd->kind = 'J';
    if (!posix_num(&s, 1, 365, &rd->a))
      return false;
  } else if (*s == 'M') {
    s++;
    rd->kind = 'M';
    if (!posix_num(&s, 1, 12, &rd->a) || *s++ != '.' ||
        !posix_num(&s, 1, 5, &rd->b) || *s++ != '.' ||
        !posix_num(&s, 0, 6, &rd->c))
      return false;
  } else {
    rd->kind = 'N';
    if (!posix_num(&s, 0, 365, &rd->a))
      return false;
  }
  if (*s == '/') {
    s++;
    if (!posix_hms(&s, 167, &rd->secs))
      return false;
  }
  *p = s;
  return true;
}

/* Parse a POSIX TZ string (with RFC 8536's extensions). */
static bool posix_parse(const char *s, struct tz_rule *r)
{
  int32_t v;
  memset(r, 0, sizeof *r);
  if (!posix_name(&s) || !posix_hms(&s, 24, &v))
    return false;
  r->std_off = -v;
  if (!*s)
    return true;
  if (!posix_name(&s))
    return false;
  r->has_dst = true;
  r->dst_off = r->std_off + 3600;
  if (*s && *s != ',') {
    if (!posix_hms(&s, 24, &v))
      return false;
    r->dst_off = -v;
  }
  if (!*s) {
    /* No rule: POSIX leaves it to the implementation; glibc and tzcode
     * use the US rules. */
    const char *us = "M3.2.0,M11.1.0";
    return posix_date(&us, &r->start) && *us++ == ',' &&
           posix_date(&us, &r->end);
  }
  if (*s++ != ',' || !posix_date(&s, &r->start) || *s++ != ',' ||
      !posix_date(&s, &r->end))
    return false;
  return *s == '\0';
}

/* Day of year (0-based) of a rule date in year Y. */
static int64_t rule_yday(const struct rule_date *rd, int64_t y)
{
  if (rd->kind == 'J')
    return rd->a - 1 + (is_leap(y) && rd->a >= 60);
  if (rd->kind == 'N')
    return rd->a;
  int64_t first = days_from_civil(y, rd->a, 1);
  int wd = weekday(first);
  int day = 1 + (rd->c - wd + 7) % 7 + 7 * (rd->b - 1);
  while (day > days_in_month(y, rd->a))
    day -= 7;
  return first + day - 1 - days_from_civil(y, 1, 1);
}

struct rule_change {
  int64_t at;
  int32_t off; /* offset from `at` on */
  int end;     /* 1 for DST end: sorts first on ties (all-year DST) */
};

static int rule_change_cmp(const void *a, const void *b)
{
  const struct rule_change *x = a, *y = b;
  if (x->at != y->at)
    return x->at < y->at ? -1 : 1;
  return y->end - x->end;
}

/* The rule's offset at T, the last change at or before T (*prev_at,
 * INT64_MIN if none near) with the offset before it, and the next change
 * after T (*next_at, INT64_MAX if none). */
static void rule_around(const struct tz_rule *r, int64_t t, int32_t *off,
                        int64_t *prev_at, int32_t *prev_off, int64_t *next_at)
{
  struct rule_change ch[10];
  size_t n = 0;
  int64_t y;

  *off = r->std_off;
  *prev_at = INT64_MIN;
  *prev_off = r->std_off;
  *next_at = INT64_MAX;
  if (!r->has_dst)
    return;
  y = year_of(t);
  for (int64_t yy = y - 2; yy <= y + 2; yy++) {
    int64_t jan1 = days_from_civil(yy, 1, 1);
    ch[n].at =
        (jan1 + rule_yday(&r->start, yy)) * 86400 + r->start.secs - r->std_off;
    ch[n].off = r->dst_off;
    ch[n++].end = 0;
    ch[n].at =
        (jan1 + rule_yday(&r->end, yy)) * 86400 + r->end.secs - r->dst_off;
    ch[n].off = r->std_off;
    ch[n++].end = 1;
  }
  qsort(ch, n, sizeof ch[0], rule_change_cmp);
  /* Before the first change, the other offset is in effect. */
  int32_t cur = ch[0].off == r->dst_off ? r->std_off : r->dst_off;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && ch[j + 1].at == ch[i].at)
      j++;
    int32_t nw = ch[j].off;
    if (nw != cur) {
      if (ch[i].at <= t) {
        *prev_at = ch[i].at;
        *prev_off = cur;
      } else {
        *next_at = ch[i].at;
        break;
      }
    }
    cur = ch[i].at <= t ? nw : cur;
    i = j + 1;
  }
  /* cur now holds the offset after the last change at or before t. */
  *off = cur;
}

/* ------------------------------------------------------------ zones */

struct schedule_tz {
  char *name;
  size_t n;     /* explicit transitions */
  int64_t *at;  /* ascending */
  int32_t *off; /* offset from at[i] on */
  int32_t off0; /* before at[0]; always when n == 0 */
  bool has_rule;
  struct tz_rule rule; /* after at[n-1] */
};

/* A stretch of constant offset: [start, end). */
struct tz_seg {
  int64_t start, end;
  int32_t off, prev_off;
};

static void tz_segment(const struct schedule_tz *tz, int64_t t,
                       struct tz_seg *sg)
{
  size_t n = tz->n;

  if (n > 0 && t < tz->at[0]) {
    sg->start = INT64_MIN;
    sg->end = tz->at[0];
    sg->off = sg->prev_off = tz->off0;
    return;
  }
  if (n > 0 && t < tz->at[n - 1]) {
    size_t lo = 0, hi = n - 1; /* at[lo] <= t < at[hi] */
    while (hi - lo > 1) {
      size_t mid = lo + (hi - lo) / 2;
      if (tz->at[mid] <= t)
        lo = mid;
      else
        hi = mid;
    }
    sg->start = tz->at[lo];
    sg->end = tz->at[hi];
    sg->off = tz->off[lo];
    sg->prev_off = lo ? tz->off[lo - 1] : tz->off0;
    return;
  }
  sg->start = n ? tz->at[n - 1] : INT64_MIN;
  sg->end = INT64_MAX;
  sg->off = n ? tz->off[n - 1] : tz->off0;
  sg->prev_off = n > 1 ? tz->off[n - 2] : tz->off0;
  if (tz->has_rule) {
    int64_t tc = t < T_MIN ? T_MIN : t > T_MAX ? T_MAX : t;
    int64_t prev_at, next_at;
    int32_t off, prev_off;
    rule_around(&tz->rule, tc, &off, &prev_at, &prev_off, &next_at);
    sg->off = off;
    if (prev_at != INT64_MIN && prev_at > sg->start) {
      sg->start = prev_at;
      sg->prev_off = prev_off;
    }
    if (t <= T_MAX)
      sg->end = next_at;
  }
}

int32_t schedule_tz_offset(const struct schedule_tz *tz, int64_t t)
{
  struct tz_seg sg;
  tz_segment(tz, t, &sg);
  return sg.off;
}

const char *schedule_tz_name(const struct schedule_tz *tz)
{
  return tz->name;
}

void schedule_tz_free(struct schedule_tz *tz)
{
  if (!tz)
    return;
  free(tz->name);
  free(tz->at);
  free(tz->off);
  free(tz);
}

static uint32_t be32(const unsigned char *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

static int64_t be_time(const unsigned char *p, size_t size)
{
  if (size == 4)
    return (int32_t)be32(p);
  return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* Parse TZif data (RFC 8536) into tz. */
static int tzif_parse(const unsigned char *p, size_t len, const char *path,
                      struct schedule_tz *tz, struct integ_error *err)
{
  size_t tsize = 4, pos = 0;
  uint32_t cnt[6]; /* isut, isstd, leap, time, type, char */
  int rc = 0;
  const unsigned char *times, *idx, *types;

  if (len < 44 || memcmp(p, "TZif", 4) != 0) {
    rc = error_set(err, INTEG_EINVAL,
                   "%s is not a TZif time zone file (no TZif header)", path);
    goto out;
  }
  for (int pass = 0;; pass++) {
    if (len - pos < 44 || memcmp(p + pos, "TZif", 4) != 0) {
      rc = error_set(err, INTEG_EINVAL, "%s: truncated TZif file", path);
      goto out;
    }
    for (int k = 0; k < 6; k++)
      cnt[k] = be32(p + pos + 20 + 4 * k);
    if (cnt[3] > 100000 || cnt[4] == 0 || cnt[4] > 256 || cnt[5] > 100000 ||
        cnt[2] > 100000 || cnt[0] > 256 || cnt[1] > 256) {
      rc = error_set(err, INTEG_EINVAL, "%s: bad TZif counts", path);
      goto out;
    }
    size_t body = (size_t)cnt[3] * tsize + cnt[3] + (size_t)cnt[4] * 6 +
                  cnt[5] + (size_t)cnt[2] * (tsize + 4) + cnt[1] + cnt[0];
    if (len - pos - 44 < body) {
      rc = error_set(err, INTEG_EINVAL, "%s: truncated TZif file", path);
      goto out;
    }
    /* Version 2+ repeats the data with 64-bit times: use that. */
    if (pass == 0 && p[pos + 4] >= '2') {
      pos += 44 + body;
      tsize = 8;
      continue;
    }
    pos += 44;
    break;
  }
  if (cnt[2] > 0) {
    rc = error_set(err, INTEG_EINVAL,
                   "%s counts leap seconds (a right/ zone): use the "
                   "zone's name without right/",
                   path);
    goto out;
  }
  times = p + pos;
  idx = times + (size_t)cnt[3] * tsize;
  types = idx + cnt[3];
  for (uint32_t k = 0; k < cnt[3]; k++) {
    if (idx[k] >= cnt[4]) {
      rc = error_set(err, INTEG_EINVAL, "%s: bad TZif type index", path);
      goto out;
    }
  }
  tz->off0 = (int32_t)be32(types);
  if (cnt[3]) {
    tz->at = malloc(cnt[3] * sizeof *tz->at);
    tz->off = malloc(cnt[3] * sizeof *tz->off);
    if (!tz->at || !tz->off) {
      rc = error_set(err, INTEG_ENOMEM, "out of memory reading %s", path);
      goto out;
    }
  }
  /* Keep only transitions that change the offset: the rest (a new
   * abbreviation, isdst alone) do not move the wall clock. */
  int32_t prev = tz->off0;
  for (uint32_t k = 0; k < cnt[3]; k++) {
    int64_t at = be_time(times + (size_t)k * tsize, tsize);
    int32_t off = (int32_t)be32(types + 6 * (size_t)idx[k]);
    if (off < -26 * 3600 || off > 26 * 3600 ||
        (tz->n && at <= tz->at[tz->n - 1])) {
      rc = error_set(err, INTEG_EINVAL, "%s: bad TZif transition", path);
      goto out;
    }
    if (off == prev)
      continue;
    tz->at[tz->n] = at;
    tz->off[tz->n++] = off;
    prev = off;
  }
  if (tsize == 8) {
    /* Footer: "\nTZSTRING\n" after the v2 body. */
    size_t body2 =
        (size_t)cnt[3] * 9 + (size_t)cnt[4] * 6 + cnt[5] + cnt[1] + cnt[0];
    size_t f = pos + body2;
    if (f < len && p[f] == '\n') {
      size_t e = f + 1;
      while (e < len && p[e] != '\n')
        e++;
      if (e < len && e > f + 1 && e - f - 1 < 256) {
        char footer[256];
        memcpy(footer, p + f + 1, e - f - 1);
        footer[e - f - 1] = '\0';
        if (!posix_parse(footer, &tz->rule)) {
          rc = error_set(err, INTEG_EINVAL,
                         "%s: cannot read its TZ rule \"%s\"", path, footer);
          goto out;
        }
        tz->has_rule = true;
      }
    }
  }
out:
  return rc;
}

static int read_file(const char *path, unsigned char **data, size_t *len,
                     struct integ_error *err)
{
  int fd = -1, rc = 0;
  unsigned char *buf = NULL;
  size_t n = 0;
  struct stat st;

  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    rc = error_set(err, errno == ENOENT ? INTEG_ENOTFOUND : INTEG_EIO,
                   "cannot open %s: %s", path, strerror(errno));
    goto out;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_size > TZIF_MAX_BYTES) {
    rc = error_set(err, INTEG_EINVAL,
                   "%s is not a time zone file (not a regular file of at "
                   "most 1 MiB)",
                   path);
    goto out;
  }
  buf = malloc((size_t)st.st_size + 1);
  if (!buf) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory reading %s", path);
    goto out;
  }
  while (n < (size_t)st.st_size) {
    ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      rc = error_set(err, INTEG_EIO, "cannot read %s: %s", path,
                     r < 0 ? strerror(errno) : "file shrank");
      goto out;
    }
    n += (size_t)r;
  }
  *data = buf;
  *len = n;
  buf = NULL;
out:
  if (fd >= 0)
    close(fd);
  free(buf);
  return rc;
}

static bool has_dotdot(const char *name)
{
  const char *s = name;
  while (*s) {
    if (s[0] == '.' && s[1] == '.' && (s[2] == '/' || !s[2]))
      return true;
    s = strchr(s, '/');
    if (!s)
      break;
    s++;
  }
  return false;
}

static int tz_new(const char *display, struct schedule_tz **out,
                  struct integ_error *err)
{
  struct schedule_tz *tz = calloc(1, sizeof *tz);
  if (tz)
    tz->name = strdup(display);
  if (!tz || !tz->name) {
    schedule_tz_free(tz);
    return error_set(err, INTEG_ENOMEM, "out of memory loading a zone");
  }
  *out = tz;
  return 0;
}

static int tz_from_file(const char *path, const char *display,
                        struct schedule_tz **out, struct integ_error *err)
{
  unsigned char *data = NULL;
  size_t len = 0;
  struct schedule_tz *tz = NULL;
  int rc;

  rc = read_file(path, &data, &len, err);
  if (rc)
    goto out;
  rc = tz_new(display, &tz, err);
  if (rc)
    goto out;
  rc = tzif_parse(data, len, path, tz, err);
  if (rc)
    goto out;
  *out = tz;
  tz = NULL;
out:
  free(data);
  schedule_tz_free(tz);
  return rc;
}

int schedule_tz_load(const char *name, struct schedule_tz **out,
                     struct integ_error *err)
{
  char path[4096];
  const char *dir;
  struct tz_rule rule;
  int rc = 0;

  if (!name || !*name) {
    const char *env = getenv("TZ");
    char link[4096];
    ssize_t n;

    if (env && *env)
      return schedule_tz_load(env, out, err);
    n = readlink("/etc/localtime", link, sizeof link - 1);
    const char *display = "localtime";
    if (n > 0) {
      link[n] = '\0';
      const char *z = strstr(link, "zoneinfo/");
      if (z)
        display = z + strlen("zoneinfo/");
    }
    rc = tz_from_file("/etc/localtime", display, out, err);
    if (rc == INTEG_ENOTFOUND)
      return schedule_tz_load("UTC0", out, err);
    return rc;
  }
  if (*name == ':')
    name++;
  if (*name == '/')
    return tz_from_file(name, name, out, err);
  if (has_dotdot(name))
    return error_set(err, INTEG_EINVAL,
                     "time zone \"%s\": \"..\" is not allowed in a zone "
                     "name; use an IANA name such as Europe/Berlin",
                     name);
  dir = getenv("TZDIR");
  if (!dir || !*dir)
    dir = ZONEINFO_DIR;
  int n = snprintf(path, sizeof path, "%s/%s", dir, name);
  if (n < 0 || (size_t)n >= sizeof path)
    return error_set(err, INTEG_EINVAL, "time zone name too long");
  rc = tz_from_file(path, name, out, err);
  if (rc != INTEG_ENOTFOUND)
    return rc;
  if (posix_parse(name, &rule)) {
    rc = tz_new(name, out, err);
    if (rc)
      return rc;
    (*out)->off0 = rule.std_off;
    (*out)->rule = rule;
    (*out)->has_rule = true;
    return 0;
  }
  return error_set(err, INTEG_ENOTFOUND,
                   "unknown time zone \"%s\": no such file in %s and not a "
                   "POSIX TZ string; use an IANA name such as "
                   "Europe/Berlin or UTC (is tzdata installed?)",
                   name, dir);
}

/* ------------------------------------------------------ cron syntax */

enum { F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW, F_COUNT };

enum {
  MIN_STAR = 1,
  HR_STAR = 2,
  DOM_STAR = 4,
  DOW_STAR = 8,
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may",
                                          "jun", "jul", "aug", "sep", "oct",
                                          "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed",
                                        "thu", "fri", "sat", NULL};

static const struct field_spec {
  const char *name;
  int lo, hi;
  const char *const *names;
  int name_base; /* value of names[0] */
} fields[F_COUNT] = {
    {"minute", 0, 59, NULL, 0},          {"hour", 0, 23, NULL, 0},
    {"day-of-month", 1, 31, NULL, 0},    {"month", 1, 12, month_names, 1},
    {"day-of-week", 0, 7, dow_names, 0},
};

enum kind { KIND_CRON, KIND_EVERY };

struct schedule {
  enum kind kind;
  uint64_t bits[F_COUNT]; /* bit v set: value v matches */
  unsigned flags;         /* *_STAR */
  int64_t interval;       /* every: seconds */
  int64_t anchor;
  bool anchored;
  double jitter_fraction;
  int64_t jitter_max; /* seconds, when jitter_fraction is 0 */
  struct schedule_tz *tz;
};

/* Fill *where and err for a syntax error at 0-based index I (or past the
 * end) of EXPR in FIELD. */
static int syntax_error(const char *expr, size_t i, const char *field,
                        struct schedule_where *where, struct integ_error *err,
                        const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static int syntax_error(const char *expr, size_t i, const char *field,
                        struct schedule_where *where, struct integ_error *err,
                        const char *fmt, ...)
{
  char what[768];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (where) {
    where->field = field;
    where->position = i + 1;
  }
  (void)expr;
  if (strcmp(field, "expression") == 0)
    return error_set(err, INTEG_EINVAL, "position %zu: %s", i + 1, what);
  return error_set(err, INTEG_EINVAL, "%s field, position %zu: %s", field,
                   i + 1, what);
}

static bool is_blank(char c)
{
  return c == ' ' || c == '\t';
}

static bool is_alpha(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char lower(char c)
{
  return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* An error for a character that cannot appear at EXPR[I]. */
static int bad_char(const char *expr, size_t i, int f,
                    struct schedule_where *where, struct integ_error *err)
{
  const char *fn = fields[f].name;
  unsigned char c = (unsigned char)expr[i];

  switch (c) {
  case 'L':
  case 'l':
    return syntax_error(expr, i, fn, where, err,
                        "'L' (last day) is not supported (nor by cronie's "
                        "crontab): list the days instead");
  case 'W':
  case 'w':
    return syntax_error(expr, i, fn, where, err,
                        "'W' (nearest weekday) is not supported (nor by "
                        "cronie's crontab)");
  case '#':
    return syntax_error(expr, i, fn, where, err,
                        "'#' (nth weekday of the month) is not supported "
                        "(nor by cronie's crontab)");
  case '?':
    return syntax_error(expr, i, fn, where, err,
                        "'?' is not supported: write * instead");
  case '~':
    return syntax_error(expr, i, fn, where, err,
                        "'~' (random value) is not supported: use the "
                        "schedule's jitter to spread runs");
  default:
    break;
  }
  if (c < 0x20 || c >= 0x7f)
    return syntax_error(expr, i, fn, where, err, "unexpected byte 0x%02x", c);
  return syntax_error(expr, i, fn, where, err,
                      "unexpected '%c': a field is a list of *, N, N-M, "
                      "*/S or N-M/S",
                      c);
}

/* A number or (month, day-of-week) name at EXPR[*I], before END. */
static int value_parse(const char *expr, size_t *i, size_t end, int f,
                       int *out, struct schedule_where *where,
                       struct integ_error *err)
{
  const struct field_spec *fs = &fields[f];
  size_t s = *i;

  if (expr[s] >= '0' && expr[s] <= '9') {
    long v = 0;
    size_t k = s;
    while (k < end && expr[k] >= '0' && expr[k] <= '9') {
      if (v < 1000000)
        v = v * 10 + (expr[k] - '0');
      k++;
    }
    if (v < fs->lo || v > fs->hi)
      return syntax_error(expr, s, fs->name, where, err,
                          "%.*s is out of range %d-%d", (int)(k - s), expr + s,
                          fs->lo, fs->hi);
    *out = (int)v;
    *i = k;
    return 0;
  }
  if (is_alpha(expr[s])) {
    size_t k = s;
    while (k < end && is_alpha(expr[k]))
      k++;
    if (k - s == 1 ||
        (k - s == 2 && lower(expr[s]) == 'l' && lower(expr[s + 1]) == 'w'))
      if (strchr("LlWw", expr[s]))
        return bad_char(expr, s, f, where, err);
    if (!fs->names)
      return syntax_error(expr, s, fs->name, where, err,
                          "\"%.*s\": names are allowed only in the month "
                          "and day-of-week fields",
                          (int)(k - s), expr + s);
    if (k - s == 3) {
      for (int n = 0; fs->names[n]; n++) {
        const char *nm = fs->names[n];
        if (lower(expr[s]) == nm[0] && lower(expr[s + 1]) == nm[1] &&
            lower(expr[s + 2]) == nm[2]) {
          *out = fs->name_base + n;
          *i = k;
          return 0;
        }
      }
    }
    return syntax_error(expr, s, fs->name, where, err,
                        "unknown %s name \"%.*s\": use %s", fs->name,
                        (int)(k - s), expr + s,
                        f == F_MONTH ? "jan, feb, ... dec or 1-12"
                                     : "sun, mon, ... sat or 0-7");
  }
  if (s == end || expr[s] == ',')
    return syntax_error(expr, s, fs->name, where, err, "expected a number%s",
                        fs->names ? " or name" : "");
  return bad_char(expr, s, f, where, err);
}

/* Parse the field F in EXPR[start, end) into *bits. */
static int field_parse(const char *expr, size_t start, size_t end, int f,
                       uint64_t *bits, struct schedule_where *where,
                       struct integ_error *err)
{
  const struct field_spec *fs = &fields[f];
  size_t i = start;
  uint64_t b = 0;
  int rc = 0;

  for (;;) {
    int a, z, step = 1;
    bool ranged = false;
    size_t elem = i;

    if (i == end || expr[i] == ',') {
      rc = syntax_error(expr, i, fs->name, where, err,
                        "empty list item: remove the extra ','");
      goto out;
    }
    if (expr[i] == '*') {
      a = fs->lo;
      z = fs->hi;
      ranged = true;
      i++;
    } else {
      rc = value_parse(expr, &i, end, f, &a, where, err);
      if (rc)
        goto out;
      z = a;
      if (i < end && expr[i] == '-') {
        i++;
        if (i == end || expr[i] == ',' || expr[i] == '/') {
          rc = syntax_error(expr, i, fs->name, where, err,
                            "range without an end: write N-M");
          goto out;
        }
        size_t zpos = i;
        rc = value_parse(expr, &i, end, f, &z, where, err);
        if (rc)
          goto out;
        if (a > z) {
          rc = syntax_error(expr, zpos, fs->name, where, err,
                            "range %.*s runs backwards: cron ranges do not "
                            "wrap around; write two ranges",
                            (int)(i - elem), expr + elem);
          goto out;
        }
        ranged = true;
      }
    }
    if (i < end && expr[i] == '/') {
      size_t spos = ++i;
      long v = 0;
      if (!ranged) {
        rc = syntax_error(expr, elem, fs->name, where, err,
                          "a step needs a range: write %.*s-%d/S or */S",
                          (int)(spos - 1 - elem), expr + elem, fs->hi);
        goto out;
      }
      if (i == end || expr[i] < '0' || expr[i] > '9') {
        if (i < end && expr[i] != ',') {
          rc = bad_char(expr, i, f, where, err);
          goto out;
        }
        rc = syntax_error(expr, i, fs->name, where, err,
                          "'/' must be followed by a step, e.g. */15");
        goto out;
      }
      while (i < end && expr[i] >= '0' && expr[i] <= '9') {
        if (v < 1000000)
          v = v * 10 + (expr[i] - '0');
        i++;
      }
      if (v == 0) {
        rc = syntax_error(expr, spos, fs->name, where, err,
                          "step 0 is not allowed: a step is 1 or more");
        goto out;
      }
      /* cronie accepts any step; beyond the range it selects the start. */
      step = v > 100 ? 100 : (int)v;
    }
    if (i < end && expr[i] != ',') {
      rc = bad_char(expr, i, f, where, err);
      goto out;
    }
    for (int v = a; v <= z; v += step)
      b |= UINT64_C(1) << v;
    if (i == end)
      break;
    i++; /* ',' */
  }
  *bits = b;
out:
  return rc;
}

/* Days of the month (1-31) that exist in month M in some year. */
static int month_max_days(int m)
{
  return m == 2 ? 29 : days_in_month(2001, m);
}

static int cron_validate(const struct schedule *s, const char *expr,
                         size_t dom_pos, struct schedule_where *where,
                         struct integ_error *err)
{
  /* With both day fields restricted, a day matches if either does, and
   * every month has every weekday: it fires. Otherwise the day-of-month
   * set must meet a chosen month's length; the 400-year Gregorian cycle
   * then gives every (month, day) every weekday. */
  if (!(s->flags & (DOM_STAR | DOW_STAR)))
    return 0;
  for (int m = 1; m <= 12; m++) {
    if (!(s->bits[F_MONTH] >> m & 1))
      continue;
    for (int d = 1; d <= month_max_days(m); d++)
      if (s->bits[F_DOM] >> d & 1)
        return 0;
  }
  return syntax_error(expr, dom_pos, fields[F_DOM].name, where, err,
                      "the schedule can never fire: none of these days "
                      "exists in the chosen months (e.g. 0 0 31 2 *)");
}

struct alias {
  const char *name;
  const char *expansion;
};

static const struct alias aliases[] = {
    {"hourly", "0 * * * *"},   {"daily", "0 0 * * *"},
    {"midnight", "0 0 * * *"}, {"weekly", "0 0 * * 0"},
    {"monthly", "0 0 1 * *"},  {"yearly", "0 0 1 1 *"},
    {"annually", "0 0 1 1 *"},
};

static int cron_fields(const char *expr, size_t start, struct schedule *s,
                       struct schedule_where *where, struct integ_error *err);

/* TEXT[0, len) equals the lowercase WORD, ignoring case. */
static bool word_is(const char *text, size_t len, const char *word)
{
  size_t k = 0;
  while (k < len && word[k] && lower(text[k]) == word[k])
    k++;
  return k == len && !word[k];
}

static int alias_parse(const char *expr, size_t start, struct schedule *s,
                       struct schedule_where *where, struct integ_error *err)
{
  size_t i = start + 1, e = i;
  while (expr[e] && !is_blank(expr[e]))
    e++;
  for (size_t k = e; expr[k]; k++)
    if (!is_blank(expr[k]))
      return syntax_error(expr, k, "expression", where, err,
                          "unexpected text after %.*s: an alias stands "
                          "alone",
                          (int)(e - start), expr + start);
  for (size_t a = 0; a < sizeof aliases / sizeof aliases[0]; a++) {
    /* The expansion parses exactly like the text (flags included, as
     * cronie sets them); errors cannot occur. */
    if (word_is(expr + i, e - i, aliases[a].name))
      return cron_fields(aliases[a].expansion, 0, s, NULL, err);
  }
  if (word_is(expr + i, e - i, "reboot"))
    return syntax_error(expr, start, "expression", where, err,
                        "@reboot is not supported: a schedule names times "
                        "of day, and integ has no boot event");
  return syntax_error(expr, start, "expression", where, err,
                      "unknown alias \"%.*s\": use @hourly, @daily, "
                      "@midnight, @weekly, @monthly, @yearly or @annually",
                      (int)(e - start), expr + start);
}

static int cron_fields(const char *expr, size_t start, struct schedule *s,
                       struct schedule_where *where, struct integ_error *err)
{
  size_t tok[F_COUNT + 1][2];
  size_t n = 0, i = start;
  int rc = 0;

  for (;;) {
    while (is_blank(expr[i]))
      i++;
    if (!expr[i])
      break;
    size_t b = i;
    while (expr[i] && !is_blank(expr[i]))
      i++;
    if (n == F_COUNT) {
      rc = syntax_error(expr, b, "expression", where, err,
                        "a sixth field is not supported: cron has five "
                        "fields (minute hour day-of-month month "
                        "day-of-week), no seconds or year");
      goto out;
    }
    tok[n][0] = b;
    tok[n++][1] = i;
  }
  if (n == 0) {
    rc = syntax_error(expr, i, "expression", where, err,
                      "empty schedule: write five fields such as "
                      "\"0 3 * * *\" or an alias such as @daily");
    goto out;
  }
  if (n < F_COUNT) {
    rc = syntax_error(expr, i, fields[n].name, where, err,
                      "missing: cron has five fields (minute hour "
                      "day-of-month month day-of-week)");
    goto out;
  }
  s->kind = KIND_CRON;
  s->flags = 0;
  for (int f = 0; f < F_COUNT; f++) {
    rc = field_parse(expr, tok[f][0], tok[f][1], f, &s->bits[f], where, err);
    if (rc)
      goto out;
  }
  /* cronie sets the *_STAR flags from the field's first character. */
  if (expr[tok[F_MINUTE][0]] == '*')
    s->flags |= MIN_STAR;
  if (expr[tok[F_HOUR][0]] == '*')
    s->flags |= HR_STAR;
  if (expr[tok[F_DOM][0]] == '*')
    s->flags |= DOM_STAR;
  if (expr[tok[F_DOW][0]] == '*')
    s->flags |= DOW_STAR;
  /* 0 and 7 are both Sunday. */
  if (s->bits[F_DOW] >> 7 & 1)
    s->bits[F_DOW] = (s->bits[F_DOW] | 1) & 0x7f;
  rc = cron_validate(s, expr, tok[F_DOM][0], where, err);
out:
  return rc;
}

static int cron_parse(const char *expr, struct schedule *s,
                      struct schedule_where *where, struct integ_error *err)
{
  size_t i = 0;
  while (is_blank(expr[i]))
    i++;
  if (expr[i] == '@')
    return alias_parse(expr, i, s, where, err);
  return cron_fields(expr, 0, s, where, err);
}

/* -------------------------------------------------------- cron next */

/* Smallest set bit >= from in mask, or -1. */
static int next_bit(uint64_t mask, int from)
{
  if (from >= 64)
    return -1;
  mask &= ~UINT64_C(0) << from;
  return mask ? __builtin_ctzll(mask) : -1;
}

static bool day_matches(const struct schedule *s, int64_t y, int m, int d)
{
  bool dom = s->bits[F_DOM] >> d & 1;
  bool dow = s->bits[F_DOW] >> weekday(days_from_civil(y, m, d)) & 1;
  if (s->flags & (DOM_STAR | DOW_STAR))
    return dom && dow;
  return dom || dow;
}

/* The first matching local minute at or after LO (local seconds since
 * 1970-01-01T00:00 local, a multiple of 60), or INT64_MAX when none is
 * within SEARCH_YEARS. Field by field: month, day, hour, minute. */
static int64_t cron_match(const struct schedule *s, int64_t lo)
{
  int64_t days = floordiv(lo, 86400), y;
  int64_t sec = lo - days * 86400;
  int m, d, h = (int)(sec / 3600), mi = (int)(sec % 3600 / 60);
  int64_t ylimit;

  civil_from_days(days, &y, &m, &d);
  ylimit = y + SEARCH_YEARS;
  for (;;) {
    if (y > ylimit)
      return INT64_MAX;
    int nm = next_bit(s->bits[F_MONTH], m);
    if (nm < 0 || nm > 12) {
      y++;
      m = 1;
      d = 1;
      h = mi = 0;
      continue;
    }
    if (nm != m) {
      m = nm;
      d = 1;
      h = mi = 0;
    }
    int dim = days_in_month(y, m);
    while (d <= dim && !day_matches(s, y, m, d)) {
      d++;
      h = mi = 0;
    }
    if (d > dim) {
      m++;
      d = 1;
      h = mi = 0;
      continue; /* m == 13 rolls over above */
    }
    int nh = next_bit(s->bits[F_HOUR], h);
    if (nh < 0) {
      d++;
      h = mi = 0;
      continue;
    }
    if (nh != h) {
      h = nh;
      mi = 0;
    }
    int nmi = next_bit(s->bits[F_MINUTE], mi);
    if (nmi < 0) {
      h++;
      mi = 0;
      if (h > 23) {
        d++;
        h = 0;
      }
      continue;
    }
    return days_from_civil(y, m, d) * 86400 + h * 3600 + nmi * 60;
  }
}

/* cron_match with a one-entry cache: if no match lies in [lo, m), the
 * first match at or after any x in [lo, m] is m. Segments of one zone
 * reuse it, so a fire years away costs one search, not one per DST
 * change. */
struct match_cache {
  int64_t lo, m;
  bool valid;
};

static int64_t cron_match_cached(const struct schedule *s, int64_t lo,
                                 struct match_cache *c)
{
  if (c->valid && c->lo <= lo && lo <= c->m)
    return c->m;
  c->lo = lo;
  c->m = cron_match(s, lo);
  c->valid = true;
  return c->m;
}

static int64_t ceil_minute(int64_t x)
{
  return floordiv(x + 59, 60) * 60;
}

static int cron_next(const struct schedule *s, int64_t from, int64_t *next,
                     struct integ_error *err)
{
  bool fixed = !(s->flags & (MIN_STAR | HR_STAR));
  int64_t t = from + 1;
  struct match_cache cache = {0, 0, false};

  /* Walk the zone's stretches of constant offset from `t` on. */
  while (t <= T_MAX) {
    struct tz_seg sg;
    int64_t lo, hi, m;

    tz_segment(s->tz, t, &sg);
    /* A fixed-time job whose local time was skipped by a gap that ends
     * at t fires at t. */
    if (fixed && sg.start == t && sg.off > sg.prev_off) {
      lo = ceil_minute(t + sg.prev_off);
      m = cron_match_cached(s, lo, &cache);
      if (m < t + sg.off) {
        *next = t;
        return 0;
      }
    }
    lo = ceil_minute(t + sg.off);
    /* A fixed-time job fires only in the first pass of a repeated hour:
     * skip the local times the previous offset already covered. */
    if (fixed && sg.start != INT64_MIN && sg.prev_off > sg.off &&
        lo < ceil_minute(sg.start + sg.prev_off))
      lo = ceil_minute(sg.start + sg.prev_off);
    m = cron_match_cached(s, lo, &cache);
    if (m == INT64_MAX)
      break;
    hi = sg.end == INT64_MAX ? INT64_MAX : sg.end + sg.off;
    if (m < hi) {
      if (m - sg.off > T_MAX)
        break;
      *next = m - sg.off;
      return 0;
    }
    t = sg.end;
  }
  return error_set(err, INTEG_EINVAL,
                   "no fire time after %" PRId64
                   " within the supported years (1-999999)",
                   from);
}

/* ------------------------------------------------------- schedules */

static int schedule_alloc(const char *tz, struct schedule **out,
                          struct integ_error *err)
{
  struct schedule *s = calloc(1, sizeof *s);
  int rc;
  if (!s)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  rc = schedule_tz_load(tz, &s->tz, err);
  if (rc) {
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}

void schedule_free(struct schedule *s)
{
  if (!s)
    return;
  schedule_tz_free(s->tz);
  free(s);
}

const struct schedule_tz *schedule_zone(const struct schedule *s)
{
  return s->tz;
}

bool schedule_is_wildcard(const struct schedule *s)
{
  return s->kind == KIND_CRON && (s->flags & (MIN_STAR | HR_STAR));
}

int schedule_parse_cron(const char *expr, const char *tz,
                        struct schedule **out, struct schedule_where *where,
                        struct integ_error *err)
{
  struct schedule *s = NULL;
  struct schedule tmp;
  int rc;

  if (where) {
    where->field = NULL;
    where->position = 0;
  }
  memset(&tmp, 0, sizeof tmp);
  rc = cron_parse(expr, &tmp, where, err);
  if (rc)
    goto out;
  rc = schedule_alloc(tz, &s, err);
  if (rc)
    goto out;
  tmp.tz = s->tz;
  *s = tmp;
  *out = s;
out:
  return rc;
}

int schedule_new_every(int64_t interval, const int64_t *anchor, const char *tz,
                       struct schedule **out, struct integ_error *err)
{
  struct schedule *s = NULL;
  int rc = 0;

  if (interval < 1 || interval > T_MAX) {
    rc = error_set(err, INTEG_EINVAL, "interval must be at least one second");
    goto out;
  }
  if (anchor && (*anchor < T_MIN || *anchor > T_MAX)) {
    rc = error_set(err, INTEG_EINVAL, "anchor outside years 1-999999");
    goto out;
  }
  rc = schedule_alloc(tz, &s, err);
  if (rc)
    goto out;
  s->kind = KIND_EVERY;
  s->interval = interval;
  s->anchored = anchor != NULL;
  s->anchor = anchor ? *anchor : 0;
  *out = s;
out:
  return rc;
}

/* "every DURATION [from TIME]" starting at EXPR[i] (after "every"). */
static int every_parse(const char *expr, size_t i, const char *tz,
                       struct schedule **out, struct schedule_where *where,
                       struct integ_error *err)
{
  char word[64];
  size_t b, e, pos = 0;
  int64_t ms, ms_anchor, anchor = 0;
  bool anchored = false;
  struct integ_error sub;
  int rc;

  while (is_blank(expr[i]))
    i++;
  b = i;
  while (expr[i] && !is_blank(expr[i]))
    i++;
  e = i;
  if (b == e)
    return syntax_error(expr, b, "interval", where, err,
                        "\"every\" needs a duration, e.g. every 15m");
  if (e - b >= sizeof word)
    return syntax_error(expr, b, "interval", where, err, "duration too long");
  memcpy(word, expr + b, e - b);
  word[e - b] = '\0';
  rc = duration_parse(word, &ms, &pos, &sub);
  if (rc)
    return syntax_error(expr, b + (pos ? pos - 1 : 0), "interval", where, err,
                        "%s", sub.message);
  if (ms < 1000 || ms % 1000 != 0)
    return syntax_error(expr, b, "interval", where, err,
                        "an interval is whole seconds, at least 1s (got "
                        "%s)",
                        word);
  while (is_blank(expr[i]))
    i++;
  if (expr[i]) {
    b = i;
    while (expr[i] && !is_blank(expr[i]))
      i++;
    if (i - b != 4 || strncmp(expr + b, "from", 4) != 0)
      return syntax_error(expr, b, "expression", where, err,
                          "expected \"from TIME\" after the interval "
                          "(every 15m from 2026-01-01T00:00:00Z)");
    while (is_blank(expr[i]))
      i++;
    b = i;
    while (expr[i] && !is_blank(expr[i]))
      i++;
    e = i;
    if (b == e)
      return syntax_error(expr, b, "anchor", where, err,
                          "\"from\" needs an RFC 3339 time such as "
                          "2026-01-01T00:00:00Z");
    rc = clock_parse_rfc3339(expr + b, e - b, &ms_anchor, &sub);
    if (rc)
      return syntax_error(expr, b, "anchor", where, err, "%s", sub.message);
    anchor = floordiv(ms_anchor, 1000);
    anchored = true;
    while (is_blank(expr[i]))
      i++;
    if (expr[i])
      return syntax_error(expr, i, "expression", where, err,
                          "unexpected text after the anchor time");
  }
  return schedule_new_every(ms / 1000, anchored ? &anchor : NULL, tz, out,
                            err);
}

int schedule_parse(const char *expr, const char *tz, struct schedule **out,
                   struct schedule_where *where, struct integ_error *err)
{
  size_t i = 0;

  if (where) {
    where->field = NULL;
    where->position = 0;
  }
  while (is_blank(expr[i]))
    i++;
  if (strncmp(expr + i, "every", 5) == 0 &&
      (is_blank(expr[i + 5]) || !expr[i + 5]))
    return every_parse(expr, i + 5, tz, out, where, err);
  return schedule_parse_cron(expr, tz, out, where, err);
}

int schedule_next(const struct schedule *s, int64_t from, int64_t *next,
                  struct integ_error *err)
{
  if (from < T_MIN || from >= T_MAX)
    return error_set(err, INTEG_EINVAL,
                     "time %" PRId64 " is outside years 1-999999", from);
  if (s->kind == KIND_CRON)
    return cron_next(s, from, next, err);
  int64_t a = s->anchored ? s->anchor : 0, n;
  if (s->anchored && from < a)
    n = a;
  else
    n = a + (floordiv(from - a, s->interval) + 1) * s->interval;
  if (n > T_MAX)
    return error_set(err, INTEG_EINVAL,
                     "next fire time after %" PRId64 " is beyond year 999999",
                     from);
  *next = n;
  return 0;
}

/* ----------------------------------------------------------- jitter */

int schedule_set_jitter_values(struct schedule *s, double fraction,
                               int64_t max_seconds, struct integ_error *err)
{
  if (!(fraction >= 0 && fraction <= 1))
    return error_set(err, INTEG_EINVAL,
                     "jitter fraction must be between 0 and 1");
  if (max_seconds < 0 || max_seconds > T_MAX)
    return error_set(err, INTEG_EINVAL,
                     "jitter maximum must be 0 or more seconds");
  s->jitter_fraction = fraction;
  s->jitter_max = fraction > 0 ? 0 : max_seconds;
  return 0;
}

/* A plain decimal "D[.D]" (no exponent, no locale) into *v. */
static bool decimal_parse(const char *s, size_t len, double *v, bool *dot)
{
  double x = 0, scale = 1;
  size_t i = 0, digits = 0;
  *dot = false;
  while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 12) {
    x = x * 10 + (s[i++] - '0');
    digits++;
  }
  if (i < len && s[i] == '.') {
    *dot = true;
    i++;
    while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 18) {
      scale /= 10;
      x += (s[i++] - '0') * scale;
      digits++;
    }
  }
  *v = x;
  return digits > 0 && i == len;
}

int schedule_set_jitter(struct schedule *s, const char *text,
                        struct integ_error *err)
{
  size_t len = strlen(text);
  double v;
  bool dot;
  int64_t ms;
  struct integ_error sub;

  if (len && text[len - 1] == '%') {
    if (!decimal_parse(text, len - 1, &v, &dot) || v > 100)
      return error_set(err, INTEG_EINVAL,
                       "jitter \"%s\": a percentage is 0%% to 100%%", text);
    return schedule_set_jitter_values(s, v / 100, 0, err);
  }
  if (len && is_alpha(text[len - 1])) {
    if (duration_parse(text, &ms, NULL, &sub))
      return error_set(err, INTEG_EINVAL, "jitter: %s", sub.message);
    if (ms % 1000)
      return error_set(err, INTEG_EINVAL,
                       "jitter \"%s\": a maximum is whole seconds", text);
    return schedule_set_jitter_values(s, 0, ms / 1000, err);
  }
  if (!decimal_parse(text, len, &v, &dot) || v > 1)
    return error_set(err, INTEG_EINVAL,
                     "jitter \"%s\": write a fraction of the interval "
                     "(0.1), a percentage (10%%) or a maximum delay (30s)",
                     text);
  if (!dot && v != 0)
    return error_set(err, INTEG_EINVAL,
                     "jitter \"%s\" is ambiguous: write 1.0 or 100%% for "
                     "the whole interval, or 1s for one second",
                     text);
  return schedule_set_jitter_values(s, v, 0, err);
}

double schedule_jitter_fraction(const char *connector)
{
  uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a 64 */
  for (const unsigned char *p = (const unsigned char *)connector; *p; p++) {
    h ^= *p;
    h *= UINT64_C(0x100000001b3);
  }
  /* murmur3's fmix64, so names differing in one byte spread out. */
  h ^= h >> 33;
  h *= UINT64_C(0xff51afd7ed558ccd);
  h ^= h >> 33;
  h *= UINT64_C(0xc4ceb9fe1a85ec53);
  h ^= h >> 33;
  return (double)(h >> 11) * 0x1.0p-53;
}

int64_t schedule_jitter(const struct schedule *s, const char *connector,
                        int64_t fire)
{
  int64_t gap, bound, next;

  if (s->jitter_fraction <= 0 && s->jitter_max <= 0)
    return 0;
  if (s->kind == KIND_EVERY) {
    gap = s->interval;
  } else {
    if (schedule_next(s, fire, &next, NULL) != 0)
      return 0;
    gap = next - fire;
  }
  if (s->jitter_fraction > 0)
    bound = (int64_t)(s->jitter_fraction * (double)gap);
  else
    bound = s->jitter_max + 1;
  if (bound > gap)
    bound = gap;
  if (bound <= 0)
    return 0;
  return (int64_t)(schedule_jitter_fraction(connector) * (double)bound);
}

/* ------------------------------------------------------------ times */

size_t schedule_time_format(int64_t t, const struct schedule_tz *tz, char *buf,
                            size_t size)
{
  int32_t off = tz ? schedule_tz_offset(tz, t) : 0;
  int32_t moff = off / 60 * 60; /* toward zero */
  int64_t local = t + moff, days = floordiv(local, 86400), y;
  int64_t sec = local - days * 86400;
  int m, d, n;
  int32_t a = moff < 0 ? -moff : moff;

  civil_from_days(days, &y, &m, &d);
  n = snprintf(buf, size, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
               y, m, d, (int)(sec / 3600), (int)(sec % 3600 / 60),
               (int)(sec % 60), moff < 0 ? '-' : '+', (int)(a / 3600),
               (int)(a % 3600 / 60));
  return n < 0 ? 0 : (size_t)n;
}
