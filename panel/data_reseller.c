#include "config.h"
#include "panel/data_reseller.h"
#include "core/err.h"

#include <stdio.h>

/* Servers of the reseller's customers; $1 is the reseller. */
#define MY_SERVERS "t.owner_id IN (SELECT c.id FROM accounts c WHERE c.reseller_id = $1::uuid)"

const struct sw_data_list sw_data_reseller_servers = {"sw_server_json(t)", "servers", MY_SERVERS,
                                                      NULL};
const struct sw_data_list sw_data_reseller_customer_servers = {
    "sw_server_json(t)", "servers", MY_SERVERS " AND t.owner_id = $2::uuid", NULL};

int sw_data_reseller_lock_server(struct sw_db *db, const char *reseller_id, const char *id,
                                 struct sw_data_rs_server *out, struct sw_err *err)
{
    PGresult *res =
        sw_db_exec(db, err,
                   "SELECT t.state, (SELECT c.state FROM accounts c WHERE c.id = t.owner_id),"
                   " p.id, p.kind, p.vcpus, p.ram_mb, p.disk_gb,"
                   " EXISTS (SELECT 1 FROM jobs j WHERE j.server_id = t.id"
                   "  AND j.type = 'resize' AND j.state IN ('queued', 'running'))"
                   " FROM servers t JOIN plans p ON p.id = t.plan_id"
                   " WHERE t.id = $2 AND " MY_SERVERS " FOR UPDATE OF t",
                   SW_PARAMS(reseller_id, id));
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        snprintf(out->state, sizeof out->state, "%s", sw_db_get(res, 0, 0));
        snprintf(out->owner_state, sizeof out->owner_state, "%s", sw_db_get(res, 0, 1));
        snprintf(out->plan_id, sizeof out->plan_id, "%s", sw_db_get(res, 0, 2));
        snprintf(out->kind, sizeof out->kind, "%s", sw_db_get(res, 0, 3));
        for (int i = 0; i < 3; i++)
            out->size[i] = sw_db_get_i64(res, 0, 4 + i);
        out->resize_pending = sw_db_get_bool(res, 0, 7);
    }
    PQclear(res);
    return found;
}

json_t *sw_data_reseller_set_state(struct sw_db *db, const char *id, const char *state,
                                   struct sw_err *err)
{
    return sw_data_json_row(db, err, "server",
                            "UPDATE servers SET state = $2, updated_at = now() WHERE id = $1"
                            " RETURNING sw_server_json(servers)",
                            SW_PARAMS(id, state));
}

int sw_data_reseller_plan_size(struct sw_db *db, const char *plan_id, const char *kind,
                               int64_t size[3], struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT vcpus, ram_mb, disk_gb FROM plans"
                               " WHERE id = $1 AND state = 'active' AND kind = $2",
                               SW_PARAMS(plan_id, kind));
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    for (int i = 0; found && i < 3; i++)
        size[i] = sw_db_get_i64(res, 0, i);
    PQclear(res);
    return found;
}

/* One resource of the quota: its limit (null: none), use and what is left. */
#define QUOTA_RES(name, col)                                                                       \
    "'" name "', json_build_object('limit', q." col ", 'used', u." name ", 'available',"           \
    " CASE WHEN q." col " IS NULL THEN NULL ELSE greatest(q." col " - u." name ", 0) END)"

json_t *sw_data_reseller_quota(struct sw_db *db, const char *reseller_id, struct sw_err *err)
{
    return sw_data_json_row(
        db, err, "quota",
        "SELECT json_build_object(" QUOTA_RES("servers", "max_servers") ", " QUOTA_RES(
            "vcpus",
            "ma"
            "x_"
            "vc"
            "pu"
            "s") ", " QUOTA_RES("ram_mb",
                                "max_ram_mb") ", " QUOTA_RES("disk_gb",
                                                             "max_disk_gb") ", " QUOTA_RES("ipv4",
                                                                                           "max_"
                                                                                           "ipv4") ","
                                                                                                   " 'kinds', "
                                                                                                   "to_json("
                                                                                                   "coalesce(q."
                                                                                                   "kinds, "
                                                                                                   "ARRAY['"
                                                                                                   "container', "
                                                                                                   "'pv', 'hvm'])),"
                                                                                                   " 'limited', "
                                                                                                   "q.reseller_id "
                                                                                                   "IS NOT NULL, "
                                                                                                   "'updated_at', "
                                                                                                   "sw_ts(q."
                                                                                                   "updated_at))"
                                                                                                   " FROM "
                                                                                                   "sw_reseller_"
                                                                                                   "use($1) u LEFT "
                                                                                                   "JOIN "
                                                                                                   "reseller_"
                                                                                                   "quotas q ON "
                                                                                                   "q.reseller_id "
                                                                                                   "= $1::uuid",
        SW_PARAMS(reseller_id));
}

