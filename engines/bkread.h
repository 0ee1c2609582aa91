/* bkread.h - a server's root disk read for a backup, as whole 4 MiB chunks
 * at chunk-aligned offsets, through libvirt only (engines/README.md,
 * "Backups (reading disks)").
 *
 * - A running (or paused) guest: libvirt's backup API in pull mode
 *   (virDomainBackupBegin) exports the root disk over NBD on a unix socket,
 *   with the checkpoint "sw-<server>-ckp-<backup>" made in the same call;
 *   libnbd reads it: a full backup the chunks base:allocation reports data
 *   in, an incremental one (parent checkpoint given) the chunks the
 *   qemu:dirty-bitmap context reports dirty. The fleecing scratch is a
 *   qcow2 volume "sw-<server>-bk-<backup>.qcow2" in the root's pool.
 * - A stopped guest: the root is cloned (virStorageVolCreateXMLFrom,
 *   flattened) into a raw scratch "sw-<server>-bk-<backup>.raw" and
 *   downloaded as a sparse stream; every backup of a stopped guest is a
 *   full read (the repository dedups unchanged chunks).
 * - A running guest whose hypervisor has no backup API (a container on
 *   LXC; req->pause_clone): paused (virDomainSuspend, the cgroup freezer)
 *   only while its root is cloned into that raw scratch, then resumed; the
 *   clone is downloaded as a stopped guest's.
 *
 * The repository (chunks, encryption, targets) is backup/'s; this file
 * only reads. Pure parts (chunk arithmetic, names) are declared first and
 * unit-tested without libvirt.
 */
#ifndef SW_ENGINES_BKREAD_H
#define SW_ENGINES_BKREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engines/kind.h"

struct sw_err;

#define SW_BKREAD_CHUNK 4194304u /* bytes; the last chunk of a disk may be shorter */

/* ---- pure ---- */

/* A set of chunks of a disk of `size` bytes, one bit per chunk. */
struct sw_bkread_chunks {
    uint64_t size;    /* the disk's size in bytes */
    uint64_t n;       /* chunks: ceil(size / SW_BKREAD_CHUNK) */
    uint8_t *bits;    /* owned; n bits */
};

/* Allocates an empty set for a disk of size bytes (aborts on OOM). */
void sw_bkread_chunks_init(struct sw_bkread_chunks *c, uint64_t size);
void sw_bkread_chunks_release(struct sw_bkread_chunks *c);
/* Marks every chunk [off, off + len) touches (rounded out to whole chunks,
 * clipped to the disk). len 0 marks nothing. */
void sw_bkread_chunks_mark(struct sw_bkread_chunks *c, uint64_t off, uint64_t len);
bool sw_bkread_chunks_has(const struct sw_bkread_chunks *c, uint64_t idx);
/* The length of chunk idx (SW_BKREAD_CHUNK, or less for the last one). */
uint64_t sw_bkread_chunk_len(const struct sw_bkread_chunks *c, uint64_t idx);
/* Bytes of the marked chunks (what a read of them costs). */
uint64_t sw_bkread_chunks_bytes(const struct sw_bkread_chunks *c);

/* "sw-<server>-ckp-<backup>" into out[n]; -1 when it does not fit or an id
 * is not a lower-case UUID. */
int sw_bkread_checkpoint_name(const char *server_id, const char *backup_id, char *out, size_t n);
/* "sw-<server>-bk-<backup>.<fmt>" into out[n]; -1 as above. */
int sw_bkread_scratch_name(const char *server_id, const char *backup_id, const char *fmt,
                           char *out, size_t n);
/* name is one of server_id's checkpoints / scratch volumes. */
bool sw_bkread_is_checkpoint(const char *server_id, const char *name);
bool sw_bkread_is_scratch(const char *server_id, const char *name);

/* ---- the reader ---- */

/* Receives one whole chunk: offset a multiple of SW_BKREAD_CHUNK, len
 * SW_BKREAD_CHUNK or less for the disk's last chunk; data borrowed for the
 * call. 0 to go on, -1 with err set to stop the read (the reader then
 * aborts its job and deletes its scratch; the checkpoint stays for
 * sw_bkread_cleanup). */
typedef int (*sw_bkread_emit_fn)(void *ctx, uint64_t offset, const void *data, size_t len,
                                 struct sw_err *err);
/* Progress after each chunk: bytes read of the bytes this read will read. */
typedef void (*sw_bkread_progress_fn)(void *ctx, uint64_t done, uint64_t total);

