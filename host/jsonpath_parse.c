/* jsonpath_parse.c - the JSONPath (RFC 9535) compiler: a recursive-descent
 * parser over the RFC 9535 grammar; see jsonpath.c. */
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
#include "jsonpath_int.h"
#include "utf8.h"

/* Integers in index and slice selectors must lie in the I-JSON range. */
#define IJSON_MAX ((int64_t)9007199254740991) /* 2^53 - 1 */

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

/* ----------------------------------------------------------- parser */

struct parser {
  const unsigned char *s;
  size_t len, pos;
  struct jsonpath *jp;
  struct integ_error *err;
  int rc; /* 0, or the first error */
  int depth;
  size_t nsegs; /* segments in the whole query, filters' included */
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
  void *m = jsonpath_arena_alloc(&p->jp->arena, size);
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
    /* The evaluator recurses once per segment. */
    if (++p->nsegs > JSONPATH_MAX_SEGMENTS) {
      perr(p, p->pos, "more than %d segments in one query",
           JSONPATH_MAX_SEGMENTS);
      return NULL;
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
      }
      if (seg->descendant && peek(p) == '[') {
        if (parse_bracket(p, seg))
          return NULL;
      } else {
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
    }
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
    int rc = pat->k != V_STR
                 ? INTEG_EINVAL
                 : iregexp_compile(pat->s, pat->len,
                                   def->id == FN_MATCH ? IREGEXP_MATCH
                                                       : IREGEXP_SEARCH,
                                   &re, NULL);
    if (rc == INTEG_ENOMEM) {
      if (!p->rc)
        p->rc = error_set(p->err, INTEG_ENOMEM,
                          "out of memory compiling a JSONPath query");
      return NULL;
    } else if (rc) {
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
  struct parser p = {(const unsigned char *)q, len, 0, jp, err, 0, 0, 0};
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
  jsonpath_arena_free(&jp->arena);
  free(jp);
}

int jsonpath_is_singular(const struct jsonpath *jp)
{
  return jp->q->singular;
}