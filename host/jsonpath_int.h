/* jsonpath_int.h - what the JSONPath compiler (jsonpath_parse.c) and
 * evaluator (jsonpath.c) share: the arena and the compiled query tree.
 * Private to them; jsonpath.h is the API. */
#ifndef INTEG_HOST_JSONPATH_INT_H
#define INTEG_HOST_JSONPATH_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "iregexp.h"

/* Bump allocator: compile-time trees and evaluation-time path nodes are
 * freed all at once, so error paths need no per-node cleanup. */
struct arena_block {
  struct arena_block *next;
  size_t used, size;
  max_align_t data[];
};

struct arena {
  struct arena_block *head;
};

/* size zeroed bytes from A, aligned for any type; NULL when out of
 * memory. Freed with everything else by jsonpath_arena_free(). */
void *jsonpath_arena_alloc(struct arena *a, size_t size);

/* Free every block of A and reset it to empty. */
void jsonpath_arena_free(struct arena *a);

/* ------------------------------------------------------- query tree */

enum val_kind {
  V_NOTHING,
  V_NULL,
  V_FALSE,
  V_TRUE,
  V_INT,
  V_REAL,
  V_STR,
  V_ARRAY,
  V_OBJECT
};

/* A value in a filter: a literal, a node's value, a function's result, or
 * Nothing. Strings are borrowed (from the query or the document). */
struct val {
  enum val_kind k;
  int64_t i;
  double d;
  const char *s;
  size_t len;
  json_t *j; /* V_ARRAY, V_OBJECT: borrowed from the document */
};

enum sel_kind { SEL_NAME, SEL_WILD, SEL_INDEX, SEL_SLICE, SEL_FILTER };

struct expr;

struct selector {
  enum sel_kind kind;
  const char *name; /* SEL_NAME, in the arena */
  size_t len;
  int64_t index;             /* SEL_INDEX */
  int64_t start, end, step;  /* SEL_SLICE */
  int has_start, has_end;    /* SEL_SLICE */
  const struct expr *filter; /* SEL_FILTER */
};

struct segment {
  int descendant;
  int blank; /* blank space inside its brackets: not a singular segment */
  struct selector *sels;
  size_t n;
};

struct query {
  int relative; /* starts at @, not $ */
  int singular;
  struct segment *segs;
  size_t n;
};

enum expr_kind { E_OR, E_AND, E_NOT, E_CMP, E_LIT, E_QUERY, E_FUNC };
enum cmp_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };
enum fn_id { FN_LENGTH, FN_COUNT, FN_MATCH, FN_SEARCH, FN_VALUE };
/* The types of RFC 9535 2.4.1. */
enum jtype { T_VALUE, T_LOGICAL, T_NODES };

struct expr {
  enum expr_kind kind;
  size_t pos;         /* byte offset in the query, for messages */
  int paren;          /* written in parentheses */
  struct expr **list; /* E_OR, E_AND: n operands; E_NOT: 1 */
  size_t n;
  enum cmp_op op;        /* E_CMP: list[0] op list[1] */
  struct val lit;        /* E_LIT */
  const struct query *q; /* E_QUERY */
  enum fn_id fn;         /* E_FUNC: args in list */
  pcre2_code *re;        /* match/search with a literal pattern */
  int re_never;          /* ... that is no I-Regexp: always false */
};

struct jsonpath {
  struct arena arena;
  const struct query *q;
  pcre2_code **res; /* compiled literal patterns, freed with the query */
  size_t nres;
};

#endif
