/* auth.c - credentials per origin, and the OAuth2 token life cycle.
 *
 * The order of writes of a refresh with a store, so that only a kill
 * between reading the token answer and committing it can lose a rotated
 * refresh token:
 *
 *   1. claim the row's lease (owner, expiry) in one short transaction;
 *   2. read the row again: another process may have refreshed it, then
 *      use its token and release the lease;
 *   3. send the refresh request, outside any transaction;
 *   4. seal the answer and write it, releasing the lease, in one short
 *      transaction (store_token_put with the owner).
 *
 * Between 3 and 4 nothing else happens: no log line, no other write. A
 * lease whose owner died expires; on this host a waiter sees that the
 * owner's process is gone and takes the lease over at once.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "auth.h"
#include "buf.h"
#include "clock.h"
#include "configfile.h"
#include "emit.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "oauth2.h"
#include "secrets.h"
#include "store.h"
#include "tokens.h"

#define LEASE_MS 30000
/* One token request, all attempts: well inside the lease. */
#define TOKEN_TIMEOUT_MS 15000
#define WAIT_STEP_MS 25

enum auth_type { T_NONE, T_API_KEY, T_BEARER, T_BASIC, T_OAUTH2 };

static const char *const type_names[] = {"none", "api_key", "bearer", "basic",
                                         "oauth2"};

/* Keys of each type, besides type and origins; secrets marked '!'. */
static const char *const type_keys[][12] = {
    [T_NONE] = {NULL},
    [T_API_KEY] = {"!key", "in", "name", NULL},
    [T_BEARER] = {"!token", NULL},
    [T_BASIC] = {"username", "!password", NULL},
    [T_OAUTH2] = {"grant", "authorize_url", "token_url", "client_id",
                  "!client_secret", "client_auth", "scopes", "token_params",
                  "redirect_port", "refresh_at", "!refresh_token", NULL},
};

static int type_of(const char *s)
{
  for (size_t i = 0; s && i < sizeof(type_names) / sizeof(type_names[0]); i++)
    if (strcmp(s, type_names[i]) == 0)
      return (int)i;
  return -1;
}

static int key_of_type(int t, const char *k, int *secret)
{
  for (size_t i = 0; type_keys[t][i]; i++) {
    const char *n = type_keys[t][i];
    int s = n[0] == '!';

    if (strcmp(n + s, k) == 0) {
      *secret = s;
      return 1;
    }
  }
  return 0;
}

char *auth_origin(const char *url)
{
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *port = NULL;
  struct buf key = BUF_INIT;

  if (u && !curl_url_set(u, CURLUPART_URL, url, 0) &&
      !curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) &&
      !curl_url_get(u, CURLUPART_HOST, &host, 0) &&
      !curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT)) {
    for (char *p = host; *p; p++)
      if (*p >= 'A' && *p <= 'Z')
        *p = (char)(*p - 'A' + 'a');
    if (buf_printf(&key, "%s://%s:%s", scheme, host, port))
      buf_free(&key);
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  return key.data;
}

char *auth_provider(const char *token_url, const char *client_id)
{
  char *p = NULL;

  return asprintf(&p, "%s#%s", token_url, client_id) < 0 ? NULL : p;
}

/* ------------------------------------------------------------ checks */

static void check_origin(const char *s, auth_report_fn report, void *arg)
{
  char *o = auth_origin(s);
  char msg[256];

  if (!o || (strncmp(s, "http://", 7) && strncmp(s, "https://", 8)) ||
      strchr(s + 8, '/') || strchr(s, '?')) {
    snprintf(msg, sizeof(msg),
             "'%s' is not an origin: write scheme://host[:port], e.g. "
             "https://api.example.com",
             s);
    report(arg, "origins", 0, msg);
  }
  free(o);
}

static void not_of_type(int t, const char *tn, const char *k,
                        auth_report_fn report, void *arg)
{
  struct buf list = BUF_INIT;
  char msg[512];

  for (size_t i = 0; type_keys[t][i]; i++)
    buf_printf(&list, "%s%s", i ? ", " : "",
               type_keys[t][i] + (type_keys[t][i][0] == '!'));
  snprintf(msg, sizeof(msg), "'%s' is not a key of auth type %s%s%s%s", k, tn,
           list.data ? " (its keys: " : "", list.data ? list.data : "",
           list.data ? ")" : "");
  buf_free(&list);
  report(arg, k, 1, msg);
}

