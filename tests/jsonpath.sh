# jsonpath.sh - `integ jsonpath`: output, --paths, exit codes and messages.
. "$top_srcdir/tests/lib.sh"
tmpdir
plan 14

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
