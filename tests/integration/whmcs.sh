#!/usr/bin/env bash
# whmcs.sh - the WHMCS provisioning module (contrib/whmcs) against a live
# stack (panel, provisioner, billing, an engine on libvirt's test driver):
# tests/integration/whmcs_harness.php calls each module function as WHMCS
# would, with WHMCS's $params, and the test checks what slipway did: create
# (the server running), a retried create (no second server), suspend and
# unsuspend (retries doing nothing twice), change package (a resize job to
# the new plan), change password (the guest's refusal told, the service's
# password kept), the power buttons, usage into the service's usage fields,
# the client and admin pages, the error paths (a plan that does not exist,
# a reseller over quota: slipway's message is WHMCS's return string),
# terminate and a create again (a new server), the InvoicePaid hook (a
# paid invoice is one signed payment of the operator's customer), no
# secret in the module log, every WHMCS-facing function called, and php -l
# on every PHP file.
. "$(dirname "$0")/../lib/harness.sh"
command -v php >/dev/null || { echo "php-cli is not installed (scripts/lib/setup.sh installs it)"; exit 77; }
php -r 'exit(function_exists("curl_init") ? 0 : 1);' ||
    { echo "php-curl is not installed (scripts/lib/setup.sh installs it)"; exit 77; }
export SW_WHMCS_DIR=$SW_SRCDIR/contrib/whmcs
HARNESS=$SW_SRCDIR/tests/integration/whmcs_harness.php
STATE=$SW_T_DIR/whmcs.json

# php -l on every PHP file of the module and the harness.
for f in $(find "$SW_WHMCS_DIR" -name '*.php') "$HARNESS"; do
    sw_t_check "php -l ${f#"$SW_SRCDIR"/}" php -l "$f"
done

sw_t_slice

j() { jq -r "$1" <<<"$SW_BODY"; }
api() { sw_t_api "$@"; }
sql() { sw_t_psql -c "$1"; }
# whmcs VERB ARGS...: the harness's answer (JSON) in $OUT
whmcs() { OUT=$(php "$HARNESS" "$STATE" "$@"); }
call() { whmcs call "$@"; }

api POST /v1/admin/locations "$OP" '{"code":"fra1","name":"Frankfurt"}'
LOC=$(j .id)
slipwayctl node-file "$SW_T_DIR/n1.xml" 8 16384
api POST /v1/admin/nodes "$OP" "{\"name\":\"n1\",\"location_id\":\"$LOC\",\"engine_uri\":\"test://$SW_T_DIR/n1.xml\",\"kinds\":[\"hvm\"],\"cpus\":8,\"ram_mb\":16384,\"disk_gb\":500}"
[ "$SW_STATUS" = 201 ] || { echo "could not enrol the node: $SW_BODY"; exit 99; }
sw_t_daemon engine env SLIPWAY_NODE_ID="$(j .engine_config.SLIPWAY_NODE_ID)" \
    SLIPWAY_NODE_SECRET_KEY="$(j .engine_config.SLIPWAY_NODE_SECRET_KEY)" SLIPWAY_USAGE_INTERVAL=1 \
    SLIPWAY_HEARTBEAT_INTERVAL=1 slipway-engine
declare -A PLAN
for spec in small:1:512:10:100 large:2:1024:20:200; do
    IFS=: read -r name cpus ram disk bw <<<"$spec"
    api POST /v1/admin/plans "$OP" "{\"name\":\"$name\",\"kind\":\"hvm\",\"vcpus\":$cpus,\"ram_mb\":$ram,\"disk_gb\":$disk,\"bandwidth_gb\":$bw,\"price_hourly\":{\"amount\":1,\"currency\":\"EUR\"},\"price_monthly\":{\"amount\":500,\"currency\":\"EUR\"}}"
    [ "$SW_STATUS" = 201 ] || { echo "could not create plan $name: $SW_BODY"; exit 99; }
    PLAN[$name]=$(j .id)
done
api POST /v1/admin/templates "$OP" '{"name":"Debian 12","kind":"hvm","os":"debian-12"}'
TPL=$(j .id)
api POST /v1/admin/accounts "$OP" '{"kind":"reseller","email":"r1@example.com","name":"r1","password":"r1-secret-pw"}'
R1=$(j .id)
api POST /v1/auth/login "" '{"email":"r1@example.com","password":"r1-secret-pw"}'
api POST /v1/account/tokens "$(j .token)" '{"name":"whmcs"}'
TOKEN=$(j .token)
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || { echo "no reseller API token: $SW_BODY"; exit 99; }
NOPLAN=$(cat /proc/sys/kernel/random/uuid)

