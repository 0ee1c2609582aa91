/* bench/scheduler.c - placement speed and packing, in memory, and the claim
 * transaction's rate against PostgreSQL. Run by bench/scheduler.sh, which
 * prints the table; each mode prints one line of key=value figures.
 *
 *   scheduler decisions NODES COUNT
 *       COUNT placement decisions (sw_place_rank_top, 1 pick + 2 alternates)
 *       over NODES nodes of mixed kinds with a plan mix, each decision
 *       applied to its node and the oldest of the last 2,000 released, so
 *       the cluster stays part full; decisions/s and p50/p99/max per
 *       decision. "full" as a third argument ranks with sw_place_rank()
 *       (every fitting node, sorted) instead, for reference.
 *   scheduler fill NODES CPUS RAM_MB DISK_GB VCPUS INST_RAM_MB INST_DISK_GB CPU_RATIO
 *       fills an empty cluster of identical pv nodes with one instance size
 *       until nothing fits (what hspace --standard-alloc does); instances
 *       placed and seconds.
 *   scheduler hetero NODES_PER_SIZE mix|largest
 *       fills an empty cluster of three node sizes with a mix of four plan
 *       sizes, drawn by weight in order of arrival (mix) or largest plan
 *       first (largest), until none fits; instances, per plan, the volume
 *       bound (per class, capacity over the smallest demand; the least) and
 *       the fraction of it reached, use per class, seconds.
 *   scheduler hetero-htools NODES_PER_SIZE
 *       the same empty cluster in htools' text format, for hspace -t.
 *   scheduler claims CONNINFO CLAIMERS SECONDS
 *       CLAIMERS threads, each with its own connection, take the queued
 *       create jobs of the database for SECONDS as the provisioner does:
 *       sw_jobdb_load, then the product's sw_claim_place (provisioner/
 *       claim.c, linked in: load the nodes, rank, claim under the
 *       generation guard with jitter and retries, alternates, IPAM).
 *       Claims/s and the other outcomes; each generation conflict is a
 *       claim.conflict line on stderr (the log runs at debug).
 *   scheduler demand KIND VCPUS RAM_MB BURST_RAM_MB SWAP_MB DISK_GB
 *       what a plan asks of a node per resource class (sw_plan_demand), for
 *       the scripts that model the same plans elsewhere.
 */
#include "config.h"

#include "core/crypto.h"
#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"
#include "core/resource.h"
#include "provisioner/claim.h"
#include "provisioner/jobdb.h"
#include "provisioner/placement.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : (x > y);
}

/* ---- decisions ---- */

#define ALL_KINDS ((1u << SW_KIND_CONTAINER) | (1u << SW_KIND_PV) | (1u << SW_KIND_HVM))

static void mk_node(struct sw_place_node *n, size_t i)
{
    memset(n, 0, sizeof *n);
    snprintf(n->id, sizeof n->id, "00000000-0000-4000-8000-%012u", (unsigned)i);
    snprintf(n->location_id, sizeof n->location_id, "aaaaaaaa-0000-4000-8000-%012u", (unsigned)(i % 4));
    n->state = i % 50 == 49 ? SW_NODE_DRAINING : SW_NODE_ACTIVE;
    /* a third container-only (cpu 16, ram 1.5), a third hvm burst pools
     * (cpu 4, ram 1.5), a third pv + hvm (cpu 4, ram 1.0): the panel's
     * defaults by kinds */
    switch (i % 3) {
    case 0:
        n->kinds = 1u << SW_KIND_CONTAINER;
        n->inv = (struct sw_node_inv){32, 131072, 4096, 2000, 16000, 1500};
        break;
    case 1:
        n->kinds = 1u << SW_KIND_HVM;
        n->inv = (struct sw_node_inv){48, 262144, 8192, 4000, 4000, 1500};
        break;
    default:
        n->kinds = (1u << SW_KIND_PV) | (1u << SW_KIND_HVM);
        n->inv = (struct sw_node_inv){32, 196608, 4096, 4000, 4000, 1000};
        break;
    }
}

/* A plan of a mix and its share of the orders. */
struct weighted_plan {
    int weight;
    struct sw_plan_size plan;
};

