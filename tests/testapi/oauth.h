/* oauth.h - the test API server's OAuth2 provider imitation: the
 * scenario's "oauth2" object (tests/testapi/README.md). Not thread-safe:
 * the server holds its lock around every call. */
#ifndef TESTAPI_OAUTH_H
#define TESTAPI_OAUTH_H

#include <stddef.h>

#include <jansson.h>

#include <integ/plugin.h>

#include "reply.h"

struct oauth;

/* Build the provider from spec (borrowed; NULL: *out NULL, no provider).
 * err names a wrong key. */
int oauth_load(json_t *spec, struct oauth **out, struct integ_error *err);
void oauth_free(struct oauth *o);

/* Forget every code, token and grant (POST /_testapi/reset). */
void oauth_reset(struct oauth *o);

/* Answer the provider's endpoints, and refuse a protected path without a
 * valid bearer token: returns 1 with r filled. 0: not the provider's, the
 * scenario answers. headers: the request's, names lower-case. Negative:
 * out of memory. */
int oauth_respond(struct oauth *o, const char *method, const char *path,
                  json_t *args, json_t *headers, const char *body, size_t len,
                  struct reply *r);

#endif
