/* test_manifest.c - the manifest: every bad manifest in tests/manifest/bad
 * reports exactly the errors its "# expect:" lines name; good manifests
 * resolve includes, overrides, env and file references; plugin configs
 * are checked against the plugin's spec. */
#include "config.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "loader.h"
#include "manifest.h"
#include "plugin_check.h"
#include "secrets.h"

static char *srcdir_path(const char *rel)
{
  const char *top = getenv("abs_top_srcdir");
  char *p = NULL;

  if (!top)
    top = getenv("top_srcdir");
  if (!top)
    top = ".";
  assert_true(asprintf(&p, "%s/%s", top, rel) > 0);
  return p;
}

/* Read a whole (small) file. */
static char *slurp(const char *path)
{
  FILE *f = fopen(path, "rb");
  char *buf;
  long n;

  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
  FILE *f = fopen(path, "w");

  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  assert_int_equal(chmod(path, mode), 0);
}

/* ------------------------------------------------------ bad manifests */

/* One test per tests/manifest/bad/NAME.yaml: the errors are exactly the
 * "# expect: FRAGMENT" lines at its top, in any order. A fragment that
 * starts with a digit is "line:column: ..." in the file itself; otherwise
 * it names a file relative to the manifest's directory. */
static void bad_manifest_reports_expected_errors(void **state)
{
  const char *path = *state;
  char *text = slurp(path), *line, *next, *dir, *slash;
  struct yaml_errors errs = {0};
  struct manifest *m = NULL;
  size_t nexp = 0, nfail = 0;
  int rc;

  dir = strdup(path);
  assert_non_null(dir);
  slash = strrchr(dir, '/');
  if (slash)
    *slash = '\0';
  rc = manifest_load(path, &m, &errs);
  for (line = text; line; line = next) {
    char *want = NULL;
    int found = 0;

    next = strchr(line, '\n');
    if (next)
      *next++ = '\0';

    if (strncmp(line, "# expect: ", 10) != 0)
      break;
    nexp++;
    if (line[10] >= '0' && line[10] <= '9')
      assert_true(asprintf(&want, "%s:%s", path, line + 10) > 0);
    else
      assert_true(asprintf(&want, "%s/%s", dir, line + 10) > 0);
    /* {dir} stands for the manifest's directory. */
    for (char *at; (at = strstr(want, "{dir}"));) {
      char *w = NULL;

      assert_true(
          asprintf(&w, "%.*s%s%s", (int)(at - want), want, dir, at + 5) > 0);
      free(want);
      want = w;
    }
    for (size_t i = 0; i < errs.n && !found; i++)
      found = strncmp(errs.msgs[i], want, strlen(want)) == 0;
    if (!found) {
      print_error("expected an error starting:\n  %s\n", want);
      nfail++;
    }
    free(want);
  }
  if (nexp == 0) {
    print_error("%s has no '# expect:' line\n", path);
    nfail++;
  }
  if (errs.n != nexp || rc != INTEG_ECONFIG) {
    print_error("expected %zu error(s) and INTEG_ECONFIG, got %zu and %d\n",
                nexp, errs.n, rc);
    nfail++;
  }
  if (nfail) {
    print_error("errors reported for %s:\n", path);
    for (size_t i = 0; i < errs.n; i++)
      print_error("  %s\n", errs.msgs[i]);
  }
  manifest_free(m);
  yaml_errors_free(&errs);
  free(text);
  free(dir);
  assert_int_equal(nfail, 0);
}

/* ----------------------------------------------------- good manifests */

