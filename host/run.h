/* run.h - run one plugin instance: load, run, unload.
 *
 * The host's vtable (struct integ_host) is implemented here: records go to
 * the output as they come, states are kept until the run ends.
 */
#ifndef INTEG_HOST_RUN_H
#define INTEG_HOST_RUN_H

#include <stdint.h>
#include <stdio.h>

#include <integ/plugin.h>

#include "clock.h"
#include "http.h"
#include "loader.h"
#include "output.h"

struct run_opts {
  const char *tag;                    /* connector or plugin name for logs */
  const struct clock *clock;          /* borrowed */
  const struct http_config *http;     /* borrowed; NULL: defaults */
  const struct output_config *output; /* borrowed: format, sink, commit */
  int progress; /* show a progress line on stderr when it is a TTY */
};

struct run_stats {
  uint64_t records;       /* records written */
  uint64_t states;        /* states emitted */
  json_t *state;          /* new reference: the last state emitted, or NULL */
  struct http_stats http; /* requests, retries, connections */
};

/* Load `pl` with config (borrowed, a JSON object) and state (borrowed, may
 * be NULL), open the output with the plugin's streams, run it, close the
 * output (a final checkpoint when the run succeeded), unload it. Fills *stats
 * (free with run_stats_free). Returns 0, or a negative code with err naming
 * the plugin and what failed. */
int run_plugin(const struct plugin *pl, json_t *config, json_t *state,
               const struct run_opts *o, struct run_stats *stats,
               struct integ_error *err);

void run_stats_free(struct run_stats *stats);

/* Load `pl` with config (borrowed) and no state, call its discover():
 * *streams is a new reference to its array (an empty one for a plugin
 * without discover) and unload it. o->output is not used. Returns 0 or a
 * negative code with err naming the plugin and what failed. */
int run_discover(const struct plugin *pl, json_t *config,
                 const struct run_opts *o, json_t **streams,
                 struct integ_error *err);

/* As run_discover, calling check(): 0 when the plugin says the config
 * works (or has no check), else its code with err saying why. */
int run_check(const struct plugin *pl, json_t *config,
              const struct run_opts *o, struct integ_error *err);

struct run_args {
  const char *record;          /* --record FILE */
  const char *replay;          /* --replay FILE */
  const char *format;          /* --format, else the manifest's, else jsonl */
  const char *to;              /* --output, else the manifest's, else stdout */
  uint64_t checkpoint_records; /* the manifest's; 0: output.c's default */
  int64_t checkpoint_ms;       /* the manifest's; 0: output.c's default */
};

/* Read a duration key of `obj` (a manifest string such as "30s", or a
 * number of ms) into *ms; absent keys leave *ms alone. */
int get_duration(json_t *obj, const char *key, const char *where, int64_t *ms,
                 struct integ_error *err);

struct store;

/* Run one opened plugin; returns the exit status and logs failures.
 * With a store, the run resumes from the connector's committed state,
 * commits states as they become durable, and is logged in run history. */
int run_with(const struct plugin *pl, const char *tag, const char *account,
             json_t *config, json_t *node, struct store *store,
             const struct run_args *a);

#endif
