/* template.c - compile and render the templates of declarative
 * connectors (see template.h for the syntax). Compiling does all the
 * checking, so that a mistake is found when a definition loads, at its
 * position, not on the first request. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "error.h"
#include "secrets.h"
#include "template.h"

#define TEMPLATE_MAX_PARTS 256
#define TEMPLATE_MAX_KEYS 16

enum part_kind { PART_TEXT, PART_VAR, PART_SECRET, PART_DATE };
enum filter_kind { FILTER_URLENCODE, FILTER_DATE, FILTER_DEFAULT };

struct filter {
  enum filter_kind kind;
  char *arg; /* owned: date format or default value; NULL for urlencode */
};

struct part {
  enum part_kind kind;
  char *text;  /* owned: PART_TEXT's bytes, PART_SECRET's reference as
                  written ("${env:X}"), PART_DATE's var name */
  size_t len;  /* of text */
  char **keys; /* owned, nkeys of them: namespace, then keys */
  size_t nkeys;
  struct filter *filters; /* owned */
  size_t nfilters;
};

struct template
{
  struct part *parts; /* owned */
  size_t n;
};

void template_free(struct template *t)
{
  if (!t)
    return;
  for (size_t i = 0; i < t->n; i++) {
    struct part *p = &t->parts[i];

    free(p->text);
    for (size_t k = 0; k < p->nkeys; k++)
      free(p->keys[k]);
    free(p->keys);
    for (size_t k = 0; k < p->nfilters; k++)
      free(p->filters[k].arg);
    free(p->filters);
  }
  free(t->parts);
  free(t);
}

int template_is_literal(const struct template *t)
{
  for (size_t i = 0; i < t->n; i++)
    if (t->parts[i].kind != PART_TEXT)
      return 0;
  return 1;
}

static int nomem(struct integ_error *err)
{
  return error_set(err, INTEG_ENOMEM, "out of memory compiling a template");
}

static char *dupn(const char *s, size_t n)
{
  char *d = malloc(n + 1);

  if (d) {
    memcpy(d, s, n);
    d[n] = '\0';
  }
  return d;
}

/* A new part at the end of t; NULL when out of memory or over the cap. */
static struct part *add_part(struct template *t, enum part_kind kind)
{
  struct part *p;

  if (t->n >= TEMPLATE_MAX_PARTS)
    return NULL;
  p = realloc(t->parts, (t->n + 1) * sizeof(*p));
  if (!p)
    return NULL;
  t->parts = p;
  p = &t->parts[t->n++];
  memset(p, 0, sizeof(*p));
  p->kind = kind;
  return p;
}

static int add_text(struct template *t, const char *s, size_t n,
                    struct integ_error *err)
{
  struct part *p;

  if (!n)
    return 0;
  if (t->n && t->parts[t->n - 1].kind == PART_TEXT) {
    p = &t->parts[t->n - 1];
    char *m = realloc(p->text, p->len + n + 1);

    if (!m)
      return nomem(err);
    memcpy(m + p->len, s, n);
    p->len += n;
    m[p->len] = '\0';
    p->text = m;
    return 0;
  }
  p = add_part(t, PART_TEXT);
  if (!p)
    return t->n >= TEMPLATE_MAX_PARTS
               ? error_set(err, INTEG_EINVAL, "template: more than %d parts",
                           TEMPLATE_MAX_PARTS)
               : nomem(err);
  p->text = dupn(s, n);
  p->len = n;
  return p->text ? 0 : nomem(err);
}

/* The strftime conversions a date: filter may use. */
static int date_conv_ok(char c)
{
  return c && strchr("aAbBcCdDeFgGhHIjmMnpRrsSTuUVwWxXyYzZ%", c) != NULL;
}

/* Check a date: format; *bad gets the 0-based offset of a bad '%'. */
static int date_format_ok(const char *f, size_t *bad)
{
  for (size_t i = 0; f[i]; i++) {
    if (f[i] != '%')
      continue;
    if (!date_conv_ok(f[i + 1])) {
      *bad = i;
      return 0;
    }
    i++;
  }
  return 1;
}

