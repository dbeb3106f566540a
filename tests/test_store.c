/* test_store.c - the SQLite store: schema, state, history, buckets, and
 * the refusals (newer schema, corrupt file, malformed JSON). Real SQLite
 * files in a temporary directory. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"

struct fixture {
  char dir[64];
  char path[128];
};

static int rm_one(const char *p, const struct stat *st, int flag,
                  struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(p);
}

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));

  if (!f)
    return -1;
  snprintf(f->dir, sizeof(f->dir), "%s", "/tmp/integ-store.XXXXXX");
  if (!mkdtemp(f->dir))
    return -1;
  snprintf(f->path, sizeof(f->path), "%s/integ.db", f->dir);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;

  nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  free(f);
  return 0;
}

/* The whole file (new, size in *n). */
static unsigned char *slurp(const char *path, size_t *n)
{
  FILE *fp = fopen(path, "rb");
  unsigned char *b;
  long sz;

  assert_non_null(fp);
  assert_int_equal(fseek(fp, 0, SEEK_END), 0);
  sz = ftell(fp);
  rewind(fp);
  b = malloc((size_t)sz + 1);
  assert_non_null(b);
  assert_int_equal(fread(b, 1, (size_t)sz, fp), (size_t)sz);
  fclose(fp);
  *n = (size_t)sz;
  return b;
}

static void spew(const char *path, const void *p, size_t n)
{
  FILE *fp = fopen(path, "wb");

  assert_non_null(fp);
  assert_int_equal(fwrite(p, 1, n, fp), n);
  assert_int_equal(fclose(fp), 0);
}

/* Run SQL on the file directly, bypassing the store. */
static void raw_exec(const char *path, const char *sql)
{
  sqlite3 *db = NULL;
  char *msg = NULL;

  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
    fail_msg("raw sql failed: %s", msg);
  sqlite3_close(db);
}

