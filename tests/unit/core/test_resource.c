#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/enums.h"
#include "core/resource.h"

static void test_demand_by_kind(void **state)
{
    (void)state;
    struct sw_amounts d;
    struct sw_plan_size pv = {SW_KIND_PV, 2, 2048, 4096, 512, 40};
    sw_plan_demand(&pv, &d);
    assert_int_equal(d.v[SW_RC_MEM_GUAR], 2048); /* pv: never overcommitted */
    assert_int_equal(d.v[SW_RC_MEM_MAX], 2048);

    struct sw_plan_size hvm = {SW_KIND_HVM, 4, 1024, 8192, 0, 80};
    sw_plan_demand(&hvm, &d);
    assert_int_equal(d.v[SW_RC_MEM_MAX], 8192);
    assert_int_equal(d.v[SW_RC_MEM_GUAR], 2048); /* 1/4 of max beats the 1024 floor */
    assert_int_equal(d.v[SW_RC_VCPU], 4);
    assert_int_equal(d.v[SW_RC_DISK], 80);

    struct sw_plan_size hvm2 = {SW_KIND_HVM, 1, 3000, 4000, 0, 10};
    sw_plan_demand(&hvm2, &d);
    assert_int_equal(d.v[SW_RC_MEM_GUAR], 3000); /* the plan's floor beats 1/4 */

    struct sw_plan_size ct = {SW_KIND_CONTAINER, 1, 512, 0, 256, 10};
    sw_plan_demand(&ct, &d);
    assert_int_equal(d.v[SW_RC_MEM_GUAR], 512);
    assert_int_equal(d.v[SW_RC_MEM_MAX], 768);
}

static void test_capacity_and_fit(void **state)
{
    (void)state;
    /* 8 cpus x 4.0, 16 GiB - 1 GiB reserved, x1.5 burst */
    struct sw_node_inv n = {8, 16384, 1024, 500, 4000, 1500};
    struct sw_amounts cap;
    sw_node_capacity(&n, &cap);
    assert_int_equal(cap.v[SW_RC_VCPU], 32);
    assert_int_equal(cap.v[SW_RC_MEM_GUAR], 15360);
    assert_int_equal(cap.v[SW_RC_MEM_MAX], 23040);
    assert_int_equal(cap.v[SW_RC_DISK], 500);

    struct sw_amounts used = {{30, 15000, 20000, 100}}, want = {{2, 360, 3040, 400}};
    int why = -1;
    assert_true(sw_node_fits(&n, &used, &want, &why)); /* exactly full is a fit */
    want.v[SW_RC_VCPU] = 3;
    assert_false(sw_node_fits(&n, &used, &want, &why));
    assert_int_equal(why, SW_RC_VCPU);
    want.v[SW_RC_VCPU] = 1;
    want.v[SW_RC_MEM_MAX] = 3041;
    assert_false(sw_node_fits(&n, &used, &want, &why));
    assert_string_equal(sw_res_class_name(why), "MEM_MAX");
}

static void test_ratio(void **state)
{
    (void)state;
    int64_t m;
    assert_int_equal(sw_ratio_parse("1.5", &m), 0);
    assert_int_equal(m, 1500);
    assert_int_equal(sw_ratio_parse("4", &m), 0);
    assert_int_equal(m, 4000);
    assert_int_equal(sw_ratio_parse("1.500", &m), 0); /* numeric(8,3) text */
    assert_int_equal(m, 1500);
    assert_int_equal(sw_ratio_parse("0.125", &m), 0);
    assert_int_equal(m, 125);
    assert_int_equal(sw_ratio_parse("0.0001", &m), -1);
    assert_int_equal(sw_ratio_parse("0", &m), -1);
    assert_int_equal(sw_ratio_parse("-1", &m), -1);
    assert_int_equal(sw_ratio_parse("1e3", &m), -1);
    assert_int_equal(sw_ratio_parse("", &m), -1);
    assert_int_equal(sw_ratio_parse("1.", &m), -1);
    char buf[24];
    assert_string_equal(sw_ratio_format(1500, buf), "1.5");
    assert_string_equal(sw_ratio_format(4000, buf), "4");
    assert_string_equal(sw_ratio_format(125, buf), "0.125");
    assert_string_equal(sw_ratio_format(1050, buf), "1.05");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demand_by_kind),
        cmocka_unit_test(test_capacity_and_fit),
        cmocka_unit_test(test_ratio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
