/* snapshots.c - customers' snapshots (snapshots.h). The router has checked
 * that the caller may see server {id}; a snapshot is looked up by its id
 * and that server's, so another server's snapshot is 404 like another
 * tenant's. */
#include "config.h"
#include "panel/snapshots.h"
#include "panel/data.h"
#include "panel/data_jobs.h"
#include "panel/data_servers.h"
#include "panel/handlers.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/json.h"

#include <stdio.h>
#include <string.h>

#define NAME_MAX_BYTES 64

static const struct sw_jfield create_fields[] = {
    {"name", SW_JT_STRING, true},
    {"memory", SW_JT_BOOL, false},
    {NULL, 0, false},
};

int sw_snapshots_check(const json_t *body, bool *memory, struct sw_err *err)
{
    const char *name = sw_json_str(body, "name");
    size_t n = name ? strlen(name) : 0;
    bool printable = n > 0;
    for (size_t i = 0; i < n; i++)
        printable = printable && (unsigned char)name[i] >= 0x20 && name[i] != 0x7f;
    if (n < 1 || n > NAME_MAX_BYTES || !printable) {
        SW_ERR(err, SW_EINVALID, "name must be 1 to 64 printable characters");
        return -1;
    }
    *memory = sw_json_bool(body, "memory", false);
    return 0;
}

/* The server must be able to run a job now (as servers.c's actions). */
static int server_ready(const char *state, struct sw_err *err)
{
    if (!strcmp(state, "running") || !strcmp(state, "stopped"))
        return 0;
    if (!strcmp(state, "suspended"))
        SW_ERR(err, SW_ECONFLICT, "the server is suspended by its provider; it must be "
                                  "unsuspended first");
    else
        SW_ERR(err, SW_ECONFLICT, "the server is %s and takes no snapshot action", state);
    return -1;
}

int sw_snapshots_admit(struct sw_db *db, const char *server_id, const char *kind,
                       struct sw_err *err)
{
    if (strcmp(kind, "container") == 0) {
        SW_ERR(err, SW_EUNSUPPORTED, "snapshots are not supported for container servers: "
                                     "their root is a raw filesystem, not a qcow2 volume");
        return -1;
    }
    PGresult *res = sw_db_exec(
        db, err,
        "SELECT (SELECT d.format || ' in pool ' || d.pool FROM server_disks d"
        "         WHERE d.server_id = s.id AND d.role = 'root' AND d.format <> 'qcow2' LIMIT 1),"
        "       p.max_snapshots,"
        "       (SELECT count(*) FROM snapshots n WHERE n.server_id = s.id"
        "         AND n.state NOT IN ('deleted', 'failed'))"
        "  FROM servers s JOIN plans p ON p.id = s.plan_id WHERE s.id = $1",
        SW_PARAMS(server_id));
    if (!res)
        return -1;
    int rc = -1;
    long long max = sw_db_get_i64(res, 0, 1), have = sw_db_get_i64(res, 0, 2);
    if (!PQgetisnull(res, 0, 0))
        SW_ERR(err, SW_EUNSUPPORTED,
               "snapshots need a qcow2 root volume; this server's root is %s",
               sw_db_get(res, 0, 0));
    else if (have >= max)
        SW_ERR(err, SW_EUNPROCESSABLE,
               "the server's plan allows %lld snapshot(s) and it has %lld: delete one first",
               max, have);
    else
        rc = 0;
    PQclear(res);
    return rc;
}

int sw_snapshots_plan_check(const json_t *body, struct sw_err *err)
{
    const json_t *v = json_object_get(body, "max_snapshots");
    if (v && (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100)) {
        SW_ERR(err, SW_EINVALID, "max_snapshots must be an integer from 0 to 100");
        return -1;
    }
    return 0;
}

json_t *sw_snapshots_plan_apply(struct sw_db *db, const char *plan_id, const json_t *body,
                                json_t *plan, struct sw_err *err)
{
    const json_t *v = json_object_get(body, "max_snapshots");
    if (!plan || !v)
        return plan;
    char n[24];
    snprintf(n, sizeof n, "%lld", (long long)json_integer_value(v));
    json_decref(plan);
    if (sw_db_run(db, err, "UPDATE plans SET max_snapshots = $2 WHERE id = $1",
                  SW_PARAMS(plan_id, n)) < 0)
        return NULL;
    return sw_data_json_row(db, err, "plan", "SELECT sw_plan_json(p) FROM plans p WHERE p.id = $1",
                            SW_PARAMS(plan_id));
}

/* ---- one transaction per change ---- */

struct snap_tx {
    struct sw_req *req;
    const char *server_id;
    const char *snapshot_id; /* revert, delete: the path's; create: a new one */
    int type;                /* enum sw_job_type */
    const char *name;        /* create */
    bool memory;             /* create */
    json_t *snapshot, *job;  /* out */
};

/* The job that acts on t's snapshot, queued; the snapshot moved to state
 * and shown as it is then. */
static int queue(struct sw_db *db, struct snap_tx *t, const char *state, struct sw_err *err)
{
    char params[80];
    snprintf(params, sizeof params, "{\"snapshot_id\": \"%s\"}", t->snapshot_id);
    json_decref(t->job);
    json_decref(t->snapshot);
    t->snapshot = NULL;
    t->job = sw_data_jobs_queue(db, t->server_id, t->req->who.account_id, t->type, params, err);
    if (!t->job)
        return -1;
    t->snapshot = sw_data_json_row(
        db, err, "snapshot",
        "UPDATE snapshots SET state = $2, job_id = $3, updated_at = now() WHERE id = $1"
        " RETURNING sw_snapshot_json(snapshots)",
        SW_PARAMS(t->snapshot_id, state, sw_json_str(t->job, "id")));
    return t->snapshot ? 0 : -1;
}

