/* data_backups.c - the SQL of backups (data_backups.h). */
#include "config.h"
#include "panel/data_backups.h"
#include "core/db.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/json.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

const struct sw_data_list sw_data_backups_of_server = {
    "sw_backup_json(t)", "backups", "t.server_id = $1 AND t.state <> 'deleted'", NULL};
const struct sw_data_list sw_data_backup_targets = {"sw_backup_target_json(t)",
                                                    "backup_targets", "true", NULL};

int sw_data_backups_visible(struct sw_db *db, const struct sw_principal *who, const char *id,
                            struct sw_err *err)
{
    return sw_data_visible(db, err, who,
                           "SELECT 1 FROM backups b JOIN servers t ON t.id = b.server_id"
                           " WHERE b.id = $2::uuid AND b.state <> 'deleted' AND %s",
                           "t.owner_id", id);
}

json_t *sw_data_backups_get(struct sw_db *db, const char *id, struct sw_err *err)
{
    return sw_data_json_row(db, err, "backup",
                            "SELECT sw_backup_json(b) FROM backups b WHERE b.id = $1"
                            " AND b.state <> 'deleted'",
                            SW_PARAMS(id));
}

/* The target: the one asked for when active, else the default. */
static int pick_target(struct sw_db *db, const char *asked, char out[37], struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT id FROM backup_targets WHERE state = 'active'"
                               " AND CASE WHEN $1::uuid IS NULL THEN is_default"
                               "          ELSE id = $1::uuid END",
                               SW_PARAMS(asked));
    if (!res)
        return -1;
    int rc = PQntuples(res) == 1 ? 0 : -1;
    if (rc == 0)
        snprintf(out, 37, "%s", sw_db_get(res, 0, 0));
    else if (asked)
        SW_ERR(err, SW_EUNPROCESSABLE, "target_id names no active backup target");
    else
        SW_ERR(err, SW_EUNPROCESSABLE, "there is no default backup target: an operator must "
                                       "add one");
    PQclear(res);
    return rc;
}

int sw_data_backups_insert(struct sw_db *db, struct sw_data_backup_new *b, struct sw_err *err)
{
    char target[37];
    if (pick_target(db, b->target_id, target, err) < 0)
        return -1;
    sw_uuid_new(b->id);
    /* The parent: the server's newest completed backup on the target
     * that left a checkpoint (the engine falls back to full without it). */
    return sw_db_run(db, err,
                     "INSERT INTO backups (id, server_id, account_id, target_id, parent_id, kind)"
                     " SELECT $1, $2, $3, $4, p.id,"
                     "        CASE WHEN p.id IS NULL THEN 'full' ELSE 'incremental' END"
                     "   FROM (SELECT NULL) x LEFT JOIN LATERAL ("
                     "     SELECT id FROM backups WHERE server_id = $2 AND target_id = $4"
                     "        AND state = 'completed' AND checkpoint IS NOT NULL AND NOT $5"
                     "      ORDER BY completed_at DESC, id LIMIT 1) p ON true",
                     SW_PARAMS(b->id, b->server_id, b->account_id, target,
                               b->full ? "true" : "false")) < 0
               ? -1
               : 0;
}

int sw_data_backups_server_of(struct sw_db *db, const char *id, char server_id[37],
                              struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT server_id FROM backups WHERE id = $1 AND state = 'completed'"
                               " FOR SHARE", /* a DELETE waits for the restore's job */
                               SW_PARAMS(id));
    if (!res)
        return -1;
    int rc = PQntuples(res) == 1 ? 0 : -1;
    if (rc == 0)
        snprintf(server_id, 37, "%s", sw_db_get(res, 0, 0));
    else
        SW_ERR(err, SW_EUNPROCESSABLE, "only a completed backup can be restored");
    PQclear(res);
    return rc;
}

int sw_data_backups_set_job(struct sw_db *db, const char *id, const char *job_id,
                            struct sw_err *err)
{
    return sw_db_run(db, err, "UPDATE backups SET job_id = $2 WHERE id = $1",
                     SW_PARAMS(id, job_id)) < 0
               ? -1
               : 0;
}

