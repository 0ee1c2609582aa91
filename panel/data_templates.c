/* data_templates.c - the SQL of the template routes (data_templates.h). */
#include "config.h"
#include "panel/data_templates.h"
#include "core/db.h"
#include "core/err.h"
#include "panel/data.h"

#include <stdio.h>

json_t *sw_data_templates_insert(struct sw_db *db, const char *id, const char *name,
                                 const char *kind, const char *os,
                                 const struct sw_template_images *img, struct sw_err *err)
{
    return sw_data_json_row(db, err, "template",
                            "INSERT INTO templates (id, name, kind, os, image_id, kernel_image_id,"
                            "                       initrd_image_id)"
                            " VALUES ($1, $2, $3, $4, $5, $6, $7)"
                            " RETURNING sw_template_json(templates)",
                            SW_PARAMS(id, name, kind, os, img->image_id, img->kernel_image_id,
                                      img->initrd_image_id));
}

json_t *sw_data_templates_update(struct sw_db *db, const char *id, const char *name,
                                 const char *state, const struct sw_template_images *img,
                                 struct sw_err *err)
{
    return sw_data_json_row(
        db, err, "template",
        "UPDATE templates SET name = coalesce($2, name), state = coalesce($3, state),"
        "       image_id = coalesce($4, image_id),"
        "       kernel_image_id = coalesce($5, kernel_image_id),"
        "       initrd_image_id = coalesce($6, initrd_image_id)"
        " WHERE id = $1 RETURNING sw_template_json(templates)",
        SW_PARAMS(id, name, state, img->image_id, img->kernel_image_id, img->initrd_image_id));
}

int sw_data_templates_kind(struct sw_db *db, const char *id, char kind[16], struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err, "SELECT kind FROM templates WHERE id = $1", SW_PARAMS(id));
    if (!res)
        return -1;
    int found = PQntuples(res) > 0;
    if (found)
        snprintf(kind, 16, "%s", sw_db_get(res, 0, 0));
    else
        SW_ERR(err, SW_ENOTFOUND, "template not found");
    PQclear(res);
    return found ? 0 : -1;
}
