/* seedvol.c - a server's NoCloud seed volume: made in its root's pool,
 * written through libvirt's upload stream (seedvol.h). */
#include "config.h"
#include "engines/seedvol.h"
#include "engines/domdef.h"
#include "engines/domxml.h"
#include "engines/seed.h"
#include "engines/storage.h"
#include "engines/virt.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"

#include <libvirt/virterror.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1024LL * 1024)

const char *sw_seedvol_name(const char *server_id, char out[128])
{
    char dom[64];
    snprintf(out, 128, "%s-seed.iso", sw_domdef_name(server_id, dom));
    return out;
}

void sw_seedvol_vars(const char *server_id, bool on, struct sw_domxml_vars *v)
{
    char name[128];
    const char *marker[1] = {"NoCloud seed"}, *volume[1] = {sw_seedvol_name(server_id, name)};
    sw_domxml_set_list(v, "seed", marker, on ? 1 : 0);
    sw_domxml_set_list(v, "seed_volume", volume, on ? 1 : 0);
}

int sw_seedvol_wanted(const struct sw_engine *eng, const struct sw_engine_driver *drv,
                      struct sw_err *err)
{
    if (!drv->root_volume)
        return 0;
    SW_AUTOFREE char *tmpl = sw_domxml_load(eng->templates_dir, drv->name, eng->hv->name, err);
    if (!tmpl)
        return -1;
    return strstr(tmpl, "{{seed}}") != NULL;
}

/* The engine's pool named name (the root's), or NULL with err set. */
static const struct sw_engine_pool *pool_named(struct sw_engine *eng, const char *name,
                                               struct sw_err *err)
{
    size_t np;
    const struct sw_engine_pool *pools = sw_storage_pools(eng, &np);
    for (size_t i = 0; i < np; i++)
        if (strcmp(pools[i].name, name) == 0)
            return &pools[i];
    SW_ERR(err, SW_EINTERNAL, "could not write the server's seed: its disk's pool is not the node's");
    sw_err_detail(err, "pool \"%s\"", name);
    return NULL;
}

/* The seed volume name in pool: found, or made with capacity bytes. */
static virStorageVolPtr vol_get(virStoragePoolPtr pool, const struct sw_engine_pool *p,
                                const char *name, long long capacity, bool *made,
                                struct sw_err *err)
{
    virStorageVolPtr vol = virStorageVolLookupByName(pool, name);
    if (vol || capacity <= 0) {
        if (!vol)
            virResetLastError();
        return vol;
    }
    virResetLastError();
    char xml[512];
    snprintf(xml, sizeof xml,
             "<volume><name>%s</name><capacity unit='bytes'>%lld</capacity>"
             "<allocation unit='bytes'>%lld</allocation>%s</volume>",
             name, capacity, capacity,
             sw_storage_pool_of_files(p) ? "<target><format type='raw'/></target>" : "");
    vol = virStorageVolCreateXML(pool, xml, 0);
    if (!vol) {
        sw_virt_error(err, "create the server's seed");
        return NULL;
    }
    *made = true;
    sw_info("seed.volume_created", "pool=%s volume=%s bytes=%lld", p->name, name, capacity);
    return vol;
}

/* The volume's capacity, grown to need bytes when smaller. */
static int vol_capacity(virStorageVolPtr vol, long long need, long long *capacity,
                        struct sw_err *err)
{
    virStorageVolInfo info;
    if (virStorageVolGetInfo(vol, &info) < 0) {
        sw_virt_error(err, "read the server's seed");
        return -1;
    }
    *capacity = (long long)info.capacity;
    if (*capacity >= need)
        return 0;
    if (virStorageVolResize(vol, (unsigned long long)need, 0) < 0) {
        sw_virt_error(err, "grow the server's seed");
        return -1;
    }
    *capacity = need;
    return 0;
}

/* Pads iso with zeros to len bytes (len >= iso->len), wiping the old copy. */
static void iso_pad(struct sw_seed_iso *iso, size_t len)
{
    unsigned char *b = sw_malloc(len);
    memcpy(b, iso->bytes, iso->len);
    memset(b + iso->len, 0, len - iso->len);
    sodium_memzero(iso->bytes, iso->len);
    free(iso->bytes);
    iso->bytes = b;
    iso->len = len;
}

