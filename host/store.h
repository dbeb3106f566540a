/* store.h - the host's durable store: connector state, run history,
 * rate-limit buckets and sealed OAuth2 tokens.
 *
 * One narrow interface so another backend (PostgreSQL, for several hosts
 * sharing work) can follow: no SQLite type appears here and `struct store`
 * is opaque. The embedded default is a SQLite file (host/store.c).
 *
 * Every call is one short transaction: never hold the store across an
 * HTTP request. Time is always an argument (ms since the epoch); the store
 * never reads a clock. A handle is used by one thread at a time; several
 * processes may open the same store at once.
 *
 * All functions return 0 or a negative INTEG_E* code and fill err:
 * INTEG_ESTATE when the store cannot be read or written (corrupt, not an
 * integ store, from a newer integ, locked for too long, malformed JSON in
 * a row), INTEG_EINVAL for bad arguments, INTEG_ENOMEM, INTEG_ENOTFOUND
 * where said.
 */
#ifndef INTEG_HOST_STORE_H
#define INTEG_HOST_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <integ/plugin.h>

struct store;

/* The schema version this integ writes (PRAGMA user_version). */
int store_schema_version(void);

/* Open the store at path, creating the file (mode 0600) and its schema
 * when absent, and migrating an older schema forward. The directory must
 * exist. When the process runs as root and creates the file, the file is
 * given to the owner of its directory, so the daemon's user can write it.
 * Refuses, naming the file, a store written by a newer integ, a file that
 * is not an integ store, and a corrupt one; a refused file is not
 * modified. *out is new: free with store_close. */
int store_open(const char *path, struct store **out, struct integ_error *err);

/* Close the store (NULL is fine). */
void store_close(struct store *s);

/* The path the store was opened with (borrowed, lives as long as s). */
const char *store_path(const struct store *s);

/* ---- state: per (account, connector, stream) ----
 * A value is any JSON value; stream "" is the connector's whole state. */

/* The connector's state as an object {stream: value}; an empty object when
 * nothing is stored. *out is a new reference. */
int store_state_get(struct store *s, const char *account,
                    const char *connector, json_t **out,
                    struct integ_error *err);

/* Write every member of the object streams ({stream: value}, borrowed) in
 * ONE transaction, replacing those streams' values; other streams are
 * untouched. */
int store_state_put(struct store *s, const char *account,
                    const char *connector, json_t *streams,
                    struct integ_error *err);

/* Remove one stream's state, or with stream NULL all of the connector's.
 * *removed (may be NULL) gets the number of streams removed: 0 is not an
 * error. */
int store_state_clear(struct store *s, const char *account,
                      const char *connector, const char *stream,
                      size_t *removed, struct integ_error *err);

/* ---- run history ---- */

/* Record that a run started; *run_id gets its id for store_run_end. */
int store_run_begin(struct store *s, const char *account,
                    const char *connector, int64_t started_ms, int64_t *run_id,
                    struct integ_error *err);

/* Record how run_id ended: status a short word ("ok", "failed",
 * "interrupted"), records written, message (may be NULL) for the log.
 * INTEG_ENOTFOUND when there is no such run. Records above INT64_MAX are
 * stored as INT64_MAX. */
int store_run_end(struct store *s, int64_t run_id, int64_t ended_ms,
                  const char *status, uint64_t records, const char *message,
                  struct integ_error *err);

/* Record the fire time (ms; 0: none, a manual run) run_id was for and
 * the pid that runs it. */
int store_run_owner(struct store *s, int64_t run_id, int64_t fire_ms, long pid,
                    struct integ_error *err);

/* Record run_id's error category (may be NULL) and its counters (stats,
 * borrowed, an object or NULL): {"streams": {NAME: records},
 * "http": {"2xx": n, ...}, "retries", "rate_limit_waits",
 * "token_refreshes"}. */
int store_run_detail(struct store *s, int64_t run_id, const char *category,
                     json_t *stats, struct integ_error *err);

/* Remove finished runs and notes that started before before_ms;
 * *removed (may be NULL) gets how many. */
int store_runs_prune(struct store *s, int64_t before_ms, size_t *removed,
                     struct integ_error *err);