/* The plan mix. */
static const struct weighted_plan plan_mix[] = {
    {30, {SW_KIND_CONTAINER, 1, 1024, 0, 512, 20}},
    {10, {SW_KIND_CONTAINER, 2, 4096, 0, 2048, 60}},
    {20, {SW_KIND_HVM, 2, 2048, 4096, 0, 40}},
    {10, {SW_KIND_HVM, 4, 8192, 16384, 0, 100}},
    {10, {SW_KIND_HVM, 2, 4096, 0, 0, 80}}, /* dedicated */
    {20, {SW_KIND_PV, 2, 4096, 0, 0, 60}},
};
#define N_PLANS (sizeof plan_mix / sizeof plan_mix[0])

/* An index drawn with probability w[i] / sum(w); -1 when all are 0. */
static int pick_weighted(const int *w, size_t n)
{
    int total = 0;
    for (size_t i = 0; i < n; i++)
        total += w[i];
    if (total == 0)
        return -1;
    int r = (int)(rnd() % (uint32_t)total);
    for (size_t i = 0; i < n; i++) {
        if (r < w[i])
            return (int)i;
        r -= w[i];
    }
    return -1;
}

static int pick_plan(void)
{
    int w[N_PLANS];
    for (size_t i = 0; i < N_PLANS; i++)
        w[i] = plan_mix[i].weight;
    return pick_weighted(w, N_PLANS);
}

#define LIVE 2000

static int run_decisions(size_t nodes, size_t count, bool full)
{
    struct sw_place_node *v = calloc(nodes, sizeof *v);
    size_t *order = calloc(nodes, sizeof *order);
    double *lat = calloc(count, sizeof *lat);
    struct {
        size_t node;
        struct sw_amounts want;
    } live[LIVE];
    size_t nlive = 0, next_live = 0, none = 0;
    if (!v || !order || !lat)
        return 1;
    for (size_t i = 0; i < nodes; i++) {
        mk_node(&v[i], i);
        /* start 40-80% used in memory, proportionally elsewhere */
        struct sw_amounts cap;
        sw_node_capacity(&v[i].inv, &cap);
        int pct = 40 + (int)(rnd() % 41);
        for (int c = 0; c < SW_RC__COUNT; c++)
            v[i].used.v[c] = cap.v[c] * pct / 100;
    }
    struct sw_place_req reqs[N_PLANS];
    for (size_t p = 0; p < N_PLANS; p++) {
        memset(&reqs[p], 0, sizeof reqs[p]);
        reqs[p].kind = plan_mix[p].plan.kind;
        sw_plan_demand(&plan_mix[p].plan, &reqs[p].want);
    }
    double t0 = now_s();
    for (size_t d = 0; d < count; d++) {
        struct sw_place_req *r = &reqs[pick_plan()];
        uint32_t pick = rnd();
        double a = now_s();
        size_t fit = full ? sw_place_rank(v, nodes, r, pick, order, NULL)
                          : sw_place_rank_top(v, nodes, r, pick, order, 3, NULL);
        double b = now_s();
        lat[d] = b - a;
        if (fit == 0) {
            none++;
            continue;
        }
        /* apply it; release the oldest of the last LIVE placements */
        if (nlive == LIVE) {
            for (int c = 0; c < SW_RC__COUNT; c++)
                v[live[next_live].node].used.v[c] -= live[next_live].want.v[c];
        } else {
            nlive++;
        }
        live[next_live].node = order[0];
        live[next_live].want = r->want;
        for (int c = 0; c < SW_RC__COUNT; c++)
            v[order[0]].used.v[c] += r->want.v[c];
        next_live = (next_live + 1) % LIVE;
    }
    double total = now_s() - t0;
    qsort(lat, count, sizeof *lat, cmp_double);
    double sum = 0;
    for (size_t d = 0; d < count; d++)
        sum += lat[d];
    printf("decisions nodes=%zu count=%zu ranker=%s per_s=%.0f wall_per_s=%.0f p50_us=%.1f "
           "p99_us=%.1f max_us=%.1f no_fit=%zu\n",
           nodes, count, full ? "full_sort" : "top3", (double)count / sum, (double)count / total,
           lat[count / 2] * 1e6, lat[(size_t)((double)count * 0.99)] * 1e6, lat[count - 1] * 1e6,
           none);
    free(v);
    free(order);
    free(lat);
    return 0;
}

/* ---- fill (hspace --standard-alloc) ---- */

