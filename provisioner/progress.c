/* progress.c - a running job's progress reports (progress.h). */
#include "config.h"
#include "provisioner/progress.h"

#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"
#include "core/nodemsg.h"
#include "provisioner/prov.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static enum sw_progress_verdict verdict(enum sw_progress_verdict v, const char *why,
                                        const char **out)
{
    *out = why;
    return v;
}

enum sw_progress_verdict sw_progress_judge(const struct sw_msg_progress *m,
                                           const char *stream_node,
                                           const struct sw_progress_seen *s, const char **why)
{
    if (strcasecmp(m->node_id, stream_node) != 0)
        return verdict(SW_PROGRESS_REJECT, SW_REJECT_FORGED_NODE, why);
    if (!s->job_found)
        return verdict(SW_PROGRESS_REJECT, SW_REJECT_UNKNOWN_JOB, why);
    if (!s->same_job || !s->dispatched)
        return verdict(SW_PROGRESS_REJECT, SW_REJECT_NOT_DISPATCHED, why);
    if (s->answered || !s->running)
        return verdict(SW_PROGRESS_DROP, "job_finished", why);
    if (!s->latest)
        return verdict(SW_PROGRESS_DROP, "older_dispatch", why);
    if (s->has_prev && (m->total != s->prev_total || m->done < s->prev_done))
        return verdict(SW_PROGRESS_DROP, "went_backwards", why);
    return verdict(SW_PROGRESS_RECORD, "", why);
}

struct progress_ctx {
    const struct sw_msg_progress *m;
    const struct sw_stream_entry *e;
    const char *node_id;
    enum sw_progress_verdict verdict;
    const char *why;
};

/* What PostgreSQL holds for the report's job (locked). */
static int load_seen(struct sw_db *db, const struct progress_ctx *c, struct sw_progress_seen *s,
                     struct sw_err *err)
{
    const struct sw_msg_progress *m = c->m;
    PGresult *res = sw_db_exec(
        db, err,
        "SELECT j.server_id::text = lower($4) AND j.type = $5, d.nonce IS NOT NULL,"
        " d.nonce IS NOT DISTINCT FROM (SELECT n.nonce FROM job_dispatches n"
        "   WHERE n.job_id = j.id AND n.node_id = $3 ORDER BY n.dispatched_at DESC, n.nonce"
        "   LIMIT 1),"
        " d.answered_at IS NOT NULL, j.state = 'running' AND j.node_id IS NOT DISTINCT FROM $3,"
        " j.progress_run IS NOT DISTINCT FROM $2 || '.' || $6 AND j.progress_bytes_total IS NOT NULL,"
        " coalesce(j.progress_bytes_done, 0), coalesce(j.progress_bytes_total, 0)"
        " FROM jobs j LEFT JOIN job_dispatches d"
        "   ON d.nonce = $2 AND d.job_id = j.id AND d.node_id = $3"
        " WHERE j.id = $1 FOR UPDATE OF j",
        SW_PARAMS(m->job_id, m->nonce, c->node_id, m->server_id, sw_job_type_name(m->type),
                  m->run));
    if (!res)
        return -1;
    memset(s, 0, sizeof *s);
    s->job_found = PQntuples(res) == 1;
    if (s->job_found) {
        bool *flags[] = {&s->same_job, &s->dispatched, &s->latest, &s->answered, &s->running,
                         &s->has_prev};
        for (int i = 0; i < 6; i++)
            *flags[i] = strcmp(sw_db_get(res, 0, i), "t") == 0;
        s->prev_done = strtoll(sw_db_get(res, 0, 6), NULL, 10);
        s->prev_total = strtoll(sw_db_get(res, 0, 7), NULL, 10);
    }
    PQclear(res);
    return 0;
}

static int progress_tx(struct sw_db *db, void *arg, struct sw_err *err)
{
    struct progress_ctx *c = arg;
    struct sw_progress_seen s;
    if (load_seen(db, c, &s, err) < 0)
        return -1;
    c->verdict = sw_progress_judge(c->m, c->node_id, &s, &c->why);
    if (c->verdict == SW_PROGRESS_REJECT)
        return sw_nodemsg_reject(db, c->e->stream, c->e->id, c->node_id, c->why, err);
    if (c->verdict == SW_PROGRESS_DROP)
        return 0;
    char done[24], total[24], run[SW_NONCE_LEN + SW_PROGRESS_RUN_LEN + 2];
    snprintf(done, sizeof done, "%lld", (long long)c->m->done);
    snprintf(total, sizeof total, "%lld", (long long)c->m->total);
    snprintf(run, sizeof run, "%s.%s", c->m->nonce, c->m->run);
    return sw_db_run(db, err,
                     "UPDATE jobs SET progress_bytes_done = $2::bigint,"
                     " progress_bytes_total = $3::bigint, progress_run = $4,"
                     " progress = ($2::bigint * 100 / $3::bigint)::int, updated_at = now()"
                     " WHERE id = $1",
                     SW_PARAMS(c->m->job_id, done, total, run)) < 0
               ? -1
               : 0;
}

/* A report that is not even one: recorded as malformed, dead-lettered. */
static enum sw_msg_outcome malformed(struct sw_prov_thread *t, const struct sw_stream_entry *e,
                                     const char *node_id)
{
    struct sw_err rerr;
    sw_err_clear(&rerr);
    if (sw_nodemsg_reject(t->db, e->stream, e->id, node_id, SW_REJECT_MALFORMED, &rerr) < 0)
        return sw_prov_disposition(t, &rerr);
    return SW_MSG_POISON;
}

bool sw_progress_handle(struct sw_prov_thread *t, const struct sw_stream_entry *e,
                        const char *node_id, enum sw_msg_outcome *out, struct sw_err *err)
{
    struct sw_msg_progress m;
    int is = sw_msg_progress_decode(e->payload, &m, err);
    if (is <= 0) {
        if (is < 0)
            *out = malformed(t, e, node_id);
        return is < 0;
    }
    struct progress_ctx c = {.m = &m, .e = e, .node_id = node_id};
    if (sw_db_tx(t->db, progress_tx, &c, err) < 0) {
        *out = sw_prov_disposition(t, err);
        return true;
    }
    *out = SW_MSG_DONE;
    if (c.verdict == SW_PROGRESS_REJECT) {
        SW_ERR(err, SW_EINVALID, "%s", c.why);
        *out = SW_MSG_POISON;
    } else if (c.verdict == SW_PROGRESS_DROP)
        sw_info("progress.dropped", "job=%s node=%s entry=%s why=%s done=%lld total=%lld",
                m.job_id, node_id, e->id, c.why, (long long)m.done, (long long)m.total);
    else
        sw_debug("progress.recorded", "job=%s done=%lld total=%lld", m.job_id,
                 (long long)m.done, (long long)m.total);
    return true;
}
