/* emit_singer.c - Singer messages, byte for byte as singer-sdk writes them
 * (see emit.h for the format). */
#include "config.h"

#include <string.h>

#include <jansson.h>

#include "clock.h"
#include "emit.h"
#include "error.h"
#include "jsonw.h"

/* singer-sdk writes through simplejson.dumps with ensure_ascii on. */
#define SINGER_FLAGS JSONW_ASCII

/* A string literal and its length, for buf_append. */
#define LIT(s) s, sizeof(s) - 1

/* Undo a partly written message, so the buffer only ever holds whole
 * lines, and say why. */
static int fail(struct buf *out, size_t start, int rc, const char *what,
                const char *stream, struct integ_error *err)
{
  out->len = start;
  if (out->data)
    out->data[start] = '\0';
  if (rc == INTEG_ENOMEM)
    return error_set(err, rc, "out of memory writing a Singer %s message",
                     what);
  return error_set(err, rc,
                   "cannot write the Singer %s message%s%s%s: it holds a "
                   "string that is not valid UTF-8, a real that is not "
                   "finite, or nesting deeper than %d",
                   what, stream ? " of stream '" : "", stream ? stream : "",
                   stream ? "'" : "", JSONW_MAX_DEPTH);
}

static int string_array_or_empty(struct buf *out, json_t *a)
{
  if (!a)
    return buf_append(out, LIT("[]"));
  return jsonw_value(out, a, SINGER_FLAGS);
}

int emit_singer_schema(struct buf *out, const char *stream, json_t *schema,
                       json_t *key_properties, json_t *bookmark_properties,
                       struct integ_error *err)
{
  size_t start = out->len;
  int rc;

  if ((rc = buf_append(out, LIT("{\"type\":\"SCHEMA\",\"stream\":"))) ||
      (rc = jsonw_string(out, stream, strlen(stream), SINGER_FLAGS)) ||
      (rc = buf_append(out, LIT(",\"schema\":"))) ||
      (rc = jsonw_value(out, schema, SINGER_FLAGS)) ||
      (rc = buf_append(out, LIT(",\"key_properties\":"))) ||
      (rc = string_array_or_empty(out, key_properties)))
    goto out;
  if (bookmark_properties &&
      ((rc = buf_append(out, LIT(",\"bookmark_properties\":"))) ||
       (rc = jsonw_value(out, bookmark_properties, SINGER_FLAGS))))
    goto out;
  rc = buf_append(out, LIT("}\n"));
out:
  return rc ? fail(out, start, rc, "SCHEMA", stream, err) : 0;
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian), after
 * Howard Hinnant's days_from_civil inverse: no gmtime_r and no printf per
 * record, which took a third of a RECORD line's time. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
  int64_t era, yy;
  unsigned doe, yoe, doy, mp;

  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = (unsigned)(z - era * 146097);
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  yy = (int64_t)yoe + era * 400;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2);
}

static char *digits(char *p, unsigned v, int n)
{
  int i;

  for (i = n - 1; i >= 0; i--) {
    p[i] = (char)('0' + v % 10);
    v /= 10;
  }
  return p + n;
}

char *emit_singer_time(int64_t ms, char *buf, size_t size)
{
  char tmp[EMIT_TIME_MAX], *p = tmp;
  int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  unsigned sod = (unsigned)(secs - days * 86400);
  unsigned frac = (unsigned)(ms - secs * 1000), mon, day;
  int64_t year;
  size_t n;

  civil_from_days(days, &year, &mon, &day);
  if (year < 1 || year > 9999) {
    /* Outside Python's datetime: clock's form, which still parses. */
    clock_format_rfc3339(ms, tmp, sizeof tmp);
    p = tmp + strlen(tmp);
  } else {
    /* Python's isoformat(): the fraction only when it is not zero. */
    p = digits(p, (unsigned)year, 4);
    *p++ = '-';
    p = digits(p, mon, 2);
    *p++ = '-';
    p = digits(p, day, 2);
    *p++ = 'T';
    p = digits(p, sod / 3600, 2);
    *p++ = ':';
    p = digits(p, sod / 60 % 60, 2);
    *p++ = ':';
    p = digits(p, sod % 60, 2);
    if (frac) {
      *p++ = '.';
      p = digits(p, frac * 1000, 6);
    }
    memcpy(p, "+00:00", 6);
    p += 6;
  }
  *p = '\0';
  if (size) {
    n = (size_t)(p - tmp);
    if (n >= size)
      n = size - 1;
    memcpy(buf, tmp, n);
    buf[n] = '\0';
  }
  return buf;
}

int emit_singer_record(struct buf *out, const char *stream, json_t *record,
                       int64_t now_ms, struct integ_error *err)
{
  char t[EMIT_TIME_MAX];
  size_t start = out->len;
  int rc;

  emit_singer_time(now_ms, t, sizeof t);
  if ((rc = buf_append(out, LIT("{\"type\":\"RECORD\",\"stream\":"))) ||
      (rc = jsonw_string(out, stream, strlen(stream), SINGER_FLAGS)) ||
      (rc = buf_append(out, LIT(",\"record\":"))) ||
      (rc = jsonw_value(out, record, SINGER_FLAGS)) ||
      (rc = buf_append(out, LIT(",\"time_extracted\":\""))) ||
      (rc = buf_appends(out, t)) || (rc = buf_append(out, LIT("\"}\n"))))
    return fail(out, start, rc, "RECORD", stream, err);
  return 0;
}

int emit_singer_state(struct buf *out, json_t *value, struct integ_error *err)
{
  size_t start = out->len;
  int rc;

  if ((rc = buf_append(out, LIT("{\"type\":\"STATE\",\"value\":"))) ||
      (rc = jsonw_value(out, value, SINGER_FLAGS)) ||
      (rc = buf_append(out, LIT("}\n"))))
    return fail(out, start, rc, "STATE", NULL, err);
  return 0;
}

json_t *emit_singer_state_from_value(json_t *value, struct integ_error *err)
{
  json_t *bookmarks, *copy;

  if (!json_is_object(value)) {
    error_set(err, INTEG_ESTATE,
              "Singer state: expected a JSON object such as "
              "{\"bookmarks\": {...}}");
    return NULL;
  }
  bookmarks = json_object_get(value, "bookmarks");
  if (!bookmarks) {
    copy = json_object();
  } else if (!json_is_object(bookmarks)) {
    error_set(err, INTEG_ESTATE,
              "Singer state: bookmarks: expected an object keyed by "
              "stream name");
    return NULL;
  } else {
    copy = json_incref(bookmarks);
  }
  if (!copy)
    error_set(err, INTEG_ENOMEM, "out of memory reading Singer state");
  return copy;
}
