#include "config.h"

#include "core/alloc.h"
#include "core/db.h"
#include "core/diskpool.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"
#include "core/resource.h"
#include "provisioner/claim.h"
#include "provisioner/jobdb.h"
#include "provisioner/jobstate.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Tries per candidate when its generation moved under us, and full
 * re-rankings (fresh node data) before giving up for now. */
#define CLAIM_TRIES_PER_NODE 3
#define CLAIM_CANDIDATES 8 /* nodes one round tries, best first */
#define CLAIM_ROUNDS 3

static const char sql_nodes[] =
    "SELECT n.id, n.location_id,"
    "       CASE WHEN n.health <> 'ok' THEN 'offline'" /* suspect..failed (0033) */
    "            WHEN n.state = 'active' AND n.last_heartbeat_at IS NOT NULL"
    "                 AND n.last_heartbeat_at < now() - make_interval(secs => 3 * $2::int)"
    "            THEN 'offline' ELSE n.state END,"
    "       n.kinds::text, n.cpus, n.ram_mb,"
    "       n.reserved_ram_mb, n.disk_gb, n.cpu_ratio::text, n.ram_ratio::text,"
    "       n.generation, coalesce(u.vcpus, 0), coalesce(u.mem_guar, 0),"
    "       coalesce(u.mem_max, 0), coalesce(u.disk, 0), coalesce(f.figures, '')"
    "  FROM nodes n"
    /* its pools as the engine reported them (migrations/0024) */
    "  LEFT JOIN sw_node_pool_figures() f ON f.node_id = n.id"
    "  LEFT JOIN LATERAL ("
    "       SELECT sum(a.vcpus) AS vcpus, sum(a.mem_guar_mb) AS mem_guar,"
    "              sum(a.mem_max_mb) AS mem_max, sum(a.disk_gb) AS disk"
    "         FROM (SELECT vcpus, mem_guar_mb, mem_max_mb, disk_gb FROM allocations"
    "                WHERE node_id = n.id"
    /* a migration's hold on its target (0031, provisioner/migrate.c) */
    "               UNION ALL SELECT vcpus, mem_guar_mb, mem_max_mb, disk_gb"
    "                 FROM migration_claims WHERE node_id = n.id) a) u ON true"
    " WHERE $1::uuid IS NULL OR n.id = $1::uuid"
    " ORDER BY n.id";

long sw_claim_heartbeat_s(void)
{
    const char *v = getenv("SLIPWAY_HEARTBEAT_INTERVAL");
    char *end = NULL;
    long s = v && *v ? strtol(v, &end, 10) : 0;
    return s > 0 && s < 86400 && end && *end == '\0' ? s : 5;
}

/* DISK from the node's pools (core/diskpool.h): their capacity x ratio, or
 * disk_gb while none has reported; a node whose pools are all full or
 * missing takes no new servers. */
static int node_disk(const char *pools, struct sw_place_node *n)
{
    struct sw_diskpool_sum sum;
    if (sw_diskpool_node(pools, n->inv.disk_gb, &sum) < 0)
        return -1;
    n->inv.disk_gb = sum.capacity_gb;
    n->pools_full = sum.all_full;
    return 0;
}

static int parse_node(const PGresult *res, int i, struct sw_place_node *n)
{
    const char *id = sw_db_get(res, i, 0), *loc = sw_db_get(res, i, 1);
    memset(n, 0, sizeof *n);
    if (!id || !loc || strlen(id) > SW_UUID_LEN || strlen(loc) > SW_UUID_LEN)
        return -1;
    memcpy(n->id, id, strlen(id) + 1);
    memcpy(n->location_id, loc, strlen(loc) + 1);
    n->state = sw_node_state_parse(sw_db_get(res, i, 2));
    if (n->state < 0 || sw_place_kinds_parse(sw_db_get(res, i, 3), &n->kinds) < 0 ||
        sw_ratio_parse(sw_db_get(res, i, 8), &n->inv.cpu_ratio_milli) < 0 ||
        sw_ratio_parse(sw_db_get(res, i, 9), &n->inv.ram_ratio_milli) < 0)
        return -1;
    n->inv.cpus = sw_db_get_i64(res, i, 4);
    n->inv.ram_mb = sw_db_get_i64(res, i, 5);
    n->inv.reserved_ram_mb = sw_db_get_i64(res, i, 6);
    n->inv.disk_gb = sw_db_get_i64(res, i, 7);
    n->generation = sw_db_get_i64(res, i, 10);
    n->used.v[SW_RC_VCPU] = sw_db_get_i64(res, i, 11);
    n->used.v[SW_RC_MEM_GUAR] = sw_db_get_i64(res, i, 12);
    n->used.v[SW_RC_MEM_MAX] = sw_db_get_i64(res, i, 13);
    n->used.v[SW_RC_DISK] = sw_db_get_i64(res, i, 14);
    return node_disk(sw_db_get(res, i, 15), n);
}

