/* jobstate.h - the job state machine as one table: what each job type
 * does to its server, its order and its allocation when it is dispatched,
 * when it succeeds and when it fails. Pure; README.md draws the machine.
 */
#ifndef SW_JOBSTATE_H
#define SW_JOBSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How the jobs consumer starts a queued job of this type. */
enum sw_job_route {
    SW_ROUTE_PLACE = 0,    /* schedule, claim a node, dispatch (create) */
    SW_ROUTE_NODE,         /* dispatch to the server's node; fail without one */
    SW_ROUTE_NODE_OR_DONE, /* dispatch to the server's node; succeed at once without one */
    SW_ROUTE_RESIZE,       /* claim the new plan's difference on the server's node, dispatch */
    SW_ROUTE_MIGRATE,      /* claim the target, dispatch to the source (migrate.h) */
    SW_ROUTE_RECOVER,      /* a failed node's server claimed on a healthy node (recover.c) */
};

/* Special values for server states in the table (else enum sw_server_state). */
#define SW_SRV_KEEP (-1)        /* leave the server's state as it is */
#define SW_SRV_FROM_DOMAIN (-2) /* what the engine reports (sw_jobstate_from_domain) */
/* The same, except that a suspended server stays suspended (recover: its
 * domain defined, stopped, on its new node; only unsuspend lifts it). */
#define SW_SRV_FROM_DOMAIN_UNLESS_SUSPENDED (-3)

/* Bits (1u << enum sw_server_state). */
#define SW_SRVMASK(s) (1u << (s))

/* The states of a failed node's ha server that a recover job moves
 * (migrations 0033, 0036, 0039 queue it for these). */
#define SW_RECOVER_STATES                                                                          \
    (SW_SRVMASK(SW_SRV_RUNNING) | SW_SRVMASK(SW_SRV_STOPPED) | SW_SRVMASK(SW_SRV_SUSPENDED))

struct sw_job_effect {
    int type;         /* enum sw_job_type */
    int route;        /* enum sw_job_route */
    int srv_dispatch; /* server state when the job goes to a node */
    int srv_ok;       /* when it succeeds */
    int srv_fail;     /* when it fails */
    /* server states the result may move the server out of: a late result
     * never resurrects a terminated server */
    unsigned srv_from;
    const char *order_ok;   /* orders.state on success; NULL: untouched */
    const char *order_fail; /* on failure */
    bool release_ok;        /* DELETE the allocation on success */
    bool release_fail;      /* on failure */
};

/* Borrowed (static table); NULL for an out-of-range type. */
const struct sw_job_effect *sw_jobstate_effect(int type);

/* Server state after a job finished: the table's ok/fail state, resolved
 * through domain_state for SW_SRV_FROM_DOMAIN (and _UNLESS_SUSPENDED);
 * SW_SRV_KEEP when the server should not change (unknown domain state, or
 * not in srv_from). */
int sw_jobstate_server_after(const struct sw_job_effect *e, bool ok, const char *domain_state,
                             int current_state);

/* Maps an engine's domain_state (running|stopped|suspended|absent) to a
 * server state; -1 when it names none (absent, empty, unknown). */
int sw_jobstate_from_domain(const char *domain_state);

/* Job states a consumer must leave alone (succeeded, failed, dead). */
bool sw_jobstate_terminal(int job_state);

/* Deliveries to an engine after which a retryable failure makes the job
 * dead. */
#define SW_JOB_MAX_ATTEMPTS 5

/* True when a failed, retryable result should be dispatched again. */
bool sw_jobstate_should_retry(bool retryable, int attempts);

/* Backoff before dispatching again after the attempts-th delivery failed:
 * base 1 s doubling per attempt (1, 2, 4, 8 s, capped at 60 s), "equal
 * jitter": a uniform value in [base/2, base] drawn from rnd. */
long sw_jobstate_backoff_ms(int attempts, uint32_t rnd);

#endif
