/* utf8.h - strict UTF-8 (RFC 3629): the one decoder the host uses. */
#ifndef INTEG_HOST_UTF8_H
#define INTEG_HOST_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decode the character at s (left bytes available). Returns its length in
 * bytes and sets *cp, or 0 at the end (left == 0) or when the bytes are
 * not valid UTF-8: overlong forms, surrogates and values above U+10FFFF
 * are refused. */
size_t utf8_decode(const unsigned char *s, size_t left, uint32_t *cp);

/* Encode cp (at most U+10FFFF, not a surrogate) into out (4 bytes of
 * room). Returns the length. */
size_t utf8_encode(uint32_t cp, char *out);

#endif
