#!/usr/bin/env bash
# The provisioner's jobs beyond create and power, against real PostgreSQL
# and Redis with results XADDed by hand (no engine, as provisioner_flow.sh):
# resize and change of plan claim the difference on the server's node or
# fail clearly, and settle the allocation either way; reinstall sends the new
# template and records it; reset_password sends only a hash, sealed to the
# node's public key (never plain on the stream), and forgets it; a node
# without a key gets no reset_password: the job fails asking for a rekey;
# the engine's note reaches the job; a job its node never answers is
# dispatched again and is dead after exactly 5 deliveries, and the server's
# next job then goes.
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
export SLIPWAY_CLAIM_IDLE_MS=1000

q() { sw_t_psql -c "$1"; }
r() { sw_t_redis "$@"; }
uuid() { cat /proc/sys/kernel/random/uuid; }
xlen() { r XLEN "$1"; }
is() { [ "$(q "$1")" = "$2" ]; }
len_is() { [ "$(xlen "$1")" = "$2" ]; }
len_ge() { [ "$(xlen "$1")" -ge "$2" ]; }

CUST=$(uuid) LOC=$(uuid) N1=$(uuid) N2=$(uuid)
P1=$(uuid) P2=$(uuid) P3=$(uuid) PBIG=$(uuid) PSMALLDISK=$(uuid) PCT=$(uuid)
T1=$(uuid) T2=$(uuid)
# n1: hvm, 8 cpus x 4 = 32 vcpus, 16 GiB - 1 GiB reserved = 15360 MiB guaranteed,
# x 1.5 = 23040 MiB max. n2: hvm, never answers (its engine is gone).
q "
INSERT INTO accounts (id, kind, email) VALUES ('$CUST', 'customer', 'c@example.com');
INSERT INTO locations (id, code, name) VALUES ('$LOC', 'l', 'L');
INSERT INTO nodes (id, name, location_id, engine_uri, kinds, cpus, ram_mb, disk_gb,
                   reserved_ram_mb, cpu_ratio, ram_ratio) VALUES
    ('$N1', 'n1', '$LOC', 'test:///default', '{hvm}', 8, 16384, 500, 1024, 4, 1.5),
    ('$N2', 'n2', '$LOC', 'test:///default', '{hvm}', 8, 16384, 500, 1024, 4, 1.5);
UPDATE nodes SET public_key = '$(openssl genpkey -algorithm X25519 | openssl pkey -pubout -outform DER | tail -c 32 | base64)' WHERE id = '$N1';
INSERT INTO plans (id, name, kind, vcpus, ram_mb, burst_ram_mb, disk_gb) VALUES
    ('$P1', 'h1', 'hvm', 1, 1024, 2048, 20),
    ('$P2', 'h2', 'hvm', 2, 4096, 8192, 40),
    ('$P3', 'h3', 'hvm', 1, 512, 1024, 40),
    ('$PBIG', 'hbig', 'hvm', 4, 15000, 15000, 40),
    ('$PSMALLDISK', 'hsd', 'hvm', 1, 1024, 2048, 10);
INSERT INTO plans (id, name, kind, vcpus, ram_mb, disk_gb) VALUES
    ('$PCT', 'c1', 'container', 1, 1024, 10);
INSERT INTO templates (id, name, kind, os) VALUES ('$T1', 'Debian 12', 'hvm', 'debian-12'),
    ('$T2', 'Alma 9', 'hvm', 'alma-9');" >/dev/null || exit 99

# a running server on NODE with PLAN and its allocation, as a create leaves it
server_on() {
    local s
    s=$(uuid)
    q "BEGIN;
INSERT INTO servers (id, owner_id, plan_id, template_id, node_id, hostname, state)
    VALUES ('$s', '$CUST', '$2', '$T1', '$1', 'h-${s:0:8}.example.com', 'running');
INSERT INTO allocations (server_id, node_id, vcpus, mem_guar_mb, mem_max_mb, disk_gb)
    SELECT '$s', '$1', p.vcpus, greatest(p.ram_mb, p.burst_ram_mb / 4),
           greatest(p.ram_mb, p.burst_ram_mb), p.disk_gb FROM plans p WHERE p.id = '$2';
COMMIT;" >/dev/null || exit 99
    echo "$s"
}
# new_job SERVER TYPE PARAMS_JSON: what the panel commits; prints the job id
new_job() {
    local j
    j=$(uuid)
    q "BEGIN;
INSERT INTO jobs (id, server_id, account_id, type, params) VALUES ('$j', '$1', '$CUST', '$2', '$3');
INSERT INTO outbox (stream, payload) VALUES ('jobs',
    '{\"job_id\":\"$j\",\"server_id\":\"$1\",\"type\":\"$2\"}');
SELECT pg_notify('outbox', '');
COMMIT;" >/dev/null || exit 99
    echo "$j"
}
# result JOB SERVER NODE TYPE OK [NOTE]: to results:NODE, echoing the nonce
# of the job's last dispatch there (its node stream).
result() {
    local m="{\"job_id\":\"$1\",\"server_id\":\"$2\",\"node_id\":\"$3\",\"type\":\"$4\",\"ok\":$5"
    local nonce
    nonce=$(r --raw XRANGE "node:$3" - + | grep -F "\"job_id\":\"$1\"" | tail -1 | jq -r '.nonce // empty')
    [ -n "$nonce" ] && m="$m,\"nonce\":\"$nonce\""
    [ "$5" = false ] && m="$m,\"retryable\":false,\"error_code\":\"internal\",\"error\":\"boom\""
    [ -n "${6:-}" ] && m="$m,\"note\":\"$6\""
    r XADD "results:$3" '*' m "$m,\"domain_state\":\"running\"}" >/dev/null
}
job() { q "select state || ' ' || coalesce(error_code, '-') from jobs where id = '$1'"; }
alloc() { q "select vcpus || ' ' || mem_guar_mb || ' ' || mem_max_mb || ' ' || disk_gb from allocations where server_id = '$1'"; }
plan_of() { q "select plan_id from servers where id = '$1'"; }
gen() { q "select generation from nodes where id = '$1'"; }
last_node_job() { r XREVRANGE "node:$1" + - COUNT 1 | sed -n 3p; }

