/* Tests of engines/driver.c: the dispatcher, over the kinds' tables and over
 * a table of stubs. None of these reach libvirt (the engine has no
 * connection). */
#include "config.h"
#include "engines/domdef.h"
#include "engines/driver.h"
#include "core/enums.h"
#include "core/err.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVER_ID "5f0c6a7e-2b1d-4c3e-9a8b-7d6e5f4a3b2c"

static void job_for(struct sw_msg_node_job *job, int kind, int type)
{
    memset(job, 0, sizeof *job);
    snprintf(job->server_id, sizeof job->server_id, SERVER_ID);
    job->kind = kind;
    job->type = type;
}

static struct sw_engine offline_engine(void)
{
    struct sw_engine eng;
    memset(&eng, 0, sizeof eng);
    eng.hv = sw_hypervisor_from_uri("test:///default", NULL);
    eng.templates_dir = SW_TEST_SRCDIR "/templates";
    return eng;
}

/* A kind the node does not host is refused before its driver runs, for
 * every job type and for define (reconciliation). */
static void test_kind_not_hosted(void **state)
{
    (void)state;
    struct sw_engine eng = offline_engine();
    eng.kinds = 1u << SW_KIND_HVM;
    for (int type = 0; type < SW_JOB__COUNT; type++) {
        struct sw_msg_node_job job;
        job_for(&job, SW_KIND_CONTAINER, type);
        struct sw_engine_outcome out;
        struct sw_err err;
        sw_err_clear(&err);
        assert_int_equal(sw_engine_run(&eng, &job, &out, &err), -1);
        assert_int_equal(err.code, SW_EUNSUPPORTED);
        assert_false(err.retryable);
        assert_string_equal(err.msg, "this node does not host container servers");
        assert_string_equal(out.domain_state, "");
        assert_string_equal(out.note, "");
    }
    struct sw_msg_node_job job;
    job_for(&job, SW_KIND_PV, SW_JOB_CREATE);
    struct sw_engine_outcome out;
    struct sw_err err;
    assert_int_equal(sw_engine_define(&eng, &job, &out, &err), -1);
    assert_string_equal(err.msg, "this node does not host pv servers");
}

