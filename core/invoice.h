/* invoice.h - draft and final invoices: the edge between the database and
 * the pure rater (rate.h). Shared by slipway-billing and `slipwayctl
 * invoice run`; billing/README.md states the rules.
 *
 * A draft is recomputed from server_periods and usage_hourly, one invoice
 * per billed account (a customer of the operator, or a reseller for its
 * subtree), month and currency, through sw_invoice_store_draft() (0011);
 * finalizing recomputes it once more and calls sw_invoice_finalize() in the
 * same transaction (number, ledger, due date, event).
 */
#ifndef SW_INVOICE_H
#define SW_INVOICE_H

struct sw_db;
struct sw_err;

/* Recomputes the drafts of month `period` ("YYYY-MM"): open periods count
 * up to the database's now. Drafts of the month that no longer bill
 * anything are deleted. Returns the number of drafts stored, or -1. */
int sw_invoice_draft_period(struct sw_db *db, const char *period, struct sw_err *err);

/* Finalizes every invoice of month `period`, which must be over
 * (SW_ECONFLICT otherwise): one transaction per invoice (recompute, freeze,
 * number, ledger, event). Invoices finalized already are left as they are.
 * Returns the number finalized now, or -1 (those committed stay). */
int sw_invoice_finalize_period(struct sw_db *db, const char *period, int due_days,
                               struct sw_err *err);

/* The current month ("YYYY-MM", by the database's clock) into out[8]. */
int sw_invoice_current_period(struct sw_db *db, char out[8], struct sw_err *err);

#endif
