# kill.sh - at-least-once under SIGKILL. `integ run` pulls 20,000 records
# from the test API (cursor pages, inclusive updated_after filter) and is
# killed at KILLS (20) random moments, restarting each time from the
# committed state, then runs to completion; once with output.to file:
# (fsync) and once with command: and a target that echoes states. Checked:
# the store opens after every kill; no committed state claims a record the
# output does not hold; the union of the outputs holds every record.
# KILL_SEED=N repeats a run's kill moments.
. "$top_srcdir/tests/lib.sh"
command -v python3 >/dev/null || skip_all "python3 is needed to check outputs"
plan 14
tmpdir
start_testapi "$top_srcdir/tests/durable/items.json" || {
  not_ok "testapi starts"
  exit 1
}
U=$TESTAPI_URL
KILLS=${KILLS:-20}
SEED=${KILL_SEED:-$$}
CHECK="python3 $top_srcdir/tests/durable/check.py"
TARGET=$abs_top_builddir/tests/targets/echo_target
diag "kill moments from KILL_SEED=$SEED"
$CHECK expect "$U" "$TMP/expect.json" >/dev/null ||
  { not_ok "the test API lists its records"; exit 1; }

# Commit often when the host lets the manifest say so; else its defaults
# (every 10,000 records or 5 s) still give a commit inside each run.
# With the defaults the one commit inside a run is halfway: kills spread
# over the whole run to land on both sides of it.
ckpt= spread=0.9
if "$INTEG" validate --man-keys 2>/dev/null | grep -q 'output\.checkpoint_records'; then
  ckpt=", checkpoint_records: 2000" spread=0.45
fi
diag "checkpoints: ${ckpt:-host defaults}"

# manifest NAME TO: a manifest with connector k on the pager plugin.
manifest() {
  cat >"$TMP/$1.yaml" <<EOT
integ: 1
plugin_path: ["$TEST_PLUGIN_DIR"]
store: $TMP/$1.db
output: {format: singer, to: "$2"$ckpt}
connectors:
  k:
    plugin: pager
    config: {base_url: "$U", path: /items, page_size: 250}
EOT
}

now_ms() { date +%s%3N; }

# calibrate TO: how long a whole run to a sink like TO takes here, to
# spread the kills over it. Sets $RUN_MS.
calibrate() {
  rm -f "$TMP/calib.db"* "$TMP/calib.jsonl"
  manifest calib "$1"
  t0=$(now_ms)
  "$INTEG" -c "$TMP/calib.yaml" run k >/dev/null 2>"$TMP/calib.err"
  RUN_MS=$(($(now_ms) - t0))
  diag "a whole run to ${1%%:*}: takes $RUN_MS ms"
  rm -f "$TMP/calib.jsonl"
}

# killrun NAME OUT: KILLS killed runs, then one to the end. A run that
# ends before its kill closes a round: its state is cleared, so the next
# run starts over and most kills land inside a sync. Sets $opened (state
# show worked after a kill), $killed, $rounds, $start (where the last round
# began in OUT), $final_rc; writes $TMP/NAME.snaps ("SIZE START STATEFILE"
# per kill).
killrun() {
  name=$1 out=$2
  opened=0 killed=0 rounds=1 start=0
  : >"$TMP/$name.snaps"
  i=1
  while [ "$i" -le "$KILLS" ]; do
    # Uniform over 5%..(5 + spread)% of a whole run.
    s=$(awk -v seed="$SEED" -v i="$i" -v t="$RUN_MS" -v w="$spread" \
      'BEGIN { srand(seed * 100 + i); printf "%.3f", (0.05 + w * rand()) * t / 1000 }')
    "$INTEG" -c "$TMP/$name.yaml" run k >/dev/null 2>>"$TMP/$name.err" &
    pid=$!
    sleep "$s"
    done=0
    if kill -KILL "$pid" 2>/dev/null; then
      killed=$((killed + 1))
      wait "$pid" 2>/dev/null
    elif wait "$pid"; then
      done=1
    else
      diag "run $i ended with exit $? before its kill"
    fi
    # Runs got faster than the first (a loaded machine calmed down, or
    # the run resumed late): aim earlier.
    if [ $done = 1 ]; then RUN_MS=$((RUN_MS * 3 / 4)); fi
    st=$TMP/$name.st$i
    "$INTEG" -c "$TMP/$name.yaml" state show k >"$st" 2>"$st.err"
    rc=$?
    if [ $rc = 0 ] || { [ $rc = 1 ] && grep -q 'nothing stored' "$st.err"; }; then
      opened=$((opened + 1))
    else
      diag "after kill $i: state show exit $rc: $(cat "$st.err")"
    fi
    echo "$(stat -c %s "$out" 2>/dev/null || echo 0) $start $st" >>"$TMP/$name.snaps"
    if [ $done = 1 ] && [ "$i" -le $((KILLS - 5)) ]; then
      # The round is complete: start over (not near the end, so the last
      # round, which the union is checked on, has kills in it).
      "$INTEG" -c "$TMP/$name.yaml" state clear k 2>>"$TMP/$name.err"
      start=$(stat -c %s "$out")
      rounds=$((rounds + 1))
    fi
    i=$((i + 1))
  done
  "$INTEG" -c "$TMP/$name.yaml" run k >/dev/null 2>>"$TMP/$name.err"
  final_rc=$?
}

