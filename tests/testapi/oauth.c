/* oauth.c - an OAuth2 provider (RFC 6749, RFC 7636, RFC 9700's rotation)
 * for tests: authorization codes with PKCE, refresh tokens that rotate
 * (reusing a rotated one revokes the whole grant), client credentials,
 * both client authentication styles, short-lived access tokens. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "oauth.h"
#include "util.h"

struct oauth {
  json_t *spec;
  char *client_id, *client_secret;
  int auth_style; /* 0 any, 1 basic, 2 post */
  int64_t access_ttl_ms;
  int rotate, reuse_revokes;
  json_t *protect; /* array of paths */
  json_t *codes;   /* code -> {redirect_uri, challenge, used, grant} */
  json_t *refresh; /* token -> {grant, rotated} */
  json_t *access;  /* token -> {grant, expires_ms} */
  json_t *revoked; /* grant -> true */
  unsigned long next;
};

static const char *const keys[] = {
    "client_id",     "client_secret",  "client_auth",
    "access_ttl_ms", "rotate",         "reuse_revokes",
    "protect",       "refresh_tokens", NULL};

static void reset_state(struct oauth *o)
{
  json_t *rts = json_object_get(o->spec, "refresh_tokens"), *e;
  size_t i;

  json_object_clear(o->codes);
  json_object_clear(o->refresh);
  json_object_clear(o->access);
  json_object_clear(o->revoked);
  /* Pre-issued refresh tokens, one grant each. */
  json_array_foreach(rts, i, e) if (json_is_string(e)) json_object_set_new(
      o->refresh, json_string_value(e),
      json_pack("{s:I, s:b}", "grant", (json_int_t)i, "rotated", 0));
  o->next = 1000;
}

int oauth_load(json_t *spec, struct oauth **out, struct integ_error *err)
{
  struct oauth *o;
  const char *k, *ca;
  json_t *v;

  *out = NULL;
  if (!spec)
    return 0;
  if (!json_is_object(spec))
    return util_error_set(err, INTEG_ECONFIG, "oauth2: expected an object");
  json_object_foreach(spec, k, v)
  {
    size_t i;

    for (i = 0; keys[i] && strcmp(keys[i], k); i++)
      ;
    if (!keys[i])
      return util_error_set(err, INTEG_ECONFIG, "oauth2: unknown key \"%s\"",
                            k);
  }
  o = calloc(1, sizeof(*o));
  if (!o)
    return INTEG_ENOMEM;
  o->spec = json_incref(spec);
  o->client_id = strdup(json_string_value(json_object_get(spec, "client_id"))
                            ?: "client");
  o->client_secret = strdup(
      json_string_value(json_object_get(spec, "client_secret")) ?: "secret");
  ca = json_string_value(json_object_get(spec, "client_auth"));
  o->auth_style = !ca                        ? 0
                  : strcmp(ca, "basic") == 0 ? 1
                  : strcmp(ca, "post") == 0  ? 2
                                             : 0;
  v = json_object_get(spec, "access_ttl_ms");
  o->access_ttl_ms = json_is_integer(v) ? json_integer_value(v) : 3600000;
  o->rotate = !json_is_false(json_object_get(spec, "rotate"));
  o->reuse_revokes = !json_is_false(json_object_get(spec, "reuse_revokes"));
  o->protect = json_object_get(spec, "protect");
  o->codes = json_object();
  o->refresh = json_object();
  o->access = json_object();
  o->revoked = json_object();
  if (!o->client_id || !o->client_secret || !o->codes || !o->refresh ||
      !o->access || !o->revoked) {
    oauth_free(o);
    return INTEG_ENOMEM;
  }
  reset_state(o);
  *out = o;
  return 0;
}

void oauth_free(struct oauth *o)
{
  if (!o)
    return;
  json_decref(o->spec);
  free(o->client_id);
  free(o->client_secret);
  json_decref(o->codes);
  json_decref(o->refresh);
  json_decref(o->access);
  json_decref(o->revoked);
  free(o);
}

