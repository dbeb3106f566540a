# fastpath.sh - emit_batch's two paths give the same bytes. The pager
# plugin in batch mode pulls each collection twice, through the page
# scanner (the default) and through jansson (INTEG_SLOW_PATH=1), in every
# output format, with INTEG_NOW fixed: the outputs must be identical, and
# identical to the pager's record mode (the plugin parses, emit_record).
# Collections: the benchmark's pages (1000 items a page), items, users,
# orders, ensure_ascii, gzip, chunked, both, and a Link-header page.
# Then what only the fast path does: an integer beyond int64 is data, a
# body with a byte that is not UTF-8 fails as invalid_response naming the
# stream and the byte without being asked again, and a page with a record
# that is not an object is written not at all. Last, emit_mapped (the
# declarative plugin): a mapping with every cast and a nested path, and
# an inclusive cursor whose resumed run meets its boundary again (a
# tie): both paths write the same bytes and keep the same state.
. "$top_srcdir/tests/lib.sh"
plan 36
tmpdir
export INTEG_PLUGIN_PATH="$TEST_PLUGIN_DIR" INTEG_NOW=2024-06-01T12:00:00Z
export INTEG_HOME="$TMP/home"
printf '{"data":[{"id":1,"updated_at":"2024-01-01T00:00:00Z","big":18446744073709551616,"neg":-99999999999999999999},{"id":2,"updated_at":"2024-01-01T00:00:01Z","big":1}],"has_more":false}' >"$TMP/big.json"
printf '{"data":[{"id":1,"name":"ok"},{"id":2,"name":"bad \377 byte"}],"has_more":false}' >"$TMP/badutf8.json"
printf '{"data":[{"id":1},7,{"id":3}],"has_more":false}' >"$TMP/notobj.json"
printf '{"data":[{"id":9223372036854775808,"updated_at":"2024-01-01T00:00:00Z"}],"has_more":false}' >"$TMP/bigid.json"
printf '{"data":[{"id":1,"a":2},{"id":3}]}' >"$TMP/plain.json"
printf '{"data":[{"id":1,"t":"2024-01-01T00:00:00Z","v":"x"},{"id":2,"t":"2024-01-01T00:00:01Z","v":"2"}]}' >"$TMP/tie.json"
printf '{"data":[{"id":1,"t":"nope","v":"1"},{"id":2,"t":"2024-01-01T00:00:00Z","v":"x"}]}' >"$TMP/both.json"
C='"pagination": "cursor", "max_page_size": 1000'
cat >"$TMP/scenario.json" <<EOT
{"routes": [
 {"path": "/bench", "collection": {"kind": "item", "count": 3000, "seed": 1, $C}},
 {"path": "/items", "collection": {"kind": "item", "count": 700, "seed": 2, $C}},
 {"path": "/users", "collection": {"kind": "user", "count": 700, "seed": 3, $C}},
 {"path": "/orders", "collection": {"kind": "order", "count": 300, "seed": 4, $C}},
 {"path": "/ascii", "collection": {"kind": "item", "count": 300, "seed": 5, "ensure_ascii": true, $C}},
 {"path": "/gzip", "collection": {"kind": "item", "count": 500, "seed": 6, "gzip": true, $C}},
 {"path": "/chunked", "collection": {"kind": "item", "count": 500, "seed": 7, "chunked": true, $C}},
 {"path": "/both", "collection": {"kind": "user", "count": 500, "seed": 8, "chunked": true, "gzip": true, $C}},
 {"path": "/big", "responses": [{"body_file": "big.json"}]},
 {"path": "/badutf8", "responses": [{"body_file": "badutf8.json"}]},
 {"path": "/notobj", "responses": [{"body_file": "notobj.json"}]},
 {"path": "/bigid", "responses": [{"body_file": "bigid.json"}]},
 {"path": "/o-plain", "responses": [{"body_file": "plain.json"}]},
 {"path": "/o-tie", "responses": [{"body_file": "tie.json"}]},
 {"path": "/o-both", "responses": [{"body_file": "both.json"}]}
]}
EOT
start_testapi "$TMP/scenario.json" || { not_ok "testapi starts"; exit 1; }
U=$TESTAPI_URL

