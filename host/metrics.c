/* metrics.c - Prometheus text for the daemon's runs. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "buf.h"
#include "error.h"
#include "metrics.h"
#include "netaddr.h"

/* Upper bounds (s) of the run duration histogram's buckets. */
static const double duration_bounds[] = {0.1, 0.5, 1,   5,    10,
                                         30,  60,  300, 1800, 3600};
#define N_BOUNDS (sizeof(duration_bounds) / sizeof(duration_bounds[0]))

static const char *const classes[] = {"2xx", "3xx", "4xx", "5xx", "none"};
#define N_CLASSES (sizeof(classes) / sizeof(classes[0]))

static const char *const outcomes[] = {"accepted", "duplicate", "refused",
                                       "unavailable"};
#define N_OUTCOMES (sizeof(outcomes) / sizeof(outcomes[0]))

struct series {
  char *connector;
  uint64_t runs, failures, records, retries, rate_waits, token_refreshes;
  uint64_t http[N_CLASSES];
  uint64_t webhooks[N_OUTCOMES]; /* deliveries by outcome */
  uint64_t buckets[N_BOUNDS];    /* cumulative at render time, not here */
  uint64_t count;
  double sum;
};

struct metrics {
  pthread_mutex_t lock;
  struct series *s;
  size_t n;
  struct MHD_Daemon *mhd;
};

int metrics_new(struct metrics **out)
{
  struct metrics *m = calloc(1, sizeof(*m));

  *out = NULL;
  if (!m)
    return INTEG_ENOMEM;
  pthread_mutex_init(&m->lock, NULL);
  *out = m;
  return 0;
}

void metrics_free(struct metrics *m)
{
  if (!m)
    return;
  if (m->mhd)
    MHD_stop_daemon(m->mhd);
  for (size_t i = 0; i < m->n; i++)
    free(m->s[i].connector);
  free(m->s);
  pthread_mutex_destroy(&m->lock);
  free(m);
}

static uint64_t get_u(json_t *o, const char *k)
{
  json_t *v = json_object_get(o, k);

  return json_is_integer(v) && json_integer_value(v) > 0
             ? (uint64_t)json_integer_value(v)
             : 0;
}

/* The series of connector, made when missing (m->lock held); NULL when
 * out of memory. */
static struct series *series_of(struct metrics *m, const char *connector)
{
  struct series *grown, *s;
  char *name;

  for (size_t i = 0; i < m->n; i++)
    if (strcmp(m->s[i].connector, connector) == 0)
      return &m->s[i];
  grown = realloc(m->s, (m->n + 1) * sizeof(*m->s));
  if (grown)
    m->s = grown;
  name = grown ? strdup(connector) : NULL;
  if (!name)
    return NULL;
  s = &m->s[m->n++];
  memset(s, 0, sizeof(*s));
  s->connector = name;
  return s;
}

void metrics_webhook(void *arg, const char *connector, const char *outcome)
{
  struct metrics *m = arg;
  struct series *s;

  pthread_mutex_lock(&m->lock);
  s = series_of(m, connector);
  for (size_t i = 0; s && i < N_OUTCOMES; i++)
    if (strcmp(outcome, outcomes[i]) == 0)
      s->webhooks[i]++;
  pthread_mutex_unlock(&m->lock);
}

int metrics_run(struct metrics *m, const char *connector, const char *status,
                double seconds, json_t *stats)
{
  struct series *s;
  json_t *v;
  const char *k;
  int rc = 0;

  pthread_mutex_lock(&m->lock);
  s = series_of(m, connector);
  if (!s) {
    rc = INTEG_ENOMEM;
    goto out;
  }
  s->runs++;
  if (strcmp(status, "ok") != 0)
    s->failures++;
  json_object_foreach(json_object_get(stats, "streams"), k, v) s->records +=
      json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
  for (size_t i = 0; i < N_CLASSES; i++)
    s->http[i] += get_u(json_object_get(stats, "http"), classes[i]);
  s->retries += get_u(stats, "retries");
  s->rate_waits += get_u(stats, "rate_limit_waits");
  s->token_refreshes += get_u(stats, "token_refreshes");
  for (size_t i = 0; i < N_BOUNDS; i++)
    if (seconds <= duration_bounds[i]) {
      s->buckets[i]++;
      break;
    }
  s->count++;
  s->sum += seconds;
out:
  pthread_mutex_unlock(&m->lock);
  return rc;
}

/* One counter family: HELP, TYPE and a sample per connector. */
static int family(struct buf *b, struct metrics *m, const char *name,
                  const char *help, size_t offset)
{
  int rc =
      buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);

  for (size_t i = 0; i < m->n && !rc; i++)
    rc = buf_printf(b, "%s{connector=\"%s\"} %llu\n", name, m->s[i].connector,
                    (unsigned long long)*(
                        const uint64_t *)((const char *)&m->s[i] + offset));
  return rc;
}

