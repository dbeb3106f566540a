/* connconf.h - what the manifest says about running a connector on its
 * own: its schedule, its output (over the top-level one), max_runtime,
 * and the daemon's settings.
 *
 * The schema rows live in manifest.c's table; this file gives them their
 * meaning, so `validate`, `integ run` and the daemon read them one way.
 */
#ifndef INTEG_HOST_CONNCONF_H
#define INTEG_HOST_CONNCONF_H

#include <stdint.h>

#include "manifest.h"
#include "run.h"
#include "schedule.h"

/* What connconf_check looks at. */
#define CONNCONF_SCHEDULES 1u /* schedule: keys parse (manifest_load) */
#define CONNCONF_OUTPUTS 2u   /* no scheduled connector writes to stdout */

/* Check every connector's keys named by `what`, adding each error to
 * errs as "file:line:column: key.path: message"; a cron error's column is
 * the position inside the expression. Returns 0 (errors or not: count
 * errs) or INTEG_ENOMEM. */
int connconf_check(const struct manifest *m, unsigned what,
                   struct yaml_errors *errs);

/* c's schedule: *out is new (schedule_free) or NULL when c has none.
 * Errors as connconf_check's, into errs (may be NULL). Returns 0,
 * INTEG_ECONFIG or INTEG_ENOMEM. */
int connconf_schedule(const struct manifest *m,
                      const struct manifest_connector *c,
                      struct schedule **out, struct yaml_errors *errs);

/* The output settings of c: those s already has (the command line) win,
 * then c's output keys, then the top-level output. Strings borrowed from
 * m. Returns 0 or INTEG_ECONFIG naming the key. */
int connconf_settings(struct run_settings *s, const struct manifest *m,
                      const struct manifest_connector *c,
                      struct integ_error *err);

/* c's max_runtime in ms; 0 when it has none. */
int64_t connconf_max_runtime_ms(const struct manifest_connector *c);

/* The daemon's settings (daemon.* and metrics.*). Strings borrowed. */
struct connconf_daemon {
  long max_parallel;
  int64_t stop_grace_ms;
  const char *control_socket;
  const char *lock_dir;
  int64_t retention_ms;
  int64_t backoff_max_ms;
  const char *metrics_listen; /* NULL: no endpoint */
};

/* Fill d from m (defaults already filled by manifest_load). */
void connconf_daemon(const struct manifest *m, struct connconf_daemon *d);

#endif
