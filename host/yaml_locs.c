/* yaml_locs.c - error lists, key paths and the location table; see
 * yaml_locs.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "yaml_locs.h"

#include "error.h"

/* ------------------------------------------------------------ errors */

int yaml_errors_addv(struct yaml_errors *e, const char *fmt, va_list ap)
{
  char *msg = NULL;
  int rc = 0;

  if (e->n >= YAML_MAX_ERRORS) {
    e->dropped++;
    goto out;
  }
  if (e->n == e->cap) {
    size_t cap = e->cap ? e->cap * 2 : 8;
    char **m = realloc(e->msgs, cap * sizeof(*m));

    if (!m) {
      rc = INTEG_ENOMEM;
      goto out;
    }
    e->msgs = m;
    e->cap = cap;
  }
  if (vasprintf(&msg, fmt, ap) < 0) {
    rc = INTEG_ENOMEM;
    goto out;
  }
  e->msgs[e->n++] = msg;
out:
  if (rc) {
    e->nomem = 1;
    e->dropped++;
  }
  return rc;
}

int yaml_errors_add(struct yaml_errors *e, const char *fmt, ...)
{
  va_list ap;
  int rc;

  va_start(ap, fmt);
  rc = yaml_errors_addv(e, fmt, ap);
  va_end(ap);
  return rc;
}

size_t yaml_errors_count(const struct yaml_errors *e)
{
  return e->n + e->dropped;
}

void yaml_errors_print(const struct yaml_errors *e, FILE *fp)
{
  for (size_t i = 0; i < e->n; i++)
    fprintf(fp, "%s\n", e->msgs[i]);
  if (e->dropped)
    fprintf(fp, "(%zu more error%s not shown%s)\n", e->dropped,
            e->dropped == 1 ? "" : "s", e->nomem ? ": out of memory" : "");
}

int yaml_errors_to_error(const struct yaml_errors *e, struct integ_error *err)
{
  size_t more = yaml_errors_count(e) - (e->n ? 1 : 0);

  if (e->nomem && !e->n)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  if (!e->n)
    return error_set(err, INTEG_ECONFIG, "invalid YAML");
  if (more)
    return error_set(err, INTEG_ECONFIG, "%s (and %zu more error%s)",
                     e->msgs[0], more, more == 1 ? "" : "s");
  return error_set(err, INTEG_ECONFIG, "%s", e->msgs[0]);
}

void yaml_errors_free(struct yaml_errors *e)
{
  for (size_t i = 0; i < e->n; i++)
    free(e->msgs[i]);
  free(e->msgs);
  memset(e, 0, sizeof(*e));
}

/* ------------------------------------------------------------- paths */

static int path_reserve(struct yaml_path *p, size_t extra)
{
  size_t need = p->len + extra + 1;
  char *s;

  if (need <= p->cap)
    return 0;
  if (need < 64)
    need = 64;
  if (need < p->cap * 2)
    need = p->cap * 2;
  s = realloc(p->s, need);
  if (!s)
    return INTEG_ENOMEM;
  if (!p->s)
    s[0] = '\0';
  p->s = s;
  p->cap = need;
  return 0;
}

static size_t path_push(struct yaml_path *p, const char *sep, const char *s,
                        size_t n)
{
  size_t old = p->len, ns = strlen(sep);

  if (path_reserve(p, ns + n))
    return (size_t)-1;
  memcpy(p->s + p->len, sep, ns);
  memcpy(p->s + p->len + ns, s, n);
  p->len += ns + n;
  p->s[p->len] = '\0';
  return old;
}

size_t yaml_path_push_key(struct yaml_path *p, const char *key)
{
  return path_push(p, p->len ? "." : "", key, strlen(key));
}

size_t yaml_path_push_index(struct yaml_path *p, size_t i)
{
  char num[32];
  int n = snprintf(num, sizeof(num), "[%zu]", i);

  return path_push(p, "", num, (size_t)n);
}

void yaml_path_pop(struct yaml_path *p, size_t len)
{
  if (p->s && len <= p->len) {
    p->len = len;
    p->s[len] = '\0';
  }
}

const char *yaml_path_str(const struct yaml_path *p)
{
  return p->s ? p->s : "";
}

void yaml_path_free(struct yaml_path *p)
{
  free(p->s);
  memset(p, 0, sizeof(*p));
}

/* --------------------------------------------------- location table */

