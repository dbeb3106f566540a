/* http.c - the HTTP service the host lends to plugins (libcurl). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "auth.h"
#include "breaker.h"
#include "cassette.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "ratelimit.h"
#include "secrets.h"

/* Per upstream (scheme://host:port): its bucket and its breaker. */
struct upstream {
  char *key;
  struct bucket bucket;
  struct breaker breaker;
  int64_t not_before_ms; /* the server said its quota is spent till then */
  struct upstream *next;
};

struct http_client {
  const struct http_config *cfg;
  CURL *easy;
  struct upstream *upstreams;
  struct cassette *record;
  struct cassette *replay;
  uint64_t rng;
  struct http_stats stats;
  int share_failed; /* stop sharing buckets after a failure */
  char user_agent[64];
  struct auth *auth; /* borrowed: cfg->auth, or what a plugin declared */
};

struct kv {
  char *name;
  char *value; /* NULL: remove the header */
};

struct http_request {
  char *method;
  char *url;
  unsigned flags;
  struct kv *query;
  size_t n_query;
  struct kv *headers;
  size_t n_headers;
  struct buf body;
  char *content_type;
  int form; /* body is form fields */

  /* Reads a 2xx body in place of json_loadb (http_request_set_check). */
  http_body_fn check;
  void *check_arg;
};

/* ------------------------------------------------------------ config */

void http_config_init(struct http_config *c)
{
  static const struct http_limits limits = HTTP_LIMITS_DEFAULT;
  static const struct retry_policy retry = RETRY_POLICY_DEFAULT;

  memset(c, 0, sizeof(*c));
  c->limits = limits;
  c->retry = retry;
  c->rate_burst = 1;
  c->breaker_threshold = 5;
  c->breaker_cooldown_ms = 30000;
}

static int default_sleep(void *arg, int64_t ms)
{
  struct timespec ts;

  (void)arg;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) == -1)
    if (errno != EINTR)
      return -1;
  return 0;
}

/* Sleep in short slices so a stop flag set by a signal ends the wait. */
static int stoppable_sleep(const volatile sig_atomic_t *stop, int64_t ms)
{
  while (ms > 0 && !*stop) {
    int64_t slice = ms < 100 ? ms : 100;

    if (default_sleep(NULL, slice))
      return -1;
    ms -= slice;
  }
  return *stop ? 1 : 0;
}

/* curl's progress callback: a non-zero return aborts the transfer. */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un)
{
  (void)dt, (void)dn, (void)ut, (void)un;
  return *((struct http_client *)arg)->cfg->stop != 0;
}

int http_client_new(const struct http_config *cfg, struct http_client **out,
                    struct integ_error *err)
{
  struct http_client *c;
  int rc;

  *out = NULL;
  if (curl_global_init(CURL_GLOBAL_DEFAULT))
    return error_set(err, INTEG_EHTTP, "libcurl failed to initialise");
  c = calloc(1, sizeof(*c));
  if (!c)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  c->cfg = cfg;
  c->auth = cfg->auth;
  c->rng = (uint64_t)clock_now_ms(NULL) ^ ((uint64_t)(uintptr_t)c << 16);
  snprintf(c->user_agent, sizeof(c->user_agent), "integ/%s", PACKAGE_VERSION);
  if (cfg->replay_file) {
    rc = cassette_load(cfg->replay_file, cfg->secret_params, &c->replay, err);
    if (rc)
      goto out;
  } else {
    c->easy = curl_easy_init();
    if (!c->easy) {
      rc = error_set(err, INTEG_EHTTP, "libcurl: cannot make a handle");
      goto out;
    }
  }
  if (cfg->record_file) {
    rc =
        cassette_create(cfg->record_file, cfg->secret_params, &c->record, err);
    if (rc)
      goto out;
  }
  *out = c;
  c = NULL;
  rc = 0;
out:
  http_client_free(c);
  return rc;
}

void http_client_set_auth(struct http_client *c, struct auth *a)
{
  c->auth = a;
}

void http_client_free(struct http_client *c)
{
  struct upstream *u, *next;

  if (!c)
    return;
  for (u = c->upstreams; u; u = next) {
    next = u->next;
    free(u->key);
    free(u);
  }
  if (c->easy)
    curl_easy_cleanup(c->easy);
  cassette_free(c->record);
  cassette_free(c->replay);
  free(c);
}

void http_client_stats(const struct http_client *c, struct http_stats *s)
{
  *s = c->stats;
}

/* ----------------------------------------------------------- request */

static void kv_free(struct kv *v, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(v[i].name);
    free(v[i].value);
  }
  free(v);
}

static int kv_add(struct kv **v, size_t *n, const char *name,
                  const char *value)
{
  struct kv *grown = realloc(*v, (*n + 1) * sizeof(**v));

  if (!grown)
    return INTEG_ENOMEM;
  *v = grown;
  grown[*n].name = strdup(name);
  grown[*n].value = value ? strdup(value) : NULL;
  if (!grown[*n].name || (value && !grown[*n].value)) {
    free(grown[*n].name);
    free(grown[*n].value);
    return INTEG_ENOMEM;
  }
  (*n)++;
  return 0;
}

