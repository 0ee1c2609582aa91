#!/usr/bin/env bash
# The provisioner and billing daemons against real PostgreSQL and Redis,
# without the panel or an engine: rows are inserted as the panel commits
# them (order + server + job + outbox in one transaction), engine results
# and usage samples are XADDed by hand. Covers: relay, placement and claim,
# dispatch to node:<id>, results, terminate (with and without a node),
# no_capacity, location and draining filters, kill -9 and restart with
# nothing lost or doubled, a crashed consumer's entry reclaimed, outbox
# republish after a crash between XADD and COMMIT, Redis restarting empty,
# poison messages dead-lettered while the daemons go on, retryable engine
# failures, concurrent claims never overcommitting a node, usage stored
# once per sample id, and a clean SIGTERM.
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
for f in "$SW_SRCDIR"/migrations/[0-9][0-9][0-9][0-9]_*.sql; do
    sw_t_psql -f "$f" >/dev/null || exit 99
done
export SLIPWAY_CLAIM_IDLE_MS=1000

q() { sw_t_psql -c "$1"; }
r() { sw_t_redis "$@"; }
uuid() { cat /proc/sys/kernel/random/uuid; }
xlen() { r XLEN "$1"; }
is() { [ "$(q "$1")" = "$2" ]; }            # is SQL EXPECTED
len_is() { [ "$(xlen "$1")" = "$2" ]; }     # len_is STREAM N

OPER=$(uuid) CUST=$(uuid) LOC_A=$(uuid) LOC_B=$(uuid) LOC_C=$(uuid)
N1=$(uuid) N2=$(uuid) N3=$(uuid)
P_PV=$(uuid) P_HUGE=$(uuid) P_CT=$(uuid) T_PV=$(uuid) T_CT=$(uuid)
q "
INSERT INTO accounts (id, kind, email) VALUES ('$OPER', 'operator', 'op@example.com'),
    ('$CUST', 'customer', 'alice@example.com');
INSERT INTO locations (id, code, name) VALUES ('$LOC_A', 'a', 'A'), ('$LOC_B', 'b', 'B'),
    ('$LOC_C', 'c', 'C');
-- n1: the only active node of A. n2: draining, the only node of B.
-- n3: containers only in C, room for exactly ten 1 GiB guarantees.
INSERT INTO nodes (id, name, location_id, engine_uri, kinds, cpus, ram_mb, disk_gb,
                   reserved_ram_mb, cpu_ratio, ram_ratio, state) VALUES
    ('$N1', 'n1', '$LOC_A', 'test:///default', '{pv,hvm}', 8, 16384, 500, 1024, 4, 1.5, 'active'),
    ('$N2', 'n2', '$LOC_B', 'test:///default', '{pv,hvm}', 8, 16384, 500, 0, 4, 1, 'draining'),
    ('$N3', 'n3', '$LOC_C', 'test:///default', '{container}', 64, 10240, 5000, 0, 4, 1, 'active');
INSERT INTO plans (id, name, kind, vcpus, ram_mb, disk_gb, price_monthly) VALUES
    ('$P_PV', 'pv-2', 'pv', 2, 2048, 20, 500),
    ('$P_HUGE', 'huge', 'pv', 2, 262144, 20, 500),
    ('$P_CT', 'ct-1', 'container', 1, 1024, 5, 200);
INSERT INTO templates (id, name, kind, os) VALUES ('$T_PV', 'Debian 12', 'pv', 'debian-12'),
    ('$T_CT', 'Debian 12', 'container', 'debian-12');" || exit 99

