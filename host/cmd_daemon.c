/* cmd_daemon.c - `integ daemon`: run scheduled connectors, supervised. */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "daemon.h"
#include "log.h"

static void daemon_usage(FILE *f)
{
  fprintf(f, "Usage: integ daemon [--log-format FORMAT]\n"
             "Run every enabled connector that has a schedule, each run a "
             "child process\n(integ run), in the foreground until SIGTERM or "
             "SIGINT. SIGHUP reloads the\nmanifest; a broken one is logged "
             "and the running configuration kept.\n"
             "`integ status` and `integ run-now` talk to it through "
             "daemon.control_socket.\n\n"
             "      --log-format FORMAT  plain, journal (sd-daemon <N> "
             "prefixes; the default\n"
             "                           when $JOURNAL_STREAM is standard "
             "error) or json\n"
             "  -h, --help               show this help\n\n"
             "Environment: NOTIFY_SOCKET (systemd readiness: READY=1, "
             "RELOADING=1,\nSTOPPING=1, STATUS=).\n"
             "Exit status: 0 stopped cleanly, 1 could not run (another "
             "daemon, the store),\n2 usage or configuration error.\n");
}

int cmd_daemon(int argc, char **argv)
{
  static const struct option opts[] = {
      {"log-format", required_argument, NULL, 'L'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  struct integ_error err = {0, ""};
  enum log_style style =
      log_stderr_is_journal() ? LOG_STYLE_JOURNAL : LOG_STYLE_PLAIN;
  int opt, rc;

  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case 'L':
      if (strcmp(optarg, "plain") == 0)
        style = LOG_STYLE_PLAIN;
      else if (strcmp(optarg, "journal") == 0)
        style = LOG_STYLE_JOURNAL;
      else if (strcmp(optarg, "json") == 0)
        style = LOG_STYLE_JSON;
      else
        return cli_usage_error("daemon", "--log-format is plain, journal "
                                         "or json");
      break;
    case 'h':
      daemon_usage(stdout);
      return EXIT_OK;
    default:
      return cli_usage_error("daemon", "bad option");
    }
  }
  if (optind < argc)
    return cli_usage_error("daemon", "no arguments expected");
  log_set_style(style);
  /* The children (integ run) log in the same style. */
  setenv("INTEG_LOG_FORMAT",
         style == LOG_STYLE_JSON      ? "json"
         : style == LOG_STYLE_JOURNAL ? "journal"
                                      : "plain",
         1);
  /* A service logs what it starts and how it ended: info unless -q. */
  if (log_get_level() == INTEG_LOG_WARN)
    log_set_level(INTEG_LOG_INFO);
  rc = daemon_run(cli_globals()->manifest, &err);
  if (rc)
    log_error("%s", err.message);
  return !rc ? EXIT_OK : rc == INTEG_ECONFIG ? EXIT_USAGE : EXIT_RUN;
}
