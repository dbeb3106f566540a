/* util.h - small helpers for the test API server: errors, time, encodings,
 * gzip, a deterministic hash. Nothing here keeps state. */
#ifndef TESTAPI_UTIL_H
#define TESTAPI_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <integ/plugin.h>

/* Set err (may be NULL) to code and a printf-style message; returns code. */
int util_error_set(struct integ_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Milliseconds on the monotonic clock (arbitrary origin). */
uint64_t util_now_ms(void);

/* Read a whole file into *data (new, malloc'd, NUL-terminated for
 * convenience; *len excludes the NUL). Returns 0 or a negative code. */
int util_read_file(const char *path, unsigned char **data, size_t *len,
                   struct integ_error *err);

/* Compress in[0..len) as a gzip member into *out (new, malloc'd). */
int util_gzip(const unsigned char *in, size_t len, unsigned char **out,
              size_t *out_len, struct integ_error *err);

/* Base64 (url=0, with padding) or base64url (url=1, no padding) of
 * in[0..len). Returns a new malloc'd string, or NULL when out of memory. */
char *util_base64(const unsigned char *in, size_t len, int url);

/* Decode base64url without padding into *out (new, malloc'd, NUL-terminated;
 * *len excludes the NUL). Returns 0, or INTEG_EINVAL for bad input. */
int util_base64url_decode(const char *in, unsigned char **out, size_t *len);

/* Percent-encode s for a query string component (RFC 3986 unreserved
 * characters stay). Returns a new malloc'd string or NULL. */
char *util_url_encode(const char *s);

/* Parse an RFC 3339 time ("2024-01-01T00:00:00Z", fractions and numeric
 * offsets allowed) or decimal seconds since the epoch into *epoch
 * (seconds, fractions dropped). Returns 0 or INTEG_EINVAL. */
int util_parse_time(const char *s, int64_t *epoch);

/* Format epoch seconds as "YYYY-MM-DDTHH:MM:SSZ" into buf (>= 32 bytes). */
void util_format_time(int64_t epoch, char *buf, size_t size);

/* A 64-bit mixing function (splitmix64's finaliser): equal inputs give
 * equal outputs, nearby inputs give unrelated outputs. */
uint64_t util_mix(uint64_t x);

/* FNV-1a hash of a NUL-terminated string. */
uint64_t util_hash_str(const char *s);

/* Parse a whole decimal string as an unsigned number <= max. Returns 0 or
 * INTEG_EINVAL. */
int util_parse_size(const char *s, uint64_t max, uint64_t *out);

#endif
