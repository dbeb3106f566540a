/* failalloc.c - the allocation-failure harness (see failalloc.h). */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "error.h"
#include "failalloc.h"

/* --wrap's names: __wrap_X receives the calls to X, __real_X is X. */
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
int __real_vasprintf(char **out, const char *fmt, va_list ap);
char *__real_realpath(const char *path, char *resolved);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
int __wrap_vasprintf(char **out, const char *fmt, va_list ap);
int __wrap_asprintf(char **out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *__wrap_realpath(const char *path, char *resolved);

json_t *__real_json_loads(const char *s, size_t flags, json_error_t *e);
json_t *__real_json_loadb(const char *b, size_t n, size_t flags,
                          json_error_t *e);
json_t *__real_json_load_file(const char *path, size_t flags, json_error_t *e);
json_t *__real_json_loadf(FILE *f, size_t flags, json_error_t *e);
json_t *__real_json_loadfd(int fd, size_t flags, json_error_t *e);
json_t *__wrap_json_loads(const char *s, size_t flags, json_error_t *e);
json_t *__wrap_json_loadb(const char *b, size_t n, size_t flags,
                          json_error_t *e);
json_t *__wrap_json_load_file(const char *path, size_t flags, json_error_t *e);
json_t *__wrap_json_loadf(FILE *f, size_t flags, json_error_t *e);
json_t *__wrap_json_loadfd(int fd, size_t flags, json_error_t *e);

/* ASan's hook for its fatal reports (absent without ASan). */
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

/* The program's own code, to find the host's frame in a backtrace, and
 * the harness's hooks within it (FAILALLOC_HOOK), which it skips. */
extern char __executable_start[], etext[];
extern char __start_failalloc_hooks[], __stop_failalloc_hooks[];

#define BT_MAX 24
#define SITES_MAX 8192

static struct {
  int in_call;            /* a call under test is running */
  int paused;             /* pause depth */
  unsigned long serial;   /* of the call in progress */
  unsigned long count;    /* allocations counted in this call */
  unsigned long fail_at;  /* fail allocation number fail_at (0: none) */
  int persistent;         /* and every one after it */
  unsigned long injected; /* failures injected in this call */
  size_t call_live;       /* blocks of this call not yet freed */
  void *bt[BT_MAX];       /* where the first failure was injected */
  int bt_n;               /* its depth */
  const char *case_name;  /* for crash reports */
  char *result;           /* failalloc_result's copy */
  size_t result_len;
  int have_result;
} fa;

/* ------------------------------------------------- the set of blocks */

/* Open addressing with linear probing; removal shifts back so no
 * tombstones pile up. Each slot notes the call that allocated it. */
struct slot {
  void *p;
  unsigned long serial;
};
static struct slot *set;
static size_t set_cap, set_n;

static size_t slot_of(const void *p)
{
  uintptr_t h = (uintptr_t)p;
  h ^= h >> 17;
  h *= (uintptr_t)0x9e3779b97f4a7c15ull;
  return (size_t)(h >> 7) & (set_cap - 1);
}

static void set_grow(void)
{
  struct slot *old = set;
  size_t old_cap = set_cap, i;

  set_cap = set_cap ? set_cap * 2 : 4096;
  set = __real_calloc(set_cap, sizeof *set);
  if (!set) {
    fputs("failalloc: out of memory for its own bookkeeping\n", stderr);
    abort();
  }
  set_n = 0;
  for (i = 0; i < old_cap; i++)
    if (old[i].p) {
      size_t j = slot_of(old[i].p);
      while (set[j].p)
        j = (j + 1) & (set_cap - 1);
      set[j] = old[i];
      set_n++;
    }
  __real_free(old);
}

void failalloc_track(void *p)
{
  size_t j;

  if (!p)
    return;
  if ((set_n + 1) * 2 > set_cap)
    set_grow();
  j = slot_of(p);
  while (set[j].p && set[j].p != p)
    j = (j + 1) & (set_cap - 1);
  if (!set[j].p)
    set_n++;
  else if (set[j].serial == fa.serial && fa.in_call)
    fa.call_live--; /* freed behind our back and handed out again */
  set[j].p = p;
  set[j].serial = fa.in_call ? fa.serial : 0;
  if (fa.in_call)
    fa.call_live++;
}

void failalloc_untrack(void *p)
{
  size_t i, j, k;

  if (!p || !set_cap)
    return;
  i = slot_of(p);
  while (set[i].p && set[i].p != p)
    i = (i + 1) & (set_cap - 1);
  if (!set[i].p)
    return; /* allocated where the harness does not see */
  if (fa.in_call && set[i].serial == fa.serial)
    fa.call_live--;
  set[i].p = NULL;
  set_n--;
  /* Shift back the entries that probed past the hole. */
  for (j = (i + 1) & (set_cap - 1); set[j].p; j = (j + 1) & (set_cap - 1)) {
    k = slot_of(set[j].p);
    if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
      set[i] = set[j];
      set[j].p = NULL;
      i = j;
    }
  }
}

