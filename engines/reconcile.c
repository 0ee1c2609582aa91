#include "config.h"
#include "engines/reconcile.h"
#include "engines/storage.h"
#include "engines/domdef.h"
#include "engines/epoch.h"
#include "engines/driver.h"
#include "engines/usage.h"
#include "engines/virt.h"
#include "core/alloc.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct sw_reconciler {
    struct sw_engine *eng;
    struct sw_nodedb *nd;
    struct sw_usage *usage;
    pthread_mutex_t *job_mu;
    /* orphans already reported by this process */
    size_t norphans;
    sw_uuid_t *orphans;
    /* orphan volumes already reported ("pool/volume") */
    size_t nvolumes;
    char **volumes;
};

/* What a missing domain is brought back to, by the server's state. A
 * `provisioning` server is its create job's to make (the pending entry
 * comes back to the consumer, or the sweeper dispatches a silent job
 * again): a restore would do the job's work before it and report a
 * domain that never was there. */
enum restore_how { R_NONE = 0, R_CREATE, R_PAUSED, R_DEFINED };

static const struct {
    const char *state;
    enum restore_how how;
} restore_by_state[] = {
    {"provisioning", R_NONE}, {"running", R_CREATE},   {"suspended", R_PAUSED},
    {"stopped", R_DEFINED},   {"terminating", R_NONE},
};

static enum restore_how how_for(const char *state)
{
    for (size_t i = 0; i < sizeof restore_by_state / sizeof restore_by_state[0]; i++)
        if (strcmp(restore_by_state[i].state, state) == 0)
            return restore_by_state[i].how;
    return R_NONE;
}

void sw_reconcile_plan(const struct sw_reconcile_domain *d, size_t nd,
                       const struct sw_node_server *s, size_t ns, size_t *restore,
                       size_t *nrestore, size_t *orphan, size_t *norphan)
{
    *nrestore = *norphan = 0;
    for (size_t i = 0; i < ns; i++) {
        if (how_for(s[i].state) == R_NONE)
            continue;
        bool found = false;
        for (size_t k = 0; k < nd && !found; k++)
            found = strcasecmp(d[k].uuid, s[i].job.server_id) == 0;
        if (!found)
            restore[(*nrestore)++] = i;
    }
    for (size_t k = 0; k < nd; k++) {
        char want[64];
        bool owned = false;
        for (size_t i = 0; i < ns && !owned; i++)
            owned = strcasecmp(d[k].uuid, s[i].job.server_id) == 0 &&
                    strcmp(d[k].name, sw_domdef_name(s[i].job.server_id, want)) == 0;
        if (!owned)
            orphan[(*norphan)++] = k;
    }
}

bool sw_reconcile_volume_orphan(const char *volume, const struct sw_node_server *s, size_t ns)
{
    for (size_t i = 0; i < ns; i++) {
        char name[64], prefix[64];
        snprintf(prefix, sizeof prefix, "%s-", sw_domdef_name(s[i].job.server_id, name));
        if (strncmp(volume, prefix, strlen(prefix)) == 0)
            return false;
    }
    return true;
}

struct sw_reconciler *sw_reconciler_new(struct sw_engine *eng, struct sw_nodedb *nd,
                                        struct sw_usage *usage, pthread_mutex_t *job_mu)
{
    struct sw_reconciler *r = sw_calloc(1, sizeof *r);
    r->eng = eng;
    r->nd = nd;
    r->usage = usage;
    r->job_mu = job_mu;
    return r;
}

void sw_reconciler_free(struct sw_reconciler *r)
{
    if (!r)
        return;
    free(r->orphans);
    for (size_t i = 0; i < r->nvolumes; i++)
        free(r->volumes[i]);
    free(r->volumes);
    free(r);
}

