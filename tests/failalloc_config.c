/* failalloc_config.c - every allocation of the YAML loader, the JSON
 * Schema validator and the manifest fails in turn (see failalloc.h). A
 * valid input must give INTEG_ENOMEM or the same result, never a
 * configuration error; an invalid one the same messages or INTEG_ENOMEM. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "error.h"
#include "failalloc.h"
#include "jsonschema.h"
#include "manifest.h"
#include "secrets.h"
#include "yaml.h"

/* Turn a loader's outcome into the harness's: INTEG_ENOMEM (also when a
 * message could not be kept), else 0 with the result: the messages (the
 * expected INTEG_ECONFIG) and the value. */
static int outcome(int rc, const struct yaml_errors *errs, const json_t *v,
                   struct integ_error *err)
{
  struct buf b = BUF_INIT;
  char *text;

  if (rc == INTEG_ENOMEM || errs->nomem)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  if (rc && rc != INTEG_ECONFIG)
    return error_set(err, rc, "unexpected code");
  failalloc_pause();
  for (size_t i = 0; i < errs->n; i++)
    if (buf_printf(&b, "%s\n", errs->msgs[i]))
      abort();
  text = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)
           : NULL;
  if (buf_printf(&b, "rc %d, %zu dropped: %s", rc, errs->dropped,
                 text ? text : "(none)"))
    abort();
  failalloc_result(b.data, b.len);
  free(text);
  buf_free(&b);
  failalloc_resume();
  return 0;
}

/* ------------------------------------------------------------ yaml */

static const char good_yaml[] = "integ: 1\n"
                                "name: \"quoted \\u00e9\"\n"
                                "list: [1, two, 3.5, true, null, 0x1F, 0o17]\n"
                                "map:\n"
                                "  nested: {a: 1, b: [x, y]}\n"
                                "  block: |\n"
                                "    line one\n"
                                "    line two\n"
                                "  empty:\n"
                                "  # a comment\n"
                                "  folded: >\n"
                                "    folded text\n";

static const char bad_yaml[] = "a: yes\n"
                               "b: .inf\n"
                               "c: 99999999999999999999999\n"
                               "a: 2\n"
                               "d: &x 1\n";

static int yaml_load(void *arg, struct integ_error *err)
{
  const char *text = arg;
  struct yaml_errors errs = {0};
  struct yaml_locs *t = NULL;
  json_t *v = NULL;
  int rc;

  t = yaml_locs_new();
  if (!t)
    return error_set(err, INTEG_ENOMEM, "yaml_locs_new: out of memory");
  rc = yaml_load_buffer("t.yaml", text, strlen(text), "", &v, t, &errs);
  rc = outcome(rc, &errs, v, err);
  json_decref(v);
  yaml_locs_free(t);
  yaml_errors_free(&errs);
  return rc;
}

/* The key paths, the location table and the error list. */
static int yaml_paths_and_locations(void *arg, struct integ_error *err)
{
  struct yaml_path p = {NULL, 0, 0};
  struct yaml_errors errs = {0};
  struct yaml_locs *t = yaml_locs_new(), *copy = yaml_locs_new();
  struct yaml_loc loc = {"f.yaml", 1, 2, 1, 1, 0};
  int rc = 0;

  (void)arg;
  if (!t || !copy) {
    rc = INTEG_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < 40 && !rc; i++) {
    size_t mark = yaml_path_push_key(&p, "connectors");
    if (mark == (size_t)-1 || yaml_path_push_index(&p, i) == (size_t)-1 ||
        yaml_path_push_key(&p, "a key with spaces") == (size_t)-1) {
      rc = INTEG_ENOMEM;
      break;
    }
    loc.line = (unsigned)i + 1;
    rc = yaml_locs_set(t, yaml_path_str(&p), &loc);
    yaml_path_pop(&p, mark);
  }
  if (rc)
    goto out;
  rc = yaml_locs_copy_prefix(copy, t, "connectors");
  if (rc)
    goto out;
  yaml_errors_at(&errs, t, "connectors[3].a key with spaces", 0, "bad %d", 3);
  yaml_errors_add(&errs, "plain %s", "error");
  rc = outcome(INTEG_ECONFIG, &errs, NULL, err);
  if (!rc && yaml_locs_count(copy) != 40)
    rc = error_set(err, INTEG_EINVAL, "%zu locations copied",
                   yaml_locs_count(copy));
out:
  if (rc == INTEG_ENOMEM)
    error_set(err, rc, "out of memory");
  yaml_path_free(&p);
  yaml_locs_free(t);
  yaml_locs_free(copy);
  yaml_errors_free(&errs);
  return rc;
}

/* ------------------------------------------------------ jsonschema */

static const char schema_text[] =
    "{\"type\": \"object\", \"required\": [\"host\"],"
    " \"additionalProperties\": false,"
    " \"properties\": {"
    "  \"host\": {\"type\": \"string\", \"pattern\": \"^[a-z.]+$\"},"
    "  \"port\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 65535,"
    "            \"default\": 443},"
    "  \"mode\": {\"enum\": [\"fast\", \"safe\"], \"default\": \"safe\"},"
    "  \"ratio\": {\"type\": [\"number\", \"null\"]},"
    "  \"token\": {\"type\": \"string\", \"airbyte_secret\": true},"
    "  \"tags\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}},"
    "  \"extra\": {\"type\": \"object\","
    "            \"additionalProperties\": {\"type\": \"integer\"}},"
    "  \"nested\": {\"type\": \"object\", \"properties\": {"
    "     \"deep\": {\"type\": \"boolean\", \"default\": true}},"
    "     \"default\": {}},"
    "  \"never\": false"
    " },"
    " \"title\": \"t\", \"description\": \"d\", \"$schema\": \"x\"}";

