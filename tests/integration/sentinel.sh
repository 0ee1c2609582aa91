#!/usr/bin/env bash
# Redis Sentinel: the whole stack on redis-sentinel:// while the master
# changes twice under a stream of orders.
#
# One master (a), one replica (b) and three sentinels on loopback ports of
# the test's own (tests/lib/sentinel.sh); PostgreSQL, the panel, one
# provisioner, billing and two test-driver engines, every daemon with
# SLIPWAY_REDIS_URL=redis-sentinel://.../swm. SW_SENT_ORDERS orders (40) are
# placed through the API at SW_SENT_RATE a second (1.25), and meanwhile:
#   1. kill -9 of the master a: the sentinels promote b; every daemon must
#      reconnect to b (its link broke). a is restarted, empty, and the
#      sentinels make it b's replica;
#   2. b is demoted by hand (REPLICAOF a port nothing listens on: what an
#      old master that lost a partition looks like): its clients are not
#      disconnected, they get READONLY (and UNBLOCKED for a blocked read);
#      the sentinels see b report itself a replica and promote a. As soon
#      as one names a, the sentinels' failover-timeout goes to 120 s, which
#      is how long they now wait before reconfiguring b (a reconfiguration
#      disconnects b's clients, and would rescue a daemon that ignored
#      READONLY). Every daemon must treat READONLY as a broken link and move
#      to a on its own.
# Then: every accepted order reaches a terminal state (running, or failed
# with an error code) within SW_SENT_DRAIN seconds (60), no server has
# domains on two nodes, one allocation per live server, and each daemon's
# log shows both moves (event=redis.master). Printed figures: the failover
# time each daemon saw (from the kill or the demotion to its first command
# on the new master), the panel's /healthz outage, orders accepted and
# terminal, time to drain after the last order.
. "$(dirname "$0")/../lib/harness.sh"
# shellcheck source=../lib/sentinel.sh
. "$SW_SRCDIR/tests/lib/sentinel.sh"
ORDERS=${SW_SENT_ORDERS:-40}
RATE=${SW_SENT_RATE:-1.25}
KILL_AFTER=${SW_SENT_KILL_AFTER:-6}
DRAIN=${SW_SENT_DRAIN:-60}
T0=$SECONDS
LOAD_PID='' HEALTH_PID=''

# The daemons stop first (sw_t_cleanup), the sentinels and their servers after.
sw_t_sent_cleanup() {
    local rc=$? i
    for i in ${LOAD_PID:-} ${HEALTH_PID:-}; do kill "$i" 2>/dev/null; done
    for i in "${!SW_T_PIDS[@]}"; do kill "${SW_T_PIDS[$i]}" 2>/dev/null; done
    for i in "${!SW_T_PIDS[@]}"; do wait "${SW_T_PIDS[$i]}" 2>/dev/null; done
    sw_sent_stop "$SW_T_DIR"
    (exit "$rc")
    sw_t_cleanup
}
trap sw_t_sent_cleanup EXIT
export SLIPWAY_CLAIM_IDLE_MS=3000 SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8
sw_pg_start "$SW_T_DIR" fast || exit 99
sw_sent_start "$SW_T_DIR" || exit 99
export SLIPWAY_DATABASE_URL=$SW_PG_URL SLIPWAY_REDIS_URL=$SW_SENT_URL
PA=$SW_SENT_PORT_a PB=$SW_SENT_PORT_b
echo "# master a=127.0.0.1:$PA replica b=127.0.0.1:$PB sentinels=$SW_SENT_SPORTS"
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
sw_t_panel

j() { jq -r "$1" <<<"$SW_BODY"; }
q() { sw_t_psql -c "$1"; }
now_ms() { date -u +%s%3N; }
must() {
    sw_t_api "$@"
    case $SW_STATUS in 2??) ;; *) echo "setup: $1 $2 answered $SW_STATUS: $SW_BODY"; exit 99 ;; esac
}

