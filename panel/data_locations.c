/* data_locations.c - the SQL of the location routes (data_locations.h). */
#include "config.h"
#include "panel/data_locations.h"
#include "core/db.h"
#include "panel/data.h"

json_t *sw_data_locations_insert(struct sw_db *db, const char *id, const char *code,
                                 const char *name, struct sw_err *err)
{
    return sw_data_json_row(db, err, "location",
                            "INSERT INTO locations (id, code, name) VALUES ($1, $2, $3)"
                            " RETURNING sw_location_json(locations)",
                            SW_PARAMS(id, code, name));
}
