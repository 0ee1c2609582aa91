#!/usr/bin/env bash
# The operator surface (API.md "Operators"), every route over HTTP against
# real PostgreSQL, Redis, a provisioner and a test-driver engine: success,
# 400 naming the field, 404 for unknown ids, 409 conflicts; node PATCH
# refusing what its allocations would not fit and bumping the generation;
# plans keep their sizes once used and are retired, not deleted; reseller
# quotas; IP pools without overlap; account suspension (tokens 401, the
# subtree's servers suspended through jobs) and its exact reversal; job
# retry (a failed create placed again after the node grew, a dead job);
# the audit log's filters showing who did what from where.
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
export SLIPWAY_PWHASH_OPSLIMIT=2
sw_t_panel
sw_t_daemon provisioner slipway-provisioner

j() { jq -r "$1" <<<"$SW_BODY"; }
api() { sw_t_api "$@"; }
# st DESC STATUS METHOD PATH TOKEN [BODY]: the request answers STATUS.
st() {
    local desc=$1 want=$2; shift 2
    api "$@"
    if [ "$SW_STATUS" = "$want" ]; then sw_t_ok "$desc"; else sw_t_fail "$desc: expected $want, got $SW_STATUS $SW_BODY"; fi
}
# bad DESC FIELD METHOD PATH TOKEN BODY: 400 invalid_request, the message names FIELD.
bad() {
    local desc=$1 field=$2; shift 2
    api "$@"
    if [ "$SW_STATUS" = 400 ] && [ "$(j .error.code)" = invalid_request ] &&
        grep -qF -- "$field" <<<"$(j .error.message)"; then
        sw_t_ok "$desc (400: $(j .error.message))"
    else
        sw_t_fail "$desc: expected 400 naming $field, got $SW_STATUS $SW_BODY"
    fi
}
# conflict DESC WORDS METHOD PATH TOKEN [BODY]: 409 conflict, the message holds WORDS.
conflict() {
    local desc=$1 words=$2; shift 2
    api "$@"
    if [ "$SW_STATUS" = 409 ] && [ "$(j .error.code)" = conflict ] &&
        grep -qF -- "$words" <<<"$(j .error.message)"; then
        sw_t_ok "$desc (409: $(j .error.message))"
    else
        sw_t_fail "$desc: expected 409 with \"$words\", got $SW_STATUS $SW_BODY"
    fi
}
NOBODY=00000000-0000-4000-8000-000000000000
psql_() { sw_t_psql -c "$1"; }

api GET /v1/account "$OP"
OP_ID=$(j .id)

# ---- locations ----
st "create a location" 201 POST /v1/admin/locations "$OP" '{"code":"fra1","name":"Frankfurt"}'
LOC=$(j .id)
st "create a second location" 201 POST /v1/admin/locations "$OP" '{"code":"ams1","name":"Amsterdam"}'
LOC2=$(j .id)
conflict "a location code is unique" '"fra1" exists' POST /v1/admin/locations "$OP" '{"code":"fra1","name":"again"}'
bad "a location needs a name" '"name"' POST /v1/admin/locations "$OP" '{"code":"x"}'
bad "an unknown field is 400" '"zone"' POST /v1/admin/locations "$OP" '{"code":"x","name":"X","zone":"a"}'
st "list locations" 200 GET /v1/admin/locations "$OP"
sw_t_eq "both locations are listed" 2 "$(j '.items | length')"

# ---- nodes ----
slipwayctl node-file "$SW_T_DIR/n1.xml" 8 4096
NODE_BODY="{\"name\":\"n1\",\"location_id\":\"$LOC\",\"engine_uri\":\"test://$SW_T_DIR/n1.xml\",\"kinds\":[\"container\",\"pv\",\"hvm\"],\"cpus\":8,\"ram_mb\":4096,\"disk_gb\":200,\"ram_ratio\":1}"
st "register a node" 201 POST /v1/admin/nodes "$OP" "$NODE_BODY"
NODE=$(j .id)
sw_t_daemon engine env SLIPWAY_NODE_ID="$NODE" SLIPWAY_HEARTBEAT_INTERVAL=1 slipway-engine
st "register a second node (no engine)" 201 POST /v1/admin/nodes "$OP" "{\"name\":\"n2\",\"location_id\":\"$LOC2\",\"engine_uri\":\"test:///default\",\"kinds\":[\"hvm\"],\"cpus\":4,\"ram_mb\":8192,\"disk_gb\":100}"
NODE2=$(j .id)
conflict "a node name is unique" '"n1" exists' POST /v1/admin/nodes "$OP" "$NODE_BODY"
bad "a node's location must exist" location_id POST /v1/admin/nodes "$OP" "${NODE_BODY/$LOC/$NOBODY}"
st "one node" 200 GET "/v1/admin/nodes/$NODE" "$OP"
sw_t_eq "its generation starts at 0" 0 "$(j .generation)"
st "an unknown node is 404" 404 GET "/v1/admin/nodes/$NOBODY" "$OP"
st "a malformed node id is 404" 404 GET /v1/admin/nodes/not-a-uuid "$OP"
st "nodes of a location" 200 GET "/v1/admin/nodes?location_id=$LOC2" "$OP"
sw_t_eq "the filter keeps n2 only" n2 "$(j '[.items[].name] | join(",")')"
bad "a bad node filter is 400" state GET "/v1/admin/nodes?state=asleep" "$OP"

st "PATCH a node's state and ratio" 200 PATCH "/v1/admin/nodes/$NODE2" "$OP" '{"state":"draining","cpu_ratio":2.5}'
sw_t_eq "the answer is the changed node" "draining 2.5" "$(j '"\(.state) \(.cpu_ratio)"')"
sw_t_eq "the change bumped the generation" 1 "$(j .generation)"
st "PATCH with the same values" 200 PATCH "/v1/admin/nodes/$NODE2" "$OP" '{"state":"draining","kinds":["hvm"]}'
sw_t_eq "changes nothing, not even the generation" 1 "$(j .generation)"
st "PATCH engine_uri, kinds and sizes" 200 PATCH "/v1/admin/nodes/$NODE2" "$OP" '{"engine_uri":"qemu:///system","kinds":["hvm","pv"],"cpus":16,"ram_mb":16384,"reserved_ram_mb":1024,"disk_gb":400,"ram_ratio":1.25}'
sw_t_eq "every field changed" "qemu:///system pv,hvm 16 16384 1024 400 1.25 2" \
    "$(j '"\(.engine_uri) \(.kinds | join(",")) \(.cpus) \(.ram_mb) \(.reserved_ram_mb) \(.disk_gb) \(.ram_ratio) \(.generation)"')"
