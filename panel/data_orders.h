/* data_orders.h - the orders table for the panel, and the rows an order
 * reads before it writes: its customer (locked) and the reseller's quota
 * (locked) and use. */
#ifndef SW_PANEL_DATA_ORDERS_H
#define SW_PANEL_DATA_ORDERS_H

#include <stdbool.h>
#include <stdint.h>

#include "panel/data.h"
#include "panel/orders.h"

struct sw_principal;

/* {order, server} for order id when who may see it; new reference, or NULL
 * with SW_ENOTFOUND. */
json_t *sw_data_orders_get(struct sw_db *db, const struct sw_principal *who, const char *id,
                           struct sw_err *err);

/* Whether who may see order id: 1, 0, or -1 with err. */
int sw_data_orders_visible(struct sw_db *db, const struct sw_principal *who, const char *id,
                           struct sw_err *err);

/* Inserts order id of owner_id for server_id at plan_id's monthly price;
 * returns its sw_order_json (new reference) or NULL. */
json_t *sw_data_orders_insert(struct sw_db *db, const char *id, const char *owner_id,
                              const char *server_id, const char *plan_id, struct sw_err *err);

/* A customer as an order sees it. */
struct sw_data_order_owner {
    char state[16];          /* the customer's */
    char reseller_id[37];    /* "" when the operator's own */
    char reseller_state[16]; /* "active" when the operator's own */
    bool overdue;            /* an open overdue invoice of its own or its reseller's */
};

/* Share-locks customer account id until commit (deleting it then waits for
 * the order) and reads it: 1 found, 0 no such customer, -1 with err. */
int sw_data_orders_lock_owner(struct sw_db *db, const char *id, struct sw_data_order_owner *out,
                              struct sw_err *err);

/* A reseller's quota row: limits per resource (-1: none), whether kind is
 * allowed, and the allowed kinds for a message. */
struct sw_data_quota {
    int64_t limit[SW_QUOTA__COUNT]; /* by enum sw_quota_res */
    bool kind_ok;
    char kinds[64];
};

/* Locks reseller_id's quota row FOR UPDATE and reads it, checking kind
 * (NULL: any). 1 found, 0 no quota row (no limits, no lock), -1 with err. */
int sw_data_orders_lock_quota(struct sw_db *db, const char *reseller_id, const char *kind,
                              struct sw_data_quota *out, struct sw_err *err);

/* reseller_id's use (sw_reseller_use) in the order of sw_data_quota.limit.
 * 0, or -1 with err. */
int sw_data_orders_reseller_use(struct sw_db *db, const char *reseller_id,
                                int64_t use[SW_QUOTA__COUNT], struct sw_err *err);

/* Orders per state (states with orders only), at most max; the number
 * read, or -1. */
int sw_data_orders_count_by_state(struct sw_db *db, struct sw_data_count *out, int max,
                                  struct sw_err *err);

/* The orders who may see: $1 the caller. */
extern const struct sw_data_list sw_data_orders_list;

#endif
