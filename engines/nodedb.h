/* nodedb.h - what the engine reads and writes in PostgreSQL beyond its
 * heartbeat: the node's ledger (the admit check, engines/ledger.h), the
 * servers it should run (reconciliation) and holds (the usage sampler:
 * stopped servers are billed for their disks), its ballooning policy, node
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

#include "core/balloon_conf.h"
#include "core/msg.h"
#include "engines/kind.h"
#include "engines/storage.h"

struct sw_err;
struct sw_nodedb;

/* Returns owned; free with sw_nodedb_free(). Connects lazily. */
struct sw_nodedb *sw_nodedb_new(const char *db_url, const char *node_id);
void sw_nodedb_free(struct sw_nodedb *nd);

/* The admit hook of struct sw_engine (ctx: the struct sw_nodedb): reads
 * the node's size and every allocation of it but job's server, and checks
 * sw_ledger_fits(). SW_EUNPROCESSABLE when it does not fit. */
int sw_nodedb_admit(void *ctx, const struct sw_msg_node_job *job, struct sw_err *err);

/* The cancelled hook of struct sw_engine (ctx: the struct sw_nodedb):
 * sw_engine_job_cancelled(node, job) of migration 0031. 1 when an operator
 * cancelled job_id, 0 when not or when it cannot be read (logged). */
int sw_nodedb_job_cancelled(void *ctx, const char *job_id);

/* A server the node should run: the node job that creates it (sizes as
 * the provisioner sends them) and its state in PostgreSQL. */
struct sw_node_server {
    struct sw_msg_node_job job; /* type create; job_id empty */
    char state[16];             /* provisioning|running|stopped|suspended|terminating */
};

/* Every server with node_id = this node in those states. *out is owned
 * (free()). */
int sw_nodedb_servers(struct sw_nodedb *nd, struct sw_node_server **out, size_t *n,
                      struct sw_err *err);
/* The ids of those servers (lower case, sorted by strcmp), for the usage
 * sampler: what the node holds and is billed for, running or not. *out is
 * owned (free()), never NULL on success. */
int sw_nodedb_held(struct sw_nodedb *nd, sw_uuid_t **out, size_t *n, struct sw_err *err);
/* One server's state now, if it is still this node's ("" when not), or
 * "moving" while a migrate or recover job of it runs (migration 0034: its
 * domain is leaving or arriving, and is never restored meanwhile). */
int sw_nodedb_server_state(struct sw_nodedb *nd, const char *server_id, char state[16],
                           struct sw_err *err);

struct sw_epoch_record;

/* What the control plane says of a server once placed on this node: where
 * it lives and its epoch (engines/epoch.h). rec->found is false when it was
 * never placed here. */
int sw_nodedb_epoch(struct sw_nodedb *nd, const char *server_id, struct sw_epoch_record *rec,
                    struct sw_err *err);

/* The placed hook of struct sw_engine (ctx: the struct sw_nodedb): the
 * job's server must still live here at the job's epoch
 * (sw_epoch_job_check); SW_ECONFLICT otherwise. */
int sw_nodedb_placed(void *ctx, const struct sw_msg_node_job *job, struct sw_err *err);

/* Records a node event: kind ("domain.restored"), detail a JSON object
 * text (built with jansson, never by hand). */
int sw_nodedb_event(struct sw_nodedb *nd, const char *kind, const char *detail_json,
                    struct sw_err *err);

/* The node's ballooning policy (nodes.balloon) and its RAM pool ratio in
 * thousandths. A stored policy that does not parse is SW_EINVALID. */
int sw_nodedb_balloon(struct sw_nodedb *nd, struct sw_balloon_conf *conf,
                      int64_t *ram_ratio_milli, struct sw_err *err);

/* Stops the node taking orders: state active -> draining. Returns 1 when
 * it changed, 0 when the node was not active, -1 on error. */
int sw_nodedb_drain(struct sw_nodedb *nd, struct sw_err *err);

/* The node's storage pools (node_pools), in the order the engine tries
 * them, into out[max]; *n how many (0: none declared). */
int sw_nodedb_pools(struct sw_nodedb *nd, struct sw_engine_pool *out, size_t max, size_t *n,
                    struct sw_err *err);

/* Writes one pool's figures (its report columns, reported_at now). */
int sw_nodedb_pool_report(struct sw_nodedb *nd, const struct sw_storage_report *r,
                          struct sw_err *err);

#endif
