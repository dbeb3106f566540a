/* cassette.h - record HTTP exchanges to a file and replay them offline.
 *
 * A cassette is JSON lines, one exchange a line:
 *   {"request": {"method", "url", "headers": {...}, "body"},
 *    "response": {"status", "headers": [[name, value]...], "body"}}
 * Secrets are redacted as they are written, through secrets.h: the values
 * of secret headers (Authorization, cookies, API keys) by name, secret
 * query parameters by name (secrets_redact_url), and every known secret
 * value wherever else it occurs (bodies, other headers, an echo in an
 * error body). Replay matches method, redacted URL and scrubbed body,
 * taking exchanges in recorded order, so a URL asked twice gets its two
 * answers in turn.
 */
#ifndef INTEG_HOST_CASSETTE_H
#define INTEG_HOST_CASSETTE_H

#include <stddef.h>

#include <jansson.h>

#include <integ/plugin.h>

struct cassette;

/* Create (truncate) a cassette for recording, mode 0600. */
int cassette_create(const char *path, const char *const *secret_params,
                    struct cassette **out, struct integ_error *err);
/* Read a cassette for replay; secret_params (borrowed) as for
 * cassette_create. Errors name file:line. */
int cassette_load(const char *path, const char *const *secret_params,
                  struct cassette **out, struct integ_error *err);
void cassette_free(struct cassette *c);

/* Append one exchange (recording), redacting as it goes. req_headers is
 * an object of name -> value, resp_headers an array of [name, value] (both
 * borrowed, as sent and received; NULL when the caller ran out of memory
 * building them). Best effort: a failure to write is logged once and
 * recording stops, the run goes on. */
void cassette_append(struct cassette *c, const char *method, const char *url,
                     json_t *req_headers, const char *body, size_t body_len,
                     long status, json_t *resp_headers, const char *resp_body,
                     size_t resp_len);

/* Find the next unused exchange for this request. Returns the response
 * object (borrowed from the cassette) and remembers it for cassette_body,
 * or NULL when none matches. */
json_t *cassette_match(struct cassette *c, const char *method, const char *url,
                       const char *body, size_t body_len);
/* The body of the last matched response (borrowed). */
const char *cassette_body(struct cassette *c, size_t *len);

#endif
