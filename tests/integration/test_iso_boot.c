/* test_iso_boot URI STATE_DIR TEMPLATES_DIR PANEL_URL TOKEN ISO_SHA256
 * ISO_BYTES SERVER_ID - an ISO install through the engine on a real
 * libvirtd, run by tests/integration/iso_boot.sh (which starts the daemon,
 * an HTTP server standing in for the panel's node image route, and copies
 * the templates with the serial console logged to STATE_DIR/console.log).
 *
 * An hvm server with a blank disk and tests/images' boot.iso mounted,
 * booting the cdrom: its create (sw_engine_run) fetches the ISO into the
 * dir pool (engines/image.c), defines the domain from hvm-qemu.xml's
 * {{iso}} section and boot lines, and boots it; the console must show
 * ISOLINUX and the guest's init. Then, with the guest running: eject_iso
 * empties the tray live, mount_iso (boot disk) puts the ISO back live,
 * set_boot cdrom changes only the persistent boot order, a stop and start
 * boots the ISO again, terminate leaves the ISO volume and no volume of the
 * server. Prints "ok - ..." / "FAIL - ..." lines and "N passed, M failed". */
#include "config.h"
#include "tests/lib/bootorder.h"
#include "engines/driver.h"
#include "engines/image.h"
#include "engines/kind.h"
#include "engines/nwfilter.h"
#include "engines/virt.h"
#include "core/alloc.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"

