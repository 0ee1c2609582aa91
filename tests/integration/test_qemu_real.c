/* test_qemu_real URI STATE_DIR SERVER_ID - the hvm driver against a real
 * libvirtd with QEMU, run by tests/integration/qemu_real.sh (which starts
 * the daemon; the engine makes the dir pool under STATE_DIR/pools/ and the
 * server's root volume in it): create (a qcow2 volume in the pool, the
 * domain booting from it), a disk grown live, a reinstall onto a new volume,
 * stats (real cpu time, balloon stats), a balloon target set and observed,
 * a live resize, reset_password without an agent in the guest, stop (the
 * usage sampler still bills the stopped server's disk: its volumes' real
 * allocation), terminate. Prints "ok - ..." / "FAIL - ..." lines and "N passed, M
 * failed"; exit 0 when all passed. */
#include "config.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"
#include "engines/domdef.h"
#include "engines/domxml.h"
#include "engines/driver.h"
#include "engines/nwfilter.h"
#include "engines/stats.h"
#include "engines/usage.h"
#include "engines/virt.h"

#include <libvirt/virterror.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int passed, failed;

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    static double t0 = -1;
    double now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    if (t0 < 0)
        t0 = now;
    printf("%s - [%5.1f s] ", ok ? "ok" : "FAIL", now - t0);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
    if (ok)
        passed++;
    else
        failed++;
}

static struct sw_msg_node_job job_of(const char *id, int type)
{
    struct sw_msg_node_job j;
    memset(&j, 0, sizeof j);
    snprintf(j.job_id, sizeof j.job_id, "10000000-0000-4000-8000-%012d", type);
    snprintf(j.server_id, sizeof j.server_id, "%s", id);
    j.type = type;
    j.kind = SW_KIND_HVM;
    j.vcpus = 1;
    j.ram_mb = 128;
    j.max_ram_mb = 256;
    j.disk_gb = 1;
    snprintf(j.hostname, sizeof j.hostname, "qemu-real.example.com");
    snprintf(j.os, sizeof j.os, "debian-12");
    snprintf(j.ipv4, sizeof j.ipv4, "192.0.2.77");
    snprintf(j.ipv6, sizeof j.ipv6, "2001:db8:77::");
    return j;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the server's volumes in the pool "slipway", sorted, joined
 * by spaces, without the "sw-<id>-" prefix. */
static void vols_of(virConnectPtr conn, const char *id, char *out, size_t n)
{
    out[0] = '\0';
    virStoragePoolPtr pool = virStoragePoolLookupByName(conn, "slipway");
    if (!pool)
        return;
    virStoragePoolRefresh(pool, 0);
    char *names[16];
    int k = virStoragePoolListVolumes(pool, names, 16);
    if (k > 0)
        qsort(names, (size_t)k, sizeof names[0], by_name);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "sw-%s-", id);
    for (int i = 0; i < k; i++) {
        if (strncmp(names[i], prefix, strlen(prefix)) == 0)
            snprintf(out + strlen(out), n - strlen(out), "%s%s", out[0] ? " " : "",
                     names[i] + strlen(prefix));
        free(names[i]);
    }
    virStoragePoolFree(pool);
}

/* The capacity of a volume of the pool "slipway" in bytes, or -1. */
/* The allocation of every volume of server id in pool "slipway". */
static long long vols_allocation(virConnectPtr conn, const char *id)
{
    virStoragePoolPtr pool = virStoragePoolLookupByName(conn, "slipway");
    virStorageVolPtr *v = NULL;
    int n = pool ? virStoragePoolListAllVolumes(pool, &v, 0) : -1;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "sw-%s-", id);
    long long sum = 0;
    for (int i = 0; i < n; i++) {
        virStorageVolInfo info;
        if (strncmp(virStorageVolGetName(v[i]), prefix, strlen(prefix)) == 0 &&
            virStorageVolGetInfo(v[i], &info) == 0)
            sum += (long long)info.allocation;
        virStorageVolFree(v[i]);
    }
    free(v);
    if (pool)
        virStoragePoolFree(pool);
    return n < 0 ? -1 : sum;
}

/* What one sampler tick (engines/usage.h) reads of server id with held
 * (or not) placed on the node: its reading, or active -1 when it is not
 * sampled. */
