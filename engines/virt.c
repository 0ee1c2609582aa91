#include "config.h"
#include "engines/virt.h"
#include "engines/domdef.h"
#include "engines/domxml.h"
#include "engines/iso.h"
#include "engines/kernel.h"
#include "engines/limits.h"
#include "engines/seedvol.h"
#include "engines/snapshot.h"
#include "engines/storage.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"

#include <libvirt/virterror.h>
#include <errno.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- errors ---- */

static const struct vir_errmap {
    int vir; /* virErrorNumber */
    enum sw_errc code;
    bool retryable;
    const char *why; /* tenant-safe reason */
} vir_errmap[] = {
    {VIR_ERR_NO_DOMAIN, SW_ENOTFOUND, false, "the server does not exist on its node"},
    {VIR_ERR_OPERATION_INVALID, SW_ECONFLICT, false, "the server's state does not allow it"},
    {VIR_ERR_DOM_EXIST, SW_ECONFLICT, false, "another domain holds the server's name"},
    {VIR_ERR_NO_SUPPORT, SW_EUNSUPPORTED, false, "the node's hypervisor does not support it"},
    {VIR_ERR_OPERATION_UNSUPPORTED, SW_EUNSUPPORTED, false,
     "the node's hypervisor does not support it"},
    {VIR_ERR_CONFIG_UNSUPPORTED, SW_EUNSUPPORTED, false,
     "the node's hypervisor does not support this configuration"},
    {VIR_ERR_XML_ERROR, SW_EINVALID, false, "the domain definition was rejected"},
    {VIR_ERR_XML_DETAIL, SW_EINVALID, false, "the domain definition was rejected"},
    {VIR_ERR_INVALID_ARG, SW_EINVALID, false, "the hypervisor rejected the request"},
    {VIR_ERR_NO_CONNECT, SW_EUNAVAILABLE, true, "the hypervisor is unavailable"},
    {VIR_ERR_RPC, SW_EUNAVAILABLE, true, "the hypervisor is unavailable"},
    {VIR_ERR_SYSTEM_ERROR, SW_EUNAVAILABLE, true, "the hypervisor is unavailable"},
    {VIR_ERR_NO_MEMORY, SW_EUNAVAILABLE, true, "the hypervisor is out of memory"},
    {VIR_ERR_OPERATION_TIMEOUT, SW_EUNAVAILABLE, true, "the hypervisor timed out"},
    {VIR_ERR_AGENT_UNRESPONSIVE, SW_EUNAVAILABLE, true, "the guest agent is not responding"},
    {VIR_ERR_OPERATION_FAILED, SW_EINTERNAL, true, "the hypervisor reported a failure"},
};

/* A system error's errno (libvirt keeps it in int1, across RPC too) says
 * more than "the hypervisor is unavailable" for these: a full pool is what
 * an operator must act on, and another node may have room (retryable). */
static const struct {
    int errnum;
    const char *why;
} sys_errmap[] = {
    {ENOSPC, "the node's storage is full"},
    {EDQUOT, "the node's storage is full"},
};

void sw_virt_error(struct sw_err *err, const char *what)
{
    virErrorPtr e = virGetLastError();
    enum sw_errc code = SW_EINTERNAL;
    bool retryable = false;
    const char *why = "the hypervisor reported an error";
    for (size_t i = 0; e && i < sizeof vir_errmap / sizeof vir_errmap[0]; i++) {
        if (vir_errmap[i].vir == e->code) {
            code = vir_errmap[i].code;
            retryable = vir_errmap[i].retryable;
            why = vir_errmap[i].why;
            break;
        }
    }
    for (size_t i = 0;
         e && e->code == VIR_ERR_SYSTEM_ERROR && i < sizeof sys_errmap / sizeof sys_errmap[0]; i++)
        if (sys_errmap[i].errnum == e->int1)
            why = sys_errmap[i].why;
    sw_err_set_at(err, __FILE__, __func__, __LINE__, code, retryable, "could not %s: %s", what,
                  why);
    if (e)
        sw_err_detail(err, "libvirt error %d (domain %d): %s", e->code, e->domain,
                      e->message ? e->message : "");
    else
        sw_err_detail(err, "libvirt reported no error");
}

/* The last error of this thread is VIR_ERR_NO_DOMAIN. */
static bool no_domain(void)
{
    virErrorPtr e = virGetLastError();
    return e && e->code == VIR_ERR_NO_DOMAIN;
}

/* libvirt prints every error to stderr unless told otherwise. */
static void silent_error(void *data, virErrorPtr e)
{
    (void)data;
    (void)e;
}

int sw_virt_init(struct sw_err *err)
{
    virSetErrorFunc(NULL, silent_error);
    if (virInitialize() < 0) {
        SW_ERR(err, SW_EINTERNAL, "could not initialise libvirt");
        return -1;
    }
    return 0;
}

virConnectPtr sw_virt_open(const char *uri, struct sw_err *err)
{
    virConnectPtr c = virConnectOpen(uri);
    if (!c) {
        sw_virt_error(err, "connect to the hypervisor");
        char d[sizeof err->detail];
        snprintf(d, sizeof d, "%s", err ? err->detail : "");
        sw_err_detail(err, "uri \"%s\": %s", uri, d);
    }
    return c;
}