int metrics_render(struct metrics *m, char **out, size_t *len)
{
  struct buf b = BUF_INIT;
  int rc;

  *out = NULL;
  pthread_mutex_lock(&m->lock);
  rc = family(&b, m, "integ_runs_total", "Runs that ended.",
              offsetof(struct series, runs));
  if (!rc)
    rc = family(&b, m, "integ_run_failures_total",
                "Runs that did not end ok (failed, interrupted, killed).",
                offsetof(struct series, failures));
  if (!rc)
    rc = family(&b, m, "integ_records_total", "Records written by runs.",
                offsetof(struct series, records));
  if (!rc)
    rc = family(&b, m, "integ_http_retries_total",
                "HTTP requests sent again after a failure.",
                offsetof(struct series, retries));
  if (!rc)
    rc = family(&b, m, "integ_rate_limit_waits_total",
                "Waits for a rate limit or a server's quota.",
                offsetof(struct series, rate_waits));
  if (!rc)
    rc = family(&b, m, "integ_token_refreshes_total",
                "OAuth2 access tokens refreshed.",
                offsetof(struct series, token_refreshes));
  if (!rc)
    rc = buf_printf(&b, "# HELP integ_http_requests_total HTTP responses by "
                        "status class (none: no response).\n"
                        "# TYPE integ_http_requests_total counter\n");
  for (size_t i = 0; i < m->n && !rc; i++)
    for (size_t c = 0; c < N_CLASSES && !rc; c++)
      rc = buf_printf(&b,
                      "integ_http_requests_total{connector=\"%s\","
                      "class=\"%s\"} %llu\n",
                      m->s[i].connector, classes[c],
                      (unsigned long long)m->s[i].http[c]);
  if (!rc)
    rc = buf_printf(&b, "# HELP integ_webhook_deliveries_total Webhook "
                        "deliveries received, by outcome.\n"
                        "# TYPE integ_webhook_deliveries_total counter\n");
  for (size_t i = 0; i < m->n && !rc; i++)
    for (size_t o = 0; o < N_OUTCOMES && !rc; o++)
      rc = buf_printf(&b,
                      "integ_webhook_deliveries_total{connector=\"%s\","
                      "outcome=\"%s\"} %llu\n",
                      m->s[i].connector, outcomes[o],
                      (unsigned long long)m->s[i].webhooks[o]);
  if (!rc)
    rc = buf_printf(&b, "# HELP integ_run_duration_seconds How long runs "
                        "took.\n"
                        "# TYPE integ_run_duration_seconds histogram\n");
  for (size_t i = 0; i < m->n && !rc; i++) {
    uint64_t cum = 0;

    for (size_t k = 0; k < N_BOUNDS && !rc; k++) {
      cum += m->s[i].buckets[k];
      rc = buf_printf(&b,
                      "integ_run_duration_seconds_bucket{connector=\"%s\","
                      "le=\"%g\"} %llu\n",
                      m->s[i].connector, duration_bounds[k],
                      (unsigned long long)cum);
    }
    if (!rc)
      rc = buf_printf(&b,
                      "integ_run_duration_seconds_bucket{connector=\"%s\","
                      "le=\"+Inf\"} %llu\n"
                      "integ_run_duration_seconds_sum{connector=\"%s\"} "
                      "%.3f\n"
                      "integ_run_duration_seconds_count{connector=\"%s\"} "
                      "%llu\n",
                      m->s[i].connector, (unsigned long long)m->s[i].count,
                      m->s[i].connector, m->s[i].sum, m->s[i].connector,
                      (unsigned long long)m->s[i].count);
  }
  pthread_mutex_unlock(&m->lock);
  if (rc) {
    buf_free(&b);
    return INTEG_ENOMEM;
  }
  *len = b.len;
  *out = b.data; /* ownership passes to the caller */
  return *out ? 0 : INTEG_ENOMEM;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *data,
                                  size_t *data_size, void **con_cls)
{
  struct metrics *m = cls;
  struct MHD_Response *r;
  enum MHD_Result ret;
  char *text = NULL;
  size_t len = 0;
  unsigned status = MHD_HTTP_OK;

  (void)version, (void)data, (void)data_size, (void)con_cls;
  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
    status = MHD_HTTP_METHOD_NOT_ALLOWED;
  } else if (strcmp(url, "/metrics") != 0) {
    status = MHD_HTTP_NOT_FOUND;
  } else if (metrics_render(m, &text, &len)) {
    status = MHD_HTTP_INTERNAL_SERVER_ERROR;
  }
  if (status != MHD_HTTP_OK) {
    static char msg[] = "integ: GET /metrics\n";

    r = MHD_create_response_from_buffer(strlen(msg), msg,
                                        MHD_RESPMEM_PERSISTENT);
  } else {
    r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
  }
  if (!r) {
    free(text);
    return MHD_NO;
  }
  MHD_add_response_header(r, "Content-Type",
                          "text/plain; version=0.0.4; charset=utf-8");
  ret = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return ret;
}

int metrics_serve(struct metrics *m, const char *listen,
                  struct integ_error *err)
{
  struct sockaddr_storage ss;
  long port = 0;
  int rc =
      netaddr_parse_listen("metrics.listen", "9464", listen, &ss, &port, err);

  if (rc)
    return rc;
  m->mhd = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
          (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
      (uint16_t)port, NULL, NULL, on_request, m, MHD_OPTION_SOCK_ADDR,
      (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, 16U,
      MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_END);
  if (!m->mhd)
    return error_set(err, INTEG_ECONFIG,
                     "metrics.listen: cannot listen on %s (in use, or not "
                     "an address of this host?)",
                     listen);
  return 0;
}