struct http_request *http_request_new(const char *method, const char *url,
                                      unsigned flags)
{
  struct http_request *r = calloc(1, sizeof(*r));

  if (!r)
    return NULL;
  r->method = strdup(method);
  r->url = strdup(url);
  r->flags = flags;
  if (!r->method || !r->url) {
    http_request_free(r);
    return NULL;
  }
  for (char *m = r->method; *m; m++)
    *m = (char)toupper((unsigned char)*m);
  return r;
}

void http_request_free(struct http_request *r)
{
  if (!r)
    return;
  free(r->method);
  free(r->url);
  kv_free(r->query, r->n_query);
  kv_free(r->headers, r->n_headers);
  buf_free(&r->body);
  free(r->content_type);
  free(r);
}

unsigned http_request_flags(const struct http_request *r)
{
  return r->flags;
}

void http_request_set_flags(struct http_request *r, unsigned flags)
{
  r->flags = flags;
}

void http_request_set_check(struct http_request *r, http_body_fn check,
                            void *arg)
{
  r->check = check;
  r->check_arg = arg;
}

int http_request_query(struct http_request *r, const char *name,
                       const char *value)
{
  return kv_add(&r->query, &r->n_query, name, value ? value : "");
}

int http_request_header(struct http_request *r, const char *name,
                        const char *value)
{
  /* What goes out in a secret header is a secret from now on: a
   * provider echoing it back is scrubbed (secrets.h). */
  if (value && secrets_header_is_secret(name) && secrets_add_credential(value))
    return INTEG_ENOMEM;
  return kv_add(&r->headers, &r->n_headers, name, value);
}

static int set_type(struct http_request *r, const char *type)
{
  char *t = strdup(type);

  if (!t)
    return INTEG_ENOMEM;
  free(r->content_type);
  r->content_type = t;
  return 0;
}

int http_request_body_json(struct http_request *r, json_t *body)
{
  char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
  int rc;

  if (!text)
    return INTEG_ENOMEM;
  buf_reset(&r->body);
  rc = buf_appends(&r->body, text);
  free(text);
  r->form = 0;
  return rc ? rc : set_type(r, "application/json");
}

int http_request_body_form(struct http_request *r, const char *name,
                           const char *value)
{
  char *n = curl_easy_escape(NULL, name, 0);
  char *v = curl_easy_escape(NULL, value ? value : "", 0);
  int rc = INTEG_ENOMEM;

  if (n && v && !(r->form == 0 && r->body.len && (buf_reset(&r->body), 0)))
    rc = buf_printf(&r->body, "%s%s=%s", r->body.len ? "&" : "", n, v);
  curl_free(n);
  curl_free(v);
  r->form = 1;
  return rc ? rc : set_type(r, "application/x-www-form-urlencoded");
}

int http_request_body_raw(struct http_request *r, const char *type,
                          const void *data, size_t len)
{
  buf_reset(&r->body);
  r->form = 0;
  if (buf_append(&r->body, data, len))
    return INTEG_ENOMEM;
  return set_type(r, type);
}

/* The URL with the query parameters appended, percent-encoded as RFC
 * 3986 says (%20, upper-case hex; curl_url's CURLU_URLENCODE would write
 * '+' and lower case), checked by libcurl's URL parser. *url is new. */
static int full_url(const struct http_request *r, char **url,
                    struct integ_error *err)
{
  const char *hash = strchr(r->url, '#');
  size_t base = hash ? (size_t)(hash - r->url) : strlen(r->url);
  struct buf out = BUF_INIT;
  CURLU *u = NULL;
  CURLUcode uc;
  int sep = memchr(r->url, '?', base) ? '&' : '?';
  int rc;

  *url = NULL;
  rc = buf_append(&out, r->url, base);
  for (size_t i = 0; i < r->n_query && !rc; i++) {
    char *n = curl_easy_escape(NULL, r->query[i].name, 0);
    char *v = curl_easy_escape(NULL, r->query[i].value, 0);

    rc = !n || !v ? INTEG_ENOMEM : buf_printf(&out, "%c%s=%s", sep, n, v);
    curl_free(n);
    curl_free(v);
    sep = '&';
  }
  if (!rc && !(u = curl_url()))
    rc = INTEG_ENOMEM;
  if (rc) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  uc = curl_url_set(u, CURLUPART_URL, out.data, 0);
  if (uc) {
    char *safe = secrets_redact_url(r->url, NULL);

    rc = error_set(err, INTEG_EINVAL, "bad URL '%s': %s (check the URL)",
                   safe ? safe : "?", curl_url_strerror(uc));
    free(safe);
    goto out;
  }
  *url = out.data;
  out.data = NULL;
out:
  curl_url_cleanup(u);
  buf_free(&out);
  return rc;
}

/* "scheme://host:port" for the bucket and the breaker: the origin, as
 * the credentials' (host lower-case, default port filled in). */
static char *upstream_key(const char *url)
{
  return auth_origin(url);
}

static struct upstream *upstream_get(struct http_client *c, const char *key)
{
  struct upstream *u;

