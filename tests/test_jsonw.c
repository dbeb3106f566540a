/* test_jsonw.c - the JSON writer: byte-exact against Python's json.dumps
 * and repr(float), which singer-sdk's output is made of. Expected strings
 * were produced with python3 (repr(x), json.dumps(s), json.dumps(s,
 * ensure_ascii=False)) and are written here by hand. */
#include "config.h"

#include <ftw.h>
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include <integ/plugin.h>

#include "buf.h"
#include "jsonw.h"

/* Write v and compare with want, printing both on a mismatch. */
static void check_value(json_t *v, unsigned flags, const char *want)
{
  struct buf b = BUF_INIT;

  assert_non_null(v);
  assert_int_equal(jsonw_value(&b, v, flags), 0);
  if (strcmp(b.data, want) != 0)
    fail_msg("expected %s\n     got %s", want, b.data);
  buf_free(&b);
}

static void check_string(const char *s, size_t len, unsigned flags,
                         const char *want)
{
  struct buf b = BUF_INIT;

  assert_int_equal(jsonw_string(&b, s, len, flags), 0);
  if (b.len != strlen(want) || memcmp(b.data, want, b.len) != 0)
    fail_msg("expected %s\n     got %.*s", want, (int)b.len, b.data);
  buf_free(&b);
}

struct real_case {
  double d;
  const char *repr;
};

static const struct real_case reals[] = {
    {0.0, "0.0"},
    {-0.0, "-0.0"},
    {1.0, "1.0"},
    {-1.0, "-1.0"},
    {0.1, "0.1"},
    {0.2, "0.2"},
    {0.30000000000000004, "0.30000000000000004"},
    {423.962, "423.962"},
    {1.5, "1.5"},
    {100.0, "100.0"},
    {1e-07, "1e-07"},
    {1e+16, "1e+16"},
    {1.5e+16, "1.5e+16"},
    {0.0001, "0.0001"},
    {1e-05, "1e-05"},
    {9.999e-05, "9.999e-05"},
    {0.001, "0.001"},
    {123456789012345.0, "123456789012345.0"},
    {1234567890123456.0, "1234567890123456.0"},
    {9999999999999998.0, "9999999999999998.0"},
    {1000000000000000.0, "1000000000000000.0"},
    {9007199254740992.0, "9007199254740992.0"},
    {9007199254740994.0, "9007199254740994.0"},
    {1e+21, "1e+21"},
    {1e+22, "1e+22"},
    {1e+23, "1e+23"},
    {1e+100, "1e+100"},
    {1.23e-100, "1.23e-100"},
    {5e-324, "5e-324"},
    {2.2250738585072014e-308, "2.2250738585072014e-308"},
    {1.7976931348623157e+308, "1.7976931348623157e+308"},
    {-1.7976931348623157e+308, "-1.7976931348623157e+308"},
    /* 2^-1017: a power of two whose shortest form lies above it */
    {7.120236347223045e-307, "7.120236347223045e-307"},
    {9.223372036854776e+18, "9.223372036854776e+18"},
    {1.8446744073709552e+19, "1.8446744073709552e+19"},
    {3.141592653589793, "3.141592653589793"},
    {2.718281828459045, "2.718281828459045"},
    {0.3333333333333333, "0.3333333333333333"},
    {0.6666666666666666, "0.6666666666666666"},
    {33.333333333333336, "33.333333333333336"},
    {0.5, "0.5"},
    {0.25, "0.25"},
    {4.35, "4.35"},
    {123.456, "123.456"},
    {-123.456, "-123.456"},
    {12345.6789, "12345.6789"},
};

static void reals_print_as_python_repr(void **state)
{
  size_t i;

  (void)state;
  for (i = 0; i < sizeof reals / sizeof reals[0]; i++) {
    char out[JSONW_REAL_MAX];
    size_t n = jsonw_format_real(reals[i].d, out);

    if (strcmp(out, reals[i].repr) != 0 || n != strlen(out))
      fail_msg("real #%zu: expected %s, got %s", i, reals[i].repr, out);
  }
}

static void reals_in_values_keep_their_point(void **state)
{
  json_t *v = json_pack("{sfsfsi}", "a", 1.0, "b", 423.962, "c", 1);

  (void)state;
  check_value(v, 0, "{\"a\":1.0,\"b\":423.962,\"c\":1}");
  json_decref(v);
}

