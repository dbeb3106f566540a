/* catalog.c - Singer and Airbyte catalogs: selection and sync modes (see
 * catalog.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "error.h"

void catalog_free(struct catalog *c)
{
  if (!c)
    return;
  for (size_t i = 0; i < c->n; i++) {
    free(c->streams[i].name);
    free(c->streams[i].path);
    free(c->streams[i].replication_key);
    json_decref(c->streams[i].dropped);
    json_decref(c->streams[i].kept);
    json_decref(c->streams[i].primary_key);
  }
  free(c->streams);
  free(c->file);
  json_decref(c->index);
  free(c);
}

static int nomem(struct integ_error *err)
{
  return error_set(err, INTEG_ENOMEM, "out of memory reading a catalog");
}

/* A new catalog with room for n streams. */
static struct catalog *catalog_new(enum catalog_kind kind, const char *file,
                                   size_t n)
{
  struct catalog *c = calloc(1, sizeof(*c));

  if (!c)
    return NULL;
  c->kind = kind;
  c->file = strdup(file ? file : "-");
  c->index = json_object();
  c->streams = calloc(n ? n : 1, sizeof(*c->streams));
  if (!c->file || !c->index || !c->streams) {
    catalog_free(c);
    return NULL;
  }
  return c;
}

/* Take the next stream slot, named name, at "streams[i]". A stream named
 * twice is an error: which entry would win is not obvious. */
static int add_stream(struct catalog *c, const char *name, size_t i,
                      const char *at, struct catalog_stream **out,
                      struct integ_error *err)
{
  struct catalog_stream *s = &c->streams[c->n];
  char path[64];

  if (json_object_get(c->index, name))
    return error_set(err, INTEG_ECONFIG,
                     "catalog %s: streams[%zu]%s: stream '%s' is named "
                     "twice",
                     c->file, i, at, name);
  snprintf(path, sizeof(path), "streams[%zu]", i);
  s->name = strdup(name);
  s->path = strdup(path);
  if (!s->name || !s->path ||
      json_object_set_new(c->index, name, json_integer((json_int_t)c->n))) {
    free(s->name);
    free(s->path);
    s->name = s->path = NULL;
    return nomem(err);
  }
  c->n++;
  *out = s;
  return 0;
}

const struct catalog_stream *catalog_find(const struct catalog *c,
                                          const char *stream)
{
  json_t *ix;

  if (!c || !(ix = json_object_get(c->index, stream)))
    return NULL;
  return &c->streams[json_integer_value(ix)];
}

int catalog_selected(const struct catalog *c, const char *stream)
{
  const struct catalog_stream *s;

  if (!c)
    return 1;
  s = catalog_find(c, stream);
  return s && s->selected;
}

/* ------------------------------------------------------------ Singer */

/* A boolean member of a metadata object: 1/0, -1 when absent. */
static int md_bool(json_t *md, const char *key, const char *file,
                   const char *path, int *out, struct integ_error *err)
{
  json_t *v = json_object_get(md, key);

  *out = -1;
  if (!v || json_is_null(v))
    return 0;
  if (!json_is_boolean(v))
    return error_set(err, INTEG_ECONFIG,
                     "catalog %s: %s.metadata.%s: expected true or false",
                     file, path, key);
  *out = json_is_true(v);
  return 0;
}

/* A string member of a metadata object, or NULL (borrowed). */
static int md_string(json_t *md, const char *key, const char *file,
                     const char *path, const char **out,
                     struct integ_error *err)
{
  json_t *v = json_object_get(md, key);

  *out = NULL;
  if (!v || json_is_null(v))
    return 0;
  if (!json_is_string(v))
    return error_set(err, INTEG_ECONFIG,
                     "catalog %s: %s.metadata.%s: expected a string", file,
                     path, key);
  *out = json_string_value(v);
  return 0;
}

/* selected, else selected-by-default, else `dflt`. */
static int md_selected(json_t *md, const char *file, const char *path,
                       int dflt, int *out, struct integ_error *err)
{
  int sel, by_default, rc;

  rc = md_bool(md, "selected", file, path, &sel, err);
  if (rc)
    return rc;
  rc = md_bool(md, "selected-by-default", file, path, &by_default, err);
  if (rc)
    return rc;
  *out = sel >= 0 ? sel : by_default >= 0 ? by_default : dflt;
  return 0;
}

