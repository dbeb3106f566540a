#!/bin/sh
# testapi.sh - the test API server's own tests: each response feature as
# libcurl (through the curl tool) sees it, every pagination style walked to
# the end, incremental filters and growth, the request log, the control
# endpoints, SIGTERM, idle exit, and that it listens on loopback only.
. "$abs_top_srcdir/tests/lib.sh"

command -v curl >/dev/null 2>&1 || skip_all "the curl tool is not installed"
command -v jq >/dev/null 2>&1 || skip_all "jq is not installed"
[ -x "$TESTAPI" ] || skip_all "$TESTAPI is not built"

SCEN=$abs_top_srcdir/tests/testapi/scenarios/features.json
tmpdir
plan 85

# Fetch URL into $TMP/b (body) and $TMP/h (headers); sets $CODE and $CRC.
fetch() {
  CODE=$(curl -s -o "$TMP/b" -D "$TMP/h" -w '%{http_code}' "$@")
  CRC=$?
}
# The value of header $1 in $TMP/h, without the CR.
header() {
  tr -d '\r' <"$TMP/h" | sed -n "s/^$1: //Ip" | head -n 1
}
# Seconds as a float compared: ge A B -> true when A >= B.
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
log_json() { curl -s "$U/_testapi/log"; }
# "count unique first last" of the ids in file $1.
id_summary() {
  echo "$(wc -l <"$1" | tr -d ' ') $(sort -un "$1" | wc -l | tr -d ' ')" \
    "$(sort -n "$1" | head -n 1) $(sort -n "$1" | tail -n 1)"
}

# ------------------------------------------------------------ command line
run "$TESTAPI" --help
is "$RC" 0 "--help exits 0"
like "$OUT" 'usage: testapi' "--help prints the usage"

printf '{"routes":[{"path":"/x","responses":[{"stauts":200}]}]}' \
  >"$TMP/bad.json"
run "$TESTAPI" --scenario "$TMP/bad.json" --idle-exit 1
is "$RC" 2 "a scenario with an unknown key is refused (exit 2)"
like "$ERR" 'routes\[0\]\.responses\[0\]: unknown key "stauts"' \
  "the refusal names the key path"

if ! start_testapi "$SCEN"; then
  not_ok "the server starts"
  exit 1
fi
ok "the server starts and prints its port ($TESTAPI_PORT)"
U=$TESTAPI_URL

# ------------------------------------------------------------ loopback only
hexport=$(printf '%04X' "$TESTAPI_PORT")
listen=$(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
  awk -v p=":$hexport" '$4 == "0A" && substr($2, length($2) - 4) == p \
    { print $2 }')
is "$listen" "0100007F:$hexport" \
  "the only listening socket on the port is 127.0.0.1 (/proc/net/tcp)"
if command -v ss >/dev/null 2>&1; then
  is "$(ss -Hltn "sport = :$TESTAPI_PORT" | awk '{ print $4 }')" \
    "127.0.0.1:$TESTAPI_PORT" "ss -ltn shows 127.0.0.1:$TESTAPI_PORT only"
else
  ok "# SKIP ss is not installed"
fi

# ------------------------------------------------------- status and headers
fetch "$U/status/teapot"
is "$CODE" 418 "status comes from the scenario"
is "$(header X-Custom)/$(header Retry-After)" "brew/7" \
  "headers come from the scenario"
is "$(header Content-Type)" "application/json" \
  "a json body is sent as application/json"
is "$(cat "$TMP/b")" '{"ok":false,"real":0.1}' \
  "a json body is compact and its reals are short"

is "$(curl -s "$U/seq/repeat" "$U/seq/repeat" "$U/seq/repeat")" \
  "onetwotwo" "repeat_last: the last response repeats"
is "$(curl -s "$U/seq/cycle" "$U/seq/cycle" "$U/seq/cycle")" \
  "onetwoone" "cycle: the responses cycle"

fetch -X POST -H 'X-Trace: abc' -H 'Content-Type: application/json' \
  --data-binary '{"name":"zoë"}' "$U/echo?a=1&b=two%20words"
is "$CODE" 201 "a POST route answers"

