/* bkread.c - a server's root disk read for a backup (bkread.h). */
#include "config.h"
#include "engines/bkread.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "engines/domxml.h"
#include "engines/fsfreeze.h"
#include "engines/storage.h"
#include "engines/virt.h"

#include <libnbd.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WHAT "back up the server"
#define UUID_LEN 36
/* NBD reads in flight: the export's reads overlap the emits (4 x 4 MiB). */
#define SW_BKREAD_DEPTH 4

/* ---- pure ---- */

void sw_bkread_chunks_init(struct sw_bkread_chunks *c, uint64_t size)
{
    c->size = size;
    c->n = (size + SW_BKREAD_CHUNK - 1) / SW_BKREAD_CHUNK;
    c->bits = sw_calloc((size_t)(c->n / 8 + 1), 1);
}

void sw_bkread_chunks_release(struct sw_bkread_chunks *c)
{
    free(c->bits);
    c->bits = NULL;
    c->n = c->size = 0;
}

void sw_bkread_chunks_mark(struct sw_bkread_chunks *c, uint64_t off, uint64_t len)
{
    if (len == 0 || off >= c->size)
        return;
    uint64_t end = len > c->size - off ? c->size : off + len;
    for (uint64_t i = off / SW_BKREAD_CHUNK; i <= (end - 1) / SW_BKREAD_CHUNK; i++)
        c->bits[i / 8] |= (uint8_t)(1u << (i % 8));
}

bool sw_bkread_chunks_has(const struct sw_bkread_chunks *c, uint64_t idx)
{
    return idx < c->n && (c->bits[idx / 8] >> (idx % 8)) & 1u;
}

uint64_t sw_bkread_chunk_len(const struct sw_bkread_chunks *c, uint64_t idx)
{
    uint64_t off = idx * SW_BKREAD_CHUNK;
    if (idx >= c->n)
        return 0;
    return c->size - off < SW_BKREAD_CHUNK ? c->size - off : SW_BKREAD_CHUNK;
}

uint64_t sw_bkread_chunks_bytes(const struct sw_bkread_chunks *c)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < c->n; i++)
        if (sw_bkread_chunks_has(c, i))
            sum += sw_bkread_chunk_len(c, i);
    return sum;
}

static bool is_uuid(const char *s)
{
    if (!s || strlen(s) != UUID_LEN)
        return false;
    for (int i = 0; i < UUID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
            return false;
    }
    return true;
}

static int name_of(const char *server_id, const char *mid, const char *backup_id,
                   const char *ext, char *out, size_t n)
{
    if (!is_uuid(server_id) || !is_uuid(backup_id))
        return -1;
    int w = snprintf(out, n, "sw-%s-%s-%s%s%s", server_id, mid, backup_id, ext ? "." : "",
                     ext ? ext : "");
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

int sw_bkread_checkpoint_name(const char *server_id, const char *backup_id, char *out, size_t n)
{
    return name_of(server_id, "ckp", backup_id, NULL, out, n);
}

int sw_bkread_scratch_name(const char *server_id, const char *backup_id, const char *fmt,
                           char *out, size_t n)
{
    return name_of(server_id, "bk", backup_id, fmt, out, n);
}

/* name is "sw-<server_id>-<mid>-<uuid>" followed by nothing or ".<ext>". */
static bool is_named(const char *server_id, const char *mid, const char *name)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "sw-%s-%s-", server_id, mid);
    size_t p = strlen(prefix);
    if (!is_uuid(server_id) || strncmp(name, prefix, p) != 0 || strlen(name) < p + UUID_LEN)
        return false;
    char id[UUID_LEN + 1];
    memcpy(id, name + p, UUID_LEN);
    id[UUID_LEN] = '\0';
    const char *rest = name + p + UUID_LEN;
    return is_uuid(id) && (*rest == '\0' || (*rest == '.' && rest[1] != '\0'));
}

bool sw_bkread_is_checkpoint(const char *server_id, const char *name)
{
    return is_named(server_id, "ckp", name) && !strchr(name + 3 + UUID_LEN, '.');
}