void auth_check(const json_t *auth, auth_is_ref_fn is_ref,
                auth_report_fn report, void *arg)
{
  const char *tn = json_string_value(json_object_get(auth, "type"));
  int t = type_of(tn);
  const char *k;
  json_t *v;
  char msg[512];

  if (!json_is_object(auth))
    return;
  if (t < 0 && tn) {
    snprintf(msg, sizeof(msg),
             "unknown auth type '%s': use none, api_key, bearer, basic or "
             "oauth2",
             tn);
    report(arg, "type", 0, msg);
    return;
  }
  /* Without a type the keys fill a plugin's declared auth: only what
   * holds for every type is checked. */
  json_object_foreach((json_t *)auth, k, v)
  {
    int secret = 0;

    if (strcmp(k, "type") == 0)
      continue;
    if (strcmp(k, "origins") == 0) {
      size_t i;
      json_t *e;

      json_array_foreach(v, i, e) if (json_is_string(e))
          check_origin(json_string_value(e), report, arg);
      continue;
    }
    if (t < 0 || !key_of_type(t, k, &secret)) {
      int known = 0;

      for (int o = 0; o <= T_OAUTH2 && !known; o++)
        known = key_of_type(o, k, &secret);
      if (!known)
        continue; /* an unknown key: the schema table says so */
      if (t >= 0) {
        not_of_type(t, tn, k, report, arg);
        continue;
      }
    }
    if (secret && is_ref && json_is_string(v) && !is_ref(arg, k)) {
      snprintf(msg, sizeof(msg),
               "the secret '%s' is written inline: write it as a reference, "
               "${env:NAME} or ${file:PATH}, so it stays out of the "
               "manifest",
               k);
      report(arg, k, 0, msg);
    }
  }
  if (t < 0)
    return;
#define NEED(key, why)                                                        \
  do {                                                                        \
    if (!json_object_get(auth, key)) {                                        \
      snprintf(msg, sizeof(msg), "auth type %s needs '%s' (%s)", tn, key,     \
               why);                                                          \
      report(arg, "", 1, msg);                                                \
    }                                                                         \
  } while (0)
  switch (t) {
  case T_API_KEY:
    NEED("key", "the API key, as ${env:NAME} or ${file:PATH}");
    break;
  case T_BEARER:
    NEED("token", "the token, as ${env:NAME} or ${file:PATH}");
    break;
  case T_BASIC:
    NEED("username", "the user name");
    NEED("password", "the password, as ${env:NAME} or ${file:PATH}");
    break;
  case T_OAUTH2: {
    const char *g = json_string_value(json_object_get(auth, "grant"));

    NEED("token_url", "where tokens are requested");
    NEED("client_id", "the client id the provider gave");
    if (!g || strcmp(g, "authorization_code") == 0)
      NEED("authorize_url", "where integ auth login sends the admin");
    if (g && strcmp(g, "client_credentials") == 0)
      NEED("client_secret", "a client_credentials grant needs the secret");
    break;
  }
  default:
    break;
  }
#undef NEED
  if (t != T_NONE && t != T_OAUTH2 && !json_object_get(auth, "origins")) {
    snprintf(msg, sizeof(msg),
             "auth type %s needs 'origins': the scheme://host[:port] the "
             "credential may be sent to",
             tn);
    report(arg, "", 1, msg);
  }
}

/* ----------------------------------------------------------- runtime */

struct auth {
  int type;
  int in_query;
  char *name;  /* header or query parameter */
  char *value; /* header value or parameter value */
  char **origins;
  size_t n_origins;
  /* oauth2 */
  struct oauth2_client oc;
  const char *grant;
  double refresh_at;
  char *provider;
  const char *config_refresh; /* borrowed from the mapping */
  struct auth_env env;
  struct tokens_ring *ring;
  struct http_config hcfg;
  struct http_client *hc;
  json_t *tok;           /* the open token, cached for the run */
  int64_t row_refreshed; /* refreshed_ms of the row it came from */
  char owner[96];
};

static int add_origin(struct auth *a, const char *url)
{
  char *o = auth_origin(url);
  char **n;

  if (!o)
    return INTEG_EINVAL;
  n = realloc(a->origins, (a->n_origins + 1) * sizeof(*n));
  if (!n) {
    free(o);
    return INTEG_ENOMEM;
  }
  a->origins = n;
  a->origins[a->n_origins++] = o;
  return 0;
}

static const char *str(const json_t *o, const char *k)
{
  return json_string_value(json_object_get(o, k));
}

