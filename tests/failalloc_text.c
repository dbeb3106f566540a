/* failalloc_text.c - every allocation of the buffers, the JSON writer, the
 * Singer/Airbyte/JSONL emitters, catalogs, config files, the progress line
 * and the plugin loader fails in turn (see failalloc.h): each call returns
 * INTEG_ENOMEM or the same result, and leaks nothing. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "catalog.h"
#include "configfile.h"
#include "emit.h"
#include "error.h"
#include "failalloc.h"
#include "jsonw.h"
#include "loader.h"
#include "progress.h"

#define T0 1640995200000LL

/* Test data, parsed with counting paused. */
static json_t *J(const char *text)
{
  json_t *v;

  failalloc_pause();
  v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
  failalloc_resume();
  if (!v) {
    fprintf(stderr, "bad test JSON: %s\n", text);
    abort();
  }
  return v;
}

static void result_buf(const struct buf *b)
{
  failalloc_result(b->data ? b->data : "", b->len);
}

/* ------------------------------------------------------------ buf */

static int buf_grows(void *arg, struct integ_error *err)
{
  struct buf b = BUF_INIT;
  int rc = 0;

  (void)arg;
  for (int i = 0; i < 200 && !rc; i++)
    rc = buf_printf(&b, "%d:%s;", i, "twenty-some characters");
  if (!rc)
    rc = buf_append(&b, "end", 3);
  if (rc)
    error_set(err, rc, "buf: out of memory");
  else
    result_buf(&b);
  buf_free(&b);
  return rc;
}

/* ---------------------------------------------------------- jsonw */

static const char doc_text[] =
    "{\"id\":10,\"total\":423.962,\"at\":\"2024-01-01T00:00:00Z\","
    "\"tags\":[\"a/b\",\"\\ud83d\\ude00\",\"tab\\tnl\\n\\u2028\"],"
    "\"meta\":{\"z\":1,\"a\":[1.0,1e-07,-0.0,0.1,1e300],\"n\":null,"
    "\"t\":true,\"big\":9223372036854775807,\"long\":\"xxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}}";

static int jsonw_writes_a_document(void *arg, struct integ_error *err)
{
  json_t *doc = J(doc_text);
  struct buf b = BUF_INIT;
  int rc;

  (void)arg;
  rc = jsonw_value(&b, doc, 0);
  if (!rc)
    rc = jsonw_value(&b, doc, JSONW_ASCII);
  if (rc)
    error_set(err, rc, "jsonw_value: failed");
  else
    result_buf(&b);
  buf_free(&b);
  json_decref(doc);
  return rc;
}

/* ---------------------------------------------------------- emit */

static const char streams_text[] =
    "[{\"stream\":\"users\",\"schema\":{\"type\":\"object\",\"properties\":"
    "{\"id\":{\"type\":\"integer\"},\"name\":{\"type\":[\"string\","
    "\"null\"]}}},\"key_properties\":[\"id\"]},{\"stream\":\"orders\","
    "\"schema\":{\"properties\":{\"id\":{\"type\":\"integer\"},"
    "\"updated_at\":{\"type\":\"string\",\"format\":\"date-time\"}},"
    "\"type\":\"object\"},\"key_properties\":[\"id\"],"
    "\"replication_key\":\"updated_at\"}]";
static const char *const records[][2] = {
    {"users", "{\"id\":1,\"name\":\"Zo\\u00eb\"}"},
    {"orders", "{\"id\":10,\"updated_at\":\"2024-01-01T00:00:00Z\"}"},
    {"orders", "{\"id\":11,\"updated_at\":\"2024-01-02T00:00:00Z\"}"},
};
static const char *const states[] = {
    "{\"orders\":{\"replication_key\":\"updated_at\","
    "\"replication_key_value\":\"2024-01-01T00:00:00Z\"}}",
    "{\"orders\":{\"replication_key\":\"updated_at\","
    "\"replication_key_value\":\"2024-01-02T00:00:00Z\"},\"users\":{}}",
};

