#!/usr/bin/env bash
# The behaviour of every write: strict JSON, Idempotency-Key (replay, 422 on
# another body, 409 while running, parallel retries make one order), the
# audit log, rate limits (orders, login failures), token scopes, revocation
# and expiry, server-action state rules, metrics, and password rehash.
. "$(dirname "$0")/../lib/harness.sh"
# A ctype whose lower() folds non-ASCII letters too, as a cluster made with
# a UTF-8 system locale does: login limits must fold case as it does.
export SW_PG_CTYPE=C.UTF-8
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
export SLIPWAY_ORDER_RATE=5 SLIPWAY_LOGIN_FAILURES_PER_ACCOUNT=3 SLIPWAY_PWHASH_OPSLIMIT=2
sw_t_panel
j() { jq -r "$1" <<<"$SW_BODY"; }
api() { sw_t_api "$@"; }
# idem KEY METHOD PATH TOKEN BODY: like api, with an Idempotency-Key; sets SW_HEADERS too.
idem() {
    local key=$1 method=$2 path=$3 token=$4 body=$5
    SW_STATUS=$(curl -s -D "$SW_T_DIR/.hdr" -o "$SW_T_DIR/.resp" -w '%{http_code}' -X "$method" \
        -H "Authorization: Bearer $token" -H "Idempotency-Key: $key" \
        -H 'Content-Type: application/json' --data-binary "$body" "$SW_URL$path")
    SW_BODY=$(cat "$SW_T_DIR/.resp")
    SW_HEADERS=$(cat "$SW_T_DIR/.hdr")
}

api POST /v1/admin/locations "$OP" '{"code":"l1","name":"L1"}'
LOC=$(j .id)
api POST /v1/admin/plans "$OP" '{"name":"p1","kind":"hvm","vcpus":1,"ram_mb":512,"disk_gb":10,"price_hourly":{"amount":1,"currency":"EUR"},"price_monthly":{"amount":300,"currency":"EUR"}}'
PLAN=$(j .id)
api POST /v1/admin/templates "$OP" '{"name":"d12","kind":"hvm","os":"debian-12"}'
TPL=$(j .id)
api POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"c@example.com","name":"C","password":"c-password-1"}'
CUST=$(j .id)
api POST /v1/auth/login "" '{"email":"c@example.com","password":"c-password-1"}'
TOK=$(j .token)
ORDER="{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"a.example.com\"}"
count_servers() { sw_t_psql -c "select count(*) from servers where owner_id = '$CUST'"; }

# ---- strict JSON ----
api POST /v1/orders "$TOK" "{\"plan_id\":\"$PLAN\",\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"a\"}"
sw_t_eq "duplicate keys are 400" 400 "$SW_STATUS"
deep=$(printf '[%.0s' $(seq 1 40))
api POST /v1/orders "$TOK" "{\"plan_id\":$deep}"
sw_t_eq "nesting deeper than 32 is 400" 400 "$SW_STATUS"
sw_t_check "and says so" grep -q "deeper than 32" <<<"$(j .error.message)"
api POST /v1/orders "$TOK" "{\"plan_id\":5,\"template_id\":\"$TPL\",\"hostname\":\"a\"}"
sw_t_eq "a wrong type is 400 naming the field" 'field "plan_id" must be a string' "$(j .error.message)"
head -c $((1024 * 1024 + 10)) /dev/zero | tr '\0' 'a' >"$SW_T_DIR/big"
st=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK" --data-binary @"$SW_T_DIR/big" "$SW_URL/v1/orders")
sw_t_eq "a body over 1 MiB is 413" 413 "$st"
name=$(printf 'a%.0s' $(seq 1 64))
api POST /v1/orders "$TOK" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"$name.example\"}"
sw_t_eq "a 64-character label is not a host name (400)" 400 "$SW_STATUS"
sw_t_eq "nothing was created by bad input" 0 "$(count_servers)"