static int create_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct snap_tx *t = ctx;
    char state[24], kind[24];
    if (sw_data_servers_lock(db, t->server_id, state, kind, err) < 0 ||
        server_ready(state, err) < 0 || sw_snapshots_admit(db, t->server_id, kind, err) < 0)
        return -1;
    if (sw_db_run(db, err,
                  "INSERT INTO snapshots (id, server_id, name, memory) VALUES ($1, $2, $3, $4)",
                  SW_PARAMS(t->snapshot_id, t->server_id, t->name, t->memory ? "t" : "f")) < 0)
        return -1;
    return queue(db, t, "creating", err);
}

/* revert and delete: the snapshot must be this server's and ready. */
static int change_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct snap_tx *t = ctx;
    char state[24], kind[24];
    if (sw_data_servers_lock(db, t->server_id, state, kind, err) < 0)
        return -1;
    PGresult *res = sw_db_exec(db, err,
                               "SELECT state FROM snapshots WHERE id = $1 AND server_id = $2"
                               " AND state <> 'deleted' FOR UPDATE",
                               SW_PARAMS(t->snapshot_id, t->server_id));
    if (!res)
        return -1;
    char snap[16] = "";
    if (PQntuples(res) == 1)
        snprintf(snap, sizeof snap, "%s", sw_db_get(res, 0, 0));
    PQclear(res);
    if (!snap[0]) {
        SW_ERR(err, SW_ENOTFOUND, "snapshot not found");
        return -1;
    }
    if (strcmp(snap, "ready") != 0) {
        SW_ERR(err, SW_ECONFLICT, "the snapshot is %s, not ready", snap);
        return -1;
    }
    if (server_ready(state, err) < 0)
        return -1;
    return queue(db, t, t->type == SW_JOB_SNAPSHOT_REVERT ? "reverting" : "deleting", err);
}

/* Runs tx and answers 202 {snapshot, job}. */
static int run(struct sw_req *req, struct sw_resp *resp, struct snap_tx *t,
               int (*tx)(struct sw_db *, void *, struct sw_err *), struct sw_err *err)
{
    int rc = sw_db_tx(req->db, tx, t, err);
    if (rc == 0)
        rc = sw_api_reply(resp, 202,
                          json_pack("{s:O, s:O}", "snapshot", t->snapshot, "job", t->job));
    json_decref(t->snapshot);
    json_decref(t->job);
    return rc;
}

/* ---- handlers ---- */

SW_HANDLER(sw_h_snapshot_create)
{
    json_t *b = sw_api_body(req, create_fields, err);
    if (!b)
        return -1;
    sw_uuid_t id;
    sw_uuid_new(id);
    struct snap_tx t = {.req = req, .server_id = req->params[0], .snapshot_id = id,
                        .type = SW_JOB_SNAPSHOT_CREATE, .name = sw_json_str(b, "name")};
    int rc = sw_snapshots_check(b, &t.memory, err) < 0 ? -1 : run(req, resp, &t, create_tx, err);
    json_decref(b);
    return rc;
}

static int change(struct sw_req *req, struct sw_resp *resp, int type, struct sw_err *err)
{
    const char *sid = sw_api_param_uuid(req, 1, "snapshot", err);
    if (!sid || sw_api_no_body(req, err) < 0)
        return -1;
    struct snap_tx t = {.req = req, .server_id = req->params[0], .snapshot_id = sid,
                        .type = type};
    return run(req, resp, &t, change_tx, err);
}

SW_HANDLER(sw_h_snapshot_revert)
{
    return change(req, resp, SW_JOB_SNAPSHOT_REVERT, err);
}

SW_HANDLER(sw_h_snapshot_delete)
{
    return change(req, resp, SW_JOB_SNAPSHOT_DELETE, err);
}

static const struct sw_data_list snapshots_list = {
    "sw_snapshot_json(t)", "snapshots", "t.server_id = $1 AND t.state <> 'deleted'", NULL};

SW_HANDLER(sw_h_snapshots_list)
{
    return sw_api_list_data(req, resp, err, &snapshots_list, SW_PARAMS(req->params[0]));
}

SW_HANDLER(sw_h_snapshot_get)
{
    const char *sid = sw_api_param_uuid(req, 1, "snapshot", err);
    if (!sid)
        return -1;
    return sw_api_one(req, resp, err, 200, "snapshot",
                      "SELECT sw_snapshot_json(s) FROM snapshots s WHERE s.id = $1"
                      " AND s.server_id = $2 AND s.state <> 'deleted'",
                      SW_PARAMS(sid, req->params[0]));
}

const struct sw_route sw_routes_snapshots[] = {
    {"POST", "/v1/servers/{id}/snapshots", ANY, SW_OWN_SERVER, sw_h_snapshot_create,
     "take a snapshot of a server's disk (and memory)", 0},
    {"GET", "/v1/servers/{id}/snapshots", ANY, SW_OWN_SERVER, sw_h_snapshots_list,
     "a server's snapshots", 0},
    {"GET", "/v1/servers/{id}/snapshots/{sid}", ANY, SW_OWN_SERVER, sw_h_snapshot_get,
     "one snapshot", 0},
    {"POST", "/v1/servers/{id}/snapshots/{sid}/revert", ANY, SW_OWN_SERVER, sw_h_snapshot_revert,
     "revert a server to a snapshot", 0},
    {"DELETE", "/v1/servers/{id}/snapshots/{sid}", ANY, SW_OWN_SERVER, sw_h_snapshot_delete,
     "delete a snapshot", 0},
    SW_ROUTES_END,
};
