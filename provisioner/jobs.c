/* jobs.c - the consumer of stream "jobs": moves a queued job to a node.
 *
 * Idempotent on the job's state in PostgreSQL: a finished job is acked and
 * ignored; a running one is dispatched again to its node (the engine's
 * operations are idempotent); a queued one is started by its route
 * (jobstate.c). Every start re-reads and locks the job in its own
 * transaction, so two provisioners handling duplicates of one message
 * never both start it.
 */
#include "config.h"

#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"
#include "core/msg.h"
#include "provisioner/backup_gc.h"
#include "provisioner/claim.h"
#include "provisioner/dispatch.h"
#include "provisioner/jobdb.h"
#include "provisioner/jobstate.h"
#include "provisioner/migrate.h"
#include "provisioner/prov.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* What a start transaction decided. */
enum start_outcome { START_TAKEN, START_FINISHED, START_DISPATCH, START_GC_WAIT };

typedef enum sw_msg_outcome (*route_fn)(struct sw_prov_thread *t, struct sw_job_row *row,
                                        struct sw_err *err);

/* ---- finishing a job from here (no engine involved) ---- */

struct finish_ctx {
    const char *job_id;
    bool ok;
    const char *code;
    const char *msg;
    bool done; /* false: the job was no longer queued */
};

static int finish_tx(struct sw_db *db, void *arg, struct sw_err *err)
{
    struct finish_ctx *c = arg;
    struct sw_job_row row;
    int found = sw_jobdb_load(db, c->job_id, true, &row, err);
    if (found <= 0)
        return found;
    if (row.state != SW_JOBST_QUEUED)
        return 0;
    c->done = true;
    return sw_jobdb_finish(db, &row, c->ok, c->code, c->msg, NULL, err);
}

static enum sw_msg_outcome finish_queued(struct sw_prov_thread *t, const struct sw_job_row *row,
                                         bool ok, const char *code, const char *msg,
                                         struct sw_err *err)
{
    struct finish_ctx c = {row->job_id, ok, code, msg, false};
    if (sw_db_tx(t->db, finish_tx, &c, err) < 0)
        return sw_prov_disposition(t, err);
    if (c.done) {
        if (sw_dispatch_kick_next(t->db, t->redis, row->server_id, err) < 0)
            return sw_prov_disposition(t, err);
        char q[300];
        if (ok)
            sw_info("job.succeeded", "job=%s server=%s type=%s", row->job_id, row->server_id,
                    sw_job_type_name(row->type));
        else
            sw_info("job.failed", "job=%s server=%s type=%s code=%s error=%s", row->job_id,
                    row->server_id, sw_job_type_name(row->type), code,
                    sw_log_quote(q, sizeof q, msg));
    }
    return SW_MSG_DONE;
}

/* ---- a job that is already under way ---- */

/* Re-reads the job and acts on what is there now; used after a start found
 * the job taken by someone else. Never starts a queued job again (that
 * would loop): a still-queued job is left to its own message. */
static enum sw_msg_outcome resume(struct sw_prov_thread *t, const char *job_id, struct sw_err *err)
{
    struct sw_job_row row;
    int found = sw_jobdb_load(t->db, job_id, false, &row, err);
    if (found < 0)
        return sw_prov_disposition(t, err);
    if (found == 0 || row.state != SW_JOBST_RUNNING || !row.job_node_id[0])
        return SW_MSG_DONE;
    if (sw_dispatch_send(t->db, t->redis, &row, row.job_node_id, err) < 0)
        return sw_prov_disposition(t, err);
    return SW_MSG_DONE;
}

/* ---- routes ---- */

/* What a claim's outcome (create or resize) does with the job: dispatch,
 * resume, fail with the tenant-safe message given for a gone server, an
 * invalid request (res->why) or no room, or retry later. */
