/* admin_migrate.h - what the node routes (admin.c) take from the
 * migration's (admin_migrate.c): a node's migration URIs. */
#ifndef SW_PANEL_ADMIN_MIGRATE_H
#define SW_PANEL_ADMIN_MIGRATE_H

#include <jansson.h>

struct sw_db;
struct sw_err;

/* The body fields POST and PATCH /v1/admin/nodes take for it. */
#define SW_NODE_MIGRATE_FIELDS                                                                     \
    {"migrate_uri", SW_JT_STRING_OR_NULL, false},                                              \
    {"migrate_stream_uri", SW_JT_STRING_OR_NULL, false}

/* Writes body's migrate_uri / migrate_stream_uri (when given; null clears
 * them) on node id. 0, or -1 with err (SW_EINVALID for a value that is
 * empty, longer than 512 bytes or holds a control character). */
int sw_migrate_node_apply(struct sw_db *db, const char *id, const json_t *body,
                          struct sw_err *err);

#endif