/* A claim's re-read of one node, in its transaction: the node's shared
 * pools locked first (one advisory lock per location and pool name, in
 * order), so that claims on two nodes of one shared pool take turns and
 * each counts what the other placed (migrations/0037). */
static const char sql_lock_shared[] =
    "SELECT count(pg_advisory_xact_lock(k)) FROM ("
    "  SELECT DISTINCT hashtextextended(n.location_id::text || '/' || p.name, 37) AS k"
    "    FROM node_pools p JOIN nodes n ON n.id = p.node_id"
    "   WHERE p.node_id = $1 AND p.shared ORDER BY 1) x";

struct sw_place_node *sw_claim_load_nodes(struct sw_db *db, const char *node_id, size_t *n,
                                          struct sw_err *err)
{
    if (node_id && sw_db_run(db, err, sql_lock_shared, SW_PARAMS(node_id)) < 0)
        return NULL;
    char hb[16];
    snprintf(hb, sizeof hb, "%ld", sw_claim_heartbeat_s());
    PGresult *res = sw_db_exec(db, err, sql_nodes, SW_PARAMS(node_id, hb));
    if (!res)
        return NULL;
    int rows = PQntuples(res);
    struct sw_place_node *v = sw_calloc(rows > 0 ? (size_t)rows : 1, sizeof *v);
    size_t k = 0;
    for (int i = 0; i < rows; i++) {
        if (parse_node(res, i, &v[k]) < 0) {
            const char *id = sw_db_get(res, i, 0);
            sw_warn("node.skipped", "node=%s why=\"state, kinds, ratios or pools do not parse\"",
                    id ? id : "?");
            continue;
        }
        k++;
    }
    PQclear(res);
    *n = k;
    return v;
}

void sw_claim_request(const struct sw_job_row *row, struct sw_place_req *req)
{
    memset(req, 0, sizeof *req);
    req->kind = row->plan.kind;
    req->location_id = row->location_id[0] ? row->location_id : NULL;
    sw_plan_demand(&row->plan, &req->want);
}

/* ---- one try on one node, in one transaction ---- */

enum try_outcome { TRY_CLAIMED, TRY_TAKEN, TRY_SERVER_GONE, TRY_NO_ROOM, TRY_CONFLICT };

struct try_ctx {
    const char *job_id;
    const char *node_id;
    int outcome; /* enum try_outcome */
    int64_t generation;
    const char *alternates;  /* JSON array of the node ids to fall back on */
    char ipv4[64], ipv6[64]; /* "" for none */
    bool v4_full, v6_full;   /* the location has pools of the family, all full */
};

