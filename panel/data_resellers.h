/* data_resellers.h - reseller accounts as the operator manages them: the
 * account and its quota row (reseller_quotas). What a reseller itself
 * reads is data_reseller.h. */
#ifndef SW_PANEL_DATA_RESELLERS_H
#define SW_PANEL_DATA_RESELLERS_H

#include "panel/data.h"

/* Every reseller with quota, customers and use: $1 the caller, $2 state
 * (NULL: any). */
extern const struct sw_data_list sw_data_resellers_admin_list;

/* Inserts reseller account id (password_hash NULL: none). 0, or -1
 * (SW_ECONFLICT for a taken email). */
int sw_data_resellers_insert(struct sw_db *db, const char *id, const char *email, const char *name,
                             const char *password_hash, struct sw_err *err);

/* Renames reseller id (name NULL: unchanged): rows changed (0: no such
 * reseller), or -1. */
long sw_data_resellers_rename(struct sw_db *db, const char *id, const char *name,
                              struct sw_err *err);

/* A quota as given: each limit's text (NULL: no limit), the kinds (a text[]
 * literal) and which fields were given (a text[] literal), so that an
 * update changes only those. */
struct sw_data_quota_in {
    const char *limit[5]; /* max_servers, max_vcpus, max_ram_mb, max_disk_gb, max_ipv4 */
    const char *kinds;
    const char *given;
};

/* Creates or updates reseller id's quota row. 0 or -1. */
int sw_data_resellers_set_quota(struct sw_db *db, const char *id, const struct sw_data_quota_in *q,
                                struct sw_err *err);

/* sw_admin_reseller_json of reseller id (quota, customers, use); new
 * reference or NULL. */
json_t *sw_data_resellers_get(struct sw_db *db, const char *id, struct sw_err *err);

#endif
