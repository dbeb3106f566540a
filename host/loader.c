/* loader.c - find, check and open plugins with libltdl.
 *
 * Every refusal names the file and the reason and says what to do, in the
 * manner of collectd's "dlopen failed ... check that the plugin was built
 * for this version". Plugins are opened by absolute path only, so libltdl's
 * own search (LD_LIBRARY_PATH, LTDL_LIBRARY_PATH) is never used.
 *
 * Symbols are bound at load (RTLD_NOW | RTLD_LOCAL, as Redis modules and
 * collectd load), so a plugin that calls a function nothing defines is
 * refused here with the symbol named, not killed by the dynamic linker in
 * the middle of a run. libltdl's own dlopen loader asks for RTLD_LAZY and
 * lt_dladvise has no way to ask for more, so the loader installs one of
 * its own through libltdl's module-loader interface (lt_dlloader_add) in
 * place of libltdl's ("lt_dlopen"); libltdl still keeps the handles, their
 * reference counts, lt_dlsym and lt_dlclose.
 */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libltdl/lt_dlloader.h>
#include <ltdl.h>

#include "buf.h"
#include "error.h"
#include "loader.h"

#ifndef PKGLIBDIR
#define PKGLIBDIR "/usr/local/lib/integ"
#endif

/* The smallest plugin vtable each ABI minor (0.3 on) may have: through
 * `check`. */
#define PLUGIN_MIN_SIZE                                                       \
  (offsetof(struct integ_plugin, check) +                                     \
   sizeof(((struct integ_plugin *)0)->check))

/* ---------------------------------------------- eager binding loader */

#define NOW_LOADER "integ_dlopen_now"

/* Our libltdl module loader. libltdl frees the vtable with free() when it
 * removes the loader (at the last lt_dlexit), so it is malloc'd, first in
 * a struct that also holds the dynamic linker's message for the last open
 * that failed: libltdl offers no way to pass such a text through
 * lt_dlerror. */
struct now_loader {
  lt_dlvtable vt; /* first: libltdl frees the struct through it */
  char error[512];
};

static lt_module now_open(lt_user_data data, const char *file,
                          lt_dladvise advise)
{
  struct now_loader *l = data;
  void *m;

  (void)advise; /* always local: one plugin's symbols never bind another's */
  m = dlopen(file, RTLD_NOW | RTLD_LOCAL);
  if (!m) {
    const char *why = dlerror();

    snprintf(l->error, sizeof(l->error), "%s", why ? why : "dlopen failed");
    lt_dlseterror(LT_ERROR_CANNOT_OPEN);
  }
  return m;
}

static int now_close(lt_user_data data, lt_module m)
{
  (void)data;
  if (dlclose(m)) {
    lt_dlseterror(LT_ERROR_CANNOT_CLOSE);
    return 1;
  }
  return 0;
}

static void *now_sym(lt_user_data data, lt_module m, const char *name)
{
  void *p;

  (void)data;
  dlerror();
  p = dlsym(m, name);
  if (!p)
    lt_dlseterror(LT_ERROR_SYMBOL_NOT_FOUND);
  return p;
}

/* lt_dlinit, then make our loader the one libltdl opens files with. Each
 * first lt_dlinit (libltdl counts them) starts with libltdl's default
 * loaders again, so this runs after every one. */
