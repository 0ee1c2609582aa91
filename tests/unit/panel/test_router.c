#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/err.h"
#include "panel/api.h"
#include "panel/router.h"

static void test_match(void **state)
{
    (void)state;
    char buf[256];
    const char *p[SW_MAX_PATH_PARAMS] = {0};
    assert_int_equal(sw_router_match("/v1/servers", "/v1/servers", buf, sizeof buf, p), 0);
    assert_int_equal(sw_router_match("/v1/servers/{id}", "/v1/servers/abc", buf, sizeof buf, p), 1);
    assert_string_equal(p[0], "abc");
    assert_int_equal(sw_router_match("/v1/servers/{id}/usage", "/v1/servers/abc/usage", buf,
                                     sizeof buf, p), 1);
    assert_string_equal(p[0], "abc");
    assert_int_equal(sw_router_match("/v1/servers/{id}", "/v1/servers/", buf, sizeof buf, p), -1);
    assert_int_equal(sw_router_match("/v1/servers/{id}", "/v1/servers/a/b", buf, sizeof buf, p), -1);
    assert_int_equal(sw_router_match("/v1/servers", "/v1/servers/", buf, sizeof buf, p), -1);
    assert_int_equal(sw_router_match("/v1/servers", "/v1/server", buf, sizeof buf, p), -1);
    assert_int_equal(sw_router_match("/v1/servers", "v1/servers", buf, sizeof buf, p), -1);
}

static void test_table_is_sane(void **state)
{
    (void)state;
    size_t n;
    const struct sw_route *const *r = sw_routes(&n);
    assert_true(n > 10);
    char why[256] = "";
    assert_int_equal(sw_router_check(why, sizeof why), 0);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(r[i]->fn);
        assert_true(r[i]->pattern[0] == '/');
        assert_true(r[i]->owner > SW_OWN_UNSET);
        /* every admin route is operator-only */
        if (strncmp(r[i]->pattern, "/v1/admin/", 10) == 0)
            assert_int_equal(r[i]->roles, SW_ROLE_OPERATOR);
        /* every reseller route is reseller-only */
        if (strncmp(r[i]->pattern, "/v1/reseller/", 13) == 0)
            assert_int_equal(r[i]->roles, SW_ROLE_RESELLER);
    }
}

static void test_hostname(void **state)
{
    (void)state;
    assert_true(sw_api_hostname_valid("web1"));
    assert_true(sw_api_hostname_valid("web-1.example.com"));
    assert_true(sw_api_hostname_valid("1.example"));
    assert_false(sw_api_hostname_valid(""));
    assert_false(sw_api_hostname_valid("-web"));
    assert_false(sw_api_hostname_valid("web-"));
    assert_false(sw_api_hostname_valid("a..b"));
    assert_false(sw_api_hostname_valid("a.b."));
    assert_false(sw_api_hostname_valid("web_1"));
    assert_false(sw_api_hostname_valid("<x/>"));
    char label[70];
    memset(label, 'a', 64);
    label[64] = '\0';
    assert_false(sw_api_hostname_valid(label));
    label[63] = '\0';
    assert_true(sw_api_hostname_valid(label));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_table_is_sane),
        cmocka_unit_test(test_hostname),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
