# integrations.sh - the shipped definitions (conf/integrations/) against
# their imitations (tests/testapi/scenarios/{github,fitbit,todoist,newsapi}*):
# per definition a full and an incremental run compared with golden files
# (INTEG_NOW fixed), Airbyte output validated; credentials from config,
# the manifest's auth: or the tap's --config "auth"; the providers' error
# answers naming stream and page; Fitbit's rotating refresh token in the
# middle of a run and after SIGKILLs; GitHub comments resumed per issue
# after a SIGKILL; drop-in taps and sources by name; names and keys that
# are not known. GOLDEN_UPDATE=1 rewrites the golden files.
. "$top_srcdir/tests/lib.sh"
command -v python3 >/dev/null || skip_all "python3 is needed to read the request log"
command -v curl >/dev/null || skip_all "curl is needed to drive the test API"
plan 88
tmpdir
export INTEG_PLUGIN_PATH=$PLUGIN_DIR
export INTEG_INTEGRATIONS_DIR=$abs_top_srcdir/conf/integrations
export INTEG_NOW=2026-11-25T12:00:00Z
S=$abs_top_srcdir/tests/testapi/scenarios
G=$abs_top_srcdir/tests/golden
TESTAPI_IDLE=120 start_testapi "$S/github.json" || { not_ok "testapi starts"; exit 1; }
U=$TESTAPI_URL

# scen NAME [PYTHON]: serve scenarios/NAME.json (@BASE@ = the server's URL,
# PYTHON edits s), the log and every route rewound.
scen() {
  python3 - "$S/$1.json" "$U" "${2:-pass}" >"$TMP/scen.json" <<'EOT'
import json, sys
s = json.loads(open(sys.argv[1]).read().replace("@BASE@", sys.argv[2]))
exec(sys.argv[3])
print(json.dumps(s))
EOT
  curl -s -X POST "$U/_testapi/scenario?file=$TMP/scen.json" >/dev/null
  curl -s -X POST "$U/_testapi/reset" >/dev/null
  SEQ=0
}
# mark: reqs shows only the requests from now on (tokens stay valid).
mark() {
  SEQ=$(curl -s "$U/_testapi/log" | python3 -c 'import json, sys; r = json.load(sys.stdin)["requests"]; print(r[-1]["seq"] if r else 0)')
}
# reqs [EXPR]: the requests logged since the last scen, one per line,
# EXPR over r (default: path?query).
reqs() {
  curl -s "$U/_testapi/log?since=$SEQ" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["requests"]:
    print(eval(sys.argv[1]))' "${1:-r[\"path\"] + \"?\" + r[\"query\"]}"
}
# py FILE EXPR: EXPR over the messages of FILE (m; rs(stream): records).
py() {
  python3 - "$@" <<'EOT'
import json, sys
m = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def rs(s): return [x["record"] for x in m if x.get("type") == "RECORD" and x["stream"] == s]
def states(): return [x["value"] for x in m if x.get("type") == "STATE"]
print(eval(sys.argv[2]))
EOT
}
# same NAME DESC: $TMP/NAME is tests/golden/NAME.
same() {
  if [ "${GOLDEN_UPDATE:-}" = 1 ]; then cp "$TMP/$1" "$G/$1"; fi
  if cmp -s "$TMP/$1" "$G/$1"; then ok "$2"; else
    not_ok "$2"; diag "$(diff -u "$G/$1" "$TMP/$1" | head -20)"; fi
}
# tap NAME OUT [ARGS]: integ tap NAME ARGS > $TMP/OUT, stderr in $TMP/err.
tap() {
  _n=$1 _o=$2; shift 2
  "$INTEG" tap "$_n" "$@" >"$TMP/$_o" 2>"$TMP/err"
  RC=$?
  ERR=$(cat "$TMP/err")
}
laststate() { py "$TMP/$1" 'json.dumps(states()[-1])' >"$TMP/$2"; }
vpy=
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import jsonschema, yaml' 2>/dev/null; then vpy=$p; break; fi
done
# airbyte NAME CONFIG DESC: discover, a catalog of every stream, read; every
# message validates against the protocol.
airbyte() {
  "$INTEG" source "$1" discover --config "$2" >"$TMP/ab_disc.jsonl" 2>"$TMP/err" &&
    python3 - "$TMP/ab_disc.jsonl" >"$TMP/ab_cat.json" <<'EOT' &&
import json, sys
c = [json.loads(l) for l in open(sys.argv[1]) if '"CATALOG"' in l][0]["catalog"]
print(json.dumps({"streams": [{"stream": s, "sync_mode": "incremental" if "incremental" in s["supported_sync_modes"] else "full_refresh", "destination_sync_mode": "append", "cursor_field": s.get("default_cursor_field", [])} for s in c["streams"]]}))
EOT
    "$INTEG" source "$1" read --config "$2" --catalog "$TMP/ab_cat.json" >"$TMP/ab_read.jsonl" 2>>"$TMP/err"
  _rc=$?
  if [ $_rc != 0 ]; then not_ok "$3"; diag "$(cat "$TMP/err")"; return; fi
  if [ -z "$vpy" ] || ! anchor airbyte/airbyte_protocol.yaml 2>/dev/null; then
    ok "$3 # SKIP python3 with jsonschema and yaml, or the protocol anchor, not found"
  elif "$vpy" "$abs_top_srcdir/tests/validate_airbyte.py" "$ANCHOR" "$TMP/ab_disc.jsonl" "$TMP/ab_read.jsonl" >"$TMP/v" 2>&1 &&
     grep -q '"type":"RECORD"' "$TMP/ab_read.jsonl"; then
    ok "$3"
  else
    not_ok "$3"; diag "$(head -5 "$TMP/v")"
  fi
}

