/* data_templates.c - the SQL of the template routes (data_templates.h). */
#include "config.h"
#include "panel/data_templates.h"
#include "core/db.h"
#include "panel/data.h"

json_t *sw_data_templates_insert(struct sw_db *db, const char *id, const char *name,
                                 const char *kind, const char *os, struct sw_err *err)
{
    return sw_data_json_row(db, err, "template",
                            "INSERT INTO templates (id, name, kind, os) VALUES ($1, $2, $3, $4)"
                            " RETURNING sw_template_json(templates)",
                            SW_PARAMS(id, name, kind, os));
}

json_t *sw_data_templates_update(struct sw_db *db, const char *id, const char *name,
                                 const char *state, struct sw_err *err)
{
    return sw_data_json_row(
        db, err, "template",
        "UPDATE templates SET name = coalesce($2, name), state = coalesce($3, state)"
        " WHERE id = $1 RETURNING sw_template_json(templates)",
        SW_PARAMS(id, name, state));
}
