/* migroute.c - the migrate job's route in the jobs consumer: the target
 * claimed under its generation guard, the job started on the source and
 * dispatched there (migrate.h, README.md "Migration"). */
#include "config.h"

#include "core/alloc.h"
#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"
#include "core/resource.h"
#include "provisioner/claim.h"
#include "provisioner/dispatch.h"
#include "provisioner/jobdb.h"
#include "provisioner/jobstate.h"
#include "provisioner/migrate.h"
#include "provisioner/placement.h"
#include "provisioner/prov.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Claim transactions tried before the job waits for a later delivery. */
#define MIG_TRIES 9

/* ---- the claim on the target ---- */

enum mig_outcome { MIG_CLAIMED, MIG_TAKEN, MIG_FAIL, MIG_CONFLICT };

struct mig_ctx {
    const char *job_id;
    struct sw_job_row row; /* as locked */
    int outcome;           /* enum mig_outcome */
    const char *code;      /* MIG_FAIL */
    char msg[200];
    sw_uuid_t source, target;
    bool shared; /* the target sees every volume of the server (mark_sharing) */
    int64_t generation;
};

static int fail(struct mig_ctx *c, const char *code, const char *msg)
{
    c->outcome = MIG_FAIL;
    c->code = code;
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    return 0;
}

/* What the server holds on its node now: its allocation (a resize may
 * have grown it), else its plan's demand. */
static int server_demand(struct sw_db *db, const struct sw_job_row *row, struct sw_amounts *want,
                         struct sw_err *err)
{
    sw_plan_demand(&row->plan, want);
    PGresult *a = sw_db_exec(db, err,
                             "SELECT vcpus, mem_guar_mb, mem_max_mb, disk_gb FROM allocations"
                             " WHERE server_id = $1",
                             SW_PARAMS(row->server_id));
    if (!a)
        return -1;
    for (int k = 0; PQntuples(a) == 1 && k < SW_RC__COUNT; k++)
        want->v[k] = sw_db_get_i64(a, 0, k);
    PQclear(a);
    return 0;
}

/* The job's requested target ("" for placement) and its source's location. */
static int request(struct sw_db *db, struct mig_ctx *c, char *wanted, char *loc,
                   struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT coalesce(j.params->>'node_id', ''), coalesce(n.location_id::text, '')"
                               "  FROM jobs j, nodes n WHERE j.id = $1 AND n.id = $2",
                               SW_PARAMS(c->job_id, c->source));
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        snprintf(wanted, SW_UUID_LEN + 1, "%s", sw_db_get(res, 0, 0));
        snprintf(loc, SW_UUID_LEN + 1, "%s", sw_db_get(res, 0, 1));
    }
    PQclear(res);
    if (!found)
        SW_ERR(err, SW_EINTERNAL, "the source node of job %s does not load", c->job_id);
    return found ? 0 : -1;
}

static const char *const refusals[SW_PLACE__COUNT] = {
    [SW_PLACE_NOT_ACTIVE] = "the target node is not active",
    [SW_PLACE_WRONG_KIND] = "the target node does not host the server's kind",
    [SW_PLACE_WRONG_LOCATION] = "the target node is in another location",
    [SW_PLACE_NO_ROOM] = "the target node has no room for the server",
    [SW_PLACE_POOLS_FULL] = "the target node's storage pools are full",
};

/* Picks the target among nodes (the source excluded): the requested one
 * when it fits, else placement's pick. -1 with c failed when none fits. */
static long pick(struct mig_ctx *c, struct sw_place_node *nodes, size_t n, const char *wanted,
                 const struct sw_place_req *req)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(nodes[i].id, c->source) == 0)
            nodes[i].state = SW_NODE_OFFLINE; /* never the source */
    if (wanted[0]) {
        for (size_t i = 0; i < n; i++) {
            if (strcmp(nodes[i].id, wanted) != 0)
                continue;
            int v = sw_place_check(&nodes[i], req, NULL);
            if (v == SW_PLACE_FITS)
                return (long)i;
            fail(c, v == SW_PLACE_NO_ROOM || v == SW_PLACE_POOLS_FULL ? "no_capacity" : "invalid",
                 refusals[v]);
            return -1;
        }
        fail(c, "invalid", "the target node is not available");
        return -1;
    }
    size_t order[1];
    struct sw_place_tally tally;
    if (sw_place_rank_top(nodes, n, req, randombytes_random(), order, 1, &tally) == 0) {
        fail(c, "no_capacity", "no other node in the server's location has room for it");
        return -1;
    }
    return (long)order[0];
}

/* The nodes that see every volume of the server in a pool shared with
 * its source (0044's sw_shared_disk_elsewhere_gb, which the target's
 * engine also asks): their offer of that pool already counts the server's
 * disk as used on the source, so it is given back to their capacity here
 * and their claim holds no disk (the disk is held once, by the source's
 * allocation, until the move settles). */
