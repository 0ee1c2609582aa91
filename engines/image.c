/* image.c - a template's image in the node's storage pool (image.h). */
#include "config.h"
#include "engines/image.h"
#include "core/err.h"
#include "core/log.h"
#include "engines/virt.h"

#include <curl/curl.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *format; /* as the job names it */
    const char *ext;    /* of the volume's name */
    const char *vol;    /* the volume's <format type> while it is uploaded */
} formats[] = {
    {"qcow2", "qcow2", "qcow2"}, {"raw", "raw", "raw"},   {"kernel", "kernel", "raw"},
    {"initrd", "initrd", "raw"}, {"tar", "tar", "raw"},   {"iso", "iso", "raw"},
};

static int format_index(const char *format)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(formats[i].format, format) == 0)
            return (int)i;
    return -1;
}

int sw_image_volname(const struct sw_image_ref *ref, char out[96], struct sw_err *err)
{
    int f = format_index(ref->format);
    if (strlen(ref->sha256) != 64 || strspn(ref->sha256, "0123456789abcdef") != 64 || f < 0 ||
        ref->bytes <= 0 || ref->bytes > SW_IMAGE_MAX_BYTES) {
        SW_ERR(err, SW_EINVALID, "the job names a malformed image");
        return -1;
    }
    snprintf(out, 96, "img-%s.%s", ref->sha256, formats[f].ext);
    return 0;
}

/* ---- one fetch per image at a time in this process ---- */

#define INFLIGHT_SLOTS 16

static struct {
    char sha256[65];
    int refs;
    pthread_mutex_t mu;
} inflight[INFLIGHT_SLOTS];
static pthread_mutex_t inflight_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t inflight_once = PTHREAD_ONCE_INIT;

static void inflight_init(void)
{
    for (int i = 0; i < INFLIGHT_SLOTS; i++)
        pthread_mutex_init(&inflight[i].mu, NULL);
}

/* Holds sha256's slot (the same one for every thread asking for the same
 * image); -1 when every slot is busy with another image. */
static int inflight_take(const char *sha256)
{
    pthread_once(&inflight_once, inflight_init);
    pthread_mutex_lock(&inflight_mu);
    int slot = -1;
    for (int i = 0; i < INFLIGHT_SLOTS; i++) {
        if (inflight[i].refs > 0 && strcmp(inflight[i].sha256, sha256) == 0) {
            slot = i;
            break;
        }
        if (slot < 0 && inflight[i].refs == 0)
            slot = i;
    }
    if (slot >= 0) {
        if (inflight[slot].refs++ == 0)
            snprintf(inflight[slot].sha256, sizeof inflight[slot].sha256, "%s", sha256);
    }
    pthread_mutex_unlock(&inflight_mu);
    if (slot >= 0)
        pthread_mutex_lock(&inflight[slot].mu);
    return slot;
}

static void inflight_give(int slot)
{
    pthread_mutex_unlock(&inflight[slot].mu);
    pthread_mutex_lock(&inflight_mu);
    inflight[slot].refs--;
    pthread_mutex_unlock(&inflight_mu);
}

/* ---- the transfer: HTTP body into a libvirt upload stream ---- */

struct transfer {
    CURL *curl;
    virStreamPtr st;
    crypto_hash_sha256_state sha;
    int64_t got, want;
    long status;
    bool stream_failed;
    unsigned char head[SW_IMAGE_HEAD_BYTES]; /* the image's first bytes */
    size_t head_n;
};

static uint64_t be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

int sw_image_qcow2_names_file(const unsigned char *head, size_t n)
{
    static const unsigned char magic[4] = {'Q', 'F', 'I', 0xfb};
    if (n < 20 || memcmp(head, magic, 4) != 0)
        return 0;
    if (be64(head + 8) != 0) /* backing_file_offset */
        return 1;
    uint32_t version = (uint32_t)(be64(head) & 0xffffffffu); /* bytes 4-7, after the magic */
    return version >= 3 && n >= 80 && (be64(head + 72) & 4) != 0; /* external data file */
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct transfer *t = arg;
    size_t len = size * n;
    if (t->status == 0)
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status);
    if (t->status != 200 || t->got + (int64_t)len > t->want)
        return 0; /* an error page, or more than the image: stop */
    crypto_hash_sha256_update(&t->sha, (const unsigned char *)data, len);
    size_t keep = len < sizeof t->head - t->head_n ? len : sizeof t->head - t->head_n;
    memcpy(t->head + t->head_n, data, keep);
    t->head_n += keep;
    t->got += (int64_t)len;
    for (size_t off = 0; off < len;) {
        int sent = virStreamSend(t->st, data + off, len - off);
        if (sent <= 0) {
            t->stream_failed = true;
            return 0;
        }
        off += (size_t)sent;
    }
    return len;
}

