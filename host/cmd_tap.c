/* cmd_tap.c - `integ tap`, a Singer tap, and what it shares with `integ
 * source` (cmd_source.c); see cmd_tap.h. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "buf.h"
#include "catalog.h"
#include "cli.h"
#include "clock.h"
#include "configfile.h"
#include "definition.h"
#include "emit.h"
#include "error.h"
#include "loader.h"
#include "log.h"
#include "cmd_tap.h"

int tap_run_init(struct tap_run *r, const char *tag, enum emit_format format,
                 struct integ_error *err)
{
  int rc;

  memset(r, 0, sizeof(*r));
  rc = clock_init(&r->clk, err);
  if (rc)
    return rc;
  http_config_init(&r->http);
  r->http.tag = tag;
  r->oc.format = format;
  r->oc.to = "stdout";
  r->oc.connector = tag;
  r->oc.account = "default";
  r->oc.clock = &r->clk;
  r->oc.out_fd = STDOUT_FILENO;
  r->o.tag = tag;
  r->o.clock = &r->clk;
  r->o.http = &r->http;
  r->o.output = &r->oc;
  return 0;
}

/* The shipped definition `integ tap NAME` runs, or NULL: a plugin; and
 * its spec (JSON text, owned, for the process's life). */
static const char *tap_definition;
static char *tap_definition_spec;

const char *tap_spec(const struct plugin *pl)
{
  return tap_definition ? tap_definition_spec : pl->vt->spec;
}

int tap_open_plugin(const char *name, struct loader_path *lp,
                    struct plugin **pl, struct integ_error *err)
{
  struct integ_error nf = {0, ""};
  struct definition *d = NULL;
  char near[256];
  int rc = loader_path_init(lp, NULL, 0, err);

  if (rc)
    return rc;
  tap_definition = NULL;
  rc = loader_open(lp, name, pl, err);
  if (rc != INTEG_ENOTFOUND)
    return rc;
  /* No plugin of that name: a shipped definition, run by the declarative
   * plugin. A plugin of the same name wins (it is code installed for
   * that name); `integ plugins` says which definitions it shadows. */
  nf = *err;
  rc = definition_load(name, NULL, definition_dir(), &d, err);
  if (!rc) {
    json_t *spec = definition_spec(d->root);

    free(tap_definition_spec);
    tap_definition_spec = spec ? json_dumps(spec, JSON_COMPACT) : NULL;
    json_decref(spec);
    if (!tap_definition_spec)
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
  }
  definition_free(d);
  if (rc == INTEG_ENOTFOUND) {
    definition_nearest(name, definition_dir(), near, sizeof(near));
    return error_set(err, INTEG_ENOTFOUND,
                     "%s; and no shipped definition '%s' in %s%s", nf.message,
                     name, definition_dir(), near);
  }
  if (rc)
    return rc;
  rc = loader_open(lp, "declarative", pl, err);
  if (!rc)
    tap_definition = name;
  return rc;
}

int tap_put(struct buf *b, struct integ_error *err)
{
  const char *p = b->data;
  size_t n = b->len;

  while (n) {
    ssize_t w = write(STDOUT_FILENO, p, n);

    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0) {
      buf_reset(b);
      return error_set(err, INTEG_EIO, "standard output: %s", strerror(errno));
    }
    p += w;
    n -= (size_t)w;
  }
  buf_reset(b);
  return 0;
}

int tap_exit_status(int code)
{
  return code == INTEG_ECONFIG || code == INTEG_ESTATE ||
                 code == INTEG_ENOTFOUND || code == INTEG_EABI
             ? EXIT_USAGE
             : EXIT_RUN;
}

/* --------------------------------------------------------- Singer tap */

static void tap_usage(FILE *f)
{
  fprintf(f, "Usage: integ tap PLUGIN --config FILE [--state FILE]\n"
             "                 [--catalog FILE | --properties FILE]\n"
             "       integ tap PLUGIN --config FILE --discover\n"
             "       integ tap PLUGIN --about [--format json|markdown]\n"
             "Run plugin PLUGIN as a Singer tap: SCHEMA, RECORD and STATE "
             "messages on\nstandard output (also as a symlink named "
             "tap-PLUGIN to integ).\n\n"
             "  -c, --config FILE      the connector's config (JSON), checked "
             "against\n"
             "                         the plugin's spec\n"
             "  -s, --state FILE       resume from this STATE value "
             "({\"bookmarks\": ...})\n"
             "      --catalog FILE     sync the selected streams and fields "
             "only\n"
             "  -p, --properties FILE  the same (older taps' name)\n"
             "  -d, --discover         write the catalog and exit\n"
             "  -a, --about            describe the plugin (text, or --format "
             "json|markdown)\n"
             "  -h, --help             show this help\n");
}

