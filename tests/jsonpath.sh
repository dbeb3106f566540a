# jsonpath.sh - `integ jsonpath`: output, --paths, exit codes and messages.
. "$top_srcdir/tests/lib.sh"
tmpdir
plan 23

cat >"$TMP/doc.json" <<'EOF'
{"items": [{"name": "pen", "price": 2}, {"name": "book", "price": 12.5},
           {"name": "ink", "price": 9.5}], "z": 1, "a": {"z": 2}}
EOF

run "$INTEG" jsonpath '$.items[?@.price < 10].name' "$TMP/doc.json"
is "$RC:$OUT" '0:["pen","ink"]' "filter selects names in document order"

run "$INTEG" jsonpath --paths '$.items[?@.price < 10].name' "$TMP/doc.json"
is "$OUT" "[\"\$['items'][0]['name']\",\"\$['items'][2]['name']\"]" \
  "--paths prints normalized paths"

run "$INTEG" jsonpath '$..z' "$TMP/doc.json" --paths
is "$OUT" "[\"\$['z']\",\"\$['a']['z']\"]" "--paths may follow the operands"

run "$INTEG" jsonpath '$' "$TMP/doc.json"
is "$OUT" '[{"items":[{"name":"pen","price":2},{"name":"book","price":12.5},{"name":"ink","price":9.5}],"z":1,"a":{"z":2}}]' \
  "keys keep their order, output is compact on one line"

run sh -c "printf '[1, \"a\\\\u0000b\", 2.0]' | \"\$INTEG\" jsonpath '\$[?@ == 1 || @ == 2]' -"
is "$RC:$OUT" '0:[1,2.0]' "reads standard input for -; 2.0 == 2"

run sh -c "printf '\"x\\\\u0000y\"' | \"\$INTEG\" jsonpath '\$'"
is "$OUT" '["x\u0000y"]' "any JSON value, NUL in strings, stdin by default"

run "$INTEG" jsonpath '$.nothing' "$TMP/doc.json"
is "$RC:$OUT" '0:[]' "no match prints an empty array"

run "$INTEG" jsonpath '$.items[?@.price < 10' "$TMP/doc.json"
is "$RC" 2 "invalid query exits 2"
like "$ERR" "at character 22: expected ',' or '\]'" \
  "the message gives the position and what was expected"

run "$INTEG" jsonpath '$[?length(@.*) > 1]' "$TMP/doc.json"
like "$RC:$ERR" "^2:.*argument 1 of length\(\)" \
  "ill-typed function argument is refused at compile time"

printf '{"a": [1,\n  2,,]}' >"$TMP/bad.json"
run "$INTEG" jsonpath '$' "$TMP/bad.json"
like "$RC:$ERR" "^1:.*bad\.json:2:5: " "invalid JSON exits 1 with file:line:column"

run "$INTEG" jsonpath '$' "$TMP/missing.json"
like "$RC:$ERR" "^1:.*missing\.json" "unreadable file exits 1 and names it"

run "$INTEG" jsonpath
is "$RC" 2 "a missing query is a usage error"

run "$INTEG" jsonpath --help
like "$RC:$OUT" "^0:Usage: integ jsonpath" "--help prints the usage"

# --- cost: nested existence tests, streaming, caps
sanitized() {
  nm -D "$INTEG" 2>/dev/null | grep -q '__asan_init\|__ubsan_handle' ||
    ldd "$INTEG" 2>/dev/null | grep -q 'libasan\|libubsan'
}
# chain N KEY TAIL: N nested objects {"KEY": ...} around TAIL.
chain() { awk -v n="$1" -v k="$2" -v t="$3" 'BEGIN { for (i = 0; i < n; i++) printf "{\"%s\":", k; printf "%s", t; for (i = 0; i < n; i++) printf "}" }'; }
chain 2000 aaaaaaaaaa 1 >"$TMP/chain.json"          # 28 KB, no b anywhere
printf '[' >"$TMP/chainb.json"; chain 2000 aaaaaaaaaa '{"b":1}' >>"$TMP/chainb.json"; printf ']' >>"$TMP/chainb.json"
chain 2000 ab 1 >"$TMP/deep.json"                    # 14 KB, 2000 levels

# Each filter's test used to build the whole nodelist of its query: cubic
# in the depth (55 s here). Generous bound: 30 s.
t0=$(date +%s)
run timeout 120 "$INTEG" jsonpath '$..[?@..[?@..[?@.b]]]' "$TMP/chain.json"
t=$(($(date +%s) - t0))
is "$RC:$OUT" "0:[]" "nested existence filters with no match: no node"
if [ "$t" -le 30 ]; then ok "... in bounded time (${t} s)"; else not_ok "... in bounded time (${t} s, want <= 30)"; fi
t0=$(date +%s)
run timeout 120 "$INTEG" jsonpath '$[?@..[?@..[?@.b]]]' "$TMP/chainb.json"
t=$(($(date +%s) - t0))
like "$RC:$OUT" '^0:\[\{"aaaaaaaaaa":' "nested existence filters that match at the bottom: the node"
if [ "$t" -le 30 ]; then ok "... in bounded time (${t} s)"; else not_ok "... in bounded time (${t} s, want <= 30)"; fi

# $..*..* on 14 KB selects 2 million nodes, 9 GB of JSON: printed as found,
# in flat memory (it used to pass 4 GB before printing anything).
if sanitized; then
  ok "# SKIP integ is built with sanitizers (no address-space limit)"
else
  head=$( (ulimit -v 400000; timeout 120 "$INTEG" jsonpath '$..*..*' "$TMP/deep.json") 2>/dev/null | head -c 20)
  is "$head" '[{"ab":{"ab":{"ab":{' "\$..*..* prints its first nodes at once, within 400 MB of address space"
fi
timeout 120 "$INTEG" jsonpath --paths '$..*..*' "$TMP/deep.json" >/dev/null 2>"$TMP/cap.err"
like "$?:$(cat "$TMP/cap.err")" "^1:.*normalized paths of the nodes selected pass 67108864 bytes; narrow the query" \
  "--paths: a cap on the bytes of paths, with a clear error (exit 1)"
awk 'BEGIN { printf "["; for (i = 0; i < 4096; i++) printf "%s0", i ? "," : ""; printf "]" }' >"$TMP/zeros.json"
q=$(awk 'BEGIN { printf "$["; for (i = 0; i < 4097; i++) printf "%s*", i ? "," : ""; printf "]" }')
timeout 120 "$INTEG" jsonpath "$q" "$TMP/zeros.json" >/dev/null 2>"$TMP/cap.err"
like "$?:$(cat "$TMP/cap.err")" "^1:.*the query selects more than 16777216 nodes; narrow it" \
  "a cap on the nodes one query selects, with a clear error (exit 1)"
q=$(awk 'BEGIN { printf "$"; for (i = 0; i < 1025; i++) printf ".a" }')
run "$INTEG" jsonpath "$q" "$TMP/doc.json"
like "$RC:$ERR" "^2:.*more than 1024 segments in one query" "a query of more than 1024 segments is refused"
run sh -c "\"\$INTEG\" jsonpath '\$[*]' \"$TMP/zeros.json\" | head -c 8"
is "$OUT" "[0,0,0,0" "results stream to standard output"
