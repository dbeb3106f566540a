/* secrets.h - the one owner of secrets in the host.
 *
 * Three jobs, all here so that no other file handles a secret its own way:
 *
 *  - References: ${env:NAME} and ${file:PATH} in the manifest are resolved
 *    here. Every resolved value is a secret.
 *  - Redaction by name: what is secret by where it sits (a URL's password,
 *    a query parameter or header whose name says token/key/secret..., a
 *    manifest key path marked secret) is replaced by a mark.
 *  - Scrubbing by value: every secret value the process knows is replaced
 *    by "<redacted>" wherever it turns up as text. The logger scrubs every
 *    line, error_set scrubs every message it formats, the store scrubs
 *    run-history messages, cassettes scrub what they write, and the HTTP
 *    service scrubs a failed response (a provider that echoes the token
 *    it got in its error body or a header).
 *
 * The set of known values is process-wide, on purpose: the logger and
 * error_set have no context to carry it, and a secret known to one part
 * of the process must be hidden from every line the process writes.
 * Values are added (resolved references, airbyte_secret config values,
 * credentials sent in secret headers) and never removed before
 * secrets_clear; scrubbing with a value no longer used only hides more.
 * All functions are thread-safe.
 *
 * Values shorter than SECRETS_MIN_LEN bytes are not scrubbed: replacing
 * every "abc" in every log line would hide more than it protects.
 */
#ifndef INTEG_HOST_SECRETS_H
#define INTEG_HOST_SECRETS_H

#include <stddef.h>

#include <jansson.h>

#include <integ/plugin.h>

#define SECRETS_MARK "<redacted>"   /* a scrubbed value in text */
#define SECRETS_URL_MARK "REDACTED" /* in URLs and cassette headers */
#define SECRETS_MIN_LEN 4

/* ------------------------------------------------------- known values */

/* Remember `len` bytes of value (copied) as a secret. Values shorter than
 * SECRETS_MIN_LEN and values already known are ignored. Returns 0 or
 * INTEG_ENOMEM. */
int secrets_add(const char *value, size_t len);

/* secrets_add for a JSON string (borrowed); other values are ignored. */
int secrets_add_json(const json_t *v);

/* A credential sent in a secret header ("Bearer abc", "Basic xyz=",
 * "abc"): the whole value, and the part after an auth scheme word, which
 * is what a provider usually echoes. Returns 0 or INTEG_ENOMEM. */
int secrets_add_credential(const char *value);

/* How many values are known. */
size_t secrets_count(void);

/* Forget every value (tests; the end of main). */
void secrets_clear(void);

/* ---------------------------------------------------------- scrubbing */

/* A copy of text with every known secret value replaced by SECRETS_MARK
 * (longest value first, so a token inside a known "Bearer token" goes
 * too). New string (free it); NULL when out of memory. text may be NULL
 * (taken as ""). */
char *secrets_scrub(const char *text);

/* As secrets_scrub for `len` bytes that may hold NUL bytes. *out_len gets
 * the new length. */
char *secrets_scrubn(const char *text, size_t len, size_t *out_len);

/* Scrub text into dst (size bytes, NUL-terminated); when it does not fit
 * it is cut and ends in "...". A secret cut by the end is hidden whole.
 * Never fails, never allocates: for the logger and error_set. */
void secrets_scrub_to(const char *text, size_t len, char *dst, size_t size);

/* Whether text holds a known secret value. */
int secrets_found(const char *text, size_t len);

/* --------------------------------------------------------- references */

/* Resolve the references in `len` bytes of text: ${env:NAME} (the
 * variable's value), ${file:PATH} (the file's content without one
 * trailing newline; PATH relative to the directory of `base`, a file
 * name, when it is not absolute), and $${ (a literal "${"). Every value
 * read is remembered as a secret.
 *
 * Returns 0 with *out NULL when text holds neither references nor $${;
 * else 0 with *out a new NUL-terminated string of *out_len bytes and
 * *refs 1 when it held references (then it is a secret; it is
 * remembered too). On a bad reference, INTEG_ECONFIG with err saying
 * which reference and what to do (no position: the caller adds it);
 * INTEG_ENOMEM. */
int secrets_resolve(const char *text, size_t len, const char *base, char **out,
                    size_t *out_len, int *refs, struct integ_error *err);

/* Read the secret file `path` (ref: the reference as written, for
 * messages) into *out (new string). Refused, without blocking, when it is
 * not a regular file (a FIFO, a device), when others may read or write
 * it (the chmod to run is named), when it belongs to another user (the
 * chown), when it is larger than 64 KiB or holds a NUL byte. Returns 0,
 * INTEG_ECONFIG or INTEG_ENOMEM. */
int secrets_read_file(const char *ref, const char *path, char **out,
                      struct integ_error *err);

/* The process's environment without the variables whose value holds a
 * known secret, for the processes integ starts (a command: target).
 * NULL-terminated; the strings are environ's: free only the array. NULL
 * when out of memory. */
char **secrets_environ(void);

/* ------------------------------------------------- redaction by name */

/* Whether a header carries a secret (Authorization, Cookie, X-Api-Key,
 * any name holding token, key, secret, password, auth, ...). */
int secrets_header_is_secret(const char *name);

/* Whether a query parameter or form field name looks secret. */
int secrets_name_is_secret(const char *name, size_t len);

/* A copy of url with its password (user:password@) and the values of
 * secret-looking query parameters, and of those named in extra
 * (NULL-terminated, may be NULL), replaced by SECRETS_URL_MARK; known
 * secret values elsewhere in it are scrubbed. New string (free it), NULL
 * when out of memory. */
char *secrets_redact_url(const char *url, const char *const *extra);

/* A deep copy of value (borrowed; found at key path `path`, "" for the
 * root) with each member whose key path is a key of `paths` (an object,
 * borrowed; may be NULL) replaced by the string SECRETS_MARK. New
 * reference, NULL when out of memory. */
json_t *secrets_redact_paths(const json_t *paths, const char *path,
                             json_t *value);

#endif
