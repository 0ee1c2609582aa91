/* servers.c - a tenant's servers, their jobs and usage. Every query is
 * scoped by sw_api_scope(): another tenant's server is not found. The SQL
 * is in data_servers.c, data_jobs.c and data_catalog.c. */
#include "config.h"
#include "panel/handlers.h"
#include "panel/admin_util.h"
#include "panel/data_catalog.h"
#include "panel/data_images.h"
#include "panel/data_jobs.h"
#include "panel/data_servers.h"
#include "panel/iso_actions.h"
#include "panel/orders.h"
#include "core/alloc.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/json.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

SW_HANDLER(sw_h_servers_list)
{
    return sw_api_list_data(req, resp, err, &sw_data_servers_list, SW_PARAMS(req->who.account_id));
}

SW_HANDLER(sw_h_server_get)
{
    const char *id = sw_api_param_uuid(req, 0, "server", err);
    if (!id)
        return -1;
    json_t *server = sw_data_servers_get(req->db, &req->who, id, err);
    return server ? sw_api_reply(resp, 200, server) : -1;
}

SW_HANDLER(sw_h_server_delete)
{
    return sw_order_terminate(req, resp, req->params[0], err);
}

/* ---- actions ---- */

static const struct sw_jfield action_fields[] = {
    {"type", SW_JT_STRING, true},
    {"plan_id", SW_JT_STRING, false},
    {"template_id", SW_JT_STRING, false},
    /* reinstall only: the new system's root password and SSH keys */
    {"password", SW_JT_STRING, false},
    {"ssh_keys", SW_JT_ARRAY, false},
    /* mount_iso, set_boot (iso_actions.c) */
    {"iso_id", SW_JT_STRING, false},
    {"boot", SW_JT_STRING, false},
    {NULL, 0, false},
};

/* Which server states accept which action. Jobs on one server run one at a
 * time in the order accepted, so "stop" then "start" both queue; what is
 * refused here can never become valid by waiting. */
struct action_rule {
    int type;                /* enum sw_job_type */
    const char *param;       /* required body field, or NULL */
    const char *param_table; /* where that id must be active, of the server's kind */
};

static const struct action_rule action_rules[] = {
    {SW_JOB_START, NULL, NULL},
    {SW_JOB_STOP, NULL, NULL},
    {SW_JOB_REBOOT, NULL, NULL},
    {SW_JOB_REINSTALL, "template_id", "templates"},
    {SW_JOB_RESIZE, "plan_id", "plans"},
    {SW_JOB_RESET_PASSWORD, NULL, NULL},
    {SW_JOB_MOUNT_ISO, NULL, NULL}, /* hvm only: iso_actions.c */
    {SW_JOB_EJECT_ISO, NULL, NULL},
    {SW_JOB_SET_BOOT, NULL, NULL},
};

struct action_tx {
    const struct sw_req *req;
    const char *server_id;
    const struct action_rule *rule;
    const char *param_id;
    json_t *job; /* out */
    char password[SW_GUEST_PASSWORD_LEN + 1]; /* reset_password: the new one, answered once */
    /* reinstall: the request's password as a crypt(3) hash ("": none) and
     * its ssh_keys (NULL: keep the server's), panel/README.md */
    char password_hash[SW_CRYPT_HASH_MAX];
    json_t *ssh_keys;
    struct sw_iso_action iso; /* mount_iso, eject_iso, set_boot */
};

/* A resize grows a reseller's use by the difference between the plans: its
 * quota admits the growth (a shrink is never refused). */
static int resize_admit(struct sw_db *db, const struct action_tx *a, const char *kind,
                        struct sw_err *err)
{
    char reseller[SW_UUID_LEN + 1];
    int64_t grow[3];
    int has = sw_data_servers_growth(db, a->server_id, a->param_id, reseller, grow, err);
    if (has <= 0)
        return has;
    struct sw_quota_add add = {.kind = kind};
    add.v[SW_QUOTA_VCPUS] = grow[0];
    add.v[SW_QUOTA_RAM_MB] = grow[1];
    add.v[SW_QUOTA_DISK_GB] = grow[2];
    return sw_quota_admit(db, reseller, &add, false, err);
}

