/* fuzz_jscan.c - a deterministic mutation fuzzer for the page scanner
 * (host/jscan.c), differential against the slow path: every mutated page
 * is scanned in one of the three formats, strict and not, and must be
 * accepted or refused as jansson accepts or refuses it, with the bytes the
 * emitters write and the fields JSONPath finds (tests/jscan_ref.h).
 * Crashes and leaks show under the sanitizer build; a hang trips an
 * alarm. Bounded by FUZZ_ITERATIONS (default 2000000) and FUZZ_SECONDS
 * (default 10). Output is TAP. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jscan_ref.h"
#include "fuzz.h"

#define FUZZ_MAX_INPUT 1024

static const char *const seeds[] = {
    "{\"data\":[{\"id\":1,\"updated_at\":\"2024-01-01T00:00:00Z\",\"name\":"
    "\"Zo\xc3\xab \\\"Zee\\\" \\u00c5ngstr\\u00f6m\",\"price\":423.962,"
    "\"ratio\":1e-07,\"big\":9007199254740993,\"max\":9223372036854775807,"
    "\"min\":-9223372036854775808,\"tags\":[\"red\",\"blue\"],\"attributes\":"
    "{\"owner\":{\"id\":12},\"empty\":{},\"none\":[]}}],\"next_cursor\":"
    "\"c1\","
    "\"has_more\":true}",
    "{\"data\":[{\"id\":2,\"name\":\"NUL\\u0000inside \\ud83d\\ude00 "
    "\xf0\x9d\x84\x9e\",\"t\":\"Tab\\there\\n\\r\\u0001\\u001f\\u007f\"},"
    "{\"id\":3,\"x\":-0,\"y\":-0.0,\"z\":6.02214076e+23}],\"has_more\":false}",
    "{\"data\":[{\"a\":{\"b\":[1,[2,[3,{\"c\":null}]]]},\"d\":true,\"e\":"
    "false}],\"meta\":{\"next\":\"x\"}}",
    " { \"data\" : [ { \"k\" : \"v\" } , { \"k\" : 1.5E3 } ] } ",
    "[{\"id\":1},{\"id\":2}]",
    "{\"data\":{\"x\":{\"id\":1},\"y\":{\"id\":2}}}",
    "{\"data\":[{\"a\":1,\"a\":2}]}",
    "{\"data\":[1,{}]}",
};

static const char *const tokens[] = {
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "\\u",
    "\\ud800",
    "\\udc00",
    "\\u0000",
    "\\n",
    "\\/",
    " ",
    "\t",
    "\n",
    "0",
    "-0",
    "01",
    "1e400",
    "1E-400",
    "1.",
    ".5",
    "1e",
    "-",
    "+",
    "0.1",
    "1e300",
    "2.5e-10",
    "true",
    "false",
    "null",
    "tru",
    "\x00",
    "\x01",
    "\x7f",
    "\xc3\xa9",
    "\xe6\x9d\x8e",
    "\xf0\x9f\x98\x80",
    "\xff",
    "\xc0\x80",
    "\xed\xa0\x80",
    "\xf4\x90\x80\x80",
    "\x80",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "{\"a\":1}",
    "[[[[",
    "]]]]",
    "\"data\"",
    "\"id\"",
    "\"a\":",
    "\"a\":1,",
    "1234567890123456.0",
};

/* Values put in place of a number or a string: most pages stay valid,
 * so the bytes written are compared, not only the refusals. */
static const char *const values[] = {
    "0",
    "-0",
    "-0.0",
    "1.5",
    "100.0",
    "1e-7",
    "1E+22",
    "1e15",
    "1e16",
    "1e-5",
    "0.0001",
    "123456789012345.6",
    "0.30000000000000004",
    "5e-324",
    "1.7976931348623157e308",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "9007199254740993",
    "true",
    "null",
    "\"\"",
    "\"\\u0000\"",
    "\"\\ud83d\\ude00\"",
    "\"\\u00E9\\/\\b\"",
    "\"\xf0\x9f\x98\x80\x7f\"",
    "\"\\u001f\\u2028\"",
    "[]",
    "{}",
    "[1,[2]]",
    "{\"k\":\"v\"}",
    "2.2250738585072014e-308",
};

