/* webhook.c - the daemon's webhook receiver. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>

#include "buf.h"
#include "duration.h"
#include "clock.h"
#include "error.h"
#include "jsonpath.h"
#include "log.h"
#include "netaddr.h"
#include "queue.h"
#include "secrets.h"
#include "webhook.h"
#include "whsig.h"

#define DEFAULT_LISTEN "127.0.0.1:8088"
#define DEFAULT_MAX_BODY (1024 * 1024)
#define DEFAULT_TOLERANCE_MS (5 * 60 * 1000)
#define DEFAULT_KEY_TTL_MS ((int64_t)7 * 24 * 3600 * 1000)
#define MAX_CONNECTIONS 512U
#define ROUTE_PREFIX "/hooks/"

/* One connector's route. Strings are owned. */
struct route {
  char *name;
  char *secret;
  char *header, *prefix, *id_header, *id_path;
  struct whsig_config sig;
};

struct routes {
  struct route *r;
  size_t n;
  int refs;
};

struct webhook {
  struct MHD_Daemon *mhd;
  struct queue *q;  /* the receiver's: group commit */
  struct queue *rq; /* the daemon loop's: webhook_pending */
  int efd;          /* eventfd: readable after a new delivery */
  pthread_mutex_t mu;
  struct routes *routes; /* guarded by mu; each request holds a ref */
  size_t max_body;
  int64_t key_ttl_ms;
  char *tls_cert, *tls_key;
  json_t *held; /* connector -> ms until which no processing starts */
  webhook_count_fn count; /* NULL, or told each delivery's outcome */
  void *count_arg;
};

/* A request being read. */
struct req {
  char *body;
  size_t len, cap;
  int too_big;
};

/* Free a string that held a secret, overwriting it first. */
static void wipe_free(char *s)
{
  OPENSSL_cleanse(s, strlen(s));
  free(s);
}

static const char *str_at(json_t *o, const char *key)
{
  return json_string_value(json_object_get(o, key));
}

static int64_t duration_at(json_t *o, const char *key, int64_t dflt)
{
  const char *s = str_at(o, key);
  int64_t ms;

  if (s && duration_parse(s, &ms, NULL, NULL) == 0)
    return ms;
  return dflt;
}

int webhook_wanted(const struct manifest *m)
{
  for (size_t i = 0; i < m->n_connectors; i++)
    if (m->connectors[i].enabled &&
        json_is_object(json_object_get(m->connectors[i].node, "webhooks")))
      return 1;
  return 0;
}

int webhook_check_connector(const struct manifest_connector *c,
                            struct integ_error *err)
{
  json_t *w = json_object_get(c->node, "webhooks");
  const char *path = str_at(w, "id_path");
  struct jsonpath *jp = NULL;
  int rc;

  if (!w)
    return 0;
  if (whsig_scheme_parse(str_at(w, "scheme")) < 0)
    return error_set(err, INTEG_ECONFIG,
                     "connectors.%s.webhooks.scheme: expected standard, "
                     "github, stripe, slack or generic",
                     c->name);
  if (!path)
    return 0;
  rc = jsonpath_compile(path, strlen(path), &jp, err);
  jsonpath_free(jp);
  if (rc)
    error_prefix(err, "connectors.%s.webhooks.id_path", c->name);
  return rc;
}

static void routes_unref(struct routes *rs)
{
  if (!rs || --rs->refs > 0)
    return;
  for (size_t i = 0; i < rs->n; i++) {
    struct route *r = &rs->r[i];

    free(r->name);
    if (r->secret)
      wipe_free(r->secret);
    free(r->header);
    free(r->prefix);
    free(r->id_header);
    free(r->id_path);
  }
  free(rs->r);
  free(rs);
}

static int dup_opt(char **dst, const char *s)
{
  *dst = NULL;
  if (!s)
    return 0;
  *dst = strdup(s);
  return *dst ? 0 : INTEG_ENOMEM;
}

static int routes_build(const struct manifest *m, struct routes **out,
                        struct integ_error *err)
{
  struct routes *rs = calloc(1, sizeof(*rs));
  json_t *top = json_object_get(m->root, "webhooks");
  int64_t tol = duration_at(top, "tolerance", DEFAULT_TOLERANCE_MS);
  int rc = 0;

