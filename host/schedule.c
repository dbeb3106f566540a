/* schedule.c - schedules: a cron expression (cron.c) or an interval, in a
 * zone (tz.c), with jitter; see schedule.h for the rules. */
#include "schedule.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "cron.h"
#include "duration.h"
#include "error.h"
#include "tz.h"

/* ------------------------------------------------------- schedules */

enum kind { KIND_CRON, KIND_EVERY };

struct schedule {
  enum kind kind;
  struct cron cron; /* cron: the expression */
  int64_t interval; /* every: seconds */
  int64_t anchor;
  bool anchored;
  double jitter_fraction;
  int64_t jitter_max; /* seconds, when jitter_fraction is 0 */
  struct tz *tz;
};

static int schedule_alloc(const char *tz, struct schedule **out,
                          struct integ_error *err)
{
  struct schedule *s = calloc(1, sizeof *s);
  int rc;
  if (!s)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  rc = tz_load(tz, &s->tz, err);
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
  tz_free(s->tz);
  free(s);
}

const struct tz *schedule_zone(const struct schedule *s)
{
  return s->tz;
}

bool schedule_is_wildcard(const struct schedule *s)
{
  return s->kind == KIND_CRON && cron_is_wildcard(&s->cron);
}

int schedule_parse_cron(const char *expr, const char *tz,
                        struct schedule **out, struct schedule_where *where,
                        struct integ_error *err)
{
  struct schedule *s = NULL;
  struct cron cron;
  int rc;

  if (where) {
    where->field = NULL;
    where->position = 0;
  }
  rc = cron_parse(expr, &cron, where, err);
  if (rc)
    goto out;
  rc = schedule_alloc(tz, &s, err);
  if (rc)
    goto out;
  s->kind = KIND_CRON;
  s->cron = cron;
  *out = s;
out:
  return rc;
}

int schedule_new_every(int64_t interval, const int64_t *anchor, const char *tz,
                       struct schedule **out, struct integ_error *err)
{
  struct schedule *s = NULL;
  int rc = 0;

  if (interval < 1 || interval > TZ_T_MAX) {
    rc = error_set(err, INTEG_EINVAL, "interval must be at least one second");
    goto out;
  }
  if (anchor && (*anchor < TZ_T_MIN || *anchor > TZ_T_MAX)) {
    rc = error_set(err, INTEG_EINVAL, "anchor outside years 1-9999");
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

  while (cron_is_blank(expr[i]))
    i++;
  b = i;
  while (expr[i] && !cron_is_blank(expr[i]))
    i++;
  e = i;
  if (b == e)
    return cron_syntax_error(expr, b, "interval", where, err,
                             "\"every\" needs a duration, e.g. every 15m");
  if (e - b >= sizeof word)
    return cron_syntax_error(expr, b, "interval", where, err,
                             "duration too long");
  memcpy(word, expr + b, e - b);
  word[e - b] = '\0';
  rc = duration_parse(word, &ms, &pos, &sub);
  if (rc)
    return cron_syntax_error(expr, b + (pos ? pos - 1 : 0), "interval", where,
                             err, "%s", sub.message);
  if (ms < 1000 || ms % 1000 != 0)
    return cron_syntax_error(expr, b, "interval", where, err,
                             "an interval is whole seconds, at least 1s (got "
                             "%s)",
                             word);
  while (cron_is_blank(expr[i]))
    i++;
  if (expr[i]) {
    b = i;
    while (expr[i] && !cron_is_blank(expr[i]))
      i++;
    if (i - b != 4 || strncmp(expr + b, "from", 4) != 0)
      return cron_syntax_error(expr, b, "expression", where, err,
                               "expected \"from TIME\" after the interval "
                               "(every 15m from 2026-01-01T00:00:00Z)");
    while (cron_is_blank(expr[i]))
      i++;
    b = i;
    while (expr[i] && !cron_is_blank(expr[i]))
      i++;
    e = i;
    if (b == e)
      return cron_syntax_error(expr, b, "anchor", where, err,
                               "\"from\" needs an RFC 3339 time such as "
                               "2026-01-01T00:00:00Z");
    rc = clock_parse_rfc3339(expr + b, e - b, &ms_anchor, &sub);
    if (rc)
      return cron_syntax_error(expr, b, "anchor", where, err, "%s",
                               sub.message);
    anchor = tz_floordiv(ms_anchor, 1000);
    anchored = true;
    while (cron_is_blank(expr[i]))
      i++;
    if (expr[i])
      return cron_syntax_error(expr, i, "expression", where, err,
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
  while (cron_is_blank(expr[i]))
    i++;
  if (strncmp(expr + i, "every", 5) == 0 &&
      (cron_is_blank(expr[i + 5]) || !expr[i + 5]))
    return every_parse(expr, i + 5, tz, out, where, err);
  return schedule_parse_cron(expr, tz, out, where, err);
}

int schedule_next(const struct schedule *s, int64_t from, int64_t *next,
                  struct integ_error *err)
{
  char when[48];
  int64_t a = s->anchored ? s->anchor : 0, n;

  if (from < TZ_T_MIN || from >= TZ_T_MAX) {
    tz_format(from, NULL, when, sizeof when);
    return error_set(err, INTEG_EINVAL, "time %s is outside years 1-9999",
                     when);
  }
  if (s->kind == KIND_CRON)
    return cron_next(&s->cron, s->tz, from, next, err);
  if (s->anchored && from < a)
    n = a;
  else
    n = a + (tz_floordiv(from - a, s->interval) + 1) * s->interval;
  if (!tz_in_years(s->tz, n)) {
    tz_format(from, s->tz, when, sizeof when);
    return error_set(err, INTEG_EINVAL,
                     "no fire time after %s within years 1-9999", when);
  }
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
  if (max_seconds < 0 || max_seconds > TZ_T_MAX)
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
  if (len && ((text[len - 1] >= 'a' && text[len - 1] <= 'z') ||
              (text[len - 1] >= 'A' && text[len - 1] <= 'Z'))) {
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
