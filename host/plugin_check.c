/* plugin_check.c - a connector's plugin opened and its config checked
 * against the plugin's spec, errors at the config's positions (see
 * plugin_check.h). The loader's side of the manifest: manifest.c reads
 * and checks the YAML, and never opens a plugin. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonpath.h"
#include "jsonschema.h"
#include "loader.h"
#include "manifest.h"
#include "plugin_check.h"

int plugin_check_connector(struct manifest *m,
                           const struct manifest_connector *c,
                           const struct loader_path *lp,
                           struct plugin **opened, struct yaml_errors *errs)
{
  struct integ_error err = {0};
  struct plugin *pl = NULL;
  struct jsonschema *js = NULL;
  char *ppath = NULL, *cpath = NULL, *where = NULL;
  const struct yaml_loc *loc;
  size_t before = yaml_errors_count(errs);
  int rc = 0;

  if (opened)
    *opened = NULL;
  if (!c->plugin)
    return INTEG_ECONFIG; /* reported when the manifest was loaded */
  if (asprintf(&ppath, "connectors.%s.plugin", c->name) < 0 ||
      asprintf(&cpath, "connectors.%s.config", c->name) < 0) {
    rc = INTEG_ENOMEM;
    goto out;
  }
  rc = loader_open(lp, c->plugin, &pl, &err);
  if (rc) {
    rc = yaml_errors_at(errs, m->locs, ppath, 0, "%s", err.message);
    goto out;
  }
  if (json_object_get(c->node, "webhooks") &&
      !(INTEG_HAS(pl->vt, on_event) && pl->vt->on_event)) {
    char wpath[300];

    snprintf(wpath, sizeof(wpath), "connectors.%s.webhooks", c->name);
    rc = yaml_errors_at(errs, m->locs, wpath, 0,
                        "plugin %s cannot process webhook events (it has "
                        "no on_event): use a plugin that does, or remove "
                        "webhooks:",
                        c->plugin);
    if (rc)
      goto out;
  }
  {
    /* A generic sender's id_path must be a JSONPath. */
    const char *q = json_string_value(
        json_object_get(json_object_get(c->node, "webhooks"), "id_path"));
    struct jsonpath *jp = NULL;
    char ipath[300];

    if (q && jsonpath_compile(q, strlen(q), &jp, &err)) {
      snprintf(ipath, sizeof(ipath), "connectors.%s.webhooks.id_path",
               c->name);
      rc = yaml_errors_at(errs, m->locs, ipath, 0, "%s", err.message);
      if (rc)
        goto out;
    }
    jsonpath_free(jp);
  }
  if (!c->config)
    goto out; /* a config of the wrong type was reported */
  loc = yaml_locs_nearest(m->locs, ppath, NULL);
  if (asprintf(&where, "%s:%u:%u: %s: plugin %s (%s): its spec",
               loc ? loc->file : m->path, loc ? loc->line : 1,
               loc ? loc->col : 1, ppath, c->plugin, pl->path) < 0) {
    rc = INTEG_ENOMEM;
    goto out;
  }
  rc = jsonschema_compile_text(pl->vt->spec ? pl->vt->spec : "{}", where, &js,
                               errs);
  if (rc)
    goto out;
  rc = jsonschema_validate(js, c->config, cpath, m->locs, m->secrets, errs);
  if (rc > 0)
    rc = 0;
out:
  if (!rc && yaml_errors_count(errs) > before)
    rc = INTEG_ECONFIG;
  if (errs->nomem)
    rc = INTEG_ENOMEM;
  if (!rc && opened) {
    *opened = pl;
    pl = NULL;
  }
  if (pl)
    loader_close(pl);
  jsonschema_free(js);
  free(ppath);
  free(cpath);
  free(where);
  return rc;
}

int plugin_check_manifest(struct manifest *m, const struct loader_path *lp,
                          struct yaml_errors *errs)
{
  int rc = 0;

  for (size_t i = 0; i < m->n_connectors; i++) {
    int r;

    if (!m->connectors[i].enabled)
      continue;
    r = plugin_check_connector(m, &m->connectors[i], lp, NULL, errs);
    if (r == INTEG_ENOMEM)
      return r;
    if (r)
      rc = INTEG_ECONFIG;
  }
  return rc;
}