# ----------------------------------------------------------- parallel delay
curl -s -o /dev/null -w '%{time_total}' "$U/slow" >"$TMP/slow.t" &
slowpid=$!
# Wait until the slow request has arrived, so the fast one overlaps it.
i=0
while [ $i -lt 100 ] && ! log_json | jq -e \
  'any(.requests[]; .path == "/slow")' >/dev/null; do
  sleep 0.05
  i=$((i + 1))
done
fast=$(curl -s -o /dev/null -w '%{time_total}' "$U/fast")
wait $slowpid
slow=$(cat "$TMP/slow.t")
if ge 1.5 "$fast"; then
  ok "a request during a 2 s delay is answered at once (${fast}s)"
else
  not_ok "a request during a 2 s delay is answered at once (${fast}s)"
fi
if ge "$slow" 2.0; then
  ok "the delayed request took at least 2 s (${slow}s)"
else
  not_ok "the delayed request took at least 2 s (${slow}s)"
fi

# ------------------------------------------------------------------ chunks
out=$(curl -s -D "$TMP/h" -w ' %{time_total}' "$U/drip")
is "${out% *}" "0123456789ABCDEF" "a chunked body arrives whole"
is "$(header Transfer-Encoding)" "chunked" "it is sent chunked"
if ge "${out##* }" 0.45; then
  ok "chunks come with delays between them (${out##* }s >= 3 x 150 ms)"
else
  not_ok "chunks come with delays between them (${out##* }s)"
fi

# -------------------------------------------------------------- truncation
fetch "$U/cut/length"
is "$CRC" 18 "a body cut short under Content-Length: curl exits 18"
is "$(header Content-Length)/$(cat "$TMP/b")" "36/0123456789" \
  "36 bytes were announced, 10 arrived"
fetch "$U/cut/chunked"
if [ "$CRC" -ne 0 ]; then
  ok "a chunked body cut short is an error for curl (exit $CRC)"
else
  not_ok "a chunked body cut short is an error for curl (exit 0)"
fi
is "$(header Transfer-Encoding)/$(cat "$TMP/b")" "chunked/0123456789" \
  "the chunked body stopped after 10 bytes"

# -------------------------------------------------------------------- gzip
fetch "$U/gzip"
is "$(header Content-Encoding)" "gzip" "gzip: Content-Encoding: gzip"
is "$(head -c 2 "$TMP/b" | od -An -tx1 | tr -d ' ')" "1f8b" \
  "gzip: the raw body is a gzip stream"
is "$(curl -s --compressed "$U/gzip")" \
  '{"compressed":"yes yes yes yes yes yes yes yes"}' \
  "gzip: curl --compressed decodes it"
fetch "$U/gzip/auto"
is "$(header Content-Encoding)|$(cat "$TMP/b")" \
  "|negotiated negotiated negotiated" \
  "gzip auto: plain for a client that does not accept gzip"
fetch --compressed "$U/gzip/auto"
is "$(header Content-Encoding)|$(cat "$TMP/b")" \
  "gzip|negotiated negotiated negotiated" \
  "gzip auto: gzip for a client that accepts it"

# ------------------------------------------------------- files and params
fetch "$U/file"
is "$(jq -r .from "$TMP/b")" "body_file" "body_file is served"
like "$(cat "$TMP/b")" '"n": 9007199254740993' \
  "body_file bytes are sent as they are"
is "$(curl -s "$U/users/7/orders" | jq -c '[.data[0].id, ([.data[].user_id] | unique)]')" \
  '[7001,[7]]' "path parameters: /users/7/orders holds user 7's orders"

# -------------------------------------------------------------- pagination
: >"$TMP/ids"
n=0 page=1
while [ $n -lt 50 ]; do
  curl -s "$U/items/page?page=$page&per_page=50" >"$TMP/p" || break
  n=$((n + 1))
  jq -r '.data[].id' "$TMP/p" >>"$TMP/ids"
  [ "$page" -ge "$(jq -r .total_pages "$TMP/p")" ] && break
  page=$((page + 1))
done
is "$(id_summary "$TMP/ids") $n" "250 250 1 250 5" \
  "page: 250 records, each once, in 5 requests"
is "$(log_json | jq -r '[.requests[] | select(.path == "/items/page") |
  .args.page] | join(",")')" "1,2,3,4,5" \
  "page: the log shows pages 1 to 5"

