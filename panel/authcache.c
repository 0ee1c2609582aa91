/* authcache.c - see authcache.h. */
#include "config.h"
#include "panel/authcache.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "core/redis.h"
#include "core/worker.h"

#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOTS 8192 /* a power of two */

struct entry {
    bool used;
    char hash[SW_TOKEN_HASH_HEX + 1];
    struct sw_principal who;
    char reseller_id[SW_UUID_LEN + 1];
    int64_t expires_at;     /* unix seconds; 0: none */
    long long cached_ms;    /* monotonic */
    long long refreshed_ms; /* monotonic: last_used_at last refreshed by this panel */
};

static struct entry *slots;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint_fast64_t epoch;
static atomic_bool ready; /* the listener is listening: entries can be trusted */
static atomic_bool stopping;
static pthread_t listener;
static bool started;
static char *listen_url;

static size_t slot_of(const char *hash)
{
    size_t v = 0;
    for (int i = 0; i < 8; i++) {
        char c = hash[i];
        v = (v << 4) | (size_t)(c >= 'a' ? c - 'a' + 10 : c - '0');
    }
    return v & (SLOTS - 1);
}

uint64_t sw_authcache_epoch(void)
{
    return atomic_load(&epoch);
}

void sw_authcache_flush(void)
{
    pthread_mutex_lock(&mu);
    atomic_fetch_add(&epoch, 1);
    if (slots)
        memset(slots, 0, SLOTS * sizeof *slots);
    pthread_mutex_unlock(&mu);
}

bool sw_authcache_get(const char *hash, struct sw_principal *who, bool *refresh)
{
    if (!atomic_load(&ready) || strlen(hash) != SW_TOKEN_HASH_HEX)
        return false;
    long long now = sw_now_ms();
    bool hit = false;
    pthread_mutex_lock(&mu);
    struct entry *e = &slots[slot_of(hash)];
    if (e->used && sodium_memcmp(e->hash, hash, SW_TOKEN_HASH_HEX) == 0 &&
        now - e->cached_ms < SW_AUTHCACHE_TTL_S * 1000LL &&
        (e->expires_at == 0 || (int64_t)time(NULL) < e->expires_at)) {
        *who = e->who;
        *refresh = now - e->refreshed_ms >= 60000;
        if (*refresh)
            e->refreshed_ms = now;
        hit = true;
    }
    pthread_mutex_unlock(&mu);
    return hit;
}

void sw_authcache_put(const char *hash, const struct sw_principal *who, const char *reseller_id,
                      int64_t expires_at, uint64_t at_epoch)
{
    if (!atomic_load(&ready) || strlen(hash) != SW_TOKEN_HASH_HEX)
        return;
    pthread_mutex_lock(&mu);
    /* Checked under the lock invalidations take: nothing was invalidated
     * between the caller's lookup and now. */
    if (atomic_load(&epoch) == at_epoch) {
        struct entry *e = &slots[slot_of(hash)];
        memset(e, 0, sizeof *e);
        e->used = true;
        memcpy(e->hash, hash, SW_TOKEN_HASH_HEX + 1);
        e->who = *who;
        snprintf(e->reseller_id, sizeof e->reseller_id, "%s", reseller_id ? reseller_id : "");
        e->expires_at = expires_at;
        e->cached_ms = e->refreshed_ms = sw_now_ms();
    }
    pthread_mutex_unlock(&mu);
}

/* "t:<hash>" drops that token; "a:<id>" every token of that account or of
 * its customers; anything else empties the cache. */
static void invalidate(const char *what)
{
    pthread_mutex_lock(&mu);
    atomic_fetch_add(&epoch, 1);
    if (strncmp(what, "t:", 2) == 0 && strlen(what + 2) == SW_TOKEN_HASH_HEX) {
        struct entry *e = &slots[slot_of(what + 2)];
        if (e->used && strcmp(e->hash, what + 2) == 0)
            memset(e, 0, sizeof *e);
    } else if (strncmp(what, "a:", 2) == 0) {
        for (size_t i = 0; i < SLOTS; i++)
            if (slots[i].used && (strcmp(slots[i].who.account_id, what + 2) == 0 ||
                                  strcmp(slots[i].reseller_id, what + 2) == 0))
                memset(&slots[i], 0, sizeof slots[i]);
    } else {
        memset(slots, 0, SLOTS * sizeof *slots);
    }
    pthread_mutex_unlock(&mu);
}

static bool is_stopping(void *arg)
{
    (void)arg;
    return atomic_load(&stopping);
}

static void *listen_main(void *arg)
{
    (void)arg;
    long backoff = 0;
    while (!atomic_load(&stopping)) {
        PGconn *c = PQconnectdb(listen_url);
        PGresult *r = PQstatus(c) == CONNECTION_OK ? PQexec(c, "LISTEN sw_auth") : NULL;
        if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
            PQclear(r);
            sw_warn("authcache.listen_failed", "msg=\"bearer lookups go to the database\"");
            PQfinish(c);
            backoff = sw_backoff_next(backoff);
            sw_sleep_ms(backoff, is_stopping, NULL);
            continue;
        }
        PQclear(r);
        backoff = 0;
        /* Notifications sent while nobody listened are lost: start empty. */
        sw_authcache_flush();
        atomic_store(&ready, true);
        sw_info("authcache.listening", "ttl_s=%d", SW_AUTHCACHE_TTL_S);
        while (!atomic_load(&stopping)) {
            struct pollfd p = {.fd = PQsocket(c), .events = POLLIN};
            int n = poll(&p, 1, 500);
            if (n < 0 || (n > 0 && !PQconsumeInput(c)) || PQstatus(c) != CONNECTION_OK)
                break;
            PGnotify *note;
            while ((note = PQnotifies(c))) {
                invalidate(note->extra);
                PQfreemem(note);
            }
        }
        atomic_store(&ready, false);
        sw_authcache_flush();
        PQfinish(c);
        if (!atomic_load(&stopping))
            sw_warn("authcache.listener_lost", "msg=\"reconnecting; cache bypassed\"");
    }
    return NULL;
}

int sw_authcache_start(const char *db_url, struct sw_err *err)
{
    slots = sw_calloc(SLOTS, sizeof *slots);
    listen_url = sw_strdup(db_url);
    if (pthread_create(&listener, NULL, listen_main, NULL) != 0) {
        SW_ERR(err, SW_EINTERNAL, "could not start the token cache listener");
        return -1;
    }
    started = true;
    return 0;
}

void sw_authcache_stop(void)
{
    if (!started)
        return;
    atomic_store(&stopping, true);
    pthread_join(listener, NULL);
    atomic_store(&ready, false);
    free(slots);
    slots = NULL;
    free(listen_url);
    started = false;
}