st "the capacity follows" 200 GET "/v1/admin/nodes/$NODE2/capacity" "$OP"
sw_t_eq "mem_max capacity = (16384 - 1024) x 1.25" 19200 "$(j .classes.MEM_MAX.capacity)"
# storage pools: the default one, declared ones, the engine's figures
st "a node without declared pools" 200 GET "/v1/admin/nodes/$NODE2" "$OP"
sw_t_eq "has the default dir pool" "slipway dir /var/lib/slipway/pools/slipway 90" \
    "$(j '.pools | map("\(.name) \(.type) \(.path) \(.fill_threshold)") | join(",")')"
st "PATCH pools" 200 PATCH "/v1/admin/nodes/$NODE2" "$OP" '{"pools":[{"name":"fast","fill_threshold":80},{"name":"vg0","type":"logical","path":"vg0","shared":false,"disk_ratio":1.5}]}'
sw_t_eq "replaces them, in order, with defaults" "fast dir /var/lib/slipway/pools/fast 80 1,vg0 logical vg0 90 1.5" \
    "$(j '.pools | map("\(.name) \(.type) \(.path) \(.fill_threshold) \(.disk_ratio)") | join(",")')"
bad "a pool name is [a-z0-9][a-z0-9_-]*" "pools[0].name" PATCH "/v1/admin/nodes/$NODE2" "$OP" '{"pools":[{"name":"Fast"}]}'
bad "a pool type is known" "pools[0].type" PATCH "/v1/admin/nodes/$NODE2" "$OP" '{"pools":[{"name":"a","type":"lvm"}]}'
bad "a dir pool's path is absolute" "pools[0].path" PATCH "/v1/admin/nodes/$NODE2" "$OP" '{"pools":[{"name":"a","path":"rel/x"}]}'
bad "a pool's path has no markup" "pools[0].path" PATCH "/v1/admin/nodes/$NODE2" "$OP" '{"pools":[{"name":"a","path":"/x'"'"'/>"}]}'
bad "a pool's ratio is above 0" "pools[0].disk_ratio" PATCH "/v1/admin/nodes/$NODE2" "$OP" '{"pools":[{"name":"a","disk_ratio":0}]}'
bad "a pool's threshold is 1..100" "pools[0].fill_threshold" PATCH "/v1/admin/nodes/$NODE2" "$OP" '{"pools":[{"name":"a","fill_threshold":101}]}'
bad "pool names are distinct" "given twice" PATCH "/v1/admin/nodes/$NODE2" "$OP" '{"pools":[{"name":"a"},{"name":"a"}]}'
bad "a node has a pool" "pools" PATCH "/v1/admin/nodes/$NODE2" "$OP" '{"pools":[]}'
bad "an unknown pool field is 400" "size" PATCH "/v1/admin/nodes/$NODE2" "$OP" '{"pools":[{"name":"a","size":1}]}'
st "register a node (offline: no engine) with its pools" 201 POST /v1/admin/nodes "$OP" "{\"name\":\"n-pools\",\"location_id\":\"$LOC2\",\"engine_uri\":\"test:///default\",\"kinds\":[\"hvm\"],\"cpus\":4,\"ram_mb\":8192,\"disk_gb\":100,\"state\":\"offline\",\"pools\":[{\"name\":\"nfs\",\"type\":\"netfs\",\"path\":\"nas:/export\",\"shared\":true}]}"
sw_t_eq "the answer shows them, no default" "nfs netfs true" "$(j '.pools | map("\(.name) \(.type) \(.shared)") | join(",")')"
reported() { api GET "/v1/admin/nodes/$NODE" "$OP"; [ "$(j '.pools[0].present and .pools[0].capacity_bytes > 0 and .pools[0].reported_at != null')" = true ]; }
sw_t_check "the running engine reports its pool's figures" sw_t_wait "pool figures" 20 reported
sw_t_eq "capacity, allocation, available" "true" \
    "$(j '.pools[0] | (.capacity_bytes >= .allocation_bytes and .available_bytes >= 0)')"
bad "PATCH state must be a node state" state PATCH "/v1/admin/nodes/$NODE2" "$OP" '{"state":"asleep"}'
bad "PATCH reserved_ram_mb below ram_mb" reserved_ram_mb PATCH "/v1/admin/nodes/$NODE2" "$OP" '{"reserved_ram_mb":16384}'
bad "PATCH cpu_ratio above 0" cpu_ratio PATCH "/v1/admin/nodes/$NODE2" "$OP" '{"cpu_ratio":0}'
bad "PATCH cpus in bounds" cpus PATCH "/v1/admin/nodes/$NODE2" "$OP" '{"cpus":0}'
bad "PATCH kinds not empty" kinds PATCH "/v1/admin/nodes/$NODE2" "$OP" '{"kinds":[]}'
bad "PATCH engine_uri a libvirt URI" engine_uri PATCH "/v1/admin/nodes/$NODE2" "$OP" '{"engine_uri":"http://x"}'
bad "PATCH engine_uri not openvz" "openvz nodes are not supported" PATCH "/v1/admin/nodes/$NODE2" "$OP" '{"engine_uri":"openvz:///system"}'
bad "PATCH cannot move a node" '"location_id"' PATCH "/v1/admin/nodes/$NODE2" "$OP" "{\"location_id\":\"$LOC\"}"
bad "PATCH with nothing to change" "no field" PATCH "/v1/admin/nodes/$NODE2" "$OP" '{}'
st "PATCH an unknown node is 404" 404 PATCH "/v1/admin/nodes/$NOBODY" "$OP" '{"cpus":2}'
sw_t_eq "refused PATCHes changed nothing" 2 "$(psql_ "select generation from nodes where id = '$NODE2'")"
st "the capacity of an unknown node is 404" 404 GET "/v1/admin/nodes/$NOBODY/capacity" "$OP"

