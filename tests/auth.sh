# auth.sh - the host's auth against the test API's OAuth2 provider: the
# code flow with PKCE through `integ auth login` (curl is the browser),
# refresh before expiry, 401 -> refresh -> retry, rotation, invalid_grant,
# client credentials (both client authentications), credentials only to
# their origins (also across a redirect), one refresh for eight processes,
# the sealed store's errors, tap write-back and the source's CONTROL.
. "$top_srcdir/tests/lib.sh"
command -v python3 >/dev/null || skip_all "python3 is needed to read the request log"
command -v sqlite3 >/dev/null || skip_all "sqlite3 is needed to look into the store"
command -v curl >/dev/null || skip_all "curl is needed as the browser"
plan 88
tmpdir

# Server B: another origin, where a redirect leads.
start_testapi "$top_srcdir/tests/auth/oauth.json" || { not_ok "testapi B starts"; exit 1; }
B=$TESTAPI_URL B_PID=$TESTAPI_PID
# Server A: the provider and the API, with a route that redirects to B.
python3 - "$top_srcdir/tests/auth/oauth.json" "$B" >"$TMP/a.json" <<'EOT'
import json, sys
s = json.load(open(sys.argv[1]))
s["routes"].append({"path": "/hop/away", "responses": [{"status": 302, "headers": {"Location": sys.argv[2] + "/landing"}}]})
print(json.dumps(s))
EOT
start_testapi "$TMP/a.json" || { not_ok "testapi A starts"; exit 1; }
U=$TESTAPI_URL
export CS='s3cr&t x'

# scenario KEY=VALUE...: A's provider with these oauth2 settings (JSON
# values), everything reset.
scenario() {
  python3 - "$TMP/a.json" "$@" >"$TMP/a2.json" <<'EOT'
import json, sys
s = json.load(open(sys.argv[1]))
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    s["oauth2"][k] = json.loads(v)
print(json.dumps(s))
EOT
  curl -s -X POST "$U/_testapi/scenario?file=$TMP/a2.json" >/dev/null
  curl -s -X POST "$U/_testapi/reset" >/dev/null
}

# manifest [REFRESH_AT]: connectors on the httpprobe plugin, one per grant.
manifest() {
  cat >"$TMP/integ.yaml" <<EOT
integ: 1
plugin_path: ["$TEST_PLUGIN_DIR"]
store: $TMP/s.db
token_key: $TMP/token.key
output: {format: jsonl}
connectors:
  code:
    plugin: httpprobe
    account: alice
    retry: {max_attempts: 2, base: 10ms}
    config: {fail_on_error: true, requests: [{url: "$U/me"}]}
    auth:
      type: oauth2
      authorize_url: $U/oauth/authorize
      token_url: $U/oauth/token
      client_id: cid
      client_secret: \${env:CS}
      refresh_at: ${1:-0.8}
  rt:
    plugin: httpprobe
    account: bob
    retry: {max_attempts: 2, base: 10ms}
    config: {fail_on_error: true, requests: [{url: "$U/me"}, {url: "$U/me", sleep_ms: ${2:-0}}]}
    auth:
      type: oauth2
      grant: refresh_token
      refresh_token: \${env:RT}
      token_url: $U/oauth/token
      client_id: cid
      client_secret: \${env:CS}
      client_auth: client_secret_post
      refresh_at: ${1:-0.8}
  cc:
    plugin: httpprobe
    config: {requests: [{url: "$U/me"}, {url: "$U/hop/same"}, {url: "$U/hop/away"}]}
    auth: {type: oauth2, grant: client_credentials, token_url: $U/oauth/token, client_id: cid, client_secret: "\${env:CS}", origins: ["$U"]}
  ccp:
    plugin: httpprobe
    account: dave
    config: {requests: [{url: "$U/me"}]}
    auth: {type: oauth2, grant: client_credentials, token_url: $U/oauth/token, client_id: cid, client_secret: "\${env:CS}", client_auth: client_secret_post}
  decl:
    plugin: httpprobe
    account: erin
    config:
      requests: [{url: "$U/me"}]
      fail_on_error: true
      declare_auth: {type: oauth2, grant: client_credentials, token_url: "$U/oauth/token", origins: ["$U"]}
    auth: {client_id: cid, client_secret: "\${env:CS}"}
  decl2:
    plugin: httpprobe
    config:
      requests: [{url: "$U/me"}]
      declare_auth: {type: oauth2, grant: client_credentials, token_url: "$U/oauth/token"}
  html:
    plugin: httpprobe
    config: {fail_on_error: true, requests: [{url: "$U/me"}]}
    auth: {type: oauth2, grant: client_credentials, token_url: $U/html, client_id: cid, client_secret: "\${env:CS}"}
  badsec:
    plugin: httpprobe
    account: frank
    config: {fail_on_error: true, requests: [{url: "$U/me"}]}
    auth: {type: oauth2, grant: client_credentials, token_url: $U/oauth/token, client_id: cid, client_secret: "\${env:BAD}"}
  key:
    plugin: httpprobe
    config: {requests: [{url: "$U/landing"}, {url: "$U/hop/away"}]}
    auth: {type: api_key, key: "\${env:KEY}", name: X-Token, origins: ["$U"]}
EOT
}
export RT=rt-a KEY=key-CANARYk2 BAD=unused
manifest

