# daemon.sh - integ daemon: isolation (a plugin that segfaults, one that
# hangs past max_runtime, one that is fine, on every: 1s/2s schedules),
# status, run-now, SIGHUP with a good and a broken manifest, systemd
# notifications, a second daemon refused, SIGTERM.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon_lib.sh"
command -v python3 >/dev/null || skip_all "python3 is needed (notify socket, JSON)"
plan 33
tmpdir
SOCK=$TMP/ctl.sock
LOG=$TMP/daemon.log
notify_listen "$TMP/notify.log" || { not_ok "notify socket"; exit 1; }

# manifest FILE EXTRA: the isolation manifest, EXTRA appended.
manifest() {
  cat >"$1" <<EOT
integ: 1
plugin_path: ["$TEST_PLUGIN_DIR"]
store: "$TMP/store.db"
output: {format: jsonl, to: "file:$TMP/{connector}.jsonl"}
daemon: {control_socket: "$SOCK", lock_dir: "$TMP/locks", stop_grace: 1s}
connectors:
  fine:
    plugin: gen
    config: {records: 3}
    schedule: {every: 1s}
  crashy:
    plugin: crash
    schedule: {every: 1s}
  hung:
    plugin: hang
    config: {records: 1, delay_ms: 10, hang: true}
    max_runtime: 1s
    schedule: {every: 2s}
  slow:
    plugin: hang
    config: {records: 30, delay_ms: 100}
    schedule: {every: 1h}
  jittery:
    plugin: gen
    config: {records: 1}
    schedule: {every: 3s, jitter: 0.9}
$2
EOT
}
manifest "$TMP/integ.yaml" ""

start_daemon "$TMP/integ.yaml" "$LOG" || { not_ok "the daemon starts"; cat "$LOG"; exit 1; }
ok "the daemon starts"
wait_for "$TMP/notify.log" '^READY=1' 5
like "$(cat "$TMP/notify.log")" '^READY=1' "systemd hears READY=1"
like "$(cat "$TMP/notify.log")" 'STATUS=5 scheduled connectors' "... and a STATUS= line"

# A second daemon on the same store and socket refuses, naming the first.
run "$INTEG" -c "$TMP/integ.yaml" daemon
is "$RC" 1 "a second daemon exits 1"
like "$ERR" "another daemon.*pid $DPID" "... naming the first one's pid"

sleep 7
# The fine connector's runs start close to their fire times (generous).
late=$(grep '\[fine\] started run for' "$LOG" |
  sed -n 's/.*, \([0-9]*\) ms after its fire time.*/\1/p' |
  awk '$1 > 2000' | wc -l)
n=$(count "$LOG" '\[fine\] started run for')
[ "$n" -ge 3 ] && ok "fine ran $n times in 7 s beside the crash and the hang" ||
  not_ok "fine ran only $n times in 7 s"
is "$late" 0 "each run of fine started within 2 s of its fire time"
# The daemon starts jittery when `integ schedule --jitter-for jittery` says.
jit=$(grep '\[jittery\] started run for' "$LOG" | head -1 |
  sed -n 's/.*started run for \([^ ]*\) (pid [0-9]*, \([0-9]*\) ms after.*/\1 \2/p')
set -- $jit
want=$("$INTEG" schedule "every 3s" --count 1 --tz UTC --jitter-for jittery \
  --jitter 0.9 --from "$(python3 -c 'import sys,datetime; print((datetime.datetime.fromisoformat(sys.argv[1]) - datetime.timedelta(seconds=1)).isoformat())' "$1")")
delay=$(python3 -c 'import sys,datetime; print(int((datetime.datetime.fromisoformat(sys.argv[2]) - datetime.datetime.fromisoformat(sys.argv[1])).total_seconds() * 1000))' "$1" "$want")
[ -n "$2" ] && [ "$2" -ge "$delay" ] && [ "$2" -lt $((delay + 2000)) ] &&
  ok "jittery starts at its fire time plus the jitter integ schedule gives ($delay ms; started after $2 ms)" ||
  not_ok "jittery starts at its fire time plus the jitter integ schedule gives (want $delay ms after ${1:-?}, got ${2:-none})"
like "$(grep '\[crashy\].*ended' "$LOG" | head -1)" 'SIGSEGV|exit status [1-9]' \
  "the crash's exit (signal or status) is logged"
