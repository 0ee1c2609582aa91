/* evac.h - node evacuation (issue 15; provisioner/README.md "Evacuation"):
 * the verdict on one server of an evacuation (pure, evac_judge.c,
 * tests/unit/provisioner/test_evac.c) and the thread that drives every
 * running evacuation (evac.c). */
#ifndef SW_PROV_EVAC_H
#define SW_PROV_EVAC_H

#include <stdbool.h>

struct sw_db;
struct sw_err;

/* Where a server of an evacuation stands (evacuation_servers.state). */
enum sw_evac_state {
    SW_EVAC_PENDING = 0, /* to be queued when a slot is free */
    SW_EVAC_WAITING,     /* mid-job (provisioning, another job queued...): retried later */
    SW_EVAC_IN_FLIGHT,   /* its migrate job is queued or running */
    SW_EVAC_MOVED,       /* on another node now */
    SW_EVAC_UNMOVABLE,   /* will not move: the reason says why */
    SW_EVAC_GONE,        /* terminated meanwhile */
    SW_EVAC__COUNT
};

/* A failed migrate job with a transient code is queued again, up to this
 * many migrate jobs per server and evacuation. */
#define SW_EVAC_MAX_TRIES 3

/* "pending", ...; static storage. -1 / NULL when unknown. */
int sw_evac_state_parse(const char *s);
const char *sw_evac_state_name(int st);

/* One server of an evacuation as the thread reads it; strings borrowed. */
struct sw_evac_entry {
    enum sw_evac_state state; /* as recorded */
    const char *srv_state;    /* servers.state */
    bool on_node;             /* servers.node_id is the evacuated node */
    const char *job_state;    /* the evacuation's migrate job for it; NULL: none */
    const char *job_code;     /* its error_code; NULL when none */
    const char *job_error;    /* its error; NULL when none */
    bool busy;                /* another job of the server is queued or running */
    int tries;                /* migrate jobs queued for it by this evacuation */
    bool cancelled;           /* an operator cancelled its migrate job (jobs.cancel_requested_at) */
};

struct sw_evac_verdict {
    enum sw_evac_state state;
    bool queue; /* queue a migrate job now (when a slot is free) */
    const char *code; /* reason code; static storage or the entry's job_code; NULL: none */
    char reason[320]; /* "" when none */
};

/* The server's next state. Final states (moved, unmovable, gone) stay. */
void sw_evac_judge(const struct sw_evac_entry *e, struct sw_evac_verdict *v);

/* The migrate job's "live": a running server moves live when the
 * evacuation asks for it; a stopped one moves cold. */
bool sw_evac_live(bool evacuation_live, const char *srv_state);

/* One pass over every running evacuation, each in its own transaction
 * (FOR UPDATE SKIP LOCKED, so several provisioners share them); *queued
 * counts the migrate jobs queued. 0, or -1 with err. */
int sw_evac_pass(struct sw_db *db, int *queued, struct sw_err *err);

/* The thread's entry point; arg is a struct sw_prov_thread *. */
void *sw_evac_main(void *arg);

#endif
