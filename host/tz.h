/* tz.h - time zones (TZif files, POSIX TZ strings) and the proleptic
 * Gregorian calendar they are computed in; see schedule.h for the rules. */
#ifndef INTEG_HOST_TZ_H
#define INTEG_HOST_TZ_H

#include <stdbool.h>
#include <stdint.h>

#include "schedule.h"

/* Supported instants: 0001-01-01T00:00:00Z up to the end of year 999999. */
#define T_MIN INT64_C(-62135596800)
#define T_MAX INT64_C(31494784780799)

int64_t floordiv(int64_t a, int64_t b);
int64_t days_from_civil(int64_t y, int m, int d);
void civil_from_days(int64_t z, int64_t *y, int *m, int *d);
int days_in_month(int64_t y, int m);
int weekday(int64_t days);

/* A stretch of constant offset: [start, end). */
struct tz_seg {
  int64_t start, end;
  int32_t off, prev_off;
};

void tz_segment(const struct schedule_tz *tz, int64_t t, struct tz_seg *sg);

#endif
