#include "config.h"
#include "panel/data_servers.h"
#include "core/alloc.h"
#include "core/err.h"
#include "panel/api.h"

#include <stdio.h>
#include <stdlib.h>

json_t *sw_data_servers_get(struct sw_db *db, const struct sw_principal *who, const char *id,
                            struct sw_err *err)
{
    /* disks: as the server's engine last answered them (server_disks,
     * checked by the provisioner); a terminated server has none. */
    json_t *row = sw_data_json_row_scoped(
        db, err, "server", who,
        "SELECT (sw_server_json(t)::jsonb || jsonb_build_object('disks',"
        "  (SELECT coalesce(jsonb_agg(jsonb_build_object('role', d.role,"
        "    'size_gb', d.capacity_bytes / 1073741824, 'format', d.format, 'pool', d.pool)"
        "    ORDER BY d.role <> 'root', d.volume), '[]'::jsonb)"
        "   FROM server_disks d WHERE d.server_id = t.id AND t.state <> 'terminated'))"
        /* the mounted ISO and boot order (migration 0023, iso_actions.c) */
        " || jsonb_build_object('iso', (SELECT jsonb_build_object('id', i.id, 'name', i.name)"
        "   FROM images i WHERE i.id = t.iso_id), 'boot', t.boot)"
        " || jsonb_build_object('node_id', t.node_id))::json"
        " FROM servers t WHERE t.id = $2 AND %s",
        "t.owner_id", SW_PARAMS(who->account_id, id));
    /* The node is the operators' to see (issue 15); a tenant's view is node-free. */
    if (row && !(who->role & SW_ROLE_OPERATOR))
        json_object_del(row, "node_id");
    return row;
}

int sw_data_servers_visible(struct sw_db *db, const struct sw_principal *who, const char *id,
                            struct sw_err *err)
{
    return sw_data_visible(db, err, who, "SELECT 1 FROM servers t WHERE t.id = $2::uuid AND %s",
                           "t.owner_id", id);
}

/* Per hour: CPU seconds, RAM MiB-hours (mem_mb x seconds / 3600), network
 * and disk bytes. */
json_t *sw_data_servers_usage(struct sw_db *db, const struct sw_principal *who, const char *id,
                              const char *from, const char *to, struct sw_err *err)
{
    return sw_data_json_row_scoped(
        db, err, "server", who,
        "WITH w AS (SELECT coalesce($3::timestamptz, now() - interval '24 hours') AS f,"
        "  coalesce($4::timestamptz, now()) AS t),"
        " srv AS (SELECT t.id FROM servers t WHERE t.id = $2 AND %s),"
        " h AS (SELECT date_trunc('hour', u.ts) AS hour, sum(u.cpu_ns) AS cpu_ns,"
        "  sum(u.mem_mb * u.period_s) AS mem_mb_s, sum(u.net_rx_bytes) AS rx,"
        "  sum(u.net_tx_bytes) AS tx, sum(u.disk_rd_bytes) AS rd, sum(u.disk_wr_bytes) AS wr,"
        "  count(*) AS n FROM usage_samples u, w WHERE u.server_id = (SELECT id FROM srv)"
        "  AND u.ts > w.f AND u.ts <= w.t GROUP BY 1)"
        " SELECT json_build_object('server_id', (SELECT id FROM srv),"
        "  'from', (SELECT sw_ts(f) FROM w), 'to', (SELECT sw_ts(t) FROM w),"
        "  'items', coalesce((SELECT json_agg(json_build_object('hour', sw_ts(hour),"
        "   'cpu_seconds', round(cpu_ns / 1e9, 3), 'ram_mb_hours', round(mem_mb_s / 3600.0, 3),"
        "   'net_rx_bytes', rx, 'net_tx_bytes', tx, 'disk_read_bytes', rd,"
        "   'disk_write_bytes', wr, 'samples', n) ORDER BY hour) FROM h), '[]'::json))"
        " WHERE EXISTS (SELECT 1 FROM srv)",
        "t.owner_id", SW_PARAMS(who->account_id, id, from, to));
}

/* Copies the first row's columns into state (and kind when not NULL); no
 * row is SW_ENOTFOUND. res is consumed. */
static int read_state(PGresult *res, char state[24], char kind[24], struct sw_err *err)
{
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        SW_ERR(err, SW_ENOTFOUND, "server not found");
        return -1;
    }
    snprintf(state, 24, "%s", sw_db_get(res, 0, 0));
    if (kind)
        snprintf(kind, 24, "%s", sw_db_get(res, 0, 1));
    PQclear(res);
    return 0;
}

int sw_data_servers_lock(struct sw_db *db, const char *id, char state[24], char kind[24],
                         struct sw_err *err)
{
    return read_state(sw_db_exec(db, err,
                                 "SELECT s.state, p.kind FROM servers s JOIN plans p"
                                 " ON p.id = s.plan_id WHERE s.id = $1 FOR UPDATE OF s",
                                 SW_PARAMS(id)),
                      state, kind, err);
}

int sw_data_servers_lock_scoped(struct sw_db *db, const struct sw_principal *who, const char *id,
                                char state[24], struct sw_err *err)
{
    char *sql = sw_data_sql_scoped(
        who, "SELECT t.state FROM servers t WHERE t.id = $2 AND %s FOR UPDATE", "t.owner_id");
    PGresult *res = sw_db_exec(db, err, sql, SW_PARAMS(who->account_id, id));
    free(sql);
    return read_state(res, state, NULL, err);
}

int sw_data_servers_growth(struct sw_db *db, const char *id, const char *plan_id, char reseller[37],
                           int64_t grow[3], struct sw_err *err)
{
    PGresult *res = sw_db_exec(
        db, err,
        "SELECT o.reseller_id, GREATEST(n.vcpus - p.vcpus, 0),"
        " GREATEST(n.ram_mb - p.ram_mb, 0), GREATEST(n.disk_gb - p.disk_gb, 0)"
        " FROM servers s JOIN accounts o ON o.id = s.owner_id JOIN plans p ON p.id = s.plan_id,"
        " plans n WHERE s.id = $1 AND n.id = $2",
        SW_PARAMS(id, plan_id));
    if (!res)
        return -1;
    int found = PQntuples(res) == 1 && sw_db_get(res, 0, 0);
    if (found) {
        snprintf(reseller, 37, "%s", sw_db_get(res, 0, 0));
        for (int i = 0; i < 3; i++)
            grow[i] = sw_db_get_i64(res, 0, i + 1);
    }
    PQclear(res);
    return found;
}

json_t *sw_data_servers_insert(struct sw_db *db, const struct sw_data_server_new *s,
                               struct sw_err *err)
{
    return sw_data_json_row(
        db, err, "server",
        "INSERT INTO servers (id, owner_id, plan_id, template_id, location_id, hostname,"
        " ssh_keys) VALUES ($1, $2, $3, $4, $5, $6,"
        " ARRAY(SELECT json_array_elements_text($7::json)))"
        " RETURNING sw_server_json(servers)",
        SW_PARAMS(s->id, s->owner_id, s->plan_id, s->template_id, s->location_id, s->hostname,
                  s->ssh_keys));
}

const struct sw_data_list sw_data_servers_list = {"sw_server_json(t)", "servers", "%s",
                                                  "t.owner_id"};