# WHMCS's side: server entry 1 (the panel's URL, the token as its
# password), client 7, products 1 (small), 2 (large), 3 (no such plan),
# services 101 (client 7, product 1) and 102 (product 3).
whmcs init "$(jq -n --arg url "$SW_URL" --arg tok "$TOKEN" --arg s "${PLAN[small]}" \
    --arg l "${PLAN[large]}" --arg t "$TPL" --arg loc "$LOC" --arg no "$NOPLAN" '
    def service(pkg; dom): {userid: 7, packageid: pkg, domain: dom, username: "",
        password: "Whmcs-pw-\(pkg)x", server: 1};
    {server: {id: 1, hostname: $url, password: $tok, secure: ""},
     clients: {"7": {email: "alice@example.com", firstname: "Alice", lastname: "Liddell",
                     currency_code: "EUR"}},
     products: {"1": [$s, $t, $loc], "2": [$l, $t, $loc], "3": [$no, $t, ""]},
     tblhosting: {"101": service(1; "web1.example.com"), "102": service(3; "web2.example.com")},
     invoices: {"9001": {userid: 7, total: "12.34"}}}')"

# ---- module metadata, the server entry, the product's settings ----
call MetaData
sw_t_eq "MetaData names the module and needs a server" "slipway true 1.1" \
    "$(jq -r '"\(.DisplayName) \(.RequiresServer) \(.APIVersion)"' <<<"$OUT")"
call TestConnection
sw_t_eq "TestConnection succeeds with the reseller's token" '{"success":true,"error":""}' "$OUT"
call ConfigOptions
sw_t_eq "ConfigOptions: plan, template and location, each loaded from the API" \
    "plan:slipway_LoadPlans template:slipway_LoadTemplates location:slipway_LoadLocations" \
    "$(jq -r 'to_entries | map("\(.key):\(.value.Loader)") | join(" ")' <<<"$OUT")"
call LoadPlans
sw_t_eq "the plan list is the live catalogue" "$(printf '%s\n' "${PLAN[@]}" | sort | paste -sd,)" \
    "$(jq -r 'keys | sort | join(",")' <<<"$OUT")"
call LoadTemplates
sw_t_eq "the template list" "$TPL" "$(jq -r 'keys | join(",")' <<<"$OUT")"
call LoadLocations
sw_t_eq "the location list, with any" ",$LOC" "$(jq -r 'keys | sort | join(",")' <<<"$OUT")"
sed "s/\"password\": \"$TOKEN\"/\"password\": \"not-a-token\"/" "$STATE" >"$STATE.bad"
OUT=$(php "$HARNESS" "$STATE.bad" call TestConnection)
sw_t_eq "TestConnection with a wrong token fails with slipway's message" "false true" \
    "$(jq -r '"\(.success) \(.error | test("^slipway: .*\\(unauthenticated\\)$"))"' <<<"$OUT")"

# ---- create ----
server_json() { api GET "/v1/servers/$1" "$OP"; }
state_of() { server_json "$1"; j .state; }
is_state() { [ "$(state_of "$1")" = "$2" ]; }
jobs_of() { sql "select count(*) from jobs where server_id = '$1' and type = '$2'"; }
t0=$(date +%s%N)
call CreateAccount 101
sw_t_eq "CreateAccount answers success" '"success"' "$OUT"
whmcs get 101 username
S1=$(jq -r . <<<"$OUT")
sw_t_check "the server's id is written into the service's username" grep -Eq '^[0-9a-f-]{36}$' <<<"$S1"
C7=$(sql "select id from accounts where reseller_id = '$R1' and external_id = '7'")
sw_t_eq "the WHMCS client is r1's customer with external_id 7" "alice@example.com Alice Liddell" \
    "$(sql "select email || ' ' || name from accounts where id = '$C7'")"
sw_t_eq "the server is that customer's, with the product's plan and the domain" \
    "$C7 ${PLAN[small]} web1.example.com $LOC" \
    "$(sql "select owner_id || ' ' || plan_id || ' ' || hostname || ' ' || location_id from servers where id = '$S1'")"
if sw_t_wait "server running" 30 is_state "$S1" running; then
    sw_t_ok "the server is running $((($(date +%s%N) - t0) / 1000000)) ms after CreateAccount"
