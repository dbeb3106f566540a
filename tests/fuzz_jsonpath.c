/* fuzz_jsonpath.c - a deterministic mutation fuzzer for the JSONPath
 * compiler and evaluator and the I-Regexp translator.
 *
 * Seeds (built in, plus the compliance suite's selectors when $ANCHORS has
 * them) are mutated byte- and token-wise; every input is compiled and, when
 * valid, evaluated with paths on two documents. Crashes and leaks show
 * under the sanitizer build; a hang trips an alarm. Bounded by
 * FUZZ_ITERATIONS (default 2000000) and FUZZ_SECONDS (default 10).
 * Output is TAP. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "iregexp.h"
#include "jsonpath.h"
#include "fuzz.h"

#define FUZZ_MAX_INPUT 512

static const char *const seeds[] = {
    "$",
    "$.a",
    "$..*",
    "$['a','b'][0,-1]",
    "$[1:3:-1]",
    "$[::2]",
    "$.a[?@.b == 'x' && @.c < 2 || !(@.d)]",
    "$[?length(@) > 1]",
    "$[?count(@..*) >= 2]",
    "$[?match(@, '[a-z]+\\\\d?')]",
    "$[?search(@.a, '(ab|c){1,3}\\\\p{Lu}')]",
    "$[?value(@..x) == $.y]",
    "$..[?@ != null]",
    "$['\\u00e9\\ud83d\\ude00\\'']",
    "$[?@.a == 1.5e3 || @.b != -0 && @.c >= true]",
    "$[?(@.a && (@.b || @.c))]",
    "$.store.book[?@.price < 10].title",
    "$[?@[0] == @['k']]",
    "$ [ 'a' ] . b",
};

static const char *const tokens[] = {
    "$",       "@",      ".",    "..",      "[",        "]",
    "(",       ")",      "?",    "*",       ":",        ",",
    "'",       "\"",     "\\",   "\\u",     "\\ud800",  "\\udc00",
    "==",      "!=",     "<",    "<=",      ">",        ">=",
    "&&",      "||",     "!",    " ",       "\t",       "0",
    "-1",      "-0",     "01",   "1e9",     "1.",       "9007199254740992",
    "true",    "false",  "null", "length(", "count(",   "match(",
    "search(", "value(", "a",    "_",       "\xc3\xa9", "\xff",
    "[?",      "[?@",    "@.a",  "'a'",     "\\p{L}",   "{2,",
    "[^",      "\\.",    "\x00", "\n",      "((((",     "))))",
};

/* Mutate buf[0..*len) in place, keeping it under FUZZ_MAX_INPUT. */
static void mutate(struct rng *r, char *buf, size_t *len, const char *other,
                   size_t other_len)
{
  size_t n = *len, at = rnd_below(r, n + 1);
  switch (rnd_below(r, 6)) {
  case 0: /* replace a byte */
    if (n)
      buf[rnd_below(r, n)] = (char)rnd(r);
    break;
  case 1: /* insert a token */
    n = fuzz_insert(buf, n, at,
                    tokens[rnd_below(r, sizeof tokens / sizeof tokens[0])],
                    FUZZ_MAX_INPUT);
    break;
  case 2: /* delete a range */
    n = fuzz_delete(r, buf, n, at);
    break;
  case 3: /* duplicate a range (deeper nesting, longer chains) */
    n = fuzz_duplicate(r, buf, n, at, FUZZ_MAX_INPUT);
    break;
  case 4: /* splice in a piece of another input */
    n = fuzz_splice(r, buf, n, at, other, other_len, FUZZ_MAX_INPUT);
    break;
  default: /* swap two bytes */
    if (n > 1) {
      size_t i = rnd_below(r, n), j = rnd_below(r, n);
      char c = buf[i];
      buf[i] = buf[j];
      buf[j] = c;
    }
  }
  *len = n;
}