static void reals_that_are_not_finite_are_refused(void **state)
{
  struct buf b = BUF_INIT;

  (void)state;
  assert_int_equal(jsonw_real(&b, NAN), INTEG_EINVAL);
  assert_int_equal(jsonw_real(&b, INFINITY), INTEG_EINVAL);
  assert_int_equal(b.len, 0);
  /* jansson itself refuses to make them */
  assert_null(json_real(NAN));
  buf_free(&b);
}

static void integers_are_exact_over_int64(void **state)
{
  json_t *v =
      json_pack("[IIIII]", (json_int_t)INT64_MIN, (json_int_t)INT64_MAX,
                (json_int_t)0, (json_int_t)-1, (json_int_t)9007199254740993LL);

  (void)state;
  check_value(v, 0,
              "[-9223372036854775808,9223372036854775807,0,-1,"
              "9007199254740993]");
  json_decref(v);
}

static void control_characters_escape_as_python_does(void **state)
{
  char s[32];
  int i;

  (void)state;
  for (i = 0; i < 32; i++)
    s[i] = (char)i;
  /* json.dumps("".join(chr(i) for i in range(32))) */
  check_string(s, 32, 0,
               "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007"
               "\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012"
               "\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a"
               "\\u001b\\u001c\\u001d\\u001e\\u001f\"");
  check_string(s, 32, JSONW_ASCII,
               "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007"
               "\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012"
               "\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a"
               "\\u001b\\u001c\\u001d\\u001e\\u001f\"");
}

static void quote_backslash_slash_and_del(void **state)
{
  (void)state;
  /* json.dumps('q"b\\s/d\x7f') and with ensure_ascii=False */
  check_string("q\"b\\s/d\x7f", 8, JSONW_ASCII, "\"q\\\"b\\\\s/d\\u007f\"");
  check_string("q\"b\\s/d\x7f", 8, 0, "\"q\\\"b\\\\s/d\x7f\"");
}

static void unicode_bmp_non_bmp_and_u2028(void **state)
{
  /* "é中😀\u2028" */
  static const char s[] = "\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\xe2\x80\xa8";

  (void)state;
  check_string(s, sizeof s - 1, JSONW_ASCII,
               "\"\\u00e9\\u4e2d\\ud83d\\ude00\\u2028\"");
  check_string(s, sizeof s - 1, 0,
               "\"" /**/
               "\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80"
               "\xe2\x80\xa8\"");
  /* The largest code point. */
  check_string("\xf4\x8f\xbf\xbf", 4, JSONW_ASCII, "\"\\udbff\\udfff\"");
}

static void invalid_utf8_is_refused_and_nothing_written(void **state)
{
  static const char *const bad[] = {
      "\x80",             /* continuation byte first */
      "\xc0\xaf",         /* overlong '/' */
      "\xe0\x80\xaf",     /* overlong */
      "\xed\xa0\x80",     /* surrogate U+D800 */
      "\xf4\x90\x80\x80", /* above U+10FFFF */
      "\xe4\xb8",         /* truncated */
      "\xff",
  };
  size_t i;

  (void)state;
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct buf b = BUF_INIT;
    json_t *v;

    assert_int_equal(buf_appends(&b, "x"), 0);
    assert_int_equal(jsonw_string(&b, bad[i], strlen(bad[i]), 0),
                     INTEG_EINVAL);
    assert_int_equal(jsonw_string(&b, bad[i], strlen(bad[i]), JSONW_ASCII),
                     INTEG_EINVAL);
    assert_string_equal(b.data, "x");
    /* Through a value too (a plugin can make one with _nocheck). */
    v = json_pack("{s[io]}", "a", 1, json_string_nocheck(bad[i]));
    assert_int_equal(jsonw_value(&b, v, 0), INTEG_EINVAL);
    assert_string_equal(b.data, "x");
    json_decref(v);
    buf_free(&b);
  }
}

static void strings_may_hold_nul(void **state)
{
  json_t *v = json_stringn("a\0b", 3);

  (void)state;
  check_value(v, 0, "\"a\\u0000b\"");
  json_decref(v);
}

