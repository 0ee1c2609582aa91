#!/usr/bin/env bash
# sw-test: real-guest (scripts/test runs it in the sanitizer half only)
# Live migration of a real guest between two private libvirtds (issue 15,
# engines/migrate.c) through tests/integration/test_migrate_real.c: node A
# (sw_lv_start) and node B beside it (sw_lv_peer_start), one dir pool
# "shared" over one folder in both (standing in for NFS), the tiny hvm
# guest (tests/images) with its root volume there, a counter it prints on
# its serial console every 0.2 s (a loop started through qemu-guest-agent):
#  1. sw_migrate_run A -> B while it counts: the counter goes on in B's
#     console log without a restart (its first number on B follows A's last,
#     the guest's uptime too, no boot line), A has no domain, B's is
#     persistent and running, its agent answers; progress was reported;
#  2. a migration to a target that does not answer fails "unreachable"
#     (unavailable, retryable) and the guest still runs on B;
#  3. B -> A slowed to 1 MiB/s, cancelled from another thread once data
#     moves: it fails "cancelled", the guest keeps running on B and counting,
#     A has no domain;
#  4. downtime and total time of sw_migrate_run and of a plain
#     `virsh migrate --live --p2p` of the same guest, alternating directions,
#     $SW_MIG_ROUNDS of each (default 3), medians printed ($SW_MIG_OPTS:
#     more KEY=VALUE options for test_migrate_real, e.g. auto_converge=0);
#  5. the guest stopped: an offline move of its definition (no boot);
#  6. a test-driver node refuses (unsupported, naming why).
# Exits 77 saying why where it cannot run.
set -u
SW_SRCDIR=${SW_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
SW_BUILDDIR=${SW_BUILDDIR:-$SW_SRCDIR/build}
skip() { echo "SKIP: $*"; exit 77; }
T0=$(date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

. "$SW_SRCDIR/tests/lib/libvirtd.sh"
sw_lv_need test_migrate_real nsenter jq
D=$(mktemp -d /tmp/sw-migrate.XXXXXX)
chmod 755 "$D"
cleanup() {
    sw_lv_peer_stop
    sw_lv_stop
    rm -rf "$D"
}
trap cleanup EXIT
mkdir -p "$IMG/libvirt-cache-migrate-a" "$IMG/libvirt-cache-migrate-b"
SW_LV_CACHE=$IMG/libvirt-cache-migrate-a sw_lv_start "$D/a" || skip "$SW_LV_WHY"
SW_LV_CACHE=$IMG/libvirt-cache-migrate-b sw_lv_peer_start "$D/b" || skip "$SW_LV_WHY"
A=$SW_LV_URI B=$SW_LV_PEER_URI
sw_lv_shared_pool shared "$D/shared" || skip "$SW_LV_WHY"

pass=0 fail=0
ok() { if [ "$1" = 0 ]; then echo "ok - $2"; pass=$((pass + 1)); else echo "FAIL - $2"; fail=$((fail + 1)); return 1; fi; }

ID=$(cat /proc/sys/kernel/random/uuid) DOM=
DOM=sw-$ID ROOT=sw-$ID-root-0.qcow2
cp "$IMG/hvm.qcow2" "$D/shared/$ROOT"
virsh -q -c "$A" pool-refresh shared >/dev/null
virsh -q -c "$B" pool-refresh shared >/dev/null
# console LOG: the serial console's log file of this domain's copy
dom_xml() {
    cat <<XML
<domain type='qemu'><name>$DOM</name><uuid>$ID</uuid><memory unit='MiB'>160</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><disk type='volume' device='disk'><driver name='qemu' type='qcow2'/><source pool='shared' volume='$ROOT'/><target dev='vda' bus='virtio'/></disk>
<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
<serial type='pty'><log file='$1' append='off'/></serial><console type='pty'/></devices></domain>
XML
}
dom_xml "$D/console-0.log" >"$D/dom.xml"
virsh -q -c "$A" define "$D/dom.xml" >/dev/null && virsh -q -c "$A" start "$DOM" >/dev/null ||
    skip "the guest cannot start: $(tail -2 "$D/a/libvirtd.log")"
for _ in $(seq 600); do grep -aq 'SLIPWAY-GUEST: ready' "$D/console-0.log" 2>/dev/null && break; sleep 0.1; done
agent() { virsh -c "$1" qemu-agent-command "$DOM" "$2" 2>/dev/null; }
for _ in $(seq 100); do agent "$A" '{"execute":"guest-ping"}' >/dev/null && break; sleep 0.1; done
ok "$(agent "$A" '{"execute":"guest-ping"}' >/dev/null; echo $?)" "the guest runs on A, its agent answers ($(since "$T0") s)" ||
    { tail -5 "$D/console-0.log"; exit 1; }
# The counter: "SW-TICK <n> <uptime>" on the serial console every 0.2 s.
tick='i=0; while :; do i=$((i+1)); echo "SW-TICK $i $(cut -d" " -f1 /proc/uptime)" >/dev/ttyS0; sleep 0.2; done'
agent "$A" "$(jq -nc --arg c "$tick" '{execute:"guest-exec",arguments:{path:"/bin/sh",arg:["-c",$c]}}')" >/dev/null
ticks() { grep -a '^SW-TICK ' "$1" 2>/dev/null | tr -d '\r'; }
last_tick() { ticks "$1" | tail -1 | awk '{print $2, $3}'; }
first_tick() { ticks "$1" | head -1 | awk '{print $2, $3}'; }
# wait_ticks LOG N: until LOG shows at least N ticks
wait_ticks() { for _ in $(seq 300); do [ "$(ticks "$1" | wc -l)" -ge "$2" ] && return 0; sleep 0.1; done; return 1; }
ok "$(wait_ticks "$D/console-0.log" 5; echo $?)" "the guest counts on its console: $(last_tick "$D/console-0.log")"

has_dom() { virsh -q -c "$1" list --all --name | grep -qx "$DOM"; }
state_of() { virsh -q -c "$1" domstate "$DOM" 2>/dev/null; }
persistent_on() { virsh -q -c "$1" dominfo "$DOM" 2>/dev/null | awk '/^Persistent:/{print $2}'; }
# dest_xml URI LOG: the domain's migratable XML with its console log at LOG
dest_xml() { virsh -q -c "$1" dumpxml --migratable "$DOM" | sed "s|<log file='[^']*'|<log file='$2'|" >"$D/dest.xml"; }
P2P_A=$SW_LV_P2P_URI P2P_B=$SW_LV_PEER_P2P_URI
# mig FROM TO_P2P LOG OPTS...: sw_migrate_run, its output in $D/mig.out/err
n_log=0
mig() {
    local from=$1 to=$2 log=$3
    shift 3
    dest_xml "$from" "$log"
    "$prog" "$from" "$ID" "$to" migrate_uri=tcp://127.0.0.1 xml="$D/dest.xml" shared=1 unsafe=1 \
        downtime=300 "$@" ${SW_MIG_OPTS:-} >"$D/mig.out" 2>"$D/mig.err"
}
fig() { sed -n "s/.*$1=\([-0-9.]*\).*/\1/p" "$D/mig.out"; }

# 1. Live, A -> B, while it counts.
n_log=$((n_log + 1)) LOG_B=$D/console-$n_log.log
mig "$A" "$P2P_B" "$LOG_B"; rc=$?
ok "$rc" "sw_migrate_run A -> B: $(cat "$D/mig.out") $(cat "$D/mig.err")"
before=$(last_tick "$D/console-0.log")
wait_ticks "$LOG_B" 5
after=$(first_tick "$LOG_B")
ok "$(! has_dom "$A" && [ "$(state_of "$B")" = running ] && [ "$(persistent_on "$B")" = yes ]; echo $?)" \
    "A has no domain; B's is running and persistent ($(state_of "$B"), persistent $(persistent_on "$B"))"
ok "$(awk -v b="$before" -v a="$after" 'BEGIN { split(b, x, " "); split(a, y, " ");
        exit !(y[1] > x[1] && y[1] - x[1] <= 3 && y[2] > x[2] && y[2] - x[2] <= 3) }'; echo $?)" \
    "the counter goes on on B: last on A '$before', first on B '$after' (tick, guest uptime)"
ok "$(! grep -aq 'SLIPWAY-GUEST\|Linux version\|SYSLINUX' "$LOG_B"; echo $?)" "B's console shows no boot, only ticks ($(ticks "$LOG_B" | wc -l) so far)"
# (libvirt reconnects to the agent on the target once the guest runs there)
for _ in $(seq 100); do agent "$B" '{"execute":"guest-ping"}' >/dev/null && break; sleep 0.1; done
ok "$(agent "$B" '{"execute":"guest-ping"}' >/dev/null; echo $?)" "the guest agent answers on B"
ok "$(awk '{for (i = 1; i <= NF; i++) if ($i ~ /^reports=/) { split($i, r, "="); exit !(r[2] >= 1) } exit 1 }' "$D/mig.out"; echo $?)" \
    "progress was reported from the job's statistics ($(grep -o 'reports=[0-9]* last=[0-9/]*' "$D/mig.out"))"
MINE_DT=$(fig downtime_ms) MINE_TT=$(fig total_ms)
ok "$([ "${MINE_DT:--1}" -ge 0 ] && [ "${MINE_TT:--1}" -gt 0 ]; echo $?)" \
    "the completed job's figures were read on B: downtime $MINE_DT ms, total $MINE_TT ms"

# 2. A target that does not answer.
"$prog" "$B" "$ID" "qemu+unix:///system?socket=$D/nowhere.sock" shared=1 unsafe=1 >"$D/mig.out" 2>"$D/mig.err"; rc=$?
ok "$([ "$rc" = 4 ] && grep -q 'the target node is unreachable' "$D/mig.err" && [ "$(state_of "$B")" = running ]; echo $?)" \
    "a target that does not answer: exit $rc, $(cut -c1-160 "$D/mig.err"); still running on B"

# 3. B -> A at 1 MiB/s, cancelled from another thread once data moves.
n_log=$((n_log + 1))
t=$(date +%s.%N)
mig "$B" "$P2P_A" "$D/console-$n_log.log" bandwidth=1 cancel_after=2; rc=$?
ok "$([ "$rc" = 3 ] && grep -q 'cancelling after' "$D/mig.err" && grep -q 'the migration was cancelled' "$D/mig.err"; echo $?)" \
    "a slowed migration cancelled midway fails: exit $rc after $(since "$t") s, $(tr '\n' ' ' <"$D/mig.err" | cut -c1-220)"
n0=$(last_tick "$LOG_B")
wait_ticks "$LOG_B" $(($(ticks "$LOG_B" | wc -l) + 3))
ok "$([ "$(state_of "$B")" = running ] && ! has_dom "$A" && [ "$(persistent_on "$B")" = yes ]; echo $?)" \
    "the guest still runs on B ($(state_of "$B")), A has no domain"
ok "$(awk -v b="$n0" -v a="$(last_tick "$LOG_B")" 'BEGIN { split(b, x, " "); split(a, y, " "); exit !(y[1] > x[1]) }'; echo $?)" \
    "and it keeps counting on B: '$n0' then '$(last_tick "$LOG_B")'"

# 4. Figures: sw_migrate_run and virsh migrate --live --p2p, alternating
# directions (B -> A, A -> B, ...); the first of ours is step 1's.
ROUNDS=${SW_MIG_ROUNDS:-3}
mine_dt="$MINE_DT" mine_tt="$MINE_TT" virsh_dt="" virsh_tt="" at=B
other() { [ "$1" = A ] && echo B || echo A; }
uri_of() { [ "$1" = A ] && echo "$A" || echo "$B"; }
p2p_of() { [ "$1" = A ] && echo "$P2P_A" || echo "$P2P_B"; }
# jobinfo URI: "DOWNTIME TOTAL" (ms) of the completed job (read once: virsh
# drops the completed job's statistics as it reads them)
jobinfo() { virsh -q -c "$1" domjobinfo --completed "$DOM" | awk -F: '
    $1 == "Total downtime" { gsub(/[^0-9]/, "", $2); d = $2 } $1 == "Time elapsed" { gsub(/[^0-9]/, "", $2); t = $2 }
    END { print d, t }'; }
k=0
while [ "$k" -lt $((2 * ROUNDS - 1)) ]; do
    to=$(other "$at")
    n_log=$((n_log + 1)) log=$D/console-$n_log.log
    if [ $((k % 2)) = 0 ]; then
        dest_xml "$(uri_of "$at")" "$log"
        t=$(date +%s.%N)
        virsh -q -c "$(uri_of "$at")" migrate --live --p2p --persistent --undefinesource --unsafe "$DOM" \
            "$(p2p_of "$to")" --migrateuri tcp://127.0.0.1 --xml "$D/dest.xml" >"$D/virsh.out" 2>&1
        rc=$? wall=$(since "$t")
        read -r dt tt <<<"$(jobinfo "$(uri_of "$to")")"
        virsh_dt="$virsh_dt $dt" virsh_tt="$virsh_tt $tt"
        ok "$rc" "virsh migrate --live --p2p $at -> $to: downtime $dt ms, total $tt ms, virsh's wall time $wall s $(cat "$D/virsh.out")"
    else
        mig "$(uri_of "$at")" "$(p2p_of "$to")" "$log"; rc=$?
        mine_dt="$mine_dt $(fig downtime_ms)" mine_tt="$mine_tt $(fig total_ms)"
        ok "$rc" "sw_migrate_run $at -> $to: $(cat "$D/mig.out") $(cat "$D/mig.err")"
    fi
    [ "$rc" = 0 ] && at=$to
    k=$((k + 1))
done
wait_ticks "$log" 3
ok "$(has_dom "$(uri_of "$at")" && ! has_dom "$(uri_of "$(other "$at")")" && [ "$(ticks "$log" | wc -l)" -ge 3 ] &&
    ! grep -aq 'SLIPWAY-GUEST' "$log"; echo $?)" \
    "after $n_log moves the guest runs once, on $at, still counting without a boot: $(last_tick "$log")"

# 5. Stopped: an offline move of its definition, no boot.
virsh -q -c "$(uri_of "$at")" destroy "$DOM" >/dev/null
to=$(other "$at")
n_log=$((n_log + 1))
mig "$(uri_of "$at")" "$(p2p_of "$to")" "$D/console-$n_log.log"; rc=$?
ok "$([ "$rc" = 0 ] && grep -q '^how=offline' "$D/mig.out" && ! has_dom "$(uri_of "$at")" &&
    [ "$(state_of "$(uri_of "$to")")" = "shut off" ] && [ "$(persistent_on "$(uri_of "$to")")" = yes ]; echo $?)" \
    "the stopped guest moves offline $at -> $to: defined there, shut off, gone from $at ($(cat "$D/mig.out" "$D/mig.err" | tr '\n' ' '))"
# 6. The test driver (behind node A's daemon, its stock domain "test") refuses, naming why.
"$prog" "$SW_LV_TEST_URI" 6695eb01-f6a4-8304-79aa-97f2502e193f "$P2P_B" >"$D/mig.out" 2>"$D/mig.err"; rc=$?
ok "$([ "$rc" = 5 ] && grep -q "libvirt's test driver cannot migrate domains" "$D/mig.err"; echo $?)" \
    "a test-driver node refuses: exit $rc, $(cut -c1-120 "$D/mig.err")"

median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2); else print "-" }'; }
echo "# sw_migrate_run: downtime ms [$mine_dt ] median $(median <<<"$mine_dt"), total ms [$mine_tt ] median $(median <<<"$mine_tt")"
echo "# virsh migrate --live --p2p: downtime ms [$virsh_dt ] median $(median <<<"$virsh_dt"), total ms [$virsh_tt ] median $(median <<<"$virsh_tt")"
echo "# $pass passed, $fail failed; whole test $(since "$T0") s"
[ "$fail" = 0 ] || { tail -n 20 "$D/a/libvirtd.log" "$D/b/libvirtd.log"; exit 1; }
exit 0