static int try_tx(struct sw_db *db, void *arg, struct sw_err *err)
{
    struct try_ctx *c = arg;
    struct sw_job_row row;
    int found = sw_jobdb_load(db, c->job_id, true, &row, err);
    if (found < 0)
        return -1;
    if (found == 0 || row.state != SW_JOBST_QUEUED) {
        c->outcome = TRY_TAKEN;
        return 0;
    }
    if (row.srv_state != SW_SRV_PENDING) {
        c->outcome = TRY_SERVER_GONE;
        return 0;
    }

    /* Re-read the node and its use, and re-check the fit. */
    size_t n = 0;
    struct sw_place_node *node = sw_claim_load_nodes(db, c->node_id, &n, err);
    if (!node)
        return -1;
    struct sw_place_req req;
    sw_claim_request(&row, &req);
    if (n != 1 || sw_place_check(node, &req, NULL) != SW_PLACE_FITS) {
        free(node);
        c->outcome = TRY_NO_ROOM;
        return 0;
    }
    char gen[24];
    snprintf(gen, sizeof gen, "%lld", (long long)node->generation);
    c->generation = node->generation;
    sw_uuid_t loc;
    memcpy(loc, node->location_id, sizeof loc);
    free(node);

    /* The guard: any claim on this node committed since our read moved
     * the generation, and a concurrent one holds the row lock until it
     * commits, after which this matches no row. */
    long rows = sw_db_run(db, err,
                          "UPDATE nodes SET generation = generation + 1"
                          " WHERE id = $1 AND generation = $2",
                          SW_PARAMS(c->node_id, gen));
    if (rows < 0)
        return -1;
    if (rows == 0) {
        c->outcome = TRY_CONFLICT;
        return 0;
    }

    char a[SW_RC__COUNT][24];
    for (int k = 0; k < SW_RC__COUNT; k++)
        snprintf(a[k], sizeof a[k], "%lld", (long long)req.want.v[k]);
    /* The allocation, and the alternates a failed build moves to (README.md
     * "Alternates"), in one statement. */
    if (sw_db_run(db, err,
                  "WITH a AS (INSERT INTO allocations (server_id, node_id, vcpus, mem_guar_mb,"
                  "  mem_max_mb, disk_gb) VALUES ($1, $2, $3, $4, $5, $6)"
                  "  ON CONFLICT (server_id) DO UPDATE SET node_id = excluded.node_id,"
                  "  vcpus = excluded.vcpus, mem_guar_mb = excluded.mem_guar_mb,"
                  "  mem_max_mb = excluded.mem_max_mb, disk_gb = excluded.disk_gb,"
                  "  created_at = now())"
                  " UPDATE jobs SET params = (params - 'reclaim')"
                  " || jsonb_build_object('alternates', $8::jsonb) WHERE id = $7",
                  SW_PARAMS(row.server_id, c->node_id, a[SW_RC_VCPU], a[SW_RC_MEM_GUAR],
                            a[SW_RC_MEM_MAX], a[SW_RC_DISK], row.job_id, c->alternates)) < 0)
        return -1;
    if (sw_jobdb_mark_running(db, &row, c->node_id, SW_SRV_PROVISIONING, err) < 0)
        return -1;
    /* Addresses from the node's location, in this same transaction. */
    PGresult *ip = sw_db_exec(db, err,
                              "SELECT coalesce(host(ipv4), ''), coalesce(ipv6::text, ''),"
                              " coalesce(v4_exhausted::text, 'nopool'),"
                              " coalesce(v6_exhausted::text, 'nopool')"
                              " FROM sw_ipam_assign($1, $2)",
                              SW_PARAMS(row.server_id, loc));
    if (!ip)
        return -1;
    snprintf(c->ipv4, sizeof c->ipv4, "%s", sw_db_get(ip, 0, 0) ? sw_db_get(ip, 0, 0) : "");
    snprintf(c->ipv6, sizeof c->ipv6, "%s", sw_db_get(ip, 0, 1) ? sw_db_get(ip, 0, 1) : "");
    c->v4_full = sw_db_get(ip, 0, 2) && strcmp(sw_db_get(ip, 0, 2), "true") == 0;
    c->v6_full = sw_db_get(ip, 0, 3) && strcmp(sw_db_get(ip, 0, 3), "true") == 0;
    PQclear(ip);
    c->outcome = TRY_CLAIMED;
    return 0;
}

/* What a try means for the whole placement: -1 to go on trying. */
static const int try_final[] = {
    [TRY_CLAIMED] = SW_CLAIM_OK,
    [TRY_TAKEN] = SW_CLAIM_TAKEN,
    [TRY_SERVER_GONE] = SW_CLAIM_SERVER_GONE,
    [TRY_NO_ROOM] = -1,
    [TRY_CONFLICT] = -1,
};

/* 2-20 ms, growing with the try number. */
static void jitter(int attempt)
{
    long us = 2000L * (attempt + 1) + (long)randombytes_uniform(18000);
    struct timespec ts = {0, us * 1000L};
    nanosleep(&ts, NULL);
}

