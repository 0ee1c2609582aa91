/* test_lxc_real URI POOL_PATH PANEL_URL TOKEN DIR TARGET - the container kind
 * against a real libvirtd's LXC driver, run by tests/integration/
 * lxc_real.sh (which starts the daemon, the network, and an HTTP server
 * standing in for the panel's node image route over DIR's files): through
 * the engine's job path (sw_engine_run), a create fetches the template's
 * rootfs tarball (DIR/container.tar.gz, tests/images/) into the pool,
 * builds the raw ext4 root volume from it and boots the container; its init
 * runs from that rootfs and applies the hostname, address and password hash
 * the engine wrote in (read from the host: its UTS and network namespaces,
 * /proc/PID/root); its memory and CPU limits are in its cgroup; while it
 * runs reset_password and a resize that grows its disk are refused and a
 * live resize moves its memory; stopped, a resize to 2 GB grows its ext4
 * (dumpe2fs) and reset_password writes root's hash into its /etc/shadow
 * (debugfs), each replayed, and started again it sees a 2 GiB / and the
 * new hash (engines/ctdisk.c); a reinstall gives a fresh root
 * (a marker written before is gone, the old volume deleted); terminate
 * leaves no volume. Then bad tarballs (DIR/evil.tar.gz with a "../" entry,
 * DIR/trunc.tar.gz cut short) fail their create with a clear reason and
 * leave no volume and no domain; a root volume left without its superblock
 * (an engine killed mid-build) is made again by the replayed create.
 * Backups (issue 14) into a dir target at TARGET: a marker written into a
 * running container, a backup (the container paused only while its root
 * is cloned, running on with the same init), the backup restored into a
 * file equal to a copy of the root taken right after (qemu-img compare);
 * the marker changed, a second backup storing a small part of the first's
 * bytes; the first restored onto the server (a new root from the restore
 * job, the old one deleted): the first marker is back; a new server's
 * root assembled from the first (bkctnew.c) onto a 2 GB plan is found
 * whole by a replay, and onto a plan smaller than the backup's disk it
 * fails, no volume made. Prints "ok - ..." / "FAIL - ..." lines and
 * "N passed, M failed"; exit 0 when all passed. */
#include "config.h"
#include "engines/bkctnew.h"
#include "engines/domdef.h"
#include "engines/driver.h"
#include "engines/image.h"
#include "engines/nwfilter.h"
#include "engines/storage.h"
#include "engines/virt.h"
#include "backup/repo.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"

#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <jansson.h>
#include <libvirt/virterror.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

static int passed, failed;
static const char *dir, *target_dir;

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

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The sha256 and size of DIR/file into job's image fields. */
static void image_of(struct sw_msg_node_job *j, const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(99);
    }
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    unsigned char buf[65536], d[32];
    size_t n;
    j->image_bytes = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        crypto_hash_sha256_update(&st, buf, n);
        j->image_bytes += (int64_t)n;
    }
    fclose(f);
    crypto_hash_sha256_final(&st, d);
    sodium_bin2hex(j->image_sha256, sizeof j->image_sha256, d, sizeof d);
    snprintf(j->image_format, sizeof j->image_format, "tar");
}

static struct sw_msg_node_job job_of(const char *id, int type, const char *tarball)
{
    struct sw_msg_node_job j;
    memset(&j, 0, sizeof j);
    snprintf(j.job_id, sizeof j.job_id, "20000000-0000-4000-8000-%012d", type);
    snprintf(j.server_id, sizeof j.server_id, "%s", id);
    j.type = type;
    j.kind = SW_KIND_CONTAINER;
    j.vcpus = 2;
    j.ram_mb = 64;
    j.max_ram_mb = 96;
    j.swap_mb = 32;
    j.disk_gb = 1;
    j.limits.cpu_cap_pct = 50;
    snprintf(j.hostname, sizeof j.hostname, "lxc-real.example.com");
    snprintf(j.os, sizeof j.os, "busybox");
    snprintf(j.ipv4, sizeof j.ipv4, "192.0.2.88");
    j.ipv4_prefix = 24;
    snprintf(j.ipv4_gateway, sizeof j.ipv4_gateway, "192.0.2.1");
    snprintf(j.ipv6, sizeof j.ipv6, "2001:db8:88::");
    j.dns_n = 1;
    snprintf(j.dns[0], sizeof j.dns[0], "192.0.2.53");
    snprintf(j.ssh_keys, sizeof j.ssh_keys, "ssh-ed25519 AAAAC3Nzaone one@example");
    snprintf(j.password_hash, sizeof j.password_hash,
             "$6$lxcsalt$Q7cVrLzzqXv6bq2c6yUu3m3mQeR5p7O4v1qj3aVwX0m8Yc8y8Yz0b0c0d0e0f0g0h0i0j0k0l0m0n0o0p0q0r0");
    if (tarball)
        image_of(&j, tarball);
    return j;
}

