/* cmd_tap.c - `integ tap` (a Singer tap) and `integ source` (an Airbyte
 * source): any plugin, run as the one executable per connector that
 * Meltano and Airbyte expect. No store and no manifest: the config, the
 * catalog and the state come in files, and states go out as messages.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "catalog.h"
#include "cli.h"
#include "clock.h"
#include "configfile.h"
#include "emit.h"
#include "error.h"
#include "loader.h"
#include "log.h"
#include "run.h"

struct tap_args {
  const char *plugin;
  const char *verb;    /* source: spec, check, discover, read */
  const char *config;  /* --config FILE */
  const char *state;   /* --state FILE */
  const char *catalog; /* --catalog / --properties FILE */
  const char *format;  /* --about --format */
  int discover, about;
};

/* What a run needs besides the plugin: clock, HTTP settings, output. */
struct tap_run {
  struct clock clk;
  struct http_config http;
  struct output_config oc;
  struct run_opts o;
};

static int tap_run_init(struct tap_run *r, const char *tag,
                        enum emit_format format, struct integ_error *err)
{
  memset(r, 0, sizeof(*r));
  if (clock_init(&r->clk, err))
    return INTEG_ECONFIG;
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

static int open_plugin(const char *name, struct loader_path *lp,
                       struct plugin **pl, struct integ_error *err)
{
  int rc = loader_path_init(lp, NULL, 0, err);