  for (u = c->upstreams; u; u = u->next)
    if (strcmp(u->key, key) == 0)
      return u;
  u = calloc(1, sizeof(*u));
  if (!u || !(u->key = strdup(key))) {
    free(u);
    return NULL;
  }
  u->bucket.per_second = c->cfg->rate_per_second;
  u->bucket.burst = c->cfg->rate_burst >= 1 ? c->cfg->rate_burst : 1;
  u->breaker.threshold = c->cfg->breaker_threshold;
  u->breaker.cooldown_ms = c->cfg->breaker_cooldown_ms;
  u->next = c->upstreams;
  c->upstreams = u;
  return u;
}

/* ---------------------------------------------------------- response */

const char *http_response_header(const struct http_response *r,
                                 const char *name)
{
  for (size_t i = r->n_headers; i-- > 0;)
    if (strcasecmp(r->headers[i].name, name) == 0)
      return r->headers[i].value;
  return NULL;
}

/* Did json_loadb fail for want of memory rather than for the text?
 * jansson 2.14 says so with json_error_out_of_memory only sometimes;
 * where an allocation fails it otherwise leaves the error's text empty,
 * which a syntax error never does. */
static int jansson_oom(const json_error_t *e)
{
  return json_error_code(e) == json_error_out_of_memory || !e->text[0];
}

json_t *http_response_json(struct http_response *r, struct integ_error *err)
{
  json_error_t jerr;

  if (r->json)
    return r->json;
  r->json = json_loadb(r->body.data ? r->body.data : "", r->body.len,
                       JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
  if (!r->json && jansson_oom(&jerr))
    error_set(err, INTEG_ENOMEM, "%s: out of memory reading the response",
              r->url ? r->url : "?");
  else if (!r->json)
    error_set(err, INTEG_EHTTP,
              "%s: HTTP %ld: the body is not valid JSON at byte %d: %s",
              r->url ? r->url : "?", r->status, jerr.position, jerr.text);
  return r->json;
}

static void headers_free(struct http_response *r)
{
  for (size_t i = 0; i < r->n_headers; i++) {
    free(r->headers[i].name);
    free(r->headers[i].value);
  }
  free(r->headers);
  r->headers = NULL;
  r->n_headers = 0;
}

void http_response_free(struct http_response *r)
{
  if (!r)
    return;
  headers_free(r);
  buf_free(&r->body);
  json_decref(r->json);
  free(r->url);
  free(r->provider_code);
  free(r->provider_message);
  free(r->request_id);
  free(r->detail);
  free(r);
}

static int response_add_header(struct http_response *r, const char *name,
                               size_t nlen, const char *value, size_t vlen)
{
  struct http_header *grown;

  while (vlen && isspace((unsigned char)value[vlen - 1]))
    vlen--;
  while (vlen && isspace((unsigned char)*value)) {
    value++;
    vlen--;
  }
  grown = realloc(r->headers, (r->n_headers + 1) * sizeof(*grown));
  if (!grown)
    return -1;
  r->headers = grown;
  grown[r->n_headers].name = strndup(name, nlen);
  grown[r->n_headers].value = strndup(value, vlen);
  if (!grown[r->n_headers].name || !grown[r->n_headers].value) {
    free(grown[r->n_headers].name);
    free(grown[r->n_headers].value);
    return -1;
  }
  r->n_headers++;
  return 0;
}

/* Per attempt: what libcurl's callbacks write into. */
struct transfer {
  struct http_response *resp;
  size_t max_body;
  int too_large;
  int oom;
};

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
  struct transfer *t = arg;
  size_t len = size * n;
  const char *colon;

  /* A new status line (a redirect, or 100 Continue) starts over. */
  if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
    headers_free(t->resp);
    return len;
  }
  colon = memchr(data, ':', len);
  if (colon &&
      response_add_header(t->resp, data, (size_t)(colon - data), colon + 1,
                          len - (size_t)(colon + 1 - data))) {
    t->oom = 1;
    return 0;
  }
  return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
  struct transfer *t = arg;
  size_t len = size * n;

  /* libcurl 7.88's CURLOPT_MAXFILESIZE only checks Content-Length: count
   * the decoded bytes here, so chunked and compressed bodies are bounded
   * too. */
  if (t->resp->body.len + len > t->max_body) {
    t->too_large = 1;
    return 0;
  }
  /* Room for the whole body at once when its length is known, rather
   * than doubling up to it and copying it each time. Only a hint: a
   * compressed body decodes longer, and if the room cannot be had the
   * body grows as it comes. */
  if (!t->resp->body.len) {
    const char *cl = http_response_header(t->resp, "Content-Length");
    unsigned long long want = cl ? strtoull(cl, NULL, 10) : 0;

    if (want > len && want <= t->max_body)
      (void)buf_reserve_exact(&t->resp->body, (size_t)want);
  }
  if (buf_append(&t->resp->body, data, len)) {
    t->oom = 1;
    return 0;
  }
  return len;
}

/* Pull the provider's own code and message out of a JSON error body in the
 * common shapes: {"error": "x", "error_description": "..."}, {"error":
 * {"code", "message"}}, {"message", "code"}, {"errors": [{"message"}]}. */
