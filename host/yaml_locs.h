/* yaml_locs.h - where values sit in configuration files: error lists that
 * report every error of a file at once, key paths ("connectors.x.cron",
 * "plugin_path[1]") and the table of file:line:column by key path. The
 * YAML loader (yaml.h) fills them; the manifest and the JSON Schema
 * validator report through them. */
#ifndef INTEG_HOST_YAML_LOCS_H
#define INTEG_HOST_YAML_LOCS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <integ/plugin.h>

/* More errors than this in one list are counted, not kept. */
#define YAML_MAX_ERRORS 100

/* ---- error lists: every error of a file or manifest at once ---- */

/* A list of messages, each "file:line:column: key.path: message". Zero
 * initialise ({0}); free with yaml_errors_free. */
struct yaml_errors {
  char **msgs; /* owned, n of them */
  size_t n;
  size_t cap;
  size_t dropped; /* errors past YAML_MAX_ERRORS, counted only */
  int nomem;      /* an error could not be recorded */
};

/* Append a message (printf-style). Returns 0 or INTEG_ENOMEM. */
int yaml_errors_add(struct yaml_errors *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int yaml_errors_addv(struct yaml_errors *e, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Number of errors seen (kept + dropped). */
size_t yaml_errors_count(const struct yaml_errors *e);
/* Print every message, one a line, then a "(N more)" line if some were
 * dropped. */
void yaml_errors_print(const struct yaml_errors *e, FILE *fp);
/* Copy the first message (and how many others there are) into err with
 * code INTEG_ECONFIG; returns that code (INTEG_ENOMEM if nomem). */
int yaml_errors_to_error(const struct yaml_errors *e, struct integ_error *err);
void yaml_errors_free(struct yaml_errors *e);

/* ---- key paths ---- */

/* A growable key path, built while walking a tree. Zero initialise. */
struct yaml_path {
  char *s; /* NUL-terminated, owned; NULL until the first push */
  size_t len;
  size_t cap;
};

/* Append ".key" (or "key" at the root) / "[i]". Return the previous length,
 * to hand to yaml_path_pop, or (size_t)-1 when out of memory. */
size_t yaml_path_push_key(struct yaml_path *p, const char *key);
size_t yaml_path_push_index(struct yaml_path *p, size_t i);
/* Cut the path back to `len`. */
void yaml_path_pop(struct yaml_path *p, size_t len);
/* The path as a string ("" when empty); borrowed, valid until the next
 * push. */
const char *yaml_path_str(const struct yaml_path *p);
void yaml_path_free(struct yaml_path *p);

/* ---- the location table ---- */

/* Flags of a location. */
#define YAML_LOC_REPORTED 1u /* an error was already reported for it */
#define YAML_LOC_HASH 2u     /* empty value on a line with a # comment */
#define YAML_LOC_QUOTED 4u   /* a quoted or block scalar */

/* Where a value sits. For a mapping member key_line/key_col is its key; for
 * anything else they equal line/col. */
struct yaml_loc {
  const char *file; /* borrowed from the table */
  unsigned line, col;
  unsigned key_line, key_col;
  unsigned flags;
};

struct yaml_locs;

/* New empty table (free with yaml_locs_free); NULL when out of memory. */
struct yaml_locs *yaml_locs_new(void);
void yaml_locs_free(struct yaml_locs *t);

/* Record (or replace) path's location. file is copied. 0 or INTEG_ENOMEM. */
int yaml_locs_set(struct yaml_locs *t, const char *path,
                  const struct yaml_loc *loc);
/* The location of exactly `path`, or NULL. Borrowed, valid until the table
 * changes. */
const struct yaml_loc *yaml_locs_find(const struct yaml_locs *t,
                                      const char *path);
/* The location of `path` or of its nearest ancestor that has one, or NULL.
 * *found_len (may be NULL) gets the length of the path prefix found. */
const struct yaml_loc *yaml_locs_nearest(const struct yaml_locs *t,
                                         const char *path, size_t *found_len);
/* OR flags into path's location (no effect when it has none). */
void yaml_locs_add_flags(struct yaml_locs *t, const char *path,
                         unsigned flags);
/* Forget `prefix` and everything under it. */
void yaml_locs_remove_prefix(struct yaml_locs *t, const char *prefix);
/* Copy `prefix` and everything under it from src into dst (replacing). 0 or
 * INTEG_ENOMEM. */
int yaml_locs_copy_prefix(struct yaml_locs *dst, const struct yaml_locs *src,
                          const char *prefix);
/* Number of locations held. */
size_t yaml_locs_count(const struct yaml_locs *t);

/* A hint to add to an error about `loc`'s value ("" when none): for an
 * empty value whose line holds a '#' comment, says to quote values that
 * start with '#'. Static storage. */
const char *yaml_loc_hint(const struct yaml_loc *loc);

/* Add "file:line:column: path: message" to e, the position being path's
 * (or its nearest ancestor's) in t; at_key chooses the key's position over
 * the value's. Without a position: "path: message". When path is empty it
 * is left out. Returns 0 or INTEG_ENOMEM. */
int yaml_errors_at(struct yaml_errors *e, const struct yaml_locs *t,
                   const char *path, int at_key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int yaml_errors_atv(struct yaml_errors *e, const struct yaml_locs *t,
                    const char *path, int at_key, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

#endif /* INTEG_HOST_YAML_LOCS_H */
