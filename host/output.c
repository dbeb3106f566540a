/* output.c - sinks, buffering and checkpoints (see output.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
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
#include "jscan.h"
#include "log.h"
#include "output.h"
#include "secrets.h"

/* Written out when this full, and at checkpoints: large writes, few
 * syscalls. */
#define OUTPUT_BUFFER (1u << 20)

enum sink { SINK_STDOUT, SINK_FILE, SINK_COMMAND };

/* A target's stderr: lines kept for messages, and their length. */
#define STDERR_KEEP 3
#define STDERR_KEEP_LEN 160
/* Longest stderr line logged whole; longest stdout line logged. */
#define STDERR_LINE_MAX 4096
#define STDOUT_LOG_LEN 200
/* Echoes that arrived are read at least this often while records or
 * states come (ms): their states then commit without waiting for the
 * next checkpoint. */
#define ECHO_POLL_MS 10
/* How long a checkpoint waits for its echo before going on (ms). */
#define ECHO_WAIT_MS 50

/* At most this many checkpoints wait for an echo: an echo of a later one
 * acknowledges the earlier ones too, so the oldest can go. */
#define PENDING_MAX 64
/* A target reaped while a child of its own still holds its pipes open:
 * read them this much longer. */
#define LINGER_MS 1000
/* Stdout lines up to this long are read as possible echoes; longer ones
 * if a STATE message sent was long (8 times it: added spaces, escapes). */
#define ECHO_MIN 65536

/* A checkpoint whose STATE messages were written to a target and wait for
 * their echo. Any one echoed acknowledges the records before them all. */
struct pending {
  json_t *state;    /* the plugin's state, to commit */
  json_t *messages; /* array: the STATE messages written, in order */
  size_t next;      /* messages[next..] are not echoed yet */
  int committed;    /* state has been committed */
  struct pending *later;
};

/* One of a target's output pipes, read line by line. */
struct lines {
  int fd;          /* -1 at its end */
  struct buf part; /* a line not ended yet */
  int skipping;    /* dropping the rest of an over-long line */
};

struct output {
  struct output_config cfg;
  enum sink sink;
  char *where; /* file name or command, for messages */
  struct emit *emit;
  struct buf buf;
  int fd;
  int fsync_ok; /* the fd is a regular file */
  /* command: the target, its stdout (echoes) and its stderr */
  pid_t child;
  int reaped, status; /* the child has been waited for, its status */
  struct lines out, errs;
  size_t echo_max; /* longer stdout lines cannot be echoes */
  uint64_t logged; /* stdout lines seen that were not echoes */
  char tail[STDERR_KEEP][STDERR_KEEP_LEN + 1]; /* last stderr lines */
  size_t ntail;                                /* lines in tail, ever */
  struct pending *waiting, **last;
  size_t nwaiting;
  json_t *state;  /* the plugin's last state, not yet checkpointed */
  uint64_t since; /* records since the last checkpoint */
  int64_t last_ms;
  struct output_stats stats;
  json_t *started;      /* stream_start: {stream: true} of streams begun */
  int failed;           /* a write or fsync failed: commit nothing more */
  int64_t echo_poll_ms; /* poll_echoes: not before this (monotonic) */

  /* output_page: the frame of the page being written, and a stream's
   * first page until it has records (nothing is started for an empty
   * page). */
  struct buf frame, first;
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

int output_expand_template(const char *tmpl, const char *connector,
                           const char *account, int64_t now_ms, char **out,
                           struct integ_error *err)
{
  struct buf b = BUF_INIT;
  time_t t = (time_t)(now_ms / 1000);
  struct tm tm;
  const char *p = tmpl;
  int rc = 0;