sw_t_daemon prov slipway-provisioner

# ---- resize up: the difference claimed on the same node, then settled ----
S1=$(server_on "$N1" "$P1")
G0=$(gen "$N1")
J=$(new_job "$S1" resize "{\"plan_id\":\"$P2\"}")
sw_t_check "resize dispatched to the server's node" sw_t_wait "node:n1 resize" 15 len_is "node:$N1" 1
NJ=$(last_node_job "$N1")
sw_t_eq "the node job carries the new plan's sizes" "resize 2 4096 8192 40" \
    "$(jq -r '"\(.type) \(.vcpus) \(.ram_mb) \(.max_ram_mb) \(.disk_gb)"' <<<"$NJ")"
sw_t_eq "the allocation holds the larger of both plans while it runs" "2 4096 8192 40" "$(alloc "$S1")"
sw_t_eq "the claim bumped the node's generation once" $((G0 + 1)) "$(gen "$N1")"
sw_t_eq "the plan is not changed before the engine answers" "$P1" "$(plan_of "$S1")"
result "$J" "$S1" "$N1" resize true "memory applied live; vcpus apply at next boot"
sw_t_check "resize ok: job succeeded" sw_t_wait "resize ok" 15 is "select state from jobs where id = '$J'" succeeded
sw_t_eq "the server takes the new plan" "$P2" "$(plan_of "$S1")"
sw_t_eq "the engine's note is on the job" "memory applied live; vcpus apply at next boot" \
    "$(q "select sw_job_json(j)->>'note' from jobs j where id = '$J'")"

# ---- resize down: nothing freed until applied ----
J=$(new_job "$S1" resize "{\"plan_id\":\"$P3\"}")
sw_t_check "shrink dispatched" sw_t_wait "node:n1 shrink" 15 len_is "node:$N1" 2
sw_t_eq "a shrink keeps the larger allocation while it runs" "2 4096 8192 40" "$(alloc "$S1")"
result "$J" "$S1" "$N1" resize false
sw_t_check "the engine refused: job failed" sw_t_wait "shrink failed" 15 is "select state from jobs where id = '$J'" failed
sw_t_eq "a failed resize leaves the old plan and its allocation" "$P2 2 4096 8192 40" \
    "$(plan_of "$S1") $(alloc "$S1")"
J=$(new_job "$S1" resize "{\"plan_id\":\"$P3\"}")
sw_t_check "shrink again dispatched" sw_t_wait "node:n1 shrink 2" 15 len_is "node:$N1" 3
result "$J" "$S1" "$N1" resize true
sw_t_check "shrink ok" sw_t_wait "shrink ok" 15 is "select state from jobs where id = '$J'" succeeded
sw_t_eq "after a shrink the allocation is the new plan's" "$P3 1 512 1024 40" \
    "$(plan_of "$S1") $(alloc "$S1")"

# ---- no room on the node: fails clearly, changes nothing ----
S2=$(server_on "$N1" "$P2")
J=$(new_job "$S2" resize "{\"plan_id\":\"$PBIG\"}")
sw_t_check "a resize the node cannot hold fails with no_capacity" \
    sw_t_wait "no room" 15 is "select state || ' ' || error_code from jobs where id = '$J'" "failed no_capacity"
sw_t_eq "and says which class is short" \
    "the server's node has no room for the new plan (MEM_GUAR)" "$(q "select error from jobs where id = '$J'")"
