/* collection.c - generated record collections served page by page. */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collection.h"
#include "util.h"

enum kind { KIND_ITEM, KIND_USER, KIND_ORDER };

enum paging {
  PAGING_PAGE,
  PAGING_OFFSET,
  PAGING_CURSOR,
  PAGING_NEXT_URL,
  PAGING_LINK,
  PAGING_NONE
};

struct collection {
  json_t *spec; /* owned reference; the strings below point into it */
  enum kind kind;
  enum paging paging;
  uint64_t seed;
  size_t count, count_max; /* count_max > count: varies per parent */
  size_t page_size, max_page_size;
  size_t grow;
  int64_t start;     /* updated_at of record 1, epoch seconds */
  int64_t step;      /* seconds between neighbours */
  size_t same_every; /* record k*n+1 shares record k*n's updated_at */
  int desc;          /* newest first */
  int inclusive;     /* incremental filter is >=, not > */
  int ensure_ascii;  /* \uXXXX escapes for all non-ASCII */
  int64_t id_stride; /* id = parent * stride + i */
  const char *incremental_param; /* NULL: no filter */
  const char *until_param;       /* NULL: no upper bound (updated_at < it) */
  const char *records_key;
  const char *page_param; /* page, offset or cursor */
  const char *size_param; /* per_page or limit */
  const char *parent_param, *parent_field;
  struct transport t;
  json_t *headers; /* owned, or NULL */
  /* Rounds: the data as it is after `round` rounds of changes (testapi
   * --round). A collection with add/update changes itself; one that
   * follows another changes the children of the parents that changed. */
  size_t round;
  size_t round_add, round_update;
  int64_t round_every;             /* seconds between rounds */
  const char *follow;              /* route path of the parent collection */
  const struct collection *parent; /* resolved `follow`, borrowed */
};

static const char *const collection_keys[] = {"kind",
                                              "count",
                                              "count_max",
                                              "seed",
                                              "page_size",
                                              "max_page_size",
                                              "pagination",
                                              "incremental_param",
                                              "incremental_inclusive",
                                              "until_param",
                                              "grow_per_request",
                                              "start_time",
                                              "step_seconds",
                                              "same_updated_at_every",
                                              "order",
                                              "records_key",
                                              "page_param",
                                              "size_param",
                                              "parent_param",
                                              "parent_field",
                                              "id_stride",
                                              "ensure_ascii",
                                              "rounds",
                                              NULL};

/* ------------------------------------------------------------ parsing */

static int opt_uint(json_t *spec, const char *where, const char *key,
                    json_int_t max, json_int_t *out, struct integ_error *err)
{
  json_t *v = json_object_get(spec, key);

  if (!v)
    return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0 ||
      json_integer_value(v) > max)
    return util_error_set(err, INTEG_ECONFIG,
                          "%s.%s: expected an integer from 0 to %lld", where,
                          key, (long long)max);
  *out = json_integer_value(v);
  return 0;
}

static int opt_str(json_t *spec, const char *where, const char *key,
                   const char **out, struct integ_error *err)
{
  json_t *v = json_object_get(spec, key);

  if (!v)
    return 0;
  if (!json_is_string(v) || !*json_string_value(v))
    return util_error_set(err, INTEG_ECONFIG,
                          "%s.%s: expected a non-empty string", where, key);
  *out = json_string_value(v);
  return 0;
}

static int opt_bool(json_t *spec, const char *where, const char *key, int *out,
                    struct integ_error *err)
{
  json_t *v = json_object_get(spec, key);

  if (!v)
    return 0;
  if (!json_is_boolean(v))
    return util_error_set(err, INTEG_ECONFIG, "%s.%s: expected true or false",
                          where, key);
  *out = json_is_true(v);
  return 0;
}

static int check_keys(json_t *spec, const char *where, struct integ_error *err)
{
  const char *key;
  json_t *v;
  size_t i;

  json_object_foreach(spec, key, v)
  {
    if (reply_is_transport_key(key))
      continue;
    for (i = 0; collection_keys[i]; i++)
      if (strcmp(key, collection_keys[i]) == 0)
        break;
    if (!collection_keys[i])
      return util_error_set(err, INTEG_ECONFIG,
                            "%s: unknown key \"%s\" (known: kind, count, "
                            "seed, page_size, pagination, "
                            "incremental_param, grow_per_request, ...; "
                            "see tests/testapi/README.md)",
                            where, key);
  }
  return 0;
}

static int parse_enum(json_t *spec, const char *where, const char *key,
                      const char *const *names, int *out,
                      struct integ_error *err)
{
  const char *s = NULL;
  int i, rc;

  if ((rc = opt_str(spec, where, key, &s, err)) || !s)
    return rc;
  for (i = 0; names[i]; i++) {
    if (strcmp(s, names[i]) == 0) {
      *out = i;
      return 0;
    }
  }
  return util_error_set(err, INTEG_ECONFIG, "%s.%s: unknown value \"%s\"",
                        where, key, s);
}

/* "rounds": {"add": N, "update": N, "every_seconds": S} or
 * {"follow": "/parent/route"}. */
static int parse_rounds(struct collection *c, json_t *r, const char *where,
                        struct integ_error *err)
{
  static const char *const keys[] = {"add", "update", "every_seconds",
                                     "follow", NULL};
  char w[160];
  const char *key;
  json_t *v;
  json_int_t n;
  size_t i;
  int rc;

  if (!r)
    return 0;
  snprintf(w, sizeof(w), "%s.rounds", where);
  if (!json_is_object(r))
    return util_error_set(err, INTEG_ECONFIG, "%s: expected an object", w);
  json_object_foreach(r, key, v)
  {
    for (i = 0; keys[i] && strcmp(key, keys[i]); i++)
      ;
    if (!keys[i])
      return util_error_set(err, INTEG_ECONFIG,
                            "%s: unknown key \"%s\" (known: add, update, "
                            "every_seconds, follow)",
                            w, key);
  }
  n = 0;
  if ((rc = opt_uint(r, w, "add", 1000, &n, err)))
    return rc;
  c->round_add = (size_t)n;
  n = 0;
  if ((rc = opt_uint(r, w, "update", 1000, &n, err)))
    return rc;
  c->round_update = (size_t)n;
  n = 86400;
  if ((rc = opt_uint(r, w, "every_seconds", 86400 * 366, &n, err)))
    return rc;
  c->round_every = n;
  if ((rc = opt_str(r, w, "follow", &c->follow, err)))
    return rc;
  if (c->follow && (c->round_add || c->round_update))
    return util_error_set(err, INTEG_ECONFIG,
                          "%s: give either add/update or follow", w);
  if (c->follow && !c->parent_param)
    return util_error_set(err, INTEG_ECONFIG,
                          "%s.follow: needs parent_param (a per-parent "
                          "collection)",
                          w);
  if (!c->follow && (c->parent_param || c->grow || c->count_max > c->count))
    return util_error_set(err, INTEG_ECONFIG,
                          "%s: add/update cannot be combined with "
                          "parent_param, count_max or grow_per_request",
                          w);
  if (!c->follow &&
      c->round_every <= c->step * (int64_t)(c->round_add + c->round_update))
    return util_error_set(err, INTEG_ECONFIG,
                          "%s.every_seconds: must exceed step_seconds times "
                          "the changes of one round",
                          w);
  return 0;
}

