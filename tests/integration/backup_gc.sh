#!/usr/bin/env bash
# backup_gc.sh - deleting backups, garbage collection under the per-account
# lock, and backup storage on invoices (migration 0028, provisioner/README.md
# "Backup garbage collection", billing/README.md rule 6), against real
# PostgreSQL, Redis, the panel, the provisioner and a dir target. The test
# driver cannot take backups, so the repository is written with the backup
# library (test_backup_targets) under the account's key, which the test
# wraps with the master key as the provisioner would (test_backup_gc); the
# node runs no engine: its jobs are read off its stream and answered here.
#   - DELETE /v1/backups/{id}: another customer 404; a backup being made
#     409; one a queued restore will read 409; a completed one 204, gone
#     from every route (a second DELETE is 404), deleted_at stamped, the
#     account due for gc;
#   - gc waits while a job of the account's backups runs (the backup, then
#     the restore), then removes the deleted manifest and exactly the chunks
#     no live manifest names (files counted before and after, bytes
#     recorded); the incremental whose parent went still restores byte for
#     byte and backup-scrub verifies every chunk;
#   - while gc holds the account (here: mid-pass, blocked on a row this
#     test keeps locked), a new backup job waits queued and goes once gc
#     ended; retention's deletions (a backup result's "deleted") are
#     collected too;
#   - billing: a terminated server's backups on the invoices of the months
#     after its termination, at its last period's price, to the minor unit.
. "$(dirname "$0")/../lib/harness.sh"
skip() { echo "SKIP: $*"; exit 77; }
TB=$SW_BUILDDIR/tests/integration/test_backup_targets
TG=$SW_BUILDDIR/tests/integration/test_backup_gc
[ -x "$TB" ] && [ -x "$TG" ] || skip "test_backup_targets or test_backup_gc is not built"
command -v jq >/dev/null || skip "jq is not installed"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
export SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8 SLIPWAY_ORDER_RATE=0
export SLIPWAY_BACKUP_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
sw_t_panel

j() { jq -r "$1" <<<"$SW_BODY"; }
api() { sw_t_api "$@"; }
sql() { sw_t_psql -c "$1"; }
customer() { # email -> token
    api POST /v1/admin/accounts "$OP" "{\"kind\":\"customer\",\"email\":\"$1\",\"name\":\"c\",\"password\":\"c-secret-pw\"}"
    api POST /v1/auth/login "" "{\"email\":\"$1\",\"password\":\"c-secret-pw\"}"
    j .token
}
C1=$(customer c1@example.com) C2=$(customer c2@example.com)
A=$(sql "select id from accounts where email = 'c1@example.com'")
api POST /v1/admin/locations "$OP" '{"code":"fra1","name":"Frankfurt"}'
LOC=$(j .id)
api POST /v1/admin/nodes "$OP" "{\"name\":\"n1\",\"location_id\":\"$LOC\",\"engine_uri\":\"test:///default\",\"kinds\":[\"hvm\"],\"cpus\":8,\"ram_mb\":16384,\"disk_gb\":500}"
N1=$(j .id)
api POST /v1/admin/plans "$OP" '{"name":"hvm-s","kind":"hvm","vcpus":1,"ram_mb":512,"disk_gb":10,"price_hourly":{"amount":0,"currency":"EUR"},"price_monthly":{"amount":0,"currency":"EUR"}}'
PLAN=$(j .id)
api POST /v1/admin/plans "$OP" '{"name":"hvm-x","kind":"hvm","vcpus":1,"ram_mb":512,"disk_gb":10,"price_hourly":{"amount":0,"currency":"EUR"},"price_monthly":{"amount":0,"currency":"EUR"},"price_backup_gb_month":{"amount":1,"currency":"USD"}}'
sw_t_eq "a new plan whose backup price is in another currency: 400, no plan made" "400 0" \
    "$SW_STATUS $(sql "select count(*) from plans where name = 'hvm-x'")"
api PATCH "/v1/admin/plans/$PLAN" "$OP" '{"price_backup_gb_month":{"amount":3000,"currency":"USD"}}'
sw_t_eq "a plan's backup price in another currency than the plan's: 400" 400 "$SW_STATUS"
api PATCH "/v1/admin/plans/$PLAN" "$OP" '{"price_backup_gb_month":{"amount":3000,"currency":"EUR"}}'
sw_t_eq "an operator sets a plan's backup price per GB-month" "200 3000 EUR" \
    "$SW_STATUS $(j '.price_backup_gb_month.amount') $(j '.price_backup_gb_month.currency')"
