/* cmd_validate.c - `integ validate`: check the manifest, report every
 * error at once. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "connconf.h"
#include "error.h"
#include "loader.h"
#include "manifest.h"
#include "plugin_check.h"
#include "run.h"

static void usage(void)
{
  printf("Usage: integ validate [-v] [--dump] [--no-plugins] [FILE]\n"
         "Check the manifest (FILE, else integ -c FILE, else "
         "$INTEG_CONFIG, else\n%s/integ/integ.yaml) and every file it "
         "includes, and the config of each\nenabled connector against its "
         "plugin's JSON Schema. Every error is reported\nat once, as "
         "file:line:column: key.path: message.\n\n"
         "  -v, --verbose   list the files read and which file defined each "
         "connector\n"
         "      --dump      print the resolved manifest as JSON, secrets "
         "redacted\n"
         "      --no-plugins  do not load plugins (no config checks)\n"
         "  -h, --help      show this help\n\n"
         "Exit status: 0 valid, 2 errors found.\n",
         SYSCONFDIR);
}

static int nomem(void)
{
  fprintf(stderr, "integ validate: out of memory\n");
  return EXIT_RUN;
}

/* Hidden --list-keys: every key of the schema table, one a line (the
 * man page test reads it). */
static void list_keys(void)
{
  size_t n;
  const struct manifest_key *k = manifest_keys(&n);

  for (size_t i = 0; i < n; i++)
    printf("%s\n", k[i].path);
}

/* Print s for roff: a backslash doubled, '-' as \-. */
static void roff(const char *s)
{
  for (; *s; s++) {
    if (*s == '\\')
      fputs("\\e", stdout);
    else if (*s == '-')
      fputs("\\-", stdout);
    else
      putchar(*s);
  }
}

/* Hidden --man-keys: the key table of integ.yaml(5), generated. */
static void man_keys(void)
{
  /* Longest first: runstatedir is often under localstatedir. */
  static const struct {
    const char *name, *path;
  } dirs[] = {{"runstatedir", RUNSTATEDIR},
              {"localstatedir", LOCALSTATEDIR},
              {"sysconfdir", SYSCONFDIR}};
  size_t di;
  size_t n;
  const struct manifest_key *k = manifest_keys(&n);

  for (size_t i = 0; i < n; i++) {
    printf(".TP\n.B ");
    roff(k[i].path);
    printf("\n%s", manifest_type_name(k[i].type));
    if (k[i].flags & MANIFEST_REQUIRED)
      printf(", required");
    if (k[i].allowed && !strstr(k[i].allowed, "..")) {
      printf(strchr(k[i].allowed, '|') ? "; one of: \\fB" : "; must be \\fB");
      for (const char *a = k[i].allowed; *a; a++)
        if (*a == '|')
          printf("\\fR, \\fB");
        else if (*a == '*')
          printf("\\fR...\\fB");
        else
          roff((char[]){*a, '\0'});
      printf("\\fR");
    }
    if (k[i].allowed && strstr(k[i].allowed, "..")) {
      const char *dots = strstr(k[i].allowed, "..");
      char lo[32];

      snprintf(lo, sizeof(lo), "%.*s", (int)(dots - k[i].allowed),
               k[i].allowed);
      if (*lo && dots[2])
        printf("; from \\fB%s\\fR to \\fB%s\\fR", lo, dots + 2);
      else if (*lo)
        printf("; at least \\fB%s\\fR", lo);
      else
        printf("; at most \\fB%s\\fR", dots + 2);
    }
    if (k[i].dflt) {
      json_t *d = json_loads(k[i].dflt, JSON_DECODE_ANY, NULL);
      const char *s = json_string_value(d);

      printf("; default: ");
      /* Paths under ./configure's directories name the variable, so the
       * page is the same whatever the prefix. */
      for (di = 0; di < sizeof(dirs) / sizeof(dirs[0]); di++)
        if (s && strncmp(s, dirs[di].path, strlen(dirs[di].path)) == 0)
          break;
      if (di < sizeof(dirs) / sizeof(dirs[0])) {
        printf("\\fI%s\\fB", dirs[di].name);
        roff(s + strlen(dirs[di].path));
      } else {
        printf("\\fB");
        roff(s ? s : k[i].dflt);
      }
      printf("\\fR");
      json_decref(d);
    }
    printf(".\n");
    roff(k[i].doc);
    printf("\n");
  }
}

static void verbose_report(const struct manifest *m, FILE *f)
{
  for (size_t i = 0; i < m->n_files; i++)
    fprintf(f, "read %s\n", m->files[i]);
  for (size_t i = 0; i < m->n_notes; i++)
    fprintf(f, "%s\n", m->notes[i]);
  for (size_t i = 0; i < m->n_connectors; i++) {
    const struct manifest_connector *c = &m->connectors[i];

    fprintf(f, "connector %s: plugin %s, %s, from %s:%u:%u\n", c->name,
            c->plugin ? c->plugin : "?", c->enabled ? "enabled" : "disabled",
            c->file ? c->file : "?", c->line, c->col);
  }
}

