/* manifest.c - integ.yaml: schema table, includes, references, checks. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "connconf.h"
#include "duration.h"
#include "jsonschema.h"
#include "manifest.h"
#include "secrets.h"

/* ------------------------------------------------------ schema table */

/* Keys accepted as mappings that nothing reads yet: change their row when
 * the key gets its meaning. */
#define RESERVED(what)                                                        \
  "Not used yet (" what "): accepted as a mapping and otherwise ignored."

static const struct manifest_key keys[] = {
    /* path, type, flags, default (JSON), allowed, doc */
    {"integ", MANIFEST_INT, MANIFEST_REQUIRED, NULL, "1",
     "Format version of the manifest; must be 1."},
    {"plugin_path", MANIFEST_PATHS, 0, "[]", NULL,
     "Directories searched for plugins, after $INTEG_PLUGIN_PATH and before "
     "the installed plugin directory."},
    {"store", MANIFEST_PATH, 0, "\"" LOCALSTATEDIR "/lib/integ/integ.db\"",
     NULL, "The SQLite database holding state, tokens and run history."},
    {"output", MANIFEST_OBJECT, 0, "{}", NULL,
     "How and where records are written."},
    {"output.format", MANIFEST_STRING, 0, "\"singer\"", "singer|airbyte|jsonl",
     "The message protocol."},
    {"output.to", MANIFEST_STRING, 0, "\"stdout\"", "stdout|file:*|command:*",
     "stdout, file:PATH, or command:CMD (a Singer target or Airbyte "
     "destination, run with /bin/sh -c)."},
    {"output.checkpoint_records", MANIFEST_INT, 0, "10000", "1..",
     "Records between checkpoints (output made durable, state committed)."},
    {"output.checkpoint_interval", MANIFEST_DURATION, 0, "\"5s\"", "1ms..",
     "Longest time between checkpoints."},
    {"token_key", MANIFEST_PATH, 0, "\"" SYSCONFDIR "/integ/token.key\"", NULL,
     "The file of 32 random bytes that seals stored tokens (made by integ "
     "auth login, mode 0600, or 0640 root:integ)."},
    {"daemon", MANIFEST_OBJECT, 0, "{}", NULL, "Settings of integ daemon."},
    {"daemon.max_parallel", MANIFEST_INT, 0, "4", "1..1000",
     "Most runs (child processes) at once."},
    {"daemon.stop_grace", MANIFEST_DURATION, 0, "\"30s\"", "0s..",
     "Time a run gets after SIGTERM (a stop, max_runtime) before SIGKILL."},
    {"daemon.control_socket", MANIFEST_PATH, 0,
     "\"" RUNSTATEDIR "/integ/control.sock\"", NULL,
     "Unix socket (mode 0600) integ run-now and integ status talk to."},
    {"daemon.lock_dir", MANIFEST_PATH, 0, "\"" RUNSTATEDIR "/integ\"", NULL,
     "Directory of the per-connector lock files integ run takes."},
    {"daemon.history_retention", MANIFEST_DURATION, 0, "\"30d\"", "1h..",
     "Run history older than this is pruned."},
    {"daemon.backoff_max", MANIFEST_DURATION, 0, "\"1h\"", "1s..",
     "Cap of the wait after consecutive failures (it doubles from the "
     "schedule's next fire)."},
    /* Webhooks: the listener. */
    {"webhooks", MANIFEST_OBJECT, 0, "{}", NULL,
     "The daemon's webhook receiver (usually behind a reverse proxy that "
     "terminates TLS)."},
    {"webhooks.listen", MANIFEST_STRING, 0, "\"127.0.0.1:8088\"", NULL,
     "ADDRESS:PORT the receiver listens on."},
    {"webhooks.tls_cert", MANIFEST_PATH, 0, NULL, NULL,
     "PEM certificate (chain) to serve HTTPS with; needs tls_key."},
    {"webhooks.tls_key", MANIFEST_PATH, 0, NULL, NULL,
     "PEM private key of tls_cert."},
    {"webhooks.max_body", MANIFEST_INT, 0, "1048576", "1..",
     "Largest body in bytes; a larger delivery gets 413."},
    {"webhooks.tolerance", MANIFEST_DURATION, 0, "\"5m\"", "0s..",
     "Default largest difference, either way, between a signed timestamp "
     "and now."},
    {"webhooks.key_ttl", MANIFEST_DURATION, 0, "\"7d\"", "1m..",
     "How long a delivery id is remembered: a retried delivery within it "
     "is acknowledged again and not processed twice."},
    {"metrics", MANIFEST_OBJECT, 0, "{}", NULL,
     "The daemon's Prometheus endpoint."},
    {"metrics.listen", MANIFEST_STRING, 0, NULL, NULL,
     "ADDRESS:PORT to serve /metrics on (e.g. 127.0.0.1:9464); absent: "
     "no endpoint."},
    {"include", MANIFEST_STRINGS, 0, "[]", NULL,
     "Glob patterns of more manifest files (conf.d drop-ins), relative to "
     "the including file."},
    {"connectors", MANIFEST_MAP, 0, "{}", NULL, "The connectors, by name."},
    {"connectors.*", MANIFEST_OBJECT, 0, NULL, NULL,
     "One connector. A name holds letters, digits, '.', '_' and '-'."},
    {"connectors.*.plugin", MANIFEST_STRING, MANIFEST_REQUIRED, NULL, NULL,
     "The plugin that runs it: NAME.so on the plugin path."},
    {"connectors.*.enabled", MANIFEST_BOOL, 0, "true", NULL,
     "Whether integ run and the daemon run it."},
    {"connectors.*.account", MANIFEST_STRING, 0, "\"default\"", NULL,
     "The tenant: tokens and state are kept per account."},
    {"connectors.*.config", MANIFEST_ANY, 0, "{}", NULL,
     "The plugin's config, checked against the plugin's JSON Schema."},
    {"connectors.*.schedule", MANIFEST_OBJECT, 0, NULL, NULL,
     "When the daemon runs it (see SCHEDULES): exactly one of cron and "
     "every."},
    {"connectors.*.schedule.cron", MANIFEST_STRING, 0, NULL, NULL,
     "A cron expression of crontab(5) or an @alias."},
    {"connectors.*.schedule.every", MANIFEST_DURATION, 0, NULL, "1s..",
     "A fixed interval, counted from the Unix epoch or from anchor."},
    {"connectors.*.schedule.anchor", MANIFEST_STRING, 0, NULL, NULL,
     "RFC 3339 time an every: schedule counts from (never fires before)."},
    {"connectors.*.schedule.tz", MANIFEST_STRING, 0, NULL, NULL,
     "Time zone of a cron: schedule (tz database name); default the "
     "system zone."},
    {"connectors.*.schedule.jitter", MANIFEST_SCALAR, 0, NULL, NULL,
     "Delay each run by a fixed per-connector share: a fraction (0.1), a "
     "percentage (10%) or a duration (30s)."},
    {"connectors.*.output", MANIFEST_OBJECT, 0, NULL, NULL,
     "This connector's output, overriding the top-level output key by "
     "key."},
    {"connectors.*.output.format", MANIFEST_STRING, 0, NULL,
     "singer|airbyte|jsonl", "As output.format."},
    {"connectors.*.output.to", MANIFEST_STRING, 0, NULL,
     "stdout|file:*|command:*",
     "As output.to. The daemon refuses a scheduled connector writing to "
     "stdout."},
    {"connectors.*.output.checkpoint_records", MANIFEST_INT, 0, NULL, "1..",
     "As output.checkpoint_records."},
    {"connectors.*.output.checkpoint_interval", MANIFEST_DURATION, 0, NULL,
     "1ms..", "As output.checkpoint_interval."},
    {"connectors.*.max_runtime", MANIFEST_DURATION, 0, NULL, "1s..",
     "Longest a daemon run may take: then SIGTERM, and SIGKILL after "
     "daemon.stop_grace. Default: no limit."},
    {"connectors.*.retry", MANIFEST_OBJECT, 0, "{}", NULL,
     "How failed HTTP requests are retried (408, 425, 429, 500, 502-504, "
     "transport errors, bodies cut short)."},
    {"connectors.*.retry.max_attempts", MANIFEST_INT, 0, "6", "1..1000",
     "Attempts in all, the first included."},
    {"connectors.*.retry.base", MANIFEST_DURATION, 0, "\"1s\"", NULL,
     "Upper bound of the first backoff; it doubles per failure (full "
     "jitter)."},
    {"connectors.*.retry.max", MANIFEST_DURATION, 0, "\"60s\"", NULL,
     "Longest single wait for a retry or for a wait the server asks for "
     "(Retry-After, a spent quota); a server asking for longer fails the "
     "request as rate_limited. It does not bound the pacing of the "
     "connector's own rate_limit."},
    {"connectors.*.retry.max_elapsed", MANIFEST_DURATION, 0, "\"5m\"", NULL,
     "No retry starts after this much time."},
    {"connectors.*.rate_limit", MANIFEST_OBJECT, 0, "{}", NULL,
     "A token bucket per upstream (scheme, host and port)."},
    {"connectors.*.rate_limit.per_second", MANIFEST_NUMBER, 0, "0", "0..",
     "Requests per second; 0 for no limit of our own. Requests wait for "
     "their turn however long that is (0.001 is one request in 1000 s)."},
    {"connectors.*.rate_limit.burst", MANIFEST_NUMBER, 0, "1", "1..",
     "Requests that may go at once after a quiet spell."},
    {"connectors.*.http", MANIFEST_OBJECT, 0, "{}", NULL,
     "Limits on each HTTP request, and the circuit breaker."},
    {"connectors.*.http.connect_timeout", MANIFEST_DURATION, 0, "\"10s\"",
     "1ms..", "Time to connect (TCP and TLS)."},
    {"connectors.*.http.timeout", MANIFEST_DURATION, 0, "\"5m\"", "1ms..",
     "Time for one whole attempt."},
    {"connectors.*.http.low_speed_time", MANIFEST_DURATION, 0, "\"60s\"",
     "1s..", "Abort an attempt that moves under 1 byte/s for this long."},
    {"connectors.*.http.max_redirects", MANIFEST_INT, 0, "5", "0..1000",
     "Redirects followed."},
    {"connectors.*.http.max_body", MANIFEST_INT, 0, "67108864", "1..",
     "Largest body in bytes, counted after decompression."},
    {"connectors.*.http.ca_file", MANIFEST_PATH, 0, NULL, NULL,
     "CA certificates to verify servers with (verification is always "
     "on)."},
    {"connectors.*.http.breaker_threshold", MANIFEST_INT, 0, "5", "1..1000000",
     "Consecutive failures that open the upstream's circuit breaker."},
    {"connectors.*.http.breaker_cooldown", MANIFEST_DURATION, 0, "\"30s\"",
     NULL, "Time an open breaker waits before one probe."},
    {"connectors.*.auth", MANIFEST_OBJECT, 0, NULL, NULL,
     "How the host authenticates the connector's requests; plugins never "
     "see a credential."},
    {"connectors.*.auth.type", MANIFEST_STRING, 0, NULL,
     "none|api_key|bearer|basic|oauth2",
     "none; api_key (key, in, name); bearer (token); basic (username, "
     "password); oauth2 (grant, token_url, client_id, ...). Without it, "
     "the keys fill or override the auth the plugin declares."},
    {"connectors.*.auth.origins", MANIFEST_STRINGS, 0, NULL, NULL,
     "The scheme://host[:port] the credential is sent to; requests and "
     "redirects elsewhere go without it. Required but for oauth2, whose "
     "default is the token URL's origin."},
    {"connectors.*.auth.key", MANIFEST_STRING, MANIFEST_SECRET, NULL, NULL,
     "api_key: the key, a reference (${env:NAME} or ${file:PATH})."},
    {"connectors.*.auth.in", MANIFEST_STRING, 0, NULL, "header|query",
     "api_key: sent in a header (the default) or a query parameter."},
    {"connectors.*.auth.name", MANIFEST_STRING, 0, NULL, NULL,
     "api_key: the header (default X-Api-Key) or parameter (default "
     "api_key) name."},
    {"connectors.*.auth.token", MANIFEST_STRING, MANIFEST_SECRET, NULL, NULL,
     "bearer: the token, a reference."},
    {"connectors.*.auth.username", MANIFEST_STRING, 0, NULL, NULL,
     "basic: the user name."},
    {"connectors.*.auth.password", MANIFEST_STRING, MANIFEST_SECRET, NULL,
     NULL, "basic: the password, a reference."},
    {"connectors.*.auth.grant", MANIFEST_STRING, 0, NULL,
     "authorization_code|refresh_token|client_credentials",
     "oauth2: authorization_code (default; PKCE S256 and state, through "
     "integ auth login), refresh_token (from refresh_token) or "
     "client_credentials."},
    {"connectors.*.auth.authorize_url", MANIFEST_STRING, 0, NULL,
     "https://*|http://*", "oauth2: the provider's authorization endpoint."},
    {"connectors.*.auth.token_url", MANIFEST_STRING, 0, NULL,
     "https://*|http://*", "oauth2: the provider's token endpoint."},
    {"connectors.*.auth.client_id", MANIFEST_STRING, 0, NULL, NULL,
     "oauth2: the client id."},
    {"connectors.*.auth.client_secret", MANIFEST_STRING, MANIFEST_SECRET, NULL,
     NULL, "oauth2: the client secret, a reference."},
    {"connectors.*.auth.client_auth", MANIFEST_STRING, 0,
     "\"client_secret_basic\"", "client_secret_basic|client_secret_post",
     "oauth2: how the client authenticates at the token endpoint."},
    {"connectors.*.auth.scopes", MANIFEST_STRING, 0, NULL, NULL,
     "oauth2: the scopes asked for, separated by spaces."},
    {"connectors.*.auth.token_params", MANIFEST_ANY, 0, NULL, NULL,
     "oauth2: extra token-request parameters (a mapping of strings)."},
    {"connectors.*.auth.redirect_port", MANIFEST_INT, 0, "8976", "1..65535",
     "oauth2: the loopback port integ auth login listens on."},
    {"connectors.*.auth.refresh_at", MANIFEST_NUMBER, 0, "0.8", "0.05..1",
     "oauth2: refresh when this part of the token's lifetime has passed."},
    {"connectors.*.auth.refresh_token", MANIFEST_STRING, MANIFEST_SECRET, NULL,
     NULL,
     "oauth2, grant refresh_token: the first refresh token, a reference."},
    /* Webhooks: signed push events received by the daemon. */
    {"connectors.*.webhooks", MANIFEST_OBJECT, 0, NULL, NULL,
     "Signed webhooks the daemon receives on /hooks/CONNECTOR and hands to "
     "the plugin's on_event."},
    {"connectors.*.webhooks.scheme", MANIFEST_STRING, MANIFEST_REQUIRED, NULL,
     "standard|github|stripe|slack|generic",
     "How deliveries are signed: standard (Standard Webhooks and Svix), "
     "github, stripe, slack or generic (an HMAC in a header)."},
    {"connectors.*.webhooks.secret", MANIFEST_STRING,
     MANIFEST_REQUIRED | MANIFEST_SECRET, NULL, NULL,
     "The signing secret, a reference (${env:NAME} or ${file:PATH}); "
     "standard: whsec_ and base64, the key is the decoded bytes."},
    {"connectors.*.webhooks.tolerance", MANIFEST_DURATION, 0, NULL, "0s..",
     "Largest difference, either way, between a signed timestamp and now; "
     "default webhooks.tolerance."},
    {"connectors.*.webhooks.max_attempts", MANIFEST_INT, 0, "8", "1..1000",
     "Times the plugin may fail an event (retried with a backoff doubling "
     "from 1 s) before it is dead: shown by integ status and integ "
     "webhooks list --dead."},
    {"connectors.*.webhooks.header", MANIFEST_STRING, 0, NULL, NULL,
     "generic: the header holding the signature (default X-Signature)."},
    {"connectors.*.webhooks.prefix", MANIFEST_STRING, 0, "\"\"", NULL,
     "generic: text before the signature in the header (e.g. sha256=)."},
    {"connectors.*.webhooks.encoding", MANIFEST_STRING, 0, "\"hex\"",
     "hex|base64", "generic: how the signature is written."},
    {"connectors.*.webhooks.digest", MANIFEST_STRING, 0, "\"sha256\"",
     "sha256|sha1", "generic: the HMAC's hash (sha1 for legacy senders)."},
    {"connectors.*.webhooks.id_header", MANIFEST_STRING, 0, NULL, NULL,
     "generic: the header holding the delivery id."},
    {"connectors.*.webhooks.id_path", MANIFEST_STRING, 0, NULL, NULL,
     "generic: a JSONPath to the delivery id in the JSON body (when "
     "id_header is absent; without either a delivery has no id and is "
     "not deduplicated)."},
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

/* Keys an included file may hold: the rest belong to the main file. */
static const char *const include_keys[] = {"integ", "include", "connectors"};

#define MAX_INCLUDE_DEPTH 16

const struct manifest_key *manifest_keys(size_t *n)
{
  *n = N_KEYS;
  return keys;
}

const char *manifest_type_name(enum manifest_type t)
{
  switch (t) {
  case MANIFEST_INT:
    return "integer";
  case MANIFEST_NUMBER:
    return "number";
  case MANIFEST_BOOL:
    return "boolean";
  case MANIFEST_STRING:
    return "string";
  case MANIFEST_PATH:
    return "path";
  case MANIFEST_STRINGS:
    return "list of strings";
  case MANIFEST_PATHS:
    return "list of paths";
  case MANIFEST_DURATION:
    return "duration";
  case MANIFEST_OBJECT:
    return "mapping";
  case MANIFEST_MAP:
    return "mapping of names";
  case MANIFEST_SCALAR:
    return "string or number";
  default:
    return "mapping (any keys)";
  }
}

/* One end of a range ("1", "0.5", "1ms") as a number (ms for
 * durations). Returns 0, or -1 for an empty end. */
static int range_end(enum manifest_type t, const char *s, size_t n,
                     double *out)
{
  char text[32];

  if (!n || n >= sizeof(text))
    return -1;
  memcpy(text, s, n);
  text[n] = '\0';
  if (t == MANIFEST_DURATION) {
    int64_t ms;

    if (duration_parse(text, &ms, NULL, NULL))
      return -1;
    *out = (double)ms;
    return 0;
  }
  *out = strtod(text, NULL);
  return 0;
}

int manifest_in_range(const struct manifest_key *row, const json_t *v,
                      char *why, size_t size)
{
  const char *range = row->allowed;
  const char *dots = range ? strstr(range, "..") : NULL;
  const char *hi;
  double lo_v, hi_v, x;
  int has_lo, has_hi;
  int64_t ms;

  if (!dots)
    return 1;
  hi = dots + 2;
  has_lo = range_end(row->type, range, (size_t)(dots - range), &lo_v) == 0;
  has_hi = range_end(row->type, hi, strlen(hi), &hi_v) == 0;
  if (row->type == MANIFEST_DURATION) {
    if (!json_is_string(v) ||
        duration_parse(json_string_value(v), &ms, NULL, NULL))
      return 1; /* not a duration: reported as such */
    x = (double)ms;
  } else if (json_is_number(v)) {
    x = json_number_value(v);
  } else {
    return 1;
  }
  if ((!has_lo || x >= lo_v) && (!has_hi || x <= hi_v))
    return 1;
  if (has_lo && has_hi)
    snprintf(why, size, "from %.*s to %s", (int)(dots - range), range, hi);
  else if (has_lo)
    snprintf(why, size, "at least %.*s", (int)(dots - range), range);
  else
    snprintf(why, size, "at most %s", hi);
  return 0;
}

static const struct manifest_key *find_row(const char *pattern)
{
  for (size_t i = 0; i < N_KEYS; i++)
    if (strcmp(keys[i].path, pattern) == 0)
      return &keys[i];
  return NULL;
}

/* Is row a direct child of pattern ("" is the root)? Returns its last
 * component or NULL. */
static const char *child_name(const struct manifest_key *row,
                              const char *pattern)
{
  size_t n = strlen(pattern);
  const char *rest;

  if (n) {
    if (strncmp(row->path, pattern, n) != 0 || row->path[n] != '.')
      return NULL;
    rest = row->path + n + 1;
  } else {
    rest = row->path;
  }
  return strchr(rest, '.') ? NULL : rest;
}

/* ------------------------------------------------------------ context */

struct ctx {
  struct manifest *m;
  struct yaml_errors *errs;
  char *stack[MAX_INCLUDE_DEPTH + 1]; /* real paths being read */
  size_t depth;
  char **seen; /* real paths read so far */
  size_t nseen;
  struct yaml_path path; /* key path while walking */
  struct yaml_path pat;  /* the same with '*' for names */
  int nomem;
};

static void err_at(struct ctx *C, const struct yaml_locs *t, const char *path,
                   int at_key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void err_at(struct ctx *C, const struct yaml_locs *t, const char *path,
                   int at_key, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  if (yaml_errors_atv(C->errs, t, path, at_key, fmt, ap))
    C->nomem = 1;
  va_end(ap);
  /* Count it even when it was dropped for being past the limit. */
}

static int push_str(char ***arr, size_t *n, char *s)
{
  char **na;

  if (!s)
    return INTEG_ENOMEM;
  na = realloc(*arr, (*n + 1) * sizeof(*na));
  if (!na) {
    free(s);
    return INTEG_ENOMEM;
  }
  na[(*n)++] = s;
  *arr = na;
  return 0;
}

/* Directory part of path ("." when none). New string. */
static char *dir_of(const char *path)
{
  const char *slash = strrchr(path, '/');

  if (!slash)
    return strdup(".");
  if (slash == path)
    return strdup("/");
  return strndup(path, (size_t)(slash - path));
}

/* rel made relative to the directory of `file`. New string. */
static char *relative_to(const char *file, const char *rel)
{
  char *dir, *out = NULL;

  if (rel[0] == '/' || !file || !*file)
    return strdup(rel);
  dir = dir_of(file);
  if (!dir)
    return NULL;
  if (strcmp(dir, ".") == 0)
    out = strdup(rel);
  else if (asprintf(&out, "%s%s%s", dir,
                    dir[strlen(dir) - 1] == '/' ? "" : "/", rel) < 0)
    out = NULL;
  free(dir);
  return out;
}

/* The file that holds the value at path (the main file when unknown). */
static const char *file_of(struct ctx *C, const char *path)
{
  const struct yaml_loc *loc = yaml_locs_nearest(C->m->locs, path, NULL);

  return loc && loc->file[0] ? loc->file : C->m->path;
}

/* ----------------------------------------------------------- includes */

static int load_include_file(struct ctx *C, const char *file,
                             const struct yaml_locs *from_locs,
                             const char *from_path);

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read the files that `include` (borrowed, of the file `file`, positions
 * in t) names. */
static void do_includes(struct ctx *C, json_t *include, const char *file,
                        const struct yaml_locs *t)
{
  json_t *pat;
  size_t i;

  if (!include)
    return;
  if (!json_is_array(include)) {
    char got[96];

    err_at(C, t, "include", 0, "expected a list of glob patterns, got %s",
           jsonschema_describe(include, 0, got, sizeof(got)));
    yaml_locs_add_flags((struct yaml_locs *)t, "include", YAML_LOC_REPORTED);
    return;
  }
  json_array_foreach(include, i, pat)
  {
    char ipath[48], *full;
    glob_t g;
    int r;

    snprintf(ipath, sizeof(ipath), "include[%zu]", i);
    if (!json_is_string(pat)) {
      char got[96];

      err_at(C, t, ipath, 0, "expected a glob pattern (a string), got %s",
             jsonschema_describe(pat, 0, got, sizeof(got)));
      yaml_locs_add_flags((struct yaml_locs *)t, ipath, YAML_LOC_REPORTED);
      continue;
    }
    full = relative_to(file, json_string_value(pat));
    if (!full) {
      C->nomem = 1;
      return;
    }
    if (!strpbrk(full, "*?[")) {
      struct stat st;

      /* A plain name must exist; a glob may match nothing (empty
       * conf.d). */
      if (stat(full, &st) != 0)
        err_at(C, t, ipath, 0, "cannot read %s: %s", full, strerror(errno));
      else
        load_include_file(C, full, t, ipath);
      free(full);
      continue;
    }
    memset(&g, 0, sizeof(g));
    r = glob(full, GLOB_NOSORT | GLOB_ERR, NULL, &g);
    if (r == GLOB_NOSPACE)
      C->nomem = 1;
    else if (r == GLOB_ABORTED)
      err_at(C, t, ipath, 0, "cannot read the directory of %s", full);
    if (r == 0) {
      qsort(g.gl_pathv, g.gl_pathc, sizeof(char *), cmp_str);
      for (size_t k = 0; k < g.gl_pathc && !C->nomem; k++)
        load_include_file(C, g.gl_pathv[k], t, ipath);
    }
    globfree(&g);
    free(full);
  }
}

/* Has the real path been read (or is it being read)? 1: in the stack (a
 * cycle), 2: read before, 0: new. */
static int seen_state(struct ctx *C, const char *real)
{
  for (size_t i = 0; i < C->depth; i++)
    if (strcmp(C->stack[i], real) == 0)
      return 1;
  for (size_t i = 0; i < C->nseen; i++)
    if (strcmp(C->seen[i], real) == 0)
      return 2;
  return 0;
}

static int enter_file(struct ctx *C, const char *file,
                      const struct yaml_locs *from_locs, const char *from_path,
                      char **real_out)
{
  char *real = realpath(file, NULL);
  struct stat sb;
  int st;

  *real_out = NULL;
  if (!real) {
    if (errno == ENOMEM) {
      C->nomem = 1;
      return -1;
    }
    if (from_locs)
      err_at(C, from_locs, from_path, 0, "cannot read %s: %s", file,
             strerror(errno));
    else if (yaml_errors_add(C->errs, "%s: cannot read: %s", file,
                             strerror(errno)))
      C->nomem = 1;
    return -1;
  }
  /* yaml_load_file would block for ever opening a FIFO without a writer:
   * only regular files are read (stat does not open). */
  if (stat(real, &sb) == 0 && !S_ISREG(sb.st_mode)) {
    if (from_locs)
      err_at(C, from_locs, from_path, 0,
             "%s is not a regular file (a FIFO, device or directory): "
             "name YAML files only",
             file);
    else if (yaml_errors_add(C->errs,
                             "%s: not a regular file (a FIFO, device or "
                             "directory): name a YAML file",
                             file))
      C->nomem = 1;
    free(real);
    return -1;
  }
  st = seen_state(C, real);
  if (st == 1) {
    err_at(C, from_locs, from_path, 0,
           "include cycle: %s is already being read (it includes itself, "
           "directly or through other files)",
           file);
    free(real);
    return -1;
  }
  if (st == 2) {
    free(real); /* matched by two patterns: read once */
    return -1;
  }
  if (C->depth >= MAX_INCLUDE_DEPTH) {
    err_at(C, from_locs, from_path, 0, "includes nested deeper than %d files",
           MAX_INCLUDE_DEPTH);
    free(real);
    return -1;
  }
  if (push_str(&C->seen, &C->nseen, strdup(real)) ||
      push_str(&C->m->files, &C->m->n_files, strdup(file))) {
    free(real);
    C->nomem = 1;
    return -1;
  }
  C->stack[C->depth++] = real;
  *real_out = real;
  return 0;
}

static void leave_file(struct ctx *C)
{
  free(C->stack[--C->depth]);
}

/* Merge the connectors of an included file (root and t are its own). */
static void merge_connectors(struct ctx *C, json_t *conns,
                             const struct yaml_locs *t)
{
  json_t *mine, *def;
  const char *name;

  mine = json_object_get(C->m->root, "connectors");
  if (!json_is_object(mine)) {
    if (mine)
      return; /* the main file's connectors is wrong: reported later */
    mine = json_object();
    if (!mine || json_object_set_new(C->m->root, "connectors", mine)) {
      C->nomem = 1;
      return;
    }
    if (!yaml_locs_find(C->m->locs, "connectors") &&
        yaml_locs_copy_prefix(C->m->locs, t, "connectors")) {
      C->nomem = 1;
      return;
    }
  }
  json_object_foreach(conns, name, def)
  {
    char *p = NULL;

    if (asprintf(&p, "connectors.%s", name) < 0) {
      C->nomem = 1;
      return;
    }
    if (json_object_get(mine, name)) {
      const struct yaml_loc *old = yaml_locs_find(C->m->locs, p);
      const struct yaml_loc *neu = yaml_locs_find(t, p);
      char *note = NULL;

      if (old && neu &&
          asprintf(&note,
                   "%s: the definition at %s:%u:%u replaces the one at "
                   "%s:%u:%u",
                   p, neu->file, neu->key_line, neu->key_col, old->file,
                   old->key_line, old->key_col) >= 0 &&
          push_str(&C->m->notes, &C->m->n_notes, note))
        C->nomem = 1;
    }
    yaml_locs_remove_prefix(C->m->locs, p);
    if (yaml_locs_copy_prefix(C->m->locs, t, p) ||
        json_object_set(mine, name, def))
      C->nomem = 1;
    free(p);
  }
}

static int load_include_file(struct ctx *C, const char *file,
                             const struct yaml_locs *from_locs,
                             const char *from_path)
{
  struct yaml_locs *t = NULL;
  json_t *root = NULL, *v;
  const char *k;
  char *real;
  int rc;

  if (enter_file(C, file, from_locs, from_path, &real))
    return 0;
  t = yaml_locs_new();
  if (!t) {
    C->nomem = 1;
    goto out;
  }
  rc = yaml_load_file(file, "", &root, t, C->errs);
  if (rc == INTEG_ENOMEM) {
    C->nomem = 1;
    goto out;
  }
  if (!root)
    goto out;
  if (!json_is_object(root)) {
    char got[96];

    err_at(C, t, "", 0,
           "an included file must be a mapping (connectors: ...), got %s",
           jsonschema_describe(root, 0, got, sizeof(got)));
    goto out;
  }
  json_object_foreach(root, k, v)
  {
    int ok = 0;

    for (size_t i = 0; i < sizeof(include_keys) / sizeof(*include_keys); i++)
      ok |= strcmp(k, include_keys[i]) == 0;
    if (!ok) {
      if (find_row(k))
        err_at(C, t, k, 1,
               "'%s' may only be set in the main manifest, %s; an included "
               "file holds integ, include and connectors",
               k, C->m->path);
      else
        err_at(C, t, k, 1,
               "unknown key '%s' (an included file holds integ, include "
               "and connectors)",
               k);
    }
  }
  v = json_object_get(root, "integ");
  if (v && !(json_is_integer(v) && json_integer_value(v) == 1)) {
    char got[96];

    err_at(C, t, "integ", 0, "got %s, must be 1",
           jsonschema_describe(v, 0, got, sizeof(got)));
  }
  v = json_object_get(root, "connectors");
  if (v && !json_is_object(v)) {
    char got[96];

    err_at(C, t, "connectors", 0, "expected a mapping of names, got %s",
           jsonschema_describe(v, 0, got, sizeof(got)));
  } else if (v) {
    merge_connectors(C, v, t);
  }
  do_includes(C, json_object_get(root, "include"), file, t);
out:
  json_decref(root);
  yaml_locs_free(t);
  leave_file(C);
  return 0;
}

/* --------------------------------------------------------- references */

/* Resolve the references in string v (at C->path) with secrets.h. Returns
 * a new string value when it had any, else NULL (also on error; then *bad
 * is set). A value with references is a secret. */
static json_t *resolve_string(struct ctx *C, json_t *v, int *bad)
{
  const char *path = yaml_path_str(&C->path);
  struct integ_error err = {0, ""};
  char *out = NULL;
  size_t len = 0;
  int refs = 0, rc;
  json_t *res = NULL;

  *bad = 0;
  rc = secrets_resolve(json_string_value(v), json_string_length(v),
                       file_of(C, path), &out, &len, &refs, &err);
  if (rc == INTEG_ENOMEM) {
    C->nomem = 1;
  } else if (rc) {
    err_at(C, C->m->locs, path, 0, "%s", err.message);
  } else if (out && (errno = 0, !(res = json_stringn(out, len))) &&
             errno == ENOMEM) {
    C->nomem = 1;
    rc = INTEG_ENOMEM;
  } else if (out && !res) {
    /* The resolved text is not UTF-8 (an env variable can hold anything) */
    err_at(C, C->m->locs, path, 0,
           "the resolved value is not UTF-8 text or holds a NUL byte");
    rc = INTEG_ECONFIG;
  } else if (res && refs && json_object_set(C->m->secrets, path, res)) {
    C->nomem = 1;
    rc = INTEG_ENOMEM;
  }
  if (rc) {
    *bad = 1;
    json_decref(res);
    res = NULL;
    yaml_locs_add_flags(C->m->locs, path, YAML_LOC_REPORTED);
  }
  free(out);
  return res;
}

static void resolve_refs(struct ctx *C, json_t *v);

/* Resolve member e of a container, found at C->path (already pushed):
 * the resolved string when e is one with references, else NULL (and e's
 * own members are resolved in place). */
static json_t *resolve_member(struct ctx *C, json_t *e)
{
  int bad;

  if (!json_is_string(e)) {
    resolve_refs(C, e);
    return NULL;
  }
  return resolve_string(C, e, &bad);
}

static void resolve_refs(struct ctx *C, json_t *v)
{
  const char *k;
  json_t *e, *r;
  size_t i, saved;

  if (C->nomem)
    return;
  json_object_foreach(v, k, e)
  {
    if ((saved = yaml_path_push_key(&C->path, k)) == (size_t)-1) {
      C->nomem = 1;
      return;
    }
    /* Replacing an existing key's value keeps the iteration valid. */
    if ((r = resolve_member(C, e)) && json_object_set_new(v, k, r))
      C->nomem = 1;
    yaml_path_pop(&C->path, saved);
  }
  json_array_foreach(v, i, e)
  {
    if ((saved = yaml_path_push_index(&C->path, i)) == (size_t)-1) {
      C->nomem = 1;
      return;
    }
    if ((r = resolve_member(C, e)) && json_array_set_new(v, i, r))
      C->nomem = 1;
    yaml_path_pop(&C->path, saved);
  }
}

/* ---------------------------------------------------------- validation */

static const char *type_expect(enum manifest_type t)
{
  switch (t) {
  case MANIFEST_INT:
    return "an integer";
  case MANIFEST_NUMBER:
    return "a number";
  case MANIFEST_BOOL:
    return "a boolean (true or false)";
  case MANIFEST_STRING:
    return "a string";
  case MANIFEST_PATH:
    return "a path (a string)";
  case MANIFEST_STRINGS:
    return "a list of strings";
  case MANIFEST_PATHS:
    return "a list of paths";
  case MANIFEST_DURATION:
    return "a duration such as 30s, 5m or 1h30m";
  case MANIFEST_SCALAR:
    return "a string or a number";
  default:
    return "a mapping";
  }
}

static int type_ok(enum manifest_type t, const json_t *v)
{
  switch (t) {
  case MANIFEST_INT:
    return json_is_integer(v);
  case MANIFEST_NUMBER:
    return json_is_number(v);
  case MANIFEST_BOOL:
    return json_is_boolean(v);
  case MANIFEST_STRING:
  case MANIFEST_PATH:
  case MANIFEST_DURATION:
    return json_is_string(v);
  case MANIFEST_STRINGS:
  case MANIFEST_PATHS:
    return json_is_array(v);
  case MANIFEST_SCALAR:
    return json_is_string(v) || json_is_number(v);
  default:
    return json_is_object(v);
  }
}

/* Does v match one of the '|'-separated allowed values? */
static int allowed_ok(const char *allowed, const json_t *v)
{
  const char *a = allowed;

  while (*a) {
    const char *bar = strchr(a, '|');
    size_t n = bar ? (size_t)(bar - a) : strlen(a);
    char item[64];

    snprintf(item, sizeof(item), "%.*s", (int)n, a);
    if (json_is_integer(v)) {
      char num[32];

      snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
               json_integer_value(v));
      if (strcmp(num, item) == 0)
        return 1;
    } else if (json_is_string(v)) {
      const char *s = json_string_value(v);

      if (n && item[n - 1] == '*') {
        if (strncmp(s, item, n - 1) == 0 && s[n - 1] != '\0')
          return 1;
      } else if (strcmp(s, item) == 0) {
        return 1;
      }
    }
    a += n;
    if (*a == '|')
      a++;
  }
  return 0;
}

static void allowed_error(struct ctx *C, const struct manifest_key *row,
                          const json_t *v)
{
  const char *path = yaml_path_str(&C->path);
  char list[256], got[96], words[8][64];
  const char *cands[8];
  size_t used = 0, nc = 0;
  const char *a = row->allowed, *near = NULL;
  int many = strchr(a, '|') != NULL;

  list[0] = '\0';
  while (*a && used < sizeof(list)) {
    const char *bar = strchr(a, '|');
    size_t n = bar ? (size_t)(bar - a) : strlen(a);
    int star = n && a[n - 1] == '*';

    used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%.*s%s",
                             used ? (bar ? ", " : " or ") : "",
                             (int)(star ? n - 1 : n), a, star ? "..." : "");
    if (!star && nc < 8) {
      snprintf(words[nc], sizeof(words[nc]), "%.*s", (int)n, a);
      cands[nc] = words[nc];
      nc++;
    }
    a += n;
    if (*a == '|')
      a++;
  }
  if (json_is_string(v))
    near = jsonschema_nearest(json_string_value(v), cands, nc);
  jsonschema_describe(v, manifest_is_secret(C->m, path), got, sizeof(got));
  if (near)
    err_at(C, C->m->locs, path, 0,
           "got %s, must be %s%s: did you mean \"%s\"?", got,
           many ? "one of " : "", list, near);
  else
    err_at(C, C->m->locs, path, 0, "got %s, must be %s%s", got,
           many ? "one of " : "", list);
}

