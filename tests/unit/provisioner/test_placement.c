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
    assert_string_equal(sw_place_verdict_name(-1), "?");
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
        cmocka_unit_test(test_score_spread),
        cmocka_unit_test(test_pick_among_top),
        cmocka_unit_test(test_ties_by_id),
        cmocka_unit_test(test_kinds_parse),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
