# webhooks.sh - the daemon's webhook receiver over HTTP, signed by
# tests/webhook_sign.py (python's hmac, hashlib, base64; not the host's
# code): per scheme valid, wrong secret, tampered body, stale and future
# timestamps, several signatures of which one is valid, missing headers,
# a replayed delivery id (acknowledged, processed once), an oversized
# body; wrong method, route and content type; GitHub's ping and Slack's
# url_verification; processing by the plugin's on_event with redacted
# headers; retries, the dead-letter state, list --dead and replay; a
# plugin without on_event is a validate error.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/daemon_lib.sh"
command -v python3 >/dev/null || skip_all "python3 is needed (signer, client)"
plan 76
tmpdir
SOCK=$TMP/ctl.sock
LOG=$TMP/daemon.log
SIGN=$top_srcdir/tests/webhook_sign.py
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT/hooks
STD_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
WH_SECRET=s3cret-for-webhooks
export WH_SECRET

cat >"$TMP/integ.yaml" <<EOT
integ: 1
plugin_path: ["$TEST_PLUGIN_DIR"]
store: "$TMP/store.db"
output: {format: jsonl, to: "file:$TMP/{connector}.jsonl"}
daemon: {control_socket: "$SOCK", lock_dir: "$TMP/locks"}
metrics: {listen: "127.0.0.1:$MPORT"}
webhooks: {listen: "127.0.0.1:$PORT", max_body: 4096}
connectors:
  std:
    plugin: hookplug
    webhooks: {scheme: standard, secret: "$STD_SECRET"}
  gh:
    plugin: hookplug
    config: {fail_type: bad}
    webhooks: {scheme: github, secret: "\${env:WH_SECRET}", max_attempts: 2}
  stripe:
    plugin: hookplug
    webhooks: {scheme: stripe, secret: "\${env:WH_SECRET}"}
  slack:
    plugin: hookplug
    webhooks: {scheme: slack, secret: "\${env:WH_SECRET}"}
  gen:
    plugin: hookplug
    webhooks:
      scheme: generic
      secret: "\${env:WH_SECRET}"
      header: X-Signature
      prefix: "sha1="
      encoding: base64
      digest: sha1
      id_header: X-Delivery
EOT

# body FILE ID: a JSON body whose ids (Stripe's id, Slack's event_id) are ID.
body() {
  printf '{"id":"%s","type":"thing.happened","event_id":"%s","event":{"type":"message"}}' "$2" "$2" >"$1"
}
# send SCHEME SECRET ID [ARGS]: POST a delivery; prints "STATUS BODY".
send() {
  _s=$1 _k=$2 _id=$3
  shift 3
  body "$TMP/b-$_id.json" "$_id"
  _extra=
  [ "$_s" = generic ] && _extra="--prefix sha1= --base64 --sha1"
  python3 "$SIGN" "$_s" "$_k" "$TMP/b-$_id.json" --id "$_id" $_extra \
    --send "$URL/$(route "$_s")" "$@" 2>&1
}
route() { case $1 in standard) echo std ;; github) echo gh ;; generic) echo gen ;; *) echo "$1" ;; esac; }
secret() { [ "$1" = standard ] && echo "$STD_SECRET" || echo "$WH_SECRET"; }
wrong() { [ "$1" = standard ] && echo whsec_bm90IHRoZSBzZWNyZXQ= || echo "${WH_SECRET}x"; }
sigheader() {
  case $1 in standard) echo webhook-signature ;; github) echo X-Hub-Signature-256 ;;
    stripe) echo Stripe-Signature ;; slack) echo X-Slack-Signature ;; generic) echo X-Signature ;; esac
}

# A plugin without on_event cannot take webhooks: a validate error.
sed 's/^  std:$/  nohook:\n    plugin: gen\n    webhooks: {scheme: github, secret: "x"}\n  std:/' \
  "$TMP/integ.yaml" >"$TMP/bad.yaml"
"$INTEG" -c "$TMP/bad.yaml" validate >/dev/null 2>"$TMP/bad.err"
is "$?" 2 "validate: a connector with webhooks whose plugin has no on_event exits 2"
like "$(cat "$TMP/bad.err")" 'connectors\.nohook\.webhooks: plugin gen cannot process webhook events' \
  "... naming the key and the plugin"
sed 's/      id_header: X-Delivery/      id_path: "$.[bad"/' "$TMP/integ.yaml" >"$TMP/bad2.yaml"
"$INTEG" -c "$TMP/bad2.yaml" validate >/dev/null 2>"$TMP/bad2.err"
is "$?" 2 "validate: an id_path that is not a JSONPath exits 2"
like "$(cat "$TMP/bad2.err")" 'connectors\.gen\.webhooks\.id_path: invalid JSONPath' "... naming the key"

