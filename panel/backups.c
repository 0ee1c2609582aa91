/* backups.c - backups (issue 14, panel/README.md "API notes: backups"): a
 * server's backups made and listed, one backup, and the operators'
 * backup targets. A backup is a job on the server's node
 * (provisioner/backups.c seals what it needs to the node). */
#include "config.h"
#include "panel/data_backups.h"
#include "panel/data_jobs.h"
#include "panel/data_servers.h"
#include "panel/handlers.h"
#include "panel/orders.h"
#include "core/bkkey.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/json.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a server's backups ---- */

static const struct sw_jfield backup_fields[] = {
    {"target_id", SW_JT_STRING, false},
    {"kind", SW_JT_STRING, false}, /* auto | full */
    {NULL, 0, false},
};

struct backup_tx {
    struct sw_data_backup_new b;
    json_t *backup, *job; /* out */
};

static int backup_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct backup_tx *t = ctx;
    char state[24], kind[24], owner[37];
    if (sw_data_servers_lock(db, t->b.server_id, state, kind, err) < 0)
        return -1;
    if (strcmp(state, "running") != 0 && strcmp(state, "stopped") != 0) {
        SW_ERR(err, SW_ECONFLICT, "the server is %s; only a running or stopped server is "
                                  "backed up", state);
        return -1;
    }
    int real = sw_data_backups_server_node(db, t->b.server_id, owner, err);
    if (real < 0)
        return -1;
    if (!real) {
        SW_ERR(err, SW_EUNPROCESSABLE, "backups are unsupported on this server's node: "
                                       "libvirt's test driver has no backup API "
                                       "(virDomainBackupBegin) and no volume download");
        return -1;
    }
    t->b.account_id = owner;
    if (sw_data_backups_insert(db, &t->b, err) < 0)
        return -1;
    char params[80];
    snprintf(params, sizeof params, "{\"backup_id\":\"%s\"}", t->b.id);
    t->job = sw_data_jobs_queue(db, t->b.server_id, owner, SW_JOB_BACKUP, params, err);
    const char *job_id = t->job ? sw_json_str(t->job, "id") : NULL;
    if (!job_id || sw_data_backups_set_job(db, t->b.id, job_id, err) < 0)
        return -1;
    t->backup = sw_data_backups_get(db, t->b.id, err);
    return t->backup ? 0 : -1;
}

SW_HANDLER(sw_h_backup_create)
{
    json_t *body = req->body_len ? sw_api_body(req, backup_fields, err) : json_object();
    if (!body)
        return -1;
    int rc = -1;
    struct backup_tx t = {.b = {.server_id = req->params[0]}};
    const char *kind = sw_json_str(body, "kind");
    t.b.target_id = sw_json_str(body, "target_id");
    if (kind && strcmp(kind, "auto") != 0 && strcmp(kind, "full") != 0)
        SW_ERR(err, SW_EINVALID, "kind must be auto or full");
    else if (t.b.target_id && !sw_uuid_valid(t.b.target_id))
        SW_ERR(err, SW_EINVALID, "target_id must be a UUID");
    else if ((t.b.full = kind && !strcmp(kind, "full")), sw_db_tx(req->db, backup_tx, &t, err) == 0)
        rc = sw_api_reply(resp, 202, json_pack("{s:O, s:O}", "backup", t.backup, "job", t.job));
    json_decref(t.backup);
    json_decref(t.job);
    json_decref(body);
    return rc;
}

SW_HANDLER(sw_h_backups_list)
{
    return sw_api_list_data(req, resp, err, &sw_data_backups_of_server,
                            SW_PARAMS(req->params[0]));
}

SW_HANDLER(sw_h_backup_get)
{
    json_t *b = sw_data_backups_get(req->db, req->params[0], err);
    return b ? sw_api_reply(resp, 200, b) : -1;
}

/* ---- restore ---- */

