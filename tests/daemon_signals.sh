# daemon_signals.sh - stopping runs: `integ run` on SIGTERM (exit 3, the
# run "interrupted", the committed state matching the durable output), the
# per-connector lock, the daemon's SIGTERM during runs, and SIGKILL of the
# daemon mid-run then a restart (no second copy, a missed schedule once).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon_lib.sh"
command -v python3 >/dev/null || skip_all "python3 is needed (JSON)"
plan 25
tmpdir
SOCK=$TMP/ctl.sock
LOG=$TMP/daemon.log

# head_of FILE: the manifest's common part.
head_of() {
  cat >"$1" <<EOT
integ: 1
plugin_path: ["$TEST_PLUGIN_DIR"]
store: "$TMP/store.db"
output: {format: jsonl, to: "file:$TMP/{connector}.jsonl"}
daemon: {control_socket: "$SOCK", lock_dir: "$TMP/locks", stop_grace: 3s}
connectors:
EOT
}

# state_n CONNECTOR: the committed state's n, or 0.
state_n() {
  "$INTEG" -c "$TMP/integ.yaml" state show "$1" 2>/dev/null |
    python3 -c 'import json,sys
t=sys.stdin.read().strip()
print(json.loads(t)["slow"]["n"] if t else 0)' 2>/dev/null || echo 0
}
# max_id FILE: the highest id written, or 0.
max_id() {
  python3 -c 'import json,sys
ids=[json.loads(l)["id"] for l in open(sys.argv[1]) if l.strip()]
print(max(ids) if ids else 0)' "$1" 2>/dev/null || echo 0
}
# last_result CONNECTOR: the status of its newest run.
last_result() {
  "$INTEG" -c "$TMP/integ.yaml" status --json "$1" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["connectors"][0]["last_run"]["result"])'
}

# ---- integ run stops on SIGTERM
head_of "$TMP/integ.yaml"
cat >>"$TMP/integ.yaml" <<EOT
  slow:
    plugin: hang
    config: {records: 200, delay_ms: 20, state_every: 1}
EOT
"$INTEG" -c "$TMP/integ.yaml" run slow 2>"$TMP/run.err" &
RP=$!
sleep 1.5
run "$INTEG" -c "$TMP/integ.yaml" run slow
is "$RC" 1 "a second integ run of a running connector exits 1"
like "$ERR" "slow is running already: pid $RP holds" "... naming the pid that runs it"
kill -TERM "$RP"
wait "$RP"
is "$?" 3 "integ run stopped by SIGTERM exits 3"
is "$(last_result slow)" interrupted "the run is recorded as interrupted"
n=$(state_n slow) m=$(max_id "$TMP/slow.jsonl")
[ "$n" -gt 0 ] && [ "$n" -lt 200 ] && ok "it stopped part-way (state $n of 200)" ||
  not_ok "it stopped part-way (state $n of 200)"
is "$n" "$m" "the committed state is the last record in the durable output"

# ---- a run killed with SIGKILL shows as died, not running
"$INTEG" -c "$TMP/integ.yaml" run slow 2>/dev/null &
RP=$!
sleep 1
kill -KILL "$RP"
wait "$RP" 2>/dev/null
is "$(last_result slow)" died "a run whose process was killed shows as died"

# ---- the daemon's SIGTERM during runs
head_of "$TMP/integ.yaml"
cat >>"$TMP/integ.yaml" <<EOT
  slow:
    plugin: hang
    config: {records: 100000, delay_ms: 20, state_every: 1}
    schedule: {every: 1s}
EOT
rm -f "$TMP/slow.jsonl"
"$INTEG" -c "$TMP/integ.yaml" state clear slow >/dev/null 2>&1
start_daemon "$TMP/integ.yaml" "$LOG" || { not_ok "the daemon starts"; cat "$LOG"; exit 1; }
wait_for "$LOG" '\[slow\] started run' 5
sleep 1.5
kill -TERM "$DPID"
wait "$DPID"
is "$?" 0 "the daemon stops on SIGTERM during a run (exit 0)"
like "$(cat "$LOG")" '\[slow\] run \(pid [0-9]+\) ended after .*: exit status 3, interrupted' \
  "the child stopped at a consistent point (exit 3, interrupted)"
