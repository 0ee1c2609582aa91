/* ctdisk.c - a container's root filesystem changed offline (ctdisk.h). */
#include "config.h"
#include "engines/ctdisk.h"
#include "engines/storage.h"
#include "engines/virt.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"

#include <libvirt/virterror.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define GIB (1024LL * 1024 * 1024)
#define HEAD 4096
/* A filesystem this close to its volume's end fills it: resize2fs drops a
 * last block group too small to hold its own metadata. */
#define FILLS_SLACK (16LL * 1024 * 1024)

/* ---- pure ---- */

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int64_t sw_ctdisk_fs_bytes(const unsigned char *head, size_t n)
{
    if (n < 2048)
        return -1;
    const unsigned char *sb = head + 1024;
    if (sb[0x38] != 0x53 || sb[0x39] != 0xEF) /* s_magic */
        return -1;
    uint32_t log = le32(sb + 0x18); /* s_log_block_size: 1024 << it */
    if (log > 6)
        return -1;
    uint64_t blocks = le32(sb + 0x04);  /* s_blocks_count_lo */
    if (le32(sb + 0x60) & 0x80)         /* INCOMPAT_64BIT */
        blocks |= (uint64_t)le32(sb + 0x150) << 32; /* s_blocks_count_hi */
    return (int64_t)(blocks * (1024ULL << log));
}

char *sw_ctdisk_shadow_set(const char *shadow, const char *user, const char *hash)
{
    size_t ul = strlen(user);
    for (const char *line = shadow; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > ul && strncmp(line, user, ul) == 0 && line[ul] == ':') {
            const char *field = line + ul + 1, *rest = memchr(field, ':', len - ul - 1);
            if (!rest)
                rest = line + len;
            return sw_asprintf("%.*s%s%s", (int)(field - shadow), shadow, hash, rest);
        }
        line += len + (end != NULL);
    }
    return NULL;
}

/* ---- e2fsprogs ---- */

/* Runs args (an e2fsprogs program and its arguments, at most 8) under
 * timeout(1); its exit code, the last line of its output in last[n]. */
static int tool(const char *work, const char *const args[], char *last, size_t n)
{
    char limit[16], *log = sw_asprintf("%s/tool.log", work);
    snprintf(limit, sizeof limit, "%d", SW_CTDISK_TOOL_TIMEOUT_S);
    char *argv[13] = {"timeout", "-k", "5", limit};
    for (size_t i = 0; i < 8 && args[i]; i++)
        argv[4 + i] = (char *)args[i];
    int code = sw_rootfs_run(argv, log);
    sw_rootfs_last_line(log, last, n);
    if (code < 0)
        snprintf(last, n, "%s", strerror(errno));
    unlink(log);
    free(log);
    return code;
}

static int tool_failed(const char *prog, int code, const char *last, const char *what,
                       const char *why, struct sw_err *err)
{
    SW_ERR(err, code == 124 ? SW_EUNAVAILABLE : SW_EINVALID, "%s: %s%s", what, why,
           code == 124 ? " (timed out)" : "");
    err->retryable = code == 124;
    sw_err_detail(err, "%s exited %d: %s", prog, code, last);
    return -1;
}

int sw_ctdisk_check(const char *work, const char *image, const char *what, const char *why,
                    struct sw_err *err)
{
    char last[256];
    const char *const args[] = {"e2fsck", "-f", "-y", image, NULL};
    int code = tool(work, args, last, sizeof last);
    if (code >= 0 && code <= 2)
        return 0;
    return tool_failed("e2fsck", code, last, what, why, err);
}

int sw_ctdisk_grow_image(const char *work, const char *image, long long bytes, const char *what,
                         struct sw_err *err)
{
    char last[256];
    if (truncate(image, (off_t)bytes) < 0) {
        SW_ERR(err, SW_EINTERNAL, "%s: the engine's host has no room to assemble it", what);
        sw_err_detail(err, "truncate %s: %s", image, strerror(errno));
        return -1;
    }
    const char *const args[] = {"resize2fs", image, NULL};
    int code = tool(work, args, last, sizeof last);
    if (code == 0)
        return 0;
    return tool_failed("resize2fs", code, last, what, "its root filesystem could not be grown",
                       err);
}

