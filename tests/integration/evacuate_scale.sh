#!/usr/bin/env bash
# sw-test: full-size
# Node evacuation at scale (issue 15): 30 test-driver nodes, one engine
# process each (an engine serves one node), two provisioners, 300 servers.
# Node n01 holds 100 of them (ordered while the others were draining), the
# rest spread over the other 29. Then n01 and two more nodes are evacuated
# at once (parallel 8) while orders keep arriving, and a sampler reads every
# node's ledger (allocations plus migration claims) against its capacity
# every 0.3 s. Checks:
#   - the three evacuations complete, nothing unmovable;
#   - every server (old and new) runs exactly once: its domain is in its
#     node's domains file (engines/README.md "Domains file") and in no
#     other, in the state PostgreSQL says; none on an evacuated node;
#   - no node over capacity in any class at any sampled moment;
#   - no order lost: every accepted order's server runs, every create
#     succeeded, none of the new ones on an evacuated node;
#   - each moved server moved once (one succeeded migrate job, epoch 2),
#     and no server ever had two migrate jobs queued or running.
# Then the three go back to active and the engines of the five busiest
# other nodes are killed (kill -9) while 40 more orders arrive; every node
# has the libvirt fence agent and every plan is ha, on one shared pool:
#   - the five nodes, and only they, are fenced and failed;
#   - every server they held runs (or stays stopped) again exactly once on
#     a live node, epoch one more, one recover job and one server.recovered
#     each; none is left on a dead node;
#   - the sampler, running again, finds no node over capacity;
#   - every order placed meanwhile runs, none on a dead node;
#   - every server's domain once, on its node, in its state, across the
#     live engines' domains files.
# Prints the figures for the closing note: n01's 100 servers evacuated,
# seconds and servers moved per second (with two other nodes evacuating
# and orders arriving meanwhile), and the seconds from the five kills to
# all their ha servers running elsewhere.
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"
NODES=${SW_EVS_NODES:-30} BIG=${SW_EVS_BIG:-100} TOTAL=${SW_EVS_SERVERS:-300}
PAR=${SW_EVS_PARALLEL:-8} LATE=${SW_EVS_LATE_ORDERS:-40} KILL=${SW_EVS_KILL:-5}
SUSPECT=10 # heartbeats every 2 s: a node silent this long is suspect, then fenced
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
export SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8 SLIPWAY_ORDER_RATE=0
export SLIPWAY_LOG_LEVEL=warn
sw_t_panel
for p in 1 2; do
    sw_t_daemon "provisioner$p" env SLIPWAY_EVACUATE_INTERVAL_MS=100 SLIPWAY_CONSUMER="p$p" \
        SLIPWAY_HEARTBEAT_INTERVAL=2 SLIPWAY_HA_SUSPECT_S=$SUSPECT SLIPWAY_HA_CHECK_MS=300 \
        SLIPWAY_HA_FENCE_TIMEOUT_S=5 slipway-provisioner
done

j() { jq -r "$1" <<<"$SW_BODY"; }
must() {
    sw_t_api "$@"
    case $SW_STATUS in 2??) ;; *) echo "$1 $2: $SW_STATUS $SW_BODY"; exit 99 ;; esac
}
q() { sw_t_psql -c "$1"; }
is() { [ "$(q "$1")" = "$2" ]; }
ms() { echo $(($(date +%s%N) / 1000000)); }