void auth_free(struct auth *a)
{
  if (!a)
    return;
  free(a->name);
  free(a->value);
  for (size_t i = 0; i < a->n_origins; i++)
    free(a->origins[i]);
  free(a->origins);
  free(a->provider);
  tokens_ring_free(a->ring);
  http_client_free(a->hc);
  json_decref(a->tok);
  free(a);
}

static int set_bearer(struct auth *a, const char *token)
{
  char *v = NULL;

  if (asprintf(&v, "Bearer %s", token) < 0)
    return INTEG_ENOMEM;
  free(a->value);
  a->value = v;
  return secrets_add_credential(v);
}

static int oom(struct integ_error *err)
{
  return error_set(err, INTEG_ENOMEM, "out of memory");
}

int auth_new(const json_t *cfg, const struct auth_env *env, struct auth **out,
             struct integ_error *err)
{
  struct auth *a = NULL;
  const char *tn = str(cfg, "type");
  json_t *origins = json_object_get(cfg, "origins"), *e;
  size_t i;
  int rc = 0;

  *out = NULL;
  if (!cfg || !tn || strcmp(tn, "none") == 0)
    return 0;
  a = calloc(1, sizeof(*a));
  if (!a)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  a->type = type_of(tn);
  a->env = *env;
  if (a->type < 0) {
    rc = error_set(err, INTEG_ECONFIG, "auth.type: unknown type '%s'", tn);
    goto out;
  }
  json_array_foreach(origins, i, e)
  {
    if (json_is_string(e) && (rc = add_origin(a, json_string_value(e)))) {
      rc = error_set(err, rc, "auth.origins: '%s' is not an origin",
                     json_string_value(e));
      goto out;
    }
  }
  switch (a->type) {
  case T_API_KEY: {
    const char *in = str(cfg, "in"), *name = str(cfg, "name");

    a->in_query = in && strcmp(in, "query") == 0;
    a->name = strdup(name ? name : a->in_query ? "api_key" : "X-Api-Key");
    a->value = str(cfg, "key") ? strdup(str(cfg, "key")) : NULL;
    if (!a->name || !a->value) {
      rc = oom(err);
      goto out;
    }
    if (secrets_add(a->value, strlen(a->value))) {
      rc = oom(err);
      goto out;
    }
    break;
  }
  case T_BEARER:
    a->name = strdup("Authorization");
    if (!a->name || !str(cfg, "token") || set_bearer(a, str(cfg, "token"))) {
      rc = oom(err);
      goto out;
    }
    break;
  case T_BASIC: {
    struct buf pair = BUF_INIT;
    unsigned char *b64 = NULL;

    a->name = strdup("Authorization");
    if (!a->name ||
        buf_printf(&pair, "%s:%s", str(cfg, "username") ?: "",
                   str(cfg, "password") ?: "") ||
        !(b64 = malloc(4 * ((pair.len + 2) / 3) + 1))) {
      buf_free(&pair);
      {
        rc = oom(err);
        goto out;
      }
    }
    EVP_EncodeBlock(b64, (const unsigned char *)pair.data, (int)pair.len);
    buf_free(&pair);
    rc = asprintf(&a->value, "Basic %s", (char *)b64) < 0 ? INTEG_ENOMEM : 0;
    free(b64);
    if (rc || secrets_add_credential(a->value)) {
      rc = oom(err);
      goto out;
    }
    break;
  }
  case T_OAUTH2: {
    const char *ca = str(cfg, "client_auth");
    json_t *scopes = json_object_get(cfg, "scopes"), *rat;

    a->name = strdup("Authorization");
    a->oc.token_url = str(cfg, "token_url");
    a->oc.authorize_url = str(cfg, "authorize_url");
    a->oc.client_id = str(cfg, "client_id");
    a->oc.client_secret = str(cfg, "client_secret");
    a->oc.secret_post = ca && strcmp(ca, "client_secret_post") == 0;
    a->oc.extra = json_object_get(cfg, "token_params");
    a->grant = str(cfg, "grant") ? str(cfg, "grant") : "authorization_code";
    a->config_refresh = str(cfg, "refresh_token");
    rat = json_object_get(cfg, "refresh_at");
    a->refresh_at = json_is_number(rat) ? json_number_value(rat) : 0.8;
    if (json_is_string(scopes))
      a->oc.scopes = json_string_value(scopes);
    if (!a->oc.token_url || !a->oc.client_id) {
      rc = error_set(err, INTEG_ECONFIG,
                     "auth: oauth2 needs token_url and client_id");
      goto out;
    }
    if (a->oc.client_secret &&
        secrets_add(a->oc.client_secret, strlen(a->oc.client_secret))) {
      rc = oom(err);
      goto out;
    }
    if (a->config_refresh &&
        secrets_add(a->config_refresh, strlen(a->config_refresh))) {
      rc = oom(err);
      goto out;
    }
    a->provider = auth_provider(a->oc.token_url, a->oc.client_id);
    if (!a->name || !a->provider) {
      rc = oom(err);
      goto out;
    }
    if (!a->n_origins && (rc = add_origin(a, a->oc.token_url))) {
      rc = error_set(err, INTEG_ECONFIG, "auth.token_url: not a URL");
      goto out;
    }
    if (env->http)
      a->hcfg = *env->http;
    else
      http_config_init(&a->hcfg);
    /* Token requests never go to a cassette: the answer holds tokens. */
    a->hcfg.record_file = a->hcfg.replay_file = NULL;
    /* A refresh must end well inside its lease (LEASE_MS), or another
     * process could take the lease and send the same rotating token. */
    if (a->hcfg.limits.timeout_ms > TOKEN_TIMEOUT_MS)
      a->hcfg.limits.timeout_ms = TOKEN_TIMEOUT_MS;
    if (a->hcfg.limits.connect_timeout_ms > TOKEN_TIMEOUT_MS / 4)
      a->hcfg.limits.connect_timeout_ms = TOKEN_TIMEOUT_MS / 4;
    if (a->hcfg.retry.max_elapsed_ms > TOKEN_TIMEOUT_MS / 4)
      a->hcfg.retry.max_elapsed_ms = TOKEN_TIMEOUT_MS / 4;
    a->hcfg.auth = NULL;
    rc = http_client_new(&a->hcfg, &a->hc, err);
    if (rc)
      goto out;
    {
      char host[64] = "";
      unsigned char r[4] = {0};

      gethostname(host, sizeof(host) - 1);
      RAND_bytes(r, sizeof(r));
      snprintf(a->owner, sizeof(a->owner), "%s:%ld:%02x%02x%02x%02x", host,
               (long)getpid(), r[0], r[1], r[2], r[3]);
    }
    break;
  }
  default:
    break;
  }
  *out = a;
  a = NULL;
out:
  auth_free(a);
  return rc;
}

