/* test_loader.c - the plugin loader's refusals and its search path. */
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

#include "buf.h"
#include "error.h"
#include "loader.h"

/* The message must contain `want`; print both when it does not. */
#define assert_message_has(err, want)                                         \
  do {                                                                        \
    if (!strstr((err).message, (want)))                                       \
      fail_msg("expected the message to contain \"%s\"\n  got: \"%s\"",       \
               (want), (err).message);                                        \
  } while (0)

static const char *test_plugin_dir(void)
{
  const char *d = getenv("TEST_PLUGIN_DIR");

  if (!d)
    fail_msg("TEST_PLUGIN_DIR is not set (run through make check)");
  return d;
}

static char *plugin_file(const char *dir, const char *name)
{
  struct buf b = BUF_INIT;

  assert_int_equal(buf_printf(&b, "%s/%s.so", dir, name), 0);
  return b.data;
}

/* Open tests/plugins/NAME.so and expect a refusal with code and text. */
static void expect_refusal(const char *name, int code, const char *text)
{
  struct integ_error err = {0, ""};
  struct plugin *pl = (struct plugin *)1;
  char *file = plugin_file(test_plugin_dir(), name);
  int rc = loader_open_file(file, NULL, &pl, &err);

  if (rc != code)
    fail_msg("%s: expected code %d, got %d (%s)", name, code, rc, err.message);
  assert_null(pl);
  assert_message_has(err, "refusing plugin");
  assert_message_has(err, text);
  assert_message_has(err, name); /* the file is named */
  free(file);
}

static void missing_entry_symbol_is_refused(void **state)
{
  (void)state;
  expect_refusal("noentry", INTEG_EPLUGIN,
                 "no entry symbol integ_plugin_init");
}

static void different_abi_major_is_refused(void **state)
{
  char want[128];

  (void)state;
  snprintf(want, sizeof(want),
           "built for plugin ABI %d.%d, this integ has "
           "ABI %d.%d",
           INTEG_ABI_MAJOR + 1, INTEG_ABI_MINOR, INTEG_ABI_MAJOR,
           INTEG_ABI_MINOR);
  expect_refusal("badmajor", INTEG_EABI, want);
}

static void newer_abi_minor_is_refused(void **state)
{
  char want[128];

  (void)state;
  snprintf(want, sizeof(want),
           "it needs plugin ABI %d.%d, newer than this "
           "integ's ABI %d.%d",
           INTEG_ABI_MAJOR, INTEG_ABI_MINOR + 1, INTEG_ABI_MAJOR,
           INTEG_ABI_MINOR);
  expect_refusal("newminor", INTEG_EABI, want);
}

static void older_abi_minor_than_the_oldest_is_refused(void **state)
{
  char want[160];

  (void)state;
  snprintf(want, sizeof(want),
           "built for plugin ABI %d.%d, older than ABI %d.%d, the oldest",
           INTEG_ABI_MAJOR, INTEG_ABI_MINOR_MIN - 1, INTEG_ABI_MAJOR,
           INTEG_ABI_MINOR_MIN);
  expect_refusal("oldminor", INTEG_EABI, want);
}

static void unresolved_symbol_is_refused_at_load_by_name(void **state)
{
  (void)state;
  expect_refusal("unresolved", INTEG_EPLUGIN,
                 "undefined symbol integ_test_no_such_function (");
}

static void newer_sdk_needing_this_minor_loads(void **state)
{
  struct integ_error err = {0, ""};
  struct plugin *pl = NULL;
  char *file = plugin_file(test_plugin_dir(), "future");

  (void)state;
  if (loader_open_file(file, NULL, &pl, &err))
    fail_msg("future: %s", err.message);
  assert_true(pl->vt->size > sizeof(struct integ_plugin));
  loader_close(pl);
  free(file);
}

/* A plugin built against 0.5 that uses only 0.3 entries (it needs 0.3)
 * loads on a 0.4 host; one that needs 0.5 does not. The host minor is a
 * parameter of the check, so a host that does not exist yet can be
 * played. */
static void plugin_needs_minor_not_the_one_it_saw(void **state)
{
  struct {
    struct integ_plugin base;
    void *entries_of_0_4_and_0_5[2];
  } built_for_0_5 = {.base = {.abi_major = INTEG_ABI_MAJOR,
                              .abi_minor = INTEG_ABI_MINOR_MIN,
                              .size = sizeof(built_for_0_5),
                              .name = "p",
                              .load = (void *)1,
                              .run = (void *)1,
                              .unload = (void *)1}};
  struct integ_error err = {0, ""};
  uint32_t host = INTEG_ABI_MINOR_MIN + 1;

  (void)state;
  if (loader_check_vtable("p.so", "p", &built_for_0_5.base, host, &err))
    fail_msg("needs %u on a host of %u: %s", built_for_0_5.base.abi_minor,
             host, err.message);
  built_for_0_5.base.abi_minor = host + 1;
  assert_int_equal(
      loader_check_vtable("p.so", "p", &built_for_0_5.base, host, &err),
      INTEG_EABI);
  assert_message_has(err, "p.so: refusing plugin: it needs plugin ABI");
  assert_message_has(err, "upgrade integ");
}

