/* fuzz.h - what the mutation-loop fuzz tests share: a seeded xorshift
 * generator (runs repeat exactly for a seed), a monotonic clock for the
 * FUZZ_SECONDS bound, and numbers from the environment. */
#ifndef INTEG_TESTS_FUZZ_H
#define INTEG_TESTS_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
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

#endif
