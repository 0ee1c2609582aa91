#!/usr/bin/env bash
# sw-test: real-guest (scripts/test runs it in the sanitizer half only)
# migrate_copy.sh - migration WITHOUT shared storage through the API on two
# real libvirtds (issue 15: "without shared storage, the volume is
# copied"): scripts/lib/qemu.sh's qemu1 and qemu2 (SW_QEMU_PEER=1) with
# SW_QEMU_PEER_OWN_POOL=1: each node's pool "slipway" is a folder of its
# own, neither marked shared, and the engines run without
# SLIPWAY_MIGRATE_UNSAFE. One tiny hvm guest for the whole test, booted
# twice (ordered, and started after the cold move):
#  1. a marker written on its disk on qemu1 (768 MiB in, past the image:
#     in the qcow2 overlay over the base image), then it is stopped;
#  2. a cold move to qemu2 slowed to 1 MiB/s is cancelled once its copy
#     reports progress: the job fails "cancelled", qemu2 has no partial
#     volume, the server is whole on qemu1 (stopped, defined, its volumes
#     there), the claim is released;
#  3. the cold move to qemu2: its root flattened and its volumes copied
#     (seconds and MiB/s printed), defined there, qemu1 left with no domain
#     and no volume; the copy stands alone (no backing file); started on
#     qemu2: the marker is there;
#  4. counting in a loop, moved live back to qemu1 (VIR_MIGRATE_NON_SHARED_DISK:
#     QEMU copies the root over NBD, the engine copies the read-only seed
#     first): it keeps counting without a restart, the marker is there,
#     qemu2 has no domain and no volume of it left, server_disks keep
#     their names. Both ledgers exact before, while each move runs
#     (sampled) and after; downtime and total printed.
. "$(dirname "$0")/../lib/harness.sh"
. "$SW_SRCDIR/tests/lib/qstack.sh"
export SW_QEMU_PEER=1 SW_QEMU_PEER_OWN_POOL=1
sw_qs_start
echo "# stack with nodes qemu1 and qemu2 (own pools) up in $(since "$T0") s"
sw_qs_on_fail() { tail -n 8 "$SW_T_DIR"/qemu/log/engine-qemu*.log "$SW_T_DIR/prov.log"; }
[ -n "$SW_QEMU_URI2" ] || { echo "FAIL - no qemu2"; exit 1; }
URI1=$SW_QEMU_URI URI2=$SW_QEMU_URI2
QEMU1=$(sql "select id from nodes where name = 'qemu1'") QEMU2=$(sql "select id from nodes where name = 'qemu2'")
sw_t_eq "two nodes, pool slipway in two folders, neither shared" "2 0 2" \
    "$(sql "select count(*) from node_pools where node_id in ('$QEMU1', '$QEMU2') and name = 'slipway'") $(sql "select count(*) from node_pools where node_id in ('$QEMU1', '$QEMU2') and shared") $(sql "select count(distinct path) from node_pools where node_id in ('$QEMU1', '$QEMU2')")"
sql "UPDATE nodes SET state = 'draining' WHERE id = '$QEMU2'" >/dev/null # the guest goes to qemu1