/* The directory /rel[0, len) is one in image: debugfs's "cd" into it says
 * nothing after its banner. */
static bool dir_exists(const char *work, const char *image, const char *rel, size_t len)
{
    char last[256], *req = sw_asprintf("cd /%.*s", (int)len, rel);
    const char *const args[] = {"debugfs", "-R", req, image, NULL};
    bool yes = tool(work, args, last, sizeof last) == 0 && strncmp(last, "debugfs ", 8) == 0;
    free(req);
    return yes;
}

/* Each missing directory above rel made, then rel replaced by the local
 * file src, owned by root with mode, as debugfs requests. debugfs 1.47's
 * "mkdir" of a directory that exists damages the filesystem (it leaves an
 * unconnected inode e2fsck then finds), so each is probed first; a
 * missing file makes "rm" complain, harmlessly (the read-back decides).
 * Links inside the image resolve inside it, as for the container. */
static void script_file(FILE *f, const char *work, const char *image, const char *rel,
                        const char *src, int mode)
{
    bool missing = false;
    for (const char *c = strchr(rel, '/'); c; c = strchr(c + 1, '/')) {
        missing = missing || !dir_exists(work, image, rel, (size_t)(c - rel));
        if (missing)
            fprintf(f, "mkdir /%.*s\n", (int)(c - rel), rel);
    }
    fprintf(f, "rm /%s\nwrite %s /%s\n", rel, src, rel);
    fprintf(f, "sif /%s mode 0%o\nsif /%s uid 0\nsif /%s gid 0\n", rel, 0100000 | mode, rel, rel);
}

/* The texts into work/g<i>, the debugfs requests into work/write and
 * those that dump them back into work/read (as work/v<i>). */
static int scripts(const char *work, const char *image, const struct sw_rootfs_file *g, size_t nf,
                   const char *what, struct sw_err *err)
{
    int dir = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = dir < 0 ? -1 : 0;
    char *w = sw_asprintf("%s/write", work), *r = sw_asprintf("%s/read", work);
    FILE *fw = fopen(w, "we"), *fr = fopen(r, "we");
    for (size_t i = 0; rc == 0 && i < nf; i++) {
        char name[24], *src = sw_asprintf("%s/g%zu", work, i);
        snprintf(name, sizeof name, "g%zu", i);
        rc = sw_rootfs_write_at(dir, name, g[i].text, 0600, err);
        if (fw && fr) {
            script_file(fw, work, image, g[i].rel, src, g[i].mode);
            fprintf(fr, "dump -p /%s %s/v%zu\n", g[i].rel, work, i);
        }
        free(src);
    }
    if ((fw && fclose(fw) != 0) || (fr && fclose(fr) != 0) || !fw || !fr || rc < 0) {
        SW_ERR(err, SW_EINTERNAL, "%s: the engine's host could not write its files", what);
        rc = -1;
    }
    if (dir >= 0)
        close(dir);
    free(w);
    free(r);
    return rc;
}

/* The file path holds exactly text with mode. */
static bool same_file(const char *path, const char *text, int mode)
{
    struct stat st;
    size_t n = strlen(text);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    bool ok = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
              (st.st_mode & 07777) == (mode_t)mode && (size_t)st.st_size == n;
    char *buf = ok ? sw_malloc(n + 1) : NULL;
    ok = ok && read(fd, buf, n + 1) == (ssize_t)n && memcmp(buf, text, n) == 0;
    if (buf)
        sodium_memzero(buf, n + 1); /* user-data and shadow hold password hashes */
    free(buf);
    if (fd >= 0)
        close(fd);
    return ok;
}

