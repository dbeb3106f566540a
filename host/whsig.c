/* whsig.c - webhook signatures of Standard Webhooks, GitHub, Stripe,
 * Slack and generic HMAC senders. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "error.h"
#include "jsonpath.h"
#include "whsig.h"

#define MAC_MAX 32

static const char *const scheme_names[] = {"standard", "github", "stripe",
                                           "slack", "generic"};

int whsig_scheme_parse(const char *name)
{
  for (size_t i = 0; i < sizeof(scheme_names) / sizeof(scheme_names[0]); i++)
    if (name && strcmp(name, scheme_names[i]) == 0)
      return (int)i;
  return -1;
}

const char *whsig_scheme_name(enum whsig_scheme s)
{
  return (unsigned)s < 5 ? scheme_names[s] : "?";
}

const char *whsig_reason_name(enum whsig_reason r)
{
  switch (r) {
  case WHSIG_OK:
    return "ok";
  case WHSIG_MISSING:
    return "missing header";
  case WHSIG_BAD_SIG:
    return "bad signature";
  case WHSIG_STALE:
    return "stale timestamp";
  case WHSIG_CONTENT_TYPE:
    return "wrong content type";
  default:
    return "bad body";
  }
}

void whsig_result_free(struct whsig_result *res)
{
  if (!res)
    return;
  free(res->id);
  free(res->type);
  free(res->reply);
  res->id = res->type = res->reply = NULL;
}

static int b64_value(int c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

long whsig_base64_decode(const char *s, size_t n, unsigned char *out)
{
  unsigned long acc = 0;
  int bits = 0;
  long len = 0;

  while (n && s[n - 1] == '=')
    n--;
  for (size_t i = 0; i < n; i++) {
    int v = b64_value((unsigned char)s[i]);

    if (v < 0)
      return -1;
    acc = (acc << 6) | (unsigned long)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[len++] = (unsigned char)((acc >> bits) & 0xff);
    }
  }
  return len;
}

static long hex_decode(const char *s, size_t n, unsigned char *out,
                       size_t size)
{
  if (n % 2 || n / 2 > size)
    return -1;
  for (size_t i = 0; i < n; i += 2) {
    int v = 0;

    for (size_t j = i; j < i + 2; j++) {
      int c = (unsigned char)s[j], d;

      if (c >= '0' && c <= '9')
        d = c - '0';
      else if (c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
      else
        return -1;
      v = v * 16 + d;
    }
    out[i / 2] = (unsigned char)v;
  }
  return (long)(n / 2);
}

/* HMAC of the parts a, b, c (any may be empty) under key. Returns the
 * MAC's length, or 0 on failure. */
static unsigned hmac3(int sha1, const void *key, size_t klen, const char *a,
                      size_t alen, const char *b, size_t blen, const char *c,
                      size_t clen, unsigned char *mac)
{
  const EVP_MD *md = sha1 ? EVP_sha1() : EVP_sha256();
  unsigned char *msg;
  unsigned out = 0;
  size_t n = alen + blen + clen;

  msg = malloc(n ? n : 1);
  if (!msg)
    return 0;
  if (alen)
    memcpy(msg, a, alen);
  if (blen)
    memcpy(msg + alen, b, blen);
  if (clen)
    memcpy(msg + alen + blen, c, clen);
  if (!HMAC(md, key, (int)klen, msg, n, mac, &out))
    out = 0;
  free(msg);
  return out;
}

/* Does the candidate signature text cand[0..n) (hex or base64) equal
 * mac? Constant time in the MAC's bytes. */
static int sig_matches(const char *cand, size_t n, int base64,
                       const unsigned char *mac, unsigned maclen)
{
  unsigned char got[MAC_MAX * 2 + 8];
  long len;

  if (base64) {
    if (n > (sizeof(got) - 3) * 4 / 3)
      return 0;
    len = whsig_base64_decode(cand, n, got);
  } else {
    len = hex_decode(cand, n, got, sizeof(got));
  }
  return len == (long)maclen && CRYPTO_memcmp(got, mac, maclen) == 0;
}

