/* epoch.h - the placement epoch on the node (issue 15, migration 0030):
 * never two running copies of a server.
 *
 * Every definition of a server's domain carries servers.epoch as it was
 * when its job was dispatched (<slipway:epoch> in the domain's metadata,
 * templates/domain/). When the server moves (a migration, a recovery after
 * its node failed), the control plane bumps the epoch. A node that comes
 * back with a domain of a server that now lives on another node, whose
 * epoch the control plane has reached or passed, holds a stale copy: the
 * reconciler destroys it and undefines it, keeping its XML in the node
 * event "domain.stale_copy" for the operator (its volumes are never
 * touched: on shared storage they are the live copy's). And no job runs
 * for a server that lives elsewhere now, or whose epoch moved past the
 * job's (sw_epoch_job_check).
 */
#ifndef SW_ENGINES_EPOCH_H
#define SW_ENGINES_EPOCH_H

#include <stdbool.h>
#include <stdint.h>

#include <libvirt/libvirt.h>

#include "core/msg.h"

struct sw_err;

/* What the control plane says of a server once placed on this node
 * (sw_engine_server_epochs): found false when it was never placed here (or
 * does not exist). */
struct sw_epoch_record {
    bool found;
    bool elsewhere; /* it lives on another node now */
    int64_t epoch;
    char state[16];
};

enum sw_epoch_verdict {
    SW_EPOCH_UNKNOWN = 0, /* never placed here, or here: not the epoch's to judge */
    SW_EPOCH_STALE,       /* lives elsewhere at an epoch >= the copy's: fence it */
    SW_EPOCH_INCOMING,    /* lives elsewhere at a lower epoch: a move to here in flight */
};

/* Pure: what a local domain of epoch dom_epoch (0: none recorded, older
 * than epochs) is, given rec. */
enum sw_epoch_verdict sw_epoch_judge(int64_t dom_epoch, const struct sw_epoch_record *rec);

/* The epoch in dom's metadata, or 0 when it has none (or it cannot be
 * read). */
int64_t sw_epoch_of_domain(virDomainPtr dom);

/* Stops a stale copy for good: destroyed when it runs, autostart off, its
 * persistent XML returned (owned, free(); NULL when libvirt had none),
 * then undefined (snapshot and checkpoint metadata with it; its volumes
 * stay). -1 with err set when it could not be destroyed or undefined. */
int sw_epoch_fence_copy(virDomainPtr dom, char **xml, struct sw_err *err);

/* Pure: whether a job may run given the server's record: not when it
 * lives on another node, nor when its epoch moved past the job's (a job
 * dispatched before the move, delivered after). A record not found, or a
 * job without an epoch, passes (nothing to compare). SW_ECONFLICT. */
int sw_epoch_job_check(const struct sw_msg_node_job *job, const struct sw_epoch_record *rec,
                       struct sw_err *err);

#endif
