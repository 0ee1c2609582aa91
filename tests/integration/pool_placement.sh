#!/usr/bin/env bash
# Placement by storage pools and disk metering, over HTTP with a real
# provisioner, billing and two test-driver engines whose node files hold a
# logical pool "vg0" (the test driver's pools hold 100 GiB; a block pool's
# root volume is a raw copy, so its allocation is the plan's whole size):
#   - node A's pool is already 95 GiB full (a volume of the node file):
#     its engine reports it and raises node.pool_full; the node's answer
#     shows full: true, and orders go to B;
#   - B's pool shows the thin total of its servers (allocated_gb); the
#     nodes say disk_gb 15, but once their pools report, the DISK class is
#     the pools' 100 GiB, for placement and the engine's own re-check alike;
#   - a server's usage samples carry disk_bytes, its volumes' allocation
#     (= the disk GET /v1/servers/{id} shows), and its draft invoice a disk
#     line;
#   - a stopped server holds its disk all the same: it is sampled while
#     stopped (its disk for whole periods, no cpu, memory or traffic), billing
#     takes every sample (it is placed there) once, and its invoice's disk
#     line counts the stopped time;
#   - with B's threshold lowered past its allocation, no node takes the
#     next order: it fails with "no node has room for this plan" and leaves
#     no allocation, volume or node job behind; a resize of the server
#     already on B still goes ahead.
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
export SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8
sw_t_panel
sw_t_daemon provisioner env SLIPWAY_HEARTBEAT_INTERVAL=1 slipway-provisioner
sw_t_daemon billing slipway-billing

j() { jq -r "$1" <<<"$SW_BODY"; }
api() { sw_t_api "$@"; }
q() { sw_t_psql -c "$1"; }
is() { [ "$(q "$1")" = "$2" ]; }
GIB=1073741824

# A test-driver node file with a logical pool vg0, holding a volume of
# FILL_GIB GiB that is no server's.
node_file() { # PATH FILL_GIB
    local vol=""
    [ "$2" -gt 0 ] && vol="<volume><name>other-data</name><capacity unit='GiB'>$2</capacity><allocation unit='GiB'>$2</allocation><target><path>/dev/vg0/other-data</path></target></volume>"
    cat >"$1" <<EOF
<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>8</cores><threads>1</threads><active>8</active><mhz>2400</mhz><model>x86_64</model></cpu><memory>16777216</memory>
<pool type='logical'><name>vg0</name><source><name>vg0</name></source><target><path>/dev/vg0</path></target>$vol</pool></node>
EOF
}

api POST /v1/admin/locations "$OP" '{"code":"fra1","name":"Frankfurt"}'
LOC=$(j .id)
POOLS='[{"name":"vg0","type":"logical","path":"vg0","fill_threshold":90}]'
declare -A NODE
for n in a b; do
    node_file "$SW_T_DIR/$n.xml" "$([ $n = a ] && echo 95 || echo 0)"
    api POST /v1/admin/nodes "$OP" "{\"name\":\"$n\",\"location_id\":\"$LOC\",\"engine_uri\":\"test://$SW_T_DIR/$n.xml\",\"kinds\":[\"hvm\"],\"cpus\":8,\"ram_mb\":16384,\"disk_gb\":15,\"pools\":$POOLS}"
    NODE[$n]=$(j .id)
    sw_t_eq "node $n before its engine reports: pool not full, no capacity yet" "false null" \
        "$(j '.pools[0] | "\(.full) \(.capacity_gb)"')"
done
A=${NODE[a]} B=${NODE[b]}
for n in a b; do
    sw_t_daemon "engine_$n" env SLIPWAY_NODE_ID="${NODE[$n]}" SLIPWAY_HEARTBEAT_INTERVAL=1 \
        SLIPWAY_USAGE_INTERVAL=1 slipway-engine
done
for n in a b; do
    sw_t_check "node $n's engine reports its pool" sw_t_wait "report $n" 30 is \
        "select count(*) from node_pools where node_id = '${NODE[$n]}' and present and reported_at is not null" 1
done

# ---- A's pool is full: an event, the operator's view ----
sw_t_check "A raises node.pool_full for vg0" sw_t_wait "pool_full" 15 is \
    "select string_agg(kind || ' ' || (detail->>'pool'), ',') from node_events where node_id = '$A'" "node.pool_full vg0"
sw_t_eq "B raises no event" 0 "$(q "select count(*) from node_events where node_id = '$B'")"
api GET "/v1/admin/nodes/$A" "$OP"
sw_t_eq "A's pool: full, 100 GiB x 1.0, 95 GiB allocated by the node, no server on it" \
    "true 100 $((95 * GIB)) 0" "$(j '.pools[0] | "\(.full) \(.capacity_gb) \(.allocation_bytes) \(.allocated_gb)"')"
api GET "/v1/admin/nodes/$B" "$OP"
sw_t_eq "B's pool: not full, 100 GiB" "false 100 0" "$(j '.pools[0] | "\(.full) \(.capacity_gb) \(.allocated_gb)"')"

