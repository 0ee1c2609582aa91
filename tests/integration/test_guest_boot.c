/* test_guest_boot URI STATE_DIR HVM_ID PV_ID - boots real tiny
 * guests (tests/images/) on a real libvirtd, run by
 * tests/integration/guest_boot.sh, which starts the daemon, puts each root
 * volume sw-<id>-root-0.qcow2 in the dir pool "slipway" (STATE_DIR/images),
 * the pv kernel in STATE_DIR/kernels/tiny/{vmlinuz,initrd.img}, and the
 * templates in STATE_DIR/templates (the shipped ones, with the serial
 * console logged to STATE_DIR/console-<id>.log).
 *
 * hvm and pv are created by the engine: a create job carrying the guest's
 * hostname, addresses, gateways, resolvers, SSH keys and root hash goes
 * through sw_engine_run, which makes the NoCloud seed volume
 * sw-<id>-seed.iso beside the root (engines/seedvol.c), names it in the
 * domain's seed section, defines and boots. Both boot together (an ISO
 * install boots through the engine in tests/integration/iso_boot.sh); the test
 * waits for "SLIPWAY-GUEST: ready" on each console and checks what
 * the guest printed. Prints "ok - ..." / "FAIL - ..." lines, the boot
 * times, and "N passed, M failed"; leaves the domains running for the
 * script's agent and balloon checks. Exit 0 when all passed.
 *
 * test_guest_boot --reset URI STATE_DIR hvm|pv ID HASH runs the engine's
 * reset_password job for that server with HASH and checks its seed volume
 * now holds HASH (read back through libvirt's download stream).
 * test_guest_boot --balloon URI HVM_ID runs the engine's ballooning loop
 * (engines/balloon.c) on the libvirt stats source, the host declared small,
 * until the controller lowers the hvm guest's target, and checks the
 * guest's balloon follows.
 * test_guest_boot --nocloud DIR ID writes a container's seed files. */
#include "config.h"
#include "engines/balloon.h"
#include "engines/domdef.h"
#include "engines/driver.h"
#include "engines/kind.h"
#include "engines/nwfilter.h"
#include "engines/seed.h"
#include "engines/seedvol.h"
#include "engines/stats.h"
#include "engines/virt.h"
#include "core/alloc.h"
#include "core/balloon_conf.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"

#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int passed, failed;
static pthread_mutex_t check_lock = PTHREAD_MUTEX_INITIALIZER; /* the creates' threads */

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&check_lock);
    printf("%s - ", ok ? "ok" : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
    if (ok)
        passed++;
    else
        failed++;
    pthread_mutex_unlock(&check_lock);
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
    const char *label; /* "hvm", "pv" */
    const char *id;
    int kind;
    int n;               /* 5, 6: the guest's host part in 192.0.2.0/24 */
    char hostname[64];
    char ipv4[16];
    char ipv6[SW_MSG_ADDR_LEN]; /* the /64's first address (the job's) */
    char ipv6_addr[48];  /* the guest's address in it: ::2 (::1 is the gateway) */
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
    /* hvm: a guarantee below its ceiling, so the ballooning controller has
     * room to move it (it boots at the guarantee) */
    j.ram_mb = g->kind == SW_KIND_HVM ? 128 : 256;
    j.max_ram_mb = 256;
    j.disk_gb = 1;
    snprintf(j.hostname, sizeof j.hostname, "%s", g->hostname);
    snprintf(j.os, sizeof j.os, "tiny");
    snprintf(j.ipv4, sizeof j.ipv4, "%s", g->ipv4);
    snprintf(j.ipv6, sizeof j.ipv6, "%s", g->ipv6);
    /* the guest configuration a create carries (issue 13) */
    j.ipv4_prefix = 24;
    snprintf(j.ipv4_gateway, sizeof j.ipv4_gateway, "192.0.2.1");
    snprintf(j.ipv6_gateway, sizeof j.ipv6_gateway, "2001:db8:1::1");
    j.dns_n = 2;
    snprintf(j.dns[0], sizeof j.dns[0], "%s", dns[0]);
    snprintf(j.dns[1], sizeof j.dns[1], "%s", dns[1]);
    snprintf(j.ssh_keys, sizeof j.ssh_keys, "%s\n%s", keys[0], keys[1]);
    j.ssh_keys_n = 2;
    snprintf(j.password_hash, sizeof j.password_hash, "%s", SEED_HASH);
    return j;
}