static int run_fill(size_t nodes, int64_t cpus, int64_t ram, int64_t disk, int64_t vcpus,
                    int64_t iram, int64_t idisk, int64_t cpu_milli)
{
    struct sw_place_node *v = calloc(nodes, sizeof *v);
    size_t order[3];
    if (!v)
        return 1;
    for (size_t i = 0; i < nodes; i++) {
        snprintf(v[i].id, sizeof v[i].id, "00000000-0000-4000-8000-%012u", (unsigned)i);
        v[i].state = SW_NODE_ACTIVE;
        v[i].kinds = ALL_KINDS;
        v[i].inv = (struct sw_node_inv){cpus, ram, 0, disk, cpu_milli, 1000};
    }
    struct sw_plan_size p = {SW_KIND_PV, vcpus, iram, 0, 0, idisk};
    struct sw_place_req r;
    memset(&r, 0, sizeof r);
    r.kind = SW_KIND_PV;
    sw_plan_demand(&p, &r.want);
    size_t placed = 0;
    struct sw_place_tally t;
    double t0 = now_s();
    while (sw_place_rank_top(v, nodes, &r, rnd(), order, 3, &t) > 0) {
        for (int c = 0; c < SW_RC__COUNT; c++)
            v[order[0]].used.v[c] += r.want.v[c];
        placed++;
    }
    double secs = now_s() - t0;
    char why[160];
    sw_place_tally_format(&t, why, sizeof why);
    printf("fill nodes=%zu instances=%zu seconds=%.6f stop=\"%s\"\n", nodes, placed, secs, why);
    free(v);
    return 0;
}

/* ---- hetero: three node sizes, four plan sizes (hspace --tiered-alloc) ---- */

/* pv nodes (RAM ratio 1.0, CPU ratio 4): small, medium, large, of
 * different shapes (GiB of RAM per CPU: 4, 6, 6; disk per CPU differs) */
static const struct sw_node_inv het_sizes[] = {
    {16, 65536, 0, 1000, 4000, 1000},
    {32, 196608, 0, 2000, 4000, 1000},
    {64, 393216, 0, 6000, 4000, 1000},
};
#define N_HET_SIZES (sizeof het_sizes / sizeof het_sizes[0])

/* The plan mix, with a memory-heavy and a CPU-heavy plan. */
static const struct weighted_plan het_plans[] = {
    {40, {SW_KIND_PV, 1, 2048, 0, 0, 20}},
    {30, {SW_KIND_PV, 2, 4096, 0, 0, 40}},
    {15, {SW_KIND_PV, 4, 16384, 0, 0, 80}},
    {15, {SW_KIND_PV, 8, 8192, 0, 0, 160}},
};
#define N_HET_PLANS (sizeof het_plans / sizeof het_plans[0])

/* per_size nodes of each size, interleaved. Returns owned (free()). */
static struct sw_place_node *het_cluster(size_t per_size, size_t *n)
{
    *n = per_size * N_HET_SIZES;
    struct sw_place_node *v = calloc(*n ? *n : 1, sizeof *v);
    for (size_t i = 0; v && i < *n; i++) {
        snprintf(v[i].id, sizeof v[i].id, "00000000-0000-4000-8000-%012u", (unsigned)i);
        v[i].state = SW_NODE_ACTIVE;
        v[i].kinds = ALL_KINDS;
        v[i].inv = het_sizes[i % N_HET_SIZES];
    }
    return v;
}

/* The per-class minimum of the plans' demands. */
static void het_min_demand(struct sw_amounts *min)
{
    for (size_t p = 0; p < N_HET_PLANS; p++) {
        struct sw_amounts d;
        sw_plan_demand(&het_plans[p].plan, &d);
        for (int c = 0; c < SW_RC__COUNT; c++)
            if (p == 0 || d.v[c] < min->v[c])
                min->v[c] = d.v[c];
    }
}

/* The volume bound: per class, the cluster's capacity over the smallest
 * demand of any plan in that class; the least of those. No placement of
 * these plans (nor of anything at least that small) can hold more. */
