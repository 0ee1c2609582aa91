#!/usr/bin/env bash
# sw-test: real-guest (scripts/test runs it in the sanitizer half only)
# backup_lxc.sh - backups of a container through the whole stack (issue 14):
# the panel and provisioner of tests/lib/harness.sh, node lxc1 of
# `scripts/up --qemu` (scripts/lib/qemu.sh; libvirt's LXC driver) and a dir
# target. A container is ordered as a customer; through the API:
#   1. a marker written into it, a backup (empty body): completed, full, the
#      job's note saying it was paused for the clone and read in full;
#   2. the marker changed, a second backup: completed, full again (a
#      container leaves no checkpoint), storing a small part of the first's
#      bytes;
#   3. the first restored onto the server (target same): the job succeeds,
#      the container runs from a new raw root named from the restore job in
#      pool ct, the old one gone, and the first marker is back;
#   4. the second backup restored as a new server on a plan of a 2 GB disk:
#      the create succeeds, its note saying the filesystem was grown; the
#      new container runs with the new host name in /etc/hostname, the new
#      server's id as its seed's instance id and its addresses in the
#      seed's network-config, the second marker in its root, and a root
#      filesystem of the plan's disk;
#   5. every chunk altered on the target: another restore as a new server
#      fails its create naming a chunk, its claim released, nothing of it
#      left on the node.
# Skips (77) where no private libvirtd or LXC driver can run.
. "$(dirname "$0")/../lib/harness.sh"
. "$SW_SRCDIR/tests/lib/qstack.sh"
sw_qs_start
[ -n "${SW_QEMU_LXC_URI:-}" ] || { echo "SKIP: no LXC node here (libvirt's LXC driver is not installed)"; exit 77; }
URI=$SW_QEMU_LXC_URI
echo "# stack with node lxc1 up in $(since "$T0") s"

ct_ready() { local p; p=$(ct_pid "$1") && [ -n "$p" ] && [ "$(nsenter -t "$p" -u hostname 2>/dev/null)" = "${2:-bk-ct.example.com}" ]; }
ct_vols() { virsh -c "$URI" vol-list ct 2>/dev/null | awk -v p="sw-$1-" 'index($1, p) == 1 { print $1 }' | tr '\n' ' '; }
marker() { cat "/proc/$(ct_pid "${1:-$ID}")/root/root/marker" 2>/dev/null; }
# backup: POST an empty body, wait for the job; the backup's row in SW_BODY.
backup() {
    api POST "/v1/servers/$ID/backups" "$SW_QEMU_CTOK" ""
    BK=$(j .backup.id) BJ=$(j .job.id) BSTATUS=$SW_STATUS
    [ "$BJ" = null ] || sw_t_wait "backup $BK" 120 job_done "$BJ" >/dev/null
    NOTE=$(j '.note // ""')
    api GET "/v1/backups/$BK" "$SW_QEMU_CTOK"
}

T=$SW_T_DIR/backups
mkdir -p "$T"
api POST /v1/admin/backup-targets "$OP" "{\"name\":\"local\",\"kind\":\"dir\",\"config\":{\"path\":\"$T\"},\"on_node_ok\":true,\"is_default\":true}"
sw_t_eq "the default dir target" 201 "$SW_STATUS"
api POST /v1/orders "$SW_QEMU_CTOK" "{\"plan_id\":\"$SW_QEMU_PLAN_CT\",\"template_id\":\"$SW_QEMU_TPL_CT\",\"location_id\":\"$SW_QEMU_LOC\",\"hostname\":\"bk-ct.example.com\"}"
sw_t_eq "the container order is accepted" 202 "$SW_STATUS"
ID=$(j .server.id)
sw_t_check "its init runs with the ordered hostname after $(since "$T0") s" sw_t_wait "container" 120 ct_ready "$ID"
# the container can run before its create's result reaches the provisioner:
# a backup is taken of a running server only (409 before)
running() { api GET "/v1/servers/$1" "$SW_QEMU_CTOK"; [ "$(j .state)" = running ]; }
sw_t_check "and the API says it runs" sw_t_wait "server running" 60 running "$ID"
OLD=$(ct_vols "$ID")

# 1. a backup of the running container
echo "first backup" >"/proc/$(ct_pid "$ID")/root/root/marker"
t=$(date +%s.%N)
backup
B1=$BK
echo "# first backup in $(since "$t") s: $NOTE"
sw_t_eq "a backup: 202, then completed, full" "202 completed full" \
    "$BSTATUS $(j '[.state, .kind] | join(" ")')$(j 'if .error then " " + .error else "" end')"
STORED1=$(j .bytes_stored)
sw_t_check "its note says the container was paused for the clone and read in full ($NOTE)" \
    sh -c "echo '$NOTE' | grep -q 'paused for [0-9]* ms while its root was cloned; full read; $STORED1 bytes new'"
sw_t_eq "no scratch volume left, the root unchanged" "$OLD" "$(ct_vols "$ID")"

# 2. the marker changed, a second backup
echo "second backup" >"/proc/$(ct_pid "$ID")/root/root/marker"
t=$(date +%s.%N)
backup
B2=$BK
echo "# second backup in $(since "$t") s: $NOTE"
STORED2=$(j .bytes_stored)
sw_t_eq "the second backup completed, full (no checkpoint to be incremental to)" "completed full" \
    "$(j '[.state, .kind] | join(" ")')"
sw_t_check "it stored $STORED2 bytes, under 5% of the first's $STORED1" test "$((STORED2 * 20))" -lt "$STORED1"

