/* run.c - run one plugin instance and serve its calls to the host. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cursor.h"
#include "definition.h"
#include "auth.h"
#include "error.h"
#include "jscan.h"
#include "jsonw.h"
#include "jsonpath.h"
#include "log.h"
#include "progress.h"
#include "run.h"
#include "secrets.h"
#include "template.h"
#include "duration.h"
#include "manifest.h"
#include "stop.h"
#include "store.h"

/* The plugin's opaque handles (integ_request, integ_response,
 * integ_jsonpath) are the host's own http_request, http_response and
 * jsonpath, cast at this boundary only. */

/* Compiled record and field paths of emit_batch, kept for the run: a
 * connector asks the same few queries on every page. */
struct path_cache {
  char *query;
  struct jsonpath *jp;
  struct path_cache *next;
};

/* The page scanner compiled for one (records, fields) pair of
 * emit_batch; js NULL when the scanner does not handle those paths (the
 * slow path serves them). */
struct scan_cache {
  char *records;
  json_t *fields; /* a copy, NULL for none */
  struct jscan *js;
  struct scan_cache *next;
};

/* One per plugin instance; the plugin sees it as an opaque integ_ctx. */
struct integ_ctx {
  const struct plugin *pl;
  const struct run_opts *o;
  struct run_stats *stats;
  struct http_client *http;
  struct path_cache *paths;
  struct scan_cache *scans;
  struct output *out;
  struct progress *progress; /* NULL unless stderr is a TTY */
  /* The response of the last emit_batch that failed with one, for
   * http_detail(ctx, NULL); owned, freed by the next emit_batch. */
  struct http_response *batch_failed;
  int loading;           /* inside the plugin's load */
  struct auth *declared; /* what auth_declare made; owned */
  json_t *declared_cfg;  /* its mapping (the auth borrows from it) */
};

/* n more records written for stream: the run's totals, the progress
 * line and the records per stream of the run history. */
static int count_records(integ_ctx *ctx, const char *stream, size_t n,
                         struct integ_error *err)
{
  struct run_stats *st = ctx->stats;
  json_t *v;

  if (!n)
    return 0;
  st->records += n;
  for (size_t i = 0; ctx->progress && i < n; i++)
    progress_record(ctx->progress, stream);
  if (!st->streams && !(st->streams = json_object()))
    return error_set(err, INTEG_ENOMEM, "out of memory");
  v = json_object_get(st->streams, stream);
  if (v ? json_integer_set(v, json_integer_value(v) + (json_int_t)n)
        : json_object_set_new(st->streams, stream,
                              json_integer((json_int_t)n)))
    return error_set(err, INTEG_ENOMEM, "out of memory");
  return 0;
}

static int host_emit_record(integ_ctx *ctx, const char *stream, json_t *record,
                            struct integ_error *err)
{
  int rc;

  if (!stream || !*stream)
    return error_set(err, INTEG_EINVAL,
                     "plugin %s: emit_record called without a stream name",
                     ctx->pl->vt->name);
  if (!json_is_object(record))
    return error_set(err, INTEG_EINVAL,
                     "plugin %s: emit_record: record for stream '%s' is "
                     "not a JSON object",
                     ctx->pl->vt->name, stream);
  if (!ctx->out)
    return error_set(err, INTEG_EPLUGIN,
                     "plugin %s: emit_record called outside run()",
                     ctx->pl->vt->name);
  /* A stop (SIGTERM, SIGINT) is honoured here: the plugin returns with
   * this error and the output commits what is durable. */
  if (stop_requested())
    return error_set(err, INTEG_EINTR, "stopped by signal %d",
                     stop_requested());
  rc = output_record(ctx->out, stream, record, err);
  if (!rc)
    rc = count_records(ctx, stream, 1, err);
  return rc;
}

static int host_emit_state(integ_ctx *ctx, json_t *state,
                           struct integ_error *err)
{
  json_t *copy;
  int rc;

  if (!json_is_object(state))
    return error_set(err, INTEG_EINVAL,
                     "plugin %s: emit_state: state is not a JSON object",
                     ctx->pl->vt->name);
  if (!ctx->out)
    return error_set(err, INTEG_EPLUGIN,
                     "plugin %s: emit_state called outside run()",
                     ctx->pl->vt->name);
  /* Copied first: a state written but not kept would be lost from the
   * run's summary (and the tap's final STATE). */
  copy = json_deep_copy(state);
  if (!copy)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  rc = output_state(ctx->out, state, err);
  if (rc) {
    json_decref(copy);
    return rc;
  }
  json_decref(ctx->stats->state);
  ctx->stats->state = copy;
  ctx->stats->states++;
  return 0;
}

static void host_log(integ_ctx *ctx, enum integ_log_level level,
                     const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  log_msgv(level, ctx->o->tag, fmt, ap);
  va_end(ap);
}

/* ------------------------------------------------------------- HTTP */

static struct http_request *req_of(integ_request *r)
{
  return (struct http_request *)(void *)r;
}

/* An HTTP method is a token (RFC 9110): letters, digits and !#$%&'*+-.^_`|~ */
static int is_token(const char *s)
{
  if (!s || !*s)
    return 0;
  for (; *s; s++)
    if (*s <= ' ' || *s >= 127 || strchr("\"(),/:;<=>?@[\\]{}", *s))
      return 0;
  return 1;
}

static integ_request *host_request_new(integ_ctx *ctx, const char *method,
                                       const char *url, unsigned flags,
                                       struct integ_error *err)
{
  struct http_request *r;
  unsigned f = 0;

  if (!is_token(method)) {
    error_set(err, INTEG_EINVAL,
              "plugin %s: request_new: '%s' is not an HTTP method",
              ctx->pl->vt->name, method ? method : "(null)");
    return NULL;
  }
  if (!url || (strncasecmp(url, "http://", 7) != 0 &&
               strncasecmp(url, "https://", 8) != 0)) {
    /* The scheme only: a URL may carry a secret. */
    error_set(err, INTEG_EINVAL,
              "plugin %s: request_new: the URL must be absolute, http:// "
              "or https://, not '%.*s...'",
              ctx->pl->vt->name, url ? (int)strcspn(url, ":/?") : 6,
              url ? url : "(null)");
    return NULL;
  }
  if (flags & INTEG_REQ_POST_SAFE)
    f |= HTTP_REQ_POST_SAFE;
  if (flags & INTEG_REQ_EXPECT_JSON)
    f |= HTTP_REQ_EXPECT_JSON;
  r = http_request_new(method, url, f);
  if (!r)
    error_set(err, INTEG_ENOMEM, "out of memory");
  return (integ_request *)(void *)r;
}

static int host_request_query(integ_request *req, const char *name,
                              const char *value)
{
  if (!req || !name || !*name)
    return INTEG_EINVAL;
  return http_request_query(req_of(req), name, value);
}

/* A header name is a token; a value may not end the header line early. */
static int host_request_header(integ_request *req, const char *name,
                               const char *value)
{
  if (!req || !is_token(name) || !value || strpbrk(value, "\r\n"))
    return INTEG_EINVAL;
  return http_request_header(req_of(req), name, value);
}

static int host_request_body_json(integ_request *req, json_t *body)
{
  if (!req || !body)
    return INTEG_EINVAL;
  return http_request_body_json(req_of(req), body);
}

static int host_request_body_form(integ_request *req, const char *name,
                                  const char *value)
{
  if (!req || !name)
    return INTEG_EINVAL;
  return http_request_body_form(req_of(req), name, value);
}

static void host_request_free(integ_request *req)
{
  http_request_free(req_of(req));
}

static int host_http_do(integ_ctx *ctx, integ_request *req,
                        integ_response **resp, struct integ_error *err)
{
  struct http_response *r = NULL;
  int rc = http_do(ctx->http, req_of(req), &r, err);

  if (!rc)
    progress_page(ctx->progress);
  *resp = (integ_response *)(void *)r;
  return rc;
}

static struct http_response *resp_of(const integ_response *r)
{
  return (struct http_response *)(void *)r;
}

static long host_response_status(const integ_response *resp)
{
  return resp ? resp_of(resp)->status : 0;
}

static const char *host_response_header(const integ_response *resp,
                                        const char *name)
{
  return resp ? http_response_header(resp_of(resp), name) : NULL;
}

static const char *host_response_body(const integ_response *resp, size_t *len)
{
  const struct http_response *r = resp_of(resp);

  *len = r ? r->body.len : 0;
  return r && r->body.data ? r->body.data : "";
}

static json_t *host_response_json(integ_response *resp,
                                  struct integ_error *err)
{
  if (!resp) {
    error_set(err, INTEG_EINVAL, "response_json: no response");
    return NULL;
  }
  return http_response_json(resp_of(resp), err);
}

static const char *host_response_category(const integ_response *resp)
{
  return http_category_name(resp ? resp_of(resp)->category : HTTP_TRANSPORT);
}

static void host_response_free(integ_response *resp)
{
  http_response_free(resp_of(resp));
}

static int host_http_detail(integ_ctx *ctx, const integ_response *resp,
                            struct integ_http_detail *d)
{
  const struct http_response *r = resp ? resp_of(resp) : ctx->batch_failed;