/* hvm and pv: the engine's create, which makes and attaches the seed. */
static bool engine_create(struct sw_engine *eng, struct guest *g)
{
    struct sw_msg_node_job j = job_of(g);
    struct sw_engine_outcome out;
    struct sw_err err;
    memset(&out, 0, sizeof out);
    sw_err_clear(&err);
    g->started = now();
    int rc = sw_engine_run(eng, &j, &out, &err);
    sodium_memzero(j.password_hash, sizeof j.password_hash);
    check(rc == 0 && out.booted && strcmp(out.domain_state, "running") == 0,
          "%s: the engine's create defined and booted it in %.2f s (%s %s)", g->label,
          now() - g->started, rc == 0 ? out.domain_state : err.msg, rc == 0 ? "" : err.detail);
    char seed[128];
    sw_seedvol_name(g->id, seed);
    check(out.ndisks == 2 && strcmp(out.disks[0].role, "root") == 0 &&
              strcmp(out.disks[1].role, "seed") == 0 && strcmp(out.disks[1].volume, seed) == 0 &&
              strcmp(out.disks[1].pool, "slipway") == 0,
          "%s: its outcome names the root and the seed %s in pool slipway (%d disks)", g->label,
          seed, out.ndisks);
    return rc == 0;
}

struct create_arg {
    struct sw_engine *eng;
    struct guest *g;
    bool ok;
};

static void *create_thread(void *arg)
{
    struct create_arg *a = arg;
    a->ok = engine_create(a->eng, a->g);
    return NULL;
}

/* The live domain's seed: a read-only IDE cdrom on the seed volume. */
static void check_attached(virConnectPtr conn, const struct guest *g)
{
    virDomainPtr dom = virDomainLookupByUUIDString(conn, g->id);
    char *xml = dom ? virDomainGetXMLDesc(dom, 0) : NULL, seed[128], want[256];
    snprintf(want, sizeof want, "volume='%s'", sw_seedvol_name(g->id, seed));
    const char *cd = xml ? strstr(xml, "device='cdrom'") : NULL;
    const char *end = cd ? strstr(cd, "</disk>") : NULL;
    bool ok = end && strstr(cd, want) && strstr(cd, "<target dev='hdc' bus='ide'/>") &&
              strstr(cd, "<readonly/>") && strstr(cd, want) < end && strstr(cd, "<readonly/>") < end;
    check(ok, "%s: the running domain has its seed as a read-only IDE cdrom (hdc)", g->label);
    free(xml);
    if (dom)
        virDomainFree(dom);
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
    if (strcmp(g->label, "hvm") == 0)
        check(c && strstr(c, "SYSLINUX"), "hvm: SeaBIOS booted the disk (SYSLINUX banner)");
    free(c);
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
    snprintf(g->ipv6_addr, sizeof g->ipv6_addr, "2001:db8:1::2");
    snprintf(g->log, sizeof g->log, "%s/console-%s.log", state, id);
}

static int run(virConnectPtr conn, struct sw_engine *eng, char **argv)
{
    struct sw_err err;
    sw_err_clear(&err);
    bool filtered = false;
    check(sw_nwfilter_define(conn, eng->templates_dir, &filtered, &err) == 0 && filtered,
          "slipway's guest filters defined on the node (%s)", err.detail);
    struct guest g[2];
    guest_init(&g[0], "hvm", argv[3], SW_KIND_HVM, 5, eng->state_dir);
    guest_init(&g[1], "pv", argv[4], SW_KIND_PV, 6, eng->state_dir);
    /* both creates at once, as the engine's job and reconciler threads
     * share one libvirt connection: a QEMU start takes 10-30 s here */
    struct create_arg a[2] = {{eng, &g[0], false}, {eng, &g[1], false}};
    pthread_t th[2];
    for (size_t i = 0; i < 2; i++)
        if (pthread_create(&th[i], NULL, create_thread, &a[i]) != 0)
            create_thread(&a[i]), th[i] = 0;
    for (size_t i = 0; i < 2; i++) {
        if (th[i])
            pthread_join(th[i], NULL);
        if (a[i].ok)
            check_attached(conn, &g[i]);
    }
    wait_ready(g, 2, 180); /* 10-85 s here, under load from other builds */
    for (size_t i = 0; i < 2; i++) {
        check_console(&g[i]);
        printf("# boot time %s: %.1f s from define to ready\n", g[i].label,
               g[i].ready > 0 ? g[i].ready - g[i].started : -1.0);
    }
    return 0;
}

