/* Tests of engines/reconcile.c's pure plan: which servers need their domain
 * back, which domains are orphans. */
#include "config.h"
#include "engines/reconcile.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#define A "a0000000-0000-4000-8000-000000000001"
#define B "a0000000-0000-4000-8000-000000000002"
#define C "a0000000-0000-4000-8000-000000000003"
#define D "a0000000-0000-4000-8000-000000000004"
#define E "a0000000-0000-4000-8000-000000000005"

static void server(struct sw_node_server *s, const char *id, const char *state)
{
    memset(s, 0, sizeof *s);
    snprintf(s->job.server_id, sizeof s->job.server_id, "%s", id);
    snprintf(s->state, sizeof s->state, "%s", state);
}

static void domain(struct sw_reconcile_domain *d, const char *name, const char *uuid)
{
    snprintf(d->name, sizeof d->name, "%s", name);
    snprintf(d->uuid, sizeof d->uuid, "%s", uuid);
}

static void test_plan(void **state)
{
    (void)state;
    struct sw_node_server s[5];
    server(&s[0], A, "running");     /* has its domain */
    server(&s[1], B, "stopped");     /* missing: restore */
    server(&s[2], C, "suspended");   /* missing: restore */
    server(&s[3], D, "terminating"); /* missing: leave it */
    server(&s[4], "A0000000-0000-4000-8000-000000000006", "provisioning"); /* missing: its create makes it */
    struct sw_reconcile_domain d[4];
    domain(&d[0], "sw-" A, A);
    domain(&d[1], "sw-" E, E);                                       /* no server: orphan */
    domain(&d[2], "sw-a0000000-0000-4000-8000-00000000ffff", D);     /* D's uuid, other name */
    domain(&d[3], "sw-" D, D);                                       /* terminating: known */
    size_t restore[5], orphan[4], nr, no;
    sw_reconcile_plan(d, 4, s, 5, restore, &nr, orphan, &no);
    assert_int_equal(nr, 2);
    assert_int_equal(restore[0], 1);
    assert_int_equal(restore[1], 2);
    assert_int_equal(no, 2);
    assert_int_equal(orphan[0], 1);
    assert_int_equal(orphan[1], 2);
}

/* A volume is the server's by its name "sw-<server id>-..."; any other
 * sw-* volume is an orphan. */
static void test_volume_orphan(void **state)
{
    (void)state;
    struct sw_node_server s[2];
    server(&s[0], "a0000000-0000-4000-8000-000000000001", "running");
    server(&s[1], "A0000000-0000-4000-8000-000000000002", "terminating");
    assert_false(sw_reconcile_volume_orphan("sw-a0000000-0000-4000-8000-000000000001-root-0.qcow2", s, 2));
    assert_false(sw_reconcile_volume_orphan("sw-a0000000-0000-4000-8000-000000000002-seed.iso", s, 2));
    assert_true(sw_reconcile_volume_orphan("sw-a0000000-0000-4000-8000-000000000003-root-0.qcow2", s, 2));
    assert_true(sw_reconcile_volume_orphan("sw-a0000000-0000-4000-8000-000000000001", s, 2));
    assert_true(sw_reconcile_volume_orphan("sw-a0000000-0000-4000-8000-00000000000-root-0", s, 2));
    assert_true(sw_reconcile_volume_orphan("sw-x", s, 0));
}

static void test_empty(void **state)
{
    (void)state;
    size_t restore[1], orphan[1], nr = 9, no = 9;
    sw_reconcile_plan(NULL, 0, NULL, 0, restore, &nr, orphan, &no);
    assert_int_equal(nr, 0);
    assert_int_equal(no, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_volume_orphan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
