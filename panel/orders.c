/* orders.c - ordering a server: order + server + job + outbox row in one
 * transaction, answered 202 before any work happens; the reseller quota
 * checked inside that transaction; terminate. orders.h is the contract. */
#include "config.h"
#include "panel/handlers.h"
#include "panel/orders.h"
#include "core/alloc.h"
#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- quota ---- */

static const char *const quota_res_names[SW_QUOTA__COUNT] = {
    [SW_QUOTA_SERVERS] = "servers", [SW_QUOTA_VCPUS] = "vcpus", [SW_QUOTA_RAM_MB] = "ram_mb",
    [SW_QUOTA_DISK_GB] = "disk_gb", [SW_QUOTA_IPV4] = "ipv4",
};

const char *sw_quota_res_name(int res)
{
    return res >= 0 && res < SW_QUOTA__COUNT ? quota_res_names[res] : "?";
}

/* The first resource that use + add would take past its limit (limit < 0:
 * none), or -1. Pure. */
static int quota_over(const int64_t limit[SW_QUOTA__COUNT], const int64_t use[SW_QUOTA__COUNT],
                      const int64_t add[SW_QUOTA__COUNT])
{
    for (int r = 0; r < SW_QUOTA__COUNT; r++)
        if (limit[r] >= 0 && add[r] > 0 && use[r] + add[r] > limit[r])
            return r;
    return -1;
}

int sw_quota_admit(struct sw_db *db, const char *reseller_id, const struct sw_quota_add *add,
                   bool detailed, struct sw_err *err)
{
    /* The lock: every admission of this reseller waits here for the one
     * before it to commit, then counts with a fresh snapshot (READ
     * COMMITTED takes one per statement). */
    PGresult *res = sw_db_exec(db, err,
                               "SELECT max_servers, max_vcpus, max_ram_mb, max_disk_gb, max_ipv4,"
                               " $2::text IS NULL OR $2 = ANY (kinds),"
                               " array_to_string(kinds, ', ')"
                               " FROM reseller_quotas WHERE reseller_id = $1 FOR UPDATE",
                               SW_PARAMS(reseller_id, add->kind));
    if (!res)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return 0; /* no quota row: no limits */
    }
    int64_t limit[SW_QUOTA__COUNT], use[SW_QUOTA__COUNT];
    for (int r = 0; r < SW_QUOTA__COUNT; r++)
        limit[r] = sw_db_get(res, 0, r) ? sw_db_get_i64(res, 0, r) : -1;
    bool kind_ok = sw_db_get_bool(res, 0, SW_QUOTA__COUNT);
    if (!kind_ok) {
        if (detailed)
            SW_ERR(err, SW_EUNPROCESSABLE, "the quota allows only %s plans, not %s",
                   sw_db_get(res, 0, SW_QUOTA__COUNT + 1), add->kind);
        else
            SW_ERR(err, SW_EUNPROCESSABLE, "your provider does not offer %s plans", add->kind);
        PQclear(res);
        return -1;
    }
    PQclear(res);
    res = sw_db_exec(db, err,
                     "SELECT servers, vcpus, ram_mb, disk_gb, ipv4 FROM sw_reseller_use($1)",
                     SW_PARAMS(reseller_id));
    if (!res)
        return -1;
    for (int r = 0; r < SW_QUOTA__COUNT; r++)
        use[r] = sw_db_get_i64(res, 0, r);
    PQclear(res);
    int r = quota_over(limit, use, add->v);
    if (r < 0)
        return 0;
    if (detailed)
        SW_ERR(err, SW_EUNPROCESSABLE,
               "the quota on %s would be exceeded: limit %lld, in use %lld, asked %lld",
               quota_res_names[r], (long long)limit[r], (long long)use[r], (long long)add->v[r]);
    else
        SW_ERR(err, SW_EUNPROCESSABLE, "your provider's limit on %s does not allow this order",
               quota_res_names[r]);
    return -1;
}

/* ---- placing an order ---- */

static const struct sw_jfield order_fields[] = {
    {"plan_id", SW_JT_STRING, true},     {"template_id", SW_JT_STRING, true},
    {"hostname", SW_JT_STRING, true},    {"location_id", SW_JT_STRING, false},
    {"ssh_keys", SW_JT_ARRAY, false},
    {NULL, 0, false},
};

struct order_tx {
    const struct sw_req *req;
    const char *owner;
    const char *plan_id, *template_id, *hostname, *location_id;
    json_t *ssh_keys;
    json_t *answer; /* out */
};

