/* test_jsonpath.c - the JSONPath engine (host/jsonpath.c, host/iregexp.c):
 * unit tests, and the JSONPath Compliance Test Suite read from
 * $ANCHORS/jsonpath/cts.json (see anchors.h for when they are skipped). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "anchors.h"
#include "error.h"
#include "iregexp.h"
#include "jsonpath.h"

/* ------------------------------------------------------------ helpers */

/* Evaluate query q on the JSON text doc; returns the compact JSON array of
 * the results (or of the paths), as a new string. */
static char *run(const char *q, const char *doc, unsigned flags)
{
  struct integ_error err = {0, ""};
  struct jsonpath *jp = NULL;
  struct jsonpath_nodes nodes;
  json_error_t jerr;
  json_t *d = json_loads(doc, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
  json_t *arr = json_array();
  char *s;

  if (!d)
    fail_msg("bad test document %s: %s", doc, jerr.text);
  if (jsonpath_compile(q, strlen(q), &jp, &err) != 0)
    fail_msg("query %s did not compile: %s", q, err.message);
  assert_int_equal(jsonpath_eval(jp, d, flags, &nodes, &err), 0);
  for (size_t i = 0; i < nodes.n; i++) {
    if (flags & JSONPATH_PATHS)
      json_array_append_new(arr, json_string(nodes.paths[i]));
    else
      json_array_append(arr, nodes.values[i]);
  }
  s = json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER);
  jsonpath_nodes_free(&nodes);
  jsonpath_free(jp);
  json_decref(arr);
  json_decref(d);
  return s;
}

static void expect(const char *q, const char *doc, const char *want)
{
  char *got = run(q, doc, 0);
  if (strcmp(got, want) != 0) {
    print_error("query %s on %s\n  expected %s\n       got %s\n", q, doc, want,
                got);
    free(got);
    fail();
  }
  free(got);
}

static void expect_paths(const char *q, const char *doc, const char *want)
{
  char *got = run(q, doc, JSONPATH_PATHS);
  if (strcmp(got, want) != 0) {
    print_error("paths of %s on %s\n  expected %s\n       got %s\n", q, doc,
                want, got);
    free(got);
    fail();
  }
  free(got);
}

/* The query must fail to compile with a message containing want. */
static void expect_invalid(const char *q, size_t len, const char *want)
{
  struct integ_error err = {0, ""};
  struct jsonpath *jp = (struct jsonpath *)1;
  int rc = jsonpath_compile(q, len, &jp, &err);
  if (rc != INTEG_EINVAL || jp != NULL || !strstr(err.message, want)) {
    print_error("query %.*s: expected INTEG_EINVAL with \"%s\", got rc %d "
                "\"%s\"\n",
                (int)len, q, want, rc, err.message);
    jsonpath_free(rc == 0 ? jp : NULL);
    fail();
  }
}

/* --------------------------------------------------------- unit tests */

static void integer_and_real_compare_by_value(void **state)
{
  (void)state;
  expect("$[?@ == 1]", "[1, 1.0, 2, \"1\", true]", "[1,1.0]");
  expect("$[?@ == 1.0]", "[1, 1.0, 1.5]", "[1,1.0]");
  expect("$[?@ < 2]", "[1, 1.5, 2, 2.5]", "[1,1.5]");
  expect("$[?@ > 9007199254740992]", "[9007199254740993, 9007199254740992]",
         "[9007199254740993]");
  expect("$[?@ == 9007199254740993]", "[9007199254740992.0]", "[]");
  expect("$[?@ <= -1e0]", "[-1, -2, 0, -0.5]", "[-1,-2]");
  expect("$[?@ == 1e400]", "[1]", "[]");
  /* Integer literals are exact over the whole int64 range. */
  expect("$[?@ == 9223372036854775807]",
         "[9223372036854775807, 9223372036854775806]",
         "[9223372036854775807]");
  expect("$[?@ == -9223372036854775808]", "[-9223372036854775808, 0]",
         "[-9223372036854775808]");
}

static void deep_equality_treats_numbers_by_value(void **state)
{
  (void)state;
  expect("$[?@.a == $.ref]",
         "{\"ref\": {\"x\": [1, 2.0]}, "
         "\"o\": {\"a\": {\"x\": [1.0, 2]}}}",
         "[{\"a\":{\"x\":[1.0,2]}}]");
}

