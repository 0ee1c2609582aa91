/* data_locations.c - the SQL of the location routes (data_locations.h). */
#include "config.h"
#include "panel/data_locations.h"
#include "core/db.h"
#include "panel/admin_util.h"
#include "panel/data.h"

int sw_data_locations_exists(struct sw_db *db, const char *id, bool *found, struct sw_err *err)
{
    return sw_adm_exists(db, found, err, "SELECT 1 FROM locations WHERE id = $1", SW_PARAMS(id));
}

json_t *sw_data_locations_insert(struct sw_db *db, const char *id, const char *code,
                                 const char *name, struct sw_err *err)
{
    return sw_data_json_row(db, err, "location",
                            "INSERT INTO locations (id, code, name) VALUES ($1, $2, $3)"
                            " RETURNING sw_location_json(locations)",
                            SW_PARAMS(id, code, name));
}