static int64_t het_bound(const struct sw_place_node *v, size_t n, struct sw_amounts *cap)
{
    struct sw_amounts min;
    het_min_demand(&min);
    memset(cap, 0, sizeof *cap);
    for (size_t i = 0; i < n; i++) {
        struct sw_amounts c1;
        sw_node_capacity(&v[i].inv, &c1);
        for (int c = 0; c < SW_RC__COUNT; c++)
            cap->v[c] += c1.v[c];
    }
    int64_t bound = INT64_MAX;
    for (int c = 0; c < SW_RC__COUNT; c++)
        if (min.v[c] > 0 && cap->v[c] / min.v[c] < bound)
            bound = cap->v[c] / min.v[c];
    return bound;
}

/* Places one server of r where slipway's ranker puts it: true when placed. */
static bool het_place(struct sw_place_node *v, size_t n, const struct sw_place_req *r)
{
    size_t order[3];
    if (sw_place_rank_top(v, n, r, rnd(), order, 3, NULL) == 0)
        return false;
    for (int c = 0; c < SW_RC__COUNT; c++)
        v[order[0]].used.v[c] += r->want.v[c];
    return true;
}

/* A plan drawn by weight among those still fitting somewhere; -1 if none. */
static int het_draw(const bool *live)
{
    int w[N_HET_PLANS];
    for (size_t p = 0; p < N_HET_PLANS; p++)
        w[p] = live[p] ? het_plans[p].weight : 0;
    return pick_weighted(w, N_HET_PLANS);
}

/* Fills the cluster: "mix" draws plans by weight in arrival order (a plan
 * that fits nowhere leaves the draw) until none fits; "largest" fills with
 * each plan, the most RAM first, until it fits nowhere (tiered). */
static size_t het_fill(struct sw_place_node *v, size_t n, bool largest, size_t *per_plan)
{
    struct sw_place_req reqs[N_HET_PLANS];
    bool live[N_HET_PLANS];
    for (size_t p = 0; p < N_HET_PLANS; p++) {
        memset(&reqs[p], 0, sizeof reqs[p]);
        reqs[p].kind = het_plans[p].plan.kind;
        sw_plan_demand(&het_plans[p].plan, &reqs[p].want);
        live[p] = true;
        per_plan[p] = 0;
    }
    size_t placed = 0;
    for (;;) {
        int p = -1;
        for (size_t q = 0; largest && q < N_HET_PLANS; q++)
            if (live[q] && (p < 0 || het_plans[q].plan.ram_mb > het_plans[p].plan.ram_mb))
                p = (int)q;
        if (!largest)
            p = het_draw(live);
        if (p < 0)
            return placed;
        if (het_place(v, n, &reqs[p])) {
            per_plan[p]++;
            placed++;
        } else {
            live[p] = false;
        }
    }
}

static int run_hetero(size_t per_size, bool largest)
{
    size_t n, per_plan[N_HET_PLANS];
    struct sw_place_node *v = het_cluster(per_size, &n);
    if (!v)
        return 1;
    struct sw_amounts cap, used = {{0}};
    int64_t bound = het_bound(v, n, &cap);
    double t0 = now_s();
    size_t placed = het_fill(v, n, largest, per_plan);
    double secs = now_s() - t0;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < SW_RC__COUNT; c++)
            used.v[c] += v[i].used.v[c];
    printf("hetero nodes=%zu order=%s instances=%zu bound=%lld fraction=%.3f per_plan=", n,
           largest ? "largest" : "mix", placed, (long long)bound, (double)placed / (double)bound);
    for (size_t p = 0; p < N_HET_PLANS; p++)
        printf("%s%zu", p ? "," : "", per_plan[p]);
    printf(" vcpu_used=%.3f mem_used=%.3f disk_used=%.3f seconds=%.6f\n",
           (double)used.v[SW_RC_VCPU] / (double)cap.v[SW_RC_VCPU],
           (double)used.v[SW_RC_MEM_GUAR] / (double)cap.v[SW_RC_MEM_GUAR],
           (double)used.v[SW_RC_DISK] / (double)cap.v[SW_RC_DISK], secs);
    free(v);
    return 0;
}

/* The same cluster in htools' text format (hspace -t), empty, with an
 * instance policy from the smallest to the largest plan in each dimension
 * (so --tiered-alloc never goes below the smallest plan). On stderr,
 * "tiered=DISK_MIB,RAM_MB,VCPUS": the largest plan in each dimension,
 * where --tiered-alloc starts. */
