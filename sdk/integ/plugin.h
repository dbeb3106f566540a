/* integ/plugin.h - the contract between the integ host and its plugins.
 *
 * A plugin is a shared object that exports one function, integ_plugin_init,
 * defined with INTEG_PLUGIN_DEFINE below. It returns the plugin's vtable,
 * struct integ_plugin. The host calls the plugin through that vtable and
 * hands the plugin its own vtable, struct integ_host, in load(). A plugin
 * never links against host symbols: it reaches the host only through struct
 * integ_host (as SQLite extensions do through sqlite3_api_routines), so it
 * links to libc and jansson alone. The host binds every symbol of a plugin
 * when it loads it (RTLD_NOW): a plugin that calls a function nothing
 * defines is refused at load, with the symbol named.
 *
 * Versioning. Both vtables start with {abi_major, abi_minor, size}.
 *  - In the host's vtable, abi_minor is the host's minor; in the plugin's,
 *    it is the minor the plugin NEEDS: the oldest host it can run on, not
 *    the header it was built with. INTEG_PLUGIN_HEADER says "this header's
 *    minor"; a plugin that calls only older entries says so with
 *    INTEG_PLUGIN_HEADER_NEEDS(m) and also loads on older hosts, reading
 *    newer entries only where INTEG_HAS(host, entry) says they exist.
 *  - The host refuses a plugin whose abi_major differs from its own, that
 *    needs a newer minor than the host has, that needs a minor older than
 *    INTEG_ABI_MINOR_MIN (the first one this layout is compatible with),
 *    or whose size is smaller than the vtable of the minor it needs.
 *  - While abi_major is 0 the ABI may still change: every change bumps
 *    abi_minor (and INTEG_ABI_MINOR_MIN when it breaks older plugins), and
 *    every in-tree plugin is fixed in the same commit.
 *  - Within a major version both vtables (and struct integ_http_detail)
 *    only grow at the end; a reader uses `size` (INTEG_HAS) to know which
 *    fields exist. struct integ_error never changes. Each minor's layout is
 *    pinned twice: by the static asserts at the end of this header, and by
 *    an ABI dump (sdk/abi/integ-MAJOR.MINOR.xml) that `abidiff` compares
 *    with every build (tests/abi.sh).
 *
 * Ownership. json_t values cross the boundary with jansson's conventions,
 * written at each function: "borrowed" (the callee must not decref it and
 * must json_incref what it keeps), "new" (the receiver owns one reference
 * and must json_decref it), "stolen" (the callee takes the caller's
 * reference, even on failure).
 *
 * Errors. Host entries that can fail return 0 or a negative INTEG_E* code
 * and, when they take one, fill a struct integ_error with a line the user
 * can act on; a plugin returns that code from run() (after adding context
 * with integ_error_set if it likes). Entries that return a pointer return
 * NULL on failure and say why in err.
 *
 * Threads. The host calls one instance (load, run, discover, check,
 * unload) from one thread at a time, never two at once; it may call
 * different instances, of the same plugin too, from different threads at
 * the same time. So a plugin keeps no global mutable state: everything
 * lives in its instance. Host entries that take a ctx, and the requests,
 * responses and JSONPath queries made through one, may be used only from
 * inside a call the host made into that instance, on that call's thread
 * (a plugin that starts threads of its own hands their results back to
 * it). The host's vtable itself is immutable and may be read anywhere.
 */
#ifndef INTEG_PLUGIN_H
#define INTEG_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#define INTEG_ABI_MAJOR 0
#define INTEG_ABI_MINOR 7
/* The oldest minor of this major whose plugins still load: 0.3 gave
 * request_new an error, so plugins built for 0.2 must be rebuilt. */
#define INTEG_ABI_MINOR_MIN 3

/* Result codes: 0 is success, failures are negative. */
#define INTEG_OK 0
#define INTEG_EINVAL -1    /* bad argument or input */
#define INTEG_ENOMEM -2    /* out of memory */
#define INTEG_EIO -3       /* read/write failure, closed pipe, full disk */
#define INTEG_ECONFIG -4   /* configuration is wrong: the user must fix it */
#define INTEG_EPLUGIN -5   /* a plugin failed or broke the contract */
#define INTEG_EABI -6      /* plugin built for another ABI */
#define INTEG_ENOTFOUND -7 /* no such plugin, file, stream or key */
#define INTEG_EHTTP -8     /* an HTTP request failed */
#define INTEG_ESTATE -9    /* state could not be read or committed */
#define INTEG_EINTR -10    /* interrupted by a signal */
#define INTEG_ENOTSUP -11  /* not supported */

#define INTEG_ERROR_MAX 1024

