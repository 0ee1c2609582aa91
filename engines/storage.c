/* storage.c - a server's volumes in its node's storage pools, through
 * libvirt's storage API only (storage.h). */
#include "config.h"
#include "engines/storage.h"
#include "engines/image.h"
#include "engines/rootfs.h"
#include "engines/domdef.h"
#include "engines/virt.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"

#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GIB (1024LL * 1024 * 1024)

/* ---- pools ---- */

const struct sw_engine_pool *sw_storage_pools(const struct sw_engine *eng, size_t *n)
{
    static _Thread_local struct sw_engine_pool def;
    if (eng->pools && eng->npools > 0) {
        *n = eng->npools;
        return eng->pools;
    }
    const char *state = eng->state_dir ? eng->state_dir : SW_ENGINE_STATE_DIR;
    memset(&def, 0, sizeof def);
    snprintf(def.name, sizeof def.name, "%s", SW_STORAGE_DEFAULT_POOL);
    snprintf(def.type, sizeof def.type, "dir");
    snprintf(def.path, sizeof def.path, "%s/pools/%s", state, SW_STORAGE_DEFAULT_POOL);
    def.fill_threshold = 90;
    *n = 1;
    return &def;
}

/* Pools of files (dir, netfs): volumes carry an extension and a qcow2 may
 * name a backing file in the same pool. Block pools (logical, zfs, rbd)
 * hold raw volumes and get full copies. */
static bool pool_of_files(const struct sw_engine_pool *p)
{
    return strcmp(p->type, "dir") == 0 || strcmp(p->type, "netfs") == 0;
}

bool sw_storage_pool_of_files(const struct sw_engine_pool *p) { return pool_of_files(p); }

/* A pool the engine does not make (not dir) is not defined on the node. */
static bool pool_absent(struct sw_engine *eng, const struct sw_engine_pool *p)
{
    if (strcmp(p->type, "dir") == 0)
        return false;
    virStoragePoolPtr pool = virStoragePoolLookupByName(eng->conn, p->name);
    if (pool) {
        virStoragePoolFree(pool);
        return false;
    }
    virErrorPtr e = virGetLastError();
    bool absent = e && e->code == VIR_ERR_NO_STORAGE_POOL;
    virResetLastError();
    return absent;
}

static void storage_error(struct sw_err *err, const char *what, const char *pool)
{
    sw_virt_error(err, what);
    if (!err)
        return;
    char d[sizeof err->detail];
    snprintf(d, sizeof d, "%s", err->detail);
    sw_err_detail(err, "pool \"%s\": %s", pool, d);
}

const struct sw_engine_pool *sw_storage_pool_named(const struct sw_engine *eng, const char *name)
{
    size_t n = 0;
    const struct sw_engine_pool *pools = sw_storage_pools(eng, &n);
    for (size_t i = 0; i < n; i++)
        if (!name || strcmp(pools[i].name, name) == 0)
            return &pools[i];
    return NULL;
}

const char *sw_storage_image_name(const struct sw_engine_pool *p, const char *sha256,
                                  const char *format, char out[96])
{
    bool files = pool_of_files(p);
    snprintf(out, 96, "img-%s%s%s", sha256, files ? "." : "", files ? format : "");
    return out;
}

int sw_storage_image_ensure(struct sw_engine *eng, const char *pool_name,
                            const struct sw_image_ref *ref, const char *what,
                            struct sw_err *err)
{
    const struct sw_engine_pool *p = sw_storage_pool_named(eng, pool_name);
    if (!p) {
        SW_ERR(err, SW_EUNAVAILABLE, "could not %s: its node has no such pool", what);
        sw_err_detail(err, "pool \"%s\"", pool_name ? pool_name : "(first)");
        return -1;
    }
    virStoragePoolPtr pool = sw_storage_pool_open(eng, p, err);
    if (!pool)
        return -1;
    int rc = 0;
    char name[96];
    sw_storage_image_name(p, ref->sha256, ref->format, name);
    if (eng->images && pool_of_files(p)) {
        rc = sw_image_ensure(pool, eng->images, ref, name, err);
    } else {
        virStorageVolPtr vol = virStorageVolLookupByName(pool, name);
        if (vol) {
            virStorageVolFree(vol);
        } else {
            virResetLastError();
            SW_ERR(err, SW_EUNAVAILABLE, "could not %s: it is not on its node", what);
            sw_err_detail(err, "volume \"%s\" missing in pool \"%s\"", name, p->name);
            rc = -1;
        }
    }
    virStoragePoolFree(pool);
    return rc;
}

