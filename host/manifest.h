/* manifest.h - the manifest (integ.yaml and its includes), resolved.
 *
 * Loading reads the main file and its include: globs (relative to the
 * including file, each glob's files in sorted order, depth first); a
 * connector defined again replaces the earlier definition whole. Then
 * ${env:NAME} and ${file:PATH} references are resolved by secrets.h (a
 * ${file:} that others can read, that someone else owns or that is not a
 * regular file is refused; every resolved value is a secret, known to
 * secrets.h from then on), the tree is checked
 * against the schema table (unknown keys get "did you mean"), defaults are
 * filled and relative paths made relative to the file that holds them.
 * Every error is collected, each "file:line:column: key.path: message".
 *
 * The schema is data: one row per key in manifest.c. Adding a key is one
 * line there; validation, defaults, "did you mean" and the key list of
 * integ.yaml(5) follow from it.
 *
 * How `integ run CONNECTOR` uses it:
 *
 *   struct yaml_errors errs = {0};
 *   struct manifest *m = NULL;
 *   struct loader_path lp;
 *   struct plugin *pl = NULL;
 *   const struct manifest_connector *c;
 *
 *   if (manifest_load(cli_globals()->manifest, &m, &errs))
 *     -> yaml_errors_print(&errs, stderr), exit 2
 *   loader_path_init(&lp, m->plugin_path, m->n_plugin_path, &err);
 *   c = manifest_connector(m, name);   NULL -> "no connector NAME", exit 2
 *   if (plugin_check_connector(m, c, &lp, &pl, &errs))   plugin_check.h
 *     -> print errs, exit 2
 *   pl->vt->load(host, ctx, c->config, state, &inst, &err); ...
 *   loader_close(pl); loader_path_free(&lp); manifest_free(m);
 *   yaml_errors_free(&errs);
 */
#ifndef INTEG_HOST_MANIFEST_H
#define INTEG_HOST_MANIFEST_H

#include <stddef.h>

#include <jansson.h>

#include "yaml.h"

/* Types of manifest keys. */
enum manifest_type {
  MANIFEST_INT,
  MANIFEST_NUMBER, /* an integer or a real */
  MANIFEST_BOOL,
  MANIFEST_STRING,
  MANIFEST_PATH,     /* a string; relative to the file that holds it */
  MANIFEST_STRINGS,  /* a list of strings */
  MANIFEST_PATHS,    /* a list of paths, each as MANIFEST_PATH */
  MANIFEST_DURATION, /* "N(ms|s|m|h|d)", as duration_parse reads */
  MANIFEST_OBJECT,   /* a mapping of the keys listed below it */
  MANIFEST_MAP,      /* a mapping of names to values of the "NAME.*" row */
  MANIFEST_ANY,      /* a mapping, not checked here */
  MANIFEST_SCALAR    /* a string or a number */
};

#define MANIFEST_REQUIRED 1u /* must be present */
#define MANIFEST_SECRET 2u   /* its value is redacted in dumps */

/* One row of the schema table. */
struct manifest_key {
  const char *path; /* "connectors.*.enabled": '*' is any name */
  enum manifest_type type;
  unsigned flags;      /* MANIFEST_REQUIRED, MANIFEST_SECRET */
  const char *dflt;    /* default as JSON text, or NULL */
  const char *allowed; /* "a|b|c" ("p*" matches "p" + more); for numbers
                          and durations a range "MIN..MAX", either side
                          may be empty ("1..", "0..1000", "1ms.."); or
                          NULL for any value of the type */
  const char *doc;     /* one line */
};

/* The schema table (static storage) and its length. */
const struct manifest_key *manifest_keys(size_t *n);
/* Name of a type as the man page shows it ("boolean", "list of paths"). */
const char *manifest_type_name(enum manifest_type t);

/* Whether v (a value of row's type) is in row's range (its `allowed`
 * "MIN..MAX"). Returns 1 when it is (or the row has none), else 0 with
 * `why` (size bytes) saying what the range is ("at least 1", "from 0 to
 * 1000"). */
int manifest_in_range(const struct manifest_key *row, const json_t *v,
                      char *why, size_t size);

/* One connector. Strings and json_t are borrowed from the manifest. */
struct manifest_connector {
  const char *name;
  const char *plugin;
  int enabled;
  const char *account;
  json_t *config;   /* the resolved config (a mapping); after
                       plugin_check_connector, with defaults filled */
  json_t *node;     /* the connector's whole mapping */
  const char *file; /* the file whose definition won */
  unsigned line, col;
};

struct manifest {
  char *path;               /* the main file, as given; owned */
  json_t *root;             /* the resolved manifest; owned */
  struct yaml_locs *locs;   /* positions of every value; owned */
  json_t *secrets;          /* key path -> secret value; owned */
  const char **plugin_path; /* resolved directories (owned array,
                               strings borrowed from root) */
  size_t n_plugin_path;
  const char *store;         /* resolved path of the SQLite store */
  const char *output_format; /* singer | airbyte | jsonl */
  const char *output_to;     /* stdout | file:PATH | command:CMD */
  struct manifest_connector *connectors; /* sorted by name; owned */
  size_t n_connectors;
  char **files; /* every file read, in order; owned */
  size_t n_files;
  char **notes; /* "which file won" lines for `validate -v`; owned */
  size_t n_notes;
};

/* Load and resolve the manifest at `path`. Every error is added to errs.
 * Returns 0 when there was none, INTEG_ECONFIG when there were some,
 * INTEG_ENOMEM. *out is set (free with manifest_free) whenever the main
 * file could be parsed, even with errors, so that callers can show what
 * was read; it is only safe to run connectors when 0 is returned. */
int manifest_load(const char *path, struct manifest **out,
                  struct yaml_errors *errs);

/* As manifest_load, the main file's text given as `len` bytes of `buf`
 * and named `name` (includes are still read from disk, relative to it). */
int manifest_load_buffer(const char *name, const char *buf, size_t len,
                         struct manifest **out, struct yaml_errors *errs);

void manifest_free(struct manifest *m);

/* The connector called `name`, or NULL. Borrowed. */
const struct manifest_connector *manifest_connector(const struct manifest *m,
                                                    const char *name);

/* Position of `path` (or its nearest ancestor) in the files, or NULL;
 * borrowed. Plugins get their config errors' positions through this. */
const struct yaml_loc *manifest_loc(const struct manifest *m,
                                    const char *path);

/* Whether the value at `path` is a secret. */
int manifest_is_secret(const struct manifest *m, const char *path);

/* A deep copy of `value` (borrowed; found at key path `path`, "" for the
 * root) with each secret under it replaced by "<redacted>"
 * (secrets_redact_paths with the manifest's secret key paths). New
 * reference, NULL when out of memory. Log lines and errors need nothing:
 * they are scrubbed of every secret value (secrets.h). */
json_t *manifest_redact(const struct manifest *m, const char *path,
                        json_t *value);

#endif