int sw_data_backups_server_node(struct sw_db *db, const char *server_id, char owner[37],
                                struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT s.owner_id, coalesce(n.engine_uri, '') NOT LIKE 'test:%'"
                               "  FROM servers s LEFT JOIN nodes n ON n.id = s.node_id"
                               " WHERE s.id = $1",
                               SW_PARAMS(server_id));
    if (!res)
        return -1;
    int rc = -1;
    if (PQntuples(res) == 1) {
        snprintf(owner, 37, "%s", sw_db_get(res, 0, 0));
        rc = sw_db_get_bool(res, 0, 1) ? 1 : 0;
    } else {
        SW_ERR(err, SW_ENOTFOUND, "server not found");
    }
    PQclear(res);
    return rc;
}

json_t *sw_data_targets_insert(struct sw_db *db, const struct sw_data_target *t,
                               struct sw_err *err)
{
    sw_uuid_t id;
    sw_uuid_new(id);
    return sw_data_json_row(
        db, err, "backup target",
        "INSERT INTO backup_targets (id, name, kind, config, secret_sealed, on_node_ok,"
        " is_default) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7)"
        " RETURNING sw_backup_target_json(backup_targets)",
        SW_PARAMS(id, t->name, t->kind, t->config, t->secret_wrapped,
                  t->on_node_ok ? "true" : "false", t->is_default ? "true" : "false"));
}

json_t *sw_data_targets_update(struct sw_db *db, const char *id, const char *state,
                               int is_default, int on_node_ok, struct sw_err *err)
{
    const char *def = is_default < 0 ? NULL : is_default ? "true" : "false";
    const char *onn = on_node_ok < 0 ? NULL : on_node_ok ? "true" : "false";
    return sw_data_json_row(
        db, err, "backup target",
        "UPDATE backup_targets SET state = coalesce($2, state),"
        " is_default = coalesce($3::boolean, is_default),"
        " on_node_ok = coalesce($4::boolean, on_node_ok) WHERE id = $1"
        " RETURNING sw_backup_target_json(backup_targets)",
        SW_PARAMS(id, state, def, onn));
}

/* ---- policies ---- */

const struct sw_data_list sw_data_backups_all = {"sw_backup_json(t)", "backups", "true", NULL};
const struct sw_data_list sw_data_backups_stale = {
    "jsonb_build_object('server_id', t.server_id, 'schedule', t.schedule, 'last_completed_at',"
    " to_char(t.last_completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))",
    "backup_stale", "true", NULL};

json_t *sw_data_backup_policy_put(struct sw_db *db, const char *col, const char *id,
                                  const json_t *body, struct sw_err *err)
{
    char *b = sw_json_dump(body);
    sw_uuid_t pid;
    sw_uuid_new(pid);
    /* col is "server_id" or "plan_id" (the route's, never the caller's). */
    char *sql = sw_asprintf(
        "INSERT INTO backup_policies AS p (id, %s, schedule, weekday, window_start, window_end,"
        " keep_last, keep_daily, keep_weekly, keep_monthly, target_id)"
        " SELECT $1, $2, coalesce(j->>'schedule', 'daily'), coalesce((j->>'weekday')::int, 0),"
        " coalesce((j->>'window_start')::int, 0), coalesce((j->>'window_end')::int, 6),"
        " coalesce((j->>'keep_last')::int, 0), coalesce((j->>'keep_daily')::int, 7),"
        " coalesce((j->>'keep_weekly')::int, 4), coalesce((j->>'keep_monthly')::int, 0),"
        " (j->>'target_id')::uuid FROM (SELECT $3::jsonb AS j) x"
        " ON CONFLICT (%s) DO UPDATE SET schedule = EXCLUDED.schedule,"
        " weekday = EXCLUDED.weekday, window_start = EXCLUDED.window_start,"
        " window_end = EXCLUDED.window_end, keep_last = EXCLUDED.keep_last,"
        " keep_daily = EXCLUDED.keep_daily, keep_weekly = EXCLUDED.keep_weekly,"
        " keep_monthly = EXCLUDED.keep_monthly, target_id = EXCLUDED.target_id"
        " RETURNING sw_backup_policy_json(p)",
        col, col);
    json_t *out = sw_data_json_row(db, err, "backup policy", sql, SW_PARAMS(pid, id, b));
    free(sql);
    free(b);
    if (!out && err->code == SW_EINVALID)
        SW_ERR(err, SW_EINVALID, "a policy value is out of range (weekday 0-6, hours 0-24 with "
                                 "window_start < window_end, keeps not negative) or target_id "
                                 "names no backup target");
    return out;
}

