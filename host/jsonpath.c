/* jsonpath.c - JSONPath (RFC 9535): the evaluator.
 *
 * The compiler (jsonpath_parse.c) is a recursive-descent parser over the
 * RFC 9535 grammar that builds a small tree (jsonpath_int.h) in an arena
 * owned by the compiled query, checks the well-typedness rules of section
 * 2.4 as it goes, and compiles literal I-Regexp patterns once. The
 * evaluator here walks the document depth first, one segment after the
 * other, handing each node a query selects to a visitor as it is found:
 * no nodelist is built, an existence test stops at its first node, and
 * path steps live only while the walk is below them. Descendant segments
 * walk the document with an explicit stack, so a deep document cannot
 * exhaust the C stack; recursion is bounded by the query's segments
 * (JSONPATH_MAX_SEGMENTS) and nesting (JSONPATH_MAX_NESTING).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "iregexp.h"
#include "jsonpath.h"
#include "jsonpath_int.h"

/* Backtracking bounds for match() and search() on document strings. */
#define REGEX_MATCH_LIMIT 1000000
#define REGEX_DEPTH_LIMIT 10000

/* ------------------------------------------------------------- arena */

void *jsonpath_arena_alloc(struct arena *a, size_t size)
{
  struct arena_block *b = a->head;
  size_t align = sizeof(max_align_t);
  size = (size + align - 1) / align * align;
  if (!b || b->size - b->used < size) {
    size_t bsize = size > 4096 ? size : 4096;
    b = malloc(sizeof *b + bsize);
    if (!b)
      return NULL;
    b->size = bsize;
    b->used = 0;
    b->next = a->head;
    a->head = b;
  }
  void *p = (char *)b->data + b->used;
  b->used += size;
  memset(p, 0, size);
  return p;
}

void jsonpath_arena_free(struct arena *a)
{
  struct arena_block *b = a->head, *next;
  for (; b; b = next) {
    next = b->next;
    free(b);
  }
  a->head = NULL;
}

/* -------------------------------------------------------- evaluation */

/* A step of a normalized path, kept only when paths are asked for. The
 * root ($) is the NULL path. */
struct pnode {
  const struct pnode *parent;
  const char *key; /* NULL for an array index */
  size_t keylen;
  size_t index;
};

/* Where the descendant walk is in one array or object. */
struct frame {
  json_t *v;
  const struct pnode *path;
  size_t idx;
  void *iter;
};

/* A remembered result of a filter at a node (see memo_get). */
struct memo_entry {
  const struct expr *e; /* NULL: free slot */
  const json_t *v;
  int result;
};

struct ectx {
  json_t *root;
  struct arena paths;
  struct frame *stack;
  size_t sp, capstack;
  pcre2_match_data *md;
  pcre2_match_context *mc;
  /* The last pattern taken from the document, compiled: a filter such as
   * match(@.a, $.re) sees the same one for every element. */
  char *dyn_pat;
  size_t dyn_len;
  enum fn_id dyn_fn;
  pcre2_code *dyn_re; /* NULL when dyn_pat is no I-Regexp */
  /* Filters inside filters, by (filter, node): see memo_get. */
  struct memo_entry *memo;
  size_t nmemo, capmemo;
  int in_filter; /* > 0 while a filter is being evaluated */
  /* The results so far, against the caps of jsonpath.h. */
  size_t nresults, path_bytes;
  struct buf path; /* the rendered path of the current result */
  int rc;
  struct integ_error *err;
};

/* Called for each node a query selects, in document order: returns 0 to
 * go on, 1 to stop the walk (also when it set c->rc). */
typedef int (*visit_fn)(struct ectx *c, json_t *v, const struct pnode *path,
                        void *arg);

/* One query being walked, and what to do with its nodes. */
struct walk {
  const struct query *q;
  int wp; /* build paths */
  visit_fn fn;
  void *arg;
};

static void efail(struct ectx *c, int code, const char *what)
{
  if (!c->rc)
    c->rc = error_set(c->err, code, "JSONPath evaluation failed: %s", what);
}

static void nomem(struct ectx *c)
{
  efail(c, INTEG_ENOMEM, "out of memory");
}

/* The arena's position, to give back everything allocated after it: the
 * path steps of a subtree are dropped once the walk has left it, so memory
 * follows the depth of the walk, not the number of nodes. */