static void keys_come_in_insertion_order(void **state)
{
  json_t *o = json_object();

  (void)state;
  /* jansson 2.14 keeps insertion order; this is what the writer relies
   * on for singer-sdk's key order. */
  json_object_set_new(o, "zeta", json_integer(1));
  json_object_set_new(o, "alpha", json_integer(2));
  json_object_set_new(o, "mid", json_integer(3));
  check_value(o, 0, "{\"zeta\":1,\"alpha\":2,\"mid\":3}");
  /* Replacing a value keeps the key where it was. */
  json_object_set_new(o, "zeta", json_integer(9));
  check_value(o, 0, "{\"zeta\":9,\"alpha\":2,\"mid\":3}");
  /* Deleting and setting again moves it to the end. */
  json_object_del(o, "alpha");
  json_object_set_new(o, "alpha", json_integer(2));
  check_value(o, 0, "{\"zeta\":9,\"mid\":3,\"alpha\":2}");
  json_decref(o);
}

static void parsed_documents_keep_their_key_order(void **state)
{
  static const char text[] =
      "{ \"type\" : \"object\", \"properties\": {\"z\": {\"type\": "
      "\"integer\"}, \"a\": {\"type\": [\"string\", \"null\"]}}, "
      "\"required\": [\"z\"], \"b\": true, \"c\": false, \"d\": null, "
      "\"e\": [], \"f\": {}, \"g\": -0.0 }";
  json_t *v = json_loads(text, 0, NULL);

  (void)state;
  check_value(v, 0,
              "{\"type\":\"object\",\"properties\":{\"z\":{\"type\":"
              "\"integer\"},\"a\":{\"type\":[\"string\",\"null\"]}},"
              "\"required\":[\"z\"],\"b\":true,\"c\":false,\"d\":null,"
              "\"e\":[],\"f\":{},\"g\":-0.0}");
  json_decref(v);
}

static void keys_are_escaped_like_strings(void **state)
{
  json_t *o = json_object();

  (void)state;
  json_object_set_new(o, "a\"b\n\xc3\xa9", json_true());
  check_value(o, JSONW_ASCII, "{\"a\\\"b\\n\\u00e9\":true}");
  check_value(o, 0, "{\"a\\\"b\\n\xc3\xa9\":true}");
  json_decref(o);
}

static void nesting_beyond_the_limit_is_refused(void **state)
{
  json_t *root = json_array(), *cur = root;
  struct buf b = BUF_INIT;
  int i;

  (void)state;
  for (i = 0; i < JSONW_MAX_DEPTH + 5; i++) {
    json_t *next = json_array();

    json_array_append_new(cur, next);
    cur = next;
  }
  assert_int_equal(jsonw_value(&b, root, 0), INTEG_EINVAL);
  assert_int_equal(b.len, 0);
  json_decref(root);
  buf_free(&b);
}

static void raw_bytes_are_appended_as_given(void **state)
{
  struct buf b = BUF_INIT;

  (void)state;
  assert_int_equal(buf_appends(&b, "["), 0);
  assert_int_equal(jsonw_raw(&b, "{\"a\":1}", 7), 0);
  assert_int_equal(buf_appends(&b, "]"), 0);
  assert_string_equal(b.data, "[{\"a\":1}]");
  buf_free(&b);
}

/* What jansson's own dump does, for the record: it is why jsonw exists. */
static void jansson_dump_differs_on_reals(void **state)
{
  json_t *v = json_real(423.962);
  char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

  (void)state;
  assert_non_null(s);
  /* jansson 2.14 prints 17 significant digits; jsonw prints 423.962 */
  assert_string_not_equal(s, "423.962");
  check_value(v, 0, "423.962");
  free(s);
  json_decref(v);
}