static void test_unknown_kind_and_type(void **state)
{
    (void)state;
    struct sw_engine eng = offline_engine();
    struct sw_msg_node_job job;
    struct sw_engine_outcome out;
    struct sw_err err;
    job_for(&job, SW_KIND__COUNT, SW_JOB_START);
    assert_int_equal(sw_engine_run(&eng, &job, &out, &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
    job_for(&job, -1, SW_JOB_START);
    assert_int_equal(sw_engine_run(&eng, &job, &out, &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
    job_for(&job, SW_KIND_HVM, SW_JOB__COUNT);
    assert_int_equal(sw_engine_run(&eng, &job, &out, &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
    assert_null(sw_engine_driver_get(SW_KIND__COUNT));
    assert_null(sw_engine_driver_get(-1));
}

/* A driver table of stubs, each recording the job type it serves, with
 * reboot and define left NULL; and a pv table without a lifecycle group. */
static int ran = -1;
static const struct sw_engine_driver stub_driver;

#define STUB(op, jt)                                                                               \
    static int stub_##op(struct sw_engine *eng, const struct sw_engine_driver *drv,                \
                         const struct sw_msg_node_job *job, struct sw_engine_outcome *out,         \
                         struct sw_err *err)                                                       \
    {                                                                                              \
        (void)eng;                                                                                 \
        (void)out;                                                                                 \
        (void)err;                                                                                 \
        assert_ptr_equal(drv, &stub_driver);                                                       \
        assert_int_equal(job->type, (jt));                                                         \
        ran = (jt);                                                                                \
        return 0;                                                                                  \
    }
STUB(create, SW_JOB_CREATE)
STUB(start, SW_JOB_START)
STUB(stop, SW_JOB_STOP)
STUB(suspend, SW_JOB_SUSPEND)
STUB(unsuspend, SW_JOB_UNSUSPEND)
STUB(terminate, SW_JOB_TERMINATE)
STUB(reinstall, SW_JOB_REINSTALL)
STUB(resize, SW_JOB_RESIZE)
STUB(reset_password, SW_JOB_RESET_PASSWORD)
STUB(mount_iso, SW_JOB_MOUNT_ISO)
STUB(eject_iso, SW_JOB_EJECT_ISO)
STUB(set_boot, SW_JOB_SET_BOOT)
STUB(snapshot_create, SW_JOB_SNAPSHOT_CREATE)
STUB(snapshot_revert, SW_JOB_SNAPSHOT_REVERT)
STUB(snapshot_delete, SW_JOB_SNAPSHOT_DELETE)
STUB(backup, SW_JOB_BACKUP)
STUB(restore, SW_JOB_RESTORE)

static const struct sw_engine_lifecycle stub_lifecycle = {
    .create = stub_create,
    .start = stub_start,
    .stop = stub_stop,
    .suspend = stub_suspend,
    .unsuspend = stub_unsuspend,
    .terminate = stub_terminate,
    .reinstall = stub_reinstall,
    .resize = stub_resize,
    .reset_password = stub_reset_password,
};
static const struct sw_engine_media stub_media = {
    .mount_iso = stub_mount_iso,
    .eject_iso = stub_eject_iso,
    .set_boot = stub_set_boot,
};
static const struct sw_engine_snapshots stub_snapshots = {
    .create = stub_snapshot_create,
    .revert = stub_snapshot_revert,
    .remove = stub_snapshot_delete,
};
/* A create that carries a backup (a restore as a new server, bkrestore.c). */
#define RAN_CREATE_FROM_BACKUP 1000
static int stub_create_from_backup(struct sw_engine *eng, const struct sw_engine_driver *drv,
                                   const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                                   struct sw_err *err)
{
    (void)eng;
    (void)drv;
    (void)out;
    (void)err;
    assert_int_equal(job->type, SW_JOB_CREATE);
    assert_true(job->backup.id[0] != '\0');
    ran = RAN_CREATE_FROM_BACKUP;
    return 0;
}
static const struct sw_engine_backups stub_backups = {
    .backup = stub_backup,
    .restore = stub_restore,
    .create = stub_create_from_backup,
};
static const struct sw_engine_driver stub_driver = {
    .kind = SW_KIND_HVM,
    .name = "hvm",
    .lifecycle = &stub_lifecycle,
    .media = &stub_media,
    .snapshots = &stub_snapshots,
    .backups = &stub_backups,
};
static const struct sw_engine_driver no_lifecycle = {.kind = SW_KIND_PV, .name = "pv"};
static const struct sw_engine_driver *const stub_drivers[SW_KIND__COUNT] = {
    [SW_KIND_HVM] = &stub_driver,
    [SW_KIND_PV] = &no_lifecycle,
};

/* Each job type reaches its own operation; a NULL one answers unsupported,
 * naming the operation and the kind, and runs nothing. */
static void test_dispatch(void **state)
{
    (void)state;
    struct sw_engine eng = offline_engine();
    eng.drivers = stub_drivers;
    for (int type = 0; type < SW_JOB__COUNT; type++) {
        if (type == SW_JOB_MIGRATE || type == SW_JOB_RECOVER)
            continue; /* issue 15: no driver operation yet (unsupported for every kind) */
        struct sw_msg_node_job job;
        job_for(&job, SW_KIND_HVM, type);
        struct sw_engine_outcome out;
        struct sw_err err;
        sw_err_clear(&err);
        ran = -1;
        int rc = sw_engine_run(&eng, &job, &out, &err);
        if (type == SW_JOB_REBOOT) {
            assert_int_equal(rc, -1);
            assert_int_equal(err.code, SW_EUNSUPPORTED);
            assert_false(err.retryable);
            assert_string_equal(err.msg, "reboot is not supported for hvm servers");
            assert_int_equal(ran, -1);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(ran, type);
        }
        /* a kind without the group: every job type unsupported */
        job_for(&job, SW_KIND_PV, type);
        assert_int_equal(sw_engine_run(&eng, &job, &out, &err), -1);
        assert_int_equal(err.code, SW_EUNSUPPORTED);
        char want[80];
        snprintf(want, sizeof want, "%s is not supported for pv servers", sw_job_type_name(type));
        assert_string_equal(err.msg, want);
    }
    struct sw_msg_node_job job;
    job_for(&job, SW_KIND_HVM, SW_JOB_CREATE);
    struct sw_engine_outcome out;
    struct sw_err err;
    assert_int_equal(sw_engine_define(&eng, &job, &out, &err), -1);
    assert_int_equal(err.code, SW_EUNSUPPORTED);
    assert_string_equal(err.msg, "hvm servers cannot be defined here");
    job_for(&job, SW_KIND_PV, SW_JOB_CREATE);
    assert_int_equal(sw_engine_define(&eng, &job, &out, &err), -1);
    assert_string_equal(err.msg, "pv servers cannot be defined here");
    /* a kind missing from the tables is unknown */
    job_for(&job, SW_KIND_CONTAINER, SW_JOB_START);
    assert_int_equal(sw_engine_run(&eng, &job, &out, &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
}

/* A create whose job carries a backup goes to the backups group's create,
 * not the lifecycle's; a kind without that slot answers unsupported. */
static void test_create_from_backup(void **state)
{
    (void)state;
    struct sw_engine eng = offline_engine();
    eng.drivers = stub_drivers;
    struct sw_msg_node_job job;
    job_for(&job, SW_KIND_HVM, SW_JOB_CREATE);
    snprintf(job.backup.id, sizeof job.backup.id, "%s", "7e0c4c36-5d0f-4a4e-9d43-3f0d3c7c1c11");
    struct sw_engine_outcome out;
    struct sw_err err;
    sw_err_clear(&err);
    ran = -1;
    assert_int_equal(sw_engine_run(&eng, &job, &out, &err), 0);
    assert_int_equal(ran, RAN_CREATE_FROM_BACKUP);
    static const struct sw_engine_backups no_create = {.backup = stub_backup};
    struct sw_engine_driver without = stub_driver;
    without.backups = &no_create;
    const struct sw_engine_driver *drivers[SW_KIND__COUNT] = {[SW_KIND_HVM] = &without};
    eng.drivers = drivers;
    ran = -1;
    assert_int_equal(sw_engine_run(&eng, &job, &out, &err), -1);
    assert_int_equal(err.code, SW_EUNSUPPORTED);
    assert_string_equal(err.msg, "a restore as a new server is not supported for hvm servers");
    assert_int_equal(ran, -1);
}

/* Every kind's table: its own kind, its name, every operation. */
static void test_tables(void **state)
{
    (void)state;
    for (int kind = 0; kind < SW_KIND__COUNT; kind++) {
        const struct sw_engine_driver *d = sw_engine_driver_get(kind);
        assert_non_null(d);
        assert_int_equal(d->kind, kind);
        assert_string_equal(d->name, sw_plan_kind_name(kind));
        assert_non_null(d->domain_vars);
        assert_non_null(d->live_memory);
        const struct sw_engine_lifecycle *l = d->lifecycle;
        assert_non_null(l);
        assert_non_null(l->create);
        assert_non_null(l->start);
        assert_non_null(l->stop);
        assert_non_null(l->reboot);
        assert_non_null(l->suspend);
        assert_non_null(l->unsuspend);
        assert_non_null(l->terminate);
        assert_non_null(l->reinstall);
        assert_non_null(l->resize);
        assert_non_null(l->reset_password);
        assert_non_null(l->define);
    }
}

static void test_hypervisor_from_uri(void **state)
{
    (void)state;
    static const struct {
        const char *uri;
        const char *name;
    } cases[] = {
        {"test:///default", "test"},
        {"test:///tmp/x/node.xml", "test"},
        {"qemu:///system", "qemu"},
        {"qemu+ssh://root@h1/system", "qemu"},
        {"qemu+tls://h1/system", "qemu"},
        {"xen:///system", "xen"},
        {"lxc:///system", "lxc"},
        {"openvz:///system", NULL}, /* refused: see test_openvz_refused */
        {"vbox:///session", NULL},
        {"qemux:///system", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sw_err err;
        sw_err_clear(&err);
        const struct sw_hypervisor *hv = sw_hypervisor_from_uri(cases[i].uri, &err);
        if (cases[i].name) {
            assert_non_null(hv);
            assert_string_equal(hv->name, cases[i].name);
        } else {
            assert_null(hv);
            assert_int_equal(err.code, SW_EUNSUPPORTED);
        }
    }
}

/* OpenVZ is known and refused, saying why (its domains cannot be sw-<id>). */
static void test_openvz_refused(void **state)
{
    (void)state;
    struct sw_err err;
    sw_err_clear(&err);
    assert_null(sw_hypervisor_from_uri("openvz+ssh://root@h1/system", &err));
    assert_int_equal(err.code, SW_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "openvz nodes are not supported: "));
    assert_non_null(strstr(err.msg, "numeric container id"));
}

static void test_domain_name(void **state)
{
    (void)state;
    char name[64];
    assert_string_equal(sw_domdef_name("5F0C6A7E-2B1D-4C3E-9A8B-7D6E5F4A3B2C", name),
                        "sw-5f0c6a7e-2b1d-4c3e-9a8b-7d6e5f4a3b2c");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_not_hosted),
        cmocka_unit_test(test_unknown_kind_and_type),
        cmocka_unit_test(test_dispatch),
        cmocka_unit_test(test_tables),
        cmocka_unit_test(test_hypervisor_from_uri),
        cmocka_unit_test(test_openvz_refused),
        cmocka_unit_test(test_domain_name),
        cmocka_unit_test(test_create_from_backup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