struct arena_mark {
  struct arena_block *block;
  size_t used;
};

static struct arena_mark arena_mark(const struct arena *a)
{
  struct arena_mark m = {a->head, a->head ? a->head->used : 0};
  return m;
}

static void arena_release(struct arena *a, struct arena_mark m)
{
  while (a->head && a->head != m.block) {
    struct arena_block *next = a->head->next;
    free(a->head);
    a->head = next;
  }
  if (a->head)
    a->head->used = m.used;
}

static const struct pnode *path_key(struct ectx *c, int wp,
                                    const struct pnode *parent,
                                    const char *key, size_t keylen)
{
  struct pnode *n;
  if (!wp)
    return NULL;
  n = jsonpath_arena_alloc(&c->paths, sizeof *n);
  if (!n) {
    nomem(c);
    return NULL;
  }
  n->parent = parent;
  n->key = key;
  n->keylen = keylen;
  return n;
}

static const struct pnode *path_index(struct ectx *c, int wp,
                                      const struct pnode *parent, size_t i)
{
  struct pnode *n;
  if (!wp)
    return NULL;
  n = jsonpath_arena_alloc(&c->paths, sizeof *n);
  if (!n) {
    nomem(c);
    return NULL;
  }
  n->parent = parent;
  n->index = i;
  return n;
}

static void val_from_json(const json_t *j, struct val *v)
{
  memset(v, 0, sizeof *v);
  if (!j) {
    v->k = V_NOTHING;
    return;
  }
  switch (json_typeof(j)) {
  case JSON_NULL:
    v->k = V_NULL;
    break;
  case JSON_TRUE:
    v->k = V_TRUE;
    break;
  case JSON_FALSE:
    v->k = V_FALSE;
    break;
  case JSON_INTEGER:
    v->k = V_INT;
    v->i = json_integer_value(j);
    break;
  case JSON_REAL:
    v->k = V_REAL;
    v->d = json_real_value(j);
    break;
  case JSON_STRING:
    v->k = V_STR;
    v->s = json_string_value(j);
    v->len = json_string_length(j);
    break;
  case JSON_ARRAY:
    v->k = V_ARRAY;
    v->j = (json_t *)j;
    break;
  case JSON_OBJECT:
    v->k = V_OBJECT;
    v->j = (json_t *)j;
    break;
  }
}

/* Compare an integer with a double exactly: -1, 0, 1, or 2 if unordered. */
static int cmp_int_real(int64_t i, double d)
{
  if (d != d)
    return 2;
  if (d >= 9223372036854775808.0)
    return -1;
  if (d < -9223372036854775808.0)
    return 1;
  int64_t t = (int64_t)d; /* truncates; exact as a double */
  if (i != t)
    return i < t ? -1 : 1;
  double ft = (double)t;
  return d > ft ? -1 : d < ft ? 1 : 0;
}

/* Numbers: -1, 0, 1, or 2 if unordered (NaN). */
static int num_cmp(const struct val *a, const struct val *b)
{
  if (a->k == V_INT && b->k == V_INT)
    return a->i < b->i ? -1 : a->i > b->i;
  if (a->k == V_REAL && b->k == V_REAL) {
    if (a->d != a->d || b->d != b->d)
      return 2;
    return a->d < b->d ? -1 : a->d > b->d;
  }
  if (a->k == V_INT)
    return cmp_int_real(a->i, b->d);
  int r = cmp_int_real(b->i, a->d);
  return r == 2 ? 2 : -r;
}

static int is_num(const struct val *v)
{
  return v->k == V_INT || v->k == V_REAL;
}

/* Strings compare by Unicode scalar values: UTF-8 byte order is the same. */
static int str_cmp(const struct val *a, const struct val *b)
{
  size_t n = a->len < b->len ? a->len : b->len;
  int r = memcmp(a->s, b->s, n);
  if (r)
    return r < 0 ? -1 : 1;
  return a->len < b->len ? -1 : a->len > b->len;
}

static int val_eq(struct ectx *c, const struct val *a, const struct val *b,
                  size_t depth);

static int json_eq(struct ectx *c, const json_t *a, const json_t *b,
                   size_t depth)
{
  struct val va, vb;
  val_from_json(a, &va);
  val_from_json(b, &vb);
  return val_eq(c, &va, &vb, depth);
}