start_daemon "$TMP/integ.yaml" "$LOG" || { not_ok "the daemon starts"; cat "$LOG"; exit 1; }
ok "the daemon starts with webhooks"

for s in standard github stripe slack generic; do
  k=$(secret "$s")
  is "$(send "$s" "$k" "$s-ok")" "202 " "$s: a valid delivery is accepted (202)"
  is "$(send "$s" "$k" "$s-ok")" "200 " "$s: the same delivery id again is acknowledged (200), not queued"
  is "$(send "$s" "$(wrong "$s")" "$s-wrong")" "401 " "$s: wrong secret: 401"
  is "$(send "$s" "$k" "$s-tamper" --tamper)" "401 " "$s: tampered body: 401"
  is "$(send "$s" "$k" "$s-nosig" --drop "$(sigheader "$s")")" "400 " "$s: missing signature header: 400"
  case $s in standard|stripe|slack)
    is "$(send "$s" "$k" "$s-old" --ts-offset -400)" "401 " "$s: a timestamp 400 s old: 401"
    is "$(send "$s" "$k" "$s-future" --ts-offset 400)" "401 " "$s: a timestamp 400 s ahead: 401"
    ;;
  esac
  case $s in standard|stripe|generic)
    is "$(send "$s" "$k" "$s-two" --extra-sig)" "202 " "$s: two signatures, one valid: 202" ;;
  esac
done

# Oversized, method, route, content type.
head -c 5000 /dev/zero | tr '\0' a >"$TMP/big.json"
is "$(python3 "$SIGN" github "$WH_SECRET" "$TMP/big.json" --id big --send "$URL/gh" 2>&1)" \
  "413 " "a body over webhooks.max_body: 413"
if command -v curl >/dev/null; then
  is "$(curl -s -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' \
    -H 'Content-Type: application/json' --data-binary @"$TMP/big.json" "$URL/gh")" \
    413 "a chunked body (no Content-Length) over webhooks.max_body: 413"
else
  ok "# SKIP no curl command"
fi
is "$(send github "$WH_SECRET" get1 --method PUT)" "405 " "a PUT: 405"
is "$(python3 "$SIGN" github "$WH_SECRET" "$TMP/b-get1.json" --id x --send "$URL/nosuch" 2>&1)" \
  "404 " "an unknown route: 404"
is "$(send github "$WH_SECRET" ct1 --content-type text/plain)" "415 " "a wrong content type: 415"
is "$(send github "$WH_SECRET" ping1 --event ping)" "200 pong" "GitHub's ping is answered"
printf '{"token":"t","challenge":"ch4ll-3ng3","type":"url_verification"}' >"$TMP/uv.json"
is "$(python3 "$SIGN" slack "$WH_SECRET" "$TMP/uv.json" --send "$URL/slack" 2>&1)" "200 ch4ll-3ng3" \
  "Slack's url_verification challenge is answered"

# Refusals are logged with the connector and the reason, never the secret.
like "$(cat "$LOG")" '\[gh\] refused a delivery from 127\.0\.0\.1 with 401: bad signature' \
  "a refusal is logged with the connector and the reason"
like "$(cat "$LOG")" '\[stripe\] refused .* stale timestamp' "a stale timestamp is logged as such"
like "$(cat "$LOG")" 'refused .* 404: no such route' "an unknown route is logged"
if grep -q -- "$WH_SECRET" "$LOG"; then not_ok "the secret is not in the log"; else ok "the secret is not in the log"; fi

# Processing: every accepted delivery once, in its connector's output.
for s in standard github stripe slack generic; do
  f=$TMP/$(route "$s").jsonl
  want=1
  case $s in standard|stripe|generic) want=2 ;; esac
  for i in $(seq 100); do
    [ "$(grep -c '"delivery_id"' "$f" 2>/dev/null)" -ge "$want" ] && break
    sleep 0.1
  done
  is "$(grep -c "\"delivery_id\":\"$s-ok\"" "$f" 2>/dev/null)" 1 "$s: the delivery was processed once"
done
like "$(cat "$TMP/gh.jsonl")" '"signature":"\[redacted\]"' "the plugin sees the signature header redacted"
like "$(cat "$TMP/gh.jsonl")" '"type":"push"' "the event carries its type"
like "$(cat "$TMP/stripe.jsonl")" '"delivery_id":"stripe-ok","type":"thing.happened"' \
  "Stripe's id and type come from the body"
like "$(cat "$TMP/slack.jsonl")" '"delivery_id":"slack-ok","type":"message"' \
  "Slack's event_id and event type come from the body"

# A failing event: retried, then dead, shown by list --dead and status.
is "$(send github "$WH_SECRET" bad1 --event bad)" "202 " "an event the plugin fails is accepted"
for i in $(seq 150); do
  "$INTEG" -c "$TMP/integ.yaml" webhooks list --dead 2>/dev/null | grep -q bad1 && break
  sleep 0.1
