/* output.c - sinks, buffering and checkpoints (see output.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "catalog.h"
#include "error.h"
#include "log.h"
#include "output.h"

/* Written out when this full, and at checkpoints: large writes, few
 * syscalls. */
#define OUTPUT_BUFFER (1u << 20)

enum sink { SINK_STDOUT, SINK_FILE, SINK_COMMAND };

/* A state written to a target, waiting for its echo. */
struct pending {
  json_t *state;    /* the plugin's state, to commit */
  json_t *messages; /* array: the STATE messages written for it */
  struct pending *next;
};

struct output {
  struct output_config cfg;
  enum sink sink;
  char *where; /* file name or command, for messages */
  struct emit *emit;
  struct buf buf;
  int fd;
  int fsync_ok; /* the fd is a regular file */
  pid_t child;  /* command: the target */
  int echo_fd;  /* command: the target's stdout */
  struct buf echo;
  struct pending *waiting, **tail;
  json_t *state;  /* the plugin's last state, not yet checkpointed */
  uint64_t since; /* records since the last checkpoint */
  int64_t last_ms;
  struct output_stats stats;
  json_t *started; /* stream_start: {stream: true} of streams begun */
  int failed;      /* a write or fsync failed: commit nothing more */
};

static int64_t now_ms(const struct output *o)
{
  return clock_now_ms(o->cfg.clock);
}

/* Real time for checkpoint spacing, even when INTEG_NOW fixes stamps. */
static int64_t mono_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *output_expand_template(const char *tmpl, const char *connector,
                             const char *account, int64_t now_ms,
                             struct integ_error *err)
{
  struct buf out = BUF_INIT;
  time_t t = (time_t)(now_ms / 1000);
  struct tm tm;
  const char *p = tmpl;

  gmtime_r(&t, &tm);
  while (*p) {
    const char *open = strchr(p, '{'), *close;
    size_t n;
    int rc = 0;

    if (!open) {
      rc = buf_appends(&out, p);
      p += strlen(p);
    } else {
      close = strchr(open, '}');
      if (buf_append(&out, p, (size_t)(open - p)))
        goto nomem;
      n = close ? (size_t)(close - open - 1) : 0;
      if (close && n == 9 && strncmp(open + 1, "connector", 9) == 0)
        rc = buf_appends(&out, connector ? connector : "");
      else if (close && n == 7 && strncmp(open + 1, "account", 7) == 0)
        rc = buf_appends(&out, account ? account : "default");
      else if (close && n == 4 && strncmp(open + 1, "date", 4) == 0)
        rc = buf_printf(&out, "%04d-%02d-%02d", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday);
      else if (close && n == 4 && strncmp(open + 1, "time", 4) == 0)
        rc =
            buf_printf(&out, "%02d%02d%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
      else {
        error_set(err, INTEG_ECONFIG,
                  "output.to: '%s': unknown placeholder at character %zu "
                  "(known: {connector}, {account}, {date}, {time})",
                  tmpl, (size_t)(open - tmpl) + 1);
        buf_free(&out);
        return NULL;
      }
      p = close + 1;
    }
    if (rc)
      goto nomem;
  }
  if (!out.data && buf_reserve(&out, 1) == 0)
    out.data[0] = '\0';
  if (out.data)
    return out.data;
nomem:
  buf_free(&out);
  error_set(err, INTEG_ENOMEM, "out of memory");
  return NULL;
}

/* mkdir -p for the directories above `file`. */
static int make_parents(const char *file, struct integ_error *err)
{
  char *dir = strdup(file);
  int rc = 0;

  if (!dir)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  for (char *s = dir + 1; *s; s++) {
    if (*s != '/')
      continue;
    *s = '\0';
    if (mkdir(dir, 0750) && errno != EEXIST) {
      rc = error_set(err, INTEG_EIO, "cannot create directory %s: %s", dir,
                     strerror(errno));
      break;
    }
    *s = '/';
  }
  free(dir);
  return rc;
}

static int start_command(struct output *o, const char *cmd,
                         struct integ_error *err)
{
  int in[2], out[2];
  pid_t pid;

