#!/usr/bin/env bash
# TOTP two-factor login (issue 16): enrolment (secret, otpauth:// URI, QR
# code as SVG; the secret stored wrapped), confirmation with a code (ten
# recovery codes, stored hashed), a login asking for the code, replayed and
# stale codes refused, recovery codes single-use, wrong codes counted
# toward the login limits, turning it off (a code or the password), and the
# operator's policy (SLIPWAY_2FA_ROLES=customer: a customer enrols first).
# Codes come from oathtool (RFC 6238), at times the test chooses.
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
export SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8 SLIPWAY_LOGIN_FAILURES_PER_ACCOUNT=6
SLIPWAY_BACKUP_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
export SLIPWAY_BACKUP_MASTER_KEY SLIPWAY_2FA_ROLES=customer
sw_t_panel
j() { jq -r "$1" <<<"$SW_BODY"; }
api() { sw_t_api "$@"; }
login() {
    local code=${3:+,\"code\":\"$3\"}
    api POST /v1/auth/login "" "{\"email\":\"$1\",\"password\":\"$2\"$code}"
}
# totp SECRET OFFSET: the code of the time step OFFSET seconds from T0.
totp() { oathtool --totp -b --now="@$((T0 + $2))" "$1"; }
# Starts at a time step with at least 20 s left, so the steps the test
# names (T0 - 30 .. T0 + 30) stay within the panel's window of one step.
fresh_step() {
    while [ $(( $(date +%s) % 30 )) -gt 9 ]; do sleep 1; done
    T0=$(date +%s)
}

api POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"a@example.com","name":"A","password":"a-password-1"}'
A=$(j .id)
api POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"b@example.com","name":"B","password":"b-password-1"}'
login a@example.com a-password-1; TA=$(j .token)
login b@example.com b-password-1; TB=$(j .token)

# ---- the policy: a customer without two-factor may only enrol ----
api GET /v1/servers "$TA"
sw_t_eq "a customer without two-factor is refused (403) under the policy" 403 "$SW_STATUS"
api GET /v1/account "$TA"
sw_t_eq "its own account says two-factor is required and off" "200 true false" \
    "$SW_STATUS $(j '.two_factor_required') $(j '.two_factor')"
api GET /v1/servers "$OP"
sw_t_eq "the operator's role is not in the policy" 200 "$SW_STATUS"

# ---- enrolment ----
api POST /v1/account/2fa "$TA"
sw_t_eq "enrolment: 201" 201 "$SW_STATUS"
SECRET=$(j .secret)
sw_t_check "the secret is 32 base32 letters (160 bits)" grep -Eq '^[A-Z2-7]{32}$' <<<"$SECRET"
sw_t_eq "the otpauth URI names the issuer, the account and the secret" \
    "otpauth://totp/slipway:a%40example.com?secret=$SECRET&issuer=slipway&algorithm=SHA1&digits=6&period=30" \
    "$(j .otpauth_uri)"
sw_t_check "the QR code is an SVG document with modules" \
    grep -q '^<svg xmlns="http://www.w3.org/2000/svg".*<path fill="#000" d="M4 4h1v1h-1z' <<<"$(j .qr_svg)"
stored=$(sw_t_psql -c "select totp_secret from accounts where id = '$A'")
sw_t_check "the secret is stored wrapped, not in the clear" \
    test -n "$stored" -a "${stored/$SECRET/}" = "$stored"
login a@example.com a-password-1
sw_t_eq "a pending enrolment does not yet ask for a code" 200 "$SW_STATUS"
curl -s -o "$SW_T_DIR/enrol.json" -X POST -H "Authorization: Bearer $TA" -H 'Idempotency-Key: enrol-1' \
    "$SW_URL/v1/account/2fa"
SECRET=$(jq -r .secret "$SW_T_DIR/enrol.json")
sw_t_eq "an enrolment with an Idempotency-Key keeps no secret (secret, URI, QR code null)" \
    "1 0 null null null" \
    "$(sw_t_psql -F ' ' -c "select count(*), count(*) filter (where response::text like '%$SECRET%'), max((response::json->'secret')::text), max((response::json->'otpauth_uri')::text), max((response::json->'qr_svg')::text) from idempotency_keys where key = 'enrol-1'")"

fresh_step
api POST /v1/account/2fa/confirm "$TA" "{\"code\":\"$(totp "$SECRET" -300)\"}"
sw_t_eq "confirming with a stale code: 422" 422 "$SW_STATUS"
api POST /v1/account/2fa/confirm "$TA" '{"code":"12345"}'
sw_t_eq "a code that is not 6 digits: refused (422)" 422 "$SW_STATUS"
api POST /v1/account/2fa/confirm "$TA" "{\"code\":\"$(totp "$SECRET" -30)\"}"
sw_t_eq "confirming with the last step's code: 200, on, ten recovery codes" "200 true 10 10" \
    "$SW_STATUS $(j .two_factor) $(j '.recovery_codes | length') $(j '.recovery_codes | unique | length')"
