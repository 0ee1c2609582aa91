/* Tests of engines/ledger.c: the engine's own re-check of its node's
 * ledger (pure). */
#include "config.h"
#include "engines/ledger.h"
#include "core/enums.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

/* 8 CPUs x 4, 16 GiB less 1 GiB reserved (guarantees 15 GiB, ceilings x 1.5), 500 GB. */
static const struct sw_node_inv inv = {8, 16384, 1024, 500, 4000, 1500};

static struct sw_msg_node_job job_of(int64_t vcpus, int64_t ram, int64_t max, int64_t disk)
{
    struct sw_msg_node_job j;
    memset(&j, 0, sizeof j);
    j.kind = SW_KIND_HVM;
    j.vcpus = vcpus;
    j.ram_mb = ram;
    j.max_ram_mb = max;
    j.disk_gb = disk;
    return j;
}

static void test_fits_to_the_edge(void **state)
{
    (void)state;
    struct sw_amounts others = {{30, 14336, 20000, 400}};
    int c = -1;
    struct sw_msg_node_job j = job_of(2, 1024, 3040, 100);
    assert_true(sw_ledger_fits(&inv, &others, &j, &c)); /* exactly full in every class */
    static const struct {
        struct sw_msg_node_job j;
        int cls;
    } over[] = {
        {{.vcpus = 3, .ram_mb = 1, .max_ram_mb = 1, .disk_gb = 1}, SW_RC_VCPU},
        {{.vcpus = 1, .ram_mb = 1025, .max_ram_mb = 1025, .disk_gb = 1}, SW_RC_MEM_GUAR},
        {{.vcpus = 1, .ram_mb = 1, .max_ram_mb = 3041, .disk_gb = 1}, SW_RC_MEM_MAX},
        {{.vcpus = 1, .ram_mb = 1, .max_ram_mb = 1, .disk_gb = 101}, SW_RC_DISK},
    };
    for (size_t i = 0; i < sizeof over / sizeof over[0]; i++) {
        c = -1;
        assert_false(sw_ledger_fits(&inv, &others, &over[i].j, &c));
        assert_int_equal(c, over[i].cls);
    }
}

/* Guarantees are never overcommitted, whatever the pool ratio. */
static void test_guarantee_ratio_one(void **state)
{
    (void)state;
    struct sw_amounts none = {{0, 0, 0, 0}};
    struct sw_msg_node_job j = job_of(1, 15361, 15361, 1);
    int c = -1;
    assert_false(sw_ledger_fits(&inv, &none, &j, &c));
    assert_int_equal(c, SW_RC_MEM_GUAR);
    struct sw_amounts d;
    sw_ledger_job_demand(&j, &d);
    assert_int_equal(d.v[SW_RC_MEM_GUAR], 15361);
    assert_int_equal(d.v[SW_RC_MEM_MAX], 15361);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fits_to_the_edge),
        cmocka_unit_test(test_guarantee_ratio_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
