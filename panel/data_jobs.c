#include "config.h"
#include "panel/data_jobs.h"
#include "core/crypto.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/msg.h"
#include "panel/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *sw_data_jobs_get(struct sw_db *db, const struct sw_principal *who, const char *id,
                         struct sw_err *err)
{
    return sw_data_json_row_scoped(db, err, "job", who,
                                   "SELECT sw_job_json(j) FROM jobs j JOIN servers t"
                                   " ON t.id = j.server_id WHERE j.id = $2 AND %s",
                                   "t.owner_id", SW_PARAMS(who->account_id, id));
}

int sw_data_jobs_visible(struct sw_db *db, const struct sw_principal *who, const char *id,
                         struct sw_err *err)
{
    return sw_data_visible(db, err, who,
                           "SELECT 1 FROM jobs j JOIN servers t ON t.id = j.server_id"
                           " WHERE j.id = $2::uuid AND %s",
                           "t.owner_id", id);
}

int sw_data_jobs_enqueue(struct sw_db *db, const char *job_id, const char *server_id, int type,
                         struct sw_err *err)
{
    struct sw_msg_job m;
    memcpy(m.job_id, job_id, sizeof m.job_id);
    memcpy(m.server_id, server_id, sizeof m.server_id);
    m.type = type;
    char *payload = sw_msg_job_encode(&m);
    int rc = sw_data_run(db, err,
                         "WITH o AS (INSERT INTO outbox (stream, payload) VALUES ($1, $2))"
                         " SELECT pg_notify('outbox', '')",
                         SW_PARAMS(SW_STREAM_JOBS, payload));
    free(payload);
    return rc;
}

/* Adds the outbox row of a job just inserted; on failure drops job. */
static json_t *enqueue(struct sw_db *db, json_t *job, const char *job_id, const char *server_id,
                       int type, struct sw_err *err)
{
    if (job && sw_data_jobs_enqueue(db, job_id, server_id, type, err) < 0) {
        json_decref(job);
        return NULL;
    }
    return job;
}

json_t *sw_data_jobs_queue(struct sw_db *db, const char *server_id, const char *account_id,
                           int type, const char *params, struct sw_err *err)
{
    sw_uuid_t job_id;
    sw_uuid_new(job_id);
    json_t *job =
        sw_data_json_row(db, err, "job",
                         "INSERT INTO jobs (id, server_id, account_id, type, params)"
                         " VALUES ($1, $2, $3, $4, coalesce($5, '{}')::jsonb)"
                         " RETURNING sw_job_json(jobs)",
                         SW_PARAMS(job_id, server_id, account_id, sw_job_type_name(type), params));
    return enqueue(db, job, job_id, server_id, type, err);
}

json_t *sw_data_jobs_queue_terminate(struct sw_db *db, const char *server_id,
                                     const char *account_id, struct sw_err *err)
{
    sw_uuid_t job_id;
    sw_uuid_new(job_id);
    json_t *job = sw_data_json_row(db, err, "job",
                                   "WITH s AS (UPDATE servers SET state = 'terminating',"
                                   "  updated_at = now() WHERE id = $2)"
                                   " INSERT INTO jobs (id, server_id, account_id, type)"
                                   " VALUES ($1, $2, $3, 'terminate') RETURNING sw_job_json(jobs)",
                                   SW_PARAMS(job_id, server_id, account_id));
    return enqueue(db, job, job_id, server_id, SW_JOB_TERMINATE, err);
}

json_t *sw_data_jobs_last_terminate(struct sw_db *db, const char *server_id, struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT sw_job_json(j) FROM jobs j WHERE j.server_id = $1"
                               " AND j.type = 'terminate' ORDER BY j.created_at DESC LIMIT 1",
                               SW_PARAMS(server_id));
    if (!res)
        return NULL;
    json_t *job = sw_api_json_col(sw_db_get(res, 0, 0));
    PQclear(res);
    return job;
}

const struct sw_data_list sw_data_jobs_list = {
    "sw_job_json(t)", "jobs",
    "EXISTS (SELECT 1 FROM servers s WHERE s.id = t.server_id AND %s)"
    " AND ($2::uuid IS NULL OR t.server_id = $2::uuid)",
    "s.owner_id"};

const struct sw_data_list sw_data_jobs_admin_list = {
    "sw_admin_job_json(t)", "jobs",
    "$1::uuid IS NOT NULL AND ($2::text IS NULL OR t.state = $2)"
    " AND ($3::text IS NULL OR t.type = $3)"
    " AND ($4::uuid IS NULL OR t.server_id = $4)"
    " AND ($5::uuid IS NULL OR t.node_id = $5)",
    NULL};

int sw_data_jobs_lock_retry(struct sw_db *db, const char *id, struct sw_data_job_retry *out,
                            struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT j.state, j.type, s.state, j.server_id FROM jobs j"
                               " JOIN servers s ON s.id = j.server_id WHERE j.id = $1"
                               " FOR UPDATE OF j, s",
                               SW_PARAMS(id));
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        snprintf(out->state, sizeof out->state, "%s", sw_db_get(res, 0, 0));
        snprintf(out->type, sizeof out->type, "%s", sw_db_get(res, 0, 1));
        snprintf(out->server_state, sizeof out->server_state, "%s", sw_db_get(res, 0, 2));
        snprintf(out->server_id, sizeof out->server_id, "%s", sw_db_get(res, 0, 3));
    }
    PQclear(res);
    return found;
}

int sw_data_jobs_reset_create(struct sw_db *db, const char *server_id, struct sw_err *err)
{
    return sw_data_run(db, err,
                       "WITH o AS (UPDATE orders SET state = 'accepted' WHERE server_id = $1"
                       "  AND state = 'failed')"
                       " UPDATE servers SET state = 'pending', error = NULL, node_id = NULL,"
                       " updated_at = now() WHERE id = $1",
                       SW_PARAMS(server_id));
}

json_t *sw_data_jobs_requeue(struct sw_db *db, const char *id, const char *server_id, int type,
                             struct sw_err *err)
{
    json_t *job =
        sw_data_json_row(db, err, "job",
                         "UPDATE jobs SET state = 'queued', error = NULL, error_code = NULL,"
                         " progress = 0, started_at = NULL, finished_at = NULL, node_id = NULL,"
                         " updated_at = now() WHERE id = $1 RETURNING sw_admin_job_json(jobs)",
                         SW_PARAMS(id));
    return enqueue(db, job, id, server_id, type, err);
}

int sw_data_jobs_count_by_state(struct sw_db *db, struct sw_data_count *out, int max,
                                struct sw_err *err)
{
    return sw_data_counts(db, err,
                          "SELECT s.state, (SELECT count(*) FROM jobs j WHERE j.state = s.state)"
                          " FROM unnest(ARRAY['queued','running','succeeded','failed','dead'])"
                          " AS s(state)",
                          out, max);
}
