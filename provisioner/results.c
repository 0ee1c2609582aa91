/* results.c - the consumer of stream "results": an engine's answer to a
 * node job finishes the job (or dispatches it again when the failure is
 * retryable and attempts remain) and applies its effect on the server, the
 * order and the allocation, in one transaction. A result for a job that is
 * already finished changes nothing, so a replayed result is harmless.
 */
#include "config.h"

#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"
#include "core/msg.h"
#include "provisioner/dispatch.h"
#include "provisioner/jobdb.h"
#include "provisioner/jobstate.h"
#include "provisioner/prov.h"

#include <sodium.h>
#include <string.h>
#include <strings.h>

enum result_outcome { RES_IGNORED, RES_FINISHED, RES_RETRY_LATER, RES_DEAD, RES_MOVED };

struct result_ctx {
    const struct sw_msg_result *m;
    struct sw_job_row row; /* as locked */
    int outcome;           /* enum result_outcome */
    long delay_ms;         /* RES_RETRY_LATER: when */
    bool poison;
};

static int result_tx(struct sw_db *db, void *arg, struct sw_err *err)
{
    struct result_ctx *c = arg;
    const struct sw_msg_result *m = c->m;
    struct sw_job_row *row = &c->row;
    c->outcome = RES_IGNORED;
    c->poison = false;
    int found = sw_jobdb_load(db, m->job_id, true, row, err);
    if (found < 0)
        return -1;
    if (found == 0) {
        c->poison = true;
        SW_ERR(err, SW_ENOTFOUND, "result for job %s, which does not exist", m->job_id);
        return 0;
    }
    if (strcasecmp(row->server_id, m->server_id) != 0 || row->type != m->type) {
        c->poison = true;
        SW_ERR(err, SW_EINVALID, "result does not match job %s (server or type)", m->job_id);
        return 0;
    }
    if (sw_jobstate_terminal(row->state))
        return 0; /* already applied */
    if (!row->job_node_id[0] || strcasecmp(row->job_node_id, m->node_id) != 0) {
        c->poison = true;
        SW_ERR(err, SW_EINVALID, "result for job %s from node %s, which it was not sent to",
               m->job_id, m->node_id);
        return 0;
    }
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
    return sw_jobdb_finish(db, row, m->ok, m->error_code, m->error, m->domain_state, err);
}

enum sw_msg_outcome sw_results_handle(void *ctx, const struct sw_stream_entry *e,
                                      struct sw_err *err)
{
    struct sw_prov_thread *t = ctx;
    struct sw_msg_result m;
    if (sw_msg_result_decode(e->payload, &m, err) < 0)
        return SW_MSG_POISON;
    struct result_ctx c = {.m = &m};
    if (sw_db_tx(t->db, result_tx, &c, err) < 0)
        return sw_prov_disposition(t, err);
    if (c.poison)
        return SW_MSG_POISON;
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

void *sw_results_main(void *arg)
{
    struct sw_prov_thread *t = arg;
    struct sw_consumer c = {
        .stream = SW_STREAM_RESULTS,
        .group = SW_GROUP_PROVISIONERS,
        .consumer = t->conf->consumer,
        .min_idle_ms = t->conf->claim_idle_ms,
        .handle = sw_results_handle,
        .ctx = t,
    };
    sw_prov_run_consumer(t, &c);
    return NULL;
}
