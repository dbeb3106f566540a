# plugins.sh - `integ plugins` lists good and broken plugins; the loader's
# refusals reach `integ run`; HTTP failure detail reaches a plugin.
. "$top_srcdir/tests/lib.sh"
plan 23
export INTEG_PLUGIN_PATH="$PLUGIN_DIR:$TEST_PLUGIN_DIR"

run "$INTEG" plugins
is "$RC" 0 "integ plugins exits 0 even with broken plugins"
like "$OUT" "^example +0\.1\.0 +ABI 0\.[0-9]+ +$PLUGIN_DIR/example.so\$" "a good plugin: name, version, ABI, path"
like "$OUT" "^failload .*/failload.so\$" "a plugin that only fails at load time is listed as good"
like "$OUT" "BROKEN.*noentry.so: refusing plugin: no entry symbol" "noentry is broken: no entry symbol"
like "$OUT" "BROKEN.*badmajor.so: refusing plugin: built for plugin ABI 1\." "badmajor is broken: ABI major"
like "$OUT" "BROKEN.*newminor.so: refusing plugin: it needs plugin ABI 0\.[0-9]+, newer" "newminor is broken: it needs a newer minor"
like "$OUT" "BROKEN.*oldminor.so: refusing plugin: built for plugin ABI 0\.[0-9]+, older than ABI 0\.[0-9]+, the oldest" "oldminor is broken: older than the oldest minor this integ loads"
like "$OUT" "^future +0\.0\.1 .*/future.so\$" "a plugin from a newer SDK that needs only this minor loads"
like "$OUT" "BROKEN.*smallsize.so: refusing plugin: its vtable is" "smallsize is broken: vtable size"
like "$OUT" "BROKEN.*wrongname.so: refusing plugin: it calls itself 'somethingelse'" "wrongname is broken: name"
like "$OUT" "BROKEN.*unresolved.so: refusing plugin: undefined symbol integ_test_no_such_function \(" "a plugin calling an undefined function is broken, the symbol named"
like "$ERR" "warn: 7 of [0-9]+ plugins could not be loaded" "the broken count is said on stderr"

# Bound lazily, this plugin would start and die mid-run with "symbol
# lookup error" and exit 127; bound at load, run refuses it like any other.
run "$INTEG" run --plugin unresolved
is "$RC" 2 "run refuses a plugin with an unresolved symbol (exit 2, not 127)"
like "$ERR" "unresolved.so: refusing plugin: undefined symbol integ_test_no_such_function .*link it with the library" "run names the file, the symbol and the fix"
if printf '%s' "$ERR" | grep -q "symbol lookup error"; then
  not_ok "the dynamic linker never kills the run"; diag "$ERR"
else
  ok "the dynamic linker never kills the run"
fi
run "$INTEG" run --plugin future
is "$RC" 0 "a plugin from a newer SDK that needs only this minor runs"

tmpdir
INTEG_PLUGIN_PATH="$TMP" run "$INTEG" plugins
like "$ERR" "no plugins found" "an empty path is said"

chmod 0777 "$TMP"
cp "$PLUGIN_DIR/example.so" "$TMP/example.so"
INTEG_PLUGIN_PATH="$TMP" run "$INTEG" run --plugin example
if [ "$RC" = 2 ] && printf '%s' "$ERR" | grep -q "its directory is world-writable"; then
  ok "run refuses a plugin in a world-writable directory"
else
  not_ok "run refuses a plugin in a world-writable directory"; diag "rc=$RC" "$ERR"
fi
chmod 0755 "$TMP"
rm -f "$TMP/example.so"

# The detail of an HTTP failure crosses the boundary as fields
# (http_detail): of a response the plugin holds, and of a failed emit_batch.
start_testapi "$top_srcdir/tests/http/scenario.json" || { not_ok "testapi starts"; exit 1; }
cat >"$TMP/integ.yaml" <<EOT
integ: 1
plugin_path: ["$TEST_PLUGIN_DIR"]
store: $TMP/integ.db
output: {format: jsonl}
connectors:
  p:
    plugin: httpprobe
    config: {requests: [{url: "$TESTAPI_URL/bad/400"}, {url: "$TESTAPI_URL/bad/400", batch: {stream: s, records: "\$.data[*]"}}]}
EOT
INTEG_PLUGIN_PATH= run "$INTEG" -c "$TMP/integ.yaml" run p
is "$RC" 0 "the probe runs"
do_line=$(printf '%s\n' "$OUT" | grep '"i":0')
batch_line=$(printf '%s\n' "$OUT" | grep '"i":1')
for field in '"status":400' '"category":"client"' '"provider_code":"invalid"' '"request_id":"req-400"' '"retryable":0'; do
  case "$do_line$batch_line" in
    *"$field"*"$field"*) : ;;
    *) not_ok "http_detail: $field"; diag "$do_line" "$batch_line"; field=; break ;;
  esac
done
if [ -n "$field" ]; then ok "http_detail of http_do's response: status, category, provider code, request id, retryable"; fi
like "$batch_line" '"detail":\{[^}]*"provider_message":"field x is bad"' "http_detail of a failed emit_batch (no response in hand)"
like "$do_line" '"attempts":1' "http_detail: attempts"
like "$do_line" '"retry_after_ms":-1' "http_detail: no Retry-After is -1"
