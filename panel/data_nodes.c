/* data_nodes.c - the SQL of the operator's node routes (data_nodes.h). */
#include "config.h"
#include "panel/data_nodes.h"
#include "core/alloc.h"
#include "core/db.h"
#include "core/diskpool.h"
#include "core/err.h"
#include "core/json.h"
#include "panel/admin.h"
#include "panel/admin_util.h"
#include "panel/data.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROW_SQL                                                                                    \
    "SELECT n.cpus, n.ram_mb, n.reserved_ram_mb, n.disk_gb, n.cpu_ratio::text,"                    \
    " n.ram_ratio::text, n.engine_uri, n.kinds::text, n.state FROM nodes n WHERE n.id = $1"

/* Row 0 of a ROW_SQL result into *row. */
static int row_of(const PGresult *res, struct sw_node_row *row, struct sw_err *err)
{
    struct sw_node_inv *inv = &row->inv;
    inv->cpus = sw_db_get_i64(res, 0, 0);
    inv->ram_mb = sw_db_get_i64(res, 0, 1);
    inv->reserved_ram_mb = sw_db_get_i64(res, 0, 2);
    inv->disk_gb = sw_db_get_i64(res, 0, 3);
    if (sw_ratio_parse(sw_db_get(res, 0, 4), &inv->cpu_ratio_milli) < 0 ||
        sw_ratio_parse(sw_db_get(res, 0, 5), &inv->ram_ratio_milli) < 0) {
        SW_ERR(err, SW_EINTERNAL, "node has a malformed ratio");
        return -1;
    }
    snprintf(row->engine_uri, sizeof row->engine_uri, "%s", sw_db_get(res, 0, 6));
    snprintf(row->kinds, sizeof row->kinds, "%s", sw_db_get(res, 0, 7));
    snprintf(row->state, sizeof row->state, "%s", sw_db_get(res, 0, 8));
    row->mask = 0;
    for (int k = 0; k < SW_KIND__COUNT; k++)
        if (strstr(row->kinds, sw_plan_kind_name(k)))
            row->mask |= 1u << k;
    return 0;
}

static int read_row(struct sw_db *db, const char *sql, const char *id, struct sw_node_row *row,
                    struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err, sql, SW_PARAMS(id));
    if (!res)
        return -1;
    int rc = -1;
    if (PQntuples(res) != 1)
        SW_ERR(err, SW_ENOTFOUND, "node not found");
    else
        rc = row_of(res, row, err);
    PQclear(res);
    return rc;
}

int sw_data_nodes_read(struct sw_db *db, const char *id, struct sw_node_row *row,
                       struct sw_err *err)
{
    return read_row(db, ROW_SQL, id, row, err);
}

int sw_data_nodes_lock(struct sw_db *db, const char *id, struct sw_node_row *row,
                       struct sw_err *err)
{
    return read_row(db, ROW_SQL " FOR UPDATE", id, row, err);
}

int sw_data_nodes_used(struct sw_db *db, const char *id, struct sw_amounts *used,
                       struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT coalesce(sum(vcpus), 0), coalesce(sum(mem_guar_mb), 0),"
                               " coalesce(sum(mem_max_mb), 0), coalesce(sum(disk_gb), 0)"
                               " FROM allocations WHERE node_id = $1",
                               SW_PARAMS(id));
    if (!res)
        return -1;
    for (int c = 0; c < SW_RC__COUNT; c++)
        used->v[c] = sw_db_get_i64(res, 0, c);
    PQclear(res);
    return 0;
}

int sw_data_nodes_disk(struct sw_db *db, const char *id, int64_t *disk_gb, struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err, "SELECT coalesce((SELECT figures FROM sw_node_pool_figures()"
                               " WHERE node_id = $1), '')", SW_PARAMS(id));
    if (!res)
        return -1;
    struct sw_diskpool_sum sum;
    int rc = sw_diskpool_node(sw_db_get(res, 0, 0), *disk_gb, &sum);
    PQclear(res);
    if (rc < 0) {
        SW_ERR(err, SW_EINTERNAL, "the pools of node %s do not read", id);
        return -1;
    }
    *disk_gb = sum.capacity_gb;
    return 0;
}

int sw_data_nodes_live(struct sw_db *db, const char *id, int64_t live[SW_KIND__COUNT],
                       struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT p.kind, count(*) FROM allocations a JOIN servers s ON s.id ="
                               " a.server_id JOIN plans p ON p.id = s.plan_id WHERE a.node_id = $1"
                               " GROUP BY p.kind ORDER BY p.kind",
                               SW_PARAMS(id));
    if (!res)
        return -1;
    for (int k = 0; k < SW_KIND__COUNT; k++)
        live[k] = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        int k = sw_plan_kind_parse(sw_db_get(res, i, 0));
        if (k >= 0)
            live[k] = sw_db_get_i64(res, i, 1);
    }
    PQclear(res);
    return 0;
}