/* Samples stamped in [first of the month, first of the next) UTC, of every
 * server of every customer of the reseller's, deleted ones too: CPU
 * seconds, RAM MiB-hours (mem_mb x seconds / 3600), network bytes. Read
 * from the hourly sums (usage_hourly, 0011): a month is whole hours, so
 * they give the same figures as the samples, from ~720 rows per server
 * instead of one per sample. */
json_t *sw_data_reseller_usage(struct sw_db *db, const char *reseller_id, const char *month,
                               struct sw_err *err)
{
    return sw_data_json_row(
        db, err, "usage",
        "WITH w AS (SELECT ($2 || '-01T00:00:00Z')::timestamptz AS f),"
        " w2 AS (SELECT f, f + interval '1 month' AS t FROM w),"
        " s AS (SELECT c.id AS customer_id, v.id AS server_id, v.hostname, v.plan_id,"
        "  v.state, sum(u.cpu_ns) AS cpu_ns, sum(u.mem_mb_s) AS mem_mb_s,"
        "  sum(u.net_rx_bytes) AS rx, sum(u.net_tx_bytes) AS tx, sum(u.samples) AS n"
        "  FROM accounts c JOIN servers v ON v.owner_id = c.id"
        "  JOIN usage_hourly u ON u.server_id = v.id, w2"
        "  WHERE c.reseller_id = $1::uuid AND u.hour >= w2.f AND u.hour < w2.t"
        "  GROUP BY c.id, v.id),"
        " cu AS (SELECT s.customer_id, json_build_object('customer_id', s.customer_id,"
        "  'external_id', coalesce(c.external_id, c.deleted_external_id),"
        "  'email', coalesce(c.deleted_email, c.email), 'state', c.state,"
        "  'cpu_seconds', round(sum(s.cpu_ns) / 1e9, 3)::float8,"
        "  'ram_mb_hours', round(sum(s.mem_mb_s) / 3600.0, 3)::float8,"
        "  'net_rx_bytes', sum(s.rx), 'net_tx_bytes', sum(s.tx),"
        "  'servers', json_agg(json_build_object('server_id', s.server_id,"
        "   'hostname', s.hostname, 'plan_id', s.plan_id, 'state', s.state,"
        "   'cpu_seconds', round(s.cpu_ns / 1e9, 3)::float8,"
        "   'ram_mb_hours', round(s.mem_mb_s / 3600.0, 3)::float8,"
        "   'net_rx_bytes', s.rx, 'net_tx_bytes', s.tx, 'samples', s.n)"
        "   ORDER BY s.server_id)) AS j"
        "  FROM s JOIN accounts c ON c.id = s.customer_id GROUP BY s.customer_id, c.id)"
        " SELECT json_build_object('month', $2::text, 'from', sw_ts(w2.f), 'to', sw_ts(w2.t),"
        "  'customers', coalesce((SELECT json_agg(cu.j ORDER BY cu.customer_id) FROM cu),"
        "   '[]'::json),"
        "  'totals', (SELECT json_build_object("
        "   'cpu_seconds', coalesce(round(sum(s.cpu_ns) / 1e9, 3)::float8, 0),"
        "   'ram_mb_hours', coalesce(round(sum(s.mem_mb_s) / 3600.0, 3)::float8, 0),"
        "   'net_rx_bytes', coalesce(sum(s.rx), 0), 'net_tx_bytes', coalesce(sum(s.tx), 0),"
        "   'servers', count(*)) FROM s))"
        " FROM w2",
        SW_PARAMS(reseller_id, month));
}