static void good_manifest_resolves_includes_overrides_and_refs(void **state)
{
  char *path = srcdir_path("tests/manifest/good/integ.yaml");
  char *want = NULL, *dump;
  struct yaml_errors errs = {0};
  struct manifest *m = NULL;
  const struct manifest_connector *c;
  json_t *cfg, *red;

  (void)state;
  setenv("INTEG_TEST_TOKEN", "tok-from-env-123", 1);
  assert_int_equal(manifest_load(path, &m, &errs), 0);
  assert_int_equal(errs.n, 0);
  /* Paths are relative to the manifest's directory. */
  assert_int_equal(m->n_plugin_path, 2);
  assert_true(asprintf(&want, "%s", path) > 0);
  *strrchr(want, '/') = '\0';
  assert_int_equal(strncmp(m->plugin_path[0], want, strlen(want)), 0);
  assert_string_equal(m->plugin_path[0] + strlen(want), "/plugins");
  assert_string_equal(m->plugin_path[1], "/opt/integ/plugins");
  assert_string_equal(m->store + strlen(want), "/state/integ.db");
  assert_string_equal(m->output_format, "airbyte");
  assert_string_equal(m->output_to, "command:target-jsonl");
  /* Connectors, sorted; gamma from conf.d; beta replaced whole. */
  assert_int_equal(m->n_connectors, 4);
  assert_string_equal(m->connectors[0].name, "alpha");
  assert_string_equal(m->connectors[3].name, "scalars");
  c = manifest_connector(m, "gamma");
  assert_non_null(c);
  assert_true(c->enabled);
  assert_string_equal(c->account, "default");
  assert_int_equal(json_object_size(c->config), 0);
  assert_non_null(strstr(c->file, "conf.d/10-gamma.yaml"));
  c = manifest_connector(m, "beta");
  assert_non_null(strstr(c->file, "conf.d/20-beta.yaml"));
  assert_int_equal(c->line, 4);
  assert_int_equal(c->col, 3);
  assert_string_equal(c->account, "bob");
  assert_null(json_object_get(c->config, "token"));
  assert_int_equal(json_integer_value(json_object_get(c->config, "users")), 5);
  assert_int_equal(m->n_notes, 1);
  assert_non_null(strstr(m->notes[0], "connectors.beta: the definition at "));
  assert_non_null(
      strstr(m->notes[0], "20-beta.yaml:4:3 replaces the one at "));
  assert_non_null(strstr(m->notes[0], "integ.yaml:16:3"));
  assert_int_equal(m->n_files, 3);
  /* Scalars by the core schema; $${ escapes; ${config.x} stays. */
  c = manifest_connector(m, "scalars");
  assert_false(c->enabled);
  cfg = c->config;
  assert_int_equal(json_integer_value(json_object_get(cfg, "hex")), 31);
  assert_int_equal(json_integer_value(json_object_get(cfg, "octal")), 15);
  assert_true(json_real_value(json_object_get(cfg, "float")) == 1500.0);
  assert_true(json_is_null(json_object_get(cfg, "empty")));
  assert_string_equal(json_string_value(json_object_get(cfg, "yes_text")),
                      "yes");
  assert_string_equal(json_string_value(json_object_get(cfg, "when")),
                      "#DATE#");
  assert_string_equal(json_string_value(json_object_get(cfg, "note")),
                      "${env:NOT_A_REF} and ${config.x}");
  assert_string_equal(json_string_value(json_object_get(cfg, "block")),
                      "line one\nline two\n");
  /* The env reference is resolved, secret, and redacted in dumps. */
  assert_string_equal(c->account, "tok-from-env-123");
  assert_true(manifest_is_secret(m, "connectors.scalars.account"));
  assert_false(manifest_is_secret(m, "connectors.scalars.config.note"));
  red = manifest_redact(m, "", m->root);
  dump = json_dumps(red, JSON_SORT_KEYS);
  assert_null(strstr(dump, "tok-from-env-123"));
  assert_non_null(strstr(dump, "\"account\": \"<redacted>\""));
  free(dump);
  json_decref(red);
  red = manifest_redact(
      m, "connectors.scalars",
      json_object_get(json_object_get(m->root, "connectors"), "scalars"));
  assert_string_equal(json_string_value(json_object_get(red, "account")),
                      "<redacted>");
  json_decref(red);
  /* ... and known to secrets.h, which scrubs it from any text. */
  dump = secrets_scrub("GET /x?key=tok-from-env-123&a=1");
  assert_string_equal(dump, "GET /x?key=<redacted>&a=1");
  free(dump);
  /* Positions of values from an included file point into it. */
  assert_non_null(strstr(manifest_loc(m, "connectors.beta.config.users")->file,
                         "20-beta.yaml"));
  manifest_free(m);
  yaml_errors_free(&errs);
  free(path);
  free(want);
  unsetenv("INTEG_TEST_TOKEN");
}

/* A directory of its own for tests that write files. */
static char *tmpdir(void)
{
  char *d = strdup("/tmp/integ-test-manifest-XXXXXX");

  assert_non_null(d);
  assert_non_null(mkdtemp(d));
  return d;
}

static void rmtree(const char *d)
{
  DIR *dir = opendir(d);
  struct dirent *e;

  while (dir && (e = readdir(dir))) {
    char *p = NULL;

    if (e->d_name[0] == '.')
      continue;
    assert_true(asprintf(&p, "%s/%s", d, e->d_name) > 0);
    unlink(p);
    free(p);
  }
  if (dir)
    closedir(dir);
  rmdir(d);
}