/* An error: a code and a one-line message the user can act on.
 *
 * Frozen: its caller allocates it (on the stack, usually) and hands it to
 * the callee to fill, so it carries no size and can never grow, in any
 * version. Detail beyond the message comes through accessors that take a
 * sized struct of their own: integ_host.http_detail for an HTTP failure
 * (status, category, provider code, request id, retryable, retry-after). */
struct integ_error {
  int code;                      /* INTEG_E*, or INTEG_OK */
  char message[INTEG_ERROR_MAX]; /* NUL-terminated, never holds a secret */
};

#if defined(__GNUC__)
#define INTEG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define INTEG_PRINTF(f, a)
#endif

/* Set err (may be NULL) to code and a printf-style message, cut to fit
 * with "..." marking the cut; returns code, so a plugin can write
 *   return integ_error_set(err, INTEG_ECONFIG, "config.token: missing");
 * The message may name what err already says: format it from a copy
 * (fmt and the arguments must not point into err->message). */
static inline int integ_error_set(struct integ_error *err, int code,
                                  const char *fmt, ...) INTEG_PRINTF(3, 4);
static inline int integ_error_set(struct integ_error *err, int code,
                                  const char *fmt, ...)
{
  va_list ap;
  int n;

  if (!err)
    return code;
  err->code = code;
  va_start(ap, fmt);
  n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
  va_end(ap);
  if (n < 0)
    err->message[0] = '\0';
  else if ((size_t)n >= sizeof(err->message))
    memcpy(err->message + sizeof(err->message) - 4, "...", 4);
  return code;
}

/* Log levels for integ_host.log. */
enum integ_log_level {
  INTEG_LOG_ERROR = 0,
  INTEG_LOG_WARN = 1,
  INTEG_LOG_INFO = 2,
  INTEG_LOG_DEBUG = 3
};

/* The host's handle for one plugin instance. Opaque to the plugin, which
 * passes it back on every host call. Owned by the host; valid from load()
 * until unload() returns. */
typedef struct integ_ctx integ_ctx;

/* An HTTP request being built, and a response: opaque, owned by the plugin
 * from the call that makes them until it frees them. */
typedef struct integ_request integ_request;
typedef struct integ_response integ_response;
/* A compiled JSONPath (RFC 9535) query: opaque, immutable. */
typedef struct integ_jsonpath integ_jsonpath;

/* ABI 0.4, declarative connectors: a loaded definition file (with the
 * position of every value), a compiled template and a cursor-boundary
 * helper. Opaque; each has its own free entry. */
typedef struct integ_doc integ_doc;
typedef struct integ_template integ_template;
typedef struct integ_cursor integ_cursor;

/* ABI 0.4: what cursor_new needs. Sized: set size to sizeof(struct
 * integ_cursor_opts); later minors append members, and the host reads
 * only those that fit in size. Strings and primary_key are borrowed for
 * the call. */
struct integ_cursor_opts {
  size_t size;
  const char *stream;  /* for messages */
  const char *path;    /* JSONPath of the cursor value in a record */
  const char *format;  /* NULL or "rfc3339", "epoch_s", "epoch_ms",
                          "number", or a strptime format ("%Y-%m-%d") */
  json_t *primary_key; /* array of JSONPaths, may be NULL: then nothing at
                          the boundary is filtered */
};

/* ABI 0.4: what emit_mapped needs. Sized as struct integ_cursor_opts.
 * Borrowed for the call. */
struct integ_mapped_opts {
  size_t size;
  const char *records; /* JSONPath whose nodelist is the records */
  /* NULL: each record whole. Else an object: output name -> "JSONPath"
   * or {"path": "JSONPath", "cast": "string" | "integer" | "number" |
   * "boolean"}; a path that selects nothing gives null. */
  json_t *fields;
  integ_cursor *cursor; /* NULL, or every record goes through
                           cursor_observe: repeats are not written */
  json_t *want;         /* as emit_batch's fields (may be NULL) */
};

/* ABI 0.6: what emit_page needs. Sized as struct integ_cursor_opts:
 * later minors append options (field reductions, say) here rather than
 * adding entries. Borrowed for the call. */
struct integ_page_opts {
  size_t size;
  const char *records;  /* JSONPath whose nodelist is the records */
  json_t *fields;       /* as emit_batch's fields (may be NULL) */
  json_t *mapping;      /* NULL, or as integ_mapped_opts.fields */
  integ_cursor *cursor; /* NULL, or as integ_mapped_opts.cursor */
};

/* Flags for integ_host.request_new. */
#define INTEG_REQ_POST_SAFE 1u /* this POST may be repeated on failure */
#define INTEG_REQ_EXPECT_JSON                                                 \
  2u /* a 2xx body that is not JSON is an error                               \
        (and retried: it is often cut short) */

/* What the host knows about one HTTP exchange, from integ_host.http_detail.
 * Sized, so it may grow at the end within a major version: the caller sets
 * `size` and the host fills only the members that fit, e.g.
 *   struct integ_http_detail d = {.size = sizeof(d)};
 * Strings are borrowed from the response (see http_detail), NULL when
 * absent. */
