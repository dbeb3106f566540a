/* abi.c - a tiny shared object whose debug info holds every type of
 * <integ/plugin.h>, for abidw (libabigail) to dump and abidiff to compare
 * with sdk/abi/integ-MAJOR.MINOR.xml (tests/abi.sh). abidw keeps the
 * types that exported functions reach, so this exports one that takes
 * each of them. */
#include <integ/plugin.h>

int integ_abi_types(const struct integ_host *host,
                    const struct integ_plugin *plugin, struct integ_error *err,
                    struct integ_http_detail *detail,
                    enum integ_log_level level, integ_plugin_init_fn init);

int integ_abi_types(const struct integ_host *host,
                    const struct integ_plugin *plugin, struct integ_error *err,
                    struct integ_http_detail *detail,
                    enum integ_log_level level, integ_plugin_init_fn init)
{
  return (host != NULL) + (plugin != NULL) + (err != NULL) + (detail != NULL) +
         (int)level + (init != NULL);
}
