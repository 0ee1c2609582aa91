/* admin_ha.h - high availability's operator settings (admin_ha.c): a
 * plan's ha, applied by the plan's create and patch (admin_catalog.c). */
#ifndef SW_PANEL_ADMIN_HA_H
#define SW_PANEL_ADMIN_HA_H

#include <jansson.h>

struct sw_db;
struct sw_err;

/* When body has "ha" (a boolean, checked by the caller's field list),
 * sets plans.ha and answers the plan's JSON afresh; else plan as it is.
 * Takes plan (stolen); a new reference, or NULL with err (plan NULL:
 * NULL, err as the caller left it). */
json_t *sw_ha_plan_apply(struct sw_db *db, const char *plan_id, const json_t *body, json_t *plan,
                         struct sw_err *err);

#endif