  if (pipe2(in, O_CLOEXEC))
    return error_set(err, INTEG_EIO, "pipe: %s", strerror(errno));
  if (pipe2(out, O_CLOEXEC)) {
    close(in[0]);
    close(in[1]);
    return error_set(err, INTEG_EIO, "pipe: %s", strerror(errno));
  }
  pid = fork();
  if (pid < 0) {
    close(in[0]);
    close(in[1]);
    close(out[0]);
    close(out[1]);
    return error_set(err, INTEG_EIO, "cannot start '%s': %s", cmd,
                     strerror(errno));
  }
  if (pid == 0) {
    /* The child: our records on its stdin, its echoes on our pipe. */
    dup2(in[0], 0);
    dup2(out[1], 1);
    signal(SIGPIPE, SIG_DFL);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  o->fd = in[1];
  o->echo_fd = out[0];
  o->child = pid;
  fcntl(o->echo_fd, F_SETFL, fcntl(o->echo_fd, F_GETFL) | O_NONBLOCK);
  return 0;
}

/* A run killed inside write() can leave half a line at the end of the
 * file; appending to it would make the next message invalid. Cut the file
 * back to its last newline: what is cut was never covered by a committed
 * state (states are committed after fsync of whole lines). */
static int trim_torn_line(struct output *o, struct integ_error *err)
{
  struct stat st;
  char chunk[65536];
  off_t end, pos;

  if (fstat(o->fd, &st) || !S_ISREG(st.st_mode) || st.st_size == 0)
    return 0;
  end = st.st_size;
  pos = end;
  while (pos > 0) {
    size_t n = pos > (off_t)sizeof(chunk) ? sizeof(chunk) : (size_t)pos;
    ssize_t got = pread(o->fd, chunk, n, pos - (off_t)n);

    if (got != (ssize_t)n)
      return error_set(err, INTEG_EIO, "output %s: read failed: %s", o->where,
                       strerror(errno));
    for (size_t i = n; i-- > 0;)
      if (chunk[i] == '\n') {
        pos = pos - (off_t)n + (off_t)i + 1;
        goto found;
      }
    pos -= (off_t)n;
  }
found:
  if (pos == end)
    return 0;
  log_msg(INTEG_LOG_WARN, o->cfg.connector,
          "output %s: cutting %lld bytes of a partial last line left by an "
          "interrupted run",
          o->where, (long long)(end - pos));
  if (ftruncate(o->fd, pos))
    return error_set(err, INTEG_EIO, "output %s: cannot cut it: %s", o->where,
                     strerror(errno));
  return 0;
}

int output_open(const struct output_config *cfg, json_t *streams,
                struct output **out, struct integ_error *err)
{
  struct output *o = calloc(1, sizeof(*o));
  const char *to = cfg->to ? cfg->to : "stdout";
  struct stat st;
  int rc;

