/* bkwrite.h - a restore: a backup's chunks written into a new volume
 * through libvirt's storage API only (engines/README.md, "Backups (reading
 * disks)").
 *
 * The chunks go into a raw staging volume "sw-<server>-bk-<restore>.raw"
 * in the pool asked for, each non-zero one with virStorageVolUpload at its
 * offset (zero chunks are not sent: the volume is sparse); finishing
 * copies it under its final name (virStorageVolCreateXMLFrom), converted
 * to qcow2 when that name ends in ".qcow2", kept raw otherwise, and
 * deletes the staging volume. So a volume under the final name is always
 * whole; a crash leaves only the staging volume, which sw_bkread_cleanup
 * deletes (it is one of the server's scratch volumes).
 */
#ifndef SW_ENGINES_BKWRITE_H
#define SW_ENGINES_BKWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "engines/kind.h"

struct sw_err;
struct sw_bkwrite;

struct sw_bkwrite_req {
    const char *server_id;  /* lower-case UUID: the volumes are the server's */
    const char *restore_id; /* lower-case UUID: names the staging volume */
    const char *pool;       /* the libvirt pool of the new volume */
    const char *volume;     /* its name, e.g. "sw-<server>-root-<tag>.qcow2" */
    uint64_t capacity;      /* the disk's size in bytes (the backup's) */
};

/* Starts a restore. A volume already under req->volume (a replayed restore
 * that finished) is kept: the chunks are then ignored and finish answers
 * it. Returns owned (sw_bkwrite_free), or NULL with err set
 * (SW_EUNSUPPORTED where the node's libvirt has no volume upload). */
struct sw_bkwrite *sw_bkwrite_open(struct sw_engine *eng, const struct sw_bkwrite_req *req,
                                   struct sw_err *err);

/* Writes one chunk at offset (an sw_bkread_emit_fn: pass the restore as
 * its ctx). An all-zero chunk is skipped. 0, or -1 with err set. */
int sw_bkwrite_chunk(void *restore, uint64_t offset, const void *data, size_t len,
                     struct sw_err *err);

/* Names the volume: the staging volume copied to req->volume (qcow2 or
 * raw) and deleted. Fills out (role "root"). 0, or -1 with err set. */
int sw_bkwrite_finish(struct sw_bkwrite *w, struct sw_msg_disk *out, struct sw_err *err);

/* Deletes the staging volume if still there (an unfinished restore leaves
 * nothing) and frees w. Accepts NULL. */
void sw_bkwrite_free(struct sw_bkwrite *w);

#endif
