/* cmd_run.c - `integ run`: run connectors, or one plugin. */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "error.h"
#include "loader.h"
#include "log.h"
#include "run.h"

static void run_usage(FILE *f)
{
  fprintf(f, "Usage: integ run [CONNECTOR...]\n"
             "       integ run --plugin NAME [--config-json FILE]\n"
             "Run connectors from the manifest, or one plugin without a "
             "manifest,\nand write their records as JSON lines on standard "
             "output.\n\n"
             "  -p, --plugin NAME       run plugin NAME (found on the plugin "
             "path)\n"
             "      --config-json FILE  the plugin's config as JSON (default "
             "{})\n"
             "  -h, --help              show this help\n\n"
             "Environment: INTEG_PLUGIN_PATH (directories searched first), "
             "INTEG_NOW\n(fixes the clock; a testing aid).\n");
}

/* Read a JSON object from `file`; errors carry file:line:column. */
static json_t *read_json_object(const char *file, struct integ_error *err)
{
  json_error_t jerr;
  json_t *v = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);

  if (!v) {
    if (jerr.line < 0)
      error_set(err, INTEG_ECONFIG, "%s: %s", file, jerr.text);
    else
      error_set(err, INTEG_ECONFIG, "%s:%d:%d: %s", file, jerr.line,
                jerr.column, jerr.text);
    return NULL;
  }
  if (!json_is_object(v)) {
    error_set(err, INTEG_ECONFIG, "%s: the config must be a JSON object",
              file);
    json_decref(v);
    return NULL;
  }
  return v;
}

static int run_one_plugin(const char *name, const char *config_file)
{
  struct integ_error err = {0, ""};
  struct loader_path path = {NULL, 0};
  struct plugin *pl = NULL;
  struct run_stats stats = {0, 0, NULL};
  struct clock clk;
  struct run_opts o;
  json_t *config = NULL;
  int status = EXIT_USAGE;

  if (clock_init(&clk, &err))
    goto out;
  config = config_file ? read_json_object(config_file, &err) : json_object();
  if (!config)
    goto out;
  if (loader_path_init(&path, NULL, 0, &err) ||
      loader_open(&path, name, &pl, &err))
    goto out;
  o.tag = name;
  o.out = stdout;
  o.clock = &clk;
  status = EXIT_RUN;
  if (run_plugin(pl, config, NULL, &o, &stats, &err))
    goto out;
  log_info("%s: %llu records, %llu states", name,
           (unsigned long long)stats.records,
           (unsigned long long)stats.states);
  status = EXIT_OK;
out:
  if (status != EXIT_OK)
    log_error("%s", err.message);
  run_stats_free(&stats);
  loader_close(pl);
  loader_path_free(&path);
  json_decref(config);
  return status;
}

int cmd_run(int argc, char **argv)
{
  static const struct option opts[] = {
      {"plugin", required_argument, NULL, 'p'},
      {"config-json", required_argument, NULL, 'C'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const char *plugin = NULL, *config_file = NULL;
  int opt;

  while ((opt = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
    switch (opt) {
    case 'p':
      plugin = optarg;
      break;
    case 'C':
      config_file = optarg;
      break;
    case 'h':
      run_usage(stdout);
      return EXIT_OK;
    default:
      return cli_usage_error("run", "bad option");
    }
  }
  if (plugin) {
    if (optind < argc)
      return cli_usage_error("run", "--plugin runs one plugin; do not name "
                                    "connectors too");
    return run_one_plugin(plugin, config_file);
  }
  if (config_file)
    return cli_usage_error("run", "--config-json goes with --plugin");
  return cli_usage_error("run", "name a plugin with --plugin (running "
                                "connectors from a manifest needs the "
                                "manifest support)");
}
