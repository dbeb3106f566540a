/* jsonpath.c - JSONPath (RFC 9535): compiler and evaluator.
 *
 * The compiler is a recursive-descent parser over the RFC 9535 grammar that
 * builds a small tree in an arena owned by the compiled query, checks the
 * well-typedness rules of section 2.4 as it goes, and compiles literal
 * I-Regexp patterns once. The evaluator walks segment by segment, turning
 * one nodelist into the next; descendant segments walk the document with an
 * explicit stack, so a deep document cannot exhaust the C stack, and
 * recursion is bounded by the query's nesting (JSONPATH_MAX_NESTING).
 */
#include "config.h"

#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "iregexp.h"
#include "jsonpath.h"
#include "utf8.h"

/* Integers in index and slice selectors must lie in the I-JSON range. */
#define IJSON_MAX ((int64_t)9007199254740991) /* 2^53 - 1 */

/* Backtracking bounds for match() and search() on document strings. */
#define REGEX_MATCH_LIMIT 1000000
#define REGEX_DEPTH_LIMIT 10000

/* ------------------------------------------------------------- arena */

/* Bump allocator: compile-time trees and evaluation-time path nodes are
 * freed all at once, so error paths need no per-node cleanup. */
struct arena_block {
  struct arena_block *next;
  size_t used, size;
  max_align_t data[];
};

struct arena {
  struct arena_block *head;
};

static void *arena_alloc(struct arena *a, size_t size)
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

static void arena_free(struct arena *a)
{
  struct arena_block *b = a->head, *next;
  for (; b; b = next) {
    next = b->next;
    free(b);
  }
  a->head = NULL;
}

/* ------------------------------------------------------- query tree */

enum val_kind {
  V_NOTHING,
  V_NULL,
  V_FALSE,
  V_TRUE,
  V_INT,
  V_REAL,
  V_STR,
  V_ARRAY,
  V_OBJECT
};

/* A value in a filter: a literal, a node's value, a function's result, or
 * Nothing. Strings are borrowed (from the query or the document). */
struct val {
  enum val_kind k;
  int64_t i;
  double d;
  const char *s;
  size_t len;
  json_t *j; /* V_ARRAY, V_OBJECT: borrowed from the document */
};

enum sel_kind { SEL_NAME, SEL_WILD, SEL_INDEX, SEL_SLICE, SEL_FILTER };

struct expr;

struct selector {
  enum sel_kind kind;
  const char *name; /* SEL_NAME, in the arena */
  size_t len;
  int64_t index;             /* SEL_INDEX */
  int64_t start, end, step;  /* SEL_SLICE */
  int has_start, has_end;    /* SEL_SLICE */
  const struct expr *filter; /* SEL_FILTER */
};

struct segment {
  int descendant;
  int blank; /* blank space inside its brackets: not a singular segment */
  struct selector *sels;
  size_t n;
};

struct query {
  int relative; /* starts at @, not $ */
  int singular;
  struct segment *segs;
  size_t n;
};

enum expr_kind { E_OR, E_AND, E_NOT, E_CMP, E_LIT, E_QUERY, E_FUNC };
enum cmp_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };
enum fn_id { FN_LENGTH, FN_COUNT, FN_MATCH, FN_SEARCH, FN_VALUE };
/* The types of RFC 9535 2.4.1. */
enum jtype { T_VALUE, T_LOGICAL, T_NODES };

struct expr {
  enum expr_kind kind;
  size_t pos;         /* byte offset in the query, for messages */
  int paren;          /* written in parentheses */
  struct expr **list; /* E_OR, E_AND: n operands; E_NOT: 1 */
  size_t n;
  enum cmp_op op;        /* E_CMP: list[0] op list[1] */
  struct val lit;        /* E_LIT */
  const struct query *q; /* E_QUERY */
  enum fn_id fn;         /* E_FUNC: args in list */
  pcre2_code *re;        /* match/search with a literal pattern */
  int re_never;          /* ... that is no I-Regexp: always false */
};

struct fn_def {
  const char *name;
  enum fn_id id;
  enum jtype result;
  size_t nparams;
  enum jtype params[2];
};

static const struct fn_def fn_defs[] = {
    {"length", FN_LENGTH, T_VALUE, 1, {T_VALUE}},
    {"count", FN_COUNT, T_VALUE, 1, {T_NODES}},
    {"match", FN_MATCH, T_LOGICAL, 2, {T_VALUE, T_VALUE}},
    {"search", FN_SEARCH, T_LOGICAL, 2, {T_VALUE, T_VALUE}},
    {"value", FN_VALUE, T_VALUE, 1, {T_NODES}},
};

