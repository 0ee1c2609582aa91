#!/usr/bin/env bash
# sw-test: real-guest (scripts/test runs it in the sanitizer half only)
# Anti-spoofing (#9) at packet level, on a real guest (issue 13): a private
# libvirtd (tests/lib/libvirtd.sh) with a bridge (libvirt network "default",
# the bridge holding the guest's gateways 192.0.2.1 and 2001:db8:1::1), the
# engine's guest filters (slipway-guest, defined by engines/nwfilter.c), and
# one tiny hvm guest (tests/images/) whose domain XML (the filter's MAC, IP
# and IPV6 parameters) and NoCloud seed come from the engine's code
# (test_antispoof). Through qemu-guest-agent's guest-exec the guest pings
# the gateways from its own addresses, then from a foreign IPv4 address, from
# an IPv6 address outside its /64 and with a forged MAC, then from its own
# again. ebtables counters on the bridge (filter table INPUT and FORWARD, in
# libvirtd's network namespace: every frame the bridge accepted) count each
# source; the tap's receive counter shows what the guest sent. Nothing from a
# foreign source may reach the bridge; its own traffic still does. Skips
# (77), saying exactly why, where it cannot run.
set -u
SW_SRCDIR=${SW_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
SW_BUILDDIR=${SW_BUILDDIR:-$SW_SRCDIR/build}
skip() { echo "SKIP: $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root to run a private system libvirtd"
for b in libvirtd virtlogd virsh qemu-system-x86_64 unshare nsenter ip ebtables jq base64; do
    command -v "$b" >/dev/null || skip "$b is not installed"
done
for d in qemu nwfilter; do
    [ -e "/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_$d.so" ] ||
        skip "libvirt's $d driver is not installed (libvirt-daemon-driver-$d / libvirt-daemon)"
done
prog=$SW_BUILDDIR/tests/integration/test_antispoof
[ -x "$prog" ] || { echo "$prog is not built"; exit 99; }
IMG=$SW_BUILDDIR/tests/images
"$SW_SRCDIR/tests/images/build.sh" "$IMG" >/dev/null || skip "the tiny guest images cannot be built here"

. "$SW_SRCDIR/tests/lib/libvirtd.sh"
D=$(mktemp -d /tmp/sw-antispoof.XXXXXX)
chmod 755 "$D"
trap 'sw_lv_stop; rm -rf "$D"' EXIT
SW_LV_CACHE=$SW_BUILDDIR/tests/integration/antispoof.cache
sw_lv_start "$D/lv" || skip "$SW_LV_WHY"
URI=$SW_LV_URI
sw_lv_bridge swbr0 || skip "$SW_LV_WHY"
sw_lv_net ip addr add 192.0.2.1/24 dev swbr0 && sw_lv_net ip -6 addr add 2001:db8:1::1/64 dev swbr0 nodad ||
    skip "cannot give the bridge the guest's gateway addresses"
pass=0 fail=0
T0=$(date +%s)
ok() {
    local at="[$(($(date +%s) - T0)) s]"
    if [ "$1" = 0 ]; then echo "ok - $at $2"; pass=$((pass + 1)); else echo "FAIL - $at $2"; fail=$((fail + 1)); fi
}

# ---- the guest, from the engine's parts ----
"$prog" filters "$URI" || skip "libvirt here cannot hold the guest filters (see above)"
ok 0 "slipway-guest defined by engines/nwfilter.c"
ID=$(cat /proc/sys/kernel/random/uuid)
OWN4=192.0.2.5 OWN6=2001:db8:1::5 FOREIGN4=198.51.100.7 FOREIGN6=2001:db8:2::5 FORGED=52:54:00:de:ad:01
S=$D/state
mkdir -p "$S/images"
cp "$IMG/hvm.qcow2" "$S/images/sw-$ID-root-0.qcow2"
"$prog" seed "$D/seed.iso" "$ID" antispoof.guest.example "$OWN4" "$OWN6" || exit 99
virsh -c "$URI" pool-create-as slipway dir --target "$S/images" >/dev/null ||
    skip "cannot make a dir pool: $(tail -2 "$D/lv/libvirtd.log")"
# The seed where the engine's domain XML names it: sw-<id>-seed.iso beside
# the root, attached by the template's seed section (hdc).
virsh -c "$URI" vol-create-as slipway "sw-$ID-seed.iso" "$(stat -c %s "$D/seed.iso")" --format raw >/dev/null &&
    virsh -c "$URI" vol-upload --pool slipway "sw-$ID-seed.iso" "$D/seed.iso" >/dev/null || exit 99
CONSOLE=$D/console.log
"$prog" xml "$ID" "$OWN4" 2001:db8:1:: |
    sed "s|<serial type='pty'/>|<serial type='pty'><log file='$CONSOLE' append='off'/></serial>|" >"$D/domain.xml"
grep -q "volume='sw-$ID-seed.iso'" "$D/domain.xml" || { echo "FAIL - the engine's domain XML names no seed"; exit 1; }
MAC=$(sed -n "s/.*<mac address='\([^']*\)'.*/\1/p" "$D/domain.xml" | head -1)
t0=$(date +%s)
# QEMU guests start here (the other real-guest tests boot them): a refusal
# is this test's failure, not the machine's.
virsh -c "$URI" create "$D/domain.xml" >/dev/null ||
    { echo "FAIL - the guest could not start: $(tail -3 "$D/lv/libvirtd.log")"; exit 1; }
for _ in $(seq 1800); do grep -q 'SLIPWAY-GUEST: ready' "$CONSOLE" 2>/dev/null && break; sleep 0.1; done
grep -q 'SLIPWAY-GUEST: ready' "$CONSOLE" || { echo "FAIL - the guest printed no ready line in 180 s"; tail -20 "$CONSOLE"; exit 1; }
ok "$(grep -q "SLIPWAY-GUEST: addr=$OWN4/24" "$CONSOLE" && grep -q "SLIPWAY-GUEST: ipv6=$OWN6/64" "$CONSOLE"; echo $?)" \
    "the guest booted in $(($(date +%s) - t0)) s with its seed's addresses $OWN4/24 and $OWN6/64 (MAC $MAC)"
TAP=$(virsh -c "$URI" domiflist "sw-$ID" | awk -v m="$MAC" '$5 == m { print $1 }')
echo "# the guest's NIC is $TAP on swbr0, held by slipway-guest:"
sw_lv_net ebtables -t nat -L "I-$TAP-mac" 2>/dev/null | sed -n 's/^-/#   -/p'

# ---- commands in the guest, through qemu-guest-agent ----
agent() { virsh -c "$URI" qemu-agent-command "sw-$ID" "$1" 2>/dev/null; }
for _ in $(seq 100); do agent '{"execute":"guest-ping"}' >/dev/null && break; sleep 0.1; done
# gexec CMD: runs CMD with the guest's sh; prints its output, returns its status.
gexec() {
    local pid st
    pid=$(agent "$(jq -cn --arg c "$1" '{execute: "guest-exec", arguments: {path: "/bin/sh", arg: ["-c", $c], "capture-output": true}}')" |
        jq -r .return.pid) || return 99
    for _ in $(seq 300); do
        st=$(agent "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":$pid}}") || return 99
        [ "$(jq -r .return.exited <<<"$st")" = true ] && break
        sleep 0.1
    done
    jq -r '.return["out-data"] // "" | @base64d' <<<"$st"
    return "$(jq -r '.return.exitcode // 99' <<<"$st")"
}
ok "$(gexec true >/dev/null; echo $?)" "commands run in the guest through guest-exec"

# ---- counting at the bridge ----
# One chain of counting rules, jumped to from the bridge's filter INPUT (to
# the bridge's own addresses) and FORWARD (to other ports): per source, each
# frame the bridge accepted.
E() { sw_lv_net ebtables "$@"; }
E -N SWCOUNT -P RETURN && E -A INPUT -j SWCOUNT && E -A FORWARD -j SWCOUNT &&
    E -A SWCOUNT -s "$MAC" -p IPv4 --ip-src "$OWN4" -j CONTINUE &&
    E -A SWCOUNT -p IPv4 --ip-src "$FOREIGN4" -j CONTINUE &&
    E -A SWCOUNT -s "$MAC" -p IPv6 --ip6-src "$OWN6" -j CONTINUE &&
    E -A SWCOUNT -p IPv6 --ip6-src "$FOREIGN6" -j CONTINUE &&
    E -A SWCOUNT -s "$FORGED" -j CONTINUE || skip "ebtables cannot count on the bridge: $(E -L 2>&1 | tail -1)"
# seen PATTERN: frames counted by the rule whose text matches PATTERN.
seen() { E -L SWCOUNT --Lc | grep -F -- "$1" | sed -n 's/.*pcnt = \([0-9]*\).*/\1/p' | head -1; }
sent() { sw_lv_net ip -s -j link show "$TAP" | jq '.[0].stats64.rx.packets'; }
N=5
# try NAME GUEST_CMD RULE: runs the guest's pings; prints "seen sent replies".
try() {
    local s0 c0 out
    s0=$(sent) c0=$(seen "$2")
    out=$(gexec "$1")
    echo "$(($(seen "$2") - c0)) $(($(sent) - s0)) $(sed -n 's/.* \([0-9]*\) packets received.*/\1/p' <<<"$out" | head -1)"
}
ping4() { echo "ping -c $N -i 0.2 -W 2 -I $1 192.0.2.1"; }
ping6() { echo "ping6 -c $N -i 0.2 -W 2 -I $1 2001:db8:1::1"; }

read -r b t r <<<"$(try "$(ping4 $OWN4)" "--ip-src $OWN4")"
echo "# own IPv4 $OWN4: the guest sent $t frames, the bridge saw $b from it, $r replies"
ok "$([ "$b" -ge "$N" ] && [ "${r:-0}" = "$N" ]; echo $?)" "its own IPv4 address reaches the bridge ($b frames, $r/$N replies)"
read -r b t r <<<"$(try "$(ping6 $OWN6)" "--ip6-src $OWN6")"
echo "# own IPv6 $OWN6: the guest sent $t frames, the bridge saw $b from it, $r replies"
ok "$([ "$b" -ge "$N" ] && [ "${r:-0}" = "$N" ]; echo $?)" "its own IPv6 address reaches the bridge ($b frames, $r/$N replies)"

gexec "ip addr add $FOREIGN4/32 dev eth0" >/dev/null
read -r b t r <<<"$(try "$(ping4 $FOREIGN4)" "--ip-src $FOREIGN4")"
echo "# foreign IPv4 $FOREIGN4: the guest sent $t frames, the bridge saw $b from it, ${r:-0} replies"
ok "$([ "$t" -ge "$N" ] && [ "$b" = 0 ]; echo $?)" \
    "a foreign IPv4 source: the guest sent $t frames, none reached the bridge ($b)"

gexec "ip -6 addr add $FOREIGN6/64 dev eth0" >/dev/null
sleep 1
read -r b t r <<<"$(try "$(ping6 $FOREIGN6)" "--ip6-src $FOREIGN6")"
echo "# IPv6 outside its /64, $FOREIGN6: the guest sent $t frames, the bridge saw $b from it, ${r:-0} replies"
ok "$([ "$t" -ge "$N" ] && [ "$b" = 0 ]; echo $?)" \
    "an IPv6 source outside its /64: the guest sent $t frames, none reached the bridge ($b)"

# A new MAC empties the guest's neighbour cache, so it sends what needs no
# neighbour: N ARP requests for the gateway (arping), and N pings to the
# all-nodes multicast group from its link-local address (only the MAC
# check stands in their way).
read -r b t r <<<"$(try "ip link set eth0 address $FORGED && arping -c $N -w $((N + 2)) -I eth0 -s $OWN4 192.0.2.1; ping6 -c $N -i 0.2 -W 2 -I eth0 ff02::1; ip link set eth0 address $MAC" "-s $FORGED")"
echo "# forged MAC $FORGED (ARP for the gateway, pings to ff02::1): the guest sent $t frames, the bridge saw $b from it"
ok "$([ "$t" -ge $((2 * N)) ] && [ "$b" = 0 ]; echo $?)" "a forged MAC: the guest sent $t frames, none reached the bridge ($b)"

read -r b t r <<<"$(try "$(ping4 $OWN4)" "--ip-src $OWN4")"
read -r b6 _ r6 <<<"$(try "$(ping6 $OWN6)" "--ip6-src $OWN6")"
echo "# own addresses again: IPv4 $b frames at the bridge ($r replies), IPv6 $b6 ($r6 replies)"
ok "$([ "$b" -ge "$N" ] && [ "$b6" -ge "$N" ] && [ "${r:-0}" = "$N" ] && [ "${r6:-0}" = "$N" ]; echo $?)" \
    "afterwards its own addresses still reach the bridge"
echo "# bridge counters (frames, bytes) per source:"
E -L SWCOUNT --Lc | sed -n 's/^-/#   -/p'
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
