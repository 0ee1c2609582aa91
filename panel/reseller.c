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

/* The caller's customers that are not deleted; $1 is the caller. */
#define MY_CUSTOMERS "t.reseller_id = $1::uuid AND t.kind = 'customer' AND t.state <> 'deleted'"

SW_HANDLER(sw_h_rs_customers_list)
{
    const char *ext = req->query(req, "external_id");
    if (!ext)
        return sw_api_list(req, resp, err, "sw_account_json(t)", "accounts", MY_CUSTOMERS,
                           SW_PARAMS(req->who.account_id));
    if (!external_id_valid(ext)) {
        SW_ERR(err, SW_EINVALID, "external_id must be 1 to 128 bytes without control characters");
        return -1;
    }
    return sw_api_list(req, resp, err, "sw_account_json(t)", "accounts",
                       MY_CUSTOMERS " AND t.external_id = $2", SW_PARAMS(req->who.account_id, ext));
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
    rc = sw_api_one(req, resp, err, 201, "customer",
                    "INSERT INTO accounts (id, kind, email, name, password_hash, reseller_id,"
                    " external_id) VALUES ($2, 'customer', $3, $4, $5, $1, $6)"
                    " RETURNING sw_account_json(accounts)",
                    SW_PARAMS(req->who.account_id, id, sw_json_str(b, "email"),
                              sw_json_str(b, "name"), password ? hash : NULL,
                              sw_json_str(b, "external_id")));
    if (rc < 0 && err->code == SW_ECONFLICT)
        account_conflict(err);
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
    return sw_api_one(req, resp, err, 200, "customer",
                      "SELECT sw_account_json(t) FROM accounts t WHERE t.id = $2 AND " MY_CUSTOMERS,
                      SW_PARAMS(req->who.account_id, id));
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
    bool set_ext = json_object_get(p->b, "external_id") != NULL;
    PGresult *res = sw_db_exec(
        db, err,
        "UPDATE accounts t SET name = coalesce($3, t.name), email = coalesce($4, t.email),"
        " password_hash = coalesce($5, t.password_hash),"
        " external_id = CASE WHEN $6::boolean THEN $7 ELSE t.external_id END"
        " WHERE t.id = $2 AND " MY_CUSTOMERS " RETURNING sw_account_json(t)",
        SW_PARAMS(p->req->who.account_id, p->id, sw_json_str(p->b, "name"),
                  sw_json_str(p->b, "email"), p->hash, set_ext ? "true" : "false",
                  sw_json_str(p->b, "external_id")));
    if (!res) {
        if (err->code == SW_ECONFLICT)
            account_conflict(err);
        return -1;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        SW_ERR(err, SW_ENOTFOUND, "customer not found");
        return -1;
    }
    p->account = sw_api_json_col(sw_db_get(res, 0, 0));
    PQclear(res);
    /* A new password ends the customer's login sessions (not its API tokens). */
    if (p->hash && sw_db_run(db, err,
                             "UPDATE api_tokens SET revoked_at = now() WHERE account_id = $1"
                             " AND kind = 'session' AND revoked_at IS NULL",
                             SW_PARAMS(p->id)) < 0)
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
    PGresult *res = sw_db_exec(db, err,
                               "SELECT 1 FROM accounts t WHERE t.id = $2 AND " MY_CUSTOMERS
                               " FOR UPDATE",
                               SW_PARAMS(d->req->who.account_id, d->id));
    if (!res)
        return -1;
    int found = PQntuples(res);
    PQclear(res);
    if (!found) {
        SW_ERR(err, SW_ENOTFOUND, "customer not found");
        return -1;
    }
    res = sw_db_exec(db, err,
                     "SELECT count(*) FROM servers WHERE owner_id = $1 AND state <> 'terminated'",
                     SW_PARAMS(d->id));
    if (!res)
        return -1;
    int64_t live = sw_db_get_i64(res, 0, 0);
    PQclear(res);
    if (live > 0) {
        SW_ERR(err, SW_ECONFLICT,
               "the customer has %lld server%s not terminated; terminate them first",
               (long long)live, live == 1 ? "" : "s");
        return -1;
    }
    if (sw_db_run(db, err,
                  "UPDATE accounts SET state = 'deleted', deleted_at = now(),"
                  " deleted_email = email, email = id::text || '@deleted.invalid',"
                  " deleted_external_id = external_id, external_id = NULL WHERE id = $1",
                  SW_PARAMS(d->id)) < 0 ||
        sw_db_run(db, err,
                  "UPDATE api_tokens SET revoked_at = now() WHERE account_id = $1"
                  " AND revoked_at IS NULL",
                  SW_PARAMS(d->id)) < 0)
        return -1;
    return 0;
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

/* Servers of the caller's customers; $1 is the caller. */
#define MY_SERVERS \
    "t.owner_id IN (SELECT c.id FROM accounts c WHERE c.reseller_id = $1::uuid)"

SW_HANDLER(sw_h_rs_servers_list)
{
    const char *cid = req->query(req, "customer_id");
    if (!cid)
        return sw_api_list(req, resp, err, "sw_server_json(t)", "servers", MY_SERVERS,
                           SW_PARAMS(req->who.account_id));
    if (!sw_uuid_valid(cid)) {
        SW_ERR(err, SW_EINVALID, "customer_id must be a UUID");
        return -1;
    }
    /* Another reseller's customer simply has no servers here. */
    return sw_api_list(req, resp, err, "sw_server_json(t)", "servers",
                       MY_SERVERS " AND t.owner_id = $2::uuid",
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

/* Locks one of the caller's servers and returns its row: t.state, then
 * columns (over servers t and its plan p). Not found is 404. */
static PGresult *lock_server(struct sw_db *db, const struct sw_req *req, const char *server_id,
                             const char *columns, struct sw_err *err)
{
    char *sql = sw_asprintf("SELECT t.state, %s FROM servers t JOIN plans p ON p.id = t.plan_id"
                            " WHERE t.id = $2 AND " MY_SERVERS " FOR UPDATE OF t",
                            columns);
    PGresult *res = sw_db_exec(db, err, sql, SW_PARAMS(req->who.account_id, server_id));
    free(sql);
    if (res && PQntuples(res) != 1) {
        PQclear(res);
        SW_ERR(err, SW_ENOTFOUND, "server not found");
        return NULL;
    }
    return res;
}

/* Inserts a job asked by the caller, with its outbox row; returns the
 * job's JSON (new reference) or NULL. */
static json_t *queue_job(struct sw_db *db, const struct sw_req *req, const char *server_id,
                         int type, const char *params, struct sw_err *err)
{
    sw_uuid_t job_id;
    sw_uuid_new(job_id);
    PGresult *res = sw_db_exec(db, err,
                               "INSERT INTO jobs (id, server_id, account_id, type, params)"
                               " VALUES ($1, $2, $3, $4, coalesce($5, '{}')::jsonb)"
                               " RETURNING sw_job_json(jobs)",
                               SW_PARAMS(job_id, server_id, req->who.account_id,
                                         sw_job_type_name(type), params));
    if (!res)
        return NULL;
    json_t *job = sw_api_json_col(sw_db_get(res, 0, 0));
    PQclear(res);
    if (sw_api_enqueue_job(db, job_id, server_id, type, err) < 0) {
        json_decref(job);
        return NULL;
    }
    return job;
}

static int verb_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct verb_tx *v = ctx;
    json_decref(v->answer);
    v->answer = NULL;
    PGresult *res = lock_server(
        db, v->req, v->server_id,
        "(SELECT c.state FROM accounts c WHERE c.id = t.owner_id)", err);
    if (!res)
        return -1;
    char state[24], owner_state[24];
    snprintf(state, sizeof state, "%s", sw_db_get(res, 0, 0));
    snprintf(owner_state, sizeof owner_state, "%s", sw_db_get(res, 0, 1));
    PQclear(res);
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
    res = sw_db_exec(db, err,
                     "UPDATE servers SET state = $2, updated_at = now() WHERE id = $1"
                     " RETURNING sw_server_json(servers)",
                     SW_PARAMS(v->server_id, v->verb->to));
    if (!res)
        return -1;
    json_t *server = sw_api_json_col(sw_db_get(res, 0, 0));
    PQclear(res);
    json_t *job = queue_job(db, v->req, v->server_id, v->verb->job, NULL, err);
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
    PGresult *res = lock_server(db, c->req, c->server_id,
                                "p.id, p.kind, p.vcpus, p.ram_mb, p.disk_gb,"
                                " EXISTS (SELECT 1 FROM jobs j WHERE j.server_id = t.id"
                                "  AND j.type = 'resize' AND j.state IN ('queued', 'running'))",
                                err);
    if (!res)
        return -1;
    char state[24], plan[SW_UUID_LEN + 1], kind[16];
    snprintf(state, sizeof state, "%s", sw_db_get(res, 0, 0));
    snprintf(plan, sizeof plan, "%s", sw_db_get(res, 0, 1));
    snprintf(kind, sizeof kind, "%s", sw_db_get(res, 0, 2));
    int64_t cur[3] = {sw_db_get_i64(res, 0, 3), sw_db_get_i64(res, 0, 4),
                      sw_db_get_i64(res, 0, 5)};
    bool pending = sw_db_get_bool(res, 0, 6);
    PQclear(res);
    if (strcmp(state, "running") != 0 && strcmp(state, "stopped") != 0) {
        SW_ERR(err, SW_ECONFLICT, "the server is %s; its plan can change when running or stopped",
               state);
        return -1;
    }
    if (pending) {
        SW_ERR(err, SW_ECONFLICT, "a change of plan of this server is already under way");
        return -1;
    }
    if (strcmp(plan, c->plan_id) == 0) {
        SW_ERR(err, SW_EUNPROCESSABLE, "the server already has this plan");
        return -1;
    }
    res = sw_db_exec(db, err,
                     "SELECT vcpus, ram_mb, disk_gb FROM plans"
                     " WHERE id = $1 AND state = 'active' AND kind = $2",
                     SW_PARAMS(c->plan_id, kind));
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        SW_ERR(err, SW_EUNPROCESSABLE, "plan_id names no active %s plan", kind);
        return -1;
    }
    /* The server keeps counting its current plan until the change is done,
     * so only growth is asked of the quota. */
    struct sw_quota_add add = {.v = {0}, .kind = NULL};
    static const int res_of[3] = {SW_QUOTA_VCPUS, SW_QUOTA_RAM_MB, SW_QUOTA_DISK_GB};
    for (int i = 0; i < 3; i++) {
        int64_t want = sw_db_get_i64(res, 0, i);
        add.v[res_of[i]] = want > cur[i] ? want - cur[i] : 0;
    }
    PQclear(res);
    /* The server is one of the caller's customers': the caller's quota. */
    if (sw_quota_admit(db, c->req->who.account_id, &add, true, err) < 0)
        return -1;
    json_t *params = json_pack("{s:s}", "plan_id", c->plan_id);
    char *ptext = sw_json_dump(params);
    json_decref(params);
    c->job = queue_job(db, c->req, c->server_id, SW_JOB_RESIZE, ptext, err);
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

/* One resource of the quota: its limit (null: none), use and what is left. */
#define QUOTA_RES(name, col)                                                                   \
    "'" name "', json_build_object('limit', q." col ", 'used', u." name ", 'available',"     \
    " CASE WHEN q." col " IS NULL THEN NULL ELSE greatest(q." col " - u." name ", 0) END)"

SW_HANDLER(sw_h_rs_quota)
{
    return sw_api_one(
        req, resp, err, 200, "quota",
        "SELECT json_build_object(" QUOTA_RES("servers", "max_servers") ", " QUOTA_RES(
            "vcpus", "max_vcpus") ", " QUOTA_RES("ram_mb", "max_ram_mb") ", "
            QUOTA_RES("disk_gb", "max_disk_gb") ", " QUOTA_RES("ipv4", "max_ipv4") ","
        " 'kinds', to_json(coalesce(q.kinds, ARRAY['container', 'pv', 'hvm'])),"
        " 'limited', q.reseller_id IS NOT NULL, 'updated_at', sw_ts(q.updated_at))"
        " FROM sw_reseller_use($1) u LEFT JOIN reseller_quotas q ON q.reseller_id = $1::uuid",
        SW_PARAMS(req->who.account_id));
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
    /* Samples stamped in [first of the month, first of the next) UTC, of
     * every server of every customer of the caller's, deleted ones too:
     * CPU seconds, RAM MiB-hours (mem_mb x seconds / 3600), network bytes.
     * Read from the hourly sums (usage_hourly, 0011): a month is whole
     * hours, so they give the same figures as the samples, from ~720 rows
     * per server instead of one per sample. */
    return sw_api_one(
        req, resp, err, 200, "usage",
        "WITH w AS (SELECT ($2 || '-01T00:00:00Z')::timestamptz AS f),"
        " w2 AS (SELECT f, f + interval '1 month' AS t FROM w),"
        " s AS (SELECT c.id AS customer_id, v.id AS server_id, v.hostname, v.plan_id,"
        "  v.state, sum(u.cpu_ns) AS cpu_ns, sum(u.mem_mb_s) AS mem_mb_s,"
        "  sum(u.net_rx_bytes) AS rx, sum(u.net_tx_bytes) AS tx, sum(u.samples) AS n"
        "  FROM accounts c JOIN servers v ON v.owner_id = c.id"
        "  JOIN usage_hourly u ON u.server_id = v.id, w2"
        "  WHERE c.reseller_id = $1::uuid AND u.hour >= w2.f AND u.hour < w2.t"
        "  GROUP BY c.id, v.id),"
        " cu AS (SELECT s.customer_id, json_build_object('customer_id', s.customer_id,"
        "  'external_id', coalesce(c.external_id, c.deleted_external_id),"
        "  'email', coalesce(c.deleted_email, c.email), 'state', c.state,"
        "  'cpu_seconds', round(sum(s.cpu_ns) / 1e9, 3)::float8,"
        "  'ram_mb_hours', round(sum(s.mem_mb_s) / 3600.0, 3)::float8,"
        "  'net_rx_bytes', sum(s.rx), 'net_tx_bytes', sum(s.tx),"
        "  'servers', json_agg(json_build_object('server_id', s.server_id,"
        "   'hostname', s.hostname, 'plan_id', s.plan_id, 'state', s.state,"
        "   'cpu_seconds', round(s.cpu_ns / 1e9, 3)::float8,"
        "   'ram_mb_hours', round(s.mem_mb_s / 3600.0, 3)::float8,"
        "   'net_rx_bytes', s.rx, 'net_tx_bytes', s.tx, 'samples', s.n)"
        "   ORDER BY s.server_id)) AS j"
        "  FROM s JOIN accounts c ON c.id = s.customer_id GROUP BY s.customer_id, c.id)"
        " SELECT json_build_object('month', $2::text, 'from', sw_ts(w2.f), 'to', sw_ts(w2.t),"
        "  'customers', coalesce((SELECT json_agg(cu.j ORDER BY cu.customer_id) FROM cu),"
        "   '[]'::json),"
        "  'totals', (SELECT json_build_object("
        "   'cpu_seconds', coalesce(round(sum(s.cpu_ns) / 1e9, 3)::float8, 0),"
        "   'ram_mb_hours', coalesce(round(sum(s.mem_mb_s) / 3600.0, 3)::float8, 0),"
        "   'net_rx_bytes', coalesce(sum(s.rx), 0), 'net_tx_bytes', coalesce(sum(s.tx), 0),"
        "   'servers', count(*)) FROM s))"
        " FROM w2",
        SW_PARAMS(req->who.account_id, month));
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
