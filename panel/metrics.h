/* metrics.h - request counters and latency histograms per route, kept in
 * atomics, rendered with job and order counts as Prometheus text.
 *
 * Metrics know nothing of the route table: whoever owns it registers each
 * route's labels once (the router does, when it builds its table), and
 * then counts requests by the route's index in what it registered.
 */
#ifndef SW_PANEL_METRICS_H
#define SW_PANEL_METRICS_H

#include <stddef.h>

struct sw_db;

/* One route's labels; strings borrowed, static storage. */
struct sw_metrics_label {
    const char *method;
    const char *route;
};

/* Registers n routes' labels (label i names route index i; the array is
 * borrowed and must live as long as the process). Call once, before any
 * other call here is made from another thread; later calls are ignored. */
void sw_metrics_register(const struct sw_metrics_label *labels, size_t n);
/* Counts one answered request of route index; an index past the registered
 * routes counts as "unmatched". Nothing is counted before registration. */
void sw_metrics_observe(size_t route, int status, double seconds);
/* Renders the Prometheus text; returns owned (free()). */
char *sw_metrics_render(struct sw_db *db);

#endif
