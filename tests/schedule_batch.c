/* schedule_batch.c - the schedule engine over many cases in one process,
 * for tests/schedule_diff.py (one `integ schedule` per case would spend
 * its time starting processes, more so under sanitizers).
 *
 * Usage: schedule_batch ZONE COUNT < cases
 * Each input line is "FROM<TAB>EXPR" (FROM in RFC 3339); each output line
 * is the next COUNT fire times after FROM separated by spaces, as
 * `integ schedule` prints them, or "ERROR <message>". */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "schedule.h"

static void one(char *line, const char *zone, long count)
{
  struct integ_error err = {0, ""};
  struct schedule *s = NULL;
  char *tab = strchr(line, '\t');
  int64_t ms, t;

  if (!tab) {
    printf("ERROR no tab in input line\n");
    return;
  }
  *tab = '\0';
  if (clock_parse_rfc3339(line, strlen(line), &ms, &err) ||
      schedule_parse(tab + 1, zone, &s, NULL, &err)) {
    printf("ERROR %s\n", err.message);
    return;
  }
  t = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  for (long i = 0; i < count; i++) {
    char buf[48];

    if (schedule_next(s, t, &t, &err)) {
      printf("ERROR %s", err.message);
      break;
    }
    tz_format(t, schedule_zone(s), buf, sizeof buf);
    printf("%s%s", i ? " " : "", buf);
  }
  putchar('\n');
  schedule_free(s);
}

int main(int argc, char **argv)
{
  char line[4096];

  if (argc != 3) {
    fprintf(stderr, "usage: schedule_batch ZONE COUNT < cases\n");
    return 2;
  }
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = '\0';
    one(line, argv[1], strtol(argv[2], NULL, 10));
  }
  return ferror(stdout) || fflush(stdout) ? 1 : 0;
}
