#!/usr/bin/env bash
# shellcheck disable=SC2154  # SW_T_PID_<name> are set by sw_t_daemon (eval)
# Hostile node (issue 12, its Redis half): a real stack - Redis with no
# anonymous user and each daemon its own ACL user, the panel, a provisioner
# applying the nodes' users, billing, and two engines A and B (libvirt's
# test driver) each run with nothing but the configuration its enrolment
# answered. A server runs on each. Then, holding A's engine credentials, an
# attacker tries what issue 12 lists against B and the control plane. Every
# try must be refused - by Redis (NOPERM / WRONGPASS / NOAUTH) or by the
# control plane (dead-lettered with its reason, recorded in
# rejected_messages, counted on /metrics) - and PostgreSQL must be
# unchanged (a snapshot of the tables a node's message could touch, taken
# before and after). Prints the table: try, refused by, count (of the
# refusal: Redis's answer, or its row in rejected_messages). The
# legitimate path is checked first: orders run to running, usage is billed.
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
# Users are applied on NOTIFY (enrolment, state change), not by the timer.
export SLIPWAY_ACL_INTERVAL=3600
# Each control-plane daemon as its own Redis user (scripts/lib/stack.sh).
SLIPWAY_REDIS_URL=$SW_REDIS_URL_PANEL sw_t_panel
SLIPWAY_REDIS_URL=$SW_REDIS_URL_PROVISIONER sw_t_daemon provisioner slipway-provisioner
SLIPWAY_REDIS_URL=$SW_REDIS_URL_BILLING sw_t_daemon billing slipway-billing

j() { jq -r "$1" <<<"$SW_BODY"; }
api() { sw_t_api "$@"; }
q() { sw_t_psql -c "$1"; }
r() { sw_t_redis "$@"; }

api POST /v1/admin/locations "$OP" '{"code":"hn1","name":"Hostile"}'
LOC=$(j .id)
# Node A hosts containers, node B hvm: one order of each lands on each.
declare -A NODE
for spec in "A:container" "B:hvm"; do
    IFS=: read -r name kind <<<"$spec"
    slipwayctl node-file "$SW_T_DIR/$name.xml" 8 16384
    api POST /v1/admin/nodes "$OP" "{\"name\":\"node-$name\",\"location_id\":\"$LOC\",\"engine_uri\":\"test://$SW_T_DIR/$name.xml\",\"kinds\":[\"$kind\"],\"cpus\":8,\"ram_mb\":16384,\"disk_gb\":500}"
    [ "$SW_STATUS" = 201 ] || { echo "node $name: $SW_STATUS $SW_BODY"; exit 99; }
    NODE[$name]=$(j .id)
    (umask 077 && jq -c .engine_config <<<"$SW_BODY" >"$SW_T_DIR/engine-$name.json")
    # the engine gets exactly what its enrolment answered (the harness's
    # admin Redis URL is replaced by the node's own)
    mapfile -t env < <(jq -r 'to_entries[] | "\(.key)=\(.value)"' "$SW_T_DIR/engine-$name.json")
    sw_t_daemon "engine-$name" env "${env[@]}" SLIPWAY_USAGE_INTERVAL=1 SLIPWAY_HEARTBEAT_INTERVAL=1 \
        slipway-engine
done
A=${NODE[A]} B=${NODE[B]}
sw_t_eq "A's engine configuration names its own Redis user" "node-$A" \
    "$(jq -r '.SLIPWAY_REDIS_URL | capture("://(?<u>[^:]+):").u' "$SW_T_DIR/engine-A.json")"
sw_t_eq "PostgreSQL keeps only the SHA-256 of the node's Redis password" \
    "$(jq -r '.SLIPWAY_REDIS_URL | capture("://[^:]+:(?<p>[^@]+)@").p' "$SW_T_DIR/engine-A.json" | tr -d '\n' | sha256sum | cut -d' ' -f1)" \
    "$(q "select redis_password_sha256 from nodes where id = '$A'")"
PASS_A=$(jq -r '.SLIPWAY_REDIS_URL | capture("://[^:]+:(?<p>[^@]+)@").p' "$SW_T_DIR/engine-A.json")

