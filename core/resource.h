/* resource.h - the resource model and placement math: pure functions over
 * plain structs, no I/O.
 *
 * Per node and resource class: capacity = (total - reserved) x ratio.
 * Ratios are integers in thousandths ("1.5" is 1500) so that admission is
 * exact. Classes:
 *   VCPU      vCPUs; ratio cpu_ratio
 *   MEM_GUAR  guaranteed RAM, MiB; ratio always 1.0 (never overcommitted)
 *   MEM_MAX   maximum (burst) RAM, MiB; ratio ram_ratio
 *   DISK      GB; ratio 1.0
 * What a plan takes, by kind:
 *   pv        guarantee = max = ram_mb
 *   hvm       max = burst_ram_mb (ram_mb if none); guarantee =
 *             max(ram_mb, ceil(max / 4))
 *   container guarantee = ram_mb; max = ram_mb + swap_mb
 */
#ifndef SW_RESOURCE_H
#define SW_RESOURCE_H

#include <stdbool.h>
#include <stdint.h>

enum sw_res_class { SW_RC_VCPU = 0, SW_RC_MEM_GUAR, SW_RC_MEM_MAX, SW_RC_DISK, SW_RC__COUNT };

struct sw_plan_size {
    int kind; /* enum sw_plan_kind */
    int64_t vcpus, ram_mb, burst_ram_mb, swap_mb, disk_gb;
};

struct sw_amounts {
    int64_t v[SW_RC__COUNT];
};

struct sw_node_inv {
    int64_t cpus, ram_mb, reserved_ram_mb, disk_gb;
    int64_t cpu_ratio_milli, ram_ratio_milli;
};

const char *sw_res_class_name(int c);

/* What one server of this plan takes from a node. */
void sw_plan_demand(const struct sw_plan_size *p, struct sw_amounts *out);

/* Capacity of every class. */
void sw_node_capacity(const struct sw_node_inv *n, struct sw_amounts *out);

/* True when used + want fits capacity in every class; otherwise *short_class
 * (if non-NULL) names the first class that does not fit. */
bool sw_node_fits(const struct sw_node_inv *n, const struct sw_amounts *used,
                  const struct sw_amounts *want, int *short_class);

/* Parses a decimal ratio ("4", "1.5", "0.125") into thousandths; -1 when
 * malformed, more than 3 decimals, or outside (0, 1000]. */
int sw_ratio_parse(const char *s, int64_t *milli);
/* Formats thousandths as a decimal string ("1.5") into buf[24]. */
const char *sw_ratio_format(int64_t milli, char buf[24]);

#endif
