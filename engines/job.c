#include "config.h"
#include "engines/job.h"
#include "engines/backup.h"
#include "engines/driver.h"
#include "engines/usage.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"
#include "core/redis.h"
#include "core/seal.h"

#include <sodium.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Seeds the usage table with the counters of a domain the job just booted. */
static void seed_usage(struct sw_engine *eng, struct sw_usage *usage, const char *server_id)
{
    virDomainPtr dom = virDomainLookupByUUIDString(eng->conn, server_id);
    if (!dom)
        return; /* gone again: the sampler will not see it either */
    struct sw_usage_reading r;
    if (sw_usage_read_domain(dom, &r, NULL) == 0)
        sw_usage_booted(usage, &r, (int64_t)time(NULL));
    virDomainFree(dom);
}

/* Opens the job's sealed secrets with the node's secret key into their
 * plain fields. -1 with err (invalid, not retryable, never the value) when
 * the node has no key, or the value was sealed to another key or altered. */
static int open_secrets(const struct sw_engine *eng, struct sw_msg_node_job *job,
                        struct sw_err *err)
{
    if (!job->password_hash_sealed[0])
        return 0;
    if (!eng->secret_key) {
        SW_ERR(err, SW_EINVALID,
               "could not open the job's sealed password: this node's engine has no "
               "SLIPWAY_NODE_SECRET_KEY");
        return -1;
    }
    if (sw_seal_open(eng->secret_key, job->password_hash_sealed, job->password_hash,
                     sizeof job->password_hash, err) < 0) {
        sw_err_detail(err, "rekey the node or give its engine the key from its enrolment");
        return -1;
    }
    return 0;
}

/* Opens the job's secrets and runs it; the opened secrets are wiped. */
static int run_job(struct sw_engine *eng, struct sw_msg_node_job *job,
                   struct sw_engine_outcome *out, struct sw_err *err)
{
    memset(out, 0, sizeof *out);
    /* never for a server that moved on (epoch.h); a migration is the move */
    int rc = job->type != SW_JOB_MIGRATE && eng->placed ? eng->placed(eng->placed_ctx, job, err)
                                                        : 0;
    if (rc == 0)
        rc = open_secrets(eng, job, err);
    if (rc == 0)
        rc = sw_engine_backup_open(eng, job, err);
    if (rc == 0)
        rc = sw_engine_run(eng, job, out, err);
    sodium_memzero(job->password_hash, sizeof job->password_hash);
    sw_engine_backup_wipe(job);
    return rc;
}

int sw_engine_job_handle(struct sw_engine *eng, struct sw_usage *usage, const char *payload,
                         struct sw_msg_result *res, struct sw_err *err)
{
    struct sw_msg_node_job job;
    memset(&job, 0, sizeof job);
    if (sw_msg_node_job_decode(payload, &job, err) < 0)
        return -1;
    if (strcasecmp(job.node_id, eng->node_id) != 0) {
        SW_ERR(err, SW_EINVALID, "the job is addressed to another node");
        sw_err_detail(err, "job %s for node %s reached node %s", job.job_id, job.node_id,
                      eng->node_id);
        return -1;
    }

    long long t0 = sw_now_ms();
    struct sw_engine_outcome out;
    struct sw_err operr;
    sw_err_clear(&operr);
    int rc = run_job(eng, &job, &out, &operr);
    long long ms = sw_now_ms() - t0;

    memset(res, 0, sizeof *res);
    memcpy(res->job_id, job.job_id, sizeof res->job_id);
    memcpy(res->server_id, job.server_id, sizeof res->server_id);
    memcpy(res->node_id, job.node_id, sizeof res->node_id);
    memcpy(res->nonce, job.nonce, sizeof res->nonce); /* the provisioner matches it */
    res->type = job.type;
    res->ok = rc == 0;
    snprintf(res->domain_state, sizeof res->domain_state, "%s", out.domain_state);
    snprintf(res->note, sizeof res->note, "%s", out.note);
    res->has_disks = out.ndisks > 0;
    res->ndisks = out.ndisks;
    memcpy(res->disks, out.disks, sizeof res->disks);
    res->snapshot_bytes = out.snapshot_bytes;
    res->backup = out.backup;
    res->migrate = out.migrate;

    const char *type = sw_job_type_name(job.type);
    const char *kind = sw_plan_kind_name(job.kind);
    if (rc == 0) {
        if (out.booted && usage && eng->conn)
            seed_usage(eng, usage, job.server_id);
        char nq[200];
        sw_info("job.done", "job=%s server=%s type=%s kind=%s state=%s ms=%lld note=%s",
                job.job_id, job.server_id, type, kind, res->domain_state, ms,
                sw_log_quote(nq, sizeof nq, res->note));
        return 0;
    }
    res->retryable = operr.retryable;
    snprintf(res->error_code, sizeof res->error_code, "%s", sw_errc_name(operr.code));
    snprintf(res->error, sizeof res->error, "%s", operr.msg);
    char m[600], d[1100];
    const char *file = operr.file ? strrchr(operr.file, '/') : NULL;
    sw_warn("job.failed",
            "job=%s server=%s type=%s kind=%s state=%s ms=%lld code=%s retryable=%d msg=%s "
            "detail=%s at=%s:%d",
            job.job_id, job.server_id, type, kind, res->domain_state[0] ? res->domain_state : "-",
            ms, res->error_code, operr.retryable ? 1 : 0, sw_log_quote(m, sizeof m, operr.msg),
            sw_log_quote(d, sizeof d, operr.detail),
            file ? file + 1 : (operr.file ? operr.file : "?"), operr.line);
    return 0;
}