  if (!d || d->size < offsetof(struct integ_http_detail, request_id) +
                          sizeof(d->request_id))
    return INTEG_EINVAL;
  if (!r)
    return INTEG_ENOTFOUND;
  d->status = r->status;
  d->retryable = r->retryable;
  d->attempts = (long)r->attempts;
  d->retry_after_ms = r->retry_after_ms >= 0 && r->retry_after_ms <= LONG_MAX
                          ? (long)r->retry_after_ms
                          : -1;
  d->category = http_category_name(r->category);
  d->url = r->url;
  d->provider_code = r->provider_code;
  d->provider_message = r->provider_message;
  d->request_id = r->request_id;
  return 0;
}

/* ---------------------------------------------------------- JSONPath */

static integ_jsonpath *host_jsonpath_compile(integ_ctx *ctx, const char *q,
                                             size_t len,
                                             struct integ_error *err)
{
  struct jsonpath *jp;

  (void)ctx;
  if (jsonpath_compile(q, len, &jp, err))
    return NULL;
  return (integ_jsonpath *)(void *)jp;
}

static json_t *host_jsonpath_query(const integ_jsonpath *jp, json_t *doc,
                                   struct integ_error *err)
{
  struct jsonpath_nodes nodes = {0, NULL, NULL};
  json_t *out;

  if (jsonpath_eval((const struct jsonpath *)(const void *)jp, doc, 0, &nodes,
                    err))
    return NULL;
  out = json_array();
  for (size_t i = 0; out && i < nodes.n; i++)
    if (json_array_append(out, nodes.values[i])) {
      json_decref(out);
      out = NULL;
    }
  jsonpath_nodes_free(&nodes);
  if (!out)
    error_set(err, INTEG_ENOMEM, "out of memory");
  return out;
}

static void host_jsonpath_free(integ_jsonpath *jp)
{
  jsonpath_free((struct jsonpath *)(void *)jp);
}

/* --------------------------------------------------------- emit_batch */

/* The compiled query, from the cache or compiled now into *jp
 * (borrowed from the cache). */
static int cached_path(integ_ctx *ctx, const char *query, struct jsonpath **jp,
                       struct integ_error *err)
{
  struct path_cache *p;
  int rc;

  *jp = NULL;
  for (p = ctx->paths; p; p = p->next)
    if (strcmp(p->query, query) == 0) {
      *jp = p->jp;
      return 0;
    }
  p = calloc(1, sizeof(*p));
  if (!p || !(p->query = strdup(query))) {
    free(p);
    return error_set(err, INTEG_ENOMEM, "out of memory");
  }
  rc = jsonpath_compile(query, strlen(query), &p->jp, err);
  if (rc) {
    error_prefix(err, "plugin %s: JSONPath '%s'", ctx->pl->vt->name, query);
    free(p->query);
    free(p);
    return rc;
  }
  p->next = ctx->paths;
  ctx->paths = p;
  *jp = p->jp;
  return 0;
}

/* The target of Link: <URL>; rel="next" (RFC 8288) into *next (a new
 * string), or NULL when there is none. Returns 0 or INTEG_ENOMEM. */
static int link_next(const char *link, char **next)
{
  const char *p = link;

  *next = NULL;
  while (p && *p) {
    const char *lt = strchr(p, '<'), *gt, *end;

    if (!lt || !(gt = strchr(lt, '>')))
      return 0;
    end = gt + strcspn(gt, ",");
    /* Parameters between '>' and the next ',' (URLs may hold commas, but
     * not between '>' and their own parameters). */
    for (const char *q = gt; q < end; q++)
      if (strncasecmp(q, "rel=", 4) == 0) {
        const char *v = q + 4 + (q[4] == '"');
        size_t n = strcspn(v, "\" ;,");

        /* rel may hold several space-separated relation types. */
        while (v < end) {
          if (n == 4 && strncasecmp(v, "next", 4) == 0) {
            *next = strndup(lt + 1, (size_t)(gt - lt - 1));
            return *next ? 0 : INTEG_ENOMEM;
          }
          if (v[n] != ' ')
            break;
          v += n + 1;
          n = strcspn(v, "\" ;,");
        }
      }
    p = *end ? end + 1 : NULL;
  }
  return 0;
}

/* The value of one emit_batch field of doc, into got[name]: a singular
 * query gives its value or null, any other an array of all its values. */
static int batch_field(integ_ctx *ctx, json_t *doc, const char *name,
                       json_t *q, json_t *got, struct integ_error *err)
{
  struct jsonpath_nodes f = {0, NULL, NULL};
  struct jsonpath *fp;
  json_t *v = NULL;
  int rc;

  if (!json_is_string(q))
    return error_set(err, INTEG_EINVAL,
                     "plugin %s: emit_batch: field '%s' is not a JSONPath "
                     "string",
                     ctx->pl->vt->name, name);
  rc = cached_path(ctx, json_string_value(q), &fp, err);
  if (rc)
    return rc;
  rc = jsonpath_eval(fp, doc, 0, &f, err);
  if (rc)
    goto out;
  if (jsonpath_is_singular(fp)) {
    v = json_incref(f.n ? f.values[0] : json_null());
  } else {
    v = json_array();
    for (size_t k = 0; v && k < f.n; k++)
      if (json_array_append(v, f.values[k])) {
        json_decref(v);
        v = NULL;
      }
  }
  /* A field that is asked for is always in the answer: a lost next-page
   * cursor would end pagination early and look like success. */
  if (!v || json_object_set_new(got, name, v))
    rc = error_set(err, INTEG_ENOMEM,
                   "out of memory keeping emit_batch field '%s'", name);
out:
  jsonpath_nodes_free(&f);
  return rc;
}

/* The scanner for (records, fields), from the cache or compiled now;
 * *js NULL (and 0) when the slow path must serve them: INTEG_SLOW_PATH is
 * set (tests compare both paths), the paths have shapes the scanner does
 * not handle, or are wrong (the slow path says how). */
static int cached_scan(integ_ctx *ctx, const char *records, json_t *fields,
                       struct jscan **js, struct integ_error *err)
{
  struct scan_cache *c;
  struct integ_error ignored = {0};
  int rc;

  *js = NULL;
  if (getenv("INTEG_SLOW_PATH"))
    return 0;
  for (c = ctx->scans; c; c = c->next)
    if (strcmp(c->records, records) == 0 &&
        (c->fields ? fields && json_equal(c->fields, fields) : !fields)) {
      *js = c->js;
      return 0;
    }
  c = calloc(1, sizeof(*c));
  if (!c || !(c->records = strdup(records)) ||
      (fields && !(c->fields = json_deep_copy(fields)))) {
    if (c)
      free(c->records);
    free(c);
    return error_set(err, INTEG_ENOMEM, "out of memory");
  }
  rc = jscan_new(records, fields, &c->js, &ignored);
  if (rc == INTEG_ENOMEM) {
    json_decref(c->fields);
    free(c->records);
    free(c);
    return error_set(err, rc, "out of memory");
  }
  if (rc)
    c->js = NULL;
  c->next = ctx->scans;
  ctx->scans = c;
  *js = c->js;
  return 0;
}

/* Does a plugin's fields object use a name that means something to the
 * scanner (a span field, JSCAN_SPAN)? Such pages take the slow path,
 * which treats every name alike. */
static int internal_names(json_t *fields)
{
  const char *name;
  json_t *q;

  json_object_foreach(fields, name, q)
  {
    if (name[0] == JSCAN_SPAN[0])
      return 1;
  }
  return 0;
}

/* A page on the scanner's path, as http_do's body reader sees it: the
 * scanner writes each record's bytes as they come (emit_batch), and for
 * emit_mapped a record hook hands the cursor and the mapping, per record,
 * the bytes of the values they read (span fields). The cursor observes
 * each record (a repeat at the boundary is taken back out) and moves only
 * once the page is written; a mapping writes each record anew from its
 * values' bytes, re-encoded already (casts through json_t). Slots: the
 * cursor's value (0) and keys (1..npk), then the mapping's fields. */
struct map_field {
  const char *name, *path, *cast; /* borrowed from o->fields; cast NULL:
                                     the value as it is */
  size_t slot;
  size_t enc, enc_len; /* "name": as written, in page_scan.names */
};

struct page_scan {
  integ_ctx *ctx;
  const char *stream;
  struct jscan *js;     /* NULL: the slow path */
  struct cursor *cur;   /* NULL: no cursor */
  int mapped;           /* a mapping (else whole records) */
  struct map_field *mf; /* its nmf fields */
  size_t nmf;
  struct buf names; /* the mapping's names as written */
  unsigned flags;   /* jsonw flags of the output format */
  int empty_ok;     /* an empty body is a page without records (v6) */
  int none_slow;    /* a page that selects nothing goes the slow way */
  struct jscan_result res;
  int empty;              /* an empty body came */
  int slow;               /* not taken: resp->json is parsed */
  int written;            /* the page is in the output */
  int rc;                 /* a failure of a valid body (not retried) */
  struct integ_error err; /* its text */
};

