/* balloon_scenario.h - a balloon-sim scenario (format: engines/README.md),
 * read and bounded in one place for `slipwayctl balloon-sim` and the
 * engine's scripted stats source (engines/stats_sim.c). Pure but for
 * reading the file.
 */
#ifndef SW_BALLOON_SCENARIO_H
#define SW_BALLOON_SCENARIO_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct sw_err;

#define SW_BALLOON_SCENARIO_MAX_GUESTS 4096
/* Sizes in MiB up to 1 PiB, so the controller's arithmetic (basis points of
 * host RAM) stays far from int64 overflow (found by tests/fuzz/balloon_sim:
 * an other_used step of 8e15 MiB overflowed core/balloon.c). */
#define SW_BALLOON_SCENARIO_MAX_MB (1LL << 30)

struct sw_balloon_scenario_guest {
    const char *name; /* borrowed from the scenario */
    int64_t min_mb, max_mb, shares, current_mb;
    const json_t *demand; /* borrowed: [[from_s, used_mb], ...] */
};

struct sw_balloon_scenario {
    json_t *root; /* owned */
    int64_t ram_mb, other_used_mb, duration_s, tick_s;
    const json_t *other_used; /* borrowed step function; may be NULL */
    const json_t *policy;     /* borrowed; may be NULL (the defaults) */
    size_t n;
    struct sw_balloon_scenario_guest *g; /* owned, [n] */
};

/* Reads and checks path (unknown fields, types, step functions, bounds).
 * 0, or -1 with SW_EINVALID saying what is wrong; sc is then empty. The
 * policy object is only borrowed: each caller applies its own rules. */
int sw_balloon_scenario_load(const char *path, struct sw_balloon_scenario *sc,
                             struct sw_err *err);
void sw_balloon_scenario_release(struct sw_balloon_scenario *sc);

/* The value of a step function [[from_s, value], ...] at t; dflt before
 * the first step (and for NULL). */
int64_t sw_balloon_step_at(const json_t *steps, int64_t t, int64_t dflt);

#endif