static const char sql_sharing[] =
    "SELECT n.id FROM nodes n"
    " WHERE n.id <> $2 AND sw_shared_disk_elsewhere_gb(n.id, $1::uuid) > 0";

static int mark_sharing(struct sw_db *db, const struct mig_ctx *c, struct sw_place_node *nodes,
                        size_t n, int64_t disk_gb, bool *sharing, struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err, sql_sharing, SW_PARAMS(c->row.server_id, c->source));
    if (!res)
        return -1;
    for (int r = 0; r < PQntuples(res); r++)
        for (size_t i = 0; i < n; i++)
            if (strcmp(nodes[i].id, sw_db_get(res, r, 0)) == 0) {
                sharing[i] = true;
                nodes[i].inv.disk_gb += disk_gb;
            }
    PQclear(res);
    return 0;
}

/* Whether the server has a library ISO mounted (0023): 1, 0, or -1 with
 * err set. A move that copies volumes leaves the ISO image behind, and
 * the domain would not start on the target. */
static int iso_mounted(struct sw_db *db, const char *server_id, struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err, "SELECT 1 FROM servers WHERE id = $1 AND iso_id IS NOT NULL",
                               SW_PARAMS(server_id));
    if (!res)
        return -1;
    int yes = PQntuples(res) == 1;
    PQclear(res);
    return yes;
}

/* Chooses the target and reads its generation: 1 chosen, 0 failed (c). */
static int choose(struct sw_db *db, struct mig_ctx *c, struct sw_amounts *want,
                  struct sw_err *err)
{
    char wanted[SW_UUID_LEN + 1], loc[SW_UUID_LEN + 1];
    if (request(db, c, wanted, loc, err) < 0 || server_demand(db, &c->row, want, err) < 0)
        return -1;
    struct sw_place_req req = {.kind = c->row.plan.kind, .location_id = loc, .want = *want};
    size_t n = 0;
    struct sw_place_node *nodes = sw_claim_load_nodes(db, NULL, &n, err);
    if (!nodes)
        return -1;
    bool *sharing = sw_calloc(n ? n : 1, sizeof *sharing);
    long i = mark_sharing(db, c, nodes, n, want->v[SW_RC_DISK], sharing, err) < 0
                 ? -2
                 : pick(c, nodes, n, wanted, &req);
    if (i >= 0) {
        memcpy(c->target, nodes[i].id, sizeof c->target);
        c->generation = nodes[i].generation;
        c->shared = sharing[i];
        if (sharing[i])
            want->v[SW_RC_DISK] = 0; /* held once, by the source's allocation */
    }
    free(sharing);
    free(nodes);
    return i == -2 ? -1 : i >= 0;
}

/* The target's share (0031) and the job started on the source. */
static int hold(struct sw_db *db, struct mig_ctx *c, const struct sw_amounts *want,
                struct sw_err *err)
{
    char v[SW_RC__COUNT][24];
    for (int k = 0; k < SW_RC__COUNT; k++)
        snprintf(v[k], sizeof v[k], "%lld", (long long)want->v[k]);
    const char *running = c->row.srv_state == SW_SRV_RUNNING ? "true" : "false";
    if (sw_db_run(db, err,
                  "WITH h AS (INSERT INTO migration_claims (server_id, node_id, job_id, vcpus,"
                  "  mem_guar_mb, mem_max_mb, disk_gb) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                  "  ON CONFLICT (server_id) DO UPDATE SET node_id = excluded.node_id,"
                  "  job_id = excluded.job_id, vcpus = excluded.vcpus,"
                  "  mem_guar_mb = excluded.mem_guar_mb, mem_max_mb = excluded.mem_max_mb,"
                  "  disk_gb = excluded.disk_gb, created_at = now())"
                  /* live, when the job does not say: whether it runs */
                  " UPDATE jobs SET params = params || jsonb_build_object('to_node_id', $2::text,"
                  "  'from_node_id', $8::text, 'phase', 'source', 'was_running', $9::boolean,"
                  "  'live', coalesce((params->>'live')::boolean, $9::boolean))"
                  " WHERE id = $3",
                  SW_PARAMS(c->row.server_id, c->target, c->row.job_id, v[SW_RC_VCPU],
                            v[SW_RC_MEM_GUAR], v[SW_RC_MEM_MAX], v[SW_RC_DISK], c->source,
                            running)) < 0)
        return -1;
    c->outcome = MIG_CLAIMED;
    return sw_jobdb_mark_running(db, &c->row, c->source, SW_SRV_KEEP, err);
}

