/* collection.h - generated record collections served page by page.
 *
 * Record i (1-based) of a collection is a pure function of (seed, parent,
 * i), so any page can be served without keeping records, and a collection
 * that grows between requests keeps its older records unchanged. Records
 * are ordered by (updated_at, id); updated_at never decreases with i and
 * some neighbours share one updated_at (one pair in every `same_every`) so
 * that cursor boundaries can be tested. */
#ifndef TESTAPI_COLLECTION_H
#define TESTAPI_COLLECTION_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <integ/plugin.h>

#include "reply.h"

struct collection;

/* Parse a route's "collection" object (borrowed). default_seed is used when
 * spec has no "seed". `where` names spec in messages. On success *out is
 * new (free with collection_free). */
int collection_parse(json_t *spec, const char *where, uint64_t default_seed,
                     struct collection **out, struct integ_error *err);

void collection_free(struct collection *c);

/* Records added after each request served (the "grow_per_request" key). */
size_t collection_grow_step(const struct collection *c);

/* Serve c as it is after `round` rounds of changes (its "rounds" key;
 * default 0: as generated). */
void collection_set_round(struct collection *c, size_t round);

/* The route path that c's "rounds.follow" names, or NULL (borrowed). */
const char *collection_follows(const struct collection *c);

/* Make child follow parent's rounds (parent is borrowed and must outlive
 * child). INTEG_EINVAL when parent has no rounds of its own. */
int collection_link(struct collection *child, const struct collection *parent);

/* One request for a collection; every pointer is borrowed. */
struct collection_request {
  json_t *args;         /* query arguments: object of strings */
  json_t *params;       /* path parameters: object of strings */
  const char *path;     /* request path, for next links */
  const char *base_url; /* "http://host:port", for next links */
  size_t grown;         /* records added so far by growth */
};

/* Fill r (initialised by the caller) with the page rq asks for, or with a
 * 400 reply naming the bad argument. Returns 0, or INTEG_ENOMEM. */
int collection_serve(const struct collection *c,
                     const struct collection_request *rq, struct reply *r);

/* Record i (1-based) of c for parent value `parent` (may be NULL) as a new
 * JSON object, or NULL when out of memory. Exposed for tests. */
json_t *collection_record(const struct collection *c, const char *parent,
                          size_t i);

#endif