  *out = NULL;
  if (!rs || !(rs->r = calloc(m->n_connectors + 1, sizeof(*rs->r)))) {
    free(rs);
    return error_set(err, INTEG_ENOMEM, "out of memory");
  }
  rs->refs = 1;
  for (size_t i = 0; i < m->n_connectors && !rc; i++) {
    const struct manifest_connector *c = &m->connectors[i];
    json_t *w = json_object_get(c->node, "webhooks");
    struct route *r = &rs->r[rs->n];

    if (!c->enabled || !json_is_object(w))
      continue;
    rc = webhook_check_connector(c, err);
    if (rc)
      break;
    rs->n++;
    if (dup_opt(&r->name, c->name) ||
        dup_opt(&r->secret, str_at(w, "secret")) ||
        dup_opt(&r->header, str_at(w, "header")) ||
        dup_opt(&r->prefix, str_at(w, "prefix")) ||
        dup_opt(&r->id_header, str_at(w, "id_header")) ||
        dup_opt(&r->id_path, str_at(w, "id_path"))) {
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
      break;
    }
    r->sig.scheme = (enum whsig_scheme)whsig_scheme_parse(str_at(w, "scheme"));
    r->sig.secret = r->secret ? r->secret : "";
    r->sig.tolerance_ms = duration_at(w, "tolerance", tol);
    r->sig.header = r->header;
    r->sig.prefix = r->prefix;
    r->sig.id_header = r->id_header;
    r->sig.id_path = r->id_path;
    r->sig.base64 =
        str_at(w, "encoding") && strcmp(str_at(w, "encoding"), "base64") == 0;
    r->sig.sha1 =
        str_at(w, "digest") && strcmp(str_at(w, "digest"), "sha1") == 0;
  }
  if (rc) {
    routes_unref(rs);
    return rc;
  }
  *out = rs;
  return 0;
}

int webhook_routes(struct webhook *w, const struct manifest *m,
                   struct integ_error *err)
{
  struct routes *rs = NULL, *old;
  int rc = routes_build(m, &rs, err);

  if (rc)
    return rc;
  pthread_mutex_lock(&w->mu);
  old = w->routes;
  w->routes = rs;
  routes_unref(old);
  pthread_mutex_unlock(&w->mu);
  return 0;
}

/* --------------------------------------------------------- requests */

static const char *get_header(void *ctx, const char *name)
{
  return MHD_lookup_connection_value((struct MHD_Connection *)ctx,
                                     MHD_HEADER_KIND, name);
}

/* Headers whose values are signatures or credentials. */
static int header_is_secret(const char *name, const struct route *r)
{
  static const char *const sig[] = {
      "webhook-signature", "svix-signature",      "x-hub-signature-256",
      "x-hub-signature",   "stripe-signature",    "x-slack-signature",
      "authorization",     "proxy-authorization", "cookie"};

  for (size_t i = 0; i < sizeof(sig) / sizeof(sig[0]); i++)
    if (strcasecmp(name, sig[i]) == 0)
      return 1;
  if (r->header && strcasecmp(name, r->header) == 0)
    return 1;
  return secrets_header_is_secret(name);
}

