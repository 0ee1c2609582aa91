/* volcopy.c - a server's volumes copied to another node's pools through
 * libvirt's storage API (volcopy.h). */
#include "config.h"
#include "engines/volcopy.h"
#include "engines/storage.h"
#include "engines/virt.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"

#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK (1024 * 1024)
/* Progress is told at most this often (and at each volume's end). */
#define TICK_MS 250

static const char what[] = "copy the server's volumes to the target node";

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One volume to copy: what is streamed (the volume, or its flattened
 * temporary) and the copy on the target. */
struct vol {
    const struct sw_msg_disk *d;
    virStorageVolPtr src, flat, dst;
    unsigned long long size;
};

struct run {
    struct sw_volcopy *c;
    struct vol v[SW_MSG_MAX_DISKS];
    int n;
    uint64_t done;
    long long t0_ms, told_ms;
    bool stopped;
};

static bool wanted(const struct sw_volcopy *c, const struct sw_msg_disk *d)
{
    return !c->role || strcmp(c->role, d->role) == 0;
}

/* c->disks without the flattened temporaries an earlier try left (they
 * go with the source's volumes after the move). */
static void drop_temporaries(struct sw_volcopy *c)
{
    int k = 0;
    for (int i = 0; i < c->ndisks; i++)
        if (!strstr(c->disks[i].volume, "-flat-"))
            c->disks[k++] = c->disks[i];
    c->ndisks = k;
}

static virStorageVolPtr vol_lookup(virConnectPtr conn, const char *pool, const char *name)
{
    virStoragePoolPtr p = virStoragePoolLookupByName(conn, pool);
    virStorageVolPtr v = p ? virStorageVolLookupByName(p, name) : NULL;
    if (p)
        virStoragePoolFree(p);
    return v;
}

/* ---- the source side: flattened where it has a backing file ---- */

static bool has_backing(virStorageVolPtr vol)
{
    char *xml = virStorageVolGetXMLDesc(vol, 0);
    bool b = xml && strstr(xml, "<backingStore>");
    free(xml);
    return b;
}