static int64_t raw_int(const char *path, const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  int64_t v;

  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

static void assert_contains(const char *hay, const char *needle)
{
  if (!strstr(hay, needle))
    fail_msg("expected the message to contain \"%s\"; got \"%s\"", needle,
             hay);
}

static double now_s(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void new_store_is_created_private_wal_and_migrated(void **state)
{
  struct fixture *f = *state;
  struct integ_error err = {0, ""};
  struct store *s = NULL;
  struct stat st;

  assert_int_equal(store_open(f->path, &s, &err), 0);
  assert_non_null(s);
  assert_string_equal(store_path(s), f->path);
  assert_int_equal(stat(f->path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  store_close(s);
  assert_int_equal(raw_int(f->path, "PRAGMA user_version"),
                   store_schema_version());
  assert_int_equal(raw_int(f->path, "PRAGMA application_id"), 0x696e7467);
  /* WAL is persistent: the file header says so. */
  assert_int_equal(raw_int(f->path, "SELECT journal_mode = 'wal' FROM "
                                    "pragma_journal_mode"),
                   1);
  assert_int_equal(raw_int(f->path,
                           "SELECT count(*) FROM sqlite_schema WHERE name IN "
                           "('state', 'runs', 'buckets')"),
                   3);
}

static void empty_file_is_migrated_and_reopen_is_idempotent(void **state)
{
  struct fixture *f = *state;
  struct integ_error err = {0, ""};
  struct store *s = NULL;

  spew(f->path, "", 0);
  assert_int_equal(store_open(f->path, &s, &err), 0);
  store_close(s);
  assert_int_equal(raw_int(f->path, "PRAGMA user_version"),
                   store_schema_version());
  assert_int_equal(store_open(f->path, &s, &err), 0);
  store_close(s);
  /* state, runs, buckets, tokens and the index on runs; webhook_queue,
   * its index and webhook_keys */
  assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_schema"), 8);
}

static void missing_directory_is_a_clear_error(void **state)
{
  struct fixture *f = *state;
  struct integ_error err = {0, ""};
  struct store *s = NULL;
  char path[192];

  snprintf(path, sizeof(path), "%s/no/such/dir/integ.db", f->dir);
  assert_int_equal(store_open(path, &s, &err), INTEG_ESTATE);
  assert_null(s);
  assert_contains(err.message, path);
  assert_contains(err.message, "create its directory");
}

static void state_survives_reopen(void **state)
{
  struct fixture *f = *state;
  struct integ_error err = {0, ""};
  struct store *s = NULL;
  json_t *in, *got;

  assert_int_equal(store_open(f->path, &s, &err), 0);
  in = json_pack("{s:{s:s}}", "users", "cursor", "2026-01-01");
  assert_int_equal(store_state_put(s, "default", "c1", in, &err), 0);
  store_close(s);
  assert_int_equal(store_open(f->path, &s, &err), 0);
  assert_int_equal(store_state_get(s, "default", "c1", &got, &err), 0);
  assert_true(json_equal(in, got));
  json_decref(got);
  /* Another account or connector sees nothing. */
  assert_int_equal(store_state_get(s, "other", "c1", &got, &err), 0);
  assert_int_equal(json_object_size(got), 0);
  json_decref(got);
  assert_int_equal(store_state_get(s, "default", "c2", &got, &err), 0);
  assert_int_equal(json_object_size(got), 0);
  json_decref(got);
  json_decref(in);
  store_close(s);
}

static void state_round_trips_unicode_big_ints_and_nesting(void **state)
{
  struct fixture *f = *state;
  struct integ_error err = {0, ""};
  struct store *s = NULL;
  json_error_t jerr;
  json_t *in, *got;
  char *a, *b;

  in = json_loads(
      "{\"\": {\"bookmarks\": {\"a\": {\"replication_key_value\": 1}}},"
      " \"ünï\\u00e7ødé \\ud83d\\ude00\": \"\\u2603 \\\" \\\\ \\n\","
      " \"big\": [9223372036854775807, -9223372036854775808, 0],"
      " \"real\": 423.962, \"tiny\": 5e-324,"
      " \"deep\": {\"a\": [{\"b\": [null, true, false, {}]}]},"
      " \"str\": \"x\"}",
      0, &jerr);
  assert_non_null(in);
  assert_int_equal(store_open(f->path, &s, &err), 0);
  assert_int_equal(store_state_put(s, "acct", "conn", in, &err), 0);
  assert_int_equal(store_state_get(s, "acct", "conn", &got, &err), 0);
  a = json_dumps(in, JSON_SORT_KEYS | JSON_COMPACT);
  b = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
  assert_string_equal(b, a);
  assert_int_equal(
      json_integer_value(json_array_get(json_object_get(got, "big"), 0)),
      INT64_MAX);
  assert_int_equal(
      json_integer_value(json_array_get(json_object_get(got, "big"), 1)),
      INT64_MIN);
  assert_true(json_real_value(json_object_get(got, "real")) == 423.962);
  free(a);
  free(b);
  json_decref(got);
  json_decref(in);
  store_close(s);
}

static void put_replaces_given_streams_and_clear_removes(void **state)
{
  struct fixture *f = *state;
  struct integ_error err = {0, ""};
  struct store *s = NULL;
  json_t *in, *got;
  size_t removed = 99;

  assert_int_equal(store_open(f->path, &s, &err), 0);
  in = json_pack("{s:i, s:i, s:i}", "a", 1, "b", 2, "c", 3);
  assert_int_equal(store_state_put(s, "default", "c", in, &err), 0);
  json_decref(in);
  in = json_pack("{s:i}", "b", 20);
  assert_int_equal(store_state_put(s, "default", "c", in, &err), 0);
  json_decref(in);
  assert_int_equal(store_state_get(s, "default", "c", &got, &err), 0);
  in = json_pack("{s:i, s:i, s:i}", "a", 1, "b", 20, "c", 3);
  assert_true(json_equal(in, got));
  json_decref(in);
  json_decref(got);

  assert_int_equal(store_state_clear(s, "default", "c", "b", &removed, &err),
                   0);
  assert_int_equal(removed, 1);
  assert_int_equal(store_state_clear(s, "default", "c", "b", &removed, &err),
                   0);
  assert_int_equal(removed, 0);
  assert_int_equal(store_state_clear(s, "default", "c", NULL, &removed, &err),
                   0);
  assert_int_equal(removed, 2);
  assert_int_equal(store_state_get(s, "default", "c", &got, &err), 0);
  assert_int_equal(json_object_size(got), 0);
  json_decref(got);

  /* Not an object, empty names: refused. */
  in = json_integer(1);
  assert_int_equal(store_state_put(s, "default", "c", in, &err), INTEG_EINVAL);
  json_decref(in);
  assert_int_equal(store_state_get(s, "default", "", &got, &err),
                   INTEG_EINVAL);
  store_close(s);
}

static void newer_schema_is_refused_and_file_untouched(void **state)
{
  struct fixture *f = *state;
  struct integ_error err = {0, ""};
  struct store *s = NULL;
  unsigned char *before, *after;
  size_t nb, na;
  char sql[160], want[160];

  snprintf(sql, sizeof(sql),
           "PRAGMA application_id = 1768846439; PRAGMA user_version = %d;"
           "CREATE TABLE future (x);",
           store_schema_version() + 1);
  raw_exec(f->path, sql);
  before = slurp(f->path, &nb);
  assert_int_equal(store_open(f->path, &s, &err), INTEG_ESTATE);
  assert_null(s);
  snprintf(want, sizeof(want),
           "was written by a newer integ (schema %d, this integ knows %d): "
           "upgrade integ",
           store_schema_version() + 1, store_schema_version());
  assert_contains(err.message, want);
  assert_contains(err.message, f->path);
  after = slurp(f->path, &na);
  assert_int_equal(na, nb);
  assert_memory_equal(after, before, nb);
  free(before);
  free(after);
}

static void other_programs_database_is_refused(void **state)
{
  struct fixture *f = *state;
  struct integ_error err = {0, ""};
  struct store *s = NULL;
  unsigned char *before, *after;
  size_t nb, na;

  raw_exec(f->path, "CREATE TABLE contacts (name); INSERT INTO contacts "
                    "VALUES ('x');");
  before = slurp(f->path, &nb);
  assert_int_equal(store_open(f->path, &s, &err), INTEG_ESTATE);
  assert_contains(err.message, "another program");
  after = slurp(f->path, &na);
  assert_int_equal(na, nb);
  assert_memory_equal(after, before, nb);
  free(before);
  free(after);
}

static void random_bytes_are_refused_and_untouched(void **state)
{
  struct fixture *f = *state;
  struct integ_error err = {0, ""};
  struct store *s = NULL;
  unsigned char junk[8192], *after;
  unsigned seed = 12345;
  size_t na;

  for (size_t i = 0; i < sizeof(junk); i++) {
    seed = seed * 1103515245u + 12345u;
    junk[i] = (unsigned char)(seed >> 16);
  }
  spew(f->path, junk, sizeof(junk));
  assert_int_equal(store_open(f->path, &s, &err), INTEG_ESTATE);
  assert_null(s);
  assert_contains(err.message, f->path);
  assert_contains(err.message, "not a SQLite database");
  after = slurp(f->path, &na);
  assert_int_equal(na, sizeof(junk));
  assert_memory_equal(after, junk, sizeof(junk));
  free(after);
}

static void truncated_store_is_refused_and_untouched(void **state)
{
  struct fixture *f = *state;
  struct integ_error err = {0, ""};
  struct store *s = NULL;
  unsigned char *full, *after;
  size_t n, na, cuts[2];
  json_t *in;
  char key[32], side[160];

  /* Enough rows for several pages. */
  assert_int_equal(store_open(f->path, &s, &err), 0);
  in = json_object();
  for (int i = 0; i < 400; i++) {
    snprintf(key, sizeof(key), "stream-%03d", i);
    json_object_set_new(in, key,
                        json_string("a fairly long cursor value "
                                    "to fill pages ............"));
  }
  assert_int_equal(store_state_put(s, "default", "c", in, &err), 0);
  json_decref(in);
  store_close(s);
  full = slurp(f->path, &n);
  assert_true(n >= 4 * 4096);
  cuts[0] = n / 2;        /* on a page boundary */
  cuts[1] = n - 4096 + 7; /* mid-page */
  for (size_t c = 0; c < 2; c++) {
    /* No -wal/-shm of the last attempt may repair or mask the cut. */
    snprintf(side, sizeof(side), "%s-wal", f->path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", f->path);
    unlink(side);
    spew(f->path, full, cuts[c]);
    err.message[0] = '\0';
    assert_int_equal(store_open(f->path, &s, &err), INTEG_ESTATE);
    assert_null(s);
    assert_contains(err.message, f->path);
    assert_contains(err.message, "corrupt");
    after = slurp(f->path, &na);
    assert_int_equal(na, cuts[c]);
    assert_memory_equal(after, full, cuts[c]);
    free(after);
  }
  free(full);
}

static void malformed_json_in_a_row_names_the_stream(void **state)
{
  struct fixture *f = *state;
  struct integ_error err = {0, ""};
  struct store *s = NULL;
  json_t *in, *got = NULL;

  assert_int_equal(store_open(f->path, &s, &err), 0);
  in = json_pack("{s:i}", "orders", 1);
  assert_int_equal(store_state_put(s, "alice", "shop", in, &err), 0);
  json_decref(in);
  store_close(s);
  raw_exec(f->path, "UPDATE state SET value = '{\"cursor\": ' WHERE stream "
                    "= 'orders'");
  assert_int_equal(store_open(f->path, &s, &err), 0);
  assert_int_equal(store_state_get(s, "alice", "shop", &got, &err),
                   INTEG_ESTATE);
  assert_null(got);
  assert_contains(err.message, "account 'alice', connector 'shop', stream "
                               "'orders' is not valid JSON");
  assert_contains(err.message, "line 1 column");
  /* Clearing it is the way out. */
  assert_int_equal(store_state_clear(s, "alice", "shop", "orders", NULL, &err),
                   0);
  assert_int_equal(store_state_get(s, "alice", "shop", &got, &err), 0);
  json_decref(got);
  store_close(s);
}

static void runs_keep_fire_time_pid_counters_and_are_pruned(void **state)
{
  struct fixture *f = *state;
  struct integ_error err = {0, ""};
  struct store *s = NULL;
  int64_t r1, r2, r3;
  size_t removed = 0;
  json_t *list, *e, *stats;
  pid_t dead;

  /* A pid that surely is not running: a child already reaped. */
  dead = fork();
  if (dead == 0)
    _exit(0);
  assert_true(dead > 0);
  waitpid(dead, NULL, 0);
  assert_int_equal(store_open(f->path, &s, &err), 0);
  assert_int_equal(store_run_begin(s, "default", "a", 1000, &r1, &err), 0);
  assert_int_equal(store_run_owner(s, r1, 900, (long)getpid(), &err), 0);
  stats = json_pack("{s:{s:i}}", "streams", "users", 3);
  assert_non_null(stats);
  assert_int_equal(store_run_detail(s, r1, "http", stats, &err), 0);
  json_decref(stats);
  assert_int_equal(store_run_end(s, r1, 2000, "failed", 3, "boom", &err), 0);
  assert_int_equal(store_run_begin(s, "default", "a", 5000, &r2, &err), 0);
  assert_int_equal(store_run_owner(s, r2, 4900, (long)dead, &err), 0);
  assert_int_equal(store_run_begin(s, "default", "a", 6000, &r3, &err), 0);
  assert_int_equal(store_run_owner(s, r3, 0, (long)getpid(), &err), 0);
  assert_int_equal(store_runs_list(s, "default", "a", 0, &list, &err), 0);
  assert_int_equal(json_array_size(list), 3);
  /* Still running: its pid is alive. */
  e = json_array_get(list, 0);
  assert_string_equal(json_string_value(json_object_get(e, "status")),
                      "running");
  assert_true(json_is_null(json_object_get(e, "fire_ms")) ||
              json_integer_value(json_object_get(e, "fire_ms")) == 0);
  /* Its process is gone: died, not running. */
  e = json_array_get(list, 1);
  assert_string_equal(json_string_value(json_object_get(e, "status")), "died");
  assert_int_equal(json_integer_value(json_object_get(e, "fire_ms")), 4900);
  e = json_array_get(list, 2);
  assert_string_equal(json_string_value(json_object_get(e, "error_category")),
                      "http");
  assert_int_equal(
      json_integer_value(json_object_get(
          json_object_get(json_object_get(e, "stats"), "streams"), "users")),
      3);
  assert_int_equal(json_integer_value(json_object_get(e, "pid")), getpid());
  json_decref(list);
  /* Pruning removes ended runs before the time, never running ones. */
  assert_int_equal(store_runs_prune(s, 5500, &removed, &err), 0);
  assert_int_equal(removed, 1);
  assert_int_equal(store_runs_list(s, NULL, NULL, 0, &list, &err), 0);
  assert_int_equal(json_array_size(list), 2);
  json_decref(list);
  store_close(s);
}

static void run_history_is_listed_newest_first(void **state)
{
  struct fixture *f = *state;
  struct integ_error err = {0, ""};
  struct store *s = NULL;
  int64_t r1, r2;
  json_t *list, *e;

  assert_int_equal(store_open(f->path, &s, &err), 0);
  assert_int_equal(store_run_begin(s, "default", "a", 1000, &r1, &err), 0);
  assert_int_equal(store_run_end(s, r1, 2000, "ok", 42, NULL, &err), 0);
  assert_int_equal(store_history_note(s, "default", "a",
                                      "state set by operator: {}", 2500, &err),
                   0);
  assert_int_equal(store_run_begin(s, "default", "b", 3000, &r2, &err), 0);
  assert_true(r2 > r1);
  assert_int_equal(store_run_end(s, r2 + 100, 4000, "failed", 0, "boom", &err),
                   INTEG_ENOTFOUND);

  assert_int_equal(store_runs_list(s, NULL, NULL, 0, &list, &err), 0);
  assert_int_equal(json_array_size(list), 3);
  e = json_array_get(list, 0);
  assert_string_equal(json_string_value(json_object_get(e, "connector")), "b");
  assert_string_equal(json_string_value(json_object_get(e, "status")),
                      "running");
  assert_true(json_is_null(json_object_get(e, "ended_ms")));
  e = json_array_get(list, 1);
  assert_string_equal(json_string_value(json_object_get(e, "kind")), "note");
  assert_string_equal(json_string_value(json_object_get(e, "message")),
                      "state set by operator: {}");
  e = json_array_get(list, 2);
  assert_int_equal(json_integer_value(json_object_get(e, "id")), r1);
  assert_string_equal(json_string_value(json_object_get(e, "status")), "ok");
  assert_int_equal(json_integer_value(json_object_get(e, "records")), 42);
  assert_int_equal(json_integer_value(json_object_get(e, "started_ms")), 1000);
  assert_int_equal(json_integer_value(json_object_get(e, "ended_ms")), 2000);
  json_decref(list);

  assert_int_equal(store_runs_list(s, "default", "a", 1, &list, &err), 0);
  assert_int_equal(json_array_size(list), 1);
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(list, 0), "kind")),
      "note");
  json_decref(list);

  assert_int_equal(
      store_run_end(s, r2, 5000, "failed", UINT64_MAX, "boom", &err), 0);
  assert_int_equal(store_runs_list(s, NULL, "b", 0, &list, &err), 0);
  e = json_array_get(list, 0);
  assert_int_equal(json_integer_value(json_object_get(e, "records")),
                   INT64_MAX);
  assert_string_equal(json_string_value(json_object_get(e, "message")),
                      "boom");
  json_decref(list);
  store_close(s);
}

static int bucket_add_one(double *tokens, int64_t *last_ms, int *exists,
                          void *arg)
{
  *tokens += 1;
  *last_ms = *(const int64_t *)arg;
  *exists = 1;
  return 0;
}

static int bucket_refuse(double *tokens, int64_t *last_ms, int *exists,
                         void *arg)
{
  (void)arg;
  *tokens = -1;
  *last_ms = -1;
  (void)exists;
  return INTEG_EINVAL;
}

static int bucket_delete(double *tokens, int64_t *last_ms, int *exists,
                         void *arg)
{
  (void)tokens;
  (void)last_ms;
  (void)arg;
  *exists = 0;
  return 0;
}

static int bucket_read(double *tokens, int64_t *last_ms, int *exists,
                       void *arg)
{
  double *out = arg;

  out[0] = *tokens;
  out[1] = (double)*last_ms;
  out[2] = *exists;
  return 0;
}

#define BUCKET_ROUNDS 1000

/* Add one BUCKET_ROUNDS times through a handle of its own; 0 when all
 * went well. */
static int bucket_hammer(const char *path)
{
  struct integ_error err = {0, ""};
  struct store *s = NULL;
  int64_t t = 7;

  if (store_open(path, &s, &err))
    return 1;
  for (int i = 0; i < BUCKET_ROUNDS; i++)
    if (store_bucket_update(s, "api.example.com", bucket_add_one, &t, &err)) {
      fprintf(stderr, "# bucket update %d: %s\n", i, err.message);
      store_close(s);
      return 2;
    }
  store_close(s);
  return 0;
}

static void buckets_updated_from_two_processes_lose_nothing(void **state)
{
  struct fixture *f = *state;
  struct integ_error err = {0, ""};
  struct store *s = NULL;
  double got[3];
  int status = -1;
  pid_t pid;

  /* Created first, so both processes only open it. */
  assert_int_equal(store_open(f->path, &s, &err), 0);
  store_close(s);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(bucket_hammer(f->path));
  assert_int_equal(bucket_hammer(f->path), 0);
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);

  assert_int_equal(store_open(f->path, &s, &err), 0);
  assert_int_equal(
      store_bucket_update(s, "api.example.com", bucket_read, got, &err), 0);
  assert_true(got[0] == 2.0 * BUCKET_ROUNDS);
  assert_true(got[1] == 7.0);
  assert_true(got[2] == 1.0);

  /* A refusal leaves the row as it was; delete removes it. */
  assert_int_equal(
      store_bucket_update(s, "api.example.com", bucket_refuse, NULL, &err),
      INTEG_EINVAL);
  assert_int_equal(
      store_bucket_update(s, "api.example.com", bucket_read, got, &err), 0);
  assert_true(got[0] == 2.0 * BUCKET_ROUNDS);
  assert_int_equal(
      store_bucket_update(s, "api.example.com", bucket_delete, NULL, &err), 0);
  assert_int_equal(
      store_bucket_update(s, "api.example.com", bucket_read, got, &err), 0);
  assert_true(got[2] == 0.0 && got[0] == 0.0);
  store_close(s);
}

static void root_created_store_belongs_to_directory_owner(void **state)
{
  struct fixture *f = *state;
  struct integ_error err = {0, ""};
  struct store *s = NULL;
  struct stat st;
  char path[192], side[200];
  json_t *in;

  if (geteuid() != 0) {
    print_message("# not root: the chown is not tested\n");
    skip();
  }
  snprintf(path, sizeof(path), "%s/daemon", f->dir);
  assert_int_equal(mkdir(path, 0755), 0);
  assert_int_equal(chown(path, 65534, 65534), 0);
  snprintf(path, sizeof(path), "%s/daemon/integ.db", f->dir);
  assert_int_equal(store_open(path, &s, &err), 0);
  in = json_pack("{s:i}", "x", 1);
  assert_int_equal(store_state_put(s, "default", "c", in, &err), 0);
  json_decref(in);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_uid, 65534);
  assert_int_equal(st.st_gid, 65534);
  assert_int_equal(st.st_mode & 0777, 0600);
  snprintf(side, sizeof(side), "%s-wal", path);
  assert_int_equal(stat(side, &st), 0);
  assert_int_equal(st.st_uid, 65534);
  snprintf(side, sizeof(side), "%s-shm", path);
  assert_int_equal(stat(side, &st), 0);
  assert_int_equal(st.st_uid, 65534);
  store_close(s);
}

