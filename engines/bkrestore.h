/* bkrestore.h - a backup restored as a new server (issue 14,
 * engines/README.md "Backup jobs"): the create of a server whose node job
 * carries a backup (the panel's POST /v1/backups/{id}/restore with target
 * new) makes its root volume from that backup instead of the template's
 * image; the rest is the create (seed, definition, boot).
 */
#ifndef SW_ENGINES_BKRESTORE_H
#define SW_ENGINES_BKRESTORE_H

#include "engines/kind.h"

struct sw_err;

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