/* Defines, builds and starts the dir pool p (autostart). */
static virStoragePoolPtr pool_make(struct sw_engine *eng, const struct sw_engine_pool *p,
                                   struct sw_err *err)
{
    char xml[1024];
    snprintf(xml, sizeof xml,
             "<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>", p->name,
             p->path);
    virStoragePoolPtr pool = virStoragePoolDefineXML(eng->conn, xml, 0);
    if (!pool) {
        storage_error(err, "prepare the node's storage", p->name);
        return NULL;
    }
    if (virStoragePoolBuild(pool, 0) < 0 || virStoragePoolSetAutostart(pool, 1) < 0) {
        storage_error(err, "prepare the node's storage", p->name);
        virStoragePoolUndefine(pool);
        virStoragePoolFree(pool);
        return NULL;
    }
    sw_info("storage.pool_defined", "pool=%s path=\"%s\"", p->name, p->path);
    return pool;
}

/* The engine's threads (jobs, sampler, reconciler) share one connection
 * and all open pools: one at a time, so two first uses never both define,
 * build or start a dir pool (the loser would see it half made and report
 * it missing). */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

static virStoragePoolPtr pool_open_locked(struct sw_engine *eng, const struct sw_engine_pool *p,
                                          struct sw_err *err)
{
    virStoragePoolPtr pool = virStoragePoolLookupByName(eng->conn, p->name);
    if (!pool) {
        virErrorPtr e = virGetLastError();
        if (!e || e->code != VIR_ERR_NO_STORAGE_POOL) {
            storage_error(err, "reach the node's storage", p->name);
            return NULL;
        }
        if (strcmp(p->type, "dir") != 0) {
            SW_ERR(err, SW_EUNAVAILABLE, "could not reach the node's storage: a pool is missing");
            sw_err_detail(err, "pool \"%s\" (%s) is not defined on the node", p->name, p->type);
            return NULL;
        }
        if (!(pool = pool_make(eng, p, err)))
            return NULL;
    }
    if (virStoragePoolIsActive(pool) != 1 && virStoragePoolCreate(pool, 0) < 0 &&
        virStoragePoolIsActive(pool) != 1) {
        storage_error(err, "start the node's storage", p->name);
        virStoragePoolFree(pool);
        return NULL;
    }
    return pool;
}

virStoragePoolPtr sw_storage_pool_open(struct sw_engine *eng, const struct sw_engine_pool *p,
                                       struct sw_err *err)
{
    pthread_mutex_lock(&pool_lock);
    virStoragePoolPtr pool = pool_open_locked(eng, p, err);
    pthread_mutex_unlock(&pool_lock);
    return pool;
}

/* ---- names ---- */

/* A container's root is a raw ext4 (rootfs.h): ".raw" in pools of files,
 * and its tag at most 8 characters (a reinstall's job id's first 8: 32
 * random bits), since libvirt's LXC driver loop-mounts it by a path of at
 * most 63 bytes (SW_ROOTFS_LXC_PATH_MAX). */
static const char *root_name(const struct sw_engine_pool *p, const char *server_id,
                             const char *tag, bool raw, char out[128])
{
    char dom[64];
    snprintf(out, 128, "%s-root-%.*s%s", sw_domdef_name(server_id, dom), raw ? 8 : 64, tag,
             !pool_of_files(p) ? "" : raw ? ".raw" : ".qcow2");
    return out;
}

const char *sw_storage_root_name(const struct sw_engine_pool *p, const char *server_id,
                                 const char *tag, char out[128])
{
    return root_name(p, server_id, tag, false, out);
}

const char *sw_storage_job_root_name(const struct sw_engine_pool *p,
                                     const struct sw_msg_node_job *job, const char *tag,
                                     char out[128])
{
    return root_name(p, job->server_id, tag, job->kind == SW_KIND_CONTAINER, out);
}

