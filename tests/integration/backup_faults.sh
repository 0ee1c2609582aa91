#!/usr/bin/env bash
# sw-test: real-guest (scripts/test runs it in the sanitizer half only)
# backup_faults.sh - backups of a real QEMU guest under faults (issue 14),
# on the stack of backup_real.sh (node qemu1 of `scripts/up --qemu`, a dir
# target), one hvm server reused throughout:
#   1. 96 MiB of random data written on its disk (so a full backup takes
#      seconds), then a full backup: GET /v1/jobs/{id} shows progress_bytes
#      with 0 < done < total while it runs; the engine is killed (-9) right
#      then (its libvirt backup job, scratch volume and checkpoint left
#      behind), and started again: the job ends (its replay cleans up
#      first and completes, or it fails cleanly), progress done = total
#      when it succeeded, no scratch volume, at most the completed backup's
#      checkpoint;
#   2. a marker, the disk copied at the next backup's moment, an
#      incremental backup after the crash: read back from the target with
#      every chunk verified (test_backup_targets restore), it equals that
#      copy (cmp); its note says the (paused) guest was not frozen, the
#      first's that it was;
#   3. one chunk of it corrupted on the target: a restore onto the server
#      fails naming the chunk and leaves its root alone; `slipwayctl
#      backup-scrub` exits 1 naming it;
#   4. the account's wrapped key replaced in PostgreSQL by another key's: a
#      backup and a restore are refused ("backup key"), nothing is written
#      on the target.
# Skips (77) where no private libvirtd or QEMU can run.
. "$(dirname "$0")/../lib/harness.sh"
. "$SW_SRCDIR/tests/lib/qstack.sh"
sw_qs_on_fail() { echo "---- the engine's backup lines ----"; grep -ah "backup\|progress\|job.failed" "$SW_T_DIR"/qemu/log/engine-*.log 2>/dev/null | tail -25; }
# A killed engine's pending job comes back to the restarted one this soon.
export SLIPWAY_CLAIM_IDLE_MS=3000
sw_qs_start
Q=$SW_T_DIR/qemu
echo "# stack with node qemu1 up in $(since "$T0") s"

checkpoints() { virsh -c "$URI" checkpoint-list "sw-$1" --name | sed '/^$/d' | tr '\n' ' '; }
engine_pid() { cat "$Q/run/engine-qemu1.pid"; }
# The account's key, unwrapped with the master key (libsodium through
# ctypes: crypto_secretbox, base64 of nonce || box, core/bkkey.c), as hex;
# `wrap HEX` wraps another one the same way.
sodium() {
    python3 - "$SLIPWAY_BACKUP_MASTER_KEY" "$@" <<'EOF'
import base64, ctypes, os, sys
s = ctypes.CDLL("libsodium.so.23")
assert s.sodium_init() >= 0
master = base64.b64decode(sys.argv[1])
if sys.argv[2] == "unwrap":
    box = base64.b64decode(sys.argv[3])
    out = ctypes.create_string_buffer(len(box) - 40)
    assert s.crypto_secretbox_open_easy(out, box[24:], ctypes.c_ulonglong(len(box) - 24), box[:24], master) == 0
    print(out.raw.hex())
else:
    plain, nonce = bytes.fromhex(sys.argv[3]), os.urandom(24)
    out = ctypes.create_string_buffer(len(plain) + 16)
    assert s.crypto_secretbox_easy(out, plain, ctypes.c_ulonglong(len(plain)), nonce, master) == 0
    print(base64.b64encode(nonce + out.raw).decode())
EOF
}
TB=$SW_BUILDDIR/tests/integration/test_backup_targets

T=$SW_T_DIR/backups
mkdir -p "$T"
api POST /v1/admin/backup-targets "$OP" "{\"name\":\"local\",\"kind\":\"dir\",\"config\":{\"path\":\"$T\"},\"on_node_ok\":true,\"is_default\":true}"
sw_t_eq "the default dir target" 201 "$SW_STATUS"
echo "{\"kind\":\"dir\",\"path\":\"$T\"}" >"$SW_T_DIR/target.json"

api POST /v1/orders "$SW_QEMU_CTOK" "{\"plan_id\":\"$SW_QEMU_PLAN_HVM\",\"template_id\":\"$SW_QEMU_TPL_HVM\",\"location_id\":\"$SW_QEMU_LOC\",\"hostname\":\"bkf-1.example.com\"}"
sw_t_eq "the hvm order is accepted" 202 "$SW_STATUS"
ID=$(j .server.id)
sw_t_check "its guest agent answers (booted) after $(since "$T0") s" sw_t_wait "agent" 240 agent_up "$ID"
ACCOUNT=$(sql "select owner_id from servers where id = '$ID'")
MB=$((1024 * 1024))