static void provider_details(struct http_response *r)
{
  json_error_t jerr;
  json_t *doc, *e, *msg = NULL, *code = NULL;

  if (!r->body.len || r->body.len > (1 << 20))
    return;
  /* Only bodies that look like JSON: skip HTML error pages quickly. */
  if (r->body.data[strspn(r->body.data, " \t\r\n")] != '{')
    return;
  doc = json_loadb(r->body.data, r->body.len, 0, &jerr);
  if (!json_is_object(doc)) {
    json_decref(doc);
    return;
  }
  e = json_object_get(doc, "error");
  if (json_is_object(e)) {
    msg = json_object_get(e, "message");
    code = json_object_get(e, "code");
    if (!code)
      code = json_object_get(e, "type");
  } else if (json_is_string(e)) {
    code = e;
    msg = json_object_get(doc, "error_description");
  }
  if (!msg)
    msg = json_object_get(doc, "message");
  if (!code)
    code = json_object_get(doc, "code");
  e = json_object_get(doc, "errors");
  if (json_is_array(e) && json_is_object(json_array_get(e, 0))) {
    if (!msg)
      msg = json_object_get(json_array_get(e, 0), "message");
    if (!code)
      code = json_object_get(json_array_get(e, 0), "code");
  }
  if (json_is_string(msg))
    r->provider_message = strdup(json_string_value(msg));
  if (json_is_string(code))
    r->provider_code = strdup(json_string_value(code));
  else if (json_is_integer(code) && (r->provider_code = malloc(24)) != NULL)
    snprintf(r->provider_code, 24, "%" JSON_INTEGER_FORMAT,
             json_integer_value(code));
  json_decref(doc);
}

static void find_request_id(struct http_response *r)
{
  static const char *const names[] = {
      "X-Request-Id",        "X-Amzn-RequestId", "Request-Id",
      "X-GitHub-Request-Id", "X-Correlation-Id", "CF-Ray"};

  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    const char *v = http_response_header(r, names[i]);

    if (v && *v) {
      r->request_id = strdup(v);
      return;
    }
  }
}

void http_response_error(const struct http_response *r, const char *method,
                         struct integ_error *err)
{
  struct buf line = BUF_INIT;
  int rc;

  rc = buf_printf(&line, "%s %s: ", method, r->url ? r->url : "?");
  if (!rc && r->status)
    rc = buf_printf(&line, "HTTP %ld (%s)", r->status,
                    http_category_name(r->category));
  else if (!rc)
    rc = buf_printf(&line, "%s", http_category_name(r->category));
  if (!rc && r->detail)
    rc = buf_printf(&line, ": %.300s", r->detail);
  if (!rc && r->provider_message)
    rc = buf_printf(&line, ": %.200s", r->provider_message);
  if (!rc && r->provider_code)
    rc = buf_printf(&line, " [code %.80s]", r->provider_code);
  if (!rc && r->request_id)
    rc = buf_printf(&line, " (request id %.100s)", r->request_id);
  if (!rc && r->attempts > 1)
    rc = buf_printf(&line, " after %u attempts", r->attempts);
  if (!rc && r->retry_after_ms >= 0)
    rc = buf_printf(&line, "; the server asks to wait %lld s",
                    (long long)((r->retry_after_ms + 999) / 1000));
  if (rc)
    error_set(err, INTEG_EHTTP,
              "%s %s: HTTP %ld (%s) (out of memory saying "
              "more)",
              method, r->url ? r->url : "?", r->status,
              http_category_name(r->category));
  else
    error_set(err, INTEG_EHTTP, "%s", line.data);
  buf_free(&line);
}

/* ---------------------------------------------------------- transfer */

/* Append one header line to *list. Returns 0 or INTEG_ENOMEM (then *list
 * is unchanged). */
static int add_header(struct curl_slist **list, const char *line)
{
  struct curl_slist *next = curl_slist_append(*list, line);

  if (!next)
    return INTEG_ENOMEM;
  *list = next;
  return 0;
}

/* The request's header lines for libcurl (free with curl_slist_free_all).
 * Every line or none: a request never goes out without one of its
 * headers (its Authorization). Returns 0 or INTEG_ENOMEM. */
static int build_headers(const struct http_request *req, const char *ua,
                         struct curl_slist **out)
{
  struct curl_slist *list = NULL;
  struct buf h = BUF_INIT;
  int have_ua = 0, rc = 0;

  *out = NULL;
  for (size_t i = 0; i < req->n_headers; i++)
    if (strcasecmp(req->headers[i].name, "User-Agent") == 0)
      have_ua = 1;
  if (req->content_type) {
    rc = buf_printf(&h, "Content-Type: %s", req->content_type);
    if (!rc)
      rc = add_header(&list, h.data);
  }
  /* Never "Expect: 100-continue": one round trip less per POST. */
  if (!rc)
    rc = add_header(&list, "Expect:");
  if (!rc && !have_ua) {
    buf_reset(&h);
    rc = buf_printf(&h, "User-Agent: %s", ua);
    if (!rc)
      rc = add_header(&list, h.data);
  }
  for (size_t i = 0; i < req->n_headers && !rc; i++) {
    const struct kv *kv = &req->headers[i];

    buf_reset(&h);
    if (kv->value && *kv->value)
      rc = buf_printf(&h, "%s: %s", kv->name, kv->value);
    else if (kv->value)
      rc = buf_printf(&h, "%s;", kv->name);
    else
      rc = buf_printf(&h, "%s:", kv->name);
    if (!rc)
      rc = add_header(&list, h.data);
  }
  buf_free(&h);
  if (rc) {
    curl_slist_free_all(list);
    return INTEG_ENOMEM;
  }
  *out = list;
  return 0;
}

