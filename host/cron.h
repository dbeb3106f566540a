/* cron.h - cron expressions (cronie's crontab(5)): syntax and the next
 * matching time; see schedule.h for the rules. */
#ifndef INTEG_HOST_CRON_H
#define INTEG_HOST_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schedule.h"
#include "tz.h"

enum { F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW, F_COUNT };

enum {
  MIN_STAR = 1,
  HR_STAR = 2,
  DOM_STAR = 4,
  DOW_STAR = 8,
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
int syntax_error(const char *expr, size_t i, const char *field,
                 struct schedule_where *where, struct integ_error *err,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
bool is_blank(char c);
bool is_alpha(char c);
int cron_parse(const char *expr, struct schedule *s,
               struct schedule_where *where, struct integ_error *err);
int cron_next(const struct schedule *s, int64_t from, int64_t *next,
              struct integ_error *err);

#endif