/* Mutate buf[0..*len) in place, keeping it under FUZZ_MAX_INPUT. */
static void mutate(struct rng *r, char *buf, size_t *len, const char *other,
                   size_t other_len)
{
  size_t n = *len, at = rnd_below(r, n + 1);

  switch (rnd_below(r, 9)) {
  case 0: /* replace a byte */
    if (n)
      buf[rnd_below(r, n)] = (char)rnd(r);
    break;
  case 1: /* insert a token */
    n = fuzz_insert(buf, n, at,
                    tokens[rnd_below(r, sizeof(tokens) / sizeof(tokens[0]))],
                    FUZZ_MAX_INPUT);
    break;
  case 2: /* delete a range */
    n = fuzz_delete(r, buf, n, at);
    break;
  case 3: /* duplicate a range (deeper nesting, repeated keys) */
    n = fuzz_duplicate(r, buf, n, at, FUZZ_MAX_INPUT);
    break;
  case 4: /* splice in a piece of another input */
    n = fuzz_splice(r, buf, n, at, other, other_len, FUZZ_MAX_INPUT);
    break;
  case 5: /* cut short */
    n = at;
    break;
  default: { /* a number or string replaced by another value */
    const char *v = values[rnd_below(r, sizeof(values) / sizeof(values[0]))];
    size_t end = at, vl = strlen(v);

    while (at < n && (!buf[at] || !strchr("-0123456789\"", buf[at])))
      at++;
    if (at == n)
      break;
    end = at + 1;
    if (buf[at] == '"') {
      while (end < n && buf[end] != '"')
        end += buf[end] == '\\' ? 2 : 1;
      end = end < n ? end + 1 : n;
    } else {
      while (end < n && strchr("0123456789.eE+-", buf[end]) && buf[end])
        end++;
    }
    if (n - (end - at) + vl < FUZZ_MAX_INPUT) {
      memmove(buf + at + vl, buf + end, n - end);
      memcpy(buf + at, v, vl);
      n = n - (end - at) + vl;
    }
  }
  }
  *len = n;
}

int main(void)
{
  static const char *const paths[] = {"$.data[*]", "$[*]"};
  static const enum emit_format fmts[] = {EMIT_SINGER, EMIT_AIRBYTE,
                                          EMIT_JSONL};
  unsigned long iterations = env_ulong("FUZZ_ITERATIONS", 2000000);
  unsigned long seconds = env_ulong("FUZZ_SECONDS", 10);
  unsigned long ran = 0, accepted = 0;
  struct rng r = {0x9e3779b97f4a7c15ull};
  struct jscan *js[2] = {NULL, NULL};
  json_t *fields[2];
  struct integ_error err;
  double start = now();
  size_t nseeds = sizeof(seeds) / sizeof(seeds[0]);
  int rc = 1;

  /* A hang is a failure, not a stuck test run. */
  alarm((unsigned)(seconds * 3 + 60));
  fields[0] =
      json_pack("{s:s, s:s, s:s, s:s, s:s}", "next", "$.next_cursor", "more",
                "$.has_more", "ids", "$.data[*].id", "owner",
                "$.data[*].attributes.owner.id", "meta", "$.meta.next");
  fields[1] = json_pack("{s:s}", "ids", "$[*].id");
  for (size_t i = 0; i < 2; i++)
    if (jscan_new(paths[i], fields[i], &js[i], &err)) {
      printf("Bail out! %s\n", err.message);
      return 1;
    }
  printf("1..1\n");
  while (ran < iterations) {
    char buf[FUZZ_MAX_INPUT];
    size_t len, pick = rnd_below(&r, nseeds), other = rnd_below(&r, nseeds);
    size_t rounds = 1 + rnd_below(&r, 4), p = pick == 4 ? 1 : 0;
    enum emit_format fmt = fmts[rnd_below(&r, 3)];
    unsigned extra = rnd_below(&r, 2) ? JSCAN_STRICT_INT : 0;
    int took = 0;

    if ((ran & 255) == 0 && now() - start > (double)seconds)
      break;
    len = strlen(seeds[pick]);
    memcpy(buf, seeds[pick], len);
    for (size_t k = 0; k < rounds; k++)
      mutate(&r, buf, &len, seeds[other], strlen(seeds[other]));
    ran++;
    /* A third of the pages projected, as a catalog's field selection. */
    json_decref(ref_keep);
    ref_keep = NULL;
    if (rnd_below(&r, 3) == 0) {
      static const char *const names[] = {"id",  "name", "price",     "k", "a",
                                          "d",   "e",    "t",         "x", "z",
                                          "big", "tags", "attributes"};

      ref_keep = json_object();
      for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
        if (rnd_below(&r, 2))
          json_object_set_new(ref_keep, names[k], json_true());
    }
    if (ref_check(js[p], "fuzz", buf, len, paths[p], fields[p], fmt, extra,
                  &took)) {
      printf("not ok 1 - the scanner and the slow path disagree on this "
             "input (%zu bytes, %s, %s):\n# ",
             len, emit_format_name(fmt), extra ? "strict" : "big ints");
      for (size_t i = 0; i < len; i++)
        printf("\\x%02x", (unsigned char)buf[i]);
      printf("\n");
      goto out;
    }
    accepted += (unsigned long)took;
  }
  printf("# fuzz: %lu inputs, %lu valid pages, %.1f s\n", ran, accepted,
         now() - start);
  printf("ok 1 - %lu mutated pages: the scanner agrees with jansson + the "
         "emitters\n",
         ran);
  rc = 0;
out:
  json_decref(ref_keep);
  for (size_t i = 0; i < 2; i++) {
    jscan_free(js[i]);
    json_decref(fields[i]);
  }
  return rc;
}
