/* jsonpath.c - JSONPath (RFC 9535): the evaluator.
 *
 * The compiler (jsonpath_parse.c) is a recursive-descent parser over the
 * RFC 9535 grammar that builds a small tree (jsonpath_int.h) in an arena
 * owned by the compiled query, checks the well-typedness rules of section
 * 2.4 as it goes, and compiles literal I-Regexp patterns once. The
 * evaluator here walks segment by segment, turning
 * one nodelist into the next; descendant segments walk the document with an
 * explicit stack, so a deep document cannot exhaust the C stack, and
 * recursion is bounded by the query's nesting (JSONPATH_MAX_NESTING).
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

struct node {
  json_t *v;
  const struct pnode *path;
};

struct nodelist {
  struct node *v;
  size_t n, cap;
};

/* Where the descendant walk is in one array or object. */
struct frame {
  json_t *v;
  const struct pnode *path;
  size_t idx;
  void *iter;
};

struct ectx {
  json_t *root;
  struct arena paths;
  struct nodelist *pool; /* spare nodelists, to save mallocs in filters */
  size_t npool, cappool;
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
  int rc;
  struct integ_error *err;
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

static struct nodelist list_get(struct ectx *c)
{
  struct nodelist l = {0};
  if (c->npool)
    l = c->pool[--c->npool];
  l.n = 0;
  return l;
}

static void list_put(struct ectx *c, struct nodelist *l)
{
  if (c->npool == c->cappool) {
    size_t cap = c->cappool ? c->cappool * 2 : 8;
    struct nodelist *m = realloc(c->pool, cap * sizeof *m);
    if (!m) {
      free(l->v);
      l->v = NULL;
      return;
    }
    c->pool = m;
    c->cappool = cap;
  }
  c->pool[c->npool++] = *l;
  l->v = NULL;
}

static void list_push(struct ectx *c, struct nodelist *l, json_t *v,
                      const struct pnode *path)
{
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    struct node *m;
    if (l->n >= JSONPATH_MAX_NODES) {
      efail(c, INTEG_EINVAL, "too many nodes in one nodelist");
      return;
    }
    m = realloc(l->v, cap * sizeof *m);
    if (!m) {
      nomem(c);
      return;
    }
    l->v = m;
    l->cap = cap;
  }
  l->v[l->n].v = v;
  l->v[l->n].path = path;
  l->n++;
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

/* Apply the selectors of seg to the node (v, path), appending to out. */
static void apply_selectors(struct ectx *c, const struct segment *seg,
                            json_t *v, const struct pnode *path, int wp,
                            struct nodelist *out)
{
  for (size_t s = 0; s < seg->n && !c->rc; s++) {
    const struct selector *sel = &seg->sels[s];
    switch (sel->kind) {
    case SEL_NAME:
      if (json_is_object(v)) {
        json_t *m = json_object_getn(v, sel->name, sel->len);
        if (m)
          list_push(c, out, m, path_key(c, wp, path, sel->name, sel->len));
      }
      break;
    case SEL_INDEX:
      if (json_is_array(v)) {
        int64_t len = (int64_t)json_array_size(v);
        int64_t i = norm_index(sel->index, len);
        if (i >= 0 && i < len)
          list_push(c, out, json_array_get(v, (size_t)i),
                    path_index(c, wp, path, (size_t)i));
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
          for (int64_t i = lo; i < hi && !c->rc; i += step)
            list_push(c, out, json_array_get(v, (size_t)i),
                      path_index(c, wp, path, (size_t)i));
        } else {
          start = sel->has_start ? norm_index(sel->start, len) : len - 1;
          end = sel->has_end ? norm_index(sel->end, len) : -len - 1;
          hi = start < -1 ? -1 : start > len - 1 ? len - 1 : start;
          lo = end < -1 ? -1 : end > len - 1 ? len - 1 : end;
          for (int64_t i = hi; lo < i && !c->rc; i += step)
            list_push(c, out, json_array_get(v, (size_t)i),
                      path_index(c, wp, path, (size_t)i));
        }
      }
      break;
    case SEL_WILD:
    case SEL_FILTER:
      if (json_is_array(v)) {
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n && !c->rc; i++) {
          json_t *m = json_array_get(v, i);
          if (sel->kind == SEL_FILTER && !eval_logical(c, sel->filter, m))
            continue;
          list_push(c, out, m, path_index(c, wp, path, i));
        }
      } else if (json_is_object(v)) {
        for (void *it = json_object_iter(v); it && !c->rc;
             it = json_object_iter_next(v, it)) {
          json_t *m = json_object_iter_value(it);
          if (sel->kind == SEL_FILTER && !eval_logical(c, sel->filter, m))
            continue;
          list_push(c, out, m,
                    path_key(c, wp, path, json_object_iter_key(it),
                             json_object_iter_key_len(it)));
        }
      }
      break;
    }
  }
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
 * keeps its own stack (frames are addressed by index: nested filters may
 * grow the stack while this walk is using it). */