  *out = NULL;
  gmtime_r(&t, &tm);
  while (*p && !rc) {
    const char *open = strchr(p, '{'), *close;
    size_t n;

    if (!open) {
      rc = buf_appends(&b, p);
      p += strlen(p);
      continue;
    }
    close = strchr(open, '}');
    rc = buf_append(&b, p, (size_t)(open - p));
    if (rc)
      break;
    n = close ? (size_t)(close - open - 1) : 0;
    if (close && n == 9 && strncmp(open + 1, "connector", 9) == 0)
      rc = buf_appends(&b, connector ? connector : "");
    else if (close && n == 7 && strncmp(open + 1, "account", 7) == 0)
      rc = buf_appends(&b, account ? account : "default");
    else if (close && n == 4 && strncmp(open + 1, "date", 4) == 0)
      rc = buf_printf(&b, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                      tm.tm_mday);
    else if (close && n == 4 && strncmp(open + 1, "time", 4) == 0)
      rc = buf_printf(&b, "%02d%02d%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
    else {
      rc = error_set(err, INTEG_ECONFIG,
                     "output.to: '%s': unknown placeholder at character %zu "
                     "(known: {connector}, {account}, {date}, {time})",
                     tmpl, (size_t)(open - tmpl) + 1);
      goto out;
    }
    p = close + 1;
  }
  if (!rc && !b.data && !(rc = buf_reserve(&b, 1)))
    b.data[0] = '\0';
  if (rc) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  *out = b.data;
  b.data = NULL;
out:
  buf_free(&b);
  return rc;
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

/* A pipe end moved above 2, so that dup2 onto 0, 1 and 2 in the child
 * never finds one of its sources already replaced, and never dup2()s a
 * descriptor onto itself (which would keep its close-on-exec flag). */
static int lift_fd(int *fd)
{
  int nfd;

  if (*fd > 2)
    return 0;
  nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
  if (nfd < 0)
    return -1;
  close(*fd);
  *fd = nfd;
  return 0;
}

extern char **environ;

/* Start `/bin/sh -c cmd` with our records on its stdin and its stdout and
 * stderr on pipes of ours, all non-blocking on our side. posix_spawn,
 * not fork: libcurl's resolver threads may be running, and a forked child
 * of a threaded process may only call async-signal-safe functions. */
static int start_command(struct output *o, const char *cmd,
                         struct integ_error *err)
{
  int p[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}}; /* stdin, stdout, stderr */
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  sigset_t dflt, none;
  char *argv[] = {"sh", "-c", (char *)cmd, NULL};
  char **env = NULL;
  int rc = 0, e = 0, fa_ok = 0, at_ok = 0;
  size_t i;

  for (i = 0; i < 3 && !e; i++)
    if (pipe2(p[i], O_CLOEXEC) || lift_fd(&p[i][0]) || lift_fd(&p[i][1]))
      e = errno;
  if (e) {
    rc = error_set(err, INTEG_EIO, "cannot start target '%s': pipe: %s", cmd,
                   strerror(e));
    goto out;
  }
  /* Signals integ ignores or handles start at their defaults in the
   * target (an ignored SIGPIPE would stay ignored across exec), with none
   * blocked; its own process group lets integ stop a whole pipeline. */
  sigemptyset(&none);
  sigemptyset(&dflt);
  sigaddset(&dflt, SIGPIPE);
  sigaddset(&dflt, SIGINT);
  sigaddset(&dflt, SIGTERM);
  sigaddset(&dflt, SIGHUP);
  sigaddset(&dflt, SIGQUIT);
  sigaddset(&dflt, SIGCHLD);
  e = posix_spawn_file_actions_init(&fa);
  fa_ok = !e;
  if (!e)
    e = posix_spawnattr_init(&at);
  at_ok = fa_ok && !e;
  if (!e)
    e = posix_spawn_file_actions_adddup2(&fa, p[0][0], 0);
  if (!e)
    e = posix_spawn_file_actions_adddup2(&fa, p[1][1], 1);
  if (!e)
    e = posix_spawn_file_actions_adddup2(&fa, p[2][1], 2);
  if (!e)
    e = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF |
                                          POSIX_SPAWN_SETSIGMASK |
                                          POSIX_SPAWN_SETPGROUP);
  if (!e)
    e = posix_spawnattr_setsigdefault(&at, &dflt);
  if (!e)
    e = posix_spawnattr_setsigmask(&at, &none);
  if (!e)
    e = posix_spawnattr_setpgroup(&at, 0);
  if (!e && !(env = secrets_environ()))
    e = ENOMEM;
  if (!e)
    e = posix_spawn(&o->child, "/bin/sh", &fa, &at, argv, env);
  free(env);
  if (e) {
    o->child = 0;
    rc = error_set(err, INTEG_EIO, "cannot start target '%s': %s", cmd,
                   strerror(e));
    goto out;
  }
  o->fd = p[0][1];
  o->out.fd = p[1][0];
  o->errs.fd = p[2][0];
  p[0][1] = p[1][0] = p[2][0] = -1;
  fcntl(o->fd, F_SETFL, fcntl(o->fd, F_GETFL) | O_NONBLOCK);
  fcntl(o->out.fd, F_SETFL, fcntl(o->out.fd, F_GETFL) | O_NONBLOCK);
  fcntl(o->errs.fd, F_SETFL, fcntl(o->errs.fd, F_GETFL) | O_NONBLOCK);
out:
  if (at_ok)
    posix_spawnattr_destroy(&at);
  if (fa_ok)
    posix_spawn_file_actions_destroy(&fa);
  for (i = 0; i < 3; i++) {
    if (p[i][0] >= 0)
      close(p[i][0]);
    if (p[i][1] >= 0)
      close(p[i][1]);
  }
  return rc;
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
  int found = 0;

