/* migrate.c - a server's domain moved to another node: the plan (pure) and
 * its run through libvirt's peer-to-peer migration (see migrate.h). */
#include "config.h"
#include "engines/migrate.h"
#include "engines/storage.h"
#include "engines/virt.h"
#include "engines/volcopy.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"

#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the plan (pure) ---- */

/* What each hypervisor cannot do; NULL: it can. */
static const struct mig_limits {
    const char *scheme;
    const char *live;     /* why a running server cannot move live */
    const char *offline;  /* why a stopped one cannot move */
    const char *copy;     /* why a running one's disks cannot be copied live */
} mig_limits[] = {
    {"test", "libvirt's test driver cannot migrate domains",
     "libvirt's test driver cannot migrate domains", "libvirt's test driver cannot migrate domains"},
    {"lxc", "libvirt's LXC driver cannot move a running container (its processes would restart)",
     "libvirt's LXC driver has no offline migration", "libvirt's LXC driver cannot copy disks"},
    {"xen", NULL, NULL,
     "xen nodes cannot copy a running server's disks; stop it first to move it cold (its "
     "volumes copied), or keep its volumes in a shared pool"},
};

static const struct mig_limits *limits_of(const char *scheme)
{
    static const struct mig_limits none = {NULL, NULL, NULL, NULL};
    for (size_t i = 0; scheme && i < sizeof mig_limits / sizeof mig_limits[0]; i++)
        if (strcmp(mig_limits[i].scheme, scheme) == 0)
            return &mig_limits[i];
    return &none;
}

const char *sw_migrate_live_refusal(const char *scheme)
{
    return limits_of(scheme)->live;
}

void sw_migrate_plan_release(struct sw_migrate_plan *plan)
{
    if (plan->params)
        virTypedParamsFree(plan->params, plan->nparams);
    plan->params = NULL;
    plan->nparams = plan->maxparams = 0;
}

/* Which move, or -1 with err set. */
static int plan_how(const struct sw_migrate_req *req, const char *scheme, bool running,
                    struct sw_err *err)
{
    const struct mig_limits *lim = limits_of(scheme);
    const char *why = NULL;
    if (running && !req->live) {
        SW_ERR(err, SW_ECONFLICT, "could not migrate the server: it runs; stop it for a cold move");
        return -1;
    }
    if (running)
        why = lim->live ? lim->live : !req->shared_storage ? lim->copy : NULL;
    else
        why = lim->offline;
    if (why) {
        SW_ERR(err, SW_EUNSUPPORTED, "could not migrate the server: %s", why);
        return -1;
    }
    return running ? SW_MIGRATE_LIVE : SW_MIGRATE_OFFLINE;
}

static int add_string(struct sw_migrate_plan *p, const char *name, const char *value)
{
    return value ? virTypedParamsAddString(&p->params, &p->nparams, &p->maxparams, name, value)
                 : 0;
}

int sw_migrate_plan(const struct sw_migrate_req *req, const char *scheme, bool running,
                    struct sw_migrate_plan *plan, struct sw_err *err)
{
    memset(plan, 0, sizeof *plan);
    if (!req->server_id || !req->target_uri || !*req->target_uri) {
        SW_ERR(err, SW_EINVALID, "could not migrate the server: no target node");
        return -1;
    }
    int how = plan_how(req, scheme, running, err);
    if (how < 0)
        return -1;
    plan->how = (enum sw_migrate_how)how;
    plan->copy = !req->shared_storage;
    plan->flags = VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE;
    if (req->unsafe)
        plan->flags |= VIR_MIGRATE_UNSAFE;
    int rc = add_string(plan, VIR_MIGRATE_PARAM_DEST_XML, req->dest_xml);
    if (rc == 0 && plan->how == SW_MIGRATE_LIVE)
        rc = add_string(plan, VIR_MIGRATE_PARAM_PERSIST_XML, req->persist_xml);
    if (plan->how == SW_MIGRATE_OFFLINE) {
        plan->flags |= VIR_MIGRATE_OFFLINE;
    } else {
        plan->flags |= VIR_MIGRATE_LIVE;
        if (req->auto_converge)
            plan->flags |= VIR_MIGRATE_AUTO_CONVERGE;
        if (!req->shared_storage)
            plan->flags |= VIR_MIGRATE_NON_SHARED_DISK;
        plan->downtime_ms = req->downtime_ms;
        if (rc == 0)
            rc = add_string(plan, VIR_MIGRATE_PARAM_URI, req->migrate_uri);
        if (rc == 0 && req->bandwidth_mib)
            rc = virTypedParamsAddULLong(&plan->params, &plan->nparams, &plan->maxparams,
                                         VIR_MIGRATE_PARAM_BANDWIDTH, req->bandwidth_mib);
    }
    if (rc < 0) {
        sw_virt_error(err, "migrate the server");
        sw_migrate_plan_release(plan);
        return -1;
    }
    return 0;
}

