/* scenario.c - the test API server's script and its state. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "collection.h"
#include "scenario.h"
#include "util.h"

/* The prefix of the control endpoints, which no route may use. */
#define CONTROL_PREFIX "/_testapi"

struct response_spec {
  int status;
  unsigned char *body; /* owned; may be NULL when len is 0 */
  size_t len;
  json_t *headers;          /* owned, or NULL */
  const char *content_type; /* default Content-Type, or NULL */
  struct transport t;
};

struct route {
  const char *method;  /* borrowed from the doc; "*" for any */
  const char *pattern; /* borrowed from the doc */
  struct response_spec *responses;
  size_t nresponses;
  int cycle;
  struct collection *coll; /* owned, or NULL */
  size_t served;           /* responses handed out so far */
  size_t grown;            /* records the collection gained */
};

struct failure {
  char *route;
  char *method; /* NULL: any */
  char *retry_after;
  size_t count;
  int status;
};

struct scenario {
  json_t *doc; /* owned reference */
  struct route *routes;
  size_t nroutes;
  struct failure *fails;
  size_t nfails;
};

static const char *const route_keys[] = {
    "method", "path", "responses", "mode", "collection", "description", NULL};
static const char *const response_keys[] = {"status",    "body",        "json",
                                            "body_file", "description", NULL};

static int known(const char *key, const char *const *keys)
{
  size_t i;

  for (i = 0; keys[i]; i++)
    if (strcmp(key, keys[i]) == 0)
      return 1;
  return 0;
}

/* Check a route pattern: absolute, parameters are whole segments. */
static int check_pattern(const char *p, const char *where,
                         struct integ_error *err)
{
  const char *close;

  if (p[0] != '/')
    return util_error_set(err, INTEG_ECONFIG,
                          "%s.path: \"%s\" must start with /", where, p);
  if (strncmp(p, CONTROL_PREFIX, strlen(CONTROL_PREFIX)) == 0 &&
      (p[strlen(CONTROL_PREFIX)] == '/' || !p[strlen(CONTROL_PREFIX)]))
    return util_error_set(err, INTEG_ECONFIG,
                          "%s.path: \"%s\" is under %s/, which is reserved "
                          "for the control endpoints",
                          where, p, CONTROL_PREFIX);
  for (; *p; p++) {
    if (*p != '{')
      continue;
    close = strchr(p, '}');
    if (p[-1] != '/' || !close || close == p + 1 ||
        (close[1] && close[1] != '/') || memchr(p, '/', (size_t)(close - p)))
      return util_error_set(err, INTEG_ECONFIG,
                            "%s.path: a parameter must be a whole segment "
                            "such as /users/{id}/orders",
                            where);
    p = close;
  }
  return 0;
}

/* Match path against pattern, filling params (may be NULL). */
static int match_path(const char *pattern, const char *path, json_t *params)
{
  const char *p = pattern, *q = path, *close, *end;
  json_t *v;
  char *name;

  while (*p && *q) {
    if (*p == '{') {
      close = strchr(p, '}');
      end = strchr(q, '/');
      if (!end)
        end = q + strlen(q);
      if (end == q)
        return 0;
      if (params) {
        name = strndup(p + 1, (size_t)(close - p - 1));
        v = json_stringn(q, (size_t)(end - q));
        if (!name || !v || json_object_set_new(params, name, v)) {
          free(name);
          return 0;
        }
        free(name);
      }
      p = close + 1;
      q = end;
      continue;
    }
    if (*p != *q)
      return 0;
    p++;
    q++;
  }
  return !*p && !*q;
}

static void response_free(struct response_spec *rs)
{
  json_decref(rs->headers);
  free(rs->body);
}

static int parse_response(json_t *spec, const char *where,
                          const char *base_dir, struct response_spec *rs,
                          struct integ_error *err)
{
  json_t *v, *body, *js, *file;
  const char *key, *fname;
  char *path = NULL;
  int rc, n = 0;

