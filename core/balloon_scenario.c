#include "config.h"
#include "core/balloon_scenario.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MB SW_BALLOON_SCENARIO_MAX_MB

int64_t sw_balloon_step_at(const json_t *steps, int64_t t, int64_t dflt)
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

static int load(struct sw_balloon_scenario *sc, struct sw_err *err)
{
    json_t *root = sc->root;
    json_t *host = json_object_get(root, "host"), *guests = json_object_get(root, "guests");
    if (!json_is_object(root)) {
        SW_ERR(err, SW_EINVALID, "a scenario must be a JSON object");
        return -1;
    }
    if (sw_json_check(root, scenario_fields, err) < 0 || sw_json_check(host, host_fields, err) < 0)
        return -1;
    sc->policy = json_object_get(root, "policy");
    sc->other_used = json_object_get(root, "other_used");
    if (check_steps(sc->other_used, "other_used", err) < 0)
        return -1;
    sc->duration_s = sw_json_int(root, "duration_s", 0);
    sc->tick_s = sw_json_int(root, "tick_s", 10);
    sc->ram_mb = sw_json_int(host, "ram_mb", 0);
    sc->other_used_mb = sw_json_int(host, "other_used_mb", 0);
    size_t n = json_array_size(guests);
    if (sc->ram_mb <= 0 || sc->ram_mb > MAX_MB || sc->other_used_mb < 0 ||
        sc->other_used_mb > MAX_MB || sc->duration_s <= 0 || sc->duration_s > 86400 * 30 ||
        sc->tick_s < 1 || sc->tick_s > 3600 || n == 0 || n > SW_BALLOON_SCENARIO_MAX_GUESTS) {
        SW_ERR(err, SW_EINVALID,
               "host.ram_mb 1..%lld, other_used_mb 0..%lld, duration_s 1..2592000, tick_s"
               " 1..3600 and 1..%d guests are required",
               (long long)MAX_MB, (long long)MAX_MB, SW_BALLOON_SCENARIO_MAX_GUESTS);
        return -1;
    }
    sc->g = sw_calloc(n, sizeof *sc->g);
    sc->n = n;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(guests, i);
        struct sw_balloon_scenario_guest *g = &sc->g[i];
        char what[64];
        snprintf(what, sizeof what, "guests[%zu].demand", i);
        if (sw_json_check(o, guest_fields, err) < 0 ||
            check_steps(json_object_get(o, "demand"), what, err) < 0)
            return -1;
        g->name = sw_json_str(o, "name");
        g->min_mb = sw_json_int(o, "min_mb", 0);
        g->max_mb = sw_json_int(o, "max_mb", 0);
        g->shares = sw_json_int(o, "shares", 1000);
        g->current_mb = sw_json_int(o, "current_mb", g->max_mb);
        g->demand = json_object_get(o, "demand");
        if (g->min_mb < 0 || g->max_mb < g->min_mb || g->max_mb > MAX_MB || g->shares < 0 ||
            g->shares > 1000000 || g->current_mb < 0 || g->current_mb > MAX_MB) {
            SW_ERR(err, SW_EINVALID, "guests[%zu]: need 0 <= min_mb <= max_mb <= %lld, shares"
                                     " 0..1000000 and current_mb 0..%lld", i,
                   (long long)MAX_MB, (long long)MAX_MB);
            return -1;
        }
    }
    return 0;
}

int sw_balloon_scenario_load(const char *path, struct sw_balloon_scenario *sc,
                             struct sw_err *err)
{
    memset(sc, 0, sizeof *sc);
    json_error_t je;
    sc->root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!sc->root) {
        SW_ERR(err, SW_EINVALID, "%s:%d:%d: %s", path, je.line, je.column, je.text);
        return -1;
    }
    if (load(sc, err) < 0) {
        sw_balloon_scenario_release(sc);
        return -1;
    }
    return 0;
}

void sw_balloon_scenario_release(struct sw_balloon_scenario *sc)
{
    json_decref(sc->root);
    free(sc->g);
    memset(sc, 0, sizeof *sc);
}
