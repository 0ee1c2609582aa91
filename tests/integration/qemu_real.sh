#!/usr/bin/env bash
# The hvm driver against a real libvirtd with QEMU on this machine: a
# private libvirtd (its own config and socket directory, in its own network
# namespace, with an isolated "default" network: no traffic leaves it), a
# domain from templates/domain/hvm-qemu.xml (kvm when the host can run it,
# else TCG) with a blank qcow2 disk that boots nothing: create, its NIC held
# by the clean-traffic filter to its MAC and addresses, cpu time,
# balloon stats, a balloon target, a live resize, reset_password without an
# agent, stop, start, terminate (tests/integration/test_qemu_real.c).
# Everything it started is torn down. Skips (77), saying why, where a real
# QEMU cannot run here.
set -u
SW_SRCDIR=${SW_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
SW_BUILDDIR=${SW_BUILDDIR:-$SW_SRCDIR/build}
skip() { echo "SKIP: $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root to run a private system libvirtd"
for b in libvirtd virtlogd virsh qemu-system-x86_64 qemu-img unshare; do
    command -v "$b" >/dev/null || skip "$b is not installed (apt-get install libvirt-daemon libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils)"
done
[ -e /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so ] ||
    skip "libvirt's qemu driver is not installed (libvirt-daemon-driver-qemu)"
prog=$SW_BUILDDIR/tests/integration/test_qemu_real
[ -x "$prog" ] || { echo "$prog is not built"; exit 99; }

D=$(mktemp -d /tmp/sw-qemu.XXXXXX)
chmod 755 "$D"
STARTED_LOGD=0
cleanup() {
    if [ -S "$D/libvirt-sock" ]; then
        local u="qemu:///system?socket=$D/libvirt-sock" d
        for d in $(virsh -c "$u" list --all --name 2>/dev/null); do
            virsh -c "$u" destroy "$d" >/dev/null 2>&1
            virsh -c "$u" undefine "$d" >/dev/null 2>&1
        done
        virsh -c "$u" net-destroy default >/dev/null 2>&1
        virsh -c "$u" net-undefine default >/dev/null 2>&1
        virsh -c "$u" pool-destroy slipway >/dev/null 2>&1
        virsh -c "$u" pool-undefine slipway >/dev/null 2>&1
    fi
    local f pid
    for f in libvirtd virtlogd; do
        [ -f "$D/$f.pid" ] || continue
        [ $f = virtlogd ] && [ $STARTED_LOGD = 0 ] && continue
        pid=$(cat "$D/$f.pid")
        kill "$pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done
    rm -rf "$D"
}
trap cleanup EXIT

# What the Debian packages would have made: the qemu user and the run dirs.
getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu || skip "cannot add group libvirt-qemu"
id libvirt-qemu >/dev/null 2>&1 ||
    useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu ||
    skip "cannot add user libvirt-qemu"
mkdir -p /var/log/libvirt /var/run/libvirt /var/lib/libvirt/qemu /var/cache/libvirt/qemu

# virtlogd takes QEMU's output; use a running one, else start ours.
if ! [ -S /var/run/libvirt/virtlogd-sock ] || ! pgrep -x virtlogd >/dev/null; then
    virtlogd -d -p "$D/virtlogd.pid" || skip "virtlogd cannot start"
    STARTED_LOGD=1
fi
cat >"$D/libvirtd.conf" <<CONF
unix_sock_dir = "$D"
unix_sock_ro_perms = "0700"
unix_sock_rw_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
log_outputs = "3:file:$D/libvirtd.log"
CONF
# Its own network namespace (the bridge and the guest live there) and mount
# namespace. A /dev/kvm the qemu user cannot open makes libvirt re-probe
# QEMU's capabilities on every definition (a minute each under TCG here), so
# there it is hidden from this libvirtd: the driver's probe then picks TCG.
hide=""
if [ -e /dev/kvm ] && ! setpriv --reuid libvirt-qemu --regid libvirt-qemu --clear-groups \
        test -w /dev/kvm 2>/dev/null; then
    echo "# /dev/kvm exists but libvirt-qemu cannot use it: hidden from this libvirtd (TCG)"
    hide="mount --bind /dev/null /dev/kvm && "
fi
# Its own /run/libvirt too (the drivers' pid files and state), with the host's
# virtlogd socket bound in: another private libvirtd on this machine (another
# test) holds the shared one's pid files.
mkdir -p "$D/run"
touch "$D/run/virtlogd-sock" "$D/run/virtlogd-admin-sock"
private_run="mount --bind /run/libvirt/virtlogd-sock '$D/run/virtlogd-sock' &&
    { [ ! -S /run/libvirt/virtlogd-admin-sock ] || mount --bind /run/libvirt/virtlogd-admin-sock '$D/run/virtlogd-admin-sock'; } &&
    mount --rbind '$D/run' /run/libvirt && "
unshare -n -m --propagation private -- sh -c "${hide}${private_run}exec libvirtd -d --config '$D/libvirtd.conf' --pid-file '$D/libvirtd.pid'" ||
    skip "libvirtd cannot start: $(tail -3 "$D/libvirtd.log" 2>/dev/null)"
URI="qemu:///system?socket=$D/libvirt-sock"
for _ in $(seq 100); do virsh -c "$URI" version >/dev/null 2>&1 && break; sleep 0.1; done
virsh -c "$URI" version >/dev/null 2>&1 || skip "libvirtd does not answer: $(tail -3 "$D/libvirtd.log")"
echo "# $(virsh -c "$URI" version 2>/dev/null | grep -i 'running hypervisor')"

# hvm-qemu.xml attaches to the "default" network: here a bridge with no
# address and no uplink, made inside libvirtd's namespace (forward mode
# bridge, so libvirt needs no firewall tools).
command -v ip >/dev/null && command -v nsenter >/dev/null || skip "ip and nsenter are needed (iproute2, util-linux)"
nsenter -t "$(cat "$D/libvirtd.pid")" -n ip link add swbr0 type bridge &&
    nsenter -t "$(cat "$D/libvirtd.pid")" -n ip link set swbr0 up ||
    skip "cannot make a bridge in libvirtd's network namespace"
cat >"$D/net.xml" <<NET
<network><name>default</name><forward mode='bridge'/><bridge name='swbr0'/></network>
NET
virsh -c "$URI" net-define "$D/net.xml" >/dev/null 2>&1 && virsh -c "$URI" net-start default >/dev/null 2>&1 ||
    skip "cannot define the network in libvirtd: $(tail -2 "$D/libvirtd.log")"

# Every guest NIC is held to its addresses by libvirt's clean-traffic
# filter: the nwfilter driver (ebtables, iptables) and the stock filters.
[ -e /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_nwfilter.so ] ||
    skip "libvirt's nwfilter driver is not installed (libvirt-daemon)"
virsh -c "$URI" nwfilter-list 2>/dev/null | grep -qw clean-traffic || # slipway-guest uses its parts
    skip "libvirt has no clean-traffic filter (apt-get install libvirt-daemon-config-nwfilter ebtables iptables)"

SERVER=$(cat /proc/sys/kernel/random/uuid)
# The engine makes the dir pool "slipway" under the state directory through
# libvirt (virStoragePoolDefineXML/Build) and the server's root volume in it.
mkdir -p "$D/state"
chmod 755 "$D/state"
SW_LIBVIRTD_PID=$(cat "$D/libvirtd.pid") "$prog" "$URI" "$D/state" "$SERVER"
rc=$?
[ $rc = 0 ] || { echo "---- libvirtd.log ----"; tail -20 "$D/libvirtd.log"; }
left=$(virsh -c "$URI" vol-list slipway 2>/dev/null | grep -c "sw-$SERVER")
if [ "$left" = 0 ]; then echo "ok - virsh sees no volume of the server left in the pool"; else
    echo "FAIL - virsh sees $left volume(s) of the server left in the pool"; rc=1; fi
exit $rc
