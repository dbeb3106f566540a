/* cmd_auth.c - `integ auth login|status|logout|import|rekey`: an operator
 * logs a connector's account in with the OAuth2 code flow (PKCE S256 and
 * state, through a callback listener on 127.0.0.1), looks at the stored
 * tokens, removes them, brings tokens over from elsewhere, and re-seals
 * every token under a new key. */
#include "config.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "auth.h"
#include "buf.h"
#include "cli.h"
#include "clock.h"
#include "error.h"
#include "http.h"
#include "loader.h"
#include "log.h"
#include "manifest.h"
#include "oauth2.h"
#include "run.h"
#include "secrets.h"
#include "store.h"
#include "tokens.h"

#define LOGIN_WAIT_S 300

enum verb { V_LOGIN, V_STATUS, V_LOGOUT, V_IMPORT, V_REKEY, V_KEYGEN };

struct auth_cmd {
  enum verb verb;
  const char *connector; /* NULL: every token (status) */
  const char *account;
  long port; /* -1: the manifest's redirect_port */
  int no_listen;
  int json;
  struct manifest *m;
  json_t *auth;     /* the connector's auth mapping, borrowed from m or
                       declared */
  json_t *declared; /* owned: what the connector's plugin declares */
  const char *key_file;
  char *provider;
};

static void auth_usage(void)
{
  printf("Usage: integ auth login CONNECTOR [--account NAME] [--port N] "
         "[--no-listen]\n"
         "       integ auth status [CONNECTOR] [--account NAME] [--json]\n"
         "       integ auth logout CONNECTOR [--account NAME]\n"
         "       integ auth import CONNECTOR [--account NAME] < TOKEN.json\n"
         "       integ auth rekey\n"
         "       integ auth keygen\n"
         "Manage the OAuth2 tokens of the manifest's connectors, kept sealed "
         "in the\nstore (AES-256-GCM under the token_key file).\n\n"
         "login   prints the authorization URL to open, waits (up to %d s) "
         "for the\n        provider's redirect on 127.0.0.1, checks state, "
         "exchanges the code\n        with the PKCE verifier and stores the "
         "token\n"
         "status  account, provider, scopes, expiry, last refresh, and "
         "whether a\n        login is needed\n"
         "logout  removes the account's token\n"
         "import  stores a token given as JSON on standard input "
         "({access_token,\n        refresh_token, expires_in or expires_at, "
         "scope})\n"
         "rekey   re-seals every token under a new key (safe to run again "
         "if killed)\n"
         "keygen  creates the token_key file if it does not exist (never "
         "replaces\n        one; packages run it on install)\n\n"
         "Options:\n"
         "  --account NAME  the account (default: the connector's account:)\n"
         "  --port N        login: the callback port (default: "
         "auth.redirect_port;\n                  0 picks a free one)\n"
         "  --no-listen     login: read the redirected URL from standard "
         "input\n"
         "  --json          status: JSON instead of a table\n"
         "  -h, --help      show this help\n\n"
         "Exit status: 0 ok; 1 the login failed (state mismatch, provider "
         "error,\nreused code), no token stored, a token needs a login "
         "(status), or the\nstore or key failed; 2 usage or configuration "
         "error.\n",
         LOGIN_WAIT_S);
}

static int parse_args(struct auth_cmd *c, int argc, char **argv)
{
  static const struct option opts[] = {
      {"account", required_argument, NULL, 'a'},
      {"port", required_argument, NULL, 'p'},
      {"no-listen", no_argument, NULL, 'n'},
      {"json", no_argument, NULL, 'j'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  static const char *const verbs[] = {"login",  "status", "logout",
                                      "import", "rekey",  "keygen"};
  const char *verb;
  char *end;
  int opt;
  size_t i;

  c->port = -1;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case 'a':
      c->account = optarg;
      break;
    case 'p':
      c->port = strtol(optarg, &end, 10);
      if (!*optarg || *end || c->port < 0 || c->port > 65535)
        return cli_usage_error("auth", "--port '%s': expected 0 to 65535",
                               optarg);
      break;
    case 'n':
      c->no_listen = 1;
      break;
    case 'j':
      c->json = 1;
      break;
    case 'h':
      auth_usage();
      return -1;
    default:
      return cli_usage_error("auth", "bad option");
    }
  }
  if (optind >= argc)
    return cli_usage_error("auth",
                           "say login, status, logout, import or rekey");
  verb = argv[optind++];
  for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
    if (strcmp(verb, verbs[i]) == 0)
      break;
  if (i == sizeof(verbs) / sizeof(verbs[0]))
    return cli_usage_error(
        "auth", "no action '%s' (login, status, logout, import or rekey)",
        verb);
  c->verb = (enum verb)i;
  if (optind < argc)
    c->connector = argv[optind++];
  if (optind < argc)
    return cli_usage_error("auth", "unexpected argument '%s'", argv[optind]);
  if (!c->connector && c->verb != V_STATUS && c->verb != V_REKEY &&
      c->verb != V_KEYGEN)
    return cli_usage_error("auth", "%s: name the connector", verb);
  if (c->connector && (c->verb == V_REKEY || c->verb == V_KEYGEN))
    return cli_usage_error("auth", "%s takes no connector", verb);
  if (c->account && !*c->account)
    return cli_usage_error("auth", "the account name is empty");
  return 0;
}

