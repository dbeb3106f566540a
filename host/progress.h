/* progress.h - a one-line progress display for interactive runs.
 *
 * On a terminal, `integ run` shows on stderr what it is doing:
 *   shop: users 12345 records, 40 pages, 98765 records/s, 0:12
 * redrawn in place (\r) at most every interval_ms (250: 4 times a second),
 * and never when stderr is not a TTY, so logs and pipes stay clean. A NULL
 * progress is valid and silent: callers need not test for it.
 */
#ifndef INTEG_HOST_PROGRESS_H
#define INTEG_HOST_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Milliseconds on a monotonic clock; injected by tests. */
typedef int64_t (*progress_clock_fn)(void *arg);

struct progress_opts {
  FILE *out;             /* borrowed; NULL: stderr */
  int force;             /* draw even when out is not a TTY (tests) */
  progress_clock_fn now; /* NULL: CLOCK_MONOTONIC_COARSE */
  void *now_arg;
  int64_t interval_ms; /* 0: 250 */
  size_t width;        /* longest line drawn, in bytes; 0: 79 */
};

struct progress;

/* A display for run `tag` (copied) on stderr, or NULL when stderr is not a
 * TTY (or memory is short). Free with progress_done. */
struct progress *progress_new(const char *tag);

/* The same with options (o may be NULL: the defaults above). NULL when
 * o->out is not a TTY and o->force is 0. */
struct progress *progress_new_with(const char *tag,
                                   const struct progress_opts *o);

/* One record written for `stream` (borrowed; copied when it changes).
 * Cheap: a counter, a clock read, and a redraw when one is due. */
void progress_record(struct progress *p, const char *stream);

/* One page fetched. */
void progress_page(struct progress *p);

/* Format the line as of now_ms into buf (NUL-terminated, cut to
 * min(size - 1, width) bytes). Returns its length. For tests and
 * progress_done. */
size_t progress_format(const struct progress *p, int64_t now_ms, char *buf,
                       size_t size);

/* Draw the final line and end it with a newline if anything was drawn,
 * then free p. NULL is fine. */
void progress_done(struct progress *p);

#endif