# log PYEXPR: evaluate with log = A's request log (B's with LOG=B).
py() {
  curl -s "${LOG:-$U}/_testapi/log" >"$TMP/log.json"
  python3 - "$TMP/log.json" "$1" <<'EOT'
import json, sys
log = [r for r in json.load(open(sys.argv[1]))["requests"] if not r["path"].startswith("/_testapi")]
tok = [r for r in log if r["path"] == "/oauth/token"]
def hits(p): return [r for r in log if r["path"] == p]
def form(r): return dict(kv.split("=", 1) for kv in r["body"].split("&"))
print(eval(sys.argv[2]))
EOT
}
I="$INTEG -c $TMP/integ.yaml"
unlike() {
  if printf '%s\n' "$1" | grep -Eq -- "$2"; then
    not_ok "$3"; diag "expected not to match: $2"
  else
    ok "$3"
  fi
}

# --- validate: auth mistakes at their place
cat >"$TMP/bad.yaml" <<EOT
integ: 1
connectors:
  a:
    plugin: httpprobe
    auth: {type: oauth3}
  b:
    plugin: httpprobe
    auth:
      type: oauth2
      token_url: https://x.example/token
      authorize_url: https://x.example/auth
      client_secret: inline-CANARYs1
  c:
    plugin: httpprobe
    auth: {type: bearer, token: "\${env:KEY}", origins: ["https://x.example/path"]}
EOT
run "$INTEG" validate "$TMP/bad.yaml"
is "$RC" 2 "validate: bad auth settings exit 2"
like "$ERR" "bad.yaml:5:18: connectors.a.auth.type: .*oauth3" "an unknown auth type is reported at its value"
like "$ERR" "bad.yaml:8:5: connectors.b.auth: auth type oauth2 needs 'client_id'" "a missing client id is reported at its mapping"
like "$ERR" "bad.yaml:12:22: connectors.b.auth.client_secret: the secret 'client_secret' is written inline" "an inline secret is refused at its value"
like "$ERR" "connectors.c.auth.origins: 'https://x.example/path' is not an origin" "an origin with a path is refused"
unlike "$ERR" "CANARYs1" "the inline secret is not echoed"
run "$INTEG" validate "$TMP/integ.yaml"
is "$RC" 0 "the test manifest validates"
[ "$RC" = 0 ] || diag "$ERR"

# --- login: authorization code + PKCE, curl as the browser
$I auth login code --port 0 >"$TMP/login.out" 2>"$TMP/login.err" &
lp=$!
i=0
while ! grep -q 'Waiting for' "$TMP/login.out" && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
url=$(grep -o "$U/oauth/authorize?[^ ]*" "$TMP/login.out")
like "$url" "code_challenge_method=S256&.*|code_challenge=.*&state=|state=.*code_challenge=" "the authorization URL carries a S256 challenge and state"
curl -s -L "$url" >"$TMP/browser.out"
wait $lp
is "$?" 0 "login exits 0 after the redirect reached its listener"
like "$(cat "$TMP/login.out")" "Logged in: account alice" "login says who is logged in"
like "$(cat "$TMP/browser.out")" "login is complete" "the browser gets a page"
is "$(py '(lambda f: (f["grant_type"], len(f["code_verifier"]) >= 43, "redirect_uri" in f))(form(tok[-1]))')" "('authorization_code', True, True)" "the code is exchanged with the PKCE verifier and the redirect URI"
run $I auth status code
is "$RC" 0 "auth status: exit 0 with a usable token"
like "$OUT" "alice .*$U/oauth/token#cid.* ok" "auth status shows account, provider and state"
run $I auth status --json
is "$(printf '%s' "$OUT" | python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; print(r["account"], r["needs_login"], r["expires_ms"] > 0)')" "alice False True" "auth status --json"
run $I run code
is "$RC" 0 "a run uses the stored token"
is "$(py 'hits("/me")[-1]["status"]')" 200 "... and the protected resource accepts it"

