/* notify.c - sd_notify messages over $NOTIFY_SOCKET. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <integ/plugin.h>

#include "notify.h"

int notify_send(const char *state)
{
  const char *path = getenv("NOTIFY_SOCKET");
  struct sockaddr_un sa;
  socklen_t len;
  size_t n;
  ssize_t sent;
  int fd, rc;

  if (!path || !*path)
    return 0;
  n = strlen(path);
  /* Only a path or an abstract name: vsock addresses are not for us. */
  if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sa.sun_path))
    return INTEG_EINVAL;
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, n);
  if (path[0] == '@')
    sa.sun_path[0] = '\0';
  len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
  fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd == -1)
    return INTEG_EIO;
  sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
                (const struct sockaddr *)&sa, len);
  rc = sent == (ssize_t)strlen(state) ? 1 : INTEG_EIO;
  close(fd);
  return rc;
}

int notify_sendf(const char *fmt, ...)
{
  char buf[512];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return notify_send(buf);
}
