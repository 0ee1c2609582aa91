/* Tests of the driver operations (engines/virt.c through engines/driver.c)
 * against libvirt's real in-process test driver, on a simulated node of its
 * own (test:///<tmp>/node.xml): each kind's lifecycle, idempotent replays,
 * and the state rules of engines/README.md. */
#include "config.h"
#include "engines/driver.h"
#include "tests/unit/engines/testnode.h"
#include "core/alloc.h"
#include "core/enums.h"
#include "core/err.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const server_ids[SW_KIND__COUNT] = {
    [SW_KIND_CONTAINER] = "a0000000-0000-4000-8000-000000000001",
    [SW_KIND_PV] = "a0000000-0000-4000-8000-000000000002",
    [SW_KIND_HVM] = "a0000000-0000-4000-8000-000000000003",
};

static int setup(void **state)
{
    struct sw_testnode *t = sw_calloc(1, sizeof *t);
    if (sw_testnode_open(t) < 0) {
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct sw_testnode *t = *state;
    sw_testnode_close(t);
    free(t);
    return 0;
}

/* Runs one operation; returns the result code and leaves the outcome. */
static int run(struct sw_testnode *t, int kind, int type, const char *server_id,
               struct sw_engine_outcome *out, struct sw_err *err)
{
    struct sw_msg_node_job job;
    sw_testnode_job(&job, kind, type, server_id);
    sw_err_clear(err);
    return sw_engine_run(&t->eng, &job, out, err);
}

/* Expects success and the domain state afterwards. */
static void ok(struct sw_testnode *t, int kind, int type, const char *state, bool booted)
{
    struct sw_engine_outcome out;
    struct sw_err err;
    if (run(t, kind, type, server_ids[kind], &out, &err) != 0)
        fail_msg("%s %s: %s (%s)", sw_job_type_name(type), sw_plan_kind_name(kind), err.msg,
                 err.detail);
    if (strcmp(out.domain_state, state) != 0)
        fail_msg("%s %s: state %s, want %s", sw_job_type_name(type), sw_plan_kind_name(kind),
                 out.domain_state, state);
    if (out.booted != booted)
        fail_msg("%s %s: booted %d, want %d", sw_job_type_name(type), sw_plan_kind_name(kind),
                 out.booted, booted);
}

/* Expects failure with code, and the domain state afterwards. */
static void fails(struct sw_testnode *t, int kind, int type, enum sw_errc code, const char *state)
{
    struct sw_engine_outcome out;
    struct sw_err err;
    if (run(t, kind, type, server_ids[kind], &out, &err) != -1)
        fail_msg("%s %s succeeded", sw_job_type_name(type), sw_plan_kind_name(kind));
    if (err.code != code)
        fail_msg("%s %s: code %s, want %s (%s)", sw_job_type_name(type), sw_plan_kind_name(kind),
                 sw_errc_name(err.code), sw_errc_name(code), err.msg);
    assert_string_equal(out.domain_state, state);
}

static void lifecycle(struct sw_testnode *t, int kind)
{
    /* create, and a replayed create that finds the running domain */
    ok(t, kind, SW_JOB_CREATE, SW_DOMAIN_RUNNING, true);
    ok(t, kind, SW_JOB_CREATE, SW_DOMAIN_RUNNING, false);

    /* the domain is named after the server and has its UUID */
    virDomainPtr dom = virDomainLookupByUUIDString(t->conn, server_ids[kind]);
    assert_non_null(dom);
    char name[64];
    assert_string_equal(virDomainGetName(dom), sw_engine_domain_name(server_ids[kind], name));
    char *desc = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_DESCRIPTION, NULL, 0);
    assert_non_null(desc);
    assert_string_equal(desc, "web-1.example.com");
    free(desc);
    virDomainFree(dom);

    ok(t, kind, SW_JOB_STOP, SW_DOMAIN_STOPPED, false);
    ok(t, kind, SW_JOB_STOP, SW_DOMAIN_STOPPED, false);
    /* a replayed create after a stop boots it again */
    ok(t, kind, SW_JOB_CREATE, SW_DOMAIN_RUNNING, true);
    ok(t, kind, SW_JOB_STOP, SW_DOMAIN_STOPPED, false);
    ok(t, kind, SW_JOB_START, SW_DOMAIN_RUNNING, true);
    ok(t, kind, SW_JOB_START, SW_DOMAIN_RUNNING, false);
    ok(t, kind, SW_JOB_REBOOT, SW_DOMAIN_RUNNING, false);

    ok(t, kind, SW_JOB_SUSPEND, SW_DOMAIN_SUSPENDED, false);
    ok(t, kind, SW_JOB_SUSPEND, SW_DOMAIN_SUSPENDED, false);
    fails(t, kind, SW_JOB_START, SW_ECONFLICT, SW_DOMAIN_SUSPENDED);
    fails(t, kind, SW_JOB_REBOOT, SW_ECONFLICT, SW_DOMAIN_SUSPENDED);
    ok(t, kind, SW_JOB_CREATE, SW_DOMAIN_SUSPENDED, false); /* create never lifts a suspension */
    ok(t, kind, SW_JOB_UNSUSPEND, SW_DOMAIN_RUNNING, false);
    ok(t, kind, SW_JOB_UNSUSPEND, SW_DOMAIN_RUNNING, false);

    /* stopped servers stay stopped through suspend and unsuspend */
    ok(t, kind, SW_JOB_STOP, SW_DOMAIN_STOPPED, false);
    ok(t, kind, SW_JOB_SUSPEND, SW_DOMAIN_STOPPED, false);
    ok(t, kind, SW_JOB_UNSUSPEND, SW_DOMAIN_STOPPED, false);
    /* a reboot of a stopped server starts it */
    ok(t, kind, SW_JOB_REBOOT, SW_DOMAIN_RUNNING, true);

    /* a suspended server can be stopped (destroyed: a paused guest cannot shut down) */
    ok(t, kind, SW_JOB_SUSPEND, SW_DOMAIN_SUSPENDED, false);
    ok(t, kind, SW_JOB_STOP, SW_DOMAIN_STOPPED, false);
    ok(t, kind, SW_JOB_START, SW_DOMAIN_RUNNING, true);

    /* terminate, and a replayed terminate */
    ok(t, kind, SW_JOB_TERMINATE, SW_DOMAIN_ABSENT, false);
    ok(t, kind, SW_JOB_TERMINATE, SW_DOMAIN_ABSENT, false);
    assert_null(virDomainLookupByUUIDString(t->conn, server_ids[kind]));

    /* operations on an absent server are not_found */
    static const int need_domain[] = {SW_JOB_START, SW_JOB_STOP, SW_JOB_REBOOT, SW_JOB_SUSPEND,
                                      SW_JOB_UNSUSPEND};
    for (size_t i = 0; i < sizeof need_domain / sizeof need_domain[0]; i++)
        fails(t, kind, need_domain[i], SW_ENOTFOUND, SW_DOMAIN_ABSENT);

    /* the later operations report unsupported, with the state */
    fails(t, kind, SW_JOB_REINSTALL, SW_EUNSUPPORTED, SW_DOMAIN_ABSENT);
}