static int claim_tx(struct sw_db *db, void *arg, struct sw_err *err)
{
    struct mig_ctx *c = arg;
    int found = sw_jobdb_load(db, c->job_id, true, &c->row, err);
    if (found < 0)
        return -1;
    if (found == 0 || c->row.state != SW_JOBST_QUEUED) {
        c->outcome = MIG_TAKEN;
        return 0;
    }
    if (!c->row.srv_node_id[0])
        return fail(c, "conflict", "the server is not on a node");
    if (c->row.srv_state != SW_SRV_RUNNING && c->row.srv_state != SW_SRV_STOPPED)
        return fail(c, "conflict", "only a running or stopped server can be migrated");
    memcpy(c->source, c->row.srv_node_id, sizeof c->source);
    struct sw_amounts want;
    int chosen = choose(db, c, &want, err);
    if (chosen <= 0)
        return chosen;
    int iso = c->shared ? 0 : iso_mounted(db, c->row.server_id, err);
    if (iso != 0)
        return iso < 0 ? -1
                       : fail(c, "conflict",
                              "the server has an ISO mounted, and a move without shared storage "
                              "copies the server's own volumes only: eject the ISO first");
    char gen[24];
    snprintf(gen, sizeof gen, "%lld", (long long)c->generation);
    /* The guard (README.md "Claim"): every insert of use for a node bumps
     * its generation, so two claims never both see room only one can have. */
    long rows = sw_db_run(db, err,
                          "UPDATE nodes SET generation = generation + 1"
                          " WHERE id = $1 AND generation = $2",
                          SW_PARAMS(c->target, gen));
    if (rows <= 0) {
        c->outcome = MIG_CONFLICT;
        return rows < 0 ? -1 : 0;
    }
    return hold(db, c, &want, err);
}

/* ---- finishing from here, and dispatching ---- */

static int finish_tx(struct sw_db *db, void *arg, struct sw_err *err)
{
    struct mig_ctx *c = arg;
    struct sw_job_row row;
    int found = sw_jobdb_load(db, c->job_id, true, &row, err);
    if (found <= 0 || row.state != SW_JOBST_QUEUED)
        return found < 0 ? -1 : 0;
    return sw_jobdb_finish(db, &row, false, c->code, c->msg, NULL, err);
}

/* Sends the job (re-read: the claim changed it) to where it waits now. */
static int send_current(struct sw_db *db, struct sw_redis *r, const char *job_id,
                        struct sw_err *err)
{
    struct sw_job_row row;
    int found = sw_jobdb_load(db, job_id, false, &row, err);
    if (found <= 0 || row.state != SW_JOBST_RUNNING || !row.job_node_id[0])
        return found < 0 ? -1 : 0;
    return sw_dispatch_send(db, r, &row, row.job_node_id, err);
}

int sw_mig_dispatch_target(struct sw_db *db, struct sw_redis *r, const char *job_id,
                           struct sw_err *err)
{
    return send_current(db, r, job_id, err);
}

static void jitter(int attempt)
{
    long us = 2000L * (attempt + 1) + (long)randombytes_uniform(18000);
    struct timespec ts = {0, us * 1000L};
    nanosleep(&ts, NULL);
}

enum sw_msg_outcome sw_mig_route(struct sw_prov_thread *t, struct sw_job_row *row,
                                 struct sw_err *err)
{
    struct mig_ctx c = {.job_id = row->job_id};
    for (int i = 0; i < MIG_TRIES; i++) {
        c.outcome = MIG_CONFLICT;
        if (sw_db_tx(t->db, claim_tx, &c, err) < 0)
            return sw_prov_disposition(t, err);
        if (c.outcome != MIG_CONFLICT)
            break;
        jitter(i);
    }
    if (c.outcome == MIG_CLAIMED)
        sw_info("job.claimed", "job=%s server=%s type=migrate from=%s to=%s generation=%lld",
                row->job_id, row->server_id, c.source, c.target, (long long)c.generation + 1);
    switch (c.outcome) {
    case MIG_CLAIMED: /* to the source */
    case MIG_TAKEN:   /* to wherever it waits now */
        if (send_current(t->db, t->redis, row->job_id, err) < 0)
            return sw_prov_disposition(t, err);
        return SW_MSG_DONE;
    case MIG_FAIL:
        if (sw_db_tx(t->db, finish_tx, &c, err) < 0 ||
            sw_dispatch_kick_next(t->db, t->redis, row->server_id, err) < 0)
            return sw_prov_disposition(t, err);
        char q[300];
        sw_info("job.failed", "job=%s server=%s type=migrate code=%s error=%s", row->job_id,
                row->server_id, c.code, sw_log_quote(q, sizeof q, c.msg));
        return SW_MSG_DONE;
    default:
        SW_ERR_RETRY(err, SW_EUNAVAILABLE, "could not claim a target for job %s", row->job_id);
        sw_err_detail(err, "claims on the target kept colliding");
        return SW_MSG_RETRY;
    }
}

