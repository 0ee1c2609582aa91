#include "config.h"
#include "core/enums.h"

#include <string.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *const kinds[] = {
    [SW_KIND_CONTAINER] = "container", [SW_KIND_PV] = "pv", [SW_KIND_HVM] = "hvm"};
static const char *const server_states[] = {
    [SW_SRV_PENDING] = "pending",         [SW_SRV_PROVISIONING] = "provisioning",
    [SW_SRV_RUNNING] = "running",         [SW_SRV_STOPPED] = "stopped",
    [SW_SRV_SUSPENDED] = "suspended",     [SW_SRV_TERMINATING] = "terminating",
    [SW_SRV_TERMINATED] = "terminated",   [SW_SRV_FAILED] = "failed"};
static const char *const job_types[] = {
    [SW_JOB_CREATE] = "create",       [SW_JOB_START] = "start",
    [SW_JOB_STOP] = "stop",           [SW_JOB_REBOOT] = "reboot",
    [SW_JOB_REINSTALL] = "reinstall", [SW_JOB_RESIZE] = "resize",
    [SW_JOB_SUSPEND] = "suspend",     [SW_JOB_UNSUSPEND] = "unsuspend",
    [SW_JOB_TERMINATE] = "terminate", [SW_JOB_RESET_PASSWORD] = "reset_password",
    [SW_JOB_MOUNT_ISO] = "mount_iso", [SW_JOB_EJECT_ISO] = "eject_iso",
    [SW_JOB_SET_BOOT] = "set_boot",
    [SW_JOB_SNAPSHOT_CREATE] = "snapshot_create", [SW_JOB_SNAPSHOT_REVERT] = "snapshot_revert",
    [SW_JOB_SNAPSHOT_DELETE] = "snapshot_delete",
    [SW_JOB_BACKUP] = "backup", [SW_JOB_RESTORE] = "restore",
    [SW_JOB_MIGRATE] = "migrate", [SW_JOB_RECOVER] = "recover"};
static const char *const job_states[] = {
    [SW_JOBST_QUEUED] = "queued",       [SW_JOBST_RUNNING] = "running",
    [SW_JOBST_SUCCEEDED] = "succeeded", [SW_JOBST_FAILED] = "failed",
    [SW_JOBST_DEAD] = "dead"};
static const char *const account_kinds[] = {
    [SW_ACCT_OPERATOR] = "operator", [SW_ACCT_RESELLER] = "reseller",
    [SW_ACCT_CUSTOMER] = "customer"};

static const char *name_of(const char *const *tab, int n, int v)
{
    return (v >= 0 && v < n && tab[v]) ? tab[v] : "?";
}

static int parse_in(const char *const *tab, int n, const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < n; i++)
        if (tab[i] && strcmp(tab[i], s) == 0)
            return i;
    return -1;
}

#define SW_ENUM_FUNCS(prefix, tab)                                            \
    const char *prefix##_name(int v) { return name_of(tab, N(tab), v); }     \
    int prefix##_parse(const char *s) { return parse_in(tab, N(tab), s); }

SW_ENUM_FUNCS(sw_plan_kind, kinds)
SW_ENUM_FUNCS(sw_server_state, server_states)
SW_ENUM_FUNCS(sw_job_type, job_types)
SW_ENUM_FUNCS(sw_job_state, job_states)
SW_ENUM_FUNCS(sw_account_kind, account_kinds)