static bool work_usable(const char *work, const char *what, struct sw_err *err)
{
    if (!strpbrk(work, " \t\n\"'\\#")) /* debugfs requests split on blanks */
        return true;
    SW_ERR(err, SW_EINTERNAL, "%s: the engine's work directory has an unusable name", what);
    sw_err_detail(err, "%s", work);
    return false;
}

int sw_ctdisk_write(const char *work, const char *image, const struct sw_rootfs_file *g, size_t nf,
                    const char *what, struct sw_err *err)
{
    if (!work_usable(work, what, err))
        return -1;
    char last[256] = "", *w = sw_asprintf("%s/write", work), *r = sw_asprintf("%s/read", work);
    const char *const wargs[] = {"debugfs", "-w", "-f", w, image, NULL};
    const char *const rargs[] = {"debugfs", "-f", r, image, NULL};
    int rc = scripts(work, image, g, nf, what, err), code = 0;
    if (rc == 0 && ((code = tool(work, wargs, last, sizeof last)) != 0 ||
                    (code = tool(work, rargs, last, sizeof last)) != 0))
        rc = tool_failed("debugfs", code, last, what, "its root filesystem could not be written",
                         err);
    for (size_t i = 0; rc == 0 && i < nf; i++) {
        char *v = sw_asprintf("%s/v%zu", work, i);
        if (!same_file(v, g[i].text, g[i].mode)) {
            SW_ERR(err, SW_EINVALID, "%s: /%s could not be written into its root filesystem",
                   what, g[i].rel);
            sw_err_detail(err, "debugfs read back other content or mode than it wrote (%s)", last);
            rc = -1;
        }
        free(v);
    }
    for (size_t i = 0; i < nf; i++) { /* the copies hold password hashes */
        char *p = sw_asprintf("%s/g%zu", work, i), *v = sw_asprintf("%s/v%zu", work, i);
        unlink(p);
        unlink(v);
        free(p);
        free(v);
    }
    free(w);
    free(r);
    return rc;
}

/* ---- the volume, down and up ---- */

/* libvirt's last error into err; what is this file's "could not ..."
 * prefix, which sw_virt_error adds itself. */
static void vir_fail(struct sw_err *err, const char *what)
{
    sw_virt_error(err, strncmp(what, "could not ", 10) == 0 ? what + 10 : what);
}

struct sink {
    int fd;
    int err_no;
};

static int sink_data(virStreamPtr st, const char *data, size_t n, void *opaque)
{
    (void)st;
    struct sink *s = opaque;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(s->fd, data + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            s->err_no = w < 0 ? errno : ENOSPC;
            return -1;
        }
        done += (size_t)w;
    }
    return (int)n;
}

static int sink_hole(virStreamPtr st, long long len, void *opaque)
{
    (void)st;
    struct sink *s = opaque;
    if (lseek(s->fd, (off_t)len, SEEK_CUR) < 0) {
        s->err_no = errno;
        return -1;
    }
    return 0;
}

/* vol's first bytes [0, n) into buf through a download (no stream of its
 * whole). 1 read, 0 libvirt cannot read volumes (the test driver), -1
 * with err set. */
static int read_head(virStorageVolPtr vol, unsigned char *buf, size_t n, const char *what,
                     struct sw_err *err)
{
    virStreamPtr st = virStreamNew(virStorageVolGetConnect(vol), 0);
    size_t got = 0;
    int r = 0;
    if (!st || virStorageVolDownload(vol, st, 0, n, 0) < 0) {
        virErrorPtr e = virGetLastError();
        bool nosup = e && (e->code == VIR_ERR_NO_SUPPORT ||
                           e->code == VIR_ERR_OPERATION_UNSUPPORTED);
        if (st)
            virStreamFree(st);
        if (nosup) {
            virResetLastError();
            return 0;
        }
        vir_fail(err, what);
        return -1;
    }
    while (got < n && (r = virStreamRecv(st, (char *)buf + got, n - got)) > 0)
        got += (size_t)r;
    if (got == n && virStreamFinish(st) == 0) {
        virStreamFree(st);
        return 1;
    }
    virStreamAbort(st);
    virStreamFree(st);
    SW_ERR_RETRY(err, SW_EUNAVAILABLE, "%s: its disk could not be read", what);
    sw_err_detail(err, "read %zu of %zu bytes of its head", got, n);
    virResetLastError();
    return -1;
}