for kind in container hvm; do
    api POST /v1/admin/plans "$OP" "{\"name\":\"$kind-1\",\"kind\":\"$kind\",\"vcpus\":1,\"ram_mb\":512,\"disk_gb\":10,\"price_hourly\":{\"amount\":1,\"currency\":\"EUR\"},\"price_monthly\":{\"amount\":400,\"currency\":\"EUR\"}}"
    declare "PLAN_$kind=$(j .id)"
    api POST /v1/admin/templates "$OP" "{\"name\":\"Debian 12\",\"kind\":\"$kind\",\"os\":\"debian-12\"}"
    declare "TPL_$kind=$(j .id)"
done
api POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"c@example.com","name":"c","password":"c-secret-pw-1"}'
api POST /v1/auth/login "" '{"email":"c@example.com","password":"c-secret-pw-1"}'
CUST=$(j .token)

# ---- the legitimate path ----
srv_state() { q "select state from servers where id = '$1'"; }
is_running() { [ "$(srv_state "$1")" = running ]; }
declare -A SRV
for kind in container hvm; do
    plan="PLAN_$kind" tpl="TPL_$kind"
    t0=$(date +%s%N)
    api POST /v1/orders "$CUST" "{\"plan_id\":\"${!plan}\",\"template_id\":\"${!tpl}\",\"hostname\":\"$kind.example.com\"}"
    SRV[$kind]=$(j .server.id)
    if sw_t_wait "$kind running" 60 is_running "${SRV[$kind]}"; then
        sw_t_ok "the $kind order runs to running ($((($(date +%s%N) - t0) / 1000000)) ms, engines on their own Redis users)"
    else
        sw_t_fail "the $kind order never ran (state $(srv_state "${SRV[$kind]}"))"
    fi
done
SA=${SRV[container]} SB=${SRV[hvm]}
sw_t_eq "the container server is on A, the hvm one on B" "$A $B" \
    "$(q "select (select node_id from servers where id = '$SA') || ' ' || (select node_id from servers where id = '$SB')")"
billed() { [ "$(q "select count(distinct server_id) from usage_samples where server_id in ('$SA', '$SB')")" = 2 ]; }
sw_t_check "usage of both servers is billed" sw_t_wait "usage billed" 30 billed
JA=$(q "select id from jobs where server_id = '$SA' and type = 'create'")
JB=$(q "select id from jobs where server_id = '$SB' and type = 'create'")
NONCE_B=$(q "select nonce from job_dispatches where job_id = '$JB'")
# A's real answer to its create job, as A's engine wrote it (to replay).
OLD_A=$(r --raw XRANGE "results:$A" - + | grep -F "\"job_id\":\"$JA\"" | head -1)
sw_t_check "A's engine answered its job on results:<A> with the job's nonce" \
    test "$(jq -r .nonce <<<"$OLD_A")" = "$(q "select nonce from job_dispatches where job_id = '$JA'")"

# ---- the engines stop; PostgreSQL is snapshotted ----
for n in A B; do
    var="SW_T_PID_engine_$n"
    kill "${!var}"
    wait "${!var}" 2>/dev/null
done
drained() {
    local s
    for s in "results:$A" "results:$B" "usage:$A" "usage:$B"; do
        [ "$(r XPENDING "$s" "$([ "${s%%:*}" = results ] && echo provisioners || echo billing)" | head -1)" = 0 ] || return 1
    done
}
sw_t_wait "the streams are drained" 20 drained || exit 99
# A job that waits for A (its engine is down): the target of forged disk claims.
api POST /v1/orders "$CUST" "{\"plan_id\":\"$PLAN_container\",\"template_id\":\"$TPL_container\",\"hostname\":\"w.example.com\"}"
SW=$(j .server.id) JW=$(j .job.id)
dispatched() { [ -n "$(q "select nonce from job_dispatches where job_id = '$JW' and node_id = '$A'")" ]; }
sw_t_wait "the waiting job is dispatched to A" 20 dispatched || exit 99
NONCE_W=$(q "select nonce from job_dispatches where job_id = '$JW'")
sleep 1
snapshot() {
    q "select md5(string_agg(t, '|' order by t)) from (
         select 'j' || row_to_json(x)::text t from (select id, state, attempts, error_code, node_id, note, progress, progress_bytes_done, progress_bytes_total from jobs) x
         union all select 's' || row_to_json(x)::text from (select id, state, node_id from servers) x
         union all select 'u' || row_to_json(x)::text from (select sample_id, cpu_ns, node_id from usage_samples) x
         union all select 'h' || row_to_json(x)::text from usage_hourly x
         union all select 'a' || row_to_json(x)::text from allocations x
         union all select 'd' || row_to_json(x)::text from (select nonce, answered_at, answer_entry from job_dispatches) x
         union all select 'p' || row_to_json(x)::text from server_placements x
         union all select 'o' || row_to_json(x)::text from (select id, state from orders) x
         union all select 'k' || row_to_json(x)::text from server_disks x) y"
}
BEFORE=$(snapshot)
REJ0=$(q "select count(*) from rejected_messages")

