#!/usr/bin/env bash
# bench/api.sh - HTTP API throughput and tail latency under load, on a private
# stack like the tests' (PostgreSQL, Redis and the panel only: no provisioner
# or engines, since this measures the API, not provisioning).
#
# Loads 10,000 servers across 100 customers, then drives the panel with wrk
# (-t2 -c64 -d10s --latency by default) on three routes:
#   GET  /healthz                 the reference (no auth; one SELECT 1 and a Redis PING)
#   GET  /v1/servers?limit=20     as a customer owning 100 of the servers
#   POST /v1/orders               as a customer, a new Idempotency-Key per request
# and runs pgbench (-c64 -j2 -T10, -M prepared) with bench/order-tx.sql, the
# statements the panel runs for one order, against the same database
# (prepared, as the panel's pooled connections run them: core/db.c).
# Prints req/s and p99 per route, the list's ratio to /healthz and the
# orders' accepted/s as a ratio of pgbench's transactions/s, all measured in
# the same run, and PASS/MISS against the goals:
#   list   >= 0.5 x healthz req/s, and p99 < 10 ms
#   orders >= 0.5 x pgbench tps (the same insert transaction)
#
# Environment: SW_BENCH_DURATION (seconds, default 10), SW_BENCH_CONNS (64),
# SW_BENCH_THREADS (wrk and pgbench threads, 2), SW_BENCH_VERBOSE=1 (print
# wrk's and pgbench's own output too). The panel runs with its defaults
# (SLIPWAY_THREADS, SLIPWAY_DB_POOL, SLIPWAY_LOG_LEVEL=info unless set) except
# SLIPWAY_ORDER_RATE=0: the per-customer order limit is off. Each wrk run is
# preceded by a 2 s warm-up that is not counted.
. "$(dirname "$0")/../tests/lib/harness.sh"
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
DUR=${SW_BENCH_DURATION:-10}
CONNS=${SW_BENCH_CONNS:-64}
THR=${SW_BENCH_THREADS:-2}
for tool in wrk jq "$SW_PG_BIN/pgbench"; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is not installed (scripts/lib/setup.sh)"; exit 1; }
done

sw_t_stack
slipwayctl migrate >/dev/null || exit 1
OP=$(slipwayctl bootstrap) || exit 1
export SLIPWAY_ORDER_RATE=0
sw_t_panel
j() { jq -r "$1" <<<"$SW_BODY"; }
must() { # STATUS: the last sw_t_api answered it, else stop
    [ "$SW_STATUS" = "$1" ] || { echo "bench setup: HTTP $SW_STATUS $SW_BODY"; exit 1; }
}

# Catalogue and the two customers that log in, through the API.
sw_t_api POST /v1/admin/locations "$OP" '{"code":"b1","name":"bench"}'; must 201
LOC=$(j .id)
sw_t_api POST /v1/admin/plans "$OP" '{"name":"c1","kind":"container","vcpus":1,"ram_mb":512,"disk_gb":10,"price_hourly":{"amount":1,"currency":"EUR"},"price_monthly":{"amount":500,"currency":"EUR"}}'; must 201
PLAN=$(j .id)
sw_t_api POST /v1/admin/templates "$OP" '{"name":"debian","kind":"container","os":"debian-12"}'; must 201
TPL=$(j .id)
login() { # EMAIL: creates the customer and logs in; prints "account_id token_id token"
    local acct
    sw_t_api POST /v1/admin/accounts "$OP" "{\"kind\":\"customer\",\"email\":\"$1\",\"name\":\"bench\",\"password\":\"bench-password\"}"; must 201
    acct=$(j .id)
    sw_t_api POST /v1/auth/login "" "{\"email\":\"$1\",\"password\":\"bench-password\"}"; must 200
    echo "$acct $(j .token_id) $(j .token)"
}
read -r _ _ LIST_TOK < <(login list@bench.example)
read -r ORD_ACCT ORD_TOKID ORD_TOK < <(login orders@bench.example)
[ -n "$LIST_TOK" ] && [ -n "$ORD_TOK" ] || exit 1

# The other 98 customers (no password: they never log in) with an API
# token each, and 10,000 servers, 100 per customer, with distinct creation
# times, each with the order, create job, outbox row and audit row its order
# left, by SQL: the tables the routes read and write hold what an installation
# of that size holds. (The 98 tokens' hashes are random: nobody uses them.)
sw_t_psql <<SQL || exit 1
INSERT INTO accounts (id, kind, email, name)
  SELECT gen_random_uuid(), 'customer', 'c' || i || '@bench.example', 'c' || i
  FROM generate_series(1, 98) i;
INSERT INTO api_tokens (id, account_id, name, token_hash)
  SELECT gen_random_uuid(), id, 'billing', md5(random()::text) || md5(random()::text)
  FROM accounts WHERE email LIKE 'c%@bench.example';
