#!/usr/bin/env bash
# sw-test: real-guest (scripts/test runs it in the sanitizer half only)
# snapshot_real.sh - a snapshot reverts a real guest's disk (issue 14),
# through the whole stack on real QEMU (TCG) as `scripts/up --qemu` makes it
# (scripts/lib/qemu.sh: private libvirtd, node qemu1, the tiny images as
# templates). One hvm server of tests/images boots; a first marker is
# written on its disk (/dev/vda, past the image's end, through
# qemu-guest-agent: the tiny guest's serial console has no shell, it only
# prints its facts), a snapshot is taken through the API (the guest agent
# freezes its filesystems, the job's note says so), a second marker
# replaces the first, the server is reverted through the API, and after the
# guest booted again on the snapshot's disk the first marker is read back.
# The snapshot is the libvirt internal snapshot sw-<server>-snap-<id> of
# its qcow2 root, and its delete removes it. Skips (77) where no private
# libvirtd or QEMU can run.
. "$(dirname "$0")/../lib/harness.sh"
. "$SW_SRCDIR/scripts/lib/qemu.sh"
sw_qemu_check || { echo "SKIP: $SW_QEMU_WHY"; exit 77; }
T0=$(date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
trap 'rc=$?; sw_qemu_down "$SW_T_DIR"; (exit $rc); sw_t_cleanup' EXIT
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
export SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8 SLIPWAY_ORDER_RATE=0
export SLIPWAY_IMAGES_DIR=$SW_T_DIR/images SLIPWAY_USAGE_INTERVAL=60
sw_t_panel
sw_t_daemon prov slipway-provisioner
sw_qemu_up "$SW_T_DIR" "$SW_URL" "$OP" "$SW_BUILDDIR" || { echo "FAIL - the real-guest stack: $SW_QEMU_WHY"; exit 1; }
. "$SW_T_DIR/qemu/env"
URI=$SW_QEMU_URI CTOK=$SW_QEMU_CTOK
echo "# stack with node qemu1 up in $(since "$T0") s"

j() { jq -r "$1" <<<"$SW_BODY"; }
api() { sw_t_api "$@"; }
agent() { virsh -c "$URI" qemu-agent-command "sw-$1" "$2" 2>/dev/null; }
agent_up() { agent "$1" '{"execute":"guest-ping"}' >/dev/null; }
# guest_exec ID ARG...: busybox ARG... in the guest, waited for.
guest_exec() {
    local id=$1 pid args
    shift
    args=$(printf '%s\n' "$@" | jq -R . | jq -sc .)
    pid=$(agent "$id" "{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"/bin/busybox\",\"arg\":$args,\"capture-output\":true}}" | jq -r .return.pid) || return 1
    for _ in $(seq 100); do
        agent "$id" "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":$pid}}" |
            jq -e .return.exited >/dev/null && return 0
        sleep 0.1
    done
    return 1
}
# guest_write ID OFFSET TEXT: TEXT on /dev/vda at OFFSET, flushed to the disk.
guest_write() {
    local h
    h=$(agent "$1" '{"execute":"guest-file-open","arguments":{"path":"/dev/vda","mode":"r+"}}' | jq -r .return) || return 1
    agent "$1" "{\"execute\":\"guest-file-seek\",\"arguments\":{\"handle\":$h,\"offset\":$2,\"whence\":\"set\"}}" >/dev/null &&
        agent "$1" "{\"execute\":\"guest-file-write\",\"arguments\":{\"handle\":$h,\"buf-b64\":\"$(printf %s "$3" | base64)\"}}" >/dev/null
    agent "$1" "{\"execute\":\"guest-file-close\",\"arguments\":{\"handle\":$h}}" >/dev/null
    guest_exec "$1" sync -d /dev/vda
}
# guest_read ID OFFSET COUNT: bytes of /dev/vda, read past the page cache
# (dropped first).
guest_read() {
    local h
    guest_exec "$1" sh -c 'echo 3 > /proc/sys/vm/drop_caches' || return 1
    h=$(agent "$1" '{"execute":"guest-file-open","arguments":{"path":"/dev/vda","mode":"r"}}' | jq -r .return) || return 1
    agent "$1" "{\"execute\":\"guest-file-seek\",\"arguments\":{\"handle\":$h,\"offset\":$2,\"whence\":\"set\"}}" >/dev/null
    agent "$1" "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":$h,\"count\":$3}}" | jq -r '.return["buf-b64"]' | base64 -d | tr -d '\0'
    agent "$1" "{\"execute\":\"guest-file-close\",\"arguments\":{\"handle\":$h}}" >/dev/null
}
job_done() { api GET "/v1/jobs/$1" "$CTOK"; case $(j .state) in succeeded | failed | dead) return 0 ;; esac; return 1; }
lv_snaps() { virsh -c "$URI" snapshot-list "sw-$1" --name 2>/dev/null | sed '/^$/d' | tr '\n' ' '; }