/* Reads the whole volume name of pool "slipway" through libvirt into a
 * NUL-terminated buffer (owned), or NULL. */
static char *download(virConnectPtr conn, const char *name, size_t *len)
{
    virStoragePoolPtr pool = virStoragePoolLookupByName(conn, "slipway");
    virStorageVolPtr vol = pool ? virStorageVolLookupByName(pool, name) : NULL;
    virStreamPtr st = vol ? virStreamNew(conn, 0) : NULL;
    char *buf = NULL;
    *len = 0;
    if (st && virStorageVolDownload(vol, st, 0, 0, 0) == 0) {
        size_t cap = 1 << 20;
        buf = sw_malloc(cap + 1);
        for (int n; (n = virStreamRecv(st, buf + *len, cap - *len)) > 0;) {
            *len += (size_t)n;
            if (*len == cap)
                buf = sw_realloc(buf, (cap *= 2) + 1);
        }
        buf[*len] = '\0';
        virStreamFinish(st);
    }
    if (st)
        virStreamFree(st);
    if (vol)
        virStorageVolFree(vol);
    if (pool)
        virStoragePoolFree(pool);
    return buf;
}

static bool holds(const char *buf, size_t len, const char *s)
{
    return buf && memmem(buf, len, s, strlen(s)) != NULL;
}

/* The engine's reset_password job for server id with hash: the seed holds
 * the new hash (and a new instance id), the agent set it (the note). */
