#include "config.h"
#include "engines/ledger.h"

void sw_ledger_job_demand(const struct sw_msg_node_job *job, struct sw_amounts *out)
{
    out->v[SW_RC_VCPU] = job->vcpus;
    out->v[SW_RC_MEM_GUAR] = job->ram_mb;
    out->v[SW_RC_MEM_MAX] = job->max_ram_mb;
    out->v[SW_RC_DISK] = job->disk_gb;
}

bool sw_ledger_fits(const struct sw_node_inv *inv, const struct sw_amounts *others,
                    const struct sw_msg_node_job *job, int *short_class)
{
    struct sw_amounts want;
    sw_ledger_job_demand(job, &want);
    return sw_node_fits(inv, others, &want, short_class);
}
