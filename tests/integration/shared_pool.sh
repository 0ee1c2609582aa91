#!/usr/bin/env bash
# A shared pool is offered once (issue 13 "Accounting", migration 0037;
# core/diskpool.h), over HTTP with two provisioners and two test-driver
# engines "a" and "b" of one location whose node files hold a pool "vg0" of
# 100 GiB that both declare shared (one storage both see, as NFS or Ceph
# would be):
#   - before any order, each node's capacity view offers the pool's
#     100 GiB;
#   - five orders of a 30 GB plan sent at once: three run (90 of 100 GiB),
#     two fail no_capacity and leave no allocation; counted per node, the
#     pool would have taken six;
#   - each node's capacity view then offers 100 GiB less the other's
#     servers' disk;
#   - a server moved between them holds its disk once: the target's
#     claim holds none (the pool counts it on the source), its view does
#     not change while the move waits for its engine, and that engine's
#     admission lets the server in (migration 0044);
#   - a pool declared on a while its engine runs is made and reported by
#     that engine within seconds (engines/engine.c add_new_pools).
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
export SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8 SLIPWAY_ORDER_RATE=0
sw_t_panel
for p in 1 2; do
    sw_t_daemon "prov$p" env SLIPWAY_HEARTBEAT_INTERVAL=1 slipway-provisioner
done

j() { jq -r "$1" <<<"$SW_BODY"; }
api() { sw_t_api "$@"; }
q() { sw_t_psql -c "$1"; }
is() { [ "$(q "$1")" = "$2" ]; }

api POST /v1/admin/locations "$OP" '{"code":"fra1","name":"Frankfurt"}'
LOC=$(j .id)
POOLS='[{"name":"vg0","type":"logical","path":"vg0","shared":true}]'
declare -A NODE
for n in a b; do
    cat >"$SW_T_DIR/$n.xml" <<XML
<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>8</cores><threads>1</threads><active>8</active><mhz>2400</mhz><model>x86_64</model></cpu><memory>16777216</memory>
<pool type='logical'><name>vg0</name><source><name>vg0</name></source><target><path>/dev/vg0</path></target></pool></node>
XML
    api POST /v1/admin/nodes "$OP" "{\"name\":\"$n\",\"location_id\":\"$LOC\",\"engine_uri\":\"test://$SW_T_DIR/$n.xml\",\"kinds\":[\"hvm\"],\"cpus\":8,\"ram_mb\":16384,\"disk_gb\":500,\"pools\":$POOLS}"
    NODE[$n]=$(j .id)
    sw_t_daemon "engine_$n" env SLIPWAY_NODE_ID="${NODE[$n]}" SLIPWAY_HEARTBEAT_INTERVAL=1 \
        SLIPWAY_USAGE_INTERVAL=1 slipway-engine
done
A=${NODE[a]} B=${NODE[b]}
for n in a b; do
    sw_t_check "node $n's engine reports the shared pool" sw_t_wait "report $n" 30 is \
        "select count(*) from node_pools where node_id = '${NODE[$n]}' and shared and present and reported_at is not null" 1
done
disk() { api GET "/v1/admin/nodes/$1/capacity" "$OP"; j '.classes.DISK | "\(.capacity) \(.used)"'; }
sw_t_eq "before any order each node offers the pool's 100 GiB" "100 0,100 0" "$(disk "$A"),$(disk "$B")"

api POST /v1/admin/plans "$OP" '{"name":"hvm-30","kind":"hvm","vcpus":1,"ram_mb":512,"disk_gb":30,"price_hourly":{"amount":1,"currency":"EUR"},"price_monthly":{"amount":500,"currency":"EUR"}}'
PLAN=$(j .id)
api POST /v1/admin/templates "$OP" '{"name":"Debian 12","kind":"hvm","os":"debian-12"}'
TPL=$(j .id)
api POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"c@example.com","name":"c","password":"c-password-1"}'
api POST /v1/auth/login "" '{"email":"c@example.com","password":"c-password-1"}'
TOK=$(j .token)
pids=()
for i in 1 2 3 4 5; do
    curl -s -o /dev/null -X POST -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' \
        --data-binary "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"s$i.example.com\"}" \
        "$SW_URL/v1/orders" &
    pids+=($!)
