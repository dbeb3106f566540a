/* netaddr.c - listen addresses (see netaddr.h). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "netaddr.h"

int netaddr_parse_listen(const char *key, const char *example_port,
                         const char *listen, struct sockaddr_storage *ss,
                         long *port, struct integ_error *err)
{
  const char *colon = strrchr(listen, ':'), *host = listen;
  size_t hl = colon ? (size_t)(colon - listen) : 0;
  char name[64], *end = NULL;
  int ok = colon != NULL;

  memset(ss, 0, sizeof(*ss));
  if (ok && listen[0] == '[' && hl >= 2 && listen[hl - 1] == ']') {
    host++;
    hl -= 2;
  }
  ok = ok && hl < sizeof(name);
  if (ok) {
    memcpy(name, host, hl);
    name[hl] = '\0';
    errno = 0;
    *port = strtol(colon + 1, &end, 10);
    ok = !errno && !*end && end != colon + 1 && *port >= 1 && *port <= 65535;
  }
  if (ok &&
      inet_pton(AF_INET, name, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
    ((struct sockaddr_in *)ss)->sin_family = AF_INET;
    ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)*port);
    return 0;
  }
  if (ok && inet_pton(AF_INET6, name,
                      &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
    ((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
    ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)*port);
    return 0;
  }
  return error_set(err, INTEG_ECONFIG,
                   "%s: expected ADDRESS:PORT such as 127.0.0.1:%s or "
                   "[::1]:%s, got %s",
                   key, example_port, example_port, listen);
}