int collection_parse(json_t *spec, const char *where, uint64_t default_seed,
                     struct collection **out, struct integ_error *err)
{
  static const char *const kinds[] = {"item", "user", "order", NULL};
  static const char *const pagings[] = {"page", "offset", "cursor", "next_url",
                                        "link", "none",   NULL};
  static const char *const orders[] = {"asc", "desc", NULL};
  struct collection *c = NULL;
  const char *start = NULL;
  json_int_t n;
  int rc, e;

  if (!json_is_object(spec))
    return util_error_set(err, INTEG_ECONFIG, "%s: expected an object", where);
  if ((rc = check_keys(spec, where, err)))
    return rc;
  c = calloc(1, sizeof(*c));
  if (!c)
    return util_error_set(err, INTEG_ENOMEM, "%s: out of memory", where);
  c->spec = json_incref(spec);
  c->seed = default_seed;
  c->count = 100;
  c->page_size = 100;
  c->max_page_size = 1000;
  c->start = 1704067200; /* 2024-01-01T00:00:00Z */
  c->step = 60;
  c->same_every = 5;
  c->records_key = "data";

  e = KIND_ITEM;
  if ((rc = parse_enum(spec, where, "kind", kinds, &e, err)))
    goto out;
  c->kind = (enum kind)e;
  e = PAGING_PAGE;
  if ((rc = parse_enum(spec, where, "pagination", pagings, &e, err)))
    goto out;
  c->paging = (enum paging)e;
  e = 0;
  if ((rc = parse_enum(spec, where, "order", orders, &e, err)))
    goto out;
  c->desc = e;

  n = (json_int_t)c->count;
  if ((rc = opt_uint(spec, where, "count", 100000000, &n, err)))
    goto out;
  c->count = (size_t)n;
  n = 0;
  if ((rc = opt_uint(spec, where, "count_max", 100000000, &n, err)))
    goto out;
  c->count_max = (size_t)n;
  n = (json_int_t)c->seed;
  if (json_object_get(spec, "seed") &&
      (rc = opt_uint(spec, where, "seed", INT64_MAX, &n, err)))
    goto out;
  c->seed = (uint64_t)n;
  n = (json_int_t)c->page_size;
  if ((rc = opt_uint(spec, where, "page_size", 1000000, &n, err)))
    goto out;
  c->page_size = (size_t)n;
  n = (json_int_t)(c->page_size > c->max_page_size ? c->page_size
                                                   : c->max_page_size);
  if ((rc = opt_uint(spec, where, "max_page_size", 1000000, &n, err)))
    goto out;
  c->max_page_size = (size_t)n;
  if (c->page_size < 1 || c->max_page_size < c->page_size) {
    rc = util_error_set(err, INTEG_ECONFIG,
                        "%s: page_size must be at least 1 and at most "
                        "max_page_size",
                        where);
    goto out;
  }
  n = 0;
  if ((rc = opt_uint(spec, where, "grow_per_request", 1000000, &n, err)))
    goto out;
  c->grow = (size_t)n;
  n = c->step;
  if ((rc = opt_uint(spec, where, "step_seconds", 86400 * 366, &n, err)))
    goto out;
  c->step = n;
  n = (json_int_t)c->same_every;
  if ((rc = opt_uint(spec, where, "same_updated_at_every", 1000000, &n, err)))
    goto out;
  c->same_every = (size_t)n;
  n = 0;
  if ((rc = opt_uint(spec, where, "id_stride", 1000000000, &n, err)))
    goto out;
  c->id_stride = n;

  if ((rc = opt_str(spec, where, "start_time", &start, err)))
    goto out;
  if (start && util_parse_time(start, &c->start)) {
    rc = util_error_set(err, INTEG_ECONFIG,
                        "%s.start_time: expected an RFC 3339 time such as "
                        "2024-01-01T00:00:00Z, got \"%s\"",
                        where, start);
    goto out;
  }
  if ((rc = opt_str(spec, where, "incremental_param", &c->incremental_param,
                    err)) ||
      (rc = opt_str(spec, where, "until_param", &c->until_param, err)) ||
      (rc = opt_str(spec, where, "records_key", &c->records_key, err)) ||
      (rc = opt_str(spec, where, "parent_param", &c->parent_param, err)) ||
      (rc = opt_str(spec, where, "parent_field", &c->parent_field, err)) ||
      (rc = opt_bool(spec, where, "incremental_inclusive", &c->inclusive,
                     err)) ||
      (rc = opt_bool(spec, where, "ensure_ascii", &c->ensure_ascii, err)))
    goto out;

  switch (c->paging) {
  case PAGING_PAGE:
  case PAGING_LINK:
    c->page_param = "page";
    c->size_param = "per_page";
    break;
  case PAGING_OFFSET:
    c->page_param = "offset";
    c->size_param = "limit";
    break;
  default:
    c->page_param = "cursor";
    c->size_param = "limit";
    break;
  }
  if ((rc = opt_str(spec, where, "page_param", &c->page_param, err)) ||
      (rc = opt_str(spec, where, "size_param", &c->size_param, err)))
    goto out;
  if (c->parent_field && !c->parent_param) {
    rc = util_error_set(err, INTEG_ECONFIG,
                        "%s: parent_field needs parent_param (the path "
                        "parameter whose value it holds)",
                        where);
    goto out;
  }
  if (c->kind == KIND_ORDER && !c->parent_field && c->parent_param)
    c->parent_field = "user_id";

