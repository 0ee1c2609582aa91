#include "config.h"
#include "panel/data_twofactor.h"
#include "core/alloc.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>

int sw_data_tfa_get(struct sw_db *db, const char *id, struct sw_data_tfa *out,
                    struct sw_err *err)
{
    out->wrapped = NULL;
    PGresult *res = sw_db_exec(db, err,
                               "SELECT email, totp_secret, totp_enabled FROM accounts"
                               " WHERE id = $1",
                               SW_PARAMS(id));
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        const char *w = sw_db_get(res, 0, 1);
        snprintf(out->email, sizeof out->email, "%s", sw_db_get(res, 0, 0));
        out->wrapped = w ? sw_strdup(w) : NULL;
        out->enabled = sw_db_get_bool(res, 0, 2);
    }
    PQclear(res);
    return found;
}

long sw_data_tfa_set_pending(struct sw_db *db, const char *id, const char *wrapped,
                             struct sw_err *err)
{
    return sw_db_run(db, err,
                     "UPDATE accounts SET totp_secret = $2, totp_last_step = 0"
                     " WHERE id = $1 AND NOT totp_enabled",
                     SW_PARAMS(id, wrapped));
}

long sw_data_tfa_take_step(struct sw_db *db, const char *id, int64_t step, struct sw_err *err)
{
    char s[24];
    snprintf(s, sizeof s, "%lld", (long long)step);
    return sw_db_run(db, err,
                     "UPDATE accounts SET totp_last_step = $2::bigint"
                     " WHERE id = $1 AND totp_last_step < $2::bigint",
                     SW_PARAMS(id, s));
}

long sw_data_tfa_enable(struct sw_db *db, const char *id,
                        char hashes[SW_TFA_RECOVERY_CODES][SW_TOKEN_HASH_HEX + 1],
                        struct sw_err *err)
{
    long n = sw_db_run(db, err,
                       "UPDATE accounts SET totp_enabled = true"
                       " WHERE id = $1 AND NOT totp_enabled AND totp_secret IS NOT NULL",
                       SW_PARAMS(id));
    if (n <= 0)
        return n;
    if (sw_data_run(db, err, "DELETE FROM account_recovery_codes WHERE account_id = $1",
                    SW_PARAMS(id)) < 0)
        return -1;
    for (int i = 0; i < SW_TFA_RECOVERY_CODES; i++)
        if (sw_data_run(db, err,
                        "INSERT INTO account_recovery_codes (account_id, code_hash)"
                        " VALUES ($1, $2)",
                        SW_PARAMS(id, hashes[i])) < 0)
            return -1;
    return 1;
}

int sw_data_tfa_disable(struct sw_db *db, const char *id, struct sw_err *err)
{
    if (sw_data_run(db, err, "DELETE FROM account_recovery_codes WHERE account_id = $1",
                    SW_PARAMS(id)) < 0)
        return -1;
    return sw_data_run(db, err,
                       "UPDATE accounts SET totp_enabled = false, totp_secret = NULL,"
                       " totp_last_step = 0 WHERE id = $1",
                       SW_PARAMS(id));
}

long sw_data_tfa_use_recovery(struct sw_db *db, const char *id, const char *hash,
                              struct sw_err *err)
{
    return sw_db_run(db, err,
                     "UPDATE account_recovery_codes SET used_at = now()"
                     " WHERE account_id = $1 AND code_hash = $2 AND used_at IS NULL",
                     SW_PARAMS(id, hash));
}
