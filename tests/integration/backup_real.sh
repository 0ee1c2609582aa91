#!/usr/bin/env bash
# sw-test: real-guest (scripts/test runs it in the sanitizer half only)
# backup_real.sh - backups of a real QEMU guest through the whole stack
# (issue 14): the panel and provisioner of tests/lib/harness.sh, node qemu1
# of `scripts/up --qemu` (scripts/lib/qemu.sh) and a dir target. One hvm
# server is ordered as a customer; through the API:
#   1. a marker is written on its disk (guest agent), the guest paused and
#      its disk copied (the backup's moment), then a full backup: it
#      completes with the disk's size, its manifest is on the target, the
#      engine left one checkpoint and no scratch volume;
#   2. a policy keeping the last backup, a second marker, the disk copied
#      again, an incremental backup: its parent is the first, it stored a
#      small part of what the full did, and retention deleted the first
#      (manifest gone from the target, row deleted, 404);
#   3. a third marker, then the incremental (its parent deleted) is restored onto the server
#      (target same): the job succeeds, the domain boots from a new root
#      volume named from the restore job, the old one is gone, the volume
#      equals the copy of step 2 (qemu-img compare) and holds the second
#      marker but not the third; the guest runs again (agent answers);
#   4. a backup while the target folder is unreachable (replaced by a
#      file) fails saying so and leaves no scratch volume or checkpoint of
#      its own; with the folder back the next one completes (full: the
#      restore dropped the checkpoints), a fourth marker written and the
#      disk copied at its moment;
#   5. the server terminated, that last backup restored as a new server
#      (target new): 202 {order, server, job, restored_from}, its create
#      succeeds noting the backup, its root is the create's
#      (sw-<new>-root-0) and equals the copy of step 4 (qemu-img compare),
#      the guest boots and its agent reads the fourth marker (and the
#      second) off its disk, not the third; restore.completed is emitted;
#      the order is billed (its row, a draft invoice line for the new server).
#   6. every chunk on the target altered: another restore as a new server
#      fails its create naming a chunk that failed its checksum; the server
#      is failed, its claim released, no volume of it left on the node.
# Skips (77) where no private libvirtd or QEMU can run.
. "$(dirname "$0")/../lib/harness.sh"
. "$SW_SRCDIR/tests/lib/qstack.sh"
sw_qs_on_fail() { echo "---- the engine's backup lines ----"; grep -ah "backup\|job.failed" "$SW_T_DIR"/qemu/log/engine-*.log 2>/dev/null | tail -20; }
sw_qs_start
echo "# stack with node qemu1 up in $(since "$T0") s"

# marker_at PATH OFFSET TEXT: TEXT when it is there (qemu-io's dump shows letters only)
marker_at() { qemu-io -U -r -f qcow2 -c "read -v $2 16" "$1" 2>&1 | grep -o "$3" | head -1; }

T=$SW_T_DIR/backups
mkdir -p "$T"
api POST /v1/admin/backup-targets "$OP" "{\"name\":\"local\",\"kind\":\"dir\",\"config\":{\"path\":\"$T\"},\"on_node_ok\":true,\"is_default\":true}"
sw_t_eq "the default dir target" 201 "$SW_STATUS"

api POST /v1/orders "$SW_QEMU_CTOK" "{\"plan_id\":\"$SW_QEMU_PLAN_HVM\",\"template_id\":\"$SW_QEMU_TPL_HVM\",\"location_id\":\"$SW_QEMU_LOC\",\"hostname\":\"bk-1.example.com\"}"
sw_t_eq "the hvm order is accepted" 202 "$SW_STATUS"
ID=$(j .server.id)
sw_t_check "its guest agent answers (booted) after $(since "$T0") s" sw_t_wait "agent" 240 agent_up "$ID"
ACCOUNT=$(sql "select owner_id from servers where id = '$ID'")

