/* test_tokens.c - the token key file and sealed rows (host/tokens.c). */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"
#include "tokens.h"

static char dir[] = "/tmp/test_tokens.XXXXXX";
static char key[512], db[512];

static int setup(void **state)
{
  (void)state;
  snprintf(key, sizeof(key), "%s/token.key", dir);
  snprintf(db, sizeof(db), "%s/s.db", dir);
  unlink(key);
  return 0;
}

static json_t *token(const char *rt)
{
  return json_pack("{s:s, s:s}", "access_token", "at-secret", "refresh_token",
                   rt);
}

static void key_file_is_made_0600_and_refused_when_others_read_it(void **s)
{
  struct integ_error err = {0, ""};
  struct tokens_ring *r = NULL;
  struct stat st;

  (void)s;
  assert_int_equal(tokens_ring_load(key, 0, &r, &err), INTEG_ENOTFOUND);
  assert_non_null(strstr(err.message, "does not exist"));
  assert_int_equal(tokens_ring_load(key, 1, &r, &err), 0);
  assert_int_equal(stat(key, &st), 0);
  assert_int_equal(st.st_size, 32);
  assert_int_equal(st.st_mode & 0777,
                   geteuid() == 0 ? (st.st_gid ? 0640 : 0600) : 0600);
  tokens_ring_free(r);
  chmod(key, 0604);
  assert_int_equal(tokens_ring_load(key, 0, &r, &err), INTEG_ECONFIG);
  assert_non_null(strstr(err.message, "run chmod 600"));
}

static void seal_open_round_trip_with_fresh_nonces(void **s)
{
  struct integ_error err = {0, ""};
  struct tokens_ring *r = NULL;
  struct store_token a = {0}, b = {0};
  json_t *t = token("rt-1"), *got = NULL;

  (void)s;
  assert_int_equal(tokens_ring_load(key, 1, &r, &err), 0);
  assert_int_equal(tokens_seal(r, "acc", "prov", t, &a, &err), 0);
  assert_int_equal(tokens_seal(r, "acc", "prov", t, &b, &err), 0);
  assert_int_equal(a.sealed_len, b.sealed_len);
  /* a fresh 96-bit nonce each time: the bytes differ */
  assert_memory_not_equal(a.sealed, b.sealed, a.sealed_len);
  assert_null(memmem(a.sealed, a.sealed_len, "rt-1", 4));
  assert_int_equal(tokens_open(r, "acc", "prov", &a, NULL, &got, &err), 0);
  assert_true(json_equal(got, t));
  json_decref(got);
  store_token_clear(&a);
  store_token_clear(&b);
  json_decref(t);
  tokens_ring_free(r);
}

static void tampered_moved_and_wrong_key_are_told_apart(void **s)
{
  struct integ_error err = {0, ""};
  struct tokens_ring *r = NULL, *r2 = NULL;
  struct store_token a = {0};
  const char *others[] = {"acc", "eve", NULL};
  json_t *t = token("rt-1"), *got = NULL;

  (void)s;
  assert_int_equal(tokens_ring_load(key, 1, &r, &err), 0);
  assert_int_equal(tokens_seal(r, "acc", "prov", t, &a, &err), 0);
  /* moved: acc's row read as eve's */
  assert_int_equal(tokens_open(r, "eve", "prov", &a, others, &got, &err),
                   INTEG_ESTATE);
  assert_non_null(strstr(err.message, "was sealed for account acc"));
  /* tampered */
  ((unsigned char *)a.sealed)[20] ^= 1;
  assert_int_equal(tokens_open(r, "acc", "prov", &a, others, &got, &err),
                   INTEG_ESTATE);
  assert_non_null(strstr(err.message, "fails its integrity check"));
  ((unsigned char *)a.sealed)[20] ^= 1;
  /* another key file */
  unlink(key);
  assert_int_equal(tokens_ring_load(key, 1, &r2, &err), 0);
  assert_int_equal(tokens_open(r2, "acc", "prov", &a, NULL, &got, &err),
                   INTEG_ESTATE);
  assert_non_null(strstr(err.message, "was sealed with key"));
  assert_null(got);
  store_token_clear(&a);
  json_decref(t);
  tokens_ring_free(r);
  tokens_ring_free(r2);
}

/* A rekey killed halfway: rows under the old key and under PATH.new are
 * all readable, and running it again finishes. */
