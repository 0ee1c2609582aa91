/* migjob.h - the migrate job on a node (issue 15; engines/README.md
 * "Migration (the job)"): what the engine does with a node job of type
 * migrate, by its "migrate" member (core/migmsg.h).
 *
 *   phase source, a real hypervisor: the domain moves peer to peer to the
 *     target (migrate.h: live when it runs, offline when stopped), with
 *     progress reports, the downtime limit, auto-converge, and an
 *     operator's cancel polled while it moves; answers moved.
 *   phase source, libvirt's test driver (which cannot migrate): the first
 *     half of a cold move the control plane drives: the domain is stopped
 *     and undefined here, its volumes deleted (a test node's live in its
 *     engine's process: no shared storage; the target makes its own);
 *     answers not moved, and whether it ran.
 *   phase target: the second half, on the target: the domain defined over
 *     the server's volumes (a test node, whose volumes live in its own
 *     process, makes them: a stand-in for shared storage) and started if
 *     it ran; answers moved with the volumes it uses.
 * Every half is idempotent on replay (a domain already gone, or already
 * defined and in the state asked).
 */
#ifndef SW_ENGINES_MIGJOB_H
#define SW_ENGINES_MIGJOB_H

#include "engines/kind.h"

/* The migrate operation (driver.c's dispatch). 0, or -1 with err set. */
int sw_migjob_run(struct sw_engine *eng, const struct sw_engine_driver *drv,
                  const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                  struct sw_err *err);

/* Pure: xml (a domain's) with <slipway:epoch> in its <slipway:server>
 * metadata set to epoch (added when missing), through libxml2. Returns
 * owned (free()), or NULL when xml does not parse or has no such metadata.
 * A live move's destination and persistent XML carry the target's epoch. */
char *sw_migjob_set_epoch(const char *xml, int64_t epoch);

#endif
