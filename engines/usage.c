#include "config.h"
#include "engines/usage.h"
#include "engines/domxml.h"
#include "engines/driver.h"
#include "engines/storage.h"
#include "engines/virt.h"
#include "core/alloc.h"
#include "core/crypto.h"
#include "core/err.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PERIOD_S 86400 /* what sw_msg_usage_decode accepts */
#define MAX_DEVICES 16

struct entry {
    sw_uuid_t server_id;
    int64_t ts; /* end of the last period reported, or the boot time of a seed */
    struct sw_usage_counters c;
    bool seen;
};

struct sw_usage {
    pthread_mutex_t mu;
    sw_uuid_t node_id;
    int64_t interval_s;
    size_t n, cap;
    struct entry *v;
};

struct sw_usage *sw_usage_new(const char *node_id, int64_t interval_s)
{
    struct sw_usage *u = sw_calloc(1, sizeof *u);
    pthread_mutex_init(&u->mu, NULL);
    snprintf(u->node_id, sizeof u->node_id, "%s", node_id);
    u->interval_s = interval_s > 0 ? interval_s : 60;
    return u;
}

void sw_usage_free(struct sw_usage *u)
{
    if (!u)
        return;
    pthread_mutex_destroy(&u->mu);
    free(u->v);
    free(u);
}

int64_t sw_usage_period_end(int64_t now, int64_t interval_s)
{
    return now - now % interval_s;
}

static struct entry *find(struct sw_usage *u, const char *server_id)
{
    for (size_t i = 0; i < u->n; i++)
        if (strcmp(u->v[i].server_id, server_id) == 0)
            return &u->v[i];
    return NULL;
}

static struct entry *add(struct sw_usage *u, const char *server_id)
{
    if (u->n == u->cap) {
        u->cap = u->cap ? u->cap * 2 : 16;
        u->v = sw_realloc(u->v, u->cap * sizeof *u->v);
    }
    struct entry *e = &u->v[u->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->server_id, sizeof e->server_id, "%s", server_id);
    return e;
}

void sw_usage_booted(struct sw_usage *u, const struct sw_usage_reading *r, int64_t now)
{
    pthread_mutex_lock(&u->mu);
    struct entry *e = find(u, r->server_id);
    if (!e)
        e = add(u, r->server_id);
    e->ts = now;
    e->c = r->c;
    e->seen = false;
    pthread_mutex_unlock(&u->mu);
}

/* A cumulative counter's growth; a counter that went down was reset (the
 * domain restarted), so all of it is new. */
static int64_t delta(uint64_t prev, uint64_t cur)
{
    uint64_t d = cur >= prev ? cur - prev : cur;
    return d > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)d;
}

/* Fills m from the previous reading (NULL: baseline) and the current one,
 * and makes cur the new previous one (keeping counters that were not read). */
static void compute(const struct sw_usage *u, struct entry *prev, const struct sw_usage_reading *r,
                    int64_t ts, struct sw_msg_usage *m)
{
    memset(m, 0, sizeof *m);
    snprintf(m->sample_id, sizeof m->sample_id, "%s:%lld", r->server_id, (long long)ts);
    memcpy(m->server_id, r->server_id, sizeof m->server_id);
    memcpy(m->node_id, u->node_id, sizeof m->node_id);
    m->ts = ts;
    m->mem_mb = r->c.mem_kib > 0 ? r->c.mem_kib / 1024 : 0;
    m->mem_max_mb = r->c.mem_max_kib > 0 ? r->c.mem_max_kib / 1024 : 0;
    m->disk_bytes = r->c.disk_bytes > 0 ? r->c.disk_bytes : 0;
    struct sw_usage_counters next = r->c;
    if (!prev) {
        m->period_s = u->interval_s;
    } else {
        int64_t p = ts - prev->ts;
        m->period_s = p < 1 ? 1 : p > MAX_PERIOD_S ? MAX_PERIOD_S : p;
        m->cpu_ns = delta(prev->c.cpu_ns, r->c.cpu_ns);
        if (r->c.have_net && prev->c.have_net) {
            m->net_rx_bytes = delta(prev->c.net_rx_bytes, r->c.net_rx_bytes);
            m->net_tx_bytes = delta(prev->c.net_tx_bytes, r->c.net_tx_bytes);
        } else if (!r->c.have_net) {
            next.have_net = prev->c.have_net;
            next.net_rx_bytes = prev->c.net_rx_bytes;
            next.net_tx_bytes = prev->c.net_tx_bytes;
        }
        if (r->c.have_disk && prev->c.have_disk) {
            m->disk_rd_bytes = delta(prev->c.disk_rd_bytes, r->c.disk_rd_bytes);
            m->disk_wr_bytes = delta(prev->c.disk_wr_bytes, r->c.disk_wr_bytes);
        } else if (!r->c.have_disk) {
            next.have_disk = prev->c.have_disk;
            next.disk_rd_bytes = prev->c.disk_rd_bytes;
            next.disk_wr_bytes = prev->c.disk_wr_bytes;
        }
    }
    if (prev)
        prev->c = next;
}

