/* placement.h - choosing a node for a server: pure functions over plain
 * structs, no I/O (the claim in claim.c is the edge that talks to PG).
 *
 * Three steps, as in DESIGN.md "Placement":
 *   filter  sw_place_check(): active, hosts the plan kind, in the requested
 *           location, has a storage pool that takes new servers, and fits
 *           every resource class (core/resource.h; DISK from the node's
 *           pools, core/diskpool.h);
 *   score   sw_place_score(): a weighted sum of the weighers in the table
 *           in placement.c that belong to the request's policy: spread
 *           (emptiest node first) for pv and dedicated hvm, stack (fullest
 *           node that still fits first) for container and bursting hvm;
 *   pick    sw_place_rank(): sorts the fitting nodes by score and puts a
 *           random one of the top few first, so that parallel provisioners
 *           rarely race for the same node; the rest follow as alternates.
 *           sw_place_rank_top() does the same but keeps only the best few,
 *           in O(nodes) (no sort): what a large cluster should call.
 */
#ifndef SW_PLACEMENT_H
#define SW_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/crypto.h"
#include "core/resource.h"

/* nodes.state */
enum sw_node_state {
    SW_NODE_ACTIVE = 0,
    SW_NODE_DRAINING,
    SW_NODE_OFFLINE,
    SW_NODE_MAINTENANCE, /* evacuating (issue 15): takes no new servers */
    SW_NODE__COUNT
};

const char *sw_node_state_name(int v);
int sw_node_state_parse(const char *s);

/* How many nodes of the best ones sw_place_rank() picks among. */
#define SW_PLACE_TOP_K 3

/* One candidate node as placement sees it. */
struct sw_place_node {
    char id[SW_UUID_LEN + 1];
    char location_id[SW_UUID_LEN + 1];
    int state;      /* enum sw_node_state */
    unsigned kinds; /* bit (1u << enum sw_plan_kind) per hosted kind */
    struct sw_node_inv inv; /* inv.disk_gb: its pools' capacity x ratio (core/diskpool.h) */
    struct sw_amounts used; /* sum of the node's allocations */
    bool pools_full;        /* every reported pool is full or missing: no new servers */
    int64_t generation;
};

/* How fitting nodes are weighed. */
enum sw_place_policy {
    SW_PLACE_BY_KIND = 0, /* the default: sw_place_policy_of() decides by kind */
    SW_PLACE_SPREAD,      /* emptiest first: fills nodes evenly */
    SW_PLACE_STACK,       /* fullest first: packs, keeps whole nodes free */
    SW_PLACE_POLICY__COUNT
};

const char *sw_place_policy_name(int v);

/* What is being placed. */
struct sw_place_req {
    int kind;                /* enum sw_plan_kind */
    const char *location_id; /* borrowed; NULL or "": any location */
    struct sw_amounts want;  /* sw_plan_demand() of the plan */
    int policy;              /* enum sw_place_policy; 0 (memset): by kind */
};

/* The policy r is weighed with: r->policy unless SW_PLACE_BY_KIND; by kind:
 * pv spread; container stack; hvm stack when the plan bursts (MEM_MAX above
 * MEM_GUAR: a burst pool), spread when dedicated. */
int sw_place_policy_of(const struct sw_place_req *r);

/* Why sw_place_check() rejected a node. */
enum sw_place_verdict {
    SW_PLACE_FITS = 0,
    SW_PLACE_NOT_ACTIVE,
    SW_PLACE_WRONG_KIND,
    SW_PLACE_WRONG_LOCATION,
    SW_PLACE_NO_ROOM,
    SW_PLACE_POOLS_FULL, /* every storage pool of the node full or missing */
    SW_PLACE__COUNT
};

const char *sw_place_verdict_name(int v);

/* Parses a PostgreSQL text[] of kinds ("{container,hvm}") into a bit set;
 * returns -1 when malformed or naming an unknown kind. */
int sw_place_kinds_parse(const char *s, unsigned *kinds);

/* Filters one node. *short_class (if non-NULL) is set for SW_PLACE_NO_ROOM. */
enum sw_place_verdict sw_place_check(const struct sw_place_node *n, const struct sw_place_req *r,
                                     int *short_class);

/* Score of a node that fits (higher is better); weighted sum of weighers. */
int64_t sw_place_score(const struct sw_place_node *n, const struct sw_place_req *r);

/* Per-verdict counts over a node list, for the "no capacity" message. */
struct sw_place_tally {
    size_t by_verdict[SW_PLACE__COUNT];
    size_t short_of[SW_RC__COUNT]; /* among SW_PLACE_NO_ROOM: first short class */
};

/* Ranks nodes for r. Writes the indexes of the fitting nodes into order
 * (room for n entries): order[0] is the one picked among the best
 * SW_PLACE_TOP_K by `pick` (any random number; pick % k chooses), the rest
 * follow best first as alternates. Ties are broken by node id so that the
 * result depends only on the inputs. Returns how many fit (0: none). tally
 * may be NULL. */
size_t sw_place_rank(const struct sw_place_node *nodes, size_t n, const struct sw_place_req *r,
                     uint32_t pick, size_t *order, struct sw_place_tally *tally);

/* As sw_place_rank(), but writes at most max indexes (max >= 1): order[0]
 * picked among the best SW_PLACE_TOP_K by pick, then the next best as
 * alternates, best first; same order as sw_place_rank()'s first max
 * entries. One pass over the nodes and no allocation, so it stays well
 * under a millisecond at 10,000 nodes. Returns how many fit in all (the
 * number written is the smaller of that and max). */
size_t sw_place_rank_top(const struct sw_place_node *nodes, size_t n, const struct sw_place_req *r,
                         uint32_t pick, size_t *order, size_t max, struct sw_place_tally *tally);

/* Writes a one-line summary of a tally for the log ("nodes=3 not_active=1
 * no_room=2 short_MEM_GUAR=2") into buf. Returns buf. */
const char *sw_place_tally_format(const struct sw_place_tally *t, char *buf, size_t len);

#endif