static enum http_category category_of_curl(CURLcode cc)
{
  switch (cc) {
  case CURLE_OPERATION_TIMEDOUT:
    return HTTP_TIMEOUT;
  case CURLE_PARTIAL_FILE:
  case CURLE_GOT_NOTHING:
  case CURLE_BAD_CONTENT_ENCODING:
  case CURLE_WEIRD_SERVER_REPLY:
    return HTTP_INVALID_RESPONSE;
  default:
    return HTTP_TRANSPORT;
  }
}

/* Transport failures after which the request may be sent again. */
static int curl_is_retryable(CURLcode cc)
{
  switch (cc) {
  case CURLE_COULDNT_CONNECT:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_PARTIAL_FILE:
  case CURLE_GOT_NOTHING:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_SSL_CONNECT_ERROR:
    return 1;
  default:
    return 0;
  }
}

/* One attempt over the network. Fills resp; returns the CURLcode and the
 * transport message in errbuf. */
static CURLcode perform(struct http_client *c, const struct http_request *req,
                        const char *url, struct http_response *resp,
                        char *errbuf)
{
  const struct http_limits *lim = &c->cfg->limits;
  struct transfer t = {resp, lim->max_body, 0, 0};
  struct curl_slist *headers = NULL;
  CURL *h = c->easy;
  CURLcode cc;
  long status = 0, connects = 0;

  const char *method = req->method;
  char *hop_url = NULL, *authed = NULL;
  long hops = 0;

again:
  if (build_headers(req, c->user_agent, &headers) ||
      auth_apply(c->auth, url, &headers, &authed)) {
    curl_slist_free_all(headers);
    free(hop_url);
    return CURLE_OUT_OF_MEMORY;
  }
  /* Reset keeps the connection cache: one TCP connection for the run. */
  curl_easy_reset(h);
  curl_easy_setopt(h, CURLOPT_URL, authed ? authed : url);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  /* With credentials, each hop is sent here, so that a hop to another
   * origin goes without them (libcurl keeps custom headers). */
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, c->auth ? 0L : 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, lim->max_redirects);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, lim->connect_timeout_ms);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, lim->timeout_ms);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, lim->low_speed_time_s);
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)lim->max_body);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  /* TLS verification stays on: there is deliberately no way to turn it
   * off. A CA file may be named. */
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (lim->ca_file)
    curl_easy_setopt(h, CURLOPT_CAINFO, lim->ca_file);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  if (c->cfg->stop) {
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
  }
  if (strcmp(method, "GET") == 0) {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (strcmp(method, "HEAD") == 0) {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (req->body.len || strcmp(req->method, "POST") == 0) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS,
                       req->body.data ? req->body.data : "");
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                       (curl_off_t)req->body.len);
    }
  }
  errbuf[0] = '\0';
  cc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
  c->stats.connects += (uint64_t)connects;
  resp->status = status;
  curl_slist_free_all(headers);
  headers = NULL;
  free(authed);
  authed = NULL;
  if (cc == CURLE_OK && c->auth && status >= 300 && status < 400 &&
      status != 304 && !t.too_large && !t.oom) {
    char *next = NULL;

    curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &next);
    if (next && hops++ >= lim->max_redirects) {
      snprintf(errbuf, CURL_ERROR_SIZE, "Maximum (%ld) redirects followed",
               lim->max_redirects);
      free(hop_url);
      return CURLE_TOO_MANY_REDIRECTS;
    }
    if (next && !(next = strdup(next))) {
      free(hop_url);
      return CURLE_OUT_OF_MEMORY;
    }
    if (next) {
      free(hop_url);
      url = hop_url = next;
      /* As browsers and libcurl do: 303, and 301/302 after a POST, go
       * on as GET. */
      if (status == 303 ||
          ((status == 301 || status == 302) && strcmp(method, "POST") == 0))
        method = "GET";
      headers_free(resp);
      buf_reset(&resp->body);
      goto again;
    }
  }
  free(hop_url);
  if (t.too_large)
    return CURLE_FILESIZE_EXCEEDED;
  if (t.oom)
    return CURLE_OUT_OF_MEMORY;
  return cc;
}

/* One attempt from the cassette. */
static CURLcode replay(struct http_client *c, const struct http_request *req,
                       const char *url, struct http_response *resp,
                       char *errbuf)
{
  json_t *headers, *v;
  const char *body;
  size_t i, len;

  v = cassette_match(c->replay, req->method, url, req->body.data,
                     req->body.len);
  if (!v) {
    snprintf(errbuf, CURL_ERROR_SIZE,
             "no exchange in the cassette matches this request (method, "
             "URL and body): record it again with --record");
    return CURLE_COULDNT_CONNECT;
  }
  resp->status = (long)json_integer_value(json_object_get(v, "status"));
  headers = json_object_get(v, "headers");
  json_array_foreach(headers, i, v)
  {
    const char *n = json_string_value(json_array_get(v, 0));
    const char *val = json_string_value(json_array_get(v, 1));

    if (n && val && response_add_header(resp, n, strlen(n), val, strlen(val)))
      return CURLE_OUT_OF_MEMORY;
  }
  body = cassette_body(c->replay, &len);
  if (len > c->cfg->limits.max_body)
    return CURLE_FILESIZE_EXCEEDED;
  if (buf_append(&resp->body, body, len))
    return CURLE_OUT_OF_MEMORY;
  return CURLE_OK;
}

