#!/usr/bin/env bash
# server_migrate.sh - the migrate job end to end on test-driver nodes (issue 15,
# "Migration (operators)"; provisioner/README.md "Migration"): the panel, the
# provisioner and two engines on libvirt's test driver (which cannot migrate,
# so the control plane's cold move runs: the source stops and undefines, the
# target defines and starts).
#   - the route: operators only, unknown fields and bad ids 400, a server
#     that is not running or stopped 409, a target that is the source,
#     missing, not active, in another location or not hosting the kind 422;
#   - the move: the target's room claimed before the guest moves, ledgers of
#     both nodes exact before, during (target's engine stopped: the source
#     has released nothing, the target holds the claim) and after; addresses
#     kept, disks in the target's pools, epoch + 1, the domain on the target
#     only, the server.migrated event and the job's note;
#   - a forged result (the source's stream, a node that never got the job) is
#     refused and moves nothing; a replayed job and a replayed result do not
#     move it twice;
#   - placement picks the only other node of the location when none is named;
#   - from the source's half on, the server's node is the target (epoch + 1),
#     so the source's reconciliation leaves it alone; a move whose target
#     fails (its ledger re-check refuses) releases the target's claim and
#     gives the server back to its source (epoch + 2); one to a node without
#     room fails no_capacity, claiming nothing, and so does one to a node a
#     held claim fills;
#   - a node's database role learns whether its own job was cancelled
#     (sw_engine_job_cancelled), never another node's.
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
export SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8 SLIPWAY_ORDER_RATE=0
export SLIPWAY_CLAIM_IDLE_MS=1000
trap sw_t_cleanup EXIT
sw_t_panel
sw_t_daemon provisioner slipway-provisioner

j() { jq -r "$1" <<<"$SW_BODY"; }
api() { sw_t_api "$@"; }
must() {
    sw_t_api "$@"
    case $SW_STATUS in 2??) ;; *) echo "$1 $2: $SW_STATUS $SW_BODY"; exit 99 ;; esac
}
q() { sw_t_psql -c "$1"; }

# ---- catalogue: two hvm nodes in fra1, one elsewhere, one without hvm ----
must POST /v1/admin/locations "$OP" '{"code":"fra1","name":"Frankfurt"}'
LOC=$(j .id)
must POST /v1/admin/locations "$OP" '{"code":"ams1","name":"Amsterdam"}'
LOC2=$(j .id)
node() { # name location kinds -> id; its engine config in $SW_T_DIR/<name>.env
    must POST /v1/admin/nodes "$OP" "{\"name\":\"$1\",\"location_id\":\"$2\",\"engine_uri\":\"test:///default\",\"kinds\":$3,\"cpus\":8,\"ram_mb\":16384,\"disk_gb\":500}"
    (umask 077 && j '.engine_config | to_entries[] | "\(.key)=\(.value)"' >"$SW_T_DIR/$1.env")
    j .id
}
N1=$(node n1 "$LOC" '["hvm"]') N2=$(node n2 "$LOC" '["hvm"]')
N3=$(node n3 "$LOC2" '["hvm"]') N4=$(node n4 "$LOC" '["container"]')
must PATCH "/v1/admin/nodes/$N2" "$OP" '{"migrate_uri":"test:///default","migrate_stream_uri":"tcp://127.0.0.1"}'
sw_t_eq "a node's migration URIs are set and shown" "test:///default tcp://127.0.0.1" \
    "$(j .migrate_uri) $(j .migrate_stream_uri)"
api PATCH "/v1/admin/nodes/$N2" "$OP" '{"migrate_uri":"has space"}'
sw_t_eq "a migrate_uri with a space: 400" 400 "$SW_STATUS"
# n2 and n3 take no servers while the orders are placed: both land on n1
q "UPDATE nodes SET state = 'draining' WHERE id IN ('$N2', '$N3')" >/dev/null
PRICES='"price_hourly":{"amount":1,"currency":"EUR"},"price_monthly":{"amount":500,"currency":"EUR"}'
must POST /v1/admin/plans "$OP" "{\"name\":\"m\",\"kind\":\"hvm\",\"vcpus\":2,\"ram_mb\":1024,\"disk_gb\":10,$PRICES}"
PLAN=$(j .id)
must POST /v1/admin/templates "$OP" '{"name":"Debian 12","kind":"hvm","os":"debian-12"}'
TPL=$(j .id)
must POST /v1/admin/ip-pools "$OP" "{\"location_id\":\"$LOC\",\"network\":\"192.0.2.0/28\",\"gateway\":\"192.0.2.1\"}"
must POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"alice@example.com","name":"a","password":"c-secret-pw"}'
must POST /v1/auth/login "" '{"email":"alice@example.com","password":"c-secret-pw"}'
ALICE=$(j .token)

