/* orders.c - ordering a server: order + server + job + outbox row in one
 * transaction, answered 202 before any work happens; the reseller quota
 * checked inside that transaction; terminate. orders.h is the contract. */
#include "config.h"
#include "panel/handlers.h"
#include "panel/orders.h"
#include "panel/iso_actions.h"
#include "panel/data_catalog.h"
#include "panel/data_jobs.h"
#include "panel/data_images.h"
#include "panel/data_orders.h"
#include "panel/data_servers.h"
#include "core/alloc.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/json.h"
#include "core/msg.h"

#include <sodium.h>

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
    /* Locking the quota row serialises this reseller's admissions
     * (orders.h); the use is then counted with a fresh snapshot. */
    struct sw_data_quota q;
    int has = sw_data_orders_lock_quota(db, reseller_id, add->kind, &q, err);
    if (has <= 0)
        return has; /* no quota row: no limits */
    if (!q.kind_ok) {
        if (detailed)
            SW_ERR(err, SW_EUNPROCESSABLE, "the quota allows only %s plans, not %s", q.kinds,
                   add->kind);
        else
            SW_ERR(err, SW_EUNPROCESSABLE, "your provider does not offer %s plans", add->kind);
        return -1;
    }
    int64_t *limit = q.limit, use[SW_QUOTA__COUNT];
    if (sw_data_orders_reseller_use(db, reseller_id, use, err) < 0)
        return -1;
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
    {"ssh_keys", SW_JT_ARRAY, false},    {"password", SW_JT_STRING, false},
    {"iso_id", SW_JT_STRING, false}, /* hvm: an ISO install (iso_actions.c) */
    {NULL, 0, false},
};

struct order_tx {
    const struct sw_req *req;
    const char *owner;
    const char *plan_id, *template_id, *hostname, *location_id;
    const char *iso_id; /* NULL: none */
    json_t *ssh_keys;
    char password_hash[SW_CRYPT_HASH_MAX]; /* "" when the order gave no password */
    json_t *answer; /* out */
};

/* ---- the root password an order may give (issue 13) ---- */

#define PASSWORD_MIN 10
#define PASSWORD_MAX 128

static int validate_keys(const json_t *keys, struct sw_err *err);

/* body.password, when given, hashed into hash (sealed to the node at
 * dispatch, removed from the job when it ends, provisioner/README.md). The
 * password is wiped from the body at once and never stored or logged. */
static int take_password(json_t *body, char hash[SW_CRYPT_HASH_MAX], struct sw_err *err)
{
    hash[0] = '\0';
    char *pw = (char *)sw_json_str(body, "password");
    if (!pw)
        return 0;
    size_t n = strlen(pw);
    int rc = -1;
    if (n < PASSWORD_MIN || n > PASSWORD_MAX)
        SW_ERR(err, SW_EINVALID, "password must be %d to %d bytes long", PASSWORD_MIN,
               PASSWORD_MAX);
    else
        rc = sw_crypt_sha512(pw, hash, err);
    sodium_memzero(pw, n);
    return rc;
}

int sw_order_guest_secrets(json_t *body, char hash[SW_CRYPT_HASH_MAX], struct sw_err *err)
{
    hash[0] = '\0';
    return validate_keys(json_object_get(body, "ssh_keys"), err) < 0 ? -1
                                                                     : take_password(body, hash, err);
}

/* The create job's params: {"password_hash": ...} or none. Owned (free()
 * after sodium_memzero: it holds the hash), or NULL. */
static char *create_params(const struct order_tx *o)
{
    if (!o->password_hash[0])
        return NULL;
    json_t *p = json_pack("{s:s}", "password_hash", o->password_hash);
    char *s = sw_json_dump(p);
    json_decref(p);
    return s;
}

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
    size_t i, total = 0;
    json_t *k;
    json_array_foreach(keys, i, k) {
        const char *s = json_string_value(k);
        if (!s || strlen(s) < 16 || strlen(s) > 8192 || strpbrk(s, "\r\n") ||
            (strncmp(s, "ssh-", 4) != 0 && strncmp(s, "ecdsa-", 6) != 0 &&
             strncmp(s, "sk-", 3) != 0)) {
            SW_ERR(err, SW_EINVALID, "ssh_keys[%zu] is not an OpenSSH public key line", i);
            return -1;
        }
        total += strlen(s) + 1;
    }
    /* what the node job carries of them (core/msg.h) */
    if (total > SW_MSG_SSH_KEYS_BYTES) {
        SW_ERR(err, SW_EINVALID, "ssh_keys hold at most %d bytes in all",
               SW_MSG_SSH_KEYS_BYTES - 1);
        return -1;
    }
    return 0;
}

