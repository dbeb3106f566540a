# targets.sh - `output.to: command:...` into targets that behave as real
# ones do: `cat`, which echoes everything it reads; a destination that
# logs a line per record (on stdout, on stderr); one that re-serialises
# numbers (147 <-> 147.0); one that adds destinationStats; one that exits
# without echoing; one that stops reading and ignores SIGTERM. Each run
# goes through the gen plugin; `timeout` turns a hang into a failure.
. "$top_srcdir/tests/lib.sh"
command -v timeout >/dev/null || skip_all "timeout(1) is needed"
plan 33
tmpdir
DEST=$abs_top_builddir/tests/targets/dest_target
N=${TARGET_RECORDS:-100000}

# manifest FORMAT TO [RECORDS]: connector g on the gen plugin.
manifest() {
  cat >"$TMP/integ.yaml" <<EOT
integ: 1
plugin_path: ["$TEST_PLUGIN_DIR"]
store: $TMP/integ.db
output: {format: $1, to: "$2", checkpoint_records: 1000}
connectors:
  g:
    plugin: gen
    config: {records: ${3:-$N}, state_every: 1000}
EOT
  rm -f "$TMP/integ.db" "$TMP/integ.db-wal" "$TMP/integ.db-shm"
}
state() { "$INTEG" -c "$TMP/integ.yaml" state show g gen 2>&1 | tr -d ' \n'; }
# go LIMIT [INTEG ARGS]: run connector g, at most LIMIT seconds; sets
# $RC, $ERR and $SECS.
go() {
  limit=$1
  shift
  t0=$(date +%s%N)
  timeout -s KILL "$limit" "$INTEG" "$@" -c "$TMP/integ.yaml" run g \
    >"$TMP/out" 2>"$TMP/err"
  RC=$?
  SECS=$((($(date +%s%N) - t0) / 1000000))
  SECS=$(awk -v ms="$SECS" 'BEGIN { printf "%.2f", ms / 1000 }')
  ERR=$(cat "$TMP/err")
}

# --- cat: every message comes back, states among them
for fmt in airbyte singer; do
  manifest $fmt "command:cat"
  go 120 -q
  is "$RC" 0 "$fmt into cat, $N records: exit 0 (no deadlock; ${SECS} s)"
  is "$(state)" "{\"n\":$N}" "$fmt into cat: the last state is committed"
done

# --- a destination that logs a LOG line per record on stdout
manifest airbyte "command:$DEST --log-per-record"
go 120 -q
is "$RC" 0 "a LOG line per record on stdout, $N records: exit 0 (${SECS} s)"
is "$(state)" "{\"n\":$N}" "a LOG line per record: the last state is committed"
manifest airbyte "command:$DEST --log-per-record" 3000
go 60 -vv
is "$(grep -c 'target said: {"type":"LOG"' "$TMP/err")" 100 \
  "its LOG lines go to the debug log, the first 100 only"
like "$ERR" "target said more than 100 lines: the rest are not logged" \
  "the debug log says the rest are not logged"

# --- ... and a line per record on stderr
manifest singer "command:$DEST --stderr-per-record" 20000
go 120 -q
is "$RC" 0 "a line per record on stderr, 20000 records: exit 0 (${SECS} s)"
is "$(state)" '{"n":20000}' "a line per record on stderr: the state is committed"
manifest singer "command:$DEST --stderr-per-record" 3
go 60
like "$ERR" "warn: \[g\] target: dest_target: wrote record 3" \
  "the target's stderr lines go to the log (warn: shown unless -q)"

# --- numbers re-serialised: 147 -> 147.0 and 147.0 -> 147, with spaces
for fmt in singer airbyte; do
  manifest $fmt "command:$DEST --swap-numbers" 2500
  go 60 -v
  is "$RC" 0 "$fmt, a target that re-serialises numbers: exit 0"
  is "$(state)" '{"n":2500}' "$fmt, numbers re-serialised: the state is committed"
  like "$ERR" "2500 records, 3 states \(3 committed\)" \
    "$fmt, numbers re-serialised: every state echoed is committed"
done

# --- destinationStats added by the destination
manifest airbyte "command:$DEST --dest-stats" 2500
go 60
is "$RC" 0 "a destination that adds destinationStats: exit 0"
is "$(state)" '{"n":2500}' "destinationStats added: the state is committed"
manifest airbyte "command:$DEST --dest-stats --swap-numbers" 2500
go 60
is "$RC" 0 "destinationStats and numbers re-serialised: exit 0"
is "$(state)" '{"n":2500}' "destinationStats and numbers: the state is committed"

# --- a target that exits without echoing
manifest singer "command:$DEST --exit 3" 2500
go 60
is "$RC" 1 "a target that exits without echoing: exit 1"
like "$ERR" "target '.*dest_target --exit 3' (exited with status 3|stopped reading its input and exited with status 3)" \
  "it says the target exited, with its status"
like "$ERR" 'its last lines on stderr: "dest_target: cannot write batch: quota exceeded"' \
  "it quotes the target's last stderr line"
if [ "${SECS%.*}" -lt 30 ]; then
  ok "it says so at once (${SECS} s), not after the echo timeout"
else
  not_ok "it says so at once"
  diag "took ${SECS} s"
fi
like "$(state)" "nothingstored" "no state is committed"

# A target that echoes nothing and exits 0 at the end of its input.
manifest singer "command:cat >/dev/null" 10
go 60
is "$RC" 1 "a target that exits 0 without echoing: exit 1"
like "$ERR" "target 'cat >/dev/null' exited with status 0 without echoing the last state: it is not committed; it wrote nothing on stderr" \
  "it says the target exited without echoing"

# --- a target that stops reading and ignores SIGTERM
manifest singer "command:trap '' TERM; exec 0<&-; echo \$\$ >$TMP/pid; while :; do sleep 1; done" 2000
go 60
is "$RC" 1 "a target that stops reading and ignores SIGTERM: exit 1"
like "$ERR" "target '.*' stopped reading its input and is still running" \
  "it says the target stopped reading"
like "$ERR" "did not exit within 5000 ms of SIGTERM: killing it \(SIGKILL\)" \
  "it says it killed the target"
if [ "${SECS%.*}" -ge 5 ] && [ "${SECS%.*}" -lt 40 ]; then
  ok "integ waits 5 s after SIGTERM, then kills (${SECS} s)"
else
  not_ok "integ waits 5 s after SIGTERM, then kills"
  diag "took ${SECS} s"
fi
pid=$(cat "$TMP/pid" 2>/dev/null)
if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
  ok "the target is gone"
else
  not_ok "the target is gone"
  kill -9 "$pid" 2>/dev/null
fi
