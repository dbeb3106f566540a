/* loader.h - find, check and open plugins (libltdl).
 *
 * Plugins are found by name on the plugin path and opened by absolute path
 * only. Before a file is opened the loader refuses it, naming the file and
 * the reason, when it or its directory is group- or world-writable or owned
 * by someone other than root or the current user, or when it is not a
 * shared object; when it uses a symbol that nothing defines (every symbol
 * is bound at load); after opening, when it lacks the entry symbol, was
 * built for another ABI major, needs a newer ABI minor than this host's or
 * one older than INTEG_ABI_MINOR_MIN, has a vtable too small for the minor
 * it needs, or names itself differently from its file.
 */
#ifndef INTEG_HOST_LOADER_H
#define INTEG_HOST_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include <integ/plugin.h>

/* The plugin path: directories searched in order. */
struct loader_path {
  char **dirs; /* owned */
  size_t n;
};

/* Build the search path: $INTEG_PLUGIN_PATH (colon-separated), then
 * `extra` (the manifest's plugin_path entries, may be NULL/0), then the
 * installed directory. Returns 0 or INTEG_ENOMEM. */
int loader_path_init(struct loader_path *p, const char *const *extra,
                     size_t n_extra, struct integ_error *err);
void loader_path_free(struct loader_path *p);

/* An opened plugin. */
struct plugin {
  char *path;                    /* absolute file name, owned */
  const struct integ_plugin *vt; /* the plugin's vtable, borrowed */
  void *handle;                  /* lt_dlhandle */
};

/* Find NAME.so on the path and open it. On success *out is a new plugin
 * (free with loader_close). INTEG_ENOTFOUND when no directory has it
 * (the message lists the directories searched); INTEG_EABI / INTEG_EPLUGIN
 * with the file and reason when it is refused. */
int loader_open(const struct loader_path *p, const char *name,
                struct plugin **out, struct integ_error *err);

/* Open the plugin file at `file` (absolute or relative; made absolute).
 * `expect_name` (may be NULL) is the name the plugin must carry. */
int loader_open_file(const char *file, const char *expect_name,
                     struct plugin **out, struct integ_error *err);

void loader_close(struct plugin *pl);

/* The ABI checks of loader_open_file on a plugin's vtable `vt` from
 * `file`, as a host of minor host_minor (INTEG_ABI_MINOR; tests pass
 * others) would make them; expect is the name the plugin must carry.
 * Returns 0, or INTEG_EABI / INTEG_EPLUGIN with err naming the file, the
 * reason and the fix. */
int loader_check_vtable(const char *file, const char *expect,
                        const struct integ_plugin *vt, uint32_t host_minor,
                        struct integ_error *err);

/* Call fn for every NAME.so in every directory of the path, in path order
 * and by name within a directory: with the opened plugin (then closed
 * again by the loader) or with pl NULL and err saying why it was refused. */
typedef void (*loader_each_fn)(const char *file, const struct plugin *pl,
                               const struct integ_error *err, void *arg);
int loader_each(const struct loader_path *p, loader_each_fn fn, void *arg,
                struct integ_error *err);

#endif
