/* daemon.c - the scheduler loop: connectors, children, signals, control. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "connconf.h"
#include "control.h"
#include "daemon.h"
#include "error.h"
#include "lock.h"
#include "log.h"
#include "manifest.h"
#include "metrics.h"
#include "notify.h"
#include "schedule.h"
#include "store.h"
#include "supervise.h"
#include "webhook.h"

/* Prune the run history this often. */
#define PRUNE_EVERY_MS (3600 * 1000)
/* Webhooks: the wait after a processing child failed. */
#define EVENTS_HOLD_MS 1000
/* Longest sleep of the loop without an event: bounds how long a clock
 * step (NTP, suspend) goes unnoticed. */
#define MAX_SLEEP_MS (60 * 1000)

/* One enabled, scheduled connector of the running configuration. */
struct conn {
  char *name;
  char *account;
  json_t *node; /* the manifest's mapping (a reference), to see changes */
  struct schedule *sched;
  int64_t interval_ms;    /* between two fires: the backoff's base */
  int64_t next_fire_s;    /* the next nominal fire time */
  int64_t due_ms;         /* that fire plus the connector's jitter */
  int64_t max_runtime_ms; /* 0: no limit */
  struct sv_backoff bo;
  int run_now; /* integ run-now asked for a run */
};

/* A running child. Independent of the configuration: a reload does not
 * touch it, and it keeps the settings it started with. */
struct child {
  char *name;
  char *account;
  struct sv_child sv;
  int64_t fire_ms;        /* 0 for run-now */
  int64_t max_runtime_ms; /* as configured when it started */
  int events;             /* webhooks: processing events, not a run */
  struct child *next;
};

struct daemon {
  char *path;       /* the manifest, absolute */
  char *self;       /* this program, for the children */
  char *sock_path;  /* daemon.control_socket at start (owned) */
  char *lock_dir;   /* daemon.lock_dir at start (owned) */
  char *store_path; /* the store at start (owned) */
  struct manifest *m;
  struct connconf_daemon dc;
  struct conn *conns;
  size_t n_conns;
  struct child *children;
  size_t running;
  struct store *store;
  struct metrics *metrics;
  struct webhook *webhook; /* NULL: no connector has webhooks */
  int sigfd, ctlfd, store_lock, sock_lock;
  int stopping;
  int64_t next_prune_ms;
};

static void time_text(int64_t ms, char *buf, size_t size)
{
  clock_format_rfc3339(ms, buf, size);
}

static void conn_free(struct conn *c)
{
  free(c->name);
  free(c->account);
  json_decref(c->node);
  schedule_free(c->sched);
}

static void child_free(struct child *ch)
{
  free(ch->name);
  free(ch->account);
  free(ch);
}

static struct child *child_of(struct daemon *d, const char *name)
{
  for (struct child *ch = d->children; ch; ch = ch->next)
    if (strcmp(ch->name, name) == 0)
      return ch;
  return NULL;
}

static struct conn *conn_of(struct daemon *d, const char *name)
{
  for (size_t i = 0; i < d->n_conns; i++)
    if (d->conns[i].name && strcmp(d->conns[i].name, name) == 0)
      return &d->conns[i];
  return NULL;
}

/* Set c's next fire to the first one strictly after from_s. */
static int conn_advance(struct conn *c, int64_t from_s)
{
  struct integ_error err = {0, ""};
  int64_t next;

  if (schedule_next(c->sched, from_s, &next, &err)) {
    log_msg(INTEG_LOG_ERROR, c->name, "schedule: %s; not run again",
            err.message);
    c->next_fire_s = INT64_MAX / 1000;
    c->due_ms = INT64_MAX;
    return -1;
  }
  c->next_fire_s = next;
  c->due_ms = next * 1000 + schedule_jitter(c->sched, c->name, next) * 1000;
  return 0;
}

