/* store.c - the store on SQLite, the embedded default.
 *
 * Schema (version 4; PRAGMA user_version holds the version and PRAGMA
 * application_id is 0x696e7467, "intg", so integ never writes into some
 * other program's database):
 *
 *   state(account, connector, stream, value)
 *     PRIMARY KEY (account, connector, stream), WITHOUT ROWID.
 *     value is compact JSON text, any JSON value. stream "" is the
 *     connector's whole state.
 *   runs(id INTEGER PRIMARY KEY, account, connector, kind, started_ms,
 *        ended_ms, status, records, message)
 *     Run history, plus operator notes (kind 'note', status 'note',
 *     ended_ms = started_ms). Newest first is id descending: times come
 *     from the caller and may be fixed (INTEG_NOW), insertion order not.
 *     Since version 3 also fire_ms, pid, stats (JSON counters) and
 *     error_category, indexed on (account, connector, id).
 *   buckets(key PRIMARY KEY, tokens REAL, last_ms) WITHOUT ROWID
 *     Rate-limit token buckets shared by every process on the host.
 *   tokens(account, provider, key_id, sealed, scopes, expires_ms,
 *          refreshed_ms, needs_login, lease_owner, lease_until_ms)
 *     PRIMARY KEY (account, provider), WITHOUT ROWID (version 2). sealed
 *     is AES-256-GCM ciphertext made by tokens.c; nothing secret is in
 *     any other column.
 *   webhook_queue(id INTEGER PRIMARY KEY, connector, delivery_id, scheme,
 *                 type, received_ms, headers, body, status, attempts,
 *                 next_ms, error), webhook_keys(connector, delivery_id,
 *                 expires_ms) WITHOUT ROWID (version 4)
 *     Received webhook deliveries and their idempotency keys, written by
 *     queue.c on a connection of its own (synchronous NORMAL).
 *
 * Migrations: migrations[k] takes the schema from version k to k+1 and
 * runs in its own BEGIN IMMEDIATE transaction together with the bump of
 * user_version, so a crash leaves the store at version k or k+1, never in
 * between. Append steps; never edit one that has shipped: 1 -> 2 added
 * tokens, 2 -> 3 the daemon's run history (fire time, pid, counters),
 * 3 -> 4 the webhook queue together with its idempotency keys.
 *
 * Connection settings: WAL (readers never block the writer), synchronous
 * FULL (a committed state survives power loss: an operator's `state set`
 * must not silently revert), foreign_keys on, and a busy handler that
 * waits up to 5 s for the write lock (busy_wait).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "error.h"
#include "secrets.h"
#include "store.h"

#define STORE_APPLICATION_ID 1768846439 /* "intg" */
#define STORE_BUSY_MS 5000
/* PRAGMA quick_check at open reads every page: measured 0.6 ms for a new
 * store, 7-15 ms per MiB (warm cache). State and buckets stay small; run
 * history grows. Above this size an open would wait too long, and the
 * corruption it would find surfaces at the first read of a broken page
 * anyway (as SQLITE_CORRUPT, reported as such). */
#define STORE_QUICK_CHECK_MAX_BYTES (16 * 1024 * 1024)

static const char *const migrations[] = {
    /* 0 -> 1 */
    "PRAGMA application_id = 1768846439;"
    "CREATE TABLE state ("
    "  account TEXT NOT NULL,"
    "  connector TEXT NOT NULL,"
    "  stream TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY (account, connector, stream)"
    ") WITHOUT ROWID;"
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY,"
    "  account TEXT NOT NULL,"
    "  connector TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  started_ms INTEGER NOT NULL,"
    "  ended_ms INTEGER,"
    "  status TEXT NOT NULL,"
    "  records INTEGER NOT NULL DEFAULT 0,"
    "  message TEXT"
    ");"
    "CREATE TABLE buckets ("
    "  key TEXT PRIMARY KEY,"
    "  tokens REAL NOT NULL,"
    "  last_ms INTEGER NOT NULL"
    ") WITHOUT ROWID;",
    /* 1 -> 2: OAuth2 tokens, sealed (tokens.h); the lease columns let
     * one process at a time refresh a token */
    "CREATE TABLE tokens ("
    "  account TEXT NOT NULL,"
    "  provider TEXT NOT NULL,"
    "  key_id TEXT NOT NULL DEFAULT '',"
    "  sealed BLOB,"
    "  scopes TEXT,"
    "  expires_ms INTEGER NOT NULL DEFAULT 0,"
    "  refreshed_ms INTEGER NOT NULL DEFAULT 0,"
    "  needs_login INTEGER NOT NULL DEFAULT 0,"
    "  lease_owner TEXT,"
    "  lease_until_ms INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (account, provider)"
    ") WITHOUT ROWID;",
    /* 2 -> 3: the daemon's run history: the fire time a run was for, the
     * pid that ran it (so a dead run shows as such), its counters as
     * JSON and its error category; the index store_runs_list needs. */
    "ALTER TABLE runs ADD COLUMN fire_ms INTEGER;"
    "ALTER TABLE runs ADD COLUMN pid INTEGER;"
    "ALTER TABLE runs ADD COLUMN stats TEXT;"
    "ALTER TABLE runs ADD COLUMN error_category TEXT;"
    "CREATE INDEX runs_by_connector ON runs (account, connector, id);",
    /* 3 -> 4: webhooks: the durable queue of received deliveries and
     * the idempotency keys (delivery ids, kept until expires_ms), one
     * step (queue.h) */
    "CREATE TABLE webhook_queue ("
    "  id INTEGER PRIMARY KEY,"
    "  connector TEXT NOT NULL,"
    "  delivery_id TEXT,"
    "  scheme TEXT NOT NULL,"
    "  type TEXT,"
    "  received_ms INTEGER NOT NULL,"
    "  headers TEXT NOT NULL,"
    "  body BLOB NOT NULL,"
    "  status TEXT NOT NULL DEFAULT 'queued',"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_ms INTEGER NOT NULL DEFAULT 0,"
    "  error TEXT"
    ");"
    "CREATE INDEX webhook_queue_due ON webhook_queue (connector, status, "
    "next_ms);"
    "CREATE TABLE webhook_keys ("
    "  connector TEXT NOT NULL,"
    "  delivery_id TEXT NOT NULL,"
    "  expires_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (connector, delivery_id)"
    ") WITHOUT ROWID;",
};

#define STORE_SCHEMA_VERSION                                                  \
  ((int)(sizeof(migrations) / sizeof(migrations[0])))

