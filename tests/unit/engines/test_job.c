/* Tests of engines/job.c: stream payload in, result message out, on the
 * test driver; poison payloads are refused for dead-lettering. */
#include "config.h"
#include "engines/job.h"
#include "engines/usage.h"
#include "tests/unit/engines/testnode.h"
#include "core/alloc.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/crypto.h"
#include "core/seal.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#define SERVER "d0000000-0000-4000-8000-000000000001"

static int setup(void **state)
{
    sw_log_init("test", "off");
    return sw_testnode_setup(state);
}

/* Encodes a job, handles it, and round-trips the result through its decoder. */
static int handle(struct sw_testnode *t, struct sw_usage *u, const struct sw_msg_node_job *job,
                  struct sw_msg_result *res)
{
    SW_AUTOFREE char *payload = sw_msg_node_job_encode(job);
    struct sw_err err;
    sw_err_clear(&err);
    int rc = sw_engine_job_handle(&t->eng, u, payload, res, &err);
    if (rc == 0) {
        SW_AUTOFREE char *out = sw_msg_result_encode(res);
        struct sw_msg_result back;
        memset(&back, 0, sizeof back);
        assert_int_equal(sw_msg_result_decode(out, &back, &err), 0);
        assert_string_equal(back.job_id, job->job_id);
        assert_int_equal(back.ok, res->ok);
    }
    return rc;
}

/* A node keypair for the test engine: its secret key in eng. */
struct node_key {
    char pk[SW_SEAL_KEY_B64 + 1], sk[SW_SEAL_KEY_B64 + 1];
    unsigned char skb[SW_SEAL_KEY_BYTES];
};

static void node_key_new(struct node_key *k)
{
    struct sw_err err;
    sw_seal_keypair(k->pk, k->sk);
    assert_int_equal(sw_seal_key_parse(k->sk, "sk", k->skb, &err), 0);
}

/* Seals job's hash to pk as the provisioner does; the plain one goes. */
static void seal_job(struct sw_msg_node_job *job, const char *pk)
{
    struct sw_err err;
    assert_int_equal(sw_seal(pk, job->password_hash, job->password_hash_sealed, &err), 0);
    memset(job->password_hash, 0, sizeof job->password_hash);
}

static void test_poison(void **state)
{
    struct sw_testnode *t = *state;
    static const char *const bad[] = {
        NULL,
        "",
        "not json",
        "[]",
        "{\"job_id\":\"x\"}",
        "{\"job_id\":\"10000000-0000-4000-8000-000000000000\",\"server_id\":\"" SERVER "\","
        "\"node_id\":\"00000000-0000-4000-8000-00000000000a\",\"type\":\"explode\",\"kind\":\"hvm\","
        "\"vcpus\":1,\"ram_mb\":1,\"max_ram_mb\":1,\"swap_mb\":0,\"disk_gb\":1,"
        "\"hostname\":\"h\",\"os\":\"debian-12\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sw_msg_result res;
        struct sw_err err;
        sw_err_clear(&err);
        assert_int_equal(sw_engine_job_handle(&t->eng, NULL, bad[i], &res, &err), -1);
        assert_int_equal(err.code, SW_EINVALID);
        assert_true(err.msg[0] != '\0');
    }
}