# ---- plans and templates ----
plan() { # NAME KIND RAM [STATE-less extra json]
    echo "{\"name\":\"$1\",\"kind\":\"$2\",\"vcpus\":1,\"ram_mb\":$3,\"disk_gb\":10,\"price_hourly\":{\"amount\":1,\"currency\":\"EUR\"},\"price_monthly\":{\"amount\":400,\"currency\":\"EUR\"}}"
}
st "create a plan" 201 POST /v1/admin/plans "$OP" "$(plan hvm-1 hvm 512)"
P_HVM=$(j .id)
st "create a pv plan" 201 POST /v1/admin/plans "$OP" "$(plan pv-1 pv 512)"
P_PV=$(j .id)
st "create a plan too big for n1" 201 POST /v1/admin/plans "$OP" "$(plan pv-big pv 6144)"
P_BIG=$(j .id)
st "create a plan nobody will use" 201 POST /v1/admin/plans "$OP" "$(plan spare hvm 1024)"
P_SPARE=$(j .id)
conflict "a plan name is unique" '"hvm-1" exists' POST /v1/admin/plans "$OP" "$(plan hvm-1 hvm 512)"
bad "a plan's kind" kind POST /v1/admin/plans "$OP" "$(plan x vz 512)"
bad "a plan's ram_mb in bounds" ram_mb POST /v1/admin/plans "$OP" "$(plan x hvm 1)"
bad "a plan's price is money" price_hourly POST /v1/admin/plans "$OP" '{"name":"x","kind":"hvm","vcpus":1,"ram_mb":512,"disk_gb":10,"price_hourly":5,"price_monthly":{"amount":1,"currency":"EUR"}}'
for kind in hvm pv; do
    st "create a $kind template" 201 POST /v1/admin/templates "$OP" "{\"name\":\"Debian 12\",\"kind\":\"$kind\",\"os\":\"debian-12\"}"
    eval "T_${kind^^}=\$(j .id)"
done
st "create a template to retire" 201 POST /v1/admin/templates "$OP" '{"name":"Old","kind":"hvm","os":"centos-7"}'
T_OLD=$(j .id)
conflict "a template name is unique per kind" "exists" POST /v1/admin/templates "$OP" '{"name":"Debian 12","kind":"hvm","os":"debian-12"}'
bad "a template's os" os POST /v1/admin/templates "$OP" '{"name":"Y","kind":"hvm","os":"Debian 12!"}'
st "list templates" 200 GET /v1/admin/templates "$OP"
sw_t_eq "three templates" 3 "$(j '.items | length')"
st "retire a template" 200 PATCH "/v1/admin/templates/$T_OLD" "$OP" '{"state":"retired","name":"Old (retired)"}'
sw_t_eq "the answer is the retired template" "retired Old (retired)" "$(j '"\(.state) \(.name)"')"
st "the catalogue no longer offers it" 200 GET /v1/templates "$OP"
sw_t_eq "two templates offered" 2 "$(j '.items | length')"
st "retired templates are listed for operators" 200 GET "/v1/admin/templates?state=retired" "$OP"
sw_t_eq "by filter" 1 "$(j '.items | length')"
bad "a template's state" state PATCH "/v1/admin/templates/$T_OLD" "$OP" '{"state":"gone"}'
bad "a template's kind is fixed" '"kind"' PATCH "/v1/admin/templates/$T_OLD" "$OP" '{"kind":"pv"}'
conflict "a template rename to a taken name" "exists" PATCH "/v1/admin/templates/$T_OLD" "$OP" '{"name":"Debian 12"}'
st "PATCH an unknown template is 404" 404 PATCH "/v1/admin/templates/$NOBODY" "$OP" '{"name":"Z"}'

st "PATCH an unused plan's sizes and prices" 200 PATCH "/v1/admin/plans/$P_SPARE" "$OP" '{"ram_mb":2048,"vcpus":2,"price_monthly":{"amount":900,"currency":"EUR"}}'
sw_t_eq "the answer carries them" "2 2048 900" "$(j '"\(.vcpus) \(.ram_mb) \(.price_monthly.amount)"')"
bad "a price in another currency alone" currency PATCH "/v1/admin/plans/$P_SPARE" "$OP" '{"price_hourly":{"amount":1,"currency":"USD"}}'
st "both prices in a new currency" 200 PATCH "/v1/admin/plans/$P_SPARE" "$OP" '{"price_hourly":{"amount":2,"currency":"USD"},"price_monthly":{"amount":800,"currency":"USD"}}'
sw_t_eq "the currency changed" "USD USD" "$(j '"\(.price_hourly.currency) \(.price_monthly.currency)"')"
bad "burst below ram" burst_ram_mb PATCH "/v1/admin/plans/$P_SPARE" "$OP" '{"burst_ram_mb":1024}'
bad "a plan's state" state PATCH "/v1/admin/plans/$P_SPARE" "$OP" '{"state":"deleted"}'
bad "a plan PATCH with nothing" "no field" PATCH "/v1/admin/plans/$P_SPARE" "$OP" '{}'
conflict "renaming a plan to a taken name" '"hvm-1" exists' PATCH "/v1/admin/plans/$P_SPARE" "$OP" '{"name":"hvm-1"}'
st "PATCH an unknown plan is 404" 404 PATCH "/v1/admin/plans/$NOBODY" "$OP" '{"name":"z"}'
st "DELETE an unknown plan is 404" 404 DELETE "/v1/admin/plans/$NOBODY" "$OP"

