/* test_secrets.c - references, redaction and scrubbing (host/secrets.c),
 * and that the logger and error_set go through them. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
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

#include "error.h"
#include "log.h"
#include "secrets.h"

static char dir[] = "/tmp/test_secrets.XXXXXX";

static int setup(void **state)
{
  (void)state;
  secrets_clear();
  return 0;
}

static void scrub_replaces_every_known_value(void **state)
{
  char *s;

  (void)state;
  assert_int_equal(secrets_add("hunter2-secret", 14), 0);
  assert_int_equal(secrets_add("hunter2-secret", 14), 0); /* once */
  assert_int_equal(secrets_count(), 1);
  s = secrets_scrub("a hunter2-secret b hunter2-secret");
  assert_string_equal(s, "a <redacted> b <redacted>");
  free(s);
  s = secrets_scrub("nothing here");
  assert_string_equal(s, "nothing here");
  free(s);
  s = secrets_scrub(NULL);
  assert_string_equal(s, "");
  free(s);
}

static void short_values_are_not_scrubbed(void **state)
{
  char *s;

  (void)state;
  assert_int_equal(secrets_add("abc", 3), 0);
  assert_int_equal(secrets_count(), 0);
  s = secrets_scrub("abc abc");
  assert_string_equal(s, "abc abc");
  free(s);
}

static void the_longest_value_goes_first(void **state)
{
  char *s;

  (void)state;
  /* A token inside a known "Bearer token" is not left half shown. */
  assert_int_equal(secrets_add_credential("Bearer tok-1234567"), 0);
  assert_int_equal(secrets_count(), 2);
  s = secrets_scrub("sent Bearer tok-1234567, echoed tok-1234567");
  assert_string_equal(s, "sent <redacted>, echoed <redacted>");
  free(s);
}

static void scrubn_keeps_nul_bytes(void **state)
{
  static const char text[] = "x\0token-xyz\0y";
  size_t len;
  char *s;

  (void)state;
  assert_int_equal(secrets_add("token-xyz", 9), 0);
  s = secrets_scrubn(text, sizeof(text) - 1, &len);
  assert_int_equal(len, 14);
  assert_memory_equal(s, "x\0<redacted>\0y", 14);
  free(s);
}

static void a_cut_message_never_shows_half_a_secret(void **state)
{
  char dst[24];

  (void)state;
  assert_int_equal(secrets_add("0123456789abcdef", 16), 0);
  /* The secret straddles the end: it goes whole, never its first bytes. */
  secrets_scrub_to("prefix-text 0123456789abcdef tail", 33, dst, sizeof(dst));
  assert_null(strstr(dst, "0123"));
  assert_string_equal(dst, "prefix-text <redacte...");
  secrets_scrub_to("short", 5, dst, sizeof(dst));
  assert_string_equal(dst, "short");
}

static void error_set_scrubs_its_message(void **state)
{
  struct integ_error err = {0, ""};
  char big[3000];

  (void)state;
  assert_int_equal(secrets_add("sk_live_canary", 14), 0);
  error_set(&err, INTEG_EHTTP, "HTTP 401: token %s is bad", "sk_live_canary");
  assert_string_equal(err.message, "HTTP 401: token <redacted> is bad");
  error_prefix(&err, "plugin p");
  assert_string_equal(err.message,
                      "plugin p: HTTP 401: token <redacted> is bad");
  /* Longer than the message: scrubbed whole before it is cut. */
  memset(big, 'x', sizeof(big));
  memcpy(big + 1010, "sk_live_canary", 14);
  big[sizeof(big) - 1] = '\0';
  error_set(&err, INTEG_EHTTP, "%s", big);
  assert_null(strstr(err.message, "sk_live"));
  assert_int_equal(strlen(err.message), INTEG_ERROR_MAX - 1);
}