/* A whole run: streams, records, states (one repeated), as run.c does. */
static int emit_run(void *arg, struct integ_error *err)
{
  enum emit_format format = *(const enum emit_format *)arg;
  json_t *streams = J(streams_text);
  struct buf out = BUF_INIT;
  struct emit *e = NULL;
  int rc;

  rc = emit_new(format, &e, err);
  if (rc)
    goto out;
  rc = emit_add_streams(e, streams, err);
  if (rc)
    goto out;
  for (size_t i = 0; i < sizeof records / sizeof records[0]; i++) {
    json_t *r = J(records[i][1]);
    rc = emit_record(e, &out, records[i][0], r, T0 + (int64_t)i, err);
    json_decref(r);
    if (rc)
      goto out;
    if (i == 1) {
      for (int k = 0; k < 2 && !rc; k++) {
        json_t *s = J(states[0]);
        rc = emit_state(e, &out, s, T0, err);
        json_decref(s);
      }
      if (rc)
        goto out;
    }
  }
  {
    json_t *s = J(states[1]);
    rc = emit_state(e, &out, s, T0, err);
    json_decref(s);
  }
  if (rc)
    goto out;
  result_buf(&out);
out:
  emit_free(e);
  buf_free(&out);
  json_decref(streams);
  return rc;
}

static const enum emit_format singer = EMIT_SINGER, airbyte = EMIT_AIRBYTE,
                              jsonl = EMIT_JSONL;

/* The Airbyte messages that are not records or states. */
static int airbyte_messages(void *arg, struct integ_error *err)
{
  json_t *spec = J("{\"connectionSpecification\":{\"type\":\"object\","
                   "\"properties\":{\"token\":{\"type\":\"string\","
                   "\"airbyte_secret\":true}}}}");
  json_t *catalog = J(streams_text);
  json_t *shared = J("{\"cursor\":\"x\"}");
  json_t *per = J("[{\"stream_descriptor\":{\"name\":\"users\"},"
                  "\"stream_state\":{\"v\":1}}]");
  struct buf out = BUF_INIT;
  int rc;

  (void)arg;
  rc = emit_airbyte_spec(&out, spec, err);
  if (rc)
    goto out;
  rc = emit_airbyte_stream_status(&out, "users", "ns", EMIT_AIRBYTE_RUNNING,
                                  T0, err);
  if (rc)
    goto out;
  rc = emit_airbyte_error(&out, "it broke", "trace", EMIT_AIRBYTE_CONFIG_ERROR,
                          "users", T0, err);
  if (rc)
    goto out;
  rc = emit_airbyte_log(&out, "INFO", "hello", err);
  if (rc)
    goto out;
  rc = emit_airbyte_connection_status(&out, 0, "no", err);
  if (rc)
    goto out;
  rc = emit_airbyte_state_global(&out, shared, per, 3, err);
  if (rc)
    goto out;
  rc = emit_airbyte_record(&out, "users", "ns", shared, T0, err);
  if (rc)
    goto out;
  result_buf(&out);
out:
  buf_free(&out);
  json_decref(spec);
  json_decref(catalog);
  json_decref(shared);
  json_decref(per);
  return rc;
}

/* ---------------------------------------------------------- catalog */

static const char singer_catalog[] =
    "{\"streams\": [{\"tap_stream_id\": \"users\", \"metadata\": ["
    "{\"breadcrumb\": [], \"metadata\": {\"selected\": true,"
    " \"replication-method\": \"INCREMENTAL\", \"replication-key\":"
    " \"updated_at\"}},"
    "{\"breadcrumb\": [\"properties\", \"email\"],"
    " \"metadata\": {\"selected\": false}},"
    "{\"breadcrumb\": [\"properties\", \"id\"],"
    " \"metadata\": {\"selected\": false, \"inclusion\": \"automatic\"}}]},"
    "{\"tap_stream_id\": \"orders\", \"metadata\": [{\"breadcrumb\": [],"
    " \"metadata\": {\"selected\": true, \"replication-method\":"
    " \"FULL_TABLE\"}}]}]}";
