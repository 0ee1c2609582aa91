#include "config.h"

#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"
#include "core/redis.h"
#include "core/resource.h"
#include "provisioner/dispatch.h"
#include "provisioner/jobdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sw_dispatch_build(const struct sw_job_row *row, const char *node_id,
                       struct sw_msg_node_job *out)
{
    struct sw_amounts want;
    sw_plan_demand(&row->plan, &want);
    memset(out, 0, sizeof *out);
    memcpy(out->job_id, row->job_id, sizeof out->job_id);
    memcpy(out->server_id, row->server_id, sizeof out->server_id);
    snprintf(out->node_id, sizeof out->node_id, "%s", node_id);
    out->type = row->type;
    out->kind = row->plan.kind;
    out->vcpus = want.v[SW_RC_VCPU];
    out->ram_mb = want.v[SW_RC_MEM_GUAR];
    out->max_ram_mb = want.v[SW_RC_MEM_MAX];
    out->swap_mb = row->plan.swap_mb;
    out->disk_gb = want.v[SW_RC_DISK];
    memcpy(out->hostname, row->hostname, sizeof out->hostname);
    memcpy(out->os, row->os, sizeof out->os);
}

int sw_dispatch_send(struct sw_redis *r, const struct sw_job_row *row, const char *node_id,
                     struct sw_err *err)
{
    struct sw_msg_node_job m;
    char stream[64];
    sw_dispatch_build(row, node_id, &m);
    char *payload = sw_msg_node_job_encode(&m);
    char *id = sw_stream_add(r, sw_msg_node_stream(node_id, stream), payload, err);
    free(payload);
    if (!id)
        return -1;
    sw_info("job.dispatched", "job=%s server=%s type=%s node=%s entry=%s", row->job_id,
            row->server_id, sw_job_type_name(row->type), node_id, id);
    free(id);
    return 0;
}
