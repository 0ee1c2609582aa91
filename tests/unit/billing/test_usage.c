/* Unit tests for billing/usage.c: the pure parts (sample id rule, error
 * disposition). Storing is covered by tests/integration/provisioner_flow.sh. */
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

#include "billing/usage.h"
#include "core/err.h"
#include "core/msg.h"

#define SRV "22222222-2222-4222-8222-222222222222"

static void test_sample_id(void **state)
{
    (void)state;
    struct sw_msg_usage m;
    memset(&m, 0, sizeof m);
    strcpy(m.server_id, SRV);
    m.ts = 1700000000;
    struct sw_err err;
    sw_err_clear(&err);
    strcpy(m.sample_id, SRV ":1700000000");
    assert_true(sw_usage_id_valid(&m, &err));
    strcpy(m.sample_id, "22222222-2222-4222-8222-222222222222:1700000000");
    for (char *p = m.sample_id; *p; p++) /* UUIDs compare without case */
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    assert_true(sw_usage_id_valid(&m, &err));
    const char *bad[] = {SRV ":1700000001", SRV, "x", SRV ":1700000000:1", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        strcpy(m.sample_id, bad[i]);
        sw_err_clear(&err);
        assert_false(sw_usage_id_valid(&m, &err));
        assert_int_equal(err.code, SW_EINVALID);
    }
}

static void test_disposition(void **state)
{
    (void)state;
    struct sw_err err;
    sw_err_clear(&err);
    const struct {
        enum sw_errc code;
        enum sw_msg_outcome want;
    } cases[] = {
        {SW_EINVALID, SW_MSG_POISON}, /* FK violation: unknown server or node */
        {SW_ENOTFOUND, SW_MSG_POISON},   {SW_ECONFLICT, SW_MSG_POISON},
        {SW_EUNAVAILABLE, SW_MSG_RETRY}, /* database down, serialization */
        {SW_EINTERNAL, SW_MSG_RETRY},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err.code = cases[i].code;
        assert_int_equal(sw_usage_disposition(&err), cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_id),
        cmocka_unit_test(test_disposition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
