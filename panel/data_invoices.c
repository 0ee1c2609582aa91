#include "config.h"
#include "panel/data_invoices.h"
#include "core/alloc.h"
#include "core/err.h"
#include "panel/api.h"

#include <stdio.h>
#include <stdlib.h>

int sw_data_invoices_visible(struct sw_db *db, const struct sw_principal *who, const char *id,
                             struct sw_err *err)
{
    /* The billed account only, not a reseller's view of its customers:
     * they are billed by the reseller, never by us. */
    return sw_data_visible(db, err, who,
                           "SELECT 1 FROM invoices t WHERE t.id = $2::uuid AND %s AND"
                           " (t.account_id = $1::uuid OR EXISTS (SELECT 1 FROM accounts o"
                           "  WHERE o.id = $1::uuid AND o.kind = 'operator'))",
                           "t.account_id", id);
}

int sw_data_invoices_pay_hook(struct sw_db *db, const char *account_id, const char *invoice_id,
                              const char *amount, const char *currency, const char *ref,
                              char payment_id[SW_UUID_LEN + 1], struct sw_err *err)
{
    PGresult *res =
        sw_db_exec(db, err,
                   "SELECT sw_payment_apply(coalesce($1::uuid, (SELECT i.account_id FROM invoices i"
                   " WHERE i.id = $2::uuid)), $2::uuid, $3::bigint, $4, 'hook', $5)",
                   SW_PARAMS(account_id, invoice_id, amount, currency, ref));
    if (!res)
        return -1;
    const char *pid = sw_db_get(res, 0, 0);
    snprintf(payment_id, SW_UUID_LEN + 1, "%s", pid ? pid : "");
    PQclear(res);
    return 0;
}

json_t *sw_data_invoices_get(struct sw_db *db, const char *caller_id, const char *id,
                             struct sw_err *err)
{
    return sw_data_json_row(db, err, "invoice",
                            "SELECT sw_invoice_json(t) FROM invoices t WHERE t.id = $2::uuid"
                            " AND (t.account_id = $1::uuid OR EXISTS (SELECT 1 FROM accounts o"
                            "  WHERE o.id = $1::uuid AND o.kind = 'operator'))",
                            SW_PARAMS(caller_id, id));
}

int sw_data_invoices_pay(struct sw_db *db, const char *id, const char *amount, const char *currency,
                         const char *ref, char payment_id[40], struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT sw_payment_apply(i.account_id, i.id, $2::bigint, $3,"
                               " 'admin', $4) FROM invoices i WHERE i.id = $1::uuid",
                               SW_PARAMS(id, amount, currency, ref));
    if (!res)
        return -1;
    int found = PQntuples(res) > 0;
    if (found)
        snprintf(payment_id, 40, "%s", sw_db_get(res, 0, 0));
    PQclear(res);
    return found;
}

json_t *sw_data_invoices_payment(struct sw_db *db, const char *payment_id, const char *id,
                                 struct sw_err *err)
{
    return sw_data_json_row(
        db, err, "payment",
        "SELECT json_build_object('payment', json_build_object('id', y.id,"
        "  'account_id', y.account_id, 'invoice_id', y.invoice_id,"
        "  'amount', sw_money(y.amount, y.currency), 'unapplied', sw_money(y.unapplied, "
        "y.currency),"
        "  'source', y.source, 'created_at', sw_ts(y.created_at)),"
        "  'invoice', (SELECT sw_invoice_json(i) FROM invoices i WHERE i.id = $2::uuid))"
        " FROM payments y WHERE y.id = $1::uuid",
        SW_PARAMS(payment_id, id));
}

const struct sw_data_list sw_data_invoices_own = {
    "sw_invoice_json(t)", "invoices",
    "t.account_id = $1::uuid AND ($2::text IS NULL OR t.state = $2)"
    " AND ($3::text IS NULL OR t.period = $3)",
    NULL};
const struct sw_data_list sw_data_invoices_admin_list = {
    "sw_invoice_json(t)", "invoices",
    "$1::uuid IS NOT NULL AND ($2::text IS NULL OR t.state = $2)"
    " AND ($3::text IS NULL OR t.period = $3)"
    " AND ($4::uuid IS NULL OR t.account_id = $4)",
    NULL};
