# plugins.sh - `integ plugins` lists good and broken plugins.
. "$top_srcdir/tests/lib.sh"
plan 11
export INTEG_PLUGIN_PATH="$PLUGIN_DIR:$TEST_PLUGIN_DIR"

run "$INTEG" plugins
is "$RC" 0 "integ plugins exits 0 even with broken plugins"
like "$OUT" "^example +0\.1\.0 +ABI 0\.[0-9]+ +$PLUGIN_DIR/example.so\$" "a good plugin: name, version, ABI, path"
like "$OUT" "^failload .*/failload.so\$" "a plugin that only fails at load time is listed as good"
like "$OUT" "BROKEN.*noentry.so: refusing plugin: no entry symbol" "noentry is broken: no entry symbol"
like "$OUT" "BROKEN.*badmajor.so: refusing plugin: built for plugin ABI 1\." "badmajor is broken: ABI major"
like "$OUT" "BROKEN.*newminor.so: refusing plugin: built for plugin ABI 0\.[0-9]+, newer" "newminor is broken: ABI minor"
like "$OUT" "BROKEN.*smallsize.so: refusing plugin: its vtable is" "smallsize is broken: vtable size"
like "$OUT" "BROKEN.*wrongname.so: refusing plugin: it calls itself 'somethingelse'" "wrongname is broken: name"
like "$ERR" "warn: 5 of [0-9]+ plugins could not be loaded" "the broken count is said on stderr"

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