enum stmt_id {
  ST_BEGIN,
  ST_COMMIT,
  ST_ROLLBACK,
  ST_STATE_GET,
  ST_STATE_PUT,
  ST_STATE_CLEAR_ONE,
  ST_STATE_CLEAR_ALL,
  ST_RUN_BEGIN,
  ST_RUN_END,
  ST_NOTE,
  ST_RUNS_LIST,
  ST_RUN_OWNER,
  ST_RUN_DETAIL,
  ST_RUNS_PRUNE,
  ST_BUCKET_GET,
  ST_BUCKET_PUT,
  ST_BUCKET_DEL,
  ST_SYNC_NORMAL,
  ST_SYNC_FULL,
  ST_COUNT
};

/* Every write transaction starts with BEGIN IMMEDIATE, which takes the
 * write lock up front and so waits in the busy handler. A deferred
 * transaction that reads first and then writes would fail at the upgrade
 * with SQLITE_BUSY at once, however long busy_timeout is: its snapshot is
 * stale once another writer has committed, and waiting cannot fix that. */
static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_STATE_GET] = "SELECT stream, value FROM state"
                     " WHERE account = ?1 AND connector = ?2 ORDER BY stream",
    [ST_STATE_PUT] = "INSERT INTO state (account, connector, stream, value)"
                     " VALUES (?1, ?2, ?3, ?4)"
                     " ON CONFLICT (account, connector, stream)"
                     " DO UPDATE SET value = excluded.value",
    [ST_STATE_CLEAR_ONE] = "DELETE FROM state WHERE account = ?1"
                           " AND connector = ?2 AND stream = ?3",
    [ST_STATE_CLEAR_ALL] = "DELETE FROM state WHERE account = ?1"
                           " AND connector = ?2",
    [ST_RUN_BEGIN] = "INSERT INTO runs (account, connector, kind,"
                     " started_ms, status, records)"
                     " VALUES (?1, ?2, 'run', ?3, 'running', 0)",
    [ST_RUN_END] = "UPDATE runs SET ended_ms = ?2, status = ?3,"
                   " records = ?4, message = ?5"
                   " WHERE id = ?1 AND kind = 'run'",
    [ST_NOTE] = "INSERT INTO runs (account, connector, kind, started_ms,"
                " ended_ms, status, records, message)"
                " VALUES (?1, ?2, 'note', ?3, ?3, 'note', 0, ?4)",
    [ST_RUNS_LIST] = "SELECT id, account, connector, kind, started_ms,"
                     " ended_ms, status, records, message, fire_ms, pid,"
                     " error_category, stats FROM runs"
                     " WHERE (?1 IS NULL OR account = ?1)"
                     " AND (?2 IS NULL OR connector = ?2)"
                     " ORDER BY id DESC LIMIT ?3",
    [ST_RUN_OWNER] = "UPDATE runs SET fire_ms = ?2, pid = ?3"
                     " WHERE id = ?1 AND kind = 'run'",
    [ST_RUN_DETAIL] = "UPDATE runs SET error_category = ?2, stats = ?3"
                      " WHERE id = ?1 AND kind = 'run'",
    [ST_RUNS_PRUNE] = "DELETE FROM runs WHERE started_ms < ?1"
                      " AND status <> 'running'",
    [ST_BUCKET_GET] = "SELECT tokens, last_ms FROM buckets WHERE key = ?1",
    [ST_BUCKET_PUT] = "INSERT INTO buckets (key, tokens, last_ms)"
                      " VALUES (?1, ?2, ?3) ON CONFLICT (key)"
                      " DO UPDATE SET tokens = excluded.tokens,"
                      " last_ms = excluded.last_ms",
    [ST_BUCKET_DEL] = "DELETE FROM buckets WHERE key = ?1",
    [ST_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
    [ST_SYNC_FULL] = "PRAGMA synchronous = FULL",
};

struct store {
  sqlite3 *db;
  char *path;
  long busy_slept_us;           /* for busy_wait */
  sqlite3_stmt *stmt[ST_COUNT]; /* prepared on first use */
};

int store_schema_version(void)
{
  return STORE_SCHEMA_VERSION;
}

const char *store_path(const struct store *s)
{
  return s->path;
}

/* Fill err from a SQLite result code, saying what we were doing and what
 * the user can do about it. Returns the INTEG_E* code. */
static int store_fail(struct store *s, int rc, struct integ_error *err,
                      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int store_fail(struct store *s, int rc, struct integ_error *err,
                      const char *fmt, ...)
{
  char what[512];
  const char *msg;
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(what, sizeof(what), fmt, ap);
  va_end(ap);
  msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
  case SQLITE_NOMEM:
    return error_set(err, INTEG_ENOMEM, "store %s: out of memory %s", s->path,
                     what);
  case SQLITE_NOTADB:
    return error_set(err, INTEG_ESTATE,
                     "store %s is not a SQLite database (%s) %s: move the "
                     "file away, or point the manifest's store: (or "
                     "--store) at another path",
                     s->path, msg, what);
  case SQLITE_CORRUPT:
    return error_set(err, INTEG_ESTATE,
                     "store %s is corrupt (%s) %s: restore it from a "
                     "backup, or move it away to start with empty state",
                     s->path, msg, what);
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return error_set(err, INTEG_ESTATE,
                     "store %s is still locked by another process after "
                     "%d s %s: try again; if it persists, look for a stuck "
                     "integ process",
                     s->path, STORE_BUSY_MS / 1000, what);
  case SQLITE_READONLY:
  case SQLITE_PERM:
  case SQLITE_CANTOPEN:
    return error_set(err, INTEG_ESTATE,
                     "store %s cannot be written by uid %u (%s) %s: run as "
                     "the store's owner, or fix the permissions of the file "
                     "and its directory",
                     s->path, (unsigned)geteuid(), msg, what);
  case SQLITE_FULL:
    return error_set(err, INTEG_ESTATE,
                     "store %s: the disk is full %s: free some space", s->path,
                     what);
  default:
    return error_set(err, INTEG_ESTATE, "store %s: %s %s", s->path, msg, what);
  }
}

/* Wait for the write lock in short naps. SQLite's own busy_timeout naps
 * 1, 2, 5, ... up to 100 ms, so under steady contention (rate-limit
 * buckets updated by every process before each request) a loser sleeps
 * through many of the winner's 20 us transactions. Counts the time slept,
 * as SQLite does, rather than reading a clock. */
