# webhooks_kill.sh - a client sends a few thousand signed deliveries with
# distinct ids while the daemon is SIGKILLed and restarted three times;
# unanswered ones are sent again. Every delivery that got a 2xx is
# processed exactly once (one record in the output), its id is in the
# idempotency keys, and the queue drains.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon_lib.sh"
command -v python3 >/dev/null || skip_all "python3 is needed (checks)"
N=${WEBHOOK_KILL_N:-3000}
plan 7
tmpdir
SOCK=$TMP/ctl.sock
LOG=$TMP/daemon.log
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw

cat >"$TMP/integ.yaml" <<EOT
integ: 1
plugin_path: ["$TEST_PLUGIN_DIR"]
store: "$TMP/store.db"
output: {format: jsonl, to: "file:$TMP/{connector}.jsonl"}
daemon: {control_socket: "$SOCK", lock_dir: "$TMP/locks"}
webhooks: {listen: "127.0.0.1:$PORT"}
connectors:
  hooks:
    plugin: hookplug
    webhooks: {scheme: standard, secret: "$SECRET"}
EOT

start_daemon "$TMP/integ.yaml" "$LOG" || { not_ok "the daemon starts"; cat "$LOG"; exit 1; }
ok "the daemon starts"
"$abs_top_builddir/bench/webhook_load" "http://127.0.0.1:$PORT/hooks/hooks" \
  "$SECRET" "$N" 16 kill "$TMP/acked" >"$TMP/load.out" 2>&1 &
LOADPID=$!
kills=0
for k in 1 2 3; do
  # Let some deliveries in, then kill the daemon mid-stream.
  for i in $(seq 100); do
    [ "$(wc -l <"$TMP/acked" 2>/dev/null || echo 0)" -ge $((k * N / 5)) ] && break
    kill -0 "$LOADPID" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$LOADPID" 2>/dev/null || break
  kill -KILL "$DPID"
  wait "$DPID" 2>/dev/null
  kills=$((kills + 1))
  start_daemon "$TMP/integ.yaml" "$LOG" || { not_ok "the daemon restarts"; cat "$LOG"; exit 1; }
done
wait "$LOADPID"
RC=$?
diag "$(cat "$TMP/load.out")" "daemon SIGKILLed $kills times"
is "$RC" 0 "every delivery was answered in the end"
[ "$kills" -ge 2 ] && ok "the daemon was killed during the load ($kills times)" || not_ok "the daemon was killed during the load ($kills times)"

# Drain: the queue empties (processing children, restarted daemons).
for i in $(seq 300); do
  [ "$("$INTEG" -c "$TMP/integ.yaml" webhooks list 2>/dev/null | wc -l)" = 0 ] && break
  sleep 0.1
done
is "$("$INTEG" -c "$TMP/integ.yaml" webhooks list 2>&1 | wc -l)" 0 "the queue drains"
python3 - "$TMP/acked" "$TMP/hooks.jsonl" "$TMP/store.db" >"$TMP/check.out" 2>&1 <<'PY'
import collections, json, sqlite3, sys
acked = set(open(sys.argv[1]).read().split())
seen = collections.Counter()
for line in open(sys.argv[2]):
    seen[json.loads(line)["delivery_id"]] += 1
keys = {r[0] for r in sqlite3.connect(sys.argv[3]).execute(
    "select delivery_id from webhook_keys")}
lost = [i for i in acked if seen[i] == 0]
twice = [i for i, n in seen.items() if n > 1]
nokey = [i for i in acked if i not in keys]
print("acked %d processed %d lost %d twice %d without key %d"
      % (len(acked), len(seen), len(lost), len(twice), len(nokey)))
print("lost", lost[:5], "twice", twice[:5], "nokey", nokey[:5])
PY
diag "$(cat "$TMP/check.out")"
like "$(head -1 "$TMP/check.out")" "^acked $N processed $N lost 0" \
  "every acknowledged delivery was processed (none lost)"
like "$(head -1 "$TMP/check.out")" "twice 0 without key 0$" \
  "none was processed twice, every one's id is kept"
kill -TERM "$DPID"
wait "$DPID" 2>/dev/null
is "$?" 0 "the daemon stops on SIGTERM"
