/* fuzz.h - what the mutation-loop fuzz tests share: a seeded xorshift
 * generator (runs repeat exactly for a seed), a monotonic clock for the
 * FUZZ_SECONDS bound, and numbers from the environment. */
#ifndef INTEG_TESTS_FUZZ_H
#define INTEG_TESTS_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rng {
  uint64_t s;
};

static inline uint64_t rnd(struct rng *r)
{
  r->s ^= r->s << 13;
  r->s ^= r->s >> 7;
  r->s ^= r->s << 17;
  return r->s;
}

/* A number in [0, n), 0 when n is 0. */
static inline size_t rnd_below(struct rng *r, size_t n)
{
  return n ? (size_t)(rnd(r) % n) : 0;
}

/* Seconds on the monotonic clock. */
static inline double now(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The environment variable `name` as a number, or dflt when it is unset,
 * empty or not a number. */
static inline unsigned long env_ulong(const char *name, unsigned long dflt)
{
  const char *v = getenv(name);
  char *end;
  unsigned long n;

  if (!v || !*v)
    return dflt;
  n = strtoul(v, &end, 10);
  return *end ? dflt : n;
}

/* The mutations the fuzzers share, on buf[0..n) at offset at; each
 * returns the new length and keeps it under max. */

/* Insert token t (an empty t stands for one NUL byte). */
static inline size_t fuzz_insert(char *buf, size_t n, size_t at, const char *t,
                                 size_t max)
{
  size_t k = t[0] ? strlen(t) : 1;

  if (n + k < max) {
    memmove(buf + at + k, buf + at, n - at);
    memcpy(buf + at, t, k);
    n += k;
  }
  return n;
}

/* Delete a short range. */
static inline size_t fuzz_delete(struct rng *r, char *buf, size_t n, size_t at)
{
  size_t k = rnd_below(r, n - at + 1);

  if (k > 8)
    k = 1 + k % 8;
  memmove(buf + at, buf + at + k, n - at - k);
  return n - k;
}

/* Duplicate a range (deeper nesting, repeated keys, longer chains). */
static inline size_t fuzz_duplicate(struct rng *r, char *buf, size_t n,
                                    size_t at, size_t max)
{
  size_t k = rnd_below(r, n - at + 1);

  if (n + k < max) {
    memmove(buf + at + k, buf + at, n - at);
    n += k;
  }
  return n;
}

/* Splice in a piece of another input. */
static inline size_t fuzz_splice(struct rng *r, char *buf, size_t n, size_t at,
                                 const char *other, size_t other_len,
                                 size_t max)
{
  size_t k = rnd_below(r, other_len + 1);

  if (n + k < max) {
    size_t from = rnd_below(r, other_len - k + 1);

    memmove(buf + at + k, buf + at, n - at);
    memcpy(buf + at, other + from, k);
    n += k;
  }
  return n;
}

#endif
