/* clock.h - the time the host stamps on output, and RFC 3339 text.
 *
 * INTEG_NOW=<RFC 3339 time> (a testing aid) fixes the clock, so tests can
 * compare outputs byte for byte. Code that needs "now" takes a struct clock
 * from its caller; nothing reads the system clock behind its back.
 */
#ifndef INTEG_HOST_CLOCK_H
#define INTEG_HOST_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#include <integ/plugin.h>

struct clock {
  int fixed;        /* 1 when INTEG_NOW (or a test) fixed the time */
  int64_t fixed_ms; /* that time, ms since the epoch */
};

/* Read INTEG_NOW from the environment. INTEG_ECONFIG with the value and the
 * expected form when it is set but is not an RFC 3339 time. */
int clock_init(struct clock *c, struct integ_error *err);

/* Milliseconds since the epoch (the fixed time when set). */
int64_t clock_now_ms(const struct clock *c);

/* Parse an RFC 3339 date-time ("2026-11-25T12:00:00Z", fractional seconds
 * and numeric offsets allowed; 't' and 'z' too, as RFC 3339 permits) into
 * ms since the epoch. len is the text's length. Returns 0 or INTEG_EINVAL
 * with err naming the 1-based position where the text went wrong. */
int clock_parse_rfc3339(const char *s, size_t len, int64_t *ms,
                        struct integ_error *err);

/* Format ms since the epoch as RFC 3339 in UTC with microseconds
 * ("2026-11-25T12:00:00.000000+00:00") into buf (at least
 * CLOCK_RFC3339_MAX bytes). Returns buf. (Singer's time_extracted drops a
 * zero fraction, as Python's isoformat does: emit_singer_time.) */
#define CLOCK_RFC3339_MAX 40
char *clock_format_rfc3339(int64_t ms, char *buf, size_t size);

#endif
