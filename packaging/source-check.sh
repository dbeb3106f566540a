#!/bin/sh
# source-check.sh - the checks on the sources themselves, as CI runs them
# (packaging/check.sh calls it first):
#  - every tracked .c and .h is formatted as the tree's .clang-format says
#    (clang-format --dry-run --Werror);
#  - host/, sdk/ and plugins/ call none of the functions STYLE.md bans
#    (sprintf, vsprintf, strcpy, strncpy, strcat, strncat, strtok, atoi,
#    atol, atof, gets): use snprintf, buf_printf, memcpy with a length,
#    strtol/strtoull with an end pointer.
# Each problem is printed as FILE:LINE: what; exits 1 when there is any,
# 2 when clang-format is missing.
#   packaging/source-check.sh
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
status=0

# The tracked files; from a tarball (no .git), the files that are there.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  files=$(git ls-files '*.c' '*.h')
else
  files=$(find . -name '*.[ch]' ! -path './_*' ! -path './build*' | sed 's|^\./||' | sort)
fi

# --- format
if ! command -v clang-format >/dev/null 2>&1; then
  echo "source-check.sh: clang-format not found: install the Debian package clang-format" >&2
  exit 2
fi
out=$(printf '%s\n' $files | xargs clang-format --dry-run --Werror 2>&1)
if [ -n "$out" ]; then
  # "FILE:LINE:COL: error: code should be clang-formatted" lines, one per
  # place; the fix is clang-format -i FILE.
  printf '%s\n' "$out" |
    sed -n 's/^\([^ :]*\):\([0-9]*\):[0-9]*: error: .*/\1:\2: not formatted as .clang-format says (run: clang-format -i \1)/p' |
    awk '!seen[$0]++'
  status=1
fi

# --- banned functions, outside comments and string literals
banned='sprintf|vsprintf|strcpy|strncpy|strcat|strncat|strtok|atoi|atol|atof|gets'
for f in $(printf '%s\n' $files | grep -E '^(host|sdk|plugins)/'); do
  awk -v banned="$banned" -v file="$f" '
    BEGIN { re = "(^|[^A-Za-z0-9_])(" banned ")[ \t]*\\(" }
    {
      line = $0
      # Drop what is inside comments and string or character literals.
      out = ""
      i = 1
      while (i <= length(line)) {
        c = substr(line, i, 1); c2 = substr(line, i, 2)
        if (incomment) {
          if (c2 == "*/") { incomment = 0; i += 2 } else i++
          continue
        }
        if (c2 == "/*") { incomment = 1; i += 2; continue }
        if (c2 == "//") break
        if (c == "\"" || c == "\047") {
          q = c; i++
          while (i <= length(line) && substr(line, i, 1) != q)
            i += substr(line, i, 1) == "\\" ? 2 : 1
          i++; out = out " "
          continue
        }
        out = out c; i++
      }
      if (match(out, re)) {
        name = substr(out, RSTART, RLENGTH)
        sub(/^[^A-Za-z_]/, "", name); sub(/[ \t]*\($/, "", name)
        printf "%s:%d: %s() is banned by STYLE.md\n", file, NR, name
        found = 1
      }
    }
    END { exit found }' "$f" || status=1
done

[ $status = 0 ] && echo "source-check.sh: $(printf '%s\n' $files | wc -l) files formatted; no banned functions"
exit $status
