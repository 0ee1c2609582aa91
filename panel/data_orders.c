#include "config.h"
#include "panel/data_orders.h"
#include "core/err.h"
#include "panel/api.h"

#include <stdio.h>
#include <string.h>

json_t *sw_data_orders_get(struct sw_db *db, const struct sw_principal *who, const char *id,
                           struct sw_err *err)
{
    return sw_data_json_row_scoped(
        db, err, "order", who,
        "SELECT json_build_object('order', sw_order_json(t), 'server',"
        " (SELECT sw_server_json(s) FROM servers s WHERE s.id = t.server_id))"
        " FROM orders t WHERE t.id = $2 AND %s",
        "t.account_id", SW_PARAMS(who->account_id, id));
}

int sw_data_orders_visible(struct sw_db *db, const struct sw_principal *who, const char *id,
                           struct sw_err *err)
{
    return sw_data_visible(db, err, who, "SELECT 1 FROM orders t WHERE t.id = $2::uuid AND %s",
                           "t.account_id", id);
}

json_t *sw_data_orders_insert(struct sw_db *db, const char *id, const char *owner_id,
                              const char *server_id, const char *plan_id, struct sw_err *err)
{
    return sw_data_json_row(db, err, "plan",
                            "INSERT INTO orders (id, account_id, server_id, plan_id, price_amount,"
                            " price_currency) SELECT $1, $2, $3, p.id, p.price_monthly, p.currency"
                            " FROM plans p WHERE p.id = $4 RETURNING sw_order_json(orders)",
                            SW_PARAMS(id, owner_id, server_id, plan_id));
}

int sw_data_orders_lock_owner(struct sw_db *db, const char *id, struct sw_data_order_owner *out,
                              struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT c.state, c.reseller_id, coalesce(r.state, 'active'),"
                               " EXISTS (SELECT 1 FROM invoices i"
                               "  WHERE i.account_id IN (c.id, c.reseller_id)"
                               "  AND i.state = 'open' AND i.overdue_at IS NOT NULL)"
                               " FROM accounts c LEFT JOIN accounts r ON r.id = c.reseller_id"
                               " WHERE c.id = $1 AND c.kind = 'customer' FOR SHARE OF c",
                               SW_PARAMS(id));
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        const char *reseller = sw_db_get(res, 0, 1);
        snprintf(out->state, sizeof out->state, "%s", sw_db_get(res, 0, 0));
        snprintf(out->reseller_id, sizeof out->reseller_id, "%s", reseller ? reseller : "");
        snprintf(out->reseller_state, sizeof out->reseller_state, "%s", sw_db_get(res, 0, 2));
        out->overdue = sw_db_get_bool(res, 0, 3);
    }
    PQclear(res);
    return found;
}

int sw_data_orders_lock_quota(struct sw_db *db, const char *reseller_id, const char *kind,
                              struct sw_data_quota *out, struct sw_err *err)
{
    /* The lock: every admission of this reseller waits here for the one
     * before it to commit, then counts with a fresh snapshot (READ
     * COMMITTED takes one per statement). */
    PGresult *res = sw_db_exec(db, err,
                               "SELECT max_servers, max_vcpus, max_ram_mb, max_disk_gb, max_ipv4,"
                               " $2::text IS NULL OR $2 = ANY (kinds),"
                               " array_to_string(kinds, ', ')"
                               " FROM reseller_quotas WHERE reseller_id = $1 FOR UPDATE",
                               SW_PARAMS(reseller_id, kind));
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        for (int r = 0; r < SW_QUOTA__COUNT; r++)
            out->limit[r] = sw_db_get(res, 0, r) ? sw_db_get_i64(res, 0, r) : -1;
        out->kind_ok = sw_db_get_bool(res, 0, SW_QUOTA__COUNT);
        snprintf(out->kinds, sizeof out->kinds, "%s", sw_db_get(res, 0, SW_QUOTA__COUNT + 1));
    }
    PQclear(res);
    return found;
}

int sw_data_orders_reseller_use(struct sw_db *db, const char *reseller_id,
                                int64_t use[SW_QUOTA__COUNT], struct sw_err *err)
{
    PGresult *res =
        sw_db_exec(db, err, "SELECT servers, vcpus, ram_mb, disk_gb, ipv4 FROM sw_reseller_use($1)",
                   SW_PARAMS(reseller_id));
    if (!res)
        return -1;
    for (int r = 0; r < SW_QUOTA__COUNT; r++)
        use[r] = sw_db_get_i64(res, 0, r);
    PQclear(res);
    return 0;
}

const struct sw_data_list sw_data_orders_list = {"sw_order_json(t)", "orders", "%s",
                                                 "t.account_id"};

int sw_data_orders_count_by_state(struct sw_db *db, struct sw_data_count *out, int max,
                                  struct sw_err *err)
{
    return sw_data_counts(db, err, "SELECT state, count(*) FROM orders GROUP BY state ORDER BY 1",
                          out, max);
}
