/* retry.c - when to retry an HTTP request, and how long to wait. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "retry.h"

const char *http_category_name(enum http_category c)
{
  static const char *const names[] = {
      "ok",           "auth",     "forbidden", "not_found", "rate_limited",
      "client",       "server",   "transport", "timeout",   "invalid_response",
      "circuit_open", "too_large"};

  if ((unsigned)c < sizeof(names) / sizeof(names[0]))
    return names[c];
  return "unknown";
}

enum http_category retry_category_of_status(long status)
{
  if (status < 400)
    return HTTP_OK;
  switch (status) {
  case 401:
    return HTTP_AUTH;
  case 403:
    return HTTP_FORBIDDEN;
  case 404:
  case 410:
    return HTTP_NOT_FOUND;
  case 408:
    return HTTP_TIMEOUT;
  case 429:
    return HTTP_RATE_LIMITED;
  }
  return status < 500 ? HTTP_CLIENT : HTTP_SERVER;
}

int retry_status_is_retryable(long status)
{
  switch (status) {
  case 408:
  case 425:
  case 429:
  case 500:
  case 502:
  case 503:
  case 504:
    return 1;
  }
  return 0;
}

int retry_method_is_idempotent(const char *method)
{
  static const char *const safe[] = {"GET",    "HEAD",    "PUT",
                                     "DELETE", "OPTIONS", "TRACE"};

  for (size_t i = 0; i < sizeof(safe) / sizeof(safe[0]); i++)
    if (strcasecmp(method, safe[i]) == 0)
      return 1;
  return 0;
}

static uint64_t xorshift64(uint64_t *s)
{
  uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ULL;

  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *s = x;
  return x;
}

int64_t retry_backoff_ms(const struct retry_policy *p, unsigned failures,
                         uint64_t *rng)
{
  int64_t cap = p->base_ms;

  if (failures == 0 || cap <= 0)
    return 0;
  for (unsigned i = 1; i < failures && cap < p->max_ms; i++)
    cap *= 2;
  if (cap > p->max_ms)
    cap = p->max_ms;
  /* Full jitter (uniform over [0, cap]) spreads clients that failed
   * together, so they do not return together. */
  return (int64_t)(xorshift64(rng) % (uint64_t)(cap + 1));
}

/* Parse a non-negative decimal integer that is the whole of s (spaces
 * around allowed). */
static int parse_uint(const char *s, int64_t *out)
{
  char *end;
  long long v;

  while (isspace((unsigned char)*s))
    s++;
  if (!isdigit((unsigned char)*s))
    return -1;
  errno = 0;
  v = strtoll(s, &end, 10);
  while (isspace((unsigned char)*end))
    end++;
  if (errno || *end)
    return -1;
  *out = v;
  return 0;
}

int retry_after_parse(const char *value, int64_t now_ms, int64_t *wait_ms)
{
  int64_t secs;
  time_t t;

  if (!value)
    return -1;
  if (parse_uint(value, &secs) == 0) {
    *wait_ms = secs > INT64_MAX / 1000 ? INT64_MAX : secs * 1000;
    return 0;
  }
  /* curl_getdate reads all three HTTP date forms (IMF-fixdate, RFC 850,
   * asctime). */
  t = curl_getdate(value, NULL);
  if (t == (time_t)-1)
    return -1;
  *wait_ms = (int64_t)t * 1000 - now_ms;
  if (*wait_ms < 0)
    *wait_ms = 0;
  return 0;
}

int retry_reset_parse(const char *value, int64_t now_ms, int64_t *wait_ms)
{
  int64_t v;

  if (!value || parse_uint(value, &v))
    return -1;
  if (v >= 1000000000000LL) /* epoch milliseconds */
    *wait_ms = v - now_ms;
  else if (v >= 1000000000LL) /* epoch seconds */
    *wait_ms = v * 1000 - now_ms;
  else /* seconds from now */
    *wait_ms = v * 1000;
  if (*wait_ms < 0)
    *wait_ms = 0;
  return 0;
}

int retry_quota_wait(retry_header_fn get, void *arg, int64_t now_ms,
                     int64_t *wait_ms)
{
  static const char *const pairs[][2] = {
      {"X-RateLimit-Remaining", "X-RateLimit-Reset"},
      {"RateLimit-Remaining", "RateLimit-Reset"}};

  for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
    const char *rem = get(arg, pairs[i][0]);
    int64_t n;

    if (!rem || parse_uint(rem, &n) || n > 0)
      continue;
    if (retry_reset_parse(get(arg, pairs[i][1]), now_ms, wait_ms) == 0)
      return 1;
  }
  return 0;
}

int retry_rate_limited(long status, retry_header_fn get, void *arg,
                       int64_t now_ms, int64_t *wait_ms)
{
  if (status != 403 && status != 429)
    return 0;
  if (retry_quota_wait(get, arg, now_ms, wait_ms))
    return 1;
  return retry_after_parse(get(arg, "Retry-After"), now_ms, wait_ms) == 0;
}

void retry_format_time(int64_t at_ms, char *buf, size_t size)
{
  time_t t = (time_t)(at_ms / 1000);
  struct tm tm;

  if (!gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
    snprintf(buf, size, "@%lld", (long long)(at_ms / 1000));
}
