#include "config.h"
#include "panel/data_pwreset.h"
#include "core/err.h"

#include <stdio.h>

int sw_data_pwreset_insert(struct sw_db *db, const char *id, const char *hash, long ttl_s,
                           struct sw_err *err)
{
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%ld", ttl_s);
    return sw_data_run(db, err,
                       "INSERT INTO password_resets (account_id, token_hash, expires_at)"
                       " VALUES ($1, $2, now() + make_interval(secs => $3::bigint))",
                       SW_PARAMS(id, hash, ttl));
}

int sw_data_pwreset_take(struct sw_db *db, const char *hash, char account[SW_UUID_LEN + 1],
                         struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "UPDATE password_resets r SET used_at = now() FROM accounts a"
                               " WHERE r.token_hash = $1 AND r.used_at IS NULL"
                               " AND r.expires_at > now() AND a.id = r.account_id"
                               " AND a.state = 'active' RETURNING r.account_id",
                               SW_PARAMS(hash));
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    snprintf(account, SW_UUID_LEN + 1, "%s", found ? sw_db_get(res, 0, 0) : "");
    PQclear(res);
    return found;
}

int sw_data_pwreset_end_all(struct sw_db *db, const char *id, struct sw_err *err)
{
    return sw_data_run(db, err,
                       "UPDATE password_resets SET used_at = now()"
                       " WHERE account_id = $1 AND used_at IS NULL",
                       SW_PARAMS(id));
}
