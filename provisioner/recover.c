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
#include "provisioner/prov.h"
#include "provisioner/recover.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECOVER_CANDIDATES 8
#define RECOVER_TRIES 3

enum { R_CLAIMED, R_TAKEN, R_GONE, R_NO_ROOM, R_CONFLICT };

struct rc_ctx {
    const char *job_id;
    const char *from;   /* the failed node the server is on */
    const char *target; /* the candidate; NULL: stay (the server already moved) */
    const struct sw_place_req *req;
    int outcome;
};

/* The server is still where the job found it, and may be recovered. */
static int rc_check(struct sw_db *db, struct rc_ctx *c, struct sw_job_row *r, struct sw_err *err)
{
    int found = sw_jobdb_load(db, c->job_id, true, r, err);
    if (found < 0)
        return -1;
    if (found == 0 || r->state != SW_JOBST_QUEUED)
        return c->outcome = R_TAKEN, 1;
    if (!(SW_SRVMASK(r->srv_state) & SW_RECOVER_STATES) || strcmp(r->srv_node_id, c->from) != 0)
        return c->outcome = R_GONE, 1;
    return 0;
}

/* Room on the target, re-read in the transaction, and its generation bumped. */
static int rc_guard(struct sw_db *db, struct rc_ctx *c, struct sw_err *err)
{
    size_t n = 0;
    struct sw_place_node *node = sw_claim_load_nodes(db, c->target, &n, err);
    if (!node)
        return -1;
    bool fits = n == 1 && sw_place_check(node, c->req, NULL) == SW_PLACE_FITS;
    char gen[24];
    snprintf(gen, sizeof gen, "%lld", n == 1 ? (long long)node->generation : -1LL);
    free(node);
    if (!fits)
        return c->outcome = R_NO_ROOM, 1;
    long rows = sw_db_run(db, err,
                          "UPDATE nodes SET generation = generation + 1"
                          " WHERE id = $1 AND generation = $2",
                          SW_PARAMS(c->target, gen));
    if (rows < 0)
        return -1;
    return rows == 0 ? (c->outcome = R_CONFLICT, 1) : 0;
}

static int rc_tx(struct sw_db *db, void *arg, struct sw_err *err)
{
    struct rc_ctx *c = arg;
    struct sw_job_row r;
    int rc = rc_check(db, c, &r, err);
    if (rc == 0)
        rc = rc_guard(db, c, err);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    char a[SW_RC__COUNT][24];
    for (int k = 0; k < SW_RC__COUNT; k++)
        snprintf(a[k], sizeof a[k], "%lld", (long long)c->req->want.v[k]);
    /* The allocation and the server move together; 0030's trigger bumps
     * the epoch, so the failed node's copy is stale from this commit on.
     * The addresses stay: the target is in the same location. */
    if (sw_db_run(db, err,
                  "INSERT INTO allocations (server_id, node_id, vcpus, mem_guar_mb, mem_max_mb,"
                  " disk_gb) VALUES ($1, $2, $3, $4, $5, $6)"
                  " ON CONFLICT (server_id) DO UPDATE SET node_id = excluded.node_id,"
                  " vcpus = excluded.vcpus, mem_guar_mb = excluded.mem_guar_mb,"
                  " mem_max_mb = excluded.mem_max_mb, disk_gb = excluded.disk_gb,"
                  " created_at = now()",
                  SW_PARAMS(r.server_id, c->target, a[SW_RC_VCPU], a[SW_RC_MEM_GUAR],
                            a[SW_RC_MEM_MAX], a[SW_RC_DISK])) < 0 ||
        sw_db_run(db, err, "UPDATE servers SET node_id = $2 WHERE id = $1",
                  SW_PARAMS(r.server_id, c->target)) < 0 ||
        sw_jobdb_mark_running(db, &r, c->target, SW_SRV_KEEP, err) < 0)
        return -1;
    c->outcome = R_CLAIMED;
    return 0;
}

/* Nodes the server may go to: healthy, the failed node's location, and a
 * shared pool of each of its volumes' pool names. The others are marked
 * offline in nodes, so placement filters them out. */
static int rc_eligible(struct sw_db *db, const char *server, const char *from,
                       struct sw_place_node *nodes, size_t n, struct sw_err *err)
{
    PGresult *res =
        sw_db_exec(db, err,
                   "SELECT n.id FROM nodes n, nodes f WHERE f.id = $2 AND n.id <> f.id"
                   "   AND n.health = 'ok' AND n.location_id = f.location_id"
                   "   AND NOT EXISTS (SELECT 1 FROM server_disks d WHERE d.server_id = $1"
                   "       AND d.role <> 'other' AND NOT EXISTS (SELECT 1 FROM node_pools p"
                   "       WHERE p.node_id = n.id AND p.name = d.pool AND p.shared))",
                   SW_PARAMS(server, from));
    if (!res)
        return -1;
    for (size_t i = 0; i < n; i++) {
        bool ok = false;
        for (int k = 0; k < PQntuples(res) && !ok; k++)
            ok = strcmp(sw_db_get(res, k, 0), nodes[i].id) == 0;
        if (!ok)
            nodes[i].state = SW_NODE_OFFLINE;
    }
    PQclear(res);
    return 0;
}