/* Write the exchange to the cassette, request headers redacted. */
static void record(struct http_client *c, const struct http_request *req,
                   const char *url, const struct http_response *resp)
{
  json_t *rq = json_object(), *rs = json_array();
  int bad = !rq || !rs;

  for (size_t i = 0; !bad && i < req->n_headers; i++)
    if (req->headers[i].value)
      bad = json_object_set_new(rq, req->headers[i].name,
                                json_string(req->headers[i].value));
  for (size_t i = 0; !bad && i < resp->n_headers; i++)
    bad = json_array_append_new(rs, json_pack("[s, s]", resp->headers[i].name,
                                              resp->headers[i].value));
  /* NULL headers tell the cassette that memory ran out: it stops. */
  cassette_append(c->record, req->method, url, bad ? NULL : rq, req->body.data,
                  req->body.len, resp->status, bad ? NULL : rs,
                  resp->body.data, resp->body.len);
  json_decref(rq);
  json_decref(rs);
}

/* Take a token from the upstream's bucket (block_ms < 0), or empty it
 * until now + block_ms (the server said its quota is spent), in the bucket
 * shared with other processes when the config says where (ratelimit.h).
 * If sharing fails, the bucket is this process's own from then on.
 * Returns the wait before sending. */
static int64_t bucket_shared(struct http_client *c, struct upstream *up,
                             int64_t now, int64_t block_ms)
{
  const struct bucket_share *sh = c->share_failed ? NULL : &c->cfg->share;
  struct integ_error err = {0, ""};
  struct buf key = BUF_INIT;
  int64_t wait = 0;
  int rc;

  if (sh && sh->update && buf_printf(&key, "http:%s", up->key)) {
    error_set(&err, INTEG_ENOMEM, "out of memory");
    sh = NULL;
    c->share_failed = 1;
  }
  if (block_ms < 0)
    rc = bucket_take_shared(&up->bucket, sh, key.data, now, &wait, &err);
  else
    rc = bucket_block_shared(&up->bucket, sh, key.data, now, block_ms, &err);
  if (rc || err.code) {
    log_msg(INTEG_LOG_WARN, c->cfg->tag,
            "rate limit for %s kept in this process only: %s", up->key,
            err.message);
    c->share_failed = 1;
  }
  buf_free(&key);
  return wait;
}

static const char *resp_header_fn(void *arg, const char *name)
{
  return http_response_header(arg, name);
}

static void response_reset(struct http_response *r)
{
  headers_free(r);
  buf_reset(&r->body);
  json_decref(r->json);
  r->json = NULL;
  free(r->provider_code);
  free(r->provider_message);
  free(r->request_id);
  free(r->detail);
  r->provider_code = r->provider_message = r->request_id = r->detail = NULL;
  r->status = 0;
  r->category = HTTP_OK;
  r->retryable = 0;
  r->retry_after_ms = -1;
}

/* A failed response may echo what it was sent (the token, in the body or
 * a header): scrub it before the plugin, the log or an error sees it.
 * A successful body is data and is left alone (a token endpoint's answer
 * must reach the auth layer whole). Returns 0 or INTEG_ENOMEM. */
static int response_scrub(struct http_response *r)
{
  char *clean;
  size_t len;

  for (size_t i = 0; i < r->n_headers; i++) {
    if (!secrets_found(r->headers[i].value, strlen(r->headers[i].value)))
      continue;
    if (!(clean = secrets_scrub(r->headers[i].value)))
      return INTEG_ENOMEM;
    free(r->headers[i].value);
    r->headers[i].value = clean;
  }
  if (!r->body.len || !secrets_found(r->body.data, r->body.len))
    return 0;
  clean = secrets_scrubn(r->body.data, r->body.len, &len);
  if (!clean)
    return INTEG_ENOMEM;
  buf_free(&r->body);
  r->body.data = clean;
  r->body.len = len;
  r->body.cap = len + 1;
  json_decref(r->json);
  r->json = NULL;
  return 0;
}

static int wait_ms(struct http_client *c, int64_t ms, const char *why)
{
  if (ms <= 0)
    return 0;
  if (ms >= 3000)
    log_msg(INTEG_LOG_INFO, c->cfg->tag, "waiting %.1f s: %s",
            (double)ms / 1000.0, why);
  if (c->cfg->stop && *c->cfg->stop)
    return 1;
  if (c->cfg->sleep_ms)
    return c->cfg->sleep_ms(c->cfg->sleep_arg, ms);
  if (c->cfg->stop)
    return stoppable_sleep(c->cfg->stop, ms);
  return default_sleep(NULL, ms);
}

