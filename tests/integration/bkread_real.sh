#!/usr/bin/env bash
# sw-test: real-guest (scripts/test runs it in the sanitizer half only)
# Backups read from a real guest's disk (issue 14, engines/bkread.c and
# bkwrite.c) on a private libvirtd (tests/lib/libvirtd.sh) with the tiny hvm
# guest (tests/images/), through tests/integration/test_bkread_real.c:
#  1. full backup of the RUNNING guest (backup API, pull mode, NBD read with
#     libnbd) into a plain image file, while the guest writes to its disk:
#     the backup begins with the guest paused, right after its disk was
#     copied (qemu-img convert -U), the guest resumes and writes into chunks
#     the reader has not reached yet; the image must equal the copy (the
#     backup's point in time, exact), not the disk as it is afterwards;
#  2. ~1% of the disk written in the guest (busybox dd through the guest
#     agent's guest-exec: the tiny guest has no shell on its console), an
#     incremental backup (dirty bitmap) applied onto the image: equal to the
#     disk (guest paused while the incremental begins and is compared);
#     bytes read and seconds of full vs incremental printed;
#  3. the driver killed (SIGKILL) mid-incremental: the job, its checkpoint
#     and scratch volume are left; sw_bkread_cleanup aborts and deletes
#     them, an incremental from the last completed checkpoint is equal
#     again, and one from the deleted checkpoint is refused (not_found);
#     an unpaced full read, equal, timed beside qemu-img convert;
#  4. the guest stopped: a full backup by volume download (flattened raw
#     copy, sparse stream), equal to the disk;
#  5. the restore writer: the image written into a new qcow2 volume, equal.
# Exits 77 saying why where it cannot run.
set -u
SW_SRCDIR=${SW_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
SW_BUILDDIR=${SW_BUILDDIR:-$SW_SRCDIR/build}
skip() { echo "SKIP: $*"; exit 77; }
T0=$(date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

. "$SW_SRCDIR/tests/lib/libvirtd.sh"
sw_lv_need test_bkread_real qemu-img qemu-io jq
D=$(mktemp -d /tmp/sw-bkread.XXXXXX)
chmod 755 "$D"
BGPID=
cleanup() {
    [ -n "$BGPID" ] && kill -KILL "$BGPID" 2>/dev/null
    sw_lv_stop
    rm -rf "$D"
}
trap cleanup EXIT
mkdir -p "$IMG/libvirt-cache-bkread"
SW_LV_CACHE=$IMG/libvirt-cache-bkread sw_lv_start "$D/lv" || skip "$SW_LV_WHY"
URI=$SW_LV_URI
v() { virsh -q -c "$URI" "$@"; }

pass=0 fail=0
ok() { if [ "$1" = 0 ]; then echo "ok - $2"; pass=$((pass + 1)); else echo "FAIL - $2"; fail=$((fail + 1)); return 1; fi; }

# The root: the tiny hvm disk grown to 1 GiB, 480 MiB of it written with a
# pattern (so a full backup has something to read), in the dir pool
# "slipway" the engine finds under STATE/pools/slipway.
S=$D/state ID=$(cat /proc/sys/kernel/random/uuid) SOCK=$D/sock
POOL=$S/pools/slipway ROOT=sw-$ID-root-0.qcow2
mkdir -p "$POOL" "$SOCK"
cp "$IMG/hvm.qcow2" "$POOL/$ROOT"
qemu-img resize -q "$POOL/$ROOT" 1G
qemu-io -f qcow2 -c "write -q -P 0x5a 64M 480M" "$POOL/$ROOT" >/dev/null
v pool-define-as slipway dir --target "$POOL" >/dev/null && v pool-start slipway >/dev/null ||
    skip "cannot make the dir pool"
cat >"$D/dom.xml" <<XML
<domain type='qemu'><name>sw-$ID</name><uuid>$ID</uuid><memory unit='MiB'>160</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><disk type='volume' device='disk'><driver name='qemu' type='qcow2'/><source pool='slipway' volume='$ROOT'/><target dev='vda' bus='virtio'/></disk>
<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
<serial type='pty'><log file='$D/console.log' append='off'/></serial><console type='pty'/></devices></domain>
XML
v define "$D/dom.xml" >/dev/null && v start "sw-$ID" >/dev/null || skip "the guest cannot start: $(tail -2 "$D/lv/libvirtd.log")"
for _ in $(seq 600); do grep -aq 'SLIPWAY-GUEST: ready' "$D/console.log" 2>/dev/null && break; sleep 0.1; done
agent() { v qemu-agent-command "sw-$ID" "$1" 2>/dev/null; }
for _ in $(seq 100); do agent '{"execute":"guest-ping"}' >/dev/null && break; sleep 0.1; done
echo "# guest up in $(since "$T0") s"

# gexec CMD: runs CMD under the guest's /bin/sh through the agent; its status.
gexec() {
    local pid st
    pid=$(agent "$(jq -nc --arg c "$1" '{execute:"guest-exec",arguments:{path:"/bin/sh",arg:["-c",$c],"capture-output":true}}')" | jq .return.pid)
    [ -n "$pid" ] && [ "$pid" != null ] || return 1
    for _ in $(seq 600); do
        st=$(agent "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":$pid}}")
        [ "$(jq .return.exited <<<"$st")" = true ] && return "$(jq .return.exitcode <<<"$st")"
        sleep 0.1
    done
    return 1
}
# dirty FIRST N: N writes of 512 KiB of random data from the guest, each in
# its own 4 MiB chunk (FIRST, FIRST+5, ...), flushed to the disk.
dirty() {
    local cmd="" k
    for k in $(seq 0 $(($2 - 1))); do
        cmd="$cmd dd if=/dev/urandom of=/dev/vda bs=512K count=1 seek=$(((($1 + k * 5) * 8) + k % 8)) conv=fsync 2>/dev/null &&"
    done
    gexec "$cmd true"
}
same() { qemu-img compare -q -U -f raw -F "$3" "$1" "$2"; }
cps() { v checkpoint-list "sw-$ID" --name | sort | tr '\n' ' '; }
scratch() { v vol-list slipway | awk '{print $1}' | grep -c -- "-bk-"; }
ckp() { sed -n 's/^checkpoint=//p' "$1"; }
figures() { grep '^how=' "$1"; }
rd() { "$prog" read "$URI" "$S" "$ID" "$@"; }
B1=$(cat /proc/sys/kernel/random/uuid) B2=$(cat /proc/sys/kernel/random/uuid)
B3=$(cat /proc/sys/kernel/random/uuid) B4=$(cat /proc/sys/kernel/random/uuid)

# 1. Full, running, with the guest writing during the read.
v suspend "sw-$ID" >/dev/null
qemu-img convert -U -O raw "$POOL/$ROOT" "$D/t0.raw"
SW_BKREAD_SLOW_MS=40 rd "$B1" "$SOCK" "$D/full.img" >"$D/full.out" 2>"$D/full.err" &
BGPID=$!
for _ in $(seq 100); do [ -S "$SOCK/sw-bk-$B1.sock" ] && break; sleep 0.05; done
v resume "sw-$ID" >/dev/null
dirty 200 6; w=$?
wait "$BGPID"; rc=$?; BGPID=
ok "$rc" "full backup of the running guest: $(figures "$D/full.out") $(cat "$D/full.err")"
ok "$w" "the guest wrote 6 x 512 KiB into chunks 200..225 while the full backup read"
ok "$(grep -q '^how=pull incremental=0' "$D/full.out"; echo $?)" "it went through the backup API (pull) as a full read"
ok "$(same "$D/full.img" "$D/t0.raw" raw; echo $?)" "the full backup equals the disk at the backup's start (qemu-img compare with the copy made then)"
ok "$(! same "$D/full.img" "$POOL/$ROOT" qcow2; echo $?)" "and not the disk as the guest changed it since (the point in time held)"
C1=$(ckp "$D/full.out")
ok "$([ "$(cps)" = "$C1 " ] && [ "$(scratch)" = 0 ]; echo $?)" "its checkpoint $C1 is the domain's one; no scratch volume left"
"$prog" commit "$URI" "$S" "$ID" "$C1"

# 2. ~1% of the disk written (20 x 512 KiB = 10 MiB of 1 GiB), incremental.
dirty 20 20; ok $? "the guest wrote 20 x 512 KiB (1% of its disk) in chunks 20..115"
v suspend "sw-$ID" >/dev/null
rd "$B2" "$SOCK" "$D/full.img" "$C1" >"$D/inc.out" 2>"$D/inc.err"
ok $? "incremental backup from $C1: $(figures "$D/inc.out") $(cat "$D/inc.err")"
ok "$(same "$D/full.img" "$POOL/$ROOT" qcow2; echo $?)" "full image + incremental chunks equal the disk (qemu-img compare)"
v resume "sw-$ID" >/dev/null
C2=$(ckp "$D/inc.out")
"$prog" commit "$URI" "$S" "$ID" "$C2"
ok "$([ "$(cps)" = "$C2 " ]; echo $?)" "after the commit only the newest checkpoint is kept ($(cps))"
fr=$(awk -F'read=' '/^how=/{split($2,a," "); print a[1]}' "$D/full.out")
ir=$(awk -F'read=' '/^how=/{split($2,a," "); print a[1]}' "$D/inc.out")
ok "$([ "$ir" -gt 0 ] && [ "$ir" -le $((26 * 4194304)) ] && [ "$ir" -lt "$fr" ]; echo $?)" \
    "the incremental read only the dirty chunks: $ir bytes (26 chunks at most) vs the full's $fr"
echo "# bytes read: full $fr, incremental $ir ($(awk -v a="$ir" -v b="$fr" 'BEGIN{printf "%.1f", 100*a/b}')%)"

# 3. Killed mid-backup: cleanup, then the next incremental is correct.
dirty 30 20; ok $? "the guest wrote another 1% (chunks 30..125)"
# the driver itself in the background (not a subshell around it), so the kill reaches it
SW_BKREAD_SLOW_MS=300 "$prog" read "$URI" "$S" "$ID" "$B3" "$SOCK" "$D/full.img" "$C2" >"$D/kill.out" 2>&1 &
BGPID=$!
for _ in $(seq 100); do [ -S "$SOCK/sw-bk-$B3.sock" ] && break; sleep 0.05; done
sleep 1
kill -KILL "$BGPID"; wait "$BGPID" 2>/dev/null; st=$?; BGPID=
ok "$([ "$st" = 137 ]; echo $?)" "the driver was killed (SIGKILL) mid-backup: exit status $st, $(grep -c . "$D/kill.out") lines of output"
left=$(v backup-dumpxml "sw-$ID" >/dev/null 2>&1 && echo job)
ok "$([ "$left" = job ] && [ "$(scratch)" = 1 ] && [ "$(echo $(cps) | wc -w)" = 2 ]; echo $?)" \
    "killed mid-backup: its job, scratch volume and new checkpoint are left ($left, $(scratch) scratch, $(cps))"
note=$(SW_LOG=info "$prog" cleanup "$URI" "$S" "$ID" "$C2" 2>"$D/cleanup.err")
ok $? "cleanup with the last completed checkpoint: $note"
ok "$([ "$note" = "backup job aborted; 1 checkpoint(s) and 1 scratch volume(s) deleted" ] &&
    ! v backup-dumpxml "sw-$ID" >/dev/null 2>&1 && [ "$(cps)" = "$C2 " ] && [ "$(scratch)" = 0 ]; echo $?)" \
    "no job, no scratch volume, only $C2 left" ||
    { cat "$D/cleanup.err"; v vol-list slipway; v backup-dumpxml "sw-$ID"; }
