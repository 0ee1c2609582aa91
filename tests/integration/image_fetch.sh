#!/usr/bin/env bash
# A template's image reaching a node's pool (engines/image.c) against a real
# libvirtd's dir pool (tests/lib/libvirtd.sh) and a real HTTP server standing
# in for the panel's node image route (token checked, requests logged): a
# qcow2, a raw and an ISO fetched once each (four concurrent first uses
# included), and refused with nothing left behind: other bytes than the
# checksum's, a qcow2 whose backing file is /etc/shadow, a short body, an
# unknown image, a wrong token, an unreachable panel, a malformed reference
# (tests/integration/test_image_fetch.c); then a create's root volume made
# as an overlay on an image fetched for it (engines/storage.c); an image
# that fills a 2 MiB pool midway fails with nothing left. Skips (77)
# where no libvirtd can run.
set -u
SW_SRCDIR=${SW_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
SW_BUILDDIR=${SW_BUILDDIR:-$SW_SRCDIR/build}
skip() { echo "SKIP: $*"; exit 77; }
prog=$SW_BUILDDIR/tests/integration/test_image_fetch
[ -x "$prog" ] || { echo "$prog is not built"; exit 99; }
command -v qemu-img >/dev/null || skip "qemu-img is not installed (qemu-utils)"
. "$SW_SRCDIR/tests/lib/libvirtd.sh"
. "$SW_SRCDIR/tests/lib/imgserver.sh"

D=$(mktemp -d /tmp/sw-imgfetch.XXXXXX)
HTTP_PID=
cleanup() {
    [ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null
    sw_lv_stop
    rm -rf "$D"
}
trap cleanup EXIT
sw_lv_start "$D/lv" || skip "$SW_LV_WHY"

# The images, and the server's view of them by sha256.
F=$D/files
mkdir -p "$F/by-sha" "$D/pool"
qemu-img create -q -f qcow2 "$F/good.qcow2" 64M &&
    qemu-io -c 'write -P 0x5a 0 1M' "$F/good.qcow2" >/dev/null &&
    qemu-img create -q -f qcow2 -b /etc/shadow -F raw "$F/evil.qcow2" &&
    qemu-img create -q -f qcow2 "$F/base.qcow2" 1G || exit 99
head -c 3145728 /dev/urandom >"$F/good.raw"
head -c 1048576 /dev/urandom >"$F/good.iso"
head -c 1048576 /dev/urandom >"$F/truth.raw"
head -c 1048576 /dev/urandom >"$F/liar.raw"
head -c 102400 /dev/urandom >"$F/short.raw"
for f in good.qcow2 evil.qcow2 good.raw good.iso short.raw base.qcow2; do
    ln -s "$F/$f" "$F/by-sha/$(sha256sum "$F/$f" | cut -c1-64)"
done
ln -s "$F/liar.raw" "$F/by-sha/$(sha256sum "$F/truth.raw" | cut -c1-64)"
: >"$F/hits"

TOKEN=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')
sw_img_serve "$F" "$TOKEN" "$D" || exit 99
HTTP_PID=$SW_IMG_PID

virsh -c "$SW_LV_URI" pool-define-as imgs dir --target "$D/pool" >/dev/null &&
    virsh -c "$SW_LV_URI" pool-start imgs >/dev/null || skip "cannot make a dir pool: $(tail -2 "$D/lv/libvirtd.log")"
# A 2 MiB pool, a tmpfs in libvirtd's mount namespace only: an image fetch
# fills it midway.
mkdir -p "$D/small"
nsenter -t "$SW_LV_PID" -m mount -t tmpfs -o size=2m tmpfs "$D/small" &&
    virsh -c "$SW_LV_URI" pool-define-as small dir --target "$D/small" >/dev/null &&
    virsh -c "$SW_LV_URI" pool-start small >/dev/null || { echo "cannot make a 2 MiB pool"; exit 99; }
"$prog" "$SW_LV_URI" imgs "$SW_IMG_URL" "$TOKEN" "$F" small
rc=$?
[ $rc = 0 ] || { echo "---- libvirtd.log ----"; tail -20 "$D/lv/libvirtd.log"; }
exit $rc
