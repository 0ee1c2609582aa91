/* Unit tests for provisioner/jobstate.c: the job state machine table. */
#include "config.h"
/* cmocka needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <string.h>

#include "core/enums.h"
#include "provisioner/jobstate.h"

static void test_every_type_has_an_effect(void **state)
{
    (void)state;
    for (int t = 0; t < SW_JOB__COUNT; t++) {
        const struct sw_job_effect *e = sw_jobstate_effect(t);
        assert_non_null(e);
        assert_int_equal(e->type, t);
    }
    assert_null(sw_jobstate_effect(-1));
    assert_null(sw_jobstate_effect(SW_JOB__COUNT));
}

static void test_routes(void **state)
{
    (void)state;
    assert_int_equal(sw_jobstate_effect(SW_JOB_CREATE)->route, SW_ROUTE_PLACE);
    assert_int_equal(sw_jobstate_effect(SW_JOB_TERMINATE)->route, SW_ROUTE_NODE_OR_DONE);
    const int on_node[] = {SW_JOB_START,     SW_JOB_STOP,      SW_JOB_REBOOT,
                           SW_JOB_SUSPEND,   SW_JOB_UNSUSPEND, SW_JOB_REINSTALL,
                           SW_JOB_RESET_PASSWORD};
    for (size_t i = 0; i < sizeof on_node / sizeof on_node[0]; i++)
        assert_int_equal(sw_jobstate_effect(on_node[i])->route, SW_ROUTE_NODE);
    assert_int_equal(sw_jobstate_effect(SW_JOB_RESIZE)->route, SW_ROUTE_RESIZE);
}

static void test_resize_and_password(void **state)
{
    (void)state;
    const struct sw_job_effect *e = sw_jobstate_effect(SW_JOB_RESIZE);
    /* the engine's domain state either way; never from terminated */
    assert_int_equal(sw_jobstate_server_after(e, true, "running", SW_SRV_RUNNING), SW_SRV_KEEP);
    assert_int_equal(sw_jobstate_server_after(e, true, "stopped", SW_SRV_RUNNING), SW_SRV_STOPPED);
    assert_int_equal(sw_jobstate_server_after(e, false, "running", SW_SRV_TERMINATED),
                     SW_SRV_KEEP);
    assert_false(e->release_ok);
    assert_false(e->release_fail);
    e = sw_jobstate_effect(SW_JOB_RESET_PASSWORD);
    assert_int_equal(sw_jobstate_server_after(e, false, "absent", SW_SRV_RUNNING), SW_SRV_KEEP);
    assert_int_equal(sw_jobstate_server_after(e, true, "stopped", SW_SRV_RUNNING), SW_SRV_KEEP);
}

/* A recovery: the domain as the engine reports it, except that a
 * suspended server stays suspended (its domain defined, stopped); failed
 * when it fails, from every state it recovers. */
static void test_recover(void **state)
{
    (void)state;
    const struct sw_job_effect *e = sw_jobstate_effect(SW_JOB_RECOVER);
    assert_int_equal(e->route, SW_ROUTE_RECOVER);
    assert_int_equal(sw_jobstate_server_after(e, true, "running", SW_SRV_RUNNING), SW_SRV_KEEP);
    assert_int_equal(sw_jobstate_server_after(e, true, "stopped", SW_SRV_STOPPED), SW_SRV_KEEP);
    assert_int_equal(sw_jobstate_server_after(e, true, "stopped", SW_SRV_SUSPENDED), SW_SRV_KEEP);
    assert_int_equal(sw_jobstate_server_after(e, true, "running", SW_SRV_SUSPENDED), SW_SRV_KEEP);
    assert_int_equal(sw_jobstate_server_after(e, false, "absent", SW_SRV_SUSPENDED),
                     SW_SRV_FAILED);
    assert_int_equal(sw_jobstate_server_after(e, false, "absent", SW_SRV_STOPPED), SW_SRV_FAILED);
    assert_int_equal(sw_jobstate_server_after(e, true, "running", SW_SRV_TERMINATED),
                     SW_SRV_KEEP);
    /* no other job keeps a suspension against its domain */
    for (int t = 0; t < SW_JOB__COUNT; t++)
        assert_true(t == SW_JOB_RECOVER ||
                    (sw_jobstate_effect(t)->srv_ok != SW_SRV_FROM_DOMAIN_UNLESS_SUSPENDED &&
                     sw_jobstate_effect(t)->srv_fail != SW_SRV_FROM_DOMAIN_UNLESS_SUSPENDED));
}

