# http.sh - the host's HTTP service through the real binary, against the
# test API server: retries, waits, limits, breaker, rate limit, redaction.
# Timing checks are lower bounds with generous upper bounds.
. "$top_srcdir/tests/lib.sh"
command -v python3 >/dev/null || skip_all "python3 is needed to read the request log"
command -v sqlite3 >/dev/null || skip_all "sqlite3 is needed to read the run history"
plan 71
tmpdir
start_testapi "$top_srcdir/tests/http/scenario.json" || { not_ok "testapi starts"; exit 1; }
U=$TESTAPI_URL

# A manifest with one connector "p" on the httpprobe plugin. $1 is the
# plugin config (JSON), $2 more connector keys (YAML flow, may be empty).
manifest() {
  cat >"$TMP/integ.yaml" <<EOT
integ: 1
plugin_path: ["$TEST_PLUGIN_DIR", "$PLUGIN_DIR"]
store: $TMP/integ.db
output: {format: jsonl}
connectors:
  p:
    plugin: httpprobe
    config: $1
${2:+    $2}
EOT
}

# probe CONFIG [EXTRA]: reset the server, run, leave $OUT $ERR $RC and the
# server's request log in $TMP/log.json.
probe() {
  curl -s -X POST "$U/_testapi/reset" >/dev/null
  manifest "$1" "${2:-}"
  run "$INTEG" -c "$TMP/integ.yaml" run p
  curl -s "$U/_testapi/log" >"$TMP/log.json"
}

# py EXPR: evaluate with log = the request log, out = the probe records.
py() {
  printf '%s\n' "$OUT" >"$TMP/out.jsonl"
  python3 - "$TMP/log.json" "$TMP/out.jsonl" "$1" <<'EOT'
import json, sys
log = json.load(open(sys.argv[1]))["requests"]
log = [r for r in log if not r["path"].startswith("/_testapi")]
out = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
def hits(p): return [r for r in log if r["path"] == p]
def gaps(p):
    t = [r["time_ms"] for r in hits(p)]
    return [b - a for a, b in zip(t, t[1:])]
print(eval(sys.argv[3]))
EOT
}

req() { printf '{"url": "%s%s"%s}' "$U" "$1" "${2:+, $2}"; }
fast='retry: {max_attempts: 3, base: 10ms, max: 5s}'

# --- retries and attempt counts
probe "{\"requests\": [$(req /flaky '"expect_json": true')]}" "$fast"
is "$RC" 0 "503, 503, 200 succeeds"
is "$(py 'len(hits("/flaky"))')" 3 "and took exactly 3 attempts"

probe "{\"requests\": [$(req /flaky)]}" "retry: {max_attempts: 2, base: 10ms}"
is "$(py 'len(hits("/flaky"))')" 2 "max_attempts bounds the attempts"
like "$(py 'out[0]["error"]')" "HTTP 503 \(server\).* after 2 attempts" "the error says status, category and attempts"
is "$(py 'out[0]["category"]')" server "the response's category is server"

for s in 400 404 422 401; do
  probe "{\"requests\": [$(req /bad/$s)]}" "$fast"
  is "$(py "len(hits('/bad/$s'))")" 1 "HTTP $s is not retried"
done
probe "{\"requests\": [$(req /bad/400)]}" "$fast"
like "$(py 'out[0]["error"]')" "HTTP 400 \(client\): field x is bad \[code invalid\] \(request id req-400\)" "provider message, code and request id from errors[0]"
probe "{\"requests\": [$(req /bad/422)]}" "$fast"
like "$(py 'out[0]["error"]')" "cursor expired \[code invalid_request\]" "provider message from error/error_description"
probe "{\"requests\": [$(req /bad/404)]}" "$fast"
is "$(py 'out[0]["category"]')" not_found "404 is not_found"

# --- waits
probe "{\"requests\": [$(req /after/seconds)]}" "$fast"
g=$(py 'gaps("/after/seconds")[0]')
if [ "$g" -ge 900 ] && [ "$g" -le 10000 ]; then ok "Retry-After: 1 waits about a second ($g ms)"; else not_ok "Retry-After: 1 waits about a second"; diag "gap $g ms"; fi

