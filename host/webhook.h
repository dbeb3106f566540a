/* webhook.h - the daemon's webhook receiver (libmicrohttpd).
 *
 * One route per connector with a webhooks: key, POST /hooks/CONNECTOR.
 * A delivery is read whole (at most webhooks.max_body bytes), verified
 * (whsig.h), committed to the queue (queue.h) and only then answered
 * 2xx; a delivery whose id is already known is answered 2xx again and
 * not queued. Refusals get a bare 4xx and a log line naming the
 * connector and the reason. Each connection has a thread of its own,
 * so concurrent deliveries share the queue's group commit.
 */
#ifndef INTEG_HOST_WEBHOOK_H
#define INTEG_HOST_WEBHOOK_H

#include <stdint.h>

#include <jansson.h>

#include <integ/plugin.h>

#include "manifest.h"

struct webhook;

/* Does the manifest configure any webhook route? */
int webhook_wanted(const struct manifest *m);

/* The connector's webhook settings are valid (scheme, encoding, digest,
 * id_path): 0 or INTEG_ECONFIG naming the key. */
int webhook_check_connector(const struct manifest_connector *c,
                            struct integ_error *err);

/* Told, from the receiver's threads, each delivery's outcome for its
 * connector: "accepted" (queued), "duplicate" (a delivery id seen
 * before), "refused" (a 4xx: signature, content type, method, size) or
 * "unavailable" (a 503: the queue could not take it). A delivery to no
 * route, and a handshake answered (GitHub's ping, Slack's
 * url_verification), are not told. */
typedef void (*webhook_count_fn)(void *arg, const char *connector,
                                 const char *outcome);

/* Listen on webhooks.listen of M, committing to the store at STORE_PATH;
 * count (may be NULL) is told each delivery's outcome. Returns 0 or
 * INTEG_ECONFIG/INTEG_ESTATE with err set. */
int webhook_start(const struct manifest *m, const char *store_path,
                  webhook_count_fn count, void *count_arg,
                  struct webhook **out, struct integ_error *err);

/* Take the routes of a reloaded manifest (the listener stays). */
int webhook_routes(struct webhook *w, const struct manifest *m,
                   struct integ_error *err);

/* Stop listening, wait for the connections, close (NULL is fine). */
void webhook_stop(struct webhook *w);

/* A descriptor readable when a new delivery was queued (for poll). */
int webhook_fd(struct webhook *w);

/* Clear webhook_fd's readiness and summarise the queue: as
 * queue_summary. */
int webhook_pending(struct webhook *w, json_t **out, struct integ_error *err);

/* Events a dead processing child left running go back to queued. */
int webhook_reset_running(struct webhook *w, const char *connector,
                          struct integ_error *err);

/* Delete expired delivery ids (webhooks.key_ttl), logging how many. */
void webhook_prune(struct webhook *w, int64_t now);

/* Start no processing of CONNECTOR before UNTIL (ms): after a failure.
 * webhook_held says whether it is held at NOW, lowering *wake to the
 * end of the hold. Used by the daemon's loop only. */
void webhook_hold(struct webhook *w, const char *connector, int64_t until);
int webhook_held(struct webhook *w, const char *connector, int64_t now,
                 int64_t *wake);

#endif
