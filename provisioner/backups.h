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

/* For a backup or restore job (others: nothing): loads row->backup from
 * the job's backup (jobs.params.backup_id), its target, its parent and
 * the account's key (made on the first backup of the account), unwrapped
 * with the master key into row->backup.key (base64) and .secret; the
 * caller wipes them (sw_backups_wipe). 0, or -1 with err (a job whose
 * backup is gone: SW_ENOTFOUND; no master key: SW_EUNAVAILABLE). */
int sw_backups_load_job(struct sw_db *db, struct sw_job_row *row, struct sw_err *err);

/* The node job's backup: row's, with its key and secret sealed to the
 * node's public key pk and the plain copies left out. 0, or -1 with err. */
int sw_backups_seal(const char *pk, const struct sw_msg_backup *in, struct sw_msg_backup *out,
                    struct sw_err *err);

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