bool sw_bkread_is_scratch(const char *server_id, const char *name)
{
    return is_named(server_id, "bk", name);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- libvirt edges ---- */

/* Maps libvirt's last error; an unsupported one names the call missing. */
static void vir_fail(struct sw_err *err, const char *api)
{
    sw_virt_error(err, WHAT);
    if (err && err->code == SW_EUNSUPPORTED)
        snprintf(err->msg, sizeof err->msg,
                 "could not %s: the node's hypervisor does not implement %s", WHAT, api);
}

/* One read in progress. */
struct bk {
    struct sw_engine *eng;
    const struct sw_bkread_req *req;
    struct sw_bkread_result *out;
    struct sw_msg_disk root;
    virDomainPtr dom;
    virStoragePoolPtr pool;
    virStorageVolPtr scratch;
    struct sw_bkread_chunks chunks;
    unsigned char *buf;  /* one chunk (download) */
    unsigned char *ring; /* SW_BKREAD_DEPTH chunks (pull); freed after the NBD handle */
    uint64_t done, total;
};

/* Emits chunk idx held in data and reports progress. */
static int emit_chunk(struct bk *b, uint64_t idx, const unsigned char *data, uint64_t len,
                      struct sw_err *err)
{
    if (b->req->emit(b->req->ctx, idx * SW_BKREAD_CHUNK, data, (size_t)len, err) < 0)
        return -1;
    b->out->chunks++;
    b->out->read_bytes += len;
    b->done += len;
    if (b->req->progress)
        b->req->progress(b->req->ctx, b->done, b->total);
    return 0;
}

/* A scratch volume of the root's size in the root's pool, of format fmt:
 * blank (from NULL) or a flattened copy of `from`. A left-over one of the
 * same name (a replayed backup id) is deleted first. */
static int scratch_make(struct bk *b, const char *fmt, virStorageVolPtr from, struct sw_err *err)
{
    char name[128];
    if (sw_bkread_scratch_name(b->req->server_id, b->req->backup_id, fmt, name, sizeof name) < 0) {
        SW_ERR(err, SW_EINVALID, "could not %s: malformed server or backup id", WHAT);
        return -1;
    }
    virStorageVolPtr old = virStorageVolLookupByName(b->pool, name);
    if (old) {
        virStorageVolDelete(old, 0);
        virStorageVolFree(old);
    }
    char *xml = sw_asprintf("<volume><name>%s</name><capacity unit='bytes'>%lld</capacity>"
                            "<allocation>0</allocation><target><format type='%s'/></target>"
                            "</volume>",
                            name, (long long)b->root.capacity, fmt);
    b->scratch = from ? virStorageVolCreateXMLFrom(b->pool, xml, from, 0)
                      : virStorageVolCreateXML(b->pool, xml, 0);
    free(xml);
    if (!b->scratch) {
        vir_fail(err, from ? "virStorageVolCreateXMLFrom" : "virStorageVolCreateXML");
        return -1;
    }
    sw_info("bkread.scratch", "server=%s volume=%s", b->req->server_id, name);
    return 0;
}

static void scratch_drop(struct bk *b)
{
    if (!b->scratch)
        return;
    if (virStorageVolDelete(b->scratch, 0) < 0)
        sw_warn("bkread.scratch_left", "server=%s", b->req->server_id);
    virStorageVolFree(b->scratch);
    b->scratch = NULL;
}

/* ---- running guests: backup API, pull mode, NBD ---- */

/* The domain's first disk's target ("vda"): the root in every template. */
static int root_target(struct bk *b, char dev[64], struct sw_err *err)
{
    char *xml = virDomainGetXMLDesc(b->dom, 0);
    char names[4][64];
    size_t n = xml ? sw_domxml_targets(xml, "disk", names, 4) : 0;
    free(xml);
    if (n == 0) {
        SW_ERR(err, SW_EINTERNAL, "could not %s: its disk is not in its definition", WHAT);
        return -1;
    }
    memcpy(dev, names[0], 64);
    return 0;
}

/* A running guest's filesystems frozen through its agent (fsfreeze.h):
 * 1 frozen, 0 not (no agent answered), SW_BKREAD_PAUSED not tried (a
 * paused guest's agent cannot answer). */
static int freeze(struct bk *b)
{
    int st = VIR_DOMAIN_NOSTATE;
    if (virDomainGetState(b->dom, &st, NULL, 0) < 0 || st != VIR_DOMAIN_RUNNING) {
        virResetLastError();
        return SW_BKREAD_PAUSED;
    }
    return sw_fsfreeze(b->eng, b->dom);
}

static int pull_begin(struct bk *b, const char *dev, const char *sock, struct sw_err *err)
{
    const char *parent = b->req->parent_checkpoint;
    char *scratch = virStorageVolGetPath(b->scratch); /* owned: libvirt's answer */
    if (!scratch) {
        vir_fail(err, "the scratch volume's path (virStorageVolGetPath)");
        return -1;
    }
    char *incr = b->out->incremental ? sw_asprintf("<incremental>%s</incremental>", parent)
                                     : sw_strdup("");
    char *bxml = sw_asprintf(
        "<domainbackup mode='pull'>%s<server transport='unix' socket='%s'/><disks>"
        "<disk name='%s' backup='yes' type='file'><scratch file='%s'/><driver type='qcow2'/>"
        "</disk></disks></domainbackup>",
        incr, sock, dev, scratch);
    free(scratch);
    char *cxml = sw_asprintf("<domaincheckpoint><name>%s</name><disks><disk name='%s' "
                             "checkpoint='bitmap'/></disks></domaincheckpoint>",
                             b->out->checkpoint, dev);
    int frozen = b->req->freeze ? freeze(b) : -1;
    int rc = virDomainBackupBegin(b->dom, bxml, cxml, VIR_DOMAIN_BACKUP_BEGIN_REUSE_EXTERNAL);
    free(incr);
    free(bxml);
    free(cxml);
    if (rc < 0)
        vir_fail(err, "the backup API (virDomainBackupBegin)");
    if (frozen > 0) /* on every path, right after the export's point in time */
        sw_fsthaw(b->dom, b->req->server_id, "backup");
    b->out->frozen = frozen;
    return rc;
}

/* libnbd's block status: marks the chunks whose extents the context flags
 * (data for base:allocation, dirty for a bitmap). */
struct scan {
    struct bk *b;
    const char *context;
    uint32_t want_set, want_clear; /* flags set / clear for an extent to count */
    uint64_t next;                 /* where the next request starts */
};

static int on_extents(void *user, const char *context, uint64_t off, uint32_t *ent, size_t n,
                      int *error)
{
    (void)error;
    struct scan *s = user;
    if (strcmp(context, s->context) != 0)
        return 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        uint32_t len = ent[i], flags = ent[i + 1];
        bool counts = (flags & s->want_set) == s->want_set && !(flags & s->want_clear);
        if (counts)
            sw_bkread_chunks_mark(&s->b->chunks, off, len);
        off += len;
    }
    if (off > s->next)
        s->next = off;
    return 0;
}

