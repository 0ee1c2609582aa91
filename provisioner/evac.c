/* evac.c - the provisioner's "evacuate" thread (evac.h; provisioner/README.md
 * "Evacuation"): every SLIPWAY_EVACUATE_INTERVAL_MS, each running
 * evacuation, in a transaction of its own that holds its row (FOR UPDATE
 * SKIP LOCKED: another provisioner takes the next one), lists the servers
 * on its node, judges each (sw_evac_judge), queues migrate jobs for the
 * ready ones while fewer than `parallel` are in flight, and completes the
 * evacuation (event node.evacuated) once none is left to move. */
#include "config.h"
#include "provisioner/evac.h"
#include "provisioner/prov.h"
#include "core/alloc.h"
#include "core/conf.h"
#include "core/db.h"
#include "core/err.h"
#include "core/log.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct evac_step {
    char after[40]; /* the last evacuation stepped in this pass ("" at first) */
    char id[40];    /* out: the evacuation stepped now */
    bool found;     /* out: a running evacuation was stepped */
    int queued;     /* out: migrate jobs queued by this step */
};

struct evac_row {
    const char *id, *node, *actor;
    int parallel;
    bool live;
};

/* Every server on the node that is not listed yet joins the evacuation:
 * a create that was claimed just before the node went to maintenance too. */
static int enlist(struct sw_db *db, const struct evac_row *ev, struct sw_err *err)
{
    return sw_db_run(db, err,
                     "INSERT INTO evacuation_servers (evacuation_id, server_id)"
                     " SELECT $1, s.id FROM servers s"
                     "  WHERE s.node_id = $2 AND s.state NOT IN ('terminated', 'failed')"
                     " ON CONFLICT DO NOTHING",
                     SW_PARAMS(ev->id, ev->node)) < 0
               ? -1
               : 0;
}

static PGresult *load_entries(struct sw_db *db, const struct evac_row *ev, struct sw_err *err)
{
    return sw_db_exec(
        db, err,
        "SELECT x.server_id, x.state, x.tries, s.state, s.node_id IS NOT DISTINCT FROM $2,"
        "       j.state, j.error_code, j.error,"
        "       EXISTS (SELECT 1 FROM jobs o WHERE o.server_id = x.server_id"
        "                  AND o.state IN ('queued', 'running')"
        "                  AND o.id IS DISTINCT FROM x.job_id),"
        "       x.reason_code, x.reason, j.cancel_requested_at IS NOT NULL"
        "  FROM evacuation_servers x JOIN servers s ON s.id = x.server_id"
        "  LEFT JOIN jobs j ON j.id = x.job_id"
        " WHERE x.evacuation_id = $1 AND x.state IN ('pending', 'waiting', 'in_flight')"
        " ORDER BY s.created_at, x.server_id",
        SW_PARAMS(ev->id, ev->node));
}

static void entry_of(const PGresult *res, int i, struct sw_evac_entry *e)
{
    e->state = (enum sw_evac_state)sw_evac_state_parse(sw_db_get(res, i, 1));
    e->tries = (int)sw_db_get_i64(res, i, 2);
    e->srv_state = sw_db_get(res, i, 3);
    e->on_node = sw_db_get_bool(res, i, 4);
    e->job_state = sw_db_get(res, i, 5);
    e->job_code = sw_db_get(res, i, 6);
    e->job_error = sw_db_get(res, i, 7);
    e->busy = sw_db_get_bool(res, i, 8);
    e->cancelled = sw_db_get_bool(res, i, 11);
}

static bool same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Records a verdict that changes the row. */
static int record(struct sw_db *db, const struct evac_row *ev, const PGresult *res, int i,
                  const struct sw_evac_verdict *v, struct sw_err *err)
{
    const char *reason = v->reason[0] ? v->reason : NULL;
    if ((int)v->state == sw_evac_state_parse(sw_db_get(res, i, 1)) &&
        same(v->code, sw_db_get(res, i, 9)) && same(reason, sw_db_get(res, i, 10)))
        return 0;
    return sw_db_run(db, err,
                     "UPDATE evacuation_servers x SET state = $3, reason_code = $4, reason = $5,"
                     "       updated_at = clock_timestamp(),"
                     "       to_node_id = CASE WHEN $3 = 'moved'"
                     "                    THEN (SELECT node_id FROM servers WHERE id = $2) END"
                     " WHERE x.evacuation_id = $1 AND x.server_id = $2",
                     SW_PARAMS(ev->id, sw_db_get(res, i, 0), sw_evac_state_name(v->state),
                               v->code, reason)) < 0
               ? -1
               : 0;
}

/* Queues the server's migrate job (0030's sw_server_job_with: the job and
 * its outbox row) and marks it in flight. The partial unique index on
 * in-flight rows refuses a second flight of the server. */
static int launch(struct sw_db *db, const struct evac_row *ev, const char *server,
                  const char *srv_state, struct sw_err *err)
{
    const char *live = sw_evac_live(ev->live, srv_state) ? "true" : "false";
    return sw_db_run(db, err,
                     "WITH j AS (SELECT sw_server_job_with($2, $3, 'migrate',"
                     "    jsonb_build_object('live', $4::boolean, 'evacuation_id', $1::uuid))"
                     "    AS id)"
                     " UPDATE evacuation_servers x SET state = 'in_flight', job_id = j.id,"
                     "       tries = tries + 1, updated_at = clock_timestamp()"
                     "  FROM j WHERE x.evacuation_id = $1::uuid AND x.server_id = $2::uuid",
                     SW_PARAMS(ev->id, server, ev->actor, live)) == 1
               ? 0
               : -1;
}

