/* dispatch.h - sending a job to a node's engine: the node job message and
 * the XADD to "node:<id>". Dispatching the same job twice is harmless: the
 * engine's operations are idempotent on the server id.
 */
#ifndef SW_DISPATCH_H
#define SW_DISPATCH_H

#include "core/msg.h"

struct sw_db;
struct sw_err;
struct sw_job_row;
struct sw_redis;

/* Why a job with a secret cannot go to a node without a public key. */
#define SW_DISPATCH_NO_KEY                                                                         \
    "the server's node has no key to seal the password to; an operator must rekey the node "      \
    "(POST /v1/admin/nodes/{id}/rekey) and give its engine the new SLIPWAY_NODE_SECRET_KEY"

/* Fills out for row on node_id: sizes from sw_plan_demand() (ram_mb is the
 * guarantee, max_ram_mb the burst ceiling), os from the template, and the
 * job's secrets (reset_password's hash) sealed to row->node_public_key, so
 * the message never holds them in the clear. Pure. -1 with err
 * (SW_EINVALID, not retryable) when the node has no or a bad public key. */
int sw_dispatch_build(const struct sw_job_row *row, const char *node_id,
                      struct sw_msg_node_job *out, struct sw_err *err);

/* Builds the node job with a fresh nonce, records the dispatch (table
 * job_dispatches: the nonce, the job, the node) and XADDs the job to
 * "node:<node_id>". The result must echo the nonce (results.c). Inside
 * the caller's transaction when it has one. */
int sw_dispatch_send(struct sw_db *db, struct sw_redis *r, const struct sw_job_row *row,
                     const char *node_id, struct sw_err *err);

struct sw_db;

/* One job at a time per server, in order: true when server_id has a job
 * created before job_id (by created_at, then id) that is still queued or
 * running; job_id must then wait. -1 on error. */
int sw_dispatch_blocked(struct sw_db *db, const char *job_id, struct sw_err *err);

/* Announces server_id's next queued job (the oldest) on the "jobs" stream,
 * so the jobs consumer starts it once the job before it finished. Nothing
 * queued: nothing to do. */
int sw_dispatch_kick_next(struct sw_db *db, struct sw_redis *r, const char *server_id,
                          struct sw_err *err);

#endif
