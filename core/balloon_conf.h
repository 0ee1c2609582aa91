/* balloon_conf.h - a node's ballooning policy as stored in nodes.balloon
 * (jsonb) and set through PATCH /v1/admin/nodes/{id} {"balloon": {...}}:
 * one parser, shared by the panel (which refuses a bad policy) and the
 * engine (which runs it). Pure but for jansson.
 *
 * {"enabled": false, "target_pct": 80, "reserve_pct": 20,
 *  "pressure_free_pct": 5, "step_pct": 5, "step_min_mb": 100,
 *  "step_max_mb": 1024, "min_change_bp": 25, "stop_pct": 95,
 *  "smooth_samples": 10, "pressure_ticks": 3,
 *  "shares": {"<server id>": 0, ...}}
 * Every key is optional (absent: the default above, DESIGN.md's policy);
 * unknown keys are refused. shares overrides a guest's default of 1000; 0
 * opts the guest out of ballooning.
 */
#ifndef SW_BALLOON_CONF_H
#define SW_BALLOON_CONF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/balloon.h"
#include "core/crypto.h"

#define SW_BALLOON_MAX_SHARES 4096

struct sw_balloon_share {
    sw_uuid_t server_id; /* lower case */
    int64_t shares;
};

struct sw_balloon_conf {
    bool enabled;
    struct sw_balloon_policy policy;
    int smooth_samples; /* 1..100 */
    int pressure_ticks; /* 1..1000: consecutive ticks of pressure before draining */
    size_t nshares;
    struct sw_balloon_share shares[SW_BALLOON_MAX_SHARES];
};

/* The defaults: disabled, DESIGN.md's policy, 10 samples, 3 ticks. */
void sw_balloon_conf_default(struct sw_balloon_conf *c);

/* Parses obj over the defaults. 0, or -1 with SW_EINVALID naming the key
 * ("balloon.target_pct must be ..."). */
int sw_balloon_conf_parse(const json_t *obj, struct sw_balloon_conf *c, struct sw_err *err);

/* A guest's shares: its override, else dflt. */
int64_t sw_balloon_conf_shares(const struct sw_balloon_conf *c, const char *server_id,
                               int64_t dflt);

#endif