static int val_eq(struct ectx *c, const struct val *a, const struct val *b,
                  size_t depth)
{
  if (is_num(a) && is_num(b))
    return num_cmp(a, b) == 0;
  if (a->k != b->k)
    return 0;
  switch (a->k) {
  case V_STR:
    return str_cmp(a, b) == 0;
  case V_ARRAY: {
    size_t n = json_array_size(a->j);
    if (n != json_array_size(b->j))
      return 0;
    if (depth >= JSONPATH_MAX_DEPTH) {
      efail(c, INTEG_EINVAL, "values nested too deeply to compare");
      return 0;
    }
    for (size_t i = 0; i < n; i++)
      if (!json_eq(c, json_array_get(a->j, i), json_array_get(b->j, i),
                   depth + 1))
        return 0;
    return 1;
  }
  case V_OBJECT: {
    const char *key;
    size_t klen;
    json_t *v;
    if (json_object_size(a->j) != json_object_size(b->j))
      return 0;
    if (depth >= JSONPATH_MAX_DEPTH) {
      efail(c, INTEG_EINVAL, "values nested too deeply to compare");
      return 0;
    }
    json_object_keylen_foreach(a->j, key, klen, v)
    {
      json_t *w = json_object_getn(b->j, key, klen);
      if (!w || !json_eq(c, v, w, depth + 1))
        return 0;
    }
    return 1;
  }
  default:
    return 1; /* Nothing, null, true, false */
  }
}

static int val_lt(const struct val *a, const struct val *b)
{
  if (is_num(a) && is_num(b))
    return num_cmp(a, b) == -1;
  if (a->k == V_STR && b->k == V_STR)
    return str_cmp(a, b) < 0;
  return 0;
}

static int compare(struct ectx *c, enum cmp_op op, const struct val *a,
                   const struct val *b)
{
  switch (op) {
  case OP_EQ:
    return val_eq(c, a, b, 0);
  case OP_NE:
    return !val_eq(c, a, b, 0);
  case OP_LT:
    return val_lt(a, b);
  case OP_LE:
    return val_lt(a, b) || val_eq(c, a, b, 0);
  case OP_GT:
    return val_lt(b, a);
  case OP_GE:
    return val_lt(b, a) || val_eq(c, a, b, 0);
  }
  return 0;
}

/* Normalize an index or slice bound against an array of length len. */
static int64_t norm_index(int64_t i, int64_t len)
{
  return i >= 0 ? i : len + i;
}

static int eval_logical(struct ectx *c, const struct expr *e, json_t *cur);
static int walk_from(struct ectx *c, const struct walk *w, size_t s, json_t *v,
                     const struct pnode *path);

/* The node M of V was selected by segment S - 1: walk on from it. Its path
 * step lives only while the walk is below it. */
static int selected(struct ectx *c, const struct walk *w, size_t s, json_t *m,
                    const struct pnode *path, const char *key, size_t keylen,
                    size_t index)
{
  struct arena_mark mark = arena_mark(&c->paths);
  const struct pnode *p = key ? path_key(c, w->wp, path, key, keylen)
                              : path_index(c, w->wp, path, index);
  int stop = c->rc || walk_from(c, w, s, m, p);

  arena_release(&c->paths, mark);
  return stop;
}

/* Filters nested in filters see the same nodes again and again
 * ($..[?@..[?@.b]] tests @.b at every node once per ancestor): their
 * result depends on the node alone (and the root, fixed for the
 * evaluation), so it is remembered, up to MEMO_MAX nodes. */
#define MEMO_MAX ((size_t)1 << 20)

static size_t memo_slot(const struct ectx *c, const struct expr *e,
                        const json_t *v)
{
  uint64_t h = (uint64_t)(uintptr_t)e * UINT64_C(0x9e3779b97f4a7c15) ^
               (uint64_t)(uintptr_t)v * UINT64_C(0xc2b2ae3d27d4eb4f);
  size_t i = (size_t)(h ^ h >> 29) & (c->capmemo - 1);

  while (c->memo[i].e && (c->memo[i].e != e || c->memo[i].v != v))
    i = (i + 1) & (c->capmemo - 1);
  return i;
}

