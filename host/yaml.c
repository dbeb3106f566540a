/* yaml.c - libyaml events to json_t, with a location table. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h> /* libyaml's: host/ is on the quote path only */

#include "yaml.h"

#include "error.h"

/* ------------------------------------------------------------ loader */

#define TAG_STR "tag:yaml.org,2002:str"
#define TAG_MAP "tag:yaml.org,2002:map"
#define TAG_SEQ "tag:yaml.org,2002:seq"

struct frame {
  json_t *node;     /* borrowed: held by its parent, the root or trash */
  size_t saved_len; /* path length before this container's component */
  char *key;        /* a mapping's key waiting for its value, owned */
  size_t key_len;
  unsigned kline, kcol; /* that key's position */
  int key_dup;          /* that key was seen before in this mapping */
  size_t index;         /* a sequence's next item */
  int is_map;
  int discard; /* in a duplicate key's value: record no locations */
};

struct loader {
  const char *name;
  const char *buf;
  size_t len;
  struct yaml_locs *t;
  struct yaml_errors *errs;
  struct yaml_path path;
  struct frame stack[YAML_MAX_DEPTH];
  size_t depth;
  json_t *root;  /* new */
  json_t *trash; /* values of duplicate keys, dropped at the end */
  size_t *lines; /* byte offset of each line's start, built on demand */
  size_t nlines;
  int nomem;
  int failed; /* an error was reported */
};

/* Position (1-based line, column in characters) of byte offset `off`. */
static void offset_pos(const char *buf, size_t off, unsigned *line,
                       unsigned *col)
{
  unsigned l = 1, c = 1;

  for (size_t i = 0; i < off; i++) {
    unsigned char b = (unsigned char)buf[i];

    if (b == '\n' || (b == '\r' && buf[i + 1] != '\n')) {
      l++;
      c = 1;
    } else if ((b & 0xC0) != 0x80 && b != '\r') {
      c++;
    }
  }
  *line = l;
  *col = c;
}

static int build_lines(struct loader *L)
{
  size_t n = 1;

  if (L->lines)
    return 0;
  for (size_t i = 0; i < L->len; i++)
    if (L->buf[i] == '\n' ||
        (L->buf[i] == '\r' && (i + 1 >= L->len || L->buf[i + 1] != '\n')))
      n++;
  L->lines = malloc(n * sizeof(*L->lines));
  if (!L->lines)
    return INTEG_ENOMEM;
  L->lines[0] = 0;
  L->nlines = 1;
  for (size_t i = 0; i < L->len; i++)
    if (L->buf[i] == '\n' ||
        (L->buf[i] == '\r' && (i + 1 >= L->len || L->buf[i + 1] != '\n')))
      L->lines[L->nlines++] = i + 1;
  return 0;
}

/* The text of 0-based line `line`: *start and *n, without the break. */
static int line_text(struct loader *L, size_t line, const char **start,
                     size_t *n)
{
  size_t b, e;

  if (build_lines(L) || line >= L->nlines)
    return -1;
  b = L->lines[line];
  e = line + 1 < L->nlines ? L->lines[line + 1] : L->len;
  while (e > b && (L->buf[e - 1] == '\n' || L->buf[e - 1] == '\r'))
    e--;
  *start = L->buf + b;
  *n = e - b;
  return 0;
}