curl -s -X POST "$U/_testapi/reset" >/dev/null
d=$(date -u -d '+3 sec' '+%a, %d %b %Y %H:%M:%S GMT')
manifest "{\"requests\": [$(req /ok)]}" "$fast"
curl -s -X POST "$U/_testapi/fail?route=/ok&count=1&status=503&retry_after=$(printf '%s' "$d" | sed 's/ /%20/g; s/,/%2C/g')" >/dev/null
run "$INTEG" -c "$TMP/integ.yaml" run p
curl -s "$U/_testapi/log" >"$TMP/log.json"
g=$(py 'gaps("/ok")[0] if len(gaps("/ok")) else -1')
if [ "$g" -ge 900 ] && [ "$g" -le 10000 ]; then ok "Retry-After as an HTTP date is honoured ($g ms)"; else not_ok "Retry-After as an HTTP date is honoured"; diag "gap $g ms, date $d" "$OUT" "$ERR"; fi

probe "{\"requests\": [$(req /after/long)]}" "$fast"
like "$(py 'out[0]["error"]')" "giving up: the server asks to wait 3600 s, more than retry.max" "a wait longer than retry.max fails at once"
is "$(py 'out[0]["category"]')" rate_limited "... as rate_limited"
is "$(py 'len(hits("/after/long"))')" 1 "... without sleeping for an hour"

probe "{\"requests\": [$(req /quota), $(req /quota)]}" "$fast"
g=$(py 'gaps("/quota")[0]')
if [ "$g" -ge 900 ] && [ "$g" -le 10000 ]; then ok "X-RateLimit-Remaining: 0 holds the next request until the reset ($g ms)"; else not_ok "X-RateLimit-Remaining: 0 holds the next request"; diag "gap $g"; fi

probe "{\"requests\": [$(req /quota/ietf)]}" "$fast"
g=$(py 'gaps("/quota/ietf")[0]')
if [ "$g" -ge 900 ] && [ "$g" -le 10000 ]; then ok "a 429 with RateLimit-Reset retries after the reset ($g ms)"; else not_ok "a 429 with RateLimit-Reset retries after the reset"; diag "gap $g"; fi

# --- methods
probe "{\"requests\": [$(req /post/500 '"method": "POST", "json": {"a": 1}')]}" "$fast"
is "$(py 'len(hits("/post/500"))')" 1 "a failed POST is not repeated"
probe "{\"requests\": [$(req /post/500 '"method": "POST", "post_safe": true')]}" "$fast"
is "$(py 'len(hits("/post/500"))')" 2 "a POST marked safe is repeated"
probe "{\"requests\": [$(req /post/503 '"method": "POST"')]}" "$fast"
is "$(py 'len(hits("/post/503"))')" 2 "a POST answered 503 with Retry-After is repeated (not processed)"
probe "{\"requests\": [$(req /ok '"method": "POST", "form": {"a b": "c&d"}')]}" "$fast"
is "$(py 'hits("/ok")[0]["body"]')" "a%20b=c%26d" "form bodies are percent-encoded"
probe "{\"requests\": [$(req /ok '"query": {"q": "a b&c", "é": "1"}')]}" "$fast"
is "$(py 'hits("/ok")[0]["query"]')" "q=a%20b%26c&%C3%A9=1" "query parameters are percent-encoded"
like "$(py 'hits("/ok")[0]["headers"].get("user-agent")')" '^integ/[0-9.]+$' "User-Agent is integ/VERSION"

# --- limits and broken bodies
probe "{\"requests\": [$(req /big/chunked), $(req /big/gzip)]}" "$fast
    http: {max_body: 100}"
is "$(py '[o["category"] for o in out]')" "['too_large', 'too_large']" "a chunked and a gzip body over max_body are cut off"
is "$(py 'len(hits("/big/chunked")) + len(hits("/big/gzip"))')" 2 "... and not retried"
like "$(py 'out[1]["error"]')" "larger than http.max_body \(100 bytes\)" "... saying which limit"