else
    sw_t_fail "the server never ran (state $(state_of "$S1"))"
fi

# A retry: WHMCS lost the first answer (the username is still empty).
whmcs set 101 username ""
call CreateAccount 101
sw_t_eq "a retried CreateAccount answers success" '"success"' "$OUT"
whmcs get 101 username
sw_t_eq "and names the same server" "\"$S1\"" "$OUT"
call CreateAccount 101
sw_t_eq "CreateAccount on a created service answers success" '"success"' "$OUT"
sw_t_eq "no second server, order or customer" "1 1 1" \
    "$(sql "select (select count(*) from servers), (select count(*) from orders), (select count(*) from accounts where kind = 'customer')" | tr '|' ' ')"

# ---- suspend, unsuspend ----
call SuspendAccount 101
sw_t_eq "SuspendAccount answers success" '"success"' "$OUT"
sw_t_eq "the server is suspended" suspended "$(state_of "$S1")"
call SuspendAccount 101
sw_t_eq "a retried SuspendAccount answers success" '"success"' "$OUT"
sw_t_eq "with one suspend job" 1 "$(jobs_of "$S1" suspend)"
call start 101
sw_t_check "the start button on a suspended server says why it cannot" \
    grep -q "^\"slipway: the server is suspended by its provider" <<<"$OUT"
call UnsuspendAccount 101
sw_t_eq "UnsuspendAccount answers success" '"success"' "$OUT"
sw_t_eq "the server runs again" running "$(state_of "$S1")"
call UnsuspendAccount 101
sw_t_eq "a retried UnsuspendAccount answers success, one unsuspend job" '"success" 1' "$OUT $(jobs_of "$S1" unsuspend)"
call SuspendAccount 101
sw_t_eq "a second suspension is a new request: suspended again" "suspended 2" "$(state_of "$S1") $(jobs_of "$S1" suspend)"
call UnsuspendAccount 101
sw_t_eq "and unsuspended again" "running 2" "$(state_of "$S1") $(jobs_of "$S1" unsuspend)"

# ---- change package, change password ----
job_done() { [ "$(sql "select count(*) from jobs where server_id = '$1' and type = '$2' and state = 'succeeded'")" -ge "${3:-1}" ]; }
sw_t_check "the queued jobs are done" sw_t_wait "unsuspend done" 30 job_done "$S1" unsuspend 2
whmcs set 101 packageid 2
call ChangePackage 101
sw_t_eq "ChangePackage answers success" '"success"' "$OUT"
sw_t_eq "with one resize job to the large plan" "1 ${PLAN[large]}" \
    "$(sql "select count(*), max(params::json->>'plan_id') from jobs where server_id = '$S1' and type = 'resize'" | tr '|' ' ')"
plan_is() { server_json "$1"; [ "$(j .plan_id)" = "$2" ]; }
sw_t_check "the server gets the large plan" sw_t_wait "resize" 30 plan_is "$S1" "${PLAN[large]}"
call ChangePackage 101
sw_t_eq "ChangePackage again: success, no second resize" '"success" 1' "$OUT $(jobs_of "$S1" resize)"
# The test driver's guest runs no agent: the reset is refused there, and
# the module says so and keeps the service's password.
whmcs get 101 password
OLDPW=$OUT
call ChangePassword 101
sw_t_eq "ChangePassword: slipway's reason the guest did not take it" \
    '"slipway: the password reset failed: password reset needs the guest agent, which this server does not run"' "$OUT"
whmcs get 101 password
sw_t_eq "the service keeps its password" "$OLDPW" "$OUT"
sw_t_eq "one reset_password job" 1 "$(jobs_of "$S1" reset_password)"
call ChangePassword 101
sw_t_eq "a retry tells the same outcome, with no second job" \
    "slipway: the password reset failed 1" "$(jq -r 'sub(": password.*"; "")' <<<"$OUT") $(jobs_of "$S1" reset_password)"

# ---- power buttons ----
call AdminCustomButtonArray
sw_t_eq "the admin's buttons" "Start=start Stop=stop Reboot=reboot Reinstall=reinstall" \
    "$(jq -r 'to_entries | map("\(.key)=\(.value)") | join(" ")' <<<"$OUT")"