/* "sw-<id>-" into out[64]. */
static const char *server_prefix(const char *server_id, char out[64])
{
    char dom[64];
    snprintf(out, 64, "%s-", sw_domdef_name(server_id, dom));
    return out;
}

static const char *role_of(const char *volume, const char *prefix)
{
    const char *rest = volume + strlen(prefix);
    if (strncmp(rest, "root-", 5) == 0)
        return "root";
    if (strncmp(rest, "seed", 4) == 0)
        return "seed";
    return "other";
}

/* Fills d from vol in pool p. 0, or -1 with err set. */
static int disk_fill(virStorageVolPtr vol, const struct sw_engine_pool *p, const char *role,
                     struct sw_msg_disk *d, struct sw_err *err)
{
    virStorageVolInfo info;
    if (virStorageVolGetInfo(vol, &info) < 0) {
        storage_error(err, "read the server's disk", p->name);
        return -1;
    }
    memset(d, 0, sizeof *d);
    const char *name = virStorageVolGetName(vol);
    snprintf(d->role, sizeof d->role, "%s", role);
    snprintf(d->pool, sizeof d->pool, "%s", p->name);
    snprintf(d->volume, sizeof d->volume, "%s", name ? name : "");
    const char *ext = strrchr(d->volume, '.');
    snprintf(d->format, sizeof d->format, "%s",
             strcmp(role, "seed") == 0 ? "iso"
             : pool_of_files(p) && ext && strcmp(ext, ".raw") == 0 ? "raw"
             : pool_of_files(p)                                      ? "qcow2"
                                                                     : "raw");
    d->capacity = (int64_t)info.capacity;
    return 0;
}

/* ---- root volumes ---- */

int sw_storage_root_find(struct sw_engine *eng, const char *server_id, const char *tag,
                         struct sw_msg_disk *out, struct sw_err *err)
{
    struct sw_msg_disk all[SW_MSG_MAX_DISKS];
    if (!tag) {
        int n = sw_storage_disks(eng, server_id, all, SW_MSG_MAX_DISKS, err);
        for (int i = 0; i < n; i++)
            if (strcmp(all[i].role, "root") == 0) {
                *out = all[i];
                return 1;
            }
        return n < 0 ? -1 : 0;
    }
    size_t np;
    const struct sw_engine_pool *pools = sw_storage_pools(eng, &np);
    for (size_t i = 0; i < np; i++) {
        if (pool_absent(eng, &pools[i]))
            continue;
        virStoragePoolPtr pool = sw_storage_pool_open(eng, &pools[i], err);
        if (!pool)
            return -1;
        char name[128];
        virStorageVolPtr vol =
            virStorageVolLookupByName(pool, sw_storage_root_name(&pools[i], server_id, tag, name));
        if (!vol && pool_of_files(&pools[i])) /* a container's */
            vol = virStorageVolLookupByName(pool, root_name(&pools[i], server_id, tag, true, name));
        virStoragePoolFree(pool);
        if (vol && pool_of_files(&pools[i]) && strstr(name, ".raw") && sw_rootfs_unfinished(vol)) {
            /* a build an engine crash cut short: made again by the caller */
            sw_warn("storage.unfinished_root", "server=%s volume=%s", server_id, name);
            virStorageVolDelete(vol, 0);
            virStorageVolFree(vol);
            vol = NULL;
        }
        if (!vol) {
            virResetLastError();
            continue;
        }
        int rc = disk_fill(vol, &pools[i], "root", out, err);
        virStorageVolFree(vol);
        return rc < 0 ? -1 : 1;
    }
    return 0;
}

/* The job's base image: "" is no image, and the root volume is blank. */
static const char *job_image_sha256(const struct sw_msg_node_job *job)
{
    return job->image_sha256;
}

static const char *job_image_format(const struct sw_msg_node_job *job)
{
    return job->image_format[0] ? job->image_format : "qcow2";
}