struct integ_http_detail {
  size_t size;                  /* set by the caller: sizeof(*d) */
  long status;                  /* HTTP status; 0 when no response came */
  long retryable;               /* 1: the host retries this kind of failure */
  long attempts;                /* attempts made, the first included */
  long retry_after_ms;          /* the wait the server asked for, or -1 */
  const char *category;         /* as response_category */
  const char *url;              /* the URL asked for, secrets redacted */
  const char *provider_code;    /* the API's own code, from its JSON body */
  const char *provider_message; /* the API's own message, likewise */
  const char *request_id;       /* X-Request-Id and the like */
};

/* The host's vtable, handed to load(). Borrowed: valid until unload().
 *
 * Every entry that returns int returns 0 or a negative INTEG_E* code;
 * those that take err fill it on failure (INTEG_ENOMEM: "out of memory").
 * Those without err fail only as documented at each. */
struct integ_host {
  uint32_t abi_major;
  uint32_t abi_minor; /* the host's minor */
  size_t size;        /* sizeof(struct integ_host) as the host was built */

  /* Write one record of `stream` to the output. record is borrowed and
   * must be a JSON object. Returns 0; INTEG_EINVAL (no stream name, not an
   * object), INTEG_EPLUGIN (called outside run()), INTEG_EIO (the output
   * failed) or INTEG_ENOMEM, with err set. A plugin that gets an error
   * stops its run and returns it. */
  int (*emit_record)(integ_ctx *ctx, const char *stream, json_t *record,
                     struct integ_error *err);

  /* Note a consistent point: every record emitted before this call is
   * covered by `state` (borrowed; a JSON object, the plugin's own shape).
   * The host commits it only after those records are durably written, so a
   * run that is killed resumes from the last committed state. Errors as
   * emit_record's. */
  int (*emit_state)(integ_ctx *ctx, json_t *state, struct integ_error *err);

  /* Log a line on the host's log, tagged with the plugin instance. Never
   * log secrets. Cannot fail (a line that cannot be written is lost). */
  void (*log)(integ_ctx *ctx, enum integ_log_level level, const char *fmt, ...)
      INTEG_PRINTF(3, 4);

  /* ---- HTTP ---- */

  /* A request: method ("GET", "POST", ...: a token, upper-cased here) and
   * an absolute http:// or https:// URL; flags INTEG_REQ_*. Returns a new
   * request (free with request_free; it may be sent several times), or
   * NULL with err set: INTEG_EINVAL for a missing or malformed method or
   * URL (the message says which), INTEG_ENOMEM. */
  integ_request *(*request_new)(integ_ctx *ctx, const char *method,
                                const char *url, unsigned flags,
                                struct integ_error *err);
  /* Append a query parameter; name and value are percent-encoded here
   * (value NULL is ""). Returns 0, INTEG_EINVAL (req or name NULL, name
   * empty) or INTEG_ENOMEM. */
  int (*request_query)(integ_request *req, const char *name,
                       const char *value);
  /* Add a header. Secrets in headers are redacted from logs and
   * cassettes. Returns 0, INTEG_EINVAL (req, name or value NULL; a name
   * that is empty or holds ':', a space or a control character; a value
   * with CR or LF) or INTEG_ENOMEM. */
  int (*request_header)(integ_request *req, const char *name,
                        const char *value);
  /* The body as JSON (body is borrowed and serialised now), or as form
   * fields added one by one. Each sets Content-Type and replaces a body of
   * the other kind. Returns 0, INTEG_EINVAL (req, body or name NULL) or
   * INTEG_ENOMEM. */
  int (*request_body_json)(integ_request *req, json_t *body);
  int (*request_body_form)(integ_request *req, const char *name,
                           const char *value);
  /* Free a request; NULL is ignored. */
  void (*request_free)(integ_request *req);