static int name_ok(const char *s)
{
  size_t n = strlen(s);

  if (n == 0 || n > 64)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9');

    if (!alnum && (i == 0 || !(c == '.' || c == '_' || c == '-')))
      return 0;
  }
  return 1;
}

static json_t *check_value(struct ctx *C, const struct manifest_key *row,
                           json_t *v);

/* Check v[k] against the row for child pattern `pname` of C->pat. */
static void check_child(struct ctx *C, json_t *obj, const char *k,
                        const char *pname)
{
  size_t saved = yaml_path_push_key(&C->path, k);
  size_t psaved = yaml_path_push_key(&C->pat, pname);

  if (saved == (size_t)-1 || psaved == (size_t)-1) {
    C->nomem = 1;
    return;
  }
  {
    json_t *r = check_value(C, find_row(yaml_path_str(&C->pat)),
                            json_object_get(obj, k));

    /* Replacing an existing key's value keeps the caller's iteration
     * valid. */
    if (r && json_object_set_new(obj, k, r))
      C->nomem = 1;
  }
  yaml_path_pop(&C->path, saved);
  yaml_path_pop(&C->pat, psaved);
}

/* The row of child `name` of pattern `pat`, or NULL. */
static const struct manifest_key *child_row(const char *pat, const char *name)
{
  for (size_t i = 0; i < N_KEYS; i++) {
    const char *cn = child_name(&keys[i], pat);

    if (cn && strcmp(cn, name) == 0)
      return &keys[i];
  }
  return NULL;
}

