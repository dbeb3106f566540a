/* output.h - where a run's messages go, and when its state is committed.
 *
 * The promise is at-least-once: a state is committed (handed to the
 * caller's commit function, which writes it to the store) only after every
 * record before it is durably written:
 *  - stdout: written to the pipe or terminal;
 *  - file:PATH: written and fsynced;
 *  - command:CMD: accepted by the target that integ runs (`/bin/sh -c
 *    CMD`), which says so by echoing the state back on its stdout, as
 *    Singer targets and Airbyte destinations do. An echo acknowledges a
 *    state when its payload matches by value (output_echo_acknowledges):
 *    a destination may re-serialise numbers or add members of its own.
 * A target runs in a process group of its own, started with posix_spawn.
 * Its stdout and stderr are read whenever writing to it would block, so a
 * target that prints as much as it reads never deadlocks with integ: its
 * stdout lines that are not echoes go to the debug log (truncated, and
 * only the first OUTPUT_LOG_LINES), its stderr lines to the warn log, and
 * its last stderr lines are quoted when it fails. At the end, a target that
 * does not exit is sent SIGTERM, and SIGKILL term_wait_ms later.
 * Messages collect in one large buffer that is written out when it is full
 * and at each checkpoint, never per record. A checkpoint happens at a
 * plugin's emit_state when checkpoint_records records or checkpoint_ms
 * have passed since the last one, and at the end of the run.
 */
#ifndef INTEG_HOST_OUTPUT_H
#define INTEG_HOST_OUTPUT_H

#include <stdint.h>

#include <jansson.h>

#include <integ/plugin.h>

#include "clock.h"
#include "emit.h"

/* Commit a state (borrowed) once the records before it are durable.
 * Returns 0 or a negative code with err set. */
typedef int (*output_commit_fn)(void *arg, json_t *state,
                                struct integ_error *err);

/* Called before the first record of each stream is written, with the
 * output's buffer, so the caller can put a message of its own in order
 * there (Airbyte's STREAM_STATUS RUNNING). Returns 0 or a negative code
 * with err set. */
typedef int (*output_stream_start_fn)(void *arg, const char *stream,
                                      struct buf *out,
                                      struct integ_error *err);

struct catalog;

struct output_config {
  enum emit_format format;
  const char *to;        /* "stdout", "file:TEMPLATE" or "command:CMD" */
  const char *connector; /* for {connector} in file templates, and logs */
  const char *account;   /* for {account} */
  uint64_t checkpoint_records; /* 0: default 10000 */
  int64_t checkpoint_ms;       /* 0: default 5000 */
  int64_t echo_timeout_ms;     /* command: wait at the end; 0: 300000 */
  int64_t term_wait_ms;        /* command: SIGTERM to SIGKILL; 0: 5000 */
  const struct clock *clock;   /* borrowed */
  output_commit_fn commit;     /* NULL: states are not committed */
  void *commit_arg;
  int out_fd; /* the fd "stdout" means (normally 1; tests redirect) */
  /* NULL: every stream, every field. Else (borrowed) only the catalog's
   * selected streams are written, without their deselected fields, and
   * output_open checks it against the plugin's streams (catalog.h). */
  const struct catalog *catalog;
  output_stream_start_fn stream_start; /* NULL: none */
  void *stream_start_arg;
};

struct output;

/* Open the sink (create the file, start the target). `streams` (borrowed,
 * may be NULL) is the plugin's discover() output, for Singer SCHEMAs.
 * Errors name the file or command. */
int output_open(const struct output_config *cfg, json_t *streams,
                struct output **out, struct integ_error *err);

/* Write one record (borrowed); nothing for a stream the catalog did not
 * select. */
int output_record(struct output *o, const char *stream, json_t *record,
                  struct integ_error *err);

/* Write one page's records straight from its JSON bytes (body[0..len),
 * borrowed), as jscan_page selects them, each as output_record would
 * write it (Singer's SCHEMA or stream_start first, once the stream has a
 * record). res as jscan_page's (res->fields is the caller's on success);
 * the page is written whole or not at all. INTEG_ENOTSUP when the catalog
 * selects among the stream's records or fields (use output_record), and
 * jscan_page's errors. Flushes between pages only. */
struct jscan;
struct jscan_result;
int output_page(struct output *o, const char *stream, struct jscan *js,
                const char *body, size_t len, struct jscan_result *res,
                struct integ_error *err);
/* A consistent point: state (borrowed) covers every record so far. May
 * checkpoint (flush, make durable, commit). */
int output_state(struct output *o, json_t *state, struct integ_error *err);

/* The format o writes. */
enum emit_format output_format(const struct output *o);

/* Does a catalog drop fields of stream's records (output_page applies it
 * to the records' top-level members)? */
int output_projects(const struct output *o, const char *stream);

/* Flush, make durable and commit the last state now. */
int output_checkpoint(struct output *o, struct integ_error *err);

/* End the run: with ok, a final checkpoint (and for a command, close its
 * input and wait for its echoes and its exit); without, stop without
 * committing anything more. Frees o. Returns the first error. */
int output_close(struct output *o, int ok, struct integ_error *err);

/* Counters for logs and tests. */
struct output_stats {
  uint64_t records;
  uint64_t bytes;
  uint64_t checkpoints;
  uint64_t commits;
};
void output_get_stats(const struct output *o, struct output_stats *s);

/* Expand {connector}, {account}, {date} (YYYY-MM-DD, UTC) and {time}
 * (HHMMSS) in a file template into *out (new string, the caller frees).
 * Returns 0, INTEG_ECONFIG for an unknown placeholder or INTEG_ENOMEM,
 * with err set and *out NULL. */
int output_expand_template(const char *tmpl, const char *connector,
                           const char *account, int64_t now_ms, char **out,
                           struct integ_error *err);

/* Does a line a target printed (echo, borrowed) acknowledge the STATE
 * message integ sent (sent, borrowed)? Singer: the echo is the state's
 * value, or a STATE message with that value. Airbyte: a STATE message
 * whose state has the same type and the same stream descriptor and
 * stream_state, global, or data. Numbers compare by value (147 equals
 * 147.0); members that the destination added beside the payload
 * (destinationStats, sourceStats) are ignored; inside it they are not. */
int output_echo_acknowledges(json_t *echo, json_t *sent);

/* JSON equality by value: as json_equal, but an integer and a real are
 * equal when they are the same number. */
int output_json_same(json_t *a, json_t *b);

/* At most this many stdout lines of a target are logged (at debug). */
#define OUTPUT_LOG_LINES 100

#endif