call ClientAreaCustomButtonArray
sw_t_eq "the client's buttons are the same" 4 "$(jq length <<<"$OUT")"
call stop 101
sw_t_eq "Stop answers success" '"success"' "$OUT"
sw_t_check "the server stops" sw_t_wait "stopped" 30 is_state "$S1" stopped
call start 101
sw_t_eq "Start answers success" '"success"' "$OUT"
sw_t_check "the server runs" sw_t_wait "running" 30 is_state "$S1" running
call reboot 101
sw_t_eq "Reboot answers success" '"success"' "$OUT"
sw_t_check "the reboot job is done" sw_t_wait "reboot" 30 job_done "$S1" reboot
call reinstall 101
sw_t_eq "Reinstall answers success, with the product's template" "\"success\" $TPL" \
    "$OUT $(sql "select params::json->>'template_id' from jobs where server_id = '$S1' and type = 'reinstall'")"
sw_t_check "the reinstall job is done" sw_t_wait "reinstall" 60 job_done "$S1" reinstall

# ---- usage ----
NODE=$(sql "select node_id from servers where id = '$S1'")
sql "insert into usage_samples (sample_id, server_id, node_id, ts, period_s, cpu_ns, mem_mb, mem_max_mb, net_rx_bytes, net_tx_bytes, disk_rd_bytes, disk_wr_bytes) values ('whmcs-1', '$S1', '$NODE', now() - interval '1 minute', 60, 1, 512, 512, $((2 * 1048576 * 1024)), $((1048576 * 1024)), 0, 0)"
# The engine keeps adding samples: the module's figure lies between two
# reads of the API, one before and one after.
traffic_mb() {
    api GET "/v1/reseller/usage?month=$(date -u +%Y-%m)" "$TOKEN"
    jq -r --arg s "$S1" '[.customers[].servers[] | select(.server_id == $s) | .net_rx_bytes + .net_tx_bytes] | add / 1048576 | round' <<<"$SW_BODY"
}
MB0=$(traffic_mb)
call UsageUpdate
MB1=$(traffic_mb)
sw_t_eq "UsageUpdate answers success" '"success"' "$OUT"
sw_t_eq "the service's disk (the large plan's 20 GB), bandwidth limit (200 GB) and update time, in MB" \
    "20480 20480 204800 true" \
    "$(jq -r '.tblhosting["101"] | "\(.diskusage) \(.disklimit) \(.bwlimit) \(.lastupdate != null)"' "$STATE")"
MB=$(jq -r '.tblhosting["101"].bwusage' "$STATE")
sw_t_check "this month's traffic: $MB MB, between the API's $MB0 and $MB1" test "$MB0" -le "$MB" -a "$MB" -le "$MB1"
sw_t_check "the traffic counts the 3 GiB sample" test "$MB" -ge 3072

# ---- the client's page and the admin's tab ----
call ClientArea 101
sw_t_eq "ClientArea shows the server's state, hostname and buttons; no console yet" \
    "templates/clientarea running web1.example.com 4 null 101" \
    "$(jq -r '"\(.templatefile) \(.vars.server.state) \(.vars.server.hostname) \(.vars.buttons | length) \(.vars.console_url) \(.vars.serviceid)"' <<<"$OUT")"
sw_t_check "the client area template exists" test -f "$SW_WHMCS_DIR/modules/servers/slipway/templates/clientarea.tpl"
call AdminServicesTabFields 101
sw_t_eq "the admin's tab: the server's id, state and plan" "$S1 running ${PLAN[large]}" \
    "$(jq -r '"\(.["Server ID"]) \(.State) \(.Plan)"' <<<"$OUT")"

# ---- error paths ----
call CreateAccount 102
sw_t_check "a plan that does not exist: slipway's message is the answer ($OUT)" \
    grep -Eq '^"slipway: .*plan.* \(unprocessable\)"$' <<<"$OUT"
sw_t_eq "and no server was made" 1 "$(sql "select count(*) from servers")"
sql "insert into reseller_quotas (reseller_id, max_servers) values ('$R1', 1)"
whmcs set 102 packageid 1
call CreateAccount 102
sw_t_check "a reseller over quota: slipway's message is the answer ($OUT)" \
    grep -Eq '^"slipway: .*quota.* \(unprocessable\)"$' <<<"$OUT"
sw_t_eq "and no server was made" 1 "$(sql "select count(*) from servers")"
call SuspendAccount 102
sw_t_check "a service without a server says so ($OUT)" grep -q "has no slipway server" <<<"$OUT"