  /* Send req (borrowed) with the connector's retries, rate limit and
   * circuit breaker. *resp is a new response whenever one came, also on
   * failure (free with response_free), else NULL. Returns 0 for a 2xx
   * (and, with INTEG_REQ_EXPECT_JSON, a JSON body); else INTEG_EHTTP,
   * INTEG_ENOMEM or INTEG_EINTR with err a readable line: method, URL
   * (secrets redacted), status, category, the provider's message, request
   * id, attempts. http_detail(ctx, *resp) has the same as fields. */
  int (*http_do)(integ_ctx *ctx, integ_request *req, integ_response **resp,
                 struct integ_error *err);
  /* The HTTP status (0 when no response came, or resp is NULL). */
  long (*response_status)(const integ_response *resp);
  /* A header, looked up case-insensitively: borrowed, or NULL. */
  const char *(*response_header)(const integ_response *resp, const char *name);
  /* The body bytes (decoded), borrowed; *len is its length ("" and 0 for
   * a NULL resp). */
  const char *(*response_body)(const integ_response *resp, size_t *len);
  /* The body parsed as JSON: borrowed from the response (parsed once),
   * or NULL with err set (INTEG_EHTTP naming the URL and byte offset;
   * INTEG_EINVAL for a NULL resp; INTEG_ENOMEM). */
  json_t *(*response_json)(integ_response *resp, struct integ_error *err);
  /* The error category: "ok", "auth", "forbidden", "not_found",
   * "rate_limited", "client", "server", "transport", "timeout",
   * "invalid_response", "circuit_open" or "too_large" ("transport" for a
   * NULL resp). Static storage. */
  const char *(*response_category)(const integ_response *resp);
  /* Free a response; NULL is ignored. */
  void (*response_free)(integ_response *resp);

  /* The fast path: send req (borrowed), select the records of `stream`
   * with the JSONPath `records` (e.g. "$.data[*]") and write them to the
   * output without handing them to the plugin. `fields` (borrowed, may be
   * NULL) maps names to JSONPath queries whose values the plugin wants
   * back (a next-page cursor, say): a singular query ("$.next") gives its
   * value or null, any other ("$.data[*].id") an array of all its values.
   * On success *page is a new object:
   *   {"status": 200, "records": N, "fields": {name: value},
   *    "next_url": URL}   (next_url only when a Link rel="next" came)
   * holding every field asked for, and 0 is returned. On failure *page is
   * NULL and the code is http_do's, or INTEG_EINVAL (a query that does not
   * compile, a field that is not a string, a selected record that is not
   * an object: err names it), or emit_record's. The response of a failed
   * request is kept for http_detail(ctx, NULL, ...). */
  int (*emit_batch)(integ_ctx *ctx, integ_request *req, const char *stream,
                    const char *records, json_t *fields, json_t **page,
                    struct integ_error *err);

  /* ---- JSONPath ---- */

  /* Compile a JSONPath query (RFC 9535) q[0..len). Returns a new query
   * (free with jsonpath_free) or NULL with err: INTEG_EINVAL saying at
   * which character the query went wrong, or INTEG_ENOMEM. */
  integ_jsonpath *(*jsonpath_compile)(integ_ctx *ctx, const char *q,
                                      size_t len, struct integ_error *err);
  /* Evaluate: a new JSON array of the selected values, in document order
   * (each a new reference), or NULL with err set (INTEG_ENOMEM, or
   * INTEG_EINVAL when the query is over a limit). doc is borrowed. */
  json_t *(*jsonpath_query)(const integ_jsonpath *jp, json_t *doc,
                            struct integ_error *err);
  /* Free a query; NULL is ignored. */
  void (*jsonpath_free)(integ_jsonpath *jp);

  /* ---- ABI 0.3 ---- */

  /* The detail of an HTTP exchange, as fields: of resp when it is given
   * (strings valid until response_free), else of the last failed request
   * of emit_batch on this ctx (valid until the next emit_batch or
   * unload). Fills the members of *d that fit in d->size. Returns 0;
   * INTEG_ENOTFOUND when resp is NULL and the last emit_batch did not fail
   * with a response; INTEG_EINVAL when d is NULL or d->size is smaller
   * than the 0.3 struct. */
  int (*http_detail)(integ_ctx *ctx, const integ_response *resp,
                     struct integ_http_detail *d);

  /* ---- ABI 0.4: declarative connectors ---- */

  /* The position of a value as "file:line:column" into buf (size bytes,
   * NUL-terminated): of doc's value at key_path when doc is given, else
   * of the plugin's config (key paths as the manifest's: "a.b[2].c"; ""
   * is the root). A path with no position of its own gives its nearest
   * ancestor's. Returns 0, or INTEG_ENOTFOUND (buf "") when nothing is
   * known: a config given as JSON on the command line, say. */
  int (*position)(integ_ctx *ctx, const integ_doc *doc, const char *key_path,
                  char *buf, size_t size);

  /* Load a definition file, YAML or JSON, through the host's YAML loader
   * (positions kept). A relative name is looked up beside the file that
   * named the connector (the manifest, or --config's file), then in the
   * host's integrations directory. Returns a new doc (free with doc_free)
   * and *doc borrowed from it, or NULL with err: INTEG_ENOTFOUND naming
   * every place looked in, INTEG_ECONFIG with file:line:column,
   * INTEG_ENOMEM. */
  integ_doc *(*doc_load)(integ_ctx *ctx, const char *name, json_t **doc,
                         struct integ_error *err);
  /* The file a doc was read from (borrowed from doc). */
  const char *(*doc_file)(const integ_doc *doc);
  /* Free a doc; NULL is ignored. */
  void (*doc_free)(integ_doc *doc);

