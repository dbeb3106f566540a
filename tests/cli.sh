# cli.sh - the integ command line: help, exit codes, running one plugin.
. "$top_srcdir/tests/lib.sh"
plan 25
export INTEG_PLUGIN_PATH="$PLUGIN_DIR"

run "$INTEG" --help
is "$RC" 0 "--help exits 0"
like "$OUT" '^Usage: integ \[OPTIONS\] COMMAND' "--help prints usage on stdout"

run "$INTEG"
is "$RC" 2 "no command is a usage error (exit 2)"

run "$INTEG" frobnicate
is "$RC" 2 "an unknown command exits 2"
like "$ERR" "no command 'frobnicate'" "an unknown command is named"

run "$INTEG" --bogus
is "$RC" 2 "an unknown global option exits 2"

run "$INTEG" --version
like "$OUT" '^integ [0-9]+\.[0-9]+\.[0-9]+ \(plugin ABI 0\.[0-9]+\)' "--version names the version and ABI"

bad=
for cmd in $("$INTEG" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR>1 && NF {print $1}'); do
  "$INTEG" "$cmd" --help >/dev/null 2>&1 || bad="$bad $cmd"
done
is "$bad" "" "every command answers --help with exit 0"

INTEG_NOW=2026-01-01T00:00:00Z run "$INTEG" run --plugin example
is "$RC" 0 "run --plugin example exits 0"
is "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 9 "example writes 3 users and 6 orders"
is "$(printf '%s\n' "$OUT" | head -1)" '{"id":1,"name":"user odd","active":true}' "records are compact JSON lines in key order"

tmpdir
printf '{"users": 5, "orders_per_user": 0}' >"$TMP/cfg.json"
run "$INTEG" run --plugin example --config-json "$TMP/cfg.json"
is "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 5 "--config-json is handed to the plugin"

printf '{"users": 5,\n  oops}' >"$TMP/bad.json"
run "$INTEG" run --plugin example --config-json "$TMP/bad.json"
is "$RC" 2 "a config that is not JSON exits 2"
like "$ERR" "bad.json:2:[0-9]+:" "the JSON error names file:line:column"

run "$INTEG" run --plugin failload
is "$RC" 2 "a missing plugin exits 2"

INTEG_PLUGIN_PATH="$TEST_PLUGIN_DIR" run "$INTEG" run --plugin failload
if [ "$RC" = 1 ] && printf '%s' "$ERR" | grep -q "plugin failload: load failed: the token is missing"; then
  ok "a plugin whose load fails exits 1 and says why"
else
  not_ok "a plugin whose load fails exits 1 and says why"; diag "rc=$RC" "$ERR"
fi

# --- state history: the runs and the operator's notes, old values included
cat >"$TMP/integ.yaml" <<YAML
integ: 1
store: $TMP/integ.db
output: {format: singer, to: "file:$TMP/out.jsonl"}
connectors:
  shop:
    plugin: example
YAML
INTEG_NOW=2026-01-02T03:04:05Z "$INTEG" -q -c "$TMP/integ.yaml" run shop
run "$INTEG" -c "$TMP/integ.yaml" state set shop users '{"replication_key":"id","replication_key_value":1}'
is "$RC" 0 "state set exits 0"
run "$INTEG" -c "$TMP/integ.yaml" state history shop
is "$RC" 0 "state history exits 0"
is "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 2 "state history: the run and the note, one a line"
like "$(printf '%s\n' "$OUT" | sed -n 1p)" \
  "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z  note  state of stream 'users' set by operator: \{\"replication_key\":\"id\",\"replication_key_value\":1\} \(was: \{\"replication_key\":\"id\",\"replication_key_value\":3\}\)$" \
  "state history: the newest first, a note with the new and the old value"
like "$(printf '%s\n' "$OUT" | sed -n 2p)" '^[0-9-]{10}T[0-9:]{8}Z  run   ok, 9 records, ended [0-9-]{10}T[0-9:]{8}Z$' \
  "state history: a run with its start, outcome, records and end"
run "$INTEG" -c "$TMP/integ.yaml" state clear shop
run "$INTEG" -c "$TMP/integ.yaml" state history shop --limit 1
like "$OUT" "^[^ ]+  note  state of all 2 streams cleared by operator \(was: \{\"orders\":\{\"replication_key\":\"user_id\",\"replication_key_value\":3\},\"users\":\{\"replication_key\":\"id\",\"replication_key_value\":1\}\}\)$" \
  "state history --limit 1: only the newest, the clear with what it removed"
run "$INTEG" state --store "$TMP/integ.db" history nosuch
is "$RC" 1 "state history of a connector with no history exits 1"
run "$INTEG" state --store "$TMP/integ.db" show shop --limit 2
is "$RC" 2 "--limit goes with history only (exit 2)"
run "$INTEG" state --help
like "$OUT" 'integ state history CONNECTOR' "state --help shows history"
