/* cmd_tap.h - what `integ tap` (cmd_tap.c, a Singer tap) and `integ
 * source` (cmd_source.c, an Airbyte source) share: any plugin, run as the
 * one executable per connector that Meltano and Airbyte expect. No store
 * and no manifest: the config, the catalog and the state come in files,
 * and states go out as messages. */
#ifndef INTEG_HOST_CMD_TAP_H
#define INTEG_HOST_CMD_TAP_H

#include <jansson.h>

#include "buf.h"
#include "clock.h"
#include "emit.h"
#include "http.h"
#include "loader.h"
#include "output.h"
#include "run.h"

/* The command line of either command (strings borrowed from argv). */
struct tap_args {
  const char *plugin;
  const char *verb;    /* source: spec, check, discover, read */
  const char *config;  /* --config FILE */
  const char *state;   /* --state FILE */
  const char *catalog; /* --catalog / --properties FILE */
  const char *format;  /* --about --format */
  int discover, about;
};

/* What a run needs besides the plugin: clock, HTTP settings, output. */
struct tap_run {
  struct clock clk;
  struct http_config http;
  struct output_config oc;
  struct run_opts o;
};

/* Fill *r for plugin TAG writing FORMAT to standard output. Returns 0 or
 * clock_init()'s error. */
int tap_run_init(struct tap_run *r, const char *tag, enum emit_format format,
                 struct integ_error *err);

/* Find and open plugin NAME on the plugin path: *lp and *pl are the
 * caller's to free (loader_path_free, loader_close), also on failure. */
int tap_open_plugin(const char *name, struct loader_path *lp,
                    struct plugin **pl, struct integ_error *err);

/* The spec of what tap_open_plugin opened: a shipped definition's (its
 * config keys), else the plugin's (may be NULL). Borrowed. */
const char *tap_spec(const struct plugin *pl);

/* Write b to standard output and empty it. 0 or INTEG_EIO. */
int tap_put(struct buf *b, struct integ_error *err);

/* The config: FILE checked against the plugin's spec (PRINT: report every
 * error on standard error), else {} (still checked: a required key is
 * reported as missing). *config is new. */
int tap_load_config(const struct plugin *pl, const char *file, int print,
                    json_t **config, struct integ_error *err);

/* The exit status for a step that failed with CODE: EXIT_USAGE (2) for
 * the user's files or plugin name (INTEG_ECONFIG, INTEG_ESTATE,
 * INTEG_ENOTFOUND, INTEG_EABI), else EXIT_RUN (1). */
int tap_exit_status(int code);

/* Parse the options of command CMD ("tap" or "source") into *a; *help is
 * set for --help. Returns EXIT_OK or cli_usage_error()'s status. */
int tap_parse_args(const char *cmd, int argc, char **argv, struct tap_args *a,
                   int *help);

#endif