/* The pool passes its fill threshold once need more bytes are allocated. */
static bool pool_full(virStoragePoolPtr pool, const struct sw_engine_pool *p, long long need)
{
    /* libvirt keeps a pool's figures up to date for the volumes it makes
     * and deletes; the sampler refreshes them (a directory scan) every
     * usage interval for the rest. */
    virStoragePoolInfo info;
    if (virStoragePoolGetInfo(pool, &info) < 0) {
        virResetLastError();
        return true;
    }
    int pct = p->fill_threshold > 0 && p->fill_threshold <= 100 ? p->fill_threshold : 100;
    unsigned long long after = info.allocation + (unsigned long long)need;
    return (unsigned long long)need > info.available || after * 100 > info.capacity * (unsigned)pct;
}

/* The first of eng's pools with room for need bytes (thin volumes need 0:
 * the pool must still be below its threshold). Returns owned and sets *p,
 * or NULL with err set. */
static virStoragePoolPtr pool_choose(struct sw_engine *eng, long long need,
                                     const struct sw_engine_pool **p, struct sw_err *err)
{
    size_t np;
    const struct sw_engine_pool *pools = sw_storage_pools(eng, &np);
    for (size_t i = 0; i < np; i++) {
        virStoragePoolPtr pool = sw_storage_pool_open(eng, &pools[i], err);
        if (!pool)
            continue;
        if (!pool_full(pool, &pools[i], need)) {
            *p = &pools[i];
            sw_err_clear(err);
            return pool;
        }
        virStoragePoolFree(pool);
        SW_ERR(err, SW_EUNPROCESSABLE, "could not create the server's disk: its node's storage is full");
        sw_err_detail(err, "pool \"%s\" past its fill threshold (%d%%) for %lld more bytes",
                      pools[i].name, pools[i].fill_threshold, need);
    }
    return NULL;
}

virStoragePoolPtr sw_storage_root_pool(struct sw_engine *eng, long long bytes,
                                       const struct sw_engine_pool **p, struct sw_err *err)
{
    /* Pools of files hold thin qcow2 (no space taken up front); block
     * pools allocate the whole size. */
    virStoragePoolPtr pool = pool_choose(eng, 0, p, err);
    if (pool && !pool_of_files(*p)) {
        virStoragePoolFree(pool);
        pool = pool_choose(eng, bytes, p, err);
    }
    return pool;
}

/* The volume XML of a root disk: thin qcow2 in pools of files (allocation
 * 0; backing = the base image's path when there is one), raw elsewhere. */
static void root_xml(const struct sw_engine_pool *p, const char *name, long long bytes,
                     const char *backing, const char *backing_format, char *xml, size_t n)
{
    if (pool_of_files(p) && !backing_format) { /* a container's raw root, sparse */
        snprintf(xml, n,
                 "<volume><name>%s</name><capacity unit='bytes'>%lld</capacity>"
                 "<allocation unit='bytes'>0</allocation><target><format type='raw'/></target>"
                 "</volume>",
                 name, bytes);
        return;
    }
    if (!pool_of_files(p)) {
        snprintf(xml, n,
                 "<volume><name>%s</name><capacity unit='bytes'>%lld</capacity>"
                 "<allocation unit='bytes'>%lld</allocation></volume>",
                 name, bytes, bytes);
        return;
    }
    char store[1200] = "";
    if (backing)
        snprintf(store, sizeof store,
                 "<backingStore><path>%s</path><format type='%s'/></backingStore>", backing,
                 backing_format);
    snprintf(xml, n,
             "<volume><name>%s</name><capacity unit='bytes'>%lld</capacity>"
             "<allocation unit='bytes'>0</allocation>"
             /* qcow2 v3: libvirt 9.0 makes v2 (0.10) unless told, and a v2
              * file cannot hold the dirty bitmaps of backup checkpoints */
             "<target><format type='qcow2'/><compat>1.1</compat></target>"
             "%s</volume>",
             name, bytes, store);
}

/* Where a block pool's images are fetched before libvirt copies them in:
 * the node's first pool of files (kept there: its own creates use them),
 * else the engine's stage pool (emptied after each copy). Returns owned. */
