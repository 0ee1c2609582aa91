/* reseller.c - the reseller API (API.md "Resellers"): a billing system's
 * view of its customers, their orders and servers, its quota and usage.
 *
 * Every route is reseller-only. The router has already checked a path's
 * {id} (SW_OWN_CUSTOMER: one of the caller's customers; SW_OWN_SERVER: a
 * server of one of them); the queries here repeat the ownership condition
 * all the same, and treat a deleted customer as not found.
 *
 * Deleting a customer (DELETE /v1/reseller/customers/{id}) is refused with
 * 409 while any of its servers is not terminated. Otherwise the account is
 * kept for its history (orders, jobs, usage, audit) in state 'deleted': it
 * cannot log in, its tokens are revoked, its email and external_id are
 * freed for reuse (kept in deleted_email, deleted_external_id), and it is
 * not found by any reseller route except usage, which still bills it.
 */
#include "config.h"
#include "panel/handlers.h"
#include "panel/orders.h"
#include "panel/data_customers.h"
#include "panel/data_jobs.h"
#include "panel/data_reseller.h"
#include "core/alloc.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/json.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- validation helpers ---- */

static bool email_valid(const char *e)
{
    const char *at = strchr(e, '@');
    return at && at != e && at[1] && !strchr(at + 1, '@') && strlen(e) <= 254 &&
           !strpbrk(e, " \t\r\n\"<>,;");
}

/* A billing system's id: 1 to 128 bytes, no control characters. */
static bool external_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* The message for a unique violation on accounts. */
static void account_conflict(struct sw_err *err)
{
    if (strstr(err->detail, "accounts_reseller_external_key"))
        SW_ERR(err, SW_ECONFLICT, "a customer with that external_id exists");
    else
        SW_ERR(err, SW_ECONFLICT, "an account with that email exists");
}

/* ---- customers ---- */

SW_HANDLER(sw_h_rs_customers_list)
{
    const char *ext = req->query(req, "external_id");
    if (!ext)
        return sw_api_list_data(req, resp, err, &sw_data_customers_list,
                                SW_PARAMS(req->who.account_id));
    if (!external_id_valid(ext)) {
        SW_ERR(err, SW_EINVALID, "external_id must be 1 to 128 bytes without control characters");
        return -1;
    }
    return sw_api_list_data(req, resp, err, &sw_data_customers_by_external_id,
                            SW_PARAMS(req->who.account_id, ext));
}

static const struct sw_jfield customer_fields[] = {
    {"email", SW_JT_STRING, true},
    {"name", SW_JT_STRING, true},
    {"password", SW_JT_STRING, false},
    {"external_id", SW_JT_STRING, false},
    {NULL, 0, false},
};

static const struct sw_jfield customer_patch_fields[] = {
    {"email", SW_JT_STRING, false},
    {"name", SW_JT_STRING, false},
    {"password", SW_JT_STRING, false},
    {"external_id", SW_JT_STRING_OR_NULL, false},
    {NULL, 0, false},
};

/* Checks the fields a create or a patch may carry. */
static int check_customer(const json_t *b, struct sw_err *err)
{
    const char *email = sw_json_str(b, "email"), *ext = sw_json_str(b, "external_id");
    if (email && !email_valid(email)) {
        SW_ERR(err, SW_EINVALID, "email is not a valid address");
        return -1;
    }
    if (sw_api_check_len(b, "name", 1, 100, err) < 0 || sw_api_check_len(b, "password", 8, 1024, err) < 0)
        return -1;
    if (ext && !external_id_valid(ext)) {
        SW_ERR(err, SW_EINVALID, "external_id must be 1 to 128 bytes without control characters");
        return -1;
    }
    return 0;
}