/* JSON array of up to SW_CLAIM_ALTERNATES ids: ids[from..n) */
static void alternates_json(char *out, size_t size, const char *const *ids, size_t from, size_t n)
{
    size_t len = (size_t)snprintf(out, size, "[");
    for (size_t i = from, k = 0; i < n && k < SW_CLAIM_ALTERNATES && len < size; i++, k++)
        len += (size_t)snprintf(out + len, size - len, "%s\"%s\"", k ? "," : "", ids[i]);
    if (len < size)
        snprintf(out + len, size - len, "]");
}

/* One try-loop on one candidate: 1 decided (res set), 0 go on, -1 error. */
static int claim_on(struct sw_db *db, const struct sw_job_row *row, const char *node_id,
                    const char *loc, const char *alternates, int round, struct sw_claim_result *res,
                    struct sw_err *err)
{
    for (int t = 0; t < CLAIM_TRIES_PER_NODE; t++) {
        struct try_ctx c = {.job_id = row->job_id,
                            .node_id = node_id,
                            .outcome = TRY_NO_ROOM,
                            .alternates = alternates};
        if (sw_db_tx(db, try_tx, &c, err) < 0)
            return -1;
        if (try_final[c.outcome] >= 0) {
            res->outcome = try_final[c.outcome];
            snprintf(res->node_id, sizeof res->node_id, "%s", node_id);
            if (c.outcome == TRY_CLAIMED) {
                sw_info("job.claimed",
                        "job=%s server=%s node=%s generation=%lld round=%d try=%d"
                        " ipv4=%s ipv6=%s alternates=%s",
                        row->job_id, row->server_id, node_id, (long long)c.generation + 1, round, t,
                        c.ipv4[0] ? c.ipv4 : "none", c.ipv6[0] ? c.ipv6 : "none", alternates);
                if (c.v4_full || c.v6_full)
                    sw_warn("ipam.exhausted", "server=%s location=%s ipv4_full=%d ipv6_full=%d",
                            row->server_id, loc, c.v4_full, c.v6_full);
            }
            return 1;
        }
        if (c.outcome == TRY_NO_ROOM)
            return 0; /* next candidate */
        sw_debug("claim.conflict", "job=%s node=%s try=%d", row->job_id, node_id, t);
        jitter(t);
    }
    return 0;
}

/* After a failed build (results.c moved the job back to queued with
 * params.reclaim): the job's alternates, in order, and nothing else. */
static int claim_alternates(struct sw_db *db, const struct sw_job_row *row, char *list,
                            struct sw_claim_result *res, struct sw_err *err)
{
    const char *ids[SW_CLAIM_ALTERNATES];
    size_t n = 0;
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok && n < SW_CLAIM_ALTERNATES;
         tok = strtok_r(NULL, ",", &save))
        ids[n++] = tok;
    for (size_t i = 0; i < n; i++) {
        char alts[4 + SW_CLAIM_ALTERNATES * (SW_UUID_LEN + 3)];
        alternates_json(alts, sizeof alts, ids, i + 1, n);
        int rc = claim_on(db, row, ids[i], "-", alts, 0, res, err);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
    }
    /* Exhausted: the job fails; an operator's retry places it afresh. */
    if (sw_db_run(db, err, "UPDATE jobs SET params = params - 'reclaim' WHERE id = $1",
                  SW_PARAMS(row->job_id)) < 0)
        return -1;
    res->outcome = SW_CLAIM_NO_CAPACITY;
    snprintf(res->why, sizeof res->why, "alternates=%zu why=alternates_exhausted", n);
    return 0;
}

int sw_claim_place(struct sw_db *db, const struct sw_job_row *row, struct sw_claim_result *res,
                   struct sw_err *err)
{
    memset(res, 0, sizeof *res);
    PGresult *ar = sw_db_exec(db, err,
                              "SELECT coalesce((params->>'reclaim')::boolean, false),"
                              " coalesce((SELECT string_agg(x, ',' ORDER BY o)"
                              "   FROM jsonb_array_elements_text(CASE WHEN"
                              "     jsonb_typeof(params->'alternates') = 'array'"
                              "     THEN params->'alternates' ELSE '[]' END)"
                              "   WITH ORDINALITY AS a(x, o)), '')"
                              " FROM jobs WHERE id = $1",
                              SW_PARAMS(row->job_id));
    if (!ar)
        return -1;
    if (PQntuples(ar) == 1 && strcmp(sw_db_get(ar, 0, 0), "t") == 0) {
        char list[SW_CLAIM_ALTERNATES * (SW_UUID_LEN + 1) + 1];
        snprintf(list, sizeof list, "%s", sw_db_get(ar, 0, 1));
        PQclear(ar);
        return claim_alternates(db, row, list, res, err);
    }
    PQclear(ar);