MB=$((1024 * 1024))
OFF1=$((600 * MB)) OFF2=$((700 * MB)) OFF3=$((800 * MB))
# backup_at COPY BODY: pauses the guest, copies its disk (the backup's
# moment), resumes it once the backup job has begun, waits for the job.
backup_at() {
    local root
    root=$(path_of "$(root_of "$ID")")
    virsh -c "$URI" suspend "sw-$ID" >/dev/null
    qemu-img convert -U -O raw "$root" "$1"
    api POST "/v1/servers/$ID/backups" "$SW_QEMU_CTOK" "$2"
    BK=$(j .backup.id) BJ=$(j .job.id) BSTATUS=$SW_STATUS
    [ "$SW_STATUS" = 202 ] || { virsh -c "$URI" resume "sw-$ID" >/dev/null; echo "# backup refused: $SW_BODY"; return 1; }
    begun() { api GET "/v1/backups/$BK" "$SW_QEMU_CTOK"; [ "$(j .state)" != pending ]; }
    sw_t_wait "backup $BK begun" 60 begun >/dev/null
    sleep 1 # the export is set up while the guest is paused
    virsh -c "$URI" resume "sw-$ID" >/dev/null
    sw_t_wait "backup $BK" 120 job_done "$BJ" >/dev/null
    api GET "/v1/backups/$BK" "$SW_QEMU_CTOK"
}

# 1. full
guest_write "$ID" /dev/vda "$OFF1" "MARKERONE"
t=$(date +%s.%N)
backup_at "$SW_T_DIR/t1.raw" ""
B1=$BK
echo "# full backup in $(since "$t") s"
sw_t_eq "a full backup: 202, then completed with the disk's size" "202 completed full 1073741824" \
    "$BSTATUS $(j '[.state, .kind, (.bytes_logical | tostring)] | join(" ")')$(j 'if .error then " " + .error else "" end')"
[ "$(j .state)" = completed ] || { sw_qs_on_fail; sw_t_done; }
STORED1=$(j .bytes_stored)
echo "# full: stored $STORED1 bytes"
sw_t_check "its manifest is on the target" test -s "$T/$ACCOUNT/manifests/$B1"
sw_t_eq "the engine left one checkpoint (the backup's) and no scratch volume" \
    "sw-$ID-ckp-$B1 0" "$(virsh -c "$URI" checkpoint-list "sw-$ID" --name | sed '/^$/d' | tr '\n' ' ')$(scratch)"

# 2. incremental, with a policy keeping the last one (its window away from
# now, so the scheduler stays out of the test)
H=$(date -u +%H | sed 's/^0//')
api PUT "/v1/servers/$ID/backup-policy" "$SW_QEMU_CTOK" "{\"keep_last\":1,\"keep_daily\":0,\"keep_weekly\":0,\"window_start\":$(( (H + 2) % 22 )),\"window_end\":$(( (H + 2) % 22 + 1 ))}"
sw_t_eq "a policy keeping the last backup" "200 1" "$SW_STATUS $(j .keep_last)"
guest_write "$ID" /dev/vda "$OFF2" "MARKERTWO"
t=$(date +%s.%N)
backup_at "$SW_T_DIR/t2.raw" ""
B2=$BK
echo "# incremental backup in $(since "$t") s"
sw_t_eq "the next backup is incremental to the first, completed" "completed incremental $B1" \
    "$(j '[.state, .kind, .parent_id] | join(" ")')$(j 'if .error then " " + .error else "" end')"
STORED2=$(j .bytes_stored)
echo "# incremental: stored $STORED2 bytes (full: $STORED1)"
sw_t_check "it stored under 5% of what the full did" test "$((STORED2 * 20))" -lt "$STORED1"
sw_t_eq "retention deleted the first: its manifest gone from the target, its row deleted" "0 deleted 1" \
    "$(ls "$T/$ACCOUNT/manifests/" | grep -c "$B1") $(sql "select state from backups where id = '$B1'") $(ls "$T/$ACCOUNT/manifests/" | grep -c "$B2")"
api GET "/v1/backups/$B1" "$SW_QEMU_CTOK"
sw_t_eq "a deleted backup is not found" 404 "$SW_STATUS"

