#!/usr/bin/env bash
# snapshots.sh - customers' snapshots (issue 14; panel/README.md "API notes:
# snapshots") through the whole stack: the panel, the provisioner and an
# engine on libvirt's test driver behind a private libvirtd (so virsh sees
# the snapshots the engine makes).
#   - an operator sets a plan's max_snapshots (create and patch);
#   - bad input 400, a raw root 422 before any job, one snapshot more than
#     the plan allows 422, another tenant's server or snapshot 404 on every
#     route, a revert of a snapshot that is not ready 409;
#   - create (disk, then disk and memory), list, get, revert, delete: each a
#     job; the libvirt snapshot sw-<server>-snap-<id> appears and goes;
#   - an Idempotency-Key replays the create; a node job delivered twice
#     makes one libvirt snapshot;
#   - reinstall and terminate remove the server's snapshots (rows and
#     libvirt's);
#   - a snapshot's space is billed per GB-month on the month's invoice.
# Skips (77) without root or when a private libvirtd cannot start.
. "$(dirname "$0")/../lib/harness.sh"
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root to run a private libvirtd"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
export SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8 SLIPWAY_ORDER_RATE=0
export SLIPWAY_CLAIM_IDLE_MS=1000

. "$SW_SRCDIR/tests/lib/libvirtd.sh"
SW_LV_CACHE=$SW_BUILDDIR/tests/integration/snapshots.cache
sw_lv_start "$SW_T_DIR/libvirt" || skip "$SW_LV_WHY"
URI=$SW_LV_TEST_URI
trap 'sw_lv_stop; sw_t_cleanup' EXIT

sw_t_panel
sw_t_daemon provisioner slipway-provisioner

j() { jq -r "$1" <<<"$SW_BODY"; }
api() { sw_t_api "$@"; }
must() {
    sw_t_api "$@"
    case $SW_STATUS in 2??) ;; *) echo "$1 $2: $SW_STATUS $SW_BODY"; exit 99 ;; esac
}
q() { sw_t_psql -c "$1"; }

# ---- the catalogue, two customers, one node ----
must POST /v1/admin/locations "$OP" '{"code":"fra1","name":"Frankfurt"}'
LOC=$(j .id)
must POST /v1/admin/nodes "$OP" "{\"name\":\"n1\",\"location_id\":\"$LOC\",\"engine_uri\":\"test:///default\",\"kinds\":[\"hvm\"],\"cpus\":8,\"ram_mb\":16384,\"disk_gb\":500}"
NODE=$(j .id)
(umask 077 && j '.engine_config | to_entries[] | "\(.key)=\(.value)"' >"$SW_T_DIR/node.env")
q "UPDATE nodes SET engine_uri = '$URI' WHERE id = '$NODE'" >/dev/null || exit 99
PRICES='"price_hourly":{"amount":1,"currency":"EUR"},"price_monthly":{"amount":500,"currency":"EUR"}'
must POST /v1/admin/plans "$OP" "{\"name\":\"snap\",\"kind\":\"hvm\",\"vcpus\":1,\"ram_mb\":512,\"disk_gb\":10,$PRICES,\"max_snapshots\":1}"
PLAN=$(j .id)
sw_t_eq "a plan created with max_snapshots shows it" 1 "$(j .max_snapshots)"
api POST /v1/admin/plans "$OP" "{\"name\":\"bad\",\"kind\":\"hvm\",\"vcpus\":1,\"ram_mb\":512,\"disk_gb\":10,$PRICES,\"max_snapshots\":-1}"
sw_t_eq "a negative max_snapshots: 400, no plan" "400 0" "$SW_STATUS $(q "select count(*) from plans where name = 'bad'")"
must PATCH "/v1/admin/plans/$PLAN" "$OP" '{"max_snapshots":2}'
sw_t_eq "a patch sets max_snapshots" "2 2" "$(j .max_snapshots) $(q "select max_snapshots from plans where id = '$PLAN'")"
must POST /v1/admin/plans "$OP" "{\"name\":\"plain\",\"kind\":\"hvm\",\"vcpus\":1,\"ram_mb\":512,\"disk_gb\":10,$PRICES}"
sw_t_eq "a plan without it keeps 3 by default" 3 "$(j .max_snapshots)"
must POST /v1/admin/templates "$OP" '{"name":"Debian 12","kind":"hvm","os":"debian-12"}'
TPL=$(j .id)
customer() { # email -> token
    must POST /v1/admin/accounts "$OP" "{\"kind\":\"customer\",\"email\":\"$1\",\"name\":\"c\",\"password\":\"c-secret-pw\"}"
    must POST /v1/auth/login "" "{\"email\":\"$1\",\"password\":\"c-secret-pw\"}"
    j .token
}
ALICE=$(customer alice@example.com) BOB=$(customer bob@example.com)