  if ((rc = parse_rounds(c, json_object_get(spec, "rounds"), where, err)))
    goto out;
  if ((rc = reply_parse_transport(spec, where, &c->t, &c->headers, err)))
    goto out;
  *out = c;
  c = NULL;
  rc = 0;
out:
  collection_free(c);
  return rc;
}

void collection_free(struct collection *c)
{
  if (!c)
    return;
  json_decref(c->headers);
  json_decref(c->spec);
  free(c);
}

size_t collection_grow_step(const struct collection *c)
{
  return c->grow;
}

void collection_set_round(struct collection *c, size_t round)
{
  c->round = round;
}

const char *collection_follows(const struct collection *c)
{
  return c->follow;
}

int collection_link(struct collection *child, const struct collection *parent)
{
  if (!parent->round_add && !parent->round_update)
    return INTEG_EINVAL;
  child->parent = parent;
  return 0;
}

/* ------------------------------------------------------------ records */

struct lit {
  const char *s;
  size_t len;
};
#define LIT(s)                                                                \
  {                                                                           \
    s, sizeof(s) - 1                                                          \
  }

/* Names that break naive JSON handling: quotes, backslashes, controls,
 * NUL, non-BMP characters (surrogate pairs in \u form), U+2028/2029,
 * right-to-left text, combining marks. */
static const struct lit item_names[] = {
    LIT("Plain ASCII widget"),
    LIT("Zo\xc3\xab \"Zee\" \xc3\x85ngstr\xc3\xb6m"),
    LIT("C:\\Users\\bob\\file.txt"),
    LIT("Tab\there, newline\nthere, return\r"),
    LIT("Controls \x01\x02\x1f and DEL \x7f"),
    LIT("NUL\0inside"),
    LIT("\xe6\x9d\x8e\xe5\xb0\x8f\xe9\xbe\x99"),
    LIT("Grinning \xf0\x9f\x98\x80 face"),
    LIT("G clef \xf0\x9d\x84\x9e and \xf0\xa0\x9c\x8e"),
    LIT("O'Brien & <Sons> </script>"),
    LIT("line\xe2\x80\xa8separator\xe2\x80\xa9paragraph"),
    LIT("\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7 right-to-left"),
    LIT("e\xcc\x81 combining, \xc3\xa9 precomposed"),
    LIT("Family \xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d"
        "\xf0\x9f\x91\xa7 ZWJ"),
    LIT("/slashes/ and \\/ escaped"),
    LIT("{\"looks\": [\"like\", \"json\"]}"),
};

/* People, realistic but with the same traps (no control characters). */
static const struct lit first_names[] = {
    LIT("Ada"),
    LIT("Zo\xc3\xab"),
    LIT("Jos\xc3\xa9"),
    LIT("Siobh\xc3\xa1n"),
    LIT("\xe5\xb0\x8f\xe9\xbe\x99"),
    LIT("Ahmed \"Al\""),
    LIT("\xc3\x91uria"),
    LIT("\xce\x94\xce\xb7\xce\xbc\xce\xae\xcf\x84\xcf\x81\xce\xb7\xcf\x82"),
    LIT("Grace"),
    LIT("\xd0\xa1\xd0\xb5\xd1\x80\xd0\xb3\xd0\xb5\xd0\xb9"),
    LIT("Bj\xc3\xb6rk \xf0\x9f\x8e\xb5"),
    LIT("Linus"),
};
static const struct lit last_names[] = {
    LIT("Lovelace"),
    LIT("\xc3\x85ngstr\xc3\xb6m"),
    LIT("O'Brien"),
    LIT("\xc3\x81lvarez-Pe\xc3\xb1"
        "a"),
    LIT("Back\\slash"),
    LIT("Hopper"),
    LIT("\xe6\x9d\x8e"),
    LIT("Nakamura \xf0\xa0\x80\x8b"),
    LIT("M\xc3\xbcller"),
    LIT("Torvalds"),
    LIT("\xd8\xad\xd8\xb3\xd9\x86"),
};
static const char *const cities[] = {"Berlin",
                                     "S\xc3\xa3o Paulo",
                                     "K\xc3\xb8"
                                     "benhavn",
                                     "Tokyo",
                                     "Reykjav\xc3\xadk",
                                     "Z\xc3\xbcrich",
                                     "New York",
                                     "Montr\xc3\xa9"
                                     "al"};
static const char *const countries[] = {"DE", "BR", "DK", "JP",
                                        "IS", "CH", "US", "CA"};
static const char *const colors[] = {"red", "green", "blue", "black", "white"};
static const char *const statuses[] = {"pending",   "paid",     "shipped",
                                       "delivered", "refunded", "cancelled"};
static const char *const currencies[] = {"EUR", "USD", "JPY", "GBP"};
static const char *const products[] = {"Widget",
                                       "Gadget \"Pro\"",
                                       "Caf\xc3\xa9 cup",
                                       "Cable 2m \xe2\x80\x93 USB-C",
                                       "Back\\pack",
                                       "\xe6\x89\x8b\xe6\x8f\x90\xe5\x8c\x85",
                                       "Sticker \xf0\x9f\xa6\x84"};

/* Reals whose shortest text is short, plus exponents both ways. */
static const double odd_reals[] = {1e-7, 2.5e-10,    -0.5, 6.02214076e23,
                                   0.1,  -1234.5678, 1e300};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct rng {
  uint64_t s;
};

static uint64_t rng_next(struct rng *g)
{
  g->s += 0x9e3779b97f4a7c15ull;
  return util_mix(g->s);
}

static uint64_t parent_hash(const char *parent)
{
  return parent ? util_hash_str(parent) : 0;
}

/* Records in the collection for this parent, before growth. */
static size_t base_count(const struct collection *c, const char *parent)
{
  uint64_t h;

  if (c->count_max <= c->count)
    return c->count;
  h = util_mix(c->seed ^ parent_hash(parent) ^ 0x5bd1e995u);
  return c->count + (size_t)(h % (c->count_max - c->count + 1));
}

/* updated_at of record i: never decreases; with same_every = n, record
 * k*n+1 shares record k*n's time, so a page boundary can split a tie. */
static int64_t updated_at(const struct collection *c, size_t i)
{
  size_t g = i;

  if (c->same_every > 0 && i > 1 && i % c->same_every == 1)
    g = i - 1;
  return c->start + c->step * (int64_t)(g - 1);
}

