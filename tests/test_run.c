/* test_run.c - the run module: the host's vtable as a plugin sees it,
 * emit_batch's fields (also when allocations fail), http_detail, and
 * state commit and resume. A plugin defined here is run with run_plugin;
 * HTTP is answered from a cassette, so no server and no network. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "error.h"
#include "http.h"
#include "loader.h"
#include "output.h"
#include "run.h"
#include "store.h"

#define assert_message_has(err, want)                                         \
  do {                                                                        \
    if (!strstr((err).message, (want)))                                       \
      fail_msg("expected the message to contain \"%s\"\n  got: \"%s\"",       \
               (want), (err).message);                                        \
  } while (0)

/* What the test plugin's run() does: a scenario gets the host's vtable
 * and the ctx, and returns the run's result. */
typedef int (*scenario_fn)(const struct integ_host *h, integ_ctx *ctx,
                           struct integ_error *err);

struct instance {
  const struct integ_host *host;
  integ_ctx *ctx;
  scenario_fn scenario;
};

static scenario_fn next_scenario; /* handed to the next load() */

static int t_load(const struct integ_host *host, integ_ctx *ctx,
                  json_t *config, json_t *state, void **instance,
                  struct integ_error *err)
{
  struct instance *in = calloc(1, sizeof(*in));

  (void)config;
  (void)state;
  if (!in)
    return integ_error_set(err, INTEG_ENOMEM, "out of memory");
  in->host = host;
  in->ctx = ctx;
  in->scenario = next_scenario;
  *instance = in;
  return 0;
}

static int t_run(void *instance, struct integ_error *err)
{
  struct instance *in = instance;

  return in->scenario(in->host, in->ctx, err);
}

static void t_unload(void *instance)
{
  free(instance);
}

static const struct integ_plugin t_vtable = {
    INTEG_PLUGIN_HEADER, .name = "t",
    .version = "0",      .description = "test_run's plugin",
    .spec = "{}",        .load = t_load,
    .run = t_run,        .unload = t_unload,
};

/* A cassette line: GET url answered with status, headers (a JSON array of
 * [name, value] pairs) and body. */
static void cassette_line(FILE *f, const char *url, long status,
                          const char *headers, const char *body)
{
  json_t *ex =
      json_pack("{s:{s:s, s:s, s:{}, s:s}, s:{s:I, s:o, s:s}}", "request",
                "method", "GET", "url", url, "headers", "body", "", "response",
                "status", (json_int_t)status, "headers",
                json_loads(headers, 0, NULL), "body", body);

  assert_non_null(ex);
  assert_int_equal(json_dumpf(ex, f, JSON_COMPACT), 0);
  fputc('\n', f);
  json_decref(ex);
}

#define PAGE_URL "http://api.test/v1/page"
#define PAGE_HEADERS                                                          \
  "[[\"Content-Type\", \"application/json\"], [\"Link\", "                    \
  "\"<http://api.test/v1/page?c=2>; rel=\\\"next\\\"\"]]"
#define PAGE_BODY                                                             \
  "{\"data\": [{\"id\": 1, \"at\": \"a\"}, {\"id\": 2, \"at\": \"b\"}], "     \
  "\"next_cursor\": \"abc\"}"
#define EMPTY_URL "http://api.test/v1/empty"
#define BAD_URL "http://api.test/v1/bad"
#define BAD_HEADERS                                                           \
  "[[\"Content-Type\", \"application/json\"], [\"X-Request-Id\", "            \
  "\"req-7\"]]"
#define BAD_BODY                                                              \
  "{\"error\": {\"code\": \"bad_cursor\", \"message\": \"nope\"}}"

struct ran {
  int rc;
  struct integ_error err;
  struct run_stats stats;
  char *output; /* what the output got (jsonl) */
};

/* Run the test plugin with `scenario`; HTTP from a cassette holding the
 * page `pages` times and the failure once. */
