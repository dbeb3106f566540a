/* log.c - the host's log on stderr. */
#include "config.h"

#include <stdio.h>

#include "log.h"

/* The one process-wide setting, written once by main() before any run. */
static enum integ_log_level threshold = INTEG_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_set_level(enum integ_log_level level)
{
  threshold = level;
}

enum integ_log_level log_get_level(void)
{
  return threshold;
}

void log_msgv(enum integ_log_level level, const char *tag, const char *fmt,
              va_list ap)
{
  char line[2048];
  int n;

  if (level > threshold)
    return;
  if ((unsigned)level > INTEG_LOG_DEBUG)
    level = INTEG_LOG_DEBUG;
  /* Format the whole line first and write it with one call, so lines from
   * several processes sharing stderr do not interleave. */
  n = snprintf(line, sizeof(line), "integ: %s: ", level_names[level]);
  if (tag && n >= 0 && (size_t)n < sizeof(line))
    n += snprintf(line + n, sizeof(line) - (size_t)n, "[%s] ", tag);
  if (n >= 0 && (size_t)n < sizeof(line))
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
  fprintf(stderr, "%s\n", line);
}

void log_msg(enum integ_log_level level, const char *tag, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  log_msgv(level, tag, fmt, ap);
  va_end(ap);
}