static int set_time(json_t *o, const char *key, int64_t t)
{
  char buf[32];

  util_format_time(t, buf, sizeof(buf));
  return json_object_set_new(o, key, json_string(buf));
}

static int set_lit(json_t *o, const char *key, const struct lit *l)
{
  return json_object_set_new(o, key, json_stringn(l->s, l->len));
}

/* A real with at most `decimals` decimals, from integer units. */
static json_t *money(uint64_t units, int decimals)
{
  double scale = 1.0;
  int k;

  for (k = 0; k < decimals; k++)
    scale *= 10.0;
  /* One correctly rounded division gives the double nearest the decimal,
   * which prints back short ("39.26", not "39.260000000000005"). */
  return json_real((double)units / scale);
}

/* The parent's value as JSON: an integer when it is one. */
static json_t *parent_value(const char *parent, int64_t *num)
{
  uint64_t u;

  if (util_parse_size(parent, INT64_MAX, &u) == 0) {
    *num = (int64_t)u;
    return json_integer((json_int_t)u);
  }
  *num = 0;
  return json_string(parent);
}

static int fill_item(json_t *o, struct rng *g, size_t i)
{
  json_t *attrs, *tags;
  uint64_t r = rng_next(g);
  size_t k, ntags;
  int bad = 0;

  bad |= set_lit(o, "name", &item_names[(i - 1) % COUNT(item_names)]);
  bad |= json_object_set_new(o, "price", money(r % 1000000, 3));
  bad |= json_object_set_new(o, "ratio",
                             json_real(odd_reals[i % COUNT(odd_reals)]));
  bad |= json_object_set_new(o, "quantity",
                             json_integer((json_int_t)(r >> 20) % 1000));
  /* 2^53 + 1 and up by two: no double holds these exactly. */
  bad |= json_object_set_new(
      o, "big", json_integer((json_int_t)(9007199254740993ll + 2 * (i - 1))));
  bad |= json_object_set_new(o, "max_int64", json_integer(INT64_MAX));
  bad |= json_object_set_new(o, "min_int64", json_integer(INT64_MIN));
  bad |= json_object_set_new(o, "active", json_boolean(r >> 40 & 1));
  bad |= json_object_set_new(o, "deleted_at", json_null());
  tags = json_array();
  ntags = (size_t)(r >> 44) % 4;
  for (k = 0; tags && k < ntags; k++)
    bad |= json_array_append_new(
        tags, json_string(colors[(r >> (48 + 2 * k)) % COUNT(colors)]));
  bad |= json_object_set_new(o, "tags", tags);
  r = rng_next(g);
  attrs = json_pack("{s:s, s:{s:f, s:f, s:s}, s:{s:I, s:s}, s:{}, s:[]}",
                    "color", colors[r % COUNT(colors)], "dimensions", "w",
                    (double)(r >> 8 & 0xffff) / 100.0, "h",
                    (double)(r >> 24 & 0xffff) / 100.0, "unit", "cm", "owner",
                    "id", (json_int_t)(r >> 40 & 0xfff) + 1, "city",
                    cities[(r >> 52) % COUNT(cities)], "empty_object",
                    "empty_array");
  bad |= json_object_set_new(o, "attributes", attrs);
  return bad ? INTEG_ENOMEM : 0;
}

static int fill_user(json_t *o, struct rng *g, int64_t id, int64_t first,
                     int64_t upd)
{
  const struct lit *fn, *ln;
  uint64_t r = rng_next(g), r2 = rng_next(g);
  json_t *name = NULL, *addr;
  char *buf = NULL, email[64];
  int bad = 0;

  fn = &first_names[r % COUNT(first_names)];
  ln = &last_names[(r >> 8) % COUNT(last_names)];
  buf = malloc(fn->len + ln->len + 2);
  if (!buf)
    return INTEG_ENOMEM;
  memcpy(buf, fn->s, fn->len);
  buf[fn->len] = ' ';
  memcpy(buf + fn->len + 1, ln->s, ln->len);
  name = json_stringn(buf, fn->len + ln->len + 1);
  free(buf);
  bad |= json_object_set_new(o, "name", name);
  snprintf(email, sizeof(email), "user%" PRId64 "@example.com", id);
  bad |= json_object_set_new(o, "email", json_string(email));
  bad |= set_time(o, "created_at", first - (int64_t)(r % (86400 * 30)));
  bad |= json_object_set_new(
      o, "country", json_string(countries[(r >> 16) % COUNT(countries)]));
  bad |= json_object_set_new(o, "balance", money(r2 % 10000000, 2));
  bad |= json_object_set_new(
      o, "lifetime_value_micros",
      json_integer(
          (json_int_t)(9007199254740993ll + (int64_t)(r2 % 1000) * 2)));
  addr = json_pack(
      "{s:s, s:s, s:s, s:{s:f, s:f}}", "street", "1 Main St, Apt \"B\"",
      "city", cities[(r >> 24) % COUNT(cities)], "postal_code", "01234", "geo",
      "lat", (double)((int64_t)(r2 >> 8 & 0x1ffff) - 90000) / 1000.0, "lon",
      (double)((int64_t)(r2 >> 28 & 0x3ffff) - 180000) / 1000.0);
  bad |= json_object_set_new(o, "address", addr);
  bad |= json_object_set_new(o, "is_active", json_boolean(r >> 60 & 1));
  if (r >> 61 & 1)
    bad |= json_object_set_new(o, "last_login_at", json_null());
  else
    bad |= set_time(o, "last_login_at", upd + (int64_t)(r2 % 3600));
  return bad ? INTEG_ENOMEM : 0;
}