static void every_log_line_is_scrubbed(void **state)
{
  char path[64], line[4096];
  FILE *f;
  int fd, saved;

  (void)state;
  assert_int_equal(secrets_add("pw-0123456789", 13), 0);
  snprintf(path, sizeof(path), "%s/log", dir);
  fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  fflush(stderr);
  saved = dup(2);
  dup2(fd, 2);
  log_msg(INTEG_LOG_ERROR, "conn", "login with pw-0123456789 failed");
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  close(fd);
  f = fopen(path, "r");
  assert_non_null(f);
  assert_non_null(fgets(line, sizeof(line), f));
  fclose(f);
  assert_string_equal(line,
                      "integ: error: [conn] login with <redacted> failed\n");
}

static void env_and_file_references_resolve_and_are_known(void **state)
{
  struct integ_error err = {0, ""};
  char path[64], *out;
  size_t len;
  int refs, fd;

  (void)state;
  snprintf(path, sizeof(path), "%s/token", dir);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "file-secret-1\n", 14), 14);
  close(fd);
  setenv("TEST_SECRETS_TOKEN", "env-secret-1", 1);
  assert_int_equal(secrets_resolve("Bearer ${env:TEST_SECRETS_TOKEN}", 32,
                                   NULL, &out, &len, &refs, &err),
                   0);
  assert_string_equal(out, "Bearer env-secret-1");
  assert_int_equal(refs, 1);
  free(out);
  /* Relative to the directory of the file that holds the reference. */
  snprintf(path, sizeof(path), "%s/integ.yaml", dir);
  assert_int_equal(
      secrets_resolve("${file:token}", 13, path, &out, &len, &refs, &err), 0);
  assert_string_equal(out, "file-secret-1");
  free(out);
  out = secrets_scrub("env-secret-1 file-secret-1 Bearer env-secret-1");
  assert_string_equal(out, "<redacted> <redacted> <redacted>");
  free(out);
  /* $${ is a literal ${ and not a secret; plain text is left alone. */
  assert_int_equal(
      secrets_resolve("$${config.x}", 12, NULL, &out, &len, &refs, &err), 0);
  assert_string_equal(out, "${config.x}");
  assert_int_equal(refs, 0);
  free(out);
  assert_int_equal(
      secrets_resolve("plain ${x}", 10, NULL, &out, &len, &refs, &err), 0);
  assert_null(out);
  unsetenv("TEST_SECRETS_TOKEN");
}

static void bad_references_say_what_to_do(void **state)
{
  struct integ_error err = {0, ""};
  char *out;
  size_t len;
  int refs;

  (void)state;
  unsetenv("TEST_SECRETS_UNSET");
  assert_int_equal(secrets_resolve("${env:TEST_SECRETS_UNSET}", 25, NULL, &out,
                                   &len, &refs, &err),
                   INTEG_ECONFIG);
  assert_string_equal(err.message, "${env:TEST_SECRETS_UNSET}: the "
                                   "environment variable TEST_SECRETS_UNSET "
                                   "is not set");
  assert_int_equal(
      secrets_resolve("${vault:x}", 10, NULL, &out, &len, &refs, &err),
      INTEG_ECONFIG);
  assert_non_null(strstr(err.message, "unknown reference '${vault:x}'"));
  assert_int_equal(
      secrets_resolve("${env:X", 7, NULL, &out, &len, &refs, &err),
      INTEG_ECONFIG);
  assert_non_null(strstr(err.message, "unterminated reference"));
  assert_int_equal(
      secrets_resolve("${env:A-B}", 10, NULL, &out, &len, &refs, &err),
      INTEG_ECONFIG);
  assert_non_null(strstr(err.message, "not a variable name"));
  assert_null(out);
}

