/* catalog.h - which streams and fields a run emits, and how: a Singer
 * catalog (--catalog / --properties) or an Airbyte configured catalog.
 *
 * Singer (singer-sdk's rules): each stream's metadata entry with
 * breadcrumb [] decides the stream: "selected", else "selected-by-default",
 * else selected. Entries with breadcrumb ["properties", F] decide field F
 * the same way, except that inclusion "automatic" always keeps it and
 * "unsupported" always drops it. The replication method is
 * "replication-method", else "forced-replication-method", else INCREMENTAL
 * when the stream has a replication key ("replication-key", else the first
 * "valid-replication-keys", else the stream's "replication_key"), else
 * FULL_TABLE. A stream missing from the catalog is not selected.
 *
 * Airbyte: every stream of the configured catalog is selected; sync_mode
 * full_refresh or incremental, cursor_field [NAME], primary_key and
 * destination_sync_mode are read and checked. Column selection: a
 * stream whose json_schema lists properties emits only those fields (its
 * primary key and cursor always); one listing none emits every field.
 *
 * Errors name the file and the key path
 * ("catalog cat.json: streams[1].metadata[0].metadata.selected: expected
 * true or false") with code INTEG_ECONFIG.
 */
#ifndef INTEG_HOST_CATALOG_H
#define INTEG_HOST_CATALOG_H

#include <stddef.h>

#include <jansson.h>

#include <integ/plugin.h>

enum catalog_kind { CATALOG_SINGER, CATALOG_AIRBYTE };

struct catalog_stream {
  char *name;            /* owned */
  char *path;            /* owned: "streams[3]", for messages */
  int selected;          /* emit its records */
  int incremental;       /* else full refresh: starts without state */
  char *replication_key; /* owned, or NULL: the cursor asked for */
  json_t *dropped;       /* owned object {field: true}, or NULL when none */
  json_t *primary_key;   /* owned (Airbyte primary_key), or NULL */
  json_t *kept; /* owned object {field: true}: Airbyte column selection,
                   the json_schema's properties (with the keys and the
                   cursor); NULL: every field */
};

struct catalog {
  enum catalog_kind kind;
  char *file;                     /* owned, for messages */
  struct catalog_stream *streams; /* n of them, in the file's order */
  size_t n;
  json_t *index; /* name -> index into streams */
};

/* Parse a catalog document (borrowed) read from `file`. *out is new (free
 * with catalog_free). Returns 0, INTEG_ECONFIG with the key path, or
 * INTEG_ENOMEM. */
int catalog_parse_singer(json_t *doc, const char *file, struct catalog **out,
                         struct integ_error *err);
int catalog_parse_airbyte(json_t *doc, const char *file, struct catalog **out,
                          struct integ_error *err);

void catalog_free(struct catalog *c);

/* The entry for `stream`, or NULL when the catalog does not name it
 * (borrowed). */
const struct catalog_stream *catalog_find(const struct catalog *c,
                                          const char *stream);

/* Is `stream` to be emitted? Always with no catalog (c NULL). */
int catalog_selected(const struct catalog *c, const char *stream);

/* Check the catalog against the plugin's discover() array (borrowed):
 * every stream it names exists, an incremental stream has a replication
 * key and asks for that key (the plugin's cursor cannot be changed), a
 * dropped field is not a key property. INTEG_ECONFIG with the key path
 * and what to do otherwise. */
int catalog_check(const struct catalog *c, json_t *streams,
                  struct integ_error *err);

/* discover()'s array (borrowed) as the run declares it: fields dropped
 * from each schema's "properties", and no replication_key on full-refresh
 * streams. A new reference, or NULL when out of memory. */
json_t *catalog_apply_streams(const struct catalog *c, json_t *streams);

/* The record (borrowed) without the stream's dropped fields (and, for
 * Airbyte, only its json_schema's fields): a new
 * reference (a shallow copy) when something was dropped, else NULL to
 * mean "the record as it is". *nomem is set when out of memory. */
json_t *catalog_project(const struct catalog_stream *s, json_t *record,
                        int *nomem);

/* Can catalog_project drop anything from a record of s? */
int catalog_projects(const struct catalog_stream *s);

/* Does catalog_project keep a record's top-level field (len bytes, not
 * NUL-terminated)? 1 or 0; s is a const struct catalog_stream * (void *
 * to serve as the page scanner's jscan_keep). */
int catalog_keeps(const void *s, const char *field, size_t len);

/* The state (borrowed, the plugin's shape, keyed by stream) to hand to
 * the plugin: without the members of full-refresh streams. A new
 * reference (state itself, incref'd, when nothing changes); NULL for a
 * NULL state or when out of memory. */
json_t *catalog_strip_state(const struct catalog *c, json_t *state);

/* ---- catalogs built from discover()'s array (borrowed) ----
 * Both set *out to a new reference and return 0, or return INTEG_EPLUGIN
 * (naming the element, "discover()[2]") or INTEG_ENOMEM with *out NULL. */

/* The Singer catalog, as singer-sdk writes it: each stream's schema, its
 * metadata (inclusion, selected-by-default, table-key-properties,
 * valid-replication-keys for incremental streams, forced-replication-method
 * FULL_TABLE for the others). */
int catalog_singer_from_discover(json_t *streams, json_t **out,
                                 struct integ_error *err);

/* The AirbyteCatalog: each stream with name, json_schema,
 * supported_sync_modes (full_refresh, plus incremental when it has a
 * replication_key), source_defined_cursor and default_cursor_field for
 * incremental ones, source_defined_primary_key from key_properties,
 * namespace when set. */
int catalog_airbyte_from_discover(json_t *streams, json_t **out,
                                  struct integ_error *err);

#endif
