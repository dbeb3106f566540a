/* jscan_diff.c - host/jscan.c against the slow path (jansson, the host's
 * JSONPath and emitters; tests/jscan_ref.h), byte for byte, in every
 * output format: JSON edge cases built in, and the pages named on the
 * command line (tests/jscan_diff.sh fetches them from tests/testapi).
 *   jscan_diff [[-r RECORDS] FILE...]...   (RECORDS: $.data[*] first)
 * Each page file is also checked cut short at several places. Output is
 * TAP. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jscan_ref.h"
#include "jsonw.h"

static const char *const values[] = {
    /* numbers */
    "0",
    "-0",
    "0.0",
    "-0.0",
    "1",
    "-1",
    "1E400",
    "-1E400",
    "1e-400",
    "-1e-400",
    "1e300",
    "1e-7",
    "6.02214076e23",
    "9007199254740993",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "-9223372036854775809",
    "123456789012345678901234567890",
    "01",
    "-01",
    "00",
    "1.",
    ".5",
    "1e",
    "1e+",
    "+1",
    "1.0e+2",
    "100.0",
    "100.50",
    "0.1",
    "0.30000000000000004",
    "1234567890123456.0",
    "12345678901234567.0",
    "123456789012345.0",
    "1000000000000000.0",
    "10000000000000000.0",
    "0.0001",
    "0.00001",
    "0.000123",
    "0.0001230",
    "1.5E3",
    "1E+2",
    "1e-0",
    "2.2250738585072014e-308",
    "5e-324",
    "1.7976931348623157e308",
    "1.7976931348623159e308",
    "423.962",
    "423.96199999999999",
    "39.26",
    "-1234.5678",
    "2.5e-10",
    "1.0",
    "12.0",
    "123456789012345.6",
    "0.123456789012345",
    "0.1234567890123456",
    "-",
    "--1",
    "1.5.3",
    "0x10",
    "Infinity",
    "NaN",
    "-Infinity",
    "1e5x",
    "1.5e",
    "-.5",
    /* literals */
    "true",
    "false",
    "null",
    "tru",
    "nul",
    "truex",
    "nulll",
    "True",
    /* strings */
    "\"\"",
    "\"\\u0000\"",
    "\"a\\u0000b\"",
    "\"\\ud83d\\ude00\"",
    "\"\\ud83d\"",
    "\"\\ude00\"",
    "\"\\ud83d\\u0041\"",
    "\"\\ud83d\\ud83d\"",
    "\"\\uD83D\\uDE00\"",
    "\"\\u00E9\\u00e9\"",
    "\"\\/\"",
    "\"\\x\"",
    "\"\\u12\"",
    "\"\\u12g4\"",
    "\"\\u\"",
    "\"\\",
    "\"abc",
    "\"\xf0\x9f\x98\x80 emoji\"",
    "\"\x7f DEL\"",
    "\"\x01\"",
    "\"\t\"",
    "\"\xc3\x28\"",
    "\"\xed\xa0\x80\"",
    "\"\xf4\x90\x80\x80\"",
    "\"\xc0\x80\"",
    "\"\xe0\x80\x80\"",
    "\"\xf0\x80\x80\x80\"",
    "\"\xe6\x9d\"",
    "\"\xe6\x9d\x8e\"",
    "\"\xf0\x9d\x84\x9e\"",
    "\"\xff\"",
    "\"\x80\"",
    "\"\\\"\\\\\\b\\f\\n\\r\\t\"",
    "\"\\u001f\\u007f\\u0080\\u2028\\uffff\\u0022\\u005c\\u002f\"",
    "\"long plain ascii text that runs past eight bytes, sixteen, 32\"",
    "\"1234567\\\"1234567\\\\12345678\xc3\xa9\x31\x32\x33\x34\x35\x36\x37\"",
    "\"\xe2\x80\xa8\xe2\x80\xa9 separators\"",
    "\"</script>\"",
    /* containers */
    "[]",
    "{}",
    "[1,]",
    "{\"a\":1,}",
    "[1 2]",
    "{\"a\" 1}",
    "{\"a\":1 \"b\":2}",
    "{1:2}",
    "[[[]]]",
    "[,]",
    "{,}",
    "[",
    "{",
    "{\"a\"}",
    "{\"a\":}",
    " [ 1 , { \"b\" : [ ] } ] ",
    "[\n\t\r1]",
    "{\"a\":1,\"a\":2}",
    "{\"a\":1,\"\\u0061\":2}",
    "{\"b\":{\"x\":1,\"x\":1}}",
    "{\"\\u0000\":1}",
    "{\"a\\u0000\":1}",
    "{\"\":1,\"\\u00e9\":2,\"\xc3\xa9\":3}",
    "{\"k\\n\":1,\"k\\u000a\":2}",
    "[1,[2,[3,[4,{\"a\":[5]}]]]]",
};