static void nothing_equals_nothing_only(void **state)
{
  (void)state;
  expect("$[?@.a == @.b]", "[{}, {\"a\": 1}, {\"a\": null}, {\"b\": 1}]",
         "[{}]");
  expect("$[?@.a != 1]", "[{}, {\"a\": 1}, {\"a\": 2}]", "[{},{\"a\":2}]");
  expect("$[?@.a <= @.b]", "[{}, {\"a\": 1}]", "[{}]");
}

static void normalized_paths_escape_names(void **state)
{
  char *s;

  (void)state;
  expect_paths("$..*", "{\"a'b\": [7], \"\\u0001\\n\\\\\": 1}",
               "[\"$['a\\\\'b']\",\"$['\\\\u0001\\\\n\\\\\\\\']\","
               "\"$['a\\\\'b'][0]\"]");
  s = jsonpath_escape_name("x\x1f\"\x7f", 4);
  assert_non_null(s);
  assert_string_equal(s, "x\\u001f\"\x7f");
  free(s);
}

static void query_with_nul_compiles_from_length(void **state)
{
  static const char q[] = "$['a\\u0000b']";
  struct integ_error err;
  struct jsonpath *jp;
  struct jsonpath_nodes nodes;
  json_t *doc = json_object();

  (void)state;
  json_object_setn_new(doc, "a\0b", 3, json_integer(7));
  json_object_set_new(doc, "a", json_integer(1));
  assert_int_equal(jsonpath_compile(q, sizeof q - 1, &jp, &err), 0);
  assert_int_equal(jsonpath_eval(jp, doc, JSONPATH_PATHS, &nodes, &err), 0);
  assert_int_equal(nodes.n, 1);
  assert_int_equal(json_integer_value(nodes.values[0]), 7);
  assert_string_equal(nodes.paths[0], "$['a\\u0000b']");
  jsonpath_nodes_free(&nodes);
  jsonpath_free(jp);
  /* A raw NUL byte is no part of the grammar. */
  expect_invalid("$.a\0b", 5, "at character 4");
  json_decref(doc);
}

static void errors_name_position_and_expectation(void **state)
{
  (void)state;
  expect_invalid("$.a[1", 5, "at character 6: expected ',' or ']'");
  expect_invalid("$[?@.a == 01]", 13, "at character 11");
  expect_invalid("a", 1, "at character 1: a query must start with '$'");
  expect_invalid("$ ", 2, "at character 2");
  /* Positions count characters, not bytes. */
  expect_invalid("$['\xc3\xa9']x", 8, "at character 7");
  expect_invalid("$[?length(@.*) == 1]", 20, "argument 1 of length()");
  expect_invalid("$[?count(@.a) > 0 == true]", 26, "do not chain");
  expect_invalid("$[?match(@.a, 'x') == true]", 27,
                 "match() returns a logical");
  expect_invalid("$[?length(@.a)]", 15, "length() returns a value");
  expect_invalid("$[?foo(@.a)]", 12, "unknown function 'foo'");
  expect_invalid("$[9007199254740992]", 19, "out of range");
  expect_invalid("$[?true]", 8, "a literal is not a test");
  /* No blanks inside the brackets of a singular query's segments. */
  expect_invalid("$[?@[ 'a' ] == 1]", 17, "only singular queries");
  expect_invalid("$[?!@.a == 1]", 13, "a negation cannot be compared");
}

static void hostile_nesting_is_refused(void **state)
{
  char q[1000];
  size_t n = 0;

  (void)state;
  q[n++] = '$';
  q[n++] = '[';
  q[n++] = '?';
  for (int i = 0; i < 200; i++)
    q[n++] = '(';
  q[n++] = '@';
  for (int i = 0; i < 200; i++)
    q[n++] = ')';
  q[n++] = ']';
  expect_invalid(q, n, "nested more than 64 deep");
  /* Long flat chains are fine: they cost no recursion. */
  n = 0;
  n += (size_t)snprintf(q + n, sizeof q - n, "$[?@.a");
  for (int i = 0; i < 150; i++)
    n += (size_t)snprintf(q + n, sizeof q - n, "||@.a");
  q[n++] = ']';
  q[n] = '\0';
  expect(q, "[{\"a\": 1}, {}]", "[{\"a\":1}]");
}