SW_HANDLER(sw_h_rs_customers_create)
{
    json_t *b = sw_api_body(req, customer_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    const char *password = sw_json_str(b, "password");
    char hash[SW_PASSWORD_HASH_MAX];
    if (check_customer(b, err) < 0)
        goto out;
    if (password && sw_password_hash(password, hash, err) < 0)
        goto out;
    sw_uuid_t id;
    sw_uuid_new(id);
    struct sw_data_customer c = {sw_json_str(b, "email"), sw_json_str(b, "name"),
                                 password ? hash : NULL, sw_json_str(b, "external_id"), true};
    json_t *account = sw_data_customers_insert(req->db, req->who.account_id, id, &c, err);
    if (!account && err->code == SW_ECONFLICT)
        account_conflict(err);
    rc = account ? sw_api_reply(resp, 201, account) : -1;
out:
    sodium_memzero(hash, sizeof hash);
    json_decref(b);
    return rc;
}

SW_HANDLER(sw_h_rs_customer_get)
{
    const char *id = sw_api_param_uuid(req, 0, "customer", err);
    if (!id)
        return -1;
    json_t *account = sw_data_customers_get(req->db, req->who.account_id, id, err);
    return account ? sw_api_reply(resp, 200, account) : -1;
}

struct patch_tx {
    const struct sw_req *req;
    const char *id;
    const json_t *b;
    const char *hash; /* new password's, or NULL */
    json_t *account;  /* out */
};

static int patch_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct patch_tx *p = ctx;
    json_decref(p->account);
    p->account = NULL;
    struct sw_data_customer c = {sw_json_str(p->b, "email"), sw_json_str(p->b, "name"),
                                 p->hash, sw_json_str(p->b, "external_id"),
                                 json_object_get(p->b, "external_id") != NULL};
    p->account = sw_data_customers_update(db, p->req->who.account_id, p->id, &c, err);
    if (!p->account) {
        if (err->code == SW_ECONFLICT)
            account_conflict(err);
        return -1;
    }
    /* A new password ends the customer's login sessions (not its API tokens). */
    if (p->hash && sw_data_customers_end_sessions(db, p->id, err) < 0)
        return -1;
    return 0;
}

SW_HANDLER(sw_h_rs_customer_patch)
{
    const char *id = sw_api_param_uuid(req, 0, "customer", err);
    if (!id)
        return -1;
    json_t *b = sw_api_body(req, customer_patch_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    char hash[SW_PASSWORD_HASH_MAX];
    const char *password = sw_json_str(b, "password");
    struct patch_tx p = {req, id, b, NULL, NULL};
    if (json_object_size(b) == 0) {
        SW_ERR(err, SW_EINVALID, "nothing to change: give name, email, password or external_id");
        goto out;
    }
    if (check_customer(b, err) < 0)
        goto out;
    if (password) {
        if (sw_password_hash(password, hash, err) < 0)
            goto out;
        p.hash = hash;
    }
    if (sw_db_tx(req->db, patch_tx, &p, err) < 0) {
        json_decref(p.account);
        goto out;
    }
    rc = sw_api_reply(resp, 200, p.account);
out:
    sodium_memzero(hash, sizeof hash);
    json_decref(b);
    return rc;
}

struct delete_tx {
    const struct sw_req *req;
    const char *id;
};

static int delete_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct delete_tx *d = ctx;
    /* FOR UPDATE waits for orders in flight (they share-lock the customer)
     * and keeps new ones out until this commits; they then find it deleted. */
    int found = sw_data_customers_lock(db, d->req->who.account_id, d->id, err);
    if (found <= 0) {
        if (found == 0)
            SW_ERR(err, SW_ENOTFOUND, "customer not found");
        return -1;
    }
    int64_t live = sw_data_customers_live_servers(db, d->id, err);
    if (live < 0)
        return -1;
    if (live > 0) {
        SW_ERR(err, SW_ECONFLICT,
               "the customer has %lld server%s not terminated; terminate them first",
               (long long)live, live == 1 ? "" : "s");
        return -1;
    }
    return sw_data_customers_delete(db, d->id, err);
}

