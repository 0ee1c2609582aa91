#include "config.h"
#include "panel/handlers.h"
#include "panel/data.h"
#include "panel/metrics.h"
#include "core/db.h"
#include "core/err.h"
#include "core/redis.h"

#include <stdbool.h>
#include <string.h>

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

/* Operators, or anything on this machine (a local Prometheus), may read it. */
SW_HANDLER(sw_h_metrics)
{
    bool local = strcmp(req->remote, "127.0.0.1") == 0 || strcmp(req->remote, "::1") == 0;
    if (!local) {
        if (sw_auth_bearer(req, err) < 0)
            return -1;
        if (req->who.role != SW_ROLE_OPERATOR) {
            SW_ERR(err, SW_EFORBIDDEN, "metrics are for operators");
            return -1;
        }
    }
    resp->status = 200;
    resp->text = sw_metrics_render(req->db);
    resp->content_type = "text/plain; version=0.0.4";
    return 0;
}

SW_HANDLER(sw_h_healthz)
{
    bool db = sw_data_ping(req->db);
    bool redis = redis_ok(req->app);
    (void)err;
    return sw_api_reply(resp, db && redis ? 200 : 503,
                        json_pack("{s:s, s:s, s:s}", "status", db && redis ? "ok" : "degraded",
                                  "database", db ? "ok" : "down", "redis",
                                  redis ? "ok" : "down"));
}

const struct sw_route sw_routes_health[] = {
    {"GET", "/healthz", PUBLIC, SW_OWN_NONE, sw_h_healthz, "liveness: PostgreSQL and Redis reachable", 0},
    {"GET", "/metrics", PUBLIC, SW_OWN_NONE, sw_h_metrics,
     "Prometheus metrics (operator token, or from this machine)", 0},
    SW_ROUTES_END,
};