int auth_apply(struct auth *a, const char *url, struct curl_slist **headers,
               char **url_out)
{
  char *o;
  int ok = 0;

  *url_out = NULL;
  if (!a || !a->value)
    return 0;
  o = auth_origin(url);
  if (!o)
    return 0; /* not a URL we can place: nothing is sent to it */
  for (size_t i = 0; i < a->n_origins && !ok; i++)
    ok = strcmp(o, a->origins[i]) == 0;
  free(o);
  if (!ok)
    return 0;
  if (a->in_query) {
    char *v = curl_easy_escape(NULL, a->value, 0);
    char *n = curl_easy_escape(NULL, a->name, 0);
    const char *hash = strchr(url, '#');
    int len = hash ? (int)(hash - url) : (int)strlen(url);
    int rc = !v || !n ||
             asprintf(url_out, "%.*s%c%s=%s", len, url,
                      memchr(url, '?', (size_t)len) ? '&' : '?', n, v) < 0;

    curl_free(v);
    curl_free(n);
    return rc ? INTEG_ENOMEM : 0;
  } else {
    struct buf h = BUF_INIT;
    struct curl_slist *next;

    if (buf_printf(&h, "%s: %s", a->name, a->value))
      return INTEG_ENOMEM;
    next = curl_slist_append(*headers, h.data);
    OPENSSL_cleanse(h.data, h.len);
    buf_free(&h);
    if (!next)
      return INTEG_ENOMEM;
    *headers = next;
  }
  return 0;
}

/* ----------------------------------------------------- OAuth2 tokens */

static int relogin(struct auth *a, struct integ_error *err, const char *why)
{
  if (!a->env.store)
    return error_set(err, INTEG_EHTTP,
                     "%s: category auth: %s at %s: put a new refresh_token "
                     "(or access_token) in the config's auth",
                     a->env.connector, why, a->oc.token_url);
  return error_set(err, INTEG_EHTTP,
                   "%s: category auth: %s for account %s at %s: run integ "
                   "auth login %s --account %s",
                   a->env.connector, why, a->env.account, a->oc.token_url,
                   a->env.connector, a->env.account);
}

static int64_t now_ms(void)
{
  return clock_now_ms(NULL);
}

static void nap(int64_t ms)
{
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

  nanosleep(&ts, NULL);
}