static void rekey_killed_halfway_leaves_every_row_readable(void **s)
{
  struct integ_error err = {0, ""};
  struct tokens_ring *r = NULL;
  struct store *st = NULL;
  struct store_token a = {0}, b = {0};
  char knew[600];
  json_t *t = token("rt-1"), *got = NULL;
  size_t n = 0;
  int fd;
  unsigned char k[32];

  (void)s;
  unlink(db);
  assert_int_equal(store_open(db, &st, &err), 0);
  assert_int_equal(tokens_ring_load(key, 1, &r, &err), 0);
  assert_int_equal(tokens_seal(r, "a", "p", t, &a, &err), 0);
  assert_int_equal(store_token_put(st, "a", "p", &a, NULL, &err), 0);
  tokens_ring_free(r);
  /* halfway: PATH.new exists, row b is under it, row a is not */
  snprintf(knew, sizeof(knew), "%s.new", key);
  for (size_t i = 0; i < sizeof(k); i++)
    k[i] = (unsigned char)(i * 7 + 1);
  fd = open(knew, O_WRONLY | O_CREAT | O_EXCL, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, k, sizeof(k)), 32);
  close(fd);
  assert_int_equal(tokens_ring_load(key, 0, &r, &err), 0);
  assert_int_equal(tokens_seal(r, "b", "p", t, &b, &err), 0);
  assert_string_not_equal(a.key_id, b.key_id);
  assert_int_equal(store_token_put(st, "b", "p", &b, NULL, &err), 0);
  assert_int_equal(tokens_open(r, "a", "p", &a, NULL, &got, &err), 0);
  json_decref(got);
  assert_int_equal(tokens_open(r, "b", "p", &b, NULL, &got, &err), 0);
  json_decref(got);
  tokens_ring_free(r);
  /* run again: finishes, PATH.new becomes PATH */
  assert_int_equal(tokens_rekey(key, st, &n, &err), 0);
  assert_int_equal(n, 1);
  assert_int_equal(access(knew, F_OK), -1);
  store_token_clear(&a);
  assert_int_equal(store_token_get(st, "a", "p", &a, &err), 0);
  assert_int_equal(tokens_ring_load(key, 0, &r, &err), 0);
  assert_string_equal(a.key_id, tokens_ring_key_id(r));
  assert_int_equal(tokens_open(r, "a", "p", &a, NULL, &got, &err), 0);
  assert_true(json_equal(got, t));
  json_decref(got);
  tokens_ring_free(r);
  store_token_clear(&a);
  store_token_clear(&b);
  store_close(st);
  json_decref(t);
}

static void lease_is_exclusive_until_it_expires(void **s)
{
  struct integ_error err = {0, ""};
  struct store *st = NULL;
  struct store_token row = {0};
  int got = 0;

  (void)s;
  unlink(db);
  assert_int_equal(store_open(db, &st, &err), 0);
  assert_int_equal(
      store_token_lease(st, "a", "p", "one", 100, 200, &got, &err), 0);
  assert_int_equal(got, 1);
  assert_int_equal(
      store_token_lease(st, "a", "p", "two", 150, 250, &got, &err), 0);
  assert_int_equal(got, 0);
  /* one's lease ran out: two takes it; one can no longer commit */
  assert_int_equal(
      store_token_lease(st, "a", "p", "two", 200, 300, &got, &err), 0);
  assert_int_equal(got, 1);
  assert_int_equal(store_token_put(st, "a", "p", &row, "one", &err),
                   INTEG_ESTATE);
  assert_int_equal(store_token_put(st, "a", "p", &row, "two", &err), 0);
  assert_int_equal(store_token_get(st, "a", "p", &row, &err), 0);
  assert_null(row.lease_owner);
  store_token_clear(&row);
  store_close(st);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(
          key_file_is_made_0600_and_refused_when_others_read_it, setup),
      cmocka_unit_test_setup(seal_open_round_trip_with_fresh_nonces, setup),
      cmocka_unit_test_setup(tampered_moved_and_wrong_key_are_told_apart,
                             setup),
      cmocka_unit_test_setup(rekey_killed_halfway_leaves_every_row_readable,
                             setup),
      cmocka_unit_test_setup(lease_is_exclusive_until_it_expires, setup),
  };
  int rc;

  if (!mkdtemp(dir))
    return 1;
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  unlink(key);
  snprintf(key, sizeof(key), "%s/token.key.new", dir);
  unlink(key);
  unlink(db);
  snprintf(db, sizeof(db), "%s/s.db-wal", dir);
  unlink(db);
  snprintf(db, sizeof(db), "%s/s.db-shm", dir);
  unlink(db);
  rmdir(dir);
  return rc;
}
