/* test_http.c - the HTTP service (host/http.c) against a small server on
 * loopback in this process, waits seen through the sleep hook. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "http.h"
#include "secrets.h"

/* ------------------------------------------------------------ server */

/* Answers one connection per canned response, in order, then stops. Each
 * response closes its connection, so each request is one connection. */
struct server {
  int fd;
  int port;
  const char *const *responses;
  size_t n;
  char requests[8][4096]; /* what each connection sent (head only) */
  size_t served;
  pthread_t thread;
};

static void *serve(void *arg)
{
  struct server *s = arg;

  for (size_t i = 0; i < s->n && i < 8; i++) {
    int c = accept(s->fd, NULL, NULL);
    size_t len = 0;

    if (c < 0)
      break;
    while (len < sizeof(s->requests[i]) - 1 &&
           !strstr(s->requests[i], "\r\n\r\n")) {
      ssize_t r =
          read(c, s->requests[i] + len, sizeof(s->requests[i]) - 1 - len);

      if (r <= 0)
        break;
      len += (size_t)r;
      s->requests[i][len] = '\0';
    }
    if (write(c, s->responses[i], strlen(s->responses[i])) < 0)
      break;
    shutdown(c, SHUT_RDWR);
    close(c);
    s->served++;
  }
  return NULL;
}

static void server_start(struct server *s, const char *const *responses,
                         size_t n)
{
  struct sockaddr_in a;
  socklen_t alen = sizeof(a);

  memset(s, 0, sizeof(*s));
  s->responses = responses;
  s->n = n;
  s->fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(s->fd >= 0);
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(listen(s->fd, 8), 0);
  assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
  s->port = ntohs(a.sin_port);
  assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
  /* Wakes a thread still in accept (a test that sent fewer requests). */
  shutdown(s->fd, SHUT_RDWR);
  pthread_join(s->thread, NULL);
  close(s->fd);
}

#define OK_RESPONSE                                                           \
  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"                     \
  "Content-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}"

/* ------------------------------------------------------------ client */

struct sleeps {
  int64_t total;
  int64_t longest;
  unsigned n;
};

static int record_sleep(void *arg, int64_t ms)
{
  struct sleeps *sl = arg;

  sl->total += ms;
  sl->n++;
  if (ms > sl->longest)
    sl->longest = ms;
  return 0;
}

static void config(struct http_config *cfg, struct sleeps *sl)
{
  http_config_init(cfg);
  memset(sl, 0, sizeof(*sl));
  cfg->sleep_ms = record_sleep;
  cfg->sleep_arg = sl;
  cfg->retry.base_ms = 10;
  cfg->tag = "test";
  cfg->limits.timeout_ms = 5000; /* a broken test fails, never hangs */
}

static int get(struct http_client *c, const struct server *s, const char *p,
               const char *auth, struct http_response **resp,
               struct integ_error *err)
{
  char url[128];
  struct http_request *req;
  int rc;

  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, p);
  req = http_request_new("GET", url, 0);
  assert_non_null(req);
  if (auth)
    assert_int_equal(http_request_header(req, "Authorization", auth), 0);
  rc = http_do(c, req, resp, err);
  http_request_free(req);
  return rc;
}

static int setup(void **state)
{
  (void)state;
  secrets_clear();
  return 0;
}

/* ------------------------------------------------------------- tests */

static void an_echoed_token_is_scrubbed_from_response_and_error(void **state)
{
  static const char *const responses[] = {
      "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
      "X-Echo: you sent unit-token-123\r\nX-Request-Id: r-1\r\n"
      "Content-Length: 61\r\nConnection: close\r\n\r\n"
      "{\"error\":{\"code\":\"bad\",\"message\":\"token unit-token-123 "
      "bad\"}}"};
  struct integ_error err = {0, ""};
  struct http_response *resp = NULL;
  struct http_client *c = NULL;
  struct http_config cfg;
  struct sleeps sl;
  struct server s;

  (void)state;
  server_start(&s, responses, 1);
  config(&cfg, &sl);
  assert_int_equal(http_client_new(&cfg, &c, &err), 0);
  assert_int_equal(get(c, &s, "/me", "Bearer unit-token-123", &resp, &err),
                   INTEG_EHTTP);
  server_stop(&s);
  /* The header went out whole ... */
  assert_non_null(
      strstr(s.requests[0], "Authorization: Bearer unit-token-123"));
  /* ... and the provider's echo of it is nowhere. */
  assert_non_null(resp);
  assert_int_equal(resp->status, 401);
  assert_int_equal(resp->category, HTTP_AUTH);
  assert_null(memmem(resp->body.data, resp->body.len, "unit-token", 10));
  assert_string_equal(http_response_header(resp, "X-Echo"),
                      "you sent <redacted>");
  assert_string_equal(resp->provider_message, "token <redacted> bad");
  assert_non_null(resp->url);
  assert_null(strstr(err.message, "unit-token"));
  assert_non_null(strstr(err.message, "HTTP 401 (auth): token <redacted> bad "
                                      "[code bad] (request id r-1)"));
  http_response_free(resp);
  http_client_free(c);
}

