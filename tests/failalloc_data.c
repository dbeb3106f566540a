/* failalloc_data.c - every allocation of JSONPath (compile and query) and
 * of schedules (parse, next fire times, time zones) fails in turn (see
 * failalloc.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "error.h"
#include "failalloc.h"
#include "jsonpath.h"
#include "schedule.h"

/* ------------------------------------------------------- jsonpath */

static const char doc_text[] =
    "{\"store\": {\"book\": ["
    " {\"category\": \"reference\", \"author\": \"Nigel Rees\","
    "  \"title\": \"Sayings of the Century\", \"price\": 8.95},"
    " {\"category\": \"fiction\", \"author\": \"Evelyn Waugh\","
    "  \"title\": \"Sword of Honour\", \"price\": 12.99},"
    " {\"category\": \"fiction\", \"author\": \"J. R. R. Tolkien\","
    "  \"title\": \"The Lord of the Rings\", \"isbn\": \"0-395-19395-8\","
    "  \"price\": 22.99}],"
    " \"bicycle\": {\"color\": \"red\", \"price\": 399},"
    " \"o'dd key\": [1, 2, 3]}}";

/* Compile the query, evaluate it with paths, describe the nodes. */
static int jsonpath_query(void *arg, struct integ_error *err)
{
  const char *q = arg;
  json_t *doc;
  struct jsonpath *jp = NULL;
  struct jsonpath_nodes nodes = {0, NULL, NULL};
  struct buf b = BUF_INIT;
  int rc;

  failalloc_pause();
  doc = json_loads(doc_text, 0, NULL);
  failalloc_resume();
  if (!doc)
    abort();
  rc = jsonpath_compile(q, strlen(q), &jp, err);
  if (rc)
    goto out;
  rc = jsonpath_eval(jp, doc, JSONPATH_PATHS, &nodes, err);
  if (rc)
    goto out;
  failalloc_pause();
  for (size_t i = 0; i < nodes.n; i++) {
    char *v = json_dumps(nodes.values[i],
                         JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
    if (!v || buf_printf(&b, "%s = %s\n", nodes.paths[i], v))
      abort();
    free(v);
  }
  failalloc_result(b.data ? b.data : "", b.len);
  buf_free(&b);
  failalloc_resume();
out:
  jsonpath_nodes_free(&nodes);
  jsonpath_free(jp);
  json_decref(doc);
  return rc;
}

/* An invalid query: the same message, or INTEG_ENOMEM. */
static int jsonpath_invalid(void *arg, struct integ_error *err)
{
  const char *q = arg;
  struct jsonpath *jp = NULL;
  int rc;

  rc = jsonpath_compile(q, strlen(q), &jp, err);
  jsonpath_free(jp);
  if (rc == INTEG_EINVAL) {
    failalloc_result(err->message, strlen(err->message));
    rc = 0;
  } else if (rc == 0) {
    rc = error_set(err, INTEG_EINVAL, "compiled an invalid query");
  }
  return rc;
}

/* ------------------------------------------------------- schedule */

struct sched {
  const char *expr;
  const char *tz;
  const char *jitter;
};

/* Parse, set jitter, and list the next fire times from a fixed instant. */
static int schedule_fires(void *arg, struct integ_error *err)
{
  const struct sched *a = arg;
  struct schedule *s = NULL;
  struct schedule_where where = {NULL, 0};
  struct buf b = BUF_INIT;
  int64_t t = 1767225600; /* 2026-01-01T00:00:00Z */
  int rc;

  rc = schedule_parse(a->expr, a->tz, &s, &where, err);
  if (rc)
    goto out;
  if (a->jitter) {
    rc = schedule_set_jitter(s, a->jitter, err);
    if (rc)
      goto out;
  }
  for (int i = 0; i < 8; i++) {
    char when[64];
    rc = schedule_next(s, t, &t, err);
    if (rc)
      goto out;
    tz_format(t, schedule_zone(s), when, sizeof when);
    failalloc_pause();
    if (buf_printf(&b, "%s %lld\n", when,
                   (long long)schedule_jitter(s, "conn", t)))
      abort();
    failalloc_resume();
  }
  failalloc_result(b.data, b.len);
out:
  failalloc_pause();
  buf_free(&b);
  failalloc_resume();
  schedule_free(s);
  return rc;
}

static int schedule_zone_load(void *arg, struct integ_error *err)
{
  struct tz *tz = NULL;
  char text[64];
  int rc;

  rc = tz_load(arg, &tz, err);
  if (rc)
    return rc;
  snprintf(text, sizeof text, "%s %ld", tz_name(tz),
           (long)tz_offset(tz, 1767225600));
  failalloc_result(text, strlen(text));
  tz_free(tz);
  return 0;
}

static const struct sched cron_utc = {"*/15 9-17 * * mon-fri", "UTC", NULL};
static const struct sched cron_berlin = {"30 2 * * *", "Europe/Berlin", "10%"};
static const struct sched every = {"every 90m from 2026-01-01T00:10:00Z",
                                   "America/New_York", "30s"};

int main(void)
{
  static const struct failalloc_case cases[] = {
      {"jsonpath: names, wildcards, slices", jsonpath_query,
       (void *)"$.store.book[1:3].title", 0},
      {"jsonpath: descendants and unions", jsonpath_query,
       (void *)"$..['price','color'][?@ != 'x']", 0},
      {"jsonpath: filters with functions", jsonpath_query,
       (void *)"$.store.book[?length(@.author) > 10 && @.price < 20"
               " || count(@.*) > 5 || value(@.isbn) == '0-395-19395-8']",
       0},
      /* An I-Regexp that cannot be compiled for want of memory is an
       * error, not "no I-Regexp" (always false): a constant pattern, and
       * one taken from the document. */
      {"jsonpath: match() and search()", jsonpath_query,
       (void *)"$.store.book[?match(@.category, 'fic[a-z]+') && "
               "search(@.author, $.store.book[1].author) || "
               "search(@.author, 'R\\\\.')]",
       0},
      {"jsonpath: escaped names in normalized paths", jsonpath_query,
       (void *)"$.store[\"o'dd key\"][-1]", 0},
      {"jsonpath: an invalid query", jsonpath_invalid,
       (void *)"$.store[?@.price > ]", 0},
      {"schedule: cron in UTC", schedule_fires, (void *)&cron_utc, 0},
      {"schedule: cron in Europe/Berlin with jitter", schedule_fires,
       (void *)&cron_berlin, 0},
      {"schedule: every 90m from an anchor", schedule_fires, (void *)&every,
       0},
      {"schedule: a time zone is loaded", schedule_zone_load,
       (void *)"Australia/Lord_Howe", 0},
  };

  return failalloc_main(cases, sizeof cases / sizeof cases[0]);
}
