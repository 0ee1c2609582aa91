/* Unit tests for provisioner/placement.c: filter, score, rank. */
#include "config.h"
/* cmocka needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <string.h>

#include "core/enums.h"
#include "provisioner/placement.h"

#define LOC_A "aaaaaaaa-0000-4000-8000-000000000001"
#define LOC_B "bbbbbbbb-0000-4000-8000-000000000002"

#define ALL_KINDS ((1u << SW_KIND_CONTAINER) | (1u << SW_KIND_PV) | (1u << SW_KIND_HVM))

/* A node of 8 cpus (ratio 4 -> 32 vCPUs), 16384 MiB with 1024 reserved
 * (15360 guaranteed, ratio 1.5 -> 23040 max), 500 GB; nothing used. */
static struct sw_place_node mknode(int i, const char *loc)
{
    struct sw_place_node n;
    memset(&n, 0, sizeof n);
    snprintf(n.id, sizeof n.id, "00000000-0000-4000-8000-%012d", i);
    snprintf(n.location_id, sizeof n.location_id, "%s", loc);
    n.state = SW_NODE_ACTIVE;
    n.kinds = ALL_KINDS;
    n.inv.cpus = 8;
    n.inv.ram_mb = 16384;
    n.inv.reserved_ram_mb = 1024;
    n.inv.disk_gb = 500;
    n.inv.cpu_ratio_milli = 4000;
    n.inv.ram_ratio_milli = 1500;
    return n;
}

/* A 2 vCPU, 2048 MiB, 40 GB plan of kind. */
static struct sw_place_req mkreq(int kind, const char *loc)
{
    struct sw_place_req r;
    memset(&r, 0, sizeof r);
    struct sw_plan_size p = {kind, 2, 2048, 0, 0, 40};
    sw_plan_demand(&p, &r.want);
    r.kind = kind;
    r.location_id = loc;
    return r;
}

static void test_fits(void **state)
{
    (void)state;
    struct sw_place_node n = mknode(1, LOC_A);
    struct sw_place_req r = mkreq(SW_KIND_PV, NULL);
    assert_int_equal(sw_place_check(&n, &r, NULL), SW_PLACE_FITS);
    size_t order[1];
    struct sw_place_tally t;
    assert_int_equal(sw_place_rank(&n, 1, &r, 12345, order, &t), 1);
    assert_int_equal(order[0], 0);
    assert_int_equal(t.by_verdict[SW_PLACE_FITS], 1);

    /* exactly full still fits; one MiB more does not */
    n.used.v[SW_RC_MEM_GUAR] = 15360 - 2048;
    assert_int_equal(sw_place_check(&n, &r, NULL), SW_PLACE_FITS);
    n.used.v[SW_RC_MEM_GUAR]++;
    int short_class = -1;
    assert_int_equal(sw_place_check(&n, &r, &short_class), SW_PLACE_NO_ROOM);
    assert_int_equal(short_class, SW_RC_MEM_GUAR);
}

static void test_no_fit(void **state)
{
    (void)state;
    struct sw_place_node v[2] = {mknode(1, LOC_A), mknode(2, LOC_A)};
    v[0].used.v[SW_RC_MEM_GUAR] = 15000; /* short of guaranteed memory */
    v[1].used.v[SW_RC_VCPU] = 31;        /* short of vCPUs: 31 + 2 > 32 */
    struct sw_place_req r = mkreq(SW_KIND_PV, NULL);
    size_t order[2];
    struct sw_place_tally t;
    assert_int_equal(sw_place_rank(v, 2, &r, 0, order, &t), 0);
    assert_int_equal(t.by_verdict[SW_PLACE_NO_ROOM], 2);
    assert_int_equal(t.short_of[SW_RC_MEM_GUAR], 1);
    assert_int_equal(t.short_of[SW_RC_VCPU], 1);
    char buf[128];
    assert_string_equal(sw_place_tally_format(&t, buf, sizeof buf),
                        "nodes=2 no_room=2 short_VCPU=1 short_MEM_GUAR=1");
    /* an empty node list */
    assert_int_equal(sw_place_rank(v, 0, &r, 0, order, &t), 0);
    assert_string_equal(sw_place_tally_format(&t, buf, sizeof buf), "nodes=0");
}

