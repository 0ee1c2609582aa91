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

#include <stdio.h>
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

#define NODE "33333333-3333-4333-8333-333333333333"
#define CANON                                                                              \
    "{\"sample_id\":\"" SRV ":1700000000\",\"server_id\":\"" SRV "\",\"node_id\":\"" NODE   \
    "\",\"ts\":1700000000,\"period_s\":60,\"cpu_ns\":5,\"mem_mb\":100,\"mem_max_mb\":2048,"    \
    "\"net_rx_bytes\":1,\"net_tx_bytes\":2,\"disk_rd_bytes\":3,\"disk_wr_bytes\":4}"

/* The fast path takes the canonical shape (in any key order, with
 * spaces) with exactly the strict decoder's values, and hands anything
 * else over to it: what it accepts the strict decoder accepts alike. */
static void test_decode_fast(void **state)
{
    (void)state;
    struct sw_msg_usage a, b;
    struct sw_err err = {0};
    const char *good[] = {
        CANON,
        " { \"ts\" : 1700000000 , \"sample_id\":\"" SRV ":1700000000\",\"server_id\":\"" SRV
        "\",\"node_id\":\"" NODE "\",\"period_s\":60,\"cpu_ns\":0,\"mem_mb\":100,"
        "\"mem_max_mb\":2048,\"net_rx_bytes\":1,\"net_tx_bytes\":2,\"disk_rd_bytes\":3,"
        "\"disk_wr_bytes\":999999999999999999}\n",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        assert_int_equal(sw_usage_decode_fast(good[i], &a), 0);
        assert_int_equal(sw_msg_usage_decode(good[i], &b, &err), 0);
        assert_memory_equal(&a, &b, sizeof a);
    }
    /* The optional disk_bytes, first or last: the same values both ways;
     * absent, 0 (an engine that does not report it). */
    char with[1024];
    snprintf(with, sizeof with, "{\"disk_bytes\":21474836480,%s", &CANON[1]);
    char last[1024];
    snprintf(last, sizeof last, "%.*s,\"disk_bytes\":7}", (int)strlen(CANON) - 1, CANON);
    const char *withs[] = {with, last};
    const int64_t want[] = {21474836480LL, 7};
    for (size_t i = 0; i < 2; i++) {
        memset(&a, 0xff, sizeof a);
        memset(&b, 0, sizeof b);
        assert_int_equal(sw_usage_decode_fast(withs[i], &a), 0);
        assert_int_equal(sw_msg_usage_decode(withs[i], &b, &err), 0);
        assert_int_equal(a.disk_bytes, want[i]);
        assert_int_equal(b.disk_bytes, want[i]);
    }
    memset(&a, 0xff, sizeof a);
    assert_int_equal(sw_usage_decode_fast(CANON, &a), 0);
    assert_int_equal(a.disk_bytes, 0);
    /* Each of these leaves the decision to the strict decoder. */
    const char *other[] = {
        NULL, "", "garbage", "[]", "{}",
        CANON "x", /* trailing text */
    };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        assert_int_equal(sw_usage_decode_fast(other[i], &a), -1);
    /* an unknown key, a repeated key, an escaped string: before the rest */
    const char *prefix[] = {"\"x\":1,", "\"ts\":1,", "\"mem_mb\":\"a\\u0062\","};
    for (size_t i = 0; i < sizeof prefix / sizeof prefix[0]; i++) {
        char buf[1024];
        snprintf(buf, sizeof buf, "{%s%s", prefix[i], &CANON[1]);
        assert_int_equal(sw_usage_decode_fast(buf, &a), -1);
        assert_int_equal(sw_msg_usage_decode(buf, &b, &err), -1);
    }
    /* Values the fast path refuses: negative, fraction, exponent, leading
     * zero, 19 digits, period out of range, bad UUID, a missing field. */
    const char *from[] = {"\"cpu_ns\":5", "\"cpu_ns\":5", "\"cpu_ns\":5", "\"cpu_ns\":5",
                          "\"cpu_ns\":5", "\"period_s\":60", "\"period_s\":60",
                          "\"node_id\":\"3", "\"cpu_ns\":5,"};
    const char *to[] = {"\"cpu_ns\":-5", "\"cpu_ns\":5.0", "\"cpu_ns\":5e0", "\"cpu_ns\":05",
                        "\"cpu_ns\":1000000000000000000", "\"period_s\":0",
                        "\"period_s\":86401", "\"node_id\":\"x", ""};
    for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
        char buf[1024];
        const char *at = strstr(CANON, from[i]);
        assert_non_null(at);
        snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - CANON), CANON, to[i],
                 at + strlen(from[i]));
        assert_int_equal(sw_usage_decode_fast(buf, &a), -1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_id),
        cmocka_unit_test(test_disposition),
        cmocka_unit_test(test_decode_fast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
