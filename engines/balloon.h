/* balloon.h - the engine's ballooning loop around the pure controller
 * (core/balloon.h): samples a stats source (engines/stats.h), smooths each
 * guest's demand, and on each tick runs sw_balloon_tick() and applies the
 * targets that moved. No threads and no database here: engine.c calls
 * sample twice a tick and tick once, and acts on the report (node pressure
 * -> draining + a node event).
 *
 * Ballooned: hvm guests, and pv guests when the node's pool ratio for RAM
 * is above 1 (pv_too); a guest with shares 0 (the policy's "shares"
 * override) is left alone. Other guests count as host use. A guest whose
 * last sample had no usable stats is stale: left as it is this tick.
 */
#ifndef SW_ENGINES_BALLOON_H
#define SW_ENGINES_BALLOON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/balloon_conf.h"
#include "engines/stats.h"

struct sw_err;
struct sw_ballooner;

struct sw_balloon_report {
    int64_t host_ram_mb, host_used_mb; /* after the targets */
    bool pressure;       /* the controller's: above stop_pct even at the guarantees */
    int pressure_ticks;  /* consecutive ticks of pressure so far */
    bool raise;          /* pressure held for the policy's pressure_ticks: act now (once) */
    size_t guests, managed, moved, failed;
};

/* Takes src (closed by sw_ballooner_free()). Returns owned. */
struct sw_ballooner *sw_ballooner_new(struct sw_stats_source src);
void sw_ballooner_free(struct sw_ballooner *b);

/* The policy in force (copied); pv_too: the node's RAM pool ratio is above 1. */
void sw_ballooner_configure(struct sw_ballooner *b, const struct sw_balloon_conf *conf,
                            bool pv_too);

/* One stats sample: smooths each guest's demand. */
int sw_ballooner_sample(struct sw_ballooner *b, struct sw_err *err);

/* One controller tick on the last sample; applies the targets that moved.
 * A target the source failed to apply is counted (failed), not fatal. */
int sw_ballooner_tick(struct sw_ballooner *b, struct sw_balloon_report *rep,
                      struct sw_err *err);

/* The last tick's target of guest id (-1 when unknown), for tests. */
int64_t sw_ballooner_target(const struct sw_ballooner *b, const char *id);

#endif
