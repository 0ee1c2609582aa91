/* bkrestore.c - a backup restored as a new server (bkrestore.h). */
#include "config.h"
#include "engines/bkrestore.h"
#include "engines/backup.h"
#include "engines/storage.h"
#include "core/err.h"
#include "core/log.h"

#include <libvirt/virterror.h>
#include <stdio.h>
#include <string.h>

#define GIB (1024LL * 1024 * 1024)

static bool domain_exists(struct sw_engine *eng, const char *server_id)
{
    virDomainPtr dom = virDomainLookupByUUIDString(eng->conn, server_id);
    if (!dom) {
        virResetLastError();
        return false;
    }
    virDomainFree(dom);
    return true;
}

/* The pool the restored root goes in, as a create's root would
 * (storage.h). Borrowed, or NULL with err set. */
static const struct sw_engine_pool *restore_pool(struct sw_engine *eng, long long bytes,
                                                 struct sw_err *err)
{
    const struct sw_engine_pool *p = NULL;
    virStoragePoolPtr pool = sw_storage_root_pool(eng, bytes, &p, err);
    if (!pool)
        return NULL;
    virStoragePoolFree(pool);
    return p;
}

/* The backup written into the create's root volume (hvm, pv), grown to
 * the plan's disk when larger (a sw_bkrestore_root_fn). */
static int volume_root(struct sw_engine *eng, const struct sw_msg_node_job *job,
                       struct sw_msg_disk *root, char *note, size_t n, struct sw_err *err)
{
    const struct sw_engine_pool *p = restore_pool(eng, (long long)job->disk_gb * GIB, err);
    if (!p || sw_engine_backup_restore_root(eng, job, p, SW_STORAGE_TAG_CREATE, root, err) < 0)
        return -1;
    sw_info("bkrestore.root", "server=%s backup=%s pool=%s volume=%s bytes=%lld",
            job->server_id, job->backup.id, p->name, root->volume, (long long)root->capacity);
    if (root->capacity >= (long long)job->disk_gb * GIB)
        return 0;
    return sw_storage_root_grow(eng, NULL, root, job, note, n, err);
}

/* The create's root from the backup (make), unless the server has it
 * already (a replay: a root under that name is whole). *made: this call
 * made it; note[n] says what else it did. */
static int root_from_backup(struct sw_engine *eng, const struct sw_msg_node_job *job,
                            sw_bkrestore_root_fn make, struct sw_msg_disk *root, bool *made,
                            char *note, size_t n, struct sw_err *err)
{
    *made = false;
    int found = sw_storage_root_find(eng, job->server_id, SW_STORAGE_TAG_CREATE, root, err);
    if (found != 0)
        return found < 0 ? -1 : 0;
    /* a root the make left is deleted when it fails after making it */
    int rc = make(eng, job, root, note, n, err);
    *made = rc == 0 || root->volume[0];
    return rc;
}

/* The ledger re-check before a byte is written (the create checks again). */
static int admit(struct sw_engine *eng, const struct sw_msg_node_job *job, struct sw_err *err)
{
    if (!eng->admit || eng->admit(eng->admit_ctx, job, err) == 0)
        return 0;
    char m[sizeof err->msg];
    snprintf(m, sizeof m, "%s", err->msg);
    snprintf(err->msg, sizeof err->msg, "could not restore the backup as a new server: %.180s", m);
    return -1;
}

int sw_bkrestore_create_with(struct sw_engine *eng, const struct sw_engine_driver *drv,
                             const struct sw_msg_node_job *job, sw_bkrestore_root_fn make,
                             struct sw_engine_outcome *out, struct sw_err *err)
{
    if (!drv->root_volume || !drv->lifecycle || !drv->lifecycle->create) {
        SW_ERR(err, SW_EUNSUPPORTED, "a restore as a new server is not supported for %s servers",
               drv->name);
        return -1;
    }
    struct sw_msg_disk root;
    memset(&root, 0, sizeof root);
    bool made = false;
    char note[96] = "";
    int rc = 0;
    if (!domain_exists(eng, job->server_id))
        rc = admit(eng, job, err) < 0 ? -1
                                       : root_from_backup(eng, job, make, &root, &made, note,
                                                          sizeof note, err);
    if (rc == 0)
        rc = drv->lifecycle->create(eng, drv, job, out, err);
    if (rc < 0 && made && !domain_exists(eng, job->server_id) &&
        sw_storage_delete_disk(eng, &root, NULL) < 0)
        sw_warn("storage.cleanup_failed", "server=%s volume=%s", job->server_id, root.volume);
    if (rc == 0)
        snprintf(out->note, sizeof out->note, "restored from backup %s%s%s", job->backup.id,
                 note[0] ? "; " : "", note);
    return rc;
}

int sw_bkrestore_create(struct sw_engine *eng, const struct sw_engine_driver *drv,
                        const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                        struct sw_err *err)
{
    return sw_bkrestore_create_with(eng, drv, job, volume_root, out, err);
}
