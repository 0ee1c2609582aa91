/* bkctnew.c - a container's backup restored as a new server (bkctnew.h). */
#include "config.h"
#include "engines/bkctnew.h"
#include "engines/backup.h"
#include "engines/bkrestore.h"
#include "engines/ctdisk.h"
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
    if (sw_ctdisk_check(work, image, WHAT, "the backup's root filesystem is damaged", err) < 0 ||
        (*grown && sw_ctdisk_grow_image(work, image, bytes, WHAT, err) < 0) ||
        sw_rootfs_guest_files(job, g, err) < 0)
        return -1;
    int rc = sw_ctdisk_write(work, image, g, SW_ROOTFS_GUEST_FILES, WHAT, err);
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