/* The latest fire_ms the run history holds for c, or 0. */
static int64_t last_fire_ms(struct daemon *d, const struct conn *c)
{
  struct integ_error err = {0, ""};
  json_t *runs = NULL, *r;
  int64_t last = 0;
  size_t i;

  if (store_runs_list(d->store, c->account, c->name, 50, &runs, &err)) {
    log_msg(INTEG_LOG_WARN, c->name, "run history: %s", err.message);
    return 0;
  }
  json_array_foreach(runs, i, r)
  {
    json_t *f = json_object_get(r, "fire_ms");

    if (json_is_integer(f) && json_integer_value(f) > last)
      last = json_integer_value(f);
  }
  json_decref(runs);
  return last;
}

/* Plan c's first run: after downtime a missed fire runs once, at once;
 * otherwise the next fire from now. */
static void conn_plan(struct daemon *d, struct conn *c, int64_t now)
{
  int64_t last = last_fire_ms(d, c), now_s = now / 1000, missed = 0, f;

  if (last > 0 && conn_advance(c, last / 1000) == 0 &&
      c->next_fire_s <= now_s) {
    /* Run once, for the latest missed fire (bounded search). */
    f = c->next_fire_s;
    for (int i = 0; i < 100000 && f <= now_s; i++) {
      struct integ_error err = {0, ""};
      int64_t n;

      missed++;
      c->next_fire_s = f;
      if (schedule_next(c->sched, f, &n, &err))
        break;
      f = n;
    }
    c->due_ms = now;
    {
      char t[64];

      time_text(c->next_fire_s * 1000, t, sizeof(t));
      log_msg(INTEG_LOG_INFO, c->name,
              "missed %lld fire time%s while the daemon was down: running "
              "once now, for %s",
              (long long)missed, missed == 1 ? "" : "s", t);
    }
    return;
  }
  conn_advance(c, now_s);
}

/* Build c from manifest connector mc. */
static int conn_init(struct conn *c, const struct manifest *m,
                     const struct manifest_connector *mc)
{
  struct yaml_errors errs = {0};
  int64_t a, b;
  struct integ_error err = {0, ""};
  int rc;

  memset(c, 0, sizeof(*c));
  rc = connconf_schedule(m, mc, &c->sched, &errs);
  yaml_errors_free(&errs);
  if (rc)
    return rc;
  c->name = strdup(mc->name);
  c->account = strdup(mc->account ? mc->account : "default");
  c->node = json_incref(mc->node);
  if (!c->name || !c->account) {
    conn_free(c);
    return INTEG_ENOMEM;
  }
  c->max_runtime_ms = connconf_max_runtime_ms(mc);
  /* The interval around now: the base of the backoff. */
  c->interval_ms = 60000;
  if (schedule_next(c->sched, clock_now_ms(NULL) / 1000, &a, &err) == 0 &&
      schedule_next(c->sched, a, &b, &err) == 0)
    c->interval_ms = (b - a) * 1000;
  return 0;
}

/* The configuration's scheduled connectors, reusing old ones (by name)
 * whose mapping did not change, and carrying every kept name's backoff. */
static int conns_build(struct daemon *d, struct manifest *m, struct conn **out,
                       size_t *n_out)
{
  struct conn *cs = calloc(m->n_connectors + 1, sizeof(*cs));
  size_t n = 0;
  int64_t now = clock_now_ms(NULL);

  *out = NULL;
  *n_out = 0;
  if (!cs)
    return INTEG_ENOMEM;
  for (size_t i = 0; i < m->n_connectors; i++) {
    const struct manifest_connector *mc = &m->connectors[i];
    struct conn *old = conn_of(d, mc->name);

    if (!mc->enabled || !json_is_object(json_object_get(mc->node, "schedule")))
      continue;
    if (old && json_equal(old->node, mc->node)) {
      cs[n++] = *old;
      memset(old, 0, sizeof(*old)); /* moved: conn_of skips it */
      continue;
    }
    if (conn_init(&cs[n], m, mc)) {
      for (size_t k = 0; k < n; k++)
        conn_free(&cs[k]);
      free(cs);
      return INTEG_ENOMEM;
    }
    if (old) {
      cs[n].bo = old->bo;
      conn_advance(&cs[n], now / 1000);
      log_msg(INTEG_LOG_INFO, mc->name,
              "changed: the next run uses the "
              "new configuration");
    } else {
      conn_plan(d, &cs[n], now);
    }
    n++;
  }
  *out = cs;
  *n_out = n;
  return 0;
}