  memset(rs, 0, sizeof(*rs));
  rs->status = 200;
  if (!json_is_object(spec))
    return util_error_set(err, INTEG_ECONFIG, "%s: expected an object", where);
  json_object_foreach(spec, key, v)
  {
    if (!known(key, response_keys) && !reply_is_transport_key(key))
      return util_error_set(err, INTEG_ECONFIG,
                            "%s: unknown key \"%s\" (known: status, body, "
                            "json, body_file, headers, delay_ms, "
                            "chunk_delay_ms, chunk_size, chunked, "
                            "truncate_at, gzip, close)",
                            where, key);
  }
  v = json_object_get(spec, "status");
  if (v && (!json_is_integer(v) || json_integer_value(v) < 100 ||
            json_integer_value(v) > 599))
    return util_error_set(err, INTEG_ECONFIG,
                          "%s.status: expected an HTTP status from 100 to "
                          "599",
                          where);
  if (v)
    rs->status = (int)json_integer_value(v);
  if ((rc = reply_parse_transport(spec, where, &rs->t, &rs->headers, err)))
    return rc;

  body = json_object_get(spec, "body");
  js = json_object_get(spec, "json");
  file = json_object_get(spec, "body_file");
  n = !!body + !!js + !!file;
  if (n > 1)
    return util_error_set(err, INTEG_ECONFIG,
                          "%s: give at most one of body, json and "
                          "body_file",
                          where);
  if (body) {
    if (!json_is_string(body))
      return util_error_set(err, INTEG_ECONFIG,
                            "%s.body: expected a string (use \"json\" for "
                            "a JSON value)",
                            where);
    rs->len = json_string_length(body);
    rs->body = malloc(rs->len + 1);
    if (!rs->body)
      return util_error_set(err, INTEG_ENOMEM, "%s: out of memory", where);
    memcpy(rs->body, json_string_value(body), rs->len);
  } else if (js) {
    struct reply tmp;

    reply_init(&tmp);
    if (reply_set_json(&tmp, js, JSON_COMPACT)) {
      reply_clear(&tmp);
      return util_error_set(err, INTEG_ENOMEM, "%s: out of memory", where);
    }
    rs->body = tmp.body;
    rs->len = tmp.len;
    tmp.body = NULL;
    reply_clear(&tmp);
    rs->content_type = "application/json";
  } else if (file) {
    if (!json_is_string(file))
      return util_error_set(err, INTEG_ECONFIG,
                            "%s.body_file: expected a file name", where);
    fname = json_string_value(file);
    if (fname[0] != '/' && base_dir) {
      size_t n1 = strlen(base_dir), n2 = strlen(fname);

      path = malloc(n1 + n2 + 2);
      if (!path)
        return util_error_set(err, INTEG_ENOMEM, "%s: out of memory", where);
      memcpy(path, base_dir, n1);
      path[n1] = '/';
      memcpy(path + n1 + 1, fname, n2 + 1);
    }
    rc = util_read_file(path ? path : fname, &rs->body, &rs->len, err);
    if (rc) {
      char msg[INTEG_ERROR_MAX];

      snprintf(msg, sizeof(msg), "%s", err ? err->message : "");
      util_error_set(err, INTEG_ECONFIG, "%s.body_file: %s", where, msg);
      free(path);
      return INTEG_ECONFIG;
    }
    if (strlen(fname) > 5 && strcmp(fname + strlen(fname) - 5, ".json") == 0)
      rs->content_type = "application/json";
    free(path);
  }
  return 0;
}

static int parse_route(json_t *spec, size_t idx, const char *base_dir,
                       uint64_t seed, struct route *rt,
                       struct integ_error *err)
{
  char where[64], rwhere[96];
  json_t *v, *responses, *coll;
  const char *key;
  size_t i;
  int rc;

