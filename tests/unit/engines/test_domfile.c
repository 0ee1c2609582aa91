/* Tests of engines/domfile.c: the node's domains written to a file, on a
 * test-driver node. */
#include "config.h"
#include "engines/domfile.h"
#include "core/alloc.h"
#include "core/enums.h"
#include "tests/unit/engines/testnode.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUNNING "a0000000-0000-4000-8000-000000000001"
#define STOPPED "a0000000-0000-4000-8000-000000000002"

static void run(struct sw_testnode *t, int type, const char *id)
{
    struct sw_msg_node_job job;
    struct sw_engine_outcome out;
    struct sw_err err;
    sw_err_clear(&err);
    sw_testnode_job(&job, SW_KIND_HVM, type, id);
    if (sw_engine_run(&t->eng, &job, &out, &err) != 0)
        fail_msg("%s: %s (%s)", sw_job_type_name(type), err.msg, err.detail);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *buf = sw_calloc(1, 8192);
    size_t n = fread(buf, 1, 8191, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_write(void **state)
{
    struct sw_testnode *t = *state;
    run(t, SW_JOB_CREATE, RUNNING);
    run(t, SW_JOB_CREATE, STOPPED);
    run(t, SW_JOB_STOP, STOPPED);
    SW_AUTOFREE char *path = sw_asprintf("%s/domains", t->dir);
    struct sw_err err;
    sw_err_clear(&err);
    assert_int_equal(sw_engine_domains_write(&t->eng, path, &err), 0);
    SW_AUTOFREE char *text = slurp(path);
    assert_non_null(strstr(text, "sw-" RUNNING " " RUNNING " running\n"));
    assert_non_null(strstr(text, "sw-" STOPPED " " STOPPED " stopped\n"));
    char want[64];
    snprintf(want, sizeof want, "# pid=%ld at=", (long)getpid());
    assert_non_null(strstr(text, want));
    /* the node file's own domains, if any, are listed too: count lines */
    int lines = 0, domains = -1;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    const char *d = strstr(text, " domains=");
    assert_non_null(d);
    domains = atoi(d + 9);
    /* and a line per volume: each server's root and NoCloud seed */
    assert_non_null(strstr(text, "vol slipway sw-" RUNNING "-root-0.qcow2\n"));
    assert_non_null(strstr(text, "vol slipway sw-" STOPPED "-root-0.qcow2\n"));
    assert_non_null(strstr(text, "vol slipway sw-" STOPPED "-seed.iso\n"));
    const char *v = strstr(text, " volumes=");
    assert_non_null(v);
    assert_int_equal(atoi(v + 9), 4);
    assert_int_equal(lines, domains + 4 + 1);
    /* replaced whole, no temporary left behind */
    run(t, SW_JOB_TERMINATE, RUNNING);
    assert_int_equal(sw_engine_domains_write(&t->eng, path, &err), 0);
    SW_AUTOFREE char *again = slurp(path);
    assert_null(strstr(again, "sw-" RUNNING)); /* neither its domain nor its volume */
    assert_non_null(strstr(again, "sw-" STOPPED));
    SW_AUTOFREE char *tmp = sw_asprintf("%s.tmp", path);
    assert_int_equal(access(tmp, F_OK), -1);
    unlink(path);
}

static void test_unwritable(void **state)
{
    struct sw_testnode *t = *state;
    struct sw_err err;
    sw_err_clear(&err);
    assert_int_equal(sw_engine_domains_write(&t->eng, "/nonexistent/dir/domains", &err), -1);
    assert_int_equal(err.code, SW_EINTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SW_TESTNODE_TEST(test_write),
        SW_TESTNODE_TEST(test_unwritable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