static void conns_free(struct conn *cs, size_t n)
{
  for (size_t i = 0; i < n; i++)
    conn_free(&cs[i]);
  free(cs);
}

static void notify_status(struct daemon *d)
{
  notify_sendf("STATUS=%zu scheduled connector%s, %zu running", d->n_conns,
               d->n_conns == 1 ? "" : "s", d->running);
}

/* Start a run of c: a child process. fire_ms 0: a run-now. */
static int start_child(struct daemon *d, struct conn *c, int64_t fire_ms,
                       int64_t now)
{
  struct integ_error err = {0, ""};
  struct child *ch = calloc(1, sizeof(*ch));
  char fire[32];
  char *argv[] = {d->self, "-c", d->path, "run", "--fire-time",
                  fire,    "--", c->name, NULL};
  pid_t pid;
  int rc;

  if (!ch)
    return INTEG_ENOMEM;
  snprintf(fire, sizeof(fire), "%lld", (long long)fire_ms);
  ch->name = strdup(c->name);
  ch->account = strdup(c->account);
  if (!ch->name || !ch->account) {
    child_free(ch);
    return INTEG_ENOMEM;
  }
  rc = supervise_spawn(argv, &pid, &err);
  if (rc) {
    log_msg(INTEG_LOG_ERROR, c->name, "cannot start a run: %s", err.message);
    child_free(ch);
    return rc;
  }
  ch->sv.pid = pid;
  ch->sv.started_ms = now;
  ch->fire_ms = fire_ms;
  ch->max_runtime_ms = c->max_runtime_ms;
  ch->next = d->children;
  d->children = ch;
  d->running++;
  if (fire_ms) {
    char t[64];

    time_text(fire_ms, t, sizeof(t));
    log_msg(INTEG_LOG_INFO, c->name,
            "started run for %s (pid %ld, %lld ms after its fire time)", t,
            (long)pid, (long long)(now - fire_ms));
  } else {
    log_msg(INTEG_LOG_INFO, c->name, "started run-now (pid %ld)", (long)pid);
  }
  notify_status(d);
  return 0;
}

/* Webhooks: a child processing CONNECTOR's queued events (integ
 * webhooks process), supervised as a run. */
static void start_events_child(struct daemon *d, const char *name, int64_t now)
{
  struct integ_error err = {0, ""};
  const struct manifest_connector *mc = manifest_connector(d->m, name);
  struct child *ch = calloc(1, sizeof(*ch));
  char *argv[] = {d->self,   "-c", d->path,      "webhooks",
                  "process", "--", (char *)name, NULL};
  pid_t pid;

  if (!ch || !(ch->name = strdup(name)) ||
      !(ch->account = strdup(mc && mc->account ? mc->account : "default"))) {
    child_free(ch);
    return;
  }
  if (supervise_spawn(argv, &pid, &err)) {
    log_msg(INTEG_LOG_ERROR, name, "cannot start processing events: %s",
            err.message);
    child_free(ch);
    return;
  }
  ch->sv.pid = pid;
  ch->sv.started_ms = now;
  ch->events = 1;
  ch->next = d->children;
  d->children = ch;
  d->running++;
  log_msg(INTEG_LOG_INFO, name, "started processing webhook events (pid %ld)",
          (long)pid);
}

/* Webhooks: start processing where events are due; *wake for retries. */
static void events_tick(struct daemon *d, int64_t now, int64_t *wake)
{
  struct integ_error err = {0, ""};
  json_t *sum = NULL, *v;
  const char *name;

  if (!d->webhook || d->stopping)
    return;
  if (webhook_pending(d->webhook, &sum, &err)) {
    log_warn("webhook queue: %s", err.message);
    return;
  }
  json_object_foreach(sum, name, v)
  {
    json_t *next = json_object_get(v, "next_ms");

    if (!json_is_integer(next) || child_of(d, name))
      continue;
    if (webhook_held(d->webhook, name, now, wake))
      continue;
    if (json_integer_value(next) > now) {
      if (json_integer_value(next) < *wake)
        *wake = json_integer_value(next);
      continue;
    }
    if (d->running < (size_t)d->dc.max_parallel)
      start_events_child(d, name, now);
  }
  json_decref(sum);
}