const char *sw_virt_domain_type(virConnectPtr conn, const struct sw_hypervisor *hv)
{
    if (!hv->fallback_type)
        return hv->domain_type;
    char *caps = virConnectGetDomainCapabilities(conn, NULL, NULL, NULL, hv->domain_type, 0);
    if (!caps) {
        virResetLastError();
        return hv->fallback_type;
    }
    free(caps);
    /* Capabilities only say the device exists; whether the hypervisor's
     * user may open it shows when a guest starts (a host with /dev/kvm that
     * its qemu user cannot use). So start a tiny transient guest, paused,
     * and throw it away. The name is not sw-*: reconciliation ignores it. */
    char xml[512];
    snprintf(xml, sizeof xml,
             "<domain type='%s'><name>slipway-probe-%ld</name><memory unit='MiB'>16</memory>"
             "<os><type>hvm</type></os></domain>",
             hv->domain_type, (long)getpid());
    virDomainPtr dom = virDomainCreateXML(conn, xml, VIR_DOMAIN_START_PAUSED);
    if (!dom) {
        virResetLastError();
        return hv->fallback_type;
    }
    virDomainDestroy(dom);
    virDomainFree(dom);
    return hv->domain_type;
}

const char *sw_virt_domain_type_chosen(virConnectPtr conn, const struct sw_hypervisor *hv,
                                       const char *want, struct sw_err *err)
{
    if (!want || !*want)
        return sw_virt_domain_type(conn, hv);
    if (strcmp(want, hv->domain_type) == 0)
        return hv->domain_type;
    if (hv->fallback_type && strcmp(want, hv->fallback_type) == 0)
        return hv->fallback_type;
    SW_ERR(err, SW_EINVALID, "SLIPWAY_DOMAIN_TYPE \"%s\" is not a domain type of the %s driver",
           want, hv->name);
    return NULL;
}

/* ---- lookup and state ---- */

virDomainPtr sw_virt_lookup(struct sw_engine *eng, const char *server_id, const char *what,
                            struct sw_err *err)
{
    virDomainPtr dom = virDomainLookupByUUIDString(eng->conn, server_id);
    if (!dom)
        sw_virt_error(err, what);
    return dom;
}

/* What the operations care about in a domain's state. */
enum dstate { DS_STOPPED = 0, DS_RUNNING, DS_SUSPENDED };

static const char *const dstate_names[] = {
    [DS_STOPPED] = SW_DOMAIN_STOPPED,
    [DS_RUNNING] = SW_DOMAIN_RUNNING,
    [DS_SUSPENDED] = SW_DOMAIN_SUSPENDED,
};

/* Each virDomainState; a shutting-down domain still runs. */
static const enum dstate vir_states[VIR_DOMAIN_PMSUSPENDED + 1] = {
    [VIR_DOMAIN_NOSTATE] = DS_STOPPED,   [VIR_DOMAIN_RUNNING] = DS_RUNNING,
    [VIR_DOMAIN_BLOCKED] = DS_RUNNING,   [VIR_DOMAIN_PAUSED] = DS_SUSPENDED,
    [VIR_DOMAIN_SHUTDOWN] = DS_RUNNING,  [VIR_DOMAIN_SHUTOFF] = DS_STOPPED,
    [VIR_DOMAIN_CRASHED] = DS_STOPPED,   [VIR_DOMAIN_PMSUSPENDED] = DS_SUSPENDED,
};

static enum dstate dstate_of(int st)
{
    if (st < 0 || (size_t)st >= sizeof vir_states / sizeof vir_states[0])
        return DS_STOPPED;
    return vir_states[st];
}

static int get_state(virDomainPtr dom, enum dstate *out, const char *what, struct sw_err *err)
{
    int st, reason;
    if (virDomainGetState(dom, &st, &reason, 0) < 0) {
        sw_virt_error(err, what);
        return -1;
    }
    *out = dstate_of(st);
    return 0;
}