static int page_hook(void *arg, const struct jscan_rec *r, struct buf *repl,
                     int *drop, struct integ_error *err);

static int scan_body(void *arg, const char *body, size_t len, int *retry,
                     char *msg, size_t size)
{
  struct page_scan *ps = arg;
  struct integ_error e = {0};
  int rc;

  json_decref(ps->res.fields);
  ps->res.fields = NULL;
  ps->empty = ps->slow = ps->written = ps->rc = 0;
  if (ps->empty_ok && len == 0) {
    ps->empty = 1;
    return 0;
  }
  if (!ps->js)
    return 1;
  if (ps->cur)
    cursor_page_begin(ps->cur);
  if (ps->cur || ps->mapped)
    jscan_set_hook(ps->js, page_hook, ps);
  rc = output_page(ps->ctx->out, ps->stream, ps->js, body, len, &ps->res, &e);
  jscan_set_hook(ps->js, NULL, NULL);
  if (!rc && ps->none_slow && !ps->res.records && !ps->res.dropped) {
    /* Nothing selected: the slow path says whether the records' place is
     * missing (nothing was written, the cursor has not moved). */
    json_decref(ps->res.fields);
    ps->res.fields = NULL;
    ps->slow = 1;
    return 1;
  }
  /* Written: a commit that fails (out of memory) leaves the cursor
   * behind the output, so a rerun repeats this page rather than lose it. */
  ps->written = rc == 0;
  if (!rc && ps->cur)
    rc = cursor_page_commit(ps->cur, body, &e);
  if (rc == INTEG_ENOTSUP) {
    ps->slow = 1;
    return 1;
  }
  if (rc == INTEG_EINVAL && !ps->res.hook) {
    /* Invalid bytes stay invalid; a body that ends too soon may not. */
    *retry = ps->res.offset >= len;
    snprintf(msg, size, "stream %s: %s", ps->stream, e.message);
    return rc;
  }
  ps->rc = rc;
  ps->err = e;
  return 0;
}

/* emit_batch's answer: {status, records, fields: got, next_url?}. */
static int batch_answer(const struct http_response *resp, size_t records,
                        json_t *got, json_t **page, struct integ_error *err)
{
  json_t *out;
  const char *link;
  char *next = NULL;
  int rc = 0;

  out = json_pack("{s:I, s:I, s:O}", "status", (json_int_t)resp->status,
                  "records", (json_int_t)records, "fields", got);
  if (!out)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  link = http_response_header(resp, "Link");
  /* A lost next_url would end pagination early and look like success. */
  if ((link && link_next(link, &next)) ||
      (next && json_object_set_new(out, "next_url", json_string(next)))) {
    json_decref(out);
    out = NULL;
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
  }
  free(next);
  *page = out;
  return rc;
}

/* The page a failed emit_page hands back: {"status", "records": 0,
 * "category", "body": the body's first BODY_SUMMARY bytes (as scrubbed
 * for errors; left out when not UTF-8)}. NULL when out of memory. */
#define BODY_SUMMARY 512
static json_t *failed_page(const struct http_response *resp)
{
  json_t *p =
      json_pack("{s:I, s:i, s:s}", "status", (json_int_t)resp->status,
                "records", 0, "category", http_category_name(resp->category));
  size_t n = resp->body.len < BODY_SUMMARY ? resp->body.len : BODY_SUMMARY;
  json_t *b;

  if (!p || !resp->body.data)
    return p;
  /* Cut at a character boundary. */
  while (n > 0 && n < resp->body.len &&
         ((unsigned char)resp->body.data[n] & 0xc0) == 0x80)
    n--;
  b = json_stringn(resp->body.data, n);
  if (b && json_object_set_new(p, "body", b)) {
    json_decref(p);
    return NULL;
  }
  return p;
}

/* emit_batch and emit_page (v6: an empty 2xx body is a page without
 * records, and a failure with a response still fills *page). */
static int batch_core(integ_ctx *ctx, integ_request *req, const char *stream,
                      const char *records, json_t *fields, int v6,
                      json_t **page, struct integ_error *err)
{
  struct http_request *r = req_of(req);
  struct http_response *resp = NULL;
  struct jsonpath_nodes nodes = {0, NULL, NULL};
  struct page_scan bp;
  struct jsonpath *jp;
  json_t *doc, *got = NULL, *q;
  const char *name;
  unsigned saved;
  int rc;

  *page = NULL;
  memset(&bp, 0, sizeof(bp));
  http_response_free(ctx->batch_failed);
  ctx->batch_failed = NULL;
  if (!r || !stream || !*stream || !records)
    return error_set(err, INTEG_EINVAL,
                     "plugin %s: emit_batch needs a request, a stream and "
                     "a records query",
                     ctx->pl->vt->name);
  rc = cached_path(ctx, records, &jp, err);
  if (!rc && ctx->out && !internal_names(fields))
    rc = cached_scan(ctx, records, fields, &bp.js, err);
  if (rc)
    return rc;
  saved = http_request_flags(r);
  http_request_set_flags(r, saved | HTTP_REQ_EXPECT_JSON);
  bp.ctx = ctx;
  bp.stream = stream;
  bp.empty_ok = v6;
  /* The fast path: http_do hands the body to the scanner, which
   * validates it and writes its records in one pass, no tree. */
  if (bp.js || v6)
    http_request_set_check(r, scan_body, &bp);
  rc = http_do(ctx->http, r, &resp, err);
  http_request_set_check(r, NULL, NULL);
  http_request_set_flags(r, saved);
  if (rc) {
    if (v6 && resp && !(*page = failed_page(resp)))
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
    ctx->batch_failed = resp; /* for http_detail */
    resp = NULL;
    goto out;
  }
  progress_page(ctx->progress);
  if (bp.empty) {
    /* No content: no records, and null for every field. */
    got = json_object();
    json_object_foreach(fields, name, q)
    {
      if (got && json_object_set_new(got, name, json_null())) {
        json_decref(got);
        got = NULL;
      }
    }
    rc = got ? batch_answer(resp, 0, got, page, err)
             : error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  if (bp.js && !bp.slow) {
    if (bp.rc == INTEG_EPLUGIN)
      rc = error_set(err, INTEG_EINVAL,
                     "%s: stream %s: record %zu selected by %s is not a "
                     "JSON object (invalid_response)",
                     resp->url, stream, bp.res.record, records);
    else if (bp.rc)
      rc = error_set(err, bp.rc, "%s", bp.err.message);
    if (rc)
      goto out;
    if ((rc = count_records(ctx, stream, bp.res.records, err)))
      goto out;
    got = bp.res.fields;
    bp.res.fields = NULL;
    rc = batch_answer(resp, bp.res.records, got, page, err);
    goto out;
  }
  doc = resp->json;
  rc = jsonpath_eval(jp, doc, 0, &nodes, err);
  if (rc)
    goto out;
  /* Every record checked before any is written: a page is written whole
   * or not at all. */
  for (size_t i = 0; i < nodes.n; i++)
    if (!json_is_object(nodes.values[i])) {
      rc = error_set(err, INTEG_EINVAL,
                     "%s: stream %s: record %zu selected by %s is not a "
                     "JSON object (invalid_response)",
                     resp->url ? resp->url : "(URL)", stream, i, records);
      goto out;
    }
  for (size_t i = 0; i < nodes.n; i++) {
    rc = host_emit_record(ctx, stream, nodes.values[i], err);
    if (rc)
      goto out;
  }
  got = json_object();
  if (!got) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  json_object_foreach(fields, name, q)
  {
    rc = batch_field(ctx, doc, name, q, got, err);
    if (rc)
      goto out;
  }
  rc = batch_answer(resp, nodes.n, got, page, err);
out:
  json_decref(bp.res.fields);
  json_decref(got);
  jsonpath_nodes_free(&nodes);
  http_response_free(resp);
  return rc;
}

static int host_emit_batch(integ_ctx *ctx, integ_request *req,
                           const char *stream, const char *records,
                           json_t *fields, json_t **page,
                           struct integ_error *err)
{
  return batch_core(ctx, req, stream, records, fields, 0, page, err);
}

static int mapped_core(integ_ctx *ctx, integ_request *req, const char *stream,
                       const struct integ_mapped_opts *o, int v6,
                       json_t **page, struct integ_error *err);

static int host_emit_page(integ_ctx *ctx, integ_request *req,
                          const char *stream, const struct integ_page_opts *o,
                          json_t **page, struct integ_error *err)
{
  *page = NULL;
  if (!o || o->size < offsetof(struct integ_page_opts, mapping))
    return error_set(err, INTEG_EINVAL,
                     "plugin %s: emit_page needs options (size set to "
                     "sizeof(struct integ_page_opts))",
                     ctx->pl->vt->name);
  if (o->size >= sizeof(struct integ_page_opts) && (o->mapping || o->cursor)) {
    struct integ_mapped_opts m = {sizeof(m), o->records, o->mapping, o->cursor,
                                  o->fields};

    return mapped_core(ctx, req, stream, &m, 1, page, err);
  }
  return batch_core(ctx, req, stream, o->records, o->fields, 1, page, err);
}

/* ------------------------------------- ABI 0.4: declarative connectors */

static struct definition *doc_of(const integ_doc *d)
{
  return (struct definition *)(void *)d;
}

static int host_position(integ_ctx *ctx, const integ_doc *doc,
                         const char *key_path, char *buf, size_t size)
{
  if (doc)
    return definition_position(doc_of(doc)->locs, "", key_path, buf, size);
  return definition_position(ctx->o->locs, ctx->o->config_path, key_path, buf,
                             size);
}

static integ_doc *host_doc_load(integ_ctx *ctx, const char *name, json_t **doc,
                                struct integ_error *err)
{
  struct definition *d = NULL;

  *doc = NULL;
  if (definition_load(name, ctx->o->base, definition_dir(), &d, err))
    return NULL;
  *doc = d->root;
  return (integ_doc *)(void *)d;
}

static const char *host_doc_file(const integ_doc *doc)
{
  return doc ? doc_of(doc)->file : NULL;
}

static void host_doc_free(integ_doc *doc)
{
  definition_free(doc_of(doc));
}

static integ_template *host_template_compile(integ_ctx *ctx, const char *text,
                                             json_t *known,
                                             struct integ_error *err)
{
  struct template *t = NULL;

  (void)ctx;
  if (!text) {
    error_set(err, INTEG_EINVAL, "template_compile: no text");
    return NULL;
  }
  if (template_compile(text, strlen(text), known, &t, err))
    return NULL;
  return (integ_template *)(void *)t;
}

static int host_template_render(integ_ctx *ctx, const integ_template *t,
                                json_t *vars, char **out,
                                struct integ_error *err)
{
  return template_render((const struct template *)(const void *)t, vars,
                         ctx->o->base, out, NULL, err);
}

static void host_template_free(integ_template *t)
{
  template_free((struct template *)(void *)t);
}

static struct cursor *cursor_of(const integ_cursor *c)
{
  return (struct cursor *)(void *)c;
}

static integ_cursor *host_cursor_new(integ_ctx *ctx,
                                     const struct integ_cursor_opts *o,
                                     json_t *state, struct integ_error *err)
{
  struct cursor_opts co = {NULL, NULL, NULL, NULL};
  struct cursor *c = NULL;

  (void)ctx;
  if (!o || o->size < sizeof(size_t) + 4 * sizeof(void *))
    return error_set(err, INTEG_EINVAL, "cursor_new: no or short options"),
           NULL;
  co.stream = o->stream;
  co.path = o->path;
  co.format = o->format;
  co.primary_key = o->primary_key;
  if (cursor_new(&co, state, &c, err))
    return NULL;
  return (integ_cursor *)(void *)c;
}

static int host_cursor_observe(integ_cursor *c, json_t *record, int *keep,
                               struct integ_error *err)
{
  return cursor_observe(cursor_of(c), record, keep, err);
}

static json_t *host_cursor_state(const integ_cursor *c,
                                 struct integ_error *err)
{
  int nomem = 0;
  json_t *s = cursor_state(cursor_of(c), &nomem);

  err->code = 0;
  if (nomem)
    error_set(err, INTEG_ENOMEM, "out of memory");
  return s;
}

static json_t *host_cursor_start(const integ_cursor *c)
{
  return cursor_start(cursor_of(c));
}

static void host_cursor_free(integ_cursor *c)
{
  cursor_free(cursor_of(c));
}

/* The shortest text of d that reads back as d ("916.556", not
 * "916.55600000000004"). */
static void shortest_double(double d, char *buf, size_t size)
{
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, size, "%.*g", prec, d);
    if (strtod(buf, NULL) == d)
      return;
  }
}