/* Each key must be one OpenSSH public key line; the database turns the
 * JSON array into text[], so no quoting happens here. */
static int validate_keys(const json_t *keys, struct sw_err *err)
{
    if (!keys)
        return 0;
    if (json_array_size(keys) > 16) {
        SW_ERR(err, SW_EINVALID, "ssh_keys holds at most 16 keys");
        return -1;
    }
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) {
        const char *s = json_string_value(k);
        if (!s || strlen(s) < 16 || strlen(s) > 8192 || strpbrk(s, "\r\n") ||
            (strncmp(s, "ssh-", 4) != 0 && strncmp(s, "ecdsa-", 6) != 0 &&
             strncmp(s, "sk-", 3) != 0)) {
            SW_ERR(err, SW_EINVALID, "ssh_keys[%zu] is not an OpenSSH public key line", i);
            return -1;
        }
    }
    return 0;
}

static int one_json(struct sw_db *db, struct sw_err *err, json_t **out, const char *sql, int n,
                    const char *const *params)
{
    PGresult *res = sw_db_exec(db, err, sql, n, params);
    if (!res)
        return -1;
    *out = sw_api_json_col(sw_db_get(res, 0, 0));
    PQclear(res);
    return 0;
}

/* The owner: a customer, not deleted (404) nor suspended, nor of a suspended
 * reseller, nor with an overdue invoice of its own or its reseller's (422). Its row is
 * share-locked until commit, so deleting it waits for this order (and then
 * sees its server). Fills reseller (empty when the operator's own). */
static int lock_owner(struct sw_db *db, const char *owner, char reseller[SW_UUID_LEN + 1],
                      struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT c.state, c.reseller_id, coalesce(r.state, 'active'),"
                               " EXISTS (SELECT 1 FROM invoices i"
                               "  WHERE i.account_id IN (c.id, c.reseller_id)"
                               "  AND i.state = 'open' AND i.overdue_at IS NOT NULL)"
                               " FROM accounts c LEFT JOIN accounts r ON r.id = c.reseller_id"
                               " WHERE c.id = $1 AND c.kind = 'customer' FOR SHARE OF c",
                               SW_PARAMS(owner));
    if (!res)
        return -1;
    if (PQntuples(res) != 1 || strcmp(sw_db_get(res, 0, 0), "deleted") == 0) {
        PQclear(res);
        SW_ERR(err, SW_ENOTFOUND, "customer not found");
        return -1;
    }
    if (strcmp(sw_db_get(res, 0, 0), "active") != 0) {
        SW_ERR(err, SW_EUNPROCESSABLE, "the customer account is %s", sw_db_get(res, 0, 0));
        PQclear(res);
        return -1;
    }
    if (strcmp(sw_db_get(res, 0, 2), "active") != 0) {
        /* The reseller's whole subtree is suspended with it: its customers
         * may log in and look, but nothing new is provisioned. */
        SW_ERR(err, SW_EUNPROCESSABLE, "the customer's provider account is suspended");
        PQclear(res);
        return -1;
    }
    if (sw_db_get_bool(res, 0, 3)) {
        /* Dunning (billing/README.md): servers of an overdue account are
         * suspended, and nothing new is provisioned until it is paid. */
        SW_ERR(err, SW_EUNPROCESSABLE,
               "the account has an overdue invoice; new servers can be ordered once it is paid");
        PQclear(res);
        return -1;
    }
    snprintf(reseller, SW_UUID_LEN + 1, "%s", sw_db_get(res, 0, 1) ? sw_db_get(res, 0, 1) : "");
    PQclear(res);
    return 0;
}

