# manpage.sh - every command in `integ --help` is documented in integ(1).
. "$top_srcdir/tests/lib.sh"
man="$top_srcdir/doc/integ.1"
cmds=$("$INTEG" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR>1 && NF {print $1}')
n=$(printf '%s\n' $cmds | wc -l)
plan $((n + 1))
for c in $cmds; do
  if grep -q "^\.SS $c\b" "$man"; then ok "integ.1 documents '$c'"; else not_ok "integ.1 documents '$c' (add a .SS $c section)"; fi
done
if command -v man >/dev/null 2>&1; then
  w=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$man" 2>&1 >/dev/null)
  is "$w" "" "integ.1 renders without warnings"
else
  ok "integ.1 renders (man not installed) # SKIP"
fi
