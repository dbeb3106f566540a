/* test_output.c - the output's durability protocol: nothing is committed
 * before the records before it are written and fsynced, a failed write
 * latches (nothing commits after it), a torn last line is cut, echoes are
 * matched by value, and a target that ignores SIGTERM is killed. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "clock.h"
#include "error.h"
#include "output.h"

static const struct clock fixed_clock = {1, 1640995200000LL};

static json_t *parse(const char *text)
{
  json_error_t jerr;
  json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

  if (!v)
    fail_msg("bad test JSON (%s): %s", jerr.text, text);
  return v;
}

/* A scratch directory per test. */
struct fixture {
  char dir[64];
  char file[96];
  char to[128];
  /* what the commit callback saw */
  int commits;
  long records_at_commit; /* RECORD lines in the file at the last commit */
  json_t *committed;
  int fail_commit;
};

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));

  assert_non_null(f);
  snprintf(f->dir, sizeof(f->dir), "/tmp/test_output.XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->file, sizeof(f->file), "%s/out.jsonl", f->dir);
  snprintf(f->to, sizeof(f->to), "file:%s", f->file);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;

  unlink(f->file);
  rmdir(f->dir);
  json_decref(f->committed);
  free(f);
  return 0;
}

static long count_records(const char *file)
{
  FILE *in = fopen(file, "r");
  char line[4096];
  long n = 0;

  if (!in)
    return -1;
  while (fgets(line, sizeof(line), in))
    if (strstr(line, "\"type\":\"RECORD\""))
      n++;
  fclose(in);
  return n;
}

static int on_commit(void *arg, json_t *state, struct integ_error *err)
{
  struct fixture *f = arg;

  if (f->fail_commit)
    return error_set(err, INTEG_EIO, "store says no");
  f->commits++;
  f->records_at_commit = count_records(f->file);
  json_decref(f->committed);
  f->committed = json_deep_copy(state);
  return 0;
}

static struct output_config config(struct fixture *f, const char *to)
{
  struct output_config c = {0};

  c.format = EMIT_SINGER;
  c.to = to;
  c.connector = "t";
  c.checkpoint_records = 1000000; /* checkpoints only when a test says */
  c.checkpoint_ms = 3600000;
  c.clock = &fixed_clock;
  c.commit = on_commit;
  c.commit_arg = f;
  c.out_fd = 1;
  return c;
}

/* output_open with the one stream "s" that the tests write. */
static int open_s(const struct output_config *c, struct output **o,
                  struct integ_error *err)
{
  json_t *streams = parse("[{\"stream\":\"s\",\"schema\":{\"type\":"
                          "\"object\"}}]");
  int rc = output_open(c, streams, o, err);

  json_decref(streams);
  return rc;
}

static void write_records(struct output *o, int from, int to)
{
  struct integ_error err = {0, ""};

  for (int i = from; i <= to; i++) {
    json_t *r = json_pack("{s:i}", "id", i);

    assert_int_equal(output_record(o, "s", r, &err), 0);
    json_decref(r);
  }
}

static json_t *state_n(int n)
{
  return json_pack("{s:{s:i}}", "s", "n", n);
}

/* -------------------------------------------------- flush and commit */

static void records_wait_in_the_buffer_until_a_checkpoint(void **state)
{
  struct fixture *f = *state;
  struct output_config c = config(f, f->to);
  struct integ_error err = {0, ""};
  struct output *o;
  struct output_stats st;
  json_t *s = state_n(10);

  assert_int_equal(open_s(&c, &o, &err), 0);
  write_records(o, 1, 10);
  assert_int_equal(count_records(f->file), 0); /* one large write later */
  assert_int_equal(output_state(o, s, &err), 0);
  assert_int_equal(f->commits, 0); /* not yet a checkpoint */
  assert_int_equal(output_checkpoint(o, &err), 0);
  output_get_stats(o, &st);
  assert_int_equal(st.records, 10);
  assert_int_equal(st.commits, 1);
  assert_int_equal(output_close(o, 1, &err), 0);
  json_decref(s);
}