# ---------------------------------------------------------------- GitHub
scen github
printf '{"api_url": "%s", "owner": "acme", "repo": "rocket", "token": "ghp_test1"}\n' "$U" >"$TMP/gh.json"
tap github-issues gh_full.jsonl --config "$TMP/gh.json"
is "$RC" 0 "github-issues: a full run"
[ "$RC" = 0 ] || diag "$ERR"
sed 's/"time_extracted":"[^"]*"/"time_extracted":"T"/' "$TMP/gh_full.jsonl" >"$TMP/github_issues_full.jsonl"
same github_issues_full.jsonl "github-issues full: Singer output is the golden file"
is "$(reqs 'r["headers"].get("authorization")' | sort -u)" "Bearer ghp_test1" "every request carries the token in Authorization"
is "$(reqs | head -2 | tail -1)" "/repositories/1296269/issues?state=all&sort=updated&direction=asc&per_page=100&page=2" "pages follow the Link header"
is "$(reqs | grep -c '/issues/1/comments\|/issues/1/comments')" 2 "issue 1's comments: two pages"
laststate gh_full.jsonl gh_state.json
scen github-next
tap github-issues gh_incr.jsonl --config "$TMP/gh.json" --state "$TMP/gh_state.json"
is "$RC" 0 "github-issues: an incremental run"
sed 's/"time_extracted":"[^"]*"/"time_extracted":"T"/' "$TMP/gh_incr.jsonl" >"$TMP/github_issues_incremental.jsonl"
same github_issues_incremental.jsonl "github-issues incremental: Singer output is the golden file"
like "$(reqs | head -1)" "since=2026-11-11T07%3A15%3A00Z" "issues resume from the newest updated_at (since)"
like "$(reqs | grep '/issues/2/comments')" "since=2026-11-10T12%3A00%3A00Z" "issue 2's comments resume from their own cursor (per partition)"
is "$(py "$TMP/gh_incr.jsonl" '[r["number"] for r in rs("issues")]')" "[2, 4]" "the boundary issue is not written twice"

for repo in empty limited secondary forbidden private; do
  printf '{"api_url": "%s", "owner": "acme", "repo": "%s", "token": "ghp_test1"}\n' "$U" $repo >"$TMP/gh_$repo.json"