# ---- accounts and resellers ----
st "create a reseller with a quota" 201 POST /v1/admin/resellers "$OP" '{"email":"rs@example.com","name":"Reseller","password":"rs-password-1","max_servers":5,"max_vcpus":8,"max_ram_mb":null,"kinds":["hvm","pv"]}'
RS=$(j .id)
sw_t_eq "the answer has the account, quota and use" "reseller 5 8 null pv,hvm 0 0" \
    "$(j '"\(.kind) \(.quota.max_servers) \(.quota.max_vcpus) \(.quota.max_ram_mb) \(.quota.kinds | join(",")) \(.use.servers) \(.customers)"')"
conflict "a reseller's email is unique" "email exists" POST /v1/admin/resellers "$OP" '{"email":"RS@example.com","name":"again"}'
bad "a reseller needs an email" '"email"' POST /v1/admin/resellers "$OP" '{"name":"x"}'
bad "a quota limit is not negative" max_servers POST /v1/admin/resellers "$OP" '{"email":"r2@example.com","name":"x","max_servers":-1}'
bad "a quota limit is an integer or null" max_vcpus PATCH "/v1/admin/resellers/$RS" "$OP" '{"max_vcpus":"many"}'
bad "quota kinds are plan kinds" kinds PATCH "/v1/admin/resellers/$RS" "$OP" '{"kinds":["vz"]}'
bad "an unknown quota field" '"max_gpus"' PATCH "/v1/admin/resellers/$RS" "$OP" '{"max_gpus":1}'
st "PATCH a reseller's quota" 200 PATCH "/v1/admin/resellers/$RS" "$OP" '{"max_servers":null,"max_ram_mb":4096,"kinds":["hvm"]}'
sw_t_eq "changes only what was named" "null 8 4096 hvm" \
    "$(j '"\(.quota.max_servers) \(.quota.max_vcpus) \(.quota.max_ram_mb) \(.quota.kinds | join(","))"')"
sw_t_eq "the quota row is what the reseller API reads" "|8|4096|{hvm}" \
    "$(psql_ "select max_servers, max_vcpus, max_ram_mb, kinds from reseller_quotas where reseller_id = '$RS'")"
st "PATCH an unknown reseller is 404" 404 PATCH "/v1/admin/resellers/$NOBODY" "$OP" '{"max_servers":1}'
st "a list of resellers" 200 GET /v1/admin/resellers "$OP"
sw_t_eq "has the reseller" "$RS" "$(j '.items[0].id')"

st "create a customer" 201 POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"alice@example.com","name":"Alice","password":"alice-password"}'
ALICE_ID=$(j .id)
st "create a reseller's customer" 201 POST /v1/admin/accounts "$OP" "{\"kind\":\"customer\",\"email\":\"carol@example.com\",\"name\":\"Carol\",\"password\":\"carol-password\",\"reseller_id\":\"$RS\"}"
CAROL_ID=$(j .id)
conflict "an email is unique" "email exists" POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"Alice@example.com","name":"A2"}'
bad "an account kind" kind POST /v1/admin/accounts "$OP" '{"kind":"operator","email":"o2@example.com","name":"O"}'
bad "an account's reseller must be a reseller" reseller_id POST /v1/admin/accounts "$OP" "{\"kind\":\"customer\",\"email\":\"d@example.com\",\"name\":\"D\",\"reseller_id\":\"$ALICE_ID\"}"
bad "an account's password length" password POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"e@example.com","name":"E","password":"short"}'
st "PATCH a customer as a reseller is 404" 404 PATCH "/v1/admin/resellers/$ALICE_ID" "$OP" '{"max_servers":1}'
st "accounts of a reseller" 200 GET "/v1/admin/accounts?reseller_id=$RS" "$OP"
sw_t_eq "is carol" carol@example.com "$(j '[.items[].email] | join(",")')"
st "accounts by kind" 200 GET "/v1/admin/accounts?kind=reseller" "$OP"
sw_t_eq "one reseller" 1 "$(j '.items | length')"
bad "an account filter" kind GET "/v1/admin/accounts?kind=robot" "$OP"

login() {
    api POST /v1/auth/login "" "{\"email\":\"$1\",\"password\":\"$2\"}"
    j .token
}
ALICE=$(login alice@example.com alice-password)
CAROL=$(login carol@example.com carol-password)
RST=$(login rs@example.com rs-password-1)
st "a customer on an operator route is 403" 403 GET /v1/admin/jobs "$ALICE"
st "a reseller on an operator route is 403" 403 PATCH "/v1/admin/nodes/$NODE" "$RST" '{"cpus":2}'
st "no token on an operator route is 401" 401 GET /v1/admin/audit ""

# ---- IP pools ----
st "an IPv4 pool" 201 POST /v1/admin/ip-pools "$OP" "{\"location_id\":\"$LOC\",\"network\":\"192.0.2.0/24\",\"gateway\":\"192.0.2.1\"}"
sw_t_eq "with family, gateway and size" "4 192.0.2.1 256" "$(j '"\(.family) \(.gateway) \(.size)"')"
POOL4=$(j .id)
st "an IPv6 prefix" 201 POST /v1/admin/ip-pools "$OP" "{\"location_id\":\"$LOC\",\"network\":\"2001:db8::/48\",\"family\":6}"
st "the same range in another location overlaps" 409 POST /v1/admin/ip-pools "$OP" "{\"location_id\":\"$LOC2\",\"network\":\"192.0.2.128/25\"}"
sw_t_check "and the 409 names the pool it overlaps" grep -qF "overlaps pool 192.0.2.0/24 ($POOL4)" <<<"$(j .error.message)"
conflict "a wider prefix over an existing one overlaps" overlaps POST /v1/admin/ip-pools "$OP" "{\"location_id\":\"$LOC\",\"network\":\"2001:db8::/32\"}"
bad "a network with host bits set" network POST /v1/admin/ip-pools "$OP" "{\"location_id\":\"$LOC\",\"network\":\"198.51.100.7/24\"}"
bad "a network that is not CIDR" network POST /v1/admin/ip-pools "$OP" "{\"location_id\":\"$LOC\",\"network\":\"198.51.100.0\"}"
bad "a network too wide" network POST /v1/admin/ip-pools "$OP" "{\"location_id\":\"$LOC\",\"network\":\"10.0.0.0/7\"}"
bad "a family that does not match" family POST /v1/admin/ip-pools "$OP" "{\"location_id\":\"$LOC\",\"network\":\"198.51.100.0/24\",\"family\":6}"
bad "a gateway outside the network" gateway POST /v1/admin/ip-pools "$OP" "{\"location_id\":\"$LOC\",\"network\":\"198.51.100.0/24\",\"gateway\":\"203.0.113.1\"}"
bad "a gateway on the network address" gateway POST /v1/admin/ip-pools "$OP" "{\"location_id\":\"$LOC\",\"network\":\"198.51.100.0/24\",\"gateway\":\"198.51.100.0\"}"
bad "a pool's location must exist" location_id POST /v1/admin/ip-pools "$OP" "{\"location_id\":\"$NOBODY\",\"network\":\"198.51.100.0/24\"}"
st "pools by family" 200 GET "/v1/admin/ip-pools?family=6" "$OP"
sw_t_eq "one IPv6 pool" "2001:db8::/48" "$(j '[.items[].network] | join(",")')"
bad "a pool filter" family GET "/v1/admin/ip-pools?family=5" "$OP"
sw_t_eq "refused pools were not stored" 2 "$(psql_ "select count(*) from ip_pools")"

