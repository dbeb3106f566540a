/* util.c - small helpers for the test API server. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "util.h"

int util_error_set(struct integ_error *err, int code, const char *fmt, ...)
{
  va_list ap;

  if (!err)
    return code;
  err->code = code;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof(err->message), fmt, ap);
  va_end(ap);
  return code;
}

uint64_t util_now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int util_read_file(const char *path, unsigned char **data, size_t *len,
                   struct integ_error *err)
{
  FILE *f = NULL;
  unsigned char *buf = NULL, *nbuf;
  size_t cap = 0, used = 0, n;
  int rc = INTEG_EIO;

  f = fopen(path, "rb");
  if (!f) {
    rc = util_error_set(err, errno == ENOENT ? INTEG_ENOTFOUND : INTEG_EIO,
                        "cannot open %s: %s", path, strerror(errno));
    goto out;
  }
  for (;;) {
    if (cap - used < 4096) {
      if (cap > SIZE_MAX / 2 - 4096) {
        rc = util_error_set(err, INTEG_ENOMEM, "%s: too large", path);
        goto out;
      }
      cap = cap * 2 + 4096;
      nbuf = realloc(buf, cap + 1);
      if (!nbuf) {
        rc = util_error_set(err, INTEG_ENOMEM, "%s: out of memory", path);
        goto out;
      }
      buf = nbuf;
    }
    n = fread(buf + used, 1, cap - used, f);
    used += n;
    if (n == 0)
      break;
  }
  if (ferror(f)) {
    rc = util_error_set(err, INTEG_EIO, "cannot read %s", path);
    goto out;
  }
  buf[used] = '\0';
  *data = buf;
  *len = used;
  buf = NULL;
  rc = 0;
out:
  if (f)
    fclose(f);
  free(buf);
  return rc;
}

int util_gzip(const unsigned char *in, size_t len, unsigned char **out,
              size_t *out_len, struct integ_error *err)
{
  z_stream zs;
  unsigned char *buf = NULL;
  uLong bound;
  int rc = INTEG_EIO, zrc;

  memset(&zs, 0, sizeof(zs));
  /* 15 + 16: a gzip header and trailer rather than zlib's. */
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    return util_error_set(err, INTEG_ENOMEM, "gzip: deflateInit2 failed");
  if (len > (size_t)UINT32_MAX) {
    rc = util_error_set(err, INTEG_EINVAL, "gzip: body too large");
    goto out;
  }
  bound = deflateBound(&zs, (uLong)len);
  buf = malloc(bound + 1);
  if (!buf) {
    rc = util_error_set(err, INTEG_ENOMEM, "gzip: out of memory");
    goto out;
  }
  zs.next_in = (Bytef *)(uintptr_t)in;
  zs.avail_in = (uInt)len;
  zs.next_out = buf;
  zs.avail_out = (uInt)bound;
  zrc = deflate(&zs, Z_FINISH);
  if (zrc != Z_STREAM_END) {
    rc = util_error_set(err, INTEG_EIO, "gzip: deflate returned %d", zrc);
    goto out;
  }
  *out_len = (size_t)zs.total_out;
  *out = buf;
  buf = NULL;
  rc = 0;
out:
  deflateEnd(&zs);
  free(buf);
  return rc;
}

static const char b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *util_base64(const unsigned char *in, size_t len, int url)
{
  const char *tab = url ? b64_url : b64_std;
  char *out, *p;
  size_t i;
  uint32_t v;

  if (len > (SIZE_MAX - 4) / 4 * 3)
    return NULL;
  out = malloc((len + 2) / 3 * 4 + 1);
  if (!out)
    return NULL;
  p = out;
  for (i = 0; i + 2 < len; i += 3) {
    v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    *p++ = tab[v >> 18 & 63];
    *p++ = tab[v >> 12 & 63];
    *p++ = tab[v >> 6 & 63];
    *p++ = tab[v & 63];
  }
  if (i < len) {
    v = (uint32_t)in[i] << 16;
    if (i + 1 < len)
      v |= (uint32_t)in[i + 1] << 8;
    *p++ = tab[v >> 18 & 63];
    *p++ = tab[v >> 12 & 63];
    if (i + 1 < len)
      *p++ = tab[v >> 6 & 63];
    else if (!url)
      *p++ = '=';
    if (!url)
      *p++ = '=';
  }
  *p = '\0';
  return out;
}

