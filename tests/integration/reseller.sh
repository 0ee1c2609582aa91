#!/usr/bin/env bash
# reseller.sh - the reseller API over HTTP against real PostgreSQL and Redis:
# customers (create, lookup by external_id, patch, delete), orders for a
# customer, the servers list, suspend/unsuspend/terminate/change-plan,
# tenancy between resellers, the quota (endpoint figures and refusals) and
# its hold under 50 parallel orders on both order paths, and monthly usage.
#
# Only the panel runs: no provisioner, so jobs stay queued and a server's
# state is moved by SQL where a test needs it running or terminated.
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
# No order rate limit: the parallel tests place 50 orders in a second.
export SLIPWAY_ORDER_RATE=0
sw_t_panel

j() { jq -r "$1" <<<"$SW_BODY"; }
api() { sw_t_api "$@"; }
sql() { sw_t_psql -c "$1"; }

# ---- catalogue and accounts ----
api POST /v1/admin/locations "$OP" '{"code":"fra1","name":"Frankfurt"}'
LOC=$(j .id)
api POST /v1/admin/nodes "$OP" "{\"name\":\"n1\",\"location_id\":\"$LOC\",\"engine_uri\":\"test:///default\",\"kinds\":[\"container\",\"hvm\"],\"cpus\":8,\"ram_mb\":16384,\"disk_gb\":500}"
NODE=$(j .id)
declare -A PLAN TPL
mkplan() { # name kind vcpus ram disk
    api POST /v1/admin/plans "$OP" "{\"name\":\"$1\",\"kind\":\"$2\",\"vcpus\":$3,\"ram_mb\":$4,\"disk_gb\":$5,\"price_hourly\":{\"amount\":1,\"currency\":\"EUR\"},\"price_monthly\":{\"amount\":500,\"currency\":\"EUR\"}}"
    [ "$SW_STATUS" = 201 ] || { echo "could not create plan $1: $SW_BODY"; exit 99; }
    PLAN[$1]=$(j .id)
}
mkplan ct-xs container 1 256 5
mkplan ct-s container 1 512 10
mkplan ct-l container 2 1024 20
mkplan ct-old container 1 512 10
mkplan hvm-s hvm 1 1024 20
sql "update plans set state = 'retired' where id = '${PLAN[ct-old]}'"
for kind in container hvm; do
    api POST /v1/admin/templates "$OP" "{\"name\":\"Debian 12\",\"kind\":\"$kind\",\"os\":\"debian-12\"}"
    TPL[$kind]=$(j .id)
done

login() { # email password -> token
    api POST /v1/auth/login "" "{\"email\":\"$1\",\"password\":\"$2\"}"
    j .token
}
mkreseller() { # name -> sets RID and RTOK
    api POST /v1/admin/accounts "$OP" "{\"kind\":\"reseller\",\"email\":\"$1@example.com\",\"name\":\"$1\",\"password\":\"$1-secret-pw\"}"
    [ "$SW_STATUS" = 201 ] || { echo "could not create reseller $1: $SW_BODY"; exit 99; }
    RID=$(j .id)
    RTOK=$(login "$1@example.com" "$1-secret-pw")
}
mkreseller r1
R1=$RID R1TOK=$RTOK
mkreseller r2
R2=$RID R2TOK=$RTOK
order_body() { # plan kind hostname
    echo "{\"plan_id\":\"${PLAN[$1]}\",\"template_id\":\"${TPL[$2]}\",\"hostname\":\"$3\"}"
}

# ---- roles ----
api GET /v1/reseller/customers "$OP"
sw_t_eq "an operator on a reseller route gets 403" 403 "$SW_STATUS"
api GET /v1/reseller/customers ""
sw_t_eq "no token is 401" 401 "$SW_STATUS"

# ---- customers ----
api POST /v1/reseller/customers "$R1TOK" '{"email":"c1@example.com","name":"Customer One","password":"c1-secret-pw","external_id":"whmcs-1"}'
sw_t_eq "r1 creates a customer: 201" 201 "$SW_STATUS"
C1=$(j .id)
sw_t_eq "the customer is r1's, with its external_id" "customer $R1 whmcs-1 active" \
    "$(j '.kind + " " + .reseller_id + " " + .external_id + " " + .state')"
