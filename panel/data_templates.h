/* data_templates.h - the SQL of the operator's template routes
 * (admin_catalog.c). Functions return an owned JSON answer (json_decref())
 * or NULL with err set. */
#ifndef SW_PANEL_DATA_TEMPLATES_H
#define SW_PANEL_DATA_TEMPLATES_H

#include <jansson.h>

struct sw_db;
struct sw_err;

/* Inserts a template; its answer (sw_template_json). A taken name for the
 * kind is SW_ECONFLICT. */
json_t *sw_data_templates_insert(struct sw_db *db, const char *id, const char *name,
                                 const char *kind, const char *os, struct sw_err *err);

/* Sets template id's name and state (each NULL: unchanged); its answer. No
 * such template is SW_ENOTFOUND, a taken name SW_ECONFLICT. */
json_t *sw_data_templates_update(struct sw_db *db, const char *id, const char *name,
                                 const char *state, struct sw_err *err);

#endif
