/* results.c - the consumer of every node's stream "results:<id>": an
 * engine's answer to a node job finishes the job (or dispatches it again
 * when the failure is retryable and attempts remain) and applies its effect
 * on the server, the order and the allocation, in one transaction.
 *
 * The one place a result's origin is checked (check_origin): the stream
 * names the sender; the result must name the same node, echo the nonce of
 * a dispatch of that job to that node not answered yet, and the job must
 * still wait for that node. Anything else is refused: recorded in
 * rejected_messages with its reason (core/nodemsg.h), in the same
 * transaction, and dead-lettered. The same entry delivered again (the
 * provisioner crashed after the commit, before the XACK) is recognised by
 * its entry id and changes nothing.
 */
#include "config.h"

#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/nodemsg.h"
#include "provisioner/dispatch.h"
#include "provisioner/backups.h"
#include "provisioner/jobdb.h"
#include "provisioner/jobstate.h"
#include "provisioner/migrate.h"
#include "provisioner/progress.h"
#include "provisioner/prov.h"

#include <sodium.h>
#include <string.h>
#include <strings.h>

enum result_outcome { RES_IGNORED, RES_FINISHED, RES_RETRY_LATER, RES_DEAD, RES_MOVED, RES_ADVANCED };

struct result_ctx {
    const struct sw_msg_result *m;
    const struct sw_stream_entry *e;
    const char *node_id; /* the sender: the stream's node */
    const char *reject;  /* refused: the reason (core/nodemsg.h) */
    struct sw_job_row row; /* as locked */
    int outcome;           /* enum result_outcome */
    long delay_ms;         /* RES_RETRY_LATER: when */
    bool poison;
};

/* Refuses the result for reason: recorded, and dead-lettered by the caller. */
static int refuse(struct sw_db *db, struct result_ctx *c, const char *reason, struct sw_err *err)
{
    c->reject = reason;
    return sw_nodemsg_reject(db, c->e->stream, c->e->id, c->node_id, reason, err);
}

/* Locks the dispatch the result's nonce names: 1 when it is this job's, to
 * this node; *answered_by its answer's entry id ("" when none yet). */
static int load_dispatch(struct sw_db *db, const struct result_ctx *c, char answered_by[64],
                         struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT coalesce(answer_entry, '') FROM job_dispatches"
                               " WHERE nonce = $1 AND job_id = $2 AND node_id = $3 FOR UPDATE",
                               SW_PARAMS(c->m->nonce, c->m->job_id, c->node_id));
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found)
        snprintf(answered_by, 64, "%s", sw_db_get(res, 0, 0));
    PQclear(res);
    return found;
}

/* The disks a result claims (storage): each must be the server's by name
 * ("sw-<server_id>-", lower case, as the engine names them) and lie in a
 * pool of the sending node, or of a migrate job's TARGET (where they are
 * once it moved). 1 when every one is, 0 when not. */
static int disks_belong(struct sw_db *db, const struct result_ctx *c, struct sw_err *err)
{
    const char *node = c->row.type == SW_JOB_MIGRATE ? c->row.migrate.to_node_id : c->node_id;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "sw-%s-", c->row.server_id);
    for (char *p = prefix; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    for (int i = 0; i < c->m->ndisks; i++) {
        const struct sw_msg_disk *d = &c->m->disks[i];
        if (strncmp(d->volume, prefix, strlen(prefix)) != 0 || strchr(d->volume, '/'))
            return 0;
        PGresult *res = sw_db_exec(db, err,
                                   "SELECT 1 FROM node_pools WHERE node_id = $1 AND name = $2",
                                   SW_PARAMS(node, d->pool));
        if (!res)
            return -1;
        int found = PQntuples(res) == 1;
        PQclear(res);
        if (!found)
            return 0;
    }
    return 1;
}

/* Records the server's disks after its job succeeded: the result's list
 * replaces the recorded one (create, reinstall, resize); a terminated
 * server has none. */
static int record_disks(struct sw_db *db, const struct result_ctx *c, struct sw_err *err)
{
    const struct sw_msg_result *m = c->m;
    bool gone = c->row.type == SW_JOB_TERMINATE;
    if (!gone && !m->has_disks)
        return 0;
    if (sw_db_run(db, err, "DELETE FROM server_disks WHERE server_id = $1",
                  SW_PARAMS(c->row.server_id)) < 0)
        return -1;
    for (int i = 0; !gone && i < m->ndisks; i++) {
        const struct sw_msg_disk *d = &m->disks[i];
        char cap[24];
        snprintf(cap, sizeof cap, "%lld", (long long)d->capacity);
        if (sw_db_run(db, err,
                      "INSERT INTO server_disks (server_id, role, pool, volume, format,"
                      " capacity_bytes) VALUES ($1, $2, $3, $4, $5, $6)"
                      " ON CONFLICT (server_id, volume) DO NOTHING",
                      SW_PARAMS(c->row.server_id, d->role, d->pool, d->volume, d->format,
                                cap)) < 0)
            return -1;
    }
    return 0;
}

