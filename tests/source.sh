# source.sh - `integ source`: the example plugin as an Airbyte source on
# the demo API. Every line of spec, check, discover and read (full and
# incremental, with and without state, failing runs, bad input) must be a
# valid AirbyteMessage (tests/validate_airbyte.py with python3-jsonschema
# against the protocol's own schema); the configured catalog is honoured;
# failures are TRACE ERROR with the right failure_type, and exit 2 when
# the user's files or plugin name are wrong (config_error), else 1.
. "$top_srcdir/tests/lib.sh"
command -v python3 >/dev/null || skip_all "python3 is needed"
command -v curl >/dev/null || skip_all "curl is needed to reset the test API"
plan 52
tmpdir
start_testapi "$abs_top_srcdir/tests/testapi/scenarios/demo.json" ||
  { not_ok "testapi starts"; exit 1; }
export INTEG_PLUGIN_PATH="$PLUGIN_DIR"
reset() { curl -s -X POST "$TESTAPI_URL/_testapi/reset" >/dev/null; }
printf '{"base_url": "%s", "page_size": 40}\n' "$TESTAPI_URL" >"$TMP/config.json"
PROTOCOL=$ANCHORS/airbyte/airbyte_protocol.yaml

# src NAME ARGS...: run `integ source example ARGS`, stdout to $TMP/NAME.jsonl
# (validated at the end), status in $RC, stderr in $ERR.
src() {
  _n=$1
  shift
  "$INTEG" source example "$@" >"$TMP/$_n.jsonl" 2>"$TMP/$_n.err"
  RC=$?
  ERR=$(cat "$TMP/$_n.err")
}

# later NAME EXPR is|like WANT DESC: check EXPR over the messages of
# $TMP/NAME.jsonl (m; helpers of, rs, status, error) at the end, all in
# one python3: it is slow to start.
: >"$TMP/checks"
later() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$TMP/checks"; }
run_later() {
  python3 - "$TMP" "$TMP/checks" >"$TMP/results" <<'EOT'
import json, sys
for line in open(sys.argv[2]):
    name, expr = line.rstrip("\n").split("\t")[:2]
    m = [json.loads(l) for l in open("%s/%s.jsonl" % (sys.argv[1], name)) if l.strip()]
    def of(t): return [x for x in m if x["type"] == t]
    def rs(s): return [x["record"]["data"] for x in of("RECORD") if x["record"]["stream"] == s]
    def status(s): return [x["trace"]["stream_status"]["status"] for x in of("TRACE") if x["trace"]["type"] == "STREAM_STATUS" and x["trace"]["stream_status"]["stream_descriptor"]["name"] == s]
    def error(): return [x["trace"]["error"] for x in of("TRACE") if x["trace"]["type"] == "ERROR"]
    try:
        print(str(eval(expr)).replace("\n", " "))
    except Exception as e:
        print("(%s: %s)" % (type(e).__name__, e))
EOT
  while IFS='	' read -r _n _e _k _w _d <&3 && read -r _g <&4; do
    if [ "$_k" = is ]; then is "$_g" "$_w" "$_d"; else like "$_g" "$_w" "$_d"; fi
  done 3<"$TMP/checks" 4<"$TMP/results"
}

run "$INTEG" source --help
is "$RC" 0 "source --help exits 0"
like "$OUT" "^Usage: integ source PLUGIN spec" "and prints the usage"
run "$INTEG" --help
like "$OUT" "source +run a plugin as an Airbyte source \\(spec, check, discover, read\\)" "integ --help lists every subcommand of source"