static void a_state_is_committed_after_the_records_before_it(void **state)
{
  struct fixture *f = *state;
  struct output_config c = config(f, f->to);
  struct integ_error err = {0, ""};
  struct output *o;
  json_t *s;

  c.checkpoint_records = 100;
  assert_int_equal(open_s(&c, &o, &err), 0);
  for (int k = 1; k <= 5; k++) {
    write_records(o, (k - 1) * 100 + 1, k * 100);
    s = state_n(k * 100);
    assert_int_equal(output_state(o, s, &err), 0);
    json_decref(s);
    /* At the commit, all k * 100 records were already in the file. */
    assert_int_equal(f->commits, k);
    assert_int_equal(f->records_at_commit, k * 100);
  }
  /* Records after the last state: written at close, no commit for them
   * beyond the last state. */
  write_records(o, 501, 550);
  assert_int_equal(output_close(o, 1, &err), 0);
  assert_int_equal(f->commits, 5);
  assert_int_equal(count_records(f->file), 550);
  s = state_n(500);
  assert_true(json_equal(f->committed, s));
  json_decref(s);
}

static void close_commits_the_last_state(void **state)
{
  struct fixture *f = *state;
  struct output_config c = config(f, f->to);
  struct integ_error err = {0, ""};
  struct output *o;
  json_t *s = state_n(7);

  assert_int_equal(open_s(&c, &o, &err), 0);
  write_records(o, 1, 7);
  assert_int_equal(output_state(o, s, &err), 0);
  assert_int_equal(f->commits, 0);
  assert_int_equal(output_close(o, 1, &err), 0);
  assert_int_equal(f->commits, 1);
  assert_int_equal(f->records_at_commit, 7);
  json_decref(s);
}

static void close_without_ok_commits_nothing(void **state)
{
  struct fixture *f = *state;
  struct output_config c = config(f, f->to);
  struct integ_error err = {0, ""};
  struct output *o;
  json_t *s = state_n(7);

  assert_int_equal(open_s(&c, &o, &err), 0);
  write_records(o, 1, 7);
  assert_int_equal(output_state(o, s, &err), 0);
  assert_int_equal(output_close(o, 0, &err), 0);
  assert_int_equal(f->commits, 0);
  json_decref(s);
}

/* ------------------------------------------------------ failed latch */

static void a_failed_write_commits_nothing_more(void **state)
{
  struct fixture *f = *state;
  struct output_config c = config(f, "stdout");
  struct integ_error err = {0, ""};
  struct output *o;
  json_t *s = state_n(3);
  int full = open("/dev/full", O_WRONLY | O_CLOEXEC);

  if (full < 0)
    skip();
  c.out_fd = full;
  assert_int_equal(open_s(&c, &o, &err), 0);
  write_records(o, 1, 3);
  assert_int_equal(output_state(o, s, &err), 0);
  assert_int_equal(output_checkpoint(o, &err), INTEG_EIO);
  assert_non_null(strstr(err.message, "the disk is full"));
  assert_int_equal(f->commits, 0);
  /* Later calls fail too, and still commit nothing. */
  assert_int_equal(output_state(o, s, &err), 0);
  assert_int_equal(output_checkpoint(o, &err), INTEG_EIO);
  assert_non_null(strstr(err.message, "failed earlier"));
  assert_int_equal(output_close(o, 1, &err), 0);
  assert_int_equal(f->commits, 0);
  close(full);
  json_decref(s);
}

static void a_failed_commit_is_returned(void **state)
{
  struct fixture *f = *state;
  struct output_config c = config(f, f->to);
  struct integ_error err = {0, ""};
  struct output *o;
  json_t *s = state_n(1);

  f->fail_commit = 1;
  assert_int_equal(open_s(&c, &o, &err), 0);
  write_records(o, 1, 1);
  assert_int_equal(output_state(o, s, &err), 0);
  assert_int_equal(output_checkpoint(o, &err), INTEG_EIO);
  assert_string_equal(err.message, "store says no");
  output_close(o, 0, NULL);
  json_decref(s);
}

/* ------------------------------------------------- torn-line trimming */

static void put_file(const char *file, const char *text)
{
  FILE *out = fopen(file, "w");

  assert_non_null(out);
  fputs(text, out);
  assert_int_equal(fclose(out), 0);
}

static char *get_file(const char *file)
{
  static char text[4096];
  FILE *in = fopen(file, "r");
  size_t n;

  assert_non_null(in);
  n = fread(text, 1, sizeof(text) - 1, in);
  text[n] = '\0';
  fclose(in);
  return text;
}

static void open_cuts_a_torn_last_line(void **state)
{
  struct fixture *f = *state;
  struct output_config c = config(f, f->to);
  struct integ_error err = {0, ""};
  struct output *o;

  put_file(f->file, "{\"a\":1}\n{\"b\":2}\n{\"type\":\"REC");
  assert_int_equal(open_s(&c, &o, &err), 0);
  assert_string_equal(get_file(f->file), "{\"a\":1}\n{\"b\":2}\n");
  assert_int_equal(output_close(o, 0, NULL), 0);
}