void sw_virt_state_name(virDomainPtr dom, char out[24])
{
    const char *name = "";
    if (!dom) {
        name = SW_DOMAIN_ABSENT;
    } else {
        int st, reason;
        if (virDomainGetState(dom, &st, &reason, 0) == 0)
            name = dstate_names[dstate_of(st)];
        else if (no_domain())
            name = SW_DOMAIN_ABSENT;
        /* else: unknown (the hypervisor did not answer); left empty */
    }
    snprintf(out, 24, "%s", name);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Boots a stopped domain; an error is forgiven when the domain runs anyway
 * (a concurrent start). */
static int boot(virDomainPtr dom, struct sw_engine_outcome *out, const char *what,
                struct sw_err *err)
{
    if (virDomainCreate(dom) < 0) {
        sw_virt_error(err, what); /* before the next call resets libvirt's error */
        if (virDomainIsActive(dom) != 1)
            return -1;
        sw_err_clear(err);
        return 0;
    }
    out->booted = true;
    return 0;
}

/* ---- operations ---- */

/* The ledger re-check (kind.h: eng->admit); what names the action. */
static int admit(struct sw_engine *eng, const struct sw_msg_node_job *job, const char *what,
                 struct sw_err *err)
{
    if (!eng->admit || eng->admit(eng->admit_ctx, job, err) == 0)
        return 0;
    char m[sizeof err->msg];
    snprintf(m, sizeof m, "%s", err->msg);
    snprintf(err->msg, sizeof err->msg, "could not %s: %.200s", what, m);
    return -1;
}

/* Kinds whose template this process has had libvirt validate against its
 * schema (VIR_DOMAIN_DEFINE_VALIDATE). */
static atomic_bool validated[SW_KIND__COUNT];

/* Defines job's domain from the kind's template (replacing the persistent
 * config of an existing one). Returns owned, or NULL with err set.
 *
 * Schema validation costs libvirt about 8 ms of CPU per define (bench/engine:
 * 122 validated defines + boots per second against 5,875 without), most of
 * a create's cost on a node. What can make a rendered domain invalid is the
 * template, not the values: every value is typed, range-checked or escaped
 * (sw_domdef_xml), and the shipped templates are validated with
 * virt-xml-validate by the golden tests. So each kind's first define in a
 * process is validated, which catches an operator's edited template at once,
 * and later ones are only parsed (libvirt still refuses malformed XML). */
static virDomainPtr define_xml(struct sw_engine *eng, const struct sw_engine_driver *drv,
                               const struct sw_msg_node_job *job,
                               const struct sw_msg_disk *root, const char *what,
                               struct sw_err *err)
{
    /* the job's ISO and own kernel in the root's pool first (iso.h, kernel.h) */
    const char *pool = root ? root->pool : NULL;
    if (sw_iso_ensure(eng, job, pool, err) < 0 || sw_kernel_ensure(eng, job, pool, err) < 0)
        return NULL;
    char *xml = sw_domdef_xml_disk(eng, drv, job, root, err);
    if (!xml)
        return NULL;
    bool known = drv->kind >= 0 && drv->kind < SW_KIND__COUNT && atomic_load(&validated[drv->kind]);
    virDomainPtr dom =
        virDomainDefineXMLFlags(eng->conn, xml, known ? 0 : VIR_DOMAIN_DEFINE_VALIDATE);
    free(xml);
    if (!dom) {
        sw_virt_error(err, what);
    } else {
        if (!known && drv->kind >= 0 && drv->kind < SW_KIND__COUNT)
            atomic_store(&validated[drv->kind], true);
        sw_debug("domain.defined", "server=%s validated=%d", job->server_id, !known);
    }
    return dom;
}

/* The operation's outcome names the root volume it used (the result's
 * disks; the dispatcher lists the server's volumes only when an operation
 * named none). */
static void name_root(struct sw_engine_outcome *out, const struct sw_msg_disk *root)
{
    out->disks[0] = *root;
    out->ndisks = 1;
}

/* Deletes the volume d a failed definition made. */
static void undo_volume(struct sw_engine *eng, const struct sw_msg_node_job *job,
                        const struct sw_msg_disk *d)
{
    if (sw_storage_delete_disk(eng, d, NULL) < 0)
        sw_warn("storage.cleanup_failed", "server=%s volume=%s", job->server_id, d->volume);
}

/* The outcome names the seed after the root (the result's disks). */
static void name_seed(struct sw_engine_outcome *out, const struct sw_seedvol *seed)
{
    if (out->ndisks < SW_MSG_MAX_DISKS)
        out->disks[out->ndisks++] = seed->disk;
}

/* Defines job's domain over its root volume: the one the server has (a
 * restore after a reinstall finds that reinstall's), or a new one. A volume
 * made here is deleted again when the definition fails. */
static virDomainPtr define_with_root(struct sw_engine *eng, const struct sw_engine_driver *drv,
                                     const struct sw_msg_node_job *job,
                                     struct sw_engine_outcome *out, const char *what,
                                     struct sw_err *err)
{
    if (!drv->root_volume)
        return define_xml(eng, drv, job, NULL, what, err);
    struct sw_msg_disk root;
    bool made = false;
    /* A job's create comes before any reinstall of its server (a server's
     * jobs run one at a time), so it looks for its own root by name; a
     * restore (reconciliation's job has no id) takes whichever root the
     * server has, a reinstall's included, at the cost of a pool listing. */
    int found = sw_storage_root_find(eng, job->server_id,
                                     job->job_id[0] ? SW_STORAGE_TAG_CREATE : NULL, &root, err);
    if (found < 0 ||
        (found == 0 &&
         sw_storage_root_ensure(eng, job, SW_STORAGE_TAG_CREATE, &root, &made, err) < 0))
        return NULL;
    /* The NoCloud seed before the definition that names it: a create
     * writes it, a restore (no job id, no password) keeps the one there. */
    struct sw_seedvol seed;
    int has_seed = sw_seedvol_ensure(eng, drv, job, &root,
                                     job->job_id[0] ? SW_SEEDVOL_WRITE : SW_SEEDVOL_KEEP, NULL,
                                     &seed, err);
    virDomainPtr dom = has_seed < 0 ? NULL : define_xml(eng, drv, job, &root, what, err);
    if (!dom && has_seed > 0 && seed.made)
        undo_volume(eng, job, &seed.disk);
    if (!dom && made)
        undo_volume(eng, job, &root);
    if (dom)
        name_root(out, &root);
    if (dom && has_seed > 0)
        name_seed(out, &seed);
    return dom;
}

/* The domain of job, defined when absent. Returns owned, or NULL. */
static virDomainPtr lookup_or_define(struct sw_engine *eng, const struct sw_engine_driver *drv,
                                     const struct sw_msg_node_job *job,
                                     struct sw_engine_outcome *out, const char *what,
                                     struct sw_err *err)
{
    virDomainPtr dom = virDomainLookupByUUIDString(eng->conn, job->server_id);
    if (dom)
        return dom;
    if (!no_domain()) {
        sw_virt_error(err, what);
        return NULL;
    }
    /* Never take over a domain of another owner under the server's name. */
    char name[64];
    virDomainPtr other = virDomainLookupByName(eng->conn, sw_domdef_name(job->server_id, name));
    if (other) {
        virDomainFree(other);
        SW_ERR(err, SW_ECONFLICT, "could not %s: another domain holds its name", what);
        sw_err_detail(err, "domain %s exists with another uuid", name);
        return NULL;
    }
    if (admit(eng, job, what, err) < 0)
        return NULL;
    return define_with_root(eng, drv, job, out, what, err);
}

int sw_virt_define(struct sw_engine *eng, const struct sw_engine_driver *drv,
                   const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                   struct sw_err *err)
{
    virDomainPtr dom = lookup_or_define(eng, drv, job, out, "restore the server", err);
    if (!dom)
        return -1;
    virDomainFree(dom);
    return 0;
}

int sw_virt_create(struct sw_engine *eng, const struct sw_engine_driver *drv,
                   const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                   struct sw_err *err)
{
    static const char what[] = "create the server";
    virDomainPtr dom = lookup_or_define(eng, drv, job, out, what, err);
    if (!dom)
        return -1;
    enum dstate st;
    int rc = get_state(dom, &st, what, err);
    /* A replayed create finds its domain: it only makes sure it runs. A
     * paused domain was suspended on purpose and stays paused. */
    if (rc == 0 && st == DS_STOPPED)
        rc = boot(dom, out, what, err);
    virDomainFree(dom);
    return rc;
}

int sw_virt_start(struct sw_engine *eng, const struct sw_engine_driver *drv,
                  const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                  struct sw_err *err)
{
    static const char what[] = "start the server";
    (void)drv;
    virDomainPtr dom = sw_virt_lookup(eng, job->server_id, what, err);
    if (!dom)
        return -1;
    enum dstate st;
    int rc = get_state(dom, &st, what, err);
    if (rc == 0 && st == DS_SUSPENDED) {
        SW_ERR(err, SW_ECONFLICT, "could not %s: it is suspended", what);
        rc = -1;
    } else if (rc == 0 && st == DS_STOPPED) {
        rc = boot(dom, out, what, err);
    }
    virDomainFree(dom);
    return rc;
}

/* Destroys an active domain; an error is forgiven when it is off anyway. */
static int destroy(virDomainPtr dom, const char *what, struct sw_err *err)
{
    if (virDomainDestroy(dom) < 0) {
        sw_virt_error(err, what);
        if (virDomainIsActive(dom) != 0)
            return -1;
        sw_err_clear(err);
    }
    return 0;
}

int sw_virt_stop(struct sw_engine *eng, const struct sw_engine_driver *drv,
                 const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                 struct sw_err *err)
{
    static const char what[] = "stop the server";
    (void)drv;
    (void)out;
    virDomainPtr dom = sw_virt_lookup(eng, job->server_id, what, err);
    if (!dom)
        return -1;
    enum dstate st;
    int rc = get_state(dom, &st, what, err);
    if (rc < 0 || st == DS_STOPPED)
        goto done;
    if (st == DS_SUSPENDED) {
        /* A paused guest cannot answer an ACPI shutdown. */
        rc = destroy(dom, what, err);
        goto done;
    }
    if (virDomainShutdown(dom) < 0) {
        /* Some guests refuse the request (no ACPI); the timeout still holds. */
        struct sw_err why;
        sw_virt_error(&why, what);
        char q[600];
        sw_debug("domain.shutdown_refused", "server=%s detail=%s", job->server_id,
                 sw_log_quote(q, sizeof q, why.detail));
    }
    int timeout = eng->stop_timeout_ms > 0 ? eng->stop_timeout_ms : SW_ENGINE_STOP_TIMEOUT_MS;
    long long deadline = mono_ms() + timeout;
    long step = 20;
    while (virDomainIsActive(dom) == 1) {
        if (mono_ms() >= deadline) {
            sw_info("domain.stop_forced", "server=%s timeout_ms=%d", job->server_id, timeout);
            rc = destroy(dom, what, err);
            break;
        }
        sleep_ms(step);
        if (step < 500)
            step *= 2;
    }
done:
    virDomainFree(dom);
    return rc;
}

int sw_virt_reboot(struct sw_engine *eng, const struct sw_engine_driver *drv,
                   const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                   struct sw_err *err)
{
    static const char what[] = "reboot the server";
    (void)drv;
    virDomainPtr dom = sw_virt_lookup(eng, job->server_id, what, err);
    if (!dom)
        return -1;
    enum dstate st;
    int rc = get_state(dom, &st, what, err);
    if (rc < 0)
        goto done;
    if (st == DS_SUSPENDED) {
        SW_ERR(err, SW_ECONFLICT, "could not %s: it is suspended", what);
        rc = -1;
    } else if (st == DS_STOPPED) {
        rc = boot(dom, out, what, err); /* a reboot of a stopped server starts it */
    } else if (virDomainReboot(dom, 0) < 0) {
        sw_virt_error(err, what);
        rc = -1;
    }
done:
    virDomainFree(dom);
    return rc;
}

int sw_virt_suspend(struct sw_engine *eng, const struct sw_engine_driver *drv,
                    const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                    struct sw_err *err)
{
    static const char what[] = "suspend the server";
    (void)drv;
    (void)out;
    virDomainPtr dom = sw_virt_lookup(eng, job->server_id, what, err);
    if (!dom)
        return -1;
    enum dstate st;
    int rc = get_state(dom, &st, what, err);
    /* Paused already, or stopped (nothing runs to pause): done. */
    if (rc == 0 && st == DS_RUNNING && virDomainSuspend(dom) < 0) {
        sw_virt_error(err, what);
        if (get_state(dom, &st, what, NULL) < 0 || st != DS_SUSPENDED)
            rc = -1;
        else
            sw_err_clear(err); /* paused by someone else meanwhile */
    }
    virDomainFree(dom);
    return rc;
}

int sw_virt_unsuspend(struct sw_engine *eng, const struct sw_engine_driver *drv,
                      const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                      struct sw_err *err)
{
    static const char what[] = "unsuspend the server";
    (void)drv;
    virDomainPtr dom = sw_virt_lookup(eng, job->server_id, what, err);
    if (!dom)
        return -1;
    enum dstate st;
    int rc = get_state(dom, &st, what, err);
    /* Running already: done. Stopped: booted, as the control plane records
     * every unsuspended server running (a suspended server recovered from a
     * failed node is defined, stopped, on its new node). */
    if (rc == 0 && st == DS_STOPPED) {
        rc = boot(dom, out, what, err);
    } else if (rc == 0 && st == DS_SUSPENDED && virDomainResume(dom) < 0) {
        sw_virt_error(err, what);
        if (get_state(dom, &st, what, NULL) < 0 || st == DS_SUSPENDED)
            rc = -1;
        else
            sw_err_clear(err); /* resumed by someone else meanwhile */
    }
    virDomainFree(dom);
    return rc;
}

/* Undefine flags, most thorough first; drivers reject flags they do not know
 * (the test driver takes only the second set), so fall back. */
static const unsigned int undefine_flags[] = {
    VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
        VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | VIR_DOMAIN_UNDEFINE_NVRAM |
        VIR_DOMAIN_UNDEFINE_TPM,
    VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA,
    0,
};

int sw_virt_terminate(struct sw_engine *eng, const struct sw_engine_driver *drv,
                      const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                      struct sw_err *err)
{
    static const char what[] = "terminate the server";
    (void)drv;
    (void)out;
    virDomainPtr dom = virDomainLookupByUUIDString(eng->conn, job->server_id);
    if (!dom) {
        if (!no_domain()) {
            sw_virt_error(err, what);
            return -1;
        }
        /* gone already (a replayed terminate): its volumes may not be */
        return sw_storage_delete(eng, job->server_id, false, NULL, err);
    }
    int rc = 0;
    if (virDomainIsActive(dom) == 1 && destroy(dom, what, err) < 0) {
        rc = -1;
        goto done;
    }
    /* A transient domain vanished with its destroy. */
    if (virDomainIsPersistent(dom) != 1)
        goto done;
    for (size_t i = 0; i < sizeof undefine_flags / sizeof undefine_flags[0]; i++) {
        if (virDomainUndefineFlags(dom, undefine_flags[i]) == 0)
            goto done;
        virErrorPtr e = virGetLastError();
        if (e && e->code == VIR_ERR_NO_DOMAIN)
            goto done;
        if (!e || (e->code != VIR_ERR_INVALID_ARG && e->code != VIR_ERR_NO_SUPPORT))
            break;
    }
    sw_virt_error(err, what);
    rc = -1;
done:
    virDomainFree(dom);
    /* every volume of the server goes with it */
    if (rc == 0)
        rc = sw_storage_delete(eng, job->server_id, false, NULL, err);
    return rc;
}

/* ---- reinstall ---- */

/* Metadata of the last reinstall, in its own namespace so that the
 * template's <slipway:server> element is left alone: <install job='<job
 * id>' os='<os>'/>. A replayed reinstall finds its own job id there and
 * only makes sure the domain runs. */
#define INSTALL_NS "https://slipway.dev/xmlns/install/1"

/* Copies the job id of the domain's last reinstall (persistent config) into
 * out; "" when none. */
static void install_marker(virDomainPtr dom, sw_uuid_t out)
{
    out[0] = '\0';
    char *x = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, INSTALL_NS,
                                   VIR_DOMAIN_AFFECT_CONFIG);
    if (!x) {
        virResetLastError();
        return;
    }
    const char *p = strstr(x, "job=");
    if (p && (p[4] == '\'' || p[4] == '"')) {
        const char *v = p + 5, *q = strchr(v, p[4]);
        if (q && (size_t)(q - v) < sizeof(sw_uuid_t)) {
            memcpy(out, v, (size_t)(q - v));
            out[q - v] = '\0';
        }
    }
    free(x);
}

