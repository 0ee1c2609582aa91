#!/usr/bin/env bash
# The soak: the whole stack under load while faults are injected, then the
# invariants checked once it has settled. See tests/soak/README.md.
#
#   tests/soak/run.sh [--duration S] [--nodes N] [--seed N] [--threads N]
#                     [--settle S] [--fault-gap MIN_MS MAX_MS]
#
# Also from the environment: SW_SOAK_DURATION (90), SW_SOAK_NODES (20),
# SW_SOAK_SEED (random), SW_SOAK_THREADS (8), SW_SOAK_SETTLE (240),
# SW_SOAK_GAP_MIN / SW_SOAK_GAP_MAX (ms between faults: 2000 / 9000).
# SW_KEEP=1 keeps the temporary directory (logs, records) afterwards.
DURATION=${SW_SOAK_DURATION:-90}
NODES=${SW_SOAK_NODES:-20}
SEED=${SW_SOAK_SEED:-$((RANDOM * 32768 + RANDOM))}
THREADS=${SW_SOAK_THREADS:-8}
SETTLE=${SW_SOAK_SETTLE:-240}
GAP_MIN=${SW_SOAK_GAP_MIN:-2000}
GAP_MAX=${SW_SOAK_GAP_MAX:-9000}
while [ $# -gt 0 ]; do
    case $1 in
        --duration) DURATION=$2; shift 2 ;;
        --nodes) NODES=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        --threads) THREADS=$2; shift 2 ;;
        --settle) SETTLE=$2; shift 2 ;;
        --fault-gap) GAP_MIN=$2 GAP_MAX=$3; shift 3 ;;
        *) echo "usage: $0 [--duration S] [--nodes N] [--seed N] [--threads N] [--settle S] [--fault-gap MIN_MS MAX_MS]" >&2
           exit 2 ;;
    esac
done
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/harness.sh"
RANDOM=$SEED
T0=$SECONDS
echo "# soak: duration=${DURATION}s nodes=$NODES seed=$SEED threads=$THREADS dir=$SW_T_DIR"

HB=2 # heartbeat interval (s): an engine paused past 3 of them is offline
SUSPECT=15 # heartbeats older than this: the node is suspect, then fenced (issue 15)
export SLIPWAY_ORDER_RATE=0 SLIPWAY_CLAIM_IDLE_MS=3000 SLIPWAY_JOB_SILENT_S=15 \
    SLIPWAY_HEARTBEAT_INTERVAL=$HB SLIPWAY_USAGE_INTERVAL=10 SLIPWAY_RECONCILE_INTERVAL=60 \
    SLIPWAY_BILLING_INTERVAL=10 SLIPWAY_HOOKS_ALLOW_PRIVATE=1 \
    SLIPWAY_HOOKS_RETRY_SCHEDULE=0,1,2,4,8,15,30,60 SLIPWAY_HOOKS_TIMEOUT=5 \
    SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8 SLIPWAY_THREADS=4 SLIPWAY_DB_POOL=6 \
    SLIPWAY_HA_SUSPECT_S=$SUSPECT SLIPWAY_HA_CHECK_MS=500 SLIPWAY_HA_FENCE_TIMEOUT_S=10
sw_t_stack
# The harness's clusters trade durability for speed (synchronous_commit off):
# an immediate restart would then lose commits that were answered, which no
# production cluster does. fsync stays off: a process crash keeps the OS cache.
sw_t_psql -c "alter system set synchronous_commit = on" -c "select pg_reload_conf()" >/dev/null || exit 99
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99

# Two panels on fixed ports (a restarted panel comes back where clients look).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT1=$(free_port) PORT2=$(free_port)
sw_t_daemon panel1 env SLIPWAY_LISTEN="127.0.0.1:$PORT1" slipway-panel
sw_t_daemon panel2 env SLIPWAY_LISTEN="127.0.0.1:$PORT2" slipway-panel
SW_URL="http://127.0.0.1:$PORT1"
URL2="http://127.0.0.1:$PORT2"
healthy() { curl -sf -o /dev/null "$1/healthz"; }
sw_t_wait "panel 1" 30 healthy "$SW_URL" || exit 99
sw_t_wait "panel 2" 30 healthy "$URL2" || exit 99

