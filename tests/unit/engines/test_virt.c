/* Tests of the driver operations (engines/virt.c through engines/driver.c)
 * against libvirt's real in-process test driver, on a simulated node of its
 * own (test:///<tmp>/node.xml): each kind's lifecycle, idempotent replays,
 * and the state rules of engines/README.md. */
#include "config.h"
#include "engines/domdef.h"
#include "engines/driver.h"
#include "engines/storage.h"
#include "engines/virt.h"
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
#include <sys/stat.h>
#include <unistd.h>

static const char *const server_ids[SW_KIND__COUNT] = {
    [SW_KIND_CONTAINER] = "a0000000-0000-4000-8000-000000000001",
    [SW_KIND_PV] = "a0000000-0000-4000-8000-000000000002",
    [SW_KIND_HVM] = "a0000000-0000-4000-8000-000000000003",
};

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
    assert_string_equal(virDomainGetName(dom), sw_domdef_name(server_ids[kind], name));
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

    /* a stopped server stays stopped through suspend; unsuspend boots it
     * (the control plane records every unsuspended server running) */
    ok(t, kind, SW_JOB_STOP, SW_DOMAIN_STOPPED, false);
    ok(t, kind, SW_JOB_SUSPEND, SW_DOMAIN_STOPPED, false);
    ok(t, kind, SW_JOB_UNSUSPEND, SW_DOMAIN_RUNNING, true);
    /* a reboot of a stopped server starts it */
    ok(t, kind, SW_JOB_STOP, SW_DOMAIN_STOPPED, false);
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

    fails(t, kind, SW_JOB_REINSTALL, SW_ENOTFOUND, SW_DOMAIN_ABSENT);
    fails(t, kind, SW_JOB_RESIZE, SW_ENOTFOUND, SW_DOMAIN_ABSENT);
    fails(t, kind, SW_JOB_RESET_PASSWORD, SW_ENOTFOUND, SW_DOMAIN_ABSENT);
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
    sw_domdef_name(server_ids[SW_KIND_HVM], name);
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

/* Runs a job (already filled) and expects success; returns the note. */
static void run_ok(struct sw_testnode *t, const struct sw_msg_node_job *job,
                   struct sw_engine_outcome *out)
{
    struct sw_err err;
    sw_err_clear(&err);
    if (sw_engine_run(&t->eng, job, out, &err) != 0)
        fail_msg("%s: %s (%s)", sw_job_type_name(job->type), err.msg, err.detail);
}

/* The persistent config's recorded sizes and memory. */
static void config_sizes(struct sw_testnode *t, const char *id, long long *vcpus,
                         long long *max_kib, long long *ram_mb)
{
    virDomainPtr dom = virDomainLookupByUUIDString(t->conn, id);
    assert_non_null(dom);
    *vcpus = virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_CONFIG | VIR_DOMAIN_VCPU_MAXIMUM);
    char *xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    const char *m = strstr(xml, "<memory unit='KiB'>");
    assert_non_null(m);
    *max_kib = atoll(m + strlen("<memory unit='KiB'>"));
    const char *r = strstr(xml, "ram_mb>");
    assert_non_null(r);
    *ram_mb = atoll(r + strlen("ram_mb>"));
    free(xml);
    virDomainFree(dom);
}

static void live_info(struct sw_testnode *t, const char *id, virDomainInfo *info)
{
    virDomainPtr dom = virDomainLookupByUUIDString(t->conn, id);
    assert_non_null(dom);
    assert_int_equal(virDomainGetInfo(dom, info), 0);
    virDomainFree(dom);
}

/* Resize on the test driver: what fits the live maximum applies live,
 * the rest at the next boot, and the note says which. The persistent
 * config always has the new sizes. */
