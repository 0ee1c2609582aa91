/* orders.c - ordering a server: order + server + job + outbox row in one
 * transaction, answered 202 before any work happens. */
#include "config.h"
#include "panel/handlers.h"
#include "core/alloc.h"
#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/json.h"

#include <stdlib.h>
#include <string.h>

static const struct sw_jfield order_fields[] = {
    {"plan_id", SW_JT_STRING, true},     {"template_id", SW_JT_STRING, true},
    {"hostname", SW_JT_STRING, true},    {"location_id", SW_JT_STRING, false},
    {"ssh_keys", SW_JT_ARRAY, false},
    {NULL, 0, false},
};

struct order_tx {
    const char *owner;
    const char *plan_id, *template_id, *hostname, *location_id;
    json_t *ssh_keys;
    json_t *answer; /* out */
};

/* Renders ssh_keys as a PostgreSQL text[] literal via json: the server
 * turns the JSON array into text[] so no quoting happens here. */
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

static int order_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct order_tx *o = ctx;
    PGresult *res = sw_db_exec(db, err,
                               "SELECT p.kind, t.kind FROM plans p, templates t"
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
    bool same = strcmp(sw_db_get(res, 0, 0), sw_db_get(res, 0, 1)) == 0;
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
                 SW_PARAMS(job_id, server_id, o->owner)) < 0 ||
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

SW_HANDLER(sw_h_orders_create)
{
    json_t *b = sw_api_body(req, order_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    struct order_tx o = {
        .owner = req->who.account_id,
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
    if (sw_db_tx(req->db, order_tx, &o, err) < 0)
        goto out;
    rc = sw_api_reply(resp, 202, o.answer);
out:
    json_decref(b);
    return rc;
}

SW_HANDLER(sw_h_orders_list)
{
    char *scope = sw_api_scope(req, "t.account_id");
    int rc = sw_api_list(req, resp, err, "sw_order_json(t)", "orders", scope,
                         SW_PARAMS(req->who.account_id));
    free(scope);
    return rc;
}

SW_HANDLER(sw_h_order_get)
{
    const char *id = sw_api_param_uuid(req, 0, "order", err);
    if (!id)
        return -1;
    char *scope = sw_api_scope(req, "t.account_id");
    char *sql = sw_asprintf("SELECT json_build_object('order', sw_order_json(t), 'server',"
                            " (SELECT sw_server_json(s) FROM servers s WHERE s.id = t.server_id))"
                            " FROM orders t WHERE t.id = $2 AND %s",
                            scope);
    int rc = sw_api_one(req, resp, err, 200, "order", sql, SW_PARAMS(req->who.account_id, id));
    free(sql);
    free(scope);
    return rc;
}

const struct sw_route sw_routes_orders[] = {
    {"POST", "/v1/orders", CU, SW_OWN_NONE, sw_h_orders_create, "order a server"},
    {"GET", "/v1/orders", ANY, SW_OWN_NONE, sw_h_orders_list, "orders"},
    {"GET", "/v1/orders/{id}", ANY, SW_OWN_ORDER, sw_h_order_get, "one order"},
    SW_ROUTES_END,
};
