/* cmd_run.c - `integ run`: run connectors, or one plugin. */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "configfile.h"
#include "error.h"
#include "duration.h"
#include "loader.h"
#include "log.h"
#include "manifest.h"
#include "run.h"
#include "store.h"

struct run_args {
  const char *record;          /* --record FILE */
  const char *replay;          /* --replay FILE */
  const char *format;          /* --format, else the manifest's, else jsonl */
  const char *to;              /* --output, else the manifest's, else stdout */
  uint64_t checkpoint_records; /* the manifest's; 0: output.c's default */
  int64_t checkpoint_ms;       /* the manifest's; 0: output.c's default */
};

/* Where a connector's states go: the store, per (account, connector,
 * stream). A state whose members are all objects is taken as keyed by
 * stream (the convention emit.h describes) and stored one row a stream;
 * any other shape is stored whole under the stream "". */
struct committer {
  struct store *store;
  const char *account;
  const char *connector;
  uint64_t commits;
};

static int commit_state(void *arg, json_t *state, struct integ_error *err)
{
  struct committer *c = arg;
  const char *k;
  json_t *v, *rows = state;
  int by_stream = json_object_size(state) > 0, rc;

  json_object_foreach(state, k, v) by_stream &= json_is_object(v) && *k;
  if (!by_stream && !(rows = json_pack("{s:O}", "", state)))
    return error_set(err, INTEG_ENOMEM, "out of memory");
  rc = store_state_put(c->store, c->account, c->connector, rows, err);
  if (rows != state)
    json_decref(rows);
  if (!rc)
    c->commits++;
  return rc;
}

/* The state to resume from (new reference, NULL when none). */
static int load_state(struct store *s, const char *account,
                      const char *connector, json_t **state,
                      struct integ_error *err)
{
  json_t *rows = NULL, *whole;
  int rc = store_state_get(s, account, connector, &rows, err);

  *state = NULL;
  if (rc)
    return rc;
  whole = json_object_get(rows, "");
  if (whole && json_object_size(rows) == 1)
    *state = json_incref(whole);
  else if (json_object_size(rows))
    *state = json_incref(rows);
  json_decref(rows);
  return 0;
}

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
          "  -h, --help              show this help\n\n"
          "Environment: INTEG_PLUGIN_PATH (directories searched first), "
          "INTEG_NOW\n(fixes the clock; a testing aid).\n"
          "Exit status: 0 ok, 1 a run failed, 2 usage or configuration "
          "error.\n");
}

/* Read a duration key of `obj` (a manifest string such as "30s", or a
 * number of ms) into *ms; absent keys leave *ms alone. */
static int get_duration(json_t *obj, const char *key, const char *where,
                        int64_t *ms, struct integ_error *err)
{
  json_t *v = json_object_get(obj, key);

  if (!v)
    return 0;
  if (json_is_integer(v)) {
    *ms = json_integer_value(v);
    return 0;
  }
  if (json_is_string(v) &&
      duration_parse(json_string_value(v), ms, NULL, err) == 0)
    return 0;
  return error_set(err, INTEG_ECONFIG,
                   "%s.%s: expected a duration such as 30s or 5m", where, key);
}

static void get_long(json_t *obj, const char *key, long *out)
{
  json_t *v = json_object_get(obj, key);

  if (json_is_integer(v))
    *out = (long)json_integer_value(v);
}

/* The connector's retry, rate_limit and http keys into an http_config. */
static int http_from_node(struct http_config *h, json_t *node,
                          struct integ_error *err)
{
  json_t *retry = json_object_get(node, "retry");
  json_t *rate = json_object_get(node, "rate_limit");
  json_t *http = json_object_get(node, "http");
  json_t *v;
  int64_t ms;
  long n;

  if (json_is_integer(json_object_get(retry, "max_attempts")))
    h->retry.max_attempts =
        (unsigned)json_integer_value(json_object_get(retry, "max_attempts"));
  if (get_duration(retry, "base", "retry", &h->retry.base_ms, err) ||
      get_duration(retry, "max", "retry", &h->retry.max_ms, err) ||
      get_duration(retry, "max_elapsed", "retry", &h->retry.max_elapsed_ms,
                   err))
    return INTEG_ECONFIG;
  if (json_is_number(v = json_object_get(rate, "per_second")))
    h->rate_per_second = json_number_value(v);
  if (json_is_number(v = json_object_get(rate, "burst")))
    h->rate_burst = json_number_value(v);
  ms = h->limits.connect_timeout_ms;
  if (get_duration(http, "connect_timeout", "http", &ms, err))
    return INTEG_ECONFIG;
  h->limits.connect_timeout_ms = (long)ms;
  ms = h->limits.timeout_ms;
  if (get_duration(http, "timeout", "http", &ms, err))
    return INTEG_ECONFIG;
  h->limits.timeout_ms = (long)ms;
  ms = h->limits.low_speed_time_s * 1000;
  if (get_duration(http, "low_speed_time", "http", &ms, err))
    return INTEG_ECONFIG;
  h->limits.low_speed_time_s = (long)(ms + 999) / 1000;
  get_long(http, "max_redirects", &h->limits.max_redirects);
  n = (long)h->limits.max_body;
  get_long(http, "max_body", &n);
  h->limits.max_body = (size_t)n;
  if (json_is_string(v = json_object_get(http, "ca_file")))
    h->limits.ca_file = json_string_value(v);
  n = (long)h->breaker_threshold;
  get_long(http, "breaker_threshold", &n);
  h->breaker_threshold = (unsigned)n;
  return get_duration(http, "breaker_cooldown", "http",
                      &h->breaker_cooldown_ms, err);
}