static int order_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct order_tx *o = ctx;
    json_decref(o->answer); /* from an attempt that failed to commit */
    o->answer = NULL;
    char reseller[SW_UUID_LEN + 1];
    if (lock_owner(db, o->owner, reseller, err) < 0)
        return -1;
    PGresult *res = sw_db_exec(db, err,
                               "SELECT p.kind, t.kind, p.vcpus, p.ram_mb, p.disk_gb"
                               " FROM plans p, templates t"
                               " WHERE p.id = $1 AND p.state = 'active'"
                               " AND t.id = $2 AND t.state = 'active'",
                               SW_PARAMS(o->plan_id, o->template_id));
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        SW_ERR(err, SW_EUNPROCESSABLE, "plan_id or template_id names no active plan or template");
        return -1;
    }
    char kind[16];
    snprintf(kind, sizeof kind, "%s", sw_db_get(res, 0, 0));
    bool same = strcmp(kind, sw_db_get(res, 0, 1)) == 0;
    struct sw_quota_add add = {
        .v = {[SW_QUOTA_SERVERS] = 1, [SW_QUOTA_VCPUS] = sw_db_get_i64(res, 0, 2),
              [SW_QUOTA_RAM_MB] = sw_db_get_i64(res, 0, 3),
              [SW_QUOTA_DISK_GB] = sw_db_get_i64(res, 0, 4), [SW_QUOTA_IPV4] = 1},
        .kind = kind,
    };
    PQclear(res);
    if (!same) {
        SW_ERR(err, SW_EUNPROCESSABLE, "the template does not install on this plan's kind");
        return -1;
    }
    if (o->location_id) {
        res = sw_db_exec(db, err, "SELECT 1 FROM locations WHERE id = $1",
                         SW_PARAMS(o->location_id));
        if (!res)
            return -1;
        int have = PQntuples(res);
        PQclear(res);
        if (!have) {
            SW_ERR(err, SW_EUNPROCESSABLE, "location_id names no location");
            return -1;
        }
    }
    if (reseller[0] && sw_quota_admit(db, reseller, &add,
                                      o->req->who.kind == SW_ACCT_RESELLER, err) < 0)
        return -1;
    sw_uuid_t server_id, order_id, job_id;
    sw_uuid_new(server_id);
    sw_uuid_new(order_id);
    sw_uuid_new(job_id);
    char *keys = o->ssh_keys ? sw_json_dump(o->ssh_keys) : sw_strdup("[]");
    json_t *server = NULL, *order = NULL, *job = NULL;
    int rc = -1;
    if (one_json(db, err, &server,
                 "INSERT INTO servers (id, owner_id, plan_id, template_id, location_id, hostname,"
                 " ssh_keys) VALUES ($1, $2, $3, $4, $5, $6,"
                 " ARRAY(SELECT json_array_elements_text($7::json)))"
                 " RETURNING sw_server_json(servers)",
                 SW_PARAMS(server_id, o->owner, o->plan_id, o->template_id, o->location_id,
                           o->hostname, keys)) < 0 ||
        one_json(db, err, &order,
                 "INSERT INTO orders (id, account_id, server_id, plan_id, price_amount,"
                 " price_currency) SELECT $1, $2, $3, p.id, p.price_monthly, p.currency"
                 " FROM plans p WHERE p.id = $4 RETURNING sw_order_json(orders)",
                 SW_PARAMS(order_id, o->owner, server_id, o->plan_id)) < 0 ||
        one_json(db, err, &job,
                 "INSERT INTO jobs (id, server_id, account_id, type) VALUES ($1, $2, $3, 'create')"
                 " RETURNING sw_job_json(jobs)",
                 SW_PARAMS(job_id, server_id, o->req->who.account_id)) < 0 ||
        sw_api_enqueue_job(db, job_id, server_id, SW_JOB_CREATE, err) < 0)
        goto out;
    o->answer = json_pack("{s:O, s:O, s:O}", "order", order, "server", server, "job", job);
    rc = 0;
out:
    free(keys);
    json_decref(server);
    json_decref(order);
    json_decref(job);
    return rc;
}