SW_HANDLER(sw_h_rs_customer_delete)
{
    struct delete_tx d = {req, sw_api_param_uuid(req, 0, "customer", err)};
    if (!d.id || sw_db_tx(req->db, delete_tx, &d, err) < 0)
        return -1;
    return sw_api_reply(resp, 204, NULL);
}

SW_HANDLER(sw_h_rs_customer_order)
{
    const char *id = sw_api_param_uuid(req, 0, "customer", err);
    if (!id)
        return -1;
    return sw_order_place(req, resp, id, err);
}

/* ---- servers ---- */

SW_HANDLER(sw_h_rs_servers_list)
{
    const char *cid = req->query(req, "customer_id");
    if (!cid)
        return sw_api_list_data(req, resp, err, &sw_data_reseller_servers,
                                SW_PARAMS(req->who.account_id));
    if (!sw_uuid_valid(cid)) {
        SW_ERR(err, SW_EINVALID, "customer_id must be a UUID");
        return -1;
    }
    /* Another reseller's customer simply has no servers here. */
    return sw_api_list_data(req, resp, err, &sw_data_reseller_customer_servers,
                            SW_PARAMS(req->who.account_id, cid));
}

/* Suspend and unsuspend: the state changes at once (a suspended server
 * accepts no action of its customer from this commit on), and the job
 * brings the domain in line. */
struct provider_verb {
    int job;             /* enum sw_job_type */
    const char *from[3]; /* states it applies to */
    const char *to;      /* the server's state from the commit */
};

static const struct provider_verb verb_suspend = {
    SW_JOB_SUSPEND, {"running", "stopped", NULL}, "suspended"};
static const struct provider_verb verb_unsuspend = {SW_JOB_UNSUSPEND, {"suspended", NULL},
                                                    "running"};

struct verb_tx {
    const struct sw_req *req;
    const char *server_id;
    const struct provider_verb *verb;
    json_t *answer; /* out */
};

/* Locks one of the caller's servers; not found is 404. */
static int lock_server(struct sw_db *db, const struct sw_req *req, const char *server_id,
                       struct sw_data_rs_server *s, struct sw_err *err)
{
    int found = sw_data_reseller_lock_server(db, req->who.account_id, server_id, s, err);
    if (found == 0)
        SW_ERR(err, SW_ENOTFOUND, "server not found");
    return found > 0 ? 0 : -1;
}

static int verb_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct verb_tx *v = ctx;
    json_decref(v->answer);
    v->answer = NULL;
    struct sw_data_rs_server s;
    if (lock_server(db, v->req, v->server_id, &s, err) < 0)
        return -1;
    const char *state = s.state, *owner_state = s.owner_state;
    /* A customer the operator suspended stays down with all its servers
     * until the operator lifts it; the reseller cannot undo that. */
    if (v->verb->job == SW_JOB_UNSUSPEND && strcmp(owner_state, "active") != 0) {
        SW_ERR(err, SW_ECONFLICT, "the customer account is %s; its servers stay suspended",
               owner_state);
        return -1;
    }
    bool ok = false;
    for (const char *const *f = v->verb->from; *f; f++)
        ok = ok || strcmp(state, *f) == 0;
    const char *what = sw_job_type_name(v->verb->job);
    if (!ok && strcmp(state, v->verb->to) == 0 && v->verb->job == SW_JOB_SUSPEND) {
        SW_ERR(err, SW_ECONFLICT, "the server is already suspended");
        return -1;
    }
    if (!ok) {
        SW_ERR(err, SW_ECONFLICT, "the server is %s; %s applies to a %s%s%s server", state, what,
               v->verb->from[0], v->verb->from[1] ? " or " : "",
               v->verb->from[1] ? v->verb->from[1] : "");
        return -1;
    }
    json_t *server = sw_data_reseller_set_state(db, v->server_id, v->verb->to, err);
    if (!server)
        return -1;
    json_t *job = sw_data_jobs_queue(db, v->server_id, v->req->who.account_id, v->verb->job, NULL,
                                     err);
    if (!job) {
        json_decref(server);
        return -1;
    }
    v->answer = json_pack("{s:o, s:o}", "job", job, "server", server);
    return 0;
}

