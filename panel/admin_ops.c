/* admin_ops.c - operator routes for operations: every job (dead ones
 * too) and retrying it, and the audit log. */
#include "config.h"
#include "core/alloc.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/json.h"
#include "panel/admin_util.h"
#include "panel/handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- jobs ---- */

static const char *const job_states[] = {"queued", "running", "succeeded", "failed", "dead", NULL};
static const char *const job_types[] = {"create",    "start",          "stop",    "reboot",
                                        "reinstall", "resize",         "suspend", "unsuspend",
                                        "terminate", "reset_password", NULL};

SW_HANDLER(sw_h_admin_jobs_list)
{
    const char *state, *type, *server, *node;
    if (sw_adm_query_enum(req, "state", job_states, &state, err) < 0 ||
        sw_adm_query_enum(req, "type", job_types, &type, err) < 0 ||
        sw_adm_query_uuid(req, "server_id", &server, err) < 0 ||
        sw_adm_query_uuid(req, "node_id", &node, err) < 0)
        return -1;
    return sw_api_list(req, resp, err, "sw_admin_job_json(t)", "jobs",
                       "$1::uuid IS NOT NULL AND ($2::text IS NULL OR t.state = $2)"
                       " AND ($3::text IS NULL OR t.type = $3)"
                       " AND ($4::uuid IS NULL OR t.server_id = $4)"
                       " AND ($5::uuid IS NULL OR t.node_id = $5)",
                       SW_PARAMS(req->who.account_id, state, type, server, node));
}

struct retry {
    const char *id;
    json_t *job; /* out */
};

/* A failed or dead job goes back to queued with a new outbox row, as if
 * just accepted; attempts are kept. A failed create also puts its server
 * (failed) and order back to waiting, so that placement runs again. */
static int retry_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct retry *r = ctx;
    json_decref(r->job);
    r->job = NULL;
    PGresult *res = sw_db_exec(db, err,
                               "SELECT j.state, j.type, s.state, j.server_id FROM jobs j"
                               " JOIN servers s ON s.id = j.server_id WHERE j.id = $1"
                               " FOR UPDATE OF j, s",
                               SW_PARAMS(r->id));
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        SW_ERR(err, SW_ENOTFOUND, "job not found");
        return -1;
    }
    char jstate[16], jtype[24], sstate[16], server[SW_UUID_LEN + 1];
    snprintf(jstate, sizeof jstate, "%s", sw_db_get(res, 0, 0));
    snprintf(jtype, sizeof jtype, "%s", sw_db_get(res, 0, 1));
    snprintf(sstate, sizeof sstate, "%s", sw_db_get(res, 0, 2));
    snprintf(server, sizeof server, "%s", sw_db_get(res, 0, 3));
    PQclear(res);
    int type = sw_job_type_parse(jtype);
    if (strcmp(jstate, "failed") != 0 && strcmp(jstate, "dead") != 0) {
        SW_ERR(err, SW_ECONFLICT, "the job is %s; only a failed or dead job can be retried",
               jstate);
        return -1;
    }
    if (strcmp(sstate, "terminated") == 0) {
        SW_ERR(err, SW_ECONFLICT, "the job's server is terminated; there is nothing to retry");
        return -1;
    }
    if (type == SW_JOB_CREATE) {
        if (strcmp(sstate, "failed") != 0 && strcmp(sstate, "pending") != 0) {
            SW_ERR(err, SW_ECONFLICT, "the server is %s; only a failed create can be retried",
                   sstate);
            return -1;
        }
        if (sw_db_run(db, err,
                      "WITH o AS (UPDATE orders SET state = 'accepted' WHERE server_id = $1"
                      "  AND state = 'failed')"
                      " UPDATE servers SET state = 'pending', error = NULL, node_id = NULL,"
                      " updated_at = now() WHERE id = $1",
                      SW_PARAMS(server)) < 0)
            return -1;
    } else if (strcmp(sstate, "terminating") == 0 && type != SW_JOB_TERMINATE) {
        SW_ERR(err, SW_ECONFLICT,
               "the server is terminating; only its terminate job can be"
               " retried");
        return -1;
    }
    res = sw_db_exec(db, err,
                     "UPDATE jobs SET state = 'queued', error = NULL, error_code = NULL,"
                     " progress = 0, started_at = NULL, finished_at = NULL, node_id = NULL,"
                     " updated_at = now() WHERE id = $1 RETURNING sw_admin_job_json(jobs)",
                     SW_PARAMS(r->id));
    if (!res)
        return -1;
    r->job = sw_api_json_col(sw_db_get(res, 0, 0));
    PQclear(res);
    return sw_api_enqueue_job(db, r->id, server, type, err);
}