static int run_hetero_htools(size_t per_size)
{
    size_t n;
    struct sw_place_node *v = het_cluster(per_size, &n);
    if (!v)
        return 1;
    printf("group-01|fake-uuid-01|preferred||\n\n");
    for (size_t i = 0; i < n; i++) {
        const struct sw_node_inv *k = &v[i].inv;
        printf("node-%04zu|%lld|0|%lld|%lld|%lld|%lld|%c|fake-uuid-01|1||N|0|1|1.0\n", i,
               (long long)k->ram_mb, (long long)k->ram_mb, (long long)k->disk_gb * 1024,
               (long long)k->disk_gb * 1024, (long long)k->cpus, i == 0 ? 'M' : 'N');
    }
    int64_t lo[3] = {INT64_MAX, INT64_MAX, INT64_MAX}, hi[3] = {0, 0, 0}; /* ram, cpu, disk */
    for (size_t p = 0; p < N_HET_PLANS; p++) {
        const struct sw_plan_size *s = &het_plans[p].plan;
        int64_t x[3] = {s->ram_mb, s->vcpus, s->disk_gb * 1024};
        for (int d = 0; d < 3; d++) {
            lo[d] = x[d] < lo[d] ? x[d] : lo[d];
            hi[d] = x[d] > hi[d] ? x[d] : hi[d];
        }
    }
    char ratio[24];
    sw_ratio_format(het_sizes[0].cpu_ratio_milli, ratio);
    for (int g = 0; g < 2; g++)
        printf("%s%s|%lld,%lld,%lld,1,1,1|%lld,%lld,%lld,1,1,1;%lld,%lld,%lld,1,1,1|plain|%s|32.0\n",
               g ? "" : "\n\n", g ? "group-01" : "", (long long)hi[0], (long long)hi[1],
               (long long)hi[2], (long long)lo[0], (long long)lo[1], (long long)lo[2],
               (long long)hi[0], (long long)hi[1], (long long)hi[2], ratio);
    fprintf(stderr, "tiered=%lld,%lld,%lld\n", (long long)hi[2], (long long)hi[0], (long long)hi[1]);
    free(v);
    return 0;
}

/* ---- claims against PostgreSQL: the product's claim ---- */

struct claimer {
    const char *conninfo;
    int index, of;
    double seconds;
    size_t claims, no_capacity, contended, other, errors;
    double busy;
};

/* This claimer's queued create jobs (id hash % of = index), by id. */
static PGresult *my_jobs(struct sw_db *db, const struct claimer *c, struct sw_err *err)
{
    char of[16], index[16];
    snprintf(of, sizeof of, "%d", c->of);
    snprintf(index, sizeof index, "%d", c->index);
    return sw_db_exec(db, err,
                      "SELECT j.id FROM jobs j WHERE j.state = 'queued' AND j.type = 'create'"
                      " AND abs(hashtext(j.id::text)) % $1::int = $2::int ORDER BY j.id",
                      SW_PARAMS(of, index));
}

/* One job as the jobs consumer takes it (provisioner/jobs.c): load it,
 * then sw_claim_place (rank, claim with the generation guard, alternates,
 * addresses). Dispatch to the node's stream is not part of the claim. */
static void claim_one(struct sw_db *db, const char *job_id, struct claimer *c)
{
    struct sw_job_row row;
    struct sw_claim_result res;
    struct sw_err err;
    sw_err_clear(&err);
    int found = sw_jobdb_load(db, job_id, false, &row, &err);
    if (found <= 0 || sw_claim_place(db, &row, &res, &err) < 0) {
        if (c->errors++ < 3)
            fprintf(stderr, "claimer %d: job %s: %s (%s)\n", c->index, job_id,
                    found == 0 ? "not found" : err.msg, err.detail);
        return;
    }
    if (res.outcome == SW_CLAIM_OK)
        c->claims++;
    else if (res.outcome == SW_CLAIM_NO_CAPACITY)
        c->no_capacity++;
    else if (res.outcome == SW_CLAIM_CONTENDED)
        c->contended++;
    else
        c->other++;
}

