/* admin_accounts.c - operator routes for accounts and resellers: create,
 * list, reseller quotas, suspend and unsuspend.
 *
 * Suspension: a suspended account's tokens stop working at once (auth.c
 * admits active accounts only), and its running or stopped servers (a
 * reseller's: its whole subtree's) become suspended in the same commit,
 * each with an ordinary suspend job that brings its domain in line and a
 * hold (suspension_holds, 0005) naming the state to go back to. Unsuspend
 * reverses exactly the held servers (state back, unsuspend job): a server
 * that was suspended already, by its reseller, by billing or by hand,
 * stays suspended. Servers still being created are left alone and listed
 * as skipped in the answer. Holds have a reason: these statements touch
 * only 'account' holds; billing's dunning keeps its own ('dunning', 0011),
 * so neither undoes the other's suspension. */
#include "config.h"
#include "core/alloc.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/json.h"
#include "panel/admin_util.h"
#include "panel/data_accounts.h"
#include "panel/data_resellers.h"
#include "panel/data_suspensions.h"
#include "panel/handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define i64 sw_adm_i64

static bool email_valid(const char *e)
{
    const char *at = strchr(e, '@');
    return at && at != e && at[1] && !strchr(at + 1, '@') && strlen(e) <= 254 &&
           !strpbrk(e, " \t\r\n\"<>,;");
}

/* email, name, password: the checks every new account passes. */
static int check_identity_fields(const json_t *b, struct sw_err *err)
{
    if (!email_valid(sw_json_str(b, "email"))) {
        SW_ERR(err, SW_EINVALID, "email is not a valid address");
        return -1;
    }
    return sw_api_check_len(b, "name", 1, 100, err) < 0 ||
                   sw_api_check_len(b, "password", 8, 1024, err) < 0
               ? -1
               : 0;
}

/* The identity checks, then the password (if any) hashed into hash. */
static int check_identity(const json_t *b, char hash[SW_PASSWORD_HASH_MAX], struct sw_err *err)
{
    const char *password = sw_json_str(b, "password");
    if (check_identity_fields(b, err) < 0)
        return -1;
    return password ? sw_password_hash(password, hash, err) : 0;
}

/* ---- accounts ---- */

static const struct sw_jfield account_fields[] = {
    {"kind", SW_JT_STRING, true},         {"email", SW_JT_STRING, true},
    {"name", SW_JT_STRING, true},         {"password", SW_JT_STRING, false},
    {"reseller_id", SW_JT_STRING, false}, {"tax_rate_bp", SW_JT_INT, false},
    {NULL, 0, false},
};

/* Billing's tax rate per account, in basis points (0011_billing). */
static const struct sw_adm_int_rule account_ints[] = {
    {"tax_rate_bp", 0, 10000},
    {NULL, 0, 0},
};

static const char *const account_kinds[] = {"customer", "reseller", NULL};
static const char *const account_states[] = {"active", "suspended", "deleted", NULL};

SW_HANDLER(sw_h_admin_accounts_list)
{
    static const char *const kinds[] = {"operator", "reseller", "customer", NULL};
    const char *kind, *state, *reseller;
    if (sw_adm_query_enum(req, "kind", kinds, &kind, err) < 0 ||
        sw_adm_query_enum(req, "state", account_states, &state, err) < 0 ||
        sw_adm_query_uuid(req, "reseller_id", &reseller, err) < 0)
        return -1;
    return sw_api_list_data(req, resp, err, &sw_data_accounts_admin_list,
                            SW_PARAMS(req->who.account_id, kind, state, reseller));
}

/* What a create body is checked for before anything is looked up. */
static int account_create_check(const json_t *b, struct sw_err *err)
{
    if (sw_adm_check_enum(b, "kind", account_kinds, err) < 0 ||
        sw_adm_check_uuid_field(b, "reseller_id", err) < 0 ||
        sw_adm_check_ints(b, account_ints, err) < 0)
        return -1;
    if (sw_json_str(b, "reseller_id") && strcmp(sw_json_str(b, "kind"), "customer") != 0) {
        SW_ERR(err, SW_EINVALID, "only a customer has a reseller_id");
        return -1;
    }
    return check_identity_fields(b, err);
}

