/* supervise.c - child processes: start, deadlines, backoff. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "supervise.h"

int64_t sv_backoff_wait(unsigned failures, int64_t base_ms, int64_t cap_ms)
{
  int64_t w = base_ms > 0 ? base_ms : 1000;

  if (failures == 0)
    return 0;
  for (unsigned i = 1; i < failures; i++) {
    if (cap_ms > 0 && w >= cap_ms)
      break;
    if (w > INT64_MAX / 2)
      break;
    w *= 2;
  }
  return cap_ms > 0 && w > cap_ms ? cap_ms : w;
}

void sv_backoff_update(struct sv_backoff *b, int ok, int64_t now_ms,
                       int64_t base_ms, int64_t cap_ms)
{
  if (ok) {
    b->failures = 0;
    b->wait_ms = 0;
    b->not_before_ms = 0;
    return;
  }
  if (b->failures < 64)
    b->failures++;
  b->wait_ms = sv_backoff_wait(b->failures, base_ms, cap_ms);
  /* The first failure waits for the schedule as usual. */
  b->not_before_ms = b->failures > 1 ? now_ms + b->wait_ms : 0;
}

enum sv_action sv_check(const struct sv_child *c, int64_t now_ms,
                        int64_t max_runtime_ms, int64_t grace_ms, int stopping,
                        int64_t *wake_ms)
{
  if (wake_ms)
    *wake_ms = 0;
  if (c->term_at_ms) {
    if (now_ms >= c->term_at_ms + grace_ms)
      return SV_KILL;
    if (wake_ms)
      *wake_ms = c->term_at_ms + grace_ms;
    return SV_NONE;
  }
  if (stopping)
    return SV_TERM;
  if (max_runtime_ms > 0) {
    if (now_ms >= c->started_ms + max_runtime_ms)
      return SV_TERM;
    if (wake_ms)
      *wake_ms = c->started_ms + max_runtime_ms;
  }
  return SV_NONE;
}

int supervise_spawn(char *const argv[], pid_t *pid, struct integ_error *err)
{
  pid_t parent = getpid(), p;
  sigset_t all;

  *pid = -1;
  p = fork();
  if (p == -1)
    return error_set(err, INTEG_EIO, "fork: %s", strerror(errno));
  if (p == 0) {
    int null = open("/dev/null", O_RDWR);

    /* Only async-signal-safe calls from here to exec. */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 || getppid() != parent)
      _exit(127);
    if (null >= 0) {
      dup2(null, STDIN_FILENO);
      dup2(null, STDOUT_FILENO);
      if (null > STDERR_FILENO)
        close(null);
    }
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    execv(argv[0], argv);
    _exit(127);
  }
  *pid = p;
  return 0;
}

void sv_describe(int status, char *buf, size_t size)
{
  if (WIFEXITED(status))
    snprintf(buf, size, "exit status %d", WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    snprintf(buf, size, "killed by signal %s%s",
             sigabbrev_np(WTERMSIG(status)) ? "SIG" : "",
             sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status))
                                            : "?");
  else
    snprintf(buf, size, "status %d", status);
}
