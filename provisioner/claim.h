/* claim.h - placing a create job: load the nodes with their use, rank them
 * (placement.h), and claim one in a single transaction guarded by the
 * node's generation (optimistic concurrency; see README.md "Claim").
 */
#ifndef SW_CLAIM_H
#define SW_CLAIM_H

#include <stddef.h>

#include "core/msg.h"
#include "provisioner/placement.h"

struct sw_db;
struct sw_err;
struct sw_job_row;

/* Nodes kept on a create job, after the one claimed, to move to when the
 * build fails there (jobs.params.alternates). */
#define SW_CLAIM_ALTERNATES 2

enum sw_claim_outcome {
    SW_CLAIM_OK = 0,      /* claimed: node_id holds the node; the job is running */
    SW_CLAIM_TAKEN,       /* the job is no longer queued (another provisioner moved it) */
    SW_CLAIM_SERVER_GONE, /* the server is no longer pending (e.g. terminated meanwhile) */
    SW_CLAIM_NO_CAPACITY, /* no node fits; why holds the tally for the log */
    SW_CLAIM_CONTENDED,   /* every try collided with other claims; retry later */
    SW_CLAIM_INVALID,     /* resize: the job cannot apply (why holds a tenant-safe reason) */
};

struct sw_claim_result {
    int outcome; /* enum sw_claim_outcome */
    sw_uuid_t node_id;
    char why[256];
};

/* Loads nodes with the sum of their allocations, all of them (node_id NULL)
 * or one. A node's DISK capacity (inv.disk_gb) is its storage pools'
 * reported capacity x disk_ratio, or its disk_gb while none has reported,
 * and pools_full says every reported pool is full or missing
 * (core/diskpool.h): this one read serves placement, the claim's re-check
 * and resize. Returns owned (free()); *n is the count. NULL with err on
 * error; an empty list is a non-NULL pointer with *n = 0. Rows whose ratios
 * or pools do not parse are skipped with a warning. With node_id, the
 * node's shared pools are locked first, until the caller's transaction
 * ends (migrations/0037). */
struct sw_place_node *sw_claim_load_nodes(struct sw_db *db, const char *node_id, size_t *n,
                                          struct sw_err *err);

/* SLIPWAY_HEARTBEAT_INTERVAL in seconds (default 5). A node that has
 * heartbeated and whose last heartbeat is older than 3 intervals is loaded
 * as offline, so placement skips it. */
long sw_claim_heartbeat_s(void);

/* Builds the placement request of a job's plan and location. */
void sw_claim_request(const struct sw_job_row *row, struct sw_place_req *req);

/* Places and claims row's create job. 0 with res->outcome set, -1 on error. */
int sw_claim_place(struct sw_db *db, const struct sw_job_row *row, struct sw_claim_result *res,
                   struct sw_err *err);

/* Resize (and change of plan): claims the difference between the server's
 * allocation and the new plan's demand ON THE SERVER'S NODE, in one
 * transaction with the job started (running) and the node's generation
 * bumped, retrying a generation conflict with jitter. The allocation
 * becomes, per class, the larger of the two, so a shrink frees nothing
 * before it is applied; results settle it (jobdb.c). Outcomes: OK (row
 * refreshed from the locked job; dispatch it to res->node_id), TAKEN,
 * SERVER_GONE (not on a node, or a state that forbids it), INVALID (no such
 * plan, another kind, a smaller disk), NO_CAPACITY (why names the short
 * class), CONTENDED. res->why is safe to show a tenant for SERVER_GONE,
 * INVALID and NO_CAPACITY. */
int sw_claim_resize(struct sw_db *db, struct sw_job_row *row, struct sw_claim_result *res,
                    struct sw_err *err);

#endif
