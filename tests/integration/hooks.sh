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
#   - the incoming payment hook (billing's sw_payment_apply): a good
#     signature applied once when replayed, a bad signature, a changed body
#     or timestamp, a stale timestamp, another tenant's invoice refused.
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

api DELETE "/v1/webhooks/$W1" "$R1TOK"
sw_t_eq "the owner deletes a webhook: 204" 204 "$SW_STATUS"
api GET "/v1/webhooks/$W1/deliveries" "$R1TOK"
sw_t_eq "a deleted webhook is not found" 404 "$SW_STATUS"
api GET /v1/webhooks "$R1TOK"
sw_t_eq "nor listed" 0 "$(j '.items | length')"

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

# ---- delivery ----
RECV=$SW_T_DIR/recv
echo '{}' >"$RECV.secrets"
: >"$RECV.log"
sw_t_daemon receiver python3 "$SW_SRCDIR/tests/integration/hooks_receiver.py" "$RECV.port" \
    "$RECV.secrets" "$RECV.log"
sw_t_wait "the receiver's port" 10 test -s "$RECV.port" || exit 99
PORT=$(cat "$RECV.port")
# A panel that allows private addresses, as ./scripts/up's does.
SLIPWAY_HOOKS_ALLOW_PRIVATE=1 sw_t_panel

