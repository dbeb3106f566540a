/* oauth2.c - token requests and answers, PKCE, state. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "buf.h"
#include "error.h"
#include "http.h"
#include "oauth2.h"
#include "secrets.h"

char *oauth2_random(size_t n)
{
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                                 "qrstuvwxyz0123456789-._~";
  unsigned char *rnd = malloc(n ? n : 1);
  char *s = malloc(n + 1);

  if (!rnd || !s || RAND_bytes(rnd, (int)n) != 1) {
    free(rnd);
    free(s);
    return NULL;
  }
  /* 66 symbols: the modulo bias is irrelevant at 256 bits of input. */
  for (size_t i = 0; i < n; i++)
    s[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
  s[n] = '\0';
  free(rnd);
  return s;
}

/* base64url without padding of n bytes. */
static char *b64url(const unsigned char *p, size_t n)
{
  char *s = malloc(4 * ((n + 2) / 3) + 1);
  int len;

  if (!s)
    return NULL;
  len = EVP_EncodeBlock((unsigned char *)s, p, (int)n);
  while (len > 0 && s[len - 1] == '=')
    len--;
  s[len] = '\0';
  for (int i = 0; i < len; i++)
    s[i] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
  return s;
}

char *oauth2_pkce_challenge(const char *verifier)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;

  if (!EVP_Digest(verifier, strlen(verifier), md, &mdlen, EVP_sha256(), NULL))
    return NULL;
  return b64url(md, mdlen);
}

char *oauth2_form_encode(const char *s)
{
  struct buf b = BUF_INIT;

  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    int rc;

    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
        (*p >= '0' && *p <= '9') || strchr("-._*", *p))
      rc = buf_append(&b, p, 1);
    else if (*p == ' ')
      rc = buf_append(&b, "+", 1);
    else
      rc = buf_printf(&b, "%%%02X", *p);
    if (rc) {
      buf_free(&b);
      return NULL;
    }
  }
  if (!b.data && buf_append(&b, "", 0))
    return NULL;
  return b.data ? b.data : strdup("");
}

char *oauth2_authorize_url(const struct oauth2_client *c,
                           const char *redirect_uri, const char *state,
                           const char *challenge)
{
  const char *names[] = {"response_type",  "client_id",
                         "redirect_uri",   "state",
                         "code_challenge", "code_challenge_method",
                         "scope"};
  const char *values[] = {"code",    c->client_id, redirect_uri, state,
                          challenge, "S256",       c->scopes};
  struct buf b = BUF_INIT;
  int sep = strchr(c->authorize_url, '?') ? '&' : '?';
  int rc = buf_appends(&b, c->authorize_url);

  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !rc; i++) {
    char *v;

    if (!values[i])
      continue;
    v = curl_easy_escape(NULL, values[i], 0);
    rc = v ? buf_printf(&b, "%c%s=%s", sep, names[i], v) : INTEG_ENOMEM;
    curl_free(v);
    sep = '&';
  }
  if (rc) {
    buf_free(&b);
    return NULL;
  }
  return b.data;
}

char *oauth2_query_param(const char *url, const char *name)
{
  const char *q = strchr(url, '?');
  size_t nl = strlen(name);

  while (q && *q) {
    const char *p = q + 1, *end = p + strcspn(p, "&#");

    if ((size_t)(end - p) > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
      int outlen = 0;
      char *v = curl_easy_unescape(
          NULL, p + nl + 1, (int)(end - p - (ptrdiff_t)nl - 1), &outlen);
      char *r = v ? strndup(v, (size_t)outlen) : NULL;

      curl_free(v);
      return r;
    }
    if (*end != '&')
      break;
    q = end;
  }
  return NULL;
}