static void run_scenario(scenario_fn scenario, int pages, struct ran *r)
{
  char dir[] = "/tmp/integ-test-run.XXXXXX";
  struct plugin pl = {.path = "t.so", .vt = &t_vtable};
  struct output_config oc;
  struct http_config http;
  struct run_opts o;
  struct buf cas = BUF_INIT, outfile = BUF_INIT;
  FILE *f;
  int fd;
  long size;

  memset(r, 0, sizeof(*r));
  assert_non_null(mkdtemp(dir));
  assert_int_equal(buf_printf(&cas, "%s/cassette.jsonl", dir), 0);
  assert_int_equal(buf_printf(&outfile, "%s/out.jsonl", dir), 0);
  f = fopen(cas.data, "w");
  assert_non_null(f);
  for (int i = 0; i < pages; i++)
    cassette_line(f, PAGE_URL, 200, PAGE_HEADERS, PAGE_BODY);
  cassette_line(f, BAD_URL, 400, BAD_HEADERS, BAD_BODY);
  cassette_line(f, EMPTY_URL, 204, "[]", "");
  fclose(f);
  fd = open(outfile.data, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);

  http_config_init(&http);
  http.tag = "t";
  http.replay_file = cas.data;
  memset(&oc, 0, sizeof(oc));
  oc.format = EMIT_JSONL;
  oc.to = "stdout";
  oc.connector = "t";
  oc.account = "default";
  oc.out_fd = fd;
  memset(&o, 0, sizeof(o));
  o.tag = "t";
  o.http = &http;
  o.output = &oc;
  next_scenario = scenario;
  r->rc = run_plugin(&pl, NULL, NULL, &o, &r->stats, &r->err);
  close(fd);

  f = fopen(outfile.data, "r");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  size = ftell(f);
  rewind(f);
  r->output = calloc(1, (size_t)size + 1);
  assert_non_null(r->output);
  assert_int_equal(fread(r->output, 1, (size_t)size, f), (size_t)size);
  fclose(f);
  unlink(outfile.data);
  unlink(cas.data);
  rmdir(dir);
  buf_free(&cas);
  buf_free(&outfile);
}

static void ran_free(struct ran *r)
{
  run_stats_free(&r->stats);
  free(r->output);
}

/* ---------------------------------------------------- the vtable */

static int check_vtable(const struct integ_host *h, integ_ctx *ctx,
                        struct integ_error *err)
{
  (void)ctx;
  (void)err;
  assert_int_equal(h->abi_major, INTEG_ABI_MAJOR);
  assert_int_equal(h->abi_minor, INTEG_ABI_MINOR);
  assert_int_equal(h->size, sizeof(struct integ_host));
  assert_true(INTEG_HAS(h, http_detail));
  /* Every entry of this minor is filled in. */
  for (size_t off = offsetof(struct integ_host, emit_record); off < sizeof(*h);
       off += sizeof(void (*)(void))) {
    void (*fn)(void);

    memcpy(&fn, (const char *)h + off, sizeof(fn));
    if (!fn)
      fail_msg("the host's vtable has no entry at offset %zu", off);
  }
  return 0;
}

static void host_vtable_is_this_minor_and_complete(void **state)
{
  struct ran r;

  (void)state;
  run_scenario(check_vtable, 0, &r);
  assert_int_equal(r.rc, 0);
  ran_free(&r);
}

static int bad_requests(const struct integ_host *h, integ_ctx *ctx,
                        struct integ_error *err)
{
  struct integ_error e = {0, ""};
  integ_request *req;

  (void)err;
  assert_null(h->request_new(ctx, "GE T", PAGE_URL, 0, &e));
  assert_int_equal(e.code, INTEG_EINVAL);
  assert_message_has(e, "'GE T' is not an HTTP method");
  assert_null(h->request_new(ctx, "GET", "ftp://x/?token=s3cret", 0, &e));
  assert_int_equal(e.code, INTEG_EINVAL);
  assert_message_has(e, "must be absolute, http:// or https://");
  if (strstr(e.message, "s3cret"))
    fail_msg("the URL's secret is in the message: %s", e.message);
  assert_null(h->request_new(ctx, "GET", NULL, 0, &e));
  assert_int_equal(e.code, INTEG_EINVAL);

