# daemon_metrics.sh - the daemon's /metrics: Prometheus text exposition,
# parsed strictly here and checked by `promtool check metrics` when
# promtool can be had (PROMTOOL=PATH, or extracted from Debian's
# prometheus package with apt-get download + dpkg-deb -x; the package is
# never installed, which would start a Prometheus server).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon_lib.sh"
command -v python3 >/dev/null || skip_all "python3 is needed (HTTP client, parser)"
plan 11
tmpdir
SOCK=$TMP/ctl.sock
LOG=$TMP/daemon.log
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

cat >"$TMP/integ.yaml" <<EOT
integ: 1
plugin_path: ["$TEST_PLUGIN_DIR"]
store: "$TMP/store.db"
output: {format: jsonl, to: "file:$TMP/{connector}.jsonl"}
daemon: {control_socket: "$SOCK", lock_dir: "$TMP/locks"}
metrics: {listen: "127.0.0.1:$PORT"}
connectors:
  fine:
    plugin: gen
    config: {records: 5}
    schedule: {every: 1s}
  crashy:
    plugin: crash
    schedule: {every: 1s}
EOT
start_daemon "$TMP/integ.yaml" "$LOG" || { not_ok "the daemon starts"; cat "$LOG"; exit 1; }
ok "the daemon starts with metrics.listen"
# Until both have ended runs (fine at least twice), however loaded the
# machine is.
wait_for "$LOG" '\[crashy\] run .* ended' 40 || diag "crashy never ended a run:" "$(tail -5 "$LOG")"
for i in $(seq 400); do
  [ "$(count "$LOG" '\[fine\] run .* ended')" -ge 2 ] && break
  sleep 0.1
done
[ "$i" = 400 ] && diag "fine did not end two runs in 40 s:" "$(tail -5 "$LOG")"
python3 - "http://127.0.0.1:$PORT/metrics" "$TMP/metrics.txt" "$TMP/ctype" <<'PY'
import sys, urllib.request
r = urllib.request.urlopen(sys.argv[1], timeout=5)
open(sys.argv[2], "wb").write(r.read())
open(sys.argv[3], "w").write(r.headers.get("Content-Type", ""))
PY
is "$?" 0 "GET /metrics answers"
like "$(cat "$TMP/ctype")" '^text/plain; version=0\.0\.4' "... as text/plain; version=0.0.4"

# A strict parser of the text format: HELP and TYPE before each family's
# samples, integ_ names, label syntax, numbers, cumulative histograms.
python3 - "$TMP/metrics.txt" >"$TMP/parse.out" 2>&1 <<'PY'
import re, sys
name_re = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
sample = re.compile(r'^(' + name_re + r')(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*)?\})? (\S+)$')
helps, types, values = {}, {}, {}
text = open(sys.argv[1]).read()
assert text.endswith("\n"), "the text ends with a newline"
for n, line in enumerate(text.split("\n")[:-1], 1):
    if line.startswith("# HELP "):
        f, h = line[7:].split(" ", 1)
        assert f not in helps, f"line {n}: a second HELP for {f}"
        helps[f] = h
    elif line.startswith("# TYPE "):
        f, t = line[7:].split(" ")
        assert t in ("counter", "gauge", "histogram", "summary", "untyped"), f"line {n}: type {t}"
        assert f in helps, f"line {n}: TYPE before HELP for {f}"
        types[f] = t
    else:
        m = sample.match(line)
        assert m, f"line {n}: not a sample: {line!r}"
        name, labels, v = m.group(1), m.group(2) or "", m.group(3)
        float(v)
        fam = re.sub(r'_(bucket|sum|count)$', '', name) if name not in types else name
        assert fam in types, f"line {n}: {name} has no TYPE line before it"
        assert name.startswith("integ_"), f"line {n}: {name} lacks the integ_ prefix"
        if types[fam] == "counter":
            assert name.endswith("_total"), f"line {n}: counter {name} not _total"
        values.setdefault(name, []).append((labels, float(v)))
for f in ("integ_runs_total", "integ_run_failures_total", "integ_records_total",
          "integ_http_requests_total", "integ_http_retries_total",
          "integ_rate_limit_waits_total", "integ_token_refreshes_total"):
    assert types.get(f) == "counter", f"{f} is a counter"
