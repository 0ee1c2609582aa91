/* webhooks.c - billing hooks (API.md "Billing hooks"): a reseller's or an
 * operator's outgoing webhook endpoints, their deliveries and attempts, the
 * account hook secret, and the incoming payment hook.
 *
 * Outgoing: an endpoint is an http(s) URL and the event types it wants; its
 * secret ("whsec_...", Standard Webhooks) is in the create answer only.
 * slipway-billing fans events out into deliveries and sends them
 * (billing/hooks.c); these routes show every attempt and let the owner ask
 * for one more by hand. An endpoint is seen through the one tenancy scope
 * (SW_OWN_WEBHOOK): its owner's, and the operator's. A URL naming a
 * loopback, private or link-local address literally is refused here unless
 * SLIPWAY_HOOKS_ALLOW_PRIVATE; names are checked by the deliverer against
 * the address it actually connects to.
 *
 * Incoming: POST /v1/hooks/payments carries no bearer token. It is signed
 * as Standard Webhooks with the hook secret of the account named by the
 * webhook-account header (a reseller or an operator), and applies a
 * payment through billing's sw_payment_apply(), idempotent on the
 * webhook-id: a replayed hook changes nothing and answers the same payment.
 */
#include "config.h"
#include "panel/handlers.h"
#include "panel/data_accounts.h"
#include "panel/data_invoices.h"
#include "panel/data_webhooks.h"
#include "core/alloc.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/hookdest.h"
#include "core/hooksig.h"
#include "core/json.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Endpoints an account may have that are not deleted. */
#define MAX_ENDPOINTS 50

static const char *const event_types[] = {
    "order.created",     "server.provisioned", "server.suspended", "server.unsuspended",
    "server.terminated", "job.failed",         "usage.hourly",     "invoice.finalized",
    "invoice.overdue",   "payment.received",
    "backup.completed",  "backup.failed",      "restore.completed", /* migration 0026 */
    /* issue 15, migration 0030 (node.*: events of no account, the operator's) */
    "server.migrated",   "server.recovered",   "server.lost",      "node.evacuated",
    "node.suspect",      "node.fenced",        "node.failed",
};
#define N_EVENT_TYPES (sizeof event_types / sizeof event_types[0])

static bool allow_private(struct sw_err *err, bool *out)
{
    return sw_conf_bool("SLIPWAY_HOOKS_ALLOW_PRIVATE", out, err) == 0;
}

/* ---- endpoints ---- */

SW_HANDLER(sw_h_webhooks_list)
{
    return sw_api_list_data(req, resp, err, &sw_data_webhooks_list,
                            SW_PARAMS(req->who.account_id));
}

static const struct sw_jfield webhook_fields[] = {
    {"url", SW_JT_STRING, true},
    {"events", SW_JT_ARRAY, true},
    {NULL, 0, false},
};

/* events: 1 to N_EVENT_TYPES distinct known types. */
static int check_events(const json_t *events, struct sw_err *err)
{
    size_t n = json_array_size(events);
    if (n < 1 || n > N_EVENT_TYPES) {
        SW_ERR(err, SW_EINVALID, "events must list 1 to %zu event types", N_EVENT_TYPES);
        return -1;
    }
    bool seen[N_EVENT_TYPES] = {false};
    for (size_t i = 0; i < n; i++) {
        const char *t = json_string_value(json_array_get(events, i));
        size_t k = 0;
        while (t && k < N_EVENT_TYPES && strcmp(t, event_types[k]) != 0)
            k++;
        if (!t || k == N_EVENT_TYPES) {
            SW_ERR(err, SW_EINVALID, "events[%zu] is not an event type (order.created, "
                                     "server.provisioned, ... payment.received)", i);
            return -1;
        }
        if (seen[k]) {
            SW_ERR(err, SW_EINVALID, "events lists %s twice", t);
            return -1;
        }
        seen[k] = true;
    }
    return 0;
}

struct create_tx {
    const struct sw_req *req;
    const char *url;
    char *events_json;
    json_t *webhook; /* out */
};

static int create_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct create_tx *c = ctx;
    json_decref(c->webhook);
    c->webhook = NULL;
    /* The count is taken under the account's row lock, so two creates at
     * once cannot both pass the limit. */
    int64_t have = sw_data_webhooks_lock_count(db, c->req->who.account_id, err);
    if (have < 0)
        return -1;
    if (have >= MAX_ENDPOINTS) {
        SW_ERR(err, SW_EUNPROCESSABLE, "an account may have at most %d webhooks", MAX_ENDPOINTS);
        return -1;
    }
    sw_uuid_t id;
    sw_uuid_new(id);
    char secret[SW_HOOKSIG_SECRET_LEN + 1];
    sw_hooksig_secret_new(secret);
    struct sw_data_webhook_new w = {id, c->req->who.account_id, c->url, c->events_json, secret};
    c->webhook = sw_data_webhooks_insert(db, &w, err);
    sodium_memzero(secret, sizeof secret);
    return c->webhook ? 0 : -1;
}

