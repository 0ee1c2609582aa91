/* data_invoices.h - invoices and payments for the panel (billing owns the
 * rules: sw_payment_apply(), migrations/0011). */
#ifndef SW_PANEL_DATA_INVOICES_H
#define SW_PANEL_DATA_INVOICES_H

#include "core/crypto.h"
#include "panel/data.h"

/* sw_invoice_json of invoice id when it bills caller_id or the caller is an
 * operator (the router's SW_OWN_INVOICE condition); new reference, or NULL
 * with SW_ENOTFOUND. */
json_t *sw_data_invoices_get(struct sw_db *db, const char *caller_id, const char *id,
                             struct sw_err *err);

struct sw_principal;

/* Whether who may see invoice id: in who's scope and billed to who, or who
 * is an operator (SW_OWN_INVOICE). 1, 0, or -1 with err. */
int sw_data_invoices_visible(struct sw_db *db, const struct sw_principal *who, const char *id,
                             struct sw_err *err);

/* Applies a payment reported by the incoming hook: to account_id, or when
 * NULL to invoice_id's account, and invoice_id (or NULL), through
 * sw_payment_apply(..., 'hook', ref), writing the payment's id ("" when
 * none) into payment_id. 0, or -1 with the database's error. */
int sw_data_invoices_pay_hook(struct sw_db *db, const char *account_id, const char *invoice_id,
                              const char *amount, const char *currency, const char *ref,
                              char payment_id[SW_UUID_LEN + 1], struct sw_err *err);

/* Applies a payment of amount (minor units, as text) in currency to
 * invoice id through sw_payment_apply(..., 'admin', ref), writing the
 * payment's id into payment_id. 1 applied, 0 no such invoice, -1 with the
 * database's error (SQLSTATE class SB for what billing refuses). */
int sw_data_invoices_pay(struct sw_db *db, const char *id, const char *amount, const char *currency,
                         const char *ref, char payment_id[40], struct sw_err *err);

/* {payment, invoice} for payment_id of invoice id; new reference or NULL.
 * Its own statement: the one that applied the payment cannot see it. */
json_t *sw_data_invoices_payment(struct sw_db *db, const char *payment_id, const char *id,
                                 struct sw_err *err);

/* The caller's own invoices: $1 the caller, $2 state, $3 period (each
 * NULL: any). */
extern const struct sw_data_list sw_data_invoices_own;
/* Every invoice, for operators: $1 the caller, $2 state, $3 period, $4
 * account id (each NULL: any). */
extern const struct sw_data_list sw_data_invoices_admin_list;

#endif
