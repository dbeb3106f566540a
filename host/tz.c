/* tz.c - time zones: the civil calendar, POSIX TZ strings, TZif files;
 * see schedule.h for the rules. */
#include "tz.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

#define TZIF_MAX_BYTES (1024 * 1024)
#define ZONEINFO_DIR "/usr/share/zoneinfo"

/* -------------------------------------------------- civil calendar */

int64_t tz_floordiv(int64_t a, int64_t b)
{
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    q--;
  return q;
}

static int64_t floormod(int64_t a, int64_t b)
{
  return a - tz_floordiv(a, b) * b;
}

/* H. Hinnant's days_from_civil and civil_from_days. */
int64_t tz_days_from_civil(int64_t y, int m, int d)
{
  y -= m <= 2;
  int64_t era = tz_floordiv(y, 400);
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void tz_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
  z += 719468;
  int64_t era = tz_floordiv(z, 146097);
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

int tz_days_in_month(int64_t y, int m)
{
  static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* 1970-01-01 was a Thursday. */
int tz_weekday(int64_t days)
{
  return (int)floormod(days + 4, 7);
}

static int64_t year_of(int64_t t)
{
  int64_t y;
  int m, d;
  tz_civil_from_days(tz_floordiv(t, 86400), &y, &m, &d);
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
  int64_t first = tz_days_from_civil(y, rd->a, 1);
  int wd = tz_weekday(first);
  int day = 1 + (rd->c - wd + 7) % 7 + 7 * (rd->b - 1);
  while (day > tz_days_in_month(y, rd->a))
    day -= 7;
  return first + day - 1 - tz_days_from_civil(y, 1, 1);
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
    int64_t jan1 = tz_days_from_civil(yy, 1, 1);
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

struct tz {
  char *name;
  size_t n;     /* explicit transitions */
  int64_t *at;  /* ascending */
  int32_t *off; /* offset from at[i] on */
  int32_t off0; /* before at[0]; always when n == 0 */
  bool has_rule;
  struct tz_rule rule; /* after at[n-1] */
};

void tz_segment(const struct tz *tz, int64_t t, struct tz_seg *sg)
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
    int64_t tc = t < TZ_T_MIN ? TZ_T_MIN : t > TZ_T_MAX ? TZ_T_MAX : t;
    int64_t prev_at, next_at;
    int32_t off, prev_off;
    rule_around(&tz->rule, tc, &off, &prev_at, &prev_off, &next_at);
    sg->off = off;
    if (prev_at != INT64_MIN && prev_at > sg->start) {
      sg->start = prev_at;
      sg->prev_off = prev_off;
    }
    if (t <= TZ_T_MAX)
      sg->end = next_at;
  }
}

int32_t tz_offset(const struct tz *tz, int64_t t)
{
  struct tz_seg sg;
  tz_segment(tz, t, &sg);
  return sg.off;
}

bool tz_in_years(const struct tz *tz, int64_t t)
{
  int64_t local;

  if (t < TZ_T_MIN || t > TZ_T_MAX)
    return false;
  local = t + (tz ? tz_offset(tz, t) : 0);
  return local >= TZ_T_MIN && local <= TZ_T_MAX;
}

const char *tz_name(const struct tz *tz)
{
  return tz->name;
}

void tz_free(struct tz *tz)
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
                      struct tz *tz, struct integ_error *err)
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

static int tz_new(const char *display, struct tz **out,
                  struct integ_error *err)
{
  struct tz *tz = calloc(1, sizeof *tz);
  if (tz)
    tz->name = strdup(display);
  if (!tz || !tz->name) {
    tz_free(tz);
    return error_set(err, INTEG_ENOMEM, "out of memory loading a zone");
  }
  *out = tz;
  return 0;
}

static int tz_from_file(const char *path, const char *display, struct tz **out,
                        struct integ_error *err)
{
  unsigned char *data = NULL;
  size_t len = 0;
  struct tz *tz = NULL;
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
  tz_free(tz);
  return rc;
}

int tz_load(const char *name, struct tz **out, struct integ_error *err)
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
      return tz_load(env, out, err);
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
      return tz_load("UTC0", out, err);
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

/* ------------------------------------------------------------ text */

size_t tz_format(int64_t t, const struct tz *tz, char *buf, size_t size)
{
  int32_t off = tz ? tz_offset(tz, t) : 0;
  int32_t moff = off / 60 * 60; /* toward zero */
  int64_t local = t + moff, days = tz_floordiv(local, 86400), y;
  int64_t sec = local - days * 86400;
  int m, d, n;
  int32_t a = moff < 0 ? -moff : moff;

  tz_civil_from_days(days, &y, &m, &d);
  n = snprintf(buf, size, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
               y, m, d, (int)(sec / 3600), (int)(sec % 3600 / 60),
               (int)(sec % 60), moff < 0 ? '-' : '+', (int)(a / 3600),
               (int)(a % 3600 / 60));
  return n < 0 ? 0 : (size_t)n;
}
