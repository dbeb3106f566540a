/* cmd_state.c - `integ state show|set|clear|history`: operators read and
 * repair a connector's state in the store. Every change is noted in the
 * run history with the value it replaced, and `history` shows those notes
 * beside the runs, so a change can be undone. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "buf.h"
#include "cli.h"
#include "clock.h"
#include "error.h"
#include "log.h"
#include "manifest.h"
#include "store.h"

enum state_action { ACT_SHOW, ACT_SET, ACT_CLEAR, ACT_HISTORY };

/* Entries `history` prints unless --limit says otherwise. */
#define HISTORY_DEFAULT 20

struct state_cmd {
  enum state_action act;
  const char *connector;
  const char *stream; /* NULL: the connector's whole state */
  const char *store;  /* --store, else the manifest's */
  const char *account;
  json_t *value; /* set: the new value (owned) */
  size_t limit;  /* history: newest entries shown; 0 all */
  int limit_set; /* --limit was given */
};

static void state_usage(void)
{
  printf("Usage: integ state show CONNECTOR [STREAM]\n"
         "       integ state set CONNECTOR STREAM JSON|-\n"
         "       integ state clear CONNECTOR [STREAM]\n"
         "       integ state history CONNECTOR [--limit N]\n"
         "Show, set or clear a connector's state in the store: the value "
         "of one\nSTREAM, or with no STREAM the whole {stream: value} "
         "object. STREAM \"\" is\nthe connector's state as a whole. set "
         "reads JSON from the argument, or\nfrom standard input for '-'. "
         "set and clear are noted in the run history\nwith the value "
         "they replaced; history shows the runs and those notes,\nnewest "
         "first, so that a change can be undone with set.\n\n"
         "Options:\n"
         "  --store PATH    the store (default: the manifest's store:)\n"
         "  --account NAME  the account (default: the connector's account "
         "in the\n                  manifest, else \"default\")\n"
         "  --limit N       history: the newest N entries (default %d; 0 "
         "for all)\n"
         "  -h, --help      show this help\n\n"
         "Exit status: 0 ok; 1 nothing stored for CONNECTOR[/STREAM] "
         "(show, clear,\nhistory) or the store failed; 2 usage or "
         "configuration error, or JSON\nthat does not parse.\n",
         HISTORY_DEFAULT);
}

/* Parse the JSON to set, from argv or stdin ("-"). Exit code or 0. */
static int read_value(struct state_cmd *c, const char *arg)
{
  json_error_t jerr;
  const char *src = strcmp(arg, "-") == 0 ? "<stdin>" : "argument";
  size_t flags = JSON_DECODE_ANY | JSON_REJECT_DUPLICATES;

  if (strcmp(arg, "-") == 0)
    c->value = json_loadf(stdin, flags, &jerr);
  else
    c->value = json_loads(arg, flags, &jerr);
  if (!c->value) {
    fprintf(stderr,
            "integ state: the new state of %s/%s is not JSON: %s:%d:%d: "
            "%s\n",
            c->connector, c->stream, src, jerr.line, jerr.column, jerr.text);
    return EXIT_USAGE;
  }
  return 0;
}

static int parse_args(struct state_cmd *c, int argc, char **argv)
{
  static const struct option opts[] = {
      {"store", required_argument, NULL, 's'},
      {"account", required_argument, NULL, 'a'},
      {"limit", required_argument, NULL, 'n'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const char *verb;
  char *end;
  unsigned long long lim;
  int opt, n, min, max;

  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case 's':
      c->store = optarg;
      break;
    case 'a':
      c->account = optarg;
      break;
    case 'n':
      errno = 0;
      lim = strtoull(optarg, &end, 10);
      if (!*optarg || *end || *optarg == '-' || errno || lim > SIZE_MAX)
        return cli_usage_error("state",
                               "--limit '%s': expected a number of entries "
                               "(0 for all)",
                               optarg);
      c->limit = (size_t)lim;
      c->limit_set = 1;
      break;
    case 'h':
      state_usage();
      return -1;
    default:
      return cli_usage_error("state", "bad option");
    }
  }
  if (optind >= argc)
    return cli_usage_error("state", "say show, set, clear or history");
  verb = argv[optind++];
  if (strcmp(verb, "show") == 0) {
    c->act = ACT_SHOW;
  } else if (strcmp(verb, "set") == 0) {
    c->act = ACT_SET;
  } else if (strcmp(verb, "clear") == 0) {
    c->act = ACT_CLEAR;
  } else if (strcmp(verb, "history") == 0) {
    c->act = ACT_HISTORY;
  } else {
    return cli_usage_error(
        "state", "no action '%s' (show, set, clear or history)", verb);
  }
  if (c->limit_set && c->act != ACT_HISTORY)
    return cli_usage_error("state", "--limit goes with history");
  min = c->act == ACT_SET ? 3 : 1;
  max = c->act == ACT_SET ? 3 : c->act == ACT_HISTORY ? 1 : 2;
  n = argc - optind;
  if (n < min)
    return cli_usage_error("state", "%s needs %s", verb,
                           c->act == ACT_SET ? "CONNECTOR STREAM JSON"
                                             : "a CONNECTOR");
  if (n > max)
    return cli_usage_error("state", "unexpected argument '%s'",
                           argv[optind + max]);
  c->connector = argv[optind];
  if (!*c->connector)
    return cli_usage_error("state", "the connector name is empty");
  if (n >= 2)
    c->stream = argv[optind + 1];
  if (c->account && !*c->account)
    return cli_usage_error("state", "the account name is empty");
  if (c->act == ACT_SET)
    return read_value(c, argv[optind + 2]);
  return 0;
}