# report NAME OUT WHAT
report() {
  is "$opened" "$KILLS" "$3: the store opens cleanly after each of $KILLS kills"
  if [ "$killed" -ge $((KILLS / 4)) ]; then
    ok "$3: $killed of $KILLS runs were killed before they ended"
  else
    not_ok "$3: at least a quarter of the runs were killed before they ended"
    diag "only $killed were (a whole run takes $RUN_MS ms)"
  fi
  r=$($CHECK snaps "$TMP/expect.json" "$2" "$TMP/$1.snaps")
  rc=$?
  is "$rc" 0 "$3: no committed state claims a record missing from the output"
  diag "$r"
  n=$(printf '%s\n' "$r" | sed -n 's/.* checked, \([0-9]*\) distinct.*/\1/p')
  if [ "${n:-0}" -ge 1 ]; then
    ok "$3: states were committed between kills ($n distinct)"
  else
    not_ok "$3: states were committed between kills"
    diag "$r"
  fi
  is "$final_rc" 0 "$3: the last run ends with exit 0"
  if [ "$final_rc" != 0 ]; then diag "$(tail -5 "$TMP/$1.err")"; fi
  r=$($CHECK final "$TMP/expect.json" "$2" "$start")
  rc=$?
  is "$rc" 0 "$3: the union of the last round's outputs holds every record"
  diag "$r" "$rounds rounds"
  torn=$(printf '%s\n' "$r" | sed -n 's/.*, \([0-9]*\) torn lines.*/\1/p')
}

# --- file: the file is fsynced before a state is committed
manifest file "file:$TMP/file.jsonl"
calibrate "file:$TMP/calib.jsonl"
killrun file "$TMP/file.jsonl"
report file "$TMP/file.jsonl" "file:"
# A run killed inside a write() may leave half a line, which the next run's
# first line then continues: not valid Singer, though nothing is lost.
if [ "${torn:-0}" = 0 ]; then
  ok "file: every line of the output parses"
else
  not_ok "file: every line of the output parses # TODO the host does not cut a torn last line when it reopens the file"
  diag "$torn torn lines"
fi

# --- command: a target echoes each state once its records are durable
calibrate "command:$TARGET $TMP/calib.jsonl"
manifest cmd "command:$TARGET $TMP/cmd.jsonl"
killrun cmd "$TMP/cmd.jsonl"
report cmd "$TMP/cmd.jsonl" "command:"
# Every target saw its end of input and exited: none is left running.
sleep 0.2
left=$(ps -eo pid=,args= | grep -F "$TARGET $TMP/cmd.jsonl" | grep -vc grep)
is "$left" 0 "command: no target is left running after the runs"
if grep -q 'target' "$TMP/cmd.err" && [ "$final_rc" != 0 ]; then
  diag "$(grep target "$TMP/cmd.err" | tail -3)"
fi