/* Does 0-based line `line` hold a '#' comment after its first ": "? */
static int line_has_comment(struct loader *L, size_t line)
{
  const char *s;
  size_t n, i = 0;

  if (line_text(L, line, &s, &n))
    return 0;
  for (; i < n; i++)
    if (s[i] == '#' && i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t'))
      return 1;
  return 0;
}

static void fail_at(struct loader *L, unsigned line, unsigned col,
                    const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void fail_at(struct loader *L, unsigned line, unsigned col,
                    const char *path, const char *fmt, ...)
{
  va_list ap;
  char *msg = NULL;

  L->failed = 1;
  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = NULL;
  va_end(ap);
  if (!msg) {
    L->nomem = 1;
    return;
  }
  if (yaml_errors_add(L->errs, "%s:%u:%u: %s%s%s", L->name, line, col,
                      path ? path : "", path && *path ? ": " : "", msg))
    L->nomem = 1;
  free(msg);
}

/* Find the first byte that is not UTF-8 (overlong forms, surrogates and
 * code points past U+10FFFF included). Returns its offset or len. */
static size_t utf8_check(const unsigned char *s, size_t len)
{
  size_t i = 0;

  while (i < len) {
    unsigned char c = s[i];
    size_t n;
    uint32_t cp;

    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (len - i <= n)
      return i;
    for (size_t k = 1; k <= n; k++) {
      if ((s[i + k] & 0xC0) != 0x80)
        return i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return i;
    i += n + 1;
  }
  return len;
}

static int is_digits(const char *s, const char *set)
{
  if (!*s)
    return 0;
  for (; *s; s++)
    if (!strchr(set, *s))
      return 0;
  return 1;
}

/* YAML 1.2 core schema float: [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? )
 * ( [eE] [-+]? [0-9]+ )? */
static int is_float(const char *s)
{
  int digits = 0;

  if (*s == '-' || *s == '+')
    s++;
  while (*s >= '0' && *s <= '9') {
    s++;
    digits++;
  }
  if (*s == '.') {
    s++;
    while (*s >= '0' && *s <= '9') {
      s++;
      digits++;
    }
  }
  if (!digits)
    return 0;
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '-' || *s == '+')
      s++;
    if (!(*s >= '0' && *s <= '9'))
      return 0;
    while (*s >= '0' && *s <= '9')
      s++;
  }
  return *s == '\0';
}

/* Why a plain scalar was refused. */
enum bad_scalar {
  BAD_NONE,
  BAD_YAML11_BOOL,
  BAD_INT_RANGE,
  BAD_FLOAT_RANGE,
  BAD_INF,
  BAD_NAN
};

/* Resolve a plain scalar by the core schema. Returns a new value, or NULL
 * with *why set when it is refused, or NULL with *why BAD_NONE when out of
 * memory. */
static json_t *resolve_plain(const char *v, size_t n, enum bad_scalar *why)
{
  static const char *const yaml11[] = {"yes", "no", "on", "off"};
  const char *s = v;
  char *end;

  *why = BAD_NONE;
  if (n == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
      strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0)
    return json_null();
  if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 ||
      strcmp(v, "TRUE") == 0)
    return json_true();
  if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0 ||
      strcmp(v, "FALSE") == 0)
    return json_false();
  for (size_t i = 0; i < 4; i++)
    if (strcasecmp(v, yaml11[i]) == 0) {
      *why = BAD_YAML11_BOOL;
      return NULL;
    }
  if (strlen(v) != n)
    return json_stringn(v, n); /* holds a NUL: text */
  if ((v[0] == '0' && v[1] == 'x' &&
       is_digits(v + 2, "0123456789abcdefABCDEF")) ||
      (v[0] == '0' && v[1] == 'o' && is_digits(v + 2, "01234567"))) {
    unsigned long long u;

    errno = 0;
    u = strtoull(v + 2, &end, v[1] == 'x' ? 16 : 8);
    if (errno || *end || u > (unsigned long long)LLONG_MAX) {
      *why = BAD_INT_RANGE;
      return NULL;
    }
    return json_integer((json_int_t)u);
  }
  if (*s == '-' || *s == '+')
    s++;
  if (is_digits(s, "0123456789")) {
    long long ll;

    errno = 0;
    ll = strtoll(v, &end, 10);
    if (errno || *end) {
      *why = BAD_INT_RANGE;
      return NULL;
    }
    return json_integer((json_int_t)ll);
  }
  if (is_float(v)) {
    double d;

    errno = 0;
    d = strtod(v, &end);
    if (*end || !isfinite(d)) {
      *why = BAD_FLOAT_RANGE;
      return NULL;
    }
    return json_real(d);
  }
  if (*s == '.' && (strcmp(s + 1, "inf") == 0 || strcmp(s + 1, "Inf") == 0 ||
                    strcmp(s + 1, "INF") == 0)) {
    *why = BAD_INF;
    return NULL;
  }
  if (strcmp(v, ".nan") == 0 || strcmp(v, ".NaN") == 0 ||
      strcmp(v, ".NAN") == 0) {
    *why = BAD_NAN;
    return NULL;
  }
  return json_stringn(v, n);
}