# pull PATH MODE FORMAT OUT [PAGE]: one run; status in $RC, stderr in $ERR.
pull() {
  printf '{"base_url": "%s", "path": "%s", "stream": "s", "page_size": %s, "mode": "%s"}\n' \
    "$U" "$1" "${5:-250}" "$2" >"$TMP/cfg.json"
  rm -f "$4"
  run "$INTEG" run --plugin pager --format "$3" --output "file:$4" \
    --config-json "$TMP/cfg.json"
}

for path in /bench /items /users /orders /ascii /gzip /chunked /both; do
  size=250
  [ $path = /bench ] && size=1000
  for f in singer airbyte jsonl; do
    pull $path batch $f "$TMP/fast" $size
    frc=$RC ferr=$ERR
    INTEG_SLOW_PATH=1 pull $path batch $f "$TMP/slow" $size
    src=$RC
    pull $path record $f "$TMP/rec" $size
    if [ $frc = 0 ] && [ $src = 0 ] && [ $RC = 0 ] && [ -s "$TMP/fast" ] &&
      cmp -s "$TMP/fast" "$TMP/slow" && cmp -s "$TMP/fast" "$TMP/rec"; then
      res=ok
    else
      res=no
    fi
    [ $f = singer ] && line="$path:" || line="$line"
    line="$line $f=$res"
    if [ $res != ok ]; then
      diag "$path $f: rc fast=$frc slow=$src record=$RC" "$ferr"
      cmp "$TMP/fast" "$TMP/slow" | sed 's/^/# /'
    fi
  done
  is "$line" "$path: singer=ok airbyte=ok jsonl=ok" "$path: scanner, jansson and record mode write the same bytes"
done
is "$(wc -l <"$TMP/fast" | tr -d ' ')" 500 "... and every record is there"

# An integer beyond int64 passes through as its text.
pull /big batch singer "$TMP/fast"
is "$RC" 0 "a page with integers beyond int64 is read"
like "$(cat "$TMP/fast")" '"big":18446744073709551616,"neg":-99999999999999999999' "... and they pass through digit for digit"
INTEG_SLOW_PATH=1 pull /big batch singer "$TMP/slow"
isnt_ok=$RC
[ "$isnt_ok" != 0 ] && ok "the slow path (jansson) refuses them" || not_ok "the slow path (jansson) refuses them"

# ... but not where the host needs the value: the key the cursor keeps.
pull /bigid batch singer "$TMP/fast"
isnt() { [ "$1" != "$2" ] && ok "$3" || { not_ok "$3"; diag "got $1"; }; }
isnt "$RC" 0 "an id beyond int64 that the cursor needs fails the run"
like "$ERR" 'stream s: page [^ ]*/bigid[^ ]*: byte 15: the primary key [$][.]id is an integer beyond int64.*invalid_response' "... naming page, stream, field and byte"

# A byte that is not UTF-8: invalid_response, not asked again.
since=$(curl -s "$U/_testapi/log" | sed -n 's/^{"count": *\([0-9]*\).*/\1/p')
pull /badutf8 batch singer "$TMP/fast"
isnt "$RC" 0 "a body that is not UTF-8 fails the run"
like "$ERR" "invalid_response" "... as invalid_response"
like "$ERR" "stream s: not valid JSON at byte 50: invalid UTF-8" "... naming the stream and the byte"
like "$ERR" "127.0.0.1:[0-9]*/badutf8" "... and the page"
hits=$(curl -s "$U/_testapi/log?since=$since" | grep -o '"path": *"/badutf8"' | wc -l)
is "$hits" 1 "... and the body is not asked for again"
is "$(grep -c '"type":"RECORD"' "$TMP/fast")" 0 "... and nothing of the page is written"

# A record that is not an object: nothing of its page is written.
for p in fast slow; do
  if [ $p = slow ]; then export INTEG_SLOW_PATH=1; fi
  pull /notobj batch jsonl "$TMP/$p"
  isnt "$RC" 0 "$p path: a record that is not an object fails the page"
  like "$ERR" "record 1 selected by .*data.* is not a JSON object" "$p path: ... naming the record"
  is "$(cat "$TMP/$p" 2>/dev/null)" "" "$p path: ... and nothing of the page is written"
  unset INTEG_SLOW_PATH
