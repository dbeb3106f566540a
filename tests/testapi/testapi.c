/* testapi.c - a scriptable HTTP API on loopback for tests, the demo and
 * benchmarks (libmicrohttpd, one thread per connection so that a delayed
 * response never stalls another).
 *
 *   testapi [--port N] [--scenario FILE] [--idle-exit SECONDS] [--log FILE]
 *           [--seed N]
 *
 * Prints "port N" on stdout once it listens on 127.0.0.1:N; exits 0 on
 * SIGTERM or SIGINT, and by itself after SECONDS without a request so a
 * crashed test never leaves it running. The scenario language and the
 * control endpoints under /_testapi/ are described in README.md beside
 * this file. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "oauth.h"
#include "reply.h"
#include "scenario.h"
#include "util.h"

#define CONTROL_PREFIX "/_testapi/"
#define MAX_REQUEST_BODY (8u << 20)

struct server {
  pthread_mutex_t lock; /* guards everything below but daemon and port */
  pthread_cond_t wake;  /* broadcast when stopping, ends every sleep */
  int stopping;
  struct MHD_Daemon *daemon;
  uint16_t port;
  uint64_t start_ms;
  uint64_t last_activity_ms;
  size_t active; /* requests in flight */
  uint64_t next_conn;
  uint64_t next_seq;
  json_t *log; /* array of request entries */
  FILE *log_file;
  struct scenario *sc;
  struct oauth *oauth; /* the scenario's OAuth2 provider, or NULL */
  uint64_t seed;
  uint64_t round; /* --round: how far collections with rounds have moved */
};

/* One request, from its URI line to its completion. */
struct request {
  struct server *srv;
  char *uri; /* raw request target, query included */
  uint64_t arrival_ms;
  unsigned char *body;
  size_t len, cap;
  int started;
  int too_big;
};

/* ----------------------------------------------------------- helpers */

/* Sleep ms, or less if the server stops. Returns 1 when stopping. */
static int server_sleep(struct server *s, unsigned ms)
{
  struct timespec ts;
  int stopping, rc = 0;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&s->lock);
  while (!s->stopping && rc != ETIMEDOUT)
    rc = pthread_cond_timedwait(&s->wake, &s->lock, &ts);
  stopping = s->stopping;
  pthread_mutex_unlock(&s->lock);
  return stopping;
}

static uint64_t server_time(struct server *s)
{
  return util_now_ms() - s->start_ms;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind,
                                   const char *key, const char *value)
{
  json_t *obj = cls;

  (void)kind;
  if (!json_object_get(obj, key))
    json_object_set_new(obj, key, json_string(value ? value : ""));
  return MHD_YES;
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind,
                                      const char *key, const char *value)
{
  json_t *obj = cls, *old;
  char *lower, *joined;
  size_t i, n;

  (void)kind;
  lower = strdup(key);
  if (!lower)
    return MHD_YES;
  for (i = 0; lower[i]; i++)
    if (lower[i] >= 'A' && lower[i] <= 'Z')
      lower[i] = (char)(lower[i] - 'A' + 'a');
  value = value ? value : "";
  old = json_object_get(obj, lower);
  if (old) {
    /* Repeated headers fold into one, as RFC 9110 allows. */
    n = json_string_length(old) + strlen(value) + 3;
    joined = malloc(n);
    if (joined) {
      snprintf(joined, n, "%s, %s", json_string_value(old), value);
      json_object_set_new(obj, lower, json_string(joined));
      free(joined);
    }
  } else {
    json_object_set_new(obj, lower, json_string(value));
  }
  free(lower);
  return MHD_YES;
}

static uint64_t connection_id(struct MHD_Connection *conn)
{
  const union MHD_ConnectionInfo *ci;

  ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? (uint64_t)(uintptr_t)ci->socket_context : 0;
}

static int client_port(struct MHD_Connection *conn)
{
  const union MHD_ConnectionInfo *ci;

  ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (!ci || !ci->client_addr || ci->client_addr->sa_family != AF_INET)
    return 0;
  return ntohs(((const struct sockaddr_in *)ci->client_addr)->sin_port);
}

