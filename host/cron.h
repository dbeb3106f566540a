/* cron.h - cron expressions as crontab(5) of cronie: their syntax, and the
 * next local time they match in a zone, with cronie's daylight saving
 * rules. schedule.h documents both; a struct schedule holds a struct cron
 * for its cron expressions. */
#ifndef INTEG_HOST_CRON_H
#define INTEG_HOST_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <integ/plugin.h>

#include "tz.h"

#define CRON_FIELDS 5 /* minute hour day-of-month month day-of-week */

/* A parsed cron expression: a plain value, nothing to free. */
struct cron {
  uint64_t bits[CRON_FIELDS]; /* bit v set: value v matches */
  unsigned flags;             /* which fields start with '*' (cron.c) */
};

/* Where an expression is wrong: the field ("minute", "hour",
 * "day-of-month", "month", "day-of-week", "expression", "interval",
 * "anchor"; a static string) and the 1-based character position in the
 * expression (0 when none applies). Callers that know where the
 * expression sits in a file add position - 1 to its column. Declared here
 * for schedule.h, whose parsers fill it through cron_syntax_error(). */
struct schedule_where {
  const char *field;
  size_t position;
};

/* Parse the cron expression or @alias EXPR (leading and trailing blanks
 * ignored) into *c. Returns 0, or INTEG_EINVAL with err naming the field
 * and position (also in *where when not NULL). */
int cron_parse(const char *expr, struct cron *c, struct schedule_where *where,
               struct integ_error *err);

/* True when the minute or hour field starts with '*': a wildcard job,
 * which follows the wall clock through DST changes. */
bool cron_is_wildcard(const struct cron *c);

/* Set *next to the first instant strictly after FROM at which C fires in
 * zone TZ (borrowed). Returns 0, or INTEG_EINVAL when there is none within
 * the supported years (err names FROM in RFC 3339). */
int cron_next(const struct cron *c, const struct tz *tz, int64_t from,
              int64_t *next, struct integ_error *err);

/* Fill *where (when not NULL) and err for a syntax error at 0-based index
 * I of EXPR (or past its end) in FIELD; returns INTEG_EINVAL. */
int cron_syntax_error(const char *expr, size_t i, const char *field,
                      struct schedule_where *where, struct integ_error *err,
                      const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* A blank between fields: space or tab. */
bool cron_is_blank(char c);

#endif