static int filter_test(struct ectx *c, const struct expr *e, json_t *m)
{
  size_t i;
  int r;

  if (!c->in_filter) {
    c->in_filter++;
    r = eval_logical(c, e, m);
    c->in_filter--;
    return r;
  }
  if (c->capmemo) {
    i = memo_slot(c, e, m);
    if (c->memo[i].e)
      return c->memo[i].result;
  }
  r = eval_logical(c, e, m);
  if (c->rc || c->nmemo >= MEMO_MAX)
    return r;
  if (2 * (c->nmemo + 1) > c->capmemo) {
    size_t cap = c->capmemo ? c->capmemo * 2 : 1024;
    struct memo_entry *old = c->memo, *nw = calloc(cap, sizeof *nw);
    size_t oldcap = c->capmemo;

    if (!nw)
      return r; /* remembering is an optimisation only */
    c->memo = nw;
    c->capmemo = cap;
    for (size_t k = 0; k < oldcap; k++)
      if (old[k].e)
        c->memo[memo_slot(c, old[k].e, old[k].v)] = old[k];
    free(old);
  }
  i = memo_slot(c, e, m);
  c->memo[i].e = e;
  c->memo[i].v = m;
  c->memo[i].result = r;
  c->nmemo++;
  return r;
}

/* Apply the selectors of segment S to the node (v, path) and walk on from
 * each node they select. Returns 1 when the walk stops. */
static int apply_selectors(struct ectx *c, const struct walk *w, size_t s,
                           json_t *v, const struct pnode *path)
{
  const struct segment *seg = &w->q->segs[s];

  for (size_t k = 0; k < seg->n; k++) {
    const struct selector *sel = &seg->sels[k];
    switch (sel->kind) {
    case SEL_NAME:
      if (json_is_object(v)) {
        json_t *m = json_object_getn(v, sel->name, sel->len);
        if (m && selected(c, w, s + 1, m, path, sel->name, sel->len, 0))
          return 1;
      }
      break;
    case SEL_INDEX:
      if (json_is_array(v)) {
        int64_t len = (int64_t)json_array_size(v);
        int64_t i = norm_index(sel->index, len);
        if (i >= 0 && i < len &&
            selected(c, w, s + 1, json_array_get(v, (size_t)i), path, NULL, 0,
                     (size_t)i))
          return 1;
      }
      break;
    case SEL_SLICE:
      if (json_is_array(v) && sel->step != 0) {
        int64_t len = (int64_t)json_array_size(v), step = sel->step;
        int64_t start, end, lo, hi;
        if (step > 0) {
          start = sel->has_start ? norm_index(sel->start, len) : 0;
          end = sel->has_end ? norm_index(sel->end, len) : len;
          lo = start < 0 ? 0 : start > len ? len : start;
          hi = end < 0 ? 0 : end > len ? len : end;
          for (int64_t i = lo; i < hi; i += step)
            if (selected(c, w, s + 1, json_array_get(v, (size_t)i), path, NULL,
                         0, (size_t)i))
              return 1;
        } else {
          start = sel->has_start ? norm_index(sel->start, len) : len - 1;
          end = sel->has_end ? norm_index(sel->end, len) : -len - 1;
          hi = start < -1 ? -1 : start > len - 1 ? len - 1 : start;
          lo = end < -1 ? -1 : end > len - 1 ? len - 1 : end;
          for (int64_t i = hi; lo < i; i += step)
            if (selected(c, w, s + 1, json_array_get(v, (size_t)i), path, NULL,
                         0, (size_t)i))
              return 1;
        }
      }
      break;
    case SEL_WILD:
    case SEL_FILTER:
      if (json_is_array(v)) {
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; i++) {
          json_t *m = json_array_get(v, i);
          if (sel->kind == SEL_FILTER && !filter_test(c, sel->filter, m)) {
            if (c->rc)
              return 1;
            continue;
          }
          if (selected(c, w, s + 1, m, path, NULL, 0, i))
            return 1;
        }
      } else if (json_is_object(v)) {
        for (void *it = json_object_iter(v); it;
             it = json_object_iter_next(v, it)) {
          json_t *m = json_object_iter_value(it);
          if (sel->kind == SEL_FILTER && !filter_test(c, sel->filter, m)) {
            if (c->rc)
              return 1;
            continue;
          }
          if (selected(c, w, s + 1, m, path, json_object_iter_key(it),
                       json_object_iter_key_len(it), 0))
            return 1;
        }
      }
      break;
    }
  }
  return c->rc != 0;
}

