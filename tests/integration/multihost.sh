#!/usr/bin/env bash
# Several hosts in network namespaces this test makes (ip netns): the
# control plane (PostgreSQL, Redis, panel, provisioner, billing) in one, an
# engine in each of two others, linked by veth pairs with private test
# addresses that exist inside those namespaces only. Every link is TLS with
# a private CA (tests/lib/ca.sh): PostgreSQL verify-full, Redis rediss://
# with a client certificate per host; each engine runs as its node (the
# PostgreSQL role and Redis user its enrolment answered, checked on the
# live sessions). An order runs end to end on each
# node; then one engine's namespace is cut off (its link down), orders keep
# coming for both nodes, the link comes back, and every accepted order
# reaches a terminal state with its server running on the node it was
# placed on: nothing lost. Needs root and ip netns (skipped, exit 77,
# where namespaces cannot be made).
set -u
if [ -z "${SW_MH_INSIDE:-}" ]; then
    # The outer run: make the hosts, run the test inside the control plane's
    # namespace, and always remove them.
    NS=swmh$$
    CP=$NS-cp E1=$NS-e1 E2=$NS-e2
    mh_cleanup() { ip netns del "$CP" 2>/dev/null; ip netns del "$E1" 2>/dev/null; ip netns del "$E2" 2>/dev/null; }
    trap mh_cleanup EXIT
    if ! ip netns add "$CP" 2>/dev/null; then
        echo "SKIP: cannot make network namespaces here (root and ip netns needed)"
        exit 77
    fi
    ip netns add "$E1" && ip netns add "$E2" || exit 99
    for ns in "$CP" "$E1" "$E2"; do ip -n "$ns" link set lo up || exit 99; done
    # cp:to-e1 10.77.1.1 <-> e1:eth0 10.77.1.2, cp:to-e2 10.77.2.1 <-> e2:eth0 10.77.2.2
    for i in 1 2; do
        ns=$NS-e$i
        ip link add "to-e$i" netns "$CP" type veth peer name eth0 netns "$ns" || exit 99
        ip -n "$CP" addr add "10.77.$i.1/24" dev "to-e$i" && ip -n "$CP" link set "to-e$i" up &&
            ip -n "$ns" addr add "10.77.$i.2/24" dev eth0 && ip -n "$ns" link set eth0 up || exit 99
    done
    SW_MH_INSIDE=1 SW_MH_CP=$CP SW_MH_E1=$E1 SW_MH_E2=$E2 ip netns exec "$CP" "$0"
    exit $?
fi

. "$(dirname "$0")/../lib/harness.sh"
. "$SW_SRCDIR/tests/lib/ca.sh"
. "$SW_SRCDIR/tests/lib/tls.sh"
E1=$SW_MH_E1 E2=$SW_MH_E2
A1=10.77.1.1 A2=10.77.2.1 # the control plane, as each engine's host sees it
C=$SW_T_DIR/certs
mkdir -p "$C"
sw_ca_new "$C" ca && sw_ca_issue "$C" ca cp cp.slipway.test "$A1" "$A2" || exit 99
for h in control e1 e2; do sw_ca_issue "$C" ca "$h" "$h.slipway.test" || exit 99; done

sw_t_check "engine host e1 cannot reach e2's address (separate hosts)" \
    bash -c "! ip netns exec $E1 bash -c 'exec 3<>/dev/tcp/10.77.2.2/1' 2>/dev/null"

