#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "panel/totp.h"

/* RFC 6238 appendix B: the SHA-1 secret "12345678901234567890" in base32;
 * the codes are the last 6 digits of the RFC's 8. */
#define RFC_SECRET "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

static const struct {
    time_t t;
    const char *code;
} vectors[] = {
    {59, "287082"},         {1111111109, "081804"}, {1111111111, "050471"},
    {1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"},
};

static void test_rfc_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vectors / sizeof *vectors; i++) {
        struct sw_err err = {0};
        assert_int_equal(sw_totp_step(RFC_SECRET, vectors[i].t, vectors[i].code, &err),
                         vectors[i].t / 30);
    }
}

static void test_window(void **state)
{
    (void)state;
    struct sw_err err = {0};
    /* 287082 is step 1 (30..59 s): still taken one step later, not two */
    assert_int_equal(sw_totp_step(RFC_SECRET, 89, "287082", &err), 1);
    assert_int_equal(sw_totp_step(RFC_SECRET, 0, "287082", &err), 1);
    assert_int_equal(sw_totp_step(RFC_SECRET, 90, "287082", &err), -1);
    assert_int_equal(err.code, SW_EFORBIDDEN);
    err = (struct sw_err){0};
    assert_int_equal(sw_totp_step(RFC_SECRET, 59, "287083", &err), -1);
    assert_int_equal(err.code, SW_EFORBIDDEN);
    err = (struct sw_err){0};
    assert_int_equal(sw_totp_step(RFC_SECRET, 59, "28708", &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
    err = (struct sw_err){0};
    assert_int_equal(sw_totp_step(RFC_SECRET, 59, "28708a", &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
}

static void test_secret_uri_qr(void **state)
{
    (void)state;
    struct sw_err err = {0};
    char a[SW_TOTP_SECRET_MAX], b[SW_TOTP_SECRET_MAX];
    assert_int_equal(sw_totp_secret_new(a, &err), 0);
    assert_int_equal(sw_totp_secret_new(b, &err), 0);
    assert_int_equal(strlen(a), 32);
    assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), 32);
    assert_string_not_equal(a, b);
    char *uri = sw_totp_uri("slip way", "a+b@x.com", RFC_SECRET, &err);
    assert_string_equal(uri, "otpauth://totp/slip%20way:a%2Bb%40x.com?secret=" RFC_SECRET
                             "&issuer=slip%20way&algorithm=SHA1&digits=6&period=30");
    char *svg = sw_totp_qr_svg(uri, &err);
    assert_non_null(svg);
    assert_true(strncmp(svg, "<svg xmlns=", 11) == 0);
    assert_non_null(strstr(svg, "h1v1h-1z"));
    assert_string_equal(svg + strlen(svg) - 9, "\"/></svg>");
    free(svg);
    free(uri);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_vectors),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_secret_uri_qr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
