/* jscan_bench.c - the page scanner alone (host/jscan.c): the ceiling that
 * emit_batch's fast path can reach. Pages are read into memory first;
 * each pass scans every page with the pager plugin's records path and
 * what its emit_page asks for into a 1 MiB output buffer that is emptied
 * when full, as the output would flush it.
 *   jscan_bench [-f singer|airbyte|jsonl] [-n PASSES] [-x] FILE...
 * -x: no fields (the records' bytes only).
 * Prints "records N bytes B seconds S records/s R" on stdout. Under
 * callgrind, run it with two values of -n: the difference in instructions
 * over the difference in records is the scanner's cost per record.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emit.h"
#include "jscan.h"

/* The file at path, NUL-terminated, its length in *len (new; NULL when
 * it cannot be read). */
static char *slurp(const char *path, size_t *len)
{
  struct buf b = BUF_INIT;

  if (buf_read_file(&b, path))
    return NULL;
  *len = b.len;
  return b.data;
}

int main(int argc, char **argv)
{
  enum emit_format fmt = EMIT_SINGER;
  unsigned long passes = 1;
  struct buf fb = BUF_INIT, out = BUF_INIT;
  struct jscan_frame frame;
  struct integ_error err;
  struct jscan *js = NULL;
  struct timespec t0, t1;
  unsigned long long records = 0, bytes = 0;
  char **pages;
  size_t *lens, npages = 0;
  json_t *fields;
  int a = 1, rc = 1, nofields = 0;
  double secs;

  for (; a + 1 < argc && argv[a][0] == '-'; a += 2) {
    if (strcmp(argv[a], "-x") == 0) {
      nofields = 1;
      a--;
      continue;
    }
    if (strcmp(argv[a], "-f") == 0 &&
        emit_format_parse(argv[a + 1], &fmt, &err) == 0)
      continue;
    if (strcmp(argv[a], "-n") == 0) {
      passes = strtoul(argv[a + 1], NULL, 10);
      continue;
    }
    break;
  }
  if (a >= argc) {
    fprintf(stderr,
            "usage: jscan_bench [-f FORMAT] [-n PASSES] [-x] FILE...\n");
    return 2;
  }
  pages = calloc((size_t)(argc - a), sizeof(*pages));
  lens = calloc((size_t)(argc - a), sizeof(*lens));
  /* What the pager's emit_page asks of the scanner: its two fields, and
   * the cursor's value and key as span fields (the cursor's own work,
   * done in the host's hook, is not part of the scanner's cost). */
  fields = json_pack("{s:s, s:s, s:s, s:s}", "next", "$.next_cursor", "more",
                     "$.has_more", JSCAN_SPAN "0", "$.data[*].updated_at",
                     JSCAN_SPAN "1", "$.data[*].id");
  if (!pages || !lens || !fields ||
      jscan_new("$.data[*]", nofields ? NULL : fields, &js, &err) ||
      jscan_frame_make(&fb, fmt, "items", NULL, 1700000000000LL, &frame) ||
      buf_reserve(&out, 1 << 20))
    goto out;
  for (; a < argc; a++) {
    if (!(pages[npages] = slurp(argv[a], &lens[npages]))) {
      fprintf(stderr, "jscan_bench: cannot read %s\n", argv[a]);
      goto out;
    }
    npages++;
  }
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (unsigned long p = 0; p < passes; p++)
    for (size_t i = 0; i < npages; i++) {
      struct jscan_result res;

      if (jscan_page(js, pages[i], lens[i], jscan_format_flags(fmt), &frame,
                     &out, &res, &err)) {
        fprintf(stderr, "jscan_bench: page %zu: %s\n", i, err.message);
        goto out;
      }
      records += res.records;
      json_decref(res.fields);
      if (out.len > (1u << 20) - (1u << 18)) {
        bytes += out.len;
        out.len = 0;
      }
    }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  bytes += out.len;
  secs = (double)(t1.tv_sec - t0.tv_sec) +
         (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("records %llu bytes %llu seconds %.3f records/s %.0f\n", records,
         bytes, secs, secs > 0 ? (double)records / secs : 0.0);
  rc = 0;
out:
  if (rc)
    fprintf(stderr, "jscan_bench: %s\n", err.message);
  for (size_t i = 0; i < npages; i++)
    free(pages[i]);
  free(pages);
  free(lens);
  json_decref(fields);
  jscan_free(js);
  buf_free(&fb);
  buf_free(&out);
  return rc;
}