  /* Compile a template: text with #DATE# #START# #END#, ${NS.key...}
   * variables (filters: | urlencode, | date:FORMAT, | default:VALUE),
   * ${env:X} and ${file:X} secret references and $${ for a literal "${".
   * known (borrowed, may be NULL: anything goes) holds the namespaces the
   * template may name: known[NS] true (any key) or an object (its keys
   * only: the config, say). Returns a new template (template_free), or
   * NULL with err: INTEG_EINVAL saying "character N: ..." (1-based, in
   * text) for an unknown variable or filter, a bad date format or a
   * syntax error; INTEG_ENOMEM. */
  integ_template *(*template_compile)(integ_ctx *ctx, const char *text,
                                      json_t *known, struct integ_error *err);
  /* Render with vars (borrowed: {"config": {...}, "state": {...},
   * "stream": {...}, "parent": {...}, "page": {"next": ...}, "date":
   * "...", "start": "...", "end": "..."}). *out is a new string, free it
   * with free(). Secret references are read now (relative to the file
   * that named the connector) and redacted from logs. Returns 0,
   * INTEG_EINVAL (a variable with no value and no default:),
   * INTEG_ECONFIG (a secret that cannot be read) or INTEG_ENOMEM, with
   * err set. */
  int (*template_render)(integ_ctx *ctx, const integ_template *t, json_t *vars,
                         char **out, struct integ_error *err);
  /* Free a template; NULL is ignored. */
  void (*template_free)(integ_template *t);

  /* emit_batch with mapping: send req (borrowed), select the records
   * with o->records, filter each through o->cursor, map those kept
   * through o->fields (casts applied) and write them, all in the host,
   * from the page's bytes. *page is as emit_batch's, plus "written": the
   * records written (repeats at the cursor boundary are not). Errors as
   * emit_batch's, and, naming the stream, the page's URL (redacted) and
   * the JSONPath: INTEG_EHTTP for a records path that is missing or not
   * an array, a record that is not an object or a cast that fails;
   * INTEG_EINVAL for a cursor value that does not parse. Nothing of that
   * page is written then, and the cursor stays where it was: it moves
   * only with a page that is written. */
  int (*emit_mapped)(integ_ctx *ctx, integ_request *req, const char *stream,
                     const struct integ_mapped_opts *o, json_t **page,
                     struct integ_error *err);

  /* The cursor-boundary helper: per stream, the cursor value and the
   * primary keys of the records seen at that value, for an API whose
   * filter is inclusive (>=). state (borrowed, may be NULL) is what
   * cursor_state gave last run: {"cursor": VALUE, "keys": [[K...]]}.
   * Returns a new cursor (cursor_free), or NULL with err: INTEG_EINVAL (a
   * path or format that does not compile, a state of another shape),
   * INTEG_ENOMEM. */
  integ_cursor *(*cursor_new)(integ_ctx *ctx,
                              const struct integ_cursor_opts *o, json_t *state,
                              struct integ_error *err);
  /* One record (borrowed), in the API's order: *keep is 0 for a record
   * written at the boundary the run resumed from (skip it). A value that
   * is missing or does not parse is INTEG_EINVAL naming stream, path and
   * value; a value older than the cursor is logged once and does not
   * move the state back. */
  int (*cursor_observe)(integ_cursor *c, json_t *record, int *keep,
                        struct integ_error *err);
  /* The state to emit for the stream: a new object, or NULL when no
   * value was seen yet (err->code 0) or out of memory (INTEG_ENOMEM). */
  json_t *(*cursor_state)(const integ_cursor *c, struct integ_error *err);
  /* The value the run resumed from (borrowed; NULL: from the start):
   * what goes into the request's filter. */
  json_t *(*cursor_start)(const integ_cursor *c);
  /* Free a cursor; NULL is ignored. */
  void (*cursor_free)(integ_cursor *c);

  /* ---- ABI 0.5: auth ---- */

  /* Describe the plugin's own auth, during load only: an object of the
   * shape of a manifest connector's auth: (type, token_url, client_id,
   * origins, ...; see integ.yaml(5), AUTH), borrowed. The connector's
   * auth: keys fill or override it (its client id and secret). The host
   * then applies the credentials to the plugin's requests itself, only to
   * the origins the block names; the plugin never sees a token. Returns
   * 0; INTEG_ECONFIG naming the key when the merged block is not a valid
   * auth; INTEG_EINVAL outside load. */
  int (*auth_declare)(integ_ctx *ctx, json_t *auth, struct integ_error *err);

  /* ---- ABI 0.6: emit_page ---- */