engine() { # name
    local conf
    mapfile -t conf <"$SW_T_DIR/$1.env"
    sw_t_daemon "engine_$1" env "${conf[@]}" SLIPWAY_HEARTBEAT_INTERVAL=1 SLIPWAY_USAGE_INTERVAL=60 \
        SLIPWAY_RECONCILE_INTERVAL=600 SLIPWAY_DOMAINS_FILE="$SW_T_DIR/$1.domains" slipway-engine
}
stop_engine() { # name
    local var=SW_T_PID_engine_$1
    kill "${!var}" 2>/dev/null; wait "${!var}" 2>/dev/null
}
engine n1
engine n2
srv_is() { [ "$(q "select state from servers where id = '$1'")" = "$2" ]; }
job_is() { [ "$(q "select state from jobs where id = '$1'")" = "$2" ]; }
order() { # hostname -> id, running
    must POST /v1/orders "$ALICE" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"$1\",\"location_id\":\"$LOC\"}"
    local id
    id=$(j .server.id)
    sw_t_wait "$1 running" 60 srv_is "$id" running >&2 || { echo "order $1 did not run" >&2; exit 99; }
    echo "$id"
}
A=$(order a.example.com) B=$(order b.example.com)
q "UPDATE nodes SET state = 'active' WHERE id IN ('$N2', '$N3')" >/dev/null
sw_t_eq "both servers run on n1" "$N1 $N1" "$(q "select node_id from servers where id = '$A'") $(q "select node_id from servers where id = '$B'")"

# A node's use as the claim counts it: allocations and migration claims.
use() {
    q "select coalesce(sum(vcpus), 0) || '/' || coalesce(sum(mem_guar_mb), 0) || '/' || coalesce(sum(disk_gb), 0)
         from (select vcpus, mem_guar_mb, disk_gb from allocations where node_id = '$1'
               union all select vcpus, mem_guar_mb, disk_gb from migration_claims where node_id = '$1') u"
}
ONE=2/1024/10 TWO=4/2048/20
sw_t_eq "ledgers before: n1 holds both servers, n2 nothing" "$TWO 0/0/0" "$(use "$N1") $(use "$N2")"

# ---- the route's checks ----
M=/v1/admin/servers/$A/migrate
api POST "$M" "$ALICE" '{}'
sw_t_check "a customer cannot migrate (403 or 404)" test "$SW_STATUS" = 403 -o "$SW_STATUS" = 404
api POST "$M" "$OP" '{"colour":"red"}'
sw_t_eq "an unknown field: 400" 400 "$SW_STATUS"
api POST "$M" "$OP" '{"node_id":"nope"}'
sw_t_eq "a node_id that is no uuid: 400" 400 "$SW_STATUS"
api POST "$M" "$OP" '{"live":"yes"}'
sw_t_eq "live not a boolean: 400" 400 "$SW_STATUS"
api POST "/v1/admin/servers/$(cat /proc/sys/kernel/random/uuid)/migrate" "$OP" '{}'
sw_t_eq "a server that does not exist: 404" 404 "$SW_STATUS"
api POST "$M" "$OP" "{\"node_id\":\"$N1\"}"
sw_t_eq "the source as target: 422" "422 the target node is the server's own node" "$SW_STATUS $(j .error.message)"
api POST "$M" "$OP" "{\"node_id\":\"$(cat /proc/sys/kernel/random/uuid)\"}"
sw_t_eq "a missing target: 422" "422 the target node does not exist" "$SW_STATUS $(j .error.message)"
api POST "$M" "$OP" "{\"node_id\":\"$N3\"}"
sw_t_eq "a target in another location: 422" 422 "$SW_STATUS"
api POST "$M" "$OP" "{\"node_id\":\"$N4\"}"
sw_t_eq "a target without the kind: 422" "422 the target node does not host hvm servers" "$SW_STATUS $(j .error.message)"
q "UPDATE nodes SET state = 'draining' WHERE id = '$N2'" >/dev/null
api POST "$M" "$OP" "{\"node_id\":\"$N2\"}"
sw_t_eq "a target that is not active: 422" "422 the target node is draining, not active" "$SW_STATUS $(j .error.message)"
q "UPDATE nodes SET state = 'active' WHERE id = '$N2'" >/dev/null
q "UPDATE servers SET state = 'suspended' WHERE id = '$A'" >/dev/null
api POST "$M" "$OP" "{\"node_id\":\"$N2\"}"
sw_t_eq "a suspended server: 409" 409 "$SW_STATUS"
q "UPDATE servers SET state = 'running' WHERE id = '$A'" >/dev/null
sw_t_eq "none of them queued a job" 0 "$(q "select count(*) from jobs where type = 'migrate'")"
api POST "/v1/admin/jobs/$(q "select id from jobs where server_id = '$A' and type = 'create'")/cancel" "$OP"
sw_t_eq "cancel of a job that is no running migrate: 409" 409 "$SW_STATUS"

