/* breaker.c - a circuit breaker per upstream. */
#include "config.h"

#include "breaker.h"

int breaker_allow(struct breaker *b, int64_t now_ms)
{
  switch (b->state) {
  case BREAKER_CLOSED:
    return 1;
  case BREAKER_OPEN:
    if (now_ms - b->opened_ms < b->cooldown_ms)
      return 0;
    b->state = BREAKER_HALF_OPEN;
    b->probing = 1;
    return 1;
  case BREAKER_HALF_OPEN:
    if (b->probing)
      return 0;
    b->probing = 1;
    return 1;
  }
  return 1;
}

void breaker_success(struct breaker *b)
{
  b->state = BREAKER_CLOSED;
  b->failures = 0;
  b->probing = 0;
}

void breaker_failure(struct breaker *b, int64_t now_ms)
{
  if (b->state == BREAKER_HALF_OPEN ||
      (b->state == BREAKER_CLOSED && ++b->failures >= b->threshold)) {
    b->state = BREAKER_OPEN;
    b->opened_ms = now_ms;
    b->failures = 0;
    b->probing = 0;
  }
}

int64_t breaker_retry_in(const struct breaker *b, int64_t now_ms)
{
  int64_t left;

  if (b->state != BREAKER_OPEN)
    return 0;
  left = b->opened_ms + b->cooldown_ms - now_ms;
  return left > 0 ? left : 0;
}

const char *breaker_state_name(enum breaker_state s)
{
  switch (s) {
  case BREAKER_CLOSED:
    return "closed";
  case BREAKER_OPEN:
    return "open";
  case BREAKER_HALF_OPEN:
    return "half-open";
  }
  return "?";
}
