# declarative.sh - the declarative plugin against the test API
# (tests/declarative/api.json): every pagination style, field mapping and
# casts, an inclusive cursor with ties resumed from the store, child
# streams with per-partition state, the tap and source forms, and
# malformed answers, each naming stream, page and JSONPath.
. "$top_srcdir/tests/lib.sh"
command -v python3 >/dev/null || skip_all "python3 is needed"
plan 44
tmpdir
export INTEG_PLUGIN_PATH=$PLUGIN_DIR DECL_TOKEN=s3cr3t-token
D=$abs_top_srcdir/tests/declarative
start_testapi "$D/api.json" || { not_ok "testapi starts"; exit 1; }

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

# --- every pagination style, one stream each
cat >"$TMP/styles.yaml" <<'EOT'
base_url: "${config.base_url}"
streams:
  - name: page
    request: {path: /items/page}
    records: "$.data[*]"
    primary_key: id
    pagination: {type: page, size_param: per_page, size: 40}
  - name: offset
    request: {path: /items/offset}
    records: "$.data[*]"
    pagination: {type: offset, size_param: limit, size: 40}
  - name: cursor
    request: {path: /items/cursor, params: {limit: 40}}
    records: "$.data[*]"
    pagination: {type: cursor, token: "$.next_cursor", has_more: "$.has_more"}
  - name: next
    request: {path: /items/next}
    records: "$.data[*]"
    pagination: {type: next_url, token: "$.next"}
  - name: link
    request: {path: /items/link}
    records: "$[*]"
    pagination: {type: link}
EOT
printf '{"definition": "styles.yaml", "base_url": "%s"}\n' "$TESTAPI_URL" >"$TMP/styles.json"
"$INTEG" run --plugin declarative --config "$TMP/styles.json" --format singer \
  >"$TMP/styles.jsonl" 2>"$TMP/styles.err"
is "$?" 0 "five pagination styles: exit 0"
for s in page offset cursor next link; do
  is "$(py "$TMP/styles.jsonl" "len(rs('$s')), len(set(r['id'] for r in rs('$s')))")" \
    "(250, 250)" "pagination $s: all 250 records, once each"
done

# --- field mapping and casts; the schema inferred from them
cat >"$TMP/map.yaml" <<'EOT'
base_url: "${config.base_url}"
streams:
  - name: items
    request: {path: /items/page, params: {per_page: 50}}
    records: "$.data[*]"
    primary_key: [key]
    fields:
      key: {path: "$.id", cast: string}
      price: {path: "$.price", cast: string}
      qty: {path: "$.quantity", cast: number}
      active: {path: "$.active", cast: boolean}
      city: "$.attributes.owner.city"
    pagination: {type: page, size: 50, size_param: per_page}
EOT
printf '{"definition": "map.yaml", "base_url": "%s"}\n' "$TESTAPI_URL" >"$TMP/map.json"
"$INTEG" run --plugin declarative --config "$TMP/map.json" --format singer \
  >"$TMP/map.jsonl" 2>"$TMP/map.err"
is "$(py "$TMP/map.jsonl" "len(rs('items')), sorted(rs('items')[0]), [type(v).__name__ for k, v in sorted(rs('items')[0].items())]")" \
  "(250, ['active', 'city', 'key', 'price', 'qty'], ['bool', 'str', 'str', 'str', 'int'])" \
  "fields: five mapped fields, cast (string, number, boolean) or as they are"
is "$(py "$TMP/map.jsonl" "[x for x in m if x['type'] == 'SCHEMA'][0]['schema']['properties']['key'], [x for x in m if x['type'] == 'SCHEMA'][0]['key_properties']")" \
  "({'type': ['string', 'null']}, ['key'])" "the schema is inferred from the casts; primary_key names the field"

# --- incremental, inclusive filter with ties, resumed from the store
cat >"$TMP/ties.yaml" <<'EOT'
base_url: "${config.base_url}"
streams:
  - name: ties
    request: {path: /ties, params: {limit: 7}}
    records: "$.data[*]"
    primary_key: id
    cursor: {path: "$.updated_at", param: updated_after}
    pagination: {type: cursor, token: "$.next_cursor", has_more: "$.has_more"}
