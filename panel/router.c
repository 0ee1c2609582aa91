#include "config.h"
#include "panel/router.h"
#include "panel/authcache.h"
#include "panel/data_accounts.h"
#include "panel/data_audit.h"
#include "panel/data_backups.h"
#include "panel/data_invoices.h"
#include "panel/data_jobs.h"
#include "panel/data_orders.h"
#include "panel/data_servers.h"
#include "panel/data_tokens.h"
#include "panel/data_webhooks.h"
#include "panel/errmap.h"
#include "panel/handlers.h"
#include "panel/idempotency.h"
#include "panel/metrics.h"
#include "core/alloc.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/err.h"
#include "core/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Every resource file's table, in matching order. */
static const struct sw_route *const tables[] = {
    sw_routes_health, sw_routes_auth, sw_routes_account, sw_routes_twofactor, sw_routes_pwreset, sw_routes_catalog,  sw_routes_orders,
    sw_routes_servers, sw_routes_admin, sw_routes_reseller,
    sw_routes_admin_catalog, sw_routes_admin_accounts, sw_routes_admin_ops,
    sw_routes_invoices, sw_routes_webhooks,
    sw_routes_admin_events,
    sw_routes_admin_images, sw_routes_node_images, /* the image library */
    sw_routes_isos, /* ISO installs */
    sw_routes_snapshots, /* customers' snapshots */
    sw_routes_console, /* console tickets (the WebSocket itself: http.c, console.h) */
    sw_routes_backups, /* backups */
    sw_routes_admin_migrate, /* migration (issue 15) */
    sw_routes_admin_ha, /* high availability */
    sw_routes_admin_evacuate, /* node evacuation */
    sw_routes_openapi, /* the API's own description */
    sw_routes_ptr, /* reverse DNS */
};

static const struct sw_route **flat;
static size_t nflat;
static pthread_once_t flat_once = PTHREAD_ONCE_INIT;

static void build_flat(void)
{
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const struct sw_route *r = tables[t]; r->method; r++)
            nflat++;
    flat = sw_calloc(nflat, sizeof *flat);
    struct sw_metrics_label *labels = sw_calloc(nflat, sizeof *labels);
    size_t i = 0;
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const struct sw_route *r = tables[t]; r->method; r++) {
            labels[i] = (struct sw_metrics_label){r->method, r->pattern};
            flat[i++] = r;
        }
    sw_metrics_register(labels, nflat);
}

const struct sw_route *const *sw_routes(size_t *count)
{
    pthread_once(&flat_once, build_flat);
    *count = nflat;
    return flat;
}

int sw_router_check(char *msg, size_t n)
{
    size_t count;
    const struct sw_route *const *r = sw_routes(&count);
    for (size_t i = 0; i < count; i++) {
        bool has_id = strchr(r[i]->pattern, '{') != NULL;
        const char *why = NULL;
        if (r[i]->owner <= SW_OWN_UNSET || r[i]->owner >= SW_OWN__COUNT)
            why = "declares no owner check";
        else if (r[i]->owner == SW_OWN_OPERATOR && r[i]->roles != SW_ROLE_OPERATOR)
            why = "has operator-owned objects but is open to other roles";
        else if (r[i]->owner == SW_OWN_NODE_IMAGE && r[i]->roles != SW_ROLE_PUBLIC)
            why = "checks a node's image but is not public (its handler authenticates the node)";
        else if (has_id && r[i]->owner == SW_OWN_NONE)
            why = "names an object but checks no owner";
        else if (!has_id && r[i]->owner != SW_OWN_NONE)
            why = "checks an owner but names no object";
        else if (!r[i]->fn)
            why = "has no handler";
        for (size_t j = 0; !why && j < i; j++)
            if (strcmp(r[i]->method, r[j]->method) == 0 &&
                strcmp(r[i]->pattern, r[j]->pattern) == 0)
                why = "is registered twice";
        if (why) {
            snprintf(msg, n, "route %s %s %s", r[i]->method, r[i]->pattern, why);
            return -1;
        }
    }
    return 0;
}