/* "http://host:port" from the Host header, new string or NULL. */
static char *base_url(struct server *s, struct MHD_Connection *conn)
{
  const char *host;
  char *url;
  size_t n;

  host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
  n = (host ? strlen(host) : 32) + 8;
  url = malloc(n);
  if (!url)
    return NULL;
  if (host && *host && !strpbrk(host, "/?#@ "))
    snprintf(url, n, "http://%s", host);
  else
    snprintf(url, n, "http://127.0.0.1:%u", (unsigned)s->port);
  return url;
}

/* ----------------------------------------------------------- sending */

struct stream {
  struct server *srv;
  unsigned char *body;
  size_t len;   /* whole body */
  size_t limit; /* bytes to send before closing */
  size_t chunk; /* bytes per read; 0: as many as fit */
  unsigned delay_ms;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
  struct stream *st = cls;
  size_t n;

  if (pos >= st->limit)
    return st->limit < st->len ? MHD_CONTENT_READER_END_WITH_ERROR
                               : MHD_CONTENT_READER_END_OF_STREAM;
  if (pos > 0 && st->delay_ms && server_sleep(st->srv, st->delay_ms))
    return MHD_CONTENT_READER_END_WITH_ERROR;
  n = st->limit - (size_t)pos;
  if (st->chunk && n > st->chunk)
    n = st->chunk;
  if (n > max)
    n = max;
  memcpy(buf, st->body + pos, n);
  return (ssize_t)n;
}

static void stream_free(void *cls)
{
  struct stream *st = cls;

  free(st->body);
  free(st);
}

static int accepts_gzip(struct MHD_Connection *conn)
{
  const char *ae;

  ae = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Encoding");
  return ae && strstr(ae, "gzip") != NULL;
}

/* Send r on conn, honouring its transport. Takes r's body. */
static enum MHD_Result send_reply(struct server *s,
                                  struct MHD_Connection *conn, struct reply *r)
{
  struct MHD_Response *resp = NULL;
  struct stream *st = NULL;
  struct integ_error err;
  unsigned char *gz;
  size_t gzlen;
  const char *key;
  json_t *v;
  enum MHD_Result ret = MHD_NO;
  int gzip;

  if (r->t.delay_ms && server_sleep(s, r->t.delay_ms))
    return MHD_NO;
  gzip = r->t.gzip == 1 || (r->t.gzip == 2 && accepts_gzip(conn));
  if (gzip) {
    if (util_gzip(r->body ? r->body : (unsigned char *)"", r->len, &gz, &gzlen,
                  &err)) {
      fprintf(stderr, "testapi: %s\n", err.message);
      return MHD_NO;
    }
    free(r->body);
    r->body = gz;
    r->len = gzlen;
  }
  if (r->t.chunked || r->t.truncate_at >= 0 || r->t.chunk_delay_ms ||
      r->t.chunk_size) {
    st = calloc(1, sizeof(*st));
    if (!st)
      return MHD_NO;
    st->srv = s;
    st->body = r->body;
    st->len = r->len;
    st->limit = r->t.truncate_at >= 0 && (uint64_t)r->t.truncate_at < r->len
                    ? (size_t)r->t.truncate_at
                    : r->len;
    st->chunk = r->t.chunk_size;
    st->delay_ms = r->t.chunk_delay_ms;
    r->body = NULL;
    resp = MHD_create_response_from_callback(
        r->t.chunked ? MHD_SIZE_UNKNOWN : st->len,
        st->chunk ? st->chunk : 16384, stream_read, st, stream_free);
    if (!resp) {
      stream_free(st);
      return MHD_NO;
    }
  } else {
    resp = MHD_create_response_from_buffer(
        r->len, r->body ? (void *)r->body : (void *)"", MHD_RESPMEM_MUST_COPY);
    if (!resp)
      return MHD_NO;
  }
  if (r->headers) {
    json_object_foreach(r->headers, key, v)
    {
      if (MHD_add_response_header(resp, key, json_string_value(v)) != MHD_YES)
        fprintf(stderr,
                "testapi: cannot send header %s (libmicrohttpd "
                "refuses it)\n",
                key);
    }
  }
  if (gzip) {
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    if (r->t.gzip == 2)
      MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
  }
  if (r->t.close)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
  ret = MHD_queue_response(conn, (unsigned)r->status, resp);
  MHD_destroy_response(resp);
  return ret;
}

