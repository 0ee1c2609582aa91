/* admin_catalog.h - the pure steps of the operator's plan routes
 * (admin_catalog.c): a body checked and turned into, or merged into, a
 * plan's row. No I/O, so tests/unit/panel/test_admin_catalog.c reaches every
 * rule without a database. Each returns 0, or -1 with err set to
 * SW_EINVALID naming the field.
 */
#ifndef SW_PANEL_ADMIN_CATALOG_H
#define SW_PANEL_ADMIN_CATALOG_H

#include <jansson.h>
#include <stddef.h>

#include "panel/data_plans.h"

struct sw_err;

/* Checks a create body (already checked against its field list) into *out:
 * name 1 to 64 bytes, a plan kind, sizes within bounds, prices
 * {amount: 0..10^12, currency: "XYZ"} in one currency, burst_ram_mb 0 or
 * at least ram_mb; state active. */
int sw_plan_create_check(const json_t *body, struct sw_plan_row *out, struct sw_err *err);

/* Checks what a PATCH body can be checked for without the plan: the name,
 * the kind, sizes within bounds, the state. */
int sw_plan_patch_check(const json_t *patch, struct sw_err *err);

/* The sizes (kind, vcpus, ram_mb, burst_ram_mb, swap_mb, disk_gb,
 * bandwidth_gb) that patch changes in cur: their names, comma-separated,
 * into changed[n]; returns how many (the same value again is no change). */
int sw_plan_patch_sizes(const struct sw_plan_row *cur, const json_t *patch, char *changed,
                        size_t n);

/* cur overlaid with patch into *out (out may not be cur), after
 * sw_plan_patch_check(). Each price given sets its amount and the plan's
 * currency: all must end up in one, so changing the currency takes
 * price_hourly, price_monthly and (when not 0) price_bandwidth_gb and
 * price_disk_gb_month at once.
 * burst_ram_mb must stay 0 or at least ram_mb. */
int sw_plan_patch_merge(const struct sw_plan_row *cur, const json_t *patch,
                        struct sw_plan_row *out, struct sw_err *err);

#endif
