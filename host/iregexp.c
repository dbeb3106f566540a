/* iregexp.c - I-Regexp (RFC 9485) checked and run with PCRE2. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "iregexp.h"
#include "utf8.h"

/* The translation being written; an allocation failure sticks. */
struct obuf {
  struct buf b;
  int nomem;
};

static void obuf_add(struct obuf *o, const char *s, size_t n)
{
  if (!o->nomem && buf_append(&o->b, s, n))
    o->nomem = 1;
}

static void obuf_str(struct obuf *b, const char *s)
{
  obuf_add(b, s, strlen(s));
}

/* Write code point cp so PCRE2 reads it as that one literal character,
 * inside or outside a class. */
static void obuf_literal(struct obuf *b, uint32_t cp)
{
  char tmp[16];
  if ((cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') ||
      (cp >= 'A' && cp <= 'Z')) {
    tmp[0] = (char)cp;
    obuf_add(b, tmp, 1);
    return;
  }
  int n = snprintf(tmp, sizeof tmp, "\\x{%x}", (unsigned)cp);
  obuf_add(b, tmp, (size_t)n);
}

struct rparser {
  const unsigned char *s;
  size_t len, pos;
  struct obuf out;
  struct integ_error *err;
  int failed;
};

static void rfail(struct rparser *p, const char *what)
{
  if (p->failed)
    return;
  p->failed = 1;
  error_set(p->err, INTEG_EINVAL,
            "not an I-Regexp (RFC 9485): at offset %zu: %s", p->pos, what);
}

/* Decode the UTF-8 character at p->pos without consuming it. Returns its
 * length in bytes (0 at the end or on invalid UTF-8, which fails p). */
static size_t rpeek(struct rparser *p, uint32_t *cp)
{
  size_t n = utf8_decode(p->s + p->pos, p->len - p->pos, cp);

  if (n == 0 && p->pos < p->len)
    rfail(p, "invalid UTF-8");
  return n;
}

static int at(const struct rparser *p, char c)
{
  return p->pos < p->len && p->s[p->pos] == (unsigned char)c;
}

static int at2(const struct rparser *p, char c1, char c2)
{
  return p->pos + 1 < p->len && p->s[p->pos] == (unsigned char)c1 &&
         p->s[p->pos + 1] == (unsigned char)c2;
}

/* catEsc / complEsc after the backslash: p{..} or P{..}; copied as is. */
static void parse_category(struct rparser *p)
{
  static const char *const cats[] = {
      "L",  "Ll", "Lm", "Lo", "Lt", "Lu", "M",  "Mc", "Me", "Mn", "N",  "Nd",
      "Nl", "No", "P",  "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "Z",  "Zl",
      "Zp", "Zs", "S",  "Sc", "Sk", "Sm", "So", "C",  "Cc", "Cf", "Cn", "Co"};
  char neg = (char)p->s[p->pos];
  size_t start;
  p->pos++;
  if (!at(p, '{')) {
    rfail(p, "expected '{' after \\p or \\P");
    return;
  }
  p->pos++;
  start = p->pos;
  while (p->pos < p->len && p->s[p->pos] != '}' && p->pos - start < 3)
    p->pos++;
  if (!at(p, '}')) {
    rfail(p, "expected a Unicode category and '}' after \\p{ or \\P{");
    return;
  }
  for (size_t i = 0; i < sizeof cats / sizeof cats[0]; i++) {
    if (strlen(cats[i]) == p->pos - start &&
        memcmp(cats[i], p->s + start, p->pos - start) == 0) {
      obuf_str(&p->out, neg == 'p' ? "\\p{" : "\\P{");
      obuf_str(&p->out, cats[i]);
      obuf_str(&p->out, "}");
      p->pos++;
      return;
    }
  }
  p->pos = start;
  rfail(p, "unknown Unicode category (expected one of L Lu Ll Lt Lm Lo M "
           "Mn Mc Me N Nd Nl No P Pc Pd Ps Pe Pi Pf Po Z Zs Zl Zp S Sm Sc "
           "Sk So C Cc Cf Co Cn)");
}

/* SingleCharEsc after the backslash; returns the character it stands for,
 * or fails. */
static uint32_t parse_single_esc(struct rparser *p)
{
  if (p->pos >= p->len) {
    rfail(p, "expected a character after '\\'");
    return 0;
  }
  unsigned char c = p->s[p->pos];
  switch (c) {
  case 'n':
    p->pos++;
    return '\n';
  case 'r':
    p->pos++;
    return '\r';
  case 't':
    p->pos++;
    return '\t';
  case '(':
  case ')':
  case '*':
  case '+':
  case '-':
  case '.':
  case '?':
  case '[':
  case '\\':
  case ']':
  case '^':
  case '{':
  case '|':
  case '}':
    p->pos++;
    return c;
  default:
    rfail(p, "invalid escape (I-Regexp allows \\n \\r \\t, \\p{..}, \\P{..} "
             "and a backslash before one of ()*+-.?[\\]^{|})");
    return 0;
  }
}

/* One CCchar: returns the code point, or fails. */
static uint32_t parse_ccchar(struct rparser *p)
{
  uint32_t cp = 0;
  size_t n;
  if (at(p, '\\')) {
    p->pos++;
    return parse_single_esc(p);
  }
  n = rpeek(p, &cp);
  if (n == 0) {
    rfail(p, "expected a character in the character class");
    return 0;
  }
  if (cp == '-' || cp == '[' || cp == ']') {
    rfail(p, "'-', '[' and ']' must be escaped inside a character class");
    return 0;
  }
  p->pos += n;
  return cp;
}

/* One CCE1: a character, a range or a category escape. */
static void parse_cce1(struct rparser *p)
{
  if (at2(p, '\\', 'p') || at2(p, '\\', 'P')) {
    p->pos++;
    parse_category(p);
    return;
  }
  uint32_t lo = parse_ccchar(p);
  if (p->failed)
    return;
  obuf_literal(&p->out, lo);
  if (at(p, '-') && !at2(p, '-', ']') && p->pos + 1 < p->len) {
    p->pos++;
    size_t where = p->pos;
    uint32_t hi = parse_ccchar(p);
    if (p->failed)
      return;
    if (hi < lo) {
      p->pos = where;
      rfail(p, "character range out of order");
      return;
    }
    obuf_str(&p->out, "-");
    obuf_literal(&p->out, hi);
  }
}

/* charClassExpr, after the '['. */
static void parse_class(struct rparser *p)
{
  obuf_str(&p->out, "[");
  if (at(p, '^')) {
    obuf_str(&p->out, "^");
    p->pos++;
  }
  if (at(p, '-')) {
    obuf_str(&p->out, "\\-");
    p->pos++;
  } else {
    parse_cce1(p);
  }
  while (!p->failed && p->pos < p->len && !at(p, ']')) {
    if (at2(p, '-', ']')) {
      obuf_str(&p->out, "\\-");
      p->pos++;
      break;
    }
    parse_cce1(p);
  }
  if (p->failed)
    return;
  if (!at(p, ']')) {
    rfail(p, "expected ']' to close the character class");
    return;
  }
  p->pos++;
  obuf_str(&p->out, "]");
}

static void parse_alt(struct rparser *p, int depth);

static void parse_atom(struct rparser *p, int depth)
{
  uint32_t cp = 0;
  size_t n;
  unsigned char c = p->s[p->pos];
  switch (c) {
  case '(':
    if (depth >= IREGEXP_MAX_NESTING) {
      rfail(p, "groups nested too deeply");
      return;
    }
    p->pos++;
    obuf_str(&p->out, "(?:");
    parse_alt(p, depth + 1);
    if (p->failed)
      return;
    if (!at(p, ')')) {
      rfail(p, "expected ')'");
      return;
    }
    p->pos++;
    obuf_str(&p->out, ")");
    return;
  case '.':
    p->pos++;
    obuf_str(&p->out, "[^\\n\\r]");
    return;
  case '[':
    p->pos++;
    parse_class(p);
    return;
  case '\\':
    p->pos++;
    if (at(p, 'p') || at(p, 'P')) {
      parse_category(p);
      return;
    }
    cp = parse_single_esc(p);
    if (!p->failed)
      obuf_literal(&p->out, cp);
    return;
  case ')':
  case '*':
  case '+':
  case '?':
  case ']':
  case '{':
  case '}':
    rfail(p, "unexpected character: escape it with '\\'");
    return;
  case '^':
  case '$':
    /* Ordinary characters in the RFC 9485 grammar, but its own mappings to
     * ECMAScript and PCRE leave them anchors, and so does the JSONPath
     * compliance suite: keep them anchors ('$' only at the very end). */
    p->pos++;
    obuf_add(&p->out, (const char *)&c, 1);
    return;
  default:
    n = rpeek(p, &cp);
    if (n == 0)
      return;
    p->pos += n;
    obuf_literal(&p->out, cp);
    return;
  }
}

/* A repeat count; saturates (PCRE2 refuses counts over 65535 anyway). */
static size_t parse_count(struct rparser *p)
{
  size_t start = p->pos, v = 0;
  while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
    if (v < 1000000)
      v = v * 10 + (size_t)(p->s[p->pos] - '0');
    p->pos++;
  }
  if (p->pos == start)
    rfail(p, "expected a number in the repeat count");
  return v;
}