static const char *const pages[] = {
    "",
    " ",
    "{",
    "[",
    "{\"data\":[{}]",
    "{\"data\":[{}]} x",
    "{\"data\":[{}]}  \n",
    "{\"data\":[{}]}\n\n\t",
    "{\"data\":[{}]},",
    "{\"data\":[1]}",
    "{\"data\":[{},2,{}]}",
    "{\"data\":[{},2,{]}",
    "{\"data\":[{},\"x\",{}],\"data\":1}",
    "{\"data\":{\"x\":{\"a\":1},\"y\":{\"b\":2}}}",
    "{\"data\":\"str\"}",
    "{\"data\":[{}],\"data\":[{\"a\":1}]}",
    "{\"data\":null}",
    "{}",
    "[]",
    "1",
    "\"s\"",
    "null",
    " {\n\"data\" : [ { \"a\" : 1 , \"b\":[ 1.50 , -0 ] } ] , \"next_cursor\""
    " : \"c\\u00e9\" , \"has_more\" : true } ",
    "{\"next_cursor\":\"x\",\"has_more\":false,\"data\":[{\"id\":1,"
    "\"updated_at\":\"t1\"},{\"updated_at\":\"t2\"},{\"id\":3}]}",
    "{\"data\":[{\"id\":99999999999999999999}]}",
    "{\"data\":[{\"x\":99999999999999999999}],\"total\":1e400}",
    "{\"data\":[{\"id\":{\"a\":[1,2,{\"b\":null}]},\"attributes\":{\"owner\":"
    "{\"id\":\"o\\u0000\"}}}]}",
    "{\"data\":[{\"id\":1}],\"next_cursor\":[1,{\"a\":\"\\ud83d\\ude00\"}]}",
    "{\"data\":[{\"a\":\"x\"},{\"a\":\"\\u00e9\",\"a\":1}]}",
};

/* Fields as the pager plugin asks for them, and more shapes. */
static json_t *fields_for(const char *records)
{
  if (strcmp(records, "$.data[*]") == 0)
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "next",
                     "$.next_cursor", "more", "$.has_more", "ids",
                     "$.data[*].id", "ats", "$.data[*].updated_at", "owner",
                     "$.data[*].attributes.owner.id", "attrs",
                     "$.data[*].attributes", "whole", "$.data[*]", "missing",
                     "$.meta.next");
  {
    char q[256];

    snprintf(q, sizeof(q), "%s.id", records);
    return json_pack("{s:s}", "ids", q);
  }
}

static int check_all(struct jscan *js, const char *label, const char *page,
                     size_t len, const char *records, json_t *fields)
{
  static const enum emit_format fmts[] = {EMIT_SINGER, EMIT_AIRBYTE,
                                          EMIT_JSONL};
  int bad = 0;

  for (size_t f = 0; f < 3; f++) {
    bad |= ref_check(js, label, page, len, records, fields, fmts[f],
                     JSCAN_STRICT_INT, NULL);
    bad |= ref_check(js, label, page, len, records, fields, fmts[f], 0, NULL);
  }
  return bad;
}

/* Reals written in many ways, against jsonw_format_real(strtod(text)):
 * random short decimals at every exponent (the scanner reformats these
 * from the text alone) and random doubles (through strtod). */
