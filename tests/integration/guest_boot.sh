#!/usr/bin/env bash
# sw-test: real-guest (scripts/test runs it in the sanitizer half only)
# Real tiny guests end to end (issue 13): builds (or reuses) tests/images/ in
# the build tree, starts a private libvirtd (its own mount and network
# namespaces, /run, /etc/libvirt with QEMU as root: no minute-long KVM
# re-probe, see ../shared/notes/real-guests.md), and through
# tests/integration/test_guest_boot.c boots two TCG guests at once, hvm
# (hvm-qemu.xml, the FAT+syslinux disk) and pv (pv-qemu.xml: kernel +
# initrd + ext4 root), each created by the ENGINE (sw_engine_run on a
# create job with the guest's configuration: it makes the NoCloud seed
# volume beside the root and attaches it as a read-only cdrom). An ISO
# install boots through the engine in tests/integration/iso_boot.sh
# (helper "iso").
# Their consoles must show the ordered hostname, addresses and "ready".
# Then, through qemu-guest-agent in the guests: the seed's root hash is in
# /etc/shadow; the engine's reset_password job rewrites the seed with a new
# hash (read back from the volume) and sets it through the agent, and
# /etc/shadow holds it (read back through the agent and verified); `virsh
# setmem` raises the balloon and the engine's ballooning loop lowers it
# (dommemstat and the guest's MemTotal printed).
# The container rootfs runs the same init on its seed files under chroot.
# Everything it started is torn down. Skips (77), saying why, where it
# cannot run. To see where libvirtd spends its time: SW_GUEST_LOG_LEVEL=1
# SW_GUEST_LOG_FILTERS="1:qemu 1:util.command 3:*"
# SW_GUEST_KEEP_LOG=/tmp/libvirtd.log (copied out before the teardown).
set -u
SW_SRCDIR=${SW_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
SW_BUILDDIR=${SW_BUILDDIR:-$SW_SRCDIR/build}
skip() { echo "SKIP: $*"; exit 77; }
T0=$(date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

. "$SW_SRCDIR/tests/lib/libvirtd.sh"
sw_lv_need test_guest_boot qemu-img nsenter ip jq base64 python3
[ -e /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so ] ||
    skip "libvirt's qemu driver is not installed (libvirt-daemon-driver-qemu)"

D=$(mktemp -d /tmp/sw-guest.XXXXXX)
chmod 755 "$D"
URI="qemu:///system?socket=$D/libvirt-sock"
LPID=
CTPID=
cleanup() {
    local d pid f
    [ -n "$CTPID" ] && kill -KILL $(cat "/proc/$CTPID/task/$CTPID/children" 2>/dev/null) 2>/dev/null
    if [ -S "$D/libvirt-sock" ]; then
        for d in $(virsh -c "$URI" list --all --name 2>/dev/null); do
            virsh -c "$URI" destroy "$d" >/dev/null 2>&1
            virsh -c "$URI" undefine "$d" >/dev/null 2>&1
        done
        virsh -c "$URI" pool-destroy slipway >/dev/null 2>&1
        virsh -c "$URI" net-destroy default >/dev/null 2>&1
    fi
    # A QEMU libvirt lost track of (its pid file is in libvirtd's own /run).
    if [ -n "$LPID" ]; then
        for f in /proc/"$LPID"/root/run/libvirt/qemu/*.pid; do
            [ -f "$f" ] && kill "$(cat "$f" 2>/dev/null)" 2>/dev/null
        done
    fi
    for f in libvirtd virtlogd; do
        [ -f "$D/$f.pid" ] || continue
        pid=$(cat "$D/$f.pid" 2>/dev/null) || continue
        kill "$pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done
    [ -n "${SW_GUEST_KEEP_LOG:-}" ] && cp "$D/libvirtd.log" "$SW_GUEST_KEEP_LOG"
    rm -rf "$D"
}
trap cleanup EXIT

getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu || skip "cannot add group libvirt-qemu"
id libvirt-qemu >/dev/null 2>&1 ||
    useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu ||
    skip "cannot add user libvirt-qemu"
# QEMU's capabilities, probed once (about 4 s) and kept beside the images.
CACHE=$IMG/libvirt-cache
mkdir -p "$D"/{etc,lib,log} "$CACHE" /etc/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt
# Only the stock network filters: the host's own networks, pools and
# domains (whatever another run left in /etc/libvirt) stay out.
mkdir -p "$D/etc/nwfilter"
cp /usr/share/libvirt/nwfilter/*.xml "$D/etc/nwfilter/" 2>/dev/null ||
    cp -a /etc/libvirt/nwfilter/. "$D/etc/nwfilter/" 2>/dev/null
# QEMU runs as root here: with the qemu user and a /dev/kvm only root can
# open, libvirt re-probes QEMU on every start (about a minute each). Guests
# run under TCG (the C program's domain type is qemu).
printf 'user = "root"\ngroup = "root"\n' >"$D/etc/qemu.conf"
cat >"$D/libvirtd.conf" <<CONF
unix_sock_dir = "$D"
unix_sock_ro_perms = "0700"
unix_sock_rw_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
host_uuid = "$(cat /proc/sys/kernel/random/uuid)"
log_filters = "${SW_GUEST_LOG_FILTERS:-}"
log_outputs = "${SW_GUEST_LOG_LEVEL:-3}:file:$D/libvirtd.log"
CONF
unshare -n -m --propagation private -- sh -c "
    mount -t tmpfs tmpfs /run && mkdir -p /run/libvirt /run/lock &&
    mount --bind '$D/etc' /etc/libvirt && mount --bind '$D/lib' /var/lib/libvirt &&
    mount --bind '$D/log' /var/log/libvirt && mount --bind '$CACHE' /var/cache/libvirt &&
    virtlogd -d -p '$D/virtlogd.pid' &&
    exec libvirtd -d --config '$D/libvirtd.conf' --pid-file '$D/libvirtd.pid'" ||
    skip "libvirtd cannot start: $(tail -3 "$D/libvirtd.log" 2>/dev/null)"
for _ in $(seq 100); do virsh -c "$URI" version >/dev/null 2>&1 && break; sleep 0.1; done
virsh -c "$URI" version >/dev/null 2>&1 || skip "libvirtd does not answer: $(tail -3 "$D/libvirtd.log")"
LPID=$(cat "$D/libvirtd.pid")
echo "# libvirtd up in $(since "$T0") s (images included): $(virsh -c "$URI" version 2>/dev/null | grep -i 'running hypervisor')"

# The templates' NIC attaches to "default": a bridge with no uplink in
# libvirtd's network namespace (as tests/integration/qemu_real.sh).
nsenter -t "$LPID" -n ip link add swbr0 type bridge && nsenter -t "$LPID" -n ip link set swbr0 up ||
    skip "cannot make a bridge in libvirtd's network namespace"
echo "<network><name>default</name><forward mode='bridge'/><bridge name='swbr0'/></network>" >"$D/net.xml"
virsh -c "$URI" net-create "$D/net.xml" >/dev/null 2>&1 ||
    skip "cannot start the network in libvirtd: $(tail -2 "$D/libvirtd.log")"
virsh -c "$URI" nwfilter-list 2>/dev/null | grep -qw clean-traffic ||
    skip "libvirt has no clean-traffic filter (libvirt-daemon-config-nwfilter)"

# The images where the domains point: each server's root volume
# (sw-<id>-root-0.qcow2) in the engine's default dir pool "slipway", the pv
# kernel and initrd; the engine's templates with each serial
# console logged to a file the test reads.
S=$D/state
mkdir -p "$S"/{images,kernels/tiny}
cp -r "$SW_SRCDIR/templates" "$S/templates"
sed -i "s|<serial type='pty'/>|<serial type='pty'><log file='{{state_dir}}/console-{{uuid}}.log' append='off'/></serial>|" \
    "$S/templates/domain/hvm-qemu.xml" "$S/templates/domain/pv-qemu.xml"
HVM=$(cat /proc/sys/kernel/random/uuid) PV=$(cat /proc/sys/kernel/random/uuid)
cp "$IMG/hvm.qcow2" "$S/images/sw-$HVM-root-0.qcow2"
qemu-img convert -q -f raw -O qcow2 "$IMG/pv-root.ext4" "$S/images/sw-$PV-root-0.qcow2"
virsh -c "$URI" pool-define-as slipway dir --target "$S/images" >/dev/null &&
    virsh -c "$URI" pool-start slipway >/dev/null || skip "cannot make the dir pool: $(tail -2 "$D/libvirtd.log")"
cp "$IMG/vmlinuz" "$S/kernels/tiny/vmlinuz"
cp "$IMG/initrd.gz" "$S/kernels/tiny/initrd.img"

"$prog" "$URI" "$S" "$HVM" "$PV"
rc=$?
pass=0 fail=0
ok() { if [ "$1" = 0 ]; then echo "ok - $2"; pass=$((pass + 1)); else echo "FAIL - $2"; fail=$((fail + 1)); fi; }

# guest_cat SERVER PATH: a file's content, read through the guest agent.
agent() { virsh -c "$URI" qemu-agent-command "sw-$1" "$2" 2>/dev/null; }
guest_cat() {
    local h
    h=$(agent "$1" "{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":\"$2\"}}" | jq -r .return) || return 1
    agent "$1" "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":$h,\"count\":65536}}" |
        jq -r '.return["buf-b64"]' | base64 -d
    agent "$1" "{\"execute\":\"guest-file-close\",\"arguments\":{\"handle\":$h}}" >/dev/null
}
root_hash() { guest_cat "$1" /etc/shadow | awk -F: '$1 == "root" { print $2 }'; }
verify() { python3 -W ignore -c 'import crypt, sys; sys.exit(crypt.crypt(sys.argv[1], sys.argv[2]) != sys.argv[2])' "$1" "$2"; }

SEED_HASH='$6$slipwayseed$6IlQDCqNOMGKiDxozQeXnNPmatsHLchzQW0nPHjoCXKvLGeNiC0coLCoUDp39W81ml.HN94imAM9RTZx8C3IM0'
for id in "$HVM" "$PV"; do
    kind=pv; [ "$id" = "$HVM" ] && kind=hvm
    for _ in $(seq 100); do agent "$id" '{"execute":"guest-ping"}' >/dev/null && break; sleep 0.1; done
    h=$(root_hash "$id")
    ok "$([ "$h" = "$SEED_HASH" ]; echo $?)" "$kind: the seed's root hash is in the guest's /etc/shadow (read through the agent)"
    new=$(python3 -W ignore -c 'import crypt; print(crypt.crypt("N3w-Passw0rd", crypt.mksalt(crypt.METHOD_SHA512)))')
    out=$("$prog" --reset "$URI" "$S" "$kind" "$id" "$new")
    ok $? "$kind: the engine's reset_password job: $(echo "$out" | grep -E '^(ok|FAIL) ' | tr '\n' ' ')"
    h=$(root_hash "$id")
    ok "$(verify 'N3w-Passw0rd' "$h" && [ "$h" = "$new" ]; echo $?)" \
        "$kind: /etc/shadow now holds the job's hash of the new password (${h:0:20}...)"
done

# The balloon moves for real. hvm boots at its guarantee (128 MiB of a
# 256 MiB ceiling); setmem gives it the ceiling, then the engine's
# ballooning loop (engines/balloon.c on the libvirt stats source, the host
# declared small so it must shrink) lowers its target and the guest's
# balloon follows.
mem() { virsh -c "$URI" dommemstat "sw-$HVM" 2>/dev/null | awk -v k="$1" '$1 == k { print $2 }'; }
total() { guest_cat "$HVM" /proc/meminfo | awk '$1 == "MemTotal:" { print $2 }'; }
before=$(mem actual) tb=$(total)
t=$(date +%s.%N)
virsh -c "$URI" setmem "sw-$HVM" 256M --live >/dev/null 2>&1
for _ in $(seq 100); do [ "$(mem actual)" = 262144 ] && break; sleep 0.1; done
after=$(mem actual) ta=$(total) took=$(since "$t")
echo "# balloon: actual ${before} -> ${after} KiB in ${took} s; guest MemTotal ${tb} -> ${ta} kB"
ok "$([ "$after" = 262144 ] && [ -n "$ta" ] && [ "$ta" -gt "$((tb + 80000))" ]; echo $?)" \
    "hvm: setmem 256M raises the balloon to the ceiling: dommemstat actual $after KiB, the guest's MemTotal rose by $((ta - tb)) kB"
out=$("$prog" --balloon "$URI" "$HVM")
ok $? "hvm: the ballooning controller: $(echo "$out" | grep -E '^(ok|FAIL) ' | tr '\n' ' ')"
echo "$out" | grep '^#'
tc=$(total)
ok "$([ -n "$tc" ] && [ "$tc" -lt "$((ta - 50000))" ]; echo $?)" \
    "hvm: the guest's MemTotal fell with it: ${ta} -> ${tc} kB (actual $(mem actual) KiB)"

# The container rootfs runs the same init without modules, reading the
# seed files engines/seed.c wrote into /var/lib/cloud/seed/nocloud/: here
# under chroot in new PID, mount, UTS and network namespaces with a veth
# pair for eth0 (libvirt's LXC driver is another part of issue 13).
CT=$D/ct CTID=$(cat /proc/sys/kernel/random/uuid)
mkdir -p "$CT" && tar -C "$CT" -xzf "$IMG/container-rootfs.tar.gz"
ok "$([ ! -e "$CT/lib/modules" ] && [ ! -e "$CT/init" ] && [ -x "$CT/sbin/init" ]; echo $?)" \
    "container: the rootfs tarball has /sbin/init and no kernel modules ($(du -sh "$CT" | cut -f1))"
"$prog" --nocloud "$CT/var/lib/cloud/seed/nocloud" "$CTID"
t=$(date +%s.%N)
unshare --fork --kill-child --pid --mount --uts --ipc --net -- sh -c \
    "ip link add eth0 type veth peer name eth1 && ip link set eth1 up && exec chroot '$CT' /usr/bin/env container=lxc /sbin/init" \
    >"$D/ct.log" 2>&1 &
CTPID=$!
for _ in $(seq 100); do grep -q 'SLIPWAY-GUEST: ready' "$D/ct.log" && break; sleep 0.1; done
took=$(since "$t")
# unshare ignores SIGTERM while it waits: end the namespace's init itself.
kill -KILL $(cat "/proc/$CTPID/task/$CTPID/children" 2>/dev/null) 2>/dev/null
wait "$CTPID" 2>/dev/null
said() { grep -qx "SLIPWAY-GUEST: $1" "$D/ct.log"; }
ok "$(said ready && said mode=container; echo $?)" "container: init ran in container mode and printed ready in $took s"
ok "$(said "instance-id=$CTID" && said hostname=ct-8.guest.example; echo $?)" "container: hostname from its nocloud meta-data"
ok "$(said 'addr=192.0.2.8/24 gw=192.0.2.1' && said 'ipv6=2001:db8:1::8/64 gw=2001:db8:1::1'; echo $?)" \
    "container: network-config v2 applied (IPv4 and IPv6 with their gateways)"
ok "$(said dns=192.0.2.53,2001:db8::53 && said keys=2 && said shadow=root; echo $?)" \
    "container: resolvers, SSH keys and the root hash from its seed files"
grep -q '^SLIPWAY-GUEST: ' "$D/ct.log" || cat "$D/ct.log"

echo "# $pass passed, $fail failed in this script; whole test $(since "$T0") s"
[ $rc = 0 ] && [ $fail = 0 ] || {
    echo "---- libvirtd.log ----"; tail -20 "$D/libvirtd.log"
    for f in "$S"/console-*.log; do echo "---- $f ----"; tail -30 "$f"; done
    exit 1
}
exit 0