static void unknown_key(struct ctx *C, const char *k, const char *const *cands,
                        size_t nc)
{
  const char *near = jsonschema_nearest(k, cands, nc);
  size_t saved = yaml_path_push_key(&C->path, k);
  char list[256];
  size_t used = 0;

  if (saved == (size_t)-1) {
    C->nomem = 1;
    return;
  }
  list[0] = '\0';
  for (size_t i = 0; i < nc && used < sizeof(list); i++)
    used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
                             i ? ", " : "", cands[i]);
  if (near)
    err_at(C, C->m->locs, yaml_path_str(&C->path), 1,
           "unknown key '%s': did you mean '%s'?", k, near);
  else
    err_at(C, C->m->locs, yaml_path_str(&C->path), 1,
           "unknown key '%s' (known keys here: %s)", k, list);
  yaml_path_pop(&C->path, saved);
}

/* Does obj hold a key that is a typo of `name`? Then the "unknown key,
 * did you mean" error says it all, and "missing" would be noise. */
static int misspelt(json_t *obj, const char *name)
{
  const char *k;
  json_t *e;

  json_object_foreach(obj, k, e) if (jsonschema_nearest(k, &name, 1)) return 1;
  return 0;
}

/* auth.h's view of a connector's auth mapping, at C->path. */
static int auth_is_ref(void *arg, const char *key)
{
  struct ctx *C = arg;
  char *p = NULL;
  int r;

  if (asprintf(&p, "%s.%s", yaml_path_str(&C->path), key) < 0) {
    C->nomem = 1;
    return 1;
  }
  r = manifest_is_secret(C->m, p);
  if (!r) {
    /* A bad reference is reported already. */
    const struct yaml_loc *loc = yaml_locs_find(C->m->locs, p);

    r = loc && (loc->flags & YAML_LOC_REPORTED);
  }
  free(p);
  return r;
}