/* Not a timing assertion: prints the numbers for the record. */
static void open_and_put_speed_is_reported(void **state)
{
  struct fixture *f = *state;
  struct integ_error err = {0, ""};
  struct store *s = NULL;
  double t0, t_new, t_old, t_put;
  json_t *in;
  int n = 200;

  t0 = now_s();
  assert_int_equal(store_open(f->path, &s, &err), 0);
  t_new = now_s() - t0;
  t0 = now_s();
  for (int i = 0; i < n; i++) {
    /* A new value each time: SQLite skips writing an unchanged row, and
     * with it the commit's fsync. */
    in = json_pack("{s:{s:{s:{s:i}}}}", "", "bookmarks", "users",
                   "replication_key_value", i);
    assert_int_equal(store_state_put(s, "default", "bench", in, &err), 0);
    json_decref(in);
  }
  t_put = now_s() - t0;
  store_close(s);
  t0 = now_s();
  assert_int_equal(store_open(f->path, &s, &err), 0);
  t_old = now_s() - t0;
  store_close(s);
  printf("# store_open: new %.2f ms, existing %.2f ms; state_put: %.0f "
         "transactions/s\n",
         t_new * 1e3, t_old * 1e3, n / t_put);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(
          new_store_is_created_private_wal_and_migrated, setup, teardown),
      cmocka_unit_test_setup_teardown(
          empty_file_is_migrated_and_reopen_is_idempotent, setup, teardown),
      cmocka_unit_test_setup_teardown(missing_directory_is_a_clear_error,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(state_survives_reopen, setup, teardown),
      cmocka_unit_test_setup_teardown(
          state_round_trips_unicode_big_ints_and_nesting, setup, teardown),
      cmocka_unit_test_setup_teardown(
          put_replaces_given_streams_and_clear_removes, setup, teardown),
      cmocka_unit_test_setup_teardown(
          newer_schema_is_refused_and_file_untouched, setup, teardown),
      cmocka_unit_test_setup_teardown(other_programs_database_is_refused,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(random_bytes_are_refused_and_untouched,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(truncated_store_is_refused_and_untouched,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(malformed_json_in_a_row_names_the_stream,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(run_history_is_listed_newest_first,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          runs_keep_fire_time_pid_counters_and_are_pruned, setup, teardown),
      cmocka_unit_test_setup_teardown(
          buckets_updated_from_two_processes_lose_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(
          root_created_store_belongs_to_directory_owner, setup, teardown),
      cmocka_unit_test_setup_teardown(open_and_put_speed_is_reported, setup,
                                      teardown),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
