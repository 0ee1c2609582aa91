/* test_block_pool URI POOL TYPE URL TOKEN DIR STATE - the engine's root
 * volumes in a block pool (engines/storage.c over engines/image.c
 * sw_image_ensure_block) against a real libvirtd, run by
 * tests/integration/block_pool.sh (which starts it, the HTTP server
 * standing in for the panel and the pool). POOL is the node's only pool,
 * of TYPE (logical: a real VG); DIR holds image.qcow2, its raw content
 * content.raw, a raw image other.raw and the server's request log
 * (DIR/hits); STATE is the
 * engine's state directory (its stage pool goes under it). Prints "ok - "
 * / "FAIL - " lines and "N passed, M failed"; exit 0 when all passed. */
#include "config.h"
#include "engines/image.h"
#include "engines/storage.h"
#include "core/enums.h"
#include "core/msg.h"
#include "core/err.h"
#include "core/log.h"

#include <libvirt/virterror.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GIB (1024LL * 1024 * 1024)

static int passed, failed;
static const char *dir;

static void quiet(void *ctx, virErrorPtr e)
{
    (void)ctx;
    (void)e;
}

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

/* sha256 (hex) and size of DIR/file. */
static long long file_sha(const char *file, char hex[65])
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    crypto_hash_sha256_state sh;
    crypto_hash_sha256_init(&sh);
    unsigned char buf[65536], d[32];
    size_t got;
    long long n = 0;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
        crypto_hash_sha256_update(&sh, buf, got);
        n += (long long)got;
    }
    fclose(f);
    crypto_hash_sha256_final(&sh, d);
    sodium_bin2hex(hex, 65, d, sizeof d);
    return n;
}

static int hits(const char *sha256)
{
    char path[512], line[128];
    snprintf(path, sizeof path, "%s/hits", dir);
    FILE *f = fopen(path, "r");
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        n += strncmp(line, sha256, 64) == 0;
    if (f)
        fclose(f);
    return n;
}

/* The pool's volumes whose name starts with prefix (and, when suffix,
 * ends with it). */
static int volumes(virStoragePoolPtr pool, const char *prefix, const char *suffix)
{
    virStoragePoolRefresh(pool, 0);
    char **names = calloc(256, sizeof *names);
    int n = virStoragePoolListVolumes(pool, names, 256), count = 0;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(names[i]), s = suffix ? strlen(suffix) : 0;
        count += strncmp(names[i], prefix, strlen(prefix)) == 0 &&
                 (!suffix || (l >= s && strcmp(names[i] + l - s, suffix) == 0));
        free(names[i]);
    }
    free(names);
    return count;
}

/* sha256 of a volume's first bytes bytes, read back through libvirt. */
static void head_sha(virStoragePoolPtr pool, const char *name, long long bytes, char hex[65])
{
    hex[0] = '\0';
    virStorageVolPtr v = virStorageVolLookupByName(pool, name);
    virStreamPtr st = v ? virStreamNew(virStoragePoolGetConnect(pool), 0) : NULL;
    if (!st || virStorageVolDownload(v, st, 0, (unsigned long long)bytes, 0) < 0)
        goto out;
    crypto_hash_sha256_state sh;
    crypto_hash_sha256_init(&sh);
    char buf[65536];
    int got;
    while ((got = virStreamRecv(st, buf, sizeof buf)) > 0)
        crypto_hash_sha256_update(&sh, (unsigned char *)buf, (size_t)got);
    if (got == 0 && virStreamFinish(st) == 0) {
        unsigned char d[32];
        crypto_hash_sha256_final(&sh, d);
        sodium_bin2hex(hex, 65, d, sizeof d);
    }
out:
    if (st)
        virStreamFree(st);
    if (v)
        virStorageVolFree(v);
}

static long long capacity(virStoragePoolPtr pool, const char *name)
{
    virStorageVolPtr v = virStorageVolLookupByName(pool, name);
    virStorageVolInfo info;
    long long c = v && virStorageVolGetInfo(v, &info) == 0 ? (long long)info.capacity : -1;
    if (v)
        virStorageVolFree(v);
    return c;
}

