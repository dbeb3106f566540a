/* connconf.c - a connector's schedule, output and limits; daemon keys. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "connconf.h"
#include "duration.h"
#include "error.h"

/* An error at the value of connectors.NAME.KEY, moved `pos` characters
 * into it (pos 0: the value's own position). */
static int conf_error(const struct manifest *m, const char *name,
                      const char *key, size_t pos, struct yaml_errors *errs,
                      const char *msg)
{
  const struct yaml_loc *loc;
  char *path = NULL;
  int rc = 0;

  if (!errs)
    return 0;
  if (asprintf(&path, "connectors.%s.%s", name, key) < 0)
    return INTEG_ENOMEM;
  loc = yaml_locs_find(m->locs, path);
  if (loc && pos)
    /* A quoted scalar's text starts one column after its quote. */
    rc = yaml_errors_add(errs, "%s:%u:%zu: %s: %s", loc->file, loc->line,
                         (size_t)loc->col + pos - 1 +
                             ((loc->flags & YAML_LOC_QUOTED) ? 1 : 0),
                         path, msg);
  else
    rc = yaml_errors_at(errs, m->locs, path, 0, "%s", msg);
  free(path);
  return rc;
}

static int64_t get_ms(json_t *obj, const char *key)
{
  int64_t ms = 0;

  if (json_is_string(json_object_get(obj, key)) &&
      duration_parse(json_string_value(json_object_get(obj, key)), &ms, NULL,
                     NULL) == 0)
    return ms;
  return 0;
}

int connconf_schedule(const struct manifest *m,
                      const struct manifest_connector *c,
                      struct schedule **out, struct yaml_errors *errs)
{
  json_t *sch = json_object_get(c->node, "schedule");
  const char *cron = json_string_value(json_object_get(sch, "cron"));
  const char *every = json_string_value(json_object_get(sch, "every"));
  const char *anchor = json_string_value(json_object_get(sch, "anchor"));
  const char *tz = json_string_value(json_object_get(sch, "tz"));
  json_t *jit = json_object_get(sch, "jitter");
  struct integ_error err = {0, ""};
  struct schedule_where where = {NULL, 0};
  struct schedule *s = NULL;
  int64_t anchor_ms = 0, anchor_s, every_ms = 0;
  int rc = 0;

  *out = NULL;
  if (!json_is_object(sch))
    return 0;
  if (!cron == !every) {
    rc = conf_error(m, c->name, "schedule", 0, errs,
                    cron ? "give cron or every, not both"
                         : "give one of cron (a cron expression) or every "
                           "(an interval such as 15m)");
    return rc ? rc : INTEG_ECONFIG;
  }
  if (anchor && !every) {
    rc = conf_error(m, c->name, "schedule.anchor", 0, errs,
                    "anchor goes with every, not with cron");
    return rc ? rc : INTEG_ECONFIG;
  }
  if (anchor &&
      clock_parse_rfc3339(anchor, strlen(anchor), &anchor_ms, &err)) {
    rc = conf_error(m, c->name, "schedule.anchor", 0, errs, err.message);
    return rc ? rc : INTEG_ECONFIG;
  }
  anchor_s = anchor_ms / 1000;
  if (cron) {
    rc = schedule_parse_cron(cron, tz, &s, &where, &err);
    if (rc) {
      int r2 =
          conf_error(m, c->name, where.field ? "schedule.cron" : "schedule.tz",
                     where.field ? where.position : 0, errs, err.message);
      return r2 ? r2 : rc == INTEG_ENOMEM ? rc : INTEG_ECONFIG;
    }
  } else {
    if (duration_parse(every, &every_ms, NULL, NULL) || every_ms < 1000 ||
        every_ms % 1000) {
      rc = conf_error(m, c->name, "schedule.every", 0, errs,
                      "an interval is whole seconds, at least 1s");
      return rc ? rc : INTEG_ECONFIG;
    }
    rc = schedule_new_every(every_ms / 1000, anchor ? &anchor_s : NULL, tz, &s,
                            &err);
    if (rc) {
      int r2 = conf_error(m, c->name, "schedule.tz", 0, errs, err.message);
      return r2 ? r2 : rc == INTEG_ENOMEM ? rc : INTEG_ECONFIG;
    }
  }
  if (jit) {
    char num[64];
    const char *text = json_string_value(jit);

    if (!text) {
      /* A YAML 1.0 stays a fraction (a bare integer 1 is ambiguous). */
      snprintf(num, sizeof(num), "%.17g", json_number_value(jit));
      if (json_is_real(jit) && !strpbrk(num, ".eEn") &&
          strlen(num) + 2 < sizeof(num))
        memcpy(num + strlen(num), ".0", 3);
      text = num;
    }
    rc = schedule_set_jitter(s, text, &err);
    if (rc) {
      int r2 = conf_error(m, c->name, "schedule.jitter", 0, errs, err.message);
      schedule_free(s);
      return r2 ? r2 : INTEG_ECONFIG;
    }
  }
  *out = s;
  return 0;
}