/* The owner: a customer, not deleted (404) nor suspended, nor of a suspended
 * reseller, nor with an overdue invoice of its own or its reseller's (422). Its row is
 * share-locked until commit, so deleting it waits for this order (and then
 * sees its server). Fills reseller (empty when the operator's own). */
static int lock_owner(struct sw_db *db, const char *owner, char reseller[SW_UUID_LEN + 1],
                      struct sw_err *err)
{
    struct sw_data_order_owner c;
    int found = sw_data_orders_lock_owner(db, owner, &c, err);
    if (found < 0)
        return -1;
    if (!found || strcmp(c.state, "deleted") == 0) {
        SW_ERR(err, SW_ENOTFOUND, "customer not found");
        return -1;
    }
    if (strcmp(c.state, "active") != 0) {
        SW_ERR(err, SW_EUNPROCESSABLE, "the customer account is %s", c.state);
        return -1;
    }
    if (strcmp(c.reseller_state, "active") != 0) {
        /* The reseller's whole subtree is suspended with it: its customers
         * may log in and look, but nothing new is provisioned. */
        SW_ERR(err, SW_EUNPROCESSABLE, "the customer's provider account is suspended");
        return -1;
    }
    if (c.overdue) {
        /* Dunning (billing/README.md): servers of an overdue account are
         * suspended, and nothing new is provisioned until it is paid. */
        SW_ERR(err, SW_EUNPROCESSABLE,
               "the account has an overdue invoice; new servers can be ordered once it is paid");
        return -1;
    }
    snprintf(reseller, SW_UUID_LEN + 1, "%s", c.reseller_id);
    return 0;
}

/* The plan and template (active, of one kind) and the location: fills
 * what the order adds to a reseller's use. */
static int check_catalog(struct sw_db *db, const struct order_tx *o, struct sw_data_order_plan *p,
                         struct sw_err *err)
{
    int found = sw_data_catalog_order_plan(db, o->plan_id, o->template_id, p, err);
    if (found <= 0) {
        if (found == 0)
            SW_ERR(err, SW_EUNPROCESSABLE,
                   "plan_id or template_id names no active plan or template");
        return -1;
    }
    if (strcmp(p->kind, p->template_kind) != 0) {
        SW_ERR(err, SW_EUNPROCESSABLE, "the template does not install on this plan's kind");
        return -1;
    }
    if (sw_data_images_template_ready(db, o->template_id, err) < 0) /* 422 when not */
        return -1;
    if (o->location_id) {
        found = sw_data_catalog_location_exists(db, o->location_id, err);
        if (found <= 0) {
            if (found == 0)
                SW_ERR(err, SW_EUNPROCESSABLE, "location_id names no location");
            return -1;
        }
    }
    return 0;
}

/* Writes server, order, create job and outbox row; fills o->answer. */
static int write_order(struct sw_db *db, struct order_tx *o, const char *kind,
                       struct sw_err *err)
{
    sw_uuid_t server_id, order_id;
    sw_uuid_new(server_id);
    sw_uuid_new(order_id);
    char *keys = o->ssh_keys ? sw_json_dump(o->ssh_keys) : sw_strdup("[]");
    struct sw_data_server_new s = {server_id,      o->owner,    o->plan_id, o->template_id,
                                   o->location_id, o->hostname, keys};
    json_t *server = NULL, *order = NULL, *job = NULL;
    char *params = create_params(o);
    int rc = -1;
    if ((server = sw_data_servers_insert(db, &s, err)) &&
        sw_iso_order_mount(db, server_id, kind, o->iso_id, err) == 0 &&
        (order = sw_data_orders_insert(db, order_id, o->owner, server_id, o->plan_id, err)) &&
        (job = sw_data_jobs_queue(db, server_id, o->req->who.account_id, SW_JOB_CREATE, params,
                                  err))) {
        o->answer = json_pack("{s:O, s:O, s:O}", "order", order, "server", server, "job", job);
        rc = 0;
    }
    if (params)
        sodium_memzero(params, strlen(params));
    free(params);
    free(keys);
    json_decref(server);
    json_decref(order);
    json_decref(job);
    return rc;
}

