/* integ/plugin.h - the contract between the integ host and its plugins.
 *
 * A plugin is a shared object that exports one function, integ_plugin_init,
 * defined with INTEG_PLUGIN_DEFINE below. It returns the plugin's vtable,
 * struct integ_plugin. The host calls the plugin through that vtable and
 * hands the plugin its own vtable, struct integ_host, in load(). A plugin
 * never links against host symbols: it reaches the host only through struct
 * integ_host (as SQLite extensions do through sqlite3_api_routines), so it
 * links to libc and jansson alone.
 *
 * Versioning. Both structs start with {abi_major, abi_minor, size}.
 *  - The host refuses a plugin whose abi_major differs from its own, whose
 *    abi_minor is newer than its own, or whose size is smaller than the
 *    struct of the abi_minor it claims.
 *  - While abi_major is 0 the ABI may still change: every change bumps
 *    abi_minor, and every in-tree plugin is fixed in the same commit.
 *  - From 1.0 on, within one major version both structs only grow at the
 *    end. A reader uses `size` (and INTEG_HAS) to know which fields exist.
 *
 * Ownership. json_t values cross the boundary with jansson's conventions,
 * written at each function: "borrowed" (the callee must not decref it and
 * must json_incref what it keeps), "new" (the receiver owns one reference
 * and must json_decref it), "stolen" (the callee takes the caller's
 * reference, even on failure).
 *
 * Plugins keep no global mutable state: one process may hold several
 * instances of one plugin, each with its own config.
 */
#ifndef INTEG_PLUGIN_H
#define INTEG_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#define INTEG_ABI_MAJOR 0
#define INTEG_ABI_MINOR 2

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

/* An error: a code and a one-line message the user can act on. */
struct integ_error {
  int code;                      /* INTEG_E*, or INTEG_OK */
  char message[INTEG_ERROR_MAX]; /* NUL-terminated, never holds a secret */
};

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

/* Flags for integ_host.request_new. */
#define INTEG_REQ_POST_SAFE 1u /* this POST may be repeated on failure */
#define INTEG_REQ_EXPECT_JSON                                                 \
  2u /* a 2xx body that is not JSON is an error                               \
        (and retried: it is often cut short) */

/* The host's vtable, handed to load(). Borrowed: valid until unload(). */
struct integ_host {
  uint32_t abi_major;
  uint32_t abi_minor;
  size_t size; /* sizeof(struct integ_host) as the host was built */

  /* Write one record of `stream` to the output. record is borrowed and
   * must be a JSON object. Returns 0, or a negative code with err set; a
   * plugin that gets an error stops its run and returns it. */
  int (*emit_record)(integ_ctx *ctx, const char *stream, json_t *record,
                     struct integ_error *err);

  /* Note a consistent point: every record emitted before this call is
   * covered by `state` (borrowed; a JSON object, the plugin's own shape).
   * The host commits it only after those records are durably written, so a
   * run that is killed resumes from the last committed state. */
  int (*emit_state)(integ_ctx *ctx, json_t *state, struct integ_error *err);

