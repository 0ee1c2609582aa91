/* stats_sim.c - the scripted stats source: a balloon-sim scenario replayed
 * as a model of a host and its guests (see stats.h). */
#include "config.h"
#include "engines/stats.h"
#include "core/alloc.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/json.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_STEP_S 5 /* scenario seconds per sample, as balloon-sim */
#define SIM_MAX_GUESTS 4096

struct sim_guest {
    char name[64];
    int64_t min_mb, max_mb, shares, current_mb;
    const json_t *demand; /* borrowed from sim->scenario */
};

struct sim {
    json_t *scenario;
    int64_t t; /* scenario seconds of the last sample */
    int64_t ram_mb, other0;
    const json_t *other; /* borrowed; may be NULL */
    size_t n;
    struct sim_guest *g;
};

static int64_t step_at(const json_t *steps, int64_t t, int64_t dflt)
{
    int64_t v = dflt;
    size_t i;
    json_t *s;
    json_array_foreach(steps, i, s) {
        if (json_integer_value(json_array_get(s, 0)) <= t)
            v = json_integer_value(json_array_get(s, 1));
    }
    return v;
}

static bool steps_valid(const json_t *steps)
{
    if (!steps)
        return true;
    if (!json_is_array(steps))
        return false;
    size_t i;
    json_t *s;
    int64_t last = -1;
    json_array_foreach(steps, i, s) {
        json_t *t = json_array_get(s, 0), *v = json_array_get(s, 1);
        if (!json_is_array(s) || json_array_size(s) != 2 || !json_is_integer(t) ||
            !json_is_integer(v) || json_integer_value(t) <= last || json_integer_value(v) < 0)
            return false;
        last = json_integer_value(t);
    }
    return true;
}

static int sim_sample(void *self, struct sw_stats_host *h, struct sw_stats_guest **out,
                      size_t *n, struct sw_err *err)
{
    (void)err;
    struct sim *s = self;
    s->t += SIM_STEP_S;
    h->ram_mb = s->ram_mb;
    h->other_used_mb = step_at(s->other, s->t, s->other0);
    struct sw_stats_guest *g = sw_calloc(s->n, sizeof *g);
    for (size_t i = 0; i < s->n; i++) {
        snprintf(g[i].id, sizeof g[i].id, "%s", s->g[i].name);
        g[i].kind = SW_KIND_HVM;
        g[i].min_mb = s->g[i].min_mb;
        g[i].max_mb = s->g[i].max_mb;
        g[i].shares = s->g[i].shares;
        g[i].current_mb = s->g[i].current_mb;
        g[i].used_mb = step_at(s->g[i].demand, s->t, 0);
        g[i].fresh = true;
    }
    *out = g;
    *n = s->n;
    return 0;
}

static int sim_apply(void *self, const struct sw_stats_guest *g, int64_t target_mb,
                     struct sw_err *err)
{
    struct sim *s = self;
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->g[i].name, g->id) == 0) {
            s->g[i].current_mb = target_mb; /* reached by the next tick */
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
    json_decref(s->scenario);
    free(s->g);
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
    json_error_t je;
    json_t *sc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!sc) {
        SW_ERR(err, SW_EINVALID, "balloon scenario %s:%d:%d: %s", path, je.line, je.column,
               je.text);
        return -1;
    }
    struct sim *s = sw_calloc(1, sizeof *s);
    s->scenario = sc;
    json_t *host = json_object_get(sc, "host"), *guests = json_object_get(sc, "guests");
    s->ram_mb = sw_json_int(host, "ram_mb", 0);
    s->other0 = sw_json_int(host, "other_used_mb", 0);
    s->other = json_object_get(sc, "other_used");
    s->n = json_array_size(guests);
    if (!json_is_object(host) || s->ram_mb <= 0 || s->n == 0 || s->n > SIM_MAX_GUESTS ||
        !steps_valid(s->other))
        goto bad;
    s->g = sw_calloc(s->n, sizeof *s->g);
    for (size_t i = 0; i < s->n; i++) {
        json_t *o = json_array_get(guests, i);
        struct sim_guest *g = &s->g[i];
        const char *name = sw_json_str(o, "name");
        if (!name || strlen(name) >= sizeof g->name)
            goto bad;
        snprintf(g->name, sizeof g->name, "%s", name);
        g->min_mb = sw_json_int(o, "min_mb", -1);
        g->max_mb = sw_json_int(o, "max_mb", -1);
        g->shares = sw_json_int(o, "shares", 1000);
        g->current_mb = sw_json_int(o, "current_mb", g->max_mb);
        g->demand = json_object_get(o, "demand");
        if (g->min_mb < 0 || g->max_mb < g->min_mb || g->shares < 0 || g->current_mb < 0 ||
            !g->demand || !steps_valid(g->demand))
            goto bad;
    }
    out->ops = &sim_ops;
    out->self = s;
    return 0;
bad:
    sim_free(s);
    SW_ERR(err, SW_EINVALID, "balloon scenario %s is not valid (see slipwayctl balloon-sim)",
           path);
    return -1;
}