static void parse_piece(struct rparser *p, int depth)
{
  parse_atom(p, depth);
  if (p->failed || p->pos >= p->len)
    return;
  char c = (char)p->s[p->pos];
  if (c == '*' || c == '+' || c == '?') {
    p->pos++;
    obuf_add(&p->out, &c, 1);
  } else if (c == '{') {
    size_t start = p->pos;
    size_t lo, hi;
    p->pos++;
    lo = parse_count(p);
    hi = lo;
    if (!p->failed && at(p, ',')) {
      p->pos++;
      hi = SIZE_MAX;
      if (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
        hi = parse_count(p);
    }
    if (p->failed)
      return;
    if (hi < lo) {
      rfail(p, "repeat count {n,m} with m less than n");
      return;
    }
    if (!at(p, '}')) {
      rfail(p, "expected '}' to close the repeat count");
      return;
    }
    p->pos++;
    obuf_add(&p->out, (const char *)p->s + start, p->pos - start);
  }
}

static void parse_alt(struct rparser *p, int depth)
{
  for (;;) {
    while (!p->failed && p->pos < p->len && !at(p, '|') && !at(p, ')'))
      parse_piece(p, depth);
    if (p->failed || !at(p, '|'))
      return;
    p->pos++;
    obuf_str(&p->out, "|");
  }
}

int iregexp_translate(const char *re, size_t len, char **out, size_t *out_len,
                      struct integ_error *err)
{
  struct rparser p = {
      (const unsigned char *)re, len, 0, {BUF_INIT, 0}, err, 0};
  int rc = INTEG_EINVAL;
  *out = NULL;
  obuf_str(&p.out, "");
  parse_alt(&p, 0);
  if (!p.failed && p.pos < p.len)
    rfail(&p, "unbalanced ')'");
  if (p.failed)
    goto out;
  if (p.out.nomem) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory translating a regexp");
    goto out;
  }
  *out = p.out.b.data;
  *out_len = p.out.b.len;
  p.out.b.data = NULL;
  rc = 0;
out:
  buf_free(&p.out.b);
  return rc;
}