: >"$TMP/ids"
n=0 offset=0
while [ $n -lt 50 ]; do
  curl -s "$U/items/offset?offset=$offset&limit=50" >"$TMP/p" || break
  n=$((n + 1))
  jq -r '.data[].id' "$TMP/p" >>"$TMP/ids"
  offset=$((offset + 50))
  [ "$offset" -ge "$(jq -r .total "$TMP/p")" ] && break
done
is "$(id_summary "$TMP/ids") $n" "250 250 1 250 5" \
  "offset: 250 records, each once, in 5 requests"

: >"$TMP/ids"
n=0 cursor=
while [ $n -lt 50 ]; do
  curl -s "$U/items/cursor${cursor:+?cursor=$cursor}" >"$TMP/p" || break
  n=$((n + 1))
  jq -r '.data[].id' "$TMP/p" >>"$TMP/ids"
  cursor=$(jq -r '.next_cursor // empty' "$TMP/p")
  [ -z "$cursor" ] && break
done
is "$(id_summary "$TMP/ids") $n" "250 250 1 250 5" \
  "cursor: 250 records, each once, in 5 requests"
is "$(jq -r .has_more "$TMP/p")" "false" "cursor: the last page says has_more false"

: >"$TMP/ids"
n=0 url="$U/items/next"
while [ $n -lt 50 ] && [ -n "$url" ]; do
  curl -s "$url" >"$TMP/p" || break
  n=$((n + 1))
  jq -r '.data[].id' "$TMP/p" >>"$TMP/ids"
  url=$(jq -r '.next // empty' "$TMP/p")
done
is "$(id_summary "$TMP/ids") $n" "250 250 1 250 5" \
  "next_url: 250 records, each once, in 5 requests"

: >"$TMP/ids"
n=0 url="$U/items/link"
while [ $n -lt 50 ] && [ -n "$url" ]; do
  fetch "$url"
  n=$((n + 1))
  jq -r '.[].id' "$TMP/b" >>"$TMP/ids"
  url=$(header Link | tr ',' '\n' | sed -n 's/.*<\(.*\)>; rel="next".*/\1/p')
done
is "$(id_summary "$TMP/ids") $n" "250 250 1 250 5" \
  "link: 250 records, each once, in 5 requests"
is "$(header X-Total-Count)" 250 "link: X-Total-Count"
like "$(header Link)" 'page=4&per_page=50>; rel="prev"' \
  "link: the last page links to the previous one"

# ------------------------------------------------------------- incremental
t56=$(curl -s "$U/items/cursor" | jq -r '"\(.data[4].updated_at) \(.data[5].updated_at)"')
t5=${t56% *}
is "${t56#* }" "$t5" "records 5 and 6 share one updated_at (a cursor tie)"
is "$(curl -s "$U/items/cursor?updated_after=$t5" | jq -r '.data[0].id')" \
  7 "updated_after is strict: after record 5's time comes record 7"
t100=$(curl -s "$U/items/page?page=2&per_page=50" | jq -r '.data[49].updated_at')
: >"$TMP/ids"
n=0 url="$U/items/next?since=$t100"
while [ $n -lt 50 ] && [ -n "$url" ]; do
  curl -s "$url" >"$TMP/p" || break
  n=$((n + 1))
  jq -r '.data[].id' "$TMP/p" >>"$TMP/ids"
  url=$(jq -r '.next // empty' "$TMP/p")
done
is "$(id_summary "$TMP/ids") $n" "149 149 102 250 3" \
  "since= filters and next URLs keep it: records 102 to 250"
fetch "$U/items/cursor?updated_after=yesterday"
is "$CODE" 400 "a bad updated_after is a 400"
like "$(cat "$TMP/b")" 'updated_after: expected an RFC 3339 time' \
  "the 400 names the argument"
fetch "$U/items/cursor?cursor=bogus"
is "$CODE" 400 "an unknown cursor is a 400"

# ------------------------------------------------------------------ growth
c1=$(curl -s "$U/items/grow" | jq '.data | length')
p2=$(curl -s "$U/items/grow")
c2=$(printf '%s\n' "$p2" | jq '.data | length')
is "$c1 $c2" "10 13" "grow_per_request: 3 records are added after a request"
t13=$(printf '%s\n' "$p2" | jq -r '.data[-1].updated_at')
is "$(curl -s "$U/items/grow?updated_after=$t13" | jq -c '[.data[].id]')" \
  "[14,15,16]" "an incremental request sees only the new records"

