/* fuzz_yaml.c - a mutation loop over the YAML loader and the manifest
 * checks: no crash, leak or hang (run it under --enable-sanitizers).
 *
 * Seeds are the manifests in tests/manifest (good and bad) plus a few
 * built in; each round mutates one (flip, insert, delete, duplicate, splice
 * in YAML syntax) and feeds it to yaml_load_buffer and, when it names no
 * files to read, manifest_load_buffer. Deterministic (fixed seed, or
 * FUZZ_SEED); bounded by FUZZ_ITERATIONS (default 200000) and FUZZ_SECONDS
 * (default 10). Prints how many inputs ran. */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "manifest.h"
#include "yaml.h"

#define FUZZ_MAX_INPUT 8192

static const char *const builtin[] = {
    "integ: 1\nconnectors:\n  a:\n    plugin: example\n    enabled: true\n",
    "a: [1, 2, {b: c, d: [e, f]}]\n",
    "k: |\n  line\n  more\n",
    "k: >-\n  folded\n  text\n",
    "? complex\n: value\n",
    "a: &x 1\nb: *x\n",
    "- a\n- b\n- - c\n  - d\n",
    "\"quoted\\u00e9\": 'single ''q'''\n",
    "a: 0x1F\nb: 0o17\nc: .inf\nd: -1.5e3\ne: ~\nf: yes\n",
    "%YAML 1.2\n---\na: 1\n...\n",
    "{a: 1, a: 2}\n",
    "x: \"${env:HOME} $${env:X}\"\n",
};

/* Tokens spliced in: the characters YAML gives meaning to. */
static const char *const tokens[] = {
    ":",          ": ",          "- ",
    "[",          "]",           "{",
    "}",          ",",           "&a ",
    "*a",         "!!str ",      "!t ",
    "#",          " #",          "\t",
    "\n",         "\n  ",        "'",
    "\"",         "|",           ">",
    "? ",         "---\n",       "...\n",
    "%TAG ! x\n", "\\",          "\xc3",
    "\xff",       "yes",         "0x",
    ".nan",       "${env:",      "${",
    "}",          "connectors:", "plugin: ",
    "config: ",   "\r\n",        "\xef\xbb\xbf",
    "\0",
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

struct corpus {
  char **data;
  size_t *len;
  size_t n, cap;
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
  /* xorshift64*: deterministic and good enough to pick mutations. */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ULL;
}

static size_t pick(size_t n)
{
  return n ? (size_t)(rnd() % n) : 0;
}

static int corpus_add(struct corpus *c, const char *d, size_t len)
{
  char *copy;

  if (len > FUZZ_MAX_INPUT)
    len = FUZZ_MAX_INPUT;
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 64;
    char **nd = realloc(c->data, cap * sizeof(*nd));
    size_t *nl;

    if (!nd)
      return -1;
    c->data = nd;
    nl = realloc(c->len, cap * sizeof(*nl));
    if (!nl)
      return -1;
    c->len = nl;
    c->cap = cap;
  }
  copy = malloc(len + 1);
  if (!copy)
    return -1;
  memcpy(copy, d, len);
  copy[len] = '\0';
  c->data[c->n] = copy;
  c->len[c->n++] = len;
  return 0;
}

static void corpus_dir(struct corpus *c, const char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *e;

  while (d && (e = readdir(d))) {
    char *p = NULL, buf[FUZZ_MAX_INPUT];
    size_t len = strlen(e->d_name), n;
    FILE *f;

    if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0)
      continue;
    if (asprintf(&p, "%s/%s", dir, e->d_name) < 0)
      continue;
    f = fopen(p, "rb");
    free(p);
    if (!f)
      continue;
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    corpus_add(c, buf, n);
  }
  if (d)
    closedir(d);
}