int iregexp_compile(const char *re, size_t len, enum iregexp_mode mode,
                    pcre2_code **out, struct integ_error *err)
{
  char *pat = NULL;
  size_t plen = 0;
  int errcode, rc;
  PCRE2_SIZE erroff;
  uint32_t opts = PCRE2_UTF | PCRE2_NO_UTF_CHECK | PCRE2_NEVER_BACKSLASH_C |
                  PCRE2_DOLLAR_ENDONLY;
  *out = NULL;
  rc = iregexp_translate(re, len, &pat, &plen, err);
  if (rc)
    goto out;
  if (mode == IREGEXP_MATCH)
    opts |= PCRE2_ANCHORED | PCRE2_ENDANCHORED;
  *out = pcre2_compile((PCRE2_SPTR)pat, plen, opts, &errcode, &erroff, NULL);
  if (!*out) {
    PCRE2_UCHAR msg[256];
    if (pcre2_get_error_message(errcode, msg, sizeof msg) < 0)
      msg[0] = '\0';
    rc = error_set(err, INTEG_EINVAL, "regexp refused by PCRE2: %s",
                   (const char *)msg);
    goto out;
  }
  rc = 0;
out:
  free(pat);
  return rc;
}

int iregexp_exec(const pcre2_code *code, const char *s, size_t len,
                 pcre2_match_data *md, pcre2_match_context *mc)
{
  int rc = pcre2_match(code, (PCRE2_SPTR)s, len, 0, 0, md, mc);
  if (rc >= 0)
    return 1;
  if (rc == PCRE2_ERROR_NOMATCH)
    return 0;
  return rc;
}
