/* configfile.c - connector config files (see configfile.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "configfile.h"
#include "error.h"
#include "jsonschema.h"
#include "yaml.h"

int configfile_read_json(const char *path, const char *what, int code,
                         json_t **out, struct integ_error *err)
{
  json_error_t jerr;
  struct stat st;
  int fd, rc = 0;

  *out = NULL;
  /* O_NONBLOCK, then fstat: a FIFO (a shell's <(...) included) without a
   * writer must not hang the open; it is refused by name instead. */
  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0 || fstat(fd, &st) != 0) {
    rc = error_set(err, code, "%s %s: cannot read: %s", what, path,
                   strerror(errno));
    goto out;
  }
  if (!S_ISREG(st.st_mode)) {
    rc = error_set(err, code,
                   "%s %s: not a regular file (a FIFO, device or "
                   "directory): write it to a file and name that",
                   what, path);
    goto out;
  }
  if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
    rc = error_set(err, code, "%s %s: cannot read: %s", what, path,
                   strerror(errno));
    goto out;
  }
  /* jansson reports a failed allocation in its lexer as a syntax error
   * (or with no text at all); malloc's ENOMEM tells them apart. */
  errno = 0;
  *out = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
  if (*out)
    goto out;
  if (errno == ENOMEM || json_error_code(&jerr) == json_error_out_of_memory) {
    rc = error_set(err, INTEG_ENOMEM, "%s %s: out of memory", what, path);
    goto out;
  }
  if (jerr.line < 0)
    rc = error_set(err, code, "%s %s: cannot read: %s", what, path, jerr.text);
  else
    rc = error_set(err, code, "%s %s:%d:%d: not valid JSON: %s", what, path,
                   jerr.line, jerr.column, jerr.text);
out:
  if (fd >= 0)
    close(fd);
  return rc;
}

int configfile_load(const char *path, const char *spec, const char *plugin,
                    int print, json_t **out, struct integ_error *err)
{
  struct yaml_errors errs = {0}, ignored = {0};
  struct jsonschema *js = NULL;
  struct yaml_locs *locs = NULL;
  json_t *config = NULL, *doc = NULL;
  char where[256];
  int rc;

  *out = NULL;
  rc = configfile_read_json(path, "config", INTEG_ECONFIG, &config, err);
  if (rc)
    return rc;
  if (!json_is_object(config)) {
    rc = error_set(err, INTEG_ECONFIG,
                   "config %s: expected a JSON object {\"key\": value, ...}",
                   path);
    goto out;
  }
  snprintf(where, sizeof(where), "plugin %s: spec", plugin);
  rc = jsonschema_compile_text(spec ? spec : "{}", where, &js, &errs);
  if (rc) {
    if (rc == INTEG_ENOMEM) {
      rc = error_set(err, rc, "config %s: out of memory", path);
      goto out;
    }
    /* The plugin's own schema is broken: its author must fix it. */
    yaml_errors_to_error(&errs, err);
    rc = INTEG_EPLUGIN;
    if (err)
      err->code = rc;
    goto out;
  }
  /* Positions only: jansson has judged the JSON; a file YAML cannot
   * read (a tab in the indentation) just gets messages without them. */
  locs = yaml_locs_new();
  if (!locs) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  if (yaml_load_file(path, "", &doc, locs, &ignored)) {
    yaml_locs_free(locs);
    locs = NULL;
  }
  rc = jsonschema_validate(js, config, "", locs, NULL, &errs);
  if (rc == INTEG_ENOMEM || errs.nomem) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  if (yaml_errors_count(&errs)) {
    if (print)
      yaml_errors_print(&errs, stderr);
    rc = yaml_errors_to_error(&errs, err);
    error_prefix(err, "config");
    goto out;
  }
  rc = 0;
  *out = config;
  config = NULL;
out:
  json_decref(config);
  json_decref(doc);
  yaml_locs_free(locs);
  yaml_errors_free(&errs);
  yaml_errors_free(&ignored);
  jsonschema_free(js);
  return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
  while (n) {
    ssize_t w = write(fd, p, n);

    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int configfile_write_atomic(const char *path, json_t *config,
                            struct integ_error *err)
{
  struct buf tmp = BUF_INIT;
  char *text = NULL, *dir = NULL;
  mode_t mode = 0600;
  struct stat st;
  int fd = -1, dfd, rc = 0;

  if (stat(path, &st) == 0)
    mode = st.st_mode & 07777;
  text = json_dumps(config, JSON_INDENT(2));
  if (!text || buf_printf(&tmp, "%s.tmp", path) || !(dir = strdup(path))) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory writing config %s", path);
    goto out;
  }
  fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0 || fchmod(fd, mode) || write_all(fd, text, strlen(text)) ||
      write_all(fd, "\n", 1) || fsync(fd)) {
    rc = error_set(err, INTEG_EIO,
                   "config %s: cannot write %s: %s (the config file is "
                   "unchanged)",
                   path, tmp.data, strerror(errno));
    goto out;
  }
  if (close(fd)) {
    fd = -1;
    rc = error_set(err, INTEG_EIO, "config %s: cannot write %s: %s", path,
                   tmp.data, strerror(errno));
    goto out;
  }
  fd = -1;
  if (rename(tmp.data, path)) {
    rc = error_set(err, INTEG_EIO, "config %s: cannot replace it: %s", path,
                   strerror(errno));
    goto out;
  }
  /* The rename itself must survive a crash: sync the directory. */
  dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
out:
  if (fd >= 0)
    close(fd);
  if (rc && tmp.data)
    unlink(tmp.data);
  free(text);
  free(dir);
  buf_free(&tmp);
  return rc;
}
