/* Unit tests for engines/progress.c: when a job's progress report is due,
 * and reports that cannot be sent never fail the job. */
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
#include "core/msg.h"
#include "engines/kind.h"
#include "engines/progress.h"

static void test_due(void **state)
{
    (void)state;
    const uint64_t T = 1000;
    assert_true(sw_engine_progress_due(0, 0, -1, 0, T));      /* the first */
    assert_false(sw_engine_progress_due(500, 0, 0, 50, T));   /* same tenth, too soon */
    assert_true(sw_engine_progress_due(500, 0, 0, 100, T));   /* a new tenth */
    assert_false(sw_engine_progress_due(999, 0, 1, 199, T));
    assert_true(sw_engine_progress_due(1000, 0, 1, 199, T));  /* a second later */
    assert_true(sw_engine_progress_due(10, 0, 9, T, T));      /* the last */
    assert_false(sw_engine_progress_due(10, 0, 9, 999, T));
    /* 100 reports of a 100-chunk read in 1 s: one per tenth, 11 in all. */
    int sent = 0, last_tenth = -1;
    long long last_ms = 0;
    for (uint64_t done = 10; done <= T; done += 10) {
        long long now = (long long)done; /* 1 ms a chunk */
        if (sw_engine_progress_due(now, last_ms, last_tenth, done, T)) {
            sent++;
            last_ms = now;
            last_tenth = (int)(done * 10 / T);
        }
    }
    assert_int_equal(sent, 11);
}

static void test_nowhere(void **state)
{
    (void)state;
    struct sw_engine eng = {.node_id = "6f1c1b8e-6b8a-4c47-9d0e-0d9c3f1a2b3c"};
    struct sw_msg_node_job job = {.type = SW_JOB_BACKUP};
    strcpy(job.job_id, "11111111-2222-4333-8444-555555555555");
    strcpy(job.server_id, "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
    strcpy(job.nonce, "0123456789abcdef0123456789abcdef");
    sw_engine_progress_report(NULL, 1, 2); /* accepted */
    sw_engine_progress_free(NULL);
    /* A Redis that is not there: the first report fails, quietly after. */
    setenv("SLIPWAY_REDIS_URL", "unix:///nonexistent/redis.sock", 1);
    struct sw_engine_progress *p = sw_engine_progress_new(&eng, &job);
    assert_non_null(p);
    for (uint64_t d = 0; d <= 8; d++)
        sw_engine_progress_report(p, d, 8);
    sw_engine_progress_free(p);
    job.nonce[0] = '\0'; /* a job made by hand: nothing to name the dispatch by */
    assert_null(sw_engine_progress_new(&eng, &job));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_due),
        cmocka_unit_test(test_nowhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
