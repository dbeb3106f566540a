/* metrics.h - the daemon's counters, in Prometheus' text exposition
 * format (version 0.0.4), served by libmicrohttpd at /metrics.
 *
 * The daemon's loop adds each finished run; the HTTP thread renders a
 * snapshot. A mutex guards the counters, so both may run at once.
 */
#ifndef INTEG_HOST_METRICS_H
#define INTEG_HOST_METRICS_H

#include <stddef.h>

#include <jansson.h>

#include <integ/plugin.h>

struct metrics;

/* A new, empty set of counters (metrics_free). Returns 0 or
 * INTEG_ENOMEM. */
int metrics_new(struct metrics **out);

/* Stop serving (when started) and free m (NULL is fine). */
void metrics_free(struct metrics *m);

/* A run of CONNECTOR ended: its status ("ok" is a success, anything else
 * a failure), its duration in seconds and its counters (a run-history
 * "stats" object, borrowed, may be NULL). Returns 0 or INTEG_ENOMEM. */
int metrics_run(struct metrics *m, const char *connector, const char *status,
                double seconds, json_t *stats);

/* A webhook delivery for CONNECTOR and its outcome ("accepted",
 * "duplicate", "refused" or "unavailable"; see webhook.h); arg is the
 * struct metrics, so that this is a webhook_count_fn. Out of memory
 * loses the count. */
void metrics_webhook(void *arg, const char *connector, const char *outcome);

/* The exposition text: *out new (free()), *len its length. */
int metrics_render(struct metrics *m, char **out, size_t *len);

/* Serve GET /metrics on LISTEN ("ADDRESS:PORT", IPv4 or [IPv6]) from a
 * thread of its own. Returns 0 or INTEG_ECONFIG naming metrics.listen. */
int metrics_serve(struct metrics *m, const char *listen,
                  struct integ_error *err);

#endif
