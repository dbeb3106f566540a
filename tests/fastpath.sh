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
# that is not an object is written not at all.
. "$top_srcdir/tests/lib.sh"
plan 26
tmpdir
export INTEG_PLUGIN_PATH="$TEST_PLUGIN_DIR" INTEG_NOW=2024-06-01T12:00:00Z
export INTEG_HOME="$TMP/home"
printf '{"data":[{"id":1,"updated_at":"2024-01-01T00:00:00Z","big":18446744073709551616,"neg":-99999999999999999999},{"id":2,"updated_at":"2024-01-01T00:00:01Z","big":1}],"has_more":false}' >"$TMP/big.json"
printf '{"data":[{"id":1,"name":"ok"},{"id":2,"name":"bad \377 byte"}],"has_more":false}' >"$TMP/badutf8.json"
printf '{"data":[{"id":1},7,{"id":3}],"has_more":false}' >"$TMP/notobj.json"
printf '{"data":[{"id":9223372036854775808,"updated_at":"2024-01-01T00:00:00Z"}],"has_more":false}' >"$TMP/bigid.json"
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
 {"path": "/bigid", "responses": [{"body_file": "bigid.json"}]}
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

# ... but not where the host needs the value: the ids the plugin asked for.
pull /bigid batch singer "$TMP/fast"
isnt() { [ "$1" != "$2" ] && ok "$3" || { not_ok "$3"; diag "got $1"; }; }
isnt "$RC" 0 "an id beyond int64 that the plugin asks for fails the run"
like "$ERR" "/bigid.*invalid_response.*stream s: field 'ids' at byte 15" "... naming page, stream, field and byte"

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
