#!/usr/bin/env bash
# sw-test: real-guest (scripts/test runs it in the sanitizer half only)
# iso_boot.sh - an ISO install on real QEMU through the engine (issue 13,
# engines/README.md "ISO installs"): tests/images' boot.iso, served by an
# HTTP server standing in for the panel's node image route, mounted on an
# hvm server with a blank disk and booted first. A private libvirtd
# (tests/lib/libvirtd.sh) with a bridge "default" network in its namespace;
# the templates copied with the serial console logged to a file. Through
# tests/integration/test_iso_boot.c: the create fetches the ISO into the
# pool (once: the server counts its requests) and boots it (ISOLINUX and the
# guest's init on the console); eject and mount change the running guest's
# tray live; set_boot changes the persistent boot order; a stop and start
# boots the ISO again; terminate keeps the ISO and no volume of the server.
# Skips (77), saying why, where it cannot run.
set -u
SW_SRCDIR=${SW_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
SW_BUILDDIR=${SW_BUILDDIR:-$SW_SRCDIR/build}
skip() { echo "SKIP: $*"; exit 77; }
prog=$SW_BUILDDIR/tests/integration/test_iso_boot
[ -x "$prog" ] || { echo "$prog is not built"; exit 99; }
for b in qemu-system-x86_64 nsenter ip python3; do
    command -v "$b" >/dev/null || skip "$b is not installed"
done
[ -e /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so ] ||
    skip "libvirt's qemu driver is not installed (libvirt-daemon-driver-qemu)"
. "$SW_SRCDIR/tests/lib/libvirtd.sh"
. "$SW_SRCDIR/tests/lib/imgserver.sh"
IMG=$SW_BUILDDIR/tests/images
"$SW_SRCDIR/tests/images/build.sh" "$IMG" || skip "the tiny guest images cannot be built here"

D=$(mktemp -d /tmp/sw-isoboot.XXXXXX)
HTTP_PID=
cleanup() {
    [ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null
    sw_lv_stop
    rm -rf "$D"
}
trap cleanup EXIT
# the host's libvirt configuration (its stock nwfilters: clean-traffic)
mkdir -p "$D/lv/etc" && cp -a /etc/libvirt/. "$D/lv/etc/"
sw_lv_start "$D/lv" || skip "$SW_LV_WHY"
nsenter -t "$SW_LV_PID" -n ip link add swbr0 type bridge && nsenter -t "$SW_LV_PID" -n ip link set swbr0 up ||
    skip "cannot make a bridge in libvirtd's network namespace"
echo "<network><name>default</name><forward mode='bridge'/><bridge name='swbr0'/></network>" >"$D/net.xml"
virsh -c "$SW_LV_URI" net-create "$D/net.xml" >/dev/null 2>&1 || skip "cannot start the network in libvirtd"
virsh -c "$SW_LV_URI" nwfilter-list 2>/dev/null | grep -qw clean-traffic ||
    skip "libvirt has no clean-traffic filter (libvirt-daemon-config-nwfilter)"

# The panel's node image route: boot.iso by its sha256, the token checked,
# each request counted.
F=$D/files S=$D/state
mkdir -p "$F/by-sha" "$S"
SUM=$(sha256sum "$IMG/boot.iso" | cut -c1-64) SIZE=$(stat -c %s "$IMG/boot.iso")
ln -s "$IMG/boot.iso" "$F/by-sha/$SUM"
: >"$F/hits"
TOKEN=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')
sw_img_serve "$F" "$TOKEN" "$D" || exit 99
HTTP_PID=$SW_IMG_PID

# The shipped templates, the serial console logged (an operator may edit
# SLIPWAY_TEMPLATES_DIR's files; the {{iso}} section is the shipped one).
cp -r "$SW_SRCDIR/templates" "$D/templates"
sed -i "s|<serial type='pty'/>|<serial type='pty'><log file='$S/console.log' append='off'/></serial>|" \
    "$D/templates/domain/hvm-qemu.xml"
grep -q "console.log" "$D/templates/domain/hvm-qemu.xml" || { echo "hvm-qemu.xml has no serial line"; exit 99; }

"$prog" "$SW_LV_URI" "$S" "$D/templates" "$SW_IMG_URL" "$TOKEN" \
    "$SUM" "$SIZE" "$(cat /proc/sys/kernel/random/uuid)"
rc=$?
hits=$(grep -c "$SUM" "$F/hits")
if [ "$hits" = 1 ]; then echo "ok - the ISO was fetched once for all the jobs"; else
    echo "FAIL - the ISO was fetched $hits times"; rc=1; fi
[ $rc = 0 ] || {
    echo "---- libvirtd.log ----"; tail -20 "$D/lv/libvirtd.log"
    echo "---- console ----"; tail -30 "$S/console.log" 2>/dev/null
}
exit $rc