EOT
cat >"$TMP/integ.yaml" <<EOT
integ: 1
plugin_path: ["$PLUGIN_DIR"]
store: $TMP/integ.db
output: {format: singer}
connectors:
  ties:
    plugin: declarative
    config: {definition: ties.yaml, base_url: "$TESTAPI_URL"}
EOT
"$INTEG" -c "$TMP/integ.yaml" run ties >"$TMP/t1.jsonl" 2>"$TMP/t1.err"
is "$?" 0 "ties: first run exit 0 (the definition relative to the manifest)"
"$INTEG" -c "$TMP/integ.yaml" -v run ties >"$TMP/t2.jsonl" 2>"$TMP/t2.err"
is "$?" 0 "ties: resumed run exit 0"
py "$TMP/t1.jsonl" "'\n'.join(str(r['id']) for r in rs('ties'))" >"$TMP/ids1"
py "$TMP/t2.jsonl" "'\n'.join(str(r['id']) for r in rs('ties'))" >"$TMP/ids2"
n1=$(wc -l <"$TMP/ids1") n2=$(wc -l <"$TMP/ids2")
rep=$(sort -n "$TMP/ids1" "$TMP/ids2" | uniq -d | tr '\n' ' ')
gap=$(sort -n "$TMP/ids1" "$TMP/ids2" | awk 'NR != $1 { print NR; exit }')
if [ "$n1" -ge 53 ] && [ "$n2" -ge 1 ] && [ "$n2" -le 12 ] && [ -z "$rep" ] && [ -z "$gap" ]; then
  ok "ties: the resumed run brings only new records ($n1, then $n2), none repeated, none lost"
else
  not_ok "ties: the resumed run brings only new records, none repeated, none lost"
  diag "first $n1, then $n2; repeated: $rep; first gap at: $gap"
fi
like "$(cat "$TMP/t2.err")" "ties: [0-9]+ records, .* [12] HTTP requests" "ties: the resumed run asks from the stored cursor: one page or two, not all"
like "$("$INTEG" -c "$TMP/integ.yaml" state show ties ties 2>&1 | tr -d ' \n')" \
  '^\{"cursor":"2024-01-01T0[0-9]:[0-9:]+Z","keys":\[\[[0-9]+\]' "ties: the state is the cursor and the keys at it"

# A lookback asks again for what came just before the cursor (late
# updates): the records of the last 3 minutes come again.
sed 's/param: updated_after}/param: updated_after, lookback: 3m}/' "$TMP/ties.yaml" >"$TMP/lb.yaml"
cat >>"$TMP/integ.yaml" <<EOT
  lb:
    plugin: declarative
    config: {definition: lb.yaml, base_url: "$TESTAPI_URL"}
EOT
"$INTEG" -c "$TMP/integ.yaml" run lb >/dev/null 2>&1
cur=$("$INTEG" -c "$TMP/integ.yaml" state show lb ties 2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)["cursor"])')
"$INTEG" -c "$TMP/integ.yaml" run lb >"$TMP/lb2.jsonl" 2>/dev/null
is "$(py "$TMP/lb2.jsonl" "min(r['updated_at'] for r in rs('ties'))" | python3 -c '
import sys, datetime
got = datetime.datetime.strptime(sys.stdin.read().strip(), "%Y-%m-%dT%H:%M:%SZ")
cur = datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ")
print((cur - got).total_seconds())' "$cur")" "180.0" "cursor.lookback: the resumed run asks from 3 minutes before the cursor"

# --- child streams: orders of each user, state per user
cat >"$TMP/shop.yaml" <<'EOT'
base_url: "${config.base_url}"
streams:
  - name: users
    request: {path: /users}
    records: "$.data[*]"
    primary_key: id
  - name: orders
    parent: {stream: users, key: "$.id", as: user}
    request: {path: "/users/${parent.user}/orders", params: {per_page: 3}}
    records: "$.data[*]"
    primary_key: id
    cursor: {path: "$.updated_at", param: updated_since}
    pagination: {type: page, size: 3}