static virStoragePoolPtr stage_open(struct sw_engine *eng, bool *keep, struct sw_err *err)
{
    size_t np;
    const struct sw_engine_pool *pools = sw_storage_pools(eng, &np);
    for (size_t i = 0; i < np; i++)
        if (pool_of_files(&pools[i])) {
            *keep = true;
            return sw_storage_pool_open(eng, &pools[i], err);
        }
    struct sw_engine_pool stage = {.name = SW_STORAGE_STAGE_POOL, .type = "dir"};
    snprintf(stage.path, sizeof stage.path, "%s/pools/%s",
             eng->state_dir ? eng->state_dir : SW_ENGINE_STATE_DIR, SW_STORAGE_STAGE_POOL);
    *keep = false;
    return sw_storage_pool_open(eng, &stage, err);
}

/* The job's image fetched into pool (engines/image.c): as it is into a
 * pool of files, as raw content through the stage pool into a block pool. */
static int base_fetch(struct sw_engine *eng, virStoragePoolPtr pool,
                      const struct sw_engine_pool *p, const struct sw_msg_node_job *job,
                      struct sw_err *err)
{
    struct sw_image_ref ref = {.bytes = job->image_bytes};
    snprintf(ref.sha256, sizeof ref.sha256, "%s", job_image_sha256(job));
    snprintf(ref.format, sizeof ref.format, "%s", job_image_format(job));
    char vol[96];
    if (pool_of_files(p))
        return sw_image_ensure(pool, eng->images, &ref, vol, err);
    bool keep = false;
    virStoragePoolPtr stage = stage_open(eng, &keep, err);
    if (!stage)
        return -1;
    int rc = sw_image_ensure_block(pool, stage, keep, eng->images, &ref, vol, err);
    virStoragePoolFree(stage);
    return rc;
}

/* The job's base image in pool, img-<sha256>.<format> in pools of files
 * and img-<sha256> (raw) in block pools: fetched first when the engine
 * knows where from, else looked up. Returns owned, or NULL with err set. */
static virStorageVolPtr base_lookup(struct sw_engine *eng, virStoragePoolPtr pool,
                                    const struct sw_engine_pool *p,
                                    const struct sw_msg_node_job *job, struct sw_err *err)
{
    char name[128];
    if (eng->images && base_fetch(eng, pool, p, job, err) < 0)
        return NULL;
    snprintf(name, sizeof name, "img-%s%s%s", job_image_sha256(job), pool_of_files(p) ? "." : "",
             pool_of_files(p) ? job_image_format(job) : "");
    virStorageVolPtr base = virStorageVolLookupByName(pool, name);
    if (!base) {
        virResetLastError();
        SW_ERR(err, SW_EUNAVAILABLE, "could not create the server's disk: its image is not on its node");
        sw_err_detail(err, "volume \"%s\" missing in pool \"%s\"", name, p->name);
    }
    return base;
}

/* Makes the volume name in pool from xml (over the base image when base). */
static virStorageVolPtr vol_make(virStoragePoolPtr pool, const struct sw_engine_pool *p,
                                 const char *xml, virStorageVolPtr base, struct sw_err *err)
{
    virStorageVolPtr vol = base && !pool_of_files(p) ? virStorageVolCreateXMLFrom(pool, xml, base, 0)
                                                     : virStorageVolCreateXML(pool, xml, 0);
    if (!vol)
        storage_error(err, "create the server's disk", p->name);
    return vol;
}