done

# Field selection on the bytes: a Singer catalog that leaves out two
# middle members and the last, and an Airbyte configured catalog that
# lists a few columns. Both paths write the same bytes, without the
# fields left out (test_jscan drops the first member, and every other).
printf '{"base_url": "%s", "path": "/items", "stream": "s", "page_size": 250, "mode": "batch"}\n' \
  "$U" >"$TMP/cfg.json"
cat >"$TMP/singer-cat.json" <<'EOT'
{"streams": [{"tap_stream_id": "s", "stream": "s", "schema": {"type": "object"},
  "metadata": [
   {"breadcrumb": [], "metadata": {"selected": true}},
   {"breadcrumb": ["properties", "ratio"], "metadata": {"selected": false}},
   {"breadcrumb": ["properties", "name"], "metadata": {"selected": false}},
   {"breadcrumb": ["properties", "attributes"], "metadata": {"selected": false}}]}]}
EOT
cat >"$TMP/airbyte-cat.json" <<'EOT'
{"streams": [{"stream": {"name": "s", "json_schema": {"type": "object",
   "properties": {"price": {}, "tags": {}, "attributes": {}}},
   "supported_sync_modes": ["full_refresh", "incremental"]},
  "sync_mode": "full_refresh",
  "destination_sync_mode": "append", "primary_key": [["id"]]}]}
EOT
for p in fast slow; do
  [ $p = slow ] && export INTEG_SLOW_PATH=1
  "$INTEG" tap pager --config "$TMP/cfg.json" --catalog "$TMP/singer-cat.json" \
    >"$TMP/$p-tap" 2>"$TMP/$p-tap.err"
  echo "$?" >"$TMP/$p-taprc"
  "$INTEG" source pager read --config "$TMP/cfg.json" --catalog "$TMP/airbyte-cat.json" |
    sed 's/"emitted_at":[0-9]*/"emitted_at":0/' >"$TMP/$p-src" 2>"$TMP/$p-src.err"
  unset INTEG_SLOW_PATH
done
n=$(grep -c '"type":"RECORD"' "$TMP/fast-tap")
if [ "$(cat "$TMP/fast-taprc")" = 0 ] && cmp -s "$TMP/fast-tap" "$TMP/slow-tap" && [ "$n" = 700 ] &&
  ! grep '"type":"RECORD"' "$TMP/fast-tap" | grep -q '"ratio":\|"name":\|"attributes":\|,}'; then
  ok "Singer field selection: the same bytes on both paths, without the fields left out"
else
  not_ok "Singer field selection: the same bytes on both paths, without the fields left out"
  diag "$n records" "$(cat "$TMP/fast-tap.err")" "$(cmp "$TMP/fast-tap" "$TMP/slow-tap")"
fi
rec=$(grep '"type":"RECORD"' "$TMP/fast-src" | head -1)
if cmp -s "$TMP/fast-src" "$TMP/slow-src" && [ "$(grep -c '"type":"RECORD"' "$TMP/fast-src")" = 700 ] &&
  echo "$rec" | grep -q '"data":{"id":1,"price":[0-9.]*,"tags":\[[^]]*\],"attributes":{.*}},"emitted_at"'; then
  ok "Airbyte column selection: the same bytes on both paths, the columns listed and the key"
else
  not_ok "Airbyte column selection: the same bytes on both paths, the columns listed and the key"
  diag "$rec" "$(cat "$TMP/fast-src.err")" "$(cmp "$TMP/fast-src" "$TMP/slow-src")"
fi

