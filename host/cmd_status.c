/* cmd_status.c - `integ status` and `integ run-now`. */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "cli.h"
#include "clock.h"
#include "connconf.h"
#include "control.h"
#include "error.h"
#include "lock.h"
#include "log.h"
#include "manifest.h"
#include "queue.h"
#include "schedule.h"
#include "store.h"

/* A run not started this long after its fire time is late. */
#define LATE_AFTER_MS (60 * 1000)

static void status_usage(FILE *f)
{
  fprintf(f, "Usage: integ status [CONNECTOR] [--json]\n"
             "Show each connector of the manifest (or one): its last run "
             "(start, duration,\nresult, records per stream, error), whether "
             "it runs now, its next fire time\nand backoff, consecutive "
             "failures and its token's expiry. Reads the store;\nasks the "
             "daemon (daemon.control_socket) when one runs.\n\n"
             "      --json   one JSON object instead of text\n"
             "  -h, --help   show this help\n\n"
             "Exit status: 0 all is well, 1 an enabled connector's last run "
             "failed or is\nlate, 2 usage or configuration error.\n");
}

static void runnow_usage(FILE *f)
{
  fprintf(f, "Usage: integ run-now CONNECTOR\n"
             "Ask the running daemon (through daemon.control_socket) to "
             "start a run of\nCONNECTOR now, outside its schedule.\n\n"
             "  -h, --help   show this help\n\n"
             "Exit status: 0 the run started, 1 no daemon runs or the "
             "connector is\nrunning already, 2 usage error or an unknown "
             "connector.\n");
}

/* The token of (account, connector): {"expires_ms", "relogin"} or null.
 * The hook the auth service fills from its tokens table; null until it
 * does. */
static json_t *status_token(struct store *s,
                            const struct manifest_connector *c)
{
  json_t *auth = json_object_get(c->node, "auth"), *rows = NULL, *row;
  json_t *pick = NULL, *out = NULL;
  const char *tu = json_string_value(json_object_get(auth, "token_url"));
  const char *cid = json_string_value(json_object_get(auth, "client_id"));
  char *prov = tu && cid ? auth_provider(tu, cid) : NULL;
  struct integ_error err = {0, ""};
  size_t i;

  /* The manifest's oauth2 names the row; a plugin that declares its own
   * auth is not loaded here, so then the account's one row, if one. */
  if (s && store_token_list(s, c->account, &rows, &err) == 0)
    json_array_foreach(rows, i, row)
    {
      const char *p = json_string_value(json_object_get(row, "provider"));

      if (prov ? p && strcmp(p, prov) == 0 : json_array_size(rows) == 1)
        pick = row;
    }
  if (pick)
    out = json_pack("{s:O, s:O, s:O, s:O}", "provider",
                    json_object_get(pick, "provider"), "expires_ms",
                    json_object_get(pick, "expires_ms"), "refreshed_ms",
                    json_object_get(pick, "refreshed_ms"), "needs_login",
                    json_object_get(pick, "needs_login"));
  free(prov);
  json_decref(rows);
  return out ? out : json_null();
}

/* Webhooks: the queue's summary (queue_summary), or NULL. */
static json_t *webhook_summary;

/* One connector's status object (new reference); *bad set when its last
 * run failed or it is late. */
