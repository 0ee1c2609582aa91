#!/usr/bin/env bash
# The slice, end to end over HTTP against real PostgreSQL, Redis and
# libvirt's test driver: bootstrap, inventory, a customer orders one server
# of each plan kind, each ends running on a node that hosts its kind, usage
# reaches billing, another customer sees 404, malformed JSON is 400, an
# order that fits nowhere fails with no_capacity, resize/reinstall/password
# reset go through the whole pipeline, terminate frees the claim.
. "$(dirname "$0")/../lib/harness.sh"
sw_t_slice

j() { jq -r "$1" <<<"$SW_BODY"; }
api() { sw_t_api "$@"; }

api POST /v1/admin/locations "$OP" '{"code":"fra1","name":"Frankfurt"}'
sw_t_eq "operator creates a location" 201 "$SW_STATUS"
LOC=$(j .id)

# Two simulated nodes: one for containers and hvm, one for pv.
declare -A NODE
for spec in "ct-hvm:8:16384:[\"container\",\"hvm\"]" "pv:4:8192:[\"pv\"]"; do
    IFS=: read -r name cpus ram kinds <<<"$spec"
    slipwayctl node-file "$SW_T_DIR/$name.xml" "$cpus" "$ram"
    api POST /v1/admin/nodes "$OP" "{\"name\":\"$name\",\"location_id\":\"$LOC\",\"engine_uri\":\"test://$SW_T_DIR/$name.xml\",\"kinds\":$kinds,\"cpus\":$cpus,\"ram_mb\":$ram,\"disk_gb\":500}"
    sw_t_eq "operator registers node $name" 201 "$SW_STATUS"
    NODE[$name]=$(j .id)
    # the engine's configuration the enrolment answered, its secret key included
    sw_t_daemon "engine-$name" env SLIPWAY_NODE_ID="$(j .engine_config.SLIPWAY_NODE_ID)" \
        SLIPWAY_NODE_SECRET_KEY="$(j .engine_config.SLIPWAY_NODE_SECRET_KEY)" SLIPWAY_USAGE_INTERVAL=1 \
        SLIPWAY_HEARTBEAT_INTERVAL=1 slipway-engine
done

declare -A PLAN TPL
for kind in container pv hvm; do
    api POST /v1/admin/plans "$OP" "{\"name\":\"$kind-1\",\"kind\":\"$kind\",\"vcpus\":1,\"ram_mb\":512,\"burst_ram_mb\":$([ $kind = hvm ] && echo 1024 || echo 0),\"swap_mb\":$([ $kind = container ] && echo 256 || echo 0),\"disk_gb\":10,\"price_hourly\":{\"amount\":1,\"currency\":\"EUR\"},\"price_monthly\":{\"amount\":400,\"currency\":\"EUR\"}}"
    sw_t_eq "operator creates a $kind plan" 201 "$SW_STATUS"
    PLAN[$kind]=$(j .id)
    api POST /v1/admin/templates "$OP" "{\"name\":\"Debian 12\",\"kind\":\"$kind\",\"os\":\"debian-12\"}"
    sw_t_eq "operator creates a $kind template" 201 "$SW_STATUS"
    TPL[$kind]=$(j .id)
done
api POST /v1/admin/plans "$OP" '{"name":"huge","kind":"pv","vcpus":64,"ram_mb":262144,"disk_gb":10,"price_hourly":{"amount":1,"currency":"EUR"},"price_monthly":{"amount":1,"currency":"EUR"}}'
HUGE=$(j .id)

for who in alice bob; do
    api POST /v1/admin/accounts "$OP" "{\"kind\":\"customer\",\"email\":\"$who@example.com\",\"name\":\"$who\",\"password\":\"$who-secret-pw\"}"
    sw_t_eq "operator creates customer $who" 201 "$SW_STATUS"
done
api POST /v1/auth/login "" '{"email":"alice@example.com","password":"alice-secret-pw"}'
sw_t_eq "alice logs in" 200 "$SW_STATUS"
ALICE=$(j .token)
api POST /v1/auth/login "" '{"email":"bob@example.com","password":"wrong"}'
sw_t_eq "a wrong password is 401" 401 "$SW_STATUS"
api POST /v1/auth/login "" '{"email":"bob@example.com","password":"bob-secret-pw"}'
BOB=$(j .token)