static int run(struct sw_engine *eng, struct sw_msg_node_job *j, struct sw_engine_outcome *out,
               struct sw_err *err)
{
    sw_err_clear(err);
    memset(out, 0, sizeof *out);
    int rc = sw_engine_run(eng, j, out, err);
    if (rc < 0)
        printf("# %s: %s (%s)\n", sw_job_type_name(j->type), err->msg, err->detail);
    return rc;
}

/* The server's volumes in pool "slipway" without the "sw-<id>-" prefix,
 * space-separated. */
static void vols_of(virConnectPtr conn, const char *id, char *out, size_t n)
{
    out[0] = '\0';
    virStoragePoolPtr pool = virStoragePoolLookupByName(conn, "slipway");
    if (!pool)
        return;
    virStoragePoolRefresh(pool, 0);
    char *names[32];
    int k = virStoragePoolListVolumes(pool, names, 32);
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

/* The cgroup v1 directory of the container in controller ctl, or "". */
static void cgroup_dir(const char *ctl, const char *id, char *out, size_t n)
{
    char pat[256];
    snprintf(pat, sizeof pat, "/sys/fs/cgroup/%s/machine/lxc-*-sw-%s.libvirt-lxc", ctl, id);
    glob_t g;
    out[0] = '\0';
    if (glob(pat, 0, NULL, &g) == 0 && g.gl_pathc > 0)
        snprintf(out, n, "%s", g.gl_pathv[0]);
    globfree(&g);
}

static long long read_ll(const char *d, const char *file)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", d, file);
    FILE *f = fopen(path, "r");
    long long v = -1;
    if (f && fscanf(f, "%lld", &v) != 1)
        v = -1;
    if (f)
        fclose(f);
    return v;
}

/* The host PID of the container's init (PID 1 in its namespace), or 0. */
static long init_pid(const char *id)
{
    char d[512], path[600], line[256];
    cgroup_dir("memory", id, d, sizeof d);
    snprintf(path, sizeof path, "%s/cgroup.procs", d);
    FILE *f = d[0] ? fopen(path, "r") : NULL;
    long pid = 0, p;
    while (f && !pid && fscanf(f, "%ld", &p) == 1) {
        snprintf(path, sizeof path, "/proc/%ld/status", p);
        FILE *s = fopen(path, "r");
        while (s && fgets(line, sizeof line, s))
            if (strncmp(line, "NSpid:", 6) == 0) {
                char *last = strrchr(line, '\t');
                if (last && atol(last + 1) == 1)
                    pid = p;
            }
        if (s)
            fclose(s);
    }
    if (f)
        fclose(f);
    return pid;
}

/* The first line a command prints, into out[n] ("" on failure). */
static void first_line(const char *cmd, char *out, size_t n)
{
    out[0] = '\0';
    FILE *p = popen(cmd, "r");
    if (p && fgets(out, (int)n, p))
        out[strcspn(out, "\n")] = '\0';
    if (p)
        pclose(p);
}

static bool file_has(const char *path, const char *text)
{
    FILE *f = fopen(path, "r");
    char buf[8192];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return f && strstr(buf, text);
}

/* Waits up to 60 s for the container's init to have applied its seed:
 * its hostname set. Returns the init's PID, or 0. */
static long wait_ready(const char *id, const char *hostname)
{
    char cmd[128], got[256];
    for (double t0 = mono(); mono() - t0 < 60;) {
        long pid = init_pid(id);
        if (pid) {
            snprintf(cmd, sizeof cmd, "nsenter -t %ld -u hostname 2>/dev/null", pid);
            first_line(cmd, got, sizeof got);
            if (strcmp(got, hostname) == 0)
                return pid;
        }
        usleep(100000);
    }
    return 0;
}

/* The init runs from the rootfs and applied what the engine wrote in. */
static void check_guest(const struct sw_msg_node_job *j, long pid, const char *when)
{
    char cmd[256], got[256], path[128];
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(got, 1, sizeof got - 1, f) : 0;
    if (f)
        fclose(f);
    got[n] = '\0';
    for (size_t i = 0; i + 1 < n; i++)
        if (!got[i])
            got[i] = ' ';
    check(strstr(got, "/sbin/init") != NULL, "%s: the container's PID 1 is the rootfs's init (\"%s\")",
          when, got);
    snprintf(cmd, sizeof cmd,
             "awk '$5 == \"/\" { for (i = 7; i < NF; i++) if ($i == \"-\") { print $(i + 1), "
             "$(i + 2); exit } }' /proc/%ld/mountinfo",
             pid);
    first_line(cmd, got, sizeof got);
    check(strncmp(got, "ext4 /dev/loop", 14) == 0,
          "%s: its / is the ext4 volume through a loop device (\"%s\")", when, got);
    snprintf(cmd, sizeof cmd, "nsenter -t %ld -n ip -4 -o addr show dev eth0 | awk '{print $4}'",
             pid);
    first_line(cmd, got, sizeof got);
    check(strcmp(got, "192.0.2.88/24") == 0,
          "%s: its init applied hostname %s and address \"%s\" from the seed files", when,
          j->hostname, got);
    /* the init sets the password last: wait for it (20 s) */
    snprintf(path, sizeof path, "/proc/%ld/root/etc/shadow", pid);
    for (double t0 = mono(); !file_has(path, j->password_hash) && mono() - t0 < 20;)
        usleep(100000);
    check(file_has(path, j->password_hash), "%s: the password hash is root's in its /etc/shadow",
          when);
}