/* Use tok (stolen) from now on. */
static int use_token(struct auth *a, json_t *tok, struct integ_error *err)
{
  const char *at = str(tok, "access_token");

  if (!at) {
    json_decref(tok);
    return relogin(a, err, "the stored token has no access token");
  }
  if (set_bearer(a, at)) {
    json_decref(tok);
    return error_set(err, INTEG_ENOMEM, "out of memory");
  }
  json_decref(a->tok);
  a->tok = tok;
  return 0;
}

static int due(const struct auth *a, int64_t now)
{
  json_t *e = json_object_get(a->tok, "expires_ms");
  json_t *o = json_object_get(a->tok, "obtained_ms");
  int64_t exp, got;

  if (!json_is_integer(e))
    return 0; /* no lifetime given: only a 401 refreshes */
  exp = json_integer_value(e);
  got = json_is_integer(o) ? json_integer_value(o) : exp;
  return now >= got + (int64_t)((double)(exp - got) * a->refresh_at);
}

/* The accounts of the other rows of this provider, to tell a moved row
 * from a tampered one. New NULL-terminated array (strings borrowed from
 * *rows). */
static const char **other_accounts(struct auth *a, json_t **rows)
{
  const char **out;
  size_t i, n = 0;
  json_t *e;

  *rows = NULL;
  if (store_token_list(a->env.store, NULL, rows, NULL))
    return NULL;
  out = calloc(json_array_size(*rows) + 1, sizeof(*out));
  json_array_foreach(
      *rows, i, e) if (out && strcmp(str(e, "provider"), a->provider) == 0)
      out[n++] = str(e, "account");
  return out;
}

/* Open the row's token and use it. */
static int open_row(struct auth *a, struct store_token *row,
                    struct integ_error *err)
{
  json_t *tok = NULL, *rows = NULL;
  const char **others;
  int rc;

  if (row->needs_login)
    return relogin(a, err,
                   "the grant was lost (revoked or a rotated "
                   "refresh token was not saved)");
  if (!a->ring) {
    rc = tokens_ring_load(a->env.key_file ? a->env.key_file
                                          : TOKENS_KEY_DEFAULT,
                          0, &a->ring, err);
    if (rc)
      return rc;
  }
  others = other_accounts(a, &rows);
  rc = tokens_open(a->ring, a->env.account, a->provider, row, others, &tok,
                   err);
  free(others);
  json_decref(rows);
  if (rc)
    return rc;
  a->row_refreshed = row->refreshed_ms;
  return use_token(a, tok, err);
}

/* Ask the provider for a new token: refresh_token, or client_credentials.
 * *tok new. */
static int fetch(struct auth *a, const char *refresh, json_t **tok,
                 struct oauth2_failure *fail, struct integ_error *err)
{
  const char *params[] = {"refresh_token", refresh, NULL};
  int64_t now = now_ms();
  int rc;

  if (refresh)
    rc = oauth2_token_request(a->hc, &a->oc, "refresh_token", params, refresh,
                              now, tok, fail, err);
  else if (strcmp(a->grant, "client_credentials") == 0)
    rc = oauth2_token_request(a->hc, &a->oc, "client_credentials", NULL, NULL,
                              now, tok, fail, err);
  else
    return relogin(a, err, "no refresh token is stored");
  if (!rc && json_object_set_new(*tok, "obtained_ms", json_integer(now)))
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
  return rc;
}

/* Without a store (tap, source): refresh in memory and hand a rotated
 * refresh token to env.save. */
static int refresh_memory(struct auth *a, struct integ_error *err)
{
  const char *old = a->tok ? str(a->tok, "refresh_token") : NULL;
  struct oauth2_failure fail;
  json_t *tok = NULL;
  char *was = NULL;
  int rc;

  if (!old)
    old = a->config_refresh;
  if (old && !(was = strdup(old)))
    return error_set(err, INTEG_ENOMEM, "out of memory");
  rc = fetch(a, was, &tok, &fail, err);
  if (!rc) {
    int rotated = was && str(tok, "refresh_token") &&
                  strcmp(was, str(tok, "refresh_token")) != 0;

    rc = use_token(a, tok, err);
    if (!rc && a->env.refreshes)
      (*a->env.refreshes)++;
    if (!rc && rotated && a->env.save)
      rc = a->env.save(a->env.save_arg, a->tok, err);
  }
  free(was);
  return rc;
}

/* With a store: the lease protocol in the header comment. */
static int refresh_store(struct auth *a, const char *rejected_access,
                         struct integ_error *err)
{
  struct store *s = a->env.store;
  int64_t start = now_ms();
  int rc;

