# tap.sh - `integ tap`: the example plugin as a Singer tap on the demo
# API. --about against singer-sdk's shape; discover -> select (a stream
# and a field deselected) -> sync -> resume against golden files; the
# catalog's replication method; clear errors for bad config, catalog and
# state; the tap-NAME symlink.
. "$top_srcdir/tests/lib.sh"
command -v python3 >/dev/null || skip_all "python3 is needed to edit catalogs"
command -v curl >/dev/null || skip_all "curl is needed to reset the test API"
plan 44
tmpdir
start_testapi "$abs_top_srcdir/tests/testapi/scenarios/demo.json" ||
  { not_ok "testapi starts"; exit 1; }
export INTEG_PLUGIN_PATH="$PLUGIN_DIR" INTEG_NOW=2026-01-01T00:00:00Z
G=$abs_top_srcdir/tests/golden
# The demo API grows by one user per request: every cycle starts afresh.
reset() { curl -s -X POST "$TESTAPI_URL/_testapi/reset" >/dev/null; }
printf '{"base_url": "%s", "page_size": 40}\n' "$TESTAPI_URL" >"$TMP/config.json"

# same FILE GOLDEN DESC: byte-identical, else the first differences.
# GOLDEN_UPDATE=1 rewrites the golden files from this build's output.
same() {
  if [ "${GOLDEN_UPDATE:-}" = 1 ]; then cp "$1" "$2"; fi
  if cmp -s "$1" "$2"; then ok "$3"; else
    not_ok "$3"
    diag "$(diff "$2" "$1" | head -8 | cut -c1-300)"
  fi
}

# py FILE EXPR: EXPR over m, the list of JSON lines of FILE.
py() {
  python3 - "$1" "$2" <<'EOT'
import json, sys
m = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
recs = [x for x in m if x["type"] == "RECORD"]
def rs(s): return [x["record"] for x in recs if x["stream"] == s]
print(eval(sys.argv[2]))
EOT
}

# --- help, about
run "$INTEG" tap --help
is "$RC" 0 "tap --help exits 0"
like "$OUT" "^Usage: integ tap PLUGIN --config FILE" "and prints the usage"

run "$INTEG" tap example --about --format json
is "$RC" 0 "--about --format json exits 0"
printf '%s\n' "$OUT" >"$TMP/about.json"
if anchor singer/meltano-sdk/snapshots/test_about/about.json; then
  A=$ANCHOR
  is "$(python3 - "$TMP/about.json" "$A" <<'EOT'
import json, sys
ours = json.load(open(sys.argv[1]))
sdk = json.load(open(sys.argv[2]))
keys = [k for k in sdk if k in ours]
problems = []
if list(ours) != keys:
    problems.append("keys %s are not singer-sdk's %s in its order" % (list(ours), list(sdk)))
for k in ("name", "description", "version", "capabilities", "settings"):
    if k not in ours: problems.append("no " + k)
    elif type(ours[k]) is not type(sdk[k]): problems.append(k + " has another type")
if not set(sdk["capabilities"]) <= set(ours["capabilities"]):
    problems.append("capabilities lack some of " + str(sdk["capabilities"]))
if set(ours["settings"]["properties"]) != {"users", "orders_per_user", "base_url", "page_size", "auth"}:
    problems.append("settings are not the spec's properties")
print("; ".join(problems) or "same shape")
EOT
)" "same shape" "--about --format json has singer-sdk's keys, order and types"
fi
run "$INTEG" tap example --about
like "$OUT" "^Name: tap-example" "--about prints singer-sdk's text form"
like "$OUT" "  - Name: page_size" "... with the settings"
run "$INTEG" tap example --about --format markdown
like "$OUT" '^\| page_size \| False \| 25 \| users asked for per page \|$' \
  "--about --format markdown: a settings table with defaults"

# --- discover -> select -> sync -> resume
reset
run "$INTEG" tap example --config "$TMP/config.json" --discover
is "$RC" 0 "--discover exits 0"
printf '%s\n' "$OUT" >"$TMP/catalog.json"
same "$TMP/catalog.json" "$G/tap_discover.json" \
  "--discover writes the catalog with metadata (golden)"
is "$(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
md = {s["tap_stream_id"]: s["metadata"][0]["metadata"] for s in c["streams"]}
print(md["users"]["valid-replication-keys"], md["orders"]["valid-replication-keys"], md["users"]["table-key-properties"])
' "$TMP/catalog.json")" "['updated_at'] ['updated_at'] ['id']" \
  "users: valid replication key updated_at; orders too (the child of users); keys"