static const struct sw_jfield restore_fields[] = {
    {"target", SW_JT_STRING, true}, /* same | new */
    {"hostname", SW_JT_STRING, false},
    {"plan_id", SW_JT_STRING, false},
    {"location_id", SW_JT_STRING, false},
    {NULL, 0, false},
};

struct restore_tx {
    const char *backup_id, *account_id;
    char server_id[37];
    json_t *job; /* out */
};

/* target same: a restore job on the backup's server, which must still run
 * or be stopped; the backup must be complete. */
static int restore_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct restore_tx *t = ctx;
    char state[24], kind[24];
    if (sw_data_backups_server_of(db, t->backup_id, t->server_id, err) < 0 ||
        sw_data_servers_lock(db, t->server_id, state, kind, err) < 0)
        return -1;
    if (strcmp(state, "running") != 0 && strcmp(state, "stopped") != 0) {
        SW_ERR(err, SW_ECONFLICT, "the server is %s; a backup is restored onto a running or "
                                  "stopped server", state);
        return -1;
    }
    char params[80];
    snprintf(params, sizeof params, "{\"backup_id\":\"%s\"}", t->backup_id);
    t->job = sw_data_jobs_queue(db, t->server_id, t->account_id, SW_JOB_RESTORE, params, err);
    return t->job ? 0 : -1;
}

static int restore_new(struct sw_req *req, struct sw_resp *resp, const json_t *b,
                       struct sw_err *err);

SW_HANDLER(sw_h_backup_restore)
{
    json_t *b = sw_api_body(req, restore_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    const char *target = sw_json_str(b, "target");
    struct restore_tx t = {.backup_id = req->params[0], .account_id = req->who.account_id};
    if (strcmp(target, "same") != 0 && strcmp(target, "new") != 0)
        SW_ERR(err, SW_EINVALID, "target must be same or new");
    else if (strcmp(target, "new") == 0)
        rc = restore_new(req, resp, b, err);
    else if (json_object_size(b) > 1)
        SW_ERR(err, SW_EINVALID, "hostname, plan_id and location_id apply to target new only");
    else if (sw_db_tx(req->db, restore_tx, &t, err) == 0)
        rc = sw_api_reply(resp, 202, json_pack("{s:o}", "job", t.job));
    json_decref(b);
    return rc;
}

/* ---- restore as a new server (target new) ---- */

struct restore_new_tx {
    const struct sw_req *req;
    const char *backup_id, *hostname, *plan_id, *location_id; /* the body's; NULL: the server's */
    json_t *answer; /* out: {order, server, job, restored_from} */
};

/* The plan must be of the backup's kind and hold its disk. */
static int restore_plan_fits(const struct sw_data_restore_src *src, struct sw_err *err)
{
    if (!src->plan_id[0])
        return 0; /* no such plan: the order's own check answers it */
    if (strcmp(src->plan_kind, src->kind) != 0) {
        SW_ERR(err, SW_EUNPROCESSABLE, "the plan is a %s plan; the backup is of a %s server",
               src->plan_kind, src->kind);
        return -1;
    }
    const int64_t gib = 1073741824;
    if (src->plan_disk_gb * gib < src->bytes_logical) {
        SW_ERR(err, SW_EUNPROCESSABLE,
               "the plan's disk of %lld GB is smaller than the backup's disk of %lld bytes "
               "(%lld GB)",
               (long long)src->plan_disk_gb, (long long)src->bytes_logical,
               (long long)((src->bytes_logical + gib - 1) / gib));
        return -1;
    }
    return 0;
}

/* An order as POST /v1/orders makes it, for the backup's owner, with the
 * backed-up server's plan, template, location and host name unless the
 * body names others; its create job restores the backup. */
static int restore_new_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct restore_new_tx *t = ctx;
    json_decref(t->answer); /* from an attempt that failed to commit */
    t->answer = NULL;
    struct sw_data_restore_src src;
    if (sw_data_backups_restore_source(db, t->backup_id, t->plan_id, &src, err) < 0)
        return -1;
    json_t *keys = json_loads(src.ssh_keys, 0, NULL), *order = NULL, *server = NULL;
    free(src.ssh_keys);
    struct sw_order_spec spec = {
        .owner_id = src.owner_id,
        .plan_id = t->plan_id ? t->plan_id : src.plan_id,
        .template_id = src.template_id,
        .hostname = t->hostname ? t->hostname : src.hostname,
        .location_id = t->location_id ? t->location_id : src.location_id[0] ? src.location_id : NULL,
        .ssh_keys = json_array_size(keys) ? keys : NULL,
    };
    if (restore_plan_fits(&src, err) == 0 && (order = sw_order_write(db, t->req, &spec, err)))
        server = sw_data_backups_mark_restore(
            db, sw_json_str(json_object_get(order, "server"), "id"),
            sw_json_str(json_object_get(order, "job"), "id"), t->backup_id, err);
    json_decref(keys);
    if (!server) {
        json_decref(order);
        return -1;
    }
    json_object_set_new(order, "server", server);
    json_object_set_new(order, "restored_from", json_string(t->backup_id));
    t->answer = order;
    return 0;
}