SW_HANDLER(sw_h_webhooks_create)
{
    json_t *b = sw_api_body(req, webhook_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    struct create_tx c = {req, sw_json_str(b, "url"), NULL, NULL};
    struct sw_hookdest d;
    bool allow;
    if (sw_hookdest_parse(c.url, &d, err) < 0 || check_events(json_object_get(b, "events"), err) < 0)
        goto out;
    if (!allow_private(err, &allow))
        goto out;
    if (d.is_private && !allow) {
        SW_ERR(err, SW_EUNPROCESSABLE, "url names a loopback, private or link-local address, "
                                       "which this installation does not send webhooks to");
        goto out;
    }
    c.events_json = sw_json_dump(json_object_get(b, "events"));
    if (sw_db_tx(req->db, create_tx, &c, err) < 0)
        goto out;
    rc = sw_api_reply(resp, 201, SW_STEAL(&c.webhook));
    resp->secret_field = "secret"; /* never kept by an Idempotency-Key */
out:
    json_decref(c.webhook);
    free(c.events_json);
    json_decref(b);
    return rc;
}

SW_HANDLER(sw_h_webhook_delete)
{
    const char *id = sw_api_param_uuid(req, 0, "webhook", err);
    if (!id)
        return -1;
    long n = sw_data_webhooks_delete(req->db, &req->who, id, err);
    if (n < 0)
        return -1;
    if (n == 0) {
        SW_ERR(err, SW_ENOTFOUND, "webhook not found");
        return -1;
    }
    return sw_api_reply(resp, 204, NULL);
}

/* ---- deliveries ---- */

static const char *const delivery_states[] = {"pending", "delivered", "failed"};

SW_HANDLER(sw_h_webhook_deliveries)
{
    const char *id = sw_api_param_uuid(req, 0, "webhook", err);
    if (!id)
        return -1;
    const char *state = req->query(req, "state");
    if (state) {
        size_t k = 0;
        while (k < 3 && strcmp(state, delivery_states[k]) != 0)
            k++;
        if (k == 3) {
            SW_ERR(err, SW_EINVALID, "state must be pending, delivered or failed");
            return -1;
        }
    }
    if (state)
        return sw_api_list_data(req, resp, err, &sw_data_webhooks_deliveries_in_state,
                                SW_PARAMS(req->who.account_id, id, state));
    return sw_api_list_data(req, resp, err, &sw_data_webhooks_deliveries,
                            SW_PARAMS(req->who.account_id, id));
}

struct redeliver_tx {
    const struct sw_req *req;
    const char *webhook_id, *delivery_id;
    json_t *delivery; /* out */
};

static int redeliver_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct redeliver_tx *r = ctx;
    json_decref(r->delivery);
    r->delivery = NULL;
    char state[16];
    int found = sw_data_webhooks_lock_delivery(db, &r->req->who, r->webhook_id, r->delivery_id,
                                               state, err);
    if (found <= 0) {
        if (found == 0)
            SW_ERR(err, SW_ENOTFOUND, "delivery not found");
        return -1;
    }
    if (strcmp(state, "active") != 0) {
        SW_ERR(err, SW_ECONFLICT, "the webhook is disabled (its receiver answered 410 Gone)");
        return -1;
    }
    /* A delivery that is over (delivered or failed) gets one more attempt,
     * marked manual; a pending one just has its next attempt now. */
    r->delivery = sw_data_webhooks_redeliver(db, r->delivery_id, err);
    return r->delivery ? 0 : -1;
}

SW_HANDLER(sw_h_webhook_redeliver)
{
    const char *id = sw_api_param_uuid(req, 0, "webhook", err);
    if (!id)
        return -1;
    struct redeliver_tx r = {req, id, req->params[1], NULL};
    if (!sw_uuid_valid(r.delivery_id)) {
        SW_ERR(err, SW_ENOTFOUND, "delivery not found");
        return -1;
    }
    if (sw_api_no_body(req, err) < 0)
        return -1;
    if (sw_db_tx(req->db, redeliver_tx, &r, err) < 0) {
        json_decref(r.delivery);
        return -1;
    }
    return sw_api_reply(resp, 202, json_pack("{s:o}", "delivery", r.delivery));
}

/* ---- the account hook secret ---- */

