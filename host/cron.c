/* cron.c - cron expressions: syntax and the next match; see schedule.h
 * for the rules (cronie's syntax and DST behaviour). */
#include "cron.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

/* A cron pattern repeats every 400 Gregorian years, so a valid one
 * matches within that span from any start. */
#define SEARCH_YEARS 401

/* ------------------------------------------------------ cron syntax */

enum { F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW, F_COUNT };
_Static_assert(F_COUNT == CRON_FIELDS, "one bit set per field");

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

int cron_syntax_error(const char *expr, size_t i, const char *field,
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

bool cron_is_blank(char c)
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
    return cron_syntax_error(
        expr, i, fn, where, err,
        "'L' (last day) is not supported (nor by cronie's "
        "crontab): list the days instead");
  case 'W':
  case 'w':
    return cron_syntax_error(expr, i, fn, where, err,
                             "'W' (nearest weekday) is not supported (nor by "
                             "cronie's crontab)");
  case '#':
    return cron_syntax_error(expr, i, fn, where, err,
                             "'#' (nth weekday of the month) is not supported "
                             "(nor by cronie's crontab)");
  case '?':
    return cron_syntax_error(expr, i, fn, where, err,
                             "'?' is not supported: write * instead");
  case '~':
    return cron_syntax_error(expr, i, fn, where, err,
                             "'~' (random value) is not supported: use the "
                             "schedule's jitter to spread runs");
  default:
    break;
  }
  if (c < 0x20 || c >= 0x7f)
    return cron_syntax_error(expr, i, fn, where, err, "unexpected byte 0x%02x",
                             c);
  return cron_syntax_error(expr, i, fn, where, err,
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
      return cron_syntax_error(expr, s, fs->name, where, err,
                               "%.*s is out of range %d-%d", (int)(k - s),
                               expr + s, fs->lo, fs->hi);
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
      return cron_syntax_error(expr, s, fs->name, where, err,
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
    return cron_syntax_error(expr, s, fs->name, where, err,
                             "unknown %s name \"%.*s\": use %s", fs->name,
                             (int)(k - s), expr + s,
                             f == F_MONTH ? "jan, feb, ... dec or 1-12"
                                          : "sun, mon, ... sat or 0-7");
  }
  if (s == end || expr[s] == ',')
    return cron_syntax_error(expr, s, fs->name, where, err,
                             "expected a number%s",
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
      rc = cron_syntax_error(expr, i, fs->name, where, err,
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
          rc = cron_syntax_error(expr, i, fs->name, where, err,
                                 "range without an end: write N-M");
          goto out;
        }
        size_t zpos = i;
        rc = value_parse(expr, &i, end, f, &z, where, err);
        if (rc)
          goto out;
        if (a > z) {
          rc = cron_syntax_error(
              expr, zpos, fs->name, where, err,
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
        rc = cron_syntax_error(expr, elem, fs->name, where, err,
                               "a step needs a range: write %.*s-%d/S or */S",
                               (int)(spos - 1 - elem), expr + elem, fs->hi);
        goto out;
      }
      if (i == end || expr[i] < '0' || expr[i] > '9') {
        if (i < end && expr[i] != ',') {
          rc = bad_char(expr, i, f, where, err);
          goto out;
        }
        rc = cron_syntax_error(expr, i, fs->name, where, err,
                               "'/' must be followed by a step, e.g. */15");
        goto out;
      }
      while (i < end && expr[i] >= '0' && expr[i] <= '9') {
        if (v < 1000000)
          v = v * 10 + (expr[i] - '0');
        i++;
      }
      if (v == 0) {
        rc = cron_syntax_error(expr, spos, fs->name, where, err,
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
  return m == 2 ? 29 : tz_days_in_month(2001, m);
}

static int cron_validate(const struct cron *s, const char *expr,
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
  return cron_syntax_error(expr, dom_pos, fields[F_DOM].name, where, err,
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

static int cron_fields(const char *expr, size_t start, struct cron *s,
                       struct schedule_where *where, struct integ_error *err);

/* TEXT[0, len) equals the lowercase WORD, ignoring case. */
static bool word_is(const char *text, size_t len, const char *word)
{
  size_t k = 0;
  while (k < len && word[k] && lower(text[k]) == word[k])
    k++;
  return k == len && !word[k];
}

static int alias_parse(const char *expr, size_t start, struct cron *s,
                       struct schedule_where *where, struct integ_error *err)
{
  size_t i = start + 1, e = i;
  while (expr[e] && !cron_is_blank(expr[e]))
    e++;
  for (size_t k = e; expr[k]; k++)
    if (!cron_is_blank(expr[k]))
      return cron_syntax_error(expr, k, "expression", where, err,
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
    return cron_syntax_error(
        expr, start, "expression", where, err,
        "@reboot is not supported: a schedule names times "
        "of day, and integ has no boot event");
  return cron_syntax_error(
      expr, start, "expression", where, err,
      "unknown alias \"%.*s\": use @hourly, @daily, "
      "@midnight, @weekly, @monthly, @yearly or @annually",
      (int)(e - start), expr + start);
}

static int cron_fields(const char *expr, size_t start, struct cron *s,
                       struct schedule_where *where, struct integ_error *err)
{
  size_t tok[F_COUNT + 1][2];
  size_t n = 0, i = start;
  int rc = 0;

  for (;;) {
    while (cron_is_blank(expr[i]))
      i++;
    if (!expr[i])
      break;
    size_t b = i;
    while (expr[i] && !cron_is_blank(expr[i]))
      i++;
    if (n == F_COUNT) {
      rc = cron_syntax_error(expr, b, "expression", where, err,
                             "a sixth field is not supported: cron has five "
                             "fields (minute hour day-of-month month "
                             "day-of-week), no seconds or year");
      goto out;
    }
    tok[n][0] = b;
    tok[n++][1] = i;
  }
  if (n == 0) {
    rc = cron_syntax_error(expr, i, "expression", where, err,
                           "empty schedule: write five fields such as "
                           "\"0 3 * * *\" or an alias such as @daily");
    goto out;
  }
  if (n < F_COUNT) {
    rc = cron_syntax_error(expr, i, fields[n].name, where, err,
                           "missing: cron has five fields (minute hour "
                           "day-of-month month day-of-week)");
    goto out;
  }
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

bool cron_is_wildcard(const struct cron *c)
{
  return c->flags & (MIN_STAR | HR_STAR);
}

int cron_parse(const char *expr, struct cron *s, struct schedule_where *where,
               struct integ_error *err)
{
  size_t i = 0;
  while (cron_is_blank(expr[i]))
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

static bool day_matches(const struct cron *s, int64_t y, int m, int d)
{
  bool dom = s->bits[F_DOM] >> d & 1;
  bool dow = s->bits[F_DOW] >> tz_weekday(tz_days_from_civil(y, m, d)) & 1;
  if (s->flags & (DOM_STAR | DOW_STAR))
    return dom && dow;
  return dom || dow;
}

/* The first matching local minute at or after LO (local seconds since
 * 1970-01-01T00:00 local, a multiple of 60), or INT64_MAX when none is
 * within SEARCH_YEARS. Field by field: month, day, hour, minute. */
static int64_t cron_match(const struct cron *s, int64_t lo)
{
  int64_t days = tz_floordiv(lo, 86400), y;
  int64_t sec = lo - days * 86400;
  int m, d, h = (int)(sec / 3600), mi = (int)(sec % 3600 / 60);
  int64_t ylimit;

  tz_civil_from_days(days, &y, &m, &d);
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
    int dim = tz_days_in_month(y, m);
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
    return tz_days_from_civil(y, m, d) * 86400 + h * 3600 + nmi * 60;
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

static int64_t cron_match_cached(const struct cron *s, int64_t lo,
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
  return tz_floordiv(x + 59, 60) * 60;
}

int cron_next(const struct cron *s, const struct tz *tz, int64_t from,
              int64_t *next, struct integ_error *err)
{
  bool fixed = !(s->flags & (MIN_STAR | HR_STAR));
  int64_t t = from + 1;
  struct match_cache cache = {0, 0, false};
  char when[48];

  /* Walk the zone's stretches of constant offset from `t` on. */
  while (t <= TZ_T_MAX) {
    struct tz_seg sg;
    int64_t lo, hi, m;

    tz_segment(tz, t, &sg);
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
      if (!tz_in_years(tz, m - sg.off))
        break;
      *next = m - sg.off;
      return 0;
    }
    t = sg.end;
  }
  tz_format(from, tz, when, sizeof when);
  return error_set(err, INTEG_EINVAL,
                   "no fire time after %s within years 1-9999", when);
}