j() { jq -r "$1" <<<"$SW_BODY"; }
q() { sw_t_psql -c "$1"; }
must() {
    sw_t_api "$@"
    case $SW_STATUS in 2??) ;; *) echo "setup: $1 $2 answered $SW_STATUS: $SW_BODY"; exit 99 ;; esac
}

# ---- the webhook receiver (never faulted) ----
echo '{}' >"$SW_T_DIR/hook_secrets.json"
python3 "$HERE/receiver.py" "$SW_T_DIR/hook.port" "$SW_T_DIR/hook_secrets.json" \
    "$SW_T_DIR/hooks.jsonl" "$SEED" >>"$SW_T_DIR/receiver.log" 2>&1 &
RECV_PID=$!
SW_T_PIDS+=("$RECV_PID")
sw_t_wait "receiver" 10 test -s "$SW_T_DIR/hook.port" || exit 99
HOOK="http://127.0.0.1:$(cat "$SW_T_DIR/hook.port")"

# ---- location, addresses, nodes and their engines ----
must POST /v1/admin/locations "$OP" '{"code":"soak1","name":"Soak"}'
LOC=$(j .id)
must POST /v1/admin/ip-pools "$OP" "{\"location_id\":\"$LOC\",\"network\":\"10.77.0.0/16\",\"gateway\":\"10.77.0.1\"}"
must POST /v1/admin/ip-pools "$OP" "{\"location_id\":\"$LOC\",\"network\":\"2001:db8:77::/48\",\"gateway\":\"2001:db8:77::1\"}"
KINDS=('["container","hvm"]' '["pv"]' '["hvm"]' '["container"]' '["pv","hvm"]')
# One pool "shared" that every node but each tenth sees (as NFS would be: an
# ha server's volumes there let it run again elsewhere after its node died);
# each tenth node has its own "local" pool (an ha server there is lost). A
# test-driver pool reports 100 GiB, offered once to all the nodes sharing it.
SHARED="[{\"name\":\"shared\",\"path\":\"$SW_T_DIR/pools/shared\",\"shared\":true,\"disk_ratio\":20}]"
LOCAL='[{"name":"local","disk_ratio":1}]'
: >"$SW_T_DIR/nodes"
for i in $(seq 1 "$NODES"); do
    kinds=${KINDS[$(((i - 1) % 5))]} pools=$SHARED
    [ $((i % 10)) = 0 ] && pools=$LOCAL
    slipwayctl node-file "$SW_T_DIR/node$i.xml" 8 16384 || exit 99
    must POST /v1/admin/nodes "$OP" "{\"name\":\"n$i\",\"location_id\":\"$LOC\",\"engine_uri\":\"test://$SW_T_DIR/node$i.xml\",\"kinds\":$kinds,\"cpus\":8,\"ram_mb\":16384,\"disk_gb\":400,\"reserved_ram_mb\":1024,\"cpu_ratio\":3,\"ram_ratio\":1.5,\"pools\":$pools}"
    nid=$(j .id)
    # the libvirt fence agent: on a test-driver node it reaches a fresh copy
    # of the node's file, so it succeeds; a node's death is its engine
    # killed (run.sh's node_death), which takes its domains with it
    must PUT "/v1/admin/nodes/$nid/fence" "$OP" '{"agent":"libvirt"}'
    echo "$nid $SW_T_DIR/node$i.domains engine$i" >>"$SW_T_DIR/nodes"
    sw_t_daemon "engine$i" env SLIPWAY_NODE_ID="$nid" SLIPWAY_CONSUMER="engine$i" \
        SLIPWAY_DOMAINS_FILE="$SW_T_DIR/node$i.domains" slipway-engine
done

