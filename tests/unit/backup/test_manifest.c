/* Manifests: JSON round trip and refusal of bad input. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "backup/manifest.h"
#include "core/err.h"

#define ACCT "11111111-1111-4111-8111-111111111111"
#define SRV "22222222-2222-4222-8222-222222222222"
#define BID "33333333-3333-4333-8333-333333333333"
#define PID "44444444-4444-4444-8444-444444444444"
#define ID64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static struct sw_bk_manifest *sample(void)
{
    struct sw_bk_manifest *m = sw_bk_manifest_new(2 * SW_BK_CHUNK_SIZE + 100);
    memcpy(m->account, ACCT, sizeof m->account);
    memcpy(m->server, SRV, sizeof m->server);
    memcpy(m->backup_id, BID, sizeof m->backup_id);
    memcpy(m->parent_id, PID, sizeof m->parent_id);
    m->incremental = true;
    m->zero[1] = false;
    memset(m->ids[1], 0xab, SW_BK_ID_BYTES);
    m->read_bytes = 100;
    m->stored_new_bytes = 42;
    m->created_at = 1796601600;
    return m;
}

static void test_round_trip(void **state)
{
    (void)state;
    struct sw_bk_manifest *m = sample();
    assert_int_equal(m->nchunks, 3);
    assert_int_equal(sw_bk_manifest_chunk_len(m, 2), 100);
    json_t *j = sw_bk_manifest_to_json(m);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "incremental");
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "chunks"), 0)),
                        "zero");
    assert_string_equal(json_string_value(json_object_get(j, "created_at")),
                        "2026-12-07T00:00:00Z");
    struct sw_err err = {0};
    struct sw_bk_manifest *back = sw_bk_manifest_from_json(j, &err);
    assert_non_null(back);
    assert_string_equal(back->parent_id, PID);
    assert_true(back->incremental);
    assert_int_equal(back->disk_size, m->disk_size);
    assert_true(back->zero[0] && !back->zero[1] && back->zero[2]);
    assert_memory_equal(back->ids[1], m->ids[1], SW_BK_ID_BYTES);
    assert_int_equal(back->stored_new_bytes, 42);
    assert_int_equal(back->created_at, m->created_at);
    sw_bk_manifest_free(back);
    json_decref(j);
    sw_bk_manifest_free(m);
}

/* Each of these, set in a good manifest, must be refused. */
static const struct {
    const char *member;
    const char *json;
} bad[] = {
    {"version", "2"},
    {"account", "\"../../etc\""},
    {"server", "\"x\""},
    {"backup_id", "7"},
    {"parent_id", "null"}, /* incremental without a parent */
    {"kind", "\"differential\""},
    {"disk_size", "-1"},
    {"disk_size", "9223372036854775807"}, /* far more than the chunk list covers */
    {"chunk_size", "65536"},
    {"chunks", "[\"zero\"]"},
    {"chunks", "[\"zero\", \"" ID64 "\", \"ZERO\"]"},
    {"chunks", "[\"zero\", \"../x\", \"zero\"]"},
    {"chunks", "{}"},
    {"bytes", "{\"logical\": 1}"},
    {"created_at", "\"yesterday\""},
    {"surprise", "1"},
};

static void test_bad_input(void **state)
{
    (void)state;
    struct sw_bk_manifest *m = sample();
    json_t *good = sw_bk_manifest_to_json(m);
    sw_bk_manifest_free(m);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = json_deep_copy(good);
        json_object_set_new(j, bad[i].member, json_loads(bad[i].json, JSON_DECODE_ANY, NULL));
        struct sw_err err = {0};
        struct sw_bk_manifest *got = sw_bk_manifest_from_json(j, &err);
        if (got)
            fail_msg("%s = %s was accepted", bad[i].member, bad[i].json);
        assert_int_equal(err.code, SW_EINVALID);
        json_decref(j);
    }
    json_t *arr = json_array();
    struct sw_err err = {0};
    assert_null(sw_bk_manifest_from_json(arr, &err));
    json_decref(arr);
    json_decref(good);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
