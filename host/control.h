/* control.h - the daemon's unix control socket.
 *
 * One request line per connection, one reply line back, then the daemon
 * closes it. Requests: "run-now CONNECTOR", "status", "pid". Replies are
 * one JSON object: {"ok": true, ...} or {"ok": false, "error": "..."}.
 * The socket is created mode 0600, so only the daemon's user (and root)
 * can talk to it.
 */
#ifndef INTEG_HOST_CONTROL_H
#define INTEG_HOST_CONTROL_H

#include <jansson.h>

#include <integ/plugin.h>

/* Listen on PATH (its directory is created, mode 0755, when absent). A
 * socket file left by a dead daemon is replaced; one a live daemon answers
 * on is not: INTEG_ESTATE naming its pid. *fd is non-blocking and
 * close-on-exec. */
int control_listen(const char *path, int *fd, struct integ_error *err);

/* Accept one client on the listening fd and read its request line (at
 * most 4 KiB, waiting at most 1 s): *client is the connection (or -1 when
 * there was none), *line new (free()). Returns 0 or a negative code. */
int control_accept(int fd, int *client, char **line, struct integ_error *err);

/* Write reply (borrowed) as one line and close the client. */
void control_reply(int client, json_t *reply);

/* Send REQUEST to the daemon at PATH and read its reply: *reply is a new
 * reference. INTEG_ENOTFOUND when no daemon listens there (err says so).
 */
int control_request(const char *path, const char *request, json_t **reply,
                    struct integ_error *err);

#endif