static void resize(struct sw_testnode *t, int kind, const char *mem_live_note)
{
    const char *id = server_ids[kind];
    ok(t, kind, SW_JOB_CREATE, SW_DOMAIN_RUNNING, true);
    struct sw_msg_node_job job;
    struct sw_engine_outcome out;
    /* within the ceiling, fewer vCPUs: live */
    sw_testnode_job(&job, kind, SW_JOB_RESIZE, id);
    job.vcpus = 1;
    job.ram_mb = 1536;
    run_ok(t, &job, &out);
    assert_string_equal(out.domain_state, SW_DOMAIN_RUNNING);
    assert_string_equal(out.note, mem_live_note);
    virDomainInfo info;
    live_info(t, id, &info);
    assert_int_equal(info.nrVirtCpu, 1);
    long long vcpus, max_kib, ram_mb;
    config_sizes(t, id, &vcpus, &max_kib, &ram_mb);
    assert_int_equal(vcpus, 1);
    assert_int_equal(ram_mb, 1536);
    /* a replay answers the same */
    run_ok(t, &job, &out);
    assert_string_equal(out.note, mem_live_note);

    /* past the live maxima: next boot */
    job.vcpus = 4;
    job.ram_mb = 2048;
    job.max_ram_mb = 4096;
    run_ok(t, &job, &out);
    assert_string_equal(out.note, "memory and vcpus apply at next boot");
    live_info(t, id, &info);
    assert_int_equal(info.nrVirtCpu, 1);
    assert_int_equal(info.maxMem, 2048 * 1024);
    config_sizes(t, id, &vcpus, &max_kib, &ram_mb);
    assert_int_equal(vcpus, 4);
    assert_int_equal(max_kib, 4096 * 1024);

    /* stopped: next boot, and the boot has them */
    ok(t, kind, SW_JOB_STOP, SW_DOMAIN_STOPPED, false);
    job.vcpus = 3;
    run_ok(t, &job, &out);
    assert_string_equal(out.domain_state, SW_DOMAIN_STOPPED);
    assert_string_equal(out.note, "memory and vcpus apply at next boot");
    ok(t, kind, SW_JOB_START, SW_DOMAIN_RUNNING, true);
    live_info(t, id, &info);
    assert_int_equal(info.nrVirtCpu, 3);
    assert_int_equal(info.maxMem, 4096 * 1024);

    /* a paused server is resized too (live where it can) */
    ok(t, kind, SW_JOB_SUSPEND, SW_DOMAIN_SUSPENDED, false);
    job.vcpus = 2;
    run_ok(t, &job, &out);
    assert_string_equal(out.domain_state, SW_DOMAIN_SUSPENDED);
    ok(t, kind, SW_JOB_TERMINATE, SW_DOMAIN_ABSENT, false);
}

static void test_resize_hvm(void **state)
{
    resize(*state, SW_KIND_HVM, "memory and vcpus applied live");
}

static void test_resize_pv(void **state)
{
    resize(*state, SW_KIND_PV, "memory and vcpus applied live");
}

/* A container's limits change live (memtune) within its ceiling. */
static void test_resize_container(void **state)
{
    resize(*state, SW_KIND_CONTAINER, "memory and vcpus applied live");
}

/* The names of server id's volumes in the default pool, sorted, joined by
 * spaces ("" when none). Returns owned. */
static char *vols_of(struct sw_testnode *t, const char *id)
{
    virStoragePoolPtr pool = virStoragePoolLookupByName(t->conn, "slipway");
    if (!pool) {
        virResetLastError();
        return sw_strdup("");
    }
    char **names = sw_calloc(64, sizeof *names);
    int n = virStoragePoolListVolumes(pool, names, 64);
    assert_true(n >= 0);
    char prefix[64], *all = sw_calloc(1, 64 * 140);
    snprintf(prefix, sizeof prefix, "sw-%s-", id);
    for (int i = 0; i < n; i++) /* libvirt lists in creation order; few enough to sort here */
        for (int j = i + 1; j < n; j++)
            if (strcmp(names[j], names[i]) < 0) {
                char *x = names[i];
                names[i] = names[j];
                names[j] = x;
            }
    for (int i = 0; i < n; i++) {
        if (strncmp(names[i], prefix, strlen(prefix)) == 0) {
            if (all[0])
                strcat(all, " ");
            strcat(all, names[i] + strlen(prefix));
        }
        free(names[i]);
    }
    free(names);
    virStoragePoolFree(pool);
    return all;
}

static void assert_vols(struct sw_testnode *t, const char *id, const char *want)
{
    char *got = vols_of(t, id);
    if (strcmp(got, want) != 0)
        fail_msg("volumes of %s: \"%s\", want \"%s\"", id, got, want);
    free(got);
}

/* The source volume of the domain's disk, from its persistent XML. */
static void assert_boots_from(struct sw_testnode *t, const char *id, const char *volume)
{
    virDomainPtr dom = virDomainLookupByUUIDString(t->conn, id);
    assert_non_null(dom);
    char *xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    char want[256];
    snprintf(want, sizeof want, "<source pool='slipway' volume='sw-%s-%s'/>", id, volume);
    if (!strstr(xml, want))
        fail_msg("domain does not boot from %s:\n%s", want, xml);
    free(xml);
    virDomainFree(dom);
}

