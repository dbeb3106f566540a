/* definition.c - load definition files with positions (definition.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "definition.h"
#include "error.h"
#include "yaml.h"

void definition_free(struct definition *d)
{
  if (!d)
    return;
  free(d->file);
  json_decref(d->root);
  yaml_locs_free(d->locs);
  free(d);
}

/* dir of base + "/" + name, or NULL when out of memory. */
static char *beside(const char *base, const char *name)
{
  const char *slash = strrchr(base, '/');
  size_t dlen = slash ? (size_t)(slash - base) + 1 : 0;
  size_t nlen = strlen(name);
  char *p = malloc(dlen + nlen + 1);

  if (p) {
    memcpy(p, base, dlen);
    memcpy(p + dlen, name, nlen + 1);
  }
  return p;
}

int definition_load(const char *name, const char *base, const char *datadir,
                    struct definition **out, struct integ_error *err)
{
  struct yaml_errors errs = {0};
  struct definition *d = NULL;
  struct buf tried = BUF_INIT;
  char *cand[2] = {NULL, NULL};
  const char *path = NULL;
  struct stat st;
  int rc = 0;

  *out = NULL;
  if (!name || !*name)
    return error_set(err, INTEG_EINVAL, "a definition needs a file name");
  if (name[0] == '/') {
    cand[0] = strdup(name);
  } else {
    cand[0] = beside(base ? base : "", name);
    if (datadir) {
      char *dir = malloc(strlen(datadir) + 2);

      if (dir) {
        memcpy(dir, datadir, strlen(datadir));
        memcpy(dir + strlen(datadir), "/", 2);
        cand[1] = beside(dir, name);
        free(dir);
      }
      if (!cand[1]) {
        rc = error_set(err, INTEG_ENOMEM, "out of memory");
        goto out;
      }
    }
  }
  if (!cand[0]) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < 2 && cand[i] && !path; i++) {
    if (stat(cand[i], &st) == 0)
      path = cand[i];
    else if (buf_printf(&tried, "%s%s", tried.len ? ", " : "", cand[i])) {
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
      goto out;
    }
  }
  if (!path) {
    rc = error_set(err, INTEG_ENOTFOUND,
                   "definition '%s' not found (looked for %s)", name,
                   tried.data ? tried.data : name);
    goto out;
  }
  d = calloc(1, sizeof(*d));
  if (!d || !(d->file = strdup(path)) || !(d->locs = yaml_locs_new())) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  rc = yaml_load_file(d->file, "", &d->root, d->locs, &errs);
  if (rc) {
    rc = yaml_errors_to_error(&errs, err);
    goto out;
  }
  if (!json_is_object(d->root)) {
    rc = error_set(err, INTEG_ECONFIG,
                   "%s: a definition is a mapping (base_url, streams, ...)",
                   d->file);
    goto out;
  }
out:
  yaml_errors_free(&errs);
  buf_free(&tried);
  free(cand[0]);
  free(cand[1]);
  if (rc) {
    definition_free(d);
    return rc;
  }
  *out = d;
  return 0;
}

int definition_position(const struct yaml_locs *t, const char *prefix,
                        const char *path, char *buf, size_t size)
{
  const struct yaml_loc *loc;
  struct buf full = BUF_INIT;

  if (size)
    buf[0] = '\0';
  if (!t)
    return INTEG_ENOTFOUND;
  if (buf_printf(&full, "%s%s%s", prefix ? prefix : "",
                 prefix && *prefix && path && *path && path[0] != '[' ? "."
                                                                      : "",
                 path ? path : ""))
    return INTEG_ENOMEM;
  loc = yaml_locs_nearest(t, full.data ? full.data : "", NULL);
  buf_free(&full);
  if (!loc)
    return INTEG_ENOTFOUND;
  snprintf(buf, size, "%s:%u:%u", loc->file ? loc->file : "", loc->line,
           loc->col);
  return 0;
}
