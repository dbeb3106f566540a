/* jsonw.h - the host's JSON writer: compact, byte-exact output.
 *
 * jansson's json_dumps cannot print reals in their shortest round-trip form
 * (it writes 423.96199999999999 for 423.962) and cannot mimic the escaping
 * of Python's json/simplejson, which Singer pipelines are compared against.
 * This writer serialises a json_t into a struct buf:
 *   - compact separators, no spaces: {"a":1,"b":[1,2]}
 *   - object members in jansson's iteration order, which in jansson 2.14 is
 *     insertion order (json_loads keeps document order)
 *   - integers exact over the whole int64 range
 *   - reals as Python's repr(float): shortest digits that round-trip,
 *     scientific notation when the decimal exponent is < -4 or >= 16,
 *     and a ".0" on integral values so a real stays a real
 *   - strings escaped as Python's json.dumps does: \" \\ \b \f \n \r \t,
 *     other control characters as \u00XX (lowercase hex), "/" never
 *     escaped; with JSONW_ASCII (ensure_ascii=True, what singer-sdk writes
 *     through simplejson.dumps) also DEL and every non-ASCII character as
 *     \uXXXX, non-BMP characters as a surrogate pair.
 *
 * Later (HTTP fast path): a jsonw_minify(buf, bytes, len, flags, err) that
 * validates raw JSON bytes (UTF-8 included), drops insignificant whitespace
 * and re-escapes strings per flags in one pass, so records never become
 * json_t. jsonw_raw below is the trusted-bytes half of that.
 */
#ifndef INTEG_HOST_JSONW_H
#define INTEG_HOST_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"

/* Escape every non-ASCII character (and DEL) as \uXXXX, as Python's
 * json.dumps with ensure_ascii=True (singer-sdk's output). Without it,
 * UTF-8 is written as is (as orjson and json.dumps(ensure_ascii=False)). */
#define JSONW_ASCII 0x1u

/* Deepest nesting written; deeper values (or a cycle built by a plugin)
 * are refused rather than overflowing the stack. jansson's parser stops at
 * 2048 too. */
#define JSONW_MAX_DEPTH 2048

/* Longest text jsonw_format_real produces, with its NUL:
 * "-2.2250738585072014e-308" is 24 bytes. */
#define JSONW_REAL_MAX 32

/* Append the compact JSON text of v (borrowed) to b. Returns 0;
 * INTEG_ENOMEM; or INTEG_EINVAL when v holds a string that is not valid
 * UTF-8 (possible through json_string_nocheck), a non-finite real, or
 * nesting deeper than JSONW_MAX_DEPTH. On failure b is back at its length
 * on entry, so no partial text stays. */
int jsonw_value(struct buf *b, json_t *v, unsigned flags);

/* Append s (len bytes, may contain NUL) as a quoted, escaped JSON string.
 * INTEG_EINVAL if s is not valid UTF-8 (b then back at its old length). */
int jsonw_string(struct buf *b, const char *s, size_t len, unsigned flags);

/* Append an integer / a real (Python repr form; d must be finite). */
int jsonw_integer(struct buf *b, json_int_t i);
int jsonw_real(struct buf *b, double d);

/* Write d as Python's repr(float) would, into out (JSONW_REAL_MAX bytes),
 * NUL-terminated. Returns the length; d must be finite. */
size_t jsonw_format_real(double d, char *out);

/* Append len bytes of JSON text that the caller guarantees is already
 * valid, minified and escaped as wanted (no checks: the fast path's bytes
 * after validation). Returns 0 or INTEG_ENOMEM. */
int jsonw_raw(struct buf *b, const char *json, size_t len);

#endif