static void deep_documents_are_walked_without_recursion(void **state)
{
  struct integ_error err;
  struct jsonpath *jp;
  struct jsonpath_nodes nodes;
  json_t *doc = json_array(), *cur = doc;
  const size_t depth = 5000; /* jansson frees recursively */

  (void)state;
  for (size_t i = 0; i < depth; i++) {
    json_t *a = json_array();
    json_array_append_new(cur, a);
    cur = a;
  }
  assert_int_equal(jsonpath_compile("$..[0]", 6, &jp, &err), 0);
  assert_int_equal(jsonpath_eval(jp, doc, 0, &nodes, &err), 0);
  assert_int_equal(nodes.n, depth);
  jsonpath_nodes_free(&nodes);
  jsonpath_free(jp);
  /* Deep comparison stops at JSONPATH_MAX_DEPTH with an error. */
  assert_int_equal(jsonpath_compile("$[?@ == $[0]]", 13, &jp, &err), 0);
  assert_int_equal(jsonpath_eval(jp, doc, 0, &nodes, &err), INTEG_EINVAL);
  assert_non_null(strstr(err.message, "nested too deeply"));
  assert_int_equal(nodes.n, 0);
  jsonpath_free(jp);
  json_decref(doc);
}

/* jsonpath_each sees what jsonpath_eval returns, in the same order. */
struct seen {
  json_t *paths;
  size_t stop_after; /* 0: never */
};

static int see(json_t *value, const char *path, size_t path_len, void *arg,
               struct integ_error *err)
{
  struct seen *s = arg;

  (void)value;
  assert_int_equal(strlen(path), path_len);
  assert_int_equal(json_array_append_new(s->paths, json_string(path)), 0);
  if (s->stop_after && json_array_size(s->paths) == s->stop_after)
    return error_set(err, INTEG_ECONFIG, "seen enough");
  return 0;
}

static void each_hands_out_nodes_in_order_and_stops_on_request(void **state)
{
  const char *doc = "{\"a\": [1, {\"b\": [2, 3]}], \"c\": {\"d\": 4}}";
  struct integ_error err = {0, ""};
  struct jsonpath *jp = NULL;
  json_t *d = json_loads(doc, 0, NULL);
  struct seen s = {json_array(), 0};
  char *want = run("$..*", doc, JSONPATH_PATHS), *got;

  (void)state;
  assert_int_equal(jsonpath_compile("$..*", 4, &jp, &err), 0);
  assert_int_equal(jsonpath_each(jp, d, JSONPATH_PATHS, see, &s, &err), 0);
  got = json_dumps(s.paths, JSON_COMPACT);
  assert_string_equal(got, want);
  free(got);
  json_array_clear(s.paths);
  s.stop_after = 2;
  assert_int_equal(jsonpath_each(jp, d, JSONPATH_PATHS, see, &s, &err),
                   INTEG_ECONFIG);
  assert_string_equal(err.message, "seen enough");
  assert_int_equal(json_array_size(s.paths), 2);
  free(want);
  json_decref(s.paths);
  json_decref(d);
  jsonpath_free(jp);
}

static void nested_existence_filters_are_cheap(void **state)
{
  struct integ_error err = {0, ""};
  struct jsonpath *jp = NULL;
  struct jsonpath_nodes nodes;
  const char *q = "$..[?@..[?@..[?@.b]]]";
  json_t *doc = json_object(), *cur = doc;
  clock_t c0;
  double secs;

  (void)state;
  /* Semantics first, on a document worked out by hand. */
  expect("$..[?@..[?@.b]]", "{\"a\": {\"a\": {\"b\": 1}}}",
         "[{\"a\":{\"b\":1}}]");
  expect("$[?@..[?@..[?@.b]]]", "[{\"x\": [{\"y\": {\"b\": 0}}]}, {\"x\": 1}]",
         "[{\"x\":[{\"y\":{\"b\":0}}]}]");
  /* A chain of 1500 objects with no b: each nested filter used to list
   * its whole query at every node (cubic, minutes); now linear-ish. */
  for (int i = 0; i < 1500; i++) {
    json_t *o = json_object();
    json_object_set_new(cur, "a", o);
    cur = o;
  }
  assert_int_equal(jsonpath_compile(q, strlen(q), &jp, &err), 0);
  c0 = clock();
  assert_int_equal(jsonpath_eval(jp, doc, 0, &nodes, &err), 0);
  secs = (double)(clock() - c0) / CLOCKS_PER_SEC;
  assert_int_equal(nodes.n, 0);
  print_message("# %s on a 1500-deep chain: %.3f s CPU\n", q, secs);
  assert_true(secs < 10.0); /* generous: sanitizers, slow machines */
  jsonpath_nodes_free(&nodes);
  jsonpath_free(jp);
  json_decref(doc);
}