static int load(struct auth_cmd *c)
{
  struct yaml_errors errs = {0};
  const struct manifest_connector *mc;
  int rc = 0;

  if (manifest_load(cli_globals()->manifest, &c->m, &errs)) {
    yaml_errors_print(&errs, stderr);
    fprintf(stderr, "integ auth: fix the manifest first\n");
    rc = EXIT_USAGE;
    goto out;
  }
  c->key_file = json_string_value(json_object_get(c->m->root, "token_key"));
  if (!c->connector)
    goto out;
  mc = manifest_connector(c->m, c->connector);
  if (!mc) {
    fprintf(stderr, "integ auth: no connector '%s' in %s\n", c->connector,
            c->m->path);
    rc = EXIT_USAGE;
    goto out;
  }
  if (!c->account)
    c->account = mc->account ? mc->account : "default";
  c->auth = json_object_get(mc->node, "auth");
  if (!json_object_get(c->auth, "type") && mc->plugin) {
    /* No type: the plugin (a declarative definition) declares the auth
     * and the connector's auth: fills it. */
    struct loader_path lp = {NULL, 0};
    struct plugin *pl = NULL;
    struct integ_error err = {0, ""};
    struct run_opts o;
    char where[512];

    memset(&o, 0, sizeof(o));
    snprintf(where, sizeof(where), "connectors.%s.config", mc->name);
    o.tag = mc->name;
    o.locs = c->m->locs;
    o.config_path = where;
    o.base = mc->file;
    o.auth = c->auth;
    if (loader_path_init(&lp, c->m->plugin_path, c->m->n_plugin_path, &err) ||
        loader_open(&lp, mc->plugin, &pl, &err) ||
        run_declared_auth(pl, mc->config, &o, &c->declared, &err)) {
      fprintf(stderr, "integ auth: connector '%s': %s\n", c->connector,
              err.message);
      rc = EXIT_USAGE;
    }
    loader_close(pl);
    loader_path_free(&lp);
    if (rc)
      goto out;
    if (c->declared)
      c->auth = c->declared;
  }
  if (strcmp(json_string_value(json_object_get(c->auth, "type")) ?: "",
             "oauth2") != 0) {
    fprintf(stderr,
            "integ auth: connector '%s' has no oauth2 auth: only OAuth2 "
            "tokens are stored\n",
            c->connector);
    rc = EXIT_USAGE;
    goto out;
  }
  c->provider =
      auth_provider(json_string_value(json_object_get(c->auth, "token_url")),
                    json_string_value(json_object_get(c->auth, "client_id")));
  if (!c->provider) {
    fprintf(stderr, "integ auth: out of memory\n");
    rc = EXIT_RUN;
  }
out:
  yaml_errors_free(&errs);
  return rc;
}

static const char *key_file(const struct auth_cmd *c)
{
  return c->key_file ? c->key_file : TOKENS_KEY_DEFAULT;
}

static void client_of(const struct auth_cmd *c, struct oauth2_client *oc)
{
  const char *ca = json_string_value(json_object_get(c->auth, "client_auth"));

  memset(oc, 0, sizeof(*oc));
  oc->token_url = json_string_value(json_object_get(c->auth, "token_url"));
  oc->authorize_url =
      json_string_value(json_object_get(c->auth, "authorize_url"));
  oc->client_id = json_string_value(json_object_get(c->auth, "client_id"));
  oc->client_secret =
      json_string_value(json_object_get(c->auth, "client_secret"));
  oc->secret_post = ca && strcmp(ca, "client_secret_post") == 0;
  oc->scopes = json_string_value(json_object_get(c->auth, "scopes"));
  oc->extra = json_object_get(c->auth, "token_params");
}

