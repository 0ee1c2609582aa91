/* reseller.c - the reseller API (API.md "Resellers"). */
#include "config.h"
#include "panel/handlers.h"

const struct sw_route sw_routes_reseller[] = {
    SW_ROUTES_END,
};
