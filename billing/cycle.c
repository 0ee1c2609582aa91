#include "config.h"
#include "billing/cycle.h"
#include "core/db.h"
#include "core/err.h"
#include "core/invoice.h"
#include "core/log.h"
#include "core/rate.h"
#include "core/worker.h"

#include <stdio.h>
#include <string.h>

int sw_billing_cycle_step(struct sw_db *db, const struct sw_billing_cycle *c, struct sw_err *err)
{
    char cur[8], prev[8];
    int64_t from, to;
    if (sw_invoice_current_period(db, cur, err) < 0)
        return -1;
    sw_rate_month(cur, &from, &to);
    sw_rate_month_of(from - 1, prev);
    int drafts = sw_invoice_draft_period(db, cur, err);
    if (drafts < 0)
        return -1;
    /* The month just over, and any older month still holding drafts (the
     * daemon was down at its end). */
    PGresult *res = sw_db_exec(db, err,
                               "SELECT $1::text UNION SELECT DISTINCT period FROM invoices"
                               " WHERE state = 'draft' AND period < $2 ORDER BY 1",
                               SW_PARAMS(prev, cur));
    if (!res)
        return -1;
    int rc = 0;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        int n = sw_invoice_finalize_period(db, sw_db_get(res, i, 0), c->due_days, err);
        if (n < 0)
            rc = -1;
        else if (n > 0)
            sw_info("invoices.finalized", "period=%s count=%d", sw_db_get(res, i, 0), n);
    }
    PQclear(res);
    if (rc < 0)
        return -1;
    char grace[16];
    snprintf(grace, sizeof grace, "%d", c->grace_days);
    res = sw_db_exec(db, err, "SELECT sw_dunning_run($1)", SW_PARAMS(grace));
    if (!res)
        return -1;
    if (sw_db_get_i64(res, 0, 0) > 0)
        sw_info("invoices.overdue", "count=%s", sw_db_get(res, 0, 0));
    PQclear(res);
    sw_debug("billing.cycle", "period=%s drafts=%d", cur, drafts);
    return 0;
}

void *sw_billing_cycle_run(void *arg)
{
    const struct sw_billing_cycle *c = arg;
    struct sw_db *db = NULL;
    long backoff = 0;
    bool down = false;
    while (!c->stopping(c->stop_arg)) {
        struct sw_err err = {0};
        if (!db)
            db = sw_db_connect(c->db_url, &err);
        if (db && sw_billing_cycle_step(db, c, &err) == 0) {
            if (down)
                sw_info("cycle.recovered", "thread=billing-cycle");
            down = false;
            backoff = 0;
            sw_sleep_ms(c->interval_s * 1000, c->stopping, c->stop_arg);
            continue;
        }
        /* Logged once per outage at warn, its repeats at debug. */
        sw_log_err(down ? SW_LOG_DEBUG : SW_LOG_WARN, "cycle.failed", &err);
        down = true;
        if (err.code == SW_EUNAVAILABLE || !db) {
            sw_db_free(db);
            db = NULL;
        }
        backoff = sw_backoff_next(backoff);
        sw_sleep_ms(err.code == SW_EUNAVAILABLE ? backoff : c->interval_s * 1000, c->stopping,
                    c->stop_arg);
    }
    sw_db_free(db);
    return NULL;
}