/* Makes a volume in the default pool by hand (another server's, a filler):
 * allocation bytes of capacity bytes. */
static void vol_by_hand(struct sw_testnode *t, const char *name, long long cap, long long alloc)
{
    struct sw_err err;
    sw_err_clear(&err);
    size_t np;
    virStoragePoolPtr pool = sw_storage_pool_open(&t->eng, sw_storage_pools(&t->eng, &np), &err);
    assert_non_null(pool);
    char xml[512];
    snprintf(xml, sizeof xml,
             "<volume><name>%s</name><capacity unit='bytes'>%lld</capacity>"
             "<allocation unit='bytes'>%lld</allocation></volume>",
             name, cap, alloc);
    virStorageVolPtr vol = virStorageVolCreateXML(pool, xml, 0);
    assert_non_null(vol);
    virStorageVolFree(vol);
    virStoragePoolFree(pool);
}

static char *os_of(struct sw_testnode *t, const char *id)
{
    virDomainPtr dom = virDomainLookupByUUIDString(t->conn, id);
    assert_non_null(dom);
    char *x = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, SW_ENGINE_DOMAIN_NS,
                                   VIR_DOMAIN_AFFECT_CONFIG);
    assert_non_null(x);
    virDomainFree(dom);
    const char *o = strstr(x, "os>");
    assert_non_null(o);
    char *os = sw_strndup(o + 3, strcspn(o + 3, "<"));
    free(x);
    return os;
}

#define JOB_A "10000000-0000-4000-8000-000000000004"
#define JOB_B "10000000-0000-4000-8000-0000000000ff"

/* Reinstall: a new root volume named from the job, the old one deleted
 * after the new domain runs, the new os defined; a replay of the same job
 * wipes nothing again; another server's volume is never touched. */
static void test_reinstall(void **state)
{
    struct sw_testnode *t = *state;
    const char *id = server_ids[SW_KIND_HVM], *other = "b0000000-0000-4000-8000-000000000001";
    ok(t, SW_KIND_HVM, SW_JOB_CREATE, SW_DOMAIN_RUNNING, true);
    vol_by_hand(t, "sw-b0000000-0000-4000-8000-000000000001-root-0.qcow2", 1 << 30, 0);
    assert_vols(t, id, "root-0.qcow2 seed.iso");
    assert_boots_from(t, id, "root-0.qcow2");

    struct sw_msg_node_job job;
    struct sw_engine_outcome out;
    sw_testnode_job(&job, SW_KIND_HVM, SW_JOB_REINSTALL, id);
    assert_string_equal(job.job_id, JOB_A);
    snprintf(job.os, sizeof job.os, "ubuntu-24.04");
    run_ok(t, &job, &out);
    assert_string_equal(out.domain_state, SW_DOMAIN_RUNNING);
    assert_true(out.booted);
    assert_vols(t, id, "root-" JOB_A ".qcow2 seed.iso"); /* the seed rewritten in place */
    assert_boots_from(t, id, "root-" JOB_A ".qcow2");
    assert_int_equal(out.ndisks, 2);
    assert_string_equal(out.disks[0].role, "root");
    assert_string_equal(out.disks[1].role, "seed");
    char *os = os_of(t, id);
    assert_string_equal(os, "ubuntu-24.04");
    free(os);

    /* the replay finds its own reinstall: nothing is wiped again */
    run_ok(t, &job, &out);
    assert_false(out.booted);
    assert_vols(t, id, "root-" JOB_A ".qcow2 seed.iso");
    /* a resize keeps the reinstall's mark and its volume */
    struct sw_msg_node_job rs;
    sw_testnode_job(&rs, SW_KIND_HVM, SW_JOB_RESIZE, id);
    snprintf(rs.os, sizeof rs.os, "ubuntu-24.04");
    run_ok(t, &rs, &out);
    assert_boots_from(t, id, "root-" JOB_A ".qcow2");
    ok(t, SW_KIND_HVM, SW_JOB_STOP, SW_DOMAIN_STOPPED, false);
    run_ok(t, &job, &out); /* replayed after a stop: it only boots */
    assert_true(out.booted);
    assert_vols(t, id, "root-" JOB_A ".qcow2 seed.iso");

    /* another reinstall (a new job) does replace the disk */
    snprintf(job.job_id, sizeof job.job_id, "%s", JOB_B);
    snprintf(job.os, sizeof job.os, "debian-12");
    run_ok(t, &job, &out);
    assert_vols(t, id, "root-" JOB_B ".qcow2 seed.iso");
    assert_boots_from(t, id, "root-" JOB_B ".qcow2");
    os = os_of(t, id);
    assert_string_equal(os, "debian-12");
    free(os);

    /* a suspended server is not reinstalled */
    ok(t, SW_KIND_HVM, SW_JOB_SUSPEND, SW_DOMAIN_SUSPENDED, false);
    snprintf(job.job_id, sizeof job.job_id, "10000000-0000-4000-8000-0000000000fe");
    struct sw_err err;
    sw_err_clear(&err);
    assert_int_equal(sw_engine_run(&t->eng, &job, &out, &err), -1);
    assert_int_equal(err.code, SW_ECONFLICT);
    assert_string_equal(out.domain_state, SW_DOMAIN_SUSPENDED);
    assert_vols(t, id, "root-" JOB_B ".qcow2 seed.iso");
    ok(t, SW_KIND_HVM, SW_JOB_TERMINATE, SW_DOMAIN_ABSENT, false);
    assert_vols(t, id, "");
    assert_vols(t, other, "root-0.qcow2"); /* another server's volume is not touched */
}