static void queries_of_too_many_segments_are_refused(void **state)
{
  char q[2100];
  size_t n = 0;

  (void)state;
  q[n++] = '$';
  for (int i = 0; i < 1025; i++) {
    q[n++] = '.';
    q[n++] = 'a';
  }
  expect_invalid(q, n, "more than 1024 segments in one query");
  /* Filters' segments count too. */
  n = (size_t)snprintf(q, sizeof q, "$[?@");
  for (int i = 0; i < 1024; i++) {
    q[n++] = '.';
    q[n++] = 'a';
  }
  q[n++] = ']';
  expect_invalid(q, n, "more than 1024 segments in one query");
}

static void compiled_query_evaluates_many_times(void **state)
{
  struct integ_error err;
  struct jsonpath *jp;
  struct jsonpath_nodes nodes;
  json_t *a = json_pack("{s:[i,i,i]}", "x", 1, 2, 3);
  json_t *b = json_pack("{s:[i]}", "x", 9);

  (void)state;
  assert_int_equal(jsonpath_compile("$.x[-1]", 7, &jp, &err), 0);
  assert_true(jsonpath_is_singular(jp));
  for (int i = 0; i < 3; i++) {
    json_t *d = i % 2 ? b : a;
    assert_int_equal(jsonpath_eval(jp, d, 0, &nodes, &err), 0);
    assert_int_equal(nodes.n, 1);
    assert_int_equal(json_integer_value(nodes.values[0]), i % 2 ? 9 : 3);
    assert_ptr_equal(nodes.paths, NULL);
    jsonpath_nodes_free(&nodes);
  }
  jsonpath_free(jp);
  json_decref(a);
  json_decref(b);
}

static void slices_follow_the_rfc(void **state)
{
  (void)state;
  expect("$[1:3]", "[0,1,2,3,4]", "[1,2]");
  expect("$[::-1]", "[0,1,2]", "[2,1,0]");
  expect("$[-1:-4:-2]", "[0,1,2,3,4]", "[4,2]");
  expect("$[::0]", "[0,1]", "[]");
  expect("$[5:]", "[0,1]", "[]");
  expect_paths("$[::-2]", "[0,1,2]", "[\"$[2]\",\"$[0]\"]");
}

static void iregexp_rejects_what_rfc9485_rejects(void **state)
{
  static const char *const bad[] = {
      "\\d",  "a{2,1}", "(?:a)", "a*?",   "[a-z-[aeiou]]", "\\p{Xx}",
      "[]",   "a)",     "(a",    "[b-a]", "\\$",           "[\\p{L}-z]",
      "\\w+", "a++",    "{1}",   "]"};
  static const char *const good[] = {
      "",      "a|b",    "[^\\n\\r]", "\\p{Lu}+", "[-a]", "[a-]",
      "a{2,}", "(ab)*c", "^$",        "x{0,3}",   "\\.",  "[\\p{Nd}a-f]"};
  struct integ_error err;
  char *out;
  size_t len;

  (void)state;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (iregexp_translate(bad[i], strlen(bad[i]), &out, &len, &err) == 0) {
      print_error("%s was accepted as I-Regexp (as %s)\n", bad[i], out);
      free(out);
      fail();
    }
  }
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    pcre2_code *re;
    if (iregexp_compile(good[i], strlen(good[i]), IREGEXP_MATCH, &re, &err) !=
        0)
      fail_msg("%s was refused: %s", good[i], err.message);
    pcre2_code_free(re);
  }
  /* '^' and '$' anchor (as RFC 9485 section 5 maps them), '$' only at the
   * very end; '.' stops at \n and \r. */
  expect("$[?search(@, '^ab')]", "[\"xab\", \"abx\"]", "[\"abx\"]");
  expect("$[?search(@, 'b$')]", "[\"ab\", \"ab\\n\", \"ba\"]", "[\"ab\"]");
  expect("$[?match(@, 'a\\\\^b')]", "[\"a^b\", \"ab\"]", "[\"a^b\"]");
  expect("$[?match(@, 'a.b')]", "[\"a\\nb\", \"a\\rb\", \"a\\u2028b\"]",
         "[\"a\xe2\x80\xa8"
         "b\"]");
  expect("$[?search(@, $.re)]", "{\"re\": \"(\", \"x\": \"(\"}", "[]");
  /* Patterns from the document may change from node to node. */
  expect("$[?match(@.s, @.re)]",
         "[{\"s\": \"ab\", \"re\": \"a.\"}, {\"s\": \"ab\", \"re\": \"b.\"},"
         " {\"s\": \"ab\", \"re\": \"a.\"}, {\"s\": \"ab\", \"re\": \"a\"}]",
         "[{\"s\":\"ab\",\"re\":\"a.\"},{\"s\":\"ab\",\"re\":\"a.\"}]");
  expect("$[?search(@.s, @.re) && !match(@.s, @.re)]",
         "[{\"s\": \"ab\", \"re\": \"a\"}, {\"s\": \"ab\", \"re\": \"ab\"}]",
         "[{\"s\":\"ab\",\"re\":\"a\"}]");
}