is "$(last_result slow)" interrupted "its run is recorded as interrupted"
n=$(state_n slow) m=$(max_id "$TMP/slow.jsonl")
[ "$n" -gt 0 ] && ok "states were committed ($n)" || not_ok "no state was committed"
is "$n" "$m" "the committed state matches the durable output"

# ---- SIGKILL of the daemon mid-run, then a restart
head_of "$TMP/integ.yaml"
cat >>"$TMP/integ.yaml" <<EOT
  stuck:
    plugin: hang
    config: {records: 0, hang: true}
    schedule: {every: 1s}
  tick:
    plugin: gen
    config: {records: 1}
    schedule: {every: 4s}
EOT
: >"$LOG"
start_daemon "$TMP/integ.yaml" "$LOG" || { not_ok "the daemon starts"; cat "$LOG"; exit 1; }
wait_for "$LOG" '\[tick\] .*ended' 6
wait_for "$LOG" '\[stuck\] started run' 3
# Past its load: from there it hangs without calling the host, so the
# SIGTERM its parent's death sends is never seen (a record still being
# written would see it, and end the run: a loaded machine's race).
sleep 0.5
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
stuck=$(cat "$TMP/locks/stuck.lock" 2>/dev/null)
# The hung child ignores its SIGTERM (parent death): it still runs.
kill -0 "$stuck" 2>/dev/null && ok "the hung child outlives the killed daemon (pid $stuck)" ||
  not_ok "the hung child outlives the killed daemon"
_cleanup_pids="$_cleanup_pids $stuck"
sleep 9
: >"$LOG"
start_daemon "$TMP/integ.yaml" "$LOG" || { not_ok "the daemon restarts"; cat "$LOG"; exit 1; }
ok "the daemon restarts"
sleep 1.2
is "$(count "$LOG" '\[tick\] started run')" 1 "the missed schedule runs once at start"
like "$(cat "$LOG")" '\[tick\] missed [2-9] fire times while the daemon was down' \
  "... saying how many fire times it missed"
sleep 1.5
is "$(count "$LOG" '\[stuck\] started run')" 0 "no second copy of the still-running connector starts"
like "$(cat "$LOG")" "\\[stuck\\] skipped .*running in pid $stuck" "... the skip names the pid"
kill -TERM "$DPID"
wait "$DPID"
kill -KILL "$stuck" 2>/dev/null
run "$INTEG" -c "$TMP/integ.yaml" status tick
like "$OUT" 'result: ok' "the store is consistent: tick's last run is ok"

# ---- command: outputs commit a state as soon as its echo arrives
head_of "$TMP/integ.yaml"
cat >>"$TMP/integ.yaml" <<EOT
  echoed:
    plugin: hang
    config: {records: 8, delay_ms: 400, state_every: 1}
    output: {format: singer, to: "command:$abs_top_builddir/tests/targets/echo_target $TMP/echoed.jsonl", checkpoint_records: 1}
EOT
"$INTEG" -c "$TMP/integ.yaml" run echoed 2>"$TMP/echoed.err" &
RP=$!
sleep 1.5
# Compare between two records (400 ms apart): the target's count is the
# same before and after the state is read.
for i in 1 2 3 4 5 6 7 8; do
  got=$(grep -c RECORD "$TMP/echoed.jsonl" 2>/dev/null)
  sleep 0.15
  n=$("$INTEG" -c "$TMP/integ.yaml" state show echoed 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["slow"]["n"])' 2>/dev/null)
  [ "$got" = "$(grep -c RECORD "$TMP/echoed.jsonl" 2>/dev/null)" ] && [ "$got" -gt 0 ] && break