must POST /v1/admin/locations "$OP" '{"code":"fra1","name":"Frankfurt"}'
LOC=$(j .id)
declare -a NODE
# the test driver's pools hold 100 GiB: thin-provisioned 20 times over, so
# disk never binds before vcpus do; one storage all nodes see (shared), so
# that a dead node's ha servers restart elsewhere from their volumes
POOLS='[{"name":"slipway","disk_ratio":20,"fill_threshold":100,"shared":true}]'
t0=$(ms)
for i in $(seq 1 "$NODES"); do
    n=$(printf n%02d "$i")
    # n01: 128 vcpus; the others 14 each (4 x 3.5): 27 of them hold 378,
    # for the 340 servers at the end, so they fill up
    cpus=$([ "$i" = 1 ] && echo 32 || echo 4) mb=$([ "$i" = 1 ] && echo 131072 || echo 32768)
    ratio=$([ "$i" = 1 ] && echo 4 || echo 3.5)
    slipwayctl node-file "$SW_T_DIR/$n.xml" "$cpus" "$mb" || exit 99
    must POST /v1/admin/nodes "$OP" "{\"name\":\"$n\",\"location_id\":\"$LOC\",\"engine_uri\":\"test://$SW_T_DIR/$n.xml\",\"kinds\":[\"hvm\"],\"cpus\":$cpus,\"ram_mb\":$mb,\"disk_gb\":5000,\"cpu_ratio\":$ratio,\"pools\":$POOLS,\"state\":\"$([ "$i" = 1 ] && echo active || echo draining)\"}"
    NODE[i]=$(j .id)
    # the libvirt fence agent: on a test-driver node it opens a fresh copy
    # of the node's file and succeeds; a node's death is its engine killed
    must PUT "/v1/admin/nodes/${NODE[i]}/fence" "$OP" '{"agent":"libvirt"}'
    sw_t_daemon "engine_$n" env SLIPWAY_NODE_ID="${NODE[i]}" SLIPWAY_HEARTBEAT_INTERVAL=2 \
        SLIPWAY_DOMAINS_FILE="$SW_T_DIR/$n.domains" slipway-engine
done
up() { [ "$(ls "$SW_T_DIR"/n*.domains 2>/dev/null | wc -l)" = "$NODES" ]; }
sw_t_wait "every engine's first domains file" 90 up || { echo "engines did not all start"; exit 99; }
echo "# $NODES engines up in $(($(ms) - t0)) ms; RSS of all engines: $(ps -o rss= -C slipway-engine | awk '{s+=$1} END {print int(s/1024)}') MiB"

PRICES='"price_hourly":{"amount":1,"currency":"EUR"},"price_monthly":{"amount":500,"currency":"EUR"}'
must POST /v1/admin/plans "$OP" "{\"name\":\"s\",\"kind\":\"hvm\",\"vcpus\":1,\"ram_mb\":1024,\"disk_gb\":1,\"ha\":true,$PRICES}"
PLAN=$(j .id)
must POST /v1/admin/templates "$OP" '{"name":"Debian 12","kind":"hvm","os":"debian-12"}'
echo "$PLAN $(j .id)" >"$SW_T_DIR/choices"
for c in 1 2 3 4; do
    must POST /v1/admin/accounts "$OP" "{\"kind\":\"customer\",\"email\":\"c$c@example.com\",\"name\":\"c$c\",\"password\":\"c-secret-pw\"}"
    must POST /v1/auth/login "" "{\"email\":\"c$c@example.com\",\"password\":\"c-secret-pw\"}"
    j .token >>"$SW_T_DIR/tokens"
done
orders() { # COUNT SEED RATE OUT
    python3 "$SW_SRCDIR/tests/integration/orders_load.py" "$SW_URL" "$SW_T_DIR/tokens" \
        "$SW_T_DIR/choices" "$1" 4 "$2" "$3" >"$4"
}
all_run() { is "select count(*) from servers where state <> 'running'" 0; }
t0=$(ms)
orders "$BIG" 1 0 "$SW_T_DIR/orders.1"
sw_t_wait "n01's servers running" 180 all_run || { echo "the first $BIG never ran"; exit 99; }
for i in $(seq 2 "$NODES"); do must PATCH "/v1/admin/nodes/${NODE[i]}" "$OP" '{"state":"active"}'; done
orders $((TOTAL - BIG)) 2 0 "$SW_T_DIR/orders.2"
sw_t_wait "$TOTAL servers running" 240 all_run || { echo "the $TOTAL never ran"; exit 99; }
echo "# $TOTAL servers ordered and running in $(($(ms) - t0)) ms"
sw_t_eq "$TOTAL servers, $BIG on n01" "$TOTAL $BIG" \
    "$(q "select count(*) || ' ' || count(*) filter (where node_id = '${NODE[1]}') from servers")"