# 3. the first restored onto the server
t=$(date +%s.%N)
api POST "/v1/backups/$B1/restore" "$SW_QEMU_CTOK" '{"target":"same"}'
sw_t_eq "restore (target same): 202 with a restore job" "202 restore" "$SW_STATUS $(j .job.type)"
RJ=$(j .job.id)
[ "$RJ" = null ] || sw_t_wait "restore" 180 job_done "$RJ" >/dev/null
echo "# restore in $(since "$t") s"
sw_t_eq "the restore succeeded" succeeded "$(j '.state + (if .error then ": " + (.error | tostring) else "" end)')"
sw_t_eq "the container runs from a new raw root named from the restore job, the old one gone" \
    "sw-$ID-root-${RJ:0:8}.raw " "$(ct_vols "$ID")"
sw_t_check "it runs again" sw_t_wait "container after restore" 120 ct_ready "$ID"
sw_t_eq "the first marker is back" "first backup" "$(marker)"

# 4. the second backup restored as a new server, on a plan of a larger disk
T4=$(date +%s.%N)
api POST /v1/admin/plans "$OP" '{"name":"small-container-bk","kind":"container","vcpus":1,"ram_mb":256,"disk_gb":2,"price_hourly":{"amount":1,"currency":"EUR"},"price_monthly":{"amount":500,"currency":"EUR"}}'
PLAN2=$(j .id)
t=$(date +%s.%N)
api POST "/v1/backups/$B2/restore" "$SW_QEMU_CTOK" "{\"target\":\"new\",\"hostname\":\"bk-ct-2.example.com\",\"plan_id\":\"$PLAN2\"}"
sw_t_eq "a restore as a new server is an order" "202 $B2" "$SW_STATUS $(j .restored_from)"
NID=$(j .server.id) NJ=$(j .job.id)
[ "$NJ" = null ] || sw_t_wait "restore as new" 180 job_done "$NJ" >/dev/null
echo "# restore as a new server in $(since "$t") s; the engine: $(grep -ho 'event=bkctnew.root .*' "$SW_T_DIR/qemu/log/engine-lxc1.log" | tail -1)"
sw_t_eq "its create succeeded, the note naming the backup and the grown filesystem" \
    "succeeded: restored from backup $B2; root filesystem grown to 2 GB" \
    "$(j '.state + (if .error then " " + (.error | tostring) else "" end)'): $(j '.note // ""')"
sw_t_eq "restore.completed for it, to the backup's owner" 1 \
    "$(sql "select count(*) from events e join servers s on s.id = '$ID' where e.type = 'restore.completed' and e.data->>'backup_id' = '$B2' and e.data->'job'->>'id' = '$NJ' and e.account_id = s.owner_id")"
sw_t_check "the new container runs with the new host name" sw_t_wait "new container" 120 ct_ready "$NID" bk-ct-2.example.com
NR=/proc/$(ct_pid "$NID")/root
api GET "/v1/servers/$NID" "$SW_QEMU_CTOK"
NIP=$(j .ipv4)
sw_t_eq "its /etc/hostname is the new host name" bk-ct-2.example.com "$(cat "$NR/etc/hostname")"
sw_t_eq "its seed's instance id is the new server's" "$NID" \
    "$(jq -r '."instance-id"' "$NR/var/lib/cloud/seed/nocloud/meta-data")"
sw_t_check "its seed's network-config holds its own address $NIP" \
    grep -q "\"$NIP/" "$NR/var/lib/cloud/seed/nocloud/network-config"
sw_t_eq "the second backup's marker is there" "second backup" "$(marker "$NID")"
FS=$(stat -f -c '%b %S' "$NR/")
sw_t_check "its root filesystem was grown to the plan's 2 GB ($FS: blocks, block size)" \
    test "$((${FS% *} * ${FS#* }))" -gt 1610612736
sw_t_eq "the original container still runs its own host name and first marker" \
    "bk-ct.example.com first backup" "$(cat "/proc/$(ct_pid "$ID")/root/etc/hostname") $(marker)"

# 5. a chunk altered on the target: the restoring create fails naming it
ACCOUNT=$(sql "select owner_id from servers where id = '$ID'")
tamper_chunks "$T/$ACCOUNT/chunks"
api POST "/v1/backups/$B2/restore" "$SW_QEMU_CTOK" '{"target":"new","hostname":"bk-ct-3.example.com"}'
FID=$(j .server.id)
sw_t_wait "the failing create" 120 job_done "$(j .job.id)" >/dev/null
sw_t_eq "an altered chunk fails the create, naming it" "failed true" \
    "$(j .state) $(j '.error.message // "" | test("chunk [0-9a-f]{64} at offset [0-9]+ failed its checksum")')"
echo "# its error: $(j .error.message)"
sw_t_eq "the server failed, its claim released, no volume of it left" "failed 0 " \
    "$(sql "select state from servers where id = '$FID'") $(sql "select count(*) from allocations where server_id = '$FID'") $(ct_vols "$FID")"

echo "# steps 4 and 5 in $(since "$T4") s"

# both servers terminated at once
api DELETE "/v1/servers/$NID" "$SW_QEMU_CTOK"
NTJ=$(j .job.id)
api DELETE "/v1/servers/$ID" "$SW_QEMU_CTOK"
TJ=$(j .job.id)
sw_t_wait "terminate the new server" 120 job_done "$NTJ" >/dev/null
sw_t_eq "the new server terminated, no volume left" "succeeded " "$(j .state) $(ct_vols "$NID")"
sw_t_wait "terminate" 120 job_done "$TJ" >/dev/null
sw_t_eq "terminated, no volume left" "succeeded " "$(j .state) $(ct_vols "$ID")"
echo "# whole test $(since "$T0") s"
sw_t_done
