/* prune.c - Proxmox-style retention over (id, time) pairs. */
#include "config.h"
#include "backup/prune.h"
#include "core/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum mark { UNSEEN, KEEP, DROP };

/* The period a backup falls in for a rule, as text (UTC). */
typedef void (*period_fn)(time_t at, size_t i, char out[32]);

static void by_backup(time_t at, size_t i, char out[32])
{
    (void)at;
    snprintf(out, 32, "#%zu", i);
}

static void by_day(time_t at, size_t i, char out[32])
{
    (void)i;
    struct tm tm;
    strftime(out, 32, "%Y-%m-%d", gmtime_r(&at, &tm));
}

static void by_week(time_t at, size_t i, char out[32])
{
    (void)i;
    struct tm tm;
    strftime(out, 32, "%G/%V", gmtime_r(&at, &tm));
}

static void by_month(time_t at, size_t i, char out[32])
{
    (void)i;
    struct tm tm;
    strftime(out, 32, "%Y/%m", gmtime_r(&at, &tm));
}

static bool in(char (*set)[32], size_t n, const char *p)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(set[i], p) == 0)
            return true;
    return false;
}

/* One rule over backups ordered newest first (order[]). */
static void rule(const struct sw_bk_dated *b, const size_t *order, size_t n, unsigned keep,
                 period_fn period, enum mark *mark)
{
    char (*covered)[32] = sw_calloc(n + 1, sizeof *covered);
    char (*chosen)[32] = sw_calloc(n + 1, sizeof *chosen);
    size_t ncov = 0, nch = 0;
    for (size_t k = 0; k < n; k++)
        if (mark[order[k]] == KEEP)
            period(b[order[k]].at, k, covered[ncov++]);
    for (size_t k = 0; k < n; k++) {
        size_t i = order[k];
        char p[32];
        if (mark[i] != UNSEEN)
            continue;
        period(b[i].at, k, p);
        if (in(covered, ncov, p))
            continue;
        if (in(chosen, nch, p)) {
            mark[i] = DROP;
            continue;
        }
        if (nch >= keep)
            break;
        memcpy(chosen[nch++], p, 32);
        mark[i] = KEEP;
    }
    free(covered);
    free(chosen);
}

static int newest_first(const void *a, const void *b, void *base)
{
    const struct sw_bk_dated *all = base;
    const struct sw_bk_dated *x = &all[*(const size_t *)a];
    const struct sw_bk_dated *y = &all[*(const size_t *)b];
    if (x->at != y->at)
        return x->at > y->at ? -1 : 1;
    return strcmp(y->id, x->id);
}

void sw_bk_prune(const struct sw_bk_policy *policy, const struct sw_bk_dated *backups,
                 size_t n, bool *keep)
{
    bool all = !policy->keep_last && !policy->keep_daily && !policy->keep_weekly &&
               !policy->keep_monthly;
    size_t *order = sw_calloc(n + 1, sizeof *order);
    enum mark *mark = sw_calloc(n + 1, sizeof *mark);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    qsort_r(order, n, sizeof *order, newest_first, (void *)backups);
    const struct {
        unsigned keep;
        period_fn period;
    } rules[] = {
        {policy->keep_last, by_backup},
        {policy->keep_daily, by_day},
        {policy->keep_weekly, by_week},
        {policy->keep_monthly, by_month},
    };
    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++)
        if (rules[r].keep)
            rule(backups, order, n, rules[r].keep, rules[r].period, mark);
    for (size_t i = 0; i < n; i++)
        keep[i] = all || mark[i] == KEEP;
    free(order);
    free(mark);
}
