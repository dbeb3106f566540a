#!/bin/sh
# http.sh - HTTP through the host vs plain libcurl, and emit_batch vs a
# plugin that parses each page itself, against tests/testapi on loopback.
#   bench/http.sh BUILDDIR SRCDIR [REQUESTS] [PAGES]
set -eu
build=$1 src=$2 n=${3:-2000} pages=${4:-100}
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
cat >"$tmp/scenario.json" <<EOT
{"routes": [{"path": "/ok", "responses": [{"json": {"ok": true}}]},
 {"path": "/items", "collection": {"count": $((pages * 1000)), "page_size": 1000,
  "max_page_size": 1000, "pagination": "page"}}]}
EOT
"$build/tests/testapi/testapi" --port 0 --idle-exit 600 --scenario "$tmp/scenario.json" >"$tmp/port" &
pid=$!
sleep 0.3
port=$(sed -n 's/^port //p' "$tmp/port")
url=http://127.0.0.1:$port
export INTEG_PLUGIN_PATH=$build/tests/plugins/.libs
t() { /usr/bin/env time -f '%e %U %S %M' "$@" 2>&1 >/dev/null | tail -1; }

echo "== $n GET requests to $url/ok"
"$build/bench/http_reqs" "$url/ok" "$n"
python3 -c "import json; print(json.dumps({'quiet': True, 'requests': [{'url': '$url/ok'}] * $n}))" >"$tmp/reqs.json"
set -- $(t "$build/integ" run --plugin httpprobe --config-json "$tmp/reqs.json")
echo "integ http_do: $n requests in $1 s: $(awk -v n=$n -v s=$1 'BEGIN{printf "%.0f", n/s}')/s (user $2 s, sys $3 s, peak RSS $4 KiB)"

echo "== $pages pages x 1000 records"
for mode in batch parse; do
  python3 -c "
import json
reqs = []
for p in range(1, $pages + 1):
    r = {'url': '$url/items', 'query': {'page': str(p)}}
    r['$mode'] = {'stream': 'items', 'records': '\$.data[*]'}
    reqs.append(r)
print(json.dumps({'quiet': True, 'requests': reqs}))" >"$tmp/$mode.json"
  set -- $(t "$build/integ" run --plugin httpprobe --format jsonl --config-json "$tmp/$mode.json")
  echo "$mode: $((pages * 1000)) records in $1 s: $(awk -v n=$((pages * 1000)) -v s=$1 'BEGIN{printf "%.0f", n/s}') records/s (user $2 s, sys $3 s, peak RSS $4 KiB)"
done