done
scen github
tap github-issues gh_empty.jsonl --config "$TMP/gh_empty.json"
is "$RC:$(grep -c RECORD "$TMP/gh_empty.jsonl")" "0:0" "an empty repository: exit 0, no record"
tap github-issues gh_limited.jsonl --config "$TMP/gh_limited.json"
is "$RC" 1 "a spent rate limit resetting beyond retry.max fails"
like "$ERR" "stream issues: page 1: giving up: the server asks to wait [0-9]* s, more than retry.max \\(60 s\\); it resets at 2100-01-01T00:00:00Z" "... at once, naming stream, page and the reset time"
like "$ERR" "HTTP 403 \\(rate_limited\\): API rate limit exceeded" "... with GitHub's message, as rate_limited"
t0=$(date +%s%3N)
tap github-issues gh_secondary.jsonl --config "$TMP/gh_secondary.json"
t1=$(date +%s%3N)
is "$RC:$(grep -c '"stream":"issues"' "$TMP/gh_secondary.jsonl")" "0:2" "a 403 with Retry-After (secondary limit) is waited out"
ok_wait=$(( t1 - t0 >= 900 ))
is "$ok_wait" 1 "... for at least the second it asked ($((t1 - t0)) ms)"
scen github
tap github-issues gh_forbidden.jsonl --config "$TMP/gh_forbidden.json"
is "$RC" 1 "a plain 403 fails"
like "$ERR" "stream issues: page 1: .*HTTP 403 \\(forbidden\\): Resource not accessible by personal access token" "... as forbidden, naming stream and page"
is "$(reqs | wc -l)" 1 "... and is not retried"
tap github-issues gh_private.jsonl --config "$TMP/gh_private.json"
like "$ERR" "stream issues: page 1: .*HTTP 401 \\(auth\\): Bad credentials" "bad credentials: stream, page and GitHub's message"

# In a manifest, by name; the token from the connector's auth:; an HTML page.
cat >"$TMP/integ.yaml" <<EOT
integ: 1
store: $TMP/s.db
token_key: $TMP/token.key
output: {format: singer, to: "file:$TMP/m_out.jsonl", checkpoint_records: 1}
connectors:
  gh:
    plugin: declarative
    retry: {max_attempts: 1}
    config: {definition: github-issues, api_url: "$U", owner: acme, repo: rocket}
    auth: {token: "\${env:GH_TOKEN}"}
  ghhtml:
    plugin: declarative
    retry: {max_attempts: 1}
    config: {definition: github-issues, api_url: "$U", owner: acme, repo: html}
    auth: {token: "\${env:GH_TOKEN}"}
EOT
export GH_TOKEN=ghp_fromenv
I="$INTEG -c $TMP/integ.yaml"
run $I validate
is "$RC" 0 "integ validate: a connector enabled by name (config: {definition: github-issues})"
[ "$RC" = 0 ] || diag "$ERR"
scen github
run $I run gh
is "$RC" 0 "integ run of it"
[ "$RC" = 0 ] || diag "$ERR"
is "$(reqs 'r["headers"].get("authorization")' | sort -u)" "Bearer ghp_fromenv" "... the token from the connector's auth: (\${env:GH_TOKEN})"
run $I run ghhtml
is "$RC" 1 "an HTML page instead of JSON fails"
like "$ERR" "stream issues: page 1: .*not valid JSON" "... naming stream, page and what is wrong"

# GitHub comments resume per issue after a SIGKILL: issue 3's comments
# hang; the kill comes when issues 1 and 2 have their comment state.
$I state clear gh >/dev/null 2>&1
scen github 's["routes"] = [dict(r, responses=[dict(x, delay_ms=20000) for x in r["responses"]]) if r["path"].endswith("/issues/3/comments") else r for r in s["routes"]]'
$I run gh >/dev/null 2>"$TMP/kill.err" &
pid=$!
i=0
while [ $i -lt 200 ]; do
  $I state show gh comments 2>/dev/null | grep -q '"2"' && break
  sleep 0.05; i=$((i + 1))