# ---- plans (two sizes per kind, so resize has somewhere to go) and templates ----
declare -A TPL
TPLS='{}'
for kind in container pv hvm; do
    ids=()
    for os in debian-12 ubuntu-24.04; do
        must POST /v1/admin/templates "$OP" "{\"name\":\"$os\",\"kind\":\"$kind\",\"os\":\"$os\"}"
        ids+=("\"$(j .id)\"")
    done
    TPL[$kind]="[$(IFS=,; echo "${ids[*]}")]"
done
PLANS='[]'
plan() { # NAME KIND VCPUS RAM BURST SWAP DISK HA
    must POST /v1/admin/plans "$OP" "{\"name\":\"$1\",\"kind\":\"$2\",\"vcpus\":$3,\"ram_mb\":$4,\"burst_ram_mb\":$5,\"swap_mb\":$6,\"disk_gb\":$7,\"ha\":$8,\"price_hourly\":{\"amount\":2,\"currency\":\"EUR\"},\"price_monthly\":{\"amount\":900,\"currency\":\"EUR\"}}"
    PLANS=$(jq -c --arg id "$(j .id)" --arg kind "$2" '. + [{id: $id, kind: $kind}]' <<<"$PLANS")
}
# half of them ha (issue 15): one of each kind's two sizes, crosswise
plan ct-s container 1 256 0 256 5 false
plan ct-m container 2 1024 0 1024 20 true
plan pv-s pv 1 512 0 0 10 true
plan pv-m pv 2 1024 0 0 20 false
plan hvm-s hvm 1 512 1024 0 10 true
plan hvm-m hvm 2 1024 2048 0 20 false

# ---- accounts: customers, and resellers with customers of their own ----
ACTORS='[]'
login() { # EMAIL PASSWORD -> token
    must POST /v1/auth/login "" "{\"email\":\"$1\",\"password\":\"$2\"}"
    j .token
}
for c in 1 2 3 4 5 6; do
    must POST /v1/admin/accounts "$OP" "{\"kind\":\"customer\",\"email\":\"c$c@example.com\",\"name\":\"c$c\",\"password\":\"c$c-secret-pw\"}"
    t=$(login "c$c@example.com" "c$c-secret-pw")
    ACTORS=$(jq -c --arg t "$t" --arg n "c$c" '. + [{kind: "customer", name: $n, token: $t}]' <<<"$ACTORS")
done
for r in 1 2; do
    must POST /v1/admin/accounts "$OP" "{\"kind\":\"reseller\",\"email\":\"r$r@example.com\",\"name\":\"r$r\",\"password\":\"r$r-secret-pw\"}"
    rt=$(login "r$r@example.com" "r$r-secret-pw")
    custs='[]'
    for c in 1 2 3; do
        must POST /v1/reseller/customers "$rt" "{\"email\":\"r${r}c$c@example.com\",\"name\":\"r${r}c$c\",\"password\":\"r${r}c$c-secret-pw\",\"external_id\":\"ext-$r-$c\"}"
        cid=$(j .id)
        t=$(login "r${r}c$c@example.com" "r${r}c$c-secret-pw")
        custs=$(jq -c --arg id "$cid" '. + [$id]' <<<"$custs")
        ACTORS=$(jq -c --arg t "$t" --arg n "r${r}c$c" '. + [{kind: "customer", name: $n, token: $t}]' <<<"$ACTORS")
    done
    ACTORS=$(jq -c --arg t "$rt" --arg n "r$r" --argjson c "$custs" '. + [{kind: "reseller", name: $n, token: $t, customers: $c}]' <<<"$ACTORS")
    [ "$r" = 1 ] && R1TOK=$rt
done

