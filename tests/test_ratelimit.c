/* test_ratelimit.c - the token bucket, on an injected clock. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ratelimit.h"

static void a_new_bucket_allows_a_burst_then_paces(void **state)
{
  struct bucket b = {2.0, 5.0, 0, 0};
  int64_t t = 1000000;

  (void)state;
  for (int i = 0; i < 5; i++)
    assert_int_equal(bucket_take(&b, t), 0);
  /* The sixth waits half a second at 2/s; the seventh a whole one. */
  assert_int_equal(bucket_take(&b, t), 500);
  assert_int_equal(bucket_take(&b, t), 1000);
}

static void pacing_over_time_matches_the_rate(void **state)
{
  struct bucket b = {4.0, 1.0, 0, 0};
  int64_t t = 5000, sent = 0;

  (void)state;
  /* A client that always waits what it is told sends 4/s after the
   * burst: 40 requests take 9.75 s (one free, then 39 at 250 ms). */
  for (int i = 0; i < 40; i++) {
    int64_t w = bucket_take(&b, t);

    t += w;
    sent++;
  }
  assert_int_equal(sent, 40);
  assert_int_equal(t - 5000, 9750);
}

static void tokens_never_exceed_the_burst(void **state)
{
  struct bucket b = {10.0, 3.0, 0, 0};

  (void)state;
  bucket_take(&b, 1000);
  /* An hour idle refills to 3, not 36000. */
  for (int i = 0; i < 3; i++)
    assert_int_equal(bucket_take(&b, 1000 + 3600000), 0);
  assert_true(bucket_take(&b, 1000 + 3600000) > 0);
}

static void server_block_makes_every_taker_wait_until_reset(void **state)
{
  struct bucket b = {5.0, 5.0, 0, 0};

  (void)state;
  assert_int_equal(bucket_take(&b, 1000), 0);
  bucket_block(&b, 1000, 2000);
  /* A token is free again at 3000 ms, and only then. */
  assert_int_equal(bucket_take(&b, 1000), 2200);
  assert_int_equal(bucket_take(&b, 3200), 200);
}

static void no_rate_means_no_limit(void **state)
{
  struct bucket b = {0, 1, 0, 0};

  (void)state;
  for (int i = 0; i < 1000; i++)
    assert_int_equal(bucket_take(&b, 1), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_new_bucket_allows_a_burst_then_paces),
      cmocka_unit_test(pacing_over_time_matches_the_rate),
      cmocka_unit_test(tokens_never_exceed_the_burst),
      cmocka_unit_test(server_block_makes_every_taker_wait_until_reset),
      cmocka_unit_test(no_rate_means_no_limit),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