  if (fstat(o->fd, &st) || !S_ISREG(st.st_mode) || st.st_size == 0)
    return 0;
  end = st.st_size;
  pos = end;
  while (pos > 0 && !found) {
    size_t n = pos > (off_t)sizeof(chunk) ? sizeof(chunk) : (size_t)pos;
    ssize_t got = pread(o->fd, chunk, n, pos - (off_t)n);
    size_t i = n;

    if (got != (ssize_t)n)
      return error_set(err, INTEG_EIO, "output %s: read failed: %s", o->where,
                       got < 0 ? strerror(errno) : "file shrank");
    while (i > 0 && chunk[i - 1] != '\n')
      i--;
    found = i > 0;
    pos = pos - (off_t)n + (off_t)i;
  }
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
  if (!o->cfg.term_wait_ms)
    o->cfg.term_wait_ms = 5000;
  o->fd = -1;
  o->out.fd = -1;
  o->errs.fd = -1;
  o->echo_max = ECHO_MIN;
  o->last = &o->waiting;
  o->last_ms = mono_ms();
  rc = emit_new(cfg->format, &o->emit, err);
  if (rc)
    goto out;
  if (cfg->stream_start && !(o->started = json_object())) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  if (streams && cfg->catalog) {
    /* Schemas without the deselected fields, as the records will be. */
    json_t *declared = NULL;

    rc = catalog_check(cfg->catalog, streams, err);
    if (!rc && !(declared = catalog_apply_streams(cfg->catalog, streams)))
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
    if (!rc)
      rc = emit_add_streams(o->emit, declared, err);
    json_decref(declared);
  } else if (streams)
    rc = emit_add_streams(o->emit, streams, err);
  if (rc)
    goto out;
  if (buf_reserve(&o->buf, OUTPUT_BUFFER)) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  if (strcmp(to, "stdout") == 0) {
    o->sink = SINK_STDOUT;
    o->fd = cfg->out_fd;
    o->where = strdup("standard output");
  } else if (strncmp(to, "file:", 5) == 0) {
    o->sink = SINK_FILE;
    rc = output_expand_template(to + 5, cfg->connector, cfg->account,
                                now_ms(o), &o->where, err);
    if (!rc)
      rc = make_parents(o->where, err);
    if (rc)
      goto out;
    o->fd = open(o->where, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (o->fd < 0) {
      rc = error_set(err, INTEG_EIO, "output %s: cannot open: %s", o->where,
                     strerror(errno));
      goto out;
    }
    rc = trim_torn_line(o, err);
    if (rc)
      goto out;
  } else if (strncmp(to, "command:", 8) == 0) {
    o->sink = SINK_COMMAND;
    if (cfg->format == EMIT_JSONL) {
      rc = error_set(err, INTEG_ECONFIG,
                     "output.to: a command target needs format singer or "
                     "airbyte, which carry states to echo (not jsonl)");
      goto out;
    }
    o->where = strdup(to + 8);
    if (o->where)
      rc = start_command(o, o->where, err);
    if (rc)
      goto out;
  } else {
    rc = error_set(err, INTEG_ECONFIG,
                   "output.to: '%s' is not stdout, file:PATH or command:CMD",
                   to);
    goto out;
  }
  if (!o->where) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  o->fsync_ok = fstat(o->fd, &st) == 0 && S_ISREG(st.st_mode);
  *out = o;
  o = NULL;
out:
  if (o)
    output_close(o, 0, NULL);
  return rc;
}

/* ------------------------------------------------------ echo matching */

static int number_same(json_t *a, json_t *b)
{
  double r;
  json_int_t i;

  if (json_is_integer(a) && json_is_integer(b))
    return json_integer_value(a) == json_integer_value(b);
  if (json_is_real(a) && json_is_real(b))
    return json_real_value(a) == json_real_value(b);
  i = json_integer_value(json_is_integer(a) ? a : b);
  r = json_real_value(json_is_real(a) ? a : b);
  /* Exact, also beyond 2^53: the real must be that very integer. */
  if (!(r >= -9223372036854775808.0 && r < 9223372036854775808.0) ||
      r != (double)(json_int_t)r)
    return 0;
  return (json_int_t)r == i;
}

int output_json_same(json_t *a, json_t *b)
{
  const char *key;
  json_t *v;
  size_t i;

  if (!a || !b)
    return a == b;
  if (json_is_number(a) && json_is_number(b))
    return number_same(a, b);
  if (json_typeof(a) != json_typeof(b))
    return 0;
  switch (json_typeof(a)) {
  case JSON_OBJECT:
    if (json_object_size(a) != json_object_size(b))
      return 0;
    json_object_foreach(a, key, v)
    {
      if (!output_json_same(v, json_object_get(b, key)))
        return 0;
    }
    return 1;
  case JSON_ARRAY:
    if (json_array_size(a) != json_array_size(b))
      return 0;
    json_array_foreach(a, i, v)
    {
      if (!output_json_same(v, json_array_get(b, i)))
        return 0;
    }
    return 1;
  case JSON_STRING:
    return json_equal(a, b);
  default: /* true, false, null: the type is the value */
    return 1;
  }
}

/* A stream descriptor: the same name, and the same namespace, where a
 * null namespace is no namespace (serialisers differ on writing it). */
static int descriptor_same(json_t *a, json_t *b)
{
  json_t *na = json_object_get(a, "namespace");
  json_t *nb = json_object_get(b, "namespace");

  if (!json_is_object(a) || !json_is_object(b) ||
      !json_equal(json_object_get(a, "name"), json_object_get(b, "name")))
    return 0;
  if (json_is_null(na))
    na = NULL;
  if (json_is_null(nb))
    nb = NULL;
  return na || nb ? na && nb && json_equal(na, nb) : 1;
}

/* Two AirbyteStateMessage objects: the payload their type says. */
static int airbyte_state_same(json_t *echo, json_t *sent)
{
  const char *et = json_string_value(json_object_get(echo, "type"));
  const char *st = json_string_value(json_object_get(sent, "type"));

  /* No type is a legacy state in the protocol. */
  et = et ? et : "LEGACY";
  st = st ? st : "LEGACY";
  if (strcmp(et, st) != 0)
    return 0;
  if (strcmp(st, "STREAM") == 0) {
    json_t *es = json_object_get(echo, "stream");
    json_t *ss = json_object_get(sent, "stream");

    return descriptor_same(json_object_get(es, "stream_descriptor"),
                           json_object_get(ss, "stream_descriptor")) &&
           output_json_same(json_object_get(es, "stream_state"),
                            json_object_get(ss, "stream_state"));
  }
  if (strcmp(st, "GLOBAL") == 0)
    return output_json_same(json_object_get(echo, "global"),
                            json_object_get(sent, "global"));
  if (strcmp(st, "LEGACY") == 0)
    return output_json_same(json_object_get(echo, "data"),
                            json_object_get(sent, "data"));
  return 0;
}

int output_echo_acknowledges(json_t *echo, json_t *sent)
{
  json_t *value = json_object_get(sent, "value");
  json_t *state = json_object_get(sent, "state");
  const char *type = json_string_value(json_object_get(echo, "type"));
  int is_state = type && strcmp(type, "STATE") == 0;

  if (value) {
    /* Singer: targets print the value; some the whole message. */
    if (is_state && json_object_get(echo, "value"))
      return output_json_same(json_object_get(echo, "value"), value);
    return output_json_same(echo, value);
  }
  if (!is_state || !json_is_object(state))
    return 0;
  return airbyte_state_same(json_object_get(echo, "state"), state);
}

/* ------------------------------------------------------------ target */

static void pending_free(struct pending *p)
{
  json_decref(p->state);
  json_decref(p->messages);
  free(p);
}

/* Drop the oldest waiting checkpoint. */
static void pending_pop(struct output *o)
{
  struct pending *p = o->waiting;

  o->waiting = p->later;
  if (!o->waiting)
    o->last = &o->waiting;
  o->nwaiting--;
  pending_free(p);
}

/* messages[i] of checkpoint hit was echoed: the target holds every record
 * before it, and before every earlier checkpoint. Commit hit's state
 * (unless the output has failed: then nothing commits). */
static int acknowledged(struct output *o, struct pending *hit, size_t i,
                        struct integ_error *err)
{
  int rc = 0;

