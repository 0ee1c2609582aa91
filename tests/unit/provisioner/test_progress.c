/* Unit tests for provisioner/progress.c (the verdict on a job's progress
 * report) and core/msg.c's progress message. */
#include "config.h"
/* cmocka needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <stdlib.h>
#include <string.h>

#include "core/enums.h"
#include "core/err.h"
#include "core/msg.h"
#include "core/nodemsg.h"
#include "provisioner/progress.h"

#define NODE "6f1c1b8e-6b8a-4c47-9d0e-0d9c3f1a2b3c"
#define OTHER "0b5e5c2a-1111-4c47-9d0e-0d9c3f1a2b3c"
#define JOB "11111111-2222-4333-8444-555555555555"
#define SRV "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
#define NONCE "0123456789abcdef0123456789abcdef"
#define RUN "00112233445566ff"

static struct sw_msg_progress report(int64_t done, int64_t total)
{
    struct sw_msg_progress m = {.type = SW_JOB_BACKUP, .done = done, .total = total};
    strcpy(m.job_id, JOB);
    strcpy(m.server_id, SRV);
    strcpy(m.node_id, NODE);
    strcpy(m.nonce, NONCE);
    strcpy(m.run, RUN);
    return m;
}

/* A job running on NODE, dispatched there with NONCE, no report yet. */
static const struct sw_progress_seen running = {
    .job_found = true, .same_job = true, .dispatched = true, .latest = true, .running = true,
};

static void judged(const struct sw_msg_progress *m, const char *node,
                   const struct sw_progress_seen *s, enum sw_progress_verdict want,
                   const char *why)
{
    const char *got = NULL;
    assert_int_equal(sw_progress_judge(m, node, s, &got), want);
    assert_string_equal(got, why);
}

static void test_judge(void **state)
{
    (void)state;
    struct sw_msg_progress m = report(40, 100);
    judged(&m, NODE, &running, SW_PROGRESS_RECORD, "");
    judged(&m, OTHER, &running, SW_PROGRESS_REJECT, SW_REJECT_FORGED_NODE);
    struct sw_progress_seen s = running;
    s.job_found = false;
    judged(&m, NODE, &s, SW_PROGRESS_REJECT, SW_REJECT_UNKNOWN_JOB);
    s = running;
    s.dispatched = false; /* another node's job, or a made-up nonce */
    judged(&m, NODE, &s, SW_PROGRESS_REJECT, SW_REJECT_NOT_DISPATCHED);
    s = running;
    s.same_job = false; /* the job's nonce, another server or type */
    judged(&m, NODE, &s, SW_PROGRESS_REJECT, SW_REJECT_NOT_DISPATCHED);
    s = running;
    s.answered = true;
    judged(&m, NODE, &s, SW_PROGRESS_DROP, "job_finished");
    s = running;
    s.running = false;
    judged(&m, NODE, &s, SW_PROGRESS_DROP, "job_finished");
    s = running;
    s.latest = false;
    judged(&m, NODE, &s, SW_PROGRESS_DROP, "older_dispatch");
}

static void test_monotone(void **state)
{
    (void)state;
    struct sw_progress_seen s = running;
    s.has_prev = true;
    s.prev_done = 40;
    s.prev_total = 100;
    struct sw_msg_progress m = report(40, 100);
    judged(&m, NODE, &s, SW_PROGRESS_RECORD, ""); /* the same again */
    m = report(100, 100);
    judged(&m, NODE, &s, SW_PROGRESS_RECORD, "");
    m = report(39, 100);
    judged(&m, NODE, &s, SW_PROGRESS_DROP, "went_backwards");
    m = report(50, 200);
    judged(&m, NODE, &s, SW_PROGRESS_DROP, "went_backwards");
    s.has_prev = false; /* a new dispatch starts again */
    m = report(1, 200);
    judged(&m, NODE, &s, SW_PROGRESS_RECORD, "");
}

static void test_codec(void **state)
{
    (void)state;
    struct sw_msg_progress m = report(4194304, 16777216), got;
    char *s = sw_msg_progress_encode(&m);
    struct sw_err err;
    sw_err_clear(&err);
    assert_int_equal(sw_msg_progress_decode(s, &got, &err), 1);
    assert_memory_equal(&m, &got, sizeof m);
    free(s);
    /* A result is not a progress report; neither is garbage (the result
     * decoder refuses it). */
    assert_int_equal(sw_msg_progress_decode("{\"job_id\":\"" JOB "\",\"ok\":true}", &got, &err), 0);
    assert_int_equal(sw_msg_progress_decode("not json", &got, &err), 0);
    assert_int_equal(sw_msg_progress_decode(NULL, &got, &err), 0);
}

static void test_decode_refuses(void **state)
{
    (void)state;
    const char *head = "{\"job_id\":\"" JOB "\",\"server_id\":\"" SRV "\",\"node_id\":\"" NODE
                       "\",\"type\":\"backup\",";
#define R ",\"run\":\"" RUN "\""
    const char *bad[] = {
        "\"nonce\":\"" NONCE "\",\"progress\":{\"done\":11,\"total\":10" R "}}", /* done > total */
        "\"nonce\":\"" NONCE "\",\"progress\":{\"done\":-1,\"total\":10" R "}}", /* negative */
        "\"nonce\":\"" NONCE "\",\"progress\":{\"done\":0,\"total\":0" R "}}",   /* no total */
        "\"nonce\":\"" NONCE "\",\"progress\":{\"done\":1" R "}}",               /* half */
        "\"nonce\":\"" NONCE "\",\"progress\":{\"done\":1,\"total\":2,\"x\":1" R "}}",
        "\"nonce\":\"" NONCE "\",\"progress\":{\"done\":1.5,\"total\":2" R "}}",
        "\"nonce\":\"" NONCE "\",\"progress\":{\"done\":1,\"total\":2}}",        /* no run */
        "\"nonce\":\"" NONCE "\",\"progress\":{\"done\":1,\"total\":2,\"run\":\"xyz\"}}",
        "\"nonce\":\"" NONCE "\",\"progress\":[1,2]}",
        "\"nonce\":\"" NONCE "\",\"ok\":true,\"progress\":{\"done\":1,\"total\":2" R "}}",
        "\"progress\":{\"done\":1,\"total\":2" R "}}", /* no nonce */
        "\"nonce\":\"\",\"progress\":{\"done\":1,\"total\":2" R "}}",
        "\"nonce\":\"" NONCE "\",\"progress\":null}",
    };
#undef R
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char s[512];
        snprintf(s, sizeof s, "%s%s", head, bad[i]);
        struct sw_msg_progress got;
        struct sw_err err;
        sw_err_clear(&err);
        if (sw_msg_progress_decode(s, &got, &err) != -1)
            fail_msg("accepted: %s", s);
        assert_int_equal(err.code, SW_EINVALID);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_judge),
        cmocka_unit_test(test_monotone),
        cmocka_unit_test(test_codec),
        cmocka_unit_test(test_decode_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