static int restore_new(struct sw_req *req, struct sw_resp *resp, const json_t *b,
                       struct sw_err *err)
{
    struct restore_new_tx t = {req, req->params[0], sw_json_str(b, "hostname"),
                               sw_json_str(b, "plan_id"), sw_json_str(b, "location_id"), NULL};
    if ((t.plan_id && !sw_uuid_valid(t.plan_id)) ||
        (t.location_id && !sw_uuid_valid(t.location_id))) {
        SW_ERR(err, SW_EINVALID, "plan_id and location_id must be UUIDs");
        return -1;
    }
    if (t.hostname && !sw_api_hostname_valid(t.hostname)) {
        SW_ERR(err, SW_EINVALID, "hostname must be an RFC 1123 host name");
        return -1;
    }
    if (!sw_api_rate_ok(req, "orders", req->who.account_id, req->app->order_rate, 60)) {
        SW_ERR(err, SW_ERATE_LIMITED, "too many orders: at most %ld a minute",
               req->app->order_rate);
        return -1;
    }
    if (sw_db_tx(req->db, restore_new_tx, &t, err) < 0) {
        json_decref(t.answer);
        return -1;
    }
    return sw_api_reply(resp, 202, t.answer);
}

/* ---- policies ---- */

static const struct sw_jfield policy_fields[] = {
    {"schedule", SW_JT_STRING, false},   {"weekday", SW_JT_INT, false},
    {"window_start", SW_JT_INT, false},  {"window_end", SW_JT_INT, false},
    {"keep_last", SW_JT_INT, false},     {"keep_daily", SW_JT_INT, false},
    {"keep_weekly", SW_JT_INT, false},   {"keep_monthly", SW_JT_INT, false},
    {"target_id", SW_JT_STRING, false},  {NULL, 0, false},
};

/* The policy's owner column: a server's (customers' routes) or a plan's. */
static const char *policy_col(const struct sw_req *req)
{
    return strstr(req->route->pattern, "/plans/") ? "plan_id" : "server_id";
}

/* A plan's policy names a plan the router did not look up (operators'
 * routes): a missing one is 404, not the policy row's foreign key (400).
 * A server's was found by the router's owner check. */
static bool owner_exists(const struct sw_req *req, struct sw_err *err)
{
    if (strcmp(policy_col(req), "plan_id") != 0)
        return true;
    int found = sw_data_backup_plan_exists(req->db, req->params[0], err);
    if (found == 0)
        SW_ERR(err, SW_ENOTFOUND, "plan not found");
    return found > 0;
}