: >"$TMP/ids"
n=0 cursor=
while [ $n -lt 50 ]; do
  curl -s "$U/items/desc${cursor:+?cursor=$cursor}" >"$TMP/p" || break
  n=$((n + 1))
  jq -r '.data[].id' "$TMP/p" >>"$TMP/ids"
  cursor=$(jq -r '.next_cursor // empty' "$TMP/p")
  [ -z "$cursor" ] && break
done
is "$(id_summary "$TMP/ids") $n" "30 30 1 30 3" \
  "newest first, growing: a cursor walk sees the 30 records once each"
is "$(curl -s "$U/items/desc" | jq '.data[0].id')" 45 \
  "newest first: 15 records were added meanwhile"

# ------------------------------------------------------------ record shape
curl -s "$U/items/page?page=1&per_page=20" >"$TMP/raw"
like "$(cat "$TMP/raw")" '"big":9007199254740993,' \
  "big integers are sent exactly (2^53 + 1)"
like "$(cat "$TMP/raw")" '"max_int64":9223372036854775807,' \
  "int64 max is sent exactly"
like "$(cat "$TMP/raw")" '"ratio":2.5e-10,.*"ratio":1e-7,' \
  "reals with negative exponents"
like "$(cat "$TMP/raw")" '"ratio":6.02214076e23,.*"price":[0-9]+\.[0-9]+,' \
  "reals with positive exponents and plain reals"
like "$(cat "$TMP/raw")" '"name":"NUL\\u0000inside"' \
  "a NUL inside a string is escaped"
like "$(cat "$TMP/raw")" 'Grinning 😀 face' "non-BMP characters as UTF-8"
is "$(curl -s "$U/items/page?page=1&per_page=20" | cmp - "$TMP/raw" &&
  echo same)" same "records are deterministic"
curl -s "$U/items/ascii" >"$TMP/ascii"
like "$(cat "$TMP/ascii")" 'Grinning \\u[dD]83[dD]\\u[dD][eE]00 face' \
  "ensure_ascii: non-BMP characters as surrogate pairs"
is "$(LC_ALL=C tr -d '\000-\177' <"$TMP/ascii" | wc -c | tr -d ' ')" 0 \
  "ensure_ascii: the body is ASCII"
is "$(jq -r '.data[3].name' "$TMP/ascii" | od -An -tx1 | tr -d ' \n')" \
  "$(printf 'Tab\there, newline\nthere, return\r\n' | od -An -tx1 |
    tr -d ' \n')" "tab, newline and return survive a round trip"


# ------------------------------------------------------------- request log
curl -s -o /dev/null -o /dev/null "$U/fast" "$U/fast"
curl -s -o /dev/null "$U/fast"
conns=$(log_json | jq -r '[.requests[-3:][] | .connection] |
  "\(.[0] == .[1]) \(.[1] != .[2])"')
is "$conns" "true true" \
  "connection ids: same for one keep-alive connection, new for another"
lport=$(curl -s -o /dev/null -w '%{local_port}' "$U/fast")
is "$(log_json | jq '.requests[-1].client_port')" "$lport" \
  "the log has the client's port"
is "$(log_json | jq -c '.requests[] | select(.path == "/echo") |
  [.method, .query, .args.b, .headers["x-trace"], .body, .status]')" \
  '["POST","a=1&b=two%20words","two words","abc","{\"name\":\"zoë\"}",201]' \
  "the log has method, raw query, arguments, headers, body and status"
is "$(log_json | jq '[.requests[].time_ms] | (. == sort) and .[0] >= 0')" \
  "true" "arrival times in ms grow with the log"
is "$(log_json | jq '[.requests[].seq] | . == [range(1; length + 1)]')" \
  "true" "entries are numbered from 1"
last=$(log_json | jq '.count')
curl -s -o /dev/null "$U/fast"
is "$(curl -s "$U/_testapi/log?since=$last" | jq -c '[.requests[].path]')" \
  '["/fast"]' "log?since=N returns the newer entries"

# ---------------------------------------------------------------- failures
fetch -X POST "$U/_testapi/fail?route=/fast&count=2&status=503&retry_after=1"
is "$CODE" 200 "fail injection is accepted"
is "$(for i in 1 2 3; do
  curl -s -o /dev/null -w '%{http_code} ' "$U/fast"
done)" "503 503 200 " "the next 2 requests fail with 503, then it recovers"
curl -s -X POST "$U/_testapi/fail?route=/fast" >/dev/null
fetch "$U/fast"
is "$CODE $(header Retry-After)" "503 " \
  "an injected failure has a Retry-After only when asked"
