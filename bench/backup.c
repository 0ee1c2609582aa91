/* bench/backup - the C driver of bench/backup.sh: the engine's backup path
 * (engines/bkread.c into backup/'s writer on a dir target, as
 * engines/backup.c joins them) against the real libvirtd the script
 * started, and the library writer alone on a file.
 *
 *   backup URI STATE SERVER BACKUP SOCKDIR REPO KEYFILE ACCOUNT [PARENT PARENT_CKP]
 *       one backup of SERVER's root (dir pool "slipway" under
 *       STATE/pools/slipway): full, or incremental to the backup PARENT
 *       whose checkpoint is PARENT_CKP; the manifest written last, then the
 *       older checkpoints deleted (sw_bkread_commit), as a backup job does.
 *   read URI STATE SERVER BACKUP SOCKDIR
 *       the reader alone: the same full read, every chunk dropped, and
 *       the checkpoint it made deleted after.
 *   write FILE REPO KEYFILE ACCOUNT SERVER BACKUP
 *       the writer alone: FILE (a raw disk image) put chunk by chunk from
 *       the page cache, every chunk (zero ones too, as a full pull read of
 *       a written disk would give them).
 * REPO is the dir target's folder, KEYFILE 32 raw bytes (the account key).
 * SW_BK_WORKERS sets the writer's sealing threads (default: the cores;
 * 0: the sequential writer). Prints one line of key=value figures:
 * how, incremental, disk, read, chunks, zero, stored_new, seconds, and
 * emit_seconds (time the reader spent handing chunks to the writer,
 * i.e. waiting for the pipeline: the writer's share) and finish_seconds
 * (draining the pipeline and writing the manifest; in backup, the
 * reader's finish, while libvirt ends the backup job). */
#include "config.h"
#include "backup/repo.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "engines/bkread.h"
#include "engines/driver.h"
#include "engines/storage.h"
#include "engines/virt.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    return 1;
}

static int read_key(const char *path, unsigned char key[SW_BK_KEY_BYTES])
{
    int fd = open(path, O_RDONLY);
    ssize_t got = fd < 0 ? -1 : read(fd, key, SW_BK_KEY_BYTES);
    if (fd >= 0)
        close(fd);
    if (got != SW_BK_KEY_BYTES) {
        fprintf(stderr, "%s: not a 32-byte key\n", path);
        return -1;
    }
    return 0;
}

/* The dir target on REPO and a writer on it; NULL with err. */
struct run {
    struct sw_bk_target *t;
    struct sw_bk_writer *w;
    struct sw_bk_manifest *parent;
    struct sw_bk_manifest *m; /* the manifest written (backup: by finish_timed) */
    unsigned char key[SW_BK_KEY_BYTES];
    double emit_s, finish_s;
    uint64_t zero;
};

static int run_open(struct run *r, const char *repo, const char *keyfile, const char *account,
                    const char *server, const char *backup, const char *parent_id,
                    uint64_t size, struct sw_err *err)
{
    if (read_key(keyfile, r->key) < 0) {
        SW_ERR(err, SW_EINVALID, "no key");
        return -1;
    }
    json_t *conf = json_pack("{s:s, s:s}", "kind", "dir", "path", repo);
    r->t = sw_bk_target_open(conf, err);
    json_decref(conf);
    if (!r->t)
        return -1;
    if (parent_id &&
        !(r->parent = sw_bk_manifest_load(r->t, r->key, account, parent_id, err)))
        return -1;
    r->w = sw_bk_writer_new(r->t, r->key, account, server, backup, r->parent, size, err);
    if (!r->w)
        return -1;
    const char *workers = getenv("SW_BK_WORKERS");
    if (workers && *workers)
        sw_bk_writer_set_workers(r->w, (unsigned)atoi(workers));
    return 0;
}

static void run_close(struct run *r)
{
    sw_bk_writer_free(r->w);
    sw_bk_manifest_free(r->parent);
    sw_bk_target_free(r->t);
    sodium_memzero(r->key, sizeof r->key);
}