SW_HANDLER(sw_h_policy_put)
{
    json_t *b = sw_api_body(req, policy_fields, err);
    if (!b)
        return -1;
    const char *sched = sw_json_str(b, "schedule"), *target = sw_json_str(b, "target_id");
    json_t *out = NULL;
    if (!owner_exists(req, err)) {
        json_decref(b);
        return -1;
    }
    if (sched && strcmp(sched, "daily") != 0 && strcmp(sched, "weekly") != 0)
        SW_ERR(err, SW_EINVALID, "schedule must be daily or weekly");
    else if (target && !sw_uuid_valid(target))
        SW_ERR(err, SW_EINVALID, "target_id must be a UUID");
    else
        out = sw_data_backup_policy_put(req->db, policy_col(req), req->params[0], b, err);
    json_decref(b);
    return out ? sw_api_reply(resp, 200, out) : -1;
}

SW_HANDLER(sw_h_policy_get)
{
    json_t *out = sw_data_backup_policy_get(req->db, policy_col(req), req->params[0], false, err);
    return out ? sw_api_reply(resp, 200, out) : -1;
}

SW_HANDLER(sw_h_policy_delete)
{
    json_t *out = sw_data_backup_policy_get(req->db, policy_col(req), req->params[0], true, err);
    return out ? sw_api_reply(resp, 200, out) : -1;
}

/* ---- operators: every backup, or the stale servers ---- */

SW_HANDLER(sw_h_admin_backups)
{
    const char *stale = req->query(req, "stale");
    if (stale && strcmp(stale, "true") != 0 && strcmp(stale, "false") != 0) {
        SW_ERR(err, SW_EINVALID, "stale must be true or false");
        return -1;
    }
    bool st = stale && strcmp(stale, "true") == 0;
    return sw_api_list_data(req, resp, err, st ? &sw_data_backups_stale : &sw_data_backups_all, 0,
                            NULL);
}

/* ---- targets (operators) ---- */

static const struct sw_jfield target_fields[] = {
    {"name", SW_JT_STRING, true},     {"kind", SW_JT_STRING, true},
    {"config", SW_JT_OBJECT, true},   {"secret", SW_JT_STRING, false},
    {"on_node_ok", SW_JT_BOOL, false}, {"is_default", SW_JT_BOOL, false},
    {NULL, 0, false},
};

/* The secret goes in "secret", wrapped at rest; never in config. */
static int target_check(const json_t *b, struct sw_err *err)
{
    const char *kind = sw_json_str(b, "kind");
    const json_t *conf = json_object_get(b, "config");
    if (strcmp(kind, "dir") && strcmp(kind, "s3") && strcmp(kind, "sftp")) {
        SW_ERR(err, SW_EINVALID, "kind must be dir, s3 or sftp");
        return -1;
    }
    if (json_object_get(conf, "secret_key") || json_object_get(conf, "kind")) {
        SW_ERR(err, SW_EINVALID, "config must not hold kind nor a secret: give it as secret");
        return -1;
    }
    const char *path = sw_json_str(conf, "path");
    if (!strcmp(kind, "dir") && (!path || path[0] != '/')) {
        SW_ERR(err, SW_EINVALID, "a dir target's config needs an absolute path");
        return -1;
    }
    return sw_api_check_len(b, "name", 1, 64, err) < 0 || sw_api_check_len(b, "secret", 1, 120, err) < 0
               ? -1
               : 0;
}

static int wrap_secret(const char *secret, char out[SW_BKKEY_WRAPPED_MAX], struct sw_err *err)
{
    unsigned char master[SW_BKKEY_BYTES];
    if (sw_bkkey_master(master, err) < 0)
        return -1;
    int rc = sw_bkkey_wrap(master, (const unsigned char *)secret, strlen(secret), out, err);
    sodium_memzero(master, sizeof master);
    return rc;
}