static int fill_order(json_t *o, struct rng *g, int64_t first)
{
  uint64_t r = rng_next(g), ri, total = 0, price;
  json_t *items, *it;
  size_t k, n;
  int bad = 0, qty;

  bad |= set_time(o, "created_at", first - (int64_t)(r % (86400 * 7)));
  bad |= json_object_set_new(
      o, "status", json_string(statuses[(r >> 8) % COUNT(statuses)]));
  bad |= json_object_set_new(
      o, "currency", json_string(currencies[(r >> 16) % COUNT(currencies)]));
  items = json_array();
  n = 1 + (size_t)(r >> 24) % 4;
  for (k = 0; items && k < n; k++) {
    ri = rng_next(g);
    qty = 1 + (int)(ri % 5);
    price = 99 + (ri >> 8) % 20000; /* cents */
    total += price * (uint64_t)qty;
    it = json_pack("{s:s+, s:s, s:i, s:o}", "sku", "SKU-",
                   colors[(ri >> 32) % COUNT(colors)], "title",
                   products[(ri >> 40) % COUNT(products)], "quantity", qty,
                   "unit_price", money(price, 2));
    bad |= json_array_append_new(items, it);
  }
  bad |= json_object_set_new(o, "items", items);
  bad |= json_object_set_new(o, "total", money(total, 2));
  bad |= json_object_set_new(
      o, "shipping",
      json_pack("{s:s, s:{s:s, s:s}}", "method",
                (r >> 32 & 1) ? "express" : "standard", "address", "city",
                cities[(r >> 40) % COUNT(cities)], "country",
                countries[(r >> 40) % COUNT(countries)]));
  if (r >> 48 & 1)
    bad |= json_object_set_new(o, "note", json_null());
  else
    bad |= json_object_set_new(
        o, "note", json_string("Leave at the door \"please\" \\ thanks"));
  return bad ? INTEG_ENOMEM : 0;
}

/* What a later version of a record changes (version > 0): the fields a
 * real shop would update, from their own generator, so that the rest of
 * the record stays as it was. */
static int revise(const struct collection *c, json_t *o, size_t i, int64_t upd,
                  size_t version)
{
  struct rng g;
  uint64_t r;
  int bad = 0;

  g.s = c->seed ^ util_mix((uint64_t)i) ^
        util_mix((uint64_t)version * 0x9e3779b97f4a7c15ull + 1);
  r = rng_next(&g);
  switch (c->kind) {
  case KIND_USER:
    bad |= json_object_set_new(o, "balance", money(r % 10000000, 2));
    bad |= json_object_set_new(o, "is_active", json_true());
    bad |= set_time(o, "last_login_at", upd);
    break;
  case KIND_ORDER:
    bad |= json_object_set_new(
        o, "status", json_string(statuses[1 + r % (COUNT(statuses) - 1)]));
    bad |= json_object_set_new(o, "note", json_string("Updated by the shop"));
    break;
  default:
    bad |= json_object_set_new(o, "price", money(r % 1000000, 3));
    bad |= json_object_set_new(o, "quantity",
                               json_integer((json_int_t)(r >> 20) % 1000));
    break;
  }
  return bad ? INTEG_ENOMEM : 0;
}

/* Record i for `parent`: first written at `first`, this version (0: the
 * first) at `upd`. New object, or NULL when out of memory. */
static json_t *make_record(const struct collection *c, const char *parent,
                           size_t i, int64_t first, int64_t upd,
                           size_t version)
{
  struct rng g;
  json_t *o, *pv = NULL;
  int64_t id, pnum = 0;
  int bad = 0;

  g.s = c->seed ^ util_mix(parent_hash(parent)) ^
        util_mix((uint64_t)i * 0x2545f4914f6cdd1dull);
  o = json_object();
  if (!o)
    return NULL;
  if (parent) {
    pv = parent_value(parent, &pnum);
    if (!pv)
      goto fail;
  }
  id = (int64_t)i + pnum * c->id_stride;
  bad |= json_object_set_new(o, "id", json_integer((json_int_t)id));
  if (c->parent_field)
    bad |= json_object_set(o, c->parent_field, pv);
  bad |= set_time(o, "updated_at", upd);
  switch (c->kind) {
  case KIND_USER:
    bad |= fill_user(o, &g, id, first, upd);
    break;
  case KIND_ORDER:
    bad |= fill_order(o, &g, first);
    break;
  default:
    bad |= fill_item(o, &g, i);
    break;
  }
  if (!bad && version)
    bad |= revise(c, o, i, upd, version);
  if (bad)
    goto fail;
  json_decref(pv);
  return o;
fail:
  json_decref(pv);
  json_decref(o);
  return NULL;
}

json_t *collection_record(const struct collection *c, const char *parent,
                          size_t i)
{
  int64_t t = updated_at(c, i);

  return make_record(c, parent, i, t, t, 0);
}

/* ------------------------------------------------------------ rounds */

/* One version of a record in a collection that changes by rounds. Entries
 * are in the order they were written: `pos` (1-based) and `upd` grow. */
struct entry {
  size_t pos;     /* place in the log of versions, for cursors */
  size_t i;       /* the record (its index) */
  int64_t first;  /* when the record was first written */
  int64_t upd;    /* when this version was */
  size_t version; /* 0: first version; else the round that revised it */
};

/* The ids of the records that round k (1-based) of c updates: u-th of
 * c->round_update, distinct, among those that existed before it. */
static size_t round_pick(const struct collection *c, size_t k, size_t u)
{
  size_t existing = c->count + (k - 1) * c->round_add, v, p;
  uint64_t h;
  int clash;

  if (existing == 0)
    return 0;
  h = util_mix(c->seed ^ util_mix((uint64_t)k * 0x51afd7ed558ccd1dull) ^
               (uint64_t)u * 0xc4ceb9fe1a85ec53ull);
  v = 1 + (size_t)(h % existing);
  /* Probe past the earlier picks of the round (there are few). */
  do {
    clash = 0;
    for (p = 0; p < u && !clash; p++)
      clash = round_pick(c, k, p) == v;
    if (clash)
      v = v % existing + 1;
  } while (clash && u < existing);
  return v;
}

/* When round k's j-th change of c was written. */
static int64_t round_time(const struct collection *c, size_t k, size_t j)
{
  return updated_at(c, c->count) + c->round_every * (int64_t)k +
         c->step * (int64_t)j;
}

/* What round k did to record id of c (a collection with add/update): 0
 * nothing, 1 added it, 2 updated it; *t is when. */
static int round_touch(const struct collection *c, size_t k, size_t id,
                       int64_t *t)
{
  size_t first_new = c->count + (k - 1) * c->round_add + 1, u;

  if (id >= first_new && id < first_new + c->round_add) {
    *t = round_time(c, k, id - first_new);
    return 1;
  }
  for (u = 0; u < c->round_update; u++) {
    if (round_pick(c, k, u) == id) {
      *t = round_time(c, k, c->round_add + u);
      return 2;
    }
  }
  return 0;
}