/* Declarative connectors: load each enabled one (the plugin checks its
 * definition then, with no network access) and ask its streams. Errors
 * go to stderr; returns how many connectors failed. */
static size_t check_definitions(const struct manifest *m,
                                const struct loader_path *lp)
{
  size_t bad = 0;

  for (size_t i = 0; i < m->n_connectors; i++) {
    const struct manifest_connector *c = &m->connectors[i];
    struct integ_error err = {0, ""};
    struct plugin *pl = NULL;
    struct run_opts o;
    json_t *streams = NULL;
    char where[512];

    if (!c->enabled || strcmp(c->plugin, "declarative") != 0)
      continue;
    memset(&o, 0, sizeof(o));
    snprintf(where, sizeof(where), "connectors.%s.config", c->name);
    o.tag = c->name;
    o.locs = m->locs;
    o.config_path = where;
    o.base = c->file;
    o.auth = json_object_get(c->node, "auth"); /* fills a declared auth */
    if (loader_open(lp, c->plugin, &pl, &err) ||
        run_discover(pl, c->config, &o, &streams, &err)) {
      fprintf(stderr, "connector %s: %s\n", c->name, err.message);
      bad++;
    }
    json_decref(streams);
    loader_close(pl);
  }
  return bad;
}

int cmd_validate(int argc, char **argv)
{
  enum { OPT_DUMP = 256, OPT_NOPLUGINS, OPT_LISTKEYS, OPT_MANKEYS };
  static const struct option opts[] = {
      {"verbose", no_argument, NULL, 'v'},
      {"dump", no_argument, NULL, OPT_DUMP},
      {"no-plugins", no_argument, NULL, OPT_NOPLUGINS},
      {"list-keys", no_argument, NULL, OPT_LISTKEYS},
      {"man-keys", no_argument, NULL, OPT_MANKEYS},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const struct cli_globals *g = cli_globals();
  struct yaml_errors errs = {0};
  struct manifest *m = NULL;
  struct loader_path lp = {NULL, 0};
  struct integ_error err = {0, ""};
  const char *file;
  int opt, verbose = g->verbose, dump = 0, plugins = 1, rc = EXIT_OK;
  FILE *info;

  while ((opt = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
    switch (opt) {
    case 'v':
      verbose++;
      break;
    case OPT_DUMP:
      dump = 1;
      break;
    case OPT_NOPLUGINS:
      plugins = 0;
      break;
    case OPT_LISTKEYS:
      list_keys();
      return EXIT_OK;
    case OPT_MANKEYS:
      man_keys();
      return EXIT_OK;
    case 'h':
      usage();
      return EXIT_OK;
    default:
      return cli_usage_error("validate", "bad option");
    }
  }
  if (argc - optind > 1)
    return cli_usage_error("validate", "unexpected argument '%s'",
                           argv[optind + 1]);
  file = optind < argc ? argv[optind] : g->manifest;
  /* With --dump, stdout carries only the JSON. */
  info = dump ? stderr : stdout;
  if (manifest_load(file, &m, &errs) == INTEG_ENOMEM) {
    rc = nomem();
    goto out;
  }
  if (m && connconf_check(m, CONNCONF_OUTPUTS, &errs) == INTEG_ENOMEM) {
    rc = nomem();
    goto out;
  }
  if (m && plugins) {
    if (loader_path_init(&lp, m->plugin_path, m->n_plugin_path, &err)) {
      fprintf(stderr, "integ validate: %s\n", err.message);
      rc = EXIT_RUN;
      goto out;
    }
    if (plugin_check_manifest(m, &lp, &errs) == INTEG_ENOMEM) {
      rc = nomem();
      goto out;
    }
    if (!yaml_errors_count(&errs) && check_definitions(m, &lp)) {
      rc = EXIT_USAGE;
      goto out;
    }
  }
  if (m && verbose)
    verbose_report(m, info);
  if (yaml_errors_count(&errs)) {
    yaml_errors_print(&errs, stderr);
    fprintf(stderr, "%s: %zu error%s\n", file, yaml_errors_count(&errs),
            yaml_errors_count(&errs) == 1 ? "" : "s");
    rc = EXIT_USAGE;
    goto out;
  }
  if (dump) {
    json_t *red = manifest_redact(m, "", m->root);

    if (!red || json_dumpf(red, stdout, JSON_INDENT(2) | JSON_SORT_KEYS)) {
      json_decref(red);
      rc = nomem();
      goto out;
    }
    json_decref(red);
    printf("\n");
  }
  {
    size_t on = 0;

    for (size_t i = 0; i < m->n_connectors; i++)
      on += m->connectors[i].enabled ? 1 : 0;
    fprintf(info, "%s: ok: %zu connector%s, %zu enabled, %zu file%s\n", file,
            m->n_connectors, m->n_connectors == 1 ? "" : "s", on, m->n_files,
            m->n_files == 1 ? "" : "s");
  }
out:
  loader_path_free(&lp);
  manifest_free(m);
  yaml_errors_free(&errs);
  return rc;
}
