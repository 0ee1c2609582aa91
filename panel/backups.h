/* backups.h - what of panel/backups.c other panel files call: a plan's
 * backup price (the plan routes, admin_catalog.c). The backup routes
 * themselves are sw_routes_backups (handlers.h). */
#ifndef SW_PANEL_BACKUPS_H
#define SW_PANEL_BACKUPS_H

#include <jansson.h>

struct sw_db;
struct sw_err;

/* An admin plan body's price_backup_gb_month ({amount >= 0, currency}),
 * when given. 0, or -1 with err (invalid). */
int sw_backups_plan_check(const json_t *body, struct sw_err *err);

/* Applies body's price_backup_gb_month (in the plan's currency, else
 * invalid) to plan_id after the plan's insert or update answered plan
 * (owned; NULL passes through). Returns the plan as it is now (new
 * reference; plan is released) or NULL with err. */
json_t *sw_backups_plan_apply(struct sw_db *db, const char *plan_id, const json_t *body,
                              json_t *plan, struct sw_err *err);

#endif