  return rc ? rc : loader_open(lp, name, pl, err);
}

/* Write b to standard output and empty it. */
static int put(struct buf *b, struct integ_error *err)
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

/* Exit status for a failed step: the user's files or plugin name (2),
 * or the run (1). */
static int status_of(int code)
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

/* The Singer catalog entry of one discover() element (borrowed). */
static json_t *singer_entry(json_t *d, size_t i, struct integ_error *err)
{
  json_t *name = json_object_get(d, "stream");
  json_t *schema = json_object_get(d, "schema");
  json_t *keys = json_object_get(d, "key_properties");
  json_t *rk = json_object_get(d, "replication_key");
  json_t *entry, *md, *root, *props = json_object_get(schema, "properties");
  json_t *v;
  const char *field;
  size_t k;

  if (!json_is_string(name) || !json_is_object(schema)) {
    error_set(err, INTEG_EPLUGIN,
              "discover()[%zu]: expected {\"stream\": NAME, \"schema\": "
              "{...}}",
              i);
    return NULL;
  }
  if (!json_is_array(keys))
    keys = NULL;
  if (!json_is_string(rk))
    rk = NULL;
  /* singer-sdk's key order. */
  entry = json_pack("{s:O}", "tap_stream_id", name);
  root = json_pack("{s:o}", "table-key-properties",
                   keys ? json_incref(keys) : json_array());
  md = json_array();
  if (!entry || !root || !md)
    goto nomem;
  if (rk)
    json_object_set(entry, "replication_key", rk);
  json_object_set_new(entry, "replication_method",
                      json_string(rk ? "INCREMENTAL" : "FULL_TABLE"));
  json_object_set_new(entry, "key_properties",
                      keys ? json_incref(keys) : json_array());
  json_object_set(entry, "schema", schema);
  json_object_set(entry, "stream", name);
  if (rk)
    json_object_set_new(root, "valid-replication-keys", json_pack("[O]", rk));
  else
    json_object_set_new(root, "forced-replication-method",
                        json_string("FULL_TABLE"));
  json_object_set_new(root, "inclusion", json_string("available"));
  json_object_set_new(root, "selected-by-default", json_true());
  if (json_array_append_new(
          md, json_pack("{s:[], s:o}", "breadcrumb", "metadata", root)))
    goto nomem;
  root = NULL;
  json_object_foreach(props, field, v)
  {
    int automatic = rk && strcmp(field, json_string_value(rk)) == 0;

    json_array_foreach(keys, k, v) automatic |=
        json_is_string(v) && strcmp(field, json_string_value(v)) == 0;
    if (json_array_append_new(
            md, json_pack("{s:[ss], s:{s:s, s:b}}", "breadcrumb", "properties",
                          field, "metadata", "inclusion",
                          automatic ? "automatic" : "available",
                          "selected-by-default", 1)))
      goto nomem;
  }
  if (json_object_set_new(entry, "metadata", md))
    goto nomem_md;
  return entry;
nomem:
  json_decref(md);
nomem_md:
  json_decref(root);
  json_decref(entry);
  error_set(err, INTEG_ENOMEM, "out of memory building the catalog");
  return NULL;
}

/* The Singer catalog for discover()'s array (borrowed): new reference. */
static json_t *singer_catalog(json_t *streams, struct integ_error *err)
{
  json_t *list = json_array(), *d, *e;
  size_t i;

  if (!list) {
    error_set(err, INTEG_ENOMEM, "out of memory building the catalog");
    return NULL;
  }
  json_array_foreach(streams, i, d)
  {
    if (!(e = singer_entry(d, i, err)) || json_array_append_new(list, e)) {
      json_decref(list);
      return NULL;
    }
  }
  return json_pack("{s:o}", "streams", list);
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
  json_t *settings = json_loads(vt->spec ? vt->spec : "{}", 0, &jerr);
  json_t *about = NULL, *list, *sub;
  const char *name;
  int rc = 0;

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
    for (size_t i = 0; list && i < sizeof(caps) / sizeof(caps[0]); i++)
      json_array_append_new(list, json_string(caps[i]));
    rc = about ? print_json(about, err)
               : error_set(err, INTEG_ENOMEM, "out of memory");
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

/* The config: --config FILE, else {} (still checked: a required key is
 * reported as missing). */
static int load_config(const struct plugin *pl, const char *file, int print,
                       json_t **config, struct integ_error *err)
{
  if (file)
    return configfile_load(file, pl->vt->spec, pl->vt->name, print, config,
                           err);
  *config = json_object();
  return *config ? 0 : error_set(err, INTEG_ENOMEM, "out of memory");
}

static int tap_main(const struct tap_args *a)
{
  struct integ_error err = {0, ""};
  struct loader_path lp = {NULL, 0};
  struct plugin *pl = NULL;
  struct catalog *cat = NULL;
  struct run_stats stats = {0};
  struct tap_run r;
  json_t *config = NULL, *doc = NULL, *state = NULL, *streams = NULL;
  json_t *out = NULL;
  int rc, status = EXIT_USAGE;

  rc = open_plugin(a->plugin, &lp, &pl, &err);
  if (rc)
    goto out;
  if (a->about) {
    rc = tap_about(pl, a->format, &err);
    status = EXIT_OK;
    goto out;
  }
  if ((rc = load_config(pl, a->config, 1, &config, &err)) ||
      (rc = tap_run_init(&r, a->plugin, EMIT_SINGER, &err)))
    goto out;
  if (a->discover) {
    if ((rc = run_discover(pl, config, &r.o, &streams, &err)) ||
        (!(out = singer_catalog(streams, &err)) && (rc = err.code)) ||
        (rc = print_json(out, &err)))
      goto out;
    status = EXIT_OK;
    goto out;
  }
  if (a->catalog && ((rc = configfile_read_json(a->catalog, "catalog",
                                                INTEG_ECONFIG, &doc, &err)) ||
                     (rc = catalog_parse_singer(doc, a->catalog, &cat, &err))))
    goto out;
  if (a->state) {
    json_decref(doc);
    doc = NULL;
    if ((rc = configfile_read_json(a->state, "state", INTEG_ESTATE, &doc,
                                   &err)))
      goto out;
    state = emit_singer_state_from_value(doc, &err);
    if (!state) {
      rc = err.code;
      error_prefix(&err, "state %s", a->state);
      goto out;
    }
    /* A full-refresh stream starts over: its bookmark is not handed on. */
    json_decref(doc);
    doc = state;
    if (!(state = catalog_strip_state(cat, doc))) {
      rc = error_set(&err, INTEG_ENOMEM, "out of memory");
      goto out;
    }
  }
  r.oc.catalog = cat;
  rc = run_plugin(pl, config, state, &r.o, &stats, &err);
  status = EXIT_OK;
  if (!rc)
    log_info("tap-%s: %llu records, %llu states", a->plugin,
             (unsigned long long)stats.records,
             (unsigned long long)stats.states);
out:
  if (rc) {
    log_error("%s", err.message);
    status = status_of(rc);
  }
  run_stats_free(&stats);
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

/* Options shared by both commands; non-options are PLUGIN (and VERB). */
static int parse_args(const char *cmd, int argc, char **argv,
                      struct tap_args *a, int *help)
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
  int help, rc = parse_args("tap", argc, argv, &a, &help);

  if (help) {
    tap_usage(stdout);
    return EXIT_OK;
  }
  return rc ? rc : tap_main(&a);
}

/* ----------------------------------------------------- Airbyte source */

static void source_usage(FILE *f)
{
  fprintf(f, "Usage: integ source PLUGIN spec\n"
             "       integ source PLUGIN check --config FILE\n"
             "       integ source PLUGIN discover --config FILE\n"
             "       integ source PLUGIN read --config FILE --catalog FILE "
             "[--state FILE]\n"
             "Run plugin PLUGIN as an Airbyte source: Airbyte protocol "
             "messages on\nstandard output (also as a symlink named "
             "source-PLUGIN to integ).\n\n"
             "  -c, --config FILE   the connector's config (JSON), checked "
             "against the\n"
             "                      plugin's spec\n"
             "      --catalog FILE  the configured catalog: streams, sync "
             "modes\n"
             "  -s, --state FILE    the JSON array of state messages to "
             "resume from\n"
             "  -h, --help          show this help\n\n"
             "check exits 0 and says FAILED or SUCCEEDED; any other failure "
             "is a TRACE\nERROR message and exit status 1.\n");
}

/* A TRACE ERROR for a failed step; the exit status 1. */
static int source_fail(struct buf *b, const struct integ_error *e,
                       const struct clock *clk)
{
  enum emit_airbyte_failure ft =
      e->code == INTEG_ECONFIG || e->code == INTEG_ESTATE
          ? EMIT_AIRBYTE_CONFIG_ERROR
          : EMIT_AIRBYTE_SYSTEM_ERROR;
  struct integ_error werr = {0, ""};

  log_error("%s", e->message);
  if (emit_airbyte_error(b, e->message, error_code_name(e->code), ft, NULL,
                         clock_now_ms(clk), &werr) == 0)
    put(b, &werr);
  return EXIT_RUN;
}

/* RUNNING, written by the output before a stream's first record. */
static int source_stream_start(void *arg, const char *stream, struct buf *out,
                               struct integ_error *err)
{
  const struct tap_run *r = arg;

  return emit_airbyte_stream_status(out, stream, NULL, EMIT_AIRBYTE_RUNNING,
                                    clock_now_ms(&r->clk), err);
}

/* STATUS for every selected stream of the catalog. */
static int source_statuses(struct buf *b, const struct catalog *cat,
                           enum emit_airbyte_status st,
                           const struct clock *clk, struct integ_error *err)
{
  int rc = 0;

  for (size_t i = 0; !rc && i < cat->n; i++)
    rc = emit_airbyte_stream_status(b, cat->streams[i].name, NULL, st,
                                    clock_now_ms(clk), err);
  return rc ? rc : put(b, err);
}

static int source_read(const struct tap_args *a, const struct plugin *pl,
                       json_t *config, struct tap_run *r, struct buf *b,
                       struct integ_error *err)
{
  struct run_stats stats = {0};
  struct catalog *cat = NULL;
  json_t *doc = NULL, *state = NULL, *stripped = NULL;
  int rc;

  if (!a->catalog)
    return error_set(err, INTEG_ECONFIG,
                     "read needs --catalog FILE (the configured catalog)");
  if ((rc = configfile_read_json(a->catalog, "catalog", INTEG_ECONFIG, &doc,
                                 err)) ||
      (rc = catalog_parse_airbyte(doc, a->catalog, &cat, err)))
    goto out;
  if (a->state) {
    json_decref(doc);
    doc = NULL;
    if ((rc =
             configfile_read_json(a->state, "state", INTEG_ESTATE, &doc, err)))
      goto out;
    if (!(state = emit_airbyte_state_from_messages(doc, err))) {
      rc = err->code;
      error_prefix(err, "state %s", a->state);
      goto out;
    }
    if (!(stripped = catalog_strip_state(cat, state))) {
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
      goto out;
    }
  }
  r->oc.catalog = cat;
  r->oc.stream_start = source_stream_start;
  r->oc.stream_start_arg = r;
  if ((rc = source_statuses(b, cat, EMIT_AIRBYTE_STARTED, &r->clk, err)))
    goto out;
  rc = run_plugin(pl, config, stripped, &r->o, &stats, err);
  /* The output is flushed and closed: these come after its last line. */
  if (!rc)
    rc = source_statuses(b, cat, EMIT_AIRBYTE_COMPLETE, &r->clk, err);
  else
    source_statuses(b, cat, EMIT_AIRBYTE_INCOMPLETE, &r->clk,
                    &(struct integ_error){0, ""});
  if (!rc)
    log_info("source-%s: %llu records, %llu states", a->plugin,
             (unsigned long long)stats.records,
             (unsigned long long)stats.states);
out:
  run_stats_free(&stats);
  json_decref(stripped);
  json_decref(state);
  json_decref(doc);
  catalog_free(cat);
  return rc;
}

static int source_main(const struct tap_args *a)
{
  struct integ_error err = {0, ""};
  struct loader_path lp = {NULL, 0};
  struct plugin *pl = NULL;
  struct buf b = BUF_INIT;
  struct tap_run r;
  json_t *config = NULL, *v = NULL, *spec = NULL;
  const char *verb = a->verb;
  int rc, status = EXIT_RUN;

  if (!verb) {
    status = cli_usage_error("source", "say spec, check, discover or read");
    goto done;
  }
  if (strcmp(verb, "spec") && strcmp(verb, "check") &&
      strcmp(verb, "discover") && strcmp(verb, "read")) {
    status = cli_usage_error(
        "source", "'%s': expected spec, check, discover or read", verb);
    goto done;
  }
  if (strcmp(verb, "spec") && !a->config) {
    status = cli_usage_error("source", "%s needs --config FILE", verb);
    goto done;
  }
  if ((rc = tap_run_init(&r, a->plugin, EMIT_AIRBYTE, &err)) ||
      (rc = open_plugin(a->plugin, &lp, &pl, &err)))
    goto fail;
  if (strcmp(verb, "spec") == 0) {
    json_error_t jerr;

    spec = json_loads(pl->vt->spec ? pl->vt->spec : "{}", 0, &jerr);
    if (!spec) {
      rc = error_set(&err, INTEG_EPLUGIN,
                     "plugin %s: its spec is not valid JSON: %d:%d: %s",
                     pl->vt->name, jerr.line, jerr.column, jerr.text);
      goto fail;
    }
    if (!(v = json_pack("{s:O, s:b}", "connectionSpecification", spec,
                        "supportsIncremental", 1))) {
      rc = error_set(&err, INTEG_ENOMEM, "out of memory");
      goto fail;
    }
    if ((rc = emit_airbyte_spec(&b, v, &err)) || (rc = put(&b, &err)))
      goto fail;
    status = EXIT_OK;
    goto done;
  }
  rc = load_config(pl, a->config, 0, &config, &err);
  if (strcmp(verb, "check") == 0) {
    /* Whatever is wrong is the answer to the question: exit 0. */
    if (!rc)
      rc = run_check(pl, config, &r.o, &err);
    if (rc)
      log_warn("%s", err.message);
    if ((rc = emit_airbyte_connection_status(&b, rc == 0,
                                             rc ? err.message : NULL, &err)) ||
        (rc = put(&b, &err)))
      goto fail;
    status = EXIT_OK;
    goto done;
  }
  if (rc)
    goto fail;
  if (strcmp(verb, "discover") == 0) {
    if ((rc = run_discover(pl, config, &r.o, &spec, &err)) ||
        !(v = emit_airbyte_catalog_from_discover(spec, &err)) ||
        (rc = emit_airbyte_catalog(&b, v, &err)) || (rc = put(&b, &err))) {
      rc = rc ? rc : err.code;
      goto fail;
    }
    status = EXIT_OK;
    goto done;
  }
  if ((rc = source_read(a, pl, config, &r, &b, &err)))
    goto fail;
  status = EXIT_OK;
  goto done;
fail:
  status = source_fail(&b, &err, &r.clk);
done:
  buf_free(&b);
  json_decref(v);
  json_decref(spec);
  json_decref(config);
  loader_close(pl);
  loader_path_free(&lp);
  return status;
}

int cmd_source(int argc, char **argv)
{
  struct tap_args a;
  int help, rc = parse_args("source", argc, argv, &a, &help);

  if (help) {
    source_usage(stdout);
    return EXIT_OK;
  }
  return rc ? rc : source_main(&a);
}
