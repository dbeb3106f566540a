# manpage.sh - the docs match the program: every command in `integ --help`
# is documented in integ(1); every long option a command accepts (read
# from the source: its getopt_long table, or the strcmp of a hand-written
# parser) is in the command's --help and in its integ(1) section; every
# example manifest in the man pages and the README validates.
. "$top_srcdir/tests/lib.sh"
man="$top_srcdir/doc/integ.1"
man5="$top_srcdir/doc/integ.yaml.5"
host="$top_srcdir/host"
cmds=$("$INTEG" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR>1 && NF {print $1}')
n=$(printf '%s\n' $cmds | wc -l)
plan $((n + 8))
for c in $cmds; do
  if grep -q "^\.SS $c\b" "$man"; then ok "integ.1 documents '$c'"; else not_ok "integ.1 documents '$c' (add a .SS $c section)"; fi
done
if command -v man >/dev/null 2>&1; then
  w=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$man" 2>&1 >/dev/null)
  is "$w" "" "integ.1 renders without warnings"
else
  ok "integ.1 renders (man not installed) # SKIP"
fi

# --- options: source -> --help -> integ(1)
# opts FILE: the long options FILE accepts, one a line.
opts() {
  awk '/struct option [a-z_]*\[\] *= *\{/ {t = 1}
       t { while (match($0, /\{"[a-z][a-z0-9-]*",/)) {
             print substr($0, RSTART + 2, RLENGTH - 4); $0 = substr($0, RSTART + RLENGTH) } }
       t && /\};/ {t = 0}' "$1"
  grep -o 'strcmp([a-z_>\[\]0-9-]*, "--[a-z][a-z0-9-]*")' "$1" | sed 's/.*"--\(.*\)")/\1/'
}
# section NAME: integ(1)'s text for command NAME (OPTIONS for the global
# options), with the man escapes of hyphens undone.
section() {
  if [ "$1" = - ]; then
    sed -n '/^\.SH OPTIONS/,/^\.SH COMMANDS/p' "$man"
  else
    awk -v s=".SS $1" '$0 == s {p = 1; next} p && /^\.S[SH] / {p = 0} p' "$man"
  fi | sed 's/\\-/-/g'
}
# Accepted but deliberately not advertised, each with its reason:
#   help: every command takes it; integ(1) says so once, under OPTIONS.
#   validate --list-keys, --man-keys: build aids that generate the key
#     table of integ.yaml(5) (see its source comment).
#   source --discover, --about, --format, --properties: source shares
#     tap's option table; these are tap's alone (source refuses the first
#     three; --properties is the older taps' name for --catalog).
hidden() {
  case "$1:$2" in
  *:help | validate:list-keys | validate:man-keys) return 0 ;;
  source:discover | source:about | source:format | source:properties) return 0 ;;
  esac
  return 1
}
missing_help= missing_man= checked=0
for c in - $cmds; do
  case $c in
  -) file=$host/cli.c help=$("$INTEG" --help 2>&1) ;;
  source) file=$host/cmd_tap.c help=$("$INTEG" source --help 2>&1) ;;
  *) file=$host/cmd_$c.c help=$("$INTEG" "$c" --help 2>&1) ;;
  esac
  [ -f "$file" ] || continue
  text=$(section "$c")
  for o in $(opts "$file" | sort -u); do
    hidden "$c" "$o" && continue
    checked=$((checked + 1))
    printf '%s\n' "$help" | grep -q -- "--$o\b" || missing_help="$missing_help $c:--$o"
    printf '%s\n' "$text" | grep -q -- "--$o\b" || missing_man="$missing_man $c:--$o"
  done
done
if [ "$checked" -ge 25 ]; then ok "the option tables were read ($checked options)"; else
  not_ok "the option tables were read"; diag "only $checked options found in $host"; fi
is "${missing_help# }" "" "every option a command accepts is in its --help"
is "${missing_man# }" "" "every option a command accepts is in its integ(1) section"

