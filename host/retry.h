/* retry.h - when to retry an HTTP request, and how long to wait.
 *
 * Pure functions of their arguments (time is passed in, randomness comes
 * from a caller-owned generator), so every rule is unit-tested on an
 * injected clock.
 */
#ifndef INTEG_HOST_RETRY_H
#define INTEG_HOST_RETRY_H

#include <stddef.h>
#include <stdint.h>

/* Per connector: `retry: {max_attempts, base, max, max_elapsed}`. */
struct retry_policy {
  unsigned max_attempts;  /* attempts in all, including the first (>= 1) */
  int64_t base_ms;        /* first backoff's upper bound */
  int64_t max_ms;         /* no single wait is longer; a server asking for
                             a longer one fails the request (rate_limited) */
  int64_t max_elapsed_ms; /* no retry starts after this much time */
};

#define RETRY_POLICY_DEFAULT                                                  \
  {                                                                           \
    6, 1000, 60000, 300000                                                    \
  }

/* Error categories, the one taxonomy shared by host and plugins. */
enum http_category {
  HTTP_OK = 0,
  HTTP_AUTH,             /* 401 */
  HTTP_FORBIDDEN,        /* 403 */
  HTTP_NOT_FOUND,        /* 404, 410 */
  HTTP_RATE_LIMITED,     /* 429, or a wait longer than the policy allows */
  HTTP_CLIENT,           /* other 4xx */
  HTTP_SERVER,           /* 5xx */
  HTTP_TRANSPORT,        /* refused, reset, DNS, TLS */
  HTTP_TIMEOUT,          /* 408, connect/total/low-speed timeouts */
  HTTP_INVALID_RESPONSE, /* cut short, or not the JSON expected */
  HTTP_CIRCUIT_OPEN,     /* the upstream's breaker is open */
  HTTP_TOO_LARGE         /* the body passed the size limit */
};

/* "auth", "rate_limited", ... */
const char *http_category_name(enum http_category c);

/* The category of an HTTP status (HTTP_OK for 1xx-3xx). */
enum http_category retry_category_of_status(long status);

/* Whether a response with this status is retried at all: 408, 425, 429,
 * 500, 502, 503, 504. */
int retry_status_is_retryable(long status);

/* Whether a method may be repeated without asking (RFC 9110 9.2.2). */
int retry_method_is_idempotent(const char *method);

/* The wait before attempt `failures + 1` after `failures` failed ones
 * (>= 1): full jitter, uniform in [0, min(max, base * 2^(failures-1))].
 * *rng is a xorshift64 state (never 0) the caller owns. */
int64_t retry_backoff_ms(const struct retry_policy *p, unsigned failures,
                         uint64_t *rng);

/* Parse Retry-After: delay-seconds or an HTTP-date. Sets *wait_ms (never
 * negative) and returns 0; -1 when the value is neither. */
int retry_after_parse(const char *value, int64_t now_ms, int64_t *wait_ms);

/* Parse a rate-limit reset value: seconds from now, or an epoch time in
 * seconds (or milliseconds), told apart by size: values past 2001-09-09
 * (1e9 s) are epoch times. Returns 0 and *wait_ms, or -1. */
int retry_reset_parse(const char *value, int64_t now_ms, int64_t *wait_ms);

/* Headers that say the quota is spent: X-RateLimit-Remaining: 0 with
 * X-RateLimit-Reset, or RateLimit-Remaining: 0 with RateLimit-Reset.
 * `get` looks up a response header case-insensitively (NULL if absent).
 * Returns 1 with *wait_ms when the server asks us to wait, else 0. */
typedef const char *(*retry_header_fn)(void *arg, const char *name);
int retry_quota_wait(retry_header_fn get, void *arg, int64_t now_ms,
                     int64_t *wait_ms);

/* Whether a 403 or 429 says a rate limit rather than a refusal: it
 * carries a spent quota (retry_quota_wait) or a Retry-After (GitHub's
 * secondary limits answer 403 so). Returns 1 with *wait_ms (never
 * negative), else 0: a plain 403 stays final (forbidden). */
int retry_rate_limited(long status, retry_header_fn get, void *arg,
                       int64_t now_ms, int64_t *wait_ms);

/* at_ms (milliseconds since the epoch) as RFC 3339 in UTC, second
 * precision ("2026-11-25T18:46:50Z"), into buf (>= 21 bytes). */
void retry_format_time(int64_t at_ms, char *buf, size_t size);

#endif
