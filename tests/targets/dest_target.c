/* dest_target.c - a Singer target / Airbyte destination for tests that
 * behaves as real ones do, one behaviour per option:
 *   dest_target [OPTIONS]
 *   --log-per-record     print an Airbyte LOG message on stdout per record
 *   --stderr-per-record  print a line on stderr per record
 *   --swap-numbers       echo states re-serialised as a JavaScript or Python
 *                        destination may: integers as reals (147 -> 147.0),
 *                        integral reals as integers (147.0 -> 147), with
 *                        spaces after ':' and ','
 *   --dest-stats         add destinationStats to each Airbyte state echoed
 *   --exit N             at the first STATE, say why on stderr and exit N
 *                        without echoing it
 * It reads messages on stdin and echoes each STATE once it has read it:
 * the value for a Singer STATE, the whole message for an Airbyte one.
 * Stdout is fully buffered and flushed only at a STATE, as many targets
 * do, so what it prints per record piles up behind integ's writes.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static json_t *swapped(json_t *v)
{
  json_t *out, *c;
  const char *key;
  size_t i;

  switch (json_typeof(v)) {
  case JSON_INTEGER:
    return json_real((double)json_integer_value(v));
  case JSON_REAL: {
    double r = json_real_value(v);

    if (r == (double)(json_int_t)r && r > -9e15 && r < 9e15)
      return json_integer((json_int_t)r);
    return json_incref(v);
  }
  case JSON_OBJECT:
    out = json_object();
    json_object_foreach(v, key, c)
    {
      if (!out || json_object_set_new(out, key, swapped(c))) {
        json_decref(out);
        return NULL;
      }
    }
    return out;
  case JSON_ARRAY:
    out = json_array();
    json_array_foreach(v, i, c)
    {
      if (!out || json_array_append_new(out, swapped(c))) {
        json_decref(out);
        return NULL;
      }
    }
    return out;
  default:
    return json_incref(v);
  }
}

static void usage(void)
{
  fprintf(stderr, "usage: dest_target [--log-per-record] "
                  "[--stderr-per-record] [--swap-numbers] [--dest-stats] "
                  "[--exit N]\n");
  exit(2);
}

int main(int argc, char **argv)
{
  int log_records = 0, err_records = 0, swap = 0, stats = 0, exit_code = -1;
  unsigned long long records = 0, since = 0;
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;

  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--log-per-record") == 0)
      log_records = 1;
    else if (strcmp(argv[i], "--stderr-per-record") == 0)
      err_records = 1;
    else if (strcmp(argv[i], "--swap-numbers") == 0)
      swap = 1;
    else if (strcmp(argv[i], "--dest-stats") == 0)
      stats = 1;
    else if (strcmp(argv[i], "--exit") == 0 && i + 1 < argc)
      exit_code = (int)strtol(argv[++i], NULL, 10);
    else
      usage();
  }
  signal(SIGPIPE, SIG_IGN);
  while ((n = getline(&line, &cap, stdin)) > 0) {
    json_error_t jerr;
    json_t *m, *echo;
    const char *type;

    if (strstr(line, "\"type\":\"RECORD\"")) {
      records++;
      since++;
      if (log_records)
        printf("{\"type\":\"LOG\",\"log\":{\"level\":\"INFO\",\"message\":"
               "\"wrote record %llu\"}}\n",
               records);
      if (err_records)
        fprintf(stderr, "dest_target: wrote record %llu\n", records);
      continue;
    }
    m = json_loadb(line, (size_t)n, 0, &jerr);
    type = json_string_value(json_object_get(m, "type"));
    if (!type || strcmp(type, "STATE") != 0) {
      json_decref(m);
      continue;
    }
    if (exit_code >= 0) {
      fprintf(stderr, "dest_target: cannot write batch: quota exceeded\n");
      json_decref(m);
      free(line);
      return exit_code;
    }
    echo = json_object_get(m, "value");
    echo = json_incref(echo ? echo : m);
    if (swap) {
      json_t *s = swapped(echo);

      json_decref(echo);
      echo = s;
    }
    if (stats && json_is_object(json_object_get(echo, "state")))
      json_object_set_new(json_object_get(echo, "state"), "destinationStats",
                          json_pack("{s:f}", "recordCount", (double)since));
    since = 0;
    if (echo) {
      char *text = json_dumps(echo, swap ? JSON_ENCODE_ANY
                                         : JSON_ENCODE_ANY | JSON_COMPACT);

      if (text)
        printf("%s\n", text);
      free(text);
    }
    fflush(stdout);
    json_decref(echo);
    json_decref(m);
  }
  free(line);
  return 0;
}
