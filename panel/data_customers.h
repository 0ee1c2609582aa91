/* data_customers.h - a reseller's customers (accounts of kind customer
 * whose reseller_id is the reseller's). Every function takes the reseller's
 * id and sees only its customers that are not deleted; a deleted customer
 * is kept for its history (reseller.c says how). */
#ifndef SW_PANEL_DATA_CUSTOMERS_H
#define SW_PANEL_DATA_CUSTOMERS_H

#include <stdbool.h>
#include <stdint.h>

#include "panel/data.h"

/* The reseller's customers: $1 the reseller. */
extern const struct sw_data_list sw_data_customers_list;
/* The one with an external id: $1 the reseller, $2 the external id. */
extern const struct sw_data_list sw_data_customers_by_external_id;

/* A customer's fields; NULL: none (a patch: unchanged). */
struct sw_data_customer {
    const char *email, *name;
    const char *password_hash;
    const char *external_id;
    bool set_external_id; /* a patch: external_id (NULL too) replaces the old one */
};

/* Inserts customer id of reseller_id; its sw_account_json (new reference),
 * or NULL (SW_ECONFLICT for a taken email or external id). */
json_t *sw_data_customers_insert(struct sw_db *db, const char *reseller_id, const char *id,
                                 const struct sw_data_customer *c, struct sw_err *err);

/* sw_account_json of customer id; new reference or NULL (SW_ENOTFOUND). */
json_t *sw_data_customers_get(struct sw_db *db, const char *reseller_id, const char *id,
                              struct sw_err *err);

/* Applies a patch to customer id; as sw_data_customers_insert, and
 * SW_ENOTFOUND. */
json_t *sw_data_customers_update(struct sw_db *db, const char *reseller_id, const char *id,
                                 const struct sw_data_customer *c, struct sw_err *err);

/* Revokes customer id's login sessions (not its API tokens). 0 or -1. */
int sw_data_customers_end_sessions(struct sw_db *db, const char *id, struct sw_err *err);

/* Locks customer id FOR UPDATE (orders in flight share-lock it, so this
 * waits for them): 1, 0 when not found, -1 with err. */
int sw_data_customers_lock(struct sw_db *db, const char *reseller_id, const char *id,
                           struct sw_err *err);

/* How many of customer id's servers are not terminated, or -1. */
int64_t sw_data_customers_live_servers(struct sw_db *db, const char *id, struct sw_err *err);

/* Marks customer id deleted (its email and external id freed, kept aside)
 * and revokes all its tokens. 0 or -1. */
int sw_data_customers_delete(struct sw_db *db, const char *id, struct sw_err *err);

#endif
