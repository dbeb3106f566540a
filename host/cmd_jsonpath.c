/* cmd_jsonpath.c - `integ jsonpath QUERY [FILE|-] [--paths]`: run an
 * RFC 9535 query on a JSON document and print the nodelist, each node as
 * it is found (a query such as $..*..* may select far more than the
 * document holds). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "error.h"
#include "jsonpath.h"
#include "jsonw.h"

/* Output goes out in blocks of about this size. */
#define FLUSH_AT 65536

static void usage(void)
{
  printf("Usage: integ jsonpath [--paths] QUERY [FILE|-]\n"
         "Run the JSONPath query QUERY (RFC 9535) on the JSON document in "
         "FILE\n"
         "(standard input when FILE is - or missing) and print the "
         "resulting\n"
         "nodelist as a JSON array on one line.\n"
         "\n"
         "  --paths   print the normalized paths of the nodes instead\n"
         "\n"
         "Exit status: 0 ok, 1 the document cannot be read or is not JSON,\n"
         "or the query selects more than %zu nodes or %zu MiB of paths\n"
         "(what was found until then is printed), 2 usage error or invalid\n"
         "query (the message gives the character position).\n",
         (size_t)JSONPATH_MAX_NODES, (size_t)JSONPATH_MAX_PATH_BYTES >> 20);
}

struct printer {
  struct buf text;
  size_t n; /* nodes printed */
  int paths;
};

static int flush(struct buf *text, struct integ_error *err)
{
  if (text->len && fwrite(text->data, 1, text->len, stdout) != text->len)
    return error_set(err, INTEG_EIO, "writing standard output failed: %s",
                     strerror(errno));
  text->len = 0;
  return 0;
}

/* jsonpath_each's visitor: one element of the output array. */
static int print_node(json_t *value, const char *path, size_t path_len,
                      void *arg, struct integ_error *err)
{
  struct printer *pr = arg;
  int rc;

  rc = buf_append(&pr->text, pr->n++ ? "," : "[", 1);
  if (rc)
    goto out;
  /* jsonw, not json_dumpf: reals in their shortest round-trip form. */
  if (pr->paths)
    rc = jsonw_string(&pr->text, path, path_len, 0);
  else
    rc = jsonw_value(&pr->text, value, 0);
  if (rc)
    goto out;
  if (pr->text.len >= FLUSH_AT)
    rc = flush(&pr->text, err);
out:
  if (rc == INTEG_ENOMEM)
    rc = error_set(err, rc, "out of memory");
  return rc;
}

int cmd_jsonpath(int argc, char **argv)
{
  const char *query = NULL, *file = NULL;
  int opts_done = 0, rc, status = EXIT_RUN;
  struct integ_error err = {0, ""};
  struct jsonpath *jp = NULL;
  struct printer pr = {BUF_INIT, 0, 0};
  json_t *doc = NULL;
  json_error_t jerr;

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!opts_done && strcmp(a, "--") == 0) {
      opts_done = 1;
    } else if (!opts_done &&
               (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
      usage();
      return EXIT_OK;
    } else if (!opts_done && strcmp(a, "--paths") == 0) {
      pr.paths = 1;
    } else if (!opts_done && a[0] == '-' && a[1] != '\0') {
      return cli_usage_error("jsonpath", "unknown option '%s'", a);
    } else if (!query) {
      query = a;
    } else if (!file) {
      file = a;
    } else {
      return cli_usage_error("jsonpath", "unexpected argument '%s'", a);
    }
  }
  if (!query)
    return cli_usage_error("jsonpath", "missing the QUERY argument");

  rc = jsonpath_compile(query, strlen(query), &jp, &err);
  if (rc) {
    fprintf(stderr, "integ jsonpath: %s\n", err.message);
    status = rc == INTEG_EINVAL ? EXIT_USAGE : EXIT_RUN;
    goto out;
  }

  if (!file || strcmp(file, "-") == 0) {
    doc = json_loadf(stdin, JSON_ALLOW_NUL | JSON_DECODE_ANY, &jerr);
    file = "<stdin>";
  } else {
    doc = json_load_file(file, JSON_ALLOW_NUL | JSON_DECODE_ANY, &jerr);
  }
  if (!doc) {
    /* jansson puts the line 0/-1 when the file cannot be opened at all */
    if (jerr.line > 0)
      fprintf(stderr, "integ jsonpath: %s:%d:%d: %s\n", file, jerr.line,
              jerr.column, jerr.text);
    else
      fprintf(stderr, "integ jsonpath: %s: %s\n", file, jerr.text);
    goto out;
  }

  rc = jsonpath_each(jp, doc, pr.paths ? JSONPATH_PATHS : 0, print_node, &pr,
                     &err);
  if (rc) {
    /* What was found stays printed; the array is left open. */
    flush(&pr.text, &(struct integ_error){0, ""});
    fflush(stdout);
    fprintf(stderr, "integ jsonpath: %s\n", err.message);
    goto out;
  }
  rc = buf_appends(&pr.text, pr.n ? "]\n" : "[]\n");
  if (rc) {
    fprintf(stderr, "integ jsonpath: out of memory\n");
    goto out;
  }
  rc = flush(&pr.text, &err);
  if (!rc && fflush(stdout) != 0)
    rc = error_set(&err, INTEG_EIO, "writing standard output failed: %s",
                   strerror(errno));
  if (rc) {
    fprintf(stderr, "integ jsonpath: %s\n", err.message);
    goto out;
  }
  status = EXIT_OK;
out:
  buf_free(&pr.text);
  json_decref(doc);
  jsonpath_free(jp);
  return status;
}
