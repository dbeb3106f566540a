/* jscan.c - single-pass JSON page scanner (see jscan.h). */
#include "config.h"

#include <errno.h>
#include <math.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "jscan.h"
#include "jsonpath.h"
#include "jsonw.h"

/* ------------------------------------------------------------ plan */

static inline uint64_t key_bit(const unsigned char *k, size_t n);

/* A node of the plan: a place in the page reached by member names from
 * the root. */
struct node {
  char *name; /* owned member name (decoded), NULL for root and records */
  size_t nlen;
  uint64_t kids; /* key_bit of every member child's name */
  int child;     /* first member child, or -1 */
  int sib;       /* next sibling, or -1 */
  int wild;      /* the records node when this is the records' container */
  int field;     /* first field whose value is here, or -1 */
};

struct field {
  char *name;    /* owned */
  int singular;  /* from the root: one value or null */
  int next_same; /* next field at the same node, or -1 */
  int span;      /* a span field's slot (jscan.h), or -1 */
  json_t *val;   /* during a page: the value (singular) or array */
};

/* A key seen in the object being scanned, for duplicate detection. */
struct key {
  const unsigned char *p; /* in the page, or NULL: at off in the arena */
  size_t off, len;
};

struct jscan {
  struct node *nodes;
  size_t nnodes, ncap;
  struct field *fields;
  size_t nfields;
  int record_node;
  /* Scratch, reused from page to page. */
  struct buf scratch; /* output of the page outside records (discarded) */
  struct buf arena;   /* decoded keys that held escapes */
  struct key *keys;
  size_t nkeys, kcap;
  /* Hash sets of the keys of wide objects, one per depth (reused). */
  struct kset *sets;
  size_t nsets;
  /* Span fields: per record, the bytes of each slot's value. */
  struct jscan_span spans[JSCAN_SPANS_MAX];
  size_t nspans;
  jscan_hook hook;
  void *hook_arg;
  struct buf repl; /* what the hook writes in place of a record */
  jscan_keep keep;
  const void *keep_arg;
};

/* The keys of one object with more than KSET_FROM keys, so that finding a
 * repeated key stays linear in the object's size: slots hold an index into
 * jscan.keys, valid when their generation is the set's current one. */
struct kset {
  uint32_t *gen;
  size_t *idx;
  size_t cap, n;
  uint32_t cur;
};

#define KSET_FROM 16

static int node_add(struct jscan *js, const char *name, size_t nlen)
{
  struct node *n;

  if (js->nnodes == js->ncap) {
    size_t cap = js->ncap ? js->ncap * 2 : 8;
    struct node *p = realloc(js->nodes, cap * sizeof(*p));

    if (!p)
      return -1;
    js->nodes = p;
    js->ncap = cap;
  }
  n = &js->nodes[js->nnodes];
  memset(n, 0, sizeof(*n));
  n->child = n->sib = n->wild = n->field = -1;
  if (name) {
    n->name = malloc(nlen + 1);
    if (!n->name)
      return -1;
    memcpy(n->name, name, nlen);
    n->name[nlen] = '\0';
    n->nlen = nlen;
  }
  return (int)js->nnodes++;
}

/* One parsed segment: a member name, or a wildcard (name NULL). */
struct seg {
  const char *name;
  size_t len;
};

#define MAX_SEGS 32

/* Parse the subset of JSONPath the scanner handles: $ then .name,
 * ['name'], ["name"], [*] or .*. 0, or INTEG_ENOTSUP. Names point into q. */
static int parse_path(const char *q, struct seg *segs, size_t *n)
{
  const char *p = q;

  *n = 0;
  if (*p++ != '$')
    return INTEG_ENOTSUP;
  while (*p) {
    struct seg sg = {NULL, 0};

    if (*n == MAX_SEGS)
      return INTEG_ENOTSUP;
    if (p[0] == '.' && p[1] == '*') {
      p += 2;
    } else if (p[0] == '.') {
      const char *s = ++p;

      /* member-name-shorthand: jsonpath_compile checked the UTF-8 */
      while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
             (*p >= '0' && *p <= '9') || *p == '_' || (*p & 0x80))
        p++;
      if (p == s)
        return INTEG_ENOTSUP;
      sg.name = s;
      sg.len = (size_t)(p - s);
    } else if (p[0] == '[' && p[1] == '*' && p[2] == ']') {
      p += 3;
    } else if (p[0] == '[' && (p[1] == '\'' || p[1] == '"')) {
      char quote = p[1];
      const char *s = p + 2;

      p = s;
      while (*p && *p != quote && *p != '\\')
        p++;
      if (*p != quote || p[1] != ']')
        return INTEG_ENOTSUP;
      sg.name = s;
      sg.len = (size_t)(p - s);
      p += 2;
    } else {
      return INTEG_ENOTSUP;
    }
    segs[(*n)++] = sg;
  }
  return 0;
}

/* The member child of node named name, created when missing (-1: no
 * memory). */
static int child_of(struct jscan *js, int node, const char *name, size_t len)
{
  int c, k;

  for (c = js->nodes[node].child; c >= 0; c = js->nodes[c].sib)
    if (js->nodes[c].nlen == len && !memcmp(js->nodes[c].name, name, len))
      return c;
  k = node_add(js, name, len);
  if (k < 0)
    return -1;
  js->nodes[k].sib = js->nodes[node].child;
  js->nodes[node].child = k;
  js->nodes[node].kids |= key_bit((const unsigned char *)name, len);
  return k;
}

static int check_query(const char *q, struct integ_error *err)
{
  struct jsonpath *jp = NULL;
  int rc = jsonpath_compile(q, strlen(q), &jp, err);

  jsonpath_free(jp);
  return rc;
}

static int add_records(struct jscan *js, const char *q,
                       struct integ_error *err)
{
  struct seg segs[MAX_SEGS];
  size_t n, i;
  int node = 0, rc;

  rc = check_query(q, err);
  if (rc)
    return rc;
  if (parse_path(q, segs, &n) || n == 0 || segs[n - 1].name)
    goto unsupported;
  for (i = 0; i + 1 < n; i++)
    if (!segs[i].name)
      goto unsupported;
  for (i = 0; i + 1 < n; i++)
    if ((node = child_of(js, node, segs[i].name, segs[i].len)) < 0)
      return error_set(err, INTEG_ENOMEM, "out of memory");
  if ((js->record_node = node_add(js, NULL, 0)) < 0)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  js->nodes[node].wild = js->record_node;
  return 0;
unsupported:
  return error_set(err, INTEG_ENOTSUP,
                   "records path '%s': the scanner handles member names "
                   "followed by one [*]",
                   q);
}

/* Is this node the records' container, or on the way to it? */
static int records_container(const struct jscan *js, int node)
{
  return js->nodes[node].wild >= 0;
}

