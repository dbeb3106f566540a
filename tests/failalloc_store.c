/* failalloc_store.c - every allocation of the store fails in turn,
 * SQLite's own included (see failalloc.h): opening (and migrating) a
 * store, committing and reading state, the run history. Each call
 * returns INTEG_ENOMEM or the same result and leaks nothing. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "error.h"
#include "failalloc.h"
#include "store.h"

/* SQLite's allocator, routed through the harness: SQLITE_CONFIG_MALLOC
 * with its default methods underneath. */
static sqlite3_mem_methods real;

FAILALLOC_HOOK static void *sq_malloc(int n)
{
  void *p;

  if (failalloc_should_fail())
    return NULL;
  p = real.xMalloc(n);
  failalloc_track(p);
  return p;
}

FAILALLOC_HOOK static void sq_free(void *p)
{
  failalloc_untrack(p);
  real.xFree(p);
}

FAILALLOC_HOOK static void *sq_realloc(void *p, int n)
{
  void *q;

  if (failalloc_should_fail())
    return NULL;
  q = real.xRealloc(p, n);
  if (q) {
    failalloc_untrack(p);
    failalloc_track(q);
  }
  return q;
}

static int sq_size(void *p)
{
  return real.xSize(p);
}

static int sq_roundup(int n)
{
  return real.xRoundup(n);
}

static int sq_init(void *arg)
{
  return real.xInit(arg);
}

static void sq_shutdown(void *arg)
{
  real.xShutdown(arg);
}

static char dir[256], path[300];

static void fresh(void)
{
  char aux[320];

  unlink(path);
  snprintf(aux, sizeof aux, "%s-wal", path);
  unlink(aux);
  snprintf(aux, sizeof aux, "%s-shm", path);
  unlink(aux);
}

/* A new store: created, migrated, closed. */
static int store_create(void *arg, struct integ_error *err)
{
  struct store *s = NULL;
  int rc;

  (void)arg;
  failalloc_pause();
  fresh();
  failalloc_resume();
  rc = store_open(path, &s, err);
  store_close(s);
  return rc;
}

/* On an existing store: state put and get, a run recorded and listed. */
static int store_use(void *arg, struct integ_error *err)
{
  struct store *s = NULL;
  json_t *in, *got = NULL, *runs = NULL, *all = NULL;
  int64_t run = 0;
  int rc;

  (void)arg;
  failalloc_pause();
  in = json_pack("{s{ss}s{si}}", "users", "cursor", "2026-01-01", "orders",
                 "page", 3);
  failalloc_resume();
  rc = store_open(path, &s, err);
  if (rc)
    goto out;
  rc = store_state_put(s, "default", "c1", in, err);
  if (rc)
    goto out;
  rc = store_state_get(s, "default", "c1", &got, err);
  if (rc)
    goto out;
  rc = store_run_begin(s, "default", "c1", 1000, &run, err);
  if (rc)
    goto out;
  rc = store_run_end(s, run, 2000, "ok", 42, "fine", err);
  if (rc)
    goto out;
  rc = store_runs_list(s, "default", "c1", 1, &runs, err);
  if (rc)
    goto out;
  failalloc_pause();
  /* The run's id grows with every call: only its shape is compared. */
  json_object_del(json_array_get(runs, 0), "id");
  all = json_pack("{sOsO}", "state", got, "runs", runs);
  failalloc_result_json(all);
  json_decref(all);
  failalloc_resume();
out:
  json_decref(in);
  json_decref(got);
  json_decref(runs);
  store_close(s);
  return rc;
}

int main(void)
{
  static const struct failalloc_case cases[] = {
      {"store_open creates and migrates a store", store_create, NULL, 0},
      {"store: state put and get, a run recorded and listed", store_use, NULL,
       0},
  };
  static const sqlite3_mem_methods hooks = {
      sq_malloc,  sq_free, sq_realloc,  sq_size,
      sq_roundup, sq_init, sq_shutdown, NULL};
  int rc;

  if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real) != SQLITE_OK ||
      sqlite3_config(SQLITE_CONFIG_MALLOC, &hooks) != SQLITE_OK) {
    printf("1..0 # SKIP SQLite's allocator cannot be replaced\n");
    return 0;
  }
  /* On tmpfs when there is one: the store fsyncs every commit, and the
   * cases commit a few thousand times. */
  snprintf(dir, sizeof dir, "%s/integ-failalloc.XXXXXX",
           getenv("TMPDIR")                ? getenv("TMPDIR")
           : access("/dev/shm", W_OK) == 0 ? "/dev/shm"
                                           : "/tmp");
  if (!mkdtemp(dir)) {
    perror(dir);
    return 99;
  }
  snprintf(path, sizeof path, "%s/integ.db", dir);
  rc = failalloc_main(cases, sizeof cases / sizeof cases[0]);
  fresh();
  rmdir(dir);
  return rc;
}