sw_pg_start "$SW_T_DIR" fast || exit 99
sw_tls_pg "$SW_T_DIR" "$A1,$A2" 5432 "$C/cp.crt" "$C/cp.key" "$C/ca.crt" || exit 99
sw_tls_redis "$SW_T_DIR" "$A1,$A2" 6380 "$C/cp.crt" "$C/cp.key" "$C/ca.crt" || exit 99
# The control plane's Redis user; each engine host its node's user (made at
# enrolment, applied by the provisioner) and its own client certificate;
# no default user.
declare -A PW
for h in default control; do PW[$h]=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'); done
sw_t_redis ACL SETUSER control on ">${PW[control]}" '~*' '&*' '+@all' >/dev/null || exit 99
sw_t_redis() { redis-cli --no-auth-warning -s "$SW_REDIS_SOCK" --user control --pass "${PW[control]}" "$@"; }
sw_t_redis ACL SETUSER default resetpass ">${PW[default]}" off >/dev/null || exit 99
# db_url ADDR, redis_url ADDR HOST: each host's own view and identity
# (libpq waits for a reply without a limit: TCP keepalives end a session
# whose peer is cut off, so a partitioned engine notices and can stop)
db_url() { echo "postgresql://slipway@$1:5432/slipway?sslmode=verify-full&sslrootcert=$C/ca.crt&keepalives_idle=5&keepalives_interval=2&keepalives_count=3&tcp_user_timeout=15000"; }
redis_url() { echo "rediss://$2:${PW[$2]}@$1:6380?cacert=$C/ca.crt&cert=$C/$2.crt&key=$C/$2.key"; }
export SLIPWAY_DATABASE_URL SLIPWAY_REDIS_URL SLIPWAY_NODE_REDIS_URL
SLIPWAY_DATABASE_URL=$(db_url "$A1") SLIPWAY_REDIS_URL=$(redis_url "$A1" control)
SLIPWAY_NODE_REDIS_URL="rediss://$A1:6380?cacert=$C/ca.crt" # what enrolment answers engines
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
sw_t_panel
sw_t_daemon provisioner slipway-provisioner
sw_t_daemon billing slipway-billing

j() { jq -r "$1" <<<"$SW_BODY"; }
sw_tls_catalog "$OP" || exit 99
declare -A LOC NODE
for i in 1 2; do # one location per node, so an order names its node
    sw_t_api POST /v1/admin/locations "$OP" "{\"code\":\"l$i\",\"name\":\"host e$i\"}"
    LOC[$i]=$(j .id)
    slipwayctl node-file "$SW_T_DIR/n$i.xml" 8 16384
    sw_t_api POST /v1/admin/nodes "$OP" "{\"name\":\"n$i\",\"location_id\":\"${LOC[$i]}\",\"engine_uri\":\"test://$SW_T_DIR/n$i.xml\",\"kinds\":[\"container\"],\"cpus\":8,\"ram_mb\":16384,\"disk_gb\":500}"
    sw_t_eq "node n$i enrolled" 201 "$SW_STATUS"
    NODE[$i]=$(j .id)
    a=A$i
    # the enrolment's identities (its node's PostgreSQL role and Redis user),
    # reaching the control plane at the address this host sees, with its
    # host's client certificate
    node_db=$(j .engine_config.SLIPWAY_DATABASE_URL)
    node_redis=$(j .engine_config.SLIPWAY_REDIS_URL)
    sw_t_daemon "engine-e$i" ip netns exec "$(eval echo "\$E$i")" env \
        SLIPWAY_DATABASE_URL="${node_db//host=\'$A1\'/host=\'${!a}\'}" \
        SLIPWAY_REDIS_URL="${node_redis/@$A1:/@${!a}:}&cert=$C/e$i.crt&key=$C/e$i.key" \
        SLIPWAY_NODE_ID="$(j .engine_config.SLIPWAY_NODE_ID)" \
        SLIPWAY_NODE_SECRET_KEY="$(j .engine_config.SLIPWAY_NODE_SECRET_KEY)" slipway-engine
done

SERVERS=()
# order I: orders a server on node nI; records it in SERVERS
order() {
    sw_t_api POST /v1/orders "$TOK" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"location_id\":\"${LOC[$1]}\",\"hostname\":\"mh$1.example.com\"}"
    [ "$SW_STATUS" = 202 ] || { echo "order on n$1: $SW_STATUS $SW_BODY"; return 1; }
    SERVERS+=("$(j .server.id):$1")
}
state_is() { sw_t_api GET "/v1/servers/$1" "$TOK"; [ "$(j .state)" = "$2" ]; }
for i in 1 2; do
    t0=$(date +%s%N)
    order "$i" || sw_t_fail "order on n$i accepted"
    if sw_t_wait "server on n$i" 60 state_is "${SERVERS[-1]%:*}" running; then
        sw_t_ok "an order on n$i (engine in its own namespace, over TLS) runs in $((($(date +%s%N) - t0) / 1000000)) ms"
    else
        sw_t_fail "the order on n$i never ran"
    fi
