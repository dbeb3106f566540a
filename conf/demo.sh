#!/bin/sh
# demo.sh - what `make demo` runs: start the demo shop API on a free
# loopback port, sync it with `integ run` on the embedded defaults, print
# the records and a summary, stop the server. Run from the build tree.
#   demo.sh SRCDIR BUILDDIR [OUTDIR]
# OUTDIR (default BUILDDIR/demo-out) keeps the store and the shop's day:
# each completed run moves the shop on by one day (tests/testapi/scenarios/
# shop.json: 3 users sign up, 2 change, and their orders follow), so the
# next run resumes from the stored state and brings only what changed.
set -u
src=$1 build=$2 out=${3:-$2/demo-out}
mkdir -p "$out" || exit 1
log=$out/testapi.out
store=$out/integ.db
day=$(cat "$out/day" 2>/dev/null || echo 0)
case $day in '' | *[!0-9]*) day=0 ;; esac

# The state the run will resume from, if an earlier run committed one.
before=
if [ -f "$store" ]; then
  before=$("$build/integ" -q state --store "$store" show shop 2>/dev/null |
    tr -d ' \n')
fi

rm -f "$log" # a port left from the last run must not be read
"$build/tests/testapi/testapi" --port 0 --idle-exit 60 --round "$day" \
  --scenario "$src/tests/testapi/scenarios/shop.json" >"$log" 2>"$out/testapi.err" &
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
export INTEG_DEMO_STORE="$store"
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
echo $((day + 1)) >"$out/day"
users=$(grep -c '"type":"RECORD","stream":"users"' "$out/records.jsonl")
orders=$(grep -c '"type":"RECORD","stream":"orders"' "$out/records.jsonl")
printf 'demo: day %d of the shop: %d Singer records (%d users, %d orders) from %s in %.2f s\n' \
  "$day" "$((users + orders))" "$users" "$orders" "$INTEG_DEMO_URL" \
  "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')"
if [ -n "$before" ]; then
  echo "demo: resumed from the state the last run committed: $before"
  echo "demo: only what changed since then came (the users at the cursor"
  echo "      are known by id and do not come again)"
else
  echo "demo: a first, full sync"
fi
echo "demo: state in $store"
echo "demo: run 'make demo' again: a day passes in the shop (3 users sign"
echo "      up, 2 change, orders follow) and only what changed comes;"
echo "      'make clean' starts over"