int sw_data_nodes_set_balloon(struct sw_db *db, const char *id, const json_t *policy,
                              struct sw_err *err)
{
    SW_AUTOFREE char *pol = sw_json_dump(policy);
    return sw_db_run(db, err, "UPDATE nodes SET balloon = $2::jsonb WHERE id = $1",
                     SW_PARAMS(id, pol)) < 0
               ? -1
               : 0;
}

/* The row's columns from $2 on, as text: engine_uri, kinds, cpus, ram_mb,
 * disk_gb, reserved_ram_mb, cpu_ratio, ram_ratio, state. */
struct row_text {
    char c[24], r[24], d[24], rr[24], cr[24], rmr[24];
};

static void row_text(const struct sw_node_row *row, struct row_text *t)
{
    sw_adm_i64(t->c, row->inv.cpus);
    sw_adm_i64(t->r, row->inv.ram_mb);
    sw_adm_i64(t->d, row->inv.disk_gb);
    sw_adm_i64(t->rr, row->inv.reserved_ram_mb);
    sw_ratio_format(row->inv.cpu_ratio_milli, t->cr);
    sw_ratio_format(row->inv.ram_ratio_milli, t->rmr);
}

json_t *sw_data_nodes_update(struct sw_db *db, const char *id, const struct sw_node_row *row,
                             struct sw_err *err)
{
    struct row_text t;
    row_text(row, &t);
    return sw_data_json_row(
        db, err, "node",
        "WITH u AS (UPDATE nodes SET engine_uri = $2, kinds = $3::text[], cpus = $4, ram_mb = $5,"
        "  disk_gb = $6, reserved_ram_mb = $7, cpu_ratio = $8::numeric, ram_ratio = $9::numeric,"
        "  state = $10, generation = generation + 1"
        "  WHERE id = $1 AND (engine_uri, kinds, cpus, ram_mb, disk_gb, reserved_ram_mb,"
        "  cpu_ratio, ram_ratio, state) IS DISTINCT FROM ($2, $3::text[], $4, $5, $6, $7,"
        "  $8::numeric, $9::numeric, $10) RETURNING sw_node_json(nodes) AS j)"
        " SELECT coalesce((SELECT j FROM u), (SELECT sw_node_json(n) FROM nodes n"
        " WHERE n.id = $1))",
        SW_PARAMS(id, row->engine_uri, row->kinds, t.c, t.r, t.d, t.rr, t.cr, t.rmr, row->state));
}

json_t *sw_data_nodes_insert(struct sw_db *db, const char *id, const char *name,
                             const char *location_id, const struct sw_node_row *row,
                             const char *public_key, const char *redis_sha256,
                             struct sw_err *err)
{
    struct row_text t;
    row_text(row, &t);
    return sw_data_json_row(
        db, err, "node",
        "INSERT INTO nodes (id, name, location_id, engine_uri, kinds, cpus, ram_mb, disk_gb,"
        " reserved_ram_mb, cpu_ratio, ram_ratio, state, public_key, redis_password_sha256)"
        " VALUES ($1, $2, $3, $4, $5::text[], $6, $7, $8, $9, $10::numeric, $11::numeric, $12,"
        " $13, $14) RETURNING sw_node_json(nodes)",
        SW_PARAMS(id, name, location_id, row->engine_uri, row->kinds, t.c, t.r, t.d, t.rr, t.cr,
                  t.rmr, row->state, public_key, redis_sha256));
}

json_t *sw_data_nodes_set_key(struct sw_db *db, const char *id, const char *public_key,
                              const char *redis_sha256, struct sw_err *err)
{
    return sw_data_json_row(db, err, "node",
                            "UPDATE nodes SET public_key = $2, redis_password_sha256 = $3"
                            " WHERE id = $1 RETURNING sw_node_json(nodes)",
                            SW_PARAMS(id, public_key, redis_sha256));
}

int sw_data_nodes_set_role(struct sw_db *db, const char *id, const char *password,
                           char role[64], struct sw_err *err)
{
    /* the user name only salts md5; SCRAM makes its own salt */
    char *verifier = PQencryptPasswordConn(sw_db_conn(db), password, "", "scram-sha-256");
    if (!verifier) {
        SW_ERR(err, SW_EINTERNAL, "could not make the node's database password verifier");
        return -1;
    }
    PGresult *res = sw_db_exec(db, err, "SELECT slipway_node_role_set($1, $2)",
                               SW_PARAMS(id, verifier));
    sodium_memzero(verifier, strlen(verifier));
    PQfreemem(verifier);
    if (!res)
        return -1;
    snprintf(role, 64, "%s", sw_db_get(res, 0, 0));
    PQclear(res);
    return 0;
}

