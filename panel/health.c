#include "config.h"
#include "panel/handlers.h"
#include "core/db.h"
#include "core/err.h"
#include "core/redis.h"

#include <stdbool.h>

static bool redis_ok(struct sw_panel *app)
{
    struct sw_err err = {0};
    pthread_mutex_lock(&app->redis_mu);
    if (!app->redis)
        app->redis = sw_redis_connect(app->redis_url, &err);
    bool ok = app->redis && sw_redis_ping(app->redis, &err) == 0;
    if (!ok && app->redis && sw_redis_broken(app->redis)) {
        sw_redis_free(app->redis);
        app->redis = NULL;
    }
    pthread_mutex_unlock(&app->redis_mu);
    return ok;
}

SW_HANDLER(sw_h_healthz)
{
    bool db = sw_db_run(req->db, NULL, "SELECT 1", 0, NULL) >= 0;
    bool redis = redis_ok(req->app);
    (void)err;
    return sw_api_reply(resp, db && redis ? 200 : 503,
                        json_pack("{s:s, s:s, s:s}", "status", db && redis ? "ok" : "degraded",
                                  "database", db ? "ok" : "down", "redis",
                                  redis ? "ok" : "down"));
}
