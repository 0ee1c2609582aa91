/* repo.h - an account's backup repository on a target: write a backup,
 * restore one, collect garbage, scrub.
 *
 * Layout on the target:
 *   <account>/chunks/<id[0:2]>/<id>    sealed chunks (chunk.h), written once
 *   <account>/manifests/<backup id>    sealed manifests (manifest.h), written last
 * A backup exists when its manifest does. The caller keeps one account's
 * writers and its gc from running at once (gc would take a running
 * backup's new chunks for garbage); scrub and restore run any time.
 * Account keys are 32 random bytes per account, generated and kept by the
 * caller; this library derives its keys from them, never logs them and
 * wipes its copies.
 */
#ifndef SW_BK_REPO_H
#define SW_BK_REPO_H

#include "backup/chunk.h"
#include "backup/manifest.h"
#include "backup/target.h"

#include <stddef.h>
#include <stdint.h>

struct sw_err;
struct sw_bk_writer;

/* A new backup of a disk of disk_size bytes. parent: the manifest of the
 * backup this one is incremental to (borrowed, copied), or NULL for a full
 * one; chunks never put keep the parent's ids (a full backup's unput
 * chunks are zero). ids are uuids. Owned, sw_bk_writer_free(); NULL with
 * err (invalid) on bad arguments. */
struct sw_bk_writer *sw_bk_writer_new(struct sw_bk_target *t,
                                      const unsigned char key[SW_BK_KEY_BYTES],
                                      const char *account, const char *server,
                                      const char *backup_id,
                                      const struct sw_bk_manifest *parent, uint64_t disk_size,
                                      struct sw_err *err);
/* Stores one whole chunk: offset a multiple of SW_BK_CHUNK_SIZE, len the
 * chunk's length (SW_BK_CHUNK_SIZE, or what is left at the disk's end). An
 * all-zero chunk is recorded, not stored; a chunk already on the target is
 * not written again. data is copied (the caller may reuse it at once) and
 * stored while later chunks come: a failure (the target's, a seal's) is
 * answered by a later put or by finish, the first one only. */
int sw_bk_writer_put(struct sw_bk_writer *w, uint64_t offset, const unsigned char *data,
                     size_t len, struct sw_err *err);
/* How many threads seal chunks (hash, zstd, secretstream) while the
 * caller reads and one more thread stores them in order (pipeline.h);
 * default the online cores (1..8); 0 does it all on the caller's thread,
 * chunk after chunk. Takes effect only before the first put. */
void sw_bk_writer_set_workers(struct sw_bk_writer *w, unsigned workers);
/* Sets the backup's created_at (default: when it finishes); for imports
 * and tests of retention. */
void sw_bk_writer_set_created(struct sw_bk_writer *w, time_t at);
/* Bytes put so far, and the disk's size. */
void sw_bk_writer_progress(const struct sw_bk_writer *w, uint64_t *done, uint64_t *total);
/* Writes the manifest, last; *out (if non-NULL) gets it, owned. */
int sw_bk_writer_finish(struct sw_bk_writer *w, struct sw_bk_manifest **out,
                        struct sw_err *err);
/* Frees; an unfinished writer leaves chunks (gc removes them) and no manifest. */
void sw_bk_writer_free(struct sw_bk_writer *w);

/* Reads and opens <account>/manifests/<backup_id>: owned, or NULL with err:
 * not_found, unauthenticated (wrong key), internal (damaged), invalid. */
struct sw_bk_manifest *sw_bk_manifest_load(struct sw_bk_target *t,
                                           const unsigned char key[SW_BK_KEY_BYTES],
                                           const char *account, const char *backup_id,
                                           struct sw_err *err);

/* Receives the disk in order, chunk by chunk; data NULL means len zero
 * bytes (a hole may be left). Non-zero stops the restore. */
typedef int (*sw_bk_emit_fn)(void *arg, uint64_t offset, const unsigned char *data,
                             size_t len);

/* Restores m, verifying every chunk; -1 with err on the first that is
 * missing or fails (internal, "chunk <id> at offset N failed its
 * checksum"), or unauthenticated when key is not m's. */
int sw_bk_restore(struct sw_bk_target *t, const unsigned char key[SW_BK_KEY_BYTES],
                  const struct sw_bk_manifest *m, sw_bk_emit_fn emit, void *arg,
                  struct sw_err *err);

/* Fetches chunk i of m (not zero) into buf (SW_BK_CHUNK_SIZE bytes) and
 * verifies it; -1 with err as sw_bk_restore's. */
int sw_bk_chunk_fetch(struct sw_bk_target *t, const struct sw_bk_keys *keys,
                      const struct sw_bk_manifest *m, size_t i, unsigned char *buf,
                      struct sw_err *err);

/* The account's backup ids (those with a manifest): *ids owned, free each
 * and the array. */
int sw_bk_list_backups(struct sw_bk_target *t, const char *account, char ***ids, size_t *n,
                       struct sw_err *err);

/* Applies policy (prune.h) to the server's backups: deletes the manifests
 * it does not keep; their chunks go at the next gc. Every manifest is
 * complete (an incremental lists all its chunks), so deleting a parent
 * never breaks a child; the newest backup is always kept, so the next
 * incremental has its parent. Nothing is deleted when one of the
 * account's manifests does not open. */
struct sw_bk_policy;
int sw_bk_retain(struct sw_bk_target *t, const unsigned char key[SW_BK_KEY_BYTES],
                 const char *account, const char *server, const struct sw_bk_policy *policy,
                 size_t *kept, size_t *deleted, struct sw_err *err);

struct sw_bk_gc_stats {
    size_t manifests, chunks_kept, chunks_deleted;
    uint64_t bytes_deleted; /* the deleted chunks' sizes on the target */
};
/* Deletes the account's chunks no manifest references (and leftovers of
 * interrupted puts are not listed). Every manifest must open first: one
 * that does not stops gc before anything is deleted. */
int sw_bk_gc(struct sw_bk_target *t, const unsigned char key[SW_BK_KEY_BYTES],
             const char *account, struct sw_bk_gc_stats *stats, struct sw_err *err);

/* Receives each bad chunk or manifest scrub finds: what names it
 * ("chunk <id> at offset N of backup B" or "manifest B"), why says why. */
typedef void (*sw_bk_bad_fn)(void *arg, const char *what, const char *why);
struct sw_bk_scrub_stats {
    size_t manifests, chunks_checked, bad;
};
/* Reads and verifies every chunk of every manifest of the account once. */
int sw_bk_scrub(struct sw_bk_target *t, const unsigned char key[SW_BK_KEY_BYTES],
                const char *account, sw_bk_bad_fn bad, void *arg,
                struct sw_bk_scrub_stats *stats, struct sw_err *err);

/* A chunk's name on the target: owned "<account>/chunks/<id[0:2]>/<id>". */
char *sw_bk_chunk_key(const char *account, const unsigned char id[SW_BK_ID_BYTES]);

#endif
