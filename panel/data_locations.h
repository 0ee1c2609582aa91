/* data_locations.h - the SQL of the operator's location routes (admin.c)
 * and of the checks that name a location. Functions return 0 (or an owned
 * JSON answer, json_decref()) or -1 (NULL) with err set. */
#ifndef SW_PANEL_DATA_LOCATIONS_H
#define SW_PANEL_DATA_LOCATIONS_H

#include <jansson.h>
#include <stdbool.h>

struct sw_db;
struct sw_err;

/* Whether location id exists, into *found. */
int sw_data_locations_exists(struct sw_db *db, const char *id, bool *found, struct sw_err *err);

/* Inserts a location; its answer (sw_location_json), owned. A taken code
 * is SW_ECONFLICT. */
json_t *sw_data_locations_insert(struct sw_db *db, const char *id, const char *code,
                                 const char *name, struct sw_err *err);

#endif