mapfile -t CONF <"$SW_T_DIR/node.env"
sw_t_daemon engine env "${CONF[@]}" SLIPWAY_HEARTBEAT_INTERVAL=1 SLIPWAY_USAGE_INTERVAL=60 \
    SLIPWAY_RECONCILE_INTERVAL=30 slipway-engine
srv_is() { [ "$(q "select state from servers where id = '$1'")" = "$2" ]; }
job_is() { [ "$(q "select state from jobs where id = '$1'")" = "$2" ]; }
snap_is() { [ "$(q "select state from snapshots where id = '$1'")" = "$2" ]; }
order() { # token hostname -> id, running
    must POST /v1/orders "$1" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"$2\",\"location_id\":\"$LOC\"}"
    local id
    id=$(j .server.id)
    sw_t_wait "$2 running" 60 srv_is "$id" running >&2 || { echo "order $2 did not run" >&2; exit 99; }
    echo "$id"
}
SRV=$(order "$ALICE" web1.example.com)
BSRV=$(order "$BOB" bob.example.com)
DOM=sw-$SRV
lv_snaps() { virsh -c "$URI" snapshot-list "$1" --name 2>/dev/null | sed '/^$/d' | sort | tr '\n' ' '; }

# ---- bad input, and nothing queued for it ----
S=/v1/servers/$SRV/snapshots
api POST "$S" "$ALICE" '{"name":"a","colour":"red"}'
sw_t_eq "an unknown field: 400" 400 "$SW_STATUS"
api POST "$S" "$ALICE" '{}'
sw_t_eq "no name: 400" 400 "$SW_STATUS"
api POST "$S" "$ALICE" '{"name":""}'
sw_t_eq "an empty name: 400" "400 name must be 1 to 64 printable characters" "$SW_STATUS $(j .error.message)"
api POST "$S" "$ALICE" "{\"name\":\"$(printf 'x%.0s' $(seq 65))\"}"
sw_t_eq "a 65-byte name: 400" 400 "$SW_STATUS"
api POST "$S" "$ALICE" '{"name":"line\nbreak"}'
sw_t_eq "a control character in the name: 400" 400 "$SW_STATUS"
api POST "$S" "$ALICE" '{"name":"a","memory":"yes"}'
sw_t_eq "memory not a boolean: 400" 400 "$SW_STATUS"
# A raw root (a logical or rbd pool): the panel knows from server_disks.
q "UPDATE server_disks SET format = 'raw' WHERE server_id = '$SRV' AND role = 'root'" >/dev/null
api POST "$S" "$ALICE" '{"name":"on raw"}'
sw_t_eq "a raw root: 422 naming why" "422 snapshots need a qcow2 root volume; this server's root is raw in pool slipway" \
    "$SW_STATUS $(j .error.message)"