struct hdr_ctx {
  json_t *o;
  const struct route *r;
  int failed;
};

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind,
                                  const char *key, const char *value)
{
  struct hdr_ctx *h = cls;
  char lower[128];
  size_t n = strlen(key);

  (void)kind;
  if (n >= sizeof(lower))
    return MHD_YES;
  for (size_t i = 0; i <= n; i++)
    lower[i] = (char)(key[i] >= 'A' && key[i] <= 'Z' ? key[i] + 32 : key[i]);
  if (json_object_set_new(h->o, lower,
                          json_string(header_is_secret(key, h->r)
                                          ? "[redacted]"
                                          : (value ? value : ""))))
    h->failed = 1;
  return MHD_YES;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status,
                             const char *body, const char *type)
{
  struct MHD_Response *r;
  enum MHD_Result ret;

  r = MHD_create_response_from_buffer(body ? strlen(body) : 0,
                                      (void *)(body ? body : ""),
                                      MHD_RESPMEM_MUST_COPY);
  if (!r)
    return MHD_NO;
  if (type)
    MHD_add_response_header(r, "Content-Type", type);
  ret = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result refuse(struct webhook *w, struct MHD_Connection *conn,
                              unsigned status, const char *connector,
                              const char *why)
{
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  char addr[INET6_ADDRSTRLEN] = "?";

  if (ci && ci->client_addr) {
    const struct sockaddr *sa = ci->client_addr;

    if (sa->sa_family == AF_INET)
      inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, addr,
                sizeof(addr));
    else if (sa->sa_family == AF_INET6)
      inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, addr,
                sizeof(addr));
  }
  log_msg(INTEG_LOG_WARN, connector ? connector : "webhooks",
          "refused a delivery from %s with %u: %s", addr, status, why);
  if (w->count && connector)
    w->count(w->count_arg, connector,
             status == MHD_HTTP_SERVICE_UNAVAILABLE ? "unavailable"
                                                    : "refused");
  return reply(conn, status, NULL, NULL);
}

/* A whole, verified-size delivery to route r. */
static enum MHD_Result deliver(struct webhook *w, struct MHD_Connection *conn,
                               const struct route *r, struct req *q)
{
  struct integ_error err = {0, ""};
  struct whsig_result res;
  struct hdr_ctx h = {json_object(), r, 0};
  struct queue_item it;
  char *headers = NULL;
  int64_t now = clock_now_ms(NULL);
  int rc, dup = 0;
  enum MHD_Result ret;
  unsigned status;

  rc = whsig_verify(&r->sig, get_header, conn, q->body ? q->body : "", q->len,
                    now, &res, &err);
  if (rc) {
    json_decref(h.o);
    whsig_result_free(&res);
    if (rc == INTEG_ENOMEM)
      return refuse(w, conn, MHD_HTTP_SERVICE_UNAVAILABLE, r->name,
                    "out of memory");
    status = res.reason == WHSIG_CONTENT_TYPE ? MHD_HTTP_UNSUPPORTED_MEDIA_TYPE
             : res.reason == WHSIG_MISSING || res.reason == WHSIG_BAD_BODY
                 ? MHD_HTTP_BAD_REQUEST
                 : MHD_HTTP_UNAUTHORIZED;
    return refuse(w, conn, status, r->name, err.message);
  }
  if (res.reply) {
    ret = reply(conn, MHD_HTTP_OK, res.reply, res.reply_type);
    log_msg(INTEG_LOG_INFO, r->name, "answered a %s %s",
            whsig_scheme_name(r->sig.scheme),
            res.type ? res.type : "verification");
    json_decref(h.o);
    whsig_result_free(&res);
    return ret;
  }
  if (h.o)
    MHD_get_connection_values(conn, MHD_HEADER_KIND, add_header, &h);
  if (!h.o || h.failed ||
      !(headers = json_dumps(h.o, JSON_COMPACT | JSON_SORT_KEYS))) {
    json_decref(h.o);
    whsig_result_free(&res);
    return refuse(w, conn, MHD_HTTP_SERVICE_UNAVAILABLE, r->name,
                  "out of memory");
  }
  json_decref(h.o);
  memset(&it, 0, sizeof(it));
  it.connector = r->name;
  it.delivery_id = res.id;
  it.scheme = whsig_scheme_name(r->sig.scheme);
  it.type = res.type;
  it.received_ms = now;
  it.headers = headers;
  it.body = q->body;
  it.len = q->len;
  it.key_ttl_ms = w->key_ttl_ms;
  rc = queue_submit(w->q, &it, &dup, &err);
  free(headers);
  whsig_result_free(&res);
  if (rc)
    return refuse(w, conn, MHD_HTTP_SERVICE_UNAVAILABLE, r->name, err.message);
  if (!dup) {
    uint64_t one = 1;

    /* Wake the daemon's loop; a full counter is awake already. */
    if (write(w->efd, &one, sizeof(one)) < 0)
      (void)0;
  }
  if (w->count)
    w->count(w->count_arg, r->name, dup ? "duplicate" : "accepted");
  return reply(conn, dup ? MHD_HTTP_OK : MHD_HTTP_ACCEPTED, NULL, NULL);
}