done
kill -TERM "$RP"
wait "$RP"
is "${n:-none}" "$got" "command: the committed state is the last record the target holds (no lag)"

# ---- a stop ends a rate-limit wait early
if start_testapi "$top_srcdir/tests/http/scenario.json"; then
  head_of "$TMP/integ.yaml"
  cat >>"$TMP/integ.yaml" <<EOT
  paced:
    plugin: httpprobe
    config: {"requests": [{"url": "$TESTAPI_URL/ok"}, {"url": "$TESTAPI_URL/ok"}]}
    rate_limit: {per_second: 0.05, burst: 1}
EOT
  "$INTEG" -c "$TMP/integ.yaml" run paced 2>"$TMP/paced.err" &
  RP=$!
  sleep 1.5
  t0=$(date +%s%N)
  kill -TERM "$RP"
  wait "$RP"
  rc=$? t1=$(date +%s%N)
  ms=$(((t1 - t0) / 1000000))
  is "$rc" 3 "SIGTERM during a 20 s rate-limit wait: exit 3"
  [ "$ms" -lt 2000 ] && ok "... the wait ended early ($ms ms after the signal)" ||
    not_ok "... the wait ended only $ms ms after the signal"
else
  not_ok "testapi starts"
  not_ok "testapi starts"
fi

# ---- two children share one upstream's rate-limit bucket (the store's)
if [ -n "${TESTAPI_URL:-}" ]; then
  curl -s -X POST "$TESTAPI_URL/_testapi/reset" >/dev/null
  head_of "$TMP/integ.yaml"
  for c in left right; do
    cat >>"$TMP/integ.yaml" <<EOT
  $c:
    plugin: httpprobe
    config: {"requests": [{"url": "$TESTAPI_URL/ok"}, {"url": "$TESTAPI_URL/ok"}, {"url": "$TESTAPI_URL/ok"}, {"url": "$TESTAPI_URL/ok"}]}
    rate_limit: {per_second: 4, burst: 1}
    schedule: {every: 1h}
EOT
  done
  : >"$LOG"
  start_daemon "$TMP/integ.yaml" "$LOG" || { not_ok "the daemon starts"; cat "$LOG"; exit 1; }
  "$INTEG" -c "$TMP/integ.yaml" run-now left >/dev/null
  "$INTEG" -c "$TMP/integ.yaml" run-now right >/dev/null
  for i in $(seq 100); do
    [ "$(count "$LOG" '\[(left|right)\] run .* ended')" -ge 2 ] && break
    sleep 0.1
  done
  kill -TERM "$DPID"
  wait "$DPID"
  span=$(curl -s "$TESTAPI_URL/_testapi/log" | python3 -c '
import json, sys
t = sorted(r["time_ms"] for r in json.load(sys.stdin)["requests"] if r["path"] == "/ok")
print(len(t), t[-1] - t[0] if t else 0)')
  # 8 requests at 4/s shared: at least 7 gaps of 250 ms (50 ms slack
  # each); each child alone would take only 3 gaps.
  set -- $span
  [ "$1" = 8 ] && [ "$2" -ge 1400 ] &&
    ok "two children share the upstream's bucket (8 requests over $2 ms)" ||
    not_ok "two children share the upstream's bucket ($1 requests over $2 ms)"
else
  not_ok "testapi starts"
fi

# ---- status: a connector whose next fire is long past is late (exit 1)
head_of "$TMP/integ.yaml"
cat >>"$TMP/integ.yaml" <<EOT
  lagging:
    plugin: gen
    config: {records: 1}
    schedule: {every: 1m}
EOT
"$INTEG" -c "$TMP/integ.yaml" run --fire-time "$((($(date +%s) - 3600) * 1000))" lagging 2>/dev/null
run "$INTEG" -c "$TMP/integ.yaml" status lagging
is "$RC" 1 "status exits 1 for a connector that is late"
like "$OUT" 'late: the fire after its last run is past' "... and says it is late"