q "UPDATE server_disks SET format = 'qcow2' WHERE server_id = '$SRV' AND role = 'root'" >/dev/null
sw_t_eq "no snapshot and no job came of any of them" "0 0" \
    "$(q "select (select count(*) from snapshots) || ' ' || (select count(*) from jobs where type like 'snapshot%')")"

# ---- create: a disk snapshot, idempotent under its key ----
# The engine is stopped meanwhile, so the node job can be read off its
# stream and the snapshot is seen before it is ready.
kill "$SW_T_PID_engine"; wait "$SW_T_PID_engine" 2>/dev/null
idem() { # key body -> SW_STATUS, SW_BODY
    SW_STATUS=$(curl -s -o "$SW_T_DIR/.resp" -w '%{http_code}' -X POST -H "Authorization: Bearer $ALICE" \
        -H "Idempotency-Key: $1" -H 'Content-Type: application/json' --data-binary "$2" "$SW_URL$S")
    SW_BODY=$(cat "$SW_T_DIR/.resp")
}
idem snap-key-1 '{"name":"before upgrade"}'
sw_t_eq "create: 202 {snapshot creating, job snapshot_create}" "202 creating snapshot_create before upgrade false" \
    "$SW_STATUS $(j '[.snapshot.state, .job.type, .snapshot.name, (.snapshot.memory | tostring)] | join(" ")')"
SID=$(j .snapshot.id) JOB=$(j .job.id)
idem snap-key-1 '{"name":"before upgrade"}'
sw_t_eq "the same Idempotency-Key answers the same snapshot and job, and makes none" "$SID $JOB 1" \
    "$(j '.snapshot.id + " " + .job.id') $(q "select count(*) from snapshots")"
node_job() { NJ=$(sw_t_redis --raw XRANGE "node:$NODE" - + | grep '^{' | jq -c "select(.job_id == \"$JOB\")" | head -1); [ -n "$NJ" ]; }
sw_t_wait "the node job" 20 node_job
sw_t_eq "the node job names the snapshot" "snapshot_create $SID" "$(jq -r '.type + " " + .snapshot_id' <<<"$NJ")"
api POST "$S/$SID/revert" "$ALICE"
sw_t_eq "a revert of a snapshot that is not ready: 409" "409 the snapshot is creating, not ready" "$SW_STATUS $(j .error.message)"
api DELETE "$S/$SID" "$ALICE"
sw_t_eq "and a delete: 409" 409 "$SW_STATUS"
sw_t_respawn engine
sw_t_check "the create job succeeds" sw_t_wait "create" 30 job_is "$JOB" succeeded
sw_t_check "and the snapshot is ready" sw_t_wait "ready" 10 snap_is "$SID" ready
sw_t_eq "libvirt holds sw-<server>-snap-<id>" "$DOM-snap-$SID " "$(lv_snaps "$DOM")"
must GET "/v1/jobs/$JOB" "$ALICE"
sw_t_eq "the job's note says the running guest was not frozen (no agent on the test driver)" \
    "disk only; not frozen: no guest agent answered (crash-consistent)" "$(j .note)"
must GET "$S/$SID" "$ALICE"
sw_t_check "GET one: ready, with a size of at least 0" test "$(j '.state + " " + (.size_bytes >= 0 | tostring) + " " + .server_id')" = "ready true $SRV"
sw_t_eq "the audit log has the create and its replay, one row per request" 2 \
    "$(q "select count(*) from audit_log where action = 'POST /v1/servers/{id}/snapshots' and object_id = '$SRV' and status = 202")"

# ---- a node job delivered twice makes one libvirt snapshot ----
REJ0=$(q "select count(*) from rejected_messages")
sw_t_redis XADD "node:$NODE" '*' m "$NJ" >/dev/null
replayed() { [ "$(grep -c "job=$JOB .*earlier delivery" "$SW_T_DIR"/engine*.log)" -ge 1 ]; }
sw_t_check "the engine runs it again and finds the snapshot by name" sw_t_wait "replay" 20 replayed
sw_t_eq "still one libvirt snapshot" "$DOM-snap-$SID " "$(lv_snaps "$DOM")"
rejected() { [ "$(q "select count(*) from rejected_messages")" -gt "$REJ0" ]; }
sw_t_check "and its second answer is refused as a replay" sw_t_wait "rejected" 10 rejected

