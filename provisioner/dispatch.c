#include "config.h"

#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"
#include "core/redis.h"
#include "core/resource.h"
#include "core/seal.h"
#include "provisioner/backups.h"
#include "provisioner/dispatch.h"
#include "provisioner/jobdb.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Seals the job's secrets to its node's public key: the message carries
 * only what that node's secret key opens. */
static int seal_secrets(const struct sw_job_row *row, struct sw_msg_node_job *out,
                        struct sw_err *err)
{
    if (!row->password_hash[0])
        return 0;
    if (!row->node_public_key[0]) {
        SW_ERR(err, SW_EINVALID, "%s", SW_DISPATCH_NO_KEY);
        return -1;
    }
    return sw_seal(row->node_public_key, row->password_hash, out->password_hash_sealed, err);
}

/* ---- guest configuration and plan limits (issue 13) ---- */

/* The guest's network, keys and limits: every job carries them (a
 * re-define holds the guest to what it has now); a resize the new plan's
 * limits. The root password hash goes only with the jobs that set it. */
static int guest_config(const struct sw_job_row *row, struct sw_msg_node_job *out,
                        struct sw_err *err)
{
    out->ipv4_prefix = row->ipv4[0] ? row->ipv4_prefix : 0;
    memcpy(out->ipv4_gateway, row->ipv4_gateway, sizeof out->ipv4_gateway);
    memcpy(out->ipv6_gateway, row->ipv6_gateway, sizeof out->ipv6_gateway);
    out->dns_n = row->dns_n;
    memcpy(out->dns, row->dns, sizeof out->dns);
    memcpy(out->ssh_keys, row->ssh_keys, sizeof out->ssh_keys);
    out->ssh_keys_n = 0;
    for (const char *p = out->ssh_keys; *p; p += strcspn(p, "\n"), p += *p == '\n')
        out->ssh_keys_n++;
    bool resize = row->type == SW_JOB_RESIZE && row->has_target;
    out->limits = resize ? row->target_limits : row->limits;
    bool sets_password = row->type == SW_JOB_CREATE || row->type == SW_JOB_REINSTALL ||
                         row->type == SW_JOB_RESET_PASSWORD;
    return sets_password ? seal_secrets(row, out, err) : 0;
}

int sw_dispatch_build(const struct sw_job_row *row, const char *node_id,
                      struct sw_msg_node_job *out, struct sw_err *err)
{
    /* A resize sends the new plan's sizes (its difference is claimed). */
    const struct sw_plan_size *plan =
        row->type == SW_JOB_RESIZE && row->has_target ? &row->target : &row->plan;
    struct sw_amounts want;
    sw_plan_demand(plan, &want);
    memset(out, 0, sizeof *out);
    memcpy(out->job_id, row->job_id, sizeof out->job_id);
    memcpy(out->server_id, row->server_id, sizeof out->server_id);
    snprintf(out->node_id, sizeof out->node_id, "%s", node_id);
    out->type = row->type;
    out->kind = row->plan.kind;
    out->vcpus = want.v[SW_RC_VCPU];
    out->ram_mb = want.v[SW_RC_MEM_GUAR];
    out->max_ram_mb = want.v[SW_RC_MEM_MAX];
    out->swap_mb = plan->swap_mb;
    out->disk_gb = want.v[SW_RC_DISK];
    memcpy(out->hostname, row->hostname, sizeof out->hostname);
    memcpy(out->os, row->os, sizeof out->os);
    /* Every job carries the current IPAM record: a re-define (reinstall,
     * resize, a restore) holds the guest to the addresses it has now. */
    memcpy(out->ipv4, row->ipv4, sizeof out->ipv4);
    memcpy(out->ipv6, row->ipv6, sizeof out->ipv6);
    /* The template's images, fetched by the node by sha256: its disk
     * (create, reinstall) and a pv template's kernel and initrd (every
     * job: a redefinition boots them). */
    memcpy(out->image_sha256, row->image_sha256, sizeof out->image_sha256);
    memcpy(out->image_format, row->image_format, sizeof out->image_format);
    out->image_bytes = row->image_bytes;
    memcpy(out->kernel_sha256, row->kernel_sha256, sizeof out->kernel_sha256);
    out->kernel_bytes = row->kernel_bytes;
    memcpy(out->initrd_sha256, row->initrd_sha256, sizeof out->initrd_sha256);
    out->initrd_bytes = row->initrd_bytes;
    /* The mounted ISO and boot order (every job: a redefinition keeps them). */
    memcpy(out->iso_sha256, row->iso_sha256, sizeof out->iso_sha256);
    out->iso_bytes = row->iso_bytes;
    memcpy(out->boot, row->boot, sizeof out->boot);
    /* A snapshot job's snapshot. */
    memcpy(out->snapshot_id, row->snapshot_id, sizeof out->snapshot_id);
    out->snapshot_memory = row->snapshot_memory;
    /* A backup or restore: its backup, the keys sealed to the node. */
    if (sw_backups_seal(row, &out->backup, err) < 0)
        return -1;
    out->migrate = row->migrate; /* a migrate job's move (migrate.h) */
    /* A recovery of a stopped or suspended server defines it without
     * starting it (a suspended one stays so: jobstate.c). */
    out->recover_stopped = row->type == SW_JOB_RECOVER &&
                           (row->srv_state == SW_SRV_STOPPED || row->srv_state == SW_SRV_SUSPENDED);
    return guest_config(row, out, err);
}

