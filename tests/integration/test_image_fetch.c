/* test_image_fetch URI POOL URL TOKEN DIR - engines/image.c against a real
 * libvirtd's dir pool and a real HTTP server standing in for the panel's
 * node image route, run by tests/integration/image_fetch.sh (which starts
 * both). DIR holds the images (good.qcow2, good.iso, evil.qcow2, liar.raw's
 * truth good.raw) and the server's log of requests (DIR/hits, one sha256 a
 * line). Prints "ok - ..." / "FAIL - ..." lines and "N passed, M failed";
 * exit 0 when all passed. Last, the engine's create path on a new image
 * (base.qcow2): engines/storage.c fetches it and overlays the root on it. */
#include "config.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"
#include "engines/image.h"
#include "engines/storage.h"
#include "core/msg.h"

#include <libvirt/virterror.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int passed, failed;
static const char *dir;

/* libvirt's errors are the code's to report, not printed by libvirt. */
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

/* The reference of DIR/file: its sha256 and size. */
static struct sw_image_ref ref_of(const char *file, const char *format)
{
    struct sw_image_ref r = {0};
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
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        crypto_hash_sha256_update(&st, buf, n);
        r.bytes += (int64_t)n;
    }
    fclose(f);
    crypto_hash_sha256_final(&st, d);
    sodium_bin2hex(r.sha256, sizeof r.sha256, d, sizeof d);
    snprintf(r.format, sizeof r.format, "%s", format);
    return r;
}

/* How many times the server was asked for sha256. */
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

/* The pool's volumes whose name starts with prefix. */
static int volumes(virStoragePoolPtr pool, const char *prefix)
{
    virStoragePoolRefresh(pool, 0);
    char **names = calloc(256, sizeof *names);
    int n = virStoragePoolListVolumes(pool, names, 256), count = 0;
    for (int i = 0; i < n; i++) {
        count += strncmp(names[i], prefix, strlen(prefix)) == 0;
        free(names[i]);
    }
    free(names);
    return count;
}

/* sha256 of a volume's bytes, read back through libvirt. */
static void volume_sha(virStoragePoolPtr pool, const char *name, char hex[65])
{
    hex[0] = '\0';
    virStorageVolPtr v = virStorageVolLookupByName(pool, name);
    virStreamPtr st = v ? virStreamNew(virStoragePoolGetConnect(pool), 0) : NULL;
    if (!st || virStorageVolDownload(v, st, 0, 0, 0) < 0)
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

struct racer {
    virStoragePoolPtr pool;
    const struct sw_image_source *src;
    struct sw_image_ref ref;
    int rc;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    char name[96];
    struct sw_err err = {0};
    r->rc = sw_image_ensure(r->pool, r->src, &r->ref, name, &err);
    return NULL;
}

/* One refused fetch: its code, its message, nothing of it left. */
static void refused(virStoragePoolPtr pool, const struct sw_image_source *src,
                    const struct sw_image_ref *ref, enum sw_errc want, const char *words,
                    const char *what)
{
    char name[96];
    struct sw_err err = {0};
    int rc = sw_image_ensure(pool, src, ref, name, &err);
    char prefix[72];
    snprintf(prefix, sizeof prefix, "img-%s", ref->sha256);
    check(rc == -1 && err.code == want && strstr(err.msg, words) && volumes(pool, prefix) == 0,
          "%s: %s (\"%s\"), no volume of it left", what, sw_errc_name(err.code), err.msg);
}

static void test_fetches(virStoragePoolPtr pool, const struct sw_image_source *src)
{
    char name[96], hex[65];
    struct sw_err err = {0};
    struct sw_image_ref q = ref_of("good.qcow2", "qcow2");
    int rc = sw_image_ensure(pool, src, &q, name, &err);
    virStorageVolPtr v = rc == 0 ? virStorageVolLookupByName(pool, name) : NULL;
    virStorageVolInfo info = {0};
    if (v)
        virStorageVolGetInfo(v, &info);
    check(rc == 0 && v && info.capacity == 64ULL << 20,
          "a qcow2 image is fetched into %s (virtual size %llu bytes): %s", name, info.capacity,
          rc ? err.msg : "ok");
    if (v)
        virStorageVolFree(v);
    check(hits(q.sha256) == 1 && volumes(pool, "img-") == 1,
          "one request for it, one volume, no .part left");
    check(sw_image_ensure(pool, src, &q, name, &err) == 0 && hits(q.sha256) == 1,
          "asked again it is found in the pool: no second request");

    struct sw_image_ref r = ref_of("good.raw", "raw");
    rc = sw_image_ensure(pool, src, &r, name, &err);
    volume_sha(pool, name, hex);
    check(rc == 0 && strcmp(hex, r.sha256) == 0,
          "a raw image arrives byte for byte (sha256 read back through libvirt %.12s...)", hex);

    struct racer rs[4];
    pthread_t th[4];
    struct sw_image_ref iso = ref_of("good.iso", "iso");
    for (int i = 0; i < 4; i++) {
        rs[i] = (struct racer){pool, src, iso, -1};
        pthread_create(&th[i], NULL, race, &rs[i]);
    }
    int ok = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ok += rs[i].rc == 0;
    }
    check(ok == 4 && hits(iso.sha256) == 1,
          "four concurrent first uses of an ISO: all succeed, %d request(s) to the panel",
          hits(iso.sha256));
}