static void bad_scalar(struct loader *L, enum bad_scalar why, const char *v,
                       unsigned line, unsigned col)
{
  const char *path = yaml_path_str(&L->path);

  switch (why) {
  case BAD_YAML11_BOOL:
    fail_at(L, line, col, path,
            "'%s' is not a boolean in YAML 1.2: write true or false, or "
            "quote it to mean the text",
            v);
    break;
  case BAD_INT_RANGE:
    fail_at(L, line, col, path,
            "integer %s is out of range: quote it to mean the text", v);
    break;
  case BAD_FLOAT_RANGE:
    fail_at(L, line, col, path,
            "number %s is out of range: quote it to mean the text", v);
    break;
  case BAD_INF:
    fail_at(L, line, col, path,
            "%s (infinity) cannot be held in JSON: write a number, or "
            "quote it to mean the text",
            v);
    break;
  default:
    fail_at(L, line, col, path,
            "%s (not a number) cannot be held in JSON: write a number, or "
            "quote it to mean the text",
            v);
    break;
  }
}

/* Start a value: compute its path. Returns 0, or -1 on a fatal error. */
static int value_begin(struct loader *L, size_t *saved)
{
  struct frame *f = L->depth ? &L->stack[L->depth - 1] : NULL;

  if (!f) {
    *saved = L->path.len;
    return 0;
  }
  if (f->is_map)
    *saved = yaml_path_push_key(&L->path, f->key);
  else
    *saved = yaml_path_push_index(&L->path, f->index);
  if (*saved == (size_t)-1) {
    L->nomem = 1;
    return -1;
  }
  return 0;
}

static int record(struct loader *L, const yaml_mark_t *m, unsigned flags)
{
  struct frame *f = L->depth ? &L->stack[L->depth - 1] : NULL;
  struct yaml_loc loc;

  /* A duplicate key's value must not overwrite the first one's places. */
  if (f && (f->discard || (f->is_map && f->key_dup)))
    return 0;
  loc.file = L->name;
  loc.line = (unsigned)m->line + 1;
  loc.col = (unsigned)m->column + 1;
  loc.key_line = loc.line;
  loc.key_col = loc.col;
  loc.flags = flags;
  if (f && f->is_map) {
    loc.key_line = f->kline;
    loc.key_col = f->kcol;
  }
  if (yaml_locs_set(L->t, yaml_path_str(&L->path), &loc)) {
    L->nomem = 1;
    return -1;
  }
  return 0;
}

/* Put v (stolen) into the current container, the root or the trash. */
static int attach(struct loader *L, json_t *v)
{
  struct frame *f = L->depth ? &L->stack[L->depth - 1] : NULL;
  int rc = 0;

  if (!v) {
    L->nomem = 1;
    return -1;
  }
  if (!f) {
    L->root = v;
    return 0;
  }
  if (f->is_map) {
    if (f->key_dup || f->discard)
      rc = json_array_append_new(L->trash, v);
    else
      rc = json_object_setn_new(f->node, f->key, f->key_len, v);
    free(f->key);
    f->key = NULL;
  } else {
    rc = f->discard ? json_array_append_new(L->trash, v)
                    : json_array_append_new(f->node, v);
    f->index++;
  }
  if (rc) {
    L->nomem = 1;
    return -1;
  }
  return 0;
}

static int check_anchor_tag(struct loader *L, const yaml_event_t *ev,
                            const yaml_char_t *anchor, const yaml_char_t *tag,
                            const char *ok_tag)
{
  unsigned line = (unsigned)ev->start_mark.line + 1;
  unsigned col = (unsigned)ev->start_mark.column + 1;

  if (anchor) {
    fail_at(L, line, col, yaml_path_str(&L->path),
            "anchors and aliases are not supported (&%s): write the value "
            "out in full",
            (const char *)anchor);
    return -1;
  }
  if (tag && strcmp((const char *)tag, ok_tag) != 0 &&
      strcmp((const char *)tag, "!") != 0) {
    const char *tg = (const char *)tag;
    int core = strncmp(tg, "tag:yaml.org,2002:", 18) == 0;

    fail_at(L, line, col, yaml_path_str(&L->path),
            "tags are not supported (%s%s): remove the tag", core ? "!!" : "",
            core ? tg + 18 : tg);
    return -1;
  }
  return 0;
}

