/* enums.h - the domain's enumerations and their string forms, as tables.
 *
 * Each *_parse() returns -1 for an unknown string; each *_name() returns a
 * static string ("?" for an out-of-range value).
 */
#ifndef SW_ENUMS_H
#define SW_ENUMS_H

enum sw_plan_kind { SW_KIND_CONTAINER = 0, SW_KIND_PV, SW_KIND_HVM, SW_KIND__COUNT };

enum sw_server_state {
    SW_SRV_PENDING = 0,
    SW_SRV_PROVISIONING,
    SW_SRV_RUNNING,
    SW_SRV_STOPPED,
    SW_SRV_SUSPENDED,
    SW_SRV_TERMINATING,
    SW_SRV_TERMINATED,
    SW_SRV_FAILED,
    SW_SRV__COUNT
};

enum sw_job_type {
    SW_JOB_CREATE = 0,
    SW_JOB_START,
    SW_JOB_STOP,
    SW_JOB_REBOOT,
    SW_JOB_REINSTALL,
    SW_JOB_RESIZE,
    SW_JOB_SUSPEND,
    SW_JOB_UNSUSPEND,
    SW_JOB_TERMINATE,
    SW_JOB_RESET_PASSWORD,
    /* hvm ISO installs (engines/iso.c): a cdrom and the boot order */
    SW_JOB_MOUNT_ISO,
    SW_JOB_EJECT_ISO,
    SW_JOB_SET_BOOT,
    /* customers' snapshots (engines/snapshot.c) */
    SW_JOB_SNAPSHOT_CREATE,
    SW_JOB_SNAPSHOT_REVERT,
    SW_JOB_SNAPSHOT_DELETE,
    /* backups (engines/backup.c) */
    SW_JOB_BACKUP,
    SW_JOB_RESTORE,
    /* issue 15: a server moved to another node, or restarted on one after
     * its node failed (high availability) */
    SW_JOB_MIGRATE,
    SW_JOB_RECOVER,
    SW_JOB__COUNT
};

enum sw_job_state {
    SW_JOBST_QUEUED = 0,
    SW_JOBST_RUNNING,
    SW_JOBST_SUCCEEDED,
    SW_JOBST_FAILED,
    SW_JOBST_DEAD,
    SW_JOBST__COUNT
};

enum sw_account_kind { SW_ACCT_OPERATOR = 0, SW_ACCT_RESELLER, SW_ACCT_CUSTOMER, SW_ACCT__COUNT };

const char *sw_plan_kind_name(int v);
int sw_plan_kind_parse(const char *s);
const char *sw_server_state_name(int v);
int sw_server_state_parse(const char *s);
const char *sw_job_type_name(int v);
int sw_job_type_parse(const char *s);
const char *sw_job_state_name(int v);
int sw_job_state_parse(const char *s);
const char *sw_account_kind_name(int v);
int sw_account_kind_parse(const char *s);

#endif