struct jsonpath {
  struct arena arena;
  const struct query *q;
  pcre2_code **res; /* compiled literal patterns, freed with the query */
  size_t nres;
};

/* ----------------------------------------------------------- parser */

struct parser {
  const unsigned char *s;
  size_t len, pos;
  struct jsonpath *jp;
  struct integ_error *err;
  int rc; /* 0, or the first error */
  int depth;
};

/* 1-based character position of byte offset off. */
static size_t char_pos(const struct parser *p, size_t off)
{
  size_t n = 1;
  for (size_t i = 0; i < off && i < p->len; i++)
    if ((p->s[i] & 0xc0) != 0x80)
      n++;
  return n;
}

__attribute__((format(printf, 3, 4))) static void
perr(struct parser *p, size_t off, const char *fmt, ...)
{
  char what[512], found[32];
  va_list ap;
  if (p->rc)
    return;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  /* "expected X" messages say what was found instead; the others (types,
   * ranges, limits) are complete in themselves. */
  if (strncmp(what, "expected", 8) != 0)
    found[0] = '\0';
  else if (off >= p->len)
    snprintf(found, sizeof found, ", found the end of the query");
  else if (p->s[off] >= 0x20 && p->s[off] < 0x7f)
    snprintf(found, sizeof found, ", found '%c'", p->s[off]);
  else
    snprintf(found, sizeof found, ", found byte 0x%02x", p->s[off]);
  p->rc = error_set(p->err, INTEG_EINVAL,
                    "invalid JSONPath query at character %zu: %s%s",
                    char_pos(p, off), what, found);
}

static void *palloc(struct parser *p, size_t size)
{
  void *m = arena_alloc(&p->jp->arena, size);
  if (!m && !p->rc)
    p->rc = error_set(p->err, INTEG_ENOMEM,
                      "out of memory compiling a "
                      "JSONPath query");
  return m;
}

/* Append one element of size `size` to an arena array (*arr, *n), doubling
 * the room when the count reaches a power of two. */
static void *parr_push(struct parser *p, void **arr, size_t *n, size_t size)
{
  if (*n == 0 || (*n >= 4 && (*n & (*n - 1)) == 0)) {
    size_t cap = *n < 4 ? 4 : *n * 2;
    void *m = palloc(p, cap * size);
    if (!m)
      return NULL;
    if (*n)
      memcpy(m, *arr, *n * size);
    *arr = m;
  }
  return (char *)*arr + (*n)++ * size;
}

static int peek(const struct parser *p)
{
  return p->pos < p->len ? p->s[p->pos] : -1;
}

static int peek_at(const struct parser *p, size_t k)
{
  return p->pos + k < p->len ? p->s[p->pos + k] : -1;
}

