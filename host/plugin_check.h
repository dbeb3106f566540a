/* plugin_check.h - open a connector's plugin and check its config.
 *
 * manifest.c reads the manifest without opening any plugin; these open
 * each connector's plugin through the loader and check the connector's
 * config against the plugin's spec (its JSON Schema), reporting errors at
 * the config's file:line:column. `integ validate` checks every enabled
 * connector; `integ run` checks the one it runs and keeps it open.
 */
#ifndef INTEG_HOST_PLUGIN_CHECK_H
#define INTEG_HOST_PLUGIN_CHECK_H

#include "loader.h"
#include "manifest.h"
#include "yaml_locs.h"

/* Open c's plugin from lp, check c's config against the plugin's spec
 * (filling its defaults, marking airbyte_secret values secret) and report
 * errors at the config's positions. When `opened` is not NULL and all is
 * well, *opened gets the open plugin (new; loader_close it); otherwise the
 * plugin is closed. Returns 0, INTEG_ECONFIG (errors added) or
 * INTEG_ENOMEM. */
int plugin_check_connector(struct manifest *m,
                           const struct manifest_connector *c,
                           const struct loader_path *lp,
                           struct plugin **opened, struct yaml_errors *errs);

/* plugin_check_connector for every enabled connector. Returns 0,
 * INTEG_ECONFIG or INTEG_ENOMEM. */
int plugin_check_manifest(struct manifest *m, const struct loader_path *lp,
                          struct yaml_errors *errs);

#endif
