/* test_breaker.c - the circuit breaker, on an injected clock. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "breaker.h"

static void opens_after_threshold_consecutive_failures(void **state)
{
  struct breaker b = BREAKER_INIT(3, 10000);

  (void)state;
  for (int i = 0; i < 2; i++) {
    assert_true(breaker_allow(&b, 0));
    breaker_failure(&b, 0);
  }
  assert_int_equal(b.state, BREAKER_CLOSED);
  assert_true(breaker_allow(&b, 0));
  breaker_failure(&b, 100);
  assert_int_equal(b.state, BREAKER_OPEN);
  assert_false(breaker_allow(&b, 200));
  assert_int_equal(breaker_retry_in(&b, 200), 9900);
}

static void a_success_resets_the_count(void **state)
{
  struct breaker b = BREAKER_INIT(2, 1000);

  (void)state;
  breaker_failure(&b, 0);
  breaker_success(&b);
  breaker_failure(&b, 0);
  assert_int_equal(b.state, BREAKER_CLOSED);
}

static void half_open_lets_one_probe_through(void **state)
{
  struct breaker b = BREAKER_INIT(1, 1000);

  (void)state;
  breaker_failure(&b, 0);
  assert_false(breaker_allow(&b, 999));
  assert_true(breaker_allow(&b, 1000));
  assert_int_equal(b.state, BREAKER_HALF_OPEN);
  assert_false(breaker_allow(&b, 1001)); /* the probe is out */
  breaker_success(&b);
  assert_int_equal(b.state, BREAKER_CLOSED);
  assert_true(breaker_allow(&b, 1002));
}

static void a_failed_probe_opens_it_again(void **state)
{
  struct breaker b = BREAKER_INIT(5, 1000);

  (void)state;
  for (int i = 0; i < 5; i++)
    breaker_failure(&b, 0);
  assert_true(breaker_allow(&b, 1500));
  breaker_failure(&b, 1500);
  assert_int_equal(b.state, BREAKER_OPEN);
  assert_false(breaker_allow(&b, 2499));
  assert_true(breaker_allow(&b, 2500));
  assert_string_equal(breaker_state_name(b.state), "half-open");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(opens_after_threshold_consecutive_failures),
      cmocka_unit_test(a_success_resets_the_count),
      cmocka_unit_test(half_open_lets_one_probe_through),
      cmocka_unit_test(a_failed_probe_opens_it_again),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