assert types.get("integ_run_duration_seconds") == "histogram"
# Buckets cumulative, +Inf equal to _count, per connector.
by = {}
for labels, v in values["integ_run_duration_seconds_bucket"]:
    c = re.search(r'connector="([^"]*)"', labels).group(1)
    by.setdefault(c, []).append(v)
counts = {re.search(r'connector="([^"]*)"', l).group(1): v
          for l, v in values["integ_run_duration_seconds_count"]}
for c, vs in by.items():
    assert vs == sorted(vs), f"{c}: buckets are not cumulative"
    assert vs[-1] == counts[c], f"{c}: +Inf bucket != count"
runs = {re.search(r'connector="([^"]*)"', l).group(1): v for l, v in values["integ_runs_total"]}
fails = {re.search(r'connector="([^"]*)"', l).group(1): v for l, v in values["integ_run_failures_total"]}
assert runs.get("fine", 0) >= 1, f"fine ran {runs.get('fine')}"
assert fails.get("fine", 1) == 0, "fine has no failures"
assert fails.get("crashy", 0) >= 1, "crashy's failures are counted"
print("ok", runs, fails)
PY
is "$?" 0 "the exposition parses strictly (HELP/TYPE, integ_ names, histogram)"
diag "$(cat "$TMP/parse.out")"
like "$(cat "$TMP/metrics.txt")" '^integ_records_total\{connector="fine"\} [1-9]' "records are counted"

# promtool, when it can be had.
promtool=${PROMTOOL:-}
if [ -z "$promtool" ]; then
  cache=$abs_top_builddir/tests/promtool
  if [ ! -x "$cache/usr/bin/promtool" ] && command -v apt-get >/dev/null &&
     command -v dpkg-deb >/dev/null; then
    mkdir -p "$cache" &&
      (cd "$cache" && timeout 120 apt-get download prometheus >/dev/null 2>&1 &&
       dpkg-deb -x prometheus_*.deb . && rm -f prometheus_*.deb)
  fi
  [ -x "$cache/usr/bin/promtool" ] && promtool=$cache/usr/bin/promtool
fi
if [ -n "$promtool" ]; then
  run "$promtool" check metrics <"$TMP/metrics.txt"
  is "$RC" 0 "promtool check metrics accepts /metrics"
  [ -z "$OUT$ERR" ] && ok "... without a lint warning" ||
    { not_ok "... without a lint warning"; diag "$OUT" "$ERR"; }
else
  ok "# SKIP promtool not available (apt-get download prometheus failed; set PROMTOOL)"
  ok "# SKIP promtool not available"
fi

kill -TERM "$DPID"
wait "$DPID"
sed -i "s/127.0.0.1:$PORT/nowhere:1/" "$TMP/integ.yaml"
run "$INTEG" -c "$TMP/integ.yaml" daemon
like "$RC:$ERR" '^2:.*metrics\.listen' "a bad metrics.listen exits 2, naming the key"

# Logs: sd-daemon priority prefixes when JOURNAL_STREAM is stderr, JSON.
sed -i "s/nowhere:1/127.0.0.1:$PORT/" "$TMP/integ.yaml"
: >"$TMP/j.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$TMP/j.log") "$INTEG" -c "$TMP/integ.yaml" daemon 2>>"$TMP/j.log" &
JP=$!
wait_for "$TMP/j.log" 'started \(pid' 5
kill -TERM "$JP"
wait "$JP"
like "$(grep 'started (pid' "$TMP/j.log")" '^<6>integ: info: started \(pid' \
  "stderr is the journal: lines carry sd-daemon <N> prefixes"
: >"$TMP/json.log"
"$INTEG" -c "$TMP/integ.yaml" daemon --log-format json 2>>"$TMP/json.log" &
JP=$!
wait_for "$TMP/json.log" 'started \(pid' 5
kill -TERM "$JP"
wait "$JP"
is "$(grep 'started (pid' "$TMP/json.log" | python3 -c 'import json,sys; d=json.loads(sys.stdin.readline()); print(d["level"], d["message"].split(" ")[0], type(d["time_ms"]).__name__)')" \
  "info started int" "--log-format json: one JSON object a line"
run env INTEG_LOG_FORMAT=json "$INTEG" -c "$TMP/integ.yaml" run nosuch
is "$(printf '%s\n' "$ERR" | python3 -c 'import json,sys; d=json.loads(sys.stdin.readline()); print(d["level"], "nosuch" in d["message"])')" \
  "error True" "integ run logs as INTEG_LOG_FORMAT says (the daemon sets it for its runs)"