size_t sw_usage_step(struct sw_usage *u, const struct sw_usage_reading *r, size_t n, int64_t ts,
                     struct sw_msg_usage **out)
{
    *out = n ? sw_calloc(n, sizeof **out) : NULL;
    size_t k = 0;
    pthread_mutex_lock(&u->mu);
    for (size_t i = 0; i < u->n; i++)
        u->v[i].seen = false;
    for (size_t i = 0; i < n; i++) {
        struct entry *e = find(u, r[i].server_id);
        if (e && e->ts >= ts) {
            e->seen = true; /* booted at or after this period's end: nothing to report yet */
            continue;
        }
        bool baseline = !e;
        if (!e) {
            e = add(u, r[i].server_id);
            e->c = r[i].c;
        }
        compute(u, baseline ? NULL : e, &r[i], ts, &(*out)[k++]);
        e->ts = ts;
        e->seen = true;
    }
    /* Forget servers not sampled at ts (a seed newer than ts stays). */
    size_t keep = 0;
    for (size_t i = 0; i < u->n; i++)
        if (u->v[i].seen || u->v[i].ts >= ts)
            u->v[keep++] = u->v[i];
    u->n = keep;
    pthread_mutex_unlock(&u->mu);
    if (k == 0) {
        free(*out);
        *out = NULL;
    }
    return k;
}

/* ---- libvirt edge ---- */

static bool read_net(virDomainPtr dom, const char *xml, struct sw_usage_counters *c)
{
    char dev[MAX_DEVICES][64];
    size_t n = sw_domxml_targets(xml, "interface", dev, MAX_DEVICES);
    for (size_t i = 0; i < n; i++) {
        virDomainInterfaceStatsStruct st;
        if (virDomainInterfaceStats(dom, dev[i], &st, sizeof st) < 0)
            return false;
        c->net_rx_bytes += st.rx_bytes > 0 ? (uint64_t)st.rx_bytes : 0;
        c->net_tx_bytes += st.tx_bytes > 0 ? (uint64_t)st.tx_bytes : 0;
    }
    return true;
}

static bool read_disk(virDomainPtr dom, const char *xml, struct sw_usage_counters *c)
{
    char dev[MAX_DEVICES][64];
    size_t n = sw_domxml_targets(xml, "disk", dev, MAX_DEVICES);
    for (size_t i = 0; i < n; i++) {
        virDomainBlockStatsStruct st;
        if (virDomainBlockStats(dom, dev[i], &st, sizeof st) < 0)
            return false;
        c->disk_rd_bytes += st.rd_bytes > 0 ? (uint64_t)st.rd_bytes : 0;
        c->disk_wr_bytes += st.wr_bytes > 0 ? (uint64_t)st.wr_bytes : 0;
    }
    return true;
}

int sw_usage_read_domain(virDomainPtr dom, struct sw_usage_reading *r, struct sw_err *err)
{
    memset(r, 0, sizeof *r);
    char uuid[VIR_UUID_STRING_BUFLEN];
    virDomainInfo info;
    if (virDomainGetUUIDString(dom, uuid) < 0 || virDomainGetInfo(dom, &info) < 0) {
        sw_virt_error(err, "read the server's usage");
        return -1;
    }
    snprintf(r->server_id, sizeof r->server_id, "%s", uuid);
    /* A stopped domain runs nothing: its counters are 0, not unread. */
    r->c.have_net = r->c.have_disk = true;
    if (info.state == VIR_DOMAIN_SHUTOFF || info.state == VIR_DOMAIN_CRASHED ||
        info.state == VIR_DOMAIN_NOSTATE)
        return 0;
    r->active = true;
    r->c.cpu_ns = info.cpuTime;
    r->c.mem_kib = (int64_t)info.memory;
    r->c.mem_max_kib = (int64_t)info.maxMem;
    r->c.have_net = r->c.have_disk = false;
    char *xml = virDomainGetXMLDesc(dom, 0);
    if (xml) {
        r->c.have_net = read_net(dom, xml, &r->c);
        r->c.have_disk = read_disk(dom, xml, &r->c);
        free(xml);
    }
    if (!r->c.have_net)
        r->c.net_rx_bytes = r->c.net_tx_bytes = 0;
    if (!r->c.have_disk)
        r->c.disk_rd_bytes = r->c.disk_wr_bytes = 0;
    return 0;
}

int sw_usage_read_all(virConnectPtr conn, struct sw_usage_reading **out, size_t *n,
                      struct sw_err *err)
{
    *out = NULL;
    *n = 0;
    virDomainPtr *doms = NULL;
    /* 0: active and inactive (a stopped server's defined domain) alike */
    int nd = virConnectListAllDomains(conn, &doms, 0);
    if (nd < 0) {
        sw_virt_error(err, "list the node's servers");
        return -1;
    }
    if (nd > 0)
        *out = sw_calloc((size_t)nd, sizeof **out);
    for (int i = 0; i < nd; i++) {
        const char *name = virDomainGetName(doms[i]);
        struct sw_usage_reading *r = &(*out)[*n];
        /* Only slipway's domains; one that vanished since the listing is skipped. */
        if (name && strncmp(name, SW_ENGINE_DOMAIN_PREFIX, strlen(SW_ENGINE_DOMAIN_PREFIX)) == 0 &&
            sw_usage_read_domain(doms[i], r, NULL) == 0 && sw_uuid_valid(r->server_id))
            (*n)++;
        virDomainFree(doms[i]);
    }
    free(doms);
    return 0;
}