done
kill -KILL $pid; wait $pid 2>/dev/null
[ $i -lt 200 ] || diag "no comment state for issue 2: $(cat "$TMP/kill.err"; $I state show gh 2>&1)"
is "$($I state show gh comments | python3 -c 'import json,sys; print(sorted(json.load(sys.stdin)["partitions"]))')" "['1', '2']" "killed while issue 3's comments load: issues 1 and 2 have their comment state"
# The issues' cursor waits for every issue's comments: stored, it would
# have passed issue 3, and a next run asking since then would never load
# issue 3's comments if issue 3 did not change.
is "$($I state show gh | python3 -c 'import json,sys; print(sorted(json.load(sys.stdin)))')" "['comments']" \
  "... the issues' cursor is not stored while an issue's comments are not all loaded"
scen github
run $I run gh
is "$RC" 0 "the run after the kill"
is "$(reqs | grep '/rocket/issues?' | sed 's/.*since=\([^&]*\).*/\1/')" "2008-01-01T00%3A00%3A00Z" \
  "... asks for the issues from the start (start_date)"
is "$(reqs | grep '/comments' | grep -v 'page=2' | sed 's/.*issues\/\([0-9]\)\/comments.*since=\([^&]*\).*/\1 \2/' | sort | tr '\n' ' ')" \
  "1 2026-11-02T09%3A29%3A00Z 2 2026-11-10T12%3A00%3A00Z 3 2008-01-01T00%3A00%3A00Z " \
  "... and each issue's comments from that issue's own cursor (issue 3's from the start)"
is "$($I state show gh comments | python3 -c 'import json,sys; p=json.load(sys.stdin)["partitions"]; print(p["1"]["cursor"], p["2"]["cursor"])')" "2026-11-02T09:29:00Z 2026-11-10T12:00:00Z" "... the other issues' comment cursors kept"
is "$($I state show gh issues | python3 -c 'import json,sys; print(json.load(sys.stdin)["cursor"])')" "2026-11-11T07:15:00Z" "... and the issues' cursor stored once all comments are loaded"

# Drop-in tap and source, and the symlinks.
scen github
tap github-issues gh_disc.json --discover --config "$TMP/gh.json"
is "$RC" 0 "integ tap github-issues --discover"
is "$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print([(s["tap_stream_id"], s["key_properties"], s.get("replication_key")) for s in c["streams"]])' "$TMP/gh_disc.json")" \
  "[('issues', ['id'], 'updated_at'), ('comments', ['id'], 'updated_at')]" "... both streams, keys and replication keys"
is "$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(all(m["metadata"].get("inclusion") or m["breadcrumb"] for s in c["streams"] for m in s["metadata"]))' "$TMP/gh_disc.json")" True "... with Singer metadata"
ln -s "$INTEG" "$TMP/tap-github-issues"
"$TMP/tap-github-issues" --discover --config "$TMP/gh.json" >"$TMP/gh_disc2.json" 2>/dev/null
if cmp -s "$TMP/gh_disc.json" "$TMP/gh_disc2.json"; then ok "a symlink tap-github-issues is integ tap github-issues"; else not_ok "a symlink tap-github-issues is integ tap github-issues"; fi
"$INTEG" source github-issues spec >"$TMP/gh_spec.jsonl" 2>"$TMP/err"
is "$?:$(py "$TMP/gh_spec.jsonl" 'm[0]["type"]')" "0:SPEC" "integ source github-issues spec"
is "$(py "$TMP/gh_spec.jsonl" 'm[0]["spec"]["connectionSpecification"]["required"], m[0]["spec"]["connectionSpecification"]["properties"]["token"].get("airbyte_secret")')" \
  "(['owner', 'repo'], True)" "... its connectionSpecification is the definition's config: (required keys, secrets)"
"$INTEG" source github-issues check --config "$TMP/gh.json" >"$TMP/gh_check.jsonl" 2>"$TMP/err"
is "$?:$(py "$TMP/gh_check.jsonl" 'm[-1]["connectionStatus"]["status"]')" "0:SUCCEEDED" "integ source github-issues check"
ln -s "$INTEG" "$TMP/source-github-issues"
"$TMP/source-github-issues" spec >"$TMP/gh_spec2.jsonl" 2>/dev/null
if cmp -s "$TMP/gh_spec.jsonl" "$TMP/gh_spec2.jsonl"; then ok "a symlink source-github-issues is integ source github-issues"; else not_ok "a symlink source-github-issues is integ source github-issues"; fi
scen github
airbyte github-issues "$TMP/gh.json" "integ source github-issues discover and read: every message validates"
if [ -n "$vpy" ] && anchor airbyte/airbyte_protocol.yaml 2>/dev/null; then
  "$vpy" "$abs_top_srcdir/tests/validate_airbyte.py" "$ANCHOR" "$TMP/gh_spec.jsonl" "$TMP/gh_check.jsonl" >"$TMP/v" 2>&1
  is "$?" 0 "... spec and check validate too"