# 3. restore the incremental onto the server
guest_write "$ID" /dev/vda "$OFF3" "MARKERTHREE"
OLD=$(root_of "$ID")
t=$(date +%s.%N)
api POST "/v1/backups/$B2/restore" "$SW_QEMU_CTOK" '{"target":"same"}'
sw_t_eq "restore (target same): 202 with a restore job" "202 restore" "$SW_STATUS $(j .job.type)"
RJ=$(j .job.id)
sw_t_wait "restore" 180 job_done "$RJ" >/dev/null
echo "# restore in $(since "$t") s"
sw_t_eq "the restore succeeded" succeeded "$(j '.state + (if .error then ": " + (.error | tostring) else "" end)')"
NEW=$(root_of "$ID")
sw_t_eq "the domain boots from a new root named from the restore job" "sw-$ID-root-$RJ.qcow2" "$NEW"
sw_t_check "the old root ($OLD) is gone" sh -c "! virsh -c '$URI' vol-list slipway | grep -q '$OLD'"
NP=$(path_of "$NEW")
sw_t_eq "the restored disk holds the second marker, not the third" "MARKERTWO " \
    "$(marker_at "$NP" "$OFF2" MARKERTWO) $(marker_at "$NP" "$OFF3" MARKERTHREE)"
virsh -c "$URI" suspend "sw-$ID" >/dev/null 2>&1
sw_t_check "the restored disk equals the disk at the incremental's moment (qemu-img compare)" \
    qemu-img compare -q -U -f raw -F qcow2 "$SW_T_DIR/t2.raw" "$NP"
virsh -c "$URI" resume "sw-$ID" >/dev/null 2>&1
sw_t_check "the restored guest runs (agent answers)" sw_t_wait "agent after restore" 240 agent_up "$ID"
api GET "/v1/servers/$ID" "$SW_QEMU_CTOK"
sw_t_eq "the server is running, its recorded root the new volume" "running $NEW" \
    "$(j .state) $(sql "select volume from server_disks where server_id = '$ID' and role = 'root'")"

# 4. the target unreachable (its folder replaced by a file): the backup
# fails naming the target, leaves no scratch volume nor checkpoint of its
# own; with the folder back the next one completes, full (the restore
# dropped the checkpoints, said in the job's note).
mv "$T" "$T.away" && touch "$T"
api POST "/v1/servers/$ID/backups" "$SW_QEMU_CTOK" ""
B3=$(j .backup.id)
sw_t_wait "backup 3" 120 job_done "$(j .job.id)" >/dev/null
api GET "/v1/backups/$B3" "$SW_QEMU_CTOK"
sw_t_eq "with the target unreachable the backup fails, saying so" "failed true" \
    "$(j .state) $(j '.error // "" | test("target|backup|write|directory|folder"; "i")')"
echo "# its error: $(j .error)"
sw_t_eq "and leaves no scratch volume nor checkpoint of its own" "0 0" \
    "$(scratch) $(virsh -c "$URI" checkpoint-list "sw-$ID" --name | grep -c "$B3")"
rm -f "$T" && mv "$T.away" "$T"
OFF4=$((900 * MB))
guest_write "$ID" /dev/vda "$OFF4" "MARKERFOUR"
backup_at "$SW_T_DIR/t4.raw" ""
B4=$BK
sw_t_eq "with the target back the next backup completes, full after the restore" "completed full" \
    "$(j .state) $(j .kind)"
api GET "/v1/jobs/$BJ" "$SW_QEMU_CTOK"
echo "# its note: $(j .note)"