# --- spec, check
src spec spec
is "$RC" 0 "spec exits 0"
later spec 'm[0]["spec"]["connectionSpecification"]["properties"]["page_size"]["default"], len(m)' is "(25, 1)" "spec: one SPEC whose connectionSpecification is the plugin's spec"
src check_ok check --config "$TMP/config.json"
is "$RC" 0 "check: SUCCEEDED (exit 0)"
later check_ok 'm[0]["connectionStatus"]["status"]' is "SUCCEEDED" "check: SUCCEEDED"
printf '{"base_url": "%s/nope"}\n' "$TESTAPI_URL" >"$TMP/down.json"
src check_down check --config "$TMP/down.json"
is "$RC" 0 "check of an unreachable API exits 0"
later check_down 'm[0]["connectionStatus"]["status"]' is "FAILED" "check of an unreachable API: FAILED, exit 0"
later check_down 'm[0]["connectionStatus"]["message"]' like "v1/health: HTTP 404" "... saying which request failed how"
printf '{"base_url": 5}\n' >"$TMP/types.json"
src check_bad check --config "$TMP/types.json"
is "$RC" 0 "check of a bad config exits 0"
later check_bad 'm[0]["connectionStatus"]["status"]' is "FAILED" "check of a bad config: FAILED, exit 0"
later check_bad 'm[0]["connectionStatus"]["message"]' like "types.json:1:14: base_url: expected a string" "... with the key path"

# --- discover
src discover discover --config "$TMP/config.json"
is "$RC" 0 "discover exits 0"
later discover '[(s["name"], s["supported_sync_modes"], s.get("default_cursor_field"), s["source_defined_primary_key"]) for s in m[0]["catalog"]["streams"]]' is "[('users', ['full_refresh', 'incremental'], ['updated_at'], [['id']]), ('orders', ['full_refresh', 'incremental'], ['updated_at'], [['id']])]" "CATALOG: users incremental by updated_at, orders (the child of users) too, keys"

# configured catalog: MODE_USERS MODE_ORDERS (or "-" to leave a stream out)
configure() {
  python3 - "$TMP/discover.jsonl" "$1" "$2" <<'EOT'
import json, sys
cat = json.loads(open(sys.argv[1]).readline())["catalog"]
modes = {"users": sys.argv[2], "orders": sys.argv[3]}
out = {"streams": []}
for s in cat["streams"]:
    mode = modes[s["name"]]
    if mode == "-":
        continue
    c = {"stream": s, "sync_mode": mode, "destination_sync_mode": "append",
         "primary_key": [["id"]]}
    if mode == "incremental":
        c["cursor_field"] = s["default_cursor_field"]
    out["streams"].append(c)
print(json.dumps(out))
EOT
}
configure full_refresh full_refresh >"$TMP/full.json"
configure incremental full_refresh >"$TMP/inc.json"
configure incremental - >"$TMP/users.json"

# --- read
reset
src read_full read --config "$TMP/config.json" --catalog "$TMP/full.json"
is "$RC" 0 "read (full refresh) exits 0"
later read_full 'len(rs("users")), len(rs("orders")) > 0, status("users"), status("orders")' is "(123, True, ['STARTED', 'RUNNING', 'COMPLETE'], ['STARTED', 'RUNNING', 'COMPLETE'])" "records of both streams; STREAM_STATUS STARTED, RUNNING, COMPLETE each"
later read_full 'sorted(set(x["state"]["type"] for x in of("STATE"))), [x["state"]["sourceStats"]["recordCount"] for x in of("STATE") if x["state"]["stream"]["stream_descriptor"] == {"name": "users"}][-1]' is "(['STREAM'], 123.0)" "STATE of type STREAM with the stream's record count"
later read_full 'm[-1]["trace"]["stream_status"]["status"], of("RECORD")[0]["record"]["emitted_at"] > 0' is "('COMPLETE', True)" "the last line is a status; records carry emitted_at"
python3 -c '
import json, sys
m = [json.loads(l) for l in open(sys.argv[1])]
print(json.dumps([x["state"] for x in m if x["type"] == "STATE"]))' "$TMP/read_full.jsonl" >"$TMP/state.json"

reset
src read_inc read --config "$TMP/config.json" --catalog "$TMP/users.json"
is "$RC" 0 "read (incremental, no state) exits 0"
later read_inc 'len(rs("users")), len(rs("orders")), status("orders")' is "(123, 0, [])" "a stream not in the configured catalog is not emitted"