server_state() { api GET "/v1/servers/$1" "$ALICE"; j .state; }
is_state() { [ "$(server_state "$1")" = "$2" ]; }

declare -A SRV
for kind in container pv hvm; do
    t0=$(date +%s%N)
    api POST /v1/orders "$ALICE" "{\"plan_id\":\"${PLAN[$kind]}\",\"template_id\":\"${TPL[$kind]}\",\"hostname\":\"$kind.example.com\"}"
    sw_t_eq "alice orders a $kind server: 202" 202 "$SW_STATUS"
    sw_t_eq "the answer carries a queued create job" "create queued" "$(j '.job.type + " " + .job.state')"
    SRV[$kind]=$(j .server.id)
    if sw_t_wait "$kind server running" 30 is_state "${SRV[$kind]}" running; then
        t1=$(date +%s%N)
        sw_t_ok "$kind server is running after $(((t1 - t0) / 1000000)) ms"
    else
        sw_t_fail "$kind server never ran (state $(server_state "${SRV[$kind]}"))"
    fi
done

node_of() { sw_t_psql -c "select n.name from servers s join nodes n on n.id = s.node_id where s.id = '$1'"; }
sw_t_eq "the pv server is on the pv node" "pv" "$(node_of "${SRV[pv]}")"
sw_t_eq "the hvm server is on the hvm node" "ct-hvm" "$(node_of "${SRV[hvm]}")"
sw_t_eq "the container server is on the container node" "ct-hvm" "$(node_of "${SRV[container]}")"
sw_t_eq "every running server holds one allocation" "3" \
    "$(sw_t_psql -c "select count(*) from allocations")"
sw_t_check "the engine started the hvm domain" \
    grep -q "${SRV[hvm]}" "$SW_T_DIR/engine-ct-hvm.log"

usage_rows() { sw_t_psql -c "select count(*) from usage_samples where server_id = '$1'"; }
has_usage() {
    api GET "/v1/servers/$1/usage" "$ALICE"
    [ "$SW_STATUS" = 200 ] && [ "$(j '[.items[].samples] | add // 0')" -ge 2 ]
}
sw_t_check "usage samples of the hvm server reach billing" \
    sw_t_wait "usage rows" 30 has_usage "${SRV[hvm]}"
sw_t_check "usage answer has hourly items with RAM MiB-hours" \
    test "$(j '.items[0].ram_mb_hours > 0')" = true
dups=$(sw_t_psql -c "select count(*) - count(distinct sample_id) from usage_samples")
sw_t_eq "no usage sample is stored twice" 0 "$dups"

# Its disk: a root volume in the node's default pool, the plan's size.
api GET "/v1/servers/${SRV[hvm]}" "$ALICE"
sw_t_eq "the hvm server shows its root disk and NoCloud seed" '[{"format":"qcow2","pool":"slipway","role":"root","size_gb":10},{"format":"iso","pool":"slipway","role":"seed","size_gb":0}]' \
    "$(jq -cS .disks <<<"$SW_BODY")"
api GET "/v1/servers/${SRV[container]}" "$ALICE"
sw_t_eq "a container server shows its raw root volume (no seed: its files are inside)" '[{"format":"raw","pool":"slipway","role":"root","size_gb":10}]' \
    "$(jq -cS .disks <<<"$SW_BODY")"

# Its node: an operator sees it, its owner does not (a node-free view).
api GET "/v1/servers/${SRV[hvm]}" "$ALICE"
sw_t_eq "alice's view of her server names no node" "false" "$(j 'has("node_id")')"
api GET "/v1/servers/${SRV[hvm]}" "$OP"
sw_t_eq "an operator's view names the server's node" \
    "$(sw_t_psql -c "select node_id from servers where id = '${SRV[hvm]}'")" "$(j .node_id)"