/* A form-encoded body (a=b&c=d) as a JSON object of strings. */
static json_t *form_parse(const char *body, size_t len)
{
  json_t *o = json_object();
  size_t i = 0;

  while (o && i < len) {
    size_t end = i, eq;
    char *k, *v;
    int kl = 0, vl = 0;

    while (end < len && body[end] != '&')
      end++;
    eq = i;
    while (eq < end && body[eq] != '=')
      eq++;
    char *raw = strndup(body + i, end - i);

    /* '+' is a space; only then percent-decode (%2B stays a '+'). */
    for (size_t j = 0; raw && raw[j]; j++)
      if (raw[j] == '+')
        raw[j] = ' ';
    k = raw ? curl_easy_unescape(NULL, raw, (int)(eq - i), &kl) : NULL;
    v = raw ? curl_easy_unescape(NULL, eq < end ? raw + (eq - i) + 1 : "",
                                 eq < end ? (int)(end - eq - 1) : 0, &vl)
            : NULL;
    free(raw);
    if (!k || !v ||
        (kl && json_object_set_new(o, k, json_stringn(v, (size_t)vl)))) {
      json_decref(o);
      o = NULL;
    }
    curl_free(k);
    curl_free(v);
    i = end + 1;
  }
  return o;
}

/* The answer as an object: JSON, or form-encoded. NULL when neither. */
static json_t *answer_parse(const char *body, size_t len, const char *ctype)
{
  json_t *v = NULL;
  size_t i = 0;

  while (i < len && strchr(" \t\r\n", body[i]))
    i++;
  if (i < len && body[i] == '{')
    v = json_loadb(body, len, 0, NULL);
  else if (ctype &&
           strncasecmp(ctype, "application/x-www-form-urlencoded", 33) == 0)
    v = form_parse(body, len);
  else if (len && !memchr(body, '<', len) && memchr(body, '=', len))
    v = form_parse(body, len);
  if (v && !json_is_object(v)) {
    json_decref(v);
    v = NULL;
  }
  return v;
}

static int64_t number_of(json_t *v)
{
  if (json_is_integer(v))
    return (int64_t)json_integer_value(v);
  if (json_is_real(v))
    return (int64_t)json_real_value(v);
  if (json_is_string(v))
    return strtoll(json_string_value(v), NULL, 10);
  return -1;
}

int oauth2_parse_token(const char *body, size_t len, const char *ctype,
                       const char *url, const char *old_refresh,
                       int64_t now_ms, json_t **tok, struct integ_error *err)
{
  json_t *a = answer_parse(body ? body : "", len, ctype);
  const char *access = json_string_value(json_object_get(a, "access_token"));
  const char *type = json_string_value(json_object_get(a, "token_type"));
  const char *refresh = json_string_value(json_object_get(a, "refresh_token"));
  int64_t expires_in = number_of(json_object_get(a, "expires_in"));
  json_t *t = NULL;
  int rc = 0;

  *tok = NULL;
  if (!a || !access || !*access) {
    rc = error_set(
        err, INTEG_EHTTP,
        "POST %s: invalid_response: the token endpoint's answer "
        "is %s: check token_url",
        url, a ? "missing access_token" : "neither JSON nor form-encoded");
    goto out;
  }
  /* RFC 6749 7.1: the type is case-insensitive; only bearer is used. */
  if (type && strcasecmp(type, "bearer") != 0) {
    rc = error_set(err, INTEG_EHTTP,
                   "POST %s: the token endpoint gave a token of type '%s'; "
                   "integ sends bearer tokens only",
                   url, type);
    goto out;
  }
  if (secrets_add(access, strlen(access)) ||
      (refresh && secrets_add(refresh, strlen(refresh)))) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  if (!refresh || !*refresh)
    refresh = old_refresh;
  t = json_pack("{s:s, s:s, s:s?, s:s?}", "access_token", access, "token_type",
                "Bearer", "refresh_token", refresh, "scope",
                json_string_value(json_object_get(a, "scope")));
  if (!t || (expires_in > 0 &&
             json_object_set_new(t, "expires_ms",
                                 json_integer(now_ms + expires_in * 1000)))) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  *tok = t;
  t = NULL;
out:
  json_decref(a);
  json_decref(t);
  return rc;
}