/* A deterministic generator of random JSON values. */
static uint64_t rng_next(uint64_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* Random valid UTF-8 into b; NUL only when nul_ok (jansson's parser
 * refuses it in object keys). */
static void random_utf8(uint64_t *s, struct buf *b, int nul_ok)
{
  size_t n = rng_next(s) % 12, i;

  buf_reset(b);
  for (i = 0; i < n; i++) {
    uint32_t cp, pick = (uint32_t)(rng_next(s) % 4);
    char u[4];

    if (pick == 0)
      cp = (uint32_t)(rng_next(s) % 0x80); /* ASCII, controls included */
    else if (pick == 1)
      cp = 0x80 + (uint32_t)(rng_next(s) % 0x780);
    else if (pick == 2)
      cp = 0x800 + (uint32_t)(rng_next(s) % 0xf800);
    else
      cp = 0x10000 + (uint32_t)(rng_next(s) % 0x100000);
    if (cp >= 0xd800 && cp <= 0xdfff)
      cp = 0x2028;
    if (cp == 0 && !nul_ok)
      cp = 0x7f;
    if (cp < 0x80) {
      u[0] = (char)cp;
      assert_int_equal(buf_append(b, u, 1), 0);
    } else if (cp < 0x800) {
      u[0] = (char)(0xc0 | (cp >> 6));
      u[1] = (char)(0x80 | (cp & 0x3f));
      assert_int_equal(buf_append(b, u, 2), 0);
    } else if (cp < 0x10000) {
      u[0] = (char)(0xe0 | (cp >> 12));
      u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
      u[2] = (char)(0x80 | (cp & 0x3f));
      assert_int_equal(buf_append(b, u, 3), 0);
    } else {
      u[0] = (char)(0xf0 | (cp >> 18));
      u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
      u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
      u[3] = (char)(0x80 | (cp & 0x3f));
      assert_int_equal(buf_append(b, u, 4), 0);
    }
  }
  if (!b->data)
    assert_int_equal(buf_append(b, "", 0), 0);
}

static json_t *random_value(uint64_t *s, int depth, struct buf *tmp)
{
  switch (rng_next(s) % (depth > 4 ? 5 : 7)) {
  case 0:
    return json_integer((json_int_t)rng_next(s));
  case 1: {
    uint64_t bits = rng_next(s);
    double d;

    if (bits & 1) /* short decimals, the common case */
      d = (double)(int64_t)(rng_next(s) % 2000000) / 1000.0;
    else
      memcpy(&d, &bits, sizeof d);
    return isfinite(d) ? json_real(d) : json_null();
  }
  case 2:
    random_utf8(s, tmp, 1);
    return json_stringn(tmp->data, tmp->len);
  case 3:
    return json_boolean(rng_next(s) & 1);
  case 4:
    return json_null();
  case 5: {
    json_t *a = json_array();
    size_t n = rng_next(s) % 5, i;

    for (i = 0; i < n; i++)
      json_array_append_new(a, random_value(s, depth + 1, tmp));
    return a;
  }
  default: {
    json_t *o = json_object();
    size_t n = rng_next(s) % 5, i;

    for (i = 0; i < n; i++) {
      json_t *v = random_value(s, depth + 1, tmp);

      random_utf8(s, tmp, 0);
      json_object_setn_new(o, tmp->data, tmp->len, v);
    }
    return o;
  }
  }
}

/* Whatever jsonw writes, jansson reads back as the same value (reals
 * bit for bit, since their shortest form round-trips), in both modes;
 * and in ASCII mode no byte above 0x7e appears. */
static void random_values_round_trip_through_jansson(void **state)
{
  uint64_t seed = 0x9e3779b97f4a7c15ULL;
  struct buf out = BUF_INIT, tmp = BUF_INIT;
  int i;

  (void)state;
  for (i = 0; i < 3000; i++) {
    json_t *v = random_value(&seed, 0, &tmp), *back;
    json_error_t jerr;
    unsigned flags = (i & 1) ? JSONW_ASCII : 0;
    size_t k;

    assert_non_null(v);
    buf_reset(&out);
    assert_int_equal(jsonw_value(&out, v, flags), 0);
    back =
        json_loadb(out.data, out.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!back || !json_equal(v, back))
      fail_msg("value #%d did not round-trip (%s): %s", i,
               back ? "differs" : jerr.text, out.data);
    for (k = 0; flags && k < out.len; k++)
      if ((unsigned char)out.data[k] > 0x7e)
        fail_msg("value #%d: byte 0x%02x in ASCII mode: %s", i,
                 (unsigned char)out.data[k], out.data);
    json_decref(back);
    json_decref(v);
  }
  buf_free(&out);
  buf_free(&tmp);
}

extern char **environ;

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* Set LC_NUMERIC to a locale whose decimal point is a comma, as a plugin
 * calling setlocale would. An installed one if there is one; else de_DE
 * built by localedef from Debian's `locales` sources into dir (LOCPATH
 * points there). Returns its name, or NULL when neither works. */