/* Print json with singer-sdk's layout (Python's json.dumps, indent 2). */
static int print_json(json_t *v, struct integ_error *err)
{
  if (json_dumpf(v, stdout, JSON_INDENT(2)) || putchar('\n') == EOF ||
      fflush(stdout))
    return error_set(err, INTEG_EIO, "standard output: %s", strerror(errno));
  return 0;
}

/* A JSON value as singer-sdk's markdown prints it (str() of Python). */
static void print_md_value(json_t *v)
{
  if (!v)
    fputs("None", stdout);
  else if (json_is_true(v))
    fputs("True", stdout);
  else if (json_is_false(v))
    fputs("False", stdout);
  else if (json_is_string(v))
    fputs(json_string_value(v), stdout);
  else
    json_dumpf(v, stdout, JSON_ENCODE_ANY | JSON_COMPACT);
}

static void print_md_rows(json_t *schema, const char *parent)
{
  json_t *required = json_object_get(schema, "required"), *sub, *r;
  const char *name;
  size_t i;

  json_object_foreach(json_object_get(schema, "properties"), name, sub)
  {
    const char *desc = json_string_value(json_object_get(sub, "description"));
    int req = 0;
    struct buf full = BUF_INIT;

    json_array_foreach(required, i, r) req |=
        json_is_string(r) && strcmp(json_string_value(r), name) == 0;
    if (buf_printf(&full, "%s%s%s", parent ? parent : "", parent ? "." : "",
                   name))
      continue;
    printf("| %s | %s | ", full.data, req ? "True" : "False");
    print_md_value(json_object_get(sub, "default"));
    fputs(" | ", stdout);
    for (const char *p = desc ? desc : ""; *p; p++)
      if (*p == '\n')
        fputs("<BR/>", stdout);
      else
        putchar(*p);
    fputs(" |\n", stdout);
    if (json_object_get(sub, "properties"))
      print_md_rows(sub, full.data);
    buf_free(&full);
  }
}

/* --about: singer-sdk's about (singer_sdk/about.py), in its three
 * formats. There is no Python to report, so no
 * supported_python_versions; sdk_version is integ's. */
static int tap_about(const struct plugin *pl, const char *format,
                     struct integ_error *err)
{
  static const char *const caps[] = {"about", "catalog", "discover",
                                     "properties", "state"};
  const struct integ_plugin *vt = pl->vt;
  json_error_t jerr;
  char *spec = auth_spec_with(tap_spec(pl));
  json_t *settings = json_loads(spec           ? spec
                                : tap_spec(pl) ? tap_spec(pl)
                                               : "{}",
                                0, &jerr);
  json_t *about = NULL, *list, *sub;
  const char *name;
  int rc = 0;

  free(spec);
  if (!settings)
    return error_set(err, INTEG_EPLUGIN,
                     "plugin %s: its spec is not valid JSON: %d:%d: %s",
                     vt->name, jerr.line, jerr.column, jerr.text);
  if (!format || strcmp(format, "text") == 0) {
    printf("Name: tap-%s\nDescription: %s\nVersion: %s\nSDK Version: "
           "%s\nCapabilities:\n",
           vt->name, vt->description ? vt->description : "", vt->version,
           PACKAGE_VERSION);
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
      printf("  - %s\n", caps[i]);
    printf("Settings:\n");
    json_object_foreach(json_object_get(settings, "properties"), name, sub)
    {
      printf("  - Name: %s\n    Type: ", name);
      print_md_value(json_object_get(sub, "type"));
      putchar('\n');
    }
  } else if (strcmp(format, "json") == 0) {
    about = json_pack("{s:s+, s:s, s:s, s:s+, s:[], s:O}", "name", "tap-",
                      vt->name, "description",
                      vt->description ? vt->description : "", "version",
                      vt->version, "sdk_version", "", PACKAGE_VERSION,
                      "capabilities", "settings", settings);
    list = json_object_get(about, "capabilities");
    for (size_t i = 0; !rc && i < sizeof(caps) / sizeof(caps[0]); i++)
      if (!list || json_array_append_new(list, json_string(caps[i])))
        rc = error_set(err, INTEG_ENOMEM, "out of memory");
    if (!rc)
      rc = print_json(about, err);
  } else if (strcmp(format, "markdown") == 0) {
    printf("# `tap-%s`\n\n%s\n\nBuilt with integ %s from its plugin `%s` "
           "%s.\n\n## Capabilities\n\n",
           vt->name, vt->description ? vt->description : "", PACKAGE_VERSION,
           vt->name, vt->version);
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
      printf("- `%s`\n", caps[i]);
    printf("\n## Settings\n\n| Setting | Required | Default | Description "
           "|\n|:--------|:--------:|:-------:|:------------|\n");
    print_md_rows(settings, NULL);
    printf("\nA full list of supported settings and capabilities is "
           "available by running: `tap-%s --about`\n",
           vt->name);
  } else {
    rc = error_set(err, INTEG_ECONFIG,
                   "--format '%s': expected json, markdown or text", format);
  }
  if (!rc && fflush(stdout))
    rc = error_set(err, INTEG_EIO, "standard output: %s", strerror(errno));
  json_decref(about);
  json_decref(settings);
  return rc;
}

