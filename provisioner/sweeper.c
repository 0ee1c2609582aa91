/* sweeper.c - the provisioner's periodic work, in its own thread with its
 * own connections:
 *
 *  - retries: a running job whose engine answer was a retryable failure
 *    has retry_at set (results.c, exponential backoff with jitter); once it
 *    is due, the job is dispatched again to its node and retry_at cleared,
 *    in one transaction that locks the job (FOR UPDATE SKIP LOCKED, so
 *    several provisioners share the work; a crash between the XADD and the
 *    COMMIT dispatches it again, which the engine's idempotency absorbs);
 *  - lost wake-ups: a queued job that no earlier job of its server blocks,
 *    and that has waited longer than SWEEP_STALE_S, is announced again on
 *    "jobs" (a duplicate is harmless: the jobs consumer decides from
 *    PostgreSQL);
 *  - lost messages: a running job with no answer for SLIPWAY_JOB_SILENT_S
 *    since it was last dispatched is dispatched again to its node, and that
 *    counts as a delivery. Its node entry or its result may have been lost
 *    (a Redis restarted without persistence loses every stream); the
 *    engine's operations are idempotent and a second result for a finished
 *    job changes nothing. A job already delivered SW_JOB_MAX_ATTEMPTS times
 *    is dead instead ("no_answer": its node never answered), for an
 *    operator to look at and retry, and the server's next job goes;
 *  - Redis restarts: when Redis's run_id changes, every stream is gone, so
 *    every running job dispatched before the change is dispatched again and
 *    every waiting queued job announced again at once, not after the
 *    timeouts.
 */
#include "config.h"

#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/redis.h"
#include "core/worker.h"
#include "provisioner/dispatch.h"
#include "provisioner/jobdb.h"
#include "provisioner/jobstate.h"
#include "provisioner/prov.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SWEEP_POLL_MS 200
#define SWEEP_STALE_S "30"
#define SWEEP_STALE_EVERY_MS 5000
#define SWEEP_BATCH "50"
#define SWEEP_BATCH_N 50

/* Dispatches again the running jobs a query names: those whose retry is due
 * (their retry_at cleared) or those silent too long (their updated_at
 * stamped, and a delivery counted unless Redis restarted), each in the
 * transaction that locks it. A silent job out of deliveries becomes dead. */
struct redispatch {
    struct sw_prov_thread *t;
    const char *select; /* ids of jobs, locked FOR UPDATE SKIP LOCKED; see below */
    const char *mark;   /* run on each job dispatched; $1 = the job id */
    const char *event;  /* log event */
    const char *since;  /* NULL or a time: see silent_sql */
    bool silent;        /* select is silent_sql */
    int sent;
    int ndead;
    sw_uuid_t dead[SWEEP_BATCH_N]; /* servers of the jobs made dead: kick their next */
};

static const char retry_sql[] =
    "SELECT id FROM jobs WHERE state = 'running' AND retry_at <= now()"
    " ORDER BY retry_at LIMIT " SWEEP_BATCH " FOR UPDATE SKIP LOCKED";
/* Running jobs with no answer: $1 NULL for those silent $2 seconds, or a
 * time (a Redis restart) for all dispatched before it. */
static const char silent_sql[] =
    "SELECT id FROM jobs WHERE state = 'running' AND retry_at IS NULL AND node_id IS NOT NULL"
    " AND updated_at < coalesce($1::timestamptz, now() - make_interval(secs => $2::int))"
    " ORDER BY updated_at LIMIT " SWEEP_BATCH " FOR UPDATE SKIP LOCKED";

/* A silent job delivered SW_JOB_MAX_ATTEMPTS times: dead, with a failure's
 * effects (jobstate.c). */
static int make_dead(struct sw_db *db, struct redispatch *c, const char *job_id,
                     struct sw_err *err)
{
    struct sw_job_row row;
    int found = sw_jobdb_load(db, job_id, true, &row, err);
    if (found <= 0 || row.state != SW_JOBST_RUNNING)
        return found < 0 ? -1 : 0;
    char msg[160];
    snprintf(msg, sizeof msg, "the node did not answer after %d deliveries", row.attempts);
    if (sw_jobdb_finish_as(db, &row, SW_JOBST_DEAD, "no_answer", msg, NULL, err) < 0)
        return -1;
    sw_warn("job.dead", "job=%s server=%s type=%s node=%s attempts=%d why=no_answer", row.job_id,
            row.server_id, sw_job_type_name(row.type), row.job_node_id, row.attempts);
    memcpy(c->dead[c->ndead++], row.server_id, sizeof row.server_id);
    return 0;
}

