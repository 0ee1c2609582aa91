/* test_guest_boot URI STATE_DIR HVM_ID PV_ID ISO_ID - boots real tiny
 * guests (tests/images/) on a real libvirtd, run by
 * tests/integration/guest_boot.sh (which starts the daemon and puts the
 * images where the templates point: each root volume sw-<id>-root-0.qcow2
 * in the dir pool "slipway" (STATE_DIR/images),
 * STATE_DIR/kernels/tiny/{vmlinuz,initrd.img}, STATE_DIR/isos/boot.iso).
 *
 * For each server: the engine renders its domain XML (hvm-qemu.xml,
 * pv-qemu.xml), engines/seed.c makes its NoCloud seed, which goes into a
 * volume of a "seeds" pool through libvirt's upload stream and is attached
 * as a read-only IDE cdrom; the serial console is logged to
 * STATE_DIR/console-<id>.log. The ISO server boots boot.iso from a second
 * cdrom before its blank disk. All three start together; the test then
 * waits for "SLIPWAY-GUEST: ready" on each console and checks the
 * hostname, addresses, resolvers, keys, password hash and balloon driver
 * the guest printed. Prints "ok - ..." / "FAIL - ..." lines, the boot
 * times, and "N passed, M failed"; leaves the domains running for the
 * script's agent and balloon checks. Exit 0 when all passed.
 * test_guest_boot --nocloud DIR ID writes a container's seed files. */
#include "config.h"
#include "engines/domdef.h"
#include "engines/driver.h"
#include "engines/kind.h"
#include "engines/nwfilter.h"
#include "engines/seed.h"
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

/* The root password the seed installs: crypt("seed-Passw0rd", "$6$slipwayseed$"). */
#define SEED_HASH "$6$slipwayseed$6IlQDCqNOMGKiDxozQeXnNPmatsHLchzQW0nPHjoCXKvLGeNiC0coLCoUDp39W81ml.HN94imAM9RTZx8C3IM0"

static const char *const dns[] = {"192.0.2.53", "2001:db8::53"};
static const char *const keys[] = {"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGuest one@slipway",
                                   "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGuest two@slipway"};

struct guest {
    const char *label; /* "hvm", "pv", "iso" */
    const char *id;
    int kind;
    int n;               /* 5, 6, 7: the guest's host part in 192.0.2.0/24 */
    char hostname[64];
    char ipv4[16];
    char ipv6[SW_MSG_ADDR_LEN]; /* the /64's first address (the job's) */
    char ipv6_addr[48];  /* the guest's address in it */
    char log[512];
    double started, ready;
};

static struct sw_msg_node_job job_of(const struct guest *g)
{
    struct sw_msg_node_job j;
    memset(&j, 0, sizeof j);
    snprintf(j.job_id, sizeof j.job_id, "20000000-0000-4000-8000-%012d", g->n);
    snprintf(j.server_id, sizeof j.server_id, "%s", g->id);
    j.type = SW_JOB_CREATE;
    j.kind = g->kind;
    j.vcpus = 1;
    j.ram_mb = 256;
    j.max_ram_mb = 256;
    j.disk_gb = 1;
    snprintf(j.hostname, sizeof j.hostname, "%s", g->hostname);
    snprintf(j.os, sizeof j.os, "tiny");
    snprintf(j.ipv4, sizeof j.ipv4, "%s", g->ipv4);
    snprintf(j.ipv6, sizeof j.ipv6, "%s", g->ipv6);
    return j;
}

/* Replaces the first from in *xml with to (owned result replaces *xml). */
static bool replace(char **xml, const char *from, const char *to)
{
    char *p = strstr(*xml, from);
    if (!p)
        return false;
    char *out = sw_asprintf("%.*s%s%s", (int)(p - *xml), *xml, to, p + strlen(from));
    free(*xml);
    *xml = out;
    return true;
}

static const char *seed_volume(const struct guest *g, char out[96])
{
    snprintf(out, 96, "sw-%s-seed.iso", g->id);
    return out;
}

