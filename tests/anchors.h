/* anchors.h - the one policy for reference data in the cmocka tests.
 *
 * Reference data is the anchors directory ($ANCHORS, from configure
 * --with-anchors=DIR) and, for schedules, tzdata's zones. Missing
 * reference data fails the tests that need it, unless configure
 * --without-anchors said it is absent on purpose (make check then sets
 * ANCHORS to the empty string): those tests are then reported skipped,
 * "ok N - NAME # SKIP anchors absent (--without-anchors)".
 *
 * cmocka 1.1's own skip() prints "not ok N # SKIP", which automake's TAP
 * driver counts as a failure: so a skipped test is an entry renamed with
 * the directive that runs nothing (ANCHORS_TEST, or anchors_test when the
 * decision needs more than the configuration). Include after cmocka.h.
 */
#ifndef INTEG_TESTS_ANCHORS_H
#define INTEG_TESTS_ANCHORS_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define ANCHORS_SKIP " # SKIP anchors absent (--without-anchors)"

/* Whether configure --without-anchors said the data is absent. */
static inline int anchors_absent(void)
{
  const char *a = getenv("ANCHORS");

  return a && !*a;
}

/* The path of rel (a file or directory) in the anchors directory, in buf;
 * NULL with why (a message saying what to do) when it is not there. */
static inline const char *anchors_find(const char *rel, char *buf, size_t size,
                                       char *why, size_t why_size)
{
  const char *a = getenv("ANCHORS");
  struct stat st;

  if (!a || !*a) {
    snprintf(why, why_size,
             "ANCHORS is %s: run the test with make check, or set "
             "ANCHORS=DIR (ANCHORS= when the reference data is absent on "
             "purpose)",
             a ? "empty" : "not set");
    return NULL;
  }
  snprintf(buf, size, "%s/%s", a, rel);
  if (stat(buf, &st) != 0) {
    snprintf(why, why_size,
             "reference data %.4000s not found: configure --with-anchors=DIR, "
             "or --without-anchors to skip the tests that need it",
             buf);
    return NULL;
  }
  return buf;
}

/* The same, failing the running test when the data is not there. */
static inline const char *anchors_path(const char *rel, char *buf, size_t size)
{
  char why[4200];

  if (!anchors_find(rel, buf, size, why, sizeof why))
    fail_msg("%s", why);
  return buf;
}

static inline void anchors_skipped(void **state)
{
  (void)state;
}

/* A cmocka entry for test f, skipped when skip is true. */
#define anchors_test(f, skip)                                                 \
  {                                                                           \
    (skip) ? #f ANCHORS_SKIP : #f, (skip) ? anchors_skipped : (f), NULL,      \
        NULL, NULL                                                            \
  }

/* A test that reads the anchors directory. */
#define ANCHORS_TEST(f) anchors_test(f, anchors_absent())

#endif
