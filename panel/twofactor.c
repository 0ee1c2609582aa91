/* twofactor.c - TOTP two-factor login (issue 16): enrolment (a secret, its
 * otpauth:// URI and QR code), confirmation with a code (then ten
 * single-use recovery codes), turning it off, and the check a login makes
 * (sw_tfa_verify). The secret is stored wrapped with the master key
 * (core/bkkey.h); a time step is taken once, so a code is never replayed.
 * Wrong codes count as wrong passwords do (per account, 15 minutes). */
#include "config.h"
#include "panel/data_twofactor.h"
#include "panel/handlers.h"
#include "panel/totp.h"
#include "core/bkkey.h"
#include "core/err.h"
#include "core/json.h"

#include <ctype.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ISSUER "slipway"
/* A recovery code: two groups of five base32 letters (50 bits). */
#define RECOVERY_LEN 11
#define CODE_MAX 64

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

static void recovery_new(char out[RECOVERY_LEN + 1])
{
    for (int i = 0; i < RECOVERY_LEN; i++)
        out[i] = i == 5 ? '-' : b32[randombytes_uniform(32)];
    out[RECOVERY_LEN] = '\0';
}

/* A recovery code as typed (any case, with or without the dash and
 * spaces) to its keyed hash. */
static void recovery_hash(const struct sw_req *req, const char *code,
                          char hash[SW_TOKEN_HASH_HEX + 1])
{
    char norm[CODE_MAX + 1];
    size_t n = 0;
    for (const char *p = code; *p && n < CODE_MAX; p++)
        if (*p != '-' && *p != ' ')
            norm[n++] = (char)tolower((unsigned char)*p);
    norm[n] = '\0';
    sw_token_hash(req->app->key, norm, hash);
}

/* A TOTP code (6 digits) against the stored secret, its step taken once. */
static int verify_totp(struct sw_req *req, const char *id, const char *wrapped, const char *code,
                       struct sw_err *err)
{
    char *secret = sw_bkkey_unwrap_new(wrapped, SW_TOTP_SECRET_MAX, err);
    if (!secret)
        return -1;
    int64_t step = sw_totp_step(secret, time(NULL), code, err);
    sodium_memzero(secret, strlen(secret));
    free(secret);
    if (step < 0)
        return -1;
    long n = sw_data_tfa_take_step(req->db, id, step, err);
    if (n == 0)
        SW_ERR(err, SW_EFORBIDDEN, "this two-factor code was used already: wait for the next");
    return n > 0 ? 0 : -1;
}

static int verify_recovery(struct sw_req *req, const char *id, const char *code,
                           struct sw_err *err)
{
    char hash[SW_TOKEN_HASH_HEX + 1];
    recovery_hash(req, code, hash);
    long n = sw_data_tfa_use_recovery(req->db, id, hash, err);
    if (n == 0)
        SW_ERR(err, SW_EFORBIDDEN, "the two-factor code is wrong, stale or used");
    return n > 0 ? 0 : -1;
}

int sw_tfa_verify(struct sw_req *req, const char *id, const char *code, bool recovery_ok,
                  struct sw_err *err)
{
    struct sw_data_tfa t;
    int found = sw_data_tfa_get(req->db, id, &t, err);
    int rc = -1;
    if (found == 0)
        SW_ERR(err, SW_ENOTFOUND, "account not found");
    else if (found > 0 && !t.wrapped)
        SW_ERR(err, SW_ECONFLICT, "two-factor login is not set up");
    else if (found > 0 && strlen(code) > CODE_MAX)
        SW_ERR(err, SW_EFORBIDDEN, "the two-factor code is wrong, stale or used");
    else if (found > 0 && strlen(code) == 6)
        rc = verify_totp(req, id, t.wrapped, code, err);
    else if (found > 0 && recovery_ok)
        rc = verify_recovery(req, id, code, err);
    else if (found > 0)
        SW_ERR(err, SW_EFORBIDDEN, "the two-factor code is wrong, stale or used");
    free(t.wrapped);
    return rc;
}

/* Wrong codes on the account routes count with wrong current passwords
 * (account.c): too many and the account gets 429 for 15 minutes. A wrong
 * code is 422 (the caller is who it says; its input is wrong). */
static int verify_counted(struct sw_req *req, const char *code, bool recovery_ok,
                          struct sw_err *err)
{
    const char *id = req->who.account_id;
    if (sw_api_rate_count(req, "pwfail-acct", id, 900) >= req->app->login_fail_account) {
        SW_ERR(err, SW_ERATE_LIMITED, "too many wrong codes; try again in 15 minutes");
        return -1;
    }
    if (sw_tfa_verify(req, id, code, recovery_ok, err) == 0)
        return 0;
    if (err->code == SW_EFORBIDDEN || err->code == SW_EINVALID) {
        sw_api_rate_hit(req, "pwfail-acct", id, 900);
        SW_ERR(err, SW_EUNPROCESSABLE, "code: the two-factor code is wrong, stale or used");
    }
    return -1;
}

/* The enrolment's answer: the secret, its URI and the URI's QR code. */
static json_t *enrolment(const char *email, const char *secret, struct sw_err *err)
{
    char *uri = sw_totp_uri(ISSUER, email, secret, err);
    char *svg = uri ? sw_totp_qr_svg(uri, err) : NULL;
    json_t *out = svg ? json_pack("{s:s, s:s, s:s, s:s, s:i, s:i}", "secret", secret,
                                  "otpauth_uri", uri, "qr_svg", svg, "algorithm", "SHA1",
                                  "digits", 6, "period", SW_TOTP_STEP_S)
                      : NULL;
    free(uri);
    free(svg);
    return out;
}

