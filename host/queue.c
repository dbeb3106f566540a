/* queue.c - the durable webhook queue, with group commit. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "error.h"
#include "queue.h"

#define QUEUE_BUSY_MS 10000
#define BUSY_STEP_US 200
#define BACKOFF_BASE_MS 1000
#define BACKOFF_MAX_MS (3600 * 1000)

/* A delivery waiting for the committer. */
struct pending {
  const struct queue_item *it;
  int rc, dup, done;
  char msg[256];
  struct pending *next;
};

struct queue {
  sqlite3 *db;
  pthread_mutex_t mu;
  pthread_cond_t work, finished;
  struct pending *head, **tail;
  int started, stop;
  pthread_t thread;
  uint64_t items, commits;
  sqlite3_stmt *key_get, *key_put, *insert;
};

/* Wait for the write lock in short steps: sqlite3_busy_timeout sleeps
 * up to 100 ms at a time, which a delivery waiting for its commit would
 * see as latency. Gives up after QUEUE_BUSY_MS. */
static int busy_wait(void *arg, int count)
{
  (void)arg;
  if ((int64_t)count * BUSY_STEP_US >= (int64_t)QUEUE_BUSY_MS * 1000)
    return 0;
  usleep(BUSY_STEP_US);
  return 1;
}

static int db_error(struct queue *q, struct integ_error *err, const char *what)
{
  return error_set(err, INTEG_ESTATE, "webhook queue: %s: %s", what,
                   sqlite3_errmsg(q->db));
}

