/* daemon.h - `integ daemon`: scheduled, supervised runs.
 *
 * The daemon stays in the foreground. It runs each enabled connector that
 * has a schedule as a child process (`integ -c MANIFEST run --fire-time MS
 * CONNECTOR`, supervise.h), at most daemon.max_parallel at once and never
 * two of one connector (the child takes the connector's lock itself,
 * lock.h, so that holds across daemon restarts). After downtime a missed
 * schedule runs once: the run history keeps the fire time each run was
 * for. Failures back a connector off (supervise.h); max_runtime ends a run
 * with SIGTERM, then SIGKILL after daemon.stop_grace.
 *
 * Signals: SIGHUP reloads the manifest (a broken one is logged and the
 * running configuration kept; running children keep theirs); SIGTERM and
 * SIGINT stop: no new runs, SIGTERM to the children (they commit their
 * last durable state), SIGKILL after the grace period. systemd hears
 * READY=1, RELOADING=1, STOPPING=1 and STATUS= (notify.h). The control
 * socket (control.h) serves `integ run-now` and `integ status`; metrics.h
 * serves /metrics when metrics.listen is set.
 */
#ifndef INTEG_HOST_DAEMON_H
#define INTEG_HOST_DAEMON_H

#include <integ/plugin.h>

/* Run the daemon on the manifest at PATH until SIGTERM or SIGINT.
 * Returns 0 after a clean stop, INTEG_ECONFIG when the manifest is broken
 * at start (errors printed), INTEG_ESTATE when another daemon holds the
 * store or the control socket (err names its pid), or another negative
 * code with err saying why. */
int daemon_run(const char *path, struct integ_error *err);

#endif
