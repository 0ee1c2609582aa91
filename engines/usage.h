/* usage.h - the usage sampler: counters of every running sw-* domain,
 * turned into per-period deltas (struct sw_msg_usage) for billing.
 *
 * Periods and ids: a sample covers [ts - period_s, ts) where ts is the
 * period end aligned to the interval (a multiple of interval_s in unix
 * time), and its id is "<server_id>:<ts>", so a replayed sample carries the
 * same id and billing stores it once.
 *
 * Deltas: each cumulative counter (cpu, net, disk) is reported as the
 * difference from the previous reading of the same domain. The first reading
 * of a domain the engine did not boot itself (e.g. after an engine restart)
 * is a baseline: period_s = interval, counters 0, memory gauges real. A
 * domain the engine boots is seeded with its counters at boot, so its first
 * sample covers [boot, ts). A counter that went down (the domain restarted
 * behind the engine's back) counts from zero. A counter that could not be
 * read is reported as 0 and its previous value kept, so the next good
 * reading carries the whole difference. A domain that is not running at a
 * tick is forgotten, so a stopped period is never billed. Usage is thereby
 * under-counted at worst (at most one interval around an engine restart),
 * never counted twice.
 *
 * Disk space: disk_bytes is a gauge, the allocation of the server's
 * volumes ("sw-<server_id>-*", every pool of the node) at the period end,
 * read through libvirt's storage API (sw_usage_read_disks); billing rates
 * disk_bytes x period_s per GB-month. Only running servers are sampled, so
 * like the other counters a stopped period carries no disk; a read that
 * fails reports 0 for that period (under-counted, never twice).
 */
#ifndef SW_ENGINES_USAGE_H
#define SW_ENGINES_USAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libvirt/libvirt.h>

#include "core/msg.h"

struct sw_engine;
struct sw_err;
struct sw_usage;

struct sw_usage_counters {
    uint64_t cpu_ns;
    uint64_t net_rx_bytes, net_tx_bytes;
    uint64_t disk_rd_bytes, disk_wr_bytes;
    bool have_net, have_disk; /* false: the read failed (not: no devices) */
    int64_t mem_kib, mem_max_kib; /* gauges */
    int64_t disk_bytes;           /* gauge: its volumes' allocation */
};

struct sw_usage_reading {
    sw_uuid_t server_id;
    struct sw_usage_counters c;
};

/* Returns owned; free with sw_usage_free(). Thread-safe: the consumer
 * thread seeds, the sampler thread steps. */
struct sw_usage *sw_usage_new(const char *node_id, int64_t interval_s);
void sw_usage_free(struct sw_usage *u);

/* The aligned end of the period now falls in: floor(now / interval) * interval. */
int64_t sw_usage_period_end(int64_t now, int64_t interval_s);

/* Records that the engine booted r's domain at unix time now, with r's
 * counters as the starting point of its first period. */
void sw_usage_booted(struct sw_usage *u, const struct sw_usage_reading *r, int64_t now);

/* Pure but for the lock: turns the readings of the domains running at the
 * period end ts into samples, and forgets domains not running. Returns the
 * number of samples; *out is owned (free()), NULL when none. */
size_t sw_usage_step(struct sw_usage *u, const struct sw_usage_reading *r, size_t n, int64_t ts,
                     struct sw_msg_usage **out);

/* libvirt edge: reads one domain's counters (cpuTime and memory from
 * virDomainGetInfo, interface and block stats of the devices in its XML). */
int sw_usage_read_domain(virDomainPtr dom, struct sw_usage_reading *r, struct sw_err *err);
/* Reads every running domain named sw-*. *out is owned (free()). */
int sw_usage_read_all(virConnectPtr conn, struct sw_usage_reading **out, size_t *n,
                      struct sw_err *err);

/* Sets each reading's disk_bytes to the allocation of its server's volumes
 * in eng's pools (one listing of every pool; r[n] is sorted by server id
 * on return). 0, or -1 with err set (the readings keep disk_bytes 0). */
int sw_usage_read_disks(struct sw_engine *eng, struct sw_usage_reading *r, size_t n,
                        struct sw_err *err);

#endif