static void stack_push(struct ectx *c, json_t *v, const struct pnode *path)
{
  if (c->sp == c->capstack) {
    size_t cap = c->capstack ? c->capstack * 2 : 32;
    struct frame *m = realloc(c->stack, cap * sizeof *m);
    if (!m) {
      nomem(c);
      return;
    }
    c->stack = m;
    c->capstack = cap;
  }
  struct frame *f = &c->stack[c->sp++];
  f->v = v;
  f->path = path;
  f->idx = 0;
  f->iter = json_is_object(v) ? json_object_iter(v) : NULL;
}

/* A descendant segment: the node and all its descendants, in document
 * order (a node before its children), each gets the selectors. The walk
 * keeps its own stack (frames are addressed by index: the walk on from a
 * selected node may grow the stack while this one is using it). */
static int descend(struct ectx *c, const struct walk *w, size_t s, json_t *v,
                   const struct pnode *path)
{
  size_t base = c->sp;
  struct arena_mark mark = arena_mark(&c->paths);
  int stop = apply_selectors(c, w, s, v, path);

  if (!stop && (json_is_array(v) || json_is_object(v)))
    stack_push(c, v, path);
  while (!stop && c->sp > base && !c->rc) {
    struct frame *f = &c->stack[c->sp - 1];
    json_t *child;
    const struct pnode *cp;
    if (json_is_array(f->v)) {
      if (f->idx >= json_array_size(f->v)) {
        c->sp--;
        continue;
      }
      child = json_array_get(f->v, f->idx);
      cp = path_index(c, w->wp, f->path, f->idx);
      f->idx++;
    } else {
      if (!f->iter) {
        c->sp--;
        continue;
      }
      child = json_object_iter_value(f->iter);
      cp = path_key(c, w->wp, f->path, json_object_iter_key(f->iter),
                    json_object_iter_key_len(f->iter));
      f->iter = json_object_iter_next(f->v, f->iter);
    }
    stop = apply_selectors(c, w, s, child, cp);
    if (!stop && (json_is_array(child) || json_is_object(child)))
      stack_push(c, child, cp);
  }
  c->sp = base;
  arena_release(&c->paths, mark);
  return stop || c->rc;
}

/* Walk segments S.. of the query from the node (v, path), depth first:
 * the nodes come out in the order RFC 9535 defines (each segment's
 * nodelist is the concatenation of what it selects from each input node,
 * in order), and a walk that has seen enough stops at once. Recursion is
 * bounded by the query's segments (JSONPATH_MAX_SEGMENTS). */
static int walk_from(struct ectx *c, const struct walk *w, size_t s, json_t *v,
                     const struct pnode *path)
{
  if (c->rc)
    return 1;
  if (s == w->q->n)
    return w->fn(c, v, path, w->arg);
  if (w->q->segs[s].descendant)
    return descend(c, w, s, v, path);
  return apply_selectors(c, w, s, v, path);
}

static int walk_query(struct ectx *c, const struct query *q, json_t *cur,
                      int wp, visit_fn fn, void *arg)
{
  struct walk w = {q, wp, fn, arg};

  return walk_from(c, &w, 0, q->relative ? cur : c->root, NULL);
}

/* A singular query: its one node or NULL, without walking. */
static json_t *lookup(struct ectx *c, const struct query *q, json_t *cur)
{
  json_t *v = q->relative ? cur : c->root;
  for (size_t s = 0; s < q->n && v; s++) {
    const struct selector *sel = &q->segs[s].sels[0];
    if (sel->kind == SEL_NAME) {
      v = json_is_object(v) ? json_object_getn(v, sel->name, sel->len) : NULL;
    } else if (json_is_array(v)) {
      int64_t len = (int64_t)json_array_size(v);
      int64_t i = norm_index(sel->index, len);
      v = i >= 0 && i < len ? json_array_get(v, (size_t)i) : NULL;
    } else {
      v = NULL;
    }
  }
  return v;
}

static void eval_value(struct ectx *c, const struct expr *e, json_t *cur,
                       struct val *out);

/* Counting the nodes of a query within a filter: up to LIMIT. */
struct count {
  size_t n, limit;
  json_t *first;
};