SW_HANDLER(sw_h_targets_create)
{
    json_t *b = sw_api_body(req, target_fields, err);
    if (!b)
        return -1;
    char wrapped[SW_BKKEY_WRAPPED_MAX] = "";
    json_t *out = NULL;
    const char *secret = sw_json_str(b, "secret");
    if (target_check(b, err) == 0 && (!secret || wrap_secret(secret, wrapped, err) == 0)) {
        char *conf = sw_json_dump(json_object_get(b, "config"));
        struct sw_data_target t = {sw_json_str(b, "name"), sw_json_str(b, "kind"), conf,
                                   secret ? wrapped : NULL, sw_json_bool(b, "on_node_ok", false),
                                   sw_json_bool(b, "is_default", false)};
        out = sw_data_targets_insert(req->db, &t, err);
        free(conf);
    }
    if (secret)
        sodium_memzero((char *)secret, strlen(secret));
    json_decref(b);
    return out ? sw_api_reply(resp, 201, out) : -1;
}

static const struct sw_jfield target_patch_fields[] = {
    {"state", SW_JT_STRING, false},
    {"is_default", SW_JT_BOOL, false},
    {"on_node_ok", SW_JT_BOOL, false},
    {NULL, 0, false},
};

struct patch_tx {
    const char *id, *state;
    int is_default, on_node_ok;
    json_t *out;
};

/* A new default takes over from the old one in the same transaction. */
static int patch_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct patch_tx *p = ctx;
    if (p->is_default == 1 &&
        sw_db_run(db, err, "UPDATE backup_targets SET is_default = false WHERE id <> $1",
                  SW_PARAMS(p->id)) < 0)
        return -1;
    p->out = sw_data_targets_update(db, p->id, p->state, p->is_default, p->on_node_ok, err);
    return p->out ? 0 : -1;
}

SW_HANDLER(sw_h_targets_patch)
{
    json_t *b = sw_api_body(req, target_patch_fields, err);
    if (!b)
        return -1;
    struct patch_tx p = {req->params[0], sw_json_str(b, "state"), -1, -1, NULL};
    if (json_object_get(b, "is_default"))
        p.is_default = sw_json_bool(b, "is_default", false);
    if (json_object_get(b, "on_node_ok"))
        p.on_node_ok = sw_json_bool(b, "on_node_ok", false);
    int rc = -1;
    if (p.state && strcmp(p.state, "active") && strcmp(p.state, "retired"))
        SW_ERR(err, SW_EINVALID, "state must be active or retired");
    else if (sw_db_tx(req->db, patch_tx, &p, err) == 0)
        rc = sw_api_reply(resp, 200, p.out);
    json_decref(b);
    return rc;
}

SW_HANDLER(sw_h_targets_list)
{
    return sw_api_list_data(req, resp, err, &sw_data_backup_targets, 0, NULL);
}

/* ---- deleting a backup (migration 0028, provisioner/README.md "Backup
 * garbage collection") ---- */

/* Whether a job still needs the backup, asked after its row is locked (a
 * new statement, so it sees a restore whose transaction held the row):
 * its own backup job (pending, running) or a queued or running job naming
 * it (a restore). */
static const char delete_busy_sql[] =
    "SELECT EXISTS (SELECT 1 FROM jobs j, backups b WHERE b.id = $1"
    "  AND j.params->>'backup_id' = b.id::text AND j.state IN ('queued', 'running')"
    "  AND j.id IS DISTINCT FROM b.job_id)";

/* 1 when a job needs the backup, 0, -1. */
static int delete_busy(struct sw_db *db, const char *id, struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err, delete_busy_sql, SW_PARAMS(id));
    if (!res)
        return -1;
    int busy = sw_db_get_bool(res, 0, 0);
    PQclear(res);
    return busy;
}

/* Marks the backup deleted (0028's trigger stamps deleted_at and makes its
 * account due for gc, which removes the manifest from the target); 409
 * while a job makes it or reads it. */