#define SW_BKREAD_PAUSED (-2)

struct sw_bkread_req {
    const char *server_id;   /* lower-case UUID */
    const char *backup_id;   /* lower-case UUID: names the checkpoint and the scratch */
    /* The last completed backup's checkpoint for an incremental read, or
     * NULL / "" for a full one. Unknown to the domain: SW_ENOTFOUND with
     * "its parent checkpoint is gone" (the caller reads full instead). */
    const char *parent_checkpoint;
    /* A directory both this process and the node's QEMU reach, for the NBD
     * socket of a running guest's export (the engine's run directory). */
    const char *sock_dir;
    sw_bkread_emit_fn emit;
    sw_bkread_progress_fn progress; /* NULL: none */
    void *ctx;
    /* A running guest's filesystems are frozen through its agent for the
     * moment the export begins (virDomainBackupBegin), and thawed right
     * after on every path (engines/fsfreeze.h). */
    bool freeze;
    /* A running guest is read through a clone made while it is paused
     * (virDomainSuspend, resumed right after on every path) instead of the
     * backup API, which its hypervisor lacks (containers on LXC). Where the
     * node's libvirt is local, the host's caches are flushed (sync(2)) before
     * the pause and again inside it, so what the guest wrote is in the
     * clone. */
    bool pause_clone;
    /* Called once after the last chunk was emitted, where the read's own
     * teardown can overlap it: a running guest's backup job already told
     * to end, libvirt letting go of its export and scratch meanwhile. The
     * caller finishes its side there (drains its writer and writes the
     * backup's manifest). Its failure fails the read (a pull read then
     * deletes the checkpoint it made). Once it succeeded, sw_bkread_run
     * returns 0. NULL: none. */
    int (*finish)(void *ctx, struct sw_err *err);
};

/* What a read did, for the job's note and the repository's manifest. */
struct sw_bkread_result {
    char how[16];          /* "pull" (backup API + NBD) or "download" (stopped guest) */
    bool incremental;      /* only chunks changed since the parent were emitted */
    char checkpoint[128];  /* the checkpoint this backup made ("" for download) */
    uint64_t disk_bytes;   /* the root disk's size */
    uint64_t read_bytes;   /* bytes read from the disk (the chunks emitted) */
    uint64_t chunks;       /* chunks emitted */
    /* Chunks not emitted are zero (a full read) or unchanged since the
     * parent (an incremental one). */
    /* With req->freeze: 1 the filesystems were frozen when the export
     * began, 0 not (no guest agent answered), SW_BKREAD_PAUSED not tried:
     * the guest was paused (its agent cannot answer), -1 not tried (a
     * stopped guest, or no freeze asked). */
    int frozen;
    /* With req->pause_clone on a running guest: how long it was paused, in
     * ms (-1: not paused); flushed: the host's caches were flushed inside
     * the pause (a local libvirt). */
    int64_t paused_ms;
    bool flushed;
};

/* Reads req->server_id's root disk and emits its chunks in ascending
 * order. 0, or -1 with err set: SW_EUNSUPPORTED naming what the node's
 * libvirt lacks (the test driver: no backup API, no volume download; never
 * a pretend success), SW_ENOTFOUND for a missing domain, root or parent
 * checkpoint, SW_ECONFLICT when a backup job already runs. */
int sw_bkread_run(struct sw_engine *eng, const struct sw_bkread_req *req,
                  struct sw_bkread_result *out, struct sw_err *err);

/* After the repository holds the backup whose checkpoint is `keep`:
 * deletes server_id's other checkpoints, so at most the newest stays.
 * 0, or -1 with err set. */
int sw_bkread_commit(struct sw_engine *eng, const char *server_id, const char *keep,
                     struct sw_err *err);

/* Crash recovery (an engine killed mid-backup): aborts a backup job left
 * on server_id's domain, deletes its scratch volumes "sw-<server>-bk-*" in
 * the node's pools, and deletes its checkpoints but last_completed (NULL /
 * "": all of them), so the next incremental from last_completed is
 * correct. A missing domain is fine (its volumes are still looked for).
 * Writes what it did into note[n] (may be NULL). 0, or -1 with err set. */
int sw_bkread_cleanup(struct sw_engine *eng, const char *server_id, const char *last_completed,
                      char *note, size_t n, struct sw_err *err);

#endif
