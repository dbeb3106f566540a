/* cmd_plugins.c - `integ plugins`: what is on the plugin path. */
#include "config.h"

#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "definition.h"
#include "error.h"
#include "loader.h"
#include "log.h"

struct tally {
  unsigned good;
  unsigned broken;
  json_t *names; /* the plugins' names, to tell shadowed definitions */
  int nomem;
};

static void print_one(const char *file, const struct plugin *pl,
                      const struct integ_error *err, void *arg)
{
  struct tally *t = arg;

  if (pl) {
    printf("%-16s %-10s ABI %u.%u  %s\n", pl->vt->name,
           pl->vt->version ? pl->vt->version : "-", pl->vt->abi_major,
           pl->vt->abi_minor, pl->path);
    t->good++;
    if (json_array_append_new(t->names, json_string(pl->vt->name)))
      t->nomem = 1;
  } else {
    /* The message already names the file. */
    printf("%-16s %-10s %-8s %s\n", "BROKEN", "-", "-", err->message);
    (void)file;
    t->broken++;
  }
}

int cmd_plugins(int argc, char **argv)
{
  static const struct option opts[] = {{"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  struct loader_path path = {NULL, 0};
  struct integ_error err = {0, ""};
  struct tally t = {0, 0, NULL, 0};
  json_t *defs = NULL, *v, *p;
  size_t i, k;
  int opt;

  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (opt == 'h') {
      printf("Usage: integ plugins\n"
             "List every plugin on the plugin path ($INTEG_PLUGIN_PATH, "
             "then the\nmanifest's plugin_path, then %s/plugins): name, "
             "version, the plugin ABI\nit needs, and file. Plugins that "
             "cannot be loaded are listed as BROKEN with\nthe reason. Then "
             "the shipped definitions ($INTEG_INTEGRATIONS_DIR, else\n%s), "
             "which `integ tap NAME`, `integ source NAME` and\n"
             "`config: {definition: NAME}` run on the declarative plugin; a "
             "plugin of the\nsame name shadows one.\n",
             PKGLIBDIR, definition_dir());
      return EXIT_OK;
    }
    return cli_usage_error("plugins", "bad option");
  }
  if (optind < argc)
    return cli_usage_error("plugins", "unexpected argument '%s'",
                           argv[optind]);
  t.names = json_array();
  if (!t.names || loader_path_init(&path, NULL, 0, &err) ||
      loader_each(&path, print_one, &t, &err)) {
    log_error("%s", t.names ? err.message : "out of memory");
    loader_path_free(&path);
    json_decref(t.names);
    return EXIT_RUN;
  }
  loader_path_free(&path);
  defs = t.nomem ? NULL : definition_names(definition_dir());
  if (!defs) {
    log_error("out of memory");
    json_decref(t.names);
    return EXIT_RUN;
  }
  json_array_foreach(defs, i, v)
  {
    struct definition *d = NULL;
    struct integ_error derr = {0, ""};
    const char *desc = NULL, *shadow = NULL;

    json_array_foreach(t.names, k, p) if (json_equal(p, v)) shadow = "yes";
    if (definition_load(json_string_value(v), NULL, definition_dir(), &d,
                        &derr) == 0)
      desc = json_string_value(json_object_get(d->root, "description"));
    printf("%-16s %-10s %-8s %s%s\n", json_string_value(v), "definition", "-",
           shadow ? "(shadowed by the plugin) " : "",
           desc ? desc : derr.message);
    definition_free(d);
  }
  json_decref(defs);
  json_decref(t.names);
  if (t.broken)
    log_warn("%u of %u plugins could not be loaded (see BROKEN above)",
             t.broken, t.good + t.broken);
  else if (t.good == 0)
    log_warn("no plugins found on the plugin path");
  return EXIT_OK;
}