  *out = NULL;
  if (!o)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  o->cfg = *cfg;
  if (!o->cfg.checkpoint_records)
    o->cfg.checkpoint_records = 10000;
  if (!o->cfg.checkpoint_ms)
    o->cfg.checkpoint_ms = 5000;
  if (!o->cfg.echo_timeout_ms)
    o->cfg.echo_timeout_ms = 300000;
  o->fd = -1;
  o->echo_fd = -1;
  o->tail = &o->waiting;
  o->last_ms = mono_ms();
  rc = emit_new(cfg->format, &o->emit, err);
  if (!rc && cfg->stream_start && !(o->started = json_object()))
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
  if (!rc && streams && cfg->catalog) {
    /* Schemas without the deselected fields, as the records will be. */
    json_t *declared = NULL;

    rc = catalog_check(cfg->catalog, streams, err);
    if (!rc && !(declared = catalog_apply_streams(cfg->catalog, streams)))
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
    if (!rc)
      rc = emit_add_streams(o->emit, declared, err);
    json_decref(declared);
  } else if (!rc && streams)
    rc = emit_add_streams(o->emit, streams, err);
  if (!rc)
    rc = buf_reserve(&o->buf, OUTPUT_BUFFER)
             ? error_set(err, INTEG_ENOMEM, "out of memory")
             : 0;
  if (rc)
    goto fail;
  if (strcmp(to, "stdout") == 0) {
    o->sink = SINK_STDOUT;
    o->fd = cfg->out_fd;
    o->where = strdup("standard output");
  } else if (strncmp(to, "file:", 5) == 0) {
    o->sink = SINK_FILE;
    o->where = output_expand_template(to + 5, cfg->connector, cfg->account,
                                      now_ms(o), err);
    if (!o->where || make_parents(o->where, err)) {
      rc = err ? err->code : INTEG_ECONFIG;
      goto fail;
    }
    o->fd = open(o->where, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (o->fd >= 0 && trim_torn_line(o, err)) {
      rc = err ? err->code : INTEG_EIO;
      goto fail;
    }
    if (o->fd < 0) {
      rc = error_set(err, INTEG_EIO, "output %s: cannot open: %s", o->where,
                     strerror(errno));
      goto fail;
    }
  } else if (strncmp(to, "command:", 8) == 0) {
    o->sink = SINK_COMMAND;
    o->where = strdup(to + 8);
    if (cfg->format == EMIT_JSONL) {
      rc = error_set(err, INTEG_ECONFIG,
                     "output.to: a command target needs format singer or "
                     "airbyte, which carry states to echo (not jsonl)");
      goto fail;
    }
    if (!o->where || start_command(o, o->where, err)) {
      rc = err ? err->code : INTEG_ENOMEM;
      goto fail;
    }
  } else {
    rc = error_set(err, INTEG_ECONFIG,
                   "output.to: '%s' is not stdout, file:PATH or command:CMD",
                   to);
    goto fail;
  }
  if (!o->where) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto fail;
  }
  o->fsync_ok = fstat(o->fd, &st) == 0 && S_ISREG(st.st_mode);
  *out = o;
  return 0;
fail:
  output_close(o, 0, NULL);
  return rc;
}

static int write_all(struct output *o, const char *p, size_t n,
                     struct integ_error *err)
{
  while (n) {
    ssize_t w = write(o->fd, p, n);

    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0) {
      int e = errno;

      if (e == EPIPE)
        return error_set(err, INTEG_EIO,
                         "output %s: closed by the reader (broken pipe); "
                         "nothing past the last committed state is "
                         "committed",
                         o->where);
      return error_set(err, INTEG_EIO, "output %s: write failed: %s%s",
                       o->where, strerror(e),
                       e == ENOSPC ? " (the disk is full)" : "");
    }
    p += w;
    n -= (size_t)w;
    o->stats.bytes += (uint64_t)w;
  }
  return 0;
}

/* Write the buffer out. A failed write or fsync makes the output fail
 * for good: records may be lost, so no later state may be committed, even
 * if a later write would go through (a disk that had a moment's room). */
static int flush(struct output *o, struct integ_error *err)
{
  int rc = 0;

  if (o->failed)
    return error_set(err, INTEG_EIO,
                     "output %s failed earlier: nothing more is committed",
                     o->where);
  if (o->buf.len)
    rc = write_all(o, o->buf.data, o->buf.len, err);
  buf_reset(&o->buf);
  if (rc)
    o->failed = 1;
  return rc;
}

static void commit_upto(struct output *o, struct pending *upto,
                        struct integ_error *err, int *rc)
{
  struct pending *p;

  while ((p = o->waiting)) {
    int last = p == upto;

    o->waiting = p->next;
    if (!o->waiting)
      o->tail = &o->waiting;
    /* Only the newest acknowledged state need be committed. */
    if (last && o->cfg.commit && !*rc) {
      *rc = o->cfg.commit(o->cfg.commit_arg, p->state, err);
      if (!*rc)
        o->stats.commits++;
    }
    json_decref(p->state);
    json_decref(p->messages);
    free(p);
    if (last)
      break;
  }
}

/* Does the target's line acknowledge pending p? Singer targets echo the
 * STATE's value; Airbyte destinations and some targets the message. */
static int acknowledges(json_t *line, const struct pending *p)
{
  json_t *m;
  size_t i;

  json_array_foreach(p->messages, i, m)
  {
    if (json_equal(line, m) || json_equal(line, json_object_get(m, "value")))
      return 1;
  }
  return 0;
}

static void handle_echo(struct output *o, const char *line, size_t len,
                        struct integ_error *err, int *rc)
{
  json_error_t jerr;
  json_t *v = json_loadb(line, len, 0, &jerr);
  struct pending *p, *hit = NULL;