static int nbd_fail(struct sw_err *err, const char *step)
{
    SW_ERR_RETRY(err, SW_EUNAVAILABLE, "could not %s: its disk export could not be read", WHAT);
    sw_err_detail(err, "libnbd %s: %s", step, nbd_get_error() ? nbd_get_error() : "");
    return -1;
}

static int nbd_scan(struct bk *b, struct nbd_handle *nbd, const char *context, struct sw_err *err)
{
    struct scan s = {b, context, 0, 0, 0};
    if (b->out->incremental)
        s.want_set = 1; /* a dirty bitmap's extent: 1 dirty */
    else
        s.want_clear = LIBNBD_STATE_ZERO;
    while (s.next < b->chunks.size) {
        uint64_t start = s.next, left = b->chunks.size - start;
        uint64_t count = left > (1u << 30) ? (1u << 30) : left;
        nbd_extent_callback cb = {.callback = on_extents, .user_data = &s};
        if (nbd_block_status(nbd, count, start, cb, 0) < 0)
            return nbd_fail(err, "block status");
        if (s.next <= start)
            return nbd_fail(err, "block status made no progress");
    }
    return 0;
}

/* The next marked chunk from idx on, or chunks.n. */
static uint64_t next_marked(const struct bk *b, uint64_t idx)
{
    while (idx < b->chunks.n && !sw_bkread_chunks_has(&b->chunks, idx))
        idx++;
    return idx;
}

/* Waits for the command cookie. 0, or -1 with err set. */
static int nbd_wait(struct nbd_handle *nbd, int64_t cookie, struct sw_err *err)
{
    for (;;) {
        int r = nbd_aio_command_completed(nbd, (uint64_t)cookie);
        if (r == 1)
            return 0;
        if (r < 0 || nbd_poll(nbd, -1) < 0)
            return nbd_fail(err, "pread");
    }
}

/* Reads the marked chunks with SW_BKREAD_DEPTH reads in flight (one ring
 * slot each, b->ring), emitting them in order as they complete. */