static int set_install_marker(virDomainPtr dom, const struct sw_msg_node_job *job,
                              const char *what, struct sw_err *err)
{
    char x[160];
    snprintf(x, sizeof x, "<install job='%s' os='%s'/>", job->job_id, job->os);
    if (virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, x, "slipway-install", INSTALL_NS,
                             VIR_DOMAIN_AFFECT_CONFIG) < 0) {
        sw_virt_error(err, what);
        return -1;
    }
    return 0;
}

/* Deletes the server's roots but this reinstall's (job's). */
static int drop_old_roots(struct sw_engine *eng, const struct sw_msg_node_job *job,
                          const char *what, struct sw_err *err)
{
    struct sw_msg_disk root;
    int found = sw_storage_root_find(eng, job->server_id, job->job_id, &root, err);
    if (found <= 0) {
        if (found == 0)
            SW_ERR(err, SW_EINTERNAL, "could not %s: its new disk is missing", what);
        return -1;
    }
    return sw_storage_delete(eng, job->server_id, true, root.volume, err);
}

/* The reinstall's definition over a new root volume (tag: the job id),
 * marked with the job. Returns owned, or NULL; a volume made here is
 * deleted again when the definition fails. */
static virDomainPtr redefine_fresh(struct sw_engine *eng, const struct sw_engine_driver *drv,
                                   const struct sw_msg_node_job *job,
                                   struct sw_engine_outcome *out, const char *what,
                                   struct sw_err *err)
{
    struct sw_msg_disk root;
    bool made = false;
    if (drv->root_volume && sw_storage_root_ensure(eng, job, job->job_id, &root, &made, err) < 0)
        return NULL;
    /* A new seed with a new instance id, so that cloud-init in the fresh
     * system runs again. */
    struct sw_seedvol seed;
    char instance[2 * sizeof(sw_uuid_t)];
    snprintf(instance, sizeof instance, "%s-%s", job->server_id, job->job_id);
    int has_seed = drv->root_volume ? sw_seedvol_ensure(eng, drv, job, &root, SW_SEEDVOL_WRITE,
                                                        instance, &seed, err)
                                    : 0;
    virDomainPtr fresh =
        has_seed < 0 ? NULL : define_xml(eng, drv, job, drv->root_volume ? &root : NULL, what, err);
    if (!fresh) {
        if (has_seed > 0 && seed.made)
            undo_volume(eng, job, &seed.disk);
        if (made)
            undo_volume(eng, job, &root);
        return NULL;
    }
    if (set_install_marker(fresh, job, what, err) < 0) {
        /* The new definition stands, unmarked: a retry finds its volume
         * and redoes the rest. */
        virDomainFree(fresh);
        return NULL;
    }
    if (drv->root_volume)
        name_root(out, &root);
    if (has_seed > 0)
        name_seed(out, &seed);
    return fresh;
}