# Tenancy: bob sees nothing of alice's.
api GET "/v1/servers/${SRV[hvm]}" "$BOB"
sw_t_eq "bob asking for alice's server gets 404" 404 "$SW_STATUS"
sw_t_eq "the 404 has the error shape" "not_found" "$(j .error.code)"
api DELETE "/v1/servers/${SRV[hvm]}" "$BOB"
sw_t_eq "bob cannot terminate alice's server (404)" 404 "$SW_STATUS"
api GET "/v1/servers/${SRV[hvm]}/usage" "$BOB"
sw_t_eq "bob cannot read alice's usage (404)" 404 "$SW_STATUS"
api GET /v1/servers "$BOB"
sw_t_eq "bob's server list is empty" 0 "$(j '.items | length')"
api GET /v1/servers "$ALICE"
sw_t_eq "alice's server list has her 3 servers" 3 "$(j '.items | length')"
api GET /v1/admin/nodes "$ALICE"
sw_t_eq "a customer on an operator route gets 403" 403 "$SW_STATUS"
api GET /v1/servers ""
sw_t_eq "no token is 401" 401 "$SW_STATUS"

# Bad input.
api POST /v1/orders "$ALICE" '{"plan_id": '
sw_t_eq "malformed JSON is 400" 400 "$SW_STATUS"
sw_t_eq "with code invalid_request" "invalid_request" "$(j .error.code)"
sw_t_check "and a message" test -n "$(j .error.message)"
api POST /v1/orders "$ALICE" "{\"plan_id\":\"${PLAN[hvm]}\",\"template_id\":\"${TPL[hvm]}\",\"hostname\":\"x\",\"owner_id\":\"$LOC\"}"
sw_t_eq "an unknown field is 400" 400 "$SW_STATUS"
api POST /v1/orders "$ALICE" "{\"plan_id\":\"${PLAN[hvm]}\",\"template_id\":\"${TPL[hvm]}\",\"hostname\":\"bad_host!\"}"
sw_t_eq "a bad hostname is 400" 400 "$SW_STATUS"
api POST /v1/orders "$ALICE" "{\"plan_id\":\"${PLAN[hvm]}\",\"template_id\":\"${TPL[pv]}\",\"hostname\":\"x\"}"
sw_t_eq "a template of another kind is 422" 422 "$SW_STATUS"
before=$(sw_t_psql -c "select count(*) from servers")
sw_t_eq "rejected orders created nothing" 3 "$before"

# An order nothing can host fails clearly.
api POST /v1/orders "$ALICE" "{\"plan_id\":\"$HUGE\",\"template_id\":\"${TPL[pv]}\",\"hostname\":\"huge\"}"
HUGE_SRV=$(j .server.id)
HUGE_JOB=$(j .job.id)
job_state() { api GET "/v1/jobs/$1" "$ALICE"; [ "$(j .state)" = "$2" ]; }
sw_t_check "an order that fits no node fails" sw_t_wait "huge job failed" 30 job_state "$HUGE_JOB" failed
sw_t_eq "with error code no_capacity" "no_capacity" "$(j .error.code)"
sw_t_eq "and the server is failed" failed "$(server_state "$HUGE_SRV")"

# Resize, reinstall and password reset of the running hvm server, end to end.
api POST /v1/admin/plans "$OP" '{"name":"hvm-2","kind":"hvm","vcpus":2,"ram_mb":1024,"burst_ram_mb":2048,"disk_gb":20,"price_hourly":{"amount":2,"currency":"EUR"},"price_monthly":{"amount":800,"currency":"EUR"}}'
HVM2=$(j .id)
api POST "/v1/servers/${SRV[hvm]}/actions" "$ALICE" "{\"type\":\"resize\",\"plan_id\":\"$HVM2\"}"
RJOB=$(j .job.id)
sw_t_check "resize to a bigger plan succeeds on the same node" sw_t_wait "resize" 30 job_state "$RJOB" succeeded
sw_t_check "and the job says how it applied" test -n "$(j .note)"
sw_t_check "including the disk the test driver cannot grow" grep -q "disk not grown" <<<"$(j .note)"
api GET "/v1/servers/${SRV[hvm]}" "$ALICE"
sw_t_eq "the server is running on the new plan" "running $HVM2" "$(j .state) $(j .plan_id)"
sw_t_eq "its allocation is the new plan's demand, on the same node" "${NODE[ct-hvm]} 2 1024 2048 20" \
    "$(sw_t_psql -c "select node_id || ' ' || vcpus || ' ' || mem_guar_mb || ' ' || mem_max_mb || ' ' || disk_gb from allocations where server_id = '${SRV[hvm]}'")"