static int busy_wait(void *arg, int count)
{
  static const long naps_us[] = {20, 50, 100, 200, 500, 1000, 2000};
  long *slept_us = arg;
  size_t i = (size_t)count;
  long nap;
  struct timespec ts;

  if (count == 0)
    *slept_us = 0;
  if (*slept_us >= (long)STORE_BUSY_MS * 1000)
    return 0;
  if (i >= sizeof(naps_us) / sizeof(naps_us[0]))
    i = sizeof(naps_us) / sizeof(naps_us[0]) - 1;
  nap = naps_us[i];
  ts.tv_sec = 0;
  ts.tv_nsec = nap * 1000;
  nanosleep(&ts, NULL);
  *slept_us += nap;
  return 1;
}

static int stmt_get(struct store *s, enum stmt_id id, sqlite3_stmt **out,
                    struct integ_error *err)
{
  int rc;

  if (!s->stmt[id]) {
    rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                            &s->stmt[id], NULL);
    if (rc != SQLITE_OK)
      return store_fail(s, rc, err, "preparing \"%s\"", stmt_sql[id]);
  }
  *out = s->stmt[id];
  return 0;
}

static void stmt_done(sqlite3_stmt *st)
{
  if (st) {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
  }
}

/* Run a statement that returns no rows (bindings already made). */
static int stmt_exec(struct store *s, sqlite3_stmt *st,
                     struct integ_error *err, const char *what)
{
  int rc = sqlite3_step(st);

  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    rc = store_fail(s, rc, err, "%s", what);
    stmt_done(st);
    return rc;
  }
  stmt_done(st);
  return 0;
}

static int tx_simple(struct store *s, enum stmt_id id, struct integ_error *err,
                     const char *what)
{
  sqlite3_stmt *st = NULL;
  int rc = stmt_get(s, id, &st, err);

  if (rc)
    return rc;
  return stmt_exec(s, st, err, what);
}

static int tx_begin(struct store *s, struct integ_error *err, const char *what)
{
  return tx_simple(s, ST_BEGIN, err, what);
}

static int tx_commit(struct store *s, struct integ_error *err,
                     const char *what)
{
  return tx_simple(s, ST_COMMIT, err, what);
}

/* Roll back if a transaction is open; keeps the first error's text. */
static void tx_rollback(struct store *s)
{
  if (!sqlite3_get_autocommit(s->db))
    tx_simple(s, ST_ROLLBACK, NULL, "rolling back");
}

/* ---- open ---- */

/* A one-value query at open: PRAGMA ..., SELECT count(*) .... */
static int query_int(struct store *s, const char *sql, int64_t *out,
                     struct integ_error *err)
{
  sqlite3_stmt *st = NULL;
  int rc;

  rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *out = sqlite3_column_int64(st, 0);
    rc = 0;
  } else {
    rc = store_fail(s, rc, err, "when opening it");
  }
  sqlite3_finalize(st);
  return rc;
}

static int quick_check(struct store *s, struct integ_error *err)
{
  sqlite3_stmt *st = NULL;
  const char *res;
  int rc;

  rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &st, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    rc = store_fail(s, rc, err, "when checking it");
    goto out;
  }
  res = (const char *)sqlite3_column_text(st, 0);
  if (!res || strcmp(res, "ok") != 0) {
    rc = error_set(err, INTEG_ESTATE,
                   "store %s is corrupt (%s): restore it from a backup, "
                   "or move it away to start with empty state",
                   s->path, res ? res : "quick_check failed");
    goto out;
  }
  rc = 0;
out:
  sqlite3_finalize(st);
  return rc;
}

/* Refuse what is not ours or too new, and check integrity, reading only:
 * a refused file is left exactly as it was. */
static int check_file(struct store *s, int64_t *version,
                      struct integ_error *err)
{
  int64_t app_id, objects, pages, page_size;
  int rc;

  if ((rc = query_int(s, "PRAGMA application_id", &app_id, err)) ||
      (rc = query_int(s, "PRAGMA user_version", version, err)) ||
      (rc = query_int(s, "SELECT count(*) FROM sqlite_schema", &objects, err)))
    return rc;
  if (*version > STORE_SCHEMA_VERSION)
    return error_set(err, INTEG_ESTATE,
                     "store %s was written by a newer integ (schema %lld, "
                     "this integ knows %d): upgrade integ",
                     s->path, (long long)*version, STORE_SCHEMA_VERSION);
  if (app_id != STORE_APPLICATION_ID &&
      (app_id != 0 || *version != 0 || objects != 0))
    return error_set(err, INTEG_ESTATE,
                     "store %s is a SQLite database of another program "
                     "(application_id %lld, user_version %lld, %lld "
                     "schema objects): point the manifest's store: (or "
                     "--store) at another path",
                     s->path, (long long)app_id, (long long)*version,
                     (long long)objects);
  if (objects == 0)
    return 0;
  if ((rc = query_int(s, "PRAGMA page_count", &pages, err)) ||
      (rc = query_int(s, "PRAGMA page_size", &page_size, err)))
    return rc;
  if (pages * page_size > STORE_QUICK_CHECK_MAX_BYTES)
    return 0;
  return quick_check(s, err);
}

static int set_pragmas(struct store *s, struct integ_error *err)
{
  sqlite3_stmt *st = NULL;
  const char *mode;
  int rc;

  rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    rc = store_fail(s, rc, err, "when turning on WAL mode");
    goto out;
  }
  mode = (const char *)sqlite3_column_text(st, 0);
  if (!mode || strcmp(mode, "wal") != 0) {
    rc = error_set(err, INTEG_ESTATE,
                   "store %s cannot use WAL mode (journal mode stays %s): "
                   "put the store on a local file system",
                   s->path, mode ? mode : "unknown");
    goto out;
  }
  rc = sqlite3_exec(s->db,
                    "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
                    NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    rc = store_fail(s, rc, err, "when setting it up");
    goto out;
  }
  rc = 0;
out:
  sqlite3_finalize(st);
  return rc;
}

/* Apply migrations[version..] one transaction each. Another process may
 * migrate at the same time, so the version is read again under the write
 * lock. */
static int migrate(struct store *s, struct integ_error *err)
{
  char bump[64];
  int64_t v;
  int rc = 0;

  for (;;) {
    if ((rc = tx_begin(s, err, "when migrating its schema")))
      goto out;
    if ((rc = query_int(s, "PRAGMA user_version", &v, err)))
      goto out;
    if (v > STORE_SCHEMA_VERSION) {
      rc = error_set(err, INTEG_ESTATE,
                     "store %s was written by a newer integ (schema %lld, "
                     "this integ knows %d): upgrade integ",
                     s->path, (long long)v, STORE_SCHEMA_VERSION);
      goto out;
    }
    if (v == STORE_SCHEMA_VERSION)
      break;
    rc = sqlite3_exec(s->db, migrations[v], NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
      rc = store_fail(s, rc, err, "when migrating schema %lld to %lld",
                      (long long)v, (long long)v + 1);
      goto out;
    }
    snprintf(bump, sizeof(bump), "PRAGMA user_version = %lld",
             (long long)v + 1);
    rc = sqlite3_exec(s->db, bump, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
      rc = store_fail(s, rc, err, "when migrating schema %lld to %lld",
                      (long long)v, (long long)v + 1);
      goto out;
    }
    if ((rc = tx_commit(s, err, "when migrating its schema")))
      goto out;
  }
  rc = tx_commit(s, err, "when migrating its schema");
out:
  if (rc)
    tx_rollback(s);
  return rc;
}

