/* auth.h - credentials, applied by the host to a connector's requests.
 *
 * A connector's `auth` mapping (the manifest's connectors.*.auth, or the
 * "auth" member of a tap's --config) says how it authenticates: none,
 * api_key (in a header or a query parameter), bearer, basic or oauth2.
 * The HTTP service (http.c) asks this module for the credential of each
 * request it sends; plugins never see a token.
 *
 * Credentials go only to the origins (scheme, host, port) in the auth
 * mapping's `origins` (for oauth2 also the token URL's). A request to any
 * other origin, and every hop of a redirect that leaves them, is sent
 * without credentials: http.c follows redirects itself while an auth is
 * set, asking again at each hop.
 *
 * OAuth2 tokens live in the store, sealed (tokens.h), per (account,
 * provider), provider being the token URL and the client id; or, for
 * `integ tap` and `integ source`, in memory, from the --config JSON, with
 * a callback for a rotated refresh token. A token is opened once per run
 * and cached. It is refreshed at refresh_at of its lifetime, and once
 * after a 401; one refresh at a time per token across processes (see
 * auth.c for the order of writes).
 */
#ifndef INTEG_HOST_AUTH_H
#define INTEG_HOST_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

#include <integ/plugin.h>

struct clock;
struct http_config;
struct store;

/* Report one mistake of an auth mapping: key is the member's name ("" for
 * the mapping), at_key whether to point at the key rather than the
 * value. */
typedef void (*auth_report_fn)(void *arg, const char *key, int at_key,
                               const char *msg);

/* Whether member key of the mapping was written as a reference. */
typedef int (*auth_is_ref_fn)(void *arg, const char *key);

/* Check what the schema table cannot: the keys each type needs, the keys
 * it does not take, secrets written inline (is_ref NULL: not checked, as
 * in a tap's --config), origins that are not scheme://host[:port]. auth
 * is borrowed. */
void auth_check(const json_t *auth, auth_is_ref_fn is_ref,
                auth_report_fn report, void *arg);

/* Where a run gets its tokens and sends rotated ones. Borrowed. */
struct auth_env {
  const char *connector; /* for messages: integ auth login CONNECTOR */
  const char *account;
  struct store *store;  /* NULL: tokens from `tokens` (tap, source) */
  const char *key_file; /* the token key; NULL: TOKENS_KEY_DEFAULT */
  json_t *tokens;       /* without a store: {access_token, refresh_token,
                           expires_at (seconds since the epoch)}, or
                           NULL */
  /* Without a store: called with the new token object (borrowed) after
   * each refresh that rotated the refresh token. */
  int (*save)(void *arg, const json_t *token, struct integ_error *err);
  void *save_arg;
  const struct http_config *http; /* limits and retry for token requests;
                                     NULL: defaults */
  uint64_t *refreshes; /* NULL, or counts the refreshes this process made
                          (for the run history) */
};

struct auth;

/* Make the run's auth from the mapping (borrowed; NULL or type none: *out
 * NULL). Nothing is read from the store yet. */
int auth_new(const json_t *auth, const struct auth_env *env, struct auth **out,
             struct integ_error *err);
void auth_free(struct auth *a);

/* Make sure a usable credential is at hand: open the stored token the
 * first time, refresh it when it is due, or with `rejected` (a 401 came
 * with the credential last handed out) refresh it. *changed (may be
 * NULL) is 1 when the credential is new. Returns 0, or
 * INTEG_EHTTP with err naming the provider's error, or the command to log
 * in again. */
int auth_prepare(struct auth *a, int rejected, int *changed,
                 struct integ_error *err);

/* The credential for a request to url: header lines appended to *headers,
 * or the query parameter added to *url_out (a new URL, or NULL when
 * unchanged); nothing when url's origin is not one the credential is
 * for. Returns 0 or INTEG_ENOMEM. */
int auth_apply(struct auth *a, const char *url, struct curl_slist **headers,
               char **url_out);

/* scheme://host:port of url, lower-case, default port filled in. New
 * string, or NULL for a URL that does not parse or no memory. */
char *auth_origin(const char *url);

/* The store's name for a grant: token URL and client id. New string. */
char *auth_provider(const char *token_url, const char *client_id);

/* ------------------------------------------- integ tap, integ source */

/* The JSON Schema of the "auth" member of a tap's or source's --config:
 * the manifest's auth keys, plus the tokens (access_token, refresh_token,
 * expires_at in seconds since the epoch) that a run refreshes and writes
 * back. */
json_t *auth_config_schema(void);

/* The plugin's spec (JSON text, may be NULL) with "auth" added to its
 * properties, as text: what --config is checked against and what `spec`
 * and --about show. New string, or NULL when out of memory or the spec is
 * not an object. */
char *auth_spec_with(const char *spec);

/* A tap's or source's auth: from the config's "auth" member, which is
 * taken out of config (the plugin never sees it). A rotated token is
 * written back: tap (source 0) into the --config file, atomically (same
 * directory, fsync, rename, same mode); source as an Airbyte CONTROL
 * CONNECTOR_CONFIG message on standard output. */
struct auth_tap {
  struct auth *a;   /* NULL: no auth */
  json_t *cfg;      /* the auth member, owned */
  json_t *config;   /* the plugin's config, borrowed */
  const char *file; /* --config FILE */
  int source;
  const struct clock *clk;
  /* Where the tokens live: what a plugin that declares its own auth
   * (auth_declare) is given, with cfg filling its block. */
  struct auth_env env;
};

/* Set t up and hand the auth to http (http->auth). */
int auth_tap_start(struct auth_tap *t, json_t *config, const char *file,
                   int source, struct http_config *http,
                   const struct clock *clk, struct integ_error *err);
void auth_tap_end(struct auth_tap *t);

#endif