# ---- the move, the target's engine stopped first: "during" ----
EPOCH0=$(q "select epoch from servers where id = '$A'")
ADDR0=$(q "select host(ipv4) from servers where id = '$A'")
stop_engine n2
must POST "$M" "$OP" "{\"node_id\":\"$N2\"}"
JOB=$(j .job.id)
sw_t_eq "202 with a queued migrate job, params as agreed" "migrate true $N2" \
    "$(j .job.type) $(q "select params->>'live' from jobs where id = '$JOB'") $(q "select params->>'node_id' from jobs where id = '$JOB'")"
waits_target() { [ "$(q "select node_id || ' ' || (params->>'phase') from jobs where id = '$JOB'")" = "$N2 target" ]; }
sw_t_wait "the source's half done" 30 waits_target
sw_t_eq "during: the job waits for the target, the source released nothing, the target holds the claim" \
    "running $TWO $ONE" "$(q "select state from jobs where id = '$JOB'") $(use "$N1") $(use "$N2")"
sw_t_eq "during: the claim row is the job's" "$JOB $N2" \
    "$(q "select job_id || ' ' || node_id from migration_claims where server_id = '$A'")"
sw_t_eq "during: the server's node is the target already (epoch + 1): the source's reconciliation leaves it alone" \
    "$N2 $((EPOCH0 + 1))" "$(q "select node_id || ' ' || epoch from servers where id = '$A'")"
api PATCH "/v1/admin/nodes/$N2" "$OP" '{"ram_mb":1024,"reserved_ram_mb":512}'
sw_t_check "during: n2 may not shrink below the claim it holds ($SW_STATUS)" test "$SW_STATUS" = 409 -o "$SW_STATUS" = 422
# n2 shrunk to room for exactly one server: A's claim holds it, so B may not
# come too (the claim's node read counts migration claims as use).
RAM0=$(q "select ram_mb || ' ' || reserved_ram_mb from nodes where id = '$N2'")
q "UPDATE nodes SET ram_mb = 1536, reserved_ram_mb = 512 WHERE id = '$N2'" >/dev/null
must POST "/v1/admin/servers/$B/migrate" "$OP" "{\"node_id\":\"$N2\"}"
JOBB=$(j .job.id)
sw_t_wait "B's move is decided" 30 job_is "$JOBB" failed
sw_t_eq "during: the held claim leaves no room for B: no_capacity, B untouched" \
    "no_capacity $N1 running $ONE" "$(q "select error_code from jobs where id = '$JOBB'") $(q "select node_id || ' ' || state from servers where id = '$B'") $(use "$N2")"
q "UPDATE nodes SET ram_mb = ${RAM0% *}, reserved_ram_mb = ${RAM0#* } WHERE id = '$N2'" >/dev/null