static void open_cuts_a_file_that_is_one_torn_line(void **state)
{
  struct fixture *f = *state;
  struct output_config c = config(f, f->to);
  struct integ_error err = {0, ""};
  struct output *o;

  put_file(f->file, "{\"type\":\"REC");
  assert_int_equal(open_s(&c, &o, &err), 0);
  assert_string_equal(get_file(f->file), "");
  assert_int_equal(output_close(o, 0, NULL), 0);
}

static void open_keeps_whole_lines_and_appends(void **state)
{
  struct fixture *f = *state;
  struct output_config c = config(f, f->to);
  struct integ_error err = {0, ""};
  struct output *o;
  static char big[200000]; /* crosses the 64 KiB read-back chunk */

  memset(big, 'x', sizeof(big) - 2);
  big[0] = '"';
  big[sizeof(big) - 3] = '"';
  big[sizeof(big) - 2] = '\n';
  put_file(f->file, big);
  assert_int_equal(open_s(&c, &o, &err), 0);
  write_records(o, 1, 2);
  assert_int_equal(output_close(o, 1, &err), 0);
  assert_int_equal(count_records(f->file), 2);
  assert_int_equal(memcmp(get_file(f->file), big, 100), 0);
}

/* ----------------------------------------------------------- template */

static void file_template_expands_and_refuses_unknowns(void **state)
{
  struct integ_error err = {0, ""};
  char *s = NULL;

  (void)state;
  assert_int_equal(output_expand_template("/x/{connector}-{account}-{date}"
                                          "T{time}.jsonl",
                                          "c", NULL, 1640995200000LL, &s,
                                          &err),
                   0);
  assert_string_equal(s, "/x/c-default-2022-01-01T000000.jsonl");
  free(s);
  assert_int_equal(output_expand_template("", "c", NULL, 0, &s, &err), 0);
  assert_string_equal(s, "");
  free(s);
  assert_int_equal(output_expand_template("/x/{nope}", "c", NULL, 0, &s, &err),
                   INTEG_ECONFIG);
  assert_null(s);
  assert_non_null(strstr(err.message, "unknown placeholder at character 4"));
}

/* ------------------------------------------------------ echo matching */

struct echo_case {
  const char *sent, *echo;
  int acks;
};