static const char airbyte_catalog[] =
    "{\"streams\": [{\"stream\": {\"name\": \"users\"}, \"sync_mode\":"
    " \"incremental\", \"cursor_field\": [\"updated_at\"],"
    " \"destination_sync_mode\": \"append\", \"primary_key\": [[\"id\"]]},"
    " {\"stream\": {\"name\": \"orders\"}, \"sync_mode\": \"full_refresh\","
    " \"destination_sync_mode\": \"append\"}]}";
static const char discovered[] =
    "[{\"stream\": \"users\", \"key_properties\": [\"id\"],"
    "  \"replication_key\": \"updated_at\", \"schema\": {"
    "  \"type\": \"object\", \"properties\": {\"id\": {},"
    "  \"updated_at\": {}, \"email\": {}, \"name\": {}}}},"
    " {\"stream\": \"orders\", \"key_properties\": [\"id\"],"
    "  \"replication_key\": \"updated_at\","
    "  \"schema\": {\"properties\": {\"id\": {}, \"updated_at\": {}}}}]";

/* Parse, check against discover(), apply, project a record, strip a
 * state: what a tap run does with a catalog. */
static int catalog_use(void *arg, struct integ_error *err)
{
  int airbyte_kind = *(const int *)arg;
  json_t *doc = J(airbyte_kind ? airbyte_catalog : singer_catalog);
  json_t *d = J(discovered);
  json_t *rec = J("{\"id\": 1, \"email\": \"x\", \"name\": \"n\"}");
  json_t *st = J("{\"users\": {\"v\": 1}, \"orders\": {\"v\": 2}}");
  json_t *applied = NULL, *projected = NULL, *stripped = NULL, *all = NULL;
  struct catalog *c = NULL;
  int rc, nomem = 0;

  rc = airbyte_kind ? catalog_parse_airbyte(doc, "cc.json", &c, err)
                    : catalog_parse_singer(doc, "cat.json", &c, err);
  if (rc)
    goto out;
  rc = catalog_check(c, d, err);
  if (rc)
    goto out;
  applied = catalog_apply_streams(c, d);
  if (!applied) {
    rc = error_set(err, INTEG_ENOMEM, "catalog_apply_streams: no memory");
    goto out;
  }
  projected = catalog_project(catalog_find(c, "users"), rec, &nomem);
  if (nomem) {
    rc = error_set(err, INTEG_ENOMEM, "catalog_project: no memory");
    goto out;
  }
  stripped = catalog_strip_state(c, st);
  if (!stripped) {
    rc = error_set(err, INTEG_ENOMEM, "catalog_strip_state: no memory");
    goto out;
  }
  failalloc_pause();
  all = json_pack("{sOsOsO}", "applied", applied, "projected",
                  projected ? projected : rec, "stripped", stripped);
  failalloc_result_json(all);
  json_decref(all);
  failalloc_resume();
out:
  json_decref(applied);
  json_decref(projected);
  json_decref(stripped);
  catalog_free(c);
  json_decref(doc);
  json_decref(d);
  json_decref(rec);
  json_decref(st);
  return rc;
}

static const int singer_kind = 0, airbyte_kind = 1;

/* ------------------------------------------------------- configfile */

static char dir[256];

static const char spec[] =
    "{\"type\": \"object\", \"required\": [\"token\"], \"properties\": {"
    " \"token\": {\"type\": \"string\", \"airbyte_secret\": true},"
    " \"n\": {\"type\": \"integer\", \"default\": 7},"
    " \"tags\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}}}}";

static int configfile_round_trip(void *arg, struct integ_error *err)
{
  char path[300];
  json_t *c = NULL, *again = NULL;
  int rc;

  (void)arg;
  snprintf(path, sizeof path, "%s/c.json", dir);
  failalloc_pause();
  {
    FILE *f = fopen(path, "w");
    if (!f)
      abort();
    fputs("{\"token\": \"t\", \"tags\": [\"a\", \"b\"]}\n", f);
    fclose(f);
  }
  failalloc_resume();
  rc = configfile_load(path, spec, "p", 0, &c, err);
  if (rc)
    goto out;
  rc = configfile_write_atomic(path, c, err);
  if (rc)
    goto out;
  rc = configfile_read_json(path, "config", INTEG_ECONFIG, &again, err);
  if (rc)
    goto out;
  failalloc_result_json(again);
out:
  json_decref(c);
  json_decref(again);
  unlink(path);
  return rc;
}