/* ---- the cancel switch ---- */

struct sw_migrate_ctl {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool cancel; /* asked for */
    bool done;   /* the migration call returned */
};

struct sw_migrate_ctl *sw_migrate_ctl_new(void)
{
    struct sw_migrate_ctl *c = sw_calloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    return c;
}

void sw_migrate_cancel(struct sw_migrate_ctl *ctl)
{
    pthread_mutex_lock(&ctl->mu);
    ctl->cancel = true;
    pthread_cond_broadcast(&ctl->cv);
    pthread_mutex_unlock(&ctl->mu);
}

void sw_migrate_ctl_free(struct sw_migrate_ctl *ctl)
{
    if (!ctl)
        return;
    pthread_cond_destroy(&ctl->cv);
    pthread_mutex_destroy(&ctl->mu);
    free(ctl);
}

/* ---- errors ---- */

/* The migration's own failures; the rest as every libvirt error (virt.c). */
static const struct mig_errmap {
    int vir;     /* virErrorNumber */
    int from;    /* virErrorDomain, or -1: any */
    enum sw_errc code;
    bool retryable;
    const char *why;
} mig_errmap[] = {
    {VIR_ERR_OPERATION_ABORTED, -1, SW_ECONFLICT, false,
     "the migration was cancelled; the server keeps running on its node"},
    {VIR_ERR_MIGRATE_UNSAFE, -1, SW_ECONFLICT, false,
     "the target does not share the server's storage"},
    {VIR_ERR_NO_CONNECT, -1, SW_EUNAVAILABLE, true, "the target node is unreachable"},
    {VIR_ERR_SYSTEM_ERROR, VIR_FROM_RPC, SW_EUNAVAILABLE, true, "the target node is unreachable"},
    {VIR_ERR_AUTH_FAILED, -1, SW_EUNAVAILABLE, true, "the target node refused the connection"},
};

/* Maps this thread's last libvirt error of a migration into err. */
static void mig_error(struct sw_err *err)
{
    virErrorPtr e = virGetLastError();
    for (size_t i = 0; e && i < sizeof mig_errmap / sizeof mig_errmap[0]; i++) {
        const struct mig_errmap *m = &mig_errmap[i];
        if (m->vir == e->code && (m->from < 0 || m->from == e->domain)) {
            sw_err_set_at(err, __FILE__, __func__, __LINE__, m->code, m->retryable,
                          "could not migrate the server: %s", m->why);
            sw_err_detail(err, "libvirt error %d (domain %d): %s", e->code, e->domain,
                          e->message ? e->message : "");
            return;
        }
    }
    sw_virt_error(err, "migrate the server");
}

/* ---- the run ---- */

/* The migration call, in its own thread so the caller's can report and cancel. */
struct mig_call {
    virDomainPtr dom;
    const char *target_uri;
    const struct sw_migrate_plan *plan;
    struct sw_migrate_ctl *ctl;
    int rc;
    struct sw_err err;
};