static int reset(struct sw_engine *eng, const char *label, const char *id, const char *hash)
{
    struct guest g;
    bool pv = strcmp(label, "pv") == 0;
    guest_init(&g, pv ? "pv" : "hvm", id, pv ? SW_KIND_PV : SW_KIND_HVM, pv ? 6 : 5,
               eng->state_dir);
    struct sw_msg_node_job j = job_of(&g);
    j.type = SW_JOB_RESET_PASSWORD;
    snprintf(j.job_id, sizeof j.job_id, "30000000-0000-4000-8000-000000000001");
    snprintf(j.password_hash, sizeof j.password_hash, "%s", hash);
    struct sw_engine_outcome out;
    struct sw_err err;
    memset(&out, 0, sizeof out);
    sw_err_clear(&err);
    double t = now();
    int rc = sw_engine_run(eng, &j, &out, &err);
    sodium_memzero(j.password_hash, sizeof j.password_hash);
    check(rc == 0 && strcmp(out.note, "password set through the guest agent; the NoCloud seed "
                                      "holds it too") == 0,
          "%s: reset_password through the engine in %.2f s: note \"%s\" (%s)", label, now() - t,
          out.note, rc == 0 ? "ok" : err.detail);
    check(rc == 0 || !strstr(err.detail, hash), "the hash is not in the error's detail");
    char seed[128], instance[96];
    size_t len;
    char *bytes = download(eng->conn, sw_seedvol_name(id, seed), &len);
    snprintf(instance, sizeof instance, "%s-%s", id, j.job_id);
    check(holds(bytes, len, hash) && !holds(bytes, len, SEED_HASH) && holds(bytes, len, instance),
          "%s: the seed volume (%zu bytes, read back through libvirt) holds the new hash and "
          "instance id %s, not the old hash", label, len, instance);
    free(bytes);
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
        .ipv4_gateway = "192.0.2.1", .ipv6 = "2001:db8:1::8", .ipv6_prefix = 64,
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

/* ---- --balloon: the engine's ballooning loop on a real guest ----
 *
 * The node's libvirt stats source (engines/stats.c: the guests' own balloon
 * statistics, libvirt's balloon targets) with the host declared small, 1 GiB
 * with 700 MiB used outside the balloons, so the controller must shrink: on
 * this machine's real 24 GiB it would let guests be. */
#define SMALL_HOST_MB 1024
#define SMALL_HOST_OTHER_MB 700
static struct sw_stats_source real_src;

static int small_sample(void *self, struct sw_stats_host *h, struct sw_stats_guest **g, size_t *n,
                        struct sw_err *err)
{
    (void)self;
    int rc = real_src.ops->sample(real_src.self, h, g, n, err);
    if (rc == 0) {
        h->ram_mb = SMALL_HOST_MB;
        h->other_used_mb = SMALL_HOST_OTHER_MB;
    }
    return rc;
}

static int small_apply(void *self, const struct sw_stats_guest *g, int64_t target_mb,
                       struct sw_err *err)
{
    (void)self;
    return real_src.ops->apply(real_src.self, g, target_mb, err);
}

static void small_free(void *self)
{
    (void)self;
    sw_stats_close(&real_src);
}

static const struct sw_stats_ops small_ops = {"libvirt, small host", small_sample, small_apply,
                                              small_free};

/* The guest's balloon now, MiB (virDomainGetInfo's memory), or -1. */
static long long balloon_mb(virConnectPtr conn, const char *id)
{
    virDomainPtr dom = virDomainLookupByUUIDString(conn, id);
    virDomainInfo info;
    long long mb = dom && virDomainGetInfo(dom, &info) == 0 ? (long long)(info.memory / 1024) : -1;
    if (dom)
        virDomainFree(dom);
    return mb;
}

/* Ticks until the controller moves hvm id, then waits for its balloon. */
static void balloon(virConnectPtr conn, const char *id)
{
    if (sw_stats_libvirt_open(conn, &real_src) < 0) {
        check(0, "the libvirt stats source opens");
        return;
    }
    struct sw_ballooner *b = sw_ballooner_new((struct sw_stats_source){&small_ops, NULL});
    static struct sw_balloon_conf conf;
    sw_balloon_conf_default(&conf);
    conf.enabled = true;
    conf.smooth_samples = 2;
    sw_ballooner_configure(b, &conf, false);
    long long before = balloon_mb(conn, id), target = -1;
    struct sw_balloon_report rep = {0};
    double t0 = now();
    for (int tick = 0; tick < 30 && now() - t0 < 60; tick++) {
        struct sw_err err;
        sw_err_clear(&err);
        if (sw_ballooner_sample(b, &err) < 0 || sw_ballooner_sample(b, &err) < 0 ||
            sw_ballooner_tick(b, &rep, &err) < 0)
            printf("# balloon tick %d: %s (%s)\n", tick, err.msg, err.detail);
        target = sw_ballooner_target(b, id);
        if (rep.moved > 0 && target > 0 && target < before)
            break;
        usleep(1000 * 1000);
    }
    check(rep.moved > 0 && target >= 128 && target < before,
          "hvm: the ballooning controller lowers the target from %lld to %lld MiB (host declared "
          "%d MiB, %d used elsewhere; guarantee 128)",
          before, target, SMALL_HOST_MB, SMALL_HOST_OTHER_MB);
    long long after = -1;
    double t1 = now();
    while (now() - t1 < 20 && (after = balloon_mb(conn, id)) != target)
        usleep(100 * 1000);
    check(after == target, "hvm: the guest's balloon follows: %lld MiB in %.1f s", after,
          now() - t1);
    sw_ballooner_free(b);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--nocloud") == 0)
        return write_nocloud(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "--balloon") == 0) { /* --balloon URI HVM_ID */
        sw_log_init("test", "info");
        struct sw_err err;
        sw_err_clear(&err);
        virConnectPtr conn = sw_virt_init(&err) == 0 ? sw_virt_open(argv[2], &err) : NULL;
        if (!conn)
            return 2;
        balloon(conn, argv[3]);
        virConnectClose(conn);
        printf("%d passed, %d failed\n", passed, failed);
        return failed == 0 && passed > 0 ? 0 : 1;
    }
    bool resetting = argc == 7 && strcmp(argv[1], "--reset") == 0;
    if (resetting) /* --reset URI STATE_DIR LABEL ID HASH */
        argv++, argc -= 2;
    if (argc != 5) {
        fprintf(stderr, "usage: test_guest_boot URI STATE_DIR HVM_ID PV_ID\n"
                        "       test_guest_boot --reset URI STATE_DIR hvm|pv ID HASH\n"
                        "       test_guest_boot --balloon URI HVM_ID\n");
        return 2;
    }
    sw_log_init("test", "info"); /* the engine's seed and storage events in the log */
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
    char templates[512];
    snprintf(templates, sizeof templates, "%s/templates", argv[2]); /* guest_boot.sh's copy */
    eng.templates_dir = templates;
    eng.state_dir = argv[2];
    if (resetting)
        reset(&eng, argv[3], argv[4], argv[5]);
    else
        run(conn, &eng, argv);
    virConnectClose(conn);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
