/* jscan_ref.h - the slow path as a reference for host/jscan.c: jansson
 * parses the page, the host's JSONPath selects the records and fields,
 * and the host's own emitters write them. Shared by tests/jscan_diff.c
 * and tests/fuzz_jscan.c (static functions: include it once). */
#ifndef INTEG_TESTS_JSCAN_REF_H
#define INTEG_TESTS_JSCAN_REF_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "emit.h"
#include "jscan.h"
#include "jsonpath.h"

#define REF_STREAM "items"
#define REF_NAMESPACE "ns"
#define REF_NOW 1700000000123LL

/* What the slow path makes of a page. */
struct ref {
  int rc;         /* 0, INTEG_EINVAL, INTEG_ENOTSUP (duplicate key) or
                     INTEG_EPLUGIN (a record that is not an object) */
  size_t bad;     /* INTEG_EPLUGIN: the record's index */
  struct buf out; /* rc 0: the emitters' bytes */
  json_t *fields; /* rc 0: emit_batch's "fields" */
  char why[200];  /* jansson's error text */
};

/* A projection, as a catalog's (NULL: none): the records' top-level
 * members whose names are keys of ref_keep. */
static json_t *ref_keep;

static int ref_keeps(const void *keep, const char *name, size_t len)
{
  return json_object_getn((json_t *)keep, name, len) != NULL;
}

static void ref_free(struct ref *r)
{
  buf_free(&r->out);
  json_decref(r->fields);
  r->fields = NULL;
}

static json_t *ref_eval(json_t *doc, const char *q, int *singular)
{
  struct jsonpath *jp = NULL;
  struct jsonpath_nodes nodes = {0, NULL, NULL};
  json_t *out = NULL;

  if (jsonpath_compile(q, strlen(q), &jp, NULL) ||
      jsonpath_eval(jp, doc, 0, &nodes, NULL))
    goto out;
  *singular = jsonpath_is_singular(jp);
  out = json_array();
  for (size_t i = 0; out && i < nodes.n; i++)
    json_array_append(out, nodes.values[i]);
out:
  jsonpath_nodes_free(&nodes);
  jsonpath_free(jp);
  return out;
}

/* The slow path: 0 when the reference could be computed. */
static int ref_page(const char *page, size_t len, const char *records,
                    json_t *fields, enum emit_format fmt, struct ref *r)
{
  struct integ_error err;
  json_error_t jerr;
  struct emit *e = NULL;
  json_t *doc, *recs;
  const char *name;
  json_t *q;
  int singular, rc = -1;

  memset(r, 0, sizeof(*r));
  /* Once with duplicates refused: jansson stops at the first problem in
   * document order, as the scanner does. */
  doc = json_loadb(page, len,
                   JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES,
                   &jerr);
  if (!doc) {
    r->rc = json_error_code(&jerr) == json_error_duplicate_key ? INTEG_ENOTSUP
                                                               : INTEG_EINVAL;
    snprintf(r->why, sizeof(r->why), "byte %d: %s", jerr.position, jerr.text);
    return 0;
  }
  recs = ref_eval(doc, records, &singular);
  if (!recs)
    goto out;
  for (size_t i = 0; i < json_array_size(recs); i++)
    if (!json_is_object(json_array_get(recs, i))) {
      r->rc = INTEG_EPLUGIN;
      r->bad = i;
      rc = 0;
      goto out;
    }
  if (emit_new(fmt, &e, &err))
    goto out;
  for (size_t i = 0; i < json_array_size(recs); i++) {
    json_t *rec = json_array_get(recs, i);
    int w;

    if (ref_keep) {
      /* catalog_project's way: a copy without the others */
      json_t *copy = json_copy(rec), *v;
      const char *k;
      void *tmp;

      json_object_foreach_safe(rec, tmp, k, v)
      {
        if (!json_object_get(ref_keep, k))
          json_object_del(copy, k);
      }
      json_array_set_new(recs, i, copy);
      rec = copy;
    }
    if (fmt == EMIT_SINGER)
      w = emit_singer_record(&r->out, REF_STREAM, rec, REF_NOW, &err);
    else if (fmt == EMIT_AIRBYTE)
      w = emit_airbyte_record(&r->out, REF_STREAM, REF_NAMESPACE, rec, REF_NOW,
                              &err);
    else
      w = emit_record(e, &r->out, REF_STREAM, rec, REF_NOW, &err);
    if (w) {
      fprintf(stderr, "reference emitter failed: %s\n", err.message);
      goto out;
    }
  }
  r->fields = json_object();
  json_object_foreach(fields, name, q)
  {
    json_t *all = ref_eval(doc, json_string_value(q), &singular);

    if (!all)
      goto out;
    if (singular) {
      json_t *v = json_array_size(all) ? json_array_get(all, 0) : json_null();

      json_object_set(r->fields, name, v);
      json_decref(all);
    } else {
      json_object_set_new(r->fields, name, all);
    }
  }
  rc = 0;
out:
  emit_free(e);
  json_decref(recs);
  json_decref(doc);
  return rc;
}