/* Each kind's root volume: made by the create (thin qcow2 of the plan's
 * size; a container's a sparse raw volume, blank on the test driver, which
 * has no image to unpack), found by a replay (no second one), named in the
 * outcome, deleted with every other sw-<id>-* volume by terminate. */
static void test_volumes(void **state)
{
    struct sw_testnode *t = *state;
    for (int kind = 0; kind < SW_KIND__COUNT; kind++) {
        const char *id = server_ids[kind];
        bool raw = kind == SW_KIND_CONTAINER; /* no seed volume: files in its root */
        const char *root = raw ? "root-0.raw" : "root-0.qcow2";
        char vols[64];
        snprintf(vols, sizeof vols, "%s%s", root, raw ? "" : " seed.iso");
        struct sw_msg_node_job job;
        struct sw_engine_outcome out;
        sw_testnode_job(&job, kind, SW_JOB_CREATE, id);
        run_ok(t, &job, &out);
        assert_int_equal(out.ndisks, raw ? 1 : 2);
        assert_vols(t, id, vols);
        assert_string_equal(out.disks[0].pool, "slipway");
        assert_string_equal(out.disks[0].format, raw ? "raw" : "qcow2");
        assert_int_equal(out.disks[0].capacity, 20LL << 30);
        char seed[128];
        snprintf(seed, sizeof seed, "sw-%s-seed.iso", id);
        if (!raw) { /* the NoCloud seed beside it, raw, a MiB, attached read-only */
            assert_string_equal(out.disks[1].role, "seed");
            assert_string_equal(out.disks[1].pool, "slipway");
            assert_string_equal(out.disks[1].volume, seed);
            assert_string_equal(out.disks[1].format, "iso");
            assert_int_equal(out.disks[1].capacity, 1 << 20);
            assert_boots_from(t, id, "seed.iso");
        }
        run_ok(t, &job, &out); /* a replayed create makes no second volume */
        assert_vols(t, id, vols);
        /* a crash after the volumes, before the definition: the replay
         * finds them and makes no second */
        virDomainPtr dom = virDomainLookupByUUIDString(t->conn, id);
        assert_non_null(dom);
        virDomainDestroy(dom);
        assert_int_equal(virDomainUndefine(dom), 0);
        virDomainFree(dom);
        run_ok(t, &job, &out);
        assert_int_equal(out.ndisks, raw ? 1 : 2);
        assert_vols(t, id, vols);
        ok(t, kind, SW_JOB_TERMINATE, SW_DOMAIN_ABSENT, false);
        assert_vols(t, id, "");
        /* a domain gone with volumes left (a crash between the two): the
         * replayed terminate deletes them */
        vol_by_hand(t, seed, 1 << 20, 1 << 20);
        ok(t, kind, SW_JOB_TERMINATE, SW_DOMAIN_ABSENT, false);
        assert_vols(t, id, "");
    }
}

/* A create whose seed cannot be made (a control character in the
 * hostname) or whose definition then fails (an os name the template
 * refuses) fails clearly and leaves neither domain nor volume. */