static int add_field(struct jscan *js, const char *name, const char *q,
                     const char *records, struct integ_error *err)
{
  struct seg segs[MAX_SEGS], rsegs[MAX_SEGS];
  size_t n, rn, i, from = 0, wilds = 0;
  int node = 0, rc;
  struct field *f;

  rc = check_query(q, err);
  if (rc) {
    error_prefix(err, "field '%s'", name);
    return rc;
  }
  if (parse_path(q, segs, &n))
    goto unsupported;
  for (i = 0; i < n; i++)
    wilds += !segs[i].name;
  if (wilds > 1)
    goto unsupported;
  if (wilds == 1) {
    /* The records path, then member names. */
    if (parse_path(records, rsegs, &rn) || n < rn)
      goto unsupported;
    for (i = 0; i < rn; i++)
      if (!segs[i].name != !rsegs[i].name ||
          (segs[i].name && (segs[i].len != rsegs[i].len ||
                            memcmp(segs[i].name, rsegs[i].name, segs[i].len))))
        goto unsupported;
    node = js->record_node;
    from = rn;
  }
  for (i = from; i < n; i++) {
    /* A member of the records' container would be a record too (when it
     * is an object) and a field: not handled. */
    if (records_container(js, node))
      goto unsupported;
    if ((node = child_of(js, node, segs[i].name, segs[i].len)) < 0)
      return error_set(err, INTEG_ENOMEM, "out of memory");
  }
  f = &js->fields[js->nfields];
  f->span = -1;
  if (name[0] == JSCAN_SPAN[0]) {
    char *end;
    unsigned long slot = strtoul(name + 1, &end, 10);

    /* Below the records: the hook runs when their record is done. */
    if (wilds != 1 || n == from || end == name + 1 || *end ||
        slot >= JSCAN_SPANS_MAX)
      goto unsupported;
    f->span = (int)slot;
    if (js->nspans <= slot)
      js->nspans = slot + 1;
  }
  f->name = strdup(name);
  if (!f->name)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  f->singular = wilds == 0;
  f->next_same = js->nodes[node].field;
  js->nodes[node].field = (int)js->nfields++;
  return 0;
unsupported:
  return error_set(err, INTEG_ENOTSUP,
                   "field '%s' path '%s': the scanner handles member names "
                   "from the root, or the records path and member names",
                   name, q);
}

int jscan_new(const char *records, json_t *fields, struct jscan **out,
              struct integ_error *err)
{
  struct jscan *js = calloc(1, sizeof(*js));
  const char *name;
  json_t *q;
  int rc;

  *out = NULL;
  if (!js || node_add(js, NULL, 0) < 0 ||
      !(js->fields =
            calloc(json_object_size(fields) + 1, sizeof(*js->fields)))) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  rc = add_records(js, records, err);
  if (rc)
    goto out;
  json_object_foreach(fields, name, q)
  {
    if (!json_is_string(q)) {
      rc = error_set(err, INTEG_EINVAL, "field '%s' is not a JSONPath string",
                     name);
      goto out;
    }
    rc = add_field(js, name, json_string_value(q), records, err);
    if (rc)
      goto out;
  }
  *out = js;
  js = NULL;
out:
  jscan_free(js);
  return rc;
}

void jscan_free(struct jscan *js)
{
  size_t i;

  if (!js)
    return;
  for (i = 0; i < js->nnodes; i++)
    free(js->nodes[i].name);
  free(js->nodes);
  for (i = 0; js->fields && i < js->nfields; i++) {
    free(js->fields[i].name);
    json_decref(js->fields[i].val);
  }
  free(js->fields);
  buf_free(&js->scratch);
  buf_free(&js->repl);
  buf_free(&js->arena);
  free(js->keys);
  for (i = 0; i < js->nsets; i++) {
    free(js->sets[i].gen);
    free(js->sets[i].idx);
  }
  free(js->sets);
  free(js);
}

/* ---------------------------------------------------------- frames */

unsigned jscan_format_flags(enum emit_format format)
{
  return format == EMIT_SINGER ? JSCAN_ASCII : 0;
}

#define LIT(s) s, sizeof(s) - 1

int jscan_frame_make(struct buf *b, enum emit_format format,
                     const char *stream, const char *namespace, int64_t now_ms,
                     struct jscan_frame *f)
{
  char t[EMIT_TIME_MAX];
  size_t head = 0;
  int rc = 0;

  buf_reset(b);
  switch (format) {
  case EMIT_SINGER:
    emit_singer_time(now_ms, t, sizeof(t));
    if ((rc = buf_append(b, LIT("{\"type\":\"RECORD\",\"stream\":"))) ||
        (rc = jsonw_string(b, stream, strlen(stream), JSONW_ASCII)) ||
        (rc = buf_append(b, LIT(",\"record\":"))))
      break;
    head = b->len;
    if ((rc = buf_append(b, LIT(",\"time_extracted\":\""))) ||
        (rc = buf_appends(b, t)) || (rc = buf_append(b, LIT("\"}\n"))))
      break;
    break;
  case EMIT_AIRBYTE:
    if ((rc = buf_append(b, LIT("{\"type\":\"RECORD\",\"record\":"
                                "{\"stream\":"))) ||
        (rc = jsonw_string(b, stream, strlen(stream), 0)) ||
        (rc = buf_append(b, LIT(",\"data\":"))))
      break;
    head = b->len;
    if ((rc = buf_append(b, LIT(",\"emitted_at\":"))) ||
        (rc = jsonw_integer(b, now_ms)))
      break;
    if (namespace && ((rc = buf_append(b, LIT(",\"namespace\":"))) ||
                      (rc = jsonw_string(b, namespace, strlen(namespace), 0))))
      break;
    rc = buf_append(b, LIT("}}\n"));
    break;
  case EMIT_JSONL:
    rc = buf_append(b, LIT("\n"));
    break;
  }
  if (rc)
    return rc;
  f->head = b->data;
  f->head_len = head;
  f->tail = b->data + head;
  f->tail_len = b->len - head;
  return 0;
}

/* --------------------------------------------------------- scanner */

struct scan {
  const unsigned char *p, *start, *end;
  unsigned flags;
  struct jscan *js;
  const struct jscan_frame *frame;
  struct buf *out; /* the caller's buffer */
  struct buf *ob;  /* where writes go now: out, or js->scratch */
  char *o, *oend;  /* write position in ob, end of its room */
  size_t records;  /* records written */
  size_t seen;     /* records selected (objects or not) */
  size_t bad;      /* first selected record that is not an object */
  size_t dropped;  /* records the hook took back */
  int have_bad;
  size_t rec_obj;          /* where the record object being written starts */
  int hook_rc;             /* the hook's failure (its code), or 0 */
  struct integ_error *err; /* the hook's error */
  const char *what;        /* error text */
  size_t err_at;           /* error offset */
  int code;                /* error code */
  const char *field;       /* field named by a field error */
};

/* Failure codes inside the scanner, turned into INTEG_E* at the end. */
#define FAIL_SYNTAX 1
#define FAIL_NOMEM 2
#define FAIL_DUP 3
#define FAIL_FIELD 4
#define FAIL_HOOK 5

static int syntax(struct scan *s, const unsigned char *at, const char *what)
{
  s->what = what;
  s->err_at = (size_t)(at - s->start);
  s->code = FAIL_SYNTAX;
  return FAIL_SYNTAX;
}

static int nomem(struct scan *s)
{
  s->code = FAIL_NOMEM;
  return FAIL_NOMEM;
}

/* Make room for n more bytes at s->o (one more is kept for a NUL). */
static int grow(struct scan *s, size_t n)
{
  struct buf *b = s->ob;

  b->len = (size_t)(s->o - b->data);
  /* Nothing written to the scratch buffer is ever read back. */
  if (b == &s->js->scratch && b->len > 65536)
    b->len = 0;
  if (buf_reserve(b, n + 1))
    return nomem(s);
  s->o = b->data + b->len;
  s->oend = b->data + b->cap - 1;
  return 0;
}

static inline int room(struct scan *s, size_t n)
{
  if ((size_t)(s->oend - s->o) >= n)
    return 0;
  return grow(s, n);
}

