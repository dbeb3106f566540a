/* lock.c - per-connector flock files. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "lock.h"

static pid_t read_pid(int fd)
{
  char buf[32];
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  long v;
  char *end;

  if (n <= 0)
    return -1;
  buf[n] = '\0';
  errno = 0;
  v = strtol(buf, &end, 10);
  return errno || end == buf || v <= 0 ? -1 : (pid_t)v;
}

int lock_take(const char *dir, const char *connector, int *fd, pid_t *holder,
              struct integ_error *err)
{
  char *path = NULL, *what = NULL;
  int rc;

  *fd = -1;
  if (holder)
    *holder = 0;
  if (asprintf(&path, "%s/%s.lock", dir, connector) < 0 ||
      asprintf(&what, "connector %s is running already", connector) < 0) {
    free(path);
    return error_set(err, INTEG_ENOMEM, "out of memory");
  }
  if (mkdir(dir, 0755) == -1 && errno != EEXIST)
    rc = error_set(err, INTEG_ESTATE,
                   "lock directory %s: %s (create it, writable by the user "
                   "integ runs as, or set daemon.lock_dir)",
                   dir, strerror(errno));
  else
    rc = lock_take_file(path, what, fd, holder, err);
  free(path);
  free(what);
  return rc;
}

int lock_take_file(const char *path, const char *what, int *fd, pid_t *holder,
                   struct integ_error *err)
{
  char pid[32];
  int f = -1, rc = 0, n;

  *fd = -1;
  if (holder)
    *holder = 0;
  f = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (f == -1) {
    rc = error_set(err, INTEG_ESTATE,
                   "lock %s: %s (set daemon.lock_dir to "
                   "a directory integ may write)",
                   path, strerror(errno));
    goto out;
  }
  if (flock(f, LOCK_EX | LOCK_NB) == -1) {
    int e = errno;
    pid_t p = e == EWOULDBLOCK ? read_pid(f) : 0;

    if (e != EWOULDBLOCK)
      rc = error_set(err, INTEG_ESTATE, "lock %s: %s", path, strerror(e));
    else if (p > 0)
      rc = error_set(err, INTEG_ESTATE, "%s: pid %ld holds %s", what, (long)p,
                     path);
    else
      rc = error_set(err, INTEG_ESTATE, "%s: another process holds %s", what,
                     path);
    if (holder)
      *holder = e == EWOULDBLOCK ? p : 0;
    goto out;
  }
  n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
  if (ftruncate(f, 0) == -1 || pwrite(f, pid, (size_t)n, 0) != n) {
    rc = error_set(err, INTEG_ESTATE, "lock %s: %s", path, strerror(errno));
    goto out;
  }
  *fd = f;
  f = -1;
out:
  if (f != -1)
    close(f);
  return rc;
}

void lock_release(int fd)
{
  if (fd >= 0)
    close(fd);
}

int lock_held(const char *dir, const char *connector, pid_t *holder)
{
  char *path = NULL;
  int f, held = 0;

  *holder = 0;
  if (asprintf(&path, "%s/%s.lock", dir, connector) < 0)
    return 0;
  f = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  free(path);
  if (f == -1)
    return 0;
  if (flock(f, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK) {
    held = 1;
    *holder = read_pid(f);
  } else {
    flock(f, LOCK_UN);
  }
  close(f);
  return held;
}