static void test_refusals(virStoragePoolPtr pool, const struct sw_image_source *src,
                          const char *url)
{
    struct sw_image_ref lie = ref_of("truth.raw", "raw"); /* the server sends liar.raw */
    refused(pool, src, &lie, SW_EINVALID, "checksum", "bytes that are not the image");
    struct sw_image_ref evil = ref_of("evil.qcow2", "qcow2");
    refused(pool, src, &evil, SW_EINVALID, "backing file",
            "a qcow2 whose backing file is /etc/shadow");
    struct sw_image_ref lng = ref_of("good.raw", "raw");
    lng.bytes += 4096;
    snprintf(lng.sha256, sizeof lng.sha256, "%s", ref_of("short.raw", "raw").sha256);
    refused(pool, src, &lng, SW_EINVALID, "size", "fewer bytes than the job says");
    struct sw_image_ref none = lng;
    memset(none.sha256, 'e', 64);
    refused(pool, src, &none, SW_ENOTFOUND, "does not give it", "an image the panel does not have");
    struct sw_image_source bad = *src;
    bad.token = "not-the-token";
    struct sw_image_ref q = ref_of("truth.raw", "raw"); /* served, not in the pool */
    refused(pool, &bad, &q, SW_ENOTFOUND, "does not give it", "a wrong token");
    struct sw_image_source down = *src;
    (void)url;
    down.panel_url = "http://127.0.0.1:1"; /* nobody listens there */
    struct sw_err err = {0};
    char name[96];
    int rc = sw_image_ensure(pool, &down, &q, name, &err);
    check(rc == -1 && err.code == SW_EUNAVAILABLE && err.retryable,
          "the panel unreachable: %s, retryable", sw_errc_name(err.code));
    struct sw_image_ref mal = q;
    snprintf(mal.sha256, sizeof mal.sha256, "../../etc/passwd");
    refused(pool, src, &mal, SW_EINVALID, "malformed", "a malformed reference");
}

/* The engine's create path: a root volume on a job's image, with the
 * image fetched into the pool first (engines/storage.c over image.c). */