  req = h->request_new(ctx, "get", PAGE_URL, 0, &e);
  assert_non_null(req);
  assert_int_equal(h->request_header(req, "X-A", "1\r\nX-B: 2"), INTEG_EINVAL);
  assert_int_equal(h->request_header(req, "X A", "1"), INTEG_EINVAL);
  assert_int_equal(h->request_header(req, "X-A", NULL), INTEG_EINVAL);
  assert_int_equal(h->request_header(req, "X-A", "1"), 0);
  assert_int_equal(h->request_query(req, NULL, "1"), INTEG_EINVAL);
  assert_int_equal(h->request_query(req, "q", NULL), 0);
  assert_int_equal(h->request_body_json(req, NULL), INTEG_EINVAL);
  assert_null(h->response_json(NULL, &e));
  assert_int_equal(e.code, INTEG_EINVAL);
  h->request_free(req);
  h->request_free(NULL);
  h->response_free(NULL);
  return 0;
}

static void request_entries_say_why_they_fail(void **state)
{
  struct ran r;

  (void)state;
  run_scenario(bad_requests, 0, &r);
  assert_int_equal(r.rc, 0);
  ran_free(&r);
}

/* ------------------------------------------------------ emit_batch */

static json_t *page_fields(void)
{
  return json_pack("{s:s, s:s, s:s}", "next", "$.next_cursor", "ids",
                   "$.data[*].id", "missing", "$.nothing");
}

/* The page emit_batch must give back for PAGE_BODY. */
static void assert_full_page(json_t *page)
{
  json_t *want = json_loads(
      "{\"status\": 200, \"records\": 2, \"fields\": {\"next\": \"abc\", "
      "\"ids\": [1, 2], \"missing\": null}, \"next_url\": "
      "\"http://api.test/v1/page?c=2\"}",
      0, NULL);

  assert_non_null(want);
  if (!json_equal(page, want)) {
    char *got = json_dumps(page, JSON_COMPACT | JSON_ENCODE_ANY);

    fail_msg("emit_batch's page: %s", got ? got : "(null)");
  }
  json_decref(want);
}

static int one_page(const struct integ_host *h, integ_ctx *ctx,
                    struct integ_error *err)
{
  integ_request *req = h->request_new(ctx, "GET", PAGE_URL, 0, err);
  json_t *fields = page_fields(), *page = NULL;
  int rc;

  assert_non_null(req);
  rc = h->emit_batch(ctx, req, "items", "$.data[*]", fields, &page, err);
  assert_int_equal(rc, 0);
  assert_full_page(page);
  json_decref(page);
  json_decref(fields);
  h->request_free(req);
  return 0;
}

static void emit_batch_writes_records_and_returns_every_field(void **state)
{
  struct ran r;

  (void)state;
  run_scenario(one_page, 1, &r);
  assert_int_equal(r.rc, 0);
  assert_int_equal(r.stats.records, 2);
  assert_string_equal(r.output, "{\"id\":1,\"at\":\"a\"}\n"
                                "{\"id\":2,\"at\":\"b\"}\n");
  ran_free(&r);
}

/* jansson's allocation number alloc_fail (counted from 0 by alloc_count)
 * fails, once; the others succeed, as when memory is short for a moment.
 * (Failing every allocation from the Nth on would hide a dropped field
 * behind a later failure.) */
static long alloc_fail = -1;
static long alloc_count;
static void *failing_malloc(size_t n)
{
  if (alloc_count++ == alloc_fail)
    return NULL;
  return malloc(n);
}

#define OOM_ROUNDS 80

static int oom_pages(const struct integ_host *h, integ_ctx *ctx,
                     struct integ_error *err)
{
  json_t *fields = page_fields(), *doc;
  int ok = 0, nomem = 0;
  long parse;

