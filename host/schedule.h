/* schedule.h - when a connector runs: cron expressions as crontab(5) of
 * cronie, or fixed intervals, in a time zone, with deterministic jitter.
 *
 * Time zones are tz.h's (TZif files and POSIX TZ strings, never the
 * process-global TZ); cron expressions are parsed and matched by cron.h.
 * A schedule owns its zone; all functions here are reentrant and a
 * schedule may be shared by threads once built.
 *
 * Clock. Nothing here reads the clock: callers pass `from` (seconds since
 * the Unix epoch, UTC), so tests and `integ schedule --from` are exact.
 * Supported instants: years 1 to 9999, in UTC and in the schedule's zone
 * (RFC 3339 writes four digits); errors write times in RFC 3339.
 *
 * Cron (cronie's crontab(5)): five fields minute (0-59), hour (0-23),
 * day-of-month (1-31), month (1-12 or jan-dec), day-of-week (0-7 or
 * sun-sat, 0 and 7 both Sunday); names case-insensitive. Each field is a
 * list of `*`, `N`, `N-M`, `*\/S` or `N-M/S` (S >= 1; steps from the start
 * of the range, as cronie). Aliases @hourly, @daily, @midnight, @weekly,
 * @monthly, @yearly, @annually. When day-of-month and day-of-week are
 * both restricted a day matches if either matches; a field whose text
 * starts with `*` (also `*\/2`) is unrestricted, so the other alone
 * decides (cronie's DOM_STAR/DOW_STAR). Errors, each naming the field and
 * the 1-based position: L, W, #, ?, ~, a sixth field, @reboot, values out
 * of range, reversed ranges, empty list items, step 0, names outside the
 * month and day-of-week fields, and expressions that can never fire
 * (0 0 31 2 *).
 *
 * Daylight saving time, as cronie's crond does it. A job is "wildcard"
 * when its minute or hour field starts with `*` (`*`, `*\/15`; @hourly);
 * every other job is "fixed-time" (`30 2 * * *`, `0-59 2 * * *`, @daily).
 *  - Wildcard jobs follow the wall clock: they fire at every instant
 *    whose local time matches. Local times skipped by a spring-forward
 *    gap never happen, so their matches there are skipped; local times
 *    repeated after a fall-back happen twice, so `*\/15 * * * *` and
 *    `0 * * * *` fire in both passes of the repeated hour.
 *  - Fixed-time jobs fire once per matching local time: in the repeated
 *    hour only at its first occurrence (the earlier offset); a match that
 *    falls in a gap fires once, at the instant the gap ends (the first
 *    instant after it, e.g. 03:00 CEST for `30 2 * * *` on the last
 *    Sunday of March in Europe/Berlin). Several matches in one gap, and a
 *    match at the gap's end itself, fire once together (cronie runs one
 *    catch-up per skipped matching minute, best-effort; we run one).
 *  - This applies to every change of offset, of any size (cronie treats
 *    jumps over 3 hours as clock changes and runs only the current
 *    minute).
 *
 * Intervals: `every D` fires at k*D seconds after 1970-01-01T00:00:00Z
 * (so every 15m fires at :00, :15, :30, :45 UTC); `every D from T` fires
 * at T + k*D for k >= 0 (never before T). D is whole seconds, >= 1 s.
 * Time zones do not change interval schedules, only how times print.
 *
 * Jitter delays each run by a per-connector offset in [0, bound): the
 * connector name is hashed (FNV-1a 64 with a murmur3 finaliser) to a
 * fraction u in [0, 1), so restarts never reshuffle runs, and different
 * connectors on one schedule spread out. bound is either FRACTION times
 * the time from this fire to the next (the interval, for `every`), or an
 * absolute maximum + 1 s; it is capped at that time to the next fire, so
 * a delayed run still comes before the next nominal fire.
 */
#ifndef INTEG_HOST_SCHEDULE_H
#define INTEG_HOST_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <integ/plugin.h>

#include "cron.h"
#include "tz.h"

struct schedule; /* a parsed schedule (owns its zone) */

/* -------------------------------------------------------- schedules */

/* Parse EXPR, in the zone TZ (a name for tz_load(); NULL for the
 * system zone): a cron expression, an @alias, or an interval
 * "every DURATION" / "every DURATION from TIME" (DURATION as
 * duration_parse(): 15m, 1h30m; TIME in RFC 3339 with an offset, as
 * clock_parse_rfc3339(), fractions of a second dropped). Leading and trailing
 * blanks are ignored. On success *out is new, freed with schedule_free(). On
 * failure returns INTEG_EINVAL with err's message naming the field and
 * position (also in *where when not NULL), or the tz_load() error, or
 * INTEG_ENOMEM. */
int schedule_parse(const char *expr, const char *tz, struct schedule **out,
                   struct schedule_where *where, struct integ_error *err);

/* As schedule_parse(), but only cron expressions and @aliases (the
 * manifest's `cron:` key). */
int schedule_parse_cron(const char *expr, const char *tz,
                        struct schedule **out, struct schedule_where *where,
                        struct integ_error *err);

/* A new interval schedule: every INTERVAL seconds (>= 1), anchored at
 * *ANCHOR when ANCHOR is not NULL (fires at *anchor + k*interval, k >= 0),
 * else at the Unix epoch. TZ as above (used only to print times).
 * *out is new (schedule_free()). Returns 0, INTEG_EINVAL, a
 * tz_load() error or INTEG_ENOMEM. */
int schedule_new_every(int64_t interval, const int64_t *anchor, const char *tz,
                       struct schedule **out, struct integ_error *err);

/* Free a schedule and its zone (NULL is fine). */
void schedule_free(struct schedule *s);

/* The schedule's zone. Borrowed: valid as long as s. */
const struct tz *schedule_zone(const struct schedule *s);

/* True for cron schedules whose minute or hour field starts with `*`
 * (wildcard jobs in the DST rules above). */
bool schedule_is_wildcard(const struct schedule *s);

/* Set *next to the first fire time strictly after FROM (seconds since
 * the epoch). Exact and field-by-field: cost grows with the number of
 * zone transitions crossed, not with the minutes in between. Returns 0,
 * or INTEG_EINVAL when FROM or the result lies outside the supported
 * years (err says so). */
int schedule_next(const struct schedule *s, int64_t from, int64_t *next,
                  struct integ_error *err);

/* ----------------------------------------------------------- jitter */

/* Set the jitter of S from TEXT: a fraction "0.1" (0 to 1), a percentage
 * "10%" (0 to 100), or a duration "30s" / "5m" (an absolute maximum, whole
 * seconds). "0" turns jitter off. Returns 0 or INTEG_EINVAL with err
 * naming what is wrong. */
int schedule_set_jitter(struct schedule *s, const char *text,
                        struct integ_error *err);

/* The same, as values: FRACTION in [0, 1] (0 for none) or, when
 * fraction is 0, MAX_SECONDS >= 0 (0 for none). Returns 0 or
 * INTEG_EINVAL. */
int schedule_set_jitter_values(struct schedule *s, double fraction,
                               int64_t max_seconds, struct integ_error *err);

/* The delay in seconds, in [0, bound) as described at the top, for
 * CONNECTOR's run of the fire at FIRE (a value schedule_next() returned).
 * Deterministic: the same schedule, connector and fire give the same
 * delay in every process. 0 without jitter. */
int64_t schedule_jitter(const struct schedule *s, const char *connector,
                        int64_t fire);

/* The fraction in [0, 1) that CONNECTOR's name hashes to (exposed for
 * tests and for `integ schedule --jitter-for`). */
double schedule_jitter_fraction(const char *connector);

#endif