# --- login failures: nothing stored, exit 1
# login_nl URLFILTER: a --no-listen login; the browser's redirect is
# rewritten by the sed script $1 before it is pasted.
login_nl() {
  # The old output goes first: the login's shell truncates nl.out only
  # once the FIFO has a writer, and the wait below must not read the last
  # login's lines.
  rm -f "$TMP/fifo" "$TMP/nl.out" "$TMP/nl.err"; mkfifo "$TMP/fifo"
  $I auth login code --account carol --no-listen <"$TMP/fifo" >"$TMP/nl.out" 2>"$TMP/nl.err" &
  nlp=$!
  exec 4>"$TMP/fifo"
  i=0
  while ! grep -qs 'Then paste' "$TMP/nl.out" && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
  url=$(grep -o "$U/oauth/authorize?[^ ]*" "$TMP/nl.out")
  loc=$(curl -s -o /dev/null -w '%{redirect_url}' "$url")
  printf '%s\n' "$loc" | sed "$1" >&4
  exec 4>&-
  wait $nlp
  NLRC=$?
  [ -n "$loc" ] || diag "no redirect from $url: $(cat "$TMP/nl.out" "$TMP/nl.err")"
}
login_nl 's/state=[^&]*/state=forged/'
is "$NLRC" 1 "a state mismatch exits 1"
like "$(cat "$TMP/nl.err")" "state mismatch" "... saying so"
login_nl 's#/callback#/elsewhere#'
is "$NLRC" 1 "a wrong redirect exits 1"
like "$(cat "$TMP/nl.err")" "not the redirect URI" "... saying so"
login_nl 's/x/x/'
is "$NLRC" 0 "--no-listen reads the redirected URL from stdin"
[ "$NLRC" = 0 ] || diag "$(cat "$TMP/nl.err")"
code_used=$(printf '%s' "$loc" | sed -n 's/.*code=\([^&]*\).*/\1/p')
login_nl "s/code=[^&]*/code=$code_used/"
is "$NLRC" 1 "a reused code exits 1"
like "$(cat "$TMP/nl.err")" "invalid_grant: code already used: nothing stored" "... with the provider's error"
run $I auth logout code --account carol
is "$RC" 0 "logout removes the token"
run $I auth status code --account carol
is "$RC" 1 "... and status then says none is stored (exit 1)"

# --- refresh before expiry, rotation
scenario access_ttl_ms=2000
manifest 0.5 1300
run $I run rt
is "$RC" 0 "refresh_token grant: the run succeeds"
is "$(py 'len(tok)')" 2 "one token at the start, one refresh before expiry"
# Both were refresh_token grants (the first turned the configured refresh
# token into an access token).
like "$(sqlite3 "$TMP/s.db" "SELECT stats FROM runs ORDER BY id DESC LIMIT 1")" '"token_refreshes": *2[,}]' \
  "... and the run history counts both refreshes"
is "$(py '[r["status"] for r in hits("/me")]')" "[200, 200]" "no request met a 401"
is "$(py '[form(r)["refresh_token"] for r in tok][1] != "rt-a"')" True "the second refresh sent the rotated token"
is "$(py 'hits("/me")[0]["headers"]["authorization"] != hits("/me")[1]["headers"]["authorization"]')" True "the second request carried the new access token"
is "$(py '"client_secret" in form(tok[0]) and "authorization" not in tok[0]["headers"]')" True "client_secret_post: the secret in the body"
run $I run rt
is "$RC" 0 "the next run uses the stored rotated token"