  snprintf(where, sizeof(where), "routes[%zu]", idx);
  if (!json_is_object(spec))
    return util_error_set(err, INTEG_ECONFIG, "%s: expected an object", where);
  json_object_foreach(spec, key, v)
  {
    if (!known(key, route_keys))
      return util_error_set(err, INTEG_ECONFIG,
                            "%s: unknown key \"%s\" (known: method, path, "
                            "responses, mode, collection)",
                            where, key);
  }
  v = json_object_get(spec, "method");
  if (v && (!json_is_string(v) || !*json_string_value(v)))
    return util_error_set(err, INTEG_ECONFIG,
                          "%s.method: expected a method such as \"GET\" "
                          "or \"*\"",
                          where);
  rt->method = v ? json_string_value(v) : "GET";
  v = json_object_get(spec, "path");
  if (!json_is_string(v))
    return util_error_set(err, INTEG_ECONFIG,
                          "%s.path: required, a path such as /users/{id}",
                          where);
  rt->pattern = json_string_value(v);
  if ((rc = check_pattern(rt->pattern, where, err)))
    return rc;
  v = json_object_get(spec, "mode");
  if (v &&
      (!json_is_string(v) || (strcmp(json_string_value(v), "cycle") &&
                              strcmp(json_string_value(v), "repeat_last"))))
    return util_error_set(err, INTEG_ECONFIG,
                          "%s.mode: expected \"repeat_last\" or \"cycle\"",
                          where);
  rt->cycle = v && strcmp(json_string_value(v), "cycle") == 0;

  responses = json_object_get(spec, "responses");
  coll = json_object_get(spec, "collection");
  if (!!responses == !!coll)
    return util_error_set(err, INTEG_ECONFIG,
                          "%s: give either \"responses\" (a list) or "
                          "\"collection\"",
                          where);
  if (coll) {
    snprintf(rwhere, sizeof(rwhere), "%s.collection", where);
    return collection_parse(coll, rwhere, seed, &rt->coll, err);
  }
  if (!json_is_array(responses) || json_array_size(responses) == 0)
    return util_error_set(err, INTEG_ECONFIG,
                          "%s.responses: expected a non-empty list", where);
  rt->responses = calloc(json_array_size(responses), sizeof(*rt->responses));
  if (!rt->responses)
    return util_error_set(err, INTEG_ENOMEM, "%s: out of memory", where);
  json_array_foreach(responses, i, v)
  {
    snprintf(rwhere, sizeof(rwhere), "%s.responses[%zu]", where, i);
    rc = parse_response(v, rwhere, base_dir, &rt->responses[i], err);
    if (rc)
      return rc;
    rt->nresponses++;
  }
  return 0;
}

/* Resolve each collection's rounds.follow to the route it names. */
static int link_rounds(struct scenario *sc, struct integ_error *err)
{
  const char *follow;
  size_t i, j;

  for (i = 0; i < sc->nroutes; i++) {
    if (!sc->routes[i].coll ||
        !(follow = collection_follows(sc->routes[i].coll)))
      continue;
    for (j = 0; j < sc->nroutes; j++)
      if (j != i && sc->routes[j].coll &&
          strcmp(sc->routes[j].pattern, follow) == 0 &&
          collection_link(sc->routes[i].coll, sc->routes[j].coll) == 0)
        break;
    if (j == sc->nroutes)
      return util_error_set(err, INTEG_ECONFIG,
                            "routes[%zu].collection.rounds.follow: no route "
                            "\"%s\" with a collection that has rounds "
                            "(add, update)",
                            i, follow);
  }
  return 0;
}

void scenario_set_round(struct scenario *sc, size_t round)
{
  for (size_t i = 0; i < sc->nroutes; i++)
    if (sc->routes[i].coll)
      collection_set_round(sc->routes[i].coll, round);
}

int scenario_load(json_t *doc, const char *base_dir, uint64_t seed,
                  struct scenario **out, struct integ_error *err)
{
  struct scenario *sc = NULL;
  json_t *routes, *v;
  const char *key;
  size_t i;
  int rc;