else
  ok "... spec and check validate too # SKIP no validator"
fi

# ---------------------------------------------------------------- Fitbit
scen fitbit
cat >"$TMP/fb.json" <<EOT
{"api_url": "$U", "token_url": "$U/oauth/token", "authorize_url": "$U/oauth/authorize",
 "start_date": "2026-11-18", "end_date": "2026-11-25", "client_id": "23ABCD",
 "auth": {"client_secret": "fitbit-secret", "refresh_token": "rt-fitbit-1"}}
EOT
chmod 600 "$TMP/fb.json"
tap fitbit-sleep fb_full.jsonl --config "$TMP/fb.json"
is "$RC" 0 "fitbit-sleep: a full run (tap, tokens in --config)"
[ "$RC" = 0 ] || diag "$ERR"
sed 's/"time_extracted":"[^"]*"/"time_extracted":"T"/' "$TMP/fb_full.jsonl" >"$TMP/fitbit_sleep_full.jsonl"
same fitbit_sleep_full.jsonl "fitbit-sleep full: Singer output is the golden file"
is "$(reqs 'r["path"] + " " + str(r["status"])' | grep -c '^/oauth/token 200')" 2 "the access token expired in the middle of the run and was refreshed"
like "$(reqs 'r["path"] + " " + str(r["status"])' | tr '\n' ' ')" "sleep/date/2026-11-2[0-9].json 401 /oauth/token 200 /1.2/user/-/sleep/date/2026-11-2[0-9].json 200" "... after a 401, the same day asked again with the new token"
is "$(python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["auth"]; print(a["refresh_token"] not in ("rt-fitbit-1",), a["client_secret"])' "$TMP/fb.json")" "True fitbit-secret" "the rotated refresh token is written back to --config"
is "$(reqs 'r["headers"].get("authorization", "")' | grep -c '^Basic ')" 2 "token requests authenticate the client with HTTP Basic"
laststate fb_full.jsonl fb_state.json
python3 - "$TMP/fb.json" <<'EOT'
import json, sys
c = json.load(open(sys.argv[1])); c["end_date"] = "2026-11-28"; json.dump(c, open(sys.argv[1], "w"))
EOT
mark
tap fitbit-sleep fb_incr.jsonl --config "$TMP/fb.json" --state "$TMP/fb_state.json"
is "$RC" 0 "fitbit-sleep: an incremental run with the written-back token"
[ "$RC" = 0 ] || diag "$ERR"
sed 's/"time_extracted":"[^"]*"/"time_extracted":"T"/' "$TMP/fb_incr.jsonl" >"$TMP/fitbit_sleep_incremental.jsonl"
same fitbit_sleep_incremental.jsonl "fitbit-sleep incremental: Singer output is the golden file"
is "$(reqs | grep sleep/date | sed 's/.*date.//; s/.json.*//' | sort -u | tr '\n' ' ')" "2026-11-25 2026-11-26 2026-11-27 " "... asks only for the days after the last completed one"
# Errors, each on its own days.
fbdays() {
  python3 - "$TMP/fb.json" "$1" "$2" <<'EOT'
import json, sys
c = json.load(open(sys.argv[1])); c["start_date"], c["end_date"] = sys.argv[2], sys.argv[3]; json.dump(c, open(sys.argv[1], "w"))
EOT
}
fbdays 2026-12-04 2026-12-07
tap fitbit-sleep fb_empty.jsonl --config "$TMP/fb.json"
is "$RC:$(grep -c RECORD "$TMP/fb_empty.jsonl"):$(py "$TMP/fb_empty.jsonl" 'states()[-1]["bookmarks"]["sleep"]["window_end"]')" "0:0:2026-12-07T00:00:00Z" "an empty account: exit 0, no record, the days done"
fbdays 2026-12-01 2026-12-02
tap fitbit-sleep fb_401.jsonl --config "$TMP/fb.json"
like "$RC: $ERR" "^1: .*stream sleep: page 1: .*HTTP 401 \\(auth\\): .*Access token invalid" "a 401 after the refresh: stream, page and Fitbit's errors[] message"
fbdays 2026-12-02 2026-12-03
tap fitbit-sleep fb_429.jsonl --config "$TMP/fb.json"
like "$RC: $ERR" "^1: .*stream sleep: page 1: giving up: the server asks to wait 3540 s, more than retry.max \\(60 s\\); it resets at 20[0-9-]*T[0-9:]*Z" "a 429 beyond retry.max: stream, page and the reset time"
# In a manifest: the tokens in the store; SIGKILLs during runs that refresh.
cat >>"$TMP/integ.yaml" <<EOT
  fb:
    plugin: declarative
    retry: {max_attempts: 1}
    config: {definition: fitbit-sleep, api_url: "$U", token_url: "$U/oauth/token",
             authorize_url: "$U/oauth/authorize", start_date: "2026-12-03",
             end_date: "2026-12-04", client_id: 23ABCD}
    auth: {client_secret: "\${env:FB_SECRET}"}
