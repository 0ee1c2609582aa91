/* storage.h - a server's volumes in its node's libvirt storage pools,
 * through libvirt's storage API only (virStoragePool*, virStorageVol*): no
 * file operation on guest storage, so a remote libvirt works the same.
 *
 * Names derive from the server id (engines/README.md, "Storage"): the root
 * disk is "sw-<server_id>-root-<tag>" (".qcow2" in pools of files), where
 * tag is "0" for the create and the install job's id for a reinstall, so a
 * replay finds the volume its first delivery made; every "sw-<server_id>-*"
 * volume is the server's, and is deleted with it. Base images are
 * "img-<sha256 hex>" (+ extension) in the same pool.
 *
 * These are helpers the shared lifecycle operations (virt.c) call around
 * their domain work, not a group of their own in the driver table: a disk
 * is part of create, reinstall, resize and terminate, not a job type.
 */
#ifndef SW_ENGINES_STORAGE_H
#define SW_ENGINES_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libvirt/libvirt.h>

#include "engines/kind.h"

struct sw_err;
struct sw_image_ref;

#define SW_STORAGE_DEFAULT_POOL "slipway"
/* The dir pool (under the engine's state directory) a node with no pool of
 * files fetches images into before libvirt copies them into a block pool
 * (engines/image.h sw_image_ensure_block); empty between fetches. */
#define SW_STORAGE_STAGE_POOL "slipway-stage"
#define SW_STORAGE_TAG_CREATE "0"

/* The pools eng uses: eng->pools, or the one default pool (a dir pool
 * "slipway" under <state_dir>/pools/slipway) when none is declared.
 * Borrowed (eng's, or static); *n is set. */
const struct sw_engine_pool *sw_storage_pools(const struct sw_engine *eng, size_t *n);

/* p holds files (dir, netfs): its volumes' names carry an extension and
 * their format; block pools (logical, zfs, rbd) hold raw volumes. */
bool sw_storage_pool_of_files(const struct sw_engine_pool *p);

/* The pool named name among eng's (NULL: the first). Borrowed, or NULL. */
const struct sw_engine_pool *sw_storage_pool_named(const struct sw_engine *eng, const char *name);

/* Writes an image's volume name in p into out[96]: "img-<sha256>.<format>"
 * in pools of files (image.h's sw_image_volname), "img-<sha256>" in block
 * pools. Returns out. Pure. */
const char *sw_storage_image_name(const struct sw_engine_pool *p, const char *sha256,
                                  const char *format, char out[96]);

/* Makes sure image ref is in the pool named pool_name (NULL: eng's first)
 * before a definition uses it, the one way every image but a root's base
 * reaches its pool: fetched (image.h) when eng has an image source and the
 * pool holds files, else it must be there already. what says what needs it
 * ("mount the ISO") in the error. 0, or -1 with err set (SW_EUNAVAILABLE:
 * no such pool, or the image is not on the node; image.h's codes for a
 * fetch). */
int sw_storage_image_ensure(struct sw_engine *eng, const char *pool_name,
                            const struct sw_image_ref *ref, const char *what,
                            struct sw_err *err);

/* The pool p, started; a missing dir pool is defined (autostart), built
 * and started. Returns owned (virStoragePoolFree), or NULL with err set
 * (SW_EUNAVAILABLE: a pool of another type is missing, or libvirt failed). */
virStoragePoolPtr sw_storage_pool_open(struct sw_engine *eng, const struct sw_engine_pool *p,
                                       struct sw_err *err);

/* The pool a new root volume of bytes goes in: the first of eng's pools
 * that stays below its fill threshold with it (a thin qcow2 in pools of
 * files counts 0 bytes, block pools the whole size). Returns owned (the
 * started pool, virStoragePoolFree) and sets *p, or NULL with err set
 * (unprocessable: "its node's storage is full"). */
virStoragePoolPtr sw_storage_root_pool(struct sw_engine *eng, long long bytes,
                                       const struct sw_engine_pool **p, struct sw_err *err);

/* Writes the root volume's name for server_id and tag in pool p into
 * out[128]; returns out. */
const char *sw_storage_root_name(const struct sw_engine_pool *p, const char *server_id,
                                 const char *tag, char out[128]);

