/* health.h - the node health thread (README.md "High availability"):
 * heartbeats older than SLIPWAY_HA_SUSPECT_S make a node suspect; a suspect
 * node is fenced through its agent (fence.h), one fencer per node across
 * every provisioner; a confirmed fence makes it fenced, then failed, and
 * queues the recover jobs of its ha servers (migrations/0033). Without a
 * confirmed fence nothing is restarted.
 */
#ifndef SW_HEALTH_H
#define SW_HEALTH_H

struct sw_db;
struct sw_err;

/* The thread's settings (SLIPWAY_HA_*), read once at its start. */
struct sw_health_conf {
    long suspect_s;       /* heartbeat older than this: suspect */
    long check_ms;        /* a pass this often */
    long fence_timeout_s; /* an agent's time limit */
};

/* Reads SLIPWAY_HA_SUSPECT_S (default 15), SLIPWAY_HA_CHECK_MS (default
 * 1000) and SLIPWAY_HA_FENCE_TIMEOUT_S (default 30). 0 or -1 with err. */
int sw_health_conf_load(struct sw_health_conf *c, struct sw_err *err);

/* One pass on db: suspects marked, resumed ones back to ok, at most one
 * due fence run, fenced nodes failed with their recoveries queued. 0, or
 * -1 with err (the thread logs it once and reconnects). */
int sw_health_pass(struct sw_db *db, const struct sw_health_conf *c, struct sw_err *err);

/* Thread entry point; arg is a struct sw_prov_thread *. */
void *sw_health_main(void *arg);

#endif