/* A field value cast to `cast` (NULL: as it is), a new reference; NULL
 * when it cannot be. */
static json_t *cast_value(json_t *v, const char *cast)
{
  const char *s = json_string_value(v);
  char *end = NULL;

  if (!v || json_is_null(v))
    return json_null();
  if (!cast)
    return json_incref(v);
  if (strcmp(cast, "string") == 0) {
    char num[64];

    if (s)
      return json_incref(v);
    if (json_is_integer(v))
      snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
               json_integer_value(v));
    else if (json_is_real(v))
      shortest_double(json_real_value(v), num, sizeof(num));
    else if (json_is_boolean(v))
      snprintf(num, sizeof(num), "%s", json_is_true(v) ? "true" : "false");
    else
      return NULL;
    return json_string(num);
  }
  if (strcmp(cast, "integer") == 0) {
    if (json_is_integer(v))
      return json_incref(v);
    if (json_is_real(v) &&
        json_real_value(v) == (double)(json_int_t)json_real_value(v))
      return json_integer((json_int_t)json_real_value(v));
    if (s && *s) {
      long long n = strtoll(s, &end, 10);

      if (!*end)
        return json_integer((json_int_t)n);
    }
    return NULL;
  }
  if (strcmp(cast, "number") == 0) {
    if (json_is_number(v))
      return json_incref(v);
    if (s && *s) {
      double d = strtod(s, &end);

      if (!*end)
        return json_real(d);
    }
    return NULL;
  }
  if (strcmp(cast, "boolean") == 0) {
    if (json_is_boolean(v))
      return json_incref(v);
    if (s && (strcmp(s, "true") == 0 || strcmp(s, "false") == 0))
      return json_boolean(strcmp(s, "true") == 0);
    if (json_is_integer(v) &&
        (json_integer_value(v) == 0 || json_integer_value(v) == 1))
      return json_boolean(json_integer_value(v));
    return NULL;
  }
  return NULL;
}

/* One record mapped through fields into *out (new). */
static int map_record(integ_ctx *ctx, const char *stream, const char *url,
                      json_t *fields, json_t *rec, json_t **out,
                      struct integ_error *err)
{
  const char *name;
  json_t *spec, *m = json_object();
  int rc = 0;

  *out = NULL;
  if (!m)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  json_object_foreach(fields, name, spec)
  {
    struct jsonpath_nodes n = {0, NULL, NULL};
    const char *q = json_is_string(spec)
                        ? json_string_value(spec)
                        : json_string_value(json_object_get(spec, "path"));
    const char *cast = json_string_value(json_object_get(spec, "cast"));
    struct jsonpath *jp;
    json_t *v;

    if (!q) {
      rc = error_set(err, INTEG_EINVAL,
                     "plugin %s: emit_mapped: field '%s' has no JSONPath",
                     ctx->pl->vt->name, name);
      break;
    }
    rc = cached_path(ctx, q, &jp, err);
    if (!rc)
      rc = jsonpath_eval(jp, rec, 0, &n, err);
    if (rc)
      break;
    v = cast_value(n.n ? n.values[0] : NULL, cast);
    if (!v) {
      char *text = json_dumps(n.values[0], JSON_ENCODE_ANY | JSON_COMPACT);

      rc = error_set(err, INTEG_EHTTP,
                     "stream %s: page %s: field '%s' (%s): %s cannot be "
                     "cast to %s (invalid_response)",
                     stream, url, name, q, text ? text : "(value)", cast);
      free(text);
    } else if (json_object_set_new(m, name, v)) {
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
    }
    jsonpath_nodes_free(&n);
    if (rc)
      break;
  }
  if (rc) {
    json_decref(m);
    return rc;
  }
  *out = m;
  return 0;
}

/* When the records query selected nothing: is the place it reads from
 * there, and an array or object? "$.data[*]" reads $.data. */
static int check_records_parent(integ_ctx *ctx, json_t *doc,
                                const char *records, const char *stream,
                                const char *url, struct integ_error *err)
{
  size_t len = strlen(records);
  struct jsonpath_nodes n = {0, NULL, NULL};
  struct jsonpath *jp = NULL;
  char *parent;
  int rc;

  if (len < 4 || strcmp(records + len - 3, "[*]") != 0)
    return 0;
  parent = strndup(records, len - 3);
  if (!parent)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  rc = cached_path(ctx, parent, &jp, err);
  if (!rc)
    rc = jsonpath_eval(jp, doc, 0, &n, err);
  if (!rc && n.n == 0)
    rc = error_set(err, INTEG_EHTTP,
                   "stream %s: page %s: the records path %s is missing "
                   "(invalid_response)",
                   stream, url, parent);
  else if (!rc && !json_is_array(n.values[0]) && !json_is_object(n.values[0]))
    rc = error_set(err, INTEG_EHTTP,
                   "stream %s: page %s: the records path %s is %s, not an "
                   "array (invalid_response)",
                   stream, url, parent,
                   json_is_string(n.values[0])   ? "a string"
                   : json_is_null(n.values[0])   ? "null"
                   : json_is_number(n.values[0]) ? "a number"
                                                 : "a boolean");
  jsonpath_nodes_free(&n);
  free(parent);
  return rc;
}

static const char *const known_casts[] = {"string", "integer", "number",
                                          "boolean"};

/* Append {key: records + tail of the record-relative path q} to scan;
 * 1 when q is not "$.name..." or "$[...]..." (slow path). */
