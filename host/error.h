/* error.h - the one error value used across the host.
 *
 * Functions that can fail return 0 or a negative INTEG_E* code (see
 * sdk/integ/plugin.h) and, when given one, fill a struct integ_error with a
 * message the user can act on: what failed, where (file:line:column, key
 * path, URL, plugin), and what to do. Messages are scrubbed of known
 * secret values as they are formatted (secrets.h).
 */
#ifndef INTEG_HOST_ERROR_H
#define INTEG_HOST_ERROR_H

#include <stdarg.h>

#include <integ/plugin.h>

/* Set err (may be NULL) to code and a printf-style message; returns code so
 * callers can write `return error_set(err, INTEG_EINVAL, "...")`. The message
 * is truncated to fit; truncation is marked with "...". */
int error_set(struct integ_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int error_setv(struct integ_error *err, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Put "prefix: " in front of err's message (for adding context such as a
 * file name on the way up). No effect when err is NULL. */
void error_prefix(struct integ_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reset err to "no error". */
void error_clear(struct integ_error *err);

/* A short name for a code ("invalid", "no memory", ...). */
const char *error_code_name(int code);

#endif
