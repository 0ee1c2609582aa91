/* dispatch.h - sending a job to a node's engine: the node job message and
 * the XADD to "node:<id>". Dispatching the same job twice is harmless: the
 * engine's operations are idempotent on the server id.
 */
#ifndef SW_DISPATCH_H
#define SW_DISPATCH_H

#include "core/msg.h"

struct sw_err;
struct sw_job_row;
struct sw_redis;

/* Fills out for row on node_id: sizes from sw_plan_demand() (ram_mb is the
 * guarantee, max_ram_mb the burst ceiling), os from the template. Pure. */
void sw_dispatch_build(const struct sw_job_row *row, const char *node_id,
                       struct sw_msg_node_job *out);

/* Builds and XADDs the node job to "node:<node_id>". */
int sw_dispatch_send(struct sw_redis *r, const struct sw_job_row *row, const char *node_id,
                     struct sw_err *err);

#endif
