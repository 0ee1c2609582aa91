/* test_bkread_real - the C driver of tests/integration/bkread_real.sh: runs
 * engines/bkread.c and bkwrite.c against the real libvirtd the script
 * started (its dir pool "slipway" under STATE/pools/slipway).
 *
 *   test_bkread_real read URI STATE SERVER BACKUP SOCKDIR IMAGE [PARENT]
 *       a backup read (full, or incremental from the checkpoint PARENT);
 *       each emitted chunk is written at its offset into the plain image
 *       file IMAGE (a full read starts a fresh sparse file of the disk's
 *       size; an incremental applies its chunks onto the existing one).
 *       Prints "checkpoint=NAME", "how=... incremental=... disk=... read=...
 *       chunks=... seconds=..." and checks the chunks' shape (aligned,
 *       whole, ascending) and the last progress report. SW_BKREAD_SLOW_MS
 *       sleeps that long after each chunk (so the script can kill it
 *       mid-backup). Exit 0, 1 failed, 3 not_found (parent gone).
 *   test_bkread_real commit URI STATE SERVER CHECKPOINT
 *   test_bkread_real cleanup URI STATE SERVER [LAST_COMPLETED]
 *   test_bkread_real restore URI STATE SERVER RESTORE POOL VOLUME IMAGE
 *       writes IMAGE's chunks into the new volume VOLUME (bkwrite.c). */
#include "config.h"
#include "engines/bkread.h"
#include "engines/bkwrite.h"
#include "engines/driver.h"
#include "engines/storage.h"
#include "engines/virt.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const struct sw_err *err)
{
    fprintf(stderr, "error: %s: %s (%s)\n", sw_errc_name(err->code), err->msg, err->detail);
    return err->code == SW_ENOTFOUND ? 3 : 1;
}

/* What the emitted chunks looked like. */
struct sink {
    int fd;
    uint64_t disk, last_off, last_done, last_total;
    long slow_ms;
    int bad;        /* chunks out of shape */
    bool any;
};

static int sink_emit(void *ctx, uint64_t off, const void *data, size_t len, struct sw_err *err)
{
    struct sink *s = ctx;
    bool last = off + len == s->disk;
    if (off % SW_BKREAD_CHUNK || (len != SW_BKREAD_CHUNK && !last) || off + len > s->disk ||
        (s->any && off <= s->last_off))
        s->bad++;
    s->any = true;
    s->last_off = off;
    if (pwrite(s->fd, data, len, (off_t)off) != (ssize_t)len) {
        SW_ERR(err, SW_EUNAVAILABLE, "could not write the image file");
        return -1;
    }
    if (s->slow_ms > 0)
        usleep((useconds_t)s->slow_ms * 1000);
    return 0;
}

static void sink_progress(void *ctx, uint64_t done, uint64_t total)
{
    struct sink *s = ctx;
    s->last_done = done;
    s->last_total = total;
}

static int engine_open(struct sw_engine *eng, const char *uri, const char *state, struct sw_err *err)
{
    memset(eng, 0, sizeof *eng);
    if (sw_virt_init(err) < 0 || !(eng->conn = sw_virt_open(uri, err)) ||
        !(eng->hv = sw_hypervisor_from_uri(uri, err)))
        return -1;
    eng->state_dir = state;
    return 0;
}

/* The size of server's root volume, which the sink checks the chunks
 * against (found as the engine finds it). 0, or -1 with err set. */
static int disk_size(struct sw_engine *eng, const char *server, uint64_t *size, struct sw_err *err)
{
    struct sw_msg_disk root;
    if (sw_storage_root_find(eng, server, NULL, &root, err) <= 0)
        return -1;
    virStoragePoolPtr p = virStoragePoolLookupByName(eng->conn, root.pool);
    virStorageVolPtr v = p ? virStorageVolLookupByName(p, root.volume) : NULL;
    virStorageVolInfo info;
    int rc = v && virStorageVolGetInfo(v, &info) == 0 ? 0 : -1;
    if (rc == 0)
        *size = info.capacity;
    else
        SW_ERR(err, SW_EINTERNAL, "the root volume's size cannot be read");
    if (v)
        virStorageVolFree(v);
    if (p)
        virStoragePoolFree(p);
    return rc;
}

