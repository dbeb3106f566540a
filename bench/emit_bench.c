/* emit_bench.c - ns per record to format a typical 10-field record as a
 * Singer RECORD line, against jansson's json_dumps of the same record.
 * Not part of make check: make bench/emit_bench && bench/emit_bench [N] */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "emit.h"
#include "jsonw.h"

static const char record_text[] =
    "{\"id\":12345,\"name\":\"Alice Example\",\"email\":\"alice@example.com\","
    "\"active\":true,\"score\":423.962,\"balance\":-1234.5,"
    "\"created_at\":\"2024-01-01T12:34:56Z\",\"tags\":[\"a\",\"b\"],"
    "\"address\":{\"city\":\"Z\\u00fcrich\",\"zip\":\"8001\"},"
    "\"note\":null}";

static const char discover_text[] =
    "[{\"stream\":\"people\",\"schema\":{\"type\":\"object\"},"
    "\"key_properties\":[\"id\"]}]";

static double now_ns(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_PROCESS_CPUTIME_ID,
                &ts); /* CPU time: the machine is shared */
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
  long n = argc > 1 ? strtol(argv[1], NULL, 10) : 500000;
  json_t *rec = json_loads(record_text, 0, NULL);
  json_t *streams = json_loads(discover_text, 0, NULL);
  struct integ_error err = {0, ""};
  struct buf out = BUF_INIT;
  struct emit *e = NULL;
  size_t bytes = 0;
  double t0, t_singer, t_jsonw, t_dumps;
  long i;

  if (!rec || !streams || n <= 0 || emit_new(EMIT_SINGER, &e, &err) ||
      emit_add_streams(e, streams, &err)) {
    fprintf(stderr, "emit_bench: setup failed %s\n", err.message);
    return 1;
  }
  /* Singer RECORD lines through the emitter, flushed every 1000 records as
   * the output layer would. */
  t0 = now_ns();
  for (i = 0; i < n; i++) {
    if (emit_record(e, &out, "people", rec, 1700000000000LL + i, &err)) {
      fprintf(stderr, "emit_bench: %s\n", err.message);
      return 1;
    }
    if (out.len > 1 << 20) {
      bytes += out.len;
      buf_reset(&out);
    }
  }
  t_singer = (now_ns() - t0) / (double)n;
  bytes += out.len;
  /* The last line written, to see what was measured. */
  if (out.len > 1) {
    size_t j = out.len - 1;

    while (j > 0 && out.data[j - 1] != '\n')
      j--;
    printf("last line: %s", out.data + j);
  }
  buf_reset(&out);

  /* The record alone through jsonw. */
  t0 = now_ns();
  for (i = 0; i < n; i++) {
    jsonw_value(&out, rec, JSONW_ASCII);
    if (out.len > 1 << 20)
      buf_reset(&out);
  }
  t_jsonw = (now_ns() - t0) / (double)n;
  buf_reset(&out);

  /* jansson's own compact dump of the record (malloc per call, as it is
   * used). */
  t0 = now_ns();
  for (i = 0; i < n; i++) {
    char *s = json_dumps(rec, JSON_COMPACT);

    if (!s)
      return 1;
    free(s);
  }
  t_dumps = (now_ns() - t0) / (double)n;

  printf("records: %ld, Singer output %.1f MB\n", n, (double)bytes / 1e6);
  printf("Singer RECORD line (emit_record):   %7.1f ns/record\n", t_singer);
  printf("record only (jsonw_value):          %7.1f ns/record\n", t_jsonw);
  printf("record only (jansson json_dumps):   %7.1f ns/record\n", t_dumps);
  emit_free(e);
  buf_free(&out);
  json_decref(rec);
  json_decref(streams);
  return 0;
}