static void jitter(int attempt)
{
    long us = 2000L * (attempt + 1) + (long)randombytes_uniform(18000);
    struct timespec ts = {0, us * 1000L};
    nanosleep(&ts, NULL);
}

/* Tries the ranked candidates; c->outcome is the last try's. */
static int rc_claim(struct sw_db *db, struct rc_ctx *c, struct sw_job_row *row, struct sw_err *err)
{
    size_t n = 0;
    struct sw_place_node *nodes = sw_claim_load_nodes(db, NULL, &n, err);
    if (!nodes || rc_eligible(db, row->server_id, c->from, nodes, n, err) < 0) {
        free(nodes);
        return -1;
    }
    size_t order[RECOVER_CANDIDATES];
    size_t fit =
        sw_place_rank_top(nodes, n, c->req, randombytes_random(), order, RECOVER_CANDIDATES, NULL);
    c->outcome = R_NO_ROOM;
    for (size_t i = 0; i < fit && i < RECOVER_CANDIDATES; i++) {
        c->target = nodes[order[i]].id;
        for (int t = 0; t < RECOVER_TRIES; t++) {
            if (sw_db_tx(db, rc_tx, c, err) < 0) {
                free(nodes);
                return -1;
            }
            if (c->outcome != R_CONFLICT)
                break;
            jitter(t);
        }
        if (c->outcome != R_NO_ROOM && c->outcome != R_CONFLICT)
            break;
    }
    if (c->outcome == R_CLAIMED) /* c->target points into nodes */
        snprintf(row->job_node_id, sizeof row->job_node_id, "%s", c->target);
    free(nodes);
    return 0;
}

struct fail_ctx {
    const char *job_id;
    const char *code, *msg;
    bool done;
};

static int fail_tx(struct sw_db *db, void *arg, struct sw_err *err)
{
    struct fail_ctx *c = arg;
    struct sw_job_row r;
    int found = sw_jobdb_load(db, c->job_id, true, &r, err);
    if (found <= 0 || r.state != SW_JOBST_QUEUED)
        return found < 0 ? -1 : 0;
    c->done = true;
    return sw_jobdb_finish(db, &r, false, c->code, c->msg, NULL, err);
}

/* Sends the (now running) job to its node, as the job is in PostgreSQL. */
static enum sw_msg_outcome rc_send(struct sw_prov_thread *t, const char *job_id, struct sw_err *err)
{
    struct sw_job_row r;
    int found = sw_jobdb_load(t->db, job_id, false, &r, err);
    if (found < 0 || (found == 1 && r.state == SW_JOBST_RUNNING && r.job_node_id[0] &&
                      (sw_jobdb_load_addresses(t->db, &r, err) < 0 ||
                       sw_dispatch_send(t->db, t->redis, &r, r.job_node_id, err) < 0)))
        return sw_prov_disposition(t, err);
    return SW_MSG_DONE;
}

enum sw_msg_outcome sw_recover_start(struct sw_prov_thread *t, struct sw_job_row *row,
                                     struct sw_err *err)
{
    struct sw_place_req req;
    sw_claim_request(row, &req);
    req.location_id = NULL; /* rc_eligible keeps the failed node's location */
    char from[SW_UUID_LEN + 1];
    snprintf(from, sizeof from, "%s", row->srv_node_id);
    struct rc_ctx c = {.job_id = row->job_id, .from = from, .req = &req};
    if (rc_claim(t->db, &c, row, err) < 0)
        return sw_prov_disposition(t, err);
    if (c.outcome == R_CLAIMED) {
        sw_info("job.claimed", "job=%s server=%s node=%s type=recover from=%s", row->job_id,
                row->server_id, row->job_node_id, from);
        return rc_send(t, row->job_id, err);
    }
    if (c.outcome == R_TAKEN)
        return rc_send(t, row->job_id, err);
    if (c.outcome == R_CONFLICT) { /* every try collided with other claims: later */
        SW_ERR_RETRY(err, SW_EUNAVAILABLE, "could not claim a node for job %s", row->job_id);
        return SW_MSG_RETRY;
    }
    struct fail_ctx f = {row->job_id, c.outcome == R_GONE ? "conflict" : "no_capacity",
                         c.outcome == R_GONE
                             ? "the server is no longer running, stopped or suspended on its"
                               " failed node"
                             : "no healthy node in the server's location has room for it and"
                               " sees its shared pools",
                         false};
    if (sw_db_tx(t->db, fail_tx, &f, err) < 0 ||
        (f.done && sw_dispatch_kick_next(t->db, t->redis, row->server_id, err) < 0))
        return sw_prov_disposition(t, err);
    if (f.done)
        sw_warn("job.failed", "job=%s server=%s type=recover code=%s from=%s", row->job_id,
                row->server_id, f.code, from);
    return SW_MSG_DONE;
}
