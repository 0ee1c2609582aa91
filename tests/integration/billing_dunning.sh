#!/usr/bin/env bash
# Invoices and dunning end to end, over HTTP with a real provisioner,
# test-driver engine and slipway-billing: servers billed last month get
# finalized invoices (`slipwayctl invoice run`), visible to their account
# and the operator only; an invoice unpaid past due + grace suspends the
# account's servers through ordinary suspend jobs (and emits
# invoice.overdue) and nobody else's; a partial payment leaves them
# suspended, the payment that settles the invoice unsuspends them
# (unsuspend jobs; a stopped server just goes back to stopped); payments
# are idempotent; an operator's account suspension and dunning do not undo
# each other.
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
export SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8
sw_t_panel
sw_t_daemon provisioner slipway-provisioner

j() { jq -r "$1" <<<"$SW_BODY"; }
api() { sw_t_api "$@"; }
st() { # DESC STATUS METHOD PATH TOKEN [BODY]
    local desc=$1 want=$2; shift 2
    api "$@"
    if [ "$SW_STATUS" = "$want" ]; then sw_t_ok "$desc"; else sw_t_fail "$desc: expected $want, got $SW_STATUS $SW_BODY"; fi
}
psql_() { sw_t_psql -c "$1"; }
server_state() { psql_ "select state from servers where id = '$1'"; }
is_state() { [ "$(server_state "$1")" = "$2" ]; }
jobs_of() { psql_ "select coalesce(string_agg(type || ':' || state, ',' order by created_at), '') from jobs where server_id = '$1' and type in ('suspend', 'unsuspend')"; }
last_job_done() { # SERVER TYPE: its latest TYPE job succeeded
    [ "$(psql_ "select state from jobs where server_id = '$1' and type = '$2' order by created_at desc limit 1")" = succeeded ]
}
events() { psql_ "select count(*) from events where type = '$1'"; }
drafts_are() { [ "$(psql_ "select count(*) from invoices where state = 'draft'")" = "$1" ]; }
is_overdue() { [ "$(psql_ "select overdue_at is not null from invoices where id = '$1'")" = t ]; }

# ---- inventory, customers, servers ----
api POST /v1/admin/locations "$OP" '{"code":"fra1","name":"Frankfurt"}'
LOC=$(j .id)
slipwayctl node-file "$SW_T_DIR/n1.xml" 8 8192
api POST /v1/admin/nodes "$OP" "{\"name\":\"n1\",\"location_id\":\"$LOC\",\"engine_uri\":\"test://$SW_T_DIR/n1.xml\",\"kinds\":[\"hvm\"],\"cpus\":8,\"ram_mb\":8192,\"disk_gb\":200}"
NODE=$(j .id)
sw_t_daemon engine env SLIPWAY_NODE_ID="$NODE" SLIPWAY_HEARTBEAT_INTERVAL=1 slipway-engine
api POST /v1/admin/plans "$OP" '{"name":"hvm-1","kind":"hvm","vcpus":1,"ram_mb":512,"disk_gb":10,"price_hourly":{"amount":2,"currency":"EUR"},"price_monthly":{"amount":1000,"currency":"EUR"}}'
PLAN=$(j .id)
api POST /v1/admin/templates "$OP" '{"name":"Debian 12","kind":"hvm","os":"debian-12"}'
TPL=$(j .id)
for who in alice bob; do
    api POST /v1/admin/accounts "$OP" "{\"kind\":\"customer\",\"email\":\"$who@example.com\",\"name\":\"$who\",\"password\":\"$who-password\"}"
    eval "${who^^}_ID=\$(j .id)"
    api POST /v1/auth/login "" "{\"email\":\"$who@example.com\",\"password\":\"$who-password\"}"
    eval "${who^^}=\$(j .token)"
