#!/bin/sh
# testapi_e2e.sh - end to end: `integ run` loads the httppull test plugin,
# which pulls a paginated collection from the test API server; the records
# on stdout and the server's request log must agree.
. "$abs_top_srcdir/tests/lib.sh"

command -v jq >/dev/null 2>&1 || skip_all "jq is not installed"
[ -x "$TESTAPI" ] || skip_all "$TESTAPI is not built"
[ -f "$TEST_PLUGIN_DIR/httppull.so" ] || skip_all "httppull.so is not built"

tmpdir
plan 12

cat >"$TMP/scenario.json" <<'JSON'
{"routes": [
  {"path": "/items", "collection": {
    "count": 230, "seed": 5, "page_size": 50, "pagination": "page",
    "gzip": "auto"}},
  {"path": "/feed", "collection": {
    "count": 120, "seed": 6, "page_size": 25, "pagination": "cursor"}}
]}
JSON
if ! start_testapi "$TMP/scenario.json"; then
  not_ok "the test API server starts"
  exit 1
fi
ok "the test API server starts"

printf '{"base_url": "%s", "path": "/items", "stream": "items"}\n' \
  "$TESTAPI_URL" >"$TMP/config.json"
INTEG_PLUGIN_PATH=$TEST_PLUGIN_DIR "$INTEG" run --plugin httppull \
  --config-json "$TMP/config.json" >"$TMP/out" 2>"$TMP/err"
rc=$?
is "$rc" 0 "integ run --plugin httppull exits 0"
[ "$rc" = 0 ] || diag "$(cat "$TMP/err")"
jq -c 'select(.id != null) | .id' "$TMP/out" >"$TMP/ids"
is "$(wc -l <"$TMP/ids" | tr -d ' ')" 230 "230 records came out"
is "$(sort -un "$TMP/ids" | wc -l | tr -d ' ')" 230 "each record once"
is "$(sort -n "$TMP/ids" | sed -n '1p;$p' | tr '\n' ' ')" "1 230 " \
  "ids 1 to 230"
like "$(cat "$TMP/out")" '9007199254740993' \
  "big integers pass through integ exactly"

log=$(curl -s "$TESTAPI_URL/_testapi/log")
is "$(printf '%s\n' "$log" | jq '.count')" 5 \
  "the server saw 5 requests (230 records, 50 per page)"
is "$(printf '%s\n' "$log" | jq -r '[.requests[].args.page] | join(",")')" \
  "1,2,3,4,5" "the request log shows pages 1 to 5 in order"
is "$(printf '%s\n' "$log" | jq '[.requests[].connection] | unique | length')" \
  1 "all pages came over one kept-alive connection"
like "$(printf '%s\n' "$log" | jq -r '.requests[0].headers["accept-encoding"]')" \
  'gzip' "the plugin accepted gzip (and got it)"

curl -s -X POST "$TESTAPI_URL/_testapi/reset" >/dev/null
printf '{"base_url": "%s", "path": "/feed", "pagination": "cursor"}\n' \
  "$TESTAPI_URL" >"$TMP/config2.json"
INTEG_PLUGIN_PATH=$TEST_PLUGIN_DIR "$INTEG" run --plugin httppull \
  --config-json "$TMP/config2.json" >"$TMP/out2" 2>"$TMP/err2"
is "$?/$(jq -c 'select(.id != null) | .id' "$TMP/out2" | sort -un | wc -l |
  tr -d ' ')" "0/120" "a cursor walk through integ: 120 records"
is "$(curl -s "$TESTAPI_URL/_testapi/log" |
  jq -c '[.requests[] | .args.cursor != null]')" \
  '[false,true,true,true,true]' \
  "the first request has no cursor, the next 4 carry one"
