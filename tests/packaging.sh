# packaging.sh - debian/, the rpm spec, the unit and integ-plugin(3) agree
# with the tree: the changelog's version is AC_INIT's; Build-Depends are
# install-deps.sh's list; every file `make install` stages goes to the
# same package in Debian and RPM (a file no package takes fails here
# before it fails dh_missing in CI); the ABI version in the spec is the
# header's; every member of both vtables is documented in integ-plugin(3),
# which renders clean. Static: nothing is installed into the system
# (packaging/deb-check.sh, run by CI as root, builds and installs).
. "$top_srcdir/tests/lib.sh"
tmpdir
src=$top_srcdir
plan 13

# --- versions
ac=$(sed -n 's/^AC_INIT(\[integ\], \[\([^]]*\)\].*/\1/p' "$src/configure.ac")
deb=$(sed -n '1s/^integ (\([^)]*\)).*/\1/p' "$src/debian/changelog")
is "$deb" "$ac" "debian/changelog's version is AC_INIT's"
rpmv=$(sed -n 's/^Version: *//p' "$src/packaging/rpm/integ.spec")
is "$rpmv" "$ac" "integ.spec's Version is AC_INIT's"
hdr=$(sed -n 's/^#define INTEG_ABI_MAJOR //p;s/^#define INTEG_ABI_MINOR //p' "$src/sdk/integ/plugin.h" | paste -sd.)
spec=$(sed -n 's/^%global abi_major //p;s/^%global abi_minor //p' "$src/packaging/rpm/integ.spec" | paste -sd.)
is "$spec" "$hdr" "integ.spec's integ-abi version is plugin.h's"

# --- Build-Depends = install-deps.sh's list. Not in Build-Depends:
# build-essential and dpkg-dev (implied by policy); debhelper is there as
# debhelper-compat and dh-sequence-*.
bd=$(awk '/^Build-Depends:/ {p = 1; sub(/^Build-Depends:/, "")}
          p && /^[A-Z][A-Za-z-]*:/ && !/^Build-Depends:/ {p = 0}
          p' "$src/debian/control" | tr ',' '\n' |
  sed 's/[(<[].*//; s/^[[:space:]]*//; s/[[:space:]]*$//' | grep . |
  sed 's/^debhelper-compat$/debhelper/; s/^dh-sequence-.*/debhelper/' | sort -u)
deps=$(sh "$src/packaging/install-deps.sh" --list | tr ' ' '\n' |
  grep -v '^build-essential$\|^dpkg-dev$' | grep . | sort -u)
is "$bd" "$deps" "debian/control's Build-Depends are install-deps.sh's list"

# --- what make install stages, and which package takes each file
stage=$TMP/stage
( unset MAKEFLAGS MFLAGS MAKELEVEL
  ${MAKE:-make} -C "$abs_top_builddir" install DESTDIR="$stage" prefix=/usr \
    exec_prefix=/usr sysconfdir=/etc localstatedir=/var runstatedir=/run \
    libdir=/usr/lib/ARCH ) >"$TMP/install.log" 2>&1 ||
  { cat "$TMP/install.log" >&2; }
files=$(cd "$stage" 2>/dev/null && find . ! -type d -o -type d -empty | sed 's|^\./||' | sort)
n=$(printf '%s\n' "$files" | grep -c .)
if [ "$n" -gt 5 ]; then ok "make install stages $n files"; else not_ok "make install stages files (see below)"; tail -20 "$TMP/install.log" | while read -r l; do diag "$l"; done; fi