# ---- orders go to B ----
api POST /v1/admin/plans "$OP" '{"name":"hvm-10","kind":"hvm","vcpus":1,"ram_mb":512,"disk_gb":10,"price_hourly":{"amount":1,"currency":"EUR"},"price_monthly":{"amount":500,"currency":"EUR"},"price_disk_gb_month":{"amount":100000000,"currency":"EUR"}}'
PLAN=$(j .id)
api POST /v1/admin/plans "$OP" '{"name":"hvm-20","kind":"hvm","vcpus":2,"ram_mb":1024,"disk_gb":20,"price_hourly":{"amount":1,"currency":"EUR"},"price_monthly":{"amount":900,"currency":"EUR"}}'
PLAN2=$(j .id)
api POST /v1/admin/templates "$OP" '{"name":"Debian 12","kind":"hvm","os":"debian-12"}'
TPL=$(j .id)
api POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"alice@example.com","name":"alice","password":"alice-password"}'
api POST /v1/auth/login "" '{"email":"alice@example.com","password":"alice-password"}'
ALICE=$(j .token)
order() { # HOST: sets SRV
    api POST /v1/orders "$ALICE" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"$1\"}"
    SRV=$(j .server.id)
}
SRVS=()
for i in 1 2 3; do
    order "s$i.example.com"
    SRVS+=("$SRV")
done
for s in "${SRVS[@]}"; do
    sw_t_check "server $s runs" sw_t_wait "$s running" 30 is "select state from servers where id = '$s'" running
done
sw_t_eq "every order went to B, 30 GB of plans past its disk_gb of 15" "3 $B" "$(q "select count(*) || ' ' || min(node_id::text) from servers where node_id is not null")"
S1=${SRVS[0]}
api GET "/v1/admin/nodes/$B" "$OP"
sw_t_eq "B's pool holds 3 x 10 GB of plans (thin total)" "false 30" "$(j '.pools[0] | "\(.full) \(.allocated_gb)"')"

# ---- disk space metered ----
api GET "/v1/servers/$S1" "$ALICE"
DISK=$(j '[.disks[] | .size_gb] | add')
sw_t_eq "the server's disks: its raw root volume and its NoCloud seed in vg0" '[{"format":"raw","pool":"vg0","role":"root","size_gb":10},{"format":"iso","pool":"vg0","role":"seed","size_gb":0}]' \
    "$(jq -c '[.disks[] | {format, pool, role, size_gb}]' <<<"$SW_BODY")"
sw_t_check "its usage samples carry disk_bytes" sw_t_wait "disk samples" 20 is \
    "select count(*) >= 2 from usage_samples where server_id = '$S1' and disk_bytes > 0" t
sw_t_eq "every sample since its first with a disk: its volumes' allocation, the $DISK GiB root and the 1 MiB seed" \
    "$((DISK * GIB + 1048576))" \
    "$(q "select string_agg(distinct disk_bytes::text, ',') from usage_samples where server_id = '$S1'
          and ts >= (select min(ts) from usage_samples where server_id = '$S1' and disk_bytes > 0)")"
sw_t_eq "hourly sums keep its byte-seconds" t \
    "$(q "select sum(disk_byte_s) = (select sum(disk_bytes::numeric * period_s) from usage_samples where server_id = '$S1')
          from usage_hourly where server_id = '$S1'")"
# A draft run, again until the line shows: a draft within the second the
# server's billing period opened (when PostgreSQL recorded it running)
# rates 0 seconds of it and so no disk line (seen once in five runs).
LINE_SQL="select l.quantity || ' ' || (l.amount > 0) from invoice_lines l where l.server_id = '$S1' and l.kind = 'disk'"
s1_rated() { slipwayctl invoice run --draft | grep -q 'draft invoice' && [ -n "$(q "$LINE_SQL")" ]; }
sw_t_check "a draft invoice rates it" sw_t_wait "S1's disk line" 15 s1_rated
LINE=$(q "$LINE_SQL")
sw_t_eq "the invoice has a disk line for the server, with an amount: $LINE" 1 \
    "$(grep -Ec '^[1-9][0-9]* true$' <<<"$LINE")"
echo "# disk line (quantity: bytes on average over the month, amount > 0): $LINE"

# ---- a stopped server is billed for the disk it holds ----
S2=${SRVS[1]}
api POST "/v1/servers/$S2/actions" "$ALICE" '{"type":"stop"}'
sw_t_check "S2 stops" sw_t_wait "S2 stopped" 30 is "select state from servers where id = '$S2'" stopped
# Its domain was off before the job succeeded: periods ending 2 s later are stopped ones.
STOP=$(q "select extract(epoch from now())::bigint + 2")
stopped_samples() { # WHAT
    q "select $1 from usage_samples where server_id = '$S2' and ts > to_timestamp($STOP)"
}
sw_t_check "S2 is sampled while stopped" sw_t_wait "stopped samples" 20 is \
    "select count(*) >= 4 from usage_samples where server_id = '$S2' and ts > to_timestamp($STOP)" t