# new_order PLAN TEMPLATE LOCATION|NULL: commits what the panel commits for an
# order; prints "server job".
new_order() {
    local s j o loc=$3
    s=$(uuid) j=$(uuid) o=$(uuid)
    [ "$loc" = NULL ] || loc="'$loc'"
    q "BEGIN;
INSERT INTO servers (id, owner_id, plan_id, template_id, location_id, hostname)
    VALUES ('$s', '$CUST', '$1', '$2', $loc, 'h-${s:0:8}.example.com');
INSERT INTO orders (id, account_id, server_id, plan_id, price_amount, price_currency)
    VALUES ('$o', '$CUST', '$s', '$1', 500, 'EUR');
INSERT INTO jobs (id, server_id, account_id, type) VALUES ('$j', '$s', '$CUST', 'create');
INSERT INTO outbox (stream, payload) VALUES ('jobs',
    '{\"job_id\":\"$j\",\"server_id\":\"$s\",\"type\":\"create\"}');
SELECT pg_notify('outbox', '');
COMMIT;" >/dev/null || exit 99
    echo "$s $j"
}
# new_job SERVER TYPE [SERVER_STATE]: a job on an existing server; prints the job id.
new_job() {
    local j set=""
    j=$(uuid)
    [ -n "${3:-}" ] && set="UPDATE servers SET state = '$3' WHERE id = '$1';"
    q "BEGIN; $set
INSERT INTO jobs (id, server_id, account_id, type) VALUES ('$j', '$1', '$CUST', '$2');
INSERT INTO outbox (stream, payload) VALUES ('jobs',
    '{\"job_id\":\"$j\",\"server_id\":\"$1\",\"type\":\"$2\"}');
SELECT pg_notify('outbox', '');
COMMIT;" >/dev/null || exit 99
    echo "$j"
}
# result JOB SERVER NODE TYPE OK [RETRYABLE] [DOMAIN_STATE]: XADDs an engine result.
result() {
    local m="{\"job_id\":\"$1\",\"server_id\":\"$2\",\"node_id\":\"$3\",\"type\":\"$4\",\"ok\":$5"
    if [ "$5" = false ]; then
        m="$m,\"retryable\":${6:-false},\"error_code\":\"internal\",\"error\":\"boom\""
    fi
    m="$m,\"domain_state\":\"${7:-running}\"}"
    r XADD results '*' m "$m" >/dev/null
}
job() { q "select state || ' ' || coalesce(error_code, '-') || ' ' || attempts from jobs where id = '$1'"; }
srv() { q "select state from servers where id = '$1'"; }
ord() { q "select state from orders where server_id = '$1'"; }
allocs() { q "select count(*) from allocations where server_id = '$1'"; }

start_prov() { sw_t_daemon "$1" slipway-provisioner; }
PROV=0
restart_prov() { PROV=$((PROV + 1)); start_prov "prov$PROV"; }
prov_pid() { eval "echo \$SW_T_PID_prov$PROV"; }

# ---- create: relay -> jobs -> claim -> node:<id> ----
restart_prov
read -r S1 J1 < <(new_order "$P_PV" "$T_PV" NULL)
sw_t_check "create job dispatched to node:n1" sw_t_wait "node:n1 entry" 15 len_is "node:$N1" 1
sw_t_eq "job running, attempt 1" "running - 1" "$(job "$J1")"
sw_t_eq "server provisioning on n1" "provisioning $N1" "$(q "select state || ' ' || node_id from servers where id = '$S1'")"
sw_t_eq "one allocation with the pv demand" "$N1 2 2048 2048 20" \
    "$(q "select node_id || ' ' || vcpus || ' ' || mem_guar_mb || ' ' || mem_max_mb || ' ' || disk_gb from allocations where server_id = '$S1'")"
sw_t_eq "node generation bumped once" 1 "$(q "select generation from nodes where id = '$N1'")"
sw_t_eq "outbox row stamped published" 0 "$(q "select count(*) from outbox where published_at is null")"
M=$(r --raw XRANGE "node:$N1" - + | sed -n 3p)
sw_t_eq "node job carries sizes and os" "create pv 2 2048 2048 20 debian-12 $J1" \
    "$(jq -r '[.type, .kind, .vcpus, .ram_mb, .max_ram_mb, .disk_gb, .os, .job_id] | join(" ")' <<<"$M")"

# ---- kill -9 and restart: nothing lost, nothing doubled ----
{ kill -9 "$(prov_pid)" && wait "$(prov_pid)"; } 2>/dev/null
restart_prov
sleep 2.5
sw_t_eq "after kill -9 and restart the node job is not sent again" 1 "$(xlen "node:$N1")"
sw_t_eq "and the job was not started twice" "running - 1" "$(job "$J1")"