static enum MHD_Result send_json(struct server *s, struct MHD_Connection *conn,
                                 int status, json_t *doc)
{
  struct reply r;
  enum MHD_Result ret;

  reply_init(&r);
  r.status = status;
  if (!doc || reply_set_json(&r, doc, JSON_COMPACT)) {
    reply_clear(&r);
    json_decref(doc);
    return MHD_NO;
  }
  json_decref(doc);
  ret = send_reply(s, conn, &r);
  reply_clear(&r);
  return ret;
}

static enum MHD_Result send_error(struct server *s,
                                  struct MHD_Connection *conn, int status,
                                  const char *msg)
{
  return send_json(s, conn, status, json_pack("{s:s}", "error", msg));
}

/* ----------------------------------------------------------- the log */

/* Build the log entry of a request (new reference, or NULL). */
static json_t *log_entry(struct server *s, struct MHD_Connection *conn,
                         struct request *rq, const char *url,
                         const char *method, const char *version, json_t *args)
{
  json_t *e, *headers, *body;
  const char *q;
  char *b64;

  headers = json_object();
  if (!headers)
    return NULL;
  MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, headers);
  q = rq->uri ? strchr(rq->uri, '?') : NULL;
  e = json_pack("{s:i, s:I, s:I, s:i, s:s, s:s, s:s, s:s, s:O, s:o}", "seq", 0,
                "time_ms", (json_int_t)(rq->arrival_ms - s->start_ms),
                "connection", (json_int_t)connection_id(conn), "client_port",
                client_port(conn), "method", method, "path", url, "query",
                q ? q + 1 : "", "http_version", version ? version : "", "args",
                args, "headers", headers);
  if (!e)
    return NULL;
  body = json_stringn(
      (const char *)(rq->body ? rq->body : (unsigned char *)""), rq->len);
  if (body) {
    json_object_set_new(e, "body", body);
  } else {
    /* Not UTF-8: keep the bytes. */
    b64 = util_base64(rq->body, rq->len, 0);
    json_object_set_new(e, "body", json_null());
    if (b64)
      json_object_set_new(e, "body_base64", json_string(b64));
    free(b64);
  }
  return e;
}

/* Append e (stolen) to the log; the caller holds the lock. */
static void log_append(struct server *s, json_t *e)
{
  json_object_set_new(e, "seq", json_integer((json_int_t)++s->next_seq));
  if (s->log_file) {
    json_dumpf(e, s->log_file, JSON_COMPACT);
    fputc('\n', s->log_file);
    fflush(s->log_file);
  }
  json_array_append_new(s->log, e);
}

/* ----------------------------------------------------------- control */

static int query_size(struct MHD_Connection *conn, const char *key,
                      uint64_t def, uint64_t max, uint64_t *out)
{
  const char *v =
      MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);

  *out = def;
  return v ? util_parse_size(v, max, out) : 0;
}

static enum MHD_Result control_log(struct server *s,
                                   struct MHD_Connection *conn)
{
  json_t *out, *e;
  uint64_t since;
  size_t i;

  if (query_size(conn, "since", 0, INT64_MAX, &since))
    return send_error(s, conn, 400, "since: expected a sequence number");
  out = json_array();
  if (!out)
    return MHD_NO;
  pthread_mutex_lock(&s->lock);
  json_array_foreach(s->log, i, e)
  {
    if ((uint64_t)json_integer_value(json_object_get(e, "seq")) > since)
      json_array_append_new(out, json_deep_copy(e));
  }
  pthread_mutex_unlock(&s->lock);
  return send_json(s, conn, 200,
                   json_pack("{s:I, s:o}", "count",
                             (json_int_t)json_array_size(out), "requests",
                             out));
}