SW_HANDLER(sw_h_tfa_enrol)
{
    struct sw_data_tfa t;
    char secret[SW_TOTP_SECRET_MAX];
    char *wrapped = NULL;
    json_t *out = NULL;
    long set = 0;
    int found = sw_data_tfa_get(req->db, req->who.account_id, &t, err);
    if (found > 0 && !t.enabled && sw_totp_secret_new(secret, err) == 0 &&
        (wrapped = sw_bkkey_wrap_new(secret, strlen(secret), err)))
        set = sw_data_tfa_set_pending(req->db, req->who.account_id, wrapped, err);
    if (set > 0)
        out = enrolment(t.email, secret, err);
    else if (found == 0)
        SW_ERR(err, SW_ENOTFOUND, "account not found");
    else if (found > 0 && (t.enabled || set == 0) && err->code == SW_OK)
        SW_ERR(err, SW_ECONFLICT, "two-factor login is on already: turn it off first");
    sodium_memzero(secret, sizeof secret);
    free(wrapped);
    free(t.wrapped);
    if (!out)
        return -1;
    resp->secret_field = "secret otpauth_uri qr_svg";
    return sw_api_reply(resp, 201, out);
}

static const struct sw_jfield code_fields[] = {
    {"code", SW_JT_STRING, true},
    {NULL, 0, false},
};

struct enable_ctx {
    const char *id;
    char hashes[SW_TFA_RECOVERY_CODES][SW_TOKEN_HASH_HEX + 1];
};

static int enable_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct enable_ctx *c = ctx;
    long n = sw_data_tfa_enable(db, c->id, c->hashes, err);
    if (n == 0)
        SW_ERR(err, SW_ECONFLICT, "two-factor login is on already or no enrolment is pending");
    return n > 0 ? 0 : -1;
}

/* Turns two-factor on once a code of the pending secret checks; answers
 * the recovery codes, the only time they are shown. */
static int confirm(struct sw_req *req, struct sw_resp *resp, const char *code,
                   struct sw_err *err)
{
    if (verify_counted(req, code, false, err) < 0)
        return -1;
    struct enable_ctx c = {req->who.account_id, {{0}}};
    json_t *codes = json_array();
    for (int i = 0; i < SW_TFA_RECOVERY_CODES; i++) {
        char r[RECOVERY_LEN + 1];
        recovery_new(r);
        recovery_hash(req, r, c.hashes[i]);
        json_array_append_new(codes, json_string(r));
        sodium_memzero(r, sizeof r);
    }
    if (sw_db_tx(req->db, enable_tx, &c, err) < 0) {
        json_decref(codes);
        return -1;
    }
    resp->secret_field = "recovery_codes";
    return sw_api_reply(resp, 200, json_pack("{s:b, s:o}", "two_factor", 1,
                                             "recovery_codes", codes));
}

SW_HANDLER(sw_h_tfa_confirm)
{
    json_t *b = sw_api_body(req, code_fields, err);
    if (!b)
        return -1;
    struct sw_data_tfa t;
    int rc = -1, found = sw_data_tfa_get(req->db, req->who.account_id, &t, err);
    if (found > 0 && (t.enabled || !t.wrapped))
        SW_ERR(err, SW_ECONFLICT, t.enabled ? "two-factor login is on already"
                                            : "no enrolment is pending: POST /v1/account/2fa first");
    else if (found > 0)
        rc = confirm(req, resp, sw_json_str(b, "code"), err);
    free(t.wrapped);
    json_decref(b);
    return rc;
}

static const struct sw_jfield off_fields[] = {
    {"code", SW_JT_STRING, false},
    {"password", SW_JT_STRING, false},
    {NULL, 0, false},
};

SW_HANDLER(sw_h_tfa_delete)
{
    json_t *b = sw_api_body(req, off_fields, err);
    if (!b)
        return -1;
    const char *code = sw_json_str(b, "code"), *password = sw_json_str(b, "password");
    int rc = -1;
    if (!code == !password)
        SW_ERR(err, SW_EINVALID, "give code (a current or recovery code) or password");
    else if (code)
        rc = verify_counted(req, code, true, err);
    else
        rc = sw_account_check_password(req, password, err);
    if (rc == 0)
        rc = sw_data_tfa_disable(req->db, req->who.account_id, err);
    json_decref(b);
    return rc == 0 ? sw_api_reply(resp, 204, NULL) : -1;
}

const struct sw_route sw_routes_twofactor[] = {
    {"POST", "/v1/account/2fa", ANY, SW_OWN_NONE, sw_h_tfa_enrol,
     "start two-factor enrolment: a TOTP secret, its otpauth:// URI and QR code (SVG)",
     SW_RF_ENROL},
    {"POST", "/v1/account/2fa/confirm", ANY, SW_OWN_NONE, sw_h_tfa_confirm,
     "turn two-factor login on with a current code; answers ten single-use recovery codes",
     SW_RF_AUTH | SW_RF_ENROL},
    {"DELETE", "/v1/account/2fa", ANY, SW_OWN_NONE, sw_h_tfa_delete,
     "turn two-factor login off, with a current code, a recovery code or the password",
     SW_RF_AUTH},
    SW_ROUTES_END,
};