int tap_load_config(const struct plugin *pl, const char *file, int print,
                    json_t **config, struct integ_error *err)
{
  int rc = 0;

  if (file) {
    /* The host's "auth" member is checked with the plugin's config; a
     * shipped definition's config is checked when it loads. */
    char *spec = auth_spec_with(tap_spec(pl));

    rc = configfile_load(file, spec ? spec : tap_spec(pl), pl->vt->name, print,
                         config, err);
    free(spec);
  } else if (!(*config = json_object())) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
  }
  if (!rc && tap_definition && !json_object_get(*config, "definition") &&
      json_object_set_new(*config, "definition", json_string(tap_definition)))
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
  return rc;
}

/* The Singer state in --state FILE (DOC, borrowed) as the plugin takes it
 * (its bookmarks): a new reference in *out. The file holds a STATE value,
 * {"bookmarks": {...}}; a whole STATE message (the last line of a tap's
 * output, which users copy) is taken for its value, with a warning.
 * Anything else would be read as "no bookmarks" and start the sync over:
 * INTEG_ESTATE naming the file. */
static int tap_state(json_t *doc, const char *file, struct integ_error *err)
{
  json_t *type = json_object_get(doc, "type");
  const char *key;
  json_t *v;

  if (json_is_string(type) && strcmp(json_string_value(type), "STATE") == 0 &&
      json_is_object(json_object_get(doc, "value"))) {
    log_warn("state %s is a whole Singer STATE message: using its \"value\" "
             "(a state file holds just the value, {\"bookmarks\": ...})",
             file);
    return 0;
  }
  if (!json_is_object(doc))
    return 0; /* emit_singer_state_from_value says what is wrong */
  json_object_foreach(doc, key, v)
  {
    if (strcmp(key, "bookmarks") && strcmp(key, "currently_syncing"))
      return error_set(err, INTEG_ESTATE,
                       "state %s: unexpected member \"%s\": a Singer state is "
                       "{\"bookmarks\": {STREAM: {...}}} (or a whole STATE "
                       "message, {\"type\": \"STATE\", \"value\": ...})",
                       file, key);
  }
  return 0;
}