/* The directory that holds path (new string), "." when it has none. */
static char *dir_of(const char *path)
{
  const char *slash = strrchr(path, '/');
  size_t n;
  char *d;

  if (!slash)
    return strdup(".");
  n = slash == path ? 1 : (size_t)(slash - path);
  d = malloc(n + 1);
  if (!d)
    return NULL;
  memcpy(d, path, n);
  d[n] = '\0';
  return d;
}

/* Create an empty store file (an empty file is a valid empty database),
 * mode 0600: tokens will live here. Run as root, give it to the owner of
 * its directory before SQLite makes the -wal and -shm files, which then
 * take the file's owner and mode. *created is 0 when another process won
 * the race to create it. */
static int create_file(const char *path, int *created, struct integ_error *err)
{
  struct stat dst;
  char *dir = NULL;
  int fd = -1, rc = 0;

  *created = 0;
  fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST)
      return 0;
    rc = error_set(err, INTEG_ESTATE,
                   "cannot create store %s: %s: create its directory, "
                   "writable by the user integ runs as",
                   path, strerror(errno));
    goto out;
  }
  *created = 1;
  if (geteuid() != 0)
    goto out;
  dir = dir_of(path);
  if (!dir) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  if (stat(dir, &dst) != 0) {
    rc = error_set(err, INTEG_ESTATE, "store %s: cannot stat %s: %s", path,
                   dir, strerror(errno));
    goto out;
  }
  if ((dst.st_uid != 0 || dst.st_gid != 0) &&
      fchown(fd, dst.st_uid, dst.st_gid) != 0) {
    rc = error_set(err, INTEG_ESTATE,
                   "store %s: cannot give it to uid %u gid %u, the owner "
                   "of %s: %s",
                   path, (unsigned)dst.st_uid, (unsigned)dst.st_gid, dir,
                   strerror(errno));
    goto out;
  }
out:
  if (fd >= 0 && close(fd) != 0 && !rc)
    rc = error_set(err, INTEG_ESTATE, "cannot create store %s: %s", path,
                   strerror(errno));
  if (rc && *created)
    unlink(path);
  free(dir);
  return rc;
}

/* SQLite gives its -wal and -shm files the database's owner when run as
 * root; make sure of it, since a root-owned -shm locks the daemon out. */
static void chown_companions(const char *path)
{
  static const char *const suffixes[] = {"-wal", "-shm"};
  struct stat db, st;
  size_t n = strlen(path);
  char *p;

  if (geteuid() != 0 || stat(path, &db) != 0 || db.st_uid == 0)
    return;
  p = malloc(n + 5);
  if (!p)
    return;
  for (size_t i = 0; i < 2; i++) {
    memcpy(p, path, n);
    memcpy(p + n, suffixes[i], 5);
    if (stat(p, &st) == 0 && st.st_uid == 0 &&
        chown(p, db.st_uid, db.st_gid) != 0) {
      /* Not fatal: SQLite already did this; the daemon will say so. */
    }
  }
  free(p);
}

static int store_open_locked(const char *path, struct store **out,
                             struct integ_error *err, int *lock);

/* Hold an exclusive flock on the store's directory while opening: two
 * processes creating or migrating one store at once would otherwise both
 * hold SQLite's shared lock while each waits for the exclusive one (to
 * switch to WAL, or to migrate), and one gives up. flock on the directory,
 * not on the database: closing any descriptor of the database file would
 * drop SQLite's own POSIX locks on it. Returns the fd, or -1 (then we go
 * on unlocked: the busy handler still protects the data). */
static int lock_dir(const char *path)
{
  char *dir = strdup(path), *slash;
  int fd;

  if (!dir)
    return -1;
  slash = strrchr(dir, '/');
  if (slash == dir)
    slash[1] = '\0';
  else if (slash)
    *slash = '\0';
  fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  free(dir);
  if (fd >= 0 && flock(fd, LOCK_EX) != 0) {
    close(fd);
    fd = -1;
  }
  return fd;
}

int store_open(const char *path, struct store **out, struct integ_error *err)
{
  int lock, rc = store_open_locked(path, out, err, &lock);

  if (lock >= 0)
    close(lock); /* releases the flock */
  return rc;
}

static int store_open_locked(const char *path, struct store **out,
                             struct integ_error *err, int *lock)
{
  struct store *s = NULL;
  struct stat st;
  int64_t version;
  int rc, created = 0;

  *out = NULL;
  *lock = -1;
  if (!path || !*path)
    return error_set(err, INTEG_EINVAL, "store: no path given");
  *lock = lock_dir(path);
  s = calloc(1, sizeof(*s));
  if (!s || !(s->path = strdup(path))) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory opening store %s", path);
    goto out;
  }
  if (stat(path, &st) != 0) {
    if (errno != ENOENT) {
      rc = error_set(err, INTEG_ESTATE, "cannot open store %s: %s", path,
                     strerror(errno));
      goto out;
    }
    if ((rc = create_file(path, &created, err)))
      goto out;
  } else if (!S_ISREG(st.st_mode)) {
    rc = error_set(err, INTEG_ESTATE,
                   "store %s is not a regular file: point the manifest's "
                   "store: (or --store) at a file",
                   path);
    goto out;
  }
  rc = sqlite3_open_v2(path, &s->db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                           SQLITE_OPEN_EXRESCODE,
                       NULL);
  if (rc != SQLITE_OK) {
    rc = store_fail(s, rc, err, "when opening it");
    goto out;
  }
  if (sqlite3_db_readonly(s->db, "main") == 1) {
    rc = store_fail(s, SQLITE_READONLY, err, "when opening it");
    goto out;
  }
  sqlite3_busy_handler(s->db, busy_wait, &s->busy_slept_us);
  if ((rc = check_file(s, &version, err)) || (rc = set_pragmas(s, err)))
    goto out;
  if (version < STORE_SCHEMA_VERSION && (rc = migrate(s, err)))
    goto out;
  if (created)
    chown_companions(path);
  *out = s;
  s = NULL;