static enum MHD_Result control_scenario(struct server *s,
                                        struct MHD_Connection *conn,
                                        struct request *rq)
{
  struct scenario *sc = NULL, *old;
  struct oauth *oa = NULL, *old_oa;
  struct integ_error err;
  json_error_t jerr;
  const char *file;
  json_t *doc;
  size_t n;
  char msg[INTEG_ERROR_MAX + 64];

  file = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "file");
  err.message[0] = '\0';
  if (file) {
    if (scenario_load_file(file, s->seed, &sc, &err))
      return send_error(s, conn, 400, err.message);
  } else {
    doc = json_loadb((const char *)rq->body, rq->len, JSON_REJECT_DUPLICATES,
                     &jerr);
    if (!doc) {
      snprintf(msg, sizeof(msg), "scenario body: %d:%d: %s", jerr.line,
               jerr.column, jerr.text);
      return send_error(s, conn, 400, msg);
    }
    if (scenario_load(doc, NULL, s->seed, &sc, &err)) {
      json_decref(doc);
      return send_error(s, conn, 400, err.message);
    }
    json_decref(doc);
  }
  scenario_set_round(sc, (size_t)s->round);
  if (oauth_load(json_object_get(scenario_doc(sc), "oauth2"), &oa, &err)) {
    scenario_free(sc);
    return send_error(s, conn, 400, err.message);
  }
  pthread_mutex_lock(&s->lock);
  old = s->sc;
  s->sc = sc;
  old_oa = s->oauth;
  s->oauth = oa;
  n = scenario_route_count(sc);
  pthread_mutex_unlock(&s->lock);
  scenario_free(old);
  oauth_free(old_oa);
  return send_json(s, conn, 200,
                   json_pack("{s:b, s:I}", "ok", 1, "routes", (json_int_t)n));
}

static enum MHD_Result control_fail(struct server *s,
                                    struct MHD_Connection *conn)
{
  const char *route, *method, *retry;
  uint64_t count, status;
  int rc;

  route = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "route");
  method = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "method");
  retry =
      MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "retry_after");
  if (!route || !*route)
    return send_error(s, conn, 400,
                      "route: required, a path such as /items, a route "
                      "pattern such as /users/{id}, or *");
  if (query_size(conn, "count", 1, 1000000, &count))
    return send_error(s, conn, 400, "count: expected a number");
  if (query_size(conn, "status", 503, 599, &status) || status < 100)
    return send_error(s, conn, 400,
                      "status: expected an HTTP status from 100 to 599");
  pthread_mutex_lock(&s->lock);
  rc = scenario_inject_failure(s->sc, route, method && *method ? method : NULL,
                               (size_t)count, (int)status, retry);
  pthread_mutex_unlock(&s->lock);
  if (rc)
    return MHD_NO;
  return send_json(s, conn, 200, json_pack("{s:b}", "ok", 1));
}

static enum MHD_Result control(struct server *s, struct MHD_Connection *conn,
                               struct request *rq, const char *url,
                               const char *method)
{
  const char *what = url + strlen(CONTROL_PREFIX);
  int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
  json_t *doc;

  if (strcmp(what, "log") == 0 && get)
    return control_log(s, conn);
  if (strcmp(what, "reset") == 0 && post) {
    pthread_mutex_lock(&s->lock);
    scenario_reset(s->sc);
    oauth_reset(s->oauth);
    json_array_clear(s->log);
    s->next_seq = 0;
    pthread_mutex_unlock(&s->lock);
    return send_json(s, conn, 200, json_pack("{s:b}", "ok", 1));
  }
  if (strcmp(what, "scenario") == 0 && post)
    return control_scenario(s, conn, rq);
  if (strcmp(what, "scenario") == 0 && get) {
    pthread_mutex_lock(&s->lock);
    doc = json_deep_copy(scenario_doc(s->sc));
    pthread_mutex_unlock(&s->lock);
    return send_json(s, conn, 200, doc);
  }
  if (strcmp(what, "fail") == 0 && post)
    return control_fail(s, conn);
  if (strcmp(what, "health") == 0 && get)
    return send_json(s, conn, 200,
                     json_pack("{s:b, s:i, s:I}", "ok", 1, "port",
                               (int)s->port, "uptime_ms",
                               (json_int_t)server_time(s)));
  if (!strcmp(what, "log") || !strcmp(what, "reset") ||
      !strcmp(what, "scenario") || !strcmp(what, "fail") ||
      !strcmp(what, "health"))
    return send_error(s, conn, 405, "method not allowed on this endpoint");
  return send_error(s, conn, 404,
                    "unknown control endpoint (known: GET log, POST reset, "
                    "GET/POST scenario, POST fail, GET health)");
}

