/* jscan.h - one pass over a page's JSON bytes: find the records a simple
 * JSONPath selects, validate them as jansson would, and write each one
 * straight into an output buffer in the bytes jsonw.c would write for it
 * (so the emitters' output stays byte-identical), inside a per-format
 * frame. No jansson tree is built for a record the host only passes
 * through; the values of a few requested fields (a cursor, ids) are
 * returned as json_t.
 *
 * Supported paths (anything else is INTEG_ENOTSUP: use the slow path):
 *  - records: a chain of member names, then a wildcard: $[*], $.data[*],
 *    $.a.b[*], $['a'].b.*;
 *  - fields: a chain of member names from the root ($.next_cursor,
 *    $.meta.next, $, singular) that does not branch off the records'
 *    container; or the records path followed by member names
 *    ($.data[*].id, $.data[*].a.b; non-singular: an array).
 *
 * What the scanner accepts and refuses is what json_loadb(JSON_DECODE_ANY
 * | JSON_ALLOW_NUL) of jansson 2.14 accepts and refuses (strict UTF-8, no
 * lone surrogate escapes, no NUL in keys, nesting up to 2048 values deep,
 * nothing after the value), except that without JSCAN_STRICT_INT an
 * integer beyond int64 is data: its text passes through unchanged (Python
 * keeps such integers exact, so singer-sdk writes the same digits). Only a
 * field that needs its value refuses it.
 *
 * Around that, per call: span fields and a record hook (a cursor reads
 * each record's value and keys as bytes and may take a record back out;
 * a mapping writes each record anew from its values' bytes), and a
 * projection (a catalog's field selection, on the bytes).
 *
 * Output, for every page the slow path accepts, is byte for byte what
 * jsonw_value(record, flags) writes: whitespace dropped, strings
 * re-escaped (JSCAN_ASCII: ensure_ascii, as Singer), integers as their
 * text ("-0" as "0"), reals as Python's repr (jsonw_format_real), keys in
 * document order. jansson keeps the position of a duplicated key but the
 * value of its last occurrence; rather than rewrite what it already wrote,
 * the scanner returns INTEG_ENOTSUP ("fall back") for a page with a
 * duplicated key in any object.
 */
#ifndef INTEG_HOST_JSCAN_H
#define INTEG_HOST_JSCAN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <integ/plugin.h>

#include "buf.h"
#include "emit.h"

/* Escape non-ASCII and DEL as \uXXXX (the same bit as JSONW_ASCII). */
#define JSCAN_ASCII 0x1u
/* Refuse integers beyond int64, as jansson does. */
#define JSCAN_STRICT_INT 0x2u

/* Deepest value, counting the page's root as 1 (jansson's limit). */
#define JSCAN_MAX_DEPTH 2048

/* A compiled records path and fields. Immutable once compiled, but
 * jscan_page uses scratch space in it: one page at a time per struct. */
struct jscan;

/* Compile `records` and `fields` (borrowed, NULL or an object
 * {NAME: JSONPATH, ...}, as emit_batch takes them). Returns 0 and a new
 * *out (free with jscan_free); INTEG_ENOTSUP when a path has a shape the
 * scanner does not handle (err says which: the caller uses the slow path
 * for these paths); INTEG_EINVAL for a query that is not JSONPath or a
 * field that is not a string; INTEG_ENOMEM. */
int jscan_new(const char *records, json_t *fields, struct jscan **out,
              struct integ_error *err);
void jscan_free(struct jscan *js);

/* The bytes written before and after each record (borrowed). */
struct jscan_frame {
  const char *head;
  size_t head_len;
  const char *tail;
  size_t tail_len;
};

/* Build into b (reset first) the frame emit_record writes around a
 * record in `format` (emit.h): Singer's RECORD message with
 * time_extracted for now_ms, Airbyte's RECORD with emitted_at = now_ms and
 * namespace (NULL: left out), or JSONL's bare line. f points into b: keep
 * b unchanged while f is in use. Returns 0 or INTEG_ENOMEM/INTEG_EINVAL
 * (stream not UTF-8). */
