/* cmd_source.c - `integ source` (an Airbyte source): any plugin, run as
 * the one executable per connector that Airbyte expects; see cmd_tap.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "buf.h"
#include "catalog.h"
#include "cli.h"
#include "clock.h"
#include "cmd_tap.h"
#include "configfile.h"
#include "emit.h"
#include "error.h"
#include "loader.h"
#include "log.h"
#include "run.h"

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
             "is a TRACE\nERROR message, with exit status 2 for a bad config, "
             "catalog or state or an\nunknown plugin (failure_type "
             "config_error), else 1.\n");
}

/* A TRACE ERROR for a failed step (code RC); returns the exit status:
 * 2 (config_error) for the user's files or plugin name, else 1. */
static int source_fail(struct buf *b, int rc, const struct integ_error *e,
                       const struct clock *clk)
{
  int status = tap_exit_status(rc);
  enum emit_airbyte_failure ft = status == EXIT_USAGE
                                     ? EMIT_AIRBYTE_CONFIG_ERROR
                                     : EMIT_AIRBYTE_SYSTEM_ERROR;
  struct integ_error werr = {0, ""};

  log_error("%s", e->message);
  if (emit_airbyte_error(b, e->message, error_code_name(rc), ft, NULL,
                         clock_now_ms(clk), &werr) == 0)
    tap_put(b, &werr);
  return status;
}

/* --state holds a JSON array of state messages (or a legacy state object,
 * keyed by stream). One state message given without its array would pass
 * as a legacy state that names no stream, and the read would silently
 * start over: refuse it. */
static int source_state_shape(json_t *doc, const char *file,
                              struct integ_error *err)
{
  if (json_is_object(doc) &&
      (json_is_string(json_object_get(doc, "type")) ||
       json_object_get(doc, "stream") || json_object_get(doc, "global")))
    return error_set(err, INTEG_ESTATE,
                     "state %s: expected a JSON array of Airbyte state "
                     "messages, got one state message object: put it in "
                     "[ ] (the array Airbyte passes to --state)",
                     file);
  return 0;
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
  return rc ? rc : tap_put(b, err);
}

static int source_read(const struct tap_args *a, const struct plugin *pl,
                       json_t *config, struct tap_run *r, struct buf *b,
                       struct integ_error *err)
{
  struct run_stats stats = {0};
  struct catalog *cat = NULL;
  json_t *doc = NULL, *state = NULL, *stripped = NULL;
  int rc;

  if (!a->catalog) {
    rc = error_set(err, INTEG_ECONFIG,
                   "read needs --catalog FILE (the configured catalog)");
    goto out;
  }
  rc = configfile_read_json(a->catalog, "catalog", INTEG_ECONFIG, &doc, err);
  if (rc)
    goto out;
  rc = catalog_parse_airbyte(doc, a->catalog, &cat, err);
  if (rc)
    goto out;
  if (a->state) {
    json_decref(doc);
    doc = NULL;
    rc = configfile_read_json(a->state, "state", INTEG_ESTATE, &doc, err);
    if (rc)
      goto out;
    rc = source_state_shape(doc, a->state, err);
    if (rc)
      goto out;
    state = emit_airbyte_state_from_messages(doc, err);
    if (!state) {
      /* It returns NULL with err set: INTEG_ESTATE, or INTEG_ENOMEM. */
      rc = err->code;
      error_prefix(err, "state %s", a->state);
      goto out;
    }
    stripped = catalog_strip_state(cat, state);
    if (!stripped) {
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
      goto out;
    }
  }
  r->oc.catalog = cat;
  r->oc.stream_start = source_stream_start;
  r->oc.stream_start_arg = r;
  rc = source_statuses(b, cat, EMIT_AIRBYTE_STARTED, &r->clk, err);
  if (rc)
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

static int source_spec(const struct plugin *pl, struct buf *b,
                       struct integ_error *err)
{
  json_error_t jerr;
  json_t *spec = NULL, *v = NULL;
  int rc = 0;