static void echoes_match_on_the_payload_by_value(void **state)
{
  static const struct echo_case cases[] = {
      /* Singer: the value, or the message */
      {"{\"type\":\"STATE\",\"value\":{\"n\":147}}", "{\"n\":147}", 1},
      {"{\"type\":\"STATE\",\"value\":{\"n\":147}}", "{\"n\": 147.0}", 1},
      {"{\"type\":\"STATE\",\"value\":{\"n\":147.0}}", "{\"n\":147}", 1},
      {"{\"type\":\"STATE\",\"value\":{\"n\":147}}",
       "{\"type\":\"STATE\",\"value\":{\"n\":147.0}}", 1},
      {"{\"type\":\"STATE\",\"value\":{\"n\":147}}", "{\"n\":147.5}", 0},
      {"{\"type\":\"STATE\",\"value\":{\"n\":147}}", "{\"n\":148}", 0},
      {"{\"type\":\"STATE\",\"value\":{\"n\":147}}", "{\"n\":\"147\"}", 0},
      /* inside the payload, an added member is a different state */
      {"{\"type\":\"STATE\",\"value\":{\"n\":1}}", "{\"n\":1,\"m\":2}", 0},
      {"{\"type\":\"STATE\",\"value\":{\"n\":1,\"m\":2}}", "{\"n\":1}", 0},
      {"{\"type\":\"STATE\",\"value\":{\"a\":[1,{\"b\":null}]}}",
       "{\"a\":[1.0,{\"b\":null}]}", 1},
      {"{\"type\":\"STATE\",\"value\":{\"a\":[1,2]}}", "{\"a\":[2,1]}", 0},
      {"{\"type\":\"STATE\",\"value\":{\"a\":true}}", "{\"a\":1}", 0},
      {"{\"type\":\"STATE\",\"value\":{\"a\":null}}", "{\"a\":false}", 0},
      /* Airbyte STREAM: descriptor and stream_state; stats ignored */
      {"{\"type\":\"STATE\",\"state\":{\"type\":\"STREAM\",\"stream\":"
       "{\"stream_descriptor\":{\"name\":\"s\"},\"stream_state\":{\"n\":147}},"
       "\"sourceStats\":{\"recordCount\":147.0}}}",
       "{\"type\": \"STATE\", \"state\": {\"type\": \"STREAM\", \"stream\": "
       "{\"stream_descriptor\": {\"name\": \"s\", \"namespace\": null}, "
       "\"stream_state\": {\"n\": 147.0}}, \"sourceStats\": {\"recordCount\": "
       "147}, \"destinationStats\": {\"recordCount\": 147}}}",
       1},
      {"{\"type\":\"STATE\",\"state\":{\"type\":\"STREAM\",\"stream\":"
       "{\"stream_descriptor\":{\"name\":\"s\"},\"stream_state\":{\"n\":1}}}}",
       "{\"type\":\"STATE\",\"state\":{\"type\":\"STREAM\",\"stream\":"
       "{\"stream_descriptor\":{\"name\":\"t\"},\"stream_state\":{\"n\":1}}}}",
       0},
      {"{\"type\":\"STATE\",\"state\":{\"type\":\"STREAM\",\"stream\":"
       "{\"stream_descriptor\":{\"name\":\"s\",\"namespace\":\"a\"},"
       "\"stream_state\":{\"n\":1}}}}",
       "{\"type\":\"STATE\",\"state\":{\"type\":\"STREAM\",\"stream\":"
       "{\"stream_descriptor\":{\"name\":\"s\"},\"stream_state\":{\"n\":1}}}}",
       0},
      {"{\"type\":\"STATE\",\"state\":{\"type\":\"STREAM\",\"stream\":"
       "{\"stream_descriptor\":{\"name\":\"s\"},\"stream_state\":{\"n\":1}}}}",
       "{\"type\":\"STATE\",\"state\":{\"type\":\"STREAM\",\"stream\":"
       "{\"stream_descriptor\":{\"name\":\"s\"},\"stream_state\":{\"n\":2}}}}",
       0},
      /* a message-level member added (sourceStats at the top) */
      {"{\"type\":\"STATE\",\"state\":{\"type\":\"GLOBAL\",\"global\":"
       "{\"shared_state\":{\"c\":1},\"stream_states\":[]}}}",
       "{\"type\":\"STATE\",\"state\":{\"type\":\"GLOBAL\",\"global\":"
       "{\"shared_state\":{\"c\":1.0},\"stream_states\":[]}},"
       "\"sourceStats\":{}}",
       1},
      {"{\"type\":\"STATE\",\"state\":{\"type\":\"GLOBAL\",\"global\":"
       "{\"shared_state\":{\"c\":1},\"stream_states\":[]}}}",
       "{\"type\":\"STATE\",\"state\":{\"type\":\"LEGACY\",\"data\":"
       "{\"c\":1}}}",
       0},
      /* no type is LEGACY */
      {"{\"type\":\"STATE\",\"state\":{\"data\":{\"c\":1}}}",
       "{\"type\":\"STATE\",\"state\":{\"type\":\"LEGACY\",\"data\":"
       "{\"c\":1.0}}}",
       1},
      /* an Airbyte state is echoed as a message, not as its payload */
      {"{\"type\":\"STATE\",\"state\":{\"data\":{\"c\":1}}}", "{\"c\":1}", 0},
      {"{\"type\":\"STATE\",\"state\":{\"data\":{\"c\":1}}}",
       "{\"type\":\"RECORD\",\"state\":{\"data\":{\"c\":1}}}", 0},
  };

  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    json_t *sent = parse(cases[i].sent), *echo = parse(cases[i].echo);
    int got = output_echo_acknowledges(echo, sent);

    if (got != cases[i].acks)
      fail_msg("case %zu: sent %s, echo %s: expected %s, got %s", i,
               cases[i].sent, cases[i].echo,
               cases[i].acks ? "acknowledged" : "not", got ? "acked" : "not");
    json_decref(sent);
    json_decref(echo);
  }
}

static void numbers_compare_exactly_by_value(void **state)
{
  json_t *i53 = json_integer(9007199254740993LL); /* 2^53 + 1 */
  json_t *r53 = json_real(9007199254740992.0);
  json_t *imax = json_integer(INT64_MAX);
  json_t *r63 = json_real(9223372036854775808.0); /* 2^63 */
  json_t *i0 = json_integer(0), *rneg0 = json_real(-0.0);

  (void)state;
  assert_false(output_json_same(i53, r53));  /* not by rounding */
  assert_false(output_json_same(imax, r63)); /* out of range: no UB */
  assert_true(output_json_same(i0, rneg0));
  assert_true(output_json_same(r53, r53));
  json_decref(i53);
  json_decref(r53);
  json_decref(imax);
  json_decref(r63);
  json_decref(i0);
  json_decref(rneg0);
}