done
wait "${pids[@]}"
settled() { is "select count(*) from servers where state in ('running', 'failed')" 5; }
sw_t_check "the five orders settle" sw_t_wait "orders settled" 60 settled
sw_t_eq "three run (90 of the shared 100 GiB), two fail no_capacity" "3 2" \
    "$(q "select count(*) filter (where state = 'running') || ' ' ||
             (select count(*) from jobs where type = 'create' and error_code = 'no_capacity') from servers")"
sw_t_eq "allocations: the three running servers' 90 GB, on the two nodes together" "3 90" \
    "$(q "select count(*) || ' ' || sum(disk_gb) from allocations")"
UA=$(q "select coalesce(sum(disk_gb), 0) from allocations where node_id = '$A'")
UB=$(q "select coalesce(sum(disk_gb), 0) from allocations where node_id = '$B'")
sw_t_eq "each node now offers 100 GiB less the other's servers' disk" \
    "$((100 - UB)) $UA,$((100 - UA)) $UB" "$(disk "$A"),$(disk "$B")"

# ---- a move between the two nodes holds the disk once ----
# From the node with more servers to the other (each test-driver node's
# stand-in for the shared pool is its own, and must take the copy). The
# target's engine is paused so that the move waits in its target half with
# the claim held; the target's view of the pool must not change meanwhile.
if [ "$(q "select count(*) from allocations where node_id = '$A'")" -ge 2 ]; then
    SRC=$A DST=$B DPID=$SW_T_PID_engine_b
else
    SRC=$B DST=$A DPID=$SW_T_PID_engine_a
fi
MV=$(q "select id from servers where state = 'running' and node_id = '$SRC' limit 1")
sw_t_eq "the server to move has its volumes recorded in vg0 only" "true 0" \
    "$(q "select (count(*) > 0) || ' ' || count(*) filter (where pool <> 'vg0') from server_disks where server_id = '$MV'")"
DVIEW=$(disk "$DST")
kill -STOP "$DPID"
api POST "/v1/admin/servers/$MV/migrate" "$OP" "{\"node_id\":\"$DST\"}"
sw_t_eq "the move is accepted" 202 "$SW_STATUS"
MJ=$(j .job.id)
sw_t_check "the claim on the target is held" sw_t_wait "claim" 30 is \
    "select count(*) from migration_claims where server_id = '$MV' and node_id = '$DST'" 1
sw_t_eq "the target's claim holds no disk: the shared pool already counts it on the source" "0 30" \
    "$(q "select c.disk_gb || ' ' || a.disk_gb from migration_claims c join allocations a using (server_id) where c.server_id = '$MV'")"
sw_t_eq "the target's view of the pool is unchanged while the move waits" "$DVIEW" "$(disk "$DST")"
kill -CONT "$DPID"
sw_t_check "the move succeeds (the target's engine admits it)" sw_t_wait "moved" 60 is \
    "select state || ' ' || (select node_id = '$DST' from servers where id = '$MV') from jobs where id = '$MJ'" "succeeded true"
UA=$(q "select coalesce(sum(disk_gb), 0) from allocations where node_id = '$A'")
UB=$(q "select coalesce(sum(disk_gb), 0) from allocations where node_id = '$B'")
sw_t_eq "after the move each node still offers 100 GiB less the other's servers' disk" \
    "$((100 - UB)) $UA,$((100 - UA)) $UB" "$(disk "$A"),$(disk "$B")"

# ---- a pool declared while the engine runs ----
PA=$SW_T_PID_engine_a
api PATCH "/v1/admin/nodes/$A" "$OP" "{\"pools\":[{\"name\":\"vg0\",\"type\":\"logical\",\"path\":\"vg0\",\"shared\":true},{\"name\":\"extra\",\"type\":\"dir\",\"path\":\"$SW_T_DIR/extra\"}]}"
sw_t_eq "a second pool declared on a" 200 "$SW_STATUS"
sw_t_check "a's running engine makes and reports it within seconds, no restart" sw_t_wait "extra reported" 15 is \
    "select count(*) from node_pools where node_id = '$A' and name = 'extra' and present and reported_at is not null" 1
sw_t_check "the same engine process" kill -0 "$PA"
sw_t_done
