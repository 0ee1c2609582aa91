/* servers.c - a tenant's servers, their jobs and usage. Every query is
 * scoped by sw_api_scope(): another tenant's server is not found. */
#include "config.h"
#include "panel/handlers.h"
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
    return sw_api_list_scoped(req, resp, err, "sw_server_json(t)", "servers", "t.owner_id");
}

SW_HANDLER(sw_h_server_get)
{
    const char *id = sw_api_param_uuid(req, 0, "server", err);
    if (!id)
        return -1;
    return sw_api_one_scoped(req, resp, err, "server",
                             "SELECT sw_server_json(t) FROM servers t WHERE t.id = $2 AND %s",
                             "t.owner_id", SW_PARAMS(req->who.account_id, id));
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
};

struct action_tx {
    const struct sw_req *req;
    const char *server_id;
    const struct action_rule *rule;
    const char *param_id;
    json_t *job; /* out */
    char password[SW_GUEST_PASSWORD_LEN + 1]; /* reset_password: the new one, answered once */
};

/* A resize grows a reseller's use by the difference between the plans: its
 * quota admits the growth (a shrink is never refused). */
static int resize_admit(struct sw_db *db, const struct action_tx *a, const char *kind,
                        struct sw_err *err)
{
    PGresult *res = sw_db_exec(
        db, err,
        "SELECT o.reseller_id, GREATEST(n.vcpus - p.vcpus, 0),"
        " GREATEST(n.ram_mb - p.ram_mb, 0), GREATEST(n.disk_gb - p.disk_gb, 0)"
        " FROM servers s JOIN accounts o ON o.id = s.owner_id JOIN plans p ON p.id = s.plan_id,"
        " plans n WHERE s.id = $1 AND n.id = $2",
        SW_PARAMS(a->server_id, a->param_id));
    if (!res)
        return -1;
    int rc = 0;
    if (PQntuples(res) == 1 && sw_db_get(res, 0, 0)) {
        struct sw_quota_add add = {.kind = kind};
        add.v[SW_QUOTA_VCPUS] = sw_db_get_i64(res, 0, 1);
        add.v[SW_QUOTA_RAM_MB] = sw_db_get_i64(res, 0, 2);
        add.v[SW_QUOTA_DISK_GB] = sw_db_get_i64(res, 0, 3);
        rc = sw_quota_admit(db, sw_db_get(res, 0, 0), &add, false, err);
    }
    PQclear(res);
    return rc;
}