/* Where two byte strings first differ, shown around that point. */
static void ref_show_diff(const char *what, const char *a, size_t alen,
                          const char *b, size_t blen)
{
  size_t i = 0, from;

  while (i < alen && i < blen && a[i] == b[i])
    i++;
  from = i > 40 ? i - 40 : 0;
  printf("# %s: first difference at byte %zu (lengths %zu, %zu)\n", what, i,
         alen, blen);
  printf("#   expected: %.*s\n",
         (int)((alen - from) > 100 ? 100 : alen - from), a + from);
  printf("#   got:      %.*s\n",
         (int)((blen - from) > 100 ? 100 : blen - from), b + from);
}

/* Scan page with js in format fmt (flags extra: JSCAN_STRICT_INT or 0) and
 * compare with the reference. Returns 0 when they agree; prints why not.
 * A page jansson refuses only for a big integer is skipped without
 * JSCAN_STRICT_INT (the scanner passes such integers through).
 * *accepted (may be NULL) says whether the slow path took the page. */
static int ref_check(struct jscan *js, const char *label, const char *page,
                     size_t len, const char *records, json_t *fields,
                     enum emit_format fmt, unsigned extra, int *accepted)
{
  struct buf fb = BUF_INIT, out = BUF_INIT;
  struct jscan_frame frame;
  struct jscan_result res;
  struct integ_error err = {0, ""};
  struct ref r;
  char *exact;
  int rc, bad = 0;

  if (ref_page(page, len, records, fields, fmt, &r)) {
    printf("# %s: the reference failed\n", label);
    return 1;
  }
  if (accepted)
    *accepted = r.rc == 0;
  if (!(extra & JSCAN_STRICT_INT) && r.rc == INTEG_EINVAL &&
      strstr(r.why, "too big")) {
    ref_free(&r);
    return 0;
  }
  jscan_frame_make(&fb, fmt, REF_STREAM,
                   fmt == EMIT_AIRBYTE ? REF_NAMESPACE : NULL, REF_NOW,
                   &frame);
  /* Something before: the page must be appended, and undone whole. */
  buf_append(&out, "KEEP", 4);
  /* The page in a block of its exact size, so the sanitizer sees any read
   * past its end. */
  exact = malloc(len ? len : 1);
  if (!exact) {
    printf("# %s: out of memory\n", label);
    return 1;
  }
  memcpy(exact, page, len);
  if (ref_keep)
    jscan_set_project(js, ref_keeps, ref_keep);
  rc = jscan_page(js, exact, len, jscan_format_flags(fmt) | extra, &frame,
                  &out, &res, &err);
  jscan_set_project(js, NULL, NULL);
  free(exact);
  if (rc != r.rc) {
    printf("# %s (%s): slow path %d (%s), scanner %d (%s)\n", label,
           emit_format_name(fmt), r.rc, r.why, rc, err.message);
    bad = 1;
  } else if (rc == INTEG_EPLUGIN && res.record != r.bad) {
    printf("# %s: bad record %zu, scanner says %zu\n", label, r.bad,
           res.record);
    bad = 1;
  } else if (rc == 0) {
    if (out.len - 4 != r.out.len ||
        memcmp(out.data + 4, r.out.data ? r.out.data : "", r.out.len)) {
      ref_show_diff(label, r.out.data ? r.out.data : "", r.out.len,
                    out.data + 4, out.len - 4);
      bad = 1;
    }
    if (!json_equal(res.fields, r.fields)) {
      char *a = json_dumps(r.fields, JSON_ENCODE_ANY | JSON_COMPACT);
      char *b = json_dumps(res.fields, JSON_ENCODE_ANY | JSON_COMPACT);

      printf(
          "# %s: fields differ:\n#   expected %.300s\n#   got      %.300s\n",
          label, a ? a : "?", b ? b : "?");
      free(a);
      free(b);
      bad = 1;
    }
  }
  if (rc && (out.len != 4 || memcmp(out.data, "KEEP", 4))) {
    printf("# %s: a refused page left bytes in the buffer\n", label);
    bad = 1;
  }
  json_decref(res.fields);
  buf_free(&out);
  buf_free(&fb);
  ref_free(&r);
  return bad;
}

#endif