  /* On the slow path the first allocations parse the body, in http.c,
   * whose out-of-memory path is not under test here: start failing after
   * them. The fast path parses no tree. */
  alloc_count = 0;
  json_set_alloc_funcs(failing_malloc, free);
  doc = json_loads(PAGE_BODY, 0, NULL);
  json_decref(doc);
  json_set_alloc_funcs(malloc, free);
  parse = getenv("INTEG_SLOW_PATH") ? alloc_count : 0;
  for (long n = parse; n < parse + OOM_ROUNDS; n++) {
    integ_request *req = h->request_new(ctx, "GET", PAGE_URL, 0, err);
    struct integ_error e = {0, ""};
    json_t *page = NULL;
    int rc;

    assert_non_null(req);
    alloc_count = 0;
    alloc_fail = n;
    json_set_alloc_funcs(failing_malloc, free);
    rc = h->emit_batch(ctx, req, "items", "$.data[*]", fields, &page, &e);
    json_set_alloc_funcs(malloc, free);
    alloc_fail = -1;
    /* Either the whole page, or a failure that says so: never success
     * with a field (the next-page cursor) missing. */
    if (rc == 0) {
      assert_full_page(page);
      ok++;
    } else {
      if (rc != INTEG_ENOMEM)
        fail_msg("allocation %ld failed: expected INTEG_ENOMEM, got %d (%s)",
                 n, rc, e.message);
      assert_null(page);
      nomem++;
    }
    json_decref(page);
    h->request_free(req);
  }
  assert_true(nomem > 5); /* failures reached into emit_batch */
  assert_true(ok > 0);    /* and past its last allocation */
  json_decref(fields);
  return 0;
}

static void emit_batch_out_of_memory_never_drops_a_field(void **state)
{
  struct ran r;

  (void)state;
  /* Both paths: the scanner's (no tree) and jansson's. */
  for (int slow = 0; slow < 2; slow++) {
    if (slow)
      setenv("INTEG_SLOW_PATH", "1", 1);
    run_scenario(oom_pages, OOM_ROUNDS, &r);
    unsetenv("INTEG_SLOW_PATH");
    if (r.rc)
      fail_msg("run (%s path): %s", slow ? "slow" : "fast", r.err.message);
    ran_free(&r);
  }
}

static int field_not_a_string(const struct integ_host *h, integ_ctx *ctx,
                              struct integ_error *err)
{
  integ_request *req = h->request_new(ctx, "GET", PAGE_URL, 0, err);
  json_t *fields = json_pack("{s:i}", "next", 1), *page = NULL;
  struct integ_error e = {0, ""};

  assert_int_equal(
      h->emit_batch(ctx, req, "items", "$.data[*]", fields, &page, &e),
      INTEG_EINVAL);
  assert_message_has(e, "field 'next' is not a JSONPath string");
  assert_null(page);
  assert_int_equal(
      h->emit_batch(ctx, req, "items", "$.data[", NULL, &page, &e),
      INTEG_EINVAL);
  assert_message_has(e, "JSONPath '$.data['");
  json_decref(fields);
  h->request_free(req);
  return 0;
}

static void emit_batch_bad_queries_are_einval(void **state)
{
  struct ran r;

  (void)state;
  run_scenario(field_not_a_string, 1, &r);
  assert_int_equal(r.rc, 0);
  ran_free(&r);
}

/* ----------------------------------------------------- http_detail */

static int failed_batch(const struct integ_host *h, integ_ctx *ctx,
                        struct integ_error *err)
{
  integ_request *req = h->request_new(ctx, "GET", BAD_URL, 0, err);
  struct integ_http_detail d = {.size = sizeof(d)}, small = {.size = 8};
  struct integ_error e = {0, ""};
  json_t *page = NULL;

  assert_int_equal(h->http_detail(ctx, NULL, &d), INTEG_ENOTFOUND);
  assert_int_equal(
      h->emit_batch(ctx, req, "items", "$.data[*]", NULL, &page, &e),
      INTEG_EHTTP);
  assert_message_has(e, "400");
  assert_int_equal(h->http_detail(ctx, NULL, &small), INTEG_EINVAL);
  assert_int_equal(h->http_detail(ctx, NULL, NULL), INTEG_EINVAL);
  assert_int_equal(h->http_detail(ctx, NULL, &d), 0);
  assert_int_equal(d.status, 400);
  assert_string_equal(d.category, "client");
  assert_string_equal(d.url, BAD_URL);
  assert_string_equal(d.provider_code, "bad_cursor");
  assert_string_equal(d.provider_message, "nope");
  assert_string_equal(d.request_id, "req-7");
  assert_int_equal(d.retryable, 0);
  assert_int_equal(d.attempts, 1);
  assert_int_equal(d.retry_after_ms, -1);
  h->request_free(req);
  return 0;
}