static void sampled(struct sw_engine *eng, const char *id, bool held, int *active,
                    struct sw_usage_reading *got)
{
    struct sw_err err;
    sw_err_clear(&err);
    struct sw_usage_reading *r = NULL;
    size_t n = 0;
    struct sw_usage_disks d = {0};
    *active = -1;
    memset(got, 0, sizeof *got);
    if (sw_usage_read_all(eng->conn, &r, &n, &err) < 0 || sw_usage_read_disks(eng, &d, &err) < 0) {
        printf("# usage: %s (%s)\n", err.msg, err.detail);
        free(r);
        return;
    }
    sw_uuid_t ids[1];
    snprintf(ids[0], sizeof ids[0], "%s", id);
    n = sw_usage_select(&r, n, &d, held ? ids : NULL, held ? 1 : 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(r[i].server_id, id) == 0) {
            *got = r[i];
            *active = r[i].active;
        }
    sw_usage_disks_release(&d);
    free(r);
}

static long long vol_capacity(virConnectPtr conn, const char *name)
{
    virStoragePoolPtr pool = virStoragePoolLookupByName(conn, "slipway");
    virStorageVolPtr vol = pool ? virStorageVolLookupByName(pool, name) : NULL;
    virStorageVolInfo info;
    long long cap = vol && virStorageVolGetInfo(vol, &info) == 0 ? (long long)info.capacity : -1;
    if (vol)
        virStorageVolFree(vol);
    if (pool)
        virStoragePoolFree(pool);
    return cap;
}

/* The value of filterref parameter name in xml after from, or "" (the
 * first one; each later call with the returned position finds the next). */
static const char *param_after(const char *xml, const char *name, char out[64])
{
    char key[64];
    snprintf(key, sizeof key, "<parameter name='%s' value='", name);
    out[0] = '\0';
    const char *p = strstr(xml, key);
    if (!p)
        return NULL;
    p += strlen(key);
    size_t n = strcspn(p, "'");
    snprintf(out, 64, "%.*s", (int)(n < 63 ? n : 63), p);
    return p + n;
}

/* The bridge rules libvirt made for the NIC's outgoing IPv6 (ebtables in
 * libvirtd's network namespace, SW_LIBVIRTD_PID): printed, and checked to
 * let the guest's /64, link-local and :: through and drop the rest. */
static void ebtables_ipv6(const char *dev, const char *ipv6)
{
    const char *pid = getenv("SW_LIBVIRTD_PID");
    if (!pid)
        return;
    char cmd[256], line[256], all[2048] = "";
    snprintf(cmd, sizeof cmd, "nsenter -t %s -n ebtables -t nat -L I-%s-ipv6-ip 2>&1", pid, dev);
    FILE *f = popen(cmd, "r");
    size_t len = 0;
    while (f && fgets(line, sizeof line, f) && len < sizeof all - 1) {
        printf("#   %s", line);
        len += (size_t)snprintf(all + len, sizeof all - len, "%s", line);
    }
    if (f)
        pclose(f);
    char want[96];
    snprintf(want, sizeof want, "--ip6-src %s/64 -j RETURN", ipv6);
    check(strstr(all, want) && strstr(all, "--ip6-src fe80::/10") && strstr(all, "\n-j DROP"),
          "the bridge passes IPv6 from the server's /64 and link-local only, and drops the rest");
}

/* What libvirt holds the guest's NIC to: the live domain XML's filterref
 * and the nwfilter binding on the NIC's port (target dev). Writes the
 * binding's MAC and IP parameters into "MAC ip ip ..." in got[256];
 * 0 when the live XML and the binding agree, else -1. */