static enum sw_msg_outcome claimed(struct sw_prov_thread *t, struct sw_job_row *row,
                                   const struct sw_claim_result *res, const char *gone,
                                   const char *no_room, struct sw_err *err)
{
    switch (res->outcome) {
    case SW_CLAIM_OK:
        /* the claim has just assigned the addresses (IPAM) the row predates */
        if (sw_jobdb_load_addresses(t->db, row, err) < 0 ||
            sw_dispatch_send(t->db, t->redis, row, res->node_id, err) < 0)
            return sw_prov_disposition(t, err);
        return SW_MSG_DONE;
    case SW_CLAIM_TAKEN:
        return resume(t, row->job_id, err);
    case SW_CLAIM_SERVER_GONE:
        return finish_queued(t, row, false, "conflict", gone, err);
    case SW_CLAIM_INVALID:
        return finish_queued(t, row, false, "invalid", res->why, err);
    case SW_CLAIM_NO_CAPACITY:
        return finish_queued(t, row, false, "no_capacity", no_room, err);
    default:
        SW_ERR_RETRY(err, SW_EUNAVAILABLE, "could not claim a node for job %s", row->job_id);
        sw_err_detail(err, "%s", res->why);
        return SW_MSG_RETRY;
    }
}

static enum sw_msg_outcome start_place(struct sw_prov_thread *t, struct sw_job_row *row,
                                       struct sw_err *err)
{
    if (row->template_kind != row->plan.kind)
        return finish_queued(t, row, false, "invalid",
                             "the template does not match the plan's kind", err);
    struct sw_claim_result res;
    if (sw_claim_place(t->db, row, &res, err) < 0)
        return sw_prov_disposition(t, err);
    if (res.outcome == SW_CLAIM_NO_CAPACITY)
        /* res.why is key=value pairs already (sw_place_tally_format) */
        sw_warn("job.no_capacity", "job=%s server=%s kind=%s location=%s %s", row->job_id,
                row->server_id, sw_plan_kind_name(row->plan.kind),
                row->location_id[0] ? row->location_id : "any", res.why);
    return claimed(t, row, &res, "the server is no longer waiting to be created",
                   row->location_id[0]
                       ? "no node in the requested location has room for this plan"
                       : "no node has room for this plan",
                   err);
}

static enum sw_msg_outcome start_resize(struct sw_prov_thread *t, struct sw_job_row *row,
                                        struct sw_err *err)
{
    struct sw_claim_result res;
    if (sw_claim_resize(t->db, row, &res, err) < 0)
        return sw_prov_disposition(t, err);
    if (res.outcome == SW_CLAIM_NO_CAPACITY)
        sw_warn("job.no_capacity", "job=%s server=%s type=resize node=%s", row->job_id,
                row->server_id, row->srv_node_id);
    return claimed(t, row, &res, res.why, res.why, err);
}

/* What a job needs beyond a node before it can go there; NULL when it has
 * it, else a tenant-safe reason it fails with "invalid". */
static const char *start_lacks(const struct sw_job_row *row)
{
    switch (row->type) {
    case SW_JOB_REINSTALL:
        if (!row->has_template)
            return "the template does not exist";
        if (row->template_kind != row->plan.kind)
            return "the template does not match the server's plan kind";
        return NULL;
    case SW_JOB_RESET_PASSWORD:
        if (!row->password_hash[0])
            return "the job carries no password";
        return row->node_public_key[0] ? NULL : SW_DISPATCH_NO_KEY;
    default:
        return NULL;
    }
}

struct start_ctx {
    const char *job_id;
    struct sw_job_row row; /* as locked */
    int outcome;           /* enum start_outcome */
    bool ok;
    const char *code, *msg;
};

