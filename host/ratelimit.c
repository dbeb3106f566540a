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

/* One operation on a bucket: a take (block_ms < 0) or a block. */
struct shared_op {
  struct bucket *b;
  int64_t now;
  int64_t block_ms;
  int64_t wait;
};

static void bucket_op(struct shared_op *op)
{
  if (op->block_ms < 0)
    op->wait = bucket_take(op->b, op->now);
  else
    bucket_block(op->b, op->now, op->block_ms);
}

/* The update the sharer runs: the shared numbers in, the op, them out. */
static int shared_update(double *tokens, int64_t *last_ms, int *exists,
                         void *arg)
{
  struct shared_op *op = arg;

  op->b->tokens = *exists ? *tokens : 0;
  op->b->last_ms = *exists ? *last_ms : 0;
  bucket_op(op);
  *tokens = op->b->tokens;
  *last_ms = op->b->last_ms;
  *exists = 1;
  return 0;
}

static int shared(struct shared_op *op, const struct bucket_share *share,
                  const char *key, struct integ_error *err)
{
  int rc;

  if (!share || !share->update || op->b->per_second <= 0) {
    bucket_op(op);
    return 0;
  }
  rc = share->update(share->arg, key, shared_update, op, err);
  if (rc)
    bucket_op(op); /* this process's own bucket, then */
  return rc;
}

int bucket_take_shared(struct bucket *b, const struct bucket_share *share,
                       const char *key, int64_t now_ms, int64_t *wait_ms,
                       struct integ_error *err)
{
  struct shared_op op = {b, now_ms, -1, 0};
  int rc = shared(&op, share, key, err);

  *wait_ms = op.wait;
  return rc;
}

int bucket_block_shared(struct bucket *b, const struct bucket_share *share,
                        const char *key, int64_t now_ms, int64_t wait_ms,
                        struct integ_error *err)
{
  struct shared_op op = {b, now_ms, wait_ms < 0 ? 0 : wait_ms, 0};

  return shared(&op, share, key, err);
}