out:
  store_close(s);
  return rc;
}

void store_close(struct store *s)
{
  if (!s)
    return;
  for (size_t i = 0; i < ST_COUNT; i++)
    sqlite3_finalize(s->stmt[i]);
  /* close_v2 so a statement left open cannot leak the connection. */
  sqlite3_close_v2(s->db);
  free(s->path);
  free(s);
}

/* ---- state ---- */

static int check_names(const char *account, const char *connector,
                       struct integ_error *err)
{
  if (!account || !*account)
    return error_set(err, INTEG_EINVAL, "store: the account name is empty");
  if (!connector || !*connector)
    return error_set(err, INTEG_EINVAL, "store: the connector name is empty");
  return 0;
}

int store_state_get(struct store *s, const char *account,
                    const char *connector, json_t **out,
                    struct integ_error *err)
{
  sqlite3_stmt *st = NULL;
  json_t *obj = NULL, *v;
  json_error_t jerr;
  int rc;

  *out = NULL;
  if ((rc = check_names(account, connector, err)) ||
      (rc = stmt_get(s, ST_STATE_GET, &st, err)))
    return rc;
  obj = json_object();
  if (!obj) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, connector, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *stream = (const char *)sqlite3_column_text(st, 0);
    const char *text = (const char *)sqlite3_column_text(st, 1);
    size_t len = (size_t)sqlite3_column_bytes(st, 1);

    if (!stream || !text) {
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
      goto out;
    }
    /* A failed allocation is told from bad text by errno: jansson
     * reports it as a syntax error. */
    errno = 0;
    v = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
    if (!v && errno == ENOMEM) {
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
      goto out;
    }
    if (!v) {
      rc = error_set(err, INTEG_ESTATE,
                     "store %s: the state of account '%s', connector '%s', "
                     "stream '%s' is not valid JSON (line %d column %d: "
                     "%s): set it again with `integ state set` or remove "
                     "it with `integ state clear`",
                     s->path, account, connector, stream, jerr.line,
                     jerr.column, jerr.text);
      goto out;
    }
    errno = 0;
    if (json_object_set_new(obj, stream, v)) {
      if (errno == ENOMEM) {
        rc = error_set(err, INTEG_ENOMEM, "out of memory");
        goto out;
      }
      rc = error_set(err, INTEG_ESTATE,
                     "store %s: stream name '%s' of connector '%s' is not "
                     "valid UTF-8",
                     s->path, stream, connector);
      goto out;
    }
  }
  if (rc != SQLITE_DONE) {
    rc = store_fail(s, rc, err, "reading the state of %s/%s", account,
                    connector);
    goto out;
  }
  rc = 0;
  *out = obj;
  obj = NULL;
out:
  stmt_done(st);
  json_decref(obj);
  return rc;
}

int store_state_put(struct store *s, const char *account,
                    const char *connector, json_t *streams,
                    struct integ_error *err)
{
  sqlite3_stmt *st = NULL;
  const char *stream;
  json_t *v;
  char *text = NULL;
  int rc;

  if ((rc = check_names(account, connector, err)))
    return rc;
  if (!json_is_object(streams))
    return error_set(err, INTEG_EINVAL,
                     "store: the state of %s/%s must be an object "
                     "{stream: value}",
                     account, connector);
  if ((rc = stmt_get(s, ST_STATE_PUT, &st, err)) ||
      (rc = tx_begin(s, err, "writing state")))
    return rc;
  json_object_foreach(streams, stream, v)
  {
    text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text) {
      rc = error_set(err, INTEG_ENOMEM,
                     "out of memory encoding the state of %s/%s/%s", account,
                     connector, stream);
      goto out;
    }
    sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, connector, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, stream, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    stmt_done(st);
    free(text);
    text = NULL;
    if (rc != SQLITE_DONE) {
      rc = store_fail(s, rc, err, "writing the state of %s/%s", account,
                      connector);
      goto out;
    }
  }
  rc = tx_commit(s, err, "committing state");
out:
  free(text);
  if (rc)
    tx_rollback(s);
  return rc;
}

int store_state_clear(struct store *s, const char *account,
                      const char *connector, const char *stream,
                      size_t *removed, struct integ_error *err)
{
  sqlite3_stmt *st = NULL;
  int rc;

  if (removed)
    *removed = 0;
  if ((rc = check_names(account, connector, err)) ||
      (rc = stmt_get(s, stream ? ST_STATE_CLEAR_ONE : ST_STATE_CLEAR_ALL, &st,
                     err)) ||
      (rc = tx_begin(s, err, "clearing state")))
    return rc;
  sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, connector, -1, SQLITE_STATIC);
  if (stream)
    sqlite3_bind_text(st, 3, stream, -1, SQLITE_STATIC);
  if ((rc = stmt_exec(s, st, err, "clearing state")))
    goto out;
  if (removed)
    *removed = (size_t)sqlite3_changes(s->db);
  rc = tx_commit(s, err, "clearing state");
out:
  if (rc)
    tx_rollback(s);
  return rc;
}

/* ---- run history ---- */

int store_run_begin(struct store *s, const char *account,
                    const char *connector, int64_t started_ms, int64_t *run_id,
                    struct integ_error *err)
{
  sqlite3_stmt *st = NULL;
  int rc;

  *run_id = 0;
  if ((rc = check_names(account, connector, err)) ||
      (rc = stmt_get(s, ST_RUN_BEGIN, &st, err)) ||
      (rc = tx_begin(s, err, "recording a run")))
    return rc;
  sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, connector, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, started_ms);
  if ((rc = stmt_exec(s, st, err, "recording a run")))
    goto out;
  *run_id = sqlite3_last_insert_rowid(s->db);
  rc = tx_commit(s, err, "recording a run");
out:
  if (rc) {
    tx_rollback(s);
    *run_id = 0;
  }
  return rc;
}

int store_run_end(struct store *s, int64_t run_id, int64_t ended_ms,
                  const char *status, uint64_t records, const char *message,
                  struct integ_error *err)
{
  sqlite3_stmt *st = NULL;
  char *safe = NULL;
  int rc;