api POST /v1/admin/templates "$OP" '{"name":"Alma 9","kind":"hvm","os":"alma-9"}'
api POST "/v1/servers/${SRV[hvm]}/actions" "$ALICE" "{\"type\":\"reinstall\",\"template_id\":\"$(j .id)\"}"
RJOB=$(j .job.id)
sw_t_check "reinstall from another template succeeds" sw_t_wait "reinstall" 30 job_state "$RJOB" succeeded
api GET "/v1/servers/${SRV[hvm]}" "$ALICE"
sw_t_eq "and the server is running again" running "$(j .state)"
sw_t_eq "on one new root volume, named from the reinstall job" "1 sw-${SRV[hvm]}-root-$RJOB.qcow2" \
    "$(sw_t_psql -c "select count(*) || ' ' || min(volume) from server_disks where server_id = '${SRV[hvm]}' and role = 'root'")"
api POST "/v1/servers/${SRV[hvm]}/actions" "$ALICE" '{"type":"reset_password"}'
RJOB=$(j .job.id)
sw_t_check "reset_password answers a password" test "$(j .password | wc -c)" -gt 16
sw_t_check "and fails clearly where the guest has no agent" sw_t_wait "password" 30 job_state "$RJOB" failed
sw_t_eq "as unsupported: the engine opened the sealed hash and reached its driver" \
    unsupported "$(j .error.code)"
sw_t_eq "no crypt(3) hash in the engine's log" 0 "$(grep -c '\$6\$' "$SW_T_DIR/engine-ct-hvm.log")"
entry_gone() { [ "$(sw_t_redis XRANGE "node:${NODE[ct-hvm]}" - + | grep -c "$RJOB")" = 0 ]; }
sw_t_check "the job's entry is deleted from its node's stream once answered" \
    sw_t_wait "entry deleted" 10 entry_gone
sw_t_eq "the node's stream keeps no answered job" 0 "$(sw_t_redis XLEN "node:${NODE[ct-hvm]}")"
api GET "/v1/servers/${SRV[hvm]}" "$ALICE"
sw_t_eq "the server keeps running" running "$(j .state)"

# Terminate.
api DELETE "/v1/servers/${SRV[hvm]}" "$ALICE"
sw_t_eq "alice terminates her hvm server: 202" 202 "$SW_STATUS"
sw_t_eq "with a terminate job" terminate "$(j .job.type)"
sw_t_check "the server becomes terminated" \
    sw_t_wait "terminated" 30 is_state "${SRV[hvm]}" terminated
domain_gone() { grep -q "type=terminate kind=hvm state=absent" "$SW_T_DIR/engine-ct-hvm.log"; }
sw_t_check "the engine reports its domain gone" sw_t_wait "domain absent" 10 domain_gone
sw_t_eq "its allocation is released" 0 \
    "$(sw_t_psql -c "select count(*) from allocations where server_id = '${SRV[hvm]}'")"
api GET "/v1/servers/${SRV[hvm]}" "$ALICE"
sw_t_eq "a terminated server lists no disks" '[]' "$(jq -cS .disks <<<"$SW_BODY")"
volumes_deleted() { grep -q "storage.volume_deleted server=${SRV[hvm]}" "$SW_T_DIR/engine-ct-hvm.log"; }
sw_t_check "the engine deleted its volume" sw_t_wait "volume deleted" 10 volumes_deleted
api DELETE "/v1/servers/${SRV[hvm]}" "$ALICE"
sw_t_eq "terminating it again is 409" 409 "$SW_STATUS"
sw_t_eq "no job is left unfinished" 0 \
    "$(sw_t_psql -c "select count(*) from jobs where state in ('queued', 'running')")"
sw_t_done