static int count_node(struct ectx *c, json_t *v, const struct pnode *path,
                      void *arg)
{
  struct count *k = arg;

  (void)c;
  (void)path;
  if (!k->n)
    k->first = v;
  return ++k->n >= k->limit;
}

/* The nodes of a NodesType argument (a query): how many, up to LIMIT (an
 * existence test needs one, value() two), and the first. */
static size_t eval_nodes(struct ectx *c, const struct expr *e, json_t *cur,
                         size_t limit, json_t **first)
{
  struct count k = {0, limit, NULL};

  *first = NULL;
  if (e->q->singular) {
    *first = lookup(c, e->q, cur);
    return *first != NULL;
  }
  walk_query(c, e->q, cur, 0, count_node, &k);
  *first = k.first;
  return k.n;
}

/* The compiled pattern for a match/search whose pattern comes from the
 * document; NULL when it is no I-Regexp (or out of memory). */
static pcre2_code *dyn_regex(struct ectx *c, enum fn_id fn,
                             const struct val *pat)
{
  int rc;

  if (c->dyn_pat && c->dyn_fn == fn && c->dyn_len == pat->len &&
      memcmp(c->dyn_pat, pat->s, pat->len) == 0)
    return c->dyn_re;
  pcre2_code_free(c->dyn_re);
  free(c->dyn_pat);
  c->dyn_re = NULL;
  c->dyn_pat = malloc(pat->len + 1);
  if (!c->dyn_pat) {
    nomem(c);
    return NULL;
  }
  memcpy(c->dyn_pat, pat->s, pat->len);
  c->dyn_len = pat->len;
  c->dyn_fn = fn;
  /* not an I-Regexp: the function is false, as RFC 9535 2.4.6 says; out
   * of memory is an error, not a false */
  rc = iregexp_compile(pat->s, pat->len,
                       fn == FN_MATCH ? IREGEXP_MATCH : IREGEXP_SEARCH,
                       &c->dyn_re, NULL);
  if (rc) {
    c->dyn_re = NULL;
    if (rc == INTEG_ENOMEM) {
      /* forget the pattern: the next node tries it again */
      free(c->dyn_pat);
      c->dyn_pat = NULL;
      nomem(c);
    }
  }
  return c->dyn_re;
}