/* Mutate in into out (at most FUZZ_MAX_INPUT bytes); returns the length. */
static size_t mutate(const struct corpus *c, const char *in, size_t len,
                     char *out)
{
  size_t n = len, rounds = 1 + pick(4);

  memcpy(out, in, len);
  for (size_t r = 0; r < rounds; r++) {
    size_t at = pick(n + 1);

    switch (pick(6)) {
    case 0: /* flip a bit */
      if (n)
        out[pick(n)] ^= (char)(1u << pick(8));
      break;
    case 1: { /* insert a token */
      const char *t = tokens[pick(N_OF(tokens))];
      size_t tl = t[0] ? strlen(t) : 1;

      if (n + tl <= FUZZ_MAX_INPUT) {
        memmove(out + at + tl, out + at, n - at);
        memcpy(out + at, t, tl);
        n += tl;
      }
      break;
    }
    case 2: { /* delete a span */
      size_t del = pick(16) + 1;

      if (at + del <= n) {
        memmove(out + at, out + at + del, n - at - del);
        n -= del;
      }
      break;
    }
    case 3: { /* duplicate a span (deeper nesting, repeated keys) */
      size_t from = pick(n + 1), span = pick(64);

      if (from + span <= n && n + span <= FUZZ_MAX_INPUT) {
        char tmp[64];

        memcpy(tmp, out + from, span);
        memmove(out + at + span, out + at, n - at);
        memcpy(out + at, tmp, span);
        n += span;
      }
      break;
    }
    case 4: { /* splice in part of another input */
      size_t k = pick(c->n), from = pick(c->len[k] + 1);
      size_t span = pick(c->len[k] - from + 1);

      if (span > 256)
        span = 256;
      if (n + span <= FUZZ_MAX_INPUT) {
        memmove(out + at + span, out + at, n - at);
        memcpy(out + at, c->data[k] + from, span);
        n += span;
      }
      break;
    }
    default: /* a random byte */
      if (n < FUZZ_MAX_INPUT) {
        memmove(out + at + 1, out + at, n - at);
        out[at] = (char)pick(256);
        n++;
      }
      break;
    }
  }
  return n;
}

/* Run one input through the loader and, when safe, the manifest. */
static void run_one(const char *buf, size_t len)
{
  struct yaml_errors errs = {0};
  struct yaml_locs *t = yaml_locs_new();
  struct manifest *m = NULL;
  json_t *out = NULL;

  if (!t)
    return;
  yaml_load_buffer("fuzz.yaml", buf, len, "", &out, t, &errs);
  json_decref(out);
  yaml_locs_free(t);
  yaml_errors_free(&errs);
  /* include: and ${file:} would read whatever files a mutation names;
   * leave those inputs to the loader alone. */
  if (memmem(buf, len, "include", 7) || memmem(buf, len, "file:", 5))
    return;
  manifest_load_buffer("/nonexistent-integ-fuzz/fuzz.yaml", buf, len, &m,
                       &errs);
  if (m) {
    json_t *red = manifest_redact(m, "", m->root);

    json_decref(red);
  }
  manifest_free(m);
  yaml_errors_free(&errs);
}

int main(void)
{
  const char *top = getenv("abs_top_srcdir");
  const char *s_sec = getenv("FUZZ_SECONDS");
  const char *s_it = getenv("FUZZ_ITERATIONS");
  const char *s_seed = getenv("FUZZ_SEED");
  double budget = s_sec ? strtod(s_sec, NULL) : 10.0;
  unsigned long long iters = s_it ? strtoull(s_it, NULL, 10) : 200000;
  struct corpus c = {0};
  struct timespec t0, t1;
  unsigned long long done = 0;
  char *dir = NULL, *buf = malloc(FUZZ_MAX_INPUT + 1);
  double elapsed = 0;

  rng_state = s_seed ? strtoull(s_seed, NULL, 10) : 0x9E3779B97F4A7C15ULL;
  if (!rng_state)
    rng_state = 1;
  if (!buf)
    return 1;
  for (size_t i = 0; i < N_OF(builtin); i++)
    corpus_add(&c, builtin[i], strlen(builtin[i]));
  if (top) {
    if (asprintf(&dir, "%s/tests/manifest/bad", top) > 0)
      corpus_dir(&c, dir);
    free(dir);
    if (asprintf(&dir, "%s/tests/manifest/good", top) > 0)
      corpus_dir(&c, dir);
    free(dir);
  }
  /* Unchanged seeds first, then mutations. */
  for (size_t i = 0; i < c.n; i++)
    run_one(c.data[i], c.len[i]);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  while (done < iters) {
    size_t k = pick(c.n);
    size_t n = mutate(&c, c.data[k], c.len[k], buf);

    buf[n] = '\0';
    run_one(buf, n);
    done++;
    /* Keep some mutants as seeds so mutations compound. */
    if (pick(64) == 0 && c.n < 4096)
      corpus_add(&c, buf, n);
    if ((done & 63) == 0) {
      clock_gettime(CLOCK_MONOTONIC, &t1);
      elapsed = (double)(t1.tv_sec - t0.tv_sec) +
                (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
      if (elapsed >= budget)
        break;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  elapsed = (double)(t1.tv_sec - t0.tv_sec) +
            (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("1..1\nok 1 - fuzz_yaml: %llu mutated inputs (%zu seeds) in %.1f s, "
         "no crash\n",
         done, c.n, elapsed);
  for (size_t i = 0; i < c.n; i++)
    free(c.data[i]);
  free(c.data);
  free(c.len);
  free(buf);
  return 0;
}