api POST /v1/admin/templates "$OP" '{"name":"blank","kind":"hvm","os":"blank"}'
TPL=$(j .id)
T=$SW_T_DIR/backups
api POST /v1/admin/backup-targets "$OP" "{\"name\":\"local\",\"kind\":\"dir\",\"config\":{\"path\":\"$T\"},\"on_node_ok\":true,\"is_default\":true}"
TID=$(j .id)
order() { # hostname -> server id, running on N1
    api POST /v1/orders "$C1" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"$1\"}"
    local s
    s=$(j .server.id)
    sql "UPDATE jobs SET state = 'succeeded', finished_at = now() WHERE server_id = '$s';
         UPDATE servers SET state = 'running', node_id = '$N1' WHERE id = '$s'" >/dev/null
    echo "$s"
}
SRV=$(order g1.example.com)
# A real hypervisor URI, no engine: jobs stay on the node's stream.
sql "UPDATE nodes SET engine_uri = 'qemu:///system' WHERE id = '$N1'" >/dev/null

# ---- the repository: the account's key, three backups written for real ----
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$SW_T_DIR/key"
sql "INSERT INTO account_backup_keys (account_id, key_wrapped) VALUES ('$A', '$("$TG" wrap "$SW_T_DIR/key")')" >/dev/null
printf '{"kind":"dir","path":"%s"}' "$T" >"$SW_T_DIR/target.json"
tb() { "$TB" "$SW_T_DIR/target.json" "$SW_T_DIR/key" "$@"; }
python3 - "$SW_T_DIR" <<'PY'
import os, sys
d, chunk = sys.argv[1], 4 << 20
one = bytearray(os.urandom(3 * chunk))
open(f"{d}/b1.img", "wb").write(one)
one[chunk:chunk + 4096] = os.urandom(4096)  # chunk 1 changes
open(f"{d}/b2.img", "wb").write(one)
open(f"{d}/b3.img", "wb").write(os.urandom(2 * chunk))
PY
B1=$(cat /proc/sys/kernel/random/uuid) B2=$(cat /proc/sys/kernel/random/uuid)
B3=$(cat /proc/sys/kernel/random/uuid)
tb write "$A" "$SRV" "$B1" "$SW_T_DIR/b1.img" >/dev/null &&
    tb write "$A" "$SRV" "$B2" "$SW_T_DIR/b2.img" "$B1" >/dev/null &&
    tb write "$A" "$SRV" "$B3" "$SW_T_DIR/b3.img" >/dev/null || exit 99
for b in "$B1 full" "$B2 incremental" "$B3 full"; do
    set -- $b
    sql "INSERT INTO backups (id, server_id, account_id, target_id, kind, state, bytes_logical,
             bytes_stored, manifest, completed_at)
         VALUES ('$1', '$SRV', '$A', '$TID', '$2', 'completed', 12582912, 1000, '$A/manifests/$1', now())" >/dev/null
done
sql "UPDATE backups SET parent_id = '$B1' WHERE id = '$B2'" >/dev/null
chunks() { find "$T/$A/chunks" -type f ! -name '*.tmp-*' | wc -l; }
manifest() { [ -f "$T/$A/manifests/$1" ]; }
C1_1=$T/$(tb chunk "$A" "$B1" 1) C2_1=$T/$(tb chunk "$A" "$B2" 1)
sw_t_eq "the repository: 3 + 1 + 2 chunks (the incremental adds its changed chunk)" 6 "$(chunks)"

export SLIPWAY_BACKUP_GC_INTERVAL=1 SLIPWAY_BACKUP_SCHEDULER_INTERVAL=0
sw_t_daemon prov env SLIPWAY_CONSUMER=prov-gc slipway-provisioner
due() { sql "select (due_at is not null)::text from backup_gc_accounts where account_id = '$A'"; }
runs() { sql "select count(*) from backup_gc_runs where account_id = '$A'"; }
# The node's stream: the jobs sent to it (a job may be sent twice), and the
# last message of one job.
node_msgs() { sw_t_redis --raw XRANGE "node:$N1" - + | grep '^{'; }
sent() { node_msgs | jq -r .job_id | sort -u | wc -l; }
xlen_is() { [ "$(sent)" = "$1" ]; }
nonce_of() { node_msgs | jq -r "select(.job_id == \"$1\") | .nonce" | tail -1; }

