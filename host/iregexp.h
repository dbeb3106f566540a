/* iregexp.h - I-Regexp (RFC 9485) checked and run with PCRE2.
 *
 * I-Regexp is the interoperable regular expression subset JSONPath's match
 * and search functions take. A pattern is first checked against the
 * RFC 9485 grammar (so that what RFC 9485 rejects is rejected, whatever
 * PCRE2 would accept), then translated to an equivalent PCRE2 pattern:
 * '.' becomes [^\n\r], groups become non-capturing, every literal is
 * written as \x{...}, \p{..} and \P{..} are kept. '^' and '$' outside
 * a class are ordinary characters in the RFC 9485 grammar, but RFC 9485's
 * own mappings to ECMAScript and PCRE (section 5) leave them anchors, and
 * the JSONPath compliance suite expects that: they match at the start and
 * at the very end of the string.
 */
#ifndef INTEG_HOST_IREGEXP_H
#define INTEG_HOST_IREGEXP_H

#include <stddef.h>

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include <integ/plugin.h>

/* Nesting of groups allowed in a pattern. */
#define IREGEXP_MAX_NESTING 64

/* How a pattern must match the subject. */
enum iregexp_mode {
  IREGEXP_MATCH, /* the whole subject (JSONPath match()) */
  IREGEXP_SEARCH /* some substring of it (JSONPath search()) */
};

/* Check re[0..len) (UTF-8) against the I-Regexp grammar and translate it to
 * a PCRE2 pattern. On success sets *out to a new NUL-terminated string the
 * caller frees with free() (*out_len its length) and returns 0. Returns
 * INTEG_EINVAL when re is not an I-Regexp (err says at which 0-based byte
 * offset and why), INTEG_ENOMEM when out of memory. */
int iregexp_translate(const char *re, size_t len, char **out, size_t *out_len,
                      struct integ_error *err);

/* Check, translate and compile re[0..len) for mode. On success sets *out
 * to new code the caller frees with pcre2_code_free() and returns 0;
 * otherwise returns as iregexp_translate does (or INTEG_EINVAL when PCRE2
 * refuses the translation, e.g. for a repeat count over its limit). */
int iregexp_compile(const char *re, size_t len, enum iregexp_mode mode,
                    pcre2_code **out, struct integ_error *err);

/* Run code on the UTF-8 subject s[0..len). md and mc are the caller's
 * (md from pcre2_match_data_create(1, NULL); mc may be NULL, but should
 * carry match limits for patterns from untrusted input). Returns 1 on a
 * match, 0 on none, or a negative PCRE2 error code (a limit was hit or the
 * subject is not UTF-8). */
int iregexp_exec(const pcre2_code *code, const char *s, size_t len,
                 pcre2_match_data *md, pcre2_match_context *mc);

#endif