static int redispatch_tx(struct sw_db *db, void *arg, struct sw_err *err)
{
    struct redispatch *c = arg;
    c->sent = c->ndead = 0;
    char secs[24];
    snprintf(secs, sizeof secs, "%ld", c->t->conf->job_silent_s);
    PGresult *res = c->silent ? sw_db_exec(db, err, c->select, SW_PARAMS(c->since, secs))
                              : sw_db_exec(db, err, c->select, 0, NULL);
    if (!res)
        return -1;
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && i < SWEEP_BATCH_N && rc == 0; i++) {
        struct sw_job_row row;
        int found = sw_jobdb_load(db, sw_db_get(res, i, 0), false, &row, err);
        if (found < 0) {
            rc = -1;
            break;
        }
        if (found == 0 || row.state != SW_JOBST_RUNNING || !row.job_node_id[0])
            continue;
        if (c->silent && !c->since && row.attempts >= SW_JOB_MAX_ATTEMPTS) {
            rc = make_dead(db, c, row.job_id, err);
            continue;
        }
        sw_info(c->event, "job=%s server=%s type=%s node=%s attempt=%d why=%s", row.job_id,
                row.server_id, sw_job_type_name(row.type), row.job_node_id, row.attempts,
                c->since ? "redis_restarted" : c->silent ? "no_answer" : "due");
        if (sw_dispatch_send(db, c->t->redis, &row, row.job_node_id, err) < 0) {
            if (sw_redis_broken(c->t->redis)) {
                rc = -1; /* Redis is gone: the whole batch waits for it */
                break;
            }
            /* Redis answered but refused this one (e.g. its node stream key
             * holds another type): the job must not hold up the others. It
             * is marked like a sent one, so a silent job still counts its
             * deliveries toward dead. */
            char q[200];
            sw_warn("job.redispatch_failed", "job=%s server=%s node=%s error=%s", row.job_id,
                    row.server_id, row.job_node_id, sw_log_quote(q, sizeof q, err->msg));
            sw_err_clear(err);
        } else {
            c->sent++;
        }
        if (sw_db_run(db, err, c->mark, SW_PARAMS(row.job_id)) < 0)
            rc = -1;
    }
    PQclear(res);
    return rc;
}

static int kick_stale(struct sw_prov_thread *t, const char *since, struct sw_err *err)
{
    PGresult *res = sw_db_exec(t->db, err,
                               "SELECT DISTINCT j.server_id FROM jobs j WHERE j.state = 'queued'"
                               " AND j.updated_at < coalesce($1::timestamptz,"
                               "  now() - interval '" SWEEP_STALE_S " seconds')"
                               " AND NOT EXISTS (SELECT 1 FROM jobs e"
                               "   WHERE e.server_id = j.server_id AND e.id <> j.id"
                               "   AND e.state IN ('queued', 'running')"
                               "   AND (e.created_at, e.id) < (j.created_at, j.id))"
                               " LIMIT " SWEEP_BATCH,
                               SW_PARAMS(since));
    if (!res)
        return -1;
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        const char *sid = sw_db_get(res, i, 0);
        sw_info("job.stale", "server=%s why=\"a queued job waited too long; announced again\"",
                sid);
        rc = sw_dispatch_kick_next(t->db, t->redis, sid, err);
    }
    PQclear(res);
    return rc;
}

void *sw_sweeper_main(void *arg)
{
    struct sw_prov_thread *t = arg;
    long backoff = 0;
    bool down = false;
    long long last_stale = sw_now_ms();
    /* Look for silent jobs at least twice per silence period. */
    long every_ms = t->conf->job_silent_s * 500;
    if (every_ms > SWEEP_STALE_EVERY_MS)
        every_ms = SWEEP_STALE_EVERY_MS;
    char run_id[41] = "";
    char reset_at[64] = ""; /* set while catching up after a Redis restart */
    sw_info("thread.started", "thread=%s", t->name);
    while (!sw_prov_stopping()) {
        struct sw_err err;
        sw_err_clear(&err);
        struct redispatch c = {.t = t, .select = retry_sql,
                               .mark = "UPDATE jobs SET retry_at = NULL WHERE id = $1",
                               .event = "job.redispatch"};
        int rc = sw_prov_connect(t, &err);
        if (rc == 0)
            rc = sw_db_tx(t->db, redispatch_tx, &c, &err);
        /* A new run_id: Redis restarted, and its streams are gone. */
        char now_id[41];
        if (rc == 0 && sw_redis_run_id(t->redis, now_id, &err) == 0) {
            if (run_id[0] && strcmp(run_id, now_id) != 0) {
                PGresult *r = sw_db_exec(t->db, &err, "SELECT now()::text", 0, NULL);
                if (r) {
                    snprintf(reset_at, sizeof reset_at, "%s", sw_db_get(r, 0, 0));
                    PQclear(r);
                }
                sw_warn("redis.restarted", "old_run_id=%s new_run_id=%s msg=\"dispatching "
                        "unanswered jobs again\"", run_id, now_id);
            }
            snprintf(run_id, sizeof run_id, "%s", now_id);
        } else if (rc == 0) {
            rc = -1;
        }
        const char *since = reset_at[0] ? reset_at : NULL;
        /* After a Redis restart the re-dispatch is not the node's fault:
         * it does not count as a delivery. */
        struct redispatch sc = {.t = t, .select = silent_sql,
                                .mark = since ? "UPDATE jobs SET updated_at = now() WHERE id = $1"
                                              : "UPDATE jobs SET updated_at = now(),"
                                                " attempts = attempts + 1 WHERE id = $1",
                                .event = "job.silent", .since = since, .silent = true};
        if (rc == 0 && (since || sw_now_ms() - last_stale >= every_ms)) {
            rc = sw_db_tx(t->db, redispatch_tx, &sc, &err);
            for (int i = 0; rc == 0 && i < sc.ndead; i++)
                rc = sw_dispatch_kick_next(t->db, t->redis, sc.dead[i], &err);
            if (rc == 0)
                rc = kick_stale(t, since, &err);
            if (rc == 0) {
                last_stale = sw_now_ms();
                if (since && sc.sent == 0)
                    reset_at[0] = '\0'; /* caught up */
                c.sent += sc.sent;
            }
        }
        if (rc < 0) {
            sw_prov_log_degraded(t->name, !down, &err);
            down = true;
            backoff = sw_backoff_next(backoff);
            sw_prov_sleep_ms(backoff);
            continue;
        }
        if (down)
            sw_info("thread.recovered", "thread=%s", t->name);
        down = false;
        backoff = 0;
        if (c.sent == 0)
            sw_prov_sleep_ms(SWEEP_POLL_MS);
    }
    sw_info("thread.stopped", "thread=%s", t->name);
    return NULL;
}