    struct sw_place_req req;
    sw_claim_request(row, &req);
    for (int round = 0; round < CLAIM_ROUNDS; round++) {
        size_t n = 0;
        struct sw_place_node *nodes = sw_claim_load_nodes(db, NULL, &n, err);
        if (!nodes)
            return -1;
        /* The pick and its next best, without sorting every node: a claim
         * tries at most CLAIM_CANDIDATES before reloading the nodes. */
        size_t order[CLAIM_CANDIDATES];
        struct sw_place_tally tally;
        size_t fit = sw_place_rank_top(nodes, n, &req, randombytes_random(), order,
                                       CLAIM_CANDIDATES, &tally);
        if (fit > CLAIM_CANDIDATES)
            fit = CLAIM_CANDIDATES;
        if (fit == 0) {
            sw_place_tally_format(&tally, res->why, sizeof res->why);
            res->outcome = SW_CLAIM_NO_CAPACITY;
            free(nodes);
            return 0;
        }
        const char **ids = sw_calloc(fit, sizeof *ids);
        for (size_t i = 0; i < fit; i++)
            ids[i] = nodes[order[i]].id;
        int rc = 0;
        for (size_t i = 0; i < fit && rc == 0; i++) {
            char alts[4 + SW_CLAIM_ALTERNATES * (SW_UUID_LEN + 3)];
            alternates_json(alts, sizeof alts, ids, i + 1, fit);
            rc = claim_on(db, row, ids[i], nodes[order[i]].location_id, alts, round, res, err);
        }
        free(ids);
        free(nodes);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
    }
    res->outcome = SW_CLAIM_CONTENDED;
    snprintf(res->why, sizeof res->why, "claims kept colliding after %d rounds", CLAIM_ROUNDS);
    return 0;
}

/* ---- resize: the difference, on the same node ---- */

struct resize_ctx {
    struct sw_job_row *row;
    struct sw_claim_result *res;
    int64_t generation;
};

static int resize_decide(struct resize_ctx *c, int outcome, const char *why)
{
    c->res->outcome = outcome;
    snprintf(c->res->why, sizeof c->res->why, "%s", why);
    return 0;
}

