/* cmd_webhooks.c - `integ webhooks list|replay|process`: the queue of
 * received webhook events. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "connconf.h"
#include "error.h"
#include "loader.h"
#include "lock.h"
#include "log.h"
#include "manifest.h"
#include "output.h"
#include "plugin_check.h"
#include "queue.h"
#include "run.h"
#include "stop.h"
#include "store.h"

/* Events processed between two checkpoints. */
#define PROCESS_BATCH 256
/* A processing child waits this long for more events before it ends. */
#define PROCESS_LINGER_MS 1000
#define PROCESS_POLL_MS 20
#define DEFAULT_MAX_ATTEMPTS 8

static void webhooks_usage(FILE *f)
{
  fprintf(f,
          "Usage: integ webhooks list [--dead] [--json]\n"
          "       integ webhooks replay ID\n"
          "       integ webhooks process CONNECTOR\n"
          "The queue of received webhook events (integ daemon receives them "
          "on\nwebhooks.listen and processes them with the connector's "
          "plugin).\n\n"
          "  list      the events queued, being processed or dead "
          "(failed\n            max_attempts times), oldest first\n"
          "  replay    queue event ID again now, with fresh attempts\n"
          "  process   process CONNECTOR's due events now (the daemon "
          "runs this)\n\n"
          "      --dead   list only dead events\n"
          "      --json   one JSON array instead of text\n"
          "  -h, --help   show this help\n\n"
          "Exit status: 0 ok, 1 a failure (no such event, a store error, an "
          "event\nthat failed), 2 usage or configuration error.\n");
}

/* Open the manifest's store and its queue; EXIT_* on failure. */
static int open_queue(struct manifest **m, struct store **store,
                      struct queue **q)
{
  struct yaml_errors errs = {0};
  struct integ_error err = {0, ""};
  struct stat st;

  if (manifest_load(cli_globals()->manifest, m, &errs)) {
    yaml_errors_print(&errs, stderr);
    yaml_errors_free(&errs);
    return EXIT_USAGE;
  }
  yaml_errors_free(&errs);
  if (stat((*m)->store, &st) == -1) {
    log_error("%s: %s (no webhook was ever received with this store)",
              (*m)->store, strerror(errno));
    return EXIT_RUN;
  }
  /* store_open brings the schema up to date before the queue reads it. */
  if (store_open((*m)->store, store, &err) ||
      queue_open((*m)->store, q, &err)) {
    log_error("%s", err.message);
    return EXIT_RUN;
  }
  return EXIT_OK;
}

static int webhooks_list(int dead, int json)
{
  struct integ_error err = {0, ""};
  struct manifest *m = NULL;
  struct store *store = NULL;
  struct queue *q = NULL;
  json_t *list = NULL, *e;
  size_t i;
  int status = open_queue(&m, &store, &q);

  if (status)
    goto out;
  if (queue_list(q, dead, &list, &err)) {
    log_error("%s", err.message);
    status = EXIT_RUN;
    goto out;
  }
  if (json) {
    char *text = json_dumps(list, JSON_INDENT(2));

    if (!text) {
      log_error("out of memory");
      status = EXIT_RUN;
      goto out;
    }
    printf("%s\n", text);
    free(text);
    goto out;
  }
  json_array_foreach(list, i, e)
  {
    char t[CLOCK_RFC3339_MAX];
    const char *error = json_string_value(json_object_get(e, "error"));

    printf("%lld %s %s %s %s attempts %lld received %s%s%s\n",
           (long long)json_integer_value(json_object_get(e, "id")),
           json_string_value(json_object_get(e, "connector")),
           json_string_value(json_object_get(e, "status")),
           json_string_value(json_object_get(e, "delivery_id")) ?: "-",
           json_string_value(json_object_get(e, "type")) ?: "-",
           (long long)json_integer_value(json_object_get(e, "attempts")),
           clock_format_rfc3339(
               json_integer_value(json_object_get(e, "received_ms")), t,
               sizeof(t)),
           error ? ": " : "", error ? error : "");
  }
out:
  json_decref(list);
  queue_close(q);
  store_close(store);
  manifest_free(m);
  return status;
}