static json_t *connector_status(struct manifest *m,
                                const struct manifest_connector *c,
                                struct store *store, json_t *daemon,
                                const struct connconf_daemon *dc, int64_t now,
                                int *bad)
{
  json_t *o, *runs = NULL, *last = NULL, *r, *dm;
  struct schedule *sched = NULL;
  struct yaml_errors errs = {0};
  struct integ_error err = {0, ""};
  int failures = 0, counting = 1, running = 0, running_row = 0, late = 0;
  int64_t next_ms = 0;
  pid_t holder = 0;
  size_t i;

  dm = json_object_get(json_object_get(daemon, "connectors"), c->name);
  o = json_pack("{s:s,s:s,s:b,s:b}", "connector", c->name, "account",
                c->account ? c->account : "default", "enabled", c->enabled,
                "scheduled",
                json_is_object(json_object_get(c->node, "schedule")));
  if (!o)
    return NULL;
  if (store &&
      store_runs_list(store, c->account, c->name, 50, &runs, &err) == 0) {
    json_array_foreach(runs, i, r)
    {
      const char *st = json_string_value(json_object_get(r, "status"));

      if (strcmp(json_string_value(json_object_get(r, "kind")) ?: "", "run"))
        continue;
      if (strcmp(st ?: "", "running") == 0) {
        running_row = 1;
        continue;
      }
      /* The last run that ended: the one under way shows as running. */
      if (!last)
        last = r;
      if (counting && strcmp(st ?: "", "ok") != 0)
        failures++;
      else
        counting = 0;
    }
  }
  running = json_is_true(json_object_get(dm, "running")) ||
            lock_held(dc->lock_dir, c->name, &holder) || running_row;
  json_object_set_new(o, "running", json_boolean(running));
  if (json_integer_value(json_object_get(dm, "pid")) > 0)
    json_object_set(o, "pid", json_object_get(dm, "pid"));
  else if (holder > 0)
    json_object_set_new(o, "pid", json_integer(holder));
  if (last) {
    json_t *start = json_object_get(last, "started_ms");
    json_t *end = json_object_get(last, "ended_ms");

    json_object_set_new(
        o, "last_run",
        json_pack("{s:O,s:O,s:o,s:O,s:O,s:O,s:O,s:O}", "started_ms", start,
                  "ended_ms", end, "duration_ms",
                  json_is_integer(end)
                      ? json_integer(json_integer_value(end) -
                                     json_integer_value(start))
                      : json_null(),
                  "result", json_object_get(last, "status"), "records",
                  json_object_get(last, "records"), "streams",
                  json_object_get(json_object_get(last, "stats"), "streams")
                      ?: json_null(),
                  "error_category", json_object_get(last, "error_category"),
                  "error", json_object_get(last, "message")));
  } else {
    json_object_set_new(o, "last_run", json_null());
  }
  json_object_set_new(o, "consecutive_failures", json_integer(failures));
  if (dm) {
    next_ms = json_integer_value(json_object_get(dm, "due_ms"));
    json_object_set(o, "backoff_until_ms",
                    json_object_get(dm, "backoff_until_ms"));
  } else if (connconf_schedule(m, c, &sched, &errs) == 0 && sched) {
    int64_t n;

    if (schedule_next(sched, now / 1000, &n, &err) == 0)
      next_ms = n * 1000 + schedule_jitter(sched, c->name, n) * 1000;
  }
  json_object_set_new(o, "next_fire_ms",
                      next_ms ? json_integer(next_ms) : json_null());
  json_object_set_new(o, "token", status_token(store, c));
  /* Late: the fire after the last run's is long past and nothing runs. */
  if (!sched && json_is_object(json_object_get(c->node, "schedule")))
    connconf_schedule(m, c, &sched, &errs);
  if (sched && last && !running && c->enabled) {
    json_t *f = json_object_get(last, "fire_ms");
    int64_t from =
        json_is_integer(f) && json_integer_value(f) > 0
            ? json_integer_value(f)
            : json_integer_value(json_object_get(last, "started_ms"));
    int64_t n;

    if (schedule_next(sched, from / 1000, &n, &err) == 0 &&
        (n + schedule_jitter(sched, c->name, n)) * 1000 + LATE_AFTER_MS < now)
      late = 1;
  }
  json_object_set_new(o, "late", json_boolean(late));
  if (json_object_get(webhook_summary, c->name)) {
    json_t *w = json_object_get(webhook_summary, c->name);

    json_object_set(o, "webhooks", w);
    if (json_integer_value(json_object_get(w, "dead")) > 0)
      *bad = 1;
  }
  if (c->enabled && (late || (last && !running && failures > 0)))
    *bad = 1;
  schedule_free(sched);
  yaml_errors_free(&errs);
  json_decref(runs);
  return o;
}

