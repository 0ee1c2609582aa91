/* limits.h - a plan's limits on a running domain (issue 13): a resize's
 * new limits are in the domain's persistent config (its new definition);
 * this applies them to the running guest where the hypervisor allows it
 * (virDomainSetBlockIoTune, virDomainSetInterfaceParameters,
 * virDomainSetSchedulerParametersFlags). engines/README.md "Plan limits".
 */
#ifndef SW_ENGINES_LIMITS_H
#define SW_ENGINES_LIMITS_H

#include <libvirt/libvirt.h>
#include <stddef.h>

#include "core/msg.h"

/* Applies job->limits to the running dom, group by group (disk I/O,
 * network, CPU cap). A group counts only where the domain has it: in its
 * new persistent config (the template gives it, the plan limits it) or in
 * its live definition (a limit being lifted). Writes what happened into
 * note[n] for the job's note: "" when no group applies, else "limits
 * applied live", "limits apply at next boot", or which groups did which.
 * Never fails: what cannot change live applies at the next boot. */
void sw_limits_apply_live(virDomainPtr dom, const struct sw_msg_node_job *job, char *note,
                          size_t n);

#endif
