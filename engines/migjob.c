/* migjob.c - the migrate job on a node (migjob.h). */
#include "config.h"
#include "engines/migjob.h"
#include "engines/migrate.h"
#include "engines/progress.h"
#include "engines/storage.h"
#include "engines/virt.h"
#include "core/alloc.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"

#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How often a running migration asks whether it was cancelled. */
#define CANCEL_POLL_MS 1000

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void answer(struct sw_engine_outcome *out, bool moved, bool ran, long long down,
                   long long total)
{
    out->migrate = (struct sw_msg_migrate_result){
        .has = true, .moved = moved, .was_running = ran, .downtime_ms = down, .total_ms = total};
}

/* ---- a cold move's halves (test driver) ---- */

/* Stops and undefines the domain. Its volumes go too: a test-driver
 * node's volumes live in its engine's process, so they are no shared
 * storage, and the target makes its own stand-ins (target_half); kept,
 * they would be a second copy of the server's root on the node it left
 * (the soak found them as orphans once the server was terminated on its
 * new node). A replay deletes what a first run left. */
static int source_half(struct sw_engine *eng, const struct sw_msg_node_job *job,
                       struct sw_engine_outcome *out, struct sw_err *err)
{
    static const char what[] = "move the server off its node";
    virDomainPtr dom = virDomainLookupByUUIDString(eng->conn, job->server_id);
    if (!dom) {
        virErrorPtr e = virGetLastError();
        if (!e || e->code != VIR_ERR_NO_DOMAIN) {
            sw_virt_error(err, what);
            return -1;
        }
        /* a replay: gone already */
        if (sw_storage_delete(eng, job->server_id, false, NULL, err) < 0)
            return -1;
        answer(out, false, job->migrate.was_running, -1, -1);
        return 0;
    }
    bool ran = virDomainIsActive(dom) == 1;
    int rc = 0;
    if (ran && virDomainDestroy(dom) < 0 && virDomainIsActive(dom) != 0)
        rc = -1;
    if (rc == 0 && virDomainIsPersistent(dom) == 1 && virDomainUndefine(dom) < 0)
        rc = -1;
    if (rc < 0)
        sw_virt_error(err, what);
    virDomainFree(dom);
    if (rc == 0 && sw_storage_delete(eng, job->server_id, false, NULL, err) < 0)
        rc = -1;
    if (rc == 0) {
        answer(out, false, ran, -1, -1);
        snprintf(out->note, sizeof out->note, "cold move: stopped on the source node");
    }
    return rc;
}

/* Defines the domain on the target over the server's volumes and starts
 * it if it ran. The job's id is left out of the definition so that it
 * takes the root the server has (as a restore does) and keeps its seed. */
static int target_half(struct sw_engine *eng, const struct sw_engine_driver *drv,
                       const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                       struct sw_err *err)
{
    if (!drv->lifecycle || !drv->lifecycle->define || !drv->lifecycle->start) {
        SW_ERR(err, SW_EUNSUPPORTED, "%s servers cannot be moved here", drv->name);
        return -1;
    }
    struct sw_msg_node_job *def = sw_malloc(sizeof *def);
    *def = *job;
    def->job_id[0] = '\0';
    def->epoch = job->migrate.epoch; /* the definition's <slipway:epoch> */
    int rc = drv->lifecycle->define(eng, drv, def, out, err);
    if (rc == 0 && job->migrate.was_running)
        rc = drv->lifecycle->start(eng, drv, def, out, err);
    free(def);
    if (rc < 0)
        return -1;
    int n = sw_storage_disks(eng, job->server_id, out->disks, SW_MSG_MAX_DISKS, err);
    out->ndisks = n > 0 ? n : 0;
    sw_err_clear(err);
    answer(out, true, job->migrate.was_running, -1, -1);
    snprintf(out->note, sizeof out->note, "cold move: defined on the target node%s",
             job->migrate.was_running ? " and started" : "");
    return 0;
}

/* ---- the epoch the domain carries on the target ---- */

/* The first child element of n named name in slipway's namespace. */
static xmlNodePtr ns_child(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && c->ns && c->ns->href &&
            strcmp((const char *)c->ns->href, SW_ENGINE_DOMAIN_NS) == 0 &&
            strcmp((const char *)c->name, name) == 0)
            return c;
    return NULL;
}

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return c;
    return NULL;
}

char *sw_migjob_set_epoch(const char *xml, int64_t epoch)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    xmlNodePtr server = doc ? ns_child(child(xmlDocGetRootElement(doc), "metadata"), "server")
                            : NULL;
    char *out = NULL;
    if (server) {
        char v[24];
        snprintf(v, sizeof v, "%lld", (long long)epoch);
        xmlNodePtr e = ns_child(server, "epoch");
        if (e)
            xmlNodeSetContent(e, BAD_CAST v);
        else
            xmlNewChild(server, server->ns, BAD_CAST "epoch", BAD_CAST v);
        xmlChar *buf = NULL;
        int len = 0;
        xmlDocDumpMemory(doc, &buf, &len);
        if (buf) {
            out = sw_malloc((size_t)len + 1);
            memcpy(out, buf, (size_t)len);
            out[len] = '\0';
            xmlFree(buf);
        }
    }
    xmlFreeDoc(doc);
    return out;
}

/* The domain's XML (flags: live or inactive) as the target gets it: its
 * epoch the job's migrate.epoch, so that the copy that arrives is never
 * taken for a stale one (engines/epoch.h) in the moment before the control
 * plane records the move. Owned, or NULL with err set. */
