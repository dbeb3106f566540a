/* ratelimit.h - a token bucket per upstream.
 *
 * `rate_limit: {per_second, burst}`: a request takes one token; tokens come
 * back at per_second up to burst. The bucket's two numbers (tokens, time of
 * the last update) are all its state, so processes can share one bucket by
 * keeping them where all of them see it (the store) and updating them in
 * one transaction. A server that says its quota is spent until T drives the
 * bucket below zero, so that every sharer waits until T.
 */
#ifndef INTEG_HOST_RATELIMIT_H
#define INTEG_HOST_RATELIMIT_H

#include <stdint.h>

struct bucket {
  double per_second; /* refill rate; <= 0 means no limit */
  double burst;      /* capacity, >= 1 */
  double tokens;     /* may go negative: debt that later takers wait out */
  int64_t last_ms;   /* when tokens was last brought up to date */
};

/* Bring tokens up to now and take one token. Returns how long the caller
 * must wait before sending (0 when a token was there). The token is taken
 * either way: waiting is the caller's part. */
int64_t bucket_take(struct bucket *b, int64_t now_ms);

/* The server says no requests until now + wait_ms: empty the bucket so
 * that it refills at exactly that time. */
void bucket_block(struct bucket *b, int64_t now_ms, int64_t wait_ms);

#endif