/* ----------------------------------------------------- the countdown */

FAILALLOC_HOOK int failalloc_should_fail(void)
{
  unsigned long n;

  if (!fa.in_call || fa.paused)
    return 0;
  n = ++fa.count;
  if (!fa.fail_at || n < fa.fail_at || (n > fa.fail_at && !fa.persistent))
    return 0;
  if (!fa.injected++)
    fa.bt_n = backtrace(fa.bt, BT_MAX);
  errno = ENOMEM;
  return 1;
}

void failalloc_pause(void)
{
  fa.paused++;
}

void failalloc_resume(void)
{
  fa.paused--;
}

FAILALLOC_HOOK void *__wrap_malloc(size_t n)
{
  void *p;

  if (failalloc_should_fail())
    return NULL;
  p = __real_malloc(n);
  failalloc_track(p);
  return p;
}

FAILALLOC_HOOK void *__wrap_calloc(size_t n, size_t size)
{
  void *p;

  if (failalloc_should_fail())
    return NULL;
  p = __real_calloc(n, size);
  failalloc_track(p);
  return p;
}

FAILALLOC_HOOK void *__wrap_realloc(void *p, size_t n)
{
  void *q;

  if (failalloc_should_fail())
    return NULL; /* p is left as it was */
  q = __real_realloc(p, n);
  if (q || (p && n == 0)) {
    failalloc_untrack(p);
    failalloc_track(q);
  }
  return q;
}

FAILALLOC_HOOK void __wrap_free(void *p)
{
  failalloc_untrack(p);
  __real_free(p);
}

FAILALLOC_HOOK char *__wrap_strdup(const char *s)
{
  char *p;

  if (failalloc_should_fail())
    return NULL;
  p = __real_strdup(s);
  failalloc_track(p);
  return p;
}

FAILALLOC_HOOK char *__wrap_strndup(const char *s, size_t n)
{
  char *p;

  if (failalloc_should_fail())
    return NULL;
  p = __real_strndup(s, n);
  failalloc_track(p);
  return p;
}

FAILALLOC_HOOK int __wrap_vasprintf(char **out, const char *fmt, va_list ap)
{
  int r;

  if (failalloc_should_fail())
    return -1;
  r = __real_vasprintf(out, fmt, ap);
  if (r >= 0)
    failalloc_track(*out);
  return r;
}

FAILALLOC_HOOK int __wrap_asprintf(char **out, const char *fmt, ...)
{
  va_list ap;
  int r;

  va_start(ap, fmt);
  r = __wrap_vasprintf(out, fmt, ap);
  va_end(ap);
  return r;
}

FAILALLOC_HOOK char *__wrap_realpath(const char *path, char *resolved)
{
  char *r;

  if (!resolved && failalloc_should_fail())
    return NULL;
  r = __real_realpath(path, resolved);
  if (!resolved)
    failalloc_track(r);
  return r;
}

FAILALLOC_HOOK static void *json_malloc_hook(size_t n)
{
  return __wrap_malloc(n);
}

FAILALLOC_HOOK static void json_free_hook(void *p)
{
  __wrap_free(p);
}

/* jansson's parser counts as one allocation that fails cleanly. Failing
 * inside it tests jansson, not the host: jansson 2.14's lexer ignores a
 * failed append to its token buffer (lex_save), then reads past the
 * buffer's end and aborts (load.c, lex_scan_string's assert). What the
 * host must handle is a parse that fails for want of memory: the error
 * below, as a jansson that reported it would give, with errno ENOMEM. */
