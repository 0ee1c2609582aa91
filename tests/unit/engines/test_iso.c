/* test_iso.c - engines/iso.c on libvirt's test driver: mount_iso,
 * set_boot and eject_iso change the persistent definition's cdrom (hdd)
 * and <os> boot order, a restore and a resize keep them, a missing ISO
 * fails the job with the domain left as it was, and pv and container
 * servers have no ISO installs. */
#include "config.h"
#include "tests/lib/bootorder.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/engines/testnode.h"
#include "engines/iso.h"
#include "engines/storage.h"
#include "core/enums.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HVM_ID "b0000000-0000-4000-8000-000000000003"
#define PV_ID "b0000000-0000-4000-8000-000000000002"
#define SHA "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

/* A job of type for id with the given ISO state. */
static void iso_job(struct sw_msg_node_job *job, int kind, int type, const char *id,
                    const char *sha, const char *boot)
{
    sw_testnode_job(job, kind, type, id);
    snprintf(job->iso_sha256, sizeof job->iso_sha256, "%s", sha);
    job->iso_bytes = sha[0] ? 1048576 : 0;
    snprintf(job->boot, sizeof job->boot, "%s", boot);
}

static int run(struct sw_testnode *t, const struct sw_msg_node_job *job,
               struct sw_engine_outcome *out, struct sw_err *err)
{
    sw_err_clear(err);
    return sw_engine_run(&t->eng, job, out, err);
}

static void run_ok(struct sw_testnode *t, const struct sw_msg_node_job *job,
                   struct sw_engine_outcome *out)
{
    struct sw_err err;
    if (run(t, job, out, &err) != 0)
        fail_msg("%s: %s (%s)", sw_job_type_name(job->type), err.msg, err.detail);
}