/* Without --store, the manifest names the store and the connector's
 * account, and the connector must be in it. */
static int from_manifest(struct state_cmd *c, struct manifest **m)
{
  struct yaml_errors errs = {0};
  const struct manifest_connector *mc;
  int rc = 0;

  if (manifest_load(cli_globals()->manifest, m, &errs)) {
    yaml_errors_print(&errs, stderr);
    fprintf(stderr, "integ state: fix the manifest, or give --store\n");
    rc = EXIT_USAGE;
    goto out;
  }
  mc = manifest_connector(*m, c->connector);
  if (!mc) {
    fprintf(stderr, "integ state: no connector '%s' in %s\n", c->connector,
            (*m)->path);
    rc = EXIT_USAGE;
    goto out;
  }
  c->store = (*m)->store;
  if (!c->account && mc->account)
    c->account = mc->account;
out:
  yaml_errors_free(&errs);
  return rc;
}

/* "connector 'c'" or "connector 'c', stream 's'" for messages. */
static void describe(const struct state_cmd *c, char *b, size_t n)
{
  if (c->stream)
    snprintf(b, n, "connector '%s', stream '%s' (account '%s')", c->connector,
             c->stream, c->account);
  else
    snprintf(b, n, "connector '%s' (account '%s')", c->connector, c->account);
}

/* The value that `c` addresses now, compact (new string): "nothing" when
 * none, "unreadable" when the store cannot give it (clear and set are the
 * way out of malformed state, so they must not stop here). */
static char *current_text(struct store *s, const struct state_cmd *c)
{
  struct integ_error err = {0, ""};
  json_t *all = NULL, *v;
  char *t = NULL;

  if (store_state_get(s, c->account, c->connector, &all, &err))
    return strdup("unreadable");
  v = c->stream ? json_object_get(all, c->stream) : all;
  if (!v || (!c->stream && json_object_size(all) == 0))
    t = strdup("nothing");
  else
    t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  json_decref(all);
  return t;
}

static int print_json(json_t *v)
{
  char *t = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);

  if (!t) {
    log_error("out of memory");
    return EXIT_RUN;
  }
  fputs(t, stdout);
  fputc('\n', stdout);
  free(t);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    log_error("cannot write to standard output");
    return EXIT_RUN;
  }
  return EXIT_OK;
}

static int do_show(struct store *s, const struct state_cmd *c,
                   const char *what)
{
  struct integ_error err = {0, ""};
  json_t *all = NULL, *v;
  int rc;

  if (store_state_get(s, c->account, c->connector, &all, &err)) {
    log_error("%s", err.message);
    return EXIT_RUN;
  }
  v = c->stream ? json_object_get(all, c->stream) : all;
  if (!v || json_object_size(all) == 0) {
    fprintf(stderr, "integ state: nothing stored for %s\n", what);
    rc = EXIT_RUN;
  } else {
    rc = print_json(v);
  }
  json_decref(all);
  return rc;
}

/* set and clear: change, then note the change with the old value. */
static int do_change(struct store *s, const struct state_cmd *c,
                     const struct clock *clk, const char *what)
{
  struct integ_error err = {0, ""};
  struct buf note = BUF_INIT;
  json_t *obj = NULL;
  char *old = NULL, *now = NULL;
  size_t removed = 0;
  int rc = EXIT_RUN;

  old = current_text(s, c);
  if (!old) {
    error_set(&err, INTEG_ENOMEM, "out of memory");
    goto out;
  }
  if (c->act == ACT_SET) {
    obj = json_object();
    now = json_dumps(c->value, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!obj || !now || json_object_set(obj, c->stream, c->value)) {
      error_set(&err, INTEG_ENOMEM, "out of memory");
      goto out;
    }
    if (store_state_put(s, c->account, c->connector, obj, &err))
      goto out;
    if (buf_printf(&note, "state of stream '%s' set by operator: %s (was: %s)",
                   c->stream, now, old)) {
      error_set(&err, INTEG_ENOMEM, "out of memory");
      goto out;
    }
  } else {
    if (store_state_clear(s, c->account, c->connector, c->stream, &removed,
                          &err))
      goto out;
    if (removed == 0) {
      fprintf(stderr, "integ state: nothing stored for %s\n", what);
      goto out;
    }
    if (c->stream ? buf_printf(&note,
                               "state of stream '%s' cleared by operator "
                               "(was: %s)",
                               c->stream, old)
                  : buf_printf(&note,
                               "state of all %zu streams cleared by "
                               "operator (was: %s)",
                               removed, old)) {
      error_set(&err, INTEG_ENOMEM, "out of memory");
      goto out;
    }
  }
  if (store_history_note(s, c->account, c->connector, note.data,
                         clock_now_ms(clk), &err)) {
    error_prefix(&err, "the change to %s was made but not noted", what);
    goto out;
  }
  rc = EXIT_OK;
out:
  if (rc != EXIT_OK && err.code)
    log_error("%s", err.message);
  buf_free(&note);
  free(old);
  free(now);
  json_decref(obj);
  return rc;
}