static void http_detail_of_a_failed_emit_batch(void **state)
{
  struct ran r;

  (void)state;
  run_scenario(failed_batch, 0, &r);
  assert_int_equal(r.rc, 0);
  ran_free(&r);
}

/* ------------------------------------------------------- emit_page */

static int page_failed_and_empty(const struct integ_host *h, integ_ctx *ctx,
                                 struct integ_error *err)
{
  integ_request *req = h->request_new(ctx, "GET", BAD_URL, 0, err);
  json_t *fields = page_fields(), *page = NULL, *want;
  struct integ_page_opts o = {
      .size = sizeof(o), .records = "$.data[*]", .fields = fields};
  struct integ_page_opts small = {.size = sizeof(size_t)};
  struct integ_error e = {0, ""};

  assert_int_equal(h->emit_page(ctx, req, "items", &small, &page, &e),
                   INTEG_EINVAL);
  assert_null(page);
  /* A failure with a response still says what came: a plugin can read a
   * 404 as "no more" without asking again. */
  assert_int_equal(h->emit_page(ctx, req, "items", &o, &page, &e),
                   INTEG_EHTTP);
  assert_non_null(page);
  want = json_pack("{s:i, s:i, s:s, s:s}", "status", 400, "records", 0,
                   "category", "client", "body", BAD_BODY);
  if (!json_equal(page, want))
    fail_msg("emit_page's failed page: %s",
             json_dumps(page, JSON_COMPACT | JSON_SORT_KEYS));
  json_decref(want);
  json_decref(page);
  h->request_free(req);
  /* No content: a page without records, every field null. */
  req = h->request_new(ctx, "GET", EMPTY_URL, 0, err);
  assert_int_equal(h->emit_page(ctx, req, "items", &o, &page, &e), 0);
  want = json_pack("{s:i, s:i, s:{s:n, s:n, s:n}}", "status", 204, "records",
                   0, "fields", "next", "ids", "missing");
  if (!json_equal(page, want))
    fail_msg("emit_page's empty page: %s",
             json_dumps(page, JSON_COMPACT | JSON_SORT_KEYS));
  json_decref(want);
  json_decref(page);
  h->request_free(req);
  json_decref(fields);
  return 0;
}

static void emit_page_answers_failures_and_empty_pages(void **state)
{
  struct ran r;

  (void)state;
  run_scenario(page_failed_and_empty, 0, &r);
  if (r.rc)
    fail_msg("run: %s", r.err.message);
  assert_string_equal(r.output, "");
  ran_free(&r);
}

/* ---------------------------------------------------------- state */

static int two_states(const struct integ_host *h, integ_ctx *ctx,
                      struct integ_error *err)
{
  json_t *s1 = json_pack("{s:{s:i}}", "users", "n", 1);
  json_t *s2 = json_pack("{s:{s:i}}", "users", "n", 2);
  int rc = h->emit_state(ctx, s1, err);

  assert_int_equal(rc, 0);
  assert_int_equal(h->emit_state(ctx, s2, err), 0);
  /* The host keeps a copy: a plugin may change or free its state after. */
  json_object_set_new(json_object_get(s2, "users"), "n", json_integer(9));
  json_decref(s1);
  s1 = json_array(); /* not an object: refused */
  assert_int_equal(h->emit_state(ctx, s1, err), INTEG_EINVAL);
  json_decref(s1);
  json_decref(s2);
  return 0;
}

static void the_last_state_is_kept_as_emitted(void **state)
{
  struct ran r;
  json_t *want = json_pack("{s:{s:i}}", "users", "n", 2);

  (void)state;
  run_scenario(two_states, 0, &r);
  assert_int_equal(r.rc, 0);
  assert_int_equal(r.stats.states, 2);
  assert_true(json_equal(r.stats.state, want));
  json_decref(want);
  ran_free(&r);
}

