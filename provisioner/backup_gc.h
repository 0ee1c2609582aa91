/* backup_gc.h - garbage collection of an account's backup chunks in the
 * provisioner, under a per-account lock that keeps it and the account's
 * backup jobs apart (provisioner/README.md "Backup garbage collection",
 * migration 0028).
 *
 * The lock is PostgreSQL's advisory lock sw_backup_gc_lock_key(account):
 * gc holds it exclusively on its own connection for the whole pass, and
 * starts only when no job naming a backup of the account is running; a
 * backup job's start takes it shared inside the transaction that marks the
 * job running, and stays queued when it cannot. So across provisioners a
 * gc never sweeps while a backup of the account writes (it would delete a
 * chunk the writer has just deduplicated against), and a provisioner that
 * dies mid-gc releases the lock with its connection.
 */
#ifndef SW_PROVISIONER_BACKUP_GC_H
#define SW_PROVISIONER_BACKUP_GC_H

struct sw_db;
struct sw_err;
struct sw_job_row;
struct sw_prov_thread;

/* For the start transaction of a queued job (jobs.c): 1 when the job is a
 * backup whose account's gc holds the lock (the job waits, queued), 0 when
 * it may start (a backup's shared lock is then held to the transaction's
 * end), -1 with err. */
int sw_backup_gc_holds(struct sw_db *db, const struct sw_job_row *row, struct sw_err *err);

/* One pass: gc of up to 20 accounts marked due, oldest first, each that no
 * running job of its own holds; *done: how many ran. The accounts' queued
 * backup jobs are announced again afterwards. 0, or -1 with err. */
int sw_backup_gc_pass(struct sw_prov_thread *t, int *done, struct sw_err *err);

/* The gc thread (provisioner/main.c): a pass every
 * SLIPWAY_BACKUP_GC_INTERVAL seconds (default 60; 0: none). */
void *sw_backup_gc_main(void *arg);

#endif
