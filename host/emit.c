/* emit.c - the emitter: streams, state mapping and deduplication, and the
 * JSONL format; Singer and Airbyte messages are in emit_singer.c and
 * emit_airbyte.c. See emit.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "emit.h"
#include "error.h"
#include "jsonw.h"

struct emit_stream {
  char *name;                   /* owned */
  char *namespace;              /* owned, or NULL */
  json_t *schema;               /* owned reference, NULL if undeclared */
  json_t *key_properties;       /* owned reference, or NULL */
  json_t *bookmark_properties;  /* owned: [replication_key], or NULL */
  int schema_written;           /* Singer: SCHEMA already on the output */
  uint64_t records_since_state; /* Airbyte sourceStats.recordCount */
  struct buf last_state;        /* Airbyte: last stream_state written */
};

struct emit {
  enum emit_format format;
  struct emit_stream *streams;
  size_t nstreams, cap;
  json_t *index;                /* name -> integer index into streams */
  size_t last;                  /* index of the last stream used */
  uint64_t records_since_state; /* all streams (Airbyte GLOBAL) */
  struct buf last_state;        /* last state written, as text */
  int have_state;
};

int emit_format_parse(const char *name, enum emit_format *format,
                      struct integ_error *err)
{
  if (strcmp(name, "singer") == 0)
    *format = EMIT_SINGER;
  else if (strcmp(name, "airbyte") == 0)
    *format = EMIT_AIRBYTE;
  else if (strcmp(name, "jsonl") == 0)
    *format = EMIT_JSONL;
  else
    return error_set(err, INTEG_ECONFIG,
                     "output format '%s': expected singer, airbyte or jsonl",
                     name);
  return 0;
}

const char *emit_format_name(enum emit_format format)
{
  switch (format) {
  case EMIT_SINGER:
    return "singer";
  case EMIT_AIRBYTE:
    return "airbyte";
  case EMIT_JSONL:
    return "jsonl";
  }
  return "?";
}

int emit_new(enum emit_format format, struct emit **out,
             struct integ_error *err)
{
  struct emit *e = calloc(1, sizeof *e);

  *out = NULL;
  if (!e || !(e->index = json_object())) {
    free(e);
    return error_set(err, INTEG_ENOMEM, "out of memory creating an emitter");
  }
  e->format = format;
  *out = e;
  return 0;
}

void emit_free(struct emit *e)
{
  size_t i;

  if (!e)
    return;
  for (i = 0; i < e->nstreams; i++) {
    struct emit_stream *s = &e->streams[i];

    free(s->name);
    free(s->namespace);
    json_decref(s->schema);
    json_decref(s->key_properties);
    json_decref(s->bookmark_properties);
    buf_free(&s->last_state);
  }
  free(e->streams);
  json_decref(e->index);
  buf_free(&e->last_state);
  free(e);
}

enum emit_format emit_get_format(const struct emit *e)
{
  return e->format;
}

static struct emit_stream *find(struct emit *e, const char *name)
{
  json_t *ix;

  if (e->last < e->nstreams && strcmp(e->streams[e->last].name, name) == 0)
    return &e->streams[e->last];
  ix = json_object_get(e->index, name);
  if (!ix)
    return NULL;
  e->last = (size_t)json_integer_value(ix);
  return &e->streams[e->last];
}

/* A new, empty stream entry named name. NULL when out of memory. */
static struct emit_stream *add(struct emit *e, const char *name)
{
  struct emit_stream *s;

  if (e->nstreams == e->cap) {
    size_t cap = e->cap ? e->cap * 2 : 8;
    struct emit_stream *p = realloc(e->streams, cap * sizeof *p);

    if (!p)
      return NULL;
    e->streams = p;
    e->cap = cap;
  }
  s = &e->streams[e->nstreams];
  memset(s, 0, sizeof *s);
  s->name = strdup(name);
  if (!s->name)
    return NULL;
  if (json_object_set_new(e->index, name,
                          json_integer((json_int_t)e->nstreams))) {
    free(s->name);
    return NULL;
  }
  e->last = e->nstreams++;
  return s;
}

