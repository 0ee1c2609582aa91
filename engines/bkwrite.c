/* bkwrite.c - a restore written into a new volume (bkwrite.h). */
#include "config.h"
#include "engines/bkwrite.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "engines/bkread.h"
#include "engines/virt.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHAT "restore the server's disk"

struct sw_bkwrite {
    struct sw_bkwrite_req req; /* strings borrowed from the caller's request */
    virStoragePoolPtr pool;
    virStorageVolPtr staging; /* NULL once finished, or when the volume already existed */
    bool exists;              /* req.volume was already there */
    uint64_t written;         /* bytes sent (non-zero chunks) */
};

static void vir_fail(struct sw_err *err, const char *api)
{
    sw_virt_error(err, WHAT);
    if (err && err->code == SW_EUNSUPPORTED)
        snprintf(err->msg, sizeof err->msg,
                 "could not %s: the node's hypervisor does not implement %s", WHAT, api);
}

static virStorageVolPtr vol_make(struct sw_bkwrite *w, const char *name, const char *fmt,
                                 virStorageVolPtr from)
{
    /* a qcow2 root is v3 (compat 1.1): its backups' checkpoints need it */
    char *xml = sw_asprintf("<volume><name>%s</name><capacity unit='bytes'>%llu</capacity>"
                            "<allocation>0</allocation><target><format type='%s'/>%s</target>"
                            "</volume>",
                            name, (unsigned long long)w->req.capacity, fmt,
                            strcmp(fmt, "qcow2") == 0 ? "<compat>1.1</compat>" : "");
    virStorageVolPtr v = from ? virStorageVolCreateXMLFrom(w->pool, xml, from, 0)
                              : virStorageVolCreateXML(w->pool, xml, 0);
    free(xml);
    return v;
}

struct sw_bkwrite *sw_bkwrite_open(struct sw_engine *eng, const struct sw_bkwrite_req *req,
                                   struct sw_err *err)
{
    char staging[128];
    if (!req->volume || !req->pool || req->capacity == 0 ||
        sw_bkread_scratch_name(req->server_id, req->restore_id, "raw", staging,
                               sizeof staging) < 0) {
        SW_ERR(err, SW_EINVALID, "could not %s: malformed restore request", WHAT);
        return NULL;
    }
    struct sw_bkwrite *w = sw_calloc(1, sizeof *w);
    w->req = *req;
    if (!(w->pool = virStoragePoolLookupByName(eng->conn, req->pool))) {
        vir_fail(err, "virStoragePoolLookupByName");
        sw_bkwrite_free(w);
        return NULL;
    }
    virStorageVolPtr done = virStorageVolLookupByName(w->pool, req->volume);
    if (done) {
        w->exists = true;
        virStorageVolFree(done);
        return w;
    }
    virStorageVolPtr old = virStorageVolLookupByName(w->pool, staging);
    if (old) { /* an earlier attempt's: start over */
        virStorageVolDelete(old, 0);
        virStorageVolFree(old);
    }
    if (!(w->staging = vol_make(w, staging, "raw", NULL))) {
        vir_fail(err, "virStorageVolCreateXML");
        sw_bkwrite_free(w);
        return NULL;
    }
    return w;
}

static bool all_zero(const unsigned char *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

static int upload(virStorageVolPtr vol, uint64_t off, const char *data, size_t len,
                  struct sw_err *err)
{
    virStreamPtr st = virStreamNew(virStorageVolGetConnect(vol), 0);
    int rc = -1;
    if (st && virStorageVolUpload(vol, st, off, len, 0) == 0) {
        size_t sent = 0;
        while (sent < len) {
            int n = virStreamSend(st, data + sent, len - sent);
            if (n <= 0)
                break;
            sent += (size_t)n;
        }
        if (sent == len && virStreamFinish(st) == 0)
            rc = 0;
        else
            virStreamAbort(st);
    }
    if (rc < 0)
        vir_fail(err, "volume upload (virStorageVolUpload)");
    if (st)
        virStreamFree(st);
    return rc;
}

int sw_bkwrite_chunk(void *restore, uint64_t offset, const void *data, size_t len,
                     struct sw_err *err)
{
    struct sw_bkwrite *w = restore;
    if (w->exists || all_zero(data, len))
        return 0;
    if (offset % SW_BKREAD_CHUNK != 0 || offset + len > w->req.capacity || !w->staging) {
        SW_ERR(err, SW_EINVALID, "could not %s: a chunk lies outside the disk", WHAT);
        return -1;
    }
    if (upload(w->staging, offset, data, len, err) < 0)
        return -1;
    w->written += len;
    return 0;
}

int sw_bkwrite_finish(struct sw_bkwrite *w, struct sw_msg_disk *out, struct sw_err *err)
{
    size_t n = strlen(w->req.volume);
    bool qcow2 = n > 6 && strcmp(w->req.volume + n - 6, ".qcow2") == 0;
    if (!w->exists) {
        virStorageVolPtr v = vol_make(w, w->req.volume, qcow2 ? "qcow2" : "raw", w->staging);
        if (!v) {
            vir_fail(err, "virStorageVolCreateXMLFrom");
            return -1;
        }
        virStorageVolFree(v);
        virStorageVolDelete(w->staging, 0);
        virStorageVolFree(w->staging);
        w->staging = NULL;
    }
    memset(out, 0, sizeof *out);
    snprintf(out->role, sizeof out->role, "root");
    snprintf(out->pool, sizeof out->pool, "%s", w->req.pool);
    snprintf(out->volume, sizeof out->volume, "%s", w->req.volume);
    snprintf(out->format, sizeof out->format, "%s", qcow2 ? "qcow2" : "raw");
    out->capacity = (int64_t)w->req.capacity;
    sw_info("bkwrite.done", "server=%s volume=%s written=%llu existed=%d", w->req.server_id,
            w->req.volume, (unsigned long long)w->written, w->exists ? 1 : 0);
    return 0;
}

void sw_bkwrite_free(struct sw_bkwrite *w)
{
    if (!w)
        return;
    if (w->staging) {
        virStorageVolDelete(w->staging, 0);
        virStorageVolFree(w->staging);
    }
    if (w->pool)
        virStoragePoolFree(w->pool);
    free(w);
}