# ---- servers to act on ----
server_state() { psql_ "select state from servers where id = '$1'"; }
is_state() { [ "$(server_state "$1")" = "$2" ]; }
job_state() { psql_ "select state from jobs where id = '$1'"; }
job_is() { [ "$(job_state "$1")" = "$2" ]; }
order() { # TOKEN PLAN TEMPLATE HOST: sets SRV and JOB
    api POST /v1/orders "$1" "{\"plan_id\":\"$2\",\"template_id\":\"$3\",\"hostname\":\"$4\"}"
    SRV=$(j .server.id) JOB=$(j .job.id)
}
order "$ALICE" "$P_HVM" "$T_HVM" a1.example.com
A1=$SRV
order "$ALICE" "$P_PV" "$T_PV" a2.example.com
A2=$SRV
order "$CAROL" "$P_HVM" "$T_HVM" c1.example.com
C1=$SRV
for s in "$A1" "$A2" "$C1"; do
    sw_t_check "server $s runs" sw_t_wait "$s running" 30 is_state "$s" running
done
api POST "/v1/servers/$A2/actions" "$ALICE" '{"type":"stop"}'
sw_t_check "alice stops a2" sw_t_wait "a2 stopped" 30 is_state "$A2" stopped

# A node with allocations refuses what would not fit them.
conflict "shrinking a node below its allocations" "used 1536, new capacity 768" \
    PATCH "/v1/admin/nodes/$NODE" "$OP" '{"ram_mb":1024,"reserved_ram_mb":256}'
conflict "dropping a kind that live servers use" "kinds must keep hvm" \
    PATCH "/v1/admin/nodes/$NODE" "$OP" '{"kinds":["container","pv"]}'
sw_t_eq "refused, the node is unchanged" "4096 200" "$(psql_ "select ram_mb, disk_gb from nodes where id = '$NODE'" | tr '|' ' ')"

# A used plan keeps its sizes and is retired, not deleted.
conflict "a used plan's sizes cannot change" 'is in use by 2 server(s), so its sizes cannot change (ram_mb)' \
    PATCH "/v1/admin/plans/$P_HVM" "$OP" '{"ram_mb":1024,"name":"hvm-1b"}'
sw_t_eq "and nothing of that PATCH was applied" "hvm-1 512" "$(psql_ "select name, ram_mb from plans where id = '$P_HVM'" | tr '|' ' ')"
st "a used plan's same sizes, name and price may change" 200 PATCH "/v1/admin/plans/$P_HVM" "$OP" '{"ram_mb":512,"name":"hvm-1 (2024)","price_monthly":{"amount":450,"currency":"EUR"}}'
sw_t_eq "renamed and repriced" "hvm-1 (2024) 450" "$(j '"\(.name) \(.price_monthly.amount)"')"
st "DELETE a used plan" 200 DELETE "/v1/admin/plans/$P_HVM" "$OP"
sw_t_eq "answers that it was retired, not deleted" "retired retired" "$(j '"\(.outcome) \(.plan.state)"')"
sw_t_check "and says why" grep -q "in use" <<<"$(j .message)"
sw_t_eq "the plan row is still there" 1 "$(psql_ "select count(*) from plans where id = '$P_HVM'")"
st "a retired plan cannot be ordered" 422 POST /v1/orders "$ALICE" "{\"plan_id\":\"$P_HVM\",\"template_id\":\"$T_HVM\",\"hostname\":\"x.example.com\"}"
st "retired plans are listed by filter" 200 GET "/v1/admin/plans?state=retired" "$OP"
sw_t_eq "the retired plan" "$P_HVM" "$(j '[.items[].id] | join(",")')"
st "a retired plan can be reactivated" 200 PATCH "/v1/admin/plans/$P_HVM" "$OP" '{"state":"active"}'
st "DELETE an unused plan" 200 DELETE "/v1/admin/plans/$P_SPARE" "$OP"
sw_t_eq "answers that it was deleted" "deleted $P_SPARE" "$(j '"\(.outcome) \(.plan.id)"')"
sw_t_eq "the row is gone" 0 "$(psql_ "select count(*) from plans where id = '$P_SPARE'")"
st "DELETE it again is 404" 404 DELETE "/v1/admin/plans/$P_SPARE" "$OP"

# ---- account suspension ----
jobs_of() { psql_ "select count(*) from jobs where server_id = '$1' and type = '$2'"; }
outbox_rows() { psql_ "select count(*) from outbox"; }
ob0=$(outbox_rows)
st "suspend alice" 202 POST "/v1/admin/accounts/$ALICE_ID/suspend" "$OP"
sw_t_eq "the account is suspended" suspended "$(j .account.state)"
sw_t_eq "with a suspend job per server" "suspend suspend" "$(j '[.jobs[].type] | join(" ")')"
sw_t_eq "the servers are named with their new state" "$(printf '%s suspended\n' "$A1" "$A2" | sort | paste -sd,)" \
    "$(j '[.servers[] | "\(.server_id) \(.state)"] | sort | join(",")')"
