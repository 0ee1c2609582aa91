/* admin_migrate.c - operators move servers between nodes (issue 15,
 * "Migration (operators)"; provisioner/README.md "Migration"): the migrate
 * route, the cancel of a running migrate job, and the nodes' migration
 * URIs. The route checks what it can answer at once (the server's state,
 * the target node); the target's room is claimed by the provisioner. */
#include "config.h"
#include "panel/admin_migrate.h"
#include "panel/data.h"
#include "panel/data_jobs.h"
#include "panel/handlers.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/json.h"

#include <stdio.h>
#include <string.h>

/* ---- nodes' URIs ---- */

static int uri_check(const char *key, const json_t *v, struct sw_err *err)
{
    if (!v || json_is_null(v))
        return 0;
    const char *s = json_string_value(v);
    size_t n = strlen(s);
    bool ok = n > 0 && n <= 512;
    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char)s[i] > 0x20 && s[i] != 0x7f;
    if (!ok)
        SW_ERR(err, SW_EINVALID, "%s must be 1 to 512 characters without spaces", key);
    return ok ? 0 : -1;
}

int sw_migrate_node_apply(struct sw_db *db, const char *id, const json_t *body,
                          struct sw_err *err)
{
    static const char *const keys[] = {"migrate_uri", "migrate_stream_uri"};
    static const char *const sql[] = {
        "UPDATE nodes SET migrate_uri = $2 WHERE id = $1",
        "UPDATE nodes SET migrate_stream_uri = $2 WHERE id = $1",
    };
    for (size_t i = 0; i < 2; i++) {
        const json_t *v = json_object_get(body, keys[i]);
        if (!v)
            continue;
        if (uri_check(keys[i], v, err) < 0 ||
            sw_db_run(db, err, sql[i], SW_PARAMS(id, json_string_value(v))) < 0)
            return -1;
    }
    return 0;
}

/* ---- POST /v1/admin/servers/{id}/migrate ---- */

static const struct sw_jfield migrate_fields[] = {
    {"node_id", SW_JT_STRING, false},
    {"live", SW_JT_BOOL, false},
    {"bandwidth_mib", SW_JT_INT, false},
    {NULL, 0, false},
};

struct mig_tx {
    struct sw_req *req;
    const char *server_id;
    const json_t *body;
    json_t *job; /* out */
};

/* The server as the move needs it, locked: state, kind, node, location. */
struct mig_server {
    char state[24], kind[24], node[SW_UUID_LEN + 1], location[SW_UUID_LEN + 1];
};

static int lock_server(struct sw_db *db, const char *id, struct mig_server *s, struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT s.state, p.kind, coalesce(s.node_id::text, ''),"
                               " coalesce(n.location_id::text, '')"
                               "  FROM servers s JOIN plans p ON p.id = s.plan_id"
                               "  LEFT JOIN nodes n ON n.id = s.node_id"
                               " WHERE s.id = $1 FOR UPDATE OF s",
                               SW_PARAMS(id));
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        snprintf(s->state, sizeof s->state, "%s", sw_db_get(res, 0, 0));
        snprintf(s->kind, sizeof s->kind, "%s", sw_db_get(res, 0, 1));
        snprintf(s->node, sizeof s->node, "%s", sw_db_get(res, 0, 2));
        snprintf(s->location, sizeof s->location, "%s", sw_db_get(res, 0, 3));
    }
    PQclear(res);
    if (!found)
        SW_ERR(err, SW_ENOTFOUND, "server not found");
    return found ? 0 : -1;
}

/* The requested target: it exists, is not the source, is active, in the
 * source's location (the addresses move with the server) and hosts the
 * kind. 422 naming what is wrong. */
static int target_check(struct sw_db *db, const struct mig_server *s, const char *node,
                        struct sw_err *err)
{
    if (strcmp(node, s->node) == 0) {
        SW_ERR(err, SW_EUNPROCESSABLE, "the target node is the server's own node");
        return -1;
    }
    PGresult *res = sw_db_exec(db, err,
                               "SELECT state, location_id::text, $2 = ANY (kinds) FROM nodes"
                               " WHERE id = $1",
                               SW_PARAMS(node, s->kind));
    if (!res)
        return -1;
    int rc = -1;
    if (PQntuples(res) != 1)
        SW_ERR(err, SW_EUNPROCESSABLE, "the target node does not exist");
    else if (strcmp(sw_db_get(res, 0, 0), "active") != 0)
        SW_ERR(err, SW_EUNPROCESSABLE, "the target node is %s, not active", sw_db_get(res, 0, 0));
    else if (strcmp(sw_db_get(res, 0, 1), s->location) != 0)
        SW_ERR(err, SW_EUNPROCESSABLE, "the target node is in another location than the "
                                       "server's node; its addresses cannot move there");
    else if (strcmp(sw_db_get(res, 0, 2), "t") != 0)
        SW_ERR(err, SW_EUNPROCESSABLE, "the target node does not host %s servers", s->kind);
    else
        rc = 0;
    PQclear(res);
    return rc;
}

