#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/err.h"
#include "core/json.h"

static json_t *parse(const char *s, struct sw_err *err)
{
    return sw_json_parse_object(s, strlen(s), err);
}

static void test_parse_ok(void **state)
{
    (void)state;
    struct sw_err err = {0};
    json_t *o = parse("{\"a\": 1, \"b\": \"x\"}", &err);
    assert_non_null(o);
    assert_int_equal(sw_json_int(o, "a", 0), 1);
    assert_string_equal(sw_json_str(o, "b"), "x");
    json_decref(o);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    struct sw_err err = {0};
    assert_null(parse("{\"a\": 1, \"a\": 2}", &err));
    assert_int_equal(err.code, SW_EINVALID);
    assert_null(parse("[1, 2]", &err));
    assert_string_equal(err.msg, "a JSON object is expected");
    assert_null(parse("{bad", &err));
    assert_non_null(strstr(err.msg, "malformed JSON"));
    assert_null(sw_json_parse_object("", 0, &err));
    char deep[200] = "{\"a\":";
    for (int i = 0; i < 40; i++)
        strcat(deep, "[");
    assert_null(parse(deep, &err));
    assert_non_null(strstr(err.msg, "deeper than 32"));
    /* brackets inside strings do not count as depth */
    json_t *o = parse("{\"a\": \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}", &err);
    assert_non_null(o);
    json_decref(o);
}

static const struct sw_jfield fields[] = {
    {"name", SW_JT_STRING, true},
    {"n", SW_JT_INT, false},
    {"x", SW_JT_NUMBER, false},
    {NULL, 0, false},
};

static void test_check(void **state)
{
    (void)state;
    struct sw_err err = {0};
    json_t *o = parse("{\"name\": \"a\", \"n\": 3, \"x\": 1.5}", &err);
    assert_int_equal(sw_json_check(o, fields, &err), 0);
    json_decref(o);

    o = parse("{\"name\": \"a\", \"owner\": \"me\"}", &err);
    assert_int_equal(sw_json_check(o, fields, &err), -1);
    assert_string_equal(err.msg, "unknown field \"owner\"");
    json_decref(o);

    o = parse("{\"n\": 3}", &err);
    assert_int_equal(sw_json_check(o, fields, &err), -1);
    assert_string_equal(err.msg, "field \"name\" is required");
    json_decref(o);

    o = parse("{\"name\": \"a\", \"n\": 1.5}", &err);
    assert_int_equal(sw_json_check(o, fields, &err), -1);
    assert_string_equal(err.msg, "field \"n\" must be an integer");
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
