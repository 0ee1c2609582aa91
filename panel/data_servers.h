/* data_servers.h - the servers table for the panel: one server as the API
 * shows it, its usage per hour, the row locks the action and terminate
 * transactions take, and a new server row. Reads named "get" or "usage"
 * are scoped by the caller (sw_api_scope_who()); the lock functions are
 * called after the router's owner check, or scope themselves where they
 * say so. */
#ifndef SW_PANEL_DATA_SERVERS_H
#define SW_PANEL_DATA_SERVERS_H

#include <stdint.h>

#include "panel/data.h"

struct sw_principal;

/* sw_server_json of server id when who may see it; new reference, or NULL
 * with SW_ENOTFOUND. */
json_t *sw_data_servers_get(struct sw_db *db, const struct sw_principal *who, const char *id,
                            struct sw_err *err);

/* Whether who may see server id: 1, 0, or -1 with err. */
int sw_data_servers_visible(struct sw_db *db, const struct sw_principal *who, const char *id,
                            struct sw_err *err);

/* Usage per hour of server id (who may see it) between from and to (RFC
 * 3339 or NULL: the last 24 hours): {server_id, from, to, items}. New
 * reference, or NULL (SW_ENOTFOUND; SW_EINVALID for a bad timestamp). */
json_t *sw_data_servers_usage(struct sw_db *db, const struct sw_principal *who, const char *id,
                              const char *from, const char *to, struct sw_err *err);

/* Locks server id FOR UPDATE (inside a transaction) and reads its state
 * and its plan's kind. 0, or -1 with SW_ENOTFOUND or a db error. */
int sw_data_servers_lock(struct sw_db *db, const char *id, char state[24], char kind[24],
                         struct sw_err *err);

/* Like sw_data_servers_lock, for a server who may see, reading its state
 * only. */
int sw_data_servers_lock_scoped(struct sw_db *db, const struct sw_principal *who, const char *id,
                                char state[24], struct sw_err *err);

/* What moving server id to plan_id grows: its owner's reseller (returns 1;
 * 0 when the owner has none or either row is missing) and the growth of
 * vcpus, ram_mb and disk_gb (never below 0). -1 on error. */
int sw_data_servers_growth(struct sw_db *db, const char *id, const char *plan_id, char reseller[37],
                           int64_t grow[3], struct sw_err *err);

/* The fields of a new server row. */
struct sw_data_server_new {
    const char *id, *owner_id, *plan_id, *template_id, *location_id, *hostname;
    const char *ssh_keys; /* a JSON array of strings */
};

/* Inserts the server; returns its sw_server_json (new reference) or NULL. */
json_t *sw_data_servers_insert(struct sw_db *db, const struct sw_data_server_new *s,
                               struct sw_err *err);

/* The servers who may see: $1 the caller. */
extern const struct sw_data_list sw_data_servers_list;

#endif
