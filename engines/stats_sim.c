/* stats_sim.c - the scripted stats source: a balloon-sim scenario replayed
 * as a model of a host and its guests (see stats.h). */
#include "config.h"
#include "engines/stats.h"
#include "core/alloc.h"
#include "core/balloon_scenario.h"
#include "core/enums.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_STEP_S 5 /* scenario seconds per sample, as balloon-sim */

struct sim {
    struct sw_balloon_scenario sc; /* its guests' current_mb is the model's balloon */
    int64_t t;                     /* scenario seconds of the last sample */
};

static int sim_sample(void *self, struct sw_stats_host *h, struct sw_stats_guest **out,
                      size_t *n, struct sw_err *err)
{
    (void)err;
    struct sim *s = self;
    s->t += SIM_STEP_S;
    h->ram_mb = s->sc.ram_mb;
    h->other_used_mb = sw_balloon_step_at(s->sc.other_used, s->t, s->sc.other_used_mb);
    struct sw_stats_guest *g = sw_calloc(s->sc.n, sizeof *g);
    for (size_t i = 0; i < s->sc.n; i++) {
        const struct sw_balloon_scenario_guest *sg = &s->sc.g[i];
        snprintf(g[i].id, sizeof g[i].id, "%s", sg->name);
        g[i].kind = SW_KIND_HVM;
        g[i].min_mb = sg->min_mb;
        g[i].max_mb = sg->max_mb;
        g[i].shares = sg->shares;
        g[i].current_mb = sg->current_mb;
        g[i].used_mb = sw_balloon_step_at(sg->demand, s->t, 0);
        g[i].fresh = true;
    }
    *out = g;
    *n = s->sc.n;
    return 0;
}

static int sim_apply(void *self, const struct sw_stats_guest *g, int64_t target_mb,
                     struct sw_err *err)
{
    struct sim *s = self;
    for (size_t i = 0; i < s->sc.n; i++) {
        if (strcmp(s->sc.g[i].name, g->id) == 0) {
            s->sc.g[i].current_mb = target_mb; /* reached by the next tick */
            return 0;
        }
    }
    SW_ERR(err, SW_ENOTFOUND, "no simulated guest \"%s\"", g->id);
    return -1;
}

static void sim_free(void *self)
{
    struct sim *s = self;
    if (!s)
        return;
    sw_balloon_scenario_release(&s->sc);
    free(s);
}

static const struct sw_stats_ops sim_ops = {
    .name = "sim",
    .sample = sim_sample,
    .apply = sim_apply,
    .free = sim_free,
};

int sw_stats_sim_open(const char *path, struct sw_stats_source *out, struct sw_err *err)
{
    struct sim *s = sw_calloc(1, sizeof *s);
    if (sw_balloon_scenario_load(path, &s->sc, err) < 0) {
        free(s);
        return -1;
    }
    for (size_t i = 0; i < s->sc.n; i++) {
        if (strlen(s->sc.g[i].name) >= sizeof((struct sw_stats_guest *)0)->id) {
            sim_free(s);
            SW_ERR(err, SW_EINVALID, "balloon scenario %s: guests[%zu].name is too long", path,
                   i);
            return -1;
        }
    }
    out->ops = &sim_ops;
    out->self = s;
    return 0;
}
