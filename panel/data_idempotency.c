#include "config.h"
#include "panel/data_idempotency.h"
#include "core/alloc.h"
#include "core/err.h"

#include <stdio.h>
#include <string.h>

int sw_data_idempotency_claim(struct sw_db *db, const char *account_id, const char *key,
                              const char *method, const char *path, const char *body_hash,
                              struct sw_err *err)
{
    return sw_data_exists(
        db, err,
        "INSERT INTO idempotency_keys (account_id, key, method, path, body_hash, state,"
        "  owner_pid, owner_started)"
        " VALUES ($1, $2, $3, $4, $5, 'running', pg_backend_pid(), (SELECT backend_start"
        "  FROM pg_stat_activity WHERE pid = pg_backend_pid()))"
        " ON CONFLICT DO NOTHING RETURNING 1",
        SW_PARAMS(account_id, key, method, path, body_hash));
}

int sw_data_idempotency_read(struct sw_db *db, const char *account_id, const char *key,
                             const char *body_hash, struct sw_data_idem *out, struct sw_err *err)
{
    PGresult *res =
        sw_db_exec(db, err,
                   "WITH t AS (UPDATE idempotency_keys k SET updated_at = now(),"
                   "  owner_pid = pg_backend_pid(), owner_started = (SELECT backend_start"
                   "   FROM pg_stat_activity WHERE pid = pg_backend_pid())"
                   "  WHERE k.account_id = $1 AND k.key = $2 AND k.state = 'running'"
                   "  AND k.body_hash = $3 AND (k.updated_at < now() - interval '10 minutes'"
                   "   OR (k.owner_started IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a"
                   "    WHERE a.pid = k.owner_pid AND a.backend_start = k.owner_started)))"
                   "  RETURNING 1)"
                   " SELECT k.body_hash, k.state, k.status, k.response, EXISTS (SELECT 1 FROM t)"
                   " FROM idempotency_keys k WHERE k.account_id = $1 AND k.key = $2",
                   SW_PARAMS(account_id, key, body_hash));
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        const char *text = sw_db_get(res, 0, 3);
        snprintf(out->body_hash, sizeof out->body_hash, "%s", sw_db_get(res, 0, 0));
        snprintf(out->state, sizeof out->state, "%s", sw_db_get(res, 0, 1));
        out->status = (int)sw_db_get_i64(res, 0, 2);
        out->response = text ? sw_strdup(text) : NULL;
        out->taken_over = sw_db_get_bool(res, 0, 4);
    }
    PQclear(res);
    return found;
}

int sw_data_idempotency_finish(struct sw_db *db, const char *account_id, const char *key,
                               const char *status, const char *response, struct sw_err *err)
{
    return sw_data_run(db, err,
                       "UPDATE idempotency_keys SET state = 'done', status = $3, response = $4,"
                       " updated_at = now() WHERE account_id = $1 AND key = $2",
                       SW_PARAMS(account_id, key, status, response));
}

void sw_data_idempotency_release(struct sw_db *db, const char *account_id, const char *key)
{
    sw_db_run(db, NULL, "DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2",
              SW_PARAMS(account_id, key));
}