static int do_read(struct sw_engine *eng, char **a, int n)
{
    const char *parent = n > 5 ? a[5] : NULL;
    struct sink s = {.slow_ms = getenv("SW_BKREAD_SLOW_MS") ? atol(getenv("SW_BKREAD_SLOW_MS")) : 0};
    struct sw_bkread_result res;
    struct sw_err err;
    sw_err_clear(&err);
    if (disk_size(eng, a[1], &s.disk, &err) < 0)
        return fail(&err);
    int fd = open(a[4], parent ? O_WRONLY : O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror(a[4]);
        return 1;
    }
    s.fd = fd;
    struct sw_bkread_req req = {.server_id = a[1], .backup_id = a[2], .parent_checkpoint = parent,
                                .sock_dir = a[3], .emit = sink_emit, .progress = sink_progress,
                                .ctx = &s};
    double t0 = now();
    int rc = sw_bkread_run(eng, &req, &res, &err);
    double took = now() - t0;
    if (rc == 0 && !parent && ftruncate(s.fd, (off_t)res.disk_bytes) < 0)
        rc = -1;
    close(s.fd);
    if (rc < 0)
        return fail(&err);
    printf("checkpoint=%s\n", res.checkpoint);
    printf("how=%s incremental=%d disk=%llu read=%llu chunks=%llu seconds=%.3f\n", res.how,
           res.incremental ? 1 : 0, (unsigned long long)res.disk_bytes,
           (unsigned long long)res.read_bytes, (unsigned long long)res.chunks, took);
    int bad = s.bad || res.disk_bytes != s.disk ||
              (res.chunks && (s.last_done != res.read_bytes || s.last_total < s.last_done));
    if (bad)
        printf("bad chunks=%d disk=%llu/%llu progress=%llu/%llu\n", s.bad,
               (unsigned long long)res.disk_bytes, (unsigned long long)s.disk,
               (unsigned long long)s.last_done, (unsigned long long)s.last_total);
    return bad ? 1 : 0;
}

static int do_restore(struct sw_engine *eng, char **a)
{
    int fd = open(a[5], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        perror(a[5]);
        return 1;
    }
    struct sw_bkwrite_req req = {a[1], a[2], a[3], a[4], (uint64_t)st.st_size};
    struct sw_err err;
    sw_err_clear(&err);
    double t0 = now();
    struct sw_bkwrite *w = sw_bkwrite_open(eng, &req, &err);
    char *buf = sw_malloc(SW_BKREAD_CHUNK);
    int rc = w ? 0 : -1;
    for (uint64_t off = 0; rc == 0 && off < (uint64_t)st.st_size; off += SW_BKREAD_CHUNK) {
        ssize_t got = pread(fd, buf, SW_BKREAD_CHUNK, (off_t)off);
        rc = got > 0 ? sw_bkwrite_chunk(w, off, buf, (size_t)got, &err) : -1;
    }
    struct sw_msg_disk disk;
    if (rc == 0)
        rc = sw_bkwrite_finish(w, &disk, &err);
    sw_bkwrite_free(w);
    free(buf);
    close(fd);
    if (rc < 0)
        return fail(&err);
    printf("restored %s/%s format=%s bytes=%lld seconds=%.3f\n", disk.pool, disk.volume,
           disk.format, (long long)disk.capacity, now() - t0);
    return 0;
}

int main(int argc, char **argv)
{
    sw_log_init("bkread", getenv("SW_LOG") ? getenv("SW_LOG") : "warn");
    if (argc < 5) {
        fprintf(stderr, "usage: see the head of tests/integration/test_bkread_real.c\n");
        return 2;
    }
    const char *mode = argv[1];
    struct sw_engine eng;
    struct sw_err err;
    sw_err_clear(&err);
    if (engine_open(&eng, argv[2], argv[3], &err) < 0)
        return fail(&err);
    char **a = argv + 3; /* a[1]: SERVER */
    int n = argc - 3, rc = 2;
    if (strcmp(mode, "read") == 0 && n >= 5) {
        rc = do_read(&eng, a, n);
    } else if (strcmp(mode, "commit") == 0 && n >= 3) {
        rc = sw_bkread_commit(&eng, a[1], a[2], &err) < 0 ? fail(&err) : 0;
    } else if (strcmp(mode, "cleanup") == 0) {
        char note[160];
        rc = sw_bkread_cleanup(&eng, a[1], n > 2 ? a[2] : NULL, note, sizeof note, &err) < 0
                 ? fail(&err)
                 : (printf("%s\n", note), 0);
    } else if (strcmp(mode, "restore") == 0 && n >= 6) {
        rc = do_restore(&eng, a);
    }
    virConnectClose(eng.conn);
    return rc;
}
