/* test_queue.c - the webhook queue: group commit from many threads,
 * idempotency keys and their TTL, claim, failure backoff, dead letters,
 * replay, done and prune. */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "queue.h"
#include "store.h"

struct fixture {
  char dir[64];
  char path[128];
  struct queue *q;
};

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));
  struct integ_error err = {0, ""};
  struct store *s = NULL;

  if (!f)
    return -1;
  snprintf(f->dir, sizeof(f->dir), "/tmp/test_queue.XXXXXX");
  if (!mkdtemp(f->dir))
    return -1;
  snprintf(f->path, sizeof(f->path), "%s/store.db", f->dir);
  if (store_open(f->path, &s, &err))
    return -1;
  store_close(s);
  if (queue_open(f->path, &f->q, &err))
    return -1;
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  char cmd[200];

  queue_close(f->q);
  snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
  if (system(cmd) != 0)
    return -1;
  free(f);
  return 0;
}

static int submit(struct queue *q, const char *id, int64_t now, int64_t ttl,
                  int *dup)
{
  struct integ_error err = {0, ""};
  struct queue_item it = {.connector = "c",
                          .delivery_id = id,
                          .scheme = "standard",
                          .type = "t",
                          .received_ms = now,
                          .headers = "{\"a\":\"b\"}",
                          .body = "{}",
                          .len = 2,
                          .key_ttl_ms = ttl};

  return queue_submit(q, &it, dup, &err);
}

static void a_known_id_is_a_duplicate_until_its_ttl(void **state)
{
  struct fixture *f = *state;
  struct integ_error err = {0, ""};
  size_t removed = 0;
  json_t *list = NULL;
  int dup = -1;

  assert_int_equal(submit(f->q, "d1", 1000, 5000, &dup), 0);
  assert_int_equal(dup, 0);
  assert_int_equal(submit(f->q, "d1", 2000, 5000, &dup), 0);
  assert_int_equal(dup, 1);
  assert_int_equal(queue_list(f->q, 0, &list, &err), 0);
  assert_int_equal(json_array_size(list), 1);
  json_decref(list);
  /* No id: never deduplicated. */
  assert_int_equal(submit(f->q, NULL, 2000, 5000, &dup), 0);
  assert_int_equal(submit(f->q, NULL, 2000, 5000, &dup), 0);
  assert_int_equal(dup, 0);
  /* Expired: pruned, and the id is new again. */
  assert_int_equal(queue_prune(f->q, 7000, &removed, &err), 0);
  assert_int_equal(removed, 1);
  assert_int_equal(submit(f->q, "d1", 7000, 5000, &dup), 0);
  assert_int_equal(dup, 0);
}

struct worker {
  struct queue *q;
  int base, n, dups, failed;
};

static void *work(void *arg)
{
  struct worker *w = arg;
  char id[32];

  for (int i = 0; i < w->n; i++) {
    int dup = 0;

    /* Every id twice: the second is a duplicate whichever thread sends
     * it. */
    snprintf(id, sizeof(id), "id-%d", (w->base + i) / 2);
    if (submit(w->q, id, 1000, 60000, &dup))
      w->failed++;
    w->dups += dup;
  }
  return NULL;
}

static void concurrent_submitters_share_commits(void **state)
{
  struct fixture *f = *state;
  struct integ_error err = {0, ""};
  pthread_t th[8];
  struct worker w[8];
  uint64_t items = 0, commits = 0;
  int dups = 0;
  json_t *list = NULL;

  for (int i = 0; i < 8; i++) {
    w[i] = (struct worker){f->q, i * 200, 200, 0, 0};
    assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
  }
  for (int i = 0; i < 8; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(w[i].failed, 0);
    dups += w[i].dups;
  }
  assert_int_equal(dups, 800);
  assert_int_equal(queue_list(f->q, 0, &list, &err), 0);
  assert_int_equal(json_array_size(list), 800);
  json_decref(list);
  queue_stats(f->q, &items, &commits);
  assert_int_equal(items, 1600);
  /* Group commit: fewer transactions than deliveries (a lower bound on
   * sharing would be timing-dependent; one commit each is the bug). */
  print_message("# %llu deliveries in %llu commits\n",
                (unsigned long long)items, (unsigned long long)commits);
  assert_true(commits < items);
}

static void claim_fail_dead_replay_done(void **state)
{
  struct fixture *f = *state;
  struct integ_error err = {0, ""};
  json_t *batch = NULL, *sum = NULL;
  int64_t id;
  int dup, dead = -1;

  assert_int_equal(submit(f->q, "a", 1000, 60000, &dup), 0);
  assert_int_equal(submit(f->q, "b", 1000, 60000, &dup), 0);
  assert_int_equal(queue_claim(f->q, "c", 1000, 1, &batch, &err), 0);
  assert_int_equal(json_array_size(batch), 1);
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(batch, 0), "body")),
      "{}");
  id = json_integer_value(json_object_get(json_array_get(batch, 0), "id"));
  json_decref(batch);
  /* Fails once: back after 1 s. */
  assert_int_equal(queue_fail(f->q, id, "boom", 1000, 2, &dead, &err), 0);
  assert_int_equal(dead, 0);
  assert_int_equal(queue_claim(f->q, "c", 1500, 10, &batch, &err), 0);
  assert_int_equal(json_array_size(batch), 1); /* only b is due */
  assert_string_equal(json_string_value(json_object_get(
                          json_array_get(batch, 0), "delivery_id")),
                      "b");
  {
    int64_t b =
        json_integer_value(json_object_get(json_array_get(batch, 0), "id"));

    assert_int_equal(queue_done(f->q, &b, 1, &err), 0);
  }
  json_decref(batch);
  assert_int_equal(queue_claim(f->q, "c", 2000, 10, &batch, &err), 0);
  assert_int_equal(json_array_size(batch), 1);
  json_decref(batch);
  assert_int_equal(queue_fail(f->q, id, "boom", 2000, 2, &dead, &err), 0);
  assert_int_equal(dead, 1);
  assert_int_equal(queue_summary(f->q, &sum, &err), 0);
  assert_int_equal(
      json_integer_value(json_object_get(json_object_get(sum, "c"), "dead")),
      1);
  json_decref(sum);
  assert_int_equal(queue_list(f->q, 1, &batch, &err), 0);
  assert_int_equal(json_array_size(batch), 1);
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(batch, 0), "error")),
      "boom");
  json_decref(batch);
  assert_int_equal(queue_replay(f->q, id, &err), 0);
  assert_int_equal(queue_replay(f->q, 424242, &err), INTEG_ENOTFOUND);
  assert_int_equal(queue_claim(f->q, "c", 2000, 10, &batch, &err), 0);
  assert_int_equal(json_array_size(batch), 1);
  json_decref(batch);
  /* A process that died left it running: reset, claimed again. */
  assert_int_equal(queue_reset_running(f->q, "c", &err), 0);
  assert_int_equal(queue_claim(f->q, "c", 2000, 10, &batch, &err), 0);
  assert_int_equal(json_array_size(batch), 1);
  json_decref(batch);
  assert_int_equal(queue_done(f->q, &id, 1, &err), 0);
  assert_int_equal(queue_list(f->q, 0, &batch, &err), 0);
  assert_int_equal(json_array_size(batch), 0);
  json_decref(batch);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_known_id_is_a_duplicate_until_its_ttl,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(concurrent_submitters_share_commits,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(claim_fail_dead_replay_done, setup,
                                      teardown),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
