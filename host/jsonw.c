/* jsonw.c - compact, byte-exact JSON writer (see jsonw.h). */
#include "config.h"

#include <assert.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <integ/plugin.h>

#include "jsonw.h"
#include "utf8.h"

static const char hexdigits[] = "0123456789abcdef";

/* buf_append with the common case inline: most pieces are a few bytes
 * and fit, and the call per piece was a large part of the time. */
static inline int put(struct buf *b, const void *p, size_t n)
{
  if (b->cap - b->len > n) {
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
  }
  return buf_append(b, p, n);
}

/* For each byte: 0 copied as is; 1 needs an escape; 2 starts (or is part
 * of) a multi-byte UTF-8 sequence. DEL is 3: escaped only in ASCII mode,
 * as Python's ensure_ascii escapes everything outside ' '..'~'. */
static const unsigned char byte_class[256] = {
    /* 0x00-0x1f: control characters */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1,
    /* 0x20-0x7f */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* '"' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /**/
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /**/
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* '\\' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /**/
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, /* DEL */
    /* 0x80-0xff */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2};

static void put_u16(char *p, uint32_t u)
{
  p[0] = '\\';
  p[1] = 'u';
  p[2] = hexdigits[(u >> 12) & 0xf];
  p[3] = hexdigits[(u >> 8) & 0xf];
  p[4] = hexdigits[(u >> 4) & 0xf];
  p[5] = hexdigits[u & 0xf];
}

int jsonw_string(struct buf *b, const char *s, size_t len, unsigned flags)
{
  const unsigned char *p = (const unsigned char *)s;
  const unsigned char *end = p + len;
  size_t start = b->len;
  int ascii = (flags & JSONW_ASCII) != 0;
  int rc;

  rc = put(b, "\"", 1);
  if (rc)
    return rc;
  while (p < end) {
    const unsigned char *run = p;
    char esc[12];
    size_t n = 0;
    unsigned char cls;

    /* Copy the longest run that needs nothing. */
    while (p < end && (cls = byte_class[*p]) == 0)
      p++;
    if (p > run && (rc = put(b, run, (size_t)(p - run))))
      goto out;
    if (p == end)
      break;
    cls = byte_class[*p];
    if (cls == 1) {
      esc[0] = '\\';
      n = 2;
      switch (*p) {
      case '"':
        esc[1] = '"';
        break;
      case '\\':
        esc[1] = '\\';
        break;
      case '\b':
        esc[1] = 'b';
        break;
      case '\f':
        esc[1] = 'f';
        break;
      case '\n':
        esc[1] = 'n';
        break;
      case '\r':
        esc[1] = 'r';
        break;
      case '\t':
        esc[1] = 't';
        break;
      default:
        put_u16(esc, *p);
        n = 6;
      }
      p++;
    } else if (cls == 3) {
      if (ascii) {
        put_u16(esc, *p);
        n = 6;
      } else {
        esc[0] = (char)*p;
        n = 1;
      }
      p++;
    } else {
      uint32_t cp;
      size_t ulen = utf8_decode(p, (size_t)(end - p), &cp);

      if (!ulen) {
        rc = INTEG_EINVAL;
        goto out;
      }
      if (!ascii) {
        memcpy(esc, p, ulen);
        n = ulen;
      } else if (cp < 0x10000) {
        put_u16(esc, cp);
        n = 6;
      } else {
        cp -= 0x10000;
        put_u16(esc, 0xd800 | (cp >> 10));
        put_u16(esc + 6, 0xdc00 | (cp & 0x3ff));
        n = 12;
      }
      p += ulen;
    }
    if ((rc = put(b, esc, n)))
      goto out;
  }
  rc = put(b, "\"", 1);
out:
  if (rc) {
    b->len = start;
    if (b->data)
      b->data[start] = '\0';
  }
  return rc;
}

