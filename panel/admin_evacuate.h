/* admin_evacuate.h - what admin.c takes from admin_evacuate.c: a node's
 * latest evacuation on its GET answer. */
#ifndef SW_PANEL_ADMIN_EVACUATE_H
#define SW_PANEL_ADMIN_EVACUATE_H

#include <jansson.h>

struct sw_db;
struct sw_err;

/* Sets node's "evacuation" to the node's latest evacuation (null: none).
 * 0, or -1 with err. */
int sw_evac_attach_latest(struct sw_db *db, const char *node_id, json_t *node,
                          struct sw_err *err);

#endif