sw_t_eq "its allocation and plan are unchanged" "$P2 2 4096 8192 40" "$(plan_of "$S2") $(alloc "$S2")"
sw_t_eq "nothing was sent to the node" 3 "$(xlen "node:$N1")"
sw_t_check "n1 is never over capacity in any class" is "
select bool_and(u.vcpus <= 32 and u.guar <= 15360 and u.max <= 23040 and u.disk <= 500) from (
  select sum(vcpus) vcpus, sum(mem_guar_mb) guar, sum(mem_max_mb) max, sum(disk_gb) disk
  from allocations where node_id = '$N1') u" t

# ---- invalid resizes ----
J=$(new_job "$S2" resize "{\"plan_id\":\"$PSMALLDISK\"}")
sw_t_check "a plan with a smaller disk is refused" sw_t_wait "disk" 15 is "select error_code || ': ' || error from jobs where id = '$J'" \
    "invalid: the new plan's disk is smaller than the server's; disks only grow"
J=$(new_job "$S2" resize "{\"plan_id\":\"$PCT\"}")
sw_t_check "a plan of another kind is refused" sw_t_wait "kind" 15 is "select error_code || ': ' || error from jobs where id = '$J'" \
    "invalid: the new plan is of another kind"

# ---- reinstall ----
J=$(new_job "$S2" reinstall "{\"template_id\":\"$T2\"}")
sw_t_check "reinstall dispatched" sw_t_wait "node:n1 reinstall" 15 len_is "node:$N1" 4
sw_t_eq "the node job names the new template's os" "reinstall alma-9" \
    "$(last_node_job "$N1" | jq -r '"\(.type) \(.os)"')"
result "$J" "$S2" "$N1" reinstall true
sw_t_check "reinstall ok: the server records its new template" \
    sw_t_wait "template" 15 is "select template_id from servers where id = '$S2'" "$T2"

# ---- reset_password ----
HASH='$6$abcdefghijklmnop$x'
J=$(new_job "$S2" reset_password "{\"password_hash\":\"$HASH\"}")
sw_t_check "reset_password dispatched" sw_t_wait "node:n1 password" 15 len_is "node:$N1" 5
sw_t_eq "the node job carries the hash sealed, never plain" "null 92" \
    "$(last_node_job "$N1" | jq -r '"\(.password_hash) \(.password_hash_sealed | length)"')"
sw_t_eq "no plain hash anywhere on the node's stream" 0 "$(r XRANGE "node:$N1" - + | grep -cF "$HASH")"
result "$J" "$S2" "$N1" reset_password false
sw_t_check "reset_password failed" sw_t_wait "password failed" 15 is "select state from jobs where id = '$J'" failed
sw_t_eq "the hash is forgotten once the job ends" "" "$(q "select params->>'password_hash' from jobs where id = '$J'")"
J=$(new_job "$S2" reset_password '{}')
sw_t_check "a reset_password without a hash never reaches the node" \
    sw_t_wait "no hash" 15 is "select error_code from jobs where id = '$J'" invalid

S4=$(server_on "$N2" "$P1")
J=$(new_job "$S4" reset_password "{\"password_hash\":\"$HASH\"}")
sw_t_check "a node without a public key gets no reset_password" \
    sw_t_wait "no key" 15 is "select state || ' ' || error_code from jobs where id = '$J'" "failed invalid"
sw_t_check "the error tells the operator to rekey the node" \
    grep -q "an operator must rekey the node" <<<"$(q "select error from jobs where id = '$J'")"
sw_t_eq "and nothing reached its stream" 0 "$(xlen "node:$N2")"

# ---- a node that never answers: dead after exactly 5 deliveries ----
kill -TERM "$SW_T_PID_prov"
sw_t_check "the provisioner stops cleanly" wait "$SW_T_PID_prov"
SLIPWAY_JOB_SILENT_S=2 sw_t_daemon prov2 slipway-provisioner
S3=$(server_on "$N2" "$P1")
J=$(new_job "$S3" reboot '{}')
JN=$(new_job "$S3" stop '{}')
sw_t_check "the unanswered job is dead" sw_t_wait "dead" 30 is "select state from jobs where id = '$J'" dead
sw_t_eq "after exactly 5 deliveries to its node" "5 5 no_answer" \
    "$(r XRANGE "node:$N2" - + | grep -c "\"job_id\":\"$J\"") $(q "select attempts || ' ' || error_code from jobs where id = '$J'")"
sw_t_eq "the error says why" "the node did not answer after 5 deliveries" "$(q "select error from jobs where id = '$J'")"
# At least 6: the stop is dispatched again every 2 s until answered, so a
# slow poll may first see it twice.
sw_t_check "the server's next job then goes to the node" sw_t_wait "next job" 15 len_ge "node:$N2" 6
sw_t_eq "it is the stop" stop "$(last_node_job "$N2" | jq -r .type)"
result "$JN" "$S3" "$N2" stop true
sw_t_check "and finishes normally" sw_t_wait "stop ok" 15 is "select state from jobs where id = '$JN'" succeeded
sw_t_eq "the dead job is visible to operators" 1 "$(q "select count(*) from jobs where state = 'dead'")"

sw_t_done