/* The sw-* domains of the node, defined or transient, running or not. */
static int list_domains(virConnectPtr conn, struct sw_reconcile_domain **out, size_t *n,
                        struct sw_err *err)
{
    virDomainPtr *doms = NULL;
    int k = virConnectListAllDomains(conn, &doms, 0);
    if (k < 0) {
        sw_virt_error(err, "list the node's domains");
        return -1;
    }
    struct sw_reconcile_domain *v = sw_calloc(k ? (size_t)k : 1, sizeof *v);
    size_t m = 0;
    for (int i = 0; i < k; i++) {
        const char *name = virDomainGetName(doms[i]);
        char uuid[VIR_UUID_STRING_BUFLEN];
        if (name && strncmp(name, SW_ENGINE_DOMAIN_PREFIX, strlen(SW_ENGINE_DOMAIN_PREFIX)) == 0 &&
            strlen(name) < sizeof v[m].name && virDomainGetUUIDString(doms[i], uuid) == 0) {
            snprintf(v[m].name, sizeof v[m].name, "%s", name);
            snprintf(v[m].uuid, sizeof v[m].uuid, "%s", uuid);
            m++;
        }
        virDomainFree(doms[i]);
    }
    free(doms);
    *out = v;
    *n = m;
    return 0;
}

static void event(struct sw_reconciler *r, const char *kind, json_t *detail)
{
    char *text = sw_json_dump(detail);
    struct sw_err err;
    sw_err_clear(&err);
    if (sw_nodedb_event(r->nd, kind, text, &err) < 0)
        sw_log_err(SW_LOG_WARN, "reconcile.event_failed", &err);
    free(text);
    json_decref(detail);
}

static void seed_usage(struct sw_reconciler *r, const char *server_id)
{
    if (!r->usage)
        return;
    virDomainPtr dom = virDomainLookupByUUIDString(r->eng->conn, server_id);
    if (!dom)
        return;
    struct sw_usage_reading rd;
    if (sw_usage_read_domain(dom, &rd, NULL) == 0)
        sw_usage_booted(r->usage, &rd, (int64_t)time(NULL));
    virDomainFree(dom);
}

/* Brings one server's domain back; the job lock is held. */
static int restore(struct sw_reconciler *r, const struct sw_node_server *s,
                   struct sw_engine_outcome *out, struct sw_err *err)
{
    const struct sw_msg_node_job *job = &s->job;
    switch (how_for(s->state)) {
    case R_CREATE:
        return sw_engine_run(r->eng, job, out, err);
    case R_DEFINED:
        return sw_engine_define(r->eng, job, out, err);
    case R_PAUSED: {
        if (sw_engine_define(r->eng, job, out, err) < 0)
            return -1;
        /* Started paused: a suspended server never runs guest code. A
         * driver without that flag (the test driver) is paused at once. */
        virDomainPtr dom = sw_virt_lookup(r->eng, job->server_id, "restore the server", err);
        if (!dom)
            return -1;
        int rc = virDomainCreateWithFlags(dom, VIR_DOMAIN_START_PAUSED);
        if (rc < 0 && virDomainIsActive(dom) == 0 && virDomainCreate(dom) == 0)
            rc = virDomainSuspend(dom);
        if (rc < 0)
            sw_virt_error(err, "restore the server");
        out->booted = virDomainIsActive(dom) == 1;
        sw_virt_state_name(dom, out->domain_state);
        virDomainFree(dom);
        return rc;
    }
    case R_NONE:
        break;
    }
    return 0;
}

static bool orphan_reported(struct sw_reconciler *r, const char *uuid)
{
    for (size_t i = 0; i < r->norphans; i++)
        if (strcmp(r->orphans[i], uuid) == 0)
            return true;
    r->orphans = sw_realloc(r->orphans, (r->norphans + 1) * sizeof *r->orphans);
    snprintf(r->orphans[r->norphans++], sizeof(sw_uuid_t), "%s", uuid);
    return false;
}

/* The states of a server the node keeps (sw_nodedb_servers). */
static bool live_state(const char *state)
{
    static const char *const live[] = {"provisioning", "running",     "stopped",
                                       "suspended",    "terminating", NULL};
    for (const char *const *p = live; *p; p++)
        if (strcmp(state, *p) == 0)
            return true;
    return false;
}

/* What one pass over the node's volumes sees. */
struct volume_pass {
    struct sw_reconciler *r;
    const struct sw_node_server *s;
    size_t ns;
    struct sw_reconcile_report *rep;
};

static bool volume_reported(struct sw_reconciler *r, const char *key)
{
    for (size_t i = 0; i < r->nvolumes; i++)
        if (strcmp(r->volumes[i], key) == 0)
            return true;
    r->volumes = sw_realloc(r->volumes, (r->nvolumes + 1) * sizeof *r->volumes);
    r->volumes[r->nvolumes++] = sw_strdup(key);
    return false;
}