EOT
cat >>"$TMP/integ.yaml" <<EOT
  shop:
    plugin: declarative
    config: {definition: shop.yaml, base_url: "$TESTAPI_URL"}
EOT
"$INTEG" -c "$TMP/integ.yaml" run shop >"$TMP/s1.jsonl" 2>"$TMP/s1.err"
is "$?" 0 "children: exit 0"
want=0
for u in 1 2 3 4; do
  want=$((want + $(curl -s "$TESTAPI_URL/users/$u/orders?per_page=100" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["data"]))')))
done
is "$(py "$TMP/s1.jsonl" "len(rs('users')), len(rs('orders')), sorted(set(r['user_id'] for r in rs('orders')))")" \
  "(4, $want, [1, 2, 3, 4])" "children: every user's orders, fetched per user"
is "$(py "$TMP/s1.jsonl" "sorted(states()[-1]['bookmarks']['orders']['partitions'])")" "['1', '2', '3', '4']" \
  "children: the state is kept per parent partition"
"$INTEG" -c "$TMP/integ.yaml" run shop >"$TMP/s2.jsonl" 2>"$TMP/s2.err"
is "$(py "$TMP/s2.jsonl" "len(rs('users')), len(rs('orders'))")" "(4, 0)" \
  "children: resumed, each partition from its own cursor: no order again"

# --- a kill while a child loads: the parent's cursor waits for its
# children. User 3's orders answer after 4 s; the run is killed while it
# waits. No user changes before the next run, which must still load the
# orders of users 3 and 4 (the parent's cursor had not passed them).
# A checkpoint after every record: each state is committed at once.
cat >"$TMP/kshop.yaml" <<'EOT'
base_url: "${config.base_url}"
streams:
  - name: kusers
    request: {path: /kusers}
    records: "$.data[*]"
    primary_key: id
    cursor: {path: "$.updated_at", param: updated_after}
  - name: korders
    parent: {stream: kusers, key: "$.id", as: user}
    request: {path: "/kusers/${parent.user}/korders"}
    records: "$.data[*]"
    primary_key: id
EOT
cat >>"$TMP/integ.yaml" <<EOT
  kshop:
    plugin: declarative
    config: {definition: kshop.yaml, base_url: "$TESTAPI_URL"}
    output: {checkpoint_records: 1}
EOT
"$INTEG" -c "$TMP/integ.yaml" run kshop >"$TMP/k1.jsonl" 2>"$TMP/k1.err" &
kpid=$!
seen=no
for _ in $(seq 200); do
  if curl -s "$TESTAPI_URL/_testapi/log" | python3 -c '
import json, sys
sys.exit(0 if any(r["path"] == "/kusers/3/korders" for r in json.load(sys.stdin)["requests"]) else 1)'; then
    seen=yes
    break
  fi
  sleep 0.05
done
kill -KILL "$kpid" 2>/dev/null
wait "$kpid" 2>/dev/null
is "$seen" "yes" "kill while a child loads: killed while user 3's orders were asked for"
"$INTEG" -c "$TMP/integ.yaml" run kshop >"$TMP/k2.jsonl" 2>"$TMP/k2.err"
want=$(for u in 1 2 3 4; do curl -s "$TESTAPI_URL/kusers/$u/korders"; echo; done |
  python3 -c 'import json, sys; print(sorted(r["id"] for l in sys.stdin if l.strip() for r in json.loads(l)["data"]))')
is "$(cat "$TMP/k1.jsonl" "$TMP/k2.jsonl" >"$TMP/k12.jsonl"; py "$TMP/k12.jsonl" "sorted(set(r['id'] for r in rs('korders')))")" \
  "$want" "kill while a child loads: resumed, every order of every user is in the two runs' output"

# --- the tap and source forms
printf '{"definition": "%s", "base_url": "%s"}\n' "$TMP/shop.yaml" "$TESTAPI_URL" >"$TMP/shop.json"
"$INTEG" tap declarative --config "$TMP/shop.json" --discover >"$TMP/cat.json" 2>"$TMP/cat.err"
is "$(python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); print([(s["tap_stream_id"], s.get("replication_key")) for s in c["streams"]])' "$TMP/cat.json")" \
  "[('users', None), ('orders', 'updated_at')]" "tap --discover: both streams, orders incremental"
"$INTEG" source declarative discover --config "$TMP/shop.json" >"$TMP/disc.jsonl" 2>/dev/null
is "$(py "$TMP/disc.jsonl" "[(s['name'], s['supported_sync_modes']) for s in m[0]['catalog']['streams']]")" \
  "[('users', ['full_refresh']), ('orders', ['full_refresh', 'incremental'])]" "source discover: the Airbyte catalog"

# --- malformed answers: stream, page URL and JSONPath named; nothing moves
nbad=0
bad() {
  cat >"$TMP/bad.yaml" <<EOT
base_url: "\${config.base_url}"
streams:
  - name: b
    request: {path: $1}
    records: "\$.data[*]"
    primary_key: id
    $2
EOT
  # One attempt: an invalid answer is retried otherwise.
  nbad=$((nbad + 1))
  cat >"$TMP/bad-integ.yaml" <<EOT
integ: 1
plugin_path: ["$PLUGIN_DIR"]
store: $TMP/bad-$nbad.db
output: {format: singer}
connectors:
  b:
    plugin: declarative
    config: {definition: bad.yaml, base_url: "$TESTAPI_URL"}
    retry: {max_attempts: 1}
EOT
  run "$INTEG" -c "$TMP/bad-integ.yaml" run b
}
bad /bad/notjson
like "$RC:$ERR" "^1:.*stream b.*/bad/notjson.*JSON" "a body that is not JSON: exit 1, stream and URL named"
bad /bad/nodata
like "$RC:$ERR" "^1:.*stream b: page http://127.0.0.1:[0-9]+/bad/nodata: the records path \\\$\\.data is missing" "records path missing: stream, page URL, JSONPath"
like "$ERR" "/bad/nodata: the records path" "... the page URL as requested"
bad "/bad/nodata, params: {token: \"\${env:DECL_TOKEN}\"}"
if printf '%s' "$ERR" | grep -q "s3cr3t-token"; then not_ok "a secret in a query parameter is redacted from the error"; diag "$ERR"
else like "$ERR" "/bad/nodata\?token=REDACTED: the records path" "a secret in a query parameter is redacted from the error"; fi
bad /bad/datastring
like "$RC:$ERR" "^1:.*stream b: page .*/bad/datastring: the records path \\\$\\.data is a string, not an array" "records path of the wrong type"
bad /bad/cursor 'cursor: {path: "$.t"}'
like "$RC:$ERR" "^1:.*stream b: page [^ ]*/bad/cursor: the cursor value \"yesterday\" at \\\$\\.t cannot be parsed" "a cursor value that does not parse"
is "$(printf '%s\n' "$OUT" | grep -c RECORD)" 0 "... and nothing of that page is written"
bad /bad/backwards 'cursor: {path: "$.t"}'
like "$RC:$ERR" "^0:.*stream b: a cursor value went backwards" "a cursor going backwards is logged"
like "$OUT" '"cursor":"2024-01-02T00:00:00Z"' "... and the state is not moved back"
bad /bad/loop 'pagination: {type: cursor, token: "$.next"}'
like "$RC:$ERR" "^1:.*stream b: page 2: the API gave the same next token 'abc' twice in a row" "the same token twice: an error, not a loop"
bad /bad/cast 'fields: {id: "$.id", n: {path: "$.n", cast: integer}}'
like "$RC:$ERR" "^1:.*stream b: page .*/bad/cast: field 'n' \(\\\$\\.n\): \"twelve\" cannot be cast to integer" "a cast that fails names field, JSONPath and value"
is "$(printf '%s\n' "$OUT" | grep -c RECORD)" 0 "... and nothing of that page is written"

# --- bad definitions: each names file:line:column and key path
n=0 fails=""
for f in "$D"/bad/*.yaml; do
  want=$(sed -n 's/^# expect: //p' "$f")
  printf '{"definition": "%s", "base_url": "http://127.0.0.1:9"}\n' "$f" >"$TMP/def.json"
  got=$("$INTEG" run --plugin declarative --config "$TMP/def.json" 2>&1 >/dev/null)
  n=$((n + 1))
  if ! printf '%s\n' "$got" | grep -qF -- "$(basename "$f"):$want"; then
    fails="$fails
$(basename "$f"): want ':$want'
  got: $got"
  fi
done
if [ "$n" -ge 20 ] && [ -z "$fails" ]; then
  ok "$n bad definitions: each error names file:line:column and key path"
else
  not_ok "bad definitions: each error names file:line:column and key path ($n files)"
  diag "$fails"
fi

# --- Airbyte column selection: a json_schema with fewer properties
python3 - "$TMP/map.json" >"$TMP/cols.json" <<'EOT'
import json
print(json.dumps({"streams": [{"stream": {"name": "items", "json_schema": {
    "type": "object", "properties": {"key": {}, "qty": {}}}},
    "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]}))
EOT
"$INTEG" source declarative read --config "$TMP/map.json" --catalog "$TMP/cols.json" \
  >"$TMP/cols.jsonl" 2>"$TMP/cols.err"
is "$(py "$TMP/cols.jsonl" "sorted(set(tuple(sorted(x['record']['data'])) for x in m if x['type'] == 'RECORD')), len([x for x in m if x['type'] == 'RECORD'])")" \
  "([('key', 'qty')], 250)" "Airbyte column selection: only the json_schema's properties are emitted"

# --- integ validate checks definitions, inline or in files, offline
mkdir "$TMP/v"
cp "$D/bad/unknown_stream_key.yaml" "$TMP/v/typo.yaml"
cat >"$TMP/v/integ.yaml" <<EOT
integ: 1
plugin_path: ["$PLUGIN_DIR"]
store: $TMP/v/integ.db
connectors:
  good:
    plugin: declarative
    config: {definition: $TMP/styles.yaml, base_url: "http://127.0.0.1:9"}
  inline:
    plugin: declarative
    config:
      base_url: "http://127.0.0.1:9"
      definition:
        base_url: "\${config.base_url}"
        streams:
          - name: s
            request: {path: "/x/\${config.nope}"}
            records: "\$.data[*]"
  file:
    plugin: declarative
    config: {definition: typo.yaml, base_url: "http://127.0.0.1:9"}
EOT
run "$INTEG" validate "$TMP/v/integ.yaml"
like "$ERR" "connector inline: .*integ.yaml:16:29: definition.streams\[0\].request.path: template '/x/\\$\{config.nope\}': character 6: unknown variable 'config.nope'" \
  "validate: an inline definition's error at its manifest position"
like "$ERR" "typo.yaml:6:13: streams\[0\].record: unknown key 'record': did you mean 'records'\?" \
  "validate: a definition file beside the manifest, its own position"
if [ "$RC" = 2 ] && ! printf '%s\n' "$ERR" | grep -q "connector good"; then
  ok "validate: exit 2; a good definition passes"
else
  not_ok "validate: exit 2; a good definition passes"; diag "exit $RC" "$ERR"
fi

# --- date windows: one day each, resumed after SIGKILL from the last one
cat >"$TMP/win.yaml" <<'EOT'
base_url: "${config.base_url}"
streams:
  - name: events
    request:
      path: /events
      params: {updated_since: "#START#", updated_before: "#END#", limit: 10}
    records: "$.data[*]"
    primary_key: id
    windows: {start: "${config.start}", end: "2024-01-14", step: 1d}
    pagination: {type: cursor, token: "$.next_cursor", has_more: "$.has_more"}
EOT
cat >"$TMP/win-integ.yaml" <<EOT
integ: 1
plugin_path: ["$PLUGIN_DIR"]
store: $TMP/win.db
output: {format: singer, checkpoint_records: 1}
connectors:
  w:
    plugin: declarative
    config: {definition: win.yaml, base_url: "$TESTAPI_URL", start: "2024-01-01"}
    rate_limit: {per_second: 25, burst: 1}
EOT
"$INTEG" -c "$TMP/win-integ.yaml" run w >"$TMP/w1.jsonl" 2>"$TMP/w1.err" &
wpid=$!
i=0
while [ $i -lt 200 ]; do
  st=$("$INTEG" -c "$TMP/win-integ.yaml" state show w events 2>/dev/null | tr -d ' \n')
  case $st in *window_end*) break ;; esac
  sleep 0.05
  i=$((i + 1))
done
kill -9 $wpid 2>/dev/null
wait $wpid 2>/dev/null
like "$st" '"window_end":"2024-01-0[1-9]T00:00:00Z"' "windows: killed after a window was committed ($st)"
"$INTEG" -c "$TMP/win-integ.yaml" run w >"$TMP/w2.jsonl" 2>"$TMP/w2.err"
is "$?" 0 "windows: the run after the kill exits 0"
is "$(python3 - "$TMP/w1.jsonl" "$TMP/w2.jsonl" "$st" <<'EOT'
import json, sys
def ids(f):
    out = []
    for l in open(f):
        try:
            m = json.loads(l)
        except ValueError:
            continue  # the line the kill cut
        if m.get("type") == "RECORD":
            out.append((m["record"]["id"], m["record"]["updated_at"]))
    return out
a, b = ids(sys.argv[1]), ids(sys.argv[2])
done = json.loads(sys.argv[3])["window_end"]
both = set(i for i, _ in a) | set(i for i, _ in b)
print(both == set(range(1, 301)), min(u for _, u in b) >= done,
      len(b) == len(set(i for i, _ in b)))
EOT
)" "True True True" "windows: all records once the second run ends; it began at the last committed window"

# --- protocol: Airbyte messages validate; the Singer output is golden
"$INTEG" source declarative spec >"$TMP/ab_spec.jsonl" 2>/dev/null
"$INTEG" source declarative check --config "$TMP/map.json" >"$TMP/ab_check.jsonl" 2>/dev/null
"$INTEG" source declarative discover --config "$TMP/map.json" >"$TMP/ab_disc.jsonl" 2>/dev/null
if ! anchor airbyte/airbyte_protocol.yaml; then
  : # reported by anchor
else
  mkdir "$TMP/ab" && cp "$TMP"/ab_*.jsonl "$TMP/cols.jsonl" "$TMP/disc.jsonl" "$TMP/ab/"
  python3 "$abs_top_srcdir/tests/validate_airbyte.py" "$ANCHORS/airbyte/airbyte_protocol.yaml" \
    "$TMP"/ab/*.jsonl >"$TMP/validate.out" 2>&1
  vrc=$?
  if [ $vrc = 3 ]; then
    ok "# SKIP python3-jsonschema or python3-yaml missing"
  elif [ $vrc = 0 ]; then
    ok "Airbyte: spec, check, discover and read messages validate ($(tail -n 1 "$TMP/validate.out"))"
  else
    not_ok "Airbyte messages validate against airbyte_protocol.yaml"
    diag "$(head -20 "$TMP/validate.out")"
  fi
fi
G=$abs_top_srcdir/tests/golden
INTEG_NOW=2026-01-02T03:04:05Z "$INTEG" tap declarative --config "$TMP/map.json" \
  >"$TMP/declarative_singer.jsonl" 2>/dev/null
head -n 4 "$TMP/declarative_singer.jsonl" >"$TMP/golden_head.jsonl"
tail -n 1 "$TMP/declarative_singer.jsonl" >>"$TMP/golden_head.jsonl"
if [ "${GOLDEN_UPDATE:-}" = 1 ]; then cp "$TMP/golden_head.jsonl" "$G/declarative_singer.jsonl"; fi
if cmp -s "$TMP/golden_head.jsonl" "$G/declarative_singer.jsonl"; then
  ok "Singer: the tap's SCHEMA, first and last records are the golden file"
else
  not_ok "Singer: the tap's output is the golden file"
  diag "$(diff -u "$G/declarative_singer.jsonl" "$TMP/golden_head.jsonl" | head -20)"
fi