static char *target_xml(virDomainPtr dom, unsigned flags, int64_t epoch, struct sw_err *err)
{
    char *xml = virDomainGetXMLDesc(dom, flags | VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_MIGRATABLE);
    if (!xml) {
        sw_virt_error(err, "migrate the server");
        return NULL;
    }
    char *out = sw_migjob_set_epoch(xml, epoch);
    free(xml);
    if (!out)
        SW_ERR(err, SW_EINVALID, "could not migrate the server: its domain has no slipway "
                                 "metadata");
    return out;
}

/* ---- a hypervisor's own move ---- */

struct watch {
    struct sw_engine *eng;
    const struct sw_msg_node_job *job;
    struct sw_engine_progress *progress;
    struct sw_migrate_ctl *ctl;
    long long checked_ms;
    bool cancelled;
};

/* Progress as bytes processed of the current total, and the cancel poll. */
static void on_progress(void *ctx, uint64_t processed, uint64_t total, uint64_t remaining)
{
    struct watch *w = ctx;
    (void)remaining;
    if (total > 0)
        sw_engine_progress_report(w->progress, processed < total ? processed : total, total);
    long long t = now_ms();
    if (w->cancelled || !w->eng->cancelled || t - w->checked_ms < CANCEL_POLL_MS)
        return;
    w->checked_ms = t;
    if (w->eng->cancelled(w->eng->admit_ctx, w->job->job_id) == 1) {
        w->cancelled = true;
        sw_info("migrate.cancelling", "job=%s server=%s", w->job->job_id, w->job->server_id);
        sw_migrate_cancel(w->ctl);
    }
}

static unsigned conf_downtime_ms(void)
{
    const char *v = sw_conf_get("SLIPWAY_MIGRATE_DOWNTIME_MS");
    long ms = v ? strtol(v, NULL, 10) : 300;
    return ms >= 0 && ms <= 60000 ? (unsigned)ms : 300;
}

/* The job's note: how it moved, and what a copy of its volumes took. */
static void move_note(const struct sw_migrate_result *res, char *note, size_t n)
{
    int k = res->how == SW_MIGRATE_LIVE
                ? snprintf(note, n, "moved live in %lld ms, downtime %lld ms", res->total_ms,
                           res->downtime_ms)
                : snprintf(note, n, "moved offline (stopped) in %.0f ms", res->seconds * 1000.0);
    double mib = (double)res->copy_bytes / 1048576.0, data = (double)res->copy_data / 1048576.0;
    if (res->ndisks > 0 && k > 0 && (size_t)k < n)
        snprintf(note + k, n - (size_t)k,
                 "; volumes copied: %.1f MiB (%.1f MiB of data) in %.2f s (%.1f MiB/s of data)",
                 mib, data, res->copy_seconds,
                 res->copy_seconds > 0 ? data / res->copy_seconds : 0.0);
}

static int move(struct sw_engine *eng, const struct sw_msg_node_job *job,
                struct sw_engine_outcome *out, struct sw_err *err)
{
    const struct sw_msg_migrate *m = &job->migrate;
    virDomainPtr dom = sw_virt_lookup(eng, job->server_id, "migrate the server", err);
    if (!dom)
        return -1;
    bool running = virDomainIsActive(dom) == 1;
    char *dest = target_xml(dom, running ? 0 : VIR_DOMAIN_XML_INACTIVE, m->epoch, err);
    char *persist = dest && running ? target_xml(dom, VIR_DOMAIN_XML_INACTIVE, m->epoch, err)
                                    : NULL;
    virDomainFree(dom);
    if (!dest || (running && !persist)) {
        free(dest);
        return -1;
    }
    const char *unsafe = sw_conf_get("SLIPWAY_MIGRATE_UNSAFE");
    struct watch w = {eng, job, sw_engine_progress_new(eng, job), sw_migrate_ctl_new(), 0, false};
    struct sw_migrate_req req = {
        .server_id = job->server_id,
        .dest_xml = dest,
        .persist_xml = persist,
        .target_uri = m->target_uri,
        .migrate_uri = m->migrate_uri[0] ? m->migrate_uri : NULL,
        .live = m->live,
        .shared_storage = m->shared,
        .unsafe = unsafe && strcmp(unsafe, "1") == 0,
        .auto_converge = true,
        .downtime_ms = conf_downtime_ms(),
        .bandwidth_mib = (unsigned long)m->bandwidth_mib,
        .progress = on_progress,
        .ctx = &w,
    };
    struct sw_migrate_result res;
    int rc = sw_migrate_run(eng, &req, w.ctl, &res, err);
    free(dest);
    free(persist);
    sw_migrate_ctl_free(w.ctl);
    sw_engine_progress_free(w.progress);
    if (rc < 0)
        return -1;
    bool live = res.how == SW_MIGRATE_LIVE;
    answer(out, true, live, live ? res.downtime_ms : -1, res.total_ms);
    move_note(&res, out->note, sizeof out->note);
    /* copied: the server's volumes are the target's now (server_disks) */
    memcpy(out->disks, res.disks, sizeof res.disks);
    out->ndisks = res.ndisks;
    return 0;
}

int sw_migjob_run(struct sw_engine *eng, const struct sw_engine_driver *drv,
                  const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                  struct sw_err *err)
{
    if (!eng->conn) {
        SW_ERR(err, SW_EUNAVAILABLE, "the node's hypervisor is not connected");
        return -1;
    }
    if (strcmp(job->migrate.phase, SW_MIGMSG_TARGET) == 0)
        return target_half(eng, drv, job, out, err);
    /* libvirt's test driver cannot migrate (migrate.h): the control plane's
     * cold move instead, in two node jobs */
    if (strcmp(eng->hv->scheme, "test") == 0)
        return source_half(eng, job, out, err);
    return move(eng, job, out, err);
}