api POST /v1/reseller/customers "$R1TOK" '{"email":"c2@example.com","name":"Customer Two"}'
sw_t_eq "r1 creates a customer without password or external_id: 201" 201 "$SW_STATUS"
C2=$(j .id)
api POST /v1/reseller/customers "$R1TOK" '{"email":"other@example.com","name":"Dup","external_id":"whmcs-1"}'
sw_t_eq "a second customer with the same external_id is 409" "409 conflict" "$SW_STATUS $(j .error.code)"
sw_t_check "the 409 names external_id" grep -q external_id <<<"$(j .error.message)"
api POST /v1/reseller/customers "$R1TOK" '{"email":"C1@example.com","name":"Dup"}'
sw_t_eq "a second account with the same email is 409" 409 "$SW_STATUS"
api POST /v1/reseller/customers "$R2TOK" '{"email":"r2c1@example.com","name":"R2 One","password":"r2c1-secret-pw","external_id":"whmcs-1"}'
sw_t_eq "another reseller may use the same external_id: 201" 201 "$SW_STATUS"
R2C1=$(j .id)
sw_t_eq "no customer row was written by the refused creates" 3 \
    "$(sql "select count(*) from accounts where kind = 'customer'")"

for bad in '{"email":"x@example.com","name":"X","role":"operator"}' \
    '{"email":"not-an-email","name":"X"}' \
    '{"email":"x@example.com","name":"X","password":"short"}' \
    '{"email":"x@example.com"}' \
    '{"email":"x@example.com","name":""}' \
    '{"email":"x@example.com","name":"X","external_id":42}' \
    "{\"email\":\"x@example.com\",\"name\":\"X\",\"external_id\":\"$(printf 'e%.0s' {1..129})\"}" \
    '{"email":"x@example.com","name":"X","external_id":""}' \
    '{"email":"x@example.com","name":"X","reseller_id":"'"$R2"'"}' \
    '[1]'; do
    api POST /v1/reseller/customers "$R1TOK" "$bad"
    sw_t_eq "create refuses ${bad:0:60}: 400" "400 invalid_request" "$SW_STATUS $(j .error.code)"
done

api GET /v1/reseller/customers "$R1TOK"
sw_t_eq "r1 lists its 2 customers" "2" "$(j '.items | length')"
api GET /v1/reseller/customers "$R2TOK"
sw_t_eq "r2 lists only its own customer" "$R2C1" "$(j '[.items[].id] | join(",")')"
api GET "/v1/reseller/customers?external_id=whmcs-1" "$R1TOK"
sw_t_eq "lookup by external_id finds r1's customer" "$C1" "$(j '[.items[].id] | join(",")')"
api GET "/v1/reseller/customers?external_id=whmcs-1" "$R2TOK"
sw_t_eq "the same external_id at r2 finds r2's customer" "$R2C1" "$(j '[.items[].id] | join(",")')"
api GET "/v1/reseller/customers?external_id=nobody" "$R1TOK"
sw_t_eq "an unknown external_id finds nothing" "200 0" "$SW_STATUS $(j '.items | length')"
api GET "/v1/reseller/customers?limit=1" "$R1TOK"
sw_t_eq "the list pages" "1 true" "$(j '(.items | length | tostring) + " " + (.next_cursor != null | tostring)')"
api GET "/v1/reseller/customers/$C1" "$R1TOK"
sw_t_eq "r1 reads its customer" "200 c1@example.com" "$SW_STATUS $(j .email)"

# Tenancy: r2 sees none of r1's customers.
api GET "/v1/reseller/customers/$C1" "$R2TOK"
sw_t_eq "r2 reading r1's customer gets 404" "404 not_found" "$SW_STATUS $(j .error.code)"
api PATCH "/v1/reseller/customers/$C1" "$R2TOK" '{"name":"stolen"}'
sw_t_eq "r2 patching r1's customer gets 404" 404 "$SW_STATUS"
api DELETE "/v1/reseller/customers/$C1" "$R2TOK"
sw_t_eq "r2 deleting r1's customer gets 404" 404 "$SW_STATUS"
api POST "/v1/reseller/customers/$C1/orders" "$R2TOK" "$(order_body ct-s container stolen)"
sw_t_eq "r2 ordering for r1's customer gets 404" 404 "$SW_STATUS"
api GET "/v1/reseller/customers/$R1" "$R1TOK"
sw_t_eq "a reseller is not its own customer (404)" 404 "$SW_STATUS"
api GET "/v1/reseller/customers/not-a-uuid" "$R1TOK"
sw_t_eq "a malformed id is 404" 404 "$SW_STATUS"
sw_t_eq "r1's customer is unchanged" "Customer One" "$(sql "select name from accounts where id = '$C1'")"

