/* reply.h - one planned HTTP response of the test API server: status,
 * headers, body, and how it travels (delays, chunks, truncation, gzip). */
#ifndef TESTAPI_REPLY_H
#define TESTAPI_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <integ/plugin.h>

/* How a response travels: everything but status, headers and body. */
struct transport {
  unsigned delay_ms;       /* sleep before sending the headers */
  unsigned chunk_delay_ms; /* sleep between body chunks */
  size_t chunk_size;       /* bytes per chunk; 0: as the server likes */
  int chunked;             /* announce no length (chunked in HTTP/1.1) */
  int64_t truncate_at;     /* close the connection after this many body
                              bytes; -1: send the whole body */
  int gzip;                /* 0 never, 1 always, 2 if Accept-Encoding
                              allows gzip */
  int close;               /* send Connection: close */
};

struct reply {
  int status;
  json_t *headers;     /* owned; object of name -> string, or NULL */
  unsigned char *body; /* owned (malloc'd), or NULL when len is 0 */
  size_t len;
  struct transport t;
};

/* Make r an empty 200 reply that travels plainly. */
void reply_init(struct reply *r);

/* Free what r owns and make it empty again. */
void reply_clear(struct reply *r);

/* Set header name (replacing one of that name). Returns 0 or
 * INTEG_ENOMEM. */
int reply_set_header(struct reply *r, const char *name, const char *value);

/* True when r has header name (any case). */
int reply_has_header(const struct reply *r, const char *name);

/* Set the body to the JSON text of v (borrowed) dumped with jansson flags,
 * and Content-Type to application/json unless a Content-Type is set. Reals
 * get the fewest digits (15 to 17) that read back as the same double. */
int reply_set_json(struct reply *r, json_t *v, size_t flags);

/* Replace r with a JSON error reply {"error": message} of this status. */
int reply_set_error(struct reply *r, int status, const char *message);

/* True when key is one of the transport keys reply_parse_transport reads
 * (delay_ms, chunk_delay_ms, chunk_size, chunked, truncate_at, gzip,
 * close, headers). */
int reply_is_transport_key(const char *key);

/* Read the transport keys and "headers" of spec (borrowed JSON object)
 * into *t and *headers (new deep copy, or NULL when absent). `where`
 * names spec in messages, e.g. "routes[2].responses[0]". */
int reply_parse_transport(json_t *spec, const char *where, struct transport *t,
                          json_t **headers, struct integ_error *err);

#endif