  {
    char *with = auth_spec_with(tap_spec(pl));

    spec = json_loads(with           ? with
                      : tap_spec(pl) ? tap_spec(pl)
                                     : "{}",
                      0, &jerr);
    free(with);
  }
  if (!spec) {
    rc = error_set(err, INTEG_EPLUGIN,
                   "plugin %s: its spec is not valid JSON: %d:%d: %s",
                   pl->vt->name, jerr.line, jerr.column, jerr.text);
    goto out;
  }
  v = json_pack("{s:O, s:b}", "connectionSpecification", spec,
                "supportsIncremental", 1);
  if (!v) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  rc = emit_airbyte_spec(b, v, err);
  if (rc)
    goto out;
  rc = tap_put(b, err);
out:
  json_decref(v);
  json_decref(spec);
  return rc;
}

static int source_discover(const struct plugin *pl, json_t *config,
                           struct tap_run *r, struct buf *b,
                           struct integ_error *err)
{
  json_t *streams = NULL, *catalog = NULL;
  int rc;

  rc = run_discover(pl, config, &r->o, &streams, err);
  if (rc)
    goto out;
  rc = catalog_airbyte_from_discover(streams, &catalog, err);
  if (rc)
    goto out;
  rc = emit_airbyte_catalog(b, catalog, err);
  if (rc)
    goto out;
  rc = tap_put(b, err);
out:
  json_decref(catalog);
  json_decref(streams);
  return rc;
}

static int source_main(const struct tap_args *a)
{
  struct integ_error err = {0, ""};
  struct loader_path lp = {NULL, 0};
  struct plugin *pl = NULL;
  struct buf b = BUF_INIT;
  struct tap_run r;
  struct auth_tap at = {0};
  json_t *config = NULL;
  const char *verb = a->verb;
  int rc = 0, status = EXIT_OK;

  if (!verb) {
    status = cli_usage_error("source", "say spec, check, discover or read");
    goto out;
  }
  if (strcmp(verb, "spec") && strcmp(verb, "check") &&
      strcmp(verb, "discover") && strcmp(verb, "read")) {
    status = cli_usage_error(
        "source", "'%s': expected spec, check, discover or read", verb);
    goto out;
  }
  if (strcmp(verb, "spec") && !a->config) {
    status = cli_usage_error("source", "%s needs --config FILE", verb);
    goto out;
  }
  rc = tap_run_init(&r, a->plugin, EMIT_AIRBYTE, &err);
  r.o.base = a->config; /* definitions are relative to it */
  if (rc)
    goto out;
  rc = tap_open_plugin(a->plugin, &lp, &pl, &err);
  if (rc)
    goto out;
  if (strcmp(verb, "spec") == 0) {
    rc = source_spec(pl, &b, &err);
    goto out;
  }
  rc = tap_load_config(pl, a->config, 0, &config, &err);
  if (!rc)
    rc = auth_tap_start(&at, config, a->config, 1, &r.http, &r.clk, &err);
  if (!rc && at.cfg) { /* it fills a definition's auth: */
    r.o.auth = at.cfg;
    r.o.auth_env = &at.env;
  }
  if (strcmp(verb, "check") == 0) {
    /* Whatever is wrong is the answer to the question: exit 0. */
    if (!rc)
      rc = run_check(pl, config, &r.o, &err);
    if (rc)
      log_warn("%s", err.message);
    rc = emit_airbyte_connection_status(&b, rc == 0, rc ? err.message : NULL,
                                        &err);
    if (rc)
      goto out;
    rc = tap_put(&b, &err);
    goto out;
  }
  if (rc)
    goto out;
  if (strcmp(verb, "discover") == 0)
    rc = source_discover(pl, config, &r, &b, &err);
  else
    rc = source_read(a, pl, config, &r, &b, &err);
out:
  if (rc)
    status = source_fail(&b, rc, &err, &r.clk);
  buf_free(&b);
  auth_tap_end(&at);
  json_decref(config);
  loader_close(pl);
  loader_path_free(&lp);
  return status;
}

int cmd_source(int argc, char **argv)
{
  struct tap_args a;
  int help, rc = tap_parse_args("source", argc, argv, &a, &help);

  if (help) {
    source_usage(stdout);
    return EXIT_OK;
  }
  return rc ? rc : source_main(&a);
}