static int scan_add(json_t *scan, const char *key, const char *records,
                    const char *q, const char *sep)
{
  size_t rl = strlen(records), ql = strlen(q), sl = strlen(sep);
  char *full;
  int rc;

  if (!sep[0] &&
      (ql < 2 || q[0] != '$' || (q[1] != '.' && q[1] != '[') || q[2] == '.'))
    return 1;
  full = malloc(rl + sl + ql + 1);
  if (!full)
    return -1;
  memcpy(full, records, rl);
  memcpy(full + rl, sep, sl);
  memcpy(full + rl + sl, sep[0] ? q : q + 1, sep[0] ? ql + 1 : ql);
  rc = json_object_set_new(scan, key, json_string(full)) ? -1 : 0;
  free(full);
  return rc;
}

/* Would cast_value give back the value at v (len bytes of JSON) as it
 * is? Then its bytes as written are the cast's. */
static int cast_keeps(const char *cast, const char *v, size_t len)
{
  if (!cast || *v == 'n')
    return 1;
  switch (*v) {
  case '"':
    return cast[0] == 's'; /* string */
  case 't':
  case 'f':
    return cast[0] == 'b'; /* boolean */
  case '{':
  case '[':
    return 0;
  default: /* a number */
    if (cast[0] == 'n')
      return 1;
    return cast[0] == 'i' && !memchr(v, '.', len) && !memchr(v, 'e', len) &&
           !memchr(v, 'E', len);
  }
}

/* The scanner's flags are jsonw's (map_bytes hands one to the other). */
_Static_assert(JSCAN_ASCII == JSONW_ASCII, "JSCAN_ASCII is JSONW_ASCII");

/* A mapped record, from its values' bytes, into repl. */
static int map_bytes(struct page_scan *wp, const struct jscan_rec *r,
                     struct buf *repl, struct integ_error *err)
{
  int rc = buf_append(repl, "{", 1);

  for (size_t i = 0; !rc && i < wp->nmf; i++) {
    const struct map_field *f = &wp->mf[i];
    const struct jscan_span *sp = &r->spans[f->slot];
    json_t *v = NULL, *cv;

    if ((i && (rc = buf_append(repl, ",", 1))) ||
        (rc = buf_append(repl, wp->names.data + f->enc, f->enc_len)))
      break;
    if (!sp->len) {
      rc = buf_append(repl, "null", 4); /* what cast_value makes of none */
      continue;
    }
    if (cast_keeps(f->cast, r->page + sp->off, sp->len)) {
      rc = buf_append(repl, r->bytes + sp->out, sp->olen);
      continue;
    }
    if ((rc = jscan_value(r->page + sp->off, sp->len, &v))) {
      if (rc == INTEG_EINVAL) {
        return error_set(err, INTEG_EHTTP,
                         "field '%s' (%s): byte %zu: an integer beyond int64 "
                         "cannot be cast to %s (invalid_response)",
                         f->name, f->path, sp->off, f->cast);
      }
      break;
    }
    cv = cast_value(v, f->cast);
    if (!cv) {
      char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

      rc = error_set(err, INTEG_EHTTP,
                     "field '%s' (%s): %s cannot be cast to %s "
                     "(invalid_response)",
                     f->name, f->path, text ? text : "(value)", f->cast);
      free(text);
      json_decref(v);
      return rc;
    }
    rc = jsonw_value(repl, cv, wp->flags);
    json_decref(cv);
    json_decref(v);
    if (rc && rc != INTEG_ENOMEM)
      return error_set(err, rc, "field '%s' (%s): its value cannot be written",
                       f->name, f->path);
  }
  if (!rc)
    rc = buf_append(repl, "}", 1);
  return rc ? error_set(err, INTEG_ENOMEM, "out of memory") : 0;
}

static int page_hook(void *arg, const struct jscan_rec *r, struct buf *repl,
                     int *drop, struct integ_error *err)
{
  struct page_scan *wp = arg;
  int keep = 1, rc;

  if (wp->cur &&
      (rc = cursor_page_observe(wp->cur, r->page, r->spans, &keep, err)))
    return rc;
  *drop = !keep;
  if (keep && wp->mapped)
    return map_bytes(wp, r, repl, err);
  return 0;
}

/* The scanner for emit_mapped on the bytes (NULL: another path), with
 * wp's mapping made: o's want fields, and span fields for the cursor's
 * value and keys and the mapping's fields. */
static int whole_scan(integ_ctx *ctx, const char *stream,
                      const struct integ_mapped_opts *o, struct page_scan *wp,
                      struct integ_error *err)
{
  const char *name, *cname = NULL;
  const char *const *pk = NULL;
  size_t npk = 0, i, slot;
  json_t *scan, *q, *spec;
  char key[32];
  int rc = 0;

  wp->js = NULL;
  if (!ctx->out || (o->want && !json_is_object(o->want)) ||
      (o->fields &&
       (!json_is_object(o->fields) || output_projects(ctx->out, stream))) ||
      (o->cursor && !cursor_members(cursor_of(o->cursor), &cname, &pk, &npk)))
    return 0;
  slot = cname ? npk + 1 : 0;
  wp->mapped = o->fields != NULL;
  wp->nmf = json_object_size(o->fields);
  if (slot + wp->nmf > JSCAN_SPANS_MAX)
    return 0;
  if (!(scan = json_object()) ||
      (wp->nmf && !(wp->mf = calloc(wp->nmf, sizeof(*wp->mf))))) {
    json_decref(scan);
    return error_set(err, INTEG_ENOMEM, "out of memory");
  }
  json_object_foreach(o->want, name, q)
  {
    if (name[0] == JSCAN_SPAN[0] || !json_is_string(q) ||
        json_object_set(scan, name, q)) {
      rc = 1;
      goto out;
    }
  }
  if (cname) {
    if ((rc = scan_add(scan, JSCAN_SPAN "0", o->records, cname, ".")))
      goto out;
    for (i = 0; i < npk; i++) {
      snprintf(key, sizeof(key), JSCAN_SPAN "%zu", i + 1);
      if ((rc = scan_add(scan, key, o->records, pk[i], ".")))
        goto out;
    }
  }
  wp->flags = jscan_format_flags(output_format(ctx->out));
  i = 0;
  json_object_foreach(o->fields, name, spec)
  {
    struct map_field *f = &wp->mf[i++];
    size_t c = 0;

    f->name = name;
    f->path = json_is_string(spec)
                  ? json_string_value(spec)
                  : json_string_value(json_object_get(spec, "path"));
    f->cast = json_string_value(json_object_get(spec, "cast"));
    while (f->cast && c < sizeof(known_casts) / sizeof(*known_casts) &&
           strcmp(f->cast, known_casts[c]))
      c++;
    if (!f->path ||
        (json_object_get(spec, "cast") &&
         (!f->cast || c == sizeof(known_casts) / sizeof(*known_casts)))) {
      rc = 1; /* the slow path says what is wrong */
      goto out;
    }
    f->slot = slot++;
    f->enc = wp->names.len;
    /* A name that is not UTF-8 (only json_object_set_nocheck makes one):
     * the slow path says so. */
    if ((rc = jsonw_string(&wp->names, name, strlen(name), wp->flags)) ||
        (rc = buf_append(&wp->names, ":", 1))) {
      rc = rc == INTEG_ENOMEM ? -1 : 1;
      goto out;
    }
    f->enc_len = wp->names.len - f->enc;
    snprintf(key, sizeof(key), JSCAN_SPAN "%zu", f->slot);
    if ((rc = scan_add(scan, key, o->records, f->path, "")))
      goto out;
  }
  rc = cached_scan(ctx, o->records, scan, &wp->js, err);
  json_decref(scan);
  return rc;
out:
  json_decref(scan);
  if (rc < 0)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  return 0;
}

/* err, about a record of stream's page url (redacted): "stream S: page
 * URL: what", each said once (the cursor's errors name the stream). */
static void page_error(struct integ_error *err, const char *stream,
                       const char *url)
{
  char pre[256];
  int pl = snprintf(pre, sizeof(pre), "stream %s: ", stream);

  if (pl > 0 && (size_t)pl < sizeof(pre) &&
      strncmp(err->message, pre, (size_t)pl) == 0)
    memmove(err->message, err->message + pl, strlen(err->message + pl) + 1);
  error_prefix(err, "stream %s: page %s", stream, url);
}

/* emit_mapped, and emit_page with a mapping or a cursor (v6: an empty
 * 2xx body is a page without records, and a failure with a response
 * still fills *page). */