EOT
export FB_SECRET=fitbit-secret
run $I run fb
like "$ERR" "run integ auth login fb" "without a token in the store: the error names integ auth login"
printf '{"access_token": "old", "refresh_token": "rt-fitbit-2", "expires_in": 3600}' | $I auth import fb >/dev/null 2>&1
run $I run fb
is "$RC" 1 "an HTML page instead of JSON fails (with the stored token)"
like "$ERR" "stream sleep: page 1: .*not valid JSON" "... naming stream, page and what is wrong"
python3 - "$TMP/integ.yaml" <<'EOT'
import sys
p = sys.argv[1]; s = open(p).read().replace('start_date: "2026-12-03"', 'start_date: "2026-11-18"').replace('end_date: "2026-12-04"', 'end_date: "2026-11-28"')
open(p, "w").write(s)
EOT
bad=0 goes=0 relogin=0
for d in 0.05 0.2 0.35 0.5 0.7; do
  $I state clear fb >/dev/null 2>&1
  $I run fb >/dev/null 2>&1 &
  pid=$!
  sleep $d
  kill -KILL $pid 2>/dev/null; wait $pid 2>/dev/null
  if $I run fb >/dev/null 2>"$TMP/after.err"; then goes=$((goes + 1))
  elif grep -q "run integ auth login fb" "$TMP/after.err"; then
    relogin=$((relogin + 1))
    printf '{"access_token": "old", "refresh_token": "rt-fitbit-%d", "expires_in": 0}' $((relogin + 2)) | $I auth import fb >/dev/null 2>&1
  else bad=$((bad + 1)); diag "after a kill at ${d}s: $(cat "$TMP/after.err")"; fi
done
diag "5 kills: $goes runs went on, $relogin named integ auth login"
is "$bad" 0 "after a SIGKILL during a refreshing run, the next run goes on or names integ auth login"
fbdays 2026-11-18 2026-11-25
scen fitbit
printf '{"api_url": "%s", "token_url": "%s/oauth/token", "authorize_url": "%s/oauth/authorize", "start_date": "2026-11-18", "end_date": "2026-11-25", "client_id": "23ABCD", "auth": {"client_secret": "fitbit-secret", "refresh_token": "rt-fitbit-8"}}\n' "$U" "$U" "$U" >"$TMP/fb_src.json"
airbyte fitbit-sleep "$TMP/fb_src.json" "fitbit-sleep as an Airbyte source: every message validates (with the CONTROL of the rotated token)"
is "$(grep -c '"CONTROL"' "$TMP/ab_read.jsonl")" 2 "... each rotated refresh token (at the start, and after the 401) comes out as CONTROL CONNECTOR_CONFIG"

