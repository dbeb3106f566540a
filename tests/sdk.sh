# sdk.sh - a third party builds the example plugin against the installed
# SDK alone, and the installed integ runs it.
. "$top_srcdir/tests/lib.sh"
plan 8
tmpdir
stage="$TMP/stage"

( cd "$abs_top_builddir" && make install DESTDIR="$stage" >"$TMP/install.log" 2>&1 )
is "$?" 0 "make install into a staging directory"
pcfile=$(find "$stage" -name integ-plugin.pc | head -1)
prefix=$(sed -n 's/^prefix=//p' "$pcfile")
test -f "$stage$prefix/include/integ/plugin.h" && ok "headers in \$(includedir)/integ" || not_ok "headers in \$(includedir)/integ"
test -f "$stage$prefix/lib/integ/plugins/example.so" && ! ls "$stage$prefix"/lib/integ/plugins/*.la >/dev/null 2>&1 \
  && ok "plugins installed as NAME.so without .la files" || not_ok "plugins installed as NAME.so without .la files"

pc=$(dirname "$pcfile")
# The .pc names the final prefix; point pkg-config at the staged tree.
export PKG_CONFIG_PATH="$pc" PKG_CONFIG_SYSROOT_DIR="$stage"
is "$(pkg-config --variable=abi_major integ-plugin)" "$(sed -n 's/^#define INTEG_ABI_MAJOR //p' "$top_srcdir/sdk/integ/plugin.h")" "integ-plugin.pc has abi_major"
like "$(pkg-config --variable=plugindir integ-plugin)" "$prefix/lib/integ/plugins\$" "integ-plugin.pc has plugindir"

mkdir "$TMP/example"
cp "$top_srcdir/sdk/examples/example/example.c" "$top_srcdir/sdk/examples/example/Makefile" "$TMP/example/"
# Only the staged SDK and jansson: no -I into the source tree.
( cd "$TMP/example" && unset MAKEFLAGS MFLAGS && make CFLAGS="-O2 -Wall -Wextra -Werror" >"$TMP/build.log" 2>&1 )
if [ -f "$TMP/example/example.so" ]; then ok "example builds out of tree with pkg-config alone"; else not_ok "example builds out of tree"; diag "$(cat "$TMP/build.log")"; fi

INTEG_PLUGIN_PATH="$TMP/example" run "$stage$prefix/bin/integ" plugins
like "$OUT" "^example .*$TMP/example/example.so\$" "the staged integ lists the out-of-tree plugin"
INTEG_PLUGIN_PATH="$TMP/example" INTEG_NOW=2026-01-01T00:00:00Z run "$stage$prefix/bin/integ" run --plugin example
is "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 9 "the staged integ runs the out-of-tree plugin"
