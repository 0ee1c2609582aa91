#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/diskpool.h"

#define GIB (INT64_C(1) << 30)

static struct sw_diskpool pool(int64_t cap_gib, int64_t alloc_gib, int64_t ratio, int64_t fill)
{
    return (struct sw_diskpool){true, true, cap_gib * GIB, alloc_gib * GIB, ratio, fill, 0};
}

static void test_full(void **state)
{
    (void)state;
    struct sw_diskpool p = pool(100, 90, 1000, 90);
    assert_false(sw_diskpool_full(&p)); /* exactly at the threshold still takes servers */
    p.allocation_bytes += 1;
    assert_true(sw_diskpool_full(&p));
    p.present = false;
    p.allocation_bytes = 0;
    assert_true(sw_diskpool_full(&p)); /* missing */
    p.reported = false;
    assert_false(sw_diskpool_full(&p)); /* not reported yet: nothing known */
    struct sw_diskpool empty = pool(0, 0, 1000, 90);
    assert_false(sw_diskpool_full(&empty));
    struct sw_diskpool huge = pool(INT64_C(1) << 32, INT64_C(1) << 31, 1000, 49);
    assert_true(sw_diskpool_full(&huge)); /* 4 EiB, half used: no overflow */
    huge.fill_threshold = 51;
    assert_false(sw_diskpool_full(&huge));
}

static void test_capacity(void **state)
{
    (void)state;
    struct sw_diskpool p = pool(100, 0, 1000, 90);
    assert_int_equal(sw_diskpool_capacity_gb(&p), 100);
    p.ratio_milli = 1500;
    assert_int_equal(sw_diskpool_capacity_gb(&p), 150);
    p.ratio_milli = 125;
    assert_int_equal(sw_diskpool_capacity_gb(&p), 12); /* 12.5 GiB: floor */
    p.capacity_bytes = GIB + GIB / 2; /* 1.5 GiB x 2 = 3 */
    p.ratio_milli = 2000;
    assert_int_equal(sw_diskpool_capacity_gb(&p), 3);
    p.capacity_bytes = GIB - 1;
    p.ratio_milli = 1000;
    assert_int_equal(sw_diskpool_capacity_gb(&p), 0);
    p.capacity_bytes = INT64_MAX; /* the largest bigint, the largest ratio */
    p.ratio_milli = 1000000;
    assert_int_equal(sw_diskpool_capacity_gb(&p), (INT64_MAX >> 30) * 1000 + 999);
    p.present = false;
    assert_int_equal(sw_diskpool_capacity_gb(&p), 0);
}

static void test_sum(void **state)
{
    (void)state;
    struct sw_diskpool v[3] = {pool(100, 95, 1000, 90), pool(200, 10, 2000, 90),
                               pool(50, 0, 1000, 90)};
    v[2].reported = false;
    struct sw_diskpool_sum s;
    sw_diskpool_sum(v, 3, 500, &s);
    assert_true(s.from_pools);
    assert_int_equal(s.capacity_gb, 100 + 400); /* the unreported pool adds nothing */
    assert_int_equal(s.reported, 2);
    assert_int_equal(s.full, 1);
    assert_false(s.all_full);
    v[1].present = false;
    sw_diskpool_sum(v, 3, 500, &s);
    assert_true(s.all_full); /* one full, one missing */
    assert_int_equal(s.capacity_gb, 100);

    v[0].reported = v[1].reported = false;
    sw_diskpool_sum(v, 3, 500, &s);
    assert_false(s.from_pools); /* none reported: the node's disk_gb */
    assert_false(s.all_full);
    assert_int_equal(s.capacity_gb, 500);
    sw_diskpool_sum(NULL, 0, 42, &s);
    assert_int_equal(s.capacity_gb, 42);
    assert_false(s.all_full);
}

/* sw_node_pool_figures()'s text (migrations/0024) back into pools. */
static void test_parse(void **state)
{
    (void)state;
    struct sw_diskpool v[3];
    assert_int_equal(sw_diskpool_parse("", v, 3), 0);
    assert_int_equal(sw_diskpool_parse(NULL, v, 3), 0);
    assert_int_equal(
        sw_diskpool_parse("1 1 107374182400 53687091200 1500 90 0;0 0 0 0 1000 80 7", v, 3), 2);
    assert_true(v[0].reported && v[0].present);
    assert_int_equal(v[0].capacity_bytes, 107374182400);
    assert_int_equal(v[0].allocation_bytes, 53687091200);
    assert_int_equal(v[0].ratio_milli, 1500);
    assert_int_equal(v[0].fill_threshold, 90);
    assert_false(v[1].reported || v[1].present);
    assert_int_equal(v[1].fill_threshold, 80);
    assert_int_equal(v[0].elsewhere_gb, 0);
    assert_int_equal(v[1].elsewhere_gb, 7);
    assert_int_equal(sw_diskpool_parse("1 1 1 1 1000 90 0;1 1 1 1 1000 90 0", v, 1), -1); /* too many */
    assert_int_equal(sw_diskpool_parse("1 1 1 1 1000 90", v, 3), -1); /* no elsewhere */
    assert_int_equal(sw_diskpool_parse("1 1 1 1 1000 90 0x", v, 3), -1);
    assert_int_equal(sw_diskpool_parse("1 1 1 1 1000 90 -1", v, 3), -1);
    assert_int_equal(sw_diskpool_parse("1 1 1 1 1000 90 0;", v, 3), 1);
    struct sw_diskpool_sum s;
    assert_int_equal(sw_diskpool_node("1 1 107374182400 0 1500 90 0", 500, &s), 0);
    assert_int_equal(s.capacity_gb, 150);
    /* a shared pool of 100 GiB x 1.5 whose other nodes' servers hold 60 GB
     * of it, beside a local one of 10 GiB; a shared one they overfill adds 0 */
    assert_int_equal(
        sw_diskpool_node("1 1 107374182400 0 1500 90 60;1 1 10737418240 0 1000 90 0", 500, &s), 0);
    assert_int_equal(s.capacity_gb, 90 + 10);
    assert_int_equal(sw_diskpool_node("1 1 107374182400 0 1000 90 150", 500, &s), 0);
    assert_int_equal(s.capacity_gb, 0);
    assert_int_equal(sw_diskpool_node("", 500, &s), 0);
    assert_int_equal(s.capacity_gb, 500);
    assert_int_equal(sw_diskpool_node("junk", 500, &s), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_sum),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
