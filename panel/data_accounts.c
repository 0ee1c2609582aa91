#include "config.h"
#include "panel/data_accounts.h"
#include "core/alloc.h"
#include "core/err.h"
#include "panel/api.h"

#include <stdio.h>
#include <stdlib.h>

int sw_data_accounts_visible(struct sw_db *db, const struct sw_principal *who, const char *id,
                             struct sw_err *err)
{
    return sw_data_visible(db, err, who, "SELECT 1 FROM accounts t WHERE t.id = $2::uuid AND %s",
                           "t.id", id);
}

int sw_data_accounts_customer_visible(struct sw_db *db, const struct sw_principal *who,
                                      const char *id, struct sw_err *err)
{
    return sw_data_visible(db, err, who,
                           "SELECT 1 FROM accounts t WHERE t.id = $2::uuid"
                           " AND t.kind = 'customer' AND %s",
                           "t.id", id);
}

json_t *sw_data_accounts_get(struct sw_db *db, const char *id, struct sw_err *err)
{
    return sw_data_json_row(db, err, "account",
                            "SELECT sw_account_json(a) FROM accounts a WHERE a.id = $1",
                            SW_PARAMS(id));
}

int sw_data_accounts_by_email(struct sw_db *db, const char *email, struct sw_data_login *out,
                              struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT id, password_hash, state FROM accounts"
                               " WHERE lower(email) = lower($1)",
                               SW_PARAMS(email));
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        const char *hash = sw_db_get(res, 0, 1);
        snprintf(out->id, sizeof out->id, "%s", sw_db_get(res, 0, 0));
        out->has_password = hash != NULL;
        snprintf(out->password_hash, sizeof out->password_hash, "%s", hash ? hash : "");
        snprintf(out->state, sizeof out->state, "%s", sw_db_get(res, 0, 2));
    }
    PQclear(res);
    return found;
}

int sw_data_accounts_set_password(struct sw_db *db, const char *id, const char *hash,
                                  struct sw_err *err)
{
    return sw_db_run(db, err, "UPDATE accounts SET password_hash = $2 WHERE id = $1",
                     SW_PARAMS(id, hash)) < 0
               ? -1
               : 0;
}
