/* definition.c - load definition files with positions (definition.h). */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "definition.h"
#include "error.h"
#include "jsonschema.h"
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
  char *cand[3] = {NULL, NULL, NULL};
  char near[256] = "";
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
        /* A shipped definition goes by its name alone: github-issues. */
        if (!strchr(name, '.') && !strchr(name, '/') &&
            (cand[2] = malloc(strlen(dir) + strlen(name) + 6)))
          snprintf(cand[2], strlen(dir) + strlen(name) + 6, "%s%s.yaml", dir,
                   name);
        free(dir);
      }
      if (!cand[1] || (!strchr(name, '.') && !strchr(name, '/') && !cand[2])) {
        rc = error_set(err, INTEG_ENOMEM, "out of memory");
        goto out;
      }
    }
  }
  if (!cand[0]) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < 3 && cand[i] && !path; i++) {
    if (stat(cand[i], &st) == 0)
      path = cand[i];
    else if (buf_printf(&tried, "%s%s", tried.len ? ", " : "", cand[i])) {
      rc = error_set(err, INTEG_ENOMEM, "out of memory");
      goto out;
    }
  }
  if (!path) {
    if (datadir)
      definition_nearest(name, datadir, near, sizeof(near));
    rc = error_set(err, INTEG_ENOTFOUND,
                   "definition '%s' not found (looked for %s)%s", name,
                   tried.data ? tried.data : name, near);
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
  free(cand[2]);
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

const char *definition_dir(void)
{
  const char *d = getenv("INTEG_INTEGRATIONS_DIR");

  return d && *d ? d : PKGDATADIR "/integrations";
}

static int by_name(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *definition_names(const char *dir)
{
  DIR *dh = opendir(dir);
  json_t *names = json_array();
  const char **v = NULL;
  struct dirent *e;
  size_t n = 0;

  if (!names || !dh) {
    if (dh)
      closedir(dh);
    return names;
  }
  while ((e = readdir(dh))) {
    const char *dot = strrchr(e->d_name, '.');
    json_t *s;

    if (e->d_name[0] == '.' || !dot ||
        (strcmp(dot, ".yaml") && strcmp(dot, ".yml") && strcmp(dot, ".json")))
      continue;
    s = json_stringn(e->d_name, (size_t)(dot - e->d_name));
    if (!s || json_array_append_new(names, s)) {
      json_decref(names);
      names = NULL;
      break;
    }
  }
  closedir(dh);
  if (!names || !json_array_size(names))
    return names;
  v = malloc(json_array_size(names) * sizeof(*v));
  if (!v) {
    json_decref(names);
    return NULL;
  }
  for (n = 0; n < json_array_size(names); n++)
    v[n] = json_string_value(json_array_get(names, n));
  qsort(v, n, sizeof(*v), by_name);
  {
    json_t *sorted = json_array();

    for (size_t i = 0; sorted && i < n; i++)
      if (json_array_append_new(sorted, json_string(v[i]))) {
        json_decref(sorted);
        sorted = NULL;
      }
    free(v);
    json_decref(names);
    return sorted;
  }
}

void definition_nearest(const char *name, const char *dir, char *buf,
                        size_t size)
{
  json_t *names = definition_names(dir), *v;
  size_t i, shown = 0, len = 0;

  buf[0] = '\0';
  /* Near: a few edits away, or one name a prefix of the other (github
   * for github-issues). */
  json_array_foreach(names, i, v)
  {
    const char *n = json_string_value(v);
    size_t d = jsonschema_distance(name, n);
    int w;

    if (d > 3 && strncmp(n, name, strlen(name)) && strncmp(name, n, strlen(n)))
      continue;
    if (shown == 3)
      break;
    w = snprintf(buf + len, size - len, "%s%s",
                 shown ? ", " : "; nearest: ", n);
    if (w < 0 || (size_t)w >= size - len)
      break;
    len += (size_t)w;
    shown++;
  }
  json_decref(names);
}

json_t *definition_spec(const json_t *root)
{
  json_t *spec =
      json_pack("{s:s, s:[], s:{s:{s:s, s:s}}}", "type", "object", "required",
                "properties", "definition", "type", "string", "description",
                "the shipped definition (filled in)");
  json_t *props = json_object_get(spec, "properties");
  json_t *req = json_object_get(spec, "required"), *v;
  const char *key;

  json_object_foreach(json_object_get(root, "config"), key, v)
  {
    json_t *dflt = json_object_get(v, "default");
    json_t *desc = json_object_get(v, "description");
    const char *type = "string";
    json_t *p;

    if (json_is_integer(dflt))
      type = "integer";
    else if (json_is_number(dflt))
      type = "number";
    else if (json_is_boolean(dflt))
      type = "boolean";
    p = json_pack("{s:s}", "type", type);
    if (!p || json_object_set_new(props, key, p) ||
        (dflt && json_object_set(p, "default", dflt)) ||
        (json_is_string(desc) && json_object_set(p, "description", desc)) ||
        (json_is_true(json_object_get(v, "secret")) &&
         json_object_set_new(p, "airbyte_secret", json_true())) ||
        (json_is_true(json_object_get(v, "required")) &&
         json_array_append_new(req, json_string(key)))) {
      json_decref(spec);
      return NULL;
    }
  }
  return spec;
}