static int tap_main(const struct tap_args *a)
{
  struct integ_error err = {0, ""};
  struct loader_path lp = {NULL, 0};
  struct plugin *pl = NULL;
  struct catalog *cat = NULL;
  struct run_stats stats = {0};
  struct tap_run r;
  struct auth_tap at = {0};
  json_t *config = NULL, *doc = NULL, *state = NULL, *streams = NULL;
  json_t *out = NULL, *value;
  int rc, status = EXIT_OK;

  rc = tap_open_plugin(a->plugin, &lp, &pl, &err);
  if (rc)
    goto out;
  if (a->about) {
    rc = tap_about(pl, a->format, &err);
    goto out;
  }
  rc = tap_load_config(pl, a->config, 1, &config, &err);
  if (rc)
    goto out;
  rc = tap_run_init(&r, a->plugin, EMIT_SINGER, &err);
  r.o.base = a->config; /* definitions are relative to it */
  if (rc)
    goto out;
  rc = auth_tap_start(&at, config, a->config, 0, &r.http, &r.clk, &err);
  if (rc)
    goto out;
  if (at.cfg) { /* it fills a definition's auth: */
    r.o.auth = at.cfg;
    r.o.auth_env = &at.env;
  }
  if (a->discover) {
    rc = run_discover(pl, config, &r.o, &streams, &err);
    if (rc)
      goto out;
    rc = catalog_singer_from_discover(streams, &out, &err);
    if (rc)
      goto out;
    rc = print_json(out, &err);
    goto out;
  }
  if (a->catalog) {
    rc =
        configfile_read_json(a->catalog, "catalog", INTEG_ECONFIG, &doc, &err);
    if (rc)
      goto out;
    rc = catalog_parse_singer(doc, a->catalog, &cat, &err);
    if (rc)
      goto out;
  }
  if (a->state) {
    json_decref(doc);
    doc = NULL;
    rc = configfile_read_json(a->state, "state", INTEG_ESTATE, &doc, &err);
    if (rc)
      goto out;
    rc = tap_state(doc, a->state, &err);
    if (rc)
      goto out;
    value = json_object_get(doc, "type") ? json_object_get(doc, "value") : doc;
    state = emit_singer_state_from_value(value, &err);
    if (!state) {
      /* It returns NULL with err set: INTEG_ESTATE, or INTEG_ENOMEM. */
      rc = err.code;
      error_prefix(&err, "state %s", a->state);
      goto out;
    }
    /* A full-refresh stream starts over: its bookmark is not handed on. */
    json_decref(doc);
    doc = state;
    state = catalog_strip_state(cat, doc);
    if (!state) {
      rc = error_set(&err, INTEG_ENOMEM, "out of memory");
      goto out;
    }
  }
  r.oc.catalog = cat;
  rc = run_plugin(pl, config, state, &r.o, &stats, &err);
  if (!rc)
    log_info("tap-%s: %llu records, %llu states", a->plugin,
             (unsigned long long)stats.records,
             (unsigned long long)stats.states);
out:
  if (rc) {
    log_error("%s", err.message);
    status = tap_exit_status(rc);
  }
  run_stats_free(&stats);
  auth_tap_end(&at);
  json_decref(out);
  json_decref(streams);
  json_decref(state);
  json_decref(doc);
  json_decref(config);
  catalog_free(cat);
  loader_close(pl);
  loader_path_free(&lp);
  return status;
}

/* Non-options are PLUGIN (and VERB). */
int tap_parse_args(const char *cmd, int argc, char **argv, struct tap_args *a,
                   int *help)
{
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'},
      {"state", required_argument, NULL, 's'},
      {"catalog", required_argument, NULL, 'C'},
      {"properties", required_argument, NULL, 'p'},
      {"discover", no_argument, NULL, 'd'},
      {"about", no_argument, NULL, 'a'},
      {"format", required_argument, NULL, 'f'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  int tap = strcmp(cmd, "tap") == 0, opt;

  memset(a, 0, sizeof(*a));
  *help = 0;
  while ((opt = getopt_long(argc, argv, "c:s:p:daf:h", opts, NULL)) != -1) {
    switch (opt) {
    case 'c':
      a->config = optarg;
      break;
    case 's':
      a->state = optarg;
      break;
    case 'C':
    case 'p':
      if (a->catalog)
        return cli_usage_error(cmd, "give one catalog (--catalog or "
                                    "--properties)");
      a->catalog = optarg;
      break;
    case 'd':
      a->discover = 1;
      break;
    case 'a':
      a->about = 1;
      break;
    case 'f':
      a->format = optarg;
      break;
    case 'h':
      *help = 1;
      return EXIT_OK;
    default:
      return cli_usage_error(cmd, "bad option");
    }
  }
  if (optind >= argc)
    return cli_usage_error(cmd, "name the plugin");
  a->plugin = argv[optind++];
  if (!tap && optind < argc)
    a->verb = argv[optind++];
  if (optind < argc)
    return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
  if (tap && (a->discover || a->about) && (a->catalog || a->state))
    return cli_usage_error(cmd, "--discover and --about take no catalog or "
                                "state");
  if (tap && a->format && !a->about)
    return cli_usage_error(cmd, "--format goes with --about");
  if (!tap && (a->discover || a->about || a->format))
    return cli_usage_error(cmd, "--discover, --about and --format are "
                                "`integ tap` options");
  return EXIT_OK;
}

int cmd_tap(int argc, char **argv)
{
  struct tap_args a;
  int help, rc = tap_parse_args("tap", argc, argv, &a, &help);

  if (help) {
    tap_usage(stdout);
    return EXIT_OK;
  }
  return rc ? rc : tap_main(&a);
}