static int eval_regex(struct ectx *c, const struct expr *e, json_t *cur)
{
  struct val subject, pat;
  pcre2_code *re = e->re;
  if (e->re_never)
    return 0;
  eval_value(c, e->list[0], cur, &subject);
  if (subject.k != V_STR)
    return 0;
  if (!re) {
    eval_value(c, e->list[1], cur, &pat);
    if (pat.k != V_STR || !(re = dyn_regex(c, e->fn, &pat)))
      return 0;
  }
  if (!c->md) {
    c->md = pcre2_match_data_create(1, NULL);
    c->mc = pcre2_match_context_create(NULL);
    if (!c->md || !c->mc) {
      nomem(c);
      return 0;
    }
    pcre2_set_match_limit(c->mc, REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(c->mc, REGEX_DEPTH_LIMIT);
  }
  /* A hit limit (hostile pattern) counts as no match. */
  return iregexp_exec(re, subject.s, subject.len, c->md, c->mc) == 1;
}

static void eval_value(struct ectx *c, const struct expr *e, json_t *cur,
                       struct val *out)
{
  json_t *first;
  memset(out, 0, sizeof *out);
  switch (e->kind) {
  case E_LIT:
    *out = e->lit;
    return;
  case E_QUERY:
    val_from_json(lookup(c, e->q, cur), out);
    return;
  case E_FUNC:
    switch (e->fn) {
    case FN_LENGTH: {
      struct val a;
      eval_value(c, e->list[0], cur, &a);
      if (a.k == V_STR) {
        size_t n = 0;
        for (size_t i = 0; i < a.len; i++)
          n += ((unsigned char)a.s[i] & 0xc0) != 0x80;
        out->k = V_INT;
        out->i = (int64_t)n;
      } else if (a.k == V_ARRAY) {
        out->k = V_INT;
        out->i = (int64_t)json_array_size(a.j);
      } else if (a.k == V_OBJECT) {
        out->k = V_INT;
        out->i = (int64_t)json_object_size(a.j);
      }
      return;
    }
    case FN_COUNT:
      out->k = V_INT;
      out->i = (int64_t)eval_nodes(c, e->list[0], cur, SIZE_MAX, &first);
      return;
    case FN_VALUE:
      if (eval_nodes(c, e->list[0], cur, 2, &first) == 1)
        val_from_json(first, out);
      return;
    default:
      return; /* match and search are no values: refused at compile */
    }
  default:
    return;
  }
}

static int eval_logical(struct ectx *c, const struct expr *e, json_t *cur)
{
  json_t *first;
  switch (e->kind) {
  case E_OR:
    for (size_t i = 0; i < e->n; i++)
      if (eval_logical(c, e->list[i], cur))
        return 1;
    return 0;
  case E_AND:
    for (size_t i = 0; i < e->n; i++)
      if (!eval_logical(c, e->list[i], cur))
        return 0;
    return 1;
  case E_NOT:
    return !eval_logical(c, e->list[0], cur);
  case E_CMP: {
    struct val a, b;
    eval_value(c, e->list[0], cur, &a);
    eval_value(c, e->list[1], cur, &b);
    return compare(c, e->op, &a, &b);
  }
  case E_QUERY:
    return eval_nodes(c, e, cur, 1, &first) > 0;
  case E_FUNC:
    if (e->fn == FN_MATCH || e->fn == FN_SEARCH)
      return eval_regex(c, e, cur);
    return 0; /* value functions are no tests: refused at compile */
  case E_LIT:
    return 0;
  }
  return 0;
}

/* Append name with the escapes of RFC 9535 2.7. Returns 0 or INTEG_ENOMEM. */
static int buf_escape_name(struct buf *b, const char *name, size_t len)
{
  int rc = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)name[i];
    char tmp[8];
    const char *esc = NULL;
    switch (ch) {
    case '\b':
      esc = "\\b";
      break;
    case '\f':
      esc = "\\f";
      break;
    case '\n':
      esc = "\\n";
      break;
    case '\r':
      esc = "\\r";
      break;
    case '\t':
      esc = "\\t";
      break;
    case '\'':
      esc = "\\'";
      break;
    case '\\':
      esc = "\\\\";
      break;
    default:
      if (ch < 0x20) {
        snprintf(tmp, sizeof tmp, "\\u%04x", ch);
        esc = tmp;
      }
    }
    rc |= esc ? buf_appends(b, esc) : buf_append(b, name + i, 1);
  }
  return rc ? INTEG_ENOMEM : 0;
}

char *jsonpath_escape_name(const char *name, size_t len)
{
  struct buf b = BUF_INIT;
  if (buf_append(&b, "", 0) || buf_escape_name(&b, name, len)) {
    buf_free(&b);
    return NULL;
  }
  return b.data;
}

/* Render the normalized path into c->path (NUL-terminated). Returns 0, or
 * 1 with c->rc set when out of memory or past JSONPATH_MAX_PATH_BYTES. */
static int render_path(struct ectx *c, const struct pnode *path)
{
  const struct pnode *steps[64], **all = steps, *p;
  struct buf *b = &c->path;
  size_t depth = 0, i;
  int rc;
  for (p = path; p; p = p->parent)
    depth++;
  if (depth > sizeof steps / sizeof steps[0]) {
    all = malloc(depth * sizeof *all);
    if (!all) {
      nomem(c);
      return 1;
    }
  }
  i = depth;
  for (p = path; p; p = p->parent)
    all[--i] = p;
  b->len = 0;
  rc = buf_append(b, "$", 1);
  for (i = 0; i < depth && !rc; i++) {
    if (all[i]->key)
      rc = buf_append(b, "['", 2) ||
           buf_escape_name(b, all[i]->key, all[i]->keylen) ||
           buf_append(b, "']", 2);
    else
      rc = buf_printf(b, "[%zu]", all[i]->index);
  }
  if (all != steps)
    free(all);
  if (rc) {
    nomem(c);
    return 1;
  }
  c->path_bytes += b->len + 1;
  if (c->path_bytes > JSONPATH_MAX_PATH_BYTES) {
    if (!c->rc)
      c->rc = error_set(c->err, INTEG_EINVAL,
                        "JSONPath evaluation stopped: the normalized paths "
                        "of the nodes selected pass %zu bytes; narrow the "
                        "query",
                        (size_t)JSONPATH_MAX_PATH_BYTES);
    return 1;
  }
  return 0;
}

