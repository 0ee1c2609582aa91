/* ratelimit.c - fixed-window counters in Redis, shared by every panel.
 * Each HTTP worker thread keeps its own Redis connection. */
#include "config.h"
#include "panel/api.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "core/redis.h"

#include <stdlib.h>
#include <time.h>

static __thread struct sw_redis *tls_redis;

static struct sw_redis *conn(struct sw_req *req)
{
    struct sw_err err = {0};
    if (tls_redis && sw_redis_broken(tls_redis)) {
        sw_redis_free(tls_redis);
        tls_redis = NULL;
    }
    if (!tls_redis) {
        tls_redis = sw_redis_connect(req->app->redis_url, &err);
        if (!tls_redis)
            sw_log_err(SW_LOG_WARN, "ratelimit.redis_down", &err);
    }
    return tls_redis;
}

static char *window_key(const char *name, const char *id, long window_s)
{
    long long w = (long long)time(NULL) / window_s;
    return sw_asprintf("rl:%s:%s:%lld", name, id, w);
}

bool sw_api_rate_ok(struct sw_req *req, const char *name, const char *id, long limit,
                    long window_s)
{
    if (limit <= 0)
        return true;
    struct sw_redis *r = conn(req);
    if (!r)
        return true; /* fail open: the limiter being down must not take the API down */
    struct sw_err err = {0};
    char *key = window_key(name, id, window_s);
    long long n = sw_redis_incr(r, key, window_s * 2, &err);
    free(key);
    if (n < 0) {
        sw_log_err(SW_LOG_WARN, "ratelimit.failed", &err);
        return true;
    }
    return n <= limit;
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
