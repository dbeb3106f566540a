/* echo_target.c - a tiny Singer target for tests: reads Singer messages on
 * stdin, appends each RECORD line to FILE, and at each STATE makes FILE
 * durable (fflush + fsync) and only then echoes the state's value on
 * stdout, as Singer targets do. Exits 0 at end of input.
 *   echo_target FILE
 * It takes an exclusive lock on FILE first, so a target left over from a
 * killed run finishes before the next one writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define STATE_PREFIX "{\"type\":\"STATE\",\"value\":"

int main(int argc, char **argv)
{
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  FILE *out;
  int fd, status = 0;

  if (argc != 2) {
    fprintf(stderr, "usage: echo_target FILE\n");
    return 2;
  }
  /* integ may be gone when we echo: a failed write is not a crash. */
  signal(SIGPIPE, SIG_IGN);
  fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0 || flock(fd, LOCK_EX) || !(out = fdopen(fd, "a"))) {
    fprintf(stderr, "echo_target: %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  while ((n = getline(&line, &cap, stdin)) > 0) {
    size_t plen = sizeof(STATE_PREFIX) - 1;

    if (line[n - 1] != '\n')
      break; /* a torn last message from a killed writer */
    if (strstr(line, "\"type\":\"RECORD\"")) {
      if (fwrite(line, 1, (size_t)n, out) != (size_t)n) {
        status = 1;
        break;
      }
    } else if ((size_t)n > plen + 2 && memcmp(line, STATE_PREFIX, plen) == 0) {
      if (fflush(out) || fsync(fd)) {
        status = 1;
        break;
      }
      /* The value: between the prefix and the closing "}\n". */
      fwrite(line + plen, 1, (size_t)n - plen - 2, stdout);
      fputc('\n', stdout);
      fflush(stdout);
    }
  }
  free(line);
  if (fclose(out))
    status = 1;
  return status;
}
