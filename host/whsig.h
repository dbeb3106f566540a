/* whsig.h - webhook signatures: verification and delivery ids.
 *
 * Every scheme is checked in constant time (CRYPTO_memcmp) over the raw
 * body bytes. The functions here read no clock and keep no state: the
 * caller passes "now", and deduplication by delivery id is the queue's.
 */
#ifndef INTEG_HOST_WHSIG_H
#define INTEG_HOST_WHSIG_H

#include <stddef.h>
#include <stdint.h>

#include <integ/plugin.h>

enum whsig_scheme {
  WHSIG_STANDARD, /* Standard Webhooks / Svix */
  WHSIG_GITHUB,
  WHSIG_STRIPE,
  WHSIG_SLACK,
  WHSIG_GENERIC
};

/* Why a delivery was refused; WHSIG_OK when it was not. */
enum whsig_reason {
  WHSIG_OK,
  WHSIG_MISSING,      /* a header the scheme needs is absent */
  WHSIG_BAD_SIG,      /* no signature matched */
  WHSIG_STALE,        /* timestamp outside the tolerance, either way */
  WHSIG_CONTENT_TYPE, /* a content type the scheme does not send */
  WHSIG_BAD_BODY      /* a body the scheme needs to read is not JSON */
};

/* Looks up a request header by name, case-insensitively; NULL when
 * absent. The string stays valid during whsig_verify. */
typedef const char *(*whsig_header_fn)(void *ctx, const char *name);

struct whsig_config {
  enum whsig_scheme scheme;
  const char *secret; /* borrowed; standard: "whsec_" + base64 */
  int64_t tolerance_ms;
  /* generic only (NULL: the defaults) */
  const char *header;    /* default X-Signature */
  const char *prefix;    /* default "" */
  int base64;            /* signature in base64, else hex */
  int sha1;              /* HMAC-SHA1, else HMAC-SHA256 */
  const char *id_header; /* delivery id header */
  const char *id_path;   /* or a JSONPath into the JSON body */
};

struct whsig_result {
  enum whsig_reason reason;
  char *id;    /* delivery id (owned; NULL when the delivery has none) */
  char *type;  /* event type (owned; may be NULL) */
  char *reply; /* owned; non-NULL: answer with this and do not queue
                  (GitHub ping, Slack url_verification) */
  const char *reply_type; /* content type of reply (static) */
  int64_t timestamp;      /* signed timestamp in seconds, 0 when none */
};

/* Verify one delivery and find its id and type. Returns 0, or
 * INTEG_EINVAL with res->reason and err saying why (no secret material
 * in the message), or INTEG_ENOMEM. Free res with whsig_result_free in
 * every case. */
int whsig_verify(const struct whsig_config *c, whsig_header_fn get, void *ctx,
                 const char *body, size_t len, int64_t now_ms,
                 struct whsig_result *res, struct integ_error *err);

void whsig_result_free(struct whsig_result *res);

/* Parse "standard|github|stripe|slack|generic"; -1 when unknown. */
int whsig_scheme_parse(const char *name);
const char *whsig_scheme_name(enum whsig_scheme s);
const char *whsig_reason_name(enum whsig_reason r);

/* Decode base64 (standard alphabet, padding optional) into out (size
 * at least 3 * n / 4 + 3). Returns the length, or -1 when s is not
 * base64. */
long whsig_base64_decode(const char *s, size_t n, unsigned char *out);

#endif