# emit_mapped's order, on both paths: an empty mapping writes {}; a
# repeat at the boundary is dropped before it is mapped (its bad cast does
# not matter); and record by record, the cursor before the cast.
cat >"$TMP/order.yaml" <<EOT
base_url: "$U"
streams:
  - name: empty
    request: {path: /o-plain}
    records: "\$.data[*]"
    fields: {}
  - name: tie
    request: {path: /o-tie}
    records: "\$.data[*]"
    primary_key: id
    cursor: {path: "\$.t", param: since}
    fields: {id: "\$.id", v: {path: "\$.v", cast: integer}}
  - name: both
    request: {path: /o-both}
    records: "\$.data[*]"
    primary_key: id
    cursor: {path: "\$.t", param: since}
    fields: {id: "\$.id", v: {path: "\$.v", cast: integer}}
EOT
printf '{"definition": "%s"}\n' "$TMP/order.yaml" >"$TMP/order.json"
printf '{"bookmarks": {"tie": {"cursor": "2024-01-01T00:00:00Z", "keys": [[1]]}}}\n' >"$TMP/order-state.json"
for p in fast slow; do
  [ $p = slow ] && export INTEG_SLOW_PATH=1
  INTEG_PLUGIN_PATH="$PLUGIN_DIR" "$INTEG" tap declarative --config "$TMP/order.json" \
    --state "$TMP/order-state.json" >"$TMP/$p-order" 2>"$TMP/$p-order.err"
  echo "$?" >"$TMP/$p-order.rc"
  unset INTEG_SLOW_PATH