static int root_make(struct sw_engine *eng, const struct sw_msg_node_job *job, const char *tag,
                     struct sw_msg_disk *out, struct sw_err *err)
{
    long long bytes = (long long)job->disk_gb * GIB;
    const char *sha = job_image_sha256(job);
    const struct sw_engine_pool *p = NULL;
    virStoragePoolPtr pool = sw_storage_root_pool(eng, bytes, &p, err);
    if (!pool)
        return -1;
    int rc = -1;
    virStorageVolPtr base = NULL, vol = NULL;
    char *backing = NULL;
    /* A container's root is a blank raw volume its template's tarball is
     * unpacked into (rootfs.h), never an overlay or a copy of the image. */
    bool rootfs = job->kind == SW_KIND_CONTAINER;
    if (sha[0] && !(base = base_lookup(eng, pool, p, job, err)))
        goto done;
    if (base && !rootfs && pool_of_files(p) && !(backing = virStorageVolGetPath(base))) {
        storage_error(err, "create the server's disk", p->name);
        goto done;
    }
    char name[128], xml[2048];
    root_xml(p, root_name(p, job->server_id, tag, rootfs, name), bytes, backing,
             rootfs ? NULL : job_image_format(job), xml, sizeof xml);
    if (!(vol = vol_make(pool, p, xml, rootfs ? NULL : base, err)))
        goto done;
    if (rootfs && (sw_rootfs_check(eng, vol, err) < 0 ||
                   (base && sw_rootfs_build(base, vol, job, err) < 0))) {
        if (virStorageVolDelete(vol, 0) < 0)
            sw_warn("storage.cleanup_failed", "server=%s volume=%s", job->server_id, name);
        goto done;
    }
    rc = disk_fill(vol, p, "root", out, err);
    sw_info("storage.volume_created", "server=%s pool=%s volume=%s bytes=%lld base=%s",
            job->server_id, p->name, name, bytes, sha[0] ? sha : "-");
done:
    free(backing);
    if (vol)
        virStorageVolFree(vol);
    if (base)
        virStorageVolFree(base);
    virStoragePoolFree(pool);
    return rc;
}

int sw_storage_root_ensure(struct sw_engine *eng, const struct sw_msg_node_job *job,
                           const char *tag, struct sw_msg_disk *out, bool *made,
                           struct sw_err *err)
{
    *made = false;
    int found = sw_storage_root_find(eng, job->server_id, tag, out, err);
    if (found != 0)
        return found < 0 ? -1 : 0;
    if (root_make(eng, job, tag, out, err) < 0)
        return -1;
    *made = true;
    return 0;
}

/* ---- resize ---- */

static virStorageVolPtr disk_open(struct sw_engine *eng, const struct sw_msg_disk *disk,
                                  struct sw_err *err)
{
    size_t np;
    const struct sw_engine_pool *pools = sw_storage_pools(eng, &np);
    for (size_t i = 0; i < np; i++) {
        if (strcmp(pools[i].name, disk->pool) != 0)
            continue;
        virStoragePoolPtr pool = sw_storage_pool_open(eng, &pools[i], err);
        if (!pool)
            return NULL;
        virStorageVolPtr vol = virStorageVolLookupByName(pool, disk->volume);
        if (!vol)
            storage_error(err, "find the server's disk", disk->pool);
        virStoragePoolFree(pool);
        return vol;
    }
    SW_ERR(err, SW_ENOTFOUND, "could not find the server's disk: its pool is not the node's");
    return NULL;
}

int sw_storage_root_grow(struct sw_engine *eng, virDomainPtr dom, struct sw_msg_disk *disk,
                         const struct sw_msg_node_job *job, char *note, size_t n,
                         struct sw_err *err)
{
    unsigned long long want = (unsigned long long)job->disk_gb * GIB;
    if (want <= (unsigned long long)disk->capacity) {
        if (want < (unsigned long long)disk->capacity)
            snprintf(note, n, "disk kept at %lld GB (it never shrinks)",
                     (long long)(disk->capacity / GIB));
        return 0;
    }
    virStorageVolPtr vol = disk_open(eng, disk, err);
    if (!vol)
        return -1;
    int rc = 0;
    char *path = dom ? virStorageVolGetPath(vol) : NULL;
    /* A running guest's image is grown by its hypervisor, which holds it. */
    int r = dom ? (path ? virDomainBlockResize(dom, path, want, VIR_DOMAIN_BLOCK_RESIZE_BYTES) : -1)
                : virStorageVolResize(vol, want, 0);
    virErrorPtr e = r < 0 ? virGetLastError() : NULL;
    if (r == 0) {
        disk->capacity = (int64_t)want;
        snprintf(note, n, "disk grown to %lld GB", (long long)job->disk_gb);
    } else if (e && (e->code == VIR_ERR_NO_SUPPORT || e->code == VIR_ERR_OPERATION_UNSUPPORTED)) {
        snprintf(note, n, "disk not grown: the node's storage cannot resize volumes");
        sw_warn("storage.resize_unsupported", "server=%s volume=%s", job->server_id,
                disk->volume);
        virResetLastError();
    } else {
        storage_error(err, "grow the server's disk", disk->pool);
        rc = -1;
    }
    free(path);
    virStorageVolFree(vol);
    return rc;
}