  for (;;) {
    struct store_token row;
    struct oauth2_failure fail;
    json_t *tok = NULL;
    int64_t now = now_ms();
    int got = 0;

    rc = store_token_lease(s, a->env.account, a->provider, a->owner, now,
                           now + LEASE_MS, &got, err);
    if (rc)
      return rc;
    rc = store_token_get(s, a->env.account, a->provider, &row, err);
    if (rc) {
      if (got)
        store_token_release(s, a->env.account, a->provider, a->owner, 0, NULL);
      return rc;
    }
    if (!got) {
      /* Someone else is refreshing. Their token, once committed, is
       * ours too; a dead owner on this host gives the lease up now. */
      char host[64] = "";
      long pid = 0;
      const char *o = row.lease_owner;
      const char *c1 = o ? strchr(o, ':') : NULL;

      if (row.refreshed_ms != a->row_refreshed && row.sealed) {
        rc = open_row(a, &row, err);
        store_token_clear(&row);
        return rc;
      }
      if (row.needs_login) {
        store_token_clear(&row);
        return relogin(a, err, "the grant was lost");
      }
      gethostname(host, sizeof(host) - 1);
      if (c1 && (size_t)(c1 - o) == strlen(host) &&
          strncmp(o, host, strlen(host)) == 0)
        pid = strtol(c1 + 1, NULL, 10);
      if (pid > 0 && kill((pid_t)pid, 0) && errno == ESRCH)
        rc = store_token_lease(s, a->env.account, a->provider, a->owner,
                               row.lease_until_ms, now + LEASE_MS, &got, err);
      store_token_clear(&row);
      if (rc)
        return rc;
      if (!got) {
        if (now - start > LEASE_MS + 5000)
          return error_set(err, INTEG_EHTTP,
                           "%s: category auth: another process has been "
                           "refreshing the token of account %s for %d s",
                           a->env.connector, a->env.account, LEASE_MS / 1000);
        nap(WAIT_STEP_MS);
        continue;
      }
      rc = store_token_get(s, a->env.account, a->provider, &row, err);
      if (rc)
        return rc;
    }
    /* 2. double-check: refreshed while we waited for the lease? */
    if (row.sealed && (row.refreshed_ms != a->row_refreshed || !a->tok)) {
      rc = open_row(a, &row, err);
      if (!rc && !due(a, now_ms()) &&
          !(rejected_access &&
            strcmp(rejected_access, str(a->tok, "access_token")) == 0)) {
        store_token_clear(&row);
        return store_token_release(s, a->env.account, a->provider, a->owner, 0,
                                   err);
      }
      if (rc) {
        store_token_clear(&row);
        store_token_release(s, a->env.account, a->provider, a->owner, 0, NULL);
        return rc;
      }
    }
    if (row.needs_login) {
      store_token_clear(&row);
      store_token_release(s, a->env.account, a->provider, a->owner, 0, NULL);
      return relogin(a, err, "the grant was lost");
    }
    {
      const char *rt = a->tok ? str(a->tok, "refresh_token") : NULL;
      char *was = rt                  ? strdup(rt)
                  : a->config_refresh ? strdup(a->config_refresh)
                                      : NULL;

      if (!a->ring)
        rc = tokens_ring_load(a->env.key_file ? a->env.key_file
                                              : TOKENS_KEY_DEFAULT,
                              1, &a->ring, err);
      /* 3. over HTTP, outside any transaction */
      if (!rc)
        rc = fetch(a, was, &tok, &fail, err);
      free(was);
    }
    if (rc) {
      int lost = strcmp(fail.error, "invalid_grant") == 0;

      store_token_clear(&row);
      store_token_release(s, a->env.account, a->provider, a->owner, lost,
                          NULL);
      if (lost) {
        struct integ_error first = *err;

        relogin(a, err, "the provider answered invalid_grant");
        error_prefix(err, "%s", first.message);
      }
      return rc;
    }
    /* 4. seal and commit, releasing the lease: the only write after the
     * answer came. */
    row.refreshed_ms = now_ms();
    row.needs_login = 0;
    row.expires_ms =
        json_is_integer(json_object_get(tok, "expires_ms"))
            ? json_integer_value(json_object_get(tok, "expires_ms"))
            : 0;
    free(row.scopes);
    row.scopes = str(tok, "scope") ? strdup(str(tok, "scope")) : NULL;
    rc = tokens_seal(a->ring, a->env.account, a->provider, tok, &row, err);
    if (!rc)
      rc =
          store_token_put(s, a->env.account, a->provider, &row, a->owner, err);
    if (!rc) {
      a->row_refreshed = row.refreshed_ms;
      rc = use_token(a, tok, err);
      tok = NULL;
      if (!rc && a->env.refreshes)
        (*a->env.refreshes)++;
    }
    json_decref(tok);
    store_token_clear(&row);
    return rc;
  }
}