static void auth_report(void *arg, const char *key, int at_key,
                        const char *msg)
{
  struct ctx *C = arg;
  size_t saved = *key ? yaml_path_push_key(&C->path, key) : 0;

  if (saved == (size_t)-1) {
    C->nomem = 1;
    return;
  }
  err_at(C, C->m->locs, yaml_path_str(&C->path), at_key, "%s", msg);
  if (*key) {
    yaml_locs_add_flags(C->m->locs, yaml_path_str(&C->path),
                        YAML_LOC_REPORTED);
    yaml_path_pop(&C->path, saved);
  }
}

static void check_object(struct ctx *C, json_t *v)
{
  const char *pat = yaml_path_str(&C->pat);
  const char *cands[N_KEYS];
  size_t nc = 0;
  const char *k;
  json_t *e;

  /* Before check_value marks the secret rows: references only now. */
  if (strcmp(pat, "connectors.*.auth") == 0)
    auth_check(v, auth_is_ref, auth_report, C);
  /* Defaults, then what is required, then every key present. */
  for (size_t i = 0; i < N_KEYS; i++) {
    const char *name = child_name(&keys[i], pat);

    if (!name || strcmp(name, "*") == 0)
      continue;
    cands[nc++] = name;
    if (keys[i].dflt && !json_object_get(v, name)) {
      json_t *d = json_loads(keys[i].dflt, JSON_DECODE_ANY, NULL);

      if (!d || json_object_set_new(v, name, d)) {
        C->nomem = 1;
        return;
      }
    }
    if ((keys[i].flags & MANIFEST_REQUIRED) && !json_object_get(v, name) &&
        !misspelt(v, name)) {
      /* Named by its own path, placed at its parent's key. */
      size_t saved = yaml_path_push_key(&C->path, name);

      if (saved == (size_t)-1) {
        C->nomem = 1;
        return;
      }
      err_at(C, C->m->locs, yaml_path_str(&C->path), 1,
             "missing required key '%s' (%s)", name, keys[i].doc);
      yaml_path_pop(&C->path, saved);
    }
  }
  json_object_foreach(v, k, e)
  {
    if (C->nomem)
      return;
    if (child_row(pat, k))
      check_child(C, v, k, k);
    else
      unknown_key(C, k, cands, nc);
  }
}

