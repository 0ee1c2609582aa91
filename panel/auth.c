/* auth.c - bearer tokens, login, and the caller's own account and tokens. */
#include "config.h"
#include "panel/authcache.h"
#include "panel/handlers.h"
#include "panel/data_accounts.h"
#include "panel/data_tokens.h"
#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "core/token.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const unsigned role_of_kind[] = {
    [SW_ACCT_OPERATOR] = SW_ROLE_OPERATOR,
    [SW_ACCT_RESELLER] = SW_ROLE_RESELLER,
    [SW_ACCT_CUSTOMER] = SW_ROLE_CUSTOMER,
};

int sw_auth_bearer(struct sw_req *req, struct sw_err *err)
{
    const char *h = req->authorization;
    if (!h || strncmp(h, "Bearer ", 7) != 0) {
        SW_ERR(err, SW_EUNAUTHENTICATED, "an Authorization: Bearer token is required");
        return -1;
    }
    const char *token = h + 7;
    if (strlen(token) != SW_TOKEN_LEN || strncmp(token, SW_TOKEN_PREFIX, 4) != 0) {
        SW_ERR(err, SW_EUNAUTHENTICATED, "the token is malformed");
        return -1;
    }
    char hash[SW_TOKEN_HASH_HEX + 1];
    sw_token_hash(req->app->key, token, hash);
    bool refresh = false;
    if (sw_authcache_get(hash, &req->who, &refresh)) {
        if (refresh)
            sw_data_tokens_touch_hash(req->db, hash);
        return 0;
    }
    uint64_t epoch = sw_authcache_epoch();
    /* A suspended reseller's customers still log in (to see their
     * suspended servers); orders refuse them (orders.c). */
    struct sw_data_token t;
    int found = sw_data_tokens_lookup(req->db, hash, &t, err);
    if (found < 0)
        return -1;
    if (!found || !sw_ct_streq(t.token_hash, hash)) {
        SW_ERR(err, SW_EUNAUTHENTICATED, "the token is unknown, expired or revoked");
        return -1;
    }
    if (t.stale && sw_data_tokens_touch(req->db, t.id, err) < 0)
        return -1;
    int kind = sw_account_kind_parse(t.kind);
    if (kind < 0 || strcmp(t.state, "active") != 0) {
        SW_ERR(err, SW_EUNAUTHENTICATED, "the account is suspended");
        return -1;
    }
    snprintf(req->who.token_id, sizeof req->who.token_id, "%s", t.id);
    snprintf(req->who.account_id, sizeof req->who.account_id, "%s", t.account_id);
    req->who.read_only = strcmp(t.scope, "read") == 0;
    req->who.two_factor = t.two_factor;
    req->who.kind = kind;
    req->who.role = role_of_kind[kind];
    sw_authcache_put(hash, &req->who, t.reseller_id, t.expires_at, epoch);
    return 0;
}

static const struct sw_jfield login_fields[] = {
    {"email", SW_JT_STRING, true},
    {"password", SW_JT_STRING, true},
    {"code", SW_JT_STRING, false},
    {NULL, 0, false},
};

/* A fixed hash to verify against when the account does not exist, so an
 * unknown email costs as much time as a wrong password. */
static char dummy[SW_PASSWORD_HASH_MAX];

static void make_dummy_hash(void)
{
    if (sw_password_hash("slipway-dummy-password", dummy, NULL) < 0)
        dummy[0] = '\0';
}

static const char *dummy_hash(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_dummy_hash);
    return dummy;
}

/* Whether id has failed limit logins in this window (then err says so). */
static bool login_limited(struct sw_req *req, const char *name, const char *id, long limit,
                          struct sw_err *err)
{
    if (sw_api_rate_count(req, name, id, 900) < limit)
        return false;
    SW_ERR(err, SW_ERATE_LIMITED, "too many failed logins; try again in 15 minutes");
    return true;
}

/* Counts a failed login on the client's address and the account's email. */
static void login_failed(struct sw_req *req, const char *folded)
{
    sw_api_rate_hit(req, "loginfail-addr", req->remote, 900);
    sw_api_rate_hit(req, "loginfail-acct", folded, 900);
}

/* The second factor of an account that has it on, once the password was
 * right: 1 passed; 0 when no code came (resp asks for one: 401 with
 * two_factor_required); -1 with err, a wrong, stale or replayed code
 * counted as a failed login. */
static int second_factor(struct sw_req *req, struct sw_resp *resp,
                         const struct sw_data_login *a, const char *code, struct sw_err *err)
{
    if (!code) {
        sw_api_reply(resp, 401,
                     json_pack("{s:{s:s, s:s}, s:b}", "error", "code", "unauthenticated",
                               "message", "a two-factor code is required: send it as code",
                               "two_factor_required", 1));
        return 0;
    }
    if (sw_tfa_verify(req, a->id, code, true, err) == 0)
        return 1;
    if (err->code != SW_EFORBIDDEN && err->code != SW_EINVALID)
        return -1;
    login_failed(req, a->folded);
    SW_ERR(err, SW_EUNAUTHENTICATED, "the two-factor code is wrong, stale or used");
    return -1;
}