static void test_container(void **state)
{
    lifecycle(*state, SW_KIND_CONTAINER);
}

static void test_pv(void **state)
{
    lifecycle(*state, SW_KIND_PV);
}

static void test_hvm(void **state)
{
    lifecycle(*state, SW_KIND_HVM);
}

/* All three kinds side by side on one node; a stopped domain terminates too. */
static void test_all_kinds_together(void **state)
{
    struct sw_testnode *t = *state;
    for (int kind = 0; kind < SW_KIND__COUNT; kind++)
        ok(t, kind, SW_JOB_CREATE, SW_DOMAIN_RUNNING, true);
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(t->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
    int ours = 0;
    for (int i = 0; i < n; i++) {
        if (strncmp(virDomainGetName(doms[i]), "sw-", 3) == 0)
            ours++;
        virDomainFree(doms[i]);
    }
    free(doms);
    assert_int_equal(ours, SW_KIND__COUNT);
    ok(t, SW_KIND_PV, SW_JOB_STOP, SW_DOMAIN_STOPPED, false);
    for (int kind = 0; kind < SW_KIND__COUNT; kind++)
        ok(t, kind, SW_JOB_TERMINATE, SW_DOMAIN_ABSENT, false);
}

/* A hostile hostname is stored as text, byte for byte (control characters aside). */
static void test_hostile_hostname(void **state)
{
    struct sw_testnode *t = *state;
    static const char evil[] = "e'/><devices><disk type='file'><source file='/etc/shadow'/>"
                               "<target dev='vdz'/></disk></devices><x a=\"&amp;";
    struct sw_msg_node_job job;
    sw_testnode_job(&job, SW_KIND_HVM, SW_JOB_CREATE, server_ids[SW_KIND_HVM]);
    snprintf(job.hostname, sizeof job.hostname, "%s", evil);
    struct sw_engine_outcome out;
    struct sw_err err;
    sw_err_clear(&err);
    if (sw_engine_run(&t->eng, &job, &out, &err) != 0)
        fail_msg("create: %s (%s)", err.msg, err.detail);
    virDomainPtr dom = virDomainLookupByUUIDString(t->conn, job.server_id);
    assert_non_null(dom);
    char *desc = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_DESCRIPTION, NULL, 0);
    assert_string_equal(desc, evil);
    free(desc);
    char *xml = virDomainGetXMLDesc(dom, 0);
    assert_null(strstr(xml, "<target dev='vdz'"));
    assert_non_null(strstr(xml, "vdz")); /* as text */
    assert_null(strstr(xml, "<source file='/etc/shadow'"));
    free(xml);
    virDomainFree(dom);
    ok(t, SW_KIND_HVM, SW_JOB_TERMINATE, SW_DOMAIN_ABSENT, false);
}

/* A domain of another owner under the server's name is a conflict, not a takeover. */
static void test_name_taken(void **state)
{
    struct sw_testnode *t = *state;
    char name[64];
    sw_engine_domain_name(server_ids[SW_KIND_HVM], name);
    SW_AUTOFREE char *xml = sw_asprintf(
        "<domain type='test'><name>%s</name><uuid>b0000000-0000-4000-8000-000000000009</uuid>"
        "<memory>1048576</memory><os><type>hvm</type></os></domain>",
        name);
    virDomainPtr other = virDomainDefineXML(t->conn, xml);
    assert_non_null(other);
    struct sw_engine_outcome out;
    struct sw_err err;
    assert_int_equal(run(t, SW_KIND_HVM, SW_JOB_CREATE, server_ids[SW_KIND_HVM], &out, &err), -1);
    assert_int_equal(err.code, SW_ECONFLICT);
    assert_false(err.retryable);
    assert_string_equal(out.domain_state, SW_DOMAIN_ABSENT);
    assert_int_equal(virDomainUndefine(other), 0);
    virDomainFree(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_container, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hvm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_kinds_together, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_hostname, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_taken, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