static void switch_to(struct scan *s, struct buf *b)
{
  s->ob->len = (size_t)(s->o - s->ob->data);
  s->ob = b;
  s->o = b->data + b->len;
  s->oend = b->cap ? b->data + b->cap - 1 : s->o;
}

static void skip_ws_slow(struct scan *s)
{
  const unsigned char *p = s->p, *end = s->end;

  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
    p++;
  s->p = p;
}

/* Pages are mostly compact: one compare when there is no whitespace. */
static inline void skip_ws(struct scan *s)
{
  if (s->p<s->end && * s->p> ' ')
    return;
  skip_ws_slow(s);
}

static const char hexd[] = "0123456789abcdef";

static inline char *put_u(char *o, uint32_t u)
{
  o[0] = '\\';
  o[1] = 'u';
  o[2] = hexd[(u >> 12) & 0xf];
  o[3] = hexd[(u >> 8) & 0xf];
  o[4] = hexd[(u >> 4) & 0xf];
  o[5] = hexd[u & 0xf];
  return o + 6;
}

/* Write code point cp as jsonw_string would (at most 12 bytes). */
static inline char *put_cp(char *o, uint32_t cp, int ascii)
{
  if (cp < 0x20) {
    static const char named[32] = {0, 0,   0,   0, 0, 0, 0, 0, 'b', 't', 'n',
                                   0, 'f', 'r', 0, 0, 0, 0, 0, 0,   0,   0,
                                   0, 0,   0,   0, 0, 0, 0, 0, 0,   0};
    if (named[cp]) {
      o[0] = '\\';
      o[1] = named[cp];
      return o + 2;
    }
    return put_u(o, cp);
  }
  if (cp == '"' || cp == '\\') {
    o[0] = '\\';
    o[1] = (char)cp;
    return o + 2;
  }
  if (cp < 0x7f) {
    *o = (char)cp;
    return o + 1;
  }
  if (ascii) {
    if (cp < 0x10000)
      return put_u(o, cp);
    cp -= 0x10000;
    o = put_u(o, 0xd800 | (cp >> 10));
    return put_u(o, 0xdc00 | (cp & 0x3ff));
  }
  if (cp < 0x80) {
    *o = (char)cp;
    return o + 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xc0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3f));
    return o + 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xe0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (char)(0x80 | (cp & 0x3f));
    return o + 3;
  }
  o[0] = (char)(0xf0 | (cp >> 18));
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
  o[3] = (char)(0x80 | (cp & 0x3f));
  return o + 4;
}

/* Strict UTF-8 (as jansson's utf8_check_full): the length of the
 * character at p (its lead byte >= 0x80) and *cp, or 0. */
static inline size_t utf8_char(const unsigned char *p,
                               const unsigned char *end, uint32_t *cp)
{
  unsigned c = p[0];
  size_t left = (size_t)(end - p);

  if (c >= 0xc2 && c <= 0xdf) {
    if (left < 2 || (p[1] & 0xc0) != 0x80)
      return 0;
    *cp = (c & 0x1fu) << 6 | (p[1] & 0x3fu);
    return 2;
  }
  if (c >= 0xe0 && c <= 0xef) {
    uint32_t v;

    if (left < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
      return 0;
    v = (c & 0xfu) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu);
    if (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))
      return 0;
    *cp = v;
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    uint32_t v;

    if (left < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
        (p[3] & 0xc0) != 0x80)
      return 0;
    v = (c & 0x7u) << 18 | (p[1] & 0x3fu) << 12 | (p[2] & 0x3fu) << 6 |
        (p[3] & 0x3fu);
    if (v < 0x10000 || v > 0x10ffff)
      return 0;
    *cp = v;
    return 4;
  }
  return 0;
}

static inline int hexval(unsigned c)
{
  if (c >= '0' && c <= '9')
    return (int)(c - '0');
  c |= 0x20;
  if (c >= 'a' && c <= 'f')
    return (int)(c - 'a' + 10);
  return -1;
}

/* The four hex digits after "\u" at p (p + 4 <= end checked by caller),
 * or -1. */
static inline int32_t hex4(const unsigned char *p)
{
  int a = hexval(p[0]), b = hexval(p[1]), c = hexval(p[2]), d = hexval(p[3]);

  if ((a | b | c | d) < 0)
    return -1;
  return (int32_t)(a << 12 | b << 8 | c << 4 | d);
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Bytes of x that copy as they are: anything but '"', '\\', controls,
 * DEL and non-ASCII. The lowest set bit marks the first byte that does
 * not (higher bits may be false alarms). */
static inline uint64_t special8(uint64_t x)
{
  uint64_t q = x ^ (ONES * '"'), b = x ^ (ONES * '\\');

  return (((x - ONES * 0x20) & ~x) | ((q - ONES) & ~q) | ((b - ONES) & ~b) |
          x | (x + ONES)) &
         HIGHS;
}

#if defined(__SSE2__)
/* special8 for 16 bytes with SSE2 (every x86-64 has it): a bit per byte
 * that does not copy as it is. */
static inline unsigned special16(const unsigned char *p)
{
  __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
  __m128i q = _mm_cmpeq_epi8(x, _mm_set1_epi8('"'));
  __m128i b = _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'));
  /* x <= 0x1f and x >= 0x7f, unsigned, through max */
  __m128i c = _mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(0x1f)),
                             _mm_set1_epi8(0x1f));
  __m128i h = _mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(0x7f)), x);

  return (unsigned)_mm_movemask_epi8(
      _mm_or_si128(_mm_or_si128(q, b), _mm_or_si128(c, h)));
}
#endif

/* The string whose opening quote is at s->p: validate it and write it
 * re-escaped; s->p ends after the closing quote. *esc says whether it
 * held a backslash. In keys a NUL is refused, as jansson does. */
static int string(struct scan *s, int key, int *esc)
{
  const unsigned char *p = s->p + 1, *end = s->end;
  int ascii = (s->flags & JSCAN_ASCII) != 0;
  char *o;

  *esc = 0;
  if (room(s, 32))
    return FAIL_NOMEM;
  o = s->o;
  *o++ = '"';
  for (;;) {
    unsigned c;

    if (s->oend - o < 32) {
      s->o = o;
      if (grow(s, 256))
        return FAIL_NOMEM;
      o = s->o;
    }
#if defined(__SSE2__)
    if (end - p >= 16) {
      unsigned m = special16(p);

      memcpy(o, p, 16);
      if (!m) {
        p += 16;
        o += 16;
        continue;
      }
      m = (unsigned)__builtin_ctz(m);
      p += m;
      o += m;
    }
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (end - p >= 8) {
      uint64_t x, m;

      memcpy(&x, p, 8);
      memcpy(o, &x, 8);
      m = special8(x);
      if (!m) {
        p += 8;
        o += 8;
        continue;
      }
      m = (unsigned)__builtin_ctzll(m) >> 3;
      p += m;
      o += m;
    }
#endif
    if (p >= end)
      return syntax(s, p, "premature end of input in a string");
    c = *p;
    if (c == '"') {
      p++;
      break;
    }
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      *o++ = (char)c;
      p++;
    } else if (c == '\\') {
      int32_t v, v2;

      *esc = 1;
      if (end - p < 2)
        return syntax(s, p, "premature end of input in a string");
      switch (p[1]) {
      case '"':
      case '\\':
        o[0] = '\\';
        o[1] = (char)p[1];
        o += 2;
        p += 2;
        continue;
      case '/':
        *o++ = '/';
        p += 2;
        continue;
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        o[0] = '\\';
        o[1] = (char)p[1];
        o += 2;
        p += 2;
        continue;
      case 'u':
        break;
      default:
        return syntax(s, p, "invalid escape");
      }
      if (end - p < 6 || (v = hex4(p + 2)) < 0)
        return syntax(s, p, "invalid \\u escape");
      p += 6;
      if (v >= 0xd800 && v <= 0xdbff) {
        if (end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
            (v2 = hex4(p + 2)) < 0 || v2 < 0xdc00 || v2 > 0xdfff)
          return syntax(s, p - 6, "invalid Unicode: a lone surrogate");
        v = ((v - 0xd800) << 10) + (v2 - 0xdc00) + 0x10000;
        p += 6;
      } else if (v >= 0xdc00 && v <= 0xdfff) {
        return syntax(s, p - 6, "invalid Unicode: a lone surrogate");
      } else if (v == 0 && key) {
        return syntax(s, p - 6, "NUL byte in object key not supported");
      }
      o = put_cp(o, (uint32_t)v, ascii);
    } else if (c < 0x20) {
      return syntax(s, p, "control character in a string");
    } else if (c == 0x7f) {
      o = ascii ? put_u(o, 0x7f) : (*o = (char)c, o + 1);
      p++;
    } else {
      uint32_t cp;
      size_t n = utf8_char(p, end, &cp);

      if (!n)
        return syntax(s, p, "invalid UTF-8");
      if (ascii) {
        o = put_cp(o, cp, 1);
      } else {
        memcpy(o, p, n);
        o += n;
      }
      p += n;
    }
  }
  *o++ = '"';
  s->o = o;
  s->p = p;
  return 0;
}