/* Count a result against JSONPATH_MAX_NODES and render its path when asked
 * for. Returns 0, or 1 with c->rc set. */
static int result(struct ectx *c, const struct pnode *path, int wp)
{
  if (++c->nresults > JSONPATH_MAX_NODES) {
    if (!c->rc)
      c->rc = error_set(c->err, INTEG_EINVAL,
                        "JSONPath evaluation stopped: the query selects more "
                        "than %zu nodes; narrow it",
                        (size_t)JSONPATH_MAX_NODES);
    return 1;
  }
  return wp ? render_path(c, path) : 0;
}

/* jsonpath_eval's visitor: append to the result. */
struct collect {
  struct jsonpath_nodes *out;
  size_t cap;
  int wp;
};

static int collect_node(struct ectx *c, json_t *v, const struct pnode *path,
                        void *arg)
{
  struct collect *k = arg;
  struct jsonpath_nodes *o = k->out;

  if (result(c, path, k->wp))
    return 1;
  if (o->n == k->cap) {
    size_t cap = k->cap ? k->cap * 2 : 16;
    json_t **vals = realloc(o->values, cap * sizeof *vals);
    char **paths;

    if (!vals) {
      nomem(c);
      return 1;
    }
    o->values = vals;
    if (k->wp) {
      paths = realloc(o->paths, cap * sizeof *paths);
      if (!paths) {
        nomem(c);
        return 1;
      }
      o->paths = paths;
    }
    k->cap = cap;
  }
  if (k->wp) {
    o->paths[o->n] = strndup(c->path.data, c->path.len);
    if (!o->paths[o->n]) {
      nomem(c);
      return 1;
    }
  }
  o->values[o->n++] = v;
  return 0;
}

/* jsonpath_each's visitor: hand the node to the caller's function. */
struct each {
  jsonpath_visit_fn fn;
  void *arg;
  int wp;
};

static int each_node(struct ectx *c, json_t *v, const struct pnode *path,
                     void *arg)
{
  struct each *k = arg;
  int rc;

  if (result(c, path, k->wp))
    return 1;
  rc = k->fn(v, k->wp ? c->path.data : NULL, k->wp ? c->path.len : 0, k->arg,
             c->err);
  if (rc && !c->rc)
    c->rc = rc;
  return rc != 0;
}

static int evaluate(const struct jsonpath *jp, json_t *doc, int wp,
                    visit_fn fn, void *arg, struct integ_error *err)
{
  struct ectx c = {0};

  c.root = doc;
  c.err = err;
  c.path = (struct buf)BUF_INIT;
  if (!doc)
    c.rc = error_set(err, INTEG_EINVAL, "no JSON document to query");
  else
    walk_query(&c, jp->q, doc, wp, fn, arg);
  buf_free(&c.path);
  free(c.memo);
  free(c.stack);
  jsonpath_arena_free(&c.paths);
  pcre2_match_data_free(c.md);
  pcre2_code_free(c.dyn_re);
  free(c.dyn_pat);
  pcre2_match_context_free(c.mc);
  return c.rc;
}

int jsonpath_eval(const struct jsonpath *jp, json_t *doc, unsigned flags,
                  struct jsonpath_nodes *out, struct integ_error *err)
{
  struct collect k = {out, 0, (flags & JSONPATH_PATHS) != 0};
  int rc;

  memset(out, 0, sizeof *out);
  rc = evaluate(jp, doc, k.wp, collect_node, &k, err);
  if (rc)
    jsonpath_nodes_free(out);
  return rc;
}

int jsonpath_each(const struct jsonpath *jp, json_t *doc, unsigned flags,
                  jsonpath_visit_fn fn, void *arg, struct integ_error *err)
{
  struct each k = {fn, arg, (flags & JSONPATH_PATHS) != 0};

  return evaluate(jp, doc, k.wp, each_node, &k, err);
}

void jsonpath_nodes_free(struct jsonpath_nodes *nodes)
{
  if (!nodes)
    return;
  if (nodes->paths)
    for (size_t i = 0; i < nodes->n; i++)
      free(nodes->paths[i]);
  free(nodes->paths);
  free(nodes->values);
  memset(nodes, 0, sizeof *nodes);
}