static const char *const owner_names[SW_OWN__COUNT] = {
    [SW_OWN_UNSET] = "unset",   [SW_OWN_NONE] = "none",   [SW_OWN_SERVER] = "server",
    [SW_OWN_ORDER] = "order",   [SW_OWN_JOB] = "job",     [SW_OWN_TOKEN] = "token",
    [SW_OWN_CUSTOMER] = "customer", [SW_OWN_OPERATOR] = "operator",
    [SW_OWN_INVOICE] = "invoice", [SW_OWN_WEBHOOK] = "webhook",
    [SW_OWN_NODE_IMAGE] = "node_image",
    [SW_OWN_BACKUP] = "backup",
};

const char *sw_owner_name(int owner)
{
    return owner >= 0 && owner < SW_OWN__COUNT ? owner_names[owner] : "?";
}

json_t *sw_routes_json(void)
{
    size_t n;
    const struct sw_route *const *r = sw_routes(&n);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *roles = json_array();
        if (r[i]->roles & SW_ROLE_CUSTOMER)
            json_array_append_new(roles, json_string("customer"));
        if (r[i]->roles & SW_ROLE_RESELLER)
            json_array_append_new(roles, json_string("reseller"));
        if (r[i]->roles & SW_ROLE_OPERATOR)
            json_array_append_new(roles, json_string("operator"));
        json_array_append_new(a, json_pack("{s:s, s:s, s:o, s:b, s:s, s:s}", "method",
                                           r[i]->method, "pattern", r[i]->pattern, "roles", roles,
                                           "public", r[i]->roles == SW_ROLE_PUBLIC, "owner",
                                           sw_owner_name(r[i]->owner), "summary",
                                           r[i]->summary));
    }
    return a;
}

int sw_router_match(const char *pattern, const char *path, char *buf, size_t n,
                    const char *params[SW_MAX_PATH_PARAMS])
{
    size_t len = strlen(path);
    if (len + 1 > n)
        return -1;
    memcpy(buf, path, len + 1);
    char *caps[SW_MAX_PATH_PARAMS];
    int np = 0;
    const char *p = pattern;
    char *s = buf;
    while (*p || *s) {
        if (*p != '/' || *s != '/')
            return -1;
        p++;
        s++;
        size_t pl = strcspn(p, "/"), sl = strcspn(s, "/");
        if (pl >= 2 && p[0] == '{' && p[pl - 1] == '}') {
            if (sl == 0 || np >= SW_MAX_PATH_PARAMS)
                return -1;
            caps[np++] = s;
        } else if (pl != sl || strncmp(p, s, sl) != 0) {
            return -1;
        }
        p += pl;
        s += sl;
    }
    /* Matched: terminate each capture at its segment's end. */
    for (int i = 0; i < np; i++) {
        caps[i][strcspn(caps[i], "/")] = '\0';
        params[i] = caps[i];
    }
    return np;
}

/* How each owner kind finds the path's object among what the caller may
 * see (the data files scope it with sw_api_scope_who()). */
static const struct {
    const char *what;
    int (*visible)(struct sw_db *db, const struct sw_principal *who, const char *id,
                   struct sw_err *err);
} owner_checks[SW_OWN__COUNT] = {
    [SW_OWN_SERVER] = {"server", sw_data_servers_visible},
    [SW_OWN_ORDER] = {"order", sw_data_orders_visible},
    [SW_OWN_JOB] = {"job", sw_data_jobs_visible},
    [SW_OWN_TOKEN] = {"token", sw_data_tokens_visible},
    [SW_OWN_CUSTOMER] = {"customer", sw_data_accounts_customer_visible},
    [SW_OWN_INVOICE] = {"invoice", sw_data_invoices_visible},
    [SW_OWN_WEBHOOK] = {"webhook", sw_data_webhooks_visible},
    [SW_OWN_BACKUP] = {"backup", sw_data_backups_visible},
};

