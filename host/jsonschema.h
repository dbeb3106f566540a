/* jsonschema.h - check plugin configs against a stated subset of JSON
 * Schema.
 *
 * The subset: type (one name or a list), properties, required,
 * additionalProperties (boolean or schema), items (one schema), enum,
 * default, minimum, maximum, pattern (PCRE2, unanchored as JSON Schema
 * says) and airbyte_secret; the annotations title, description, examples,
 * order, $schema, $id and $comment are accepted and ignored. Any other
 * keyword is reported when the schema is compiled, never silently
 * ignored. Boolean schemas (true/false) work as in JSON Schema.
 *
 * Validation reports every error, each at the instance's position taken
 * from a yaml location table; fills defaults in place (a missing property
 * whose schema has "default" gets a copy of it); and records the values of
 * airbyte_secret properties so dumps and logs can redact them.
 */
#ifndef INTEG_HOST_JSONSCHEMA_H
#define INTEG_HOST_JSONSCHEMA_H

#include <stddef.h>

#include <jansson.h>

#include "yaml_locs.h"

struct jsonschema;

/* Compile `schema` (borrowed; kept with a new reference). Every problem
 * (unsupported keyword, wrong keyword type, bad pattern) is added to errs
 * as "WHERE: /json/pointer: message", `where` naming the schema (e.g.
 * "plugin example: spec"). Returns 0 with *out new (free with
 * jsonschema_free), INTEG_ECONFIG with *out NULL when errors were added,
 * or INTEG_ENOMEM. */
int jsonschema_compile(json_t *schema, const char *where,
                       struct jsonschema **out, struct yaml_errors *errs);

/* As jsonschema_compile, from JSON text (a JSON syntax error is reported
 * with its line and column in the text). */
int jsonschema_compile_text(const char *text, const char *where,
                            struct jsonschema **out, struct yaml_errors *errs);

void jsonschema_free(struct jsonschema *s);

/* Validate `instance` (borrowed; defaults are filled into it) whose key
 * path is `path` ("" for a root). Errors are added to errs as
 * "file:line:column: path.to.value: message" using locs (may be NULL);
 * values whose location is flagged YAML_LOC_REPORTED are not reported
 * again. When `secrets` (may be NULL) is a JSON object, each
 * airbyte_secret value found is set in it under its key path. Returns the
 * number of errors added (0: valid), or INTEG_ENOMEM. */
int jsonschema_validate(const struct jsonschema *s, json_t *instance,
                        const char *path, const struct yaml_locs *locs,
                        json_t *secrets, struct yaml_errors *errs);

/* Edit distance counting a swap of neighbours as one edit (optimal
 * string alignment): "fsat" is one edit from "fast". (size_t)-1 when
 * either word is longer than 64 bytes. */
size_t jsonschema_distance(const char *a, const char *b);

/* The candidate nearest to `word` by edit distance, or NULL when none is
 * near enough to be a likely typo. Borrowed from cands. */
const char *jsonschema_nearest(const char *word, const char *const *cands,
                               size_t n);

/* Describe v for a message ("string \"abc\"", "integer 3", "a mapping",
 * "null (an empty value)"), not showing its text when `secret`. Writes a
 * NUL-terminated string into buf (truncated to size); returns buf. */
const char *jsonschema_describe(const json_t *v, int secret, char *buf,
                                size_t size);

#endif
