/* migrate.c - the migrate job's rows (migrate.h, README.md "Migration"):
 * what its node job carries, its results, what it settles. */
#include "config.h"

#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"
#include "core/resource.h"
#include "provisioner/jobdb.h"
#include "provisioner/migrate.h"

#include <stdio.h>
#include <string.h>

/* ---- what the node job carries ---- */

/* Every volume of the server lies in a pool of the same name that is
 * shared on both nodes (a server without recorded volumes has none to
 * move). */
#define SHARED_COL                                                                                 \
    " NOT EXISTS (SELECT 1 FROM server_disks d WHERE d.server_id = s.id AND NOT EXISTS ("          \
    "   SELECT 1 FROM node_pools a JOIN node_pools b ON b.name = a.name AND b.shared"              \
    "    WHERE a.node_id::text = coalesce(j.params->>'from_node_id', s.node_id::text)"            \
    "      AND a.shared AND a.name = d.pool AND b.node_id = n.id))"

static const char sql_load[] =
    "SELECT n.id, coalesce(n.migrate_uri, n.engine_uri), coalesce(n.migrate_stream_uri, ''),"
    "       coalesce((j.params->>'live')::boolean, false),"
    "       coalesce(j.params->>'phase', 'source'),"
    "       coalesce((j.params->>'was_running')::boolean, false),"
    /* the target's epoch: one more than now, unless a cold move's source
     * half handed the server over already (sw_mig_result) */
    "       s.epoch + (s.node_id IS DISTINCT FROM n.id)::int,"
    "       coalesce((j.params->>'bandwidth_mib')::bigint, 0)," SHARED_COL
    "  FROM jobs j JOIN servers s ON s.id = j.server_id"
    "  JOIN nodes n ON n.id::text = j.params->>'to_node_id'"
    " WHERE j.id = $1";

int sw_mig_load_job(struct sw_db *db, struct sw_job_row *row, struct sw_err *err)
{
    memset(&row->migrate, 0, sizeof row->migrate);
    if (row->type != SW_JOB_MIGRATE)
        return 0;
    PGresult *res = sw_db_exec(db, err, sql_load, SW_PARAMS(row->job_id));
    if (!res)
        return -1;
    struct sw_msg_migrate *m = &row->migrate;
    if (PQntuples(res) == 1) { /* none before the claim names the target */
        snprintf(m->to_node_id, sizeof m->to_node_id, "%s", sw_db_get(res, 0, 0));
        snprintf(m->target_uri, sizeof m->target_uri, "%s", sw_db_get(res, 0, 1));
        snprintf(m->migrate_uri, sizeof m->migrate_uri, "%s", sw_db_get(res, 0, 2));
        m->live = strcmp(sw_db_get(res, 0, 3), "t") == 0;
        snprintf(m->phase, sizeof m->phase, "%s", sw_db_get(res, 0, 4));
        m->was_running = strcmp(sw_db_get(res, 0, 5), "t") == 0;
        m->epoch = sw_db_get_i64(res, 0, 6);
        m->bandwidth_mib = sw_db_get_i64(res, 0, 7);
        m->shared = strcmp(sw_db_get(res, 0, 8), "t") == 0;
    }
    PQclear(res);
    return 0;
}

/* ---- results ---- */

int sw_mig_result(struct sw_db *db, const struct sw_job_row *row, const struct sw_msg_result *m,
                  struct sw_err *err)
{
    const struct sw_msg_migrate_result *r = &m->migrate;
    if (r->has) {
        char down[24], total[24];
        snprintf(down, sizeof down, "%lld", (long long)r->downtime_ms);
        snprintf(total, sizeof total, "%lld", (long long)r->total_ms);
        if (sw_db_run(db, err,
                      "UPDATE jobs SET params = params || jsonb_build_object('downtime_ms',"
                      " $2::bigint, 'total_ms', $3::bigint, 'moved_live', $4::boolean)"
                      " WHERE id = $1",
                      SW_PARAMS(row->job_id, down, total,
                                r->moved && r->downtime_ms >= 0 ? "true" : "false")) < 0)
            return -1;
    }
    if (!m->ok || r->moved || strcmp(row->migrate.phase, SW_MIGMSG_SOURCE) != 0 ||
        !row->migrate.to_node_id[0])
        return 0;
    /* A cold move's source half: the domain is stopped and undefined there
     * (its test-driver volumes with it); the target defines it now. The
     * server's node is the target from here on (0030's trigger bumps the epoch), so the
     * source's reconciliation no longer brings it back there: never two
     * copies. Its allocation stays on the source and the claim on the
     * target until the move ends (sw_mig_settle). */
    long n = sw_db_run(db, err,
                       "WITH s AS (UPDATE servers SET node_id = $2::uuid, updated_at = now()"
                       "  WHERE id = $3)"
                       " UPDATE jobs SET node_id = $2::uuid, updated_at = now(),"
                       " params = params || '{\"phase\": \"target\"}' WHERE id = $1",
                       SW_PARAMS(row->job_id, row->migrate.to_node_id, row->server_id));
    return n < 0 ? -1 : 1;
}

/* ---- settle ---- */

/* Success: the server, its allocation and its addresses (kept: the target
 * is in the same location) go to the target; the trigger of 0030 bumps
 * servers.epoch. */
static const char sql_moved[] =
    "WITH c AS (DELETE FROM migration_claims WHERE server_id = $1 AND job_id = $2"
    "           RETURNING node_id),"
    " a AS (UPDATE allocations SET node_id = (SELECT node_id FROM c) WHERE server_id = $1"
    "       AND EXISTS (SELECT 1 FROM c)),"
    " s AS (UPDATE servers SET node_id = (SELECT node_id FROM c), updated_at = now()"
    "       WHERE id = $1 AND EXISTS (SELECT 1 FROM c)"
    "       RETURNING id, owner_id, node_id)"
    " SELECT sw_event_emit('server.migrated', s.owner_id, jsonb_build_object("
    "   'server_id', s.id, 'from_node_id', j.params->>'from_node_id', 'to_node_id', s.node_id,"
    "   'live', coalesce((j.params->>'moved_live')::boolean, false),"
    "   'downtime_ms', (j.params->>'downtime_ms')::bigint,"
    "   'total_ms', (j.params->>'total_ms')::bigint))"
    "  FROM s, jobs j WHERE j.id = $2";

/* Failure: the claim goes; a cold move whose source half had handed the
 * server over gives it back to the source (where its allocation still is;
 * the epoch moves on again, so a definition the target may have left is
 * stale there, and the source's reconciliation brings the domain back). */
static const char sql_failed[] =
    "WITH c AS (DELETE FROM migration_claims WHERE server_id = $1 AND job_id = $2)"
    " UPDATE servers s SET node_id = (j.params->>'from_node_id')::uuid, updated_at = now()"
    "  FROM jobs j WHERE j.id = $2 AND s.id = $1 AND j.params ? 'from_node_id'"
    "   AND s.node_id::text = j.params->>'to_node_id'";

int sw_mig_settle(struct sw_db *db, const struct sw_job_row *row, bool ok, struct sw_err *err)
{
    if (!ok)
        return sw_db_run(db, err, sql_failed, SW_PARAMS(row->server_id, row->job_id)) < 0 ? -1 : 0;
    PGresult *res = sw_db_exec(db, err, sql_moved, SW_PARAMS(row->server_id, row->job_id));
    if (!res)
        return -1;
    int moved = PQntuples(res);
    PQclear(res);
    sw_info("server.migrated", "job=%s server=%s to=%s moved=%d", row->job_id, row->server_id,
            row->migrate.to_node_id, moved);
    return 0;
}