must POST /v1/admin/locations "$OP" '{"code":"sent1","name":"Sentinel"}'
LOC=$(j .id)
must POST /v1/admin/ip-pools "$OP" "{\"location_id\":\"$LOC\",\"network\":\"10.66.0.0/16\",\"gateway\":\"10.66.0.1\"}"
must POST /v1/admin/ip-pools "$OP" "{\"location_id\":\"$LOC\",\"network\":\"2001:db8:66::/48\",\"gateway\":\"2001:db8:66::1\"}"
# Two nodes: node 1 hosts container and hvm, node 2 pv. The seeded choices
# (seed 11) ask 15 container and 17 hvm servers of node 1, whose MEM_MAX
# (16384 MiB x 1.5 = 24576) holds all but one of them (25088 MiB asked):
# one order fails with no_capacity, a clear failure, as the checks allow.
declare -a NID
KINDS=('["container","hvm"]' '["pv"]')
for i in 1 2; do
    slipwayctl node-file "$SW_T_DIR/node$i.xml" 8 16384 || exit 99
    must POST /v1/admin/nodes "$OP" "{\"name\":\"n$i\",\"location_id\":\"$LOC\",\"engine_uri\":\"test://$SW_T_DIR/node$i.xml\",\"kinds\":${KINDS[$((i - 1))]},\"cpus\":8,\"ram_mb\":16384,\"disk_gb\":2000,\"cpu_ratio\":4,\"ram_ratio\":1.5}"
    NID[i]=$(j .id)
    sw_t_daemon "engine$i" env SLIPWAY_NODE_ID="${NID[$i]}" SLIPWAY_USAGE_INTERVAL=2 slipway-engine
done
declare -A TPL
for kind in container pv hvm; do
    must POST /v1/admin/templates "$OP" "{\"name\":\"Debian 12\",\"kind\":\"$kind\",\"os\":\"debian-12\"}"
    TPL[$kind]=$(j .id)
done
: >"$SW_T_DIR/choices"
for spec in "ct container 1 256 0 256 5" "pv pv 1 512 0 0 10" "hvm hvm 1 512 1024 0 10"; do
    read -r name kind v ram burst swap disk <<<"$spec"
    must POST /v1/admin/plans "$OP" "{\"name\":\"$name\",\"kind\":\"$kind\",\"vcpus\":$v,\"ram_mb\":$ram,\"burst_ram_mb\":$burst,\"swap_mb\":$swap,\"disk_gb\":$disk,\"price_hourly\":{\"amount\":1,\"currency\":\"EUR\"},\"price_monthly\":{\"amount\":500,\"currency\":\"EUR\"}}"
    echo "$(j .id) ${TPL[$kind]}" >>"$SW_T_DIR/choices"
done
: >"$SW_T_DIR/tokens"
for c in 1 2 3 4; do
    must POST /v1/admin/accounts "$OP" "{\"kind\":\"customer\",\"email\":\"s$c@example.com\",\"name\":\"s$c\",\"password\":\"s$c-secret-pw\"}"
    must POST /v1/auth/login "" "{\"email\":\"s$c@example.com\",\"password\":\"s$c-secret-pw\"}"
    j .token >>"$SW_T_DIR/tokens"
done
sw_t_daemon prov slipway-provisioner
sw_t_daemon billing env SLIPWAY_BILLING_INTERVAL=3600 slipway-billing
engines_up() { [ "$(q "select count(*) from nodes where last_heartbeat_at is not null")" = 2 ]; }
sw_t_wait "engines" 60 engines_up || exit 99
DAEMONS="panel prov billing engine1 engine2"

# The panel's /healthz every 0.2 s ("MS STATUS" a line) until told to stop.
health_poll() {
    while [ ! -e "$SW_T_DIR/health.stop" ]; do
        echo "$(now_ms) $(curl -s -o /dev/null -m 2 -w '%{http_code}' "$SW_URL/healthz")"
        sleep 0.2
    done >"$SW_T_DIR/health"
}
health_poll &
HEALTH_PID=$!

# ---- the orders, and the two failovers under them ----
LOAD_T=$(now_ms)
python3 "$SW_SRCDIR/tests/integration/orders_load.py" "$SW_URL" "$SW_T_DIR/tokens" \
    "$SW_T_DIR/choices" "$ORDERS" 4 11 "$RATE" >"$SW_T_DIR/placed" &
LOAD_PID=$!
master_is() { [ "$(sw_sent_master)" = "$1" ]; }
replicates() { # PORT MASTER_PORT [LINK]: a replica of MASTER_PORT (with its link LINK)
    local info
    info=$(sw_sent_cli "$1" INFO replication | tr -d '\r')
    grep -qx role:slave <<<"$info" && grep -qx "master_port:$2" <<<"$info" &&
        { [ -z "${3:-}" ] || grep -qx "master_link_status:$3" <<<"$info"; }
}
replica_of() { replicates "$1" "$2" up; }