python3 - "$TMP/catalog.json" "$TMP/selected.json" <<'EOT'
import json, sys
c = json.load(open(sys.argv[1]))
for s in c["streams"]:
    for m in s["metadata"]:
        if s["tap_stream_id"] == "orders" and m["breadcrumb"] == []:
            m["metadata"]["selected"] = False
        if s["tap_stream_id"] == "users" and m["breadcrumb"] == ["properties", "email"]:
            m["metadata"]["selected"] = False
json.dump(c, open(sys.argv[2], "w"), indent=2)
EOT
reset
"$INTEG" tap example --config "$TMP/config.json" --catalog "$TMP/selected.json" \
  >"$TMP/sync.jsonl" 2>"$TMP/sync.err"
is "$?" 0 "the sync exits 0"
same "$TMP/sync.jsonl" "$G/tap_sync.jsonl" "the sync's Singer output (golden)"
is "$(py "$TMP/sync.jsonl" 'len(rs("orders")), sum("email" in r for r in rs("users")), len(rs("users"))')" \
  "(0, 0, 123)" "no orders, no email, every user"
is "$(py "$TMP/sync.jsonl" '"email" in m[0]["schema"]["properties"], m[0].get("bookmark_properties")')" \
  "(False, ['updated_at'])" "the SCHEMA drops the field and names the bookmark"
if grep -q "127\.0\.0\.1" "$TMP/sync.jsonl" "$TMP/catalog.json"; then not_ok "the API's URL is in no output"; else ok "the API's URL is in no output"; fi
tail -n 1 "$TMP/sync.jsonl" | python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["value"]))' >"$TMP/state.json"
is "$(cat "$TMP/state.json")" \
  '{"bookmarks": {"users": {"replication_key": "updated_at", "replication_key_value": "2024-03-06T11:00:00Z", "keys": [[123]]}}}' \
  "the last message is the STATE, in singer-sdk's bookmarks shape (the last record's updated_at, and the ids synced at it)"
"$INTEG" tap example --config "$TMP/config.json" --properties "$TMP/selected.json" \
  --state "$TMP/state.json" >"$TMP/resume.jsonl" 2>"$TMP/resume.err"
is "$?" 0 "the resumed sync (--properties, --state) exits 0"
same "$TMP/resume.jsonl" "$G/tap_resume.jsonl" "the resumed sync's output (golden)"
is "$(py "$TMP/resume.jsonl" 'min(r["updated_at"] for r in rs("users")) > "2024-03-06T11:00:00Z"')" \
  True "it asks from the bookmark, and the user already synced there does not come again"
# The whole STATE message (the last line, as users copy it) resumes the
# same way, with a warning; a state of another shape is an error, not a
# silent re-sync of everything.
tail -n 1 "$TMP/sync.jsonl" >"$TMP/statemsg.json"
"$INTEG" tap example --config "$TMP/config.json" --properties "$TMP/selected.json" \
  --state "$TMP/statemsg.json" >"$TMP/resume2.jsonl" 2>"$TMP/resume2.err"
is "$?" 0 "a whole STATE message as --state: exit 0"
is "$(py "$TMP/resume2.jsonl" 'min(r["updated_at"] for r in rs("users")) > "2024-03-06T10:00:00Z", len(rs("users")) < 10')" \
  "(True, True)" "a whole STATE message resumes from its value's bookmark"
like "$(cat "$TMP/resume2.err")" "statemsg.json is a whole Singer STATE message: using its \"value\"" "... with a warning naming the file"
printf '{"users": {"replication_key_value": "2024-03-06T10:00:00Z"}}' >"$TMP/wrongstate.json"
run "$INTEG" tap example --config "$TMP/config.json" --state "$TMP/wrongstate.json"
like "$RC:$OUT:$ERR" "^2::.*state .*wrongstate.json: unexpected member \"users\"" "a state without bookmarks: exit 2, nothing synced, the file named"

# FULL_TABLE from the catalog: the users' bookmark is not handed on.
python3 - "$TMP/selected.json" "$TMP/full.json" <<'EOT'
import json, sys
c = json.load(open(sys.argv[1]))
for s in c["streams"]:
    if s["tap_stream_id"] == "users":
        s["metadata"][0]["metadata"]["replication-method"] = "FULL_TABLE"
json.dump(c, open(sys.argv[2], "w"))
EOT
reset
"$INTEG" tap example --config "$TMP/config.json" --catalog "$TMP/full.json" \
  --state "$TMP/state.json" >"$TMP/full.jsonl" 2>"$TMP/full.err"
is "$(py "$TMP/full.jsonl" 'len(rs("users")), rs("users")[0]["id"], "bookmark_properties" in m[0]')" \
  "(123, 1, False)" "replication-method FULL_TABLE ignores the bookmark and syncs all"

# Without a catalog: every stream and field.
reset
"$INTEG" tap example --config "$TMP/config.json" >"$TMP/all.jsonl" 2>/dev/null
is "$(py "$TMP/all.jsonl" 'len(rs("users")), len(rs("orders")) > 0, "email" in rs("users")[0]')" \
  "(123, True, True)" "without a catalog every stream and field is synced"