/* One metadata entry of a property: drop the field when deselected. */
static int singer_field(struct catalog *c, struct catalog_stream *s,
                        json_t *entry, json_t *bc, const char *path,
                        struct integ_error *err)
{
  json_t *md = json_object_get(entry, "metadata");
  const char *inclusion, *field;
  int keep, rc;

  /* Only top-level properties are projected; deeper breadcrumbs
   * (nested objects) are accepted and keep their whole parent. */
  if (json_array_size(bc) != 2)
    return 0;
  field = json_string_value(json_array_get(bc, 1));
  if (!field)
    return error_set(err, INTEG_ECONFIG,
                     "catalog %s: %s.breadcrumb[1]: expected a property name",
                     c->file, path);
  rc = md_string(md, "inclusion", c->file, path, &inclusion, err);
  if (rc)
    return rc;
  rc = md_selected(md, c->file, path, 1, &keep, err);
  if (rc)
    return rc;
  if (inclusion && strcmp(inclusion, "automatic") == 0)
    keep = 1;
  else if (inclusion && strcmp(inclusion, "unsupported") == 0)
    keep = 0;
  if (keep)
    return 0;
  if (!s->dropped && !(s->dropped = json_object()))
    return nomem(err);
  if (json_object_set_new(s->dropped, field, json_true()))
    return nomem(err);
  return 0;
}

/* The stream entry's metadata: selection, fields, replication. */
static int singer_stream(struct catalog *c, json_t *js, size_t i,
                         struct integ_error *err)
{
  json_t *id = json_object_get(js, "tap_stream_id");
  json_t *md_list = json_object_get(js, "metadata");
  json_t *root = NULL, *entry, *vrk, *legacy;
  const char *method = NULL, *forced = NULL, *rk = NULL, *name;
  struct catalog_stream *s;
  char path[96];
  size_t k;
  int rc;

  if (!json_is_object(js))
    return error_set(err, INTEG_ECONFIG,
                     "catalog %s: streams[%zu]: expected an object", c->file,
                     i);
  if (!id)
    id = json_object_get(js, "stream");
  if (!json_is_string(id) || !json_string_length(id))
    return error_set(err, INTEG_ECONFIG,
                     "catalog %s: streams[%zu].tap_stream_id: expected the "
                     "stream's name (a non-empty string)",
                     c->file, i);
  name = json_string_value(id);
  if (md_list && !json_is_array(md_list))
    return error_set(err, INTEG_ECONFIG,
                     "catalog %s: streams[%zu].metadata: expected an array "
                     "of {\"breadcrumb\": [...], \"metadata\": {...}}",
                     c->file, i);
  rc = add_stream(c, name, i, ".tap_stream_id", &s, err);
  if (rc)
    return rc;
  json_array_foreach(md_list, k, entry)
  {
    json_t *bc = json_object_get(entry, "breadcrumb");

    snprintf(path, sizeof(path), "streams[%zu].metadata[%zu]", i, k);
    if (!json_is_object(entry) || !json_is_array(bc) ||
        !json_is_object(json_object_get(entry, "metadata")))
      return error_set(err, INTEG_ECONFIG,
                       "catalog %s: %s: expected {\"breadcrumb\": [...], "
                       "\"metadata\": {...}}",
                       c->file, path);
    if (json_array_size(bc) == 0) {
      root = entry;
      continue;
    }
    if (strcmp(json_string_value(json_array_get(bc, 0)) ?: "", "properties"))
      return error_set(err, INTEG_ECONFIG,
                       "catalog %s: %s.breadcrumb: expected [] or "
                       "[\"properties\", NAME]",
                       c->file, path);
    rc = singer_field(c, s, entry, bc, path, err);
    if (rc)
      return rc;
  }
  /* Old catalogs put "selected" on the stream itself. */
  legacy = json_object_get(js, "selected");
  s->selected = json_is_boolean(legacy) ? json_is_true(legacy) : 1;
  if (root) {
    json_t *md = json_object_get(root, "metadata");
    size_t at = 0;

    json_array_foreach(md_list, at, entry) if (entry == root) break;
    snprintf(path, sizeof(path), "streams[%zu].metadata[%zu]", i, at);
    if ((rc =
             md_selected(md, c->file, path, s->selected, &s->selected, err)) ||
        (rc = md_string(md, "replication-method", c->file, path, &method,
                        err)) ||
        (rc = md_string(md, "forced-replication-method", c->file, path,
                        &forced, err)) ||
        (rc = md_string(md, "replication-key", c->file, path, &rk, err)))
      return rc;
    vrk = json_object_get(md, "valid-replication-keys");
    if (!rk && json_is_string(json_array_get(vrk, 0)))
      rk = json_string_value(json_array_get(vrk, 0));
  } else {
    snprintf(path, sizeof(path), "streams[%zu]", i);
  }
  if (!rk && json_is_string(json_object_get(js, "replication_key")))
    rk = json_string_value(json_object_get(js, "replication_key"));
  if (!method)
    method = forced;
  if (!method)
    method = rk ? "INCREMENTAL" : "FULL_TABLE";
  if (strcmp(method, "INCREMENTAL") == 0)
    s->incremental = 1;
  else if (strcmp(method, "FULL_TABLE") != 0)
    return error_set(err, INTEG_ECONFIG,
                     "catalog %s: %s.metadata.replication-method: '%s' is "
                     "not supported (use INCREMENTAL or FULL_TABLE)",
                     c->file, path, method);
  if (s->incremental && rk && !(s->replication_key = strdup(rk)))
    return nomem(err);
  return 0;
}