INSERT INTO servers (id, owner_id, plan_id, template_id, location_id, hostname, state, created_at, updated_at)
  SELECT gen_random_uuid(), a.id, '$PLAN', '$TPL', '$LOC', 's' || n || '.bench.example',
         (ARRAY['running','running','running','stopped','pending'])[1 + n % 5],
         now() - (n || ' seconds')::interval, now()
  FROM (SELECT id, row_number() OVER (ORDER BY id) AS k FROM accounts WHERE kind = 'customer') a,
       generate_series(1, 100) s(i), LATERAL (SELECT (a.k - 1) * 100 + s.i AS n) x;
INSERT INTO orders (id, account_id, server_id, plan_id, state, price_amount, price_currency, created_at)
  SELECT gen_random_uuid(), owner_id, id, plan_id, 'completed', 500, 'EUR', created_at FROM servers;
INSERT INTO jobs (id, server_id, account_id, type, state, attempts, progress, created_at, finished_at)
  SELECT gen_random_uuid(), id, owner_id, 'create', 'succeeded', 1, 100, created_at, created_at FROM servers;
INSERT INTO outbox (stream, payload, created_at, published_at)
  SELECT 'jobs', json_build_object('job_id', j.id, 'server_id', j.server_id, 'type', 'create')::text,
         j.created_at, j.created_at FROM jobs j;
INSERT INTO audit_log (id, actor_id, action, object_id, status, result, remote, created_at)
  SELECT gen_random_uuid(), owner_id, 'POST /v1/orders', id::text, 202, 'ok', '192.0.2.1', created_at
  FROM servers;
ANALYZE;
SQL
NSERVERS=$(sw_t_psql -c "select count(*) from servers")
NCUST=$(sw_t_psql -c "select count(*) from accounts where kind = 'customer'")
sw_t_api GET '/v1/servers?limit=20' "$LIST_TOK"; must 200
[ "$(j '.items | length')" = 20 ] || { echo "bench setup: list gave $(j '.items | length') items"; exit 1; }
sw_t_api POST /v1/orders "$ORD_TOK" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"probe.bench.example\"}"; must 202

OUT=$SW_T_DIR/wrk
mkdir -p "$OUT"
# wrk_run NAME WARMUP_S ARGS...: warms up, then measures; output in $OUT/NAME.
wrk_run() {
    local name=$1 warm=$2; shift 2
    [ "$warm" -gt 0 ] && wrk -t"$THR" -c"$CONNS" -d"${warm}s" "$@" >/dev/null 2>&1
    wrk -t"$THR" -c"$CONNS" -d"${DUR}s" --latency "$@" >"$OUT/$name" 2>&1
}
# wrk_rps FILE / wrk_p99 FILE (ms) / wrk_non2xx FILE / wrk_total FILE / wrk_secs FILE
wrk_rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
wrk_p99() {
    awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
        f = (u == "us") ? 0.001 : (u == "s") ? 1000 : (u == "m") ? 60000 : 1; printf "%.2f\n", v * f }' "$1"
}
wrk_non2xx() { awk '/Non-2xx or 3xx responses:/ {print $NF}' "$1" | grep . || echo 0; }
wrk_total() { awk '/requests in/ {print $1}' "$1"; }
wrk_secs() { awk '/requests in/ {s = $4; sub(/s,$/, "", s); print s}' "$1"; }
wrk_errors() { grep -E 'Socket errors' "$1" || true; }

wrk_run healthz 2 "$SW_URL/healthz"
wrk_run list 2 -H "Authorization: Bearer $LIST_TOK" "$SW_URL/v1/servers?limit=20"
# Orders: the warm-up and the measured run use different key prefixes
# (SW_BENCH_RUN), so no request of the measured run is a replay.
export SW_BENCH_TOKEN=$ORD_TOK SW_BENCH_PLAN=$PLAN SW_BENCH_TEMPLATE=$TPL
SW_BENCH_RUN=warm$$ wrk -t"$THR" -c"$CONNS" -d2s -s "$BENCH_DIR/orders.lua" "$SW_URL/v1/orders" >/dev/null 2>&1
ORDERS_BEFORE=$(sw_t_psql -c "select count(*) from orders")
SW_BENCH_RUN=run$$ wrk_run orders 0 -s "$BENCH_DIR/orders.lua" "$SW_URL/v1/orders"
ORDERS_AFTER=$(sw_t_psql -c "select count(*) from orders")
TX_BEFORE=$ORDERS_AFTER
"$SW_PG_BIN/pgbench" -n -M prepared -c "$CONNS" -j "$THR" -T "$DUR" -f "$BENCH_DIR/order-tx.sql" \
    -D owner="$ORD_ACCT" -D token="$ORD_TOKID" -D plan="$PLAN" -D tpl="$TPL" \
    -h "$SW_PG_SOCK" -U slipway slipway >"$OUT/pgbench" 2>&1
