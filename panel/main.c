/* slipway-panel - the HTTP API daemon. */
#include "config.h"
#include "panel/api.h"
#include "panel/authcache.h"
#include "panel/http.h"
#include "panel/image_fetch.h"
#include "panel/ptr_sync.h"
#include "panel/image_store.h"
#include "panel/router.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "core/daemon.h"
#include "core/db.h"
#include "core/err.h"
#include "core/log.h"
#include "core/redis.h"
#include "core/alloc.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct sw_daemon daemon_info = {
    "panel",
    "usage: slipway-panel [--routes]\n"
    "Serves the API; configured by environment variables (slipwayctl config).\n"
    "--routes prints the route table as JSON.\n",
};

static const struct {
    const char *name;
    unsigned role;
} role_names[] = {
    {"operator", SW_ROLE_OPERATOR},
    {"reseller", SW_ROLE_RESELLER},
    {"customer", SW_ROLE_CUSTOMER},
};

/* SLIPWAY_2FA_ROLES, a comma-separated list of role names, as role bits. */
static int tfa_roles(unsigned *out, struct sw_err *err)
{
    const char *v = sw_conf_get("SLIPWAY_2FA_ROLES");
    char *copy = sw_strdup(v ? v : ""), *save = NULL;
    *out = 0;
    for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        size_t i = 0;
        while (i < sizeof role_names / sizeof *role_names && strcmp(role_names[i].name, tok) != 0)
            i++;
        if (i == sizeof role_names / sizeof *role_names) {
            SW_ERR(err, SW_EINVALID,
                   "SLIPWAY_2FA_ROLES: %.32s is no role (operator, reseller, customer)", tok);
            free(copy);
            return -1;
        }
        *out |= role_names[i].role;
    }
    free(copy);
    return 0;
}

