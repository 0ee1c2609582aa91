/* metrics.c - request counters and latency histograms per route, kept in
 * atomics, rendered with job and order counts and the messages refused
 * from nodes (by reason) as Prometheus text. */
#include "config.h"
#include "panel/metrics.h"
#include "core/alloc.h"
#include "core/nodemsg.h"
#include "panel/data.h"
#include "panel/data_jobs.h"
#include "panel/data_orders.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int statuses[] = {200, 201, 202, 204, 400, 401, 403, 404, 405,
                               409, 413, 422, 429, 500, 503};
#define NSTATUS (sizeof statuses / sizeof statuses[0])
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                 0.05,   0.1,   0.25,   0.5,   1,    2.5};
#define NBUCKET (sizeof buckets / sizeof buckets[0])

struct route_stats {
    atomic_uint_fast64_t by_status[NSTATUS + 1]; /* last: any other status */
    atomic_uint_fast64_t le[NBUCKET];            /* cumulative at render */
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_us;
};

static struct route_stats *stats; /* one per route, plus one for unmatched */
static const struct sw_metrics_label *labels;
static size_t nroutes;

void sw_metrics_register(const struct sw_metrics_label *l, size_t n)
{
    if (stats)
        return;
    labels = l;
    nroutes = n;
    stats = sw_calloc(n + 1, sizeof *stats);
}

void sw_metrics_observe(size_t route, int status, double seconds)
{
    if (!stats)
        return;
    if (route > nroutes)
        route = nroutes;
    struct route_stats *s = &stats[route];
    size_t k = 0;
    while (k < NSTATUS && statuses[k] != status)
        k++;
    atomic_fetch_add(&s->by_status[k], 1);
    for (size_t b = 0; b < NBUCKET; b++) {
        if (seconds <= buckets[b]) {
            atomic_fetch_add(&s->le[b], 1);
            break;
        }
    }
    atomic_fetch_add(&s->count, 1);
    atomic_fetch_add(&s->sum_us, (uint_fast64_t)(seconds * 1e6));
}

struct buf {
    char *p;
    size_t len, cap;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = sw_vasprintf(fmt, ap);
    va_end(ap);
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = sw_realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
    free(s);
}

static void route_labels(size_t r, const char **m, const char **p)
{
    *m = r < nroutes ? labels[r].method : "";
    *p = r < nroutes ? labels[r].route : "unmatched";
}

static void put_requests(struct buf *b)
{
    put(b, "# HELP slipway_http_requests_total HTTP requests answered, by route and status.\n"
           "# TYPE slipway_http_requests_total counter\n");
    for (size_t r = 0; stats && r <= nroutes; r++) {
        const char *m, *p;
        route_labels(r, &m, &p);
        for (size_t k = 0; k <= NSTATUS; k++) {
            uint_fast64_t v = atomic_load(&stats[r].by_status[k]);
            if (!v)
                continue;
            if (k < NSTATUS)
                put(b, "slipway_http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} %llu\n",
                    m, p, statuses[k], (unsigned long long)v);
            else
                put(b, "slipway_http_requests_total{method=\"%s\",route=\"%s\",status=\"other\"} %llu\n",
                    m, p, (unsigned long long)v);
        }
    }
}

static void put_latency(struct buf *b)
{
    put(b, "# HELP slipway_http_request_seconds Time to answer, by route.\n"
           "# TYPE slipway_http_request_seconds histogram\n");
    for (size_t r = 0; stats && r <= nroutes; r++) {
        uint_fast64_t count = atomic_load(&stats[r].count);
        if (!count)
            continue;
        const char *m, *p;
        route_labels(r, &m, &p);
        uint_fast64_t cum = 0;
        for (size_t k = 0; k < NBUCKET; k++) {
            cum += atomic_load(&stats[r].le[k]);
            put(b, "slipway_http_request_seconds_bucket{method=\"%s\",route=\"%s\",le=\"%g\"} %llu\n",
                m, p, buckets[k], (unsigned long long)cum);
        }
        put(b, "slipway_http_request_seconds_bucket{method=\"%s\",route=\"%s\",le=\"+Inf\"} %llu\n",
            m, p, (unsigned long long)count);
        put(b, "slipway_http_request_seconds_sum{method=\"%s\",route=\"%s\"} %.6f\n", m, p,
            (double)atomic_load(&stats[r].sum_us) / 1e6);
        put(b, "slipway_http_request_seconds_count{method=\"%s\",route=\"%s\"} %llu\n", m, p,
            (unsigned long long)count);
    }
}

/* A gauge by state from n counts. Nothing when the query failed (n < 0):
 * the counters above still render. */
static void put_gauge(struct buf *b, const char *name, const char *help,
                      const struct sw_data_count *c, int n)
{
    if (n < 0)
        return;
    put(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    for (int i = 0; i < n; i++)
        put(b, "%s{state=\"%s\"} %lld\n", name, c[i].state, (long long)c[i].count);
}

/* Messages from nodes the control plane refused, by reason, from the
 * durable record (rejected_messages): every daemon's refusals, counted
 * across restarts; every reason is shown, 0 included. */
static void put_rejected(struct buf *b, struct sw_db *db)
{
    struct sw_data_count c[16];
    int n = sw_data_counts(db, NULL,
                           "SELECT r.reason, (SELECT count(*) FROM rejected_messages m"
                           "  WHERE m.reason = r.reason) FROM unnest(ARRAY['" SW_REJECT_MALFORMED
                           "', '" SW_REJECT_FORGED_NODE "', '" SW_REJECT_UNKNOWN_JOB
                           "', '" SW_REJECT_NOT_DISPATCHED "', '" SW_REJECT_REPLAY
                           "', '" SW_REJECT_NOT_WAITING "', '" SW_REJECT_NOT_PLACED
                           "', '" SW_REJECT_FOREIGN_DISK
                           "']) AS r(reason)",
                           c, 16);
    if (n < 0)
        return;
    put(b, "# HELP slipway_node_messages_rejected_total Messages from nodes refused by the"
           " control plane, by reason.\n# TYPE slipway_node_messages_rejected_total counter\n");
    for (int i = 0; i < n; i++)
        put(b, "slipway_node_messages_rejected_total{reason=\"%s\"} %lld\n", c[i].state,
            (long long)c[i].count);
}

char *sw_metrics_render(struct sw_db *db)
{
    struct buf b = {NULL, 0, 0};
    put_requests(&b);
    put_latency(&b);
    struct sw_data_count c[16];
    put_gauge(&b, "slipway_jobs", "Jobs by state.", c,
              sw_data_jobs_count_by_state(db, c, 16, NULL));
    put_gauge(&b, "slipway_orders", "Orders by state.", c,
              sw_data_orders_count_by_state(db, c, 16, NULL));
    put_rejected(&b, db);
    return b.p;
}