static void test_burst_uses_ram_ratio(void **state)
{
    (void)state;
    /* hvm: max 8192 -> guarantee max(1024, 2048) = 2048; MEM_MAX counts
     * against 15360 x 1.5 = 23040 */
    struct sw_place_node n = mknode(1, LOC_A);
    struct sw_place_req r;
    memset(&r, 0, sizeof r);
    struct sw_plan_size p = {SW_KIND_HVM, 1, 1024, 8192, 0, 10};
    sw_plan_demand(&p, &r.want);
    r.kind = SW_KIND_HVM;
    n.used.v[SW_RC_MEM_MAX] = 23040 - 8192;
    assert_int_equal(sw_place_check(&n, &r, NULL), SW_PLACE_FITS);
    n.used.v[SW_RC_MEM_MAX]++;
    int short_class = -1;
    assert_int_equal(sw_place_check(&n, &r, &short_class), SW_PLACE_NO_ROOM);
    assert_int_equal(short_class, SW_RC_MEM_MAX);
}

static void test_location_filter(void **state)
{
    (void)state;
    struct sw_place_node v[3] = {mknode(1, LOC_A), mknode(2, LOC_B), mknode(3, LOC_A)};
    struct sw_place_req r = mkreq(SW_KIND_HVM, LOC_B);
    size_t order[3];
    struct sw_place_tally t;
    assert_int_equal(sw_place_rank(v, 3, &r, 7, order, &t), 1);
    assert_int_equal(order[0], 1);
    assert_int_equal(t.by_verdict[SW_PLACE_WRONG_LOCATION], 2);

    /* ids compare without regard to case */
    char upper[] = "BBBBBBBB-0000-4000-8000-000000000002";
    r.location_id = upper;
    assert_int_equal(sw_place_check(&v[1], &r, NULL), SW_PLACE_FITS);

    /* NULL and "" mean any location */
    r.location_id = "";
    assert_int_equal(sw_place_rank(v, 3, &r, 0, order, NULL), 3);
    r.location_id = NULL;
    assert_int_equal(sw_place_rank(v, 3, &r, 0, order, NULL), 3);
}

static void test_kind_filter(void **state)
{
    (void)state;
    struct sw_place_node v[2] = {mknode(1, LOC_A), mknode(2, LOC_A)};
    v[0].kinds = 1u << SW_KIND_CONTAINER;
    v[1].kinds = (1u << SW_KIND_PV) | (1u << SW_KIND_HVM);
    size_t order[2];
    struct sw_place_tally t;
    struct sw_place_req r = mkreq(SW_KIND_HVM, NULL);
    assert_int_equal(sw_place_rank(v, 2, &r, 0, order, &t), 1);
    assert_int_equal(order[0], 1);
    assert_int_equal(t.by_verdict[SW_PLACE_WRONG_KIND], 1);
    r = mkreq(SW_KIND_CONTAINER, NULL);
    assert_int_equal(sw_place_rank(v, 2, &r, 0, order, NULL), 1);
    assert_int_equal(order[0], 0);
    r.kind = SW_KIND__COUNT; /* out of range never matches */
    assert_int_equal(sw_place_check(&v[0], &r, NULL), SW_PLACE_WRONG_KIND);
}

static void test_draining_excluded(void **state)
{
    (void)state;
    struct sw_place_node v[3] = {mknode(1, LOC_A), mknode(2, LOC_A), mknode(3, LOC_A)};
    v[0].state = SW_NODE_DRAINING;
    v[2].state = SW_NODE_OFFLINE;
    struct sw_place_req r = mkreq(SW_KIND_PV, NULL);
    size_t order[3];
    struct sw_place_tally t;
    for (uint32_t pick = 0; pick < 5; pick++) {
        assert_int_equal(sw_place_rank(v, 3, &r, pick, order, &t), 1);
        assert_int_equal(order[0], 1);
    }
    assert_int_equal(t.by_verdict[SW_PLACE_NOT_ACTIVE], 2);
}

