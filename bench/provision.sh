#!/usr/bin/env bash
# bench/provision.sh [ORDERS] - orders through the whole pipeline (panel,
# outbox relay, provisioner, engines on 20 libvirt test-driver nodes,
# results) on a private stack: servers running per second and order-to-
# running p50/p99, next to pgbench running the panel's order transaction
# (bench/order-tx.sql) on the same database in the same run.
# Goal (issue 4): running/s >= 0.15 x pgbench's order transactions/s.
# Knobs: SW_PROV_NODES (20), SW_PROV_PAR (16 clients), SW_PROV_PROVS (2).
# Two provisioners by default: one provisioner's jobs consumer claims one
# order at a time (about 8 ms a claim here, all round trips to PostgreSQL),
# and that, not the engines, bounds the pipeline; a deployment that wants
# throughput runs several (DESIGN.md "Scale"), as pgbench runs 16 clients.
# Measured at 10:28 on a loaded machine, 1000 orders, runs alternated:
# 1 provisioner 121.5 and 123.3 running/s (0.13, 0.12 of pgbench),
# 2 provisioners 143.5 and 143.0 running/s (0.17, 0.17).
#
# SW_PROV_MODE: "plain" (every link a unix socket; one all-powerful Redis
# user and PostgreSQL's owner for every daemon and engine), "secure" (every
# link TCP over TLS with a private CA, PostgreSQL verify-full and Redis
# rediss://; each daemon its own Redis user; each engine its node's Redis
# ACL user and PostgreSQL role from its enrolment answer, issue 12), or
# "both" (default): plain then secure, each on a stack of its own, and the
# cost of TLS and ACLs as the ratio of their running/s.
MODE=${SW_PROV_MODE:-both}
if [ "$MODE" = both ]; then
    out=$(mktemp -d)
    for m in plain secure; do
        SW_PROV_MODE=$m bash "$0" "$@" | tee "$out/$m" || { rm -rf "$out"; exit 1; }
    done
    rate() { awk '/^servers running per second/ { print $5 }' "$out/$1"; }
    p50() { awk '/^order -> running p50/ { print $5 }' "$out/$1"; }
    echo "bench/provision: TLS + per-node identities vs plain, same run"
    printf '%-40s %10s -> %s   (x%s)\n' "servers running per second" "$(rate plain)" "$(rate secure)" \
        "$(awk -v a="$(rate secure)" -v b="$(rate plain)" 'BEGIN { printf "%.2f", a / b }')"
    printf '%-40s %8s ms -> %s ms\n' "order -> running p50" "$(p50 plain)" "$(p50 secure)"
    rm -rf "$out"
    exit 0
fi
case $MODE in plain | secure) ;; *) echo "SW_PROV_MODE: plain, secure or both"; exit 2 ;; esac
. "$(dirname "$0")/../tests/lib/harness.sh"
BENCH_DIR=$SW_SRCDIR/bench
ORDERS=${1:-1000}
NODES=${SW_PROV_NODES:-20}
PAR=${SW_PROV_PAR:-16}
PROVS=${SW_PROV_PROVS:-2}
export SLIPWAY_ORDER_RATE=0 SLIPWAY_LOG_LEVEL=warn
sw_t_stack
PANEL_REDIS=$SW_REDIS_URL PROV_REDIS=$SW_REDIS_URL
if [ "$MODE" = secure ]; then
    . "$SW_SRCDIR/tests/lib/ca.sh"
    . "$SW_SRCDIR/tests/lib/tls.sh"
    C=$SW_T_DIR/ca
    { sw_ca_new "$C" ca && sw_ca_issue "$C" ca cp localhost 127.0.0.1; } >/dev/null 2>&1 || exit 1
    sw_tls_pg "$SW_T_DIR" 127.0.0.1 "$(sw_tls_free_port)" "$C/cp.crt" "$C/cp.key" "$C/ca.crt" || exit 1
    RP=$(sw_tls_free_port)
    sw_t_redis CONFIG SET tls-cert-file "$C/cp.crt" tls-key-file "$C/cp.key" \
        tls-ca-cert-file "$C/ca.crt" tls-auth-clients no bind 127.0.0.1 tls-port "$RP" >/dev/null || exit 1
    rurl() { echo "rediss://$1:$(cat "$SW_REDIS_DIR/redis-users/$1")@127.0.0.1:$RP?cacert=$C/ca.crt"; }
    PANEL_REDIS=$(rurl panel) PROV_REDIS=$(rurl provisioner)
    export SLIPWAY_DATABASE_URL=$SW_PG_TLS_URL
    export SLIPWAY_NODE_REDIS_URL="rediss://127.0.0.1:$RP?cacert=$C/ca.crt"