#include <stdarg.h>
#include <stdbool.h>
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
    printf("%s - ", ok ? "ok" : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
    if (ok)
        passed++;
    else
        failed++;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *server_id, *iso_sha, *console_log;
static long long iso_bytes;

static void job_of(struct sw_msg_node_job *j, int type, const char *boot, bool iso)
{
    memset(j, 0, sizeof *j);
    snprintf(j->job_id, sizeof j->job_id, "%s", "10000000-0000-4000-8000-0000000000a1");
    snprintf(j->server_id, sizeof j->server_id, "%s", server_id);
    snprintf(j->node_id, sizeof j->node_id, "%s", "00000000-0000-4000-8000-00000000000a");
    j->type = type;
    j->kind = SW_KIND_HVM;
    j->vcpus = 1;
    j->ram_mb = 256;
    j->max_ram_mb = 256;
    j->disk_gb = 1;
    snprintf(j->hostname, sizeof j->hostname, "iso-install.example");
    snprintf(j->os, sizeof j->os, "blank");
    snprintf(j->ipv4, sizeof j->ipv4, "192.0.2.9");
    if (iso) {
        snprintf(j->iso_sha256, sizeof j->iso_sha256, "%s", iso_sha);
        j->iso_bytes = iso_bytes;
    }
    snprintf(j->boot, sizeof j->boot, "%s", boot);
}

static int run(struct sw_engine *eng, int type, const char *boot, bool iso,
               struct sw_engine_outcome *out)
{
    struct sw_msg_node_job j;
    job_of(&j, type, boot, iso);
    struct sw_err err;
    sw_err_clear(&err);
    double t = now();
    int rc = sw_engine_run(eng, &j, out, &err);
    check(rc == 0, "%s (boot %s): %s in %.2f s%s%s", sw_job_type_name(type), boot,
          rc == 0 ? "ok" : err.msg, now() - t, rc == 0 ? "" : " ", rc == 0 ? "" : err.detail);
    return rc;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = sw_calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Waits up to limit s for needle on the console; the seconds it took, or -1. */
static double wait_console(const char *needle, double since, double limit)
{
    while (now() - since < limit) {
        char *c = slurp(console_log);
        bool seen = c && strstr(c, needle);
        free(c);
        if (seen)
            return now() - since;
        usleep(100 * 1000);
    }
    return -1;
}

/* The <disk> of xml whose target is hdd: its text (owned), or NULL. */
static char *hdd_of(const char *xml)
{
    for (const char *p = strstr(xml, "<disk "); p; p = strstr(p + 1, "<disk ")) {
        const char *end = strstr(p, "</disk>");
        const char *t = strstr(p, "<target dev='hdd'");
        if (end && t && t < end)
            return sw_asprintf("%.*s", (int)(end - p), p);
    }
    return NULL;
}

static char *xml_of(virDomainPtr dom, unsigned flags)
{
    char *x = virDomainGetXMLDesc(dom, flags);
    return x ? x : sw_asprintf("%s", "");
}

/* The persistent definition boots the cdrom first (or only the disk). */
static bool boots_cdrom(const char *xml)
{
    return sw_test_boot_order(xml, "hdd") == 1 && sw_test_boot_order(xml, "vda") == 2;
}

static void check_create(struct sw_engine *eng, virDomainPtr *dom)
{
    struct sw_engine_outcome out;
    double t0 = now();
    if (run(eng, SW_JOB_CREATE, "cdrom", true, &out) < 0)
        return;
    check(strcmp(out.domain_state, SW_DOMAIN_RUNNING) == 0 && out.booted,
          "create: the domain runs (%s)", out.domain_state);
    char vol[128];
    snprintf(vol, sizeof vol, "img-%s.iso", iso_sha);
    virStoragePoolPtr pool = virStoragePoolLookupByName(eng->conn, "slipway");
    virStorageVolPtr v = pool ? virStorageVolLookupByName(pool, vol) : NULL;
    unsigned long long cap = 0;
    virStorageVolInfo info;
    if (v && virStorageVolGetInfo(v, &info) == 0)
        cap = info.capacity;
    check(v != NULL && cap == (unsigned long long)iso_bytes,
          "the ISO was fetched into the pool as %s (%llu bytes)", vol, cap);
    if (v)
        virStorageVolFree(v);
    if (pool)
        virStoragePoolFree(pool);
    *dom = virDomainLookupByUUIDString(eng->conn, server_id);
    char *conf = *dom ? xml_of(*dom, VIR_DOMAIN_XML_INACTIVE) : sw_asprintf("%s", "");
    char *cd = hdd_of(conf);
    check(cd && strstr(cd, vol) && strstr(cd, "<readonly/>") && strstr(cd, "bus='ide'"),
          "the definition has the ISO as a read-only IDE cdrom hdd");
    check(boots_cdrom(conf), "the definition boots the cdrom, then the disk");
    free(cd);
    free(conf);
    double isolinux = wait_console("ISOLINUX", t0, 240);
    double ready = wait_console("SLIPWAY-GUEST: ready", t0, 240);
    check(isolinux > 0, "the console shows the ISO's boot loader (ISOLINUX) %.1f s after the create",
          isolinux);
    check(ready > 0, "the guest booted from the ISO printed ready %.1f s after the create", ready);
    printf("# ISO boot: ISOLINUX after %.1f s, the guest ready after %.1f s (TCG)\n", isolinux,
           ready);
}

static void check_live(struct sw_engine *eng, virDomainPtr dom)
{
    struct sw_engine_outcome out;
    if (run(eng, SW_JOB_EJECT_ISO, "disk", false, &out) == 0)
        check(strcmp(out.note, "ISO ejected live; boots from the disk at next boot") == 0,
              "eject_iso note: %s", out.note);
    char *live = xml_of(dom, 0), *conf = xml_of(dom, VIR_DOMAIN_XML_INACTIVE);
    char *cd = hdd_of(live);
    /* an empty drive keeps a <source index='N'/> without a file or volume */
    check(cd && !strstr(cd, iso_sha) && !strstr(cd, "file=") && !strstr(cd, "volume="),
          "the running guest's cdrom is empty: %s", cd ? cd : "(none)");
    char *none = hdd_of(conf);
    check(!none && !boots_cdrom(conf), "the definition has no cdrom and boots the disk");
    free(none);
    free(cd);
    free(live);
    free(conf);
    if (run(eng, SW_JOB_MOUNT_ISO, "disk", true, &out) == 0)
        check(strcmp(out.note, "ISO mounted live; boots from the disk at next boot") == 0,
              "mount_iso note: %s", out.note);
    live = xml_of(dom, 0);
    conf = xml_of(dom, VIR_DOMAIN_XML_INACTIVE);
    cd = hdd_of(live);
    check(cd && strstr(cd, iso_sha), "the running guest has the ISO in its cdrom again");
    check(!boots_cdrom(conf), "the definition keeps booting the disk");
    free(cd);
    free(live);
    free(conf);
    if (run(eng, SW_JOB_SET_BOOT, "cdrom", true, &out) == 0)
        check(strcmp(out.note, "ISO mounted live; boots from the ISO, then the disk at next boot") ==
                  0,
              "set_boot note: %s", out.note);
    conf = xml_of(dom, VIR_DOMAIN_XML_INACTIVE);
    check(boots_cdrom(conf), "set_boot cdrom: the definition boots the cdrom first");
    free(conf);
}

static void check_reboot_and_terminate(struct sw_engine *eng)
{
    struct sw_engine_outcome out;
    eng->stop_timeout_ms = 2000;
    run(eng, SW_JOB_STOP, "cdrom", true, &out);
    FILE *f = fopen(console_log, "w"); /* the next boot's console only */
    if (f)
        fclose(f);
    double t0 = now();
    run(eng, SW_JOB_START, "cdrom", true, &out);
    double isolinux = wait_console("ISOLINUX", t0, 240);
    check(isolinux > 0, "after a stop and start the guest boots the ISO again (%.1f s)", isolinux);
    run(eng, SW_JOB_TERMINATE, "cdrom", true, &out);
    virStoragePoolPtr pool = virStoragePoolLookupByName(eng->conn, "slipway");
    virStorageVolPtr *vols = NULL;
    int n = pool ? virStoragePoolListAllVolumes(pool, &vols, 0) : -1;
    int mine = 0, isos = 0;
    for (int i = 0; i < n; i++) {
        const char *name = virStorageVolGetName(vols[i]);
        mine += strstr(name, server_id) != NULL;
        isos += strstr(name, iso_sha) != NULL;
        virStorageVolFree(vols[i]);
    }
    free(vols);
    check(n >= 0 && mine == 0 && isos == 1,
          "terminate: no volume of the server left, the ISO kept for other servers (%d volumes)", n);
    if (pool)
        virStoragePoolFree(pool);
}

int main(int argc, char **argv)
{
    if (argc != 9) {
        fprintf(stderr, "usage: test_iso_boot URI STATE_DIR TEMPLATES_DIR PANEL_URL TOKEN "
                        "ISO_SHA256 ISO_BYTES SERVER_ID\n");
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
    iso_sha = argv[6];
    iso_bytes = atoll(argv[7]);
    server_id = argv[8];
    console_log = sw_asprintf("%s/console.log", argv[2]);
    struct sw_image_source src = {.panel_url = argv[4], .token = argv[5]};
    struct sw_engine eng;
    memset(&eng, 0, sizeof eng);
    eng.conn = conn;
    eng.hv = sw_hypervisor_from_uri(argv[1], &err);
    eng.domain_type = "qemu"; /* TCG: KVM boots nothing on this machine */
    eng.templates_dir = argv[3];
    eng.state_dir = argv[2];
    eng.images = &src;
    bool filtered = false;
    check(sw_nwfilter_define(conn, eng.templates_dir, &filtered, &err) == 0 && filtered,
          "slipway's guest filters defined on the node (%s)", err.detail);
    virDomainPtr dom = NULL;
    check_create(&eng, &dom);
    if (dom) {
        check_live(&eng, dom);
        virDomainFree(dom);
        check_reboot_and_terminate(&eng);
    }
    virConnectClose(conn);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
