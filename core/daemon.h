/* daemon.h - the start-up and the stop every slipway daemon shares.
 *
 *   int main(int argc, char **argv)
 *   {
 *       static const struct sw_daemon d = {"billing", "usage: slipway-billing\n..."};
 *       int status;
 *       if (sw_daemon_start(&d, argc, argv, &status) < 0)
 *           return status;
 *       ... its own configuration (sw_daemon_fail on error), its threads ...
 *       sw_daemon_wait();
 *       ... stop and join its threads, free ...
 *   }
 *
 * sw_daemon_start() answers --help (the usage on stdout, exit 0) and refuses
 * any other argument (the usage on stderr, exit 2); sets the log component
 * and level from SLIPWAY_LOG_LEVEL (an unknown level: exit 2); initialises
 * libsodium (exit 1); ignores SIGPIPE, so a peer closing a socket is an
 * error return, not the end of the process; and blocks SIGINT and SIGTERM
 * in the calling thread. Every thread started after it inherits that mask,
 * so the signals are taken only by sigwait() in sw_daemon_wait(), in main,
 * and never end the process in the middle of a thread's work.
 *
 * Readiness (systemd's Type=notify, sd_notify(3)): when NOTIFY_SOCKET is
 * set, sw_daemon_wait() sends READY=1 as it starts waiting (main has
 * started everything it serves with by then: the panel listens, the
 * workers run, the engine holds its hypervisor connection) and STOPPING=1
 * once a stop is asked; each with a STATUS= line, as is sw_daemon_fail()'s
 * reason. Without NOTIFY_SOCKET nothing is sent.
 */
#ifndef SW_DAEMON_H
#define SW_DAEMON_H

#include <stdbool.h>

struct sw_err;

struct sw_daemon {
    const char *name;  /* "panel", "billing": log component and event prefix; static storage */
    const char *usage; /* the usage text, newline-terminated; static storage */
};

/* 0 when main goes on; -1 when it must return *status, having said why
 * (see above). Call it once, before any thread is started. */
int sw_daemon_start(const struct sw_daemon *d, int argc, char **argv, int *status);

/* Tells the service manager READY=1 (unless sw_daemon_stop() came first),
 * waits for SIGINT or SIGTERM unless sw_daemon_stop() came first, then sets
 * the stop flag, logs "<name>.stopping signal=N", tells STOPPING=1 and
 * returns the signal (0 when sw_daemon_stop() asked). Called by main once
 * its work is started and it serves. */
int sw_daemon_wait(void);

/* Sets the stop flag and wakes sw_daemon_wait() (a thread that could not
 * start, say). Safe from any thread. */
void sw_daemon_stop(void);

/* The stop flag. The argument is unused, so the function serves as
 * struct sw_worker's and sw_sleep_ms()'s stopping callback as it is. */
bool sw_daemon_stopping(void *unused);

/* Logs err as event startup.failed, tells the service manager its message
 * (STATUS=) and returns main's exit status: 2 for a configuration error
 * (SW_EINVALID), else 1. */
int sw_daemon_fail(const struct sw_err *err);

/* What every stream-consuming daemon reads (provisioner, billing, engine). */
struct sw_daemon_conf {
    const char *db_url;    /* SLIPWAY_DATABASE_URL; borrowed (environment or conf table) */
    const char *redis_url; /* SLIPWAY_REDIS_URL; borrowed (environment or conf table) */
    long claim_idle_ms;    /* SLIPWAY_CLAIM_IDLE_MS, 100 ms to a day */
    char *consumer;        /* SLIPWAY_CONSUMER, else HOSTNAME-PID; owned */
};

/* Fills c; -1 with SW_EINVALID naming the first key that is wrong (c then
 * owns nothing). Release with sw_daemon_conf_release(). */
int sw_daemon_conf_load(struct sw_daemon_conf *c, struct sw_err *err);
/* Frees what c owns; c may be zeroed or released already. */
void sw_daemon_conf_release(struct sw_daemon_conf *c);

#endif