: >"$D/x.img"
rd "$B4" "$SOCK" "$D/x.img" "sw-$ID-ckp-$B3" >/dev/null 2>"$D/gone.err"
ok "$([ $? = 3 ] && grep -q 'parent checkpoint is gone' "$D/gone.err"; echo $?)" \
    "an incremental from the killed backup's checkpoint is refused: $(cat "$D/gone.err")"
v suspend "sw-$ID" >/dev/null
rd "$B4" "$SOCK" "$D/full.img" "$C2" >"$D/inc2.out" 2>&1
ok $? "the next incremental from $C2: $(figures "$D/inc2.out")"
ok "$(same "$D/full.img" "$POOL/$ROOT" qcow2; echo $?)" "after cleanup the incremental is correct: equal to the disk"
# An unpaced full read beside qemu-img convert of the same disk (paused).
B6=$(cat /proc/sys/kernel/random/uuid)
rd "$B6" "$SOCK" "$D/full2.img" >"$D/full2.out" 2>&1
ok "$(same "$D/full2.img" "$POOL/$ROOT" qcow2; echo $?)" "an unpaced full read equals the disk: $(figures "$D/full2.out")"
t=$(date +%s.%N)
qemu-img convert -U -O raw "$POOL/$ROOT" "$D/conv.raw"
echo "# full read $(sed -n 's/.*seconds=//p' "$D/full2.out") s vs qemu-img convert -U -O raw of the same disk $(since "$t") s"
rm -f "$D/conv.raw" "$D/full2.img"
"$prog" commit "$URI" "$S" "$ID" "$(ckp "$D/full2.out")"
v resume "sw-$ID" >/dev/null