/* The same for the root a job's kind boots from: a container's is a raw
 * ext4 (".raw" in pools of files, the tag cut to 8 characters), as its
 * create and reinstall make it. */
const char *sw_storage_job_root_name(const struct sw_engine_pool *p,
                                     const struct sw_msg_node_job *job, const char *tag,
                                     char out[128]);

/* Finds the root volume of server_id with tag in any of eng's pools (tag
 * NULL: any root of the server). 1 found (out filled), 0 none, -1 err. */
int sw_storage_root_find(struct sw_engine *eng, const char *server_id, const char *tag,
                         struct sw_msg_disk *out, struct sw_err *err);

/* The root volume of job's server with tag: found, or made in the first
 * pool below its fill threshold, sized by job->disk_gb: a qcow2 overlay on
 * the job's base image where the pool holds backing files, a full copy of
 * it where not, a blank volume when the job names no image. *made says it
 * was made by this call. 0, or -1 with err set (tenant-safe message). */
int sw_storage_root_ensure(struct sw_engine *eng, const struct sw_msg_node_job *job,
                           const char *tag, struct sw_msg_disk *out, bool *made,
                           struct sw_err *err);

/* Grows the root volume to job->disk_gb, never shrinks: through the
 * running domain dom (virDomainBlockResize) when dom is not NULL, else the
 * volume (virStorageVolResize). Writes what happened into note[n]. 0, or
 * -1 with err set; a driver that cannot resize is 0 with a note saying so. */
int sw_storage_root_grow(struct sw_engine *eng, virDomainPtr dom, struct sw_msg_disk *disk,
                         const struct sw_msg_node_job *job, char *note, size_t n,
                         struct sw_err *err);

/* Deletes server_id's volumes in eng's pools: every "sw-<id>-*" (roots_only:
 * only its root volumes), except the one named keep (NULL: none). Missing
 * volumes are fine. 0, or -1 with err set (retryable). */
int sw_storage_delete(struct sw_engine *eng, const char *server_id, bool roots_only,
                      const char *keep, struct sw_err *err);

/* libvirt's figures (capacity, allocation) of the one volume disk names.
 * 0, or -1 with err set. */
int sw_storage_disk_info(struct sw_engine *eng, const struct sw_msg_disk *disk,
                         virStorageVolInfo *info, struct sw_err *err);

/* Deletes the one volume disk names. 0, or -1 with err set. */
int sw_storage_delete_disk(struct sw_engine *eng, const struct sw_msg_disk *disk,
                           struct sw_err *err);

/* Fills out[max] with server_id's volumes (role "root", "seed" or "other");
 * returns how many (at most max), or -1 with err set. */
int sw_storage_disks(struct sw_engine *eng, const char *server_id, struct sw_msg_disk *out,
                     size_t max, struct sw_err *err);

/* One pool's figures, as libvirt reports them after a refresh. */
struct sw_storage_report {
    char name[64];
    bool present; /* false: missing and not creatable (not a dir pool), or libvirt failed */
    int64_t capacity, allocation, available; /* bytes */
};

/* Opens (creating missing dir pools), refreshes and reports each of eng's
 * pools into out[max]; returns how many. Never fails as a whole: a pool
 * that cannot be opened is reported not present. */
size_t sw_storage_report(struct sw_engine *eng, struct sw_storage_report *out, size_t max);

/* Calls fn for every "sw-*" volume of eng's pools (pool name, volume name);
 * 0, or -1 with err set. */
int sw_storage_each_volume(struct sw_engine *eng,
                           void (*fn)(void *ctx, const char *pool, const char *volume), void *ctx,
                           struct sw_err *err);

/* Calls fn for every "sw-*" volume of eng's pools with its allocation in
 * bytes (virStorageVolGetInfo: the space it takes in its pool); a volume
 * that vanished since the listing is skipped. 0, or -1 with err set. The
 * usage sampler's disk_bytes (engines/usage.c). */
int sw_storage_each_allocation(struct sw_engine *eng,
                               void (*fn)(void *ctx, const char *volume, int64_t allocation),
                               void *ctx, struct sw_err *err);

#endif