# --- bad config, catalog and state: exit 2, nothing on stdout, key path
printf '{"base_url": \n' >"$TMP/notjson.json"
run "$INTEG" tap example --config "$TMP/notjson.json"
is "$RC:$OUT" "2:" "a config that is not JSON exits 2, stdout empty"
like "$ERR" "config .*notjson.json:2:[0-9]+: not valid JSON" "... naming file, line and column"
printf '{"base_url": 5,\n "page_size": "x"}\n' >"$TMP/types.json"
run "$INTEG" tap example --config "$TMP/types.json"
is "$RC" 2 "a config of wrong types exits 2"
like "$ERR" "types.json:1:14: base_url: expected a string, got integer 5" "... with position and key path"
like "$ERR" "types.json:2:15: page_size: expected an integer" "... and every error"
printf '{"path": "/x"}\n' >"$TMP/noreq.json"
INTEG_PLUGIN_PATH="$TEST_PLUGIN_DIR" run "$INTEG" tap httppull --config "$TMP/noreq.json"
like "$RC:$ERR" "^2:.*base_url: missing required key 'base_url'" "a missing required key is named"
printf '{"streams": [{"tap_stream_id": "users", "metadata": [{"breadcrumb": [], "metadata": {"selected": "yes"}}]}]}' >"$TMP/badcat.json"
run "$INTEG" tap example --config "$TMP/config.json" --catalog "$TMP/badcat.json"
like "$RC:$OUT:$ERR" "^2::.*catalog .*badcat.json: streams\[0\]\.metadata\[0\]\.metadata\.selected: expected true or false" \
  "a bad catalog value: exit 2, its key path"
printf '{"streams": [{"tap_stream_id": "nope"}]}' >"$TMP/nope.json"
run "$INTEG" tap example --config "$TMP/config.json" --catalog "$TMP/nope.json"
like "$RC:$ERR" "^2:.*streams\[0\]: the plugin has no stream 'nope'" "a catalog naming an unknown stream is refused"
printf '{"streams": [{"tap_stream_id": "gen", "metadata": [{"breadcrumb": [], "metadata": {"replication-method": "INCREMENTAL"}}]}]}' >"$TMP/inc.json"
INTEG_PLUGIN_PATH="$TEST_PLUGIN_DIR" run "$INTEG" tap gen --catalog "$TMP/inc.json"
like "$RC:$ERR" "^2:.*stream 'gen' has no replication key" "INCREMENTAL on a stream without a cursor is refused"
printf '{"streams": [{"tap_stream_id": "users", "metadata": [{"breadcrumb": [], "metadata": {"replication-key": "created_at"}}]}]}' >"$TMP/rk.json"
run "$INTEG" tap example --config "$TMP/config.json" --catalog "$TMP/rk.json"
like "$ERR" "metadata.replication-key: stream 'users' can only be synced incrementally by 'updated_at'" \
  "another replication key is refused"
printf '[1, 2' >"$TMP/badstate.json"
run "$INTEG" tap example --config "$TMP/config.json" --state "$TMP/badstate.json"
like "$RC:$ERR" "^2:.*state .*badstate.json:1:[0-9]+: not valid JSON" "a state that is not JSON: exit 2, position"
printf '{"bookmarks": []}' >"$TMP/badstate.json"
run "$INTEG" tap example --config "$TMP/config.json" --state "$TMP/badstate.json"
like "$RC:$OUT:$ERR" "^2::.*state .*badstate.json: .*bookmarks: expected an object" "a state of the wrong shape names the key"
run "$INTEG" tap nosuchplugin --config "$TMP/config.json"
is "$RC" 2 "an unknown plugin exits 2"
run "$INTEG" tap example --discover --state "$TMP/state.json"
is "$RC" 2 "--discover with --state is a usage error"

# --- a failing run: exit 1, the output stays whole lines
printf '{"base_url": "%s/nope"}\n' "$TESTAPI_URL" >"$TMP/down.json"
run "$INTEG" tap example --config "$TMP/down.json"
is "$RC" 1 "a run whose API fails exits 1"
like "$ERR" "HTTP 404" "... saying why"

# --- the tap-NAME symlink
ln -s "$INTEG" "$TMP/tap-example"
run "$TMP/tap-example" --about --format json
like "$OUT" '"name": "tap-example"' "a symlink tap-example is integ tap example"
reset
"$TMP/tap-example" --config "$TMP/config.json" --discover >"$TMP/cat2.json"
same "$TMP/cat2.json" "$G/tap_discover.json" "tap-example --discover writes the same catalog"
run "$TMP/tap-example" --help
like "$OUT" "^Usage: integ tap" "tap-example --help is the tap's help"