static int resize_tx(struct sw_db *db, void *arg, struct sw_err *err)
{
    struct resize_ctx *c = arg;
    struct sw_job_row *row = c->row;
    int found = sw_jobdb_load(db, row->job_id, true, row, err);
    if (found < 0)
        return -1;
    if (found == 0 || row->state != SW_JOBST_QUEUED)
        return resize_decide(c, SW_CLAIM_TAKEN, "");
    if (!row->srv_node_id[0])
        return resize_decide(c, SW_CLAIM_SERVER_GONE, "the server is not on a node");
    if (row->srv_state != SW_SRV_RUNNING && row->srv_state != SW_SRV_STOPPED)
        return resize_decide(c, SW_CLAIM_SERVER_GONE, "only a running or stopped server can be resized");
    if (!row->has_target)
        return resize_decide(c, SW_CLAIM_INVALID, "the new plan does not exist");
    if (row->target.kind != row->plan.kind)
        return resize_decide(c, SW_CLAIM_INVALID, "the new plan is of another kind");
    if (row->target.disk_gb < row->plan.disk_gb)
        return resize_decide(c, SW_CLAIM_INVALID,
                             "the new plan's disk is smaller than the server's; disks only grow");

    size_t n = 0;
    struct sw_place_node *node = sw_claim_load_nodes(db, row->srv_node_id, &n, err);
    if (!node)
        return -1;
    if (n != 1) {
        free(node);
        SW_ERR(err, SW_EINTERNAL, "the node of server %s does not load", row->server_id);
        return -1;
    }
    /* What the server holds now (its plan's demand when it has no row). */
    struct sw_amounts cur, want, grow, extra;
    sw_plan_demand(&row->plan, &cur);
    PGresult *a = sw_db_exec(db, err,
                             "SELECT vcpus, mem_guar_mb, mem_max_mb, disk_gb FROM allocations"
                             " WHERE server_id = $1 AND node_id = $2",
                             SW_PARAMS(row->server_id, row->srv_node_id));
    if (!a) {
        free(node);
        return -1;
    }
    bool held = PQntuples(a) == 1;
    if (held) {
        cur.v[SW_RC_VCPU] = sw_db_get_i64(a, 0, 0);
        cur.v[SW_RC_MEM_GUAR] = sw_db_get_i64(a, 0, 1);
        cur.v[SW_RC_MEM_MAX] = sw_db_get_i64(a, 0, 2);
        cur.v[SW_RC_DISK] = sw_db_get_i64(a, 0, 3);
    }
    PQclear(a);
    sw_plan_demand(&row->target, &want);
    for (int k = 0; k < SW_RC__COUNT; k++) {
        grow.v[k] = want.v[k] > cur.v[k] ? want.v[k] : cur.v[k];
        extra.v[k] = grow.v[k] - (held ? cur.v[k] : 0);
    }
    int short_class = -1;
    bool fits = sw_node_fits(&node->inv, &node->used, &extra, &short_class);
    int64_t gen = node->generation;
    free(node);
    if (!fits) {
        char why[160];
        snprintf(why, sizeof why, "the server's node has no room for the new plan (%s)",
                 short_class >= 0 ? sw_res_class_name(short_class) : "?");
        return resize_decide(c, SW_CLAIM_NO_CAPACITY, why);
    }
    char g[24];
    snprintf(g, sizeof g, "%lld", (long long)gen);
    long rows = sw_db_run(db, err,
                          "UPDATE nodes SET generation = generation + 1"
                          " WHERE id = $1 AND generation = $2",
                          SW_PARAMS(row->srv_node_id, g));
    if (rows < 0)
        return -1;
    if (rows == 0)
        return resize_decide(c, SW_CLAIM_CONTENDED, "");
    c->generation = gen + 1;
    char v[SW_RC__COUNT][24];
    for (int k = 0; k < SW_RC__COUNT; k++)
        snprintf(v[k], sizeof v[k], "%lld", (long long)grow.v[k]);
    if (sw_db_run(db, err,
                  "INSERT INTO allocations (server_id, node_id, vcpus, mem_guar_mb, mem_max_mb,"
                  " disk_gb) VALUES ($1, $2, $3, $4, $5, $6)"
                  " ON CONFLICT (server_id) DO UPDATE SET vcpus = excluded.vcpus,"
                  " mem_guar_mb = excluded.mem_guar_mb, mem_max_mb = excluded.mem_max_mb,"
                  " disk_gb = excluded.disk_gb",
                  SW_PARAMS(row->server_id, row->srv_node_id, v[SW_RC_VCPU], v[SW_RC_MEM_GUAR],
                            v[SW_RC_MEM_MAX], v[SW_RC_DISK])) < 0 ||
        sw_jobdb_mark_running(db, row, row->srv_node_id, SW_SRV_KEEP, err) < 0)
        return -1;
    snprintf(c->res->node_id, sizeof c->res->node_id, "%s", row->srv_node_id);
    return resize_decide(c, SW_CLAIM_OK, "");
}

int sw_claim_resize(struct sw_db *db, struct sw_job_row *row, struct sw_claim_result *res,
                    struct sw_err *err)
{
    memset(res, 0, sizeof *res);
    for (int t = 0; t < CLAIM_TRIES_PER_NODE * CLAIM_ROUNDS; t++) {
        struct resize_ctx c = {row, res, 0};
        if (sw_db_tx(db, resize_tx, &c, err) < 0)
            return -1;
        if (res->outcome != SW_CLAIM_CONTENDED) {
            if (res->outcome == SW_CLAIM_OK)
                sw_info("job.claimed", "job=%s server=%s node=%s generation=%lld type=resize"
                        " try=%d", row->job_id, row->server_id, res->node_id,
                        (long long)c.generation, t);
            return 0;
        }
        jitter(t);
    }
    snprintf(res->why, sizeof res->why, "claims on the node kept colliding");
    return 0;
}
