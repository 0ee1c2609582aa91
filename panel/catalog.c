/* catalog.c - what every account may look at before ordering. */
#include "config.h"
#include "panel/handlers.h"
#include "core/db.h"

/* What the caller may order: the kinds its reseller's quota allows (a
 * reseller's own quota; a customer's reseller's; no quota row, or the
 * operator and its direct customers: every kind). $1 is the caller. */
#define ORDERABLE_KIND                                                                    \
    "t.kind = ANY (coalesce((SELECT q.kinds FROM reseller_quotas q, accounts a"           \
    " WHERE a.id = $1::uuid AND q.reseller_id = coalesce(a.reseller_id, a.id)),"          \
    " ARRAY['container', 'pv', 'hvm']))"

SW_HANDLER(sw_h_plans_list)
{
    return sw_api_list(req, resp, err, "sw_plan_json(t)", "plans",
                       "t.state = 'active' AND " ORDERABLE_KIND, SW_PARAMS(req->who.account_id));
}

SW_HANDLER(sw_h_templates_list)
{
    return sw_api_list(req, resp, err, "sw_template_json(t)", "templates",
                       "t.state = 'active' AND " ORDERABLE_KIND, SW_PARAMS(req->who.account_id));
}

SW_HANDLER(sw_h_locations_list)
{
    return sw_api_list(req, resp, err, "sw_location_json(t)", "locations",
                       "$1::uuid IS NOT NULL", SW_PARAMS(req->who.account_id));
}

const struct sw_route sw_routes_catalog[] = {
    {"GET", "/v1/plans", ANY, SW_OWN_NONE, sw_h_plans_list, "plans this account may order", 0},
    {"GET", "/v1/templates", ANY, SW_OWN_NONE, sw_h_templates_list, "OS templates", 0},
    {"GET", "/v1/locations", ANY, SW_OWN_NONE, sw_h_locations_list, "locations", 0},
    SW_ROUTES_END,
};
