#!/bin/sh
# soak.sh - the daemon over many runs: SOAK_CONNECTORS (8) connectors on
# every: 1s (one of them segfaults each run) until SOAK_RUNS (500) runs
# have ended; then the daemon idles on an hourly schedule. Prints the
# daemon's RSS and open fds at start and end, its CPU while idle, and the
# delay from each fire time to its child's start (p50, p99, max).
#   bench/soak.sh BUILDDIR SRCDIR
set -eu
build=$1
runs=${SOAK_RUNS:-500}
nconn=${SOAK_CONNECTORS:-8}
tmp=$(mktemp -d)
chmod 0755 "$tmp"
dpid=
trap '[ -n "$dpid" ] && kill $dpid 2>/dev/null; rm -rf "$tmp"' EXIT

manifest() { # manifest EVERY
  {
    cat <<EOT
integ: 1
plugin_path: ["$build/tests/plugins/.libs"]
store: "$tmp/store.db"
output: {format: jsonl, to: "file:$tmp/{connector}.jsonl"}
daemon: {control_socket: "$tmp/ctl.sock", lock_dir: "$tmp/locks", max_parallel: 4}
connectors:
  crashy:
    plugin: crash
    schedule: {every: $1}
EOT
    i=1
    while [ "$i" -lt "$nconn" ]; do
      cat <<EOT
  gen$i:
    plugin: gen
    config: {records: 100, state_every: 10}
    max_runtime: 1h
    schedule: {every: $1}
EOT
      i=$((i + 1))
    done
  } >"$tmp/integ.yaml"
}
# gen resumes from its state: its first run writes 100 records, later ones none.
manifest 1s
rss() { sed -n 's/^VmRSS:[[:space:]]*//p' "/proc/$dpid/status"; }
fds() { ls "/proc/$dpid/fd" | wc -l; }
cpu() { awk '{print $14 + $15}' "/proc/$dpid/stat"; }

"$build/integ" -c "$tmp/integ.yaml" daemon 2>"$tmp/daemon.log" &
dpid=$!
sleep 3
rss0=$(rss) fd0=$(fds)
start=$(date +%s)
while [ "$(grep -c ' ended after ' "$tmp/daemon.log")" -lt "$runs" ]; do
  sleep 1
  if [ $(($(date +%s) - start)) -gt 600 ]; then
    echo "soak: fewer than $runs runs in 600 s" >&2
    exit 1
  fi
done
ended=$(grep -c ' ended after ' "$tmp/daemon.log")
secs=$(($(date +%s) - start))
rss1=$(rss) fd1=$(fds)
# Idle: an hourly schedule, then 10 s of CPU time.
manifest 1h
kill -HUP "$dpid"
sleep 2
c0=$(cpu)
sleep 10
c1=$(cpu)
hz=$(getconf CLK_TCK)
grep 'after its fire time' "$tmp/daemon.log" |
  sed -n 's/.*, \([0-9]*\) ms after its fire time.*/\1/p' | sort -n >"$tmp/delays"
n=$(wc -l <"$tmp/delays")
p50=$(sed -n "$(( (n * 50 + 99) / 100 ))p" "$tmp/delays")
p99=$(sed -n "$(( (n * 99 + 99) / 100 ))p" "$tmp/delays")
max=$(tail -1 "$tmp/delays")
skipped=$(grep -c 'skipped the fire time' "$tmp/daemon.log" || true)
printf 'soak: %d runs ended in %d s (%d connectors on every: 1s, one crashing each run, max_parallel 4)\n' \
  "$ended" "$secs" "$nconn"
printf 'soak: daemon RSS %s at start, %s at end; open fds %s at start, %s at end\n' \
  "$rss0" "$rss1" "$fd0" "$fd1"
printf 'soak: idle CPU %.2f%% (%d ticks in 10 s, hourly schedules)\n' \
  "$(echo "($c1 - $c0) * 100 / ($hz * 10)" | bc -l)" "$((c1 - c0))"
printf 'soak: fire time to child start over %d runs: p50 %s ms, p99 %s ms, max %s ms; %d fire times skipped (previous run still going)\n' \
  "$n" "$p50" "$p99" "$max" "$skipped"
kill -TERM "$dpid"
wait "$dpid"
dpid=