static void check_map(struct ctx *C, json_t *v)
{
  const char *k;
  json_t *e;

  json_object_foreach(v, k, e)
  {
    if (C->nomem)
      return;
    if (!name_ok(k)) {
      size_t saved = yaml_path_push_key(&C->path, k);

      if (saved == (size_t)-1) {
        C->nomem = 1;
        return;
      }
      err_at(C, C->m->locs, yaml_path_str(&C->path), 1,
             "the name '%s' may hold only letters, digits, '.', '_' and "
             "'-', starting with a letter or digit (at most 64)",
             k);
      yaml_path_pop(&C->path, saved);
      continue;
    }
    check_child(C, v, k, "*");
  }
}

/* Make a MANIFEST_PATH value relative to the file that holds it. */
static json_t *resolve_path(struct ctx *C, const json_t *v)
{
  const char *s = json_string_value(v);
  char *full;
  json_t *r;

  if (!s || s[0] == '/' || s[0] == '\0')
    return NULL;
  full = relative_to(file_of(C, yaml_path_str(&C->path)), s);
  if (!full) {
    C->nomem = 1;
    return NULL;
  }
  r = json_string(full);
  free(full);
  if (!r)
    C->nomem = 1;
  return r;
}

/* Check v against row; returns a new value to put in its place (a path
 * made relative to its file) or NULL. */
