/* test_template.c - templates of declarative connectors (host/template.c). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "template.h"

static json_t *vars(void)
{
  json_t *v = json_pack(
      "{s:{s:s, s:s, s:i, s:b}, s:{s:s}, s:{s:i}, s:{s:s},"
      " s:s, s:s, s:s}",
      "config", "base", "http://h", "q", "a b&c/é", "n", 5, "on", 1, "state",
      "cursor", "2024-03-01T09:30:00Z", "parent", "id", 42, "page", "next",
      "tok", "start", "2024-01-01", "end", "2024-01-02", "date", "2024-01-01");

  assert_non_null(v);
  return v;
}

static json_t *known(void)
{
  json_t *k =
      json_pack("{s:{s:b, s:b, s:b, s:b, s:b}, s:b, s:b, s:b, s:b}", "config",
                "base", 1, "q", 1, "n", 1, "on", 1, "missing", 1, "state", 1,
                "stream", 1, "parent", 1, "page", 1);

  assert_non_null(k);
  return k;
}

static void check(const char *text, const char *want)
{
  struct integ_error err = {0, ""};
  struct template *t = NULL;
  json_t *k = known(), *v = vars();
  char *out = NULL;

  if (template_compile(text, strlen(text), k, &t, &err))
    fail_msg("'%s': %s", text, err.message);
  if (template_render(t, v, NULL, &out, NULL, &err))
    fail_msg("'%s' render: %s", text, err.message);
  assert_string_equal(out, want);
  free(out);
  template_free(t);
  json_decref(k);
  json_decref(v);
}

static void check_bad(const char *text, const char *words)
{
  struct integ_error err = {0, ""};
  struct template *t = NULL;
  json_t *k = known();

  if (template_compile(text, strlen(text), k, &t, &err) == 0)
    fail_msg("'%s' compiled", text);
  assert_int_equal(err.code, INTEG_EINVAL);
  if (!strstr(err.message, words))
    fail_msg("'%s': want '%s' in '%s'", text, words, err.message);
  json_decref(k);
}

static void renders(void **state)
{
  (void)state;
  check("plain", "plain");
  check("", "");
  check("${config.base}/u/${parent.id}", "http://h/u/42");
  check("${config.q | urlencode}", "a%20b%26c%2F%C3%A9");
  check("${ config.n }x${config.on}", "5xtrue");
  check("#START#/#END#/#DATE#", "2024-01-01/2024-01-02/2024-01-01");
  check("${state.cursor | date:%Y-%m-%d}", "2024-03-01");
  check("${config.missing | default:7}", "7");
  check("${page.next}", "tok");
  check("$${not} #HASH#", "${not} #HASH#");
}

static void secrets(void **state)
{
  (void)state;
  setenv("TEST_TEMPLATE_KEY", "k-12345", 1);
  check("Bearer ${env:TEST_TEMPLATE_KEY}", "Bearer k-12345");
}

static void errors_name_the_character(void **state)
{
  (void)state;
  check_bad("/x/${config.nope}",
            "character 6: unknown variable 'config.nope'");
  check_bad("${stat.x}", "character 3: unknown variable 'stat.x'");
  check_bad("ab${config.q", "character 3: '${' without its closing '}'");
  check_bad("${config.q | loud}", "character 13: unknown filter 'loud'");
  check_bad("${state.x | date:%Y-%Q}", "character 21: bad date format");
  check_bad("${}", "character 3: empty ${}");
  check_bad("${config.q x}", "character 11: ' ' in a variable name");
  check_bad("${config.}", "a variable name part is empty");
}

static void missing_value_is_an_error(void **state)
{
  struct integ_error err = {0, ""};
  struct template *t = NULL;
  json_t *v = vars();
  char *out = NULL;

  (void)state;
  assert_int_equal(template_compile("${config.nothere}", 17, NULL, &t, &err),
                   0);
  assert_int_equal(template_render(t, v, NULL, &out, NULL, &err),
                   INTEG_EINVAL);
  assert_non_null(strstr(err.message, "${config.nothere} has no value"));
  assert_null(out);
  template_free(t);
  json_decref(v);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(renders),
      cmocka_unit_test(secrets),
      cmocka_unit_test(errors_name_the_character),
      cmocka_unit_test(missing_value_is_an_error),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