src read_state read --config "$TMP/config.json" --catalog "$TMP/inc.json" --state "$TMP/state.json"
is "$RC" 0 "read (incremental, with state) exits 0"
later read_state 'min(r["updated_at"] for r in rs("users")) > "2024-03-06T10:00:00Z", len(rs("users")) < 10' is "(True, True)" "incremental with state: only users after the cursor"
src read_fullstate read --config "$TMP/config.json" --catalog "$TMP/full.json" --state "$TMP/state.json"
later read_fullstate 'min(r["id"] for r in rs("users"))' is 1 "full_refresh with the same state: the cursor is not handed on, all users again"
printf '[]' >"$TMP/empty.json"
src read_empty read --config "$TMP/config.json" --catalog "$TMP/users.json" --state "$TMP/empty.json"
later read_empty 'min(r["id"] for r in rs("users"))' is 1 "an empty state array starts from the beginning"
python3 -c '
import json, sys
m = [json.loads(l) for l in open(sys.argv[1])]
s = [x["state"] for x in m if x["type"] == "STATE" and x["state"]["stream"]["stream_descriptor"]["name"] == "users"][-1]
print(json.dumps([{"type": "GLOBAL", "global": {"shared_state": {}, "stream_states": [s["stream"]]}}]))' "$TMP/read_full.jsonl" >"$TMP/global.json"
src read_global read --config "$TMP/config.json" --catalog "$TMP/users.json" --state "$TMP/global.json"
later read_global 'min(r["updated_at"] for r in rs("users")) > "2024-03-06T10:00:00Z"' is True "a GLOBAL state's stream_states resume too"

