/* test_snapshot.c - engines/snapshot.c: the pure parts (name, snapshot XML,
 * the recorded allocation, the note) and, on libvirt's test driver, a
 * snapshot taken, replayed (one snapshot), reverted (a running guest with
 * memory keeps running; a disk-only one boots again; a stopped one stays
 * stopped) and deleted (twice: a missing one is success), a reinstall
 * dropping every snapshot, a missing snapshot's revert not_found, and pv
 * and container servers unsupported. */
#include "config.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/engines/testnode.h"
#include "engines/snapshot.h"
#include "core/enums.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HVM_ID "c0000000-0000-4000-8000-000000000003"
#define PV_ID "c0000000-0000-4000-8000-000000000002"
#define SNAP1 "d0000000-0000-4000-8000-000000000001"
#define SNAP2 "d0000000-0000-4000-8000-000000000002"

static void snap_job(struct sw_msg_node_job *job, int kind, int type, const char *id,
                     const char *snap, bool memory)
{
    sw_testnode_job(job, kind, type, id);
    snprintf(job->snapshot_id, sizeof job->snapshot_id, "%s", snap);
    job->snapshot_memory = memory;
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

/* The number of libvirt snapshots of id. */
static int snapshots(struct sw_testnode *t, const char *id)
{
    virDomainPtr dom = virDomainLookupByUUIDString(t->conn, id);
    assert_non_null(dom);
    int n = virDomainSnapshotNum(dom, 0);
    virDomainFree(dom);
    return n;
}

static void test_pure(void **state)
{
    (void)state;
    char name[SW_SNAPSHOT_NAME_MAX], xml[1024];
    assert_string_equal(sw_snapshot_name(HVM_ID, SNAP1, name), "sw-" HVM_ID "-snap-" SNAP1);
    const char *cd[] = {"hdc", "hdd"};
    assert_int_equal(sw_snapshot_xml(name, 4096, false, cd, 2, xml, sizeof xml), 0);
    assert_string_equal(xml, "<domainsnapshot><name>sw-" HVM_ID "-snap-" SNAP1
                             "</name><description>slipway alloc_before=4096</description>"
                             "<memory snapshot='no'/><disks><disk name='hdc' snapshot='no'/>"
                             "<disk name='hdd' snapshot='no'/></disks></domainsnapshot>");
    assert_int_equal(sw_snapshot_alloc_before(xml), 4096);
    assert_int_equal(sw_snapshot_xml(name, 0, true, NULL, 0, xml, sizeof xml), 0);
    assert_null(strstr(xml, "<memory"));
    assert_null(strstr(xml, "<disks>"));
    assert_int_equal(sw_snapshot_alloc_before("<domainsnapshot/>"), -1);
    const char *bad[] = {"hd'c"};
    assert_int_equal(sw_snapshot_xml(name, 0, true, bad, 1, xml, sizeof xml), -1);
    assert_int_equal(sw_snapshot_xml(name, 0, true, cd, 2, xml, 64), -1);
    char note[160];
    sw_snapshot_note(true, false, 1, note, sizeof note);
    assert_string_equal(note, "disk only; filesystems frozen through the guest agent");
    sw_snapshot_note(true, false, 0, note, sizeof note);
    assert_string_equal(note, "disk only; not frozen: no guest agent answered (crash-consistent)");
    sw_snapshot_note(false, true, -1, note, sizeof note);
    assert_string_equal(note, "disk snapshot of a stopped server");
}

static void test_lifecycle(void **state)
{
    struct sw_testnode *t = *state;
    struct sw_msg_node_job job;
    struct sw_engine_outcome out;
    sw_testnode_job(&job, SW_KIND_HVM, SW_JOB_CREATE, HVM_ID);
    run_ok(t, &job, &out);
    snap_job(&job, SW_KIND_HVM, SW_JOB_SNAPSHOT_CREATE, HVM_ID, SNAP1, false);
    run_ok(t, &job, &out);
    assert_int_equal(out.snapshot_bytes, 0); /* the test driver's volumes never grow */
    assert_string_equal(out.note, "disk only; not frozen: no guest agent answered (crash-consistent)");
    run_ok(t, &job, &out); /* a replay */
    assert_string_equal(out.note, "snapshot taken by an earlier delivery");
    assert_int_equal(snapshots(t, HVM_ID), 1);
    snap_job(&job, SW_KIND_HVM, SW_JOB_SNAPSHOT_CREATE, HVM_ID, SNAP2, true);
    run_ok(t, &job, &out);
    assert_int_equal(snapshots(t, HVM_ID), 2);

    /* a memory snapshot of a running guest: it keeps running */
    snap_job(&job, SW_KIND_HVM, SW_JOB_SNAPSHOT_REVERT, HVM_ID, SNAP2, true);
    run_ok(t, &job, &out);
    assert_string_equal(out.domain_state, SW_DOMAIN_RUNNING);
    assert_false(out.booted);
    /* a disk-only one: booted again on the disk */
    snap_job(&job, SW_KIND_HVM, SW_JOB_SNAPSHOT_REVERT, HVM_ID, SNAP1, false);
    run_ok(t, &job, &out);
    assert_string_equal(out.note, "reverted the disk; the guest booted again on it");
    assert_true(out.booted);
    assert_string_equal(out.domain_state, SW_DOMAIN_RUNNING);
    /* a stopped server stays stopped */
    sw_testnode_job(&job, SW_KIND_HVM, SW_JOB_STOP, HVM_ID);
    run_ok(t, &job, &out);
    snap_job(&job, SW_KIND_HVM, SW_JOB_SNAPSHOT_REVERT, HVM_ID, SNAP1, false);
    run_ok(t, &job, &out);
    assert_string_equal(out.note, "reverted the disk; the server stays stopped");
    assert_string_equal(out.domain_state, SW_DOMAIN_STOPPED);

    /* delete, and again: success, nothing left of it */
    snap_job(&job, SW_KIND_HVM, SW_JOB_SNAPSHOT_DELETE, HVM_ID, SNAP1, false);
    run_ok(t, &job, &out);
    run_ok(t, &job, &out);
    assert_string_equal(out.note, "no such snapshot on the node");
    assert_int_equal(snapshots(t, HVM_ID), 1);
    struct sw_err err;
    snap_job(&job, SW_KIND_HVM, SW_JOB_SNAPSHOT_REVERT, HVM_ID, SNAP1, false);
    assert_int_equal(run(t, &job, &out, &err), -1);
    assert_int_equal(err.code, SW_ENOTFOUND);

    /* a reinstall drops the rest */
    sw_testnode_job(&job, SW_KIND_HVM, SW_JOB_REINSTALL, HVM_ID);
    run_ok(t, &job, &out);
    assert_int_equal(snapshots(t, HVM_ID), 0);
}

static void test_unsupported(void **state)
{
    struct sw_testnode *t = *state;
    struct sw_msg_node_job job;
    struct sw_engine_outcome out;
    struct sw_err err;
    static const int kinds[] = {SW_KIND_PV, SW_KIND_CONTAINER};
    for (size_t i = 0; i < 2; i++) {
        snap_job(&job, kinds[i], SW_JOB_SNAPSHOT_CREATE, PV_ID, SNAP1, false);
        assert_int_equal(run(t, &job, &out, &err), -1);
        assert_int_equal(err.code, SW_EUNSUPPORTED);
    }
    /* an hvm server without its domain: not found, nothing made */
    snap_job(&job, SW_KIND_HVM, SW_JOB_SNAPSHOT_CREATE, HVM_ID, SNAP1, false);
    assert_int_equal(run(t, &job, &out, &err), -1);
    assert_int_equal(err.code, SW_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pure),
        SW_TESTNODE_TEST(test_lifecycle),
        SW_TESTNODE_TEST(test_unsupported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