/* Rate-limit buckets shared through the store (ratelimit.h). */
static int bucket_in_store(void *store, const char *key, bucket_update_fn fn,
                           void *arg, struct integ_error *err)
{
  return store_bucket_update(store, key, fn, arg, err);
}

/* Run one opened plugin; returns the exit status and logs failures.
 * With a store, the run resumes from the connector's committed state,
 * commits states as they become durable, and is logged in run history. */
static int run_with(const struct plugin *pl, const char *tag,
                    const char *account, json_t *config, json_t *node,
                    struct store *store, const struct run_args *a)
{
  struct integ_error err = {0, ""};
  struct run_stats stats = {0};
  struct committer com = {store, account, tag, 0};
  struct output_config oc;
  struct clock clk;
  struct run_opts o;
  struct http_config http;
  json_t *state = NULL;
  int64_t run_id = 0;
  int status = EXIT_USAGE;

  http_config_init(&http);
  http.tag = tag;
  http.record_file = a->record;
  http.replay_file = a->replay;
  memset(&oc, 0, sizeof(oc));
  if (clock_init(&clk, &err) || http_from_node(&http, node, &err) ||
      emit_format_parse(a->format ? a->format : "jsonl", &oc.format, &err))
    goto out;
  oc.to = a->to;
  oc.checkpoint_records = a->checkpoint_records;
  oc.checkpoint_ms = a->checkpoint_ms;
  oc.connector = tag;
  oc.account = account;
  oc.clock = &clk;
  oc.out_fd = STDOUT_FILENO;
  http.share.update = store ? bucket_in_store : NULL;
  http.share.arg = store;
  if (store) {
    oc.commit = commit_state;
    oc.commit_arg = &com;
    status = EXIT_RUN;
    if (load_state(store, account, tag, &state, &err) ||
        store_run_begin(store, account, tag, clock_now_ms(NULL), &run_id,
                        &err))
      goto out;
  }
  o.tag = tag;
  o.clock = &clk;
  o.http = &http;
  o.output = &oc;
  o.progress = 1;
  status = EXIT_RUN;
  if (run_plugin(pl, config, state, &o, &stats, &err))
    goto out;
  log_info("%s: %llu records, %llu states (%llu committed), %llu HTTP "
           "requests (%llu retries, %llu connections)",
           tag, (unsigned long long)stats.records,
           (unsigned long long)stats.states, (unsigned long long)com.commits,
           (unsigned long long)stats.http.requests,
           (unsigned long long)stats.http.retries,
           (unsigned long long)stats.http.connects);
  status = EXIT_OK;
out:
  if (status != EXIT_OK)
    log_error("%s", err.message);
  if (run_id) {
    struct integ_error herr;

    if (store_run_end(store, run_id, clock_now_ms(NULL),
                      status == EXIT_OK ? "ok" : "failed", stats.records,
                      status == EXIT_OK ? NULL : err.message, &herr))
      log_warn("run history: %s", herr.message);
  }
  json_decref(state);
  run_stats_free(&stats);
  return status;
}

static int run_one_plugin(const char *name, const char *config_file,
                          const struct run_args *a)
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
  status = run_with(pl, name, "default", config, NULL, NULL, a);
out:
  loader_close(pl);
  loader_path_free(&path);
  json_decref(config);
  return status;
}

/* Run the named connectors of the manifest, or every enabled one. */
static int run_connectors(char **names, int n, const struct run_args *a)
{
  const char *file = cli_globals()->manifest;
  struct yaml_errors errs = {0};
  struct integ_error err = {0, ""};
  struct loader_path lp = {NULL, 0};
  struct manifest *m = NULL;
  struct store *store = NULL;
  struct run_args ma = *a;
  int status = EXIT_USAGE, ran = 0;

  if ((a->record || a->replay) && n != 1)
    return cli_usage_error("run", "--record and --replay take exactly one "
                                  "connector");
  if (manifest_load(file, &m, &errs))
    goto out;
  if (loader_path_init(&lp, m->plugin_path, m->n_plugin_path, &err)) {
    log_error("%s", err.message);
    goto out;
  }
  if (!ma.format)
    ma.format = m->output_format;
  if (!ma.to)
    ma.to = m->output_to;
  {
    json_t *mo = json_object_get(m->root, "output");
    json_t *v = json_object_get(mo, "checkpoint_records");

    if (json_is_integer(v) && json_integer_value(v) > 0)
      ma.checkpoint_records = (uint64_t)json_integer_value(v);
    if (get_duration(mo, "checkpoint_interval", "output", &ma.checkpoint_ms,
                     &err)) {
      log_error("%s", err.message);
      goto out;
    }
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
    if (manifest_check_connector(m, c, &lp, &pl, &errs)) {
      status = EXIT_USAGE;
      break;
    }
    if (!store && store_open(m->store, &store, &err)) {
      log_error("%s", err.message);
      loader_close(pl);
      status = EXIT_RUN;
      break;
    }
    rc = run_with(pl, c->name, c->account, c->config, c->node, store, &ma);
    loader_close(pl);
    ran++;
    if (rc > status)
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
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const char *plugin = NULL, *config_file = NULL;
  struct run_args a = {NULL, NULL, NULL, NULL, 0, 0};
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
    return run_one_plugin(plugin, config_file, &a);
  }
  if (config_file)
    return cli_usage_error("run", "--config-json goes with --plugin");
  return run_connectors(argv + optind, argc - optind, &a);
}