probe "{\"requests\": [$(req /cut/length '"expect_json": true')]}" "$fast"
is "$(py 'out[0]["category"]')" invalid_response "a body cut short (Content-Length) is invalid_response"
is "$(py 'len(hits("/cut/length"))')" 3 "... and retried"
probe "{\"requests\": [$(req /cut/nolength '"expect_json": true')]}" "$fast"
is "$(py '(out[0]["rc"], len(hits("/cut/nolength")))')" "(0, 2)" "a chunked body cut short is retried, then succeeds"
probe "{\"requests\": [$(req /notjson '"expect_json": true')]}" "$fast"
like "$(py 'out[0]["error"]')" "invalid_response.*not valid JSON" "a 2xx that is not JSON is invalid_response"
is "$(py 'len(hits("/notjson"))')" 3 "... and retried"

probe "{\"requests\": [$(req /loop)]}" "$fast
    http: {max_redirects: 3}"
like "$(py 'out[0]["error"]')" "[Rr]edirect" "a redirect loop stops at max_redirects"
is "$(py 'len(hits("/loop"))')" 4 "... after 1 + 3 requests"

probe "{\"requests\": [$(req /ok '"sleep_ms": 0'), $(req /ok), $(req /ok), $(req /ok), $(req /ok), $(req /flaky), $(req /ok), $(req /ok), $(req /ok), $(req /ok)]}" "$fast"
is "$(py 'len(set(r["connection"] for r in log))')" 1 "12 requests share one TCP connection"

# --- the circuit breaker
probe "{\"requests\": [$(req /down), $(req /down), $(req /down), $(req /ok '"sleep_ms": 1300'), $(req /ok)]}" "retry: {max_attempts: 1}
    http: {breaker_threshold: 2, breaker_cooldown: 1s}"
is "$(py '[o["category"] for o in out]')" "['server', 'server', 'circuit_open', 'ok', 'ok']" "breaker: closed, open after 2 failures, half-open probe, closed"
is "$(py 'len(hits("/down"))')" 2 "an open breaker fails fast without a request"
like "$(py 'out[2]["error"]')" "circuit open for http://127.0.0.1:[0-9]+ after repeated failures" "circuit_open names the upstream"
probe "{\"requests\": [$(req /down), $(req /down), $(req /down '"sleep_ms": 1300'), $(req /down)]}" "retry: {max_attempts: 1}
    http: {breaker_threshold: 2, breaker_cooldown: 1s}"
is "$(py '([o["category"] for o in out], len(hits("/down")))')" "(['server', 'server', 'server', 'circuit_open'], 3)" "a failed probe opens the breaker again"

# --- the token bucket
probe "{\"requests\": [$(for i in 1 2 3 4 5 6 7 8 9 10 11; do printf '%s,' "$(req /ok)"; done)$(req /ok)]}" "rate_limit: {per_second: 4, burst: 1}"
span=$(py 'hits("/ok")[-1]["time_ms"] - hits("/ok")[0]["time_ms"]')
if [ "$span" -ge 2600 ] && [ "$span" -le 12000 ]; then ok "12 requests at 4/s take at least 2.75 s ($span ms)"; else not_ok "12 requests at 4/s take about 2.75 s"; diag "span $span ms"; fi
is "$(py 'min(gaps("/ok")) >= 200')" True "no two requests closer than the rate allows (250 ms, 50 ms slack)"