static int ltdl_init(struct integ_error *err)
{
  const lt_dlvtable *ours;
  struct now_loader *l;
  lt_dlvtable *lazy;

  if (lt_dlinit())
    return error_set(err, INTEG_EPLUGIN, "libltdl: %s", lt_dlerror());
  ours = lt_dlloader_find(NOW_LOADER);
  if (ours) {
    l = ours->dlloader_data;
    l->error[0] = '\0'; /* no stale reason for the open about to come */
    return 0;
  }
  l = calloc(1, sizeof(*l));
  if (!l) {
    lt_dlexit();
    return error_set(err, INTEG_ENOMEM, "out of memory");
  }
  l->vt.name = NOW_LOADER;
  l->vt.module_open = now_open;
  l->vt.module_close = now_close;
  l->vt.find_sym = now_sym;
  l->vt.dlloader_data = l;
  l->vt.priority = LT_DLLOADER_PREPEND;
  if (lt_dlloader_add(&l->vt)) {
    free(l);
    lt_dlexit();
    return error_set(err, INTEG_EPLUGIN, "libltdl: cannot add a loader: %s",
                     lt_dlerror());
  }
  /* libltdl tries its loaders in turn: were its lazy one left, a plugin
   * that ours refuses would open there after all. */
  lazy = lt_dlloader_remove("lt_dlopen");
  free(lazy);
  return 0;
}

/* The dynamic linker's reason for the last open that failed. */
static const char *ltdl_open_error(void)
{
  const lt_dlvtable *ours = lt_dlloader_find(NOW_LOADER);
  const struct now_loader *l = ours ? ours->dlloader_data : NULL;
  const char *why;

  if (l && l->error[0])
    return l->error;
  why = lt_dlerror();
  return why ? why : "unknown reason";
}

/* ------------------------------------------------------------- paths */

static int path_add(struct loader_path *p, const char *dir, size_t len)
{
  char **dirs;
  char *d;

  if (len == 0)
    return 0;
  d = strndup(dir, len);
  if (!d)
    return INTEG_ENOMEM;
  dirs = realloc(p->dirs, (p->n + 1) * sizeof(*dirs));
  if (!dirs) {
    free(d);
    return INTEG_ENOMEM;
  }
  dirs[p->n++] = d;
  p->dirs = dirs;
  return 0;
}

int loader_path_init(struct loader_path *p, const char *const *extra,
                     size_t n_extra, struct integ_error *err)
{
  const char *env = getenv("INTEG_PLUGIN_PATH");
  int rc = 0;

  p->dirs = NULL;
  p->n = 0;
  while (env && *env) {
    const char *colon = strchr(env, ':');
    size_t len = colon ? (size_t)(colon - env) : strlen(env);

    rc = path_add(p, env, len);
    if (rc)
      goto out;
    env = colon ? colon + 1 : NULL;
  }
  for (size_t i = 0; i < n_extra; i++) {
    rc = path_add(p, extra[i], strlen(extra[i]));
    if (rc)
      goto out;
  }
  rc = path_add(p, PKGLIBDIR "/plugins", strlen(PKGLIBDIR "/plugins"));
out:
  if (rc) {
    loader_path_free(p);
    return error_set(err, rc, "out of memory building plugin path");
  }
  return 0;
}

void loader_path_free(struct loader_path *p)
{
  for (size_t i = 0; i < p->n; i++)
    free(p->dirs[i]);
  free(p->dirs);
  p->dirs = NULL;
  p->n = 0;
}

/* A plugin name is a file name stem: letters, digits, '-', '_', '.'; never
 * a path. */
