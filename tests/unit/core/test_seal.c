#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <string.h>

#include "core/crypto.h"
#include "core/err.h"
#include "core/seal.h"

#define HASH "$6$saltsaltsaltsalt$0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234"

struct keys {
    char pk[SW_SEAL_KEY_B64 + 1], sk[SW_SEAL_KEY_B64 + 1];
    unsigned char skb[SW_SEAL_KEY_BYTES];
};

static void keys_new(struct keys *k)
{
    struct sw_err err = {0};
    sw_seal_keypair(k->pk, k->sk);
    assert_int_equal(strlen(k->pk), SW_SEAL_KEY_B64);
    assert_int_equal(sw_seal_key_parse(k->sk, "key", k->skb, &err), 0);
}

static void test_round_trip(void **state)
{
    (void)state;
    struct keys k;
    keys_new(&k);
    struct sw_err err = {0};
    char sealed[SW_SEAL_B64_MAX], again[SW_SEAL_B64_MAX], out[SW_SEAL_PLAIN_MAX];
    assert_int_equal(sw_seal(k.pk, HASH, sealed, &err), 0);
    assert_null(strstr(sealed, "$6$"));
    assert_int_equal(sw_seal(k.pk, HASH, again, &err), 0);
    assert_string_not_equal(sealed, again); /* an ephemeral key per seal */
    assert_int_equal(sw_seal_open(k.skb, sealed, out, sizeof out, &err), 0);
    assert_string_equal(out, HASH);
    char longest[SW_SEAL_PLAIN_MAX];
    memset(longest, 'x', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    assert_int_equal(sw_seal(k.pk, longest, sealed, &err), 0);
    assert_int_equal(sw_seal_open(k.skb, sealed, out, sizeof out, &err), 0);
    assert_string_equal(out, longest);
}

static void test_wrong_key(void **state)
{
    (void)state;
    struct keys k, other;
    keys_new(&k);
    keys_new(&other);
    struct sw_err err = {0};
    char sealed[SW_SEAL_B64_MAX], out[SW_SEAL_PLAIN_MAX];
    assert_int_equal(sw_seal(k.pk, HASH, sealed, &err), 0);
    memset(out, 'x', sizeof out); /* no NUL to stop at, were it not wiped */
    assert_int_equal(sw_seal_open(other.skb, sealed, out, sizeof out, &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
    assert_false(err.retryable);
    assert_null(strstr(err.msg, "$6$"));
    assert_string_equal(out, ""); /* wiped */
}

static void test_tampered(void **state)
{
    (void)state;
    struct keys k;
    keys_new(&k);
    struct sw_err err = {0};
    char sealed[SW_SEAL_B64_MAX], out[SW_SEAL_PLAIN_MAX];
    assert_int_equal(sw_seal(k.pk, HASH, sealed, &err), 0);
    size_t mid = strlen(sealed) / 2;
    sealed[mid] = sealed[mid] == 'A' ? 'B' : 'A';
    memset(out, 'x', sizeof out);
    assert_int_equal(sw_seal_open(k.skb, sealed, out, sizeof out, &err), -1);
    assert_int_equal(sw_seal_open(k.skb, "not base64!", out, sizeof out, &err), -1);
    assert_int_equal(sw_seal_open(k.skb, "AAAA", out, sizeof out, &err), -1);
    /* opens, but does not fit the caller's buffer */
    assert_int_equal(sw_seal(k.pk, HASH, sealed, &err), 0);
    assert_int_equal(sw_seal_open(k.skb, sealed, out, 8, &err), -1);
}

static void test_bad_input(void **state)
{
    (void)state;
    struct sw_err err = {0};
    unsigned char key[SW_SEAL_KEY_BYTES];
    char sealed[SW_SEAL_B64_MAX];
    assert_int_equal(sw_seal_key_parse("short", "SLIPWAY_NODE_SECRET_KEY", key, &err), -1);
    assert_non_null(strstr(err.msg, "SLIPWAY_NODE_SECRET_KEY"));
    assert_int_equal(sw_seal_key_parse(NULL, "k", key, &err), -1);
    assert_int_equal(sw_seal("", HASH, sealed, &err), -1);
    char toolong[SW_SEAL_PLAIN_MAX + 1];
    memset(toolong, 'x', sizeof toolong - 1);
    toolong[sizeof toolong - 1] = '\0';
    struct keys k;
    keys_new(&k);
    assert_int_equal(sw_seal(k.pk, toolong, sealed, &err), -1);
}

int main(void)
{
    if (sw_crypto_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