/* ---- disk space: its volumes' allocation ---- */

static int cmp_disk(const void *a, const void *b)
{
    const struct sw_usage_disk *x = a, *y = b;
    return strcmp(x->server_id, y->server_id);
}

static int cmp_reading(const void *a, const void *b)
{
    const struct sw_usage_reading *x = a, *y = b;
    return strcmp(x->server_id, y->server_id);
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

void sw_usage_disks_add(struct sw_usage_disks *d, const char *volume, int64_t allocation)
{
    size_t pre = strlen(SW_ENGINE_DOMAIN_PREFIX);
    if (!volume || strncmp(volume, SW_ENGINE_DOMAIN_PREFIX, pre) != 0 ||
        strlen(volume) <= pre + SW_UUID_LEN || volume[pre + SW_UUID_LEN] != '-')
        return;
    sw_uuid_t id;
    memcpy(id, volume + pre, SW_UUID_LEN);
    id[SW_UUID_LEN] = '\0';
    if (!sw_uuid_valid(id))
        return;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 16;
        d->v = sw_realloc(d->v, d->cap * sizeof *d->v);
    }
    struct sw_usage_disk *e = &d->v[d->n++];
    memcpy(e->server_id, id, sizeof id);
    e->bytes = allocation > 0 ? allocation : 0;
}

void sw_usage_disks_finish(struct sw_usage_disks *d)
{
    if (d->n == 0)
        return;
    qsort(d->v, d->n, sizeof *d->v, cmp_disk);
    size_t k = 0;
    for (size_t i = 1; i < d->n; i++) {
        if (strcmp(d->v[i].server_id, d->v[k].server_id) != 0)
            d->v[++k] = d->v[i];
        else if (d->v[k].bytes <= INT64_MAX - d->v[i].bytes)
            d->v[k].bytes += d->v[i].bytes;
    }
    d->n = k + 1;
}

void sw_usage_disks_release(struct sw_usage_disks *d)
{
    free(d->v);
    memset(d, 0, sizeof *d);
}

static void add_volume(void *ctx, const char *volume, int64_t allocation)
{
    sw_usage_disks_add(ctx, volume, allocation);
}

int sw_usage_read_disks(struct sw_engine *eng, struct sw_usage_disks *d, struct sw_err *err)
{
    if (sw_storage_each_allocation(eng, add_volume, d, err) < 0) {
        sw_usage_disks_release(d);
        return -1;
    }
    sw_usage_disks_finish(d);
    return 0;
}

static const struct sw_usage_disk *disk_of(const struct sw_usage_disks *d, const char *server_id)
{
    struct sw_usage_disk key = {0};
    memcpy(key.server_id, server_id, sizeof key.server_id);
    return d && d->n ? bsearch(&key, d->v, d->n, sizeof *d->v, cmp_disk) : NULL;
}

static bool is_held(const sw_uuid_t *held, size_t nheld, const char *server_id)
{
    return held && nheld && bsearch(server_id, held, nheld, sizeof *held, cmp_id);
}

size_t sw_usage_select(struct sw_usage_reading **r, size_t n, const struct sw_usage_disks *d,
                       const sw_uuid_t *held, size_t nheld)
{
    struct sw_usage_reading *v = *r;
    if (n)
        qsort(v, n, sizeof *v, cmp_reading);
    size_t keep = 0;
    for (size_t i = 0; i < n; i++) {
        const struct sw_usage_disk *k = disk_of(d, v[i].server_id);
        v[i].c.disk_bytes = k ? k->bytes : 0;
        if (v[i].active || (d && is_held(held, nheld, v[i].server_id)))
            v[keep++] = v[i];
    }
    /* Held servers with volumes and no domain: the domains are sorted, so
     * v[0..had) is searched while new readings go after it. */
    size_t had = keep;
    for (size_t i = 0; d && i < d->n; i++) {
        struct sw_usage_reading key = {0};
        memcpy(key.server_id, d->v[i].server_id, sizeof key.server_id);
        if (!is_held(held, nheld, key.server_id) ||
            (had && bsearch(&key, v, had, sizeof *v, cmp_reading)))
            continue;
        v = sw_realloc(v, (keep + 1) * sizeof *v);
        memset(&v[keep], 0, sizeof v[keep]);
        memcpy(v[keep].server_id, key.server_id, sizeof key.server_id);
        v[keep].c.have_net = v[keep].c.have_disk = true;
        v[keep].c.disk_bytes = d->v[i].bytes;
        keep++;
    }
    if (keep > had)
        qsort(v, keep, sizeof *v, cmp_reading);
    *r = v;
    return keep;
}
