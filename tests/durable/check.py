#!/usr/bin/env python3
"""check.py - the kill test's judge (tests/kill.sh).

  check.py expect URL FILE       write every (id, updated_at) the API has
  check.py snaps EXPECT OUT LIST  for each line "SIZE START STATEFILE" of
                                 LIST (taken after a kill): every record
                                 the committed state (`integ state show`
                                 output, may be empty) claims synced is in
                                 bytes START..SIZE of OUT
  check.py final EXPECT OUT OFF  every record is in OUT from byte OFF on

OUT files hold Singer messages (or bare RECORD lines). A line cut short by
a kill is counted as torn and skipped. Prints one line; exit 1 on failure.
"""
import json
import sys
import urllib.request


def expect(url, path):
    rows, cursor = [], None
    while True:
        q = url + "/items?limit=1000" + ("&cursor=" + cursor if cursor else "")
        with urllib.request.urlopen(q) as r:
            page = json.load(r)
        rows += [[d["id"], d["updated_at"]] for d in page["data"]]
        if not page.get("has_more"):
            break
        cursor = page["next_cursor"]
    json.dump(rows, open(path, "w"))
    print(len(rows))


def read_ids(path, offset):
    ids, torn, lines = set(), 0, 0
    with open(path, "rb") as f:
        f.seek(offset)
        for raw in f:
            lines += 1
            try:
                m = json.loads(raw)
            except ValueError:
                torn += 1
                continue
            if m.get("type") == "RECORD":
                ids.add(m["record"]["id"])
    return ids, torn, lines


def claims(rows, text):
    """The records a committed state (text of `integ state show`) says are
    synced, or None when nothing is committed yet."""
    value = json.loads(text).get("items") if text.strip() else None
    if not value:
        return None, None
    # The host's cursor-boundary helper: {"cursor": T, "keys": [[id]...]}.
    at, at_ids = value["cursor"], set(k[0] for k in value["keys"])
    return at, [i for i, u in rows if u < at or (u == at and i in at_ids)]


def snaps(exp, out, listing):
    """Each line of listing: SIZE START STATEFILE, taken after a kill.
    Bytes START..SIZE of out (START: where the round began, after the
    state was last cleared) must hold every record the state claims."""
    rows = json.load(open(exp))
    data = open(out, "rb").read()
    # The output only grows: parse it once, taking snapshots by size.
    snapshots = sorted((int(l.split()[0]), int(l.split()[1]), l.split()[2])
                       for l in open(listing) if l.strip())
    checked, states, bad, ids, pos, begun = 0, set(), [], set(), 0, 0
    for size, start, st in snapshots:
        if start != begun:
            ids, pos, begun = set(), start, start
        while True:
            nl = data.find(b"\n", pos, size)
            if nl < 0:
                break
            try:
                m = json.loads(data[pos:nl])
                if m.get("type") == "RECORD":
                    ids.add(m["record"]["id"])
            except ValueError:
                pass
            pos = nl + 1
        at, claimed = claims(rows, open(st).read())
        if claimed is None:
            continue
        states.add(at)
        missing = [i for i in claimed if i not in ids]
        checked += 1
        if missing:
            bad.append("after kill %s the state %s claims %d records, %d "
                       "missing from the output (first %s)"
                       % (st, at, len(claimed), len(missing), missing[:5]))
    for b in bad:
        print(b)
    print("%d committed states checked, %d distinct, %d bad"
          % (checked, len(states), len(bad)))
    return 1 if bad else 0


def final(exp, out, offset):
    rows = json.load(open(exp))
    ids, torn, lines = read_ids(out, int(offset))
    missing = [i for i, _ in rows if i not in ids]
    if missing:
        print("%d of %d records missing, first %s"
              % (len(missing), len(rows), missing[:5]))
        return 1
    print("all %d records present in %d lines from byte %s (%d torn lines)"
          % (len(rows), lines, offset, torn))
    return 0


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "expect":
        expect(sys.argv[2], sys.argv[3])
        sys.exit(0)
    if cmd == "snaps":
        sys.exit(snaps(*sys.argv[2:5]))
    sys.exit(final(*sys.argv[2:5]))