static int check_owner(struct sw_req *req, struct sw_err *err)
{
    enum sw_owner o = req->route->owner;
    if (!owner_checks[o].visible)
        return 0; /* SW_OWN_NONE; SW_OWN_OPERATOR routes are operator-only */
    const char *id = req->params[0];
    int found = sw_uuid_valid(id) ? owner_checks[o].visible(req->db, &req->who, id, err) : 0;
    if (found == 0)
        SW_ERR(err, SW_ENOTFOUND, "%s not found", owner_checks[o].what);
    return found > 0 ? 0 : -1;
}

static void reply_error(struct sw_resp *resp, const struct sw_err *err)
{
    json_decref(resp->body);
    free(resp->text);
    resp->text = NULL;
    resp->body = sw_errmap_body(err, &resp->status);
}

/* The object a write acted on: the path's id, else the created object's. */
static const char *object_of(const struct sw_req *req, const struct sw_resp *resp)
{
    if (req->params[0])
        return req->params[0];
    static const char *const paths[] = {"id", "server", "job", "order"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        json_t *v = json_object_get(resp->body, paths[i]);
        if (json_is_string(v))
            return json_string_value(v);
        if (json_is_object(v) && json_is_string(json_object_get(v, "id")))
            return json_string_value(json_object_get(v, "id"));
    }
    return NULL;
}

static void audit(struct sw_req *req, const struct sw_resp *resp, const struct sw_err *err)
{
    char status[8], action[160];
    snprintf(status, sizeof status, "%d", resp->status);
    snprintf(action, sizeof action, "%s %s", req->method, req->route->pattern);
    const char *api_code = "ok";
    if (resp->status >= 400)
        sw_errmap_status(err->code, &api_code);
    struct sw_err aerr = {0};
    struct sw_data_audit a = {req->who.account_id[0] ? req->who.account_id : NULL,
                              req->who.token_id[0] ? req->who.token_id : NULL,
                              action,
                              object_of(req, resp),
                              status,
                              api_code,
                              req->remote,
                              req->idempotency_key};
    if (sw_data_audit_insert(req->db, &a, &aerr) < 0)
        sw_log_err(SW_LOG_ERROR, "audit.failed", &aerr);
}

