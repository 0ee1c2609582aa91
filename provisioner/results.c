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

#include <string.h>
#include <strings.h>

enum result_outcome { RES_IGNORED, RES_FINISHED, RES_REDISPATCH };

struct result_ctx {
    const struct sw_msg_result *m;
    struct sw_job_row row; /* as locked */
    int outcome;           /* enum result_outcome */
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
    if (!m->ok && sw_jobstate_should_retry(m->retryable, row->attempts)) {
        c->outcome = RES_REDISPATCH;
        return sw_jobdb_note_retry(db, row, m->error_code, m->error, err);
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
    case RES_IGNORED:
        sw_debug("result.skipped", "job=%s state=%s", c.row.job_id, sw_job_state_name(c.row.state));
        return SW_MSG_DONE;
    case RES_REDISPATCH:
        sw_warn("job.retrying", "job=%s server=%s type=%s node=%s attempt=%d code=%s error=%s",
                c.row.job_id, c.row.server_id, sw_job_type_name(c.row.type), c.row.job_node_id,
                c.row.attempts + 1, m.error_code[0] ? m.error_code : "internal",
                sw_log_quote(q, sizeof q, m.error));
        if (sw_dispatch_send(t->redis, &c.row, c.row.job_node_id, err) < 0)
            return sw_prov_disposition(t, err);
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
