#!/usr/bin/env bash
# The bearer-token cache never outlives a revocation: two panels share one
# database; a token revoked through one is refused by the other, a token of
# an account suspended by plain SQL is refused (triggers notify), and while
# a panel's listener is cut off its cache is bypassed.
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
sw_t_panel
A=$SW_URL
sw_t_daemon panel-b env SLIPWAY_LISTEN=127.0.0.1:0 SLIPWAY_ADDR_FILE="$SW_T_DIR/b.addr" slipway-panel
sw_t_wait "panel b" 20 test -s "$SW_T_DIR/b.addr" || exit 99
B=$(cat "$SW_T_DIR/b.addr")
j() { jq -r "$1" <<<"$SW_BODY"; }
at() { local url=$1; shift; SW_URL=$url sw_t_api "$@"; }
status_at() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $2" "$1/v1/servers"; }
refused_at() { [ "$(status_at "$1" "$2")" = 401 ]; }
# Wait until panel b's listener is up, so its cache is in use.
sw_t_wait "panel b listening" 20 grep -q authcache.listening "$SW_T_DIR/panel-b.log" || exit 99

at "$A" POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"k@example.com","name":"K","password":"k-password-1"}'
CUST=$(j .id)
at "$A" POST /v1/auth/login "" '{"email":"k@example.com","password":"k-password-1"}'
T1=$(j .token)
at "$A" POST /v1/account/tokens "$T1" '{"name":"one"}'
T2=$(j .token) T2_ID=$(j .id)
sw_t_eq "panel b accepts the token" 200 "$(status_at "$B" "$T2")"
sw_t_eq "and again, from its cache" 200 "$(status_at "$B" "$T2")"

at "$A" DELETE "/v1/account/tokens/$T2_ID" "$T1"
sw_t_eq "revoked through panel a" 204 "$SW_STATUS"
sw_t_eq "panel a refuses it on the next request" 401 "$(status_at "$A" "$T2")"
t0=$(date +%s%N)
sw_t_check "panel b refuses it within 1 s" sw_t_wait "b refuses" 1 refused_at "$B" "$T2"
echo "# panel b refused the revoked token after $((($(date +%s%N) - t0) / 1000000)) ms"

sw_t_eq "a fresh login token works on panel b" 200 "$(status_at "$B" "$T1")"
sw_t_psql -c "update accounts set state = 'suspended' where id = '$CUST'"
sw_t_check "an account suspended by plain SQL is refused by panel b within 1 s" \
    sw_t_wait "b refuses suspended" 1 refused_at "$B" "$T1"
sw_t_psql -c "update accounts set state = 'active' where id = '$CUST'"
sw_t_check "and accepted again once active" sw_t_wait "b accepts" 2 \
    bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $T1' $B/v1/servers) = 200 ]"

# Cut every listener off, then revoke by SQL while they reconnect: a lost
# notification must not leave the token usable.
sw_t_eq "panel b has the token cached" 200 "$(status_at "$B" "$T1")"
sw_t_psql -c "select pg_terminate_backend(pid) from pg_stat_activity where query = 'LISTEN sw_auth'" >/dev/null
sw_t_psql -c "update api_tokens set revoked_at = now() where token_hash is not null and account_id = '$CUST'"
sw_t_check "a token revoked while the listener was cut off is refused within 1 s" \
    sw_t_wait "b refuses after reconnect" 1 refused_at "$B" "$T1"
sw_t_check "the listener came back" sw_t_wait "relisten" 10 \
    test "$(grep -c authcache.listening "$SW_T_DIR/panel-b.log")" -ge 2
sw_t_done