# ---- DELETE ----
del() { api DELETE "/v1/backups/$1" "$2"; }
del "$B1" "$C2"
sw_t_eq "another customer's backup: 404" 404 "$SW_STATUS"
api POST "/v1/servers/$SRV/backups" "$C1"
B4=$(j .backup.id) J4=$(j .job.id)
sw_t_check "a backup job reaches the node (running)" sw_t_wait "node job" 20 xlen_is 1
del "$B4" "$C1"
sw_t_eq "a backup being made: 409" "409 the backup is running: it can be deleted once its job ended" \
    "$SW_STATUS $(j .error.message)"
api POST "/v1/backups/$B2/restore" "$C1" '{"target":"same"}'
JR=$(j .job.id)
sw_t_eq "a restore of the incremental, queued behind the backup" "202 queued" "$SW_STATUS $(j .job.state)"
del "$B2" "$C1"
sw_t_eq "the backup a queued restore will read: 409" 409 "$SW_STATUS"
del "$B1" "$C1"
sw_t_eq "a completed backup: 204" 204 "$SW_STATUS"
api GET "/v1/backups/$B1" "$C1"
sw_t_eq "gone from the API" 404 "$SW_STATUS"
del "$B1" "$C1"
sw_t_eq "a second DELETE: 404" 404 "$SW_STATUS"
sw_t_eq "the row: deleted, deleted_at stamped; the account due for gc" "deleted true true" \
    "$(sql "select state || ' ' || (deleted_at is not null) from backups where id = '$B1'") $(due)"
sw_t_eq "the DELETE is audited (204 and the 409s)" "1 2" \
    "$(sql "select count(*) filter (where status = 204 and object_id = '$B1') || ' ' || count(*) filter (where status = 409) from audit_log where action like 'DELETE %backups%'")"

# ---- gc waits for the account's running jobs ----
sleep 3
sw_t_eq "gc waits while the account's backup runs: manifest kept, no run, still due" \
    "kept 0 true" "$(manifest "$B1" && echo kept) $(runs) $(due)"
# Between the backup's end and the restore's start no job of the account
# runs, and gc may rightly go then (the restore reads B2, whose manifest
# and chunks it keeps); CI under load saw it do so. The account is kept
# from being due over that gap, and due again once the restore runs.
sql "UPDATE backup_gc_accounts SET due_at = NULL WHERE account_id = '$A'" >/dev/null
sw_t_redis XADD "results:$N1" '*' m "{\"job_id\":\"$J4\",\"server_id\":\"$SRV\",\"node_id\":\"$N1\",\"type\":\"backup\",\"ok\":true,\"domain_state\":\"running\",\"nonce\":\"$(nonce_of "$J4")\",\"backup\":{\"incremental\":false,\"bytes_logical\":12582912,\"bytes_read\":12582912,\"bytes_stored\":1000,\"checkpoint\":\"\"}}" >/dev/null
sw_t_check "the backup ends; the restore goes to the node" sw_t_wait "restore job" 20 xlen_is 2
sql "UPDATE backup_gc_accounts SET due_at = now() WHERE account_id = '$A'" >/dev/null
sleep 3
sw_t_eq "gc waits while the restore runs too" "running kept 0 true" \
    "$(sql "select state from jobs where id = '$JR'") $(manifest "$B1" && echo kept) $(runs) $(due)"
sql "UPDATE jobs SET state = 'succeeded', finished_at = now() WHERE id = '$JR'" >/dev/null
ran() { [ "$(runs)" = "$1" ]; }
sw_t_check "then gc runs" sw_t_wait "gc run 1" 20 ran 1
sw_t_eq "the deleted manifest is gone from the target" gone "$(manifest "$B1" || echo gone)"
SIZE1=$(stat -c %s "$C2_1" 2>/dev/null)
sw_t_eq "exactly B1's own chunk went (6 -> 5): the shared ones and B2's new one stay" \
    "5 gone there" "$(chunks) $([ -f "$C1_1" ] || echo gone) $([ -f "$C2_1" ] && echo there)"
