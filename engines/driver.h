/* driver.h - the engine's one dispatch API over the kinds' driver tables
 * (libvirt's src/libvirt-domain.c over src/driver-hypervisor.h).
 *
 * Each kind fills a static const designated-initialiser table at the bottom
 * of its own file (container.c, pv.c, hvm.c; the table's shape is in
 * kind.h). A NULL method means the kind does not support that operation:
 * sw_engine_run() reports SW_EUNSUPPORTED with a message naming both, so
 * callers never test kinds. Only the daemon's side (job.c, reconcile.c,
 * engine.c) calls in here; the operations below never call back.
 */
#ifndef SW_ENGINES_DRIVER_H
#define SW_ENGINES_DRIVER_H

#include "engines/kind.h"

/* Borrowed static entry for uri's scheme ("qemu+ssh://h/system" -> qemu), or
 * NULL with SW_EUNSUPPORTED for an unknown scheme or a refused one (openvz,
 * with the reason in the message). */
const struct sw_hypervisor *sw_hypervisor_from_uri(const char *uri, struct sw_err *err);

/* Runs the kind's define (see kind.h): the domain exists afterwards, in
 * whatever state it had (stopped when it was just defined). Same checks and
 * outcome as sw_engine_run(). */
int sw_engine_define(struct sw_engine *eng, const struct sw_msg_node_job *job,
                     struct sw_engine_outcome *out, struct sw_err *err);

/* Borrowed static table of a kind, or NULL for an unknown kind. */
const struct sw_engine_driver *sw_engine_driver_get(int kind);

/* Runs job->type on job->kind's driver. Returns 0, or -1 with err set
 * (SW_EUNSUPPORTED for a NULL method or a kind the node does not host).
 * out->domain_state is always filled (SW_DOMAIN_ABSENT without a domain). */
int sw_engine_run(struct sw_engine *eng, const struct sw_msg_node_job *job,
                  struct sw_engine_outcome *out, struct sw_err *err);

#endif
