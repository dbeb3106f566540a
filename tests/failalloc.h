/* failalloc.h - fail the Nth allocation of a call, for N = 1, 2, ... until
 * the call makes no more, as SQLite tests itself; at each N the call must
 * return INTEG_ENOMEM (or the code its case documents) or succeed with the
 * very result of a run without failures, and free all it allocated.
 *
 * How allocations are reached. A program using the harness is linked with
 * FAILALLOC_LDFLAGS (Makefile.am): -Wl,--wrap=malloc,--wrap=free, ... so
 * every call to malloc, calloc, realloc, free, strdup, strndup, asprintf,
 * vasprintf and realpath made from the objects linked into the program
 * (libhost.la is a convenience library, so all of the host) goes to the
 * harness, which counts it, fails it when its turn comes, and otherwise
 * forwards it to __real_malloc and friends. jansson's allocations come
 * through json_set_alloc_funcs, and SQLite's through SQLITE_CONFIG_MALLOC
 * (failalloc_should_fail and the tracking calls below). jansson's parser
 * (json_loads, json_loadb, json_load_file, json_loadf, also wrapped)
 * counts as one allocation: see parse_fails in failalloc.c for why.
 *
 * Why --wrap and not a malloc defined in the program: under
 * --enable-sanitizers such a definition would take the place of ASan's
 * interceptor and ASan would lose track of the heap. --wrap renames only
 * the calls in the statically linked objects, and __real_malloc is then
 * whatever malloc the process has, glibc's or ASan's: the same harness runs
 * in both builds and ASan still checks every access (and LeakSanitizer
 * checks at exit what the harness cannot see).
 *
 * Not reached: allocations made inside other shared libraries (libyaml,
 * PCRE2, libcurl, glibc's glob and stdio).
 *
 * Leaks: the harness keeps the set of blocks it handed out; a block
 * allocated during a call and not freed when the call returns is a leak.
 *
 * Environment: FAILALLOC_ONLY=TEXT runs the cases whose name contains TEXT;
 * FAILALLOC_VERBOSE=1 prints every N; FAILALLOC_MAX=N bounds N (100000).
 */
#ifndef INTEG_TESTS_FAILALLOC_H
#define INTEG_TESTS_FAILALLOC_H

#include <stddef.h>

#include <jansson.h>

#include <integ/plugin.h>

/* One call under test: returns 0 or a negative INTEG_E* code, filling err.
 * It must free everything it allocated before returning, and may describe
 * its result with failalloc_result so a run that succeeded despite a
 * failed allocation can be compared with the reference run. */
typedef int (*failalloc_fn)(void *arg, struct integ_error *err);

struct failalloc_case {
  const char *name;
  failalloc_fn fn;
  void *arg;
  int also; /* another code documented for allocation failure, or 0 */
};

/* Run the cases (TAP on stdout, one line per case); the exit status. */
int failalloc_main(const struct failalloc_case *cases, size_t n);

/* The result of the call in progress, compared with the reference run's.
 * Allocations made here are not counted. */
void failalloc_result(const char *text, size_t len);
/* The same with v's compact JSON text (keys sorted); v may be NULL. */
void failalloc_result_json(const json_t *v);

/* Stop and restart counting inside a call (for test-side work such as
 * building an argument); pauses nest. */
void failalloc_pause(void);
void failalloc_resume(void);

/* For an allocator the program routes itself (SQLite's): whether this
 * allocation is to fail, and the bookkeeping of blocks. Hook functions
 * are marked FAILALLOC_HOOK so that backtraces skip them when they name
 * the host's call that allocated. */
#define FAILALLOC_HOOK __attribute__((section("failalloc_hooks"), noinline))
int failalloc_should_fail(void);
void failalloc_track(void *p);
void failalloc_untrack(void *p);

/* The forwarding functions (--wrap's __real_ names). */
void *__real_malloc(size_t n);
void __real_free(void *p);

#endif
