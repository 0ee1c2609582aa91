/* handlers.h - every route's handler, one file per resource. */
#ifndef SW_PANEL_HANDLERS_H
#define SW_PANEL_HANDLERS_H

#include "panel/api.h"

#define SW_HANDLER(name) int name(struct sw_req *req, struct sw_resp *resp, struct sw_err *err)

/* health.c */
SW_HANDLER(sw_h_healthz);
/* auth.c */
SW_HANDLER(sw_h_login);
SW_HANDLER(sw_h_account_get);
SW_HANDLER(sw_h_account_token_create);
SW_HANDLER(sw_h_account_token_delete);
/* catalog.c */
SW_HANDLER(sw_h_plans_list);
SW_HANDLER(sw_h_templates_list);
SW_HANDLER(sw_h_locations_list);
/* admin.c */
SW_HANDLER(sw_h_admin_locations_list);
SW_HANDLER(sw_h_admin_locations_create);
SW_HANDLER(sw_h_admin_nodes_list);
SW_HANDLER(sw_h_admin_nodes_create);
SW_HANDLER(sw_h_admin_node_get);
SW_HANDLER(sw_h_admin_node_capacity);
SW_HANDLER(sw_h_admin_plans_list);
SW_HANDLER(sw_h_admin_plans_create);
SW_HANDLER(sw_h_admin_templates_list);
SW_HANDLER(sw_h_admin_templates_create);
SW_HANDLER(sw_h_admin_accounts_list);
SW_HANDLER(sw_h_admin_accounts_create);
/* orders.c */
SW_HANDLER(sw_h_orders_create);
SW_HANDLER(sw_h_orders_list);
SW_HANDLER(sw_h_order_get);
/* servers.c */
SW_HANDLER(sw_h_servers_list);
SW_HANDLER(sw_h_server_get);
SW_HANDLER(sw_h_server_delete);
SW_HANDLER(sw_h_server_usage);
SW_HANDLER(sw_h_job_get);

/* auth.c: resolves the bearer token into req->who; -1 with
 * SW_EUNAUTHENTICATED when missing, unknown, expired or revoked. */
int sw_auth_bearer(struct sw_req *req, struct sw_err *err);

#endif