static void *mig_call_main(void *arg)
{
    struct mig_call *c = arg;
    sw_err_clear(&c->err);
    c->rc = virDomainMigrateToURI3(c->dom, c->target_uri, c->plan->params,
                                   (unsigned int)c->plan->nparams, c->plan->flags);
    if (c->rc < 0)
        mig_error(&c->err);
    pthread_mutex_lock(&c->ctl->mu);
    c->ctl->done = true;
    pthread_cond_broadcast(&c->ctl->cv);
    pthread_mutex_unlock(&c->ctl->mu);
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long long stat_ull(virTypedParameterPtr p, int n, const char *name, bool *found)
{
    unsigned long long v = 0;
    int rc = virTypedParamsGetULLong(p, n, name, &v);
    if (found)
        *found = rc == 1;
    return rc == 1 ? v : 0;
}

/* One look at the running job: progress reported; the downtime limit set
 * the first time the job is seen. Returns true once the job has been seen. */
static bool mig_poll(virDomainPtr dom, const struct sw_migrate_req *req,
                     const struct sw_migrate_plan *plan, bool seen, struct sw_migrate_result *res)
{
    int type = VIR_DOMAIN_JOB_NONE, n = 0;
    virTypedParameterPtr p = NULL;
    if (virDomainGetJobStats(dom, &type, &p, &n, 0) < 0 || type == VIR_DOMAIN_JOB_NONE) {
        virResetLastError();
        if (p)
            virTypedParamsFree(p, n);
        return seen;
    }
    if (!seen && plan->downtime_ms && virDomainMigrateSetMaxDowntime(dom, plan->downtime_ms, 0) < 0) {
        virErrorPtr e = virGetLastError();
        SW_LOG(SW_LOG_WARN, "migrate.downtime", "server=%s why=\"%s\"", req->server_id,
               e && e->message ? e->message : "unknown");
        virResetLastError();
    }
    if (req->progress) {
        req->progress(req->ctx, stat_ull(p, n, VIR_DOMAIN_JOB_DATA_PROCESSED, NULL),
                      stat_ull(p, n, VIR_DOMAIN_JOB_DATA_TOTAL, NULL),
                      stat_ull(p, n, VIR_DOMAIN_JOB_DATA_REMAINING, NULL));
        res->reports++;
    }
    virTypedParamsFree(p, n);
    return true;
}

/* Waits for the call, polling every ~500 ms (100 ms until the job shows)
 * and aborting the job once a cancel is asked. */
static void mig_watch(struct mig_call *c, const struct sw_migrate_req *req,
                      struct sw_migrate_result *res)
{
    struct sw_migrate_ctl *ctl = c->ctl;
    bool seen = false, aborted = false;
    pthread_mutex_lock(&ctl->mu);
    while (!ctl->done) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        long step_ns = seen ? 500000000L : 100000000L;
        until.tv_nsec += step_ns;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        if (!ctl->cancel || aborted)
            pthread_cond_timedwait(&ctl->cv, &ctl->mu, &until);
        if (ctl->done)
            break;
        bool cancel = ctl->cancel && !aborted;
        pthread_mutex_unlock(&ctl->mu);
        if (cancel) {
            /* Fails until the hypervisor's job has begun: tried again next tick. */
            aborted = virDomainAbortJob(c->dom) == 0;
            if (!aborted) {
                virResetLastError();
                struct timespec pause = {0, 50000000L};
                nanosleep(&pause, NULL);
            }
        } else {
            seen = mig_poll(c->dom, req, c->plan, seen, res);
        }
        pthread_mutex_lock(&ctl->mu);
    }
    pthread_mutex_unlock(&ctl->mu);
}

/* The completed job's figures, read on the target (the source's domain is
 * gone with VIR_MIGRATE_UNDEFINE_SOURCE). Best effort: -1 where unknown. */
static void mig_figures(const struct sw_migrate_req *req, struct sw_migrate_result *res)
{
    res->downtime_ms = res->total_ms = res->data_bytes = -1;
    virConnectPtr t = virConnectOpen(req->target_uri);
    virDomainPtr d = t ? virDomainLookupByUUIDString(t, req->server_id) : NULL;
    int type = 0, n = 0;
    virTypedParameterPtr p = NULL;
    if (d && virDomainGetJobStats(d, &type, &p, &n, VIR_DOMAIN_JOB_STATS_COMPLETED) == 0) {
        bool f;
        unsigned long long v = stat_ull(p, n, VIR_DOMAIN_JOB_DOWNTIME, &f);
        res->downtime_ms = f ? (long long)v : -1;
        v = stat_ull(p, n, VIR_DOMAIN_JOB_TIME_ELAPSED, &f);
        res->total_ms = f ? (long long)v : -1;
        v = stat_ull(p, n, VIR_DOMAIN_JOB_DATA_PROCESSED, &f);
        res->data_bytes = f ? (long long)v : -1;
        virTypedParamsFree(p, n);
    }
    virResetLastError();
    if (d)
        virDomainFree(d);
    if (t)
        virConnectClose(t);
}

/* Starts the call's thread and watches it; 0 or -1 with err set. */
static int mig_execute(virDomainPtr dom, const struct sw_migrate_req *req,
                       const struct sw_migrate_plan *plan, struct sw_migrate_ctl *ctl,
                       struct sw_migrate_result *res, struct sw_err *err)
{
    struct mig_call call = {.dom = dom, .target_uri = req->target_uri, .plan = plan, .ctl = ctl};
    pthread_t th;
    pthread_mutex_lock(&ctl->mu);
    bool cancelled = ctl->cancel;
    ctl->done = false;
    pthread_mutex_unlock(&ctl->mu);
    if (cancelled) {
        SW_ERR(err, SW_ECONFLICT, "could not migrate the server: %s", mig_errmap[0].why);
        return -1;
    }
    if (pthread_create(&th, NULL, mig_call_main, &call) != 0) {
        SW_ERR(err, SW_EINTERNAL, "could not migrate the server: no thread for it");
        return -1;
    }
    mig_watch(&call, req, res);
    pthread_join(th, NULL);
    if (call.rc < 0)
        *err = call.err;
    return call.rc < 0 ? -1 : 0;
}