# a few stopped ones: they move cold
q "select id from servers where node_id in ('${NODE[1]}', '${NODE[2]}') order by id limit 6" >"$SW_T_DIR/stop"
while read -r s; do must POST "/v1/servers/$s/actions" "$OP" '{"type":"stop"}'; done <"$SW_T_DIR/stop"
stopped() { is "select count(*) from servers where state = 'stopped'" 6; }
sw_t_wait "stops" 60 stopped || { echo "the stops never ended"; exit 99; }

# ---- the sampler: every node's ledger against its capacity ----
OVER="select n.name || ' ' || u.v || '/' || floor(n.cpus * n.cpu_ratio) || ' ' || u.g || '/' || (n.ram_mb - n.reserved_ram_mb)
        || ' ' || u.m || '/' || floor((n.ram_mb - n.reserved_ram_mb) * n.ram_ratio)
  from nodes n join lateral (select coalesce(sum(vcpus), 0) v, coalesce(sum(mem_guar_mb), 0) g, coalesce(sum(mem_max_mb), 0) m
    from (select vcpus, mem_guar_mb, mem_max_mb from allocations where node_id = n.id
          union all select vcpus, mem_guar_mb, mem_max_mb from migration_claims where node_id = n.id) a) u on true
 where u.v > floor(n.cpus * n.cpu_ratio) or u.g > n.ram_mb - n.reserved_ram_mb
    or u.m > floor((n.ram_mb - n.reserved_ram_mb) * n.ram_ratio)"
TWO="select count(*) from (select server_id from jobs where type = 'migrate' and state in ('queued', 'running') group by 1 having count(*) > 1) x"
sampler() { # one psql a sample: the over-capacity nodes, then the doubled servers
    while [ ! -e "$SW_T_DIR/stop_sampling" ]; do
        echo "sample $(q "select coalesce(string_agg(o, ';'), '') || ' two=' || ($TWO) from ($OVER) v(o)")" >>"$SW_T_DIR/samples"
        sleep 0.1
    done
}
sampler &
SAMPLER=$!

# ---- three nodes evacuated at once while orders keep arriving ----
EV3=("${NODE[1]}" "${NODE[2]}" "${NODE[3]}")
orders "$LATE" 3 4 "$SW_T_DIR/orders.3" &
LATE_PID=$!
t_ev=$(ms)
declare -a EVID
for k in 0 1 2; do
    must POST "/v1/admin/nodes/${EV3[k]}/evacuate" "$OP" "{\"parallel\":$PAR}"
    EVID[k]=$(j .evacuation.id)
done
done3() { is "select count(*) from evacuations where state = 'completed'" 3; }
if sw_t_wait "three evacuations" 300 done3; then
    ev_ms=$(($(ms) - t_ev))
    sw_t_ok "three evacuations completed, $ev_ms ms after the first POST"
else
    ev_ms=$(($(ms) - t_ev))
    sw_t_fail "evacuations left: $(q "select e.state, x.state, count(*) from evacuations e join evacuation_servers x on x.evacuation_id = e.id group by 1, 2")"
fi
wait "$LATE_PID"
touch "$SW_T_DIR/stop_sampling"
wait "$SAMPLER"
terminal() { is "select count(*) from jobs where state in ('queued', 'running')" 0; }
sw_t_wait "every job terminal" 120 terminal || echo "# jobs left: $(q "select type, state, count(*) from jobs where state in ('queued', 'running') group by 1, 2")"