static void file_references_are_read_and_checked(void **state)
{
  char *d = tmpdir(), *man = NULL, *sec = NULL, *open_sec = NULL;
  char *other = NULL, *want = NULL;
  struct yaml_errors errs = {0};
  struct manifest *m = NULL;

  (void)state;
  assert_true(asprintf(&man, "%s/integ.yaml", d) > 0);
  assert_true(asprintf(&sec, "%s/good.secret", d) > 0);
  assert_true(asprintf(&open_sec, "%s/open.secret", d) > 0);
  assert_true(asprintf(&other, "%s/other.secret", d) > 0);
  write_file(sec, "p4ssw0rd\n", 0600);
  write_file(open_sec, "leaked", 0644);
  write_file(other, "theirs", 0600);
  write_file(man,
             "integ: 1\n"
             "connectors:\n"
             "  a:\n"
             "    plugin: example\n"
             "    config:\n"
             "      password: ${file:good.secret}\n"
             "      url: \"https://u:${file:good.secret}@h/\"\n",
             0644);
  assert_int_equal(manifest_load(man, &m, &errs), 0);
  assert_string_equal(json_string_value(json_object_get(
                          manifest_connector(m, "a")->config, "password")),
                      "p4ssw0rd");
  assert_string_equal(json_string_value(json_object_get(
                          manifest_connector(m, "a")->config, "url")),
                      "https://u:p4ssw0rd@h/");
  assert_true(manifest_is_secret(m, "connectors.a.config.url"));
  manifest_free(m);

  /* Readable by others: refused with the chmod to run. */
  write_file(man,
             "integ: 1\n"
             "connectors:\n"
             "  a:\n"
             "    plugin: example\n"
             "    config: {password: \"${file:open.secret}\"}\n",
             0644);
  assert_int_equal(manifest_load(man, &m, &errs), INTEG_ECONFIG);
  assert_int_equal(errs.n, 1);
  assert_true(asprintf(&want,
                       "%s:5:24: connectors.a.config.password: "
                       "${file:open.secret}: the secret file %s is readable "
                       "by others (mode 0644): run chmod 640 %s",
                       man, open_sec, open_sec) > 0);
  assert_string_equal(errs.msgs[0], want);
  free(want);
  manifest_free(m);
  yaml_errors_free(&errs);

  /* Owned by someone else: refused with the chown to run (as root, we
   * can give the file away to test it). */
  if (geteuid() == 0 && chown(other, 65534, 65534) == 0) {
    write_file(man,
               "integ: 1\n"
               "connectors:\n"
               "  a:\n"
               "    plugin: example\n"
               "    config: {password: \"${file:other.secret}\"}\n",
               0644);
    assert_int_equal(manifest_load(man, &m, &errs), INTEG_ECONFIG);
    assert_int_equal(errs.n, 1);
    assert_non_null(strstr(errs.msgs[0], "other.secret belongs to uid "
                                         "65534, not to this user: run "
                                         "chown root "));
    manifest_free(m);
    yaml_errors_free(&errs);
  }
  rmtree(d);
  free(d);
  free(man);
  free(sec);
  free(open_sec);
  free(other);
}

static void empty_and_oversized_main_files_are_refused(void **state)
{
  char *d = tmpdir(), *man = NULL;
  struct yaml_errors errs = {0};
  struct manifest *m = NULL;
  char *big;
  size_t n = YAML_MAX_BYTES + 1;

  (void)state;
  assert_true(asprintf(&man, "%s/integ.yaml", d) > 0);
  write_file(man, "", 0644);
  assert_int_equal(manifest_load(man, &m, &errs), INTEG_ECONFIG);
  assert_null(m);
  assert_int_equal(errs.n, 1);
  assert_non_null(strstr(errs.msgs[0], "integ.yaml:1:1: no YAML document"));
  yaml_errors_free(&errs);
  big = malloc(n + 1);
  assert_non_null(big);
  memset(big, '#', n);
  big[n] = '\0';
  write_file(man, big, 0644);
  free(big);
  assert_int_equal(manifest_load(man, &m, &errs), INTEG_ECONFIG);
  assert_int_equal(errs.n, 1);
  assert_non_null(strstr(errs.msgs[0], "integ.yaml:1:1048577: file is larger "
                                       "than 1048576 bytes"));
  yaml_errors_free(&errs);
  assert_int_equal(manifest_load("/nonexistent/integ.yaml", &m, &errs),
                   INTEG_ECONFIG);
  assert_string_equal(errs.msgs[0], "/nonexistent/integ.yaml: cannot read: "
                                    "No such file or directory");
  yaml_errors_free(&errs);
  rmtree(d);
  free(d);
  free(man);
}

