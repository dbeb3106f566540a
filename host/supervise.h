/* supervise.h - child processes of the daemon: start, time limits,
 * backoff after failures.
 *
 * The decisions are functions of the time passed in (ms), so tests drive
 * them with an injected clock; only supervise_spawn touches processes.
 */
#ifndef INTEG_HOST_SUPERVISE_H
#define INTEG_HOST_SUPERVISE_H

#include <stdint.h>
#include <sys/types.h>

#include <integ/plugin.h>

/* One connector's failure record. Zero-initialise. */
struct sv_backoff {
  unsigned failures;     /* consecutive failed runs */
  int64_t wait_ms;       /* the current backoff; 0 when none */
  int64_t not_before_ms; /* no run starts before this */
};

/* The wait after `failures` consecutive failures: base_ms doubled for
 * each failure after the first, at most cap_ms (0 for none). collectd
 * backs a failing read off the same way. */
int64_t sv_backoff_wait(unsigned failures, int64_t base_ms, int64_t cap_ms);

/* A run ended at now_ms: a success resets b, a failure adds one and sets
 * the wait (base_ms: the schedule's interval) and not_before_ms. */
void sv_backoff_update(struct sv_backoff *b, int ok, int64_t now_ms,
                       int64_t base_ms, int64_t cap_ms);

/* A running child. */
struct sv_child {
  pid_t pid;
  int64_t started_ms;
  int64_t term_at_ms; /* when SIGTERM was sent, 0 before */
};

enum sv_action { SV_NONE, SV_TERM, SV_KILL };

/* What to do with c at now_ms: SIGTERM once max_runtime_ms (0: no limit)
 * has passed or `stopping` is set, SIGKILL grace_ms after the SIGTERM.
 * *wake_ms (may be NULL) gets when to ask again (0: no deadline). */
enum sv_action sv_check(const struct sv_child *c, int64_t now_ms,
                        int64_t max_runtime_ms, int64_t grace_ms, int stopping,
                        int64_t *wake_ms);

/* Start argv[0] (a path) with argv, standard input and output on
 * /dev/null, standard error inherited, every signal unblocked and default,
 * and SIGTERM as its parent-death signal: *pid is the child. Returns 0 or
 * INTEG_EIO with err saying why. */
int supervise_spawn(char *const argv[], pid_t *pid, struct integ_error *err);

/* "exit status N" or "killed by signal SIGNAME" for a waitpid status. */
void sv_describe(int status, char *buf, size_t size);

#endif