/* The origin check: 1 when the result may be applied, 0 when it is refused
 * (c->reject) or is this entry delivered again (c->reject NULL). */
static int check_origin(struct sw_db *db, struct result_ctx *c, struct sw_err *err)
{
    const struct sw_msg_result *m = c->m;
    struct sw_job_row *row = &c->row;
    if (strcasecmp(m->node_id, c->node_id) != 0)
        return refuse(db, c, SW_REJECT_FORGED_NODE, err);
    int found = sw_jobdb_load(db, m->job_id, true, row, err);
    if (found <= 0)
        return found < 0 ? -1 : refuse(db, c, SW_REJECT_UNKNOWN_JOB, err);
    char answered_by[64] = "";
    found = m->nonce[0] && strcasecmp(row->server_id, m->server_id) == 0 && row->type == m->type
                ? load_dispatch(db, c, answered_by, err)
                : 0;
    if (found <= 0)
        return found < 0 ? -1 : refuse(db, c, SW_REJECT_NOT_DISPATCHED, err);
    if (answered_by[0])
        return strcmp(answered_by, c->e->id) == 0 ? 0 : refuse(db, c, SW_REJECT_REPLAY, err);
    if (sw_jobstate_terminal(row->state) || strcasecmp(row->job_node_id, c->node_id) != 0)
        return refuse(db, c, SW_REJECT_NOT_WAITING, err);
    found = m->has_disks ? disks_belong(db, c, err) : 1;
    if (found <= 0)
        return found < 0 ? -1 : refuse(db, c, SW_REJECT_FOREIGN_DISK, err);
    if (sw_db_run(db, err,
                  "UPDATE job_dispatches SET answered_at = now(), answer_entry = $2"
                  " WHERE nonce = $1",
                  SW_PARAMS(m->nonce, c->e->id)) < 0)
        return -1;
    return 1;
}

static int result_tx(struct sw_db *db, void *arg, struct sw_err *err)
{
    struct result_ctx *c = arg;
    const struct sw_msg_result *m = c->m;
    struct sw_job_row *row = &c->row;
    c->outcome = RES_IGNORED;
    c->reject = NULL;
    int ok = check_origin(db, c, err);
    if (ok <= 0)
        return ok;
    /* What the engine said beyond the outcome ("vcpus apply at next boot"). */
    if (m->note[0] && sw_db_run(db, err, "UPDATE jobs SET note = $2 WHERE id = $1",
                                SW_PARAMS(row->job_id, m->note)) < 0)
        return -1;
    if (!m->ok && sw_jobstate_should_retry(m->retryable, row->attempts)) {
        c->outcome = RES_RETRY_LATER;
        c->delay_ms = sw_jobstate_backoff_ms(row->attempts, randombytes_random());
        return sw_jobdb_note_retry(db, row, m->error_code, m->error, c->delay_ms, err);
    }
    if (!m->ok && m->retryable) {
        c->outcome = RES_DEAD; /* retryable, but out of attempts */
        return sw_jobdb_finish_as(db, row, SW_JOBST_DEAD, m->error_code, m->error, m->domain_state,
                                  err);
    }
    if (row->type == SW_JOB_MIGRATE) { /* a cold move's second half (migrate.h) */
        int advanced = sw_mig_result(db, row, m, err);
        if (advanced != 0) {
            c->outcome = RES_ADVANCED;
            return advanced < 0 ? -1 : 0;
        }
    }
    if (!m->ok && row->type == SW_JOB_CREATE && row->srv_state == SW_SRV_PROVISIONING) {
        int moved = sw_jobdb_move_to_alternate(db, row, m->error_code, m->error, err);
        if (moved < 0)
            return -1;
        if (moved) {
            c->outcome = RES_MOVED;
            return 0;
        }
    }
    c->outcome = RES_FINISHED;
    if (m->ok && (record_disks(db, c, err) < 0 || sw_backups_record(db, row, m, err) < 0))
        return -1;
    /* A snapshot's size as its engine measured it (billed, migration 0025). */
    if (m->ok && row->type == SW_JOB_SNAPSHOT_CREATE && m->snapshot_bytes >= 0) {
        char bytes[24];
        snprintf(bytes, sizeof bytes, "%lld", (long long)m->snapshot_bytes);
        if (sw_db_run(db, err,
                      "UPDATE snapshots SET size_bytes = $2 WHERE id::text = $1"
                      " AND server_id = $3",
                      SW_PARAMS(row->snapshot_id, bytes, row->server_id)) < 0)
            return -1;
    }
    return sw_jobdb_finish(db, row, m->ok, m->error_code, m->error, m->domain_state, err);
}