# 4. Stopped guest: a full read by volume download.
v destroy "sw-$ID" >/dev/null
B5=$(cat /proc/sys/kernel/random/uuid)
rd "$B5" "$SOCK" "$D/stopped.img" >"$D/stop.out" 2>&1
ok $? "stopped guest: $(figures "$D/stop.out")"
ok "$(grep -q '^how=download incremental=0' "$D/stop.out" && same "$D/stopped.img" "$POOL/$ROOT" qcow2 &&
    [ "$(scratch)" = 0 ]; echo $?)" "the download equals the disk; its raw scratch copy is deleted"

# 5. The restore writer: the image into a new qcow2 volume.
R=$(cat /proc/sys/kernel/random/uuid) NEW=sw-$ID-root-r1.qcow2
out=$("$prog" restore "$URI" "$S" "$ID" "$R" slipway "$NEW" "$D/full.img" 2>&1)
ok $? "restore writer: $out"
ok "$(qemu-img info --output=json "$POOL/$NEW" | jq -e '.format == "qcow2"' >/dev/null &&
    same "$D/full.img" "$POOL/$NEW" qcow2 && same "$D/stopped.img" "$POOL/$NEW" qcow2 && [ "$(scratch)" = 0 ]; echo $?)" \
    "the new volume is qcow2 and equal to the backup (and to the source); no staging volume left"

grep -c "unable to stat" "$D/lv/libvirtd.log" | sed "s/^/# libvirtd errors about a scratch gone too early: /"
echo "# $pass passed, $fail failed; whole test $(since "$T0") s"
[ "$fail" = 0 ] || { tail -20 "$D/lv/libvirtd.log"; exit 1; }
exit 0
