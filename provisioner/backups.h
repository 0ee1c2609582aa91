/* backups.h - the provisioner's side of backups (issue 14,
 * provisioner/README.md "Backups"): what a backup or restore node job
 * carries (its backup, target and the account's key, sealed to the node),
 * and a backup's result recorded on its row.
 */
#ifndef SW_PROVISIONER_BACKUPS_H
#define SW_PROVISIONER_BACKUPS_H

#include "core/bkmsg.h"

struct sw_db;
struct sw_err;
struct sw_job_row;
struct sw_msg_result;

/* For a backup or restore job, or a create restoring a backup (others:
 * nothing): loads row->backup from the job's backup
 * (jobs.params.backup_id), its target and its parent, and the account's
 * key (made on the first backup of the account) and the target's secret
 * still wrapped with the master key into row->backup_key_wrapped and
 * backup_secret_wrapped: a loaded row holds no plain secret. 0, or -1 with err (a job whose
 * backup is gone: SW_ENOTFOUND; no master key: SW_EUNAVAILABLE). */
int sw_backups_load_job(struct sw_db *db, struct sw_job_row *row, struct sw_err *err);

/* The node job's backup: row's, with the account key and the target's
 * secret opened with the master key and sealed at once to the node's
 * public key (row->node_public_key); the opened copies are wiped before
 * it returns. 0, or -1 with err. */
int sw_backups_seal(const struct sw_job_row *row, struct sw_msg_backup *out, struct sw_err *err);

/* Wipes b's plain key and secret. */
void sw_backups_wipe(struct sw_msg_backup *b);

/* A backup job's successful result: its row gets the bytes, checkpoint,
 * manifest and kind the engine reports (the state follows the job:
 * migration 0026's trigger). 0, or -1 with err. */
int sw_backups_record(struct sw_db *db, const struct sw_job_row *row,
                      const struct sw_msg_result *m, struct sw_err *err);

/* The scheduler's pass: a backup job for every server whose policy (its
 * own, else its plan's) is due now and has no backup in this slot
 * (migration 0026's sw_backup_schedule). *queued: how many. 0 or -1. */
int sw_backups_schedule(struct sw_db *db, int *queued, struct sw_err *err);
/* The scheduler thread (provisioner/main.c): a pass every
 * SLIPWAY_BACKUP_SCHEDULER_INTERVAL seconds (0: none). */
void *sw_backups_scheduler_main(void *arg);

#endif
