#!/bin/sh
# demo.sh - what `make demo` runs: start the demo shop API on a free
# loopback port, sync it with `integ run` on the embedded defaults, print
# the records and a summary, stop the server. Run from the build tree.
#   demo.sh SRCDIR BUILDDIR
set -u
src=$1 build=$2
out=$build/demo-out
mkdir -p "$out"
log=$out/testapi.out
"$build/tests/testapi/testapi" --port 0 --idle-exit 60 \
  --scenario "$src/tests/testapi/scenarios/demo.json" >"$log" 2>"$out/testapi.err" &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT INT TERM
port=
for i in $(seq 1 100); do
  port=$(sed -n 's/^port //p' "$log")
  [ -n "$port" ] && break
  sleep 0.05
done
if [ -z "$port" ]; then
  echo "demo: the demo API did not start: $(cat "$out/testapi.err")" >&2
  exit 1
fi
export INTEG_DEMO_URL="http://127.0.0.1:$port"
export INTEG_DEMO_STORE="$out/integ.db"
export INTEG_PLUGIN_PATH="$build/plugins/.libs"
start=$(date +%s.%N)
"$build/integ" -v -c "$src/conf/demo.yaml" run shop >"$out/records.jsonl" 2>"$out/integ.err"
rc=$?
end=$(date +%s.%N)
cat "$out/records.jsonl"
cat "$out/integ.err" >&2
if [ $rc != 0 ]; then
  echo "demo: integ run failed (exit $rc)" >&2
  exit $rc
fi
users=$(grep -c '"type":"RECORD","stream":"users"' "$out/records.jsonl")
orders=$(grep -c '"type":"RECORD","stream":"orders"' "$out/records.jsonl")
printf 'demo: %d Singer records (%d users, %d orders) from %s in %.2f s; state in %s (run again: only what changed)\n' \
  "$((users + orders))" "$users" "$orders" "$INTEG_DEMO_URL" \
  "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" "$INTEG_DEMO_STORE"
