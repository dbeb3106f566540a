/* test_cassette.c - recording with secrets redacted and scrubbed, replay
 * in order, and http_do answering from a cassette with no network. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cassette.h"
#include "http.h"
#include "secrets.h"

static char dir[] = "/tmp/test_cassette.XXXXXX";
static const char *const extra[] = {"sid", NULL};

static char *slurp(const char *path)
{
  FILE *f = fopen(path, "r");
  char *text = calloc(1, 65536);
  size_t n;

  assert_non_null(f);
  assert_non_null(text);
  n = fread(text, 1, 65535, f);
  text[n] = '\0';
  fclose(f);
  return text;
}

static void spit(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");

  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  fclose(f);
}

static int setup(void **state)
{
  (void)state;
  secrets_clear();
  return 0;
}

/* Record one exchange that carries the token everywhere. */
static void record_one(const char *path)
{
  struct integ_error err = {0, ""};
  struct cassette *c = NULL;
  json_t *rq = json_pack("{s:s, s:s}", "Authorization", "Bearer tok-cas-1",
                         "X-Trace", "tok-cas-1 here");
  json_t *rs = json_pack("[[s, s], [s, s]]", "X-Echo", "got tok-cas-1",
                         "Set-Cookie", "s=1");
  static const char body[] = "{\"error\": \"tok-cas-1 is bad\"}";

  assert_int_equal(secrets_add("tok-cas-1", 9), 0);
  assert_int_equal(cassette_create(path, extra, &c, &err), 0);
  cassette_append(c, "POST", "http://h/x?sid=abc&q=1", rq, "t=tok-cas-1", 11,
                  401, rs, body, sizeof(body) - 1);
  cassette_free(c);
  json_decref(rq);
  json_decref(rs);
}

static void recording_redacts_and_scrubs_every_secret(void **state)
{
  char path[64], *text;

  (void)state;
  snprintf(path, sizeof(path), "%s/rec.cassette", dir);
  record_one(path);
  text = slurp(path);
  assert_null(strstr(text, "tok-cas-1"));
  assert_non_null(strstr(text, "\"url\":\"http://h/x?sid=REDACTED&q=1\""));
  assert_non_null(strstr(text, "\"Authorization\":\"REDACTED\""));
  assert_non_null(strstr(text, "\"X-Trace\":\"<redacted> here\""));
  assert_non_null(strstr(text, "\"body\":\"t=<redacted>\""));
  assert_non_null(strstr(text, "[\"X-Echo\",\"got <redacted>\"]"));
  assert_non_null(strstr(text, "[\"Set-Cookie\",\"REDACTED\"]"));
  assert_non_null(strstr(text, "<redacted> is bad"));
  assert_int_equal(access(path, R_OK), 0);
  free(text);
}

static void replay_matches_what_was_recorded_once(void **state)
{
  struct integ_error err = {0, ""};
  struct cassette *c = NULL;
  char path[64];
  const char *body;
  size_t len;
  json_t *r;

  (void)state;
  snprintf(path, sizeof(path), "%s/rep.cassette", dir);
  record_one(path);
  assert_int_equal(cassette_load(path, extra, &c, &err), 0);
  /* The live request carries the real values: it matches as redacted. */
  assert_null(
      cassette_match(c, "GET", "http://h/x?sid=zzz&q=1", "t=tok-cas-1", 11));
  r = cassette_match(c, "POST", "http://h/x?sid=zzz&q=1", "t=tok-cas-1", 11);
  assert_non_null(r);
  assert_int_equal(json_integer_value(json_object_get(r, "status")), 401);
  body = cassette_body(c, &len);
  assert_string_equal(body, "{\"error\": \"<redacted> is bad\"}");
  /* Used once. */
  assert_null(
      cassette_match(c, "POST", "http://h/x?sid=zzz&q=1", "t=tok-cas-1", 11));
  cassette_free(c);
}

static void a_bad_line_is_named_by_file_and_line(void **state)
{
  struct integ_error err = {0, ""};
  struct cassette *c = NULL;
  char path[64], want[128];

  (void)state;
  snprintf(path, sizeof(path), "%s/bad.cassette", dir);
  spit(path, "{\"request\": {}, \"response\": {}}\n\n{\"request\": 1}\n");
  assert_int_equal(cassette_load(path, NULL, &c, &err), INTEG_ECONFIG);
  assert_null(c);
  snprintf(want, sizeof(want), "%s:3:1: not a cassette exchange", path);
  assert_non_null(strstr(err.message, want));
  snprintf(path, sizeof(path), "%s/none.cassette", dir);
  assert_int_equal(cassette_load(path, NULL, &c, &err), INTEG_ECONFIG);
  assert_non_null(strstr(err.message, "cannot read cassette"));
}

