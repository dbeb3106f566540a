# manifest.sh - `integ validate` on good and bad manifests, and the key
# table of integ.yaml(5) against the schema table.
. "$top_srcdir/tests/lib.sh"

plan 25
tmpdir
man5="$abs_top_srcdir/doc/integ.yaml.5"
good="$abs_top_srcdir/tests/manifest/good/integ.yaml"
bad="$abs_top_srcdir/tests/manifest/bad"
INTEG_PLUGIN_PATH=$PLUGIN_DIR
export INTEG_PLUGIN_PATH
unset INTEG_CONFIG INTEG_TEST_SURELY_UNSET

# -- the man page documents every key of the schema table
keys=$("$INTEG" validate --list-keys)
missing=
for k in $keys; do
  grep -Fqx ".B $k" "$man5" || missing="$missing $k"
done
is "$missing" "" "integ.yaml.5 documents every key of the schema table"
"$INTEG" validate --man-keys >"$TMP/keys.roff"
sed -n '/^\.\\" BEGIN KEYS$/,/^\.\\" END KEYS$/p' "$man5" | sed '1d;$d' \
  >"$TMP/man.roff"
if cmp -s "$TMP/keys.roff" "$TMP/man.roff"; then
  ok "integ.yaml.5's key table is what 'integ validate --man-keys' prints"
else
  not_ok "integ.yaml.5's key table is what 'integ validate --man-keys' prints"
  diag "regenerate it: integ validate --man-keys, between BEGIN/END KEYS"
  diff "$TMP/man.roff" "$TMP/keys.roff" | head -20 | sed 's/^/# /'
fi

if command -v man >/dev/null 2>&1; then
  w=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$man5" 2>&1 >/dev/null)
  is "$w" "" "integ.yaml.5 renders without warnings"
else
  ok "integ.yaml.5 renders (man not installed) # SKIP"
fi

# -- a good manifest: includes, an override, references, plugin configs
out=$(INTEG_TEST_TOKEN=tok-very-secret "$INTEG" validate "$good" 2>&1)
rc=$?
is "$rc" 0 "a good manifest validates (exit 0)"
like "$out" "integ.yaml: ok: 4 connectors, 3 enabled, 3 files" \
  "validate says what it read"
dump=$(INTEG_TEST_TOKEN=tok-very-secret "$INTEG" -c "$good" validate --dump \
  2>/dev/null)
like "$dump" '"account": "<redacted>"' "--dump redacts a resolved secret"
case $dump in
*tok-very-secret*) not_ok "--dump never prints the secret" ;;
*) ok "--dump never prints the secret" ;;
esac
like "$dump" '"orders_per_user": 2' \
  "--dump shows the config with the plugin's defaults filled"
v=$(INTEG_TEST_TOKEN=x INTEG_CONFIG="$good" "$INTEG" validate -v 2>&1)
like "$v" "connectors.beta: the definition at .*conf.d/20-beta.yaml:4:3 replaces the one at .*integ.yaml:16:3" \
  "-v says which file's definition of a connector won"
like "$v" "connector gamma: plugin example, enabled, from .*conf.d/10-gamma.yaml:3:3" \
  "-v names the file of each connector"

# -- every bad manifest exits 2 with its expected errors on stderr
n=0 failed=
for f in "$bad"/*.yaml; do
  n=$((n + 1))
  err=$("$INTEG" validate --no-plugins "$f" 2>&1 >/dev/null)
  rc=$?
  [ "$rc" = 2 ] || failed="$failed ${f##*/}(exit $rc)"
  while IFS= read -r line; do
    case $line in
    "# expect: "*) ;;
    *) break ;;
    esac
    frag=${line#\# expect: }
    case $frag in
    *"{dir}"*) frag="${frag%%\{dir\}*}$bad${frag#*\{dir\}}" ;;
    esac
    case $frag in
    [0-9]*) want="$f:$frag" ;;
    *) want="$bad/$frag" ;;
    esac
    case $err in
    *"$want"*) ;;
    *) failed="$failed ${f##*/}" ;;
    esac
  done <"$f"
