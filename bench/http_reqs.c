/* http_reqs.c - the baseline for HTTP requests per second: a plain libcurl
 * loop, one reused handle, N GETs of URL, bodies discarded.
 *   http_reqs URL N    prints "N requests in S s: R/s" */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <curl/curl.h>

static size_t sink(char *p, size_t s, size_t n, void *arg)
{
  (void)p;
  (void)arg;
  return s * n;
}

int main(int argc, char **argv)
{
  struct timespec a, b;
  CURL *h;
  long n;
  double secs;

  if (argc != 3) {
    fprintf(stderr, "usage: http_reqs URL N\n");
    return 2;
  }
  n = strtol(argv[2], NULL, 10);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_URL, argv[1]);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++)
    if (curl_easy_perform(h) != CURLE_OK) {
      fprintf(stderr, "request %ld failed\n", i);
      return 1;
    }
  clock_gettime(CLOCK_MONOTONIC, &b);
  secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
  printf("%ld requests in %.3f s: %.0f/s\n", n, secs, (double)n / secs);
  curl_easy_cleanup(h);
  curl_global_cleanup();
  return 0;
}
