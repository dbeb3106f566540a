/* control.c - the daemon's control socket and its client. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "error.h"

#define CONTROL_MAX_LINE 4096

static int addr_of(const char *path, struct sockaddr_un *sa,
                   struct integ_error *err)
{
  size_t n = strlen(path);

  memset(sa, 0, sizeof(*sa));
  sa->sun_family = AF_UNIX;
  if (n >= sizeof(sa->sun_path))
    return error_set(err, INTEG_ECONFIG,
                     "control socket %s: the path is longer than %zu bytes "
                     "(set daemon.control_socket to a shorter one)",
                     path, sizeof(sa->sun_path) - 1);
  memcpy(sa->sun_path, path, n);
  return 0;
}

/* Connect to PATH: *fd, or INTEG_ENOTFOUND when nobody listens. */
static int dial(const char *path, int *fd, struct integ_error *err)
{
  struct sockaddr_un sa;
  int f, rc = addr_of(path, &sa, err);

  *fd = -1;
  if (rc)
    return rc;
  f = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (f == -1)
    return error_set(err, INTEG_EIO, "socket: %s", strerror(errno));
  if (connect(f, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
    int e = errno;

    close(f);
    if (e == ENOENT || e == ECONNREFUSED)
      return error_set(err, INTEG_ENOTFOUND,
                       "no daemon is running: nothing listens on %s (start "
                       "`integ daemon`, or check daemon.control_socket)",
                       path);
    return error_set(err, INTEG_EIO, "control socket %s: %s", path,
                     strerror(e));
  }
  *fd = f;
  return 0;
}

/* Read one line (without its newline) from fd within timeout_ms. */
static int read_line(int fd, int timeout_ms, char **out,
                     struct integ_error *err)
{
  char *buf = malloc(CONTROL_MAX_LINE + 1);
  size_t len = 0;

  *out = NULL;
  if (!buf)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  while (len < CONTROL_MAX_LINE) {
    struct pollfd p = {fd, POLLIN, 0};
    ssize_t n;

    if (poll(&p, 1, timeout_ms) <= 0)
      break;
    n = read(fd, buf + len, CONTROL_MAX_LINE - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    len += (size_t)n;
    if (memchr(buf, '\n', len))
      break;
  }
  buf[len] = '\0';
  if (strchr(buf, '\n'))
    *strchr(buf, '\n') = '\0';
  if (!len) {
    free(buf);
    return error_set(err, INTEG_EIO, "control socket: no request or reply");
  }
  *out = buf;
  return 0;
}

int control_request(const char *path, const char *request, json_t **reply,
                    struct integ_error *err)
{
  json_error_t jerr;
  char *line = NULL;
  size_t n = strlen(request);
  int fd = -1, rc;

  *reply = NULL;
  rc = dial(path, &fd, err);
  if (rc)
    goto out;
  if (write(fd, request, n) != (ssize_t)n || write(fd, "\n", 1) != 1) {
    rc = error_set(err, INTEG_EIO, "control socket %s: %s", path,
                   strerror(errno));
    goto out;
  }
  rc = read_line(fd, 10000, &line, err);
  if (rc)
    goto out;
  *reply = json_loads(line, 0, &jerr);
  if (!*reply || !json_is_object(*reply)) {
    json_decref(*reply);
    *reply = NULL;
    rc = error_set(err, INTEG_EIO,
                   "control socket %s: a reply that is not "
                   "a JSON object",
                   path);
  }
out:
  free(line);
  if (fd != -1)
    close(fd);
  return rc;
}

int control_listen(const char *path, int *fd, struct integ_error *err)
{
  struct sockaddr_un sa;
  char *dir = NULL, *slash;
  mode_t old;
  int f = -1, rc;

  *fd = -1;
  rc = addr_of(path, &sa, err);
  if (rc)
    return rc;
  dir = strdup(path);
  if (!dir)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  slash = strrchr(dir, '/');
  if (slash && slash != dir) {
    *slash = '\0';
    if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
      rc = error_set(err, INTEG_ESTATE,
                     "control socket directory %s: %s (create it or set "
                     "daemon.control_socket)",
                     dir, strerror(errno));
      goto out;
    }
  }
  {
    json_t *reply = NULL;
    struct integ_error ign = {0, ""};

    /* A live daemon answers: refuse, naming it. A dead one left a file
     * nobody listens on: replace it. */
    if (control_request(path, "pid", &reply, &ign) == 0) {
      rc = error_set(
          err, INTEG_ESTATE,
          "another daemon (pid %lld) listens on %s: stop it "
          "first",
          (long long)json_integer_value(json_object_get(reply, "pid")), path);
      json_decref(reply);
      goto out;
    }
    json_decref(reply);
  }
  unlink(path);
  f = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (f == -1) {
    rc = error_set(err, INTEG_EIO, "socket: %s", strerror(errno));
    goto out;
  }
  /* Created 0600 from the start: no window in which others may connect. */
  old = umask(0177);
  rc = bind(f, (struct sockaddr *)&sa, sizeof(sa));
  umask(old);
  if (rc == -1 || listen(f, 16) == -1) {
    rc = error_set(err, INTEG_ESTATE, "control socket %s: %s", path,
                   strerror(errno));
    goto out;
  }
  rc = 0;
  *fd = f;
  f = -1;
out:
  if (f != -1)
    close(f);
  free(dir);
  return rc;
}

int control_accept(int fd, int *client, char **line, struct integ_error *err)
{
  int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
  int rc;

  *client = -1;
  *line = NULL;
  if (c == -1)
    return 0;
  rc = read_line(c, 1000, line, err);
  if (rc) {
    close(c);
    return rc;
  }
  *client = c;
  return 0;
}

void control_reply(int client, json_t *reply)
{
  char *text = json_dumps(reply, JSON_COMPACT);

  if (text) {
    size_t n = strlen(text);

    /* Best effort: a client that went away loses its answer. */
    if (send(client, text, n, MSG_NOSIGNAL) == (ssize_t)n)
      (void)send(client, "\n", 1, MSG_NOSIGNAL);
  }
  free(text);
  close(client);
}