static int run_verb(struct sw_req *req, struct sw_resp *resp, const struct provider_verb *verb,
                    struct sw_err *err)
{
    struct verb_tx v = {req, sw_api_param_uuid(req, 0, "server", err), verb, NULL};
    if (!v.server_id || sw_api_no_body(req, err) < 0)
        return -1;
    if (sw_db_tx(req->db, verb_tx, &v, err) < 0) {
        json_decref(v.answer);
        return -1;
    }
    return sw_api_reply(resp, 202, v.answer);
}

SW_HANDLER(sw_h_rs_server_suspend)
{
    return run_verb(req, resp, &verb_suspend, err);
}

SW_HANDLER(sw_h_rs_server_unsuspend)
{
    return run_verb(req, resp, &verb_unsuspend, err);
}

SW_HANDLER(sw_h_rs_server_terminate)
{
    const char *id = sw_api_param_uuid(req, 0, "server", err);
    if (!id || sw_api_no_body(req, err) < 0)
        return -1;
    return sw_order_terminate(req, resp, id, err);
}

static const struct sw_jfield change_plan_fields[] = {
    {"plan_id", SW_JT_STRING, true},
    {NULL, 0, false},
};

struct change_plan_tx {
    const struct sw_req *req;
    const char *server_id, *plan_id;
    json_t *job; /* out */
};

static int change_plan_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct change_plan_tx *c = ctx;
    json_decref(c->job);
    c->job = NULL;
    struct sw_data_rs_server s;
    if (lock_server(db, c->req, c->server_id, &s, err) < 0)
        return -1;
    if (strcmp(s.state, "running") != 0 && strcmp(s.state, "stopped") != 0) {
        SW_ERR(err, SW_ECONFLICT, "the server is %s; its plan can change when running or stopped",
               s.state);
        return -1;
    }
    if (s.resize_pending) {
        SW_ERR(err, SW_ECONFLICT, "a change of plan of this server is already under way");
        return -1;
    }
    if (strcmp(s.plan_id, c->plan_id) == 0) {
        SW_ERR(err, SW_EUNPROCESSABLE, "the server already has this plan");
        return -1;
    }
    int64_t want[3];
    int found = sw_data_reseller_plan_size(db, c->plan_id, s.kind, want, err);
    if (found <= 0) {
        if (found == 0)
            SW_ERR(err, SW_EUNPROCESSABLE, "plan_id names no active %s plan", s.kind);
        return -1;
    }
    /* The server keeps counting its current plan until the change is done,
     * so only growth is asked of the quota. */
    struct sw_quota_add add = {.v = {0}, .kind = NULL};
    static const int res_of[3] = {SW_QUOTA_VCPUS, SW_QUOTA_RAM_MB, SW_QUOTA_DISK_GB};
    for (int i = 0; i < 3; i++)
        add.v[res_of[i]] = want[i] > s.size[i] ? want[i] - s.size[i] : 0;
    /* The server is one of the caller's customers': the caller's quota. */
    if (sw_quota_admit(db, c->req->who.account_id, &add, true, err) < 0)
        return -1;
    json_t *params = json_pack("{s:s}", "plan_id", c->plan_id);
    char *ptext = sw_json_dump(params);
    json_decref(params);
    c->job = sw_data_jobs_queue(db, c->server_id, c->req->who.account_id, SW_JOB_RESIZE, ptext,
                                err);
    free(ptext);
    return c->job ? 0 : -1;
}

