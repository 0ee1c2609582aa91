#!/usr/bin/env bash
# The caller's own side (issue 16): PATCH /v1/account (name; a new password
# only with the current one, which then ends the other sessions and
# tokens), login sessions listed and ended, the jobs of one's servers
# (GET /v1/jobs?server_id=, scoped, paged, with progress), and
# GET /v1/openapi.json (no token; the committed document).
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
export SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8 SLIPWAY_LOGIN_FAILURES_PER_ACCOUNT=3
sw_t_panel
j() { jq -r "$1" <<<"$SW_BODY"; }
api() { sw_t_api "$@"; }
login() { api POST /v1/auth/login "" "{\"email\":\"$1\",\"password\":\"$2\"}"; }

api POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"a@example.com","name":"A","password":"a-password-1"}'
A=$(j .id)
api POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"b@example.com","name":"B","password":"b-password-1"}'
login a@example.com a-password-1; T1=$(j .token); S1=$(j .token_id)
login a@example.com a-password-1; T2=$(j .token); S2=$(j .token_id)
login b@example.com b-password-1; TB=$(j .token); SB=$(j .token_id)
api POST /v1/account/tokens "$T1" '{"name":"ci"}'; API_T=$(j .token); API_ID=$(j .id)

# ---- GET /v1/openapi.json ----
st=$(curl -s -o "$SW_T_DIR/served.json" -w '%{http_code} %{content_type}' "$SW_URL/v1/openapi.json")
sw_t_eq "the OpenAPI document needs no token" "200 application/json" "$st"
sw_t_check "it is the committed panel/openapi.json, byte for byte" \
    cmp -s "$SW_T_DIR/served.json" "$SW_SRCDIR/panel/openapi.json"
missing=$(slipway-panel --routes | jq -r --slurpfile d "$SW_T_DIR/served.json" '
    ($d[0].paths | to_entries | map(.key as $p | .value | keys[] | "\(ascii_upcase) \($p | gsub("\\{[^}]*\\}"; "{}"))")) as $ops
    | .[] | "\(.method) \(.pattern | gsub("\\{[^}]*\\}"; "{}"))" | select(. as $k | $ops | index($k) | not)')
sw_t_eq "every route of the table is in the served document" "" "$missing"