# the agent on the node the guest is on now (qstack.sh's helpers use $URI)
on() { URI=$1; }
vols_on() { virsh -c "$1" vol-list slipway 2>/dev/null | awk '{print $1}' | grep -c -- "^sw-$ID-"; }
no_domain() { ! virsh -c "$1" dominfo "sw-$ID" >/dev/null 2>&1; }
disk_read() {
    guest_run "$ID" 10 sh -c 'echo 3 > /proc/sys/vm/drop_caches' || return 1
    guest_read "$ID" /dev/vda "$1" "$2" | tr -d '\0'
}
use() {
    echo "(select coalesce(sum(vcpus), 0) || '/' || coalesce(sum(mem_guar_mb), 0) || '/' || coalesce(sum(disk_gb), 0)
           from (select vcpus, mem_guar_mb, disk_gb from allocations where node_id = '$1'
                 union all select vcpus, mem_guar_mb, disk_gb from migration_claims where node_id = '$1') u)"
}
ledgers() { sql "select $(use "$QEMU1") || ' ' || $(use "$QEMU2")"; }
job_state() { sql "select state from jobs where id = '$1'"; }
finished() { case $(job_state "$1") in succeeded | failed | dead) return 0 ;; esac; return 1; }
# watch JOB SECS: waits for JOB, sampling both ledgers with its state in one
# statement while it runs (SAMPLES: the distinct samples, one a line)
watch() {
    local t
    t=$(date +%s.%N)
    SAMPLES=
    while ! finished "$1" && [ "$(since "$t" | cut -d. -f1)" -lt "$2" ]; do
        SAMPLES+="$(sql "select $(use "$QEMU1") || ' ' || $(use "$QEMU2") from jobs where id = '$1' and state = 'running'")"$'\n'
        sleep 0.2
    done
    SAMPLES=$(sed '/^$/d' <<<"$SAMPLES" | sort -u)
}

# ---- 1. the guest and its marker, on qemu1 ----
api POST /v1/orders "$SW_QEMU_CTOK" "{\"plan_id\":\"$SW_QEMU_PLAN_HVM\",\"template_id\":\"$SW_QEMU_TPL_HVM\",\"location_id\":\"$SW_QEMU_LOC\",\"hostname\":\"copy.example.com\",\"password\":\"migrate-copy-pw\"}"
ID=$(j .server.id)
on "$URI1"
sw_t_check "the guest runs on qemu1, its agent answers ($(since "$T0") s)" sw_t_wait "agent" 300 agent_up "$ID" || sw_t_done
srv_is() { [ "$(sql "select state from servers where id = '$ID'")" = "$1" ]; }
sw_t_wait "running" 60 srv_is running >/dev/null
sql "UPDATE nodes SET state = 'active' WHERE id = '$QEMU2'" >/dev/null
OFF=$((768 * 1024 * 1024))
sw_t_check "a marker is written on its disk" guest_write "$ID" /dev/vda "$OFF" "COPY-MARKER"
sw_t_eq "its root is an overlay over the base image on qemu1" 1 \
    "$(virsh -c "$URI1" vol-dumpxml --pool slipway "$(root_of "$ID")" | grep -c '<backingStore>')"
ROOT=$(root_of "$ID")
ONE=$(sql "select $(use "$QEMU1")")
sw_t_eq "ledgers before: qemu1 holds the guest, qemu2 nothing" "$ONE 0/0/0" "$(ledgers)"
DISKS0=$(sql "select string_agg(role || ':' || pool || '/' || volume, ' ' order by role) from server_disks where server_id = '$ID'")
api POST "/v1/servers/$ID/actions" "$SW_QEMU_CTOK" '{"type":"stop"}'
sw_t_wait "stop" 120 job_done "$(j .job.id)" >/dev/null
sw_t_eq "stopped on qemu1" "stopped shut" \
    "$(sql "select state from servers where id = '$ID'") $(virsh -c "$URI1" domstate "sw-$ID" 2>/dev/null | head -1 | cut -c1-4)"

# ---- 2. a cold move to qemu2, cancelled midway ----
api POST "/v1/admin/servers/$ID/migrate" "$OP" "{\"node_id\":\"$QEMU2\",\"bandwidth_mib\":1}"
JOB1=$(j .job.id)
sw_t_eq "202: a cold migrate job" "202 false" "$SW_STATUS $(sql "select params->>'live' from jobs where id = '$JOB1'")"
moving() { [ "$(sql "select coalesce(progress_bytes_done, 0) from jobs where id = '$JOB1' and state = 'running'")" -gt 0 ]; }
sw_t_check "the slowed copy reports progress" sw_t_wait "progress" 120 moving
sw_t_eq "a partial copy is on qemu2 meanwhile" 1 "$(vols_on "$URI2" | grep -c '^[1-9]')"
S=
for _ in 1 2 3 4 5; do
    S+="$(sql "select $(use "$QEMU1") || ' ' || $(use "$QEMU2") from jobs where id = '$JOB1' and state = 'running'")"$'\n'
    sleep 0.2