# ---- Idempotency-Key ----
idem k1 POST /v1/orders "$TOK" "$ORDER"
sw_t_eq "first request with a key: 202" 202 "$SW_STATUS"
first=$SW_BODY
idem k1 POST /v1/orders "$TOK" "$ORDER"
sw_t_eq "same key, same body: the same answer" "$first" "$SW_BODY"
sw_t_eq "with the same status" 202 "$SW_STATUS"
sw_t_check "marked as a replay" grep -qi "^Idempotent-Replayed: true" <<<"$SW_HEADERS"
sw_t_eq "and still one server" 1 "$(count_servers)"
idem k1 POST /v1/orders "$TOK" "${ORDER/a.example.com/b.example.com}"
sw_t_eq "same key, another body: 422" 422 "$SW_STATUS"
# A body may hold a password: its row keeps a hash keyed with the server
# secret, not the plain SHA-256 anyone with the row could test guesses on.
hash=$(printf 'POST /v1/orders\n%s' "$ORDER" | sha256sum | cut -d' ' -f1)
sw_t_eq "the key's row keeps a keyed hash of the body, not its SHA-256" "64 false" \
    "$(sw_t_psql -c "select length(body_hash) || ' ' || (body_hash = '$hash') from idempotency_keys where key = 'k1' and account_id = '$CUST'")"
# A first request still in flight, from before hashes were keyed: its row
# is 'running' with this body's plain SHA-256, and still matches.
sw_t_psql -c "insert into idempotency_keys (account_id, key, method, path, body_hash, state) values ('$CUST', 'k-running', 'POST', '/v1/orders', '$hash', 'running')"
idem k-running POST /v1/orders "$TOK" "$ORDER"
sw_t_eq "a retry while the first is running: 409" 409 "$SW_STATUS"
idem "bad key" POST /v1/orders "$TOK" "$ORDER"
sw_t_eq "a key with a space is 400" 400 "$SW_STATUS"
idem k-bad POST /v1/orders "$TOK" '{"plan_id": 1}'
sw_t_eq "a failed request under a key: 400" 400 "$SW_STATUS"
idem k-bad POST /v1/orders "$TOK" '{"plan_id": 1}'
sw_t_eq "its retry gets the same 400 from the record" "400 true" \
    "$SW_STATUS $(grep -qi '^Idempotent-Replayed: true' <<<"$SW_HEADERS" && echo true)"
# Keys are per account: another customer may use k1.
api POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"d@example.com","name":"D","password":"d-password-1"}'
api POST /v1/auth/login "" '{"email":"d@example.com","password":"d-password-1"}'
TOKD=$(j .token)
idem k1 POST /v1/orders "$TOKD" "$ORDER"
sw_t_eq "another account's same key is its own: 202" 202 "$SW_STATUS"
# Parallel retries of one request: exactly one order.
before=$(count_servers)
curls=()
for i in $(seq 1 20); do
    curl -s -o "$SW_T_DIR/par.$i" -w '%{http_code}\n' -X POST -H "Authorization: Bearer $TOK" \
        -H "Idempotency-Key: k-parallel" -H 'Content-Type: application/json' \
        --data-binary "${ORDER/a.example.com/p.example.com}" "$SW_URL/v1/orders" >"$SW_T_DIR/par.st.$i" &
    curls+=($!)
done
wait "${curls[@]}" # not a bare wait: the daemons are children of this shell too
codes=$(cat "$SW_T_DIR"/par.st.* | sort | uniq -c | awk '{print $2 "x" $1}' | tr '\n' ' ')
sw_t_eq "20 parallel requests under one key create one server ($codes)" $((before + 1)) "$(count_servers)"
sw_t_check "each answered 202 (first or replay) or 409 (first still running)" \
    test -z "$(cat "$SW_T_DIR"/par.st.* | grep -vE '^(202|409)$')"
ids=$(cat "$SW_T_DIR"/par.[0-9]* | jq -r '.order.id // empty' | sort -u | wc -l)
sw_t_eq "every 202 names the same order" 1 "$ids"

# A row claimed by a backend that still lives (the checkpointer stands in
# for a panel's connection mid-request): a retry is still 409.
sw_t_psql -c "insert into idempotency_keys (account_id, key, method, path, body_hash, state, owner_pid, owner_started)
    select '$CUST', 'k-live', 'POST', '/v1/orders', body_hash, 'running', a.pid, a.backend_start
    from idempotency_keys, pg_stat_activity a where key = 'k1' and account_id = '$CUST' and a.backend_type = 'checkpointer'"