  while (o->waiting != hit)
    pending_pop(o);
  hit->next = i + 1;
  if (!hit->committed && !o->failed && o->cfg.commit) {
    rc = o->cfg.commit(o->cfg.commit_arg, hit->state, err);
    if (!rc)
      o->stats.commits++;
  }
  hit->committed = 1;
  if (hit->next >= json_array_size(hit->messages))
    pending_pop(o);
  return rc;
}

/* JSON text to a value; an integer beyond int64 is read as a real rather
 * than refused (numbers compare by value). NULL if it is not JSON. */
static json_t *parse_line(const char *s, size_t len)
{
  json_error_t jerr;
  json_t *v = json_loadb(s, len, 0, &jerr);

  if (!v && json_error_code(&jerr) == json_error_numeric_overflow)
    v = json_loadb(s, len, JSON_DECODE_INT_AS_REAL, &jerr);
  return v;
}

/* A line on the target's stdout: an echo, or something to log. */
static int stdout_line(struct output *o, const char *line, size_t len,
                       int truncated, struct integ_error *err)
{
  struct pending *p, *hit = NULL;
  json_t *v = NULL;
  size_t i = 0;
  int rc = 0;

  if (len && line[len - 1] == '\r')
    len--;
  if (!truncated && o->waiting && (v = parse_line(line, len))) {
    /* The earliest unechoed message it matches: an unchanged stream state
     * repeated in a later checkpoint must not acknowledge that one. */
    for (p = o->waiting; p && !hit; p = p->later)
      for (i = p->next; i < json_array_size(p->messages) && !hit; i++)
        if (output_echo_acknowledges(v, json_array_get(p->messages, i)))
          hit = p;
  }
  json_decref(v);
  if (hit)
    return acknowledged(o, hit, i - 1, err);
  if (o->logged < OUTPUT_LOG_LINES)
    log_msg(INTEG_LOG_DEBUG, o->cfg.connector, "target said: %.*s%s",
            (int)(len > STDOUT_LOG_LEN ? STDOUT_LOG_LEN : len), line,
            len > STDOUT_LOG_LEN || truncated ? "..." : "");
  else if (o->logged == OUTPUT_LOG_LINES)
    log_msg(INTEG_LOG_DEBUG, o->cfg.connector,
            "target said more than %d lines: the rest are not logged",
            OUTPUT_LOG_LINES);
  o->logged++;
  return rc;
}

/* A line on the target's stderr: logged (at warn, shown unless -q, as a
 * target's stderr was before integ read it), and kept for messages. */
static void stderr_line(struct output *o, const char *line, size_t len,
                        int truncated)
{
  char *keep = o->tail[o->ntail % STDERR_KEEP];
  size_t n;

  if (len && line[len - 1] == '\r')
    len--;
  if (!len)
    return;
  n = len > STDERR_KEEP_LEN ? STDERR_KEEP_LEN : len;
  log_msg(INTEG_LOG_WARN, o->cfg.connector, "target: %.*s%s", (int)len, line,
          truncated ? "..." : "");
  memcpy(keep, line, n);
  keep[n] = '\0';
  o->ntail++;
}

static int take_line(struct output *o, struct lines *l, const char *s,
                     size_t len, int truncated, struct integ_error *err)
{
  if (l == &o->out)
    return stdout_line(o, s, len, truncated, err);
  stderr_line(o, s, len, truncated);
  return 0;
}

/* Split bytes read from a pipe into lines; a line longer than its limit
 * is cut there and the rest of it dropped, so nothing grows unbounded. */
static int split_lines(struct output *o, struct lines *l, const char *s,
                       size_t n, struct integ_error *err)
{
  size_t max = l == &o->out ? o->echo_max : STDERR_LINE_MAX;
  int rc = 0;

  while (n && !rc) {
    const char *nl = memchr(s, '\n', n);
    size_t take = nl ? (size_t)(nl - s) : n;
    size_t step = take + (nl ? 1 : 0);

    if (l->skipping) {
      l->skipping = !nl;
    } else if (!l->part.len && nl && take <= max) {
      rc = take_line(o, l, s, take, 0, err); /* whole: no copy */
    } else if (l->part.len + take > max) {
      if (buf_append(&l->part, s, max - l->part.len))
        return error_set(err, INTEG_ENOMEM, "out of memory");
      rc = take_line(o, l, l->part.data, l->part.len, 1, err);
      buf_reset(&l->part);
      l->skipping = !nl;
    } else {
      if (buf_append(&l->part, s, take))
        return error_set(err, INTEG_ENOMEM, "out of memory");
      if (nl) {
        rc = take_line(o, l, l->part.data, l->part.len, 0, err);
        buf_reset(&l->part);
      }
    }
    s += step;
    n -= step;
  }
  return rc;
}

/* Read what a pipe has, without blocking; at its end, close it. */
static int drain(struct output *o, struct lines *l, struct integ_error *err)
{
  char chunk[65536];

  while (l->fd >= 0) {
    ssize_t n = read(l->fd, chunk, sizeof(chunk));
    int rc;

    if (n > 0) {
      rc = split_lines(o, l, chunk, (size_t)n, err);
      if (rc)
        return rc;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return 0;
    /* The end (or an error, which ends it too). */
    close(l->fd);
    l->fd = -1;
    rc = 0;
    if (l->part.len && !l->skipping)
      rc = take_line(o, l, l->part.data, l->part.len, 0, err);
    buf_reset(&l->part);
    return rc;
  }
  return 0;
}

/* Wait up to timeout_ms (-1: no limit) until the target's stdin takes
 * more (want_write) or its stdout or stderr has something, and read those.
 * Returns 0 or an error from an echo's commit. */
static int pump(struct output *o, int want_write, int timeout_ms,
                struct integ_error *err)
{
  struct pollfd pfd[3] = {{want_write ? o->fd : -1, POLLOUT, 0},
                          {o->out.fd, POLLIN, 0},
                          {o->errs.fd, POLLIN, 0}};
  int rc = 0;

  if (poll(pfd, 3, timeout_ms) < 0 && errno != EINTR)
    return error_set(err, INTEG_EIO, "target '%s': poll: %s", o->where,
                     strerror(errno));
  if (pfd[1].revents)
    rc = drain(o, &o->out, err);
  if (!rc && pfd[2].revents)
    rc = drain(o, &o->errs, err);
  return rc;
}

/* Has the target exited? Reaps it once. */
static int reap(struct output *o)
{
  pid_t r;

  if (o->reaped || o->child <= 0)
    return 1;
  while ((r = waitpid(o->child, &o->status, WNOHANG)) < 0 && errno == EINTR)
    ;
  if (r == o->child || (r < 0 && errno == ECHILD))
    o->reaped = 1;
  return o->reaped;
}

/* Read the target's output until it has exited and closed both pipes,
 * or until deadline (monotonic ms). Returns 0 or an echo's commit error. */
static int await_exit(struct output *o, int64_t deadline,
                      struct integ_error *err)
{
  int lingering = 0;

  for (;;) {
    int64_t now = mono_ms(), left;
    int rc;

    if (reap(o) && o->out.fd < 0 && o->errs.fd < 0)
      return 0;
    if (o->reaped && !lingering) {
      lingering = 1;
      if (deadline > now + LINGER_MS)
        deadline = now + LINGER_MS;
    }
    if (now >= deadline)
      return 0;
    /* Wake now and then to see whether it has exited. */
    left = deadline - now;
    rc = pump(o, 0, (int)(left > 50 ? 50 : left), err);
    if (rc)
      return rc;
  }
}

/* How the target ended ("exited with status 1"), into b (size bytes). */
static void describe_exit(const struct output *o, char *b, size_t size)
{
  if (!o->reaped)
    snprintf(b, size, "is still running");
  else if (WIFEXITED(o->status))
    snprintf(b, size, "exited with status %d", WEXITSTATUS(o->status));
  else
    snprintf(b, size, "was killed by signal %d (%s)", WTERMSIG(o->status),
             strsignal(WTERMSIG(o->status)));
}

/* "; its last lines on stderr: "a" "b"" (or that there were none), into
 * b (size bytes, truncated to fit). */
static void stderr_tail(const struct output *o, char *b, size_t size)
{
  size_t n = 0, k;
  int w;

  w = snprintf(b, size, "%s",
               o->ntail ? "; its last lines on stderr:"
                        : "; it wrote nothing on stderr");
  if (w > 0)
    n = (size_t)w;
  k = o->ntail > STDERR_KEEP ? o->ntail - STDERR_KEEP : 0;
  for (; k < o->ntail && n < size; k++) {
    w = snprintf(b + n, size - n, " \"%s\"", o->tail[k % STDERR_KEEP]);
    if (w > 0)
      n += (size_t)w;
  }
}

/* SIGTERM to the target's process group; SIGKILL if it has not exited
 * term_wait_ms later. Nothing it echoes meanwhile is committed. */
static void stop_target(struct output *o)
{
  int status;

  if (reap(o))
    return;
  o->failed = 1;
  kill(-o->child, SIGTERM);
  await_exit(o, mono_ms() + o->cfg.term_wait_ms, NULL);
  if (reap(o))
    return;
  log_msg(INTEG_LOG_WARN, o->cfg.connector,
          "target '%s' did not exit within %lld ms of SIGTERM: killing it "
          "(SIGKILL)",
          o->where, (long long)o->cfg.term_wait_ms);
  kill(-o->child, SIGKILL);
  while (waitpid(o->child, &status, 0) < 0 && errno == EINTR)
    ;
  o->status = status;
  o->reaped = 1;
}

/* End the target: close its input; with ok, wait for its echoes of the
 * last states and its exit, and say what went wrong; then stop it if it
 * is still running. */
static int close_target(struct output *o, int ok, struct integ_error *err)
{
  char how[64], tail[INTEG_ERROR_MAX / 2];
  int rc = 0;

  close(o->fd);
  o->fd = -1;
  if (ok) {
    rc = await_exit(o, mono_ms() + o->cfg.echo_timeout_ms, err);
    if (!rc) {
      describe_exit(o, how, sizeof(how));
      stderr_tail(o, tail, sizeof(tail));
      if (o->waiting && o->reaped)
        rc = error_set(err, INTEG_ESTATE,
                       "target '%s' %s without echoing the last state: it "
                       "is not committed%s",
                       o->where, how, tail);
      else if (o->waiting)
        rc = error_set(err, INTEG_ESTATE,
                       "target '%s' did not echo the last state within %lld "
                       "s: it is not committed",
                       o->where, (long long)o->cfg.echo_timeout_ms / 1000);
      else if (!o->reaped)
        rc = error_set(err, INTEG_EIO,
                       "target '%s' did not exit within %lld s of the end "
                       "of its input: stopping it",
                       o->where, (long long)o->cfg.echo_timeout_ms / 1000);
      else if (!WIFEXITED(o->status) || WEXITSTATUS(o->status) != 0)
        rc =
            error_set(err, INTEG_EIO, "target '%s' %s%s", o->where, how, tail);
    }
  }
  stop_target(o);
  return rc;
}

/* ------------------------------------------------------------ writing */

static int write_all(struct output *o, const char *p, size_t n,
                     struct integ_error *err)
{
  char how[64], tail[INTEG_ERROR_MAX / 2];
  int rc;

  while (n) {
    ssize_t w = write(o->fd, p, n);
    int e = errno;

    if (w >= 0) {
      p += w;
      n -= (size_t)w;
      o->stats.bytes += (uint64_t)w;
      continue;
    }
    if (e == EINTR)
      continue;
    if (e == EAGAIN && o->sink == SINK_COMMAND) {
      /* The target is not reading: read what it says meanwhile, so that
       * it is never blocked writing to us while we wait for it. */
      rc = pump(o, 1, -1, err);
      if (rc)
        return rc;
      continue;
    }
    if (e == EAGAIN) {
      /* A standard output left non-blocking by whoever started us. */
      struct pollfd pfd = {o->fd, POLLOUT, 0};

      poll(&pfd, 1, -1);
      continue;
    }
    o->failed = 1;
    if (e == EPIPE && o->sink == SINK_COMMAND) {
      /* It closed its input: most likely it has exited; say how. */
      await_exit(o, mono_ms() + LINGER_MS, NULL);
      describe_exit(o, how, sizeof(how));
      stderr_tail(o, tail, sizeof(tail));
      return error_set(err, INTEG_EIO,
                       "target '%s' stopped reading its input and %s: "
                       "nothing past the last committed state is "
                       "committed%s",
                       o->where, how, tail);
    }
    if (e == EPIPE)
      return error_set(err, INTEG_EIO,
                       "output %s: closed by the reader (broken pipe); "
                       "nothing past the last committed state is "
                       "committed",
                       o->where);
    return error_set(err, INTEG_EIO, "output %s: write failed: %s%s", o->where,
                     strerror(e), e == ENOSPC ? " (the disk is full)" : "");
  }
  return 0;
}

/* Read the echoes that have arrived, without waiting, at most every
 * ECHO_POLL_MS: a state commits as soon as its echo is there, not at the
 * next checkpoint. */
static int poll_echoes(struct output *o, struct integ_error *err)
{
  int64_t now;

  if (o->sink != SINK_COMMAND || !o->waiting)
    return 0;
  now = mono_ms();
  if (now < o->echo_poll_ms)
    return 0;
  o->echo_poll_ms = now + ECHO_POLL_MS;
  return pump(o, 0, 0, err);
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

int output_record(struct output *o, const char *stream, json_t *record,
                  struct integ_error *err)
{
  json_t *projected = NULL;
  int rc = poll_echoes(o, err), nomem = 0;

  if (rc)
    return rc;
  if (o->cfg.catalog) {
    if (!catalog_selected(o->cfg.catalog, stream))
      return 0;
    projected =
        catalog_project(catalog_find(o->cfg.catalog, stream), record, &nomem);
    if (nomem)
      return error_set(err, INTEG_ENOMEM, "out of memory");
  }
  if (o->started && !json_object_get(o->started, stream)) {
    if (json_object_set_new(o->started, stream, json_true()))
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
    else
      rc = o->cfg.stream_start(o->cfg.stream_start_arg, stream, &o->buf, err);
    if (rc)
      goto out;
  }
  rc = emit_record(o->emit, &o->buf, stream, projected ? projected : record,
                   now_ms(o), err);
  if (rc)
    goto out;
  o->stats.records++;
  o->since++;
  if (o->buf.len >= OUTPUT_BUFFER - 4096) {
    rc = flush(o, err);
    if (!rc && o->sink == SINK_COMMAND)
      rc = pump(o, 0, 0, err);
  }
out:
  json_decref(projected);
  return rc;
}

enum emit_format output_format(const struct output *o)
{
  return emit_get_format(o->emit);
}

int output_projects(const struct output *o, const char *stream)
{
  return o->cfg.catalog &&
         catalog_projects(catalog_find(o->cfg.catalog, stream));
}

int output_page(struct output *o, const char *stream, struct jscan *js,
                const char *body, size_t len, struct jscan_result *res,
                struct integ_error *err)
{
  struct jscan_frame frame;
  const struct catalog_stream *cs;
  struct buf *into = &o->buf;
  const char *ns;
  size_t start;
  int rc, ready;

  memset(res, 0, sizeof(*res));
  if (o->cfg.catalog && !catalog_selected(o->cfg.catalog, stream))
    return error_set(err, INTEG_ENOTSUP,
                     "stream '%s': the catalog does not select it", stream);
  cs = o->cfg.catalog ? catalog_find(o->cfg.catalog, stream) : NULL;
  rc = emit_page_begin(o->emit, NULL, stream, &ns, &ready, err);
  if (rc)
    return rc;
  if (o->started && !json_object_get(o->started, stream))
    ready = 0;
  rc = jscan_frame_make(&o->frame, emit_get_format(o->emit), stream, ns,
                        now_ms(o), &frame);
  if (rc)
    return error_set(err, rc == INTEG_EINVAL ? INTEG_EPLUGIN : rc,
                     "stream '%s': cannot frame its records", stream);
  /* Flush between pages only, early enough that a page's bytes (often
   * about its size) fit: the buffer stays near OUTPUT_BUFFER. */
  if (o->buf.len && o->buf.len + len + len / 2 + 4096 > OUTPUT_BUFFER) {
    rc = flush(o, err);
    if (!rc && o->sink == SINK_COMMAND)
      rc = pump(o, 0, 0, err);
    if (rc)
      return rc;
  }
  if (!ready) {
    buf_reset(&o->first);
    into = &o->first;
  }
  /* Singer field selection, Airbyte column selection: on the bytes. */
  if (catalog_projects(cs))
    jscan_set_project(js, catalog_keeps, cs);
  rc = jscan_page(js, body, len, jscan_format_flags(emit_get_format(o->emit)),
                  &frame, into, res, err);
  jscan_set_project(js, NULL, NULL);
  if (rc)
    return rc;
  if (!ready && res->records) {
    start = o->buf.len;
    if (o->started && !json_object_get(o->started, stream)) {
      if (json_object_set_new(o->started, stream, json_true()))
        rc = error_set(err, INTEG_ENOMEM, "out of memory");
      else
        rc =
            o->cfg.stream_start(o->cfg.stream_start_arg, stream, &o->buf, err);
    }
    if (!rc)
      rc = emit_page_begin(o->emit, &o->buf, stream, &ns, &ready, err);
    if (!rc)
      rc = buf_append(&o->buf, o->first.data, o->first.len)
               ? error_set(err, INTEG_ENOMEM, "out of memory")
               : 0;
    if (o->first.cap > OUTPUT_BUFFER)
      buf_free(&o->first);
    if (rc) {
      /* A page is written whole or not at all. */
      o->buf.len = start;
      if (o->buf.data)
        o->buf.data[start] = '\0';
      json_decref(res->fields);
      res->fields = NULL;
      return rc;
    }
  }
  emit_page_done(o->emit, stream, res->records);
  o->stats.records += res->records;
  o->since += res->records;
  if (o->buf.len >= OUTPUT_BUFFER - 4096) {
    rc = flush(o, err);
    if (!rc && o->sink == SINK_COMMAND)
      rc = pump(o, 0, 0, err);
  }
  /* The page is written; a failed flush fails the run, as for a record. */
  return rc;
}

/* Remember the STATE messages just written (the buffer from `from` on),
 * to know their echoes; the checkpoint takes over o->state. */
static int expect_echo(struct output *o, size_t from, struct integ_error *err)
{
  struct pending *p = calloc(1, sizeof(*p));
  const char *s = o->buf.data + from, *end = o->buf.data + o->buf.len;
  int rc = 0;

  if (!p || !(p->messages = json_array())) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  while (s < end) {
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
    json_t *m = parse_line(s, len);
    size_t max = ECHO_MIN + 8 * len;

    /* An echo may be longer than what was sent (spaces, escapes). */
    if (max > o->echo_max)
      o->echo_max = max;
    /* A line jansson cannot read (a number beyond a double) cannot be
     * matched; a later checkpoint's echo will acknowledge this one. */
    if (m && json_array_append_new(p->messages, m)) {
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
      goto out;
    }
    s += len + 1;
  }
  p->state = o->state;
  o->state = NULL;
  *o->last = p;
  o->last = &p->later;
  o->nwaiting++;
  p = NULL;
  if (o->nwaiting > PENDING_MAX)
    pending_pop(o);
out:
  if (p)
    pending_free(p);
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
    rc = expect_echo(o, before, err);
    if (rc)
      return rc;
  }
  rc = flush(o, err);
  if (rc)
    return rc;
  if (o->fsync_ok && fsync(o->fd)) {
    int e = errno;

    o->failed = 1;
    return error_set(err, INTEG_EIO, "output %s: fsync failed: %s%s", o->where,
                     strerror(e), e == ENOSPC ? " (the disk is full)" : "");
  }
  if (o->sink == SINK_COMMAND) {
    /* A target echoes a state once its records are safe, usually at
     * once: wait a moment so the state commits now, not one checkpoint
     * later; a slower echo is read by poll_echoes or the next checkpoint. */
    int64_t deadline = mono_ms() + ECHO_WAIT_MS, left;

    do {
      left = deadline - mono_ms();
      rc = pump(o, 0, left > 0 ? (int)left : 0, err);
    } while (!rc && o->waiting && left > 0 && o->out.fd >= 0);
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
  json_t *copy;
  int rc = poll_echoes(o, err);

  if (rc)
    return rc;
  copy = json_deep_copy(state);
  if (!copy)
    return error_set(err, INTEG_ENOMEM, "out of memory copying a state");
  /* The position of a stream the catalog leaves out is not passed on: its
   * records were not written, so a later run that selects it must start
   * from the beginning, not from where the plugin read to. */
  if (o->cfg.catalog && json_is_object(copy)) {
    const char *name;
    json_t *v;
    void *tmp;

    json_object_foreach_safe(copy, tmp, name, v)
    {
      if (!catalog_selected(o->cfg.catalog, name))
        json_object_del(copy, name);
    }
  }
  json_decref(o->state);
  o->state = copy;
  if (o->since >= o->cfg.checkpoint_records ||
      mono_ms() - o->last_ms >= o->cfg.checkpoint_ms)
    return output_checkpoint(o, err);
  return 0;
}

int output_close(struct output *o, int ok, struct integ_error *err)
{
  struct integ_error mine = {0, ""};
  struct integ_error *e = err ? err : &mine;
  int rc = 0;

  if (!o)
    return 0;
  if (o->failed)
    ok = 0;
  if (ok)
    rc = output_checkpoint(o, e);
  if (o->sink == SINK_COMMAND && o->fd >= 0) {
    int trc = close_target(o, ok && !rc, e);

    rc = rc ? rc : trc;
  }
  if (o->out.fd >= 0)
    close(o->out.fd);
  if (o->errs.fd >= 0)
    close(o->errs.fd);
  if (o->sink == SINK_FILE && o->fd >= 0 && close(o->fd) && ok && !rc)
    rc = error_set(e, INTEG_EIO, "output %s: close failed: %s", o->where,
                   strerror(errno));
  /* Without a caller to tell (the run failed already), say it here. */
  if (rc && !err && mine.message[0])
    log_msg(INTEG_LOG_WARN, o->cfg.connector, "%s", mine.message);
  while (o->waiting)
    pending_pop(o);
  json_decref(o->state);
  json_decref(o->started);
  emit_free(o->emit);
  buf_free(&o->buf);
  buf_free(&o->frame);
  buf_free(&o->first);
  buf_free(&o->out.part);
  buf_free(&o->errs.part);
  free(o->where);
  free(o);
  return rc;
}

void output_get_stats(const struct output *o, struct output_stats *s)
{
  *s = o->stats;
}