/* Memory and CPU limits in the container's cgroups. */
static void check_cgroup(const struct sw_msg_node_job *j)
{
    char mem[512], cpu[512];
    cgroup_dir("memory", j->server_id, mem, sizeof mem);
    cgroup_dir("cpu", j->server_id, cpu, sizeof cpu);
    long long hard = read_ll(mem, "memory.limit_in_bytes"),
              soft = read_ll(mem, "memory.soft_limit_in_bytes"),
              memsw = read_ll(mem, "memory.memsw.limit_in_bytes");
    printf("# %s: limit %lld soft %lld memsw %lld\n", mem, hard, soft, memsw);
    check(hard == j->max_ram_mb << 20 && soft == j->ram_mb << 20,
          "its memory cgroup holds the ceiling (%lld MiB) and the guarantee (%lld MiB)", hard >> 20,
          soft >> 20);
    if (memsw >= 0)
        check(memsw == (j->max_ram_mb + j->swap_mb) << 20, "and ceiling + swap (%lld MiB)",
              memsw >> 20);
    else
        printf("# no memory.memsw.limit_in_bytes here (the kernel keeps no swap accounting)\n");
    long long shares = read_ll(cpu, "cpu.shares"), quota = read_ll(cpu, "cpu.cfs_quota_us"),
              period = read_ll(cpu, "cpu.cfs_period_us");
    printf("# %s: shares %lld quota %lld period %lld\n", cpu, shares, quota, period);
    check(shares == j->vcpus * 1024 && period == 100000 && quota == 50000,
          "its cpu cgroup holds shares %lld (1024 per vCPU) and the 50%% cap (quota %lld / period "
          "%lld)",
          shares, quota, period);
}

/* Files left under TMPDIR by the rootfs builds ("slipway-rootfs-*"). */
static int leftovers(void)
{
    const char *base = getenv("TMPDIR");
    DIR *d = opendir(base && *base ? base : "/var/tmp");
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strncmp(e->d_name, "slipway-rootfs-", 15) == 0;
    if (d)
        closedir(d);
    return n;
}

static void root_path(virConnectPtr conn, const char *id, char *out, size_t n);

