/* recover.h - the recover job on its new node (high availability, issue
 * 15; provisioner/README.md "High availability"): the server's domain
 * defined over the volumes it already has in a shared pool, and started.
 */
#ifndef SW_ENGINES_RECOVER_H
#define SW_ENGINES_RECOVER_H

#include "engines/kind.h"

/* Defines job's domain if absent, over the server's existing root volume,
 * and makes it run. It never makes a fresh root: a root volume missing
 * from the node's pools fails the job (SW_ENOTFOUND, not retryable),
 * except on libvirt's test driver, whose volumes live in the engine's
 * process only: there the volume is made as a stand-in for the shared
 * storage (out->note says so). A replay that finds the domain only makes
 * sure it runs. */
int sw_recover_run(struct sw_engine *eng, const struct sw_engine_driver *drv,
                   const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                   struct sw_err *err);

#endif