# --- emit_batch
probe "{\"requests\": [$(req /records '"batch": {"stream": "recs", "records": "$.data[*]", "fields": {"next": "$.meta.next", "ids": "$.data[*].id", "none": "$.nothing"}}')]}" "$fast"
is "$(printf '%s\n' "$OUT" | head -2 | tr '\n' ' ')" '{"id":1,"v":423.962} {"id":2,"v":"x"} ' "emit_batch writes the selected records"
is "$(py 'out[2]["page"]')" "{'status': 200, 'records': 2, 'fields': {'next': 'abc', 'ids': [1, 2], 'none': None}, 'next_url': 'http://example.invalid/records?page=2'}" "emit_batch returns fields (singular: value, else array) and the Link next URL"
probe "{\"requests\": [$(req /records '"batch": {"stream": "recs", "records": "$.data[?"}')]}" "$fast"
like "$(py 'out[0]["error"]')" "JSONPath '\\\$.data\[\?'.*character" "a bad records path names the query and the position"

# --- secrets stay out of logs, errors and cassettes
canary=CANARY7f3a9
printf 'Bearer %s-file\n' "$canary" >"$TMP/token"
chmod 600 "$TMP/token"
curl -s -X POST "$U/_testapi/reset" >/dev/null
cat >"$TMP/integ.yaml" <<EOT
integ: 1
plugin_path: ["$TEST_PLUGIN_DIR"]
store: $TMP/integ.db
output: {format: jsonl}
connectors:
  p:
    plugin: httpprobe
    retry: {max_attempts: 2, base: 10ms}
    config:
      requests:
        - {url: "$U/bad/401", headers: {Authorization: "Bearer $canary-hdr", X-Api-Key: "$canary-key"}}
        - {url: "$U/down", query: {api_key: "$canary-q", page: "2"}}
        - {url: "http://user:$canary-pw@127.0.0.1:$TESTAPI_PORT/down"}
        - {url: "$U/bad/400", headers: {Authorization: "\${file:$TMP/token}"}}
EOT
"$INTEG" -vv -c "$TMP/integ.yaml" run --record "$TMP/secrets.cassette" p >"$TMP/secrets.out" 2>"$TMP/secrets.err"
curl -s "$U/_testapi/log" >"$TMP/log.json"
n=$(grep -c "$canary" "$TMP/secrets.out" "$TMP/secrets.err" "$TMP/secrets.cassette" | awk -F: '{s+=$2} END {print s}')
is "$n" 0 "the canary is in no record, log line, error or cassette"
like "$(cat "$TMP/secrets.cassette")" 'api_key=REDACTED&page=2' "the cassette keeps the request, secrets redacted"
like "$(cat "$TMP/secrets.err")" 'REDACTED@127.0.0.1' "a password in a URL is redacted in errors"
like "$(py 'str([r["headers"].get("authorization") for r in hits("/bad/401")])')" "$canary-hdr" "... while the server did get the real header"

# --- a provider that echoes the token back (401, in its JSON error body
# and in two headers): the token is in no log line, error, run-history row,
# cassette or output. One token comes from ${env:}, one is a literal in a
# secret header; both are known secrets from then on.
curl -s -X POST "$U/_testapi/reset" >/dev/null
rm -f "$TMP/integ.db"
cat >"$TMP/integ.yaml" <<EOT
integ: 1
plugin_path: ["$TEST_PLUGIN_DIR"]
store: $TMP/integ.db
output: {format: jsonl}
connectors:
  p:
    plugin: httpprobe
    retry: {max_attempts: 2, base: 10ms}
    config:
      fail_on_error: true
      requests:
        - {url: "$U/echo/401", headers: {Authorization: "Bearer \${env:INTEG_CANARY}", X-Api-Key: "$canary-lit"}}
EOT
INTEG_CANARY=$canary-env "$INTEG" -vv -c "$TMP/integ.yaml" run --record "$TMP/echo.cassette" p >"$TMP/echo.out" 2>"$TMP/echo.err"
rc=$?
curl -s "$U/_testapi/log" >"$TMP/log.json"
sqlite3 "$TMP/integ.db" 'SELECT status, message FROM runs' >"$TMP/echo.runs" 2>&1
is "$rc" 1 "a 401 the provider echoes the token in fails the run"
is "$(py 'str([r["headers"].get("authorization") for r in hits("/echo/401")])')" "['Bearer $canary-env']" "... the server got the real token"
for f in echo.out echo.err echo.cassette echo.runs; do
  n=$(grep -c "$canary" "$TMP/$f")
  if [ "$n" = 0 ]; then ok "the echoed token is not in $f"; else not_ok "the echoed token is not in $f"; diag "$(grep "$canary" "$TMP/$f" | head -3)"; fi
done
like "$(cat "$TMP/echo.runs")" 'failed\|.*HTTP 401 \(auth\): token <redacted> \(key <redacted>\) is not valid \[code invalid_token\]' "the run history keeps the provider's message, the token scrubbed"
like "$(cat "$TMP/echo.err")" 'error: .*token <redacted> \(key <redacted>\) is not valid' "so does the error line on stderr"
like "$(cat "$TMP/echo.cassette")" '"X-Echo","its key <redacted>"' "the cassette scrubs an echo in a response header"
like "$(cat "$TMP/echo.cassette")" '"Authorization":"REDACTED"' "... and redacts the request's secret headers"
like "$(cat "$TMP/echo.out")" '"body":"\{.*token <redacted> \(key <redacted>\)' "the failed body the plugin sees is scrubbed"

# --- a token the host applies itself (auth: bearer from ${env:}), with a
# command: target that records its own argv and environment from /proc:
# the token is nowhere but in the request the server got.
curl -s -X POST "$U/_testapi/reset" >/dev/null
rm -f "$TMP/integ.db"
cat >"$TMP/target.sh" <<'EOT'
tr '\0' '\n' </proc/$$/cmdline >"$1"
tr '\0' '\n' </proc/$$/environ >>"$1"
tr '\0' '\n' </proc/$PPID/cmdline >>"$1"
tr '\0' '\n' </proc/$PPID/environ >>"$1"
cat >/dev/null
EOT
cat >"$TMP/integ.yaml" <<EOT
integ: 1
plugin_path: ["$TEST_PLUGIN_DIR"]
store: $TMP/integ.db
output: {format: singer, to: "command:sh $TMP/target.sh $TMP/target.proc"}
connectors:
  p:
    plugin: httpprobe
    retry: {max_attempts: 2, base: 10ms}
    config: {quiet: true, requests: [{url: "$U/ok"}, {url: "$U/bad/401"}]}
    auth: {type: bearer, token: "\${env:INTEG_CANARY}", origins: ["$U"]}
EOT
INTEG_CANARY=$canary-auth "$INTEG" -vv -c "$TMP/integ.yaml" run --record "$TMP/auth.cassette" p >"$TMP/auth.out" 2>"$TMP/auth.err"
curl -s "$U/_testapi/log" >"$TMP/log.json"
sqlite3 "$TMP/integ.db" .dump >"$TMP/auth.dump" 2>&1
is "$(py 'hits("/ok")[0]["headers"].get("authorization")')" "Bearer $canary-auth" "the host applied the bearer token"
like "$(cat "$TMP/target.proc")" "target.sh" "the target recorded its argv and environment"
for f in auth.out auth.err auth.cassette auth.dump target.proc; do
  n=$(grep -c -a "$canary" "$TMP/$f")
  if [ "$n" = 0 ]; then ok "the applied token is not in $f"; else not_ok "the applied token is not in $f"; diag "$(grep -a "$canary" "$TMP/$f" | head -3)"; fi
done

# --- record and replay
stop_testapi
start_testapi "$abs_top_srcdir/tests/testapi/scenarios/demo.json" || { not_ok "testapi restarts"; exit 1; }
cat >"$TMP/integ.yaml" <<EOT
integ: 1
plugin_path: ["$PLUGIN_DIR"]
store: $TMP/integ.db
connectors:
  shop:
    plugin: example
    config: {base_url: "$TESTAPI_URL", page_size: 40}
EOT
INTEG_NOW=2026-01-01T00:00:00Z "$INTEG" -c "$TMP/integ.yaml" run --record "$TMP/shop.cassette" shop >"$TMP/live.out" 2>"$TMP/live.err"
is "$?" 0 "a live run records a cassette"
stop_testapi
# A fresh store: the live run committed its state, and resuming from it
# would ask for other pages.
sed -i "s|store: .*|store: $TMP/replay.db|" "$TMP/integ.yaml"
INTEG_NOW=2026-01-01T00:00:00Z "$INTEG" -c "$TMP/integ.yaml" run --replay "$TMP/shop.cassette" shop >"$TMP/replay.out" 2>"$TMP/replay.err"
is "$?" 0 "the replay runs with the server stopped"
if cmp -s "$TMP/live.out" "$TMP/replay.out" && [ -s "$TMP/live.out" ]; then ok "replayed output is byte-identical ($(wc -l <"$TMP/live.out") records)"; else not_ok "replayed output is byte-identical"; diag "$(diff "$TMP/live.out" "$TMP/replay.out" | head -5)" "$(cat "$TMP/replay.err")"; fi
sed -i "s/page_size: 40/page_size: 41/; s|store: .*|store: $TMP/replay2.db|" "$TMP/integ.yaml"
run "$INTEG" -c "$TMP/integ.yaml" run --replay "$TMP/shop.cassette" shop
if [ "$RC" = 1 ] && printf '%s' "$ERR" | grep -q "GET .*/v1/users?limit=41.*no exchange in the cassette matches"; then ok "a request not in the cassette fails, named"; else not_ok "a request not in the cassette fails, named"; diag "rc=$RC" "$ERR"; fi
