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
. "$SW_SRCDIR/tests/lib/qstack.sh"
sw_qs_start 60
CTOK=$SW_QEMU_CTOK
echo "# stack with node qemu1 up in $(since "$T0") s"

# disk_read ID OFFSET COUNT: bytes of /dev/vda, read past the page cache
# (dropped first), NULs left out.
disk_read() {
    guest_run "$1" 10 sh -c 'echo 3 > /proc/sys/vm/drop_caches' || return 1
    guest_read "$1" /dev/vda "$2" "$3" | tr -d '\0'
}
lv_snaps() { virsh -c "$URI" snapshot-list "sw-$1" --name 2>/dev/null | sed '/^$/d' | tr '\n' ' '; }

api POST /v1/orders "$CTOK" "{\"plan_id\":\"$SW_QEMU_PLAN_HVM\",\"template_id\":\"$SW_QEMU_TPL_HVM\",\"location_id\":\"$SW_QEMU_LOC\",\"hostname\":\"snap-1.example.com\"}"
sw_t_eq "the hvm order is accepted" 202 "$SW_STATUS"
ID=$(j .server.id)
T1=$(date +%s.%N)
sw_t_check "the guest agent answers (booted)" sw_t_wait "agent" 240 agent_up "$ID" || sw_t_done
echo "# booted in $(since "$T1") s"

OFF=$((768 * 1024 * 1024))
sw_t_check "a first marker is written on the guest's disk" guest_write "$ID" /dev/vda "$OFF" "MARKER-ONE"
sw_t_eq "and read back" MARKER-ONE "$(disk_read "$ID" "$OFF" 16)"

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

sw_t_check "a second marker replaces the first" guest_write "$ID" /dev/vda "$OFF" "MARKER-TWO"
sw_t_eq "and is read back" MARKER-TWO "$(disk_read "$ID" "$OFF" 16)"

T3=$(date +%s.%N)
api POST "/v1/servers/$ID/snapshots/$SID/revert" "$CTOK"
sw_t_eq "the revert is accepted" 202 "$SW_STATUS"
RJOB=$(j .job.id)
sw_t_wait "the revert job" 60 job_done "$RJOB"
sw_t_eq "the revert succeeds and boots the guest again on the snapshot's disk" \
    "succeeded reverted the disk; the guest booted again on it" "$(j .state) $(j .note)"
sw_t_check "the guest agent answers again" sw_t_wait "agent after revert" 240 agent_up "$ID"
echo "# reverted and booted again in $(since "$T3") s"
sw_t_eq "the first marker is back" MARKER-ONE "$(disk_read "$ID" "$OFF" 16)"
api GET "/v1/servers/$ID" "$CTOK"
sw_t_eq "the server is running" running "$(j .state)"

api DELETE "/v1/servers/$ID/snapshots/$SID" "$CTOK"
DJOB=$(j .job.id)
sw_t_wait "the delete job" 60 job_done "$DJOB"
sw_t_eq "the delete succeeds and the snapshot leaves the qcow2" "succeeded  0" \
    "$(j .state) $(lv_snaps "$ID") $(qemu-img snapshot -U -l "$root" | grep -c "sw-$ID-snap-")"
echo "# total $(since "$T0") s"
sw_t_done