sw_t_eq "each job has its outbox row" $((ob0 + 2)) "$(outbox_rows)"
sw_t_eq "both servers are suspended at once" "suspended suspended" "$(server_state "$A1") $(server_state "$A2")"
st "alice's token stops working" 401 GET /v1/account "$ALICE"
st "and she cannot log in" 401 POST /v1/auth/login "" '{"email":"alice@example.com","password":"alice-password"}'
for s in "$A1" "$A2"; do
    sj=$(psql_ "select id from jobs where server_id = '$s' and type = 'suspend'")
    sw_t_check "the suspend job of $s succeeds" sw_t_wait "suspend $s" 30 job_is "$sj" succeeded
done
sw_t_check "the engine paused a1's domain" grep -q "type=suspend" "$SW_T_DIR/engine.log"
conflict "suspending again" "already suspended" POST "/v1/admin/accounts/$ALICE_ID/suspend" "$OP"
conflict "an operator cannot suspend themselves" "own account" POST "/v1/admin/accounts/$OP_ID/suspend" "$OP"
st "suspending an unknown account is 404" 404 POST "/v1/admin/accounts/$NOBODY/suspend" "$OP"
st "unsuspending an unknown account is 404" 404 POST "/v1/admin/accounts/$NOBODY/unsuspend" "$OP"

st "unsuspend alice" 202 POST "/v1/admin/accounts/$ALICE_ID/unsuspend" "$OP"
sw_t_eq "the account is active" active "$(j .account.state)"
sw_t_eq "one unsuspend job: a1 was running" "unsuspend $A1" "$(j '[.jobs[] | "\(.type) \(.server_id)"] | join(",")')"
sw_t_eq "a2 goes back to stopped without a job" "stopped null" "$(j ".servers[] | select(.server_id == \"$A2\") | \"\(.state) \(.job_id)\"")"
sw_t_check "a1 runs again" sw_t_wait "a1 running" 30 is_state "$A1" running
sw_t_eq "a2 is stopped, as before" stopped "$(server_state "$A2")"
st "alice's token works again" 200 GET /v1/account "$ALICE"
conflict "unsuspending an active account" "not suspended" POST "/v1/admin/accounts/$ALICE_ID/unsuspend" "$OP"
sw_t_eq "no hold is left" 0 "$(psql_ "select count(*) from suspension_holds")"

# A server suspended by its provider is not the account suspension's to undo.
api POST "/v1/servers/$A2/actions" "$ALICE" '{"type":"start"}'
sw_t_check "alice starts a2 again" sw_t_wait "a2 running" 30 is_state "$A2" running
psql_ "update servers set state = 'suspended' where id = '$A2'" >/dev/null
st "suspend alice with a2 already suspended" 202 POST "/v1/admin/accounts/$ALICE_ID/suspend" "$OP"
sw_t_eq "only a1 gets a job" "$A1" "$(j '[.jobs[].server_id] | join(",")')"
sw_t_check "a1's suspend job succeeds" sw_t_wait "a1 suspend" 30 job_is "$(j '.jobs[0].id')" succeeded
st "unsuspend alice" 202 POST "/v1/admin/accounts/$ALICE_ID/unsuspend" "$OP"
sw_t_eq "only a1 is unsuspended" "$A1" "$(j '[.jobs[].server_id] | join(",")')"
sw_t_eq "a2 stays suspended" suspended "$(server_state "$A2")"
psql_ "update servers set state = 'running' where id = '$A2'" >/dev/null
sw_t_check "a1 runs again" sw_t_wait "a1 running" 30 is_state "$A1" running

# A reseller's suspension covers its customers' servers.
st "suspend the reseller" 202 POST "/v1/admin/accounts/$RS/suspend" "$OP"
sw_t_eq "its customer's server gets the suspend job" "suspend $C1" "$(j '[.jobs[] | "\(.type) \(.server_id)"] | join(",")')"
sw_t_eq "and is suspended" suspended "$(server_state "$C1")"
st "the reseller's token stops working" 401 GET /v1/reseller/quota "$RST"
st "carol cannot start her suspended server" 409 POST "/v1/servers/$C1/actions" "$CAROL" '{"type":"start"}'
st "nor order while her reseller is suspended" 422 POST /v1/orders "$CAROL" "{\"plan_id\":\"$P_PV\",\"template_id\":\"$T_PV\",\"hostname\":\"c2.example.com\"}"
sw_t_eq "saying why" "the customer's provider account is suspended" "$(j .error.message)"
st "suspend carol too" 200 POST "/v1/admin/accounts/$CAROL_ID/suspend" "$OP"
sw_t_eq "her server is suspended already: no job" 0 "$(j '.jobs | length')"
conflict "carol cannot be unsuspended before her reseller" "unsuspend the reseller first" \
    POST "/v1/admin/accounts/$CAROL_ID/unsuspend" "$OP"
st "unsuspend the reseller" 200 POST "/v1/admin/accounts/$RS/unsuspend" "$OP"
sw_t_eq "carol's server stays suspended: she is" "$C1 its own account is suspended: it stays suspended" \
    "$(j '.skipped[] | "\(.server_id) \(.reason)"')"
sw_t_eq "still suspended" suspended "$(server_state "$C1")"
st "the reseller's token works again" 200 GET /v1/account "$RST"
st "unsuspend carol" 202 POST "/v1/admin/accounts/$CAROL_ID/unsuspend" "$OP"
sw_t_eq "now her server is unsuspended" "unsuspend $C1" "$(j '[.jobs[] | "\(.type) \(.server_id)"] | join(",")')"
sw_t_check "c1 runs again" sw_t_wait "c1 running" 30 is_state "$C1" running
st "the reseller sees its use" 200 GET /v1/admin/resellers "$OP"
sw_t_eq "one customer, one server, its plan's RAM" "1 1 512" "$(j '.items[0] | "\(.customers) \(.use.servers) \(.use.ram_mb)"')"