# --------------------------------------------------------------- Todoist
scen todoist
printf '{"api_url": "%s", "start_date": "2026-10-01", "end_date": "2026-11-25", "token": "0123456789abcdef"}\n' "$U" >"$TMP/td.json"
tap todoist-tasks td_full.jsonl --config "$TMP/td.json"
is "$RC" 0 "todoist-tasks: a full run"
sed 's/"time_extracted":"[^"]*"/"time_extracted":"T"/' "$TMP/td_full.jsonl" >"$TMP/todoist_tasks_full.jsonl"
same todoist_tasks_full.jsonl "todoist-tasks full: Singer output is the golden file"
is "$(reqs 'r["headers"].get("authorization")' | sort -u)" "Bearer 0123456789abcdef" "the API token as a bearer token"
like "$(reqs | grep 'tasks?' | tail -1)" "cursor=eyJwYWdlIjogJXN9.2" "tasks: the second page by next_cursor"
laststate td_full.jsonl td_state.json
scen todoist-next
printf '{"api_url": "%s", "start_date": "2026-10-01", "end_date": "2026-11-30", "token": "0123456789abcdef"}\n' "$U" >"$TMP/td.json"
tap todoist-tasks td_incr.jsonl --config "$TMP/td.json" --state "$TMP/td_state.json"
is "$RC" 0 "todoist-tasks: an incremental run"
sed 's/"time_extracted":"[^"]*"/"time_extracted":"T"/' "$TMP/td_incr.jsonl" >"$TMP/todoist_tasks_incremental.jsonl"
same todoist_tasks_incremental.jsonl "todoist-tasks incremental: Singer output is the golden file"
like "$(reqs | grep completed)" "since=2026-11-25T00%3A00%3A00Z&until=2026-11-30T00%3A00%3A00Z" "completed tasks: only the window after the last completed one"
scen todoist-empty
tap todoist-tasks td_empty.jsonl --config "$TMP/td.json"
is "$RC:$(grep -c RECORD "$TMP/td_empty.jsonl")" "0:0" "an empty account: exit 0, no record"
scen todoist
airbyte todoist-tasks "$TMP/td.json" "todoist-tasks as an Airbyte source: every message validates"

# --------------------------------------------------------------- NewsAPI
scen newsapi
printf '{"api_url": "%s", "q": "rocket AND launch", "api_key": "news-key-1"}\n' "$U" >"$TMP/na.json"
tap newsapi-articles na_full.jsonl --config "$TMP/na.json"
is "$RC" 0 "newsapi-articles: a full run"
sed 's/"time_extracted":"[^"]*"/"time_extracted":"T"/' "$TMP/na_full.jsonl" >"$TMP/newsapi_articles_full.jsonl"
same newsapi_articles_full.jsonl "newsapi-articles full: Singer output is the golden file"
is "$(reqs 'r["headers"].get("x-api-key", "") + " " + r["query"]')" "news-key-1 q=rocket%20AND%20launch&sortBy=publishedAt&language=en&from=2024-01-01T00%3A00%3A00Z&pageSize=100&page=1" "the key in the X-Api-Key header"
laststate na_full.jsonl na_state.json
scen newsapi-next
tap newsapi-articles na_incr.jsonl --config "$TMP/na.json" --state "$TMP/na_state.json"
is "$RC" 0 "newsapi-articles: an incremental run"
sed 's/"time_extracted":"[^"]*"/"time_extracted":"T"/' "$TMP/na_incr.jsonl" >"$TMP/newsapi_articles_incremental.jsonl"
same newsapi_articles_incremental.jsonl "newsapi-articles incremental: Singer output is the golden file"
like "$(reqs)" "from=2026-11-24T18%3A02%3A11Z" "... from the newest publishedAt"
printf '{"api_url": "%s", "q": "rocket", "api_key": "news-key-2", "key_in": "query", "key_name": "apiKey"}\n' "$U" >"$TMP/na_q.json"
scen newsapi
tap newsapi-articles na_q.jsonl --config "$TMP/na_q.json"
is "$RC:$(reqs 'str(r["headers"].get("x-api-key")) + " " + str(r["args"].get("apiKey"))')" "0:None news-key-2" "key_in: query puts the key in the apiKey parameter instead"
scen newsapi-badkey
tap newsapi-articles na_bad.jsonl --config "$TMP/na.json"
like "$RC: $ERR" "^1: .*stream articles: page 1: .*HTTP 401 \\(auth\\): .*Your API key is invalid" "a refused key: stream, page and NewsAPI's message"
scen newsapi
airbyte newsapi-articles "$TMP/na.json" "newsapi-articles as an Airbyte source: every message validates"

