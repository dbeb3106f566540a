/* test_retry.c - retry rules, backoff and rate-limit headers. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "retry.h"

/* 2026-11-25T12:00:00Z */
#define NOW_MS 1795608000000LL

static void retryable_statuses_are_exactly_the_listed_ones(void **state)
{
  const long yes[] = {408, 425, 429, 500, 502, 503, 504};
  const long no[] = {200, 301, 400, 401, 403, 404, 409, 410, 422, 501, 505};

  (void)state;
  for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
    if (!retry_status_is_retryable(yes[i]))
      fail_msg("status %ld should be retried", yes[i]);
  for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
    if (retry_status_is_retryable(no[i]))
      fail_msg("status %ld must not be retried", no[i]);
}

static void statuses_map_to_categories(void **state)
{
  (void)state;
  assert_string_equal(http_category_name(retry_category_of_status(401)),
                      "auth");
  assert_string_equal(http_category_name(retry_category_of_status(403)),
                      "forbidden");
  assert_string_equal(http_category_name(retry_category_of_status(404)),
                      "not_found");
  assert_string_equal(http_category_name(retry_category_of_status(429)),
                      "rate_limited");
  assert_string_equal(http_category_name(retry_category_of_status(422)),
                      "client");
  assert_string_equal(http_category_name(retry_category_of_status(503)),
                      "server");
  assert_string_equal(http_category_name(retry_category_of_status(408)),
                      "timeout");
  assert_int_equal(retry_category_of_status(204), HTTP_OK);
  assert_string_equal(http_category_name(HTTP_TOO_LARGE), "too_large");
}

static void only_idempotent_methods_repeat(void **state)
{
  (void)state;
  assert_true(retry_method_is_idempotent("GET"));
  assert_true(retry_method_is_idempotent("put"));
  assert_true(retry_method_is_idempotent("DELETE"));
  assert_false(retry_method_is_idempotent("POST"));
  assert_false(retry_method_is_idempotent("PATCH"));
}

static void backoff_is_full_jitter_under_a_doubling_cap(void **state)
{
  struct retry_policy p = {10, 100, 1000, 60000};
  uint64_t rng = 42;
  int64_t seen_max[6] = {0};

  (void)state;
  for (int round = 0; round < 2000; round++)
    for (unsigned f = 1; f <= 5; f++) {
      int64_t d = retry_backoff_ms(&p, f, &rng);
      int64_t cap = f == 1   ? 100
                    : f == 2 ? 200
                    : f == 3 ? 400
                    : f == 4 ? 800
                             : 1000;

      if (d < 0 || d > cap)
        fail_msg("failure %u: wait %lld outside [0, %lld]", f, (long long)d,
                 (long long)cap);
      if (d > seen_max[f])
        seen_max[f] = d;
    }
  /* Jitter covers the range: the largest draw is near each cap. */
  assert_true(seen_max[1] >= 90);
  assert_true(seen_max[5] >= 900);
  assert_int_equal(retry_backoff_ms(&p, 0, &rng), 0);
  assert_true(retry_backoff_ms(&p, 60, &rng) <= 1000); /* no overflow */
}

static void retry_after_seconds_is_honoured(void **state)
{
  int64_t w;

  (void)state;
  assert_int_equal(retry_after_parse("120", NOW_MS, &w), 0);
  assert_int_equal(w, 120000);
  assert_int_equal(retry_after_parse(" 0 ", NOW_MS, &w), 0);
  assert_int_equal(w, 0);
  assert_int_equal(retry_after_parse("-5", NOW_MS, &w), -1);
  assert_int_equal(retry_after_parse("soon", NOW_MS, &w), -1);
  assert_int_equal(retry_after_parse("", NOW_MS, &w), -1);
}

static void retry_after_http_date_is_honoured(void **state)
{
  int64_t w;

  (void)state;
  assert_int_equal(
      retry_after_parse("Wed, 25 Nov 2026 12:00:30 GMT", NOW_MS, &w), 0);
  assert_int_equal(w, 30000);
  /* RFC 850 and asctime forms too (RFC 9110 5.6.7). */
  assert_int_equal(
      retry_after_parse("Wednesday, 25-Nov-26 12:01:00 GMT", NOW_MS, &w), 0);
  assert_int_equal(w, 60000);
  assert_int_equal(retry_after_parse("Wed Nov 25 12:00:05 2026", NOW_MS, &w),
                   0);
  assert_int_equal(w, 5000);
  /* A date in the past means: now. */
  assert_int_equal(
      retry_after_parse("Tue, 24 Nov 2026 12:00:00 GMT", NOW_MS, &w), 0);
  assert_int_equal(w, 0);
}