TX_AFTER=$(sw_t_psql -c "select count(*) from orders")
PGB_TPS=$(awk '/^tps = / {print $3; exit}' "$OUT/pgbench")
PGB_FAILED=$(awk '/number of failed transactions/ {print $5}' "$OUT/pgbench")
[ -n "$PGB_TPS" ] || { echo "pgbench failed:"; cat "$OUT/pgbench"; exit 1; }

H_RPS=$(wrk_rps "$OUT/healthz"); H_P99=$(wrk_p99 "$OUT/healthz")
L_RPS=$(wrk_rps "$OUT/list"); L_P99=$(wrk_p99 "$OUT/list")
O_RPS=$(wrk_rps "$OUT/orders"); O_P99=$(wrk_p99 "$OUT/orders")
# Accepted orders: answers that were 202 (wrk counts the others as
# non-2xx), per second of wrk's run; the committed rows are printed beside.
O_ACC=$(awk -v n=$(( $(wrk_total "$OUT/orders") - $(wrk_non2xx "$OUT/orders") )) \
    -v s="$(wrk_secs "$OUT/orders")" 'BEGIN {printf "%.1f", n / s}')

cores=$(nproc)
panel=$(grep -o 'threads=[0-9]* db_pool=[0-9]*' "$SW_T_DIR/panel.log" | tail -1)
echo "bench/api: $NSERVERS servers across $NCUST customers; wrk -t$THR -c$CONNS -d${DUR}s --latency;"
echo "pgbench -M prepared -c$CONNS -j$THR -T$DUR on bench/order-tx.sql; same run, same database."
echo "Only PostgreSQL, Redis and slipway-panel ($panel) run (no provisioner or engines):"\
     "this measures the API."
echo "This machine has $cores cores, shared by wrk, pgbench, the panel and PostgreSQL"\
     "(and whatever else runs): figures are noisy; ratios are the comparable part."
echo
fmt='%-28s %10s %9s %-24s %-26s %s\n'
# shellcheck disable=SC2059
printf "$fmt" route req/s p99 ratio goal result
verdict() { [ "$1" = 1 ] && echo PASS || echo MISS; }
L_RATIO=$(awk -v a="$L_RPS" -v b="$H_RPS" 'BEGIN {printf "%.2f", a / b}')
L_OK=$(awk -v r="$L_RATIO" -v p="$L_P99" 'BEGIN {print (r >= 0.5 && p < 10) ? 1 : 0}')
O_RATIO=$(awk -v a="$O_ACC" -v b="$PGB_TPS" 'BEGIN {printf "%.2f", a / b}')
O_OK=$(awk -v r="$O_RATIO" 'BEGIN {print (r >= 0.5) ? 1 : 0}')
# shellcheck disable=SC2059
{
printf "$fmt" "GET /healthz" "$H_RPS" "${H_P99} ms" "1.00 (reference)" "-" "-"
printf "$fmt" "GET /v1/servers?limit=20" "$L_RPS" "${L_P99} ms" "$L_RATIO of healthz" ">= 0.50, p99 < 10 ms" "$(verdict "$L_OK")"
printf "$fmt" "POST /v1/orders (202/s)" "$O_ACC" "${O_P99} ms" "$O_RATIO of pgbench" ">= 0.50" "$(verdict "$O_OK")"
printf "$fmt" "pgbench order tx" "$(printf %.1f "$PGB_TPS")" "-" "1.00 (reference)" "-" "-"
}
echo
echo "p99 < 10 ms with $CONNS connections needs more than $((CONNS * 100)) req/s: each connection" \
     "has one request in flight, so mean latency = $CONNS / (req/s)."
echo "orders: $(wrk_total "$OUT/orders") requests, $((ORDERS_AFTER - ORDERS_BEFORE)) committed," \
     "$(wrk_non2xx "$OUT/orders") non-2xx (wrk's own rate $O_RPS req/s);" \
     "pgbench: $((TX_AFTER - TX_BEFORE)) transactions, ${PGB_FAILED:-0} failed"
for f in healthz list orders; do
    n=$(wrk_non2xx "$OUT/$f")
    [ "$n" = 0 ] || echo "warning: $f had $n non-2xx answers"
    e=$(wrk_errors "$OUT/$f")
    [ -z "$e" ] || echo "warning: $f: $e"
done
if [ "${SW_BENCH_VERBOSE:-0}" = 1 ]; then
    for f in healthz list orders pgbench; do echo "---- $f"; cat "$OUT/$f"; done
fi
sw_t_ok "bench finished"
sw_t_done
