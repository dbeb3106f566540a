# golden.sh - the example plugin's Singer output, byte for byte, with the
# clock fixed (INTEG_NOW): generated (no HTTP), and pulled from the demo
# API (tests/testapi/scenarios/demo.json) on loopback.
# GOLDEN_UPDATE=1 rewrites the golden files from this build's output.
. "$top_srcdir/tests/lib.sh"
command -v curl >/dev/null || skip_all "curl is needed to read the test API"
plan 9
tmpdir
export INTEG_NOW=2026-01-02T03:04:05Z
export INTEG_PLUGIN_PATH=$PLUGIN_DIR
G=$abs_top_srcdir/tests/golden

# same NAME DESC: compare $TMP/NAME with the golden file.
same() {
  if [ "${GOLDEN_UPDATE:-}" = 1 ]; then cp "$TMP/$1" "$G/$1"; fi
  if cmp -s "$TMP/$1" "$G/$1"; then
    ok "$2"
  else
    not_ok "$2"
    diag "$(diff -u "$G/$1" "$TMP/$1" | head -20)"
  fi
}

run "$INTEG" run --plugin example --format singer
printf '%s\n' "$OUT" >"$TMP/example_singer.jsonl"
is "$RC" 0 "generated: exit 0"
same example_singer.jsonl "generated: Singer output is the golden file"

start_testapi "$abs_top_srcdir/tests/testapi/scenarios/demo.json" ||
  { not_ok "testapi starts"; exit 1; }
printf '{"base_url": "%s"}\n' "$TESTAPI_URL" >"$TMP/config.json"
"$INTEG" run --plugin example --format singer --config-json "$TMP/config.json" \
  >"$TMP/example_demo_singer.jsonl" 2>"$TMP/err"
is "$?" 0 "demo API: exit 0"
same example_demo_singer.jsonl "demo API: Singer output is the golden file"

# After a resume, both streams as discover() declares them: users
# incremental (only the users the API added since), orders its
# incremental child (the orders of those users, every one of them, and no
# other user's). The store keeps the state between the runs.
cat >"$TMP/integ.yaml" <<EOT
integ: 1
plugin_path: ["$PLUGIN_DIR"]
store: $TMP/integ.db
output: {format: singer}
connectors:
  shop:
    plugin: example
    config: {base_url: "$TESTAPI_URL"}
EOT
"$INTEG" -c "$TMP/integ.yaml" run shop >"$TMP/first.jsonl" 2>"$TMP/err"
is "$?" 0 "manifest run: exit 0"
"$INTEG" -c "$TMP/integ.yaml" run shop >"$TMP/resumed.jsonl" 2>"$TMP/err"
is "$?" 0 "resumed run: exit 0"
# ids STREAM FILE: the record ids of STREAM in FILE, sorted.
ids() {
  python3 -c '
import json, sys
for line in open(sys.argv[2]):
    m = json.loads(line)
    if m.get("type") == "RECORD" and m["stream"] == sys.argv[1]:
        print(m["record"]["id"])' "$1" "$2" | sort -n
}
ids users "$TMP/first.jsonl" >"$TMP/u1"
ids users "$TMP/resumed.jsonl" >"$TMP/u2"
ids orders "$TMP/first.jsonl" >"$TMP/o1"
ids orders "$TMP/resumed.jsonl" >"$TMP/o2"
u1=$(wc -l <"$TMP/u1") u2=$(wc -l <"$TMP/u2") o1=$(wc -l <"$TMP/o1")
if [ "$u2" -gt 0 ] && [ "$u2" -lt 10 ] && [ "$u1" -gt 100 ]; then
  ok "resumed: users is incremental ($u1 users, then the $u2 added since)"
else
  not_ok "resumed: users is incremental"; diag "first $u1 users, resumed $u2"
fi
# uids FILE: the user_id of each order in FILE, sorted, unique.
uids() {
  python3 -c '
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("type") == "RECORD" and m["stream"] == "orders":
        print(m["record"]["user_id"])' "$1" | sort -nu
}
uids "$TMP/resumed.jsonl" >"$TMP/ou2"
o2=$(wc -l <"$TMP/o2")
# Every order of the resumed users, read back from the API.
for u in $(cat "$TMP/u2"); do
  curl -s "$TESTAPI_URL/v1/users/$u/orders?per_page=50" |
    python3 -c 'import json, sys; [print(o["id"]) for o in json.load(sys.stdin)["data"]]'
done | sort -n >"$TMP/want"
if [ "$o1" -gt 100 ] && [ "$o2" -gt 0 ] && [ "$o2" -lt 40 ] &&
   [ -z "$(comm -23 "$TMP/ou2" "$TMP/u2")" ] && cmp -s "$TMP/want" "$TMP/o2"; then
  ok "resumed: orders is the child of users ($o1 orders, then the $o2 of the resumed users)"
else
  not_ok "resumed: orders is the child of users"
  diag "first $o1 orders, resumed $o2; users of those orders: $(tr '\n' ' ' <"$TMP/ou2")" \
    "resumed users: $(tr '\n' ' ' <"$TMP/u2")" "their orders: $(tr '\n' ' ' <"$TMP/want") got $(tr '\n' ' ' <"$TMP/o2")"
fi
if [ -n "$(comm -13 "$TMP/u1" "$TMP/u2")" ] &&
   [ -z "$(comm -12 "$TMP/u1" "$TMP/u2" | grep -v "^$(tail -n 1 "$TMP/u1")\$")" ]; then
  ok "resumed: new users only (ties at the cursor may repeat)"
else
  not_ok "resumed: new users only"; diag "$(comm -12 "$TMP/u1" "$TMP/u2" | head -5)"
fi