static int webhooks_replay(const char *arg)
{
  struct integ_error err = {0, ""};
  struct manifest *m = NULL;
  struct store *store = NULL;
  struct queue *q = NULL;
  char *end = NULL;
  long long id;
  int status;

  errno = 0;
  id = strtoll(arg, &end, 10);
  if (errno || !*arg || *end || id <= 0)
    return cli_usage_error("webhooks",
                           "replay takes an event id (see "
                           "integ webhooks list), got '%s'",
                           arg);
  status = open_queue(&m, &store, &q);
  if (!status && queue_replay(q, (int64_t)id, &err)) {
    log_error("%s", err.message);
    status = EXIT_RUN;
  }
  if (!status)
    log_info("event %lld queued again", id);
  queue_close(q);
  store_close(store);
  manifest_free(m);
  return status;
}

/* ---------------------------------------------------------- process */

struct process {
  struct queue *q;
  const char *name;
  int max_attempts;
  uint64_t done, failed;
};

/* Checkpoint the output, then delete the events it covers. */
static int flush(struct process *p, struct output *out, int64_t *ids,
                 size_t *n, struct integ_error *err)
{
  int rc;

  if (!*n)
    return 0;
  rc = output_checkpoint(out, err);
  if (!rc)
    rc = queue_done(p->q, ids, *n, err);
  if (!rc)
    p->done += *n;
  *n = 0;
  return rc;
}

/* Hand one claimed event to the plugin: on success its id joins IDS
 * (flushed when full), on failure it is retried later or dead. */
static int process_one(struct process *p, const struct integ_plugin *vt,
                       void *instance, struct output *out, json_t *e,
                       int64_t *ids, size_t *n, struct integ_error *err)
{
  struct integ_event ev;
  struct integ_error perr = {0, ""};
  json_t *body = json_object_get(e, "body");
  int64_t id = json_integer_value(json_object_get(e, "id"));
  int rc = 0, dead = 0;

  memset(&ev, 0, sizeof(ev));
  ev.size = sizeof(ev);
  ev.scheme = json_string_value(json_object_get(e, "scheme"));
  ev.delivery_id = json_string_value(json_object_get(e, "delivery_id"));
  ev.type = json_string_value(json_object_get(e, "type"));
  ev.received_ms = json_integer_value(json_object_get(e, "received_ms"));
  ev.headers = json_object_get(e, "headers");
  ev.body = json_string_value(body) ?: "";
  ev.body_len = json_string_length(body);
  if (vt->on_event(instance, &ev, &perr) == 0) {
    ids[(*n)++] = id;
    return *n == PROCESS_BATCH ? flush(p, out, ids, n, err) : 0;
  }
  p->failed++;
  rc = queue_fail(p->q, id, perr.message[0] ? perr.message : "failed",
                  clock_now_ms(NULL), p->max_attempts, &dead, err);
  log_msg(dead ? INTEG_LOG_ERROR : INTEG_LOG_WARN, p->name,
          "event %lld (delivery %s) failed%s: %s", (long long)id,
          ev.delivery_id ? ev.delivery_id : "-",
          dead ? " for the last time: dead (integ webhooks replay to retry)"
               : ", retried later",
          perr.message[0] ? perr.message : "(no message)");
  return rc;
}

static int process_events(void *arg, const struct integ_plugin *vt,
                          void *instance, struct output *out,
                          struct integ_error *err)
{
  struct process *p = arg;
  int64_t ids[PROCESS_BATCH], idle_since = 0;
  size_t n = 0, i;
  int rc = 0;

  while (!rc && !stop_requested()) {
    json_t *batch = NULL, *e;
    int64_t now = clock_now_ms(NULL);

    rc = queue_claim(p->q, p->name, now, PROCESS_BATCH, &batch, err);
    if (rc)
      break;
    if (!json_array_size(batch)) {
      json_decref(batch);
      /* Nothing due: make what is done durable, wait a little for
       * more, then end. */
      rc = flush(p, out, ids, &n, err);
      if (!idle_since)
        idle_since = now;
      if (rc || now - idle_since >= PROCESS_LINGER_MS)
        break;
      usleep(PROCESS_POLL_MS * 1000);
      continue;
    }
    idle_since = 0;
    /* Claimed events are finished even when a stop comes: they are
     * quick, and the stop waits for the checkpoint below. */
    json_array_foreach(batch, i, e)
    {
      if (!rc)
        rc = process_one(p, vt, instance, out, e, ids, &n, err);
    }
    json_decref(batch);
  }
  if (!rc)
    rc = flush(p, out, ids, &n, err);
  return rc;
}