static int mapped_core(integ_ctx *ctx, integ_request *req, const char *stream,
                       const struct integ_mapped_opts *o, int v6,
                       json_t **page, struct integ_error *err)
{
  struct http_request *r = req_of(req);
  struct http_response *resp = NULL;
  struct jsonpath_nodes nodes = {0, NULL, NULL};
  struct page_scan wp = {.slow = 1};
  struct cursor_snap snap;
  int snapped = 0;
  struct jsonpath *jp;
  json_t *doc, *out = NULL, *got = NULL, *q, *mapped = NULL;
  const char *name, *link;
  unsigned saved;
  char *next = NULL, *url = NULL;
  size_t written = 0, n;
  int rc;

  *page = NULL;
  http_response_free(ctx->batch_failed);
  ctx->batch_failed = NULL;
  if (!r || !stream || !*stream || !o ||
      o->size < sizeof(size_t) + 4 * sizeof(void *) || !o->records)
    return error_set(err, INTEG_EINVAL,
                     "plugin %s: emit_mapped needs a request, a stream and "
                     "options with a records query",
                     ctx->pl->vt->name);
  rc = cached_path(ctx, o->records, &jp, err);
  if (!rc)
    rc = whole_scan(ctx, stream, o, &wp, err);
  if (rc)
    goto out;
  wp.ctx = ctx;
  wp.stream = stream;
  wp.cur = o->cursor ? cursor_of(o->cursor) : NULL;
  saved = http_request_flags(r);
  http_request_set_flags(r, saved | HTTP_REQ_EXPECT_JSON);
  wp.empty_ok = v6;
  wp.none_slow = 1;
  if (wp.js || v6)
    http_request_set_check(r, scan_body, &wp);
  rc = http_do(ctx->http, r, &resp, err);
  http_request_set_check(r, NULL, NULL);
  http_request_set_flags(r, saved);
  if (rc) {
    error_prefix(err, "stream %s", stream);
    if (v6 && resp && !(*page = failed_page(resp)))
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
    ctx->batch_failed = resp;
    resp = NULL;
    goto out;
  }
  progress_page(ctx->progress);
  doc = resp->json;
  url = secrets_redact_url(resp->url ? resp->url : "(URL)", NULL);
  mapped = json_array();
  if (!url || !mapped) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  if (wp.empty) {
    /* No content: no records, and null for every field. */
    n = 0;
    got = json_object();
    json_object_foreach(o->want, name, q)
    {
      if (got && json_object_set_new(got, name, json_null())) {
        json_decref(got);
        got = NULL;
      }
    }
    if (!got) {
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
      goto out;
    }
    goto answer;
  }
  if (wp.js && !wp.slow) {
    rc = wp.written ? count_records(ctx, stream, wp.res.records, err) : 0;
    if (!rc && wp.rc == INTEG_EPLUGIN) {
      rc = error_set(err, INTEG_EHTTP,
                     "stream %s: page %s: record %zu selected by %s is not "
                     "a JSON object (invalid_response)",
                     stream, url, wp.res.record, o->records);
    } else if (!rc && wp.rc) {
      rc = wp.rc;
      *err = wp.err;
      if (wp.res.hook)
        page_error(err, stream, url);
    }
    if (rc)
      goto out;
    n = wp.res.records + wp.res.dropped;
    written = wp.res.records;
    got = wp.res.fields;
    wp.res.fields = NULL;
    goto answer;
  }
  rc = jsonpath_eval(jp, doc, 0, &nodes, err);
  if (!rc && nodes.n == 0)
    rc = check_records_parent(ctx, doc, o->records, stream, url, err);
  if (rc)
    goto out;
  n = nodes.n;
  /* The whole page is checked, observed and mapped before anything of it
   * is written, so the state never passes data that was not: first every
   * record must be an object; then, record by record, the cursor sees it
   * (a repeat at the boundary is dropped: null in mapped) and a record
   * kept is mapped. The first record that fails fails the page, and the
   * cursor is put back where it stood. The scanner's path goes the same
   * way. */
  for (size_t i = 0; i < n; i++)
    if (!json_is_object(nodes.values[i])) {
      rc = error_set(err, INTEG_EHTTP,
                     "stream %s: page %s: record %zu selected by %s is not "
                     "a JSON object (invalid_response)",
                     stream, url, i, o->records);
      goto out;
    }
  if (o->cursor) {
    if (cursor_snapshot(cursor_of(o->cursor), &snap)) {
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
      goto out;
    }
    snapped = 1;
  }
  for (size_t i = 0; i < n; i++) {
    json_t *m = NULL;
    int keep = 1;

    if (o->cursor && (rc = cursor_observe(cursor_of(o->cursor),
                                          nodes.values[i], &keep, err))) {
      page_error(err, stream, url);
      goto out;
    }
    if (!keep)
      m = json_null();
    else if (o->fields)
      rc = map_record(ctx, stream, url, o->fields, nodes.values[i], &m, err);
    else
      m = json_incref(nodes.values[i]);
    if (!rc && json_array_append_new(mapped, m))
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
    if (rc)
      goto out;
  }
  for (size_t i = 0; i < n; i++) {
    if (json_is_null(json_array_get(mapped, i)))
      continue;
    rc = host_emit_record(ctx, stream, json_array_get(mapped, i), err);
    if (rc)
      goto out;
    written++;
  }
  got = json_object();
  if (!got) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  json_object_foreach(o->want, name, q)
  {
    if ((rc = batch_field(ctx, doc, name, q, got, err)))
      goto out;
  }
answer:
  out = json_pack("{s:I, s:I, s:I, s:O}", "status", (json_int_t)resp->status,
                  "records", (json_int_t)n, "written", (json_int_t)written,
                  "fields", got);
  if (!out) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  link = http_response_header(resp, "Link");
  if (link && link_next(link, &next)) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  if (next && json_object_set_new(out, "next_url", json_string(next))) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
out:
  free(next);
  free(url);
  json_decref(got);
  json_decref(mapped);
  json_decref(wp.res.fields);
  free(wp.mf);
  buf_free(&wp.names);
  jsonpath_nodes_free(&nodes);
  if (snapped && rc)
    cursor_rollback(cursor_of(o->cursor), &snap);
  else if (snapped)
    cursor_snap_free(&snap);
  http_response_free(resp);
  if (rc) {
    json_decref(out);
    return rc;
  }
  *page = out;
  return 0;
}

static int host_emit_mapped(integ_ctx *ctx, integ_request *req,
                            const char *stream,
                            const struct integ_mapped_opts *o, json_t **page,
                            struct integ_error *err)
{
  return mapped_core(ctx, req, stream, o, 0, page, err);
}

/* ABI 0.5: the plugin's auth block, filled or overridden by the
 * connector's auth: keys. */
static void declare_report(void *arg, const char *key, int at_key,
                           const char *msg)
{
  struct integ_error *err = arg;

  (void)at_key;
  if (!err->code)
    error_set(err, INTEG_ECONFIG, "auth%s%s: %s", *key ? "." : "", key, msg);
}

static int host_auth_declare(integ_ctx *ctx, json_t *block,
                             struct integ_error *err)
{
  struct auth_env dflt = {ctx->o->tag, "default", NULL,         NULL, NULL,
                          NULL,        NULL,      ctx->o->http, NULL};
  struct integ_error cerr = {0, ""};
  struct auth *a = NULL;
  json_t *merged;
  int rc;

  if (!ctx->loading)
    return error_set(err, INTEG_EINVAL,
                     "plugin %s: auth_declare is for load only",
                     ctx->pl->vt->name);
  if (!json_is_object(block))
    return error_set(err, INTEG_EINVAL,
                     "plugin %s: auth_declare: the block is not an object",
                     ctx->pl->vt->name);
  merged = json_deep_copy(block);
  if (!merged || (json_is_object(ctx->o->auth) &&
                  json_object_update(merged, ctx->o->auth))) {
    json_decref(merged);
    return error_set(err, INTEG_ENOMEM, "out of memory");
  }
  /* The manifest fills oauth2's defaults into every auth: mapping; a
   * declared block of another type does not take them. */
  if (strcmp(json_string_value(json_object_get(merged, "type")) ?: "",
             "oauth2")) {
    static const char *const dflt_keys[] = {"client_auth", "redirect_port",
                                            "refresh_at"};

    for (size_t i = 0; i < sizeof(dflt_keys) / sizeof(dflt_keys[0]); i++)
      if (!json_object_get(block, dflt_keys[i]))
        json_object_del(merged, dflt_keys[i]);
  }
  auth_check(merged, NULL, declare_report, &cerr);
  if (cerr.code) {
    json_decref(merged);
    return error_set(err, cerr.code, "plugin %s: %s", ctx->pl->vt->name,
                     cerr.message);
  }
  rc = auth_new(merged, ctx->o->auth_env ? ctx->o->auth_env : &dflt, &a, err);
  if (rc) {
    json_decref(merged);
    return rc;
  }
  auth_free(ctx->declared);
  json_decref(ctx->declared_cfg);
  ctx->declared = a;
  ctx->declared_cfg = merged;
  http_client_set_auth(ctx->http, a);
  return 0;
}

static const struct integ_host host_vtable = {
    .abi_major = INTEG_ABI_MAJOR,
    .abi_minor = INTEG_ABI_MINOR,
    .size = sizeof(struct integ_host),
    .emit_record = host_emit_record,
    .emit_state = host_emit_state,
    .log = host_log,
    .request_new = host_request_new,
    .request_query = host_request_query,
    .request_header = host_request_header,
    .request_body_json = host_request_body_json,
    .request_body_form = host_request_body_form,
    .request_free = host_request_free,
    .http_do = host_http_do,
    .response_status = host_response_status,
    .response_header = host_response_header,
    .response_body = host_response_body,
    .response_json = host_response_json,
    .response_category = host_response_category,
    .response_free = host_response_free,
    .emit_batch = host_emit_batch,
    .jsonpath_compile = host_jsonpath_compile,
    .jsonpath_query = host_jsonpath_query,
    .jsonpath_free = host_jsonpath_free,
    .http_detail = host_http_detail,
    .position = host_position,
    .doc_load = host_doc_load,
    .doc_file = host_doc_file,
    .doc_free = host_doc_free,
    .template_compile = host_template_compile,
    .template_render = host_template_render,
    .template_free = host_template_free,
    .emit_mapped = host_emit_mapped,
    .cursor_new = host_cursor_new,
    .cursor_observe = host_cursor_observe,
    .cursor_state = host_cursor_state,
    .cursor_start = host_cursor_start,
    .cursor_free = host_cursor_free,
    .auth_declare = host_auth_declare,
    .emit_page = host_emit_page,
};

