#include "config.h"

#include "core/enums.h"
#include "provisioner/jobstate.h"

#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* A server that exists on a node and is not on its way out. */
#define LIVE                                                                                       \
    (SW_SRVMASK(SW_SRV_RUNNING) | SW_SRVMASK(SW_SRV_STOPPED) | SW_SRVMASK(SW_SRV_SUSPENDED))
/* Anything but gone. */
#define NOT_GONE (((1u << SW_SRV__COUNT) - 1) & ~SW_SRVMASK(SW_SRV_TERMINATED))

static const struct sw_job_effect effects[] = {
    [SW_JOB_CREATE] = {SW_JOB_CREATE, SW_ROUTE_PLACE, SW_SRV_PROVISIONING, SW_SRV_RUNNING,
                       SW_SRV_FAILED, SW_SRVMASK(SW_SRV_PENDING) | SW_SRVMASK(SW_SRV_PROVISIONING),
                       "completed", "failed", false, true},
    [SW_JOB_START] = {SW_JOB_START, SW_ROUTE_NODE, SW_SRV_KEEP, SW_SRV_RUNNING, SW_SRV_FROM_DOMAIN,
                      LIVE, NULL, NULL, false, false},
    [SW_JOB_STOP] = {SW_JOB_STOP, SW_ROUTE_NODE, SW_SRV_KEEP, SW_SRV_STOPPED, SW_SRV_FROM_DOMAIN,
                     LIVE, NULL, NULL, false, false},
    [SW_JOB_REBOOT] = {SW_JOB_REBOOT, SW_ROUTE_NODE, SW_SRV_KEEP, SW_SRV_RUNNING,
                       SW_SRV_FROM_DOMAIN, LIVE, NULL, NULL, false, false},
    /* Reinstall and resize leave the domain as the engine reports it
     * (a resize applied at next boot keeps it running on the old sizes). */
    [SW_JOB_REINSTALL] = {SW_JOB_REINSTALL, SW_ROUTE_NODE, SW_SRV_KEEP, SW_SRV_FROM_DOMAIN,
                          SW_SRV_FROM_DOMAIN, LIVE, NULL, NULL, false, false},
    [SW_JOB_RESIZE] = {SW_JOB_RESIZE, SW_ROUTE_RESIZE, SW_SRV_KEEP, SW_SRV_FROM_DOMAIN,
                       SW_SRV_FROM_DOMAIN, LIVE, NULL, NULL, false, false},
    [SW_JOB_SUSPEND] = {SW_JOB_SUSPEND, SW_ROUTE_NODE, SW_SRV_KEEP, SW_SRV_SUSPENDED,
                        SW_SRV_FROM_DOMAIN, LIVE, NULL, NULL, false, false},
    [SW_JOB_UNSUSPEND] = {SW_JOB_UNSUSPEND, SW_ROUTE_NODE, SW_SRV_KEEP, SW_SRV_RUNNING,
                          SW_SRV_FROM_DOMAIN, LIVE, NULL, NULL, false, false},
    /* A failed terminate leaves the server "terminating" with its error,
     * for an operator; it keeps its allocation until the domain is gone. */
    [SW_JOB_TERMINATE] = {SW_JOB_TERMINATE, SW_ROUTE_NODE_OR_DONE, SW_SRV_TERMINATING,
                          SW_SRV_TERMINATED, SW_SRV_KEEP, NOT_GONE, NULL, NULL, true, false},
    [SW_JOB_RESET_PASSWORD] = {SW_JOB_RESET_PASSWORD, SW_ROUTE_NODE, SW_SRV_KEEP, SW_SRV_KEEP,
                               SW_SRV_KEEP, LIVE, NULL, NULL, false, false},
    /* An ISO mounted or ejected, or the boot order changed: the server's
     * state is kept (the boot order applies at its next boot). */
    [SW_JOB_MOUNT_ISO] = {SW_JOB_MOUNT_ISO, SW_ROUTE_NODE, SW_SRV_KEEP, SW_SRV_FROM_DOMAIN,
                          SW_SRV_FROM_DOMAIN, LIVE, NULL, NULL, false, false},
    [SW_JOB_EJECT_ISO] = {SW_JOB_EJECT_ISO, SW_ROUTE_NODE, SW_SRV_KEEP, SW_SRV_FROM_DOMAIN,
                          SW_SRV_FROM_DOMAIN, LIVE, NULL, NULL, false, false},
    [SW_JOB_SET_BOOT] = {SW_JOB_SET_BOOT, SW_ROUTE_NODE, SW_SRV_KEEP, SW_SRV_FROM_DOMAIN,
                         SW_SRV_FROM_DOMAIN, LIVE, NULL, NULL, false, false},
    /* Snapshots (engines/snapshot.c): the server's state is what the
     * engine reports (a disk-only revert may boot it again); the snapshot's
     * own state follows its job (migration 0025's trigger). */
    [SW_JOB_SNAPSHOT_CREATE] = {SW_JOB_SNAPSHOT_CREATE, SW_ROUTE_NODE, SW_SRV_KEEP,
                                SW_SRV_FROM_DOMAIN, SW_SRV_FROM_DOMAIN, LIVE, NULL, NULL, false,
                                false},
    [SW_JOB_SNAPSHOT_REVERT] = {SW_JOB_SNAPSHOT_REVERT, SW_ROUTE_NODE, SW_SRV_KEEP,
                                SW_SRV_FROM_DOMAIN, SW_SRV_FROM_DOMAIN, LIVE, NULL, NULL, false,
                                false},
    [SW_JOB_SNAPSHOT_DELETE] = {SW_JOB_SNAPSHOT_DELETE, SW_ROUTE_NODE, SW_SRV_KEEP,
                                SW_SRV_FROM_DOMAIN, SW_SRV_FROM_DOMAIN, LIVE, NULL, NULL, false,
                                false},
    /* Backups (provisioner/backups.c): a backup leaves the domain as it
     * was, so the server keeps its state (a guest paused by its operator
     * while the backup ran is no suspension); a restore swaps its root
     * volume and reports the domain as it is. */
    [SW_JOB_BACKUP] = {SW_JOB_BACKUP, SW_ROUTE_NODE, SW_SRV_KEEP, SW_SRV_KEEP, SW_SRV_KEEP, LIVE,
                       NULL, NULL, false, false},
    [SW_JOB_RESTORE] = {SW_JOB_RESTORE, SW_ROUTE_NODE, SW_SRV_KEEP, SW_SRV_FROM_DOMAIN,
                        SW_SRV_FROM_DOMAIN, LIVE, NULL, NULL, false, false},
    /* A move (migrate.h): the server keeps its state (running stays
     * running on the target; a failed move leaves it as it was on the
     * source); its node, allocation and the target's claim are settled by
     * sw_mig_settle (jobdb.c's settles[]). */
    [SW_JOB_MIGRATE] = {SW_JOB_MIGRATE, SW_ROUTE_MIGRATE, SW_SRV_KEEP, SW_SRV_KEEP, SW_SRV_KEEP,
                        LIVE, NULL, NULL, false, false},
    /* High availability (recover.c, README.md "High availability"): a
     * running, stopped or suspended server of a failed node, claimed on a
     * healthy node (its allocation moved there at the claim); running again
     * (a stopped one defined there, stopped; a suspended one the same, and
     * still suspended), or failed with the engine's reason (a volume
     * missing) or for want of a node (no_capacity): then its allocation and
     * addresses go, as a failed create's do. */
    [SW_JOB_RECOVER] = {SW_JOB_RECOVER, SW_ROUTE_RECOVER, SW_SRV_KEEP,
                        SW_SRV_FROM_DOMAIN_UNLESS_SUSPENDED, SW_SRV_FAILED, SW_RECOVER_STATES, NULL,
                        NULL, false, true},
};