static int valid_name(const char *name)
{
  if (!*name || name[0] == '.')
    return 0;
  for (const char *c = name; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
          (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
      return 0;
  return 1;
}

/* Refuse a file or directory that someone other than root or us could
 * change: loading it would run their code as us. */
static int check_owner_mode(const char *what, const char *path,
                            const struct stat *st, struct integ_error *err)
{
  uid_t me = geteuid();

  if (st->st_mode & (S_IWGRP | S_IWOTH))
    return error_set(err, INTEG_EPLUGIN,
                     "%s: refusing plugin: %s is %s-writable "
                     "(run: chmod go-w '%s')",
                     path, what, st->st_mode & S_IWOTH ? "world" : "group",
                     path);
  if (st->st_uid != 0 && st->st_uid != me)
    return error_set(err, INTEG_EPLUGIN,
                     "%s: refusing plugin: %s is owned by uid %lu, not root "
                     "or the current user (uid %lu) (run: chown root '%s')",
                     path, what, (unsigned long)st->st_uid, (unsigned long)me,
                     path);
  return 0;
}

static int check_file(const char *file, struct integ_error *err)
{
  struct stat st;
  unsigned char magic[4];
  char *dir, *slash;
  int fd, rc;
  ssize_t n;

  if (stat(file, &st))
    return error_set(err, INTEG_ENOTFOUND, "%s: cannot open plugin: %s", file,
                     strerror(errno));
  if (!S_ISREG(st.st_mode))
    return error_set(err, INTEG_EPLUGIN,
                     "%s: refusing plugin: not a regular file", file);
  rc = check_owner_mode("the file", file, &st, err);
  if (rc)
    return rc;
  dir = strdup(file);
  if (!dir)
    return error_set(err, INTEG_ENOMEM, "out of memory");
  slash = strrchr(dir, '/');
  if (slash)
    *(slash == dir ? slash + 1 : slash) = '\0';
  if (stat(dir, &st)) {
    rc = error_set(err, INTEG_EPLUGIN, "%s: cannot stat directory %s: %s",
                   file, dir, strerror(errno));
  } else {
    rc = check_owner_mode("its directory", dir, &st, err);
    if (rc)
      error_prefix(err, "%s", file);
  }
  free(dir);
  if (rc)
    return rc;

  /* Say "not a shared object" ourselves: dlerror's text for a random file
   * ("invalid ELF header", "file too short") is less clear. */
  fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return error_set(err, INTEG_EPLUGIN, "%s: cannot open plugin: %s", file,
                     strerror(errno));
  n = read(fd, magic, sizeof(magic));
  close(fd);
  if (n != (ssize_t)sizeof(magic) || memcmp(magic, "\177ELF", 4) != 0)
    return error_set(err, INTEG_EPLUGIN,
                     "%s: refusing plugin: not a shared object (no ELF "
                     "header); build plugins with -shared -fPIC",
                     file);
  return 0;
}

/* The name a plugin file must carry: its base name without ".so". */
static char *name_from_file(const char *file)
{
  const char *base = strrchr(file, '/');
  size_t len;

  base = base ? base + 1 : file;
  len = strlen(base);
  if (len > 3 && strcmp(base + len - 3, ".so") == 0)
    len -= 3;
  return strndup(base, len);
}

int loader_check_vtable(const char *file, const char *expect,
                        const struct integ_plugin *vt, uint32_t host_minor,
                        struct integ_error *err)
{
  if (!vt)
    return error_set(err, INTEG_EPLUGIN,
                     "%s: refusing plugin: %s() returned NULL", file,
                     INTEG_PLUGIN_SYMBOL);
  if (vt->abi_major != INTEG_ABI_MAJOR)
    return error_set(err, INTEG_EABI,
                     "%s: refusing plugin: built for plugin ABI %u.%u, this "
                     "integ has ABI %u.%u (major versions differ: rebuild "
                     "the plugin against this integ's SDK)",
                     file, vt->abi_major, vt->abi_minor, INTEG_ABI_MAJOR,
                     host_minor);
  if (vt->abi_minor > host_minor)
    return error_set(err, INTEG_EABI,
                     "%s: refusing plugin: it needs plugin ABI %u.%u, newer "
                     "than this integ's ABI %u.%u (upgrade integ, or "
                     "rebuild the plugin against this integ's SDK)",
                     file, vt->abi_major, vt->abi_minor, INTEG_ABI_MAJOR,
                     host_minor);
  if (vt->abi_minor < INTEG_ABI_MINOR_MIN)
    return error_set(err, INTEG_EABI,
                     "%s: refusing plugin: built for plugin ABI %u.%u, "
                     "older than ABI %u.%u, the oldest this integ (ABI "
                     "%u.%u) loads (rebuild the plugin against this "
                     "integ's SDK)",
                     file, vt->abi_major, vt->abi_minor, INTEG_ABI_MAJOR,
                     INTEG_ABI_MINOR_MIN, INTEG_ABI_MAJOR, host_minor);
  if (vt->size < PLUGIN_MIN_SIZE)
    return error_set(err, INTEG_EABI,
                     "%s: refusing plugin: its vtable is %zu bytes, smaller "
                     "than the %zu bytes ABI %u.%u requires (the plugin is "
                     "corrupt or was built with a broken header)",
                     file, vt->size, (size_t)PLUGIN_MIN_SIZE, vt->abi_major,
                     vt->abi_minor);
  if (!vt->name || strcmp(vt->name, expect) != 0)
    return error_set(err, INTEG_EPLUGIN,
                     "%s: refusing plugin: it calls itself '%s' but its "
                     "file is named for '%s' (rename the file to %s.so)",
                     file, vt->name ? vt->name : "(null)", expect,
                     vt->name ? vt->name : "NAME");
  if (!vt->load || !vt->run || !vt->unload)
    return error_set(err, INTEG_EPLUGIN,
                     "%s: refusing plugin '%s': load, run and unload are "
                     "required in its vtable",
                     file, vt->name);
  return 0;
}

/* The refusal for a file the dynamic linker would not open. */
static int open_failed(const char *file, struct integ_error *err)
{
  const char *why = ltdl_open_error();
  const char *undef = strstr(why, "undefined symbol: ");

  if (undef) {
    const char *sym = undef + strlen("undefined symbol: ");

    return error_set(err, INTEG_EPLUGIN,
                     "%s: refusing plugin: undefined symbol %.*s (it calls "
                     "or uses something that neither it nor the libraries "
                     "it links define: link it with the library that "
                     "defines it, and build plugins with -Wl,-z,defs to "
                     "catch this at link time)",
                     file, (int)strcspn(sym, " ,("), sym);
  }
  return error_set(err, INTEG_EPLUGIN,
                   "%s: cannot load plugin: %s (check that it was built "
                   "for this system and that its libraries are installed)",
                   file, why);
}

int loader_open_file(const char *file, const char *expect_name,
                     struct plugin **out, struct integ_error *err)
{
  struct plugin *pl = NULL;
  char *abs = NULL, *name = NULL;
  lt_dladvise advise = NULL;
  lt_dlhandle h = NULL;
  integ_plugin_init_fn init;
  int rc, inited = 0;

  *out = NULL;
  abs = realpath(file, NULL);
  if (!abs) {
    rc = error_set(err,
                   errno == ENOENT   ? INTEG_ENOTFOUND
                   : errno == ENOMEM ? INTEG_ENOMEM
                                     : INTEG_EPLUGIN,
                   "%s: cannot open plugin: %s", file, strerror(errno));
    goto out;
  }
  rc = check_file(abs, err);
  if (rc)
    goto out;
  name = expect_name ? strdup(expect_name) : name_from_file(abs);
  if (!name) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  rc = ltdl_init(err);
  if (rc)
    goto out;
  inited = 1;
  /* Local symbols (our loader always asks for them): one plugin's symbols
   * never bind another's. */
  if (lt_dladvise_init(&advise) || lt_dladvise_local(&advise)) {
    rc = error_set(err, INTEG_EPLUGIN, "libltdl: %s", lt_dlerror());
    goto out;
  }
  h = lt_dlopenadvise(abs, advise);
  if (!h) {
    rc = open_failed(abs, err);
    goto out;
  }
  init = (integ_plugin_init_fn)(uintptr_t)lt_dlsym(h, INTEG_PLUGIN_SYMBOL);
  if (!init) {
    rc = error_set(err, INTEG_EPLUGIN,
                   "%s: refusing plugin: no entry symbol %s (define it with "
                   "INTEG_PLUGIN_DEFINE from <integ/plugin.h>)",
                   abs, INTEG_PLUGIN_SYMBOL);
    goto out;
  }
  pl = calloc(1, sizeof(*pl));
  if (!pl) {
    rc = error_set(err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  pl->vt = init();
  rc = loader_check_vtable(abs, name, pl->vt, INTEG_ABI_MINOR, err);
  if (rc)
    goto out;
  pl->path = abs;
  pl->handle = h;
  abs = NULL;
  h = NULL;
  *out = pl;
  pl = NULL;
  inited = 0; /* loader_close balances lt_dlinit */
out:
  if (advise)
    lt_dladvise_destroy(&advise);
  if (h)
    lt_dlclose(h);
  if (inited)
    lt_dlexit();
  free(pl);
  free(name);
  free(abs);
  return rc;
}

int loader_open(const struct loader_path *p, const char *name,
                struct plugin **out, struct integ_error *err)
{
  struct buf tried = BUF_INIT;
  int rc;

  *out = NULL;
  if (!valid_name(name))
    return error_set(err, INTEG_EINVAL,
                     "'%s' is not a plugin name (letters, digits, '-', '_' "
                     "and '.'; not a path)",
                     name);
  for (size_t i = 0; i < p->n; i++) {
    struct buf file = BUF_INIT;
    struct stat st;

    if (buf_printf(&file, "%s/%s.so", p->dirs[i], name)) {
      buf_free(&tried);
      return error_set(err, INTEG_ENOMEM, "out of memory");
    }
    if (stat(file.data, &st) == 0) {
      rc = loader_open_file(file.data, name, out, err);
      buf_free(&file);
      buf_free(&tried);
      return rc;
    }
    buf_free(&file);
    if (buf_printf(&tried, "%s%s", i ? ":" : "", p->dirs[i])) {
      buf_free(&tried);
      return error_set(err, INTEG_ENOMEM, "out of memory");
    }
  }
  rc = error_set(err, INTEG_ENOTFOUND,
                 "no plugin '%s': %s.so is in none of %s (set "
                 "INTEG_PLUGIN_PATH or plugin_path, or run `integ plugins`)",
                 name, name, tried.data ? tried.data : "(empty path)");
  buf_free(&tried);
  return rc;
}

void loader_close(struct plugin *pl)
{
  if (!pl)
    return;
  if (pl->handle) {
    lt_dlclose((lt_dlhandle)pl->handle);
    lt_dlexit();
  }
  free(pl->path);
  free(pl);
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int loader_each(const struct loader_path *p, loader_each_fn fn, void *arg,
                struct integ_error *err)
{
  for (size_t i = 0; i < p->n; i++) {
    DIR *d = opendir(p->dirs[i]);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0;
    int rc = 0;

    if (!d)
      continue; /* a path entry that does not exist is not an error */
    while ((de = readdir(d))) {
      size_t len = strlen(de->d_name);
      char **grown;

      if (len <= 3 || strcmp(de->d_name + len - 3, ".so") != 0)
        continue;
      grown = realloc(names, (n + 1) * sizeof(*names));
      if (!grown || !(grown[n] = strdup(de->d_name))) {
        names = grown ? grown : names;
        rc = error_set(err, INTEG_ENOMEM, "out of memory");
        break;
      }
      names = grown;
      n++;
    }
    closedir(d);
    if (n)
      qsort(names, n, sizeof(*names), cmp_str);
    for (size_t k = 0; k < n && !rc; k++) {
      struct buf file = BUF_INIT;
      struct plugin *pl = NULL;
      struct integ_error perr = {0, ""};

      if (buf_printf(&file, "%s/%s", p->dirs[i], names[k])) {
        rc = error_set(err, INTEG_ENOMEM, "out of memory");
        break;
      }
      if (loader_open_file(file.data, NULL, &pl, &perr) == 0) {
        fn(file.data, pl, NULL, arg);
        loader_close(pl);
      } else {
        fn(file.data, NULL, &perr, arg);
      }
      buf_free(&file);
    }
    for (size_t k = 0; k < n; k++)
      free(names[k]);
    free(names);
    if (rc)
      return rc;
  }
  return 0;
}