SW_HANDLER(sw_h_admin_accounts_create)
{
    json_t *b = sw_api_body(req, account_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    const char *kind = sw_json_str(b, "kind"), *reseller = sw_json_str(b, "reseller_id");
    char hash[SW_PASSWORD_HASH_MAX];
    if (account_create_check(b, err) < 0)
        goto out;
    if (reseller) {
        int found = sw_data_accounts_is_reseller(req->db, reseller, err);
        if (found < 0)
            goto out;
        if (!found) {
            SW_ERR(err, SW_EINVALID, "reseller_id names no reseller");
            goto out;
        }
    }
    const char *password = sw_json_str(b, "password");
    if (password && sw_password_hash(password, hash, err) < 0)
        goto out;
    sw_uuid_t id;
    sw_uuid_new(id);
    char tax[24];
    snprintf(tax, sizeof tax, "%lld", (long long)sw_json_int(b, "tax_rate_bp", 0));
    struct sw_data_account_new a = {id,   kind, sw_json_str(b, "email"), sw_json_str(b, "name"),
                                    sw_json_str(b, "password") ? hash : NULL, reseller, tax};
    json_t *account = sw_data_accounts_insert(req->db, &a, err);
    if (!account && err->code == SW_ECONFLICT)
        SW_ERR(err, SW_ECONFLICT, "an account with that email exists");
    rc = account ? sw_api_reply(resp, 201, account) : -1;
out:
    json_decref(b);
    return rc;
}

/* A name or a tax rate; the new rate applies to invoices finalized from
 * now on (a finalized invoice never changes). */
SW_HANDLER(sw_h_admin_account_patch)
{
    static const struct sw_jfield fields[] = {
        {"name", SW_JT_STRING, false}, {"tax_rate_bp", SW_JT_INT, false}, {NULL, 0, false}};
    const char *id;
    json_t *b = sw_adm_patch_body(req, "account", fields, &id, err);
    if (!b)
        return -1;
    int rc = -1;
    if (sw_api_check_len(b, "name", 1, 200, err) < 0 || sw_adm_check_ints(b, account_ints, err) < 0)
        goto out;
    char tax[24] = "";
    if (json_object_get(b, "tax_rate_bp"))
        snprintf(tax, sizeof tax, "%lld", (long long)sw_json_int(b, "tax_rate_bp", 0));
    json_t *account =
        sw_data_accounts_update(req->db, id, sw_json_str(b, "name"), tax[0] ? tax : NULL, err);
    rc = account ? sw_api_reply(resp, 200, account) : -1;
out:
    json_decref(b);
    return rc;
}

/* ---- suspend / unsuspend ---- */

struct suspension {
    const struct sw_req *req;
    const char *id;
    json_t *jobs, *skipped; /* out */
    json_t *servers;        /* out: [{server_id, state, job_id}] changed */
    json_t *account;        /* out */
};

static void suspension_reset(struct suspension *s)
{
    json_decref(s->jobs);
    json_decref(s->skipped);
    json_decref(s->servers);
    json_decref(s->account);
    s->jobs = json_array();
    s->skipped = json_array();
    s->servers = json_array();
    s->account = NULL;
}

static void changed(struct suspension *s, const char *server_id, const char *state,
                    const char *job_id)
{
    json_array_append_new(s->servers, json_pack("{s:s, s:s, s:s?}", "server_id", server_id, "state",
                                                state, "job_id", job_id));
}

static void skip(struct suspension *s, const char *server_id, const char *state, const char *why)
{
    json_array_append_new(s->skipped, json_pack("{s:s, s:s, s:s}", "server_id", server_id, "state",
                                                state, "reason", why));
}

/* Sets the server's state at once (as the reseller's verbs do: a
 * suspended server accepts no action of its customer from this commit on)
 * and queues the job that brings the domain in line, with its outbox row.
 * A suspend records the hold of the suspended account with the state to
 * restore. */
static int add_job(struct sw_db *db, struct suspension *s, const char *server_id, int type,
                   const char *prev_state, const char *new_state, struct sw_err *err)
{
    char job_id[SW_UUID_LEN + 1];
    struct sw_data_susp_job j = {server_id, s->req->who.account_id, s->id, type,
                                 prev_state, new_state};
    json_t *job = sw_data_suspensions_add_job(db, &j, job_id, err);
    if (!job)
        return -1;
    json_array_append_new(s->jobs, job);
    changed(s, server_id, new_state, job_id);
    return 0;
}

static int account_row(struct sw_db *db, struct suspension *s, const char *set_state,
                       struct sw_err *err)
{
    s->account = sw_data_accounts_set_state(db, s->id, set_state, err);
    return s->account ? 0 : -1;
}

/* Locks the account; not found is 404. */
static int lock_account(struct sw_db *db, const char *id, struct sw_data_account_lock *a,
                        struct sw_err *err)
{
    int found = sw_data_accounts_lock(db, id, a, err);
    if (found == 0)
        SW_ERR(err, SW_ENOTFOUND, "account not found");
    return found > 0 ? 0 : -1;
}

static int suspend_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct suspension *s = ctx;
    suspension_reset(s);
    struct sw_data_account_lock a;
    if (lock_account(db, s->id, &a, err) < 0)
        return -1;
    if (strcmp(s->id, s->req->who.account_id) == 0) {
        SW_ERR(err, SW_ECONFLICT, "an operator cannot suspend their own account");
        return -1;
    }
    if (strcmp(a.state, "active") != 0) {
        SW_ERR(err, SW_ECONFLICT, "the account is already %s", a.state);
        return -1;
    }
    if (account_row(db, s, "suspended", err) < 0)
        return -1;
    /* The subtree's servers that are not suspended or on their way out. */
    size_t n;
    struct sw_data_susp_server *v = sw_data_suspensions_servers(db, s->id, &n, err);
    if (n == (size_t)-1)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (v[i].suspend_pending)
            skip(s, v[i].id, v[i].state, "a suspend job is already under way");
        else if (strcmp(v[i].state, "running") && strcmp(v[i].state, "stopped"))
            skip(s, v[i].id, v[i].state, "still being created: suspend it once it runs");
        else
            rc = add_job(db, s, v[i].id, SW_JOB_SUSPEND, v[i].state, "suspended", err);
    }
    free(v);
    return rc;
}