/* ------------------------------------------------------------ serving */

static enum MHD_Result serve(struct server *s, struct MHD_Connection *conn,
                             struct request *rq, const char *url,
                             const char *method, const char *version)
{
  struct scenario_request srq;
  struct reply r;
  const char *route = NULL;
  json_t *args = NULL, *entry = NULL;
  char *base = NULL;
  enum MHD_Result ret = MHD_NO;
  int rc;

  reply_init(&r);
  args = json_object();
  base = base_url(s, conn);
  if (!args || !base)
    goto out;
  MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, args);
  entry = log_entry(s, conn, rq, url, method, version, args);
  if (!entry)
    goto out;
  srq.method = method;
  srq.path = url;
  srq.args = args;
  srq.base_url = base;

  pthread_mutex_lock(&s->lock);
  if (rq->too_big)
    rc = reply_set_error(&r, 413, "request body too large for testapi");
  else if ((rc = oauth_respond(s->oauth, method, url, args,
                               json_object_get(entry, "headers"),
                               (const char *)rq->body, rq->len, &r)) == 1) {
    rc = 0;
    route = "oauth2";
  } else if (!rc)
    rc = scenario_respond(s->sc, &srq, &r, &route);
  if (!rc) {
    json_object_set_new(entry, "route",
                        route ? json_string(route) : json_null());
    json_object_set_new(entry, "status", json_integer(r.status));
    log_append(s, entry);
    entry = NULL;
  }
  pthread_mutex_unlock(&s->lock);
  if (rc)
    goto out;
  ret = send_reply(s, conn, &r);
