# auth_kill.sh - SIGKILL around token refreshes. Every run refreshes a
# rotating refresh token (the provider revokes the grant when a rotated
# token is used again) and is killed at one of KILLS (50) random moments
# spread over a run. After each kill a run without a kill tells whether
# the grant survived; when it did not, that is a re-login, and the test
# logs in again (imports a fresh grant). Only a kill after the provider
# answered a refresh and before integ committed the answer may cost a
# re-login: each re-login must follow a kill during which the provider
# answered a refresh. AUTH_KILL_SEED=N repeats the moments.
. "$top_srcdir/tests/lib.sh"
command -v python3 >/dev/null || skip_all "python3 is needed to read the request log"
plan 4
tmpdir
start_testapi "$top_srcdir/tests/auth/oauth.json" || { not_ok "testapi starts"; exit 1; }
U=$TESTAPI_URL
KILLS=${KILLS:-50}
SEED=${AUTH_KILL_SEED:-$$}
diag "kill moments from AUTH_KILL_SEED=$SEED"
python3 - "$top_srcdir/tests/auth/oauth.json" >"$TMP/s.json" <<'EOT'
import json, sys
s = json.load(open(sys.argv[1]))
s["oauth2"].update({"access_ttl_ms": 100, "reuse_revokes": True, "rotate": True})
print(json.dumps(s))
EOT
curl -s -X POST "$U/_testapi/scenario?file=$TMP/s.json" >/dev/null
cat >"$TMP/integ.yaml" <<EOT
integ: 1
plugin_path: ["$TEST_PLUGIN_DIR"]
store: $TMP/s.db
token_key: $TMP/token.key
output: {format: jsonl, to: "file:$TMP/out.jsonl"}
connectors:
  k:
    plugin: httpprobe
    config: {fail_on_error: true, requests: [{url: "$U/me"}]}
    auth: {type: oauth2, grant: refresh_token, token_url: $U/oauth/token,
           client_id: cid, client_secret: "\${env:CS}", refresh_at: 0.05}
EOT
export CS='s3cr&t x'
I="$INTEG -c $TMP/integ.yaml"
grant() {
  curl -s -X POST "$U/_testapi/reset" >/dev/null
  printf '{"access_token": "old", "refresh_token": "rt-a", "expires_in": 0}' |
    $I auth import k >/dev/null
}
# answered: the provider's count of token requests answered 200.
answered() {
  curl -s "$U/_testapi/log" | grep -o '"route":"oauth2","status":200' | wc -l
}
grant
# How long a run takes here, to spread the kills over it.
t0=$(date +%s%3N)
for i in 1 2 3; do $I run k >/dev/null 2>&1; done
run_ms=$((($(date +%s%3N) - t0) / 3))
diag "a run takes about $run_ms ms"
python3 -c "import random; random.seed($SEED); print(' '.join('%.4f' % (random.uniform(0, $run_ms * 1.2) / 1000) for _ in range($KILLS)))" >"$TMP/moments"
relogins=0 unexplained=0 in_window=0 odd=0
start=$(date +%s)
for d in $(cat "$TMP/moments"); do
  grant
  a0=$(answered)
  $I run k >/dev/null 2>&1 &
  p=$!
  sleep "$d"
  kill -KILL $p 2>/dev/null
  wait $p 2>/dev/null
  a1=$(answered)
  [ "$a1" -gt "$a0" ] && in_window=$((in_window + 1))
  if ! $I run k >/dev/null 2>"$TMP/verify.err"; then
    if grep -q "run integ auth login k --account default" "$TMP/verify.err"; then
      relogins=$((relogins + 1))
      [ "$a1" -gt "$a0" ] || unexplained=$((unexplained + 1))
    else
      odd=$((odd + 1))
      diag "after a kill at ${d}s: $(cat "$TMP/verify.err")"
    fi
  fi
done
secs=$(($(date +%s) - start))
diag "$KILLS kills in ${secs}s: $in_window after the provider answered a refresh, $relogins re-logins needed"
is "$odd" 0 "after every kill the next run either succeeds or asks for a login"
is "$unexplained" 0 "a re-login follows only a kill after the provider answered a refresh"
[ "$relogins" -le "$in_window" ] && ok "re-logins ($relogins) <= kills after an answered refresh ($in_window)" ||
  not_ok "re-logins ($relogins) <= kills after an answered refresh ($in_window)"
# The last kill may itself have lost the rotated token (then a login is
# the right answer, counted above): start from a fresh grant, so what is
# checked is that a run after all those kills leaves a usable token.
grant
$I run k >/dev/null 2>&1
run $I auth status k
like "$OUT" "default .* ok" "after a fresh grant and a run, the store holds a usable token"