# ---- webhook endpoints: the operator's two (every event; at most 13 types
# an endpoint) and reseller r1's (its customers' events; node.* are the
# operator's only) ----
EVENTS='"order.created","server.provisioned","server.suspended","server.unsuspended","server.terminated","job.failed","usage.hourly","invoice.finalized","invoice.overdue","payment.received"'
MOVES='"server.migrated","server.recovered","server.lost"'
NODE_EVENTS='"node.suspect","node.fenced","node.failed","node.evacuated"'
: >"$SW_T_DIR/endpoints"
hook() { # TOKEN PATH EVENTS
    must POST /v1/webhooks "$1" "{\"url\":\"$HOOK$2\",\"events\":[$3]}"
    echo "$(j .id) $2" >>"$SW_T_DIR/endpoints"
    jq --arg p "$2" --arg s "$(j .secret)" '. + {($p): $s}' "$SW_T_DIR/hook_secrets.json" >"$SW_T_DIR/hs.tmp" &&
        mv "$SW_T_DIR/hs.tmp" "$SW_T_DIR/hook_secrets.json"
}
hook "$OP" /op "$EVENTS"
hook "$OP" /ha "$MOVES,$NODE_EVENTS"
hook "$R1TOK" /r1 "$EVENTS,$MOVES"

# ---- provisioners and billing ----
sw_t_daemon prov1 env SLIPWAY_CONSUMER=prov1 slipway-provisioner
sw_t_daemon prov2 env SLIPWAY_CONSUMER=prov2 slipway-provisioner
sw_t_daemon billing env SLIPWAY_CONSUMER=billing1 slipway-billing
engines_up() { [ "$(q "select count(*) from nodes where last_heartbeat_at > now() - interval '10 seconds'")" = "$NODES" ]; }
sw_t_check "all $NODES engines are up" sw_t_wait "engines" 90 engines_up || exit 1

jq -n --arg u1 "$SW_URL" --arg u2 "$URL2" --argjson a "$ACTORS" --argjson p "$PLANS" \
    --argjson tc "${TPL[container]}" --argjson tp "${TPL[pv]}" --argjson th "${TPL[hvm]}" \
    --arg db "$SLIPWAY_DATABASE_URL" --arg loc "$LOC" \
    '{panels: [$u1, $u2], actors: $a, plans: $p, templates: {container: $tc, pv: $tp, hvm: $th},
      db: $db, location: $loc}' >"$SW_T_DIR/soak.json"
echo "# soak: setup $((SECONDS - T0))s; load and faults for ${DURATION}s"

# ---- load ----
python3 "$HERE/load.py" "$SW_T_DIR/soak.json" "$SW_T_DIR" "$DURATION" "$SEED" "$THREADS" \
    >>"$SW_T_DIR/load.log" 2>&1 &
LOAD_PID=$!
SW_T_PIDS+=("$LOAD_PID")

