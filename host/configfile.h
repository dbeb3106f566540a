/* configfile.h - a connector's JSON config file, as Singer taps and
 * Airbyte sources take it with --config: read it, check it against the
 * plugin's spec, and write it back atomically when a value changes during
 * a run (a refreshed OAuth2 token), as Singer taps do.
 */
#ifndef INTEG_HOST_CONFIGFILE_H
#define INTEG_HOST_CONFIGFILE_H

#include <jansson.h>

#include <integ/plugin.h>

/* Read the JSON file at `path` into *out (new reference). `what` names the
 * file's role in messages ("config", "catalog", "state"). Errors:
 * INTEG_ECONFIG "WHAT FILE:LINE:COLUMN: jansson's reason" for JSON that does
 * not parse, or "WHAT FILE: cannot read: ..." (code `code` for both, so a
 * state file fails as INTEG_ESTATE). */
int configfile_read_json(const char *path, const char *what, int code,
                         json_t **out, struct integ_error *err);

/* Read the connector config at `path`: a JSON object, checked against
 * `spec` (the plugin's JSON Schema as text; NULL accepts any object) with
 * host/jsonschema.h, defaults filled in. Every violation is located
 * ("FILE:LINE:COLUMN: key.path: message", the position found by reading
 * the file again as YAML, of which JSON is a subset); err holds the first
 * and how many more, and each is printed to stderr when `print` is set.
 * *out is a new reference. Returns 0, INTEG_ECONFIG or INTEG_ENOMEM. */
int configfile_load(const char *path, const char *spec, const char *plugin,
                    int print, json_t **out, struct integ_error *err);

/* Replace the file at `path` with `config` (borrowed; written as indented
 * JSON) atomically: write PATH.tmp with the old file's mode (0600 when
 * new), fsync it, rename it over PATH, fsync the directory. A reader sees
 * the old file or the new, never a mix; a crash leaves at most PATH.tmp.
 * Returns 0 or INTEG_EIO/INTEG_ENOMEM naming the file.
 *
 * This is the hook for the auth layer: when a token is refreshed during a
 * `tap`/`source` run, it will write the new config here and emit Airbyte
 * CONTROL CONNECTOR_CONFIG (emit_airbyte_control_config). Nothing calls
 * it yet. */
int configfile_write_atomic(const char *path, json_t *config,
                            struct integ_error *err);

#endif
