#include "config.h"

#include "core/alloc.h"
#include "core/enums.h"
#include "provisioner/placement.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const node_states[] = {
    [SW_NODE_ACTIVE] = "active", [SW_NODE_DRAINING] = "draining", [SW_NODE_OFFLINE] = "offline",
    [SW_NODE_MAINTENANCE] = "maintenance"};

static const char *const verdicts[] = {
    [SW_PLACE_FITS] = "fits",
    [SW_PLACE_NOT_ACTIVE] = "not_active",
    [SW_PLACE_WRONG_KIND] = "wrong_kind",
    [SW_PLACE_WRONG_LOCATION] = "wrong_location",
    [SW_PLACE_NO_ROOM] = "no_room",
    [SW_PLACE_POOLS_FULL] = "pools_full",
};

const char *sw_node_state_name(int v)
{
    return (v >= 0 && (size_t)v < N(node_states)) ? node_states[v] : "?";
}

int sw_node_state_parse(const char *s)
{
    for (size_t i = 0; s && i < N(node_states); i++)
        if (strcmp(node_states[i], s) == 0)
            return (int)i;
    return -1;
}

const char *sw_place_verdict_name(int v)
{
    return (v >= 0 && (size_t)v < N(verdicts)) ? verdicts[v] : "?";
}

int sw_place_kinds_parse(const char *s, unsigned *kinds)
{
    if (!s || *s != '{')
        return -1;
    unsigned set = 0;
    const char *p = s + 1;
    if (*p == '}')
        return p[1] == '\0' ? (*kinds = 0, 0) : -1;
    for (;;) {
        size_t len = strcspn(p, ",}");
        char word[16];
        if (len == 0 || len >= sizeof word)
            return -1;
        memcpy(word, p, len);
        word[len] = '\0';
        int k = sw_plan_kind_parse(word);
        if (k < 0)
            return -1;
        set |= 1u << k;
        p += len;
        if (*p == '}')
            break;
        if (*p != ',')
            return -1; /* unterminated */
        p++;
    }
    if (p[1] != '\0')
        return -1;
    *kinds = set;
    return 0;
}

enum sw_place_verdict sw_place_check(const struct sw_place_node *n, const struct sw_place_req *r,
                                     int *short_class)
{
    if (n->state != SW_NODE_ACTIVE)
        return SW_PLACE_NOT_ACTIVE;
    if (r->kind < 0 || r->kind >= SW_KIND__COUNT || !(n->kinds & (1u << r->kind)))
        return SW_PLACE_WRONG_KIND;
    if (r->location_id && *r->location_id && strcasecmp(r->location_id, n->location_id) != 0)
        return SW_PLACE_WRONG_LOCATION;
    if (n->pools_full)
        return SW_PLACE_POOLS_FULL;
    if (!sw_node_fits(&n->inv, &n->used, &r->want, short_class))
        return SW_PLACE_NO_ROOM;
    return SW_PLACE_FITS;
}

/* ---- policy: by kind, one table ---- */

static const char *const policies[] = {
    [SW_PLACE_BY_KIND] = "by_kind", [SW_PLACE_SPREAD] = "spread", [SW_PLACE_STACK] = "stack"};

const char *sw_place_policy_name(int v)
{
    return (v >= 0 && (size_t)v < N(policies)) ? policies[v] : "?";
}

/* What each kind does by default. hvm appears twice: a plan that bursts
 * (MEM_MAX above MEM_GUAR) is in a burst pool and stacks; a dedicated one
 * (MEM_MAX == MEM_GUAR) spreads like pv. */
static const struct {
    int policy, policy_if_burst;
} kind_policy[SW_KIND__COUNT] = {
    [SW_KIND_CONTAINER] = {SW_PLACE_STACK, SW_PLACE_STACK},
    [SW_KIND_PV] = {SW_PLACE_SPREAD, SW_PLACE_SPREAD},
    [SW_KIND_HVM] = {SW_PLACE_SPREAD, SW_PLACE_STACK},
};