done
if cmp -s "$TMP/fast-order" "$TMP/slow-order" && cmp -s "$TMP/fast-order.err" "$TMP/slow-order.err" &&
  [ "$(cat "$TMP/fast-order.rc")" = 1 ] &&
  [ "$(grep -c '"stream":"empty","record":{},' "$TMP/fast-order")" = 2 ] &&
  [ "$(grep '"stream":"tie","record"' "$TMP/fast-order" | sed 's/,"time_extracted.*//')" = '{"type":"RECORD","stream":"tie","record":{"id":2,"v":2}' ] &&
  grep -q 'stream both: page [^ ]*/o-both: the cursor value "nope"' "$TMP/fast-order.err"; then
  ok "emit_mapped on both paths: {} maps to {}, a repeat is dropped unmapped, the cursor fails before the cast"
else
  not_ok "emit_mapped on both paths: {} maps to {}, a repeat is dropped unmapped, the cursor fails before the cast"
  diag "$(cat "$TMP/fast-order" "$TMP/fast-order.err" "$TMP/slow-order" "$TMP/slow-order.err")"
fi

# emit_mapped, fast and slow: each path against its own server (the
# collection grows a record per request), run, then resumed.
cat >"$TMP/mapped.yaml" <<'EOT'
base_url: "${config.base_url}"
streams:
  - name: ties
    request: {path: /ties, params: {limit: 7}}
    records: "$.data[*]"
    primary_key: id
    cursor: {path: "$.updated_at", param: updated_after}
    fields:
      key: {path: "$.id", cast: string}
      id: {path: "$.id", cast: integer}
      idn: {path: "$.id", cast: number}
      price: {path: "$.price", cast: string}
      priceint: {path: "$.quantity", cast: integer}
      qty: {path: "$.quantity", cast: number}
      active: {path: "$.active", cast: boolean}
      activestr: {path: "$.active", cast: string}
      name: "$.name"
      city: "$['attributes'].owner.city"
      attrs: "$.attributes"
      missing: {path: "$.nope.none", cast: integer}
      updated_at: "$.updated_at"
    pagination: {type: cursor, token: "$.next_cursor", has_more: "$.has_more"}
  - name: whole
    request: {path: /ties, params: {limit: 7}}
    records: "$.data[*]"
    primary_key: id
    cursor: {path: "$.updated_at", param: updated_after}
    pagination: {type: cursor, token: "$.next_cursor", has_more: "$.has_more"}
EOT
for p in fast slow; do
  start_testapi "$abs_top_srcdir/tests/declarative/api.json" ||
    { not_ok "testapi starts"; exit 1; }
  cat >"$TMP/$p.yaml" <<EOT
integ: 1
plugin_path: ["$PLUGIN_DIR"]
store: $TMP/$p.db
output: {format: singer}
connectors:
  m:
    plugin: declarative
    config: {definition: mapped.yaml, base_url: "$TESTAPI_URL"}
EOT
  [ $p = slow ] && export INTEG_SLOW_PATH=1
  for f in singer airbyte; do
    "$INTEG" -c "$TMP/$p.yaml" run --format $f m >"$TMP/$p-1-$f" 2>"$TMP/$p-1-$f.err"
    echo "$?" >>"$TMP/$p-rc"
  done
  "$INTEG" -c "$TMP/$p.yaml" run m >"$TMP/$p-2" 2>"$TMP/$p-2.err"
  echo "$?" >>"$TMP/$p-rc"
  "$INTEG" -c "$TMP/$p.yaml" state show m ties >"$TMP/$p-state" 2>&1
  "$INTEG" -c "$TMP/$p.yaml" state show m whole >"$TMP/$p-wstate" 2>&1
  unset INTEG_SLOW_PATH
done
is "$(tr '\n' ' ' <"$TMP/fast-rc")$(tr '\n' ' ' <"$TMP/slow-rc")" "0 0 0 0 0 0 " "emit_mapped: every run exits 0 on both paths"
for f in singer airbyte; do
  cmp -s "$TMP/fast-1-$f" "$TMP/slow-1-$f" && [ -s "$TMP/fast-1-$f" ] &&
    ok "emit_mapped $f: the fast and the slow path write the same bytes" ||
    { not_ok "emit_mapped $f: the fast and the slow path write the same bytes"; diff "$TMP/fast-1-$f" "$TMP/slow-1-$f" | head -5 | sed 's/^/# /'; }
done
like "$(grep '"type":"RECORD"' "$TMP/fast-1-singer" | head -1)" \
  '"record":\{"key":"1","id":1,"idn":1,"price":"[0-9.]+","priceint":[0-9]+,"qty":[0-9]+,"active":(true|false),"activestr":"(true|false)","name":.*,"city":.*,"attrs":\{.*\},"missing":null,"updated_at":"2024-01-01T00:00:00Z"\}' \
  "emit_mapped: every cast, a nested path, an object and a missing path"
cmp -s "$TMP/fast-2" "$TMP/slow-2" && grep -q '"type":"RECORD"' "$TMP/fast-2" &&
  ok "emit_mapped resumed at a tie: the same bytes on both paths" ||
  { not_ok "emit_mapped resumed at a tie: the same bytes on both paths"; diff "$TMP/fast-2" "$TMP/slow-2" | head -5 | sed 's/^/# /'; }
first=$(sed -n 's/.*"type":"RECORD".*"key":"\([0-9]*\)".*/\1/p' "$TMP/fast-2" | head -1)
last=$(sed -n 's/.*"type":"RECORD".*"key":"\([0-9]*\)".*/\1/p' "$TMP/fast-1-airbyte" | tail -1)
if cmp -s "$TMP/fast-state" "$TMP/slow-state" && [ -n "$first" ] && [ "$first" -gt "${last:-0}" ]; then
  ok "... the boundary record is not written again; the same state"
else
  not_ok "... the boundary record is not written again; the same state"
  diag "first resumed $first, last before $last" "$(cat "$TMP/fast-state" "$TMP/slow-state")"
fi
# Whole records with a cursor (no mapping): the scanner writes them and
# hands the cursor each record's value and key as bytes.
first=$(sed -n 's/.*"type":"RECORD","stream":"whole","record":{"id":\([0-9]*\).*/\1/p' "$TMP/fast-2" | head -1)
last=$(sed -n 's/.*"type":"RECORD","record":{"stream":"whole","data":{"id":\([0-9]*\).*/\1/p' "$TMP/fast-1-airbyte" | tail -1)
if cmp -s "$TMP/fast-wstate" "$TMP/slow-wstate" && grep -q '"keys"' "$TMP/fast-wstate" &&
  [ -n "$first" ] && [ "$first" -gt "${last:-0}" ]; then
  ok "whole records and a cursor: the boundary record is not written again; the same state"
else
  not_ok "whole records and a cursor: the boundary record is not written again; the same state"
  diag "first resumed $first, last before $last" "$(cat "$TMP/fast-wstate" "$TMP/slow-wstate")"
fi