# ---- sessions ----
api GET /v1/account/sessions "$T1"
sw_t_eq "the sessions list: both logins, the asking one current, no API token" \
    "2 $S1 false" "$(j "[.items | length, (.[] | select(.current) | .id), any(.[]; .id == \"$API_ID\")] | join(\" \")")"
sw_t_check "no secret in it" test "$(grep -c swt_ <<<"$SW_BODY")" = 0
api GET /v1/account/tokens "$T1"
sw_t_eq "the tokens list: the API token only, no session" "1 $API_ID" "$(j '[.items | length, .[0].id] | join(" ")')"
api DELETE "/v1/account/sessions/$SB" "$T1"
sw_t_eq "another account's session is 404" 404 "$SW_STATUS"
api DELETE "/v1/account/sessions/$API_ID" "$T1"
sw_t_eq "an API token is no session (404)" 404 "$SW_STATUS"
api DELETE "/v1/account/sessions/$S2" "$T1"
sw_t_eq "ending one's other session: 204" 204 "$SW_STATUS"
api GET /v1/account "$T2"
sw_t_eq "its token no longer works" 401 "$SW_STATUS"
api GET /v1/account "$TB"
sw_t_eq "the other account's session still works" 200 "$SW_STATUS"
sw_t_eq "the end is audited" 1 \
    "$(sw_t_psql -c "select count(*) from audit_log where action = 'DELETE /v1/account/sessions/{id}' and object_id = '$S2' and status = 204 and actor_id = '$A'")"

# ---- PATCH /v1/account ----
api PATCH /v1/account "$T1" '{"name":"Alice"}'
sw_t_eq "a new name: 200 with the account" "200 Alice" "$SW_STATUS $(j .name)"
api PATCH /v1/account "$T1" '{"name":"A","email":"x@example.com"}'
sw_t_eq "an unknown field (email) is 400" 400 "$SW_STATUS"
api PATCH /v1/account "$T1" '{}'
sw_t_eq "nothing to change is 400" 400 "$SW_STATUS"
api PATCH /v1/account "$T1" '{"password":"new-password-2"}'
sw_t_eq "a new password without the current one is 400" 400 "$SW_STATUS"
api PATCH /v1/account "$T1" '{"password":"short","current_password":"a-password-1"}'
sw_t_eq "a new password under 8 bytes is 400" 400 "$SW_STATUS"
api PATCH /v1/account "$T1" '{"password":"new-password-2","current_password":"wrong-one"}'
sw_t_eq "a wrong current password is 403" 403 "$SW_STATUS"
login a@example.com a-password-1; T3=$(j .token)
api PATCH /v1/account "$T1" '{"name":"A","password":"new-password-2","current_password":"a-password-1"}'
sw_t_eq "the right one: 200" "200 A" "$SW_STATUS $(j .name)"
sw_t_check "the hash stored is argon2id" \
    grep -q '^\$argon2id\$' <<<"$(sw_t_psql -c "select password_hash from accounts where id = '$A'")"
login a@example.com a-password-1
sw_t_eq "the old password logs in no more" 401 "$SW_STATUS"
login a@example.com new-password-2
sw_t_eq "the new one does" 200 "$SW_STATUS"
api GET /v1/account "$T1"
sw_t_eq "the session that changed it goes on" 200 "$SW_STATUS"
api GET /v1/account "$T3"
sw_t_eq "another session of the account is ended" 401 "$SW_STATUS"
api GET /v1/account "$API_T"
sw_t_eq "so is its API token" 401 "$SW_STATUS"
for _ in 1 2 3; do api PATCH /v1/account "$T1" '{"password":"x-password-3","current_password":"guess-guess"}'; done
api PATCH /v1/account "$T1" '{"password":"x-password-3","current_password":"new-password-2"}'
sw_t_eq "past 3 wrong current passwords the right one waits (429)" 429 "$SW_STATUS"
api PATCH /v1/account "$TB" '{"name":"Bob"}'
api GET /v1/account "$T1"
sw_t_eq "B's rename left A's account alone" A "$(j .name)"

# ---- GET /v1/jobs ----
api POST /v1/admin/locations "$OP" '{"code":"l1","name":"L1"}'; LOC=$(j .id)
api POST /v1/admin/plans "$OP" '{"name":"p1","kind":"hvm","vcpus":1,"ram_mb":512,"disk_gb":10,"price_hourly":{"amount":1,"currency":"EUR"},"price_monthly":{"amount":300,"currency":"EUR"}}'; PLAN=$(j .id)
api POST /v1/admin/templates "$OP" '{"name":"d12","kind":"hvm","os":"debian-12"}'; TPL=$(j .id)
order() { api POST /v1/orders "$1" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"$2.example.com\",\"location_id\":\"$LOC\"}"; }
order "$T1" a1; SA1=$(j .server.id); JA1=$(j .job.id)
order "$T1" a2; SA2=$(j .server.id)
order "$TB" b1; SB1=$(j .server.id); JB1=$(j .job.id)
sw_t_psql -c "update servers set state = 'running' where id = '$SA1'"
api POST "/v1/servers/$SA1/actions" "$T1" '{"type":"reboot"}'; JA1b=$(j .job.id)
sw_t_psql -c "update jobs set state = 'running', progress = 40 where id = '$JA1b'"
api GET "/v1/jobs?server_id=$SA1" "$T1"
sw_t_eq "one server's jobs, oldest first, with progress" "$JA1 $JA1b 0 40" \
    "$(j '[.items[].id, (.items[].progress | tostring)] | join(" ")')"
api GET /v1/jobs "$T1"
sw_t_eq "all the caller's jobs, none of B's" "3 false" \
    "$(j "[(.items | length), any(.items[]; .id == \"$JB1\")] | join(\" \")")"
api GET "/v1/jobs?limit=2" "$T1"
c=$(j .next_cursor)
api GET "/v1/jobs?limit=2&cursor=$c" "$T1"
sw_t_eq "the second page holds the third job" "1 null" "$(j '[(.items | length), .next_cursor] | map(tostring) | join(" ")')"
api GET "/v1/jobs?server_id=$SB1" "$T1"
other=$SW_BODY
api GET "/v1/jobs?server_id=$(cat /proc/sys/kernel/random/uuid)" "$T1"
sw_t_eq "another tenant's server lists nothing, as one that does not exist" "200 $SW_BODY" "$SW_STATUS $other"
api GET "/v1/jobs?server_id=nope" "$T1"
sw_t_eq "a server_id that is no UUID is 400" 400 "$SW_STATUS"
api GET "/v1/jobs?server_id=$SB1" "$OP"
sw_t_eq "the operator sees B's" "$JB1" "$(j '.items[0].id')"
api GET /v1/jobs ""
sw_t_eq "without a token: 401" 401 "$SW_STATUS"
sw_t_done
