/* iso.c - a customer's ISO on an hvm server's cdrom, and its boot order
 * (iso.h). */
#include "config.h"
#include "engines/iso.h"
#include "engines/domxml.h"
#include "engines/image.h"
#include "engines/storage.h"
#include "engines/virt.h"
#include "core/alloc.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"

#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool holds_files(const char *pool_type)
{
    return !pool_type || strcmp(pool_type, "dir") == 0 || strcmp(pool_type, "netfs") == 0;
}

const char *sw_iso_volume(const struct sw_msg_node_job *job, const char *pool_type,
                          char out[96])
{
    out[0] = '\0';
    if (job->iso_sha256[0])
        snprintf(out, 96, "img-%s%s", job->iso_sha256, holds_files(pool_type) ? ".iso" : "");
    return out;
}

static bool boots_cdrom(const struct sw_msg_node_job *job)
{
    return job->iso_sha256[0] && strcmp(job->boot, "cdrom") == 0;
}

void sw_iso_vars(const struct sw_engine *eng, const struct sw_msg_node_job *job,
                 const struct sw_msg_disk *root, struct sw_domxml_vars *v)
{
    const char *marker[1] = {"customer ISO"};
    sw_domxml_set_list(v, "iso", marker, job->iso_sha256[0] ? 1 : 0);
    const struct sw_engine_pool *p = sw_storage_pool_named(eng, root ? root->pool : NULL);
    char vol[96];
    sw_domxml_set(v, "iso_pool", "%s", p ? p->name : SW_STORAGE_DEFAULT_POOL);
    sw_domxml_set(v, "iso_volume", "%s", sw_iso_volume(job, p ? p->type : NULL, vol));
    /* Per device where the hypervisor takes it (QEMU, the test driver):
     * SeaBIOS boots the first cdrom of a <boot dev='cdrom'/>, and the first
     * is the NoCloud seed on hdc, so the ISO gets its own boot index. Xen
     * keeps the <os> lines (cdrom then hd). */
    bool cd = boots_cdrom(job);
    const char *boot[2] = {"cdrom", "hd"}, *first[1] = {"1"};
    sw_domxml_set_list(v, "boot_dev", cd ? boot : boot + 1, cd ? 2 : 1);
    sw_domxml_set_list(v, "iso_boot_order", first, cd ? 1 : 0);
    sw_domxml_set(v, "disk_boot_order", "%d", cd ? 2 : 1);
}

int sw_iso_ensure(struct sw_engine *eng, const struct sw_msg_node_job *job,
                  const char *pool_name, struct sw_err *err)
{
    if (!job->iso_sha256[0] || !eng->conn)
        return 0;
    struct sw_image_ref ref = {.format = "iso", .bytes = job->iso_bytes};
    snprintf(ref.sha256, sizeof ref.sha256, "%s", job->iso_sha256);
    return sw_storage_image_ensure(eng, pool_name, &ref, "mount the ISO", err);
}

/* The <disk> of domain XML xml whose target is SW_ISO_TARGET, as an owned
 * string (libxml2), or NULL when it has none. */
static char *cdrom_element(const char *xml)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL, XML_PARSE_NONET);
    xmlXPathContextPtr ctx = doc ? xmlXPathNewContext(doc) : NULL;
    xmlXPathObjectPtr o = ctx ? xmlXPathEvalExpression(
                                    (const xmlChar *)"/domain/devices/disk[target/@dev='" SW_ISO_TARGET "']",
                                    ctx)
                              : NULL;
    char *out = NULL;
    if (o && o->nodesetval && o->nodesetval->nodeNr > 0) {
        xmlBufferPtr buf = xmlBufferCreate();
        if (buf && xmlNodeDump(buf, doc, o->nodesetval->nodeTab[0], 0, 0) > 0)
            out = sw_strdup((const char *)xmlBufferContent(buf));
        xmlBufferFree(buf);
    }
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    return out;
}

/* The running domain's cdrom given the medium of fresh's persistent one
 * (none: ejected, the tray left empty). 1 changed, -1 not possible. */
static int live_medium(virDomainPtr dom, virDomainPtr fresh, const struct sw_msg_node_job *job)
{
    char *live = virDomainGetXMLDesc(dom, 0);
    char *cur = live ? cdrom_element(live) : NULL;
    free(live);
    if (!cur) {
        virResetLastError();
        return -1; /* booted without the cdrom: IDE has no hot-plug */
    }
    free(cur);
    char *want = NULL;
    if (job->iso_sha256[0]) {
        char *conf = virDomainGetXMLDesc(fresh, VIR_DOMAIN_XML_INACTIVE);
        want = conf ? cdrom_element(conf) : NULL;
        free(conf);
    }
    static const char empty[] =
        "<disk type='file' device='cdrom'><target dev='" SW_ISO_TARGET "' bus='ide'/>"
        "<readonly/></disk>";
    int rc = virDomainUpdateDeviceFlags(dom, want ? want : empty,
                                        VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_DEVICE_MODIFY_FORCE);
    free(want);
    if (rc < 0) {
        virErrorPtr e = virGetLastError();
        char q[600];
        sw_info("iso.live_refused", "server=%s detail=%s", job->server_id,
                sw_log_quote(q, sizeof q, e && e->message ? e->message : ""));
        virResetLastError();
        return -1;
    }
    return 1;
}

void sw_iso_note(const struct sw_msg_node_job *job, int live, char *out, size_t n)
{
    const char *medium = job->iso_sha256[0] ? "ISO mounted" : "ISO ejected";
    const char *when = live > 0 ? " live" : live == 0 ? "" : " at next boot";
    snprintf(out, n, "%s%s; boots from %s at next boot", medium, when,
             boots_cdrom(job) ? "the ISO, then the disk" : "the disk");
}

int sw_iso_apply(struct sw_engine *eng, const struct sw_engine_driver *drv,
                 const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                 struct sw_err *err)
{
    const char *what = job->type == SW_JOB_EJECT_ISO   ? "eject the ISO"
                       : job->type == SW_JOB_SET_BOOT ? "set the boot order"
                                                      : "mount the ISO";
    virDomainPtr dom = sw_virt_lookup(eng, job->server_id, what, err);
    if (!dom)
        return -1;
    int st, reason, live = 0, rc = -1;
    if (virDomainGetState(dom, &st, &reason, 0) < 0) {
        sw_virt_error(err, what);
        goto done;
    }
    virDomainPtr fresh = sw_virt_redefine(eng, drv, job, dom, what, err);
    if (!fresh)
        goto done;
    if (st == VIR_DOMAIN_RUNNING || st == VIR_DOMAIN_PAUSED || st == VIR_DOMAIN_BLOCKED)
        live = live_medium(dom, fresh, job);
    virDomainFree(fresh);
    sw_iso_note(job, live, out->note, sizeof out->note);
    sw_info("domain.iso", "server=%s iso=%s boot=%s note=\"%s\"", job->server_id,
            job->iso_sha256[0] ? job->iso_sha256 : "-", job->boot[0] ? job->boot : "disk",
            out->note);
    rc = 0;
done:
    virDomainFree(dom);
    return rc;
}

const struct sw_engine_media sw_iso_media = {
    .mount_iso = sw_iso_apply,
    .eject_iso = sw_iso_apply,
    .set_boot = sw_iso_apply,
};
