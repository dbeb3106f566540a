/* queue.h - the durable webhook queue and its idempotency keys.
 *
 * Deliveries live in the store's webhook_queue table and their ids in
 * webhook_keys (with an expiry), on a connection of the queue's own: WAL
 * with synchronous=NORMAL. A commit is then durable against the daemon
 * being killed (it is in the WAL file, which the next open replays), but
 * the last commits before a power loss or kernel crash may be lost: the
 * WAL is synced only at checkpoints. Concurrent submitters share one
 * commit (group commit): a committer thread takes every delivery waiting
 * and commits them in one transaction.
 *
 * A row goes queued -> running -> (deleted when done) or back to queued
 * with a later next_ms after a failure, and to dead after max attempts.
 */
#ifndef INTEG_HOST_QUEUE_H
#define INTEG_HOST_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <integ/plugin.h>

struct queue;

/* Open the queue of the store at PATH (the store must exist at the
 * schema version with the queue: store_open first). Returns 0 or a
 * negative code with err set. */
int queue_open(const char *path, struct queue **out, struct integ_error *err);

/* Stop the committer (waiting for it) and close (NULL is fine). */
void queue_close(struct queue *q);

/* One delivery to commit; every pointer is borrowed for the call. */
struct queue_item {
  const char *connector;
  const char *delivery_id; /* NULL: none, never deduplicated */
  const char *scheme;
  const char *type; /* may be NULL */
  int64_t received_ms;
  const char *headers; /* JSON object text, already redacted */
  const void *body;
  size_t len;
  int64_t key_ttl_ms; /* how long the delivery id is remembered */
};

/* Commit one delivery, sharing the commit with concurrent callers.
 * Returns 0 once it is committed, with *dup 1 when its id was already
 * known and unexpired (then nothing was added), or a negative code with
 * err set (nothing committed). Thread-safe. */
int queue_submit(struct queue *q, const struct queue_item *it, int *dup,
                 struct integ_error *err);

/* Counters of the group commit: deliveries and transactions so far. */
void queue_stats(struct queue *q, uint64_t *items, uint64_t *commits);

/* ---- processing (one process at a time per connector) ---- */

/* Claim the oldest queued events of CONNECTOR due at NOW, at most MAX:
 * marks them running and sets *out to a new array of objects {id,
 * connector, scheme, delivery_id, type, received_ms, headers (object),
 * body (string), attempts}, empty when none is due. */
int queue_claim(struct queue *q, const char *connector, int64_t now,
                size_t max, json_t **out, struct integ_error *err);

/* The events IDS[0..N) are processed and their records are durable:
 * delete them, in one transaction. */
int queue_done(struct queue *q, const int64_t *ids, size_t n,
               struct integ_error *err);

/* Processing failed with MESSAGE: back to queued after a backoff
 * doubling from 1 s (at most 1 h), or dead after MAX_ATTEMPTS. Sets
 * *dead when it is now dead. */
int queue_fail(struct queue *q, int64_t id, const char *message, int64_t now,
               int max_attempts, int *dead, struct integ_error *err);

/* Events left running by a process that died go back to queued. */
int queue_reset_running(struct queue *q, const char *connector,
                        struct integ_error *err);

/* Per connector with events: {"CONNECTOR": {"queued": N, "running": N,
 * "dead": N, "next_ms": MS or null (the first queued one due)}}. */
int queue_summary(struct queue *q, json_t **out, struct integ_error *err);

/* The events, oldest first (DEAD: only dead ones), without bodies:
 * an array of {id, connector, delivery_id, type, status, attempts,
 * received_ms, next_ms, error}. */
int queue_list(struct queue *q, int dead, json_t **out,
               struct integ_error *err);

/* Queue event ID again now with a fresh attempt count (a dead one too).
 * INTEG_ENOTFOUND when there is no such event. */
int queue_replay(struct queue *q, int64_t id, struct integ_error *err);

/* Delete expired idempotency keys; *removed counts them. */
int queue_prune(struct queue *q, int64_t now, size_t *removed,
                struct integ_error *err);

#endif