/* The persistent definition of id. Owned. */
static char *config_xml(struct sw_testnode *t, const char *id)
{
    virDomainPtr dom = virDomainLookupByUUIDString(t->conn, id);
    assert_non_null(dom);
    char *x = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    virDomainFree(dom);
    assert_non_null(x);
    return x;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* The persistent definition has the ISO as its hdd cdrom (or none), and
 * boots the cdrom first only when boot_cdrom. */
static void assert_config(struct sw_testnode *t, bool iso, bool boot_cdrom)
{
    char *x = config_xml(t, HVM_ID);
    assert_int_equal(count(x, "volume='img-" SHA ".iso'"), iso);
    assert_int_equal(count(x, "<target dev='hdd' bus='ide'/>"), iso);
    /* the ISO's own boot index: the seed is the first cdrom */
    assert_int_equal(sw_test_boot_order(x, "hdd"), boot_cdrom ? 1 : 0);
    assert_int_equal(sw_test_boot_order(x, "vda"), boot_cdrom ? 2 : 1);
    assert_int_equal(sw_test_boot_order(x, "hdc"), 0);
    free(x);
}

/* The ISO in the default pool, as a fetch would have left it. */
static void iso_in_pool(struct sw_testnode *t)
{
    struct sw_err err;
    sw_err_clear(&err);
    size_t np;
    virStoragePoolPtr pool = sw_storage_pool_open(&t->eng, sw_storage_pools(&t->eng, &np), &err);
    assert_non_null(pool);
    virStorageVolPtr vol = virStorageVolCreateXML(
        pool,
        "<volume><name>img-" SHA ".iso</name><capacity unit='bytes'>1048576</capacity></volume>",
        0);
    assert_non_null(vol);
    virStorageVolFree(vol);
    virStoragePoolFree(pool);
}

static void test_mount_eject(void **state)
{
    struct sw_testnode *t = *state;
    struct sw_msg_node_job job;
    struct sw_engine_outcome out;
    struct sw_err err;
    iso_job(&job, SW_KIND_HVM, SW_JOB_CREATE, HVM_ID, "", "");
    run_ok(t, &job, &out);
    assert_config(t, false, false);

    /* not on the node (no image source here): fails, nothing changed */
    iso_job(&job, SW_KIND_HVM, SW_JOB_MOUNT_ISO, HVM_ID, SHA, "cdrom");
    assert_int_equal(run(t, &job, &out, &err), -1);
    assert_int_equal(err.code, SW_EUNAVAILABLE);
    assert_string_equal(err.msg, "could not mount the ISO: it is not on its node");
    assert_config(t, false, false);

    iso_in_pool(t);
    run_ok(t, &job, &out);
    assert_config(t, true, true);
    assert_string_equal(out.domain_state, SW_DOMAIN_RUNNING);
    /* the test driver changes no device live: the cdrom waits for the boot */
    assert_string_equal(out.note,
                        "ISO mounted at next boot; boots from the ISO, then the disk at next boot");
    /* a replay changes nothing */
    run_ok(t, &job, &out);
    assert_config(t, true, true);

    /* a resize (every job carries the ISO) keeps the cdrom and boot order */
    iso_job(&job, SW_KIND_HVM, SW_JOB_RESIZE, HVM_ID, SHA, "cdrom");
    run_ok(t, &job, &out);
    assert_config(t, true, true);

    iso_job(&job, SW_KIND_HVM, SW_JOB_SET_BOOT, HVM_ID, SHA, "disk");
    run_ok(t, &job, &out);
    assert_config(t, true, false);
    assert_string_equal(out.note, "ISO mounted at next boot; boots from the disk at next boot");

    iso_job(&job, SW_KIND_HVM, SW_JOB_EJECT_ISO, HVM_ID, "", "disk");
    run_ok(t, &job, &out);
    assert_config(t, false, false);
    assert_string_equal(out.note, "ISO ejected at next boot; boots from the disk at next boot");

    /* stopped: the note says nothing of a live change */
    iso_job(&job, SW_KIND_HVM, SW_JOB_STOP, HVM_ID, "", "disk");
    run_ok(t, &job, &out);
    iso_job(&job, SW_KIND_HVM, SW_JOB_MOUNT_ISO, HVM_ID, SHA, "cdrom");
    run_ok(t, &job, &out);
    assert_string_equal(out.domain_state, SW_DOMAIN_STOPPED);
    assert_string_equal(out.note, "ISO mounted; boots from the ISO, then the disk at next boot");
    assert_config(t, true, true);
}

/* A restore (reconciliation's define of a missing domain) keeps the ISO. */
static void test_restore_keeps_iso(void **state)
{
    struct sw_testnode *t = *state;
    iso_in_pool(t);
    struct sw_msg_node_job job;
    struct sw_engine_outcome out;
    struct sw_err err;
    iso_job(&job, SW_KIND_HVM, SW_JOB_CREATE, HVM_ID, SHA, "cdrom");
    job.job_id[0] = '\0';
    sw_err_clear(&err);
    assert_int_equal(sw_engine_define(&t->eng, &job, &out, &err), 0);
    assert_config(t, true, true);
}

/* A domain that is not there is not_found; pv and containers have no
 * ISO installs at all. */
static void test_refused(void **state)
{
    struct sw_testnode *t = *state;
    struct sw_msg_node_job job;
    struct sw_engine_outcome out;
    struct sw_err err;
    iso_job(&job, SW_KIND_HVM, SW_JOB_EJECT_ISO, HVM_ID, "", "disk");
    assert_int_equal(run(t, &job, &out, &err), -1);
    assert_int_equal(err.code, SW_ENOTFOUND);
    static const int kinds[] = {SW_KIND_PV, SW_KIND_CONTAINER};
    for (size_t i = 0; i < 2; i++) {
        iso_job(&job, kinds[i], SW_JOB_MOUNT_ISO, PV_ID, SHA, "cdrom");
        assert_int_equal(run(t, &job, &out, &err), -1);
        assert_int_equal(err.code, SW_EUNSUPPORTED);
        char want[80];
        snprintf(want, sizeof want, "mount_iso is not supported for %s servers",
                 sw_plan_kind_name(kinds[i]));
        assert_string_equal(err.msg, want);
    }
}

/* The note, pure. */
static void test_note(void **state)
{
    (void)state;
    struct sw_msg_node_job job;
    iso_job(&job, SW_KIND_HVM, SW_JOB_MOUNT_ISO, HVM_ID, SHA, "cdrom");
    char n[160];
    sw_iso_note(&job, 1, n, sizeof n);
    assert_string_equal(n, "ISO mounted live; boots from the ISO, then the disk at next boot");
    iso_job(&job, SW_KIND_HVM, SW_JOB_EJECT_ISO, HVM_ID, "", "disk");
    sw_iso_note(&job, 1, n, sizeof n);
    assert_string_equal(n, "ISO ejected live; boots from the disk at next boot");
    char vol[96];
    assert_string_equal(sw_iso_volume(&job, "dir", vol), "");
    iso_job(&job, SW_KIND_HVM, SW_JOB_MOUNT_ISO, HVM_ID, SHA, "cdrom");
    assert_string_equal(sw_iso_volume(&job, "dir", vol), "img-" SHA ".iso");
    assert_string_equal(sw_iso_volume(&job, "logical", vol), "img-" SHA);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SW_TESTNODE_TEST(test_mount_eject),
        SW_TESTNODE_TEST(test_restore_keeps_iso),
        SW_TESTNODE_TEST(test_refused),
        cmocka_unit_test(test_note),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
