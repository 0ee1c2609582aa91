/* migrate.h - the migrate job on the control plane's side (issue 15,
 * README.md "Migration"): the target's claim under its generation guard,
 * what the node job carries, a cold move's second half, and what a
 * finished move settles (the server's node, its allocation, the claim, the
 * event). The node's side is engines/migjob.c.
 */
#ifndef SW_PROV_MIGRATE_H
#define SW_PROV_MIGRATE_H

#include <stdbool.h>

#include "core/msg.h"
#include "core/redis.h"

struct sw_db;
struct sw_err;
struct sw_job_row;
struct sw_prov_thread;
struct sw_redis;

/* The jobs consumer's route for a queued migrate job (jobstate.c's
 * SW_ROUTE_MIGRATE): claims the target (jobs.params.node_id, or placement
 * in the source's location, never the source) in one transaction with the
 * job started on the SOURCE, then dispatches it there. */
enum sw_msg_outcome sw_mig_route(struct sw_prov_thread *t, struct sw_job_row *row,
                                 struct sw_err *err);

/* Fills row->migrate for a migrate job (called by sw_jobdb_load): the
 * target, its URIs, live, shared storage, the phase, the target's epoch. */
int sw_mig_load_job(struct sw_db *db, struct sw_job_row *row, struct sw_err *err);

/* A migrate job's result, in the result's transaction after the origin
 * check: records the measured times in jobs.params; 1 when it is a cold
 * move's source half that succeeded (the job now waits for its target:
 * jobs.node_id = target, params.phase = target, and the server's node is
 * the target already; dispatch it with sw_mig_dispatch_target after the
 * commit), 0 when the job ends as usual. */
int sw_mig_result(struct sw_db *db, const struct sw_job_row *row, const struct sw_msg_result *m,
                  struct sw_err *err);

/* After sw_mig_result answered 1 and the transaction committed (migroute.c). */
int sw_mig_dispatch_target(struct sw_db *db, struct sw_redis *r, const char *job_id,
                           struct sw_err *err);

/* jobdb.c's settle for a finished migrate job (row locked): success moves
 * the server and its allocation to the target (0030's trigger bumps the
 * epoch), drops the claim and emits server.migrated; failure, dead or a
 * cancel drop the claim, and give a server a cold move had handed over back
 * to its source. */
int sw_mig_settle(struct sw_db *db, const struct sw_job_row *row, bool ok, struct sw_err *err);

#endif