int sw_virt_reinstall(struct sw_engine *eng, const struct sw_engine_driver *drv,
                      const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                      struct sw_err *err)
{
    static const char what[] = "reinstall the server";
    virDomainPtr dom = sw_virt_lookup(eng, job->server_id, what, err), fresh = NULL;
    if (!dom)
        return -1;
    enum dstate st;
    int rc = get_state(dom, &st, what, err);
    if (rc < 0)
        goto done;
    sw_uuid_t marker;
    install_marker(dom, marker);
    if (strcmp(marker, job->job_id) == 0) {
        /* A replay: this reinstall happened; it only has to run (and an
         * old root a crash left behind goes). */
        if (st == DS_STOPPED)
            rc = boot(dom, out, what, err);
        if (rc == 0 && drv->root_volume)
            rc = drop_old_roots(eng, job, what, err);
        goto done;
    }
    if (st == DS_SUSPENDED) {
        SW_ERR(err, SW_ECONFLICT, "could not %s: it is suspended", what);
        rc = -1;
        goto done;
    }
    if ((rc = admit(eng, job, what, err)) < 0)
        goto done;
    if (st != DS_STOPPED && (rc = destroy(dom, what, err)) < 0)
        goto done;
    /* A snapshot never outlives the system it was taken of. */
    if ((rc = sw_snapshot_drop_all(dom, job->server_id, what, err)) < 0)
        goto done;
    /* The same name and UUID: the new definition replaces the old, over a
     * new root volume named from this job; the old one goes only after. */
    rc = -1;
    if (!(fresh = redefine_fresh(eng, drv, job, out, what, err)))
        goto done;
    sw_info("domain.reinstalled", "server=%s os=%s", job->server_id, job->os);
    rc = boot(fresh, out, what, err);
    if (rc == 0 && drv->root_volume)
        rc = drop_old_roots(eng, job, what, err);
done:
    if (fresh)
        virDomainFree(fresh);
    virDomainFree(dom);
    return rc;
}

