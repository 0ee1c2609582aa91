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
#include "panel/data_audit.h"
#include "panel/data_jobs.h"
#include "panel/handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- jobs ---- */

static const char *const job_states[] = {"queued", "running", "succeeded", "failed", "dead", NULL};
static const char *const job_types[] = {"create",    "start",          "stop",    "reboot",
                                        "reinstall", "resize",         "suspend", "unsuspend",
                                        "terminate", "reset_password", "mount_iso",
                                        "eject_iso", "set_boot",       NULL};

SW_HANDLER(sw_h_admin_jobs_list)
{
    const char *state, *type, *server, *node;
    if (sw_adm_query_enum(req, "state", job_states, &state, err) < 0 ||
        sw_adm_query_enum(req, "type", job_types, &type, err) < 0 ||
        sw_adm_query_uuid(req, "server_id", &server, err) < 0 ||
        sw_adm_query_uuid(req, "node_id", &node, err) < 0)
        return -1;
    return sw_api_list_data(req, resp, err, &sw_data_jobs_admin_list,
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
    struct sw_data_job_retry j;
    int found = sw_data_jobs_lock_retry(db, r->id, &j, err);
    if (found <= 0) {
        if (found == 0)
            SW_ERR(err, SW_ENOTFOUND, "job not found");
        return -1;
    }
    const char *jstate = j.state, *sstate = j.server_state, *server = j.server_id;
    int type = sw_job_type_parse(j.type);
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
        if (sw_data_jobs_reset_create(db, server, err) < 0)
            return -1;
    } else if (strcmp(sstate, "terminating") == 0 && type != SW_JOB_TERMINATE) {
        SW_ERR(err, SW_ECONFLICT,
               "the server is terminating; only its terminate job can be"
               " retried");
        return -1;
    }
    r->job = sw_data_jobs_requeue(db, r->id, server, type, err);
    return r->job ? 0 : -1;
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
        if (sw_data_audit_check_times(req->db, since, until, &terr) < 0) {
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
    return sw_api_list_data(req, resp, err, &sw_data_audit_list,
                            SW_PARAMS(req->who.account_id, actor, object, action, since, until,
                                      result));
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