/* string() for the common short string: at most 23 bytes that all copy
 * as they are, found with one to three 8-byte loads and written without
 * a call. Anything else goes to string(). */
static inline int short_string(struct scan *s, int key, int *esc)
{
#if defined(__SSE2__)
  const unsigned char *p = s->p + 1;

  if (s->end - p >= 32 && s->oend - s->o >= 40) {
    for (unsigned at = 0; at < 32; at += 16) {
      unsigned m = special16(p + at);

      if (!m)
        continue;
      at += (unsigned)__builtin_ctz(m);
      if (p[at] != '"')
        break;
      s->o[0] = '"';
      memcpy(s->o + 1, p, 32);
      s->o[at + 1] = '"';
      s->o += at + 2;
      s->p = p + at + 1;
      *esc = 0;
      return 0;
    }
  }
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  const unsigned char *p = s->p + 1;

  if (s->end - p >= 24 && s->oend - s->o >= 32) {
    for (size_t at = 0; at < 24; at += 8) {
      uint64_t x, m;

      memcpy(&x, p + at, 8);
      m = special8(x);
      if (!m)
        continue;
      at += (unsigned)__builtin_ctzll(m) >> 3;
      if (p[at] != '"')
        break;
      s->o[0] = '"';
      memcpy(s->o + 1, p, 24);
      s->o[at + 1] = '"';
      s->o += at + 2;
      s->p = p + at + 1;
      *esc = 0;
      return 0;
    }
  }
#endif
  return string(s, key, esc);
}

/* Write len bytes (small) at s->o. */
static inline int put(struct scan *s, const void *p, size_t len)
{
  if (room(s, len))
    return FAIL_NOMEM;
  memcpy(s->o, p, len);
  s->o += len;
  return 0;
}

/* put() for at most 32 bytes from a source with 32 readable bytes: one
 * fixed-size copy the compiler inlines, then the length. */
static inline int put32(struct scan *s, const void *p, size_t len)
{
  if (room(s, 32))
    return FAIL_NOMEM;
  memcpy(s->o, p, 32);
  s->o += len;
  return 0;
}

static inline int put1(struct scan *s, char c)
{
  if (s->o == s->oend && grow(s, 64))
    return FAIL_NOMEM;
  *s->o++ = c;
  return 0;
}

static inline int digit(unsigned c)
{
  return c - '0' < 10;
}

/* Past the run of digits at p: eight at a time while they last. */
static inline const unsigned char *digits_end(const unsigned char *p,
                                              const unsigned char *end)
{
  while (end - p >= 8) {
    uint64_t x, y;

    memcpy(&x, p, 8);
    /* each byte 0x30..0x39: high nibble 3, and +6 stays below 0x40 */
    y = (x & 0xf0f0f0f0f0f0f0f0ull) |
        (((x + 0x0606060606060606ull) & 0xf0f0f0f0f0f0f0f0ull) >> 4);
    if (y != 0x3333333333333333ull)
      break;
    p += 8;
  }
  while (p < end && digit(*p))
    p++;
  return p;
}

/* Python's repr (what jsonw_format_real writes) of the real whose text
 * is st..end, worked out on the text alone: the significant digits, when
 * there are at most 15 and the value is a normal double, are the repr's
 * digits (a double holds exactly one decimal of 15 or fewer digits at a
 * given length, DBL_DIG, so it is the shortest that reads back), and only
 * the exponent and the form change: "6.02214076e23" -> "6.02214076e+23",
 * "1E5" -> "100000.0", "100.50" -> "100.5". Writes into out
 * (JSONW_REAL_MAX bytes) and returns the length; 0 when the digits or the
 * range need strtod. */
static size_t real_repr(const unsigned char *p, const unsigned char *end,
                        char *out)
{
  char digits[16], *o = out;
  size_t nd = 0, zeros = 0;
  long exp10 = 0, decpt = 0;
  int seen = 0, in_frac = 0;

  if (*p == '-') {
    *o++ = '-';
    p++;
  }
  for (; p < end && *p != 'e' && *p != 'E'; p++) {
    if (*p == '.') {
      in_frac = 1;
      continue;
    }
    if (*p == '0' && !seen) {
      /* a leading zero: after the point it moves the point left */
      decpt -= in_frac;
      continue;
    }
    seen = 1;
    if (!in_frac)
      decpt++;
    if (*p == '0') {
      zeros++; /* kept only if a non-zero digit follows */
      continue;
    }
    if (nd + zeros + 1 > 15)
      return 0;
    while (zeros) {
      digits[nd++] = '0';
      zeros--;
    }
    digits[nd++] = (char)*p;
  }
  if (!seen) {
    memcpy(o, "0.0", 3);
    return (size_t)(o + 3 - out);
  }
  if (p < end) {
    int neg = 0;
    size_t n = 0;

    p++;
    if (*p == '+' || *p == '-')
      neg = *p++ == '-';
    while (p < end && *p == '0')
      p++;
    for (; p < end; p++, n++) {
      if (n == 6)
        return 0;
      exp10 = exp10 * 10 + (*p - '0');
    }
    decpt += neg ? -exp10 : exp10;
  }
  /* Normal doubles only: 1e-307 <= |d| < 1e308. */
  if (decpt - 1 < -307 || decpt - 1 > 307)
    return 0;
  if (decpt <= -4 || decpt > 16) {
    long ex = decpt - 1;
    unsigned long ue = (unsigned long)(ex < 0 ? -ex : ex);

    *o++ = digits[0];
    if (nd > 1) {
      *o++ = '.';
      memcpy(o, digits + 1, nd - 1);
      o += nd - 1;
    }
    *o++ = 'e';
    *o++ = ex < 0 ? '-' : '+';
    if (ue >= 100)
      *o++ = (char)('0' + ue / 100);
    *o++ = (char)('0' + ue / 10 % 10);
    *o++ = (char)('0' + ue % 10);
  } else if (decpt <= 0) {
    *o++ = '0';
    *o++ = '.';
    for (long i = decpt; i < 0; i++)
      *o++ = '0';
    memcpy(o, digits, nd);
    o += nd;
  } else if ((size_t)decpt >= nd) {
    memcpy(o, digits, nd);
    o += nd;
    for (long i = (long)nd; i < decpt; i++)
      *o++ = '0';
    *o++ = '.';
    *o++ = '0';
  } else {
    memcpy(o, digits, (size_t)decpt);
    o += decpt;
    *o++ = '.';
    memcpy(o, digits + decpt, nd - (size_t)decpt);
    o += nd - (size_t)decpt;
  }
  return (size_t)(o - out);
}