# 5. the server terminated, its last backup restored as a new server
T5=$(date +%s.%N)
api DELETE "/v1/servers/$ID" "$SW_QEMU_CTOK"
sw_t_wait "terminate" 120 job_done "$(j .job.id)" >/dev/null
sw_t_eq "the server is terminated" "succeeded terminated" "$(j .state) $(sql "select state from servers where id = '$ID'")"
t=$(date +%s.%N)
api POST "/v1/backups/$B4/restore" "$SW_QEMU_CTOK" '{"target":"new","hostname":"bk-2.example.com"}'
sw_t_eq "restore as a new server: 202 {order, server, job, restored_from}" "202 $B4 $B4 create bk-2.example.com" \
    "$SW_STATUS $(j '[.restored_from, .server.restored_from, .job.type, .server.hostname] | join(" ")')"
NID=$(j .server.id) NJ=$(j .job.id) ORD=$(j .order.id)
sw_t_wait "the restoring create" 300 job_done "$NJ" >/dev/null
echo "# restore as a new server: create done in $(since "$t") s"
sw_t_eq "its create succeeded, noting the backup" "succeeded restored from backup $B4" \
    "$(j '.state + (if .error then ": " + (.error | tostring) else "" end)') $(j .note)"
api GET "/v1/servers/$NID" "$SW_QEMU_CTOK"
sw_t_eq "the new server runs, restored from the backup" "running $B4" "$(j .state) $(j .restored_from)"
NROOT=$(root_of "$NID")
sw_t_eq "it boots from the create's root" "sw-$NID-root-0.qcow2" "$NROOT"
virsh -c "$URI" suspend "sw-$NID" >/dev/null 2>&1
sw_t_check "its root equals the disk at the backup's moment (qemu-img compare)" \
    qemu-img compare -q -U -f raw -F qcow2 "$SW_T_DIR/t4.raw" "$(path_of "$NROOT")"
virsh -c "$URI" resume "sw-$NID" >/dev/null 2>&1
sw_t_check "its guest boots (agent answers) after $(since "$t") s" sw_t_wait "agent of the new server" 240 agent_up "$NID"
# disk_read ID OFFSET COUNT: COUNT bytes at OFFSET of /dev/vda, NULs left out
disk_read() { guest_read "$1" /dev/vda "$2" "$3" | tr -d '\0'; }
sw_t_eq "the guest reads the fourth and second markers off its disk, not the third" "MARKERFOUR MARKERTWO ." \
    "$(disk_read "$NID" "$OFF4" 10) $(disk_read "$NID" "$OFF2" 9) $(disk_read "$NID" "$OFF3" 11 | grep -c MARKERTHREE | sed 's/^0$/./')"
sw_t_eq "restore.completed for it, to the owner" "1" \
    "$(sql "select count(*) from events where type = 'restore.completed' and data->>'backup_id' = '$B4' and data->'job'->>'id' = '$NJ' and account_id = '$ACCOUNT'")"
slipwayctl invoice run --draft >/dev/null
sw_t_eq "the order is billed: its row, a server line on the draft invoice" "1 1" \
    "$(sql "select count(*) from orders where id = '$ORD' and server_id = '$NID'") $(sql "select count(*) > 0 from invoice_lines where server_id = '$NID' and kind = 'server'" | sed 's/t/1/; s/f/0/')"

# 6. a chunk altered on the target: the restoring create fails naming it
tamper_chunks "$T/$ACCOUNT/chunks"
api POST "/v1/backups/$B4/restore" "$SW_QEMU_CTOK" '{"target":"new","hostname":"bk-3.example.com"}'
FID=$(j .server.id)
sw_t_wait "the failing create" 120 job_done "$(j .job.id)" >/dev/null
sw_t_eq "an altered chunk fails the create, naming it" "failed true" \
    "$(j .state) $(j '.error.message // "" | test("chunk [0-9a-f]{64} at offset [0-9]+ failed its checksum")')"
echo "# its error: $(j .error.message)"
sw_t_eq "the server failed, its claim released, no volume of it left" "failed 0 0" \
    "$(sql "select state from servers where id = '$FID'") $(sql "select count(*) from allocations where server_id = '$FID'") $(virsh -c "$URI" vol-list slipway | grep -c "sw-$FID")"

echo "# steps 5 and 6 in $(since "$T5") s"
echo "# whole test $(since "$T0") s"
sw_t_done