static void out_of_memory_while_recording_stops_it(void **state)
{
  struct integ_error err = {0, ""};
  struct cassette *c = NULL;
  char path[64], *text;
  json_t *rq = json_object(), *rs = json_array();

  (void)state;
  snprintf(path, sizeof(path), "%s/stop.cassette", dir);
  assert_int_equal(cassette_create(path, NULL, &c, &err), 0);
  /* NULL headers: the caller ran out of memory building them. */
  cassette_append(c, "GET", "http://h/", NULL, "", 0, 200, rs, "{}", 2);
  cassette_append(c, "GET", "http://h/", rq, "", 0, 200, rs, "{}", 2);
  cassette_free(c);
  text = slurp(path);
  assert_string_equal(text, "");
  free(text);
  json_decref(rq);
  json_decref(rs);
}

static int no_sleep(void *arg, int64_t ms)
{
  (void)arg;
  (void)ms;
  return 0;
}

static void http_replays_a_cassette_in_order_offline(void **state)
{
  struct integ_error err = {0, ""};
  struct http_response *resp = NULL;
  struct http_client *hc = NULL;
  struct http_request *req;
  struct http_config cfg;
  struct http_stats st;
  char path[64];

  (void)state;
  snprintf(path, sizeof(path), "%s/replay.cassette", dir);
  spit(path, "{\"request\":{\"method\":\"GET\",\"url\":\"http://127.0.0.1:9/p?"
             "token=REDACTED\",\"body\":\"\"},\"response\":{\"status\":200,"
             "\"headers\":[[\"X-N\",\"1\"]],\"body\":\"{\\\"n\\\":1}\"}}\n"
             "{\"request\":{\"method\":\"GET\",\"url\":\"http://127.0.0.1:9/p?"
             "token=REDACTED\",\"body\":\"\"},\"response\":{\"status\":404,"
             "\"headers\":[],\"body\":\"{\\\"message\\\":\\\"gone\\\"}\"}}\n");
  http_config_init(&cfg);
  cfg.replay_file = path;
  cfg.sleep_ms = no_sleep;
  assert_int_equal(http_client_new(&cfg, &hc, &err), 0);
  req = http_request_new("GET", "http://127.0.0.1:9/p", HTTP_REQ_EXPECT_JSON);
  assert_int_equal(http_request_query(req, "token", "live-secret"), 0);
  assert_int_equal(http_do(hc, req, &resp, &err), 0);
  assert_int_equal(resp->status, 200);
  assert_string_equal(http_response_header(resp, "x-n"), "1");
  assert_int_equal(json_integer_value(json_object_get(resp->json, "n")), 1);
  http_response_free(resp);
  /* The second answer to the same request, then none. */
  assert_int_equal(http_do(hc, req, &resp, &err), INTEG_EHTTP);
  assert_int_equal(resp->status, 404);
  assert_non_null(strstr(err.message, "HTTP 404 (not_found): gone"));
  http_response_free(resp);
  assert_int_equal(http_do(hc, req, &resp, &err), INTEG_EHTTP);
  assert_non_null(strstr(err.message, "no exchange in the cassette matches"));
  assert_non_null(strstr(err.message, "token=REDACTED"));
  http_response_free(resp);
  http_client_stats(hc, &st);
  assert_true(st.requests >= 3);
  http_request_free(req);
  http_client_free(hc);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(recording_redacts_and_scrubs_every_secret, setup),
      cmocka_unit_test_setup(replay_matches_what_was_recorded_once, setup),
      cmocka_unit_test_setup(a_bad_line_is_named_by_file_and_line, setup),
      cmocka_unit_test_setup(out_of_memory_while_recording_stops_it, setup),
      cmocka_unit_test_setup(http_replays_a_cassette_in_order_offline, setup),
  };
  char cmd[64];
  int rc;

  if (!mkdtemp(dir))
    return 1;
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  secrets_clear();
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  if (system(cmd) != 0)
    rc = rc ? rc : 1;
  return rc;
}