# ---- 1. progress, and the engine killed mid-backup ----
t=$(date +%s.%N)
sw_t_check "96 MiB of random data written on the guest's disk" \
    guest_run "$ID" 120 sh -c "dd if=/dev/urandom of=/dev/vda bs=1M seek=256 count=96 && sync"
echo "# written in $(since "$t") s"
api POST "/v1/servers/$ID/backups" "$SW_QEMU_CTOK" ""
B1=$(j .backup.id) J1=$(j .job.id)
sw_t_eq "a backup is accepted" 202 "$SW_STATUS"
# mid JOB: the job shows 0 < done < total (bytes); MID holds what it showed.
mid() { api GET "/v1/jobs/$1" "$SW_QEMU_CTOK"; MID=$(j '"\(.progress_bytes.done) \(.progress_bytes.total) \(.progress) \(.state)"');
    j '.progress_bytes.done > 0 and .progress_bytes.done < .progress_bytes.total and .state == "running"' | grep -qx true; }
t=$(date +%s.%N)
sw_t_check "GET /v1/jobs/{id} shows progress mid-backup (0 < done < total)" sw_t_wait "progress" 120 mid "$J1"
echo "# mid-backup after $(since "$t") s: done total progress state = $MID"
[ "${MID%% *}" != null ] || sw_t_done
read -r DONE TOTAL PCT _ <<<"$MID"
sw_t_eq "progress is the percentage of the bytes" "$((DONE * 100 / TOTAL))" "$PCT"
kill -9 "$(engine_pid)"
sleep 0.5
echo "# engine killed; left behind: checkpoints [$(checkpoints "$ID")] scratch volumes $(scratch)"
sw_t_check "the killed engine left its scratch volume (the fault is real)" test "$(scratch)" -ge 1
sw_qemu_node "$Q" "$SW_BUILDDIR" qemu1 "$SW_LV_URI" '["hvm","pv"]' slipway "$Q/pool" || exit 99
t=$(date +%s.%N)
sw_t_check "the job ends after the engine's restart" sw_t_wait "backup 1 after the crash" 180 job_done "$J1"
S1=$(j .state)
echo "# ended $S1 in $(since "$t") s; note: $(j .note); error: $(j .error)"
if [ "$S1" = succeeded ]; then
    sw_t_eq "it succeeded in its first attempt (the replay), progress done = total, 100%" "1 true 100" \
        "$(j .attempts) $(j '.progress_bytes.done == .progress_bytes.total') $(j .progress)"
    sw_t_check "its note says it cleaned up the interrupted run" grep -q "leftovers of an interrupted backup" <<<"$(j .note)"
    sw_t_check "and that the running guest was frozen through its agent" grep -q "filesystems frozen through the guest agent" <<<"$(j .note)"
    WANT_CKP="sw-$ID-ckp-$B1 "
else
    sw_t_eq "it failed cleanly (the backup failed with it)" "failed" "$(sql "select state from backups where id = '$B1'")"
    WANT_CKP=
fi
sw_t_eq "no scratch volume, no checkpoint but the completed backup's" "0 $WANT_CKP" "$(scratch) $(checkpoints "$ID")"

echo "# at $(since "$T0") s"
# ---- 2. the next incremental is correct ----
OFF2=$((700 * MB))
guest_write "$ID" /dev/vda "$OFF2" "MARKERTWO"
root=$(path_of "$(root_of "$ID")")
virsh -c "$URI" suspend "sw-$ID" >/dev/null
qemu-img convert -U -O raw "$root" "$SW_T_DIR/t2.raw"
api POST "/v1/servers/$ID/backups" "$SW_QEMU_CTOK" ""
B2=$(j .backup.id) J2=$(j .job.id)
begun() { api GET "/v1/backups/$B2" "$SW_QEMU_CTOK"; [ "$(j .state)" != pending ]; }
sw_t_wait "backup 2 begun" 60 begun >/dev/null
sleep 1 # the export is set up while the guest is paused
virsh -c "$URI" resume "sw-$ID" >/dev/null
sw_t_wait "backup 2" 120 job_done "$J2" >/dev/null
N2=$(j .note)
echo "# backup 2: $(j .state); note: $N2"
api GET "/v1/backups/$B2" "$SW_QEMU_CTOK"
WANT_KIND=$([ "$S1" = succeeded ] && echo "incremental $B1" || echo "full ")
sw_t_eq "the backup after the crash completes ($WANT_KIND)" "completed $WANT_KIND" "$(j '[.state, .kind, (.parent_id // "")] | join(" ")')"
sw_t_check "its note says the guest was not frozen, being paused" grep -q "not frozen: the guest was paused" <<<"$N2"
sql "select key_wrapped from account_backup_keys where account_id = '$ACCOUNT'" >"$SW_T_DIR/wrapped"
(umask 077 && sodium unwrap "$(cat "$SW_T_DIR/wrapped")" >"$SW_T_DIR/key")
t=$(date +%s.%N)
sw_t_check "read back from the target, every chunk verified" \
    "$TB" "$SW_T_DIR/target.json" "$SW_T_DIR/key" restore "$ACCOUNT" "$B2" "$SW_T_DIR/r2.raw"