# ---- with memory; the plan's limit ----
must POST "$S" "$ALICE" '{"name":"with memory","memory":true}'
SID2=$(j .snapshot.id) JOB2=$(j .job.id)
sw_t_check "a memory snapshot is ready" sw_t_wait "ready" 30 snap_is "$SID2" ready
must GET "/v1/jobs/$JOB2" "$ALICE"
sw_t_eq "its note says memory was saved" "disk and memory saved; not frozen (the guest was paused instead)" "$(j .note)"
api POST "$S" "$ALICE" '{"name":"one too many"}'
sw_t_eq "one more than the plan allows: 422" \
    "422 the server's plan allows 2 snapshot(s) and it has 2: delete one first" "$SW_STATUS $(j .error.message)"
must GET "$S" "$ALICE"
sw_t_eq "the list: both, oldest first" "before upgrade,with memory null" "$(j '[.items[].name] | join(",")') $(j .next_cursor)"
must GET "$S?limit=1" "$ALICE"
sw_t_eq "a page of one has a cursor" "1 true" "$(j '.items | length') $(j '.next_cursor != null')"

# ---- tenancy: 404 on every route ----
B=/v1/servers/$BSRV/snapshots
for r in "POST $S" "GET $S" "GET $S/$SID" "POST $S/$SID/revert" "DELETE $S/$SID" \
         "GET $B/$SID" "POST $B/$SID/revert" "DELETE $B/$SID"; do
    body=; [ "${r%% *}" = POST ] && [ "${r##*/}" = snapshots ] && body='{"name":"x"}'
    api ${r%% *} "${r#* }" "$BOB" "$body"
    sw_t_eq "Bob: $r (Alice's server or snapshot): 404" 404 "$SW_STATUS"
done
api GET "$S/$(cat /proc/sys/kernel/random/uuid)" "$ALICE"
sw_t_eq "an unknown snapshot id: 404" 404 "$SW_STATUS"
api GET "$S/not-a-uuid" "$ALICE"
sw_t_eq "a snapshot id that is no UUID: 404" 404 "$SW_STATUS"

# ---- revert ----
must POST "$S/$SID/revert" "$ALICE"
RJOB=$(j .job.id)
sw_t_eq "revert: 202 {snapshot reverting, job snapshot_revert}" "reverting snapshot_revert" "$(j '.snapshot.state + " " + .job.type')"
sw_t_check "the revert succeeds" sw_t_wait "revert" 30 job_is "$RJOB" succeeded
sw_t_check "the snapshot is ready again" sw_t_wait "ready" 10 snap_is "$SID" ready
must GET "/v1/jobs/$RJOB" "$ALICE"
sw_t_eq "a disk snapshot's revert boots the running guest again on its disk" \
    "reverted the disk; the guest booted again on it running" "$(j .note) $(q "select state from servers where id = '$SRV'")"
must POST "$S/$SID2/revert" "$ALICE"
RJOB2=$(j .job.id)
sw_t_check "a memory snapshot's revert succeeds" sw_t_wait "revert" 30 job_is "$RJOB2" succeeded
must GET "/v1/jobs/$RJOB2" "$ALICE"
sw_t_eq "and the guest kept running from it" "reverted with memory; the guest kept running from the snapshot running" \
    "$(j .note) $(virsh -c "$URI" domstate "$DOM" | head -1)"

