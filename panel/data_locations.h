/* data_locations.h - the SQL of the operator's location routes (admin.c;
 * whether one exists is data_catalog.h's). Functions return an owned JSON
 * answer (json_decref()) or NULL with err set. */
#ifndef SW_PANEL_DATA_LOCATIONS_H
#define SW_PANEL_DATA_LOCATIONS_H

#include <jansson.h>

struct sw_db;
struct sw_err;

/* Inserts a location; its answer (sw_location_json), owned. A taken code
 * is SW_ECONFLICT. */
json_t *sw_data_locations_insert(struct sw_db *db, const char *id, const char *code,
                                 const char *name, struct sw_err *err);

#endif