static void the_own_rate_limit_paces_past_retry_max(void **state)
{
  static const char *const responses[] = {OK_RESPONSE, OK_RESPONSE};
  struct integ_error err = {0, ""};
  struct http_response *resp = NULL;
  struct http_client *c = NULL;
  struct http_config cfg;
  struct sleeps sl;
  struct server s;

  (void)state;
  server_start(&s, responses, 2);
  config(&cfg, &sl);
  cfg.rate_per_second = 0.001;
  cfg.retry.max_ms = 1000;
  assert_int_equal(http_client_new(&cfg, &c, &err), 0);
  assert_int_equal(get(c, &s, "/a", NULL, &resp, &err), 0);
  http_response_free(resp);
  assert_int_equal(sl.n, 0); /* the bucket starts full */
  assert_int_equal(get(c, &s, "/b", NULL, &resp, &err), 0);
  http_response_free(resp);
  server_stop(&s);
  assert_int_equal(s.served, 2);
  /* One request in 1000 s: the second waited its turn, unbounded. */
  assert_true(sl.longest >= 990000);
  assert_true(sl.longest <= 1000000);
  http_client_free(c);
}

static void a_server_quota_longer_than_retry_max_fails_at_once(void **state)
{
  static const char *const responses[] = {
      "HTTP/1.1 200 OK\r\nX-RateLimit-Remaining: 0\r\n"
      "X-RateLimit-Reset: 3600\r\nContent-Length: 2\r\n"
      "Connection: close\r\n\r\n{}"};
  struct integ_error err = {0, ""};
  struct http_response *resp = NULL;
  struct http_client *c = NULL;
  struct http_config cfg;
  struct sleeps sl;
  struct server s;

  (void)state;
  server_start(&s, responses, 1);
  config(&cfg, &sl);
  cfg.retry.max_ms = 60000;
  assert_int_equal(http_client_new(&cfg, &c, &err), 0);
  assert_int_equal(get(c, &s, "/q", NULL, &resp, &err), 0);
  http_response_free(resp);
  assert_int_equal(get(c, &s, "/q", NULL, &resp, &err), INTEG_EHTTP);
  server_stop(&s);
  assert_int_equal(s.served, 1); /* the second never went out */
  assert_int_equal(sl.n, 0);     /* nor slept */
  assert_int_equal(resp->category, HTTP_RATE_LIMITED);
  assert_non_null(strstr(err.message, "more than retry.max (60 s)"));
  http_response_free(resp);
  http_client_free(c);
}

static void retry_after_is_waited_through_the_sleep_hook(void **state)
{
  static const char *const responses[] = {
      "HTTP/1.1 503 Unavailable\r\nRetry-After: 2\r\nContent-Length: 0\r\n"
      "Connection: close\r\n\r\n",
      OK_RESPONSE};
  struct integ_error err = {0, ""};
  struct http_response *resp = NULL;
  struct http_client *c = NULL;
  struct http_config cfg;
  struct http_stats st;
  struct sleeps sl;
  struct server s;

  (void)state;
  server_start(&s, responses, 2);
  config(&cfg, &sl);
  assert_int_equal(http_client_new(&cfg, &c, &err), 0);
  assert_int_equal(get(c, &s, "/r", NULL, &resp, &err), 0);
  server_stop(&s);
  assert_int_equal(resp->status, 200);
  assert_int_equal(resp->attempts, 2);
  assert_int_equal(sl.n, 1);
  assert_int_equal(sl.longest, 2000);
  http_client_stats(c, &st);
  assert_int_equal(st.requests, 2);
  assert_int_equal(st.retries, 1);
  http_response_free(resp);
  http_client_free(c);
}

/* A sharer that keeps one bucket in memory and counts its updates. */
struct fake_share {
  char key[128];
  double tokens;
  int64_t last_ms;
  int exists;
  unsigned calls;
  int fail;
};

static int fake_update(void *arg, const char *key, bucket_update_fn fn,
                       void *fn_arg, struct integ_error *err)
{
  struct fake_share *f = arg;

  f->calls++;
  snprintf(f->key, sizeof(f->key), "%s", key);
  if (f->fail) {
    err->code = INTEG_EIO;
    snprintf(err->message, sizeof(err->message), "the store is gone");
    return INTEG_EIO;
  }
  return fn(&f->tokens, &f->last_ms, &f->exists, fn_arg);
}

