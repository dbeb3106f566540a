/* tz.h - time zones and the proleptic Gregorian calendar.
 *
 * A zone is read from the system tz database (TZif files under $TZDIR or
 * /usr/share/zoneinfo, RFC 8536): the 64-bit section's transitions, then
 * the POSIX TZ footer for times after the last one. We never set TZ or
 * call localtime()/mktime(): TZ is process-global state and the daemon
 * computes schedules for many connectors, each in its own zone, at once.
 * All functions here are reentrant; a loaded zone may be shared by
 * threads.
 *
 * Instants are seconds since 1970-01-01T00:00:00Z; the supported ones lie
 * in [TZ_T_MIN, TZ_T_MAX]. */
#ifndef INTEG_HOST_TZ_H
#define INTEG_HOST_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <integ/plugin.h>

/* Supported instants: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, the
 * years RFC 3339's four digits can write. */
#define TZ_T_MIN INT64_C(-62135596800)
#define TZ_T_MAX INT64_C(253402300799)

struct tz; /* a loaded time zone */

/* Load the zone NAME: an IANA name ("Europe/Berlin", "UTC") looked up
 * under $TZDIR or /usr/share/zoneinfo, an absolute path to a TZif file,
 * or a POSIX TZ string ("EST5EDT,M3.2.0,M11.1.0"); a leading ':' is
 * ignored as in TZ. NULL or "" is the system zone: $TZ if set, else
 * /etc/localtime, else UTC. Relative names with ".." are refused.
 * On success *out is new, freed with tz_free(). Returns 0,
 * INTEG_ENOTFOUND (no such zone), INTEG_EINVAL (not a valid TZif file or
 * TZ string; leap-second "right/" zones), or INTEG_ENOMEM. */
int tz_load(const char *name, struct tz **out, struct integ_error *err);

/* Free a zone (NULL is fine). */
void tz_free(struct tz *tz);

/* The name the zone was loaded by ("Europe/Berlin"; for the system zone
 * the name /etc/localtime links to, or "localtime"). Borrowed: valid as
 * long as tz. */
const char *tz_name(const struct tz *tz);

/* Offset from UTC in seconds (east positive) at instant T. */
int32_t tz_offset(const struct tz *tz, int64_t t);

/* True when T is a supported instant whose local time in TZ is also in
 * years 1-9999, so that tz_format() writes it as RFC 3339. */
bool tz_in_years(const struct tz *tz, int64_t t);

/* A stretch of constant offset [start, end) (INT64_MIN / INT64_MAX when
 * unbounded), its offset, and the offset just before start. */
struct tz_seg {
  int64_t start, end;
  int32_t off, prev_off;
};

/* The stretch of TZ that holds instant T. */
void tz_segment(const struct tz *tz, int64_t t, struct tz_seg *sg);

/* Write T as RFC 3339 in zone TZ (NULL: UTC) with its offset
 * ("2026-03-29T03:00:00+02:00"; UTC prints +00:00) into buf
 * (NUL-terminated, truncated to size; 32 bytes always suffice).
 * Offsets with seconds (local mean time before ~1900) are rounded to the
 * minute toward zero and the clock time adjusted, so the text still
 * names the same instant. Returns the length of the full text. */
size_t tz_format(int64_t t, const struct tz *tz, char *buf, size_t size);

/* ------------------------------------------------- civil calendar */

/* floor(a / b) for b > 0. */
int64_t tz_floordiv(int64_t a, int64_t b);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t tz_days_from_civil(int64_t y, int m, int d);
void tz_civil_from_days(int64_t z, int64_t *y, int *m, int *d);

/* Days in month M (1-12) of year Y. */
int tz_days_in_month(int64_t y, int m);

/* Day of the week of a day number: 0 = Sunday. */
int tz_weekday(int64_t days);

#endif