# A forged answer: n1's stream (the source, whose dispatch is answered) and
# n3's (never dispatched), each saying the move is done.
forge() { # node nonce
    sw_t_redis XADD "results:$1" '*' m "{\"job_id\":\"$JOB\",\"server_id\":\"$A\",\"node_id\":\"$1\",\"type\":\"migrate\",\"ok\":true,\"domain_state\":\"running\",\"nonce\":\"$2\",\"migrate\":{\"moved\":true}}" >/dev/null
}
NONCE1=$(q "select nonce from job_dispatches where job_id = '$JOB' and node_id = '$N1'")
forge "$N1" "$NONCE1"
forge "$N3" "$NONCE1"
rejected() { [ "$(q "select count(*) from rejected_messages where node_id in ('$N1', '$N3')")" -ge 2 ]; }
sw_t_wait "both forgeries refused" 20 rejected
sw_t_eq "forged results are refused and change nothing" "running $N2 $((EPOCH0 + 1))" \
    "$(q "select state from jobs where id = '$JOB'") $(q "select node_id || ' ' || epoch from servers where id = '$A'")"
sw_t_eq "the refusals' reasons" "not_dispatched replay" \
    "$(q "select string_agg(reason, ' ' order by reason) from rejected_messages where node_id in ('$N1', '$N3')")"

# What an engine may ask of cancels (0031): its own node's jobs only.
as_node() { # name sql: as the node's own database role
    psql "$(sed -n 's/^SLIPWAY_DATABASE_URL=//p' "$SW_T_DIR/$1.env")" -qAt -c "$2" 2>&1
}
sw_t_eq "n2's role learns whether its own job was cancelled" f \
    "$(as_node n2 "select sw_engine_job_cancelled('$N2', '$JOB')")"
sw_t_eq "n1's role may not ask about n2's jobs" "permission denied" \
    "$(as_node n1 "select sw_engine_job_cancelled('$N2', '$JOB')" | grep -o "permission denied" | head -1)"
sw_t_respawn engine_n2
sw_t_wait "the migrate job succeeded" 30 job_is "$JOB" succeeded
sw_t_eq "after: the server is on n2, running, epoch + 1" "$N2 running $((EPOCH0 + 1))" \
    "$(q "select node_id || ' ' || state || ' ' || epoch from servers where id = '$A'")"
sw_t_eq "after: ledgers exact, no claim left" "$ONE $ONE 0" "$(use "$N1") $(use "$N2") $(q "select count(*) from migration_claims")"
sw_t_eq "after: the allocation moved with it" "$N2" "$(q "select node_id from allocations where server_id = '$A'")"
sw_t_eq "after: the address is kept" "$ADDR0" "$(q "select host(ipv4) from servers where id = '$A'")"
sw_t_eq "after: its disks lie in n2's pools" 0 \
    "$(q "select count(*) from server_disks d where d.server_id = '$A' and not exists (select 1 from node_pools p where p.node_id = '$N2' and p.name = d.pool)")"
sw_t_check "after: it has its root recorded" test "$(q "select count(*) from server_disks where server_id = '$A' and role = 'root'")" = 1
dom_in() { grep -q "^sw-$2 .* $3\$" "$SW_T_DIR/$1.domains"; }
no_dom_in() { ! grep -q "^sw-$2 " "$SW_T_DIR/$1.domains"; }
sw_t_wait "n2 lists the domain running" 10 dom_in n2 "$A" running
sw_t_wait "n1 lists it no more" 10 no_dom_in n1 "$A"
sw_t_check "after: its domain runs on n2 only" dom_in n2 "$A" running
sw_t_check "after: n1 has no domain of it" no_dom_in n1 "$A"
sw_t_eq "the server.migrated event" "$A $N1 $N2 false" \
    "$(q "select data->>'server_id' || ' ' || (data->>'from_node_id') || ' ' || (data->>'to_node_id') || ' ' || (data->>'live') from events where type = 'server.migrated'")"
sw_t_check "the job's note says how it moved" test -n "$(q "select note from jobs where id = '$JOB'")"
must GET "/v1/servers/$A" "$OP"
sw_t_eq "operators see its node in GET /v1/servers/{id}" "$N2" "$(j '.server.node_id // .node_id')"

