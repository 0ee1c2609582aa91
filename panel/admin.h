/* admin.h - the pure steps of the operator's node routes (admin.c): a body
 * checked and merged into a node's row, and whether what the node runs
 * still fits the result. No I/O, so tests/unit/panel/test_admin.c reaches
 * every rule without a database. The checks return 0, or -1 with err set:
 * SW_EINVALID naming the field, or SW_ECONFLICT for what the node runs.
 */
#ifndef SW_PANEL_ADMIN_H
#define SW_PANEL_ADMIN_H

#include <jansson.h>
#include <stdint.h>

#include "core/enums.h"
#include "core/resource.h"
#include "panel/data_nodes.h"

struct sw_err;

/* Checks a create body (already checked against its field list) like a
 * PATCH's, and fills *out with it and the defaults: ratios by the kinds
 * (CPU 16 for container-only nodes, else 4; memory 1.0 when the node hosts
 * pv, else 1.5), state active. */
int sw_node_create_check(const json_t *body, struct sw_node_row *out, struct sw_err *err);

/* Checks a PATCH body (already checked against its field list): engine_uri
 * a libvirt URI, sizes within bounds, a node state, distinct kinds, ratios
 * above 0 and at most 1000 with up to 3 decimals, a valid ballooning policy. */
int sw_node_patch_check(const json_t *patch, struct sw_err *err);

/* cur overlaid with what patch changes into *out (out may not be cur), after
 * sw_node_patch_check(); reserved_ram_mb must stay below ram_mb. The
 * ballooning policy is not part of the row. */
int sw_node_patch_merge(const struct sw_node_row *cur, const json_t *patch,
                        struct sw_node_row *out, struct sw_err *err);

/* Whether a node with row's inventory and kinds still holds what its ledger
 * holds (used, per class) and the servers living on it (live, per kind). */
int sw_node_patch_fits(const struct sw_node_row *row, const struct sw_amounts *used,
                       const int64_t live[SW_KIND__COUNT], struct sw_err *err);

/* What GET /v1/admin/nodes/{id}/capacity answers under "classes": per
 * resource class (VCPU, MEM_GUAR, MEM_MAX, DISK) its total, reserved, ratio,
 * capacity, used and free. Returns a new reference. */
json_t *sw_node_capacity_json(const struct sw_node_inv *inv, const struct sw_amounts *used);

/* A node's "pools" (admin_pools.c): 1 to 16 objects {name, type?, path?,
 * shared?, disk_ratio?, fill_threshold?}, names [a-z0-9][a-z0-9_-]* and
 * distinct, type dir (default)|logical|zfs|netfs|rbd, a dir's path absolute
 * (default /var/lib/slipway/pools/<name>), ratio above 0, threshold 1..100
 * (default 90). Returns the rows to store (position = index), a new
 * reference, or NULL with err set (SW_EINVALID naming the field). */
json_t *sw_node_pools_rows(const json_t *pools, struct sw_err *err);

/* Adds to each of node's "pools" (the engine's report as stored) what
 * placement makes of it (core/diskpool.h): "capacity_gb", the GiB it
 * offers (capacity x disk_ratio; null until reported), and "full" (true:
 * reported missing or past its fill threshold, it takes no new server). */
void sw_node_pools_view(json_t *node);

#endif
