/* bkctnew.c - a container's backup restored as a new server (bkctnew.h). */
#include "config.h"
#include "engines/bkctnew.h"
#include "engines/backup.h"
#include "engines/bkrestore.h"
#include "engines/rootfs.h"
#include "engines/storage.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WHAT "could not restore the backup as a new server"
#define GIB (1024LL * 1024 * 1024)

static long long ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)(t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* ---- the backup into a local image ---- */

struct image_sink {
    int fd;
    int err_no;
};

static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Writes a chunk at its offset; holes and zero chunks stay sparse. */
static int image_emit(void *ctx, uint64_t off, const unsigned char *data, size_t len)
{
    struct image_sink *s = ctx;
    if (!data || all_zero(data, len))
        return 0;
    while (len > 0) {
        ssize_t w = pwrite(s->fd, data, len, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            s->err_no = w < 0 ? errno : ENOSPC;
            return -1;
        }
        data += w, off += (uint64_t)w, len -= (size_t)w;
    }
    return 0;
}

/* The job's backup, every chunk verified, into the new file image sized
 * to the backup's disk (*size). 0, or -1 with err set. */
static int image_restore(struct sw_engine *eng, const struct sw_msg_node_job *job,
                         const char *image, uint64_t *size, struct sw_err *err)
{
    struct image_sink s = {open(image, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600), 0};
    if (s.fd < 0) {
        SW_ERR(err, SW_EINTERNAL, WHAT ": the engine's host has no room to assemble it");
        sw_err_detail(err, "%s: %s", image, strerror(errno));
        return -1;
    }
    int rc = sw_engine_backup_restore_each(eng, job, image_emit, &s, size, err);
    if (rc == 0 && ftruncate(s.fd, (off_t)*size) < 0)
        s.err_no = errno, rc = -1;
    if (s.err_no) {
        SW_ERR(err, SW_EINTERNAL, WHAT ": the engine's host has no room to assemble it");
        sw_err_detail(err, "%s: %s", image, strerror(s.err_no));
    }
    close(s.fd);
    return rc;
}

/* ---- e2fsprogs ---- */

/* Runs args (an e2fsprogs program and its arguments, at most 8) under
 * timeout(1); its exit code, the last line of its output in last[n]. */
static int tool(const char *work, const char *const args[], char *last, size_t n)
{
    char limit[16], *log = sw_asprintf("%s/tool.log", work);
    snprintf(limit, sizeof limit, "%d", SW_BKCTNEW_TOOL_TIMEOUT_S);
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

static int tool_failed(const char *prog, int code, const char *last, const char *why,
                       struct sw_err *err)
{
    SW_ERR(err, code == 124 ? SW_EUNAVAILABLE : SW_EINVALID, WHAT ": %s%s", why,
           code == 124 ? " (timed out)" : "");
    err->retryable = code == 124;
    sw_err_detail(err, "%s exited %d: %s", prog, code, last);
    return -1;
}

/* e2fsck -f -y: a root cloned from a running container was mounted, so
 * its journal is replayed here (debugfs would write beside it, and the
 * journal replayed at the container's mount would undo the new files);
 * resize2fs wants a checked filesystem too. Exit codes 1 and 2 say it
 * fixed something, which a crash-consistent clone may need. */
static int image_check(const char *work, const char *image, struct sw_err *err)
{
    char last[256];
    const char *const args[] = {"e2fsck", "-f", "-y", image, NULL};
    int code = tool(work, args, last, sizeof last);
    if (code >= 0 && code <= 2)
        return 0;
    return tool_failed("e2fsck", code, last, "the backup's root filesystem is damaged", err);
}

/* The image's file and filesystem grown to bytes (resize2fs to the file's
 * size). 0, or -1 with err set. */
static int image_grow(const char *work, const char *image, long long bytes, struct sw_err *err)
{
    char last[256];
    if (truncate(image, (off_t)bytes) < 0) {
        SW_ERR(err, SW_EINTERNAL, WHAT ": the engine's host has no room to assemble it");
        sw_err_detail(err, "truncate %s: %s", image, strerror(errno));
        return -1;
    }
    const char *const args[] = {"resize2fs", image, NULL};
    int code = tool(work, args, last, sizeof last);
    if (code == 0)
        return 0;
    return tool_failed("resize2fs", code, last, "its root filesystem could not be grown", err);
}

/* ---- the new server's files ---- */

/* Each directory above rel, then rel replaced by the local file src,
 * owned by root with mode, as debugfs requests. A directory that exists
 * makes mkdir complain, a missing file rm: both harmless (debugfs goes
 * on; the read-back decides). Links inside the image resolve inside it,
 * as they do for the container that boots it. */
static void script_file(FILE *f, const char *rel, const char *src, int mode)
{
    for (const char *c = strchr(rel, '/'); c; c = strchr(c + 1, '/'))
        fprintf(f, "mkdir /%.*s\n", (int)(c - rel), rel);
    fprintf(f, "rm /%s\nwrite %s /%s\n", rel, src, rel);
    fprintf(f, "sif /%s mode 0%o\nsif /%s uid 0\nsif /%s gid 0\n", rel, 0100000 | mode, rel, rel);
}

/* The texts into work/g<i>, the debugfs requests into work/write and
 * those that dump them back into work/read (as work/v<i>). */
static int scripts(const char *work, const struct sw_rootfs_file *g, struct sw_err *err)
{
    int dir = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = dir < 0 ? -1 : 0;
    char *w = sw_asprintf("%s/write", work), *r = sw_asprintf("%s/read", work);
    FILE *fw = fopen(w, "we"), *fr = fopen(r, "we");
    for (int i = 0; rc == 0 && i < SW_ROOTFS_GUEST_FILES; i++) {
        char name[8], *src = sw_asprintf("%s/g%d", work, i);
        snprintf(name, sizeof name, "g%d", i);
        rc = sw_rootfs_write_at(dir, name, g[i].text, 0600, err);
        if (fw && fr) {
            script_file(fw, g[i].rel, src, g[i].mode);
            fprintf(fr, "dump -p /%s %s/v%d\n", g[i].rel, work, i);
        }
        free(src);
    }
    if ((fw && fclose(fw) != 0) || (fr && fclose(fr) != 0) || !fw || !fr || rc < 0) {
        SW_ERR(err, SW_EINTERNAL, WHAT ": the engine's host could not write its files");
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
        sodium_memzero(buf, n + 1); /* user-data holds the password hash */
    free(buf);
    if (fd >= 0)
        close(fd);
    return ok;
}

/* debugfs -w writes the files; debugfs dumps them back, and each must be
 * what was meant: debugfs's exit code does not say a request failed. */
static int image_rewrite(const char *work, const char *image, const struct sw_rootfs_file *g,
                         struct sw_err *err)
{
    if (strpbrk(work, " \t\n\"'\\#")) { /* debugfs requests split on blanks */
        SW_ERR(err, SW_EINTERNAL, WHAT ": the engine's work directory has an unusable name");
        sw_err_detail(err, "%s", work);
        return -1;
    }
    char last[256] = "", *w = sw_asprintf("%s/write", work), *r = sw_asprintf("%s/read", work);
    const char *const wargs[] = {"debugfs", "-w", "-f", w, image, NULL};
    const char *const rargs[] = {"debugfs", "-f", r, image, NULL};
    int rc = scripts(work, g, err), code = 0;
    if (rc == 0 && ((code = tool(work, wargs, last, sizeof last)) != 0 ||
                    (code = tool(work, rargs, last, sizeof last)) != 0))
        rc = tool_failed("debugfs", code, last, "its root filesystem could not be written", err);
    for (int i = 0; rc == 0 && i < SW_ROOTFS_GUEST_FILES; i++) {
        char *v = sw_asprintf("%s/v%d", work, i);
        if (!same_file(v, g[i].text, g[i].mode)) {
            SW_ERR(err, SW_EINVALID, WHAT ": /%s could not be written into its root filesystem",
                   g[i].rel);
            sw_err_detail(err, "debugfs read back other content or mode than it wrote (%s)", last);
            rc = -1;
        }
        free(v);
    }
    free(w);
    free(r);
    return rc;
}

/* ---- into the volume ---- */

/* The create's blank raw root of the plan's disk (storage.c makes it as
 * for a container without an image), then the image uploaded into it. */
static int volume_upload(struct sw_engine *eng, const struct sw_msg_node_job *job,
                         const char *image, struct sw_msg_disk *root, struct sw_err *err)
{
    struct sw_msg_node_job *blank = sw_malloc(sizeof *blank);
    *blank = *job;
    blank->image_sha256[0] = '\0';
    bool made = false;
    int rc = sw_storage_root_ensure(eng, blank, SW_STORAGE_TAG_CREATE, root, &made, err);
    sodium_memzero(blank, sizeof *blank); /* it held the job's secrets */
    free(blank);
    if (rc < 0)
        return -1;
    virStoragePoolPtr pool = virStoragePoolLookupByName(eng->conn, root->pool);
    virStorageVolPtr vol = pool ? virStorageVolLookupByName(pool, root->volume) : NULL;
    if (!vol) {
        SW_ERR(err, SW_EUNAVAILABLE, WHAT ": its disk vanished while it was written");
        err->retryable = true;
        rc = -1;
    } else {
        rc = sw_rootfs_upload(vol, image, err);
    }
    if (vol)
        virStorageVolFree(vol);
    if (pool)
        virStoragePoolFree(pool);
    return rc;
}

/* ---- the whole ---- */

/* Assembles the image under work; *grown says it was grown. */
static int image_assemble(struct sw_engine *eng, const struct sw_msg_node_job *job,
                          const char *work, const char *image, bool *grown, struct sw_err *err)
{
    long long bytes = (long long)job->disk_gb * GIB;
    uint64_t size = 0;
    struct sw_rootfs_file g[SW_ROOTFS_GUEST_FILES];
    if (image_restore(eng, job, image, &size, err) < 0)
        return -1;
    if ((long long)size > bytes) {
        SW_ERR(err, SW_EUNPROCESSABLE,
               WHAT ": the plan's disk of %lld GB is smaller than the backup's of %llu bytes",
               (long long)job->disk_gb, (unsigned long long)size);
        return -1;
    }
    *grown = (long long)size < bytes;
    if (image_check(work, image, err) < 0 || (*grown && image_grow(work, image, bytes, err) < 0) ||
        sw_rootfs_guest_files(job, g, err) < 0)
        return -1;
    int rc = image_rewrite(work, image, g, err);
    sw_rootfs_guest_files_release(g);
    return rc;
}

int sw_bkctnew_root(struct sw_engine *eng, const struct sw_msg_node_job *job,
                    struct sw_msg_disk *root, char *note, size_t n, struct sw_err *err)
{
    char *work = sw_rootfs_work_dir(err);
    if (!work)
        return -1;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char *image = sw_asprintf("%s/root.ext4", work);
    bool grown = false;
    int rc = image_assemble(eng, job, work, image, &grown, err);
    long long assembled = ms_since(&t0);
    if (rc == 0)
        rc = volume_upload(eng, job, image, root, err);
    sw_rootfs_work_remove(work);
    sw_info("bkctnew.root", "server=%s backup=%s ok=%d grown=%d volume=%s assemble_ms=%lld ms=%lld",
            job->server_id, job->backup.id, rc == 0, grown, root->volume[0] ? root->volume : "-",
            assembled, ms_since(&t0));
    if (rc == 0 && grown)
        snprintf(note, n, "root filesystem grown to %lld GB", (long long)job->disk_gb);
    free(image);
    free(work);
    return rc;
}

int sw_bkctnew_create(struct sw_engine *eng, const struct sw_engine_driver *drv,
                      const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                      struct sw_err *err)
{
    return sw_bkrestore_create_with(eng, drv, job, sw_bkctnew_root, out, err);
}