  for (p = o->waiting; v && p; p = p->next)
    if (acknowledges(v, p))
      hit = p;
  if (hit)
    commit_upto(o, hit, err, rc);
  else
    log_msg(INTEG_LOG_DEBUG, o->cfg.connector, "target said: %.*s",
            (int)(len > 200 ? 200 : len), line);
  json_decref(v);
}

/* Read what the target echoed; wait up to timeout_ms for more (0: only
 * what is there). Returns 1 at the target's end of output. */
static int read_echoes(struct output *o, int64_t timeout_ms,
                       struct integ_error *err, int *rc)
{
  char chunk[65536];
  int64_t until = mono_ms() + timeout_ms;

  for (;;) {
    ssize_t n = read(o->echo_fd, chunk, sizeof(chunk));

    if (n > 0) {
      char *nl;
      size_t start = 0;

      if (buf_append(&o->echo, chunk, (size_t)n)) {
        *rc = error_set(err, INTEG_ENOMEM, "out of memory");
        return 1;
      }
      while ((nl = memchr(o->echo.data + start, '\n', o->echo.len - start))) {
        size_t len = (size_t)(nl - (o->echo.data + start));

        handle_echo(o, o->echo.data + start, len, err, rc);
        start += len + 1;
      }
      memmove(o->echo.data, o->echo.data + start, o->echo.len - start);
      o->echo.len -= start;
      continue;
    }
    if (n == 0)
      return 1;
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN) {
      *rc = error_set(err, INTEG_EIO, "reading from target '%s': %s", o->where,
                      strerror(errno));
      return 1;
    }
    if (timeout_ms <= 0 || !o->waiting || mono_ms() >= until)
      return 0;
    {
      struct pollfd pfd = {o->echo_fd, POLLIN, 0};
      int64_t left = until - mono_ms();

      poll(&pfd, 1, (int)(left > 1000 ? 1000 : left < 0 ? 0 : left));
    }
  }
}

int output_record(struct output *o, const char *stream, json_t *record,
                  struct integ_error *err)
{
  json_t *projected = NULL;
  int rc, nomem = 0;

  if (o->cfg.catalog) {
    if (!catalog_selected(o->cfg.catalog, stream))
      return 0;
    projected =
        catalog_project(catalog_find(o->cfg.catalog, stream), record, &nomem);
    if (nomem)
      return error_set(err, INTEG_ENOMEM, "out of memory");
  }
  if (o->started && !json_object_get(o->started, stream)) {
    rc = json_object_set_new(o->started, stream, json_true())
             ? error_set(err, INTEG_ENOMEM, "out of memory")
             : o->cfg.stream_start(o->cfg.stream_start_arg, stream, &o->buf,
                                   err);
    if (rc) {
      json_decref(projected);
      return rc;
    }
  }
  rc = emit_record(o->emit, &o->buf, stream, projected ? projected : record,
                   now_ms(o), err);
  json_decref(projected);
  if (rc)
    return rc;
  o->stats.records++;
  o->since++;
  if (o->buf.len >= OUTPUT_BUFFER - 4096) {
    rc = flush(o, err);
    if (!rc && o->sink == SINK_COMMAND)
      read_echoes(o, 0, err, &rc);
  }
  return rc;
}

