/* stats.h - where the ballooning loop gets its numbers: a stats source
 * vtable with two implementations, selected by SLIPWAY_BALLOON_SOURCE.
 *
 * - "libvirt": the node's domains (virConnectGetAllDomainStats with
 *   VIR_DOMAIN_STATS_BALLOON; virDomainMemoryStats where the bulk call has
 *   no balloon figures, as on the test driver), the host's RAM from
 *   virNodeGetInfo and its use from virNodeGetMemoryStats; targets applied
 *   with virDomainSetMemoryFlags(AFFECT_LIVE).
 * - "sim:<path>": a balloon-sim scenario (engines/README.md) replayed as a
 *   model: each sample advances the scenario's clock by 5 s and reads every
 *   guest's demand there; a target is applied to the model (the balloon
 *   reaches it by the next tick), exactly as slipwayctl balloon-sim does.
 */
#ifndef SW_ENGINES_STATS_H
#define SW_ENGINES_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libvirt/libvirt.h>

#include "core/crypto.h"

struct sw_err;

struct sw_stats_guest {
    char id[64];      /* server id (libvirt) or the scenario's guest name (sim) */
    int kind;         /* enum sw_plan_kind */
    int64_t min_mb;   /* guarantee */
    int64_t max_mb;   /* ceiling */
    int64_t shares;   /* the source's default (1000; a scenario may say) */
    int64_t current_mb; /* balloon now */
    int64_t used_mb;  /* demand in this sample */
    bool fresh;       /* false: no usable stats this sample */
};

struct sw_stats_host {
    int64_t ram_mb;
    int64_t other_used_mb; /* used outside the guests' balloons */
};

struct sw_stats_ops {
    const char *name;
    /* One sample of the host and every candidate guest (running). *g is
     * owned (free()). */
    int (*sample)(void *self, struct sw_stats_host *h, struct sw_stats_guest **g, size_t *n,
                  struct sw_err *err);
    /* Sets one guest's balloon target. */
    int (*apply)(void *self, const struct sw_stats_guest *g, int64_t target_mb,
                 struct sw_err *err);
    void (*free)(void *self);
};

struct sw_stats_source {
    const struct sw_stats_ops *ops;
    void *self;
};

/* Opens the source spec names ("libvirt" or "sim:<path>"); conn is
 * borrowed (libvirt only). 0, or -1 with SW_EINVALID for a bad spec or
 * scenario. */
int sw_stats_open(const char *spec, virConnectPtr conn, struct sw_stats_source *out,
                  struct sw_err *err);
void sw_stats_close(struct sw_stats_source *s);

/* The sources (stats.c, stats_sim.c). */
int sw_stats_libvirt_open(virConnectPtr conn, struct sw_stats_source *out);
int sw_stats_sim_open(const char *path, struct sw_stats_source *out, struct sw_err *err);

#endif