done
on_node() { sw_t_psql -c "select count(*) from servers where node_id = '$1' and state = 'running'"; }

# ---- host e1 cut off: its link down, orders keep coming for both nodes ----
ip -n "$E1" link set eth0 down
sw_t_check "e1 is cut off (it cannot reach the control plane)" \
    bash -c "! ip netns exec $E1 timeout 2 bash -c 'exec 3<>/dev/tcp/$A1/6380' 2>/dev/null"
for k in 1 2 3; do order 1 && order 2 || sw_t_fail "orders accepted while e1 is cut off"; done
n2_has() { [ "$(on_node "${NODE[2]}")" -ge "$1" ]; }
sw_t_check "n2 keeps working while e1 is cut off" sw_t_wait "n2 servers running" 60 n2_has 4
sw_t_eq "n1 runs nothing new while cut off" 1 "$(on_node "${NODE[1]}")"
sleep "${SW_MH_CUT_SECONDS:-8}" # the outage itself: nothing to poll for
ip -n "$E1" link set eth0 up
t0=$(date +%s)
terminal() {
    [ "$(sw_t_psql -c "select count(*) from jobs where type = 'create' and state not in ('succeeded', 'failed', 'dead')")" = 0 ]
}
if sw_t_wait "every job terminal" 120 terminal; then
    sw_t_ok "link restored: every accepted order's job is terminal after $(($(date +%s) - t0)) s"
else
    sw_t_fail "jobs left unfinished: $(sw_t_psql -c "select type, state, count(*) from jobs group by 1, 2")"
fi
lost=0
for s in "${SERVERS[@]}"; do
    got=$(sw_t_psql -c "select s.state || ' ' || coalesce(n.name, '-') from servers s left join nodes n on n.id = s.node_id where s.id = '${s%:*}'")
    [ "$got" = "running n${s#*:}" ] || { lost=$((lost + 1)); echo "server ${s%:*}: $got, ordered on n${s#*:}"; }
done
sw_t_eq "all ${#SERVERS[@]} accepted orders run on the node they were placed on" 0 "$lost"
sw_t_eq "each job succeeded once" "${#SERVERS[@]}" \
    "$(sw_t_psql -c "select count(*) from jobs where type = 'create' and state = 'succeeded'")"
ssl=$(sw_t_psql -c "select count(*) filter (where not s.ssl) || ' ' || count(distinct a.client_addr) from pg_stat_ssl s join pg_stat_activity a using (pid) where a.client_addr is not null")
sw_t_eq "no plain PostgreSQL session; clients from 3 hosts (cp, e1, e2)" "0 3" "$ssl"
sw_t_eq "each engine host logs in to PostgreSQL as its node's role only" \
    "10.77.1.2 slipway_node_${NODE[1]//-/},10.77.2.2 slipway_node_${NODE[2]//-/}," \
    "$(sw_t_psql -c "select distinct host(client_addr) || ' ' || usename from pg_stat_activity
        where host(client_addr) in ('10.77.1.2', '10.77.2.2') order by 1" | tr '\n' ',')"
peers=$(sw_t_redis CLIENT LIST TYPE normal | sed -n 's/.* addr=\([0-9.]*\):.* user=\([a-z0-9-]*\) .*/\1 as \2/p' | sort -u | tr '\n' ',')
sw_t_eq "Redis clients: the control plane as its user, each engine host as its node's" \
    "10.77.1.1 as control,10.77.1.2 as node-${NODE[1]},10.77.2.2 as node-${NODE[2]}," "$peers"
sw_t_done