/* Start what is due. */
static void schedule_tick(struct daemon *d, int64_t now)
{
  for (size_t i = 0; i < d->n_conns; i++) {
    struct conn *c = &d->conns[i];
    struct child *ch;
    pid_t holder = 0;
    char t[64];

    if (!c->run_now && now < c->due_ms)
      continue;
    if (d->running >= (size_t)d->dc.max_parallel)
      return; /* started when a slot frees */
    time_text(c->next_fire_s * 1000, t, sizeof(t));
    if ((ch = child_of(d, c->name))) {
      if (!c->run_now)
        log_msg(INTEG_LOG_WARN, c->name,
                "skipped the fire time %s: the run started at its fire "
                "before (pid %ld) is still running",
                t, (long)ch->sv.pid);
      c->run_now = 0;
      conn_advance(c, now / 1000);
      continue;
    }
    if (lock_held(d->dc.lock_dir, c->name, &holder)) {
      log_msg(INTEG_LOG_WARN, c->name,
              "skipped %s: the connector is running in pid %ld, not "
              "started by this daemon",
              c->run_now ? "run-now" : t, (long)holder);
      c->run_now = 0;
      conn_advance(c, now / 1000);
      continue;
    }
    if (!c->run_now && c->bo.not_before_ms > now) {
      char until[64];

      time_text(c->bo.not_before_ms, until, sizeof(until));
      log_msg(INTEG_LOG_INFO, c->name,
              "skipped the fire time %s: backing off after %u failures "
              "until %s",
              t, c->bo.failures, until);
      conn_advance(c, now / 1000);
      continue;
    }
    if (c->run_now) {
      c->run_now = 0;
      start_child(d, c, 0, now);
      continue;
    }
    /* A failed start skips this fire too: it is logged. */
    start_child(d, c, c->next_fire_s * 1000, now);
    conn_advance(c, c->next_fire_s > now / 1000 ? c->next_fire_s : now / 1000);
  }
}

/* The newest history row of ch's connector that pid ran, or NULL (a new
 * reference in *runs to free). */
static json_t *child_row(struct daemon *d, const struct child *ch,
                         json_t **runs)
{
  struct integ_error err = {0, ""};
  json_t *r;
  size_t i;

  *runs = NULL;
  if (store_runs_list(d->store, ch->account, ch->name, 10, runs, &err))
    return NULL;
  json_array_foreach(*runs, i, r)
  {
    if (json_integer_value(json_object_get(r, "pid")) == ch->sv.pid)
      return r;
  }
  return NULL;
}