# ------------------------------------------------------ names and keys
run "$INTEG" tap github-isues --discover
is "$RC" 2 "an unknown name: exit 2"
like "$ERR" "no shipped definition 'github-isues' in .*; nearest: github-issues" "... listing the nearest names"
run "$INTEG" plugins
like "$OUT" "github-issues +definition +- +GitHub issues of a repository" "integ plugins lists the shipped definitions"
sed '0,/^    pagination: {type: link}$/s//    paginaton: {type: link}/' \
  "$INTEG_INTEGRATIONS_DIR/github-issues.yaml" >"$TMP/newer.yaml"
printf '{"definition": "newer.yaml", "owner": "o", "repo": "r", "token": "t"}\n' >"$TMP/newer.json"
run "$INTEG" tap declarative --discover --config "$TMP/newer.json"
like "$ERR" "newer.yaml:[0-9]*:[0-9]*: streams\\[0\\].paginaton: unknown key 'paginaton': did you mean 'pagination'\\?" "a definition with a key this integ does not know: did-you-mean at its position"
printf 'base_url: "${config.u}"\nconfig: {u: {default: "http://127.0.0.1:1"}}\nauth:\n  type: bearer\n  token: s3cr3t\nstreams: [{name: a, records: "$[*]"}]\n' >"$TMP/inline.yaml"
printf '{"definition": "inline.yaml"}\n' >"$TMP/inline.json"
run "$INTEG" tap declarative --discover --config "$TMP/inline.json"
like "$ERR" "inline.yaml:5:10: auth.token: the secret 'token' is written inline" "an inline secret in auth: is an error at its position"
sed -i 's/type: bearer/type: oauth3/; s/token: s3cr3t/token: "${config.u}"/' "$TMP/inline.yaml"
run "$INTEG" tap declarative --discover --config "$TMP/inline.json"
like "$ERR" "inline.yaml:4:9: auth.type: unknown auth type 'oauth3'" "an unknown auth type is an error at its position"

# ------------------------------------------- integ-declarative(7)
# Its example, extracted, runs against the shop (with the upper bound
# filter its windows need).
python3 - "$abs_top_srcdir/doc/integ-declarative.7" >"$TMP/shop.yaml" <<'EOT'
import sys
lines = open(sys.argv[1]).read().split("\n")
i = lines.index('.\\" example: shop.yaml') + 2
while lines[i] != ".fi":
    print(lines[i].replace("\\-", "-").replace("\\e", "\\").replace("\\&", ""))
    i += 1
EOT
scen shop 's["routes"][0]["collection"]["until_param"] = "updated_before"'
printf '{"definition": "shop.yaml", "base_url": "%s", "token": "tok", "start_date": "2024-03-01T00:00:00Z", "end_date": "2024-04-15"}\n' "$U" >"$TMP/shop.json"
tap declarative man.jsonl --config "$TMP/shop.json"
is "$RC" 0 "integ-declarative(7): its example runs against the test API"
[ "$RC" = 0 ] || diag "$ERR"
is "$(py "$TMP/man.jsonl" '[len(rs(s)) for s in ("users", "orders", "signups")], sorted(states()[-1]["bookmarks"])')" \
  "([120, 455, 120], ['orders', 'signups', 'users'])" "... every stream, the state of each"
is "$(reqs 'r["headers"].get("authorization")' | sort -u)" "Bearer tok" "... with its auth"
if command -v man >/dev/null 2>&1; then
  w=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$abs_top_srcdir/doc/integ-declarative.7" 2>&1 >/dev/null)
  is "$w" "" "integ-declarative.7 renders without warnings"
else
  ok "integ-declarative.7 renders (man not installed) # SKIP"
fi