int sw_data_nodes_set_pools(struct sw_db *db, const char *id, const json_t *rows,
                            struct sw_err *err)
{
    char *text = json_dumps(rows, JSON_COMPACT);
    PGresult *res = sw_db_exec(
        db, err,
        "SELECT d.pool FROM server_disks d JOIN servers s ON s.id = d.server_id"
        " WHERE s.node_id = $1 AND s.state <> 'terminated' AND d.pool NOT IN"
        " (SELECT r.name FROM json_to_recordset($2::json) AS r(name text)) LIMIT 1",
        SW_PARAMS(id, text));
    int rc = -1;
    if (!res)
        goto out;
    if (PQntuples(res) == 1) {
        SW_ERR(err, SW_ECONFLICT, "pools must keep \"%s\": it holds disks of servers on the node",
               sw_db_get(res, 0, 0));
        PQclear(res);
        goto out;
    }
    PQclear(res);
    /* A pool kept with its type and path keeps the engine's last report:
     * placement reads it (provisioner/README.md "Storage pools"), and a
     * changed threshold or ratio must not make the node look unreported
     * until its next report. */
    if (sw_db_run(db, err,
                  "DELETE FROM node_pools WHERE node_id = $1 AND name NOT IN"
                  " (SELECT r.name FROM json_to_recordset($2::json) AS r(name text))",
                  SW_PARAMS(id, text)) < 0 ||
        sw_db_run(db, err,
                  "INSERT INTO node_pools AS o (node_id, name, type, path, shared, disk_ratio,"
                  " fill_threshold, position) SELECT $1, r.name, r.type, r.path, r.shared,"
                  " r.disk_ratio, r.fill_threshold, r.position FROM json_to_recordset($2::json)"
                  " AS r(name text, type text, path text, shared boolean, disk_ratio numeric,"
                  " fill_threshold integer, position integer)"
                  " ON CONFLICT (node_id, name) DO UPDATE SET type = excluded.type,"
                  " path = excluded.path, shared = excluded.shared,"
                  " disk_ratio = excluded.disk_ratio, fill_threshold = excluded.fill_threshold,"
                  " position = excluded.position, (present, capacity_bytes, allocation_bytes,"
                  " available_bytes, reported_at) = (SELECT o.present, o.capacity_bytes,"
                  " o.allocation_bytes, o.available_bytes, o.reported_at WHERE (o.type, o.path)"
                  " IS NOT DISTINCT FROM (excluded.type, excluded.path))",
                  SW_PARAMS(id, text)) < 0)
        goto out;
    rc = 0;
out:
    free(text);
    return rc;
}

json_t *sw_data_nodes_get(struct sw_db *db, const char *id, struct sw_err *err)
{
    json_t *node = sw_data_json_row(
        db, err, "node",
        "SELECT (sw_node_json(n)::jsonb || jsonb_build_object('migrate_uri', n.migrate_uri,"
        " 'migrate_stream_uri', n.migrate_stream_uri) || jsonb_build_object('pools', (SELECT"
        " coalesce(jsonb_agg(jsonb_build_object('name', p.name, 'type', p.type, 'path', p.path,"
        " 'shared', p.shared, 'disk_ratio', p.disk_ratio, 'fill_threshold', p.fill_threshold,"
        " 'present', p.present, 'capacity_bytes', p.capacity_bytes, 'allocation_bytes',"
        " p.allocation_bytes, 'available_bytes', p.available_bytes, 'reported_at',"
        " sw_ts(p.reported_at), 'allocated_gb', (SELECT coalesce(sum(pl.disk_gb), 0)"
        "  FROM servers s JOIN plans pl ON pl.id = s.plan_id WHERE s.node_id = n.id"
        "  AND s.state <> 'terminated' AND EXISTS (SELECT 1 FROM server_disks d"
        "  WHERE d.server_id = s.id AND d.pool = p.name AND d.role = 'root')))"
        " ORDER BY p.position, p.name), '[]'::jsonb)"
        " FROM node_pools p WHERE p.node_id = n.id)))::json FROM nodes n WHERE n.id = $1",
        SW_PARAMS(id));
    if (node)
        sw_node_pools_view(node); /* admin_pools.c: capacity_gb, full */
    return node;
}