static void buckets_are_shared_through_the_callback(void **state)
{
  static const char *const responses[] = {OK_RESPONSE, OK_RESPONSE,
                                          OK_RESPONSE};
  struct integ_error err = {0, ""};
  struct http_response *resp = NULL;
  struct http_client *c = NULL;
  struct fake_share f = {"", 0, 0, 0, 0, 0};
  struct http_config cfg;
  struct sleeps sl;
  struct server s;
  char want[64];

  (void)state;
  server_start(&s, responses, 3);
  config(&cfg, &sl);
  cfg.rate_per_second = 1000;
  cfg.share.update = fake_update;
  cfg.share.arg = &f;
  assert_int_equal(http_client_new(&cfg, &c, &err), 0);
  assert_int_equal(get(c, &s, "/1", NULL, &resp, &err), 0);
  http_response_free(resp);
  assert_int_equal(get(c, &s, "/2", NULL, &resp, &err), 0);
  http_response_free(resp);
  snprintf(want, sizeof(want), "http:http://127.0.0.1:%d", s.port);
  assert_int_equal(f.calls, 2);
  assert_string_equal(f.key, want);
  assert_int_equal(f.exists, 1);
  /* A sharer that fails: the request still goes, the bucket is this
   * process's own from then on. */
  f.fail = 1;
  assert_int_equal(get(c, &s, "/3", NULL, &resp, &err), 0);
  http_response_free(resp);
  server_stop(&s);
  assert_int_equal(f.calls, 3);
  http_client_free(c);
}

static void a_bad_url_is_einval_with_the_url_redacted(void **state)
{
  struct integ_error err = {0, ""};
  struct http_response *resp = (struct http_response *)&err;
  struct http_client *c = NULL;
  struct http_request *req;
  struct http_config cfg;
  struct sleeps sl;

  (void)state;
  config(&cfg, &sl);
  assert_int_equal(http_client_new(&cfg, &c, &err), 0);
  req = http_request_new("get", "http://u:pw@[::1/x?token=t", 0);
  assert_non_null(req);
  assert_int_equal(http_do(c, req, &resp, &err), INTEG_EINVAL);
  assert_null(resp);
  assert_non_null(strstr(err.message, "bad URL 'http://REDACTED@[::1/x?"
                                      "token=REDACTED'"));
  http_request_free(req);
  http_client_free(c);
}

static void secret_headers_become_known_secrets(void **state)
{
  struct http_request *req = http_request_new("GET", "http://h/", 0);
  char *s;

  (void)state;
  assert_int_equal(http_request_header(req, "X-Api-Key", "key-abcdef"), 0);
  assert_int_equal(http_request_header(req, "Accept", "application/json"), 0);
  s = secrets_scrub("key-abcdef application/json");
  assert_string_equal(s, "<redacted> application/json");
  free(s);
  http_request_free(req);
}

/* jansson out of memory while reading a JSON body: INTEG_ENOMEM at
 * once, not an invalid body to ask for again. */
static void *no_memory(size_t n)
{
  (void)n;
  return NULL;
}

static void out_of_memory_is_not_a_bad_body(void **state)
{
  static const char *const responses[] = {OK_RESPONSE, OK_RESPONSE};
  struct integ_error err = {0, ""};
  struct http_response *resp = NULL;
  struct http_client *c = NULL;
  struct http_request *req;
  struct http_config cfg;
  struct sleeps sl;
  struct server s;
  char url[128];
  int rc;

  (void)state;
  server_start(&s, responses, 2);
  config(&cfg, &sl);
  assert_int_equal(http_client_new(&cfg, &c, &err), 0);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/j", s.port);
  req = http_request_new("GET", url, HTTP_REQ_EXPECT_JSON);
  assert_non_null(req);
  json_set_alloc_funcs(no_memory, free);
  rc = http_do(c, req, &resp, &err);
  json_set_alloc_funcs(malloc, free);
  http_request_free(req);
  server_stop(&s);
  assert_int_equal(rc, INTEG_ENOMEM);
  assert_non_null(strstr(err.message, "out of memory"));
  assert_int_equal(s.served, 1);
  assert_int_equal(sl.n, 0);
  http_response_free(resp);
  http_client_free(c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(
          an_echoed_token_is_scrubbed_from_response_and_error, setup),
      cmocka_unit_test_setup(the_own_rate_limit_paces_past_retry_max, setup),
      cmocka_unit_test_setup(
          a_server_quota_longer_than_retry_max_fails_at_once, setup),
      cmocka_unit_test_setup(retry_after_is_waited_through_the_sleep_hook,
                             setup),
      cmocka_unit_test_setup(buckets_are_shared_through_the_callback, setup),
      cmocka_unit_test_setup(a_bad_url_is_einval_with_the_url_redacted, setup),
      cmocka_unit_test_setup(secret_headers_become_known_secrets, setup),
      cmocka_unit_test_setup(out_of_memory_is_not_a_bad_body, setup),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);

  secrets_clear();
  return rc;
}