# ---- the tries, as node A ----
# as_a CMD...: redis-cli as A's engine (its user and password, from its
# enrolment answer); prints Redis's answer.
as_a() { REDISCLI_AUTH=$PASS_A redis-cli --user "node-$A" -s "$SW_REDIS_SOCK" "$@" 2>&1; }
ROWS=()
# refused_by_redis TRY EXPECTED CMD...: Redis must answer with EXPECTED.
refused_by_redis() {
    local try=$1 want=$2 out; shift 2
    out=$("$@" 2>&1 | head -3)
    if grep -q "$want" <<<"$out"; then
        sw_t_ok "$try: refused by Redis ($want)"
        ROWS+=("$try|redis $want|1")
    else
        sw_t_fail "$try: expected $want, got: $out"
        ROWS+=("$try|NOT REFUSED|0")
    fi
}
refused_by_redis "XRANGE node:B" NOPERM as_a XRANGE "node:$B" - +
refused_by_redis "XREADGROUP node:B" NOPERM as_a XREADGROUP GROUP engine evil STREAMS "node:$B" '>'
refused_by_redis "XADD results:B" NOPERM as_a XADD "results:$B" '*' m '{}'
refused_by_redis "XADD usage:B" NOPERM as_a XADD "usage:$B" '*' m '{}'
refused_by_redis "XADD node:A (a job to itself)" NOPERM as_a XADD "node:$A" '*' m '{}'
refused_by_redis "XADD dead:results:A" NOPERM as_a XADD "dead:results:$A" '*' m '{}'
refused_by_redis "XRANGE results:A" NOPERM as_a XRANGE "results:$A" - +
refused_by_redis "KEYS *" NOPERM as_a KEYS '*'
refused_by_redis "CONFIG GET *" NOPERM as_a CONFIG GET '*'
refused_by_redis "ACL LIST" NOPERM as_a ACL LIST
refused_by_redis "ACL SETUSER (raise itself)" NOPERM as_a ACL SETUSER "node-$A" '~*' '+@all'
refused_by_redis "FLUSHALL" NOPERM as_a FLUSHALL
refused_by_redis "no password" NOAUTH redis-cli -s "$SW_REDIS_SOCK" PING
refused_by_redis "wrong password" WRONGPASS env REDISCLI_AUTH=wrong-password redis-cli --user "node-$A" -s "$SW_REDIS_SOCK" PING
refused_by_redis "B's user with A's password" WRONGPASS env REDISCLI_AUTH="$PASS_A" redis-cli --user "node-$B" -s "$SW_REDIS_SOCK" PING

