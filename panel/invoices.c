/* invoices.c - invoices and payments (billing/README.md has the rules).
 *
 * An invoice is visible to the account it bills and to operators
 * (SW_OWN_INVOICE): a reseller sees its own invoices, for its whole
 * subtree, never its customers' (they get none from us). GET /v1/invoices
 * lists the caller's own. The operator records a payment with POST
 * /v1/admin/payments, which goes through sw_payment_apply() (0011), the
 * same SQL function the inbound payment hook calls: ledger transaction,
 * application to the invoice, payment.received, release of a dunning
 * suspension.
 */
#include "config.h"
#include "core/alloc.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/err.h"
#include "core/json.h"
#include "panel/admin_util.h"
#include "panel/data_invoices.h"
#include "panel/handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const invoice_states[] = {"draft", "open", "paid", NULL};

/* ?period=YYYY-MM into *out (NULL when absent). */
static int query_period(const struct sw_req *req, const char **out, struct sw_err *err)
{
    const char *p = req->query(req, "period");
    *out = p;
    if (!p)
        return 0;
    bool ok = strlen(p) == 7 && p[4] == '-' && strspn(p, "0123456789-") == 7 &&
              ((p[5] == '0' && p[6] >= '1') || (p[5] == '1' && p[6] <= '2'));
    if (!ok) {
        SW_ERR(err, SW_EINVALID, "period must be YYYY-MM");
        return -1;
    }
    return 0;
}

SW_HANDLER(sw_h_invoices_list)
{
    const char *state, *period;
    if (sw_adm_query_enum(req, "state", invoice_states, &state, err) < 0 ||
        query_period(req, &period, err) < 0)
        return -1;
    return sw_api_list_data(req, resp, err, &sw_data_invoices_own,
                            SW_PARAMS(req->who.account_id, state, period));
}

SW_HANDLER(sw_h_invoice_get)
{
    const char *id = sw_api_param_uuid(req, 0, "invoice", err);
    if (!id)
        return -1;
    /* The router's owner check (SW_OWN_INVOICE) already holds; the same
     * condition again, so this read cannot drift from it. */
    json_t *invoice = sw_data_invoices_get(req->db, req->who.account_id, id, err);
    return invoice ? sw_api_reply(resp, 200, invoice) : -1;
}

SW_HANDLER(sw_h_admin_invoices_list)
{
    const char *state, *period, *account;
    if (sw_adm_query_enum(req, "state", invoice_states, &state, err) < 0 ||
        query_period(req, &period, err) < 0 ||
        sw_adm_query_uuid(req, "account_id", &account, err) < 0)
        return -1;
    return sw_api_list_data(req, resp, err, &sw_data_invoices_admin_list,
                            SW_PARAMS(req->who.account_id, state, period, account));
}

/* sw_payment_apply()'s errors (SQLSTATE class SB, 0011), as API errors. */
static const struct {
    const char *sqlstate;
    enum sw_errc code;
    const char *msg;
} payment_errors[] = {
    {"SB001", SW_EINVALID, "invoice_id names no invoice"},
    {"SB002", SW_EUNPROCESSABLE, "the payment's currency is not the invoice's"},
    {"SB003", SW_EINVALID, "amount.amount must be a positive integer of minor units"},
    {"SB004", SW_EUNPROCESSABLE, "the invoice is a draft: it can be paid once finalized"},
    {"SB005", SW_EUNPROCESSABLE, "the invoice's account is not billed by the operator"},
    {"SB006", SW_EINVALID, "the payment's reference is malformed"},
};

static void map_payment_error(struct sw_err *err)
{
    const char *p = strstr(err->detail, "sqlstate=");
    if (!p)
        return;
    p += strlen("sqlstate=");
    for (size_t i = 0; i < sizeof payment_errors / sizeof payment_errors[0]; i++)
        if (strncmp(p, payment_errors[i].sqlstate, 5) == 0) {
            char detail[sizeof err->detail];
            snprintf(detail, sizeof detail, "%s", err->detail);
            SW_ERR(err, payment_errors[i].code, "%s", payment_errors[i].msg);
            sw_err_detail(err, "%s", detail);
            return;
        }
}

static const struct sw_jfield payment_fields[] = {
    {"invoice_id", SW_JT_STRING, true},
    {"amount", SW_JT_OBJECT, true},
    {NULL, 0, false},
};

static const struct sw_jfield money_fields[] = {
    {"amount", SW_JT_INT, true},
    {"currency", SW_JT_STRING, true},
    {NULL, 0, false},
};

struct payment_tx {
    const char *invoice, *amount, *currency, *ref;
    json_t *out;
};

static int payment_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct payment_tx *p = ctx;
    json_decref(p->out);
    p->out = NULL;
    char pid[40];
    int paid = sw_data_invoices_pay(db, p->invoice, p->amount, p->currency, p->ref, pid, err);
    if (paid < 0)
        map_payment_error(err);
    if (paid == 0)
        SW_ERR(err, SW_EINVALID, "invoice_id names no invoice");
    if (paid <= 0)
        return -1;
    p->out = sw_data_invoices_payment(db, pid, p->invoice, err);
    return p->out ? 0 : -1;
}

SW_HANDLER(sw_h_admin_payment_create)
{
    json_t *b = sw_api_body(req, payment_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    struct sw_err sub = {0};
    const json_t *m = json_object_get(b, "amount");
    if (sw_adm_check_uuid_field(b, "invoice_id", err) < 0)
        goto out;
    if (sw_json_check(m, money_fields, &sub) < 0) {
        SW_ERR(err, SW_EINVALID, "amount: %s", sub.msg);
        goto out;
    }
    int64_t amount = sw_json_int(m, "amount", 0);
    if (amount <= 0) {
        SW_ERR(err, SW_EINVALID, "amount.amount must be a positive integer of minor units");
        goto out;
    }
    /* The payment's reference: the request's Idempotency-Key when it has
     * one (scoped to the operator), else a new id. A retry under the same
     * key is replayed by the router; this makes a concurrent one that got
     * past it record nothing twice. */
    char ref[400], amt[24];
    if (req->idempotency_key) {
        snprintf(ref, sizeof ref, "%s:%.300s", req->who.account_id, req->idempotency_key);
    } else {
        sw_uuid_t id;
        sw_uuid_new(id);
        snprintf(ref, sizeof ref, "%s", id);
    }
    struct payment_tx p = {sw_json_str(b, "invoice_id"), sw_adm_i64(amt, amount),
                           sw_json_str(m, "currency"), ref, NULL};
    if (sw_db_tx(req->db, payment_tx, &p, err) < 0)
        goto out;
    rc = sw_api_reply(resp, 201, p.out);
out:
    json_decref(b);
    return rc;
}

const struct sw_route sw_routes_invoices[] = {
    {"GET", "/v1/invoices", ANY, SW_OWN_NONE, sw_h_invoices_list,
     "the caller's own invoices (?state=, ?period=YYYY-MM)", 0},
    {"GET", "/v1/invoices/{id}", ANY, SW_OWN_INVOICE, sw_h_invoice_get,
     "one invoice with its lines", 0},
    {"GET", "/v1/admin/invoices", OP, SW_OWN_NONE, sw_h_admin_invoices_list,
     "every invoice (?account_id=, ?state=, ?period=YYYY-MM)", 0},
    {"POST", "/v1/admin/payments", OP, SW_OWN_NONE, sw_h_admin_payment_create,
     "record a payment of an invoice {invoice_id, amount: {amount, currency}}", 0},
    SW_ROUTES_END,
};
