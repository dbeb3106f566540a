/* duration.h - "15m", "1h30m", "500ms": durations as admins write them.
 *
 * Used by schedules (every: 15m, jitter: 30s) and by any manifest key that
 * takes a duration (retry base, timeouts).
 */
#ifndef INTEG_HOST_DURATION_H
#define INTEG_HOST_DURATION_H

#include <stddef.h>
#include <stdint.h>

#include <integ/plugin.h>

/* Parse TEXT as one or more NUMBER UNIT groups with nothing in between
 * ("15m", "1h30m", "90s", "500ms"); units are ms, s, m, h and d (1d is
 * 86400 s: durations are elapsed time, not calendar days). NUMBER is
 * decimal digits only. Sets *ms to the total in milliseconds.
 * Returns 0, or INTEG_EINVAL (empty text, missing or unknown unit,
 * a sign or fraction, overflow) with err saying what is wrong; *pos, when
 * pos is not NULL, gets the 1-based position of the offending character
 * (0 when none applies) so callers can point into a larger expression. */
int duration_parse(const char *text, int64_t *ms, size_t *pos,
                   struct integ_error *err);

/* Write MS as the shortest duration_parse() text ("1h30m", "0s", "250ms")
 * into buf (NUL-terminated, truncated to size). Negative values get a
 * leading '-'. Returns the length the full text needs, like snprintf. */
size_t duration_format(int64_t ms, char *buf, size_t size);

#endif
