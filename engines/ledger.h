/* ledger.h - the engine's own check of its node's ledger before it defines
 * anything (create of an absent domain, reinstall, a resize that grows).
 *
 * The provisioner claims capacity in PostgreSQL before it dispatches; the
 * engine still refuses work that would break a guarantee, whatever was
 * claimed (a claim raced by an operator lowering the node's size, a hand
 * written stream entry, a bug): the node's other allocations plus this
 * job's sizes must fit its capacity in every class (core/resource.h). Pure.
 */
#ifndef SW_ENGINES_LEDGER_H
#define SW_ENGINES_LEDGER_H

#include <stdbool.h>

#include "core/msg.h"
#include "core/resource.h"

/* What job takes from its node, per class: the node job's sizes are the
 * plan's demand already (vcpus, guarantee, ceiling, disk). */
void sw_ledger_job_demand(const struct sw_msg_node_job *job, struct sw_amounts *out);

/* True when others (every allocation of the node but job's server) plus
 * job's demand fit inv's capacity; else *short_class names the first class
 * that does not. */
bool sw_ledger_fits(const struct sw_node_inv *inv, const struct sw_amounts *others,
                    const struct sw_msg_node_job *job, int *short_class);

#endif