done
sw_t_eq "while it copies: both nodes hold the guest, 5 samples" "$ONE $ONE" "$(sed '/^$/d' <<<"$S" | sort -u | tr -d '\n')"
api POST "/v1/admin/jobs/$JOB1/cancel" "$OP"
sw_t_eq "the cancel is accepted" 202 "$SW_STATUS"
sw_t_wait "the cancelled job ends" 60 finished "$JOB1" >/dev/null
sw_t_eq "the job failed: cancelled" "failed true" \
    "$(sql "select state || ' ' || (error ~ 'cancelled') from jobs where id = '$JOB1'")"
sw_t_eq "qemu2: no domain, no partial volume" "yes 0" "$(no_domain "$URI2" && echo yes) $(vols_on "$URI2")"
sw_t_eq "the server is whole on qemu1: stopped, defined, root and seed, no temporary; the claim released; ledgers exact" \
    "$QEMU1 stopped shut 2 0 $ONE 0/0/0" \
    "$(sql "select node_id || ' ' || state from servers where id = '$ID'") $(virsh -c "$URI1" domstate "sw-$ID" 2>/dev/null | head -1 | cut -c1-4) $(vols_on "$URI1") $(sql "select count(*) from migration_claims") $(ledgers)"

# ---- 3. the cold move to qemu2 ----
api POST "/v1/admin/servers/$ID/migrate" "$OP" "{\"node_id\":\"$QEMU2\"}"
JOB2=$(j .job.id) T2=$(date +%s.%N)
watch "$JOB2" 300
sw_t_eq "the cold move succeeded ($(since "$T2") s): $(sql "select coalesce(error, note) from jobs where id = '$JOB2'")" \
    succeeded "$(job_state "$JOB2")"
[ "$(job_state "$JOB2")" = succeeded ] || sw_t_done
# (a cold move of the tiny guest can end before the first sample)
sw_t_check "while it moved: both nodes held the guest, every sample ($(grep -c . <<<"$SAMPLES") distinct)" \
    test "$(tr -d '\n' <<<"$SAMPLES")" = "$ONE $ONE" -o -z "$SAMPLES"
sw_t_eq "after: on qemu2, stopped; ledgers exact, no claim" "$QEMU2 stopped 0/0/0 $ONE 0" \
    "$(sql "select node_id || ' ' || state from servers where id = '$ID'") $(ledgers) $(sql "select count(*) from migration_claims")"
sw_t_eq "qemu1: no domain, no volume; qemu2: defined, root and seed" "yes 0 shut 2" \
    "$(no_domain "$URI1" && echo yes) $(vols_on "$URI1") $(virsh -c "$URI2" domstate "sw-$ID" 2>/dev/null | head -1 | cut -c1-4) $(vols_on "$URI2")"
sw_t_eq "the root on qemu2 stands alone (flattened: no backing file)" 0 \
    "$(virsh -c "$URI2" vol-dumpxml --pool slipway "$ROOT" | grep -c '<backingStore>')"
sw_t_eq "server_disks name the same pool and volumes (on qemu2 now)" "$DISKS0" \
    "$(sql "select string_agg(role || ':' || pool || '/' || volume, ' ' order by role) from server_disks where server_id = '$ID'")"
echo "# cold move with its volumes copied: $(sql "select note from jobs where id = '$JOB2'")"
api POST "/v1/servers/$ID/actions" "$SW_QEMU_CTOK" '{"type":"start"}'
sw_t_wait "start" 120 job_done "$(j .job.id)" >/dev/null
on "$URI2"
sw_t_check "started on qemu2, its agent answers" sw_t_wait "agent" 300 agent_up "$ID"
sw_t_eq "the marker is there" COPY-MARKER "$(disk_read "$OFF" 16)"