/* A child ended: log how, record a death it could not, back off. */
static void child_done(struct daemon *d, struct child *ch, int status,
                       int64_t now)
{
  struct conn *c = conn_of(d, ch->name);
  char how[64];
  json_t *runs = NULL, *row;
  const char *rstatus = "failed";
  int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  double secs = (double)(now - ch->sv.started_ms) / 1000.0;

  sv_describe(status, how, sizeof(how));
  row = child_row(d, ch, &runs);
  if (row && json_is_string(json_object_get(row, "status")))
    rstatus = json_string_value(json_object_get(row, "status"));
  if (row &&
      (strcmp(rstatus, "running") == 0 || strcmp(rstatus, "died") == 0)) {
    /* It ended without recording its end (a signal, or an exit from
     * within a crash handler such as a sanitizer's). */
    struct integ_error err = {0, ""};
    char msg[128];

    snprintf(msg, sizeof(msg),
             "the run's process %s%s before recording its "
             "end",
             WIFSIGNALED(status) ? "was " : "ended with ", how);
    rstatus = WIFSIGNALED(status) ? "killed" : "died";
    if (store_run_end(
            d->store, json_integer_value(json_object_get(row, "id")), now,
            rstatus,
            (uint64_t)json_integer_value(json_object_get(row, "records")), msg,
            &err))
      log_msg(INTEG_LOG_WARN, ch->name, "run history: %s", err.message);
  }
  if (!row && WIFEXITED(status) && WEXITSTATUS(status) == 0)
    rstatus = "ok";
  log_msg(ok ? INTEG_LOG_INFO : INTEG_LOG_WARN, ch->name,
          "run (pid %ld) ended after %.1f s: %s, %s", (long)ch->sv.pid, secs,
          how, rstatus);
  if (d->metrics)
    metrics_run(d->metrics, ch->name, ok ? "ok" : rstatus, secs,
                row ? json_object_get(row, "stats") : NULL);
  json_decref(runs);
  /* A failed processing child (its lock held by one a killed daemon
   * left, a broken plugin): not again at once. */
  if (ch->events && !ok && d->webhook)
    webhook_hold(d->webhook, ch->name, now + EVENTS_HOLD_MS);
  if (c && !d->stopping) {
    sv_backoff_update(&c->bo, ok, now, c->interval_ms, d->dc.backoff_max_ms);
    if (c->bo.failures > 1)
      log_msg(INTEG_LOG_WARN, ch->name,
              "%u consecutive failures: backing off %lld s", c->bo.failures,
              (long long)(c->bo.wait_ms / 1000));
  }
}

static void reap(struct daemon *d, int64_t now)
{
  int status;
  pid_t pid;

  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    for (struct child **p = &d->children; *p; p = &(*p)->next) {
      struct child *ch = *p;

      if (ch->sv.pid != pid)
        continue;
      *p = ch->next;
      d->running--;
      child_done(d, ch, status, now);
      child_free(ch);
      notify_status(d);
      break;
    }
  }
}

/* max_runtime, and the stop: SIGTERM, then SIGKILL. *wake: the next
 * deadline, lowered. */
static void police(struct daemon *d, int64_t now, int64_t *wake)
{
  for (struct child *ch = d->children; ch; ch = ch->next) {
    int64_t w = 0;

    switch (sv_check(&ch->sv, now, ch->max_runtime_ms, d->dc.stop_grace_ms,
                     d->stopping, &w)) {
    case SV_TERM:
      if (!d->stopping)
        log_msg(INTEG_LOG_WARN, ch->name,
                "run (pid %ld) passed max_runtime (%lld s): SIGTERM",
                (long)ch->sv.pid, (long long)(ch->max_runtime_ms / 1000));
      kill(ch->sv.pid, SIGTERM);
      ch->sv.term_at_ms = now;
      w = now + d->dc.stop_grace_ms;
      break;
    case SV_KILL:
      log_msg(INTEG_LOG_WARN, ch->name,
              "run (pid %ld) still running %lld s after SIGTERM: SIGKILL",
              (long)ch->sv.pid, (long long)(d->dc.stop_grace_ms / 1000));
      kill(ch->sv.pid, SIGKILL);
      w = 0;
      break;
    default:
      break;
    }
    if (w && w < *wake)
      *wake = w;
  }
}