# Patch.
api PATCH "/v1/reseller/customers/$C2" "$R1TOK" '{"name":"Customer 2","external_id":"whmcs-2"}'
sw_t_eq "r1 patches name and external_id" "200 Customer 2 whmcs-2" "$SW_STATUS $(j '.name + " " + .external_id')"
api PATCH "/v1/reseller/customers/$C2" "$R1TOK" '{"external_id":"whmcs-1"}'
sw_t_eq "patching to a taken external_id is 409" 409 "$SW_STATUS"
api PATCH "/v1/reseller/customers/$C2" "$R1TOK" '{"email":"c1@example.com"}'
sw_t_eq "patching to a taken email is 409" 409 "$SW_STATUS"
api PATCH "/v1/reseller/customers/$C2" "$R1TOK" '{"external_id":null}'
sw_t_eq "external_id null clears it" "200 null" "$SW_STATUS $(j .external_id)"
api PATCH "/v1/reseller/customers/$C2" "$R1TOK" '{"external_id":"whmcs-2","email":"c2b@example.com"}'
sw_t_eq "email and external_id change together" "200 c2b@example.com whmcs-2" "$SW_STATUS $(j '.email + " " + .external_id')"
for bad in '{}' '{"kind":"operator"}' '{"email":"nope"}' '{"password":"short"}' '{"name":7}'; do
    api PATCH "/v1/reseller/customers/$C2" "$R1TOK" "$bad"
    sw_t_eq "patch refuses $bad: 400" 400 "$SW_STATUS"
done
C1TOK=$(login c1@example.com c1-secret-pw)
api GET /v1/account "$C1TOK"
sw_t_eq "c1 logs in with the password r1 gave" "200 $C1" "$SW_STATUS $(j .id)"
api GET /v1/reseller/customers "$C1TOK"
sw_t_eq "a customer on a reseller route gets 403" 403 "$SW_STATUS"
api PATCH "/v1/reseller/customers/$C1" "$R1TOK" '{"password":"c1-new-secret"}'
sw_t_eq "r1 sets c1's password" 200 "$SW_STATUS"
api GET /v1/account "$C1TOK"
sw_t_eq "the new password ends c1's old session (401)" 401 "$SW_STATUS"
C1TOK=$(login c1@example.com c1-new-secret)
api GET /v1/account "$C1TOK"
sw_t_eq "c1 logs in with the new password" 200 "$SW_STATUS"

# ---- quota: limits set by SQL (the operator route is another's) ----
api GET /v1/reseller/quota "$R1TOK"
sw_t_eq "without a quota row nothing is limited" "200 false null 0 container,pv,hvm" \
    "$SW_STATUS $(j '(.limited | tostring) + " " + (.servers.limit | tostring) + " " + (.servers.used | tostring) + " " + (.kinds | join(","))')"
sql "insert into reseller_quotas (reseller_id, max_servers, max_vcpus, max_ram_mb, max_disk_gb, max_ipv4, kinds) values ('$R1', 4, 5, 4096, 100, 4, '{container,pv}')"

# ---- orders ----
api POST "/v1/reseller/customers/$C1/orders" "$R1TOK" "$(order_body ct-s container s1)"
sw_t_eq "r1 orders for c1: 202" 202 "$SW_STATUS"
S1=$(j .server.id)
sw_t_eq "the order and server belong to c1, with a queued create job" \
    "$C1 $C1 create queued" "$(j '.order.account_id + " " + .server.owner_id + " " + .job.type + " " + .job.state')"
sw_t_eq "the job is asked by r1, with its outbox row" "$R1 1" \
    "$(sql "select j.account_id, (select count(*) from outbox o where o.payload like '%' || j.id || '%') from jobs j where j.server_id = '$S1'" | tr '|' ' ')"
api POST /v1/orders "$C1TOK" "$(order_body ct-s container s2)"
sw_t_eq "c1 orders for itself: 202" 202 "$SW_STATUS"
S2=$(j .server.id)
api GET /v1/servers "$C1TOK"
sw_t_eq "c1 sees both servers" 2 "$(j '.items | length')"
api GET /v1/orders "$C1TOK"
sw_t_eq "c1 sees both orders" 2 "$(j '.items | length')"
api POST "/v1/reseller/customers/$C1/orders" "$R1TOK" '{"plan_id":"x","template_id":"y","hostname":"z"}'
sw_t_eq "an order with malformed ids is 400" 400 "$SW_STATUS"
api POST "/v1/reseller/customers/$C1/orders" "$R1TOK" "{\"plan_id\":\"${PLAN[ct-s]}\",\"template_id\":\"${TPL[container]}\",\"hostname\":\"bad_host!\"}"
sw_t_eq "an order with a bad hostname is 400" 400 "$SW_STATUS"
api POST "/v1/reseller/customers/$C1/orders" "$R1TOK" "{\"plan_id\":\"${PLAN[ct-s]}\",\"template_id\":\"${TPL[container]}\",\"hostname\":\"x\",\"owner_id\":\"$R1\"}"
sw_t_eq "an order with an unknown field is 400" 400 "$SW_STATUS"
api POST "/v1/reseller/customers/$C1/orders" "$R1TOK" "{\"plan_id\":\"${PLAN[ct-s]}\",\"template_id\":\"${TPL[hvm]}\",\"hostname\":\"x\"}"
sw_t_eq "an order with a template of another kind is 422" 422 "$SW_STATUS"
api POST "/v1/reseller/customers/$C1/orders" "$R1TOK" "$(order_body hvm-s hvm h1)"
sw_t_eq "an hvm order past the allowed kinds is 422" "422 unprocessable" "$SW_STATUS $(j .error.code)"
sw_t_check "the reseller is told which kinds are allowed" grep -q "container, pv" <<<"$(j .error.message)"
api POST /v1/orders "$C1TOK" "$(order_body hvm-s hvm h1)"
sw_t_eq "c1 ordering hvm itself is 422 too" 422 "$SW_STATUS"
sw_t_check "without the reseller's figures" grep -vq "container, pv" <<<"$(j .error.message)"
sw_t_eq "the refused orders wrote no server" 2 "$(sql "select count(*) from servers")"