/* The common real: fixed form whose text is already the repr (at most 15
 * significant digits, no trailing zero after the point, the point where
 * repr puts it): copied as it is, without real_repr's work. i, ni: the
 * integer digits; f, nf: the fraction's. */
static inline int real_is_repr(const unsigned char *i, size_t ni,
                               const unsigned char *f, size_t nf)
{
  size_t z = 0, sig;

  if (nf == 1 && f[0] == '0') {
    if (ni == 1 && i[0] == '0')
      return 1;
    if (ni > 16)
      return 0;
    sig = ni;
    while (sig > 1 && i[sig - 1] == '0')
      sig--;
    return sig <= 15;
  }
  if (f[nf - 1] == '0')
    return 0;
  if (ni == 1 && i[0] == '0') {
    while (z < nf && f[z] == '0')
      z++;
    return z <= 3 && nf - z <= 15;
  }
  return ni + nf <= 15;
}

/* memcmp(a, b, 19) > 0, without a call: 19 digits against int64's
 * limit (two big-endian words, then three bytes). */
static inline int above19(const unsigned char *a, const char *b)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  for (size_t k = 0; k < 16; k += 8) {
    uint64_t x, y;

    memcpy(&x, a + k, 8);
    memcpy(&y, b + k, 8);
    if (x != y)
      return __builtin_bswap64(x) > __builtin_bswap64(y);
  }
  for (size_t k = 16; k < 19; k++)
    if (a[k] != (unsigned char)b[k])
      return a[k] > (unsigned char)b[k];
  return 0;
#else
  return memcmp(a, b, 19) > 0;
#endif
}

/* A number at s->p, as jansson lexes it. */
static int number(struct scan *s)
{
  const unsigned char *p = s->p, *st = p, *end = s->end, *i, *f = NULL;
  size_t ni, nf = 0;
  int real = 0, exp = 0;

  if (*p == '-')
    p++;
  i = p;
  if (p < end && *p == '0') {
    p++;
    if (p < end && digit(*p))
      return syntax(s, p, "leading zero in a number");
  } else if (p < end && digit(*p)) {
    p = digits_end(p, end);
  } else {
    return syntax(s, p, "invalid number");
  }
  ni = (size_t)(p - i);
  if (p < end && *p == '.') {
    f = ++p;
    if (p >= end || !digit(*p))
      return syntax(s, p, "invalid number: no digit after '.'");
    p = digits_end(p, end);
    nf = (size_t)(p - f);
    real = 1;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-'))
      p++;
    if (p >= end || !digit(*p))
      return syntax(s, p, "invalid number: no digit in the exponent");
    p = digits_end(p, end);
    real = exp = 1;
  }
  /* jansson's lexer reads one byte past a number or a literal and puts it
   * back; its stream ends a pushed-back run at a NUL byte, so a NUL there
   * is dropped and the page accepted ("[1\0]" is [1]). Do the same. */
  s->p = p + (p < end && !*p);
  if (!real) {
    if (ni > 19 || (ni == 19 && above19(i, st < i ? "9223372036854775808"
                                                  : "9223372036854775807"))) {
      if (s->flags & JSCAN_STRICT_INT)
        return syntax(s, st, "too big integer");
    } else if (st < i && ni == 1 && i[0] == '0') {
      return put1(s, '0');
    }
    if (p - st <= 32 && end - st >= 32)
      return put32(s, st, (size_t)(p - st));
    return put(s, st, (size_t)(p - st));
  }
  if (!exp && real_is_repr(i, ni, f, nf)) {
    if (p - st <= 32 && end - st >= 32)
      return put32(s, st, (size_t)(p - st));
    return put(s, st, (size_t)(p - st));
  }
  {
    char small[64], *text = small, out[JSONW_REAL_MAX];
    size_t n = real_repr(st, p, out);
    double d;

    if (n)
      return put32(s, out, n);
    n = (size_t)(p - st);

    if (n >= sizeof(small) && !(text = malloc(n + 1)))
      return nomem(s);
    memcpy(text, st, n);
    text[n] = '\0';
    errno = 0;
    d = strtod(text, NULL);
    if (text != small)
      free(text);
    if ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE)
      return syntax(s, st, "real number overflow");
    n = jsonw_format_real(d, out);
    return put(s, out, n);
  }
}

/* Inlined, so that word and n are constants: no memcmp or memcpy call. */
static inline __attribute__((always_inline)) int
literal(struct scan *s, const char *word, size_t n)
{
  if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n))
    return syntax(s, s->p, "invalid token");
  s->p += n;
  s->p += s->p < s->end && !*s->p; /* as after a number */
  return put(s, word, n);
}

/* ---- duplicate keys ---- */

/* One bit of 64 for a key (decoded bytes): an object's keys so far, or a
 * node's member names, as a one-hash Bloom filter. */
static inline uint64_t key_bit(const unsigned char *k, size_t n)
{
  uint64_t a = 0, b = 0, h;

  if (n >= 8) {
    memcpy(&a, k, 8);
    memcpy(&b, k + n - 8, 8);
  } else if (n >= 4) {
    uint32_t x, y;

    memcpy(&x, k, 4);
    memcpy(&y, k + n - 4, 4);
    a = x;
    b = y;
  } else if (n) {
    a = (uint64_t)k[0] | (uint64_t)k[n / 2] << 8 | (uint64_t)k[n - 1] << 16;
  }
  h = (a ^ (b * 0x9e3779b97f4a7c15ull) ^ n) * 0xff51afd7ed558ccdull;
  return 1ull << (h >> 58);
}

/* Decode the string between start (after the opening quote) and the
 * closing quote at end, already validated, into b. */
static int decode(struct buf *b, const unsigned char *p,
                  const unsigned char *end)
{
  while (p < end) {
    char tmp[4];
    size_t n;
    int32_t v;

    if (*p != '\\') {
      const unsigned char *run = p;

      while (p < end && *p != '\\')
        p++;
      if (buf_append(b, run, (size_t)(p - run)))
        return -1;
      continue;
    }
    switch (p[1]) {
    case 'b':
      tmp[0] = '\b';
      break;
    case 'f':
      tmp[0] = '\f';
      break;
    case 'n':
      tmp[0] = '\n';
      break;
    case 'r':
      tmp[0] = '\r';
      break;
    case 't':
      tmp[0] = '\t';
      break;
    case 'u':
      break;
    default:
      tmp[0] = (char)p[1];
    }
    if (p[1] != 'u') {
      p += 2;
      if (buf_append(b, tmp, 1))
        return -1;
      continue;
    }
    v = hex4(p + 2);
    p += 6;
    if (v >= 0xd800 && v <= 0xdbff) {
      v = ((v - 0xd800) << 10) + (hex4(p + 2) - 0xdc00) + 0x10000;
      p += 6;
    }
    if (v < 0x80) {
      tmp[0] = (char)v;
      n = 1;
    } else {
      n = (size_t)(put_cp(tmp, (uint32_t)v, 0) - tmp);
    }
    if (buf_append(b, tmp, n))
      return -1;
  }
  return 0;
}