/* A volume no listed server owns: its server may have come after the
 * list was read, so its state now decides (still the node's: not an
 * orphan). */
static void volume_seen(void *ctx, const char *pool, const char *volume)
{
    struct volume_pass *v = ctx;
    if (!sw_reconcile_volume_orphan(volume, v->s, v->ns))
        return;
    char id[SW_UUID_LEN + 1] = "", now[16] = "";
    size_t skip = strlen(SW_ENGINE_DOMAIN_PREFIX);
    if (strlen(volume) > skip + SW_UUID_LEN && volume[skip + SW_UUID_LEN] == '-') {
        memcpy(id, volume + skip, SW_UUID_LEN);
        struct sw_err e2;
        sw_err_clear(&e2);
        if (sw_nodedb_server_state(v->r->nd, id, now, &e2) < 0 || live_state(now))
            return; /* unknown, or a server the node runs now */
    }
    v->rep->orphan_volumes++;
    char key[256];
    snprintf(key, sizeof key, "%s/%s", pool, volume);
    if (volume_reported(v->r, key))
        return;
    sw_warn("reconcile.orphan_volume", "pool=%s volume=%s", pool, volume);
    event(v->r, "volume.orphan", json_pack("{s:s, s:s}", "pool", pool, "volume", volume));
}

static void stale_event(struct sw_reconciler *r, const struct sw_reconcile_domain *o,
                        int64_t epoch, const struct sw_epoch_record *rec, const char *state,
                        const char *xml)
{
    sw_warn("reconcile.stale_copy", "domain=%s epoch=%lld current_epoch=%lld state=%s", o->name,
            (long long)epoch, (long long)rec->epoch, state);
    event(r, "domain.stale_copy",
          json_pack("{s:s, s:s, s:I, s:I, s:s, s:s?}", "server_id", o->uuid, "domain", o->name,
                    "epoch", (json_int_t)epoch, "current_epoch", (json_int_t)rec->epoch,
                    "state", state, "xml", xml));
}

/* What an orphan (a sw-* domain of no server this node runs) is by its
 * epoch (epoch.h). A stale copy is fenced here, under the job lock, before
 * the pass starts anything. */
static enum sw_epoch_verdict judge_orphan(struct sw_reconciler *r,
                                          const struct sw_reconcile_domain *o,
                                          struct sw_reconcile_report *rep)
{
    char want[64];
    struct sw_epoch_record rec;
    struct sw_err e;
    sw_err_clear(&e);
    if (strcmp(o->name, sw_domdef_name(o->uuid, want)) != 0 ||
        sw_nodedb_epoch(r->nd, o->uuid, &rec, &e) < 0)
        return SW_EPOCH_UNKNOWN; /* a misnamed domain is no server's copy */
    pthread_mutex_lock(r->job_mu);
    virDomainPtr dom = virDomainLookupByUUIDString(r->eng->conn, o->uuid);
    int64_t epoch = dom ? sw_epoch_of_domain(dom) : 0;
    enum sw_epoch_verdict v = dom ? sw_epoch_judge(epoch, &rec) : SW_EPOCH_UNKNOWN;
    char state[24] = "", *xml = NULL;
    int rc = 0;
    if (v == SW_EPOCH_STALE) {
        sw_virt_state_name(dom, state);
        rc = sw_epoch_fence_copy(dom, &xml, &e);
    }
    if (dom)
        virDomainFree(dom);
    pthread_mutex_unlock(r->job_mu);
    if (v == SW_EPOCH_STALE && rc == 0) {
        rep->stale++;
        stale_event(r, o, epoch, &rec, state, xml);
    } else if (v == SW_EPOCH_STALE) {
        sw_log_err(SW_LOG_ERROR, "reconcile.stale_copy_failed", &e);
        event(r, "domain.stale_copy_failed",
              json_pack("{s:s, s:s, s:s}", "server_id", o->uuid, "code", sw_errc_name(e.code),
                        "error", e.msg));
    }
    free(xml);
    return v;
}