static int schema_validate(void *arg, struct integ_error *err)
{
  const char *yaml = arg;
  struct yaml_errors errs = {0};
  struct jsonschema *js = NULL;
  struct yaml_locs *t = NULL;
  json_t *doc = NULL, *secrets = NULL, *all = NULL;
  int rc;

  rc = jsonschema_compile_text(schema_text, "spec", &js, &errs);
  if (rc)
    goto done;
  t = yaml_locs_new();
  secrets = json_object();
  if (!t || !secrets) {
    rc = INTEG_ENOMEM;
    goto done;
  }
  rc = yaml_load_buffer("c.yaml", yaml, strlen(yaml), "", &doc, t, &errs);
  if (rc)
    goto done;
  rc = jsonschema_validate(js, json_object_get(doc, "cfg"), "cfg", t, secrets,
                           &errs);
  if (rc > 0)
    rc = INTEG_ECONFIG;
done:
  failalloc_pause();
  all = json_pack("{sOsO}", "doc", doc ? doc : json_null(), "secrets",
                  secrets ? secrets : json_null());
  failalloc_resume();
  rc = outcome(rc, &errs, all, err);
  json_decref(all);
  json_decref(doc);
  json_decref(secrets);
  yaml_locs_free(t);
  jsonschema_free(js);
  yaml_errors_free(&errs);
  secrets_clear(); /* process-wide: outlives no case */
  return rc;
}

static const char good_config[] = "cfg:\n"
                                  "  host: example.com\n"
                                  "  token: s3cret\n"
                                  "  tags: [a, b]\n"
                                  "  extra: {x: 1}\n";
static const char bad_config[] = "cfg:\n"
                                 "  host: Example.com\n"
                                 "  port: 70000\n"
                                 "  mode: slow\n"
                                 "  tags: [1]\n"
                                 "  extra: {x: y}\n"
                                 "  never: 1\n"
                                 "  unknown: 2\n";

/* -------------------------------------------------------- manifest */

static int manifest_file(void *arg, struct integ_error *err)
{
  const char *rel = arg;
  const char *top = getenv("abs_top_srcdir");
  struct yaml_errors errs = {0};
  struct manifest *m = NULL;
  json_t *all = NULL;
  char path[4096];
  int rc;

  snprintf(path, sizeof path, "%s/%s", top ? top : ".", rel);
  rc = manifest_load(path, &m, &errs);
  failalloc_pause();
  if (m) {
    json_t *names = json_array();
    for (size_t i = 0; i < m->n_connectors; i++)
      json_array_append_new(
          names,
          json_pack("{sssssb}", "name", m->connectors[i].name, "plugin",
                    m->connectors[i].plugin ? m->connectors[i].plugin : "",
                    "enabled", m->connectors[i].enabled));
    all =
        json_pack("{sOsosissss}", "root", m->root, "connectors", names,
                  "files", (int)m->n_files, "store", m->store ? m->store : "",
                  "output", m->output_format ? m->output_format : "");
  }
  failalloc_resume();
  rc = outcome(rc, &errs, all, err);
  json_decref(all);
  manifest_free(m);
  yaml_errors_free(&errs);
  secrets_clear(); /* process-wide: outlives no case */
  return rc;
}

static int manifest_buffer(void *arg, struct integ_error *err)
{
  static const char text[] =
      "integ: 1\n"
      "store: s.db\n"
      "output: {format: singer, to: stdout}\n"
      "connectors:\n"
      "  x: {plugin: p, account: a, config: {k: \"${env:HOME}\", n: 2}}\n"
      "  y: {plugin: q, enabled: false}\n";
  struct yaml_errors errs = {0};
  struct manifest *m = NULL;
  json_t *redacted = NULL;
  char *scrubbed = NULL;
  int rc;

  (void)arg;
  rc = manifest_load_buffer("mem.yaml", text, strlen(text), &m, &errs);
  if (!rc) {
    redacted = manifest_redact(
        m, "connectors.x.config",
        json_object_get(
            json_object_get(json_object_get(m->root, "connectors"), "x"),
            "config"));
    scrubbed = secrets_scrub("no secret here");
    if (!redacted || !scrubbed)
      rc = INTEG_ENOMEM;
  }
  rc = outcome(rc, &errs, m && !rc ? m->root : NULL, err);
  json_decref(redacted);
  free(scrubbed);
  manifest_free(m);
  yaml_errors_free(&errs);
  secrets_clear(); /* process-wide: outlives no case */
  return rc;
}

int main(void)
{
  static const struct failalloc_case cases[] = {
      {"yaml_load_buffer: a valid document", yaml_load, (void *)good_yaml, 0},
      {"yaml_load_buffer: bad scalars, a duplicate key, an anchor", yaml_load,
       (void *)bad_yaml, 0},
      {"yaml: key paths, the location table, error lists",
       yaml_paths_and_locations, NULL, 0},
      {"jsonschema: compile and validate a valid config", schema_validate,
       (void *)good_config, 0},
      {"jsonschema: compile and validate a config with seven errors",
       schema_validate, (void *)bad_config, 0},
      {"manifest_load: tests/manifest/good (includes, references)",
       manifest_file, (void *)"tests/manifest/good/integ.yaml", 0},
      {"manifest_load: every error at once", manifest_file,
       (void *)"tests/manifest/bad/47-every-error-at-once.yaml", 0},
      {"manifest_load_buffer, redact and scrub", manifest_buffer, NULL, 0},
  };

  /* The good manifest refers to these. */
  setenv("INTEG_TEST_TOKEN", "t0ken", 1);
  setenv("INTEG_TEST_UNSET_BUT_REPLACED", "x", 1);
  return failalloc_main(cases, sizeof cases / sizeof cases[0]);
}