# ---- result: create ok ----
result "$J1" "$S1" "$N1" create true
sw_t_check "create ok: server running" sw_t_wait "running" 15 is "select state from servers where id = '$S1'" running
sw_t_eq "job succeeded" "succeeded - 1" "$(job "$J1")"
sw_t_eq "order completed" completed "$(ord "$S1")"
FIN=$(q "select finished_at from jobs where id = '$J1'")
result "$J1" "$S1" "$N1" create false false stopped
sleep 1.5
sw_t_eq "a replayed (even contradicting) result changes nothing" "succeeded - 1 $FIN running" \
    "$(q "select state || ' - ' || attempts || ' ' || finished_at || ' ' || (select state from servers where id = '$S1') from jobs where id = '$J1'")"
sw_t_eq "results stream fully acked" 0 "$(r XPENDING results provisioners | head -1)"

# ---- power jobs dispatch to the server's node ----
JS=$(new_job "$S1" stop)
sw_t_check "stop dispatched" sw_t_wait "node:n1 stop" 15 len_is "node:$N1" 2
result "$JS" "$S1" "$N1" stop true false stopped
sw_t_check "stop ok: server stopped" sw_t_wait "stopped" 15 is "select state from servers where id = '$S1'" stopped
JS=$(new_job "$S1" start)
sw_t_check "start dispatched" sw_t_wait "node:n1 start" 15 len_is "node:$N1" 3
result "$JS" "$S1" "$N1" start false false stopped
sw_t_check "start failed: job failed" sw_t_wait "start failed" 15 is "select state from jobs where id = '$JS'" failed
sw_t_eq "server keeps the engine's domain state" stopped "$(srv "$S1")"
JS=$(new_job "$S1" resize)
sw_t_check "resize is unsupported for now" sw_t_wait "resize failed" 15 is "select error_code from jobs where id = '$JS'" unsupported

# ---- a crashed consumer's entry is reclaimed ----
kill -TERM "$(prov_pid)"
sw_t_check "SIGTERM stops the provisioner cleanly (exit 0)" wait "$(prov_pid)"
read -r S2 J2 < <(new_order "$P_PV" "$T_PV" "$LOC_A")
# publish by hand and let a "ghost" consumer take it and die without acking
P=$(q "select payload from outbox where published_at is null")
q "update outbox set published_at = now() where published_at is null" >/dev/null
r XADD jobs '*' m "$P" >/dev/null
r XREADGROUP GROUP provisioners ghost COUNT 10 STREAMS jobs '>' >/dev/null
restart_prov
sw_t_check "the ghost's pending entry is reclaimed and dispatched" \
    sw_t_wait "node:n1 create 2" 20 len_is "node:$N1" 4
sw_t_eq "jobs stream has nothing pending" 0 "$(r XPENDING jobs provisioners | head -1)"

# ---- relay crashed between XADD and COMMIT: the row is published again ----
J2P=$(q "select payload from outbox order by id desc limit 1")
q "update outbox set published_at = null where payload = '$J2P'" >/dev/null
q "select pg_notify('outbox', '')" >/dev/null
sw_t_check "the republished row is relayed again" \
    sw_t_wait "republished" 15 is "select count(*) from outbox where published_at is null" 0
sw_t_check "the duplicate re-dispatches the running job (engine create is idempotent)" \
    sw_t_wait "node:n1 create 2 again" 15 len_is "node:$N1" 5
sw_t_eq "but claims nothing twice" "running - 1 1" "$(job "$J2") $(allocs "$S2")"
sw_t_eq "and the node's generation moved once per claim" 2 \
    "$(q "select generation from nodes where id = '$N1'")"

# ---- retryable engine failure: dispatched again; then a final failure ----
result "$J2" "$S2" "$N1" create false true absent
sw_t_check "retryable failure re-dispatches" sw_t_wait "node:n1 retry" 15 len_is "node:$N1" 6
sw_t_eq "job still running, attempt 2" "running internal 2" "$(job "$J2")"
result "$J2" "$S2" "$N1" create false false absent
sw_t_check "final failure fails the job" sw_t_wait "failed" 15 is "select state from jobs where id = '$J2'" failed
sw_t_eq "server failed, order failed, allocation released" "failed failed 0" \
    "$(srv "$S2") $(ord "$S2") $(allocs "$S2")"