static void *claimer_main(void *arg)
{
    struct claimer *c = arg;
    struct sw_err err;
    sw_err_clear(&err);
    struct sw_db *db = sw_db_connect(c->conninfo, &err);
    PGresult *jobs = db ? my_jobs(db, c, &err) : NULL;
    if (!jobs) {
        fprintf(stderr, "claimer %d: %s (%s)\n", c->index, err.msg, err.detail);
        c->errors++;
        sw_db_free(db);
        return NULL;
    }
    int n = PQntuples(jobs);
    double t0 = now_s(), end = t0 + c->seconds;
    for (int j = 0; j < n && now_s() < end; j++)
        claim_one(db, PQgetvalue(jobs, j, 0), c);
    c->busy = now_s() - t0;
    PQclear(jobs);
    sw_db_free(db);
    return NULL;
}

static int run_claims(const char *conninfo, int claimers, double seconds)
{
    struct claimer c[64];
    pthread_t th[64];
    if (claimers < 1 || claimers > 64 || sw_crypto_init() < 0)
        return 1;
    for (int i = 0; i < claimers; i++) {
        c[i] = (struct claimer){.conninfo = conninfo, .index = i, .of = claimers,
                                .seconds = seconds};
        pthread_create(&th[i], NULL, claimer_main, &c[i]);
    }
    size_t claims = 0, no_capacity = 0, contended = 0, other = 0, errors = 0;
    double busy = 0;
    for (int i = 0; i < claimers; i++) {
        pthread_join(th[i], NULL);
        claims += c[i].claims;
        no_capacity += c[i].no_capacity;
        contended += c[i].contended;
        other += c[i].other;
        errors += c[i].errors;
        busy = c[i].busy > busy ? c[i].busy : busy;
    }
    printf("claims claimers=%d claims=%zu seconds=%.3f per_s=%.0f no_capacity=%zu "
           "contended=%zu other=%zu errors=%zu\n",
           claimers, claims, busy, busy > 0 ? (double)claims / busy : 0.0, no_capacity,
           contended, other, errors);
    return errors ? 1 : 0;
}

/* ---- demand: what a plan asks of a node, per resource class ---- */

static int run_demand(char **argv)
{
    struct sw_plan_size p = {sw_plan_kind_parse(argv[0]), atoll(argv[1]), atoll(argv[2]),
                             atoll(argv[3]), atoll(argv[4]), atoll(argv[5])};
    if (p.kind < 0)
        return 2;
    struct sw_amounts a;
    sw_plan_demand(&p, &a);
    for (int c = 0; c < SW_RC__COUNT; c++)
        printf("%s%s=%lld", c ? " " : "", sw_res_class_name(c), (long long)a.v[c]);
    printf("\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "decisions") == 0)
        return run_decisions(strtoul(argv[2], NULL, 10), strtoul(argv[3], NULL, 10),
                             argc > 4 && strcmp(argv[4], "full") == 0);
    if (argc == 10 && strcmp(argv[1], "fill") == 0) {
        int64_t cpu_milli;
        if (sw_ratio_parse(argv[9], &cpu_milli) < 0)
            return 2;
        return run_fill(strtoul(argv[2], NULL, 10), atoll(argv[3]), atoll(argv[4]),
                        atoll(argv[5]), atoll(argv[6]), atoll(argv[7]), atoll(argv[8]), cpu_milli);
    }
    if (argc == 4 && strcmp(argv[1], "hetero") == 0)
        return run_hetero(strtoul(argv[2], NULL, 10), strcmp(argv[3], "largest") == 0);
    if (argc == 3 && strcmp(argv[1], "hetero-htools") == 0)
        return run_hetero_htools(strtoul(argv[2], NULL, 10));
    if (argc == 5 && strcmp(argv[1], "claims") == 0) {
        /* debug: claim.c logs each generation conflict (claim.conflict) */
        sw_log_init("bench", "debug");
        return run_claims(argv[2], atoi(argv[3]), atof(argv[4]));
    }
    if (argc == 8 && strcmp(argv[1], "demand") == 0)
        return run_demand(argv + 2);
    fprintf(stderr, "usage: scheduler decisions NODES COUNT [full]\n"
                    "       scheduler fill NODES CPUS RAM_MB DISK_GB VCPUS RAM_MB DISK_GB "
                    "CPU_RATIO\n"
                    "       scheduler hetero NODES_PER_SIZE mix|largest\n"
                    "       scheduler hetero-htools NODES_PER_SIZE\n"
                    "       scheduler claims CONNINFO CLAIMERS SECONDS\n"
                    "       scheduler demand KIND VCPUS RAM_MB BURST_RAM_MB SWAP_MB DISK_GB\n");
    return 2;
}
