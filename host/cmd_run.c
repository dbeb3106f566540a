/* cmd_run.c - `integ run`: run connectors, or one plugin. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "configfile.h"
#include "connconf.h"
#include "error.h"
#include "loader.h"
#include "lock.h"
#include "log.h"
#include "manifest.h"
#include "plugin_check.h"
#include "run.h"
#include "stop.h"
#include "store.h"

static void run_usage(FILE *f)
{
  fprintf(f,
          "Usage: integ run [OPTIONS] [CONNECTOR...]\n"
          "       integ run --plugin NAME [--config-json FILE] [OPTIONS]\n"
          "Run the named connectors of the manifest, or every enabled one.\n"
          "Each resumes from its stored state and writes its messages to "
          "the\nmanifest's output.to in output.format (default: Singer on "
          "standard\noutput), committing states as the records before "
          "them become durable.\nWith --plugin, run one plugin without a "
          "manifest: bare JSON records\non standard output unless --format "
          "or --output say otherwise;\nnothing is stored.\n\n"
          "  -p, --plugin NAME       run plugin NAME (found on the plugin "
          "path)\n"
          "      --config-json FILE  the plugin's config as JSON (default "
          "{})\n"
          "  -f, --format FORMAT     singer, airbyte or jsonl (bare "
          "records)\n"
          "  -o, --output TO         stdout, file:PATH or command:CMD (a "
          "Singer target\n"
          "                          or Airbyte destination)\n"
          "      --record FILE       write every HTTP exchange to a "
          "cassette (one\n"
          "                          connector)\n"
          "      --replay FILE       answer HTTP requests from a cassette, "
          "with no\n"
          "                          network (one connector)\n"
          "      --fire-time MS      the schedule's fire time (ms since the "
          "epoch) this\n"
          "                          run is for, kept in the run history "
          "(the daemon\n"
          "                          passes it)\n"
          "  -h, --help              show this help\n\n"
          "Environment: INTEG_PLUGIN_PATH (directories searched first), "
          "INTEG_NOW\n(fixes the clock; a testing aid).\n"
          "A connector's run takes its lock in daemon.lock_dir: a second "
          "run of it\nis refused, naming the pid that runs it. SIGTERM or "
          "SIGINT stop a run\nat the next consistent point: the last "
          "durable state is committed and\nthe run is recorded as "
          "interrupted.\n"
          "Exit status: 0 ok, 1 a run failed, 2 usage or configuration "
          "error,\n3 interrupted by SIGTERM or SIGINT.\n");
}

/* Run one connector with run_connector; its exit status: 2 when a
 * setting is wrong (nothing ran), 1 when the run failed (said here). */
static int run_one(const struct plugin *pl, const struct run_connector_args *c,
                   const struct run_settings *s)
{
  struct integ_error err = {0, ""};
  struct run_result res;
  int rc = run_connector(pl, c, s, &res, &err);

  if (rc)
    log_error("%s", err.message);
  run_result_free(&res);
  if (rc && res.started && (rc == INTEG_EINTR || stop_requested()))
    return EXIT_INTERRUPTED;
  return !rc ? EXIT_OK : res.started ? EXIT_RUN : EXIT_USAGE;
}

static int run_one_plugin(const char *name, const char *config_file,
                          const struct run_settings *s)
{
  struct integ_error err = {0, ""};
  struct loader_path path = {NULL, 0};
  struct plugin *pl = NULL;
  json_t *config = NULL;
  int status = EXIT_USAGE;

  /* The config is checked against the plugin's spec, as tap and source
   * do, every violation printed with its position. */
  if (loader_path_init(&path, NULL, 0, &err) ||
      loader_open(&path, name, &pl, &err) ||
      (config_file
           ? configfile_load(config_file, pl->vt->spec, name, 1, &config, &err)
           : !(config = json_object()))) {
    log_error("%s", err.message[0] ? err.message : "out of memory");
    goto out;
  }
  {
    struct run_connector_args c = {.name = name,
                                   .account = "default",
                                   .config = config,
                                   .progress = 1,
                                   .base = config_file};

    status = run_one(pl, &c, s);
  }
out:
  loader_close(pl);
  loader_path_free(&path);
  json_decref(config);
  return status;
}

