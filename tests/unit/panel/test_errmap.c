#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/err.h"
#include "panel/errmap.h"

static void test_status_map(void **state)
{
    (void)state;
    const char *code;
    assert_int_equal(sw_errmap_status(SW_EINVALID, &code), 400);
    assert_string_equal(code, "invalid_request");
    assert_int_equal(sw_errmap_status(SW_ENOTFOUND, &code), 404);
    assert_int_equal(sw_errmap_status(SW_ECONFLICT, &code), 409);
    assert_int_equal(sw_errmap_status(SW_EUNPROCESSABLE, &code), 422);
    assert_int_equal(sw_errmap_status(SW_EUNAVAILABLE, &code), 503);
    assert_int_equal(sw_errmap_status(SW_EINTERNAL, &code), 500);
    assert_int_equal(sw_errmap_status(SW_ERATE_LIMITED, &code), 429);
    assert_string_equal(code, "rate_limited");
    assert_int_equal(sw_errmap_status(SW_ETOO_LARGE, &code), 413);
    assert_int_equal(sw_errmap_status(SW_OK, &code), 500);
    assert_string_equal(code, "internal");
}

static const char *message_of(json_t *body)
{
    return json_string_value(json_object_get(json_object_get(body, "error"), "message"));
}

static void test_body(void **state)
{
    (void)state;
    struct sw_err err = {0};
    int status = 0;
    SW_ERR(&err, SW_ENOTFOUND, "server not found");
    json_t *b = sw_errmap_body(&err, &status);
    assert_int_equal(status, 404);
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "error"), "code")),
                        "not_found");
    assert_string_equal(message_of(b), "server not found");
    json_decref(b);

    /* internal details never reach the caller */
    SW_ERR(&err, SW_EINTERNAL, "relation \"x\" does not exist");
    b = sw_errmap_body(&err, &status);
    assert_int_equal(status, 500);
    assert_string_equal(message_of(b), "internal error");
    json_decref(b);

    /* no message: the API code stands in */
    struct sw_err bare = {.code = SW_ECONFLICT};
    b = sw_errmap_body(&bare, &status);
    assert_int_equal(status, 409);
    assert_string_equal(message_of(b), "conflict");
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_map),
        cmocka_unit_test(test_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