int jscan_frame_make(struct buf *b, enum emit_format format,
                     const char *stream, const char *namespace, int64_t now_ms,
                     struct jscan_frame *f);
/* The jscan flags for a format's record bytes. */
unsigned jscan_format_flags(enum emit_format format);

/* Span fields. A field whose name starts with JSCAN_SPAN and then a
 * decimal slot (JSCAN_SPAN "0", JSCAN_SPAN "1", ...), whose path is the
 * records path and one or more member names, is not returned in fields:
 * per record, its value's bytes are handed to the record hook in slot
 * spans[N], both as they stand in the page and as they were written. */
#define JSCAN_SPAN "\002"
#define JSCAN_SPANS_MAX 64

struct jscan_span {
  size_t off, len;  /* in the page; len 0: the record has no such value */
  size_t out, olen; /* as written: in jscan_rec.bytes (olen 0: not
                       written, a projection dropped it) */
};

/* One record as the hook sees it (all borrowed, valid during the call). */
struct jscan_rec {
  const char *page;               /* the page */
  const struct jscan_span *spans; /* as many as the slots compiled */
  const char *bytes;              /* the record object as written, without
                                     its frame */
  size_t len;
};

/* Called after each record (an object) is written to out, before its
 * frame's tail. Set *drop to take the record's bytes back out (it then
 * counts in res->dropped, not res->records); or write to repl (empty on
 * entry) the bytes that replace the record's object inside its frame (a
 * mapping). A non-zero return (an INTEG_E* code, err set) fails the page,
 * and the hook is not called again for it: the rest of the page is still
 * scanned, and unless it is not JSON or holds a record that is not an
 * object (those errors come first), jscan_page returns the hook's code
 * with res->hook set. */
typedef int (*jscan_hook)(void *arg, const struct jscan_rec *r,
                          struct buf *repl, int *drop,
                          struct integ_error *err);

/* Set (fn NULL: clear) the hook of js's next pages. */
void jscan_set_hook(struct jscan *js, jscan_hook fn, void *arg);

/* Projection: keep a record's top-level member only when keep says 1 for
 * its name (decoded, len bytes). The others are scanned (the page must
 * still be valid) but not written, as catalog_project drops them. */
typedef int (*jscan_keep)(const void *arg, const char *name, size_t len);

/* Set (fn NULL: clear) the projection of js's next pages. */
void jscan_set_project(struct jscan *js, jscan_keep fn, const void *arg);

/* A value's bytes from a page (validated by the scanner) as a new json_t
 * in *out, as jansson would read it. Returns 0; INTEG_EINVAL for an
 * integer beyond int64 (no json_t holds it); INTEG_ENOMEM. */
int jscan_value(const char *p, size_t len, json_t **out);

/* What one page gave. */
struct jscan_result {
  size_t records; /* records written */
  size_t dropped; /* records the hook dropped */
  int hook;       /* the failure is the hook's */
  size_t offset;  /* on failure: byte offset in the page of the problem */
  size_t record;  /* INTEG_EPLUGIN: index of the record that is not an
                     object */
  json_t *fields; /* on success: new reference, {NAME: value} as emit_batch
                     returns them (a singular path: its value or null; else
                     an array of values in document order) */
};

/* Scan the page json[0..len) once: write frame->head, the record's bytes
 * and frame->tail to out for each record, and collect the fields.
 * Returns 0; INTEG_EINVAL when the page is not JSON as jansson reads it,
 * or a field's value is an integer beyond int64 (err says what, at which
 * byte; res->offset holds it); INTEG_EPLUGIN when a selected record is
 * not an object (found before anything is written: res->record); INTEG_ENOTSUP
 * when the page holds a duplicated key (use the slow path);
 * INTEG_ENOMEM. On any failure out is back at its length on entry: a page
 * is written whole or not at all. */
int jscan_page(struct jscan *js, const char *json, size_t len, unsigned flags,
               const struct jscan_frame *frame, struct buf *out,
               struct jscan_result *res, struct integ_error *err);

#endif
