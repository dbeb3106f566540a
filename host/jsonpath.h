/* jsonpath.h - JSONPath queries (RFC 9535) over jansson values.
 *
 * A query is compiled once into a struct jsonpath and evaluated any number
 * of times, against any number of documents, without re-parsing. All of
 * RFC 9535 is supported: root and current node identifiers, name, wildcard,
 * index, slice and filter selectors, child and descendant segments,
 * comparisons, logical operators, the function extensions length, count,
 * match, search and value (with the well-typedness rules of section 2.4,
 * checked at compile time), and normalized paths. match and search take
 * I-Regexp (RFC 9485), checked and translated to PCRE2.
 *
 * Evaluation never copies the document: results are borrowed json_t
 * pointers in document order. It walks the document depth first and holds
 * no intermediate nodelists: memory follows the depth of the document, an
 * existence test stops at the first node, and jsonpath_each hands each
 * node out as it is found. A compiled query is immutable, so several
 * threads may evaluate one struct jsonpath at the same time.
 *
 * Positions in compile errors are 1-based character (Unicode code point)
 * positions in the query.
 */
#ifndef INTEG_HOST_JSONPATH_H
#define INTEG_HOST_JSONPATH_H

#include <stddef.h>

#include <jansson.h>

#include <integ/plugin.h>

/* A compiled query. Opaque. */
struct jsonpath;

/* Limits that make hostile queries and documents harmless: nesting of
 * parentheses, filters and function calls in a query; segments in a query
 * (filters' included); nesting of arrays and objects the deep comparison of
 * values walks; nodes one evaluation may select, and the bytes of their
 * normalized paths (with their NUL bytes), also when they are handed out
 * one by one. An evaluation that passes a limit stops with INTEG_EINVAL
 * and a message that says which. */
#define JSONPATH_MAX_NESTING 64
#define JSONPATH_MAX_SEGMENTS 1024
#define JSONPATH_MAX_DEPTH 2048
#define JSONPATH_MAX_NODES ((size_t)1 << 24)
#define JSONPATH_MAX_PATH_BYTES ((size_t)64 << 20)

/* Compile the query q[0..len) (it may contain NUL bytes; it need not be
 * NUL-terminated). On success sets *out to a new query that the caller
 * frees with jsonpath_free, and returns 0. On failure returns INTEG_EINVAL
 * for an invalid query (err says at which 1-based character position and
 * what was expected there) or INTEG_ENOMEM, and sets *out to NULL. */
int jsonpath_compile(const char *q, size_t len, struct jsonpath **out,
                     struct integ_error *err);

/* Free a compiled query. NULL is allowed. */
void jsonpath_free(struct jsonpath *jp);

/* Whether the query is a singular query (RFC 9535 2.3.5.1): at most one
 * node can result, whatever the document. */
int jsonpath_is_singular(const struct jsonpath *jp);

/* The result of one evaluation: n nodes in the order RFC 9535 defines.
 * values[i] is borrowed from the document given to jsonpath_eval: valid as
 * long as the document is, not to be decref'd. paths is NULL unless
 * JSONPATH_PATHS was asked for (and n > 0); then paths[i] is the normalized
 * path of values[i] (RFC 9535 2.7), e.g. "$['a'][0]", owned by the
 * struct. */
struct jsonpath_nodes {
  size_t n;
  json_t **values;
  char **paths;
};

/* Flags for jsonpath_eval. */
#define JSONPATH_PATHS 1u /* also compute normalized paths */

/* Evaluate jp against doc (borrowed; it must not change during the call).
 * On success fills *out (which the caller releases with
 * jsonpath_nodes_free, also when n is 0) and returns 0. On failure returns
 * INTEG_ENOMEM, or INTEG_EINVAL when a limit above was hit; *out is then
 * empty and needs no freeing (freeing it is harmless). */
int jsonpath_eval(const struct jsonpath *jp, json_t *doc, unsigned flags,
                  struct jsonpath_nodes *out, struct integ_error *err);

/* Called by jsonpath_each for each node, in order. VALUE is borrowed from
 * the document; PATH is its normalized path (NUL-terminated, PATH_LEN
 * bytes) when JSONPATH_PATHS was asked for, else NULL, valid during the
 * call only. Return 0 to go on, or a negative INTEG_E* code (with err set)
 * to stop: jsonpath_each then returns that code. */
typedef int (*jsonpath_visit_fn)(json_t *value, const char *path,
                                 size_t path_len, void *arg,
                                 struct integ_error *err);

/* Evaluate jp against doc (borrowed; it must not change during the call)
 * and call fn(..., arg, err) for each node as it is found, without holding
 * the nodelist. Returns 0, fn's code, INTEG_ENOMEM, or INTEG_EINVAL when a
 * limit above was hit (fn has then seen the nodes before it). */
int jsonpath_each(const struct jsonpath *jp, json_t *doc, unsigned flags,
                  jsonpath_visit_fn fn, void *arg, struct integ_error *err);

/* Release what jsonpath_eval put in nodes (not the values, which are
 * borrowed) and reset it to empty. NULL is allowed. */
void jsonpath_nodes_free(struct jsonpath_nodes *nodes);

/* Write the normalized path for the member name name[0..len) as it appears
 * within "['...']": the RFC 9535 2.7 escapes. Exposed for tests. Returns a
 * new NUL-terminated string the caller frees with free(), or NULL when out
 * of memory. */
char *jsonpath_escape_name(const char *name, size_t len);

#endif
