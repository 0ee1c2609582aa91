#!/usr/bin/env bash
# sw-test: full-size (scripts/test runs it at full size in the plain half, smaller under ASan)
# Crashes during a stream of orders placed through the API, then poison.
#
# Three phases on one stack (2 provisioners, SW_CRASH_NODES test-driver nodes,
# one engine each with a fixed SLIPWAY_CONSUMER, SLIPWAY_CLAIM_IDLE_MS=3000),
# each placing SW_CRASH_ORDERS orders (500) while something is killed with
# SIGKILL at random moments and restarted:
#   A. a provisioner (SW_CRASH_KILLS times, either of the two);
#   B. an engine (a restarted test-driver engine finds its node empty, a
#      simulated host reboot: its reconciliation must bring back the domain
#      of every running server of its node). The jobs dispatched to it must
#      be completed after its restart (its pending entries are reclaimed);
#   C. Redis (started with --save '': it comes back empty each time).
# After each phase: 0 orders lost (every accepted order is running, or failed
# with no_capacity), 0 servers with domains on two nodes, one allocation per
# live server and none for any other. Phase C reports precisely where lost
# jobs were when Redis went away (jobs stream, node stream or results).
#   D. Poison: a malformed jobs entry and a malformed node job are
#      dead-lettered at once; a jobs entry whose dispatch always fails, and a
#      node job whose result can never be published, are handled exactly 5
#      times and dead-lettered at the 6th delivery; the streams move on; the
#      create whose node never answers is dead (no_answer) after 5 silent
#      deliveries, its allocation released.
# Knobs: SW_CRASH_ORDERS, SW_CRASH_NODES, SW_CRASH_KILLS, SW_CRASH_PAR,
# SW_CRASH_RATE (orders per second, 50: the kills land while orders flow),
# SW_CRASH_SEED, SW_CRASH_TIMEOUT (s per phase), SW_CRASH_STALL (s),
# SW_CRASH_PHASES (e.g. "A B C D").
. "$(dirname "$0")/../lib/harness.sh"
ORDERS=${SW_CRASH_ORDERS:-500}
NODES=${SW_CRASH_NODES:-8}
KILLS=${SW_CRASH_KILLS:-4}
PAR=${SW_CRASH_PAR:-8}
SEED=${SW_CRASH_SEED:-7}
TIMEOUT=${SW_CRASH_TIMEOUT:-120}
PHASES=${SW_CRASH_PHASES:-A B C D}
RATE=${SW_CRASH_RATE:-50}
T0=$SECONDS
RANDOM=$SEED

export SLIPWAY_ORDER_RATE=0 SLIPWAY_CLAIM_IDLE_MS=3000
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
sw_t_panel

j() { jq -r "$1" <<<"$SW_BODY"; }
q() { sw_t_psql -c "$1"; }
r() { sw_t_redis "$@"; }
uuid() { cat /proc/sys/kernel/random/uuid; }
must() {
    sw_t_api "$@"
    case $SW_STATUS in 2??) ;; *) echo "setup: $1 $2 answered $SW_STATUS: $SW_BODY"; exit 99 ;; esac
}

must POST /v1/admin/locations "$OP" '{"code":"crash1","name":"Crash"}'
LOC=$(j .id)
must POST /v1/admin/ip-pools "$OP" "{\"location_id\":\"$LOC\",\"network\":\"10.65.0.0/16\",\"gateway\":\"10.65.0.1\"}"
must POST /v1/admin/ip-pools "$OP" "{\"location_id\":\"$LOC\",\"network\":\"2001:db8:65::/48\",\"gateway\":\"2001:db8:65::1\"}"