static void plugin_configs_are_checked_against_the_spec(void **state)
{
  const char *dir = getenv("PLUGIN_DIR");
  char *d, *man = NULL;
  struct yaml_errors errs = {0};
  struct manifest *m = NULL;
  struct loader_path lp = {NULL, 0};
  struct integ_error err = {0, ""};
  struct plugin *pl = NULL;
  const struct manifest_connector *c;

  (void)state;
  if (!dir) {
    print_message("PLUGIN_DIR is not set: skipped\n");
    skip();
  }
  setenv("INTEG_PLUGIN_PATH", dir, 1);
  assert_int_equal(loader_path_init(&lp, NULL, 0, &err), 0);
  d = tmpdir();
  assert_true(asprintf(&man, "%s/integ.yaml", d) > 0);
  write_file(man,
             "integ: 1\n"
             "connectors:\n"
             "  good:\n"
             "    plugin: example\n"
             "    config: {users: 4}\n"
             "  bad:\n"
             "    plugin: example\n"
             "    config:\n"
             "      users: -1\n"
             "      usrs: 3\n"
             "  missing:\n"
             "    plugin: no-such-plugin\n"
             "  off:\n"
             "    plugin: no-such-plugin\n"
             "    enabled: false\n",
             0644);
  assert_int_equal(manifest_load(man, &m, &errs), 0);
  c = manifest_connector(m, "good");
  assert_int_equal(plugin_check_connector(m, c, &lp, &pl, &errs), 0);
  assert_non_null(pl);
  assert_string_equal(pl->vt->name, "example");
  loader_close(pl);
  /* Defaults from the spec are filled. */
  assert_int_equal(
      json_integer_value(json_object_get(c->config, "orders_per_user")), 2);
  assert_int_equal(plugin_check_manifest(m, &lp, &errs), INTEG_ECONFIG);
  assert_int_equal(errs.n, 3);
  assert_non_null(strstr(errs.msgs[0], "integ.yaml:9:14: "
                                       "connectors.bad.config.users: -1 is "
                                       "less than the minimum, 0"));
  assert_non_null(strstr(errs.msgs[1], "integ.yaml:10:7: "
                                       "connectors.bad.config.usrs: unknown "
                                       "key 'usrs': did you mean 'users'?"));
  assert_non_null(strstr(errs.msgs[2], "integ.yaml:12:13: "
                                       "connectors.missing.plugin: "));
  assert_non_null(strstr(errs.msgs[2], "no-such-plugin"));
  manifest_free(m);
  yaml_errors_free(&errs);
  loader_path_free(&lp);
  unlink(man);
  rmdir(d);
  free(d);
  free(man);
  unsetenv("INTEG_PLUGIN_PATH");
}

static void schema_table_is_consistent(void **state)
{
  size_t n;
  const struct manifest_key *k = manifest_keys(&n);

  (void)state;
  assert_true(n >= 18);
  for (size_t i = 0; i < n; i++) {
    const char *dot = strrchr(k[i].path, '.');

    /* Every row's parent is a row before it, so defaults fill
     * top-down. */
    if (dot) {
      size_t j, plen = (size_t)(dot - k[i].path);

      for (j = 0; j < i; j++)
        if (strlen(k[j].path) == plen &&
            strncmp(k[j].path, k[i].path, plen) == 0)
          break;
      if (j == i) {
        print_error("%s has no parent row above it\n", k[i].path);
        fail();
      }
    }
    if (k[i].dflt) {
      json_t *d = json_loads(k[i].dflt, JSON_DECODE_ANY, NULL);

      if (!d) {
        print_error("%s: default %s is not JSON\n", k[i].path, k[i].dflt);
        fail();
      }
      json_decref(d);
    }
    assert_non_null(k[i].doc);
    assert_true(strlen(k[i].doc) > 10);
    /* A range is on a number or duration, and its default is in it. */
    if (k[i].allowed && strstr(k[i].allowed, "..")) {
      json_t *d =
          json_loads(k[i].dflt ? k[i].dflt : "null", JSON_DECODE_ANY, NULL);
      char why[64];

      assert_true(k[i].type == MANIFEST_INT || k[i].type == MANIFEST_NUMBER ||
                  k[i].type == MANIFEST_DURATION);
      if (!manifest_in_range(&k[i], d, why, sizeof(why))) {
        print_error("%s: default %s is not %s\n", k[i].path, k[i].dflt, why);
        fail();
      }
      json_decref(d);
    }
  }
}