/* The part both catalog kinds share: {"streams": [...]}, one stream_fn
 * call per element; `expected` says what the file should look like. */
typedef int (*stream_fn)(struct catalog *c, json_t *stream, size_t i,
                         struct integ_error *err);

static int parse_streams(json_t *doc, const char *file, enum catalog_kind kind,
                         stream_fn each, const char *expected,
                         struct catalog **out, struct integ_error *err)
{
  json_t *streams = json_object_get(doc, "streams");
  struct catalog *c;
  int rc = 0;

  *out = NULL;
  if (!json_is_object(doc) || !json_is_array(streams))
    return error_set(err, INTEG_ECONFIG, "catalog %s: streams: expected %s",
                     file, expected);
  c = catalog_new(kind, file, json_array_size(streams));
  if (!c)
    return nomem(err);
  for (size_t i = 0; !rc && i < json_array_size(streams); i++)
    rc = each(c, json_array_get(streams, i), i, err);
  if (rc) {
    catalog_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

int catalog_parse_singer(json_t *doc, const char *file, struct catalog **out,
                         struct integ_error *err)
{
  return parse_streams(doc, file, CATALOG_SINGER, singer_stream,
                       "{\"streams\": [...]}, a Singer catalog as "
                       "`--discover` writes it",
                       out, err);
}

/* ----------------------------------------------------------- Airbyte */

/* Column selection: a json_schema listing properties keeps only those
 * (and the primary key's and the cursor's first fields); one without
 * properties, or with none listed, keeps every field. */
static int airbyte_columns(struct catalog_stream *s, json_t *stream,
                           json_t *cursor, struct integ_error *err)
{
  json_t *props =
      json_object_get(json_object_get(stream, "json_schema"), "properties");
  json_t *part, *v;
  const char *field;
  size_t k;

  if (!json_is_object(props) || !json_object_size(props))
    return 0;
  if (!(s->kept = json_object()))
    return nomem(err);
  json_object_foreach(props, field, v)
  {
    if (json_object_set_new(s->kept, field, json_true()))
      return nomem(err);
  }
  json_array_foreach(s->primary_key, k, part)
  {
    v = json_array_get(part, 0);
    if (json_is_string(v) &&
        json_object_set_new(s->kept, json_string_value(v), json_true()))
      return nomem(err);
  }
  v = json_array_get(cursor, 0);
  if (json_is_string(v) &&
      json_object_set_new(s->kept, json_string_value(v), json_true()))
    return nomem(err);
  return 0;
}

static int airbyte_stream(struct catalog *c, json_t *cs, size_t i,
                          struct integ_error *err)
{
  json_t *stream = json_object_get(cs, "stream");
  json_t *name = json_object_get(stream, "name");
  json_t *mode = json_object_get(cs, "sync_mode");
  json_t *dmode = json_object_get(cs, "destination_sync_mode");
  json_t *cursor = json_object_get(cs, "cursor_field");
  json_t *pk = json_object_get(cs, "primary_key"), *part, *v;
  struct catalog_stream *s;
  size_t k, j;
  int rc;

  if (!json_is_object(cs) || !json_is_object(stream))
    return error_set(err, INTEG_ECONFIG,
                     "catalog %s: streams[%zu].stream: expected the stream "
                     "object ({\"name\": ..., \"json_schema\": {...}})",
                     c->file, i);
  if (!json_is_string(name) || !json_string_length(name))
    return error_set(err, INTEG_ECONFIG,
                     "catalog %s: streams[%zu].stream.name: expected a "
                     "non-empty string",
                     c->file, i);
  if (!json_is_string(mode) ||
      (strcmp(json_string_value(mode), "full_refresh") &&
       strcmp(json_string_value(mode), "incremental")))
    return error_set(err, INTEG_ECONFIG,
                     "catalog %s: streams[%zu].sync_mode: expected "
                     "\"full_refresh\" or \"incremental\"",
                     c->file, i);
  if (!json_is_string(dmode))
    return error_set(err, INTEG_ECONFIG,
                     "catalog %s: streams[%zu].destination_sync_mode: "
                     "expected a string such as \"append\" or \"overwrite\"",
                     c->file, i);
  if (cursor && !json_is_array(cursor))
    return error_set(err, INTEG_ECONFIG,
                     "catalog %s: streams[%zu].cursor_field: expected an "
                     "array of strings (a path to the field)",
                     c->file, i);
  json_array_foreach(cursor, k, v) if (!json_is_string(v)) return error_set(
      err, INTEG_ECONFIG,
      "catalog %s: streams[%zu].cursor_field[%zu]: expected a string", c->file,
      i, k);
  if (json_array_size(cursor) > 1)
    return error_set(err, INTEG_ECONFIG,
                     "catalog %s: streams[%zu].cursor_field: a nested cursor "
                     "is not supported (expected one field name)",
                     c->file, i);
  if (pk && !json_is_array(pk))
    return error_set(err, INTEG_ECONFIG,
                     "catalog %s: streams[%zu].primary_key: expected an "
                     "array of field paths ([[\"id\"]])",
                     c->file, i);
  json_array_foreach(pk, k, part)
  {
    if (!json_is_array(part))
      return error_set(err, INTEG_ECONFIG,
                       "catalog %s: streams[%zu].primary_key[%zu]: expected "
                       "an array of strings",
                       c->file, i, k);
    json_array_foreach(part, j, v) if (!json_is_string(v)) return error_set(
        err, INTEG_ECONFIG,
        "catalog %s: streams[%zu].primary_key[%zu][%zu]: expected a string",
        c->file, i, k, j);
  }
  if ((rc =
           add_stream(c, json_string_value(name), i, ".stream.name", &s, err)))
    return rc;
  s->selected = 1;
  s->incremental = strcmp(json_string_value(mode), "incremental") == 0;
  if (s->incremental && json_array_size(cursor) &&
      !(s->replication_key =
            strdup(json_string_value(json_array_get(cursor, 0)))))
    return nomem(err);
  if (pk)
    s->primary_key = json_incref(pk);
  return airbyte_columns(s, stream, cursor, err);
}

int catalog_parse_airbyte(json_t *doc, const char *file, struct catalog **out,
                          struct integ_error *err)
{
  return parse_streams(doc, file, CATALOG_AIRBYTE, airbyte_stream,
                       "a configured catalog {\"streams\": [{\"stream\": "
                       "{...}, \"sync_mode\": ..., \"destination_sync_mode\": "
                       "...}]}",
                       out, err);
}

/* ------------------------------------------------------------- using */

/* discover()'s entry for `name`, or NULL (borrowed). */
static json_t *discovered(json_t *streams, const char *name)
{
  size_t i;
  json_t *d;

  json_array_foreach(streams, i, d)
  {
    json_t *n = json_object_get(d, "stream");

    if (json_is_string(n) && strcmp(json_string_value(n), name) == 0)
      return d;
  }
  return NULL;
}

int catalog_check(const struct catalog *c, json_t *streams,
                  struct integ_error *err)
{
  const char *cursor_key =
      c->kind == CATALOG_SINGER ? "metadata.replication-key" : "cursor_field";

  for (size_t i = 0; i < c->n; i++) {
    const struct catalog_stream *s = &c->streams[i];
    json_t *d = discovered(streams, s->name);
    json_t *rk = json_object_get(d, "replication_key");
    json_t *keys = json_object_get(d, "key_properties"), *k;
    size_t j;

    if (!d)
      return error_set(err, INTEG_ECONFIG,
                       "catalog %s: %s: the plugin has no stream '%s' (run "
                       "discover again and select from its catalog)",
                       c->file, s->path, s->name);
    if (!s->selected)
      continue;
    if (s->incremental && !json_is_string(rk))
      return error_set(err, INTEG_ECONFIG,
                       "catalog %s: %s: stream '%s' has no replication key, "
                       "so it can only be synced in full (%s)",
                       c->file, s->path, s->name,
                       c->kind == CATALOG_SINGER
                           ? "replication-method FULL_TABLE"
                           : "sync_mode full_refresh");
    if (s->incremental && s->replication_key &&
        strcmp(s->replication_key, json_string_value(rk)))
      return error_set(err, INTEG_ECONFIG,
                       "catalog %s: %s.%s: stream '%s' can only be synced "
                       "incrementally by '%s', not '%s'",
                       c->file, s->path, cursor_key, s->name,
                       json_string_value(rk), s->replication_key);
    json_array_foreach(keys, j, k) if (
        s->dropped &&
        json_object_get(
            s->dropped,
            json_string_value(
                k))) return error_set(err, INTEG_ECONFIG,
                                      "catalog %s: %s: field '%s' of stream "
                                      "'%s' is a key "
                                      "property and cannot be deselected",
                                      c->file, s->path, json_string_value(k),
                                      s->name);
  }
  return 0;
}

/* A shallow copy of the object o, or NULL when out of memory: jansson's
 * json_copy ignores a failed insertion and returns a partial copy. */
static json_t *copy_object(json_t *o)
{
  json_t *copy = json_object();

  if (copy && json_object_update(copy, o)) {
    json_decref(copy);
    copy = NULL;
  }
  return copy;
}

json_t *catalog_apply_streams(const struct catalog *c, json_t *streams)
{
  json_t *list = json_array(), *d, *result = NULL;
  size_t i;

  if (!list)
    return NULL;
  json_array_foreach(streams, i, d)
  {
    json_t *name = json_object_get(d, "stream");
    const struct catalog_stream *s =
        json_is_string(name) ? catalog_find(c, json_string_value(name)) : NULL;
    json_t *copy, *schema, *props;
    const char *field;
    json_t *v;

    if (!s || (!s->dropped && s->incremental)) {
      if (json_array_append(list, d))
        goto out;
      continue;
    }
    /* Copies down to "properties": the plugin's own stays untouched. */
    if (!json_is_object(json_object_get(d, "schema"))) {
      if (json_array_append(list, d))
        goto out;
      continue;
    }
    copy = copy_object(d);
    if (!copy || json_array_append_new(list, copy))
      goto out; /* append_new took copy */
    schema = copy_object(json_object_get(copy, "schema"));
    if (!schema || json_object_set_new(copy, "schema", schema))
      goto out;
    props = json_object_get(schema, "properties");
    if (!s->incremental)
      json_object_del(copy, "replication_key");
    if (s->dropped && json_is_object(props)) {
      props = copy_object(props);
      if (!props || json_object_set_new(schema, "properties", props))
        goto out;
      json_object_foreach(s->dropped, field, v) json_object_del(props, field);
    }
  }
  result = list;
  list = NULL;
out:
  json_decref(list);
  return result;
}

json_t *catalog_project(const struct catalog_stream *s, json_t *record,
                        int *nomem_flag)
{
  const char *field;
  json_t *v, *copy = NULL;

  *nomem_flag = 0;
  if (s && s->kept) {
    json_object_foreach(record, field, v)
    {
      if (json_object_get(s->kept, field))
        continue;
      if (!copy && !(copy = copy_object(record))) {
        *nomem_flag = 1;
        return NULL;
      }
      json_object_del(copy, field);
    }
    record = copy ? copy : record;
  }
  if (!s || !s->dropped)
    return copy;
  json_object_foreach(s->dropped, field, v)
  {
    if (!json_object_get(record, field))
      continue;
    if (!copy && !(copy = copy_object(record))) {
      *nomem_flag = 1;
      return NULL;
    }
    json_object_del(copy, field);
  }
  return copy;
}

int catalog_projects(const struct catalog_stream *s)
{
  return s && (s->kept || s->dropped);
}

int catalog_keeps(const void *arg, const char *field, size_t len)
{
  const struct catalog_stream *s = arg;

  return (!s->kept || json_object_getn(s->kept, field, len)) &&
         (!s->dropped || !json_object_getn(s->dropped, field, len));
}

json_t *catalog_strip_state(const struct catalog *c, json_t *state)
{
  json_t *out;

  if (!state)
    return NULL;
  if (!c || !json_is_object(state))
    return json_incref(state);
  out = copy_object(state);
  if (!out)
    return NULL;
  for (size_t i = 0; i < c->n; i++)
    if (c->streams[i].selected && !c->streams[i].incremental)
      json_object_del(out, c->streams[i].name);
  return out;
}

/* ---------------------------------------------------- catalog builders */

/* Builds the catalog entry of discover()[i] (borrowed) into *out (new). */
typedef int (*entry_fn)(json_t *d, size_t i, json_t **out,
                        struct integ_error *err);

static int build_nomem(struct integ_error *err)
{
  return error_set(err, INTEG_ENOMEM, "out of memory building the catalog");
}

/* The Singer catalog entry of one discover() element, with singer-sdk's
 * key order and metadata. */
static int singer_entry(json_t *d, size_t i, json_t **out,
                        struct integ_error *err)
{
  json_t *name = json_object_get(d, "stream");
  json_t *schema = json_object_get(d, "schema");
  json_t *keys = json_object_get(d, "key_properties");
  json_t *rk = json_object_get(d, "replication_key");
  json_t *entry = NULL, *md = NULL, *root = NULL;
  json_t *props = json_object_get(schema, "properties");
  json_t *v, *key;
  const char *field;
  size_t k;
  int rc = 0;

  if (!json_is_string(name) || !json_is_object(schema)) {
    rc = error_set(err, INTEG_EPLUGIN,
                   "discover()[%zu]: expected {\"stream\": NAME, \"schema\": "
                   "{...}}",
                   i);
    goto out;
  }
  if (!json_is_array(keys))
    keys = NULL;
  if (!json_is_string(rk))
    rk = NULL;
  entry = json_pack("{s:O}", "tap_stream_id", name);
  root = json_pack("{s:o}", "table-key-properties",
                   keys ? json_incref(keys) : json_array());
  md = json_array();
  if (!entry || !root || !md ||
      (rk && json_object_set(entry, "replication_key", rk)) ||
      json_object_set_new(entry, "replication_method",
                          json_string(rk ? "INCREMENTAL" : "FULL_TABLE")) ||
      json_object_set_new(entry, "key_properties",
                          keys ? json_incref(keys) : json_array()) ||
      json_object_set(entry, "schema", schema) ||
      json_object_set(entry, "stream", name) ||
      (rk ? json_object_set_new(root, "valid-replication-keys",
                                json_pack("[O]", rk))
          : json_object_set_new(root, "forced-replication-method",
                                json_string("FULL_TABLE"))) ||
      json_object_set_new(root, "inclusion", json_string("available")) ||
      json_object_set_new(root, "selected-by-default", json_true())) {
    rc = build_nomem(err);
    goto out;
  }
  /* json_pack steals root, also when it fails. */
  v = json_pack("{s:[], s:o}", "breadcrumb", "metadata", root);
  root = NULL;
  if (json_array_append_new(md, v)) {
    rc = build_nomem(err);
    goto out;
  }
  json_object_foreach(props, field, v)
  {
    int automatic = rk && strcmp(field, json_string_value(rk)) == 0;

    json_array_foreach(keys, k, key) automatic |=
        json_is_string(key) && strcmp(field, json_string_value(key)) == 0;
    if (json_array_append_new(
            md, json_pack("{s:[ss], s:{s:s, s:b}}", "breadcrumb", "properties",
                          field, "metadata", "inclusion",
                          automatic ? "automatic" : "available",
                          "selected-by-default", 1))) {
      rc = build_nomem(err);
      goto out;
    }
  }
  rc = json_object_set_new(entry, "metadata", md);
  md = NULL;
  if (rc) {
    rc = build_nomem(err);
    goto out;
  }
  *out = entry;
  entry = NULL;
out:
  json_decref(md);
  json_decref(root);
  json_decref(entry);
  return rc;
}

/* One AirbyteStream from a discover() element. */
static int airbyte_entry(json_t *desc, size_t i, json_t **out,
                         struct integ_error *err)
{
  json_t *name = json_object_get(desc, "stream");
  json_t *schema = json_object_get(desc, "schema");
  json_t *keys = json_object_get(desc, "key_properties");
  json_t *rk = json_object_get(desc, "replication_key");
  json_t *ns = json_object_get(desc, "namespace");
  json_t *s = NULL, *modes = NULL, *pk = NULL;
  size_t k;
  int rc = 0, bad = 0;

  if (!json_is_string(name) || !json_is_object(schema) ||
      (keys && !json_is_array(keys)) || (rk && !json_is_string(rk)) ||
      (ns && !json_is_string(ns))) {
    rc = error_set(err, INTEG_EPLUGIN,
                   "discover()[%zu]: expected {\"stream\": NAME, \"schema\": "
                   "{...}} with optional key_properties (array), "
                   "replication_key and namespace (strings)",
                   i);
    goto out;
  }
  for (k = 0; keys && k < json_array_size(keys); k++) {
    if (!json_is_string(json_array_get(keys, k))) {
      rc = error_set(err, INTEG_EPLUGIN,
                     "discover()[%zu].key_properties[%zu]: expected a "
                     "string",
                     i, k);
      goto out;
    }
  }
  s = json_object();
  modes = json_array();
  if (!s || !modes) {
    rc = build_nomem(err);
    goto out;
  }
  bad |= json_object_set(s, "name", name);
  bad |= json_object_set(s, "json_schema", schema);
  bad |= json_array_append_new(modes, json_string("full_refresh"));
  if (rk)
    bad |= json_array_append_new(modes, json_string("incremental"));
  bad |= json_object_set_new(s, "supported_sync_modes", modes);
  modes = NULL;
  if (rk) {
    bad |= json_object_set_new(s, "source_defined_cursor", json_true());
    bad |=
        json_object_set_new(s, "default_cursor_field", json_pack("[O]", rk));
  }
  if (keys && json_array_size(keys)) {
    pk = json_array();
    for (k = 0; pk && k < json_array_size(keys); k++)
      bad |=
          json_array_append_new(pk, json_pack("[O]", json_array_get(keys, k)));
    bad |= json_object_set_new(s, "source_defined_primary_key", pk);
  }
  if (ns)
    bad |= json_object_set(s, "namespace", ns);
  if (bad) {
    rc = build_nomem(err);
    goto out;
  }
  *out = s;
  s = NULL;
out:
  json_decref(modes);
  json_decref(s);
  return rc;
}

/* {"streams": [ENTRY(discover()[0]), ...]} */
static int from_discover(json_t *streams, entry_fn entry, json_t **out,
                         struct integ_error *err)
{
  json_t *list = NULL, *e = NULL, *catalog;
  int rc = 0;

  *out = NULL;
  if (!json_is_array(streams)) {
    rc = error_set(err, INTEG_EPLUGIN,
                   "discover(): expected an array of streams");
    goto out;
  }
  list = json_array();
  if (!list) {
    rc = build_nomem(err);
    goto out;
  }
  for (size_t i = 0; i < json_array_size(streams); i++) {
    rc = entry(json_array_get(streams, i), i, &e, err);
    if (rc)
      goto out;
    rc = json_array_append_new(list, e);
    if (rc) {
      rc = build_nomem(err);
      goto out;
    }
  }
  catalog = json_pack("{s:o}", "streams", list); /* steals list */
  list = NULL;
  if (!catalog) {
    rc = build_nomem(err);
    goto out;
  }
  *out = catalog;
out:
  json_decref(list);
  return rc;
}

int catalog_singer_from_discover(json_t *streams, json_t **out,
                                 struct integ_error *err)
{
  return from_discover(streams, singer_entry, out, err);
}

int catalog_airbyte_from_discover(json_t *streams, json_t **out,
                                  struct integ_error *err)
{
  return from_discover(streams, airbyte_entry, out, err);
}