  if (!json_is_object(doc))
    return util_error_set(err, INTEG_ECONFIG,
                          "scenario: expected an object with \"routes\"");
  json_object_foreach(doc, key, v)
  {
    if (strcmp(key, "routes") && strcmp(key, "name") &&
        strcmp(key, "description") && strcmp(key, "oauth2"))
      return util_error_set(err, INTEG_ECONFIG,
                            "scenario: unknown key \"%s\" (known: routes, "
                            "name, description, oauth2)",
                            key);
  }
  routes = json_object_get(doc, "routes");
  if (routes && !json_is_array(routes))
    return util_error_set(err, INTEG_ECONFIG,
                          "scenario.routes: expected a list");
  sc = calloc(1, sizeof(*sc));
  if (!sc)
    return util_error_set(err, INTEG_ENOMEM, "scenario: out of memory");
  sc->doc = json_incref(doc);
  if (routes && json_array_size(routes)) {
    sc->routes = calloc(json_array_size(routes), sizeof(*sc->routes));
    if (!sc->routes) {
      rc = util_error_set(err, INTEG_ENOMEM, "scenario: out of memory");
      goto out;
    }
  }
  json_array_foreach(routes, i, v)
  {
    /* Count the route first so that a half-parsed one is freed too. */
    sc->nroutes++;
    rc = parse_route(v, i, base_dir, seed, &sc->routes[i], err);
    if (rc)
      goto out;
  }
  if ((rc = link_rounds(sc, err)))
    goto out;
  *out = sc;
  sc = NULL;
  rc = 0;
out:
  scenario_free(sc);
  return rc;
}

int scenario_load_file(const char *path, uint64_t seed, struct scenario **out,
                       struct integ_error *err)
{
  json_error_t jerr;
  json_t *doc;
  char *dir = NULL, *slash;
  int rc;

  doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  if (!doc)
    return util_error_set(err, INTEG_ECONFIG, "%s:%d:%d: %s", path, jerr.line,
                          jerr.column, jerr.text);
  dir = strdup(path);
  if (!dir) {
    json_decref(doc);
    return util_error_set(err, INTEG_ENOMEM, "out of memory");
  }
  slash = strrchr(dir, '/');
  if (slash)
    *slash = '\0';
  rc = scenario_load(doc, slash ? (*dir ? dir : "/") : NULL, seed, out, err);
  if (rc && err) {
    char msg[INTEG_ERROR_MAX];

    snprintf(msg, sizeof(msg), "%s", err->message);
    util_error_set(err, rc, "%s: %s", path, msg);
  }
  free(dir);
  json_decref(doc);
  return rc;
}

int scenario_empty(struct scenario **out, struct integ_error *err)
{
  json_t *doc = json_pack("{s:[]}", "routes");
  int rc;

  if (!doc)
    return util_error_set(err, INTEG_ENOMEM, "out of memory");
  rc = scenario_load(doc, NULL, 0, out, err);
  json_decref(doc);
  return rc;
}

void scenario_free(struct scenario *sc)
{
  size_t i, j;

  if (!sc)
    return;
  for (i = 0; i < sc->nroutes; i++) {
    for (j = 0; j < sc->routes[i].nresponses; j++)
      response_free(&sc->routes[i].responses[j]);
    free(sc->routes[i].responses);
    collection_free(sc->routes[i].coll);
  }
  free(sc->routes);
  for (i = 0; i < sc->nfails; i++) {
    free(sc->fails[i].route);
    free(sc->fails[i].method);
    free(sc->fails[i].retry_after);
  }
  free(sc->fails);
  json_decref(sc->doc);
  free(sc);
}

json_t *scenario_doc(const struct scenario *sc)
{
  return sc->doc;
}

size_t scenario_route_count(const struct scenario *sc)
{
  return sc->nroutes;
}

void scenario_reset(struct scenario *sc)
{
  size_t i;

  for (i = 0; i < sc->nroutes; i++) {
    sc->routes[i].served = 0;
    sc->routes[i].grown = 0;
  }
  for (i = 0; i < sc->nfails; i++) {
    free(sc->fails[i].route);
    free(sc->fails[i].method);
    free(sc->fails[i].retry_after);
  }
  free(sc->fails);
  sc->fails = NULL;
  sc->nfails = 0;
}

