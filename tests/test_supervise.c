/* test_supervise.c - the daemon's supervision decisions, on an injected
 * clock, and a real child started and described. */
#include "config.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "supervise.h"

static void backoff_doubles_up_to_the_cap(void **state)
{
  (void)state;
  assert_int_equal(sv_backoff_wait(0, 1000, 60000), 0);
  assert_int_equal(sv_backoff_wait(1, 1000, 60000), 1000);
  assert_int_equal(sv_backoff_wait(2, 1000, 60000), 2000);
  assert_int_equal(sv_backoff_wait(3, 1000, 60000), 4000);
  assert_int_equal(sv_backoff_wait(7, 1000, 60000), 60000);
  assert_int_equal(sv_backoff_wait(64, 1000, 60000), 60000);
  /* A base above the cap is cut to it. */
  assert_int_equal(sv_backoff_wait(1, 7200000, 3600000), 3600000);
}

static void a_success_resets_the_backoff(void **state)
{
  struct sv_backoff b = {0, 0, 0};

  (void)state;
  sv_backoff_update(&b, 0, 10000, 1000, 8000);
  assert_int_equal(b.failures, 1);
  /* The first failure waits for the schedule as usual. */
  assert_int_equal(b.not_before_ms, 0);
  sv_backoff_update(&b, 0, 20000, 1000, 8000);
  assert_int_equal(b.failures, 2);
  assert_int_equal(b.wait_ms, 2000);
  assert_int_equal(b.not_before_ms, 22000);
  for (int i = 0; i < 10; i++)
    sv_backoff_update(&b, 0, 30000, 1000, 8000);
  assert_int_equal(b.wait_ms, 8000);
  assert_int_equal(b.not_before_ms, 38000);
  sv_backoff_update(&b, 1, 40000, 1000, 8000);
  assert_int_equal(b.failures, 0);
  assert_int_equal(b.wait_ms, 0);
  assert_int_equal(b.not_before_ms, 0);
}

static void max_runtime_sends_term_then_kill_after_grace(void **state)
{
  struct sv_child c = {123, 1000, 0};
  int64_t wake = -1;

  (void)state;
  assert_int_equal(sv_check(&c, 1000, 5000, 2000, 0, &wake), SV_NONE);
  assert_int_equal(wake, 6000);
  assert_int_equal(sv_check(&c, 5999, 5000, 2000, 0, &wake), SV_NONE);
  assert_int_equal(sv_check(&c, 6000, 5000, 2000, 0, &wake), SV_TERM);
  c.term_at_ms = 6000;
  assert_int_equal(sv_check(&c, 7999, 5000, 2000, 0, &wake), SV_NONE);
  assert_int_equal(wake, 8000);
  assert_int_equal(sv_check(&c, 8000, 5000, 2000, 0, &wake), SV_KILL);
}

static void no_limit_means_no_deadline_until_a_stop(void **state)
{
  struct sv_child c = {123, 1000, 0};
  int64_t wake = -1;

  (void)state;
  assert_int_equal(sv_check(&c, 999999999, 0, 2000, 0, &wake), SV_NONE);
  assert_int_equal(wake, 0);
  assert_int_equal(sv_check(&c, 5000, 0, 2000, 1, &wake), SV_TERM);
  c.term_at_ms = 5000;
  assert_int_equal(sv_check(&c, 7000, 0, 2000, 1, &wake), SV_KILL);
}

static void a_child_is_started_and_its_end_described(void **state)
{
  struct integ_error err = {0, ""};
  char *ok_argv[] = {"/bin/sh", "-c", "exit 7", NULL};
  char *sig_argv[] = {"/bin/sh", "-c", "kill -SEGV $$", NULL};
  char how[64];
  pid_t pid;
  int status;

  (void)state;
  assert_int_equal(supervise_spawn(ok_argv, &pid, &err), 0);
  assert_int_equal(waitpid(pid, &status, 0), pid);
  sv_describe(status, how, sizeof(how));
  assert_string_equal(how, "exit status 7");
  assert_int_equal(supervise_spawn(sig_argv, &pid, &err), 0);
  assert_int_equal(waitpid(pid, &status, 0), pid);
  sv_describe(status, how, sizeof(how));
  assert_string_equal(how, "killed by signal SIGSEGV");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(backoff_doubles_up_to_the_cap),
      cmocka_unit_test(a_success_resets_the_backoff),
      cmocka_unit_test(max_runtime_sends_term_then_kill_after_grace),
      cmocka_unit_test(no_limit_means_no_deadline_until_a_stop),
      cmocka_unit_test(a_child_is_started_and_its_end_described),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