like "$(cat "$LOG")" '\[hung\] run \(pid [0-9]*\) passed max_runtime' "max_runtime sends SIGTERM"
like "$(cat "$LOG")" '\[hung\] .*SIGKILL' "... then SIGKILL after the grace period"
like "$(cat "$LOG")" '\[crashy\] [0-9]+ consecutive failures: backing off' "failures back off"

run "$INTEG" -c "$TMP/integ.yaml" status
is "$RC" 1 "status exits 1 while a connector's last run failed"
like "$OUT" "daemon running \\(pid $DPID\\)" "status sees the daemon"
run "$INTEG" -c "$TMP/integ.yaml" status crashy
like "$OUT" '  error: .*(SIGSEGV|exit status [1-9])' "status shows the crash"
run "$INTEG" -c "$TMP/integ.yaml" status hung
like "$OUT" '  error: .*SIG(KILL|TERM)' "status shows the hang killed"
run "$INTEG" -c "$TMP/integ.yaml" status --json fine
is "$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin)["connectors"][0]; print(d["last_run"]["result"], d["consecutive_failures"])')" \
  "ok 0" "status --json fine: last run ok, no failures"
is "$RC" 0 "status of fine alone exits 0"

# run-now: starts at once, status shows it running, a second is refused.
run "$INTEG" -c "$TMP/integ.yaml" run-now slow
is "$RC" 0 "run-now exits 0"
run "$INTEG" -c "$TMP/integ.yaml" status slow
like "$OUT" 'running now \(pid [0-9]+\)' "status then shows it running"
run "$INTEG" -c "$TMP/integ.yaml" run-now slow
is "$RC" 1 "run-now of a running connector exits 1"
like "$ERR" 'running already \(pid [0-9]+\)' "... saying it runs, with its pid"
run "$INTEG" -c "$TMP/integ.yaml" run-now nosuch
is "$RC" 2 "run-now of an unknown connector exits 2"
[ "$(stat -c %a "$SOCK")" = 600 ] && ok "the control socket is mode 0600" ||
  not_ok "the control socket is mode $(stat -c %a "$SOCK")"

# SIGHUP with a broken manifest: rejected, logged, the old one kept.
cp "$TMP/integ.yaml" "$TMP/good.yaml"
manifest "$TMP/integ.yaml" "  broken:
    plugin: gen
    schedule: {cron: \"5 61 * * *\"}"
kill -HUP "$DPID"
wait_for "$LOG" 'keeping the running configuration' 5 &&
  ok "a broken manifest on SIGHUP is rejected" || not_ok "a broken manifest on SIGHUP is rejected"
like "$(cat "$LOG")" 'integ\.yaml:[0-9]+:[0-9]+: connectors\.broken\.schedule\.cron: hour field' \
  "... its error logged at file:line:column"
before=$(count "$LOG" '\[fine\] started run for')
sleep 2
after=$(count "$LOG" '\[fine\] started run for')
[ "$after" -gt "$before" ] && ok "... and the old configuration keeps running" ||
  not_ok "fine did not run after the broken reload"

# SIGHUP with a good one: crashy removed, added added, the rest untouched.
manifest "$TMP/integ.yaml" "  added:
    plugin: gen
    config: {records: 2}
    schedule: {every: 1s}"
sed -i '/^  crashy:/,/^    schedule/d' "$TMP/integ.yaml"
: >"$TMP/notify.log"
kill -HUP "$DPID"
wait_for "$LOG" 'reloaded .*: 5 scheduled connectors' 5 &&
  ok "a good manifest on SIGHUP is loaded" || not_ok "a good manifest on SIGHUP is loaded"
wait_for "$LOG" '\[added\] started run for' 4 &&
  ok "... an added connector runs" || not_ok "... an added connector runs"
mark=$(grep -n 'reloaded ' "$LOG" | tail -1 | cut -d: -f1)
sleep 2
is "$(tail -n +"$mark" "$LOG" | grep -c '\[crashy\] started')" 0 "... a removed one no longer does"
like "$(cat "$TMP/notify.log")" 'RELOADING=1' "systemd hears RELOADING=1, then READY=1"

kill -TERM "$DPID"
wait "$DPID"
is "$?" 0 "SIGTERM stops the daemon with exit 0"
like "$(cat "$TMP/notify.log")" 'STOPPING=1' "systemd hears STOPPING=1"