done
psql_ "update accounts set tax_rate_bp = 1900 where id = '$ALICE_ID'" >/dev/null
order() { # TOKEN HOST: sets SRV
    api POST /v1/orders "$1" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"$2\"}"
    SRV=$(j .server.id)
}
order "$ALICE" a1.example.com; A1=$SRV
order "$ALICE" a2.example.com; A2=$SRV
order "$BOB" b1.example.com; B1=$SRV
for s in "$A1" "$A2" "$B1"; do
    sw_t_check "server $s runs" sw_t_wait "$s running" 30 is_state "$s" running
done
api POST "/v1/servers/$A2/actions" "$ALICE" '{"type":"stop"}'
sw_t_check "alice stops a2" sw_t_wait "a2 stopped" 30 is_state "$A2" stopped
sw_t_eq "each server's billing started when it first ran" "3 3" \
    "$(psql_ "select count(*) || ' ' || count(distinct server_id) from server_periods where ended_at is null")"

# ---- last month's invoices ----
# The servers have run since 10 days before the start of this month (their
# periods moved back; the rest of their history is as it happened).
psql_ "update server_periods set started_at = date_trunc('month', now() at time zone 'UTC') at time zone 'UTC' - interval '10 days'" >/dev/null
PREV=$(psql_ "select to_char((now() at time zone 'UTC') - interval '1 month', 'YYYY-MM')")
sw_t_check "slipwayctl refuses a month that is not over" \
    bash -c "! slipwayctl invoice run --period $(psql_ "select to_char(now() at time zone 'UTC', 'YYYY-MM')") 2>/dev/null"
sw_t_eq "slipwayctl invoice run finalizes last month" "2 invoices finalized for $PREV" "$(slipwayctl invoice run)"
sw_t_eq "and again finalizes nothing" "0 invoices finalized for $PREV" "$(slipwayctl invoice run --period "$PREV")"
st "alice's invoices" 200 GET /v1/invoices "$ALICE"
sw_t_eq "one, open, numbered, for last month" "1 open $PREV false" "$(j '"\(.items | length) \(.items[0].state) \(.items[0].period) \(.items[0].number == null)"')"
INV=$(j '.items[0].id')
# 10 days x 24 h x 2 = 480 per server (under the 1000 cap): 960 + 19 % tax.
sw_t_eq "two server lines of 480, tax 19 % rounded once" "2 960 182 1142 EUR" \
    "$(j '"\(.items[0].lines | length) \(.items[0].subtotal.amount) \(.items[0].tax.amount) \(.items[0].total.amount) \(.items[0].currency)"')"
st "bob's invoices" 200 GET /v1/invoices "$BOB"
BINV=$(j '.items[0].id')
sw_t_eq "bob's holds his one server, no tax" "1 480" "$(j '"\(.items[0].lines | length) \(.items[0].total.amount)"')"
st "alice reads hers" 200 GET "/v1/invoices/$INV" "$ALICE"
st "alice cannot read bob's (404)" 404 GET "/v1/invoices/$BINV" "$ALICE"
st "the operator reads any" 200 GET "/v1/invoices/$BINV" "$OP"
st "the operator's list, by account" 200 GET "/v1/admin/invoices?account_id=$ALICE_ID" "$OP"
sw_t_eq "holds alice's only" "$INV" "$(j '[.items[].id] | join(",")')"
st "by state and period" 200 GET "/v1/admin/invoices?state=open&period=$PREV" "$OP"
sw_t_eq "both" 2 "$(j '.items | length')"
st "a malformed period is 400" 400 GET "/v1/admin/invoices?period=2024-13" "$OP"
st "a customer on the operator's list is 403" 403 GET /v1/admin/invoices "$ALICE"
sw_t_eq "invoice.finalized emitted per invoice" 2 "$(events invoice.finalized)"
sw_t_eq "the ledger has the receivables" "1622" "$(psql_ "select sum(debit) from ledger_entries where code = 'receivable'")"

# ---- dunning ----
sw_t_daemon billing env SLIPWAY_BILLING_INTERVAL=1 slipway-billing
sw_t_check "billing keeps a draft of this month" sw_t_wait "draft" 20 drafts_are 2
sw_t_eq "nothing is overdue before its time" "0 running stopped" \
    "$(events invoice.overdue) $(server_state "$A1") $(server_state "$A2")"