sw_t_eq "the run is recorded: 1 manifest removed, 2 live, 5 chunks kept, 1 deleted, no error" \
    "1 2 5 1 true" "$(sql "select manifests_removed || ' ' || manifests || ' ' || chunks_kept || ' ' || chunks_deleted || ' ' || (error is null) from backup_gc_runs where account_id = '$A'")"
sw_t_eq "with the bytes it freed (a sealed 4 MiB random chunk: about its size)" t \
    "$(sql "select bytes_deleted between 4194304 and 4194304 + 4096 from backup_gc_runs where account_id = '$A'")"
sw_t_eq "due cleared, lock released (running_since empty)" "false t" \
    "$(due) $(sql "select running_since is null from backup_gc_accounts where account_id = '$A'")"
grep -q "backup.gc .*account=$A .*chunks_deleted=1" "$SW_T_DIR/prov.log"
sw_t_eq "gc logs what it removed" 0 $?
tb restore "$A" "$B2" "$SW_T_DIR/b2.out" && cmp -s "$SW_T_DIR/b2.out" "$SW_T_DIR/b2.img"
sw_t_eq "the incremental whose parent was deleted restores byte for byte" 0 $?
out=$(slipwayctl backup-scrub "$A" --target "$SW_T_DIR/target.json" --key-file "$SW_T_DIR/key" 2>&1)
sw_t_eq "backup-scrub: every chunk of the live manifests verifies" 0 $?
echo "# $out" | tail -1

# ---- a DELETE racing a restore's transaction ----
# This session does what a restore's transaction does (the backup's row
# shared, its job inserted) and commits 3 s later; the DELETE made meanwhile
# waits for it and then sees the job.
JX=$(cat /proc/sys/kernel/random/uuid)
sw_t_psql -c "BEGIN" -c "SELECT 1 FROM backups WHERE id = '$B3' FOR SHARE" \
    -c "INSERT INTO jobs (id, server_id, account_id, type, params) VALUES ('$JX', '$SRV', '$A', 'restore', '{\"backup_id\": \"$B3\"}')" \
    -c "SELECT pg_sleep(3)" -c "COMMIT" >/dev/null &
RACE=$!
# the DELETE goes once that session holds the row (it is in its sleep):
# a fixed 0.5 s was too short under CI's load (the DELETE came first, 204)
racing() { [ "$(sql "select count(*) from pg_stat_activity where query = 'SELECT pg_sleep(3)'")" = 1 ]; }
sw_t_wait "the restore's transaction" 10 racing || exit 99
t0=$SECONDS
del "$B3" "$C1"
wait "$RACE"
sw_t_eq "a DELETE while a restore's transaction holds the backup waits for it, then 409" \
    "409 true" "$SW_STATUS $([ $((SECONDS - t0)) -ge 1 ] && echo true)"
sql "UPDATE jobs SET state = 'failed', finished_at = now() WHERE id = '$JX'" >/dev/null

# ---- a backup waits while gc holds the account ----
KEY="sw_backup_gc_lock_key('$A')"
# While this session holds the account's lock, the provisioner's gc skips
# it; meanwhile B3 is deleted and another session locks B3's row, so the
# gc that starts once the first lets go holds the account mid-pass.
sw_t_psql -c "SELECT pg_advisory_lock($KEY)" -c "SELECT pg_sleep(4)" >/dev/null &
HOLD1=$!
held() { [ "$(sql "select count(*) from pg_locks where locktype = 'advisory' and granted and objid = ($KEY & 4294967295)::oid")" = 1 ]; }
sw_t_wait "the first session's lock" 10 held || exit 99
del "$B3" "$C1"
sw_t_eq "B3 deleted: 204" 204 "$SW_STATUS"
sw_t_psql -c "BEGIN" -c "SELECT 1 FROM backups WHERE id = '$B3' FOR SHARE" -c "SELECT pg_sleep(9)" -c "COMMIT" >/dev/null &
HOLD2=$!
gc_holds() { [ "$(sql "select holder from backup_gc_accounts where account_id = '$A' and running_since is not null")" = prov-gc ]; }
sw_t_check "gc holds the account (running_since, holder)" sw_t_wait "gc holding" 15 gc_holds
api POST "/v1/servers/$SRV/backups" "$C1"
B5=$(j .backup.id) J5=$(j .job.id)
sleep 2
sw_t_eq "a backup queued meanwhile waits: job queued, backup pending, nothing sent to the node" \
    "queued pending 2" "$(sql "select j.state || ' ' || b.state from jobs j, backups b where j.id = '$J5' and b.id = '$B5'") $(sent)"
