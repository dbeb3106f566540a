/* ratelimit.h - a token bucket per upstream.
 *
 * `rate_limit: {per_second, burst}`: a request takes one token; tokens come
 * back at per_second up to burst. The bucket's two numbers (tokens, time of
 * the last update) are all its state, so processes can share one bucket by
 * keeping them where all of them see it (the store) and updating them in
 * one transaction. A server that says its quota is spent until T drives the
 * bucket below zero, so that every sharer waits until T.
 *
 * Where buckets are shared is not this file's business: a bucket_share
 * callback (the run wires in the store's) runs the update atomically for
 * every sharer, so that the HTTP service needs no store.
 */
#ifndef INTEG_HOST_RATELIMIT_H
#define INTEG_HOST_RATELIMIT_H

#include <stdint.h>

#include <integ/plugin.h>

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

/* Update a shared bucket's two numbers in place. *exists is 1 when the
 * sharer holds them, else 0 (both zero); set it to 1 to keep them. Return 0
 * to write them back, or a negative code to leave them. */
typedef int (*bucket_update_fn)(double *tokens, int64_t *last_ms, int *exists,
                                void *arg);

/* Where buckets are shared with other processes (the daemon's children):
 * update() runs fn on the bucket named `key`, atomically with respect to
 * every other sharer, and keeps what fn leaves. Returns 0 or a negative
 * code with err set. update NULL: buckets are this process's own. */
struct bucket_share {
  int (*update)(void *arg, const char *key, bucket_update_fn fn, void *fn_arg,
                struct integ_error *err);
  void *arg; /* borrowed */
};

/* bucket_take on the bucket `key` as shared by `share` (b holds its rate
 * and burst; its tokens are replaced by the shared ones). Without sharing
 * (share or share->update NULL, or no rate) it is bucket_take on b.
 * Returns 0 with *wait_ms set; when sharing fails, the take is done on b
 * alone, *wait_ms set, and the sharer's code is returned with err set, so
 * the caller can say so and stop sharing. */
int bucket_take_shared(struct bucket *b, const struct bucket_share *share,
                       const char *key, int64_t now_ms, int64_t *wait_ms,
                       struct integ_error *err);

/* bucket_block, shared as bucket_take_shared is. */
int bucket_block_shared(struct bucket *b, const struct bucket_share *share,
                        const char *key, int64_t now_ms, int64_t wait_ms,
                        struct integ_error *err);

#endif