static int reals(unsigned long n)
{
  uint64_t x = 0x2545f4914f6cdd1dull;
  struct jscan *js = NULL;
  struct buf fb = BUF_INIT, out = BUF_INIT;
  struct jscan_frame frame;
  struct integ_error err;
  int bad = 0;

  if (jscan_new("$[*]", NULL, &js, &err) ||
      jscan_frame_make(&fb, EMIT_JSONL, "s", NULL, 0, &frame))
    return 1;
  for (unsigned long i = 0; i < n && !bad; i++) {
    char text[400], page[440], want[64];
    struct jscan_result res;
    double d;
    int len, plen;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    if (i % 2) {
      memcpy(&d, &x, sizeof(d));
      if (!isfinite(d))
        continue;
    } else {
      /* up to 15 digits times a power of ten */
      d = (double)(x % 1000000000000000ull) *
          pow(10.0, (double)((int)((x >> 50) % 671) - 340));
      if (x >> 63)
        d = -d;
    }
    {
      int prec = (int)((x >> 44) % 18);

      switch ((x >> 40) % 4) {
      case 0:
        len = snprintf(text, sizeof(text), "%.*g", prec, d);
        break;
      case 1:
        len = snprintf(text, sizeof(text), "%.*e", prec, d);
        break;
      case 2:
        len = snprintf(text, sizeof(text), "%.*E", prec, d);
        break;
      default:
        len = snprintf(text, sizeof(text), "%.*f", prec, d);
      }
    }
    if (len <= 0 || (size_t)len >= sizeof(text) ||
        !strpbrk(text, "0123456789"))
      continue;
    if (!strpbrk(text, ".eE") && (size_t)len + 2 < sizeof(text)) {
      memcpy(text + len, ".0", 3); /* stays a real */
      len += 2;
    }
    d = strtod(text, NULL);
    if (!isfinite(d) || strstr(text, "inf") || strstr(text, "nan"))
      continue;
    plen = snprintf(page, sizeof(page), "[{\"v\":%s}]", text);
    snprintf(want, sizeof(want), "{\"v\":");
    jsonw_format_real(d, want + 5);
    memcpy(want + strlen(want), "}\n", 3);
    out.len = 0;
    if (jscan_page(js, page, (size_t)plen, 0, &frame, &out, &res, &err) ||
        strcmp(out.data, want)) {
      printf("# real %s: expected %s got %s (%s)\n", text, want,
             out.len ? out.data : "", err.message);
      bad = 1;
    }
    json_decref(res.fields);
  }
  jscan_free(js);
  buf_free(&fb);
  buf_free(&out);
  return bad;
}

/* A page of two records with `keys` keys each ("k0", "k1", ...); the
 * second record repeats key `dup` at its end (none when dup < 0), written
 * with an escape when esc. */
static int wide(struct buf *b, int keys, int dup, int esc)
{
  buf_reset(b);
  if (buf_appends(b, "{\"data\":["))
    return -1;
  for (int r = 0; r < 2; r++) {
    if (buf_appends(b, r ? ",{" : "{"))
      return -1;
    for (int k = 0; k < keys; k++)
      if (buf_printf(b, "%s\"k%d\":%d", k ? "," : "", k, k))
        return -1;
    if (r && dup >= 0 &&
        buf_printf(b, ",\"%s%d\":0", esc ? "\\u006b" : "k", dup))
      return -1;
    if (buf_appends(b, "}"))
      return -1;
  }
  return buf_appends(b, "]}");
}

/* The file at path, NUL-terminated, its length in *len (new; NULL when
 * it cannot be read). */
static char *read_file(const char *path, size_t *len)
{
  struct buf b = BUF_INIT;

  if (buf_read_file(&b, path))
    return NULL;
  *len = b.len;
  return b.data;
}

/* A page with one record whose "v" is nested `levels` arrays deep around
 * `inner`. */
static char *deep(size_t levels, const char *inner, size_t *len)
{
  static const char head[] = "{\"data\":[{\"v\":", tail[] = "}]}";
  size_t n = sizeof(head) + sizeof(tail) + 2 * levels + strlen(inner);
  char *p = malloc(n + 1), *o = p;

  if (!p)
    return NULL;
  memcpy(o, head, sizeof(head) - 1);
  o += sizeof(head) - 1;
  memset(o, '[', levels);
  o += levels;
  memcpy(o, inner, strlen(inner));
  o += strlen(inner);
  memset(o, ']', levels);
  o += levels;
  memcpy(o, tail, sizeof(tail) - 1);
  o += sizeof(tail) - 1;
  *len = (size_t)(o - p);
  return p;
}