static int action_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct action_tx *a = ctx;
    char state[24], kind[24];
    if (sw_data_servers_lock(db, a->server_id, state, kind, err) < 0)
        return -1;
    if (!strcmp(state, "terminated") || !strcmp(state, "terminating")) {
        SW_ERR(err, SW_ECONFLICT, "the server is %s and accepts no action", state);
        return -1;
    }
    if (!strcmp(state, "pending") || !strcmp(state, "provisioning") || !strcmp(state, "failed")) {
        SW_ERR(err, SW_ECONFLICT, "the server is %s; only terminate is possible", state);
        return -1;
    }
    if (!strcmp(state, "suspended")) {
        SW_ERR(err, SW_ECONFLICT, "the server is suspended by its provider; it must be "
                                  "unsuspended first");
        return -1;
    }
    json_t *params = json_object();
    if (a->rule->param) {
        int ok = sw_data_catalog_active_of_kind(db, a->rule->param_table, a->param_id, kind, err);
        if (ok <= 0) {
            json_decref(params);
            if (ok < 0)
                return -1;
            SW_ERR(err, SW_EUNPROCESSABLE, "%s names no active %s server's %s", a->rule->param,
                   kind, a->rule->param_table);
            return -1;
        }
        json_object_set_new(params, a->rule->param, json_string(a->param_id));
    }
    if (sw_iso_action_apply(db, a->server_id, kind, &a->iso, params, err) < 0 ||
        (a->rule->type == SW_JOB_RESIZE && resize_admit(db, a, kind, err) < 0) ||
        (a->rule->type == SW_JOB_REINSTALL &&
         sw_data_images_template_ready(db, a->param_id, err) < 0)) {
        json_decref(params);
        return -1;
    }
    /* Only the hash travels (jobs.params until the job ends, the node job):
     * the customer sees the password once, in this answer. */
    if (a->rule->type == SW_JOB_RESET_PASSWORD) {
        char hash[SW_CRYPT_HASH_MAX];
        sw_guest_password_new(a->password);
        if (sw_crypt_sha512(a->password, hash, err) < 0) {
            json_decref(params);
            return -1;
        }
        json_object_set_new(params, "password_hash", json_string(hash));
        sodium_memzero(hash, sizeof hash);
    }
    if (a->password_hash[0])
        json_object_set_new(params, "password_hash", json_string(a->password_hash));
    if (a->ssh_keys)
        json_object_set(params, "ssh_keys", a->ssh_keys);
    char *ptext = sw_json_dump(params);
    json_decref(params);
    a->job = sw_data_jobs_queue(db, a->server_id, a->req->who.account_id, a->rule->type, ptext,
                                err);
    sodium_memzero(ptext, strlen(ptext));
    free(ptext);
    return a->job ? 0 : -1;
}