static int order_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct order_tx *o = ctx;
    json_decref(o->answer); /* from an attempt that failed to commit */
    o->answer = NULL;
    char reseller[SW_UUID_LEN + 1];
    struct sw_data_order_plan p;
    if (lock_owner(db, o->owner, reseller, err) < 0 || check_catalog(db, o, &p, err) < 0)
        return -1;
    struct sw_quota_add add = {
        .v = {[SW_QUOTA_SERVERS] = 1, [SW_QUOTA_VCPUS] = p.vcpus, [SW_QUOTA_RAM_MB] = p.ram_mb,
              [SW_QUOTA_DISK_GB] = p.disk_gb, [SW_QUOTA_IPV4] = 1},
        .kind = p.kind,
    };
    if (reseller[0] && sw_quota_admit(db, reseller, &add,
                                      o->req->who.kind == SW_ACCT_RESELLER, err) < 0)
        return -1;
    return write_order(db, o, p.kind, err);
}

json_t *sw_order_write(struct sw_db *db, const struct sw_req *req, const struct sw_order_spec *spec,
                       struct sw_err *err)
{
    struct order_tx o = {.req = req, .owner = spec->owner_id, .plan_id = spec->plan_id,
                         .template_id = spec->template_id, .hostname = spec->hostname,
                         .location_id = spec->location_id, .ssh_keys = spec->ssh_keys};
    if (order_tx(db, &o, err) == 0)
        return o.answer;
    json_decref(o.answer);
    return NULL;
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
        .iso_id = sw_json_str(b, "iso_id"),
    };
    if (!sw_uuid_valid(o.plan_id) || !sw_uuid_valid(o.template_id) ||
        (o.location_id && !sw_uuid_valid(o.location_id))) {
        SW_ERR(err, SW_EINVALID, "plan_id, template_id and location_id must be UUIDs");
        goto out;
    }
    if (o.iso_id && !sw_uuid_valid(o.iso_id)) {
        SW_ERR(err, SW_EINVALID, "iso_id must be a UUID");
        goto out;
    }
    if (!sw_api_hostname_valid(o.hostname)) {
        SW_ERR(err, SW_EINVALID, "hostname must be an RFC 1123 host name");
        goto out;
    }
    if (sw_order_guest_secrets(b, o.password_hash, err) < 0)
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
    sodium_memzero(o.password_hash, sizeof o.password_hash);
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
    char state[24];
    if (sw_data_servers_lock_scoped(db, &t->req->who, t->server_id, state, err) < 0)
        return -1;
    if (strcmp(state, "terminated") == 0) {
        SW_ERR(err, SW_ECONFLICT, "server is already terminated");
        return -1;
    }
    /* Asked twice: answer with the terminate job already under way. */
    if (strcmp(state, "terminating") == 0)
        t->job = sw_data_jobs_last_terminate(db, t->server_id, err);
    else
        t->job = sw_data_jobs_queue_terminate(db, t->server_id, t->req->who.account_id, err);
    return t->job ? 0 : -1;
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
    return sw_api_list_data(req, resp, err, &sw_data_orders_list, SW_PARAMS(req->who.account_id));
}

SW_HANDLER(sw_h_order_get)
{
    const char *id = sw_api_param_uuid(req, 0, "order", err);
    if (!id)
        return -1;
    json_t *order = sw_data_orders_get(req->db, &req->who, id, err);
    return order ? sw_api_reply(resp, 200, order) : -1;
}

const struct sw_route sw_routes_orders[] = {
    {"POST", "/v1/orders", CU, SW_OWN_NONE, sw_h_orders_create, "order a server", 0},
    {"GET", "/v1/orders", ANY, SW_OWN_NONE, sw_h_orders_list, "orders", 0},
    {"GET", "/v1/orders/{id}", ANY, SW_OWN_ORDER, sw_h_order_get, "one order", 0},
    SW_ROUTES_END,
};