void oauth_reset(struct oauth *o)
{
  if (o)
    reset_state(o);
}

/* A form body as an object of strings. */
static json_t *form(const char *body, size_t len)
{
  json_t *f = json_object();
  size_t i = 0;

  while (f && i < len) {
    size_t end = i, eq;
    char *k, *v;

    while (end < len && body[end] != '&')
      end++;
    eq = i;
    while (eq < end && body[eq] != '=')
      eq++;
    k = strndup(body + i, eq - i);
    v = strndup(eq < end ? body + eq + 1 : "", eq < end ? end - eq - 1 : 0);
    if (k && v) {
      /* percent-decode in place, '+' is a space */
      for (char *s = v, *d = v;; s++, d++) {
        if (*s == '+')
          *d = ' ';
        else if (*s == '%' && s[1] && s[2]) {
          char hex[3] = {s[1], s[2], 0};
          *d = (char)strtol(hex, NULL, 16);
          s += 2;
        } else
          *d = *s;
        if (!*s)
          break;
      }
      json_object_set_new(f, k, json_string(v));
    }
    free(k);
    free(v);
    i = end + 1;
  }
  return f;
}

static int answer(struct reply *r, json_t *headers, int status, json_t *v)
{
  const char *accept = json_string_value(json_object_get(headers, "accept"));
  int rc;

  r->status = status;
  if (accept && strstr(accept, "application/json")) {
    rc = reply_set_json(r, v, JSON_COMPACT);
  } else {
    /* As GitHub: form-encoded unless JSON is asked for. */
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    const char *k;
    json_t *e;
    int first = 1;

    if (!f) {
      json_decref(v);
      return INTEG_ENOMEM;
    }
    json_object_foreach(v, k, e)
    {
      char *ev;

      if (json_is_string(e))
        ev = util_url_encode(json_string_value(e));
      else {
        ev = malloc(32);
        if (ev)
          snprintf(ev, 32, "%lld", (long long)json_integer_value(e));
      }
      fprintf(f, "%s%s=%s", first ? "" : "&", k, ev ? ev : "");
      free(ev);
      first = 0;
    }
    fclose(f);
    free(r->body);
    r->body = (unsigned char *)text;
    r->len = n;
    rc = reply_set_header(r, "Content-Type",
                          "application/x-www-form-urlencoded");
  }
  json_decref(v);
  return rc ? rc : 1;
}

static int oerror(struct reply *r, json_t *headers, int status,
                  const char *code, const char *desc)
{
  return answer(
      r, headers, status,
      json_pack("{s:s, s:s}", "error", code, "error_description", desc));
}

static char *new_token(struct oauth *o, const char *kind)
{
  char *t = malloc(64);
  unsigned long n = o->next++;

  if (t)
    snprintf(t, 64, "%s-%lu-%08llx", kind, n,
             (unsigned long long)(util_mix(util_now_ms() + n) & 0xffffffffu));
  return t;
}

/* Issue an access token (and a refresh token unless none) for grant. */
static int issue(struct oauth *o, struct reply *r, json_t *headers,
                 json_int_t grant, int with_refresh)
{
  char *at = new_token(o, "at"),
       *rt = with_refresh ? new_token(o, "rt") : NULL;
  json_t *v;

  if (!at || (with_refresh && !rt)) {
    free(at);
    free(rt);
    return INTEG_ENOMEM;
  }
  json_object_set_new(
      o->access, at,
      json_pack("{s:I, s:I}", "grant", grant, "expires_ms",
                (json_int_t)(util_now_ms() + o->access_ttl_ms)));
  if (rt)
    json_object_set_new(o->refresh, rt,
                        json_pack("{s:I, s:b}", "grant", grant, "rotated", 0));
  v = json_pack("{s:s, s:s, s:I}", "access_token", at, "token_type", "bearer",
                "expires_in", (json_int_t)((o->access_ttl_ms + 999) / 1000));
  if (rt)
    json_object_set_new(v, "refresh_token", json_string(rt));
  free(at);
  free(rt);
  return answer(r, headers, 200, v);
}