# Messages Redis lets A write (its own streams) that the control plane
# must refuse: result_msg JOB SERVER NODE_ID NONCE.
result_msg() {
    printf '{"job_id":"%s","server_id":"%s","node_id":"%s","type":"create","ok":false,"error_code":"internal","error":"x","retryable":false,"domain_state":"absent","nonce":"%s"}' "$@"
}
disk_msg() { # JOB SERVER NONCE POOL VOLUME: a successful create claiming one disk
    printf '{"job_id":"%s","server_id":"%s","node_id":"%s","type":"create","ok":true,"domain_state":"running","nonce":"%s","disks":[{"role":"root","pool":"%s","volume":"%s","format":"qcow2","capacity":1}]}' \
        "$1" "$2" "$A" "$3" "$4" "$5"
}
usage_msg() { # SERVER NODE_ID
    local ts; ts=$(date +%s)
    printf '{"sample_id":"%s:%s","server_id":"%s","node_id":"%s","ts":%s,"period_s":1,"cpu_ns":999999999,"mem_mb":1,"mem_max_mb":1,"net_rx_bytes":1,"net_tx_bytes":1,"disk_rd_bytes":1,"disk_wr_bytes":1}' \
        "$1" "$ts" "$1" "$2" "$ts"
}
declare -A WANT
send() { # TRY REASON STREAM MESSAGE
    local id
    id=$(as_a XADD "$3" '*' m "$4")
    case $id in *-*) ;; *) sw_t_fail "$1: Redis refused A's own stream: $id"; return ;; esac
    WANT[$id]="$1|$2"
}
send "result on results:A for B's job (B's nonce)" not_dispatched "results:$A" "$(result_msg "$JB" "$SB" "$A" "$NONCE_B")"
send "result on results:A forging node_id B" forged_node_id "results:$A" "$(result_msg "$JB" "$SB" "$B" "$NONCE_B")"
send "replay of A's old result" replay "results:$A" "$OLD_A"
send "result for an unknown job" unknown_job "results:$A" "$(result_msg "$(q 'select gen_random_uuid()')" "$SA" "$A" "$NONCE_B")"
send "result that is not JSON" malformed "results:$A" 'not json'
send "result claiming B's server's volume as a disk" foreign_disk "results:$A" "$(disk_msg "$JW" "$SW" "$NONCE_W" slipway "sw-$SB-root-0.qcow2")"
send "result claiming a disk in no pool of A" foreign_disk "results:$A" "$(disk_msg "$JW" "$SW" "$NONCE_W" elsewhere "sw-$SW-root-0.qcow2")"
send "result claiming a disk path outside the pool" foreign_disk "results:$A" "$(disk_msg "$JW" "$SW" "$NONCE_W" slipway "sw-$SW-/../../etc/shadow")"
# Job progress reports (provisioner/progress.c) on the same stream:
# progress_msg JOB SERVER NODE_ID NONCE TYPE DONE TOTAL.
progress_msg() {
    printf '{"job_id":"%s","server_id":"%s","node_id":"%s","nonce":"%s","type":"%s","progress":{"done":%s,"total":%s,"run":"0123456789abcdef"}}' "$@"
}
send "progress on results:A for B's job (B's nonce)" not_dispatched "results:$A" "$(progress_msg "$JB" "$SB" "$A" "$NONCE_B" create 1 2)"
send "progress forging node_id B" forged_node_id "results:$A" "$(progress_msg "$JB" "$SB" "$B" "$NONCE_B" create 1 2)"
send "progress for an unknown job" unknown_job "results:$A" "$(progress_msg "$(q 'select gen_random_uuid()')" "$SA" "$A" "$NONCE_W" create 1 2)"
send "progress for A's waiting job, another server" not_dispatched "results:$A" "$(progress_msg "$JW" "$SB" "$A" "$NONCE_W" create 1 2)"
send "progress with done > total" malformed "results:$A" "$(progress_msg "$JW" "$SW" "$A" "$NONCE_W" create 3 2)"
# A report for A's own finished job is late, not hostile: dropped (acked,
# logged, nothing recorded).
LATE=$(as_a XADD "results:$A" '*' m "$(progress_msg "$JA" "$SA" "$A" "$(jq -r .nonce <<<"$OLD_A")" create 1 2)")
send "usage on usage:A for B's server" server_not_on_node "usage:$A" "$(usage_msg "$SB" "$A")"
send "usage on usage:A forging node_id B" forged_node_id "usage:$A" "$(usage_msg "$SB" "$B")"
all_recorded() { [ "$(q "select count(*) from rejected_messages")" -ge $((REJ0 + ${#WANT[@]})) ]; }
sw_t_check "every refused message is recorded" sw_t_wait "rejections" 30 all_recorded
for id in "${!WANT[@]}"; do
    IFS='|' read -r try reason <<<"${WANT[$id]}"
    got=$(q "select reason from rejected_messages where entry_id = '$id'")
    if [ "$got" = "$reason" ]; then
        sw_t_ok "$try: refused ($reason), recorded"
        ROWS+=("$try|control plane: $reason|$(q "select count(*) from rejected_messages where entry_id = '$id'")")
    else
        sw_t_fail "$try: expected $reason, recorded '$got'"
        ROWS+=("$try|NOT REFUSED ($got)|0")
    fi
done
late_dropped() { grep -q "event=progress.dropped .*entry=$LATE why=job_finished" "$SW_T_DIR/provisioner.log"; }
sw_t_check "a late progress report for A's finished job is dropped, not refused" sw_t_wait "late report" 10 late_dropped
sw_t_eq "and recorded nowhere" 0 "$(q "select count(*) from rejected_messages where entry_id = '$LATE'")"
ROWS+=("late progress for A's finished job|dropped (logged)|1")
dead_total() { echo $(($(r XLEN "dead:results:$A") + $(r XLEN "dead:usage:$A"))); }
sw_t_eq "each is dead-lettered with its reason" "${#WANT[@]}" "$(dead_total)"
sw_t_eq "PostgreSQL is unchanged (jobs, servers, usage, allocations, dispatches, placements, orders)" \
    "$BEFORE" "$(snapshot)"
curl -s "$SW_URL/metrics" >"$SW_T_DIR/metrics.txt"
metric() { sed -n "s/^slipway_node_messages_rejected_total{reason=\"$1\"} //p" "$SW_T_DIR/metrics.txt"; }
for reason in not_dispatched forged_node_id replay unknown_job malformed server_not_on_node foreign_disk; do
    sw_t_eq "/metrics counts $reason" "$(q "select count(*) from rejected_messages where reason = '$reason'")" "$(metric "$reason")"
done

# ---- A's own progress on its waiting job is recorded ----
# (PostgreSQL compared above: from here on it may change.)
progress_is() { api GET "/v1/jobs/$JW" "$CUST"; [ "$(j '"\(.progress) \(.progress_bytes.done) \(.progress_bytes.total)"')" = "$1" ]; }
as_a XADD "results:$A" '*' m "$(progress_msg "$JW" "$SW" "$A" "$NONCE_W" create 3 8)" >/dev/null
sw_t_check "A's progress on its waiting job shows in GET /v1/jobs/{id}: 37%, 3 of 8 bytes" \
    sw_t_wait "progress recorded" 10 progress_is "37 3 8"
as_a XADD "results:$A" '*' m "$(progress_msg "$JW" "$SW" "$A" "$NONCE_W" create 2 8)" >/dev/null
as_a XADD "results:$A" '*' m "$(progress_msg "$JW" "$SW" "$A" "$NONCE_W" create 8 8)" >/dev/null
sw_t_check "a report that went back is dropped, the next one recorded (100%, 8 of 8)" \
    sw_t_wait "progress 8 of 8" 10 progress_is "100 8 8"
sw_t_check "the going-back one was logged as dropped" grep -q "why=went_backwards done=2 total=8" "$SW_T_DIR/provisioner.log"

# ---- a node set offline loses its Redis user ----
q "update nodes set state = 'offline' where id = '$A'" >/dev/null
gone() { as_a PING | grep -q WRONGPASS; }
sw_t_check "an offline node's user is removed (its password no longer works)" sw_t_wait "A's user gone" 10 gone
refused_by_redis "A after it was set offline" WRONGPASS as_a PING

echo
printf '%-48s | %-34s | %s\n' "try (as node A)" "refused by" "count"
printf '%-48s-+-%-34s-+-%s\n' "$(printf '%.0s-' {1..48})" "$(printf '%.0s-' {1..34})" "-----"
for row in "${ROWS[@]}"; do
    IFS='|' read -r try by n <<<"$row"
    printf '%-48s | %-34s | %s\n' "$try" "$by" "$n"
done
echo "tries: ${#ROWS[@]}, refused: $(printf '%s\n' "${ROWS[@]}" | grep -c '|1$'), PostgreSQL changes: $([ "$BEFORE" = "$(snapshot)" ] && echo 0 || echo 'some')"
sw_t_done