/* "2026-01-02T03:04:05Z" for ms since the epoch, into buf. */
static const char *utc_text(json_t *ms, char *buf, size_t size)
{
  time_t t;
  struct tm tm;

  if (!json_is_integer(ms))
    return "?";
  t = (time_t)(json_integer_value(ms) / 1000);
  if (!gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
    return "?";
  return buf;
}

/* One line per entry, newest first: when, what, and for a run how it
 * ended; a note's text holds the value a change replaced. */
static int do_history(struct store *s, const struct state_cmd *c,
                      const char *what)
{
  struct integ_error err = {0, ""};
  json_t *rows = NULL, *row;
  const char *msg, *kind, *status;
  char when[32], ended[32];
  size_t i;
  int rc = EXIT_RUN;

  if (store_runs_list(s, c->account, c->connector,
                      c->limit_set ? c->limit : HISTORY_DEFAULT, &rows,
                      &err)) {
    log_error("%s", err.message);
    return EXIT_RUN;
  }
  if (json_array_size(rows) == 0) {
    fprintf(stderr, "integ state: no runs or notes recorded for %s\n", what);
    goto out;
  }
  json_array_foreach(rows, i, row)
  {
    utc_text(json_object_get(row, "started_ms"), when, sizeof(when));
    msg = json_string_value(json_object_get(row, "message"));
    kind = json_string_value(json_object_get(row, "kind"));
    status = json_string_value(json_object_get(row, "status"));
    if (kind && strcmp(kind, "note") == 0) {
      printf("%s  note  %s\n", when, msg ? msg : "");
      continue;
    }
    printf("%s  run   %s, %lld records", when, status ? status : "?",
           (long long)json_integer_value(json_object_get(row, "records")));
    if (json_is_integer(json_object_get(row, "ended_ms")))
      printf(", ended %s",
             utc_text(json_object_get(row, "ended_ms"), ended, sizeof(ended)));
    if (msg)
      printf(": %s", msg);
    putchar('\n');
  }
  if (fflush(stdout) != 0 || ferror(stdout)) {
    log_error("cannot write to standard output");
    goto out;
  }
  rc = EXIT_OK;
out:
  json_decref(rows);
  return rc;
}

int cmd_state(int argc, char **argv)
{
  struct state_cmd c = {ACT_SHOW, NULL, NULL, NULL, NULL, NULL, 0, 0};
  struct integ_error err = {0, ""};
  struct manifest *m = NULL;
  struct store *s = NULL;
  struct clock clk;
  struct stat st;
  char what[512];
  int rc;

  rc = parse_args(&c, argc, argv);
  if (rc) {
    rc = rc < 0 ? EXIT_OK : rc;
    goto out;
  }
  if (!c.store && (rc = from_manifest(&c, &m)))
    goto out;
  if (!c.account)
    c.account = "default";
  describe(&c, what, sizeof(what));
  if (clock_init(&clk, &err)) {
    log_error("%s", err.message);
    rc = EXIT_USAGE;
    goto out;
  }
  /* Reading must not create a store (at a mistyped path, say). */
  if (c.act != ACT_SET && stat(c.store, &st) != 0 && errno == ENOENT) {
    fprintf(stderr, "integ state: nothing stored for %s: no store at %s\n",
            what, c.store);
    rc = EXIT_RUN;
    goto out;
  }
  if (store_open(c.store, &s, &err)) {
    log_error("%s", err.message);
    rc = EXIT_RUN;
    goto out;
  }
  if (c.act == ACT_SHOW)
    rc = do_show(s, &c, what);
  else if (c.act == ACT_HISTORY)
    rc = do_history(s, &c, what);
  else
    rc = do_change(s, &c, &clk, what);
out:
  store_close(s);
  manifest_free(m);
  json_decref(c.value);
  return rc;
}
