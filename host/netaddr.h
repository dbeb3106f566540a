/* netaddr.h - the listen addresses of the daemon's servers (metrics,
 * webhooks): "ADDRESS:PORT", or "[V6]:PORT" for IPv6. */
#ifndef INTEG_HOST_NETADDR_H
#define INTEG_HOST_NETADDR_H

#include <sys/socket.h>

#include <integ/plugin.h>

/* Parse listen into *ss (port set) and *port. Returns 0, or
 * INTEG_ECONFIG with err naming key (the manifest key, e.g.
 * "metrics.listen") and an example with example_port. */
int netaddr_parse_listen(const char *key, const char *example_port,
                         const char *listen, struct sockaddr_storage *ss,
                         long *port, struct integ_error *err);

#endif