/* --------------------------------------------------------- progress */

static int64_t fixed_clock(void *arg)
{
  (void)arg;
  return 5000;
}

/* Records of three streams and a page; progress_new_with returns NULL
 * when memory is short. The line itself is not compared: the display is
 * best effort (progress_record returns nothing), and a stream name it
 * cannot copy leaves the previous one shown. */
static int progress_line(void *arg, struct integ_error *err)
{
  struct progress_opts o = {stderr, 1, fixed_clock, NULL, 0, 200};
  struct progress *p;
  char line[256];
  size_t n;
  int rc = 0;

  (void)arg;
  p = progress_new_with("run", &o);
  if (!p)
    return error_set(err, INTEG_ENOMEM, "progress_new_with: NULL");
  for (int i = 0; i < 30; i++)
    progress_record(p, i % 3 == 0 ? "users" : i % 3 == 1 ? "orders" : "x");
  progress_page(p);
  n = progress_format(p, 6000, line, sizeof line);
  if (n == 0)
    rc = error_set(err, INTEG_EINVAL, "progress_format: empty line");
  /* progress_done draws a last line; nothing to see in a test. */
  o.out = NULL;
  progress_done(p);
  return rc;
}

/* ----------------------------------------------------------- loader */

/* The plugin path. Not loader_open: loader_open_file reports realpath's
 * ENOMEM as INTEG_EPLUGIN ("cannot open plugin: Cannot allocate memory"),
 * a known bug, reported (loader.c is being reworked). */
static int loader_path(void *arg, struct integ_error *err)
{
  static const char *const extra[] = {"/nonexistent/one", "relative/two"};
  struct loader_path lp = {NULL, 0};
  struct buf b = BUF_INIT;
  int rc;

  (void)arg;
  rc = loader_path_init(&lp, extra, 2, err);
  if (rc)
    goto out;
  failalloc_pause();
  for (size_t i = 0; i < lp.n; i++)
    if (buf_printf(&b, "%s\n", lp.dirs[i]))
      abort();
  result_buf(&b);
  buf_free(&b);
  failalloc_resume();
out:
  loader_path_free(&lp);
  return rc;
}

int main(void)
{
  static const struct failalloc_case cases[] = {
      {"buf_printf and buf_append grow a buffer", buf_grows, NULL, 0},
      {"jsonw_value writes a document", jsonw_writes_a_document, NULL, 0},
      {"emit: a Singer run (schemas, records, states)", emit_run,
       (void *)&singer, 0},
      {"emit: an Airbyte run (records, per-stream states)", emit_run,
       (void *)&airbyte, 0},
      {"emit: a JSONL run", emit_run, (void *)&jsonl, 0},
      {"emit_airbyte: spec, status, error, log, global state",
       airbyte_messages, NULL, 0},
      {"catalog: a Singer catalog parsed, checked, applied", catalog_use,
       (void *)&singer_kind, 0},
      {"catalog: an Airbyte catalog parsed, checked, applied", catalog_use,
       (void *)&airbyte_kind, 0},
      {"configfile: load, write back, read", configfile_round_trip, NULL, 0},
      {"progress: a line after records and pages", progress_line, NULL, 0},
      {"loader: the plugin path", loader_path, NULL, 0},
  };
  int rc;

  /* On tmpfs when there is one: the config is fsynced at every write. */
  snprintf(dir, sizeof dir, "%s/integ-failalloc.XXXXXX",
           getenv("TMPDIR")                ? getenv("TMPDIR")
           : access("/dev/shm", W_OK) == 0 ? "/dev/shm"
                                           : "/tmp");
  if (!mkdtemp(dir)) {
    perror(dir);
    return 99;
  }
  rc = failalloc_main(cases, sizeof cases / sizeof cases[0]);
  rmdir(dir);
  return rc;
}