/* Run the named connectors of the manifest, or every enabled one. */
static int run_connectors(char **names, int n, const struct run_settings *a,
                          int64_t fire_ms)
{
  const char *file = cli_globals()->manifest;
  struct yaml_errors errs = {0};
  struct integ_error err = {0, ""};
  struct loader_path lp = {NULL, 0};
  struct manifest *m = NULL;
  struct store *store = NULL;
  struct run_settings ma = *a;
  struct connconf_daemon dc;
  pid_t holder = 0;
  int status = EXIT_USAGE, ran = 0, lock = -1;

  if ((a->record || a->replay) && n != 1)
    return cli_usage_error("run", "--record and --replay take exactly one "
                                  "connector");
  if (manifest_load(file, &m, &errs))
    goto out;
  if (loader_path_init(&lp, m->plugin_path, m->n_plugin_path, &err)) {
    log_error("%s", err.message);
    goto out;
  }
  for (int i = 0; i < n; i++)
    if (!manifest_connector(m, names[i])) {
      log_error("%s: no connector '%s' (run `integ validate -v` to see "
                "the connectors)",
                m->path, names[i]);
      goto out;
    }
  status = EXIT_OK;
  for (size_t k = 0; k < m->n_connectors; k++) {
    const struct manifest_connector *c = &m->connectors[k];
    struct plugin *pl = NULL;
    int wanted = n == 0 ? c->enabled : 0, rc;

    for (int i = 0; i < n && !wanted; i++)
      wanted = strcmp(names[i], c->name) == 0;
    if (!wanted)
      continue;
    if (plugin_check_connector(m, c, &lp, &pl, &errs)) {
      status = EXIT_USAGE;
      break;
    }
    if (!store && store_open(m->store, &store, &err)) {
      log_error("%s", err.message);
      loader_close(pl);
      status = EXIT_RUN;
      break;
    }
    ma = *a;
    if (connconf_settings(&ma, m, c, &err)) {
      log_error("%s", err.message);
      loader_close(pl);
      status = EXIT_USAGE;
      break;
    }
    connconf_daemon(m, &dc);
    if (lock_take(dc.lock_dir, c->name, &lock, &holder, &err)) {
      if (holder) {
        loader_close(pl);
        /* Another run of it is under way: this is not a failure of it. */
        log_error("%s", err.message);
        status = EXIT_RUN;
        break;
      }
      /* No usable lock directory (integ run as a user, without the
       * daemon's directory): run unlocked, as before locks existed. */
      log_debug("%s; running without a lock", err.message);
    }
    {
      char where[512];
      struct run_connector_args ca =
          run_args_of(m, c, store, where, sizeof(where));

      ca.progress = 1;
      ca.fire_ms = fire_ms;
      rc = run_one(pl, &ca, &ma);
    }
    lock_release(lock);
    lock = -1;
    loader_close(pl);
    if (rc == EXIT_INTERRUPTED) {
      status = rc;
      break;
    }
    ran++;
    if (rc > status && status != EXIT_INTERRUPTED)
      status = rc;
  }
  if (status == EXIT_OK && ran == 0)
    log_warn("%s: no enabled connectors to run", m->path);
out:
  if (yaml_errors_count(&errs))
    yaml_errors_print(&errs, stderr);
  yaml_errors_free(&errs);
  loader_path_free(&lp);
  store_close(store);
  manifest_free(m);
  return status;
}

int cmd_run(int argc, char **argv)
{
  static const struct option opts[] = {
      {"plugin", required_argument, NULL, 'p'},
      {"config-json", required_argument, NULL, 'C'},
      {"record", required_argument, NULL, 'R'},
      {"format", required_argument, NULL, 'f'},
      {"output", required_argument, NULL, 'o'},
      {"replay", required_argument, NULL, 'P'},
      {"fire-time", required_argument, NULL, 'F'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const char *plugin = NULL, *config_file = NULL;
  struct run_settings a = {NULL, NULL, NULL, NULL, 0, 0};
  long long fire_ms = 0;
  int opt;

  while ((opt = getopt_long(argc, argv, "p:f:o:h", opts, NULL)) != -1) {
    switch (opt) {
    case 'p':
      plugin = optarg;
      break;
    case 'C':
      config_file = optarg;
      break;
    case 'R':
      a.record = optarg;
      break;
    case 'f':
      a.format = optarg;
      break;
    case 'o':
      a.to = optarg;
      break;
    case 'P':
      a.replay = optarg;
      break;
    case 'F': {
      char *end;

      errno = 0;
      fire_ms = strtoll(optarg, &end, 10);
      if (errno || *end || end == optarg || fire_ms < 0)
        return cli_usage_error("run", "--fire-time takes ms since the "
                                      "epoch");
      break;
    }
    case 'h':
      run_usage(stdout);
      return EXIT_OK;
    default:
      return cli_usage_error("run", "bad option");
    }
  }
  if (stop_install())
    return cli_usage_error("run", "cannot install the signal handlers");
  log_style_from_env();
  if (plugin) {
    if (optind < argc)
      return cli_usage_error("run", "--plugin runs one plugin; do not name "
                                    "connectors too");
    return run_one_plugin(plugin, config_file, &a);
  }
  if (config_file)
    return cli_usage_error("run", "--config-json goes with --plugin");
  return run_connectors(argv + optind, argc - optind, &a, (int64_t)fire_ms);
}