int scenario_inject_failure(struct scenario *sc, const char *route,
                            const char *method, size_t count, int status,
                            const char *retry_after)
{
  struct failure *nf, *f;

  nf = realloc(sc->fails, (sc->nfails + 1) * sizeof(*nf));
  if (!nf)
    return INTEG_ENOMEM;
  sc->fails = nf;
  f = &sc->fails[sc->nfails];
  memset(f, 0, sizeof(*f));
  f->route = strdup(route);
  f->method = method ? strdup(method) : NULL;
  f->retry_after = retry_after ? strdup(retry_after) : NULL;
  if (!f->route || (method && !f->method) ||
      (retry_after && !f->retry_after)) {
    free(f->route);
    free(f->method);
    free(f->retry_after);
    return INTEG_ENOMEM;
  }
  f->count = count;
  f->status = status;
  sc->nfails++;
  return 0;
}

/* Take one pending failure for this request, if any. */
static struct failure *take_failure(struct scenario *sc,
                                    const struct scenario_request *rq,
                                    const struct route *rt)
{
  struct failure *f;
  size_t i;

  for (i = 0; i < sc->nfails; i++) {
    f = &sc->fails[i];
    if (!f->count)
      continue;
    if (f->method && strcasecmp(f->method, rq->method) != 0)
      continue;
    if (strcmp(f->route, "*") == 0 || strcmp(f->route, rq->path) == 0 ||
        (rt && strcmp(f->route, rt->pattern) == 0)) {
      f->count--;
      return f;
    }
  }
  return NULL;
}

static int plan_response(const struct response_spec *rs, struct reply *r)
{
  r->status = rs->status;
  r->t = rs->t;
  if (rs->headers) {
    r->headers = json_deep_copy(rs->headers);
    if (!r->headers)
      return INTEG_ENOMEM;
  }
  if (rs->content_type && !reply_has_header(r, "Content-Type") &&
      reply_set_header(r, "Content-Type", rs->content_type))
    return INTEG_ENOMEM;
  if (rs->len) {
    r->body = malloc(rs->len);
    if (!r->body)
      return INTEG_ENOMEM;
    memcpy(r->body, rs->body, rs->len);
    r->len = rs->len;
  }
  return 0;
}

int scenario_respond(struct scenario *sc, const struct scenario_request *rq,
                     struct reply *r, const char **route)
{
  struct collection_request crq;
  struct route *rt = NULL;
  struct failure *f;
  json_t *params = NULL;
  char msg[256];
  size_t i, idx;
  int rc = INTEG_ENOMEM, path_matched = 0;

  *route = NULL;
  params = json_object();
  if (!params)
    return INTEG_ENOMEM;
  for (i = 0; i < sc->nroutes; i++) {
    if (!match_path(sc->routes[i].pattern, rq->path, NULL))
      continue;
    path_matched = 1;
    if (strcmp(sc->routes[i].method, "*") == 0 ||
        strcasecmp(sc->routes[i].method, rq->method) == 0) {
      rt = &sc->routes[i];
      break;
    }
  }
  if (rt && !match_path(rt->pattern, rq->path, params))
    goto out;

  f = take_failure(sc, rq, rt);
  if (f) {
    *route = rt ? rt->pattern : NULL;
    rc = reply_set_error(r, f->status, "injected failure");
    if (!rc && f->retry_after)
      rc = reply_set_header(r, "Retry-After", f->retry_after);
    goto out;
  }
  if (!rt) {
    snprintf(msg, sizeof(msg), "%s %s: %s", rq->method, rq->path,
             path_matched ? "method not allowed by the scenario"
                          : "no route in the scenario");
    rc = reply_set_error(r, path_matched ? 405 : 404, msg);
    goto out;
  }
  *route = rt->pattern;
  if (rt->coll) {
    crq.args = rq->args;
    crq.params = params;
    crq.path = rq->path;
    crq.base_url = rq->base_url;
    crq.grown = rt->grown;
    rc = collection_serve(rt->coll, &crq, r);
    /* Grow after a served page, so the next request sees more. */
    if (!rc && r->status == 200)
      rt->grown += collection_grow_step(rt->coll);
    goto out;
  }
  idx = rt->cycle
            ? rt->served % rt->nresponses
            : (rt->served < rt->nresponses ? rt->served : rt->nresponses - 1);
  rt->served++;
  rc = plan_response(&rt->responses[idx], r);
out:
  json_decref(params);
  return rc;
}