# ---- faults ----
rand_ms() { echo $(($1 + (RANDOM * 32768 + RANDOM) % ($2 - $1 + 1))); }
nap_ms() { sleep "$(awk -v m="$1" 'BEGIN { printf "%.3f", m / 1000 }')"; }
fault() { echo "$((SECONDS - T0)) $*" >>"$SW_T_DIR/faults.txt"; }
DAEMONS=(panel1 panel2 prov1 prov2 billing)
for i in $(seq 1 "$NODES"); do DAEMONS+=("engine$i"); done
pid_of() { eval "echo \${SW_T_PID_${1//[^A-Za-z0-9_]/_}}"; }
kill_restart() { # NAME
    local pid
    pid=$(pid_of "$1")
    if ! kill -0 "$pid" 2>/dev/null; then
        fault died_on_its_own "$1"
        echo "# soak: $1 (pid $pid) had died on its own"
    else
        kill -9 "$pid" 2>/dev/null
        fault kill9 "$1"
    fi
    wait "$pid" 2>/dev/null
    nap_ms "$(rand_ms 0 2000)"
    sw_t_respawn "$1"
}
restart_redis() {
    sw_redis_stop "$SW_T_DIR"
    fault redis_restart redis
    nap_ms "$(rand_ms 0 2000)"
    sw_redis_start "$SW_T_DIR" || echo "# soak: redis did not come back"
}
restart_pg() {
    local data=$SW_T_DIR/pg mode=fast log=$SW_T_DIR/pg.log
    if [ -f "$SW_T_DIR/.pgdata" ]; then data=$(cat "$SW_T_DIR/.pgdata") log=$(dirname "$data")/pg.log; fi
    [ $((RANDOM % 2)) = 1 ] && mode=immediate
    sw__as_pg "$SW_PG_BIN/pg_ctl" -D "$data" -m "$mode" -w -t 60 restart \
        -l "$log" >/dev/null 2>&1 || echo "# soak: pg_ctl restart -m $mode failed"
    fault "pg_restart_$mode" postgresql
}
# paused past 3 heartbeats, but well under the suspect threshold (a late
# beat after SIGCONT too): a pause is not a death
pause_engine() {
    local i pid
    pick_node
    i=$PICK
    pid=$(pid_of "engine$i")
    kill -STOP "$pid" 2>/dev/null || return 0
    fault pause_engine "engine$i"
    sleep $((3 * HB + 1 + RANDOM % 3))
    kill -CONT "$pid" 2>/dev/null
}
# ---- node deaths (issue 15) ----
# $SW_T_DIR/dead: "I NODE_ID MODE" of each node dead now: its engine killed
# with -9 (kill9), or stopped (stop: a hung host, killed before it comes
# back), at most 2 at once. $SW_T_DIR/deaths, for check.py: "death NODE_ID
# engineI MODE EPOCH_MS RUN_S HA_SERVERS" (its ha servers running or stopped just
# after the kill, comma-separated, "-" for none, "?" unknown) and "revive
# NODE_ID engineI EPOCH_MS STATUS" (the operator's PATCH state active).
: >"$SW_T_DIR/dead"
: >"$SW_T_DIR/deaths"
is_dead() { grep -q "^$1 " "$SW_T_DIR/dead"; }
# pick_node [SQL-ON-s-AND-p]: sets PICK, the number of a node whose engine
# is not dead: the one with most servers matching the condition, else one at
# random (in this shell: RANDOM is reseeded in a subshell)
pick_node() {
    local id
    if [ -n "${1:-}" ]; then
        for id in $(q "select s.node_id from servers s join plans p on p.id = s.plan_id
                        where s.node_id is not null and $1 group by 1 order by count(*) desc"); do
            PICK=$(awk -v id="$id" '$1 == id { print NR }' "$SW_T_DIR/nodes")
            [ -n "$PICK" ] && ! is_dead "$PICK" && return
        done
    fi
    while :; do
        PICK=$((RANDOM % NODES + 1))
        is_dead "$PICK" || return
    done
}
node_id() { sed -n "${1}p" "$SW_T_DIR/nodes" | cut -d' ' -f1; }
now_ms() { date +%s%3N; }
HA_HERE="coalesce(s.ha, p.ha) and s.state in ('running', 'stopped')"
node_death() { # [busiest]: the node with most ha servers, else a random one
    local i nid pid mode=kill9 ha
    [ "$(grep -c . "$SW_T_DIR/dead")" -lt 2 ] || return 0
    if [ "${1:-}" = busiest ]; then
        pick_node "$HA_HERE and s.node_id not in (select node_id from evacuations where state = 'running')"
    else
        pick_node
    fi
    i=$PICK nid=$(node_id "$PICK")
    # not while it is being evacuated
    [ "$(q "select count(*) from evacuations where node_id = '$nid' and state = 'running'")" = 0 ] || return 0
    pid=$(pid_of "engine$i")
    [ $((RANDOM % 2)) = 0 ] && mode=stop
    if [ $mode = stop ]; then kill -STOP "$pid"; else kill -9 "$pid" && wait "$pid" 2>/dev/null; fi
    echo "$i $nid $mode" >>"$SW_T_DIR/dead"
    ha=$(q "select coalesce(string_agg(s.id::text, ',' order by s.id), '-') from servers s
              join plans p on p.id = s.plan_id where s.node_id = '$nid' and $HA_HERE")
    echo "death $nid engine$i $mode $(now_ms) $((SECONDS - T0)) ${ha:-?}" >>"$SW_T_DIR/deaths"
    fault node_death "engine$i" "$mode"
}
beats() { [ "$(q "select last_heartbeat_at > now() - interval '$HB s' from nodes where id = '$1'")" = t ]; }
# A dead node the control plane is done with (failed, no recovery from it
# queued or running) comes back as an operator brings a host back: the
# engine started again (a stopped one killed first), its first beat, then
# the node set active.
revive_nodes() {
    local l i nid mode pid k lines
    mapfile -t lines <"$SW_T_DIR/dead"
    for l in "${lines[@]}"; do
        read -r i nid mode <<<"$l"
        [ "$(q "select n.health = 'failed' and not exists (select 1 from jobs j where j.type = 'recover'
                  and j.params->>'from_node' = n.id::text and j.state in ('queued', 'running'))
                  from nodes n where n.id = '$nid'")" = t ] || continue
        pid=$(pid_of "engine$i")
        [ "$mode" = stop ] && kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        sw_t_respawn "engine$i" </dev/null
        for k in $(seq 20); do beats "$nid" && break; sleep 1; done
        op_api PATCH "/v1/admin/nodes/$nid" '{"state":"active"}'
        sed -i "/^$i /d" "$SW_T_DIR/dead"
        echo "revive $nid engine$i $(now_ms) $SW_STATUS" >>"$SW_T_DIR/deaths"
        fault revive "engine$i" "$SW_STATUS"
    done
}
# An operator's call during the faults: panel 1, else panel 2 (one may be down).
op_api() { # METHOD PATH BODY
    local url
    for url in "$SW_URL" "$URL2" "$SW_URL" "$URL2"; do
        SW_STATUS=$(curl -s -o "$SW_T_DIR/.op" -w '%{http_code}' -m 10 -X "$1" \
            -H "Authorization: Bearer $OP" -H 'Content-Type: application/json' --data-binary "$3" "$url$2")
        case $SW_STATUS in 000 | 5??) sleep 0.5 ;; *) return 0 ;; esac
    done
}
# A node evacuated (issue 15): a random node, 1-4 servers at a time. Nodes an
# earlier evacuation left in maintenance go back to work first, so the
# cluster keeps its size; the last one stays in maintenance for check.py.
evacuate_node() { # [busiest]: the node with most servers, else a random one
    local id line
    for id in $(q "select n.id from nodes n where n.state = 'maintenance' and not exists
                   (select 1 from evacuations e where e.node_id = n.id and e.state = 'running')"); do
        op_api PATCH "/v1/admin/nodes/$id" '{"state":"active"}'
        fault reactivate "$(awk -v id="$id" '$1 == id {print $3}' "$SW_T_DIR/nodes")" "$SW_STATUS"
    done
    if [ "${1:-}" = busiest ]; then pick_node "s.state in ('running', 'stopped', 'suspended')"; else pick_node; fi
    line=$(sed -n "${PICK}p" "$SW_T_DIR/nodes")
    op_api POST "/v1/admin/nodes/${line%% *}/evacuate" "{\"parallel\":$((RANDOM % 4 + 1))}"
    fault evacuate "${line##* }" "$SW_STATUS"
}
NFAULT=0
while kill -0 "$LOAD_PID" 2>/dev/null && [ $((SECONDS - T0)) -lt $((DURATION + 900)) ]; do
    nap_ms "$(rand_ms "$GAP_MIN" "$GAP_MAX")"
    kill -0 "$LOAD_PID" 2>/dev/null || break
    revive_nodes
    r=$((RANDOM % 100)) which=
    # the third fault is the death of the node with most ha servers, the
    # fourth the evacuation of the node with most servers, so a short run
    # has one of each at least, once servers are there
    case $NFAULT in 2) r=99 which=busiest ;; 3) r=85 which=busiest ;; esac
    NFAULT=$((NFAULT + 1))
    if [ $r -lt 46 ]; then
        # by kind first, so the 2 panels, 2 provisioners and billing are not
        # drowned by the engines: panel 25%, provisioner 25%, billing 15%, engine 35%
        k=$((RANDOM % 100))
        if [ $k -lt 25 ]; then kill_restart "panel$((RANDOM % 2 + 1))"
        elif [ $k -lt 50 ]; then kill_restart "prov$((RANDOM % 2 + 1))"
        elif [ $k -lt 65 ]; then kill_restart billing
        else pick_node && kill_restart "engine$PICK"; fi
    elif [ $r -lt 58 ]; then
        restart_redis
    elif [ $r -lt 70 ]; then
        restart_pg
    elif [ $r -lt 80 ]; then
        pause_engine
    elif [ $r -lt 90 ]; then
        evacuate_node $which
    else
        node_death $which
    fi