KINDS=('["container","hvm"]' '["pv"]' '["hvm"]' '["container"]')
declare -a NID
start_engine() { # I
    sw_t_daemon "engine$1" env SLIPWAY_NODE_ID="${NID[$1]}" SLIPWAY_CONSUMER="engine$1" \
        SLIPWAY_USAGE_INTERVAL=3600 slipway-engine
}
for i in $(seq 1 "$NODES"); do
    kinds=${KINDS[$(((i - 1) % 4))]}
    slipwayctl node-file "$SW_T_DIR/node$i.xml" 8 16384 || exit 99
    must POST /v1/admin/nodes "$OP" "{\"name\":\"n$i\",\"location_id\":\"$LOC\",\"engine_uri\":\"test://$SW_T_DIR/node$i.xml\",\"kinds\":$kinds,\"cpus\":8,\"ram_mb\":16384,\"disk_gb\":2000,\"cpu_ratio\":4,\"ram_ratio\":1.5}"
    NID[i]=$(j .id)
    start_engine "$i"
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
for c in $(seq 1 8); do
    must POST /v1/admin/accounts "$OP" "{\"kind\":\"customer\",\"email\":\"c$c@example.com\",\"name\":\"c$c\",\"password\":\"c$c-secret-pw\"}"
    must POST /v1/auth/login "" "{\"email\":\"c$c@example.com\",\"password\":\"c$c-secret-pw\"}"
    j .token >>"$SW_T_DIR/tokens"
done

PROV_N=0
start_prov() { # I: consumer name fixed per slot
    PROV_N=$((PROV_N + 1))
    sw_t_daemon "prov$1-$PROV_N" env SLIPWAY_CONSUMER="prov$1" slipway-provisioner
    eval "PROV_PID_$1=\$SW_T_PID_prov$1_$PROV_N"
}
start_prov 1
start_prov 2
engines_up() { [ "$(q "select count(*) from nodes where last_heartbeat_at is not null")" = "$NODES" ]; }
sw_t_check "all $NODES engines are up" sw_t_wait "engines" 60 engines_up