  if (!status || !*status)
    return error_set(err, INTEG_EINVAL, "store: a run needs a status");
  /* Run history never holds a secret, whoever wrote the message. */
  if (message && !(safe = secrets_scrub(message)))
    return error_set(err, INTEG_ENOMEM, "out of memory");
  message = safe;
  if ((rc = stmt_get(s, ST_RUN_END, &st, err)) ||
      (rc = tx_begin(s, err, "recording the end of a run"))) {
    free(safe);
    return rc;
  }
  sqlite3_bind_int64(st, 1, run_id);
  sqlite3_bind_int64(st, 2, ended_ms);
  sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 4,
                     records > INT64_MAX ? INT64_MAX : (int64_t)records);
  if (message)
    sqlite3_bind_text(st, 5, message, -1, SQLITE_STATIC);
  if ((rc = stmt_exec(s, st, err, "recording the end of a run")))
    goto out;
  if (sqlite3_changes(s->db) == 0) {
    rc = error_set(err, INTEG_ENOTFOUND, "store %s: no run %lld", s->path,
                   (long long)run_id);
    goto out;
  }
  rc = tx_commit(s, err, "recording the end of a run");
out:
  if (rc)
    tx_rollback(s);
  free(safe);
  return rc;
}

/* One UPDATE of a run by id in its own transaction; binds ?2 and ?3. */
static int run_update(struct store *s, enum stmt_id id, int64_t run_id,
                      int64_t i2, const char *t2, int64_t i3, const char *t3,
                      const char *what, struct integ_error *err)
{
  sqlite3_stmt *st = NULL;
  int rc;

  if ((rc = stmt_get(s, id, &st, err)) || (rc = tx_begin(s, err, what)))
    return rc;
  sqlite3_bind_int64(st, 1, run_id);
  if (t2)
    sqlite3_bind_text(st, 2, t2, -1, SQLITE_STATIC);
  else if (i2)
    sqlite3_bind_int64(st, 2, i2);
  if (t3)
    sqlite3_bind_text(st, 3, t3, -1, SQLITE_STATIC);
  else if (i3)
    sqlite3_bind_int64(st, 3, i3);
  if ((rc = stmt_exec(s, st, err, what)))
    goto out;
  if (sqlite3_changes(s->db) == 0) {
    rc = error_set(err, INTEG_ENOTFOUND, "store %s: no run %lld", s->path,
                   (long long)run_id);
    goto out;
  }
  rc = tx_commit(s, err, what);
out:
  if (rc)
    tx_rollback(s);
  return rc;
}

int store_run_owner(struct store *s, int64_t run_id, int64_t fire_ms, long pid,
                    struct integ_error *err)
{
  return run_update(s, ST_RUN_OWNER, run_id, fire_ms, NULL, pid, NULL,
                    "recording who runs a run", err);
}

int store_run_detail(struct store *s, int64_t run_id, const char *category,
                     json_t *stats, struct integ_error *err)
{
  char *text = stats ? json_dumps(stats, JSON_COMPACT) : NULL;
  int rc;

  if (stats && !text)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  rc = run_update(s, ST_RUN_DETAIL, run_id, 0, category, 0, text,
                  "recording a run's counters", err);
  free(text);
  return rc;
}

int store_runs_prune(struct store *s, int64_t before_ms, size_t *removed,
                     struct integ_error *err)
{
  sqlite3_stmt *st = NULL;
  int rc;

  if (removed)
    *removed = 0;
  if ((rc = stmt_get(s, ST_RUNS_PRUNE, &st, err)) ||
      (rc = tx_begin(s, err, "pruning the run history")))
    return rc;
  sqlite3_bind_int64(st, 1, before_ms);
  if ((rc = stmt_exec(s, st, err, "pruning the run history")))
    goto out;
  if (removed)
    *removed = (size_t)sqlite3_changes(s->db);
  rc = tx_commit(s, err, "pruning the run history");
out:
  if (rc)
    tx_rollback(s);
  return rc;
}

int store_history_note(struct store *s, const char *account,
                       const char *connector, const char *what, int64_t at_ms,
                       struct integ_error *err)
{
  sqlite3_stmt *st = NULL;
  char *safe = NULL;
  int rc;

  if (!what)
    return error_set(err, INTEG_EINVAL, "store: an empty history note");
  if (!(safe = secrets_scrub(what)))
    return error_set(err, INTEG_ENOMEM, "out of memory");
  what = safe;
  if ((rc = check_names(account, connector, err)) ||
      (rc = stmt_get(s, ST_NOTE, &st, err)) ||
      (rc = tx_begin(s, err, "adding to the history"))) {
    free(safe);
    return rc;
  }
  sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, connector, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, at_ms);
  sqlite3_bind_text(st, 4, what, -1, SQLITE_STATIC);
  if ((rc = stmt_exec(s, st, err, "adding to the history")))
    goto out;
  rc = tx_commit(s, err, "adding to the history");
out:
  if (rc)
    tx_rollback(s);
  free(safe);
  return rc;
}

/* Column i as a JSON value: text, integer or null (new reference). */
static json_t *column_json(sqlite3_stmt *st, int i)
{
  switch (sqlite3_column_type(st, i)) {
  case SQLITE_NULL:
    return json_null();
  case SQLITE_INTEGER:
    return json_integer(sqlite3_column_int64(st, i));
  default: {
    const char *t = (const char *)sqlite3_column_text(st, i);
    return t ? json_stringn(t, (size_t)sqlite3_column_bytes(st, i)) : NULL;
  }
  }
}

/* The counters (column i, JSON text) as "stats", and a "running" row
 * whose process is gone as "died": it was killed or crashed before it
 * could record its end. A pid is only checked on this host. */
static int run_row_extra(sqlite3_stmt *st, json_t *row, int i)
{
  const char *text = (const char *)sqlite3_column_text(st, i);
  json_t *stats = text ? json_loads(text, 0, NULL) : NULL;
  json_t *pid = json_object_get(row, "pid");

  if (json_object_set_new(row, "stats", stats ? stats : json_object()))
    return INTEG_ENOMEM;
  if (json_is_integer(pid) && json_integer_value(pid) > 0 &&
      strcmp(json_string_value(json_object_get(row, "status")) ?: "",
             "running") == 0 &&
      kill((pid_t)json_integer_value(pid), 0) == -1 && errno == ESRCH &&
      json_object_set_new(row, "status", json_string("died")))
    return INTEG_ENOMEM;
  return 0;
}

int store_runs_list(struct store *s, const char *account,
                    const char *connector, size_t limit, json_t **out,
                    struct integ_error *err)
{
  static const char *const keys[] = {
      "id",         "account",  "connector", "kind",
      "started_ms", "ended_ms", "status",    "records",
      "message",    "fire_ms",  "pid",       "error_category"};
  sqlite3_stmt *st = NULL;
  json_t *arr = NULL, *row, *v;
  int rc;

