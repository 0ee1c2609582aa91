/* snapshot.h - customers' snapshots of an hvm server (issue 14;
 * engines/README.md "Snapshots").
 *
 * libvirt internal snapshots on the server's qcow2 root volume, named
 * "sw-<server>-snap-<snapshot id>" (SW_SNAPSHOT_NAME), so a replayed job
 * finds what an earlier delivery made. The seed's and the ISO's cdroms are
 * left out (snapshot='no'). A root that is not qcow2 (raw on logical or
 * rbd pools, a container's root) cannot hold one: SW_EUNSUPPORTED.
 */
#ifndef SW_ENGINES_SNAPSHOT_H
#define SW_ENGINES_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engines/kind.h"

struct sw_err;

/* "sw-<server id>-snap-<snapshot id>" */
#define SW_SNAPSHOT_NAME_MAX 96

/* Writes the libvirt snapshot name into out[SW_SNAPSHOT_NAME_MAX]; returns
 * out. Pure. */
const char *sw_snapshot_name(const char *server_id, const char *snapshot_id,
                             char out[SW_SNAPSHOT_NAME_MAX]);

/* The <domainsnapshot> XML of a create into out[n]: name, a description
 * recording the root's allocation before (alloc_before, bytes, read back
 * by a replay), <memory snapshot='no'/> when memory is false (an inactive
 * domain: disk only), and one <disk snapshot='no'/> per cdrom target in
 * cdroms (ncdroms of them). 0, or -1 when it does not fit or a target is
 * not a plain device name. Pure. */
int sw_snapshot_xml(const char *name, int64_t alloc_before, bool memory,
                    const char *const *cdroms, size_t ncdroms, char *out, size_t n);

/* The alloc_before a description written by sw_snapshot_xml() records; -1
 * when it has none. Pure. */
int64_t sw_snapshot_alloc_before(const char *snapshot_xml);

/* The note of a create into out[n]: whether the guest's filesystems were
 * frozen (frozen: 1 yes, 0 no agent answered, -1 not tried: stopped or a
 * memory snapshot) and whether memory was saved. Pure. */
void sw_snapshot_note(bool running, bool memory, int frozen, char *out, size_t n);

/* snapshot_create: the job's snapshot of the server's root; a running
 * guest is frozen through its agent (a short timeout) around it unless the
 * job saves memory. out->snapshot_bytes is the root's allocation growth. A
 * snapshot of that name already there is success (a replay). */
int sw_snapshot_create(struct sw_engine *eng, const struct sw_engine_driver *drv,
                       const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                       struct sw_err *err);

/* snapshot_revert: the disk (and, for a memory snapshot, the running
 * guest) back to the snapshot. A running guest with a memory snapshot
 * keeps running from it; otherwise a guest that was running boots again
 * on the snapshot's disk, and a stopped one stays stopped. SW_ENOTFOUND
 * when the node has no such snapshot. */
int sw_snapshot_revert(struct sw_engine *eng, const struct sw_engine_driver *drv,
                       const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                       struct sw_err *err);

/* snapshot_delete: the snapshot (its data in the qcow2 and its metadata)
 * gone; a missing one is success. */
int sw_snapshot_delete(struct sw_engine *eng, const struct sw_engine_driver *drv,
                       const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                       struct sw_err *err);

/* Every slipway snapshot of dom deleted (a reinstall, before its old root
 * goes): data and metadata, or the metadata alone when the data cannot be
 * (the volume goes anyway). 0, or -1 with err. */
int sw_snapshot_drop_all(virDomainPtr dom, const char *server_id, const char *what,
                         struct sw_err *err);

/* The snapshot group of hvm's table (kind.h). */
extern const struct sw_engine_snapshots sw_snapshot_ops;

#endif