int jsonw_integer(struct buf *b, json_int_t i)
{
  char tmp[24];
  char *p = tmp + sizeof tmp;
  /* Work in unsigned so INT64_MIN negates without overflow. */
  unsigned long long u =
      i < 0 ? 0ULL - (unsigned long long)i : (unsigned long long)i;

  do {
    *--p = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (i < 0)
    *--p = '-';
  return put(b, p, (size_t)(tmp + sizeof tmp - p));
}

/* Shortest digits of d (finite, > 0) that read back as d: fills digits
 * (no dot, no leading or trailing zeros) and returns their count; *e10
 * is the decimal exponent of the first digit (d = 0.D... * 10^(e10+1)).
 * The correctly rounded N-digit decimal is tried for N = 1..17, as
 * Python's repr (David Gay's shortest mode) ends up with the closest
 * shortest string. Where d is a power of two its rounding interval is
 * narrower below than above, so the N-digit decimal above d may round-trip
 * when the nearest does not: that one is tried too. */
static size_t shortest_digits_here(double d, char *digits, int *e10)
{
  char tmp[40];
  size_t nd = 0;
  int prec;
  int mexp;
  int pow2 = frexp(d, &mexp) == 0.5;

  for (prec = 1; prec <= 17; prec++) {
    char *e;
    int i, n;

    n = snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
    assert(n > 0 && (size_t)n < sizeof tmp);
    if (strtod(tmp, NULL) != d) {
      char up[40];
      int carry = 1;

      if (!pow2 || prec == 17)
        continue;
      /* Next N-digit decimal above: add one unit in the last place. */
      memcpy(up, tmp, (size_t)n + 1);
      e = strchr(up, 'e');
      for (i = (int)(e - up) - 1; i >= 0 && carry; i--) {
        if (up[i] < '0' || up[i] > '9') /* the radix character */
          continue;
        if (up[i] == '9') {
          up[i] = '0';
        } else {
          up[i]++;
          carry = 0;
        }
      }
      if (carry) /* 9.99e5 + 1 ulp = 10.0e5: never the shorter answer */
        continue;
      if (strtod(up, NULL) != d)
        continue;
      memcpy(tmp, up, (size_t)n + 1);
    }
    /* tmp is "D.DDDe[+-]XX" (no dot when prec == 1; in the "C" locale,
     * and any radix character skipped should that locale be missing). */
    for (i = 0; tmp[i] != 'e'; i++)
      if (tmp[i] >= '0' && tmp[i] <= '9')
        digits[nd++] = tmp[i];
    *e10 = (int)strtol(tmp + i + 1, NULL, 10);
    break;
  }
  while (nd > 1 && digits[nd - 1] == '0')
    nd--;
  return nd;
}

/* shortest_digits_here in the "C" locale, whatever LC_NUMERIC the
 * process has: a plugin in this process may call setlocale, and in a
 * comma-decimal locale printf writes "1,5e+00" and strtod stops at a ".".
 * uselocale changes this thread only, and for "C" glibc's newlocale hands
 * back its static locale object, so this costs no allocation. */
static size_t shortest_digits(double d, char *digits, int *e10)
{
  locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  locale_t old = c ? uselocale(c) : (locale_t)0;
  size_t nd = shortest_digits_here(d, digits, e10);

  if (c) {
    uselocale(old);
    freelocale(c);
  }
  return nd;
}

/* Fast path for the common case, reals of at most 15 significant digits
 * (423.962, 0.25, 1e-07): find the fewest fractional digits k for which
 * m = round(d * 10^k) read back as m / 10^k is d. Both m (< 10^15) and
 * 10^k (k <= 22) are exact doubles, and IEEE division rounds correctly,
 * so m / 10^k is exactly what strtod makes of the decimal text. A double
 * has at most one decimal of 15 or fewer digits at a given length
 * (DBL_DIG), so the first hit is Python's answer. Returns 0 when d needs
 * more digits or is out of range: the caller takes the slow path. */
static size_t fast_digits(double d, char *digits, int *e10)
{
  static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  int k;

  for (k = 0; k <= 22; k++) {
    double m = d * p10[k];
    char tmp[20];
    uint64_t u;
    size_t n = 0, nd;

    if (m >= 1e15)
      return 0;
    m = nearbyint(m);
    if (m < 1 || m / p10[k] != d)
      continue;
    for (u = (uint64_t)m; u; u /= 10)
      tmp[n++] = (char)('0' + u % 10);
    *e10 = (int)n - 1 - k;
    for (nd = 0; nd < n; nd++)
      digits[nd] = tmp[n - 1 - nd];
    while (nd > 1 && digits[nd - 1] == '0')
      nd--;
    return nd;
  }
  return 0;
}

size_t jsonw_format_real(double d, char *out)
{
  char digits[24];
  char *p = out;
  size_t nd;
  int e10 = 0, decpt, i;

  assert(isfinite(d));
  if (signbit(d)) {
    *p++ = '-';
    d = -d;
  }
  if (d == 0) {
    memcpy(p, "0.0", 4);
    return (size_t)(p + 3 - out);
  }
  nd = fast_digits(d, digits, &e10);
  if (!nd)
    nd = shortest_digits(d, digits, &e10);
  decpt = e10 + 1; /* d = 0.DIGITS * 10^decpt */
  if (decpt <= -4 || decpt > 16) {
    /* Python's 'r' format: 1e-05, 1.5e+16, at least two exponent digits */
    int ex = decpt - 1;
    unsigned ue = (unsigned)(ex < 0 ? -ex : ex);

    *p++ = digits[0];
    if (nd > 1) {
      *p++ = '.';
      memcpy(p, digits + 1, nd - 1);
      p += nd - 1;
    }
    *p++ = 'e';
    *p++ = ex < 0 ? '-' : '+';
    if (ue >= 100)
      *p++ = (char)('0' + ue / 100);
    *p++ = (char)('0' + ue / 10 % 10);
    *p++ = (char)('0' + ue % 10);
  } else if (decpt <= 0) {
    *p++ = '0';
    *p++ = '.';
    for (i = decpt; i < 0; i++)
      *p++ = '0';
    memcpy(p, digits, nd);
    p += nd;
  } else if ((size_t)decpt >= nd) {
    memcpy(p, digits, nd);
    p += nd;
    for (i = (int)nd; i < decpt; i++)
      *p++ = '0';
    *p++ = '.';
    *p++ = '0';
  } else {
    memcpy(p, digits, (size_t)decpt);
    p += decpt;
    *p++ = '.';
    memcpy(p, digits + decpt, nd - (size_t)decpt);
    p += nd - (size_t)decpt;
  }
  *p = '\0';
  return (size_t)(p - out);
}

int jsonw_real(struct buf *b, double d)
{
  char tmp[JSONW_REAL_MAX];
  size_t n;

  if (!isfinite(d))
    return INTEG_EINVAL;
  n = jsonw_format_real(d, tmp);
  return put(b, tmp, n);
}

int jsonw_raw(struct buf *b, const char *json, size_t len)
{
  return buf_append(b, json, len);
}

static int write_value(struct buf *b, json_t *v, unsigned flags, int depth)
{
  int rc = 0;

  if (depth > JSONW_MAX_DEPTH)
    return INTEG_EINVAL;
  switch (json_typeof(v)) {
  case JSON_OBJECT: {
    const char *key;
    json_t *member;
    size_t klen;
    int first = 1;

    if ((rc = put(b, "{", 1)))
      return rc;
    /* jansson 2.14 iterates in insertion order; key lengths come from
     * jansson (keys may hold NUL since 2.14's json_object_setn). */
    json_object_keylen_foreach(v, key, klen, member)
    {
      if (!first && (rc = put(b, ",", 1)))
        return rc;
      first = 0;
      if ((rc = jsonw_string(b, key, klen, flags)) || (rc = put(b, ":", 1)) ||
          (rc = write_value(b, member, flags, depth + 1)))
        return rc;
    }
    return put(b, "}", 1);
  }
  case JSON_ARRAY: {
    size_t i, n = json_array_size(v);

    if ((rc = put(b, "[", 1)))
      return rc;
    for (i = 0; i < n; i++) {
      if (i && (rc = put(b, ",", 1)))
        return rc;
      if ((rc = write_value(b, json_array_get(v, i), flags, depth + 1)))
        return rc;
    }
    return put(b, "]", 1);
  }
  case JSON_STRING:
    return jsonw_string(b, json_string_value(v), json_string_length(v), flags);
  case JSON_INTEGER:
    return jsonw_integer(b, json_integer_value(v));
  case JSON_REAL:
    return jsonw_real(b, json_real_value(v));
  case JSON_TRUE:
    return put(b, "true", 4);
  case JSON_FALSE:
    return put(b, "false", 5);
  case JSON_NULL:
    return put(b, "null", 4);
  }
  return INTEG_EINVAL;
}

int jsonw_value(struct buf *b, json_t *v, unsigned flags)
{
  size_t start = b->len;
  int rc;

  if (!v)
    return INTEG_EINVAL;
  rc = write_value(b, v, flags, 0);
  if (rc) {
    b->len = start;
    if (b->data)
      b->data[start] = '\0';
  }
  return rc;
}
