#!/usr/bin/env bash
# The release as a host receives it: make distcheck (the tarball builds,
# passes its unit tests, installs and uninstalls cleanly, and holds every
# file of the checkout), then the Debian packages built by
# dpkg-buildpackage from that tarball, their contents per role, their
# maintainer scripts, and their systemd units (systemd-analyze verify and
# the security exposure of each). Installs debhelper and the rest
# (SW_PACKAGING_PACKAGES in scripts/lib/setup.sh) when missing; fails
# when it cannot. Figures (build times, sizes, exposure) are printed.
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"
# shellcheck source=../../scripts/lib/setup.sh
. "$SW_SRCDIR/scripts/lib/setup.sh"

# Its makes are its own: a make check's MAKEFLAGS (its -j, or a TESTS=
# given on its command line, which would reach distcheck's inner make check
# and run this test again inside itself) stay out.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
[ -z "${SW_PACKAGING_TEST:-}" ] || { echo "deb.sh: already running in a parent; skipped"; exit 77; }
export SW_PACKAGING_TEST=1

sw_setup_install "$SW_PACKAGING_PACKAGES" >"$SW_T_DIR/apt.log" 2>&1 ||
    { cat "$SW_T_DIR/apt.log"; sw_t_fail "packaging tools installed ($SW_PACKAGING_PACKAGES)"; sw_t_done; }
VERSION=$(sed -n 's/^PACKAGE_VERSION=.\([^'"'"']*\).*/\1/p' "$SW_SRCDIR/configure")

# ---- the tarball, in a build tree of its own ----
mkdir -p "$SW_T_DIR/build"
cd "$SW_T_DIR/build" || exit 99
"$SW_SRCDIR/configure" -q >configure.log 2>&1 || { cat configure.log; exit 99; }
make -s dist >dist.log 2>&1 || { cat dist.log; exit 99; }
TARBALL=$SW_T_DIR/build/slipway-$VERSION.tar.gz
cp "$TARBALL" "$SW_T_DIR/src.tar.gz" # distcheck makes its own and removes it

# ---- make distcheck beside dpkg-buildpackage from that tarball: two
# serial builds side by side keep both cores busy with no -j contention
mkdir -p "$SW_T_DIR/deb"
tar xzf "$SW_T_DIR/src.tar.gz" -C "$SW_T_DIR/deb"
t0=$SECONDS
(
    cd "$SW_T_DIR/deb/slipway-$VERSION" || exit 99
    # nocheck: distcheck runs the unit tests of this very tarball. noopt
    # (-O0, and no _FORTIFY_SOURCE, which needs -O): what is tested here is
    # the packaging; the plain build is the -O2 one, warnings as errors.
    DEB_BUILD_OPTIONS="nocheck noautodbgsym noopt parallel=1" dpkg-buildpackage -us -uc -b \
        >"$SW_T_DIR/dpkg-buildpackage.log" 2>&1
    echo "$? $((SECONDS - t0))" >"$SW_T_DIR/deb.rc"
) &
deb_pid=$!
# -O0 for the same reason: the compile is most of these two builds' time
make -s distcheck DISTCHECK_CONFIGURE_FLAGS="CFLAGS=-O0" >distcheck.log 2>&1; rc=$?
DISTCHECK_S=$((SECONDS - t0))
sw_t_eq "make distcheck passes (the tarball's unit tests, install, uninstall, distclean)" 0 "$rc"
[ "$rc" = 0 ] || tail -n 40 distcheck.log
wait "$deb_pid"
read -r rc DEB_S <"$SW_T_DIR/deb.rc"
sw_t_eq "dpkg-buildpackage -us -uc -b builds from the tarball" 0 "$rc"
[ "$rc" = 0 ] || tail -n 40 "$SW_T_DIR/dpkg-buildpackage.log"
TARBALL=$SW_T_DIR/src.tar.gz

# Every file of the checkout is in the tarball (what ./scripts/test, the
# READMEs and the benchmarks need, not only what make check builds).
if git -C "$SW_SRCDIR" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    tar tzf "$TARBALL" | sed "s|^slipway-$VERSION/||" | sort >tarball.list
    git -C "$SW_SRCDIR" ls-files | sort >checkout.list
    missing=$(comm -13 tarball.list checkout.list)
    sw_t_eq "the tarball holds every file of the checkout (EXTRA_DIST)" "" "$missing"
fi

# ---- the packages ----
cd "$SW_T_DIR/deb" || exit 99

# contents PACKAGE: the files of its .deb, one a line, without "./".
contents() {
    dpkg-deb -c "$1_${VERSION}_amd64.deb" 2>/dev/null | awk '{print $6}' | grep -v '/$' |
        sed 's|^\./||' | sort
}
# The files of each role: programs, units, examples, data; documentation aside.
CP="etc/slipway/billing.env.example
etc/slipway/panel.env.example
etc/slipway/provisioner.env.example
lib/systemd/system/slipway-billing.service
lib/systemd/system/slipway-panel.service
lib/systemd/system/slipway-provisioner.service
usr/sbin/slipway-billing
usr/sbin/slipway-panel
usr/sbin/slipway-provisioner
$(cd "$SW_SRCDIR" && ls migrations/*.sql | sed 's|^|usr/share/slipway/|')"
ENGINE="etc/slipway/engine.env.example
lib/systemd/system/slipway-engine@.service
usr/sbin/slipway-engine
$(cd "$SW_SRCDIR" && ls templates/*/*.xml | sed 's|^|usr/share/slipway/|')"
CLI="usr/bin/slipwayctl"
for p in control-plane engine cli; do
    case $p in control-plane) want=$CP ;; engine) want=$ENGINE ;; cli) want=$CLI ;; esac
    got=$(contents "slipway-$p" | grep -v '^usr/share/doc/')
    sw_t_eq "slipway-$p holds its role's programs, units, examples and data, nothing else" \
        "$(sort <<<"$want")" "$got"
    sw_t_eq "slipway-$p documents itself (README.md, uncompressed: the units name it)" \
        "usr/share/doc/slipway-$p/README.md" "$(contents "slipway-$p" | grep '^usr/share/doc/.*README')"
