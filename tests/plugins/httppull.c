/* httppull.c - a test plugin that pulls a paginated collection over HTTP
 * with its own libcurl (only test plugins may; real ones use the host's
 * HTTP service), emitting every record and a state per page. It drives
 * tests/testapi_e2e.sh against the test API server. Config:
 *   {"base_url": "http://127.0.0.1:PORT", "path": "/items",
 *    "pagination": "page" | "cursor" | "next_url",   (default "page")
 *    "page_size": N, "stream": "items", "records_key": "data"}
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include <integ/plugin.h>

#define HTTPPULL_MAX_BODY (64u << 20)
#define HTTPPULL_MAX_PAGES 100000

struct httppull {
  const struct integ_host *host; /* borrowed, valid until unload */
  integ_ctx *ctx;                /* borrowed, valid until unload */
  json_t *config;                /* owned reference; strings below in it */
  const char *base_url, *path, *pagination, *stream, *records_key;
  json_int_t page_size; /* 0: the server's default */
  CURL *curl;           /* one handle, so the connection is reused */
};

struct body {
  char *data;
  size_t len, cap;
  int too_big;
};

static const char spec[] =
    "{\"type\": \"object\", \"additionalProperties\": false,"
    " \"required\": [\"base_url\", \"path\"],"
    " \"properties\": {"
    "  \"base_url\": {\"type\": \"string\"},"
    "  \"path\": {\"type\": \"string\"},"
    "  \"pagination\": {\"enum\": [\"page\", \"cursor\", \"next_url\"]},"
    "  \"page_size\": {\"type\": \"integer\", \"minimum\": 1},"
    "  \"stream\": {\"type\": \"string\"},"
    "  \"records_key\": {\"type\": \"string\"}"
    " }}";

static const char *str_or(json_t *obj, const char *key, const char *dflt)
{
  json_t *v = json_object_get(obj, key); /* borrowed */

  return json_is_string(v) ? json_string_value(v) : dflt;
}

static int httppull_load(const struct integ_host *host, integ_ctx *ctx,
                         json_t *config, json_t *state, void **instance,
                         struct integ_error *err)
{
  struct httppull *hp;
  json_t *ps;

  (void)state;
  hp = calloc(1, sizeof(*hp));
  if (!hp)
    return integ_error_set(err, INTEG_ENOMEM, "%s", "out of memory");
  hp->host = host;
  hp->ctx = ctx;
  hp->config = json_incref(config);
  hp->base_url = str_or(config, "base_url", NULL);
  hp->path = str_or(config, "path", NULL);
  hp->pagination = str_or(config, "pagination", "page");
  hp->stream = str_or(config, "stream", "items");
  hp->records_key = str_or(config, "records_key", "data");
  ps = json_object_get(config, "page_size");
  hp->page_size = json_is_integer(ps) ? json_integer_value(ps) : 0;
  if (!hp->base_url || !hp->path) {
    json_decref(hp->config);
    free(hp);
    return integ_error_set(err, INTEG_ECONFIG, "%s",
                           "httppull: config needs base_url and path");
  }
  if (strcmp(hp->pagination, "page") && strcmp(hp->pagination, "cursor") &&
      strcmp(hp->pagination, "next_url")) {
    json_decref(hp->config);
    free(hp);
    return integ_error_set(err, INTEG_ECONFIG,
                           "httppull: pagination: unknown style \"%s\"",
                           str_or(config, "pagination", ""));
  }
  hp->curl = curl_easy_init();
  if (!hp->curl) {
    json_decref(hp->config);
    free(hp);
    return integ_error_set(err, INTEG_ENOMEM, "%s", "curl_easy_init failed");
  }
  *instance = hp;
  return 0;
}

static void httppull_unload(void *instance)
{
  struct httppull *hp = instance;

  curl_easy_cleanup(hp->curl);
  json_decref(hp->config);
  free(hp);
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
  struct body *b = userdata;
  size_t n = size * nmemb, cap;
  char *p;

  if (b->len + n > HTTPPULL_MAX_BODY) {
    b->too_big = 1;
    return 0;
  }
  if (b->len + n + 1 > b->cap) {
    cap = (b->len + n + 1) * 2;
    p = realloc(b->data, cap);
    if (!p)
      return 0;
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, ptr, n);
  b->len += n;
  b->data[b->len] = '\0';
  return n;
}

/* GET url and parse its JSON body into *doc (new reference). */
static int httppull_get(struct httppull *hp, const char *url, json_t **doc,
                        struct integ_error *err)
{
  struct body b = {NULL, 0, 0, 0};
  json_error_t jerr;
  CURLcode cc;
  long status = 0;
  int rc = INTEG_EHTTP;