done
wait "$LOAD_PID"
echo "# soak: load done at $((SECONDS - T0))s; faults stopped"
# the nodes still dead come back once the control plane is done with them
for k in $(seq 120); do
    revive_nodes
    [ -s "$SW_T_DIR/dead" ] || break
    sleep 1
done
[ -s "$SW_T_DIR/dead" ] && echo "# soak: nodes still dead (not failed in 120 s): $(cat "$SW_T_DIR/dead")"
for n in "${DAEMONS[@]}"; do
    pid=$(pid_of "$n")
    if ! kill -0 "$pid" 2>/dev/null; then
        fault died_on_its_own "$n"
        echo "# soak: $n (pid $pid) had died on its own; restarted"
        wait "$pid" 2>/dev/null
        sw_t_respawn "$n"
    fi
done

# ---- settle: nothing queued or running, outbox drained, hooks sent ----
T_SETTLE=$SECONDS
pending() {
    q "select (select count(*) from jobs where state in ('queued', 'running'))
            + (select count(*) from outbox where published_at is null)
            + (select count(*) from events where fanned_out_at is null)
            + (select count(*) from webhook_deliveries where state = 'pending')
            + (select count(*) from servers where state in ('pending', 'provisioning', 'terminating'))
            + (select count(*) from evacuations where state = 'running')
            + (select count(*) from nodes where health <> 'ok')"
}
settled() { [ "$(pending 2>/dev/null)" = 0 ]; }
if sw_t_wait "the system to settle" "$SETTLE" settled; then
    echo "# soak: settled in $((SECONDS - T_SETTLE))s"
