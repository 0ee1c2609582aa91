/* bkctnew.h - a container's backup restored as a new server (issue 14,
 * engines/README.md "Backup jobs", "Container roots").
 *
 * A container's guest configuration (etc/hostname and the NoCloud files
 * under var/lib/cloud/seed/nocloud) lives inside its root filesystem, so
 * the backup's root cannot boot the new server as it is: it is assembled
 * as a local scratch image on the engine's host (every chunk verified),
 * checked (e2fsck, which also replays the journal of a root cloned while
 * mounted), grown to the plan's disk (resize2fs), given the new server's
 * files (debugfs -w, the texts of sw_rootfs_guest_files: one behaviour in
 * one place; the e2fsprogs steps are ctdisk.h's) and uploaded into "sw-<server>-root-0.raw" as a rootfs build
 * uploads (sw_rootfs_upload, its superblock last). Nothing is mounted.
 */
#ifndef SW_ENGINES_BKCTNEW_H
#define SW_ENGINES_BKCTNEW_H

#include <stddef.h>

#include "engines/kind.h"

struct sw_err;

/* The container's sw_bkrestore_root_fn (bkrestore.h): the root above, of
 * job->disk_gb (a backup's disk larger than that: unprocessable). note[n]
 * says "root filesystem grown to N GB" when it was. A bad chunk fails it
 * naming the chunk (internal, not retryable), before any volume is made;
 * a failed upload leaves the volume named in root for the caller to
 * delete. 0, or -1 with err. */
int sw_bkctnew_root(struct sw_engine *eng, const struct sw_msg_node_job *job,
                    struct sw_msg_disk *root, char *note, size_t n, struct sw_err *err);

/* The container kind's backups group's create: sw_bkrestore_create_with
 * with sw_bkctnew_root. */
int sw_bkctnew_create(struct sw_engine *eng, const struct sw_engine_driver *drv,
                      const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                      struct sw_err *err);

#endif