static inline int push_key(struct scan *s, const unsigned char *p, size_t off,
                           size_t len)
{
  struct jscan *js = s->js;

  if (js->nkeys == js->kcap) {
    size_t cap = js->kcap ? js->kcap * 2 : 64;
    struct key *k = realloc(js->keys, cap * sizeof(*k));

    if (!k)
      return nomem(s);
    js->keys = k;
    js->kcap = cap;
  }
  js->keys[js->nkeys].p = p;
  js->keys[js->nkeys].off = off;
  js->keys[js->nkeys].len = len;
  js->nkeys++;
  return 0;
}

static const unsigned char *key_bytes(const struct jscan *js,
                                      const struct key *k)
{
  return k->p ? k->p : (const unsigned char *)js->arena.data + k->off;
}

static uint64_t key_hash(const unsigned char *k, size_t n)
{
  uint64_t h = 0xcbf29ce484222325ull;

  for (size_t i = 0; i < n; i++)
    h = (h ^ k[i]) * 0x100000001b3ull;
  return h;
}

/* Put key index ki in set (no room check): 1 when an equal key is
 * there already, else 0. */
static int kset_put(struct jscan *js, struct kset *set, size_t ki)
{
  const struct key *k = &js->keys[ki];
  const unsigned char *kb = key_bytes(js, k);
  size_t mask = set->cap - 1, at = key_hash(kb, k->len) & mask;

  for (; set->gen[at] == set->cur; at = (at + 1) & mask) {
    const struct key *e = &js->keys[set->idx[at]];

    if (e->len == k->len && !memcmp(key_bytes(js, e), kb, k->len))
      return 1;
  }
  set->gen[at] = set->cur;
  set->idx[at] = ki;
  set->n++;
  return 0;
}

/* Fresh, empty arrays of cap slots (a power of two) for set. */
static int kset_alloc(struct scan *s, struct kset *set, size_t cap)
{
  uint32_t *gen = calloc(cap, sizeof(*gen));
  size_t *idx = malloc(cap * sizeof(*idx));

  if (!gen || !idx) {
    free(gen);
    free(idx);
    return nomem(s);
  }
  free(set->gen);
  free(set->idx);
  set->gen = gen;
  set->idx = idx;
  set->cap = cap;
  set->cur = 1;
  set->n = 0;
  return 0;
}

/* Make room in set for one more key: double it at half full and put the
 * object's keys so far (js->keys[kbase..], no duplicates) back. */
static int kset_room(struct scan *s, struct kset *set, size_t kbase)
{
  struct jscan *js = s->js;

  if ((set->n + 1) * 2 <= set->cap)
    return 0;
  if (kset_alloc(s, set, set->cap * 2))
    return s->code;
  for (size_t i = kbase; i < js->nkeys; i++)
    kset_put(js, set, i);
  return 0;
}

/* The set for an object at depth that has just reached KSET_FROM keys
 * (js->keys[kbase..]): emptied, then filled with them. */
static int kset_open(struct scan *s, int depth, size_t kbase,
                     struct kset **out)
{
  struct jscan *js = s->js;
  struct kset *set;

  if ((size_t)depth >= js->nsets) {
    size_t n = (size_t)depth + 8;
    struct kset *p = realloc(js->sets, n * sizeof(*p));

    if (!p)
      return nomem(s);
    memset(p + js->nsets, 0, (n - js->nsets) * sizeof(*p));
    js->sets = p;
    js->nsets = n;
  }
  set = &js->sets[depth];
  if (!set->cap) {
    if (kset_alloc(s, set, 64))
      return s->code;
  } else if (++set->cur == 0) { /* generations wrapped: clear */
    memset(set->gen, 0, set->cap * sizeof(*set->gen));
    set->cur = 1;
  }
  set->n = 0;
  for (size_t i = kbase; i < js->nkeys; i++)
    kset_put(js, set, i);
  *out = set;
  return 0;
}

/* ---- fields ---- */

static int field_error(struct scan *s, const unsigned char *at, int f,
                       const char *what)
{
  s->what = what;
  s->err_at = (size_t)(at - s->start);
  s->field = s->js->fields[f].name;
  s->code = FAIL_FIELD;
  return FAIL_FIELD;
}

int jscan_value(const char *text, size_t len, json_t **out)
{
  const unsigned char *p = (const unsigned char *)text, *end = p + len;
  json_t *v = NULL;

  *out = NULL;
  switch (*p) {
  case '"':
    if (!memchr(p, '\\', len)) {
      v = json_stringn_nocheck(text + 1, len - 2);
    } else {
      struct buf b = BUF_INIT;

      if (!decode(&b, p + 1, end - 1))
        v = json_stringn_nocheck(b.data ? b.data : "", b.len);
      buf_free(&b);
    }
    break;
  case 't':
    v = json_true();
    break;
  case 'f':
    v = json_false();
    break;
  case 'n':
    v = json_null();
    break;
  case '{':
  case '[':
    /* Valid JSON: only an integer beyond int64 makes jansson refuse it. */
    v = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!v)
      return INTEG_EINVAL;
    break;
  default: {
    char small[64], *copy = small;
    const unsigned char *q;
    int real = 0;

    for (q = p; q < end; q++)
      real |= *q == '.' || *q == 'e' || *q == 'E';
    /* Up to 18 digits cannot overflow int64: no copy, no strtoll. */
    if (!real && len - (*p == '-') <= 18) {
      int64_t i = 0;

      /* As strtoll: up to the first byte that is not a digit. */
      for (q = p + (*p == '-'); q < end && digit(*q); q++)
        i = i * 10 + (*q - '0');
      v = json_integer((json_int_t)(*p == '-' ? -i : i));
      break;
    }
    if (len >= sizeof(small) && !(copy = malloc(len + 1)))
      return INTEG_ENOMEM;
    memcpy(copy, p, len);
    copy[len] = '\0';
    errno = 0;
    if (real) {
      v = json_real(strtod(copy, NULL));
    } else {
      long long i = strtoll(copy, NULL, 10);

      if (errno == ERANGE) {
        if (copy != small)
          free(copy);
        return INTEG_EINVAL;
      }
      v = json_integer((json_int_t)i);
    }
    if (copy != small)
      free(copy);
  }
  }
  if (!v)
    return INTEG_ENOMEM;
  *out = v;
  return 0;
}

/* The value at [p, end) (validated) as a new json_t, or NULL with the
 * failure recorded. */
static json_t *value_of(struct scan *s, int f, const unsigned char *p,
                        const unsigned char *end)
{
  json_t *v;
  int rc = jscan_value((const char *)p, (size_t)(end - p), &v);

  if (rc == INTEG_EINVAL)
    field_error(s, p, f,
                *p == '{' || *p == '['
                    ? "the value holds an integer beyond int64, which a field "
                      "cannot hold"
                    : "integer beyond int64");
  else if (rc)
    nomem(s);
  return v;
}

/* The fields at node, whose value is at p in the page and was written
 * from ostart in the output. */