idem k-live POST /v1/orders "$TOK" "$ORDER"
sw_t_eq "a retry while its first request's connection lives: 409" 409 "$SW_STATUS"
# A first request whose panel is killed mid-request (its order's insert
# held up by a table lock): a retry to the panel started after it is
# answered as soon as the dead panel's database connection is gone, not
# after the 10 minutes a running key used to be kept (the soak's kill -9).
DEAD=${ORDER/a.example.com/dead.example.com}
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
srv_named() { sw_t_psql -c "select count(*) from servers where hostname = '$1'"; }
sw_t_psql -c "begin; lock table servers in exclusive mode; select pg_sleep(3); commit" >/dev/null &
locker=$!
sleep 0.3
curl -s -o /dev/null --max-time 20 -X POST -H "Authorization: Bearer $TOK" -H "Idempotency-Key: k-dead" \
    -H 'Content-Type: application/json' --data-binary "$DEAD" "$SW_URL/v1/orders" &
held=$!
key_running() { [ "$(sw_t_psql -c "select state from idempotency_keys where key = 'k-dead'")" = running ]; }
sw_t_check "the first request holds its key, running" sw_t_wait "k-dead running" 10 key_running
kill -9 "$SW_T_PID_panel"
wait "$SW_T_PID_panel" "$held" 2>/dev/null
sw_t_panel
wait "$locker"
t0=$(date +%s.%N) codes=
for _ in $(seq 100); do
    idem k-dead POST /v1/orders "$TOK" "$DEAD"
    codes+="$SW_STATUS "
    [ "$SW_STATUS" = 409 ] || break
    sleep 0.2
done
sw_t_eq "a retry after the panel died is answered, not held for 10 minutes ($(since "$t0") s: $(tr ' ' '\n' <<<"$codes" | sed '/^$/d' | sort | uniq -c | awk '{printf "%sx%s ", $2, $1}'))" \
    "202 1 done" "$SW_STATUS $(srv_named dead.example.com) $(sw_t_psql -c "select state from idempotency_keys where key = 'k-dead'")"
idem k-dead POST /v1/orders "$TOK" "$DEAD"
sw_t_eq "and its retries replay that answer: still one server" "202 1" "$SW_STATUS $(srv_named dead.example.com)"

# ---- audit ----
audit_rows() { sw_t_psql -c "select count(*) from audit_log where $1"; }
sw_t_check "the order is in the audit log with actor, token and address" test "$(audit_rows \
    "action = 'POST /v1/orders' and actor_id = '$CUST' and token_id is not null and remote = '127.0.0.1' and status = 202 and result = 'ok'")" -ge 1
sw_t_check "refused writes are audited with their error code" test "$(audit_rows \
    "action = 'POST /v1/orders' and status = 422 and result = 'unprocessable'")" -ge 1
sw_t_check "logins are audited" test "$(audit_rows "action = 'POST /v1/auth/login'")" -ge 2
sw_t_eq "reads are not audited" 0 "$(audit_rows "action like 'GET %'")"

# ---- order rate limit (5 a minute here), on a customer with no orders yet ----
api POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"e@example.com","name":"E","password":"e-password-1"}'
api POST /v1/auth/login "" '{"email":"e@example.com","password":"e-password-1"}'
TOKE=$(j .token)
# The limiter counts fixed minutes: near the end of one, start in the next,
# so the window cannot roll over in the middle of these seven orders.
[ $(($(date +%s) % 60)) -lt 50 ] || sleep $((60 - $(date +%s) % 60)).1
n_ok=0 n_429=0
for i in 1 2 3 4 5 6 7; do
    api POST /v1/orders "$TOKE" "${ORDER/a.example.com/r$i.example.com}"
    case $SW_STATUS in 202) n_ok=$((n_ok + 1)) ;; 429) n_429=$((n_429 + 1)) ;; esac
done
sw_t_eq "orders past the per-minute limit are 429" "5 2" "$n_ok $n_429"
sw_t_eq "with code rate_limited" rate_limited "$(j .error.code)"
sw_t_eq "and nothing provisioned for them" 0 \
    "$(sw_t_psql -c "select count(*) from servers where hostname in ('r6.example.com', 'r7.example.com')")"

# ---- login failures (3 per account here) ----
for i in 1 2 3; do api POST /v1/auth/login "" '{"email":"d@example.com","password":"wrong"}'; done
sw_t_eq "three wrong passwords are 401" 401 "$SW_STATUS"
api POST /v1/auth/login "" '{"email":"D@example.com","password":"d-password-1"}'
sw_t_eq "then even the right one is 429 for that account" 429 "$SW_STATUS"
api POST /v1/auth/login "" '{"email":"c@example.com","password":"c-password-1"}'
sw_t_eq "another account still logs in" 200 "$SW_STATUS"