/* Make the instance's HTTP client and load the plugin into ctx; on
 * failure nothing is left to undo but instance_close. */
static int instance_open(struct integ_ctx *ctx, json_t *config, json_t *state,
                         void **inst, struct integ_error *err)
{
  const struct plugin *pl = ctx->pl;
  struct integ_error perr = {0, ""};
  struct http_config defaults;
  int rc;

  *inst = NULL;
  if (!ctx->o->http) {
    http_config_init(&defaults);
    defaults.tag = ctx->o->tag;
  }
  rc = http_client_new(ctx->o->http ? ctx->o->http : &defaults, &ctx->http,
                       err);
  if (rc)
    return rc;
  ctx->loading = 1;
  rc = pl->vt->load(&host_vtable, ctx, config, state, inst, &perr);
  ctx->loading = 0;
  if (rc) {
    *inst = NULL;
    return error_set(err, rc < 0 ? rc : INTEG_EPLUGIN,
                     "plugin %s: load failed: %s", pl->vt->name,
                     perr.message[0] ? perr.message : "(no message)");
  }
  return 0;
}

/* Unload the plugin (when loaded) and free what the instance held. */
static void instance_close(struct integ_ctx *ctx, void *inst, int loaded)
{
  struct path_cache *p, *next;

  if (loaded)
    ctx->pl->vt->unload(inst);
  if (ctx->http)
    http_client_stats(ctx->http, &ctx->stats->http);
  http_client_free(ctx->http);
  ctx->http = NULL;
  for (p = ctx->paths; p; p = next) {
    next = p->next;
    jsonpath_free(p->jp);
    free(p->query);
    free(p);
  }
  ctx->paths = NULL;
  while (ctx->scans) {
    struct scan_cache *sc = ctx->scans;

    ctx->scans = sc->next;
    jscan_free(sc->js);
    json_decref(sc->fields);
    free(sc->records);
    free(sc);
  }
  http_response_free(ctx->batch_failed);
  ctx->batch_failed = NULL;
  auth_free(ctx->declared);
  ctx->declared = NULL;
  json_decref(ctx->declared_cfg);
  ctx->declared_cfg = NULL;
}

int run_plugin(const struct plugin *pl, json_t *config, json_t *state,
               const struct run_opts *o, struct run_stats *stats,
               struct integ_error *err)
{
  struct integ_ctx ctx = {.pl = pl, .o = o, .stats = stats};
  struct integ_error perr = {0, ""};
  json_t *streams = NULL;
  void *inst = NULL;
  int rc, crc, loaded = 0;

  memset(stats, 0, sizeof(*stats));
  rc = instance_open(&ctx, config, state, &inst, err);
  if (rc)
    goto out;
  loaded = 1;
  /* The streams, for Singer's SCHEMA messages. */
  if (pl->vt->discover) {
    streams = pl->vt->discover(inst, &perr);
    if (!streams) {
      rc = error_set(err, INTEG_EPLUGIN, "plugin %s: discover failed: %s",
                     pl->vt->name,
                     perr.message[0] ? perr.message : "(no message)");
      goto out;
    }
  }
  rc = output_open(o->output, streams, &ctx.out, err);
  if (rc)
    goto out;
  if (o->progress)
    ctx.progress = progress_new(o->tag);
  if (o->events)
    rc = o->events(o->events_arg, pl->vt, inst, ctx.out, err);
  else if ((rc = pl->vt->run(inst, &perr)) != 0)
    error_set(err, rc < 0 ? rc : INTEG_EPLUGIN, "plugin %s: run failed: %s",
              pl->vt->name, perr.message[0] ? perr.message : "(no message)");
  /* The last state the plugin emitted is a consistent point even when
   * its run failed later: commit it once what came before is durable. */
  crc = output_close(ctx.out, 1, rc ? NULL : err);
  if (!rc)
    rc = crc;
out:
  progress_done(ctx.progress);
  instance_close(&ctx, inst, loaded);
  json_decref(streams);
  return rc;
}

void run_stats_free(struct run_stats *stats)
{
  json_decref(stats->state);
  stats->state = NULL;
  json_decref(stats->streams);
  stats->streams = NULL;
}

/* Load pl, call discover() (streams non-NULL) or check(), unload. */
static int run_call(const struct plugin *pl, json_t *config,
                    const struct run_opts *o, json_t **streams,
                    struct integ_error *err)
{
  struct run_stats stats;
  struct integ_ctx ctx = {.pl = pl, .o = o, .stats = &stats};
  struct integ_error perr = {0, ""};
  const char *what = streams ? "discover" : "check";
  void *inst = NULL;
  int rc;

  memset(&stats, 0, sizeof(stats));
  if (streams)
    *streams = NULL;
  rc = instance_open(&ctx, config, NULL, &inst, err);
  if (rc) {
    instance_close(&ctx, NULL, 0);
    return rc;
  }
  if (streams && !pl->vt->discover)
    *streams = json_array();
  else if (streams)
    *streams = pl->vt->discover(inst, &perr);
  else
    rc = pl->vt->check ? pl->vt->check(inst, &perr) : 0;
  if (streams && !*streams)
    rc = INTEG_EPLUGIN;
  if (rc)
    error_set(err, rc < 0 ? rc : INTEG_EPLUGIN, "plugin %s: %s failed: %s",
              pl->vt->name, what,
              perr.message[0] ? perr.message : "(no message)");
  instance_close(&ctx, inst, 1);
  run_stats_free(&stats);
  return rc;
}

int run_discover(const struct plugin *pl, json_t *config,
                 const struct run_opts *o, json_t **streams,
                 struct integ_error *err)
{
  return run_call(pl, config, o, streams, err);
}

int run_check(const struct plugin *pl, json_t *config,
              const struct run_opts *o, struct integ_error *err)
{
  return run_call(pl, config, o, NULL, err);
}

int run_declared_auth(const struct plugin *pl, json_t *config,
                      const struct run_opts *o, json_t **auth,
                      struct integ_error *err)
{
  struct run_stats stats;
  struct integ_ctx ctx = {.pl = pl, .o = o, .stats = &stats};
  void *inst = NULL;
  int rc;

  memset(&stats, 0, sizeof(stats));
  rc = instance_open(&ctx, config, NULL, &inst, err);
  *auth = rc ? NULL : json_incref(ctx.declared_cfg);
  instance_close(&ctx, inst, 1);
  json_decref(stats.state);
  return rc;
}

/* ------------------------------------------------- running a connector */

int run_state_commit(struct store *s, const char *account,
                     const char *connector, json_t *state,
                     struct integ_error *err)
{
  const char *k;
  json_t *v, *rows = state;
  int by_stream = json_object_size(state) > 0, rc;

  json_object_foreach(state, k, v) by_stream &= json_is_object(v) && *k;
  if (!by_stream && !(rows = json_pack("{s:O}", "", state)))
    return error_set(err, INTEG_ENOMEM, "out of memory");
  rc = store_state_put(s, account, connector, rows, err);
  if (rows != state)
    json_decref(rows);
  return rc;
}

int run_state_load(struct store *s, const char *account, const char *connector,
                   json_t **state, struct integ_error *err)
{
  json_t *rows = NULL, *whole;
  int rc = store_state_get(s, account, connector, &rows, err);

  *state = NULL;
  if (rc)
    return rc;
  whole = json_object_get(rows, "");
  if (whole && json_object_size(rows) == 1)
    *state = json_incref(whole);
  else if (json_object_size(rows))
    *state = json_incref(rows);
  json_decref(rows);
  return 0;
}

/* Rate-limit buckets shared through the store (ratelimit.h). */
static int bucket_in_store(void *store, const char *key, bucket_update_fn fn,
                           void *arg, struct integ_error *err)
{
  return store_bucket_update(store, key, fn, arg, err);
}

/* The output's commit callback: states into the store. */
struct committer {
  struct store *store;
  const char *account;
  const char *connector;
  uint64_t commits;
};

static int commit_state(void *arg, json_t *state, struct integ_error *err)
{
  struct committer *c = arg;
  int rc = run_state_commit(c->store, c->account, c->connector, state, err);

  if (!rc)
    c->commits++;
  return rc;
}

/* Read a duration key of `obj` (a manifest string such as "30s", or a
 * number of ms) into *ms; absent keys leave *ms alone. */
