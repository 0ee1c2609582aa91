/* driver.c - the dispatcher: hypervisors by URI scheme, the kinds' tables,
 * and sw_engine_run()/sw_engine_define() over them (driver.h). */
#include "config.h"
#include "engines/driver.h"
#include "engines/migjob.h"
#include "engines/storage.h"
#include "engines/virt.h"
#include "core/enums.h"
#include "core/err.h"

#include <string.h>

/* ---- hypervisors ---- */

static const struct sw_hypervisor hypervisors[] = {
    {.scheme = "test", .name = "test", .domain_type = "test", .cpu_weight = 1024},
    {.scheme = "qemu",
     .name = "qemu",
     .domain_type = "kvm",
     .fallback_type = "qemu",
     .guest_agent = true,
     .cpu_weight = 1024},
    {.scheme = "xen", .name = "xen", .domain_type = "xen", .cpu_weight = 256},
    {.scheme = "lxc", .name = "lxc", .domain_type = "lxc", .cpu_weight = 1024},
    /* libvirt's OpenVZ driver names every domain by its numeric container
     * id (vzctl create <VEID>; domains reloaded as "<VEID>"), so a server's
     * domain cannot be sw-<server id>, which reconciliation, usage and the
     * ballooner find it by. Containers run on lxc. */
    {.scheme = "openvz",
     .refused = "libvirt's openvz driver names domains by numeric container id; use lxc:// "
                "for containers"},
};

static const struct sw_hypervisor *hypervisor_usable(const struct sw_hypervisor *hv,
                                                    const char *uri, struct sw_err *err)
{
    if (!hv->refused)
        return hv;
    SW_ERR(err, SW_EUNSUPPORTED, "%s nodes are not supported: %s", hv->scheme, hv->refused);
    sw_err_detail(err, "uri \"%s\"", uri);
    return NULL;
}

const struct sw_hypervisor *sw_hypervisor_from_uri(const char *uri, struct sw_err *err)
{
    size_t n = strcspn(uri, "+:");
    for (size_t i = 0; i < sizeof hypervisors / sizeof hypervisors[0]; i++)
        if (strlen(hypervisors[i].scheme) == n && strncmp(uri, hypervisors[i].scheme, n) == 0)
            return hypervisor_usable(&hypervisors[i], uri, err);
    SW_ERR(err, SW_EUNSUPPORTED, "the engine does not support this hypervisor");
    sw_err_detail(err, "uri \"%s\": unknown scheme \"%.*s\"", uri, (int)n, uri);
    return NULL;
}

/* ---- drivers and operations ---- */

static const struct sw_engine_driver *(*const drivers[SW_KIND__COUNT])(void) = {
    [SW_KIND_CONTAINER] = sw_engine_container_driver,
    [SW_KIND_PV] = sw_engine_pv_driver,
    [SW_KIND_HVM] = sw_engine_hvm_driver,
};

const struct sw_engine_driver *sw_engine_driver_get(int kind)
{
    if (kind < 0 || kind >= SW_KIND__COUNT || !drivers[kind])
        return NULL;
    return drivers[kind]();
}

/* The checks every operation passes first; 0 or -1 with err set. */
static const struct sw_engine_driver *checked_driver(const struct sw_engine *eng,
                                                     const struct sw_msg_node_job *job,
                                                     struct sw_err *err)
{
    const struct sw_engine_driver *drv = NULL;
    if (job->kind >= 0 && job->kind < SW_KIND__COUNT)
        drv = eng->drivers ? eng->drivers[job->kind] : sw_engine_driver_get(job->kind);
    if (!drv) {
        SW_ERR(err, SW_EINVALID, "unknown plan kind");
        sw_err_detail(err, "kind %d", job->kind);
    } else if (job->type < 0 || job->type >= SW_JOB__COUNT) {
        SW_ERR(err, SW_EINVALID, "unknown job type");
        sw_err_detail(err, "type %d", job->type);
        drv = NULL;
    } else if (eng->kinds && !(eng->kinds & (1u << job->kind))) {
        SW_ERR(err, SW_EUNSUPPORTED, "this node does not host %s servers", drv->name);
        drv = NULL;
    }
    return drv;
}