# ---- jobs ----
order "$ALICE" "$P_BIG" "$T_PV" big.example.com
BIG=$SRV BIG_JOB=$JOB
sw_t_check "an order too big for any node fails" sw_t_wait "big failed" 30 job_is "$BIG_JOB" failed
st "failed jobs are listed" 200 GET "/v1/admin/jobs?state=failed" "$OP"
sw_t_eq "with the failed create, who asked and its error" "$BIG_JOB create $ALICE_ID no_capacity" \
    "$(j '.items[] | "\(.id) \(.type) \(.account_id) \(.error.code)"')"
bad "a job state filter" state GET "/v1/admin/jobs?state=stuck" "$OP"
bad "a job server filter" server_id GET "/v1/admin/jobs?server_id=x" "$OP"
st "jobs of one server" 200 GET "/v1/admin/jobs?server_id=$A1&type=suspend" "$OP"
sw_t_eq "two suspend jobs of a1" 2 "$(j '.items | length')"
attempts=$(psql_ "select attempts from jobs where id = '$BIG_JOB'")
st "the node grows" 200 PATCH "/v1/admin/nodes/$NODE" "$OP" '{"ram_mb":16384}'
ob0=$(outbox_rows)
st "retry the failed create" 202 POST "/v1/admin/jobs/$BIG_JOB/retry" "$OP"
sw_t_eq "the job is queued again, attempts kept" "queued $attempts null" "$(j '"\(.job.state) \(.job.attempts) \(.job.error)"')"
sw_t_eq "with a new outbox row" $((ob0 + 1)) "$(outbox_rows)"
sw_t_check "this time it is placed and runs" sw_t_wait "big running" 30 is_state "$BIG" running
sw_t_eq "the order is completed" completed "$(psql_ "select state from orders where server_id = '$BIG'")"
conflict "a succeeded job cannot be retried" "only a failed or dead job" POST "/v1/admin/jobs/$BIG_JOB/retry" "$OP"
st "retrying an unknown job is 404" 404 POST "/v1/admin/jobs/$NOBODY/retry" "$OP"
# A dead job (given up on: nothing in the daemons sets it yet) is visible and retried.
DEAD=$(psql_ "select id from jobs where server_id = '$A2' and type = 'start'")
psql_ "update jobs set state = 'dead', error = 'gave up', error_code = 'internal' where id = '$DEAD'" >/dev/null
st "dead jobs are listed" 200 GET "/v1/admin/jobs?state=dead" "$OP"
sw_t_eq "the dead job" "$DEAD gave up" "$(j '.items[] | "\(.id) \(.error.message)"')"
st "retry the dead job" 202 POST "/v1/admin/jobs/$DEAD/retry" "$OP"
sw_t_check "it runs to success" sw_t_wait "dead job" 30 job_is "$DEAD" succeeded
sw_t_eq "a2 is running" running "$(server_state "$A2")"

# ---- audit ----
enc() { jq -rn --arg v "$1" '$v | @uri'; }
st "the audit log of one object" 200 GET "/v1/admin/audit?object_id=$P_HVM" "$OP"
sw_t_eq "shows every write to the plan, refused ones too" \
    "POST /v1/admin/plans 201 ok,PATCH /v1/admin/plans/{id} 409 conflict,PATCH /v1/admin/plans/{id} 200 ok,DELETE /v1/admin/plans/{id} 200 ok,PATCH /v1/admin/plans/{id} 200 ok" \
    "$(j '[.items[] | "\(.action) \(.status) \(.result)"] | join(",")')"
sw_t_eq "who did it and from where" "$OP_ID 127.0.0.1" "$(j '.items[0] | "\(.actor_id) \(.remote)"')"
st "filter by action prefix" 200 GET "/v1/admin/audit?action=$(enc 'POST /v1/admin/accounts/')" "$OP"
sw_t_eq "the suspensions" 14 "$(j '.items | length')"
st "filter by actor and result" 200 GET "/v1/admin/audit?actor_id=$OP_ID&result=conflict&action=$(enc 'POST /v1/admin/accounts/{id}/suspend')" "$OP"
sw_t_eq "the refused suspensions" 2 "$(j '.items | length')"
st "an actor who did nothing admin" 200 GET "/v1/admin/audit?actor_id=$CAROL_ID&action=$(enc 'POST /v1/admin')" "$OP"
sw_t_eq "has no admin entries" 0 "$(j '.items | length')"
st "carol's own writes" 200 GET "/v1/admin/audit?actor_id=$CAROL_ID" "$OP"
sw_t_eq "her order, her refused order and her refused start" \
    "POST /v1/orders 202,POST /v1/orders 422,POST /v1/servers/{id}/actions 409" \
    "$(j '[.items[] | "\(.action) \(.status)"] | sort | join(",")')"
st "since a future time" 200 GET "/v1/admin/audit?since=2999-01-01T00:00:00Z" "$OP"
sw_t_eq "nothing" 0 "$(j '.items | length')"
st "until a past time" 200 GET "/v1/admin/audit?until=2000-01-01T00:00:00Z" "$OP"
sw_t_eq "nothing either" 0 "$(j '.items | length')"
st "paged" 200 GET "/v1/admin/audit?limit=2" "$OP"
sw_t_check "with a next cursor" test "$(j .next_cursor)" != null
bad "since must be a timestamp" since GET "/v1/admin/audit?since=yesterday" "$OP"
bad "until must be a real time" until GET "/v1/admin/audit?until=2024-13-45T00:00:00Z" "$OP"
bad "actor_id must be a UUID" actor_id GET "/v1/admin/audit?actor_id=me" "$OP"