grep -q "job.waiting job=$J5 .*garbage collection holds" "$SW_T_DIR/prov.log"
sw_t_eq "the provisioner says why" 0 $?
wait "$HOLD1" "$HOLD2"
sw_t_check "once gc ended, the backup job goes to the node" sw_t_wait "backup job 5" 20 xlen_is 3
sw_t_eq "gc removed B3's manifest and its 2 chunks (5 -> 3)" "2 gone 3" \
    "$(runs) $(manifest "$B3" || echo gone) $(chunks)"

# ---- retention's deletions are collected ----
sw_t_redis XADD "results:$N1" '*' m "{\"job_id\":\"$J5\",\"server_id\":\"$SRV\",\"node_id\":\"$N1\",\"type\":\"backup\",\"ok\":true,\"domain_state\":\"running\",\"nonce\":\"$(nonce_of "$J5")\",\"backup\":{\"incremental\":false,\"bytes_logical\":12582912,\"bytes_read\":12582912,\"bytes_stored\":1000,\"checkpoint\":\"\",\"deleted\":[\"$B2\"]}}" >/dev/null
sw_t_check "a result naming B2 deleted by retention: gc runs again" sw_t_wait "gc run 3" 20 ran 3
sw_t_eq "B2 deleted (stamped), its manifest and its 3 chunks gone: none left" "deleted true gone 0" \
    "$(sql "select state || ' ' || (deleted_at is not null) from backups where id = '$B2'") $(manifest "$B2" || echo gone) $(chunks)"

# ---- billing: a terminated server's backups ----
SB=$(order gone.example.com)
sql "UPDATE servers SET state = 'terminated' WHERE id = '$SB';
     DELETE FROM server_periods WHERE server_id = '$SB';
     INSERT INTO server_periods (server_id, plan_id, price_hourly, price_monthly, price_bandwidth_gb,
         bandwidth_gb, price_disk_gb_month, price_snapshot_gb_month, price_backup_gb_month, currency,
         started_at, ended_at)
     VALUES ('$SB', '$PLAN', 0, 0, 0, 0, 0, 0, 3000, 'EUR', '2026-10-01Z', '2026-10-16Z');
     INSERT INTO backups (id, server_id, account_id, target_id, state, bytes_stored, completed_at)
     VALUES (gen_random_uuid(), '$SB', '$A', '$TID', 'completed', 2000000000, '2026-10-01Z'),
            (gen_random_uuid(), '$SB', '$A', '$TID', 'completed', 1000000000, '2026-10-11Z');
     UPDATE backups SET state = 'deleted', deleted_at = '2026-11-16Z'
      WHERE server_id = '$SB' AND bytes_stored = 1000000000" >/dev/null
for p in 2026-10 2026-11; do slipwayctl invoice run --draft --period $p >/dev/null || exit 99; done
line() { sql "select l.kind || ' ' || l.quantity || ' ' || l.unit_price || ' ' || l.amount from invoice_lines l join invoices i on i.id = l.invoice_id where i.period = '$1' and l.server_id = '$SB' and l.kind = 'backup'"; }
# October: 2 GB all month + 1 GB for 21 of 31 days at 30.00/GB-month:
# 6000 + 3000 x 21/31 = 8032.258 -> 8032; on average 2,677,419,354.8 bytes.
sw_t_eq "October (terminated mid-month): 8032 for 2.68 GB on average" \
    "backup 2677419354 3000 8032" "$(line 2026-10)"
# November: the server is gone, its backups are not: 2 GB all month and 1 GB
# until the 16th (15 of 30 days): 6000 + 1500.
sw_t_eq "November (terminated before it): the backups alone, 7500 for 2.5 GB" \
    "backup 2500000000 3000 7500" "$(line 2026-11)"
sw_t_eq "November's invoice carries that line alone, at the last period's price" "1 7500" \
    "$(sql "select count(*) || ' ' || sum(l.amount) from invoice_lines l join invoices i on i.id = l.invoice_id where i.period = '2026-11' and i.account_id = '$A'")"
sw_t_done