static void fill_state(struct sw_engine *eng, const struct sw_msg_node_job *job,
                       struct sw_engine_outcome *out)
{
    if (eng->conn) {
        virDomainPtr dom = virDomainLookupByUUIDString(eng->conn, job->server_id);
        sw_virt_state_name(dom, out->domain_state);
        if (dom)
            virDomainFree(dom);
    }
}

/* After a create, reinstall or resize that succeeded: the server's
 * volumes as they are now (the result's disks claim), when the operation
 * did not name them itself (a replayed create that found its domain): a
 * listing of the node's pools. A listing that fails leaves none: the
 * provisioner keeps what it recorded before. */
static void fill_disks(struct sw_engine *eng, const struct sw_msg_node_job *job,
                       struct sw_engine_outcome *out)
{
    if (!eng->conn || out->ndisks > 0 ||
        (job->type != SW_JOB_CREATE && job->type != SW_JOB_REINSTALL &&
         job->type != SW_JOB_RESIZE))
        return;
    struct sw_err err;
    sw_err_clear(&err);
    int n = sw_storage_disks(eng, job->server_id, out->disks, SW_MSG_MAX_DISKS, &err);
    out->ndisks = n > 0 ? n : 0;
}

/* The answer for a NULL operation (or group), naming both. */
static int unsupported(const struct sw_engine_driver *drv, const char *op, struct sw_err *err)
{
    SW_ERR(err, SW_EUNSUPPORTED, "%s is not supported for %s servers", op, drv->name);
    return -1;
}

/* The media group's job types (kind.h), one explicit call each. */
static int run_media(struct sw_engine *eng, const struct sw_engine_driver *drv,
                     const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                     struct sw_err *err)
{
    const struct sw_engine_media *m = drv->media;
    const char *op = sw_job_type_name(job->type);
    if (job->type == SW_JOB_MOUNT_ISO && m && m->mount_iso)
        return m->mount_iso(eng, drv, job, out, err);
    if (job->type == SW_JOB_EJECT_ISO && m && m->eject_iso)
        return m->eject_iso(eng, drv, job, out, err);
    if (job->type == SW_JOB_SET_BOOT && m && m->set_boot)
        return m->set_boot(eng, drv, job, out, err);
    return unsupported(drv, op, err);
}

/* The snapshot group's job types (kind.h), one explicit call each. */
static int run_snapshots(struct sw_engine *eng, const struct sw_engine_driver *drv,
                         const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                         struct sw_err *err)
{
    const struct sw_engine_snapshots *s = drv->snapshots;
    if (job->type == SW_JOB_SNAPSHOT_CREATE && s && s->create)
        return s->create(eng, drv, job, out, err);
    if (job->type == SW_JOB_SNAPSHOT_REVERT && s && s->revert)
        return s->revert(eng, drv, job, out, err);
    if (job->type == SW_JOB_SNAPSHOT_DELETE && s && s->remove)
        return s->remove(eng, drv, job, out, err);
    return unsupported(drv, sw_job_type_name(job->type), err);
}

/* The backup group's job types (kind.h), one explicit call each. */
static int run_backups(const struct sw_engine_driver *drv, struct sw_engine *eng,
                       const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                       struct sw_err *err)
{
    const struct sw_engine_backups *b = drv->backups;
    if (job->type == SW_JOB_BACKUP && b && b->backup)
        return b->backup(eng, drv, job, out, err);
    if (job->type == SW_JOB_RESTORE && b && b->restore)
        return b->restore(eng, drv, job, out, err);
    if (job->type == SW_JOB_CREATE && b && b->create)
        return b->create(eng, drv, job, out, err);
    return unsupported(drv, job->type == SW_JOB_CREATE ? "a restore as a new server"
                                                       : sw_job_type_name(job->type), err);
}

/* One explicit call per job type (libvirt's libvirt-domain.c), so a reader,
 * grep or a static tool follows a job into its operation; a job type
 * without a case here is a compiler warning (-Wswitch). */