static void test_lifecycle(struct sw_engine *eng, const char *id)
{
    struct sw_engine_outcome out;
    struct sw_err err;
    struct sw_msg_node_job j = job_of(id, SW_JOB_CREATE, "container.tar.gz");
    double t0 = mono();
    int rc = run(eng, &j, &out, &err);
    double took = mono() - t0;
    char vols[512], vname[160];
    vols_of(eng->conn, id, vols, sizeof vols);
    check(rc == 0 && out.booted && strcmp(out.domain_state, "running") == 0 && out.ndisks == 1 &&
              strcmp(out.disks[0].format, "raw") == 0 && out.disks[0].capacity == 1LL << 30,
          "create fetches the tarball, builds a 1 GiB raw root and boots the container in %.2f s "
          "(volumes \"%s\")",
          took, vols);
    if (rc < 0) {
        struct sw_msg_node_job t = job_of(id, SW_JOB_TERMINATE, NULL);
        run(eng, &t, &out, &err);
        return;
    }
    rc = run(eng, &j, &out, &err);
    vols_of(eng->conn, id, vols, sizeof vols);
    check(rc == 0 && !out.booted && strcmp(vols, "root-0.raw") == 0,
          "a replayed create finds the running container and its volume (\"%s\")", vols);
    snprintf(vname, sizeof vname, "sw-%s-root-0.raw", id);
    virStoragePoolPtr pool = virStoragePoolLookupByName(eng->conn, "slipway");
    virStorageVolPtr vol = pool ? virStorageVolLookupByName(pool, vname) : NULL;
    virStorageVolInfo info = {0};
    char *path = vol ? virStorageVolGetPath(vol) : NULL;
    if (vol)
        virStorageVolGetInfo(vol, &info);
    check(vol && info.allocation < 64ULL << 20,
          "the root volume is sparse: %llu MiB allocated of %llu MiB", info.allocation >> 20,
          info.capacity >> 20);
    virDomainPtr dom = virDomainLookupByUUIDString(eng->conn, id);
    char *live = dom ? virDomainGetXMLDesc(dom, 0) : NULL;
    char want[700];
    snprintf(want, sizeof want, "<source file='%s'/>", path ? path : "?");
    check(live && strstr(live, "<filesystem type='file'") && strstr(live, want),
          "the live definition mounts the volume's path through a loop device");
    free(live);
    free(path);

    long pid = wait_ready(id, j.hostname);
    check(pid > 0, "the container's init set the ordered hostname (init PID %ld on the host)", pid);
    if (pid)
        check_guest(&j, pid, "create");
    check_cgroup(&j);

    /* reset_password on a running container: refused, nothing changed */
    struct sw_msg_node_job rp = job_of(id, SW_JOB_RESET_PASSWORD, NULL);
    snprintf(rp.password_hash, sizeof rp.password_hash, "%s",
             "$6$newsalt$N3wHashForTheStoppedContainerReset0123456789abcdefghijklmnopqrstuvwxyzABCD");
    rc = run(eng, &rp, &out, &err);
    check(rc < 0 && err.code == SW_EUNSUPPORTED && !err.retryable &&
              strstr(err.msg, "stop the container"),
          "reset_password on a running container is unsupported, not retryable: %s", err.msg);
    int sp = dom ? virDomainSetUserPassword(dom, "root", rp.password_hash,
                                            VIR_DOMAIN_PASSWORD_ENCRYPTED)
                 : 0;
    virErrorPtr e = virGetLastError();
    check(sp < 0 && e && e->code == VIR_ERR_NO_SUPPORT,
          "libvirt's LXC driver has no virDomainSetUserPassword (%d: %s)", e ? e->code : 0,
          e && e->message ? e->message : "");
    virResetLastError();

    /* a live resize: memory limits move; a disk that must grow is refused */
    struct sw_msg_node_job rs = job_of(id, SW_JOB_RESIZE, NULL);
    rs.ram_mb = 80;
    rs.max_ram_mb = 96;
    rc = run(eng, &rs, &out, &err);
    char mem[512];
    cgroup_dir("memory", id, mem, sizeof mem);
    printf("# resize note: %s\n", out.note);
    check(rc == 0 && read_ll(mem, "memory.soft_limit_in_bytes") == 80LL << 20,
          "a live resize moves the guarantee in the cgroup to 80 MiB (note \"%s\")", out.note);
    rs.ram_mb = 72;
    rs.disk_gb = 2;
    rc = run(eng, &rs, &out, &err);
    check(rc < 0 && err.code == SW_EUNSUPPORTED && strstr(err.msg, "stop the container") &&
              read_ll(mem, "memory.soft_limit_in_bytes") == 80LL << 20,
          "a live resize that grows the disk is refused before anything changes: %s", err.msg);

    /* stopped: the resize grows the volume and its ext4; a replay finds it grown */
    struct sw_msg_node_job sj = job_of(id, SW_JOB_STOP, NULL);
    rc = run(eng, &sj, &out, &err);
    char rpath[256], got[256], cmd[512];
    root_path(eng->conn, id, rpath, sizeof rpath);
    snprintf(cmd, sizeof cmd,
             "dumpe2fs -h %s 2>/dev/null | awk '/^Block count:/{c=$3} /^Block size:/{s=$3} "
             "END{printf \"%%.0f\\n\", c*s}'",
             rpath);
    first_line(cmd, got, sizeof got);
    check(rc == 0 && atoll(got) == 1LL << 30, "stopped; its filesystem is 1 GiB (%s bytes)", got);
    t0 = mono();
    rc = run(eng, &rs, &out, &err);
    took = mono() - t0;
    first_line(cmd, got, sizeof got);
    check(rc == 0 && atoll(got) == 2LL << 30 && strstr(out.note, "filesystem grown to 2 GB"),
          "a stopped container's resize grows its filesystem to 2 GiB in %.2f s (%s bytes, note "
          "\"%s\")",
          took, got, out.note);
    rc = run(eng, &rs, &out, &err);
    first_line(cmd, got, sizeof got);
    check(rc == 0 && atoll(got) == 2LL << 30 && !strstr(out.note, "filesystem"),
          "a replayed resize finds it grown and does nothing more (note \"%s\")", out.note);

    /* stopped: reset_password writes root's hash into /etc/shadow */
    snprintf(cmd, sizeof cmd, "debugfs -R 'cat /etc/shadow' %s 2>/dev/null | grep '^root:'",
             rpath);
    t0 = mono();
    rc = run(eng, &rp, &out, &err);
    took = mono() - t0;
    first_line(cmd, got, sizeof got);
    check(rc == 0 && strstr(got, rp.password_hash) != NULL,
          "a stopped container's reset_password puts the new hash in its /etc/shadow in %.2f s "
          "(note \"%s\")",
          took, out.note);
    rc = run(eng, &rp, &out, &err);
    first_line(cmd, got, sizeof got);
    snprintf(cmd, sizeof cmd, "e2fsck -f -n %s >/dev/null 2>&1", rpath);
    check(rc == 0 && strstr(got, rp.password_hash) != NULL && system(cmd) == 0,
          "a replayed reset_password succeeds the same, and e2fsck finds the root clean");

    /* started again: the container sees the bigger filesystem and the hash */
    struct sw_msg_node_job go = job_of(id, SW_JOB_START, NULL);
    go.disk_gb = 2;
    rc = run(eng, &go, &out, &err);
    pid = rc == 0 ? wait_ready(id, j.hostname) : 0;
    char proot[64];
    snprintf(proot, sizeof proot, "/proc/%ld/root/", pid);
    struct statvfs vfs;
    memset(&vfs, 0, sizeof vfs);
    bool big = pid > 0 && statvfs(proot, &vfs) == 0 &&
               (long long)vfs.f_blocks * (long long)vfs.f_frsize > (3LL << 30) / 2;
    check(big, "started again, the container's / is %lld MiB (df inside)",
          (long long)vfs.f_blocks * (long long)vfs.f_frsize >> 20);
    char sh[128];
    snprintf(sh, sizeof sh, "/proc/%ld/root/etc/shadow", pid);
    for (double t1 = mono(); pid > 0 && !file_has(sh, rp.password_hash) && mono() - t1 < 20;)
        usleep(100000);
    check(pid > 0 && file_has(sh, rp.password_hash),
          "and root's hash in its /etc/shadow is the new one (its init applied user-data's too)");

    /* reinstall: a fresh rootfs */
    char marker[128];
    snprintf(marker, sizeof marker, "/proc/%ld/root/root/marker", pid);
    FILE *m = pid ? fopen(marker, "w") : NULL;
    if (m) {
        fputs("written before the reinstall\n", m);
        fclose(m);
    }
    check(m != NULL, "a marker file written into the running container");
    struct sw_msg_node_job ri = job_of(id, SW_JOB_REINSTALL, "container.tar.gz");
    ri.disk_gb = 2;
    rc = run(eng, &ri, &out, &err);
    vols_of(eng->conn, id, vols, sizeof vols);
    char want_vol[128];
    snprintf(want_vol, sizeof want_vol, "root-%.8s.raw", ri.job_id);
    check(rc == 0 && strcmp(vols, want_vol) == 0,
          "reinstall boots from a new root volume and deletes the old (\"%s\")", vols);
    long pid2 = wait_ready(id, ri.hostname);
    snprintf(marker, sizeof marker, "/proc/%ld/root/root/marker", pid2);
    check(pid2 > 0 && pid2 != pid && access(marker, F_OK) != 0,
          "the reinstalled container runs a fresh rootfs: the marker is gone (init PID %ld)", pid2);
    if (pid2)
        check_guest(&ri, pid2, "reinstall");

    struct sw_msg_node_job t = job_of(id, SW_JOB_TERMINATE, NULL);
    rc = run(eng, &t, &out, &err);
    vols_of(eng->conn, id, vols, sizeof vols);
    check(rc == 0 && strcmp(out.domain_state, "absent") == 0 && vols[0] == '\0',
          "terminate leaves no domain and no volume (\"%s\")", vols);
    if (dom)
        virDomainFree(dom);
    if (vol)
        virStorageVolFree(vol);
    if (pool)
        virStoragePoolFree(pool);
}