/* ---- volumes not shared: copied around the migration call ---- */

struct copy_watch {
    const struct sw_migrate_req *req;
    struct sw_migrate_ctl *ctl;
    struct sw_migrate_result *res;
    /* the copy is the move's data (offline); before a live move (the seed)
     * it is not told: the hypervisor's figures that follow start at 0,
     * and progress never goes backwards */
    bool report;
};

/* The copy's progress as the migration's; stops it once a cancel is asked. */
static bool copy_tick(void *ctx, uint64_t done, uint64_t total)
{
    struct copy_watch *w = ctx;
    if (w->report && w->req->progress) {
        w->req->progress(w->req->ctx, done, total, total > done ? total - done : 0);
        w->res->reports++;
    }
    pthread_mutex_lock(&w->ctl->mu);
    bool cancel = w->ctl->cancel;
    pthread_mutex_unlock(&w->ctl->mu);
    return cancel;
}

/* The migration call with the plan's volume copy before it: the copies
 * removed from the target when it fails, the source's volumes after it
 * succeeded (a failure to delete them is logged: the move is done). */
static int mig_copy_execute(struct sw_engine *eng, virDomainPtr dom,
                            const struct sw_migrate_req *req, const struct sw_migrate_plan *plan,
                            struct sw_migrate_ctl *ctl, struct sw_migrate_result *res,
                            struct sw_err *err)
{
    virConnectPtr t = virConnectOpen(req->target_uri);
    if (!t) {
        mig_error(err);
        return -1;
    }
    struct copy_watch w = {req, ctl, res, plan->how == SW_MIGRATE_OFFLINE};
    struct sw_volcopy c = {.eng = eng, .target = t, .server_id = req->server_id,
                           .role = plan->how == SW_MIGRATE_LIVE ? "seed" : NULL,
                           .bandwidth_mib = req->bandwidth_mib,
                           .tick = copy_tick, .ctx = &w};
    int rc = sw_volcopy_run(&c, err);
    res->copy_seconds = c.seconds;
    res->copy_bytes = (long long)c.total;
    res->copy_data = (long long)c.data;
    if (rc == 0 && (rc = mig_execute(dom, req, plan, ctl, res, err)) < 0)
        sw_volcopy_undo(&c);
    virConnectClose(t);
    if (rc < 0)
        return -1;
    memcpy(res->disks, c.disks, sizeof c.disks);
    res->ndisks = c.ndisks;
    struct sw_err derr;
    if (sw_storage_delete(eng, req->server_id, false, NULL, &derr) < 0)
        SW_LOG(SW_LOG_WARN, "migrate.source_volumes", "server=%s why=\"%s\"", req->server_id,
               derr.msg);
    return 0;
}

int sw_migrate_run(struct sw_engine *eng, const struct sw_migrate_req *req,
                   struct sw_migrate_ctl *ctl, struct sw_migrate_result *res, struct sw_err *err)
{
    double t0 = now_s();
    memset(res, 0, sizeof *res);
    virDomainPtr dom = sw_virt_lookup(eng, req->server_id ? req->server_id : "",
                                      "migrate the server", err);
    if (!dom)
        return -1;
    int active = virDomainIsActive(dom);
    struct sw_migrate_plan plan;
    int rc = -1;
    if (active < 0)
        sw_virt_error(err, "migrate the server");
    else if (sw_migrate_plan(req, eng->hv ? eng->hv->scheme : NULL, active == 1, &plan, err) == 0) {
        struct sw_migrate_ctl *own = ctl ? NULL : sw_migrate_ctl_new();
        res->how = plan.how;
        rc = plan.copy ? mig_copy_execute(eng, dom, req, &plan, ctl ? ctl : own, res, err)
                       : mig_execute(dom, req, &plan, ctl ? ctl : own, res, err);
        sw_migrate_ctl_free(own);
        sw_migrate_plan_release(&plan);
    }
    virDomainFree(dom);
    res->seconds = now_s() - t0;
    if (rc == 0) {
        mig_figures(req, res);
        SW_LOG(SW_LOG_INFO, "migrate.done",
               "server=%s how=%s downtime_ms=%lld total_ms=%lld bytes=%lld seconds=%.3f"
               " copied_bytes=%lld copied_data=%lld copy_seconds=%.3f",
               req->server_id, res->how == SW_MIGRATE_LIVE ? "live" : "offline",
               res->downtime_ms, res->total_ms, res->data_bytes, res->seconds, res->copy_bytes,
               res->copy_data, res->copy_seconds);
    }
    return rc;
}