/* A fresh nonce for m, recorded as sent to node_id for m's job; in the
 * same statement, the server's placement epoch as it is now (after any
 * claim that moved it), which the node job carries. */
static int record_nonce(struct sw_db *db, struct sw_msg_node_job *m, const char *node_id,
                        struct sw_err *err)
{
    unsigned char raw[SW_NONCE_LEN / 2];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(m->nonce, sizeof m->nonce, raw, sizeof raw);
    PGresult *res = sw_db_exec(db, err,
                               "WITH d AS (INSERT INTO job_dispatches (nonce, job_id, node_id)"
                               " VALUES ($1, $2, $3))"
                               " SELECT epoch FROM servers WHERE id = $4",
                               SW_PARAMS(m->nonce, m->job_id, node_id, m->server_id));
    if (!res)
        return -1;
    m->epoch = PQntuples(res) == 1 ? sw_db_get_i64(res, 0, 0) : 0;
    PQclear(res);
    return 0;
}

int sw_dispatch_send(struct sw_db *db, struct sw_redis *r, const struct sw_job_row *row,
                     const char *node_id, struct sw_err *err)
{
    struct sw_msg_node_job m;
    char stream[64];
    if (sw_dispatch_build(row, node_id, &m, err) < 0 || record_nonce(db, &m, node_id, err) < 0)
        return -1;
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

int sw_dispatch_blocked(struct sw_db *db, const char *job_id, struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT EXISTS (SELECT 1 FROM jobs e, jobs j WHERE j.id = $1"
                               "  AND e.server_id = j.server_id AND e.id <> j.id"
                               "  AND e.state IN ('queued', 'running')"
                               "  AND (e.created_at, e.id) < (j.created_at, j.id))",
                               SW_PARAMS(job_id));
    if (!res)
        return -1;
    const char *v = sw_db_get(res, 0, 0);
    int blocked = v && strcmp(v, "t") == 0;
    PQclear(res);
    return blocked;
}

int sw_dispatch_kick_next(struct sw_db *db, struct sw_redis *r, const char *server_id,
                          struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT id, type FROM jobs WHERE server_id = $1"
                               " AND state = 'queued' ORDER BY created_at, id LIMIT 1",
                               SW_PARAMS(server_id));
    if (!res)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return 0;
    }
    struct sw_msg_job m;
    memset(&m, 0, sizeof m);
    snprintf(m.job_id, sizeof m.job_id, "%s", sw_db_get(res, 0, 0));
    snprintf(m.server_id, sizeof m.server_id, "%s", server_id);
    m.type = sw_job_type_parse(sw_db_get(res, 0, 1));
    PQclear(res);
    if (m.type < 0) {
        SW_ERR(err, SW_EINTERNAL, "job %s has an unknown type", m.job_id);
        return -1;
    }
    char *payload = sw_msg_job_encode(&m);
    char *id = sw_stream_add(r, SW_STREAM_JOBS, payload, err);
    free(payload);
    if (!id)
        return -1;
    sw_debug("job.kicked", "job=%s server=%s entry=%s", m.job_id, server_id, id);
    free(id);
    return 0;
}