static int run_lifecycle(struct sw_engine *eng, const struct sw_engine_driver *drv,
                         const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                         struct sw_err *err)
{
    const struct sw_engine_lifecycle *l = drv->lifecycle;
    const char *op = sw_job_type_name(job->type);
    if (!l)
        return unsupported(drv, op, err);
    switch ((enum sw_job_type)job->type) {
    case SW_JOB_CREATE: /* one that carries a backup restores it (bkrestore.c) */
        if (job->backup.id[0])
            return run_backups(drv, eng, job, out, err);
        return l->create ? l->create(eng, drv, job, out, err) : unsupported(drv, op, err);
    case SW_JOB_START:
        return l->start ? l->start(eng, drv, job, out, err) : unsupported(drv, op, err);
    case SW_JOB_STOP:
        return l->stop ? l->stop(eng, drv, job, out, err) : unsupported(drv, op, err);
    case SW_JOB_REBOOT:
        return l->reboot ? l->reboot(eng, drv, job, out, err) : unsupported(drv, op, err);
    case SW_JOB_REINSTALL:
        return l->reinstall ? l->reinstall(eng, drv, job, out, err) : unsupported(drv, op, err);
    case SW_JOB_RESIZE:
        return l->resize ? l->resize(eng, drv, job, out, err) : unsupported(drv, op, err);
    case SW_JOB_SUSPEND:
        return l->suspend ? l->suspend(eng, drv, job, out, err) : unsupported(drv, op, err);
    case SW_JOB_UNSUSPEND:
        return l->unsuspend ? l->unsuspend(eng, drv, job, out, err) : unsupported(drv, op, err);
    case SW_JOB_TERMINATE:
        return l->terminate ? l->terminate(eng, drv, job, out, err) : unsupported(drv, op, err);
    case SW_JOB_RESET_PASSWORD:
        return l->reset_password ? l->reset_password(eng, drv, job, out, err)
                                 : unsupported(drv, op, err);
    case SW_JOB_MOUNT_ISO:
    case SW_JOB_EJECT_ISO:
    case SW_JOB_SET_BOOT:
        return run_media(eng, drv, job, out, err);
    case SW_JOB_SNAPSHOT_CREATE:
    case SW_JOB_SNAPSHOT_REVERT:
    case SW_JOB_SNAPSHOT_DELETE:
        return run_snapshots(eng, drv, job, out, err);
    case SW_JOB_BACKUP:
    case SW_JOB_RESTORE:
        return run_backups(drv, eng, job, out, err);
    case SW_JOB_MIGRATE: /* migjob.c: live, offline, or a cold move's half */
        return sw_migjob_run(eng, drv, job, out, err);
    case SW_JOB_RECOVER:
        return unsupported(drv, op, err);
    case SW_JOB__COUNT:
        break;
    }
    SW_ERR(err, SW_EINVALID, "unknown job type");
    return -1;
}

int sw_engine_run(struct sw_engine *eng, const struct sw_msg_node_job *job,
                  struct sw_engine_outcome *out, struct sw_err *err)
{
    memset(out, 0, sizeof *out);
    const struct sw_engine_driver *drv = checked_driver(eng, job, err);
    int rc = drv ? run_lifecycle(eng, drv, job, out, err) : -1;
    fill_state(eng, job, out);
    if (rc == 0 && drv->root_volume)
        fill_disks(eng, job, out);
    return rc;
}

int sw_engine_define(struct sw_engine *eng, const struct sw_msg_node_job *job,
                     struct sw_engine_outcome *out, struct sw_err *err)
{
    memset(out, 0, sizeof *out);
    const struct sw_engine_driver *drv = checked_driver(eng, job, err);
    int rc = -1;
    if (drv && !(drv->lifecycle && drv->lifecycle->define))
        SW_ERR(err, SW_EUNSUPPORTED, "%s servers cannot be defined here", drv->name);
    else if (drv)
        rc = drv->lifecycle->define(eng, drv, job, out, err);
    fill_state(eng, job, out);
    return rc;
}
