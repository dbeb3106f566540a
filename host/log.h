/* log.h - the host's log: one line per event on stderr.
 *
 * Lines look like `integ: warn: [connector] message`. The level threshold
 * is set once by main() from -v/-q. Every line is scrubbed of the secret
 * values the process knows (secrets.h) before it is written, whoever
 * formatted it: the host, a plugin, or a provider's echoed error.
 */
#ifndef INTEG_HOST_LOG_H
#define INTEG_HOST_LOG_H

#include <stdarg.h>

#include <integ/plugin.h>

/* Set the most verbose level printed (default INTEG_LOG_INFO). */
void log_set_level(enum integ_log_level level);
enum integ_log_level log_get_level(void);

/* How lines are written: plain; with sd-daemon(3) "<N>" priority
 * prefixes (stderr is the journal); or one JSON object a line
 * ({"time", "level", "tag", "message"}) for machines. */
enum log_style { LOG_STYLE_PLAIN, LOG_STYLE_JOURNAL, LOG_STYLE_JSON };
void log_set_style(enum log_style style);

/* The style $INTEG_LOG_FORMAT names (plain, journal, json; the daemon
 * sets it for its children), else journal when stderr is the journal. */
void log_style_from_env(void);

/* Whether $JOURNAL_STREAM ("DEV:INODE") names this process's stderr. */
int log_stderr_is_journal(void);

/* Log a line; `tag` (may be NULL) names the plugin or connector. */
void log_msg(enum integ_log_level level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_msgv(enum integ_log_level level, const char *tag, const char *fmt,
              va_list ap) __attribute__((format(printf, 3, 0)));

#define log_error(...) log_msg(INTEG_LOG_ERROR, NULL, __VA_ARGS__)
#define log_warn(...) log_msg(INTEG_LOG_WARN, NULL, __VA_ARGS__)
#define log_info(...) log_msg(INTEG_LOG_INFO, NULL, __VA_ARGS__)
#define log_debug(...) log_msg(INTEG_LOG_DEBUG, NULL, __VA_ARGS__)

#endif