static struct sw_msg_node_job job_for(const char *server_id, const char *sha, long long bytes,
                                      const char *format)
{
    struct sw_msg_node_job job = {.kind = SW_KIND_HVM, .disk_gb = 1, .image_bytes = bytes};
    snprintf(job.server_id, sizeof job.server_id, "%s", server_id);
    snprintf(job.job_id, sizeof job.job_id, "%s", "5b2c9e1a-7d3f-4c8b-9a6e-1f0d2c3b4a59");
    snprintf(job.image_sha256, sizeof job.image_sha256, "%s", sha);
    snprintf(job.image_format, sizeof job.image_format, "%s", format);
    return job;
}

/* One of two concurrent first creates from one image. */
struct racer {
    struct sw_engine *eng;
    struct sw_msg_node_job job;
    struct sw_msg_disk disk;
    struct sw_err err;
    int rc;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    bool made = false;
    r->rc = sw_storage_root_ensure(r->eng, &r->job, SW_STORAGE_TAG_CREATE, &r->disk, &made, &r->err);
    return NULL;
}

/* Two servers created at once from a raw image new to the node: one
 * fetch, one copy into the pool, both roots starting with its bytes. */
static void test_concurrent_raw(struct sw_engine *eng, virStoragePoolPtr pool)
{
    char sha[65], got[65];
    long long bytes = file_sha("other.raw", sha);
    const char *ids[2] = {"8c3a2e4f-5d6f-4071-8cbd-2e3f4a5b6c7d", "9d4b3f50-6e70-4182-9dce-3f4a5b6c7d8e"};
    struct racer r[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].eng = eng;
        r[i].job = job_for(ids[i], sha, bytes, "raw");
        pthread_create(&t[i], NULL, race, &r[i]);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    char base[96];
    snprintf(base, sizeof base, "img-%s", sha);
    check(r[0].rc == 0 && r[1].rc == 0 && hits(sha) == 1 && volumes(pool, base, NULL) == 1,
          "two concurrent creates from a new raw image fetch it once (%d requests): %s / %s",
          hits(sha), r[0].rc ? r[0].err.detail : "ok", r[1].rc ? r[1].err.detail : "ok");
    int same = 0;
    for (int i = 0; i < 2; i++) {
        head_sha(pool, r[i].disk.volume, bytes, got);
        same += strcmp(got, sha) == 0;
    }
    head_sha(pool, base, bytes, got);
    check(same == 2 && strcmp(got, sha) == 0,
          "the raw image and both roots start with its bytes (%d of 2 roots)", same);
    for (int i = 0; i < 2; i++)
        sw_storage_delete(eng, ids[i], false, NULL, &r[i].err);
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: %s URI POOL TYPE URL TOKEN DIR STATE\n", argv[0]);
        return 99;
    }
    dir = argv[6];
    if (sodium_init() < 0)
        return 99;
    sw_log_init("test", "warn");
    virSetErrorFunc(NULL, quiet);
    virConnectPtr conn = virConnectOpen(argv[1]);
    virStoragePoolPtr pool = conn ? virStoragePoolLookupByName(conn, argv[2]) : NULL;
    if (!pool) {
        fprintf(stderr, "cannot open pool %s on %s\n", argv[2], argv[1]);
        return 99;
    }
    char img_sha[65], raw_sha[65];
    long long img_bytes = file_sha("image.qcow2", img_sha),
              raw_bytes = file_sha("content.raw", raw_sha);
    if (img_bytes <= 0 || raw_bytes <= 0)
        return 99;

    struct sw_engine_pool p = {.fill_threshold = 100};
    snprintf(p.name, sizeof p.name, "%s", argv[2]);
    snprintf(p.type, sizeof p.type, "%s", argv[3]);
    struct sw_image_source src = {.panel_url = argv[4], .token = argv[5], .timeout_s = 60};
    struct sw_engine eng = {.conn = conn, .pools = &p, .npools = 1, .images = &src,
                            .state_dir = argv[7]};
    const char *a = "6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b", *b = "7b2f1d3e-4c5e-4f60-9bac-1d2e3f4a5b6c";
    struct sw_msg_node_job job = job_for(a, img_sha, img_bytes, "qcow2");
    struct sw_msg_disk disk = {0}, other = {0}, fresh = {0};
    struct sw_err err = {0};
    bool made = false;
    char base[96], got[65];
    snprintf(base, sizeof base, "img-%s", img_sha);

    /* create: the image fetched, converted into the pool, the root a copy */
    int rc = sw_storage_root_ensure(&eng, &job, SW_STORAGE_TAG_CREATE, &disk, &made, &err);
    check(rc == 0 && made, "a create makes its root volume %s in the %s pool %s: %s", disk.volume,
          p.type, p.name, rc ? err.detail : "ok");
    check(hits(img_sha) == 1, "the image was fetched once (%d requests)", hits(img_sha));
    check(capacity(pool, base) >= raw_bytes && capacity(pool, base) < raw_bytes + 8 * 1024 * 1024,
          "the pool holds the image as %s of its raw size (%lld bytes for %lld)", base,
          capacity(pool, base), raw_bytes);
    head_sha(pool, base, raw_bytes, got);
    check(strcmp(got, raw_sha) == 0, "%s holds the qcow2's raw content (sha256 %.12s, want %.12s)",
          base, got, raw_sha);
    check(capacity(pool, disk.volume) == GIB && disk.capacity == GIB,
          "the root volume has the plan's size (%lld bytes, disk says %lld)",
          capacity(pool, disk.volume), (long long)disk.capacity);
    head_sha(pool, disk.volume, raw_bytes, got);
    check(strcmp(got, raw_sha) == 0, "the root volume's first %lld bytes are the image's raw content",
          raw_bytes);
    check(volumes(pool, "img-", ".part") == 0 && volumes(pool, "", NULL) == 2,
          "nothing else is left in the pool (%d volumes)", volumes(pool, "", NULL));
    virStoragePoolPtr stage = virStoragePoolLookupByName(conn, SW_STORAGE_STAGE_POOL);
    check(stage && volumes(stage, "", NULL) == 0, "the stage pool %s is empty again",
          SW_STORAGE_STAGE_POOL);
    if (stage)
        virStoragePoolFree(stage);
    virResetLastError();

    /* replay and a second server: nothing fetched again */
    rc = sw_storage_root_ensure(&eng, &job, SW_STORAGE_TAG_CREATE, &disk, &made, &err);
    check(rc == 0 && !made && hits(img_sha) == 1, "a replayed create finds its root volume");
    struct sw_msg_node_job job_b = job_for(b, img_sha, img_bytes, "qcow2");
    rc = sw_storage_root_ensure(&eng, &job_b, SW_STORAGE_TAG_CREATE, &other, &made, &err);
    check(rc == 0 && made && hits(img_sha) == 1,
          "a second server's root is copied from the pool's image, fetching nothing (%d requests)",
          hits(img_sha));

    /* reinstall: the new root made before the old one goes */
    rc = sw_storage_root_ensure(&eng, &job, job.job_id, &fresh, &made, &err);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "sw-%.8s", a);
    int both = volumes(pool, prefix, NULL);
    check(rc == 0 && made && both == 2 && strcmp(fresh.volume, disk.volume) != 0,
          "a reinstall makes its new root %s beside the old (%d roots)", fresh.volume, both);
    rc = sw_storage_delete(&eng, a, true, fresh.volume, &err);
    check(rc == 0 && volumes(pool, prefix, NULL) == 1 && capacity(pool, fresh.volume) == GIB &&
              capacity(pool, disk.volume) < 0,
          "then removes the old one");

    /* resize */
    job.disk_gb = 2;
    char note[128] = "";
    rc = sw_storage_root_grow(&eng, NULL, &fresh, &job, note, sizeof note, &err);
    head_sha(pool, fresh.volume, raw_bytes, got);
    check(rc == 0 && capacity(pool, fresh.volume) == 2 * GIB && strcmp(got, raw_sha) == 0,
          "a resize grows the root volume to %lld bytes, its content kept (%s)",
          capacity(pool, fresh.volume), rc ? err.detail : note);

    test_concurrent_raw(&eng, pool);

    /* terminate */
    rc = sw_storage_delete(&eng, a, false, NULL, &err) == 0 &&
                 sw_storage_delete(&eng, b, false, NULL, &err) == 0
             ? 0
             : -1;
    check(rc == 0 && volumes(pool, "sw-", NULL) == 0 && volumes(pool, "img-", NULL) == 2 &&
              volumes(pool, "", NULL) == 2,
          "terminate leaves no root volume, and the node's two images (%d volumes)",
          volumes(pool, "", NULL));
    if (volumes(pool, "", NULL) != 2) {
        char *names[16] = {0};
        int n = virStoragePoolListVolumes(pool, names, 16);
        for (int i = 0; i < n; i++) {
            printf("#   left: %s\n", names[i]);
            free(names[i]);
        }
    }
    virStoragePoolFree(pool);
    virConnectClose(conn);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