FAILALLOC_HOOK static int parse_fails(json_error_t *e)
{
  if (!failalloc_should_fail()) {
    failalloc_pause();
    return 0;
  }
  if (e) {
    memset(e, 0, sizeof *e);
    e->line = e->column = e->position = -1;
    snprintf(e->text, sizeof e->text, "out of memory");
    e->text[JSON_ERROR_TEXT_LENGTH - 1] = (char)json_error_out_of_memory;
  }
  errno = ENOMEM;
  return 1;
}

FAILALLOC_HOOK json_t *__wrap_json_loads(const char *s, size_t flags,
                                         json_error_t *e)
{
  json_t *v;

  if (parse_fails(e))
    return NULL;
  v = __real_json_loads(s, flags, e);
  failalloc_resume();
  return v;
}

FAILALLOC_HOOK json_t *__wrap_json_loadb(const char *b, size_t n, size_t flags,
                                         json_error_t *e)
{
  json_t *v;

  if (parse_fails(e))
    return NULL;
  v = __real_json_loadb(b, n, flags, e);
  failalloc_resume();
  return v;
}

FAILALLOC_HOOK json_t *__wrap_json_load_file(const char *path, size_t flags,
                                             json_error_t *e)
{
  json_t *v;

  if (parse_fails(e))
    return NULL;
  v = __real_json_load_file(path, flags, e);
  failalloc_resume();
  return v;
}

FAILALLOC_HOOK json_t *__wrap_json_loadf(FILE *f, size_t flags,
                                         json_error_t *e)
{
  json_t *v;

  if (parse_fails(e))
    return NULL;
  v = __real_json_loadf(f, flags, e);
  failalloc_resume();
  return v;
}

FAILALLOC_HOOK json_t *__wrap_json_loadfd(int fd, size_t flags,
                                          json_error_t *e)
{
  json_t *v;

  if (parse_fails(e))
    return NULL;
  v = __real_json_loadfd(fd, flags, e);
  failalloc_resume();
  return v;
}

/* ---------------------------------------------------------- results */

void failalloc_result(const char *text, size_t len)
{
  __real_free(fa.result);
  fa.result = __real_malloc(len + 1);
  if (!fa.result)
    abort();
  memcpy(fa.result, text, len);
  fa.result[len] = '\0';
  fa.result_len = len;
  fa.have_result = 1;
}

void failalloc_result_json(const json_t *v)
{
  char *s;

  failalloc_pause();
  s = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)
        : NULL;
  if (v && !s)
    abort();
  failalloc_result(s ? s : "(null)", s ? strlen(s) : 6);
  free(s);
  failalloc_resume();
}

/* ------------------------------------------------------ the reports */

/* Whether a return address is in the program's code, not the harness's
 * hooks nor a library. */
static int own_frame(const void *a)
{
  const char *p = a;
  return p >= __executable_start && p < etext &&
         !(p >= __start_failalloc_hooks && p < __stop_failalloc_hooks);
}

/* The first frame of the backtrace that is the program's own code past
 * the harness: the host's call that allocated. */
static void *site_of(void *const *bt, int n)
{
  for (int i = 1; i < n; i++)
    if (own_frame(bt[i]))
      return bt[i];
  return NULL;
}

/* Print the backtrace as "# at FUNCTION (FILE:LINE)" lines, resolved by
 * addr2line when it is there. */
static void print_backtrace(void *const *bt, int n)
{
  char cmd[4096];
  size_t len;
  int first = 1;
  FILE *p;

  len = (size_t)snprintf(cmd, sizeof cmd,
                         "addr2line -f -i -p -C -e /proc/%ld/exe",
                         (long)getpid());
  for (int i = 1; i < n && len < sizeof cmd - 32; i++) {
    Dl_info info;
    if (!own_frame(bt[i]) || !dladdr(bt[i], &info))
      continue;
    /* A return address points after the call. */
    len += (size_t)snprintf(
        cmd + len, sizeof cmd - len, " %#lx",
        (unsigned long)((char *)bt[i] - (char *)info.dli_fbase - 1));
    first = 0;
  }
  if (first) {
    fflush(stdout);
    backtrace_symbols_fd((void *const *)bt, n, STDOUT_FILENO);
    return;
  }
  fflush(stdout);
  p = popen(cmd, "r");
  if (p) {
    char line[1024];
    while (fgets(line, sizeof line, p))
      printf("#     at %s", line);
    if (pclose(p) == 0)
      return;
  }
  backtrace_symbols_fd((void *const *)bt, n, STDOUT_FILENO);
}