static void test_seed_failure_leaves_nothing(void **state)
{
    struct sw_testnode *t = *state;
    const char *id = server_ids[SW_KIND_PV];
    struct sw_msg_node_job job;
    struct sw_engine_outcome out;
    struct sw_err err;
    sw_testnode_job(&job, SW_KIND_PV, SW_JOB_CREATE, id);
    snprintf(job.hostname, sizeof job.hostname, "a\nb");
    sw_err_clear(&err);
    assert_int_equal(sw_engine_run(&t->eng, &job, &out, &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
    assert_string_equal(out.domain_state, SW_DOMAIN_ABSENT);
    assert_vols(t, id, "");
    sw_testnode_job(&job, SW_KIND_PV, SW_JOB_CREATE, id);
    snprintf(job.os, sizeof job.os, "Not/An/Os");
    sw_err_clear(&err);
    assert_int_equal(sw_engine_run(&t->eng, &job, &out, &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
    assert_vols(t, id, "");
    /* a good create then makes both */
    ok(t, SW_KIND_PV, SW_JOB_CREATE, SW_DOMAIN_RUNNING, true);
    assert_vols(t, id, "root-0.qcow2 seed.iso");
}

/* The <kernel> or <initrd> element of the persistent definition of id, as
 * an owned string ("" when absent). */
static char *boot_file(struct sw_testnode *t, const char *id, const char *elem)
{
    virDomainPtr dom = virDomainLookupByUUIDString(t->conn, id);
    assert_non_null(dom);
    char *xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    virDomainFree(dom);
    char open[16], close[16];
    snprintf(open, sizeof open, "<%s>", elem);
    snprintf(close, sizeof close, "</%s>", elem);
    const char *a = strstr(xml, open), *b = a ? strstr(a, close) : NULL;
    char *out = sw_strdup("");
    if (a && b) {
        a += strlen(open);
        free(out);
        out = sw_strndup(a, (size_t)(b - a));
    }
    free(xml);
    return out;
}

/* The path libvirt gives volume name of the default pool. Owned. */
static char *vol_path(struct sw_testnode *t, const char *name)
{
    virStoragePoolPtr pool = virStoragePoolLookupByName(t->conn, SW_STORAGE_DEFAULT_POOL);
    assert_non_null(pool);
    virStorageVolPtr vol = virStorageVolLookupByName(pool, name);
    assert_non_null(vol);
    char *path = virStorageVolGetPath(vol);
    assert_non_null(path);
    virStorageVolFree(vol);
    virStoragePoolFree(pool);
    return path;
}

/* A pv template's own kernel and initrd (kernel.h): a create whose images
 * are not on the node fails clearly and leaves no volume; once they are
 * (img-<sha256>.kernel, .initrd in the root's pool), the domain boots them
 * by the paths libvirt gives, and a redefinition (a resize) keeps them. A
 * pv job without them boots the node's kernel for its os, as before. */
static void test_own_kernel(void **state)
{
    struct sw_testnode *t = *state;
    const char *id = server_ids[SW_KIND_PV];
    static const char k[] = "1111111111111111111111111111111111111111111111111111111111111111";
    static const char r[] = "2222222222222222222222222222222222222222222222222222222222222222";
    struct sw_msg_node_job job;
    struct sw_engine_outcome out;
    struct sw_err err;
    sw_testnode_job(&job, SW_KIND_PV, SW_JOB_CREATE, id);
    snprintf(job.kernel_sha256, sizeof job.kernel_sha256, "%s", k);
    job.kernel_bytes = 1 << 20;
    snprintf(job.initrd_sha256, sizeof job.initrd_sha256, "%s", r);
    job.initrd_bytes = 1 << 19;
    sw_err_clear(&err);
    assert_int_equal(sw_engine_run(&t->eng, &job, &out, &err), -1);
    assert_int_equal(err.code, SW_EUNAVAILABLE);
    assert_string_equal(err.msg, "could not boot the server's kernel: it is not on its node");
    char kname[96], rname[96];
    snprintf(kname, sizeof kname, "img-%s.kernel", k);
    snprintf(rname, sizeof rname, "img-%s.initrd", r);
    assert_non_null(strstr(err.detail, kname));
    assert_string_equal(out.domain_state, SW_DOMAIN_ABSENT);
    assert_vols(t, id, "");

    /* the kernel alone is not enough */
    vol_by_hand(t, kname, 1 << 20, 1 << 20);
    sw_err_clear(&err);
    assert_int_equal(sw_engine_run(&t->eng, &job, &out, &err), -1);
    assert_non_null(strstr(err.detail, rname));
    assert_vols(t, id, "");

    vol_by_hand(t, rname, 1 << 19, 1 << 19);
    run_ok(t, &job, &out);
    assert_vols(t, id, "root-0.qcow2 seed.iso");
    char *kpath = vol_path(t, kname), *rpath = vol_path(t, rname);
    char *got = boot_file(t, id, "kernel");
    assert_string_equal(got, kpath);
    free(got);
    got = boot_file(t, id, "initrd");
    assert_string_equal(got, rpath);
    free(got);

    /* a redefinition boots the same volumes */
    job.type = SW_JOB_RESIZE;
    job.ram_mb *= 2;
    job.max_ram_mb *= 2;
    run_ok(t, &job, &out);
    got = boot_file(t, id, "kernel");
    assert_string_equal(got, kpath);
    free(got);
    free(kpath);
    free(rpath);
    ok(t, SW_KIND_PV, SW_JOB_TERMINATE, SW_DOMAIN_ABSENT, false);

    /* without them: the node's kernel for the os, under state_dir */
    ok(t, SW_KIND_PV, SW_JOB_CREATE, SW_DOMAIN_RUNNING, true);
    got = boot_file(t, id, "kernel");
    assert_non_null(strstr(got, "/kernels/"));
    free(got);
}

/* A pool past its fill threshold takes no new volume: the create fails
 * with a tenant-safe reason and leaves neither domain nor volume. */
static void test_pool_full(void **state)
{
    struct sw_testnode *t = *state;
    const char *id = server_ids[SW_KIND_HVM];
    /* the test driver's pools hold 100 GiB; the default threshold is 90% */
    vol_by_hand(t, "filler", 95LL << 30, 95LL << 30);
    struct sw_engine_outcome out;
    struct sw_err err;
    assert_int_equal(run(t, SW_KIND_HVM, SW_JOB_CREATE, id, &out, &err), -1);
    assert_int_equal(err.code, SW_EUNPROCESSABLE);
    assert_string_equal(err.msg, "could not create the server's disk: its node's storage is full");
    assert_string_equal(out.domain_state, SW_DOMAIN_ABSENT);
    assert_vols(t, id, "");
}

/* Declared pools, in order: one the node lacks (not dir: the engine never
 * makes it) is passed over, a dir pool is made where the operator put it;
 * terminate still cleans up. */
static void test_declared_pools(void **state)
{
    struct sw_testnode *t = *state;
    const char *id = server_ids[SW_KIND_PV];
    struct sw_engine_pool pools[2] = {
        {.name = "vg0", .type = "logical", .path = "vg0", .fill_threshold = 90},
        {.name = "fast", .type = "dir", .fill_threshold = 90},
    };
    snprintf(pools[1].path, sizeof pools[1].path, "%s/pools/fast", t->dir);
    t->eng.pools = pools;
    t->eng.npools = 2;
    struct sw_msg_node_job job;
    struct sw_engine_outcome out;
    sw_testnode_job(&job, SW_KIND_PV, SW_JOB_CREATE, id);
    run_ok(t, &job, &out);
    assert_int_equal(out.ndisks, 2);
    assert_string_equal(out.disks[0].pool, "fast");
    assert_string_equal(out.disks[1].pool, "fast"); /* the seed beside its root */
    virStoragePoolPtr fast = virStoragePoolLookupByName(t->conn, "fast");
    assert_non_null(fast);
    assert_int_equal(virStoragePoolIsActive(fast), 1);
    char *xml = virStoragePoolGetXMLDesc(fast, 0);
    assert_non_null(strstr(xml, "/pools/fast</path>"));
    free(xml);
    virStoragePoolFree(fast);
    assert_null(virStoragePoolLookupByName(t->conn, "vg0")); /* never made */
    virResetLastError();
    ok(t, SW_KIND_PV, SW_JOB_TERMINATE, SW_DOMAIN_ABSENT, false);
    fast = virStoragePoolLookupByName(t->conn, "fast");
    assert_int_equal(virStoragePoolNumOfVolumes(fast), 0);
    virStoragePoolFree(fast);
    t->eng.pools = NULL;
    t->eng.npools = 0;
}

/* Resize grows the root volume, never shrinks it; the test driver cannot
 * resize volumes, and the note says the disk was not grown. */
static void test_resize_disk(void **state)
{
    struct sw_testnode *t = *state;
    const char *id = server_ids[SW_KIND_HVM];
    ok(t, SW_KIND_HVM, SW_JOB_CREATE, SW_DOMAIN_RUNNING, true);
    struct sw_msg_node_job job;
    struct sw_engine_outcome out;
    sw_testnode_job(&job, SW_KIND_HVM, SW_JOB_RESIZE, id);
    job.disk_gb = 40;
    run_ok(t, &job, &out);
    assert_string_equal(out.note, "memory and vcpus applied live; disk not grown: the node's "
                                  "storage cannot resize volumes");
    assert_int_equal(out.ndisks, 2); /* the root, and the seed it keeps */
    assert_int_equal(out.disks[0].capacity, 20LL << 30); /* what it really is */
    ok(t, SW_KIND_HVM, SW_JOB_STOP, SW_DOMAIN_STOPPED, false);
    run_ok(t, &job, &out);
    assert_string_equal(out.note, "memory and vcpus apply at next boot; disk not grown: the "
                                  "node's storage cannot resize volumes");
    job.disk_gb = 10;
    run_ok(t, &job, &out);
    assert_string_equal(out.note,
                        "memory and vcpus apply at next boot; disk kept at 20 GB (it never shrinks)");
    assert_vols(t, id, "root-0.qcow2 seed.iso");
    ok(t, SW_KIND_HVM, SW_JOB_TERMINATE, SW_DOMAIN_ABSENT, false);
}

/* No guest agent on the test driver, no volume download for a stopped
 * container: a clear, final refusal. */
static void test_reset_password(void **state)
{
    struct sw_testnode *t = *state;
    for (int kind = 0; kind < SW_KIND__COUNT; kind++) {
        ok(t, kind, SW_JOB_CREATE, SW_DOMAIN_RUNNING, true);
        struct sw_engine_outcome out;
        struct sw_err err;
        assert_int_equal(run(t, kind, SW_JOB_RESET_PASSWORD, server_ids[kind], &out, &err), -1);
        assert_int_equal(err.code, SW_EUNSUPPORTED);
        assert_false(err.retryable);
        assert_string_equal(err.msg,
                            kind == SW_KIND_CONTAINER
                                ? "could not reset the password: stop the container to reset its "
                                  "password (a running container has no guest agent, and its "
                                  "root filesystem is mounted)"
                                : "password reset needs the guest agent, which this server does "
                                  "not run");
        assert_null(strstr(err.detail, "$6$"));
        assert_string_equal(out.domain_state, SW_DOMAIN_RUNNING);
        if (kind == SW_KIND_CONTAINER) {
            /* stopped: written offline, which the test driver's storage cannot */
            ok(t, kind, SW_JOB_STOP, SW_DOMAIN_STOPPED, false);
            assert_int_equal(run(t, kind, SW_JOB_RESET_PASSWORD, server_ids[kind], &out, &err),
                             -1);
            assert_int_equal(err.code, SW_EUNSUPPORTED);
            assert_true(strncmp(err.msg, "could not reset the password: ", 30) == 0);
            assert_null(strstr(err.detail, "$6$"));
        }
        /* not a crypt(3) hash */
        struct sw_msg_node_job job;
        sw_testnode_job(&job, kind, SW_JOB_RESET_PASSWORD, server_ids[kind]);
        snprintf(job.password_hash, sizeof job.password_hash, "hunter2");
        sw_err_clear(&err);
        assert_int_equal(sw_engine_run(&t->eng, &job, &out, &err), -1);
        assert_int_equal(err.code, SW_EINVALID);
        assert_null(strstr(err.msg, "hunter2"));
        ok(t, kind, SW_JOB_TERMINATE, SW_DOMAIN_ABSENT, false);
    }
}

struct fake_ledger {
    int calls;
    int64_t max_ram_mb; /* what still fits */
};

static int fake_admit(void *ctx, const struct sw_msg_node_job *job, struct sw_err *err)
{
    struct fake_ledger *l = ctx;
    l->calls++;
    if (job->max_ram_mb <= l->max_ram_mb)
        return 0;
    SW_ERR(err, SW_EUNPROCESSABLE, "its node cannot hold it without breaking a guarantee");
    return -1;
}

/* The ledger is asked before anything is defined, and only then. */
static void test_admit(void **state)
{
    struct sw_testnode *t = *state;
    struct fake_ledger l = {0, 2048};
    t->eng.admit = fake_admit;
    t->eng.admit_ctx = &l;
    const char *id = server_ids[SW_KIND_HVM];
    struct sw_msg_node_job job;
    struct sw_engine_outcome out;
    struct sw_err err;

    sw_testnode_job(&job, SW_KIND_HVM, SW_JOB_CREATE, id);
    job.max_ram_mb = 4096;
    sw_err_clear(&err);
    assert_int_equal(sw_engine_run(&t->eng, &job, &out, &err), -1);
    assert_int_equal(err.code, SW_EUNPROCESSABLE);
    assert_false(err.retryable);
    assert_string_equal(err.msg,
                        "could not create the server: its node cannot hold it without breaking "
                        "a guarantee");
    assert_string_equal(out.domain_state, SW_DOMAIN_ABSENT);
    assert_int_equal(l.calls, 1);

    ok(t, SW_KIND_HVM, SW_JOB_CREATE, SW_DOMAIN_RUNNING, true);
    assert_int_equal(l.calls, 2);
    ok(t, SW_KIND_HVM, SW_JOB_CREATE, SW_DOMAIN_RUNNING, false); /* exists: no check */
    assert_int_equal(l.calls, 2);

    sw_testnode_job(&job, SW_KIND_HVM, SW_JOB_RESIZE, id);
    job.ram_mb = 512;
    run_ok(t, &job, &out); /* shrinking: no check */
    assert_int_equal(l.calls, 2);
    job.max_ram_mb = 8192; /* growing past what fits: refused, config unchanged */
    sw_err_clear(&err);
    assert_int_equal(sw_engine_run(&t->eng, &job, &out, &err), -1);
    assert_int_equal(err.code, SW_EUNPROCESSABLE);
    assert_int_equal(l.calls, 3);
    long long vcpus, max_kib, ram_mb;
    config_sizes(t, id, &vcpus, &max_kib, &ram_mb);
    assert_int_equal(max_kib, 2048 * 1024);
    assert_int_equal(ram_mb, 512);

    sw_testnode_job(&job, SW_KIND_HVM, SW_JOB_REINSTALL, id);
    run_ok(t, &job, &out);
    assert_int_equal(l.calls, 4);
    t->eng.admit = NULL;
    ok(t, SW_KIND_HVM, SW_JOB_TERMINATE, SW_DOMAIN_ABSENT, false);
}

/* SLIPWAY_DOMAIN_TYPE: either of the QEMU driver's two types, nothing else;
 * unset, the probe (here the test driver, which has no fallback). */
static void test_domain_type_chosen(void **state)
{
    (void)state;
    struct sw_err err = {0};
    const struct sw_hypervisor *q = sw_hypervisor_from_uri("qemu:///system", &err);
    assert_non_null(q);
    assert_string_equal(sw_virt_domain_type_chosen(NULL, q, "qemu", &err), "qemu");
    assert_string_equal(sw_virt_domain_type_chosen(NULL, q, "kvm", &err), "kvm");
    assert_null(sw_virt_domain_type_chosen(NULL, q, "xen", &err));
    assert_int_equal(err.code, SW_EINVALID);
    const struct sw_hypervisor *t = sw_hypervisor_from_uri("test:///default", &err);
    assert_non_null(t);
    assert_null(sw_virt_domain_type_chosen(NULL, t, "qemu", &err));
    assert_string_equal(sw_virt_domain_type_chosen(NULL, t, NULL, &err), "test");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_domain_type_chosen),
        SW_TESTNODE_TEST(test_container),
        SW_TESTNODE_TEST(test_pv),
        SW_TESTNODE_TEST(test_hvm),
        SW_TESTNODE_TEST(test_all_kinds_together),
        SW_TESTNODE_TEST(test_hostile_hostname),
        SW_TESTNODE_TEST(test_name_taken),
        SW_TESTNODE_TEST(test_resize_hvm),
        SW_TESTNODE_TEST(test_resize_pv),
        SW_TESTNODE_TEST(test_resize_container),
        SW_TESTNODE_TEST(test_reinstall),
        SW_TESTNODE_TEST(test_volumes),
        SW_TESTNODE_TEST(test_pool_full),
        SW_TESTNODE_TEST(test_seed_failure_leaves_nothing),
        SW_TESTNODE_TEST(test_own_kernel),
        SW_TESTNODE_TEST(test_resize_disk),
        SW_TESTNODE_TEST(test_declared_pools),
        SW_TESTNODE_TEST(test_reset_password),
        SW_TESTNODE_TEST(test_admit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