  curl_easy_setopt(hp->curl, CURLOPT_URL, url);
  curl_easy_setopt(hp->curl, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(hp->curl, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(hp->curl, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(hp->curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(hp->curl, CURLOPT_NOSIGNAL, 1L);
  cc = curl_easy_perform(hp->curl);
  if (cc != CURLE_OK) {
    integ_error_set(err, INTEG_EHTTP, "GET %s: %s", url,
                    b.too_big ? "body too large" : curl_easy_strerror(cc));
    goto out;
  }
  curl_easy_getinfo(hp->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    integ_error_set(err, INTEG_EHTTP, "GET %s: HTTP %ld", url, status);
    goto out;
  }
  /* Real APIs send \u0000 inside strings; jansson needs leave to keep it. */
  *doc = json_loadb(b.data ? b.data : "", b.len, JSON_ALLOW_NUL, &jerr);
  if (!*doc) {
    integ_error_set(err, INTEG_EHTTP, "GET %s: bad JSON: %s", url, jerr.text);
    goto out;
  }
  rc = 0;
out:
  free(b.data);
  return rc;
}

/* The URL of the next request; new malloc'd string or NULL. */
static char *next_url(struct httppull *hp, json_int_t page, const char *cursor)
{
  char *url, *esc = NULL, size[40] = "";
  size_t n;

  if (hp->page_size)
    snprintf(size, sizeof(size), "%s%lld",
             strcmp(hp->pagination, "page") ? "limit=" : "per_page=",
             (long long)hp->page_size);
  if (cursor) {
    esc = curl_easy_escape(hp->curl, cursor, 0);
    if (!esc)
      return NULL;
  }
  n = strlen(hp->base_url) + strlen(hp->path) + strlen(size) +
      (esc ? strlen(esc) : 0) + 64;
  url = malloc(n);
  if (url) {
    if (strcmp(hp->pagination, "page") == 0)
      snprintf(url, n, "%s%s?page=%lld%s%s", hp->base_url, hp->path,
               (long long)page, *size ? "&" : "", size);
    else if (esc)
      snprintf(url, n, "%s%s?cursor=%s%s%s", hp->base_url, hp->path, esc,
               *size ? "&" : "", size);
    else
      snprintf(url, n, "%s%s%s%s", hp->base_url, hp->path, *size ? "?" : "",
               size);
  }
  curl_free(esc);
  return url;
}

static int httppull_run(void *instance, struct integ_error *err)
{
  struct httppull *hp = instance;
  json_t *doc = NULL, *recs, *rec, *state = NULL, *v;
  char *url = NULL, *cursor = NULL;
  json_int_t page = 1, pages = 0;
  size_t i;
  int rc = INTEG_ENOMEM, more;

  url = next_url(hp, page, NULL);
  while (url && page <= HTTPPULL_MAX_PAGES) {
    rc = httppull_get(hp, url, &doc, err);
    if (rc)
      goto out;
    recs = json_object_get(doc, hp->records_key);
    if (!json_is_array(recs)) {
      rc = integ_error_set(err, INTEG_EHTTP,
                           "GET %s: no records array in the body", url);
      goto out;
    }
    json_array_foreach(recs, i, rec)
    {
      rc = hp->host->emit_record(hp->ctx, hp->stream, rec, err);
      if (rc)
        goto out;
    }
    free(url);
    url = NULL;
    free(cursor);
    cursor = NULL;
    if (strcmp(hp->pagination, "page") == 0) {
      pages = json_integer_value(json_object_get(doc, "total_pages"));
      more = json_array_size(recs) > 0 && page < pages;
      state = json_pack("{s:I}", "page", page);
      page++;
      if (more)
        url = next_url(hp, page, NULL);
    } else {
      v = json_object_get(
          doc, strcmp(hp->pagination, "cursor") ? "next" : "next_cursor");
      more = json_is_string(v);
      if (more && strcmp(hp->pagination, "cursor") == 0) {
        cursor = strdup(json_string_value(v));
        url = cursor ? next_url(hp, page, cursor) : NULL;
      } else if (more) {
        url = strdup(json_string_value(v));
      }
      state = json_pack("{s:O}", "cursor", v ? v : json_null());
      page++;
    }
    if (!state || (more && !url)) {
      rc = integ_error_set(err, INTEG_ENOMEM, "%s", "out of memory");
      goto out;
    }
    rc = hp->host->emit_state(hp->ctx, state, err);
    json_decref(state);
    state = NULL;
    json_decref(doc);
    doc = NULL;
    if (rc)
      goto out;
  }
  rc = 0;
out:
  json_decref(state);
  json_decref(doc);
  free(url);
  free(cursor);
  return rc;
}

static json_t *httppull_discover(void *instance, struct integ_error *err)
{
  struct httppull *hp = instance;
  json_t *streams;

  streams = json_pack("[{s:s, s:{s:s}, s:[s]}]", "stream", hp->stream,
                      "schema", "type", "object", "key_properties", "id");
  if (!streams)
    integ_error_set(err, INTEG_ENOMEM, "%s", "out of memory");
  return streams;
}

static int httppull_check(void *instance, struct integ_error *err)
{
  struct httppull *hp = instance;
  json_t *doc = NULL;
  char *url = next_url(hp, 1, NULL);
  int rc;

  if (!url)
    return integ_error_set(err, INTEG_ENOMEM, "%s", "out of memory");
  rc = httppull_get(hp, url, &doc, err);
  json_decref(doc);
  free(url);
  return rc;
}

static const struct integ_plugin httppull_vtable = {
    INTEG_PLUGIN_HEADER,
    .name = "httppull",
    .version = "0.1.0",
    .description = "test plugin: pull a paginated collection with libcurl",
    .spec = spec,
    .load = httppull_load,
    .run = httppull_run,
    .unload = httppull_unload,
    .discover = httppull_discover,
    .check = httppull_check,
};

INTEG_PLUGIN_DEFINE(httppull_vtable)