static int get_duration(json_t *obj, const char *key, const char *where,
                        int64_t *ms, struct integ_error *err)
{
  json_t *v = json_object_get(obj, key);

  if (!v)
    return 0;
  if (json_is_integer(v)) {
    *ms = json_integer_value(v);
    return 0;
  }
  /* duration_parse fails only with INTEG_EINVAL: the text is wrong. */
  if (json_is_string(v) &&
      duration_parse(json_string_value(v), ms, NULL, err) == 0)
    return 0;
  return error_set(err, INTEG_ECONFIG,
                   "%s.%s: expected a duration such as 30s or 5m", where, key);
}

static void get_long(json_t *obj, const char *key, long *out)
{
  json_t *v = json_object_get(obj, key);

  if (json_is_integer(v))
    *out = (long)json_integer_value(v);
}

int run_http_config(struct http_config *h, json_t *node,
                    struct integ_error *err)
{
  json_t *retry = json_object_get(node, "retry");
  json_t *rate = json_object_get(node, "rate_limit");
  json_t *http = json_object_get(node, "http");
  json_t *v;
  int64_t ms;
  long n;
  int rc;

  if (json_is_integer(v = json_object_get(retry, "max_attempts")))
    h->retry.max_attempts = (unsigned)json_integer_value(v);
  rc = get_duration(retry, "base", "retry", &h->retry.base_ms, err);
  if (rc)
    return rc;
  rc = get_duration(retry, "max", "retry", &h->retry.max_ms, err);
  if (rc)
    return rc;
  rc = get_duration(retry, "max_elapsed", "retry", &h->retry.max_elapsed_ms,
                    err);
  if (rc)
    return rc;
  if (json_is_number(v = json_object_get(rate, "per_second")))
    h->rate_per_second = json_number_value(v);
  if (json_is_number(v = json_object_get(rate, "burst")))
    h->rate_burst = json_number_value(v);
  ms = h->limits.connect_timeout_ms;
  rc = get_duration(http, "connect_timeout", "http", &ms, err);
  if (rc)
    return rc;
  h->limits.connect_timeout_ms = (long)ms;
  ms = h->limits.timeout_ms;
  rc = get_duration(http, "timeout", "http", &ms, err);
  if (rc)
    return rc;
  h->limits.timeout_ms = (long)ms;
  ms = h->limits.low_speed_time_s * 1000;
  rc = get_duration(http, "low_speed_time", "http", &ms, err);
  if (rc)
    return rc;
  h->limits.low_speed_time_s = (long)(ms + 999) / 1000;
  get_long(http, "max_redirects", &h->limits.max_redirects);
  n = (long)h->limits.max_body;
  get_long(http, "max_body", &n);
  h->limits.max_body = (size_t)n;
  if (json_is_string(v = json_object_get(http, "ca_file")))
    h->limits.ca_file = json_string_value(v);
  n = (long)h->breaker_threshold;
  get_long(http, "breaker_threshold", &n);
  h->breaker_threshold = (unsigned)n;
  return get_duration(http, "breaker_cooldown", "http",
                      &h->breaker_cooldown_ms, err);
}

int run_settings_from_manifest(struct run_settings *s,
                               const struct manifest *m,
                               struct integ_error *err)
{
  json_t *mo = json_object_get(m->root, "output");
  json_t *v = json_object_get(mo, "checkpoint_records");

  if (!s->format)
    s->format = m->output_format;
  if (!s->to)
    s->to = m->output_to;
  if (json_is_integer(v) && json_integer_value(v) > 0)
    s->checkpoint_records = (uint64_t)json_integer_value(v);
  return get_duration(mo, "checkpoint_interval", "output", &s->checkpoint_ms,
                      err);
}

/* The run's counters and error category into its history row. */
static int run_history_detail(struct store *store, int64_t run_id, int rc,
                              const struct run_result *res,
                              struct integ_error *err)
{
  const struct http_stats *h = &res->stats.http;
  const char *category = NULL;
  json_t *stats;
  int r;

  if (rc == INTEG_EINTR || (rc && stop_requested()))
    category = "interrupted";
  else if (rc)
    category = error_code_name(rc);
  stats = json_pack(
      "{s:O?,s:{s:I,s:I,s:I,s:I,s:I},s:I,s:I,s:I,s:I}", "streams",
      res->stats.streams, "http", "2xx", (json_int_t)h->by_class[2], "3xx",
      (json_int_t)h->by_class[3], "4xx", (json_int_t)h->by_class[4], "5xx",
      (json_int_t)h->by_class[5], "none", (json_int_t)h->by_class[0],
      "requests", (json_int_t)h->requests, "retries", (json_int_t)h->retries,
      "rate_limit_waits", (json_int_t)h->rate_waits, "token_refreshes",
      (json_int_t)res->token_refreshes);
  if (!stats)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  r = store_run_detail(store, run_id, category, stats, err);
  json_decref(stats);
  return r;
}

int run_connector(const struct plugin *pl, const struct run_connector_args *c,
                  const struct run_settings *s, struct run_result *res,
                  struct integ_error *err)
{
  struct committer com = {c->store, c->account, c->name, 0};
  struct output_config oc;
  struct clock clk;
  struct run_opts o;
  struct http_config http;
  struct auth *auth = NULL;
  struct auth_env env;
  json_t *state = NULL;
  int64_t run_id = 0;
  int rc;

  memset(res, 0, sizeof(*res));
  memset(&oc, 0, sizeof(oc));
  memset(&o, 0, sizeof(o));
  http_config_init(&http);
  http.tag = c->name;
  http.record_file = s->record;
  http.replay_file = s->replay;
  http.share.update = c->store ? bucket_in_store : NULL;
  http.share.arg = c->store;
  http.stop = stop_flag();
  rc = clock_init(&clk, err);
  if (rc)
    goto out;
  rc = run_http_config(&http, c->node, err);
  if (rc)
    goto out;
  env.connector = c->name;
  env.account = c->account;
  env.store = c->store;
  env.key_file = c->token_key;
  env.tokens = c->tokens;
  env.save = c->save_token;
  env.save_arg = c->save_arg;
  env.http = &http;
  env.refreshes = &res->token_refreshes;
  rc = auth_new(json_object_get(c->node, "auth"), &env, &auth, err);
  if (rc)
    goto out;
  http.auth = auth;
  rc = emit_format_parse(s->format ? s->format : "jsonl", &oc.format, err);
  if (rc)
    goto out;
  oc.to = s->to;
  oc.checkpoint_records = s->checkpoint_records;
  oc.checkpoint_ms = s->checkpoint_ms;
  oc.connector = c->name;
  oc.account = c->account;
  oc.clock = &clk;
  oc.out_fd = STDOUT_FILENO;
  res->started = 1;
  if (c->store) {
    oc.commit = commit_state;
    oc.commit_arg = &com;
    rc = run_state_load(c->store, c->account, c->name, &state, err);
    if (rc)
      goto out;
    rc = store_run_begin(c->store, c->account, c->name, clock_now_ms(NULL),
                         &run_id, err);
    if (rc)
      goto out;
    rc = store_run_owner(c->store, run_id, c->fire_ms, (long)getpid(), err);
    if (rc)
      goto out;
  }
  o.tag = c->name;
  o.clock = &clk;
  o.http = &http;
  o.output = &oc;
  o.progress = c->progress;
  o.locs = c->locs;
  o.config_path = c->config_path;
  o.base = c->base;
  o.auth = json_object_get(c->node, "auth");
  o.auth_env = &env;
  o.events = c->events;
  o.events_arg = c->events_arg;
  rc = run_plugin(pl, c->config, state, &o, &res->stats, err);
  res->commits = com.commits;
  if (rc)
    goto out;
  log_info("%s: %llu records, %llu states (%llu committed), %llu HTTP "
           "requests (%llu retries, %llu connections)",
           c->name, (unsigned long long)res->stats.records,
           (unsigned long long)res->stats.states,
           (unsigned long long)com.commits,
           (unsigned long long)res->stats.http.requests,
           (unsigned long long)res->stats.http.retries,
           (unsigned long long)res->stats.http.connects);
out:
  if (run_id) {
    struct integ_error herr = {0, ""};
    const char *status = !rc ? "ok"
                         : rc == INTEG_EINTR || stop_requested()
                             ? "interrupted"
                             : "failed";

    if (run_history_detail(c->store, run_id, rc, res, &herr) ||
        store_run_end(c->store, run_id, clock_now_ms(NULL), status,
                      res->stats.records, rc && err ? err->message : NULL,
                      &herr))
      log_warn("run history: %s", herr.message);
  }
  json_decref(state);
  auth_free(auth);
  return rc;
}

struct run_connector_args run_args_of(const struct manifest *m,
                                      const struct manifest_connector *c,
                                      struct store *store, char *where,
                                      size_t size)
{
  struct run_connector_args ca = {
      .name = c->name,
      .account = c->account,
      .config = c->config,
      .node = c->node,
      .store = store,
      .token_key = json_string_value(json_object_get(m->root, "token_key")),
      .locs = m->locs,
      .config_path = where,
      .base = c->file};

  snprintf(where, size, "connectors.%s.config", c->name);
  return ca;
}

void run_result_free(struct run_result *res)
{
  run_stats_free(&res->stats);
}