static void print_time(const char *label, json_t *ms)
{
  char t[CLOCK_RFC3339_MAX];

  if (json_is_integer(ms) && json_integer_value(ms) > 0)
    printf("  %s: %s\n", label,
           clock_format_rfc3339(json_integer_value(ms), t, sizeof(t)));
}

static void print_status(json_t *o)
{
  json_t *last = json_object_get(o, "last_run"), *v;
  const char *k;

  printf("%s (account %s)%s%s\n",
         json_string_value(json_object_get(o, "connector")),
         json_string_value(json_object_get(o, "account")),
         json_is_true(json_object_get(o, "enabled")) ? "" : ", disabled",
         json_is_true(json_object_get(o, "scheduled")) ? "" : ", no schedule");
  if (json_is_true(json_object_get(o, "running")))
    printf("  running now (pid %lld)\n",
           (long long)json_integer_value(json_object_get(o, "pid")));
  if (json_is_object(last)) {
    print_time("last run", json_object_get(last, "started_ms"));
    printf("  result: %s", json_string_value(json_object_get(last, "result")));
    if (json_is_integer(json_object_get(last, "duration_ms")))
      printf(" after %.1f s",
             (double)json_integer_value(json_object_get(last, "duration_ms")) /
                 1000.0);
    printf(", %lld records",
           (long long)json_integer_value(json_object_get(last, "records")));
    json_object_foreach(json_object_get(last, "streams"), k, v)
        printf(" (%s: %lld)", k, (long long)json_integer_value(v));
    printf("\n");
    if (json_is_string(json_object_get(last, "error")))
      printf("  error: %s\n",
             json_string_value(json_object_get(last, "error")));
  } else {
    printf("  never ran\n");
  }
  print_time("next fire", json_object_get(o, "next_fire_ms"));
  print_time("backing off until", json_object_get(o, "backoff_until_ms"));
  if (json_integer_value(json_object_get(o, "consecutive_failures")))
    printf("  consecutive failures: %lld\n",
           (long long)json_integer_value(
               json_object_get(o, "consecutive_failures")));
  if (json_is_true(json_object_get(o, "late")))
    printf("  late: the fire after its last run is past\n");
  if (json_is_object(json_object_get(o, "token"))) {
    json_t *t = json_object_get(o, "token");

    print_time("token expires", json_object_get(t, "expires_ms"));
    print_time("token refreshed", json_object_get(t, "refreshed_ms"));
    if (json_is_true(json_object_get(t, "needs_login")))
      printf("  token: needs a login (integ auth login %s --account %s)\n",
             json_string_value(json_object_get(o, "connector")),
             json_string_value(json_object_get(o, "account")));
  }
  if (json_is_object(json_object_get(o, "webhooks")))
    printf("  webhooks: %lld queued, %lld dead%s\n",
           (long long)json_integer_value(
               json_object_get(json_object_get(o, "webhooks"), "queued")),
           (long long)json_integer_value(
               json_object_get(json_object_get(o, "webhooks"), "dead")),
           json_integer_value(
               json_object_get(json_object_get(o, "webhooks"), "dead"))
               ? " (integ webhooks list --dead)"
               : "");
}