# ---- servers list ----
api POST "/v1/reseller/customers/$C2/orders" "$R1TOK" "$(order_body ct-s container s4)"
sw_t_eq "r1 orders for c2: 202" 202 "$SW_STATUS"
S4=$(j .server.id)
api GET /v1/reseller/servers "$R1TOK"
sw_t_eq "r1 lists its customers' 3 servers" 3 "$(j '.items | length')"
api GET "/v1/reseller/servers?customer_id=$C2" "$R1TOK"
sw_t_eq "r1 lists c2's server" "$S4" "$(j '[.items[].id] | join(",")')"
api GET "/v1/reseller/servers?customer_id=bogus" "$R1TOK"
sw_t_eq "a malformed customer_id is 400" 400 "$SW_STATUS"
api GET /v1/reseller/servers "$R2TOK"
sw_t_eq "r2 lists none of r1's servers" "200 0" "$SW_STATUS $(j '.items | length')"
api GET "/v1/reseller/servers?customer_id=$C1" "$R2TOK"
sw_t_eq "r2 filtering on r1's customer finds nothing" 0 "$(j '.items | length')"

# ---- suspend / unsuspend ----
api POST "/v1/reseller/servers/$S2/suspend" "$R1TOK"
sw_t_eq "a pending server cannot be suspended (409)" 409 "$SW_STATUS"
sql "update servers set state = 'running' where id in ('$S1', '$S2')"
for verb in suspend unsuspend terminate change-plan; do
    api POST "/v1/reseller/servers/$S2/$verb" "$R2TOK" "{\"plan_id\":\"${PLAN[ct-l]}\"}"
    sw_t_eq "r2 cannot $verb r1's server (404)" 404 "$SW_STATUS"
    api POST "/v1/reseller/servers/$S2/$verb" "$C1TOK" "{\"plan_id\":\"${PLAN[ct-l]}\"}"
    sw_t_eq "c1 cannot call $verb on the reseller route (403)" 403 "$SW_STATUS"
done
api POST "/v1/reseller/servers/$S2/suspend" "$R1TOK" '{"reason":"unpaid"}'
sw_t_eq "suspend takes no fields (400)" 400 "$SW_STATUS"
api POST "/v1/reseller/servers/$S2/suspend" "$R1TOK"
sw_t_eq "r1 suspends c1's server: 202" 202 "$SW_STATUS"
sw_t_eq "with a queued suspend job and the server suspended" "suspend queued suspended" \
    "$(j '.job.type + " " + .job.state + " " + .server.state')"
api POST "/v1/servers/$S2/actions" "$C1TOK" '{"type":"start"}'
sw_t_eq "c1 cannot start a suspended server (409)" 409 "$SW_STATUS"
api POST "/v1/reseller/servers/$S2/suspend" "$R1TOK" '{}'
sw_t_eq "suspending it again is 409" 409 "$SW_STATUS"
api POST "/v1/reseller/servers/$S2/unsuspend" "$R1TOK" '{}'
sw_t_eq "r1 unsuspends it: 202" "202 unsuspend running" "$SW_STATUS $(j '.job.type + " " + .server.state')"
api POST "/v1/reseller/servers/$S2/unsuspend" "$R1TOK"
sw_t_eq "unsuspending a running server is 409" 409 "$SW_STATUS"
api POST "/v1/reseller/servers/$S2/suspend" "$R1TOK"
sql "update accounts set state = 'suspended' where id = '$C1'"
api POST "/v1/reseller/servers/$S2/unsuspend" "$R1TOK"
sw_t_eq "a server of a customer the operator suspended stays suspended (409)" 409 "$SW_STATUS"
sql "update accounts set state = 'active' where id = '$C1'"
api POST "/v1/reseller/servers/$S2/unsuspend" "$R1TOK"
sw_t_eq "once the customer is active again it can be unsuspended" 202 "$SW_STATUS"
api POST "/v1/servers/$S2/actions" "$C1TOK" '{"type":"start"}'
sw_t_eq "c1 can start it again: 202" 202 "$SW_STATUS"
sw_t_eq "suspend, unsuspend and start are queued in order with outbox rows" \
    "suspend unsuspend suspend unsuspend start 5" \
    "$(sql "select string_agg(type, ' ' order by created_at), sum((select count(*) from outbox o where o.payload like '%' || j.id || '%')) from jobs j where server_id = '$S2' and type <> 'create'" | tr '|' ' ')"