static int add_described(struct emit *e, json_t *desc, size_t i,
                         struct integ_error *err)
{
  json_t *name = json_object_get(desc, "stream");
  json_t *schema = json_object_get(desc, "schema");
  json_t *keys = json_object_get(desc, "key_properties");
  json_t *rk = json_object_get(desc, "replication_key");
  json_t *ns = json_object_get(desc, "namespace");
  struct emit_stream *s;
  size_t k;

  if (!json_is_object(desc))
    return error_set(err, INTEG_EPLUGIN,
                     "discover()[%zu]: expected an object {\"stream\": NAME, "
                     "\"schema\": {...}}",
                     i);
  if (!json_is_string(name) || !json_string_length(name))
    return error_set(err, INTEG_EPLUGIN,
                     "discover()[%zu].stream: expected a non-empty string", i);
  if (!json_is_object(schema))
    return error_set(err, INTEG_EPLUGIN,
                     "discover()[%zu].schema: expected a JSON Schema object "
                     "(stream '%s')",
                     i, json_string_value(name));
  if (keys && !json_is_array(keys))
    return error_set(err, INTEG_EPLUGIN,
                     "discover()[%zu].key_properties: expected an array of "
                     "property names",
                     i);
  for (k = 0; k < json_array_size(keys); k++)
    if (!json_is_string(json_array_get(keys, k)))
      return error_set(err, INTEG_EPLUGIN,
                       "discover()[%zu].key_properties[%zu]: expected a "
                       "string",
                       i, k);
  if (rk && !json_is_null(rk) && !json_is_string(rk))
    return error_set(err, INTEG_EPLUGIN,
                     "discover()[%zu].replication_key: expected a string", i);
  if (ns && !json_is_null(ns) && !json_is_string(ns))
    return error_set(err, INTEG_EPLUGIN,
                     "discover()[%zu].namespace: expected a string", i);
  s = find(e, json_string_value(name));
  if (s && s->schema)
    return error_set(err, INTEG_EPLUGIN,
                     "discover()[%zu].stream: stream '%s' is declared twice",
                     i, json_string_value(name));
  if (!s && !(s = add(e, json_string_value(name))))
    goto out;
  s->schema = json_incref(schema);
  s->key_properties = keys ? json_incref(keys) : NULL;
  if (json_is_string(rk) && !(s->bookmark_properties = json_pack("[O]", rk)))
    goto out;
  if (json_is_string(ns) && !(s->namespace = strdup(json_string_value(ns))))
    goto out;
  return 0;
out: /* only allocations fail past the checks above */
  return error_set(err, INTEG_ENOMEM, "out of memory registering streams");
}

int emit_add_stream(struct emit *e, json_t *desc, struct integ_error *err)
{
  return add_described(e, desc, 0, err);
}

int emit_add_streams(struct emit *e, json_t *streams, struct integ_error *err)
{
  size_t i;
  int rc;

  if (!json_is_array(streams))
    return error_set(err, INTEG_EPLUGIN,
                     "discover(): expected an array of streams");
  for (i = 0; i < json_array_size(streams); i++)
    if ((rc = add_described(e, json_array_get(streams, i), i, err)))
      return rc;
  return 0;
}

static int write_schema(struct buf *out, struct emit_stream *s,
                        struct integ_error *err)
{
  int rc = emit_singer_schema(out, s->name, s->schema, s->key_properties,
                              s->bookmark_properties, err);

  if (!rc)
    s->schema_written = 1;
  return rc;
}

int emit_schema(struct emit *e, struct buf *out, const char *stream,
                struct integ_error *err)
{
  struct emit_stream *s = find(e, stream);

  if (!s || !s->schema)
    return error_set(err, INTEG_ENOTFOUND,
                     "stream '%s' is not among the streams the plugin's "
                     "discover() declared",
                     stream);
  if (e->format != EMIT_SINGER)
    return 0;
  return write_schema(out, s, err);
}

static int jsonl_record(struct buf *out, const char *stream, json_t *record,
                        struct integ_error *err)
{
  size_t start = out->len;
  int rc;

