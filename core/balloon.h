/* balloon.h - the ballooning controller (DESIGN.md "Ballooning controller"):
 * a pure function from the host's state, each guest's stats and a policy to
 * new balloon targets. No I/O; the engine's loop feeds it (libvirt stats on
 * real hypervisors, a scripted source in tests and balloon-sim).
 *
 * One tick:
 *  1. Aim the host at target_pct of its RAM: room = target - other use -
 *     the guests it does not manage (shares 0, stale stats: kept as they are).
 *  2. Each managed guest's floor = max(guarantee, used + reserve), the
 *     reserve reserve_pct of used, shrinking to 0 as host free memory falls
 *     to pressure_free_pct; never above max.
 *  3. What room is left above the floors is split by shares (water-filling:
 *     a guest capped at its max gives its excess to the others). Short of
 *     room, guests sit at their floors, and the floors' reserve goes first.
 *  4. Each guest moves toward its goal by at most clamp(step_pct of current,
 *     step_min_mb, step_max_mb); moves under min_change_pct of current are
 *     skipped. Shrinks are applied before grows, idle guests (least used
 *     share of their balloon) shrink first, starved ones (most) grow first,
 *     and grows never take the host past its target.
 *  5. If the host is still above stop_pct with every managed guest at its
 *     guarantee, the result says so: the node must take no new servers.
 * Nothing ever goes below a guest's guarantee or above its max.
 */
#ifndef SW_BALLOON_H
#define SW_BALLOON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sw_balloon_policy {
    int target_pct;        /* aim host use at this share of RAM (80) */
    int reserve_pct;       /* headroom above a guest's use (20) */
    int pressure_free_pct; /* host free % at which the reserve is 0 (5) */
    int step_pct;          /* max move per tick, share of current (5) */
    int64_t step_min_mb;   /* ... at least (100) */
    int64_t step_max_mb;   /* ... at most (1024) */
    int min_change_bp;     /* skip moves under this, in 1/10000 of current (25 = 0.25%) */
    int stop_pct;          /* host use past which, after a full shrink, orders stop (95) */
};

/* The policy of DESIGN.md. */
void sw_balloon_policy_default(struct sw_balloon_policy *p);

struct sw_balloon_guest {
    int64_t min_mb;     /* guarantee */
    int64_t max_mb;
    int64_t shares;     /* 0: not ballooned */
    int64_t current_mb; /* balloon size now (what the guest has) */
    int64_t used_mb;    /* smoothed demand */
    bool stale;         /* no fresh stats: left alone */
    /* out */
    int64_t target_mb;
};

struct sw_balloon_host {
    int64_t ram_mb;
    int64_t other_used_mb; /* everything but the guests' balloons */
};

struct sw_balloon_result {
    int64_t host_used_mb;   /* other + sum of targets */
    bool pressure;          /* above stop_pct even at the guarantees */
};

/* Computes every guest's target_mb for this tick. */
void sw_balloon_tick(const struct sw_balloon_host *host, const struct sw_balloon_policy *pol,
                     struct sw_balloon_guest *g, size_t n, struct sw_balloon_result *out);

/* Exponential smoothing over a window of samples (10): returns the new
 * smoothed value. First sample (prev < 0) is taken as is. */
int64_t sw_balloon_smooth(int64_t prev, int64_t sample, int window);

#endif