# ---- terminate ----
call TerminateAccount 101
sw_t_eq "TerminateAccount answers success" '"success"' "$OUT"
sw_t_check "the server is terminated" sw_t_wait "terminated" 30 is_state "$S1" terminated
call TerminateAccount 101
sw_t_eq "a retried TerminateAccount: success, one terminate job" '"success" 1' "$OUT $(jobs_of "$S1" terminate)"
# Created again (WHMCS's admin: Create on a terminated service), the same
# request as the first (product 1 again): a new server, within the quota of 1.
whmcs set 101 packageid 1
call CreateAccount 101
whmcs get 101 username
S2=$(jq -r . <<<"$OUT")
sw_t_eq "a terminated service is created again: a new server" \
    "true web1.example.com running" \
    "$([ "$S2" != "$S1" ] && echo true) $(sql "select hostname from servers where id = '$S2'") $(sw_t_wait "S2 running" 30 is_state "$S2" running && echo running)"
# A product that asks for no domain: the server is named after the service.
sql "update reseller_quotas set max_servers = 2 where reseller_id = '$R1'"
whmcs set 102 domain ""
call CreateAccount 102
whmcs get 102 username
sw_t_eq "a service without a domain: hostname server-102" "server-102" \
    "$(sql "select hostname from servers where id = '$(jq -r . <<<"$OUT")'")"

# ---- the InvoicePaid hook: the operator's, signed with its hook secret ----
# Bob is the operator's own customer (slipway bills him), WHMCS client 8.
api POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"bob@example.com","name":"Bob"}'
BOB=$(j .id)
api GET /v1/account "$OP"
OPID=$(j .id)
api POST /v1/account/hook-secret "$OP"
SECRET=$(j .secret)
hook_conf() { # secret
    jq --arg url "$SW_URL" --arg a "$OPID" --arg s "$1" --arg t "$OP" \
        '.slipway_hook = {url: $url, account_id: $a, secret: $s, token: $t} | .activity = []
         | .clients["8"] = {email: "BOB@example.com", firstname: "Bob", lastname: "", currency_code: "EUR"}
         | .invoices["9002"] = {userid: 8, total: "12.34"}' \
        "$STATE" >"$STATE.new" && mv "$STATE.new" "$STATE"
}
activity() { jq -r '.activity | join(" / ")' "$STATE"; }
payments() { sql "select count(*) || ' ' || coalesce(sum(amount), 0) || ' ' || coalesce(max(currency), '-') from payments where account_id = '$BOB'"; }
hook_conf "whsec_$(head -c 32 /dev/urandom | base64)"
whmcs hook InvoicePaid '{"invoiceid":9002}'
sw_t_eq "a wrong hook secret: slipway refuses the signature, and no payment is made" \
    "slipway: invoice 9002 not reported: slipway: no webhook-signature matches the message 0 0 -" \
    "$(activity) $(payments)"
hook_conf "$SECRET"
whmcs hook InvoicePaid '{"invoiceid":9002}'
sw_t_check "with the operator's secret the paid invoice is reported ($(activity))" \
    grep -q "^slipway: invoice 9002 reported as payment [0-9a-f-]\{36\}$" <<<"$(activity)"
sw_t_eq "as one payment of 12.34 EUR from Bob" "1 1234 EUR" "$(payments)"
whmcs hook InvoicePaid '{"invoiceid":9002}'
sw_t_eq "the hook run again for the invoice is still one payment" "1 1234 EUR" "$(payments)"
whmcs hook InvoicePaid '{"invoiceid":9001}'
sw_t_eq "Alice is r1's customer, whom slipway does not bill: not reported" \
    "slipway: invoice 9001 not reported: slipway bills no customer with the email alice@example.com" \
    "$(jq -r '.activity[-1]' "$STATE")"

# ---- the module log holds no secret WHMCS would not mask ----
leaks=$(jq -r --arg t "$TOKEN" '.module_log[] | select(((.request + .response) | contains($t)))
    | .action' "$STATE")
sw_t_eq "the token is in no module log entry" "" "$leaks"
unmasked=$(jq -r '.module_log[] | . as $e | ($e.request | fromjson? // {}) | .password // empty
    | select(. as $pw | $e.hide | index($pw) | not)' "$STATE")
sw_t_eq "every password in a logged request is in the list WHMCS masks" "" "$unmasked"

# ---- every function WHMCS calls was called ----
whmcs coverage
sw_t_eq "every WHMCS-facing function of the module was called" "[]" "$OUT"

sw_t_done
