/* bkrestore.h - a backup restored as a new server (issue 14,
 * engines/README.md "Backup jobs"): the create of a server whose node job
 * carries a backup (the panel's POST /v1/backups/{id}/restore with target
 * new) makes its root volume from that backup instead of the template's
 * image; the rest is the create (seed, definition, boot).
 */
#ifndef SW_ENGINES_BKRESTORE_H
#define SW_ENGINES_BKRESTORE_H

#include <stddef.h>

#include "engines/kind.h"

struct sw_err;

/* Makes the create's root "sw-<server>-root-0[.qcow2|.raw]" from the
 * job's backup, every chunk verified, fit for the plan's disk; note[n]
 * says what else it did ("" when nothing). 0 with root filled, or -1 with
 * err set; a root it made and names in root->volume when it fails is
 * deleted by the caller. */
typedef int (*sw_bkrestore_root_fn)(struct sw_engine *eng, const struct sw_msg_node_job *job,
                                    struct sw_msg_disk *root, char *note, size_t n,
                                    struct sw_err *err);

/* sw_bkrestore_create's frame with the kind's own root maker: where the
 * server has no domain yet, the ledger re-check, then make unless the root
 * is there (a replay), then the kind's create; a create that fails before
 * its domain exists deletes the root make made. The note says "restored
 * from backup <id>" and, after "; ", make's note. 0, or -1 with err. */
int sw_bkrestore_create_with(struct sw_engine *eng, const struct sw_engine_driver *drv,
                             const struct sw_msg_node_job *job, sw_bkrestore_root_fn make,
                             struct sw_engine_outcome *out, struct sw_err *err);

/* The backups group's create (the dispatcher calls it for a create whose
 * job->backup.id is set). Where the server has no domain yet: the ledger
 * re-check, then the backup written (every chunk verified) into the
 * create's root "sw-<server>-root-0" (found and kept by a replay) in the
 * first pool below its threshold, grown to the plan's disk when larger;
 * then the kind's create, which finds that root. A create that fails
 * before its domain exists deletes the root it wrote. The note says
 * "restored from backup <id>". 0, or -1 with err (a chunk that fails its
 * checksum is named, not retryable). */
int sw_bkrestore_create(struct sw_engine *eng, const struct sw_engine_driver *drv,
                        const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                        struct sw_err *err);

#endif