# ---- 4. counting, live back to qemu1 ----
tick='i=0; while :; do i=$((i+1)); echo "$i $(cut -d" " -f1 /proc/uptime)" >/tmp/tick.new; mv /tmp/tick.new /tmp/tick; sleep 0.2; done'
agent "$ID" "$(jq -nc --arg c "$tick" '{execute:"guest-exec",arguments:{path:"/bin/sh",arg:["-c",$c]}}')" >/dev/null
tick_now() { guest_read "$ID" /tmp/tick 0 64 | head -1; }
counts() { local t; t=$(tick_now) && [ "${t%% *}" -ge 3 ] 2>/dev/null; }
sw_t_check "it counts on qemu2" sw_t_wait "ticks" 30 counts
BEFORE=$(tick_now)
api POST "/v1/admin/servers/$ID/migrate" "$OP" "{\"node_id\":\"$QEMU1\",\"live\":true}"
sw_t_eq "202: a live migrate job" 202 "$SW_STATUS"
JOB3=$(j .job.id) T3=$(date +%s.%N)
watch "$JOB3" 300
LIVE_S=$(since "$T3")
sw_t_eq "the live move without shared storage succeeded ($LIVE_S s): $(sql "select coalesce(error, note) from jobs where id = '$JOB3'")" \
    succeeded "$(job_state "$JOB3")"
[ "$(job_state "$JOB3")" = succeeded ] || sw_t_done
sw_t_eq "while it moved: both nodes held the guest, every sample ($(grep -c . <<<"$SAMPLES") distinct)" \
    "$ONE $ONE" "$(tr -d '\n' <<<"$SAMPLES")"
sw_t_eq "after: on qemu1, running; ledgers exact, no claim left" "$QEMU1 running $ONE 0/0/0 0" \
    "$(sql "select node_id || ' ' || state from servers where id = '$ID'") $(ledgers) $(sql "select count(*) from migration_claims")"
sw_t_eq "after: qemu2 has no domain and no volume of it" "yes 0" "$(no_domain "$URI2" && echo yes) $(vols_on "$URI2")"
sw_t_eq "after: qemu1 runs it, persistent, its root and seed in its own pool" "running yes 2" \
    "$(virsh -c "$URI1" domstate "sw-$ID" 2>/dev/null | head -1) $(virsh -c "$URI1" dominfo "sw-$ID" 2>/dev/null | awk '/^Persistent/ {print $2}') $(vols_on "$URI1")"
sw_t_eq "server_disks keep their names" "$DISKS0" \
    "$(sql "select string_agg(role || ':' || pool || '/' || volume, ' ' order by role) from server_disks where server_id = '$ID'")"
on "$URI1"
sleep 1
AFTER=$(tick_now)
sw_t_check "the count goes on on qemu1 without a restart: $BEFORE -> $AFTER" \
    awk -v a="$BEFORE" -v b="$AFTER" 'BEGIN { split(a, x, " "); split(b, y, " "); exit !(y[1] > x[1] && y[2] > x[2] && y[2] - x[2] < 900) }'
sw_t_eq "the marker is on qemu1's copy" COPY-MARKER "$(disk_read "$OFF" 16)"
DOWN=$(sql "select (data->>'downtime_ms') || ' ' || (data->>'total_ms') || ' ' || (data->>'live') from events where type = 'server.migrated' and data->>'server_id' = '$ID' and (data->>'live')::boolean")
sw_t_check "server.migrated says live: $DOWN" test "${DOWN##* }" = true
echo "# live with its disks copied: downtime_ms total_ms ${DOWN% *}, API to done $LIVE_S s; note: $(sql "select note from jobs where id = '$JOB3'")"
echo "# the whole test: $(since "$T0") s"
sw_t_done