static void on_death(void)
{
  if (fa.in_call) {
    printf("# failalloc: died in \"%s\" with allocation %lu failed%s\n",
           fa.case_name, fa.fail_at, fa.persistent ? " and all after" : "");
    if (fa.injected) {
      printf("#   the failed allocation:\n");
      print_backtrace(fa.bt, fa.bt_n);
    }
    fflush(stdout);
  }
}

static void on_signal(int sig)
{
  signal(sig, SIG_DFL);
  on_death();
  raise(sig);
}

/* ------------------------------------------------------------- runs */

struct stats {
  unsigned long allocations; /* in the reference run */
  unsigned long runs;        /* calls with a failure injected */
  unsigned long injections;  /* failures injected, both modes */
  unsigned long enomem;      /* calls that returned the failure code */
  unsigned long recovered;   /* calls that succeeded all the same */
  size_t n_sites;
  void *sites[SITES_MAX];
};

static int call(const struct failalloc_case *c, unsigned long fail_at,
                int persistent, struct integ_error *err)
{
  int rc;

  error_clear(err);
  fa.have_result = 0;
  fa.serial++;
  fa.count = 0;
  fa.fail_at = fail_at;
  fa.persistent = persistent;
  fa.injected = 0;
  fa.call_live = 0;
  fa.paused = 0;
  fa.in_call = 1;
  rc = c->fn(c->arg, err);
  fa.in_call = 0;
  return rc;
}

static void add_site(struct stats *st, void *site)
{
  for (size_t i = 0; i < st->n_sites; i++)
    if (st->sites[i] == site)
      return;
  if (st->n_sites < SITES_MAX)
    st->sites[st->n_sites++] = site;
}

/* One case: the reference run, then each N in both modes. Returns the
 * number of problems found (printed as TAP diagnostics). */