static int nbd_read_chunks(struct bk *b, struct nbd_handle *nbd, struct sw_err *err)
{
    uint64_t idx[SW_BKREAD_DEPTH];
    int64_t cookie[SW_BKREAD_DEPTH];
    unsigned head = 0, busy = 0;
    uint64_t next = next_marked(b, 0);
    b->total = sw_bkread_chunks_bytes(&b->chunks);
    while (busy > 0 || next < b->chunks.n) {
        while (busy < SW_BKREAD_DEPTH && next < b->chunks.n) {
            unsigned slot = (head + busy) % SW_BKREAD_DEPTH;
            idx[slot] = next;
            cookie[slot] = nbd_aio_pread(nbd, b->ring + (size_t)slot * SW_BKREAD_CHUNK,
                                         (size_t)sw_bkread_chunk_len(&b->chunks, next),
                                         next * SW_BKREAD_CHUNK, NBD_NULL_COMPLETION, 0);
            if (cookie[slot] < 0)
                return nbd_fail(err, "pread");
            busy++;
            next = next_marked(b, next + 1);
        }
        if (nbd_wait(nbd, cookie[head], err) < 0 ||
            emit_chunk(b, idx[head], b->ring + (size_t)head * SW_BKREAD_CHUNK,
                       sw_bkread_chunk_len(&b->chunks, idx[head]), err) < 0)
            return -1;
        head = (head + 1) % SW_BKREAD_DEPTH;
        busy--;
    }
    return 0;
}

/* Connects to the export dev on sock and reads what the mode asks for. */
static int nbd_read(struct bk *b, const char *dev, const char *sock, struct sw_err *err)
{
    char context[96];
    if (b->out->incremental)
        snprintf(context, sizeof context, "qemu:dirty-bitmap:backup-%s", dev);
    else
        snprintf(context, sizeof context, "%s", LIBNBD_CONTEXT_BASE_ALLOCATION);
    struct nbd_handle *nbd = nbd_create();
    int rc = -1;
    if (!nbd || nbd_set_export_name(nbd, dev) < 0 || nbd_add_meta_context(nbd, context) < 0 ||
        nbd_connect_unix(nbd, sock) < 0) {
        nbd_fail(err, "connect");
    } else if (nbd_can_meta_context(nbd, context) != 1) {
        SW_ERR(err, SW_EUNSUPPORTED, "could not %s: its disk export has no %s", WHAT, context);
    } else if ((uint64_t)nbd_get_size(nbd) != b->chunks.size) {
        SW_ERR(err, SW_EINTERNAL, "could not %s: its disk export has another size", WHAT);
        sw_err_detail(err, "export %lld bytes, volume %llu", (long long)nbd_get_size(nbd),
                      (unsigned long long)b->chunks.size);
    } else if (nbd_scan(b, nbd, context, err) == 0 && nbd_read_chunks(b, nbd, err) == 0) {
        rc = 0;
    }
    if (nbd)
        nbd_shutdown(nbd, 0);
    nbd_close(nbd);
    return rc;
}

static void checkpoint_drop(virDomainPtr dom, const char *name)
{
    virDomainCheckpointPtr cp = virDomainCheckpointLookupByName(dom, name, 0);
    if (cp) {
        virDomainCheckpointDelete(cp, 0);
        virDomainCheckpointFree(cp);
    }
}

/* The parent checkpoint exists on the domain (or the read is full). */
static int parent_check(struct bk *b, struct sw_err *err)
{
    if (!b->out->incremental)
        return 0;
    virDomainCheckpointPtr cp =
        virDomainCheckpointLookupByName(b->dom, b->req->parent_checkpoint, 0);
    if (cp) {
        virDomainCheckpointFree(cp);
        return 0;
    }
    virErrorPtr e = virGetLastError();
    if (e && e->code == VIR_ERR_NO_DOMAIN_CHECKPOINT) {
        SW_ERR(err, SW_ENOTFOUND, "could not %s incrementally: its parent checkpoint is gone",
               WHAT);
        sw_err_detail(err, "checkpoint %s: %s", b->req->parent_checkpoint, e->message);
        return -1;
    }
    vir_fail(err, "checkpoints (virDomainCheckpointLookupByName)");
    return -1;
}

/* Waits (up to 10 s) until libvirt has ended dom's backup job and let go
 * of its scratch, so deleting it next leaves nothing half torn down. The
 * first look mostly blocks until then (libvirt holds the domain's job). */