int output_checkpoint(struct output *o, struct integ_error *err)
{
  size_t before = o->buf.len;
  int rc = 0;

  o->stats.checkpoints++;
  o->since = 0;
  o->last_ms = mono_ms();
  if (o->state) {
    rc = emit_state(o->emit, &o->buf, o->state, now_ms(o), err);
    if (rc)
      return rc;
  }
  if (o->sink == SINK_COMMAND && o->state && o->buf.len > before) {
    /* Remember what we said, to know the echo when it comes. */
    struct pending *p = calloc(1, sizeof(*p));
    json_error_t jerr;
    const char *s = o->buf.data + before, *end = o->buf.data + o->buf.len;

    if (!p || !(p->messages = json_array())) {
      free(p);
      return error_set(err, INTEG_ENOMEM, "out of memory");
    }
    while (s < end) {
      const char *nl = memchr(s, '\n', (size_t)(end - s));
      size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);

      json_array_append_new(p->messages, json_loadb(s, len, 0, &jerr));
      s += len + 1;
    }
    p->state = o->state;
    o->state = NULL;
    *o->tail = p;
    o->tail = &p->next;
  }
  rc = flush(o, err);
  if (rc)
    return rc;
  if (o->fsync_ok && fsync(o->fd)) {
    o->failed = 1;
    return error_set(err, INTEG_EIO, "output %s: fsync failed: %s%s", o->where,
                     strerror(errno),
                     errno == ENOSPC ? " (the disk is full)" : "");
  }
  if (o->sink == SINK_COMMAND) {
    read_echoes(o, 0, err, &rc);
    return rc;
  }
  if (o->state && o->cfg.commit) {
    rc = o->cfg.commit(o->cfg.commit_arg, o->state, err);
    if (!rc)
      o->stats.commits++;
  }
  json_decref(o->state);
  o->state = NULL;
  return rc;
}

int output_state(struct output *o, json_t *state, struct integ_error *err)
{
  /* A deep copy: the plugin goes on changing its own object. */
  json_t *copy = json_deep_copy(state);

  if (!copy)
    return error_set(err, INTEG_ENOMEM, "out of memory copying a state");
  json_decref(o->state);
  o->state = copy;
  if (o->since >= o->cfg.checkpoint_records ||
      mono_ms() - o->last_ms >= o->cfg.checkpoint_ms)
    return output_checkpoint(o, err);
  return 0;
}

int output_close(struct output *o, int ok, struct integ_error *err)
{
  int rc = 0, status;

  if (!o)
    return 0;
  if (o->failed)
    ok = 0;
  if (ok)
    rc = output_checkpoint(o, err);
  if (o->sink == SINK_COMMAND && o->fd >= 0) {
    close(o->fd);
    o->fd = -1;
    /* The target commits what it has and echoes the last states. */
    if (o->echo_fd >= 0 && !rc && ok)
      read_echoes(o, o->cfg.echo_timeout_ms, err, &rc);
    if (!rc && ok && o->waiting)
      rc = error_set(err, INTEG_ESTATE,
                     "target '%s' did not echo the last state within %lld "
                     "s: it is not committed",
                     o->where, (long long)o->cfg.echo_timeout_ms / 1000);
  }
  if (o->child > 0) {
    if (!ok)
      kill(o->child, SIGTERM);
    while (waitpid(o->child, &status, 0) < 0 && errno == EINTR)
      ;
    if (ok && !rc && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
      rc = error_set(
          err, INTEG_EIO, "target '%s' %s %d", o->where,
          WIFEXITED(status) ? "exited with status" : "was killed by signal",
          WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
  }
  if (o->echo_fd >= 0)
    close(o->echo_fd);
  if (o->sink == SINK_FILE && o->fd >= 0 && close(o->fd) && ok && !rc)
    rc = error_set(err, INTEG_EIO, "output %s: close failed: %s", o->where,
                   strerror(errno));
  commit_upto(o, NULL, NULL, &(int){1}); /* free what was never echoed */
  json_decref(o->state);
  json_decref(o->started);
  emit_free(o->emit);
  buf_free(&o->buf);
  buf_free(&o->echo);
  free(o->where);
  free(o);
  return rc;
}

void output_get_stats(const struct output *o, struct output_stats *s)
{
  *s = o->stats;
}