# Alice's invoice fell due 8 days ago (grace: 7 days).
psql_ "update invoices set due_at = now() - interval '8 days' where id = '$INV'" >/dev/null
sw_t_check "billing marks it overdue" sw_t_wait "overdue" 20 is_overdue "$INV"
sw_t_eq "invoice.overdue is emitted once" 1 "$(events invoice.overdue)"
sw_t_eq "alice's servers are suspended" "suspended suspended" "$(server_state "$A1") $(server_state "$A2")"
sw_t_eq "bob's is not" running "$(server_state "$B1")"
for s in "$A1" "$A2"; do
    sw_t_check "the suspend job of $s succeeds" sw_t_wait "suspend $s" 30 last_job_done "$s" suspend
done
sw_t_check "the engine suspended the domain" grep -q "type=suspend" "$SW_T_DIR/engine.log"
sw_t_eq "each hold says dunning and the state to return to" "$A1 running dunning,$A2 stopped dunning" \
    "$(psql_ "select string_agg(server_id || ' ' || prev_state || ' ' || reason, ',' order by prev_state) from suspension_holds")"
st "the invoice shows it" 200 GET "/v1/invoices/$INV" "$ALICE"
sw_t_eq "overdue" true "$(j .overdue)"
st "alice cannot start a suspended server" 409 POST "/v1/servers/$A1/actions" "$ALICE" '{"type":"start"}'
st "nor order a new one while the invoice is overdue" 422 POST /v1/orders "$ALICE" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"late.example.com\"}"
sw_t_eq "which starts nothing" 0 "$(psql_ "select count(*) from servers where hostname = 'late.example.com'")"

# ---- payments ----
pay() { echo "{\"invoice_id\":\"$1\",\"amount\":{\"amount\":$2,\"currency\":\"$3\"}}"; }
st "a payment in another currency is 422" 422 POST /v1/admin/payments "$OP" "$(pay "$INV" 100 USD)"
st "a payment of 0 is 400" 400 POST /v1/admin/payments "$OP" "$(pay "$INV" 0 EUR)"
st "a payment of an unknown invoice is 400" 400 POST /v1/admin/payments "$OP" "$(pay 00000000-0000-4000-8000-000000000000 5 EUR)"
st "an unknown field is 400" 400 POST /v1/admin/payments "$OP" "{\"invoice_id\":\"$INV\",\"amount\":{\"amount\":5,\"currency\":\"EUR\"},\"note\":1}"
DRAFT=$(psql_ "select id from invoices where state = 'draft' and account_id = '$ALICE_ID'")
st "a draft cannot be paid (422)" 422 POST /v1/admin/payments "$OP" "$(pay "$DRAFT" 5 EUR)"
st "a customer cannot record a payment" 403 POST /v1/admin/payments "$ALICE" "$(pay "$INV" 1142 EUR)"
sw_t_eq "refused payments left nothing" "0 0" "$(psql_ "select count(*) from payments") $(events payment.received)"

st "a partial payment" 201 POST /v1/admin/payments "$OP" "$(pay "$INV" 1000 EUR)"
sw_t_eq "leaves the invoice open with 142 to pay" "open 1000 142 true" "$(j '"\(.invoice.state) \(.invoice.paid.amount) \(.invoice.balance.amount) \(.invoice.overdue)"')"
sw_t_eq "and the servers suspended" "suspended suspended" "$(server_state "$A1") $(server_state "$A2")"
sw_t_api POST /v1/admin/payments "$OP" "$(pay "$INV" 200 EUR)"
sw_t_eq "the payment that settles it" 201 "$SW_STATUS"
sw_t_eq "pays the invoice, 58 left as credit" "paid 1142 0 58" \
    "$(j '"\(.invoice.state) \(.invoice.paid.amount) \(.invoice.balance.amount) \(.payment.unapplied.amount)"')"