/* ---- resize ---- */

/* The sizes the domain's persistent config records (template metadata). */
static bool recorded_sizes(virDomainPtr dom, struct sw_msg_node_job *cur)
{
    char *x = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, SW_ENGINE_DOMAIN_NS,
                                   VIR_DOMAIN_AFFECT_CONFIG);
    if (!x) {
        virResetLastError();
        return false;
    }
    bool ok = sw_domxml_meta_i64(x, "vcpus", &cur->vcpus) == 0 &&
              sw_domxml_meta_i64(x, "ram_mb", &cur->ram_mb) == 0 &&
              sw_domxml_meta_i64(x, "max_ram_mb", &cur->max_ram_mb) == 0 &&
              sw_domxml_meta_i64(x, "swap_mb", &cur->swap_mb) == 0 &&
              sw_domxml_meta_i64(x, "disk_gb", &cur->disk_gb) == 0;
    free(x);
    return ok;
}

bool sw_virt_ceiling_fits(virDomainPtr dom, const struct sw_msg_node_job *job)
{
    unsigned long max_kib = virDomainGetMaxMemory(dom);
    return max_kib > 0 && (unsigned long long)job->max_ram_mb * 1024 <= max_kib;
}

/* vCPUs live: up to the domain's live maximum. */
static bool live_vcpus(virDomainPtr dom, const struct sw_msg_node_job *job)
{
    int max = virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_VCPU_MAXIMUM);
    if (max < 0)
        max = virDomainGetMaxVcpus(dom);
    if (max < 0 || job->vcpus > max)
        return false;
    return virDomainSetVcpusFlags(dom, (unsigned int)job->vcpus, VIR_DOMAIN_AFFECT_LIVE) == 0;
}