# --- failures: TRACE ERROR, exit 1 (2 for config_error), statuses INCOMPLETE
src read_down read --config "$TMP/down.json" --catalog "$TMP/inc.json"
is "$RC" 1 "a failing read exits 1"
later read_down 'error()[0]["failure_type"], status("users"), m[-1]["trace"]["type"]' is "('system_error', ['STARTED', 'INCOMPLETE'], 'ERROR')" "TRACE ERROR system_error after INCOMPLETE statuses, as the last line"
later read_down 'error()[0]["message"]' like "HTTP 404" "the error says what failed"
printf '{"base_url": \n' >"$TMP/notjson.json"
src bad_json read --config "$TMP/notjson.json" --catalog "$TMP/inc.json"
is "$RC" 2 "config not JSON: TRACE ERROR config_error, exit 2"
later bad_json 'error()[0]["failure_type"]' is "config_error" "config not JSON: TRACE ERROR config_error"
later bad_json 'error()[0]["message"]' like "notjson.json:2:[0-9]+: not valid JSON" "... with the position"
src bad_type read --config "$TMP/types.json" --catalog "$TMP/inc.json"
later bad_type 'error()[0]["failure_type"], error()[0]["message"]' like "config_error.*base_url: expected a string" "config of a wrong type: config_error naming the key"
printf '{"path": "/x"}\n' >"$TMP/noreq.json"
INTEG_PLUGIN_PATH="$TEST_PLUGIN_DIR" "$INTEG" source httppull discover --config "$TMP/noreq.json" >"$TMP/bad_req.jsonl" 2>/dev/null
later bad_req 'error()[0]["failure_type"], error()[0]["message"]' like "config_error.*base_url: missing required key" "a missing required key: config_error naming it"
printf '{"streams": [{"stream": {"name": "users"}, "sync_mode": "sometimes", "destination_sync_mode": "append"}]}' >"$TMP/badcat.json"
src bad_cat read --config "$TMP/config.json" --catalog "$TMP/badcat.json"
is "$RC" 2 "a bad catalog: config_error with the key path (exit 2)"
later bad_cat 'error()[0]["failure_type"], error()[0]["message"]' like ".*config_error.*streams\[0\]\.sync_mode: expected" "a bad catalog: config_error with the key path"
printf '{"streams": [{"stream": {"name": "gen"}, "sync_mode": "incremental", "destination_sync_mode": "append"}]}' >"$TMP/incgen.json"
printf "{}" >"$TMP/genconf.json"
INTEG_PLUGIN_PATH="$TEST_PLUGIN_DIR" "$INTEG" source gen read --config "$TMP/genconf.json" --catalog "$TMP/incgen.json" >"$TMP/bad_inc.jsonl" 2>/dev/null
later bad_inc 'error()[0]["failure_type"], error()[0]["message"]' like "config_error.*stream 'gen' has no replication key" "incremental on a stream without a cursor: config_error"
printf '[{"type": "STREAM", "stream": {"stream_descriptor": {}}}]' >"$TMP/badstate.json"
src bad_state read --config "$TMP/config.json" --catalog "$TMP/inc.json" --state "$TMP/badstate.json"
is "$RC" 2 "a bad state: config_error with the key path (exit 2)"
later bad_state 'error()[0]["failure_type"], error()[0]["message"]' like ".*config_error.*state\[0\]\.stream\.stream_descriptor\.name: expected a string" "a bad state: config_error with the key path"
printf '"no"' >"$TMP/badstate2.json"
src bad_state2 read --config "$TMP/config.json" --catalog "$TMP/inc.json" --state "$TMP/badstate2.json"
later bad_state2 'error()[0]["failure_type"]' like "config_error" "a state that is not an array: config_error"
src no_catalog read --config "$TMP/config.json"
is "$RC" 2 "read without a catalog says so (exit 2)"
later no_catalog 'error()[0]["message"]' like "read needs --catalog" "read without a catalog says so"
"$INTEG" source nosuchplugin spec >"$TMP/nosuch.jsonl" 2>/dev/null
is "$?" 2 "an unknown plugin: TRACE ERROR, exit 2 (integ(1) EXIT STATUS)"
later nosuch 'len(error()), error()[0]["failure_type"]' is "(1, 'config_error')" "an unknown plugin: one TRACE ERROR, config_error"
# One state message without its array (what a user copies from a read's
# output) would pass as a legacy state naming no stream and re-sync all.
python3 -c '
import json, sys
m = [json.loads(l) for l in open(sys.argv[1])]
print(json.dumps([x["state"] for x in m if x["type"] == "STATE"][-1]))' "$TMP/read_full.jsonl" >"$TMP/onestate.json"
src one_state read --config "$TMP/config.json" --catalog "$TMP/inc.json" --state "$TMP/onestate.json"
is "$RC" 2 "one state message instead of the array: exit 2"
later one_state 'error()[0]["failure_type"], len(rs("users"))' is "('config_error', 0)" "one state message instead of the array: config_error, nothing read"
later one_state 'error()[0]["message"]' like "state .*onestate.json: expected a JSON array of Airbyte state messages" "... naming the file and the shape expected"
printf '{"users": {"updated_at": "2024-03-06T10:00:00Z"}}' >"$TMP/legacy.json"
src legacy read --config "$TMP/config.json" --catalog "$TMP/inc.json" --state "$TMP/legacy.json"
is "$RC" 0 "a legacy state object (keyed by stream) is still read"
run "$INTEG" source example fly
is "$RC" 2 "an unknown verb is a usage error"
run "$INTEG" source example read
is "$RC" 2 "read without --config is a usage error"

# --- the source-NAME symlink
ln -s "$INTEG" "$TMP/source-example"
"$TMP/source-example" spec >"$TMP/link_spec.jsonl" 2>/dev/null
if cmp -s "$TMP/link_spec.jsonl" "$TMP/spec.jsonl"; then ok "a symlink source-example is integ source example"; else not_ok "a symlink source-example is integ source example"; fi

run_later

# --- every line of every output above is a valid AirbyteMessage
if ! anchor airbyte/airbyte_protocol.yaml; then
  : # reported by anchor
else
  python3 "$abs_top_srcdir/tests/validate_airbyte.py" "$PROTOCOL" "$TMP"/*.jsonl >"$TMP/validate.out" 2>&1
  vrc=$?
  if [ $vrc = 3 ]; then
    ok "# SKIP python3-jsonschema or python3-yaml missing"
  elif [ $vrc = 0 ]; then
    ok "every message of spec, check, discover and read validates ($(tail -n 1 "$TMP/validate.out"))"
  else
    not_ok "every message validates against airbyte_protocol.yaml"
    diag "$(head -20 "$TMP/validate.out")"
  fi
fi
