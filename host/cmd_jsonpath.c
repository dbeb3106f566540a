/* cmd_jsonpath.c - `integ jsonpath QUERY [FILE|-] [--paths]`: run an
 * RFC 9535 query on a JSON document and print the nodelist. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "jsonpath.h"
#include "jsonw.h"

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
         "2 usage error or invalid query (the message gives the character\n"
         "position).\n");
}

int cmd_jsonpath(int argc, char **argv)
{
  const char *query = NULL, *file = NULL;
  int paths = 0, opts_done = 0, rc = EXIT_RUN;
  struct integ_error err = {0, ""};
  struct jsonpath *jp = NULL;
  struct jsonpath_nodes nodes = {0, NULL, NULL};
  json_t *doc = NULL, *out = NULL;
  struct buf text = BUF_INIT;
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
      paths = 1;
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

  if (jsonpath_compile(query, strlen(query), &jp, &err) != 0) {
    fprintf(stderr, "integ jsonpath: %s\n", err.message);
    rc = err.code == INTEG_EINVAL ? EXIT_USAGE : EXIT_RUN;
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

  if (jsonpath_eval(jp, doc, paths ? JSONPATH_PATHS : 0, &nodes, &err) != 0) {
    fprintf(stderr, "integ jsonpath: %s\n", err.message);
    goto out;
  }
  out = json_array();
  for (size_t i = 0; out && i < nodes.n; i++) {
    json_t *v =
        paths ? json_string(nodes.paths[i]) : json_incref(nodes.values[i]);
    if (!v || json_array_append_new(out, v) != 0) {
      json_decref(out);
      out = NULL;
    }
  }
  if (!out) {
    fprintf(stderr, "integ jsonpath: out of memory\n");
    goto out;
  }
  /* jsonw, not json_dumpf: reals in their shortest round-trip form. */
  if (jsonw_value(&text, out, 0) != 0 || buf_append(&text, "\n", 1) ||
      fwrite(text.data, 1, text.len, stdout) != text.len ||
      fflush(stdout) != 0) {
    fprintf(stderr, "integ jsonpath: writing standard output failed: %s\n",
            strerror(errno));
    goto out;
  }
  rc = EXIT_OK;
out:
  buf_free(&text);
  json_decref(out);
  jsonpath_nodes_free(&nodes);
  json_decref(doc);
  jsonpath_free(jp);
  return rc;
}