# ---- replays do not move it twice ----
sw_t_redis XADD jobs '*' m "{\"job_id\":\"$JOB\",\"server_id\":\"$A\",\"type\":\"migrate\"}" >/dev/null
LAST=$(sw_t_redis XREVRANGE "results:$N2" + - COUNT 20 | grep -m1 "\"job_id\":\"$JOB\"")
[ -n "$LAST" ] && sw_t_redis XADD "results:$N2" '*' m "$LAST" >/dev/null
sleep 2
sw_t_eq "a replayed job and result: still on n2, epoch unchanged, one event" "$N2 $((EPOCH0 + 1)) 1" \
    "$(q "select node_id || ' ' || epoch from servers where id = '$A'") $(q "select count(*) from events where type = 'server.migrated'")"

# ---- placement: no node named, the only other node of the location; the
# job queued from SQL as an evacuation queues it (no live given: it runs,
# so live) ----
JOB2=$(q "select sw_server_job_with('$A', (select account_id from jobs where id = '$JOB'), 'migrate', '{}')")
sw_t_wait "the move back succeeded" 30 job_is "$JOB2" succeeded
sw_t_eq "placement picked n1 (not n3: another location; not n4: no hvm)" "$N1 $((EPOCH0 + 2))" \
    "$(q "select node_id || ' ' || epoch from servers where id = '$A'")"
sw_t_eq "ledgers exact again" "$TWO 0/0/0" "$(use "$N1") $(use "$N2")"
sw_t_eq "a job without live: live, as the server ran" true "$(q "select params->>'live' from jobs where id = '$JOB2'")"

# ---- a target that fails releases its claim ----
stop_engine n2
EPOCHB=$(q "select epoch from servers where id = '$B'")
must POST "/v1/admin/servers/$B/migrate" "$OP" "{\"node_id\":\"$N2\"}"
JOB3=$(j .job.id)
waits_target3() { [ "$(q "select node_id from jobs where id = '$JOB3'")" = "$N2" ]; }
sw_t_wait "B's source half done" 30 waits_target3
# n2 shrinks under the claim: its engine's ledger re-check refuses the domain
q "UPDATE nodes SET ram_mb = 1024, reserved_ram_mb = 512 WHERE id = '$N2'" >/dev/null
sw_t_respawn engine_n2
sw_t_wait "B's move failed" 30 job_is "$JOB3" failed
sw_t_eq "a failed move: the claim released, B given back to n1 (epoch + 2: a copy left on n2 is stale)" \
    "0 $N1 running $((EPOCHB + 2))" \
    "$(q "select count(*) from migration_claims") $(q "select node_id || ' ' || state || ' ' || epoch from servers where id = '$B'")"
sw_t_eq "ledgers exact after the failure" "$TWO 0/0/0" "$(use "$N1") $(use "$N2")"
must POST "/v1/admin/servers/$A/migrate" "$OP" "{\"node_id\":\"$N2\"}"
JOB4=$(j .job.id)
sw_t_wait "a move to a node without room fails" 30 job_is "$JOB4" failed
sw_t_eq "no room: no_capacity, nothing claimed, still on n1" "no_capacity 0 $N1" \
    "$(q "select error_code from jobs where id = '$JOB4'") $(q "select count(*) from migration_claims") $(q "select node_id from servers where id = '$A'")"
# an ISO mounted (its row as the mount route leaves it): these nodes share
# no storage, so the move, which would copy the server's own volumes only,
# is refused before anything is claimed (n2 back to its size: room again)
q "UPDATE nodes SET ram_mb = ${RAM0% *}, reserved_ram_mb = ${RAM0#* } WHERE id = '$N2'" >/dev/null
q "INSERT INTO images (id, name, kind, format, sha256, size_bytes, state) VALUES
   (gen_random_uuid(), 'rescue', 'hvm', 'iso', repeat('a', 64), 1048576, 'ready')" >/dev/null
q "UPDATE servers SET iso_id = (SELECT id FROM images WHERE name = 'rescue') WHERE id = '$B'" >/dev/null
must POST "/v1/admin/servers/$B/migrate" "$OP" "{\"node_id\":\"$N2\"}"
JOB5=$(j .job.id)
sw_t_wait "a move with an ISO mounted fails" 30 job_is "$JOB5" failed
sw_t_eq "an ISO mounted, storage not shared: conflict naming the ISO, nothing claimed, still on n1" \
    "conflict true 0 $N1" \
    "$(q "select error_code || ' ' || (error like '%eject the ISO first%') from jobs where id = '$JOB5'") $(q "select count(*) from migration_claims") $(q "select node_id from servers where id = '$B'")"
sw_t_done
