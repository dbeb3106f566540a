/* http.h - the HTTP service the host lends to plugins.
 *
 * One client per run: one libcurl handle, so connections are reused for the
 * whole run; per upstream (scheme://host:port) a token bucket and a circuit
 * breaker; retries with backoff as retry.h decides; limits on time, size and
 * redirects; TLS verification always on; optional record/replay through a
 * cassette. Errors are one readable line with secrets redacted, plus the
 * details (category, status, provider's code and message, request id) in
 * the response.
 *
 * Secrets (secrets.h): the value of every secret header a request carries
 * (Authorization, X-Api-Key, ...) becomes a known secret; URLs in errors
 * are redacted; a failed response's body and header values are scrubbed
 * before anyone sees them, so a provider that echoes the token back puts
 * it nowhere.
 *
 * Waits: the client's own rate limit (rate_per_second) paces requests for
 * as long as it takes. retry.max_ms bounds only what a server asks for
 * (Retry-After, X-RateLimit-Reset, RateLimit-Reset) and backoff: a longer
 * server wait fails the request as rate_limited at once.
 */
#ifndef INTEG_HOST_HTTP_H
#define INTEG_HOST_HTTP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <integ/plugin.h>

#include "buf.h"
#include "clock.h"
#include "ratelimit.h"
#include "retry.h"

struct auth; /* auth.h */

/* Limits per connector (`http:` in the manifest); HTTP_LIMITS_DEFAULT. */
struct http_limits {
  long connect_timeout_ms; /* TCP + TLS handshake */
  long timeout_ms;         /* one attempt, all of it */
  long low_speed_time_s;   /* abort when under 1 byte/s for this long */
  long max_redirects;
  size_t max_body;     /* decoded bytes, counted as they arrive */
  const char *ca_file; /* borrowed; NULL: the system's CAs */
};

#define HTTP_LIMITS_DEFAULT                                                   \
  {                                                                           \
    10000, 300000, 60, 5, (size_t)64 << 20, NULL                              \
  }

/* Client settings, borrowed by http_client_new for the client's life. */
struct http_config {
  struct http_limits limits;
  struct retry_policy retry;
  double rate_per_second; /* 0: no client-side limit; its waits pace the
                             run, never bounded by retry.max_ms */
  double rate_burst;
  unsigned breaker_threshold; /* consecutive failures that open it */
  int64_t breaker_cooldown_ms;
  const char *record_file; /* cassette to write, or NULL */
  const char *replay_file; /* cassette to answer from (no network), or NULL */
  const char *const *secret_params; /* extra query parameters to redact */
  const char *tag;                  /* connector name for logs */
  struct bucket_share share;        /* where buckets are shared with other
                                       processes; zero: this process's own */
  const struct clock *clock;        /* borrowed */
  /* Sleep for ms (injected so tests and the daemon can cut waits short).
   * NULL: nanosleep. Returns non-zero to abandon the wait. */
  int (*sleep_ms)(void *arg, int64_t ms);
  void *sleep_arg;
  /* Credentials (auth.h), borrowed; NULL: none. With one, redirects are
   * followed here, each hop getting credentials only when its origin is
   * one of the auth's; a 401 refreshes the token and retries once. */
  struct auth *auth;
  /* Stop flag (borrowed, set by a signal handler), or NULL: once it is
   * non-zero, waits end, transfers in progress abort and requests fail
   * with INTEG_EINTR. */
  const volatile sig_atomic_t *stop;
};

void http_config_init(struct http_config *c);

struct http_client;

/* Make a client. Returns 0 and *out (free with http_client_free), or a
 * negative code with err set (e.g. a cassette that cannot be read). */
int http_client_new(const struct http_config *cfg, struct http_client **out,
                    struct integ_error *err);
void http_client_free(struct http_client *c);
/* Use credentials a (borrowed; NULL: none) from now on, in place of
 * cfg->auth: what a plugin declared at load. */
void http_client_set_auth(struct http_client *c, struct auth *a);