static int is_name_char(char c)
{
  return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* Trim spaces from [*s, *e). */
static void trim(const char **s, const char **e)
{
  while (*s < *e && **s == ' ')
    (*s)++;
  while (*e > *s && (*e)[-1] == ' ')
    (*e)--;
}

/* One filter, [s, e) of the whole text starting at `text`. */
static int parse_filter(struct part *p, const char *text, const char *s,
                        const char *e, struct integ_error *err)
{
  const char *colon;
  struct filter *f;
  size_t at = (size_t)(s - text) + 1, nlen;

  trim(&s, &e);
  colon = memchr(s, ':', (size_t)(e - s));
  nlen = (size_t)((colon ? colon : e) - s);
  f = realloc(p->filters, (p->nfilters + 1) * sizeof(*f));
  if (!f)
    return nomem(err);
  p->filters = f;
  f = &p->filters[p->nfilters];
  f->arg = NULL;
  if (nlen == 9 && memcmp(s, "urlencode", 9) == 0 && !colon) {
    f->kind = FILTER_URLENCODE;
  } else if (nlen == 4 && memcmp(s, "date", 4) == 0 && colon) {
    size_t bad = 0;

    f->kind = FILTER_DATE;
    if (!(f->arg = dupn(colon + 1, (size_t)(e - colon - 1))))
      return nomem(err);
    if (!*f->arg || !date_format_ok(f->arg, &bad)) {
      size_t pos = (size_t)(colon + 1 - text) + bad + 1;

      free(f->arg);
      return error_set(err, INTEG_EINVAL,
                       "character %zu: bad date format '%.*s': %s", pos,
                       (int)(e - colon - 1), colon + 1,
                       e > colon + 1 ? "each % is followed by a strftime "
                                       "conversion (%Y, %m, %d, %H, %M, "
                                       "%S, ...)"
                                     : "empty");
    }
  } else if (nlen == 7 && memcmp(s, "default", 7) == 0 && colon) {
    f->kind = FILTER_DEFAULT;
    if (!(f->arg = dupn(colon + 1, (size_t)(e - colon - 1))))
      return nomem(err);
  } else {
    return error_set(err, INTEG_EINVAL,
                     "character %zu: unknown filter '%.*s' (use urlencode, "
                     "date:FORMAT or default:VALUE)",
                     at, (int)(e - s), s);
  }
  p->nfilters++;
  return 0;
}

/* A variable "ns.key.key" in [s, e), checked against known. */
static int parse_var(struct part *p, const char *text, const char *s,
                     const char *e, json_t *known, struct integ_error *err)
{
  const char *q = s, *start = s;
  json_t *ns;

  trim(&s, &e);
  start = s;
  if (s == e)
    return error_set(err, INTEG_EINVAL,
                     "character %zu: empty ${}: name a variable, as "
                     "${config.KEY}",
                     (size_t)(s - text) + 1);
  for (q = s; q <= e; q++) {
    char **k;

    if (q < e && is_name_char(*q))
      continue;
    if (q < e && *q != '.')
      return error_set(err, INTEG_EINVAL,
                       "character %zu: '%c' in a variable name (names are "
                       "letters, digits, _ and -, joined by .)",
                       (size_t)(q - text) + 1, *q);
    if (q == s || p->nkeys >= TEMPLATE_MAX_KEYS)
      return error_set(
          err, INTEG_EINVAL, "character %zu: a variable name part is %s",
          (size_t)(q - text) + 1, q == s ? "empty" : "one too many");
    k = realloc(p->keys, (p->nkeys + 1) * sizeof(*k));
    if (!k)
      return nomem(err);
    p->keys = k;
    if (!(p->keys[p->nkeys] = dupn(s, (size_t)(q - s))))
      return nomem(err);
    p->nkeys++;
    s = q + 1;
  }
  if (!known)
    return 0;
  ns = json_object_get(known, p->keys[0]);
  if (!ns || p->nkeys < 2) {
    struct buf names = BUF_INIT;
    const char *name;
    json_t *v;
    int rc;

    json_object_foreach(known, name, v)
    {
      if (buf_printf(&names, "%s${%s.%s}", names.len ? ", " : "", name,
                     json_is_object(v) ? "KEY" : "x"))
        break;
    }
    rc = error_set(err, INTEG_EINVAL,
                   "character %zu: unknown variable '%.*s' (known here: %s)",
                   (size_t)(start - text) + 1, (int)(e - start), start,
                   names.data ? names.data : "none");
    buf_free(&names);
    return rc;
  }
  if (json_is_object(ns) && !json_object_get(ns, p->keys[1]))
    return error_set(err, INTEG_EINVAL,
                     "character %zu: unknown variable '%.*s': %s has no "
                     "key '%s'",
                     (size_t)(start - text) + 1, (int)(e - start), start,
                     p->keys[0], p->keys[1]);
  return 0;
}

/* ${...} at text[i] ("${" already seen); *next gets the index after '}'. */
static int parse_expr(struct template *t, const char *text, size_t len,
                      size_t i, json_t *known, size_t *next,
                      struct integ_error *err)
{
  const char *s = text + i + 2, *end = text + len, *close, *bar;
  struct part *p;
  int rc;

  close = memchr(s, '}', (size_t)(end - s));
  if (!close)
    return error_set(err, INTEG_EINVAL,
                     "character %zu: '${' without its closing '}'", i + 1);
  *next = (size_t)(close - text) + 1;
  if ((size_t)(close - s) > 4 &&
      (memcmp(s, "env:", 4) == 0 || memcmp(s, "file:", 5) == 0)) {
    p = add_part(t, PART_SECRET);
    if (!p)
      return nomem(err);
    p->len = (size_t)(close - (text + i)) + 1;
    p->text = dupn(text + i, p->len);
    return p->text ? 0 : nomem(err);
  }
  p = add_part(t, PART_VAR);
  if (!p)
    return t->n >= TEMPLATE_MAX_PARTS
               ? error_set(err, INTEG_EINVAL, "template: more than %d parts",
                           TEMPLATE_MAX_PARTS)
               : nomem(err);
  bar = memchr(s, '|', (size_t)(close - s));
  rc = parse_var(p, text, s, bar ? bar : close, known, err);
  while (!rc && bar) {
    const char *from = bar + 1;

    bar = memchr(from, '|', (size_t)(close - from));
    rc = parse_filter(p, text, from, bar ? bar : close, err);
  }
  return rc;
}

int template_compile(const char *text, size_t len, json_t *known,
                     struct template **out, struct integ_error *err)
{
  struct template *t = calloc(1, sizeof(*t));
  size_t i = 0, from = 0;
  int rc = 0;

  *out = NULL;
  if (!t)
    return nomem(err);
  if (memchr(text, '\0', len)) {
    rc = error_set(err, INTEG_EINVAL, "character %zu: a NUL byte",
                   (size_t)((const char *)memchr(text, '\0', len) - text) + 1);
    goto out;
  }
  while (i < len && !rc) {
    static const char *const dates[] = {"#DATE#", "#START#", "#END#"};
    static const char *const names[] = {"date", "start", "end"};
    size_t d, next = len;

    if (text[i] == '$' && i + 2 < len && text[i + 1] == '$' &&
        text[i + 2] == '{') {
      rc = add_text(t, text + from, i - from, err);
      if (!rc)
        rc = add_text(t, "${", 2, err);
      i += 3;
      from = i;
      continue;
    }
    if (text[i] == '$' && i + 1 < len && text[i + 1] == '{') {
      rc = add_text(t, text + from, i - from, err);
      if (!rc)
        rc = parse_expr(t, text, len, i, known, &next, err);
      i = from = next;
      continue;
    }
    for (d = 0; d < 3; d++)
      if (text[i] == '#' && len - i >= strlen(dates[d]) &&
          memcmp(text + i, dates[d], strlen(dates[d])) == 0)
        break;
    if (d == 3) {
      i++;
      continue;
    }
    rc = add_text(t, text + from, i - from, err);
    if (!rc) {
      struct part *p = add_part(t, PART_DATE);

      if (!p || !(p->text = strdup(names[d])))
        rc = nomem(err);
    }
    i += strlen(dates[d]);
    from = i;
  }
  if (!rc)
    rc = add_text(t, text + from, len - from, err);
out:
  if (rc) {
    template_free(t);
    return rc;
  }
  *out = t;
  return 0;
}

/* ------------------------------------------------------------ render */

static int urlencode(struct buf *b, const char *s)
{
  static const char hex[] = "0123456789ABCDEF";

  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    char e[3] = {'%', hex[c >> 4], hex[c & 15]};
    int rc = isalnum(c) || strchr("-._~", c) ? buf_append(b, s, 1)
                                             : buf_append(b, e, 3);

    if (rc)
      return rc;
  }
  return 0;
}