/* The root volume dom boots from: the one of its last install (marker:
 * its job id; "" the create), or any root of the server. *has is false
 * when it has none (a domain from before volumes). 0, or -1 with err. */
static int current_root(struct sw_engine *eng, const struct sw_msg_node_job *job,
                        const char *marker, struct sw_msg_disk *root, bool *has,
                        struct sw_err *err)
{
    int found = sw_storage_root_find(eng, job->server_id,
                                     marker[0] ? marker : SW_STORAGE_TAG_CREATE, root, err);
    if (found == 0)
        found = sw_storage_root_find(eng, job->server_id, NULL, root, err);
    *has = found > 0;
    return found < 0 ? -1 : 0;
}

/* What a redefinition kept: the root volume and the seed it names. */
struct kept {
    struct sw_msg_disk root;
    bool has_root;
    struct sw_seedvol seed;
    int has_seed; /* 1, 0 (none), as sw_seedvol_ensure */
};

/* dom's persistent config redefined from the kind's template with job,
 * over the root volume it boots from and its seed (into k), the marker of
 * its last reinstall carried over. Returns owned, or NULL with err set. */

static virDomainPtr redefine_keep(struct sw_engine *eng, const struct sw_engine_driver *drv,
                                  const struct sw_msg_node_job *job, virDomainPtr dom,
                                  struct kept *k, const char *what, struct sw_err *err)
{
    sw_uuid_t marker;
    install_marker(dom, marker);
    memset(k, 0, sizeof *k);
    if (drv->root_volume && current_root(eng, job, marker, &k->root, &k->has_root, err) < 0)
        return NULL;
    /* The seed the new definition names: kept (a resize or an ISO change
     * carries no password), made for a server from before seeds. */
    if (k->has_root && (k->has_seed = sw_seedvol_ensure(eng, drv, job, &k->root, SW_SEEDVOL_KEEP,
                                                        NULL, &k->seed, err)) < 0)
        return NULL;
    virDomainPtr fresh = define_xml(eng, drv, job, k->has_root ? &k->root : NULL, what, err);
    if (fresh && marker[0]) {
        struct sw_msg_node_job m = *job;
        snprintf(m.job_id, sizeof m.job_id, "%s", marker);
        if (set_install_marker(fresh, &m, what, err) < 0) {
            virDomainFree(fresh);
            return NULL;
        }
    }
    return fresh;
}

virDomainPtr sw_virt_redefine(struct sw_engine *eng, const struct sw_engine_driver *drv,
                              const struct sw_msg_node_job *job, virDomainPtr dom,
                              const char *what, struct sw_err *err)
{
    struct kept k;
    return redefine_keep(eng, drv, job, dom, &k, what, err);
}

int sw_virt_resize(struct sw_engine *eng, const struct sw_engine_driver *drv,
                   const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                   struct sw_err *err)
{
    static const char what[] = "resize the server";
    virDomainPtr dom = sw_virt_lookup(eng, job->server_id, what, err), fresh = NULL;
    if (!dom)
        return -1;
    int rc = -1;
    enum dstate st;
    if (get_state(dom, &st, what, err) < 0)
        goto done;
    struct sw_msg_node_job cur;
    bool grows = !recorded_sizes(dom, &cur) || job->vcpus > cur.vcpus ||
                 job->ram_mb > cur.ram_mb || job->max_ram_mb > cur.max_ram_mb ||
                 job->swap_mb > cur.swap_mb || job->disk_gb > cur.disk_gb;
    if (grows && admit(eng, job, what, err) < 0)
        goto done;
    /* The persistent config first: whatever cannot change live applies at
     * the next boot. */
    struct kept k;
    if (!(fresh = redefine_keep(eng, drv, job, dom, &k, what, err)))
        goto done;
    char disk_note[80] = "";
    if (k.has_root && sw_storage_root_grow(eng, st != DS_STOPPED ? fresh : NULL, &k.root, job,
                                           disk_note, sizeof disk_note, err) < 0)
        goto done;
    if (k.has_root)
        name_root(out, &k.root);
    if (k.has_seed > 0)
        name_seed(out, &k.seed);
    rc = 0;
    bool mem = false, cpu = false;
    char limits[96] = ""; /* the plan's limits (engines/limits.c) */
    if (st != DS_STOPPED) {
        mem = drv->live_memory && drv->live_memory(fresh, job) == 1;
        cpu = live_vcpus(fresh, job);
        virResetLastError();
        sw_limits_apply_live(fresh, job, limits, sizeof limits);
    }
    /* Long plan limits beside a long disk note can pass the note's 160
     * bytes: the end is cut, and the log line below says so. */
    bool cut = snprintf(out->note, sizeof out->note, "%s%s%s%s%s",
                        mem && cpu ? "memory and vcpus applied live"
                        : mem      ? "memory applied live; vcpus apply at next boot"
                        : cpu      ? "vcpus applied live; memory applies at next boot"
                                   : "memory and vcpus apply at next boot",
                        limits[0] ? "; " : "", limits, disk_note[0] ? "; " : "",
                        disk_note) >= (int)sizeof out->note;
    sw_info("domain.resized",
            "server=%s vcpus=%lld ram_mb=%lld max_ram_mb=%lld note=\"%s\" note_cut=%d",
            job->server_id, (long long)job->vcpus, (long long)job->ram_mb,
            (long long)job->max_ram_mb, out->note, cut);
done:
    if (fresh)
        virDomainFree(fresh);
    virDomainFree(dom);
    return rc;
}