else
    echo "# soak: NOT settled after ${SETTLE}s: $(q "select 'jobs ' || (select count(*) from jobs where state in ('queued', 'running'))
        || ' outbox ' || (select count(*) from outbox where published_at is null)
        || ' unfanned ' || (select count(*) from events where fanned_out_at is null)
        || ' deliveries ' || (select count(*) from webhook_deliveries where state = 'pending')
        || ' servers ' || (select count(*) from servers where state in ('pending', 'provisioning', 'terminating'))
        || ' evacuations ' || (select count(*) from evacuations where state = 'running')
        || ' unhealthy nodes ' || (select count(*) from nodes where health <> 'ok')")"
fi
# Fresh domain lists: written after the settle by the live engine of each node.
NOW=$(date +%s)
fresh() {
    local f
    while read -r _ f _; do
        [ "$(sed -n 's/^# pid=[0-9]* at=\([0-9]*\) .*/\1/p' "$f" 2>/dev/null)" -gt "$NOW" ] 2>/dev/null || return 1
    done <"$SW_T_DIR/nodes"
}
sw_t_wait "fresh domain files" 30 fresh || echo "# soak: some domain files are stale"

# ---- the invariants ----
REDISCLI_AUTH=$(cat "$SW_REDIS_DIR/redis-users/admin") \
    python3 "$HERE/check.py" "$SW_T_DIR" "$SLIPWAY_DATABASE_URL" "$SW_REDIS_SOCK" | tee "$SW_T_DIR/report.txt"
rc=${PIPESTATUS[0]}
sw_t_eq "soak: 0 violations (check.py exit status)" 0 "$rc"
echo "# soak: total $((SECONDS - T0))s seed=$SEED"
sw_t_done
