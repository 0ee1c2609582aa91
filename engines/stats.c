#include "config.h"
#include "engines/stats.h"
#include "engines/domxml.h"
#include "engines/driver.h"
#include "engines/virt.h"
#include "core/alloc.h"
#include "core/enums.h"
#include "core/err.h"

#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- selection ---- */

int sw_stats_open(const char *spec, virConnectPtr conn, struct sw_stats_source *out,
                  struct sw_err *err)
{
    memset(out, 0, sizeof *out);
    if (strcmp(spec, "libvirt") == 0)
        return sw_stats_libvirt_open(conn, out);
    if (strncmp(spec, "sim:", 4) == 0 && spec[4])
        return sw_stats_sim_open(spec + 4, out, err);
    SW_ERR(err, SW_EINVALID, "SLIPWAY_BALLOON_SOURCE must be libvirt or sim:<path>, not \"%s\"",
           spec);
    return -1;
}

void sw_stats_close(struct sw_stats_source *s)
{
    if (s->ops && s->ops->free)
        s->ops->free(s->self);
    memset(s, 0, sizeof *s);
}

/* ---- libvirt ---- */

/* Balloon stats older than this are stale (the guest's driver stopped). */
#define STALE_S 60

static int64_t param_ull(const virTypedParameterPtr p, int n, const char *field, bool *found)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(p[i].field, field) != 0)
            continue;
        *found = true;
        switch (p[i].type) {
        case VIR_TYPED_PARAM_ULLONG:
            return (int64_t)p[i].value.ul;
        case VIR_TYPED_PARAM_LLONG:
            return p[i].value.l;
        case VIR_TYPED_PARAM_UINT:
            return p[i].value.ui;
        case VIR_TYPED_PARAM_INT:
            return p[i].value.i;
        default:
            break;
        }
    }
    *found = false;
    return 0;
}

/* kind, guarantee and ceiling from the domain's <slipway:server> metadata. */
static bool guest_meta(virDomainPtr dom, struct sw_stats_guest *g)
{
    char *x = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, SW_ENGINE_DOMAIN_NS, 0);
    if (!x) {
        virResetLastError();
        return false;
    }
    char kind[16];
    bool ok = sw_domxml_meta(x, "kind", kind, sizeof kind) == 0 &&
              (g->kind = sw_plan_kind_parse(kind)) >= 0 &&
              sw_domxml_meta_i64(x, "ram_mb", &g->min_mb) == 0 &&
              sw_domxml_meta_i64(x, "max_ram_mb", &g->max_mb) == 0;
    free(x);
    return ok;
}

/* Demand from virDomainMemoryStats (the test driver's synthetic ones). */
static bool single_stats(virDomainPtr dom, int64_t *used_kib)
{
    virDomainMemoryStatStruct st[VIR_DOMAIN_MEMORY_STAT_NR];
    int n = virDomainMemoryStats(dom, st, VIR_DOMAIN_MEMORY_STAT_NR, 0);
    int64_t avail = -1, unused = -1, usable = -1;
    for (int i = 0; i < n; i++) {
        if (st[i].tag == VIR_DOMAIN_MEMORY_STAT_AVAILABLE)
            avail = (int64_t)st[i].val;
        else if (st[i].tag == VIR_DOMAIN_MEMORY_STAT_UNUSED)
            unused = (int64_t)st[i].val;
        else if (st[i].tag == VIR_DOMAIN_MEMORY_STAT_USABLE)
            usable = (int64_t)st[i].val;
    }
    if (n < 0)
        virResetLastError();
    if (avail < 0 || (usable < 0 && unused < 0))
        return false;
    *used_kib = avail - (usable >= 0 ? usable : unused);
    return *used_kib >= 0;
}