int cmd_status(int argc, char **argv)
{
  static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  struct yaml_errors errs = {0};
  struct integ_error err = {0, ""};
  struct manifest *m = NULL;
  struct store *store = NULL;
  struct connconf_daemon dc;
  struct stat st;
  json_t *daemon = NULL, *all = NULL;
  const char *only = NULL;
  int opt, json = 0, bad = 0, status = EXIT_USAGE;
  int64_t now = clock_now_ms(NULL);

  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case 'j':
      json = 1;
      break;
    case 'h':
      status_usage(stdout);
      return EXIT_OK;
    default:
      return cli_usage_error("status", "bad option");
    }
  }
  if (argc - optind > 1)
    return cli_usage_error("status", "at most one connector");
  if (optind < argc)
    only = argv[optind];
  if (manifest_load(cli_globals()->manifest, &m, &errs)) {
    yaml_errors_print(&errs, stderr);
    goto out;
  }
  if (only && !manifest_connector(m, only)) {
    log_error("%s: no connector '%s' (run `integ validate -v` to see the "
              "connectors)",
              m->path, only);
    goto out;
  }
  connconf_daemon(m, &dc);
  /* Reading must not create a store. */
  if (stat(m->store, &st) == 0 && store_open(m->store, &store, &err)) {
    log_error("%s", err.message);
    status = EXIT_RUN;
    goto out;
  }
  if (store) {
    struct queue *q = NULL;

    if (queue_open(m->store, &q, &err) == 0)
      queue_summary(q, &webhook_summary, &err);
    queue_close(q);
  }
  if (control_request(dc.control_socket, "status", &daemon, &err))
    daemon = NULL;
  status = EXIT_RUN; /* out of memory, until the end */
  all = json_array();
  if (!all)
    goto out;
  for (size_t i = 0; i < m->n_connectors; i++) {
    json_t *o;

    if (only && strcmp(only, m->connectors[i].name))
      continue;
    o = connector_status(m, &m->connectors[i], store, daemon, &dc, now, &bad);
    if (!o || json_array_append_new(all, o))
      goto out;
  }
  if (json) {
    json_t *doc = json_pack("{s:O?,s:O}", "daemon_pid",
                            json_object_get(daemon, "pid"), "connectors", all);
    char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;

    json_decref(doc);
    if (!text)
      goto out;
    printf("%s\n", text);
    free(text);
  } else {
    json_t *o;
    size_t i;

    if (daemon)
      printf("daemon running (pid %lld)\n",
             (long long)json_integer_value(json_object_get(daemon, "pid")));
    else
      printf("no daemon running\n");
    json_array_foreach(all, i, o) print_status(o);
  }
  status = bad ? EXIT_RUN : EXIT_OK;
out:
  if (status == EXIT_RUN && !all)
    log_error("out of memory");
  json_decref(all);
  json_decref(daemon);
  json_decref(webhook_summary);
  webhook_summary = NULL;
  store_close(store);
  manifest_free(m);
  yaml_errors_free(&errs);
  return status;
}

int cmd_run_now(int argc, char **argv)
{
  static const struct option opts[] = {{"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  struct yaml_errors errs = {0};
  struct integ_error err = {0, ""};
  struct manifest *m = NULL;
  struct connconf_daemon dc;
  json_t *reply = NULL;
  char *req = NULL;
  int opt, status = EXIT_USAGE;

  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case 'h':
      runnow_usage(stdout);
      return EXIT_OK;
    default:
      return cli_usage_error("run-now", "bad option");
    }
  }
  if (argc - optind != 1)
    return cli_usage_error("run-now", "name one connector");
  if (manifest_load(cli_globals()->manifest, &m, &errs)) {
    yaml_errors_print(&errs, stderr);
    goto out;
  }
  if (!manifest_connector(m, argv[optind])) {
    log_error("%s: no connector '%s' (run `integ validate -v` to see the "
              "connectors)",
              m->path, argv[optind]);
    goto out;
  }
  connconf_daemon(m, &dc);
  status = EXIT_RUN;
  if (asprintf(&req, "run-now %s", argv[optind]) < 0) {
    log_error("out of memory");
    goto out;
  }
  if (control_request(dc.control_socket, req, &reply, &err)) {
    log_error("%s", err.message);
    goto out;
  }
  if (!json_is_true(json_object_get(reply, "ok"))) {
    json_t *pid = json_object_get(reply, "pid");

    if (json_integer_value(pid) > 0)
      log_error("%s: %s (pid %lld)", argv[optind],
                json_string_value(json_object_get(reply, "error")),
                (long long)json_integer_value(pid));
    else
      log_error("%s: %s", argv[optind],
                json_string_value(json_object_get(reply, "error")));
    goto out;
  }
  if (json_is_true(json_object_get(reply, "started")))
    printf("%s: run started (pid %lld)\n", argv[optind],
           (long long)json_integer_value(json_object_get(reply, "pid")));
  else
    printf("%s: run queued (daemon.max_parallel runs are under way)\n",
           argv[optind]);
  status = EXIT_OK;
out:
  free(req);
  json_decref(reply);
  manifest_free(m);
  yaml_errors_free(&errs);
  return status;
}