static double elapsed_s(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Finds req's route: sets req->route (NULL when none) and its params
 * (pointers into pathbuf) and *index; true when some route has the path. */
static bool match_route(struct sw_req *req, char pathbuf[2048], size_t *index)
{
    size_t count;
    const struct sw_route *const *routes = sw_routes(&count);
    bool path_known = false;
    req->route = NULL;
    for (size_t i = 0; i < count; i++) {
        const char *params[SW_MAX_PATH_PARAMS] = {0};
        char buf[2048];
        if (sw_router_match(routes[i]->pattern, req->path, buf, sizeof buf, params) < 0)
            continue;
        path_known = true;
        if (strcmp(routes[i]->method, req->method) != 0)
            continue;
        req->route = routes[i];
        *index = i;
        memcpy(pathbuf, buf, 2048);
        for (int k = 0; k < SW_MAX_PATH_PARAMS; k++)
            req->params[k] = params[k] ? pathbuf + (params[k] - buf) : NULL;
        break;
    }
    return path_known;
}

/* The caller of a non-public route: authenticated, of a role the route
 * admits, with a token that may write when this is a write, and able to
 * see the path's object. */
static int authorize(struct sw_req *req, bool write, struct sw_err *err)
{
    const struct sw_route *route = req->route;
    int rc = sw_auth_bearer(req, err);
    if (rc == 0 && !(route->roles & req->who.role)) {
        SW_ERR(err, SW_EFORBIDDEN, "this route is not available to a %s",
               req->who.role == SW_ROLE_OPERATOR   ? "operator"
               : req->who.role == SW_ROLE_RESELLER ? "reseller"
                                                   : "customer");
        rc = -1;
    }
    if (rc == 0 && (req->app->tfa_roles & req->who.role) && !req->who.two_factor &&
        !(route->flags & SW_RF_ENROL)) {
        SW_ERR(err, SW_EFORBIDDEN,
               "two-factor login is required for this account: enrol with POST /v1/account/2fa"
               " and POST /v1/account/2fa/confirm first");
        rc = -1;
    }
    if (rc == 0 && req->who.read_only && write) {
        SW_ERR(err, SW_EFORBIDDEN, "this token is read-only");
        rc = -1;
    }
    if (rc == 0)
        rc = check_owner(req, err);
    return rc;
}

int sw_router_upload_begin(struct sw_req *req, struct sw_resp *resp)
{
    struct sw_err err = {0};
    char pathbuf[2048];
    size_t index;
    match_route(req, pathbuf, &index);
    if (!req->route || !(req->route->flags & SW_RF_UPLOAD)) {
        SW_ERR(&err, SW_EINVALID, "this route takes no multipart/form-data upload");
        reply_error(resp, &err);
        return -1;
    }
    req->db = sw_db_pool_get(req->app->pool);
    int rc = authorize(req, true, &err);
    sw_db_pool_put(req->app->pool, req->db);
    req->db = NULL;
    if (rc < 0) {
        if (err.code == SW_EINTERNAL || err.code == SW_EUNAVAILABLE)
            sw_log_err(SW_LOG_ERROR, "http.error", &err);
        reply_error(resp, &err);
    }
    return rc;
}

void sw_router_dispatch(struct sw_req *req, struct sw_resp *resp)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct sw_err err = {0};
    char pathbuf[2048];
    size_t count, index = 0;
    sw_routes(&count);
    bool path_known = match_route(req, pathbuf, &index);
    if (!req->route) {
        if (path_known)
            SW_ERR(&err, SW_EINVALID, "method %.16s is not allowed on this path", req->method);
        else
            SW_ERR(&err, SW_ENOTFOUND, "no such route");
        reply_error(resp, &err);
        if (path_known)
            resp->status = 405;
        sw_metrics_observe(count, resp->status, elapsed_s(&t0));
        return;
    }

    const struct sw_route *route = req->route;
    bool write = strcmp(req->method, "GET") != 0;
    req->db = sw_db_pool_get(req->app->pool);
    int rc = route->roles != SW_ROLE_PUBLIC ? authorize(req, write, &err) : 0;
    if (rc == 0) {
        if (req->idempotency_key && strcmp(req->method, "POST") == 0 &&
            route->roles != SW_ROLE_PUBLIC)
            rc = sw_idem_run(req, route->fn, resp, &err);
        else
            rc = route->fn(req, resp, &err);
    }
    if (rc == 0 && (route->flags & SW_RF_AUTH))
        sw_authcache_flush();
    if (rc < 0) {
        if (err.code == SW_EINTERNAL || err.code == SW_EUNAVAILABLE || err.code == SW_OK)
            sw_log_err(SW_LOG_ERROR, "http.error", &err);
        if (err.code == SW_OK)
            SW_ERR(&err, SW_EINTERNAL, "internal error");
        reply_error(resp, &err);
    }
    /* Writes are audited, refused ones too, once the caller is known (or on
     * a public route such as login); anonymous knocking on protected routes
     * is counted in metrics instead, so it cannot flood the table. */
    if (write && (req->who.account_id[0] || route->roles == SW_ROLE_PUBLIC))
        audit(req, resp, &err);
    sw_db_pool_put(req->app->pool, req->db);
    req->db = NULL;
    double secs = elapsed_s(&t0);
    sw_metrics_observe(index, resp->status, secs);
    char q[300];
    sw_info("http.request", "method=%s route=%s status=%d ms=%.1f remote=%s account=%s",
            req->method, sw_log_quote(q, sizeof q, route->pattern), resp->status, secs * 1000,
            req->remote, req->who.account_id[0] ? req->who.account_id : "-");
}