/* Client authentication: Basic (id and secret form-encoded, RFC 6749
 * 2.3.1) or client_id/client_secret in the body. */
static int client_ok(struct oauth *o, json_t *headers, json_t *f)
{
  const char *h = json_string_value(json_object_get(headers, "authorization"));
  const char *id = json_string_value(json_object_get(f, "client_id"));
  const char *sec = json_string_value(json_object_get(f, "client_secret"));

  if (h && strncasecmp(h, "Basic ", 6) == 0 && o->auth_style != 2) {
    unsigned char buf[512];
    int n =
        EVP_DecodeBlock(buf, (const unsigned char *)h + 6, (int)strlen(h + 6));
    char *colon;
    json_t *pair;
    int ok;

    if (n <= 0 || n >= (int)sizeof(buf))
      return 0;
    buf[n] = '\0';
    colon = strchr((char *)buf, ':');
    if (!colon)
      return 0;
    *colon = '&';
    /* decode both halves as form fields */
    {
      char tmp[600];

      snprintf(tmp, sizeof(tmp), "i=%.*s&s=%s", (int)(colon - (char *)buf),
               (char *)buf, colon + 1);
      pair = form(tmp, strlen(tmp));
    }
    ok = pair &&
         strcmp(json_string_value(json_object_get(pair, "i")) ?: "",
                o->client_id) == 0 &&
         strcmp(json_string_value(json_object_get(pair, "s")) ?: "",
                o->client_secret) == 0;
    json_decref(pair);
    return ok;
  }
  if (o->auth_style == 1)
    return 0;
  return id && sec && strcmp(id, o->client_id) == 0 &&
         strcmp(sec, o->client_secret) == 0;
}

static char *challenge_of(const char *verifier)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;

  if (!EVP_Digest(verifier, strlen(verifier), md, &n, EVP_sha256(), NULL))
    return NULL;
  return util_base64(md, n, 1);
}

static int token(struct oauth *o, json_t *headers, const char *body,
                 size_t len, struct reply *r)
{
  json_t *f = form(body, len);
  const char *gt = json_string_value(json_object_get(f, "grant_type"));
  int rc;

  if (!f)
    return INTEG_ENOMEM;
  if (!client_ok(o, headers, f)) {
    rc = oerror(r, headers, 401, "invalid_client",
                "client authentication failed");
  } else if (gt && strcmp(gt, "authorization_code") == 0) {
    const char *code = json_string_value(json_object_get(f, "code"));
    json_t *c = code ? json_object_get(o->codes, code) : NULL;
    const char *ver = json_string_value(json_object_get(f, "code_verifier"));
    const char *ru = json_string_value(json_object_get(f, "redirect_uri"));
    char *ch = ver ? challenge_of(ver) : NULL;

    if (!c)
      rc = oerror(r, headers, 400, "invalid_grant", "unknown code");
    else if (json_is_true(json_object_get(c, "used")))
      rc = oerror(r, headers, 400, "invalid_grant", "code already used");
    else if (!ru || strcmp(ru, json_string_value(
                                   json_object_get(c, "redirect_uri"))) != 0)
      rc = oerror(r, headers, 400, "invalid_grant",
                  "redirect_uri does not match");
    else if (!ch || strcmp(ch, json_string_value(
                                   json_object_get(c, "challenge"))) != 0)
      rc =
          oerror(r, headers, 400, "invalid_grant", "PKCE verification failed");
    else {
      json_object_set_new(c, "used", json_true());
      rc = issue(o, r, headers, (json_int_t)o->next++, 1);
    }
    free(ch);
  } else if (gt && strcmp(gt, "refresh_token") == 0) {
    const char *rt = json_string_value(json_object_get(f, "refresh_token"));
    json_t *t = rt ? json_object_get(o->refresh, rt) : NULL;
    char gk[32];

    snprintf(gk, sizeof(gk), "%lld",
             (long long)json_integer_value(json_object_get(t, "grant")));
    if (!t || json_object_get(o->revoked, gk))
      rc = oerror(r, headers, 400, "invalid_grant",
                  t ? "the grant was revoked" : "unknown refresh token");
    else if (json_is_true(json_object_get(t, "rotated"))) {
      /* RFC 9700 4.14.2: a rotated token used again revokes the grant. */
      if (o->reuse_revokes)
        json_object_set_new(o->revoked, gk, json_true());
      rc = oerror(r, headers, 400, "invalid_grant",
                  "refresh token already used; the grant is revoked");
    } else {
      if (o->rotate)
        json_object_set_new(t, "rotated", json_true());
      rc = issue(o, r, headers,
                 json_integer_value(json_object_get(t, "grant")), o->rotate);
    }
  } else if (gt && strcmp(gt, "client_credentials") == 0) {
    rc = issue(o, r, headers, 0, 0);
  } else {
    rc = oerror(r, headers, 400, "unsupported_grant_type",
                gt ? gt : "grant_type missing");
  }
  json_decref(f);
  return rc;
}

