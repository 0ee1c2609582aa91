/* backup.h - backup and restore jobs on the node (issue 14): the glue
 * between a node job, the disk reader (bkread.h), the restore writer
 * (bkwrite.h) and the backup repository (backup/repo.h). See
 * engines/README.md "Backup jobs".
 */
#ifndef SW_ENGINES_BACKUP_H
#define SW_ENGINES_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "engines/kind.h"

struct sw_err;

/* The backup group every kind with a root volume in a pool names (hvm, pv). */
extern const struct sw_engine_backups sw_engine_backup_ops;

/* Opens the job's sealed backup key and target secret with the node's
 * secret key into job->backup.key and .secret (other jobs: nothing). -1
 * with err (invalid, not retryable, never a value) when they do not open. */
int sw_engine_backup_open(const struct sw_engine *eng, struct sw_msg_node_job *job,
                          struct sw_err *err);
/* Wipes what sw_engine_backup_open opened. */
void sw_engine_backup_wipe(struct sw_msg_node_job *job);

/* A backup job: the server's root disk read (full, or incremental from the
 * parent's checkpoint; a parent the node or the target no longer has
 * makes it full, said in the note) into the account's repository on the
 * job's target; out->backup says what it did. On failure the reader's
 * leftovers are cleaned up, keeping the parent's checkpoint. 0, or -1 with
 * err. */
int sw_engine_backup_run(struct sw_engine *eng, const struct sw_engine_driver *drv,
                         const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                         struct sw_err *err);

/* sw_engine_backup_run for a guest whose hypervisor has no backup API
 * (containers: engines/bkcontainer.c): a running one is paused only while
 * its root is cloned (bkread.h's pause_clone), the note says for how long,
 * and every backup reads the whole disk (no checkpoint is left). */
int sw_engine_backup_run_paused(struct sw_engine *eng, const struct sw_msg_node_job *job,
                                struct sw_engine_outcome *out, struct sw_err *err);

/* A restore job: the backup's chunks, each verified, written into a new
 * root volume of the server, which then boots from it (the old root is
 * removed only after). 0, or -1 with err. */
int sw_engine_restore_run(struct sw_engine *eng, const struct sw_engine_driver *drv,
                          const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                          struct sw_err *err);

/* The job's backup (its manifest and every chunk, verified) written into
 * the root volume of job's server with tag in pool p ("sw-<server>-root-
 * <tag>" as its kind names it, sw_storage_job_root_name; through bkwrite:
 * a volume under that name is whole, and a replay finds and keeps it);
 * disk filled. The restore job's (tag: its id) and a
 * create's (tag "0", engines/bkrestore.h). 0, or -1 with err (a chunk that
 * fails its checksum is named, not retryable). */
int sw_engine_backup_restore_root(struct sw_engine *eng, const struct sw_msg_node_job *job,
                                  const struct sw_engine_pool *p, const char *tag,
                                  struct sw_msg_disk *disk, struct sw_err *err);

/* The job's backup (its manifest, every chunk verified, as
 * sw_engine_backup_restore_root) given to emit in order, the disk's size
 * in *disk_size before the first call: data NULL means len zero bytes (a
 * hole); a non-zero return stops it ("could not write the restored disk at
 * offset N"). Progress is reported as a restore's. A container's root
 * restored as a new server (engines/bkctnew.h). 0, or -1 with err. */
int sw_engine_backup_restore_each(struct sw_engine *eng, const struct sw_msg_node_job *job,
                                  int (*emit)(void *ctx, uint64_t offset,
                                              const unsigned char *data, size_t len),
                                  void *ctx, uint64_t *disk_size, struct sw_err *err);

#endif
