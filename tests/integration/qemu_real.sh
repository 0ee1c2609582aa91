#!/usr/bin/env bash
# sw-test: real-guest (scripts/test runs it in the sanitizer half only)
# The hvm driver against a real libvirtd with QEMU on this machine: a
# private libvirtd (tests/lib/libvirtd.sh: its own configuration, state and
# socket, in its own mount and network namespaces, with an isolated
# "default" network: no traffic leaves it), a
# domain from templates/domain/hvm-qemu.xml (kvm when the host can run it,
# else TCG) with a blank qcow2 disk that boots nothing: create, its NIC held
# by the clean-traffic filter to its MAC and addresses, cpu time,
# balloon stats, a balloon target, a live resize, reset_password without an
# agent, stop (its disk still sampled for billing), start, terminate
# (tests/integration/test_qemu_real.c).
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

. "$SW_SRCDIR/tests/lib/libvirtd.sh"
D=$(mktemp -d /tmp/sw-qemu.XXXXXX)
chmod 755 "$D"
trap 'sw_lv_stop; rm -rf "$D"' EXIT

# A private libvirtd (tests/lib/libvirtd.sh: its own mount and network
# namespaces, its own virtlogd, QEMU as root, so no minute-long KVM
# re-probe), QEMU's capabilities cached in the build tree.
SW_LV_CACHE=$SW_BUILDDIR/tests/integration/qemu_real.cache
sw_lv_start "$D/lv" || skip "$SW_LV_WHY"
URI=$SW_LV_URI
echo "# $(virsh -c "$URI" version 2>/dev/null | grep -i 'running hypervisor')"

# hvm-qemu.xml attaches to the "default" network: here a bridge with no
# address and no uplink, made inside libvirtd's namespace (forward mode
# bridge, so libvirt needs no firewall tools).
sw_lv_bridge swbr0 || skip "$SW_LV_WHY"

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
SW_LIBVIRTD_PID=$SW_LV_PID "$prog" "$URI" "$D/state" "$SERVER"
rc=$?
[ $rc = 0 ] || { echo "---- libvirtd.log ----"; tail -20 "$D/lv/libvirtd.log"; }
left=$(virsh -c "$URI" vol-list slipway 2>/dev/null | grep -c "sw-$SERVER")
if [ "$left" = 0 ]; then echo "ok - virsh sees no volume of the server left in the pool"; else
    echo "FAIL - virsh sees $left volume(s) of the server left in the pool"; rc=1; fi
exit $rc