/* Uploads iso into vol; a node whose storage has no upload (the test
 * driver) leaves the volume as it is, and says so once per process. */
static int vol_write(virStorageVolPtr vol, const struct sw_seed_iso *iso, struct sw_seedvol *out,
                     struct sw_err *err)
{
    static atomic_bool told;
    struct sw_err e;
    sw_err_clear(&e);
    if (sw_seed_upload(vol, iso, &e) == 0) {
        out->written = true;
        return 0;
    }
    if (e.code == SW_EUNSUPPORTED) {
        out->unwritable = true;
        if (!atomic_exchange(&told, true))
            sw_info("seed.upload_unsupported", "detail=\"the node's storage has no volume upload:"
                                               " seed volumes stay empty\"");
        return 0;
    }
    if (err)
        *err = e;
    return -1;
}

static void disk_of(const struct sw_engine_pool *p, const char *name, long long capacity,
                    struct sw_msg_disk *d)
{
    memset(d, 0, sizeof *d);
    snprintf(d->role, sizeof d->role, "seed");
    snprintf(d->pool, sizeof d->pool, "%s", p->name);
    snprintf(d->volume, sizeof d->volume, "%s", name);
    snprintf(d->format, sizeof d->format, "iso");
    d->capacity = capacity;
}

/* The seed of job into the volume in pool (made when missing). */
static int seed_put(virStoragePoolPtr pool, const struct sw_engine_pool *p,
                    const struct sw_msg_node_job *job, enum sw_seedvol_how how,
                    const char *instance_id, struct sw_seedvol *out, struct sw_err *err)
{
    char name[128];
    sw_seedvol_name(job->server_id, name);
    long long capacity = 0;
    virStorageVolPtr vol = how == SW_SEEDVOL_KEEP ? vol_get(pool, p, name, 0, &out->made, err) : NULL;
    if (vol) { /* kept as it is */
        int rc = vol_capacity(vol, 0, &capacity, err);
        disk_of(p, name, capacity, &out->disk);
        virStorageVolFree(vol);
        return rc;
    }
    struct sw_seed_job sj;
    struct sw_seed_iso iso;
    sw_seed_of_job(job, instance_id, &sj);
    if (sw_seed_iso(&sj.seed, &iso, err) < 0)
        return -1;
    long long need = ((long long)iso.len + MIB - 1) / MIB * MIB;
    int rc = -1;
    if (!(vol = vol_get(pool, p, name, need, &out->made, err)) ||
        vol_capacity(vol, need, &capacity, err) < 0)
        goto done;
    iso_pad(&iso, (size_t)capacity);
    rc = vol_write(vol, &iso, out, err);
    disk_of(p, name, capacity, &out->disk);
done:
    sw_seed_iso_release(&iso);
    if (vol && rc < 0 && out->made && virStorageVolDelete(vol, 0) < 0)
        sw_warn("storage.cleanup_failed", "server=%s volume=%s", job->server_id, name);
    if (vol)
        virStorageVolFree(vol);
    return rc;
}

int sw_seedvol_ensure(struct sw_engine *eng, const struct sw_engine_driver *drv,
                      const struct sw_msg_node_job *job, const struct sw_msg_disk *root,
                      enum sw_seedvol_how how, const char *instance_id, struct sw_seedvol *out,
                      struct sw_err *err)
{
    memset(out, 0, sizeof *out);
    int wanted = sw_seedvol_wanted(eng, drv, err);
    if (wanted <= 0)
        return wanted;
    const struct sw_engine_pool *p = pool_named(eng, root->pool, err);
    if (!p)
        return -1;
    virStoragePoolPtr pool = sw_storage_pool_open(eng, p, err);
    if (!pool)
        return -1;
    int rc = seed_put(pool, p, job, how, instance_id, out, err);
    virStoragePoolFree(pool);
    if (rc == 0 && out->written)
        sw_info("seed.written", "server=%s volume=%s instance=%s bytes=%lld", job->server_id,
                out->disk.volume, instance_id ? instance_id : job->server_id,
                (long long)out->disk.capacity);
    return rc < 0 ? -1 : 1;
}
