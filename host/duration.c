/* duration.c - parse and format durations ("15m", "1h30m", "500ms"). */
#include "duration.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

struct unit {
  const char *name;
  int64_t ms;
};

/* "ms" before "m" so the longest unit wins. */
static const struct unit units[] = {{"ms", 1},
                                    {"s", 1000},
                                    {"m", 60 * 1000},
                                    {"h", 3600 * 1000},
                                    {"d", 86400 * 1000}};

int duration_parse(const char *text, int64_t *ms, size_t *pos,
                   struct integ_error *err)
{
  size_t i = 0;
  int64_t total = 0;
  int rc = 0;

  if (pos)
    *pos = 0;
  if (!text || !*text) {
    rc = error_set(err, INTEG_EINVAL,
                   "empty duration: write a number and a unit (ms, s, m, "
                   "h, d), e.g. 15m");
    goto out;
  }
  while (text[i]) {
    size_t start = i;
    int64_t n = 0;
    const struct unit *u = NULL;

    if (text[i] < '0' || text[i] > '9') {
      if (pos)
        *pos = i + 1;
      rc = error_set(err, INTEG_EINVAL,
                     "duration \"%s\": expected a digit at position %zu, "
                     "found '%c' (write e.g. 15m or 1h30m)",
                     text, i + 1, text[i]);
      goto out;
    }
    while (text[i] >= '0' && text[i] <= '9') {
      int d = text[i] - '0';
      if (n > (INT64_MAX - d) / 10) {
        if (pos)
          *pos = start + 1;
        rc = error_set(err, INTEG_EINVAL,
                       "duration \"%s\": number at position %zu is too "
                       "large",
                       text, start + 1);
        goto out;
      }
      n = n * 10 + d;
      i++;
    }
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++) {
      size_t len = strlen(units[k].name);
      if (strncmp(text + i, units[k].name, len) == 0) {
        u = &units[k];
        break;
      }
    }
    if (!u) {
      if (pos)
        *pos = text[i] ? i + 1 : start + 1;
      if (!text[i])
        rc = error_set(err, INTEG_EINVAL,
                       "duration \"%s\": the number at position %zu has "
                       "no unit: add ms, s, m, h or d (e.g. %" PRId64 "s)",
                       text, start + 1, n);
      else
        rc = error_set(err, INTEG_EINVAL,
                       "duration \"%s\": unknown unit at position %zu: "
                       "use ms, s, m, h or d",
                       text, i + 1);
      goto out;
    }
    i += strlen(u->name);
    if (n > (INT64_MAX - total) / u->ms) {
      if (pos)
        *pos = start + 1;
      rc = error_set(err, INTEG_EINVAL, "duration \"%s\" is too large", text);
      goto out;
    }
    total += n * u->ms;
  }
  *ms = total;
out:
  return rc;
}

size_t duration_format(int64_t ms, char *buf, size_t size)
{
  char tmp[64];
  size_t len = 0;
  uint64_t v;

  if (ms < 0) {
    tmp[len++] = '-';
    v = (uint64_t)(-(ms + 1)) + 1; /* INT64_MIN safe */
  } else {
    v = (uint64_t)ms;
  }
  if (v == 0) {
    tmp[len++] = '0';
    tmp[len++] = 's';
  }
  /* Largest unit first; only the units that are non-zero. */
  for (size_t k = sizeof units / sizeof units[0]; k-- > 0 && v;) {
    uint64_t unit = (uint64_t)units[k].ms;
    uint64_t q = v / unit;
    if (!q)
      continue;
    int n = snprintf(tmp + len, sizeof tmp - len, "%" PRIu64 "%s", q,
                     units[k].name);
    if (n < 0)
      break;
    len += (size_t)n;
    v -= q * unit;
  }
  tmp[len] = '\0';
  if (size) {
    size_t copy = len < size - 1 ? len : size - 1;
    memcpy(buf, tmp, copy);
    buf[copy] = '\0';
  }
  return len;
}
