/* output.h - where a run's messages go, and when its state is committed.
 *
 * The promise is at-least-once: a state is committed (handed to the
 * caller's commit function, which writes it to the store) only after every
 * record before it is durably written:
 *  - stdout: written to the pipe or terminal;
 *  - file:PATH: written and fsynced;
 *  - command:CMD: accepted by the target that integ runs (`/bin/sh -c
 *    CMD`), which says so by echoing the state back on its stdout, as
 *    Singer targets and Airbyte destinations do.
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

/* A consistent point: state (borrowed) covers every record so far. May
 * checkpoint (flush, make durable, commit). */
int output_state(struct output *o, json_t *state, struct integ_error *err);

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
 * (HHMMSS) in a file template. New string, or NULL with err set for an
 * unknown placeholder. */
char *output_expand_template(const char *tmpl, const char *connector,
                             const char *account, int64_t now_ms,
                             struct integ_error *err);

#endif