_Static_assert(N(effects) == SW_JOB__COUNT, "one effect per job type");

const struct sw_job_effect *sw_jobstate_effect(int type)
{
    return (type >= 0 && (size_t)type < N(effects)) ? &effects[type] : NULL;
}

static const struct {
    const char *name;
    int state;
} domain_states[] = {
    {"running", SW_SRV_RUNNING},
    {"stopped", SW_SRV_STOPPED},
    {"suspended", SW_SRV_SUSPENDED},
};

int sw_jobstate_from_domain(const char *domain_state)
{
    for (size_t i = 0; domain_state && i < N(domain_states); i++)
        if (strcmp(domain_states[i].name, domain_state) == 0)
            return domain_states[i].state;
    return -1;
}

int sw_jobstate_server_after(const struct sw_job_effect *e, bool ok, const char *domain_state,
                             int current_state)
{
    if (current_state < 0 || current_state >= SW_SRV__COUNT ||
        !(e->srv_from & SW_SRVMASK(current_state)))
        return SW_SRV_KEEP;
    int s = ok ? e->srv_ok : e->srv_fail;
    if (s == SW_SRV_FROM_DOMAIN_UNLESS_SUSPENDED) {
        if (current_state == SW_SRV_SUSPENDED)
            return SW_SRV_KEEP;
        s = SW_SRV_FROM_DOMAIN;
    }
    if (s == SW_SRV_FROM_DOMAIN) {
        s = sw_jobstate_from_domain(domain_state);
        if (s < 0)
            return SW_SRV_KEEP;
    }
    return s == current_state ? SW_SRV_KEEP : s;
}

bool sw_jobstate_terminal(int job_state)
{
    return job_state == SW_JOBST_SUCCEEDED || job_state == SW_JOBST_FAILED ||
           job_state == SW_JOBST_DEAD;
}

bool sw_jobstate_should_retry(bool retryable, int attempts)
{
    return retryable && attempts < SW_JOB_MAX_ATTEMPTS;
}

long sw_jobstate_backoff_ms(int attempts, uint32_t rnd)
{
    long base = 1000;
    for (int i = 1; i < attempts && base < 60000; i++)
        base *= 2;
    if (base > 60000)
        base = 60000;
    long half = base / 2;
    return half + (long)(rnd % (uint32_t)(half + 1));
}