  if ((rc = jsonw_value(out, record, 0)) || (rc = buf_append(out, "\n", 1))) {
    out->len = start;
    if (out->data)
      out->data[start] = '\0';
    if (rc == INTEG_ENOMEM)
      return error_set(err, rc, "out of memory writing a record");
    return error_set(err, rc,
                     "cannot write a record of stream '%s': it holds a "
                     "string that is not valid UTF-8, a real that is not "
                     "finite, or nesting deeper than %d",
                     stream, JSONW_MAX_DEPTH);
  }
  return 0;
}

/* Singer's stream of a record: declared by discover(), with a schema;
 * else NULL with INTEG_EPLUGIN saying so. */
static struct emit_stream *singer_stream(struct emit *e, const char *stream,
                                         struct integ_error *err)
{
  struct emit_stream *s = find(e, stream);

  if (!s || !s->schema)
    error_set(err, INTEG_EPLUGIN,
              "the plugin emitted a record for stream '%s', which its "
              "discover() did not declare: Singer needs the stream's schema "
              "first",
              stream);
  return s && s->schema ? s : NULL;
}

int emit_record(struct emit *e, struct buf *out, const char *stream,
                json_t *record, int64_t now_ms, struct integ_error *err)
{
  struct emit_stream *s;
  size_t start = out->len;
  int rc, wrote_schema;

  if (!json_is_object(record))
    return error_set(err, INTEG_EPLUGIN,
                     "the plugin emitted a record for stream '%s' that is "
                     "not a JSON object: records must be objects",
                     stream);
  switch (e->format) {
  case EMIT_SINGER:
    if (!(s = singer_stream(e, stream, err)))
      return INTEG_EPLUGIN;
    wrote_schema = !s->schema_written;
    if (wrote_schema && (rc = write_schema(out, s, err)))
      return rc;
    rc = emit_singer_record(out, stream, record, now_ms, err);
    if (rc && wrote_schema) {
      /* All or nothing: drop the SCHEMA this call wrote too. */
      out->len = start;
      out->data[start] = '\0';
      s->schema_written = 0;
    }
    return rc;
  case EMIT_AIRBYTE:
    s = find(e, stream);
    if (!s && !(s = add(e, stream)))
      return error_set(err, INTEG_ENOMEM, "out of memory writing a record");
    rc = emit_airbyte_record(out, stream, s->namespace, record, now_ms, err);
    if (!rc) {
      s->records_since_state++;
      e->records_since_state++;
    }
    return rc;
  case EMIT_JSONL:
    return jsonl_record(out, stream, record, err);
  }
  return error_set(err, INTEG_EINVAL, "unknown output format");
}

int emit_page_begin(struct emit *e, struct buf *out, const char *stream,
                    const char **namespace, int *ready,
                    struct integ_error *err)
{
  struct emit_stream *s;

  *namespace = NULL;
  *ready = 1;
  switch (e->format) {
  case EMIT_SINGER:
    if (!(s = singer_stream(e, stream, err)))
      return INTEG_EPLUGIN;
    if (!s->schema_written) {
      if (!out) {
        *ready = 0;
        return 0;
      }
      return write_schema(out, s, err);
    }
    return 0;
  case EMIT_AIRBYTE:
    s = find(e, stream);
    if (!s && !(s = add(e, stream)))
      return error_set(err, INTEG_ENOMEM, "out of memory writing a record");
    *namespace = s->namespace;
    return 0;
  case EMIT_JSONL:
    return 0;
  }
  return error_set(err, INTEG_EINVAL, "unknown output format");
}

void emit_page_done(struct emit *e, const char *stream, size_t records)
{
  struct emit_stream *s;

  if (e->format != EMIT_AIRBYTE || !(s = find(e, stream)))
    return;
  s->records_since_state += records;
  e->records_since_state += records;
}

/* Serialise v into tmp (reset first); 0 or a jsonw error. */
static int text_of(struct buf *tmp, json_t *v)
{
  buf_reset(tmp);
  return jsonw_value(tmp, v, 0);
}

static int same_text(const struct buf *a, const struct buf *b)
{
  return a->len == b->len &&
         (a->len == 0 || !memcmp(a->data, b->data, a->len));
}