api POST /v1/orders "$CTOK" "{\"plan_id\":\"$SW_QEMU_PLAN_HVM\",\"template_id\":\"$SW_QEMU_TPL_HVM\",\"location_id\":\"$SW_QEMU_LOC\",\"hostname\":\"snap-1.example.com\"}"
sw_t_eq "the hvm order is accepted" 202 "$SW_STATUS"
ID=$(j .server.id)
T1=$(date +%s.%N)
sw_t_check "the guest agent answers (booted)" sw_t_wait "agent" 240 agent_up "$ID" || sw_t_done
echo "# booted in $(since "$T1") s"

OFF=$((768 * 1024 * 1024))
sw_t_check "a first marker is written on the guest's disk" guest_write "$ID" "$OFF" "MARKER-ONE"
sw_t_eq "and read back" MARKER-ONE "$(guest_read "$ID" "$OFF" 16)"

T2=$(date +%s.%N)
api POST "/v1/servers/$ID/snapshots" "$CTOK" '{"name":"before the change"}'
sw_t_eq "the snapshot is accepted" 202 "$SW_STATUS"
SID=$(j .snapshot.id) JOB=$(j .job.id)
sw_t_wait "the snapshot job" 60 job_done "$JOB"
sw_t_eq "the snapshot job succeeds, the guest frozen through its agent ($(since "$T2") s)" \
    "succeeded disk only; filesystems frozen through the guest agent" "$(j .state) $(j .note)"
api GET "/v1/servers/$ID/snapshots/$SID" "$CTOK"
SIZE=$(j .size_bytes)
echo "# snapshot size: $SIZE bytes (the root's allocation growth)"
sw_t_eq "the snapshot is ready, with the root's allocation growth as its size" "ready true" \
    "$(j .state) $(j '.size_bytes >= 0')"
sw_t_eq "libvirt holds it on the domain" "sw-$ID-snap-$SID " "$(lv_snaps "$ID")"
root=$(virsh -c "$URI" vol-path --pool slipway "sw-$ID-root-0.qcow2")
sw_t_check "as an internal snapshot of the qcow2 root" \
    sh -c "qemu-img snapshot -U -l '$root' | grep -q 'sw-$ID-snap-$SID'"
sw_t_check "the guest still answers after the thaw" agent_up "$ID"

sw_t_check "a second marker replaces the first" guest_write "$ID" "$OFF" "MARKER-TWO"
sw_t_eq "and is read back" MARKER-TWO "$(guest_read "$ID" "$OFF" 16)"

T3=$(date +%s.%N)
api POST "/v1/servers/$ID/snapshots/$SID/revert" "$CTOK"
sw_t_eq "the revert is accepted" 202 "$SW_STATUS"
RJOB=$(j .job.id)
sw_t_wait "the revert job" 60 job_done "$RJOB"
sw_t_eq "the revert succeeds and boots the guest again on the snapshot's disk" \
    "succeeded reverted the disk; the guest booted again on it" "$(j .state) $(j .note)"
sw_t_check "the guest agent answers again" sw_t_wait "agent after revert" 240 agent_up "$ID"
echo "# reverted and booted again in $(since "$T3") s"
sw_t_eq "the first marker is back" MARKER-ONE "$(guest_read "$ID" "$OFF" 16)"
api GET "/v1/servers/$ID" "$CTOK"
sw_t_eq "the server is running" running "$(j .state)"

api DELETE "/v1/servers/$ID/snapshots/$SID" "$CTOK"
DJOB=$(j .job.id)
sw_t_wait "the delete job" 60 job_done "$DJOB"
sw_t_eq "the delete succeeds and the snapshot leaves the qcow2" "succeeded  0" \
    "$(j .state) $(lv_snaps "$ID") $(qemu-img snapshot -U -l "$root" | grep -c "sw-$ID-snap-")"
echo "# total $(since "$T0") s"
sw_t_done