/* Open addressing over an entry array: slots hold entry index + 1. Removal
 * (only for whole prefixes, when a connector is replaced) compacts the
 * entries and rebuilds the slots. */
struct loc_entry {
  char *path;
  size_t hash;
  struct yaml_loc loc;
};

struct yaml_locs {
  struct loc_entry *e;
  size_t n, cap;
  size_t *slot;
  size_t nslot; /* power of two, > 2 * n */
  char **files; /* interned file names */
  size_t nfiles;
};

static size_t hash_mem(const char *s, size_t n)
{
  size_t h = 1469598103934665603ULL & SIZE_MAX;

  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * (1099511628211ULL & SIZE_MAX);
  return h;
}

static size_t hash_str(const char *s)
{
  return hash_mem(s, strlen(s));
}

struct yaml_locs *yaml_locs_new(void)
{
  return calloc(1, sizeof(struct yaml_locs));
}

void yaml_locs_free(struct yaml_locs *t)
{
  if (!t)
    return;
  for (size_t i = 0; i < t->n; i++)
    free(t->e[i].path);
  for (size_t i = 0; i < t->nfiles; i++)
    free(t->files[i]);
  free(t->e);
  free(t->slot);
  free(t->files);
  free(t);
}

static int rehash(struct yaml_locs *t, size_t nslot)
{
  size_t *slot = calloc(nslot, sizeof(*slot));

  if (!slot)
    return INTEG_ENOMEM;
  for (size_t i = 0; i < t->n; i++) {
    size_t j = t->e[i].hash & (nslot - 1);

    while (slot[j])
      j = (j + 1) & (nslot - 1);
    slot[j] = i + 1;
  }
  free(t->slot);
  t->slot = slot;
  t->nslot = nslot;
  return 0;
}

/* The entry of path[0..len) (hash h), or NULL. */
static struct loc_entry *lookup_n(const struct yaml_locs *t, const char *path,
                                  size_t len, size_t h)
{
  if (!t->nslot)
    return NULL;
  for (size_t j = h & (t->nslot - 1); t->slot[j];
       j = (j + 1) & (t->nslot - 1)) {
    struct loc_entry *e = &t->e[t->slot[j] - 1];

    if (e->hash == h && strncmp(e->path, path, len) == 0 &&
        e->path[len] == '\0')
      return e;
  }
  return NULL;
}

static struct loc_entry *lookup(const struct yaml_locs *t, const char *path,
                                size_t h)
{
  return lookup_n(t, path, strlen(path), h);
}

static const char *intern_file(struct yaml_locs *t, const char *file)
{
  char **f, *copy;

  if (!file)
    file = "";
  /* Few files per table: the last one is nearly always the one. */
  for (size_t i = t->nfiles; i-- > 0;)
    if (strcmp(t->files[i], file) == 0)
      return t->files[i];
  copy = strdup(file);
  if (!copy)
    return NULL;
  f = realloc(t->files, (t->nfiles + 1) * sizeof(*f));
  if (!f) {
    free(copy);
    return NULL;
  }
  t->files = f;
  t->files[t->nfiles++] = copy;
  return copy;
}

int yaml_locs_set(struct yaml_locs *t, const char *path,
                  const struct yaml_loc *loc)
{
  size_t h = hash_str(path);
  struct loc_entry *e = lookup(t, path, h);
  const char *file = intern_file(t, loc->file);
  char *copy;

  if (!file)
    return INTEG_ENOMEM;
  if (e) {
    e->loc = *loc;
    e->loc.file = file;
    return 0;
  }
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    struct loc_entry *ne = realloc(t->e, cap * sizeof(*ne));

    if (!ne)
      return INTEG_ENOMEM;
    t->e = ne;
    t->cap = cap;
  }
  if ((t->n + 1) * 2 >= t->nslot && rehash(t, t->nslot ? t->nslot * 2 : 128))
    return INTEG_ENOMEM;
  copy = strdup(path);
  if (!copy)
    return INTEG_ENOMEM;
  e = &t->e[t->n++];
  e->path = copy;
  e->hash = h;
  e->loc = *loc;
  e->loc.file = file;
  {
    size_t j = h & (t->nslot - 1);

    while (t->slot[j])
      j = (j + 1) & (t->nslot - 1);
    t->slot[j] = t->n;
  }
  return 0;
}

