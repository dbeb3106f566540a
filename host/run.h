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

struct yaml_locs;
struct auth_env;

struct run_opts {
  const char *tag;                    /* connector or plugin name for logs */
  const struct clock *clock;          /* borrowed */
  const struct http_config *http;     /* borrowed; NULL: defaults */
  const struct output_config *output; /* borrowed: format, sink, commit */
  int progress; /* show a progress line on stderr when it is a TTY */
  /* Where the config came from, for the plugin's position() and
   * doc_load(): the positions of its values (borrowed, may be NULL)
   * under the key path config_path, and the file that named it (base:
   * definitions and secret files are relative to it; may be NULL). */
  const struct yaml_locs *locs;
  const char *config_path;
  const char *base;
  /* For a plugin that declares its own auth (auth_declare): the
   * connector's auth mapping that fills or overrides it, and where its
   * tokens live. Borrowed; NULL: none, and tokens in memory. */
  json_t *auth;
  const struct auth_env *auth_env;
  /* Webhooks: when set, called instead of the plugin's run() with the
   * loaded instance and the open output (queue.h's events go to
   * on_event). Returns 0 or a negative code with err set. */
  int (*events)(void *arg, const struct integ_plugin *vt, void *instance,
                struct output *out, struct integ_error *err);
  void *events_arg;
};

struct run_stats {
  uint64_t records;       /* records written */
  uint64_t states;        /* states emitted */
  json_t *state;          /* new reference: the last state emitted, or NULL */
  json_t *streams;        /* new reference: {stream: records}, or NULL */
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

/* Load `pl` with config (borrowed) and unload it: *auth is a new
 * reference to the auth mapping the plugin declared (auth_declare),
 * filled by o->auth, or NULL when it declares none. For `integ auth` on
 * a connector whose plugin (a declarative definition) declares its auth.
 * Returns 0 or the load's code with err. */
int run_declared_auth(const struct plugin *pl, json_t *config,
                      const struct run_opts *o, json_t **auth,
                      struct integ_error *err);

/* As run_discover, calling check(): 0 when the plugin says the config
 * works (or has no check), else its code with err saying why. */
int run_check(const struct plugin *pl, json_t *config,
              const struct run_opts *o, struct integ_error *err);

/* ---- Running a connector: what `integ run` and the daemon share ---- */

struct manifest;
struct store;

/* How to run, from the command line and the manifest. Strings borrowed. */
struct run_settings {
  const char *record;          /* cassette to record to, or NULL */
  const char *replay;          /* cassette to answer from, or NULL */
  const char *format;          /* output format name; NULL: jsonl */
  const char *to;              /* output sink; NULL: standard output */
  uint64_t checkpoint_records; /* 0: output.c's default */
  int64_t checkpoint_ms;       /* 0: output.c's default */
};

/* Fill what s leaves unset from the manifest's output: format, to,
 * checkpoint_records and checkpoint_interval. Returns 0, or
 * INTEG_ECONFIG naming the key (output.checkpoint_interval). */
int run_settings_from_manifest(struct run_settings *s,
                               const struct manifest *m,
                               struct integ_error *err);

/* The connector's retry, rate_limit and http keys (node, borrowed, may be
 * NULL) over h's values (http_config_init's defaults). Returns 0, or
 * INTEG_ECONFIG naming the key (retry.base, http.timeout, ...), or
 * INTEG_ENOMEM. Strings in h are borrowed from node. */
int run_http_config(struct http_config *h, json_t *node,
                    struct integ_error *err);

/* Store a state the output says is durable: a state whose members are
 * all objects is taken as keyed by stream (the convention emit.h
 * describes) and stored one row a stream; any other shape whole, under
 * the stream "". Returns 0 or store_state_put's code. */
int run_state_commit(struct store *s, const char *account,
                     const char *connector, json_t *state,
                     struct integ_error *err);

/* The state to resume from, as run_state_commit stored it: *state is a
 * new reference, or NULL when nothing is stored. */
int run_state_load(struct store *s, const char *account, const char *connector,
                   json_t **state, struct integ_error *err);

/* One connector to run. Borrowed. */
struct run_connector_args {
  const char *name;      /* connector (or plugin) name: logs, store key */
  const char *account;   /* tenant: state and history are per account */
  json_t *config;        /* the plugin's config, checked against its spec */
  json_t *node;          /* the manifest's connector (retry, rate_limit,
                            http), or NULL */
  struct store *store;   /* NULL: no resume, no commits, no history */
  int progress;          /* a progress line on stderr when it is a TTY */
  const char *token_key; /* the token key file (auth.h); NULL: default */
  /* Without a store: tokens and the rotated-token callback (auth.h's
   * auth_env); NULL for none. */
  json_t *tokens;
  int (*save_token)(void *arg, const json_t *token, struct integ_error *err);
  void *save_arg;
  /* As run_opts: the config's positions, its key path, its file. */
  const struct yaml_locs *locs;
  const char *config_path;
  const char *base;
  int64_t fire_ms; /* the schedule's fire time this run is for (ms),
                      0 for a manual run: kept in the run history */
  /* Webhooks: as run_opts' events and events_arg; NULL: run(). */
  int (*events)(void *arg, const struct integ_plugin *vt, void *instance,
                struct output *out, struct integ_error *err);
  void *events_arg;
};

struct manifest;
struct manifest_connector;

/* The args that run manifest m's connector c with store: name, account,
 * config and its positions, token key, base file. where (size bytes)
 * takes the config's key path and must outlive the args. */
struct run_connector_args run_args_of(const struct manifest *m,
                                      const struct manifest_connector *c,
                                      struct store *store, char *where,
                                      size_t size);

struct run_result {
  int started; /* settings were valid: the run itself began */
  struct run_stats stats;
  uint64_t commits;         /* states committed to the store */
  uint64_t token_refreshes; /* tokens this run refreshed (another
                               process's refresh it only read is not
                               counted) */
};

/* Run connector c on the opened plugin pl: settings into HTTP and output
 * configs; with a store, resume from the committed state, commit states
 * as they become durable and log the run in the run history; a summary
 * line at info level. Fills *res (free with run_result_free). Returns 0,
 * or a negative code with err saying what failed; res->started tells a
 * setting that is wrong (nothing ran) from a run that failed. */
int run_connector(const struct plugin *pl, const struct run_connector_args *c,
                  const struct run_settings *s, struct run_result *res,
                  struct integ_error *err);

void run_result_free(struct run_result *res);

#endif
