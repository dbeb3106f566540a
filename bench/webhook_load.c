/* webhook_load.c - send pre-signed Standard Webhooks deliveries with
 * libcurl multi and measure deliveries/s and latency.
 *
 *   webhook_load URL SECRET COUNT [CONCURRENCY] [PREFIX] [ACKED_FILE]
 *
 * Delivery i has the id PREFIX-i and a body naming it; all are signed
 * (HMAC-SHA256 over id.timestamp.body, key = base64 of SECRET after
 * "whsec_") before the clock starts. A delivery without an answer (the
 * daemon was killed) is sent again after 50 ms until it gets one, for
 * up to 60 s. The ids acknowledged with 2xx go to ACKED_FILE, one a
 * line. Prints one summary line; exits 1 when some delivery was never
 * acknowledged.
 */
#define _GNU_SOURCE /* asprintf */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

struct delivery {
  char id[64];
  char *body;
  struct curl_slist *headers;
  double started, latency; /* of the attempt that was answered */
  long status;
  int attempts;
  double retry_at;
};

static double now_s(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return x < y ? -1 : x > y;
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
  (void)p;
  (void)arg;
  return size * n;
}

static int sign(struct delivery *d, const unsigned char *key, int klen,
                const char *ts)
{
  char msg[512], hdr[256], b64[64];
  unsigned char mac[32];
  unsigned maclen = 0;
  int n = snprintf(msg, sizeof(msg), "%s.%s.%s", d->id, ts, d->body);

  if (n < 0 || (size_t)n >= sizeof(msg) ||
      !HMAC(EVP_sha256(), key, klen, (unsigned char *)msg, (size_t)n, mac,
            &maclen))
    return -1;
  EVP_EncodeBlock((unsigned char *)b64, mac, (int)maclen);
  snprintf(hdr, sizeof(hdr), "webhook-id: %s", d->id);
  d->headers = curl_slist_append(d->headers, hdr);
  snprintf(hdr, sizeof(hdr), "webhook-timestamp: %s", ts);
  d->headers = curl_slist_append(d->headers, hdr);
  snprintf(hdr, sizeof(hdr), "webhook-signature: v1,%s", b64);
  d->headers = curl_slist_append(d->headers, hdr);
  d->headers = curl_slist_append(d->headers, "Content-Type: application/json");
  d->headers = curl_slist_append(d->headers, "Expect:");
  return d->headers ? 0 : -1;
}

static CURL *start(CURLM *m, const char *url, struct delivery *d)
{
  CURL *e = curl_easy_init();

  if (!e)
    return NULL;
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, d->body);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->headers);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(e, CURLOPT_PRIVATE, d);
  curl_easy_setopt(e, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  d->started = now_s();
  d->attempts++;
  curl_multi_add_handle(m, e);
  return e;
}

