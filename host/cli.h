/* cli.h - the command line: global options and the command table.
 *
 * `integ [GLOBAL OPTIONS] COMMAND [ARGS]`. Each command is a function
 * cmd_NAME(argc, argv) with argv[0] the command's name; it returns the
 * process's exit status: 0 ok, 1 a run failed, 2 usage or configuration
 * error. `integ COMMAND --help` prints the command's usage and exits 0.
 */
#ifndef INTEG_HOST_CLI_H
#define INTEG_HOST_CLI_H

#include <stdio.h>

#define EXIT_OK 0
#define EXIT_RUN 1
#define EXIT_USAGE 2

/* Options given before the command, set once by cli_main. */
struct cli_globals {
  const char *manifest; /* -c/--config, else $INTEG_CONFIG, else the
                           installed integ.yaml */
  int manifest_given;   /* 1 when -c or $INTEG_CONFIG named it */
  int verbose;          /* count of -v */
};

/* The global options (borrowed; valid for the process's life). */
const struct cli_globals *cli_globals(void);

/* Parse global options and run a command. The program's main(). */
int cli_main(int argc, char **argv);

/* Print a usage error for `cmd` on stderr (with a hint to run
 * `integ CMD --help`) and return EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Commands. */
int cmd_run(int argc, char **argv);
int cmd_plugins(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_help(int argc, char **argv);
/* ---- commands of other modules, one line each ---- */
int cmd_schedule(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_state(int argc, char **argv);
int cmd_jsonpath(int argc, char **argv);
int cmd_tap(int argc, char **argv);
int cmd_source(int argc, char **argv);
int cmd_auth(int argc, char **argv);
int cmd_daemon(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_webhooks(int argc, char **argv);
int cmd_run_now(int argc, char **argv);

#endif