sleep "$KILL_AFTER"
KILL_T=$(now_ms)
sw_sent_kill9 "$SW_T_DIR" a
echo "# 1. killed the master a (kill -9) at +$(((KILL_T - LOAD_T) / 1000))s of the load"
sw_t_check "1. the sentinels promote the replica b" sw_t_wait "b promoted" 30 master_is "$PB"
PROMOTE_T=$(now_ms)
sw_sent_redis_start "$SW_T_DIR" a || exit 99
sw_t_check "1. the restarted a (empty, a master) is made b's replica" \
    sw_t_wait "a replica of b" 40 replica_of "$PA" "$PB"

DEMOTE_T=$(now_ms)
sw_sent_cli "$PB" REPLICAOF 127.0.0.1 1 >/dev/null
echo "# 2. demoted b by hand (REPLICAOF a dead port) at +$(((DEMOTE_T - LOAD_T) / 1000))s of the load"
sw_t_wait "a promoted" 40 sw_sent_named "$PA"
REPROMOTE_T=$(now_ms)
sw_sent_set failover-timeout 120000 || exit 99
sw_t_check "2. the sentinels promote a again" sw_t_wait "a promoted" 20 master_is "$PA"

wait "$LOAD_PID"
LOAD_END=$(now_ms)

# ---- drain, then the invariants ----
awk '$1 == 202 {print $2}' "$SW_T_DIR/placed" | sort >"$SW_T_DIR/ids"
ACCEPTED=$(grep -c . "$SW_T_DIR/ids")
IDS="'$(paste -sd, "$SW_T_DIR/ids" | sed "s/,/','/g")'"
unfinished() {
    q "select count(*) from jobs where server_id in ($IDS) and type = 'create'
       and state in ('queued', 'running')"
}
drained() { [ "$(unfinished)" = 0 ]; }
sw_t_eq "every order was accepted (202), Redis or not" "$ORDERS" "$ACCEPTED"
sw_t_check "every accepted order's create job finishes within ${DRAIN}s" sw_t_wait "drain" "$DRAIN" drained
DRAIN_T=$(now_ms)
touch "$SW_T_DIR/health.stop"
wait "$HEALTH_PID"
if ! drained; then
    q "select k || ': ' || count(*) from (select j.state || ' ' || s.state || ' attempts=' || j.attempts k
       from jobs j join servers s on s.id = j.server_id where j.server_id in ($IDS)
       and j.type = 'create' and j.state in ('queued', 'running')) x group by k" | sed 's/^/# stuck: /'
fi
sw_t_check "2. ... and b was not reconfigured meanwhile (its clients were never disconnected for them)" \
    replicates "$PB" 1