static struct routes *routes_get(struct webhook *w)
{
  struct routes *rs;

  pthread_mutex_lock(&w->mu);
  rs = w->routes;
  if (rs)
    rs->refs++;
  pthread_mutex_unlock(&w->mu);
  return rs;
}

static void routes_put(struct webhook *w, struct routes *rs)
{
  pthread_mutex_lock(&w->mu);
  routes_unref(rs);
  pthread_mutex_unlock(&w->mu);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
  struct webhook *w = cls;
  struct req *q = *con_cls;
  struct routes *rs;
  const struct route *r = NULL;
  enum MHD_Result ret;
  const char *name;

  (void)version;
  if (!q) {
    const char *cl;

    q = calloc(1, sizeof(*q));
    if (!q)
      return MHD_NO;
    *con_cls = q;
    /* Refuse what is plainly too big before reading it. */
    cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > w->max_body)
      q->too_big = 1;
    if (!q->too_big)
      return MHD_YES;
    /* Answer at once, without reading the body (the connection then
     * closes): the route and method are checked as below. */
  } else if (*upload_size) {
    if (!q->too_big && q->len + *upload_size > w->max_body)
      q->too_big = 1;
    if (!q->too_big) {
      if (q->len + *upload_size > q->cap) {
        size_t cap = q->cap ? q->cap : 4096;
        char *p;

        while (cap < q->len + *upload_size)
          cap *= 2;
        p = realloc(q->body, cap + 1);
        if (!p)
          return MHD_NO;
        q->body = p;
        q->cap = cap;
      }
      memcpy(q->body + q->len, upload, *upload_size);
      q->len += *upload_size;
      q->body[q->len] = '\0';
    }
    *upload_size = 0;
    return MHD_YES;
  }
  name = strncmp(url, ROUTE_PREFIX, strlen(ROUTE_PREFIX)) == 0
             ? url + strlen(ROUTE_PREFIX)
             : NULL;
  rs = routes_get(w);
  for (size_t i = 0; name && rs && i < rs->n; i++)
    if (strcmp(rs->r[i].name, name) == 0)
      r = &rs->r[i];
  if (!r)
    ret = refuse(w, conn, MHD_HTTP_NOT_FOUND, NULL, "no such route");
  else if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
    ret = refuse(w, conn, MHD_HTTP_METHOD_NOT_ALLOWED, r->name, "not a POST");
  else if (q->too_big)
    ret = refuse(w, conn, MHD_HTTP_CONTENT_TOO_LARGE, r->name,
                 "the body is larger than webhooks.max_body");
  else
    ret = deliver(w, conn, r, q);
  routes_put(w, rs);
  return ret;
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                    enum MHD_RequestTerminationCode code)
{
  struct req *q = *con_cls;

  (void)cls;
  (void)conn;
  (void)code;
  if (q) {
    free(q->body);
    free(q);
  }
  *con_cls = NULL;
}

static int read_pem(const char *key, const char *path, char **out,
                    struct integ_error *err)
{
  struct buf b = BUF_INIT;
  int rc;

  *out = NULL;
  if (!path)
    return 0;
  rc = buf_read_file(&b, path);
  if (rc == INTEG_EIO)
    return error_set(err, INTEG_ECONFIG, "webhooks.%s: %s: %s", key, path,
                     strerror(errno));
  if (rc)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  *out = b.data;
  return 0;
}

int webhook_start(const struct manifest *m, const char *store_path,
                  webhook_count_fn count, void *count_arg,
                  struct webhook **out, struct integ_error *err)
{
  struct webhook *w = calloc(1, sizeof(*w));
  json_t *top = json_object_get(m->root, "webhooks");
  const char *listen = str_at(top, "listen");
  json_t *mb = json_object_get(top, "max_body");
  struct sockaddr_storage ss;
  long port = 0;
  unsigned flags;
  int rc;