int sw_storage_disk_info(struct sw_engine *eng, const struct sw_msg_disk *disk,
                         virStorageVolInfo *info, struct sw_err *err)
{
    virStorageVolPtr vol = disk_open(eng, disk, err);
    if (!vol)
        return -1;
    int rc = virStorageVolGetInfo(vol, info);
    if (rc < 0)
        storage_error(err, "read the server's disk", disk->pool);
    virStorageVolFree(vol);
    return rc;
}

int sw_storage_delete_disk(struct sw_engine *eng, const struct sw_msg_disk *disk,
                           struct sw_err *err)
{
    virStorageVolPtr vol = disk_open(eng, disk, err);
    if (!vol)
        return -1;
    int rc = virStorageVolDelete(vol, 0);
    if (rc < 0)
        storage_error(err, "delete the server's disk", disk->pool);
    else
        sw_info("storage.volume_deleted", "pool=%s volume=%s", disk->pool, disk->volume);
    virStorageVolFree(vol);
    return rc;
}

/* ---- listing and deleting ---- */

/* Calls fn on every volume of pool p whose name starts with prefix; stops
 * at fn's first -1. 0, or -1 with err set. */
static int pool_each(struct sw_engine *eng, const struct sw_engine_pool *p, const char *prefix,
                     int (*fn)(void *ctx, const struct sw_engine_pool *p, virStorageVolPtr vol,
                               struct sw_err *err),
                     void *ctx, struct sw_err *err)
{
    virStoragePoolPtr pool = sw_storage_pool_open(eng, p, err);
    if (!pool)
        return -1;
    virStorageVolPtr *vols = NULL;
    int nv = virStoragePoolListAllVolumes(pool, &vols, 0), rc = 0;
    if (nv < 0) {
        storage_error(err, "list the node's volumes", p->name);
        rc = -1;
    }
    for (int i = 0; i < nv; i++) {
        const char *name = virStorageVolGetName(vols[i]);
        if (rc == 0 && name && strncmp(name, prefix, strlen(prefix)) == 0)
            rc = fn(ctx, p, vols[i], err);
        virStorageVolFree(vols[i]);
    }
    free(vols);
    virStoragePoolFree(pool);
    return rc;
}

/* pool_each over every pool of eng but those absent from the node. */
static int pools_each(struct sw_engine *eng, const char *prefix,
                      int (*fn)(void *ctx, const struct sw_engine_pool *p, virStorageVolPtr vol,
                                struct sw_err *err),
                      void *ctx, struct sw_err *err)
{
    size_t np;
    const struct sw_engine_pool *pools = sw_storage_pools(eng, &np);
    for (size_t i = 0; i < np; i++) {
        if (pool_absent(eng, &pools[i]))
            continue; /* holds nothing the node can see (storage.pool_missing) */
        if (pool_each(eng, &pools[i], prefix, fn, ctx, err) < 0)
            return -1;
    }
    return 0;
}

struct delete_ctx {
    const char *prefix, *keep, *server_id;
    bool roots_only;
};

static int delete_one(void *ctx, const struct sw_engine_pool *p, virStorageVolPtr vol,
                      struct sw_err *err)
{
    struct delete_ctx *c = ctx;
    const char *name = virStorageVolGetName(vol);
    if ((c->keep && strcmp(name, c->keep) == 0) ||
        (c->roots_only && strcmp(role_of(name, c->prefix), "root") != 0))
        return 0;
    if (virStorageVolDelete(vol, 0) < 0) {
        virErrorPtr e = virGetLastError();
        if (e && e->code == VIR_ERR_NO_STORAGE_VOL)
            return 0;
        storage_error(err, "delete the server's disk", p->name);
        if (err)
            err->retryable = true;
        return -1;
    }
    sw_info("storage.volume_deleted", "server=%s pool=%s volume=%s", c->server_id, p->name, name);
    return 0;
}

