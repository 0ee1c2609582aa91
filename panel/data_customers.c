#include "config.h"
#include "panel/data_customers.h"
#include "core/err.h"

/* The reseller's customers that are not deleted; $1 is the reseller. */
#define MY_CUSTOMERS "t.reseller_id = $1::uuid AND t.kind = 'customer' AND t.state <> 'deleted'"

const struct sw_data_list sw_data_customers_list = {"sw_account_json(t)", "accounts", MY_CUSTOMERS,
                                                    NULL};
const struct sw_data_list sw_data_customers_by_external_id = {
    "sw_account_json(t)", "accounts", MY_CUSTOMERS " AND t.external_id = $2", NULL};

json_t *sw_data_customers_insert(struct sw_db *db, const char *reseller_id, const char *id,
                                 const struct sw_data_customer *c, struct sw_err *err)
{
    return sw_data_json_row(
        db, err, "customer",
        "INSERT INTO accounts (id, kind, email, name, password_hash,"
        " reseller_id, external_id) VALUES ($2, 'customer', $3, $4, $5, $1, $6)"
        " RETURNING sw_account_json(accounts)",
        SW_PARAMS(reseller_id, id, c->email, c->name, c->password_hash, c->external_id));
}

json_t *sw_data_customers_get(struct sw_db *db, const char *reseller_id, const char *id,
                              struct sw_err *err)
{
    return sw_data_json_row(
        db, err, "customer",
        "SELECT sw_account_json(t) FROM accounts t WHERE t.id = $2 AND " MY_CUSTOMERS,
        SW_PARAMS(reseller_id, id));
}

json_t *sw_data_customers_update(struct sw_db *db, const char *reseller_id, const char *id,
                                 const struct sw_data_customer *c, struct sw_err *err)
{
    return sw_data_json_row(
        db, err, "customer",
        "UPDATE accounts t SET name = coalesce($3, t.name), email = coalesce($4, t.email),"
        " password_hash = coalesce($5, t.password_hash),"
        " external_id = CASE WHEN $6::boolean THEN $7 ELSE t.external_id END"
        " WHERE t.id = $2 AND " MY_CUSTOMERS " RETURNING sw_account_json(t)",
        SW_PARAMS(reseller_id, id, c->name, c->email, c->password_hash,
                  c->set_external_id ? "true" : "false", c->external_id));
}

int sw_data_customers_end_sessions(struct sw_db *db, const char *id, struct sw_err *err)
{
    return sw_data_run(db, err,
                       "UPDATE api_tokens SET revoked_at = now() WHERE account_id = $1"
                       " AND kind = 'session' AND revoked_at IS NULL",
                       SW_PARAMS(id));
}

int sw_data_customers_lock(struct sw_db *db, const char *reseller_id, const char *id,
                           struct sw_err *err)
{
    return sw_data_exists(
        db, err, "SELECT 1 FROM accounts t WHERE t.id = $2 AND " MY_CUSTOMERS " FOR UPDATE",
        SW_PARAMS(reseller_id, id));
}

int64_t sw_data_customers_live_servers(struct sw_db *db, const char *id, struct sw_err *err)
{
    PGresult *res = sw_db_exec(
        db, err, "SELECT count(*) FROM servers WHERE owner_id = $1 AND state <> 'terminated'",
        SW_PARAMS(id));
    if (!res)
        return -1;
    int64_t live = sw_db_get_i64(res, 0, 0);
    PQclear(res);
    return live;
}

int sw_data_customers_delete(struct sw_db *db, const char *id, struct sw_err *err)
{
    if (sw_data_run(db, err,
                    "UPDATE accounts SET state = 'deleted', deleted_at = now(),"
                    " deleted_email = email, email = id::text || '@deleted.invalid',"
                    " deleted_external_id = external_id, external_id = NULL WHERE id = $1",
                    SW_PARAMS(id)) < 0)
        return -1;
    return sw_data_run(db, err,
                       "UPDATE api_tokens SET revoked_at = now() WHERE account_id = $1"
                       " AND revoked_at IS NULL",
                       SW_PARAMS(id));
}