/* The whole volume into the new file image, sparse, of the volume's size. */
static int download(virStorageVolPtr vol, const char *image, int64_t size, const char *what,
                    struct sw_err *err)
{
    struct sink s = {open(image, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600), 0};
    if (s.fd < 0) {
        SW_ERR(err, SW_EINTERNAL, "%s: the engine's host has no room for its disk", what);
        sw_err_detail(err, "%s: %s", image, strerror(errno));
        return -1;
    }
    virStreamPtr st = virStreamNew(virStorageVolGetConnect(vol), 0);
    int rc = -1;
    if (!st || virStorageVolDownload(vol, st, 0, 0, VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM) < 0) {
        vir_fail(err, what);
    } else if (virStreamSparseRecvAll(st, sink_data, sink_hole, &s) < 0 ||
               virStreamFinish(st) < 0) {
        virStreamAbort(st);
        if (s.err_no) {
            SW_ERR(err, SW_EINTERNAL, "%s: the engine's host has no room for its disk", what);
            sw_err_detail(err, "%s: %s", image, strerror(s.err_no));
        } else {
            vir_fail(err, what);
        }
    } else if (ftruncate(s.fd, (off_t)size) < 0) {
        SW_ERR(err, SW_EINTERNAL, "%s: the engine's host has no room for its disk", what);
        sw_err_detail(err, "ftruncate %s: %s", image, strerror(errno));
    } else {
        rc = 0;
    }
    if (st)
        virStreamFree(st);
    close(s.fd);
    return rc;
}

static virStorageVolPtr vol_open(struct sw_engine *eng, const struct sw_msg_disk *disk,
                                 const char *what, struct sw_err *err)
{
    virStoragePoolPtr pool = virStoragePoolLookupByName(eng->conn, disk->pool);
    virStorageVolPtr vol = pool ? virStorageVolLookupByName(pool, disk->volume) : NULL;
    if (!vol)
        vir_fail(err, what);
    if (pool)
        virStoragePoolFree(pool);
    return vol;
}

/* One offline change of a stopped container's root: the volume into
 * work/root.ext4, checked, edit(), uploaded back (superblock last). */
typedef int edit_fn(const char *work, const char *image, void *ctx, struct sw_err *err);

static int offline(virStorageVolPtr vol, int64_t size, const char *what, edit_fn *edit, void *ctx,
                   struct sw_err *err)
{
    char *work = sw_rootfs_work_dir(err);
    if (!work)
        return -1;
    char *image = sw_asprintf("%s/root.ext4", work);
    int rc = download(vol, image, size, what, err) < 0 ||
                     sw_ctdisk_check(work, image, what, "its root filesystem is damaged", err) < 0 ||
                     edit(work, image, ctx, err) < 0 || sw_rootfs_upload(vol, image, err) < 0
                 ? -1
                 : 0;
    sw_rootfs_work_remove(work);
    free(image);
    free(work);
    return rc;
}

/* ---- resize ---- */

struct grow_ctx {
    const char *what;
    int64_t bytes;
};

static int grow_edit(const char *work, const char *image, void *ctx, struct sw_err *err)
{
    struct grow_ctx *g = ctx;
    return sw_ctdisk_grow_image(work, image, g->bytes, g->what, err);
}

