#include "config.h"
#include "core/balloon_conf.h"
#include "core/err.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void sw_balloon_conf_default(struct sw_balloon_conf *c)
{
    memset(c, 0, sizeof *c);
    sw_balloon_policy_default(&c->policy);
    c->smooth_samples = 10;
    c->pressure_ticks = 3;
}

/* Integer keys: where each goes and its range. */
static const struct {
    const char *key;
    size_t off;
    bool is64, in_policy;
    int64_t min, max;
} keys[] = {
    {"target_pct", offsetof(struct sw_balloon_policy, target_pct), false, true, 10, 99},
    {"reserve_pct", offsetof(struct sw_balloon_policy, reserve_pct), false, true, 0, 100},
    {"pressure_free_pct", offsetof(struct sw_balloon_policy, pressure_free_pct), false, true, 0,
     50},
    {"step_pct", offsetof(struct sw_balloon_policy, step_pct), false, true, 1, 100},
    {"step_min_mb", offsetof(struct sw_balloon_policy, step_min_mb), true, true, 1, 1048576},
    {"step_max_mb", offsetof(struct sw_balloon_policy, step_max_mb), true, true, 1, 1048576},
    {"min_change_bp", offsetof(struct sw_balloon_policy, min_change_bp), false, true, 0, 10000},
    {"stop_pct", offsetof(struct sw_balloon_policy, stop_pct), false, true, 10, 100},
    {"smooth_samples", offsetof(struct sw_balloon_conf, smooth_samples), false, false, 1, 100},
    {"pressure_ticks", offsetof(struct sw_balloon_conf, pressure_ticks), false, false, 1, 1000},
};

static int parse_shares(const json_t *o, struct sw_balloon_conf *c, struct sw_err *err)
{
    if (!json_is_object(o)) {
        SW_ERR(err, SW_EINVALID, "balloon.shares must be an object of server id -> shares");
        return -1;
    }
    if (json_object_size(o) > SW_BALLOON_MAX_SHARES) {
        SW_ERR(err, SW_EINVALID, "balloon.shares has more than %d entries",
               SW_BALLOON_MAX_SHARES);
        return -1;
    }
    const char *id;
    json_t *v;
    c->nshares = 0;
    json_object_foreach((json_t *)o, id, v) {
        if (!sw_uuid_valid(id) || !json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > 1000000) {
            SW_ERR(err, SW_EINVALID,
                   "balloon.shares: keys must be server ids, values integers from 0 to 1000000");
            return -1;
        }
        struct sw_balloon_share *s = &c->shares[c->nshares++];
        snprintf(s->server_id, sizeof s->server_id, "%s", id);
        for (char *p = s->server_id; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        s->shares = json_integer_value(v);
    }
    return 0;
}

int sw_balloon_conf_parse(const json_t *obj, struct sw_balloon_conf *c, struct sw_err *err)
{
    sw_balloon_conf_default(c);
    if (!json_is_object(obj)) {
        SW_ERR(err, SW_EINVALID, "balloon must be an object");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        if (strcmp(key, "enabled") == 0) {
            if (!json_is_boolean(v)) {
                SW_ERR(err, SW_EINVALID, "balloon.enabled must be true or false");
                return -1;
            }
            c->enabled = json_is_true(v);
            continue;
        }
        if (strcmp(key, "shares") == 0) {
            if (parse_shares(v, c, err) < 0)
                return -1;
            continue;
        }
        size_t k = 0;
        while (k < sizeof keys / sizeof keys[0] && strcmp(keys[k].key, key) != 0)
            k++;
        if (k == sizeof keys / sizeof keys[0]) {
            SW_ERR(err, SW_EINVALID, "balloon.%s is not a ballooning policy key", key);
            return -1;
        }
        if (!json_is_integer(v) || json_integer_value(v) < keys[k].min ||
            json_integer_value(v) > keys[k].max) {
            SW_ERR(err, SW_EINVALID, "balloon.%s must be an integer from %lld to %lld", key,
                   (long long)keys[k].min, (long long)keys[k].max);
            return -1;
        }
        char *base = keys[k].in_policy ? (char *)&c->policy : (char *)c;
        if (keys[k].is64)
            *(int64_t *)(void *)(base + keys[k].off) = json_integer_value(v);
        else
            *(int *)(void *)(base + keys[k].off) = (int)json_integer_value(v);
    }
    if (c->policy.stop_pct < c->policy.target_pct ||
        c->policy.step_min_mb > c->policy.step_max_mb) {
        SW_ERR(err, SW_EINVALID,
               "balloon: stop_pct must be at least target_pct and step_min_mb at most step_max_mb");
        return -1;
    }
    return 0;
}

int64_t sw_balloon_conf_shares(const struct sw_balloon_conf *c, const char *server_id,
                               int64_t dflt)
{
    for (size_t i = 0; i < c->nshares; i++)
        if (strcasecmp(c->shares[i].server_id, server_id) == 0)
            return c->shares[i].shares;
    return dflt;
}