# pkg_of FILE PATTERNS...: the first package whose patterns match FILE;
# a pattern matches the file, or a directory above it.
debpats() {
  for p in integ integ-dev; do
    sed -n 's/^\([^ ]*\).*/\1/p' "$src/debian/$p.install" | grep -v '^sdk/' |
      sed "s|^|$p |"
  done
  # debian/rules takes these whole when present.
  printf 'integ %s\n' usr/share/integ usr/share/man/man7
}
rpmpats() {
  awk '/^%files$/ {p = "integ"; next} /^%files devel/ {p = "integ-dev"; next}
       /^%/ && !/^%(dir|config|attr|\{)/ {p = ""}
       p && NF {print p, $NF}' "$src/packaging/rpm/integ.spec" |
    sed 's|%{_bindir}|usr/bin|; s|%{_libdir}|usr/lib/ARCH|; s|%{_sysconfdir}|etc|;
         s|%{_mandir}|usr/share/man|; s|%{_includedir}|usr/include|;
         s|%{_datadir}|usr/share|; s|%{_unitdir}|lib/systemd/system|;
         s|%{_docdir}/integ-devel|usr/share/doc/integ-dev|;
         s|%{_sysusersdir}|usr/lib/sysusers.d|; s|%{_tmpfilesdir}|usr/lib/tmpfiles.d|;
         s|%{_sharedstatedir}|var/lib|; s|/$||'
}
pkg_of() {
  f=$1
  while read -r pkg pat; do
    pat=${pat%/}
    # shellcheck disable=SC2254
    case $f in $pat | $pat/*) echo "$pkg"; return ;; esac
  done
  echo none
}
debpats >"$TMP/deb.pats"
rpmpats >"$TMP/rpm.pats"
nodeb= norpm= split=
for f in $files; do
  d=$(pkg_of "$f" <"$TMP/deb.pats")
  r=$(pkg_of "$f" <"$TMP/rpm.pats")
  [ "$d" = none ] && nodeb="$nodeb $f"
  [ "$r" = none ] && norpm="$norpm $f"
  [ "$d" != none ] && [ "$r" != none ] && [ "$d" != "$r" ] && split="$split $f($d/$r)"
done
is "${nodeb# }" "" "every staged file is in a Debian package's .install"
is "${norpm# }" "" "every staged file is in integ.spec's %files"
is "${split# }" "" "Debian and RPM put each staged file in the same package"

# --- integ-plugin(3) documents every member of both vtables
man3=$src/doc/integ-plugin.3
members() {
  awk -v s="struct $1 {" '$0 == s {p = 1; next} p && /^};/ {p = 0} p' "$src/sdk/integ/plugin.h" |
    sed 's|/\*.*\*/||; /^ *\*/d; /^ *\/\*/d' |
    grep -o '(\*[a-z_0-9]*)\|[a-z_0-9]* *;\|[a-z_0-9]*;' | tr -d '(*); '
}
undoc=
for s in integ_host integ_plugin; do
  sect=$(echo "$s" | tr a-z A-Z)
  body=$(awk -v h=".SH STRUCT $sect" '$0 == h {p = 1; next} p && /^\.SH / {p = 0} p' "$man3")
  for m in $(members $s); do
    printf '%s\n' "$body" | grep -qx "\.B $m" || undoc="$undoc $s.$m"
  done
done
is "${undoc# }" "" "integ-plugin(3) documents every member of struct integ_host and struct integ_plugin"
if command -v man >/dev/null 2>&1; then
  w=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$man3" 2>&1 >/dev/null)
  is "$w" "" "integ-plugin(3) renders without warnings"
else
  ok "integ-plugin(3) renders (man not installed) # SKIP"
fi

# --- the unit says what the packages promise
unit=$src/packaging/systemd/integ.service
miss=
for d in Type=notify 'ExecReload=/bin/kill -HUP $MAINPID' User=integ \
  StateDirectory=integ RuntimeDirectory=integ ConfigurationDirectory=integ \
  NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
  'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
  SystemCallFilter=@system-service; do
  grep -qxF -- "$d" "$unit" || miss="$miss [$d]"
done
grep -q '^#.*ReadWritePaths=' "$unit" || miss="$miss [a comment on ReadWritePaths=]"
is "${miss# }" "" "integ.service has the unit settings and hardening the packages promise"

# --- integ auth keygen (what postinst runs): makes the key once, never
# replaces it
printf 'integ: 1\nstore: "%s"\ntoken_key: "%s"\nconnectors: {}\n' \
  "$TMP/s.db" "$TMP/token.key" >"$TMP/m.yaml"
"$INTEG" -c "$TMP/m.yaml" auth keygen >"$TMP/kg.out" 2>&1
st=$(stat -c '%a %s' "$TMP/token.key" 2>&1)
case $(id -u) in 0) getent group integ >/dev/null && want="640 32" || want="600 32" ;; *) want="600 32" ;; esac
is "$st" "$want" "integ auth keygen makes a 32-byte key, mode ${want% *}"
cp "$TMP/token.key" "$TMP/key.before" 2>/dev/null
"$INTEG" -c "$TMP/m.yaml" auth keygen >>"$TMP/kg.out" 2>&1
rc=$?
if [ $rc = 0 ] && cmp -s "$TMP/token.key" "$TMP/key.before" && [ ! -e "$TMP/s.db" ]; then
  ok "integ auth keygen again exits 0 and keeps the key; it opens no store"
else
  not_ok "integ auth keygen again exits 0 and keeps the key; it opens no store (exit $rc)"
  diag "$(cat "$TMP/kg.out")"
fi