static const char *output_to(const struct manifest *m,
                             const struct manifest_connector *c)
{
  const char *to = json_string_value(
      json_object_get(json_object_get(c->node, "output"), "to"));

  return to ? to : m->output_to;
}

int connconf_check(const struct manifest *m, unsigned what,
                   struct yaml_errors *errs)
{
  for (size_t i = 0; i < m->n_connectors; i++) {
    const struct manifest_connector *c = &m->connectors[i];
    struct schedule *s = NULL;
    int rc;

    if (what & CONNCONF_SCHEDULES) {
      rc = connconf_schedule(m, c, &s, errs);
      schedule_free(s);
      if (rc == INTEG_ENOMEM)
        return rc;
    }
    if ((what & CONNCONF_OUTPUTS) && c->enabled &&
        json_is_object(json_object_get(c->node, "schedule"))) {
      const char *to = output_to(m, c);

      if (to && strcmp(to, "stdout") == 0) {
        rc = conf_error(m, c->name, "schedule", 0, errs,
                        "a scheduled connector cannot write to stdout in "
                        "the daemon: set its output.to (or the top-level "
                        "output.to) to file:PATH or command:CMD");
        if (rc)
          return rc;
      }
    }
  }
  return 0;
}

int connconf_settings(struct run_settings *s, const struct manifest *m,
                      const struct manifest_connector *c,
                      struct integ_error *err)
{
  json_t *co = json_object_get(c->node, "output");
  json_t *v = json_object_get(co, "checkpoint_records");
  const char *format = s->format, *to = s->to;
  int rc;

  rc = run_settings_from_manifest(s, m, err);
  if (rc)
    return rc;
  if (!format && json_is_string(json_object_get(co, "format")))
    s->format = json_string_value(json_object_get(co, "format"));
  if (!to && json_is_string(json_object_get(co, "to")))
    s->to = json_string_value(json_object_get(co, "to"));
  if (json_is_integer(v) && json_integer_value(v) > 0)
    s->checkpoint_records = (uint64_t)json_integer_value(v);
  v = json_object_get(co, "checkpoint_interval");
  if (v &&
      (!json_is_string(v) ||
       duration_parse(json_string_value(v), &s->checkpoint_ms, NULL, NULL)))
    return error_set(err, INTEG_ECONFIG,
                     "connectors.%s.output.checkpoint_interval: expected a "
                     "duration such as 30s or 5m",
                     c->name);
  return 0;
}

int64_t connconf_max_runtime_ms(const struct manifest_connector *c)
{
  return get_ms(c->node, "max_runtime");
}

void connconf_daemon(const struct manifest *m, struct connconf_daemon *d)
{
  json_t *dm = json_object_get(m->root, "daemon");
  json_t *v = json_object_get(dm, "max_parallel");

  memset(d, 0, sizeof(*d));
  d->max_parallel = json_is_integer(v) ? (long)json_integer_value(v) : 4;
  if (d->max_parallel < 1)
    d->max_parallel = 1;
  d->stop_grace_ms =
      json_object_get(dm, "stop_grace") ? get_ms(dm, "stop_grace") : 30000;
  d->control_socket = json_string_value(json_object_get(dm, "control_socket"));
  d->lock_dir = json_string_value(json_object_get(dm, "lock_dir"));
  d->retention_ms = get_ms(dm, "history_retention");
  d->backoff_max_ms = get_ms(dm, "backoff_max");
  if (!d->backoff_max_ms)
    d->backoff_max_ms = 3600000;
  d->metrics_listen = json_string_value(
      json_object_get(json_object_get(m->root, "metrics"), "listen"));
}