# ---- change-plan ----
api POST "/v1/reseller/servers/$S1/change-plan" "$R1TOK" "{\"plan_id\":\"${PLAN[hvm-s]}\"}"
sw_t_eq "a plan of another kind is 422" 422 "$SW_STATUS"
api POST "/v1/reseller/servers/$S1/change-plan" "$R1TOK" "{\"plan_id\":\"${PLAN[ct-old]}\"}"
sw_t_eq "a retired plan is 422" 422 "$SW_STATUS"
api POST "/v1/reseller/servers/$S1/change-plan" "$R1TOK" "{\"plan_id\":\"${PLAN[ct-s]}\"}"
sw_t_eq "the server's own plan is 422" 422 "$SW_STATUS"
api POST "/v1/reseller/servers/$S1/change-plan" "$R1TOK" '{"plan_id":"nope"}'
sw_t_eq "a malformed plan_id is 400" 400 "$SW_STATUS"
api POST "/v1/reseller/servers/$S1/change-plan" "$R1TOK" "{\"plan_id\":\"${PLAN[ct-l]}\",\"force\":true}"
sw_t_eq "an unknown field is 400" 400 "$SW_STATUS"
api POST "/v1/reseller/servers/$S4/change-plan" "$R1TOK" "{\"plan_id\":\"${PLAN[ct-l]}\"}"
sw_t_eq "a pending server's plan cannot change (409)" 409 "$SW_STATUS"
api POST "/v1/reseller/servers/$S1/change-plan" "$R1TOK" "{\"plan_id\":\"${PLAN[ct-l]}\"}"
sw_t_eq "r1 moves s1 to the larger plan: 202 with a resize job" "202 resize queued" \
    "$SW_STATUS $(j '.job.type + " " + .job.state')"
sw_t_eq "the resize job carries the plan" "${PLAN[ct-l]}" \
    "$(sql "select params->>'plan_id' from jobs where server_id = '$S1' and type = 'resize'")"
api POST "/v1/reseller/servers/$S1/change-plan" "$R1TOK" "{\"plan_id\":\"${PLAN[ct-xs]}\"}"
sw_t_eq "a second change while one is under way is 409" 409 "$SW_STATUS"

# s1 (pending upgrade: 2 vcpus, 1024 MB, 20 GB), s2 and s4 (1, 512, 10 each).
q() { jq -r "[.servers, .vcpus, .ram_mb, .disk_gb, .ipv4] | map(\"\(.used)/\(.limit)/\(.available)\") | join(\" \")" <<<"$SW_BODY"; }
api GET /v1/reseller/quota "$R1TOK"
sw_t_eq "the quota shows limits, use (the pending upgrade counted) and what is left" \
    "3/4/1 4/5/1 2048/4096/2048 40/100/60 3/4/1" "$(q)"
sw_t_eq "and the allowed kinds" "true container,pv" "$(j '(.limited | tostring) + " " + (.kinds | join(","))')"

# vcpus: 4 of 5 used; a 2-vcpu order is refused on both paths, a 1-vcpu one fits.
api POST "/v1/reseller/customers/$C1/orders" "$R1TOK" "$(order_body ct-l container big)"
sw_t_eq "an order past the vcpus limit is 422" "422 unprocessable" "$SW_STATUS $(j .error.code)"
sw_t_check "naming vcpus with the figures" grep -q "vcpus.*limit 5, in use 4, asked 2" <<<"$(j .error.message)"
api POST /v1/orders "$C1TOK" "$(order_body ct-l container big)"
sw_t_eq "c1's own order past the vcpus limit is 422" 422 "$SW_STATUS"
api POST /v1/orders "$C1TOK" "$(order_body ct-s container s3)"
sw_t_eq "c1's order that fits is 202" 202 "$SW_STATUS"
S3=$(j .server.id)
api POST "/v1/reseller/customers/$C1/orders" "$R1TOK" "$(order_body ct-xs container s5)"
sw_t_eq "with 4 of 4 servers used the next order is 422" 422 "$SW_STATUS"
sw_t_check "naming servers" grep -q "quota on servers" <<<"$(j .error.message)"
sql "update servers set state = 'failed' where id = '$S3'"
api GET /v1/reseller/quota "$R1TOK"
sw_t_eq "a failed server takes nothing" "3/4/1 4/5/1" "$(q | cut -d' ' -f1,2)"
sql "update servers set state = 'running' where id = '$S3'"