/* ---- reset_password ---- */

bool sw_virt_crypt_hash_valid(const char *h)
{
    if (h[0] != '$' || strlen(h) < 4)
        return false;
    for (; *h; h++)
        if (*h <= ' ' || *h > '~' || *h == ':')
            return false;
    return true;
}

/* The reset's NoCloud seed: the new hash in a new seed (instance id: the
 * server and this job, so cloud-init applies it), which a guest reads at
 * its next boot, with or without an agent. 1 written, 0 none written (no
 * seed for this kind or hypervisor, no root volume, or a node that cannot
 * upload), -1 with err set. */
static int reset_seed(struct sw_engine *eng, const struct sw_engine_driver *drv,
                      const struct sw_msg_node_job *job, struct sw_err *err)
{
    struct sw_msg_disk root;
    int found = drv->root_volume ? sw_storage_root_find(eng, job->server_id, NULL, &root, err) : 0;
    if (found <= 0)
        return found;
    char instance[2 * sizeof(sw_uuid_t)];
    snprintf(instance, sizeof instance, "%s-%s", job->server_id, job->job_id);
    struct sw_seedvol seed;
    int rc = sw_seedvol_ensure(eng, drv, job, &root, SW_SEEDVOL_WRITE, instance, &seed, err);
    return rc < 0 ? -1 : rc > 0 && seed.written;
}

/* Through the guest agent: root's hash set in the running guest. */
static int agent_password(virDomainPtr dom, const struct sw_msg_node_job *job, const char *what,
                          struct sw_err *err)
{
    if (virDomainSetUserPassword(dom, "root", job->password_hash,
                                 VIR_DOMAIN_PASSWORD_ENCRYPTED) == 0)
        return 0;
    sw_virt_error(err, what);
    /* libvirt's text never reaches the log with the hash in it */
    char *p = strstr(err->detail, job->password_hash);
    if (p)
        snprintf(p, sizeof err->detail - (size_t)(p - err->detail), "(hash)");
    return -1;
}

int sw_virt_reset_password(struct sw_engine *eng, const struct sw_engine_driver *drv,
                           const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                           struct sw_err *err)
{
    static const char what[] = "reset the password";
    if (!sw_virt_crypt_hash_valid(job->password_hash)) {
        SW_ERR(err, SW_EINVALID, "could not %s: the password hash is not a crypt(3) hash", what);
        return -1;
    }
    virDomainPtr dom = sw_virt_lookup(eng, job->server_id, what, err);
    if (!dom)
        return -1;
    int rc = -1, seeded = reset_seed(eng, drv, job, err);
    /* Only a hypervisor that reaches a guest agent, and only a running
     * domain with the agent's channel, can take a password now. */
    char *xml = seeded >= 0 && eng->hv->guest_agent ? virDomainGetXMLDesc(dom, 0) : NULL;
    bool agent = xml && strstr(xml, "org.qemu.guest_agent.0");
    free(xml);
    enum dstate st = DS_STOPPED;
    if (seeded < 0 || (agent && get_state(dom, &st, what, err) < 0)) {
        /* err set */
    } else if (agent && st == DS_RUNNING) {
        rc = agent_password(dom, job, what, err);
        if (rc == 0 && seeded)
            snprintf(out->note, sizeof out->note,
                     "password set through the guest agent; the NoCloud seed holds it too");
    } else if (seeded) {
        rc = 0;
        snprintf(out->note, sizeof out->note,
                 "the new password applies at the next boot, from the NoCloud seed (%s)",
                 agent ? "the server is not running" : "no guest agent");
    } else if (!agent) {
        SW_ERR(err, SW_EUNSUPPORTED,
               "password reset needs the guest agent, which this server does not run");
    } else {
        SW_ERR(err, SW_ECONFLICT, "could not %s: the server is not running", what);
    }
    virDomainFree(dom);
    return rc;
}

const struct sw_engine_lifecycle sw_virt_lifecycle = {
    .create = sw_virt_create,
    .start = sw_virt_start,
    .stop = sw_virt_stop,
    .reboot = sw_virt_reboot,
    .suspend = sw_virt_suspend,
    .unsuspend = sw_virt_unsuspend,
    .terminate = sw_virt_terminate,
    .reinstall = sw_virt_reinstall,
    .resize = sw_virt_resize,
    .reset_password = sw_virt_reset_password,
    .define = sw_virt_define,
};
