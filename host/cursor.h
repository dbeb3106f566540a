/* cursor.h - the cursor-boundary helper: where an incremental stream
 * stands, for APIs whose filter is inclusive (updated_at >= cursor).
 *
 * Per stream it keeps the cursor value (the newest seen) and the primary
 * keys of the records seen at exactly that value. A record at the value
 * the run resumed from whose key was seen then is a repeat and is
 * filtered; so records that share the boundary value are neither lost
 * after a restart (the filter is >=, they come again) nor repeated
 * endlessly (those already written are known by key). A value older than
 * the cursor is written but never moves the state back.
 *
 * The state is {"cursor": VALUE, "keys": [[K...], ...]}, VALUE as the API
 * wrote it (so it can go back into a request as it is).
 */
#ifndef INTEG_HOST_CURSOR_H
#define INTEG_HOST_CURSOR_H

#include <stdint.h>

#include <jansson.h>

#include <integ/plugin.h>

struct cursor;

struct cursor_opts {
  const char *stream;  /* for messages */
  const char *path;    /* JSONPath of the cursor value in a record */
  const char *format;  /* "rfc3339" (NULL), "epoch_s", "epoch_ms",
                          "number", or a strptime format ("%Y-%m-%d") */
  json_t *primary_key; /* borrowed array of JSONPaths; may be NULL (then
                          nothing at the boundary is filtered) */
};

/* A cursor starting from state (borrowed, the shape above; NULL: none).
 * Returns 0, INTEG_EINVAL (a JSONPath that does not compile, a bad
 * format, a state of another shape: err says which) or INTEG_ENOMEM. */
int cursor_new(const struct cursor_opts *o, json_t *state, struct cursor **out,
               struct integ_error *err);

/* Look at one record (borrowed) in the order the API gives them. *keep
 * is 0 for a record already written at the boundary the run resumed
 * from. A cursor value that is missing or does not parse is
 * INTEG_EINVAL naming the stream, the JSONPath and the value; one older
 * than the cursor is noted (cursor_backwards) and the state stays. */
int cursor_observe(struct cursor *c, json_t *record, int *keep,
                   struct integ_error *err);

/* A page observed as its bytes (the scanner's fast path, jscan.h):
 * cursor_page_observe is cursor_observe for a record whose cursor value
 * is spans[0] of page and whose keys are spans[1..npk] (len 0: absent),
 * the paths of cursor_members. What it learns is kept aside until
 * cursor_page_commit, called while page is still there, makes it the
 * cursor's; cursor_page_begin forgets it (a page that was not written
 * does not move the cursor); a failed commit changes nothing. One page
 * at a time. An integer beyond int64 as a cursor value, or as a key the
 * cursor keeps, is INTEG_EINVAL naming its byte (the keys of records
 * that went backwards are not kept, nor read). */
void cursor_page_begin(struct cursor *c);
struct jscan_span;
int cursor_page_observe(struct cursor *c, const char *page,
                        const struct jscan_span *spans, int *keep,
                        struct integ_error *err);
int cursor_page_commit(struct cursor *c, const char *page,
                       struct integ_error *err);

/* Where the cursor stands, kept aside (deep copies) so that a page that
 * fails after some of its records were observed with cursor_observe can
 * put the cursor back: cursor_snapshot (0 or INTEG_ENOMEM), then either
 * cursor_rollback (which takes the snapshot's contents) or
 * cursor_snap_free. */
struct cursor_snap {
  json_t *value, *keys;
  int64_t value_n;
  uint64_t backwards;
};
int cursor_snapshot(const struct cursor *c, struct cursor_snap *snap);
void cursor_rollback(struct cursor *c, struct cursor_snap *snap);
void cursor_snap_free(struct cursor_snap *snap);

/* When the cursor's path and every key's are a plain "$.name": 1, with
 * *name and pk[0..*npk) the member names (borrowed, valid while c is),
 * so that a caller may hand cursor_observe a record of just those
 * members. Otherwise 0. */
int cursor_members(const struct cursor *c, const char **name,
                   const char *const **pk, size_t *npk);

/* The state to emit now: a new object, or NULL when no value was ever
 * seen (or out of memory: *nomem set). */
json_t *cursor_state(const struct cursor *c, int *nomem);

/* The value the run resumed from (borrowed; NULL: from the start): what
 * goes into the request's filter. */
json_t *cursor_start(const struct cursor *c);

/* The value now (borrowed; NULL when none). */
json_t *cursor_value(const struct cursor *c);

/* How many records came with a value older than the cursor. */
uint64_t cursor_backwards(const struct cursor *c);

/* Parse a cursor value of `format` (as cursor_opts) into a number that
 * orders as the values do: microseconds for times. Returns 0 or
 * INTEG_EINVAL with err saying why (the 1-based character for a time). */
int cursor_parse(const char *format, json_t *v, int64_t *out,
                 struct integ_error *err);

/* Check a strptime format: 0, or INTEG_EINVAL naming the 1-based
 * character of a bad conversion. */
int cursor_check_format(const char *format, struct integ_error *err);

void cursor_free(struct cursor *c);

#endif