/* A node whose storage pools are all full or missing takes no new server,
 * whatever room its other classes have; the DISK class is its pools'
 * figure (claim.c sets inv.disk_gb from core/diskpool.h). */
static void test_pools_full_excluded(void **state)
{
    (void)state;
    struct sw_place_node v[2] = {mknode(1, LOC_A), mknode(2, LOC_A)};
    v[0].pools_full = true;
    struct sw_place_req r = mkreq(SW_KIND_HVM, NULL);
    size_t order[2];
    struct sw_place_tally t;
    for (uint32_t pick = 0; pick < 4; pick++) {
        assert_int_equal(sw_place_rank(v, 2, &r, pick, order, &t), 1);
        assert_int_equal(order[0], 1);
    }
    assert_int_equal(t.by_verdict[SW_PLACE_POOLS_FULL], 1);
    assert_int_equal(sw_place_check(&v[0], &r, NULL), SW_PLACE_POOLS_FULL);
    v[1].pools_full = true;
    assert_int_equal(sw_place_rank_top(v, 2, &r, 0, order, 2, &t), 0);
    char buf[128];
    assert_string_equal(sw_place_tally_format(&t, buf, sizeof buf), "nodes=2 pools_full=2");
    /* the pools' capacity is the DISK class: 40 GB does not fit in 39 */
    v[1].pools_full = false;
    v[1].inv.disk_gb = 39;
    int short_class = -1;
    assert_int_equal(sw_place_check(&v[1], &r, &short_class), SW_PLACE_NO_ROOM);
    assert_int_equal(short_class, SW_RC_DISK);
    v[1].inv.disk_gb = 40;
    assert_int_equal(sw_place_check(&v[1], &r, NULL), SW_PLACE_FITS);
}

static void test_score_spread(void **state)
{
    (void)state;
    struct sw_place_node a = mknode(1, LOC_A), b = mknode(2, LOC_A);
    a.used.v[SW_RC_MEM_GUAR] = 8000;
    b.used.v[SW_RC_MEM_GUAR] = 1000;
    struct sw_place_req r = mkreq(SW_KIND_PV, NULL);
    assert_true(sw_place_score(&b, &r) > sw_place_score(&a, &r));
    /* (15360 - 1000 - 2048) * 1e6 / 15360 */
    assert_int_equal(sw_place_score(&b, &r), (15360 - 1000 - 2048) * 1000000LL / 15360);
    b.used.v[SW_RC_MEM_GUAR] = 15360 - 2048; /* full after placing */
    assert_int_equal(sw_place_score(&b, &r), 0);
}

/* Five nodes with distinct free memory: node i has i*1000 MiB used, so the
 * ranking by score is 0, 1, 2, 3, 4 (input order deliberately shuffled). */
static void test_pick_among_top(void **state)
{
    (void)state;
    const int used[5] = {3000, 0, 4000, 1000, 2000}; /* best: idx 1, 3, 4, 0, 2 */
    const size_t best[5] = {1, 3, 4, 0, 2};
    struct sw_place_node v[5];
    for (int i = 0; i < 5; i++) {
        v[i] = mknode(i, LOC_A);
        v[i].used.v[SW_RC_MEM_GUAR] = used[i];
    }
    struct sw_place_req r = mkreq(SW_KIND_PV, NULL);
    size_t order[5];
    int seen[5] = {0};
    for (uint32_t pick = 0; pick < 30; pick++) {
        assert_int_equal(sw_place_rank(v, 5, &r, pick, order, NULL), 5);
        /* the first is one of the top 3, chosen by pick % 3 */
        assert_int_equal(order[0], best[pick % SW_PLACE_TOP_K]);
        seen[order[0]]++;
        /* the rest follow best first, without the chosen one */
        size_t o = 1;
        for (size_t k = 0; k < 5; k++) {
            if (best[k] == order[0])
                continue;
            assert_int_equal(order[o], best[k]);
            o++;
        }
    }
    assert_int_equal(seen[0], 0); /* 4th and 5th best are never first */
    assert_int_equal(seen[2], 0);
    assert_int_equal(seen[1] + seen[3] + seen[4], 30);

    /* two fitting nodes: the pick is among those two */
    v[0].state = v[2].state = v[4].state = SW_NODE_DRAINING;
    assert_int_equal(sw_place_rank(v, 5, &r, 1, order, NULL), 2);
    assert_int_equal(order[0], 3);
    assert_int_equal(order[1], 1);
}

