/* Chunks: ids keyed per account, seal/open round trip, tamper, wrong key. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "backup/chunk.h"
#include "core/alloc.h"
#include "core/crypto.h"
#include "core/err.h"

static unsigned char key_a[SW_BK_KEY_BYTES], key_b[SW_BK_KEY_BYTES];

static unsigned char *sample(size_t len)
{
    unsigned char *p = malloc(len);
    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)((i * 7) ^ (i >> 9)); /* compressible, not zero */
    return p;
}

static void test_round_trip(void **state)
{
    (void)state;
    struct sw_bk_keys k;
    sw_bk_keys_init(&k, key_a);
    unsigned char *data = sample(SW_BK_CHUNK_SIZE);
    unsigned char id[SW_BK_ID_BYTES];
    sw_bk_chunk_id(&k, data, SW_BK_CHUNK_SIZE, id);
    struct sw_err err = {0};
    size_t blen = 0;
    struct sw_bk_sealer s;
    sw_bk_sealer_init(&s);
    const unsigned char *blob = sw_bk_chunk_seal(&s, &k, id, data, SW_BK_CHUNK_SIZE, &blen, &err);
    assert_non_null(blob);
    assert_true(blen < SW_BK_CHUNK_SIZE / 4); /* zstd did its part */
    unsigned char *out = malloc(SW_BK_CHUNK_SIZE);
    assert_int_equal(sw_bk_chunk_open(&k, id, blob, blen, out, SW_BK_CHUNK_SIZE, &err), 0);
    assert_memory_equal(out, data, SW_BK_CHUNK_SIZE);
    /* the plaintext is not in the blob */
    assert_null(memmem(blob, blen, data + 4096, 64));
    free(out);
    sw_bk_sealer_release(&s);
    free(data);
    sw_bk_keys_release(&k);
}

static void test_ids_are_per_account(void **state)
{
    (void)state;
    struct sw_bk_keys a, b;
    sw_bk_keys_init(&a, key_a);
    sw_bk_keys_init(&b, key_b);
    unsigned char *data = sample(1000);
    unsigned char ia[SW_BK_ID_BYTES], ia2[SW_BK_ID_BYTES], ib[SW_BK_ID_BYTES];
    sw_bk_chunk_id(&a, data, 1000, ia);
    sw_bk_chunk_id(&a, data, 1000, ia2);
    sw_bk_chunk_id(&b, data, 1000, ib);
    assert_memory_equal(ia, ia2, sizeof ia);
    assert_memory_not_equal(ia, ib, sizeof ia);
    assert_memory_not_equal(a.data_key, a.id_key, SW_BK_KEY_BYTES);
    char hex[SW_BK_ID_HEX + 1];
    unsigned char back[SW_BK_ID_BYTES];
    sw_bk_id_hex(ia, hex);
    assert_int_equal(sw_bk_id_parse(hex, back), 0);
    assert_memory_equal(back, ia, sizeof ia);
    hex[3] = 'G';
    assert_int_equal(sw_bk_id_parse(hex, back), -1);
    assert_int_equal(sw_bk_id_parse("abcd", back), -1);
    free(data);
}

/* Every single-byte change of a sealed chunk is refused, naming the chunk. */
static void test_tamper(void **state)
{
    (void)state;
    struct sw_bk_keys k;
    sw_bk_keys_init(&k, key_a);
    unsigned char *data = sample(5000);
    unsigned char id[SW_BK_ID_BYTES], other[SW_BK_ID_BYTES];
    sw_bk_chunk_id(&k, data, 5000, id);
    struct sw_err err = {0};
    size_t blen = 0;
    struct sw_bk_sealer s;
    sw_bk_sealer_init(&s);
    unsigned char *blob = sw_malloc(SW_BK_CHUNK_SIZE);
    const unsigned char *sealed = sw_bk_chunk_seal(&s, &k, id, data, 5000, &blen, &err);
    assert_non_null(sealed);
    memcpy(blob, sealed, blen);
    sw_bk_sealer_release(&s);
    unsigned char out[5000];
    char hex[SW_BK_ID_HEX + 1];
    sw_bk_id_hex(id, hex);
    for (size_t i = 0; i < blen; i += 7) {
        blob[i] ^= 0x20;
        sw_err_clear(&err);
        assert_int_equal(sw_bk_chunk_open(&k, id, blob, blen, out, 5000, &err), -1);
        assert_non_null(strstr(err.msg, hex));
        assert_non_null(strstr(err.msg, "failed its checksum"));
        blob[i] ^= 0x20;
    }
    /* truncated, wrong expected length, or opened as another chunk */
    assert_int_equal(sw_bk_chunk_open(&k, id, blob, blen - 1, out, 5000, &err), -1);
    assert_int_equal(sw_bk_chunk_open(&k, id, blob, blen, out, 4999, &err), -1);
    memcpy(other, id, sizeof id);
    other[0] ^= 1;
    assert_int_equal(sw_bk_chunk_open(&k, other, blob, blen, out, 5000, &err), -1);
    assert_int_equal(sw_bk_chunk_open(&k, id, blob, blen, out, 5000, &err), 0);
    free(blob);
    free(data);
}

static void test_wrong_key(void **state)
{
    (void)state;
    struct sw_bk_keys a, b;
    sw_bk_keys_init(&a, key_a);
    sw_bk_keys_init(&b, key_b);
    const char *text = "{\"version\":1}";
    size_t blen = 0, plen = 0;
    unsigned char *blob =
        sw_bk_object_seal(&a, "acct/manifests/x", (const unsigned char *)text, strlen(text), &blen);
    struct sw_err err = {0};
    assert_null(sw_bk_object_open(&b, "acct/manifests/x", blob, blen, &plen, &err));
    assert_int_equal(err.code, SW_EUNAUTHENTICATED);
    assert_non_null(strstr(err.msg, "wrong backup key"));
    /* the right key, but moved to another name: damaged, not a wrong key */
    sw_err_clear(&err);
    assert_null(sw_bk_object_open(&a, "acct/manifests/y", blob, blen, &plen, &err));
    assert_int_equal(err.code, SW_EINTERNAL);
    unsigned char *plain = sw_bk_object_open(&a, "acct/manifests/x", blob, blen, &plen, &err);
    assert_non_null(plain);
    assert_string_equal((char *)plain, text);
    free(plain);
    free(blob);
}

static void test_zero(void **state)
{
    (void)state;
    unsigned char *z = calloc(1, SW_BK_CHUNK_SIZE);
    assert_true(sw_bk_is_zero(z, SW_BK_CHUNK_SIZE));
    z[SW_BK_CHUNK_SIZE - 1] = 1;
    assert_false(sw_bk_is_zero(z, SW_BK_CHUNK_SIZE));
    z[SW_BK_CHUNK_SIZE - 1] = 0;
    z[0] = 1;
    assert_false(sw_bk_is_zero(z, SW_BK_CHUNK_SIZE));
    free(z);
}

int main(void)
{
    if (sw_crypto_init() < 0)
        return 1;
    randombytes_buf(key_a, sizeof key_a);
    randombytes_buf(key_b, sizeof key_b);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip), cmocka_unit_test(test_ids_are_per_account),
        cmocka_unit_test(test_tamper),     cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
