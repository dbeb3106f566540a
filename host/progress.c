/* progress.c - one-line progress display on a TTY (see progress.h). */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

#define PROGRESS_LINE_MAX 256

struct progress {
  FILE *out;
  progress_clock_fn now;
  void *now_arg;
  int64_t interval_ms;
  size_t width;
  char *tag;
  char *stream; /* the stream of the last record, or NULL */
  uint64_t records, pages;
  int64_t start_ms, drawn_ms;
  size_t drawn_len; /* length of the line on screen; 0: nothing drawn */
};

static int64_t default_now(void *arg)
{
  struct timespec ts;

  (void)arg;
  /* Coarse is enough for a 250 ms redraw and costs a few ns a call. */
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct progress *progress_new_with(const char *tag,
                                   const struct progress_opts *o)
{
  struct progress_opts d = {NULL, 0, NULL, NULL, 0, 0};
  struct progress *p;

  if (!o)
    o = &d;
  if (!o->force && !isatty(fileno(o->out ? o->out : stderr)))
    return NULL;
  p = calloc(1, sizeof(*p));
  if (!p)
    return NULL;
  p->out = o->out ? o->out : stderr;
  p->now = o->now ? o->now : default_now;
  p->now_arg = o->now_arg;
  p->interval_ms = o->interval_ms > 0 ? o->interval_ms : 250;
  p->width = o->width ? o->width : 79;
  if (p->width > PROGRESS_LINE_MAX - 1)
    p->width = PROGRESS_LINE_MAX - 1;
  p->tag = strdup(tag ? tag : "");
  if (!p->tag) {
    free(p);
    return NULL;
  }
  p->start_ms = p->now(p->now_arg);
  p->drawn_ms = p->start_ms;
  return p;
}

struct progress *progress_new(const char *tag)
{
  return progress_new_with(tag, NULL);
}

size_t progress_format(const struct progress *p, int64_t now_ms, char *buf,
                       size_t size)
{
  int64_t el = now_ms - p->start_ms;
  uint64_t rate = el > 0 ? p->records * 1000 / (uint64_t)el : 0;
  uint64_t s = el > 0 ? (uint64_t)el / 1000 : 0;
  size_t max = p->width < size ? p->width : size - 1;
  char tm[32];
  int n;

  if (s >= 3600)
    snprintf(tm, sizeof(tm), "%" PRIu64 ":%02u:%02u", s / 3600,
             (unsigned)(s / 60 % 60), (unsigned)(s % 60));
  else
    snprintf(tm, sizeof(tm), "%u:%02u", (unsigned)(s / 60),
             (unsigned)(s % 60));
  n = snprintf(buf, size,
               "%s: %s%s%" PRIu64 " records, %" PRIu64 " pages, %" PRIu64
               " records/s, %s",
               p->tag, p->stream ? p->stream : "", p->stream ? " " : "",
               p->records, p->pages, rate, tm);
  if (n < 0) {
    buf[0] = '\0';
    return 0;
  }
  if ((size_t)n > max) {
    buf[max] = '\0';
    return max;
  }
  return (size_t)n;
}

static void draw(struct progress *p, int64_t now)
{
  char line[PROGRESS_LINE_MAX];
  size_t len = progress_format(p, now, line, sizeof(line));

  /* Blank out what is left of a longer line drawn before. */
  fprintf(p->out, "\r%s%*s", line,
          (int)(p->drawn_len > len ? p->drawn_len - len : 0), "");
  fflush(p->out);
  p->drawn_len = len ? len : 1;
  p->drawn_ms = now;
}

static void maybe_draw(struct progress *p)
{
  int64_t now = p->now(p->now_arg);

  if (now - p->drawn_ms >= p->interval_ms)
    draw(p, now);
}

void progress_record(struct progress *p, const char *stream)
{
  if (!p)
    return;
  p->records++;
  if (stream && (!p->stream || strcmp(p->stream, stream) != 0)) {
    char *s = strdup(stream);

    /* Short of memory, the display keeps the old name. */
    if (s) {
      free(p->stream);
      p->stream = s;
    }
  }
  maybe_draw(p);
}

void progress_page(struct progress *p)
{
  if (!p)
    return;
  p->pages++;
  maybe_draw(p);
}

void progress_done(struct progress *p)
{
  if (!p)
    return;
  if (p->drawn_len) {
    draw(p, p->now(p->now_arg));
    fputc('\n', p->out);
    fflush(p->out);
  }
  free(p->stream);
  free(p->tag);
  free(p);
}
