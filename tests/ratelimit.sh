# ratelimit.sh - two integ processes on one upstream share one token
# bucket through the store: together they keep to its rate.
. "$top_srcdir/tests/lib.sh"
command -v python3 >/dev/null || skip_all "python3 is needed to read the request log"
plan 5
tmpdir
start_testapi "$top_srcdir/tests/http/scenario.json" || { not_ok "testapi starts"; exit 1; }
U=$TESTAPI_URL

reqs=$(python3 -c "import json; print(json.dumps({'requests': [{'url': '$U/ok'}] * 15}))")
cat >"$TMP/integ.yaml" <<EOT
integ: 1
plugin_path: ["$TEST_PLUGIN_DIR"]
store: $TMP/integ.db
output: {format: jsonl}
connectors:
  a:
    plugin: httpprobe
    config: $reqs
    rate_limit: {per_second: 5, burst: 1}
  b:
    plugin: httpprobe
    config: $reqs
    rate_limit: {per_second: 5, burst: 1}
EOT
curl -s -X POST "$U/_testapi/reset" >/dev/null
"$INTEG" -c "$TMP/integ.yaml" run a >"$TMP/a.out" 2>"$TMP/a.err" &
pa=$!
"$INTEG" -c "$TMP/integ.yaml" run b >"$TMP/b.out" 2>"$TMP/b.err" &
pb=$!
wait $pa; ra=$?
wait $pb; rb=$?
is "$ra$rb" 00 "both runs succeed"
curl -s "$U/_testapi/log" >"$TMP/log.json"
read n conns span <<EOT
$(python3 -c '
import json, sys
log = [r for r in json.load(open(sys.argv[1]))["requests"] if r["path"] == "/ok"]
t = sorted(r["time_ms"] for r in log)
print(len(log), len(set(r["client_port"] for r in log)), t[-1] - t[0])
' "$TMP/log.json")
EOT
is "$n" 30 "30 requests reached the server"
is "$conns" 2 "from two processes"
# 30 tokens at 5/s with a burst of 1: the last goes 29/5 = 5.8 s after the
# first. Together within the rate +-10%: 29 / span in [4.5, 5.5] per s.
if [ "$span" -ge 5273 ] && [ "$span" -le 6444 ]; then
  ok "together they keep to 5/s within 10% (30 requests in $span ms)"
else
  not_ok "together they keep to 5/s within 10%"; diag "30 requests in $span ms" "$(cat "$TMP/a.err" "$TMP/b.err")"
fi

# The connector's own limit paces however slow it is: retry.max bounds
# only what a server asks for. 0.5/s is a 2 s wait, more than retry.max.
cat >"$TMP/slow.yaml" <<EOT
integ: 1
plugin_path: ["$TEST_PLUGIN_DIR"]
store: $TMP/slow.db
output: {format: jsonl}
connectors:
  slow:
    plugin: httpprobe
    config: {requests: [{url: "$U/ok"}, {url: "$U/ok"}], fail_on_error: true}
    rate_limit: {per_second: 0.5, burst: 1}
    retry: {max: 1s}
EOT
curl -s -X POST "$U/_testapi/reset" >/dev/null
run "$INTEG" -c "$TMP/slow.yaml" run slow
curl -s "$U/_testapi/log" >"$TMP/log.json"
gap=$(python3 -c '
import json, sys
t = [r["time_ms"] for r in json.load(open(sys.argv[1]))["requests"] if r["path"] == "/ok"]
print(t[1] - t[0] if len(t) == 2 else -1)
' "$TMP/log.json")
if [ "$RC" = 0 ] && [ "$gap" -ge 1800 ] && [ "$gap" -le 10000 ]; then
  ok "rate_limit 0.5/s with retry.max 1s paces the run (2 requests $gap ms apart), not fails it"
else
  not_ok "rate_limit 0.5/s with retry.max 1s paces the run, not fails it"; diag "rc=$RC gap=$gap" "$ERR"
fi