  /* emit_batch and emit_mapped behind one sized options struct: with
   * o->mapping or o->cursor as emit_mapped (o->fields as its want), else
   * as emit_batch. Two differences: a 2xx with an empty body (204) is a
   * page without records, every field null; and a request that fails
   * with a response still sets *page (a new object, the code is still
   * the failure's) to {"status": S, "records": 0, "category": C,
   * "body": the body's first 512 bytes (left out when not UTF-8)}, so a
   * plugin can read a 404 as "no more" without asking again. */
  int (*emit_page)(integ_ctx *ctx, integ_request *req, const char *stream,
                   const struct integ_page_opts *o, json_t **page,
                   struct integ_error *err);

  /* ABI 0.6 ends here. Later minors append below. */
};

/* ABI 0.7: webhooks. One received, verified webhook event, borrowed for
 * the on_event call. size is sizeof(struct integ_event) as the host built
 * it (INTEG_HAS tells later members). */
struct integ_event {
  size_t size;
  const char *scheme;      /* standard, github, stripe, slack or generic */
  const char *delivery_id; /* the sender's id of the delivery; may be NULL */
  const char *type;        /* the event type (X-GitHub-Event, the body's
                              type, ...); may be NULL */
  int64_t received_ms;     /* when the host received it (Unix ms) */
  json_t *headers;         /* object of lowercase names; signatures and
                              credentials read "[redacted]" */
  const char *body;        /* the raw body, NUL-terminated */
  size_t body_len;
};

/* The plugin's vtable. Returned by integ_plugin_init(); static storage in the
 * plugin (it is read, never written, by the host). */
struct integ_plugin {
  uint32_t abi_major; /* INTEG_ABI_MAJOR the plugin was built with */
  uint32_t abi_minor; /* the host minor the plugin needs (see the top) */
  size_t size;        /* sizeof(struct integ_plugin) as built */

  const char *name;        /* equals the file name without ".so" */
  const char *version;     /* the plugin's own version, e.g. "1.2.0" */
  const char *description; /* one line */
  const char *spec;        /* JSON Schema of the config, as JSON text */

  /* Make an instance. host and ctx are borrowed and valid until unload().
   * config (borrowed) is the connector's config, already checked against
   * spec; state (borrowed, may be NULL) is the last committed state. On
   * success store the instance in *instance and return 0; on failure return
   * a negative code with err set, and leave nothing to unload. */
  int (*load)(const struct integ_host *host, integ_ctx *ctx, json_t *config,
              json_t *state, void **instance, struct integ_error *err);

  /* Sync: emit records and states through the host. Returns 0 or a
   * negative code with err set. */
  int (*run)(void *instance, struct integ_error *err);

  /* Free the instance. Always called once after a successful load(). */
  void (*unload)(void *instance);

  /* The streams this instance offers, which may depend on its config.
   * Returns a new reference to a JSON array of objects:
   *   {"stream": NAME, "schema": {JSON Schema},
   *    "key_properties": [NAME...],        (optional)
   *    "replication_key": NAME}            (optional; incremental streams)
   * or NULL with err set. Optional (NULL: no streams declared). */
  json_t *(*discover)(void *instance, struct integ_error *err);

  /* Check that the config works (credentials, reachability). Returns 0, or
   * a negative code with err saying what is wrong. Optional. */
  int (*check)(void *instance, struct integ_error *err);

  /* ABI 0.3 ends here (0.1 to 0.3 added nothing here). Later minors
   * append below. */

  /* ABI 0.7: webhooks. Process one received webhook event: emit its
   * records and states through the host as run() does. Called after
   * load() instead of run(), once per event; the host marks the event
   * done only when what it emitted is durable. Returns 0 or a negative
   * code with err set (the event is retried with backoff, then
   * dead-lettered). Optional (NULL: the plugin cannot process events, and
   * a connector with webhooks: fails validate). */
  int (*on_event)(void *instance, const struct integ_event *event,
                  struct integ_error *err);
};

/* True when struct *s (one of the vtables, or struct integ_http_detail)
 * is large enough to hold field f, so a reader of a bigger struct can tell
 * which fields the writer knew. */
#define INTEG_HAS(s, f)                                                       \
  ((s)->size >= offsetof(__typeof__(*(s)), f) + sizeof((s)->f))

/* The one symbol a plugin exports. Define it with INTEG_PLUGIN_DEFINE. */
#define INTEG_PLUGIN_SYMBOL "integ_plugin_init"
typedef const struct integ_plugin *(*integ_plugin_init_fn)(void);

#if defined(__GNUC__)
#define INTEG_EXPORT __attribute__((visibility("default")))
#else
#define INTEG_EXPORT
#endif