static void state_commit_and_resume_round_trip(void **state)
{
  char dir[] = "/tmp/integ-test-run.XXXXXX";
  struct integ_error err = {0, ""};
  struct store *s = NULL;
  struct buf db = BUF_INIT;
  json_t *keyed =
      json_pack("{s:{s:s}, s:{s:i}}", "users", "at", "x", "orders", "page", 3);
  json_t *whole = json_pack("{s:i, s:s}", "n", 5, "cursor", "c");
  json_t *got = NULL;

  (void)state;
  assert_non_null(mkdtemp(dir));
  assert_int_equal(buf_printf(&db, "%s/integ.db", dir), 0);
  if (store_open(db.data, &s, &err))
    fail_msg("store_open: %s", err.message);
  /* Nothing stored: no state to resume from. */
  assert_int_equal(run_state_load(s, "default", "c", &got, &err), 0);
  assert_null(got);
  /* Keyed by stream: one row a stream, given back as one object. */
  assert_int_equal(run_state_commit(s, "default", "c", keyed, &err), 0);
  assert_int_equal(run_state_load(s, "default", "c", &got, &err), 0);
  assert_true(json_equal(got, keyed));
  json_decref(got);
  /* Another account is another state. */
  assert_int_equal(run_state_load(s, "other", "c", &got, &err), 0);
  assert_null(got);
  /* Any other shape is kept whole and given back as it was. */
  assert_int_equal(run_state_commit(s, "default", "d", whole, &err), 0);
  assert_int_equal(run_state_load(s, "default", "d", &got, &err), 0);
  assert_true(json_equal(got, whole));
  json_decref(got);
  store_close(s);
  json_decref(keyed);
  json_decref(whole);
  unlink(db.data);
  buf_printf(&db, "-wal");
  unlink(db.data);
  buf_free(&db);
  rmdir(dir);
}

/* ------------------------------------------------ manifest settings */

static void http_settings_come_from_the_connector(void **state)
{
  struct integ_error err = {0, ""};
  struct http_config h;
  json_t *node =
      json_loads("{\"retry\": {\"max_attempts\": 3, \"base\": \"2s\"},"
                 " \"rate_limit\": {\"per_second\": 0.5, \"burst\": 4},"
                 " \"http\": {\"timeout\": \"1m\", \"max_body\": 1024}}",
                 0, NULL);
  json_t *bad = json_loads("{\"http\": {\"timeout\": \"soon\"}}", 0, NULL);

  (void)state;
  http_config_init(&h);
  assert_int_equal(run_http_config(&h, node, &err), 0);
  assert_int_equal(h.retry.max_attempts, 3);
  assert_int_equal(h.retry.base_ms, 2000);
  assert_true(h.rate_per_second == 0.5 && h.rate_burst == 4);
  assert_int_equal(h.limits.timeout_ms, 60000);
  assert_int_equal(h.limits.max_body, 1024);
  assert_int_equal(run_http_config(&h, bad, &err), INTEG_ECONFIG);
  assert_message_has(err, "http.timeout: expected a duration");
  http_config_init(&h);
  assert_int_equal(run_http_config(&h, NULL, &err), 0);
  json_decref(node);
  json_decref(bad);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(host_vtable_is_this_minor_and_complete),
      cmocka_unit_test(request_entries_say_why_they_fail),
      cmocka_unit_test(emit_batch_writes_records_and_returns_every_field),
      cmocka_unit_test(emit_batch_out_of_memory_never_drops_a_field),
      cmocka_unit_test(emit_batch_bad_queries_are_einval),
      cmocka_unit_test(http_detail_of_a_failed_emit_batch),
      cmocka_unit_test(emit_page_answers_failures_and_empty_pages),
      cmocka_unit_test(the_last_state_is_kept_as_emitted),
      cmocka_unit_test(state_commit_and_resume_round_trip),
      cmocka_unit_test(http_settings_come_from_the_connector),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
