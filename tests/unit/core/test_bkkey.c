/* Unit tests for core/bkkey.c: secrets wrapped with the control plane's
 * master key, the short backup ones and the long fence ones (16 KiB). */
#include "config.h"
/* cmocka needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "core/bkkey.h"
#include "core/err.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static void use_key(unsigned char fill)
{
    unsigned char key[SW_BKKEY_BYTES];
    char b64[64];
    memset(key, fill, sizeof key);
    sodium_bin2base64(b64, sizeof b64, key, sizeof key, sodium_base64_VARIANT_ORIGINAL);
    setenv("SLIPWAY_BACKUP_MASTER_KEY", b64, 1);
}

/* A 16 KiB secret (an ssh key) goes through; its text is not in the
 * wrapped form; another master key, or a smaller bound, does not open it. */
static void test_long_secret(void **state)
{
    (void)state;
    use_key(7);
    static char plain[16385];
    for (size_t i = 0; i < sizeof plain - 1; i++)
        plain[i] = (char)('A' + i % 26);
    struct sw_err err;
    sw_err_clear(&err);
    char *w = sw_bkkey_wrap_new(plain, strlen(plain), &err);
    assert_non_null(w);
    assert_true(strlen(w) <= 21900); /* migration 0039's bound */
    assert_null(strstr(w, "ABCDEFGHIJ"));
    char *back = sw_bkkey_unwrap_new(w, 16384, &err);
    assert_non_null(back);
    assert_string_equal(back, plain);
    sodium_memzero(back, strlen(back));
    free(back);
    assert_null(sw_bkkey_unwrap_new(w, 16383, &err));
    assert_int_equal(err.code, SW_EINTERNAL);
    use_key(8);
    sw_err_clear(&err);
    assert_null(sw_bkkey_unwrap_new(w, 16384, &err));
    assert_int_equal(err.code, SW_EINTERNAL);
    free(w);
}

/* Two wraps of one secret differ (a fresh nonce each); a damaged one fails. */
static void test_nonce_and_damage(void **state)
{
    (void)state;
    use_key(1);
    struct sw_err err;
    sw_err_clear(&err);
    char *a = sw_bkkey_wrap_new("hunter2", 7, &err), *b = sw_bkkey_wrap_new("hunter2", 7, &err);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_not_equal(a, b);
    a[5] = a[5] == 'A' ? 'B' : 'A';
    assert_null(sw_bkkey_unwrap_new(a, 100, &err));
    assert_null(sw_bkkey_unwrap_new("not base64!", 100, &err));
    char *p = sw_bkkey_unwrap_new(b, 100, &err);
    assert_string_equal(p, "hunter2");
    free(p);
    free(a);
    free(b);
}

/* The short form (backups) and the long one open each other's output. */
static void test_short_and_long_agree(void **state)
{
    (void)state;
    use_key(3);
    unsigned char master[SW_BKKEY_BYTES];
    struct sw_err err;
    sw_err_clear(&err);
    assert_int_equal(sw_bkkey_master(master, &err), 0);
    char w[SW_BKKEY_WRAPPED_MAX];
    unsigned char key[SW_BKKEY_PLAIN_MAX];
    memset(key, 'k', sizeof key);
    assert_int_equal(sw_bkkey_wrap(master, key, sizeof key, w, &err), 0);
    char *p = sw_bkkey_unwrap_new(w, SW_BKKEY_PLAIN_MAX, &err);
    assert_non_null(p);
    assert_memory_equal(p, key, sizeof key);
    free(p);
    char *l = sw_bkkey_wrap_new("short", 5, &err);
    unsigned char out[16];
    size_t n = 0;
    assert_int_equal(sw_bkkey_unwrap(master, l, out, sizeof out, &n, &err), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "short", 5);
    free(l);
    assert_int_equal(sw_bkkey_wrap(master, key, sizeof key + 1, w, &err), -1);
}

/* Without a master key nothing is wrapped, and the error names no value. */
static void test_no_master_key(void **state)
{
    (void)state;
    unsetenv("SLIPWAY_BACKUP_MASTER_KEY");
    unsetenv("SLIPWAY_BACKUP_MASTER_KEY_FILE");
    struct sw_err err;
    sw_err_clear(&err);
    assert_null(sw_bkkey_wrap_new("pw", 2, &err));
    assert_int_equal(err.code, SW_EUNAVAILABLE);
    assert_null(sw_bkkey_unwrap_new("AAAA", 10, &err));
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_secret),
        cmocka_unit_test(test_nonce_and_damage),
        cmocka_unit_test(test_short_and_long_agree),
        cmocka_unit_test(test_no_master_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
