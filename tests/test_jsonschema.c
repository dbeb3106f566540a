/* test_jsonschema.c - the JSON Schema subset: compile-time refusals,
 * validation with positions, defaults and secrets. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jsonschema.h"
#include "yaml.h"

static const char schema_text[] =
    "{\"type\": \"object\", \"additionalProperties\": false,"
    " \"required\": [\"host\"],"
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

struct fixture {
  struct jsonschema *js;
  struct yaml_locs *t;
  struct yaml_errors errs;
  json_t *doc;
  json_t *secrets;
};

/* Compile schema_text, load yaml (the config under "cfg") and validate
 * it; returns the number of errors. */
static int run(struct fixture *f, const char *yaml)
{
  memset(f, 0, sizeof(*f));
  assert_int_equal(
      jsonschema_compile_text(schema_text, "spec", &f->js, &f->errs), 0);
  f->t = yaml_locs_new();
  assert_non_null(f->t);
  assert_int_equal(yaml_load_buffer("c.yaml", yaml, strlen(yaml), "", &f->doc,
                                    f->t, &f->errs),
                   0);
  f->secrets = json_object();
  return jsonschema_validate(f->js, json_object_get(f->doc, "cfg"), "cfg",
                             f->t, f->secrets, &f->errs);
}

static void done(struct fixture *f)
{
  jsonschema_free(f->js);
  yaml_locs_free(f->t);
  yaml_errors_free(&f->errs);
  json_decref(f->doc);
  json_decref(f->secrets);
}

/* Assert that some message of f starts with want. */
static void has_error(const struct fixture *f, const char *want)
{
  for (size_t i = 0; i < f->errs.n; i++)
    if (strncmp(f->errs.msgs[i], want, strlen(want)) == 0)
      return;
  print_error("expected an error starting: %s\ngot:\n", want);
  for (size_t i = 0; i < f->errs.n; i++)
    print_error("  %s\n", f->errs.msgs[i]);
  fail();
}

static void valid_config_gets_defaults_and_secrets(void **state)
{
  struct fixture f;

  (void)state;
  assert_int_equal(run(&f, "cfg:\n  host: api.example.com\n"
                           "  token: s3cret\n  ratio: ~\n  tags: [a, b]\n"
                           "  extra: {x: 1}\n"),
                   0);
  assert_int_equal(json_integer_value(
                       json_object_get(json_object_get(f.doc, "cfg"), "port")),
                   443);
  assert_string_equal(json_string_value(json_object_get(
                          json_object_get(f.doc, "cfg"), "mode")),
                      "safe");
  /* A default object is filled, then its own defaults. */
  assert_true(json_is_true(json_object_get(
      json_object_get(json_object_get(f.doc, "cfg"), "nested"), "deep")));
  assert_string_equal(
      json_string_value(json_object_get(f.secrets, "cfg.token")), "s3cret");
  assert_int_equal(json_object_size(f.secrets), 1);
  done(&f);
}

static void every_error_is_reported_with_its_position(void **state)
{
  struct fixture f;

  (void)state;
  assert_int_equal(run(&f, "cfg:\n"
                           "  port: 70000\n"
                           "  mode: fsat\n"
                           "  hots: x\n"
                           "  tags: [a, 3]\n"
                           "  extra: {x: one}\n"
                           "  ratio: \"1\"\n"
                           "  never: 1\n"),
                   8);
  has_error(&f, "c.yaml:1:1: cfg.host: missing required key 'host'");
  has_error(&f, "c.yaml:2:9: cfg.port: 70000 is more than the maximum, "
                "65535");
  has_error(&f, "c.yaml:3:9: cfg.mode: got string \"fsat\", must be one of "
                "\"fast\", \"safe\": did you mean \"fast\"?");
  has_error(&f, "c.yaml:4:3: cfg.hots: unknown key 'hots': did you mean "
                "'host'?");
  has_error(&f, "c.yaml:5:13: cfg.tags[1]: expected a string, got integer 3");
  has_error(&f, "c.yaml:6:14: cfg.extra.x: expected an integer, got string "
                "\"one\"");
  has_error(&f, "c.yaml:7:10: cfg.ratio: expected a number or null, got "
                "string \"1\"");
  has_error(&f, "c.yaml:8:3: cfg.never: no value is allowed here");
  done(&f);
}

static void pattern_and_minimum_are_checked(void **state)
{
  struct fixture f;

  (void)state;
  assert_int_equal(run(&f, "cfg: {host: API.example.com, port: 0}\n"), 2);
  has_error(&f, "c.yaml:1:13: cfg.host: string \"API.example.com\" does not "
                "match the pattern ^[a-z.]+$");
  has_error(&f, "c.yaml:1:36: cfg.port: 0 is less than the minimum, 1");
  done(&f);
}

static void secret_values_are_not_shown_in_errors(void **state)
{
  struct fixture f;

  (void)state;
  assert_int_equal(run(&f, "cfg: {host: h, token: [hunter2]}\n"), 1);
  has_error(&f, "c.yaml:1:23: cfg.token: expected a string, got a list");
  done(&f);
  assert_int_equal(
      jsonschema_compile_text("{\"properties\": {\"k\": {\"type\": "
                              "\"integer\", \"airbyte_secret\": true}}}",
                              "spec", &f.js, &f.errs),
      0);
  f.t = yaml_locs_new();
  assert_int_equal(
      yaml_load_buffer("c.yaml", "k: hunter2\n", 11, "", &f.doc, f.t, &f.errs),
      0);
  assert_int_equal(jsonschema_validate(f.js, f.doc, "", f.t, NULL, &f.errs),
                   1);
  assert_null(strstr(f.errs.msgs[0], "hunter2"));
  assert_non_null(strstr(f.errs.msgs[0], "not shown"));
  f.secrets = NULL;
  done(&f);
}