static int b64url_value(char c)
{
  const char *p;

  if (c == '\0')
    return -1;
  p = strchr(b64_url, c);
  return p ? (int)(p - b64_url) : -1;
}

int util_base64url_decode(const char *in, unsigned char **out, size_t *len)
{
  size_t n = strlen(in), i, o = 0;
  unsigned char *buf;
  uint32_t acc = 0;
  int bits = 0, v;

  if (n % 4 == 1)
    return INTEG_EINVAL;
  buf = malloc(n / 4 * 3 + 3);
  if (!buf)
    return INTEG_ENOMEM;
  for (i = 0; i < n; i++) {
    v = b64url_value(in[i]);
    if (v < 0) {
      free(buf);
      return INTEG_EINVAL;
    }
    acc = acc << 6 | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      buf[o++] = (unsigned char)(acc >> bits & 0xff);
    }
  }
  buf[o] = '\0';
  *out = buf;
  *len = o;
  return 0;
}

char *util_url_encode(const char *s)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen(s), i;
  char *out, *p;
  unsigned char c;

  if (n > (SIZE_MAX - 1) / 3)
    return NULL;
  out = malloc(n * 3 + 1);
  if (!out)
    return NULL;
  p = out;
  for (i = 0; i < n; i++) {
    c = (unsigned char)s[i];
    if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      *p++ = (char)c;
    } else {
      *p++ = '%';
      *p++ = hex[c >> 4];
      *p++ = hex[c & 15];
    }
  }
  *p = '\0';
  return out;
}

/* Read exactly n digits at *s into *v. */
static int digits(const char **s, int n, int *v)
{
  int i, x = 0;

  for (i = 0; i < n; i++) {
    if (!isdigit((unsigned char)(*s)[i]))
      return -1;
    x = x * 10 + ((*s)[i] - '0');
  }
  *s += n;
  *v = x;
  return 0;
}

int util_parse_time(const char *s, int64_t *epoch)
{
  struct tm tm;
  const char *p = s;
  int y, mo, d, h, mi, sec, oh, om, sign;
  int64_t t;
  uint64_t u;

  if (*s && util_parse_size(s, (uint64_t)INT64_MAX, &u) == 0) {
    *epoch = (int64_t)u;
    return 0;
  }
  if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
      digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
    return INTEG_EINVAL;
  p++;
  if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
      digits(&p, 2, &sec))
    return INTEG_EINVAL;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    return INTEG_EINVAL;
  if (*p == '.') {
    p++;
    if (!isdigit((unsigned char)*p))
      return INTEG_EINVAL;
    while (isdigit((unsigned char)*p))
      p++;
  }
  memset(&tm, 0, sizeof(tm));
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  t = (int64_t)timegm(&tm);
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    sign = *p == '-' ? -1 : 1;
    p++;
    if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 ||
        om > 59)
      return INTEG_EINVAL;
    /* 10:00+02:00 is 08:00Z. */
    t -= sign * (int64_t)(oh * 3600 + om * 60);
  } else {
    return INTEG_EINVAL;
  }
  if (*p)
    return INTEG_EINVAL;
  *epoch = t;
  return 0;
}

void util_format_time(int64_t epoch, char *buf, size_t size)
{
  struct tm tm;
  time_t t = (time_t)epoch;

  if (!gmtime_r(&t, &tm)) {
    snprintf(buf, size, "1970-01-01T00:00:00Z");
    return;
  }
  strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

uint64_t util_mix(uint64_t x)
{
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t util_hash_str(const char *s)
{
  uint64_t h = 0xcbf29ce484222325ull;

  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 0x100000001b3ull;
  }
  return h;
}

int util_parse_size(const char *s, uint64_t max, uint64_t *out)
{
  uint64_t v = 0;
  unsigned d;

  if (!*s)
    return INTEG_EINVAL;
  for (; *s; s++) {
    if (*s < '0' || *s > '9')
      return INTEG_EINVAL;
    d = (unsigned)(*s - '0');
    if (d > max || v > (max - d) / 10)
      return INTEG_EINVAL;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}
