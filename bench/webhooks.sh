#!/bin/sh
# webhooks.sh - webhook deliveries/s and latency on loopback: pre-signed
# Standard Webhooks deliveries from bench/webhook_load (libcurl multi)
# to integ daemon, once undisturbed and once with the daemon SIGKILLed
# during the load and restarted (unanswered deliveries are sent again).
#   bench/webhooks.sh BUILDDIR [COUNT] [CONCURRENCY]
set -eu
build=$1 n=${2:-20000} c=${3:-32}
tmp=$(mktemp -d)
dpid=
trap '[ -n "$dpid" ] && kill $dpid 2>/dev/null; rm -rf "$tmp"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
secret=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
cat >"$tmp/integ.yaml" <<EOT
integ: 1
plugin_path: ["$build/tests/plugins/.libs"]
store: "$tmp/store.db"
output: {format: jsonl, to: "file:$tmp/{connector}.jsonl"}
daemon: {control_socket: "$tmp/ctl.sock", lock_dir: "$tmp/locks"}
webhooks: {listen: "127.0.0.1:$port"}
connectors:
  hooks:
    plugin: hookplug
    webhooks: {scheme: standard, secret: "$secret"}
EOT
start() {
  "$build/integ" -c "$tmp/integ.yaml" daemon 2>>"$tmp/daemon.log" &
  dpid=$!
  for i in $(seq 100); do
    grep -q "started (pid $dpid)" "$tmp/daemon.log" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "the daemon did not start" >&2
  exit 1
}
start
echo "== $n deliveries, $c at once, undisturbed"
"$build/bench/webhook_load" "http://127.0.0.1:$port/hooks/hooks" "$secret" "$n" "$c" calm
echo "== $n deliveries, $c at once, daemon SIGKILLed after 1 s and restarted"
"$build/bench/webhook_load" "http://127.0.0.1:$port/hooks/hooks" "$secret" "$n" "$c" kill "$tmp/acked" &
lpid=$!
sleep 1
kill -KILL "$dpid"
wait "$dpid" 2>/dev/null || true
start
wait "$lpid" || true
for i in $(seq 600); do
  [ "$("$build/integ" -c "$tmp/integ.yaml" webhooks list 2>/dev/null | wc -l)" = 0 ] && break
  sleep 0.1
done
echo "acknowledged $(wc -l <"$tmp/acked"), processed records $(grep -c . "$tmp/hooks.jsonl"), distinct $(python3 -c "
import json,sys
print(len({json.loads(l)['delivery_id'] for l in open(sys.argv[1])}))" "$tmp/hooks.jsonl") (of $((2 * n)) sent)"
