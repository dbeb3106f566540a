/* stop.h - stopping a run on SIGTERM or SIGINT at a consistent point.
 *
 * `integ run` installs the handlers; they only set a flag. The host checks
 * it where stopping is safe: HTTP waits and transfers end (http.h's stop),
 * emit_record and emit_batch refuse with INTEG_EINTR so the plugin
 * returns, and the output then commits the last state whose records are
 * durable. The run ends "interrupted" and `integ run` exits with
 * EXIT_INTERRUPTED. A second signal is not special: a plugin that never
 * calls the host is ended by the daemon's SIGKILL after its grace period.
 */
#ifndef INTEG_HOST_STOP_H
#define INTEG_HOST_STOP_H

#include <signal.h>

/* Exit status of `integ run` when a signal stopped it. */
#define EXIT_INTERRUPTED 3

/* Install the SIGTERM and SIGINT handlers (no SA_RESTART, so blocking
 * calls return EINTR). Returns 0 or INTEG_EINVAL. */
int stop_install(void);

/* The signal that asked for a stop, or 0. */
int stop_requested(void);

/* The flag itself, for http_config.stop. */
const volatile sig_atomic_t *stop_flag(void);

#endif