static int action_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct action_tx *a = ctx;
    PGresult *res = sw_db_exec(db, err,
                               "SELECT s.state, p.kind FROM servers s JOIN plans p"
                               " ON p.id = s.plan_id WHERE s.id = $1 FOR UPDATE OF s",
                               SW_PARAMS(a->server_id));
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        SW_ERR(err, SW_ENOTFOUND, "server not found");
        return -1;
    }
    char state[24], kind[24];
    snprintf(state, sizeof state, "%s", sw_db_get(res, 0, 0));
    snprintf(kind, sizeof kind, "%s", sw_db_get(res, 0, 1));
    PQclear(res);
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
        char *sql = sw_asprintf("SELECT 1 FROM %s WHERE id = $1 AND state = 'active' AND kind = $2",
                                a->rule->param_table);
        res = sw_db_exec(db, err, sql, SW_PARAMS(a->param_id, kind));
        free(sql);
        if (!res) {
            json_decref(params);
            return -1;
        }
        int ok = PQntuples(res);
        PQclear(res);
        if (!ok) {
            json_decref(params);
            SW_ERR(err, SW_EUNPROCESSABLE, "%s names no active %s server's %s", a->rule->param,
                   kind, a->rule->param_table);
            return -1;
        }
        json_object_set_new(params, a->rule->param, json_string(a->param_id));
    }
    if (a->rule->type == SW_JOB_RESIZE && resize_admit(db, a, kind, err) < 0) {
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
    char *ptext = sw_json_dump(params);
    json_decref(params);
    sw_uuid_t job_id;
    sw_uuid_new(job_id);
    res = sw_db_exec(db, err,
                     "INSERT INTO jobs (id, server_id, account_id, type, params)"
                     " VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING sw_job_json(jobs)",
                     SW_PARAMS(job_id, a->server_id, a->req->who.account_id,
                               sw_job_type_name(a->rule->type), ptext));
    free(ptext);
    if (!res)
        return -1;
    a->job = sw_api_json_col(sw_db_get(res, 0, 0));
    PQclear(res);
    return sw_api_enqueue_job(db, job_id, a->server_id, a->rule->type, err);
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
               "type must be start, stop, reboot, reinstall, resize or reset_password");
        goto out;
    }
    /* Only the rule's own parameter may be given. */
    for (size_t i = 1; action_fields[i].name; i++) {
        const char *f = action_fields[i].name;
        bool wanted = a.rule->param && !strcmp(a.rule->param, f);
        if (json_object_get(b, f) && !wanted) {
            SW_ERR(err, SW_EINVALID, "%s does not apply to %s", f, sw_json_str(b, "type"));
            goto out;
        }
        if (wanted) {
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
    /* Per hour: CPU seconds, RAM MiB-hours (mem_mb x seconds / 3600),
     * network and disk bytes. Default window: the last 24 hours. */
    int rc = sw_api_one_scoped(
        req, resp, err, "server",
        "WITH w AS (SELECT coalesce($3::timestamptz, now() - interval '24 hours') AS f,"
        "  coalesce($4::timestamptz, now()) AS t),"
        " srv AS (SELECT t.id FROM servers t WHERE t.id = $2 AND %s),"
        " h AS (SELECT date_trunc('hour', u.ts) AS hour, sum(u.cpu_ns) AS cpu_ns,"
        "  sum(u.mem_mb * u.period_s) AS mem_mb_s, sum(u.net_rx_bytes) AS rx,"
        "  sum(u.net_tx_bytes) AS tx, sum(u.disk_rd_bytes) AS rd, sum(u.disk_wr_bytes) AS wr,"
        "  count(*) AS n FROM usage_samples u, w WHERE u.server_id = (SELECT id FROM srv)"
        "  AND u.ts > w.f AND u.ts <= w.t GROUP BY 1)"
        " SELECT json_build_object('server_id', (SELECT id FROM srv),"
        "  'from', (SELECT sw_ts(f) FROM w), 'to', (SELECT sw_ts(t) FROM w),"
        "  'items', coalesce((SELECT json_agg(json_build_object('hour', sw_ts(hour),"
        "   'cpu_seconds', round(cpu_ns / 1e9, 3), 'ram_mb_hours', round(mem_mb_s / 3600.0, 3),"
        "   'net_rx_bytes', rx, 'net_tx_bytes', tx, 'disk_read_bytes', rd,"
        "   'disk_write_bytes', wr, 'samples', n) ORDER BY hour) FROM h), '[]'::json))"
        " WHERE EXISTS (SELECT 1 FROM srv)",
        "t.owner_id", SW_PARAMS(req->who.account_id, id, from, to));
    if (rc < 0 && err->code == SW_EINVALID)
        SW_ERR(err, SW_EINVALID, "from and to must be RFC 3339 timestamps");
    return rc;
}

SW_HANDLER(sw_h_job_get)
{
    const char *id = sw_api_param_uuid(req, 0, "job", err);
    if (!id)
        return -1;
    return sw_api_one_scoped(req, resp, err, "job",
                             "SELECT sw_job_json(j) FROM jobs j JOIN servers t"
                             " ON t.id = j.server_id WHERE j.id = $2 AND %s",
                             "t.owner_id", SW_PARAMS(req->who.account_id, id));
}

const struct sw_route sw_routes_servers[] = {
    {"GET", "/v1/servers", ANY, SW_OWN_NONE, sw_h_servers_list, "servers", 0},
    {"GET", "/v1/servers/{id}", ANY, SW_OWN_SERVER, sw_h_server_get, "one server", 0},
    {"DELETE", "/v1/servers/{id}", ANY, SW_OWN_SERVER, sw_h_server_delete, "terminate a server", 0},
    {"POST", "/v1/servers/{id}/actions", ANY, SW_OWN_SERVER, sw_h_server_action,
     "start, stop, reboot, reinstall, resize or reset the password of a server", 0},
    {"GET", "/v1/servers/{id}/usage", ANY, SW_OWN_SERVER, sw_h_server_usage,
     "a server's usage per hour", 0},
    {"GET", "/v1/jobs/{id}", ANY, SW_OWN_JOB, sw_h_job_get, "one job", 0},
    SW_ROUTES_END,
};
