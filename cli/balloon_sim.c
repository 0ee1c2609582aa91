/* balloon_sim.c - slipwayctl balloon-sim SCENARIO.json: runs the ballooning
 * controller (core/balloon.h) over a scripted host and prints, per tick, one
 * JSON line: {"t", "host_used_mb", "host_used_pct", "pressure", "guests":
 * {name: {"target_mb", "used_mb"}}}. The simulated host's use is
 * other_used_mb plus every guest's current balloon, and a balloon reaches
 * its target by the next tick. Scenario format: engines/README.md.
 */
#include "config.h"
#include "cli/ctl.h"
#include "core/alloc.h"
#include "core/balloon.h"
#include "core/balloon_scenario.h"
#include "core/err.h"
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Policy keys: each maps onto a field of struct sw_balloon_policy. */
static const struct {
    const char *key;
    size_t off;
    bool is64;
} policy_keys[] = {
    {"target_pct", offsetof(struct sw_balloon_policy, target_pct), false},
    {"reserve_pct", offsetof(struct sw_balloon_policy, reserve_pct), false},
    {"pressure_free_pct", offsetof(struct sw_balloon_policy, pressure_free_pct), false},
    {"step_pct", offsetof(struct sw_balloon_policy, step_pct), false},
    {"step_min_mb", offsetof(struct sw_balloon_policy, step_min_mb), true},
    {"step_max_mb", offsetof(struct sw_balloon_policy, step_max_mb), true},
    {"min_change_bp", offsetof(struct sw_balloon_policy, min_change_bp), false},
    {"stop_pct", offsetof(struct sw_balloon_policy, stop_pct), false},
};

/* p may be NULL: the defaults. */
static int load_policy(const json_t *p, struct sw_balloon_policy *pol, int *smooth,
                       struct sw_err *err)
{
    sw_balloon_policy_default(pol);
    *smooth = 10;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)p, key, v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > 1000000) {
            SW_ERR(err, SW_EINVALID, "policy.%s must be an integer from 0 to 1000000", key);
            return -1;
        }
        if (strcmp(key, "smooth_samples") == 0) {
            *smooth = (int)json_integer_value(v);
            continue;
        }
        size_t k = 0;
        while (k < sizeof policy_keys / sizeof policy_keys[0] && strcmp(policy_keys[k].key, key))
            k++;
        if (k == sizeof policy_keys / sizeof policy_keys[0]) {
            SW_ERR(err, SW_EINVALID, "policy.%s is not a policy key", key);
            return -1;
        }
        char *f = (char *)pol + policy_keys[k].off;
        if (policy_keys[k].is64)
            *(int64_t *)(void *)f = json_integer_value(v);
        else
            *(int *)(void *)f = (int)json_integer_value(v);
    }
    if (pol->target_pct < 1 || pol->target_pct > 100 || pol->stop_pct < pol->target_pct) {
        SW_ERR(err, SW_EINVALID, "policy.target_pct must be 1..100 and stop_pct at least it");
        return -1;
    }
    return 0;
}

int sw_ctl_balloon_sim(const char *path, FILE *out, struct sw_err *err)
{
    struct sw_balloon_scenario sc;
    if (sw_balloon_scenario_load(path, &sc, err) < 0)
        return -1;
    int rc = -1;
    struct sw_balloon_policy pol;
    int smooth;
    size_t n = sc.n;
    struct sw_balloon_guest *g = sw_calloc(n, sizeof *g);
    int64_t *smoothed = sw_calloc(n, sizeof *smoothed); /* per guest; -1: none yet */
    if (load_policy(sc.policy, &pol, &smooth, err) < 0)
        goto out;
    struct sw_balloon_host h = {sc.ram_mb, sc.other_used_mb};
    for (size_t i = 0; i < n; i++) {
        g[i].min_mb = sc.g[i].min_mb;
        g[i].max_mb = sc.g[i].max_mb;
        g[i].shares = sc.g[i].shares;
        g[i].current_mb = sc.g[i].current_mb;
        smoothed[i] = -1;
    }
    for (int64_t t = sc.tick_s; t <= sc.duration_s; t += sc.tick_s) {
        h.other_used_mb = sw_balloon_step_at(sc.other_used, t, sc.other_used_mb);
        /* stats every 5 s, smoothed over `smooth` samples */
        for (size_t i = 0; i < n; i++) {
            for (int64_t s = t - sc.tick_s + 5; s <= t; s += 5)
                smoothed[i] = sw_balloon_smooth(
                    smoothed[i], sw_balloon_step_at(sc.g[i].demand, s, 0), smooth);
            g[i].used_mb = smoothed[i];
        }
        struct sw_balloon_result r;
        sw_balloon_tick(&h, &pol, g, n, &r);
        json_t *line = json_pack("{s:I, s:I, s:f, s:b, s:o}", "t", (json_int_t)t, "host_used_mb",
                                 (json_int_t)r.host_used_mb, "host_used_pct",
                                 (double)r.host_used_mb * 100.0 / (double)h.ram_mb, "pressure",
                                 r.pressure, "guests", json_object());
        json_t *gs = json_object_get(line, "guests");
        for (size_t i = 0; i < n; i++) {
            json_object_set_new(gs, sc.g[i].name,
                                json_pack("{s:I, s:I}", "target_mb", (json_int_t)g[i].target_mb,
                                          "used_mb", (json_int_t)g[i].used_mb));
            g[i].current_mb = g[i].target_mb; /* the balloon follows by the next tick */
        }
        char *text = sw_json_dump(line);
        fprintf(out, "%s\n", text);
        free(text);
        json_decref(line);
    }
    rc = 0;
out:
    free(g);
    free(smoothed);
    sw_balloon_scenario_release(&sc);
    return rc;
}
