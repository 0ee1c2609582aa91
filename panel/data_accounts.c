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
    /* lower($1) folds with the database's collation, as the index's
     * lower(email) does: one row, with or without an account. */
    PGresult *res = sw_db_exec(db, err,
                               "SELECT lower($1), a.id, a.password_hash, a.state, a.totp_enabled, a.email"
                               " FROM (VALUES (1)) one"
                               " LEFT JOIN accounts a ON lower(a.email) = lower($1)",
                               SW_PARAMS(email));
    if (!res)
        return -1;
    snprintf(out->folded, sizeof out->folded, "%s", sw_db_get(res, 0, 0));
    int found = sw_db_get(res, 0, 1) != NULL;
    if (found) {
        const char *hash = sw_db_get(res, 0, 2);
        snprintf(out->id, sizeof out->id, "%s", sw_db_get(res, 0, 1));
        out->has_password = hash != NULL;
        snprintf(out->password_hash, sizeof out->password_hash, "%s", hash ? hash : "");
        snprintf(out->state, sizeof out->state, "%s", sw_db_get(res, 0, 3));
        out->two_factor = sw_db_get_bool(res, 0, 4);
        snprintf(out->email, sizeof out->email, "%s", sw_db_get(res, 0, 5));
    }
    PQclear(res);
    return found;
}

int sw_data_accounts_set_password(struct sw_db *db, const char *id, const char *hash,
                                  struct sw_err *err)
{
    return sw_data_run(db, err, "UPDATE accounts SET password_hash = $2 WHERE id = $1",
                       SW_PARAMS(id, hash));
}

int sw_data_accounts_password(struct sw_db *db, const char *id,
                              char hash[SW_PASSWORD_HASH_MAX], struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT password_hash FROM accounts WHERE id = $1"
                               " AND password_hash IS NOT NULL",
                               SW_PARAMS(id));
    if (!res)
        return -1;
    int has = PQntuples(res) == 1;
    snprintf(hash, SW_PASSWORD_HASH_MAX, "%s", has ? sw_db_get(res, 0, 0) : "");
    PQclear(res);
    return has;
}

json_t *sw_data_accounts_set_name(struct sw_db *db, const char *id, const char *name,
                                  struct sw_err *err)
{
    return sw_data_json_row(db, err, "account",
                            "UPDATE accounts a SET name = coalesce($2, a.name) WHERE a.id = $1"
                            " RETURNING sw_account_json(a)",
                            SW_PARAMS(id, name));
}

const struct sw_data_list sw_data_accounts_admin_list = {
    "sw_account_json(t)", "accounts",
    "$1::uuid IS NOT NULL AND ($2::text IS NULL OR t.kind = $2)"
    " AND ($3::text IS NULL OR t.state = $3)"
    " AND ($4::uuid IS NULL OR t.reseller_id = $4)",
    NULL};

int sw_data_accounts_is_reseller(struct sw_db *db, const char *id, struct sw_err *err)
{
    return sw_data_exists(db, err, "SELECT 1 FROM accounts WHERE id = $1 AND kind = 'reseller'",
                          SW_PARAMS(id));
}

json_t *sw_data_accounts_insert(struct sw_db *db, const struct sw_data_account_new *a,
                                struct sw_err *err)
{
    return sw_data_json_row(db, err, "account",
                            "INSERT INTO accounts (id, kind, email, name, password_hash,"
                            " reseller_id, tax_rate_bp) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                            " RETURNING sw_account_json(accounts)",
                            SW_PARAMS(a->id, a->kind, a->email, a->name, a->password_hash,
                                      a->reseller_id, a->tax_rate_bp));
}

json_t *sw_data_accounts_update(struct sw_db *db, const char *id, const char *name,
                                const char *tax_rate_bp, struct sw_err *err)
{
    return sw_data_json_row(db, err, "account",
                            "UPDATE accounts SET name = coalesce($2, name),"
                            " tax_rate_bp = coalesce($3::int, tax_rate_bp)"
                            " WHERE id = $1 AND kind <> 'operator'"
                            " RETURNING sw_account_json(accounts)",
                            SW_PARAMS(id, name, tax_rate_bp));
}

json_t *sw_data_accounts_set_state(struct sw_db *db, const char *id, const char *state,
                                   struct sw_err *err)
{
    return sw_data_json_row(db, err, "account",
                            "UPDATE accounts SET state = $2 WHERE id = $1"
                            " RETURNING sw_account_json(accounts)",
                            SW_PARAMS(id, state));
}

int sw_data_accounts_lock(struct sw_db *db, const char *id, struct sw_data_account_lock *out,
                          struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT a.state, r.id, r.state FROM accounts a LEFT JOIN accounts r"
                               " ON r.id = a.reseller_id WHERE a.id = $1 FOR UPDATE OF a",
                               SW_PARAMS(id));
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        const char *rid = sw_db_get(res, 0, 1), *rstate = sw_db_get(res, 0, 2);
        snprintf(out->state, sizeof out->state, "%s", sw_db_get(res, 0, 0));
        snprintf(out->reseller_id, sizeof out->reseller_id, "%s", rid ? rid : "");
        snprintf(out->reseller_state, sizeof out->reseller_state, "%s", rstate ? rstate : "");
    }
    PQclear(res);
    return found;
}