# rand_sleep MIN_MS MAX_MS
rand_sleep() { sleep "$(awk -v a="$1" -v b="$2" -v r="$RANDOM" 'BEGIN { printf "%.3f", (a + (b - a) * r / 32767) / 1000 }')"; }
pid=''
# kill9 PID: SIGKILL and reap.
kill9() { kill -9 "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# place PHASE: places ORDERS orders in the background; sets LOAD_PID.
place() {
    python3 "$SW_SRCDIR/tests/integration/orders_load.py" "$SW_URL" "$SW_T_DIR/tokens" \
        "$SW_T_DIR/choices" "$ORDERS" "$PAR" "$((SEED + ${#1}))$RANDOM" "$RATE" >"$SW_T_DIR/placed.$1" &
    LOAD_PID=$!
}
placing() { kill -0 "$LOAD_PID" 2>/dev/null; }

# settle PHASE: waits until the phase's jobs are finished, or TIMEOUT, or
# no job finished for STALL seconds (60: above 5 x SLIPWAY_CLAIM_IDLE_MS and
# the sweeper's 30 s re-announce of stale queued jobs).
STALL=${SW_CRASH_STALL:-60}
settle() {
    local end=$((SECONDS + TIMEOUT)) n last=-1 since=$SECONDS
    while [ $SECONDS -le $end ]; do
        n=$(q "select count(*) from jobs j join phase_servers p on p.id = j.server_id
               where p.phase = '$1' and j.state in ('queued', 'running')")
        [ "$n" = 0 ] && return 0
        if [ "$n" != "$last" ]; then last=$n since=$SECONDS; fi
        if [ $((SECONDS - since)) -ge "$STALL" ]; then
            echo "# phase $1: $n jobs unfinished, none finished for ${STALL}s"
            return 1
        fi
        sleep 1
    done
    echo "# phase $1: $n jobs unfinished after ${TIMEOUT}s"
    return 1
}
q "create table phase_servers (id uuid primary key, phase text not null)" >/dev/null

# The domains the engine of node I holds now: creates logged since its last start.
live_domains() {
    awk '/event=engine.started/ { delete s } /event=job.done .*type=create|event=reconcile.restored/ {
            if (match($0, / server=[0-9a-fA-F-]+/)) s[tolower(substr($0, RSTART + 8, RLENGTH - 8))] = 1 }
         END { for (k in s) print k }' "$SW_T_DIR/engine$1.log"
}
# Every server any engine incarnation ever created a domain for, with its node.
all_domains() {
    local i
    for i in $(seq 1 "$NODES"); do
        grep 'event=job.done .*type=create' "$SW_T_DIR/engine$i.log" |
            sed -n 's/.* server=\([0-9a-fA-F-]*\) .*/\1/p' | tr 'A-F' 'a-f' | sort -u |
            sed "s/\$/ ${NID[$i]}/"
    done
}

TOTAL_LOST=0 TOTAL_DUP=0 TOTAL_DOUBLE=0
# check PHASE: the invariants over the phase's orders; prints its figures.
check() {
    local ph=$1 accepted missing running nocap total lost dupdom double stray
    accepted=$(grep -c '^202 ' "$SW_T_DIR/placed.$ph")
    awk '$1 == 202 {print $2}' "$SW_T_DIR/placed.$ph" | sort >"$SW_T_DIR/ids.$ph"
    missing=$(comm -23 "$SW_T_DIR/ids.$ph" <(q "select id from servers" | sort) | wc -l)
    sw_t_eq "$ph: every order accepted (202)" "$ORDERS" "$accepted"
    running=$(q "select count(*) from servers s join phase_servers p using (id) join jobs j on j.server_id = s.id
                 and j.type = 'create' join orders o on o.server_id = s.id where p.phase = '$ph'
                 and s.state = 'running' and j.state = 'succeeded' and o.state = 'completed'")
    nocap=$(q "select count(*) from servers s join phase_servers p using (id) join jobs j on j.server_id = s.id
               and j.type = 'create' join orders o on o.server_id = s.id where p.phase = '$ph'
               and s.state = 'failed' and j.error_code = 'no_capacity' and o.state = 'failed'")
    total=$(q "select count(*) from phase_servers where phase = '$ph'")
    lost=$((total - running - nocap + missing))
    if [ "$lost" != 0 ]; then
        echo "# $ph: not running nor no_capacity (server job code order attempts: count):"
        q "select k || ': ' || count(*) from (select s.state || ' ' || j.state || ' ' ||
           coalesce(j.error_code, '-') || ' ' || o.state || ' ' || j.attempts k
           from servers s join phase_servers p using (id) join jobs j on j.server_id = s.id and j.type = 'create'
           join orders o on o.server_id = s.id where p.phase = '$ph' and not ((s.state = 'running'
           and j.state = 'succeeded') or (s.state = 'failed' and j.error_code = 'no_capacity'))) x group by k" |
            sed 's/^/#   /'
    fi
    all_domains | sort -u >"$SW_T_DIR/domains"
    dupdom=$(awk '{print $1}' "$SW_T_DIR/domains" | sort | uniq -d | wc -l)
    double=$(q "select (select count(*) from allocations a join servers s on s.id = a.server_id
                        where s.state not in ('provisioning', 'running'))
                     + (select count(*) from servers s where s.state = 'running' and not exists
                        (select 1 from allocations a where a.server_id = s.id and a.node_id = s.node_id))")
    stray=$(q "select lower(id::text) || ' ' || node_id from servers where state in ('provisioning', 'running')" |
        sort | comm -13 - <(join "$SW_T_DIR/domains" <(tr 'A-F' 'a-f' <"$SW_T_DIR/ids.$ph" | sort)) | wc -l)
    sw_t_eq "$ph: 0 orders lost (running or no_capacity)" 0 "$lost"
    sw_t_eq "$ph: 0 servers with domains on two nodes" 0 "$dupdom"
    sw_t_eq "$ph: one allocation per live server, none for others" 0 "$double"
    sw_t_eq "$ph: no domain ever created for a server not live on that node" 0 "$stray"
    dupaddr=$(q "select (select count(*) from (select ipv4 from servers where ipv4 is not null
                   and state in ('provisioning', 'running') group by ipv4 having count(*) > 1) a)
               + (select count(*) from (select ipv6 from servers where ipv6 is not null
                   and state in ('provisioning', 'running') group by ipv6 having count(*) > 1) b)")
    withaddr=$(q "select count(*) from servers s join phase_servers p using (id) where p.phase = '$ph'
                  and s.state = 'running' and s.ipv4 is not null and s.ipv6 is not null")
    if [ "$(q "select count(*) from servers where ipv4 is not null or ipv6 is not null")" = 0 ]; then
        echo "# $ph: NOTE: no server holds an address (IPAM not in this build)"
    else
        sw_t_eq "$ph: no two live servers share an address" 0 "$dupaddr"
        sw_t_eq "$ph: every running server has an IPv4 and an IPv6 address" "$running" "$withaddr"
        sw_t_eq "$ph: no server that is not live holds an address" 0 \
            "$(q "select count(*) from servers where state not in ('provisioning', 'running')
                  and (ipv4 is not null or ipv6 is not null)")"
    fi
    TOTAL_LOST=$((TOTAL_LOST + lost)) TOTAL_DUP=$((TOTAL_DUP + dupdom)) TOTAL_DOUBLE=$((TOTAL_DOUBLE + double))
    echo "# phase $ph: orders=$ORDERS accepted=$accepted running=$running no_capacity=$nocap lost=$lost" \
        "duplicate_domains=$dupdom double_allocations=$double stray_domains=$stray duplicate_addresses=$dupaddr"
}
record() { # PHASE: tags the phase's servers
    awk '$1 == 202 {print $2}' "$SW_T_DIR/placed.$1" |
        sed "s/.*/insert into phase_servers values ('&', '$1') on conflict do nothing;/" | sw_t_psql >/dev/null
}

# Frees the nodes between phases (a shortcut for terminating through the API):
# every running server is marked terminated and gives back its allocation and
# addresses; its domain stays on its engine, which no check looks at again.
free_all() {
    q "update servers set state = 'terminated' where state = 'running';
       delete from allocations a using servers s where s.id = a.server_id and s.state = 'terminated'" >/dev/null
    if [ "$(q "select to_regclass('ip_assignments') is not null")" = t ]; then
        q "delete from ip_assignments a using servers s where s.id = a.server_id and s.state = 'terminated';
           update servers set ipv4 = null, ipv6 = null where state = 'terminated'" >/dev/null
    fi
}

# ---- A: kill -9 a provisioner at random moments ----
if [[ " $PHASES " == *" A "* ]]; then
    T=$SECONDS
    place A
    kills=0
    while [ $kills -lt "$KILLS" ] || placing; do
        rand_sleep 200 2500
        slot=$((RANDOM % 2 + 1))
        eval "pid=\$PROV_PID_$slot"
        kill9 "$pid"
        kills=$((kills + 1))
        rand_sleep 0 1500
        start_prov "$slot"
    done
    wait "$LOAD_PID"
    record A
    sw_t_check "A: every job finishes after $KILLS provisioner kills" settle A
    check A
    echo "# phase A: provisioner kills=$kills time=$((SECONDS - T))s"
    free_all
fi

# ---- B: kill -9 an engine at random moments ----
if [[ " $PHASES " == *" B "* ]]; then
    T=$SECONDS
    place B
    kills=0 rebooted=""
    while [ $kills -lt "$KILLS" ] || placing; do
        rand_sleep 300 2500
        i=$((RANDOM % NODES + 1))
        eval "pid=\$SW_T_PID_engine$i"
        before=$(live_domains "$i" | wc -l)
        kill9 "$pid"
        kills=$((kills + 1)) rebooted="$rebooted $i"
        echo "# B: killed engine$i ($before domains gone with it: simulated host reboot)"
        rand_sleep 0 2000
        start_engine "$i"
    done
    wait "$LOAD_PID"
    record B
    sw_t_check "B: every job finishes after $KILLS engine kills (pending entries reclaimed)" settle B
    check B
    # A restarted engine's reconciliation brings back the domains its
    # (simulated) host lost with it.
    lost_domains() {
        lostdom=0
        for i in $(echo "$rebooted" | tr ' ' '\n' | sort -u); do
            n=$(q "select lower(id::text) from servers where state = 'running' and node_id = '${NID[$i]}'" |
                sort | comm -23 - <(live_domains "$i" | sort) | wc -l)
            lostdom=$((lostdom + n))
        done
        [ "$lostdom" = 0 ]
    }
    sw_t_check "B: every running server on a restarted node has its domain back (reconciliation)" \
        sw_t_wait "domains restored" 60 lost_domains
    restored=$(cat "$SW_T_DIR"/engine*.log | grep -c 'event=reconcile.restored' || true)
    # jobs dispatched to an engine before it was killed and finished by its next incarnation
    cat "$SW_T_DIR"/prov*.log | awk '/event=job.dispatched/ && match($0, / job=[^ ]+/) {
        print tolower(substr($0, RSTART + 5, RLENGTH - 5)), substr($1, 4) }' | sort -k1,1 -k2,2 |
        sort -u -k1,1 >"$SW_T_DIR/dispatched"
    carried=$(for i in $(echo "$rebooted" | tr ' ' '\n' | sort -u); do
        awk '/event=engine.started/ { n++; s = substr($1, 4) }
             n >= 2 && /event=job.done/ && match($0, / job=[^ ]+/) {
                 print tolower(substr($0, RSTART + 5, RLENGTH - 5)), s }' "$SW_T_DIR/engine$i.log"
    done | sort -k1,1 | join - "$SW_T_DIR/dispatched" | awk '$3 < $2' | wc -l)
    echo "# phase B: jobs dispatched before a kill and finished by the restarted engine=$carried"
    echo "# phase B: engine kills=$kills domains restored by reconciliation=$restored" \
        "running servers still without a domain=$lostdom time=$((SECONDS - T))s"
    free_all
fi

# ---- C: kill -9 Redis (no persistence: it comes back empty) ----
if [[ " $PHASES " == *" C "* ]]; then
    T=$SECONDS
    place C
    kills=0 KILL_TS=""
    # kills come faster here: a job is exposed only while it is dispatched
    # (nodes still have room), in the first half of the orders
    while [ $kills -lt "$KILLS" ] || placing; do
        rand_sleep 300 1200
        KILL_TS="$KILL_TS $(date -u +%s%3N)"
        kill9 "$(cat "$SW_T_DIR/redis.pid")"
        rm -f "$SW_T_DIR/redis.pid"
        kills=$((kills + 1))
        rand_sleep 200 800
        sw_redis_start "$SW_T_DIR" || exit 99
    done
    wait "$LOAD_PID"
    record C
    settle C
    check C
    # Where were the lost ones when Redis died?
    q "select 'job ' || j.state || case when o.published_at is null then ' (outbox row unpublished)'
              else ' (outbox row published)' end || ': ' || count(*)
       from jobs j join phase_servers p on p.id = j.server_id and p.phase = 'C'
       left join outbox o on o.payload::jsonb ->> 'job_id' = j.id::text and o.stream = 'jobs'
       where j.state in ('queued', 'running')
       group by j.state, o.published_at is null" | sed 's/^/# C: /'
    # A running job: did its engine run it before a kill (its result was
    # lost from 'results'), just after one (the result XADD failed and the
    # node entry, pending in the engine's PEL, was lost), or never (its
    # 'node:<id>' entry was lost)?
    q "select j.id from jobs j join phase_servers p on p.id = j.server_id and p.phase = 'C'
       where j.state = 'running'" >"$SW_T_DIR/stuck.running"
    before=0 after=0
    while read -r jid; do
        [ -n "$jid" ] || continue
        ts=$(cat "$SW_T_DIR"/engine*.log | grep -i "event=job.done job=$jid" | head -1 | sed 's/^ts=\([^ ]*\) .*/\1/')
        [ -z "$ts" ] && continue
        ms=$(date -u -d "$ts" +%s%3N)
        # the kill closest before the engine's answer
        gap=$(for k in $KILL_TS; do [ "$k" -le "$ms" ] && echo $((ms - k)); done | sort -n | head -1)
        if [ -n "$gap" ] && [ "$gap" -lt 2000 ]; then after=$((after + 1)); else before=$((before + 1)); fi
        echo "# C: stuck running job $jid: engine job.done at $ts, ${gap:-no} ms after a Redis kill"
    done <"$SW_T_DIR/stuck.running"
    n_run=$(grep -c . "$SW_T_DIR/stuck.running")
    n_q=$(q "select count(*) from jobs j join phase_servers p on p.id = j.server_id and p.phase = 'C' where j.state = 'queued'")
    echo "# phase C: Redis kills=$kills; stuck queued=$n_q (their 'jobs' entry was lost; the sweeper re-announces queued jobs after 30 s)"
    echo "# phase C: stuck running=$n_run: engine never ran it=$((n_run - before - after)) (its 'node:<id>' entry" \
        "was lost); engine ran it and published the result before a kill=$before (the results:<node> entry was lost);" \
        "engine ran it but the result XADD failed=$after (the node entry, pending in the engine's PEL, was lost)"
    echo "# phase C: time=$((SECONDS - T))s"
    free_all
fi

# ---- D: poison ----
if [[ " $PHASES " == *" D "* ]]; then
    T=$SECONDS
    dead_ids() { r --raw XRANGE "$1" - + | awk 'prev == "id" {print} {prev = $0}'; }
    # 1. malformed jobs entries: dead at once
    E1=$(r XADD jobs '*' m 'not json')
    E2=$(r XADD jobs '*' x y)
    in_dead() { dead_ids "$1" | grep -qx "$2"; }
    sw_t_check "D: a malformed jobs entry is dead-lettered at once" sw_t_wait "dead:jobs 1" 15 in_dead dead:jobs "$E1"
    sw_t_check "D: a jobs entry without a payload too" sw_t_wait "dead:jobs 2" 15 in_dead dead:jobs "$E2"
    # 2. a malformed node job: dead at once
    E3=$(r XADD "node:${NID[1]}" '*' m '{"job_id":"nope"}')
    sw_t_check "D: a malformed node job is dead-lettered at once" \
        sw_t_wait "dead:node 1" 15 in_dead "dead:node:${NID[1]}" "$E3"
    # 3. a jobs entry whose dispatch always fails: node:<P> holds a string
    must POST /v1/admin/locations "$OP" '{"code":"poison1","name":"Poison"}'
    PLOC=$(j .id)
    slipwayctl node-file "$SW_T_DIR/poison.xml" 8 16384 || exit 99
    must POST /v1/admin/nodes "$OP" "{\"name\":\"poison\",\"location_id\":\"$PLOC\",\"engine_uri\":\"test://$SW_T_DIR/poison.xml\",\"kinds\":[\"pv\"],\"cpus\":8,\"ram_mb\":16384,\"disk_gb\":500}"
    PNODE=$(j .id)
    r SET "node:$PNODE" 'not a stream' >/dev/null
    read -r PPLAN PTPL < <(sed -n 2p "$SW_T_DIR/choices")
    TOK=$(head -1 "$SW_T_DIR/tokens")
    must POST /v1/orders "$TOK" "{\"plan_id\":\"$PPLAN\",\"template_id\":\"$PTPL\",\"hostname\":\"poison.example.com\",\"location_id\":\"$PLOC\"}"
    PJOB=$(j .job.id)
    # meanwhile, an ordinary order still goes through
    must POST /v1/orders "$TOK" "{\"plan_id\":\"$PPLAN\",\"template_id\":\"$PTPL\",\"hostname\":\"ok1.example.com\",\"location_id\":\"$LOC\"}"
    OK1=$(j .server.id)
    pjob_dead() { r --raw XRANGE dead:jobs - + | grep -q "$PJOB"; }
    sw_t_check "D: a jobs entry whose dispatch always fails is dead-lettered" sw_t_wait "dead PJOB" 60 pjob_dead
    handled=$(cat "$SW_T_DIR"/prov*.log | grep 'event=stream.retry_later' | grep -c 'XADD: WRONGTYPE' || true)
    deliv=$(cat "$SW_T_DIR"/prov*.log | grep 'event=stream.dead_letter stream=jobs' | grep 'too many' |
        sed -n 's/.*deliveries=\([0-9]*\).*/\1/p' | tail -1)
    sw_t_eq "D: ... after exactly 5 handled deliveries (dead-lettered at the 6th)" "5 6" "$handled $deliv"
    is_running() { [ "$(q "select state from servers where id = '$1'")" = running ]; }
    sw_t_check "D: the jobs stream moved on (an ordinary order runs)" sw_t_wait "ok1" 30 is_running "$OK1"
    # Its job is left running on a node that never answers: the provisioners
    # run again with a short silence, so it is dead after 5 silent deliveries.
    for slot in 1 2; do
        eval "pid=\$PROV_PID_$slot"
        kill -TERM "$pid"
        wait "$pid" 2>/dev/null
        SLIPWAY_JOB_SILENT_S=1 start_prov "$slot"
    done
    pjob_is() { [ "$(q "select state || ' ' || coalesce(error_code, '-') from jobs where id = '$PJOB'")" = "$1" ]; }
    sw_t_check "D: the create whose node stream is broken is dead (no_answer) after 5 deliveries" \
        sw_t_wait "PJOB dead" 60 pjob_is "dead no_answer"
    sw_t_eq "D: ... and its allocation and addresses are released" 0 \
        "$(q "select count(*) from allocations a join jobs j on j.server_id = a.server_id where j.id = '$PJOB'")"
    r DEL "node:$PNODE" >/dev/null
    # 4. a node job whose result can never be published: its node's results stream holds a string
    PJ2=$(uuid) PS2=$(uuid)
    M="{\"job_id\":\"$PJ2\",\"server_id\":\"$PS2\",\"node_id\":\"${NID[2]}\",\"type\":\"start\",\"kind\":\"pv\",\"vcpus\":1,\"ram_mb\":512,\"max_ram_mb\":512,\"swap_mb\":0,\"disk_gb\":10,\"hostname\":\"p.example.com\",\"os\":\"debian-12\"}"
    r RENAME "results:${NID[2]}" results.saved >/dev/null
    r SET "results:${NID[2]}" 'not a stream' >/dev/null
    E4=$(r XADD "node:${NID[2]}" '*' m "$M")
    sw_t_check "D: a node job whose result cannot be published is dead-lettered" \
        sw_t_wait "dead:node 2" 60 in_dead "dead:node:${NID[2]}" "$E4"
    r DEL "results:${NID[2]}" >/dev/null
    r RENAME results.saved "results:${NID[2]}" >/dev/null
    runs=$(grep "job=$PJ2" "$SW_T_DIR/engine2.log" | grep -c 'event=job\.' || true)
    deliv=$(grep 'event=stream.dead_letter' "$SW_T_DIR/engine2.log" | grep "id=$E4" |
        sed -n 's/.*deliveries=\([0-9]*\).*/\1/p' | tail -1)
    sw_t_eq "D: ... after exactly 5 runs (dead-lettered at the 6th delivery)" "5 6" "$runs $deliv"
    # the node stream moves on: an order onto node 2 (pv) still runs
    must POST /v1/orders "$TOK" "{\"plan_id\":\"$PPLAN\",\"template_id\":\"$PTPL\",\"hostname\":\"ok2.example.com\",\"location_id\":\"$LOC\"}"
    OK2=$(j .server.id)
    sw_t_check "D: the node stream moved on (an ordinary order runs)" sw_t_wait "ok2" 60 is_running "$OK2"
    echo "# phase D: time=$((SECONDS - T))s"
fi

echo "# crash: orders/phase=$ORDERS nodes=$NODES kills=$KILLS lost=$TOTAL_LOST duplicate_domains=$TOTAL_DUP" \
    "double_allocations=$TOTAL_DOUBLE total=$((SECONDS - T0))s"
sw_t_done