# ---- delete ----
must DELETE "$S/$SID" "$ALICE"
DJOB=$(j .job.id)
sw_t_eq "delete: 202 {snapshot deleting, job snapshot_delete}" "deleting snapshot_delete" "$(j '.snapshot.state + " " + .job.type')"
sw_t_check "the delete succeeds" sw_t_wait "delete" 30 job_is "$DJOB" succeeded
sw_t_eq "the row is deleted, with its time" "deleted true" "$(q "select state || ' ' || (deleted_at is not null) from snapshots where id = '$SID'")"
sw_t_eq "libvirt keeps the other one only" "$DOM-snap-$SID2 " "$(lv_snaps "$DOM")"
api GET "$S/$SID" "$ALICE"
sw_t_eq "a deleted snapshot: 404" 404 "$SW_STATUS"
api DELETE "$S/$SID" "$ALICE"
sw_t_eq "deleting it again: 404" 404 "$SW_STATUS"

# ---- billed per GB-month ----
# The test driver's volumes never grow, so its snapshots measure 0 bytes;
# the one left is given 10^12 bytes here, as an engine on QEMU measures them
# (snapshot_real.sh), to see it rated on the month's draft invoice.
must PATCH "/v1/admin/plans/$PLAN" "$OP" '{"price_snapshot_gb_month":{"amount":10000,"currency":"EUR"}}'
sw_t_eq "an operator prices snapshot space per GB-month" "10000 EUR" "$(j '.price_snapshot_gb_month | "\(.amount) \(.currency)"')"
api PATCH "/v1/admin/plans/$PLAN" "$OP" '{"price_snapshot_gb_month":{"amount":1,"currency":"USD"}}'
sw_t_eq "in the plan's currency only" 400 "$SW_STATUS"
q "UPDATE snapshots SET size_bytes = 1000000000000 WHERE id = '$SID2'" >/dev/null
sleep 2
slipwayctl invoice run --period "$(date -u +%Y-%m)" --draft >/dev/null || sw_t_fail "slipwayctl invoice run --draft"
must GET /v1/invoices "$ALICE"
LINE='[]'
for inv in $(j '.items[].id'); do
    must GET "/v1/invoices/$inv" "$ALICE"
    LINE=$(jq -c "[.lines[] | select(.kind == \"snapshot\" and .server_id == \"$SRV\")] + $LINE" <<<"$SW_BODY")
done
sw_t_check "Alice's draft invoice has a snapshot line for the server, charged" \
    test "$(jq -r '.[0] | (.amount.amount > 0) and (.quantity > 0) and (.description | test("snapshots, [0-9]+ bytes on average"))' <<<"$LINE")" = true
echo "# snapshot line: $LINE"

# ---- reinstall and terminate remove the server's snapshots ----
must POST "/v1/servers/$SRV/actions" "$ALICE" "{\"type\":\"reinstall\",\"template_id\":\"$TPL\"}"
IJOB=$(j .job.id)
sw_t_check "the reinstall succeeds" sw_t_wait "reinstall" 60 job_is "$IJOB" succeeded
sw_t_eq "after a reinstall: no live snapshot row, none in libvirt" "0 " \
    "$(q "select count(*) from snapshots where server_id = '$SRV' and state <> 'deleted'") $(lv_snaps "$DOM")"
must POST "$S" "$ALICE" '{"name":"last"}'
SID3=$(j .snapshot.id)
sw_t_check "a snapshot of the new system" sw_t_wait "ready" 30 snap_is "$SID3" ready
must DELETE "/v1/servers/$SRV" "$ALICE"
sw_t_check "the server is terminated" sw_t_wait "terminated" 60 srv_is "$SRV" terminated
sw_t_eq "after a terminate: its snapshot is deleted, the domain gone" "deleted 0" \
    "$(q "select state from snapshots where id = '$SID3'") $(virsh -c "$URI" list --all --name | grep -c "$DOM")"
api POST "$S" "$ALICE" '{"name":"too late"}'
sw_t_eq "a terminated server takes no snapshot: 409" 409 "$SW_STATUS"

sw_t_billing_invariants
sw_t_done