  *out = NULL;
  if ((rc = stmt_get(s, ST_RUNS_LIST, &st, err)))
    return rc;
  arr = json_array();
  if (!arr) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  if (account)
    sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
  if (connector)
    sqlite3_bind_text(st, 2, connector, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3,
                     limit == 0 || limit > INT64_MAX ? -1 : (int64_t)limit);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    row = json_object();
    if (!row || json_array_append_new(arr, row)) {
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
      goto out;
    }
    for (int i = 0; i < (int)(sizeof(keys) / sizeof(keys[0])); i++) {
      errno = 0;
      v = column_json(st, i);
      if (!v || json_object_set_new(row, keys[i], v)) {
        if (errno == ENOMEM)
          rc = error_set(err, INTEG_ENOMEM, "out of memory");
        else
          rc = error_set(err, INTEG_ESTATE,
                         "store %s: run history column %s is not valid "
                         "UTF-8",
                         s->path, keys[i]);
        goto out;
      }
    }
    rc = run_row_extra(st, row, (int)(sizeof(keys) / sizeof(keys[0])));
    if (rc) {
      error_set(err, rc, "out of memory");
      goto out;
    }
  }
  if (rc != SQLITE_DONE) {
    rc = store_fail(s, rc, err, "reading the run history");
    goto out;
  }
  rc = 0;
  *out = arr;
  arr = NULL;
out:
  stmt_done(st);
  json_decref(arr);
  return rc;
}

/* ---- rate-limit buckets ---- */

int store_bucket_update(struct store *s, const char *key, store_bucket_fn fn,
                        void *arg, struct integ_error *err)
{
  sqlite3_stmt *get = NULL, *put = NULL;
  double tokens = 0;
  int64_t last_ms = 0;
  int exists = 0, rc;

  if (!key || !fn)
    return error_set(err, INTEG_EINVAL, "store: bucket update without key");
  /* No fsync for buckets: one is updated before each HTTP request, an
   * fsync costs milliseconds, and power loss then only forgets a few
   * tokens spent. WAL keeps the store consistent either way. */
  if ((rc = stmt_get(s, ST_BUCKET_GET, &get, err)) ||
      (rc = tx_simple(s, ST_SYNC_NORMAL, err, "updating a bucket")))
    return rc;
  if ((rc = tx_begin(s, err, "updating a rate-limit bucket")))
    goto out;
  sqlite3_bind_text(get, 1, key, -1, SQLITE_STATIC);
  rc = sqlite3_step(get);
  if (rc == SQLITE_ROW) {
    exists = 1;
    tokens = sqlite3_column_double(get, 0);
    last_ms = sqlite3_column_int64(get, 1);
  } else if (rc != SQLITE_DONE) {
    rc = store_fail(s, rc, err, "reading rate-limit bucket %s", key);
    goto out;
  }
  stmt_done(get);
  get = NULL;
  if ((rc = fn(&tokens, &last_ms, &exists, arg))) {
    error_set(err, rc, "rate-limit bucket %s: update refused", key);
    goto out;
  }
  if ((rc = stmt_get(s, exists ? ST_BUCKET_PUT : ST_BUCKET_DEL, &put, err)))
    goto out;
  sqlite3_bind_text(put, 1, key, -1, SQLITE_STATIC);
  if (exists) {
    sqlite3_bind_double(put, 2, tokens);
    sqlite3_bind_int64(put, 3, last_ms);
  }
  if ((rc = stmt_exec(s, put, err, "writing a rate-limit bucket")))
    goto out;
  rc = tx_commit(s, err, "writing a rate-limit bucket");
out:
  stmt_done(get);
  if (rc)
    tx_rollback(s);
  if (!rc)
    rc = tx_simple(s, ST_SYNC_FULL, err, "updating a bucket");
  else
    tx_simple(s, ST_SYNC_FULL, NULL, "updating a bucket");
  return rc;
}

/* ---- OAuth2 tokens ----
 * Rare writes (a login, a refresh per token lifetime): statements are
 * prepared per call. Each write is one BEGIN IMMEDIATE transaction. */

static int tok_prepare(struct store *s, const char *sql, sqlite3_stmt **st,
                       struct integ_error *err)
{
  int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);

  if (rc != SQLITE_OK)
    return store_fail(s, rc, err, "preparing a token statement");
  return 0;
}

static char *col_strdup(sqlite3_stmt *st, int i)
{
  const unsigned char *t = sqlite3_column_text(st, i);

  return t ? strdup((const char *)t) : NULL;
}

void store_token_clear(struct store_token *t)
{
  free(t->key_id);
  free(t->sealed);
  free(t->scopes);
  free(t->lease_owner);
  memset(t, 0, sizeof(*t));
}

int store_token_get(struct store *s, const char *account, const char *provider,
                    struct store_token *out, struct integ_error *err)
{
  sqlite3_stmt *st = NULL;
  int rc;

  memset(out, 0, sizeof(*out));
  rc = tok_prepare(s,
                   "SELECT key_id, sealed, scopes, expires_ms, refreshed_ms,"
                   " needs_login, lease_owner, lease_until_ms FROM tokens"
                   " WHERE account = ?1 AND provider = ?2",
                   &st, err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, provider, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) {
    rc = error_set(err, INTEG_ENOTFOUND,
                   "no token stored for account %s at %s", account, provider);
    goto out;
  }
  if (rc != SQLITE_ROW) {
    rc = store_fail(s, rc, err, "reading the token of account %s", account);
    goto out;
  }
  rc = 0;
  out->key_id = col_strdup(st, 0);
  /* Any non-NULL value is taken as the sealed bytes: a row changed into
   * text is reported by tokens.c as damaged, never taken for no token. */
  if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
    int n = sqlite3_column_bytes(st, 1);

    out->sealed = malloc(n > 0 ? (size_t)n : 1);
    if (out->sealed) {
      memcpy(out->sealed, sqlite3_column_blob(st, 1), (size_t)n);
      out->sealed_len = (size_t)n;
    } else {
      rc = INTEG_ENOMEM;
    }
  }
  out->scopes = col_strdup(st, 2);
  out->expires_ms = sqlite3_column_int64(st, 3);
  out->refreshed_ms = sqlite3_column_int64(st, 4);
  out->needs_login = sqlite3_column_int(st, 5);
  out->lease_owner = col_strdup(st, 6);
  out->lease_until_ms = sqlite3_column_int64(st, 7);
  if (rc || !out->key_id ||
      (sqlite3_column_type(st, 2) != SQLITE_NULL && !out->scopes) ||
      (sqlite3_column_type(st, 6) != SQLITE_NULL && !out->lease_owner)) {
    store_token_clear(out);
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
  }
out:
  sqlite3_finalize(st);
  return rc;
}

/* Run one write statement in its own transaction; *changed gets the
 * rows it changed. */
