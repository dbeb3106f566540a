/* scenario.h - the test API server's script: routes, their responses, and
 * the state that advances as requests arrive.
 *
 * A scenario is JSON (see tests/testapi/README.md):
 *   {"routes": [{"method": "GET", "path": "/users/{id}/orders",
 *                "responses": [{"status": 200, "json": {...}}, ...],
 *                "mode": "repeat_last" | "cycle"},
 *               {"path": "/items", "collection": {...}}]}
 * It is not thread-safe: the server holds its lock around every call. */
#ifndef TESTAPI_SCENARIO_H
#define TESTAPI_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <integ/plugin.h>

#include "reply.h"

struct scenario;

/* Build a scenario from doc (borrowed; the scenario keeps a reference).
 * body_file paths are relative to base_dir (NULL: the working directory).
 * Collections without a "seed" use seed. On success *out is new (free with
 * scenario_free); on failure err says which key is wrong. */
int scenario_load(json_t *doc, const char *base_dir, uint64_t seed,
                  struct scenario **out, struct integ_error *err);

/* Read and build the scenario in file path. */
int scenario_load_file(const char *path, uint64_t seed, struct scenario **out,
                       struct integ_error *err);

/* An empty scenario (no routes). */
int scenario_empty(struct scenario **out, struct integ_error *err);

void scenario_free(struct scenario *sc);

/* The scenario's document. Borrowed: valid until scenario_free. */
json_t *scenario_doc(const struct scenario *sc);

/* Serve every collection as it is after `round` rounds of changes (the
 * "rounds" key of a collection; testapi --round). */
void scenario_set_round(struct scenario *sc, size_t round);

/* Number of routes. */
size_t scenario_route_count(const struct scenario *sc);

/* Rewind every route to its first response, undo collection growth and
 * drop injected failures. */
void scenario_reset(struct scenario *sc);

/* Answer the next `count` requests whose path is `route` (a request path,
 * or a route's pattern such as /users/{id}; "*" for any) and whose method
 * is `method` (NULL for any) with `status` and, when retry_after is not
 * NULL, a Retry-After header. Strings are copied. */
int scenario_inject_failure(struct scenario *sc, const char *route,
                            const char *method, size_t count, int status,
                            const char *retry_after);

/* One request; every pointer is borrowed. */
struct scenario_request {
  const char *method;
  const char *path;     /* decoded, without the query */
  json_t *args;         /* query arguments: object of strings */
  const char *base_url; /* "http://host:port" for generated links */
};

/* Plan the reply to rq in r (initialised by the caller) and advance the
 * matching route. *route is set to the matched route's pattern (borrowed;
 * valid until scenario_free) or NULL when no route matched (r is then a
 * 404 or 405). Returns 0, or INTEG_ENOMEM. */
int scenario_respond(struct scenario *sc, const struct scenario_request *rq,
                     struct reply *r, const char **route);

#endif