static void test_root_on_image(virConnectPtr conn, virStoragePoolPtr pool,
                               const struct sw_image_source *src, const char *pool_path)
{
    struct sw_engine_pool p = {.name = "imgs", .type = "dir", .fill_threshold = 100};
    snprintf(p.path, sizeof p.path, "%s", pool_path);
    struct sw_engine eng = {.conn = conn, .pools = &p, .npools = 1, .images = src};
    struct sw_image_ref base = ref_of("base.qcow2", "qcow2");
    struct sw_msg_node_job job = {.kind = SW_KIND_HVM, .disk_gb = 2, .image_bytes = base.bytes};
    snprintf(job.server_id, sizeof job.server_id, "%s", "6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b");
    snprintf(job.image_sha256, sizeof job.image_sha256, "%s", base.sha256);
    snprintf(job.image_format, sizeof job.image_format, "qcow2");
    struct sw_msg_disk disk = {0};
    struct sw_err err = {0};
    bool made = false;
    int rc = sw_storage_root_ensure(&eng, &job, SW_STORAGE_TAG_CREATE, &disk, &made, &err);
    virStorageVolPtr v = rc == 0 ? virStorageVolLookupByName(pool, disk.volume) : NULL;
    char *xml = v ? virStorageVolGetXMLDesc(v, 0) : NULL;
    char want[160];
    snprintf(want, sizeof want, "img-%s.qcow2</path>", base.sha256);
    check(rc == 0 && made && hits(base.sha256) == 1 && xml && strstr(xml, want),
          "a create's root volume %s is an overlay on its image, fetched for it (%d request): %s",
          disk.volume, hits(base.sha256), rc ? err.msg : "ok");
    free(xml);
    if (v)
        virStorageVolFree(v);
    rc = sw_storage_root_ensure(&eng, &job, SW_STORAGE_TAG_CREATE, &disk, &made, &err);
    check(rc == 0 && !made && hits(base.sha256) == 1,
          "a replayed create finds its root volume and fetches nothing");
    check(sw_storage_delete(&eng, job.server_id, false, NULL, &err) == 0 &&
              volumes(pool, "sw-") == 0 && volumes(pool, "img-") == 4,
          "terminate deletes the server's volumes and keeps the node's images");
}

/* A pool without room for an image (a 2 MiB tmpfs, a 3 MiB raw image:
 * libvirt allocates the volume whole before a byte moves): the fetch fails
 * saying the node's storage is full, retryable on another node, nothing of
 * it is left, and the image still arrives in a pool with room. */
static void test_pool_fills(virConnectPtr conn, const char *name, virStoragePoolPtr roomy,
                            const struct sw_image_source *src)
{
    virStoragePoolPtr tiny = virStoragePoolLookupByName(conn, name);
    struct sw_image_ref r = ref_of("good.raw", "raw");
    char vol[96];
    struct sw_err err = {0};
    int rc = tiny ? sw_image_ensure(tiny, src, &r, vol, &err) : 0;
    check(rc == -1 && tiny && volumes(tiny, "") == 0 && err.retryable &&
              strstr(err.msg, "storage is full"),
          "an image larger than its pool's room: %s (\"%s\"; %s), no volume of it left",
          sw_errc_name(err.code), err.msg, err.detail);
    sw_err_clear(&err);
    check(sw_image_ensure(roomy, src, &r, vol, &err) == 0,
          "the same image in a pool with room: found or fetched (%s)", err.msg);
    if (tiny)
        virStoragePoolFree(tiny);
}

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: %s URI POOL URL TOKEN DIR [SMALLPOOL]\n", argv[0]);
        return 99;
    }
    dir = argv[5];
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
    struct sw_image_source src = {.panel_url = argv[3], .token = argv[4], .timeout_s = 60};
    test_fetches(pool, &src);
    test_refusals(pool, &src, argv[3]);
    check(volumes(pool, "img-") == 3 && volumes(pool, "") == 3,
          "the pool holds exactly the three good images");
    char pool_path[600];
    snprintf(pool_path, sizeof pool_path, "%s/../pool", dir);
    test_root_on_image(conn, pool, &src, pool_path);
    if (argc == 7)
        test_pool_fills(conn, argv[6], pool, &src);
    virStoragePoolFree(pool);
    virConnectClose(conn);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