# ---- Idempotency-Key on an operator POST ----
idem() {
    SW_STATUS=$(curl -s -o "$SW_T_DIR/.resp" -w '%{http_code}' -X POST -H "Authorization: Bearer $OP" \
        -H "Idempotency-Key: $1" -H 'Content-Type: application/json' --data-binary "$2" "$SW_URL$3")
    SW_BODY=$(cat "$SW_T_DIR/.resp")
}
idem k-plan "$(plan idem-1 hvm 512)" /v1/admin/plans
first=$SW_BODY
idem k-plan "$(plan idem-1 hvm 512)" /v1/admin/plans
sw_t_eq "an operator POST replays under its Idempotency-Key" "$first" "$SW_BODY"
sw_t_eq "one plan made" 1 "$(psql_ "select count(*) from plans where name = 'idem-1'")"
# ---- node keys: the secret key answered once, kept nowhere; rekey ----
N3_BODY="{\"name\":\"n3\",\"location_id\":\"$LOC\",\"engine_uri\":\"test:///default\",\"kinds\":[\"hvm\"],\"cpus\":2,\"ram_mb\":2048,\"disk_gb\":10}"
idem k-node "$N3_BODY" /v1/admin/nodes
N3=$(j .id) N3_SK=$(j .engine_config.SLIPWAY_NODE_SECRET_KEY) N3_PK=$(j .public_key)
sw_t_eq "enrolment answers the engine's configuration" "201 $N3 44 44" \
    "$SW_STATUS $(j .engine_config.SLIPWAY_NODE_ID) ${#N3_SK} ${#N3_PK}"
sw_t_check "the engine's configuration names Redis and the database" \
    test "$(j '.engine_config | has("SLIPWAY_REDIS_URL") and has("SLIPWAY_DATABASE_URL")')" = true
sw_t_check "the database as the node's own role, with its password" \
    test "$(j '.engine_config.SLIPWAY_DATABASE_URL | test("user=.slipway_node_[0-9a-f]{32}. .*password=.")')" = true
N3_PW=$(j '.engine_config.SLIPWAY_DATABASE_URL | capture("password=.(?<p>[A-Za-z0-9_-]+)").p')
sw_t_eq "the public key is stored" "$N3_PK" "$(psql_ "select public_key from nodes where id = '$N3'")"
idem k-node "$N3_BODY" /v1/admin/nodes
sw_t_eq "a replay answers the node without its secret key" "201 $N3 null" \
    "$SW_STATUS $(j .id) $(j .engine_config)"
sw_t_eq "the secret key is stored nowhere" 0 "$(psql_ "select count(*) from idempotency_keys where response like '%' || '$N3_SK' || '%'")"
sw_t_eq "nor the database password" "43 0" "${#N3_PW} $(psql_ "select count(*) from idempotency_keys where response like '%' || '$N3_PW' || '%'")"
st "rekey a node" 200 POST "/v1/admin/nodes/$N3/rekey" "$OP"
sw_t_check "a new keypair" test "$(j .public_key)" != "$N3_PK" -a "$(j .engine_config.SLIPWAY_NODE_SECRET_KEY)" != "$N3_SK"
sw_t_eq "the new public key is stored" "$(j .public_key)" "$(psql_ "select public_key from nodes where id = '$N3'")"
psql_ "update nodes set public_key = null where id = '$NODE2'" >/dev/null
st "rekey a node enrolled without a key" 200 POST "/v1/admin/nodes/$NODE2/rekey" "$OP"
sw_t_eq "it has a key now" 44 "$(psql_ "select length(public_key) from nodes where id = '$NODE2'")"
bad "rekey takes no body" x POST "/v1/admin/nodes/$N3/rekey" "$OP" '{"x":1}'
st "rekey an unknown node is 404" 404 POST "/v1/admin/nodes/$NOBODY/rekey" "$OP"
# ---- what billing rates by: bandwidth price per plan, tax rate per account ----
api POST /v1/admin/plans "$OP" '{"name":"bw","kind":"hvm","vcpus":1,"ram_mb":512,"disk_gb":10,"bandwidth_gb":100,"price_hourly":{"amount":1,"currency":"EUR"},"price_monthly":{"amount":300,"currency":"EUR"},"price_bandwidth_gb":{"amount":2,"currency":"EUR"}}'
sw_t_eq "a plan takes a price per GB past its bandwidth" "201 2 EUR" "$SW_STATUS $(j .price_bandwidth_gb.amount) $(j .price_bandwidth_gb.currency)"
BW=$(j .id)
api PATCH "/v1/admin/plans/$BW" "$OP" '{"price_bandwidth_gb":{"amount":3,"currency":"USD"}}'
sw_t_eq "in the plan's currency only (400)" 400 "$SW_STATUS"
api PATCH "/v1/admin/plans/$BW" "$OP" '{"price_bandwidth_gb":{"amount":3,"currency":"EUR"}}'
sw_t_eq "a repriced bandwidth is stored" "200 3" "$SW_STATUS $(psql_ "select price_bandwidth_gb from plans where id = '$BW'")"
api PATCH "/v1/admin/plans/$BW" "$OP" '{"price_disk_gb_month":{"amount":40,"currency":"EUR"}}'
sw_t_eq "a plan prices disk space used per GB-month" "200 40 EUR" "$SW_STATUS $(j .price_disk_gb_month.amount) $(j .price_disk_gb_month.currency)"
sw_t_eq "a disk price is stored" "40" "$(psql_ "select price_disk_gb_month from plans where id = '$BW'")"
api POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"tax@example.com","name":"Tax","tax_rate_bp":1900}'
sw_t_eq "an account is created with its tax rate" "201 1900" "$SW_STATUS $(j .tax_rate_bp)"
TAXA=$(j .id)
api PATCH "/v1/admin/accounts/$TAXA" "$OP" '{"tax_rate_bp":2000}'
sw_t_eq "and the operator changes it" "200 2000" "$SW_STATUS $(psql_ "select tax_rate_bp from accounts where id = '$TAXA'")"
api PATCH "/v1/admin/accounts/$TAXA" "$OP" '{"tax_rate_bp":10001}'
sw_t_eq "a rate above 100 % is refused (400)" 400 "$SW_STATUS"
api PATCH "/v1/admin/accounts/$TAXA" "$OP" '{"owner":"x"}'
sw_t_eq "an unknown field is refused (400)" 400 "$SW_STATUS"
api PATCH "/v1/admin/accounts/$(cat /proc/sys/kernel/random/uuid)" "$OP" '{"tax_rate_bp":1}'
sw_t_eq "an unknown account is 404" 404 "$SW_STATUS"
sw_t_done