/* ------------------------------------------------------------ targets */

static int64_t mono_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void a_target_that_ignores_sigterm_is_killed(void **state)
{
  struct fixture *f = *state;
  char to[512];
  struct output_config c;
  struct integ_error err = {0, ""};
  struct output *o;
  int64_t t0, took;
  FILE *in;
  long pid = 0;

  snprintf(to, sizeof(to),
           "command:trap '' TERM; echo $$ >%s; while :; do sleep 1; done",
           f->file);
  c = config(f, to);
  c.term_wait_ms = 300;
  assert_int_equal(open_s(&c, &o, &err), 0);
  for (int i = 0; i < 100 && pid == 0; i++) {
    in = fopen(f->file, "r");
    if (in && fscanf(in, "%ld", &pid) != 1)
      pid = 0;
    if (in)
      fclose(in);
    if (!pid)
      usleep(20000);
  }
  assert_true(pid > 0);
  t0 = mono_ms();
  assert_int_equal(output_close(o, 0, NULL), 0);
  took = mono_ms() - t0;
  assert_true(took >= 300);
  assert_true(took < 5000);
  /* Reaped (the shell) and killed with its group (its sleep). */
  assert_int_equal(kill((pid_t)pid, 0), -1);
  assert_int_equal(errno, ESRCH);
}

static void a_target_that_exits_early_is_described(void **state)
{
  struct fixture *f = *state;
  struct output_config c =
      config(f, "command:echo 'cannot connect to the warehouse' >&2; exit 4");
  struct integ_error err = {0, ""};
  struct output *o;
  json_t *s = state_n(1);
  int rc;

  assert_int_equal(open_s(&c, &o, &err), 0);
  usleep(100000); /* it is gone before the first write */
  write_records(o, 1, 1);
  assert_int_equal(output_state(o, s, &err), 0);
  rc = output_checkpoint(o, &err);
  if (!rc)
    rc = output_close(o, 1, &err);
  else
    output_close(o, 1, NULL);
  assert_int_not_equal(rc, 0);
  assert_non_null(strstr(err.message, "exited with status 4"));
  assert_non_null(strstr(err.message, "\"cannot connect to the warehouse\""));
  assert_int_equal(f->commits, 0);
  json_decref(s);
}

static void cat_echoes_states_and_they_are_committed(void **state)
{
  struct fixture *f = *state;
  struct output_config c = config(f, "command:cat");
  struct integ_error err = {0, ""};
  struct output *o;
  json_t *s;

  c.checkpoint_records = 5000;
  assert_int_equal(open_s(&c, &o, &err), 0);
  for (int k = 1; k <= 20; k++) {
    write_records(o, (k - 1) * 5000 + 1, k * 5000);
    s = state_n(k * 5000);
    assert_int_equal(output_state(o, s, &err), 0);
    json_decref(s);
  }
  assert_int_equal(output_close(o, 1, &err), 0);
  assert_true(f->commits >= 1);
  s = state_n(100000);
  assert_true(json_equal(f->committed, s));
  json_decref(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(
          records_wait_in_the_buffer_until_a_checkpoint, setup, teardown),
      cmocka_unit_test_setup_teardown(
          a_state_is_committed_after_the_records_before_it, setup, teardown),
      cmocka_unit_test_setup_teardown(close_commits_the_last_state, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(close_without_ok_commits_nothing, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(a_failed_write_commits_nothing_more,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(a_failed_commit_is_returned, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(open_cuts_a_torn_last_line, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(open_cuts_a_file_that_is_one_torn_line,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(open_keeps_whole_lines_and_appends,
                                      setup, teardown),
      cmocka_unit_test(file_template_expands_and_refuses_unknowns),
      cmocka_unit_test(echoes_match_on_the_payload_by_value),
      cmocka_unit_test(numbers_compare_exactly_by_value),
      cmocka_unit_test_setup_teardown(a_target_that_ignores_sigterm_is_killed,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(a_target_that_exits_early_is_described,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(cat_echoes_states_and_they_are_committed,
                                      setup, teardown),
  };

  /* Writes to a target that has gone fail with EPIPE, not a signal. */
  signal(SIGPIPE, SIG_IGN);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
