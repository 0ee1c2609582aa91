/* slipwayctl invoice: drafts, finalization and dunning on demand (the
 * billing daemon does the same on its own schedule; billing/README.md). */
#include "config.h"
#include "cli/ctl.h"
#include "core/conf.h"
#include "core/db.h"
#include "core/err.h"
#include "core/invoice.h"
#include "core/rate.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int usage(void)
{
    fprintf(stderr, "usage: slipwayctl invoice run [--period YYYY-MM] [--draft]\n"
                    "       slipwayctl invoice dunning\n");
    return 2;
}

/* The month before `cur`. */
static void previous(const char *cur, char out[8])
{
    int64_t from, to;
    sw_rate_month(cur, &from, &to);
    sw_rate_month_of(from - 1, out);
}

static int run(struct sw_db *db, int argc, char **argv, struct sw_err *err)
{
    const char *period = NULL;
    bool draft = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--period") == 0 && i + 1 < argc)
            period = argv[++i];
        else if (strcmp(argv[i], "--draft") == 0)
            draft = true;
        else
            return usage();
    }
    int64_t a, b;
    if (period && sw_rate_month(period, &a, &b) < 0) {
        fprintf(stderr, "slipwayctl: --period must be YYYY-MM\n");
        return 2;
    }
    char cur[8], prev[8];
    if (sw_invoice_current_period(db, cur, err) < 0)
        return -1;
    previous(cur, prev);
    if (draft) {
        int n = sw_invoice_draft_period(db, period ? period : cur, err);
        if (n < 0)
            return -1;
        printf("%d draft invoice%s for %s\n", n, n == 1 ? "" : "s", period ? period : cur);
        return 0;
    }
    long due;
    if (sw_conf_long("SLIPWAY_INVOICE_DUE_DAYS", 0, 3650, &due, err) < 0)
        return -1;
    int n = sw_invoice_finalize_period(db, period ? period : prev, (int)due, err);
    if (n < 0)
        return -1;
    printf("%d invoice%s finalized for %s\n", n, n == 1 ? "" : "s", period ? period : prev);
    return 0;
}

static int dunning(struct sw_db *db, struct sw_err *err)
{
    long grace;
    if (sw_conf_long("SLIPWAY_DUNNING_GRACE_DAYS", 0, 3650, &grace, err) < 0)
        return -1;
    char g[24];
    snprintf(g, sizeof g, "%ld", grace);
    PGresult *res = sw_db_exec(db, err, "SELECT sw_dunning_run($1)", SW_PARAMS(g));
    if (!res)
        return -1;
    printf("%s invoice(s) overdue\n", sw_db_get(res, 0, 0));
    PQclear(res);
    return 0;
}

int sw_ctl_invoice(int argc, char **argv, struct sw_err *err)
{
    if (argc < 2)
        return usage();
    struct sw_db *db = NULL;
    if (strcmp(argv[1], "run") != 0 && strcmp(argv[1], "dunning") != 0)
        return usage();
    db = sw_db_connect(sw_conf_get("SLIPWAY_DATABASE_URL"), err);
    if (!db)
        return -1;
    int rc = strcmp(argv[1], "run") == 0 ? run(db, argc, argv, err) : dunning(db, err);
    sw_db_free(db);
    return rc;
}
