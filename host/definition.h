/* definition.h - definition files of declarative connectors, loaded
 * through host/yaml.c so that every value keeps its position. */
#ifndef INTEG_HOST_DEFINITION_H
#define INTEG_HOST_DEFINITION_H

#include <stddef.h>

#include <jansson.h>

#include <integ/plugin.h>

#include "yaml_locs.h"

struct definition {
  char *file;             /* owned: the path it was read from */
  json_t *root;           /* owned */
  struct yaml_locs *locs; /* owned: positions, key paths from the root */
};

/* Load `name` (YAML or JSON): an absolute path as it is; else beside
 * base (a file name: the manifest or config that named it; may be NULL),
 * then in datadir (may be NULL). Returns 0 with *out new
 * (definition_free), INTEG_ENOTFOUND naming the places looked in,
 * INTEG_ECONFIG with the file's errors (file:line:column), or
 * INTEG_ENOMEM. */
int definition_load(const char *name, const char *base, const char *datadir,
                    struct definition **out, struct integ_error *err);

/* "file:line:column" of key path `path` under `prefix` in t (the nearest
 * ancestor's when it has none) into buf. Returns 0, or INTEG_ENOTFOUND
 * with buf "". */
int definition_position(const struct yaml_locs *t, const char *prefix,
                        const char *path, char *buf, size_t size);

void definition_free(struct definition *d);

/* The JSON Schema of the connector config a definition (root, borrowed)
 * takes, from its `config:` mapping: each key's description and default,
 * secrets marked airbyte_secret, the required ones required. What `integ
 * tap NAME --about` and `integ source NAME spec` show. New reference, or
 * NULL when out of memory. */
json_t *definition_spec(const json_t *root);

/* Where the shipped definitions are: $INTEG_INTEGRATIONS_DIR when set
 * (tests), else $(pkgdatadir)/integrations. */
const char *definition_dir(void);

/* The shipped definitions in dir (NAME.yaml, NAME.yml or NAME.json): a new
 * sorted array of NAME strings (empty when dir cannot be read), or NULL
 * when out of memory. */
json_t *definition_names(const char *dir);

/* ", nearest: a, b" (up to three names of dir within a few edits of
 * name) into buf, or "" when none is near. */
void definition_nearest(const char *name, const char *dir, char *buf,
                        size_t size);

#endif
