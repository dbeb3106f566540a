/* cli.c - global options and the command table. */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"

struct command {
  const char *name;
  int (*fn)(int argc, char **argv);
  const char *summary;
};

/* The command table: `integ --help` lists it in this order. */
static const struct command commands[] = {
    {"run", cmd_run, "run connectors (or one plugin) and write records"},
    {"plugins", cmd_plugins, "list the plugins on the plugin path"},
    {"version", cmd_version, "print versions of integ, its ABI and libraries"},
    /* ---- commands of other modules, one line each ---- */
    {"schedule", cmd_schedule, "print the next fire times of a schedule"},
    {"validate", cmd_validate, "check the manifest and report every error"},
    {"jsonpath", cmd_jsonpath, "query JSON with JSONPath (RFC 9535)"},
    {"state", cmd_state, "show, set or clear a connector's stored state"},
    {"auth", cmd_auth,
     "log in, show, remove, import and re-seal OAuth2 tokens"},
    {"tap", cmd_tap, "run a plugin as a Singer tap (--config, --catalog)"},
    {"source", cmd_source,
     "run a plugin as an Airbyte source (spec, check, discover, read)"},
    {"daemon", cmd_daemon,
     "run scheduled connectors, supervised (foreground)"},
    {"status", cmd_status, "show connectors' last runs, next fires, failures"},
    {"run-now", cmd_run_now, "ask the daemon to run a connector now"},
    {"webhooks", cmd_webhooks,
     "list, replay or process received webhook events"},
    {"help", cmd_help, "show help for integ or for a command"},
};

/* Set once in cli_main before any command runs; read-only after. */
static struct cli_globals globals;

const struct cli_globals *cli_globals(void)
{
  return &globals;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
  va_list ap;

  fprintf(stderr, "integ%s%s: ", cmd ? " " : "", cmd ? cmd : "");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'integ %s%s--help'.\n", cmd ? cmd : "",
          cmd ? " " : "");
  return EXIT_USAGE;
}

static void usage(FILE *f)
{
  fprintf(f,
          "Usage: integ [OPTIONS] COMMAND [ARGS]\n"
          "Pull data from HTTP APIs through connector plugins and write "
          "it as\nSinger or Airbyte messages.\n\n"
          "Options:\n"
          "  -c, --config FILE  the manifest (default $INTEG_CONFIG, else "
          "%s/integ/integ.yaml)\n"
          "  -v, --verbose      log more (repeat for debug)\n"
          "  -q, --quiet        log errors only\n"
          "  -h, --help         show this help\n"
          "      --version      show the version\n\n"
          "Commands:\n",
          SYSCONFDIR);
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\nRun 'integ COMMAND --help' for a command's options.\n"
             "Exit status: 0 ok, 1 a run failed, 2 usage or "
             "configuration error.\n");
}

static const struct command *find_command(const char *name)
{
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    if (strcmp(commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

int cmd_help(int argc, char **argv)
{
  const struct command *c;
  char *sub[] = {NULL, (char *)"--help", NULL};

  if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
      strcmp(argv[1], "-h") == 0) {
    usage(stdout);
    return EXIT_OK;
  }
  c = find_command(argv[1]);
  if (!c)
    return cli_usage_error("help", "no command '%s'", argv[1]);
  sub[0] = argv[1];
  optind = 0;
  return c->fn(2, sub);
}

/* ---- tap: argv[0] dispatch ---- */
/* Orchestrators run one executable per connector: integ called through a
 * symlink named tap-NAME or source-NAME is `integ tap NAME ARGS` or
 * `integ source NAME ARGS`. Returns -1 when argv[0] is neither. */
static int cli_connector_alias(int argc, char **argv)
{
  const char *base = strrchr(argv[0], '/');
  int (*fn)(int, char **) = NULL;
  char **args;
  size_t skip = 0;
  int rc;

  base = base ? base + 1 : argv[0];
  if (strncmp(base, "tap-", 4) == 0 && base[4])
    fn = cmd_tap, skip = 4;
  else if (strncmp(base, "source-", 7) == 0 && base[7])
    fn = cmd_source, skip = 7;
  if (!fn)
    return -1;
  args = calloc((size_t)argc + 2, sizeof(*args));
  if (!args) {
    log_error("out of memory");
    return EXIT_RUN;
  }
  args[0] = (char *)(skip == 4 ? "tap" : "source");
  args[1] = (char *)base + skip;
  for (int i = 1; i < argc; i++)
    args[i + 1] = argv[i];
  log_set_level(INTEG_LOG_WARN);
  optind = 0;
  rc = fn(argc + 1, args);
  free(args);
  return rc;
}
/* ---- end tap ---- */

int cli_main(int argc, char **argv)
{
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'},
      {"verbose", no_argument, NULL, 'v'},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0}};
  const struct command *c;
  const char *env;
  int opt, quiet = 0;

  /* A closed pipe is a write error we report, not a silent death. */
  signal(SIGPIPE, SIG_IGN);
  if (argc > 0 && (opt = cli_connector_alias(argc, argv)) >= 0)
    return opt;

  env = getenv("INTEG_CONFIG");
  globals.manifest = SYSCONFDIR "/integ/integ.yaml";
  if (env && *env) {
    globals.manifest = env;
    globals.manifest_given = 1;
  }
  opterr = 0;
  /* '+': stop at the command; its options are its own. */
  while ((opt = getopt_long(argc, argv, "+c:vqh", opts, NULL)) != -1) {
    switch (opt) {
    case 'c':
      globals.manifest = optarg;
      globals.manifest_given = 1;
      break;
    case 'v':
      globals.verbose++;
      break;
    case 'q':
      quiet = 1;
      break;
    case 'h':
      usage(stdout);
      return EXIT_OK;
    case 'V':
      return cmd_version(1, (char *[]){(char *)"version", NULL});
    default:
      if (optopt)
        return cli_usage_error(NULL, "unknown option '-%c'", optopt);
      return cli_usage_error(NULL, "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (quiet)
    log_set_level(INTEG_LOG_ERROR);
  else if (globals.verbose)
    log_set_level(globals.verbose > 1 ? INTEG_LOG_DEBUG : INTEG_LOG_INFO);
  else
    log_set_level(INTEG_LOG_WARN);
  if (optind >= argc) {
    usage(stderr);
    return EXIT_USAGE;
  }
  c = find_command(argv[optind]);
  if (!c)
    return cli_usage_error(NULL, "no command '%s'", argv[optind]);
  argc -= optind;
  argv += optind;
  optind = 0; /* glibc: a full re-initialisation for the command */
  opterr = 1;
  return c->fn(argc, argv);
}
