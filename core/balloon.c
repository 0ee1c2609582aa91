#include "config.h"
#include "core/balloon.h"
#include "core/alloc.h"

#include <stdlib.h>

void sw_balloon_policy_default(struct sw_balloon_policy *p)
{
    p->target_pct = 80;
    p->reserve_pct = 20;
    p->pressure_free_pct = 5;
    p->step_pct = 5;
    p->step_min_mb = 100;
    p->step_max_mb = 1024;
    p->min_change_bp = 25;
    p->stop_pct = 95;
}

int64_t sw_balloon_smooth(int64_t prev, int64_t sample, int window)
{
    if (prev < 0 || window <= 1)
        return sample;
    /* alpha = 2 / (window + 1), in integers, rounded */
    return prev + ((sample - prev) * 2 + (sample >= prev ? window : -window)) / (window + 1);
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static bool managed(const struct sw_balloon_guest *g)
{
    return g->shares > 0 && !g->stale;
}

/* Splits extra above the goals by shares among guests below their max,
 * giving what a capped guest cannot take to the others. */
static void water_fill(struct sw_balloon_guest *g, size_t n, int64_t *goal, int64_t extra)
{
    bool *capped = sw_calloc(n, sizeof *capped);
    while (extra > 0) {
        int64_t shares = 0;
        for (size_t i = 0; i < n; i++)
            if (managed(&g[i]) && !capped[i] && goal[i] < g[i].max_mb)
                shares += g[i].shares;
        if (shares == 0)
            break;
        int64_t given = 0;
        for (size_t i = 0; i < n; i++) {
            if (!managed(&g[i]) || capped[i] || goal[i] >= g[i].max_mb)
                continue;
            int64_t want = extra * g[i].shares / shares;
            if (want >= g[i].max_mb - goal[i]) {
                want = g[i].max_mb - goal[i];
                capped[i] = true;
            }
            goal[i] += want;
            given += want;
        }
        if (given == 0)
            break; /* what is left is rounding dust */
        extra -= given;
    }
    free(capped);
}

struct order {
    size_t i;
    int64_t key; /* used per mille of current */
};

static int by_key_desc(const void *a, const void *b)
{
    const struct order *x = a, *y = b;
    return (x->key < y->key) - (x->key > y->key);
}

void sw_balloon_tick(const struct sw_balloon_host *host, const struct sw_balloon_policy *pol,
                     struct sw_balloon_guest *g, size_t n, struct sw_balloon_result *out)
{
    int64_t ram = host->ram_mb > 0 ? host->ram_mb : 1;
    int64_t target = ram * pol->target_pct / 100;
    int64_t used_now = host->other_used_mb, fixed = host->other_used_mb;
    int64_t sum_min = 0, sum_floor = 0;
    for (size_t i = 0; i < n; i++) {
        used_now += g[i].current_mb;
        if (!managed(&g[i]))
            fixed += g[i].current_mb;
    }
    /* The reserve shrinks linearly from full (host free >= 100 - target)
     * to none (host free <= pressure_free_pct). */
    int64_t free_bp = (ram - used_now) * 10000 / ram;
    int64_t full_bp = (int64_t)(100 - pol->target_pct) * 100, none_bp = pol->pressure_free_pct * 100;
    int64_t reserve_bp = full_bp > none_bp
                             ? clamp64((free_bp - none_bp) * pol->reserve_pct * 100 /
                                           (full_bp - none_bp),
                                       0, (int64_t)pol->reserve_pct * 100)
                             : (int64_t)pol->reserve_pct * 100;

    int64_t *goal = sw_calloc(n ? n : 1, sizeof *goal);
    int64_t *floor_mb = sw_calloc(n ? n : 1, sizeof *floor_mb);
    for (size_t i = 0; i < n; i++) {
        if (!managed(&g[i]))
            continue;
        int64_t f = g[i].used_mb + g[i].used_mb * reserve_bp / 10000;
        floor_mb[i] = clamp64(f, g[i].min_mb, g[i].max_mb);
        sum_floor += floor_mb[i];
        sum_min += g[i].min_mb;
    }
    int64_t room = target - fixed;
    for (size_t i = 0; i < n; i++) {
        if (!managed(&g[i]))
            continue;
        if (room >= sum_floor)
            goal[i] = floor_mb[i];
        else if (room > sum_min && sum_floor > sum_min)
            /* Short of room: the reserves above the guarantees shrink first. */
            goal[i] = g[i].min_mb + (floor_mb[i] - g[i].min_mb) * (room - sum_min) /
                                        (sum_floor - sum_min);
        else
            goal[i] = g[i].min_mb;
    }
    if (room > sum_floor)
        water_fill(g, n, goal, room - sum_floor);

    /* Moves. Each guest's stepped goal is its goal reached by at most one
     * step; shrinks (and raising a guest to its guarantee) apply at once,
     * then grows, starved guests (highest use share of their balloon)
     * first, only as far as the host stays at its target. */
    int64_t *stepped = goal; /* reused in place: the goal after the step limit */
    struct order *ord = sw_calloc(n ? n : 1, sizeof *ord);
    int64_t host_after = fixed;
    for (size_t i = 0; i < n; i++) {
        ord[i].i = i;
        ord[i].key = g[i].current_mb > 0 ? g[i].used_mb * 1000 / g[i].current_mb : 1000;
        g[i].target_mb = g[i].current_mb;
        if (!managed(&g[i]))
            continue;
        int64_t step = clamp64(g[i].current_mb * pol->step_pct / 100, pol->step_min_mb,
                               pol->step_max_mb);
        int64_t d = clamp64(goal[i] - g[i].current_mb, -step, step);
        if (llabs(d) * 10000 < g[i].current_mb * pol->min_change_bp)
            d = 0;
        /* A guarantee or a max is never crossed, whatever the step. */
        stepped[i] = clamp64(g[i].current_mb + d, g[i].min_mb, g[i].max_mb);
        if (stepped[i] <= g[i].current_mb)
            g[i].target_mb = stepped[i];
        else if (g[i].current_mb < g[i].min_mb)
            g[i].target_mb = g[i].min_mb;
        host_after += g[i].target_mb;
    }
    qsort(ord, n, sizeof *ord, by_key_desc);
    for (size_t k = 0; k < n; k++) {
        size_t i = ord[k].i;
        if (!managed(&g[i]) || stepped[i] <= g[i].target_mb)
            continue;
        int64_t grow = stepped[i] - g[i].target_mb, head = target - host_after;
        if (grow > head)
            grow = head > 0 ? head : 0;
        g[i].target_mb += grow;
        host_after += grow;
    }
    out->host_used_mb = host_after;
    int64_t at_min = fixed + sum_min;
    out->pressure = at_min * 100 > ram * pol->stop_pct ||
                    (host_after * 100 > ram * pol->stop_pct && room <= sum_min);
    free(ord);
    free(goal);
    free(floor_mb);
}