static void vtable_too_small_is_refused(void **state)
{
  (void)state;
  expect_refusal("smallsize", INTEG_EABI, "smaller than the");
}

static void name_different_from_file_is_refused(void **state)
{
  (void)state;
  expect_refusal("wrongname", INTEG_EPLUGIN,
                 "it calls itself 'somethingelse' but its file is named "
                 "for 'wrongname'");
}

/* Copy a test plugin into a fresh directory with the given modes. */
static char *stage(const char *name, mode_t dir_mode, mode_t file_mode,
                   char **dir_out)
{
  char tmpl[] = "/tmp/integ-loader.XXXXXX";
  char *dir = mkdtemp(tmpl), *src, *dst;
  FILE *in, *out;
  char chunk[8192];
  size_t n;

  assert_non_null(dir);
  dir = strdup(dir);
  src = plugin_file(test_plugin_dir(), name);
  dst = plugin_file(dir, name);
  in = fopen(src, "rb");
  out = fopen(dst, "wb");
  assert_non_null(in);
  assert_non_null(out);
  while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
    assert_int_equal(fwrite(chunk, 1, n, out), n);
  fclose(in);
  fclose(out);
  assert_int_equal(chmod(dst, file_mode), 0);
  assert_int_equal(chmod(dir, dir_mode), 0);
  free(src);
  *dir_out = dir;
  return dst;
}

static void unstage(char *dir, char *file)
{
  chmod(dir, 0700);
  unlink(file);
  rmdir(dir);
  free(file);
  free(dir);
}

static void world_writable_file_is_refused(void **state)
{
  struct integ_error err = {0, ""};
  struct plugin *pl = NULL;
  char *dir, *file = stage("failload", 0755, 0666, &dir);

  (void)state;
  assert_int_equal(loader_open_file(file, NULL, &pl, &err), INTEG_EPLUGIN);
  assert_null(pl);
  assert_message_has(err, "the file is world-writable");
  assert_message_has(err, "chmod go-w");
  unstage(dir, file);
}

static void group_writable_directory_is_refused(void **state)
{
  struct integ_error err = {0, ""};
  struct plugin *pl = NULL;
  char *dir, *file = stage("failload", 0775, 0644, &dir);

  (void)state;
  assert_int_equal(loader_open_file(file, NULL, &pl, &err), INTEG_EPLUGIN);
  assert_message_has(err, "its directory is group-writable");
  assert_message_has(err, dir);
  unstage(dir, file);
}

static void file_of_another_user_is_refused(void **state)
{
  struct integ_error err = {0, ""};
  struct plugin *pl = NULL;
  char *dir, *file;

  (void)state;
  if (geteuid() != 0)
    skip(); /* only root can give a file away */
  file = stage("failload", 0755, 0644, &dir);
  assert_int_equal(chown(file, 65534, 65534), 0);
  assert_int_equal(loader_open_file(file, NULL, &pl, &err), INTEG_EPLUGIN);
  assert_message_has(err, "owned by uid 65534");
  unstage(dir, file);
}

static void file_that_is_not_a_shared_object_is_refused(void **state)
{
  struct integ_error err = {0, ""};
  struct plugin *pl = NULL;
  char tmpl[] = "/tmp/integ-loader.XXXXXX";
  char *dir = mkdtemp(tmpl), *file;
  FILE *f;

  (void)state;
  assert_non_null(dir);
  chmod(dir, 0755);
  file = plugin_file(dir, "text");
  f = fopen(file, "w");
  assert_non_null(f);
  fputs("#!/bin/sh\necho not a plugin\n", f);
  fclose(f);
  chmod(file, 0644);
  assert_int_equal(loader_open_file(file, NULL, &pl, &err), INTEG_EPLUGIN);
  assert_message_has(err, "not a shared object");
  unlink(file);
  rmdir(dir);
  free(file);
}