/* An engine killed mid-build leaves a root volume without its superblock
 * (sent last): the replayed create makes it again and the container runs. */
static void test_unfinished_root(struct sw_engine *eng, const char *id)
{
    char xml[512];
    snprintf(xml, sizeof xml,
             "<volume><name>sw-%s-root-0.raw</name><capacity unit='bytes'>%lld</capacity>"
             "<allocation unit='bytes'>0</allocation><target><format type='raw'/></target>"
             "</volume>",
             id, 1LL << 30);
    virStoragePoolPtr pool = virStoragePoolLookupByName(eng->conn, "slipway");
    virStorageVolPtr vol = pool ? virStorageVolCreateXML(pool, xml, 0) : NULL;
    check(vol != NULL, "a blank root volume left as by an engine killed mid-build");
    struct sw_engine_outcome out;
    struct sw_err err;
    struct sw_msg_node_job j = job_of(id, SW_JOB_CREATE, "container.tar.gz");
    int rc = run(eng, &j, &out, &err);
    long pid = rc == 0 ? wait_ready(id, j.hostname) : 0;
    check(rc == 0 && pid > 0,
          "the replayed create builds it again and the container's init runs (PID %ld)", pid);
    struct sw_msg_node_job t = job_of(id, SW_JOB_TERMINATE, NULL);
    run(eng, &t, &out, &err);
    if (vol)
        virStorageVolFree(vol);
    if (pool)
        virStoragePoolFree(pool);
}

/* A bad tarball fails the create with a reason and leaves nothing. */
static void refused(struct sw_engine *eng, const char *id, const char *file, const char *reason)
{
    struct sw_engine_outcome out;
    struct sw_err err;
    struct sw_msg_node_job j = job_of(id, SW_JOB_CREATE, file);
    int rc = run(eng, &j, &out, &err);
    char vols[512];
    vols_of(eng->conn, id, vols, sizeof vols);
    virDomainPtr dom = virDomainLookupByUUIDString(eng->conn, id);
    virResetLastError();
    check(rc < 0 && err.code == SW_EINVALID && !err.retryable && strstr(err.msg, reason) &&
              vols[0] == '\0' && !dom,
          "%s: the create fails (\"%s\"), no volume, no domain", file, err.msg);
    if (dom)
        virDomainFree(dom);
}

