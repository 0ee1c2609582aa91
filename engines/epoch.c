#include "config.h"
#include "engines/epoch.h"
#include "engines/kind.h"
#include "engines/virt.h"

#include <libvirt/virterror.h>
#include "core/alloc.h"
#include "core/err.h"

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <stdlib.h>
#include <string.h>

enum sw_epoch_verdict sw_epoch_judge(int64_t dom_epoch, const struct sw_epoch_record *rec)
{
    if (!rec->found || !rec->elsewhere)
        return SW_EPOCH_UNKNOWN;
    return dom_epoch <= rec->epoch ? SW_EPOCH_STALE : SW_EPOCH_INCOMING;
}

/* The number in <slipway:epoch> of the metadata element xml (libxml2). */
static int64_t epoch_in(const char *xml)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "metadata.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlXPathContextPtr ctx = doc ? xmlXPathNewContext(doc) : NULL;
    int64_t v = 0;
    /* libvirt hands the element back without its namespace (9.0): match by
     * local name, with or without one */
    xmlXPathObjectPtr o = ctx ? xmlXPathEvalExpression(
                                    (const xmlChar *)"string(/*[local-name()='server']"
                                                     "/*[local-name()='epoch'])",
                                    ctx)
                              : NULL;
    if (o && o->type == XPATH_STRING && o->stringval) {
        char *end = NULL;
        long long n = strtoll((const char *)o->stringval, &end, 10);
        if (end && end != (char *)o->stringval && *end == '\0' && n > 0)
            v = n;
    }
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    return v;
}

int64_t sw_epoch_of_domain(virDomainPtr dom)
{
    char *xml = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, SW_ENGINE_DOMAIN_NS, 0);
    if (!xml) {
        virResetLastError(); /* none recorded */
        return 0;
    }
    int64_t v = epoch_in(xml);
    free(xml);
    return v;
}

/* Undefines dom with its metadata; a driver that knows none of the flags
 * (the test driver knows some) is asked plainly. */
static int undefine(virDomainPtr dom)
{
    unsigned flags = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
                     VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | VIR_DOMAIN_UNDEFINE_KEEP_NVRAM;
    if (virDomainUndefineFlags(dom, flags) == 0)
        return 0;
    virResetLastError();
    return virDomainUndefine(dom);
}

int sw_epoch_fence_copy(virDomainPtr dom, char **xml, struct sw_err *err)
{
    *xml = NULL;
    if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0) {
        sw_virt_error(err, "stop a stale copy of the server");
        return -1;
    }
    if (virDomainIsPersistent(dom) != 1)
        return 0; /* a transient domain is gone once destroyed */
    if (virDomainSetAutostart(dom, 0) < 0)
        virResetLastError(); /* not every driver has autostart */
    *xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    if (!*xml)
        virResetLastError();
    if (undefine(dom) < 0) {
        sw_virt_error(err, "undefine a stale copy of the server");
        return -1;
    }
    return 0;
}

int sw_epoch_job_check(const struct sw_msg_node_job *job, const struct sw_epoch_record *rec,
                       struct sw_err *err)
{
    if (!rec->found)
        return 0;
    if (rec->elsewhere) {
        SW_ERR(err, SW_ECONFLICT, "the server lives on another node now");
        sw_err_detail(err, "server %s epoch %lld; job %s carried %lld", job->server_id,
                      (long long)rec->epoch, job->job_id, (long long)job->epoch);
        return -1;
    }
    if (job->epoch > 0 && job->epoch < rec->epoch) {
        SW_ERR(err, SW_ECONFLICT, "the job was sent before the server last moved");
        sw_err_detail(err, "server %s epoch %lld; job %s carried %lld", job->server_id,
                      (long long)rec->epoch, job->job_id, (long long)job->epoch);
        return -1;
    }
    return 0;
}