fi
slipwayctl migrate >/dev/null || exit 1
OP=$(slipwayctl bootstrap) || exit 1
SLIPWAY_REDIS_URL=$PANEL_REDIS sw_t_panel
j() { jq -r "$1" <<<"$SW_BODY"; }
must() { sw_t_api "$@"; case $SW_STATUS in 2*) ;; *) echo "setup: $1 $2: $SW_STATUS $SW_BODY"; exit 1 ;; esac; }
must POST /v1/admin/locations "$OP" '{"code":"b","name":"bench"}'
LOC=$(j .id)
# The provisioners first: they apply the nodes' Redis users.
for p in $(seq 1 "$PROVS"); do
    sw_t_daemon "prov$p" env SLIPWAY_CONSUMER="prov$p" SLIPWAY_REDIS_URL="$PROV_REDIS" slipway-provisioner
done
for i in $(seq 1 "$NODES"); do
    slipwayctl node-file "$SW_T_DIR/n$i.xml" 32 131072
    must POST /v1/admin/nodes "$OP" "{\"name\":\"n$i\",\"location_id\":\"$LOC\",\"engine_uri\":\"test://$SW_T_DIR/n$i.xml\",\"kinds\":[\"container\",\"pv\",\"hvm\"],\"cpus\":32,\"ram_mb\":131072,\"disk_gb\":100000}"
    ident=()
    [ "$MODE" = secure ] && ident=(SLIPWAY_DATABASE_URL="$(j .engine_config.SLIPWAY_DATABASE_URL)"
        SLIPWAY_REDIS_URL="$(j .engine_config.SLIPWAY_REDIS_URL)")
    sw_t_daemon "engine$i" env "${ident[@]}" SLIPWAY_NODE_ID="$(j .id)" SLIPWAY_CONSUMER="engine$i" \
        SLIPWAY_USAGE_INTERVAL=3600 slipway-engine
done
must POST /v1/admin/templates "$OP" '{"name":"d","kind":"hvm","os":"debian-12"}'
TPL=$(j .id)
must POST /v1/admin/plans "$OP" '{"name":"h","kind":"hvm","vcpus":1,"ram_mb":256,"burst_ram_mb":512,"disk_gb":5,"price_hourly":{"amount":1,"currency":"EUR"},"price_monthly":{"amount":1,"currency":"EUR"}}'
PLAN=$(j .id)
echo "$PLAN $TPL" >"$SW_T_DIR/choices"
: >"$SW_T_DIR/tokens"
for c in $(seq 1 20); do
    must POST /v1/admin/accounts "$OP" "{\"kind\":\"customer\",\"email\":\"c$c@example.com\",\"name\":\"c$c\",\"password\":\"c$c-password\"}"
    must POST /v1/auth/login "" "{\"email\":\"c$c@example.com\",\"password\":\"c$c-password\"}"
    j .token >>"$SW_T_DIR/tokens"
done
up() { [ "$(sw_t_psql -c "select count(*) from nodes where last_heartbeat_at is not null")" = "$NODES" ]; }
sw_t_wait "engines" 60 up || exit 1

t0=$(date +%s%N)
python3 "$SW_SRCDIR/tests/integration/orders_load.py" "$SW_URL" "$SW_T_DIR/tokens" \
    "$SW_T_DIR/choices" "$ORDERS" "$PAR" >"$SW_T_DIR/placed"
