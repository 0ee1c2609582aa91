/* snapshot.c - customers' snapshots: libvirt internal snapshots on the
 * qcow2 root (snapshot.h; engines/README.md "Snapshots" says why internal
 * ones, and what memory and revert mean). */
#include "config.h"
#include "engines/snapshot.h"
#include "engines/domdef.h"
#include "engines/fsfreeze.h"
#include "engines/storage.h"
#include "engines/virt.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#define MAX_CDROMS 4
#define DESC_KEY "alloc_before="

const char *sw_snapshot_name(const char *server_id, const char *snapshot_id,
                             char out[SW_SNAPSHOT_NAME_MAX])
{
    snprintf(out, SW_SNAPSHOT_NAME_MAX, "sw-%s-snap-%s", server_id, snapshot_id);
    return out;
}

static bool plain_dev(const char *s)
{
    if (!*s || strlen(s) > 16)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

int sw_snapshot_xml(const char *name, int64_t alloc_before, bool memory,
                    const char *const *cdroms, size_t ncdroms, char *out, size_t n)
{
    int k = snprintf(out, n,
                     "<domainsnapshot><name>%s</name><description>slipway " DESC_KEY
                     "%" PRId64 "</description>%s",
                     name, alloc_before, memory ? "" : "<memory snapshot='no'/>");
    if (k < 0 || (size_t)k >= n)
        return -1;
    size_t at = (size_t)k;
    for (size_t i = 0; i <= ncdroms; i++) {
        if (i < ncdroms && !plain_dev(cdroms[i]))
            return -1;
        const char *open = i == 0 && ncdroms ? "<disks>" : "";
        k = i < ncdroms ? snprintf(out + at, n - at, "%s<disk name='%s' snapshot='no'/>", open,
                                   cdroms[i])
                        : snprintf(out + at, n - at, "%s</domainsnapshot>",
                                   ncdroms ? "</disks>" : "");
        if (k < 0 || (size_t)k >= n - at)
            return -1;
        at += (size_t)k;
    }
    return 0;
}

int64_t sw_snapshot_alloc_before(const char *snapshot_xml)
{
    const char *p = snapshot_xml ? strstr(snapshot_xml, DESC_KEY) : NULL;
    if (!p)
        return -1;
    char *end;
    long long v = strtoll(p + strlen(DESC_KEY), &end, 10);
    return end == p + strlen(DESC_KEY) || v < 0 ? -1 : (int64_t)v;
}

void sw_snapshot_note(bool running, bool memory, int frozen, char *out, size_t n)
{
    if (!running)
        snprintf(out, n, "disk snapshot of a stopped server");
    else if (memory)
        snprintf(out, n, "disk and memory saved; not frozen (the guest was paused instead)");
    else if (frozen > 0)
        snprintf(out, n, "disk only; filesystems frozen through the guest agent");
    else
        snprintf(out, n, "disk only; not frozen: no guest agent answered (crash-consistent)");
}

/* ---- the root volume ---- */

/* The server's root (must be qcow2) and its allocation now. 0, or -1 with
 * err: SW_EUNSUPPORTED for a root that cannot hold internal snapshots. */
static int root_allocation(struct sw_engine *eng, const char *server_id, int64_t *alloc,
                           struct sw_err *err)
{
    struct sw_msg_disk root;
    int found = sw_storage_root_find(eng, server_id, NULL, &root, err);
    if (found <= 0) {
        if (found == 0)
            SW_ERR(err, SW_EUNSUPPORTED, "snapshots need a root volume; this server has none");
        return -1;
    }
    if (strcmp(root.format, "qcow2") != 0) {
        SW_ERR(err, SW_EUNSUPPORTED,
               "snapshots need a qcow2 root volume; this server's root is %s in pool %s",
               root.format, root.pool);
        return -1;
    }
    virStorageVolInfo info;
    if (sw_storage_disk_info(eng, &root, &info, err) < 0)
        return -1;
    *alloc = (int64_t)info.allocation;
    return 0;
}

/* ---- the domain's cdroms (left out of every snapshot) ---- */

/* The targets of dom's cdrom disks (persistent definition) into
 * out[MAX_CDROMS][17]; their number. */
static size_t cdrom_targets(virDomainPtr dom, char out[MAX_CDROMS][17])
{
    char *xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    xmlDocPtr doc = xml ? xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                                        XML_PARSE_NONET)
                        : NULL;
    free(xml);
    xmlXPathContextPtr ctx = doc ? xmlXPathNewContext(doc) : NULL;
    xmlXPathObjectPtr o =
        ctx ? xmlXPathEvalExpression(
                  (const xmlChar *)"/domain/devices/disk[@device='cdrom']/target/@dev", ctx)
            : NULL;
    size_t n = 0;
    for (int i = 0; o && o->nodesetval && i < o->nodesetval->nodeNr && n < MAX_CDROMS; i++) {
        xmlChar *v = xmlNodeGetContent(o->nodesetval->nodeTab[i]);
        if (v && strlen((const char *)v) < 17)
            snprintf(out[n++], 17, "%s", (const char *)v);
        xmlFree(v);
    }
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    if (!xml)
        virResetLastError();
    return n;
}