# ---- login failures per account fold case as lower() does, non-ASCII too ----
sw_t_eq "lower() folds non-ASCII case in this database" "élodie@example.com ñoño@example.com" \
    "$(sw_t_psql -c "select lower('ÉLODIE@Example.COM') || ' ' || lower('ÑOÑO@EXAMPLE.COM')")"
# The counters count fixed 15-minute windows: keep these tries in one.
[ $(($(date +%s) % 900)) -lt 880 ] || sleep $((900 - $(date +%s) % 900)).1
api POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"élodie@example.com","name":"É","password":"e-password-2"}'
api POST /v1/auth/login "" '{"email":"ÉLODIE@example.com","password":"e-password-2"}'
sw_t_eq "an account logs in under a non-ASCII case variant of its email" 200 "$SW_STATUS"
wrong_logins() {
    local e
    for e in "$@"; do api POST /v1/auth/login "" "{\"email\":\"$e\",\"password\":\"wrong\"}"; done
}
wrong_logins ÉLODIE@example.com Élodie@Example.com élodiE@EXAMPLE.com
sw_t_eq "three wrong passwords under three spellings are 401" 401 "$SW_STATUS"
api POST /v1/auth/login "" '{"email":"élodie@example.com","password":"e-password-2"}'
sw_t_eq "then the right one is 429 under a fourth: the spellings share one counter" 429 "$SW_STATUS"
wrong_logins ÑOÑO@example.com Ñoño@Example.com ñoñO@EXAMPLE.com
api POST /v1/auth/login "" '{"email":"ñoño@example.com","password":"wrong"}'
sw_t_eq "an unknown address's spellings share one counter too, as a known one's" 429 "$SW_STATUS"

