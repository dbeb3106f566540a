/* cmd_tap.h - what `integ tap` (cmd_tap.c) and `integ source`
 * (cmd_source.c) share: their options, the run they set up, and writing
 * to standard output. No store and no manifest: the config, the catalog
 * and the state come in files, and states go out as messages. */
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

int tap_run_init(struct tap_run *r, const char *tag,
                        enum emit_format format, struct integ_error *err);
int open_plugin(const char *name, struct loader_path *lp,
                       struct plugin **pl, struct integ_error *err);
int put(struct buf *b, struct integ_error *err);
int load_config(const struct plugin *pl, const char *file, int print,
                       json_t **config, struct integ_error *err);
int parse_args(const char *cmd, int argc, char **argv,
                      struct tap_args *a, int *help);

#endif
