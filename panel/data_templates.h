/* data_templates.h - the SQL of the operator's template routes
 * (admin_catalog.c). Functions return an owned JSON answer (json_decref())
 * or NULL with err set. */
#ifndef SW_PANEL_DATA_TEMPLATES_H
#define SW_PANEL_DATA_TEMPLATES_H

#include <jansson.h>

struct sw_db;
struct sw_err;

/* A template's images (ids; each NULL: none, or unchanged in an update):
 * its disk (or rootfs tarball), and a pv template's own kernel and initrd. */
struct sw_template_images {
    const char *image_id, *kernel_image_id, *initrd_image_id;
};

/* Inserts a template; its answer (sw_template_json). A taken name for the
 * kind is SW_ECONFLICT. */
json_t *sw_data_templates_insert(struct sw_db *db, const char *id, const char *name,
                                 const char *kind, const char *os,
                                 const struct sw_template_images *img, struct sw_err *err);

/* Sets template id's name, state and images (each NULL: unchanged); its
 * answer. No such template is SW_ENOTFOUND, a taken name SW_ECONFLICT. */
json_t *sw_data_templates_update(struct sw_db *db, const char *id, const char *name,
                                 const char *state, const struct sw_template_images *img,
                                 struct sw_err *err);

/* Template id's kind into kind; -1 with SW_ENOTFOUND when there is none. */
int sw_data_templates_kind(struct sw_db *db, const char *id, char kind[16], struct sw_err *err);

#endif