static void test_create(void **state)
{
    (void)state;
    const struct sw_job_effect *e = sw_jobstate_effect(SW_JOB_CREATE);
    assert_int_equal(e->srv_dispatch, SW_SRV_PROVISIONING);
    assert_int_equal(sw_jobstate_server_after(e, true, "running", SW_SRV_PROVISIONING),
                     SW_SRV_RUNNING);
    assert_int_equal(sw_jobstate_server_after(e, false, NULL, SW_SRV_PROVISIONING), SW_SRV_FAILED);
    /* no_capacity before any node: pending -> failed */
    assert_int_equal(sw_jobstate_server_after(e, false, NULL, SW_SRV_PENDING), SW_SRV_FAILED);
    /* a late create result never touches a server being terminated */
    assert_int_equal(sw_jobstate_server_after(e, true, "running", SW_SRV_TERMINATING), SW_SRV_KEEP);
    assert_int_equal(sw_jobstate_server_after(e, true, "running", SW_SRV_TERMINATED), SW_SRV_KEEP);
    assert_string_equal(e->order_ok, "completed");
    assert_string_equal(e->order_fail, "failed");
    assert_false(e->release_ok);
    assert_true(e->release_fail);
}

static void test_terminate(void **state)
{
    (void)state;
    const struct sw_job_effect *e = sw_jobstate_effect(SW_JOB_TERMINATE);
    assert_int_equal(e->srv_dispatch, SW_SRV_TERMINATING);
    assert_int_equal(sw_jobstate_server_after(e, true, "absent", SW_SRV_TERMINATING),
                     SW_SRV_TERMINATED);
    assert_int_equal(sw_jobstate_server_after(e, false, "running", SW_SRV_TERMINATING),
                     SW_SRV_KEEP);
    assert_int_equal(sw_jobstate_server_after(e, true, NULL, SW_SRV_TERMINATED), SW_SRV_KEEP);
    assert_true(e->release_ok);
    assert_false(e->release_fail);
    assert_null(e->order_ok);
}

static void test_power(void **state)
{
    (void)state;
    const struct {
        int type, ok_state;
    } cases[] = {
        {SW_JOB_START, SW_SRV_RUNNING},     {SW_JOB_STOP, SW_SRV_STOPPED},
        {SW_JOB_REBOOT, SW_SRV_RUNNING},    {SW_JOB_SUSPEND, SW_SRV_SUSPENDED},
        {SW_JOB_UNSUSPEND, SW_SRV_RUNNING},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct sw_job_effect *e = sw_jobstate_effect(cases[i].type);
        assert_int_equal(e->srv_dispatch, SW_SRV_KEEP);
        int from = cases[i].ok_state == SW_SRV_RUNNING ? SW_SRV_STOPPED : SW_SRV_RUNNING;
        if (cases[i].type == SW_JOB_UNSUSPEND)
            from = SW_SRV_SUSPENDED;
        assert_int_equal(sw_jobstate_server_after(e, true, NULL, from), cases[i].ok_state);
        /* already there: nothing to change */
        assert_int_equal(sw_jobstate_server_after(e, true, NULL, cases[i].ok_state), SW_SRV_KEEP);
        /* failure: what the engine says the domain is */
        assert_int_equal(sw_jobstate_server_after(e, false, "stopped", SW_SRV_RUNNING),
                         SW_SRV_STOPPED);
        assert_int_equal(sw_jobstate_server_after(e, false, "absent", SW_SRV_RUNNING), SW_SRV_KEEP);
        assert_int_equal(sw_jobstate_server_after(e, false, "", SW_SRV_RUNNING), SW_SRV_KEEP);
        /* never resurrects */
        assert_int_equal(sw_jobstate_server_after(e, true, NULL, SW_SRV_TERMINATED), SW_SRV_KEEP);
        assert_int_equal(sw_jobstate_server_after(e, true, NULL, SW_SRV_TERMINATING), SW_SRV_KEEP);
        assert_int_equal(sw_jobstate_server_after(e, true, NULL, SW_SRV_FAILED), SW_SRV_KEEP);
        assert_false(e->release_ok || e->release_fail);
        assert_null(e->order_ok);
    }
}