static int nic_filter(virConnectPtr conn, virDomainPtr dom, char got[256])
{
    got[0] = '\0';
    char *live = virDomainGetXMLDesc(dom, 0);
    char dev[1][64];
    if (!live || sw_domxml_targets(live, "interface", dev, 1) != 1) {
        free(live);
        return -1;
    }
    virNWFilterBindingPtr b = virNWFilterBindingLookupByPortDev(conn, dev[0]);
    char *bx = b ? virNWFilterBindingGetXMLDesc(b, 0) : NULL;
    printf("# NIC %s: nwfilter binding %s\n", dev[0], bx ? "found" : "missing");
    int rc = bx && strstr(live, "<filterref filter='slipway-guest'>") &&
                     strstr(bx, "<filterref filter='slipway-guest'>")
                 ? 0
                 : -1;
    char v[64];
    size_t len = 0;
    param_after(bx ? bx : "", "MAC", v);
    len += (size_t)snprintf(got + len, 256 - len, "%s", v);
    for (const char *p = bx ? bx : ""; (p = param_after(p, "IP", v)) != NULL && len < 256;)
        len += (size_t)snprintf(got + len, 256 - len, " %s", v);
    char pfx[64];
    param_after(bx ? bx : "", "IPV6", v);
    param_after(bx ? bx : "", "IPV6_PREFIX", pfx);
    if (len < 256)
        snprintf(got + len, 256 - len, " %s/%s", v, pfx);
    ebtables_ipv6(dev[0], v);
    if (b)
        virNWFilterBindingFree(b);
    free(bx);
    free(live);
    return rc;
}