TERMINAL=$(q "select count(*) from servers s join jobs j on j.server_id = s.id and j.type = 'create'
              where s.id in ($IDS) and ((s.state = 'running' and j.state = 'succeeded')
              or (s.state = 'failed' and j.state in ('failed', 'dead') and j.error_code is not null))")
RUNNING=$(q "select count(*) from servers where id in ($IDS) and state = 'running'")
sw_t_eq "every accepted order is terminal: running, or failed with an error code" "$ACCEPTED" "$TERMINAL"
sw_t_eq "one server per accepted order, and no other" "$ACCEPTED $ACCEPTED" \
    "$(q "select count(*) from servers where id in ($IDS)") $(q "select count(*) from servers")"
# Servers whose domain some engine created, with the node: never two nodes.
for i in 1 2; do
    grep 'event=job.done .*type=create' "$SW_T_DIR/engine$i.log" |
        sed -n 's/.* server=\([0-9a-fA-F-]*\) .*/\1/p' | tr 'A-F' 'a-f' | sort -u | sed "s/\$/ $i/"
done >"$SW_T_DIR/domains"
sw_t_eq "no server has domains on two nodes" 0 "$(awk '{print $1}' "$SW_T_DIR/domains" | sort | uniq -d | wc -l)"
sw_t_eq "one allocation per live server, none for others" 0 \
    "$(q "select (select count(*) from allocations a join servers s on s.id = a.server_id
                  where s.state not in ('provisioning', 'running'))
               + (select count(*) from servers s where s.state = 'running' and (select count(*)
                  from allocations a where a.server_id = s.id and a.node_id = s.node_id) <> 1)")"

# ---- each daemon moved twice; the figures ----
log_ms() { date -u -d "$1" +%s%3N; }
# first_move NAME PORT SINCE_MS: ms from SINCE_MS to NAME's first
# redis.master line naming PORT after SINCE_MS ("" if none).
first_move() {
    local ts
    for ts in $(grep "event=redis.master .*addr=127.0.0.1:$2 " "$SW_T_DIR/$1.log" |
        sed -n 's/^ts=\([^ ]*\) .*/\1/p'); do
        ts=$(log_ms "$ts")
        if [ "$ts" -ge "$3" ]; then echo $((ts - $3)); return; fi
    done
}
M1="" M2=""
for d in $DAEMONS; do
    m1=$(first_move "$d" "$PB" "$KILL_T") m2=$(first_move "$d" "$PA" "$DEMOTE_T")
    sw_t_check "$d moved to b after the kill (redis.master addr=...:$PB)" test -n "$m1"
    sw_t_check "$d moved to a after b's demotion (redis.master addr=...:$PA)" test -n "$m2"
    M1="$M1 $d=${m1:-never}ms" M2="$M2 $d=${m2:-never}ms"
done
readonly_seen=$(cat "$SW_T_DIR"/*.log | grep -c 'READONLY\|UNBLOCKED' || true)
sw_t_check "the demotion reached the daemons as READONLY/UNBLOCKED replies (logged $readonly_seen times)" \
    test "$readonly_seen" -gt 0
# The sweeper dispatches unanswered jobs again when Redis's run_id changes:
# after the kill its connection broke, so it must have seen b's. (After the
# demotion it may idle on b, which still answers INFO, until it next writes.)
restarts=$(grep -c 'event=redis.restarted' "$SW_T_DIR/prov.log" || true)
sw_t_check "the provisioner saw the new master's run_id after the kill (unanswered jobs sent again)" \
    test "$restarts" -ge 1

# TLS to the sentinels (tls=1) is not spoken yet: refused with a clear error.
timeout 3 env SLIPWAY_REDIS_URL="$SW_SENT_URL?tls=1" slipway-billing >"$SW_T_DIR/tls.log" 2>&1
sw_t_check "tls=1 is refused as unsupported, saying so" \
    grep -q 'code=unsupported .*does not speak TLS to redis sentinels' "$SW_T_DIR/tls.log"

# /healthz after SINCE_MS: how long until the first 200 after a non-200.
health_gap() { # SINCE_MS
    awk -v t="$1" '$1 >= t && $2 != 200 { down = 1 }
        $1 >= t && down && $2 == 200 { print "back after " $1 - t " ms"; back = 1; exit }
        END { if (!down) print "never down"; else if (!back) print "never back" }' "$SW_T_DIR/health"
}
created_between() { # FROM_MS TO_MS
    q "select count(*) from servers where id in ($IDS)
       and created_at >= to_timestamp($1 / 1000.0) and created_at < to_timestamp($2 / 1000.0)"
}
FAR=$((LOAD_END + 1000))
echo "# failover 1 (kill -9 of a): all sentinels named b after $((PROMOTE_T - KILL_T)) ms; daemons on b after:$M1;" \
    "panel /healthz $(health_gap "$KILL_T")"
echo "# failover 2 (b demoted): a sentinel named a after $((REPROMOTE_T - DEMOTE_T)) ms; daemons on a after:$M2;" \
    "panel /healthz $(health_gap "$DEMOTE_T") (PING answers on a replica)"
echo "# orders: placed=$ORDERS accepted=$ACCEPTED terminal=$TERMINAL running=$RUNNING" \
    "failed=$((TERMINAL - RUNNING)) stuck=$(unfinished);" \
    "accepted before the kill=$(created_between "$LOAD_T" "$KILL_T")" \
    "between the kill and b's promotion=$(created_between "$KILL_T" "$PROMOTE_T")" \
    "while b was master=$(created_between "$PROMOTE_T" "$DEMOTE_T")" \
    "between the demotion and a's promotion=$(created_between "$DEMOTE_T" "$REPROMOTE_T")" \
    "after=$(created_between "$REPROMOTE_T" "$FAR")"
q "select k || ': ' || count(*) from (select j.state || ' ' || coalesce(j.error_code, '-') || ' \"'
   || coalesce(j.error, '-') || '\"' k from jobs j join servers s on s.id = j.server_id
   where s.id in ($IDS) and j.type = 'create' and s.state = 'failed') x group by k" |
    sed 's/^/# failed orders: /'
echo "# provisioner: run_id changes seen=$restarts, jobs dispatched again for them=$(grep -c 'event=job.silent .*why=redis_restarted' "$SW_T_DIR/prov.log")"
echo "# drain: all terminal $((DRAIN_T - LOAD_END)) ms after the last order; sentinel test total $((SECONDS - T0))s"
sw_t_done