static int tok_write(struct store *s, sqlite3_stmt *st, int *changed,
                     struct integ_error *err, const char *what)
{
  int rc = tx_begin(s, err, what);

  if (rc)
    return rc;
  rc = sqlite3_step(st);
  if (rc != SQLITE_DONE) {
    rc = store_fail(s, rc, err, "%s", what);
    tx_rollback(s);
    return rc;
  }
  if (changed)
    *changed = sqlite3_changes(s->db);
  return tx_commit(s, err, what);
}

int store_token_put(struct store *s, const char *account, const char *provider,
                    const struct store_token *t, const char *owner,
                    struct integ_error *err)
{
  sqlite3_stmt *st = NULL;
  int rc, changed = 0;

  /* With an owner, the write happens only while the lease is still ours
   * (it may have expired and been taken), and releases it in the same
   * transaction. */
  rc = tok_prepare(
      s,
      owner ? "UPDATE tokens SET key_id = ?3, sealed = ?4, scopes = ?5,"
              " expires_ms = ?6, refreshed_ms = ?7, needs_login = ?8,"
              " lease_owner = NULL, lease_until_ms = 0"
              " WHERE account = ?1 AND provider = ?2 AND lease_owner = ?9"
            : "INSERT INTO tokens (account, provider, key_id, sealed, scopes,"
              " expires_ms, refreshed_ms, needs_login) VALUES (?1, ?2, ?3,"
              " ?4, ?5, ?6, ?7, ?8) ON CONFLICT (account, provider) DO UPDATE"
              " SET key_id = ?3, sealed = ?4, scopes = ?5, expires_ms = ?6,"
              " refreshed_ms = ?7, needs_login = ?8",
      &st, err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, provider, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, t->key_id ? t->key_id : "", -1, SQLITE_STATIC);
  if (t->sealed)
    sqlite3_bind_blob(st, 4, t->sealed, (int)t->sealed_len, SQLITE_STATIC);
  if (t->scopes)
    sqlite3_bind_text(st, 5, t->scopes, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 6, t->expires_ms);
  sqlite3_bind_int64(st, 7, t->refreshed_ms);
  sqlite3_bind_int(st, 8, t->needs_login);
  if (owner)
    sqlite3_bind_text(st, 9, owner, -1, SQLITE_STATIC);
  rc = tok_write(s, st, &changed, err, "writing a token");
  if (!rc && owner && !changed)
    rc = error_set(err, INTEG_ESTATE,
                   "the refresh lease on the token of account %s at %s "
                   "expired before the new token was stored",
                   account, provider);
  sqlite3_finalize(st);
  return rc;
}

int store_token_lease(struct store *s, const char *account,
                      const char *provider, const char *owner, int64_t now_ms,
                      int64_t until_ms, int *got, struct integ_error *err)
{
  sqlite3_stmt *st = NULL;
  int rc, changed = 0;

  *got = 0;
  /* A row is made when there is none (a first client_credentials token):
   * the lease needs a row to live in. */
  rc = tok_prepare(s,
                   "INSERT INTO tokens (account, provider, lease_owner,"
                   " lease_until_ms) VALUES (?1, ?2, ?3, ?5)"
                   " ON CONFLICT (account, provider) DO UPDATE SET"
                   " lease_owner = ?3, lease_until_ms = ?5"
                   " WHERE lease_owner IS NULL OR lease_owner = ?3"
                   " OR lease_until_ms <= ?4",
                   &st, err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, provider, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, owner, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 4, now_ms);
  sqlite3_bind_int64(st, 5, until_ms);
  rc = tok_write(s, st, &changed, err, "claiming a token's refresh lease");
  if (!rc)
    *got = changed > 0;
  sqlite3_finalize(st);
  return rc;
}

int store_token_release(struct store *s, const char *account,
                        const char *provider, const char *owner,
                        int needs_login, struct integ_error *err)
{
  sqlite3_stmt *st = NULL;
  int rc;

  rc = tok_prepare(s,
                   "UPDATE tokens SET lease_owner = NULL, lease_until_ms = 0,"
                   " needs_login = max(needs_login, ?4)"
                   " WHERE account = ?1 AND provider = ?2 AND"
                   " (lease_owner = ?3 OR ?4)",
                   &st, err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, provider, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, owner ? owner : "", -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 4, needs_login ? 1 : 0);
  rc = tok_write(s, st, NULL, err, "releasing a token's refresh lease");
  sqlite3_finalize(st);
  return rc;
}

int store_token_delete(struct store *s, const char *account,
                       const char *provider, int *removed,
                       struct integ_error *err)
{
  sqlite3_stmt *st = NULL;
  int rc, changed = 0;

  rc = tok_prepare(s,
                   "DELETE FROM tokens WHERE account = ?1 AND"
                   " (?2 IS NULL OR provider = ?2)",
                   &st, err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
  if (provider)
    sqlite3_bind_text(st, 2, provider, -1, SQLITE_STATIC);
  rc = tok_write(s, st, &changed, err, "removing a token");
  if (removed)
    *removed = changed;
  sqlite3_finalize(st);
  return rc;
}

int store_token_list(struct store *s, const char *account, json_t **out,
                     struct integ_error *err)
{
  sqlite3_stmt *st = NULL;
  json_t *arr = json_array();
  int rc;

  *out = NULL;
  if (!arr)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  rc = tok_prepare(s,
                   "SELECT account, provider, key_id, scopes, expires_ms,"
                   " refreshed_ms, needs_login, sealed IS NOT NULL"
                   " FROM tokens WHERE ?1 IS NULL OR account = ?1"
                   " ORDER BY account, provider",
                   &st, err);
  if (rc)
    goto out;
  if (account)
    sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const unsigned char *sc = sqlite3_column_text(st, 3);
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s?, s:I, s:I, s:b, s:b}", "account",
        (const char *)sqlite3_column_text(st, 0), "provider",
        (const char *)sqlite3_column_text(st, 1), "key_id",
        (const char *)sqlite3_column_text(st, 2), "scopes", (const char *)sc,
        "expires_ms", (json_int_t)sqlite3_column_int64(st, 4), "refreshed_ms",
        (json_int_t)sqlite3_column_int64(st, 5), "needs_login",
        sqlite3_column_int(st, 6), "has_token", sqlite3_column_int(st, 7));

    if (!o || json_array_append_new(arr, o)) {
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
      goto out;
    }
  }
  if (rc != SQLITE_DONE) {
    rc = store_fail(s, rc, err, "listing tokens");
    goto out;
  }
  rc = 0;
  *out = arr;
  arr = NULL;
out:
  sqlite3_finalize(st);
  json_decref(arr);
  return rc;
}