static unsigned run_case(const struct failalloc_case *c, struct stats *st,
                         unsigned long max, int verbose)
{
  struct integ_error err;
  char *ref = NULL;
  size_t ref_len = 0;
  unsigned problems = 0;
  int rc;

  fa.case_name = c->name;
  /* Twice: the first may fill caches that live on (time zones, SQLite's
   * own state), which are not leaks of the second. */
  for (int i = 0; i < 2; i++) {
    rc = call(c, 0, 0, &err);
    if (rc) {
      printf("# %s fails with no failure injected: %d (%s) %s\n", c->name, rc,
             error_code_name(rc), err.message);
      return 1;
    }
    if (fa.call_live) {
      printf("# %s leaks %zu blocks with no failure injected\n", c->name,
             fa.call_live);
      return 1;
    }
  }
  st->allocations = fa.count;
  if (fa.have_result) {
    ref = __real_malloc(fa.result_len + 1);
    if (!ref)
      abort();
    memcpy(ref, fa.result, fa.result_len + 1);
    ref_len = fa.result_len;
  }
  for (int persistent = 0; persistent < 2; persistent++) {
    for (unsigned long n = 1;; n++) {
      const char *what = NULL;
      char detail[INTEG_ERROR_MAX + 128] = "";

      if (n > max) {
        printf("# %s: still allocating after %lu (FAILALLOC_MAX)\n", c->name,
               max);
        problems++;
        break;
      }
      rc = call(c, n, persistent, &err);
      if (!fa.injected) {
        if (rc) {
          what = "failed with no failure injected";
          snprintf(detail, sizeof detail, "%d (%s) %s", rc,
                   error_code_name(rc), err.message);
        }
      } else {
        st->runs++;
        st->injections += fa.injected;
        add_site(st, site_of(fa.bt, fa.bt_n));
        if (rc == 0) {
          st->recovered++;
          if (ref && (!fa.have_result || fa.result_len != ref_len ||
                      memcmp(fa.result, ref, ref_len) != 0)) {
            what = "succeeded with a different result";
            snprintf(detail, sizeof detail, "got %.*s",
                     fa.have_result ? (int)fa.result_len : 6,
                     fa.have_result ? fa.result : "(none)");
          }
        } else if (rc == INTEG_ENOMEM || (c->also && rc == c->also)) {
          st->enomem++;
          if (err.code != rc || !err.message[0]) {
            what = "returned the code but left the error unset";
            snprintf(detail, sizeof detail, "rc %d, err.code %d \"%s\"", rc,
                     err.code, err.message);
          }
        } else {
          what = "returned another code";
          snprintf(detail, sizeof detail, "%d (%s) %s", rc,
                   error_code_name(rc), err.message);
        }
      }
      if (!what && fa.call_live) {
        what = "leaked";
        snprintf(detail, sizeof detail, "%zu blocks", fa.call_live);
      }
      if (verbose)
        printf("# %s: N=%lu%s rc=%d injected=%lu live=%zu\n", c->name, n,
               persistent ? "+" : "", rc, fa.injected, fa.call_live);
      if (what) {
        problems++;
        printf("# %s: allocation %lu failed%s: %s:\n#   ", c->name, n,
               persistent ? " (and all after it)" : "", what);
        for (const char *d = detail; *d; d++)
          fputs(*d == '\n' ? "\n#   " : (char[]){*d, '\0'}, stdout);
        putchar('\n');
        if (fa.injected) {
          printf("#   the failed allocation:\n");
          print_backtrace(fa.bt, fa.bt_n);
        }
        if (problems >= 5) {
          printf("# %s: stopping after 5 problems\n", c->name);
          goto out;
        }
      }
      if (!fa.injected)
        break;
    }
  }
out:
  __real_free(ref);
  return problems;
}

int failalloc_main(const struct failalloc_case *cases, size_t n)
{
  const char *only = getenv("FAILALLOC_ONLY");
  const char *v = getenv("FAILALLOC_MAX");
  unsigned long max = v && *v ? strtoul(v, NULL, 10) : 100000;
  int verbose = getenv("FAILALLOC_VERBOSE") != NULL;
  unsigned long total_inj = 0, total_n = 0, total_runs = 0;
  size_t total_sites = 0, failed = 0;
  struct stats *st;
  void *warm[1];

  json_set_alloc_funcs(json_malloc_hook, json_free_hook);
  backtrace(warm, 1); /* loads libgcc now, not in the middle of a call */
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (__sanitizer_set_death_callback) {
    __sanitizer_set_death_callback(on_death);
  } else {
    signal(SIGSEGV, on_signal);
    signal(SIGBUS, on_signal);
    signal(SIGABRT, on_signal);
    signal(SIGFPE, on_signal);
  }
  st = __real_malloc(sizeof *st);
  if (!st)
    return 99;
  printf("1..%zu\n", n);
  for (size_t i = 0; i < n; i++) {
    unsigned problems;

    if (only && !strstr(cases[i].name, only)) {
      printf("ok %zu - %s # SKIP not in FAILALLOC_ONLY\n", i + 1,
             cases[i].name);
      continue;
    }
    memset(st, 0, sizeof *st);
    problems = run_case(&cases[i], st, max, verbose);
    total_inj += st->injections;
    total_n += st->allocations;
    total_sites += st->n_sites;
    if (problems)
      failed++;
    total_runs += st->runs;
    printf("%s %zu - %s: %lu allocations; %lu runs with the Nth failing, "
           "alone or with all after it (%lu ENOMEM, %lu same result), "
           "%lu failures injected at %zu call sites\n",
           problems ? "not ok" : "ok", i + 1, cases[i].name, st->allocations,
           st->runs, st->enomem, st->recovered, st->injections, st->n_sites);
  }
  printf("# failalloc: %zu cases, %lu allocations, %lu runs, %lu failures "
         "injected, %zu call sites\n",
         n, total_n, total_runs, total_inj, total_sites);
  __real_free(st);
  __real_free(fa.result);
  return failed ? 1 : 0;
}