done
is "$failed" "" "all $n bad manifests exit 2 and name file:line:column: key"
[ "$n" -ge 30 ] && ok "at least 30 bad manifests ($n)" ||
  not_ok "at least 30 bad manifests ($n)"

# -- plugin configs are checked against the plugin's spec
cat >"$TMP/integ.yaml" <<'EOF'
integ: 1
connectors:
  shop:
    plugin: example
    config:
      users: -5
      orders_per_usr: 1
  ghost:
    plugin: no-such-plugin
EOF
err=$("$INTEG" validate "$TMP/integ.yaml" 2>&1 >/dev/null)
rc=$?
is "$rc" 2 "a config the spec refuses exits 2"
like "$err" "integ.yaml:6:14: connectors.shop.config.users: -5 is less than the minimum, 0" \
  "the spec's minimum is checked at the value's position"
like "$err" "integ.yaml:7:7: connectors.shop.config.orders_per_usr: unknown key 'orders_per_usr': did you mean 'orders_per_user'\\?" \
  "an unknown config key names the nearest one"
like "$err" "integ.yaml:9:13: connectors.ghost.plugin: .*no-such-plugin" \
  "a missing plugin is reported at its connector"

# -- a ${file:} secret others can read is refused with the chmod to run
printf 'hunter2\n' >"$TMP/token"
chmod 644 "$TMP/token"
cat >"$TMP/secret.yaml" <<'EOF'
integ: 1
connectors:
  a:
    plugin: example
    account: ${file:token}
EOF
err=$("$INTEG" validate --no-plugins "$TMP/secret.yaml" 2>&1 >/dev/null)
like "$err" "secret.yaml:5:14: connectors.a.account: \\$\\{file:token\\}: the secret file $TMP/token is readable by others \\(mode 0644\\): run chmod 640 $TMP/token" \
  "a secret file readable by others is refused with the chmod to run"
chmod 600 "$TMP/token"
out=$("$INTEG" validate --no-plugins --dump "$TMP/secret.yaml" 2>/dev/null)
like "$out" '"account": "<redacted>"' "once chmod 600, it is read and redacted"

# -- FIFOs are refused by name, never opened (open() would block for ever)
mkdir "$TMP/fifo" "$TMP/fifo/conf.d"
mkfifo "$TMP/fifo/conf.d/10-pipe.yaml" "$TMP/fifo/token"
chmod 600 "$TMP/fifo/token"
cat >"$TMP/fifo/integ.yaml" <<'EOF'
integ: 1
include: [conf.d/*.yaml]
connectors:
  a:
    plugin: example
    account: ${file:token}
EOF
err=$(timeout 10 "$INTEG" validate --no-plugins "$TMP/fifo/integ.yaml" 2>&1 >/dev/null)
rc=$?
is "$rc" 2 "a FIFO matched by include or named by \${file:} fails validate at once (exit 2, no hang)"
like "$err" "integ.yaml:2:11: include\\[0\\]: $TMP/fifo/conf.d/10-pipe.yaml is not a regular file" \
  "... the include names the FIFO"
like "$err" "integ.yaml:6:14: connectors.a.account: \\\$\\{file:token\\}: $TMP/fifo/token is not a regular file" \
  "... and so does the \${file:} reference"
err=$(timeout 10 "$INTEG" -c "$TMP/fifo/conf.d/10-pipe.yaml" validate 2>&1 >/dev/null)
is "$?" 2 "a FIFO as the manifest itself fails at once (exit 2)"

mkfifo "$TMP/fifo/config.json"
err=$(timeout 10 "$INTEG" tap example --config "$TMP/fifo/config.json" --discover 2>&1 >/dev/null)
is "$?" 2 "tap --config naming a FIFO exits 2 at once"
like "$err" "config $TMP/fifo/config.json: not a regular file" "... naming the file"

# -- a manifest that is not there
err=$("$INTEG" -c "$TMP/none.yaml" validate 2>&1 >/dev/null)
is "$?:$err" "2:$TMP/none.yaml: cannot read: No such file or directory
$TMP/none.yaml: 1 error" "a missing manifest exits 2 naming the file"