/* Finishes the writer and prints the manifest's figures. */
static int run_finish(struct run *r, struct sw_bk_manifest **m, struct sw_err *err)
{
    double t0 = now();
    int rc = sw_bk_writer_finish(r->w, m, err);
    r->finish_s = now() - t0;
    if (rc < 0)
        return -1;
    for (size_t i = 0; i < (*m)->nchunks; i++)
        r->zero += (*m)->zero[i];
    return 0;
}

/* req.finish: the writer finished while the reader's backup job ends. */
static int finish_timed(void *ctx, struct sw_err *err)
{
    struct run *r = ctx;
    return run_finish(r, &r->m, err);
}

static int emit_timed(void *ctx, uint64_t offset, const void *data, size_t len,
                      struct sw_err *err)
{
    struct run *r = ctx;
    double t0 = now();
    int rc = sw_bk_writer_put(r->w, offset, data, len, err);
    r->emit_s += now() - t0;
    return rc;
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

static int root_size(struct sw_engine *eng, const char *server, uint64_t *size, struct sw_err *err)
{
    struct sw_msg_disk root;
    virStorageVolInfo info;
    int found = sw_storage_root_find(eng, server, NULL, &root, err);
    if (found <= 0) {
        if (found == 0)
            SW_ERR(err, SW_ENOTFOUND, "no root volume");
        return -1;
    }
    if (sw_storage_disk_info(eng, &root, &info, err) < 0)
        return -1;
    *size = info.capacity;
    return 0;
}

/* a: URI STATE SERVER BACKUP SOCKDIR REPO KEYFILE ACCOUNT [PARENT PARENT_CKP] */
static int do_backup(char **a, int n)
{
    struct sw_engine eng;
    struct sw_err err;
    sw_err_clear(&err);
    struct run r = {0};
    uint64_t size = 0;
    const char *parent = n >= 10 ? a[8] : NULL, *parent_ckp = n >= 10 ? a[9] : NULL;
    if (engine_open(&eng, a[0], a[1], &err) < 0 || root_size(&eng, a[2], &size, &err) < 0 ||
        run_open(&r, a[5], a[6], a[7], a[2], a[3], parent, size, &err) < 0) {
        run_close(&r);
        return fail(&err);
    }
    struct sw_bkread_req req = {.server_id = a[2],
                                .backup_id = a[3],
                                .parent_checkpoint = parent_ckp,
                                .sock_dir = a[4],
                                .emit = emit_timed,
                                .finish = finish_timed,
                                .ctx = &r};
    struct sw_bkread_result res;
    double t0 = now();
    int rc = sw_bkread_run(&eng, &req, &res, &err);
    double took = now() - t0;
    struct sw_bk_manifest *m = SW_STEAL(&r.m);
    if (rc == 0 && !m) {
        SW_ERR(&err, SW_EINTERNAL, "the reader did not call finish");
        rc = -1;
    }
    if (rc == 0)
        rc = sw_bkread_commit(&eng, a[2], res.checkpoint, &err);
    run_close(&r);
    virConnectClose(eng.conn);
    if (rc < 0) {
        sw_bk_manifest_free(m);
        return fail(&err);
    }
    printf("how=%s incremental=%d checkpoint=%s disk=%llu read=%llu chunks=%llu zero=%llu "
           "stored_new=%llu seconds=%.3f emit_seconds=%.3f finish_seconds=%.3f\n",
           res.how, res.incremental ? 1 : 0, res.checkpoint, (unsigned long long)res.disk_bytes,
           (unsigned long long)res.read_bytes, (unsigned long long)res.chunks,
           (unsigned long long)r.zero, (unsigned long long)m->stored_new_bytes, took, r.emit_s,
           r.finish_s);
    sw_bk_manifest_free(m);
    return 0;
}

static int emit_none(void *ctx, uint64_t offset, const void *data, size_t len,
                     struct sw_err *err)
{
    (void)ctx, (void)offset, (void)data, (void)len, (void)err;
    return 0;
}

/* a: URI STATE SERVER BACKUP SOCKDIR: the reader alone, its checkpoint
 * deleted after (its bitmap merges into the previous one's). */
static int do_read(char **a)
{
    struct sw_engine eng;
    struct sw_err err;
    sw_err_clear(&err);
    if (engine_open(&eng, a[0], a[1], &err) < 0)
        return fail(&err);
    struct sw_bkread_req req = {
        .server_id = a[2], .backup_id = a[3], .sock_dir = a[4], .emit = emit_none};
    struct sw_bkread_result res;
    double t0 = now();
    int rc = sw_bkread_run(&eng, &req, &res, &err);
    double took = now() - t0;
    virDomainPtr dom = rc == 0 ? virDomainLookupByUUIDString(eng.conn, a[2]) : NULL;
    virDomainCheckpointPtr cp = dom ? virDomainCheckpointLookupByName(dom, res.checkpoint, 0)
                                    : NULL;
    if (cp) {
        virDomainCheckpointDelete(cp, 0);
        virDomainCheckpointFree(cp);
    }
    if (dom)
        virDomainFree(dom);
    virConnectClose(eng.conn);
    if (rc < 0)
        return fail(&err);
    printf("how=%s incremental=0 disk=%llu read=%llu chunks=%llu seconds=%.3f\n", res.how,
           (unsigned long long)res.disk_bytes, (unsigned long long)res.read_bytes,
           (unsigned long long)res.chunks, took);
    return 0;
}

/* a: FILE REPO KEYFILE ACCOUNT SERVER BACKUP */
static int do_write(char **a)
{
    struct sw_err err;
    sw_err_clear(&err);
    int fd = open(a[0], O_RDONLY);
    off_t end = fd < 0 ? -1 : lseek(fd, 0, SEEK_END);
    if (end <= 0) {
        perror(a[0]);
        return 1;
    }
    struct run r = {0};
    if (run_open(&r, a[1], a[2], a[3], a[4], a[5], NULL, (uint64_t)end, &err) < 0) {
        run_close(&r);
        close(fd);
        return fail(&err);
    }
    unsigned char *buf = sw_malloc(SW_BK_CHUNK_SIZE);
    uint64_t chunks = 0;
    double t0 = now();
    int rc = 0;
    for (uint64_t off = 0; rc == 0 && off < (uint64_t)end; off += SW_BK_CHUNK_SIZE, chunks++) {
        ssize_t got = pread(fd, buf, SW_BK_CHUNK_SIZE, (off_t)off);
        rc = got > 0 ? emit_timed(&r, off, buf, (size_t)got, &err) : -1;
    }
    struct sw_bk_manifest *m = NULL;
    if (rc == 0)
        rc = run_finish(&r, &m, &err);
    double took = now() - t0;
    run_close(&r);
    free(buf);
    close(fd);
    if (rc < 0) {
        sw_bk_manifest_free(m);
        return err.code ? fail(&err) : 1;
    }
    printf("how=write incremental=0 disk=%llu read=%llu chunks=%llu zero=%llu stored_new=%llu "
           "seconds=%.3f emit_seconds=%.3f finish_seconds=%.3f\n",
           (unsigned long long)end, (unsigned long long)m->read_bytes,
           (unsigned long long)chunks, (unsigned long long)r.zero,
           (unsigned long long)m->stored_new_bytes, took, r.emit_s, r.finish_s);
    sw_bk_manifest_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    sw_log_init("bench-backup", getenv("SW_LOG") ? getenv("SW_LOG") : "warn");
    if (sodium_init() < 0)
        return 1;
    if (argc >= 10 && strcmp(argv[1], "backup") == 0)
        return do_backup(argv + 2, argc - 2);
    if (argc == 7 && strcmp(argv[1], "read") == 0)
        return do_read(argv + 2);
    if (argc == 8 && strcmp(argv[1], "write") == 0)
        return do_write(argv + 2);
    fprintf(stderr, "usage: see the head of bench/backup.c\n");
    return 2;
}