static int delete_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    const char *id = ctx;
    PGresult *res = sw_db_exec(db, err,
                               "SELECT state FROM backups WHERE id = $1 AND state <> 'deleted'"
                               " FOR UPDATE",
                               SW_PARAMS(id));
    if (!res)
        return -1;
    char state[16] = "";
    if (PQntuples(res) == 1)
        snprintf(state, sizeof state, "%s", sw_db_get(res, 0, 0));
    PQclear(res);
    int busy = state[0] ? delete_busy(db, id, err) : 0;
    if (busy < 0)
        return -1;
    if (!state[0])
        SW_ERR(err, SW_ENOTFOUND, "backup not found");
    else if (strcmp(state, "completed") != 0 && strcmp(state, "failed") != 0)
        SW_ERR(err, SW_ECONFLICT, "the backup is %s: it can be deleted once its job ended",
               state);
    else if (busy)
        SW_ERR(err, SW_ECONFLICT, "a job is using the backup (a restore): delete it once that "
                                  "job ended");
    else
        return sw_db_run(db, err, "UPDATE backups SET state = 'deleted' WHERE id = $1",
                         SW_PARAMS(id)) == 1
                   ? 0
                   : -1;
    return -1;
}

SW_HANDLER(sw_h_backup_delete)
{
    if (sw_db_tx(req->db, delete_tx, (void *)req->params[0], err) < 0)
        return -1;
    return sw_api_reply(resp, 204, NULL);
}

const struct sw_route sw_routes_backups[] = {
    {"POST", "/v1/servers/{id}/backups", ANY, SW_OWN_SERVER, sw_h_backup_create,
     "back up a server (body optional: target_id, kind auto|full)", 0},
    {"GET", "/v1/servers/{id}/backups", ANY, SW_OWN_SERVER, sw_h_backups_list,
     "a server's backups", 0},
    {"GET", "/v1/backups/{id}", ANY, SW_OWN_BACKUP, sw_h_backup_get, "one backup", 0},
    {"POST", "/v1/backups/{id}/restore", ANY, SW_OWN_BACKUP, sw_h_backup_restore,
     "restore a completed backup onto its server (target same) or as a new server (target "
     "new: an order)", 0},
    {"PUT", "/v1/servers/{id}/backup-policy", ANY, SW_OWN_SERVER, sw_h_policy_put,
     "set a server's backup schedule and retention", 0},
    {"GET", "/v1/servers/{id}/backup-policy", ANY, SW_OWN_SERVER, sw_h_policy_get,
     "a server's own backup policy", 0},
    {"DELETE", "/v1/servers/{id}/backup-policy", ANY, SW_OWN_SERVER, sw_h_policy_delete,
     "remove a server's own backup policy (its plan's applies again)", 0},
    {"PUT", "/v1/admin/plans/{id}/backup-policy", OP, SW_OWN_OPERATOR, sw_h_policy_put,
     "set a plan's default backup policy", 0},
    {"GET", "/v1/admin/plans/{id}/backup-policy", OP, SW_OWN_OPERATOR, sw_h_policy_get,
     "a plan's default backup policy", 0},
    {"DELETE", "/v1/admin/plans/{id}/backup-policy", OP, SW_OWN_OPERATOR, sw_h_policy_delete,
     "remove a plan's default backup policy", 0},
    {"GET", "/v1/admin/backups", OP, SW_OWN_NONE, sw_h_admin_backups,
     "every backup, or with ?stale=true the servers whose policy has no recent backup", 0},
    {"GET", "/v1/admin/backup-targets", OP, SW_OWN_NONE, sw_h_targets_list,
     "backup targets (never their secrets)", 0},
    {"POST", "/v1/admin/backup-targets", OP, SW_OWN_NONE, sw_h_targets_create,
     "add a backup target (dir, s3, sftp); its secret is kept wrapped", 0},
    {"PATCH", "/v1/admin/backup-targets/{id}", OP, SW_OWN_OPERATOR, sw_h_targets_patch,
     "retire a backup target, or make it the default", 0},
    {"DELETE", "/v1/backups/{id}", ANY, SW_OWN_BACKUP, sw_h_backup_delete,
     "delete a completed or failed backup (its manifest and chunks go at the next gc)", 0},
    SW_ROUTES_END,
};
