/* test_migmsg.c - the migrate member of node jobs and results
 * (core/migmsg.h), through msg.c's encoders and decoders. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/enums.h"
#include "core/err.h"
#include "core/msg.h"

#define SID "0b1c2d3e-4f50-4612-8734-9a8b7c6d5e4f"
#define JID "11111111-2222-4333-8444-555555555555"
#define NID "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
#define TID "bbbbbbbb-cccc-4ddd-8eee-ffffffffffff"

static struct sw_msg_node_job *migrate_job(void)
{
    struct sw_msg_node_job *a = calloc(1, sizeof *a);
    a->type = SW_JOB_MIGRATE;
    a->kind = SW_KIND_HVM;
    a->vcpus = 1;
    a->ram_mb = a->max_ram_mb = 512;
    a->disk_gb = 10;
    strcpy(a->job_id, JID);
    strcpy(a->server_id, SID);
    strcpy(a->node_id, NID);
    strcpy(a->hostname, "a.example.com");
    strcpy(a->os, "debian-12");
    struct sw_msg_migrate *m = &a->migrate;
    strcpy(m->to_node_id, TID);
    strcpy(m->target_uri, "qemu+unix:///system?socket=/run/b.sock");
    strcpy(m->migrate_uri, "tcp://127.0.0.1");
    strcpy(m->phase, SW_MIGMSG_SOURCE);
    m->live = m->shared = true;
    m->epoch = 4;
    m->bandwidth_mib = 8;
    return a;
}

static void test_job_roundtrip(void **state)
{
    (void)state;
    struct sw_msg_node_job *a = migrate_job(), *b = calloc(1, sizeof *b);
    struct sw_err err = {0};
    char *s = sw_msg_node_job_encode(a);
    assert_int_equal(sw_msg_node_job_decode(s, b, &err), 0);
    assert_string_equal(b->migrate.to_node_id, TID);
    assert_string_equal(b->migrate.target_uri, a->migrate.target_uri);
    assert_string_equal(b->migrate.migrate_uri, "tcp://127.0.0.1");
    assert_string_equal(b->migrate.phase, "source");
    assert_true(b->migrate.live && b->migrate.shared && !b->migrate.was_running);
    assert_int_equal(b->migrate.epoch, 4);
    assert_int_equal(b->migrate.bandwidth_mib, 8);
    free(s);
    free(a);
    free(b);
}

/* Decodes s after replacing from with to in a migrate job's encoding. */
static int decode_edited(const char *from, const char *to, struct sw_err *err)
{
    struct sw_msg_node_job *a = migrate_job(), *b = calloc(1, sizeof *b);
    char *s = sw_msg_node_job_encode(a);
    char *at = strstr(s, from);
    assert_non_null(at);
    size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
    char *e = malloc(n);
    snprintf(e, n, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
    int rc = sw_msg_node_job_decode(e, b, err);
    free(e);
    free(s);
    free(a);
    free(b);
    return rc;
}

static void test_job_refused(void **state)
{
    (void)state;
    struct sw_err err = {0};
    assert_int_equal(decode_edited("\"phase\":\"source\"", "\"phase\":\"both\"", &err), -1);
    assert_int_equal(decode_edited("\"epoch\":4", "\"epoch\":0", &err), -1);
    assert_int_equal(decode_edited("\"to_node_id\":\"" TID "\"", "\"to_node_id\":\"x\"", &err), -1);
    assert_int_equal(decode_edited("\"live\":true", "\"live\":true,\"colour\":1", &err), -1);
    /* another job type carrying it, and a migrate job without it */
    assert_int_equal(decode_edited("\"type\":\"migrate\"", "\"type\":\"start\"", &err), -1);
    struct sw_msg_node_job *a = migrate_job(), *b = calloc(1, sizeof *b);
    a->type = SW_JOB_START;
    char *s = sw_msg_node_job_encode(a); /* no member for a start */
    assert_null(strstr(s, "\"migrate\""));
    assert_int_equal(sw_msg_node_job_decode(s, b, &err), 0);
    free(s);
    free(a);
    free(b);
}

static void test_result_roundtrip(void **state)
{
    (void)state;
    struct sw_msg_result a = {.type = SW_JOB_MIGRATE, .ok = true}, b;
    strcpy(a.job_id, JID);
    strcpy(a.server_id, SID);
    strcpy(a.node_id, NID);
    strcpy(a.domain_state, "running");
    a.migrate = (struct sw_msg_migrate_result){true, true, true, 305, 3760};
    struct sw_err err = {0};
    char *s = sw_msg_result_encode(&a);
    assert_int_equal(sw_msg_result_decode(s, &b, &err), 0);
    assert_true(b.migrate.has && b.migrate.moved && b.migrate.was_running);
    assert_int_equal(b.migrate.downtime_ms, 305);
    assert_int_equal(b.migrate.total_ms, 3760);
    free(s);
    a.migrate.has = false;
    s = sw_msg_result_encode(&a);
    assert_int_equal(sw_msg_result_decode(s, &b, &err), 0);
    assert_false(b.migrate.has);
    assert_int_equal(b.migrate.downtime_ms, -1);
    free(s);
    assert_int_equal(sw_msg_result_decode("{\"job_id\":\"" JID "\",\"server_id\":\"" SID
                                          "\",\"node_id\":\"" NID "\",\"type\":\"migrate\","
                                          "\"ok\":true,\"migrate\":{\"moved\":true,"
                                          "\"downtime_ms\":-5}}",
                                          &b, &err),
                     -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_roundtrip),
        cmocka_unit_test(test_job_refused),
        cmocka_unit_test(test_result_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