/* What an unsuspend does to one held server. */
static int release_hold(struct sw_db *db, struct suspension *s, const struct sw_data_susp_hold *h,
                        struct sw_err *err)
{
    bool job_done = strcmp(h->job_state, "queued") != 0 && strcmp(h->job_state, "running") != 0;
    if (strcmp(h->owner_id, s->id) != 0 && strcmp(h->owner_state, "suspended") == 0) {
        /* A reseller's customer that is suspended itself: the hold passes
         * to the customer, whose own unsuspend releases it. */
        skip(s, h->server_id, h->state, "its own account is suspended: it stays suspended");
        return sw_data_suspensions_pass_hold(db, s->id, h->server_id, h->owner_id, err);
    }
    if (strcmp(h->state, "suspended") != 0) {
        skip(s, h->server_id, h->state, "no longer suspended");
        return 0;
    }
    if (strcmp(h->prev_state, "stopped") == 0 && job_done) {
        /* Suspending a stopped domain changed nothing on the node, and its
         * job is over: only the state goes back. (An unsuspend job would
         * be answered "running" by the provisioner.) */
        changed(s, h->server_id, "stopped", NULL);
        return sw_data_suspensions_restore_stopped(db, h->server_id, err);
    }
    return add_job(db, s, h->server_id, SW_JOB_UNSUSPEND, NULL, h->prev_state, err);
}

static int unsuspend_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct suspension *s = ctx;
    suspension_reset(s);
    struct sw_data_account_lock a;
    if (lock_account(db, s->id, &a, err) < 0)
        return -1;
    if (strcmp(a.state, "suspended") != 0) {
        SW_ERR(err, SW_ECONFLICT, "the account is not suspended");
        return -1;
    }
    if (strcmp(a.reseller_state, "suspended") == 0) {
        SW_ERR(err, SW_ECONFLICT,
               "the account's reseller %s is suspended; unsuspend the reseller first",
               a.reseller_id);
        return -1;
    }
    if (account_row(db, s, "active", err) < 0)
        return -1;
    size_t n;
    struct sw_data_susp_hold *h = sw_data_suspensions_holds(db, s->id, &n, err);
    if (n == (size_t)-1)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = release_hold(db, s, &h[i], err);
    free(h);
    if (rc == 0 && sw_data_suspensions_release(db, s->id, err) < 0)
        rc = -1;
    return rc;
}

static int suspension_run(struct sw_req *req, struct sw_resp *resp, struct sw_err *err,
                          sw_db_tx_fn fn)
{
    struct suspension s = {req, sw_api_param_uuid(req, 0, "account", err), NULL, NULL, NULL, NULL};
    if (!s.id)
        return -1;
    int rc = sw_db_tx(req->db, fn, &s, err);
    if (rc == 0) {
        /* 202 when jobs were started, as every write that starts work. */
        int status = json_array_size(s.jobs) ? 202 : 200;
        rc = sw_api_reply(resp, status,
                          json_pack("{s:o, s:o, s:o, s:o}", "account", s.account, "servers",
                                    s.servers, "jobs", s.jobs, "skipped", s.skipped));
        s.account = s.jobs = s.skipped = s.servers = NULL;
    }
    json_decref(s.account);
    json_decref(s.servers);
    json_decref(s.jobs);
    json_decref(s.skipped);
    return rc;
}