/* A scalar that is a mapping key. */
static int on_key(struct loader *L, const yaml_event_t *ev)
{
  struct frame *f = &L->stack[L->depth - 1];
  const char *k = (const char *)ev->data.scalar.value;
  size_t n = ev->data.scalar.length;
  unsigned line = (unsigned)ev->start_mark.line + 1;
  unsigned col = (unsigned)ev->start_mark.column + 1;

  if (check_anchor_tag(L, ev, ev->data.scalar.anchor, ev->data.scalar.tag,
                       TAG_STR))
    return -1;
  if (strlen(k) != n) {
    fail_at(L, line, col, yaml_path_str(&L->path),
            "a key holds a NUL character");
    return -1;
  }
  f->key = strdup(k);
  if (!f->key) {
    L->nomem = 1;
    return -1;
  }
  f->key_len = n;
  f->kline = line;
  f->kcol = col;
  f->key_dup = json_object_getn(f->node, k, n) != NULL;
  if (f->key_dup) {
    size_t saved = yaml_path_push_key(&L->path, k);
    const struct yaml_loc *first;

    if (saved == (size_t)-1) {
      L->nomem = 1;
      return -1;
    }
    first = yaml_locs_find(L->t, yaml_path_str(&L->path));
    L->failed = 1;
    if (first && !f->discard)
      fail_at(L, line, col, yaml_path_str(&L->path),
              "duplicate key '%s' (first at line %u, column %u): keep one", k,
              first->key_line, first->key_col);
    else
      fail_at(L, line, col, yaml_path_str(&L->path),
              "duplicate key '%s': keep one", k);
    yaml_path_pop(&L->path, saved);
  }
  return 0;
}

static int on_scalar(struct loader *L, const yaml_event_t *ev)
{
  struct frame *f = L->depth ? &L->stack[L->depth - 1] : NULL;
  const char *v = (const char *)ev->data.scalar.value;
  size_t n = ev->data.scalar.length, saved;
  int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
  const yaml_char_t *tag = ev->data.scalar.tag;
  unsigned flags = plain ? 0 : YAML_LOC_QUOTED;
  enum bad_scalar why = BAD_NONE;
  json_t *j;

  if (f && f->is_map && !f->key)
    return on_key(L, ev);
  if (value_begin(L, &saved))
    return -1;
  if (check_anchor_tag(L, ev, ev->data.scalar.anchor, tag, TAG_STR))
    return -1;
  if (plain && tag && strcmp((const char *)tag, TAG_STR) == 0)
    plain = 0;
  if (!plain) {
    j = json_stringn(v, n);
  } else {
    j = resolve_plain(v, n, &why);
    if (!j && why != BAD_NONE) {
      bad_scalar(L, why, v, (unsigned)ev->start_mark.line + 1,
                 (unsigned)ev->start_mark.column + 1);
      flags |= YAML_LOC_REPORTED;
      j = json_stringn(v, n);
    }
    if (j && json_is_null(j) && n == 0) {
      size_t line = ev->start_mark.line;

      if (f && f->is_map)
        line = f->kline - 1;
      if (line_has_comment(L, line))
        flags |= YAML_LOC_HASH;
    }
  }
  if (!j) {
    L->nomem = 1;
    return -1;
  }
  if (record(L, &ev->start_mark, flags)) {
    json_decref(j);
    return -1;
  }
  yaml_path_pop(&L->path, saved);
  return attach(L, j);
}

static int on_start(struct loader *L, const yaml_event_t *ev, int is_map)
{
  struct frame *f = L->depth ? &L->stack[L->depth - 1] : NULL;
  const yaml_char_t *anchor =
      is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
  const yaml_char_t *tag =
      is_map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
  unsigned line = (unsigned)ev->start_mark.line + 1;
  unsigned col = (unsigned)ev->start_mark.column + 1;
  json_t *node;
  struct frame *nf;
  size_t saved;

  if (f && f->is_map && !f->key) {
    fail_at(L, line, col, yaml_path_str(&L->path),
            "a key must be a plain string, not a %s",
            is_map ? "mapping" : "sequence");
    return -1;
  }
  if (value_begin(L, &saved))
    return -1;
  if (check_anchor_tag(L, ev, anchor, tag, is_map ? TAG_MAP : TAG_SEQ))
    return -1;
  if (L->depth >= YAML_MAX_DEPTH) {
    fail_at(L, line, col, yaml_path_str(&L->path),
            "nesting deeper than %d levels", YAML_MAX_DEPTH);
    return -1;
  }
  if (record(L, &ev->start_mark, 0))
    return -1;
  node = is_map ? json_object() : json_array();
  if (!node) {
    L->nomem = 1;
    return -1;
  }
  /* Attach first (the parent then owns it), fill it as events come. */
  json_incref(node);
  if (attach(L, node)) {
    json_decref(node);
    return -1;
  }
  json_decref(node);
  nf = &L->stack[L->depth++];
  memset(nf, 0, sizeof(*nf));
  nf->node = node;
  nf->saved_len = saved;
  nf->is_map = is_map;
  nf->discard = f && (f->discard || (f->is_map && f->key_dup));
  return 0;
}