static json_t *check_value(struct ctx *C, const struct manifest_key *row,
                           json_t *v)
{
  const char *path = yaml_path_str(&C->path);
  const struct yaml_loc *loc = yaml_locs_find(C->m->locs, path);
  char got[96];

  if (!row || !v || C->nomem)
    return NULL;
  if (loc && (loc->flags & YAML_LOC_REPORTED))
    return NULL;
  if (!type_ok(row->type, v)) {
    if (row->type == MANIFEST_DURATION && json_is_number(v))
      err_at(C, C->m->locs, path, 0,
             "expected %s, got %s: a number needs a unit (ms, s, m, h or "
             "d)",
             type_expect(row->type),
             jsonschema_describe(v, 0, got, sizeof(got)));
    else if ((row->type == MANIFEST_STRINGS || row->type == MANIFEST_PATHS) &&
             json_is_string(v))
      err_at(C, C->m->locs, path, 0,
             "expected %s, got %s: write it as a list, [%s]",
             type_expect(row->type),
             jsonschema_describe(v, 0, got, sizeof(got)),
             json_string_value(v));
    else
      err_at(C, C->m->locs, path, 0, "expected %s, got %s%s",
             type_expect(row->type),
             jsonschema_describe(v, manifest_is_secret(C->m, path), got,
                                 sizeof(got)),
             json_is_null(v) ? yaml_loc_hint(loc) : "");
    return NULL;
  }
  if (row->flags & MANIFEST_SECRET) {
    if (json_object_set(C->m->secrets, path, v) || secrets_add_json(v)) {
      C->nomem = 1;
      return NULL;
    }
  }
  if (row->allowed && !strstr(row->allowed, "..") &&
      !allowed_ok(row->allowed, v)) {
    allowed_error(C, row, v);
    return NULL;
  }
  {
    char why[64];

    if (!manifest_in_range(row, v, why, sizeof(why))) {
      char *text = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY);

      if (manifest_is_secret(C->m, path))
        jsonschema_describe(v, 1, got, sizeof(got));
      else
        snprintf(got, sizeof(got), "%s",
                 text ? text : json_string_value(v) ?: "?");
      free(text);
      err_at(C, C->m->locs, path, 0, "got %s, must be %s", got, why);
      return NULL;
    }
  }
  switch (row->type) {
  case MANIFEST_DURATION: {
    struct integ_error err = {0, ""};
    int64_t ms;

    if (duration_parse(json_string_value(v), &ms, NULL, &err))
      err_at(C, C->m->locs, path, 0, "%s (write e.g. 30s, 5m, 1h30m)",
             err.message);
    break;
  }
  case MANIFEST_PATH:
    return resolve_path(C, v);
  case MANIFEST_STRINGS:
  case MANIFEST_PATHS: {
    json_t *e;
    size_t i;

    json_array_foreach(v, i, e)
    {
      size_t saved = yaml_path_push_index(&C->path, i);

      if (saved == (size_t)-1) {
        C->nomem = 1;
        return NULL;
      }
      if (!json_is_string(e)) {
        err_at(C, C->m->locs, yaml_path_str(&C->path), 0,
               "expected a string, got %s%s",
               jsonschema_describe(e, 0, got, sizeof(got)),
               json_is_null(e) ? yaml_loc_hint(yaml_locs_find(
                                     C->m->locs, yaml_path_str(&C->path)))
                               : "");
      } else if (row->type == MANIFEST_PATHS) {
        json_t *r = resolve_path(C, e);

        if (r && json_array_set_new(v, i, r))
          C->nomem = 1;
      }
      yaml_path_pop(&C->path, saved);
    }
    break;
  }
  case MANIFEST_OBJECT:
    check_object(C, v);
    break;
  case MANIFEST_MAP:
    check_map(C, v);
    break;
  default:
    break;
  }
  return NULL;
}