static int refuse(struct whsig_result *res, enum whsig_reason why,
                  struct integ_error *err, const char *what)
{
  res->reason = why;
  return error_set(err, INTEG_EINVAL, "%s: %s", whsig_reason_name(why), what);
}

/* A timestamp in seconds from text; 0 when it is not one. */
static int parse_ts(const char *s, size_t n, int64_t *out)
{
  int64_t v = 0;

  if (!n || n > 12)
    return 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return 0;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 1;
}

static int check_ts(const struct whsig_config *c, const char *s, size_t n,
                    int64_t now_ms, struct whsig_result *res,
                    struct integ_error *err)
{
  int64_t ts, d;

  if (!parse_ts(s, n, &ts))
    return refuse(res, WHSIG_MISSING, err, "the timestamp is not a number");
  res->timestamp = ts;
  d = now_ms - ts * 1000;
  if (d > c->tolerance_ms || -d > c->tolerance_ms)
    return refuse(res, WHSIG_STALE, err,
                  d > 0 ? "the signed timestamp is too old"
                        : "the signed timestamp is in the future");
  return 0;
}

static int dupstr(char **dst, const char *s, size_t n)
{
  *dst = malloc(n + 1);
  if (!*dst)
    return INTEG_ENOMEM;
  memcpy(*dst, s, n);
  (*dst)[n] = '\0';
  return 0;
}

static int set_str(char **dst, const json_t *v)
{
  char buf[32];

  if (json_is_string(v))
    return dupstr(dst, json_string_value(v), json_string_length(v));
  if (json_is_integer(v)) {
    snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
    return dupstr(dst, buf, strlen(buf));
  }
  return 0;
}

