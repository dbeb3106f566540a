/* breaker.h - a circuit breaker per upstream.
 *
 * Closed: requests pass; `threshold` consecutive failures open it. Open:
 * requests fail fast (circuit_open) until `cooldown_ms` has passed; then
 * half-open: one probe passes while others still fail fast; the probe's
 * success closes the breaker, its failure opens it again.
 */
#ifndef INTEG_HOST_BREAKER_H
#define INTEG_HOST_BREAKER_H

#include <stdint.h>

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

struct breaker {
  unsigned threshold;  /* consecutive failures that open it (>= 1) */
  int64_t cooldown_ms; /* open time before a probe */
  enum breaker_state state;
  unsigned failures; /* consecutive, while closed */
  int64_t opened_ms; /* when it last opened */
  int probing;       /* half-open: the probe is out */
};

#define BREAKER_INIT(threshold, cooldown_ms)                                  \
  {                                                                           \
    (threshold), (cooldown_ms), BREAKER_CLOSED, 0, 0, 0                       \
  }

/* May a request go now? 1 yes, 0 fail fast. When it returns 1 the caller
 * must report the outcome with breaker_success or breaker_failure. */
int breaker_allow(struct breaker *b, int64_t now_ms);
void breaker_success(struct breaker *b);
void breaker_failure(struct breaker *b, int64_t now_ms);
/* ms until a probe may go (0 when requests pass). */
int64_t breaker_retry_in(const struct breaker *b, int64_t now_ms);

const char *breaker_state_name(enum breaker_state s);

#endif