int main(int argc, char **argv)
{
    struct sw_err err = {0};
    if (argc == 2 && strcmp(argv[1], "--routes") == 0) {
        /* The route table, for the OpenAPI check and the authorization matrix. */
        json_t *routes = sw_routes_json();
        char *text = json_dumps(routes, JSON_INDENT(1));
        puts(text);
        free(text);
        json_decref(routes);
        return 0;
    }
    int status;
    if (sw_daemon_start(&daemon_info, argc, argv, &status) < 0)
        return status;
    struct sw_panel app = {0};
    const char *hex = sw_conf_require("SLIPWAY_SECRET_KEY", &err);
    long threads, pool, ttl;
    if (!hex || sw_secret_key_parse(hex, app.key, &err) < 0 ||
        sw_conf_long("SLIPWAY_THREADS", 0, 256, &threads, &err) < 0 ||
        sw_conf_long("SLIPWAY_DB_POOL", 0, 1000, &pool, &err) < 0 ||
        sw_conf_long("SLIPWAY_SESSION_TTL", 60, 365L * 86400, &ttl, &err) < 0)
        return sw_daemon_fail(&err);
    long ops, mem_mb;
    if (sw_conf_long("SLIPWAY_PWHASH_OPSLIMIT", 1, 20, &ops, &err) < 0 ||
        sw_conf_long("SLIPWAY_PWHASH_MEMLIMIT_MB", 8, 4096, &mem_mb, &err) < 0 ||
        sw_conf_long("SLIPWAY_LOGIN_FAILURES_PER_ACCOUNT", 1, 1000000,
                     &app.login_fail_account, &err) < 0 ||
        sw_conf_long("SLIPWAY_LOGIN_FAILURES_PER_ADDRESS", 1, 1000000,
                     &app.login_fail_address, &err) < 0 ||
        sw_conf_long("SLIPWAY_ORDER_RATE", 0, 1000000, &app.order_rate, &err) < 0 ||
        tfa_roles(&app.tfa_roles, &err) < 0)
        return sw_daemon_fail(&err);
    long http_timeout, http_max, http_per_ip;
    if (sw_conf_long("SLIPWAY_HTTP_TIMEOUT", 1, 3600, &http_timeout, &err) < 0 ||
        sw_conf_long("SLIPWAY_HTTP_MAX_CONNECTIONS", 1, 1000000, &http_max, &err) < 0 ||
        sw_conf_long("SLIPWAY_HTTP_MAX_PER_IP", 0, 1000000, &http_per_ip, &err) < 0)
        return sw_daemon_fail(&err);
    struct sw_http_limits limits = {(unsigned)http_timeout, (unsigned)http_max,
                                    (unsigned)http_per_ip};
    char why[256];
    if (sw_router_check(why, sizeof why) < 0) {
        SW_ERR(&err, SW_EINTERNAL, "%s", why);
        return sw_daemon_fail(&err);
    }
    if (threads == 0) {
        /* Two per core: a request's thread waits on PostgreSQL (and Redis)
         * about as long as it computes, so with one per core the cores sat
         * idle while every thread waited (bench/api.sh on 2 cores: 15-25%
         * more requests/s on every route; little more past 2 per core). */
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = 2 * (n > 0 ? n : 1);
    }
    if (pool == 0)
        pool = threads + 2;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    /* At most one password hash per core at once; the rest queue. */
    sw_password_configure((unsigned long long)ops, (size_t)mem_mb * 1024 * 1024,
                          cores > 0 ? (unsigned)cores : 2);
    app.session_ttl_s = ttl;
    app.redis_url = sw_strdup(sw_conf_get("SLIPWAY_REDIS_URL"));
    pthread_mutex_init(&app.redis_mu, NULL);
    app.pool = sw_db_pool_new(sw_conf_get("SLIPWAY_DATABASE_URL"), (int)pool, &err);
    if (!app.pool)
        return sw_daemon_fail(&err);

    if (sw_authcache_start(sw_conf_get("SLIPWAY_DATABASE_URL"), &err) < 0)
        return sw_daemon_fail(&err);
    if (sw_image_store_init(&err) < 0 ||
        sw_image_fetch_start(sw_conf_get("SLIPWAY_DATABASE_URL"), &err) < 0 ||
        sw_ptr_sync_start(sw_conf_get("SLIPWAY_DATABASE_URL"), &err) < 0)
        return sw_daemon_fail(&err);

    unsigned port = 0;
    const char *listen = sw_conf_get("SLIPWAY_LISTEN");
    struct sw_http *http = sw_http_start(&app, listen, (unsigned)threads, &limits, &port, &err);
    if (!http)
        return sw_daemon_fail(&err);
    char host[64];
    snprintf(host, sizeof host, "%.*s", (int)(strrchr(listen, ':') - listen), listen);
    char *url = sw_asprintf("http://%s:%u", host, port);
    sw_image_store_set_bound_url(url);
    const char *addr_file = sw_conf_get("SLIPWAY_ADDR_FILE");
    if (addr_file) {
        char *tmp = sw_asprintf("%s.tmp", addr_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%s\n", url) < 0 || fclose(f) != 0 || rename(tmp, addr_file) != 0) {
            SW_ERR(&err, SW_EINTERNAL, "could not write SLIPWAY_ADDR_FILE");
            free(tmp);
            return sw_daemon_fail(&err);
        }
        free(tmp);
    }
    sw_info("panel.listening",
            "url=%s threads=%ld db_pool=%ld http_timeout=%ld http_max=%ld http_per_ip=%ld", url,
            threads, pool, http_timeout, http_max, http_per_ip);

    sw_daemon_wait();
    sw_http_stop(http);
    sw_image_fetch_stop();
    sw_ptr_sync_stop();
    sw_authcache_stop();
    sw_db_pool_free(app.pool);
    sw_redis_free(app.redis);
    sodium_memzero(app.key, sizeof app.key);
    free(app.redis_url);
    free(url);
    return 0;
}