int http_do(struct http_client *c, const struct http_request *req,
            struct http_response **out, struct integ_error *err)
{
  const struct retry_policy *pol = &c->cfg->retry;
  struct http_response *resp = NULL;
  struct upstream *up;
  char *url = NULL, *key = NULL;
  char errbuf[CURL_ERROR_SIZE];
  int64_t start = clock_now_ms(NULL);
  int idempotent = retry_method_is_idempotent(req->method) ||
                   (req->flags & HTTP_REQ_POST_SAFE);
  int reauth = 0, again_now = 0;
  int rc;

  *out = NULL;
  rc = auth_prepare(c->auth, 0, NULL, err);
  if (rc)
    return rc;
  rc = full_url(req, &url, err);
  if (rc)
    goto out;
  key = upstream_key(url);
  up = key ? upstream_get(c, key) : NULL;
  resp = calloc(1, sizeof(*resp));
  if (resp)
    resp->url = secrets_redact_url(url, c->cfg->secret_params);
  if (!up || !resp || !resp->url) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  resp->retry_after_ms = -1;
  rc = INTEG_EHTTP;

  for (;;) {
    int64_t now = clock_now_ms(NULL), wait, server_wait = -1;
    CURLcode cc;
    int transport_ok, retry;
    const char *ra;

    if (!c->replay && !breaker_allow(&up->breaker, now)) {
      int64_t in = (breaker_retry_in(&up->breaker, now) + 999) / 1000;

      if (resp->attempts) {
        /* Our own failures opened it: report the real cause. */
        struct integ_error last;

        http_response_error(resp, req->method, &last);
        error_set(err, INTEG_EHTTP, "%s; the circuit for %s is now open",
                  last.message, up->key);
        goto out;
      }
      resp->category = HTTP_CIRCUIT_OPEN;
      http_response_error(resp, req->method, err);
      error_prefix(err,
                   "circuit open for %s after repeated failures (next "
                   "try in %lld s)",
                   up->key, (long long)in);
      goto out;
    }
    response_reset(resp);
    errbuf[0] = '\0';
    /* The admin's own rate limit paces: its wait is never bounded. What
     * a server asked for (its quota is spent until not_before) is bounded
     * by retry.max, as Retry-After is. */
    wait = c->replay ? 0 : bucket_shared(c, up, now, -1);
    server_wait = c->replay ? 0 : up->not_before_ms - now;
    if (server_wait > pol->max_ms) {
      resp->category = HTTP_RATE_LIMITED;
      http_response_error(resp, req->method, err);
      error_prefix(err,
                   "the server's quota for %s needs a %lld s wait, more "
                   "than retry.max (%lld s)",
                   up->key, (long long)server_wait / 1000,
                   (long long)pol->max_ms / 1000);
      breaker_success(&up->breaker); /* nothing was tried */
      goto out;
    }
    if (server_wait > wait)
      wait = server_wait;
    if (wait > 0)
      c->stats.rate_waits++;
    if (wait_ms(c, wait, "rate limit") || (c->cfg->stop && *c->cfg->stop)) {
      rc = error_set(err, INTEG_EINTR, "%s %s: interrupted while waiting",
                     req->method, resp->url);
      goto out;
    }

    resp->attempts++;
    c->stats.requests++;
    cc = c->replay ? replay(c, req, url, resp, errbuf)
                   : perform(c, req, url, resp, errbuf);
    c->stats.bytes += resp->body.len;
    c->stats.by_class[resp->status >= 200 && resp->status < 600
                          ? resp->status / 100
                          : 0]++;
    if (cc == CURLE_ABORTED_BY_CALLBACK) {
      rc = error_set(err, INTEG_EINTR, "%s %s: stopped during the transfer",
                     req->method, resp->url);
      goto out;
    }
    if (c->record && cc != CURLE_COULDNT_CONNECT)
      record(c, req, url, resp);
    now = clock_now_ms(NULL);
    transport_ok = cc == CURLE_OK;
    if (cc == CURLE_OUT_OF_MEMORY) {
      rc = error_set(err, INTEG_ENOMEM, "out of memory during a transfer");
      goto out;
    }
    if (cc == CURLE_FILESIZE_EXCEEDED) {
      resp->category = HTTP_TOO_LARGE;
      http_response_error(resp, req->method, err);
      error_prefix(err, "the body is larger than http.max_body (%zu bytes)",
                   c->cfg->limits.max_body);
      breaker_success(&up->breaker);
      goto out;
    }
    if (!transport_ok) {
      resp->category = category_of_curl(cc);
      resp->retryable = curl_is_retryable(cc);
      if (cc == CURLE_TOO_MANY_REDIRECTS)
        resp->category = HTTP_CLIENT;
      /* A refused connection provably did nothing: POST may repeat. */
      retry = resp->retryable && (idempotent || cc == CURLE_COULDNT_CONNECT);
    } else {
      server_wait = -1;
      resp->category = retry_category_of_status(resp->status);
      ra = http_response_header(resp, "Retry-After");
      if (ra && retry_after_parse(ra, now, &server_wait) == 0)
        resp->retry_after_ms = server_wait;
      /* A 403 with a spent quota or a Retry-After is a rate limit. */
      if (retry_rate_limited(resp->status, resp_header_fn, resp, now,
                             &server_wait)) {
        resp->category = HTTP_RATE_LIMITED;
        if (resp->retry_after_ms < 0)
          resp->retry_after_ms = server_wait;
      }
      if (retry_quota_wait(resp_header_fn, resp, now, &wait)) {
        /* Quota spent: every request to this upstream waits for the
         * reset, through the bucket that other processes share too. */
        bucket_shared(c, up, now, wait);
        if (now + wait > up->not_before_ms)
          up->not_before_ms = now + wait;
        if (resp->status == 429 && resp->retry_after_ms < 0)
          resp->retry_after_ms = wait;
      }
      if (resp->category == HTTP_OK) {
        json_error_t jerr;
        int again = 0, crc = 0;

        if (req->check)
          crc = req->check(req->check_arg,
                           resp->body.data ? resp->body.data : "",
                           resp->body.len, &again, errbuf, sizeof(errbuf));
        if (req->check && crc == 0) {
          breaker_success(&up->breaker);
          rc = 0;
          goto out;
        }
        if (crc < 0) {
          /* errbuf says why; a body cut short may come whole next time,
           * a bad byte inside it will not change. */
          resp->category = HTTP_INVALID_RESPONSE;
          resp->retryable = again;
        } else if (!(req->flags & HTTP_REQ_EXPECT_JSON)) {
          breaker_success(&up->breaker);
          rc = 0;
          goto out;
        } else {
          resp->json = json_loadb(resp->body.data ? resp->body.data : "",
                                  resp->body.len,
                                  JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
          if (resp->json) {
            breaker_success(&up->breaker);
            rc = 0;
            goto out;
          }
          /* Out of memory is not a bad body: no retry, no invalid_response. */
          if (jansson_oom(&jerr)) {
            rc = error_set(err, INTEG_ENOMEM,
                           "%s: out of memory reading the response",
                           resp->url ? resp->url : "?");
            goto out;
          }
          /* A 2xx that is not JSON: often a body cut short without a
           * Content-Length. */
          resp->category = HTTP_INVALID_RESPONSE;
          resp->retryable = 1;
          snprintf(errbuf, sizeof(errbuf),
                   "the body is not valid JSON at byte %d: %s", jerr.position,
                   jerr.text);
        }
      } else {
        if (response_scrub(resp)) {
          rc = error_set(err, INTEG_ENOMEM, "out of memory");
          goto out;
        }
        provider_details(resp);
        find_request_id(resp);
        resp->retryable = retry_status_is_retryable(resp->status) ||
                          resp->category == HTTP_RATE_LIMITED;
      }
      retry = resp->retryable &&
              (idempotent || ((resp->status == 429 || resp->status == 503) &&
                              resp->retry_after_ms >= 0));
      again_now = 0;
      if (resp->status == 401) {
        int changed = 0;

        /* Refresh once and retry once, at once; a second 401 fails as
         * category auth. */
        retry = 0;
        if (c->auth && !reauth) {
          reauth = 1;
          rc = auth_prepare(c->auth, 1, &changed, err);
          if (rc)
            goto out;
          rc = INTEG_EHTTP;
          again_now = changed;
        }
      }
    }
    if (errbuf[0] && !(resp->detail = strdup(errbuf))) {
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
      goto out;
    }
    if (resp->category == HTTP_SERVER || resp->category == HTTP_TRANSPORT ||
        resp->category == HTTP_TIMEOUT ||
        resp->category == HTTP_INVALID_RESPONSE)
      breaker_failure(&up->breaker, now);
    else
      breaker_success(&up->breaker);

    if (again_now)
      continue;
    if (!retry || resp->attempts >= pol->max_attempts)
      break;
    wait = resp->retry_after_ms >= 0
               ? resp->retry_after_ms
               : retry_backoff_ms(pol, resp->attempts, &c->rng);
    if (wait > pol->max_ms) {
      char reset[32];

      resp->category = HTTP_RATE_LIMITED;
      retry_format_time(now + wait, reset, sizeof(reset));
      http_response_error(resp, req->method, err);
      error_prefix(err,
                   "giving up: the server asks to wait %lld s, more "
                   "than retry.max (%lld s); it resets at %s",
                   (long long)wait / 1000, (long long)pol->max_ms / 1000,
                   reset);
      goto out;
    }
    if (now + wait - start > pol->max_elapsed_ms)
      break;
    c->stats.retries++;
    http_response_error(resp, req->method, err);
    log_msg(wait >= 3000 ? INTEG_LOG_WARN : INTEG_LOG_DEBUG, c->cfg->tag,
            "%s; retry %u in %lld ms", err ? err->message : "", resp->attempts,
            (long long)wait);
    if (wait_ms(c, wait, "retry")) {
      rc = error_set(err, INTEG_EINTR, "%s %s: interrupted while waiting",
                     req->method, resp->url);
      goto out;
    }
  }
  http_response_error(resp, req->method, err);
out:
  free(url);
  free(key);
  if (resp && resp->status == 0 && rc == 0) {
    http_response_free(resp);
    resp = NULL;
  }
  *out = resp;
  return rc;
}
