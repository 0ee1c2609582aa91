/* nodedb.h - what the engine reads and writes in PostgreSQL beyond its
 * heartbeat: the node's ledger (the admit check, engines/ledger.h), the
 * servers it should run (reconciliation), its ballooning policy, node
 * events (node_events) and the draining switch.
 *
 * One connection behind a mutex, shared by the engine's threads (the
 * consumer's admit checks, the reconciler, the balloon loop): each call is
 * one short statement. A broken connection is reconnected on the next call;
 * a failure is SW_EUNAVAILABLE + retryable.
 */
#ifndef SW_ENGINES_NODEDB_H
#define SW_ENGINES_NODEDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/msg.h"

struct sw_err;
struct sw_nodedb;

/* Returns owned; free with sw_nodedb_free(). Connects lazily. */
struct sw_nodedb *sw_nodedb_new(const char *db_url, const char *node_id);
void sw_nodedb_free(struct sw_nodedb *nd);

/* The admit hook of struct sw_engine (ctx: the struct sw_nodedb): reads
 * the node's size and every allocation of it but job's server, and checks
 * sw_ledger_fits(). SW_EUNPROCESSABLE when it does not fit. */
int sw_nodedb_admit(void *ctx, const struct sw_msg_node_job *job, struct sw_err *err);

#endif
