/* bgloop.h - a background thread of the panel (the image fetcher, the PTR
 * writer): its own PostgreSQL connection, reconnected when lost; a step
 * run again at once while it finds work, else a nap of up to nap_s
 * seconds that a wake-up cuts short; a stop that waits for the step under
 * way (which may poll sw_bgloop_stopping() to give up early).
 */
#ifndef SW_PANEL_BGLOOP_H
#define SW_PANEL_BGLOOP_H

#include <pthread.h>
#include <stdbool.h>

struct sw_db;
struct sw_err;

struct sw_bgloop {
    /* set by the owner (static storage) */
    const char *db_event;   /* log event when the connection fails */
    const char *step_event; /* log event when a step fails */
    int nap_s;
    /* 1: did some work (step again), 0: none now, -1 with err (the
     * connection is dropped and made again) */
    int (*step)(struct sw_db *db, struct sw_err *err);
    /* the loop's own; initialise with SW_BGLOOP_INIT */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool started, stopping, wake;
    char *db_url;
};

#define SW_BGLOOP_INIT .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER

/* Starts l's thread with its own connection to db_url; -1 with err. */
int sw_bgloop_start(struct sw_bgloop *l, const char *db_url, const char *what,
                    struct sw_err *err);
/* Cuts l's nap short: there is work. */
void sw_bgloop_wake(struct sw_bgloop *l);
/* Whether l is asked to stop. */
bool sw_bgloop_stopping(struct sw_bgloop *l);
/* Stops l and waits for its thread (nothing when it never started). */
void sw_bgloop_stop(struct sw_bgloop *l);

#endif
