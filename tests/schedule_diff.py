#!/usr/bin/env python3
"""schedule_diff.py - compare integ's schedules with python3-croniter.

Usage: schedule_diff.py SCHEDULE_BATCH [CASES] [SEED]

Generates CASES (default 550) random five-field cron expressions and start
times, asks croniter and integ's schedule engine (through
tests/schedule_batch, which prints what `integ schedule` prints, for many
cases in one process) for the next 5 fire times each, and prints TAP.
Only expressions where croniter follows crontab(5) are generated:

- UTC only: croniter's DST handling differs from cronie's (it fires a
  skipped 02:30 at 03:30, skips the second pass of the repeated hour for
  wildcard jobs, and puts the fire after a fall-back day an hour late).
- No `*` (so no `*/N`) inside restricted day-of-month / day-of-week lists:
  croniter ORs the two day fields whenever neither is exactly `*`, while
  crontab(5) treats a field that starts with `*` (`*/2`) as unrestricted.
- No day list that covers its whole range (`1-31`, `0-6`, `mon-sun`):
  croniter turns those into `*`; crontab(5) keeps them restricted.
- No `N/S` (croniter reads 5/10 as 5-59/10; cronie refuses it).
"""

import datetime
import random
import subprocess
import sys

from croniter import croniter

MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()
DAYS = "sun mon tue wed thu fri sat".split()
UTC = datetime.timezone.utc
NEXT = 5


def value(rng, lo, hi, names):
    v = rng.randint(lo, hi)
    if names and rng.random() < 0.3:
        return v, names[v - lo] if v - lo < len(names) else str(v)
    return v, str(v)


def item(rng, lo, hi, names, allow_star_step):
    """One list item and the values it selects."""
    r = rng.random()
    if allow_star_step and r < 0.15:
        step = rng.randint(1, hi - lo + 1)
        return "*/%d" % step, set(range(lo, hi + 1, step))
    a, at = value(rng, lo, hi, names)
    if r < 0.5:
        return at, {a}
    b = rng.randint(a, hi)
    named = names and b - lo < len(names) and rng.random() < 0.3
    bt = names[b - lo] if named else str(b)
    if r < 0.8:
        return "%s-%s" % (at, bt), set(range(a, b + 1))
    step = rng.randint(1, hi - lo + 1)
    return "%s-%s/%d" % (at, bt, step), set(range(a, b + 1, step))


def field(rng, lo, hi, names=None, day=False):
    if rng.random() < 0.35:
        return "*", None
    items = [item(rng, lo, hi, names, not day)
             for _ in range(rng.randint(1, 3))]
    return ",".join(t for t, _ in items), set().union(*(s for _, s in items))


def expression(rng):
    while True:
        mi, _ = field(rng, 0, 59)
        hr, _ = field(rng, 0, 23)
        dom, dom_set = field(rng, 1, 31, day=True)
        mon, _ = field(rng, 1, 12, MONTHS)
        dow, dow_set = field(rng, 0, 7, DAYS, day=True)
        if dow_set is not None:
            dow_set = {d % 7 for d in dow_set}
        # Whole-range day lists: croniter makes them `*` (see above).
        if dom_set is not None and len(dom_set) == 31:
            continue
        if dow_set is not None and len(dow_set) == 7:
            continue
        return " ".join([mi, hr, dom, mon, dow])


def main():
    batch = sys.argv[1]
    cases = int(sys.argv[2]) if len(sys.argv) > 2 else 550
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20261125
    rng = random.Random(seed)
    base = datetime.datetime(1990, 1, 1, tzinfo=UTC)
    jobs = []
    skipped = 0
    for _ in range(cases):
        expr = expression(rng)
        start = base + datetime.timedelta(
            seconds=rng.randint(0, 60 * 365 * 86400))
        try:
            it = croniter(expr, start)
            want = [it.get_next(datetime.datetime).isoformat()
                    for _ in range(NEXT)]
        except Exception:  # croniter gave up (never fires, or too sparse)
            skipped += 1
            continue
        jobs.append((expr, start, want))

    feed = "".join("%s\t%s\n" % (start.isoformat(), expr)
                   for expr, start, _ in jobs)
    proc = subprocess.run([batch, "UTC", str(NEXT)], input=feed,
                          capture_output=True, text=True)
    lines = proc.stdout.splitlines()
    failures = []
    if proc.returncode != 0 or len(lines) != len(jobs):
        failures.append("schedule_batch failed (exit %d, %d of %d lines): %s"
                        % (proc.returncode, len(lines), len(jobs),
                           proc.stderr.strip()))
    for (expr, start, want), line in zip(jobs, lines):
        if line.split() != want:
            failures.append("%r from %s\n  croniter: %s\n  integ:    %s"
                            % (expr, start.isoformat(), " ".join(want),
                               line))
    compared = len(jobs)
    print("1..2")
    print("%s 1 - compared %d random expressions with croniter "
          "(seed %d, %d skipped by croniter)"
          % ("ok" if compared >= 500 else "not ok", compared, seed, skipped))
    print("%s 2 - integ and croniter agree on every fire time"
          % ("not ok" if failures else "ok"))
    for f in failures[:20]:
        for line in f.splitlines():
            print("# " + line)
    if failures:
        print("# %d of %d cases differ" % (len(failures), compared))
    return 0


if __name__ == "__main__":
    sys.exit(main())