static const char *set_comma_locale(char *dir)
{
  static const char *const installed[] = {
      "de_DE.UTF-8", "de_DE.utf8",  "de_DE",       "fr_FR.UTF-8",
      "fr_FR.utf8",  "nl_NL.UTF-8", "ru_RU.UTF-8", "es_ES.UTF-8"};
  char out[300];
  char *argv[] = {"localedef", "-i", "de_DE", "-f", "ISO-8859-1", out, NULL};
  pid_t pid;
  int status;

  for (size_t i = 0; i < sizeof installed / sizeof installed[0]; i++)
    if (setlocale(LC_NUMERIC, installed[i]) &&
        strcmp(localeconv()->decimal_point, ",") == 0)
      return installed[i];
  if (!mkdtemp(dir))
    return NULL;
  snprintf(out, sizeof out, "%s/de_DE.ISO-8859-1", dir);
  if (posix_spawnp(&pid, "localedef", NULL, NULL, argv, environ) ||
      waitpid(pid, &status, 0) != pid)
    return NULL;
  /* localedef exits 1 for warnings, with the locale written */
  setenv("LOCPATH", dir, 1);
  if (setlocale(LC_NUMERIC, "de_DE.ISO-8859-1") &&
      strcmp(localeconv()->decimal_point, ",") == 0)
    return "de_DE.ISO-8859-1 (built with localedef)";
  return NULL;
}

static void reals_ignore_a_comma_decimal_locale(void **state)
{
  /* Both paths: 423.962 is the fast one, the 16- and 17-digit ones and
   * the extremes take printf and strtod. */
  static const struct real_case cases[] = {
      {423.962, "423.962"},
      {0.1 + 0.2, "0.30000000000000004"},
      {1.2345678901234567, "1.2345678901234567"},
      {123456789012345.67, "123456789012345.67"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {9007199254740993.0, "9007199254740992.0"},
  };
  char dir[] = "/tmp/test_jsonw_locale.XXXXXX";
  const char *name = set_comma_locale(dir);
  json_t *v = json_pack("{sf}", "a", 0.1 + 0.2);

  (void)state;
  if (!name) {
    fprintf(stderr, "no comma-decimal locale here and none could be built "
                    "(install Debian's `locales`): skipped\n");
    if (dir[strlen(dir) - 1] != 'X')
      nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    json_decref(v);
    skip();
  }
  fprintf(stderr, "LC_NUMERIC=%s (decimal point '%s')\n", name,
          localeconv()->decimal_point);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char out[JSONW_REAL_MAX];

    jsonw_format_real(cases[i].d, out);
    if (strcmp(out, cases[i].repr) != 0) {
      setlocale(LC_NUMERIC, "C");
      fail_msg("under %s: expected %s, got %s", name, cases[i].repr, out);
    }
  }
  check_value(v, 0, "{\"a\":0.30000000000000004}");
  setlocale(LC_NUMERIC, "C");
  unsetenv("LOCPATH");
  if (dir[strlen(dir) - 1] != 'X')
    nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
  json_decref(v);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(reals_print_as_python_repr),
      cmocka_unit_test(reals_in_values_keep_their_point),
      cmocka_unit_test(reals_that_are_not_finite_are_refused),
      cmocka_unit_test(integers_are_exact_over_int64),
      cmocka_unit_test(control_characters_escape_as_python_does),
      cmocka_unit_test(quote_backslash_slash_and_del),
      cmocka_unit_test(unicode_bmp_non_bmp_and_u2028),
      cmocka_unit_test(invalid_utf8_is_refused_and_nothing_written),
      cmocka_unit_test(strings_may_hold_nul),
      cmocka_unit_test(keys_come_in_insertion_order),
      cmocka_unit_test(parsed_documents_keep_their_key_order),
      cmocka_unit_test(keys_are_escaped_like_strings),
      cmocka_unit_test(nesting_beyond_the_limit_is_refused),
      cmocka_unit_test(raw_bytes_are_appended_as_given),
      cmocka_unit_test(jansson_dump_differs_on_reals),
      cmocka_unit_test(random_values_round_trip_through_jansson),
      cmocka_unit_test(reals_ignore_a_comma_decimal_locale),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