int sw_order_place(struct sw_req *req, struct sw_resp *resp, const char *owner_id,
                   struct sw_err *err)
{
    json_t *b = sw_api_body(req, order_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    struct order_tx o = {
        .req = req,
        .owner = owner_id,
        .plan_id = sw_json_str(b, "plan_id"),
        .template_id = sw_json_str(b, "template_id"),
        .hostname = sw_json_str(b, "hostname"),
        .location_id = sw_json_str(b, "location_id"),
        .ssh_keys = json_object_get(b, "ssh_keys"),
    };
    if (!sw_uuid_valid(o.plan_id) || !sw_uuid_valid(o.template_id) ||
        (o.location_id && !sw_uuid_valid(o.location_id))) {
        SW_ERR(err, SW_EINVALID, "plan_id, template_id and location_id must be UUIDs");
        goto out;
    }
    if (!sw_api_hostname_valid(o.hostname)) {
        SW_ERR(err, SW_EINVALID, "hostname must be an RFC 1123 host name");
        goto out;
    }
    if (validate_keys(o.ssh_keys, err) < 0)
        goto out;
    if (!sw_api_rate_ok(req, "orders", req->who.account_id, req->app->order_rate, 60)) {
        SW_ERR(err, SW_ERATE_LIMITED, "too many orders: at most %ld a minute",
               req->app->order_rate);
        goto out;
    }
    if (sw_db_tx(req->db, order_tx, &o, err) < 0) {
        json_decref(o.answer);
        goto out;
    }
    rc = sw_api_reply(resp, 202, o.answer);
out:
    json_decref(b);
    return rc;
}

/* ---- terminate ---- */

struct terminate_tx {
    const struct sw_req *req;
    const char *server_id;
    json_t *job; /* out */
};

static int terminate_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct terminate_tx *t = ctx;
    json_decref(t->job); /* from an attempt that failed to commit */
    t->job = NULL;
    char *scope = sw_api_scope(t->req, "t.owner_id");
    char *sql = sw_asprintf("SELECT t.state FROM servers t WHERE t.id = $2 AND %s FOR UPDATE",
                            scope);
    PGresult *res = sw_db_exec(db, err, sql, SW_PARAMS(t->req->who.account_id, t->server_id));
    free(sql);
    free(scope);
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        SW_ERR(err, SW_ENOTFOUND, "server not found");
        return -1;
    }
    char state[24];
    snprintf(state, sizeof state, "%s", sw_db_get(res, 0, 0));
    PQclear(res);
    if (strcmp(state, "terminated") == 0) {
        SW_ERR(err, SW_ECONFLICT, "server is already terminated");
        return -1;
    }
    if (strcmp(state, "terminating") == 0) {
        /* Asked twice: answer with the terminate job already under way. */
        res = sw_db_exec(db, err,
                         "SELECT sw_job_json(j) FROM jobs j WHERE j.server_id = $1"
                         " AND j.type = 'terminate' ORDER BY j.created_at DESC LIMIT 1",
                         SW_PARAMS(t->server_id));
        if (!res)
            return -1;
        t->job = sw_api_json_col(sw_db_get(res, 0, 0));
        PQclear(res);
        return 0;
    }
    sw_uuid_t job_id;
    sw_uuid_new(job_id);
    res = sw_db_exec(db, err,
                     "WITH s AS (UPDATE servers SET state = 'terminating', updated_at = now()"
                     " WHERE id = $2)"
                     " INSERT INTO jobs (id, server_id, account_id, type)"
                     " VALUES ($1, $2, $3, 'terminate') RETURNING sw_job_json(jobs)",
                     SW_PARAMS(job_id, t->server_id, t->req->who.account_id));
    if (!res)
        return -1;
    t->job = sw_api_json_col(sw_db_get(res, 0, 0));
    PQclear(res);
    return sw_api_enqueue_job(db, job_id, t->server_id, SW_JOB_TERMINATE, err);
}

int sw_order_terminate(struct sw_req *req, struct sw_resp *resp, const char *server_id,
                       struct sw_err *err)
{
    struct terminate_tx t = {req, server_id, NULL};
    if (sw_db_tx(req->db, terminate_tx, &t, err) < 0) {
        json_decref(t.job);
        return -1;
    }
    return sw_api_reply(resp, 202, json_pack("{s:o}", "job", t.job));
}

/* ---- routes ---- */

SW_HANDLER(sw_h_orders_create)
{
    return sw_order_place(req, resp, req->who.account_id, err);
}

SW_HANDLER(sw_h_orders_list)
{
    return sw_api_list_scoped(req, resp, err, "sw_order_json(t)", "orders", "t.account_id");
}

SW_HANDLER(sw_h_order_get)
{
    const char *id = sw_api_param_uuid(req, 0, "order", err);
    if (!id)
        return -1;
    return sw_api_one_scoped(
        req, resp, err, "order",
        "SELECT json_build_object('order', sw_order_json(t), 'server',"
        " (SELECT sw_server_json(s) FROM servers s WHERE s.id = t.server_id))"
        " FROM orders t WHERE t.id = $2 AND %s",
        "t.account_id", SW_PARAMS(req->who.account_id, id));
}

const struct sw_route sw_routes_orders[] = {
    {"POST", "/v1/orders", CU, SW_OWN_NONE, sw_h_orders_create, "order a server", 0},
    {"GET", "/v1/orders", ANY, SW_OWN_NONE, sw_h_orders_list, "orders", 0},
    {"GET", "/v1/orders/{id}", ANY, SW_OWN_ORDER, sw_h_order_get, "one order", 0},
    SW_ROUTES_END,
};