out:
  json_decref(entry);
  json_decref(args);
  free(base);
  reply_clear(&r);
  return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
  struct server *s = cls;
  struct request *rq = *con_cls;
  unsigned char *nb;
  size_t cap;

  if (!rq)
    return MHD_NO; /* the URI callback failed: out of memory */
  if (!rq->started) {
    rq->started = 1;
    pthread_mutex_lock(&s->lock);
    s->active++;
    s->last_activity_ms = util_now_ms();
    pthread_mutex_unlock(&s->lock);
    return MHD_YES;
  }
  if (*upload_data_size) {
    if (rq->len + *upload_data_size > MAX_REQUEST_BODY) {
      rq->too_big = 1;
    } else {
      if (rq->len + *upload_data_size + 1 > rq->cap) {
        cap = (rq->len + *upload_data_size + 1) * 2;
        nb = realloc(rq->body, cap);
        if (!nb)
          return MHD_NO;
        rq->body = nb;
        rq->cap = cap;
      }
      memcpy(rq->body + rq->len, upload_data, *upload_data_size);
      rq->len += *upload_data_size;
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (strncmp(url, CONTROL_PREFIX, strlen(CONTROL_PREFIX)) == 0)
    return control(s, conn, rq, url, method);
  return serve(s, conn, rq, url, method, version);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
  struct server *s = cls;
  struct request *rq;

  (void)conn;
  rq = calloc(1, sizeof(*rq));
  if (!rq)
    return NULL;
  rq->srv = s;
  rq->uri = strdup(uri);
  rq->arrival_ms = util_now_ms();
  return rq;
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **con_cls, enum MHD_RequestTerminationCode toe)
{
  struct server *s = cls;
  struct request *rq = *con_cls;

  (void)conn;
  (void)toe;
  if (!rq)
    return;
  pthread_mutex_lock(&s->lock);
  if (rq->started)
    s->active--;
  s->last_activity_ms = util_now_ms();
  pthread_mutex_unlock(&s->lock);
  free(rq->uri);
  free(rq->body);
  free(rq);
  *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
  struct server *s = cls;

  (void)conn;
  if (toe != MHD_CONNECTION_NOTIFY_STARTED)
    return;
  pthread_mutex_lock(&s->lock);
  *socket_context = (void *)(uintptr_t)++s->next_conn;
  s->last_activity_ms = util_now_ms();
  pthread_mutex_unlock(&s->lock);
}

/* --------------------------------------------------------------- main */

static void usage(FILE *f)
{
  fputs("usage: testapi [--port N] [--scenario FILE] [--idle-exit SECONDS]\n"
        "               [--log FILE] [--seed N] [--round N]\n"
        "Serve a scripted HTTP API on 127.0.0.1 for tests. Prints \"port N\"\n"
        "when ready. --port 0 (the default) picks a free port;\n"
        "--idle-exit 0 never exits on idle (default 60 s). --round N\n"
        "serves collections with \"rounds\" as after N rounds of changes.\n"
        "Control\n"
        "endpoints: GET /_testapi/log, POST /_testapi/reset,\n"
        "POST /_testapi/scenario[?file=F], POST /_testapi/fail?route=R\n"
        "[&count=N][&status=S][&method=M][&retry_after=T],\n"
        "GET /_testapi/health.\n",
        f);
}

struct options {
  uint64_t port;
  uint64_t idle_s;
  uint64_t seed;
  uint64_t round;
  const char *scenario;
  const char *log;
};

static int parse_options(int argc, char **argv, struct options *o)
{
  static const struct option longopts[] = {
      {"port", required_argument, NULL, 'p'},
      {"scenario", required_argument, NULL, 's'},
      {"idle-exit", required_argument, NULL, 'i'},
      {"log", required_argument, NULL, 'l'},
      {"seed", required_argument, NULL, 'S'},
      {"round", required_argument, NULL, 'r'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  int c;

  memset(o, 0, sizeof(*o));
  o->idle_s = 60;
  o->seed = 1;
  while ((c = getopt_long(argc, argv, "p:s:i:l:S:r:h", longopts, NULL)) !=
         -1) {
    switch (c) {
    case 'p':
      if (util_parse_size(optarg, 65535, &o->port)) {
        fprintf(stderr, "testapi: --port: expected 0 to 65535, got %s\n",
                optarg);
        return 2;
      }
      break;
    case 's':
      o->scenario = optarg;
      break;
    case 'i':
      if (util_parse_size(optarg, 86400 * 365, &o->idle_s)) {
        fprintf(stderr, "testapi: --idle-exit: expected seconds, got %s\n",
                optarg);
        return 2;
      }
      break;
    case 'l':
      o->log = optarg;
      break;
    case 'S':
      if (util_parse_size(optarg, INT64_MAX, &o->seed)) {
        fprintf(stderr, "testapi: --seed: expected a number, got %s\n",
                optarg);
        return 2;
      }
      break;
    case 'r':
      if (util_parse_size(optarg, 10000, &o->round)) {
        fprintf(stderr,
                "testapi: --round: expected a number from 0 to 10000, "
                "got %s\n",
                optarg);
        return 2;
      }
      break;
    case 'h':
      usage(stdout);
      return 1;
    default:
      usage(stderr);
      return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "testapi: unexpected argument %s\n", argv[optind]);
    usage(stderr);
    return 2;
  }
  return 0;
}

/* Wait for SIGTERM/SIGINT (blocked in every thread) or the idle time. */
static void wait_for_end(struct server *s, uint64_t idle_s)
{
  struct timespec ts = {0, 200 * 1000000L};
  sigset_t set;
  uint64_t idle_ms;
  int sig, idle;

  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  for (;;) {
    sig = sigtimedwait(&set, NULL, &ts);
    if (sig == SIGTERM || sig == SIGINT)
      return;
    if (!idle_s)
      continue;
    pthread_mutex_lock(&s->lock);
    idle_ms = util_now_ms() - s->last_activity_ms;
    idle = s->active == 0 && idle_ms >= idle_s * 1000;
    pthread_mutex_unlock(&s->lock);
    if (idle) {
      fprintf(stderr, "testapi: idle for %" PRIu64 " s, exiting\n", idle_s);
      return;
    }
  }
}

int main(int argc, char **argv)
{
  struct server s;
  struct options o;
  struct sockaddr_in sin;
  struct integ_error err;
  pthread_condattr_t ca;
  const union MHD_DaemonInfo *di;
  sigset_t set;
  int rc;

  rc = parse_options(argc, argv, &o);
  if (rc)
    return rc == 1 ? 0 : rc;

  memset(&s, 0, sizeof(s));
  pthread_mutex_init(&s.lock, NULL);
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&s.wake, &ca);
  pthread_condattr_destroy(&ca);
  s.start_ms = util_now_ms();
  s.last_activity_ms = s.start_ms;
  s.seed = o.seed;
  s.round = o.round;
  rc = 1;
  s.log = json_array();
  if (!s.log)
    goto out;
  err.message[0] = '\0';
  if (o.scenario ? scenario_load_file(o.scenario, o.seed, &s.sc, &err)
                 : scenario_empty(&s.sc, &err)) {
    fprintf(stderr, "testapi: %s\n", err.message);
    rc = 2;
    goto out;
  }
  if (oauth_load(json_object_get(scenario_doc(s.sc), "oauth2"), &s.oauth,
                 &err)) {
    fprintf(stderr, "testapi: %s\n", err.message);
    rc = 2;
    goto out;
  }
  scenario_set_round(s.sc, (size_t)s.round);
  if (o.log) {
    s.log_file = fopen(o.log, "a");
    if (!s.log_file) {
      fprintf(stderr, "testapi: --log %s: %s\n", o.log, strerror(errno));
      rc = 2;
      goto out;
    }
  }

  /* Threads inherit the mask: only wait_for_end sees these signals. */
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);

  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_port = htons((uint16_t)o.port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* never anything else */
  s.daemon = MHD_start_daemon(
      MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
          MHD_USE_POLL | MHD_USE_ERROR_LOG,
      (uint16_t)o.port, NULL, NULL, on_request, &s, MHD_OPTION_SOCK_ADDR,
      (struct sockaddr *)&sin, MHD_OPTION_URI_LOG_CALLBACK, on_uri, &s,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, &s,
      MHD_OPTION_NOTIFY_CONNECTION, on_connection, &s,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned int)1000,
      MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1, MHD_OPTION_END);
  if (!s.daemon) {
    fprintf(stderr, "testapi: cannot listen on 127.0.0.1:%" PRIu64 "\n",
            o.port);
    goto out;
  }
  di = MHD_get_daemon_info(s.daemon, MHD_DAEMON_INFO_BIND_PORT);
  s.port = di ? di->port : (uint16_t)o.port;
  printf("port %u\n", (unsigned)s.port);
  fflush(stdout);

  wait_for_end(&s, o.idle_s);

  pthread_mutex_lock(&s.lock);
  s.stopping = 1;
  pthread_cond_broadcast(&s.wake);
  pthread_mutex_unlock(&s.lock);
  MHD_stop_daemon(s.daemon);
  rc = 0;
out:
  scenario_free(s.sc);
  oauth_free(s.oauth);
  json_decref(s.log);
  if (s.log_file)
    fclose(s.log_file);
  pthread_cond_destroy(&s.wake);
  pthread_mutex_destroy(&s.lock);
  return rc;
}
