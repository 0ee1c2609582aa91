#include "config.h"
#include "engines/virt.h"
#include "core/err.h"
#include "core/log.h"

#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    if (!caps)
        return hv->fallback_type;
    free(caps);
    return hv->domain_type;
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

int sw_virt_create(struct sw_engine *eng, const struct sw_msg_node_job *job,
                   struct sw_engine_outcome *out, struct sw_err *err)
{
    static const char what[] = "create the server";
    virDomainPtr dom = virDomainLookupByUUIDString(eng->conn, job->server_id);
    if (!dom) {
        if (!no_domain()) {
            sw_virt_error(err, what);
            return -1;
        }
        /* Never take over a domain of another owner under the server's name. */
        char name[64];
        virDomainPtr other =
            virDomainLookupByName(eng->conn, sw_engine_domain_name(job->server_id, name));
        if (other) {
            virDomainFree(other);
            SW_ERR(err, SW_ECONFLICT, "could not %s: another domain holds its name", what);
            sw_err_detail(err, "domain %s exists with another uuid", name);
            return -1;
        }
        char *xml = sw_engine_domain_xml(eng, job, err);
        if (!xml)
            return -1;
        dom = virDomainDefineXMLFlags(eng->conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
        free(xml);
        if (!dom) {
            sw_virt_error(err, what);
            return -1;
        }
        sw_debug("domain.defined", "server=%s", job->server_id);
    }
    enum dstate st;
    int rc = get_state(dom, &st, what, err);
    /* A replayed create finds its domain: it only makes sure it runs. A
     * paused domain was suspended on purpose and stays paused. */
    if (rc == 0 && st == DS_STOPPED)
        rc = boot(dom, out, what, err);
    virDomainFree(dom);
    return rc;
}

int sw_virt_start(struct sw_engine *eng, const struct sw_msg_node_job *job,
                  struct sw_engine_outcome *out, struct sw_err *err)
{
    static const char what[] = "start the server";
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

int sw_virt_stop(struct sw_engine *eng, const struct sw_msg_node_job *job,
                 struct sw_engine_outcome *out, struct sw_err *err)
{
    static const char what[] = "stop the server";
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

int sw_virt_reboot(struct sw_engine *eng, const struct sw_msg_node_job *job,
                   struct sw_engine_outcome *out, struct sw_err *err)
{
    static const char what[] = "reboot the server";
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

int sw_virt_suspend(struct sw_engine *eng, const struct sw_msg_node_job *job,
                    struct sw_engine_outcome *out, struct sw_err *err)
{
    static const char what[] = "suspend the server";
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

int sw_virt_unsuspend(struct sw_engine *eng, const struct sw_msg_node_job *job,
                      struct sw_engine_outcome *out, struct sw_err *err)
{
    static const char what[] = "unsuspend the server";
    (void)out;
    virDomainPtr dom = sw_virt_lookup(eng, job->server_id, what, err);
    if (!dom)
        return -1;
    enum dstate st;
    int rc = get_state(dom, &st, what, err);
    /* Running already, or stopped (it stays stopped): done. */
    if (rc == 0 && st == DS_SUSPENDED && virDomainResume(dom) < 0) {
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

int sw_virt_terminate(struct sw_engine *eng, const struct sw_msg_node_job *job,
                      struct sw_engine_outcome *out, struct sw_err *err)
{
    static const char what[] = "terminate the server";
    (void)out;
    virDomainPtr dom = virDomainLookupByUUIDString(eng->conn, job->server_id);
    if (!dom) {
        if (no_domain())
            return 0; /* gone already: a replayed terminate */
        sw_virt_error(err, what);
        return -1;
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
    return rc;
}
