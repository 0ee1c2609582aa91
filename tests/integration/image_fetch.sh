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
python3 - "$F" "$TOKEN" "$D/port" >"$D/http.log" 2>&1 <<'PY' &
import http.server, os, re, sys
root, token, portfile = sys.argv[1:]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        m = re.fullmatch(r"/v1/node/images/([0-9a-f]{64})", self.path)
        if self.headers.get("Authorization") != "Bearer " + token:
            return self.send_error(401)
        if not m or not os.path.exists(os.path.join(root, "by-sha", m.group(1))):
            return self.send_error(404)
        with open(os.path.join(root, "hits"), "a") as h:
            h.write(m.group(1) + "\n")
        with open(os.path.join(root, "by-sha", m.group(1)), "rb") as f:
            data = f.read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(portfile, "w").write(str(s.server_address[1]))
s.serve_forever()
PY
HTTP_PID=$!
for _ in $(seq 50); do [ -s "$D/port" ] && break; sleep 0.1; done
[ -s "$D/port" ] || { cat "$D/http.log"; exit 99; }

virsh -c "$SW_LV_URI" pool-define-as imgs dir --target "$D/pool" >/dev/null &&
    virsh -c "$SW_LV_URI" pool-start imgs >/dev/null || skip "cannot make a dir pool: $(tail -2 "$D/lv/libvirtd.log")"
# A 2 MiB pool, a tmpfs in libvirtd's mount namespace only: an image fetch
# fills it midway.
mkdir -p "$D/small"
nsenter -t "$SW_LV_PID" -m mount -t tmpfs -o size=2m tmpfs "$D/small" &&
    virsh -c "$SW_LV_URI" pool-define-as small dir --target "$D/small" >/dev/null &&
    virsh -c "$SW_LV_URI" pool-start small >/dev/null || { echo "cannot make a 2 MiB pool"; exit 99; }
"$prog" "$SW_LV_URI" imgs "http://127.0.0.1:$(cat "$D/port")" "$TOKEN" "$F" small
rc=$?
[ $rc = 0 ] || { echo "---- libvirtd.log ----"; tail -20 "$D/lv/libvirtd.log"; }
exit $rc