# --- 401 -> refresh -> retry
scenario
printf '{"access_token": "stale-CANARYa1", "refresh_token": "rt-b", "expires_in": 3600}' |
  $I auth import rt --account bob >/dev/null
manifest
run $I run rt
is "$RC" 0 "a 401 refreshes once and retries"
is "$(py '[(r["path"], r["status"]) for r in log][:3]')" "[('/me', 401), ('/oauth/token', 200), ('/me', 200)]" "... GET 401, POST token, GET 200"

# --- invalid_grant: a clear message with the command to run
scenario
printf '{"access_token": "stale", "refresh_token": "rt-revoked", "expires_in": 3600}' |
  $I auth import rt --account bob >/dev/null
run $I run rt
is "$RC" 1 "invalid_grant fails the run"
like "$ERR" "invalid_grant.*run integ auth login rt --account bob" "... naming the command to log in again"
run $I run rt ccp
is "$RC" 1 "a run of two connectors, one needing a login, fails"
is "$(py 'hits("/me")[-1]["status"]')" 200 "... while the other account's connector still ran"
run $I auth status rt --account bob
is "$RC" 1 "auth status exits 1 when a login is needed"
like "$OUT" "needs login" "... and says so"
run $I status rt --json
is "$(printf '%s' "$OUT" | python3 -c 'import json,sys; t=json.load(sys.stdin)["connectors"][0]["token"]; print(t["needs_login"], t["provider"].endswith("#cid"))')" "True True" "integ status shows the connector's token needing a login"
run $I status rt
like "$OUT" "token: needs a login \\(integ auth login rt --account bob\\)" "... and in its text, the command to run"

# --- client credentials; credentials only to their origins
scenario
run $I run cc
is "$RC" 0 "client_credentials: the run succeeds"
is "$(py 'form(tok[0])["grant_type"], tok[0]["headers"]["authorization"].startswith("Basic ")')" "('client_credentials', True)" "client_secret_basic: id and secret in Basic"
is "$(py 'hits("/me")[-1]["headers"].get("authorization", "")[:7]')" "Bearer " "a same-origin redirect keeps the bearer token"
is "$(LOG=$B py '[r["headers"].get("authorization") for r in hits("/landing")]')" "[None]" "a redirect to another origin arrives without it"
run $I run ccp
is "$RC" 0 "client_secret_post works too"
is "$(py 'sorted(form(tok[-1]))')" "['client_id', 'client_secret', 'grant_type']" "... with id and secret in the form"
run $I run html
is "$RC" 1 "a token endpoint answering HTML fails the run"
like "$ERR" "POST $U/html: invalid_response: the token endpoint's answer is neither JSON nor form-encoded" "... as invalid_response naming the URL"
BAD=wrong-CANARYb1 run $I run badsec
is "$RC" 1 "a wrong client secret fails the run"
like "$ERR" "HTTP 401, category auth: the provider refused the client_credentials grant: invalid_client: client authentication failed" "... with the provider's error and description on one line"
unlike "$ERR" "CANARYb1" "... and without the secret"
curl -s -X POST "$B/_testapi/reset" >/dev/null
run $I run key
is "$RC" 0 "api_key in a header"
is "$(py 'hits("/landing")[0]["headers"].get("x-token")')" "key-CANARYk2" "the key goes to its origin"
is "$(LOG=$B py '[r["headers"].get("x-token") for r in hits("/landing")]')" "[None]" "... never across a redirect to another"

# --- a plugin's own auth block (ABI 0.4), filled by the manifest's
scenario
run $I run decl
is "$RC" 0 "a plugin-declared oauth2 block, client id and secret from the manifest"
is "$(py '(form(tok[-1])["grant_type"], hits("/me")[-1]["status"])')" "('client_credentials', 200)" "... the host got the token and applied it"
run $I run decl2
is "$RC" 1 "a declared block the manifest does not complete fails at load"
like "$ERR" "plugin httpprobe: auth: auth type oauth2 needs 'client_id'" "... naming what is missing"

# --- eight processes, one expiring token: exactly one refresh
scenario access_ttl_ms=60000 reuse_revokes=true
printf '{"access_token": "stale", "refresh_token": "rt-c", "expires_in": 0}' |
  $I auth import rt --account bob >/dev/null