  *out = NULL;
  if (!w)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  pthread_mutex_init(&w->mu, NULL);
  w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (w->efd == -1) {
    free(w);
    return error_set(err, INTEG_EIO, "eventfd: %s", strerror(errno));
  }
  w->count = count;
  w->count_arg = count_arg;
  w->max_body = json_is_integer(mb) && json_integer_value(mb) > 0
                    ? (size_t)json_integer_value(mb)
                    : DEFAULT_MAX_BODY;
  w->key_ttl_ms = duration_at(top, "key_ttl", DEFAULT_KEY_TTL_MS);
  rc = netaddr_parse_listen("webhooks.listen", "8088",
                            listen ? listen : DEFAULT_LISTEN, &ss, &port, err);
  if (!rc)
    rc = read_pem("tls_cert", str_at(top, "tls_cert"), &w->tls_cert, err);
  if (!rc)
    rc = read_pem("tls_key", str_at(top, "tls_key"), &w->tls_key, err);
  if (!rc && !w->tls_cert != !w->tls_key)
    rc = error_set(err, INTEG_ECONFIG,
                   "webhooks: tls_cert and tls_key go together");
  if (!rc)
    rc = routes_build(m, &w->routes, err);
  if (!rc)
    rc = queue_open(store_path, &w->q, err);
  if (!rc)
    rc = queue_open(store_path, &w->rq, err);
  if (rc)
    goto out;
  flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
          MHD_USE_ERROR_LOG | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
  if (w->tls_cert)
    w->mhd = MHD_start_daemon(
        flags | MHD_USE_TLS, 0, NULL, NULL, on_request, w,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_HTTPS_MEM_CERT, w->tls_cert, MHD_OPTION_HTTPS_MEM_KEY,
        w->tls_key, MHD_OPTION_NOTIFY_COMPLETED, on_done, w,
        MHD_OPTION_CONNECTION_LIMIT, MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, 30U, MHD_OPTION_END);
  else
    w->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, w, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, on_done, w,
        MHD_OPTION_CONNECTION_LIMIT, MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, 30U, MHD_OPTION_END);
  if (!w->mhd)
    rc = error_set(err, INTEG_ECONFIG,
                   "webhooks.listen: cannot listen on %s (in use, not an "
                   "address of this host, or TLS not available?)",
                   listen ? listen : DEFAULT_LISTEN);
out:
  if (rc) {
    webhook_stop(w);
    return rc;
  }
  *out = w;
  return 0;
}

void webhook_stop(struct webhook *w)
{
  if (!w)
    return;
  if (w->mhd)
    MHD_stop_daemon(w->mhd);
  queue_close(w->q);
  queue_close(w->rq);
  json_decref(w->held);
  if (w->efd != -1)
    close(w->efd);
  routes_unref(w->routes);
  free(w->tls_cert);
  if (w->tls_key)
    wipe_free(w->tls_key);
  pthread_mutex_destroy(&w->mu);
  free(w);
}

int webhook_fd(struct webhook *w)
{
  return w->efd;
}

int webhook_pending(struct webhook *w, json_t **out, struct integ_error *err)
{
  uint64_t n;

  if (read(w->efd, &n, sizeof(n)) < 0)
    (void)0; /* nothing new: EAGAIN */
  return queue_summary(w->rq, out, err);
}

int webhook_reset_running(struct webhook *w, const char *connector,
                          struct integ_error *err)
{
  return queue_reset_running(w->rq, connector, err);
}

void webhook_prune(struct webhook *w, int64_t now)
{
  struct integ_error err = {0, ""};
  size_t removed = 0;

  if (queue_prune(w->rq, now, &removed, &err))
    log_warn("pruning webhook delivery ids: %s", err.message);
  else if (removed)
    log_info("pruned %zu expired webhook delivery id%s", removed,
             removed == 1 ? "" : "s");
}

void webhook_hold(struct webhook *w, const char *connector, int64_t until)
{
  if (!w->held)
    w->held = json_object();
  /* Without memory the hold is skipped: a retry comes sooner. */
  if (w->held)
    json_object_set_new(w->held, connector, json_integer(until));
}

int webhook_held(struct webhook *w, const char *connector, int64_t now,
                 int64_t *wake)
{
  json_t *v = json_object_get(w->held, connector);

  if (!v || json_integer_value(v) <= now)
    return 0;
  if (json_integer_value(v) < *wake)
    *wake = json_integer_value(v);
  return 1;
}