/* The seed of g in the pool's volume sw-<id>-seed.iso, through libvirt. */
static int put_seed(virStoragePoolPtr pool, const struct guest *g, struct sw_err *err)
{
    const char *gw6 = "2001:db8:1::1";
    struct sw_seed s = {
        .instance_id = g->id, .hostname = g->hostname, .ipv4 = g->ipv4, .ipv4_prefix = 24,
        .ipv4_gateway = "192.0.2.1", .ipv6 = g->ipv6_addr, .ipv6_prefix = 64,
        .ipv6_gateway = gw6, .dns = dns, .n_dns = 2, .ssh_keys = keys, .n_ssh_keys = 2,
        .password_hash = SEED_HASH,
    };
    struct sw_seed_iso iso;
    if (sw_seed_iso(&s, &iso, err) < 0)
        return -1;
    char name[96];
    char *vx = sw_asprintf("<volume><name>%s</name><capacity unit='bytes'>%zu</capacity>"
                           "<target><format type='raw'/></target></volume>",
                           seed_volume(g, name), iso.len);
    virStorageVolPtr vol = virStorageVolCreateXML(pool, vx, 0);
    free(vx);
    int rc = -1;
    if (!vol)
        sw_virt_error(err, "create the seed volume");
    else
        rc = sw_seed_upload(vol, &iso, err);
    printf("# %s: seed %s, %zu bytes, uploaded through libvirt\n", g->label, name, iso.len);
    sw_seed_iso_release(&iso);
    if (vol)
        virStorageVolFree(vol);
    return rc;
}

/* The engine's domain XML for g, with its console logged, its seed as a
 * cdrom and, for the ISO server, boot.iso booted before the disk. */
static char *domain_xml(const struct sw_engine *eng, const struct guest *g, struct sw_err *err)
{
    const struct sw_engine_driver *drv =
        g->kind == SW_KIND_PV ? sw_engine_pv_driver() : sw_engine_hvm_driver();
    struct sw_msg_node_job j = job_of(g);
    char *xml = sw_domdef_xml(eng, drv, &j, err);
    if (!xml)
        return NULL;
    char *serial = sw_asprintf("<serial type='pty'><log file='%s' append='off'/></serial>", g->log);
    char name[96];
    char *cd = sw_asprintf("<disk type='volume' device='cdrom'><driver name='qemu' type='raw'/>"
                           "<source pool='seeds' volume='%s'/><target dev='hdc' bus='ide'/>"
                           "<readonly/></disk>\n  </devices>",
                           seed_volume(g, name));
    bool ok = replace(&xml, "<serial type='pty'/>", serial) && replace(&xml, "</devices>", cd);
    if (ok && strcmp(g->label, "iso") == 0) {
        char *boot = sw_asprintf("<disk type='file' device='cdrom'><driver name='qemu' type='raw'/>"
                                 "<source file='%s/isos/boot.iso'/><target dev='hdd' bus='ide'/>"
                                 "<readonly/><boot order='1'/></disk>\n  </devices>",
                                 eng->state_dir);
        ok = replace(&xml, "<boot dev='hd'/>", "") &&
             replace(&xml, "<target dev='vda' bus='virtio'/>",
                     "<target dev='vda' bus='virtio'/><boot order='2'/>") &&
             replace(&xml, "</devices>", boot);
        free(boot);
    }
    free(serial);
    free(cd);
    if (!ok) {
        SW_ERR(err, SW_EINTERNAL, "the %s template changed shape", g->label);
        free(xml);
        return NULL;
    }
    return xml;
}

