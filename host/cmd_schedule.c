/* cmd_schedule.c - `integ schedule`: the next fire times of a schedule, so
 * an admin can check a cron line (and its DST behaviour) before 2 a.m. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "error.h"
#include "schedule.h"

#define COUNT_DEFAULT 5
#define COUNT_MAX 1000000

static void usage(void)
{
  printf("Usage: integ schedule EXPR [--from TIME] [--count N] [--tz ZONE]\n"
         "                      [--jitter-for CONNECTOR --jitter AMOUNT]\n"
         "Print the next N fire times of EXPR strictly after TIME, one a "
         "line,\nin RFC 3339 with the zone's offset.\n\n"
         "EXPR is a cron expression as in crontab(5) (\"30 2 * * 1-5\"), an "
         "alias\n(@hourly, @daily, @midnight, @weekly, @monthly, @yearly, "
         "@annually),\nor an interval: \"every 15m\", \"every 1h30m from "
         "2026-01-01T00:00:00Z\".\n\n"
         "Options:\n"
         "  --from TIME          start after TIME (RFC 3339; default now, or "
         "$INTEG_NOW)\n"
         "  --count N            how many times to print (default %d)\n"
         "  --tz ZONE            the time zone, e.g. Europe/Berlin (default "
         "the system's)\n"
         "  --jitter-for NAME    print when connector NAME runs: each fire "
         "time plus\n"
         "                       NAME's jitter (needs --jitter)\n"
         "  --jitter AMOUNT      0.1 (of the time to the next fire), 10%%, or "
         "a\n"
         "                       maximum such as 30s\n"
         "  -h, --help           show this help\n\n"
         "Exit status: 0 ok, 1 failure, 2 an invalid expression, option, "
         "zone or time.\n",
         COUNT_DEFAULT);
}

static int parse_count(const char *s, long *out)
{
  long v = 0;

  if (!*s)
    return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || v > COUNT_MAX)
      return -1;
    v = v * 10 + (*s - '0');
  }
  if (v < 1 || v > COUNT_MAX)
    return -1;
  *out = v;
  return 0;
}

static int64_t floor_seconds(int64_t ms)
{
  return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

/* Print the schedule error with a caret under the position. */
static void print_expr_error(const char *expr,
                             const struct schedule_where *where,
                             const struct integ_error *err)
{
  fprintf(stderr, "integ schedule: invalid schedule \"%s\": %s\n", expr,
          err->message);
  if (where->position > 0 && where->position <= strlen(expr) + 1) {
    fprintf(stderr, "  %s\n  ", expr);
    for (size_t i = 1; i < where->position; i++)
      fputc(expr[i - 1] == '\t' ? '\t' : ' ', stderr);
    fputs("^\n", stderr);
  }
}

int cmd_schedule(int argc, char **argv)
{
  enum { O_FROM = 1, O_COUNT, O_TZ, O_JITTER_FOR, O_JITTER };
  static const struct option opts[] = {
      {"from", required_argument, NULL, O_FROM},
      {"count", required_argument, NULL, O_COUNT},
      {"tz", required_argument, NULL, O_TZ},
      {"jitter-for", required_argument, NULL, O_JITTER_FOR},
      {"jitter", required_argument, NULL, O_JITTER},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const char *from_text = NULL, *tz = NULL, *connector = NULL;
  const char *jitter = NULL, *expr;
  struct integ_error err = {0, ""};
  struct schedule_where where = {NULL, 0};
  struct schedule *s = NULL;
  struct clock clk;
  long count = COUNT_DEFAULT;
  int64_t from, ms;
  int opt, rc, status = EXIT_OK;

  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case 'h':
      usage();
      return EXIT_OK;
    case O_FROM:
      from_text = optarg;
      break;
    case O_COUNT:
      if (parse_count(optarg, &count))
        return cli_usage_error("schedule",
                               "--count '%s': expected a number from 1 to "
                               "%d",
                               optarg, COUNT_MAX);
      break;
    case O_TZ:
      tz = optarg;
      break;
    case O_JITTER_FOR:
      connector = optarg;
      break;
    case O_JITTER:
      jitter = optarg;
      break;
    default:
      return cli_usage_error("schedule", "bad option");
    }
  }
  if (optind >= argc)
    return cli_usage_error("schedule",
                           "missing EXPR, e.g. integ schedule '30 2 * * *'");
  if (optind + 1 < argc)
    return cli_usage_error("schedule",
                           "one EXPR only, got '%s' too (quote the "
                           "expression: '0 3 * * *')",
                           argv[optind + 1]);
  expr = argv[optind];
  if (!connector != !jitter)
    return cli_usage_error("schedule", "%s",
                           connector ? "--jitter-for needs --jitter AMOUNT "
                                       "(e.g. --jitter 0.1 or --jitter 30s)"
                                     : "--jitter needs --jitter-for "
                                       "CONNECTOR (the jitter depends on "
                                       "the connector's name)");

  if (from_text) {
    if (clock_parse_rfc3339(from_text, strlen(from_text), &ms, &err))
      return cli_usage_error("schedule", "--from: %s", err.message);
  } else {
    if (clock_init(&clk, &err))
      return cli_usage_error("schedule", "%s", err.message);
    ms = clock_now_ms(&clk);
  }
  from = floor_seconds(ms);
  if (from < TZ_T_MIN || from >= TZ_T_MAX)
    return cli_usage_error("schedule",
                           "%s%s: outside the supported years "
                           "1-9999",
                           from_text ? "--from " : "the time now",
                           from_text ? from_text : "");

  rc = schedule_parse(expr, tz, &s, &where, &err);
  if (rc) {
    if (where.field)
      print_expr_error(expr, &where, &err);
    else
      fprintf(stderr, "integ schedule: %s\n", err.message);
    status = rc == INTEG_ENOMEM ? EXIT_RUN : EXIT_USAGE;
    goto out;
  }
  if (jitter) {
    rc = schedule_set_jitter(s, jitter, &err);
    if (rc) {
      status = cli_usage_error("schedule", "--jitter: %s", err.message);
      goto out;
    }
  }
  for (long i = 0; i < count; i++) {
    char buf[48];
    int64_t next;

    rc = schedule_next(s, from, &next, &err);
    if (rc) {
      /* The times before are printed: say where the list ends. */
      fflush(stdout);
      fprintf(stderr, "integ schedule: %s\n", err.message);
      status = EXIT_RUN;
      goto out;
    }
    from = next;
    if (connector) {
      tz_format(next, schedule_zone(s), buf, sizeof buf);
      next += schedule_jitter(s, connector, next);
      if (!tz_in_years(schedule_zone(s), next)) {
        fflush(stdout);
        fprintf(stderr,
                "integ schedule: %s's run for the fire time %s falls after "
                "year 9999\n",
                connector, buf);
        status = EXIT_RUN;
        goto out;
      }
    }
    tz_format(next, schedule_zone(s), buf, sizeof buf);
    if (puts(buf) == EOF)
      break;
  }
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "integ schedule: cannot write the output\n");
    status = EXIT_RUN;
  }
out:
  schedule_free(s);
  return status;
}