static int is_blank(int c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(struct parser *p)
{
  while (is_blank(peek(p)))
    p->pos++;
}

static int is_digit(int c)
{
  return c >= '0' && c <= '9';
}

static int hexval(int c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Four hex digits after "\u"; -1 when they are not there. */
static long parse_hex4(struct parser *p)
{
  long v = 0;
  for (size_t k = 0; k < 4; k++) {
    int h = hexval(peek(p));
    if (h < 0) {
      perr(p, p->pos, "expected 4 hexadecimal digits after \\u");
      return -1;
    }
    v = v * 16 + h;
    p->pos++;
  }
  return v;
}

/* string-literal: '...' or "..." with JSON-like escapes. The decoded
 * UTF-8 string goes to the arena (NUL-terminated, may contain NUL). */
static int parse_string(struct parser *p, const char **out, size_t *out_len)
{
  int quote = peek(p);
  size_t start = p->pos, cap;
  char *buf;
  size_t n = 0;
  p->pos++;
  /* Decoding never makes a string longer than its source. */
  cap = p->len - p->pos + 1;
  buf = palloc(p, cap);
  if (!buf)
    return -1;
  for (;;) {
    int c = peek(p);
    uint32_t cp;
    size_t k;
    if (c < 0) {
      perr(p, start, "unterminated string literal (expected a closing %c)",
           quote);
      return -1;
    }
    if (c == quote) {
      p->pos++;
      break;
    }
    if (c == '\\') {
      p->pos++;
      c = peek(p);
      switch (c) {
      case 'b':
        buf[n++] = '\b';
        break;
      case 'f':
        buf[n++] = '\f';
        break;
      case 'n':
        buf[n++] = '\n';
        break;
      case 'r':
        buf[n++] = '\r';
        break;
      case 't':
        buf[n++] = '\t';
        break;
      case '/':
      case '\\':
        buf[n++] = (char)c;
        break;
      case 'u': {
        long hi, lo;
        size_t esc = p->pos - 1;
        p->pos++;
        hi = parse_hex4(p);
        if (hi < 0)
          return -1;
        if (hi >= 0xdc00 && hi <= 0xdfff) {
          perr(p, esc, "lone low surrogate in \\u escape");
          return -1;
        }
        if (hi >= 0xd800 && hi <= 0xdbff) {
          if (peek(p) != '\\' || peek_at(p, 1) != 'u') {
            perr(p, p->pos,
                 "expected \\u and a low surrogate after a high "
                 "surrogate");
            return -1;
          }
          p->pos += 2;
          lo = parse_hex4(p);
          if (lo < 0)
            return -1;
          if (lo < 0xdc00 || lo > 0xdfff) {
            perr(p, p->pos - 6, "expected a low surrogate (\\uDC00-\\uDFFF)");
            return -1;
          }
          hi = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
        }
        n += utf8_encode((uint32_t)hi, buf + n);
        continue;
      }
      default:
        if (c == quote) {
          buf[n++] = (char)c;
          break;
        }
        perr(p, p->pos - 1,
             "invalid escape (expected \\b \\f \\n \\r \\t \\/ \\\\ \\%c or "
             "\\uXXXX)",
             quote);
        return -1;
      }
      p->pos++;
      continue;
    }
    if (c < 0x20) {
      perr(p, p->pos, "control characters must be escaped in strings");
      return -1;
    }
    k = utf8_decode(p->s + p->pos, p->len - p->pos, &cp);
    if (k == 0) {
      perr(p, p->pos, "invalid UTF-8 in string literal");
      return -1;
    }
    memcpy(buf + n, p->s + p->pos, k);
    n += k;
    p->pos += k;
  }
  buf[n] = '\0';
  *out = buf;
  *out_len = n;
  return 0;
}

/* An integer in an index or slice selector. */
static int parse_int(struct parser *p, int64_t *out)
{
  size_t start = p->pos;
  int neg = 0;
  int64_t v = 0;
  if (peek(p) == '-') {
    neg = 1;
    p->pos++;
  }
  if (!is_digit(peek(p))) {
    perr(p, p->pos, "expected a digit");
    return -1;
  }
  if (peek(p) == '0') {
    if (neg) {
      perr(p, start, "-0 is not a valid index");
      return -1;
    }
    p->pos++;
    if (is_digit(peek(p))) {
      perr(p, start, "integers must not have leading zeros");
      return -1;
    }
    *out = 0;
    return 0;
  }
  while (is_digit(peek(p))) {
    v = v * 10 + (peek(p) - '0');
    if (v > IJSON_MAX) {
      perr(p, start, "integer out of range (must be within +-(2^53-1))");
      return -1;
    }
    p->pos++;
  }
  *out = neg ? -v : v;
  return 0;
}

static int is_name_first(uint32_t cp)
{
  return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp == '_' ||
         cp >= 0x80;
}

/* member-name-shorthand after '.' or '..'. */
static int parse_member_name(struct parser *p, const char **out,
                             size_t *out_len)
{
  size_t start = p->pos;
  uint32_t cp;
  size_t k;
  for (;;) {
    k = utf8_decode(p->s + p->pos, p->len - p->pos, &cp);
    if (k == 0 && p->pos < p->len && p->s[p->pos] >= 0x80) {
      perr(p, p->pos, "invalid UTF-8 in member name");
      return -1;
    }
    if (k == 0 || !(is_name_first(cp) || (p->pos > start && is_digit(cp))))
      break;
    p->pos += k;
  }
  if (p->pos == start) {
    perr(p, p->pos, "expected a member name or '*'");
    return -1;
  }
  char *name = palloc(p, p->pos - start + 1);
  if (!name)
    return -1;
  memcpy(name, p->s + start, p->pos - start);
  *out = name;
  *out_len = p->pos - start;
  return 0;
}

static struct expr *parse_or(struct parser *p);
static int check_logical(struct parser *p, const struct expr *e);

static int parse_selector(struct parser *p, struct selector *sel)
{
  int c = peek(p);
  if (c == '\'' || c == '"') {
    sel->kind = SEL_NAME;
    return parse_string(p, &sel->name, &sel->len);
  }
  if (c == '*') {
    sel->kind = SEL_WILD;
    p->pos++;
    return 0;
  }
  if (c == '?') {
    struct expr *e;
    p->pos++;
    if (++p->depth > JSONPATH_MAX_NESTING) {
      perr(p, p->pos,
           "filters, parentheses and function calls nested "
           "more than %d deep",
           JSONPATH_MAX_NESTING);
      return -1;
    }
    skip_ws(p);
    e = parse_or(p);
    p->depth--;
    if (!e || check_logical(p, e))
      return -1;
    sel->kind = SEL_FILTER;
    sel->filter = e;
    return 0;
  }
  if (c == '-' || is_digit(c) || c == ':') {
    if (c != ':') {
      if (parse_int(p, &sel->start))
        return -1;
      sel->has_start = 1;
      skip_ws(p);
    }
    if (peek(p) != ':') {
      sel->kind = SEL_INDEX;
      sel->index = sel->start;
      return 0;
    }
    sel->kind = SEL_SLICE;
    sel->step = 1;
    p->pos++;
    skip_ws(p);
    if (peek(p) == '-' || is_digit(peek(p))) {
      if (parse_int(p, &sel->end))
        return -1;
      sel->has_end = 1;
      skip_ws(p);
    }
    if (peek(p) == ':') {
      p->pos++;
      skip_ws(p);
      if (peek(p) == '-' || is_digit(peek(p))) {
        if (parse_int(p, &sel->step))
          return -1;
      }
    }
    return 0;
  }
  perr(p, p->pos,
       "expected a selector: a quoted name, '*', an index, a "
       "slice or '?' and a filter");
  return -1;
}

/* Skip blanks; note in seg whether there were any. */
static void skip_ws_in(struct parser *p, struct segment *seg)
{
  size_t save = p->pos;
  skip_ws(p);
  if (p->pos != save)
    seg->blank = 1;
}

/* bracketed-selection, at the '['. */
static int parse_bracket(struct parser *p, struct segment *seg)
{
  p->pos++;
  skip_ws_in(p, seg);
  for (;;) {
    struct selector *sel =
        parr_push(p, (void **)&seg->sels, &seg->n, sizeof *sel);
    if (!sel || parse_selector(p, sel))
      return -1;
    skip_ws_in(p, seg);
    if (peek(p) == ',') {
      p->pos++;
      skip_ws(p);
      continue;
    }
    if (peek(p) == ']') {
      p->pos++;
      return 0;
    }
    perr(p, p->pos, "expected ',' or ']' after a selector");
    return -1;
  }
}

/* RFC 9535 2.3.5.1: name-segment and index-segment have no room for blank
 * space inside the brackets. */
static int segment_is_singular(const struct segment *seg)
{
  return !seg->descendant && !seg->blank && seg->n == 1 &&
         (seg->sels[0].kind == SEL_NAME || seg->sels[0].kind == SEL_INDEX);
}

/* jsonpath-query ($...) or, inside a filter, rel-query (@...). */
static const struct query *parse_query(struct parser *p, int in_filter)
{
  struct query *q = palloc(p, sizeof *q);
  if (!q)
    return NULL;
  if (peek(p) == '@' && in_filter) {
    q->relative = 1;
  } else if (peek(p) != '$') {
    perr(p, p->pos,
         in_filter ? "expected '$' or '@'" : "a query must start with '$'");
    return NULL;
  }
  p->pos++;
  q->singular = 1;
  for (;;) {
    size_t save = p->pos;
    struct segment *seg;
    skip_ws(p);
    if (peek(p) != '.' && peek(p) != '[') {
      p->pos = save; /* blanks belong to whatever follows the query */
      break;
    }
    seg = parr_push(p, (void **)&q->segs, &q->n, sizeof *seg);
    if (!seg)
      return NULL;
    if (peek(p) == '[') {
      if (parse_bracket(p, seg))
        return NULL;
    } else {
      p->pos++;
      if (peek(p) == '.') {
        seg->descendant = 1;
        p->pos++;
        if (peek(p) == '[') {
          if (parse_bracket(p, seg))
            return NULL;
          goto next;
        }
      }
      struct selector *sel =
          parr_push(p, (void **)&seg->sels, &seg->n, sizeof *sel);
      if (!sel)
        return NULL;
      if (peek(p) == '*') {
        sel->kind = SEL_WILD;
        p->pos++;
      } else {
        sel->kind = SEL_NAME;
        if (parse_member_name(p, &sel->name, &sel->len))
          return NULL;
      }
    }
  next:
    if (!segment_is_singular(seg))
      q->singular = 0;
  }
  return q;
}

static struct expr *new_expr(struct parser *p, enum expr_kind kind, size_t pos)
{
  struct expr *e = palloc(p, sizeof *e);
  if (e) {
    e->kind = kind;
    e->pos = pos;
  }
  return e;
}

/* A number literal: (int / "-0") [frac] [exp]. */
static struct expr *parse_number(struct parser *p)
{
  size_t start = p->pos;
  int is_int = 1;
  struct expr *e;
  if (peek(p) == '-')
    p->pos++;
  if (!is_digit(peek(p))) {
    perr(p, p->pos, "expected a digit");
    return NULL;
  }
  if (peek(p) == '0' && is_digit(peek_at(p, 1))) {
    perr(p, p->pos, "numbers must not have leading zeros");
    return NULL;
  }
  while (is_digit(peek(p)))
    p->pos++;
  if (peek(p) == '.') {
    p->pos++;
    is_int = 0;
    if (!is_digit(peek(p))) {
      perr(p, p->pos, "expected a digit after the decimal point");
      return NULL;
    }
    while (is_digit(peek(p)))
      p->pos++;
  }
  if (peek(p) == 'e' || peek(p) == 'E') {
    p->pos++;
    is_int = 0;
    if (peek(p) == '+' || peek(p) == '-')
      p->pos++;
    if (!is_digit(peek(p))) {
      perr(p, p->pos, "expected a digit in the exponent");
      return NULL;
    }
    while (is_digit(peek(p)))
      p->pos++;
  }
  e = new_expr(p, E_LIT, start);
  if (!e)
    return NULL;
  size_t n = p->pos - start;
  if (is_int) {
    /* exact when it fits in int64, else a real like any other */
    int neg = p->s[start] == '-';
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX;
    size_t i = start + (size_t)neg;
    for (; i < p->pos && v <= lim; i++)
      v = v > (lim - (uint64_t)(p->s[i] - '0')) / 10
              ? lim + 1
              : v * 10 + (uint64_t)(p->s[i] - '0');
    if (v <= lim) {
      e->lit.k = V_INT;
      e->lit.i = neg ? (int64_t)(0 - v) : (int64_t)v;
      return e;
    }
  }
  /* strtod follows the locale's decimal point (as jansson works around):
   * write the number with the locale's point. */
  const char *point = localeconv()->decimal_point;
  size_t plen = point && *point ? strlen(point) : 1;
  char *tmp = palloc(p, n * (plen + 1) + 1), *end;
  size_t k = 0;
  if (!tmp)
    return NULL;
  for (size_t i = start; i < p->pos; i++) {
    if (p->s[i] == '.' && plen && point && *point) {
      memcpy(tmp + k, point, plen);
      k += plen;
    } else {
      tmp[k++] = (char)p->s[i];
    }
  }
  tmp[k] = '\0';
  e->lit.k = V_REAL;
  e->lit.d = strtod(tmp, &end);
  return e;
}

static enum jtype expr_fn_type(const struct expr *e)
{
  for (size_t i = 0; i < sizeof fn_defs / sizeof fn_defs[0]; i++)
    if (fn_defs[i].id == e->fn)
      return fn_defs[i].result;
  return T_VALUE;
}

static const char *fn_name(enum fn_id id)
{
  for (size_t i = 0; i < sizeof fn_defs / sizeof fn_defs[0]; i++)
    if (fn_defs[i].id == id)
      return fn_defs[i].name;
  return "?";
}

/* Whether e may stand where a test-expr or logical-expr is expected. */
static int check_logical(struct parser *p, const struct expr *e)
{
  switch (e->kind) {
  case E_OR:
  case E_AND:
  case E_NOT:
    for (size_t i = 0; i < e->n; i++)
      if (check_logical(p, e->list[i]))
        return -1;
    return 0;
  case E_CMP:
  case E_QUERY:
    return 0;
  case E_LIT:
    perr(p, e->pos, "a literal is not a test: compare it with something");
    return -1;
  case E_FUNC:
    if (expr_fn_type(e) == T_VALUE) {
      perr(p, e->pos,
           "%s() returns a value, not a test: compare it with "
           "something",
           fn_name(e->fn));
      return -1;
    }
    return 0;
  }
  return 0;
}

/* Whether e may be an operand of a comparison (a comparable). */
static int check_comparable(struct parser *p, const struct expr *e)
{
  if (e->paren) {
    perr(p, e->pos, "a parenthesized expression cannot be compared");
    return -1;
  }
  switch (e->kind) {
  case E_LIT:
    return 0;
  case E_QUERY:
    if (!e->q->singular) {
      perr(p, e->pos,
           "only singular queries (names and indices only) can "
           "be compared");
      return -1;
    }
    return 0;
  case E_FUNC:
    if (expr_fn_type(e) != T_VALUE) {
      perr(p, e->pos,
           "%s() returns a logical result, which cannot be "
           "compared",
           fn_name(e->fn));
      return -1;
    }
    return 0;
  default:
    perr(p, e->pos, "this cannot be compared");
    return -1;
  }
}

/* Whether argument e fits a parameter of type t (RFC 9535 2.4.3). */
static int check_arg(struct parser *p, const struct expr *e, enum jtype t,
                     const char *fname, size_t argno)
{
  if (t == T_LOGICAL)
    return check_logical(p, e);
  if (!e->paren && e->kind == E_QUERY) {
    if (t == T_NODES || e->q->singular)
      return 0;
    perr(p, e->pos,
         "argument %zu of %s() must be a single value: a "
         "literal, a singular query or a function returning a "
         "value",
         argno, fname);
    return -1;
  }
  if (!e->paren && e->kind == E_FUNC && expr_fn_type(e) == t)
    return 0;
  if (!e->paren && e->kind == E_LIT && t == T_VALUE)
    return 0;
  perr(p, e->pos, "argument %zu of %s() must be %s", argno, fname,
       t == T_VALUE ? "a value: a literal, a singular query or a function "
                      "returning a value"
                    : "a query");
  return -1;
}

/* Register a compiled pattern with the query so jsonpath_free frees it. */
static int keep_regex(struct parser *p, pcre2_code *re)
{
  struct jsonpath *jp = p->jp;
  if ((jp->nres & (jp->nres + 1)) == 0 || jp->nres == 0) {
    size_t cap = jp->nres ? (jp->nres + 1) * 2 : 2;
    pcre2_code **m = realloc(jp->res, cap * sizeof *m);
    if (!m) {
      pcre2_code_free(re);
      p->rc = error_set(p->err, INTEG_ENOMEM,
                        "out of memory compiling a "
                        "JSONPath query");
      return -1;
    }
    jp->res = m;
  }
  jp->res[jp->nres++] = re;
  return 0;
}

/* function-expr, at the name (already known to be followed by '('). */
static struct expr *parse_function(struct parser *p, size_t name_len)
{
  size_t start = p->pos;
  const struct fn_def *def = NULL;
  struct expr *e;
  for (size_t i = 0; i < sizeof fn_defs / sizeof fn_defs[0]; i++)
    if (strlen(fn_defs[i].name) == name_len &&
        memcmp(fn_defs[i].name, p->s + start, name_len) == 0)
      def = &fn_defs[i];
  if (!def) {
    perr(p, start,
         "unknown function '%.*s' (expected length, count, match, "
         "search or value)",
         (int)name_len, (const char *)p->s + start);
    return NULL;
  }
  e = new_expr(p, E_FUNC, start);
  if (!e)
    return NULL;
  e->fn = def->id;
  p->pos += name_len + 1;
  if (++p->depth > JSONPATH_MAX_NESTING) {
    perr(p, p->pos,
         "filters, parentheses and function calls nested more "
         "than %d deep",
         JSONPATH_MAX_NESTING);
    return NULL;
  }
  skip_ws(p);
  if (peek(p) != ')') {
    for (;;) {
      struct expr *arg = parse_or(p);
      struct expr **slot;
      if (!arg)
        return NULL;
      if (e->n >= def->nparams) {
        perr(p, arg->pos, "too many arguments: %s() takes %zu", def->name,
             def->nparams);
        return NULL;
      }
      if (check_arg(p, arg, def->params[e->n], def->name, e->n + 1))
        return NULL;
      slot = parr_push(p, (void **)&e->list, &e->n, sizeof *slot);
      if (!slot)
        return NULL;
      *slot = arg;
      skip_ws(p);
      if (peek(p) == ',') {
        p->pos++;
        skip_ws(p);
        continue;
      }
      break;
    }
  }
  if (peek(p) != ')') {
    perr(p, p->pos, "expected ',' or ')' in the arguments of %s()", def->name);
    return NULL;
  }
  if (e->n != def->nparams) {
    perr(p, p->pos, "too few arguments: %s() takes %zu", def->name,
         def->nparams);
    return NULL;
  }
  p->pos++;
  p->depth--;
  if ((def->id == FN_MATCH || def->id == FN_SEARCH) &&
      e->list[1]->kind == E_LIT) {
    const struct val *pat = &e->list[1]->lit;
    pcre2_code *re = NULL;
    if (pat->k != V_STR ||
        iregexp_compile(pat->s, pat->len,
                        def->id == FN_MATCH ? IREGEXP_MATCH : IREGEXP_SEARCH,
                        &re, NULL) != 0) {
      /* Not an I-Regexp: well-typed all the same, and always false. */
      e->re_never = 1;
    } else {
      if (keep_regex(p, re))
        return NULL;
      e->re = re;
    }
  }
  return e;
}

/* literal / query / function-expr. */
static struct expr *parse_primary(struct parser *p)
{
  size_t start = p->pos;
  int c = peek(p);
  struct expr *e;
  if (c == '$' || c == '@') {
    e = new_expr(p, E_QUERY, start);
    if (!e || !(e->q = parse_query(p, 1)))
      return NULL;
    return e;
  }
  if (c == '\'' || c == '"') {
    e = new_expr(p, E_LIT, start);
    if (!e || parse_string(p, &e->lit.s, &e->lit.len))
      return NULL;
    e->lit.k = V_STR;
    return e;
  }
  if (c == '-' || is_digit(c))
    return parse_number(p);
  if (c >= 'a' && c <= 'z') {
    size_t n = 0;
    int d;
    while ((d = peek_at(p, n)) >= 0 &&
           ((d >= 'a' && d <= 'z') || is_digit(d) || d == '_'))
      n++;
    if (peek_at(p, n) == '(')
      return parse_function(p, n);
    static const struct {
      const char *word;
      enum val_kind k;
    } words[] = {{"true", V_TRUE}, {"false", V_FALSE}, {"null", V_NULL}};
    for (size_t i = 0; i < 3; i++) {
      if (strlen(words[i].word) == n &&
          memcmp(words[i].word, p->s + start, n) == 0) {
        e = new_expr(p, E_LIT, start);
        if (!e)
          return NULL;
        e->lit.k = words[i].k;
        p->pos += n;
        return e;
      }
    }
    perr(p, start,
         "expected true, false, null or a function call like "
         "length(...)");
    return NULL;
  }
  perr(p, start,
       "expected a query ('$' or '@'), a literal or a function "
       "call");
  return NULL;
}

/* A comparison operator at p->pos: consumes it and returns 1, or 0. */
static int parse_cmp_op(struct parser *p, enum cmp_op *op)
{
  int c = peek(p), d = peek_at(p, 1);
  if (c == '=' && d == '=')
    *op = OP_EQ;
  else if (c == '!' && d == '=')
    *op = OP_NE;
  else if (c == '<' && d == '=')
    *op = OP_LE;
  else if (c == '>' && d == '=')
    *op = OP_GE;
  else if (c == '<')
    *op = OP_LT;
  else if (c == '>')
    *op = OP_GT;
  else
    return 0;
  p->pos += (*op == OP_LT || *op == OP_GT) ? 1 : 2;
  return 1;
}

/* After an operand that cannot be compared: refuse a comparison. */
static int refuse_cmp(struct parser *p, const char *what)
{
  size_t save = p->pos;
  enum cmp_op op;
  skip_ws(p);
  if (parse_cmp_op(p, &op)) {
    perr(p, save, "%s cannot be compared", what);
    return -1;
  }
  p->pos = save;
  return 0;
}

/* paren-expr, at the '('. */
static struct expr *parse_paren(struct parser *p)
{
  size_t start = p->pos;
  struct expr *e;
  if (++p->depth > JSONPATH_MAX_NESTING) {
    perr(p, p->pos,
         "filters, parentheses and function calls nested more "
         "than %d deep",
         JSONPATH_MAX_NESTING);
    return NULL;
  }
  p->pos++;
  skip_ws(p);
  e = parse_or(p);
  if (!e)
    return NULL;
  skip_ws(p);
  if (peek(p) != ')') {
    perr(p, p->pos, "expected '&&', '||' or ')'");
    return NULL;
  }
  p->pos++;
  p->depth--;
  if (check_logical(p, e))
    return NULL;
  e->paren = 1;
  e->pos = start;
  return e;
}

/* basic-expr: paren-expr / comparison-expr / test-expr. */
static struct expr *parse_basic(struct parser *p)
{
  size_t start = p->pos;
  struct expr *e, *not ;
  if (peek(p) == '!') {
    p->pos++;
    skip_ws(p);
    if (peek(p) == '(') {
      e = parse_paren(p);
    } else {
      size_t at = p->pos;
      e = parse_primary(p);
      if (e && e->kind != E_QUERY && e->kind != E_FUNC) {
        perr(p, at, "expected '(', a query or a function after '!'");
        return NULL;
      }
    }
    if (!e)
      return NULL;
    not = new_expr(p, E_NOT, start);
    if (!not )
      return NULL;
    struct expr **slot =
        parr_push(p, (void **)&not ->list, &not ->n, sizeof *slot);
    if (!slot)
      return NULL;
    *slot = e;
    if (refuse_cmp(p, "a negation"))
      return NULL;
    return not ;
  }
  if (peek(p) == '(') {
    e = parse_paren(p);
    if (!e || refuse_cmp(p, "a parenthesized expression"))
      return NULL;
    return e;
  }
  e = parse_primary(p);
  if (!e)
    return NULL;
  size_t save = p->pos;
  enum cmp_op op;
  skip_ws(p);
  size_t oppos = p->pos;
  if (!parse_cmp_op(p, &op)) {
    p->pos = save;
    return e;
  }
  struct expr *cmp = new_expr(p, E_CMP, oppos);
  if (!cmp)
    return NULL;
  skip_ws(p);
  struct expr *rhs = parse_primary(p);
  if (!rhs || check_comparable(p, e) || check_comparable(p, rhs))
    return NULL;
  cmp->op = op;
  cmp->list = palloc(p, 2 * sizeof *cmp->list);
  if (!cmp->list)
    return NULL;
  cmp->list[0] = e;
  cmp->list[1] = rhs;
  cmp->n = 2;
  if (refuse_cmp(p, "a comparison (comparisons do not chain)"))
    return NULL;
  return cmp;
}

/* logical-and-expr and logical-or-expr: n-ary, so long chains cost no
 * recursion. */
static struct expr *parse_chain(struct parser *p, int is_or)
{
  size_t start = p->pos;
  struct expr *first = is_or ? parse_chain(p, 0) : parse_basic(p), *e = NULL;
  const char *tok = is_or ? "||" : "&&";
  if (!first)
    return NULL;
  for (;;) {
    size_t save = p->pos;
    struct expr *next, **slot;
    skip_ws(p);
    if (peek(p) != tok[0] || peek_at(p, 1) != tok[1]) {
      p->pos = save;
      break;
    }
    p->pos += 2;
    skip_ws(p);
    next = is_or ? parse_chain(p, 0) : parse_basic(p);
    if (!next)
      return NULL;
    if (!e) {
      e = new_expr(p, is_or ? E_OR : E_AND, start);
      if (!e)
        return NULL;
      slot = parr_push(p, (void **)&e->list, &e->n, sizeof *slot);
      if (!slot)
        return NULL;
      *slot = first;
    }
    slot = parr_push(p, (void **)&e->list, &e->n, sizeof *slot);
    if (!slot)
      return NULL;
    *slot = next;
  }
  if (e && check_logical(p, e))
    return NULL;
  return e ? e : first;
}

static struct expr *parse_or(struct parser *p)
{
  return parse_chain(p, 1);
}

int jsonpath_compile(const char *q, size_t len, struct jsonpath **out,
                     struct integ_error *err)
{
  struct jsonpath *jp = calloc(1, sizeof *jp);
  struct parser p = {(const unsigned char *)q, len, 0, jp, err, 0, 0};
  int rc;
  *out = NULL;
  if (!jp)
    return error_set(err, INTEG_ENOMEM,
                     "out of memory compiling a JSONPath "
                     "query");
  if (!q && len) {
    rc = error_set(err, INTEG_EINVAL, "no JSONPath query given");
    goto out;
  }
  jp->q = parse_query(&p, 0);
  if (jp->q && p.pos < p.len)
    perr(&p, p.pos, "expected '.', '..', '[' or the end of the query");
  rc = p.rc;
  if (rc)
    goto out;
  *out = jp;
  jp = NULL;
out:
  jsonpath_free(jp);
  return rc;
}

void jsonpath_free(struct jsonpath *jp)
{
  if (!jp)
    return;
  for (size_t i = 0; i < jp->nres; i++)
    pcre2_code_free(jp->res[i]);
  free(jp->res);
  arena_free(&jp->arena);
  free(jp);
}

int jsonpath_is_singular(const struct jsonpath *jp)
{
  return jp->q->singular;
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
  n = arena_alloc(&c->paths, sizeof *n);
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
  n = arena_alloc(&c->paths, sizeof *n);
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
  arena_free(&c.paths);
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