SW_HANDLER(sw_h_rs_server_change_plan)
{
    const char *id = sw_api_param_uuid(req, 0, "server", err);
    if (!id)
        return -1;
    json_t *b = sw_api_body(req, change_plan_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    struct change_plan_tx c = {req, id, sw_json_str(b, "plan_id"), NULL};
    if (!sw_uuid_valid(c.plan_id)) {
        SW_ERR(err, SW_EINVALID, "plan_id must be a UUID");
        goto out;
    }
    if (sw_db_tx(req->db, change_plan_tx, &c, err) < 0) {
        json_decref(c.job);
        goto out;
    }
    rc = sw_api_reply(resp, 202, json_pack("{s:o}", "job", c.job));
out:
    json_decref(b);
    return rc;
}

/* ---- quota and usage ---- */

SW_HANDLER(sw_h_rs_quota)
{
    json_t *quota = sw_data_reseller_quota(req->db, req->who.account_id, err);
    return quota ? sw_api_reply(resp, 200, quota) : -1;
}

/* "YYYY-MM", year 2000 to 9999. */
static bool month_valid(const char *m)
{
    if (strlen(m) != 7 || m[4] != '-')
        return false;
    for (int i = 0; i < 7; i++)
        if (i != 4 && (m[i] < '0' || m[i] > '9'))
            return false;
    int month = (m[5] - '0') * 10 + (m[6] - '0');
    return m[0] >= '2' && month >= 1 && month <= 12;
}

SW_HANDLER(sw_h_rs_usage)
{
    char month[8];
    const char *m = req->query(req, "month");
    if (m) {
        if (!month_valid(m)) {
            SW_ERR(err, SW_EINVALID, "month must be YYYY-MM");
            return -1;
        }
        snprintf(month, sizeof month, "%s", m);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(month, sizeof month, "%Y-%m", &tm);
    }
    json_t *usage = sw_data_reseller_usage(req->db, req->who.account_id, month, err);
    return usage ? sw_api_reply(resp, 200, usage) : -1;
}

const struct sw_route sw_routes_reseller[] = {
    {"GET", "/v1/reseller/customers", RS, SW_OWN_NONE, sw_h_rs_customers_list,
     "the reseller's customers, or the one with ?external_id=", 0},
    {"POST", "/v1/reseller/customers", RS, SW_OWN_NONE, sw_h_rs_customers_create,
     "create a customer", 0},
    {"GET", "/v1/reseller/customers/{id}", RS, SW_OWN_CUSTOMER, sw_h_rs_customer_get,
     "one customer", 0},
    {"PATCH", "/v1/reseller/customers/{id}", RS, SW_OWN_CUSTOMER, sw_h_rs_customer_patch,
     "change a customer's name, email, password or external_id", SW_RF_AUTH},
    {"DELETE", "/v1/reseller/customers/{id}", RS, SW_OWN_CUSTOMER, sw_h_rs_customer_delete,
     "delete a customer whose servers are all terminated", SW_RF_AUTH},
    {"POST", "/v1/reseller/customers/{id}/orders", RS, SW_OWN_CUSTOMER, sw_h_rs_customer_order,
     "order a server for a customer", 0},
    {"GET", "/v1/reseller/servers", RS, SW_OWN_NONE, sw_h_rs_servers_list,
     "the servers of the reseller's customers (?customer_id= for one)", 0},
    {"POST", "/v1/reseller/servers/{id}/suspend", RS, SW_OWN_SERVER, sw_h_rs_server_suspend,
     "suspend a customer's server", 0},
    {"POST", "/v1/reseller/servers/{id}/unsuspend", RS, SW_OWN_SERVER, sw_h_rs_server_unsuspend,
     "unsuspend a customer's server", 0},
    {"POST", "/v1/reseller/servers/{id}/terminate", RS, SW_OWN_SERVER, sw_h_rs_server_terminate,
     "terminate a customer's server", 0},
    {"POST", "/v1/reseller/servers/{id}/change-plan", RS, SW_OWN_SERVER,
     sw_h_rs_server_change_plan, "move a customer's server to another plan of its kind", 0},
    {"GET", "/v1/reseller/quota", RS, SW_OWN_NONE, sw_h_rs_quota, "the quota: limits and use", 0},
    {"GET", "/v1/reseller/usage", RS, SW_OWN_NONE, sw_h_rs_usage,
     "usage per customer and server in a month (?month=YYYY-MM)", 0},
    SW_ROUTES_END,
};