SW_HANDLER(sw_h_login)
{
    json_t *b = sw_api_body(req, login_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    const char *email = sw_json_str(b, "email"), *password = sw_json_str(b, "password");
    if (strlen(email) > SW_EMAIL_MAX || strlen(password) > 1024) {
        SW_ERR(err, SW_EINVALID, "email or password is too long");
        goto out;
    }
    /* Failures are limited per client address and per account over 15
     * minutes, before any hashing. An account's counter is keyed by its
     * email as PostgreSQL's lower() folds it, the fold that finds the
     * account, so unknown emails count alike and every spelling of one
     * shares its counter. */
    if (login_limited(req, "loginfail-addr", req->remote, req->app->login_fail_address, err))
        goto out;
    struct sw_data_login a;
    int known = sw_data_accounts_by_email(req->db, email, &a, err);
    if (known < 0 ||
        login_limited(req, "loginfail-acct", a.folded, req->app->login_fail_account, err))
        goto out;
    bool found = known && a.has_password;
    bool ok = sw_password_verify(found ? a.password_hash : dummy_hash(), password) && found;
    if (!ok || strcmp(a.state, "active") != 0) {
        login_failed(req, a.folded);
        SW_ERR(err, SW_EUNAUTHENTICATED, "email or password is wrong");
        goto out;
    }
    int second = a.two_factor ? second_factor(req, resp, &a, sw_json_str(b, "code"), err) : 1;
    if (second <= 0) {
        rc = second;
        goto out;
    }
    char token[SW_TOKEN_LEN + 1], tid[SW_UUID_LEN + 1], exp[40];
    if (sw_password_needs_rehash(a.password_hash)) {
        /* The cost parameters changed since this hash was made. */
        char hash[SW_PASSWORD_HASH_MAX];
        if (sw_password_hash(password, hash, err) == 0)
            sw_data_accounts_set_password(req->db, a.id, hash, NULL);
    }
    sodium_memzero(a.password_hash, sizeof a.password_hash);
    if (sw_token_issue(req->db, req->app->key, a.id, "login", "session", "full",
                       req->app->session_ttl_s, token, tid, exp, err) < 0)
        goto out;
    sw_api_reply(resp, 200, json_pack("{s:s, s:s, s:s}", "token", token, "token_id", tid,
                                      "expires_at", exp));
    sodium_memzero(token, sizeof token);
    rc = 0;
out:
    json_decref(b);
    return rc;
}

SW_HANDLER(sw_h_account_get)
{
    json_t *account = sw_data_accounts_get(req->db, req->who.account_id, err);
    if (!account)
        return -1;
    json_object_set_new(account, "two_factor", json_boolean(req->who.two_factor));
    json_object_set_new(account, "two_factor_required",
                        json_boolean(req->app->tfa_roles & req->who.role));
    return sw_api_reply(resp, 200, account);
}

static const struct sw_jfield token_fields[] = {
    {"name", SW_JT_STRING, true},
    {"scopes", SW_JT_ARRAY, false},
    {"ttl_s", SW_JT_INT, false},
    {NULL, 0, false},
};

SW_HANDLER(sw_h_account_token_create)
{
    json_t *b = sw_api_body(req, token_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    const char *name = sw_json_str(b, "name");
    const char *scope = "full";
    json_t *scopes = json_object_get(b, "scopes");
    int64_t ttl = sw_json_int(b, "ttl_s", 0);
    if (strlen(name) > 100 || ttl < 0 || ttl > 10LL * 365 * 86400) {
        SW_ERR(err, SW_EINVALID, "name must be at most 100 bytes and ttl_s within 10 years");
        goto out;
    }
    if (scopes) {
        const char *s = json_array_size(scopes) == 1
                            ? json_string_value(json_array_get(scopes, 0))
                            : NULL;
        if (!s || (strcmp(s, "read") != 0 && strcmp(s, "full") != 0)) {
            SW_ERR(err, SW_EINVALID, "scopes must be [\"read\"] or [\"full\"]");
            goto out;
        }
        scope = s;
    }
    char token[SW_TOKEN_LEN + 1], tid[SW_UUID_LEN + 1], exp[40];
    if (sw_token_issue(req->db, req->app->key, req->who.account_id, name, "api", scope,
                       (long)ttl, token, tid, exp, err) < 0)
        goto out;
    sw_api_reply(resp, 201, json_pack("{s:s, s:s, s:s, s:[s], s:s?}", "id", tid, "token", token,
                                      "name", name, "scopes", scope, "expires_at",
                                      exp[0] ? exp : NULL));
    resp->secret_field = "token";
    sodium_memzero(token, sizeof token);
    rc = 0;
out:
    json_decref(b);
    return rc;
}

SW_HANDLER(sw_h_account_tokens_list)
{
    return sw_api_list_data(req, resp, err, &sw_data_tokens_list, SW_PARAMS(req->who.account_id));
}

SW_HANDLER(sw_h_account_token_delete)
{
    const char *id = sw_api_param_uuid(req, 0, "token", err);
    if (!id)
        return -1;
    long n = sw_data_tokens_revoke(req->db, req->who.account_id, id, err);
    if (n < 0)
        return -1;
    if (n == 0) {
        SW_ERR(err, SW_ENOTFOUND, "token not found");
        return -1;
    }
    return sw_api_reply(resp, 204, NULL);
}

const struct sw_route sw_routes_auth[] = {
    {"POST", "/v1/auth/login", PUBLIC, SW_OWN_NONE, sw_h_login,
     "log in with email and password (and a two-factor code when it is on)", 0},
    {"GET", "/v1/account", ANY, SW_OWN_NONE, sw_h_account_get, "the caller's account",
     SW_RF_ENROL},
    {"GET", "/v1/account/tokens", ANY, SW_OWN_NONE, sw_h_account_tokens_list,
     "the caller's API tokens (never the secrets)", 0},
    {"POST", "/v1/account/tokens", ANY, SW_OWN_NONE, sw_h_account_token_create,
     "create an API token", 0},
    {"DELETE", "/v1/account/tokens/{id}", ANY, SW_OWN_TOKEN, sw_h_account_token_delete,
     "revoke an API token", SW_RF_AUTH},
    SW_ROUTES_END,
};