static int webhooks_process(const char *name)
{
  struct yaml_errors errs = {0};
  struct integ_error err = {0, ""};
  struct loader_path lp = {NULL, 0};
  struct manifest *m = NULL;
  struct store *store = NULL;
  struct plugin *pl = NULL;
  struct run_settings s;
  struct connconf_daemon dc;
  struct process p = {0};
  const struct manifest_connector *c;
  json_t *ma;
  pid_t holder = 0;
  int lock = -1, status = EXIT_USAGE, rc;

  memset(&s, 0, sizeof(s));
  stop_install();
  if (manifest_load(cli_globals()->manifest, &m, &errs))
    goto out;
  c = manifest_connector(m, name);
  if (!c || !json_is_object(json_object_get(c->node, "webhooks"))) {
    log_error("%s: no connector '%s' with webhooks: (run `integ validate "
              "-v` to see the connectors)",
              m->path, name);
    goto out;
  }
  if (loader_path_init(&lp, m->plugin_path, m->n_plugin_path, &err)) {
    log_error("%s", err.message);
    goto out;
  }
  if (plugin_check_connector(m, c, &lp, &pl, &errs))
    goto out;
  if (connconf_settings(&s, m, c, &err)) {
    log_error("%s", err.message);
    goto out;
  }
  status = EXIT_RUN;
  if (store_open(m->store, &store, &err) || queue_open(m->store, &p.q, &err)) {
    log_error("%s", err.message);
    goto out;
  }
  connconf_daemon(m, &dc);
  if (lock_take(dc.lock_dir, c->name, &lock, &holder, &err)) {
    log_error("%s", err.message);
    goto out;
  }
  /* With the lock, no one else processes this connector's events: any
   * left running belong to a process that died. */
  if (queue_reset_running(p.q, c->name, &err)) {
    log_error("%s", err.message);
    goto out;
  }
  p.name = c->name;
  ma = json_object_get(json_object_get(c->node, "webhooks"), "max_attempts");
  p.max_attempts =
      json_is_integer(ma) ? (int)json_integer_value(ma) : DEFAULT_MAX_ATTEMPTS;
  {
    char where[512];
    struct run_result res;
    struct run_connector_args ca =
        run_args_of(m, c, store, where, sizeof(where));

    ca.events = process_events;
    ca.events_arg = &p;
    rc = run_connector(pl, &ca, &s, &res, &err);
    run_result_free(&res);
    if (rc)
      log_error("%s", err.message);
    else
      log_info("%s: %llu webhook events processed, %llu failed", c->name,
               (unsigned long long)p.done, (unsigned long long)p.failed);
    status = rc ? EXIT_RUN : EXIT_OK;
  }
out:
  if (yaml_errors_count(&errs))
    yaml_errors_print(&errs, stderr);
  yaml_errors_free(&errs);
  lock_release(lock);
  loader_close(pl);
  loader_path_free(&lp);
  queue_close(p.q);
  store_close(store);
  manifest_free(m);
  return status;
}

int cmd_webhooks(int argc, char **argv)
{
  static const struct option opts[] = {{"dead", no_argument, NULL, 'd'},
                                       {"json", no_argument, NULL, 'j'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  int opt, dead = 0, json = 0;
  const char *sub;

  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case 'd':
      dead = 1;
      break;
    case 'j':
      json = 1;
      break;
    case 'h':
      webhooks_usage(stdout);
      return EXIT_OK;
    default:
      return cli_usage_error("webhooks", "bad option");
    }
  }
  if (optind >= argc)
    return cli_usage_error("webhooks", "list, replay or process?");
  sub = argv[optind++];
  if (strcmp(sub, "list") == 0 && optind == argc)
    return webhooks_list(dead, json);
  if (strcmp(sub, "replay") == 0 && optind + 1 == argc && !dead)
    return webhooks_replay(argv[optind]);
  if (strcmp(sub, "process") == 0 && optind + 1 == argc && !dead)
    return webhooks_process(argv[optind]);
  return cli_usage_error("webhooks", "expected list [--dead], replay ID or "
                                     "process CONNECTOR");
}