/* Authorization: Basic with id and secret each form-encoded first. */
static int basic_header(struct http_request *r, const char *id,
                        const char *secret)
{
  char *ei = oauth2_form_encode(id), *es = oauth2_form_encode(secret);
  struct buf pair = BUF_INIT, h = BUF_INIT;
  unsigned char *b64 = NULL;
  int rc = INTEG_ENOMEM;

  if (!ei || !es || buf_printf(&pair, "%s:%s", ei, es))
    goto out;
  b64 = malloc(4 * ((pair.len + 2) / 3) + 1);
  if (!b64)
    goto out;
  EVP_EncodeBlock(b64, (const unsigned char *)pair.data, (int)pair.len);
  if (buf_printf(&h, "Basic %s", (char *)b64) ||
      secrets_add_credential(h.data))
    goto out;
  rc = http_request_header(r, "Authorization", h.data);
out:
  free(ei);
  free(es);
  buf_free(&pair);
  buf_free(&h);
  free(b64);
  return rc;
}

int oauth2_token_request(struct http_client *hc, const struct oauth2_client *c,
                         const char *grant, const char *const *params,
                         const char *old_refresh, int64_t now_ms, json_t **tok,
                         struct oauth2_failure *fail, struct integ_error *err)
{
  struct http_request *r = http_request_new("POST", c->token_url, 0);
  struct http_response *resp = NULL;
  const char *k;
  json_t *v;
  int rc;

  *tok = NULL;
  fail->error[0] = '\0';
  if (!r)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  rc = http_request_header(r, "Accept", "application/json");
  if (!rc)
    rc = http_request_body_form(r, "grant_type", grant);
  for (size_t i = 0; params && params[i] && !rc; i += 2)
    rc = http_request_body_form(r, params[i], params[i + 1]);
  if (!rc && c->scopes && strcmp(grant, "client_credentials") == 0)
    rc = http_request_body_form(r, "scope", c->scopes);
  json_object_foreach((json_t *)c->extra, k, v)
  {
    if (!rc && json_is_string(v))
      rc = http_request_body_form(r, k, json_string_value(v));
  }
  if (!rc && (c->secret_post || !c->client_secret))
    rc = http_request_body_form(r, "client_id", c->client_id);
  if (!rc && c->client_secret && c->secret_post)
    rc = http_request_body_form(r, "client_secret", c->client_secret);
  if (!rc && c->client_secret && !c->secret_post)
    rc = basic_header(r, c->client_id, c->client_secret);
  if (rc) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  rc = http_do(hc, r, &resp, err);
  if (rc && resp && resp->status >= 400 && resp->status < 500) {
    json_t *a =
        answer_parse(resp->body.data ? resp->body.data : "", resp->body.len,
                     http_response_header(resp, "Content-Type"));
    const char *e = json_string_value(json_object_get(a, "error"));
    const char *d = json_string_value(json_object_get(a, "error_description"));

    if (e) {
      snprintf(fail->error, sizeof(fail->error), "%s", e);
      rc = error_set(err, INTEG_EHTTP,
                     "POST %s: HTTP %ld, category auth: the provider "
                     "refused the %s grant: %s%s%s",
                     resp->url, resp->status, grant, e, d ? ": " : "",
                     d ? d : "");
    }
    json_decref(a);
    goto out;
  }
  if (rc)
    goto out;
  rc = oauth2_parse_token(resp->body.data, resp->body.len,
                          http_response_header(resp, "Content-Type"),
                          resp->url, old_refresh, now_ms, tok, err);
  if (rc == INTEG_EHTTP)
    snprintf(fail->error, sizeof(fail->error), "invalid_response");
out:
  http_response_free(resp);
  http_request_free(r);
  return rc;
}