static int migrate_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct mig_tx *t = ctx;
    json_decref(t->job);
    t->job = NULL;
    struct mig_server s;
    if (lock_server(db, t->server_id, &s, err) < 0)
        return -1;
    bool running = strcmp(s.state, "running") == 0;
    if ((!running && strcmp(s.state, "stopped") != 0) || !s.node[0]) {
        SW_ERR(err, SW_ECONFLICT, "the server is %s; only a running or stopped server on a "
                                  "node can be migrated", s.state);
        return -1;
    }
    const char *node = sw_json_str(t->body, "node_id");
    if (node && target_check(db, &s, node, err) < 0)
        return -1;
    /* live defaults to true for a running server */
    json_t *params = json_pack("{s:b}", "live", sw_json_bool(t->body, "live", running));
    if (node)
        json_object_set_new(params, "node_id", json_string(node));
    if (json_object_get(t->body, "bandwidth_mib"))
        json_object_set(params, "bandwidth_mib", json_object_get(t->body, "bandwidth_mib"));
    char *p = sw_json_dump(params);
    json_decref(params);
    t->job = sw_data_jobs_queue(db, t->server_id, t->req->who.account_id, SW_JOB_MIGRATE, p, err);
    free(p);
    return t->job ? 0 : -1;
}

/* Shape of the body: a node id, a bandwidth within 1..100000 MiB/s. */
static int body_check(const json_t *b, struct sw_err *err)
{
    const char *node = sw_json_str(b, "node_id");
    if (node && !sw_uuid_valid(node)) {
        SW_ERR(err, SW_EINVALID, "node_id must be a UUID");
        return -1;
    }
    int64_t bw = sw_json_int(b, "bandwidth_mib", 1);
    if (bw < 1 || bw > 100000) {
        SW_ERR(err, SW_EINVALID, "bandwidth_mib must be an integer from 1 to 100000");
        return -1;
    }
    return 0;
}

SW_HANDLER(sw_h_admin_server_migrate)
{
    const char *id = sw_api_param_uuid(req, 0, "server", err);
    if (!id)
        return -1;
    json_t *b = sw_api_body(req, migrate_fields, err);
    if (!b)
        return -1;
    struct mig_tx t = {req, id, b, NULL};
    int rc = body_check(b, err) < 0 ? -1 : sw_db_tx(req->db, migrate_tx, &t, err);
    json_decref(b);
    if (rc < 0) {
        json_decref(t.job);
        return -1;
    }
    return sw_api_reply(resp, 202, json_pack("{s:o}", "job", t.job));
}

/* ---- POST /v1/admin/jobs/{id}/cancel ---- */

static int cancel_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    json_t **job = ctx;
    const char *id = json_string_value(json_object_get(*job, "id"));
    json_t *j = sw_data_json_row(db, err, "job",
                                 "UPDATE jobs SET cancel_requested_at = coalesce("
                                 "cancel_requested_at, now()), updated_at = now()"
                                 " WHERE id = $1 AND type = 'migrate' AND state = 'running'"
                                 " RETURNING sw_job_json(jobs)",
                                 SW_PARAMS(id));
    if (j) {
        json_decref(*job);
        *job = j;
        return 0;
    }
    if (err->code != SW_ENOTFOUND)
        return -1;
    PGresult *res = sw_db_exec(db, err, "SELECT type, state FROM jobs WHERE id = $1",
                               SW_PARAMS(id));
    if (!res)
        return -1;
    if (PQntuples(res) == 1)
        SW_ERR(err, SW_ECONFLICT, "only a running migrate job can be cancelled; this one is a "
                                  "%s job, %s", sw_db_get(res, 0, 0), sw_db_get(res, 0, 1));
    else
        SW_ERR(err, SW_ENOTFOUND, "job not found");
    PQclear(res);
    return -1;
}

SW_HANDLER(sw_h_admin_job_cancel)
{
    const char *id = sw_api_param_uuid(req, 0, "job", err);
    if (!id || sw_api_no_body(req, err) < 0)
        return -1;
    json_t *job = json_pack("{s:s}", "id", id);
    if (sw_db_tx(req->db, cancel_tx, &job, err) < 0) {
        json_decref(job);
        return -1;
    }
    return sw_api_reply(resp, 202, json_pack("{s:o}", "job", job));
}

const struct sw_route sw_routes_admin_migrate[] = {
    {"POST", "/v1/admin/servers/{id}/migrate", OP, SW_OWN_OPERATOR, sw_h_admin_server_migrate,
     "move a server to another node (node_id, or placement picks; live defaults to true for a "
     "running server)", 0},
    {"POST", "/v1/admin/jobs/{id}/cancel", OP, SW_OWN_OPERATOR, sw_h_admin_job_cancel,
     "cancel a running migrate job: the server keeps running on its node", 0},
    SW_ROUTES_END,
};
