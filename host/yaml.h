/* yaml.h - read YAML into jansson values, with a location table
 * (yaml_locs.h).
 *
 * The one YAML loader of the host: the manifest, declarative definitions and
 * any YAML a plugin asks the host to read. libyaml events become a json_t
 * tree; every node's position (file:line:column, 1-based) goes into a
 * location table keyed by its key path ("connectors.x.config.y",
 * "plugin_path[1]"), which error messages and plugins use to point into the
 * file.
 *
 * Scalars follow the YAML 1.2 core schema: plain null/~/empty, true/false,
 * integers (also 0x.. and 0o..) and floats are typed; everything quoted or
 * block-styled is a string. The YAML 1.1 booleans yes/no/on/off (any case)
 * are errors that say to write true/false or quote the value. .inf and .nan
 * are errors too: JSON cannot hold them.
 *
 * Refused, each with file:line:column: anchors and aliases (no billion
 * laughs), tags other than !!str, non-scalar keys, duplicate keys, more than
 * one document, empty files, files over YAML_MAX_BYTES, nesting deeper than
 * YAML_MAX_DEPTH, bytes that are not UTF-8, and libyaml's syntax errors
 * (a tab in indentation gets its own message).
 *
 * Key paths join mapping keys with '.' and add "[N]" for sequence items; the
 * root's path is "".
 */
#ifndef INTEG_HOST_YAML_H
#define INTEG_HOST_YAML_H

#include <stddef.h>

#include <jansson.h>

#include <integ/plugin.h>

#define YAML_MAX_BYTES (1024u * 1024u)
#define YAML_MAX_DEPTH 64

#include "yaml_locs.h"

/* ---- loading ---- */

/* Parse `len` bytes of `buf` (need not be NUL-terminated) as one YAML
 * document. `name` is the file name used in messages. On success *out is a
 * new reference to the root value and locations are added to t under
 * `prefix` ("" for the root). Errors go to errs:
 *  - a fatal one (syntax, size, encoding, alias, depth, ...) stops the
 *    load: *out is NULL;
 *  - a bad scalar (yes/no/on/off, .inf, integer overflow) or a duplicate
 *    key is recorded with its position and loading goes on: *out is set,
 *    holding the offending scalar as a string (flagged YAML_LOC_REPORTED).
 * Returns 0 when no error was added, INTEG_ECONFIG when some were,
 * INTEG_ENOMEM when out of memory. */
int yaml_load_buffer(const char *name, const char *buf, size_t len,
                     const char *prefix, json_t **out, struct yaml_locs *t,
                     struct yaml_errors *errs);

/* Read and parse the file at `path` (at most YAML_MAX_BYTES), as
 * yaml_load_buffer. A file that cannot be read is an error in errs. */
int yaml_load_file(const char *path, const char *prefix, json_t **out,
                   struct yaml_locs *t, struct yaml_errors *errs);

/* For plugins and simple callers: read the file, no table kept; on failure
 * err holds the first error (and how many more). *out is new. */
int yaml_read_file(const char *path, json_t **out, struct integ_error *err);

#endif /* INTEG_HOST_YAML_H */