/* ---- backups ---- */

#define BK_ACCOUNT "a0000000-0000-4000-8000-0000000000c1"
static unsigned char bk_key[SW_BK_KEY_BYTES];

/* A backup or restore job of server id for backup bid, job id jid. */
static struct sw_msg_node_job bk_job(const char *id, int type, const char *bid, const char *jid)
{
    struct sw_msg_node_job j = job_of(id, type, NULL);
    snprintf(j.job_id, sizeof j.job_id, "%s", jid);
    snprintf(j.backup.id, sizeof j.backup.id, "%s", bid);
    snprintf(j.backup.account, sizeof j.backup.account, "%s", BK_ACCOUNT);
    snprintf(j.backup.target, sizeof j.backup.target, "{\"kind\":\"dir\",\"path\":\"%s\"}",
             target_dir);
    sodium_bin2base64(j.backup.key, sizeof j.backup.key, bk_key, sizeof bk_key,
                      sodium_base64_VARIANT_ORIGINAL);
    return j;
}

static bool put_marker(long pid, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "/proc/%ld/root/root/marker", pid);
    FILE *f = fopen(path, "w");
    bool ok = f && fputs(text, f) >= 0;
    if (f && fclose(f) != 0)
        ok = false;
    return ok; /* not synced: the backup flushes the node's caches */
}

static void read_marker(long pid, char *out, size_t n)
{
    char path[128];
    snprintf(path, sizeof path, "/proc/%ld/root/root/marker", pid);
    FILE *f = fopen(path, "r");
    out[0] = '\0';
    if (f && fgets(out, (int)n, f))
        out[strcspn(out, "\n")] = '\0';
    if (f)
        fclose(f);
}

/* The root volume's path (libvirt's answer), into out[n]. */
static void root_path(virConnectPtr conn, const char *id, char *out, size_t n)
{
    char vols[512], name[200];
    out[0] = '\0';
    vols_of(conn, id, vols, sizeof vols);
    snprintf(name, sizeof name, "sw-%s-%.40s", id, vols);
    name[strcspn(name, " ")] = '\0';
    virStoragePoolPtr pool = virStoragePoolLookupByName(conn, "slipway");
    virStorageVolPtr vol = pool ? virStorageVolLookupByName(pool, name) : NULL;
    char *p = vol ? virStorageVolGetPath(vol) : NULL;
    snprintf(out, n, "%s", p ? p : "");
    free(p);
    if (vol)
        virStorageVolFree(vol);
    if (pool)
        virStoragePoolFree(pool);
}

/* The root copied (sparse) to copy while the container is paused, as the
 * backup's clone was: the disk at the backup's moment (its init sleeps). */
static int copy_root(virConnectPtr conn, const char *id, const char *copy)
{
    char path[512], cmd[1200];
    root_path(conn, id, path, sizeof path);
    virDomainPtr dom = virDomainLookupByUUIDString(conn, id);
    if (!dom || !path[0] || virDomainSuspend(dom) < 0)
        return -1;
    sync();
    snprintf(cmd, sizeof cmd, "cp --sparse=always '%s' '%s'", path, copy);
    int rc = system(cmd);
    virDomainResume(dom);
    virDomainFree(dom);
    return rc == 0 ? 0 : -1;
}

struct file_sink {
    int fd;
};

static int file_emit(void *arg, uint64_t off, const unsigned char *data, size_t len)
{
    struct file_sink *s = arg;
    return !data || pwrite(s->fd, data, len, (off_t)off) == (ssize_t)len ? 0 : -1;
}

/* Backup bid from the target into the file out (what a restore writes). */
static int restore_file(const char *bid, const char *out)
{
    struct sw_err err;
    sw_err_clear(&err);
    json_t *conf = json_pack("{s:s, s:s}", "kind", "dir", "path", target_dir);
    struct sw_bk_target *t = sw_bk_target_open(conf, &err);
    json_decref(conf);
    struct sw_bk_manifest *m = t ? sw_bk_manifest_load(t, bk_key, BK_ACCOUNT, bid, &err) : NULL;
    struct file_sink s = {open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600)};
    int rc = m && s.fd >= 0 && ftruncate(s.fd, (off_t)m->disk_size) == 0
                 ? sw_bk_restore(t, bk_key, m, file_emit, &s, &err)
                 : -1;
    if (rc < 0)
        printf("# restore into %s: %s (%s)\n", out, err.msg, err.detail);
    if (s.fd >= 0)
        close(s.fd);
    sw_bk_manifest_free(m);
    sw_bk_target_free(t);
    return rc;
}