# A change of plan is checked for its growth only.
sql "update reseller_quotas set max_vcpus = 4 where reseller_id = '$R1'"
sql "update servers set state = 'running' where id = '$S4'"
api POST "/v1/reseller/servers/$S4/change-plan" "$R1TOK" "{\"plan_id\":\"${PLAN[ct-l]}\"}"
sw_t_eq "an upgrade past the vcpus limit is 422" 422 "$SW_STATUS"
api POST "/v1/reseller/servers/$S4/change-plan" "$R1TOK" "{\"plan_id\":\"${PLAN[ct-xs]}\"}"
sw_t_eq "a downgrade is accepted though the reseller is over its lowered limit" 202 "$SW_STATUS"
api GET /v1/reseller/quota "$R1TOK"
sw_t_eq "over a lowered limit nothing is available" "5/4/0" "$(q | cut -d' ' -f2)"

# ---- terminate and delete ----
api POST "/v1/reseller/servers/$S4/terminate" "$R1TOK"
sw_t_eq "r1 terminates c2's server: 202" "202 terminate" "$SW_STATUS $(j .job.type)"
T1=$(j .job.id)
api POST "/v1/reseller/servers/$S4/terminate" "$R1TOK"
sw_t_eq "terminating again answers the same job" "202 $T1" "$SW_STATUS $(j .job.id)"
sw_t_eq "the server is terminating" terminating "$(sql "select state from servers where id = '$S4'")"
api DELETE "/v1/reseller/customers/$C2" "$R1TOK"
sw_t_eq "a customer with a server not yet terminated cannot be deleted (409)" "409 conflict" \
    "$SW_STATUS $(j .error.code)"
sql "update servers set state = 'terminated' where id = '$S4'"
api POST "/v1/reseller/servers/$S4/terminate" "$R1TOK"
sw_t_eq "terminating a terminated server is 409" 409 "$SW_STATUS"
api DELETE "/v1/reseller/customers/$C2" "$R1TOK"
sw_t_eq "with every server terminated it is deleted: 204" 204 "$SW_STATUS"
api GET "/v1/reseller/customers/$C2" "$R1TOK"
sw_t_eq "a deleted customer is not found" 404 "$SW_STATUS"
api DELETE "/v1/reseller/customers/$C2" "$R1TOK"
sw_t_eq "deleting it again is 404" 404 "$SW_STATUS"
api POST "/v1/reseller/customers/$C2/orders" "$R1TOK" "$(order_body ct-xs container again)"
sw_t_eq "ordering for a deleted customer is 404" 404 "$SW_STATUS"
api GET "/v1/reseller/customers?external_id=whmcs-2" "$R1TOK"
sw_t_eq "its external_id finds nothing" 0 "$(j '.items | length')"
api GET /v1/reseller/customers "$R1TOK"
sw_t_eq "the list leaves it out" "$C1" "$(j '[.items[].id] | join(",")')"
sw_t_eq "the row is kept with what it was known by" "deleted c2b@example.com whmcs-2" \
    "$(sql "select state, deleted_email, deleted_external_id from accounts where id = '$C2'" | tr '|' ' ')"
api POST /v1/reseller/customers "$R1TOK" '{"email":"c2b@example.com","name":"Again","external_id":"whmcs-2"}'
sw_t_eq "its email and external_id can be used again: 201" 201 "$SW_STATUS"
api POST /v1/reseller/customers "$R1TOK" '{"email":"gone@example.com","name":"Gone","password":"gone-secret-pw"}'
GONE=$(j .id)
GONETOK=$(login gone@example.com gone-secret-pw)
api DELETE "/v1/reseller/customers/$GONE" "$R1TOK"
sw_t_eq "a customer without servers is deleted: 204" 204 "$SW_STATUS"
api GET /v1/account "$GONETOK"
sw_t_eq "its token no longer works" 401 "$SW_STATUS"
api POST /v1/auth/login "" '{"email":"gone@example.com","password":"gone-secret-pw"}'
sw_t_eq "and it cannot log in" 401 "$SW_STATUS"

# Idempotency-Key applies to a reseller's order as to any POST.
idem_order() {
    curl -s -D "$SW_T_DIR/idem.h" -o "$SW_T_DIR/idem.b" -w '%{http_code}' -X POST \
        -H "Authorization: Bearer $R2TOK" -H 'Idempotency-Key: r2-order-1' \
        -H 'Content-Type: application/json' --data-binary "$1" \
        "$SW_URL/v1/reseller/customers/$R2C1/orders"
}
st1=$(idem_order "$(order_body ct-s container idem)")
id1=$(jq -r .server.id "$SW_T_DIR/idem.b")
st2=$(idem_order "$(order_body ct-s container idem)")
id2=$(jq -r .server.id "$SW_T_DIR/idem.b")
sw_t_eq "a retried reseller order with the same Idempotency-Key replays the first answer" \
    "202 202 $id1 1" "$st1 $st2 $id2 $(sql "select count(*) from servers where hostname = 'idem'")"
