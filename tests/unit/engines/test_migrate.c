/* Unit tests for engines/migrate.c's pure half: a migration request turned
 * into virDomainMigrateToURI3's flags and typed parameters, and the moves
 * each hypervisor refuses, naming why. */
#include "config.h"
/* cmocka needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <string.h>

#include "core/err.h"
#include "engines/migrate.h"
#include "engines/virt.h"

#define BASE (VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE)

static struct sw_migrate_req req_shared(void)
{
    struct sw_migrate_req r = {.server_id = "0b5e2f6c-1d2a-4a43-9c0e-5b7d1e2f3a4b",
                               .target_uri = "qemu+tls://node-b/system",
                               .live = true,
                               .shared_storage = true,
                               .auto_converge = true,
                               .downtime_ms = 200};
    return r;
}

static const char *param_str(const struct sw_migrate_plan *p, const char *name)
{
    const char *v = NULL;
    return virTypedParamsGetString(p->params, p->nparams, name, &v) == 1 ? v : NULL;
}

/* A running guest on shared storage: live, peer to peer, persistent on the
 * target, undefined on the source, auto-converge; no disk copy. */
static void test_live_shared(void **state)
{
    (void)state;
    struct sw_migrate_req r = req_shared();
    struct sw_migrate_plan p;
    struct sw_err err;
    sw_err_clear(&err);
    assert_int_equal(sw_migrate_plan(&r, "qemu", true, &p, &err), 0);
    assert_int_equal(p.how, SW_MIGRATE_LIVE);
    assert_int_equal(p.flags, BASE | VIR_MIGRATE_LIVE | VIR_MIGRATE_AUTO_CONVERGE);
    assert_int_equal(p.downtime_ms, 200);
    assert_int_equal(p.nparams, 0); /* no URI, XML or bandwidth asked for */
    sw_migrate_plan_release(&p);
    r.auto_converge = false;
    assert_int_equal(sw_migrate_plan(&r, "xen", true, &p, &err), 0);
    assert_int_equal(p.flags, BASE | VIR_MIGRATE_LIVE);
    sw_migrate_plan_release(&p);
}

/* The typed parameters: the stream's URI, the target's XML, bandwidth. */
static void test_params(void **state)
{
    (void)state;
    struct sw_migrate_req r = req_shared();
    r.migrate_uri = "tcp://10.0.0.2";
    r.dest_xml = "<domain type='qemu'/>";
    r.bandwidth_mib = 8;
    struct sw_migrate_plan p;
    struct sw_err err;
    sw_err_clear(&err);
    assert_int_equal(sw_migrate_plan(&r, "qemu", true, &p, &err), 0);
    assert_int_equal(p.nparams, 3);
    assert_string_equal(param_str(&p, VIR_MIGRATE_PARAM_URI), "tcp://10.0.0.2");
    assert_string_equal(param_str(&p, VIR_MIGRATE_PARAM_DEST_XML), "<domain type='qemu'/>");
    unsigned long long bw = 0;
    assert_int_equal(virTypedParamsGetULLong(p.params, p.nparams, VIR_MIGRATE_PARAM_BANDWIDTH, &bw), 1);
    assert_int_equal(bw, 8);
    sw_migrate_plan_release(&p);
    assert_null(p.params);
    sw_migrate_plan_release(&p); /* twice is harmless */
}

/* Volumes outside a shared pool: copied live on qemu
 * (VIR_MIGRATE_NON_SHARED_DISK); refused on xen; a stopped server's not
 * copied yet. A folder standing in for NFS: VIR_MIGRATE_UNSAFE. */
