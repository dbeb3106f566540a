/* buf.h - a growable byte buffer. */
#ifndef INTEG_HOST_BUF_H
#define INTEG_HOST_BUF_H

#include <stddef.h>

struct buf {
  char *data; /* owned; NUL-terminated when len < cap */
  size_t len;
  size_t cap;
};

#define BUF_INIT                                                              \
  {                                                                           \
    NULL, 0, 0                                                                \
  }

/* Make room for `more` bytes after len. Returns 0 or INTEG_ENOMEM. */
int buf_reserve(struct buf *b, size_t more);

/* buf_reserve for a size known in advance: room for exactly `more` bytes
 * after len (and the NUL), not rounded up. */
int buf_reserve_exact(struct buf *b, size_t more);
/* Append n bytes. Returns 0 or INTEG_ENOMEM. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_appends(struct buf *b, const char *s);

/* Append the whole of the file at path (b stays NUL-terminated).
 * Returns 0, INTEG_ENOMEM, or INTEG_EIO with errno saying why the file
 * could not be opened or read; on failure b is back at its length. */
int buf_read_file(struct buf *b, const char *path);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

#endif