/* Add a line to the connector's history that is not a run, e.g. "state
 * set by operator: {...}". */
int store_history_note(struct store *s, const char *account,
                       const char *connector, const char *what, int64_t at_ms,
                       struct integ_error *err);

/* History, newest first, at most limit entries (0: all), of one account
 * and connector (either may be NULL: any). *out is a new array of objects
 *   {"id", "account", "connector", "kind": "run"|"note", "started_ms",
 *    "ended_ms" (null while running), "status" ("running", "ok", ...,
 *    "note"; "died" for a run whose process is gone), "records",
 *    "message" (or null), "fire_ms", "pid", "error_category" (each or
 *    null), "stats" (store_run_detail's object, {} when none)}. */
int store_runs_list(struct store *s, const char *account,
                    const char *connector, size_t limit, json_t **out,
                    struct integ_error *err);

/* ---- rate-limit buckets shared across processes ---- */

/* Called inside the bucket's write transaction: *exists is 1 when the row
 * exists (tokens, last_ms hold it) else 0 (both zero). Update the values
 * and return 0 to write them back (set *exists to 0 to delete the row), or
 * a negative INTEG_E* code to leave the row unchanged; that code is
 * store_bucket_update's result. Must be quick and must not use the
 * store. */
typedef int (*store_bucket_fn)(double *tokens, int64_t *last_ms, int *exists,
                               void *arg);

/* Read bucket key, let fn update it and write it back, atomically with
 * respect to every other process using the store. */
int store_bucket_update(struct store *s, const char *key, store_bucket_fn fn,
                        void *arg, struct integ_error *err);

/* ---- OAuth2 tokens: per (account, provider) ----
 * The store keeps what tokens.c seals; it never sees a token in clear.
 * provider is the token URL and the client id (one grant, one row). */

struct store_token {
  char *key_id; /* id of the key that sealed it ("" for none) */
  void *sealed; /* nonce, ciphertext and tag; NULL: no token yet */
  size_t sealed_len;
  char *scopes;       /* space-separated, or NULL */
  int64_t expires_ms; /* 0: unknown */
  int64_t refreshed_ms;
  int needs_login;   /* the grant is lost: an operator must log in */
  char *lease_owner; /* who is refreshing it, or NULL */
  int64_t lease_until_ms;
};

/* Free the strings of t and zero it. */
void store_token_clear(struct store_token *t);

/* Read a row into *out (free with store_token_clear); INTEG_ENOTFOUND
 * when there is none. */
int store_token_get(struct store *s, const char *account, const char *provider,
                    struct store_token *out, struct integ_error *err);

/* Write the row's token and metadata (not its lease). With owner NULL the
 * row is created or replaced; with owner, only while owner holds the
 * lease, which the same transaction releases (INTEG_ESTATE when the lease
 * was lost meanwhile). */
int store_token_put(struct store *s, const char *account, const char *provider,
                    const struct store_token *t, const char *owner,
                    struct integ_error *err);

/* Claim the row's refresh lease for owner until until_ms, when it is free,
 * expired (lease_until_ms <= now_ms) or already owner's: *got 1, else 0.
 * Creates an empty row when there is none. */
int store_token_lease(struct store *s, const char *account,
                      const char *provider, const char *owner, int64_t now_ms,
                      int64_t until_ms, int *got, struct integ_error *err);

/* Release owner's lease; with needs_login set, mark the row as needing a
 * login whoever holds the lease. */
int store_token_release(struct store *s, const char *account,
                        const char *provider, const char *owner,
                        int needs_login, struct integ_error *err);

/* Remove the row, or with provider NULL every row of the account;
 * *removed (may be NULL) gets how many. */
int store_token_delete(struct store *s, const char *account,
                       const char *provider, int *removed,
                       struct integ_error *err);

/* The rows' metadata (never the sealed token), of one account or all:
 * *out a new array of {"account", "provider", "key_id", "scopes",
 * "expires_ms", "refreshed_ms", "needs_login", "has_token"}. */
int store_token_list(struct store *s, const char *account, json_t **out,
                     struct integ_error *err);

#endif