static void hostile_regex_is_bounded(void **state)
{
  char doc[200];
  size_t n = 0;

  (void)state;
  doc[n++] = '[';
  doc[n++] = '"';
  for (int i = 0; i < 60; i++)
    doc[n++] = 'a';
  doc[n++] = '"';
  doc[n++] = ']';
  doc[n] = '\0';
  /* Catastrophic backtracking hits the match limit and counts as false. */
  expect("$[?match(@, '(a|aa)*(a|aa)*(a|aa)*b')]", doc, "[]");
}

/* ------------------------------------------------------------ the CTS */

struct cts {
  json_t *root; /* NULL when it could not be loaded: see why */
  char why[4200];
  size_t cases, exact, multi, invalid, failed;
};

/* The suite, loaded once by main; without it the CTS tests fail, saying
 * why, unless configure --without-anchors (then they are skipped). */
static struct cts the_cts;

static void cts_load(void)
{
  char path[4096];
  json_error_t jerr;

  if (anchors_absent() || !anchors_find("jsonpath/cts.json", path, sizeof path,
                                        the_cts.why, sizeof the_cts.why))
    return;
  the_cts.root = json_load_file(path, JSON_ALLOW_NUL, &jerr);
  if (!the_cts.root)
    snprintf(the_cts.why, sizeof the_cts.why, "%.3900s:%d:%d: %s", path,
             jerr.line, jerr.column, jerr.text);
}

static int cts_setup(void **state)
{
  *state = &the_cts;
  return 0;
}

static int cts_teardown(void **state)
{
  struct cts *cts = *state;
  if (cts->root)
    printf("# cts: %zu cases, %zu exact, %zu multi, %zu invalid, "
           "%zu failed\n",
           cts->cases, cts->exact, cts->multi, cts->invalid, cts->failed);
  json_decref(cts->root);
  return 0;
}

/* Whether the nodes (values and paths) equal want and want_paths. */
static int nodes_equal(const struct jsonpath_nodes *nodes, const json_t *want,
                       const json_t *want_paths)
{
  if (json_array_size(want) != nodes->n)
    return 0;
  for (size_t i = 0; i < nodes->n; i++) {
    if (!json_equal(json_array_get(want, i), nodes->values[i]))
      return 0;
    if (want_paths && strcmp(json_string_value(json_array_get(want_paths, i)),
                             nodes->paths[i]) != 0)
      return 0;
  }
  return 1;
}

