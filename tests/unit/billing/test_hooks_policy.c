#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "billing/hooks_policy.h"
#include "core/err.h"

#define DEFAULT "0,5,300,1800,7200,18000,36000,50400,72000,86400"

static void test_parse(void **state)
{
    (void)state;
    struct sw_hooks_schedule s;
    struct sw_err err = {0};
    assert_int_equal(sw_hooks_schedule_parse(DEFAULT, &s, &err), 0);
    assert_int_equal(s.n, 10);
    long total = 0;
    for (int i = 0; i < s.n; i++)
        total += s.delay[i];
    /* about three days in all */
    assert_true(total > 3 * 86400 && total < 4 * 86400);
    assert_int_equal(s.delay[1], 5);
    assert_int_equal(sw_hooks_schedule_parse("0", &s, &err), 0);
    assert_int_equal(s.n, 1);
    static const char *const bad[] = {"", ",", "0,", ",5", "1,-2", "1 ,2", "a", "604801",
                                      "0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sw_err_clear(&err);
        assert_int_equal(sw_hooks_schedule_parse(bad[i], &s, &err), -1);
        assert_int_equal(err.code, SW_EINVALID);
    }
    assert_int_equal(sw_hooks_schedule_parse(NULL, &s, &err), -1);
}

static void test_outcome(void **state)
{
    (void)state;
    struct sw_hooks_schedule s;
    struct sw_err err = {0};
    assert_int_equal(sw_hooks_schedule_parse(DEFAULT, &s, &err), 0);
    struct sw_hooks_outcome o = sw_hooks_outcome(200, 1, false, &s);
    assert_int_equal(o.state, SW_HOOKS_DELIVERED);
    assert_false(o.disable_endpoint);
    assert_int_equal(sw_hooks_outcome(204, 7, false, &s).state, SW_HOOKS_DELIVERED);
    assert_int_equal(sw_hooks_outcome(299, 1, true, &s).state, SW_HOOKS_DELIVERED);
    /* 410: failed at once, endpoint disabled */
    o = sw_hooks_outcome(410, 1, false, &s);
    assert_int_equal(o.state, SW_HOOKS_FAILED);
    assert_true(o.disable_endpoint);
    /* the schedule after each failed attempt, whatever the failure */
    static const int failures[] = {0, 301, 400, 404, 429, 500, 503};
    for (size_t f = 0; f < sizeof failures / sizeof failures[0]; f++) {
        for (int a = 1; a < s.n; a++) {
            o = sw_hooks_outcome(failures[f], a, false, &s);
            assert_int_equal(o.state, SW_HOOKS_PENDING);
            assert_int_equal(o.retry_in_s, s.delay[a]);
            assert_false(o.disable_endpoint);
        }
        o = sw_hooks_outcome(failures[f], s.n, false, &s);
        assert_int_equal(o.state, SW_HOOKS_FAILED);
        assert_false(o.disable_endpoint);
    }
    assert_int_equal(sw_hooks_outcome(500, 1, false, &s).retry_in_s, 5);
    assert_int_equal(sw_hooks_outcome(500, 2, false, &s).retry_in_s, 300);
    assert_int_equal(sw_hooks_outcome(500, 9, false, &s).retry_in_s, 86400);
    /* a manual attempt gets no retries */
    assert_int_equal(sw_hooks_outcome(500, 1, true, &s).state, SW_HOOKS_FAILED);
    assert_string_equal(sw_hooks_state_name(SW_HOOKS_PENDING), "pending");
    assert_string_equal(sw_hooks_state_name(SW_HOOKS_FAILED), "failed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_outcome),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