static int authorize(struct oauth *o, json_t *args, struct reply *r)
{
  const char *ru = json_string_value(json_object_get(args, "redirect_uri"));
  const char *st = json_string_value(json_object_get(args, "state"));
  const char *ch = json_string_value(json_object_get(args, "code_challenge"));
  const char *m =
      json_string_value(json_object_get(args, "code_challenge_method"));
  const char *id = json_string_value(json_object_get(args, "client_id"));
  char *code, *enc, loc[1024];

  if (!ru || !ch || !m || strcmp(m, "S256") || !id || strcmp(id, o->client_id))
    return reply_set_error(r, 400,
                           "authorize needs client_id, redirect_uri and a "
                           "S256 code_challenge")
               ?: 1;
  code = new_token(o, "code");
  if (!code)
    return INTEG_ENOMEM;
  json_object_set_new(o->codes, code,
                      json_pack("{s:s, s:s, s:b}", "redirect_uri", ru,
                                "challenge", ch, "used", 0));
  enc = st ? util_url_encode(st) : NULL;
  snprintf(loc, sizeof(loc), "%s%ccode=%s%s%s", ru,
           strchr(ru, '?') ? '&' : '?', code, enc ? "&state=" : "",
           enc ? enc : "");
  free(enc);
  free(code);
  r->status = 302;
  return reply_set_header(r, "Location", loc) ?: 1;
}

int oauth_respond(struct oauth *o, const char *method, const char *path,
                  json_t *args, json_t *headers, const char *body, size_t len,
                  struct reply *r)
{
  json_t *e;
  size_t i;

  if (!o)
    return 0;
  if (strcmp(path, "/oauth/authorize") == 0)
    return authorize(o, args, r);
  if (strcmp(path, "/oauth/token") == 0) {
    if (strcmp(method, "POST"))
      return reply_set_error(r, 405, "token requests are POSTs") ?: 1;
    return token(o, headers, body, len, r);
  }
  json_array_foreach(o->protect, i, e)
  {
    const char *p = json_string_value(e);
    const char *h =
        json_string_value(json_object_get(headers, "authorization"));
    json_t *t = NULL;
    char gk[32];

    if (!p || strcmp(p, path))
      continue;
    if (h && strncasecmp(h, "Bearer ", 7) == 0)
      t = json_object_get(o->access, h + 7);
    snprintf(gk, sizeof(gk), "%lld",
             (long long)json_integer_value(json_object_get(t, "grant")));
    if (!t ||
        json_integer_value(json_object_get(t, "expires_ms")) <
            (json_int_t)util_now_ms() ||
        json_object_get(o->revoked, gk)) {
      json_t *v = json_pack("{s:s}", "error", "invalid_token");
      int rc = v ? reply_set_json(r, v, JSON_COMPACT) : INTEG_ENOMEM;

      json_decref(v);
      r->status = 401;
      return rc ?: reply_set_header(r, "WWW-Authenticate",
                                    "Bearer error=\"invalid_token\"") ?: 1;
    }
    return 0;
  }
  return 0;
}