/* Append an entry to *e (capacity *cap). */
static int entry_add(struct entry **e, size_t *n, size_t *cap,
                     const struct entry *x)
{
  struct entry *p;

  if (*n == *cap) {
    *cap = *cap ? *cap * 2 : 64;
    p = realloc(*e, *cap * sizeof(**e));
    if (!p)
      return INTEG_ENOMEM;
    *e = p;
  }
  (*e)[(*n)++] = *x;
  return 0;
}

/* Every version written up to c->round, for `parent`, in order. */
static int round_log(const struct collection *c, const char *parent,
                     struct entry **out, size_t *nout)
{
  struct entry *e = NULL, x;
  size_t n = 0, cap = 0, k, j, i, nrec, m, pnum = 0;
  int64_t t, want, last = 0;
  uint64_t u64;
  int touch, rc = 0;

  if (c->parent) {
    /* A child follows its parent: a parent added in round k gets 1 to 3
     * new children then; one updated in round k gets a new child and an
     * update of an existing one. Parents added by rounds start with no
     * children. */
    if (parent && util_parse_size(parent, SIZE_MAX, &u64) == 0)
      pnum = (size_t)u64;
    nrec = pnum > c->parent->count ? 0 : base_count(c, parent);
  } else {
    nrec = c->count;
  }
  for (i = 1; i <= nrec && !rc; i++) {
    x = (struct entry){0, i, updated_at(c, i), updated_at(c, i), 0};
    last = x.upd;
    rc = entry_add(&e, &n, &cap, &x);
  }
  for (k = 1; k <= c->round && !rc; k++) {
    if (!c->parent) {
      for (j = 0; j < c->round_add + c->round_update && !rc; j++) {
        i = j < c->round_add ? c->count + (k - 1) * c->round_add + j + 1
                             : round_pick(c, k, j - c->round_add);
        if (i == 0)
          continue;
        t = round_time(c, k, j);
        x = (struct entry){0, i, t, t, j < c->round_add ? 0 : k};
        rc = entry_add(&e, &n, &cap, &x);
      }
      continue;
    }
    touch = pnum ? round_touch(c->parent, k, pnum, &t) : 0;
    if (!touch)
      continue;
    m = touch == 1 ? 1 + (size_t)(util_mix(c->seed ^ pnum ^ k) % 3) : 1;
    for (j = 0; j < m && !rc; j++) {
      /* A minute apart after the parent's change, never before the last
       * child: times only grow along the log. */
      want = t + 60 * (int64_t)(j + 1);
      last = want > last ? want : last + 1;
      x = (struct entry){0, ++nrec, last, last, 0};
      rc = entry_add(&e, &n, &cap, &x);
    }
    if (!rc && touch == 2 && nrec > 1) {
      last++;
      x = (struct entry){
          0, 1 + (size_t)(util_mix(c->seed ^ pnum ^ (k << 20)) % (nrec - 1)),
          0, last, k};
      rc = entry_add(&e, &n, &cap, &x);
    }
  }
  if (rc) {
    free(e);
    return rc;
  }
  for (j = 0; j < n; j++)
    e[j].pos = j + 1;
  *out = e;
  *nout = n;
  return 0;
}

/* Keep only the newest version of each record, with its first time. */
static int round_live(struct entry *e, size_t *n)
{
  size_t maxi = 0, j, k;
  size_t *newest;
  int64_t *first;

  for (j = 0; j < *n; j++)
    if (e[j].i > maxi)
      maxi = e[j].i;
  newest = calloc(maxi + 1, sizeof(*newest));
  first = calloc(maxi + 1, sizeof(*first));
  if (!newest || !first) {
    free(newest);
    free(first);
    return INTEG_ENOMEM;
  }
  for (j = 0; j < *n; j++) {
    if (!newest[e[j].i])
      first[e[j].i] = e[j].upd;
    newest[e[j].i] = j + 1;
  }
  for (j = k = 0; j < *n; j++) {
    if (newest[e[j].i] != j + 1)
      continue;
    e[k] = e[j];
    e[k].first = first[e[j].i];
    k++;
  }
  *n = k;
  free(newest);
  free(first);
  return 0;
}

/* Whether c is served from a log of versions rather than by index. */
static int uses_rounds(const struct collection *c)
{
  return c->round > 0 && (c->parent || c->round_add || c->round_update);
}

/* ------------------------------------------------------------ serving */

/* A growable string for URLs. */
struct sb {
  char *s;
  size_t len, cap;
  int oom;
};