/* Seal tok and store it as the account's token (replacing any). */
static int store_token(struct auth_cmd *c, struct store *s, json_t *tok,
                       struct integ_error *err)
{
  struct tokens_ring *ring = NULL;
  struct store_token row;
  json_t *e = json_object_get(tok, "expires_ms");
  const char *sc = json_string_value(json_object_get(tok, "scope"));
  int rc;

  memset(&row, 0, sizeof(row));
  rc = tokens_ring_load(key_file(c), 1, &ring, err);
  if (rc)
    goto out;
  rc = tokens_seal(ring, c->account, c->provider, tok, &row, err);
  if (rc)
    goto out;
  row.expires_ms = json_is_integer(e) ? json_integer_value(e) : 0;
  row.refreshed_ms = clock_now_ms(NULL);
  if (sc && !(row.scopes = strdup(sc))) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  rc = store_token_put(s, c->account, c->provider, &row, NULL, err);
out:
  store_token_clear(&row);
  tokens_ring_free(ring);
  return rc;
}

/* ------------------------------------------------------------ login */

struct callback {
  pthread_mutex_t lock;
  pthread_cond_t done;
  char *url; /* the first callback's path and query */
};

static enum MHD_Result on_callback(void *cls, struct MHD_Connection *conn,
                                   const char *url, const char *method,
                                   const char *version,
                                   const char *upload_data,
                                   size_t *upload_size, void **con_cls)
{
  static const char page[] = "integ: the login is complete; you may close "
                             "this window.\n";
  struct callback *cb = cls;
  struct MHD_Response *r;
  enum MHD_Result ret;
  struct buf full = BUF_INIT;

  (void)version;
  (void)upload_data;
  (void)upload_size;
  (void)con_cls;
  (void)method;
  /* Rebuild the query: MHD has parsed it; take code, state and error. */
  buf_appends(&full, url);
  {
    const char *names[] = {"code", "state", "error", "error_description"};
    int sep = '?';

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
      const char *v =
          MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, names[i]);
      char *e = v ? oauth2_form_encode(v) : NULL;

      if (e)
        buf_printf(&full, "%c%s=%s", sep, names[i], e), sep = '&';
      free(e);
    }
  }
  pthread_mutex_lock(&cb->lock);
  if (!cb->url && full.data) {
    cb->url = full.data;
    full.data = NULL;
    pthread_cond_signal(&cb->done);
  }
  pthread_mutex_unlock(&cb->lock);
  buf_free(&full);
  r = MHD_create_response_from_buffer(sizeof(page) - 1, (void *)page,
                                      MHD_RESPMEM_PERSISTENT);
  if (!r)
    return MHD_NO;
  ret = MHD_queue_response(conn, 200, r);
  MHD_destroy_response(r);
  return ret;
}

static int start_listener(long port, struct MHD_Daemon **d, long *bound,
                          struct callback *cb)
{
  struct sockaddr_in sin;
  const union MHD_DaemonInfo *info;

  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_port = htons((uint16_t)port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL,
                        (uint16_t)port, NULL, NULL, on_callback, cb,
                        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
                        MHD_OPTION_END);
  if (!*d)
    return -1;
  info = MHD_get_daemon_info(*d, MHD_DAEMON_INFO_BIND_PORT);
  *bound = info ? (long)info->port : port;
  return 0;
}

static int wait_callback(struct callback *cb, long port, char **url,
                         struct integ_error *err)
{
  struct timespec until;
  int rc = 0;

  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += LOGIN_WAIT_S;
  pthread_mutex_lock(&cb->lock);
  while (!cb->url && !rc)
    if (pthread_cond_timedwait(&cb->done, &cb->lock, &until))
      rc = error_set(err, INTEG_EIO,
                     "no redirect came to 127.0.0.1:%ld within %d s: "
                     "nothing stored",
                     port, LOGIN_WAIT_S);
  *url = cb->url;
  cb->url = NULL;
  pthread_mutex_unlock(&cb->lock);
  return rc;
}