static void test_ties_by_id(void **state)
{
    (void)state;
    struct sw_place_node v[3] = {mknode(9, LOC_A), mknode(2, LOC_A), mknode(5, LOC_A)};
    struct sw_place_req r = mkreq(SW_KIND_PV, NULL);
    size_t order[3];
    assert_int_equal(sw_place_rank(v, 3, &r, 0, order, NULL), 3);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 0);
}

static void test_kinds_parse(void **state)
{
    (void)state;
    unsigned k = 99;
    assert_int_equal(sw_place_kinds_parse("{container,hvm}", &k), 0);
    assert_int_equal(k, (1u << SW_KIND_CONTAINER) | (1u << SW_KIND_HVM));
    assert_int_equal(sw_place_kinds_parse("{pv}", &k), 0);
    assert_int_equal(k, 1u << SW_KIND_PV);
    assert_int_equal(sw_place_kinds_parse("{}", &k), 0);
    assert_int_equal(k, 0);
    const char *bad[] = {NULL,    "",      "pv",    "{pv",       "{pv,}",
                         "{,pv}", "{xen}", "{pv}x", "{pv,,hvm}", "{averyveryverylongkindname}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(sw_place_kinds_parse(bad[i], &k), -1);
}

static void test_names(void **state)
{
    (void)state;
    assert_int_equal(sw_node_state_parse("active"), SW_NODE_ACTIVE);
    assert_int_equal(sw_node_state_parse("draining"), SW_NODE_DRAINING);
    assert_int_equal(sw_node_state_parse("offline"), SW_NODE_OFFLINE);
    assert_int_equal(sw_node_state_parse("gone"), -1);
    assert_int_equal(sw_node_state_parse(NULL), -1);
    assert_string_equal(sw_node_state_name(SW_NODE_DRAINING), "draining");
    assert_string_equal(sw_node_state_name(42), "?");
    assert_string_equal(sw_place_verdict_name(SW_PLACE_NO_ROOM), "no_room");
    assert_string_equal(sw_place_verdict_name(SW_PLACE_POOLS_FULL), "pools_full");
    assert_string_equal(sw_place_verdict_name(-1), "?");
}

/* ---- policy and weighers ---- */

static struct sw_place_req mkreq_plan(int kind, int64_t vcpus, int64_t ram, int64_t burst,
                                      int64_t swap, int64_t disk)
{
    struct sw_place_req r;
    memset(&r, 0, sizeof r);
    struct sw_plan_size p = {kind, vcpus, ram, burst, swap, disk};
    sw_plan_demand(&p, &r.want);
    r.kind = kind;
    return r;
}

static void test_policy_by_kind(void **state)
{
    (void)state;
    struct sw_place_req pv = mkreq_plan(SW_KIND_PV, 2, 2048, 0, 0, 40);
    struct sw_place_req ct = mkreq_plan(SW_KIND_CONTAINER, 1, 1024, 0, 0, 10);
    struct sw_place_req ct_swap = mkreq_plan(SW_KIND_CONTAINER, 1, 1024, 0, 512, 10);
    struct sw_place_req burst = mkreq_plan(SW_KIND_HVM, 2, 2048, 8192, 0, 40);
    struct sw_place_req dedicated = mkreq_plan(SW_KIND_HVM, 2, 2048, 0, 0, 40);
    assert_int_equal(sw_place_policy_of(&pv), SW_PLACE_SPREAD);
    assert_int_equal(sw_place_policy_of(&ct), SW_PLACE_STACK);
    assert_int_equal(sw_place_policy_of(&ct_swap), SW_PLACE_STACK);
    assert_int_equal(sw_place_policy_of(&burst), SW_PLACE_STACK);
    assert_int_equal(sw_place_policy_of(&dedicated), SW_PLACE_SPREAD);
    /* an explicit policy wins */
    pv.policy = SW_PLACE_STACK;
    assert_int_equal(sw_place_policy_of(&pv), SW_PLACE_STACK);
    burst.policy = SW_PLACE_SPREAD;
    assert_int_equal(sw_place_policy_of(&burst), SW_PLACE_SPREAD);
    assert_string_equal(sw_place_policy_name(SW_PLACE_STACK), "stack");
    assert_string_equal(sw_place_policy_name(SW_PLACE_SPREAD), "spread");
    assert_string_equal(sw_place_policy_name(99), "?");
}

/* Stack: the fuller node wins, by 2 x MEM_MAX share used + 1 x VCPU share. */
static void test_score_stack(void **state)
{
    (void)state;
    struct sw_place_node a = mknode(1, LOC_A), b = mknode(2, LOC_A);
    a.used.v[SW_RC_MEM_MAX] = 1000;
    b.used.v[SW_RC_MEM_MAX] = 12000;
    struct sw_place_req r = mkreq_plan(SW_KIND_CONTAINER, 2, 2048, 0, 0, 40);
    assert_true(sw_place_score(&b, &r) > sw_place_score(&a, &r));
    /* cap MEM_MAX 23040, VCPU 32 */
    int64_t mem = 1000000 - (23040 - 12000 - 2048) * 1000000LL / 23040;
    int64_t cpu = 1000000 - (32 - 2) * 1000000LL / 32;
    assert_int_equal(sw_place_score(&b, &r), 2 * mem + cpu);
    /* the same nodes, spread: the emptier wins */
    r.policy = SW_PLACE_SPREAD;
    a.used.v[SW_RC_MEM_GUAR] = 1000;
    b.used.v[SW_RC_MEM_GUAR] = 12000;
    assert_true(sw_place_score(&a, &r) > sw_place_score(&b, &r));
    /* ranking: a stacking container goes to the fuller node */
    struct sw_place_node v[2] = {a, b};
    size_t order[2];
    r.policy = SW_PLACE_BY_KIND;
    assert_int_equal(sw_place_rank(v, 2, &r, 0, order, NULL), 2);
    assert_int_equal(order[0], 1);
    r.policy = SW_PLACE_SPREAD;
    assert_int_equal(sw_place_rank(v, 2, &r, 0, order, NULL), 2);
    assert_int_equal(order[0], 0);
}

/* sw_place_rank_top() returns sw_place_rank()'s first max entries, for
 * both policies, any pick, with ties and nodes that do not fit. */
static void test_rank_top_matches_rank(void **state)
{
    (void)state;
    enum { NN = 200 };
    static struct sw_place_node v[NN];
    uint32_t x = 12345;
    for (int i = 0; i < NN; i++) {
        v[i] = mknode((i * 7919) % 1000, LOC_A);
        x = x * 1103515245u + 12345u;
        v[i].used.v[SW_RC_MEM_GUAR] = (int64_t)((x >> 8) % 8) * 2000; /* many ties */
        v[i].used.v[SW_RC_MEM_MAX] = v[i].used.v[SW_RC_MEM_GUAR] + (int64_t)((x >> 12) % 4) * 1000;
        v[i].used.v[SW_RC_VCPU] = (int64_t)((x >> 16) % 33);
        if (i % 17 == 0)
            v[i].state = SW_NODE_DRAINING;
    }
    static size_t all[NN], top[NN];
    for (int pol = SW_PLACE_BY_KIND; pol < SW_PLACE_POLICY__COUNT; pol++) {
        for (int kind = 0; kind < SW_KIND__COUNT; kind++) {
            struct sw_place_req r = mkreq_plan(kind, 2, 2048, 4096, 1024, 40);
            r.policy = pol;
            for (uint32_t pick = 0; pick < 5; pick++) {
                for (size_t max = 1; max <= 70; max += 23) {
                    struct sw_place_tally t1, t2;
                    size_t f1 = sw_place_rank(v, NN, &r, pick, all, &t1);
                    size_t f2 = sw_place_rank_top(v, NN, &r, pick, top, max, &t2);
                    assert_int_equal(f1, f2);
                    assert_true(f1 > 0);
                    assert_memory_equal(&t1, &t2, sizeof t1);
                    for (size_t i = 0; i < max && i < f1; i++)
                        assert_int_equal(top[i], all[i]);
                }
            }
        }
    }
    /* nothing fits */
    struct sw_place_req big = mkreq_plan(SW_KIND_PV, 2, 1 << 20, 0, 0, 40);
    struct sw_place_tally t;
    assert_int_equal(sw_place_rank_top(v, NN, &big, 0, top, 3, &t), 0);
    assert_int_equal(t.by_verdict[SW_PLACE_NO_ROOM], NN - (NN + 16) / 17);
    assert_int_equal(sw_place_rank_top(v, 0, &big, 0, top, 3, NULL), 0);
}

/* Containers: RAM+swap of all containers may not pass the node's RAM+swap.
 * Nodes carry no swap field; MEM_MAX (RAM x ram_ratio) is that ceiling: a
 * container takes ram+swap of MEM_MAX and ram of MEM_GUAR. */
static void test_container_swap(void **state)
{
    (void)state;
    struct sw_place_node n = mknode(1, LOC_A); /* MEM_GUAR 15360, MEM_MAX 23040 */
    n.kinds = 1u << SW_KIND_CONTAINER;
    n.inv.cpu_ratio_milli = 16000; /* 128 vCPUs */
    struct sw_place_req r = mkreq_plan(SW_KIND_CONTAINER, 1, 2048, 0, 2048, 10);
    assert_int_equal(r.want.v[SW_RC_MEM_GUAR], 2048);
    assert_int_equal(r.want.v[SW_RC_MEM_MAX], 4096);
    int placed = 0, short_class = -1;
    while (sw_place_check(&n, &r, &short_class) == SW_PLACE_FITS) {
        for (int c = 0; c < SW_RC__COUNT; c++)
            n.used.v[c] += r.want.v[c];
        placed++;
    }
    assert_int_equal(placed, 5); /* 5 x 4096 = 20480 <= 23040 < 6 x 4096 */
    assert_int_equal(short_class, SW_RC_MEM_MAX);
    /* without swap, guaranteed memory binds first: 7 x 2048 <= 15360 */
    struct sw_place_node m = mknode(2, LOC_A);
    struct sw_place_req noswap = mkreq_plan(SW_KIND_CONTAINER, 1, 2048, 0, 0, 10);
    placed = 0;
    while (sw_place_check(&m, &noswap, &short_class) == SW_PLACE_FITS) {
        for (int c = 0; c < SW_RC__COUNT; c++)
            m.used.v[c] += noswap.want.v[c];
        placed++;
    }
    assert_int_equal(placed, 7);
    assert_int_equal(short_class, SW_RC_MEM_GUAR);
}

/* How many of r fit on an empty copy of n, and the class that stops it. */
static int fill(struct sw_place_node n, const struct sw_place_req *r, int *short_class)
{
    int k = 0;
    while (sw_place_check(&n, r, short_class) == SW_PLACE_FITS) {
        for (int c = 0; c < SW_RC__COUNT; c++)
            n.used.v[c] += r->want.v[c];
        k++;
    }
    return k;
}

/* The worked example of provisioner/README.md "Resource model". */
static void test_worked_example(void **state)
{
    (void)state;
    struct sw_place_node n = mknode(1, LOC_A);
    n.inv.cpus = 16;
    n.inv.ram_mb = 65536;
    n.inv.reserved_ram_mb = 1024;
    n.inv.disk_gb = 1000;
    n.inv.cpu_ratio_milli = 4000; /* the default for a node that hosts pv or hvm */
    n.inv.ram_ratio_milli = 1000; /* the default for a node that hosts pv */
    struct sw_amounts cap;
    sw_node_capacity(&n.inv, &cap);
    assert_int_equal(cap.v[SW_RC_VCPU], 64);
    assert_int_equal(cap.v[SW_RC_MEM_GUAR], 64512);
    assert_int_equal(cap.v[SW_RC_MEM_MAX], 64512);
    assert_int_equal(cap.v[SW_RC_DISK], 1000);

    struct sw_place_req p = mkreq_plan(SW_KIND_PV, 2, 4096, 0, 0, 50);
    struct sw_place_req h = mkreq_plan(SW_KIND_HVM, 2, 2048, 8192, 0, 50);
    struct sw_place_req c = mkreq_plan(SW_KIND_CONTAINER, 1, 1024, 0, 1024, 20);
    const int64_t wp[] = {2, 4096, 4096, 50}, wh[] = {2, 2048, 8192, 50}, wc[] = {1, 1024, 2048, 20};
    for (int k = 0; k < SW_RC__COUNT; k++) {
        assert_int_equal(p.want.v[k], wp[k]);
        assert_int_equal(h.want.v[k], wh[k]);
        assert_int_equal(c.want.v[k], wc[k]);
    }
    int sc = -1;
    assert_int_equal(fill(n, &p, &sc), 15);
    assert_int_equal(sc, SW_RC_MEM_GUAR);
    assert_int_equal(fill(n, &h, &sc), 7);
    assert_int_equal(sc, SW_RC_MEM_MAX);
    assert_int_equal(fill(n, &c, &sc), 31);
    assert_int_equal(sc, SW_RC_MEM_MAX);

    /* the same node hosting only container and hvm: ram_ratio 1.5 */
    struct sw_place_node o = n;
    o.inv.ram_ratio_milli = 1500;
    assert_int_equal(fill(o, &h, &sc), 11);
    assert_int_equal(sc, SW_RC_MEM_MAX);
    assert_int_equal(fill(o, &c, &sc), 47);
    assert_int_equal(sc, SW_RC_MEM_MAX);
    /* container-only (cpu_ratio 16): still 47, MEM_MAX binds before disk (50) */
    o.inv.cpu_ratio_milli = 16000;
    assert_int_equal(fill(o, &c, &sc), 47);

    /* mixed, ratio 1.0: 4 pv + 3 hvm + 10 containers fit; one more hvm or
     * pv does not (MEM_MAX 61440 + 8192 or + 4096 > 64512), one more
     * container does (61440 + 2048) */
    for (int k = 0; k < SW_RC__COUNT; k++)
        n.used.v[k] = 4 * wp[k] + 3 * wh[k] + 10 * wc[k];
    assert_int_equal(n.used.v[SW_RC_VCPU], 24);
    assert_int_equal(n.used.v[SW_RC_MEM_GUAR], 32768);
    assert_int_equal(n.used.v[SW_RC_MEM_MAX], 61440);
    assert_int_equal(n.used.v[SW_RC_DISK], 550);
    assert_int_equal(sw_place_check(&n, &h, &sc), SW_PLACE_NO_ROOM);
    assert_int_equal(sc, SW_RC_MEM_MAX);
    assert_int_equal(sw_place_check(&n, &p, &sc), SW_PLACE_NO_ROOM);
    assert_int_equal(sc, SW_RC_MEM_MAX);
    assert_int_equal(sw_place_check(&n, &c, NULL), SW_PLACE_FITS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fits),
        cmocka_unit_test(test_no_fit),
        cmocka_unit_test(test_burst_uses_ram_ratio),
        cmocka_unit_test(test_location_filter),
        cmocka_unit_test(test_kind_filter),
        cmocka_unit_test(test_draining_excluded),
        cmocka_unit_test(test_pools_full_excluded),
        cmocka_unit_test(test_score_spread),
        cmocka_unit_test(test_pick_among_top),
        cmocka_unit_test(test_ties_by_id),
        cmocka_unit_test(test_kinds_parse),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_policy_by_kind),
        cmocka_unit_test(test_score_stack),
        cmocka_unit_test(test_rank_top_matches_rank),
        cmocka_unit_test(test_container_swap),
        cmocka_unit_test(test_worked_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
