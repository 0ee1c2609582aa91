/* bench/storage - root volumes made through the engine's own code path
 * (engines/storage.c sw_storage_root_ensure) in a dir pool of a real
 * libvirtd (run by bench/storage.sh; built by make, not installed):
 *
 *   bench/storage URI STATE_DIR BASE_SHA256 N DISK_GB
 *
 * The engine's default pool "slipway" (STATE_DIR/pools/slipway) must hold
 * the base image img-<BASE_SHA256>.qcow2 (bench/storage.sh uploads it).
 * Makes N root volumes of N servers, as N create jobs of a DISK_GB plan on
 * that image would, then deletes them as N terminates would
 * (sw_storage_delete). Checks each is a thin qcow2 overlay of DISK_GB on
 * the base and that none is left. Prints one line of key=value figures. */
#include "config.h"
#include "engines/kind.h"
#include "engines/storage.h"
#include "engines/virt.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"
#include "core/msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GIB (1024LL * 1024 * 1024)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void server_id(int i, sw_uuid_t out)
{
    snprintf(out, sizeof(sw_uuid_t), "b5000000-0000-4000-8000-%012d", i);
}

/* Is the volume an overlay of want_bytes on the base, not yet allocated? */
static int check_overlay(virConnectPtr conn, const struct sw_msg_disk *d, long long want_bytes,
                         const char *sha)
{
    virStoragePoolPtr pool = virStoragePoolLookupByName(conn, d->pool);
    virStorageVolPtr vol = pool ? virStorageVolLookupByName(pool, d->volume) : NULL;
    char *xml = vol ? virStorageVolGetXMLDesc(vol, 0) : NULL;
    virStorageVolInfo info;
    int ok = xml && virStorageVolGetInfo(vol, &info) == 0 &&
             (long long)info.capacity == want_bytes && info.allocation < 4 * 1024 * 1024 &&
             strstr(xml, "<format type='qcow2'/>") && strstr(xml, sha) &&
             strstr(xml, "<backingStore>");
    if (!ok)
        fprintf(stderr, "volume %s is not a thin qcow2 overlay of %lld bytes on img-%s:\n%s\n",
                d->volume, want_bytes, sha, xml ? xml : "(no XML)");
    free(xml);
    if (vol)
        virStorageVolFree(vol);
    if (pool)
        virStoragePoolFree(pool);
    return ok;
}

/* N creates: the seconds they took, or -1. */
static double creates(struct sw_engine *eng, const char *sha, int n, int disk_gb)
{
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        struct sw_msg_node_job job = {.kind = SW_KIND_HVM, .disk_gb = disk_gb};
        server_id(i, job.server_id);
        snprintf(job.image_sha256, sizeof job.image_sha256, "%s", sha);
        snprintf(job.image_format, sizeof job.image_format, "qcow2");
        struct sw_msg_disk d;
        struct sw_err err;
        bool made = false;
        sw_err_clear(&err);
        if (sw_storage_root_ensure(eng, &job, SW_STORAGE_TAG_CREATE, &d, &made, &err) < 0 ||
            !made) {
            fprintf(stderr, "create %d: %s (%s)\n", i, made ? err.msg : "found, not made",
                    err.detail);
            return -1;
        }
        if (i == 0 && !check_overlay(eng->conn, &d, (long long)disk_gb * GIB, sha))
            return -1;
    }
    return now_s() - t0;
}

/* N terminates' deletes: the seconds they took, or -1. */
static double deletes(struct sw_engine *eng, int n)
{
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        sw_uuid_t id;
        struct sw_err err;
        sw_err_clear(&err);
        server_id(i, id);
        if (sw_storage_delete(eng, id, false, NULL, &err) < 0) {
            fprintf(stderr, "delete %d: %s (%s)\n", i, err.msg, err.detail);
            return -1;
        }
    }
    return now_s() - t0;
}

/* How many "sw-" volumes are left in the engine's pools, or -1. */
static void count_one(void *ctx, const char *pool, const char *volume)
{
    (void)pool;
    (void)volume;
    ++*(int *)ctx;
}

static int left(struct sw_engine *eng)
{
    int n = 0;
    struct sw_err err;
    sw_err_clear(&err);
    return sw_storage_each_volume(eng, count_one, &n, &err) < 0 ? -1 : n;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: bench/storage URI STATE_DIR BASE_SHA256 N DISK_GB\n");
        return 2;
    }
    int n = atoi(argv[4]), disk_gb = atoi(argv[5]);
    if (n < 1 || n > 100000 || disk_gb < 1 || strlen(argv[3]) != 64)
        return 2;
    sw_log_init("bench", "error");
    struct sw_err err;
    sw_err_clear(&err);
    if (sw_virt_init(&err) < 0)
        return 1;
    virConnectPtr conn = sw_virt_open(argv[1], &err);
    if (!conn) {
        fprintf(stderr, "%s: %s\n", err.msg, err.detail);
        return 1;
    }
    struct sw_engine eng = {.conn = conn, .state_dir = argv[2]};
    double c = creates(&eng, argv[3], n, disk_gb);
    double d = c < 0 ? -1 : deletes(&eng, n);
    int rest = left(&eng);
    virConnectClose(conn);
    if (c <= 0 || d <= 0 || rest != 0) {
        fprintf(stderr, "failed: creates %.3f s, deletes %.3f s, %d volume(s) left\n", c, d, rest);
        return 1;
    }
    printf("n=%d disk_gb=%d engine_create_s=%.4f engine_create_per_s=%.1f "
           "engine_delete_per_s=%.1f\n",
           n, disk_gb, c, n / c, n / d);
    return 0;
}
