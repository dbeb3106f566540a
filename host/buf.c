/* buf.c - a growable byte buffer. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <integ/plugin.h>

#include "buf.h"

int buf_reserve(struct buf *b, size_t more)
{
  size_t need, cap;
  char *p;

  if (more > SIZE_MAX - b->len - 1)
    return INTEG_ENOMEM;
  need = b->len + more + 1; /* room for a terminating NUL */
  if (need <= b->cap)
    return 0;
  cap = b->cap ? b->cap : 256;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  p = realloc(b->data, cap);
  if (!p)
    return INTEG_ENOMEM;
  b->data = p;
  b->cap = cap;
  return 0;
}

int buf_reserve_exact(struct buf *b, size_t more)
{
  char *p;

  if (more > SIZE_MAX - b->len - 1)
    return INTEG_ENOMEM;
  if (b->len + more + 1 <= b->cap)
    return 0;
  p = realloc(b->data, b->len + more + 1);
  if (!p)
    return INTEG_ENOMEM;
  b->data = p;
  b->cap = b->len + more + 1;
  return 0;
}

int buf_read_file(struct buf *b, const char *path)
{
  size_t start = b->len, n;
  char chunk[16384];
  FILE *f = fopen(path, "rb");
  int rc = 0, e;

  if (!f)
    return INTEG_EIO;
  while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    rc = buf_append(b, chunk, n);
  if (!rc && ferror(f))
    rc = INTEG_EIO;
  e = errno;
  fclose(f);
  if (!rc)
    rc = buf_reserve(b, 0); /* room for the NUL of an empty file */
  if (rc) {
    b->len = start;
    if (b->data)
      b->data[start] = '\0';
    errno = e;
    return rc;
  }
  b->data[b->len] = '\0';
  return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
  if (buf_reserve(b, n))
    return INTEG_ENOMEM;
  if (n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int buf_appends(struct buf *b, const char *s)
{
  return buf_append(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || buf_reserve(b, (size_t)n))
    return INTEG_ENOMEM;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

void buf_reset(struct buf *b)
{
  b->len = 0;
  if (b->data)
    b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