manifest
pids=
for n in 1 2 3 4 5 6 7 8; do
  $I run rt >"$TMP/p$n.out" 2>"$TMP/p$n.err" &
  pids="$pids $!"
done
fails=0
for p in $pids; do wait "$p" || fails=$((fails + 1)); done
is "$fails" 0 "eight processes sharing an expired token all succeed"
is "$(py 'len(tok)')" 1 "... with exactly one refresh request"
is "$(py 'len(set(r["headers"]["authorization"] for r in hits("/me")))')" 1 "... all using the one new access token"

# --- the sealed store
row() { sqlite3 "$TMP/s.db" "$1"; }
n=$(row "SELECT count(*) FROM tokens WHERE instr(CAST(sealed AS TEXT), 'rt-') OR instr(coalesce(scopes,''), 'rt-')")
is "$n" 0 "no token is in a plaintext column"
row "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
cp "$TMP/s.db" "$TMP/s.bak"
restore() { rm -f "$TMP/s.db-wal" "$TMP/s.db-shm"; cp "$TMP/s.bak" "$TMP/s.db"; }
# Byte 21 becomes another byte (0x00, or 0x01 where it was 0x00 already:
# setting it to 0x00 alone left 1 row in 256 untouched).
row "UPDATE tokens SET sealed = CAST(substr(sealed, 1, 20) || CASE WHEN substr(sealed, 21, 1) = X'00' THEN X'01' ELSE X'00' END || substr(sealed, 22) AS BLOB) WHERE account = 'bob'"
run $I run rt
is "$RC" 1 "a tampered row fails the run"
like "$ERR" "token of account bob .* fails its integrity check" "... naming the account"
restore
row "DELETE FROM tokens WHERE account = 'alice'; INSERT INTO tokens SELECT 'alice', provider, key_id, sealed, scopes, expires_ms, refreshed_ms, needs_login, NULL, 0 FROM tokens WHERE account = 'bob'"
run $I run code
is "$RC" 1 "a row moved to another account fails"
like "$ERR" "token row of account alice .* was sealed for account bob" "... saying where it came from"
restore
mv "$TMP/token.key" "$TMP/token.key.good"
head -c 32 /dev/urandom >"$TMP/token.key"; chmod 600 "$TMP/token.key"
run $I run rt
like "$ERR" "sealed with key [0-9a-f]*, which the token key file .* is not" "a wrong key is named as such"
rm "$TMP/token.key"
run $I run rt
like "$ERR" "token key $TMP/token.key does not exist" "a missing key file is named"
mv "$TMP/token.key.good" "$TMP/token.key"
chmod 644 "$TMP/token.key"
run $I run rt
like "$ERR" "may be read by others \\(mode 0644\\): run chmod 640 $TMP/token.key" "a key others may read is refused with the chmod"
chmod 600 "$TMP/token.key"
kid=$(row "SELECT key_id FROM tokens WHERE account = 'bob'")
run $I auth rekey
is "$RC" 0 "rekey re-seals every token"
is "$(row "SELECT count(*) FROM tokens WHERE sealed IS NOT NULL AND key_id = '$kid'")" 0 "... no row is left under the old key"
run $I run rt
is "$RC" 0 "... and the tokens open under the new key"

# --- tap write-back and the source's CONTROL message
scenario access_ttl_ms=60000
cat >"$TMP/tap.json" <<EOT
{"base_url": "$U", "path": "/items", "page_size": 10, "mode": "batch",
 "auth": {"type": "oauth2", "grant": "refresh_token", "token_url": "$U/oauth/token",
          "client_id": "cid", "client_secret": "$CS", "refresh_token": "rt-a"}}