/* attach() above clears a mapping's key when its value arrives; for a
 * container that happens at its start, so the key's duplicate flag must
 * be read before: on_start computes discard first. */

static int on_end(struct loader *L)
{
  struct frame *f = &L->stack[--L->depth];

  free(f->key);
  f->key = NULL;
  yaml_path_pop(&L->path, f->saved_len);
  return 0;
}

static void libyaml_error(struct loader *L, const yaml_parser_t *p)
{
  const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->context_mark;
  const char *s;
  size_t n;

  if (p->error == YAML_MEMORY_ERROR) {
    L->nomem = 1;
    return;
  }
  /* A tab in a line's indentation is the usual cause of libyaml's
   * "cannot start any token": say so, pointing at the tab. */
  if (line_text(L, m->line, &s, &n) == 0) {
    for (size_t i = 0; i < n && (s[i] == ' ' || s[i] == '\t'); i++)
      if (s[i] == '\t') {
        fail_at(L, (unsigned)m->line + 1, (unsigned)i + 1, NULL,
                "tab character in indentation: YAML indents with spaces "
                "only; replace the tab with spaces");
        return;
      }
  }
  if (p->problem && strstr(p->problem, "tab")) {
    fail_at(L, (unsigned)m->line + 1, (unsigned)m->column + 1, NULL,
            "tab character where YAML expects spaces: replace it with "
            "spaces");
    return;
  }
  if (p->problem && p->context &&
      (p->context_mark.line != m->line ||
       p->context_mark.column != m->column)) {
    fail_at(L, (unsigned)m->line + 1, (unsigned)m->column + 1, NULL,
            "YAML syntax error: %s %s that started at line %u, column %u",
            p->problem, p->context, (unsigned)p->context_mark.line + 1,
            (unsigned)p->context_mark.column + 1);
    return;
  }
  fail_at(L, (unsigned)m->line + 1, (unsigned)m->column + 1, NULL,
          "YAML syntax error: %s%s%s", p->problem ? p->problem : "error",
          p->context ? " " : "", p->context ? p->context : "");
}

int yaml_load_buffer(const char *name, const char *buf, size_t len,
                     const char *prefix, json_t **out, struct yaml_locs *t,
                     struct yaml_errors *errs)
{
  struct loader L;
  yaml_parser_t parser;
  yaml_event_t ev;
  int parser_ok = 0, done = 0, docs = 0, rc;
  size_t bad;