/* Keep tmp's text as the last state (tmp gets the old buffer back). */
static void swap_in(struct buf *keep, struct buf *tmp)
{
  struct buf t = *keep;

  *keep = *tmp;
  *tmp = t;
}

/* Airbyte: can the state be written per stream? */
static int per_stream(struct emit *e, json_t *state)
{
  const char *key;
  json_t *v;

  if (!json_object_size(state))
    return 0;
  json_object_foreach(state, key, v)
  {
    if (!json_is_object(v) || !find(e, key))
      return 0;
  }
  return 1;
}

/* text_of failed with rc: say why. */
static int state_text_error(int rc, struct integ_error *err)
{
  return error_set(err, rc,
                   rc == INTEG_ENOMEM
                       ? "out of memory writing a state"
                       : "cannot write the plugin's state: it holds a string "
                         "that is not valid UTF-8, a real that is not finite, "
                         "or nesting too deep");
}

static int airbyte_state(struct emit *e, struct buf *out, json_t *state,
                         struct integ_error *err)
{
  struct buf tmp = BUF_INIT;
  size_t start = out->len;
  const char *key;
  json_t *v;
  int rc = 0;

  if (!per_stream(e, state)) {
    if ((rc = text_of(&tmp, state))) {
      rc = state_text_error(rc, err);
      goto out;
    }
    if (e->have_state && same_text(&tmp, &e->last_state))
      goto out;
    rc = emit_airbyte_state_global(out, state, NULL, e->records_since_state,
                                   err);
    if (rc)
      goto out; /* it has undone its own message */
    swap_in(&e->last_state, &tmp);
    e->have_state = 1;
    e->records_since_state = 0;
    for (size_t i = 0; i < e->nstreams; i++)
      e->streams[i].records_since_state = 0;
    goto out;
  }
  /* First the messages, then the bookkeeping, so a failure leaves both as
   * they were. */
  json_object_foreach(state, key, v)
  {
    struct emit_stream *s = find(e, key);

    if ((rc = text_of(&tmp, v))) {
      rc = state_text_error(rc, err);
      goto out;
    }
    if (s->last_state.data && same_text(&tmp, &s->last_state))
      continue;
    rc = emit_airbyte_state_stream(out, key, s->namespace, v,
                                   s->records_since_state, err);
    if (rc)
      goto out;
  }
  json_object_foreach(state, key, v)
  {
    struct emit_stream *s = find(e, key);

    if ((rc = text_of(&tmp, v))) {
      rc = state_text_error(rc, err);
      goto out;
    }
    if (s->last_state.data && same_text(&tmp, &s->last_state))
      continue;
    e->records_since_state -= s->records_since_state;
    s->records_since_state = 0;
    swap_in(&s->last_state, &tmp);
  }
out:
  if (rc) { /* no message of this state stays half written */
    out->len = start;
    if (out->data)
      out->data[start] = '\0';
  }
  buf_free(&tmp);
  return rc;
}

int emit_state(struct emit *e, struct buf *out, json_t *state, int64_t now_ms,
               struct integ_error *err)
{
  struct buf tmp = BUF_INIT;
  json_t *value = NULL;
  int rc = 0;

  (void)now_ms; /* no format stamps its state messages (yet) */
  if (!json_is_object(state))
    return error_set(err, INTEG_EPLUGIN,
                     "the plugin's state must be a JSON object");
  switch (e->format) {
  case EMIT_JSONL:
    return 0;
  case EMIT_AIRBYTE:
    return airbyte_state(e, out, state, err);
  case EMIT_SINGER:
    break;
  }
  value = json_pack("{sO}", "bookmarks", state);
  if (!value)
    return error_set(err, INTEG_ENOMEM, "out of memory writing a state");
  /* Compare the whole line's text: cheap, and exactly "identical". */
  rc = emit_singer_state(&tmp, value, err);
  if (rc)
    goto out;
  if (e->have_state && same_text(&tmp, &e->last_state))
    goto out;
  if ((rc = buf_append(out, tmp.data, tmp.len))) {
    error_set(err, rc, "out of memory writing a state");
    goto out;
  }
  swap_in(&e->last_state, &tmp);
  e->have_state = 1;
out:
  json_decref(value);
  buf_free(&tmp);
  return rc;
}
