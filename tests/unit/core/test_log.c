#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"

static void test_quote(void **state)
{
    (void)state;
    char b[64];
    assert_string_equal(sw_log_quote(b, sizeof b, "plain"), "plain");
    assert_string_equal(sw_log_quote(b, sizeof b, "two words"), "\"two words\"");
    assert_string_equal(sw_log_quote(b, sizeof b, "a=\"b\""), "\"a=\\\"b\\\"\"");
    assert_string_equal(sw_log_quote(b, sizeof b, "line\nbreak"), "\"line\\nbreak\"");
    assert_string_equal(sw_log_quote(b, sizeof b, ""), "\"\"");
}

static int formatted;
static const char *count_format(void)
{
    formatted++;
    return "x";
}

static void test_level_filter_before_format(void **state)
{
    (void)state;
    assert_int_equal(sw_log_init("test", "warn"), 0);
    formatted = 0;
    sw_info("test.event", "v=%s", count_format()); /* filtered: args not evaluated */
    assert_int_equal(formatted, 0);
    assert_int_equal(sw_log_init("test", "nonsense"), -1);
    sw_log_init("test", "off");
}

static void test_err_and_conf(void **state)
{
    (void)state;
    struct sw_err err = {0};
    SW_ERR(&err, SW_ENOTFOUND, "server %s not found", "x");
    assert_int_equal(err.code, SW_ENOTFOUND);
    assert_string_equal(err.msg, "server x not found");
    assert_string_equal(sw_errc_name(err.code), "not_found");
    assert_non_null(err.file);
    assert_true(err.line > 0);

    long v;
    setenv("SLIPWAY_USAGE_INTERVAL", "15", 1);
    assert_int_equal(sw_conf_long("SLIPWAY_USAGE_INTERVAL", 1, 3600, &v, &err), 0);
    assert_int_equal(v, 15);
    setenv("SLIPWAY_USAGE_INTERVAL", "15s", 1);
    assert_int_equal(sw_conf_long("SLIPWAY_USAGE_INTERVAL", 1, 3600, &v, &err), -1);
    assert_non_null(strstr(err.msg, "SLIPWAY_USAGE_INTERVAL"));
    unsetenv("SLIPWAY_USAGE_INTERVAL");
    assert_string_equal(sw_conf_get("SLIPWAY_USAGE_INTERVAL"), "60");
    unsetenv("SLIPWAY_NODE_ID");
    assert_null(sw_conf_require("SLIPWAY_NODE_ID", &err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_level_filter_before_format),
        cmocka_unit_test(test_err_and_conf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