static int start_node_tx(struct sw_db *db, void *arg, struct sw_err *err)
{
    struct start_ctx *c = arg;
    struct sw_job_row *row = &c->row;
    int found = sw_jobdb_load(db, c->job_id, true, row, err);
    if (found < 0)
        return -1;
    if (found == 0 || row->state != SW_JOBST_QUEUED) {
        c->outcome = START_TAKEN;
        return 0;
    }
    const struct sw_job_effect *e = sw_jobstate_effect(row->type);
    bool on_node = row->srv_node_id[0] != '\0';
    int held;
    c->outcome = START_FINISHED;
    c->ok = false;
    c->code = "conflict";
    if (e->route == SW_ROUTE_NODE_OR_DONE && (!on_node || row->srv_state == SW_SRV_TERMINATED)) {
        c->ok = true; /* never reached a node, or already gone: nothing to undo */
        c->code = c->msg = NULL;
    } else if (!on_node) {
        c->msg = "the server is not on a node";
    } else if (!(e->srv_from & SW_SRVMASK(row->srv_state))) {
        c->msg = "the server's state does not allow this";
    } else if ((c->msg = start_lacks(row))) {
        c->code = "invalid";
    } else if ((held = sw_backup_gc_holds(db, row, err)) != 0) {
        c->outcome = START_GC_WAIT; /* backup_gc.c: waits queued, gc kicks it */
        return held < 0 ? -1 : 0;
    } else {
        c->outcome = START_DISPATCH;
        return sw_jobdb_mark_running(db, row, row->srv_node_id, e->srv_dispatch, err);
    }
    return sw_jobdb_finish(db, row, c->ok, c->code, c->msg, NULL, err);
}

static enum sw_msg_outcome start_on_node(struct sw_prov_thread *t, struct sw_job_row *row,
                                         struct sw_err *err)
{
    struct start_ctx c = {.job_id = row->job_id};
    if (sw_db_tx(t->db, start_node_tx, &c, err) < 0)
        return sw_prov_disposition(t, err);
    char q[300];
    switch (c.outcome) {
    case START_TAKEN:
        return resume(t, row->job_id, err);
    case START_FINISHED:
        if (sw_dispatch_kick_next(t->db, t->redis, row->server_id, err) < 0)
            return sw_prov_disposition(t, err);
        if (c.ok)
            sw_info("job.succeeded", "job=%s server=%s type=%s node=none", row->job_id,
                    row->server_id, sw_job_type_name(row->type));
        else
            sw_info("job.failed", "job=%s server=%s type=%s code=%s error=%s", row->job_id,
                    row->server_id, sw_job_type_name(row->type), c.code,
                    sw_log_quote(q, sizeof q, c.msg));
        return SW_MSG_DONE;
    case START_GC_WAIT:
        sw_info("job.waiting", "job=%s server=%s type=%s why=\"garbage collection holds the "
                               "account's backups\"",
                row->job_id, row->server_id, sw_job_type_name(row->type));
        return SW_MSG_DONE;
    default:
        if (sw_dispatch_send(t->db, t->redis, &c.row, c.row.srv_node_id, err) < 0)
            return sw_prov_disposition(t, err);
        return SW_MSG_DONE;
    }
}

static const route_fn routes[] = {
    [SW_ROUTE_PLACE] = start_place,
    [SW_ROUTE_NODE] = start_on_node,
    [SW_ROUTE_NODE_OR_DONE] = start_on_node,
    [SW_ROUTE_RESIZE] = start_resize,
    [SW_ROUTE_MIGRATE] = sw_mig_route, /* migroute.c */
};

/* ---- the handler ---- */