# ---- terminate: with a node, and one that never got one ----
JT=$(new_job "$S1" terminate terminating)
sw_t_check "terminate dispatched to the server's node" sw_t_wait "node:n1 terminate" 15 len_is "node:$N1" 7
sw_t_eq "terminate job running" "running - 1" "$(job "$JT")"
result "$JT" "$S1" "$N1" terminate true false absent
sw_t_check "terminate ok: server terminated" sw_t_wait "terminated" 15 is "select state from servers where id = '$S1'" terminated
sw_t_eq "allocation deleted, job succeeded" "0 succeeded - 1" "$(allocs "$S1") $(job "$JT")"

# ---- no capacity, location and draining filters ----
read -r S3 J3 < <(new_order "$P_HUGE" "$T_PV" NULL)
sw_t_check "a plan no node fits fails with no_capacity" \
    sw_t_wait "no_capacity" 15 is "select error_code from jobs where id = '$J3'" no_capacity
sw_t_eq "server failed, order failed" "failed failed" "$(srv "$S3") $(ord "$S3")"
sw_t_check "with a clear error" test -n "$(q "select error from jobs where id = '$J3'")"
read -r S4 J4 < <(new_order "$P_PV" "$T_PV" "$LOC_B")
sw_t_check "location B has only a draining node: no_capacity" \
    sw_t_wait "no_capacity B" 15 is "select error_code from jobs where id = '$J4'" no_capacity
# ordered and terminated before any provisioner saw it
kill -TERM "$(prov_pid)"
wait "$(prov_pid)"
read -r S5 J5 < <(new_order "$P_PV" "$T_PV" "$LOC_A")
JT=$(new_job "$S5" terminate terminating)
restart_prov
sw_t_check "terminate of a server that never got a node finishes at once" \
    sw_t_wait "terminated without node" 15 is "select state from servers where id = '$S5'" terminated
sw_t_check "its terminate job succeeded" is "select state from jobs where id = '$JT'" succeeded
sw_t_check "and its create job failed instead of placing it" \
    sw_t_wait "create failed" 15 is "select state || ' ' || error_code from jobs where id = '$J5'" "failed conflict"
sw_t_eq "it holds no allocation" 0 "$(allocs "$S5")"

# ---- poison on jobs and results is dead-lettered; the daemon goes on ----
r XADD jobs '*' m 'not json' >/dev/null
r XADD jobs '*' m "{\"job_id\":\"$(uuid)\",\"server_id\":\"$(uuid)\",\"type\":\"create\"}" >/dev/null
r XADD results '*' m '{"job_id":"x"}' >/dev/null
sw_t_check "poison jobs are dead-lettered" sw_t_wait "dead:jobs" 15 len_is dead:jobs 2
sw_t_check "poison results are dead-lettered" sw_t_wait "dead:results" 15 len_is dead:results 1
read -r S6 J6 < <(new_order "$P_PV" "$T_PV" NULL)
sw_t_check "and the provisioner still works" sw_t_wait "S6 dispatched" 15 is "select state from jobs where id = '$J6'" running

# ---- Redis restarts empty: the outbox still delivers ----
sw_redis_stop "$SW_T_DIR"
read -r S7 J7 < <(new_order "$P_PV" "$T_PV" NULL)
sleep 1
sw_redis_start "$SW_T_DIR" || exit 99
sw_t_check "a job committed while Redis was down is dispatched after it returns" \
    sw_t_wait "S7 running" 30 is "select state from jobs where id = '$J7'" running
sw_t_check "to its node stream" len_is "node:$N1" 1