int main(int argc, char **argv)
{
  const char *records = "$.data[*]";
  struct integ_error err;
  struct jscan *js = NULL;
  json_t *fields;
  int test = 0, failed = 0, bad, nfiles = 0;
  size_t i;
  char page[512];

  for (int a = 1; a < argc; a++) {
    if (strcmp(argv[a], "-r") == 0 && a + 1 < argc)
      a++;
    else
      nfiles++;
  }
  printf("1..%d\n", 5 + nfiles);
  fields = fields_for(records);
  if (jscan_new(records, fields, &js, &err)) {
    printf("Bail out! jscan_new(%s): %s\n", records, err.message);
    return 1;
  }

  /* Values in a record and as a field. */
  bad = 0;
  {
    struct jscan *jv = NULL;
    json_t *fv = json_pack("{s:s, s:s}", "v", "$.data[*].v", "w", "$.w");

    if (jscan_new("$.data[*]", fv, &jv, &err)) {
      printf("Bail out! %s\n", err.message);
      return 1;
    }
    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
      int n = snprintf(page, sizeof(page),
                       "{\"data\":[{\"v\":%s,\"after\":1}],\"w\":%s}",
                       values[i], values[i]);

      bad |= check_all(jv, values[i], page, (size_t)n, "$.data[*]", fv);
    }
    jscan_free(jv);
    json_decref(fv);
  }
  printf("%sok %d - %zu JSON values agree with jansson + jsonw\n",
         bad ? "not " : "", ++test, sizeof(values) / sizeof(values[0]));
  failed |= bad;

  /* Whole pages. */
  bad = 0;
  for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
    bad |= check_all(js, pages[i], pages[i], strlen(pages[i]), "$.data[*]",
                     fields);
  }
  {
    /* A NUL byte after the page is garbage to jansson. */
    static const char nul[] = "{\"data\":[{\"a\":1}]}";

    bad |= check_all(js, "NUL after the page", nul, sizeof(nul), "$.data[*]",
                     fields);
  }
  {
    struct jscan *jr = NULL;
    json_t *fr = fields_for("$[*]");
    static const char *const arrays[] = {
        "[{\"id\":1},{\"id\":2,\"x\":[]}]", "[]", "[{}, 1]",
        "{\"a\":{\"id\":1},\"b\":{\"id\":2}}", "{\"a\":{\"id\":1},\"a\":{}}"};

    if (jscan_new("$[*]", fr, &jr, &err)) {
      printf("Bail out! %s\n", err.message);
      return 1;
    }
    for (i = 0; i < sizeof(arrays) / sizeof(arrays[0]); i++)
      bad |=
          check_all(jr, arrays[i], arrays[i], strlen(arrays[i]), "$[*]", fr);
    jscan_free(jr);
    json_decref(fr);
  }
  printf("%sok %d - %zu pages agree with the slow path\n", bad ? "not " : "",
         ++test, sizeof(pages) / sizeof(pages[0]) + 6);
  failed |= bad;

  /* Nesting at jansson's limit: the record's "v" starts at depth 4. */
  bad = 0;
  {
    static const struct {
      size_t levels;
      const char *inner;
    } d[] = {{2044, "1"}, {2045, "1"}, {2045, ""}, {2046, ""}, {3000, ""}};

    for (i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
      size_t n;
      char *p = deep(d[i].levels, d[i].inner, &n);
      char label[64];

      snprintf(label, sizeof(label), "%zu levels around '%s'", d[i].levels,
               d[i].inner);
      bad |= !p || check_all(js, label, p, n, "$.data[*]", fields);
      free(p);
    }
  }
  printf("%sok %d - nesting at the depth limit\n", bad ? "not " : "", ++test);
  failed |= bad;

  /* Wide objects: repeated keys found through the hash set. */
  bad = 0;
  {
    static const struct {
      int keys, dup, esc;
    } w[] = {{15, 3, 0},   {16, -1, 0},  {16, 15, 0},  {17, 16, 1},
             {40, 20, 0},  {40, -1, 0},  {64, 63, 1},  {300, 299, 0},
             {300, -1, 0}, {3000, 7, 1}, {3000, -1, 0}};
    struct buf b = BUF_INIT;
    char label[64];

    for (i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
      snprintf(label, sizeof(label), "%d keys, repeated %d", w[i].keys,
               w[i].dup);
      bad |= wide(&b, w[i].keys, w[i].dup, w[i].esc) ||
             check_all(js, label, b.data, b.len, "$.data[*]", fields);
    }
    buf_free(&b);
  }
  printf("%sok %d - wide objects, with and without a repeated key\n",
         bad ? "not " : "", ++test);
  failed |= bad;

  bad = reals(300000);
  printf("%sok %d - 300000 reals written as Python's repr\n",
         bad ? "not " : "", ++test);
  failed |= bad;

  for (int a = 1; a < argc; a++) {
    size_t len;
    char *data;

    if (strcmp(argv[a], "-r") == 0 && a + 1 < argc) {
      /* The files after it hold their records at another path. */
      records = argv[++a];
      jscan_free(js);
      js = NULL;
      json_decref(fields);
      fields = fields_for(records);
      if (jscan_new(records, fields, &js, &err)) {
        printf("Bail out! jscan_new(%s): %s\n", records, err.message);
        return 1;
      }
      continue;
    }
    data = read_file(argv[a], &len);
    bad = !data;
    if (data) {
      bad |= check_all(js, argv[a], data, len, records, fields);
      /* Cut short: every truncation is refused as jansson refuses it. */
      for (size_t k = 1; k <= 7 && !bad; k++)
        bad |= check_all(js, "truncated", data, len * k / 8, records, fields);
    }
    printf("%sok %d - %s %s (%zu bytes) and truncations agree\n",
           bad ? "not " : "", ++test, records, argv[a], data ? len : 0);
    failed |= bad;
    free(data);
  }
  jscan_free(js);
  json_decref(fields);
  return failed;
}