  memset(&L, 0, sizeof(L));
  L.name = name;
  L.buf = buf;
  L.len = len;
  L.t = t;
  L.errs = errs;
  *out = NULL;
  if (len > YAML_MAX_BYTES) {
    unsigned line, col;

    offset_pos(buf, YAML_MAX_BYTES, &line, &col);
    fail_at(&L, line, col, NULL,
            "file is larger than %u bytes (1 MiB): split it with include",
            YAML_MAX_BYTES);
    goto out;
  }
  bad = utf8_check((const unsigned char *)buf, len);
  if (bad < len) {
    unsigned line, col;

    offset_pos(buf, bad, &line, &col);
    fail_at(&L, line, col, NULL,
            "byte 0x%02x is not UTF-8: save the file as UTF-8",
            (unsigned char)buf[bad]);
    goto out;
  }
  if (prefix && *prefix && yaml_path_push_key(&L.path, prefix) == (size_t)-1) {
    L.nomem = 1;
    goto out;
  }
  L.trash = json_array();
  if (!L.trash || !yaml_parser_initialize(&parser)) {
    L.nomem = 1;
    goto out;
  }
  parser_ok = 1;
  yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
  while (!done && !L.nomem) {
    int r = 0;

    if (!yaml_parser_parse(&parser, &ev)) {
      libyaml_error(&L, &parser);
      break;
    }
    switch (ev.type) {
    case YAML_STREAM_END_EVENT:
      done = 1;
      break;
    case YAML_DOCUMENT_START_EVENT:
      if (++docs > 1) {
        fail_at(&L, (unsigned)ev.start_mark.line + 1,
                (unsigned)ev.start_mark.column + 1, NULL,
                "a second YAML document ('---'): put one document in "
                "each file");
        r = -1;
      }
      break;
    case YAML_ALIAS_EVENT: {
      size_t saved;

      if (L.depth && L.stack[L.depth - 1].is_map &&
          !L.stack[L.depth - 1].key) {
        saved = L.path.len;
      } else if (value_begin(&L, &saved)) {
        r = -1;
        break;
      }
      fail_at(&L, (unsigned)ev.start_mark.line + 1,
              (unsigned)ev.start_mark.column + 1, yaml_path_str(&L.path),
              "anchors and aliases are not supported (*%s): write the "
              "value out in full",
              (const char *)ev.data.alias.anchor);
      yaml_path_pop(&L.path, saved);
      r = -1;
      break;
    }
    case YAML_SCALAR_EVENT:
      r = on_scalar(&L, &ev);
      break;
    case YAML_SEQUENCE_START_EVENT:
      r = on_start(&L, &ev, 0);
      break;
    case YAML_MAPPING_START_EVENT:
      r = on_start(&L, &ev, 1);
      break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      r = on_end(&L);
      break;
    default:
      break;
    }
    yaml_event_delete(&ev);
    if (r)
      break;
  }
  if (done && !L.nomem && !L.root && !L.failed)
    fail_at(&L, 1, 1, NULL,
            "no YAML document: the file is empty or holds only comments");
out:
  if (parser_ok)
    yaml_parser_delete(&parser);
  while (L.depth)
    on_end(&L);
  yaml_path_free(&L.path);
  json_decref(L.trash);
  free(L.lines);
  if (L.nomem) {
    errs->nomem = 1;
    json_decref(L.root);
    return INTEG_ENOMEM;
  }
  rc = L.failed ? INTEG_ECONFIG : 0;
  if (done && L.root)
    *out = L.root;
  else
    json_decref(L.root);
  return rc;
}

int yaml_load_file(const char *path, const char *prefix, json_t **out,
                   struct yaml_locs *t, struct yaml_errors *errs)
{
  char *buf = NULL;
  size_t len = 0;
  int fd = -1, rc;
  struct stat st;

  *out = NULL;
  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0 || fstat(fd, &st) < 0) {
    rc = yaml_errors_add(errs, "%s: cannot read: %s", path, strerror(errno));
    rc = rc ? rc : INTEG_ECONFIG;
    goto out;
  }
  if (!S_ISREG(st.st_mode)) {
    rc = yaml_errors_add(errs, "%s: not a regular file", path);
    rc = rc ? rc : INTEG_ECONFIG;
    goto out;
  }
  /* Read one byte past the limit so the loader can say it was exceeded. */
  buf = malloc(YAML_MAX_BYTES + 2);
  if (!buf) {
    errs->nomem = 1;
    rc = INTEG_ENOMEM;
    goto out;
  }
  while (len < YAML_MAX_BYTES + 1) {
    ssize_t r = read(fd, buf + len, YAML_MAX_BYTES + 1 - len);

    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      rc = yaml_errors_add(errs, "%s: cannot read: %s", path, strerror(errno));
      rc = rc ? rc : INTEG_ECONFIG;
      goto out;
    }
    if (r == 0)
      break;
    len += (size_t)r;
  }
  buf[len] = '\0';
  rc = yaml_load_buffer(path, buf, len, prefix, out, t, errs);
out:
  if (fd >= 0)
    close(fd);
  free(buf);
  return rc;
}

int yaml_read_file(const char *path, json_t **out, struct integ_error *err)
{
  struct yaml_errors errs = {0};
  struct yaml_locs *t = yaml_locs_new();
  int rc;

  *out = NULL;
  if (!t)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  rc = yaml_load_file(path, "", out, t, &errs);
  if (rc) {
    json_decref(*out);
    *out = NULL;
    rc = yaml_errors_to_error(&errs, err);
  }
  yaml_errors_free(&errs);
  yaml_locs_free(t);
  return rc;
}