static int load_manifest(const char *path, struct manifest **out)
{
  struct yaml_errors errs = {0};
  struct manifest *m = NULL;
  int rc = manifest_load(path, &m, &errs);

  if (!rc && connconf_check(m, CONNCONF_OUTPUTS, &errs) == INTEG_ENOMEM)
    rc = INTEG_ENOMEM;
  if (!rc && yaml_errors_count(&errs))
    rc = INTEG_ECONFIG;
  if (yaml_errors_count(&errs)) {
    /* Each error as a log line, so the journal keeps them. */
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);

    if (mem) {
      yaml_errors_print(&errs, mem);
      fclose(mem);
      for (char *line = text, *nl; line && *line; line = nl) {
        nl = strchr(line, '\n');
        if (nl)
          *nl++ = '\0';
        log_error("%s", line);
      }
      free(text);
    }
  }
  yaml_errors_free(&errs);
  if (rc) {
    manifest_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

static void reload(struct daemon *d)
{
  struct manifest *m = NULL;
  struct connconf_daemon dc;
  struct conn *cs = NULL;
  size_t n = 0;

  notify_send("RELOADING=1");
  log_info("SIGHUP: reloading %s", d->path);
  if (load_manifest(d->path, &m)) {
    log_error("reload: %s has errors: keeping the running configuration",
              d->path);
    notify_send("READY=1\nSTATUS=reload failed: the manifest has errors");
    return;
  }
  if (conns_build(d, m, &cs, &n)) {
    log_error("reload: out of memory: keeping the running configuration");
    manifest_free(m);
    notify_send("READY=1");
    return;
  }
  for (size_t i = 0; i < d->n_conns; i++)
    if (d->conns[i].name &&
        !conn_of(&(struct daemon){.conns = cs, .n_conns = n},
                 d->conns[i].name))
      log_msg(INTEG_LOG_INFO, d->conns[i].name,
              "removed (or disabled, or unscheduled): no more runs");
  connconf_daemon(m, &dc);
  if (strcmp(dc.control_socket, d->sock_path) ||
      strcmp(dc.lock_dir, d->lock_dir) ||
      strcmp(m->store ? m->store : "", d->store_path))
    log_warn("reload: store, daemon.control_socket and daemon.lock_dir "
             "take effect at the next start");
  conns_free(d->conns, d->n_conns);
  d->conns = cs;
  d->n_conns = n;
  if (d->webhook) {
    struct integ_error err = {0, ""};

    if (webhook_routes(d->webhook, m, &err))
      log_error("reload: webhook routes: %s (keeping the old ones)",
                err.message);
  }
  manifest_free(d->m);
  d->m = m;
  d->dc = dc;
  /* The socket and the locks in use stay those of the start. */
  d->dc.control_socket = d->sock_path;
  d->dc.lock_dir = d->lock_dir;
  log_info("reloaded %s: %zu scheduled connector%s", d->path, n,
           n == 1 ? "" : "s");
  notify_send("READY=1");
  notify_status(d);
}

/* One control request. */
static void control(struct daemon *d, int64_t now)
{
  struct integ_error err = {0, ""};
  char *line = NULL;
  int client;
  json_t *reply = NULL;

  if (control_accept(d->ctlfd, &client, &line, &err) || client == -1) {
    free(line);
    return;
  }
  if (strcmp(line, "pid") == 0) {
    reply = json_pack("{s:b,s:I}", "ok", 1, "pid", (json_int_t)getpid());
  } else if (strncmp(line, "run-now ", 8) == 0) {
    struct conn *c = conn_of(d, line + 8);
    struct child *ch = c ? child_of(d, c->name) : NULL;
    pid_t holder = 0;

    if (!c || !*line)
      reply = json_pack("{s:b,s:s+}", "ok", 0, "error",
                        "no enabled connector with a schedule is called ",
                        line + 8);
    else if (ch || lock_held(d->dc.lock_dir, c->name, &holder))
      reply = json_pack("{s:b,s:s,s:I}", "ok", 0, "error",
                        "the connector is running already", "pid",
                        (json_int_t)(ch ? ch->sv.pid : holder));
    else if (d->stopping)
      reply =
          json_pack("{s:b,s:s}", "ok", 0, "error", "the daemon is stopping");
    else {
      c->run_now = 1;
      if (d->running < (size_t)d->dc.max_parallel &&
          start_child(d, c, 0, now) == 0)
        c->run_now = 0;
      ch = child_of(d, c->name);
      reply = json_pack("{s:b,s:b,s:I}", "ok", 1, "started", ch != NULL, "pid",
                        (json_int_t)(ch ? ch->sv.pid : 0));
    }
  } else if (strcmp(line, "status") == 0) {
    json_t *cs = json_object();

    for (size_t i = 0; cs && i < d->n_conns; i++) {
      struct conn *c = &d->conns[i];
      struct child *ch = child_of(d, c->name);

      json_object_set_new(
          cs, c->name,
          json_pack("{s:b,s:I,s:I,s:I,s:I,s:i}", "running", ch != NULL, "pid",
                    (json_int_t)(ch ? ch->sv.pid : 0), "next_fire_ms",
                    (json_int_t)c->next_fire_s * 1000, "due_ms",
                    (json_int_t)(c->run_now ? now : c->due_ms),
                    "backoff_until_ms", (json_int_t)c->bo.not_before_ms,
                    "failures", (int)c->bo.failures));
    }
    reply = json_pack("{s:b,s:I,s:o}", "ok", 1, "pid", (json_int_t)getpid(),
                      "connectors", cs ? cs : json_object());
  } else {
    reply = json_pack("{s:b,s:s}", "ok", 0, "error",
                      "unknown request (run-now NAME, status, pid)");
  }
  if (reply)
    control_reply(client, reply);
  else
    close(client);
  json_decref(reply);
  free(line);
}

static void on_signal(struct daemon *d, int64_t now)
{
  struct signalfd_siginfo si;

  while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
    switch (si.ssi_signo) {
    case SIGCHLD:
      reap(d, now);
      break;
    case SIGHUP:
      if (!d->stopping)
        reload(d);
      break;
    case SIGTERM:
    case SIGINT:
      if (!d->stopping) {
        d->stopping = 1;
        log_info("%s: stopping; %zu run%s asked to stop (SIGKILL after "
                 "%lld s)",
                 si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT", d->running,
                 d->running == 1 ? "" : "s",
                 (long long)(d->dc.stop_grace_ms / 1000));
        notify_send("STOPPING=1");
      }
      break;
    default:
      break;
    }
  }
}

