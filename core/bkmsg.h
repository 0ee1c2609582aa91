/* bkmsg.h - the backup part of node jobs and results (issue 14,
 * provisioner/README.md "Backups"): what a backup or restore job tells
 * the engine, and what a backup's result tells the provisioner.
 *
 * On the wire it is one member, "backup", of a backup or restore node job,
 * of a create that restores a backup as a new server (and of no other
 * job), and of a backup job's successful result. The
 * target's configuration holds no secret; the account's repository key
 * (base64 of 32 bytes) and the target's secret are sealed to the node
 * (core/seal.h) and opened only by the engine, which wipes them after.
 */
#ifndef SW_BKMSG_H
#define SW_BKMSG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/crypto.h"
#include "core/seal.h"

struct sw_err;

#define SW_BKMSG_TARGET_MAX 2048 /* the target's configuration, JSON text */
#define SW_BKMSG_CKP_MAX 128
#define SW_BKMSG_DELETED_MAX 64

struct sw_msg_backup {
    sw_uuid_t id;        /* the backup (a restore: the backup restored) */
    sw_uuid_t account;   /* whose repository: the server's owner */
    sw_uuid_t parent_id; /* an incremental's parent, "" for a full backup */
    char parent_checkpoint[SW_BKMSG_CKP_MAX]; /* the parent's checkpoint on the node */
    char target[SW_BKMSG_TARGET_MAX];         /* {"kind": ..., ...} without secrets */
    char key_sealed[SW_SEAL_B64_MAX];         /* the account key, sealed to the node */
    char secret_sealed[SW_SEAL_B64_MAX];      /* the target's secret, sealed; "" none */
    sw_uuid_t restore_id; /* a restore: names its staging volume (the job's id) */
    /* A backup: the retention the engine applies after it (its server's
     * policy; all 0: keep everything). On the wire "retain", absent when 0. */
    int64_t keep_last, keep_daily, keep_weekly, keep_monthly;
    /* The engine's side only, never encoded or decoded: what it opened,
     * wiped after the job (engines/job.c). */
    char key[SW_SEAL_PLAIN_MAX];
    char secret[SW_SEAL_PLAIN_MAX];
};

/* What a backup did (a successful backup job's result). */
struct sw_msg_backup_result {
    bool has;              /* present on the wire */
    bool incremental;      /* only chunks changed since the parent were read */
    int64_t bytes_logical; /* the disk's size */
    int64_t bytes_read;    /* bytes read from the disk */
    int64_t bytes_stored;  /* bytes of new chunks this backup stored on the target */
    char checkpoint[SW_BKMSG_CKP_MAX]; /* the checkpoint it left on the node ("" none) */
    /* The server's backups whose manifests retention deleted on the target
     * ("deleted", at most SW_BKMSG_DELETED_MAX). */
    int ndeleted;
    sw_uuid_t deleted[SW_BKMSG_DELETED_MAX];
};

/* Adds "backup" to a node job object o of type (enum sw_job_type) when
 * the job is a backup or restore, or a create with a backup (b->id). */
void sw_bkmsg_job_encode(json_t *o, int type, const struct sw_msg_backup *b);
/* Reads "backup" from o: required for backup and restore jobs, optional
 * for a create, refused for the others. 0, or -1 with err (SW_EINVALID). */
int sw_bkmsg_job_decode(const json_t *o, int type, struct sw_msg_backup *b, struct sw_err *err);
/* Adds "backup" to a result object when r->has. */
void sw_bkmsg_result_encode(json_t *o, const struct sw_msg_backup_result *r);
int sw_bkmsg_result_decode(const json_t *o, struct sw_msg_backup_result *r, struct sw_err *err);

#endif
