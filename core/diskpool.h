/* diskpool.h - the DISK class from a node's storage pools: pure functions
 * over the figures its engine reports (node_pools), no I/O.
 *
 * A pool offers its reported capacity x its disk overcommit ratio, in GiB
 * (a plan's disk_gb is the GiB of its root volume); a node's DISK capacity
 * is the sum over its pools, or its own disk_gb while none has reported
 * yet. A pool takes no new servers when it was reported missing or its
 * reported allocation is past fill_threshold percent of its capacity (the
 * engine's own test for node.pool_full, engines/engine.c); a node all of
 * whose reported pools are full takes no new servers at all.
 *
 * A shared pool (one storage several nodes of a location see, migration
 * 0037) offers each of them what the others' servers leave of it: its
 * capacity x ratio less elsewhere_gb, the disk of the servers placed on
 * the other nodes that may live in it. Counted whole on every node, it was
 * offered once per node.
 */
#ifndef SW_DISKPOOL_H
#define SW_DISKPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One pool as its node's engine last reported it. */
struct sw_diskpool {
    bool reported; /* the engine has written a report (reported_at is set) */
    bool present;  /* false: reported missing */
    int64_t capacity_bytes, allocation_bytes;
    int64_t ratio_milli;  /* disk_ratio in thousandths (1.0 is 1000) */
    int64_t fill_threshold; /* percent, 1..100 */
    int64_t elsewhere_gb;   /* a shared pool: the other nodes' servers' disk in it; else 0 */
};

/* What a node's pools add up to. */
struct sw_diskpool_sum {
    bool from_pools;  /* false: no pool has reported; capacity_gb is the fallback */
    bool all_full;    /* pools reported, and every one of them full or missing */
    int64_t capacity_gb;
    size_t reported, full; /* counts, for logs and the admin API */
};

/* True when p takes no new servers: reported missing, or reported with
 * allocation x 100 > capacity x fill_threshold. A pool not reported yet
 * is not full. */
bool sw_diskpool_full(const struct sw_diskpool *p);

/* GiB p offers to plans: floor(capacity_bytes / 2^30 x ratio), exact for
 * any bigint capacity and ratio up to 1000; 0 when p is not reported or
 * missing. */
int64_t sw_diskpool_capacity_gb(const struct sw_diskpool *p);

/* Sums v[n] into *out, each pool's capacity less its elsewhere_gb (not
 * below 0); fallback_gb (the node's disk_gb) is the capacity when none of
 * them has reported. */
void sw_diskpool_sum(const struct sw_diskpool *v, size_t n, int64_t fallback_gb,
                     struct sw_diskpool_sum *out);

/* Parses sw_node_pool_figures()'s text (migrations/0024, 0037): one group
 * "reported present capacity allocation ratio_milli fill_threshold
 * elsewhere_gb" per pool, ';' between, "" for none, into v[max]. Returns how many, or -1
 * when it does not parse or holds more than max. */
int sw_diskpool_parse(const char *s, struct sw_diskpool *v, size_t max);

/* Most pools a node declares (panel/admin_pools.c). */
#define SW_DISKPOOL_MAX 16

/* sw_diskpool_parse() then sw_diskpool_sum() of a node's figures; 0, or
 * -1 when they do not parse (*out untouched). */
int sw_diskpool_node(const char *figures, int64_t fallback_gb, struct sw_diskpool_sum *out);

#endif