st3=$(idem_order "$(order_body ct-xs container idem)")
sw_t_eq "the same key with another body is 422" 422 "$st3"

# ---- usage ----
sample() { # id server ts period cpu_ns mem_mb rx tx
    sql "insert into usage_samples (sample_id, server_id, node_id, ts, period_s, cpu_ns, mem_mb, mem_max_mb, net_rx_bytes, net_tx_bytes, disk_rd_bytes, disk_wr_bytes) values ('$1', '$2', '$NODE', '$3', $4, $5, $6, $6, $7, $8, 0, 0)"
}
sample a1 "$S1" 2024-03-10T10:00:00Z 3600 1500000000000 512 1000 2000
sample a2 "$S1" 2024-03-31T23:59:59Z 3600 1500000000000 512 1000 2000
sample b1 "$S2" 2024-03-15T00:00:00Z 1800 250000000 1024 5 7
sample c1 "$S4" 2024-03-01T00:00:00Z 60 1000000000 256 10 20
sample c2 "$S4" 2024-02-29T23:59:59Z 60 1000000000 256 10 20
sample c3 "$S4" 2024-04-01T00:00:00Z 60 1000000000 256 10 20
api POST /v1/reseller/customers/"$R2C1"/orders "$R2TOK" "$(order_body ct-s container r2s)"
R2S=$(j .server.id)
sample d1 "$R2S" 2024-03-05T00:00:00Z 60 1000000000 256 10 20
api GET "/v1/reseller/usage?month=2024-03" "$R1TOK"
sw_t_eq "usage answers the month in UTC" "200 2024-03 2024-03-01T00:00:00.000Z 2024-04-01T00:00:00.000Z" \
    "$SW_STATUS $(j '.month + " " + .from + " " + .to')"
sw_t_eq "usage lists both customers, the deleted one too" "$(printf '%s\n' "$C1" "$C2" | sort | paste -sd,)" \
    "$(j '[.customers[].customer_id] | join(",")')"
cu() { jq -r --arg c "$1" ".customers[] | select(.customer_id == \$c) | $2" <<<"$SW_BODY"; }
sv() { jq -r --arg s "$1" ".customers[].servers[] | select(.server_id == \$s) | $2" <<<"$SW_BODY"; }
sw_t_eq "s1: cpu seconds, RAM MiB-hours, network bytes, samples" "3000 1024 2000 4000 2" \
    "$(sv "$S1" '"\(.cpu_seconds) \(.ram_mb_hours) \(.net_rx_bytes) \(.net_tx_bytes) \(.samples)"')"
sw_t_eq "s2: half an hour at 1024 MiB" "0.25 512 5 7" \
    "$(sv "$S2" '"\(.cpu_seconds) \(.ram_mb_hours) \(.net_rx_bytes) \(.net_tx_bytes)"')"
sw_t_eq "c1 sums its servers" "3000.25 1536 2005 4007 2" \
    "$(cu "$C1" '"\(.cpu_seconds) \(.ram_mb_hours) \(.net_rx_bytes) \(.net_tx_bytes) \(.servers | length)"')"
sw_t_eq "c2's samples on the month's bounds: the first instant in, the next month's out" \
    "1 4.267 10 20 1 deleted whmcs-2" \
    "$(cu "$C2" '"\(.cpu_seconds) \(.ram_mb_hours) \(.net_rx_bytes) \(.net_tx_bytes) \(.servers[0].samples) \(.state) \(.external_id)"')"
sw_t_eq "totals" "3001.25 1540.267 2015 4027 3" \
    "$(j '.totals | "\(.cpu_seconds) \(.ram_mb_hours) \(.net_rx_bytes) \(.net_tx_bytes) \(.servers)"')"
api GET "/v1/reseller/usage?month=2024-03" "$R2TOK"
sw_t_eq "r2's usage has only its own server" "$R2S" "$(j '[.customers[].servers[].server_id] | join(",")')"
api GET "/v1/reseller/usage?month=2024-05" "$R1TOK"
sw_t_eq "a month without samples is empty" "200 0 0" "$SW_STATUS $(j '"\(.customers | length) \(.totals.cpu_seconds)"')"
api GET /v1/reseller/usage "$R1TOK"
sw_t_eq "without month: the current one" "200 $(date -u +%Y-%m)" "$SW_STATUS $(j .month)"
for bad in 2024-13 2024-3 2024-00 abcd-ef 2024-03-01 "2024-03%27"; do
    api GET "/v1/reseller/usage?month=$bad" "$R1TOK"
    sw_t_eq "month=$bad is 400" 400 "$SW_STATUS"