int main(int argc, char **argv)
{
  const char *url, *secret, *prefix, *acked_file;
  long count, conc;
  unsigned char key[256];
  int klen, running = 0, left, unanswered = 0;
  struct delivery *ds;
  size_t next = 0, *retry, nretry = 0, acked = 0, dups = 0, refused = 0;
  double t0, t1, *lat;
  char ts[32];
  CURLM *m;
  FILE *af = NULL;

  if (argc < 4) {
    fprintf(stderr, "usage: webhook_load URL SECRET COUNT [CONCURRENCY] "
                    "[PREFIX] [ACKED_FILE]\n");
    return 2;
  }
  url = argv[1];
  secret = argv[2];
  count = strtol(argv[3], NULL, 10);
  conc = argc > 4 ? strtol(argv[4], NULL, 10) : 32;
  prefix = argc > 5 ? argv[5] : "load";
  acked_file = argc > 6 ? argv[6] : NULL;
  if (count <= 0 || conc <= 0)
    return 2;
  if (strncmp(secret, "whsec_", 6) == 0)
    secret += 6;
  klen =
      EVP_DecodeBlock(key, (const unsigned char *)secret, (int)strlen(secret));
  if (klen < 0)
    return 2;
  /* EVP_DecodeBlock counts the padding as zero bytes. */
  for (size_t n = strlen(secret); n > 0 && secret[n - 1] == '='; n--)
    klen--;
  ds = calloc((size_t)count, sizeof(*ds));
  retry = calloc((size_t)count, sizeof(*retry));
  lat = calloc((size_t)count, sizeof(*lat));
  if (!ds || !retry || !lat)
    return 2;
  snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
  for (long i = 0; i < count; i++) {
    struct delivery *d = &ds[i];

    snprintf(d->id, sizeof(d->id), "%s-%ld", prefix, i);
    if (asprintf(&d->body, "{\"type\":\"load.test\",\"n\":%ld,\"id\":\"%s\"}",
                 i, d->id) < 0 ||
        sign(d, key, klen, ts))
      return 2;
  }
  if (acked_file && !(af = fopen(acked_file, "w")))
    return 2;
  if (af) /* line by line: the kill test watches it grow */
    setvbuf(af, NULL, _IOLBF, 0);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  m = curl_multi_init();
  curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, conc);
  t0 = now_s();
  left = (int)count;
  while (left > 0) {
    CURLMsg *msg;
    int q;
    double now = now_s();

    /* Keep CONCURRENCY requests going: retries due first. */
    for (size_t i = 0; i < nretry && running < conc;) {
      if (ds[retry[i]].retry_at <= now) {
        start(m, url, &ds[retry[i]]);
        running++;
        retry[i] = retry[--nretry];
      } else {
        i++;
      }
    }
    while (running < conc && next < (size_t)count) {
      start(m, url, &ds[next++]);
      running++;
    }
    curl_multi_perform(m, &q);
    while ((msg = curl_multi_info_read(m, &q))) {
      struct delivery *d;
      long status = 0;
      CURLcode result;
      CURL *e;

      if (msg->msg != CURLMSG_DONE)
        continue;
      /* msg is invalid once its handle is removed. */
      e = msg->easy_handle;
      result = msg->data.result;
      curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&d);
      curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
      curl_multi_remove_handle(m, e);
      curl_easy_cleanup(e);
      running--;
      if (result != CURLE_OK || status == 0 || status >= 500) {
        /* No answer: the daemon is down or going; send it again. */
        if (now_s() - t0 > 60) {
          unanswered++;
          left--;
          continue;
        }
        d->retry_at = now_s() + 0.05;
        retry[nretry++] = (size_t)(d - ds);
        continue;
      }
      d->status = status;
      d->latency = now_s() - d->started;
      lat[acked + refused] = d->latency;
      left--;
      if (status >= 200 && status < 300) {
        acked++;
        if (status == 200)
          dups++;
        if (af)
          fprintf(af, "%s\n", d->id);
      } else {
        refused++;
      }
    }
    curl_multi_poll(m, NULL, 0, 10, NULL);
  }
  t1 = now_s();
  qsort(lat, acked + refused, sizeof(double), cmp_double);
  {
    size_t n = acked + refused;
    size_t retried = 0;

    for (long i = 0; i < count; i++)
      retried += ds[i].attempts > 1;
    printf("deliveries %ld acked %zu (of which %zu acknowledged again) "
           "refused %zu unanswered %d retried %zu in %.2f s: %.0f/s, "
           "p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
           count, acked, dups, refused, unanswered, retried, t1 - t0,
           (double)count / (t1 - t0), n ? lat[n / 2] * 1000 : 0.0,
           n ? lat[(size_t)((double)n * 0.99)] * 1000 : 0.0,
           n ? lat[n - 1] * 1000 : 0.0);
  }
  if (af)
    fclose(af);
  for (long i = 0; i < count; i++) {
    free(ds[i].body);
    curl_slist_free_all(ds[i].headers);
  }
  free(ds);
  free(retry);
  free(lat);
  curl_multi_cleanup(m);
  curl_global_cleanup();
  return unanswered || refused ? 1 : 0;
}
