/* catalog.c - what every account may look at before ordering (the lists
 * are data_catalog.c's). */
#include "config.h"
#include "panel/handlers.h"
#include "panel/data_catalog.h"
#include "core/db.h"

SW_HANDLER(sw_h_plans_list)
{
    return sw_api_list_data(req, resp, err, &sw_data_catalog_plans,
                            SW_PARAMS(req->who.account_id));
}

SW_HANDLER(sw_h_templates_list)
{
    return sw_api_list_data(req, resp, err, &sw_data_catalog_templates,
                            SW_PARAMS(req->who.account_id));
}

SW_HANDLER(sw_h_locations_list)
{
    return sw_api_list_data(req, resp, err, &sw_data_catalog_locations,
                            SW_PARAMS(req->who.account_id));
}

const struct sw_route sw_routes_catalog[] = {
    {"GET", "/v1/plans", ANY, SW_OWN_NONE, sw_h_plans_list, "plans this account may order", 0},
    {"GET", "/v1/templates", ANY, SW_OWN_NONE, sw_h_templates_list, "OS templates", 0},
    {"GET", "/v1/locations", ANY, SW_OWN_NONE, sw_h_locations_list, "locations", 0},
    SW_ROUTES_END,
};
