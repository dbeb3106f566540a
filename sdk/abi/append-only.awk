# append-only.awk - tests/abi.sh's rule for comparing a build with the ABI
# dump of an earlier minor of the same major. (abidiff's own suppression
# has_data_member_inserted_at = end also passes a reordered struct, so
# the leaf report is read here instead.)
# Reads abidiff --leaf-changes-only: passes (exit 0) when every change is
# a struct that grew by members inserted at or after its old end.
function reject(why) { bad = bad "  " why ": " $0 "\n" }
/^Removed\/Changed\/Added (functions|variables) summary:/ {
  if ($0 !~ /: 0 Removed,/) reject("removed")
  next
}
/^(Leaf changes summary|Changed leaf types summary):/ { next }
/^$/ { next }
/^'[^']*' changed:$/ { old = -1; section = ""; next }
/^  type size changed from [0-9]+ to [0-9]+ \(in bits\)$/ {
  old = $5 + 0; if ($7 + 0 < old) reject("shrank"); next
}
/^  [0-9]+ data member insertions?:$/ { section = "ins"; next }
/^  (one impacted interface|[0-9]+ impacted interfaces):?$/ { section = "imp"; next }
section == "ins" && /^    '.*', at offset [0-9]+ \(in bits\)$/ {
  off = $0; sub(/.*, at offset /, "", off); sub(/ .*/, "", off)
  if (old < 0 || off + 0 < old) reject("inserted before the end")
  next
}
section == "imp" && /^    / { next }
{ reject("not an addition at the end") }
END { if (bad != "") { printf "%s", bad; exit 1 } }
