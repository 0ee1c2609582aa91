/* Unit tests for provisioner/evac_judge.c: where one server of an
 * evacuation goes next. */
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

#include "provisioner/evac.h"

static struct sw_evac_entry ready_entry(void)
{
    struct sw_evac_entry e = {SW_EVAC_PENDING, "running", true, NULL, NULL, NULL, false, 0, false};
    return e;
}

static struct sw_evac_verdict judge(const struct sw_evac_entry *e)
{
    struct sw_evac_verdict v;
    sw_evac_judge(e, &v);
    return v;
}

static void test_names(void **state)
{
    (void)state;
    for (int i = 0; i < SW_EVAC__COUNT; i++)
        assert_int_equal(sw_evac_state_parse(sw_evac_state_name(i)), i);
    assert_int_equal(sw_evac_state_parse("in_flight"), SW_EVAC_IN_FLIGHT);
    assert_int_equal(sw_evac_state_parse("flying"), -1);
    assert_int_equal(sw_evac_state_parse(NULL), -1);
    assert_null(sw_evac_state_name(SW_EVAC__COUNT));
}

/* running and stopped servers with nothing else queued go; the rest wait. */
static void test_ready_or_waiting(void **state)
{
    (void)state;
    struct sw_evac_entry e = ready_entry();
    struct sw_evac_verdict v = judge(&e);
    assert_int_equal(v.state, SW_EVAC_PENDING);
    assert_true(v.queue);
    e.srv_state = "stopped";
    assert_true(judge(&e).queue);
    static const char *const mid[] = {"pending", "provisioning", "terminating", NULL};
    for (int i = 0; mid[i]; i++) {
        e.srv_state = mid[i];
        v = judge(&e);
        assert_int_equal(v.state, SW_EVAC_WAITING);
        assert_false(v.queue);
        assert_non_null(strstr(v.reason, mid[i]));
    }
    e = ready_entry();
    e.busy = true;
    v = judge(&e);
    assert_int_equal(v.state, SW_EVAC_WAITING);
    assert_string_equal(v.reason, "another job of the server is queued or running");
    /* a waiting server whose job ended is ready again */
    e.busy = false;
    e.state = SW_EVAC_WAITING;
    assert_true(judge(&e).queue);
    e.srv_state = "suspended";
    v = judge(&e);
    assert_int_equal(v.state, SW_EVAC_UNMOVABLE);
    assert_string_equal(v.code, "conflict");
}

static void test_in_flight(void **state)
{
    (void)state;
    struct sw_evac_entry e = ready_entry();
    e.state = SW_EVAC_IN_FLIGHT;
    e.tries = 1;
    e.busy = true; /* another job queued behind the migrate job: still in flight */
    e.job_state = "queued";
    assert_int_equal(judge(&e).state, SW_EVAC_IN_FLIGHT);
    e.job_state = "running";
    struct sw_evac_verdict v = judge(&e);
    assert_int_equal(v.state, SW_EVAC_IN_FLIGHT);
    assert_false(v.queue);
    /* the success moved it */
    e.job_state = "succeeded";
    e.on_node = false;
    assert_int_equal(judge(&e).state, SW_EVAC_MOVED);
    /* terminated while in flight */
    e.on_node = true;
    e.srv_state = "terminated";
    assert_int_equal(judge(&e).state, SW_EVAC_GONE);
}

static void test_job_failed(void **state)
{
    (void)state;
    struct sw_evac_entry e = ready_entry();
    e.state = SW_EVAC_IN_FLIGHT;
    e.tries = 1;
    e.job_state = "failed";
    e.job_code = "unsupported";
    e.job_error = "could not migrate the server: a running container cannot move live";
    struct sw_evac_verdict v = judge(&e);
    assert_int_equal(v.state, SW_EVAC_UNMOVABLE);
    assert_string_equal(v.code, "unsupported");
    assert_string_equal(v.reason, e.job_error);
    e.job_code = "no_capacity";
    e.job_error = "no node has room";
    assert_int_equal(judge(&e).state, SW_EVAC_UNMOVABLE);
    /* transient: queued again (keeping the last error) until the tries run out */
    e.job_state = "dead";
    e.job_code = "no_answer";
    e.job_error = "the node never answered";
    v = judge(&e);
    assert_int_equal(v.state, SW_EVAC_PENDING);
    assert_true(v.queue);
    assert_string_equal(v.code, "no_answer");
    assert_string_equal(v.reason, "the node never answered");
    e.busy = true;
    v = judge(&e);
    assert_int_equal(v.state, SW_EVAC_WAITING);
    assert_false(v.queue);
    e.busy = false;
    e.tries = SW_EVAC_MAX_TRIES;
    v = judge(&e);
    assert_int_equal(v.state, SW_EVAC_UNMOVABLE);
    assert_string_equal(v.code, "no_answer");
    /* no code recorded: internal */
    e.job_code = NULL;
    e.job_error = NULL;
    v = judge(&e);
    assert_string_equal(v.code, "internal");
    assert_string_equal(v.reason, "the migrate job failed");
    /* an operator's cancel is final, though its code (conflict) is transient */
    e.tries = 1;
    e.job_state = "failed";
    e.job_code = "conflict";
    e.job_error = "the migration was cancelled; the server keeps running on its node";
    v = judge(&e);
    assert_int_equal(v.state, SW_EVAC_PENDING);
    e.cancelled = true;
    v = judge(&e);
    assert_int_equal(v.state, SW_EVAC_UNMOVABLE);
    assert_string_equal(v.reason, "an operator cancelled the server's migrate job");
    e.cancelled = false;
    /* a success that left the server on the node is tried again */
    e.tries = 1;
    e.job_state = "succeeded";
    v = judge(&e);
    assert_int_equal(v.state, SW_EVAC_PENDING);
    assert_true(v.queue);
}

static void test_final_states_stay(void **state)
{
    (void)state;
    static const enum sw_evac_state fin[] = {SW_EVAC_MOVED, SW_EVAC_UNMOVABLE, SW_EVAC_GONE};
    for (size_t i = 0; i < sizeof fin / sizeof fin[0]; i++) {
        struct sw_evac_entry e = ready_entry();
        e.state = fin[i];
        struct sw_evac_verdict v = judge(&e);
        assert_int_equal(v.state, fin[i]);
        assert_false(v.queue);
    }
}

static void test_live(void **state)
{
    (void)state;
    assert_true(sw_evac_live(true, "running"));
    assert_false(sw_evac_live(true, "stopped"));
    assert_false(sw_evac_live(false, "running"));
    assert_false(sw_evac_live(true, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),        cmocka_unit_test(test_ready_or_waiting),
        cmocka_unit_test(test_in_flight),    cmocka_unit_test(test_job_failed),
        cmocka_unit_test(test_final_states_stay), cmocka_unit_test(test_live),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