/* GETs the image into t (t->st open): 0 when the body was all of it. */
static int http_get(const struct sw_image_source *src, const char *sha256, struct transfer *t,
                    struct sw_err *err)
{
    char url[1024], auth[600], cerr[CURL_ERROR_SIZE] = "";
    if (snprintf(url, sizeof url, "%s/v1/node/images/%s", src->panel_url, sha256) >=
            (int)sizeof url ||
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", src->token ? src->token : "") >=
            (int)sizeof auth) {
        SW_ERR(err, SW_EINVALID, "could not fetch the image: the panel URL or token is too long");
        return -1;
    }
    struct curl_slist *hdr = curl_slist_append(NULL, auth);
    sodium_memzero(auth, sizeof auth);
    t->curl = curl_easy_init();
    curl_easy_setopt(t->curl, CURLOPT_URL, url);
    curl_easy_setopt(t->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(t->curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(t->curl, CURLOPT_PROXY, "");
    curl_easy_setopt(t->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t->curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(t->curl, CURLOPT_TIMEOUT_MS, (src->timeout_s > 0 ? src->timeout_s : 3600) * 1000L);
    curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(t->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(t->curl, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(t->curl, CURLOPT_ERRORBUFFER, cerr);
    if (src->cacert)
        curl_easy_setopt(t->curl, CURLOPT_CAINFO, src->cacert);
    CURLcode rc = curl_easy_perform(t->curl);
    if (t->status == 0)
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status);
    curl_easy_cleanup(t->curl);
    curl_slist_free_all(hdr);
    t->curl = NULL;
    if (t->stream_failed) {
        sw_virt_error(err, "store the image on the node");
        return -1;
    }
    if (t->status == 404 || t->status == 401 || t->status == 403) {
        SW_ERR(err, SW_ENOTFOUND, "could not fetch the image: the panel does not give it to this node");
        sw_err_detail(err, "GET %s: HTTP %ld", url, t->status);
        return -1;
    }
    if (t->status != 200 || (rc != CURLE_OK && rc != CURLE_WRITE_ERROR)) {
        SW_ERR_RETRY(err, SW_EUNAVAILABLE, "could not fetch the image: the panel did not answer");
        sw_err_detail(err, "GET %s: HTTP %ld, curl %d %s", url, t->status, (int)rc, cerr);
        return -1;
    }
    return 0;
}

/* Checks what arrived is the image: its size, then its checksum. */
static int verify(struct transfer *t, const struct sw_image_ref *ref, struct sw_err *err)
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    crypto_hash_sha256_final(&t->sha, digest);
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    if (t->got != t->want) {
        SW_ERR(err, SW_EINVALID, "could not fetch the image: its size differs from the image's");
        sw_err_detail(err, "sha256=%s got=%lld want=%lld", ref->sha256, (long long)t->got,
                      (long long)t->want);
        return -1;
    }
    if (strcmp(hex, ref->sha256) != 0) {
        SW_ERR(err, SW_EINVALID, "could not fetch the image: its checksum differs from the image's");
        sw_err_detail(err, "sha256=%s got=%s", ref->sha256, hex);
        return -1;
    }
    return 0;
}

/* ---- the volumes ---- */

static virStorageVolPtr create_volume(virStoragePoolPtr pool, const char *name, const char *format,
                                      int64_t bytes, struct sw_err *err)
{
    char xml[512];
    snprintf(xml, sizeof xml,
             "<volume><name>%s</name><capacity unit='bytes'>%lld</capacity>"
             "<target><format type='%s'/></target></volume>",
             name, (long long)bytes, format);
    virStorageVolPtr v = virStorageVolCreateXML(pool, xml, 0);
    if (!v)
        sw_virt_error(err, "make room for the image on the node");
    return v;
}

static void delete_volume(virStoragePoolPtr pool, const char *name)
{
    virStorageVolPtr v = virStorageVolLookupByName(pool, name);
    if (v) {
        virStorageVolDelete(v, 0);
        virStorageVolFree(v);
    }
}

/* 1 when libvirt's view of vol names a backing file, 0 when not, -1 with
 * err set when it cannot tell. libvirt re-reads the file's header for it. */
static int has_backing_file(virStorageVolPtr vol, struct sw_err *err)
{
    char *xml = virStorageVolGetXMLDesc(vol, 0);
    if (!xml) {
        sw_virt_error(err, "inspect the image");
        return -1;
    }
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "volume.xml", NULL, XML_PARSE_NONET);
    free(xml);
    xmlXPathContextPtr ctx = doc ? xmlXPathNewContext(doc) : NULL;
    xmlXPathObjectPtr o =
        ctx ? xmlXPathEvalExpression((const xmlChar *)"count(/volume/backingStore/path)", ctx) : NULL;
    int rc = o && o->type == XPATH_NUMBER ? (o->floatval > 0) : -1;
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    if (rc < 0)
        SW_ERR(err, SW_EINTERNAL, "could not inspect the image: libvirt's description is unreadable");
    return rc;
}

/* Uploads ref into the volume part (made here), verified. */
static int upload(virStoragePoolPtr pool, const struct sw_image_source *src,
                  const struct sw_image_ref *ref, const char *part, const char *volfmt,
                  struct sw_err *err)
{
    virStorageVolPtr vol = create_volume(pool, part, volfmt, ref->bytes, err);
    if (!vol)
        return -1;
    struct transfer t = {.want = ref->bytes};
    crypto_hash_sha256_init(&t.sha);
    t.st = virStreamNew(virStoragePoolGetConnect(pool), 0);
    int rc = -1;
    if (!t.st || virStorageVolUpload(vol, t.st, 0, (unsigned long long)ref->bytes, 0) < 0) {
        sw_virt_error(err, "store the image on the node");
    } else if (http_get(src, ref->sha256, &t, err) == 0 && verify(&t, ref, err) == 0) {
        rc = virStreamFinish(t.st);
        if (rc < 0)
            sw_virt_error(err, "store the image on the node");
    }
    if (t.st) {
        if (rc < 0)
            virStreamAbort(t.st);
        virStreamFree(t.st);
    }
    if (rc == 0 && strcmp(ref->format, "qcow2") == 0) {
        /* The bytes we sent first; then libvirt's reading of the volume
         * (which, right after an upload, may not have re-read it yet). */
        int b = sw_image_qcow2_names_file(t.head, t.head_n) ? 1 : has_backing_file(vol, err);
        if (b != 0)
            rc = -1;
        if (b > 0)
            SW_ERR(err, SW_EINVALID, "the image is refused: a qcow2 image must not name a backing file "
                              "or an external data file");
    }
    virStorageVolFree(vol);
    return rc;
}

/* Gives the verified part its name: a copy under the name (libvirt has no
 * rename), so the name only ever holds a whole image. */
static int publish(virStoragePoolPtr pool, const char *part, const char *name, const char *volfmt,
                   int64_t bytes, struct sw_err *err)
{
    virStorageVolPtr from = virStorageVolLookupByName(pool, part);
    char xml[512];
    snprintf(xml, sizeof xml,
             "<volume><name>%s</name><capacity unit='bytes'>%lld</capacity>"
             "<target><format type='%s'/></target></volume>",
             name, (long long)bytes, volfmt);
    virStorageVolPtr to = from ? virStorageVolCreateXMLFrom(pool, xml, from, 0) : NULL;
    if (!to)
        sw_virt_error(err, "store the image on the node");
    if (from)
        virStorageVolFree(from);
    if (to)
        virStorageVolFree(to);
    return to ? 0 : -1;
}

/* ref into pool under name, fetched when absent; the caller holds ref's
 * in-flight slot. */
static int fetch_locked(virStoragePoolPtr pool, const struct sw_image_source *src,
                        const struct sw_image_ref *ref, const char *name, struct sw_err *err)
{
    virStorageVolPtr have = virStorageVolLookupByName(pool, name);
    if (have) {
        virStorageVolFree(have);
        return 0;
    }
    virResetLastError();
    char part[112];
    snprintf(part, sizeof part, "%s.part", name);
    const char *volfmt = formats[format_index(ref->format)].vol;
    delete_volume(pool, part); /* what a crash in an earlier fetch left */
    int rc = upload(pool, src, ref, part, volfmt, err);
    if (rc == 0)
        rc = publish(pool, part, name, volfmt, ref->bytes, err);
    delete_volume(pool, part);
    if (rc == 0)
        sw_info("image.fetched", "sha256=%s format=%s bytes=%lld volume=%s", ref->sha256,
                ref->format, (long long)ref->bytes, name);
    return rc;
}

int sw_image_ensure(virStoragePoolPtr pool, const struct sw_image_source *src,
                    const struct sw_image_ref *ref, char name[96], struct sw_err *err)
{
    if (sw_image_volname(ref, name, err) < 0)
        return -1;
    virStorageVolPtr have = virStorageVolLookupByName(pool, name);
    if (have) {
        virStorageVolFree(have);
        return 0;
    }
    virResetLastError();
    int slot = inflight_take(ref->sha256);
    if (slot < 0) {
        SW_ERR_RETRY(err, SW_EUNAVAILABLE, "could not fetch the image: too many images are being fetched");
        return -1;
    }
    int rc = fetch_locked(pool, src, ref, name, err);
    inflight_give(slot);
    return rc;
}

/* ---- block pools: the image's raw content in a volume ---- */

/* Makes name in block from the volume from (libvirt copies it, through
 * qemu-img convert to raw when from is a file of another format). */
static int block_copy(virStoragePoolPtr block, const char *name, virStorageVolPtr from,
                      struct sw_err *err)
{
    virStorageVolInfo info;
    if (virStorageVolGetInfo(from, &info) < 0) {
        sw_virt_error(err, "read the image on the node");
        return -1;
    }
    char xml[512];
    snprintf(xml, sizeof xml,
             "<volume><name>%s</name><capacity unit='bytes'>%llu</capacity>"
             "<allocation unit='bytes'>%llu</allocation></volume>",
             name, info.capacity, info.capacity);
    virStorageVolPtr to = virStorageVolCreateXMLFrom(block, xml, from, 0);
    if (!to) {
        sw_virt_error(err, "store the image on the node");
        return -1;
    }
    virStorageVolFree(to);
    return 0;
}

/* The staged image converted into block's name.part, then copied to name
 * (libvirt has no rename), so name only ever holds a whole image. */
static int block_publish(virStoragePoolPtr block, virStoragePoolPtr stage, const char *staged,
                         const char *name, struct sw_err *err)
{
    char part[112];
    snprintf(part, sizeof part, "%s.part", name);
    delete_volume(block, part); /* what a crash in an earlier copy left */
    virStorageVolPtr from = virStorageVolLookupByName(stage, staged);
    int rc = from ? block_copy(block, part, from, err) : -1;
    if (!from)
        sw_virt_error(err, "read the image on the node");
    else
        virStorageVolFree(from);
    virStorageVolPtr p = rc == 0 ? virStorageVolLookupByName(block, part) : NULL;
    if (rc == 0 && (!p || block_copy(block, name, p, err) < 0)) {
        if (!p)
            sw_virt_error(err, "store the image on the node");
        rc = -1;
    }
    if (p)
        virStorageVolFree(p);
    delete_volume(block, part);
    return rc;
}

int sw_image_ensure_block(virStoragePoolPtr block, virStoragePoolPtr stage, bool keep_stage,
                          const struct sw_image_source *src, const struct sw_image_ref *ref,
                          char name[96], struct sw_err *err)
{
    char staged[96];
    if (sw_image_volname(ref, staged, err) < 0)
        return -1;
    snprintf(name, 96, "img-%s", ref->sha256);
    virStorageVolPtr have = virStorageVolLookupByName(block, name);
    if (have) {
        virStorageVolFree(have);
        return 0;
    }
    virResetLastError();
    int slot = inflight_take(ref->sha256);
    if (slot < 0) {
        SW_ERR_RETRY(err, SW_EUNAVAILABLE, "could not fetch the image: too many images are being fetched");
        return -1;
    }
    int rc = 0;
    have = virStorageVolLookupByName(block, name); /* another thread may have made it */
    if (have) {
        virStorageVolFree(have);
    } else if ((rc = fetch_locked(stage, src, ref, staged, err)) == 0) {
        rc = block_publish(block, stage, staged, name, err);
        if (!keep_stage)
            delete_volume(stage, staged);
        if (rc == 0)
            sw_info("image.copied_to_block_pool", "sha256=%s format=%s volume=%s kept_staged=%d",
                    ref->sha256, ref->format, name, keep_stage);
    }
    virResetLastError();
    inflight_give(slot);
    return rc;
}
