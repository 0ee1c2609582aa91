#include "config.h"
#include "panel/data_webhooks.h"
#include "core/alloc.h"
#include "core/err.h"
#include "panel/api.h"

#include <stdio.h>
#include <stdlib.h>

int sw_data_webhooks_visible(struct sw_db *db, const struct sw_principal *who, const char *id,
                             struct sw_err *err)
{
    return sw_data_visible(db, err, who,
                           "SELECT 1 FROM webhook_endpoints t WHERE t.id = $2::uuid"
                           " AND t.state <> 'deleted' AND %s",
                           "t.account_id", id);
}

int64_t sw_data_webhooks_lock_count(struct sw_db *db, const char *account_id, struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT (SELECT count(*) FROM webhook_endpoints w"
                               " WHERE w.account_id = a.id AND w.state <> 'deleted')"
                               " FROM accounts a WHERE a.id = $1 FOR UPDATE",
                               SW_PARAMS(account_id));
    if (!res)
        return -1;
    int64_t have = sw_db_get_i64(res, 0, 0);
    PQclear(res);
    return have;
}

json_t *sw_data_webhooks_insert(struct sw_db *db, const struct sw_data_webhook_new *w,
                                struct sw_err *err)
{
    return sw_data_json_row(
        db, err, "webhook",
        "INSERT INTO webhook_endpoints (id, account_id, url, events, secret)"
        " VALUES ($1, $2, $3, ARRAY(SELECT jsonb_array_elements_text($4::jsonb)), $5)"
        " RETURNING (sw_webhook_json(webhook_endpoints)::jsonb"
        " || jsonb_build_object('secret', secret))::json",
        SW_PARAMS(w->id, w->account_id, w->url, w->events, w->secret));
}

long sw_data_webhooks_delete(struct sw_db *db, const struct sw_principal *who, const char *id,
                             struct sw_err *err)
{
    char *sql =
        sw_data_sql_scoped(who,
                           "UPDATE webhook_endpoints t SET state = 'deleted', updated_at = now()"
                           " WHERE t.id = $2 AND t.state <> 'deleted' AND %s",
                           "t.account_id");
    long n = sw_db_run(db, err, sql, SW_PARAMS(who->account_id, id));
    free(sql);
    return n;
}

int sw_data_webhooks_lock_delivery(struct sw_db *db, const struct sw_principal *who,
                                   const char *webhook_id, const char *delivery_id, char state[16],
                                   struct sw_err *err)
{
    char *sql = sw_data_sql_scoped(who,
                                   "SELECT w.state FROM webhook_deliveries d"
                                   " JOIN webhook_endpoints w ON w.id = d.webhook_id"
                                   " WHERE d.id = $3 AND w.id = $2"
                                   " AND w.state <> 'deleted' AND %s FOR UPDATE OF d",
                                   "w.account_id");
    PGresult *res = sw_db_exec(db, err, sql, SW_PARAMS(who->account_id, webhook_id, delivery_id));
    free(sql);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found)
        snprintf(state, 16, "%s", sw_db_get(res, 0, 0));
    PQclear(res);
    return found;
}

json_t *sw_data_webhooks_redeliver(struct sw_db *db, const char *delivery_id, struct sw_err *err)
{
    json_t *d =
        sw_data_json_row(db, err, "delivery",
                         "UPDATE webhook_deliveries SET manual = (state <> 'pending'),"
                         " state = 'pending', next_at = now(), updated_at = now()"
                         " WHERE id = $1 RETURNING sw_webhook_delivery_json(webhook_deliveries)",
                         SW_PARAMS(delivery_id));
    /* wakes the deliverers at commit */
    if (d && sw_db_run(db, err, "SELECT pg_notify('sw_events', '')", 0, NULL) < 0) {
        json_decref(d);
        return NULL;
    }
    return d;
}

json_t *sw_data_webhooks_set_secret(struct sw_db *db, const char *account_id, const char *secret,
                                    struct sw_err *err)
{
    return sw_data_json_row(db, err, "account",
                            "INSERT INTO account_hook_secrets (account_id, secret) VALUES ($1, $2)"
                            " ON CONFLICT (account_id) DO UPDATE SET secret = EXCLUDED.secret,"
                            " created_at = now()"
                            " RETURNING json_build_object('account_id', account_id, 'secret',"
                            " secret, 'created_at', sw_ts(created_at))",
                            SW_PARAMS(account_id, secret));
}

int sw_data_webhooks_signer(struct sw_db *db, const char *account_id,
                            char secret[SW_DATA_SECRET_MAX], char kind[16], struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT h.secret, a.kind FROM account_hook_secrets h"
                               " JOIN accounts a ON a.id = h.account_id WHERE h.account_id = $1"
                               " AND a.state = 'active' AND a.kind IN ('reseller', 'operator')",
                               SW_PARAMS(account_id));
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        snprintf(secret, SW_DATA_SECRET_MAX, "%s", sw_db_get(res, 0, 0));
        snprintf(kind, 16, "%s", sw_db_get(res, 0, 1));
    }
    PQclear(res);
    return found;
}

const struct sw_data_list sw_data_webhooks_list = {"sw_webhook_json(t)", "webhook_endpoints",
                                                   "t.state <> 'deleted' AND %s", "t.account_id"};

#define DELIVERIES_OF                                                                              \
    "t.webhook_id = $2::uuid AND t.webhook_id IN (SELECT w.id FROM"                                \
    " webhook_endpoints w WHERE w.state <> 'deleted' AND %s)"

const struct sw_data_list sw_data_webhooks_deliveries = {
    "sw_webhook_delivery_json(t)", "webhook_deliveries", DELIVERIES_OF, "w.account_id"};
const struct sw_data_list sw_data_webhooks_deliveries_in_state = {
    "sw_webhook_delivery_json(t)", "webhook_deliveries", DELIVERIES_OF " AND t.state = $3",
    "w.account_id"};
