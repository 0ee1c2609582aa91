/* handlers.h - every resource file's route table (router.h explains what a
 * route declares). Handlers themselves are static to their file. */
#ifndef SW_PANEL_HANDLERS_H
#define SW_PANEL_HANDLERS_H

#include "panel/api.h"
#include "panel/router.h"

#define SW_HANDLER(name) \
    static int name(struct sw_req *req, struct sw_resp *resp, struct sw_err *err)

#define OP SW_ROLE_OPERATOR
#define RS SW_ROLE_RESELLER
#define CU SW_ROLE_CUSTOMER
#define ANY SW_ROLE_ANY
#define PUBLIC SW_ROLE_PUBLIC

extern const struct sw_route sw_routes_health[];   /* health.c */
extern const struct sw_route sw_routes_auth[];     /* auth.c */
extern const struct sw_route sw_routes_account[];  /* account.c */
extern const struct sw_route sw_routes_twofactor[]; /* twofactor.c */
extern const struct sw_route sw_routes_pwreset[];  /* pwreset.c */
extern const struct sw_route sw_routes_catalog[];  /* catalog.c */
extern const struct sw_route sw_routes_orders[];   /* orders.c */
extern const struct sw_route sw_routes_servers[];  /* servers.c */
extern const struct sw_route sw_routes_isos[];     /* iso_actions.c */
extern const struct sw_route sw_routes_snapshots[]; /* snapshots.c */
extern const struct sw_route sw_routes_backups[];  /* backups.c */
extern const struct sw_route sw_routes_console[];  /* console.c */
extern const struct sw_route sw_routes_admin[];    /* admin.c */
extern const struct sw_route sw_routes_admin_catalog[];  /* admin_catalog.c */
extern const struct sw_route sw_routes_admin_accounts[]; /* admin_accounts.c */
extern const struct sw_route sw_routes_admin_ops[];      /* admin_ops.c */
extern const struct sw_route sw_routes_admin_events[];   /* admin_events.c */
extern const struct sw_route sw_routes_admin_migrate[];  /* admin_migrate.c */
extern const struct sw_route sw_routes_admin_ha[];       /* admin_ha.c */
extern const struct sw_route sw_routes_reseller[]; /* reseller.c */
extern const struct sw_route sw_routes_invoices[]; /* invoices.c */
extern const struct sw_route sw_routes_webhooks[]; /* webhooks.c */
extern const struct sw_route sw_routes_admin_images[]; /* admin_images.c */
extern const struct sw_route sw_routes_node_images[];  /* node_images.c */
extern const struct sw_route sw_routes_admin_evacuate[]; /* admin_evacuate.c */
extern const struct sw_route sw_routes_openapi[];  /* openapi.c */
extern const struct sw_route sw_routes_ptr[];      /* ptr.c */

/* auth.c: resolves the bearer token into req->who; -1 with
 * SW_EUNAUTHENTICATED when missing, unknown, expired or revoked. */
int sw_auth_bearer(struct sw_req *req, struct sw_err *err);

/* account.c: password, the caller's current password, checked as a login
 * checks one and wrong ones counted per account; 0, or -1 with err (400
 * when NULL, 403 when wrong, 429 after too many). */
int sw_account_check_password(struct sw_req *req, const char *password, struct sw_err *err);

/* twofactor.c: code (6 digits: TOTP, its time step taken once; else, when
 * recovery_ok, an unused recovery code, then used) of account id; 0, or
 * -1 with err (SW_EFORBIDDEN or SW_EINVALID: a wrong, stale or replayed
 * code; SW_ECONFLICT: two-factor is not set up). */
int sw_tfa_verify(struct sw_req *req, const char *id, const char *code, bool recovery_ok,
                  struct sw_err *err);

#endif