enum sw_msg_outcome sw_jobs_handle(void *ctx, const struct sw_stream_entry *e, struct sw_err *err)
{
    struct sw_prov_thread *t = ctx;
    struct sw_msg_job m;
    if (sw_msg_job_decode(e->payload, &m, err) < 0)
        return SW_MSG_POISON;
    struct sw_job_row row;
    int found = sw_jobdb_load(t->db, m.job_id, false, &row, err);
    if (found < 0)
        return sw_prov_disposition(t, err);
    if (found == 0) {
        /* The outbox row commits with the job, so this is not a race. */
        SW_ERR(err, SW_ENOTFOUND, "job %s does not exist", m.job_id);
        return SW_MSG_POISON;
    }
    if (strcasecmp(row.server_id, m.server_id) != 0 || row.type != m.type) {
        SW_ERR(err, SW_EINVALID, "message does not match job %s", m.job_id);
        sw_err_detail(err, "message server=%s type=%s; job server=%s type=%s", m.server_id,
                      sw_job_type_name(m.type), row.server_id, sw_job_type_name(row.type));
        return SW_MSG_POISON;
    }
    if (sw_jobstate_terminal(row.state)) {
        sw_debug("job.skipped", "job=%s state=%s", row.job_id, sw_job_state_name(row.state));
        /* A replay: make sure the server's next job was not left behind. */
        if (sw_dispatch_kick_next(t->db, t->redis, row.server_id, err) < 0)
            return sw_prov_disposition(t, err);
        return SW_MSG_DONE;
    }
    if (row.state == SW_JOBST_RUNNING)
        return resume(t, row.job_id, err);
    /* One job at a time per server, in order: an earlier job still queued
     * or running makes this one wait (queued, acked); whoever finishes
     * that job announces the next one again (sw_dispatch_kick_next). */
    /* A create is its server's first job (the panel commits them together),
     * so nothing can be before it: one query less on the busiest path. */
    int blocked = row.type == SW_JOB_CREATE ? 0 : sw_dispatch_blocked(t->db, row.job_id, err);
    if (blocked < 0)
        return sw_prov_disposition(t, err);
    if (blocked) {
        sw_info("job.waiting",
                "job=%s server=%s type=%s why=\"an earlier job of the server"
                " is not finished\"",
                row.job_id, row.server_id, sw_job_type_name(row.type));
        return SW_MSG_DONE;
    }
    const struct sw_job_effect *eff = sw_jobstate_effect(row.type);
    return routes[eff->route](t, &row, err);
}

/* ---- an entry core dead-lettered after too many deliveries ---- */

struct dead_ctx {
    const char *job_id;
    const char *why;
    bool done;
};

static int dead_tx(struct sw_db *db, void *arg, struct sw_err *err)
{
    struct dead_ctx *c = arg;
    struct sw_job_row row;
    int found = sw_jobdb_load(db, c->job_id, true, &row, err);
    if (found <= 0 || row.state != SW_JOBST_QUEUED)
        return found < 0 ? -1 : 0;
    c->done = true;
    char msg[200];
    snprintf(msg, sizeof msg, "the job's message was dead-lettered (%s)", c->why);
    return sw_jobdb_finish_as(db, &row, SW_JOBST_DEAD, "undeliverable", msg, NULL, err);
}

/* A queued job whose "jobs" entry core gave up on becomes dead (an operator
 * may retry it), so it does not stay queued forever; a running job is left
 * to its result. */
static void jobs_on_dead(void *ctx, const struct sw_stream_entry *e, const char *why)
{
    struct sw_prov_thread *t = ctx;
    struct sw_msg_job m;
    struct sw_err err;
    sw_err_clear(&err);
    if (!e->payload || sw_msg_job_decode(e->payload, &m, &err) < 0 || !t->db)
        return;
    struct dead_ctx c = {m.job_id, why, false};
    if (sw_db_tx(t->db, dead_tx, &c, &err) < 0) {
        sw_log_err(SW_LOG_WARN, "job.dead_failed", &err);
        return;
    }
    if (!c.done)
        return;
    sw_warn("job.dead", "job=%s server=%s type=%s why=undeliverable", m.job_id, m.server_id,
            sw_job_type_name(m.type));
    if (t->redis && sw_dispatch_kick_next(t->db, t->redis, m.server_id, &err) < 0)
        sw_log_err(SW_LOG_WARN, "job.kick_failed", &err);
}

void *sw_jobs_main(void *arg)
{
    struct sw_prov_thread *t = arg;
    struct sw_consumer c = {
        .stream = SW_STREAM_JOBS,
        .group = SW_GROUP_PROVISIONERS,
        .consumer = t->conf->consumer,
        .min_idle_ms = t->conf->claim_idle_ms,
        .handle = sw_jobs_handle,
        .ctx = t,
        .on_dead = jobs_on_dead,
    };
    sw_prov_run_consumer(t, &c);
    return NULL;
}