static void sb_addn(struct sb *b, const char *s, size_t n)
{
  char *p;
  size_t cap;

  if (b->oom)
    return;
  if (b->len + n + 1 > b->cap) {
    cap = (b->len + n + 1) * 2;
    p = realloc(b->s, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->s = p;
    b->cap = cap;
  }
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
}

static void sb_add(struct sb *b, const char *s)
{
  sb_addn(b, s, strlen(s));
}

static void sb_add_encoded(struct sb *b, const char *s)
{
  char *e = util_url_encode(s);

  if (!e) {
    b->oom = 1;
    return;
  }
  sb_add(b, e);
  free(e);
}

/* The path, percent-encoded except for its slashes. */
static void sb_add_path(struct sb *b, const char *path)
{
  const char *p = path, *slash;
  char *seg;
  size_t n;

  while (*p) {
    slash = strchr(p, '/');
    if (slash == p) {
      sb_add(b, "/");
      p++;
      continue;
    }
    n = slash ? (size_t)(slash - p) : strlen(p);
    seg = strndup(p, n);
    if (!seg) {
      b->oom = 1;
      return;
    }
    sb_add_encoded(b, seg);
    free(seg);
    p += n;
  }
}

/* rq's URL with the page and size arguments replaced by the given values
 * (page_value NULL: left out). New string, or NULL when out of memory. */
static char *page_url(const struct collection *c,
                      const struct collection_request *rq,
                      const char *page_value, const char *size_value)
{
  struct sb b = {NULL, 0, 0, 0};
  const char *key;
  json_t *v;
  int first = 1;

  sb_add(&b, rq->base_url);
  sb_add_path(&b, rq->path);
  json_object_foreach(rq->args, key, v)
  {
    if (strcmp(key, c->page_param) == 0 || strcmp(key, c->size_param) == 0)
      continue;
    sb_add(&b, first ? "?" : "&");
    first = 0;
    sb_add_encoded(&b, key);
    sb_add(&b, "=");
    sb_add_encoded(&b, json_string_value(v));
  }
  if (page_value) {
    sb_add(&b, first ? "?" : "&");
    first = 0;
    sb_add_encoded(&b, c->page_param);
    sb_add(&b, "=");
    sb_add_encoded(&b, page_value);
  }
  sb_add(&b, first ? "?" : "&");
  sb_add_encoded(&b, c->size_param);
  sb_add(&b, "=");
  sb_add(&b, size_value);
  if (b.oom) {
    free(b.s);
    return NULL;
  }
  return b.s;
}

static const char *arg(const struct collection_request *rq, const char *k)
{
  return json_string_value(json_object_get(rq->args, k));
}

/* A 400 reply saying which argument is wrong. */
static int bad_arg(struct reply *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int bad_arg(struct reply *r, const char *fmt, ...)
{
  char msg[512];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  return reply_set_error(r, 400, msg);
}

static char *cursor_token(size_t index)
{
  char raw[40];

  snprintf(raw, sizeof(raw), "i:%zu", index);
  return util_base64(((unsigned char *)raw), strlen(raw), 1);
}

static int cursor_index(const char *token, size_t *index)
{
  unsigned char *raw = NULL;
  size_t len;
  uint64_t v;
  int rc;

  rc = util_base64url_decode(token, &raw, &len);
  if (rc)
    return rc;
  rc = INTEG_EINVAL;
  if (len > 2 && raw[0] == 'i' && raw[1] == ':' &&
      util_parse_size((char *)raw + 2, SIZE_MAX, &v) == 0) {
    *index = (size_t)v;
    rc = 0;
  }
  free(raw);
  return rc;
}

/* The filtered view: positions 0..m-1 map to slots lo..n, which are
 * record indices, or with rounds places in e[] (1-based). */
struct view {
  size_t n;  /* records in the collection now */
  size_t lo; /* first slot passing the filter */
  size_t m;  /* records passing the filter */
  int desc;
  const struct entry *e; /* with rounds: the live versions, else NULL */
};

static size_t view_index(const struct view *v, size_t pos)
{
  return v->desc ? v->n - pos : v->lo + pos;
}

/* The key a cursor carries for slot k: stable while the server runs. */
static size_t view_key(const struct view *v, size_t k)
{
  return v->e ? v->e[k - 1].pos : k;
}

static int64_t view_time(const struct collection *c, const struct view *v,
                         size_t k)
{
  return v->e ? v->e[k - 1].upd : updated_at(c, k);
}

/* First position after the record whose cursor key is `key`. */
static size_t view_after(const struct view *v, size_t key)
{
  size_t k = key, lo, hi, mid;

  if (v->e) {
    /* The slot of the newest version at or before key. */
    lo = 0;
    hi = v->n;
    while (lo < hi) {
      mid = lo + (hi - lo) / 2;
      if (v->e[mid].pos <= key)
        lo = mid + 1;
      else
        hi = mid;
    }
    k = lo; /* slots 1..k are at or before key */
    if (!v->desc)
      return k + 1 <= v->lo ? 0
                            : (k + 1 - v->lo > v->m ? v->m : k + 1 - v->lo);
    /* Newest first: those strictly older than key. */
    if (k > 0 && v->e[k - 1].pos == key)
      k--;
    return v->n - k > v->m ? v->m : v->n - k;
  }
  if (!v->desc)
    return k + 1 <= v->lo ? 0 : (k + 1 - v->lo > v->m ? v->m : k + 1 - v->lo);
  /* Newest first: the records older than k, i.e. index < k. */
  if (k > v->n)
    return 0;
  return v->n - k + 1 > v->m ? v->m : v->n - k + 1;
}

static int parse_page_size(const struct collection *c,
                           const struct collection_request *rq,
                           struct reply *r, size_t *size)
{
  const char *s = arg(rq, c->size_param);
  uint64_t v;

  *size = c->page_size;
  if (!s)
    return 0;
  if (util_parse_size(s, UINT32_MAX, &v) || v < 1) {
    bad_arg(r, "%s: expected a positive integer, got \"%s\"", c->size_param,
            s);
    return 1;
  }
  /* Like real APIs, silently cap oversized pages. */
  *size = v > c->max_page_size ? c->max_page_size : (size_t)v;
  return 0;
}

/* Serve positions [start, start+count) of v in the envelope of c. */
static int build_page(const struct collection *c, const struct view *v,
                      const char *parent, size_t start, size_t count,
                      json_t **data)
{
  json_t *arr = json_array(), *rec;
  size_t p, k;

  if (!arr)
    return INTEG_ENOMEM;
  for (p = start; p < start + count && p < v->m; p++) {
    k = view_index(v, p);
    rec = v->e ? make_record(c, parent, v->e[k - 1].i, v->e[k - 1].first,
                             v->e[k - 1].upd, v->e[k - 1].version)
               : collection_record(c, parent, k);
    if (!rec || json_array_append_new(arr, rec)) {
      json_decref(arr);
      return INTEG_ENOMEM;
    }
  }
  *data = arr;
  return 0;
}

static int add_link(struct sb *b, const struct collection *c,
                    const struct collection_request *rq, size_t page,
                    size_t size, const char *rel)
{
  char pbuf[32], sbuf[32];
  char *url;

  snprintf(pbuf, sizeof(pbuf), "%zu", page);
  snprintf(sbuf, sizeof(sbuf), "%zu", size);
  url = page_url(c, rq, pbuf, sbuf);
  if (!url)
    return INTEG_ENOMEM;
  if (b->len)
    sb_add(b, ", ");
  sb_add(b, "<");
  sb_add(b, url);
  sb_add(b, ">; rel=\"");
  sb_add(b, rel);
  sb_add(b, "\"");
  free(url);
  return b->oom ? INTEG_ENOMEM : 0;
}

int collection_serve(const struct collection *c,
                     const struct collection_request *rq, struct reply *r)
{
  const char *parent = NULL, *s;
  json_t *data = NULL, *doc = NULL, *next = NULL;
  struct view v;
  size_t size, start = 0, page = 1, lo, hi, mid, pages, k;
  struct sb link = {NULL, 0, 0, 0};
  struct entry *log = NULL;
  char *url = NULL, *tok = NULL, nbuf[32];
  int64_t since;
  uint64_t u;
  int rc = INTEG_ENOMEM, pass;

  if (c->parent_param) {
    parent = json_string_value(json_object_get(rq->params, c->parent_param));
    if (!parent)
      return reply_set_error(r, 500,
                             "collection: parent_param names no "
                             "parameter of this route's path");
  }
  v.lo = 1;
  v.desc = c->desc;
  v.e = NULL;
  if (uses_rounds(c)) {
    if (round_log(c, parent, &log, &v.n) || round_live(log, &v.n))
      goto out;
    v.e = log;
  } else {
    v.n = base_count(c, parent) + rq->grown;
  }
  /* The upper bound first (records before it: a date window's end). */
  s = c->until_param ? arg(rq, c->until_param) : NULL;
  if (s) {
    if (util_parse_time(s, &since)) {
      rc = bad_arg(r,
                   "%s: expected an RFC 3339 time "
                   "(2024-01-01T00:00:00Z) or epoch seconds, got \"%s\"",
                   c->until_param, s);
      goto out;
    }
    lo = 1;
    hi = v.n + 1;
    while (lo < hi) {
      mid = lo + (hi - lo) / 2;
      if (view_time(c, &v, mid) >= since)
        hi = mid;
      else
        lo = mid + 1;
    }
    v.n = lo - 1;
  }
  s = c->incremental_param ? arg(rq, c->incremental_param) : NULL;
  if (s) {
    if (util_parse_time(s, &since)) {
      rc = bad_arg(r,
                   "%s: expected an RFC 3339 time "
                   "(2024-01-01T00:00:00Z) or epoch seconds, got \"%s\"",
                   c->incremental_param, s);
      goto out;
    }
    /* updated_at never decreases with the index: binary search. */
    lo = 1;
    hi = v.n + 1;
    while (lo < hi) {
      mid = lo + (hi - lo) / 2;
      pass = c->inclusive ? view_time(c, &v, mid) >= since
                          : view_time(c, &v, mid) > since;
      if (pass)
        hi = mid;
      else
        lo = mid + 1;
    }
    v.lo = lo;
  }
  v.m = v.n >= v.lo ? v.n - v.lo + 1 : 0;

  if (c->paging != PAGING_NONE && parse_page_size(c, rq, r, &size)) {
    rc = 0;
    goto out;
  }
  switch (c->paging) {
  case PAGING_PAGE:
  case PAGING_LINK:
    s = arg(rq, c->page_param);
    if (s && (util_parse_size(s, UINT32_MAX, &u) || u < 1)) {
      rc = bad_arg(r, "%s: expected a page number from 1, got \"%s\"",
                   c->page_param, s);
      goto out;
    }
    page = s ? (size_t)u : 1;
    start = (page - 1) * size;
    break;
  case PAGING_OFFSET:
    s = arg(rq, c->page_param);
    if (s && util_parse_size(s, SIZE_MAX / 2, &u)) {
      rc = bad_arg(r, "%s: expected an offset from 0, got \"%s\"",
                   c->page_param, s);
      goto out;
    }
    start = s ? (size_t)u : 0;
    break;
  case PAGING_CURSOR:
  case PAGING_NEXT_URL:
    s = arg(rq, c->page_param);
    if (s && *s) {
      if (cursor_index(s, &k)) {
        rc = bad_arg(r, "%s: not a cursor this server issued: \"%s\"",
                     c->page_param, s);
        goto out;
      }
      start = view_after(&v, k);
    }
    break;
  case PAGING_NONE:
    size = v.m;
    break;
  }
  if (start > v.m)
    start = v.m;
  if (build_page(c, &v, parent, start, size, &data))
    goto out;

  switch (c->paging) {
  case PAGING_PAGE:
    pages = (v.m + size - 1) / size;
    doc = json_pack("{s:O, s:I, s:I, s:I, s:I}", c->records_key, data, "page",
                    (json_int_t)page, "per_page", (json_int_t)size, "total",
                    (json_int_t)v.m, "total_pages", (json_int_t)pages);
    break;
  case PAGING_OFFSET:
    doc = json_pack("{s:O, s:I, s:I, s:I}", c->records_key, data, "offset",
                    (json_int_t)start, "limit", (json_int_t)size, "total",
                    (json_int_t)v.m);
    break;
  case PAGING_CURSOR:
  case PAGING_NEXT_URL:
    if (start + size < v.m) {
      tok = cursor_token(view_key(&v, view_index(&v, start + size - 1)));
      if (!tok)
        goto out;
      if (c->paging == PAGING_NEXT_URL) {
        snprintf(nbuf, sizeof(nbuf), "%zu", size);
        url = page_url(c, rq, tok, nbuf);
        if (!url)
          goto out;
        next = json_string(url);
      } else {
        next = json_string(tok);
      }
    } else {
      next = json_null();
    }
    if (c->paging == PAGING_CURSOR)
      doc = json_pack("{s:O, s:b, s:o}", c->records_key, data, "has_more",
                      start + size < v.m, "next_cursor", next);
    else
      doc = json_pack("{s:O, s:o}", c->records_key, data, "next", next);
    next = NULL;
    break;
  case PAGING_LINK:
    pages = (v.m + size - 1) / size;
    if (start + size < v.m && add_link(&link, c, rq, page + 1, size, "next"))
      goto out;
    if (page > 1 && add_link(&link, c, rq, page - 1, size, "prev"))
      goto out;
    if (add_link(&link, c, rq, 1, size, "first") ||
        add_link(&link, c, rq, pages ? pages : 1, size, "last"))
      goto out;
    if (reply_set_header(r, "Link", link.s))
      goto out;
    snprintf(nbuf, sizeof(nbuf), "%zu", v.m);
    if (reply_set_header(r, "X-Total-Count", nbuf))
      goto out;
    doc = json_incref(data);
    break;
  case PAGING_NONE:
    doc = json_pack("{s:O}", c->records_key, data);
    break;
  }
  if (!doc)
    goto out;

  r->status = 200;
  r->t = c->t;
  if (c->headers) {
    const char *key;
    json_t *hv;

    json_object_foreach(c->headers, key, hv)
    {
      if (reply_set_header(r, key, json_string_value(hv)))
        goto out;
    }
  }
  rc = reply_set_json(
      r, doc, JSON_COMPACT | (c->ensure_ascii ? JSON_ENSURE_ASCII : 0));
out:
  json_decref(next);
  json_decref(doc);
  json_decref(data);
  free(link.s);
  free(url);
  free(tok);
  free(log);
  return rc;
}
