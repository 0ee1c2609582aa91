/* usage.h - the usage sampler: counters of every sw-* domain, turned into
 * per-period deltas (struct sw_msg_usage) for billing.
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
 * reading carries the whole difference. A server not sampled at a tick is
 * forgotten. Usage is thereby under-counted at worst (at most one interval
 * around an engine restart or a start), never counted twice.
 *
 * Stopped servers: a server whose domain is defined but not running (a
 * stopped server), or whose domain is not defined at all, holds its disks
 * all the same, and a hosting operator bills them. So a tick samples every
 * running sw-* domain as before, and also every server the control plane
 * places on the node (sw_nodedb_held) that has an inactive domain or a
 * volume in the node's pools: an "inactive" reading, whose cpu, network and
 * memory are 0 and whose disk_bytes is real (sw_usage_select). A server
 * not placed here (an orphan domain or volume, a copy left behind by a
 * move) is never sampled while inactive: reconciliation reports it. When
 * the placements or the pools cannot be read, inactive servers are not
 * sampled that tick (under-counted, never twice).
 *
 * Disk space: disk_bytes is a gauge, the allocation of the server's
 * volumes ("sw-<server_id>-*", every pool of the node) at the period end,
 * read through libvirt's storage API (sw_usage_read_disks); billing rates
 * disk_bytes x period_s per GB-month. A listing that fails reports 0 for
 * the running servers that period and samples no inactive one.
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
    /* Its domain runs (or is paused). false: a stopped server (domain
     * defined and off, or none): its counters and memory are 0. */
    bool active;
    struct sw_usage_counters c;
};

/* Space per server: the allocation of its "sw-<id>-*" volumes. */
struct sw_usage_disk {
    sw_uuid_t server_id;
    int64_t bytes;
};

struct sw_usage_disks {
    size_t n, cap;
    struct sw_usage_disk *v; /* owned; one per server, sorted by id once finished */
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

/* Pure but for the lock: turns the readings of the servers sampled at the
 * period end ts (sw_usage_select) into samples, and forgets the others.
 * Returns the number of samples; *out is owned (free()), NULL when none. */
size_t sw_usage_step(struct sw_usage *u, const struct sw_usage_reading *r, size_t n, int64_t ts,
                     struct sw_msg_usage **out);

/* libvirt edge: reads one domain's counters (cpuTime and memory from
 * virDomainGetInfo, interface and block stats of the devices in its XML);
 * an inactive domain is a reading with active false and every counter 0. */
int sw_usage_read_domain(virDomainPtr dom, struct sw_usage_reading *r, struct sw_err *err);
/* Reads every domain named sw-*, running or not. *out is owned (free()). */
int sw_usage_read_all(virConnectPtr conn, struct sw_usage_reading **out, size_t *n,
                      struct sw_err *err);

/* Pure: notes a volume's allocation for its server, when its name is
 * "sw-<server_id>-<rest>" (anything else counts for nobody); then
 * sw_usage_disks_finish() sorts d by server id and adds up each server's
 * volumes into one entry. */
void sw_usage_disks_add(struct sw_usage_disks *d, const char *volume, int64_t allocation);
void sw_usage_disks_finish(struct sw_usage_disks *d);
/* Frees d's contents (d itself is the caller's). */
void sw_usage_disks_release(struct sw_usage_disks *d);

/* libvirt edge: d (empty) gets the allocation of every server's volumes in
 * eng's pools, one listing of each pool, sorted by server id. 0, or -1 with
 * err set (d is then empty). */
int sw_usage_read_disks(struct sw_engine *eng, struct sw_usage_disks *d, struct sw_err *err);

/* Pure: which servers a tick samples, from the domains' readings r[n]
 * (*r is owned and may be reallocated), the servers' disk space d (NULL:
 * the pools could not be read) and the servers the control plane places
 * on the node, held[nheld] sorted by strcmp (NULL: could not be read):
 * - every active reading, its disk_bytes from d (0 when d is NULL);
 * - an inactive reading whose server is held, when d and held are known;
 * - a server with volumes in d but no domain, when held: a new inactive
 *   reading (counters 0, its disk_bytes).
 * Returns how many readings *r holds now, sorted by server id. */
size_t sw_usage_select(struct sw_usage_reading **r, size_t n, const struct sw_usage_disks *d,
                       const sw_uuid_t *held, size_t nheld);

#endif