static int load_first(struct auth *a, struct integ_error *err)
{
  struct store_token row;
  int rc;

  if (!a->env.store) {
    const json_t *t = a->env.tokens;

    if (str(t, "access_token")) {
      json_t *tok =
          json_pack("{s:s, s:s?}", "access_token", str(t, "access_token"),
                    "refresh_token", str(t, "refresh_token"));
      json_t *ea = json_object_get(t, "expires_at");

      if (!tok || secrets_add_json(json_object_get(tok, "access_token")) ||
          secrets_add_json(json_object_get(tok, "refresh_token")) ||
          (json_is_integer(ea) &&
           (json_object_set_new(tok, "expires_ms",
                                json_integer(json_integer_value(ea) * 1000)) ||
            json_object_set_new(tok, "obtained_ms",
                                json_integer(now_ms()))))) {
        json_decref(tok);
        return error_set(err, INTEG_ENOMEM, "out of memory");
      }
      return use_token(a, tok, err);
    }
    if (str(t, "refresh_token"))
      a->config_refresh = str(t, "refresh_token");
    return refresh_memory(a, err);
  }
  {
    struct integ_error gerr = {0, ""};

    rc = store_token_get(a->env.store, a->env.account, a->provider, &row,
                         &gerr);
    if (rc && rc != INTEG_ENOTFOUND)
      *err = gerr;
  }
  if (rc == INTEG_ENOTFOUND || (!rc && !row.sealed && !row.needs_login)) {
    if (!rc)
      store_token_clear(&row);
    if (strcmp(a->grant, "client_credentials") == 0 || a->config_refresh)
      return refresh_store(a, NULL, err);
    return relogin(a, err, "no token is stored");
  }
  if (rc)
    return rc;
  rc = open_row(a, &row, err);
  store_token_clear(&row);
  return rc;
}

int auth_prepare(struct auth *a, int rejected, int *changed,
                 struct integ_error *err)
{
  char *was = NULL;
  int rc = 0;

  if (changed)
    *changed = 0;
  if (!a || a->type != T_OAUTH2)
    return 0;
  if (!a->tok) {
    rc = load_first(a, err);
    if (rc)
      return rc;
    if (changed)
      *changed = 1;
    if (!due(a, now_ms()))
      return 0;
  } else if (!rejected && !due(a, now_ms())) {
    return 0;
  }
  if (rejected && !(was = strdup(str(a->tok, "access_token"))))
    return error_set(err, INTEG_ENOMEM, "out of memory");
  log_msg(INTEG_LOG_DEBUG, a->env.connector,
          "refreshing the token of "
          "account %s (%s)",
          a->env.account, rejected ? "the API answered 401" : "due");
  rc = a->env.store ? refresh_store(a, was, err) : refresh_memory(a, err);
  free(was);
  if (!rc && changed)
    *changed = 1;
  return rc;
}

/* ------------------------------------------- integ tap, integ source */

json_t *auth_config_schema(void)
{
  return json_pack(
      "{s:s, s:s, s:b, s:{"
      "s:{s:s, s:[s,s,s,s,s]}, s:{s:s, s:{s:s}}, s:{s:s, s:b}, "
      "s:{s:s, s:[s,s]}, s:{s:s}, s:{s:s, s:b}, s:{s:s}, s:{s:s, s:b}, "
      "s:{s:s, s:[s,s,s]}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:b}, "
      "s:{s:s, s:[s,s]}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, "
      "s:{s:s, s:b}, s:{s:s, s:b}, s:{s:s}}}",
      "type", "object", "description",
      "How integ authenticates the requests (the host applies it; the "
      "plugin never sees it). A refreshed token is written back. Without "
      "a type it fills the auth a declarative definition declares.",
      "additionalProperties", 0, "properties", "type", "type", "string",
      "enum", "none", "api_key", "bearer", "basic", "oauth2", "origins",
      "type", "array", "items", "type", "string", "key", "type", "string",
      "airbyte_secret", 1, "in", "type", "string", "enum", "header", "query",
      "name", "type", "string", "token", "type", "string", "airbyte_secret", 1,
      "username", "type", "string", "password", "type", "string",
      "airbyte_secret", 1, "grant", "type", "string", "enum",
      "authorization_code", "refresh_token", "client_credentials",
      "authorize_url", "type", "string", "token_url", "type", "string",
      "client_id", "type", "string", "client_secret", "type", "string",
      "airbyte_secret", 1, "client_auth", "type", "string", "enum",
      "client_secret_basic", "client_secret_post", "scopes", "type", "string",
      "token_params", "type", "object", "redirect_port", "type", "integer",
      "refresh_at", "type", "number", "refresh_token", "type", "string",
      "airbyte_secret", 1, "access_token", "type", "string", "airbyte_secret",
      1, "expires_at", "type", "integer");
}