static int run(struct sw_engine *eng, struct sw_msg_node_job *j, struct sw_engine_outcome *out,
               struct sw_err *err)
{
    sw_err_clear(err);
    int rc = sw_engine_run(eng, j, out, err);
    if (rc < 0)
        printf("# %s: %s (%s)\n", sw_job_type_name(j->type), err->msg, err->detail);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: test_qemu_real URI STATE_DIR SERVER_ID\n");
        return 2;
    }
    sw_log_init("test", "warn");
    struct sw_err err;
    sw_err_clear(&err);
    if (sw_virt_init(&err) < 0)
        return 2;
    virConnectPtr conn = sw_virt_open(argv[1], &err);
    if (!conn) {
        printf("# %s: %s\n", err.msg, err.detail);
        return 2;
    }
    struct sw_engine eng;
    memset(&eng, 0, sizeof eng);
    eng.conn = conn;
    eng.hv = sw_hypervisor_from_uri(argv[1], &err);
    eng.domain_type = sw_virt_domain_type(conn, eng.hv);
    eng.templates_dir = SW_TEST_SRCDIR "/templates";
    bool filtered = false;
    int frc = sw_nwfilter_define(conn, eng.templates_dir, &filtered, &err);
    check(frc == 0 && filtered, "the engine defines slipway's guest filters on the node (%s)",
          frc == 0 ? "ok" : err.detail);
    eng.state_dir = argv[2];
    eng.stop_timeout_ms = 3000;
    const char *id = argv[3];
    printf("# domain type: %s (kvm preferred, qemu/TCG where KVM cannot run)\n",
           eng.domain_type);
    check(strcmp(eng.domain_type, "kvm") == 0 || strcmp(eng.domain_type, "qemu") == 0,
          "the hvm template's domain type is chosen by probing: %s", eng.domain_type);

    struct sw_engine_outcome out;
    struct sw_msg_node_job j = job_of(id, SW_JOB_CREATE);
    int rc = run(&eng, &j, &out, &err);
    check(rc == 0 && out.booted && strcmp(out.domain_state, "running") == 0,
          "create defines hvm-qemu.xml and boots it (state %s)", out.domain_state);
    if (rc < 0)
        goto end;
    rc = run(&eng, &j, &out, &err);
    check(rc == 0 && !out.booted, "a replayed create finds the running domain");
    char vols[512], vname[128];
    vols_of(conn, id, vols, sizeof vols);
    snprintf(vname, sizeof vname, "sw-%s-root-0.qcow2", id);
    check(strcmp(vols, "root-0.qcow2 seed.iso") == 0 && out.ndisks == 2 &&
              vol_capacity(conn, vname) == 1LL << 30,
          "its root is one 1 GiB qcow2 volume in the dir pool \"slipway\" the engine made, beside "
          "its NoCloud seed (\"%s\", no second after the replay)",
          vols);

    virDomainPtr dom = virDomainLookupByUUIDString(conn, id);
    char *live = virDomainGetXMLDesc(dom, 0);
    check(live && strstr(live, "<source pool='slipway' volume='") && strstr(live, vname),
          "the running domain's disk is that volume (<disk type='volume'>)");
    free(live);
    char mac[18], want[256], got[256];
    sw_domdef_mac(id, mac);
    snprintf(want, sizeof want, "%s 192.0.2.77 2001:db8:77::/64", mac);
    rc = nic_filter(conn, dom, got);
    check(rc == 0 && strcmp(got, want) == 0,
          "libvirt holds the live NIC to slipway-guest with its MAC and addresses: \"%s\"", got);
    virDomainInfo a, b;
    virDomainGetInfo(dom, &a);
    sleep(2);
    virDomainGetInfo(dom, &b);
    printf("# cpu time %llu ns -> %llu ns over 2 s\n", a.cpuTime, b.cpuTime);
    check(b.cpuTime > a.cpuTime && a.cpuTime > 0, "real cpu time advances (%.3f s used)",
          (double)b.cpuTime / 1e9);

    /* Balloon stats through the engine's libvirt stats source. */
    struct sw_stats_source src;
    sw_stats_open("libvirt", conn, &src, &err);
    struct sw_stats_host h;
    struct sw_stats_guest *g = NULL;
    size_t n = 0;
    rc = src.ops->sample(src.self, &h, &g, &n, &err);
    check(rc == 0 && n == 1 && g[0].min_mb == 128 && g[0].max_mb == 256 && g[0].current_mb > 0,
          "the libvirt stats source sees it: guarantee %lld, ceiling %lld, balloon %lld MiB, "
          "stats %s; host %lld MiB, other use %lld MiB",
          n ? (long long)g[0].min_mb : -1LL, n ? (long long)g[0].max_mb : -1LL,
          n ? (long long)g[0].current_mb : -1LL, n && g[0].fresh ? "fresh" : "stale (no guest driver)",
          (long long)h.ram_mb, (long long)h.other_used_mb);
    virDomainStatsRecordPtr *recs = NULL;
    virDomainPtr list[2] = {dom, NULL};
    int k = virDomainListGetStats(list, VIR_DOMAIN_STATS_BALLOON, &recs, 0);
    int have_balloon = 0;
    for (int i = 0; k > 0 && i < recs[0]->nparams; i++) {
        if (strcmp(recs[0]->params[i].field, "balloon.current") == 0 ||
            strcmp(recs[0]->params[i].field, "balloon.maximum") == 0) {
            have_balloon++;
            printf("# %s = %llu KiB\n", recs[0]->params[i].field, recs[0]->params[i].value.ul);
        }
    }
    virDomainStatsRecordListFree(recs);
    check(have_balloon == 2, "virtio balloon stats are reported (balloon.current, .maximum)");

    if (n == 1) {
        /* The guest runs no OS, so no balloon driver inflates the balloon:
         * QEMU takes the target, and the actual size (balloon.current)
         * stays where it was. What is observed is QEMU accepting it and
         * the stats source reading the guest back. */
        rc = src.ops->apply(src.self, &g[0], 200, &err);
        if (rc < 0)
            printf("# apply: %s (%s)\n", err.msg, err.detail);
        free(g);
        g = NULL;
        n = 0;
        int rc2 = src.ops->sample(src.self, &h, &g, &n, &err);
        check(rc == 0 && rc2 == 0 && n == 1,
              "a balloon target of 200 MiB is accepted by QEMU (SetMemoryFlags(LIVE)); the "
              "balloon stays at %lld MiB: no guest driver to inflate it",
              n ? (long long)g[0].current_mb : -1LL);
    }
    free(g);
    sw_stats_close(&src);

    /* The IPAM record changed (an address replaced): the next job carries
     * it, its re-definition takes it, the next boot applies it. */
    j = job_of(id, SW_JOB_RESIZE);
    snprintf(j.ipv4, sizeof j.ipv4, "192.0.2.78");
    snprintf(j.ipv6, sizeof j.ipv6, "2001:db8:78::");
    j.ram_mb = 160;
    rc = run(&eng, &j, &out, &err);
    check(rc == 0 && strcmp(out.note, "memory and vcpus applied live") == 0,
          "resize within the ceiling applies live: \"%s\"", out.note);
    j.max_ram_mb = 512;
    rc = run(&eng, &j, &out, &err);
    check(rc == 0 && strcmp(out.note, "vcpus applied live; memory applies at next boot") == 0,
          "resize past the live ceiling waits for the boot: \"%s\"", out.note);
    j.disk_gb = 2;
    rc = run(&eng, &j, &out, &err);
    check(rc == 0 && strstr(out.note, "disk grown to 2 GB") && vol_capacity(conn, vname) == 2LL << 30,
          "a bigger disk grows the running guest's volume (virDomainBlockResize): \"%s\", %lld bytes",
          out.note, vol_capacity(conn, vname));

    j = job_of(id, SW_JOB_RESET_PASSWORD);
    snprintf(j.password_hash, sizeof j.password_hash, "$6$qemureal$0123456789abcdefABCDEF");
    rc = run(&eng, &j, &out, &err);
    check(rc < 0 && err.code == SW_EUNAVAILABLE && err.retryable &&
              !strstr(err.detail, "$6$qemureal"),
          "reset_password reaches for the guest agent (none runs in this guest): %s, "
          "retryable, hash not in the detail", sw_errc_name(err.code));

    j = job_of(id, SW_JOB_STOP);
    rc = run(&eng, &j, &out, &err);
    check(rc == 0 && strcmp(out.domain_state, "stopped") == 0,
          "stop: ACPI shutdown ignored by a guest that boots nothing, destroyed after the "
          "timeout (state %s)",
          out.domain_state);
    /* The stopped server holds its disk: a tick samples it with its
     * volumes' real allocation and nothing else, while it is placed here. */
    int active;
    struct sw_usage_reading u;
    sampled(&eng, id, true, &active, &u);
    long long alloc = vols_allocation(conn, id);
    printf("# stopped: disk_bytes %lld, volumes' allocation %lld\n", (long long)u.c.disk_bytes,
           alloc);
    check(active == 0 && u.c.disk_bytes > 0 && u.c.disk_bytes == alloc && u.c.cpu_ns == 0 &&
              u.c.mem_kib == 0 && u.c.mem_max_kib == 0,
          "the usage sampler reads the stopped server (domain shut off): disk_bytes %lld = its "
          "volumes' allocation, cpu and memory 0",
          (long long)u.c.disk_bytes);
    sampled(&eng, id, false, &active, &u);
    check(active == -1, "and does not sample it when the control plane does not place it here");
    j = job_of(id, SW_JOB_START);
    rc = run(&eng, &j, &out, &err);
    sampled(&eng, id, false, &active, &u);
    check(active == 1 && u.c.mem_kib > 0 && u.c.disk_bytes > 0,
          "started, it is sampled as running (memory %lld KiB, disk %lld bytes)",
          (long long)u.c.mem_kib, (long long)u.c.disk_bytes);
    virDomainGetInfo(dom, &a);
    check(rc == 0 && out.booted && a.maxMem == 512 * 1024,
          "start boots it with the resized ceiling (%lu KiB)", a.maxMem);
    snprintf(want, sizeof want, "%s 192.0.2.78 2001:db8:78::/64", mac);
    rc = nic_filter(conn, dom, got);
    check(rc == 0 && strcmp(got, want) == 0,
          "and with the address its last job carried: \"%s\"", got);
    virDomainFree(dom);

    j = job_of(id, SW_JOB_REINSTALL);
    j.disk_gb = 2;
    rc = run(&eng, &j, &out, &err);
    vols_of(conn, id, vols, sizeof vols);
    char fresh[128];
    snprintf(fresh, sizeof fresh, "root-%s.qcow2 seed.iso", j.job_id);
    check(rc == 0 && out.booted && strcmp(vols, fresh) == 0,
          "reinstall boots from a new volume named from its job, the old one deleted: \"%s\"%s%s",
          vols, rc < 0 ? " " : "", rc < 0 ? err.detail : "");

end:
    j = job_of(id, SW_JOB_TERMINATE);
    rc = run(&eng, &j, &out, &err);
    check(rc == 0 && strcmp(out.domain_state, "absent") == 0, "terminate: destroyed and "
                                                              "undefined (state %s)",
          out.domain_state);
    vols_of(conn, id, vols, sizeof vols);
    check(rc == 0 && vols[0] == '\0', "and its volumes deleted: the pool holds none of it (\"%s\")",
          vols);
    virConnectClose(conn);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
