/* jsonpath_bench.c - evaluation speed of compiled JSONPath queries.
 *
 * Builds a document of about 1 MB ({"data": [...], "items": [...]} with
 * records like {"id": 1, "name": "item 1", "price": 12.5, "tags": [...]}),
 * compiles each query once and evaluates it repeatedly for about a second.
 * Prints evaluations per second and MB/s (document size times evaluations
 * per second). Not part of `make check`: `make bench/jsonpath_bench`.
 *
 *   bench/jsonpath_bench [SECONDS] [QUERY...]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonpath.h"

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *record(size_t i)
{
  char name[32];
  snprintf(name, sizeof name, "item %zu", i);
  return json_pack("{s:I, s:s, s:f, s:b, s:[s,s]}", "id", (json_int_t)i,
                   "name", name, "price", (double)(i % 40) / 2.0, "active",
                   (int)(i % 3 != 0), "tags", "a", "b");
}

int main(int argc, char **argv)
{
  static const char *const dflt[] = {"$.data[*]", "$.items[?@.price < 10]"};
  const char *const *queries = dflt;
  size_t nq = 2, n = 0;
  double seconds = argc > 1 ? atof(argv[1]) : 1.0;
  json_t *doc = json_object(), *data = json_array(), *items = json_array();
  char *text;
  size_t bytes;
  int rc = 1;

  if (argc > 2) {
    queries = (const char *const *)argv + 2;
    nq = (size_t)argc - 2;
  }
  json_object_set_new(doc, "data", data);
  json_object_set_new(doc, "items", items);
  /* About 1 MB of JSON text: ~100 bytes a record, half in each array. */
  for (;; n++) {
    json_array_append_new(n % 2 ? items : data, record(n));
    if (n % 1000 == 999) {
      text = json_dumps(doc, JSON_COMPACT);
      bytes = strlen(text);
      free(text);
      if (bytes >= 1000000)
        break;
    }
  }
  text = json_dumps(doc, JSON_COMPACT);
  bytes = strlen(text);
  free(text);
  printf("document: %zu bytes, %zu records\n", bytes, n + 1);

  for (size_t q = 0; q < nq; q++) {
    struct integ_error err;
    struct jsonpath *jp;
    struct jsonpath_nodes nodes;
    size_t evals = 0, results = 0;
    double t0, dt;

    if (jsonpath_compile(queries[q], strlen(queries[q]), &jp, &err) != 0) {
      fprintf(stderr, "%s\n", err.message);
      goto out;
    }
    t0 = now();
    do {
      if (jsonpath_eval(jp, doc, 0, &nodes, &err) != 0) {
        fprintf(stderr, "%s\n", err.message);
        jsonpath_free(jp);
        goto out;
      }
      results = nodes.n;
      jsonpath_nodes_free(&nodes);
      evals++;
      dt = now() - t0;
    } while (dt < seconds);
    printf("%-28s %7zu nodes  %9.1f evals/s  %8.1f MB/s  %8.1f us/eval\n",
           queries[q], results, (double)evals / dt,
           (double)evals * (double)bytes / dt / 1e6, dt / (double)evals * 1e6);
    jsonpath_free(jp);
  }
  rc = 0;
out:
  json_decref(doc);
  return rc;
}