SW_HANDLER(sw_h_server_action)
{
    json_t *b = sw_api_body(req, action_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    struct action_tx a = {.req = req, .server_id = req->params[0]};
    int type = sw_job_type_parse(sw_json_str(b, "type"));
    for (size_t i = 0; i < sizeof action_rules / sizeof action_rules[0]; i++)
        if (action_rules[i].type == type)
            a.rule = &action_rules[i];
    if (!a.rule) {
        SW_ERR(err, SW_EINVALID,
               "type must be start, stop, reboot, reinstall, resize, reset_password, mount_iso, "
               "eject_iso or set_boot");
        goto out;
    }
    /* Only the rule's own parameter may be given (and a reinstall's guest
     * password and keys). */
    for (size_t i = 1; action_fields[i].name; i++) {
        const char *f = action_fields[i].name;
        bool guest = !strcmp(f, "password") || !strcmp(f, "ssh_keys");
        bool iso = !strcmp(f, "iso_id") || !strcmp(f, "boot");
        bool wanted = iso     ? sw_iso_action_field(a.rule->type, f)
                      : guest ? a.rule->type == SW_JOB_REINSTALL
                              : a.rule->param && !strcmp(a.rule->param, f);
        if (json_object_get(b, f) && !wanted) {
            SW_ERR(err, SW_EINVALID, "%s does not apply to %s", f, sw_json_str(b, "type"));
            goto out;
        }
        if (wanted && !guest && !iso && json_object_get(b, f)) {
            a.param_id = sw_json_str(b, f);
            if (!sw_uuid_valid(a.param_id)) {
                SW_ERR(err, SW_EINVALID, "%s must be a UUID", f);
                goto out;
            }
        }
    }
    if (a.rule->param && !a.param_id) {
        SW_ERR(err, SW_EINVALID, "%s is required for %s", a.rule->param, sw_json_str(b, "type"));
        goto out;
    }
    a.ssh_keys = json_object_get(b, "ssh_keys");
    if (sw_iso_action_parse(a.rule->type, b, &a.iso, err) < 0 ||
        sw_order_guest_secrets(b, a.password_hash, err) < 0)
        goto out;
    if (sw_db_tx(req->db, action_tx, &a, err) < 0) {
        json_decref(a.job);
        goto out;
    }
    if (a.rule->type == SW_JOB_RESET_PASSWORD) {
        rc = sw_api_reply(resp, 202, json_pack("{s:o, s:s}", "job", a.job, "password", a.password));
        resp->secret_field = "password";
        sodium_memzero(a.password, sizeof a.password);
    } else {
        rc = sw_api_reply(resp, 202, json_pack("{s:o}", "job", a.job));
    }
out:
    sodium_memzero(a.password_hash, sizeof a.password_hash);
    json_decref(b);
    return rc;
}

SW_HANDLER(sw_h_server_usage)
{
    const char *id = sw_api_param_uuid(req, 0, "server", err);
    if (!id)
        return -1;
    const char *from = req->query(req, "from"), *to = req->query(req, "to");
    if ((from && strlen(from) > 40) || (to && strlen(to) > 40)) {
        SW_ERR(err, SW_EINVALID, "from and to must be RFC 3339 timestamps");
        return -1;
    }
    /* Default window: the last 24 hours. */
    json_t *usage = sw_data_servers_usage(req->db, &req->who, id, from, to, err);
    if (!usage && err->code == SW_EINVALID)
        SW_ERR(err, SW_EINVALID, "from and to must be RFC 3339 timestamps");
    return usage ? sw_api_reply(resp, 200, usage) : -1;
}

SW_HANDLER(sw_h_job_get)
{
    const char *id = sw_api_param_uuid(req, 0, "job", err);
    if (!id)
        return -1;
    json_t *job = sw_data_jobs_get(req->db, &req->who, id, err);
    return job ? sw_api_reply(resp, 200, job) : -1;
}

/* The jobs of the servers the caller may see, oldest first, each with the
 * progress its engine reported; ?server_id= one server's (another
 * tenant's server lists nothing, as one that does not exist). */
SW_HANDLER(sw_h_jobs_list)
{
    const char *server;
    if (sw_adm_query_uuid(req, "server_id", &server, err) < 0)
        return -1;
    return sw_api_list_data(req, resp, err, &sw_data_jobs_list,
                            SW_PARAMS(req->who.account_id, server));
}

const struct sw_route sw_routes_servers[] = {
    {"GET", "/v1/servers", ANY, SW_OWN_NONE, sw_h_servers_list, "servers", 0},
    {"GET", "/v1/servers/{id}", ANY, SW_OWN_SERVER, sw_h_server_get, "one server", 0},
    {"DELETE", "/v1/servers/{id}", ANY, SW_OWN_SERVER, sw_h_server_delete, "terminate a server", 0},
    {"POST", "/v1/servers/{id}/actions", ANY, SW_OWN_SERVER, sw_h_server_action,
     "start, stop, reboot, reinstall, resize, reset the password of a server, or mount or "
     "eject an ISO and set its boot order (hvm)", 0},
    {"GET", "/v1/servers/{id}/usage", ANY, SW_OWN_SERVER, sw_h_server_usage,
     "a server's usage per hour", 0},
    {"GET", "/v1/jobs", ANY, SW_OWN_NONE, sw_h_jobs_list,
     "the jobs of the caller's servers, with progress (?server_id=)", 0},
    {"GET", "/v1/jobs/{id}", ANY, SW_OWN_JOB, sw_h_job_get, "one job", 0},
    SW_ROUTES_END,
};
