/* cmd_plugins.c - `integ plugins`: what is on the plugin path. */
#include "config.h"

#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "loader.h"
#include "log.h"

struct tally {
  unsigned good;
  unsigned broken;
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
  struct tally t = {0, 0};
  int opt;

  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (opt == 'h') {
      printf("Usage: integ plugins\n"
             "List every plugin on the plugin path ($INTEG_PLUGIN_PATH, "
             "then the\nmanifest's plugin_path, then %s/plugins): name, "
             "version, the plugin ABI\nit needs, and file. Plugins that "
             "cannot be loaded are listed as BROKEN with\nthe reason.\n",
             PKGLIBDIR);
      return EXIT_OK;
    }
    return cli_usage_error("plugins", "bad option");
  }
  if (optind < argc)
    return cli_usage_error("plugins", "unexpected argument '%s'",
                           argv[optind]);
  if (loader_path_init(&path, NULL, 0, &err) ||
      loader_each(&path, print_one, &t, &err)) {
    log_error("%s", err.message);
    loader_path_free(&path);
    return EXIT_RUN;
  }
  loader_path_free(&path);
  if (t.broken)
    log_warn("%u of %u plugins could not be loaded (see BROKEN above)",
             t.broken, t.good + t.broken);
  else if (t.good == 0)
    log_warn("no plugins found on the plugin path");
  return EXIT_OK;
}