/* ---- create ---- */

static bool dom_running(virDomainPtr dom)
{
    int st, reason;
    return virDomainGetState(dom, &st, &reason, 0) == 0 &&
           (st == VIR_DOMAIN_RUNNING || st == VIR_DOMAIN_PAUSED);
}

/* The snapshot named name, taken: 0, or -1 with err. */
static int take(struct sw_engine *eng, virDomainPtr dom, const struct sw_msg_node_job *job,
                const char *name, int64_t before, struct sw_engine_outcome *out,
                struct sw_err *err)
{
    char cd[MAX_CDROMS][17];
    const char *cdroms[MAX_CDROMS];
    size_t ncd = cdrom_targets(dom, cd);
    for (size_t i = 0; i < ncd; i++)
        cdroms[i] = cd[i];
    bool running = dom_running(dom);
    /* A running guest's internal snapshot saves its memory (QEMU's savevm,
     * README "Snapshots"); a stopped one has none to save. */
    char xml[1024];
    if (sw_snapshot_xml(name, before, running, cdroms, ncd, xml, sizeof xml) < 0) {
        SW_ERR(err, SW_EINTERNAL, "could not describe the snapshot");
        return -1;
    }
    int frozen = running && !job->snapshot_memory ? sw_fsfreeze(eng, dom) : -1;
    virDomainSnapshotPtr snap = virDomainSnapshotCreateXML(dom, xml, 0);
    if (!snap)
        sw_virt_error(err, "take the snapshot");
    if (frozen > 0)
        sw_fsthaw(dom, job->server_id, "snapshot");
    if (!snap)
        return -1;
    virDomainSnapshotFree(snap);
    sw_snapshot_note(running, job->snapshot_memory, frozen, out->note, sizeof out->note);
    return 0;
}

/* The before-allocation a replay finds in the snapshot's description. */
static int64_t recorded_before(virDomainSnapshotPtr snap, int64_t fallback)
{
    char *x = virDomainSnapshotGetXMLDesc(snap, 0);
    int64_t v = sw_snapshot_alloc_before(x);
    free(x);
    return v < 0 ? fallback : v;
}

int sw_snapshot_create(struct sw_engine *eng, const struct sw_engine_driver *drv,
                       const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                       struct sw_err *err)
{
    (void)drv;
    int64_t before = 0, after = 0;
    char name[SW_SNAPSHOT_NAME_MAX];
    sw_snapshot_name(job->server_id, job->snapshot_id, name);
    virDomainPtr dom = sw_virt_lookup(eng, job->server_id, "take the snapshot", err);
    if (!dom)
        return -1;
    int rc = root_allocation(eng, job->server_id, &before, err);
    virDomainSnapshotPtr had = rc == 0 ? virDomainSnapshotLookupByName(dom, name, 0) : NULL;
    if (had) { /* a replay: taken before, measured against its record */
        before = recorded_before(had, before);
        virDomainSnapshotFree(had);
        snprintf(out->note, sizeof out->note, "snapshot taken by an earlier delivery");
    } else if (rc == 0) {
        virResetLastError();
        rc = take(eng, dom, job, name, before, out, err);
    }
    if (rc == 0)
        rc = root_allocation(eng, job->server_id, &after, err);
    if (rc == 0) {
        out->snapshot_bytes = after > before ? after - before : 0;
        sw_info("snapshot.created", "server=%s snapshot=%s bytes=%" PRId64, job->server_id,
                job->snapshot_id, out->snapshot_bytes);
    }
    virDomainFree(dom);
    return rc;
}

/* ---- revert ---- */

/* Whether the snapshot holds a running guest's memory. */
static bool has_memory(virDomainSnapshotPtr snap)
{
    char *x = virDomainSnapshotGetXMLDesc(snap, 0);
    bool m = x && (strstr(x, "<state>running</state>") || strstr(x, "<state>paused</state>"));
    free(x);
    return m;
}