# the figure: n01's evacuation
fig=$(q "select count(*) filter (where x.state = 'moved') || ' ' || round(extract(epoch from e.finished_at - e.created_at)::numeric, 2)
           from evacuations e join evacuation_servers x on x.evacuation_id = e.id where e.id = '${EVID[0]}' group by e.id")
read -r moved secs <<<"$fig"
echo "# figure: a test-driver node with $moved servers evacuated in $secs s (parallel $PAR), $(awk -v m="$moved" -v s="$secs" 'BEGIN {printf "%.1f", m / s}') servers/s, two other nodes evacuating and $LATE orders arriving meanwhile"
sw_t_eq "n01's $BIG servers all moved" "$BIG" "$moved"
sw_t_eq "nothing unmovable, nothing left on the evacuated nodes" "0 0" \
    "$(q "select count(*) from evacuation_servers where state <> 'moved'") $(q "select count(*) from servers where node_id in ('${EV3[0]}', '${EV3[1]}', '${EV3[2]}') and state <> 'terminated'")"
# a server of n01 may land on n02 or n03 before their own evacuation
# starts, and then moves again with it: each move is one evacuation row
twice=$(q "select count(*) from (select server_id from evacuation_servers group by 1 having count(*) > 1) x")
sw_t_eq "each moved server: one succeeded migrate job per evacuation that moved it, epoch 1 + moves ($twice moved twice)" 0 \
    "$(q "select count(*) from servers s join (select server_id, count(*) n from evacuation_servers where state = 'moved' group by 1) x on x.server_id = s.id
           where s.epoch <> 1 + x.n or (select count(*) from jobs j where j.server_id = s.id and j.type = 'migrate' and j.state = 'succeeded') <> x.n")"
echo "# vcpus used of capacity after the evacuations, fullest nodes: $(q "select string_agg(f, ' ') from (select n.name || ' ' || (select coalesce(sum(vcpus), 0) from allocations a where a.node_id = n.id) || '/' || floor(n.cpus * n.cpu_ratio) f from nodes n order by (select coalesce(sum(vcpus), 0) from allocations a where a.node_id = n.id) desc limit 4) x")"
nsamples=$(grep -c . "$SW_T_DIR/samples")
bad=$(grep -v '^sample  two=0$' "$SW_T_DIR/samples" | head -3)
[ "$nsamples" -gt 0 ] || bad="no sample"
sw_t_eq "no node over capacity and no server with two migrate jobs in $nsamples samples" "" "$bad"
sw_t_check "the sampler ran while the evacuations did (a sample every 2 s at least: $nsamples in $ev_ms ms)" \
    test "$nsamples" -ge $((ev_ms / 2000))

# no order lost
cat "$SW_T_DIR"/orders.* >"$SW_T_DIR/orders"
accepted=$(awk '$1 == 202' "$SW_T_DIR/orders" | wc -l)
sw_t_eq "every order accepted" "$((TOTAL + LATE))" "$accepted"
awk '$1 == 202 {print $2}' "$SW_T_DIR/orders" | sort >"$SW_T_DIR/accepted"
sw_t_eq "every accepted order's server exists and runs (or was stopped), every create succeeded" \
    "$accepted $accepted" \
    "$(q "select count(*) from servers where state in ('running', 'stopped')") $(q "select count(*) from jobs where type = 'create' and state = 'succeeded'")"
late_ids=$(awk '$1 == 202 {printf "%s\x27%s\x27", sep, $2; sep=","}' "$SW_T_DIR/orders.3")
sw_t_eq "no order during the evacuations went to an evacuated node" 0 \
    "$(q "select count(*) from jobs where type = 'create' and server_id in ($late_ids) and node_id in ('${EV3[0]}', '${EV3[1]}', '${EV3[2]}')")"

# ---- node deaths: engines killed, fenced by the libvirt agent, ha servers back ----
# The evacuated nodes go back to active (room for the dead nodes' servers),
# then the KILL busiest other nodes die (every server is ha).
for id in "${EV3[@]}"; do must PATCH "/v1/admin/nodes/$id" "$OP" '{"state":"active"}'; done
mapfile -t DEAD < <(q "select n.id from nodes n where n.id not in ('${EV3[0]}', '${EV3[1]}', '${EV3[2]}')
                        order by (select count(*) from servers s where s.node_id = n.id) desc, n.name limit $KILL")
DEADQ=$(printf "'%s'," "${DEAD[@]}") DEADQ=${DEADQ%,}
q "create table victims as select id, state, epoch from servers where node_id in ($DEADQ)" >/dev/null
NV=$(q "select count(*) from victims")
rm -f "$SW_T_DIR/stop_sampling"
sampler &
SAMPLER=$!
orders "$LATE" 4 4 "$SW_T_DIR/orders.4" &
LATE_PID=$!
t_kill=$(ms)
for id in "${DEAD[@]}"; do
    v="SW_T_PID_engine_$(q "select name from nodes where id = '$id'")"
    kill -9 "${!v}"
done
back() { is "select count(*) from victims v join servers s using (id) join nodes n on n.id = s.node_id
             where n.id not in ($DEADQ) and n.health = 'ok' and s.state = v.state and s.epoch = v.epoch + 1" "$NV"; }
if sw_t_wait "the dead nodes' ha servers" 240 back; then
    back_ms=$(($(ms) - t_kill))
    echo "# figure: $KILL engines killed (kill -9) with $NV ha servers: all running elsewhere $back_ms ms later (heartbeat 2 s, suspect after ${SUSPECT} s, libvirt fence agent)"
    sw_t_ok "every ha server of the $KILL dead nodes is back in its state on a live node, epoch one more ($NV servers)"
else
    sw_t_fail "ha servers not back: $(q "select s.state || ' ' || coalesce(n.health, '-') || ' ' || (s.node_id in ($DEADQ)) || ' ' || (s.epoch - v.epoch), count(*)
                from victims v join servers s using (id) left join nodes n on n.id = s.node_id group by 1")"
fi
sw_t_eq "the $KILL dead nodes are failed, and only they" "$KILL $KILL" \
    "$(q "select count(*) filter (where id in ($DEADQ) and health = 'failed') || ' ' || count(*) filter (where health <> 'ok') from nodes")"
wait "$LATE_PID"
touch "$SW_T_DIR/stop_sampling"
wait "$SAMPLER"
sw_t_wait "every job terminal" 120 terminal || echo "# jobs left: $(q "select type, state, count(*) from jobs where state in ('queued', 'running') group by 1, 2")"
sw_t_eq "one recover job and one server.recovered per dead node's server, node.fenced per death" "$NV $NV $KILL" \
    "$(q "select (select count(*) from jobs where type = 'recover' and state = 'succeeded') || ' ' ||
                 (select count(*) from events where type = 'server.recovered') || ' ' ||
                 (select count(*) from events where type = 'node.fenced')")"
bad=$(grep -v '^sample  two=0$' "$SW_T_DIR/samples" | head -3)
sw_t_eq "no node over capacity and no server moving twice in any sample, deaths included ($(grep -c . "$SW_T_DIR/samples") samples)" "" "$bad"
late_ids=$(awk '$1 == 202 {printf "%s\x27%s\x27", sep, $2; sep=","}' "$SW_T_DIR/orders.4")
sw_t_eq "every order during the deaths accepted and running, none on a dead node" "$LATE $LATE 0" \
    "$(awk '$1 == 202' "$SW_T_DIR/orders.4" | wc -l) $(q "select count(*) from servers where id in ($late_ids) and state = 'running'") $(q "select count(*) from servers where id in ($late_ids) and node_id in ($DEADQ)")"
sw_t_eq "no server on a dead node" 0 "$(q "select count(*) from servers where node_id in ($DEADQ) and state <> 'terminated'")"

# every server's domain once, on its node, in the state PostgreSQL says
# (a dead engine's domains went with it; its last file is stale)
DEADN=" $(q "select string_agg(name, ' ') from nodes where id in ($DEADQ)") "
dead() { [[ $DEADN == *" $(basename "$1" .domains) "* ]]; }
beat() { # every domains file written after the last job ended
    local f last
    last=$(q "select extract(epoch from max(finished_at))::bigint + 1 from jobs")
    for f in "$SW_T_DIR"/n*.domains; do
        dead "$f" && continue
        [ "$(sed -n 's/^# pid=[0-9]* at=\([0-9]*\).*/\1/p' "$f")" -gt "$last" ] || return 1
    done
}
sw_t_wait "fresh domains files" 30 beat || true
q "select 'sw-' || s.id || ' ' || n.name || ' ' || s.state from servers s join nodes n on n.id = s.node_id order by 1" \
    >"$SW_T_DIR/want"
for f in "$SW_T_DIR"/n*.domains; do
    dead "$f" && continue
    n=$(basename "$f" .domains)
    awk -v n="$n" '$1 ~ /^sw-/ && NF == 3 {print $1, n, $3}' "$f"
done | sort >"$SW_T_DIR/have"
sw_t_eq "every server's domain runs exactly once, on its node, in its state ($(grep -c . "$SW_T_DIR/want") servers, the live engines' domains files)" \
    "" "$(diff "$SW_T_DIR/want" "$SW_T_DIR/have" | head -5)"
sw_t_done