SW_HANDLER(sw_h_admin_job_retry)
{
    struct retry r = {sw_api_param_uuid(req, 0, "job", err), NULL};
    if (!r.id)
        return -1;
    if (sw_db_tx(req->db, retry_tx, &r, err) < 0) {
        json_decref(r.job);
        return -1;
    }
    return sw_api_reply(resp, 202, json_pack("{s:o}", "job", r.job));
}

/* ---- audit ---- */

/* RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM)"; the shape is
 * checked here, the values by PostgreSQL. */
static bool rfc3339_shape(const char *s)
{
    size_t n = strlen(s);
    if (n < 20 || n > 40)
        return false;
    for (size_t i = 0; i < 19; i++) {
        bool digit = s[i] >= '0' && s[i] <= '9';
        char want = i == 4 || i == 7 ? '-' : i == 10 ? 'T' : i == 13 || i == 16 ? ':' : 0;
        if (want ? (s[i] != want && !(i == 10 && s[i] == 't')) : !digit)
            return false;
    }
    return strspn(s + 19, "0123456789.:+-Zz") == n - 19;
}

SW_HANDLER(sw_h_admin_audit_list)
{
    const char *actor, *object = req->query(req, "object_id"), *action = req->query(req, "action");
    const char *since = req->query(req, "since"), *until = req->query(req, "until");
    const char *result = req->query(req, "result");
    if (sw_adm_query_uuid(req, "actor_id", &actor, err) < 0)
        return -1;
    if ((object && (!*object || strlen(object) > 64)) ||
        (action && (!*action || strlen(action) > 160)) ||
        (result && (!*result || strlen(result) > 32))) {
        SW_ERR(err, SW_EINVALID, "%s is empty or too long",
               object && (!*object || strlen(object) > 64)    ? "object_id"
               : action && (!*action || strlen(action) > 160) ? "action"
                                                              : "result");
        return -1;
    }
    const char *bad = since && !rfc3339_shape(since)   ? "since"
                      : until && !rfc3339_shape(until) ? "until"
                                                       : NULL;
    if (!bad && (since || until)) {
        struct sw_err terr = {0};
        if (sw_db_run(req->db, &terr, "SELECT $1::timestamptz, $2::timestamptz",
                      SW_PARAMS(since, until)) < 0) {
            if (terr.code != SW_EINVALID) {
                *err = terr;
                return -1;
            }
            bad = since && until ? "since or until" : since ? "since" : "until";
        }
    }
    if (bad) {
        SW_ERR(err, SW_EINVALID, "%s must be an RFC 3339 timestamp like 2024-05-01T00:00:00Z", bad);
        return -1;
    }
    /* action is a prefix ("POST /v1/admin/"); compared with left(), so no
     * LIKE escaping is needed. */
    return sw_api_list(req, resp, err, "sw_audit_json(t)", "audit_log",
                       "$1::uuid IS NOT NULL AND ($2::uuid IS NULL OR t.actor_id = $2)"
                       " AND ($3::text IS NULL OR t.object_id = $3)"
                       " AND ($4::text IS NULL OR left(t.action, length($4)) = $4)"
                       " AND ($5::timestamptz IS NULL OR t.created_at >= $5)"
                       " AND ($6::timestamptz IS NULL OR t.created_at < $6)"
                       " AND ($7::text IS NULL OR t.result = $7)",
                       SW_PARAMS(req->who.account_id, actor, object, action, since, until, result));
}

const struct sw_route sw_routes_admin_ops[] = {
    {"GET", "/v1/admin/jobs", OP, SW_OWN_NONE, sw_h_admin_jobs_list,
     "every job, dead ones too (?state=, ?type=, ?server_id=, ?node_id=)", 0},
    {"POST", "/v1/admin/jobs/{id}/retry", OP, SW_OWN_OPERATOR, sw_h_admin_job_retry,
     "re-queue a failed or dead job (attempts kept, a new outbox row)", 0},
    {"GET", "/v1/admin/audit", OP, SW_OWN_NONE, sw_h_admin_audit_list,
     "the audit log: who did what to which object, when, from where (?actor_id=,"
     " ?object_id=, ?action= prefix, ?since=, ?until=, ?result=)", 0},
    SW_ROUTES_END,
};
