#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/crypto.h"
#include "core/err.h"
#include "core/hooksig.h"

/* The test vector published with Standard Webhooks' reference libraries. */
#define V_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define V_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define V_TS "1614265330"
#define V_NOW 1614265330LL
#define V_BODY "{\"test\": 2432232314}"
#define V_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static unsigned char key[SW_HOOKSIG_KEY_MAX];
static size_t key_len;

static int setup(void **state)
{
    (void)state;
    struct sw_err err = {0};
    if (sw_crypto_init() < 0)
        return -1;
    return sw_hooksig_secret_parse(V_SECRET, key, &key_len, &err);
}

static int verify(const char *id, const char *ts, const char *sigs, const char *body,
                  long long now, struct sw_err *err)
{
    sw_err_clear(err);
    return sw_hooksig_verify(key, key_len, id, ts, sigs, body, body ? strlen(body) : 0, now,
                             SW_HOOKSIG_TOLERANCE_S, err);
}

static void test_vector(void **state)
{
    (void)state;
    assert_int_equal(key_len, 24);
    char sig[SW_HOOKSIG_SIG_LEN + 1];
    sw_hooksig_sign(key, key_len, V_ID, V_TS, V_BODY, strlen(V_BODY), sig);
    assert_string_equal(sig, V_SIG);
    struct sw_err err;
    assert_int_equal(verify(V_ID, V_TS, V_SIG, V_BODY, V_NOW, &err), 0);
    /* the bare base64 form of the secret is the same key */
    unsigned char k2[SW_HOOKSIG_KEY_MAX];
    size_t l2 = 0;
    assert_int_equal(sw_hooksig_secret_parse(&V_SECRET[6], k2, &l2, &err), 0);
    assert_int_equal(l2, key_len);
    assert_memory_equal(k2, key, key_len);
}

static void test_tampered(void **state)
{
    (void)state;
    struct sw_err err;
    assert_int_equal(verify(V_ID, V_TS, V_SIG, "{\"test\": 2432232315}", V_NOW, &err), -1);
    assert_int_equal(err.code, SW_EUNAUTHENTICATED);
    assert_int_equal(verify("msg_p5jXN8AQM9LWM0D4loKWxJel", V_TS, V_SIG, V_BODY, V_NOW, &err), -1);
    assert_int_equal(err.code, SW_EUNAUTHENTICATED);
    /* another timestamp, within tolerance: the signature no longer matches */
    assert_int_equal(verify(V_ID, "1614265331", V_SIG, V_BODY, V_NOW, &err), -1);
    assert_int_equal(err.code, SW_EUNAUTHENTICATED);
    /* a changed signature, another version, a truncated one */
    assert_int_equal(verify(V_ID, V_TS, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF=", V_BODY,
                            V_NOW, &err), -1);
    assert_int_equal(verify(V_ID, V_TS, "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", V_BODY,
                            V_NOW, &err), -1);
    assert_int_equal(verify(V_ID, V_TS, "v1,g0hM9SsE+OTPJTGt", V_BODY, V_NOW, &err), -1);
    assert_int_equal(err.code, SW_EUNAUTHENTICATED);
    /* another key */
    unsigned char k2[SW_HOOKSIG_KEY_MAX];
    size_t l2;
    char secret[SW_HOOKSIG_SECRET_LEN + 1];
    sw_hooksig_secret_new(secret);
    assert_int_equal(sw_hooksig_secret_parse(secret, k2, &l2, &err), 0);
    sw_err_clear(&err);
    assert_int_equal(sw_hooksig_verify(k2, l2, V_ID, V_TS, V_SIG, V_BODY, strlen(V_BODY), V_NOW,
                                       300, &err), -1);
    assert_int_equal(err.code, SW_EUNAUTHENTICATED);
}

static void test_several_signatures(void **state)
{
    (void)state;
    struct sw_err err;
    assert_int_equal(verify(V_ID, V_TS, "v1,bm9wZQ== " V_SIG, V_BODY, V_NOW, &err), 0);
    assert_int_equal(verify(V_ID, V_TS, V_SIG " v1,bm9wZQ==", V_BODY, V_NOW, &err), 0);
    assert_int_equal(verify(V_ID, V_TS, "v1a,xyz  " V_SIG "  ", V_BODY, V_NOW, &err), 0);
    assert_int_equal(verify(V_ID, V_TS, "v1,bm9wZQ== v1,Zm9v", V_BODY, V_NOW, &err), -1);
    assert_int_equal(err.code, SW_EUNAUTHENTICATED);
}

static void test_timestamp(void **state)
{
    (void)state;
    struct sw_err err;
    assert_int_equal(verify(V_ID, V_TS, V_SIG, V_BODY, V_NOW + 300, &err), 0);
    assert_int_equal(verify(V_ID, V_TS, V_SIG, V_BODY, V_NOW - 300, &err), 0);
    assert_int_equal(verify(V_ID, V_TS, V_SIG, V_BODY, V_NOW + 301, &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
    assert_string_equal(err.msg, "webhook-timestamp is too old");
    assert_int_equal(verify(V_ID, V_TS, V_SIG, V_BODY, V_NOW - 301, &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
    assert_string_equal(err.msg, "webhook-timestamp is in the future");
}

static void test_malformed(void **state)
{
    (void)state;
    struct sw_err err;
    assert_int_equal(verify(NULL, V_TS, V_SIG, V_BODY, V_NOW, &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
    assert_int_equal(verify("", V_TS, V_SIG, V_BODY, V_NOW, &err), -1);
    assert_int_equal(verify("a b", V_TS, V_SIG, V_BODY, V_NOW, &err), -1);
    assert_int_equal(verify(V_ID, NULL, V_SIG, V_BODY, V_NOW, &err), -1);
    assert_int_equal(verify(V_ID, "-5", V_SIG, V_BODY, V_NOW, &err), -1);
    assert_int_equal(verify(V_ID, "16142653x0", V_SIG, V_BODY, V_NOW, &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
    assert_int_equal(verify(V_ID, V_TS, NULL, V_BODY, V_NOW, &err), -1);
    assert_int_equal(verify(V_ID, V_TS, "", V_BODY, V_NOW, &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
}

static void test_secrets(void **state)
{
    (void)state;
    char a[SW_HOOKSIG_SECRET_LEN + 1], b[SW_HOOKSIG_SECRET_LEN + 1];
    sw_hooksig_secret_new(a);
    sw_hooksig_secret_new(b);
    assert_int_equal(strlen(a), SW_HOOKSIG_SECRET_LEN);
    assert_memory_equal(a, "whsec_", 6);
    assert_string_not_equal(a, b);
    unsigned char k[SW_HOOKSIG_KEY_MAX];
    size_t l = 0;
    struct sw_err err = {0};
    assert_int_equal(sw_hooksig_secret_parse(a, k, &l, &err), 0);
    assert_int_equal(l, SW_HOOKSIG_KEY_BYTES);
    assert_int_equal(sw_hooksig_secret_parse("whsec_", k, &l, &err), -1);
    assert_int_equal(sw_hooksig_secret_parse("whsec_not base64!", k, &l, &err), -1);
    assert_int_equal(sw_hooksig_secret_parse("whsec_Zm9v", k, &l, &err), -1); /* 3 bytes */
    assert_int_equal(sw_hooksig_secret_parse(NULL, k, &l, &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector),      cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_several_signatures), cmocka_unit_test(test_timestamp),
        cmocka_unit_test(test_malformed),   cmocka_unit_test(test_secrets),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