sw_t_eq "each stopped sample: its volumes' allocation for a whole period, no cpu, memory or traffic" \
    "$((DISK * GIB + 1048576)) 1 1 0 0 0" \
    "$(stopped_samples "string_agg(distinct disk_bytes::text, ',') || ' ' || min(period_s) || ' ' ||
        max(period_s) || ' ' || max(cpu_ns) || ' ' || max(mem_mb + mem_max_mb) || ' ' ||
        max(net_rx_bytes + net_tx_bytes + disk_rd_bytes + disk_wr_bytes)")"
sw_t_eq "billing refused none of B's samples, and none is left unread" "0 0" \
    "$(q "select count(*) from rejected_messages") $(sw_t_redis XLEN "dead:usage:$B")"
sw_t_eq "each sample is stored once and summed once (hourly byte-seconds)" t \
    "$(q "select sum(disk_byte_s) = (select sum(disk_bytes::numeric * period_s) from usage_samples where server_id = '$S2')
          from usage_hourly where server_id = '$S2'")"
# quantity = the average bytes held over the month = byte-seconds / the month's seconds
MONTH_S="extract(epoch from date_trunc('month', now()) + interval '1 month' - date_trunc('month', now()))"
BYTE_S="floor(sum(disk_bytes::numeric * period_s) / $MONTH_S)"
S2LINE="select count(*) || ' ' ||
               bool_and(l.quantity > (select coalesce($BYTE_S, 0) from usage_samples
                                      where server_id = '$S2' and mem_mb > 0)) || ' ' ||
               bool_and(l.quantity <= (select $BYTE_S from usage_samples where server_id = '$S2'))
        from invoice_lines l where l.server_id = '$S2' and l.kind = 'disk' and l.amount > 0"
# A draft run, again until its lines show (the billing daemon drafts too).
s2_rated() { slipwayctl invoice run --draft | grep -q '^1 draft invoice ' && [ "$(q "$S2LINE")" = "1 true true" ]; }
sw_t_check "a draft invoice rates S2" sw_t_wait "S2's disk line" 15 s2_rated
sw_t_eq "S2's disk line counts its stopped time: its quantity is past what its running samples hold, within all of them" \
    "1 true true" "$(q "$S2LINE")"
echo "# S2's disk line (stopped since $STOP): $(q "select quantity || ' bytes, ' || amount from invoice_lines where server_id = '$S2' and kind = 'disk'"); samples stopped: $(stopped_samples 'count(*)'), running: $(q "select count(*) from usage_samples where server_id = '$S2' and mem_mb > 0")"

# ---- no pool takes new servers: the order fails, nothing behind ----
api GET "/v1/admin/nodes/$B/capacity" "$OP"
sw_t_eq "B's capacity view counts DISK from its pools, as placement does" "100 30" \
    "$(j '.classes.DISK | "\(.capacity) \(.used)"')"
api PATCH "/v1/admin/nodes/$B" "$OP" '{"pools":[{"name":"vg0","type":"logical","path":"vg0","fill_threshold":25}]}'
sw_t_eq "B's pool at 30 of 100 GiB is past a 25% threshold (its report kept)" "200 true" "$SW_STATUS $(j '.pools[0].full')"
XA=$(sw_t_redis XLEN "node:$A") XB=$(sw_t_redis XLEN "node:$B")
order "s4.example.com"
S4=$SRV
sw_t_check "the order fails" sw_t_wait "s4 failed" 30 is "select state from servers where id = '$S4'" failed
sw_t_eq "with today's reason" "no_capacity: no node has room for this plan" \
    "$(q "select error_code || ': ' || error from jobs where server_id = '$S4' and type = 'create'")"
sw_t_eq "nothing left behind: no allocation, disk, node or node job" "0 0 - $XA $XB" \
    "$(q "select (select count(*) from allocations where server_id = '$S4') || ' ' ||
                 (select count(*) from server_disks where server_id = '$S4') || ' ' ||
                 coalesce((select node_id::text from servers where id = '$S4'), '-')") $(sw_t_redis XLEN "node:$A") $(sw_t_redis XLEN "node:$B")"
sw_t_check "the provisioner names why: both nodes' pools are full" \
    grep -q "event=job.no_capacity .*server=$S4 .*pools_full=2" "$SW_T_DIR/provisioner.log"

# ---- a server already there still resizes ----
api POST "/v1/servers/$S1/actions" "$ALICE" "{\"type\":\"resize\",\"plan_id\":\"$PLAN2\"}"
RJOB=$(j .job.id)
sw_t_check "a resize on the full node succeeds" sw_t_wait "resize" 30 is "select state from jobs where id = '$RJOB'" succeeded
sw_t_eq "its allocation grew on B" "$B 20" "$(q "select node_id || ' ' || disk_gb from allocations where server_id = '$S1'")"

sw_t_done