EOT
chmod 640 "$TMP/tap.json"
INTEG_PLUGIN_PATH="$TEST_PLUGIN_DIR" run "$INTEG" tap pager --config "$TMP/tap.json"
is "$RC" 0 "tap: a run with the config's auth"
is "$(printf '%s\n' "$OUT" | grep -c '"type":"RECORD"')" 30 "... emit_batch pages carry the token"
is "$(python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["auth"]; print(a["refresh_token"] != "rt-a", a["access_token"][:3])' "$TMP/tap.json")" "True at-" "the rotated token is written back to --config"
is "$(stat -c %a "$TMP/tap.json")" 640 "... keeping its mode"
is "$(ls "$TMP" | grep -c 'tap.json.')" 0 "... leaving no temporary file"
INTEG_PLUGIN_PATH="$TEST_PLUGIN_DIR" run "$INTEG" tap pager --config "$TMP/tap.json"
is "$RC" 0 "the next tap run uses the written token"
INTEG_PLUGIN_PATH="$TEST_PLUGIN_DIR" run "$INTEG" tap pager --about --format json
is "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["settings"]["properties"]["auth"]["properties"]["refresh_token"]["airbyte_secret"])')" True "--about shows the auth settings, secrets marked"
sed 's/"rt-a"/"rt-b"/' <"$TMP/tap.json" >/dev/null
python3 - "$TMP/tap.json" >"$TMP/src.json" <<'EOT'
import json, sys
c = json.load(open(sys.argv[1])); c["auth"]["refresh_token"] = "rt-b"; c["auth"].pop("access_token", None)
print(json.dumps(c))
EOT
INTEG_PLUGIN_PATH="$TEST_PLUGIN_DIR" "$INTEG" source pager discover --config "$TMP/src.json" >"$TMP/disc.jsonl"
python3 - "$TMP/disc.jsonl" >"$TMP/cat.json" <<'EOT'
import json, sys
c = [json.loads(l) for l in open(sys.argv[1]) if '"CATALOG"' in l][0]["catalog"]
print(json.dumps({"streams": [{"stream": s, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"} for s in c["streams"]]}))
EOT
INTEG_PLUGIN_PATH="$TEST_PLUGIN_DIR" run "$INTEG" source pager read --config "$TMP/src.json" --catalog "$TMP/cat.json"
is "$RC" 0 "source: a run with the config's auth"
[ "$RC" = 0 ] || diag "$ERR"
printf '%s\n' "$OUT" >"$TMP/src.jsonl"
is "$(python3 -c 'import json,sys
m=[json.loads(l) for l in open(sys.argv[1]) if "\"CONTROL\"" in l]
print(len(m), m[0]["control"]["type"], m[0]["control"]["connectorConfig"]["config"]["auth"]["refresh_token"] != "rt-b")' "$TMP/src.jsonl")" "1 CONNECTOR_CONFIG True" "the rotated token comes out as CONTROL CONNECTOR_CONFIG"
INTEG_PLUGIN_PATH="$TEST_PLUGIN_DIR" run "$INTEG" source pager spec
like "$OUT" '"auth":\{"type":"object"' "spec shows the auth settings"
anchors_all airbyte/airbyte_protocol.yaml
vpy=
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import jsonschema, yaml' 2>/dev/null; then vpy=$p; break; fi
done
if [ -n "$vpy" ]; then
  grep '"CONTROL"' "$TMP/src.jsonl" >"$TMP/control.jsonl"
  if "$vpy" "$abs_top_srcdir/tests/validate_airbyte.py" "$ANCHOR" "$TMP/control.jsonl" >"$TMP/v" 2>&1; then
    ok "the CONTROL message validates against airbyte_protocol.yaml"
  else
    not_ok "the CONTROL message validates against airbyte_protocol.yaml"; diag "$(cat "$TMP/v")"
  fi
else
  ok "the CONTROL message validates # SKIP python3 with jsonschema and yaml not found"
fi

# --- canaries: no token in output, -vv log, errors, cassette or store
scenario
printf '{"access_token": "stale-CANARYa2", "refresh_token": "rt-a", "expires_in": 3600}' |
  $I auth import rt --account bob >/dev/null
$I -vv run --record "$TMP/c.cassette" rt >"$TMP/c.out" 2>"$TMP/c.err"
newtok=$(py 'tok[-1]["body"]' | sed 's/.*refresh_token=\([^&]*\).*/\1/')
n=0
for f in c.out c.err c.cassette s.db s.db-wal; do
  [ -f "$TMP/$f" ] || continue
  for c in CANARYa2 CANARYk2 rt-a "s3cr&t"; do
    m=$(grep -c -a -F "$c" "$TMP/$f")
    [ "$m" = 0 ] || { diag "$c in $f"; n=$((n + m)); }
  done
done
is "$n" 0 "no token, key or secret in output, -vv log, cassette or store file"