/* ------------------------------------------------------ the manifest */

static int cmp_connector(const void *a, const void *b)
{
  return strcmp(((const struct manifest_connector *)a)->name,
                ((const struct manifest_connector *)b)->name);
}

/* Fill the struct's shortcuts from the checked tree. Values of the wrong
 * type (already reported) are left NULL. */
static int build(struct manifest *m)
{
  json_t *pp = json_object_get(m->root, "plugin_path");
  json_t *out = json_object_get(m->root, "output");
  json_t *conns = json_object_get(m->root, "connectors"), *e;
  const char *name;
  size_t i;

  if (json_is_array(pp) && json_array_size(pp)) {
    m->plugin_path = calloc(json_array_size(pp), sizeof(*m->plugin_path));
    if (!m->plugin_path)
      return INTEG_ENOMEM;
    json_array_foreach(pp, i, e) if (json_is_string(e))
        m->plugin_path[m->n_plugin_path++] = json_string_value(e);
  }
  m->store = json_string_value(json_object_get(m->root, "store"));
  m->output_format = json_string_value(json_object_get(out, "format"));
  m->output_to = json_string_value(json_object_get(out, "to"));
  if (!json_is_object(conns) || !json_object_size(conns))
    return 0;
  m->connectors = calloc(json_object_size(conns), sizeof(*m->connectors));
  if (!m->connectors)
    return INTEG_ENOMEM;
  json_object_foreach(conns, name, e)
  {
    struct manifest_connector *c = &m->connectors[m->n_connectors];
    char *p = NULL;
    const struct yaml_loc *loc;
    json_t *cfg = json_object_get(e, "config");

    if (!json_is_object(e))
      continue;
    c->name = name;
    c->node = e;
    c->plugin = json_string_value(json_object_get(e, "plugin"));
    c->enabled = json_is_true(json_object_get(e, "enabled"));
    c->account = json_string_value(json_object_get(e, "account"));
    c->config = json_is_object(cfg) ? cfg : NULL;
    if (asprintf(&p, "connectors.%s", name) < 0)
      return INTEG_ENOMEM;
    loc = yaml_locs_find(m->locs, p);
    free(p);
    if (loc) {
      c->file = loc->file;
      c->line = loc->key_line;
      c->col = loc->key_col;
    }
    m->n_connectors++;
  }
  qsort(m->connectors, m->n_connectors, sizeof(*m->connectors), cmp_connector);
  return 0;
}