/* Define the plugin's entry point, returning its vtable `var`:
 *
 *   static const struct integ_plugin vtable = {
 *     INTEG_PLUGIN_HEADER, .name = "example", ... };
 *   INTEG_PLUGIN_DEFINE(vtable)
 *
 * INTEG_PLUGIN_HEADER needs this header's minor. A plugin that calls no
 * entry newer than minor m (and checks INTEG_HAS before any newer one)
 * writes INTEG_PLUGIN_HEADER_NEEDS(m) instead, and loads on every host of
 * this major from minor m on. m outside [INTEG_ABI_MINOR_MIN,
 * INTEG_ABI_MINOR] does not compile (a negative array size). */
#define INTEG_PLUGIN_HEADER_NEEDS(m)                                          \
  .abi_major = INTEG_ABI_MAJOR,                                               \
  .abi_minor =                                                                \
      (uint32_t)(m) +                                                         \
      0 * sizeof(char[((m) >= INTEG_ABI_MINOR_MIN && (m) <= INTEG_ABI_MINOR)  \
                          ? 1                                                 \
                          : -1]),                                             \
  .size = sizeof(struct integ_plugin)
#define INTEG_PLUGIN_HEADER INTEG_PLUGIN_HEADER_NEEDS(INTEG_ABI_MINOR)

#define INTEG_PLUGIN_DEFINE(var)                                              \
  INTEG_EXPORT const struct integ_plugin *integ_plugin_init(void);            \
  INTEG_EXPORT const struct integ_plugin *integ_plugin_init(void)             \
  {                                                                           \
    return &(var);                                                            \
  }

/* ---- The layout of ABI 0.3, pinned ----
 * A header edit that moves, resizes or reorders a member fails to compile,
 * in the host and in every plugin. Members sit in slots one word wide:
 * after {abi_major, abi_minor, size} in the vtables, after size in
 * struct integ_http_detail. A later minor
 * adds the pins of the members it appends and keeps these. */
#if defined(__cplusplus) && __cplusplus >= 201103L
#define INTEG_PIN(cond, what) static_assert(cond, what);
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define INTEG_PIN(cond, what) _Static_assert(cond, what);
#else
#define INTEG_PIN(cond, what) /* pre-C11: the ABI dump still checks */
#endif
#define INTEG_SLOT(n)                                                         \
  (2 * sizeof(uint32_t) + sizeof(size_t) + (size_t)(n) * sizeof(void *))
