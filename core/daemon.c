#include "config.h"
#include "core/daemon.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/log.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

static sigset_t stop_signals;
static atomic_bool started, stopping, stop_asked;
static char stopping_event[64];
static const char *daemon_name = "daemon";

/* Sends state to the service manager (sd_notify(3)): nothing happens
 * without NOTIFY_SOCKET in the environment; a socket that is named but
 * refuses the message is logged, and the daemon goes on. */
static void notify(const char *state)
{
    int rc = sd_notify(0, state);
    if (rc < 0)
        sw_warn("daemon.notify_failed", "errno=%d", -rc);
}

/* -1 to go on; else the exit status after printing the usage. */
static int arguments(const struct sw_daemon *d, int argc, char **argv)
{
    if (argc < 2)
        return -1;
    bool help = argc == 2 && strcmp(argv[1], "--help") == 0;
    fputs(d->usage, help ? stdout : stderr);
    return help ? 0 : 2;
}

static void take_signals(void)
{
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
}

int sw_daemon_start(const struct sw_daemon *d, int argc, char **argv, int *status)
{
    *status = arguments(d, argc, argv);
    if (*status >= 0)
        return -1;
    daemon_name = d->name;
    if (sw_log_init(d->name, sw_conf_get("SLIPWAY_LOG_LEVEL")) < 0) {
        fprintf(stderr, "slipway-%s: SLIPWAY_LOG_LEVEL must be debug, info, warn, error or off\n",
                d->name);
        *status = 2;
        return -1;
    }
    if (sw_crypto_init() < 0) {
        struct sw_err err = {0};
        SW_ERR(&err, SW_EINTERNAL, "could not initialise libsodium");
        *status = sw_daemon_fail(&err);
        return -1;
    }
    snprintf(stopping_event, sizeof stopping_event, "%s.stopping", d->name);
    take_signals();
    atomic_store(&started, true);
    return 0;
}

int sw_daemon_wait(void)
{
    char state[128];
    if (!atomic_load(&stopping)) {
        snprintf(state, sizeof state, "READY=1\nSTATUS=slipway-%s serving", daemon_name);
        notify(state);
    }
    int sig = 0;
    if (!atomic_load(&stopping) && sigwait(&stop_signals, &sig) != 0)
        sig = 0;
    if (atomic_load(&stop_asked))
        sig = 0;
    atomic_store(&stopping, true);
    sw_info(stopping_event, "signal=%d", sig);
    snprintf(state, sizeof state, "STOPPING=1\nSTATUS=slipway-%s stopping (signal %d)",
             daemon_name, sig);
    notify(state);
    return sig;
}

void sw_daemon_stop(void)
{
    atomic_store(&stop_asked, true);
    atomic_store(&stopping, true);
    /* Blocked in every thread since the start: it waits for sigwait(). */
    if (atomic_load(&started))
        kill(getpid(), SIGTERM);
}

bool sw_daemon_stopping(void *unused)
{
    (void)unused;
    return atomic_load(&stopping);
}

int sw_daemon_fail(const struct sw_err *err)
{
    sw_log_err(SW_LOG_ERROR, "startup.failed", err);
    char state[352];
    snprintf(state, sizeof state, "STATUS=slipway-%s could not start: %s", daemon_name,
             err->msg);
    notify(state);
    return err->code == SW_EINVALID ? 2 : 1;
}

int sw_daemon_conf_load(struct sw_daemon_conf *c, struct sw_err *err)
{
    memset(c, 0, sizeof *c);
    if (!(c->db_url = sw_conf_require("SLIPWAY_DATABASE_URL", err)) ||
        !(c->redis_url = sw_conf_require("SLIPWAY_REDIS_URL", err)) ||
        sw_conf_long("SLIPWAY_CLAIM_IDLE_MS", 100, 86400000L, &c->claim_idle_ms, err) < 0)
        return -1;
    c->consumer = sw_conf_consumer_name();
    return 0;
}

void sw_daemon_conf_release(struct sw_daemon_conf *c)
{
    free(c->consumer);
    c->consumer = NULL;
}