static int take_fields(struct scan *s, int node, const unsigned char *p,
                       size_t ostart)
{
  struct jscan *js = s->js;
  int f;

  /* Not the NUL byte a number or literal may have swallowed (jansson
   * drops it): the value's own bytes. */
  const unsigned char *end = s->p - (s->p > p && !s->p[-1]);

  for (f = js->nodes[node].field; f >= 0; f = js->fields[f].next_same) {
    json_t *v;

    if (js->fields[f].span >= 0) {
      struct jscan_span *sp = &js->spans[js->fields[f].span];

      sp->off = (size_t)(p - s->start);
      sp->len = (size_t)(end - p);
      sp->out = ostart - s->rec_obj;
      sp->olen = (size_t)(s->o - s->ob->data) - ostart;
      continue;
    }
    v = value_of(s, f, p, end);

    if (!v)
      return s->code;
    if (js->fields[f].singular) {
      json_decref(js->fields[f].val);
      js->fields[f].val = v;
    } else if (json_array_append_new(js->fields[f].val, v)) {
      return nomem(s);
    }
  }
  return 0;
}

/* ---- structure ---- */

static int value(struct scan *s, int depth, int node);

/* A value where most are scalars of no interest: those without the call
 * and the checks of value(). */
static inline __attribute__((always_inline)) int elem(struct scan *s,
                                                      int depth, int node)
{
  if (node < 0 && depth <= JSCAN_MAX_DEPTH && s->p < s->end) {
    unsigned c = *s->p;
    int esc;

    if (c == '"')
      return short_string(s, 0, &esc);
    if (c == '-' || digit(c))
      return number(s);
    if (c == 't')
      return literal(s, "true", 4);
    if (c == 'f')
      return literal(s, "false", 5);
    if (c == 'n')
      return literal(s, "null", 4);
  }
  return value(s, depth, node);
}

/* After a member or an element: a ',' (written, the blanks after it
 * skipped; *more = 1) or the closing byte (consumed, not written;
 * *more = 0). Whitespace is looked for only where the expected byte is
 * not (compact pages first). */
static inline int next_or_close(struct scan *s, char close, int *more)
{
  int rc;

  if (s->p >= s->end || (*s->p != ',' && *s->p != close))
    skip_ws(s);
  if (s->p < s->end && *s->p == ',') {
    s->p++;
    if ((rc = put1(s, ',')))
      return rc;
    skip_ws(s);
    *more = 1;
    return 0;
  }
  if (s->p < s->end && *s->p == close) {
    s->p++;
    *more = 0;
    return 0;
  }
  return syntax(s, s->p,
                close == '}' ? "',' or '}' expected" : "',' or ']' expected");
}

/* An object; proj (a constant in each of the two callers below, so that
 * the common one carries none of it): a record's, under a projection. */
static inline __attribute__((always_inline)) int
object_of(struct scan *s, int depth, int node, const int proj)
{
  struct jscan *js = s->js;
  size_t kbase = js->nkeys, abase = js->arena.len;
  struct kset *set = NULL;
  uint64_t bloom = 0;
  int rc, more;

  s->p++;
  if ((rc = put1(s, '{')))
    return rc;
  skip_ws(s);
  if (s->p < s->end && *s->p == '}') {
    s->p++;
    return put1(s, '}');
  }
  for (;;) {
    const unsigned char *k, *kp;
    size_t klen, koff = 0, mark = proj ? (size_t)(s->o - s->ob->data) : 0;
    uint64_t bit;
    int esc, child = -1, drop;

    if (s->p >= s->end || *s->p != '"')
      return syntax(s, s->p, "string or '}' expected");
    k = s->p + 1;
    if ((rc = short_string(s, 1, &esc)))
      return rc;
    klen = (size_t)(s->p - 1 - k);
    kp = k;
    if (esc) {
      koff = js->arena.len;
      if (decode(&js->arena, k, s->p - 1))
        return nomem(s);
      klen = js->arena.len - koff;
      kp = (const unsigned char *)js->arena.data + koff;
    }
    bit = key_bit(kp, klen);
    /* A wide object has a hash set; a narrow one the Bloom filter and,
     * rarely, a scan of its few keys. */
    if (set && (rc = kset_room(s, set, kbase)))
      return rc;
    if ((rc = push_key(s, esc ? NULL : k, koff, klen)))
      return rc;
    if (set) {
      if (kset_put(js, set, js->nkeys - 1))
        goto dup;
    } else {
      if (bloom & bit) {
        for (size_t i = kbase; i + 1 < js->nkeys; i++) {
          const struct key *e = &js->keys[i];

          if (e->len == klen && !memcmp(key_bytes(js, e), kp, klen))
            goto dup;
        }
      }
      bloom |= bit;
      if (js->nkeys - kbase == KSET_FROM &&
          (rc = kset_open(s, depth, kbase, &set)))
        return rc;
    }
    if (node >= 0) {
      const struct node *n = &js->nodes[node];

      if (n->wild >= 0) {
        child = n->wild;
      } else if (n->kids & bit) {
        for (child = n->child; child >= 0; child = js->nodes[child].sib)
          if (js->nodes[child].nlen == klen &&
              !memcmp(js->nodes[child].name, kp, klen))
            break;
      }
    }
    /* Compact pages first: whitespace is looked for only where the
     * expected byte is not. */
    if (s->p >= s->end || *s->p != ':') {
      skip_ws(s);
      if (s->p >= s->end || *s->p != ':')
        return syntax(s, s->p, "':' expected");
    }
    s->p++;
    if ((rc = put1(s, ':')))
      return rc;
    skip_ws(s);
    drop = proj && !js->keep(js->keep_arg, (const char *)kp, klen);
    if ((rc = elem(s, depth + 1, child)))
      return rc;
    /* A member dropped by the projection: its bytes, and the ',' after
     * it, are taken back. */
    if (drop) {
      s->o = s->ob->data + mark;
      /* Values inside it were not written after all. */
      for (size_t i = 0; i < js->nspans; i++)
        if (js->spans[i].olen && js->spans[i].out + s->rec_obj >= mark)
          js->spans[i].out = js->spans[i].olen = 0;
    }
    if ((rc = next_or_close(s, '}', &more)))
      return rc;
    if (drop && more)
      s->o--;
    if (!more)
      break;
  }
  js->nkeys = kbase;
  js->arena.len = abase;
  /* ... and the ',' before a dropped last member. */
  if (proj && s->o[-1] == ',')
    s->o--;
  return put1(s, '}');
dup:
  s->err_at = (size_t)(s->p - s->start);
  s->code = FAIL_DUP;
  return FAIL_DUP;
}

static int object(struct scan *s, int depth, int node)
{
  return object_of(s, depth, node, 0);
}

static int projected_object(struct scan *s, int depth, int node)
{
  return object_of(s, depth, node, 1);
}

static int array(struct scan *s, int depth, int node)
{
  int child = node >= 0 ? s->js->nodes[node].wild : -1;
  int rc, more;

  s->p++;
  if ((rc = put1(s, '[')))
    return rc;
  skip_ws(s);
  if (s->p < s->end && *s->p == ']') {
    s->p++;
    return put1(s, ']');
  }
  for (;;) {
    if ((rc = elem(s, depth + 1, child)) ||
        (rc = next_or_close(s, ']', &more)))
      return rc;
    if (!more)
      break;
  }
  return put1(s, ']');
}

/* One record: an object written inside the frame to the caller's buffer.
 * A record that is not an object is scanned (the page must still be
 * valid JSON) and remembered; nothing after it is kept. */