static int lv_sample(void *self, struct sw_stats_host *h, struct sw_stats_guest **out,
                     size_t *n, struct sw_err *err)
{
    virConnectPtr conn = self;
    *out = NULL;
    *n = 0;
    virNodeInfo ni;
    if (virNodeGetInfo(conn, &ni) < 0) {
        sw_virt_error(err, "read the host's memory");
        return -1;
    }
    h->ram_mb = (int64_t)(ni.memory / 1024);
    virDomainStatsRecordPtr *recs = NULL;
    int k = virConnectGetAllDomainStats(conn, VIR_DOMAIN_STATS_BALLOON | VIR_DOMAIN_STATS_STATE,
                                        &recs, VIR_CONNECT_GET_ALL_DOMAINS_STATS_RUNNING);
    if (k < 0) {
        sw_virt_error(err, "read the guests' memory stats");
        return -1;
    }
    struct sw_stats_guest *g = sw_calloc(k ? (size_t)k : 1, sizeof *g);
    size_t m = 0;
    int64_t balloons = 0;
    time_t now = time(NULL);
    for (int i = 0; i < k; i++) {
        virDomainPtr dom = recs[i]->dom;
        const char *name = virDomainGetName(dom);
        char uuid[VIR_UUID_STRING_BUFLEN];
        if (!name || strncmp(name, SW_ENGINE_DOMAIN_PREFIX, strlen(SW_ENGINE_DOMAIN_PREFIX)) ||
            virDomainGetUUIDString(dom, uuid) < 0)
            continue;
        struct sw_stats_guest *x = &g[m];
        memset(x, 0, sizeof *x);
        snprintf(x->id, sizeof x->id, "%s", uuid);
        x->shares = 1000;
        virTypedParameterPtr p = recs[i]->params;
        int np = recs[i]->nparams;
        bool have, have_avail, have_free, have_upd;
        int64_t cur = param_ull(p, np, "balloon.current", &have);
        if (!have) {
            virDomainInfo info;
            if (virDomainGetInfo(dom, &info) < 0) {
                virResetLastError();
                continue;
            }
            cur = (int64_t)info.memory;
        }
        x->current_mb = cur / 1024;
        balloons += x->current_mb;
        if (!guest_meta(dom, x))
            continue; /* not a slipway template's domain: left alone */
        int64_t avail = param_ull(p, np, "balloon.available", &have_avail);
        int64_t usable = param_ull(p, np, "balloon.usable", &have_free);
        if (!have_free)
            usable = param_ull(p, np, "balloon.unused", &have_free);
        int64_t upd = param_ull(p, np, "balloon.last-update", &have_upd);
        int64_t used_kib = 0;
        if (have_avail && have_free) {
            used_kib = avail - usable;
            x->fresh = used_kib >= 0 && (!have_upd || now - upd <= STALE_S);
        } else {
            x->fresh = single_stats(dom, &used_kib);
        }
        x->used_mb = used_kib / 1024;
        m++;
    }
    virDomainStatsRecordListFree(recs);
    /* What the host uses outside the balloons; a driver without node
     * memory stats (the test driver's are fake) counts none. */
    int np = 0;
    h->other_used_mb = 0;
    if (virNodeGetMemoryStats(conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, NULL, &np, 0) == 0 &&
        np > 0) {
        virNodeMemoryStatsPtr ms = sw_calloc((size_t)np, sizeof *ms);
        if (virNodeGetMemoryStats(conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, ms, &np, 0) == 0) {
            int64_t total = 0, freek = 0;
            for (int i = 0; i < np; i++) {
                if (strcmp(ms[i].field, VIR_NODE_MEMORY_STATS_TOTAL) == 0)
                    total = (int64_t)ms[i].value;
                else if (strcmp(ms[i].field, VIR_NODE_MEMORY_STATS_FREE) == 0 ||
                         strcmp(ms[i].field, VIR_NODE_MEMORY_STATS_BUFFERS) == 0 ||
                         strcmp(ms[i].field, VIR_NODE_MEMORY_STATS_CACHED) == 0)
                    freek += (int64_t)ms[i].value;
            }
            int64_t other = (total - freek) / 1024 - balloons;
            h->other_used_mb = other > 0 ? other : 0;
        }
        free(ms);
    }
    virResetLastError();
    *out = g;
    *n = m;
    return 0;
}

static int lv_apply(void *self, const struct sw_stats_guest *g, int64_t target_mb,
                    struct sw_err *err)
{
    virConnectPtr conn = self;
    virDomainPtr dom = virDomainLookupByUUIDString(conn, g->id);
    int rc = -1;
    if (!dom || virDomainSetMemoryFlags(dom, (unsigned long)(target_mb * 1024),
                                        VIR_DOMAIN_AFFECT_LIVE) < 0)
        sw_virt_error(err, "set the balloon");
    else
        rc = 0;
    if (dom)
        virDomainFree(dom);
    return rc;
}

static const struct sw_stats_ops libvirt_ops = {
    .name = "libvirt",
    .sample = lv_sample,
    .apply = lv_apply,
    .free = NULL,
};

int sw_stats_libvirt_open(virConnectPtr conn, struct sw_stats_source *out)
{
    out->ops = &libvirt_ops;
    out->self = conn;
    return 0;
}
