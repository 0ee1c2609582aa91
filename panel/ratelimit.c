/* ratelimit.c - fixed-window counters in Redis, shared by every panel.
 * Each HTTP worker thread keeps its own Redis connection. */
#include "config.h"
#include "panel/api.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "core/redis.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

/* One connection per HTTP worker thread, closed when the thread ends. */
static pthread_key_t redis_key;
static pthread_once_t redis_key_once = PTHREAD_ONCE_INIT;

static void free_conn(void *r)
{
    sw_redis_free(r);
}

static void make_key(void)
{
    pthread_key_create(&redis_key, free_conn);
}

static struct sw_redis *conn(struct sw_req *req)
{
    pthread_once(&redis_key_once, make_key);
    struct sw_redis *r = pthread_getspecific(redis_key);
    struct sw_err err = {0};
    if (r && sw_redis_broken(r)) {
        sw_redis_free(r);
        r = NULL;
    }
    if (!r) {
        r = sw_redis_connect(req->app->redis_url, &err);
        if (!r)
            sw_log_err(SW_LOG_WARN, "ratelimit.redis_down", &err);
    }
    pthread_setspecific(redis_key, r);
    return r;
}

static char *window_key(const char *name, const char *id, long window_s)
{
    long long w = (long long)time(NULL) / window_s;
    return sw_asprintf("rl:%s:%s:%lld", name, id, w);
}

long sw_api_rate_hit(struct sw_req *req, const char *name, const char *id, long window_s)
{
    struct sw_redis *r = conn(req);
    if (!r)
        return 0; /* fail open: the limiter being down must not take the API down */
    struct sw_err err = {0};
    char *key = window_key(name, id, window_s);
    long long n = sw_redis_incr(r, key, window_s * 2, &err);
    free(key);
    if (n < 0) {
        sw_log_err(SW_LOG_WARN, "ratelimit.failed", &err);
        return 0;
    }
    return (long)n;
}

bool sw_api_rate_ok(struct sw_req *req, const char *name, const char *id, long limit,
                    long window_s)
{
    return limit <= 0 || sw_api_rate_hit(req, name, id, window_s) <= limit;
}

long sw_api_rate_count(struct sw_req *req, const char *name, const char *id, long window_s)
{
    struct sw_redis *r = conn(req);
    if (!r)
        return 0;
    struct sw_err err = {0};
    char *key = window_key(name, id, window_s);
    long long n = sw_redis_get_int(r, key, &err);
    free(key);
    return n < 0 ? 0 : (long)n;
}
