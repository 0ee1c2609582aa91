#!/usr/bin/env bash
# sw-test: real-guest (scripts/test runs it in the sanitizer half only)
# The container kind on a real libvirtd's LXC driver (tests/lib/libvirtd.sh
# with "lxc"): a "default" network that is a bridge with no address and no
# uplink inside libvirtd's network namespace, an HTTP server standing in for
# the panel's node image route, and the container rootfs tarball of
# tests/images/build.sh as the template's image. The engine's job path
# (tests/integration/test_lxc_real.c) creates, checks and reinstalls a
# container, grows a stopped one's filesystem and resets its password
# offline (engines/ctdisk.c), backs one up (running: paused for the clone) into a dir target
# under the test's directory, twice, restores the first onto it, makes a new
# server's root of it (a restore as a new server: found again by a replay;
# refused onto too small a plan), and refuses
# a tarball with a "../" entry and a truncated one.
# Everything it started is torn down. Skips (77), saying why, where the host
# cannot run LXC containers.
set -u
SW_SRCDIR=${SW_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
SW_BUILDDIR=${SW_BUILDDIR:-$SW_SRCDIR/build}
skip() { echo "SKIP: $*"; exit 77; }
prog=$SW_BUILDDIR/tests/integration/test_lxc_real
[ -x "$prog" ] || { echo "$prog is not built"; exit 99; }
[ -e /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_lxc.so ] ||
    skip "libvirt's LXC driver is not installed (apt-get install libvirt-daemon-driver-lxc)"
for b in mkfs.ext4 timeout nsenter ip python3 qemu-img; do
    command -v "$b" >/dev/null || skip "$b is not installed"
done
[ -d /sys/fs/cgroup/memory ] || skip "no cgroup v1 memory hierarchy at /sys/fs/cgroup/memory (the checks read the container's limits there)"
. "$SW_SRCDIR/tests/lib/libvirtd.sh"

D=$(mktemp -d /tmp/sw-lxc.XXXXXX)
chmod 755 "$D"
HTTP_PID=
# The node's pool: libvirt 9.0's LXC driver loop-mounts a root volume only
# by a path of at most 63 bytes, and a container's root is named
# sw-<id>-root-<8>.raw (57 bytes): a 5-byte directory at the root.
P=$(mktemp -d /sXXX) || skip "cannot make a short pool directory under /"
cleanup() {
    [ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null
    if [ -n "$SW_LV_DIR" ] && [ -S "$D/lv/run/libvirt-sock" ]; then
        virsh -c "$SW_LV_LXC_URI" pool-destroy slipway >/dev/null 2>&1
        virsh -c "$SW_LV_LXC_URI" pool-undefine slipway >/dev/null 2>&1
    fi
    sw_lv_stop
    rm -rf "$D" "$P"
}
trap cleanup EXIT

# The template's tarball (cached in the build tree), a hostile one and a cut one.
bash "$SW_SRCDIR/tests/images/build.sh" "$SW_BUILDDIR/tests/images" >"$D/images.log" 2>&1 ||
    skip "the tiny guest images cannot be built here: $(tail -2 "$D/images.log")"
F=$D/files
mkdir -p "$F/by-sha" "$D/tmp" "$D/bk/target"
cp "$SW_BUILDDIR/tests/images/container-rootfs.tar.gz" "$F/container.tar.gz"
python3 - "$F/evil.tar.gz" <<'PY' || exit 99
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w:gz") as t:
    for name, data in (("etc/motd", b"hello\n"), ("../escaped", b"evil\n")):
        i = tarfile.TarInfo(name)
        i.size = len(data)
        t.addfile(i, io.BytesIO(data))
PY
size=$(stat -c %s "$F/container.tar.gz")
head -c $((size / 2)) "$F/container.tar.gz" >"$F/trunc.tar.gz"
for f in container.tar.gz evil.tar.gz trunc.tar.gz; do
    ln -s "$F/$f" "$F/by-sha/$(sha256sum "$F/$f" | cut -c1-64)"
done
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

sw_lv_start "$D/lv" lxc || skip "$SW_LV_WHY"
virsh -c "$SW_LV_LXC_URI" version 2>/dev/null | grep -qi 'running hypervisor: *lxc' ||
    skip "libvirtd has no working LXC driver: $(tail -2 "$D/lv/libvirtd.log")"
echo "# $(virsh -c "$SW_LV_LXC_URI" version 2>/dev/null | grep -i 'running hypervisor')"

# container-lxc.xml attaches to the "default" network: a bridge with no
# address and no uplink in libvirtd's network namespace.
nsenter -t "$SW_LV_PID" -n ip link add swbr0 type bridge &&
    nsenter -t "$SW_LV_PID" -n ip link set swbr0 up ||
    skip "cannot make a bridge in libvirtd's network namespace"
printf "<network><name>default</name><forward mode='bridge'/><bridge name='swbr0'/></network>\n" >"$D/net.xml"
virsh -c "$SW_LV_LXC_URI" net-define "$D/net.xml" >/dev/null 2>&1 &&
    virsh -c "$SW_LV_LXC_URI" net-start default >/dev/null 2>&1 ||
    skip "cannot define the network in libvirtd: $(tail -2 "$D/lv/libvirtd.log")"
virsh -c "$SW_LV_LXC_URI" nwfilter-list 2>/dev/null | grep -qw clean-traffic ||
    skip "libvirt has no clean-traffic filter (apt-get install libvirt-daemon-config-nwfilter ebtables iptables)"

TMPDIR=$D/tmp "$prog" "$SW_LV_LXC_URI" "$P" "http://127.0.0.1:$(cat "$D/port")" "$TOKEN" "$F" "$D/bk/target"
rc=$?
[ $rc = 0 ] || { echo "---- libvirtd.log ----"; tail -20 "$D/lv/libvirtd.log"; }
left=$(virsh -c "$SW_LV_LXC_URI" vol-list slipway 2>/dev/null | grep -c ' sw-')
if [ "$left" = 0 ]; then echo "ok - virsh sees no server volume left in the pool"; else
    echo "FAIL - virsh sees $left server volume(s) left in the pool"; rc=1; fi
exit $rc