static int is_type(const char *ct, const char *want)
{
  size_t n = strlen(want);

  return ct && strncasecmp(ct, want, n) == 0 &&
         (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

#define IS_JSON(ct) is_type(ct, "application/json")
#define IS_FORM(ct) is_type(ct, "application/x-www-form-urlencoded")

/* Standard Webhooks: "v1,<b64> v1,<b64>" over id.timestamp.body. */
static int verify_standard(const struct whsig_config *c, whsig_header_fn get,
                           void *ctx, const char *body, size_t len,
                           int64_t now_ms, struct whsig_result *res,
                           struct integ_error *err)
{
  const char *id = get(ctx, "webhook-id");
  const char *ts = get(ctx, "webhook-timestamp");
  const char *sig = get(ctx, "webhook-signature");
  const char *secret = c->secret;
  unsigned char key[512], mac[MAC_MAX];
  unsigned maclen;
  long klen;
  int rc;

  if (!id && !ts && !sig) {
    id = get(ctx, "svix-id");
    ts = get(ctx, "svix-timestamp");
    sig = get(ctx, "svix-signature");
  }
  if (!id || !ts || !sig)
    return refuse(res, WHSIG_MISSING, err,
                  "webhook-id, webhook-timestamp and webhook-signature "
                  "are needed");
  rc = check_ts(c, ts, strlen(ts), now_ms, res, err);
  if (rc)
    return rc;
  if (strncmp(secret, "whsec_", 6) == 0)
    secret += 6;
  if (strlen(secret) > sizeof(key) * 4 / 3 - 4)
    return refuse(res, WHSIG_BAD_SIG, err, "the secret is too long");
  klen = whsig_base64_decode(secret, strlen(secret), key);
  if (klen < 0)
    return refuse(res, WHSIG_BAD_SIG, err, "the secret is not base64");
  {
    /* The signed message is id.timestamp.body. */
    size_t hn = strlen(id) + 1 + strlen(ts) + 1;
    char *head = malloc(hn + 1);

    if (!head) {
      OPENSSL_cleanse(key, sizeof(key));
      return INTEG_ENOMEM;
    }
    snprintf(head, hn + 1, "%s.%s.", id, ts);
    maclen = hmac3(0, key, (size_t)klen, head, hn, body, len, NULL, 0, mac);
    OPENSSL_cleanse(key, sizeof(key));
    free(head);
  }
  if (!maclen)
    return error_set(err, INTEG_ENOMEM, "HMAC failed");
  for (const char *p = sig; *p;) {
    size_t n;

    p += strspn(p, " ");
    n = strcspn(p, " ");
    if (n > 3 && strncmp(p, "v1,", 3) == 0 &&
        sig_matches(p + 3, n - 3, 1, mac, maclen)) {
      /* The event type is the payload's "type" when it has one. */
      json_t *doc = json_loadb(body, len, 0, NULL);

      res->reason = WHSIG_OK;
      rc = json_is_object(doc)
               ? set_str(&res->type, json_object_get(doc, "type"))
               : 0;
      json_decref(doc);
      return rc ? rc : dupstr(&res->id, id, strlen(id));
    }
    p += n;
  }
  return refuse(res, WHSIG_BAD_SIG, err, "no v1 signature matched");
}

static int verify_github(const struct whsig_config *c, whsig_header_fn get,
                         void *ctx, const char *body, size_t len,
                         struct whsig_result *res, struct integ_error *err)
{
  const char *sig = get(ctx, "X-Hub-Signature-256");
  const char *ev = get(ctx, "X-GitHub-Event");
  const char *id = get(ctx, "X-GitHub-Delivery");
  const char *ct = get(ctx, "Content-Type");
  int sha1 = 0;
  const char *pfx = "sha256=";
  unsigned char mac[MAC_MAX];
  unsigned maclen;
  int rc;

  if (!sig) {
    sig = get(ctx, "X-Hub-Signature");
    sha1 = 1;
    pfx = "sha1=";
  }
  if (!sig || !ev || !id)
    return refuse(res, WHSIG_MISSING, err,
                  "X-Hub-Signature-256, X-GitHub-Event and "
                  "X-GitHub-Delivery are needed");
  if (!IS_JSON(ct) && !IS_FORM(ct))
    return refuse(res, WHSIG_CONTENT_TYPE, err,
                  "GitHub sends application/json or form-encoded bodies");
  maclen = hmac3(sha1, c->secret, strlen(c->secret), body, len, NULL, 0, NULL,
                 0, mac);
  if (!maclen)
    return error_set(err, INTEG_ENOMEM, "HMAC failed");
  if (strncmp(sig, pfx, strlen(pfx)) != 0 ||
      !sig_matches(sig + strlen(pfx), strlen(sig + strlen(pfx)), 0, mac,
                   maclen))
    return refuse(res, WHSIG_BAD_SIG, err, "the signature did not match");
  res->reason = WHSIG_OK;
  rc = dupstr(&res->id, id, strlen(id));
  if (!rc)
    rc = dupstr(&res->type, ev, strlen(ev));
  if (!rc && strcmp(ev, "ping") == 0) {
    rc = dupstr(&res->reply, "pong\n", 5);
    res->reply_type = "text/plain";
  }
  return rc;
}

static int verify_stripe(const struct whsig_config *c, whsig_header_fn get,
                         void *ctx, const char *body, size_t len,
                         int64_t now_ms, struct whsig_result *res,
                         struct integ_error *err)
{
  const char *sig = get(ctx, "Stripe-Signature");
  const char *ct = get(ctx, "Content-Type");
  const char *t = NULL;
  size_t tn = 0;
  unsigned char mac[MAC_MAX];
  unsigned maclen;
  int rc, ok = 0;
  json_t *doc;

  if (!sig)
    return refuse(res, WHSIG_MISSING, err, "Stripe-Signature is needed");
  for (const char *p = sig; *p;) {
    size_t n = strcspn(p, ",");

    if (n > 2 && strncmp(p, "t=", 2) == 0) {
      t = p + 2;
      tn = n - 2;
    }
    p += n;
    p += *p == ',';
  }
  if (!t)
    return refuse(res, WHSIG_MISSING, err, "Stripe-Signature has no t=");
  if (!IS_JSON(ct))
    return refuse(res, WHSIG_CONTENT_TYPE, err,
                  "Stripe sends application/json");
  rc = check_ts(c, t, tn, now_ms, res, err);
  if (rc)
    return rc;
  {
    char head[16];

    memcpy(head, t, tn);
    head[tn] = '.';
    maclen = hmac3(0, c->secret, strlen(c->secret), head, tn + 1, body, len,
                   NULL, 0, mac);
  }
  if (!maclen)
    return error_set(err, INTEG_ENOMEM, "HMAC failed");
  for (const char *p = sig; *p && !ok;) {
    size_t n = strcspn(p, ",");

    if (n > 3 && strncmp(p, "v1=", 3) == 0 &&
        sig_matches(p + 3, n - 3, 0, mac, maclen))
      ok = 1;
    p += n;
    p += *p == ',';
  }
  if (!ok)
    return refuse(res, WHSIG_BAD_SIG, err, "no v1 signature matched");
  doc = json_loadb(body, len, 0, NULL);
  if (!json_is_object(doc)) {
    json_decref(doc);
    return refuse(res, WHSIG_BAD_BODY, err, "the body is not a JSON object");
  }
  res->reason = WHSIG_OK;
  rc = set_str(&res->id, json_object_get(doc, "id"));
  if (!rc)
    rc = set_str(&res->type, json_object_get(doc, "type"));
  json_decref(doc);
  return rc;
}

/* The value of form field name in body, URL-decoded; NULL when absent. */
static char *form_field(const char *body, size_t len, const char *name)
{
  size_t nl = strlen(name);
  const char *p = body, *end = body + len;

  while (p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *e = amp ? amp : end;

    if ((size_t)(e - p) > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
      const char *v = p + nl + 1;
      char *out = malloc((size_t)(e - v) + 1);
      size_t o = 0;

      if (!out)
        return NULL;
      for (; v < e; v++) {
        unsigned char b[1];

        if (*v == '+') {
          out[o++] = ' ';
        } else if (*v == '%' && e - v >= 3 &&
                   hex_decode(v + 1, 2, b, 1) == 1) {
          out[o++] = (char)b[0];
          v += 2;
        } else {
          out[o++] = *v;
        }
      }
      out[o] = '\0';
      return out;
    }
    p = e + 1;
  }
  return NULL;
}

static int verify_slack(const struct whsig_config *c, whsig_header_fn get,
                        void *ctx, const char *body, size_t len,
                        int64_t now_ms, struct whsig_result *res,
                        struct integ_error *err)
{
  const char *sig = get(ctx, "X-Slack-Signature");
  const char *ts = get(ctx, "X-Slack-Request-Timestamp");
  const char *ct = get(ctx, "Content-Type");
  unsigned char mac[MAC_MAX];
  unsigned maclen;
  int rc;
  char head[32];
  json_t *doc = NULL;

  if (!sig || !ts)
    return refuse(res, WHSIG_MISSING, err,
                  "X-Slack-Signature and X-Slack-Request-Timestamp are "
                  "needed");
  if (!IS_JSON(ct) && !IS_FORM(ct))
    return refuse(res, WHSIG_CONTENT_TYPE, err,
                  "Slack sends application/json or form-encoded bodies");
  rc = check_ts(c, ts, strlen(ts), now_ms, res, err);
  if (rc)
    return rc;
  snprintf(head, sizeof(head), "v0:%s:", ts);
  maclen = hmac3(0, c->secret, strlen(c->secret), head, strlen(head), body,
                 len, NULL, 0, mac);
  if (!maclen)
    return error_set(err, INTEG_ENOMEM, "HMAC failed");
  if (strncmp(sig, "v0=", 3) != 0 ||
      !sig_matches(sig + 3, strlen(sig + 3), 0, mac, maclen))
    return refuse(res, WHSIG_BAD_SIG, err, "the signature did not match");
  res->reason = WHSIG_OK;
  if (IS_FORM(ct)) {
    /* Interactivity sends payload=JSON; slash commands plain fields. */
    char *payload = form_field(body, len, "payload");

    if (payload) {
      doc = json_loads(payload, 0, NULL);
      free(payload);
      if (doc) {
        rc = set_str(&res->id, json_object_get(doc, "trigger_id"));
        if (!rc)
          rc = set_str(&res->type, json_object_get(doc, "type"));
        json_decref(doc);
      }
      return rc;
    }
    res->id = form_field(body, len, "trigger_id");
    res->type = form_field(body, len, "command");
    return 0;
  }
  doc = json_loadb(body, len, 0, NULL);
  if (!json_is_object(doc)) {
    json_decref(doc);
    return refuse(res, WHSIG_BAD_BODY, err, "the body is not a JSON object");
  }
  {
    json_t *type = json_object_get(doc, "type");
    json_t *event = json_object_get(doc, "event");

    if (json_is_string(type) &&
        strcmp(json_string_value(type), "url_verification") == 0) {
      rc = set_str(&res->reply, json_object_get(doc, "challenge"));
      res->reply_type = "text/plain";
      if (!rc && !res->reply)
        rc = dupstr(&res->reply, "", 0);
    } else {
      rc = set_str(&res->id, json_object_get(doc, "event_id"));
    }
    if (!rc)
      rc = set_str(&res->type, json_is_object(event)
                                   ? json_object_get(event, "type")
                                   : type);
  }
  json_decref(doc);
  return rc;
}

static int verify_generic(const struct whsig_config *c, whsig_header_fn get,
                          void *ctx, const char *body, size_t len,
                          struct whsig_result *res, struct integ_error *err)
{
  const char *hname = c->header ? c->header : "X-Signature";
  const char *pfx = c->prefix ? c->prefix : "";
  const char *sig = get(ctx, hname);
  size_t pl = strlen(pfx);
  unsigned char mac[MAC_MAX];
  unsigned maclen;
  int ok = 0, rc = 0;

  if (!sig)
    return refuse(res, WHSIG_MISSING, err, "the signature header is absent");
  maclen = hmac3(c->sha1, c->secret, strlen(c->secret), body, len, NULL, 0,
                 NULL, 0, mac);
  if (!maclen)
    return error_set(err, INTEG_ENOMEM, "HMAC failed");
  /* Several signatures (key rotation) are separated by commas or
   * spaces; neither occurs in hex or base64. */
  for (const char *p = sig; *p && !ok;) {
    size_t n;

    p += strspn(p, ", ");
    n = strcspn(p, ", ");
    if (n > pl && strncmp(p, pfx, pl) == 0 &&
        sig_matches(p + pl, n - pl, c->base64, mac, maclen))
      ok = 1;
    p += n;
  }
  if (!ok)
    return refuse(res, WHSIG_BAD_SIG, err, "the signature did not match");
  res->reason = WHSIG_OK;
  if (c->id_header) {
    const char *id = get(ctx, c->id_header);

    if (id)
      rc = dupstr(&res->id, id, strlen(id));
  } else if (c->id_path) {
    struct jsonpath *jp = NULL;
    struct jsonpath_nodes nodes = {0};
    json_t *doc = json_loadb(body, len, 0, NULL);

    if (!doc)
      return refuse(res, WHSIG_BAD_BODY, err, "the body is not JSON");
    rc = jsonpath_compile(c->id_path, strlen(c->id_path), &jp, err);
    if (!rc)
      rc = jsonpath_eval(jp, doc, 0, &nodes, err);
    if (!rc && nodes.n == 1)
      rc = set_str(&res->id, nodes.values[0]);
    jsonpath_nodes_free(&nodes);
    jsonpath_free(jp);
    json_decref(doc);
  }
  return rc;
}

int whsig_verify(const struct whsig_config *c, whsig_header_fn get, void *ctx,
                 const char *body, size_t len, int64_t now_ms,
                 struct whsig_result *res, struct integ_error *err)
{
  memset(res, 0, sizeof(*res));
  res->reason = WHSIG_BAD_SIG;
  if (!c->secret || !*c->secret)
    return refuse(res, WHSIG_BAD_SIG, err, "no secret is configured");
  switch (c->scheme) {
  case WHSIG_STANDARD:
    return verify_standard(c, get, ctx, body, len, now_ms, res, err);
  case WHSIG_GITHUB:
    return verify_github(c, get, ctx, body, len, res, err);
  case WHSIG_STRIPE:
    return verify_stripe(c, get, ctx, body, len, now_ms, res, err);
  case WHSIG_SLACK:
    return verify_slack(c, get, ctx, body, len, now_ms, res, err);
  default:
    return verify_generic(c, get, ctx, body, len, res, err);
  }
}