echo "# read back in $(since "$t") s"
sw_t_check "it equals the disk at the backup's moment" cmp -s "$SW_T_DIR/t2.raw" "$SW_T_DIR/r2.raw"
rm -f "$SW_T_DIR/r2.raw"

echo "# at $(since "$T0") s"
# ---- 3. a chunk corrupted on the target ----
IDX=$((256 * MB / (4 * MB))) # the first chunk of the random data (the full's, kept by the incremental)
CH=$("$TB" "$SW_T_DIR/target.json" "$SW_T_DIR/key" chunk "$ACCOUNT" "$B2" "$IDX")
CID=$(basename "$CH")
sw_t_check "its chunk $IDX is stored ($CID)" test -s "$T/$CH"
cp "$T/$CH" "$SW_T_DIR/chunk.good"
printf 'X' | dd of="$T/$CH" bs=1 seek=100 conv=notrunc status=none
OLD=$(root_of "$ID")
api POST "/v1/backups/$B2/restore" "$SW_QEMU_CTOK" '{"target":"same"}'
RJ=$(j .job.id)
sw_t_wait "restore of a corrupted backup" 120 job_done "$RJ" >/dev/null
sw_t_eq "the restore fails naming the chunk" "failed true" "$(j .state) $(jq -r --arg c "$CID" '.error.message // "" | contains($c)' <<<"$SW_BODY")"
echo "# its error: $(j .error.message); its progress: $(j -c .progress_bytes)"
sw_t_eq "its job shows how far it wrote (0 < done < total = the disk's size)" "true 1073741824" \
    "$(j '.progress_bytes.done > 0 and .progress_bytes.done < .progress_bytes.total') $(j .progress_bytes.total)"
sw_t_eq "and leaves the server's root alone" "$OLD" "$(root_of "$ID")"
out=$(slipwayctl backup-scrub "$ACCOUNT" --target "$SW_T_DIR/target.json" --key-file "$SW_T_DIR/key" 2>&1); rc=$?
sw_t_check "slipwayctl backup-scrub exits 1 naming the chunk ($rc)" sh -c "[ $rc = 1 ] && grep -q '$CID' <<'EOF'
$out
EOF"
cp "$SW_T_DIR/chunk.good" "$T/$CH"

echo "# at $(since "$T0") s"
# ---- 4. a wrong account key ----
WRONG=$(sodium wrap "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')")
sql "update account_backup_keys set key_wrapped = '$WRONG' where account_id = '$ACCOUNT'" >/dev/null
listing() { find "$T/$ACCOUNT" -type f -printf '%P %s %T@\n' | sort | md5sum; }
BEFORE=$(listing)
api POST "/v1/servers/$ID/backups" "$SW_QEMU_CTOK" ""
B5=$(j .backup.id)
sw_t_wait "backup with a wrong key" 120 job_done "$(j .job.id)" >/dev/null
sw_t_eq "a backup with the wrong key is refused, saying so" "failed true" "$(j .state) $(j '.error.message // "" | test("backup key")')"
echo "# its error: $(j .error.message)"
api POST "/v1/backups/$B2/restore" "$SW_QEMU_CTOK" '{"target":"same"}'
sw_t_wait "restore with a wrong key" 120 job_done "$(j .job.id)" >/dev/null
sw_t_eq "a restore with the wrong key is refused, saying so" "failed true" "$(j .state) $(j '.error.message // "" | test("backup key")')"
sw_t_eq "nothing was written on the target, the root is the same" "$BEFORE $OLD" "$(listing) $(root_of "$ID")"
sw_t_eq "the refused backup's row failed" failed "$(sql "select state from backups where id = '$B5'")"
sw_t_eq "no scratch volume is left" 0 "$(scratch)"

echo "# whole test $(since "$T0") s"
sw_t_done