static void empty_value_with_comment_gets_the_quote_hint(void **state)
{
  struct fixture f;

  (void)state;
  assert_int_equal(run(&f, "cfg:\n  host: #DATE#\n"), 1);
  has_error(&f, "c.yaml:2:8: cfg.host: expected a string, got null (an "
                "empty value) (a '#' after a space starts a YAML comment");
  done(&f);
}

static void unsupported_keywords_are_reported_not_ignored(void **state)
{
  struct yaml_errors errs = {0};
  struct jsonschema *js = NULL;

  (void)state;
  assert_int_equal(
      jsonschema_compile_text("{\"type\": \"object\", \"properties\": {"
                              " \"a\": {\"oneOf\": [{\"type\": \"string\"}]},"
                              " \"b\": {\"type\": \"strin\"},"
                              " \"c\": {\"pattern\": \"(unclosed\"},"
                              " \"d\": {\"items\": [{\"type\": \"string\"}]},"
                              " \"e/f\": {\"format\": \"date-time\"}},"
                              " \"required\": \"a\"}",
                              "plugin x: spec", &js, &errs),
      INTEG_ECONFIG);
  assert_null(js);
  assert_int_equal(errs.n, 6);
  assert_non_null(strstr(errs.msgs[0], "plugin x: spec: /properties/a: JSON "
                                       "Schema keyword 'oneOf' is not "
                                       "supported"));
  assert_non_null(strstr(errs.msgs[1], "/properties/b: 'type' must be one"));
  assert_non_null(strstr(errs.msgs[2], "/properties/c: 'pattern' does not "
                                       "compile"));
  assert_non_null(strstr(errs.msgs[3], "/properties/d: 'items' as a list"));
  assert_non_null(strstr(errs.msgs[4], "/properties/e~1f: JSON Schema keyword "
                                       "'format'"));
  assert_non_null(strstr(errs.msgs[5], "plugin x: spec: /: 'required' must"));
  yaml_errors_free(&errs);
  assert_int_equal(jsonschema_compile_text("{nope", "spec", &js, &errs),
                   INTEG_ECONFIG);
  assert_non_null(strstr(errs.msgs[0], "spec: not valid JSON at line 1"));
  yaml_errors_free(&errs);
}

static void boolean_schemas_and_open_objects(void **state)
{
  struct yaml_errors errs = {0};
  struct jsonschema *js = NULL;
  json_t *v = json_pack("{s:i, s:[i]}", "anything", 1, "goes", 2);

  (void)state;
  assert_int_equal(jsonschema_compile_text("true", "spec", &js, &errs), 0);
  assert_int_equal(jsonschema_validate(js, v, "", NULL, NULL, &errs), 0);
  jsonschema_free(js);
  assert_int_equal(
      jsonschema_compile_text("{\"type\": \"object\"}", "spec", &js, &errs),
      0);
  assert_int_equal(jsonschema_validate(js, v, "", NULL, NULL, &errs), 0);
  jsonschema_free(js);
  assert_int_equal(jsonschema_compile_text("false", "spec", &js, &errs), 0);
  assert_int_equal(jsonschema_validate(js, v, "x", NULL, NULL, &errs), 1);
  assert_string_equal(errs.msgs[0], "x: no value is allowed here");
  jsonschema_free(js);
  json_decref(v);
  yaml_errors_free(&errs);
}

static void catastrophic_pattern_is_bounded(void **state)
{
  struct yaml_errors errs = {0};
  struct jsonschema *js = NULL;
  json_t *v =
      json_string("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!");

  (void)state;
  assert_int_equal(jsonschema_compile_text("{\"pattern\": \"^(a+)+$\"}",
                                           "spec", &js, &errs),
                   0);
  assert_int_equal(jsonschema_validate(js, v, "v", NULL, NULL, &errs), 1);
  assert_non_null(strstr(errs.msgs[0], "could not be matched"));
  jsonschema_free(js);
  json_decref(v);
  yaml_errors_free(&errs);
}

static void nearest_picks_likely_typos_only(void **state)
{
  const char *c[] = {"connectors", "plugin_path", "store", "output"};

  (void)state;
  assert_string_equal(jsonschema_nearest("conectors", c, 4), "connectors");
  assert_string_equal(jsonschema_nearest("Store", c, 4), "store");
  assert_string_equal(jsonschema_nearest("outptu", c, 4), "output");
  assert_null(jsonschema_nearest("zzz", c, 4));
  assert_null(jsonschema_nearest("schedule", c, 4));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(valid_config_gets_defaults_and_secrets),
      cmocka_unit_test(every_error_is_reported_with_its_position),
      cmocka_unit_test(pattern_and_minimum_are_checked),
      cmocka_unit_test(secret_values_are_not_shown_in_errors),
      cmocka_unit_test(empty_value_with_comment_gets_the_quote_hint),
      cmocka_unit_test(unsupported_keywords_are_reported_not_ignored),
      cmocka_unit_test(boolean_schemas_and_open_objects),
      cmocka_unit_test(catastrophic_pattern_is_bounded),
      cmocka_unit_test(nearest_picks_likely_typos_only),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