SW_HANDLER(sw_h_admin_account_suspend)
{
    return suspension_run(req, resp, err, suspend_tx);
}

SW_HANDLER(sw_h_admin_account_unsuspend)
{
    return suspension_run(req, resp, err, unsuspend_tx);
}

/* ---- resellers ---- */

/* The quota fields; null is "no limit" (kinds: null is every kind). */
static const char *const quota_nullable[] = {
    "max_servers", "max_vcpus", "max_ram_mb", "max_disk_gb", "max_ipv4", "kinds", NULL};

static const struct sw_adm_int_rule quota_ints[] = {
    {"max_servers", 0, 1000000},        {"max_vcpus", 0, 100000000},
    {"max_ram_mb", 0, 1000000000000LL}, {"max_disk_gb", 0, 1000000000000LL},
    {"max_ipv4", 0, 100000000},         {NULL, 0, 0},
};

static const struct sw_jfield reseller_fields[] = {
    {"email", SW_JT_STRING, true},     {"name", SW_JT_STRING, true},
    {"password", SW_JT_STRING, false}, {"max_servers", SW_JT_INT, false},
    {"max_vcpus", SW_JT_INT, false},   {"max_ram_mb", SW_JT_INT, false},
    {"max_disk_gb", SW_JT_INT, false}, {"max_ipv4", SW_JT_INT, false},
    {"kinds", SW_JT_ARRAY, false},     {NULL, 0, false},
};

static const struct sw_jfield reseller_patch_fields[] = {
    {"name", SW_JT_STRING, false},     {"max_servers", SW_JT_INT, false},
    {"max_vcpus", SW_JT_INT, false},   {"max_ram_mb", SW_JT_INT, false},
    {"max_disk_gb", SW_JT_INT, false}, {"max_ipv4", SW_JT_INT, false},
    {"kinds", SW_JT_ARRAY, false},     {NULL, 0, false},
};

/* The quota row's values from the body: text of each limit (NULL: no
 * limit), the kinds array literal, and the names given (a text[] literal),
 * so that an upsert changes only those. */
struct quota_in {
    char v[5][24];
    const char *p[5];
    char kinds[64];
    char given[128];
};

static int quota_parse(const json_t *b, struct quota_in *q, struct sw_err *err)
{
    if (sw_adm_check_ints(b, quota_ints, err) < 0)
        return -1;
    strcpy(q->given, "{");
    for (int i = 0; i < 5; i++) {
        json_t *v = json_object_get(b, quota_ints[i].field);
        q->p[i] = v && !json_is_null(v) ? i64(q->v[i], (int64_t)json_integer_value(v)) : NULL;
        if (v) {
            strcat(q->given, q->given[1] ? "," : "");
            strcat(q->given, quota_ints[i].field);
        }
    }
    json_t *k = json_object_get(b, "kinds");
    strcpy(q->kinds, "{container,pv,hvm}");
    if (k) {
        unsigned mask;
        if (!json_is_null(k) && sw_adm_parse_kinds(k, "kinds", true, q->kinds, &mask, err) < 0)
            return -1;
        strcat(q->given, q->given[1] ? ",kinds" : "kinds");
    }
    strcat(q->given, "}");
    return 0;
}

static int quota_upsert(struct sw_db *db, const char *id, const struct quota_in *q,
                        struct sw_err *err)
{
    struct sw_data_quota_in in = {{q->p[0], q->p[1], q->p[2], q->p[3], q->p[4]}, q->kinds,
                                  q->given};
    return sw_data_resellers_set_quota(db, id, &in, err);
}

SW_HANDLER(sw_h_admin_resellers_list)
{
    const char *state;
    if (sw_adm_query_enum(req, "state", account_states, &state, err) < 0)
        return -1;
    return sw_api_list_data(req, resp, err, &sw_data_resellers_admin_list,
                            SW_PARAMS(req->who.account_id, state));
}

struct reseller_tx {
    const char *id;
    const json_t *b;
    const struct quota_in *q;
    const char *hash; /* create only */
    json_t *out;
};

/* The reseller as the operator sees it (quota, customers, use) into t->out. */
static int load_reseller(struct sw_db *db, struct reseller_tx *t, struct sw_err *err)
{
    t->out = sw_data_resellers_get(db, t->id, err);
    return t->out ? 0 : -1;
}