done

# ---- the quota under 50 parallel orders, room for exactly 5 ----
# parallel_orders PATH TOKEN N TAG: N orders at once, each one's status in
# $SW_T_DIR/par.TAG/; prints the count per status ("5 x 202, 45 x 422").
parallel_orders() {
    local path=$1 token=$2 n=$3 i pids=() dir=$SW_T_DIR/par.$4
    mkdir -p "$dir"
    for i in $(seq "$n"); do
        curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $token" \
            -H 'Content-Type: application/json' --data-binary "$(order_body ct-xs container "p$i")" \
            "$SW_URL$path" >"$dir/$i" &
        pids+=($!)
    done
    wait "${pids[@]}"
    cat "$dir"/* | fold -w3 | sort | uniq -c | awk '{printf "%s x %s, ", $1, $2}' | sed 's/, $//'
}
mkreseller r3
R3=$RID R3TOK=$RTOK
api POST /v1/reseller/customers "$R3TOK" '{"email":"c3@example.com","name":"C3"}'
C3=$(j .id)
sql "insert into reseller_quotas (reseller_id, max_servers) values ('$R3', 5)"
t0=$(date +%s%N)
got=$(parallel_orders "/v1/reseller/customers/$C3/orders" "$R3TOK" 50 reseller)
t1=$(date +%s%N)
echo "# reseller path: 50 parallel orders, room for 5: $got in $(((t1 - t0) / 1000000)) ms"
sw_t_eq "reseller path: 50 parallel orders give 5 x 202 and 45 x 422" "5 x 202, 45 x 422" "$got"
sw_t_eq "reseller path: exactly 5 server rows" 5 "$(sql "select count(*) from servers where owner_id = '$C3'")"
sw_t_eq "reseller path: 5 orders and 5 create jobs" "5 5" \
    "$(sql "select (select count(*) from orders where account_id = '$C3'), (select count(*) from jobs j join servers s on s.id = j.server_id where s.owner_id = '$C3')" | tr '|' ' ')"

mkreseller r4
R4=$RID R4TOK=$RTOK
api POST /v1/reseller/customers "$R4TOK" '{"email":"c4@example.com","name":"C4","password":"c4-secret-pw"}'
C4=$(j .id)
C4TOK=$(login c4@example.com c4-secret-pw)
sql "insert into reseller_quotas (reseller_id, max_servers) values ('$R4', 5)"
t0=$(date +%s%N)
got=$(parallel_orders /v1/orders "$C4TOK" 50 customer)
t1=$(date +%s%N)
echo "# customer path: 50 parallel orders, room for 5: $got in $(((t1 - t0) / 1000000)) ms"
sw_t_eq "customer path: 50 parallel orders give 5 x 202 and 45 x 422" "5 x 202, 45 x 422" "$got"
sw_t_eq "customer path: exactly 5 server rows" 5 "$(sql "select count(*) from servers where owner_id = '$C4'")"

# Both paths at once against one quota (25 + 25, room for 5), limited by RAM.
mkreseller r5
R5=$RID R5TOK=$RTOK
api POST /v1/reseller/customers "$R5TOK" '{"email":"c5@example.com","name":"C5","password":"c5-secret-pw"}'
C5=$(j .id)
C5TOK=$(login c5@example.com c5-secret-pw)
sql "insert into reseller_quotas (reseller_id, max_ram_mb) values ('$R5', $((5 * 256 + 255)))"
parallel_orders "/v1/reseller/customers/$C5/orders" "$R5TOK" 25 mixa >"$SW_T_DIR/mixed.a" &
pa=$!
parallel_orders /v1/orders "$C5TOK" 25 mixb >"$SW_T_DIR/mixed.b" &
pb=$!
wait $pa $pb
echo "# both paths, 25 + 25 parallel orders, RAM for 5: $(cat "$SW_T_DIR/mixed.a") / $(cat "$SW_T_DIR/mixed.b")"
sw_t_eq "both paths at once: exactly 5 server rows within the RAM limit" "5 1280" \
    "$(sql "select count(*), sum(p.ram_mb) from servers s join plans p on p.id = s.plan_id where s.owner_id = '$C5'" | tr '|' ' ')"
sw_t_eq "both paths at once: every other order was 422" 45 \
    "$(cat "$SW_T_DIR"/par.mix?/* | fold -w3 | grep -c 422)"
api GET /v1/reseller/quota "$R5TOK"
sw_t_eq "and the quota shows the RAM full" "1280/1535/255" "$(q | cut -d' ' -f3)"
sw_t_eq "no request failed with a 5xx" 0 "$(cat "$SW_T_DIR"/par.*/* | fold -w3 | grep -c '^5')"

sw_t_done
