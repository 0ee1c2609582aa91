#include "config.h"
#include "panel/data_suspensions.h"
#include "core/alloc.h"
#include "core/enums.h"
#include "core/err.h"
#include "panel/data_jobs.h"

#include <stdio.h>
#include <stdlib.h>

/* The rows of res as an array of n elements of size each, filled by fill;
 * res is consumed. */
static void *rows(PGresult *res, size_t size, size_t *n,
                  void (*fill)(const PGresult *res, int row, void *out))
{
    if (!res) {
        *n = (size_t)-1;
        return NULL;
    }
    *n = (size_t)PQntuples(res);
    char *a = *n ? sw_calloc(*n, size) : NULL;
    for (size_t i = 0; i < *n; i++)
        fill(res, (int)i, a + i * size);
    PQclear(res);
    return a;
}

static void fill_server(const PGresult *res, int i, void *out)
{
    struct sw_data_susp_server *s = out;
    snprintf(s->id, sizeof s->id, "%s", sw_db_get(res, i, 0));
    snprintf(s->state, sizeof s->state, "%s", sw_db_get(res, i, 1));
    s->suspend_pending = sw_db_get_bool(res, i, 2);
}

struct sw_data_susp_server *sw_data_suspensions_servers(struct sw_db *db, const char *account_id,
                                                        size_t *n, struct sw_err *err)
{
    /* Locked, so no action slips in between. */
    PGresult *res = sw_db_exec(db, err,
                               "SELECT s.id, s.state, EXISTS (SELECT 1 FROM jobs j"
                               "  WHERE j.server_id = s.id AND j.type = 'suspend'"
                               "  AND j.state IN ('queued', 'running'))"
                               " FROM servers s JOIN accounts o ON o.id = s.owner_id"
                               " WHERE (o.id = $1 OR o.reseller_id = $1)"
                               " AND s.state IN ('pending', 'provisioning', 'running', 'stopped')"
                               " ORDER BY s.created_at, s.id FOR UPDATE OF s",
                               SW_PARAMS(account_id));
    return rows(res, sizeof(struct sw_data_susp_server), n, fill_server);
}

static void fill_hold(const PGresult *res, int i, void *out)
{
    struct sw_data_susp_hold *h = out;
    snprintf(h->server_id, sizeof h->server_id, "%s", sw_db_get(res, i, 0));
    snprintf(h->state, sizeof h->state, "%s", sw_db_get(res, i, 1));
    snprintf(h->job_state, sizeof h->job_state, "%s", sw_db_get(res, i, 2));
    snprintf(h->owner_id, sizeof h->owner_id, "%s", sw_db_get(res, i, 3));
    snprintf(h->owner_state, sizeof h->owner_state, "%s", sw_db_get(res, i, 4));
    snprintf(h->prev_state, sizeof h->prev_state, "%s", sw_db_get(res, i, 5));
}

struct sw_data_susp_hold *sw_data_suspensions_holds(struct sw_db *db, const char *account_id,
                                                    size_t *n, struct sw_err *err)
{
    PGresult *res =
        sw_db_exec(db, err,
                   "SELECT h.server_id, s.state, j.state, o.id, o.state, h.prev_state"
                   " FROM suspension_holds h JOIN servers s ON s.id = h.server_id"
                   " JOIN jobs j ON j.id = h.job_id JOIN accounts o ON o.id = s.owner_id"
                   " WHERE h.account_id = $1 AND h.reason = 'account'"
                   " ORDER BY h.created_at, h.server_id FOR UPDATE OF s",
                   SW_PARAMS(account_id));
    return rows(res, sizeof(struct sw_data_susp_hold), n, fill_hold);
}

json_t *sw_data_suspensions_add_job(struct sw_db *db, const struct sw_data_susp_job *j,
                                    char job_id[SW_UUID_LEN + 1], struct sw_err *err)
{
    sw_uuid_new(job_id);
    json_t *job = sw_data_json_row(
        db, err, "job",
        "WITH j AS (INSERT INTO jobs (id, server_id, account_id, type) VALUES ($1, $2, $3, $4)"
        "  RETURNING sw_job_json(jobs) AS js),"
        " s AS (UPDATE servers SET state = $7, updated_at = now() WHERE id = $2),"
        " h AS (INSERT INTO suspension_holds (account_id, server_id, job_id, prev_state)"
        "  SELECT $5, $2, $1, $6 WHERE $6::text IS NOT NULL"
        "  ON CONFLICT (account_id, server_id, reason)"
        "  DO UPDATE SET job_id = EXCLUDED.job_id, prev_state = EXCLUDED.prev_state,"
        "  created_at = now())"
        " SELECT js FROM j",
        SW_PARAMS(job_id, j->server_id, j->actor_id, sw_job_type_name(j->type), j->account_id,
                  j->prev_state, j->new_state));
    if (job && sw_data_jobs_enqueue(db, job_id, j->server_id, j->type, err) < 0) {
        json_decref(job);
        return NULL;
    }
    return job;
}

int sw_data_suspensions_pass_hold(struct sw_db *db, const char *account_id, const char *server_id,
                                  const char *owner_id, struct sw_err *err)
{
    return sw_data_run(db, err,
                       "INSERT INTO suspension_holds (account_id, server_id, job_id,"
                       " prev_state) SELECT $3, server_id, job_id, prev_state"
                       " FROM suspension_holds WHERE account_id = $1 AND server_id = $2"
                       " AND reason = 'account'"
                       " ON CONFLICT DO NOTHING",
                       SW_PARAMS(account_id, server_id, owner_id));
}

int sw_data_suspensions_restore_stopped(struct sw_db *db, const char *server_id, struct sw_err *err)
{
    return sw_data_run(db, err,
                       "UPDATE servers SET state = 'stopped', updated_at = now() WHERE id = $1",
                       SW_PARAMS(server_id));
}

int sw_data_suspensions_release(struct sw_db *db, const char *account_id, struct sw_err *err)
{
    return sw_data_run(db, err,
                       "DELETE FROM suspension_holds WHERE account_id = $1 AND reason = 'account'",
                       SW_PARAMS(account_id));
}
