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
#include "core/err.h"
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GUESTS 4096
/* Sizes in MiB up to 1 PiB: the controller's arithmetic (basis points of
 * host RAM) stays far from int64 overflow (found by tests/fuzz/balloon_sim:
 * an other_used step of 8e15 MiB overflowed core/balloon.c). */
#define MAX_MB (1LL << 30)

struct sim_guest {
    char *name;
    json_t *demand; /* borrowed: [[from_s, used_mb], ...] */
    int64_t smoothed;
};

/* The value of a step function [[from_s, value], ...] at t; dflt before
 * the first step. */
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

static int check_steps(const json_t *steps, const char *what, struct sw_err *err)
{
    if (!steps)
        return 0;
    size_t i;
    json_t *s;
    int64_t last = -1;
    json_array_foreach(steps, i, s) {
        json_t *t = json_array_get(s, 0), *v = json_array_get(s, 1);
        if (!json_is_array(s) || json_array_size(s) != 2 || !json_is_integer(t) ||
            !json_is_integer(v) || json_integer_value(t) < 0 || json_integer_value(v) < 0 ||
            json_integer_value(v) > MAX_MB || json_integer_value(t) <= last) {
            SW_ERR(err, SW_EINVALID,
                   "%s must be [[from_second, mb], ...] with increasing seconds, not negative,"
                   " mb at most %lld",
                   what, (long long)MAX_MB);
            return -1;
        }
        last = json_integer_value(t);
    }
    return 0;
}

static const struct sw_jfield scenario_fields[] = {
    {"host", SW_JT_OBJECT, true},     {"policy", SW_JT_OBJECT, false},
    {"duration_s", SW_JT_INT, true},  {"tick_s", SW_JT_INT, false},
    {"guests", SW_JT_ARRAY, true},    {"other_used", SW_JT_ARRAY, false},
    {NULL, 0, false},
};
static const struct sw_jfield host_fields[] = {
    {"ram_mb", SW_JT_INT, true}, {"other_used_mb", SW_JT_INT, false}, {NULL, 0, false}};
static const struct sw_jfield guest_fields[] = {
    {"name", SW_JT_STRING, true},   {"min_mb", SW_JT_INT, true},
    {"max_mb", SW_JT_INT, true},    {"shares", SW_JT_INT, false},
    {"current_mb", SW_JT_INT, false}, {"demand", SW_JT_ARRAY, true},
    {NULL, 0, false},
};

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
    json_error_t je;
    json_t *sc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!sc) {
        SW_ERR(err, SW_EINVALID, "%s:%d:%d: %s", path, je.line, je.column, je.text);
        return -1;
    }
    int rc = -1;
    struct sw_balloon_guest *g = NULL;
    struct sim_guest *sg = NULL;
    struct sw_balloon_policy pol;
    int smooth;
    json_t *host = json_object_get(sc, "host"), *guests = json_object_get(sc, "guests");
    if (!json_is_object(sc) || sw_json_check(sc, scenario_fields, err) < 0 ||
        sw_json_check(host, host_fields, err) < 0 ||
        load_policy(json_object_get(sc, "policy"), &pol, &smooth, err) < 0 ||
        check_steps(json_object_get(sc, "other_used"), "other_used", err) < 0)
        goto out;
    int64_t duration = sw_json_int(sc, "duration_s", 0), tick = sw_json_int(sc, "tick_s", 10);
    struct sw_balloon_host h = {sw_json_int(host, "ram_mb", 0), sw_json_int(host, "other_used_mb", 0)};
    size_t n = json_array_size(guests);
    if (h.ram_mb <= 0 || h.ram_mb > MAX_MB || h.other_used_mb < 0 || h.other_used_mb > MAX_MB ||
        duration <= 0 || duration > 86400 * 30 || tick < 1 || tick > 3600 || n == 0 ||
        n > MAX_GUESTS) {
        SW_ERR(err, SW_EINVALID,
               "host.ram_mb 1..%lld, other_used_mb 0..%lld, duration_s 1..2592000, tick_s"
               " 1..3600 and 1..%d guests are required",
               (long long)MAX_MB, (long long)MAX_MB, MAX_GUESTS);
        goto out;
    }
    g = sw_calloc(n, sizeof *g);
    sg = sw_calloc(n, sizeof *sg);
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(guests, i);
        char what[64];
        snprintf(what, sizeof what, "guests[%zu].demand", i);
        if (sw_json_check(o, guest_fields, err) < 0 ||
            check_steps(json_object_get(o, "demand"), what, err) < 0)
            goto out;
        g[i].min_mb = sw_json_int(o, "min_mb", 0);
        g[i].max_mb = sw_json_int(o, "max_mb", 0);
        g[i].shares = sw_json_int(o, "shares", 1000);
        g[i].current_mb = sw_json_int(o, "current_mb", g[i].max_mb);
        if (g[i].min_mb < 0 || g[i].max_mb < g[i].min_mb || g[i].max_mb > MAX_MB ||
            g[i].shares < 0 || g[i].shares > 1000000 || g[i].current_mb < 0 ||
            g[i].current_mb > MAX_MB) {
            SW_ERR(err, SW_EINVALID, "guests[%zu]: need 0 <= min_mb <= max_mb <= %lld, shares"
                                     " 0..1000000 and current_mb 0..%lld", i,
                   (long long)MAX_MB, (long long)MAX_MB);
            goto out;
        }
        sg[i].name = (char *)sw_json_str(o, "name");
        sg[i].demand = json_object_get(o, "demand");
        sg[i].smoothed = -1;
    }
    int64_t other0 = h.other_used_mb;
    for (int64_t t = tick; t <= duration; t += tick) {
        h.other_used_mb = step_at(json_object_get(sc, "other_used"), t, other0);
        /* stats every 5 s, smoothed over `smooth` samples */
        for (size_t i = 0; i < n; i++) {
            for (int64_t s = t - tick + 5; s <= t; s += 5)
                sg[i].smoothed = sw_balloon_smooth(sg[i].smoothed,
                                                   step_at(sg[i].demand, s, 0), smooth);
            g[i].used_mb = sg[i].smoothed;
        }
        struct sw_balloon_result r;
        sw_balloon_tick(&h, &pol, g, n, &r);
        json_t *line = json_pack("{s:I, s:I, s:f, s:b, s:o}", "t", (json_int_t)t, "host_used_mb",
                                 (json_int_t)r.host_used_mb, "host_used_pct",
                                 (double)r.host_used_mb * 100.0 / (double)h.ram_mb, "pressure",
                                 r.pressure, "guests", json_object());
        json_t *gs = json_object_get(line, "guests");
        for (size_t i = 0; i < n; i++) {
            json_object_set_new(gs, sg[i].name,
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
    free(sg);
    json_decref(sc);
    return rc;
}