char *auth_spec_with(const char *spec)
{
  json_t *s = json_loads(spec ? spec : "{}", 0, NULL);
  json_t *props, *a = auth_config_schema();
  char *out = NULL;

  if (!json_is_object(s) || !a)
    goto out;
  props = json_object_get(s, "properties");
  if (!props) {
    props = json_object();
    if (!props || json_object_set_new(s, "properties", props))
      goto out;
  }
  if (json_is_object(props) && !json_object_get(props, "auth") &&
      json_object_set(props, "auth", a))
    goto out;
  out = json_dumps(s, JSON_COMPACT);
out:
  json_decref(s);
  json_decref(a);
  return out;
}

/* The token members a refresh writes back into the auth mapping. */
static int merge_token(json_t *cfg, const json_t *tok)
{
  json_t *e = json_object_get(tok, "expires_ms");

  if (json_object_set(cfg, "access_token",
                      json_object_get(tok, "access_token")) ||
      (json_object_get(tok, "refresh_token") &&
       json_object_set(cfg, "refresh_token",
                       json_object_get(tok, "refresh_token"))))
    return INTEG_ENOMEM;
  if (json_is_integer(e) &&
      json_object_set_new(cfg, "expires_at",
                          json_integer(json_integer_value(e) / 1000)))
    return INTEG_ENOMEM;
  return 0;
}

static int tap_save(void *arg, const json_t *tok, struct integ_error *err)
{
  struct auth_tap *t = arg;
  json_t *doc = NULL, *whole = NULL;
  struct buf b = BUF_INIT;
  int rc;

  if (merge_token(t->cfg, tok))
    return error_set(err, INTEG_ENOMEM, "out of memory");
  if (!t->source) {
    /* Re-read the file: write back what the user wrote, with the new
     * token, not the config with its defaults filled in. */
    rc = configfile_read_json(t->file, "config", INTEG_ECONFIG, &doc, err);
    if (rc)
      return rc;
    if (!json_is_object(json_object_get(doc, "auth")) ||
        merge_token(json_object_get(doc, "auth"), tok))
      rc = error_set(err, INTEG_ECONFIG,
                     "config %s: no auth object to write the token to",
                     t->file);
    else
      rc = configfile_write_atomic(t->file, doc, err);
    json_decref(doc);
    return rc;
  }
  whole = json_deep_copy(t->config);
  if (!whole || json_object_set(whole, "auth", t->cfg)) {
    json_decref(whole);
    return error_set(err, INTEG_ENOMEM, "out of memory");
  }
  rc = emit_airbyte_control_config(&b, whole, clock_now_ms(t->clk), err);
  for (size_t off = 0; !rc && off < b.len;) {
    ssize_t n = write(STDOUT_FILENO, b.data + off, b.len - off);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      rc = error_set(err, INTEG_EIO, "standard output: %s", strerror(errno));
    else
      off += (size_t)n;
  }
  buf_free(&b);
  json_decref(whole);
  return rc;
}

int auth_tap_start(struct auth_tap *t, json_t *config, const char *file,
                   int source, struct http_config *http,
                   const struct clock *clk, struct integ_error *err)
{
  struct auth_env *env = &t->env;
  int rc;

  memset(t, 0, sizeof(*t));
  t->cfg = json_incref(json_object_get(config, "auth"));
  if (!t->cfg)
    return 0;
  json_object_del(config, "auth");
  t->config = config;
  t->file = file;
  t->source = source;
  t->clk = clk;
  env->connector = http->tag ? http->tag : "tap";
  env->account = "default";
  env->tokens = t->cfg;
  env->save = tap_save;
  env->save_arg = t;
  env->http = http;
  rc = auth_new(t->cfg, env, &t->a, err);
  if (!rc)
    http->auth = t->a;
  return rc;
}

void auth_tap_end(struct auth_tap *t)
{
  auth_free(t->a);
  json_decref(t->cfg);
  memset(t, 0, sizeof(*t));
}
