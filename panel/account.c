/* account.c - the caller's own account (issue 16): PATCH /v1/account
 * (name; a new password only with the current one), and the caller's
 * login sessions, listed and revocable. API tokens are auth.c's. */
#include "config.h"
#include "panel/handlers.h"
#include "panel/data_accounts.h"
#include "panel/data_tokens.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/err.h"
#include "core/json.h"

#include <sodium.h>
#include <string.h>

static const struct sw_jfield account_fields[] = {
    {"name", SW_JT_STRING, false},
    {"password", SW_JT_STRING, false},
    {"current_password", SW_JT_STRING, false},
    {NULL, 0, false},
};

struct account_patch {
    const char *id, *token_id, *name;
    const char *hash; /* the new password's; NULL: unchanged */
    json_t *account;  /* out */
};

/* The name and the password change together; a new password also ends
 * every other session and token of the account but the one asking. */
static int account_patch_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct account_patch *p = ctx;
    if (p->hash && (sw_data_accounts_set_password(db, p->id, p->hash, err) < 0 ||
                    sw_data_tokens_revoke_others(db, p->id, p->token_id, err) < 0))
        return -1;
    json_decref(p->account);
    p->account = sw_data_accounts_set_name(db, p->id, p->name, err);
    return p->account ? 0 : -1;
}

/* The current password, checked as a login checks one: wrong ones are
 * counted per account (SLIPWAY_LOGIN_FAILURES_PER_ACCOUNT in 15 minutes,
 * then 429), so a stolen session cannot guess the password. */
int sw_account_check_password(struct sw_req *req, const char *current, struct sw_err *err)
{
    const char *who = req->who.account_id;
    if (current && sw_api_rate_count(req, "pwfail-acct", who, 900) >= req->app->login_fail_account) {
        SW_ERR(err, SW_ERATE_LIMITED, "too many wrong passwords; try again in 15 minutes");
        return -1;
    }
    char stored[SW_PASSWORD_HASH_MAX];
    int has = sw_data_accounts_password(req->db, req->who.account_id, stored, err);
    if (has < 0)
        return -1;
    bool ok = current && has && strlen(current) <= 1024 && sw_password_verify(stored, current);
    sodium_memzero(stored, sizeof stored);
    if (!ok && current)
        sw_api_rate_hit(req, "pwfail-acct", who, 900);
    if (!ok)
        SW_ERR(err, current ? SW_EFORBIDDEN : SW_EINVALID,
               current ? "current_password is wrong"
                       : "a new password needs current_password");
    return ok ? 0 : -1;
}

SW_HANDLER(sw_h_account_patch)
{
    json_t *b = sw_api_body(req, account_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    const char *password = sw_json_str(b, "password");
    char hash[SW_PASSWORD_HASH_MAX];
    struct account_patch p = {req->who.account_id, req->who.token_id, sw_json_str(b, "name"),
                              NULL, NULL};
    if (sw_api_check_len(b, "name", 1, 100, err) < 0 ||
        sw_api_check_len(b, "password", 8, 1024, err) < 0)
        goto out;
    if (!p.name && !password) {
        SW_ERR(err, SW_EINVALID, "give name or password");
        goto out;
    }
    if (password && (sw_account_check_password(req, sw_json_str(b, "current_password"), err) < 0 ||
                     sw_password_hash(password, hash, err) < 0))
        goto out;
    p.hash = password ? hash : NULL;
    rc = sw_db_tx(req->db, account_patch_tx, &p, err);
    if (rc == 0)
        sw_api_reply(resp, 200, p.account);
    else
        json_decref(p.account);
out:
    sodium_memzero(hash, sizeof hash);
    json_decref(b);
    return rc;
}

SW_HANDLER(sw_h_account_sessions_list)
{
    return sw_api_list_data(req, resp, err, &sw_data_tokens_sessions,
                            SW_PARAMS(req->who.account_id, req->who.token_id));
}

SW_HANDLER(sw_h_account_session_delete)
{
    const char *id = sw_api_param_uuid(req, 0, "session", err);
    if (!id)
        return -1;
    long n = sw_data_tokens_revoke_kind(req->db, req->who.account_id, id, "session", err);
    if (n == 0)
        SW_ERR(err, SW_ENOTFOUND, "session not found");
    return n > 0 ? sw_api_reply(resp, 204, NULL) : -1;
}

const struct sw_route sw_routes_account[] = {
    {"PATCH", "/v1/account", ANY, SW_OWN_NONE, sw_h_account_patch,
     "change the caller's name, or password with the current one (ends the other sessions)",
     SW_RF_AUTH},
    {"GET", "/v1/account/sessions", ANY, SW_OWN_NONE, sw_h_account_sessions_list,
     "the caller's login sessions (current: the one asking)", 0},
    {"DELETE", "/v1/account/sessions/{id}", ANY, SW_OWN_TOKEN, sw_h_account_session_delete,
     "end one of the caller's login sessions", SW_RF_AUTH},
    SW_ROUTES_END,
};
