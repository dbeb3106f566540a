/* test_configfile.c - reading configs against a spec, and the atomic
 * write-back a token refresh will use. */
#include "config.h"

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

#include "configfile.h"

static const char spec[] =
    "{\"type\": \"object\", \"required\": [\"token\"], \"properties\": {"
    " \"token\": {\"type\": \"string\"},"
    " \"n\": {\"type\": \"integer\", \"default\": 7}}}";

/* A fresh private directory for one test. */
static void make_dir(char *dir, size_t size)
{
  snprintf(dir, size, "%s/integ-configfile.XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  assert_non_null(mkdtemp(dir));
}

static void write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");

  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void good_config_gets_its_defaults(void **state)
{
  struct integ_error err = {0, ""};
  char dir[256], path[300];
  json_t *c = NULL;

  (void)state;
  make_dir(dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/c.json", dir);
  write_file(path, "{\"token\": \"t\"}\n");
  assert_int_equal(configfile_load(path, spec, "p", 0, &c, &err), 0);
  assert_int_equal(json_integer_value(json_object_get(c, "n")), 7);
  json_decref(c);
  unlink(path);
  rmdir(dir);
}

static void errors_name_file_position_and_key(void **state)
{
  struct integ_error err = {0, ""};
  char dir[256], path[300], want[400];
  json_t *c = NULL;

  (void)state;
  make_dir(dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/c.json", dir);
  write_file(path, "{\n  \"token\": 5}\n");
  assert_int_equal(configfile_load(path, spec, "p", 0, &c, &err),
                   INTEG_ECONFIG);
  assert_null(c);
  snprintf(want, sizeof(want), "config: %s:2:12: token: expected a string",
           path);
  if (!strstr(err.message, want))
    fail_msg("expected '%s' in '%s'", want, err.message);
  write_file(path, "{}");
  assert_int_equal(configfile_load(path, spec, "p", 0, &c, &err),
                   INTEG_ECONFIG);
  assert_non_null(strstr(err.message, "token: missing required key"));
  write_file(path, "{\"token\": ");
  assert_int_equal(configfile_load(path, spec, "p", 0, &c, &err),
                   INTEG_ECONFIG);
  snprintf(want, sizeof(want), "config %s:1:", path);
  assert_non_null(strstr(err.message, want));
  assert_non_null(strstr(err.message, "not valid JSON"));
  write_file(path, "[1]");
  assert_int_equal(configfile_load(path, spec, "p", 0, &c, &err),
                   INTEG_ECONFIG);
  assert_non_null(strstr(err.message, "expected a JSON object"));
  unlink(path);
  assert_int_equal(configfile_load(path, spec, "p", 0, &c, &err),
                   INTEG_ECONFIG);
  assert_non_null(strstr(err.message, "cannot read"));
  rmdir(dir);
}

static void atomic_write_replaces_file_and_keeps_mode(void **state)
{
  struct integ_error err = {0, ""};
  char dir[256], path[300], tmp[310];
  json_t *c = json_pack("{s:s, s:i}", "token", "fresh", "n", 1), *back;
  json_error_t jerr;
  struct stat st;

  (void)state;
  make_dir(dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/c.json", dir);
  snprintf(tmp, sizeof(tmp), "%s.tmp", path);
  write_file(path, "{\"token\": \"old\"}");
  chmod(path, 0640);
  assert_int_equal(configfile_write_atomic(path, c, &err), 0);
  back = json_load_file(path, 0, &jerr);
  assert_non_null(back);
  assert_true(json_equal(back, c));
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0640);
  assert_int_not_equal(access(tmp, F_OK), 0); /* no PATH.tmp left */
  json_decref(back);
  unlink(path);
  /* A new file is private: it holds secrets. */
  assert_int_equal(configfile_write_atomic(path, c, &err), 0);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  unlink(path);
  rmdir(dir);
  json_decref(c);
}

static void failed_write_leaves_the_old_file(void **state)
{
  struct integ_error err = {0, ""};
  char dir[256], path[300], sub[300];
  json_t *c = json_pack("{s:s}", "token", "fresh");

  (void)state;
  make_dir(dir, sizeof(dir));
  /* PATH.tmp cannot be created: it is a directory. */
  snprintf(path, sizeof(path), "%s/c.json", dir);
  snprintf(sub, sizeof(sub), "%s/c.json.tmp", dir);
  write_file(path, "{\"token\": \"old\"}");
  assert_int_equal(mkdir(sub, 0700), 0);
  assert_int_equal(configfile_write_atomic(path, c, &err), INTEG_EIO);
  assert_non_null(strstr(err.message, "the config file is unchanged"));
  {
    json_error_t jerr;
    json_t *back = json_load_file(path, 0, &jerr);

    assert_string_equal(json_string_value(json_object_get(back, "token")),
                        "old");
    json_decref(back);
  }
  rmdir(sub);
  unlink(path);
  rmdir(dir);
  json_decref(c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(good_config_gets_its_defaults),
      cmocka_unit_test(errors_name_file_position_and_key),
      cmocka_unit_test(atomic_write_replaces_file_and_keeps_mode),
      cmocka_unit_test(failed_write_leaves_the_old_file),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
