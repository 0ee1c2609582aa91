#include "config.h"
#include "engines/balloon.h"
#include "core/alloc.h"
#include "core/balloon.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>

struct track {
    char id[64];
    int64_t smoothed; /* -1: none yet */
    int64_t target;   /* last tick's, -1: none */
};

struct sw_ballooner {
    struct sw_stats_source src;
    struct sw_balloon_conf conf;
    bool pv_too;
    /* the last sample */
    struct sw_stats_host host;
    struct sw_stats_guest *g;
    size_t n;
    bool sampled;
    /* smoothing, parallel to g after each sample */
    struct track *tr;
    int pressure_ticks;
};

struct sw_ballooner *sw_ballooner_new(struct sw_stats_source src)
{
    struct sw_ballooner *b = sw_calloc(1, sizeof *b);
    b->src = src;
    sw_balloon_conf_default(&b->conf);
    return b;
}

void sw_ballooner_free(struct sw_ballooner *b)
{
    if (!b)
        return;
    sw_stats_close(&b->src);
    free(b->g);
    free(b->tr);
    free(b);
}

void sw_ballooner_configure(struct sw_ballooner *b, const struct sw_balloon_conf *conf,
                            bool pv_too)
{
    b->conf = *conf;
    b->pv_too = pv_too;
}

int sw_ballooner_sample(struct sw_ballooner *b, struct sw_err *err)
{
    struct sw_stats_guest *g;
    size_t n;
    struct sw_stats_host h;
    if (b->src.ops->sample(b->src.self, &h, &g, &n, err) < 0)
        return -1;
    /* Carry each guest's smoothing over; guests gone are forgotten. The
     * sources list guests in a stable order, so the hint usually hits. */
    struct track *tr = sw_calloc(n ? n : 1, sizeof *tr);
    size_t hint = 0;
    for (size_t i = 0; i < n; i++) {
        struct track *old = NULL;
        for (size_t k = 0; k < b->n && !old; k++) {
            size_t j = (hint + k) % b->n;
            if (strcmp(b->tr[j].id, g[i].id) == 0) {
                old = &b->tr[j];
                hint = j + 1;
            }
        }
        memcpy(tr[i].id, g[i].id, sizeof tr[i].id);
        tr[i].smoothed = old ? old->smoothed : -1;
        tr[i].target = old ? old->target : -1;
        if (g[i].fresh)
            tr[i].smoothed = sw_balloon_smooth(tr[i].smoothed, g[i].used_mb,
                                               b->conf.smooth_samples);
    }
    free(b->g);
    free(b->tr);
    b->g = g;
    b->tr = tr;
    b->n = n;
    b->host = h;
    b->sampled = true;
    return 0;
}

static bool ballooned(const struct sw_ballooner *b, const struct sw_stats_guest *g)
{
    return g->kind == SW_KIND_HVM || (g->kind == SW_KIND_PV && b->pv_too);
}

int sw_ballooner_tick(struct sw_ballooner *b, struct sw_balloon_report *rep, struct sw_err *err)
{
    memset(rep, 0, sizeof *rep);
    if (!b->sampled) {
        SW_ERR(err, SW_EUNAVAILABLE, "no stats sampled yet");
        return -1;
    }
    struct sw_balloon_host host = {b->host.ram_mb, b->host.other_used_mb};
    struct sw_balloon_guest *bg = sw_calloc(b->n ? b->n : 1, sizeof *bg);
    size_t *idx = sw_calloc(b->n ? b->n : 1, sizeof *idx);
    size_t m = 0;
    for (size_t i = 0; i < b->n; i++) {
        const struct sw_stats_guest *g = &b->g[i];
        if (!ballooned(b, g)) {
            host.other_used_mb += g->current_mb; /* a fixed guest is host use */
            continue;
        }
        struct sw_balloon_guest *x = &bg[m];
        x->min_mb = g->min_mb;
        x->max_mb = g->max_mb;
        x->shares = sw_balloon_conf_shares(&b->conf, g->id, g->shares);
        x->current_mb = g->current_mb;
        x->used_mb = b->tr[i].smoothed;
        x->stale = !g->fresh || b->tr[i].smoothed < 0;
        if (x->shares > 0 && !x->stale)
            rep->managed++;
        idx[m++] = i;
    }
    struct sw_balloon_result res;
    sw_balloon_tick(&host, &b->conf.policy, bg, m, &res);
    for (size_t k = 0; k < m; k++) {
        size_t i = idx[k];
        b->tr[i].target = bg[k].target_mb;
        if (bg[k].target_mb == bg[k].current_mb)
            continue;
        struct sw_err e2;
        sw_err_clear(&e2);
        if (b->src.ops->apply(b->src.self, &b->g[i], bg[k].target_mb, &e2) < 0) {
            rep->failed++;
            sw_log_err(SW_LOG_DEBUG, "balloon.apply_failed", &e2);
            continue;
        }
        b->g[i].current_mb = bg[k].target_mb;
        rep->moved++;
    }
    rep->guests = m;
    rep->host_ram_mb = host.ram_mb;
    rep->host_used_mb = res.host_used_mb;
    rep->pressure = res.pressure;
    b->pressure_ticks = res.pressure ? b->pressure_ticks + 1 : 0;
    rep->pressure_ticks = b->pressure_ticks;
    rep->raise = b->pressure_ticks == b->conf.pressure_ticks;
    free(bg);
    free(idx);
    return 0;
}

int64_t sw_ballooner_target(const struct sw_ballooner *b, const char *id)
{
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->tr[i].id, id) == 0)
            return b->tr[i].target;
    return -1;
}
