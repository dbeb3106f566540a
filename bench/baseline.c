/* baseline.c - the benchmark's yardstick: what a plain libcurl + jansson
 * program does to pull a cursor-paginated collection. It fetches every
 * page over one connection, parses it, and writes each record as a
 * compact JSON line to /dev/null (or FILE). integ run on the same pages is
 * compared with it (bench/run.sh).
 *   baseline URL [FILE]     URL: http://host:port/items?limit=1000
 * Prints "records N pages P" on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

struct body {
  char *data;
  size_t len, cap;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
  struct body *b = arg;
  size_t add = size * n;

  if (b->len + add + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 65536;
    char *d;

    while (cap < b->len + add + 1)
      cap *= 2;
    if (!(d = realloc(b->data, cap)))
      return 0;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, add);
  b->len += add;
  return add;
}

int main(int argc, char **argv)
{
  struct body b = {NULL, 0, 0};
  const char *out_file = argc > 2 ? argv[2] : "/dev/null";
  unsigned long long records = 0, pages = 0;
  char *cursor = NULL;
  FILE *out;
  CURL *c;
  int rc = 1;

  if (argc < 2) {
    fprintf(stderr, "usage: baseline URL [FILE]\n");
    return 2;
  }
  if (!(out = fopen(out_file, "w"))) {
    perror(out_file);
    return 1;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  c = curl_easy_init();
  if (!c)
    goto out;
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  for (;;) {
    char url[2048];
    json_error_t jerr;
    json_t *doc, *rec, *next;
    size_t i;
    long status = 0;

    snprintf(url, sizeof(url), "%s%s%s", argv[1], cursor ? "&cursor=" : "",
             cursor ? cursor : "");
    b.len = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (curl_easy_perform(c) != CURLE_OK ||
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK ||
        status != 200) {
      fprintf(stderr, "baseline: %s failed (HTTP %ld)\n", url, status);
      goto out;
    }
    doc = json_loadb(b.data, b.len, JSON_ALLOW_NUL, &jerr);
    if (!doc) {
      fprintf(stderr, "baseline: %s: %s\n", url, jerr.text);
      goto out;
    }
    pages++;
    json_array_foreach(json_object_get(doc, "data"), i, rec)
    {
      json_dumpf(rec, out, JSON_COMPACT);
      fputc('\n', out);
      records++;
    }
    next = json_object_get(doc, "next_cursor");
    free(cursor);
    cursor =
        json_is_true(json_object_get(doc, "has_more")) && json_is_string(next)
            ? strdup(json_string_value(next))
            : NULL;
    json_decref(doc);
    if (!cursor)
      break;
  }
  rc = 0;
  fprintf(stderr, "records %llu pages %llu\n", records, pages);
out:
  free(cursor);
  free(b.data);
  curl_easy_cleanup(c);
  curl_global_cleanup();
  if (fclose(out))
    rc = 1;
  return rc;
}