done
for p in control-plane engine; do
    info=$(dpkg-deb -I "slipway-${p}_${VERSION}_amd64.deb")
    sw_t_check "slipway-$p depends on adduser (its postinst makes its user)" \
        grep -qE '^ Depends:.*\badduser\b' <<<"$info"
    dpkg-deb -e "slipway-${p}_${VERSION}_amd64.deb" "ctl-$p"
    user=slipway; [ $p = engine ] && user=slipway-engine
    sw_t_check "slipway-$p's postinst is valid sh and makes the system user $user" \
        bash -c 'sh -n "$1" && grep -q "adduser --system --group" "$1" &&
            grep -qE "^ +--gecos \"[^\"]*\" $2\$" "$1"' _ "ctl-$p/postinst" "$user"
    sw_t_check "slipway-$p's /etc/slipway examples are conffiles" grep -q '^/etc/slipway/' "ctl-$p/conffiles"
done
sw_t_check "the control plane's units are enabled, not started, at install" \
    bash -c 'grep -q "deb-systemd-helper.*enable.*slipway-panel.service" "$1" &&
        ! grep -q "deb-systemd-invoke start" "$1"' _ ctl-control-plane/postinst
sw_t_check "the engine's postinst puts its user in the libvirt group when that exists" \
    grep -q 'adduser --quiet slipway-engine libvirt' ctl-engine/postinst

# ---- the installed tree: the programs run, and find their data ----
root=$SW_T_DIR/root
for d in *.deb; do dpkg-deb -x "$d" "$root"; done
for b in usr/sbin/slipway-panel usr/sbin/slipway-provisioner usr/sbin/slipway-billing \
    usr/sbin/slipway-engine; do
    sw_t_check "packaged ${b##*/} runs (--help)" bash -c '"$1" --help >/dev/null' _ "$root/$b"
done
sw_t_check "packaged slipwayctl runs (help)" bash -c '"$1" help >/dev/null' _ "$root/usr/bin/slipwayctl"
sw_t_eq "packaged slipwayctl looks for migrations and templates in /usr/share/slipway" \
    "SLIPWAY_MIGRATIONS_DIR /usr/share/slipway/migrations
SLIPWAY_TEMPLATES_DIR /usr/share/slipway/templates" \
    "$(env -u SLIPWAY_MIGRATIONS_DIR -u SLIPWAY_TEMPLATES_DIR "$root/usr/bin/slipwayctl" config |
        awk -F'|' '$2 ~ /SLIPWAY_(MIGRATIONS|TEMPLATES)_DIR/ {gsub(/[` ]/, "", $2); gsub(/[` ]/, "", $3); print $2, $3}' | sort)"

# ---- the units as shipped: systemd-analyze verify and security ----
# verify checks ExecStart= against this machine's /usr/sbin, where nothing
# is installed: copies point it at the extracted tree. Any output (an
# unknown key, a bad value) is a failure: verify exits 0 on warnings.
units=$SW_T_DIR/units
mkdir -p "$units"
for u in "$root"/lib/systemd/system/*.service; do
    sed "s|^ExecStart=/usr/|ExecStart=$root/usr/|" "$u" >"$units/${u##*/}"
done
cp "$units/slipway-engine@.service" "$units/slipway-engine@node1.service"
EXPOSURE=""
for u in slipway-panel slipway-provisioner slipway-billing slipway-engine@node1; do
    out=$(systemd-analyze verify "$units/$u.service" 2>&1); rc=$?
    sw_t_eq "systemd-analyze verify $u.service: silent, exit 0" "0 " "$rc $out"
    sw_t_check "$u.service is Type=notify, Restart=on-failure, with an empty capability set" \
        bash -c 'grep -qx Type=notify "$1" && grep -qx Restart=on-failure "$1" &&
            grep -qx CapabilityBoundingSet= "$1" && grep -qx ProtectSystem=strict "$1" &&
            grep -qx NoNewPrivileges=yes "$1" && grep -q "^User=slipway" "$1"' _ "$units/$u.service"
    score=$(systemd-analyze security --offline=yes "$units/$u.service" 2>/dev/null |
        sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
    EXPOSURE="$EXPOSURE $u=$score"
    # 1.1 and 1.2 today; 2.0 leaves room for a site's drop-in, not for a lost setting.
    sw_t_check "$u.service exposure ($score) at most 2.0" \
        awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.0) }'
done

echo "# figures: make distcheck ${DISTCHECK_S} s; dpkg-buildpackage ${DEB_S} s;" \
    "sizes (bytes):$(for d in *.deb; do printf ' %s=%s' "${d%%_*}" "$(stat -c %s "$d")"; done);" \
    "exposure:$EXPOSURE"
sw_t_done
