/* fuzz_template.c - a deterministic mutation fuzzer for the template
 * compiler and renderer (host/template.c), as fuzz_jsonpath.c does for
 * JSONPath. Seeds are mutated byte- and token-wise; every input is
 * compiled with and without the known namespaces and, when it compiles,
 * rendered. Crashes and leaks show under the sanitizer build; a hang
 * trips an alarm. Bounded by FUZZ_ITERATIONS (default 500000) and
 * FUZZ_SECONDS (default 3). Output is TAP. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "template.h"
#include "fuzz.h"

#define FUZZ_MAX_INPUT 256

static const char *const seeds[] = {
    "plain text",
    "/users/${parent.id}/orders",
    "${config.base_url}/v1?q=${config.q | urlencode}",
    "#START#..#END# on #DATE#",
    "${state.cursor | date:%Y-%m-%dT%H:%M:%SZ}",
    "${config.missing | default:10 | urlencode}",
    "$${literal} and ${page.next}",
    "${env:FUZZ_TEMPLATE_SECRET}",
    "${stream.name}${config.q}",
};

static const char *const tokens[] = {
    "${",     "}",        "$${",      "|",     ":",      ".",
    "#",      "#DATE#",   "#START",   "#END#", "config", "state",
    "parent", "page",     "stream",   "env:",  "file:",  "urlencode",
    "date:",  "default:", "%",        "%Y",    "%Q",     " ",
    "\x00",   "\xff",     "\xc3\xa9", "a",     "-",      "_",
};

static void mutate(struct rng *s, char *buf, size_t *len)
{
  size_t n = *len, at = n ? (size_t)(rnd(s) % (n + 1)) : 0, k;
  const char *t;

  switch (rnd(s) % 4) {
  case 0:
    if (n)
      buf[rnd(s) % n] = (char)rnd(s);
    break;
  case 1:
    t = tokens[rnd(s) % (sizeof tokens / sizeof tokens[0])];
    k = t[0] ? strlen(t) : 1;
    if (n + k < FUZZ_MAX_INPUT) {
      memmove(buf + at + k, buf + at, n - at);
      memcpy(buf + at, t, k);
      n += k;
    }
    break;
  case 2:
    k = (size_t)(rnd(s) % (n - at + 1));
    if (k > 6)
      k = 1 + k % 6;
    memmove(buf + at, buf + at + k, n - at - k);
    n -= k;
    break;
  default:
    k = (size_t)(rnd(s) % (n - at + 1));
    if (n + k < FUZZ_MAX_INPUT) {
      memmove(buf + at + k, buf + at, n - at);
      n += k;
    }
  }
  *len = n;
}

int main(void)
{
  unsigned long iterations = env_ulong("FUZZ_ITERATIONS", 500000);
  unsigned long seconds = env_ulong("FUZZ_SECONDS", 3);
  unsigned long ran = 0, compiled = 0, rendered = 0;
  struct rng s = {0x9e3779b97f4a7c15ull};
  json_t *known, *vars;
  double start = now();
  char buf[FUZZ_MAX_INPUT];

  alarm((unsigned)(seconds * 3 + 60));
  setenv("FUZZ_TEMPLATE_SECRET", "s3cr3t-value", 1);
  known = json_pack("{s:{s:s, s:s}, s:b, s:b, s:b, s:b}", "config", "base_url",
                    "x", "q", "y", "state", 1, "stream", 1, "parent", 1,
                    "page", 1);
  vars = json_pack("{s:{s:s, s:s}, s:{s:s}, s:{s:i}, s:{s:s}, s:s, s:s}",
                   "config", "base_url", "http://h", "q", "a b&c", "state",
                   "cursor", "2024-01-01T00:00:00Z", "parent", "id", 7, "page",
                   "next", "tok", "start", "2024-01-01", "end", "2024-01-02");
  if (!known || !vars) {
    printf("1..0 # SKIP out of memory\n");
    return 1;
  }
  printf("1..1\n");
  while (ran < iterations && now() - start < (double)seconds) {
    const char *seed = seeds[rnd(&s) % (sizeof seeds / sizeof seeds[0])];
    size_t len = strlen(seed), rounds = 1 + rnd(&s) % 8;

    memcpy(buf, seed, len);
    for (size_t i = 0; i < rounds; i++)
      mutate(&s, buf, &len);
    for (int k = 0; k < 2; k++) {
      struct integ_error err = {0, ""};
      struct template *t = NULL;
      char *out = NULL;

      ran++;
      if (template_compile(buf, len, k ? known : NULL, &t, &err))
        continue;
      compiled++;
      if (template_render(t, vars, NULL, &out, NULL, &err) == 0)
        rendered++;
      free(out);
      template_free(t);
    }
  }
  json_decref(known);
  json_decref(vars);
  printf("ok 1 - %lu inputs, %lu compiled, %lu rendered, no crash\n", ran,
         compiled, rendered);
  return 0;
}