const struct yaml_loc *yaml_locs_find(const struct yaml_locs *t,
                                      const char *path)
{
  struct loc_entry *e;

  if (!t || !path)
    return NULL;
  e = lookup(t, path, hash_str(path));
  return e ? &e->loc : NULL;
}

/* Length of path's parent ("a.b[2]" -> "a.b", "a.b" -> "a", "a" -> ""). */
static size_t parent_len(const char *path, size_t len)
{
  while (len > 0) {
    char c = path[--len];

    if (c == '.' || c == '[')
      return len;
  }
  return 0;
}

const struct yaml_loc *yaml_locs_nearest(const struct yaml_locs *t,
                                         const char *path, size_t *found_len)
{
  size_t len = path ? strlen(path) : 0;
  const struct yaml_loc *loc = NULL;

  if (!t || !path)
    return NULL;
  /* The path, then each parent in turn: prefixes, looked up in place. */
  for (;;) {
    struct loc_entry *e = lookup_n(t, path, len, hash_mem(path, len));

    loc = e ? &e->loc : NULL;
    if (loc || len == 0)
      break;
    len = parent_len(path, len);
  }
  if (found_len)
    *found_len = loc ? len : 0;
  return loc;
}

void yaml_locs_add_flags(struct yaml_locs *t, const char *path, unsigned flags)
{
  struct loc_entry *e = t ? lookup(t, path, hash_str(path)) : NULL;

  if (e)
    e->loc.flags |= flags;
}

static int under_prefix(const char *path, const char *prefix, size_t plen)
{
  if (plen == 0)
    return 1;
  if (strncmp(path, prefix, plen) != 0)
    return 0;
  return path[plen] == '\0' || path[plen] == '.' || path[plen] == '[';
}

void yaml_locs_remove_prefix(struct yaml_locs *t, const char *prefix)
{
  size_t plen = strlen(prefix), w = 0;

  for (size_t i = 0; i < t->n; i++) {
    if (under_prefix(t->e[i].path, prefix, plen))
      free(t->e[i].path);
    else
      t->e[w++] = t->e[i];
  }
  if (w == t->n)
    return;
  t->n = w;
  /* Rebuilding into the same size cannot need more memory than we hold;
   * if calloc fails anyway, fall back to a table with no index. */
  if (rehash(t, t->nslot)) {
    free(t->slot);
    t->slot = NULL;
    t->nslot = 0;
    if (t->n)
      rehash(t, 128);
  }
}

int yaml_locs_copy_prefix(struct yaml_locs *dst, const struct yaml_locs *src,
                          const char *prefix)
{
  size_t plen = strlen(prefix);

  for (size_t i = 0; i < src->n; i++) {
    if (!under_prefix(src->e[i].path, prefix, plen))
      continue;
    if (yaml_locs_set(dst, src->e[i].path, &src->e[i].loc))
      return INTEG_ENOMEM;
  }
  return 0;
}

size_t yaml_locs_count(const struct yaml_locs *t)
{
  return t ? t->n : 0;
}

const char *yaml_loc_hint(const struct yaml_loc *loc)
{
  if (loc && (loc->flags & YAML_LOC_HASH))
    return " (a '#' after a space starts a YAML comment: a value that "
           "begins with # must be quoted, e.g. \"#DATE#\")";
  return "";
}

int yaml_errors_atv(struct yaml_errors *e, const struct yaml_locs *t,
                    const char *path, int at_key, const char *fmt, va_list ap)
{
  const struct yaml_loc *loc = yaml_locs_nearest(t, path, NULL);
  char *msg = NULL;
  int rc;

  if (vasprintf(&msg, fmt, ap) < 0) {
    e->nomem = 1;
    e->dropped++;
    return INTEG_ENOMEM;
  }
  if (!path)
    path = "";
  if (loc)
    rc = yaml_errors_add(
        e, "%s:%u:%u: %s%s%s", loc->file, at_key ? loc->key_line : loc->line,
        at_key ? loc->key_col : loc->col, path, *path ? ": " : "", msg);
  else
    rc = yaml_errors_add(e, "%s%s%s", path, *path ? ": " : "", msg);
  free(msg);
  return rc;
}

int yaml_errors_at(struct yaml_errors *e, const struct yaml_locs *t,
                   const char *path, int at_key, const char *fmt, ...)
{
  va_list ap;
  int rc;

  va_start(ap, fmt);
  rc = yaml_errors_atv(e, t, path, at_key, fmt, ap);
  va_end(ap);
  return rc;
}