# ---- PostgreSQL goes away: the result waits and is applied once it is back ----
sw_pg_stop "$SW_T_DIR"
result "$J6" "$S6" "$N1" create true
sleep 2
sw_pg_start "$SW_T_DIR" fast || exit 99
sw_t_check "a result that arrived while PostgreSQL was down is applied after it returns" \
    sw_t_wait "S6 running" 30 is "select state from servers where id = '$S6'" running
sw_t_eq "nothing dead-lettered meanwhile" 0 "$(xlen dead:results)"

# ---- concurrent claims never overcommit: 3 provisioners, 20 orders, room for 10 ----
sw_t_daemon provb slipway-provisioner
sw_t_daemon provc slipway-provisioner
sleep 0.5
# all 20 in one transaction, so that the consumers race for the node
SQL="BEGIN;"
for i in $(seq 1 20); do
    s=$(uuid) j=$(uuid) o=$(uuid)
    SQL="$SQL
INSERT INTO servers (id, owner_id, plan_id, template_id, location_id, hostname)
    VALUES ('$s', '$CUST', '$P_CT', '$T_CT', '$LOC_C', 'c$i.example.com');
INSERT INTO orders (id, account_id, server_id, plan_id, price_amount, price_currency)
    VALUES ('$o', '$CUST', '$s', '$P_CT', 200, 'EUR');
INSERT INTO jobs (id, server_id, account_id, type) VALUES ('$j', '$s', '$CUST', 'create');
INSERT INTO outbox (stream, payload) VALUES ('jobs',
    '{\"job_id\":\"$j\",\"server_id\":\"$s\",\"type\":\"create\"}');"
done
q "$SQL SELECT pg_notify('outbox', ''); COMMIT;" >/dev/null || exit 99
settled() { is "select count(*) from jobs j join servers s on s.id = j.server_id where s.location_id = '$LOC_C' and j.state = 'queued'" 0; }
sw_t_check "all 20 jobs settle" sw_t_wait "settled" 60 settled
sw_t_eq "exactly 10 claimed on n3" 10 "$(q "select count(*) from allocations where node_id = '$N3'")"
sw_t_eq "never more than its 10240 MiB" 10240 "$(q "select sum(mem_guar_mb) from allocations where node_id = '$N3'")"
sw_t_eq "the other 10 failed with no_capacity" 10 \
    "$(q "select count(*) from jobs j join servers s on s.id = j.server_id where s.location_id = '$LOC_C' and j.error_code = 'no_capacity'")"
sw_t_eq "10 node jobs on node:n3" 10 "$(xlen "node:$N3")"
sw_t_eq "one generation bump per claim" 10 "$(q "select generation from nodes where id = '$N3'")"

# ---- billing: one row per sample id ----
sw_t_daemon billing slipway-billing
TS=$(date +%s)
U="{\"sample_id\":\"$S6:$TS\",\"server_id\":\"$S6\",\"node_id\":\"$N1\",\"ts\":$TS,\"period_s\":60,\"cpu_ns\":5,\"mem_mb\":100,\"mem_max_mb\":2048,\"net_rx_bytes\":1,\"net_tx_bytes\":2,\"disk_rd_bytes\":3,\"disk_wr_bytes\":4}"
r XADD usage '*' m "$U" >/dev/null
r XADD usage '*' m "$U" >/dev/null
GHOST=$(uuid)
r XADD usage '*' m "${U//$S6/$GHOST}" >/dev/null
r XADD usage '*' m 'garbage' >/dev/null
sw_t_check "unknown server and garbage samples are dead-lettered" sw_t_wait "dead:usage" 15 len_is dead:usage 2
sw_t_check "the sample is stored" sw_t_wait "usage row" 15 is "select count(*) from usage_samples" 1
sw_t_eq "once, with its values" "$S6:$TS 60 5 2048 $TS" \
    "$(q "select sample_id || ' ' || period_s || ' ' || cpu_ns || ' ' || mem_max_mb || ' ' || extract(epoch from ts)::bigint from usage_samples")"
sw_t_eq "usage fully acked" 0 "$(r XPENDING usage billing | head -1)"
kill -TERM "$SW_T_PID_billing"
sw_t_check "SIGTERM stops billing cleanly (exit 0)" wait "$SW_T_PID_billing"

sw_t_done