static void secret_files_are_refused_without_blocking(void **state)
{
  struct integ_error err = {0, ""};
  char path[64], *out;
  int fd;

  (void)state;
  /* A FIFO without a writer: open() would block for ever. */
  snprintf(path, sizeof(path), "%s/fifo", dir);
  assert_int_equal(mkfifo(path, 0600), 0);
  assert_int_equal(secrets_read_file("fifo", path, &out, &err), INTEG_ECONFIG);
  assert_non_null(strstr(err.message, "is not a regular file"));
  assert_null(out);
  snprintf(path, sizeof(path), "%s/open", dir);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "x\0y", 3), 3);
  fchmod(fd, 0644);
  close(fd);
  assert_int_equal(secrets_read_file("open", path, &out, &err), INTEG_ECONFIG);
  assert_non_null(strstr(err.message, "readable by others (mode 0644): run "
                                      "chmod 640"));
  chmod(path, 0600);
  assert_int_equal(secrets_read_file("open", path, &out, &err), INTEG_ECONFIG);
  assert_non_null(strstr(err.message, "holds a NUL byte"));
}

static void urls_and_headers_are_redacted_by_name(void **state)
{
  static const char *const extra[] = {"sid", NULL};
  char *s;

  (void)state;
  s = secrets_redact_url("https://u:pw@h.example/p?api_key=k1&page=2&sid=s1"
                         "&access_token=t#frag",
                         extra);
  assert_string_equal(s, "https://REDACTED@h.example/p?api_key=REDACTED&"
                         "page=2&sid=REDACTED&access_token=REDACTED#frag");
  free(s);
  /* A known value elsewhere in the URL (its path) is scrubbed too. */
  assert_int_equal(secrets_add("acct-secret-9", 13), 0);
  s = secrets_redact_url("https://h/v1/acct-secret-9/items", NULL);
  assert_string_equal(s, "https://h/v1/<redacted>/items");
  free(s);
  assert_true(secrets_header_is_secret("Authorization"));
  assert_true(secrets_header_is_secret("x-api-key"));
  assert_true(secrets_header_is_secret("Set-Cookie"));
  assert_false(secrets_header_is_secret("Content-Type"));
  assert_false(secrets_header_is_secret("X-Request-Id"));
}

static void json_is_redacted_by_key_path(void **state)
{
  json_t *paths = json_pack("{s:s, s:s}", "a.token", "x", "list[1]", "y");
  json_t *v = json_pack("{s:{s:s, s:i}, s:[s, s]}", "a", "token", "t1", "n", 1,
                        "list", "p", "q");
  json_t *r;
  char *dump;

  (void)state;
  r = secrets_redact_paths(paths, "", v);
  dump = json_dumps(r, JSON_SORT_KEYS | JSON_COMPACT);
  assert_string_equal(
      dump, "{\"a\":{\"n\":1,\"token\":\"<redacted>\"},\"list\":[\"p\","
            "\"<redacted>\"]}");
  free(dump);
  json_decref(r);
  r = secrets_redact_paths(paths, "a.token",
                           json_object_get(json_object_get(v, "a"), "token"));
  assert_string_equal(json_string_value(r), "<redacted>");
  json_decref(r);
  /* The original is untouched. */
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(v, "a"), "token")),
      "t1");
  json_decref(v);
  json_decref(paths);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(scrub_replaces_every_known_value, setup),
      cmocka_unit_test_setup(short_values_are_not_scrubbed, setup),
      cmocka_unit_test_setup(the_longest_value_goes_first, setup),
      cmocka_unit_test_setup(scrubn_keeps_nul_bytes, setup),
      cmocka_unit_test_setup(a_cut_message_never_shows_half_a_secret, setup),
      cmocka_unit_test_setup(error_set_scrubs_its_message, setup),
      cmocka_unit_test_setup(every_log_line_is_scrubbed, setup),
      cmocka_unit_test_setup(env_and_file_references_resolve_and_are_known,
                             setup),
      cmocka_unit_test_setup(bad_references_say_what_to_do, setup),
      cmocka_unit_test_setup(secret_files_are_refused_without_blocking, setup),
      cmocka_unit_test_setup(urls_and_headers_are_redacted_by_name, setup),
      cmocka_unit_test_setup(json_is_redacted_by_key_path, setup),
  };
  char cmd[64];
  int rc;

  if (!mkdtemp(dir))
    return 1;
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  secrets_clear();
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  if (system(cmd) != 0)
    rc = rc ? rc : 1;
  return rc;
}
