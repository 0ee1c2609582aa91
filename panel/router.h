/* router.h - the route table and dispatch.
 *
 * Each resource file exports its own table (sw_routes_<file>[], ended by
 * SW_ROUTES_END); router.c lists the tables. Every route declares two
 * things, and the router enforces both before the handler runs:
 *   roles - who may call it (a bitmask of enum sw_role; 0 = public);
 *           403 when the route is above the caller;
 *   owner - how the object named by the path's {id} is checked against the
 *           caller (enum sw_owner): the router looks it up through the one
 *           tenancy scope, sw_api_scope(), and answers 404 when the caller
 *           may not see it. SW_OWN_UNSET is refused at start, so a route
 *           cannot be registered without saying.
 * The router also authenticates, refuses writes with read-only tokens,
 * applies Idempotency-Key to POSTs (idempotency.h), writes the audit log
 * for every write, counts metrics (metrics.h; the router registers each
 * route's labels there) and maps handler errors to HTTP (errmap.h).
 */
#ifndef SW_PANEL_ROUTER_H
#define SW_PANEL_ROUTER_H

#include <stddef.h>

#include "panel/api.h"

enum sw_owner {
    SW_OWN_UNSET = 0, /* invalid: every route must say */
    SW_OWN_NONE,      /* no object in the path: a collection, or the caller itself */
    SW_OWN_SERVER,    /* {id}: a server the caller may see */
    SW_OWN_ORDER,     /* {id}: an order the caller may see */
    SW_OWN_JOB,       /* {id}: a job on a server the caller may see */
    SW_OWN_TOKEN,     /* {id}: one of the caller's own API tokens */
    SW_OWN_CUSTOMER,  /* {id}: a customer account the caller administers */
    SW_OWN_OPERATOR,  /* {id}: an operator-only object; operator routes only */
    SW_OWN_INVOICE,   /* {id}: an invoice of the caller's own (operators: any) */
    SW_OWN_WEBHOOK,   /* {id}: a webhook endpoint of the caller's (not deleted) */
    SW_OWN_NODE_IMAGE, /* {sha256}: an image the calling node's servers use; public routes
                          only, the handler checks the node's own token (node_images.c) */
    SW_OWN_BACKUP,    /* {id}: a backup of a server the caller may see (not deleted) */
    SW_OWN__COUNT
};

/* Route flags. */
enum {
    /* Changes authentication state (revokes tokens, suspends accounts): on
     * success the router empties this panel's token cache (authcache.h). */
    SW_RF_AUTH = 1u << 0,
    /* Takes a multipart/form-data upload (api.h, req->upload): the adapter
     * asks sw_router_upload_begin() before it reads the body. */
    SW_RF_UPLOAD = 1u << 1,
    /* Open to a caller whose role requires two-factor login before it has
     * turned it on (SLIPWAY_2FA_ROLES): enrolment and its own account. */
    SW_RF_ENROL = 1u << 2,
};

struct sw_route {
    const char *method;
    const char *pattern; /* "/v1/servers/{id}" */
    unsigned roles;      /* enum sw_role bits; 0 = public */
    enum sw_owner owner;
    sw_handler_fn fn;
    const char *summary;
    unsigned flags; /* SW_RF_* */
};

#define SW_ROUTES_END {NULL, NULL, 0, SW_OWN_UNSET, NULL, NULL, 0}

/* Every route, in table order; static storage. Index i is the route's id
 * in metrics (the first call registers the labels with sw_metrics). */
const struct sw_route *const *sw_routes(size_t *count);

/* Checks the tables (owner set, operator-owned routes operator-only, no
 * duplicates); -1 with a message naming the route. */
int sw_router_check(char *msg, size_t n);

/* Name of an owner kind ("server", ...); static storage. */
const char *sw_owner_name(int owner);
/* The table as JSON: [{method, pattern, roles: [..], owner, summary}].
 * Returns a new reference. */
json_t *sw_routes_json(void);

/* Before a multipart/form-data body is read: 0 when req's route takes
 * uploads (SW_RF_UPLOAD) and the caller may call it (authenticated, its
 * role, a token that may write); else -1 with resp filled with the
 * refusal. The body then goes through sw_router_dispatch() as usual. */
int sw_router_upload_begin(struct sw_req *req, struct sw_resp *resp);

/* Handles one request completely; resp is always filled. */
void sw_router_dispatch(struct sw_req *req, struct sw_resp *resp);

/* Matches path against pattern, writing captures into params (pointers into
 * buf, a copy of path of size n). Returns the number of captures or -1. */
int sw_router_match(const char *pattern, const char *path, char *buf, size_t n,
                    const char *params[SW_MAX_PATH_PARAMS]);

#endif