/* The text of a scalar value into *out (a new string); NULL for null. */
static int scalar_text(json_t *v, char **out)
{
  char num[64];

  *out = NULL;
  if (json_is_string(v))
    *out = strdup(json_string_value(v));
  else if (json_is_integer(v)) {
    snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    *out = strdup(num);
  } else if (json_is_real(v)) {
    /* The shortest text that reads back as the value. */
    for (int prec = 15; prec <= 17; prec++) {
      snprintf(num, sizeof(num), "%.*g", prec, json_real_value(v));
      if (strtod(num, NULL) == json_real_value(v))
        break;
    }
    *out = strdup(num);
  } else if (json_is_boolean(v))
    *out = strdup(json_is_true(v) ? "true" : "false");
  else if (json_is_null(v) || !v)
    return 0;
  else
    *out = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
  return *out ? 0 : INTEG_ENOMEM;
}

/* date:FORMAT applied to *s (RFC 3339 text or epoch seconds). */
static int date_filter(char **s, const char *fmt, const char *name,
                       struct integ_error *err)
{
  int64_t ms = 0;
  char *end = NULL, out[256];
  struct tm tm;
  time_t secs;
  struct integ_error perr = {0, ""};
  long long n = strtoll(*s, &end, 10);

  if (end && *end == '\0' && end != *s)
    ms = (int64_t)n * 1000;
  else if (clock_parse_rfc3339(*s, strlen(*s), &ms, &perr))
    return error_set(err, INTEG_EINVAL,
                     "${%s | date:%s}: '%s' is neither an RFC 3339 time nor "
                     "epoch seconds (%s)",
                     name, fmt, *s, perr.message);
  secs = (time_t)(ms / 1000 - (ms % 1000 < 0));
  if (!gmtime_r(&secs, &tm))
    return error_set(err, INTEG_EINVAL, "${%s}: time out of range", name);
    /* fmt was checked at compile time (date_format_ok). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  if (!strftime(out, sizeof(out), fmt, &tm))
    out[0] = '\0';
#pragma GCC diagnostic pop
  free(*s);
  *s = strdup(out);
  return *s ? 0 : error_set(err, INTEG_ENOMEM, "out of memory");
}

static int render_var(const struct part *p, json_t *vars, struct buf *b,
                      struct integ_error *err)
{
  json_t *v = vars;
  char *s = NULL, name[256];
  size_t used = 0;
  int rc = 0, encode = 0;

  name[0] = '\0';
  for (size_t k = 0; k < p->nkeys; k++) {
    int n = snprintf(name + used, sizeof(name) - used, "%s%s", k ? "." : "",
                     p->keys[k]);

    if (n > 0 && (size_t)n < sizeof(name) - used)
      used += (size_t)n;
    v = json_object_get(v, p->keys[k]);
  }
  rc = scalar_text(v, &s);
  if (rc)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  for (size_t f = 0; f < p->nfilters && !rc; f++) {
    const struct filter *fl = &p->filters[f];

    if (fl->kind == FILTER_DEFAULT && !s && !(s = strdup(fl->arg)))
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
    else if (fl->kind == FILTER_URLENCODE)
      encode = 1;
    else if (fl->kind == FILTER_DATE && s)
      rc = date_filter(&s, fl->arg, name, err);
  }
  if (!rc && !s)
    rc = error_set(err, INTEG_EINVAL,
                   "${%s} has no value (give it one, or add "
                   "| default:VALUE)",
                   name);
  if (!rc)
    rc = encode ? urlencode(b, s) : buf_appends(b, s);
  if (rc == INTEG_ENOMEM)
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
  free(s);
  return rc;
}

int template_render(const struct template *t, json_t *vars, const char *base,
                    char **out, int *secret, struct integ_error *err)
{
  struct buf b = BUF_INIT;
  int rc = 0;

  *out = NULL;
  if (secret)
    *secret = 0;
  for (size_t i = 0; i < t->n && !rc; i++) {
    const struct part *p = &t->parts[i];

    switch (p->kind) {
    case PART_TEXT:
      rc = buf_append(&b, p->text, p->len);
      if (rc)
        rc = error_set(err, INTEG_ENOMEM, "out of memory");
      break;
    case PART_VAR:
      rc = render_var(p, vars, &b, err);
      break;
    case PART_DATE: {
      json_t *v = json_object_get(vars, p->text);

      if (!json_is_string(v))
        rc = error_set(err, INTEG_EINVAL,
                       "#%s# has no value here (only windows give dates)",
                       p->text);
      else if (buf_appends(&b, json_string_value(v)))
        rc = error_set(err, INTEG_ENOMEM, "out of memory");
      break;
    }
    case PART_SECRET: {
      char *val = NULL;
      size_t vlen = 0;
      int refs = 0;

      rc = secrets_resolve(p->text, p->len, base, &val, &vlen, &refs, err);
      if (!rc && val && buf_append(&b, val, vlen))
        rc = error_set(err, INTEG_ENOMEM, "out of memory");
      if (!rc && refs && secret)
        *secret = 1;
      free(val);
      break;
    }
    }
  }
  if (!rc && buf_append(&b, "", 1))
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
  if (rc) {
    buf_free(&b);
    return rc;
  }
  *out = b.data;
  return 0;
}
