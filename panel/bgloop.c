/* bgloop.c - a background thread of the panel (bgloop.h). */
#include "config.h"
#include "panel/bgloop.h"
#include "core/alloc.h"
#include "core/db.h"
#include "core/err.h"
#include "core/log.h"

#include <stdlib.h>
#include <time.h>

bool sw_bgloop_stopping(struct sw_bgloop *l)
{
    pthread_mutex_lock(&l->mu);
    bool s = l->stopping;
    pthread_mutex_unlock(&l->mu);
    return s;
}

/* Waits up to nap_s for a wake-up or a stop. */
static void nap(struct sw_bgloop *l)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += l->nap_s;
    pthread_mutex_lock(&l->mu);
    while (!l->wake && !l->stopping)
        if (pthread_cond_timedwait(&l->cv, &l->mu, &ts) != 0)
            break;
    l->wake = false;
    pthread_mutex_unlock(&l->mu);
}

static void *run(void *arg)
{
    struct sw_bgloop *l = arg;
    struct sw_db *db = NULL;
    while (!sw_bgloop_stopping(l)) {
        struct sw_err err = {0};
        if (!db && !(db = sw_db_connect(l->db_url, &err))) {
            sw_log_err(SW_LOG_WARN, l->db_event, &err);
            nap(l);
            continue;
        }
        int found = l->step(db, &err);
        if (found > 0)
            continue;
        if (found < 0) {
            sw_log_err(SW_LOG_WARN, l->step_event, &err);
            sw_db_free(db);
            db = NULL;
        }
        nap(l);
    }
    sw_db_free(db);
    return NULL;
}

int sw_bgloop_start(struct sw_bgloop *l, const char *db_url, const char *what,
                    struct sw_err *err)
{
    l->db_url = sw_strdup(db_url);
    l->stopping = false;
    if (pthread_create(&l->thread, NULL, run, l) != 0) {
        SW_ERR(err, SW_EINTERNAL, "could not start the %s", what);
        free(l->db_url);
        l->db_url = NULL;
        return -1;
    }
    l->started = true;
    return 0;
}

void sw_bgloop_wake(struct sw_bgloop *l)
{
    pthread_mutex_lock(&l->mu);
    l->wake = true;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

void sw_bgloop_stop(struct sw_bgloop *l)
{
    if (!l->started)
        return;
    pthread_mutex_lock(&l->mu);
    l->stopping = true;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    l->started = false;
    free(l->db_url);
    l->db_url = NULL;
}