void manifest_free(struct manifest *m)
{
  if (!m)
    return;
  free(m->path);
  json_decref(m->root);
  yaml_locs_free(m->locs);
  json_decref(m->secrets);
  free(m->plugin_path);
  free(m->connectors);
  for (size_t i = 0; i < m->n_files; i++)
    free(m->files[i]);
  free(m->files);
  for (size_t i = 0; i < m->n_notes; i++)
    free(m->notes[i]);
  free(m->notes);
  free(m);
}

static int load(const char *name, const char *buf, size_t len,
                struct manifest **out, struct yaml_errors *errs)
{
  struct ctx C;
  struct manifest *m;
  size_t before = yaml_errors_count(errs);
  char *real = NULL;
  int rc;

  memset(&C, 0, sizeof(C));
  *out = NULL;
  m = calloc(1, sizeof(*m));
  if (!m)
    return INTEG_ENOMEM;
  C.m = m;
  C.errs = errs;
  m->path = strdup(name);
  m->locs = yaml_locs_new();
  m->secrets = json_object();
  if (!m->path || !m->locs || !m->secrets) {
    C.nomem = 1;
    goto out;
  }
  if (buf) {
    if (push_str(&m->files, &m->n_files, strdup(name))) {
      C.nomem = 1;
      goto out;
    }
    /* For include cycles: the main file is being read (if on disk). */
    real = realpath(name, NULL);
    if (real)
      C.stack[C.depth++] = real;
    rc = yaml_load_buffer(name, buf, len, "", &m->root, m->locs, errs);
  } else {
    if (enter_file(&C, name, NULL, NULL, &real))
      goto out; /* reported */
    rc = yaml_load_file(name, "", &m->root, m->locs, errs);
  }
  if (rc == INTEG_ENOMEM)
    C.nomem = 1;
  if (C.nomem || !m->root)
    goto out;
  *out = m;
  if (!json_is_object(m->root)) {
    char got[96];

    err_at(&C, m->locs, "", 0,
           "the manifest must be a mapping (integ: 1, connectors: ...), "
           "got %s",
           jsonschema_describe(m->root, 0, got, sizeof(got)));
    goto out;
  }
  do_includes(&C, json_object_get(m->root, "include"), name, m->locs);
  if (!C.nomem)
    resolve_refs(&C, m->root);
  if (!C.nomem)
    check_object(&C, m->root);
  if (!C.nomem && build(m))
    C.nomem = 1;
  if (!C.nomem && connconf_check(m, CONNCONF_SCHEDULES, errs))
    C.nomem = 1;
out:
  if (C.nomem) {
    errs->nomem = 1;
    *out = NULL; /* nothing half-read is handed out */
  }
  if (!*out)
    manifest_free(m);
  while (C.depth)
    leave_file(&C);
  for (size_t i = 0; i < C.nseen; i++)
    free(C.seen[i]);
  free(C.seen);
  yaml_path_free(&C.path);
  yaml_path_free(&C.pat);
  if (errs->nomem)
    return INTEG_ENOMEM;
  return yaml_errors_count(errs) > before ? INTEG_ECONFIG : 0;
}

int manifest_load(const char *path, struct manifest **out,
                  struct yaml_errors *errs)
{
  return load(path, NULL, 0, out, errs);
}

int manifest_load_buffer(const char *name, const char *buf, size_t len,
                         struct manifest **out, struct yaml_errors *errs)
{
  return load(name, buf ? buf : "", len, out, errs);
}

const struct manifest_connector *manifest_connector(const struct manifest *m,
                                                    const char *name)
{
  for (size_t i = 0; m && i < m->n_connectors; i++)
    if (strcmp(m->connectors[i].name, name) == 0)
      return &m->connectors[i];
  return NULL;
}

const struct yaml_loc *manifest_loc(const struct manifest *m, const char *path)
{
  return m ? yaml_locs_nearest(m->locs, path, NULL) : NULL;
}

int manifest_is_secret(const struct manifest *m, const char *path)
{
  return m && json_object_get(m->secrets, path) != NULL;
}

/* ------------------------------------------------------------ secrets */

json_t *manifest_redact(const struct manifest *m, const char *path,
                        json_t *value)
{
  return secrets_redact_paths(m ? m->secrets : NULL, path, value);
}
