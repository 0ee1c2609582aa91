/* router.h - the route table and dispatch.
 *
 * Every route declares who may call it (roles); a route without roles is
 * public. The router authenticates, checks the role (403 when above the
 * caller), refuses writes with a read-only token, borrows a database
 * connection for the request, runs the handler and maps its error to an
 * HTTP status through one table. Ownership of the target object is checked
 * by the handler's query through sw_api_scope() (404 for another tenant's).
 */
#ifndef SW_PANEL_ROUTER_H
#define SW_PANEL_ROUTER_H

#include <stddef.h>

#include "panel/api.h"

struct sw_route {
    const char *method;
    const char *pattern; /* "/v1/servers/{id}" */
    unsigned roles;      /* enum sw_role bits; 0 = public */
    sw_handler_fn fn;
    const char *summary;
};

/* The table; static storage. */
const struct sw_route *sw_routes(size_t *count);

/* Handles one request completely; resp is always filled. */
void sw_router_dispatch(struct sw_req *req, struct sw_resp *resp);

/* Matches path against pattern, writing captures into params (pointers into
 * buf, a copy of path of size n). Returns the number of captures or -1. */
int sw_router_match(const char *pattern, const char *path, char *buf, size_t n,
                    const char *params[SW_MAX_PATH_PARAMS]);

/* HTTP status and API error code for an error code. */
int sw_router_status(int errc, const char **api_code);

#endif