static void report_orphan(struct sw_reconciler *r, const struct sw_reconcile_domain *o)
{
    if (orphan_reported(r, o->uuid))
        return;
    char state[24];
    virDomainPtr dom = virDomainLookupByUUIDString(r->eng->conn, o->uuid);
    sw_virt_state_name(dom, state);
    if (dom)
        virDomainFree(dom);
    sw_warn("reconcile.orphan", "domain=%s uuid=%s state=%s", o->name, o->uuid, state);
    event(r, "domain.orphan",
          json_pack("{s:s, s:s, s:s}", "domain", o->name, "uuid", o->uuid, "state", state));
}

int sw_reconcile_pass(struct sw_reconciler *r, struct sw_reconcile_report *rep,
                      struct sw_err *err)
{
    memset(rep, 0, sizeof *rep);
    struct sw_node_server *s = NULL;
    struct sw_reconcile_domain *d = NULL;
    size_t ns = 0, nd = 0;
    if (sw_nodedb_servers(r->nd, &s, &ns, err) < 0)
        return -1;
    if (list_domains(r->eng->conn, &d, &nd, err) < 0) {
        free(s);
        return -1;
    }
    rep->domains = nd;
    rep->servers = ns;
    size_t *restore_i = sw_calloc(ns + 1, sizeof *restore_i);
    size_t *orphan_i = sw_calloc(nd + 1, sizeof *orphan_i);
    size_t nr, no;
    sw_reconcile_plan(d, nd, s, ns, restore_i, &nr, orphan_i, &no);
    /* Stale copies first: nothing starts while a moved server runs here. */
    size_t keep = 0;
    for (size_t k = 0; k < no; k++)
        if (judge_orphan(r, &d[orphan_i[k]], rep) == SW_EPOCH_UNKNOWN)
            orphan_i[keep++] = orphan_i[k]; /* an incoming migration is no orphan */
    no = keep;

    for (size_t k = 0; k < nr; k++) {
        struct sw_node_server *srv = &s[restore_i[k]];
        const char *id = srv->job.server_id;
        pthread_mutex_lock(r->job_mu);
        /* Under the job lock: a job may have moved the server meanwhile. */
        char now[16];
        struct sw_err e2;
        sw_err_clear(&e2);
        virDomainPtr there = virDomainLookupByUUIDString(r->eng->conn, id);
        if (there) {
            virDomainFree(there);
            pthread_mutex_unlock(r->job_mu);
            continue;
        }
        if (sw_nodedb_server_state(r->nd, id, now, &e2) < 0 || strcmp(now, srv->state) != 0) {
            pthread_mutex_unlock(r->job_mu);
            continue; /* the next pass sees the new state */
        }
        struct sw_engine_outcome out;
        memset(&out, 0, sizeof out);
        int rc = restore(r, srv, &out, &e2);
        if (rc == 0 && out.booted)
            seed_usage(r, id);
        pthread_mutex_unlock(r->job_mu);
        char name[64];
        sw_domdef_name(id, name);
        if (rc == 0) {
            rep->restored++;
            sw_info("reconcile.restored", "server=%s want=%s state=%s", id, srv->state,
                    out.domain_state);
            event(r, "domain.restored",
                  json_pack("{s:s, s:s, s:s, s:s}", "server_id", id, "domain", name, "want",
                            srv->state, "state", out.domain_state));
        } else {
            rep->failed++;
            sw_log_err(SW_LOG_WARN, "reconcile.restore_failed", &e2);
            event(r, "domain.restore_failed",
                  json_pack("{s:s, s:s, s:s, s:s, s:s}", "server_id", id, "domain", name, "want",
                            srv->state, "code", sw_errc_name(e2.code), "error", e2.msg));
        }
    }
    for (size_t k = 0; k < no; k++) {
        rep->orphans++;
        report_orphan(r, &d[orphan_i[k]]);
    }
    struct volume_pass vp = {r, s, ns, rep};
    struct sw_err e3;
    sw_err_clear(&e3);
    if (sw_storage_each_volume(r->eng, volume_seen, &vp, &e3) < 0)
        sw_log_err(SW_LOG_WARN, "reconcile.volumes_unreadable", &e3);
    free(restore_i);
    free(orphan_i);
    free(s);
    free(d);
    return 0;
}