static virDomainPtr start(virConnectPtr conn, const struct sw_engine *eng, struct guest *g)
{
    struct sw_err err;
    sw_err_clear(&err);
    char *xml = domain_xml(eng, g, &err);
    if (!xml) {
        check(0, "%s: domain XML: %s (%s)", g->label, err.msg, err.detail);
        return NULL;
    }
    g->started = now();
    virDomainPtr dom = virDomainDefineXML(conn, xml);
    free(xml);
    if (!dom || virDomainCreate(dom) < 0) {
        sw_virt_error(&err, "define and start");
        check(0, "%s: %s (%s)", g->label, err.msg, err.detail);
        return dom;
    }
    printf("# %s: defined and started in %.2f s\n", g->label, now() - g->started);
    return dom;
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

/* Has the console printed the fact "SLIPWAY-GUEST: <fact>" (whole line)? */
static bool said(const char *console, const char *fact)
{
    char *want = sw_asprintf("SLIPWAY-GUEST: %s\r", fact), *want2 = sw_asprintf("SLIPWAY-GUEST: %s\n", fact);
    bool ok = console && (strstr(console, want) || strstr(console, want2));
    free(want);
    free(want2);
    return ok;
}

static void wait_ready(struct guest *g, size_t n, double limit)
{
    size_t left = n;
    while (left > 0 && now() - g[0].started < limit) {
        usleep(100 * 1000);
        for (size_t i = 0; i < n; i++) {
            if (g[i].ready > 0)
                continue;
            char *c = slurp(g[i].log);
            if (said(c, "ready")) {
                g[i].ready = now();
                left--;
            }
            free(c);
        }
    }
}

static void check_console(const struct guest *g)
{
    char *c = slurp(g->log);
    char fact[256];
    check(g->ready > 0, "%s: the guest printed ready, %.1f s after define+start", g->label,
          g->ready > 0 ? g->ready - g->started : -1.0);
    snprintf(fact, sizeof fact, "instance-id=%s", g->id);
    check(said(c, fact), "%s: the seed's instance-id is the server id", g->label);
    snprintf(fact, sizeof fact, "hostname=%s", g->hostname);
    check(said(c, fact), "%s: console shows %s", g->label, fact);
    snprintf(fact, sizeof fact, "addr=%s/24 gw=192.0.2.1", g->ipv4);
    check(said(c, fact), "%s: console shows %s", g->label, fact);
    snprintf(fact, sizeof fact, "ipv6=%s/64 gw=2001:db8:1::1", g->ipv6_addr);
    check(said(c, fact), "%s: console shows %s", g->label, fact);
    check(said(c, "dns=192.0.2.53,2001:db8::53"), "%s: resolvers in /etc/resolv.conf", g->label);
    check(said(c, "keys=2") && said(c, "shadow=root"),
          "%s: both SSH keys and the root password hash installed", g->label);
    check(said(c, "balloon=loaded"), "%s: virtio_balloon bound", g->label);
    check(said(c, "seed=/dev/sr0"), "%s: the cidata seed found on the IDE cdrom", g->label);
    if (strcmp(g->label, "pv") == 0)
        check(said(c, "root=/dev/vda"), "pv: the initrd mounted its ext4 root from the virtio disk");
    if (strcmp(g->label, "iso") == 0)
        check(c && strstr(c, "ISOLINUX"), "iso: booted from boot.iso (ISOLINUX banner)");
    if (strcmp(g->label, "hvm") == 0)
        check(c && strstr(c, "SYSLINUX"), "hvm: SeaBIOS booted the disk (SYSLINUX banner)");
    free(c);
}

static virStoragePoolPtr seed_pool(virConnectPtr conn, const char *state)
{
    char *px = sw_asprintf("<pool type='dir'><name>seeds</name><target><path>%s/seeds</path>"
                           "</target></pool>",
                           state);
    virStoragePoolPtr pool = virStoragePoolCreateXML(conn, px, 0);
    free(px);
    return pool;
}

static void guest_init(struct guest *g, const char *label, const char *id, int kind, int n,
                       const char *state)
{
    memset(g, 0, sizeof *g);
    g->label = label;
    g->id = id;
    g->kind = kind;
    g->n = n;
    snprintf(g->hostname, sizeof g->hostname, "%s-%d.guest.example", label, n);
    snprintf(g->ipv4, sizeof g->ipv4, "192.0.2.%d", n);
    snprintf(g->ipv6, sizeof g->ipv6, "2001:db8:1::");
    snprintf(g->ipv6_addr, sizeof g->ipv6_addr, "2001:db8:1::%d", n);
    snprintf(g->log, sizeof g->log, "%s/console-%s.log", state, id);
}

static int run(virConnectPtr conn, struct sw_engine *eng, char **argv)
{
    struct sw_err err;
    sw_err_clear(&err);
    bool filtered = false;
    check(sw_nwfilter_define(conn, eng->templates_dir, &filtered, &err) == 0 && filtered,
          "slipway's guest filters defined on the node (%s)", err.detail);
    virStoragePoolPtr pool = seed_pool(conn, eng->state_dir);
    check(pool != NULL, "a dir pool \"seeds\" for the NoCloud seeds");
    if (!pool)
        return 1;
    struct guest g[3];
    guest_init(&g[0], "hvm", argv[3], SW_KIND_HVM, 5, eng->state_dir);
    guest_init(&g[1], "pv", argv[4], SW_KIND_PV, 6, eng->state_dir);
    guest_init(&g[2], "iso", argv[5], SW_KIND_HVM, 7, eng->state_dir);
    virDomainPtr dom[3] = {NULL, NULL, NULL};
    for (size_t i = 0; i < 3; i++) {
        int rc = put_seed(pool, &g[i], &err);
        check(rc == 0, "%s: seed built by engines/seed.c and uploaded (%s)", g[i].label,
              rc == 0 ? "ok" : err.detail);
    }
    for (size_t i = 0; i < 3; i++)
        dom[i] = start(conn, eng, &g[i]);
    wait_ready(g, 3, 180); /* 10-60 s here, under load from other builds */
    for (size_t i = 0; i < 3; i++) {
        check_console(&g[i]);
        printf("# boot time %s: %.1f s from define to ready\n", g[i].label,
               g[i].ready > 0 ? g[i].ready - g[i].started : -1.0);
        if (dom[i])
            virDomainFree(dom[i]);
    }
    virStoragePoolFree(pool);
    return 0;
}

/* test_guest_boot --nocloud DIR ID: the three seed files of a container
 * server ID (hostname ct-8.guest.example, 192.0.2.8) written into DIR, as
 * the engine will write them into a container's root filesystem. */
static int write_nocloud(const char *dir, const char *id)
{
    struct guest g;
    guest_init(&g, "ct", id, SW_KIND_CONTAINER, 8, dir);
    struct sw_seed s = {
        .instance_id = g.id, .hostname = g.hostname, .ipv4 = g.ipv4, .ipv4_prefix = 24,
        .ipv4_gateway = "192.0.2.1", .ipv6 = g.ipv6_addr, .ipv6_prefix = 64,
        .ipv6_gateway = "2001:db8:1::1", .dns = dns, .n_dns = 2, .ssh_keys = keys,
        .n_ssh_keys = 2, .password_hash = SEED_HASH,
    };
    char *(*const make[])(const struct sw_seed *, struct sw_err *) = {
        sw_seed_meta_data, sw_seed_user_data, sw_seed_network_config};
    const char *names[] = {"meta-data", "user-data", "network-config"};
    for (size_t i = 0; i < 3; i++) {
        struct sw_err err;
        char *text = make[i](&s, &err), path[512];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = text ? fopen(path, "w") : NULL;
        if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
            fprintf(stderr, "cannot write %s\n", path);
            free(text);
            return 1;
        }
        free(text);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--nocloud") == 0)
        return write_nocloud(argv[2], argv[3]);
    if (argc != 6) {
        fprintf(stderr, "usage: test_guest_boot URI STATE_DIR HVM_ID PV_ID ISO_ID\n");
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
    eng.domain_type = "qemu"; /* TCG: KVM boots nothing on this machine (notes) */
    eng.templates_dir = SW_TEST_SRCDIR "/templates";
    eng.state_dir = argv[2];
    run(conn, &eng, argv);
    virConnectClose(conn);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
