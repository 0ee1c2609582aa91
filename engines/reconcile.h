/* reconcile.h - reconciliation of drift between what the node should run
 * (PostgreSQL: servers on this node in provisioning, running, stopped,
 * suspended or terminating) and what its hypervisor has (sw-* domains).
 *
 * - A server whose domain is missing (a test-driver node after an engine
 *   restart, a host that lost its definitions) is brought back through the
 *   driver (create is idempotent) to the server's state: running
 *   (provisioning, running), paused (suspended: started paused, never run),
 *   defined and off (stopped). A terminating server is not brought back.
 *   Each is recorded as a node event "domain.restored" (or
 *   "domain.restore_failed").
 * - A stale copy, a sw-* domain of a server that lives on another node now
 *   at an epoch >= the domain's (engines/epoch.h), is destroyed and
 *   undefined before anything is restored, its XML kept in the node event
 *   "domain.stale_copy". A domain of a higher epoch than the control
 *   plane's (a migration to this node in flight) is left alone.
 * - An orphan, any other sw-* domain no such server owns, is reported as a
 *   node event "domain.orphan", once per engine process, and never touched.
 * - An orphan volume, a sw-* volume in the node's pools that no such server
 *   owns by name ("sw-<server_id>-..."), is reported as "volume.orphan"
 *   {pool, volume} the same way (a terminate deletes its own volumes; a
 *   stray one is the operator's to look at).
 * A restore holds the engine's job lock and re-reads the server's state
 * first, so it never races a job of the same server (a terminate).
 */
#ifndef SW_ENGINES_RECONCILE_H
#define SW_ENGINES_RECONCILE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/crypto.h"
#include "engines/nodedb.h"

struct sw_engine;
struct sw_err;
struct sw_usage;
struct sw_reconciler;

struct sw_reconcile_domain {
    sw_uuid_t uuid; /* lower case */
    char name[64];
};

/* Pure: which servers need their domain back (indexes into s, *nrestore)
 * and which domains are orphans (indexes into d, *norphan). restore and
 * orphan have room for ns and nd entries. */
void sw_reconcile_plan(const struct sw_reconcile_domain *d, size_t nd,
                       const struct sw_node_server *s, size_t ns, size_t *restore,
                       size_t *nrestore, size_t *orphan, size_t *norphan);

/* Pure: whether volume (a sw-* name) belongs to none of s[ns] by its name
 * "sw-<server_id>-...". */
bool sw_reconcile_volume_orphan(const char *volume, const struct sw_node_server *s, size_t ns);

struct sw_reconcile_report {
    size_t domains, servers, restored, failed, orphans, orphan_volumes;
    size_t stale; /* stale copies fenced (epoch.h) */
};

/* Returns owned; free with sw_reconciler_free(). Everything is borrowed;
 * usage (may be NULL) is seeded with the domains a restore boots. */
struct sw_reconciler *sw_reconciler_new(struct sw_engine *eng, struct sw_nodedb *nd,
                                        struct sw_usage *usage, pthread_mutex_t *job_mu);
void sw_reconciler_free(struct sw_reconciler *r);

/* One pass. 0 with rep filled, or -1 with err set when the hypervisor or
 * the database could not be read (nothing was changed). */
int sw_reconcile_pass(struct sw_reconciler *r, struct sw_reconcile_report *rep,
                      struct sw_err *err);

#endif