int sw_place_policy_of(const struct sw_place_req *r)
{
    if (r->policy > SW_PLACE_BY_KIND && r->policy < SW_PLACE_POLICY__COUNT)
        return r->policy;
    if (r->kind < 0 || r->kind >= SW_KIND__COUNT)
        return SW_PLACE_SPREAD;
    bool burst = r->want.v[SW_RC_MEM_MAX] > r->want.v[SW_RC_MEM_GUAR];
    return burst ? kind_policy[r->kind].policy_if_burst : kind_policy[r->kind].policy;
}

/* ---- weighers: each returns a score in [0, 1000000] for a node that fits ---- */

/* Millionths of class c's capacity left free on n after placing r. */
static int64_t free_share(const struct sw_place_node *n, const struct sw_place_req *r, int c)
{
    struct sw_amounts cap;
    sw_node_capacity(&n->inv, &cap);
    int64_t total = cap.v[c];
    int64_t left = total - n->used.v[c] - r->want.v[c];
    if (total <= 0 || left <= 0)
        return 0;
    return left * 1000000 / total;
}

/* Spread: the larger the share of guaranteed memory left free after
 * placing, the better (fills nodes evenly; pv and dedicated pools). */
static int64_t weigh_mem_guar_spread(const struct sw_place_node *n, const struct sw_place_req *r)
{
    return free_share(n, r, SW_RC_MEM_GUAR);
}

/* Stack: the smaller the share of maximum memory (RAM+swap for a container,
 * the burst ceiling for hvm) left free after placing, the better: the
 * fullest node that still fits takes it, and whole nodes stay free for big
 * plans. */
static int64_t weigh_mem_max_stack(const struct sw_place_node *n, const struct sw_place_req *r)
{
    return 1000000 - free_share(n, r, SW_RC_MEM_MAX);
}

/* Stack on vCPUs too, at half the weight: among nodes equally full in
 * memory, the busier CPU pool takes it. */
static int64_t weigh_vcpu_stack(const struct sw_place_node *n, const struct sw_place_req *r)
{
    return 1000000 - free_share(n, r, SW_RC_VCPU);
}

struct sw_place_weigher {
    const char *name;
    int policy; /* enum sw_place_policy it belongs to */
    int64_t weight;
    int64_t (*fn)(const struct sw_place_node *n, const struct sw_place_req *r);
};

static const struct sw_place_weigher weighers[] = {
    {"mem_guar_spread", SW_PLACE_SPREAD, 1, weigh_mem_guar_spread},
    {"mem_max_stack", SW_PLACE_STACK, 2, weigh_mem_max_stack},
    {"vcpu_stack", SW_PLACE_STACK, 1, weigh_vcpu_stack},
};

static int64_t score_with(const struct sw_place_node *n, const struct sw_place_req *r, int policy)
{
    int64_t s = 0;
    for (size_t i = 0; i < N(weighers); i++)
        if (weighers[i].policy == policy)
            s += weighers[i].weight * weighers[i].fn(n, r);
    return s;
}

int64_t sw_place_score(const struct sw_place_node *n, const struct sw_place_req *r)
{
    return score_with(n, r, sw_place_policy_of(r));
}

/* ---- rank ---- */

struct ranked {
    size_t idx;
    int64_t score;
    const char *id;
};

