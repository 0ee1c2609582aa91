#include "config.h"
#include "panel/router.h"
#include "panel/handlers.h"
#include "core/db.h"
#include "core/err.h"
#include "core/log.h"

#include <string.h>

#define OP SW_ROLE_OPERATOR
#define RS SW_ROLE_RESELLER
#define CU SW_ROLE_CUSTOMER
#define ANY SW_ROLE_ANY

static const struct sw_route routes[] = {
    {"GET", "/healthz", SW_ROLE_PUBLIC, sw_h_healthz, "liveness: PostgreSQL and Redis reachable"},
    {"POST", "/v1/auth/login", SW_ROLE_PUBLIC, sw_h_login, "log in with email and password"},
    {"GET", "/v1/account", ANY, sw_h_account_get, "the caller's account"},
    {"POST", "/v1/account/tokens", ANY, sw_h_account_token_create, "create an API token"},
    {"DELETE", "/v1/account/tokens/{id}", ANY, sw_h_account_token_delete, "revoke an API token"},
    {"GET", "/v1/plans", ANY, sw_h_plans_list, "plans this account may order"},
    {"GET", "/v1/templates", ANY, sw_h_templates_list, "OS templates"},
    {"GET", "/v1/locations", ANY, sw_h_locations_list, "locations"},
    {"POST", "/v1/orders", CU, sw_h_orders_create, "order a server"},
    {"GET", "/v1/orders", ANY, sw_h_orders_list, "orders"},
    {"GET", "/v1/orders/{id}", ANY, sw_h_order_get, "one order"},
    {"GET", "/v1/servers", ANY, sw_h_servers_list, "servers"},
    {"GET", "/v1/servers/{id}", ANY, sw_h_server_get, "one server"},
    {"DELETE", "/v1/servers/{id}", ANY, sw_h_server_delete, "terminate a server"},
    {"GET", "/v1/servers/{id}/usage", ANY, sw_h_server_usage, "a server's usage per hour"},
    {"GET", "/v1/jobs/{id}", ANY, sw_h_job_get, "one job"},
    {"GET", "/v1/admin/locations", OP, sw_h_admin_locations_list, "locations"},
    {"POST", "/v1/admin/locations", OP, sw_h_admin_locations_create, "create a location"},
    {"GET", "/v1/admin/nodes", OP, sw_h_admin_nodes_list, "nodes"},
    {"POST", "/v1/admin/nodes", OP, sw_h_admin_nodes_create, "register a node"},
    {"GET", "/v1/admin/nodes/{id}", OP, sw_h_admin_node_get, "one node"},
    {"GET", "/v1/admin/nodes/{id}/capacity", OP, sw_h_admin_node_capacity,
     "a node's capacity per resource class"},
    {"GET", "/v1/admin/plans", OP, sw_h_admin_plans_list, "all plans"},
    {"POST", "/v1/admin/plans", OP, sw_h_admin_plans_create, "create a plan"},
    {"GET", "/v1/admin/templates", OP, sw_h_admin_templates_list, "all templates"},
    {"POST", "/v1/admin/templates", OP, sw_h_admin_templates_create, "create a template"},
    {"GET", "/v1/admin/accounts", OP, sw_h_admin_accounts_list, "accounts"},
    {"POST", "/v1/admin/accounts", OP, sw_h_admin_accounts_create, "create an account"},
};

const struct sw_route *sw_routes(size_t *count)
{
    *count = sizeof routes / sizeof routes[0];
    return routes;
}

static const struct {
    enum sw_errc code;
    int status;
    const char *api_code;
} status_map[] = {
    {SW_EINVALID, 400, "invalid_request"},
    {SW_EUNAUTHENTICATED, 401, "unauthenticated"},
    {SW_EFORBIDDEN, 403, "forbidden"},
    {SW_ENOTFOUND, 404, "not_found"},
    {SW_ECONFLICT, 409, "conflict"},
    {SW_EUNPROCESSABLE, 422, "unprocessable"},
    {SW_EUNSUPPORTED, 422, "unprocessable"},
    {SW_EUNAVAILABLE, 503, "unavailable"},
    {SW_EINTERNAL, 500, "internal"},
};

int sw_router_status(int errc, const char **api_code)
{
    for (size_t i = 0; i < sizeof status_map / sizeof status_map[0]; i++) {
        if ((int)status_map[i].code == errc) {
            *api_code = status_map[i].api_code;
            return status_map[i].status;
        }
    }
    *api_code = "internal";
    return 500;
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

static void reply_error(struct sw_resp *resp, const struct sw_err *err)
{
    const char *api_code;
    int status = sw_router_status(err->code, &api_code);
    const char *msg = err->msg[0] ? err->msg : api_code;
    if (status >= 500 && err->code == SW_EINTERNAL)
        msg = "internal error";
    json_decref(resp->body);
    resp->status = status;
    resp->body = json_pack("{s:{s:s, s:s}}", "error", "code", api_code, "message", msg);
}

void sw_router_dispatch(struct sw_req *req, struct sw_resp *resp)
{
    struct sw_err err = {0};
    char pathbuf[2048];
    const struct sw_route *route = NULL;
    bool path_known = false;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const char *params[SW_MAX_PATH_PARAMS] = {0};
        char buf[2048];
        if (sw_router_match(routes[i].pattern, req->path, buf, sizeof buf, params) < 0)
            continue;
        path_known = true;
        if (strcmp(routes[i].method, req->method) != 0)
            continue;
        route = &routes[i];
        memcpy(pathbuf, buf, sizeof pathbuf);
        for (int k = 0; k < SW_MAX_PATH_PARAMS; k++)
            req->params[k] = params[k] ? pathbuf + (params[k] - buf) : NULL;
        break;
    }
    if (!route) {
        if (path_known)
            SW_ERR(&err, SW_EINVALID, "method %.16s is not allowed on this path", req->method);
        else
            SW_ERR(&err, SW_ENOTFOUND, "no such route");
        reply_error(resp, &err);
        if (path_known)
            resp->status = 405;
        return;
    }

    req->db = sw_db_pool_get(req->app->pool);
    int rc = 0;
    if (route->roles != SW_ROLE_PUBLIC) {
        rc = sw_auth_bearer(req, &err);
        if (rc == 0 && !(route->roles & req->who.role)) {
            SW_ERR(&err, SW_EFORBIDDEN, "this route is not available to a %s",
                   req->who.role == SW_ROLE_OPERATOR   ? "operator"
                   : req->who.role == SW_ROLE_RESELLER ? "reseller"
                                                       : "customer");
            rc = -1;
        }
        if (rc == 0 && req->who.read_only && strcmp(req->method, "GET") != 0) {
            SW_ERR(&err, SW_EFORBIDDEN, "this token is read-only");
            rc = -1;
        }
    }
    if (rc == 0)
        rc = route->fn(req, resp, &err);
    sw_db_pool_put(req->app->pool, req->db);
    req->db = NULL;

    if (rc < 0) {
        if (err.code == SW_EINTERNAL || err.code == SW_EUNAVAILABLE || err.code == SW_OK)
            sw_log_err(SW_LOG_ERROR, "http.error", &err);
        if (err.code == SW_OK)
            SW_ERR(&err, SW_EINTERNAL, "internal error");
        reply_error(resp, &err);
    }
    char q[300];
    sw_info("http.request", "method=%s route=%s status=%d remote=%s account=%s", req->method,
            sw_log_quote(q, sizeof q, route->pattern), resp->status, req->remote,
            req->who.account_id[0] ? req->who.account_id : "-");
}
