/* ratelimit.c - a token bucket per upstream. */
#include "config.h"

#include <math.h>

#include "ratelimit.h"

static void refill(struct bucket *b, int64_t now_ms)
{
  if (b->last_ms == 0 || now_ms < b->last_ms) {
    /* A new bucket starts full; a clock that went back restarts it. */
    if (b->last_ms == 0)
      b->tokens = b->burst;
    b->last_ms = now_ms;
    return;
  }
  b->tokens += (double)(now_ms - b->last_ms) * b->per_second / 1000.0;
  if (b->tokens > b->burst)
    b->tokens = b->burst;
  b->last_ms = now_ms;
}

int64_t bucket_take(struct bucket *b, int64_t now_ms)
{
  if (b->per_second <= 0)
    return 0;
  refill(b, now_ms);
  b->tokens -= 1.0;
  if (b->tokens >= 0)
    return 0;
  return (int64_t)ceil(-b->tokens * 1000.0 / b->per_second);
}

void bucket_block(struct bucket *b, int64_t now_ms, int64_t wait_ms)
{
  double debt;

  if (b->per_second <= 0 || wait_ms <= 0)
    return;
  refill(b, now_ms);
  /* Tokens reach zero after wait_ms; a deeper debt already there stays. */
  debt = -(double)wait_ms * b->per_second / 1000.0;
  if (b->tokens > debt)
    b->tokens = debt;
}