static int do_login(struct auth_cmd *c, struct store *s)
{
  struct oauth2_client oc;
  struct callback cb = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                        NULL};
  struct MHD_Daemon *d = NULL;
  struct integ_error err = {0, ""};
  struct http_config hcfg;
  struct http_client *hc = NULL;
  struct oauth2_failure fail;
  char *verifier = oauth2_random(64), *state = oauth2_random(32);
  char *challenge = verifier ? oauth2_pkce_challenge(verifier) : NULL;
  char *redirect = NULL, *url = NULL, *got = NULL, *code = NULL;
  char *gstate = NULL, *perr = NULL;
  json_t *tok = NULL, *rp = json_object_get(c->auth, "redirect_port");
  long port = c->port >= 0          ? c->port
              : json_is_integer(rp) ? (long)json_integer_value(rp)
                                    : 8976;
  int status = EXIT_RUN;

  client_of(c, &oc);
  if (!oc.authorize_url) {
    fprintf(stderr,
            "integ auth: connector '%s' has no auth.authorize_url: login "
            "is for the authorization_code grant\n",
            c->connector);
    status = EXIT_USAGE;
    goto out;
  }
  if (!verifier || !state || !challenge) {
    fputs("integ auth: out of memory\n", stderr);
    goto out;
  }
  if (!c->no_listen && start_listener(port, &d, &port, &cb)) {
    fprintf(stderr,
            "integ auth: cannot listen on 127.0.0.1:%ld: is the port in "
            "use? name another with --port, or use --no-listen\n",
            port);
    goto out;
  }
  if (asprintf(&redirect, "http://127.0.0.1:%ld/callback", port) < 0) {
    fputs("integ auth: out of memory\n", stderr);
    goto out;
  }
  url = oauth2_authorize_url(&oc, redirect, state, challenge);
  if (!url) {
    fputs("integ auth: out of memory\n", stderr);
    goto out;
  }
  printf("Open this URL in a browser and allow access:\n\n  %s\n\n", url);
  if (c->no_listen)
    printf("Then paste the URL the browser was sent to (it starts with "
           "%s):\n",
           redirect);
  else
    printf("Waiting for the redirect to %s ...\n", redirect);
  fflush(stdout);
  if (c->no_listen) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);

    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
      line[--n] = '\0';
    if (n <= 0) {
      free(line);
      fprintf(stderr, "integ auth: no URL on standard input: nothing "
                      "stored\n");
      goto out;
    }
    if (strncmp(line, redirect, strlen(redirect)) != 0 ||
        (line[strlen(redirect)] != '?' && line[strlen(redirect)] != '\0')) {
      fprintf(stderr,
              "integ auth: the URL is not the redirect URI %s (a wrong "
              "redirect): nothing stored\n",
              redirect);
      free(line);
      goto out;
    }
    got = line;
  } else if (wait_callback(&cb, port, &got, &err)) {
    fprintf(stderr, "integ auth: %s\n", err.message);
    goto out;
  } else if (strncmp(got, "/callback", 9) != 0 ||
             (got[9] != '?' && got[9] != '\0')) {
    fprintf(stderr,
            "integ auth: the redirect came to %.*s, not to %s (a wrong "
            "redirect): nothing stored\n",
            (int)strcspn(got, "?"), got, redirect);
    goto out;
  }
  code = oauth2_query_param(got, "code");
  gstate = oauth2_query_param(got, "state");
  perr = oauth2_query_param(got, "error");
  if (perr) {
    char *desc = oauth2_query_param(got, "error_description");

    fprintf(stderr,
            "integ auth: the provider refused: %s%s%s: nothing "
            "stored\n",
            perr, desc ? ": " : "", desc ? desc : "");
    free(desc);
    goto out;
  }
  if (!gstate || strcmp(gstate, state) != 0) {
    fprintf(stderr,
            "integ auth: state mismatch: the redirect does not answer this "
            "login (a forged or stale redirect): nothing stored\n");
    goto out;
  }
  if (!code) {
    fprintf(stderr, "integ auth: the redirect holds no code: nothing "
                    "stored\n");
    goto out;
  }
  if (secrets_add(code, strlen(code))) {
    fputs("integ auth: out of memory\n", stderr);
    goto out;
  }
  http_config_init(&hcfg);
  hcfg.tag = c->connector;
  if (http_client_new(&hcfg, &hc, &err)) {
    fprintf(stderr, "integ auth: %s\n", err.message);
    goto out;
  }
  {
    const char *params[] = {
        "code",   code, "redirect_uri", redirect, "code_verifier",
        verifier, NULL};
    int64_t now = clock_now_ms(NULL);

    if (oauth2_token_request(hc, &oc, "authorization_code", params, NULL, now,
                             &tok, &fail, &err) ||
        json_object_set_new(tok, "obtained_ms", json_integer(now))) {
      fprintf(stderr, "integ auth: %s: nothing stored\n", err.message);
      goto out;
    }
  }
  if (store_token(c, s, tok, &err)) {
    fprintf(stderr, "integ auth: %s\n", err.message);
    goto out;
  }
  printf("Logged in: account %s at %s.\n", c->account,
         json_string_value(json_object_get(c->auth, "token_url")));
  status = EXIT_OK;
