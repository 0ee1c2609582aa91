#!/usr/bin/env bash
# A forgotten password (issue 16): POST /v1/auth/password-reset answers 202
# alike (same body, about the same time) for a known and an unknown email
# and mails a link only to the known one, through a real SMTP sink
# (Debian's python3-aiosmtpd, its Mailbox handler writing a maildir); the
# token is stored as a keyed hash; POST /v1/auth/password-reset/confirm
# sets the password once, ends every session and token; a used, wrong or
# expired link is 422.
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
MAIL=$SW_T_DIR/mail
sw_t_daemon smtp /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$PORT" -c aiosmtpd.handlers.Mailbox "$MAIL"
sw_t_wait "the smtp sink" 20 bash -c "echo >/dev/tcp/127.0.0.1/$PORT" || exit 99
export SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8
export SLIPWAY_SMTP_URL=smtp://127.0.0.1:$PORT SLIPWAY_SMTP_FROM=panel@example.com \
    SLIPWAY_PUBLIC_URL=https://panel.example.com/
sw_t_panel
j() { jq -r "$1" <<<"$SW_BODY"; }
api() { sw_t_api "$@"; }
login() { api POST /v1/auth/login "" "{\"email\":\"$1\",\"password\":\"$2\"}"; }
reset() { api POST /v1/auth/password-reset "" "{\"email\":\"$1\"}"; }
mails() { find "$MAIL/new" -type f 2>/dev/null | wc -l; }
has_mails() { [ "$(mails)" -ge "$1" ]; }
# the link of the newest mail
link() { grep -ho 'https://[^ ]*token=[A-Za-z0-9_-]*' "$(ls -t "$MAIL"/new/* | head -1)" | tr -d '\r'; }

api POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"a@example.com","name":"A","password":"a-password-1"}'
A=$(j .id)
login a@example.com a-password-1; T1=$(j .token)
api POST /v1/account/tokens "$T1" '{"name":"ci"}'; TAPI=$(j .token)

reset A@Example.com
known="$SW_STATUS $SW_BODY"
reset nobody@example.com
sw_t_eq "an unknown email is answered exactly as a known one" "$known" "$SW_STATUS $SW_BODY"
sw_t_eq "both 202" 202 "${known%% *}"
sw_t_wait "the mail" 20 has_mails 1 || exit 1
sleep 1
sw_t_eq "one mail: none for the unknown email" 1 "$(mails)"
msg=$(cat "$MAIL"/new/*)
sw_t_check "to the account's address as stored (not as typed)" grep -q '^To: <a@example.com>' <<<"$msg"
sw_t_check "from SLIPWAY_SMTP_FROM" grep -q '^From: <panel@example.com>' <<<"$msg"
L1=$(link); TOK1=${L1##*token=}
sw_t_check "a link under SLIPWAY_PUBLIC_URL" grep -q '^https://panel.example.com/reset-password?token=swt_' <<<"$L1"
sw_t_eq "stored as a hash, expiring in 30 minutes" "1 0 t" \
    "$(sw_t_psql -F ' ' -c "select count(*), count(*) filter (where token_hash like '%$TOK1%'), bool_and(expires_at between now() + interval '29 min' and now() + interval '30 min') from password_resets where account_id = '$A'")"

api POST /v1/auth/password-reset/confirm "" '{"token":"swt_nope","password":"new-password-2"}'
sw_t_eq "a wrong token: 422" 422 "$SW_STATUS"
api POST /v1/auth/password-reset/confirm "" "{\"token\":\"$TOK1\",\"password\":\"short\"}"
sw_t_eq "a password under 8 bytes: 400" 400 "$SW_STATUS"
api POST /v1/auth/password-reset/confirm "" "{\"token\":\"$TOK1\",\"password\":\"new-password-2\"}"
sw_t_eq "the link's token and a new password: 204" 204 "$SW_STATUS"
api GET /v1/account "$T1"
sw_t_eq "the session is ended" 401 "$SW_STATUS"
api GET /v1/account "$TAPI"
sw_t_eq "so is the API token" 401 "$SW_STATUS"
login a@example.com a-password-1
sw_t_eq "the old password logs in no more" 401 "$SW_STATUS"
login a@example.com new-password-2
sw_t_eq "the new one does" 200 "$SW_STATUS"
api POST /v1/auth/password-reset/confirm "" "{\"token\":\"$TOK1\",\"password\":\"other-password-3\"}"
sw_t_eq "the link works once (422 after)" 422 "$SW_STATUS"

reset a@example.com
sw_t_wait "the second mail" 20 has_mails 2 || exit 1
TOK2=$(link); TOK2=${TOK2##*token=}
sw_t_psql -c "update password_resets set expires_at = now() - interval '1 s' where used_at is null and account_id = '$A'"
api POST /v1/auth/password-reset/confirm "" "{\"token\":\"$TOK2\",\"password\":\"other-password-3\"}"
sw_t_eq "an expired link: 422" 422 "$SW_STATUS"
sw_t_eq "no token in the audit log" 0 \
    "$(sw_t_psql -c "select count(*) from audit_log a where a::text like '%$TOK1%' or a::text like '%$TOK2%'")"
sw_t_eq "the requests are audited" 3 \
    "$(sw_t_psql -c "select count(*) from audit_log where action = 'POST /v1/auth/password-reset' and status = 202")"

# About the same time for both: medians of 7 alternating requests.
t() { curl -s -o /dev/null -w '%{time_total}\n' -H 'Content-Type: application/json' \
        --data-binary "{\"email\":\"$1\"}" "$SW_URL/v1/auth/password-reset"; }
for _ in 1 2 3 4 5 6 7; do t a@example.com >>"$SW_T_DIR/known"; t x@example.com >>"$SW_T_DIR/unknown"; done
med() { sort -n "$1" | sed -n 4p; }
echo "# answer time, median of 7: known $(med "$SW_T_DIR/known") s, unknown $(med "$SW_T_DIR/unknown") s"
sw_t_check "the medians are within 50 ms of each other" \
    awk -v a="$(med "$SW_T_DIR/known")" -v b="$(med "$SW_T_DIR/unknown")" 'BEGIN { d = a - b; exit !(d < 0.05 && d > -0.05) }'
sw_t_done