static int reseller_create_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct reseller_tx *t = ctx;
    json_decref(t->out);
    t->out = NULL;
    if (sw_data_resellers_insert(db, t->id, sw_json_str(t->b, "email"), sw_json_str(t->b, "name"),
                                 t->hash, err) < 0) {
        if (err->code == SW_ECONFLICT)
            SW_ERR(err, SW_ECONFLICT, "an account with that email exists");
        return -1;
    }
    if (quota_upsert(db, t->id, t->q, err) < 0)
        return -1;
    return load_reseller(db, t, err);
}

SW_HANDLER(sw_h_admin_resellers_create)
{
    json_t *b = sw_adm_body_nullable(req, reseller_fields, quota_nullable, err);
    if (!b)
        return -1;
    int rc = -1;
    char hash[SW_PASSWORD_HASH_MAX];
    struct quota_in q;
    sw_uuid_t id;
    sw_uuid_new(id);
    struct reseller_tx t = {id, b, &q, NULL, NULL};
    if (check_identity(b, hash, err) < 0 || quota_parse(b, &q, err) < 0)
        goto out;
    t.hash = sw_json_str(b, "password") ? hash : NULL;
    if (sw_db_tx(req->db, reseller_create_tx, &t, err) < 0)
        goto out;
    rc = sw_api_reply(resp, 201, t.out);
    t.out = NULL;
out:
    json_decref(t.out);
    json_decref(b);
    return rc;
}

static int reseller_patch_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct reseller_tx *t = ctx;
    json_decref(t->out);
    t->out = NULL;
    long n = sw_data_resellers_rename(db, t->id, sw_json_str(t->b, "name"), err);
    if (n < 0)
        return -1;
    if (n == 0) {
        SW_ERR(err, SW_ENOTFOUND, "reseller not found");
        return -1;
    }
    if (strcmp(t->q->given, "{}") != 0 && quota_upsert(db, t->id, t->q, err) < 0)
        return -1;
    return load_reseller(db, t, err);
}

/* Lowering a limit below what the subtree holds is allowed: nothing is
 * taken away, further orders are refused (the answer shows the use). */
SW_HANDLER(sw_h_admin_reseller_patch)
{
    const char *id = sw_api_param_uuid(req, 0, "reseller", err);
    if (!id)
        return -1;
    json_t *b = sw_adm_body_nullable(req, reseller_patch_fields, quota_nullable, err);
    if (!b)
        return -1;
    int rc = -1;
    struct quota_in q;
    struct reseller_tx t = {id, b, &q, NULL, NULL};
    if (json_object_size(b) == 0) {
        SW_ERR(err, SW_EINVALID, "the body names no field to change");
        goto out;
    }
    if (sw_api_check_len(b, "name", 1, 100, err) < 0 || quota_parse(b, &q, err) < 0)
        goto out;
    if (sw_db_tx(req->db, reseller_patch_tx, &t, err) < 0)
        goto out;
    rc = sw_api_reply(resp, 200, t.out);
    t.out = NULL;
out:
    json_decref(t.out);
    json_decref(b);
    return rc;
}

const struct sw_route sw_routes_admin_accounts[] = {
    {"GET", "/v1/admin/accounts", OP, SW_OWN_NONE, sw_h_admin_accounts_list,
     "accounts (?kind=, ?state=, ?reseller_id=)", 0},
    {"POST", "/v1/admin/accounts", OP, SW_OWN_NONE, sw_h_admin_accounts_create,
     "create an account", 0},
    {"PATCH", "/v1/admin/accounts/{id}", OP, SW_OWN_OPERATOR, sw_h_admin_account_patch,
     "change an account's name or tax rate (tax_rate_bp, basis points)", 0},
    {"POST", "/v1/admin/accounts/{id}/suspend", OP, SW_OWN_OPERATOR, sw_h_admin_account_suspend,
     "suspend an account: its tokens stop working, its (subtree's) servers get suspend jobs", SW_RF_AUTH},
    {"POST", "/v1/admin/accounts/{id}/unsuspend", OP, SW_OWN_OPERATOR, sw_h_admin_account_unsuspend,
     "unsuspend an account and exactly the servers its suspension suspended", SW_RF_AUTH},
    {"GET", "/v1/admin/resellers", OP, SW_OWN_NONE, sw_h_admin_resellers_list,
     "resellers with their quota and use (?state=)", 0},
    {"POST", "/v1/admin/resellers", OP, SW_OWN_NONE, sw_h_admin_resellers_create,
     "create a reseller account with its quota", 0},
    {"PATCH", "/v1/admin/resellers/{id}", OP, SW_OWN_OPERATOR, sw_h_admin_reseller_patch,
     "change a reseller's name or quota (null: no limit)", 0},
    SW_ROUTES_END,
};