static void reset_epoch_and_delta_are_told_apart(void **state)
{
  int64_t w;

  (void)state;
  assert_int_equal(retry_reset_parse("30", NOW_MS, &w), 0);
  assert_int_equal(w, 30000);
  assert_int_equal(retry_reset_parse("1795608045", NOW_MS, &w), 0);
  assert_int_equal(w, 45000);
  assert_int_equal(retry_reset_parse("1795608001500", NOW_MS, &w), 0);
  assert_int_equal(w, 1500);
  assert_int_equal(retry_reset_parse("1.5", NOW_MS, &w), -1);
}

struct hdrs {
  const char *const *kv;
};

static const char *lookup(void *arg, const char *name)
{
  const struct hdrs *h = arg;

  for (size_t i = 0; h->kv[i]; i += 2)
    if (strcasecmp(h->kv[i], name) == 0)
      return h->kv[i + 1];
  return NULL;
}

static void spent_quota_headers_ask_for_a_wait(void **state)
{
  const char *gh[] = {"x-ratelimit-remaining", "0", "x-ratelimit-reset",
                      "1795608010", NULL};
  const char *ietf[] = {"RateLimit-Limit",
                        "100",
                        "RateLimit-Remaining",
                        "0",
                        "RateLimit-Reset",
                        "7",
                        NULL};
  const char *left[] = {"X-RateLimit-Remaining", "3", "X-RateLimit-Reset",
                        "1795608010", NULL};
  struct hdrs h;
  int64_t w = -1;

  (void)state;
  h.kv = gh;
  assert_int_equal(retry_quota_wait(lookup, &h, NOW_MS, &w), 1);
  assert_int_equal(w, 10000);
  h.kv = ietf;
  assert_int_equal(retry_quota_wait(lookup, &h, NOW_MS, &w), 1);
  assert_int_equal(w, 7000);
  h.kv = left;
  assert_int_equal(retry_quota_wait(lookup, &h, NOW_MS, &w), 0);
}

static void a_403_with_a_spent_quota_is_a_rate_limit(void **state)
{
  const char *gh[] = {"X-RateLimit-Remaining", "0", "X-RateLimit-Reset",
                      "1795608010", NULL};
  const char *secondary[] = {"Retry-After", "60", NULL};
  const char *plain[] = {"Content-Type", "application/json", NULL};
  const char *left[] = {"X-RateLimit-Remaining", "12", "X-RateLimit-Reset",
                        "1795608010", NULL};
  struct hdrs h;
  int64_t w = -1;

  (void)state;
  h.kv = gh;
  assert_int_equal(retry_rate_limited(403, lookup, &h, NOW_MS, &w), 1);
  assert_int_equal(w, 10000);
  assert_int_equal(retry_rate_limited(429, lookup, &h, NOW_MS, &w), 1);
  h.kv = secondary;
  assert_int_equal(retry_rate_limited(403, lookup, &h, NOW_MS, &w), 1);
  assert_int_equal(w, 60000);
  /* A plain 403, and one with quota left, stay final. */
  h.kv = plain;
  assert_int_equal(retry_rate_limited(403, lookup, &h, NOW_MS, &w), 0);
  h.kv = left;
  assert_int_equal(retry_rate_limited(403, lookup, &h, NOW_MS, &w), 0);
  /* Other statuses are not reclassified. */
  h.kv = gh;
  assert_int_equal(retry_rate_limited(401, lookup, &h, NOW_MS, &w), 0);
  assert_int_equal(retry_rate_limited(404, lookup, &h, NOW_MS, &w), 0);
}

static void reset_times_are_rfc3339(void **state)
{
  char buf[32];

  (void)state;
  retry_format_time(NOW_MS + 10000, buf, sizeof(buf));
  assert_string_equal(buf, "2026-11-25T12:00:10Z");
  retry_format_time(0, buf, sizeof(buf));
  assert_string_equal(buf, "1970-01-01T00:00:00Z");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(retryable_statuses_are_exactly_the_listed_ones),
      cmocka_unit_test(statuses_map_to_categories),
      cmocka_unit_test(only_idempotent_methods_repeat),
      cmocka_unit_test(backoff_is_full_jitter_under_a_doubling_cap),
      cmocka_unit_test(retry_after_seconds_is_honoured),
      cmocka_unit_test(retry_after_http_date_is_honoured),
      cmocka_unit_test(reset_epoch_and_delta_are_told_apart),
      cmocka_unit_test(spent_quota_headers_ask_for_a_wait),
      cmocka_unit_test(a_403_with_a_spent_quota_is_a_rate_limit),
      cmocka_unit_test(reset_times_are_rfc3339),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