mapfile -t REC < <(j '.recovery_codes[]')
sw_t_eq "ten recovery codes stored, hashed" "10 0" \
    "$(sw_t_psql -F ' ' -c "select count(*), count(*) filter (where code_hash = '${REC[0]}') from account_recovery_codes where account_id = '$A'")"
api GET /v1/servers "$TA"
sw_t_eq "the same session may now do everything (the policy is met)" 200 "$SW_STATUS"
api POST /v1/account/2fa "$TA"
sw_t_eq "enrolling again while on: 409" 409 "$SW_STATUS"

# ---- login with the second factor ----
login a@example.com a-password-1
sw_t_eq "the right password alone: 401 two_factor_required, no token" "401 true null" \
    "$SW_STATUS $(j .two_factor_required) $(j .token)"
login a@example.com wrong-password "$(totp "$SECRET" 0)"
sw_t_eq "a wrong password with a code: 401 without two_factor_required" "401 null" \
    "$SW_STATUS $(j .two_factor_required)"
login a@example.com a-password-1 "$(totp "$SECRET" -30)"
sw_t_eq "the code the confirmation used, replayed: 401" 401 "$SW_STATUS"
login a@example.com a-password-1 "$(totp "$SECRET" -90)"
sw_t_eq "a stale code (three steps old): 401" 401 "$SW_STATUS"
login a@example.com a-password-1 "$(totp "$SECRET" 0)"
sw_t_eq "the current code: 200 with a token" "200 true" "$SW_STATUS $(j '.token | startswith("swt_")')"
login a@example.com a-password-1 "$(totp "$SECRET" 0)"
sw_t_eq "the same code again: 401" 401 "$SW_STATUS"
login a@example.com a-password-1 "${REC[0]}"
sw_t_eq "a recovery code: 200" 200 "$SW_STATUS"
login a@example.com a-password-1 "${REC[0]}"
sw_t_eq "the same recovery code again: 401" 401 "$SW_STATUS"
upper=$(tr -d - <<<"${REC[1]}" | tr a-z A-Z)
login a@example.com a-password-1 "$upper"
sw_t_eq "another, typed in capitals without the dash: 200" 200 "$SW_STATUS"
sw_t_eq "two recovery codes used" 2 \
    "$(sw_t_psql -c "select count(*) from account_recovery_codes where account_id = '$A' and used_at is not null")"

# ---- wrong codes count toward the login limits ----
# so far 5 failures on A (the wrong password, two replays, a stale code, a used recovery code)
login a@example.com a-password-1 000000
login a@example.com a-password-1 "$(totp "$SECRET" 30)"
sw_t_eq "past 6 failures even the right password and a fresh code wait (429)" 429 "$SW_STATUS"
sw_t_eq "the failures were audited" t \
    "$(sw_t_psql -c "select count(*) >= 6 from audit_log where action = 'POST /v1/auth/login' and status = 401")"

# ---- turning it off ----
fresh_step
api DELETE /v1/account/2fa "$TB" '{"password":"b-password-1"}'
sw_t_eq "B has none: under the policy it may not turn it off (403)" 403 "$SW_STATUS"
api POST /v1/account/2fa "$TB"; SB=$(j .secret)
api POST /v1/account/2fa/confirm "$TB" "{\"code\":\"$(totp "$SB" 0)\"}"
sw_t_eq "B enrols" "200 true" "$SW_STATUS $(j .two_factor)"
api DELETE /v1/account/2fa "$TB" '{}'
sw_t_eq "off with neither code nor password: 400" 400 "$SW_STATUS"
api DELETE /v1/account/2fa "$TB" "{\"code\":\"$(totp "$SB" 0)\"}"
sw_t_eq "off with the code already used: 422" 422 "$SW_STATUS"
api DELETE /v1/account/2fa "$TB" '{"password":"wrong-password"}'
sw_t_eq "off with a wrong password: 403" 403 "$SW_STATUS"
api DELETE /v1/account/2fa "$TB" "{\"code\":\"$(totp "$SB" 30)\"}"
sw_t_eq "off with a fresh code: 204" 204 "$SW_STATUS"
sw_t_eq "secret and recovery codes gone" "f  0" \
    "$(sw_t_psql -F ' ' -c "select totp_enabled, totp_secret, (select count(*) from account_recovery_codes where account_id = a.id) from accounts a where email = 'b@example.com'")"
login b@example.com b-password-1
sw_t_eq "B logs in with the password alone" 200 "$SW_STATUS"
api GET /v1/servers "$TB"
sw_t_eq "and the policy holds B back again" 403 "$SW_STATUS"
api DELETE /v1/account/2fa "$TA" '{"password":"a-password-1"}'
sw_t_eq "A turns it off with the password (its session still works)" 204 "$SW_STATUS"
sw_t_eq "the change is audited" 1 \
    "$(sw_t_psql -c "select count(*) from audit_log where action = 'DELETE /v1/account/2fa' and status = 204 and actor_id = '$A'")"
sw_t_done