# ---- tokens ----
api POST /v1/account/tokens "$TOK" '{"name":"ro","scopes":["read"]}'
sw_t_eq "a read-only token is created: 201" 201 "$SW_STATUS"
RO=$(j .token)
RO_ID=$(j .id)
api GET /v1/servers "$RO"
sw_t_eq "it reads" 200 "$SW_STATUS"
api POST /v1/orders "$RO" "$ORDER"
sw_t_eq "it cannot write (403)" 403 "$SW_STATUS"
api GET /v1/account/tokens "$TOK"
sw_t_check "the token list names it without its secret" \
    test "$(j "[.items[] | select(.id == \"$RO_ID\")] | length")-$(grep -c swt_ <<<"$SW_BODY")" = "1-0"
api DELETE "/v1/account/tokens/$RO_ID" "$TOK"
sw_t_eq "revoking it: 204" 204 "$SW_STATUS"
api GET /v1/servers "$RO"
sw_t_eq "a revoked token is 401" 401 "$SW_STATUS"
api DELETE "/v1/account/tokens/$RO_ID" "$TOKD"
sw_t_eq "another account cannot see the token (404)" 404 "$SW_STATUS"
api POST /v1/account/tokens "$TOK" '{"name":"short","ttl_s":1}'
SHORT=$(j .token)
sleep 1.5
api GET /v1/servers "$SHORT"
sw_t_eq "an expired token is 401" 401 "$SW_STATUS"
sw_t_check "tokens are stored only as hashes" \
    test "$(sw_t_psql -c "select count(*) from api_tokens where token_hash like 'swt_%'")" = 0

# ---- server actions and states ----
SRV=$(jq -r .server.id <<<"$first")
set_state() { sw_t_psql -c "update servers set state = '$2' where id = '$1'"; }
set_state "$SRV" running
api POST "/v1/servers/$SRV/actions" "$TOK" '{"type":"stop"}'
sw_t_eq "stop queues a job: 202" "202 stop" "$SW_STATUS $(j .job.type)"
api POST "/v1/servers/$SRV/actions" "$TOK" '{"type":"start"}'
sw_t_eq "start right after queues behind it: 202" 202 "$SW_STATUS"
api POST "/v1/servers/$SRV/actions" "$TOK" '{"type":"resize"}'
sw_t_eq "resize without plan_id is 400" 400 "$SW_STATUS"
api POST "/v1/servers/$SRV/actions" "$TOK" "{\"type\":\"resize\",\"plan_id\":\"$PLAN\"}"
sw_t_eq "resize with a plan queues a job with it" "202 $PLAN" "$SW_STATUS $(sw_t_psql -c "select params->>'plan_id' from jobs where id = '$(j .job.id)'")"
api POST "/v1/servers/$SRV/actions" "$TOK" '{"type":"explode"}'
sw_t_eq "an unknown action is 400" 400 "$SW_STATUS"
idem pw-1 POST "/v1/servers/$SRV/actions" "$TOK" '{"type":"reset_password"}'
PW=$(j .password) PWJOB=$(j .job.id)
sw_t_check "reset_password answers a new 20-character password once" \
    test "$SW_STATUS ${#PW}" = "202 20"
PWHASH=$(sw_t_psql -c "select params->>'password_hash' from jobs where id = '$PWJOB'")
sw_t_check "only its SHA-512 crypt hash is kept, and it matches the password" \
    python3 -W ignore -c 'import crypt,sys; sys.exit(0 if sys.argv[1].startswith("$6$") and crypt.crypt(sys.argv[2], sys.argv[1]) == sys.argv[1] else 1)' "$PWHASH" "$PW"
sw_t_check "the password is in no table" \
    test "$(sw_t_psql -c "select count(*) from jobs where params::text like '%$PW%'") $(sw_t_psql -c "select count(*) from idempotency_keys where response like '%$PW%'") $(sw_t_psql -c "select count(*) from audit_log where audit_log::text like '%$PW%'")" = "0 0 0"
idem pw-1 POST "/v1/servers/$SRV/actions" "$TOK" '{"type":"reset_password"}'
sw_t_eq "a replay of the same key answers the same job with the password null" \
    "202 $PWJOB null" "$SW_STATUS $(j .job.id) $(j .password)"
api POST "/v1/servers/$SRV/actions" "$TOK" '{"type":"reset_password","plan_id":"'"$PLAN"'"}'
sw_t_eq "reset_password takes no plan_id (400)" 400 "$SW_STATUS"
set_state "$SRV" suspended
api POST "/v1/servers/$SRV/actions" "$TOK" '{"type":"start"}'
sw_t_eq "a suspended server cannot be started by its customer (409)" 409 "$SW_STATUS"
set_state "$SRV" terminated
api POST "/v1/servers/$SRV/actions" "$TOK" '{"type":"reboot"}'
sw_t_eq "a terminated server accepts nothing (409)" 409 "$SW_STATUS"
api POST "/v1/servers/$SRV/actions" "$TOKD" '{"type":"reboot"}'
sw_t_eq "another customer's server is 404" 404 "$SW_STATUS"
sw_t_eq "jobs of one server are queued in order" "stop start resize reset_password" \
    "$(sw_t_psql -c "select string_agg(type, ' ' order by created_at) from jobs where server_id = '$SRV' and type <> 'create'")"

# ---- metrics ----
m=$(curl -s "$SW_URL/metrics")
sw_t_check "metrics count requests by route and status" \
    grep -q 'slipway_http_requests_total{method="POST",route="/v1/orders",status="202"}' <<<"$m"
sw_t_check "metrics have a latency histogram" \
    grep -q 'slipway_http_request_seconds_bucket{method="GET",route="/v1/servers",le="+Inf"}' <<<"$m"
sw_t_check "metrics have jobs by state" grep -q 'slipway_jobs{state="queued"}' <<<"$m"
sw_t_check "metrics have orders" grep -q 'slipway_orders{state="accepted"}' <<<"$m"

# ---- rehash on login when the cost changes ----
sw_t_check "the stored hash has the cost it was made with" \
    grep -q 't=2' <<<"$(sw_t_psql -c "select password_hash from accounts where id = '$CUST'")"
kill "$SW_T_PID_panel"
wait "$SW_T_PID_panel" 2>/dev/null
SLIPWAY_PWHASH_OPSLIMIT=3 sw_t_panel
api POST /v1/auth/login "" '{"email":"c@example.com","password":"c-password-1"}'
sw_t_eq "login after the cost changed works" 200 "$SW_STATUS"
sw_t_check "and rehashes the password at the new cost" \
    grep -q 't=3' <<<"$(sw_t_psql -c "select password_hash from accounts where id = '$CUST'")"
sw_t_done
