/* Unit tests for engines/epoch.c: the verdict on a local domain by its
 * epoch, the job check, and on the in-process test driver the epoch a
 * created domain carries in its metadata and the fencing of a stale copy
 * (destroyed, undefined, its XML handed back, its volumes kept). */
#include "config.h"
/* cmocka needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <stdlib.h>
#include <string.h>

#include "core/enums.h"
#include "core/err.h"
#include "engines/epoch.h"
#include "tests/unit/engines/testnode.h"

#define SRV "5f0c6a7e-2b1d-4c3e-9a8b-7d6e5f4a3b2c"

static struct sw_epoch_record rec(bool found, bool elsewhere, int64_t epoch)
{
    struct sw_epoch_record r = {.found = found, .elsewhere = elsewhere, .epoch = epoch};
    return r;
}

/* A copy is stale only when its server lives elsewhere at its epoch or a
 * later one; a higher epoch is a move to this node in flight. */
static void test_judge(void **state)
{
    (void)state;
    struct sw_epoch_record r = rec(false, false, 0);
    assert_int_equal(sw_epoch_judge(3, &r), SW_EPOCH_UNKNOWN);
    r = rec(true, false, 3);
    assert_int_equal(sw_epoch_judge(1, &r), SW_EPOCH_UNKNOWN); /* here: not judged */
    r = rec(true, true, 3);
    assert_int_equal(sw_epoch_judge(3, &r), SW_EPOCH_STALE);
    assert_int_equal(sw_epoch_judge(2, &r), SW_EPOCH_STALE);
    assert_int_equal(sw_epoch_judge(0, &r), SW_EPOCH_STALE); /* from before epochs */
    assert_int_equal(sw_epoch_judge(4, &r), SW_EPOCH_INCOMING);
}

static void test_job_check(void **state)
{
    (void)state;
    struct sw_msg_node_job job;
    memset(&job, 0, sizeof job);
    snprintf(job.server_id, sizeof job.server_id, "%s", SRV);
    struct sw_err err;
    sw_err_clear(&err);
    struct sw_epoch_record r = rec(false, false, 0);
    job.epoch = 2;
    assert_int_equal(sw_epoch_job_check(&job, &r, &err), 0); /* nothing to compare */
    r = rec(true, false, 2);
    assert_int_equal(sw_epoch_job_check(&job, &r, &err), 0);
    job.epoch = 0;
    assert_int_equal(sw_epoch_job_check(&job, &r, &err), 0); /* a job from before epochs */
    job.epoch = 1;
    assert_int_equal(sw_epoch_job_check(&job, &r, &err), -1);
    assert_int_equal(err.code, SW_ECONFLICT);
    assert_string_equal(err.msg, "the job was sent before the server last moved");
    sw_err_clear(&err);
    job.epoch = 2;
    r = rec(true, true, 2);
    assert_int_equal(sw_epoch_job_check(&job, &r, &err), -1);
    assert_int_equal(err.code, SW_ECONFLICT);
    assert_string_equal(err.msg, "the server lives on another node now");
}

/* Creates SRV of kind on t with epoch and returns its domain (owned). */
static virDomainPtr created(struct sw_testnode *t, int kind, int64_t epoch)
{
    struct sw_msg_node_job job;
    sw_testnode_job(&job, kind, SW_JOB_CREATE, SRV);
    job.epoch = epoch;
    struct sw_engine_outcome out;
    struct sw_err err;
    sw_err_clear(&err);
    assert_int_equal(sw_engine_run(&t->eng, &job, &out, &err), 0);
    virDomainPtr dom = virDomainLookupByUUIDString(t->conn, SRV);
    assert_non_null(dom);
    return dom;
}

/* A created domain carries the job's epoch; fencing it destroys and
 * undefines it and hands back its XML, and its root volume stays. */
static void test_domain_epoch_and_fence(void **state)
{
    struct sw_testnode *t = *state;
    virDomainPtr dom = created(t, SW_KIND_HVM, 7);
    assert_int_equal(sw_epoch_of_domain(dom), 7);
    struct sw_err err;
    sw_err_clear(&err);
    assert_int_equal(virDomainIsActive(dom), 1);
    char *xml = NULL;
    assert_int_equal(sw_epoch_fence_copy(dom, &xml, &err), 0);
    assert_non_null(xml);
    assert_non_null(strstr(xml, "<slipway:epoch>7</slipway:epoch>"));
    free(xml);
    virDomainFree(dom);
    assert_null(virDomainLookupByUUIDString(t->conn, SRV)); /* undefined */
    virStoragePoolPtr pool = virStoragePoolLookupByName(t->conn, "slipway");
    assert_non_null(pool);
    virStorageVolPtr vol = virStorageVolLookupByName(pool, "sw-" SRV "-root-0.qcow2");
    assert_non_null(vol); /* its volumes are never the fence's */
    virStorageVolFree(vol);
    virStoragePoolFree(pool);
}

/* A job from before epochs (0) is written as epoch 1. */
static void test_epoch_default(void **state)
{
    virDomainPtr dom = created(*state, SW_KIND_PV, 0);
    assert_int_equal(sw_epoch_of_domain(dom), 1);
    virDomainFree(dom);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_judge),
        cmocka_unit_test(test_job_check),
        SW_TESTNODE_TEST(test_domain_epoch_and_fence),
        SW_TESTNODE_TEST(test_epoch_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