static int record(struct scan *s, int depth, int node)
{
  const struct jscan_frame *fr = s->frame;
  struct jscan *js = s->js;
  size_t from;
  int rc, drop = 0;

  if (*s->p != '{' || s->have_bad) {
    if (*s->p != '{' && !s->have_bad) {
      s->have_bad = 1;
      s->bad = s->seen;
      s->err_at = (size_t)(s->p - s->start);
    }
    s->seen++;
    return value(s, depth, -1);
  }
  s->seen++;
  switch_to(s, s->out);
  from = (size_t)(s->o - s->ob->data);
  if (js->nspans)
    memset(js->spans, 0, js->nspans * sizeof(*js->spans));
  if ((rc = put(s, fr->head, fr->head_len)))
    return rc;
  s->rec_obj = (size_t)(s->o - s->ob->data);
  node = js->nodes[node].child >= 0 ? node : -1;
  if ((rc = js->keep ? projected_object(s, depth, node)
                     : object(s, depth, node)))
    return rc;
  /* A hook's failure is reported once the rest of the page is known to
   * be JSON with objects for records: a page that is not says so first. */
  if (js->hook && !s->hook_rc) {
    struct jscan_rec r = {(const char *)s->start, js->spans,
                          s->ob->data + s->rec_obj,
                          (size_t)(s->o - s->ob->data) - s->rec_obj};

    js->repl.len = 0;
    s->hook_rc = js->hook(js->hook_arg, &r, &js->repl, &drop, s->err);
    if (!s->hook_rc && !drop && js->repl.len) {
      s->o = s->ob->data + s->rec_obj;
      if ((rc = put(s, js->repl.data, js->repl.len)))
        return rc;
    }
  }
  if (drop) {
    s->o = s->ob->data + from;
    s->dropped++;
    switch_to(s, &js->scratch);
    return 0;
  }
  if ((rc = put(s, fr->tail, fr->tail_len)))
    return rc;
  switch_to(s, &js->scratch);
  s->records++;
  return 0;
}

static inline __attribute__((always_inline)) int
value_of_node(struct scan *s, int depth, int node, const unsigned char *at);

static int value(struct scan *s, int depth, int node)
{
  const unsigned char *at = s->p;
  int rc;

  if (depth > JSCAN_MAX_DEPTH)
    return syntax(s, at, "maximum parsing depth reached");
  if (at >= s->end)
    return syntax(s, at, "premature end of input");
  if (node >= 0 && node == s->js->record_node) {
    rc = record(s, depth, node);
    if (!rc && s->js->nodes[node].field >= 0 && !s->have_bad)
      rc = take_fields(s, node, at, (size_t)(s->o - s->ob->data));
    return rc;
  }
  if (node >= 0 && s->js->nodes[node].field >= 0) {
    size_t ostart = (size_t)(s->o - s->ob->data);

    rc = value_of_node(s, depth, node, at);
    return rc ? rc : take_fields(s, node, at, ostart);
  }
  return value_of_node(s, depth, node, at);
}

/* value() once the records and the fields are seen to. */
static inline __attribute__((always_inline)) int
value_of_node(struct scan *s, int depth, int node, const unsigned char *at)
{
  int rc, esc;

  switch (*at) {
  case '{':
    rc = object(s, depth, node);
    break;
  case '[':
    rc = array(s, depth, node);
    break;
  case '"':
    rc = short_string(s, 0, &esc);
    break;
  case 't':
    rc = literal(s, "true", 4);
    break;
  case 'f':
    rc = literal(s, "false", 5);
    break;
  case 'n':
    rc = literal(s, "null", 4);
    break;
  default:
    if (*at == '-' || digit(*at))
      rc = number(s);
    else
      rc = syntax(s, at, "invalid token");
  }
  return rc;
}

static void reset_fields(struct jscan *js)
{
  for (size_t i = 0; i < js->nfields; i++) {
    json_decref(js->fields[i].val);
    js->fields[i].val = NULL;
  }
}

int jscan_page(struct jscan *js, const char *json, size_t len, unsigned flags,
               const struct jscan_frame *frame, struct buf *out,
               struct jscan_result *res, struct integ_error *err)
{
  struct scan s;
  size_t start = out->len, i;
  int rc;

  memset(res, 0, sizeof(*res));
  memset(&s, 0, sizeof(s));
  s.p = s.start = (const unsigned char *)json;
  s.end = s.p + len;
  s.flags = flags;
  s.js = js;
  s.frame = frame;
  s.err = err;
  s.out = out;
  s.ob = &js->scratch;
  js->scratch.len = 0;
  js->arena.len = 0;
  js->nkeys = 0;
  /* Both buffers have memory from here on: no NULL arithmetic. */
  if (buf_reserve(&js->scratch, 4096) || buf_reserve(out, 4096)) {
    rc = nomem(&s);
    goto out;
  }
  s.o = js->scratch.data;
  s.oend = js->scratch.cap ? js->scratch.data + js->scratch.cap - 1 : s.o;
  reset_fields(js);
  for (i = 0; i < js->nfields; i++)
    if (!js->fields[i].singular && js->fields[i].span < 0 &&
        !(js->fields[i].val = json_array())) {
      rc = nomem(&s);
      goto out;
    }
  skip_ws(&s);
  rc = value(&s, 1, 0);
  if (!rc) {
    skip_ws(&s);
    if (s.p != s.end)
      rc = syntax(&s, s.p, "end of input expected");
  }
  if (!rc && s.have_bad)
    rc = 1;
  if (!rc && s.hook_rc) {
    s.code = FAIL_HOOK;
    rc = 1;
  }
  if (s.ob == out)
    switch_to(&s, &js->scratch);
  if (!rc) {
    res->fields = json_object();
    for (i = 0; res->fields && i < js->nfields; i++) {
      struct field *f = &js->fields[i];

      if (f->span >= 0)
        continue;
      if (json_object_set_new(res->fields, f->name,
                              f->val ? f->val : json_null())) {
        f->val = NULL;
        json_decref(res->fields);
        res->fields = NULL;
        break;
      }
      f->val = NULL;
    }
    if (!res->fields) {
      rc = nomem(&s);
      goto out;
    }
    res->records = s.records;
    res->dropped = s.dropped;
    if (out->len < out->cap)
      out->data[out->len] = '\0';
    reset_fields(js);
    return 0;
  }
out:
  reset_fields(js);
  out->len = start;
  if (out->data)
    out->data[start] = '\0';
  res->offset = s.err_at;
  if (s.code == FAIL_HOOK) {
    res->hook = 1;
    return s.hook_rc;
  }
  if (s.code == FAIL_NOMEM)
    return error_set(err, INTEG_ENOMEM, "out of memory scanning a page");
  if (s.code == FAIL_DUP)
    return error_set(err, INTEG_ENOTSUP,
                     "byte %zu: a key repeats in an object (the slow path "
                     "keeps the last value)",
                     s.err_at);
  if (s.code == FAIL_SYNTAX)
    return error_set(err, INTEG_EINVAL, "not valid JSON at byte %zu: %s",
                     s.err_at, s.what);
  if (s.code == FAIL_FIELD)
    return error_set(err, INTEG_EINVAL, "field '%s' at byte %zu: %s", s.field,
                     s.err_at, s.what);
  res->record = s.bad;
  return error_set(err, INTEG_EPLUGIN,
                   "record %zu (byte %zu) is not a JSON object", s.bad,
                   s.err_at);
}

void jscan_set_hook(struct jscan *js, jscan_hook fn, void *arg)
{
  js->hook = fn;
  js->hook_arg = arg;
}

void jscan_set_project(struct jscan *js, jscan_keep fn, const void *arg)
{
  js->keep = fn;
  js->keep_arg = arg;
}