/* Judges every open server, then fills the free slots in order. Returns
 * how many remain open (pending, waiting, in flight), or -1. */
static int advance(struct sw_db *db, const struct evac_row *ev, int *queued, struct sw_err *err)
{
    PGresult *res = load_entries(db, ev, err);
    if (!res)
        return -1;
    int n = PQntuples(res), open = 0, flying = 0, rc = 0;
    struct sw_evac_verdict *v = sw_calloc((size_t)n + 1, sizeof *v);
    for (int i = 0; rc == 0 && i < n; i++) {
        struct sw_evac_entry e;
        entry_of(res, i, &e);
        sw_evac_judge(&e, &v[i]);
        rc = record(db, ev, res, i, &v[i], err);
        open += v[i].state <= SW_EVAC_IN_FLIGHT;
        flying += v[i].state == SW_EVAC_IN_FLIGHT;
    }
    for (int i = 0; rc == 0 && i < n && flying < ev->parallel; i++) {
        if (!v[i].queue)
            continue;
        rc = launch(db, ev, sw_db_get(res, i, 0), sw_db_get(res, i, 3), err);
        flying++;
        (*queued)++;
    }
    free(v);
    PQclear(res);
    return rc < 0 ? -1 : open;
}

static int complete(struct sw_db *db, const struct evac_row *ev, const char *state,
                    struct sw_err *err)
{
    if (sw_db_run(db, err,
                  "UPDATE evacuations SET state = $2, finished_at = clock_timestamp()"
                  " WHERE id = $1",
                  SW_PARAMS(ev->id, state)) != 1)
        return -1;
    if (strcmp(state, "completed") != 0) {
        sw_info("evacuation.cancelled", "evacuation=%s node=%s why=\"node left maintenance\"",
                ev->id, ev->node);
        return 0;
    }
    PGresult *res = sw_db_exec(
        db, err,
        "SELECT sw_event_emit('node.evacuated', NULL, jsonb_build_object("
        "  'node_id', e.node_id, 'evacuation_id', e.id, 'moved', j->'moved',"
        "  'unmovable', j->'unmovable')), j->>'moved', jsonb_array_length(j->'unmovable')"
        "  FROM evacuations e, sw_evacuation_json(e) j WHERE e.id = $1",
        SW_PARAMS(ev->id));
    if (!res)
        return -1;
    sw_info("evacuation.completed", "evacuation=%s node=%s moved=%s unmovable=%s", ev->id,
            ev->node, sw_db_get(res, 0, 1), sw_db_get(res, 0, 2));
    PQclear(res);
    return 0;
}

/* One evacuation after st->after, in the caller's transaction. */
static int step_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct evac_step *st = ctx;
    PGresult *res = sw_db_exec(
        db, err,
        "SELECT e.id, e.node_id, e.actor_id, e.parallel, e.live, n.state = 'maintenance'"
        "  FROM evacuations e JOIN nodes n ON n.id = e.node_id"
        " WHERE e.state = 'running'"
        "   AND e.id > coalesce($1::uuid, '00000000-0000-0000-0000-000000000000')"
        " ORDER BY e.id LIMIT 1 FOR UPDATE OF e SKIP LOCKED",
        SW_PARAMS(st->after[0] ? st->after : NULL));
    if (!res)
        return -1;
    st->found = PQntuples(res) == 1;
    st->queued = 0;
    int rc = 0;
    if (st->found) {
        struct evac_row ev = {sw_db_get(res, 0, 0), sw_db_get(res, 0, 1), sw_db_get(res, 0, 2),
                              (int)sw_db_get_i64(res, 0, 3), sw_db_get_bool(res, 0, 4)};
        snprintf(st->id, sizeof st->id, "%s", ev.id);
        int open = 0;
        if (!sw_db_get_bool(res, 0, 5))
            rc = complete(db, &ev, "cancelled", err);
        else if (enlist(db, &ev, err) < 0 || (open = advance(db, &ev, &st->queued, err)) < 0)
            rc = -1;
        else if (open == 0)
            rc = complete(db, &ev, "completed", err);
    }
    PQclear(res);
    return rc;
}

int sw_evac_pass(struct sw_db *db, int *queued, struct sw_err *err)
{
    struct evac_step st = {"", "", true, 0};
    *queued = 0;
    while (st.found && !sw_prov_stopping()) {
        st.found = false;
        if (sw_db_tx(db, step_tx, &st, err) < 0)
            return -1;
        memcpy(st.after, st.id, sizeof st.after);
        *queued += st.queued;
    }
    return 0;
}

void *sw_evac_main(void *arg)
{
    struct sw_prov_thread *t = arg;
    long interval_ms = 250;
    struct sw_err err;
    sw_err_clear(&err);
    if (sw_conf_long("SLIPWAY_EVACUATE_INTERVAL_MS", 0, 3600000L, &interval_ms, &err) < 0)
        sw_log_err(SW_LOG_ERROR, "evacuation.config", &err);
    sw_info("thread.started", "thread=%s interval_ms=%ld", t->name, interval_ms);
    bool down = false;
    while (interval_ms > 0 && !sw_prov_stopping()) {
        int n = 0;
        sw_err_clear(&err);
        if (sw_prov_connect(t, &err) < 0 || sw_evac_pass(t->db, &n, &err) < 0) {
            sw_prov_log_degraded(t->name, !down, &err);
            down = true;
        } else {
            down = false;
            if (n > 0)
                sw_info("evacuation.queued", "jobs=%d", n);
        }
        sw_prov_sleep_ms(interval_ms);
    }
    sw_info("thread.stopped", "thread=%s", t->name);
    return NULL;
}
