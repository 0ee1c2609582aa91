/* admin_events.c - operator route for node events: what the nodes' engines
 * report (node_events, migration 0013): reconciliation restoring a missing
 * domain (domain.restored, domain.restore_failed), an orphan domain
 * (domain.orphan), memory pressure that ballooning could not relieve
 * (node.pressure, the node set draining). Oldest first, paginated as every
 * admin list. */
#include "config.h"
#include "core/db.h"
#include "core/err.h"
#include "panel/admin_util.h"
#include "panel/data_events.h"
#include "panel/handlers.h"

#include <stdbool.h>
#include <string.h>

/* A kind is [a-z]+(.[a-z_]+)+ (as the table's check); anything else
 * matches nothing, so it is refused rather than answered empty. */
static int query_kind(const struct sw_req *req, const char **out, struct sw_err *err)
{
    const char *k = req->query(req, "kind");
    *out = k && *k ? k : NULL;
    if (!*out)
        return 0;
    size_t n = strlen(k);
    bool dot = false;
    for (size_t i = 0; i < n; i++) {
        if (k[i] == '.')
            dot = i > 0 && i + 1 < n && k[i - 1] != '.';
        if (!((k[i] >= 'a' && k[i] <= 'z') || k[i] == '_' || (k[i] == '.' && dot)) || n > 64) {
            SW_ERR(err, SW_EINVALID, "kind must look like domain.orphan");
            return -1;
        }
    }
    if (!strchr(k, '.')) {
        SW_ERR(err, SW_EINVALID, "kind must look like domain.orphan");
        return -1;
    }
    return 0;
}

SW_HANDLER(sw_h_admin_events_list)
{
    const char *node, *kind;
    if (sw_adm_query_uuid(req, "node_id", &node, err) < 0 || query_kind(req, &kind, err) < 0)
        return -1;
    return sw_api_list_data(req, resp, err, &sw_data_events_list,
                            SW_PARAMS(req->who.account_id, node, kind));
}

const struct sw_route sw_routes_admin_events[] = {
    {"GET", "/v1/admin/events", OP, SW_OWN_NONE, sw_h_admin_events_list,
     "node events from the engines: restored and orphan domains, memory pressure (?node_id=,"
     " ?kind=)",
     0},
    SW_ROUTES_END,
};