int main(void)
{
  const char *docs_text[] = {
      "{\"a\": [1, 2.5, \"x\", null, true, {\"b\": \"x\", \"c\": 1}],"
      " \"b\": {\"a\": {\"a\": [[], {}]}}, \"y\": 2, \"k\": [\"ab\", "
      "\"\\u00e9A\"],"
      " \"q'\\\\\": {\"x\": \"Ab\"}}",
      "[[[[[[[[1]]]]]]], {\"a\": [1, {\"a\": [1, {\"a\": 1}]}]}, \"abc\", "
      "3, [3, 3.0]]",
  };
  json_t *docs[2];
  json_t *cts = NULL;
  char **corpus = NULL;
  size_t *corpus_len = NULL, ncorpus = 0;
  unsigned long iterations = env_ulong("FUZZ_ITERATIONS", 2000000);
  unsigned long seconds = env_ulong("FUZZ_SECONDS", 10);
  unsigned long ran = 0, compiled = 0, nodes = 0, regexes = 0;
  struct rng r = {0x9e3779b97f4a7c15ull};
  double start = now();
  const char *anchors = getenv("ANCHORS");
  int rc = 1;

  /* A hang is a failure, not a stuck test run. */
  alarm((unsigned)(seconds * 3 + 60));
  for (size_t i = 0; i < 2; i++) {
    docs[i] = json_loads(docs_text[i], JSON_ALLOW_NUL, NULL);
    if (!docs[i]) {
      printf("1..0 # SKIP bad built-in document %zu\n", i);
      return 1;
    }
  }
  if (anchors && *anchors) {
    char path[4096];
    snprintf(path, sizeof path, "%s/jsonpath/cts.json", anchors);
    cts = json_load_file(path, JSON_ALLOW_NUL, NULL);
  }
  {
    json_t *tests = json_object_get(cts, "tests");
    size_t max = sizeof seeds / sizeof seeds[0] + json_array_size(tests);
    corpus = calloc(max, sizeof *corpus);
    corpus_len = calloc(max, sizeof *corpus_len);
    if (!corpus || !corpus_len)
      goto out;
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
      corpus[ncorpus] = (char *)seeds[i];
      corpus_len[ncorpus++] = strlen(seeds[i]);
    }
    for (size_t i = 0; i < json_array_size(tests); i++) {
      json_t *sel = json_object_get(json_array_get(tests, i), "selector");
      if (json_string_length(sel) < FUZZ_MAX_INPUT) {
        corpus[ncorpus] = (char *)json_string_value(sel);
        corpus_len[ncorpus++] = json_string_length(sel);
      }
    }
  }

  printf("1..1\n");
  while (ran < iterations) {
    char buf[FUZZ_MAX_INPUT];
    size_t len, pick = rnd_below(&r, ncorpus), other = rnd_below(&r, ncorpus);
    size_t rounds = 1 + rnd_below(&r, 4);
    struct integ_error err;
    struct jsonpath *jp;

    if ((ran & 255) == 0 && now() - start > (double)seconds)
      break;
    len = corpus_len[pick];
    memcpy(buf, corpus[pick], len);
    for (size_t k = 0; k < rounds; k++)
      mutate(&r, buf, &len, corpus[other], corpus_len[other]);
    ran++;
    if (jsonpath_compile(buf, len, &jp, &err) == 0) {
      compiled++;
      for (size_t d = 0; d < 2; d++) {
        struct jsonpath_nodes res;
        if (jsonpath_eval(jp, docs[d], JSONPATH_PATHS, &res, &err) == 0) {
          nodes += res.n;
          for (size_t i = 0; i < res.n; i++)
            if (!res.values[i] || !res.paths[i] || res.paths[i][0] != '$') {
              printf("not ok 1 - bad node %zu for query %.*s\n", i, (int)len,
                     buf);
              jsonpath_nodes_free(&res);
              jsonpath_free(jp);
              goto out;
            }
        }
        jsonpath_nodes_free(&res);
      }
      jsonpath_free(jp);
    } else if (err.code != INTEG_EINVAL || err.message[0] == '\0') {
      printf("not ok 1 - compile failed without a message: %.*s\n", (int)len,
             buf);
      goto out;
    }
    /* The same bytes as a regexp. */
    {
      pcre2_code *re;
      if (iregexp_compile(buf, len, IREGEXP_SEARCH, &re, NULL) == 0) {
        regexes++;
        pcre2_code_free(re);
      }
    }
  }
  printf("# fuzz: %lu inputs, %lu compiled, %lu nodes, %lu regexps, %.1f s\n",
         ran, compiled, nodes, regexes, now() - start);
  printf("ok 1 - %lu mutated queries: no crash, leak or hang\n", ran);
  rc = 0;
out:
  free(corpus);
  free(corpus_len);
  json_decref(cts);
  json_decref(docs[0]);
  json_decref(docs[1]);
  return rc;
}