static void ranges_bound_numbers_and_durations(void **state)
{
  static const struct manifest_key n = {"n",  MANIFEST_NUMBER, 0,
                                        NULL, "0..10",         "a number"};
  static const struct manifest_key d = {"d",  MANIFEST_DURATION, 0,
                                        NULL, "1ms..",           "a duration"};
  char why[64];
  json_t *v;

  (void)state;
  assert_true(manifest_in_range(&n, v = json_real(0.001), why, sizeof(why)));
  json_decref(v);
  assert_false(manifest_in_range(&n, v = json_integer(-1), why, sizeof(why)));
  json_decref(v);
  assert_string_equal(why, "from 0 to 10");
  assert_false(manifest_in_range(&n, v = json_real(10.5), why, sizeof(why)));
  json_decref(v);
  assert_false(manifest_in_range(&d, v = json_string("0s"), why, sizeof(why)));
  json_decref(v);
  assert_string_equal(why, "at least 1ms");
  assert_true(manifest_in_range(&d, v = json_string("1ms"), why, sizeof(why)));
  json_decref(v);
  /* Not a duration: its own error, not a range error. */
  assert_true(manifest_in_range(&d, v = json_string("x"), why, sizeof(why)));
  json_decref(v);
}

static void load_from_buffer_matches_load_from_file(void **state)
{
  static const char text[] = "integ: 1\nconnectors: {x: {plugin: p}}\n";
  struct yaml_errors errs = {0};
  struct manifest *m = NULL;

  (void)state;
  assert_int_equal(
      manifest_load_buffer("mem.yaml", text, strlen(text), &m, &errs), 0);
  assert_string_equal(manifest_connector(m, "x")->plugin, "p");
  assert_null(manifest_connector(m, "y"));
  assert_int_equal(manifest_loc(m, "connectors.x.plugin")->line, 2);
  assert_int_equal(manifest_loc(m, "connectors.x.plugin")->col, 26);
  manifest_free(m);
  yaml_errors_free(&errs);
}

int main(void)
{
  static const struct CMUnitTest fixed[] = {
      cmocka_unit_test(good_manifest_resolves_includes_overrides_and_refs),
      cmocka_unit_test(file_references_are_read_and_checked),
      cmocka_unit_test(empty_and_oversized_main_files_are_refused),
      cmocka_unit_test(plugin_configs_are_checked_against_the_spec),
      cmocka_unit_test(schema_table_is_consistent),
      cmocka_unit_test(ranges_bound_numbers_and_durations),
      cmocka_unit_test(load_from_buffer_matches_load_from_file),
  };
  size_t nfixed = sizeof(fixed) / sizeof(fixed[0]), n = nfixed, cap = 64;
  char *bad = srcdir_path("tests/manifest/bad"), **names = NULL;
  struct CMUnitTest *tests = malloc(cap * sizeof(*tests));
  struct dirent **ents = NULL;
  int nents, rc;

  unsetenv("INTEG_TEST_SURELY_UNSET");
  if (!tests)
    return 1;
  memcpy(tests, fixed, sizeof(fixed));
  nents = scandir(bad, &ents, NULL, alphasort);
  if (nents < 0) {
    fprintf(stderr, "cannot read %s\n", bad);
    return 1;
  }
  names = calloc((size_t)nents + 1, sizeof(*names));
  for (int i = 0; i < nents; i++) {
    size_t len = strlen(ents[i]->d_name);

    if (len > 5 && strcmp(ents[i]->d_name + len - 5, ".yaml") == 0) {
      char *p = NULL;

      if (n == cap) {
        cap *= 2;
        tests = realloc(tests, cap * sizeof(*tests));
        if (!tests)
          return 1;
      }
      if (asprintf(&p, "%s/%s", bad, ents[i]->d_name) < 0)
        return 1;
      names[i] = p;
      tests[n].name = ents[i]->d_name;
      tests[n].test_func = bad_manifest_reports_expected_errors;
      tests[n].setup_func = NULL;
      tests[n].teardown_func = NULL;
      tests[n].initial_state = p;
      n++;
    }
  }
  /* The test list is built at run time, one test per bad manifest, so
   * this calls what the cmocka_run_group_tests macro expands to. */
  rc = _cmocka_run_group_tests("manifest", tests, n, NULL, NULL);
  for (int i = 0; i < nents; i++) {
    free(names[i]);
    free(ents[i]);
  }
  free(ents);
  free(names);
  free(tests);
  free(bad);
  return rc;
}
