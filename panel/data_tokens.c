#include "config.h"
#include "panel/data_tokens.h"
#include "core/err.h"
#include "panel/api.h"

#include <stdio.h>

/* The lookup is by hash, an exact index probe; the hash of a guess reveals
 * nothing about stored hashes, so timing leaks nothing useful. It is a
 * plain read: last_used_at is refreshed at most once a minute to spare
 * writes, by a second statement only when it is due. The expiry is floored
 * to whole seconds: a cache drops the token up to a second early and
 * PostgreSQL decides exactly. */
int sw_data_tokens_lookup(struct sw_db *db, const char *hash, struct sw_data_token *out,
                          struct sw_err *err)
{
    PGresult *res =
        sw_db_exec(db, err,
                   "SELECT k.id, k.account_id, k.scope, a.kind, a.state, k.token_hash,"
                   " (k.last_used_at IS NULL OR k.last_used_at < now() - interval '60 s') AS stale,"
                   " a.reseller_id,"
                   " coalesce(floor(extract(epoch FROM k.expires_at))::bigint, 0),"
                   " a.totp_enabled"
                   " FROM api_tokens k JOIN accounts a ON a.id = k.account_id"
                   " WHERE k.token_hash = $1 AND k.revoked_at IS NULL"
                   " AND (k.expires_at IS NULL OR k.expires_at > now())",
                   SW_PARAMS(hash));
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        snprintf(out->id, sizeof out->id, "%s", sw_db_get(res, 0, 0));
        snprintf(out->account_id, sizeof out->account_id, "%s", sw_db_get(res, 0, 1));
        snprintf(out->scope, sizeof out->scope, "%s", sw_db_get(res, 0, 2));
        snprintf(out->kind, sizeof out->kind, "%s", sw_db_get(res, 0, 3));
        snprintf(out->state, sizeof out->state, "%s", sw_db_get(res, 0, 4));
        snprintf(out->token_hash, sizeof out->token_hash, "%s", sw_db_get(res, 0, 5));
        out->stale = sw_db_get_bool(res, 0, 6);
        const char *reseller = sw_db_get(res, 0, 7);
        snprintf(out->reseller_id, sizeof out->reseller_id, "%s", reseller ? reseller : "");
        out->expires_at = sw_db_get_i64(res, 0, 8);
        out->two_factor = sw_db_get_bool(res, 0, 9);
    }
    PQclear(res);
    return found;
}

int sw_data_tokens_touch(struct sw_db *db, const char *id, struct sw_err *err)
{
    return sw_data_run(db, err,
                       "UPDATE api_tokens SET last_used_at = now() WHERE id = $1"
                       " AND (last_used_at IS NULL OR last_used_at < now() - interval '60 s')",
                       SW_PARAMS(id));
}

void sw_data_tokens_touch_hash(struct sw_db *db, const char *hash)
{
    sw_db_run(db, NULL,
              "UPDATE api_tokens SET last_used_at = now() WHERE token_hash = $1"
              " AND (last_used_at IS NULL OR last_used_at < now() - interval '60 s')",
              SW_PARAMS(hash));
}

int sw_data_tokens_visible(struct sw_db *db, const struct sw_principal *who, const char *id,
                           struct sw_err *err)
{
    return sw_data_visible(db, err, who,
                           "SELECT 1 FROM api_tokens t WHERE t.id = $2::uuid AND"
                           " t.account_id = $1::uuid AND t.revoked_at IS NULL AND %s",
                           "t.account_id", id);
}

long sw_data_tokens_revoke(struct sw_db *db, const char *account_id, const char *id,
                           struct sw_err *err)
{
    return sw_db_run(db, err,
                     "UPDATE api_tokens SET revoked_at = now()"
                     " WHERE id = $2 AND account_id = $1 AND revoked_at IS NULL",
                     SW_PARAMS(account_id, id));
}

long sw_data_tokens_revoke_kind(struct sw_db *db, const char *account_id, const char *id,
                                const char *kind, struct sw_err *err)
{
    return sw_db_run(db, err,
                     "UPDATE api_tokens SET revoked_at = now()"
                     " WHERE id = $2 AND account_id = $1 AND kind = $3 AND revoked_at IS NULL",
                     SW_PARAMS(account_id, id, kind));
}

int sw_data_tokens_revoke_others(struct sw_db *db, const char *account_id, const char *keep,
                                 struct sw_err *err)
{
    return sw_data_run(db, err,
                       "UPDATE api_tokens SET revoked_at = now()"
                       " WHERE account_id = $1 AND id <> $2 AND revoked_at IS NULL",
                       SW_PARAMS(account_id, keep));
}

#define SW_TOKEN_LIVE "t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())"

const struct sw_data_list sw_data_tokens_sessions = {
    "json_build_object('id', t.id, 'current', t.id = $2::uuid, 'expires_at', sw_ts(t.expires_at),"
    " 'last_used_at', sw_ts(t.last_used_at), 'created_at', sw_ts(t.created_at))",
    "api_tokens", "t.account_id = $1::uuid AND t.kind = 'session' AND " SW_TOKEN_LIVE, NULL};

const struct sw_data_list sw_data_tokens_list = {
    "json_build_object('id', t.id, 'name', t.name, 'kind', t.kind,"
    " 'scopes', json_build_array(t.scope), 'expires_at', sw_ts(t.expires_at),"
    " 'last_used_at', sw_ts(t.last_used_at), 'created_at', sw_ts(t.created_at))",
    "api_tokens",
    "t.account_id = $1::uuid AND t.kind = 'api' AND " SW_TOKEN_LIVE, NULL};