int sw_storage_delete(struct sw_engine *eng, const char *server_id, bool roots_only,
                      const char *keep, struct sw_err *err)
{
    char prefix[64];
    struct delete_ctx c = {server_prefix(server_id, prefix), keep, server_id, roots_only};
    return pools_each(eng, prefix, delete_one, &c, err);
}

struct disks_ctx {
    const char *prefix;
    struct sw_msg_disk *out;
    size_t max, n;
};

static int disk_one(void *ctx, const struct sw_engine_pool *p, virStorageVolPtr vol,
                    struct sw_err *err)
{
    struct disks_ctx *c = ctx;
    if (c->n >= c->max)
        return 0;
    const char *role = role_of(virStorageVolGetName(vol), c->prefix);
    if (disk_fill(vol, p, role, &c->out[c->n], err) < 0)
        return -1;
    c->n++;
    return 0;
}

int sw_storage_disks(struct sw_engine *eng, const char *server_id, struct sw_msg_disk *out,
                     size_t max, struct sw_err *err)
{
    char prefix[64];
    struct disks_ctx c = {server_prefix(server_id, prefix), out, max, 0};
    if (pools_each(eng, prefix, disk_one, &c, err) < 0)
        return -1;
    return (int)c.n;
}

struct each_ctx {
    void (*fn)(void *ctx, const char *pool, const char *volume);
    void *ctx;
};

static int each_one(void *ctx, const struct sw_engine_pool *p, virStorageVolPtr vol,
                    struct sw_err *err)
{
    (void)err;
    struct each_ctx *c = ctx;
    c->fn(c->ctx, p->name, virStorageVolGetName(vol));
    return 0;
}

int sw_storage_each_volume(struct sw_engine *eng,
                           void (*fn)(void *ctx, const char *pool, const char *volume), void *ctx,
                           struct sw_err *err)
{
    struct each_ctx c = {fn, ctx};
    return pools_each(eng, SW_ENGINE_DOMAIN_PREFIX, each_one, &c, err);
}

struct alloc_ctx {
    void (*fn)(void *ctx, const char *volume, int64_t allocation);
    void *ctx;
};

static int alloc_one(void *ctx, const struct sw_engine_pool *p, virStorageVolPtr vol,
                     struct sw_err *err)
{
    (void)p;
    (void)err;
    struct alloc_ctx *c = ctx;
    virStorageVolInfo info;
    if (virStorageVolGetInfo(vol, &info) < 0) {
        virResetLastError(); /* deleted since the listing */
        return 0;
    }
    c->fn(c->ctx, virStorageVolGetName(vol), (int64_t)info.allocation);
    return 0;
}

int sw_storage_each_allocation(struct sw_engine *eng,
                               void (*fn)(void *ctx, const char *volume, int64_t allocation),
                               void *ctx, struct sw_err *err)
{
    struct alloc_ctx c = {fn, ctx};
    return pools_each(eng, SW_ENGINE_DOMAIN_PREFIX, alloc_one, &c, err);
}

/* ---- report ---- */

size_t sw_storage_report(struct sw_engine *eng, struct sw_storage_report *out, size_t max)
{
    size_t np, n = 0;
    const struct sw_engine_pool *pools = sw_storage_pools(eng, &np);
    for (size_t i = 0; i < np && n < max; i++, n++) {
        struct sw_storage_report *r = &out[n];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "%s", pools[i].name);
        struct sw_err err;
        sw_err_clear(&err);
        virStoragePoolPtr pool = sw_storage_pool_open(eng, &pools[i], &err);
        virStoragePoolInfo info;
        if (!pool) {
            char q[600];
            sw_warn("storage.pool_missing", "pool=%s detail=%s", pools[i].name,
                    sw_log_quote(q, sizeof q, err.detail));
            continue;
        }
        if (virStoragePoolRefresh(pool, 0) < 0)
            virResetLastError();
        if (virStoragePoolGetInfo(pool, &info) == 0) {
            r->present = true;
            r->capacity = (int64_t)info.capacity;
            r->allocation = (int64_t)info.allocation;
            r->available = (int64_t)info.available;
        }
        virResetLastError();
        virStoragePoolFree(pool);
    }
    return n;
}
