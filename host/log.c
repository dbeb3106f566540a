/* log.c - the host's log on stderr. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "secrets.h"

/* The one process-wide setting, written once by main() before any run. */
static enum integ_log_level threshold = INTEG_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

/* Set once by the daemon before it starts anything. */
static enum log_style style = LOG_STYLE_PLAIN;

void log_set_style(enum log_style s)
{
  style = s;
}

int log_stderr_is_journal(void)
{
  const char *js = getenv("JOURNAL_STREAM");
  unsigned long long dev, ino;
  struct stat st;

  if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
      fstat(STDERR_FILENO, &st) == -1)
    return 0;
  return (unsigned long long)st.st_dev == dev &&
         (unsigned long long)st.st_ino == ino;
}

void log_style_from_env(void)
{
  const char *f = getenv("INTEG_LOG_FORMAT");

  if (f && strcmp(f, "json") == 0)
    style = LOG_STYLE_JSON;
  else if (f && strcmp(f, "journal") == 0)
    style = LOG_STYLE_JOURNAL;
  else if (f && strcmp(f, "plain") == 0)
    style = LOG_STYLE_PLAIN;
  else if (log_stderr_is_journal())
    style = LOG_STYLE_JOURNAL;
}

/* One JSON line; text is already scrubbed. */
static void log_json(enum integ_log_level level, const char *tag,
                     const char *text)
{
  struct timespec ts;
  json_t *o;
  char *line;

  clock_gettime(CLOCK_REALTIME, &ts);
  o = json_pack("{s:I,s:s,s:s?,s:s}", "time_ms",
                (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, "level",
                level_names[level], "tag", tag, "message", text);
  line = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
  json_decref(o);
  if (line)
    fprintf(stderr, "%s\n", line);
  free(line);
}

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
  char line[2048], text[2048];
  char *big = NULL;
  const char *msg = text;
  va_list again;
  int n, head;

  if (level > threshold)
    return;
  if ((unsigned)level > INTEG_LOG_DEBUG)
    level = INTEG_LOG_DEBUG;
  va_copy(again, ap);
  n = vsnprintf(text, sizeof(text), fmt, ap);
  if (n < 0)
    n = 0;
  if ((size_t)n >= sizeof(text)) {
    /* Scrub the whole message before it is cut (see error_setv). */
    big = malloc((size_t)n + 1);
    if (big && vsnprintf(big, (size_t)n + 1, fmt, again) == n)
      msg = big;
    else
      n = (int)sizeof(text) - 1;
  }
  va_end(again);
  /* sd-daemon(3) priorities: err, warning, info, debug. */
  head = snprintf(line, sizeof(line), "%sinteg: %s: ",
                  style == LOG_STYLE_JOURNAL
                      ? (const char *[]){"<3>", "<4>", "<6>", "<7>"}[level]
                      : "",
                  level_names[level]);
  if (tag && head >= 0 && (size_t)head < sizeof(line))
    head +=
        snprintf(line + head, sizeof(line) - (size_t)head, "[%.200s] ", tag);
  if (head < 0 || (size_t)head >= sizeof(line))
    head = 0;
  /* Every line is scrubbed of known secret values (secrets.h), also the
   * lines plugins log and the errors a provider echoed a token in. */
  secrets_scrub_to(msg, (size_t)n, line + head, sizeof(line) - (size_t)head);
  free(big);
  if (style == LOG_STYLE_JSON) {
    log_json(level, tag, line + head);
    return;
  }
  /* Format the whole line first and write it with one call, so lines from
   * several processes sharing stderr do not interleave. */
  fprintf(stderr, "%s\n", line);
}

void log_msg(enum integ_log_level level, const char *tag, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  log_msgv(level, tag, fmt, ap);
  va_end(ap);
}
