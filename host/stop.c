/* stop.c - the stop flag set by SIGTERM and SIGINT. */
#include "config.h"

#include <string.h>

#include "error.h"
#include "stop.h"

/* Process-wide by nature: a signal handler can reach nothing else. */
static volatile sig_atomic_t stop_sig;

static void on_stop(int sig)
{
  stop_sig = sig;
}

int stop_install(void)
{
  struct sigaction sa;

  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL))
    return INTEG_EINVAL;
  return 0;
}

int stop_requested(void)
{
  return stop_sig;
}

const volatile sig_atomic_t *stop_flag(void)
{
  return &stop_sig;
}