SW_HANDLER(sw_h_hook_secret_rotate)
{
    if (sw_api_no_body(req, err) < 0)
        return -1;
    char secret[SW_HOOKSIG_SECRET_LEN + 1];
    sw_hooksig_secret_new(secret);
    json_t *answer = sw_data_webhooks_set_secret(req->db, req->who.account_id, secret, err);
    int rc = answer ? sw_api_reply(resp, 201, answer) : -1;
    resp->secret_field = "secret"; /* never kept by an Idempotency-Key */
    sodium_memzero(secret, sizeof secret);
    return rc;
}

/* ---- the incoming payment hook ---- */

static const char *header(const struct sw_req *req, const char *name)
{
    return req->header ? req->header(req, name) : NULL;
}

/* Loads the signing account's key and makes it the request's caller (so
 * sw_api_scope() is the signer's view). An unknown account, one without a
 * secret or one that may not sign answers exactly like a bad signature. */
static int load_signer(struct sw_req *req, const char *account, unsigned char key[SW_HOOKSIG_KEY_MAX],
                       size_t *key_len, struct sw_err *err)
{
    char secret[SW_DATA_SECRET_MAX], kind[16];
    int found = sw_data_webhooks_signer(req->db, account, secret, kind, err);
    if (found < 0)
        return -1;
    int rc = 0;
    if (found) {
        rc = sw_hooksig_secret_parse(secret, key, key_len, err);
        sodium_memzero(secret, sizeof secret);
        req->who.kind = strcmp(kind, "operator") == 0 ? SW_ACCT_OPERATOR : SW_ACCT_RESELLER;
        req->who.role = req->who.kind == SW_ACCT_OPERATOR ? SW_ROLE_OPERATOR : SW_ROLE_RESELLER;
        snprintf(req->who.account_id, sizeof req->who.account_id, "%s", account);
    } else {
        /* Verify against a random key all the same: the time taken does
         * not tell whether the account exists. */
        randombytes_buf(key, SW_HOOKSIG_KEY_BYTES);
        *key_len = SW_HOOKSIG_KEY_BYTES;
    }
    if (rc < 0)
        SW_ERR(err, SW_EINTERNAL, "a stored hook secret does not parse");
    return rc < 0 ? -1 : found;
}

static const struct sw_jfield payment_fields[] = {
    {"account_id", SW_JT_STRING, false},
    {"invoice_id", SW_JT_STRING, false},
    {"amount", SW_JT_OBJECT, true},
    {"reference", SW_JT_STRING, false},
    {NULL, 0, false},
};
static const struct sw_jfield money_fields[] = {
    {"amount", SW_JT_INT, true},
    {"currency", SW_JT_STRING, true},
    {NULL, 0, false},
};

static bool currency_valid(const char *c)
{
    return c && strlen(c) == 3 && strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 3;
}

/* found (from a sw_data_*_visible()) as 0, or -1 with not_found. */
static int in_scope(int found, const char *what, struct sw_err *err)
{
    if (found == 0)
        SW_ERR(err, SW_ENOTFOUND, "%s not found", what);
    return found > 0 ? 0 : -1;
}

/* What sw_payment_apply() refuses, by the SQLSTATE it raises (migration
 * 0011): core/db.c leaves these as internal errors, with "sqlstate=SBnnn
 * <message>" in the detail. Its messages name only what the signer sent or
 * may see (checked before the call). */
static const struct {
    const char *sqlstate;
    enum sw_errc code;
    const char *msg; /* NULL: the function's own message */
} payment_errors[] = {
    {"SB001", SW_ENOTFOUND, "invoice not found"},
    {"SB002", SW_EUNPROCESSABLE, NULL}, /* currency */
    {"SB003", SW_EUNPROCESSABLE, NULL}, /* amount */
    {"SB004", SW_EUNPROCESSABLE, NULL}, /* a draft invoice */
    {"SB005", SW_EUNPROCESSABLE,
     "the account is not billed by this installation (a reseller bills its customers)"},
    {"SB006", SW_EUNPROCESSABLE, NULL}, /* source or reference */
};

static void payment_error(struct sw_err *err)
{
    for (size_t i = 0; i < sizeof payment_errors / sizeof payment_errors[0]; i++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "sqlstate=%s ", payment_errors[i].sqlstate);
        size_t n = strlen(prefix);
        if (strncmp(err->detail, prefix, n) != 0)
            continue;
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%.200s",
                 payment_errors[i].msg ? payment_errors[i].msg : err->detail + n);
        SW_ERR(err, payment_errors[i].code, "%s", msg);
        return;
    }
}

