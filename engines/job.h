/* job.h - one node job: decode it, run it through the driver table, and
 * describe the outcome as a struct sw_msg_result. No Redis here: the
 * daemon's consumer publishes the result (engine.c) and only then
 * acknowledges the stream entry.
 */
#ifndef SW_ENGINES_JOB_H
#define SW_ENGINES_JOB_H

#include "core/msg.h"

struct sw_engine;
struct sw_err;
struct sw_usage;

/* Decodes payload (may be NULL) as a node job for eng->node_id and runs it.
 * Returns 0 with res filled, ok or not (a failed operation is logged here,
 * once); or -1 with err set when the payload is poison: undecodable, or
 * addressed to another node. usage (may be NULL) is told about domains the
 * job booted, so their first usage period starts at the boot. */
int sw_engine_job_handle(struct sw_engine *eng, struct sw_usage *usage, const char *payload,
                         struct sw_msg_result *res, struct sw_err *err);

#endif