  /* Log a line on the host's log, tagged with the plugin instance. Never
   * log secrets. */
  void (*log)(integ_ctx *ctx, enum integ_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
      __attribute__((format(printf, 3, 4)))
#endif
      ;

  /* ---- ABI 0.2: HTTP, emit_batch, JSONPath ---- */

  /* A request: method ("GET", "POST", ...) and absolute URL; flags
   * INTEG_REQ_*. Returns a new request (free with request_free; it may be
   * sent several times), or NULL when out of memory. */
  integ_request *(*request_new)(integ_ctx *ctx, const char *method,
                                const char *url, unsigned flags);
  /* Append a query parameter; name and value are percent-encoded here. */
  int (*request_query)(integ_request *req, const char *name,
                       const char *value);
  /* Add a header. Secrets in headers are redacted from logs and
   * cassettes. */
  int (*request_header)(integ_request *req, const char *name,
                        const char *value);
  /* The body as JSON (body is borrowed and serialised now), or as form
   * fields added one by one. Each sets Content-Type. */
  int (*request_body_json)(integ_request *req, json_t *body);
  int (*request_body_form)(integ_request *req, const char *name,
                           const char *value);
  void (*request_free)(integ_request *req);

  /* Send req (borrowed) with the connector's retries, rate limit and
   * circuit breaker. *resp is a new response whenever one came, also on
   * failure (free with response_free). Returns 0 for a 2xx, else
   * INTEG_EHTTP (or INTEG_ENOMEM, INTEG_EINTR) with err a readable line:
   * method, URL (secrets redacted), status, category, the provider's
   * message, request id, attempts. */
  int (*http_do)(integ_ctx *ctx, integ_request *req, integ_response **resp,
                 struct integ_error *err);
  /* The HTTP status (0 when no response came). */
  long (*response_status)(const integ_response *resp);
  /* A header, looked up case-insensitively: borrowed, or NULL. */
  const char *(*response_header)(const integ_response *resp, const char *name);
  /* The body bytes (decoded), borrowed; *len is its length. */
  const char *(*response_body)(const integ_response *resp, size_t *len);
  /* The body parsed as JSON: borrowed from the response (parsed once),
   * or NULL with err set. */
  json_t *(*response_json)(integ_response *resp, struct integ_error *err);
  /* The error category: "ok", "auth", "forbidden", "not_found",
   * "rate_limited", "client", "server", "transport", "timeout",
   * "invalid_response", "circuit_open" or "too_large". */
  const char *(*response_category)(const integ_response *resp);
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
   * and 0 is returned; failures are as http_do's. */
  int (*emit_batch)(integ_ctx *ctx, integ_request *req, const char *stream,
                    const char *records, json_t *fields, json_t **page,
                    struct integ_error *err);

  /* Compile a JSONPath query (RFC 9535) q[0..len). Returns a new query
   * (free with jsonpath_free) or NULL with err saying at which character
   * the query went wrong. */
  integ_jsonpath *(*jsonpath_compile)(integ_ctx *ctx, const char *q,
                                      size_t len, struct integ_error *err);
  /* Evaluate: a new JSON array of the selected values, in document order
   * (each a new reference), or NULL with err set. doc is borrowed. */
  json_t *(*jsonpath_query)(const integ_jsonpath *jp, json_t *doc,
                            struct integ_error *err);
  void (*jsonpath_free)(integ_jsonpath *jp);

  /* ABI 0.2 ends here. Later minors append below. */
};

/* The plugin's vtable. Returned by integ_plugin_init(); static storage in the
 * plugin (it is read, never written, by the host). */
struct integ_plugin {
  uint32_t abi_major; /* INTEG_ABI_MAJOR the plugin was built with */
  uint32_t abi_minor; /* INTEG_ABI_MINOR the plugin was built with */
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
   * or NULL with err set. */
  json_t *(*discover)(void *instance, struct integ_error *err);

  /* Check that the config works (credentials, reachability). Returns 0, or
   * a negative code with err saying what is wrong. */
  int (*check)(void *instance, struct integ_error *err);

  /* ABI 0.1 ends here; 0.2 added nothing here. Later minors append
   * below. */
};

/* True when struct *s (one of the two above) is large enough to hold field
 * f, so a reader of a bigger struct can tell which fields the writer knew. */
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
 */
#define INTEG_PLUGIN_HEADER                                                   \
  .abi_major = INTEG_ABI_MAJOR, .abi_minor = INTEG_ABI_MINOR,                 \
  .size = sizeof(struct integ_plugin)

#define INTEG_PLUGIN_DEFINE(var)                                              \
  INTEG_EXPORT const struct integ_plugin *integ_plugin_init(void);            \
  INTEG_EXPORT const struct integ_plugin *integ_plugin_init(void)             \
  {                                                                           \
    return &(var);                                                            \
  }

#ifdef __cplusplus
}
#endif

#endif /* INTEG_PLUGIN_H */