static int cmp_ranked(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    int c = strcmp(x->id, y->id);
    if (c)
        return c;
    return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

size_t sw_place_rank(const struct sw_place_node *nodes, size_t n, const struct sw_place_req *r,
                     uint32_t pick, size_t *order, struct sw_place_tally *tally)
{
    if (tally)
        memset(tally, 0, sizeof *tally);
    if (n == 0)
        return 0;
    struct ranked *v = sw_calloc(n, sizeof *v);
    int policy = sw_place_policy_of(r);
    size_t fit = 0;
    for (size_t i = 0; i < n; i++) {
        int short_class = -1;
        enum sw_place_verdict vd = sw_place_check(&nodes[i], r, &short_class);
        if (tally) {
            tally->by_verdict[vd]++;
            if (vd == SW_PLACE_NO_ROOM && short_class >= 0 && short_class < SW_RC__COUNT)
                tally->short_of[short_class]++;
        }
        if (vd != SW_PLACE_FITS)
            continue;
        v[fit].idx = i;
        v[fit].score = score_with(&nodes[i], r, policy);
        v[fit].id = nodes[i].id;
        fit++;
    }
    qsort(v, fit, sizeof *v, cmp_ranked);
    if (fit > 0) {
        size_t k = fit < SW_PLACE_TOP_K ? fit : SW_PLACE_TOP_K;
        size_t chosen = pick % k;
        order[0] = v[chosen].idx;
        size_t o = 1;
        for (size_t i = 0; i < fit; i++)
            if (i != chosen)
                order[o++] = v[i].idx;
    }
    free(v);
    return fit;
}

/* x ranks before y (same order as cmp_ranked). */
static bool better(const struct ranked *x, const struct ranked *y)
{
    return cmp_ranked(x, y) < 0;
}

/* Most entries sw_place_rank_top() keeps on the stack. */
#define TOP_KEEP 64

size_t sw_place_rank_top(const struct sw_place_node *nodes, size_t n, const struct sw_place_req *r,
                         uint32_t pick, size_t *order, size_t max, struct sw_place_tally *tally)
{
    if (max == 0)
        max = 1;
    if (max + SW_PLACE_TOP_K > TOP_KEEP) {
        /* many alternates asked for: the full ranking, cut */
        size_t *all = sw_calloc(n ? n : 1, sizeof *all);
        size_t fit = sw_place_rank(nodes, n, r, pick, all, tally);
        memcpy(order, all, (fit < max ? fit : max) * sizeof *order);
        free(all);
        return fit;
    }
    if (tally)
        memset(tally, 0, sizeof *tally);
    /* The best `keep` so far, best first: enough for the pick among the
     * top K and max - 1 alternates after it. */
    struct ranked best[TOP_KEEP];
    size_t keep = max + SW_PLACE_TOP_K - 1, have = 0, fit = 0;
    int policy = sw_place_policy_of(r);
    for (size_t i = 0; i < n; i++) {
        int short_class = -1;
        enum sw_place_verdict vd = sw_place_check(&nodes[i], r, &short_class);
        if (tally) {
            tally->by_verdict[vd]++;
            if (vd == SW_PLACE_NO_ROOM && short_class >= 0 && short_class < SW_RC__COUNT)
                tally->short_of[short_class]++;
        }
        if (vd != SW_PLACE_FITS)
            continue;
        fit++;
        struct ranked c = {i, score_with(&nodes[i], r, policy), nodes[i].id};
        if (have == keep && !better(&c, &best[have - 1]))
            continue;
        size_t at = have < keep ? have++ : have - 1;
        while (at > 0 && better(&c, &best[at - 1])) {
            best[at] = best[at - 1];
            at--;
        }
        best[at] = c;
    }
    if (fit == 0)
        return 0;
    size_t k = fit < SW_PLACE_TOP_K ? fit : SW_PLACE_TOP_K;
    size_t chosen = pick % k;
    order[0] = best[chosen].idx;
    size_t o = 1;
    for (size_t i = 0; i < have && o < max; i++)
        if (i != chosen)
            order[o++] = best[i].idx;
    return fit;
}

const char *sw_place_tally_format(const struct sw_place_tally *t, char *buf, size_t len)
{
    size_t total = 0, o = 0;
    for (int i = 0; i < SW_PLACE__COUNT; i++)
        total += t->by_verdict[i];
    int w = snprintf(buf, len, "nodes=%zu", total);
    o = w > 0 ? (size_t)w : 0;
    for (int i = 0; i < SW_PLACE__COUNT && o < len; i++) {
        if (t->by_verdict[i] == 0)
            continue;
        w = snprintf(buf + o, len - o, " %s=%zu", sw_place_verdict_name(i), t->by_verdict[i]);
        o += w > 0 ? (size_t)w : 0;
    }
    for (int c = 0; c < SW_RC__COUNT && o < len; c++) {
        if (t->short_of[c] == 0)
            continue;
        w = snprintf(buf + o, len - o, " short_%s=%zu", sw_res_class_name(c), t->short_of[c]);
        o += w > 0 ? (size_t)w : 0;
    }
    return buf;
}