sw_t_eq "and releases exactly the dunning holds" 0 "$(psql_ "select count(*) from suspension_holds")"
sw_t_eq "a1 goes back to running, a2 to stopped" "running stopped" "$(server_state "$A1") $(server_state "$A2")"
sw_t_check "a1's unsuspend job succeeds" sw_t_wait "unsuspend a1" 30 last_job_done "$A1" unsuspend
sw_t_eq "a2 needed no unsuspend job (it was stopped)" "suspend:succeeded" "$(jobs_of "$A2")"
sw_t_check "a1 runs" sw_t_wait "a1 running" 30 is_state "$A1" running
st "a1 takes actions again" 202 POST "/v1/servers/$A1/actions" "$ALICE" '{"type":"stop"}'
st "and alice may order again" 202 POST /v1/orders "$ALICE" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"paid.example.com\"}"
sw_t_eq "payment.received per payment" 2 "$(events payment.received)"
sw_t_eq "a payment's ledger: debit cash, credit receivable" "1200 1200" \
    "$(psql_ "select sum(debit) filter (where code = 'cash') || ' ' || sum(credit) filter (where code = 'receivable') from ledger_entries")"

# Idempotency: the same key, and the same hook reference, record one payment.
api POST /v1/admin/payments "$OP" "$(pay "$BINV" 100 EUR)"
n0=$(psql_ "select count(*) from payments")
k1=$(curl -s -H "Authorization: Bearer $OP" -H 'Idempotency-Key: pay-b-1' -H 'Content-Type: application/json' \
    --data-binary "$(pay "$BINV" 50 EUR)" "$SW_URL/v1/admin/payments" | jq -r .payment.id)
k2=$(curl -s -H "Authorization: Bearer $OP" -H 'Idempotency-Key: pay-b-1' -H 'Content-Type: application/json' \
    --data-binary "$(pay "$BINV" 50 EUR)" "$SW_URL/v1/admin/payments" | jq -r .payment.id)
sw_t_eq "a repeated Idempotency-Key records one payment" "$k1 1" "$k2 $(($(psql_ "select count(*) from payments") - n0))"
h1=$(psql_ "select sw_payment_apply('$BOB_ID', null, 30, 'EUR', 'hook', 'whk_1')")
h2=$(psql_ "select sw_payment_apply('$BOB_ID', null, 30, 'EUR', 'hook', 'whk_1')")
sw_t_eq "a repeated hook reference returns the first payment" "$h1" "$h2"
sw_t_eq "bob paid 180 of 480" "open 180" "$(psql_ "select state || ' ' || paid_amount from invoices where id = '$BINV'")"

# ---- an operator's suspension and dunning ----
# Bob's invoice goes overdue; then the operator suspends bob too. Paying
# the invoice must not unsuspend what the operator suspended.
psql_ "update invoices set due_at = now() - interval '8 days' where id = '$BINV'" >/dev/null
sw_t_check "bob's server is suspended by dunning" sw_t_wait "b1 suspended" 20 is_state "$B1" suspended
sw_t_check "its suspend job succeeds" sw_t_wait "suspend b1" 30 last_job_done "$B1" suspend
st "the operator suspends bob" 200 POST "/v1/admin/accounts/$BOB_ID/suspend" "$OP"
sw_t_eq "no second suspend job" "suspend:succeeded" "$(jobs_of "$B1")"
st "bob's invoice is paid in full" 201 POST /v1/admin/payments "$OP" "$(pay "$BINV" 300 EUR)"
sw_t_eq "paid" paid "$(j .invoice.state)"
sw_t_eq "b1 stays suspended: the hold passed to bob's suspension" "suspended account" \
    "$(server_state "$B1") $(psql_ "select string_agg(reason, ',') from suspension_holds where server_id = '$B1'")"
st "the operator unsuspends bob" 202 POST "/v1/admin/accounts/$BOB_ID/unsuspend" "$OP"
sw_t_check "and b1 runs again" sw_t_wait "b1 running" 30 is_state "$B1" running
sw_t_done