static int backup_once(struct sw_engine *eng, const char *id, const char *bid,
                       struct sw_engine_outcome *out, double *took)
{
    struct sw_err err;
    struct sw_msg_node_job b = bk_job(id, SW_JOB_BACKUP, bid, "30000000-0000-4000-8000-000000000001");
    double t0 = mono();
    int rc = run(eng, &b, out, &err);
    *took = mono() - t0;
    printf("# backup %s: %.2f s, note \"%s\", read %lld, stored %lld\n", bid, *took, out->note,
           (long long)out->backup.bytes_read, (long long)out->backup.bytes_stored);
    return rc;
}

static void test_backup(struct sw_engine *eng, const char *id)
{
    static const char b1[] = "b1000000-0000-4000-8000-000000000001",
                      b2[] = "b2000000-0000-4000-8000-000000000002";
    struct sw_engine_outcome out;
    struct sw_err err;
    char vols[512], got[128], copy[600], restored[600], cmd[1400];
    randombytes_buf(bk_key, sizeof bk_key);
    struct sw_msg_node_job j = job_of(id, SW_JOB_CREATE, "container.tar.gz");
    long pid = run(eng, &j, &out, &err) == 0 ? wait_ready(id, j.hostname) : 0;
    char shadow[128];
    snprintf(shadow, sizeof shadow, "/proc/%ld/root/etc/shadow", pid);
    for (double t0 = mono(); pid && !file_has(shadow, j.password_hash) && mono() - t0 < 20;)
        usleep(100000); /* the init's last write */
    check(pid > 0 && put_marker(pid, "first backup\n"),
          "backup: a container runs (init PID %ld) and a marker is written into it", pid);

    double took;
    int rc = backup_once(eng, id, b1, &out, &took);
    int64_t stored1 = out.backup.bytes_stored;
    vols_of(eng->conn, id, vols, sizeof vols);
    check(rc == 0 && strstr(out.note, "paused for ") && strstr(out.note, "full read") &&
              !strstr(out.note, "not flushed") && stored1 > 0 && !out.backup.incremental &&
              !out.backup.checkpoint[0] && strcmp(out.domain_state, "running") == 0 &&
              init_pid(id) == pid && strcmp(vols, "root-0.raw") == 0,
          "a running container's backup: paused only for the clone (\"%s\"), %lld bytes stored, "
          "it runs on with the same init, no scratch volume left (\"%s\")",
          out.note, (long long)stored1, vols);
    snprintf(copy, sizeof copy, "%s/../copy1.raw", target_dir);
    snprintf(restored, sizeof restored, "%s/../restored1.raw", target_dir);
    rc = copy_root(eng->conn, id, copy);
    if (rc == 0)
        rc = restore_file(b1, restored);
    snprintf(cmd, sizeof cmd, "qemu-img compare -q -f raw -F raw '%s' '%s'", copy, restored);
    check(rc == 0 && system(cmd) == 0,
          "the backup restored into a file equals the root at the backup's moment (qemu-img "
          "compare)");

    check(put_marker(pid, "second backup\n"), "the marker changed");
    rc = backup_once(eng, id, b2, &out, &took);
    int64_t stored2 = out.backup.bytes_stored;
    check(rc == 0 && stored2 > 0 && stored2 * 10 < stored1 && out.backup.bytes_read > 0,
          "a second backup reads the whole volume again (%lld bytes read) and stores %lld bytes, "
          "%.1f%% of the first's %lld, in %.2f s",
          (long long)out.backup.bytes_read, (long long)stored2, 100.0 * (double)stored2 / (double)(stored1 ? stored1 : 1),
          (long long)stored1, took);

    struct sw_msg_node_job r = bk_job(id, SW_JOB_RESTORE, b1, "40000000-0000-4000-8000-000000000004");
    double t0 = mono();
    rc = run(eng, &r, &out, &err);
    took = mono() - t0;
    vols_of(eng->conn, id, vols, sizeof vols);
    char want[64];
    snprintf(want, sizeof want, "root-%.8s.raw", r.job_id);
    long pid2 = rc == 0 ? wait_ready(id, j.hostname) : 0;
    read_marker(pid2, got, sizeof got);
    check(rc == 0 && strcmp(vols, want) == 0 && pid2 > 0 && pid2 != pid &&
              strcmp(got, "first backup") == 0,
          "the first backup restored onto the server in %.2f s (\"%s\"): it boots from \"%s\" "
          "(the old root deleted) and the first marker is back (\"%s\")",
          took, out.note, vols, got);

    rc = run(eng, &r, &out, &err); /* a replay: found, not written or booted again */
    vols_of(eng->conn, id, vols, sizeof vols);
    check(rc == 0 && !out.booted && strcmp(vols, want) == 0 && init_pid(id) == pid2,
          "the replayed restore finds its root and the running container (\"%s\")", vols);

    struct sw_msg_node_job st = job_of(id, SW_JOB_STOP, NULL);
    rc = run(eng, &st, &out, &err);
    if (rc == 0)
        rc = backup_once(eng, id, "b3000000-0000-4000-8000-000000000003", &out, &took);
    check(rc == 0 && strncmp(out.note, "full read; ", 11) == 0 &&
              strcmp(out.domain_state, "stopped") == 0,
          "a stopped container's backup reads its root without a pause (\"%s\")", out.note);

    /* A restore as a new server (bkctnew.c): the root made and found whole
     * by a replay; the new container's boot is backup_lxc.sh's. */
    struct sw_msg_node_job n = bk_job(id, SW_JOB_CREATE, b1, "50000000-0000-4000-8000-000000000005");
    snprintf(n.server_id, sizeof n.server_id, "%s", "9e4f4253-6f70-4182-93a4-b5c6d7e8f9a0");
    struct sw_msg_disk nroot, again;
    char nnote[96] = "";
    memset(&nroot, 0, sizeof nroot);
    sw_err_clear(&err);
    n.disk_gb = 2;
    t0 = mono();
    rc = sw_bkctnew_root(eng, &n, &nroot, nnote, sizeof nnote, &err);
    took = mono() - t0;
    int found = rc == 0 ? sw_storage_root_find(eng, n.server_id, SW_STORAGE_TAG_CREATE, &again,
                                               &err)
                        : -1;
    check(found == 1 && strcmp(again.volume, nroot.volume) == 0 &&
              again.capacity == 2LL * 1024 * 1024 * 1024,
          "a new server's root from the container's backup in %.2f s (\"%s\", %s), a replay "
          "finds it whole: %s",
          took, nroot.volume, nnote, err.msg);
    n.disk_gb = 0; /* a plan smaller than the backup's disk */
    rc = sw_storage_delete(eng, n.server_id, false, NULL, &err);
    if (rc == 0)
        rc = sw_bkctnew_root(eng, &n, &nroot, nnote, sizeof nnote, &err);
    vols_of(eng->conn, n.server_id, vols, sizeof vols);
    check(rc < 0 && err.code == SW_EUNPROCESSABLE && vols[0] == '\0',
          "onto a plan's disk smaller than the backup's it fails, no volume made: %s", err.msg);
    struct sw_msg_node_job t = job_of(id, SW_JOB_TERMINATE, NULL);
    rc = run(eng, &t, &out, &err);
    vols_of(eng->conn, id, vols, sizeof vols);
    check(rc == 0 && vols[0] == '\0', "terminate leaves no volume (\"%s\")", vols);
    unlink(copy);
    unlink(restored);
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: test_lxc_real URI POOL_PATH PANEL_URL TOKEN DIR TARGET\n");
        return 2;
    }
    dir = argv[5];
    target_dir = argv[6];
    if (sodium_init() < 0)
        return 2;
    sw_log_init("test", "info");
    struct sw_err err;
    sw_err_clear(&err);
    if (sw_virt_init(&err) < 0)
        return 2;
    virConnectPtr conn = sw_virt_open(argv[1], &err);
    if (!conn) {
        printf("# %s: %s\n", err.msg, err.detail);
        return 2;
    }
    struct sw_image_source src = {.panel_url = argv[3], .token = argv[4], .timeout_s = 120};
    struct sw_engine eng;
    memset(&eng, 0, sizeof eng);
    eng.conn = conn;
    eng.hv = sw_hypervisor_from_uri(argv[1], &err);
    eng.domain_type = sw_virt_domain_type(conn, eng.hv);
    eng.templates_dir = SW_TEST_SRCDIR "/templates";
    /* The node's one pool "slipway", a dir pool the engine makes at a path
     * short enough for LXC's loop mounts (SW_ROOTFS_LXC_PATH_MAX). */
    struct sw_engine_pool pool = {.name = "slipway", .type = "dir", .fill_threshold = 100};
    snprintf(pool.path, sizeof pool.path, "%s", argv[2]);
    eng.pools = &pool;
    eng.npools = 1;
    eng.images = &src;
    eng.kinds = 1u << SW_KIND_CONTAINER;
    eng.stop_timeout_ms = 3000;
    bool filtered = false;
    int frc = sw_nwfilter_define(conn, eng.templates_dir, &filtered, &err);
    check(frc == 0, "the engine defines slipway's guest filters on the node (%s)",
          frc == 0 ? "ok" : err.detail);
    int before = leftovers();
    test_lifecycle(&eng, "5a0c0e1f-2b3c-4d5e-8f60-718293a4b5c6");
    test_unfinished_root(&eng, "8d3f3142-5e6f-4071-8293-a4b5c6d7e8f9");
    test_backup(&eng, "4e9a2b3c-4d5e-4f60-8172-8394a5b6c7d8");
    refused(&eng, "6b1d1f20-3c4d-4e5f-8071-8293a4b5c6d7", "evil.tar.gz", "outside its root");
    refused(&eng, "7c2e2031-4d5e-4f60-8182-93a4b5c6d7e8", "trunc.tar.gz", "damaged or truncated");
    check(leftovers() == before, "no build directory is left on the engine's host");
    virConnectClose(conn);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
