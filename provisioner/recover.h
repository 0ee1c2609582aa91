/* recover.h - the recover job's start (README.md "High availability"): a
 * server of a failed node is claimed on a healthy node of the same
 * location that sees its shared pools, through placement and the claim's
 * generation guard; its node_id and allocation move in that transaction
 * (0030's trigger bumps its epoch), then the job goes to the new node,
 * whose engine defines and starts the domain from the shared volumes.
 */
#ifndef SW_RECOVER_H
#define SW_RECOVER_H

#include "core/redis.h"

struct sw_err;
struct sw_job_row;
struct sw_prov_thread;

/* The jobs consumer's route for a queued recover job (jobs.c). */
enum sw_msg_outcome sw_recover_start(struct sw_prov_thread *t, struct sw_job_row *row,
                                     struct sw_err *err);

#endif
