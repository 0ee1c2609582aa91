/* data_catalog.h - plans, templates and locations as the ordering side of
 * the panel reads them (the operator's writes are admin_catalog.c's). */
#ifndef SW_PANEL_DATA_CATALOG_H
#define SW_PANEL_DATA_CATALOG_H

#include <stdint.h>

#include "panel/data.h"

/* Whether table ("plans" or "templates": static storage, never input) has
 * an active row id of kind. 1, 0, or -1 with err. */
int sw_data_catalog_active_of_kind(struct sw_db *db, const char *table, const char *id,
                                   const char *kind, struct sw_err *err);

/* An active plan with an active template, as an order needs them. */
struct sw_data_order_plan {
    char kind[16];          /* the plan's kind */
    char template_kind[16]; /* the template's */
    int64_t vcpus, ram_mb, disk_gb;
};

/* Reads plan_id and template_id, both active: 1 found, 0 not (either
 * missing or retired), -1 with err. */
int sw_data_catalog_order_plan(struct sw_db *db, const char *plan_id, const char *template_id,
                               struct sw_data_order_plan *out, struct sw_err *err);

/* Whether location id exists: 1, 0, or -1 with err. */
int sw_data_catalog_location_exists(struct sw_db *db, const char *id, struct sw_err *err);

/* What the caller may order, active: $1 the caller. */
extern const struct sw_data_list sw_data_catalog_plans;
extern const struct sw_data_list sw_data_catalog_templates;
/* Every location: $1 the caller. */
extern const struct sw_data_list sw_data_catalog_locations;

#endif