/* Back to snap, then as snapshot.h says. */
static int revert_to(virDomainPtr dom, virDomainSnapshotPtr snap, bool want_memory,
                     struct sw_engine_outcome *out, struct sw_err *err)
{
    static const char what[] = "revert to the snapshot";
    bool was_running = dom_running(dom), mem = has_memory(snap);
    bool resume = was_running && mem && want_memory;
    unsigned flags = resume ? VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING
                     : mem  ? VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED
                            : 0;
    if (virDomainRevertToSnapshot(snap, flags) < 0) {
        sw_virt_error(err, what);
        return -1;
    }
    /* A disk-only revert: the saved memory is not wanted; the guest boots
     * again on the snapshot's disk when it was running. */
    if (!resume && dom_running(dom) && virDomainDestroy(dom) < 0) {
        sw_virt_error(err, what);
        return -1;
    }
    if (!resume && was_running) {
        if (virDomainCreate(dom) < 0) {
            sw_virt_error(err, what);
            return -1;
        }
        out->booted = true;
    }
    snprintf(out->note, sizeof out->note, "%s",
             resume        ? "reverted with memory; the guest kept running from the snapshot"
             : was_running ? "reverted the disk; the guest booted again on it"
                           : "reverted the disk; the server stays stopped");
    return 0;
}

int sw_snapshot_revert(struct sw_engine *eng, const struct sw_engine_driver *drv,
                       const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                       struct sw_err *err)
{
    (void)drv;
    char name[SW_SNAPSHOT_NAME_MAX];
    sw_snapshot_name(job->server_id, job->snapshot_id, name);
    virDomainPtr dom = sw_virt_lookup(eng, job->server_id, "revert to the snapshot", err);
    if (!dom)
        return -1;
    virDomainSnapshotPtr snap = virDomainSnapshotLookupByName(dom, name, 0);
    int rc = -1;
    if (!snap) {
        virResetLastError();
        SW_ERR(err, SW_ENOTFOUND, "could not revert: the node has no such snapshot");
    } else {
        rc = revert_to(dom, snap, job->snapshot_memory, out, err);
        virDomainSnapshotFree(snap);
    }
    virDomainFree(dom);
    return rc;
}

/* ---- delete ---- */

/* snap deleted with its data; its metadata alone when metadata_fallback
 * and the data cannot be. */
static int drop(virDomainSnapshotPtr snap, bool metadata_fallback)
{
    if (virDomainSnapshotDelete(snap, 0) == 0)
        return 0;
    return metadata_fallback &&
                   virDomainSnapshotDelete(snap, VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY) == 0
               ? 0
               : -1;
}

int sw_snapshot_delete(struct sw_engine *eng, const struct sw_engine_driver *drv,
                       const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                       struct sw_err *err)
{
    (void)drv;
    static const char what[] = "delete the snapshot";
    char name[SW_SNAPSHOT_NAME_MAX];
    sw_snapshot_name(job->server_id, job->snapshot_id, name);
    virDomainPtr dom = virDomainLookupByUUIDString(eng->conn, job->server_id);
    if (!dom) { /* no domain, no snapshot: a replay after the server went */
        virResetLastError();
        snprintf(out->note, sizeof out->note, "no such snapshot on the node");
        return 0;
    }
    virDomainSnapshotPtr snap = virDomainSnapshotLookupByName(dom, name, 0);
    int rc = 0;
    if (!snap) {
        virResetLastError();
        snprintf(out->note, sizeof out->note, "no such snapshot on the node");
    } else if (drop(snap, false) < 0) {
        sw_virt_error(err, what);
        rc = -1;
    }
    if (snap)
        virDomainSnapshotFree(snap);
    virDomainFree(dom);
    return rc;
}

int sw_snapshot_drop_all(virDomainPtr dom, const char *server_id, const char *what,
                         struct sw_err *err)
{
    virDomainSnapshotPtr *snaps = NULL;
    int n = virDomainListAllSnapshots(dom, &snaps, 0);
    if (n < 0) {
        virErrorPtr e = virGetLastError();
        if (e && e->code == VIR_ERR_NO_SUPPORT) { /* a hypervisor without any */
            virResetLastError();
            return 0;
        }
        sw_virt_error(err, what);
        return -1;
    }
    char prefix[64];
    snprintf(prefix, sizeof prefix, "sw-%s-snap-", server_id);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *name = virDomainSnapshotGetName(snaps[i]);
        if (rc == 0 && name && strncmp(name, prefix, strlen(prefix)) == 0 &&
            drop(snaps[i], true) < 0) {
            sw_virt_error(err, what);
            rc = -1;
        }
        virDomainSnapshotFree(snaps[i]);
    }
    free(snaps);
    return rc;
}

const struct sw_engine_snapshots sw_snapshot_ops = {
    .create = sw_snapshot_create,
    .revert = sw_snapshot_revert,
    .remove = sw_snapshot_delete,
};