static void descend(struct ectx *c, const struct segment *seg, json_t *v,
                    const struct pnode *path, int wp, struct nodelist *out)
{
  size_t base = c->sp;
  apply_selectors(c, seg, v, path, wp, out);
  if (!json_is_array(v) && !json_is_object(v))
    return;
  stack_push(c, v, path);
  while (c->sp > base && !c->rc) {
    struct frame *f = &c->stack[c->sp - 1];
    json_t *child;
    const struct pnode *cp;
    if (json_is_array(f->v)) {
      if (f->idx >= json_array_size(f->v)) {
        c->sp--;
        continue;
      }
      child = json_array_get(f->v, f->idx);
      cp = path_index(c, wp, f->path, f->idx);
      f->idx++;
    } else {
      if (!f->iter) {
        c->sp--;
        continue;
      }
      child = json_object_iter_value(f->iter);
      cp = path_key(c, wp, f->path, json_object_iter_key(f->iter),
                    json_object_iter_key_len(f->iter));
      f->iter = json_object_iter_next(f->v, f->iter);
    }
    apply_selectors(c, seg, child, cp, wp, out);
    if (json_is_array(child) || json_is_object(child))
      stack_push(c, child, cp);
  }
  c->sp = base;
}

/* Evaluate q from the current node cur into out (which it fills from
 * empty). */
static void eval_query(struct ectx *c, const struct query *q, json_t *cur,
                       int wp, struct nodelist *out)
{
  struct nodelist next = list_get(c);
  out->n = 0;
  list_push(c, out, q->relative ? cur : c->root, NULL);
  for (size_t s = 0; s < q->n && !c->rc; s++) {
    const struct segment *seg = &q->segs[s];
    struct nodelist tmp;
    next.n = 0;
    for (size_t i = 0; i < out->n && !c->rc; i++) {
      if (seg->descendant)
        descend(c, seg, out->v[i].v, out->v[i].path, wp, &next);
      else
        apply_selectors(c, seg, out->v[i].v, out->v[i].path, wp, &next);
    }
    tmp = *out;
    *out = next;
    next = tmp;
    if (out->n == 0)
      break;
  }
  list_put(c, &next);
}

/* A singular query: its one node or NULL, without building nodelists. */
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

/* The nodes of a NodesType argument (a query): how many, and the first. */
static size_t eval_nodes(struct ectx *c, const struct expr *e, json_t *cur,
                         json_t **first)
{
  size_t n;
  *first = NULL;
  if (e->q->singular) {
    *first = lookup(c, e->q, cur);
    return *first != NULL;
  }
  struct nodelist l = list_get(c);
  eval_query(c, e->q, cur, 0, &l);
  n = l.n;
  if (n)
    *first = l.v[0].v;
  list_put(c, &l);
  return n;
}

/* The compiled pattern for a match/search whose pattern comes from the
 * document; NULL when it is no I-Regexp (or out of memory). */
static pcre2_code *dyn_regex(struct ectx *c, enum fn_id fn,
                             const struct val *pat)
{
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
  /* not an I-Regexp: the function is false, as RFC 9535 2.4.6 says */
  if (iregexp_compile(pat->s, pat->len,
                      fn == FN_MATCH ? IREGEXP_MATCH : IREGEXP_SEARCH,
                      &c->dyn_re, NULL) != 0)
    c->dyn_re = NULL;
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
      out->i = (int64_t)eval_nodes(c, e->list[0], cur, &first);
      return;
    case FN_VALUE:
      if (eval_nodes(c, e->list[0], cur, &first) == 1)
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
    return eval_nodes(c, e, cur, &first) > 0;
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

/* The normalized path as a new string (b is scratch space), or NULL when
 * out of memory. */
static char *render_path(const struct pnode *path, struct buf *b)
{
  const struct pnode *steps[64], **all = steps, *p;
  size_t depth = 0, i;
  char *s = NULL;
  int rc;
  for (p = path; p; p = p->parent)
    depth++;
  if (depth > sizeof steps / sizeof steps[0]) {
    all = malloc(depth * sizeof *all);
    if (!all)
      return NULL;
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
  if (!rc)
    s = strndup(b->data, b->len);
  if (all != steps)
    free(all);
  return s;
}

int jsonpath_eval(const struct jsonpath *jp, json_t *doc, unsigned flags,
                  struct jsonpath_nodes *out, struct integ_error *err)
{
  struct ectx c = {0};
  struct nodelist l = {0};
  struct buf b = BUF_INIT;
  int wp = (flags & JSONPATH_PATHS) != 0;
  memset(out, 0, sizeof *out);
  c.root = doc;
  c.err = err;
  if (!doc) {
    c.rc = error_set(err, INTEG_EINVAL, "no JSON document to query");
    goto out;
  }
  eval_query(&c, jp->q, doc, wp, &l);
  if (c.rc)
    goto out;
  if (l.n) {
    out->values = malloc(l.n * sizeof *out->values);
    if (!out->values) {
      nomem(&c);
      goto out;
    }
    for (size_t i = 0; i < l.n; i++)
      out->values[i] = l.v[i].v;
    if (wp) {
      out->paths = calloc(l.n, sizeof *out->paths);
      if (!out->paths) {
        nomem(&c);
        goto out;
      }
      out->n = l.n;
      for (size_t i = 0; i < l.n; i++) {
        out->paths[i] = render_path(l.v[i].path, &b);
        if (!out->paths[i]) {
          nomem(&c);
          goto out;
        }
      }
    }
  }
  out->n = l.n;
out:
  if (c.rc)
    jsonpath_nodes_free(out);
  buf_free(&b);
  free(l.v);
  for (size_t i = 0; i < c.npool; i++)
    free(c.pool[i].v);
  free(c.pool);
  free(c.stack);
  jsonpath_arena_free(&c.paths);
  pcre2_match_data_free(c.md);
  pcre2_code_free(c.dyn_re);
  free(c.dyn_pat);
  pcre2_match_context_free(c.mc);
  return c.rc;
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