static void test_storage(void **state)
{
    (void)state;
    struct sw_migrate_req r = req_shared();
    r.shared_storage = false;
    struct sw_migrate_plan p;
    struct sw_err err;
    sw_err_clear(&err);
    assert_int_equal(sw_migrate_plan(&r, "qemu", true, &p, &err), 0);
    assert_true(p.flags & VIR_MIGRATE_NON_SHARED_DISK);
    assert_false(p.flags & VIR_MIGRATE_UNSAFE);
    assert_true(p.copy); /* the read-only volumes (the seed) copied first */
    sw_migrate_plan_release(&p);
    assert_int_equal(sw_migrate_plan(&r, "xen", true, &p, &err), -1);
    assert_int_equal(err.code, SW_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "xen nodes cannot copy a running server's disks"));
    /* stopped: moved offline, its volumes copied first (engines/volcopy.h) */
    assert_int_equal(sw_migrate_plan(&r, "qemu", false, &p, &err), 0);
    assert_int_equal(p.how, SW_MIGRATE_OFFLINE);
    assert_int_equal(p.flags, BASE | VIR_MIGRATE_OFFLINE);
    assert_true(p.copy);
    sw_migrate_plan_release(&p);
    assert_int_equal(sw_migrate_plan(&r, "xen", false, &p, &err), 0);
    assert_true(p.copy);
    sw_migrate_plan_release(&p);
    r = req_shared();
    assert_int_equal(sw_migrate_plan(&r, "qemu", false, &p, &err), 0);
    assert_false(p.copy);
    sw_migrate_plan_release(&p);
    r.unsafe = true;
    assert_int_equal(sw_migrate_plan(&r, "qemu", true, &p, &err), 0);
    assert_int_equal(p.flags, BASE | VIR_MIGRATE_LIVE | VIR_MIGRATE_AUTO_CONVERGE | VIR_MIGRATE_UNSAFE);
    sw_migrate_plan_release(&p);
}

/* A stopped server moves its definition (VIR_MIGRATE_OFFLINE): no live
 * flag, no stream parameters, no downtime. */
static void test_offline(void **state)
{
    (void)state;
    struct sw_migrate_req r = req_shared();
    r.migrate_uri = "tcp://10.0.0.2";
    r.bandwidth_mib = 8;
    r.dest_xml = "<domain/>";
    struct sw_migrate_plan p;
    struct sw_err err;
    sw_err_clear(&err);
    assert_int_equal(sw_migrate_plan(&r, "qemu", false, &p, &err), 0);
    assert_int_equal(p.how, SW_MIGRATE_OFFLINE);
    assert_int_equal(p.flags, BASE | VIR_MIGRATE_OFFLINE);
    assert_int_equal(p.downtime_ms, 0);
    assert_int_equal(p.nparams, 1);
    assert_string_equal(param_str(&p, VIR_MIGRATE_PARAM_DEST_XML), "<domain/>");
    sw_migrate_plan_release(&p);
}

/* The test driver and LXC refuse, naming why; a running server asked to
 * move cold is a conflict; a request without a target is invalid. */
static void test_refusals(void **state)
{
    (void)state;
    struct sw_migrate_req r = req_shared();
    struct sw_migrate_plan p;
    struct sw_err err;
    sw_err_clear(&err);
    assert_int_equal(sw_migrate_plan(&r, "test", true, &p, &err), -1);
    assert_int_equal(err.code, SW_EUNSUPPORTED);
    assert_string_equal(err.msg,
                        "could not migrate the server: libvirt's test driver cannot migrate domains");
    assert_int_equal(sw_migrate_plan(&r, "test", false, &p, &err), -1);
    assert_int_equal(err.code, SW_EUNSUPPORTED);
    assert_int_equal(sw_migrate_plan(&r, "lxc", true, &p, &err), -1);
    assert_int_equal(err.code, SW_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "LXC driver cannot move a running container"));
    assert_null(p.params);
    assert_non_null(sw_migrate_live_refusal("lxc"));
    assert_non_null(sw_migrate_live_refusal("test"));
    assert_null(sw_migrate_live_refusal("qemu"));
    assert_null(sw_migrate_live_refusal("xen"));
    r.live = false;
    assert_int_equal(sw_migrate_plan(&r, "qemu", true, &p, &err), -1);
    assert_int_equal(err.code, SW_ECONFLICT);
    r = req_shared();
    r.target_uri = "";
    assert_int_equal(sw_migrate_plan(&r, "qemu", true, &p, &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
}

/* libvirt's typed parameters need the library initialised (its error
 * state), as the engine does at start. */
static int setup(void **state)
{
    (void)state;
    struct sw_err err;
    return sw_virt_init(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_shared), cmocka_unit_test(test_params),
        cmocka_unit_test(test_storage),     cmocka_unit_test(test_offline),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