curl -s -X POST -g "$U/_testapi/fail?route=/users/{id}/orders&status=500" \
  >/dev/null
is "$(curl -s -o /dev/null -w '%{http_code}' "$U/users/5/orders")" 500 \
  "a failure can target a route pattern"
is "$(log_json | jq -c '[.requests[] | select(.status >= 500) | .status]')" \
  "[503,503,503,500]" "the log records the injected statuses"

# ----------------------------------------------------------------- control
is "$(curl -s -o /dev/null -w '%{http_code}' "$U/nope")" 404 \
  "an unknown path is a 404"
is "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$U/fast")" 405 \
  "a known path with another method is a 405"
curl -s -X POST "$U/_testapi/reset" >/dev/null
is "$(log_json | jq .count)" 0 "reset empties the log"
is "$(curl -s "$U/seq/repeat")/$(curl -s "$U/items/grow" | jq '.data|length')" \
  "one/10" "reset rewinds responses and growth"
fetch -X POST --data-binary \
  '{"routes":[{"path":"/new","responses":[{"body":"new"}]}]}' \
  "$U/_testapi/scenario"
is "$CODE $(curl -s "$U/new") $(curl -s -o /dev/null -w '%{http_code}' "$U/fast")" \
  "200 new 404" "a scenario can be switched by POSTing it"
fetch -X POST -G --data-urlencode "file=$SCEN" "$U/_testapi/scenario"
is "$CODE $(curl -s "$U/fast")" "200 fast" "or by naming its file"
fetch -X POST --data-binary \
  '{"routes":[{"path":"/_testapi/log","responses":[{"body":"x"}]}]}' \
  "$U/_testapi/scenario"
is "$CODE" 400 "a scenario cannot shadow the control endpoints"
like "$(cat "$TMP/b")" 'reserved' "and says why"
curl -s -X POST "$U/_testapi/reset" >/dev/null
curl -s -o /dev/null "$U/fast"
is "$(log_json | jq -c '[.requests[].path]')" '["/fast"]' \
  "control requests are not logged"

# ------------------------------------------------------- SIGTERM, log file
stop_testapi
is "$TESTAPI_RC" 0 "SIGTERM: exit status 0"

start_testapi "$SCEN" --log "$TMP/log.jsonl"
U=$TESTAPI_URL
curl -s -o /dev/null "$U/fast?x=1"
curl -s -m 10 -o /dev/null "$U/slow" &
curlpid=$!
i=0
while [ $i -lt 100 ] && [ "$(wc -l <"$TMP/log.jsonl")" -lt 2 ]; do
  sleep 0.05
  i=$((i + 1))
done
is "$(jq -r -s 'map(.path + "?" + .query) | join(" ")' "$TMP/log.jsonl")" \
  "/fast?x=1 /slow?" "--log writes one JSON line per request"
t0=$(date +%s.%N)
stop_testapi
t1=$(date +%s.%N)
wait $curlpid 2>/dev/null
if [ "$TESTAPI_RC" = 0 ] &&
  ge 1.5 "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"; then
  ok "SIGTERM during a delayed response: exits 0 at once"
else
  not_ok "SIGTERM during a delayed response: exits 0 at once (rc $TESTAPI_RC)"
fi

# ---------------------------------------------------------------- idle exit
start_testapi "" --idle-exit 1
i=0
while [ $i -lt 100 ] && kill -0 "$TESTAPI_PID" 2>/dev/null; do
  sleep 0.1
  i=$((i + 1))
done
if kill -0 "$TESTAPI_PID" 2>/dev/null; then
  not_ok "--idle-exit 1: the server exits by itself"
  kill "$TESTAPI_PID"
else
  wait "$TESTAPI_PID"
  is "$?" 0 "--idle-exit 1: the server exits by itself, status 0"
fi
like "$(cat "$TESTAPI_STDERR")" 'idle for 1 s' "and says why"