/* A failed recovery leaves a failed server: it holds nothing, as a failed
 * create (the soak found one holding its allocation and addresses). */
static void test_recover_releases(void **state)
{
    (void)state;
    const struct sw_job_effect *e = sw_jobstate_effect(SW_JOB_RECOVER);
    assert_int_equal(sw_jobstate_server_after(e, false, NULL, SW_SRV_RUNNING), SW_SRV_FAILED);
    assert_false(e->release_ok);
    assert_true(e->release_fail);
}

static void test_helpers(void **state)
{
    (void)state;
    assert_int_equal(sw_jobstate_from_domain("running"), SW_SRV_RUNNING);
    assert_int_equal(sw_jobstate_from_domain("stopped"), SW_SRV_STOPPED);
    assert_int_equal(sw_jobstate_from_domain("suspended"), SW_SRV_SUSPENDED);
    assert_int_equal(sw_jobstate_from_domain("absent"), -1);
    assert_int_equal(sw_jobstate_from_domain(NULL), -1);
    assert_true(sw_jobstate_terminal(SW_JOBST_SUCCEEDED));
    assert_true(sw_jobstate_terminal(SW_JOBST_FAILED));
    assert_true(sw_jobstate_terminal(SW_JOBST_DEAD));
    assert_false(sw_jobstate_terminal(SW_JOBST_QUEUED));
    assert_false(sw_jobstate_terminal(SW_JOBST_RUNNING));
    assert_true(sw_jobstate_should_retry(true, 1));
    assert_false(sw_jobstate_should_retry(true, SW_JOB_MAX_ATTEMPTS));
    assert_false(sw_jobstate_should_retry(false, 1));
    assert_int_equal(SW_JOB_MAX_ATTEMPTS, 5);
    assert_true(sw_jobstate_should_retry(true, SW_JOB_MAX_ATTEMPTS - 1));
    const struct sw_job_effect *e = sw_jobstate_effect(SW_JOB_START);
    assert_int_equal(sw_jobstate_server_after(e, true, NULL, -1), SW_SRV_KEEP);
    assert_int_equal(sw_jobstate_server_after(e, true, NULL, SW_SRV__COUNT), SW_SRV_KEEP);
}

/* 1 s, 2 s, 4 s ... (capped at 60 s), each with equal jitter in [base/2, base]. */
static void test_backoff(void **state)
{
    (void)state;
    static const long base[] = {0, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
    for (int a = 1; a <= 8; a++) {
        assert_int_equal(sw_jobstate_backoff_ms(a, 0), base[a] / 2);
        assert_int_equal(sw_jobstate_backoff_ms(a, (uint32_t)(base[a] / 2)), base[a]);
        for (uint32_t r = 0; r < 100000; r += 7919) {
            long d = sw_jobstate_backoff_ms(a, r * 2654435761u);
            assert_true(d >= base[a] / 2 && d <= base[a]);
        }
    }
    assert_int_equal(sw_jobstate_backoff_ms(0, 0), 500);
    assert_int_equal(sw_jobstate_backoff_ms(1000, 0), 30000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type_has_an_effect),
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_resize_and_password),
        cmocka_unit_test(test_recover),
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_terminate),
        cmocka_unit_test(test_power),
        cmocka_unit_test(test_recover_releases),
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