t1=$(date +%s%N)
done_all() { [ "$(sw_t_psql -c "select count(*) from jobs where type = 'create' and state in ('queued', 'running')")" = 0 ]; }
sw_t_wait "all orders settled" 600 done_all || exit 1
running=$(sw_t_psql -c "select count(*) from servers where state = 'running'")
read -r span p50 p99 < <(sw_t_psql -F' ' -c "select
    extract(epoch from max(j.finished_at) - min(o.created_at)),
    percentile_cont(0.5) within group (order by extract(epoch from j.finished_at - o.created_at)) * 1000,
    percentile_cont(0.99) within group (order by extract(epoch from j.finished_at - o.created_at)) * 1000
    from orders o join jobs j on j.server_id = o.server_id and j.type = 'create' and j.state = 'succeeded'")
rate=$(awk -v n="$running" -v s="$span" 'BEGIN { printf "%.1f", n / s }')
if [ "$MODE" = secure ]; then # what the run went through, not what it was told
    pg_ids=$(sw_t_psql -c "select count(distinct a.usename) from pg_stat_activity a
        join pg_stat_ssl s using (pid) where s.ssl and a.usename like 'slipway\_node\_%'")
    redis_ids=$(sw_t_redis CLIENT LIST TYPE normal | grep -c "laddr=127.0.0.1:$RP .* user=node-")
    [ "$pg_ids" = "$NODES" ] && [ "$redis_ids" -ge "$NODES" ] || {
        echo "secure mode: engines seen as their node over TLS: PostgreSQL $pg_ids, Redis $redis_ids of $NODES"
        exit 1
    }
fi
post_rate=$(awk -v n="$ORDERS" -v d="$(( (t1 - t0) / 1000000 ))" 'BEGIN { printf "%.1f", n * 1000 / d }')

# The reference: pgbench running the panel's order statements, same database.
OWNER=$(sw_t_psql -c "select id from accounts where email = 'c1@example.com'")
TOKID=$(sw_t_psql -c "select id from api_tokens where account_id = '$OWNER' limit 1")
"$SW_PG_BIN/pgbench" -n -M prepared -c "$PAR" -j 2 -T 10 -f "$BENCH_DIR/order-tx.sql" \
    -D owner="$OWNER" -D token="$TOKID" -D plan="$PLAN" -D tpl="$TPL" \
    "$SW_PG_URL" >"$SW_T_DIR/pgbench" 2>&1
tps=$(awk '/^tps = / {printf "%.1f", $3}' "$SW_T_DIR/pgbench")
[ -n "$tps" ] || { cat "$SW_T_DIR/pgbench"; exit 1; }
ratio=$(awk -v a="$rate" -v b="$tps" 'BEGIN { printf "%.2f", a / b }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.15) ? "PASS" : "MISS" }')
echo "bench/provision ($MODE): $ORDERS orders, $PAR clients, $PROVS provisioner(s), $NODES test-driver nodes with an engine each; 2 cores shared by all"
printf '%-40s %10s\n' "orders accepted (POST 202) per second" "$post_rate"
printf '%-40s %10s   (%s of %s running)\n' "servers running per second" "$rate" "$running" "$ORDERS"
printf '%-40s %8.1f ms\n' "order -> running p50" "$p50"
printf '%-40s %8.1f ms\n' "order -> running p99" "$p99"
printf '%-40s %10s   (pgbench -M prepared -c%s, bench/order-tx.sql, same run)\n' "pgbench order transactions per second" "$tps" "$PAR"
printf '%-40s %10s   goal >= 0.15  %s\n' "running/s as a ratio of pgbench" "$ratio" "$verdict"
[ "$MODE" = secure ] && printf '%-40s %10s   (PostgreSQL roles over TLS; Redis node users on the TLS port)\n' \
    "engines seen as their own node" "$pg_ids/$NODES"
sw_t_ok "bench finished"
sw_t_done