SW_HANDLER(sw_h_hook_payments)
{
    const char *account = header(req, "webhook-account");
    const char *id = header(req, "webhook-id"), *ts = header(req, "webhook-timestamp"),
               *sigs = header(req, "webhook-signature");
    if (!account || !sw_uuid_valid(account)) {
        SW_ERR(err, SW_EINVALID, "webhook-account must be the UUID of the signing account");
        return -1;
    }
    unsigned char key[SW_HOOKSIG_KEY_MAX];
    size_t key_len = 0;
    int found = load_signer(req, account, key, &key_len, err);
    if (found < 0)
        return -1;
    int vrc = sw_hooksig_verify(key, key_len, id, ts, sigs, req->body ? req->body : "",
                                req->body_len, (long long)time(NULL), SW_HOOKSIG_TOLERANCE_S,
                                err);
    sodium_memzero(key, sizeof key);
    if (vrc < 0 || !found) {
        if (vrc == 0 || err->code == SW_EUNAUTHENTICATED) {
            req->who.account_id[0] = '\0'; /* not the signer: nobody */
            SW_ERR(err, SW_EUNAUTHENTICATED, "no webhook-signature matches the message");
        }
        return -1;
    }
    json_t *b = sw_api_body(req, payment_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    const json_t *money = json_object_get(b, "amount");
    const char *acct = sw_json_str(b, "account_id"), *inv = sw_json_str(b, "invoice_id"),
               *cur = sw_json_str(money, "currency");
    if (sw_json_check(money, money_fields, err) < 0)
        goto out;
    int64_t amount = sw_json_int(money, "amount", 0);
    if (amount <= 0) {
        SW_ERR(err, SW_EINVALID, "amount.amount must be a positive integer (minor units)");
        goto out;
    }
    if (!currency_valid(cur)) {
        SW_ERR(err, SW_EINVALID, "amount.currency must be an ISO 4217 code such as EUR");
        goto out;
    }
    if (!acct && !inv) {
        SW_ERR(err, SW_EINVALID, "name the account_id or the invoice_id the payment is for");
        goto out;
    }
    if ((acct && !sw_uuid_valid(acct)) || (inv && !sw_uuid_valid(inv))) {
        SW_ERR(err, SW_EINVALID, "account_id and invoice_id must be UUIDs");
        goto out;
    }
    if (sw_api_check_len(b, "reference", 1, 200, err) < 0)
        goto out;
    if (acct && in_scope(sw_data_accounts_visible(req->db, &req->who, acct, err), "account",
                         err) < 0)
        goto out;
    /* An invoice is its billed account's and the operator's (SW_OWN_INVOICE). */
    if (inv && in_scope(sw_data_invoices_visible(req->db, &req->who, inv, err), "invoice",
                        err) < 0)
        goto out;
    char amt[24];
    snprintf(amt, sizeof amt, "%lld", (long long)amount);
    /* Scoped to the signer, so two billing systems' ids never collide. */
    char *ref = sw_asprintf("%s:%s", req->who.account_id, id);
    char pid[SW_UUID_LEN + 1];
    int paid = sw_data_invoices_pay_hook(req->db, acct, inv, amt, cur, ref, pid, err);
    free(ref);
    if (paid < 0) {
        payment_error(err);
        goto out;
    }
    rc = sw_api_reply(resp, 200, json_pack("{s:s, s:s, s:{s:I, s:s}}", "payment_id", pid,
                                           "webhook_id", id, "amount", "amount",
                                           (json_int_t)amount, "currency", cur));
out:
    json_decref(b);
    return rc;
}

const struct sw_route sw_routes_webhooks[] = {
    {"GET", "/v1/webhooks", RS | OP, SW_OWN_NONE, sw_h_webhooks_list,
     "the caller's webhook endpoints (the operator's view: all)", 0},
    {"POST", "/v1/webhooks", RS | OP, SW_OWN_NONE, sw_h_webhooks_create,
     "add a webhook endpoint; its signing secret is in this answer only", 0},
    {"DELETE", "/v1/webhooks/{id}", RS | OP, SW_OWN_WEBHOOK, sw_h_webhook_delete,
     "delete a webhook endpoint; nothing more is sent to it", 0},
    {"GET", "/v1/webhooks/{id}/deliveries", RS | OP, SW_OWN_WEBHOOK, sw_h_webhook_deliveries,
     "a webhook's deliveries with every attempt (?state=pending|delivered|failed)", 0},
    {"POST", "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", RS | OP, SW_OWN_WEBHOOK,
     sw_h_webhook_redeliver, "send a delivery once more, now", 0},
    {"POST", "/v1/account/hook-secret", RS | OP, SW_OWN_NONE, sw_h_hook_secret_rotate,
     "make a new secret for signing incoming hooks (the old one stops working); shown once", 0},
    {"POST", "/v1/hooks/payments", PUBLIC, SW_OWN_NONE, sw_h_hook_payments,
     "an external billing system reports a payment (Standard Webhooks signature, no token)", 0},
    SW_ROUTES_END,
};