enum sw_msg_outcome sw_results_handle(void *ctx, const struct sw_stream_entry *e,
                                      struct sw_err *err)
{
    struct sw_prov_thread *t = ctx;
    struct sw_msg_result m;
    char node[SW_UUID_LEN + 1];
    struct result_ctx c = {.m = &m, .e = e, .node_id = node};
    if (sw_msg_stream_node(e->stream, SW_STREAM_RESULTS_PREFIX, node) < 0) {
        SW_ERR(err, SW_EINVALID, "result on stream %s, which is no node's", e->stream);
        return SW_MSG_POISON;
    }
    enum sw_msg_outcome progress; /* a running job's progress (progress.h), not a result */
    if (sw_progress_handle(t, e, node, &progress, err))
        return progress;
    if (sw_msg_result_decode(e->payload, &m, err) < 0) {
        struct sw_err rerr;
        sw_err_clear(&rerr);
        if (sw_nodemsg_reject(t->db, e->stream, e->id, node, SW_REJECT_MALFORMED, &rerr) < 0)
            return sw_prov_disposition(t, &rerr);
        return SW_MSG_POISON;
    }
    if (sw_db_tx(t->db, result_tx, &c, err) < 0)
        return sw_prov_disposition(t, err);
    if (c.reject) {
        SW_ERR(err, SW_EINVALID, "%s", c.reject);
        return SW_MSG_POISON;
    }
    char q[300];
    switch (c.outcome) {
    case RES_RETRY_LATER:
        /* the sweeper dispatches it again at retry_at */
        sw_warn("job.retrying",
                "job=%s server=%s type=%s node=%s attempt=%d delay_ms=%ld"
                " code=%s error=%s",
                c.row.job_id, c.row.server_id, sw_job_type_name(c.row.type), c.row.job_node_id,
                c.row.attempts + 1, c.delay_ms, m.error_code[0] ? m.error_code : "internal",
                sw_log_quote(q, sizeof q, m.error));
        return SW_MSG_DONE;
    case RES_ADVANCED:
        if (sw_mig_dispatch_target(t->db, t->redis, c.row.job_id, err) < 0)
            return sw_prov_disposition(t, err);
        return SW_MSG_DONE;
    default:
        break;
    }
    /* The job is finished (now or before): the server's next job may go. */
    if (sw_dispatch_kick_next(t->db, t->redis, c.row.server_id, err) < 0)
        return sw_prov_disposition(t, err);
    switch (c.outcome) {
    case RES_IGNORED:
        sw_debug("result.skipped", "job=%s state=%s", c.row.job_id, sw_job_state_name(c.row.state));
        return SW_MSG_DONE;
    case RES_MOVED:
        sw_warn("job.moved",
                "job=%s server=%s failed_node=%s code=%s error=%s"
                " why=\"the build failed; claiming the next alternate\"",
                c.row.job_id, c.row.server_id, m.node_id,
                m.error_code[0] ? m.error_code : "internal", sw_log_quote(q, sizeof q, m.error));
        return SW_MSG_DONE;
    case RES_DEAD:
        sw_warn("job.dead", "job=%s server=%s type=%s node=%s attempts=%d code=%s error=%s",
                c.row.job_id, c.row.server_id, sw_job_type_name(c.row.type), m.node_id,
                c.row.attempts, m.error_code[0] ? m.error_code : "internal",
                sw_log_quote(q, sizeof q, m.error));
        return SW_MSG_DONE;
    default:
        if (m.ok)
            sw_info("job.succeeded", "job=%s server=%s type=%s node=%s domain_state=%s",
                    c.row.job_id, c.row.server_id, sw_job_type_name(c.row.type), m.node_id,
                    m.domain_state[0] ? m.domain_state : "-");
        else
            sw_info("job.failed", "job=%s server=%s type=%s node=%s code=%s error=%s", c.row.job_id,
                    c.row.server_id, sw_job_type_name(c.row.type), m.node_id,
                    m.error_code[0] ? m.error_code : "internal",
                    sw_log_quote(q, sizeof q, m.error));
        return SW_MSG_DONE;
    }
}

/* Every node's results stream, listed from PostgreSQL. */
static int list_streams(void *ctx, char ***out, size_t *n, struct sw_err *err)
{
    struct sw_prov_thread *t = ctx;
    return sw_nodemsg_streams(t->db, SW_STREAM_RESULTS_PREFIX, out, n, err);
}

void *sw_results_main(void *arg)
{
    struct sw_prov_thread *t = arg;
    struct sw_consumer c = {
        .list_streams = list_streams,
        .group = SW_GROUP_PROVISIONERS,
        .consumer = t->conf->consumer,
        .min_idle_ms = t->conf->claim_idle_ms,
        .handle = sw_results_handle,
        .ctx = t,
    };
    sw_prov_run_consumer(t, &c);
    return NULL;
}