out:
  if (d)
    MHD_stop_daemon(d);
  free(cb.url);
  http_client_free(hc);
  json_decref(tok);
  free(verifier);
  free(state);
  free(challenge);
  free(redirect);
  free(url);
  free(got);
  free(code);
  free(gstate);
  free(perr);
  return status;
}

/* ----------------------------------------------------------- status */

static void fmt_time(int64_t ms, char *b, size_t n)
{
  time_t t = (time_t)(ms / 1000);
  struct tm tm;

  if (ms <= 0 || !gmtime_r(&t, &tm))
    snprintf(b, n, "-");
  else
    strftime(b, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int do_status(struct auth_cmd *c, struct store *s)
{
  struct integ_error err = {0, ""};
  json_t *rows = NULL, *shown = json_array(), *e;
  size_t i;
  int status = EXIT_OK;

  if (!shown ||
      store_token_list(s, c->connector ? c->account : NULL, &rows, &err)) {
    fprintf(stderr, "integ auth: %s\n",
            err.message[0] ? err.message : "out of memory");
    json_decref(shown);
    return EXIT_RUN;
  }
  json_array_foreach(rows, i, e)
  {
    if (c->provider &&
        strcmp(json_string_value(json_object_get(e, "provider")),
               c->provider) != 0)
      continue;
    json_object_del(e, "key_id");
    json_array_append(shown, e);
    if (json_is_true(json_object_get(e, "needs_login")) ||
        !json_is_true(json_object_get(e, "has_token")))
      status = EXIT_RUN;
  }
  if (!json_array_size(shown))
    status = EXIT_RUN;
  if (c->json) {
    char *t = json_dumps(shown, JSON_INDENT(2));

    printf("%s\n", t ? t : "[]");
    free(t);
  } else if (!json_array_size(shown)) {
    printf("no tokens stored%s%s\n", c->connector ? " for " : "",
           c->connector ? c->connector : "");
  } else {
    printf("%-12s %-44s %-20s %-20s %-20s %s\n", "ACCOUNT", "PROVIDER",
           "SCOPES", "EXPIRES", "REFRESHED", "STATE");
    json_array_foreach(shown, i, e)
    {
      char ex[32], rf[32];

      fmt_time(json_integer_value(json_object_get(e, "expires_ms")), ex,
               sizeof(ex));
      fmt_time(json_integer_value(json_object_get(e, "refreshed_ms")), rf,
               sizeof(rf));
      printf("%-12s %-44s %-20s %-20s %-20s %s\n",
             json_string_value(json_object_get(e, "account")),
             json_string_value(json_object_get(e, "provider")),
             json_string_value(json_object_get(e, "scopes")) ?: "-", ex, rf,
             json_is_true(json_object_get(e, "needs_login")) ? "needs login"
             : json_is_true(json_object_get(e, "has_token")) ? "ok"
                                                             : "no token");
    }
  }
  json_decref(rows);
  json_decref(shown);
  return status;
}

/* --------------------------------------------------- logout, import */

static int do_logout(struct auth_cmd *c, struct store *s)
{
  struct integ_error err = {0, ""};
  int removed = 0;

  if (store_token_delete(s, c->account, c->provider, &removed, &err)) {
    fprintf(stderr, "integ auth: %s\n", err.message);
    return EXIT_RUN;
  }
  if (!removed) {
    fprintf(stderr, "integ auth: no token stored for %s, account %s\n",
            c->connector, c->account);
    return EXIT_RUN;
  }
  printf("Logged out: account %s of %s.\n", c->account, c->connector);
  return EXIT_OK;
}

static int do_import(struct auth_cmd *c, struct store *s)
{
  struct integ_error err = {0, ""};
  json_error_t jerr;
  json_t *in = json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr), *tok = NULL;
  const char *at = json_string_value(json_object_get(in, "access_token"));
  json_t *ei = json_object_get(in, "expires_in");
  json_t *ea = json_object_get(in, "expires_at");
  int64_t now = clock_now_ms(NULL);
  int status = EXIT_USAGE;

  if (!in) {
    fprintf(stderr, "integ auth: <stdin>:%d:%d: %s\n", jerr.line, jerr.column,
            jerr.text);
    goto out;
  }
  if (!at && !json_string_value(json_object_get(in, "refresh_token"))) {
    fprintf(stderr, "integ auth: the token JSON needs access_token or "
                    "refresh_token\n");
    goto out;
  }
  status = EXIT_RUN;
  secrets_add_json(json_object_get(in, "access_token"));
  secrets_add_json(json_object_get(in, "refresh_token"));
  tok = json_pack("{s:s, s:s, s:s?, s:s?, s:I}", "access_token", at ? at : "",
                  "token_type", "Bearer", "refresh_token",
                  json_string_value(json_object_get(in, "refresh_token")),
                  "scope", json_string_value(json_object_get(in, "scope")),
                  "obtained_ms", (json_int_t)now);
  if (!tok)
    goto out;
  if (json_is_integer(ei))
    json_object_set_new(tok, "expires_ms",
                        json_integer(now + json_integer_value(ei) * 1000));
  else if (json_is_integer(ea))
    json_object_set_new(tok, "expires_ms",
                        json_integer(json_integer_value(ea) * 1000));
  else if (!at)
    json_object_set_new(tok, "expires_ms", json_integer(now));
  if (store_token(c, s, tok, &err)) {
    fprintf(stderr, "integ auth: %s\n", err.message);
    goto out;
  }
  printf("Imported: account %s of %s.\n", c->account, c->connector);
  status = EXIT_OK;
out:
  json_decref(in);
  json_decref(tok);
  return status;
}

static int do_rekey(struct auth_cmd *c, struct store *s)
{
  struct integ_error err = {0, ""};
  size_t n = 0;

  if (tokens_rekey(key_file(c), s, &n, &err)) {
    fprintf(stderr,
            "integ auth: rekey: %s (%zu rows re-sealed so far; run "
            "it again)\n",
            err.message, n);
    return EXIT_RUN;
  }
  printf("Re-sealed %zu token%s under the new key in %s.\n", n,
         n == 1 ? "" : "s", key_file(c));
  return EXIT_OK;
}

/* Only the key: no store is opened, so a package's postinst running this
 * as root creates no root-owned store for the daemon's user. */
static int do_keygen(struct auth_cmd *c)
{
  struct integ_error err = {0, ""};
  struct tokens_ring *ring = NULL;

  if (tokens_ring_load(key_file(c), 1, &ring, &err)) {
    fprintf(stderr, "integ auth: keygen: %s\n", err.message);
    return EXIT_RUN;
  }
  tokens_ring_free(ring);
  printf("Token key: %s\n", key_file(c));
  return EXIT_OK;
}

int cmd_auth(int argc, char **argv)
{
  struct auth_cmd c;
  struct store *s = NULL;
  struct integ_error err = {0, ""};
  int status;

  memset(&c, 0, sizeof(c));
  status = parse_args(&c, argc, argv);
  if (status)
    return status < 0 ? EXIT_OK : status;
  status = load(&c);
  if (status)
    goto out;
  if (c.verb == V_KEYGEN) {
    status = do_keygen(&c);
    goto out;
  }
  if (store_open(c.m->store, &s, &err)) {
    fprintf(stderr, "integ auth: %s\n", err.message);
    status = EXIT_RUN;
    goto out;
  }
  switch (c.verb) {
  case V_LOGIN:
    status = do_login(&c, s);
    break;
  case V_STATUS:
    status = do_status(&c, s);
    break;
  case V_LOGOUT:
    status = do_logout(&c, s);
    break;
  case V_IMPORT:
    status = do_import(&c, s);
    break;
  default:
    status = do_rekey(&c, s);
    break;
  }
out:
  store_close(s);
  free(c.provider);
  json_decref(c.declared);
  manifest_free(c.m);
  return status;
}