/* v->flat: v->src as one standalone qcow2 in its own pool. */
static int flatten(struct run *r, struct vol *v, int i, struct sw_err *err)
{
    char name[160], xml[512];
    snprintf(name, sizeof name, "sw-%s-flat-%d.qcow2", r->c->server_id, i);
    for (char *p = name; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    snprintf(xml, sizeof xml,
             "<volume><name>%s</name><capacity unit='bytes'>%lld</capacity>"
             "<allocation unit='bytes'>0</allocation>"
             "<target><format type='qcow2'/><compat>1.1</compat></target></volume>",
             name, (long long)v->d->capacity);
    virStoragePoolPtr pool = virStoragePoolLookupByVolume(v->src);
    virStorageVolPtr old = pool ? virStorageVolLookupByName(pool, name) : NULL;
    if (old) { /* left by an earlier try */
        virStorageVolDelete(old, 0);
        virStorageVolFree(old);
    }
    virResetLastError();
    v->flat = pool ? virStorageVolCreateXMLFrom(pool, xml, v->src, 0) : NULL;
    if (pool)
        virStoragePoolFree(pool);
    if (!v->flat) {
        sw_virt_error(err, what);
        return -1;
    }
    return 0;
}

/* v->src (and v->flat) opened, v->size the bytes to stream. */
static int source_open(struct run *r, struct vol *v, int i, struct sw_err *err)
{
    v->src = vol_lookup(r->c->eng->conn, v->d->pool, v->d->volume);
    if (!v->src || (has_backing(v->src) && flatten(r, v, i, err) < 0)) {
        if (!v->src)
            sw_virt_error(err, what);
        return -1;
    }
    virStorageVolInfo info;
    if (virStorageVolGetInfoFlags(v->flat ? v->flat : v->src, &info, VIR_STORAGE_VOL_GET_PHYSICAL) <
        0) {
        sw_virt_error(err, what);
        return -1;
    }
    v->size = info.allocation; /* the file's size, with GET_PHYSICAL */
    return 0;
}

/* ---- the target side ---- */

/* The same file seen by both nodes: a pool that is one folder, not marked
 * shared. Copying onto it would delete the source. */
static bool same_file(virStorageVolPtr a, virStorageVolPtr b)
{
    char *pa = virStorageVolGetPath(a), *pb = virStorageVolGetPath(b);
    bool same = pa && pb && strcmp(pa, pb) == 0;
    free(pa);
    free(pb);
    return same;
}

static int target_make(struct run *r, struct vol *v, struct sw_err *err)
{
    virStoragePoolPtr pool = virStoragePoolLookupByName(r->c->target, v->d->pool);
    if (!pool) {
        virResetLastError();
        SW_ERR(err, SW_EUNSUPPORTED, "could not %s: the target node has no pool \"%s\"", what,
               v->d->pool);
        return -1;
    }
    virStorageVolPtr old = virStorageVolLookupByName(pool, v->d->volume);
    virResetLastError();
    int rc = 0;
    if (old && same_file(old, v->src)) {
        SW_ERR(err, SW_ECONFLICT,
               "could not %s: pool \"%s\" is one folder on both nodes; mark it shared", what,
               v->d->pool);
        rc = -1;
    } else if (old && virStorageVolDelete(old, 0) < 0) { /* a partial copy of an earlier try */
        sw_virt_error(err, what);
        rc = -1;
    }
    if (old)
        virStorageVolFree(old);
    char xml[512];
    snprintf(xml, sizeof xml,
             "<volume><name>%s</name><capacity unit='bytes'>%lld</capacity>"
             "<allocation unit='bytes'>0</allocation><target><format type='%s'/></target>"
             "</volume>",
             v->d->volume, (long long)v->d->capacity,
             strcmp(v->d->format, "qcow2") == 0 ? "qcow2" : "raw");
    if (rc == 0 && !(v->dst = virStorageVolCreateXML(pool, xml, 0))) {
        sw_virt_error(err, what);
        rc = -1;
    }
    virStoragePoolFree(pool);
    return rc;
}

/* ---- the stream ---- */

static bool tick(struct run *r, bool force)
{
    long long t = now_ms();
    if (!r->c->tick || (!force && t - r->told_ms < TICK_MS))
        return r->stopped;
    r->told_ms = t;
    if (r->c->tick(r->c->ctx, r->done, r->c->total))
        r->stopped = true;
    return r->stopped;
}

static int send_all(virStreamPtr out, const char *buf, int n)
{
    for (int off = 0; off < n;) {
        int w = virStreamSend(out, buf + off, (size_t)(n - off));
        if (w < 0)
            return -1;
        off += w;
    }
    return 0;
}

/* Keeps the data streamed under c->bandwidth_mib: one wait of at most a
 * tick while it is ahead; true when it waited. */
static bool throttled(struct run *r)
{
    if (!r->c->bandwidth_mib)
        return false;
    long long due = r->t0_ms + (long long)(r->c->data * 1000 / (r->c->bandwidth_mib * 1048576ULL));
    long long ahead = due - now_ms();
    if (ahead <= 0)
        return false;
    if (ahead > TICK_MS)
        ahead = TICK_MS;
    struct timespec ts = {ahead / 1000, (ahead % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return true;
}

/* Moves what in holds to out, holes as holes: 1 at the end, 0 stopped,
 * -1 on a libvirt error. */
static int pump(struct run *r, virStreamPtr in, virStreamPtr out, char *buf)
{
    for (;;) {
        while (throttled(r))
            if (tick(r, false))
                return 0;
        if (tick(r, false))
            return 0;
        int n = virStreamRecvFlags(in, buf, CHUNK, VIR_STREAM_RECV_STOP_AT_HOLE);
        if (n == 0)
            return 1;
        if (n == -3) {
            long long len = 0;
            if (virStreamRecvHole(in, &len, 0) < 0 || virStreamSendHole(out, len, 0) < 0)
                return -1;
            r->done += (uint64_t)len;
            continue;
        }
        if (n < 0 || send_all(out, buf, n) < 0)
            return -1;
        r->done += (uint64_t)n;
        r->c->data += (uint64_t)n;
    }
}

static int stream_one(struct run *r, struct vol *v, char *buf, struct sw_err *err)
{
    virStreamPtr in = virStreamNew(r->c->eng->conn, 0), out = virStreamNew(r->c->target, 0);
    int rc = -1;
    if (in && out &&
        virStorageVolDownload(v->flat ? v->flat : v->src, in, 0, 0,
                              VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM) == 0) {
        if (virStorageVolUpload(v->dst, out, 0, 0, VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM) == 0) {
            rc = pump(r, in, out, buf);
            if (rc == 1 && virStreamFinish(out) < 0)
                rc = -1;
            if (rc != 1)
                virStreamAbort(out);
        } else {
            rc = -1;
        }
        if (rc == 1 ? virStreamFinish(in) < 0 : virStreamAbort(in) < 0)
            rc = rc == 1 ? -1 : rc;
    }
    if (rc < 0)
        sw_virt_error(err, what);
    else if (rc == 0)
        SW_ERR(err, SW_ECONFLICT, "could not %s: the copy was cancelled", what);
    if (in)
        virStreamFree(in);
    if (out)
        virStreamFree(out);
    tick(r, true);
    return rc == 1 ? 0 : -1;
}

/* ---- the whole ---- */

static void vol_free(struct vol *v)
{
    if (v->flat) {
        virStorageVolDelete(v->flat, 0);
        virStorageVolFree(v->flat);
    }
    if (v->src)
        virStorageVolFree(v->src);
    if (v->dst)
        virStorageVolFree(v->dst);
    virResetLastError();
    memset(v, 0, sizeof *v);
}

/* Deletes the copies made so far (a failed or cancelled copy). */
static void run_undo(struct run *r)
{
    for (int i = 0; i < r->n; i++)
        if (r->v[i].dst && virStorageVolDelete(r->v[i].dst, 0) == 0)
            sw_info("volcopy.undone", "server=%s pool=%s volume=%s", r->c->server_id,
                    r->v[i].d->pool, r->v[i].d->volume);
    virResetLastError();
}

static int copy_all(struct run *r, struct sw_err *err)
{
    struct sw_volcopy *c = r->c;
    for (int i = 0; i < c->ndisks; i++)
        if (wanted(c, &c->disks[i])) {
            struct vol *v = &r->v[r->n++];
            v->d = &c->disks[i];
            if (source_open(r, v, i, err) < 0)
                return -1;
            c->total += v->size;
        }
    char *buf = sw_malloc(CHUNK);
    int rc = 0;
    for (int i = 0; rc == 0 && i < r->n; i++)
        rc = target_make(r, &r->v[i], err) < 0 ? -1 : stream_one(r, &r->v[i], buf, err);
    free(buf);
    return rc;
}

int sw_volcopy_run(struct sw_volcopy *c, struct sw_err *err)
{
    long long t0 = now_ms();
    c->total = c->data = 0;
    c->ndisks = sw_storage_disks(c->eng, c->server_id, c->disks, SW_MSG_MAX_DISKS, err);
    if (c->ndisks < 0) {
        c->ndisks = 0;
        return -1;
    }
    drop_temporaries(c);
    struct run r = {.c = c, .t0_ms = t0};
    int rc = copy_all(&r, err);
    if (rc < 0)
        run_undo(&r);
    for (int i = 0; i < r.n; i++)
        vol_free(&r.v[i]);
    c->seconds = (double)(now_ms() - t0) / 1000.0;
    if (rc == 0)
        sw_info("volcopy.done", "server=%s volumes=%d bytes=%llu data=%llu seconds=%.3f",
                c->server_id, r.n, (unsigned long long)c->total, (unsigned long long)c->data,
                c->seconds);
    return rc;
}

void sw_volcopy_undo(struct sw_volcopy *c)
{
    virDomainPtr dom = virDomainLookupByUUIDString(c->target, c->server_id);
    virResetLastError();
    if (dom) { /* the server is there: they are its volumes */
        virDomainFree(dom);
        return;
    }
    for (int i = 0; i < c->ndisks; i++) {
        virStorageVolPtr v = vol_lookup(c->target, c->disks[i].pool, c->disks[i].volume);
        virStorageVolPtr mine = vol_lookup(c->eng->conn, c->disks[i].pool, c->disks[i].volume);
        if (v && !(mine && same_file(v, mine)) && virStorageVolDelete(v, 0) == 0)
            sw_info("volcopy.undone", "server=%s pool=%s volume=%s", c->server_id,
                    c->disks[i].pool, c->disks[i].volume);
        if (v)
            virStorageVolFree(v);
        if (mine)
            virStorageVolFree(mine);
    }
    virResetLastError();
}