static void prune(struct daemon *d, int64_t now)
{
  struct integ_error err = {0, ""};
  size_t removed = 0;

  d->next_prune_ms = now + PRUNE_EVERY_MS;
  if (d->webhook)
    webhook_prune(d->webhook, now);
  if (d->dc.retention_ms <= 0)
    return;
  if (store_runs_prune(d->store, now - d->dc.retention_ms, &removed, &err))
    log_warn("pruning the run history: %s", err.message);
  else if (removed)
    log_info("pruned %zu run history entr%s older than "
             "daemon.history_retention",
             removed, removed == 1 ? "y" : "ies");
}

/* Everything up to the loop: manifest, locks, store, sockets. */
static int setup(struct daemon *d, const char *path, struct integ_error *err)
{
  sigset_t set;
  pid_t holder = 0;
  char *lockpath = NULL;
  int rc;

  d->path = realpath(path, NULL);
  d->self = realpath("/proc/self/exe", NULL);
  if (!d->path || !d->self)
    return error_set(err, INTEG_ECONFIG, "%s: %s",
                     d->path ? "/proc/self/exe" : path, strerror(errno));
  rc = load_manifest(d->path, &d->m);
  if (rc)
    return error_set(err, rc, "%s has errors: not started", d->path);
  connconf_daemon(d->m, &d->dc);
  d->sock_path = strdup(d->dc.control_socket);
  d->lock_dir = strdup(d->dc.lock_dir);
  d->store_path = strdup(d->m->store);
  if (!d->sock_path || !d->lock_dir || !d->store_path)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  d->dc.control_socket = d->sock_path;
  d->dc.lock_dir = d->lock_dir;
  if (asprintf(&lockpath, "%s.daemon.lock", d->store_path) < 0)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  rc = lock_take_file(lockpath, "another daemon uses this store",
                      &d->store_lock, &holder, err);
  free(lockpath);
  if (rc)
    return rc;
  rc = store_open(d->m->store, &d->store, err);
  if (rc)
    return rc;
  if (asprintf(&lockpath, "%s.lock", d->dc.control_socket) < 0)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  rc = control_listen(d->dc.control_socket, &d->ctlfd, err);
  if (!rc)
    rc = lock_take_file(lockpath, "another daemon uses this control socket",
                        &d->sock_lock, &holder, err);
  free(lockpath);
  if (rc)
    return rc;
  if (mkdir(d->dc.lock_dir, 0755) == -1 && errno != EEXIST)
    return error_set(err, INTEG_ESTATE,
                     "daemon.lock_dir %s: %s (create it, writable by the "
                     "daemon's user)",
                     d->dc.lock_dir, strerror(errno));
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  if (sigprocmask(SIG_BLOCK, &set, NULL) == -1 ||
      (d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
    return error_set(err, INTEG_EIO, "signalfd: %s", strerror(errno));
  signal(SIGPIPE, SIG_IGN);
  /* After the mask: the metrics and receiver threads inherit it, so
   * SIGCHLD and the rest reach the signalfd, never one of them. */
  if (d->dc.metrics_listen) {
    rc = metrics_new(&d->metrics);
    if (rc)
      return error_set(err, rc, "out of memory");
    rc = metrics_serve(d->metrics, d->dc.metrics_listen, err);
    if (rc)
      return rc;
  }
  if (webhook_wanted(d->m)) {
    rc =
        webhook_start(d->m, d->store_path, d->metrics ? metrics_webhook : NULL,
                      d->metrics, &d->webhook, err);
    if (rc)
      return rc;
  }
  rc = conns_build(d, d->m, &d->conns, &d->n_conns);
  if (rc)
    return error_set(err, rc, "out of memory");
  return 0;
}

int daemon_run(const char *path, struct integ_error *err)
{
  struct daemon d;
  int rc;

  memset(&d, 0, sizeof(d));
  d.sigfd = d.ctlfd = d.store_lock = d.sock_lock = -1;
  rc = setup(&d, path, err);
  if (rc)
    goto out;
  prune(&d, clock_now_ms(NULL));
  log_info("started (pid %ld): %zu scheduled connector%s, at most %ld at "
           "once; control socket %s",
           (long)getpid(), d.n_conns, d.n_conns == 1 ? "" : "s",
           d.dc.max_parallel, d.dc.control_socket);
  notify_send("READY=1");
  notify_status(&d);
  for (;;) {
    int64_t now = clock_now_ms(NULL), wake = now + MAX_SLEEP_MS;
    struct pollfd p[3] = {{d.sigfd, POLLIN, 0},
                          {d.ctlfd, POLLIN, 0},
                          {d.webhook ? webhook_fd(d.webhook) : -1, POLLIN, 0}};

    reap(&d, now);
    police(&d, now, &wake);
    if (d.stopping) {
      if (!d.children)
        break;
    } else {
      schedule_tick(&d, now);
      events_tick(&d, now, &wake);
      if (now >= d.next_prune_ms)
        prune(&d, now);
      for (size_t i = 0; i < d.n_conns; i++) {
        int64_t due = d.conns[i].run_now ? now : d.conns[i].due_ms;

        if (!child_of(&d, d.conns[i].name) && due < wake)
          wake = due;
      }
    }
    if (wake < now)
      wake = now;
    if (poll(p, 3, (int)(wake - now)) > 0) {
      now = clock_now_ms(NULL);
      if (p[0].revents & POLLIN)
        on_signal(&d, now);
      if (p[1].revents & POLLIN)
        control(&d, now);
    }
  }
  log_info("stopped");
out:
  while (d.children) {
    struct child *ch = d.children;

    d.children = ch->next;
    child_free(ch);
  }
  conns_free(d.conns, d.n_conns);
  webhook_stop(d.webhook);
  metrics_free(d.metrics);
  if (d.ctlfd != -1) {
    close(d.ctlfd);
    if (!rc)
      unlink(d.dc.control_socket);
  }
  if (d.sigfd != -1)
    close(d.sigfd);
  lock_release(d.sock_lock);
  lock_release(d.store_lock);
  store_close(d.store);
  manifest_free(d.m);
  free(d.path);
  free(d.self);
  free(d.sock_path);
  free(d.lock_dir);
  free(d.store_path);
  return rc;
}