static void test_other_node(void **state)
{
    struct sw_testnode *t = *state;
    struct sw_msg_node_job job;
    sw_testnode_job(&job, SW_KIND_HVM, SW_JOB_CREATE, SERVER);
    snprintf(job.node_id, sizeof job.node_id, "00000000-0000-4000-8000-00000000000b");
    SW_AUTOFREE char *payload = sw_msg_node_job_encode(&job);
    struct sw_msg_result res;
    struct sw_err err;
    sw_err_clear(&err);
    /* refused as poison (dead-lettered, never retried), saying why */
    assert_int_equal(sw_engine_job_handle(&t->eng, NULL, payload, &res, &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
    assert_false(err.retryable);
    assert_string_equal(err.msg, "the job is addressed to another node");
    assert_null(virDomainLookupByUUIDString(t->conn, SERVER)); /* nothing was run */
}

static void test_create_and_failures(void **state)
{
    struct sw_testnode *t = *state;
    struct sw_msg_node_job job;
    struct sw_msg_result res;

    /* start before create: a failed result, not poison */
    sw_testnode_job(&job, SW_KIND_PV, SW_JOB_START, SERVER);
    assert_int_equal(handle(t, NULL, &job, &res), 0);
    assert_false(res.ok);
    assert_string_equal(res.error_code, "not_found");
    assert_false(res.retryable);
    assert_string_equal(res.domain_state, "absent");
    assert_string_equal(res.server_id, SERVER);
    assert_int_equal(res.type, SW_JOB_START);

    sw_testnode_job(&job, SW_KIND_PV, SW_JOB_CREATE, SERVER);
    assert_int_equal(handle(t, NULL, &job, &res), 0);
    assert_true(res.ok);
    assert_string_equal(res.domain_state, "running");
    assert_string_equal(res.error_code, "");

    /* resize: the note says what applied live; it survives the encoding */
    sw_testnode_job(&job, SW_KIND_PV, SW_JOB_RESIZE, SERVER);
    job.vcpus = 8;
    assert_int_equal(handle(t, NULL, &job, &res), 0);
    assert_true(res.ok);
    assert_string_equal(res.note, "memory applied live; vcpus apply at next boot");
    assert_string_equal(res.domain_state, "running");
    SW_AUTOFREE char *enc = sw_msg_result_encode(&res);
    struct sw_msg_result back;
    struct sw_err err;
    assert_int_equal(sw_msg_result_decode(enc, &back, &err), 0);
    assert_string_equal(back.note, res.note);

    /* reset_password: refused for good, the hash in neither message */
    struct node_key k;
    node_key_new(&k);
    t->eng.secret_key = k.skb;
    sw_testnode_job(&job, SW_KIND_PV, SW_JOB_RESET_PASSWORD, SERVER);
    seal_job(&job, k.pk);
    assert_int_equal(handle(t, NULL, &job, &res), 0);
    assert_false(res.ok);
    assert_false(res.retryable);
    assert_string_equal(res.error_code, "unsupported");
    assert_string_equal(res.error,
                        "password reset needs the guest agent, which this server does not run");
    assert_string_equal(res.note, "");

    /* a kind the node does not host */
    t->eng.kinds = 1u << SW_KIND_HVM;
    sw_testnode_job(&job, SW_KIND_PV, SW_JOB_STOP, SERVER);
    assert_int_equal(handle(t, NULL, &job, &res), 0);
    assert_false(res.ok);
    assert_string_equal(res.error_code, "unsupported");
    t->eng.kinds = 0;

    sw_testnode_job(&job, SW_KIND_PV, SW_JOB_TERMINATE, SERVER);
    assert_int_equal(handle(t, NULL, &job, &res), 0);
    assert_true(res.ok);
    assert_string_equal(res.domain_state, "absent");
}

/* A domain the job boots is seeded in the usage table: its first sample
 * covers [boot, ts), not a baseline. */
static void test_boot_seeds_usage(void **state)
{
    struct sw_testnode *t = *state;
    struct sw_usage *u = sw_usage_new(SW_TEST_NODE_ID, 60);
    struct sw_msg_node_job job;
    struct sw_msg_result res;
    sw_testnode_job(&job, SW_KIND_HVM, SW_JOB_CREATE, SERVER);
    int64_t before = (int64_t)time(NULL);
    assert_int_equal(handle(t, u, &job, &res), 0);
    assert_true(res.ok);

    struct sw_usage_reading *r;
    size_t n;
    struct sw_err err;
    assert_int_equal(sw_usage_read_all(t->conn, &r, &n, &err), 0);
    assert_int_equal(n, 1);
    int64_t ts = before + 100;
    struct sw_msg_usage *m;
    assert_int_equal(sw_usage_step(u, r, n, ts, &m), 1);
    assert_true(m[0].period_s >= 99 && m[0].period_s <= 100);
    free(m);
    free(r);
    sw_usage_free(u);

    sw_testnode_job(&job, SW_KIND_HVM, SW_JOB_TERMINATE, SERVER);
    assert_int_equal(handle(t, NULL, &job, &res), 0);
}

/* The sealed hash opens with the node's key and reaches the driver (here
 * refused: the test node has no such server); another key, an altered value or no key
 * fail for good before the driver, naming neither the hash nor the key. */
static void test_sealed_secrets(void **state)
{
    struct sw_testnode *t = *state;
    struct node_key k, other;
    node_key_new(&k);
    node_key_new(&other);
    struct sw_msg_node_job job;
    struct sw_msg_result res;
    sw_testnode_job(&job, SW_KIND_HVM, SW_JOB_RESET_PASSWORD, SERVER);
    seal_job(&job, k.pk);
    struct {
        const unsigned char *key;
        bool tamper;
        const char *code, *words;
    } cases[] = {
        {k.skb, false, "not_found", "the server does not exist"}, /* opened: a crypt(3) hash */
        {other.skb, false, "invalid", "sealed to another key or altered"},
        {k.skb, true, "invalid", "sealed to another key or altered"},
        {NULL, false, "invalid", "has no SLIPWAY_NODE_SECRET_KEY"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sw_msg_node_job j = job;
        if (cases[i].tamper)
            j.password_hash_sealed[10] = j.password_hash_sealed[10] == 'A' ? 'B' : 'A';
        t->eng.secret_key = cases[i].key;
        assert_int_equal(handle(t, NULL, &j, &res), 0);
        assert_false(res.ok);
        assert_false(res.retryable);
        assert_string_equal(res.error_code, cases[i].code);
        assert_non_null(strstr(res.error, cases[i].words));
        assert_null(strstr(res.error, "$6$"));
    }
    t->eng.secret_key = NULL;
}

int main(void)
{
    if (sw_crypto_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sealed_secrets, setup, sw_testnode_teardown),
        cmocka_unit_test_setup_teardown(test_poison, setup, sw_testnode_teardown),
        cmocka_unit_test_setup_teardown(test_other_node, setup, sw_testnode_teardown),
        cmocka_unit_test_setup_teardown(test_create_and_failures, setup, sw_testnode_teardown),
        cmocka_unit_test_setup_teardown(test_boot_seeds_usage, setup, sw_testnode_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
