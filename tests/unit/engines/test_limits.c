/* Tests of a plan's limits on libvirt's test driver (engines/domdef.c's
 * limit variables, engines/limits.c): a limited server is defined, and
 * libvirt's own XML of it carries the limits; a resize to other limits
 * redefines it with them and says in its note what applied live. */
#include "config.h"
#include "core/alloc.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"
#include "engines/domdef.h"
#include "engines/driver.h"
#include "tests/unit/engines/testnode.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVER "d0000000-0000-4000-8000-0000000000c1"

static int setup(void **state)
{
    sw_log_init("test", "off");
    return sw_testnode_setup(state);
}

/* libvirt's XML of the server's domain: config or live. Owned. */
static char *domain_xml(struct sw_testnode *t, unsigned flags)
{
    char name[64];
    virDomainPtr dom = virDomainLookupByName(t->conn, sw_domdef_name(SERVER, name));
    assert_non_null(dom);
    char *x = virDomainGetXMLDesc(dom, flags);
    virDomainFree(dom);
    assert_non_null(x);
    return x;
}

static void run(struct sw_testnode *t, const struct sw_msg_node_job *job,
                struct sw_engine_outcome *out)
{
    struct sw_err err;
    sw_err_clear(&err);
    if (sw_engine_run(&t->eng, job, out, &err) < 0)
        fail_msg("%s: %s (%s)", sw_job_type_name(job->type), err.msg, err.detail);
}

static void test_limits_defined(void **state)
{
    struct sw_testnode *t = *state;
    struct sw_msg_node_job job;
    sw_testnode_job(&job, SW_KIND_HVM, SW_JOB_CREATE, SERVER);
    job.limits = (struct sw_msg_limits){
        .disk_read_iops = 2000, .disk_write_iops = 1000, .disk_read_bytes_sec = 104857600,
        .disk_write_bytes_sec = 52428800, .net_average_kbyte_s = 12500,
        .net_peak_kbyte_s = 25000, .net_burst_kbyte = 4096, .cpu_cap_pct = 50};
    struct sw_engine_outcome out;
    run(t, &job, &out);
    SW_AUTOFREE char *x = domain_xml(t, VIR_DOMAIN_XML_INACTIVE);
    static const char *const want[] = {
        "<read_iops_sec>2000</read_iops_sec>",
        "<write_iops_sec>1000</write_iops_sec>",
        "<read_bytes_sec>104857600</read_bytes_sec>",
        "<write_bytes_sec>52428800</write_bytes_sec>",
        "<inbound average='12500' peak='25000' burst='4096'/>",
        "<outbound average='12500' peak='25000' burst='4096'/>",
        "<period>100000</period>",
        "<quota>50000</quota>",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(x, want[i]))
            fail_msg("libvirt's XML lacks %s:\n%s", want[i], x);

    /* A resize to a plan with other limits: the config has the new ones,
     * the old are gone, and the note says how they applied. */
    sw_testnode_job(&job, SW_KIND_HVM, SW_JOB_RESIZE, SERVER);
    job.limits = (struct sw_msg_limits){.disk_write_iops = 300, .cpu_cap_pct = 25};
    run(t, &job, &out);
    SW_AUTOFREE char *y = domain_xml(t, VIR_DOMAIN_XML_INACTIVE);
    assert_non_null(strstr(y, "<write_iops_sec>300</write_iops_sec>"));
    assert_null(strstr(y, "read_iops_sec"));
    assert_null(strstr(y, "<bandwidth>"));
    assert_non_null(strstr(y, "<quota>25000</quota>"));
    if (!strstr(out.note, "limits appl"))
        fail_msg("the resize's note says nothing of the limits: \"%s\"", out.note);
    fprintf(stderr, "# resize note on the test driver: %s\n", out.note);
}

/* A plan without limits: libvirt's XML has none of the elements. */
static void test_no_limits(void **state)
{
    struct sw_testnode *t = *state;
    struct sw_msg_node_job job;
    sw_testnode_job(&job, SW_KIND_HVM, SW_JOB_CREATE, SERVER);
    struct sw_engine_outcome out;
    run(t, &job, &out);
    SW_AUTOFREE char *x = domain_xml(t, VIR_DOMAIN_XML_INACTIVE);
    assert_null(strstr(x, "<iotune>"));
    assert_null(strstr(x, "<bandwidth>"));
    assert_null(strstr(x, "<quota>"));
    assert_non_null(strstr(x, "<shares>"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_limits_defined, setup, sw_testnode_teardown),
        cmocka_unit_test_setup_teardown(test_no_limits, setup, sw_testnode_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