static void job_wait(virDomainPtr dom)
{
    for (int i = 0; i < 200; i++) {
        virDomainJobInfo info;
        if (virDomainGetJobInfo(dom, &info) < 0 || info.type == VIR_DOMAIN_JOB_NONE)
            return;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Ends dom's backup job and waits until it is gone. */
static int job_end(virDomainPtr dom, struct sw_err *err)
{
    if (virDomainAbortJob(dom) < 0) {
        vir_fail(err, "virDomainAbortJob");
        return -1;
    }
    job_wait(dom);
    return 0;
}

/* The caller's finish (req->finish), after the last chunk. */
static int finish(struct bk *b, struct sw_err *err)
{
    return b->req->finish ? b->req->finish(b->req->ctx, err) : 0;
}

/* Ends the backup job after a read that gave rc: once libvirt took the
 * abort, the caller's finish runs while libvirt tears the job down (the
 * export, the scratch's use), then the wait for the job to be gone.
 * Seconds of the finish and of the wait after it into t[0], t[1]. */
static int pull_end(struct bk *b, int rc, double t[2], struct sw_err *err)
{
    if (virDomainAbortJob(b->dom) < 0) {
        if (rc == 0)
            vir_fail(err, "virDomainAbortJob");
        else /* the read's own error stays the one reported */
            sw_warn("bkread.abort_failed", "server=%s", b->req->server_id);
        return -1;
    }
    double t0 = now_s();
    if (rc == 0)
        rc = finish(b, err);
    double t1 = now_s();
    job_wait(b->dom);
    t[0] = t1 - t0;
    t[1] = now_s() - t1;
    return rc;
}

static int read_running(struct bk *b, struct sw_err *err)
{
    char dev[64], sock[108];
    snprintf(b->out->how, sizeof b->out->how, "pull");
    if (parent_check(b, err) < 0 || root_target(b, dev, err) < 0)
        return -1;
    int w = snprintf(sock, sizeof sock, "%s/sw-bk-%s.sock", b->req->sock_dir ? b->req->sock_dir : "",
                     b->req->backup_id);
    if (!b->req->sock_dir || w < 0 || (size_t)w >= sizeof sock) {
        SW_ERR(err, SW_EINVALID, "could not %s: no usable directory for its disk export", WHAT);
        return -1;
    }
    if (sw_bkread_checkpoint_name(b->req->server_id, b->req->backup_id, b->out->checkpoint,
                                  sizeof b->out->checkpoint) < 0) {
        SW_ERR(err, SW_EINVALID, "could not %s: malformed server or backup id", WHAT);
        return -1;
    }
    double t0 = now_s();
    if (scratch_make(b, "qcow2", NULL, err) < 0)
        return -1;
    double t1 = now_s();
    if (pull_begin(b, dev, sock, err) < 0)
        return -1;
    double t2 = now_s(), fw[2] = {0, 0};
    int rc = nbd_read(b, dev, sock, err);
    double t3 = now_s();
    rc = pull_end(b, rc, fw, err);
    if (rc < 0) /* its bitmap merges back into the parent's */
        checkpoint_drop(b->dom, b->out->checkpoint);
    sw_info("bkread.pull",
            "server=%s scratch_s=%.3f begin_s=%.3f read_s=%.3f end_s=%.3f finish_s=%.3f "
            "wait_s=%.3f",
            b->req->server_id, t1 - t0, t2 - t1, t3 - t2, now_s() - t3, fw[0], fw[1]);
    return rc;
}

/* ---- stopped guests: a flattened raw copy, downloaded sparse ---- */

struct dl {
    struct bk *b;
    uint64_t off;      /* the disk offset of the next byte */
    bool has_data;     /* the current chunk received data */
    struct sw_err *err;
    bool failed;
};

/* The chunk holding d->off - 1 is complete (or the disk ended): emits it
 * when it had data, and starts a zeroed one. */
static int dl_flush(struct dl *d)
{
    uint64_t idx = (d->off - 1) / SW_BKREAD_CHUNK;
    int rc = 0;
    if (d->has_data && emit_chunk(d->b, idx, d->b->buf, sw_bkread_chunk_len(&d->b->chunks, idx),
                                  d->err) < 0) {
        d->failed = true;
        rc = -1;
    }
    memset(d->b->buf, 0, SW_BKREAD_CHUNK);
    d->has_data = false;
    return rc;
}

static int dl_data(virStreamPtr st, const char *data, size_t n, void *opaque)
{
    (void)st;
    struct dl *d = opaque;
    size_t used = n;
    while (n > 0) {
        uint64_t in = d->off % SW_BKREAD_CHUNK, room = SW_BKREAD_CHUNK - in;
        size_t take = n < room ? n : (size_t)room;
        if (d->off + take > d->b->chunks.size)
            return -1;
        memcpy(d->b->buf + in, data, take);
        d->has_data = true;
        d->off += take, data += take, n -= take;
        if (d->off % SW_BKREAD_CHUNK == 0 && dl_flush(d) < 0)
            return -1;
    }
    return (int)used;
}

static int dl_hole(virStreamPtr st, long long len, void *opaque)
{
    (void)st;
    struct dl *d = opaque;
    while (len > 0) {
        uint64_t room = SW_BKREAD_CHUNK - d->off % SW_BKREAD_CHUNK;
        uint64_t take = (uint64_t)len < room ? (uint64_t)len : room;
        d->off += take, len -= (long long)take;
        if (d->off % SW_BKREAD_CHUNK == 0 && dl_flush(d) < 0)
            return -1;
    }
    return 0;
}

/* Downloads the raw scratch (a flattened copy of the root) sparse and
 * emits the chunks that received data. */
static int download(struct bk *b, struct sw_err *err)
{
    b->total = b->chunks.size;
    virStreamPtr st = virStreamNew(virStorageVolGetConnect(b->scratch), 0);
    struct dl d = {b, 0, false, err, false};
    int rc = -1;
    if (!st || virStorageVolDownload(b->scratch, st, 0, 0,
                                     VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM) < 0) {
        vir_fail(err, "volume download (virStorageVolDownload)");
    } else if (virStreamSparseRecvAll(st, dl_data, dl_hole, &d) < 0 || virStreamFinish(st) < 0) {
        if (!d.failed)
            vir_fail(err, "virStreamSparseRecvAll");
        virStreamAbort(st);
    } else if (d.off != b->chunks.size) {
        SW_ERR_RETRY(err, SW_EUNAVAILABLE, "could not %s: its disk's copy ended early", WHAT);
    } else if (d.off % SW_BKREAD_CHUNK == 0 || dl_flush(&d) == 0) {
        rc = 0;
    }
    if (st)
        virStreamFree(st);
    return rc;
}

static int read_stopped(struct bk *b, virStorageVolPtr rootvol, struct sw_err *err)
{
    snprintf(b->out->how, sizeof b->out->how, "download");
    b->out->incremental = false;
    if (scratch_make(b, "raw", rootvol, err) < 0 || download(b, err) < 0)
        return -1;
    return finish(b, err);
}

/* The node's libvirt runs on this host (no host in its URI), so sync(2)
 * here reaches the filesystems of its guests and of its pools. */
static bool node_local(virConnectPtr conn)
{
    char *uri = virConnectGetURI(conn);
    bool local = uri && strstr(uri, ":///") != NULL;
    free(uri);
    return local;
}

/* Resumes the guest the read paused (a second try after a failure). */
static int resume(struct bk *b, struct sw_err *err)
{
    if (virDomainResume(b->dom) == 0 || virDomainResume(b->dom) == 0)
        return 0;
    vir_fail(err, "virDomainResume");
    if (err) /* said, not hidden: an operator's start or unsuspend resumes it */
        snprintf(err->msg, sizeof err->msg,
                 "could not %s: it stayed paused after its root was cloned", WHAT);
    sw_warn("bkread.resume_failed", "server=%s", b->req->server_id);
    return -1;
}

/* A running guest whose hypervisor has no backup API (req->pause_clone):
 * paused only while its root is cloned, then read as a stopped guest's.
 * One already paused (suspended) is cloned as it is and stays paused. */
static int read_paused(struct bk *b, virStorageVolPtr rootvol, int state, struct sw_err *err)
{
    snprintf(b->out->how, sizeof b->out->how, "download");
    b->out->incremental = false;
    bool pause = state == VIR_DOMAIN_RUNNING, flush = node_local(b->eng->conn);
    if (flush)
        sync(); /* the bulk of what the guest wrote, before the pause */
    double t0 = now_s();
    if (pause && virDomainSuspend(b->dom) < 0) {
        vir_fail(err, "virDomainSuspend");
        return -1;
    }
    if (flush)
        sync(); /* the rest, written before the freezer stopped it */
    double t1 = now_s();
    int rc = scratch_make(b, "raw", rootvol, err);
    if (pause && resume(b, rc == 0 ? err : NULL) < 0)
        rc = -1;
    b->out->paused_ms = pause ? (int64_t)((now_s() - t0) * 1000.0 + 0.5) : -1;
    b->out->flushed = flush;
    sw_info("bkread.paused", "server=%s paused_ms=%lld suspend_flush_ms=%.0f flushed=%d ok=%d",
            b->req->server_id, (long long)b->out->paused_ms, (t1 - t0) * 1000.0, flush ? 1 : 0,
            rc == 0);
    return rc < 0 || download(b, err) < 0 ? -1 : finish(b, err);
}

/* ---- the reader ---- */

static int open_root(struct bk *b, virStorageVolPtr *vol, struct sw_err *err)
{
    int found = sw_storage_root_find(b->eng, b->req->server_id, NULL, &b->root, err);
    if (found <= 0) {
        if (found == 0)
            SW_ERR(err, SW_ENOTFOUND, "could not %s: it has no root volume", WHAT);
        return -1;
    }
    b->pool = virStoragePoolLookupByName(b->eng->conn, b->root.pool);
    *vol = b->pool ? virStorageVolLookupByName(b->pool, b->root.volume) : NULL;
    virStorageVolInfo info;
    if (!*vol || virStorageVolGetInfo(*vol, &info) < 0) {
        vir_fail(err, "virStorageVolGetInfo");
        return -1;
    }
    b->root.capacity = (int64_t)info.capacity;
    return 0;
}

static int run(struct bk *b, struct sw_err *err)
{
    virStorageVolPtr rootvol = NULL;
    int state = VIR_DOMAIN_NOSTATE, rc = -1;
    b->dom = sw_virt_lookup(b->eng, b->req->server_id, WHAT, err);
    if (!b->dom || virDomainGetState(b->dom, &state, NULL, 0) < 0) {
        if (b->dom)
            vir_fail(err, "virDomainGetState");
    } else if (open_root(b, &rootvol, err) == 0) {
        b->out->disk_bytes = (uint64_t)b->root.capacity;
        sw_bkread_chunks_init(&b->chunks, b->out->disk_bytes);
        b->buf = sw_calloc(SW_BKREAD_CHUNK, 1);
        bool live = state == VIR_DOMAIN_RUNNING || state == VIR_DOMAIN_PAUSED;
        if (live && !b->req->pause_clone)
            b->ring = sw_malloc((size_t)SW_BKREAD_DEPTH * SW_BKREAD_CHUNK);
        rc = !live                ? read_stopped(b, rootvol, err)
             : b->req->pause_clone ? read_paused(b, rootvol, state, err)
                                   : read_running(b, err);
    }
    if (rootvol)
        virStorageVolFree(rootvol);
    return rc;
}

int sw_bkread_run(struct sw_engine *eng, const struct sw_bkread_req *req,
                  struct sw_bkread_result *out, struct sw_err *err)
{
    memset(out, 0, sizeof *out);
    out->frozen = -1;
    out->paused_ms = -1;
    if (!is_uuid(req->server_id) || !is_uuid(req->backup_id) || !req->emit) {
        SW_ERR(err, SW_EINVALID, "could not %s: malformed server or backup id", WHAT);
        return -1;
    }
    struct bk b = {.eng = eng, .req = req, .out = out};
    out->incremental = req->parent_checkpoint && req->parent_checkpoint[0];
    int rc = run(&b, err);
    scratch_drop(&b);
    if (b.pool)
        virStoragePoolFree(b.pool);
    if (b.dom)
        virDomainFree(b.dom);
    free(b.buf);
    free(b.ring);
    sw_bkread_chunks_release(&b.chunks);
    if (rc == 0)
        sw_info("bkread.done", "server=%s backup=%s how=%s incremental=%d disk=%llu read=%llu "
                "chunks=%llu",
                req->server_id, req->backup_id, out->how, out->incremental ? 1 : 0,
                (unsigned long long)out->disk_bytes, (unsigned long long)out->read_bytes,
                (unsigned long long)out->chunks);
    return rc;
}

/* ---- checkpoints and crash recovery ---- */

/* Deletes server_id's checkpoints but keep (NULL: none); counts them. */
static int checkpoints_prune(virDomainPtr dom, const char *server_id, const char *keep,
                             int *deleted, struct sw_err *err)
{
    virDomainCheckpointPtr *cps = NULL;
    int n = virDomainListAllCheckpoints(dom, &cps, 0);
    if (n < 0) {
        virErrorPtr e = virGetLastError();
        if (e && e->code == VIR_ERR_NO_SUPPORT)
            return 0; /* no checkpoints on this hypervisor: none to delete */
        vir_fail(err, "virDomainListAllCheckpoints");
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *name = virDomainCheckpointGetName(cps[i]);
        bool mine = sw_bkread_is_checkpoint(server_id, name);
        if (mine && !(keep && strcmp(name, keep) == 0)) {
            if (virDomainCheckpointDelete(cps[i], 0) < 0) {
                vir_fail(err, "virDomainCheckpointDelete");
                rc = -1;
            } else {
                (*deleted)++;
                sw_info("bkread.checkpoint_deleted", "server=%s checkpoint=%s", server_id, name);
            }
        }
        virDomainCheckpointFree(cps[i]);
    }
    free(cps);
    return rc;
}

int sw_bkread_commit(struct sw_engine *eng, const char *server_id, const char *keep,
                     struct sw_err *err)
{
    virDomainPtr dom = sw_virt_lookup(eng, server_id, WHAT, err);
    if (!dom)
        return -1;
    int deleted = 0;
    int rc = checkpoints_prune(dom, server_id, keep, &deleted, err);
    virDomainFree(dom);
    return rc;
}

struct scratch_list {
    const char *server_id;
    char pool[8][64];
    char vol[8][128];
    int n;
};

static void collect_scratch(void *ctx, const char *pool, const char *volume)
{
    struct scratch_list *l = ctx;
    if (l->n < 8 && sw_bkread_is_scratch(l->server_id, volume)) {
        snprintf(l->pool[l->n], sizeof l->pool[0], "%s", pool);
        snprintf(l->vol[l->n], sizeof l->vol[0], "%s", volume);
        l->n++;
    }
}

static int scratch_prune(struct sw_engine *eng, const char *server_id, int *deleted,
                         struct sw_err *err)
{
    struct scratch_list l = {.server_id = server_id};
    if (sw_storage_each_volume(eng, collect_scratch, &l, err) < 0)
        return -1;
    int rc = 0;
    for (int i = 0; i < l.n; i++) {
        virStoragePoolPtr pool = virStoragePoolLookupByName(eng->conn, l.pool[i]);
        virStorageVolPtr vol = pool ? virStorageVolLookupByName(pool, l.vol[i]) : NULL;
        if (vol && virStorageVolDelete(vol, 0) == 0) {
            (*deleted)++;
            sw_info("bkread.scratch_deleted", "server=%s volume=%s", server_id, l.vol[i]);
        } else if (vol) {
            vir_fail(err, "virStorageVolDelete");
            rc = -1;
        }
        if (vol)
            virStorageVolFree(vol);
        if (pool)
            virStoragePoolFree(pool);
    }
    return rc;
}

/* Aborts a backup job left on dom; 1 aborted, 0 none. */
static int job_abort(virDomainPtr dom, struct sw_err *err)
{
    char *xml = virDomainBackupGetXMLDesc(dom, 0);
    if (!xml)
        return 0; /* no backup job (or no backup API): nothing to abort */
    free(xml);
    return job_end(dom, err) < 0 ? -1 : 1;
}

int sw_bkread_cleanup(struct sw_engine *eng, const char *server_id, const char *last_completed,
                      char *note, size_t n, struct sw_err *err)
{
    int aborted = 0, cps = 0, vols = 0, rc = 0;
    const char *keep = last_completed && last_completed[0] ? last_completed : NULL;
    struct sw_err lookup;
    sw_err_clear(&lookup);
    virDomainPtr dom = sw_virt_lookup(eng, server_id, WHAT, &lookup);
    if (!dom && lookup.code != SW_ENOTFOUND) {
        *err = lookup;
        return -1;
    }
    if (dom) {
        aborted = job_abort(dom, err);
        if (aborted < 0 || checkpoints_prune(dom, server_id, keep, &cps, err) < 0)
            rc = -1;
        virDomainFree(dom);
    }
    if (scratch_prune(eng, server_id, &vols, err) < 0)
        rc = -1;
    if (note)
        snprintf(note, n, "backup job %s; %d checkpoint(s) and %d scratch volume(s) deleted",
                 aborted > 0 ? "aborted" : "none", cps, vols);
    sw_info("bkread.cleanup", "server=%s aborted=%d checkpoints=%d scratch=%d ok=%d", server_id,
            aborted > 0, cps, vols, rc == 0);
    return rc;
}