static void cts_report(const json_t *tc, const char *what,
                       const struct jsonpath_nodes *nodes)
{
  json_t *got = json_array(), *gotp = json_array();
  char *g, *gp, *w;
  for (size_t i = 0; nodes && i < nodes->n; i++) {
    json_array_append(got, nodes->values[i]);
    json_array_append_new(gotp, json_string(nodes->paths[i]));
  }
  g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
  gp = json_dumps(gotp, JSON_COMPACT | JSON_ENCODE_ANY);
  w = json_dumps(tc, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
  printf("# FAILED %s: %s\n#   case: %s\n#   got: %s\n#   got paths: %s\n",
         json_string_value(json_object_get(tc, "name")), what, w, g, gp);
  free(g);
  free(gp);
  free(w);
  json_decref(got);
  json_decref(gotp);
}

enum cts_kind { CTS_EXACT, CTS_MULTI, CTS_INVALID };

static void cts_run(struct cts *cts, enum cts_kind kind)
{
  json_t *tests = json_object_get(cts->root, "tests"), *tc;
  size_t i, ran = 0, failed = 0;

  if (!cts->root)
    fail_msg("the JSONPath compliance suite: %s", cts->why);
  json_array_foreach(tests, i, tc)
  {
    json_t *sel = json_object_get(tc, "selector");
    int invalid = json_is_true(json_object_get(tc, "invalid_selector"));
    json_t *result = json_object_get(tc, "result");
    struct integ_error err = {0, ""};
    struct jsonpath *jp = NULL;
    struct jsonpath_nodes nodes = {0, NULL, NULL};
    int rc, ok = 0;

    if ((kind == CTS_INVALID) != invalid || (kind == CTS_EXACT && !result) ||
        (kind == CTS_MULTI && result))
      continue;
    ran++;
    rc = jsonpath_compile(json_string_value(sel), json_string_length(sel), &jp,
                          &err);
    if (invalid) {
      if (rc == INTEG_EINVAL && err.message[0])
        ok = 1;
      else
        cts_report(tc, "compiled, but the query is invalid", NULL);
      goto next;
    }
    if (rc != 0) {
      char what[INTEG_ERROR_MAX + 32];
      snprintf(what, sizeof what, "did not compile: %s", err.message);
      cts_report(tc, what, NULL);
      goto next;
    }
    rc = jsonpath_eval(jp, json_object_get(tc, "document"), JSONPATH_PATHS,
                       &nodes, &err);
    if (rc != 0) {
      cts_report(tc, err.message, NULL);
      goto next;
    }
    if (kind == CTS_EXACT) {
      ok = nodes_equal(&nodes, result, json_object_get(tc, "result_paths"));
    } else {
      json_t *alts = json_object_get(tc, "results");
      json_t *altp = json_object_get(tc, "results_paths");
      for (size_t k = 0; k < json_array_size(alts) && !ok; k++)
        ok = nodes_equal(&nodes, json_array_get(alts, k),
                         json_array_get(altp, k));
    }
    if (!ok)
      cts_report(tc, "wrong nodelist or paths", &nodes);
  next:
    failed += !ok;
    jsonpath_nodes_free(&nodes);
    jsonpath_free(jp);
  }
  cts->cases += ran;
  cts->failed += failed;
  if (kind == CTS_EXACT)
    cts->exact = ran;
  else if (kind == CTS_MULTI)
    cts->multi = ran;
  else
    cts->invalid = ran;
  printf("# cts %s: %zu cases, %zu failed\n",
         kind == CTS_EXACT   ? "exact results"
         : kind == CTS_MULTI ? "alternative results"
                             : "invalid selectors",
         ran, failed);
  assert_true(ran > 0);
  assert_int_equal(failed, 0);
}

static void cts_exact_results_and_paths_match(void **state)
{
  cts_run(*state, CTS_EXACT);
}

static void cts_one_of_the_alternative_results_matches(void **state)
{
  cts_run(*state, CTS_MULTI);
}

static void cts_invalid_selectors_fail_to_compile(void **state)
{
  cts_run(*state, CTS_INVALID);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(integer_and_real_compare_by_value),
      cmocka_unit_test(deep_equality_treats_numbers_by_value),
      cmocka_unit_test(nothing_equals_nothing_only),
      cmocka_unit_test(normalized_paths_escape_names),
      cmocka_unit_test(query_with_nul_compiles_from_length),
      cmocka_unit_test(errors_name_position_and_expectation),
      cmocka_unit_test(hostile_nesting_is_refused),
      cmocka_unit_test(deep_documents_are_walked_without_recursion),
      cmocka_unit_test(compiled_query_evaluates_many_times),
      cmocka_unit_test(each_hands_out_nodes_in_order_and_stops_on_request),
      cmocka_unit_test(nested_existence_filters_are_cheap),
      cmocka_unit_test(queries_of_too_many_segments_are_refused),
      cmocka_unit_test(slices_follow_the_rfc),
      cmocka_unit_test(iregexp_rejects_what_rfc9485_rejects),
      cmocka_unit_test(hostile_regex_is_bounded),
      ANCHORS_TEST(cts_exact_results_and_paths_match),
      ANCHORS_TEST(cts_one_of_the_alternative_results_matches),
      ANCHORS_TEST(cts_invalid_selectors_fail_to_compile),
  };

  cts_load();
  return _cmocka_run_group_tests("jsonpath", tests,
                                 sizeof tests / sizeof tests[0], cts_setup,
                                 cts_teardown);
}
