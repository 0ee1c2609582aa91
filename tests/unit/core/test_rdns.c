#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/err.h"
#include "core/rdns.h"

static void test_names(void **state)
{
    (void)state;
    static const struct {
        const char *addr, *name;
    } cases[] = {
        {"192.0.2.5", "5.2.0.192.in-addr.arpa."},
        {"10.0.0.255", "255.0.0.10.in-addr.arpa."},
        {"2001:db8::1",
         "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."},
        {"2001:db8:0:3:abcd::f",
         "f.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.3.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[SW_RDNS_NAME_MAX];
        struct sw_err err = {0};
        assert_int_equal(sw_rdns_name(cases[i].addr, out, &err), 0);
        assert_string_equal(out, cases[i].name);
    }
}

static void test_not_addresses(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "192.0.2", "192.0.2.5/32", "2001:db8::/64", "host",
                                      "192.0.2.256", "1:2:3:4:5:6:7:8:9", " 192.0.2.5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[SW_RDNS_NAME_MAX];
        struct sw_err err = {0};
        assert_int_equal(sw_rdns_name(bad[i], out, &err), -1);
        assert_int_equal(err.code, SW_EINVALID);
    }
}

static void test_zones(void **state)
{
    (void)state;
    assert_true(sw_rdns_in_zone("5.2.0.192.in-addr.arpa.", "2.0.192.in-addr.arpa."));
    assert_true(sw_rdns_in_zone("5.2.0.192.in-addr.arpa.", "2.0.192.IN-ADDR.arpa."));
    assert_true(sw_rdns_in_zone("2.0.192.in-addr.arpa.", "2.0.192.in-addr.arpa."));
    /* a label boundary, not a suffix of characters */
    assert_false(sw_rdns_in_zone("5.12.0.192.in-addr.arpa.", "2.0.192.in-addr.arpa."));
    assert_false(sw_rdns_in_zone("5.3.0.192.in-addr.arpa.", "2.0.192.in-addr.arpa."));
    assert_false(sw_rdns_in_zone("in-addr.arpa.", "2.0.192.in-addr.arpa."));
    assert_false(sw_rdns_in_zone("5.2.0.192.in-addr.arpa.", ""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_not_addresses),
        cmocka_unit_test(test_zones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