mkhook() { # token url-base path events-json -> WID; the receiver learns its secret
    api POST /v1/webhooks "$1" "{\"url\":\"$2$3\",\"events\":$4}"
    [ "$SW_STATUS" = 201 ] || { echo "could not create webhook $3: $SW_STATUS $SW_BODY"; exit 99; }
    WID=$(j .id)
    python3 -c 'import json,sys; f=sys.argv[1]; d=json.load(open(f)); d[sys.argv[2]]=sys.argv[3]; json.dump(d,open(f,"w"))' \
        "$RECV.secrets" "$3" "$(j .secret)"
}
recv() { jq -s "$@" "$RECV.log"; }           # jq over every request received
nrecv() { recv "[.[] | select(.path == \"$1\")] | length"; }
recv_at_least() { [ "$(nrecv "$1")" -ge "$2" ]; }
dstate() { sw_t_psql -c "select string_agg(state, ',' order by created_at) from webhook_deliveries where webhook_id = '$1'"; }
dstate_is() { [ "$(dstate "$1")" = "$2" ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }
order_for() { # reseller-token customer -> ORDER, SRV2
    api POST "/v1/reseller/customers/$2/orders" "$1" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"h$RANDOM.example.com\"}"
    [ "$SW_STATUS" = 202 ] || { echo "order: $SW_STATUS $SW_BODY"; exit 99; }
    ORDER=$(j .order.id) SRV2=$(j .server.id)
}
export SLIPWAY_HOOKS_RETRY_SCHEDULE=0,1,1

# A deliverer that does not allow private addresses refuses to connect to
# one, even by a name (localhost) the panel cannot check.
mkhook "$R1TOK" "http://localhost:$PORT" /ok/priv '["order.created"]'
WPRIV=$WID
sw_t_daemon billing0 env SLIPWAY_HOOKS_ALLOW_PRIVATE=0 slipway-billing
order_for "$R1TOK" "$A1"
sw_t_wait "three refused attempts" 20 dstate_is "$WPRIV" failed
api GET "/v1/webhooks/$WPRIV/deliveries" "$R1TOK"
sw_t_eq "a private address is refused by the deliverer: three attempts, no status" "3 null" \
    "$(j '(.items[0].attempts | length | tostring) + " " + (.items[0].attempts | map(.status_code) | unique | .[0] | tostring)')"
sw_t_check "each attempt says why" grep -q "refused to connect to" <<<"$(j '.items[0].attempts[0].error')"
sw_t_eq "and the receiver got nothing" 0 "$(nrecv /ok/priv)"
kill "$SW_T_PID_billing0"
sw_t_wait "billing0 stops" 20 gone "$SW_T_PID_billing0"
PRIV_DELIVERY=$(j '.items[0].id')

# From here on the deliverers allow private addresses.
export SLIPWAY_HOOKS_ALLOW_PRIVATE=1
sw_t_daemon billing1 slipway-billing
api POST "/v1/webhooks/$WPRIV/deliveries/$PRIV_DELIVERY/redeliver" "$R1TOK" '{}'
sw_t_eq "a failed delivery is redelivered by hand: 202" "202 pending" "$SW_STATUS $(j .delivery.state)"
sw_t_wait "the redelivery" 20 dstate_is "$WPRIV" delivered
api GET "/v1/webhooks/$WPRIV/deliveries" "$R1TOK"
sw_t_eq "its fourth attempt is manual and got 200" "4 true 200" \
    "$(j '.items[0].attempts | "\(length) \(.[3].manual) \(.[3].status_code)"')"

mkhook "$R1TOK" "http://127.0.0.1:$PORT" /ok/r1 '["order.created","server.provisioned"]'
WR1=$WID
mkhook "$R2TOK" "http://127.0.0.1:$PORT" /ok/r2 '["order.created"]'
mkhook "$OP" "http://127.0.0.1:$PORT" /ok/op '["order.created"]'
mkhook "$R1TOK" "http://127.0.0.1:$PORT" /fail1/r1 '["order.created"]'
WFAIL1=$WID
mkhook "$R1TOK" "http://127.0.0.1:$PORT" /gone/r1 '["order.created"]'
WGONE=$WID
mkhook "$R1TOK" "http://127.0.0.1:$PORT" /fail3/r1 '["order.created"]'
WFAIL3=$WID
order_for "$R1TOK" "$A1"
ORDER_A1=$ORDER SRV_A1=$SRV2
order_for "$R2TOK" "$B1"
ORDER_B1=$ORDER
sw_t_wait "every endpoint's deliveries settle" 30 bash -c "
    [ \"\$(psql '$SLIPWAY_DATABASE_URL' -qAt -c \"select count(*) from webhook_deliveries where state = 'pending'\")\" = 0 ] &&
    [ \"\$(psql '$SLIPWAY_DATABASE_URL' -qAt -c \"select count(*) from webhook_deliveries\")\" -ge 8 ]"

sw_t_eq "every request carried a signature Python's hmac verifies, a fresh timestamp and JSON" \
    "true" "$(recv '[.[] | .sig_ok and .ts_ok and .content_type == "application/json" and .payload != null] | all')"
sw_t_eq "a tampered body or timestamp never verifies" "[false]" \
    "$(recv -c '[.[] | .tampered_body_ok, .tampered_ts_ok] | unique' | tr -d ' \n')"
sw_t_eq "the reseller's endpoint got its customer's order once" "$ORDER_A1" \
    "$(recv -r '[.[] | select(.path == "/ok/r1") | .payload.data.order.id] | join(",")')"
EV_A1=$(sw_t_psql -c "select id from events where type = 'order.created' and data->'order'->>'id' = '$ORDER_A1'")
sw_t_eq "webhook-id is the event's id" "$EV_A1" "$(recv -r '[.[] | select(.path == "/ok/r1") | .id][0]')"
sw_t_eq "the payload is {type, timestamp, data}" "order.created true" \
    "$(recv -r '[.[] | select(.path == "/ok/r1")][0].payload | "\(.type) \(.timestamp | test("^[0-9-]+T[0-9:.]+Z$"))"')"
sw_t_eq "another reseller's endpoint got only its own customer's order" "$ORDER_B1" \
    "$(recv -r '[.[] | select(.path == "/ok/r2") | .payload.data.order.id] | join(",")')"
sw_t_eq "the operator's endpoint got both" "$(sort <<<"$ORDER_A1"$'\n'"$ORDER_B1" | paste -sd,)" \
    "$(recv -r '[.[] | select(.path == "/ok/op") | .payload.data.order.id] | sort | join(",")')"
sw_t_eq "500 then 200: two requests with one webhook-id, accepted once" "500,200 1 1" \
    "$(recv -r '[.[] | select(.path == "/fail1/r1")] | "\(map(.status | tostring) | join(",")) \(map(.id) | unique | length) \(map(select(.status == 200)) | length)"')"
api GET "/v1/webhooks/$WFAIL1/deliveries" "$R1TOK"
sw_t_eq "its deliveries show both attempts and delivered" "delivered 500,200" \
    "$(j '.items[0] | "\(.state) \(.attempts | map(.status_code | tostring) | join(","))"')"
api GET /v1/webhooks "$R1TOK"
sw_t_eq "410 disables the endpoint" "disabled" "$(j ".items[] | select(.id == \"$WGONE\") | .state")"
sw_t_eq "and fails its delivery after one attempt" "failed 1" \
    "$(sw_t_psql -c "select state, (select count(*) from webhook_attempts a where a.delivery_id = d.id) from webhook_deliveries d where webhook_id = '$WGONE'" | tr '|' ' ')"
sw_t_eq "500 three times: the schedule is spent, failed" "failed 3" \
    "$(sw_t_psql -c "select state, attempts from webhook_deliveries where webhook_id = '$WFAIL3'" | tr '|' ' ')"
D3=$(sw_t_psql -c "select id from webhook_deliveries where webhook_id = '$WFAIL3'")
api POST "/v1/webhooks/$WGONE/deliveries/$(sw_t_psql -c "select id from webhook_deliveries where webhook_id = '$WGONE'")/redeliver" "$R1TOK" '{}'
sw_t_eq "a disabled endpoint's delivery cannot be redelivered: 409" 409 "$SW_STATUS"
api POST "/v1/webhooks/$WFAIL1/deliveries/$D3/redeliver" "$R1TOK" '{}'
sw_t_eq "another endpoint's delivery is not found under this one" 404 "$SW_STATUS"
api POST "/v1/webhooks/$WFAIL3/deliveries/$D3/redeliver" "$R2TOK" '{}'
sw_t_eq "nor by another reseller" 404 "$SW_STATUS"
api POST "/v1/webhooks/$WFAIL3/deliveries/$D3/redeliver" "$R1TOK" '{}'
sw_t_wait "the manual redelivery" 20 dstate_is "$WFAIL3" delivered
sw_t_eq "the receiver got it a fourth time, same id, now 200" "500,500,500,200 1" \
    "$(recv -r '[.[] | select(.path == "/fail3/r1")] | "\(map(.status | tostring) | join(",")) \(map(.id) | unique | length)"')"

# server.provisioned, and nothing more for the disabled endpoint
sql "update servers set state = 'provisioning' where id = '$SRV_A1'" >/dev/null
sql "update servers set state = 'running' where id = '$SRV_A1'" >/dev/null
order_for "$R1TOK" "$A1"
sw_t_wait "server.provisioned and the next order" 20 recv_at_least /ok/r1 3
sw_t_eq "server.provisioned names the server" "$SRV_A1" \
    "$(recv -r '[.[] | select(.path == "/ok/r1" and .payload.type == "server.provisioned") | .payload.data.server.id] | join(",")')"
sw_t_eq "the disabled endpoint got nothing more" 1 "$(nrecv /gone/r1)"

# ---- usage.hourly: once per server and completed hour ----
mkhook "$R1TOK" "http://127.0.0.1:$PORT" /ok/usage '["usage.hourly"]'
sample() { # hours-ago minute cpu_ns
    sql "insert into usage_samples (sample_id, server_id, node_id, ts, period_s, cpu_ns, mem_mb, mem_max_mb, net_rx_bytes, net_tx_bytes, disk_rd_bytes, disk_wr_bytes)
         select '$SRV_A1:' || extract(epoch from t)::bigint, '$SRV_A1', '$NODE', t, 60, $3, 256, 512, 1000, 2000, 10, 20
         from (select date_trunc('hour', now()) - interval '$1 hours' + interval '$2 minutes' as t) x" >/dev/null
}
sample 3 10 1000000000
sample 3 20 500000000
sample 2 5 7
# The deliverers have emitted up to the current hour already; samples are
# stamped in the past here, so take the watermark back to before them, as
# if the deliverers had been down for four hours.
sql "update hooks_watermark set usage_hour = date_trunc('hour', now()) - interval '4 hours'" >/dev/null
sw_t_wait "two usage.hourly" 20 recv_at_least /ok/usage 2
sw_t_eq "one event per server-hour, with that hour's totals" "1500000000,7 30720,15360 2000,1000" \
    "$(recv -r '[.[] | select(.path == "/ok/usage") | .payload.data] | sort_by(.from) | "\(map(.cpu_ns | tostring) | join(",")) \(map(.mem_mb_seconds | tostring) | join(",")) \(map(.net_rx_bytes | tostring) | join(","))"')"
sql "update hooks_watermark set usage_hour = usage_hour - interval '10 hours'" >/dev/null
wm_back() { [ "$(sw_t_psql -c "select usage_hour = date_trunc('hour', now() - interval '5 minutes') from hooks_watermark")" = t ]; }
sw_t_wait "the watermark moves up again" 20 wm_back
sw_t_eq "going over the same hours again emits nothing twice" 2 \
    "$(sw_t_psql -c "select count(*) from events where type = 'usage.hourly'")"

# ---- two deliverers at once never send one delivery twice ----
sw_t_daemon billing2 slipway-billing
mkhook "$OP" "http://127.0.0.1:$PORT" /slow/many '["job.failed"]'
sql "select sw_event_emit('job.failed', '$A1', jsonb_build_object('n', g)) from generate_series(1, 40) g" >/dev/null
sw_t_wait "40 deliveries" 40 recv_at_least /slow/many 40
sw_t_eq "40 requests, 40 ids, one attempt each" "40 40 40" \
    "$(nrecv /slow/many) $(recv '[.[] | select(.path == "/slow/many") | .id] | unique | length') $(sw_t_psql -c "select count(*) from webhook_attempts a join webhook_deliveries d on d.id = a.delivery_id join webhook_endpoints w on w.id = d.webhook_id where w.url like '%/slow/many'")"
sw_t_check "both deliverers sent some" bash -c "grep -q hooks.attempt '$SW_T_DIR/billing1.log' && grep -q hooks.attempt '$SW_T_DIR/billing2.log'"

# ---- a deliverer killed mid-send: sent again later, under the same id ----
kill "$SW_T_PID_billing1" "$SW_T_PID_billing2"
sw_t_wait "billing1 and billing2 stop" 20 bash -c "! kill -0 $SW_T_PID_billing1 2>/dev/null && ! kill -0 $SW_T_PID_billing2 2>/dev/null"
export SLIPWAY_HOOKS_TIMEOUT=3
sw_t_daemon billing3 slipway-billing
mkhook "$OP" "http://127.0.0.1:$PORT" /hang1/crash '["job.failed"]'
WHANG=$WID
sql "select sw_event_emit('job.failed', '$A1', '{\"crash\": true}')" >/dev/null
sw_t_wait "the request arrives" 20 recv_at_least /hang1/crash 1
kill -KILL "$SW_T_PID_billing3"
sw_t_wait "billing3 is dead" 10 gone "$SW_T_PID_billing3"
sw_t_daemon billing4 slipway-billing
sw_t_wait "the lease runs out and another deliverer sends it" 30 dstate_is "$WHANG" delivered
sw_t_eq "twice, under one webhook-id: at least once, never two ids" "hung,200 1" \
    "$(recv -r '[.[] | select(.path == "/hang1/crash")] | "\(map(.status | tostring) | join(",")) \(map(.id) | unique | length)"')"

# ---- the incoming payment hook ----
mkinvoice() { # account -> an open invoice of 1000 EUR for it, finalized
    local id
    id=$(sw_t_psql -c "select sw_invoice_store_draft('$1', '2024-01', 'EUR', 0, 1000, 0,
        json_build_array(json_build_object('kind', 'server', 'server_id', '$SRV_A1', 'owner_id', '$A1',
            'plan_id', '$PLAN', 'started_at', 1704067200, 'ended_at', 1704070800, 'quantity', 3600,
            'unit_price', 1, 'amount', 1000))::jsonb)")
    sw_t_psql -c "select sw_invoice_finalize('$id', 14)" >/dev/null
    echo "$id"
}
INV1=$(mkinvoice "$R1")
INV2=$(mkinvoice "$R2")
api POST /v1/account/hook-secret "$R1TOK" '{}'
sw_t_eq "a reseller makes its hook secret, shown once" "201 $R1" "$SW_STATUS $(j .account_id)"
HS_OLD=$(j .secret)
api POST /v1/account/hook-secret "$R1TOK"
HS=$(j .secret)
sw_t_check "rotating makes another" test "$HS" != "$HS_OLD"
api POST /v1/account/hook-secret "$A1TOK"
sw_t_eq "a customer has none: 403" 403 "$SW_STATUS"
sign() { # secret id ts body -> v1,<base64>, computed with Python's hmac
    python3 -c 'import base64,hashlib,hmac,sys; s,i,t,b=sys.argv[1:5]; k=base64.b64decode(s[6:]); print("v1," + base64.b64encode(hmac.new(k, f"{i}.{t}.".encode() + b.encode(), hashlib.sha256).digest()).decode())' "$@"
}
hook_raw() { # account id ts signature body -> SW_STATUS SW_BODY
    SW_STATUS=$(curl -s -o "$SW_T_DIR/.hresp" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' -H "webhook-account: $1" -H "webhook-id: $2" \
        -H "webhook-timestamp: $3" -H "webhook-signature: $4" --data-binary "$5" "$SW_URL/v1/hooks/payments")
    SW_BODY=$(cat "$SW_T_DIR/.hresp")
}
hook() { # secret account id ts body
    hook_raw "$2" "$3" "$4" "$(sign "$1" "$3" "$4" "$5")" "$5"
}
NOW=$(date +%s)
PAY="{\"invoice_id\":\"$INV1\",\"amount\":{\"amount\":400,\"currency\":\"EUR\"},\"reference\":\"whmcs-77\"}"
hook "$HS" "$R1" msg_pay_1 "$NOW" "$PAY"
sw_t_eq "a signed payment is applied" 200 "$SW_STATUS"
P1=$(j .payment_id)
hook "$HS" "$R1" msg_pay_1 "$NOW" "$PAY"
sw_t_eq "replayed, it answers the same payment" "200 $P1" "$SW_STATUS $(j .payment_id)"
hook "$HS" "$R1" msg_pay_1 "$((NOW + 1))" "$PAY"
sw_t_eq "and again with a fresh timestamp" "200 $P1" "$SW_STATUS $(j .payment_id)"
sw_t_eq "applied once: one payment, the invoice paid 400 of 1000" "1 400 open" \
    "$(sw_t_psql -c "select (select count(*) from payments where source = 'hook'), paid_amount, state from invoices where id = '$INV1'" | tr '|' ' ')"
sw_t_eq "one payment.received event" 1 \
    "$(sw_t_psql -c "select count(*) from events where type = 'payment.received' and data->>'payment_id' = '$P1'")"
hook "$HS_OLD" "$R1" msg_pay_2 "$NOW" "$PAY"
sw_t_eq "the rotated-out secret is refused: 401" "401 unauthenticated" "$SW_STATUS $(j .error.code)"
hook "$HS" "$R2" msg_pay_2 "$NOW" "$PAY"
sw_t_eq "another account's signature does not match: 401" "401 unauthenticated" "$SW_STATUS $(j .error.code)"
hook "$HS" "$(cat /proc/sys/kernel/random/uuid)" msg_pay_2 "$NOW" "$PAY"
sw_t_eq "an unknown account answers like a bad signature" "401 unauthenticated" "$SW_STATUS $(j .error.code)"
hook_raw "$R1" msg_pay_2 "$NOW" "$(sign "$HS" msg_pay_2 "$NOW" "$PAY")" "${PAY/400/900}"
sw_t_eq "a body changed after signing: 401" "401 unauthenticated" "$SW_STATUS $(j .error.code)"
hook_raw "$R1" msg_pay_2 "$((NOW - 1))" "$(sign "$HS" msg_pay_2 "$NOW" "$PAY")" "$PAY"
sw_t_eq "a timestamp changed after signing: 401" "401 unauthenticated" "$SW_STATUS $(j .error.code)"
hook "$HS" "$R1" msg_pay_2 "$((NOW - 600))" "$PAY"
sw_t_eq "a timestamp 10 minutes old, rightly signed: 400" "400 invalid_request true" \
    "$SW_STATUS $(j '.error.code + " " + (.error.message | test("too old") | tostring)')"
hook "$HS" "$R1" msg_pay_2 "$((NOW + 600))" "$PAY"
sw_t_eq "one 10 minutes ahead: 400" "400 invalid_request" "$SW_STATUS $(j .error.code)"
hook_raw "" msg_pay_2 "$NOW" "$(sign "$HS" msg_pay_2 "$NOW" "$PAY")" "$PAY"
sw_t_eq "no webhook-account: 400" "400 invalid_request" "$SW_STATUS $(j .error.code)"
sw_t_eq "nothing refused was applied" 1 "$(sw_t_psql -c "select count(*) from payments where source = 'hook'")"
hook "$HS" "$R1" msg_pay_3 "$NOW" "{\"invoice_id\":\"$INV1\",\"amount\":{\"amount\":400,\"currency\":\"USD\"}}"
sw_t_eq "another currency than the invoice's: 422" "422 unprocessable" "$SW_STATUS $(j .error.code)"
hook "$HS" "$R1" msg_pay_4 "$NOW" "{\"invoice_id\":\"$INV2\",\"amount\":{\"amount\":400,\"currency\":\"EUR\"}}"
sw_t_eq "another reseller's invoice: 404" "404 not_found" "$SW_STATUS $(j .error.code)"
hook "$HS" "$R1" msg_pay_5 "$NOW" "{\"account_id\":\"$A1\",\"amount\":{\"amount\":400,\"currency\":\"EUR\"}}"
sw_t_eq "a payment for a customer the reseller bills itself: 422" "422 unprocessable" "$SW_STATUS $(j .error.code)"
hook "$HS" "$R1" msg_pay_6 "$NOW" "{\"account_id\":\"$B1\",\"amount\":{\"amount\":400,\"currency\":\"EUR\"}}"
sw_t_eq "another reseller's customer: 404" "404 not_found" "$SW_STATUS $(j .error.code)"
hook "$HS" "$R1" msg_pay_7 "$NOW" "{\"invoice_id\":\"$INV1\",\"amount\":{\"amount\":0,\"currency\":\"EUR\"}}"
sw_t_eq "a zero amount: 400" "400 invalid_request" "$SW_STATUS $(j .error.code)"
hook "$HS" "$R1" msg_pay_8 "$NOW" "{\"invoice_id\":\"$INV1\",\"amount\":{\"amount\":600,\"currency\":\"EUR\"},\"extra\":1}"
sw_t_eq "an unknown field: 400" "400 invalid_request" "$SW_STATUS $(j .error.code)"
hook "$HS" "$R1" msg_pay_9 "$NOW" "{\"account_id\":\"$R1\",\"amount\":{\"amount\":600,\"currency\":\"EUR\"}}"
sw_t_eq "the rest, to the account: paid in full" "200 paid 1000" \
    "$SW_STATUS $(sw_t_psql -c "select state, paid_amount from invoices where id = '$INV1'" | tr '|' ' ')"
sw_t_eq "the ledger's invariants hold" "" "$(sw_t_psql -c "select * from sw_billing_check()")"

sw_t_done