# --- every example manifest validates, with the example plugin on the
# plugin path. Manifests are the .nf/.fi blocks of the man pages that
# start with "integ: 1" (a "# /etc/integ/FILE" comment line starts a new
# file) or "connectors:" (a drop-in, checked under the installed sample
# conf/integ.yaml), and the README's ```yaml blocks.
tmpdir
export INTEG_PLUGIN_PATH="$PLUGIN_DIR"
awk -v dir="$TMP/ex" -v sample="$abs_top_srcdir/conf/integ.yaml" '
  function start(name) { n++; f = dir "/" n "/" name; system("mkdir -p \"" dir "/" n "\"") }
  /^\.nf/ || /^```yaml/ { blk = 1; f = ""; first = 1; next }
  /^\.fi/ || /^```$/ { blk = 0; next }
  blk {
    line = $0; gsub(/\\-/, "-", line); gsub(/\\\(aq/, "\047", line)
    if (line ~ /^# \/etc\/integ\//) {        # "# /etc/integ/conf.d/x.yaml"
      name = line; sub(/^# \/etc\/integ\//, "", name)
      if (name == "integ.yaml") start("integ.yaml")
      else { sub(/^.*\//, "", name); f = dir "/" n "/conf.d/" name; system("mkdir -p \"" dir "/" n "/conf.d\"") }
      next
    }
    if (first) {
      first = 0
      if (line ~ /^integ: 1/) start("integ.yaml")
      else if (line ~ /^connectors:/) {        # a drop-in, under the sample
        start("integ.yaml"); system("cp \"" sample "\" \"" f "\"")
        system("mkdir -p \"" dir "/" n "/conf.d\""); f = dir "/" n "/conf.d/dropin.yaml"
      } else { blk = 0; next }
    }
    if (f != "") print line >> f
  }' "$man5" "$man" "$abs_top_srcdir/README.md"
nex=0 bad=
for d in "$TMP"/ex/*; do
  [ -f "$d/integ.yaml" ] || continue
  nex=$((nex + 1))
  # A reference to a secret file: give it one, private, as the page says
  # (the example plugin's one string is a URL).
  for s in $(grep -ho '\${file:[^}]*}' "$d"/integ.yaml "$d"/conf.d/*.yaml 2>/dev/null | sed 's/\${file:\(.*\)}/\1/'); do
    for where in "$d" "$d/conf.d"; do [ -d "$where" ] && printf 'https://secret@shop.example.com\n' >"$where/$s" && chmod 600 "$where/$s"; done
  done
  # Paths under /var/lib and /etc belong to the installed system.
  sed -i 's#^store: /var/lib/integ/integ.db#store: integ.db#' "$d/integ.yaml"
  out=$("$INTEG" -c "$d/integ.yaml" validate 2>&1) || bad="$bad
--- $(head -3 "$d/integ.yaml" | tr '\n' ' ')
$out"
done
if [ "$nex" -ge 3 ]; then ok "the example manifests were found ($nex)"; else
  not_ok "the example manifests were found"; diag "only $nex in integ.yaml(5), integ(1) and README.md"; fi
is "$bad" "" "every example manifest validates as printed"

# --- no user-facing text promises "later issues": it says what a key does
# today, or that it is not used yet. Man pages, installed files, --help.
words='later issue|reserved for later|in later versions|later versions'
found=$(grep -EinH "$words" "$man" "$man5" "$abs_top_srcdir"/conf/*.yaml "$abs_top_srcdir/README.md" 2>/dev/null)
for c in "" $cmds; do
  h=$("$INTEG" $c --help 2>&1 | grep -Ei "$words") && found="$found
integ $c --help: $h"
done
is "$found" "" "no man page, installed file or --help speaks of later issues"

# --- integ(1)'s retry list is the code's: every status that
# retry_status_is_retryable() retries, and the 2xx whose body is not JSON
# (http.c retries it as a body cut short).
codes=$(awk '/^int retry_status_is_retryable/ {p = 1} p && /case [0-9]+:/ {gsub(/[^0-9]/, ""); print} p && /^}/ {p = 0}' "$host/retry.c")
runtext=$(section run)
miss=
for code in $codes; do printf '%s\n' "$runtext" | grep -q "\b$code\b" || miss="$miss $code"; done
grep -q 'A 2xx that is not JSON' "$host/http.c" && ! printf '%s\n' "$runtext" | grep -q '2xx answer whose body is not valid JSON' &&
  miss="$miss 2xx-not-JSON"
if [ -n "$codes" ] && [ -z "$miss" ]; then ok "integ(1) lists what is retried: $(echo $codes), a 2xx that is not JSON"; else
  not_ok "integ(1) lists what is retried"; diag "missing from the run section:$miss (codes read: $(echo $codes))"; fi