static int exec(struct queue *q, const char *sql, struct integ_error *err)
{
  if (sqlite3_exec(q->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return db_error(q, err, sql);
  return 0;
}

static int prep(struct queue *q, const char *sql, sqlite3_stmt **st,
                struct integ_error *err)
{
  if (sqlite3_prepare_v2(q->db, sql, -1, st, NULL) != SQLITE_OK)
    return db_error(q, err, "prepare");
  return 0;
}

int queue_open(const char *path, struct queue **out, struct integ_error *err)
{
  struct queue *q = calloc(1, sizeof(*q));
  int rc;

  *out = NULL;
  if (!q)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  pthread_mutex_init(&q->mu, NULL);
  pthread_cond_init(&q->work, NULL);
  pthread_cond_init(&q->finished, NULL);
  q->tail = &q->head;
  if (sqlite3_open_v2(path, &q->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
                      NULL) != SQLITE_OK) {
    rc = error_set(err, INTEG_ESTATE, "webhook queue: %s: %s", path,
                   q->db ? sqlite3_errmsg(q->db) : "out of memory");
    goto out;
  }
  sqlite3_busy_handler(q->db, busy_wait, NULL);
  /* NORMAL in WAL: a commit survives the process being killed; only a
   * power loss can take the commits since the last checkpoint. */
  rc = exec(q, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", err);
  if (!rc)
    rc = prep(q,
              "SELECT expires_ms FROM webhook_keys WHERE connector = ?1 AND "
              "delivery_id = ?2",
              &q->key_get, err);
  if (!rc)
    rc = prep(q,
              "INSERT OR REPLACE INTO webhook_keys (connector, delivery_id, "
              "expires_ms) VALUES (?1, ?2, ?3)",
              &q->key_put, err);
  if (!rc)
    rc = prep(q,
              "INSERT INTO webhook_queue (connector, delivery_id, scheme, "
              "type, received_ms, headers, body) VALUES "
              "(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
              &q->insert, err);
out:
  if (rc) {
    queue_close(q);
    return rc;
  }
  *out = q;
  return 0;
}

void queue_close(struct queue *q)
{
  if (!q)
    return;
  pthread_mutex_lock(&q->mu);
  q->stop = 1;
  pthread_cond_broadcast(&q->work);
  pthread_mutex_unlock(&q->mu);
  if (q->started)
    pthread_join(q->thread, NULL);
  sqlite3_finalize(q->key_get);
  sqlite3_finalize(q->key_put);
  sqlite3_finalize(q->insert);
  sqlite3_close(q->db);
  pthread_mutex_destroy(&q->mu);
  pthread_cond_destroy(&q->work);
  pthread_cond_destroy(&q->finished);
  free(q);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
  if (s)
    sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, i);
}

/* Add one delivery inside the committer's transaction. */
static int add_one(struct queue *q, struct pending *p, int64_t now)
{
  const struct queue_item *it = p->it;
  int step;

  if (it->delivery_id) {
    sqlite3_reset(q->key_get);
    sqlite3_bind_text(q->key_get, 1, it->connector, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->key_get, 2, it->delivery_id, -1, SQLITE_STATIC);
    step = sqlite3_step(q->key_get);
    if (step == SQLITE_ROW && sqlite3_column_int64(q->key_get, 0) > now) {
      sqlite3_reset(q->key_get);
      p->dup = 1;
      return 0;
    }
    sqlite3_reset(q->key_get);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
      return -1;
    sqlite3_reset(q->key_put);
    sqlite3_bind_text(q->key_put, 1, it->connector, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->key_put, 2, it->delivery_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q->key_put, 3, now + it->key_ttl_ms);
    step = sqlite3_step(q->key_put);
    sqlite3_reset(q->key_put);
    if (step != SQLITE_DONE)
      return -1;
  }
  sqlite3_reset(q->insert);
  bind_text(q->insert, 1, it->connector);
  bind_text(q->insert, 2, it->delivery_id);
  bind_text(q->insert, 3, it->scheme);
  bind_text(q->insert, 4, it->type);
  sqlite3_bind_int64(q->insert, 5, it->received_ms);
  bind_text(q->insert, 6, it->headers ? it->headers : "{}");
  sqlite3_bind_blob(q->insert, 7, it->len ? it->body : "", (int)it->len,
                    SQLITE_STATIC);
  step = sqlite3_step(q->insert);
  sqlite3_reset(q->insert);
  return step == SQLITE_DONE ? 0 : -1;
}

/* Commit BATCH in one transaction; each gets its outcome. A batch that
 * cannot commit fails as a whole (nothing of it is acknowledged). */
static void commit_batch(struct queue *q, struct pending *batch)
{
  int64_t now = 0;
  int failed = 0;
  size_t n = 0;

  for (struct pending *p = batch; p; p = p->next)
    if (p->it->received_ms > now)
      now = p->it->received_ms;
  if (sqlite3_exec(q->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
    failed = 1;
  } else {
    for (struct pending *p = batch; p && !failed; p = p->next, n++)
      failed = add_one(q, p, now) != 0;
    if (!failed &&
        sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
      failed = 1;
    if (failed)
      sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
  }
  for (struct pending *p = batch; p; p = p->next)
    if (failed) {
      p->rc = INTEG_ESTATE;
      p->dup = 0;
      snprintf(p->msg, sizeof(p->msg), "webhook queue: commit: %s",
               sqlite3_errmsg(q->db));
    }
  if (!failed) {
    q->commits++;
    q->items += n;
  }
}

static void *committer(void *arg)
{
  struct queue *q = arg;

  pthread_mutex_lock(&q->mu);
  for (;;) {
    struct pending *batch;

    while (!q->head && !q->stop)
      pthread_cond_wait(&q->work, &q->mu);
    if (!q->head)
      break;
    batch = q->head;
    q->head = NULL;
    q->tail = &q->head;
    /* Deliveries arriving during this commit wait for the next one. */
    pthread_mutex_unlock(&q->mu);
    commit_batch(q, batch);
    pthread_mutex_lock(&q->mu);
    for (struct pending *p = batch; p; p = p->next)
      p->done = 1;
    pthread_cond_broadcast(&q->finished);
  }
  pthread_mutex_unlock(&q->mu);
  return NULL;
}

int queue_submit(struct queue *q, const struct queue_item *it, int *dup,
                 struct integ_error *err)
{
  struct pending p;
  int rc = 0;

  memset(&p, 0, sizeof(p));
  p.it = it;
  *dup = 0;
  pthread_mutex_lock(&q->mu);
  if (!q->started) {
    if (pthread_create(&q->thread, NULL, committer, q) != 0) {
      pthread_mutex_unlock(&q->mu);
      return error_set(err, INTEG_ENOMEM, "webhook queue: no thread");
    }
    q->started = 1;
  }
  if (q->stop) {
    pthread_mutex_unlock(&q->mu);
    return error_set(err, INTEG_ESTATE, "webhook queue: closing");
  }
  *q->tail = &p;
  q->tail = &p.next;
  pthread_cond_signal(&q->work);
  while (!p.done)
    pthread_cond_wait(&q->finished, &q->mu);
  pthread_mutex_unlock(&q->mu);
  if (p.rc)
    rc = error_set(err, p.rc, "%s", p.msg);
  *dup = p.dup;
  return rc;
}

void queue_stats(struct queue *q, uint64_t *items, uint64_t *commits)
{
  pthread_mutex_lock(&q->mu);
  *items = q->items;
  *commits = q->commits;
  pthread_mutex_unlock(&q->mu);
}

/* ------------------------------------------------------- processing */

/* Run SQL with int64 parameters (?1, ?2, ...) and no result. */
static int run_sql(struct queue *q, const char *sql, const char *text,
                   int64_t a, int64_t b, int64_t c, int *changed,
                   struct integ_error *err)
{
  sqlite3_stmt *st = NULL;
  int rc = prep(q, sql, &st, err), step;

  if (rc)
    return rc;
  if (text)
    sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 1, a);
  sqlite3_bind_int64(st, 2, b);
  sqlite3_bind_int64(st, 3, c);
  step = sqlite3_step(st);
  if (step != SQLITE_DONE && step != SQLITE_ROW)
    rc = db_error(q, err, "update");
  if (changed)
    *changed = sqlite3_changes(q->db);
  sqlite3_finalize(st);
  return rc;
}

static json_t *col_json(sqlite3_stmt *st, int i)
{
  switch (sqlite3_column_type(st, i)) {
  case SQLITE_INTEGER:
    return json_integer(sqlite3_column_int64(st, i));
  case SQLITE_NULL:
    return json_null();
  default:
    return json_stringn((const char *)sqlite3_column_text(st, i),
                        (size_t)sqlite3_column_bytes(st, i));
  }
}

/* A row of ST as an object of its columns (headers parsed). */
static int row_object(sqlite3_stmt *st, json_t **out)
{
  json_t *o = json_object();

  *out = NULL;
  if (!o)
    return INTEG_ENOMEM;
  for (int i = 0; i < sqlite3_column_count(st); i++) {
    const char *name = sqlite3_column_name(st, i);
    json_t *v;

    if (strcmp(name, "headers") == 0)
      v = json_loads((const char *)sqlite3_column_text(st, i), 0, NULL);
    else
      v = col_json(st, i);
    if (!v || json_object_set_new(o, name, v)) {
      json_decref(o);
      return INTEG_ENOMEM;
    }
  }
  *out = o;
  return 0;
}

int queue_claim(struct queue *q, const char *connector, int64_t now,
                size_t max, json_t **out, struct integ_error *err)
{
  sqlite3_stmt *st = NULL;
  int rc, step;
  int64_t last = 0;
  json_t *a = json_array();

  *out = NULL;
  if (!a)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  rc = exec(q, "BEGIN IMMEDIATE", err);
  if (rc) {
    json_decref(a);
    return rc;
  }
  rc = prep(q,
            "SELECT id, connector, scheme, delivery_id, type, received_ms, "
            "headers, CAST(body AS TEXT) AS body, attempts FROM "
            "webhook_queue WHERE connector = ?1 AND status = 'queued' AND "
            "next_ms <= ?2 ORDER BY id LIMIT ?3",
            &st, err);
  if (rc)
    goto out;
  sqlite3_bind_text(st, 1, connector, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, now);
  sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
  while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
    json_t *e;

    last = sqlite3_column_int64(st, 0);
    rc = row_object(st, &e);
    if (!rc && json_array_append_new(a, e))
      rc = INTEG_ENOMEM;
    if (rc)
      error_set(err, rc, "out of memory");
  }
  if (!rc && step != SQLITE_DONE)
    rc = db_error(q, err, "claim");
  sqlite3_finalize(st);
  /* The same rows: nobody else writes inside this transaction. */
  if (!rc && last)
    rc = run_sql(q,
                 "UPDATE webhook_queue SET status = 'running', attempts = "
                 "attempts + 1 WHERE connector = ?4 AND status = 'queued' "
                 "AND next_ms <= ?2 AND id <= ?1",
                 connector, last, now, 0, NULL, err);
out:
  if (rc) {
    sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
    json_decref(a);
    return rc;
  }
  rc = exec(q, "COMMIT", err);
  if (rc) {
    json_decref(a);
    return rc;
  }
  *out = a;
  return 0;
}

int queue_done(struct queue *q, const int64_t *ids, size_t n,
               struct integ_error *err)
{
  int rc;

  if (!n)
    return 0;
  rc = exec(q, "BEGIN IMMEDIATE", err);
  for (size_t i = 0; i < n && !rc; i++)
    rc = run_sql(q, "DELETE FROM webhook_queue WHERE id = ?1", NULL, ids[i], 0,
                 0, NULL, err);
  if (rc) {
    sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
  }
  return exec(q, "COMMIT", err);
}

int queue_fail(struct queue *q, int64_t id, const char *message, int64_t now,
               int max_attempts, int *dead, struct integ_error *err)
{
  sqlite3_stmt *st = NULL;
  int64_t attempts = 0, wait = BACKOFF_BASE_MS;
  int rc =
      prep(q, "SELECT attempts FROM webhook_queue WHERE id = ?1", &st, err);

  *dead = 0;
  if (rc)
    return rc;
  sqlite3_bind_int64(st, 1, id);
  if (sqlite3_step(st) == SQLITE_ROW)
    attempts = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  for (int64_t i = 1; i < attempts && wait < BACKOFF_MAX_MS; i++)
    wait *= 2;
  if (wait > BACKOFF_MAX_MS)
    wait = BACKOFF_MAX_MS;
  *dead = attempts >= max_attempts;
  return run_sql(q,
                 "UPDATE webhook_queue SET status = CASE WHEN ?3 THEN 'dead' "
                 "ELSE 'queued' END, next_ms = ?2, error = ?4 WHERE id = ?1",
                 message ? message : "failed", id, now + wait, *dead, NULL,
                 err);
}

int queue_reset_running(struct queue *q, const char *connector,
                        struct integ_error *err)
{
  sqlite3_stmt *st = NULL;
  int rc = prep(q,
                "UPDATE webhook_queue SET status = 'queued' WHERE status = "
                "'running' AND (?1 IS NULL OR connector = ?1)",
                &st, err);

  if (rc)
    return rc;
  bind_text(st, 1, connector);
  if (sqlite3_step(st) != SQLITE_DONE)
    rc = db_error(q, err, "reset");
  sqlite3_finalize(st);
  return rc;
}

int queue_summary(struct queue *q, json_t **out, struct integ_error *err)
{
  sqlite3_stmt *st = NULL;
  json_t *o = json_object();
  int rc, step;

  *out = NULL;
  if (!o)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  rc = prep(q,
            "SELECT connector, SUM(status = 'queued'), SUM(status = 'dead'), "
            "MIN(CASE WHEN status = 'queued' THEN next_ms END), "
            "SUM(status = 'running') FROM webhook_queue GROUP BY connector",
            &st, err);
  while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
    json_t *c = json_pack(
        "{sI sI so sI}", "queued", (json_int_t)sqlite3_column_int64(st, 1),
        "dead", (json_int_t)sqlite3_column_int64(st, 2), "next_ms",
        col_json(st, 3), "running", (json_int_t)sqlite3_column_int64(st, 4));

    if (!c ||
        json_object_set_new(o, (const char *)sqlite3_column_text(st, 0), c))
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
  }
  if (!rc && step != SQLITE_DONE)
    rc = db_error(q, err, "summary");
  sqlite3_finalize(st);
  if (rc) {
    json_decref(o);
    return rc;
  }
  *out = o;
  return 0;
}

int queue_list(struct queue *q, int dead, json_t **out,
               struct integ_error *err)
{
  sqlite3_stmt *st = NULL;
  json_t *a = json_array();
  int rc, step;

  *out = NULL;
  if (!a)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  rc = prep(q,
            "SELECT id, connector, delivery_id, type, status, attempts, "
            "received_ms, next_ms, error FROM webhook_queue WHERE ?1 = 0 OR "
            "status = 'dead' ORDER BY id",
            &st, err);
  if (!rc)
    sqlite3_bind_int(st, 1, dead);
  while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
    json_t *row;

    rc = row_object(st, &row);
    if (!rc && json_array_append_new(a, row))
      rc = INTEG_ENOMEM;
    if (rc)
      error_set(err, rc, "out of memory");
  }
  if (!rc && step != SQLITE_DONE)
    rc = db_error(q, err, "list");
  sqlite3_finalize(st);
  if (rc) {
    json_decref(a);
    return rc;
  }
  *out = a;
  return 0;
}

int queue_replay(struct queue *q, int64_t id, struct integ_error *err)
{
  int changed = 0;
  int rc = run_sql(q,
                   "UPDATE webhook_queue SET status = 'queued', attempts = 0, "
                   "next_ms = 0, error = NULL WHERE id = ?1",
                   NULL, id, 0, 0, &changed, err);

  if (!rc && !changed)
    rc = error_set(err, INTEG_ENOTFOUND,
                   "no webhook event %lld (see integ webhooks list)",
                   (long long)id);
  return rc;
}

int queue_prune(struct queue *q, int64_t now, size_t *removed,
                struct integ_error *err)
{
  int changed = 0;
  int rc = run_sql(q, "DELETE FROM webhook_keys WHERE expires_ms <= ?1", NULL,
                   now, 0, 0, &changed, err);

  *removed = rc ? 0 : (size_t)changed;
  return rc;
}