done
DEAD=$("$INTEG" -c "$TMP/integ.yaml" webhooks list --dead 2>&1)
like "$DEAD" '^[0-9]+ gh dead bad1 bad attempts 2 .*events of type bad fail' \
  "after max_attempts it is dead, with its error (list --dead)"
like "$(cat "$LOG")" 'event [0-9]+ \(delivery bad1\) failed, retried later' "the first failure is retried"
like "$(cat "$LOG")" 'failed for the last time: dead' "the last one says dead"
"$INTEG" -c "$TMP/integ.yaml" status >"$TMP/status.out" 2>&1
like "$(cat "$TMP/status.out")" 'webhooks: 0 queued, 1 dead' "integ status shows the dead event"
ID=${DEAD%% *}
"$INTEG" -c "$TMP/integ.yaml" webhooks replay "$ID" 2>"$TMP/replay.err"
is "$?" 0 "webhooks replay ID exits 0"
like "$("$INTEG" -c "$TMP/integ.yaml" webhooks list 2>&1)" "^$ID gh (queued|running|dead) bad1" \
  "... the event is back in the queue"
"$INTEG" -c "$TMP/integ.yaml" webhooks replay 999999 2>"$TMP/replay2.err"
is "$?" 1 "replay of an unknown id exits 1"
like "$(cat "$TMP/replay2.err")" 'no webhook event 999999' "... saying so"
"$INTEG" -c "$TMP/integ.yaml" webhooks replay abc 2>/dev/null
is "$?" 2 "replay of a non-number exits 2"
like "$("$INTEG" webhooks --help)" 'integ webhooks list \[--dead\]' "webhooks --help"

# Processed rows are deleted; delivery ids stay until their TTL.
for i in $(seq 100); do
  [ "$("$INTEG" -c "$TMP/integ.yaml" webhooks list --json 2>/dev/null | python3 -c 'import json,sys; print(len([e for e in json.load(sys.stdin) if e["status"]!="dead"]))')" = 0 ] && break
  sleep 0.1
done
is "$(python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute("select count(*) from webhook_queue where status != \"dead\"").fetchone()[0])' "$TMP/store.db")" \
  0 "processed events are deleted from the queue"
like "$(python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute("select count(*) from webhook_keys").fetchone()[0])' "$TMP/store.db")" \
  '^9$' "the 9 accepted delivery ids are kept for deduplication"

# SIGHUP: a connector added to the manifest gets its route.
cat >>"$TMP/integ.yaml" <<EOT
  later:
    plugin: hookplug
    webhooks: {scheme: github, secret: "\${env:WH_SECRET}"}
EOT
kill -HUP "$DPID"
wait_for "$LOG" 'reloaded' 10
is "$(python3 "$SIGN" github "$WH_SECRET" "$TMP/b-get1.json" --id l1 --send "$URL/later" 2>&1)" \
  "202 " "after SIGHUP a new connector's route takes deliveries"

# /metrics counts the deliveries by connector and outcome.
M=$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' \
  "http://127.0.0.1:$MPORT/metrics" 2>&1)
got=$(printf '%s\n' "$M" | sed -n 's/^integ_webhook_deliveries_total{connector="\([a-z]*\)",outcome="\([a-z]*\)"} \([0-9]*\)$/\1 \2 \3/p' |
  awk '$3 > 0 { print $1 ":" $2 }' | sort | tr '\n' ' ')
is "$got" "gen:accepted gen:duplicate gen:refused gh:accepted gh:duplicate gh:refused later:accepted slack:accepted slack:duplicate slack:refused std:accepted std:duplicate std:refused stripe:accepted stripe:duplicate stripe:refused " \
  "/metrics counts webhook deliveries by connector and outcome"

kill -TERM "$DPID"
wait "$DPID" 2>/dev/null
is "$?" 0 "the daemon stops on SIGTERM"

# TLS: webhooks.tls_cert and tls_key.
if command -v openssl >/dev/null &&
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" \
    -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1; then
  sed -i "s|^webhooks: {|webhooks: {tls_cert: \"$TMP/cert.pem\", tls_key: \"$TMP/key.pem\", |" "$TMP/integ.yaml"
  start_daemon "$TMP/integ.yaml" "$LOG" || { not_ok "the daemon starts with TLS"; cat "$LOG"; }
  is "$(python3 "$SIGN" github "$WH_SECRET" "$TMP/b-get1.json" --id tls1 --cafile "$TMP/cert.pem" \
    --send "https://127.0.0.1:$PORT/hooks/gh" 2>&1)" "202 " "TLS: a delivery over HTTPS is accepted"
  kill -TERM "$DPID"
  wait "$DPID" 2>/dev/null
else
  ok "# SKIP TLS: no openssl command to make a certificate"
fi