#define INTEG_PIN_AT(type, member, n)                                         \
  INTEG_PIN(offsetof(struct type, member) == INTEG_SLOT(n),                   \
            "ABI 0.3: " #type "." #member " must be in slot " #n)
#define INTEG_PIN_DETAIL(member, n)                                           \
  INTEG_PIN(offsetof(struct integ_http_detail, member) ==                     \
                sizeof(size_t) + (size_t)(n) * sizeof(void *),                \
            "ABI 0.3: integ_http_detail." #member " must be in slot " #n)

INTEG_PIN(offsetof(struct integ_error, code) == 0, "integ_error.code")
INTEG_PIN(offsetof(struct integ_error, message) == sizeof(int),
          "integ_error.message")
INTEG_PIN(sizeof(struct integ_error) == sizeof(int) + INTEG_ERROR_MAX,
          "struct integ_error is frozen")

INTEG_PIN(offsetof(struct integ_host, abi_major) == 0, "integ_host.abi_major")
INTEG_PIN(offsetof(struct integ_host, abi_minor) == 4, "integ_host.abi_minor")
INTEG_PIN(offsetof(struct integ_host, size) == 8, "integ_host.size")
INTEG_PIN_AT(integ_host, emit_record, 0)
INTEG_PIN_AT(integ_host, emit_state, 1)
INTEG_PIN_AT(integ_host, log, 2)
INTEG_PIN_AT(integ_host, request_new, 3)
INTEG_PIN_AT(integ_host, request_query, 4)
INTEG_PIN_AT(integ_host, request_header, 5)
INTEG_PIN_AT(integ_host, request_body_json, 6)
INTEG_PIN_AT(integ_host, request_body_form, 7)
INTEG_PIN_AT(integ_host, request_free, 8)
INTEG_PIN_AT(integ_host, http_do, 9)
INTEG_PIN_AT(integ_host, response_status, 10)
INTEG_PIN_AT(integ_host, response_header, 11)
INTEG_PIN_AT(integ_host, response_body, 12)
INTEG_PIN_AT(integ_host, response_json, 13)
INTEG_PIN_AT(integ_host, response_category, 14)
INTEG_PIN_AT(integ_host, response_free, 15)
INTEG_PIN_AT(integ_host, emit_batch, 16)
INTEG_PIN_AT(integ_host, jsonpath_compile, 17)
INTEG_PIN_AT(integ_host, jsonpath_query, 18)
INTEG_PIN_AT(integ_host, jsonpath_free, 19)
INTEG_PIN_AT(integ_host, http_detail, 20)
INTEG_PIN(sizeof(struct integ_host) >= INTEG_SLOT(21), "integ_host 0.3 size")
INTEG_PIN_AT(integ_host, position, 21)
INTEG_PIN_AT(integ_host, doc_load, 22)
INTEG_PIN_AT(integ_host, doc_file, 23)
INTEG_PIN_AT(integ_host, doc_free, 24)
INTEG_PIN_AT(integ_host, template_compile, 25)
INTEG_PIN_AT(integ_host, template_render, 26)
INTEG_PIN_AT(integ_host, template_free, 27)
INTEG_PIN_AT(integ_host, emit_mapped, 28)
INTEG_PIN_AT(integ_host, cursor_new, 29)
INTEG_PIN_AT(integ_host, cursor_observe, 30)
INTEG_PIN_AT(integ_host, cursor_state, 31)
INTEG_PIN_AT(integ_host, cursor_start, 32)
INTEG_PIN_AT(integ_host, cursor_free, 33)
INTEG_PIN(sizeof(struct integ_host) >= INTEG_SLOT(34), "integ_host 0.4 size")
INTEG_PIN(offsetof(struct integ_cursor_opts, primary_key) ==
              4 * sizeof(void *),
          "ABI 0.4: integ_cursor_opts.primary_key must be in slot 4")
INTEG_PIN(offsetof(struct integ_mapped_opts, want) == 4 * sizeof(void *),
          "ABI 0.4: integ_mapped_opts.want must be in slot 4")
/* ABI 0.5: auth */
INTEG_PIN(offsetof(struct integ_host, auth_declare) == INTEG_SLOT(34),
          "ABI 0.5: integ_host.auth_declare must be in slot 34")
INTEG_PIN(sizeof(struct integ_host) >= INTEG_SLOT(35), "integ_host 0.5 size")
/* ABI 0.6: emit_page */
INTEG_PIN(offsetof(struct integ_host, emit_page) == INTEG_SLOT(35),
          "ABI 0.6: integ_host.emit_page must be in slot 35")
INTEG_PIN(sizeof(struct integ_host) >= INTEG_SLOT(36), "integ_host 0.6 size")
INTEG_PIN(offsetof(struct integ_page_opts, cursor) == 4 * sizeof(void *),
          "ABI 0.6: integ_page_opts.cursor must be in slot 4")

INTEG_PIN(offsetof(struct integ_plugin, abi_major) == 0,
          "integ_plugin.abi_major")
INTEG_PIN(offsetof(struct integ_plugin, abi_minor) == 4,
          "integ_plugin.abi_minor")
INTEG_PIN(offsetof(struct integ_plugin, size) == 8, "integ_plugin.size")
INTEG_PIN_AT(integ_plugin, name, 0)
INTEG_PIN_AT(integ_plugin, version, 1)
INTEG_PIN_AT(integ_plugin, description, 2)
INTEG_PIN_AT(integ_plugin, spec, 3)
INTEG_PIN_AT(integ_plugin, load, 4)
INTEG_PIN_AT(integ_plugin, run, 5)
INTEG_PIN_AT(integ_plugin, unload, 6)
INTEG_PIN_AT(integ_plugin, discover, 7)
INTEG_PIN_AT(integ_plugin, check, 8)
INTEG_PIN(sizeof(struct integ_plugin) >= INTEG_SLOT(9),
          "integ_plugin 0.3 size")
/* ABI 0.7: webhooks */
INTEG_PIN_AT(integ_plugin, on_event, 9)
INTEG_PIN(sizeof(struct integ_plugin) >= INTEG_SLOT(10),
          "integ_plugin 0.6 size")
INTEG_PIN(offsetof(struct integ_event, scheme) == sizeof(size_t),
          "ABI 0.6: integ_event.scheme")
INTEG_PIN(offsetof(struct integ_event, body_len) ==
              sizeof(size_t) + 6 * sizeof(void *),
          "ABI 0.6: integ_event.body_len")

INTEG_PIN(offsetof(struct integ_http_detail, size) == 0,
          "integ_http_detail.size")
INTEG_PIN(sizeof(long) == sizeof(void *), "integ_http_detail: one word each")
INTEG_PIN_DETAIL(status, 0)
INTEG_PIN_DETAIL(retryable, 1)
INTEG_PIN_DETAIL(attempts, 2)
INTEG_PIN_DETAIL(retry_after_ms, 3)
INTEG_PIN_DETAIL(category, 4)
INTEG_PIN_DETAIL(url, 5)
INTEG_PIN_DETAIL(provider_code, 6)
INTEG_PIN_DETAIL(provider_message, 7)
INTEG_PIN_DETAIL(request_id, 8)
INTEG_PIN(sizeof(struct integ_http_detail) >=
              sizeof(size_t) + 9 * sizeof(void *),
          "integ_http_detail 0.3 size")

#ifdef __cplusplus
}
#endif

#endif /* INTEG_PLUGIN_H */