/* Statistics for notes and tests. */
struct http_stats {
  uint64_t requests; /* attempts sent (or replayed) */
  uint64_t retries;
  uint64_t connects;    /* new TCP connections libcurl made */
  uint64_t bytes;       /* decoded body bytes received */
  uint64_t by_class[6]; /* responses by status class: [2] 2xx ... [5]
                           5xx; [0] no response (transport errors) */
  uint64_t rate_waits;  /* waits for a rate limit or a server's quota */
};
void http_client_stats(const struct http_client *c, struct http_stats *s);

/* A request. Everything is copied in; the request may be sent again. */
struct http_request;

/* Flags for http_request_new. */
#define HTTP_REQ_POST_SAFE 1u   /* this POST may be repeated */
#define HTTP_REQ_EXPECT_JSON 2u /* a 2xx body that is not JSON is an error */

struct http_request *http_request_new(const char *method, const char *url,
                                      unsigned flags);
void http_request_free(struct http_request *r);
unsigned http_request_flags(const struct http_request *r);
void http_request_set_flags(struct http_request *r, unsigned flags);
/* Read a 2xx body (borrowed) in place of http_do's JSON parse (with or
 * without HTTP_REQ_EXPECT_JSON): return 0 when it is taken (resp->json
 * stays NULL), 1 to have http_do parse it as usual, or a negative code
 * when it is not a valid body, with the reason in msg (size bytes) and
 * *retry set when the same request may give a good one (a body cut
 * short); http_do then fails it as invalid_response. Called once per
 * attempt, so it must undo what a failed attempt did. */
typedef int (*http_body_fn)(void *arg, const char *body, size_t len,
                            int *retry, char *msg, size_t size);
void http_request_set_check(struct http_request *r, http_body_fn check,
                            void *arg);
/* Append ?name=value, percent-encoded. Returns 0 or INTEG_ENOMEM. */
int http_request_query(struct http_request *r, const char *name,
                       const char *value);
/* Add a header; a NULL value removes one libcurl would add. */
int http_request_header(struct http_request *r, const char *name,
                        const char *value);
/* The body: JSON (borrowed value, serialised now; sets Content-Type) or
 * form fields (application/x-www-form-urlencoded, added one by one). */
int http_request_body_json(struct http_request *r, json_t *body);
int http_request_body_form(struct http_request *r, const char *name,
                           const char *value);
/* Raw body bytes with a content type. */
int http_request_body_raw(struct http_request *r, const char *type,
                          const void *data, size_t len);

/* A response. */
struct http_header {
  char *name;  /* as received */
  char *value; /* trimmed */
};

struct http_response {
  long status; /* 0 when no response came */
  enum http_category category;
  struct http_header *headers;
  size_t n_headers;
  struct buf body;     /* decoded bytes; body.data may be NULL */
  json_t *json;        /* parsed on demand by http_response_json */
  char *url;           /* the URL asked for, secrets redacted; never
                          NULL in a response http_do returns */
  char *provider_code; /* from a JSON error body, or NULL */
  char *provider_message;
  char *request_id; /* from X-Request-Id and friends, or NULL */
  char *detail;     /* transport or body error text, or NULL */
  int retryable;
  int64_t retry_after_ms; /* -1 when the server named no time */
  unsigned attempts;
};

/* Case-insensitive header lookup; the last one wins. Borrowed or NULL. */
const char *http_response_header(const struct http_response *r,
                                 const char *name);
/* The body parsed as JSON, cached: borrowed from the response, NULL with
 * err set when it is not JSON (err names URL and byte offset). */
json_t *http_response_json(struct http_response *r, struct integ_error *err);
void http_response_free(struct http_response *r);

/* Send req, retrying as the policy allows. *out is a new response when any
 * came (also on failure, so the caller can look at it), else NULL.
 * Returns 0 for a 2xx (and, with HTTP_REQ_EXPECT_JSON, a JSON body), or
 * INTEG_EHTTP with err holding one readable line: method, redacted URL,
 * status, category, provider's message, request id, attempts. */
int http_do(struct http_client *c, const struct http_request *req,
            struct http_response **out, struct integ_error *err);

/* Write the readable line for a failed response into err. */
void http_response_error(const struct http_response *r, const char *method,
                         struct integ_error *err);

#endif
