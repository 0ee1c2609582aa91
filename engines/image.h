/* image.h - a template's image in the node's storage pool.
 *
 * A server's root volume is made from its template's image, which must be
 * in the same pool first. The first use on a node fetches it from the
 * panel (GET <panel>/v1/node/images/<sha256>, the node's own token), streams
 * it into a volume through libvirt (virStorageVolUpload: the node's libvirt
 * may be on another host, so no file is written here), checks its size and
 * sha256 on the way and, for a qcow2, that libvirt sees no backing file in
 * it; only then does it get its name, img-<sha256>.<ext>. A volume of that
 * name is therefore always complete and verified: later uses find it and
 * fetch nothing. Concurrent first uses of one image in this process fetch
 * it once (the others wait for it). engines/README.md, "Images on the node".
 */
#ifndef SW_ENGINES_IMAGE_H
#define SW_ENGINES_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include <libvirt/libvirt.h>

struct sw_err;

/* Where the node fetches images from. */
struct sw_image_source {
    const char *panel_url; /* SLIPWAY_PANEL_URL, e.g. "https://panel.example:8443" */
    const char *token;     /* SLIPWAY_NODE_TOKEN; sent as a bearer token, never logged */
    const char *cacert;    /* a CA file for the panel's certificate, or NULL: the system's */
    long timeout_s;        /* the whole transfer; 0: 3600 */
};

/* One image as the node job names it. */
struct sw_image_ref {
    char sha256[65]; /* 64 lower-case hex digits */
    char format[8];  /* qcow2, raw, kernel, initrd, tar, iso */
    int64_t bytes;   /* the file's size */
};

/* The largest image a node fetches (1 TiB). */
#define SW_IMAGE_MAX_BYTES (1LL << 40)

/* The first bytes of an image the engine keeps as they stream in: a qcow2
 * header through its incompatible features (qcow2 v3, offset 72). */
#define SW_IMAGE_HEAD_BYTES 80

/* Does the start of a qcow2 image (head, n bytes as received) name another
 * file: a backing file (its offset at byte 8 not 0) or an external data
 * file (v3 incompatible feature bit 2)? 1 yes, 0 no or not a qcow2 header
 * at all (its magic "QFI\xfb" absent: libvirt's own reading decides). Read
 * from the bytes the engine itself sent, it does not depend on when libvirt
 * re-reads the volume after an upload. */
int sw_image_qcow2_names_file(const unsigned char *head, size_t n);

/* Writes "img-<sha256>.<format>" for ref into out[96] (the name
 * engines/storage.c looks a base image up by); 0, or -1 with err set (SW_EINVALID) for a malformed ref. */
int sw_image_volname(const struct sw_image_ref *ref, char out[96], struct sw_err *err);

/* Makes sure ref is in pool under sw_image_volname, fetching it from src
 * when absent. 0 with name set, or -1 with err set: SW_ENOTFOUND (the panel
 * does not give this node that image), SW_EINVALID (what arrived is not the
 * image: its size or checksum differs, or a qcow2 names a backing file),
 * SW_EUNAVAILABLE + retryable (the panel or libvirt cannot be reached),
 * SW_EUNSUPPORTED (the pool cannot receive uploads, e.g. libvirt's test
 * driver). Nothing is left in the pool on failure. */
int sw_image_ensure(virStoragePoolPtr pool, const struct sw_image_source *src,
                    const struct sw_image_ref *ref, char name[96], struct sw_err *err);

/* Makes sure ref's raw content is in the block pool block (logical, zfs,
 * rbd: volumes hold no format of their own and name no backing file) as
 * "img-<sha256>" (written into name[96]). When absent: ref is fetched into
 * the pool of files stage as sw_image_ensure does (same checks), then
 * libvirt copies it into block (virStorageVolCreateXMLFrom: a qcow2 is
 * converted to raw by qemu-img on the node, a raw copied; its capacity is
 * the image's virtual size) as img-<sha256>.part, then to its name, so a
 * crash never leaves a partial image under it. The staged file is deleted
 * afterwards unless keep_stage. One fetch per image in this process, as
 * sw_image_ensure. 0, or -1 with err set as sw_image_ensure's. */
int sw_image_ensure_block(virStoragePoolPtr block, virStoragePoolPtr stage, bool keep_stage,
                          const struct sw_image_source *src, const struct sw_image_ref *ref,
                          char name[96], struct sw_err *err);

#endif