int sw_ctdisk_grow(struct sw_engine *eng, const struct sw_msg_disk *disk,
                   const struct sw_msg_node_job *job, char *note, size_t n, struct sw_err *err)
{
    static const char what[] = "could not grow the server's filesystem";
    virStorageVolPtr vol = vol_open(eng, disk, what, err);
    if (!vol)
        return -1;
    virStorageVolInfo info;
    unsigned char head[HEAD];
    int rc = virStorageVolGetInfo(vol, &info) < 0 ? -1 : 0, r = 0;
    if (rc < 0)
        vir_fail(err, what);
    else
        r = read_head(vol, head, sizeof head, what, err);
    int64_t fs = r > 0 ? sw_ctdisk_fs_bytes(head, sizeof head) : -1, cap = (int64_t)info.capacity;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (rc < 0 || r < 0) {
        rc = -1;
    } else if (r == 0) {
        /* the test driver: its volumes hold no filesystem to grow */
        sw_warn("ctdisk.grow_unsupported", "server=%s volume=%s", job->server_id, disk->volume);
    } else if (fs >= 0 && fs + FILLS_SLACK < cap) {
        struct grow_ctx g = {what, cap};
        rc = offline(vol, cap, what, grow_edit, &g, err);
        if (rc == 0)
            snprintf(note, n, "filesystem grown to %lld GB", (long long)(cap / GIB));
    }
    /* else: it fills its volume already (a replay), or holds none (blank) */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    sw_info("ctdisk.grow", "server=%s volume=%s ok=%d fs_bytes=%lld capacity=%lld note=\"%s\" ms=%lld",
            job->server_id, disk->volume, rc == 0, (long long)fs, (long long)cap, note,
            (long long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    virStorageVolFree(vol);
    return rc;
}

/* The domain's state name (virt.c's names), or -1 with err set. */
static virDomainPtr lookup_state(struct sw_engine *eng, const struct sw_msg_node_job *job,
                                 const char *what, bool *stopped, struct sw_err *err)
{
    virDomainPtr dom = sw_virt_lookup(eng, job->server_id, what, err);
    if (!dom)
        return NULL;
    char st[24];
    sw_virt_state_name(dom, st);
    if (!st[0]) {
        vir_fail(err, what);
        virDomainFree(dom);
        return NULL;
    }
    *stopped = strcmp(st, SW_DOMAIN_STOPPED) == 0;
    return dom;
}

int sw_ctdisk_resize(struct sw_engine *eng, const struct sw_engine_driver *drv,
                     const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                     struct sw_err *err)
{
    static const char what[] = "could not resize the server";
    bool stopped = false;
    virDomainPtr dom = lookup_state(eng, job, what, &stopped, err);
    if (!dom)
        return -1;
    virDomainFree(dom);
    struct sw_msg_disk root;
    int found = sw_storage_root_find(eng, job->server_id, NULL, &root, err);
    if (found < 0)
        return -1;
    if (!stopped && found > 0 && job->disk_gb * GIB > root.capacity) {
        SW_ERR(err, SW_EUNSUPPORTED,
               "%s: stop the container to grow its disk (its filesystem is mounted while it runs)",
               what);
        return -1;
    }
    if (sw_virt_resize(eng, drv, job, out, err) < 0)
        return -1;
    if (!stopped || found == 0 || sw_storage_root_find(eng, job->server_id, NULL, &root, err) <= 0)
        return 0;
    char note[80] = "";
    if (sw_ctdisk_grow(eng, &root, job, note, sizeof note, err) < 0)
        return -1;
    size_t len = strlen(out->note);
    if (note[0])
        snprintf(out->note + len, sizeof out->note - len, "%s%s", len ? "; " : "", note);
    return 0;
}

/* ---- reset_password ---- */

struct pw_ctx {
    const struct sw_msg_node_job *job;
    const char *what;
};

/* /etc/shadow dumped from image into work/shadow; its text (owned) and
 * mode, or NULL with err set. */
static char *shadow_read(const char *work, const char *image, int *mode, const char *what,
                         struct sw_err *err)
{
    char last[256], *req = sw_asprintf("dump -p /etc/shadow %s/shadow", work);
    char *path = sw_asprintf("%s/shadow", work), *text = NULL;
    const char *const args[] = {"debugfs", "-R", req, image, NULL};
    int code = tool(work, args, last, sizeof last);
    struct stat st;
    int fd = code == 0 ? open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < (1 << 20)) {
        text = sw_malloc((size_t)st.st_size + 1);
        if (read(fd, text, (size_t)st.st_size) != (ssize_t)st.st_size) {
            free(text);
            text = NULL;
        } else {
            text[st.st_size] = '\0';
            *mode = (int)(st.st_mode & 07777);
        }
    }
    if (fd >= 0)
        close(fd);
    if (!text) {
        SW_ERR(err, SW_EINVALID, "%s: the container's root filesystem has no readable /etc/shadow",
               what);
        sw_err_detail(err, "debugfs exited %d: %s", code, last);
    }
    unlink(path);
    free(path);
    free(req);
    return text;
}

static int pw_edit(const char *work, const char *image, void *ctx, struct sw_err *err)
{
    struct pw_ctx *p = ctx;
    if (!work_usable(work, p->what, err))
        return -1;
    struct sw_rootfs_file f[SW_ROOTFS_GUEST_FILES + 1];
    int mode = 0640;
    char *old = shadow_read(work, image, &mode, p->what, err);
    char *shadow = old ? sw_ctdisk_shadow_set(old, "root", p->job->password_hash) : NULL;
    if (old && !shadow) {
        SW_ERR(err, SW_EINVALID, "%s: the container's /etc/shadow has no entry for root", p->what);
    }
    int rc = -1;
    if (shadow && sw_rootfs_guest_files(p->job, f, err) == 0) {
        memset(&f[SW_ROOTFS_GUEST_FILES], 0, sizeof f[0]);
        snprintf(f[SW_ROOTFS_GUEST_FILES].rel, sizeof f[0].rel, "etc/shadow");
        f[SW_ROOTFS_GUEST_FILES].text = shadow;
        f[SW_ROOTFS_GUEST_FILES].mode = mode;
        rc = sw_ctdisk_write(work, image, f, SW_ROOTFS_GUEST_FILES + 1, p->what, err);
        sw_rootfs_guest_files_release(f);
    }
    if (old)
        sodium_memzero(old, strlen(old));
    if (shadow)
        sodium_memzero(shadow, strlen(shadow));
    free(old);
    free(shadow);
    return rc;
}

int sw_ctdisk_reset_password(struct sw_engine *eng, const struct sw_engine_driver *drv,
                             const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                             struct sw_err *err)
{
    (void)drv;
    static const char what[] = "could not reset the password";
    if (!sw_virt_crypt_hash_valid(job->password_hash)) {
        SW_ERR(err, SW_EINVALID, "%s: the password hash is not a crypt(3) hash", what);
        return -1;
    }
    bool stopped = false;
    virDomainPtr dom = lookup_state(eng, job, what, &stopped, err);
    if (!dom)
        return -1;
    virDomainFree(dom);
    if (!stopped) {
        SW_ERR(err, SW_EUNSUPPORTED,
               "%s: stop the container to reset its password (a running container has no guest "
               "agent, and its root filesystem is mounted)",
               what);
        return -1;
    }
    struct sw_msg_disk root;
    int found = sw_storage_root_find(eng, job->server_id, NULL, &root, err);
    if (found <= 0) {
        if (found == 0)
            SW_ERR(err, SW_ENOTFOUND, "%s: the container has no root disk", what);
        return -1;
    }
    virStorageVolPtr vol = vol_open(eng, &root, what, err);
    if (!vol)
        return -1;
    struct pw_ctx p = {job, what};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = offline(vol, root.capacity, what, pw_edit, &p, err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    virStorageVolFree(vol);
    sw_info("ctdisk.password", "server=%s volume=%s ok=%d ms=%lld", job->server_id, root.volume,
            rc == 0, (long long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    if (rc == 0)
        snprintf(out->note, sizeof out->note,
                 "password written into the stopped container's /etc/shadow and its NoCloud files");
    return rc;
}