json_t *sw_data_backup_policy_get(struct sw_db *db, const char *col, const char *id, bool del,
                                  struct sw_err *err)
{
    char *sql = del ? sw_asprintf("DELETE FROM backup_policies p WHERE %s = $1"
                                  " RETURNING sw_backup_policy_json(p)", col)
                    : sw_asprintf("SELECT sw_backup_policy_json(p) FROM backup_policies p"
                                  " WHERE %s = $1", col);
    json_t *out = sw_data_json_row(db, err, "backup policy", sql, SW_PARAMS(id));
    free(sql);
    return out;
}

int sw_data_backup_plan_exists(struct sw_db *db, const char *plan_id, struct sw_err *err)
{
    return sw_data_exists(db, err, "SELECT 1 FROM plans WHERE id = $1", SW_PARAMS(plan_id));
}

/* ---- restore as a new server ---- */

static void copy_col(const PGresult *res, int col, char *out, size_t n)
{
    snprintf(out, n, "%s", sw_db_get(res, 0, col) ? sw_db_get(res, 0, col) : "");
}

int sw_data_backups_restore_source(struct sw_db *db, const char *id, const char *plan_id,
                                   struct sw_data_restore_src *src, struct sw_err *err)
{
    PGresult *res = sw_db_exec(
        db, err,
        "SELECT b.state, b.account_id, b.bytes_logical, s.hostname, s.template_id,"
        "       coalesce(s.location_id, sw_node_location(s.node_id)),"
        "       to_json(coalesce(s.ssh_keys, '{}'))::text, sp.kind, p.id, p.kind, p.disk_gb"
        "  FROM backups b JOIN servers s ON s.id = b.server_id JOIN plans sp ON sp.id = s.plan_id"
        "  LEFT JOIN plans p ON p.id = coalesce($2::uuid, s.plan_id)"
        " WHERE b.id = $1 AND b.state <> 'deleted'"
        " FOR SHARE OF b", /* a DELETE waits for the new server's create job */
        SW_PARAMS(id, plan_id));
    if (!res)
        return -1;
    memset(src, 0, sizeof *src);
    int rc = -1;
    if (PQntuples(res) != 1)
        SW_ERR(err, SW_ENOTFOUND, "backup not found");
    else if (strcmp(sw_db_get(res, 0, 0), "completed") != 0)
        SW_ERR(err, SW_EUNPROCESSABLE, "only a completed backup can be restored");
    else
        rc = 0;
    if (rc == 0) {
        copy_col(res, 1, src->owner_id, sizeof src->owner_id);
        src->bytes_logical = sw_db_get_i64(res, 0, 2);
        copy_col(res, 3, src->hostname, sizeof src->hostname);
        copy_col(res, 4, src->template_id, sizeof src->template_id);
        copy_col(res, 5, src->location_id, sizeof src->location_id);
        src->ssh_keys = sw_strdup(sw_db_get(res, 0, 6));
        copy_col(res, 7, src->kind, sizeof src->kind);
        copy_col(res, 8, src->plan_id, sizeof src->plan_id);
        copy_col(res, 9, src->plan_kind, sizeof src->plan_kind);
        src->plan_disk_gb = src->plan_id[0] ? sw_db_get_i64(res, 0, 10) : 0;
    }
    PQclear(res);
    return rc;
}

json_t *sw_data_backups_mark_restore(struct sw_db *db, const char *server_id, const char *job_id,
                                     const char *backup_id, struct sw_err *err)
{
    long n = sw_db_run(db, err,
                       "UPDATE jobs SET params = params || jsonb_build_object('backup_id', $2::text)"
                       " WHERE id = $1 AND type = 'create'",
                       SW_PARAMS(job_id, backup_id));
    if (n != 1) {
        if (n == 0)
            SW_ERR(err, SW_EINTERNAL, "the new server's create job is gone");
        return NULL;
    }
    return sw_data_json_row(db, err, "server",
                            "UPDATE servers SET restored_from = $2 WHERE id = $1"
                            " RETURNING sw_server_json(servers)",
                            SW_PARAMS(server_id, backup_id));
}