static void good_plugin_loads_and_shows_its_vtable(void **state)
{
  struct integ_error err = {0, ""};
  struct plugin *pl = NULL;
  const char *dir = getenv("PLUGIN_DIR");
  char *file;

  (void)state;
  assert_non_null(dir);
  file = plugin_file(dir, "example");
  if (loader_open_file(file, NULL, &pl, &err))
    fail_msg("example did not load: %s", err.message);
  assert_string_equal(pl->vt->name, "example");
  assert_int_equal(pl->vt->abi_major, INTEG_ABI_MAJOR);
  assert_true(INTEG_HAS(pl->vt, check));
  assert_non_null(strstr(pl->path, "/example.so"));
  assert_true(pl->path[0] == '/');
  loader_close(pl);
  free(file);
}

static void plugin_path_searches_env_then_extra_then_installed(void **state)
{
  struct integ_error err = {0, ""};
  struct loader_path p;
  const char *extra[] = {"/from/manifest"};

  (void)state;
  setenv("INTEG_PLUGIN_PATH", "/a::/b", 1);
  assert_int_equal(loader_path_init(&p, extra, 1, &err), 0);
  assert_int_equal(p.n, 4);
  assert_string_equal(p.dirs[0], "/a");
  assert_string_equal(p.dirs[1], "/b");
  assert_string_equal(p.dirs[2], "/from/manifest");
  assert_string_equal(p.dirs[3], PKGLIBDIR "/plugins");
  loader_path_free(&p);
  unsetenv("INTEG_PLUGIN_PATH");
}

static void missing_plugin_names_the_directories_searched(void **state)
{
  struct integ_error err = {0, ""};
  struct loader_path p;
  struct plugin *pl = NULL;

  (void)state;
  setenv("INTEG_PLUGIN_PATH", "/nonexistent-a:/nonexistent-b", 1);
  assert_int_equal(loader_path_init(&p, NULL, 0, &err), 0);
  assert_int_equal(loader_open(&p, "nosuch", &pl, &err), INTEG_ENOTFOUND);
  assert_message_has(err, "no plugin 'nosuch'");
  assert_message_has(err, "/nonexistent-a:/nonexistent-b");
  loader_path_free(&p);
  unsetenv("INTEG_PLUGIN_PATH");
}

static void plugin_name_that_is_a_path_is_rejected(void **state)
{
  struct integ_error err = {0, ""};
  struct loader_path p;
  struct plugin *pl = NULL;

  (void)state;
  assert_int_equal(loader_path_init(&p, NULL, 0, &err), 0);
  assert_int_equal(loader_open(&p, "../evil", &pl, &err), INTEG_EINVAL);
  assert_message_has(err, "not a plugin name");
  loader_path_free(&p);
}

static void first_directory_on_the_path_wins(void **state)
{
  struct integ_error err = {0, ""};
  struct loader_path p;
  struct plugin *pl = NULL;
  char path[4096];

  (void)state;
  snprintf(path, sizeof(path), "%s:%s", test_plugin_dir(),
           getenv("PLUGIN_DIR"));
  setenv("INTEG_PLUGIN_PATH", path, 1);
  assert_int_equal(loader_path_init(&p, NULL, 0, &err), 0);
  /* failload exists only in the first; example only in the second */
  assert_int_equal(loader_open(&p, "failload", &pl, &err), 0);
  assert_non_null(strstr(pl->path, "tests/plugins/"));
  loader_close(pl);
  assert_int_equal(loader_open(&p, "example", &pl, &err), 0);
  loader_close(pl);
  loader_path_free(&p);
  unsetenv("INTEG_PLUGIN_PATH");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(missing_entry_symbol_is_refused),
      cmocka_unit_test(different_abi_major_is_refused),
      cmocka_unit_test(newer_abi_minor_is_refused),
      cmocka_unit_test(older_abi_minor_than_the_oldest_is_refused),
      cmocka_unit_test(unresolved_symbol_is_refused_at_load_by_name),
      cmocka_unit_test(newer_sdk_needing_this_minor_loads),
      cmocka_unit_test(plugin_needs_minor_not_the_one_it_saw),
      cmocka_unit_test(vtable_too_small_is_refused),
      cmocka_unit_test(name_different_from_file_is_refused),
      cmocka_unit_test(world_writable_file_is_refused),
      cmocka_unit_test(group_writable_directory_is_refused),
      cmocka_unit_test(file_of_another_user_is_refused),
      cmocka_unit_test(file_that_is_not_a_shared_object_is_refused),
      cmocka_unit_test(good_plugin_loads_and_shows_its_vtable),
      cmocka_unit_test(plugin_path_searches_env_then_extra_then_installed),
      cmocka_unit_test(missing_plugin_names_the_directories_searched),
      cmocka_unit_test(plugin_name_that_is_a_path_is_rejected),
      cmocka_unit_test(first_directory_on_the_path_wins),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
