/* cycle.h - billing's periodic work, in its own thread: every interval,
 * recompute this month's drafts, finalize the months that are over, and
 * run dunning (billing/README.md). Each step is idempotent, so several
 * billing daemons may run it at once: finalization and dunning lock the
 * rows they change. */
#ifndef SW_BILLING_CYCLE_H
#define SW_BILLING_CYCLE_H

#include <stdbool.h>

struct sw_db;
struct sw_err;

struct sw_billing_cycle {
    const char *db_url;
    long interval_s;
    int due_days, grace_days;
    bool (*stopping)(void *arg);
    void *stop_arg;
};

/* One pass on db: drafts, finalization, dunning. -1 with err on the first
 * failure (what committed stays). */
int sw_billing_cycle_step(struct sw_db *db, const struct sw_billing_cycle *c,
                          struct sw_err *err);

/* The thread's loop (pthread start routine; arg is a struct
 * sw_billing_cycle): connects, steps every interval_s, reconnects with
 * backoff after a failure, returns when stopping. */
void *sw_billing_cycle_run(void *arg);

#endif
