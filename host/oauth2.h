/* oauth2.h - the OAuth2 protocol (RFC 6749, RFC 7636): token requests
 * and their answers, PKCE, state, the authorization URL.
 *
 * Token requests are form-encoded POSTs with Accept: application/json,
 * sent through http.c, which repeats a POST only when it provably went
 * unprocessed (the connection was refused): a rotation request sent twice
 * can revoke the whole grant. Answers are read as JSON, or form-encoded
 * (as GitHub answers without that Accept); token_type is compared
 * case-insensitively; expires_in is optional; a refresh answer without a
 * refresh token keeps the old one.
 */
#ifndef INTEG_HOST_OAUTH2_H
#define INTEG_HOST_OAUTH2_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <integ/plugin.h>

struct http_client;

/* A client's settings, borrowed from the auth mapping. */
struct oauth2_client {
  const char *token_url;
  const char *authorize_url;
  const char *client_id;
  const char *client_secret; /* NULL: a public client */
  int secret_post;           /* client_secret_post, else _basic */
  const char *scopes;        /* space-separated, or NULL */
  const json_t *extra;       /* extra token-request parameters, or NULL */
};

/* What a token request failed with, when the provider said. */
struct oauth2_failure {
  char error[64]; /* "invalid_grant", ...; "" when none was given */
};

/* Send a token request: grant_type grant plus the NULL-terminated
 * name/value pairs in params. *tok is a new object {access_token,
 * token_type, refresh_token (when given; else old_refresh when not
 * NULL), expires_ms (absolute, from expires_in and now_ms; absent when
 * not given), scope}. Returns 0, or INTEG_EHTTP with err one line (the
 * provider's error and error_description; or invalid_response naming the
 * URL) and fail->error set. Every token value becomes a known secret. */
int oauth2_token_request(struct http_client *hc, const struct oauth2_client *c,
                         const char *grant, const char *const *params,
                         const char *old_refresh, int64_t now_ms, json_t **tok,
                         struct oauth2_failure *fail, struct integ_error *err);

/* Read a token answer (body of len bytes; content type may be NULL).
 * As for oauth2_token_request. */
int oauth2_parse_token(const char *body, size_t len, const char *ctype,
                       const char *url, const char *old_refresh,
                       int64_t now_ms, json_t **tok, struct integ_error *err);

/* A random URL-safe string of n characters (43 to 128 for a PKCE
 * verifier), or NULL. New string. */
char *oauth2_random(size_t n);

/* The S256 challenge of a verifier: BASE64URL(SHA-256(verifier)) without
 * padding. New string, or NULL. */
char *oauth2_pkce_challenge(const char *verifier);

/* The authorization URL for the code flow with PKCE S256. New string. */
char *oauth2_authorize_url(const struct oauth2_client *c,
                           const char *redirect_uri, const char *state,
                           const char *challenge);

/* application/x-www-form-urlencoded encoding of s (space as '+'), as
 * client_secret_basic wants before base64 (RFC 6749 2.3.1). New string. */
char *oauth2_form_encode(const char *s);

/* The value of query parameter name in url, decoded. New string or
 * NULL. */
char *oauth2_query_param(const char *url, const char *name);

#endif
